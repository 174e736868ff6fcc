package kojiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kojigo/internal/kojixml"
)

// dropConn closes the connection without an answer, as a hub that died or a
// proxy that timed out.
func dropConn(t testing.TB, w http.ResponseWriter) {
	t.Helper()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	conn.Close()
}

func pingHandler(c *hubCall) (any, error) {
	if c.Method == "ping" {
		return "pong", nil
	}
	return nil, errUnhandled
}

func TestNewValidatesOptions(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, bytes.Repeat([]byte("A"), (8<<20)+1), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"missing server", Options{}, "no hub URL"},
		{"relative", Options{Server: "kojihub"}, "scheme must be http or https"},
		{"ftp", Options{Server: "ftp://h/kojihub"}, "scheme must be http or https"},
		{"no host", Options{Server: "https:///kojihub"}, "without user, query or fragment"},
		{"query", Options{Server: "https://h/kojihub?x=1"}, "without user, query or fragment"},
		{"user", Options{Server: "https://u:p@h/kojihub"}, "without user, query or fragment"},
		{"bad url", Options{Server: "https://h/%zz"}, "hub URL"},
		{"negative timeout", Options{Server: "https://h/kojihub", Timeout: -1}, "negative Timeout"},
		{"negative interval", Options{Server: "https://h/kojihub", RetryInterval: -1}, "negative retry interval"},
		{"negative size", Options{Server: "https://h/kojihub", MaxResponseSize: -1}, "negative MaxResponseSize"},
		{"negative block", Options{Server: "https://h/kojihub", UploadBlockSize: -1}, "negative UploadBlockSize"},
		{"key without cert", Options{Server: "https://h/kojihub", KeyFile: garbage}, "KeyFile without CertFile"},
		// Certificate files are loaded by pki, with one-sentence errors.
		{"missing cert", Options{Server: "https://h/kojihub", CertFile: filepath.Join(dir, "nope.pem")}, "nope.pem does not exist"},
		{"garbage cert", Options{Server: "https://h/kojihub", CertFile: garbage}, garbage + " holds no PEM data"},
		{"garbage ca", Options{Server: "https://h/kojihub", ServerCAFile: garbage}, garbage + " holds no PEM data"},
		{"huge ca", Options{Server: "https://h/kojihub", ServerCAFile: big}, "too big"},
		{"directory ca", Options{Server: "https://h/kojihub", ServerCAFile: dir}, "is a directory"},
		{"client and files", Options{Server: "https://h/kojihub", HTTPClient: &http.Client{}, ServerCAFile: garbage}, "cannot be combined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%+v) = %v, %v; want error containing %q", tt.opts, c, err, tt.want)
			}
		})
	}
	c, err := New(Options{Server: "https://koji.example.org/kojihub/"})
	if err != nil {
		t.Fatalf("New with defaults: %v", err)
	}
	if c.Server() != "https://koji.example.org/kojihub" {
		t.Errorf("Server() = %q, want trailing slash trimmed", c.Server())
	}
	if c.opts.Timeout != DefaultTimeout || c.opts.MaxRetries != DefaultMaxRetries || c.opts.UserAgent != "koji/1" ||
		c.opts.MaxResponseSize != DefaultMaxResponseSize || c.opts.UploadBlockSize != DefaultUploadBlockSize {
		t.Errorf("defaults not applied: %+v", c.opts)
	}
}

func TestCallnumCountsAndSessionHeaders(t *testing.T) {
	h := newFakeHub(t)
	h.handle = pingHandler
	c := newTestClient(t, h, nil)
	ctx := testCtx(t)
	if _, err := c.Call(ctx, "ping"); err != nil {
		t.Fatalf("anonymous ping: %v", err)
	}
	login(t, c)
	for range 3 {
		if v, err := c.Call(ctx, "ping"); err != nil || v != "pong" {
			t.Fatalf("ping = %v, %v", v, err)
		}
	}
	calls := h.recorded()
	if got, want := join(callnums(calls)), "ping:- login:- ping:0 ping:1 ping:2"; got != want {
		t.Errorf("calls = %s, want %s", got, want)
	}
	if calls[0].Header.Get("Koji-Session-Id") != "" {
		t.Error("anonymous call carried a session")
	}
	id, _ := c.SessionID()
	for _, call := range calls[2:] {
		if call.Session == nil || call.Session.id != id || call.Header.Get("Koji-Session-Key") == "" {
			t.Errorf("%s: session headers missing: %v", call.Method, call.Header)
		}
	}
}

