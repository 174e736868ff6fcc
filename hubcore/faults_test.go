package hubcore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"kojigo/db"
	"kojigo/internal/kojixml"
	"kojigo/internal/testenv"
)

// dbProxy forwards TCP to the test PostgreSQL server; stopping it is a
// database outage as the hub sees one (refused connections, broken
// sessions) without touching the shared server.
type dbProxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	l      net.Listener
	conns  []net.Conn
}

func startProxy(t *testing.T, target string) *dbProxy {
	p := &dbProxy{t: t, target: target, addr: "127.0.0.1:0"}
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *dbProxy) start() {
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.l, p.addr = l, l.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// stop refuses new connections and breaks the open ones.
func (p *dbProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil {
		p.l.Close()
		p.l = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// syncBuffer is a log sink the hub's goroutines may write concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var refRE = regexp.MustCompile(`ref ([0-9a-f]{12})`)

// TestDatabaseOutageFault: with the database unreachable, anonymous and
// logged-in callers get ServerOffline (which clients retry), whose text
// names no database user, name, host, port or SQL, only a reference that
// the hub log has with the detail; once the database is back, calls work.
func TestDatabaseOutageFault(t *testing.T) {
	base := testenv.PostgresDSN(t)
	dsn, cleanup, err := db.NewTestSchema(base)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Skipf("KOJI_TEST_PG_DSN is not a URL: %v", err)
	}
	proxy := startProxy(t, u.Host)
	u.Host = proxy.addr
	store, err := db.Open(context.Background(), u.String(), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	h, err := New(store, Config{TopDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	th := &testHub{t: t, hub: h, store: store, srv: srv, url: srv.URL + "/kojihub"}
	th.addUser("alice", "pw")
	alice := th.login("alice", "pw")

	proxy.stop()
	_, port, _ := net.SplitHostPort(proxy.addr)
	internals := []string{"postgres", "user=", "database=", "127.0.0.1", port, "5432", u.Query().Get("search_path"), "SELECT", "failed to connect", "refused"}
	for _, tc := range []struct {
		who    string
		c      *client
		method string
		args   []any
	}{
		{"anonymous", th.anon(), "getTaskInfo", []any{int64(1)}},
		{"anonymous", th.anon(), "listHosts", nil},
		{"logged in", alice, "getLoggedInUser", nil},
	} {
		t.Cleanup(func() {
			if t.Failed() {
				t.Log(logs.String())
			}
		})
		f := tc.c.fault(kojixml.ServerOffline, tc.method, tc.args...)
		for _, s := range internals {
			if strings.Contains(f.String, s) {
				t.Errorf("%s %s: fault %q holds %q", tc.who, tc.method, f.String, s)
			}
		}
		m := refRE.FindStringSubmatch(f.String)
		if m == nil {
			t.Fatalf("%s %s: fault %q has no log reference", tc.who, tc.method, f.String)
		}
		var line string
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "ref="+m[1]) {
				line = l
			}
		}
		if !strings.Contains(line, "method="+tc.method) || !strings.Contains(line, "err=") {
			t.Errorf("%s %s: the log line for ref %s does not hold the detail: %q", tc.who, tc.method, m[1], line)
		}
	}

	proxy.start()
	if got := alice.must("getLoggedInUser").(map[string]any)["name"]; got != "alice" {
		t.Errorf("after the outage getLoggedInUser = %v, want alice", got)
	}
}

// TestInternalErrorFault: an unexpected error (here the store closed under
// the hub) reaches the client as a GenericError naming the method and a log
// reference, without the error's text, while Koji's own faults keep theirs.
func TestInternalErrorFault(t *testing.T) {
	var logs syncBuffer
	th := newTestHub(t, "sqlite", func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	anon := th.anon()
	f := anon.fault(kojixml.ParameterError, "getTaskInfo", "not-a-number")
	if strings.Contains(f.String, "internal error") {
		t.Errorf("a parameter fault became an internal error: %q", f.String)
	}
	th.store.Close()
	f = anon.fault(kojixml.GenericError, "getTaskInfo", int64(1))
	if !strings.Contains(f.String, "internal error in getTaskInfo") || !refRE.MatchString(f.String) {
		t.Errorf("fault %q: want an internal error naming the method and a log reference", f.String)
	}
	if strings.Contains(f.String, "sql:") || strings.Contains(f.String, "closed") {
		t.Errorf("fault %q holds the error's internals", f.String)
	}
	ref := refRE.FindStringSubmatch(f.String)[1]
	if !strings.Contains(logs.String(), "ref="+ref) || !strings.Contains(logs.String(), "database is closed") {
		t.Errorf("the hub log lacks the detail for ref %s:\n%s", ref, logs.String())
	}
}

func TestToFaultClasses(t *testing.T) {
	h := &Hub{log: slog.New(slog.DiscardHandler)}
	lost := errors.Join(db.ErrCommitUnknown, errors.New("unexpected EOF"))
	if f := h.toFault("host.closeTask", lost); f.Code != kojixml.RetryError || !refRE.MatchString(f.String) {
		t.Errorf("lost commit: fault %d %q, want RetryError with a reference", f.Code, f.String)
	}
	kept := kojixml.Errorf(kojixml.ParameterError, "tag foo does not exist")
	if f := h.toFault("getTag", kept); f != kept {
		t.Errorf("a Koji fault changed: %v", f)
	}
}
