package kojira

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kojigo/db"
	"kojigo/db/dbtest"
	"kojigo/hubcore"
	"kojigo/internal/kojiclient"
	"kojigo/internal/password"
)

// realHub is an in-process kojigo hub on a fresh database, served over
// httptest, with users kojiadmin (admin) and kojira (repo).
type realHub struct {
	url    string
	store  *db.Store
	topdir string
}

func newRealHub(t *testing.T, backend string) *realHub {
	t.Helper()
	s := dbtest.Open(t, backend)
	top := t.TempDir()
	h, err := hubcore.New(s, hubcore.Config{TopDir: top})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() { srv.Close(); cancel(); <-done })
	rh := &realHub{url: srv.URL + "/kojihub", store: s, topdir: top}
	rh.addUser(t, "kojiadmin", "secret", "admin")
	rh.addUser(t, "kojira", "rapw", "repo")
	return rh
}

func (rh *realHub) addUser(t *testing.T, name, pw string, perms ...string) int64 {
	t.Helper()
	ctx := context.Background()
	hash, err := password.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	id, err := rh.store.CreateUser(ctx, db.User{Name: name, PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range perms {
		perm, err := rh.store.GetPermByName(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if err := rh.store.GrantPerm(ctx, id, perm.ID, nil); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

func (rh *realHub) client(t *testing.T, user, pw string) *kojiclient.Client {
	t.Helper()
	c, err := kojiclient.New(kojiclient.Options{Server: rh.url, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(context.Background(), user, pw); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Logout(context.Background()) })
	return c
}

// holder is the session holding kojira's exclusive lock (0: none).
func (rh *realHub) holder(t *testing.T) int64 {
	t.Helper()
	u, err := rh.store.GetUserByName(context.Background(), "kojira")
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := rh.store.ExclusiveHolder(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// killable is a transport that can be cut, as when a kojira is killed
// (SIGKILL, power loss): it cannot log out.
type killable struct {
	dead atomic.Bool
}

func (k *killable) RoundTrip(r *http.Request) (*http.Response, error) {
	if k.dead.Load() {
		return nil, errors.New("killed")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// syncBuffer collects one kojira's log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) has(sub string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Contains(s.b.String(), sub)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// kojiraProc is one kojira daemon (Serve) in this process.
type kojiraProc struct {
	name   string
	cancel context.CancelFunc
	tr     *killable
	log    *syncBuffer
	done   chan error
}

func startKojira(t *testing.T, conf, name string) *kojiraProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &kojiraProc{name: name, cancel: cancel, tr: &killable{}, log: &syncBuffer{}, done: make(chan error, 1)}
	logger := slog.New(slog.NewTextHandler(p.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() {
		p.done <- Serve(ctx, ServeOptions{ConfigFile: conf, ConfigRequired: true, Logger: logger,
			HTTPClient: &http.Client{Transport: p.tr}, Identity: name})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-p.done:
			if err != nil {
				t.Errorf("kojira %s: Serve = %v", name, err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("kojira %s did not stop", name)
		}
		if t.Failed() {
			t.Logf("kojira %s log:\n%s", name, p.log)
		}
	})
	return p
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two kojiras against one real hub: one is active and turns a queued repo
// request into a newRepo task (repo.checkQueue); the other waits; when the
// active one is killed without logging out, the standby takes over once the
// heartbeat is older than lock_timeout; when that one stops cleanly, a third
// takes over at its next try, without force.
func TestRealHubOneActiveKojiraAndTakeover(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) { testTakeover(t, backend) })
	}
}

func testTakeover(t *testing.T, backend string) {
	rh := newRealHub(t, backend)
	ctx := context.Background()
	admin := rh.client(t, "kojiadmin", "secret")
	for _, c := range []struct {
		m    string
		args []any
	}{
		{"createTag", []any{"f40"}},
		{"createTag", []any{"f40-build", kojiclient.Kw{"parent": "f40", "arches": "x86_64"}}},
		{"createBuildTarget", []any{"f40", "f40-build", "f40"}},
	} {
		if _, err := admin.Call(ctx, c.m, c.args...); err != nil {
			t.Fatalf("%s: %v", c.m, err)
		}
	}
	v, err := admin.Call(ctx, "repo.request", "f40-build")
	if err != nil {
		t.Fatal(err)
	}
	req, ok := asInt(asMap(asMap(v)["request"])["id"])
	if !ok {
		t.Fatalf("repo.request = %v", v)
	}
	conf := filepath.Join(t.TempDir(), "kojira.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`[kojira]
server = %s
topdir = %s
user = kojira
password = rapw
sleeptime = 0.05
lock_timeout = 1
`, rh.url, rh.topdir)), 0o600); err != nil {
		t.Fatal(err)
	}

	a := startKojira(t, conf, "A")
	waitFor(t, "kojira A to hold the lock", 10*time.Second, func() bool { return rh.holder(t) != 0 })
	first := rh.holder(t)
	// A's checkQueue turns the request into a newRepo task
	var taskID int64
	waitFor(t, "a newRepo task for the request", 10*time.Second, func() bool {
		v, err := admin.Call(ctx, "repo.checkRequest", req)
		if err != nil {
			t.Fatal(err)
		}
		taskID, _ = asInt(asMap(asMap(v)["request"])["task_id"])
		return taskID != 0
	})
	ti, err := admin.Call(ctx, "getTaskInfo", taskID)
	if err != nil {
		t.Fatal(err)
	}
	if m := asMap(ti); m["method"] != "newRepo" {
		t.Errorf("task %d = %v, want a newRepo task", taskID, m)
	}
	if _, err := os.Stat(heartbeatPath(rh.topdir)); err != nil {
		t.Errorf("active kojira writes no heartbeat: %v", err)
	}

	b := startKojira(t, conf, "B")
	waitFor(t, "kojira B to wait as a standby", 10*time.Second, func() bool { return b.log.has("another kojira is active") })
	time.Sleep(300 * time.Millisecond) // several of B's tries: A stays the holder
	if h := rh.holder(t); h != first {
		t.Fatalf("lock holder changed from %d to %d while A is alive", first, h)
	}
	if b.log.has("msg=active") {
		t.Fatalf("B became active while A holds the lock")
	}

	// kill A: no logout, no more heartbeats
	a.tr.dead.Store(true)
	a.cancel()
	waitFor(t, "kojira B to take over", 15*time.Second, func() bool { return b.log.has("msg=active") })
	if !b.log.has("taking over") {
		t.Error("B took over without noticing A's silence")
	}
	second := rh.holder(t)
	if second == 0 || second == first {
		t.Errorf("holder after takeover = %d (A's was %d)", second, first)
	}

	// a clean stop of B hands over without force
	c := startKojira(t, conf, "C")
	waitFor(t, "kojira C to wait as a standby", 10*time.Second, func() bool { return c.log.has("another kojira is active") })
	b.cancel()
	waitFor(t, "kojira C to take over", 10*time.Second, func() bool { return c.log.has("msg=active") })
	if c.log.has("taking over") || c.log.has("with force") {
		t.Error("C forced the lock after a clean stop of B")
	}
}