func TestLoginErrors(t *testing.T) {
	h := newFakeHub(t)
	c := newTestClient(t, h, nil)
	ctx := testCtx(t)
	tests := []struct {
		user, password string
		want           string
		fault          int
	}{
		{"", "pw", "empty user name", 0},
		{"alice", "", "empty password", 0},
		{"alice", "wrong", "invalid username or password", kojixml.AuthError},
	}
	for _, tt := range tests {
		err := c.Login(ctx, tt.user, tt.password)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Login(%q, %q) = %v, want %q", tt.user, tt.password, err, tt.want)
		}
		var f *Fault
		if tt.fault != 0 && (!errors.As(err, &f) || f.Code != tt.fault) {
			t.Errorf("Login(%q, %q) = %v, want fault %d", tt.user, tt.password, err, tt.fault)
		}
		if c.LoggedIn() {
			t.Errorf("Login(%q, %q) failed but LoggedIn() = true", tt.user, tt.password)
		}
	}
	login(t, c)
	if err := c.Login(ctx, "builder1", "pw"); err == nil || !strings.Contains(err.Error(), "already logged in") {
		t.Errorf("second Login = %v, want already logged in", err)
	}
	if err := c.SSLLogin(ctx); err == nil {
		t.Error("SSLLogin without CertFile succeeded")
	}
	if n := len(h.recorded()); n != 2 {
		t.Errorf("%d requests, want 2 (only the bad password and the good login reach the hub)", n)
	}
	// Logging out twice is harmless; the second does not call the hub.
	if err := c.Logout(ctx); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if err := c.Logout(ctx); err != nil {
		t.Fatalf("second Logout: %v", err)
	}
	if n := len(h.recorded()); n != 3 {
		t.Errorf("%d requests after two logouts, want 3", n)
	}
}

func TestLoginRejectsBadSessionInfo(t *testing.T) {
	for _, answer := range []any{
		nil,
		"session",
		map[string]any{"session-id": int64(0), "session-key": "k"},
		map[string]any{"session-id": int64(5)},
		map[string]any{"session-id": int64(5), "session-key": "a\r\nInjected: 1"},
		map[string]any{"session-id": "5", "session-key": "k"},
	} {
		h := newFakeHub(t)
		h.raw = func(w http.ResponseWriter, r *http.Request, c *hubCall) bool {
			_ = kojixml.EncodeResponse(w, answer)
			return true
		}
		c := newTestClient(t, h, nil)
		if err := c.Login(testCtx(t), "u", "pw"); err == nil || c.LoggedIn() {
			t.Errorf("Login with hub answer %v = %v, LoggedIn %v; want error", answer, err, c.LoggedIn())
		}
	}
}

func TestExclusiveSession(t *testing.T) {
	h := newFakeHub(t)
	ctx := testCtx(t)
	a := newTestClient(t, h, nil)
	b := newTestClient(t, h, nil)
	login(t, a)
	login(t, b)
	if err := a.ExclusiveSession(ctx, false); err != nil {
		t.Fatalf("a.ExclusiveSession: %v", err)
	}
	err := b.ExclusiveSession(ctx, false)
	var f *Fault
	if !errors.As(err, &f) || f.Code != kojixml.AuthLockError {
		t.Fatalf("b.ExclusiveSession(false) = %v, want AuthLockError 1006", err)
	}
	if err := b.ExclusiveSession(ctx, true); err != nil {
		t.Fatalf("b.ExclusiveSession(force): %v", err)
	}
	calls := h.recorded()
	last := calls[len(calls)-1]
	if _, kw := kwargs(last.Params); kw["force"] != true {
		t.Errorf("force not sent as keyword: %v", last.Params)
	}
	if pos, _ := kwargs(calls[len(calls)-2].Params); len(calls[len(calls)-2].Params) != 0 || len(pos) != 0 {
		t.Errorf("exclusiveSession() without force sent %v, want no arguments", calls[len(calls)-2].Params)
	}
	// a's session was closed by the forced lock.
	_, err = a.Call(ctx, "getLoggedInUser")
	if !errors.As(err, &f) || f.Code != kojixml.AuthError {
		t.Errorf("call on stolen session = %v, want AuthError", err)
	}
}

