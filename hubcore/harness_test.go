package hubcore

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"kojigo/db"
	"kojigo/db/dbtest"
	"kojigo/internal/kojixml"
	"kojigo/internal/password"
)

// testHub is a hub on a fresh database, served over httptest.
type testHub struct {
	t     testing.TB
	hub   *Hub
	store *db.Store
	srv   *httptest.Server
	url   string
}

// forBackends runs fn on a hub over SQLite and over PostgreSQL.
func forBackends(t *testing.T, fn func(t *testing.T, th *testHub)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newTestHub(t, "sqlite", nil)) })
	t.Run("postgres", func(t *testing.T) { fn(t, newTestHub(t, "postgres", nil)) })
}

func openStore(t testing.TB, backend string) *db.Store { return dbtest.Open(t, backend) }

func newTestHub(t testing.TB, backend string, tweak func(*Config)) *testHub {
	t.Helper()
	s := openStore(t, backend)
	cfg := Config{TopDir: t.TempDir()}
	if tweak != nil {
		tweak(&cfg)
	}
	h, err := New(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() { srv.Close(); cancel(); <-done })
	return &testHub{t: t, hub: h, store: s, srv: srv, url: srv.URL + "/kojihub"}
}

// addUser creates a password user with permissions, directly in the store.
func (th *testHub) addUser(name, pw string, perms ...string) int64 {
	th.t.Helper()
	ctx := context.Background()
	hash, err := password.Hash(pw)
	if err != nil {
		th.t.Fatal(err)
	}
	id, err := th.store.CreateUser(ctx, db.User{Name: name, PasswordHash: hash})
	if err != nil {
		th.t.Fatal(err)
	}
	for _, p := range perms {
		perm, err := th.store.GetPermByName(ctx, p)
		if err != nil {
			th.t.Fatal(err)
		}
		if err := th.store.GrantPerm(ctx, id, perm.ID, nil); err != nil {
			th.t.Fatal(err)
		}
	}
	return id
}

// client is a minimal Koji client for hub tests: a session and a callnum.
type client struct {
	th      *testHub
	sid     int64
	key     string
	callnum int64
}

func (th *testHub) anon() *client { return &client{th: th} }

// login logs in with a password and returns the session's client.
func (th *testHub) login(name, pw string) *client {
	th.t.Helper()
	c := th.anon()
	res, err := c.call("login", name, pw)
	if err != nil {
		th.t.Fatalf("login %s: %v", name, err)
	}
	m := res.(map[string]any)
	c.sid, c.key = m["session-id"].(int64), m["session-key"].(string)
	return c
}

// addHost creates a host with a password user and returns its logged-in,
// exclusive client and the host id.
func (th *testHub) addHost(name string, arches ...string) (*client, int64) {
	th.t.Helper()
	admin := th.login(th.ensureAdmin(), "adminpw")
	if len(arches) == 0 {
		arches = []string{"x86_64"}
	}
	a := make([]any, len(arches))
	for i, x := range arches {
		a[i] = x
	}
	id, err := admin.call("addHost", name, a)
	if err != nil {
		th.t.Fatalf("addHost %s: %v", name, err)
	}
	hash, _ := password.Hash("hostpw")
	u, err := th.store.GetUserByName(context.Background(), name)
	if err != nil {
		th.t.Fatal(err)
	}
	if err := th.store.SetPassword(context.Background(), u.ID, hash); err != nil {
		th.t.Fatal(err)
	}
	hc := th.login(name, "hostpw")
	if _, err := hc.call("exclusiveSession", kw{"force": true}); err != nil {
		th.t.Fatal(err)
	}
	return hc, id.(int64)
}

func (th *testHub) ensureAdmin() string {
	if _, err := th.store.GetUserByName(context.Background(), "kojiadmin"); err != nil {
		th.addUser("kojiadmin", "adminpw", "admin")
	}
	return "kojiadmin"
}

// kw marks keyword arguments of a test call.
type kw map[string]any

// call makes one XML-RPC call; a fault comes back as a *kojixml.Fault error.
func (c *client) call(method string, args ...any) (any, error) {
	var params []any
	for _, a := range args {
		if k, ok := a.(kw); ok {
			params = kojixml.EncodeKwargs(params, k)
			continue
		}
		params = append(params, a)
	}
	var body bytes.Buffer
	if err := kojixml.EncodeCall(&body, method, params); err != nil {
		return nil, err
	}
	req, _ := http.NewRequest("POST", c.th.url, &body)
	req.Header.Set("Content-Type", "text/xml")
	if c.sid != 0 {
		c.callnum++
		req.Header.Set("Koji-Session-Id", strconv.FormatInt(c.sid, 10))
		req.Header.Set("Koji-Session-Key", c.key)
		req.Header.Set("Koji-Session-Callnum", strconv.FormatInt(c.callnum, 10))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return kojixml.DecodeResponse(resp.Body)
}

// must is call that fails the test on a fault.
func (c *client) must(method string, args ...any) any {
	c.th.t.Helper()
	v, err := c.call(method, args...)
	if err != nil {
		c.th.t.Fatalf("%s%v: %v", method, args, err)
	}
	return v
}

// fault is call that expects a fault with code and returns it.
func (c *client) fault(code int, method string, args ...any) *kojixml.Fault {
	c.th.t.Helper()
	_, err := c.call(method, args...)
	f, ok := err.(*kojixml.Fault)
	if !ok || f.Code != code {
		c.th.t.Fatalf("%s%v = %v, want fault %d", method, args, err, code)
	}
	return f
}