func TestSubsession(t *testing.T) {
	h := newFakeHub(t)
	h.handle = pingHandler
	c := newTestClient(t, h, nil)
	ctx := testCtx(t)
	if _, err := c.Subsession(ctx); err == nil {
		t.Error("Subsession before login succeeded")
	}
	login(t, c)
	sub, err := c.Subsession(ctx)
	if err != nil {
		t.Fatalf("Subsession: %v", err)
	}
	mainID, _ := c.SessionID()
	subID, _ := sub.SessionID()
	if subID == mainID {
		t.Fatalf("subsession id %d equals main session id", subID)
	}
	for _, cl := range []*Client{sub, sub, c} {
		if _, err := cl.Call(ctx, "ping"); err != nil {
			t.Fatalf("ping: %v", err)
		}
	}
	if err := sub.Logout(ctx); err != nil {
		t.Fatalf("sub.Logout: %v", err)
	}
	if !c.LoggedIn() {
		t.Error("main session logged out with its subsession")
	}
	calls := h.recorded()
	if got, want := join(callnums(calls)), "login:- subsession:0 ping:0 ping:1 ping:1 logout:2"; got != want {
		t.Errorf("calls = %s, want %s", got, want)
	}
	if calls[2].Session.id != subID || calls[2].Session.master != mainID || calls[4].Session.id != mainID {
		t.Errorf("pings went to the wrong sessions")
	}

	// The main session closes a subsession with logoutChild.
	sub2, err := c.Subsession(ctx)
	if err != nil {
		t.Fatalf("Subsession: %v", err)
	}
	sub2ID, _ := sub2.SessionID()
	if err := c.LogoutChild(ctx, sub2ID); err != nil {
		t.Fatalf("LogoutChild: %v", err)
	}
	var f *Fault
	if _, err := sub2.Call(ctx, "ping"); !errors.As(err, &f) || f.Code != kojixml.AuthError {
		t.Errorf("call on a closed subsession = %v, want AuthError", err)
	}
}

func TestRetryKeepsCallnum(t *testing.T) {
	h := newFakeHub(t)
	h.handle = pingHandler
	c := newTestClient(t, h, nil)
	login(t, c)
	var drops atomic.Int32
	drops.Store(2)
	h.raw = func(w http.ResponseWriter, r *http.Request, call *hubCall) bool {
		if call.Method == "ping" && drops.Add(-1) >= 0 {
			dropConn(t, w)
			return true
		}
		return false
	}
	ctx := testCtx(t)
	for range 2 {
		if v, err := c.Call(ctx, "ping"); err != nil || v != "pong" {
			t.Fatalf("ping = %v, %v", v, err)
		}
	}
	if got, want := join(callnums(h.recorded())), "login:- ping:0 ping:0 ping:0 ping:1"; got != want {
		t.Errorf("calls = %s, want %s", got, want)
	}
}

// TestRetryAfterCommit: the hub ran the call but the answer was lost; the
// retry with the same callnum is refused with RetryError unless the method
// is on Koji's retry whitelist.
func TestRetryAfterCommit(t *testing.T) {
	for _, tt := range []struct {
		method string
		want   int // fault code; 0 = success
	}{
		{"host.closeTask", kojixml.RetryError},
		{"host.updateHost", 0},
	} {
		t.Run(tt.method, func(t *testing.T) {
			h := newFakeHub(t)
			h.handle = func(c *hubCall) (any, error) { return nil, nil }
			c := newTestClient(t, h, nil)
			login(t, c)
			var dropped atomic.Bool
			h.raw = func(w http.ResponseWriter, r *http.Request, call *hubCall) bool {
				if call.Method == tt.method && !dropped.Swap(true) {
					if _, err := h.dispatch(r, call); err != nil {
						t.Errorf("dispatch: %v", err)
					}
					dropConn(t, w)
					return true
				}
				return false
			}
			_, err := c.Call(testCtx(t), tt.method, 1)
			var f *Fault
			switch {
			case tt.want == 0 && err != nil:
				t.Errorf("Call(%s) = %v, want success", tt.method, err)
			case tt.want != 0 && (!errors.As(err, &f) || f.Code != tt.want):
				t.Errorf("Call(%s) = %v, want fault %d", tt.method, err, tt.want)
			}
			if got, want := join(callnums(h.recorded())), "login:- "+tt.method+":0 "+tt.method+":0"; got != want {
				t.Errorf("calls = %s, want %s", got, want)
			}
		})
	}
}

func TestRetryPolicy(t *testing.T) {
	tests := []struct {
		name       string
		respond    func(t testing.TB, w http.ResponseWriter)
		maxRetries int
		requests   int
		want       string
		status     int
	}{
		{"503 retried", func(t testing.TB, w http.ResponseWriter) { http.Error(w, "busy", 503) }, 2, 3, "HTTP 503 Service Unavailable: busy", 503},
		{"400 not retried", func(t testing.TB, w http.ResponseWriter) {
			http.Error(w, "Invalid request: Empty request", 400)
		}, 5, 1, "Invalid request: Empty request", 400},
		{"400 HTML not retried", func(t testing.TB, w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(400)
			_, _ = w.Write([]byte("<html><body><h1>Bad Request</h1></body></html>"))
		}, 5, 1, "HTTP 400 Bad Request: <html>", 400},
		{"405 not retried", func(t testing.TB, w http.ResponseWriter) { http.Error(w, "Method Not Allowed", 405) }, 5, 1, "405", 405},
		{"dropped", dropConn, 3, 4, "EOF", 0},
		{"no retries", dropConn, -1, 1, "EOF", 0},
		{"empty 200 retried", func(t testing.TB, w http.ResponseWriter) { w.WriteHeader(200) }, 1, 2, "empty response", 0},
		{"truncated body retried", func(t testing.TB, w http.ResponseWriter) {
			w.Header().Set("Content-Length", "500")
			w.WriteHeader(200)
			_, _ = w.Write([]byte("<?xml version='1.0'?>\n<methodResponse>"))
		}, 1, 2, "unexpected EOF", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHub(t)
			h.raw = func(w http.ResponseWriter, r *http.Request, c *hubCall) bool {
				tt.respond(t, w)
				return true
			}
			c := newTestClient(t, h, func(o *Options) { o.MaxRetries = tt.maxRetries })
			_, err := c.Call(testCtx(t), "getAPIVersion")
			var te *TransportError
			if !errors.As(err, &te) {
				t.Fatalf("Call = %v, want *TransportError", err)
			}
			if te.Attempts != tt.requests || te.StatusCode != tt.status || te.Method != "getAPIVersion" || te.URL != h.url() {
				t.Errorf("TransportError = %+v, want %d attempts, status %d", te, tt.requests, tt.status)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if n := len(h.recorded()); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
		})
	}
}

func TestServerOfflineIsRetried(t *testing.T) {
	h := newFakeHub(t)
	var n atomic.Int32
	h.handle = func(c *hubCall) (any, error) {
		if n.Add(1) < 3 {
			return nil, fault(kojixml.ServerOffline, "server is offline")
		}
		return "ok", nil
	}
	c := newTestClient(t, h, nil)
	if v, err := c.Call(testCtx(t), "x"); err != nil || v != "ok" {
		t.Fatalf("Call = %v, %v; want ok after two offline answers", v, err)
	}
}

func TestBadResponses(t *testing.T) {
	deep := strings.Repeat("<value><array><data>", 500) + strings.Repeat("</data></array></value>", 500)
	tests := []struct {
		name string
		body string
		want error
		max  int64
	}{
		{"html", "<html><body>Proxy error</body></html>", errMalformed, 0},
		{"not xml", "Internal Server Error", errMalformed, 0},
		{"two params", "<methodResponse><params><param><value>a</value></param><param><value>b</value></param></params></methodResponse>", errMalformed, 0},
		{"bad int", "<methodResponse><params><param><value><int>12x</int></value></param></params></methodResponse>", errMalformed, 0},
		{"bad base64", "<methodResponse><params><param><value><base64>!!!</base64></value></param></params></methodResponse>", errMalformed, 0},
		{"deep nesting", "<methodResponse><params><param>" + deep + "</param></params></methodResponse>", errMalformed, 0},
		{"doctype", `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><methodResponse><params><param><value>&a;</value></param></params></methodResponse>`, errMalformed, 0},
		{"fault without code", "<methodResponse><fault><value><struct></struct></value></fault></methodResponse>", errMalformed, 0},
		{"oversized", "<methodResponse><params><param><value><string>" + strings.Repeat("x", 5000) + "</string></value></param></params></methodResponse>", errTooLarge, 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHub(t)
			h.raw = func(w http.ResponseWriter, r *http.Request, c *hubCall) bool {
				w.Header().Set("Content-Type", "text/xml")
				_, _ = w.Write([]byte(tt.body))
				return true
			}
			c := newTestClient(t, h, func(o *Options) { o.MaxResponseSize = tt.max })
			v, err := c.Call(testCtx(t), "getAPIVersion")
			if !errors.Is(err, tt.want) {
				t.Errorf("Call = %v, %v; want %v", v, err, tt.want)
			}
			if n := len(h.recorded()); n != 1 {
				t.Errorf("%d requests, want 1 (not retried)", n)
			}
		})
	}
}

func TestLimitedBody(t *testing.T) {
	for _, tt := range []struct {
		size, max int
		tooLarge  bool
	}{{10, 10, false}, {11, 10, true}, {0, 0, false}, {1, 0, true}, {100000, 65536, true}} {
		r := &limitedBody{r: bytes.NewReader(make([]byte, tt.size)), max: int64(tt.max)}
		_, err := readAllTest(r)
		if got := errors.Is(err, errTooLarge); got != tt.tooLarge {
			t.Errorf("limitedBody(size %d, max %d) err = %v, want too large %v", tt.size, tt.max, err, tt.tooLarge)
		}
	}
}

func readAllTest(r *limitedBody) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(r)
	return b.Bytes(), err
}

func TestTimeout(t *testing.T) {
	h := newFakeHub(t)
	h.raw = func(w http.ResponseWriter, r *http.Request, c *hubCall) bool {
		<-r.Context().Done()
		return true
	}
	c := newTestClient(t, h, func(o *Options) { o.Timeout = 50 * time.Millisecond; o.MaxRetries = 1 })
	start := time.Now()
	_, err := c.Call(testCtx(t), "getAPIVersion")
	var te *TransportError
	if !errors.As(err, &te) || te.Attempts != 2 || !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Errorf("Call = %v, want TransportError after 2 attempts naming the timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestContextCancel(t *testing.T) {
	t.Run("in flight", func(t *testing.T) {
		h := newFakeHub(t)
		arrived := make(chan struct{}, 1)
		h.raw = func(w http.ResponseWriter, r *http.Request, c *hubCall) bool {
			arrived <- struct{}{}
			<-r.Context().Done()
			return true
		}
		c := newTestClient(t, h, nil)
		ctx, cancel := context.WithCancel(testCtx(t))
		go func() { <-arrived; cancel() }()
		_, err := c.Call(ctx, "getAPIVersion")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Call = %v, want context.Canceled", err)
		}
		if n := len(h.recorded()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("in backoff", func(t *testing.T) {
		h := newFakeHub(t)
		h.raw = func(w http.ResponseWriter, r *http.Request, c *hubCall) bool {
			http.Error(w, "busy", 503)
			return true
		}
		c := newTestClient(t, h, func(o *Options) {
			o.RetryInterval, o.MaxRetryInterval, o.MaxRetryTime = time.Hour, time.Hour, -1
		})
		ctx, cancel := context.WithCancel(testCtx(t))
		c.waitHook = func(d time.Duration) {
			if d >= 30*time.Minute {
				cancel() // the client is about to wait that long
			}
		}
		start := time.Now()
		_, err := c.Call(ctx, "getAPIVersion")
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "503") {
			t.Errorf("Call = %v, want context.Canceled naming the last error", err)
		}
		if n := len(h.recorded()); n != 2 {
			t.Errorf("%d requests, want 2 (the first retry is immediate)", n)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("waiting for the session", func(t *testing.T) {
		h := newFakeHub(t)
		c := newTestClient(t, h, nil)
		login(t, c)
		c.callSem <- struct{}{} // another call holds the session
		defer func() { <-c.callSem }()
		ctx, cancel := context.WithTimeout(testCtx(t), 20*time.Millisecond)
		defer cancel()
		if _, err := c.Call(ctx, "ping"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Call = %v, want DeadlineExceeded", err)
		}
	})
}

func TestValueTypes(t *testing.T) {
	when := time.Date(2026, 11, 26, 20, 44, 56, 0, time.UTC)
	h := newFakeHub(t)
	h.handle = func(c *hubCall) (any, error) {
		switch c.Method {
		case "echo":
			return c.Params, nil
		case "types":
			return map[string]any{
				"b64": []byte{0, 1, 2, 0xff}, "nil": nil, "big": int64(1) << 40, "neg": int64(-5),
				"when": when, "f": 1.5, "empty": "", "ok": true, "list": []any{},
			}, nil
		}
		return nil, errUnhandled
	}
	c := newTestClient(t, h, nil)
	ctx := testCtx(t)
	v, err := c.Call(ctx, "types")
	if err != nil {
		t.Fatalf("types: %v", err)
	}
	m := v.(map[string]any)
	want := map[string]any{
		"b64": []byte{0, 1, 2, 0xff}, "nil": nil, "big": int64(1) << 40, "neg": int64(-5),
		"when": when, "f": 1.5, "empty": "", "ok": true, "list": []any{},
	}
	for k, w := range want {
		if got, ok := m[k]; !ok || fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", w) {
			t.Errorf("member %s = %#v, want %#v", k, got, w)
		}
	}

	v, err = c.Call(ctx, "echo", nil, int64(1)<<40, 7, []byte("hi"), "", Kw{"x": nil, "y": []string{"a"}})
	if err != nil {
		t.Fatalf("echo: %v", err)
	}
	body := string(h.recorded()[1].Body)
	for _, frag := range []string{
		"<param>\n<value><nil/></value></param>",
		"<value><i8>1099511627776</i8></value>",
		"<value><int>7</int></value>",
		"<value><base64>\naGk=\n</base64></value>",
		"<value><string></string></value>",
		"<name>x</name>\n<value><nil/></value>",
		"<name>__starstar</name>\n<value><boolean>1</boolean></value>",
	} {
		if !strings.Contains(body, frag) {
			t.Errorf("request body lacks %q:\n%s", frag, body)
		}
	}
	got := v.([]any)
	if len(got) != 6 || got[0] != nil || got[1] != int64(1)<<40 || !bytes.Equal(got[3].([]byte), []byte("hi")) {
		t.Errorf("echo = %#v", got)
	}
}

func TestBadArguments(t *testing.T) {
	h := newFakeHub(t)
	c := newTestClient(t, h, nil)
	ctx := testCtx(t)
	tests := []struct {
		name   string
		method string
		args   []any
		want   string
	}{
		{"empty method", "", nil, "invalid method name"},
		{"space", "get Host", nil, "invalid method name"},
		{"markup", "x<y>", nil, "invalid method name"},
		{"path", "../x", nil, "invalid method name"},
		{"trailing dot", "host.", nil, "invalid method name"},
		{"kw not last", "getHost", []any{Kw{"strict": true}, "b"}, "must be the last argument"},
		{"kw starstar", "getHost", []any{Kw{"__starstar": true}}, "invalid keyword argument name"},
		{"kw empty name", "getHost", []any{Kw{"": 1}}, "invalid keyword argument name"},
		{"unencodable", "getHost", []any{make(chan int)}, "cannot encode"},
		{"huge uint", "getHost", []any{uint64(1) << 63}, "exceeds"},
		{"map key", "getHost", []any{map[int]string{1: "a"}}, "keys must be strings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Call(ctx, tt.method, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Call(%q, %v) = %v, want error containing %q", tt.method, tt.args, err, tt.want)
			}
		})
	}
	if _, err := c.MultiCall(ctx, []CallSpec{{Method: "ok"}, {Method: "bad name"}}); err == nil {
		t.Error("MultiCall with a bad method name succeeded")
	}
	if n := len(h.recorded()); n != 0 {
		t.Errorf("%d requests sent for bad arguments, want 0", n)
	}
	// An empty Kw adds nothing.
	h.handle = func(c *hubCall) (any, error) { return len(c.Params), nil }
	if v, err := c.Call(ctx, "count", 1, Kw{}); err != nil || v != int64(1) {
		t.Errorf("Call with empty Kw = %v, %v; want 1 parameter", v, err)
	}
	if res, err := c.MultiCall(ctx, nil); err != nil || res != nil {
		t.Errorf("MultiCall(nil) = %v, %v", res, err)
	}
}

func TestMultiCallAnswers(t *testing.T) {
	tests := []struct {
		name   string
		answer any
		want   string
	}{
		{"not a list", "x", "instead of a list"},
		{"short", []any{[]any{1}}, "1 results for 2 calls"},
		{"two values", []any{[]any{1, 2}, []any{1}}, "one-element list"},
		{"struct not fault", []any{map[string]any{"a": 1}, []any{1}}, "not a fault"},
		{"scalar", []any{int64(1), []any{1}}, "unexpected int64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHub(t)
			h.handle = func(c *hubCall) (any, error) { return tt.answer, nil }
			c := newTestClient(t, h, nil)
			_, err := c.MultiCall(testCtx(t), []CallSpec{{Method: "a"}, {Method: "b", Args: []any{Kw{"k": 1}}}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("MultiCall = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRenewExpiredSession(t *testing.T) {
	for _, disable := range []bool{false, true} {
		t.Run(fmt.Sprintf("disabled=%v", disable), func(t *testing.T) {
			h := newFakeHub(t)
			h.handle = pingHandler
			c := newTestClient(t, h, func(o *Options) { o.DisableRenew = disable })
			login(t, c)
			id, _ := c.SessionID()
			h.mu.Lock()
			h.sessions[id].expired = true
			h.mu.Unlock()
			v, err := c.Call(testCtx(t), "ping")
			if disable {
				var f *Fault
				if !errors.As(err, &f) || f.Code != kojixml.AuthExpired {
					t.Errorf("Call = %v, %v; want AuthExpired", v, err)
				}
				return
			}
			if err != nil || v != "pong" {
				t.Fatalf("Call = %v, %v; want pong after renewal", v, err)
			}
			calls := h.recorded()
			if got, want := join(callnums(calls)), "login:- ping:0 login:1 ping:2"; got != want {
				t.Errorf("calls = %s, want %s", got, want)
			}
			if _, kw := kwargs(calls[2].Params); kw["renew"] != true {
				t.Errorf("renewal login without renew=True: %v", calls[2].Params)
			}
			if got, _ := c.SessionID(); got != id {
				t.Errorf("session id after renewal = %d, want %d", got, id)
			}
			if calls[3].Header.Get("Koji-Session-Key") == calls[1].Header.Get("Koji-Session-Key") {
				t.Error("the retried call did not use the renewed key")
			}
		})
	}
}

// TestConcurrentCalls: calls from many goroutines on one session reach the
// hub with strictly increasing callnums (the hub answers SequenceError
// otherwise).
func TestConcurrentCalls(t *testing.T) {
	h := newFakeHub(t)
	h.handle = pingHandler
	c := newTestClient(t, h, nil)
	login(t, c)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, 80)
	for range 8 {
		wg.Go(func() {
			for range 10 {
				if _, err := c.Call(ctx, "ping"); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent ping: %v", err)
	}
	calls := h.recorded()[1:]
	for i, call := range calls {
		if call.Callnum == nil || *call.Callnum != int64(i) {
			t.Fatalf("call %d has callnum %v", i, call.Callnum)
		}
	}
}

func TestLegacyQuerySession(t *testing.T) {
	h := newFakeHub(t)
	h.handle = pingHandler
	c := newTestClient(t, h, nil)
	login(t, c)
	c.mu.Lock()
	c.sess.headerAuth = false // a hub older than Koji 1.30
	c.mu.Unlock()
	if _, err := c.Call(testCtx(t), "ping"); err != nil {
		t.Fatalf("ping: %v", err)
	}
	call := h.recorded()[1]
	if call.Header.Get("Koji-Session-Id") != "" || call.Query.Get("session-id") == "" ||
		call.Query.Get("session-key") == "" || call.Query.Get("callnum") != "0" {
		t.Errorf("legacy session: header %v query %v", call.Header, call.Query)
	}
}

func TestHelpersRejectWrongTypes(t *testing.T) {
	h := newFakeHub(t)
	c := newTestClient(t, h, nil)
	ctx := testCtx(t)
	answers := map[string]any{}
	h.handle = func(call *hubCall) (any, error) { return answers[call.Method], nil }
	answers["host.getID"] = "1"
	if _, err := c.HostGetID(ctx); err == nil {
		t.Error("HostGetID accepted a string")
	}
	answers["host.getTasks"] = []any{map[string]any{"id": "x"}}
	if _, err := c.GetTasks(ctx); err == nil || !strings.Contains(err.Error(), `member "id"`) {
		t.Errorf("GetTasks = %v, want a type error naming id", err)
	}
	answers["host.getHostTasks"] = []any{map[string]any{"id": int64(3), "waiting": nil, "weight": int64(2)}}
	if ts, err := c.GetHostTasks(ctx); err != nil || len(ts) != 1 || ts[0].ID != 3 || ts[0].Weight != 2 || ts[0].Waiting {
		t.Errorf("GetHostTasks = %+v, %v", ts, err)
	}
	answers["host.openTask"] = []any{}
	if _, err := c.OpenTask(ctx, 1); err == nil {
		t.Error("OpenTask accepted a list")
	}
	answers["host.openTask"] = nil
	if m, err := c.OpenTask(ctx, 1); err != nil || m != nil {
		t.Errorf("OpenTask on a declined task = %v, %v; want nil, nil", m, err)
	}
	if u, err := c.GetLoggedInUser(ctx); err != nil || u != nil {
		t.Errorf("GetLoggedInUser anonymous = %v, %v", u, err)
	}
	h.raw = func(w http.ResponseWriter, r *http.Request, call *hubCall) bool {
		_ = kojixml.EncodeResponse(w, map[string]any{"krb_principals": []any{1}})
		return true
	}
	if _, err := c.GetLoggedInUser(ctx); err == nil {
		t.Error("GetLoggedInUser accepted a non-string principal")
	}
}

func TestHelpersSendKojidForms(t *testing.T) {
	h := newFakeHub(t)
	h.handle = func(call *hubCall) (any, error) { return nil, nil }
	c := newTestClient(t, h, nil)
	login(t, c)
	ctx := testCtx(t)
	data := map[string]any{"methods": []any{"newRepo"}, "maxjobs": int64(10)}
	if err := c.UpdateHost(ctx, 1.5, true, data); err != nil {
		t.Fatal(err)
	}
	if err := c.RefuseTask(ctx, 4, true, "busy"); err != nil {
		t.Fatal(err)
	}
	calls := h.recorded()
	pos, kw := kwargs(calls[1].Params)
	if fmt.Sprint(pos) != "[1.5 true]" || fmt.Sprint(kw["data"]) != fmt.Sprint(data) {
		t.Errorf("updateHost params = %v", calls[1].Params)
	}
	// Koji's recorded refuseTask(4, soft=True, msg='busy'), decoded.
	want := recordedParams(t, lastWith(t, "host.refuseTask.txt", "host.refuseTask"))
	if fmt.Sprint(calls[2].Params) != fmt.Sprint(want) {
		t.Errorf("refuseTask params = %v, want %v", calls[2].Params, want)
	}
}

// TestUnreachableHub: a refused connection is retried (a hub restarting),
// then reported with pki's diagnosis naming the address.
func TestUnreachableHub(t *testing.T) {
	h := newFakeHub(t)
	url := h.url()
	h.srv.Close()
	c := newTestClient(t, h, func(o *Options) { o.Server = url; o.MaxRetries = 2 })
	_, err := c.Call(testCtx(t), "getAPIVersion")
	var te *TransportError
	if !errors.As(err, &te) || te.Attempts != 3 {
		t.Fatalf("Call = %v, want TransportError after 3 attempts", err)
	}
	if !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), strings.TrimPrefix(h.srv.URL, "http://")) {
		t.Errorf("error %q does not explain the refused connection", err)
	}
	t.Logf("diagnosis: %v", err)
}

// TestConnectionReuse: calls share one keep-alive connection (a TLS
// handshake per call would cost the hub dearly), also after a fault.
func TestConnectionReuse(t *testing.T) {
	h := newFakeHub(t)
	h.handle = pingHandler
	c := newTestClient(t, h, nil)
	login(t, c)
	ctx := testCtx(t)
	for i := range 20 {
		method := "ping"
		if i%5 == 0 {
			method = "noSuchMethod"
		}
		_, _ = c.Call(ctx, method)
	}
	if n := h.conns.Load(); n != 1 {
		t.Errorf("%d connections for 21 calls, want 1", n)
	}
}

// fakeClock is the retry loop's clock in tests: sleeping only moves it on.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	waits []time.Duration
}

func useFakeClock(c *Client) *fakeClock {
	f := &fakeClock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	c.now = func() time.Time {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.t
	}
	c.sleep = func(ctx context.Context, d time.Duration) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.t = f.t.Add(d)
		f.waits = append(f.waits, d)
		return ctx.Err()
	}
	return f
}

func (f *fakeClock) waited() (total time.Duration, waits []time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.waits {
		total += d
	}
	return total, append([]time.Duration(nil), f.waits...)
}

// TestRetryTimeIsBounded: a hub that keeps dropping the connection is
// retried, each retry logged, for MaxRetryTime (one minute by default) and
// then the call fails with the last error; Koji's profile defaults (30
// retries 20 s apart) no longer keep a command silent for ten minutes and
// more (issue 14, item 7). A negative MaxRetryTime leaves only MaxRetries.
func TestRetryTimeIsBounded(t *testing.T) {
	tests := []struct {
		name         string
		opts         func(t *testing.T, url string) Options
		wantAttempts int           // 0: any number above one
		wantWaited   time.Duration // 0: more than DefaultMaxRetryTime
	}{
		{"defaults", func(t *testing.T, url string) Options { return Options{Server: url} }, 0, DefaultMaxRetryTime},
		{"koji profile defaults", func(t *testing.T, url string) Options {
			opts, err := OptionsFromProfile(loadProfile(t, "[koji]\nserver = "+url+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			if opts.MaxRetries != 30 || opts.RetryInterval != 20*time.Second {
				t.Fatalf("profile defaults = %d retries %v apart, want Koji's 30 and 20s", opts.MaxRetries, opts.RetryInterval)
			}
			return opts
		}, 0, DefaultMaxRetryTime},
		{"set", func(t *testing.T, url string) Options {
			return Options{Server: url, MaxRetries: 100, MaxRetryTime: 10 * time.Second}
		}, 0, 10 * time.Second},
		{"unbounded", func(t *testing.T, url string) Options {
			return Options{Server: url, MaxRetries: 12, MaxRetryTime: -1}
		}, 13, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHub(t)
			h.raw = func(w http.ResponseWriter, r *http.Request, c *hubCall) bool {
				dropConn(t, w)
				return true
			}
			opts := tt.opts(t, h.url())
			var logs bytes.Buffer
			opts.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
			c, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			clock := useFakeClock(c)
			_, err = c.Call(testCtx(t), "getAPIVersion")
			var te *TransportError
			if !errors.As(err, &te) || !strings.Contains(err.Error(), "EOF") {
				t.Fatalf("Call = %v, want a TransportError with the last error (EOF)", err)
			}
			n := len(h.recorded())
			if te.Attempts != n || n < 2 || tt.wantAttempts != 0 && n != tt.wantAttempts {
				t.Errorf("TransportError after %d attempts, hub saw %d, want %d (0: more than one)", te.Attempts, n, tt.wantAttempts)
			}
			total, waits := clock.waited()
			switch {
			case tt.wantWaited != 0 && total != tt.wantWaited:
				t.Errorf("waited %v in all (%v), want %v", total, waits, tt.wantWaited)
			case tt.wantWaited == 0 && total <= DefaultMaxRetryTime:
				t.Errorf("waited %v in all (%v), want more than %v with no bound", total, waits, DefaultMaxRetryTime)
			}
			var retries int
			var failingFor int64
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				var rec struct {
					Level, Msg, Method string
					Attempt            int
					FailingFor         int64 `json:"failing_for"`
				}
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				if rec.Msg == "hub call failed, retrying" && rec.Level == "WARN" && rec.Method == "getAPIVersion" {
					retries++
					if rec.Attempt != retries || rec.FailingFor < failingFor {
						t.Errorf("retry logged as attempt %d, want %d, failing for %d ns after %d: %s", rec.Attempt, retries, rec.FailingFor, failingFor, line)
					}
					failingFor = rec.FailingFor
				}
			}
			if retries != n-1 {
				t.Errorf("%d retries logged, want %d:\n%s", retries, n-1, logs.String())
			}
		})
	}
}
