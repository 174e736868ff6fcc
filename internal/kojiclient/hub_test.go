package kojiclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"hash/adler32"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kojigo/internal/kojixml"
)

// fakeHub answers like a Koji hub for the methods the client itself uses
// (login, sslLogin, subsession, logout, exclusiveSession, rawUpload,
// checkUpload) with Koji's session and callnum rules; tests add methods with
// handle and can take over whole requests with raw.
type fakeHub struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	calls    []*hubCall
	sessions map[int64]*fakeSession
	nextID   int64
	files    map[string][]byte
	conns    atomic.Int32 // connections accepted
	// handle answers methods the hub does not know; return errUnhandled
	// to get Koji's "Invalid method" fault.
	handle func(c *hubCall) (any, error)
	// raw, when set, sees every request first; returning true means it
	// wrote the answer.
	raw func(w http.ResponseWriter, r *http.Request, c *hubCall) bool
}

type fakeSession struct {
	id        int64
	key       string
	user      string
	master    int64
	lastCall  *int64
	exclusive bool
	expired   bool
}

type hubCall struct {
	Path    string
	Method  string
	Params  []any
	Header  http.Header
	Query   url.Values
	Body    []byte
	Session *fakeSession
	Callnum *int64
}

var errUnhandled = fmt.Errorf("unhandled")

// retryWhitelist is Koji's RetryWhitelist.
var retryWhitelist = map[string]bool{
	"host.taskWait": true, "host.taskUnwait": true, "host.taskSetWait": true,
	"host.updateHost": true, "host.setBuildRootState": true,
	"repoExpire": true, "repoDelete": true, "repoProblem": true,
}

func newFakeHub(t testing.TB) *fakeHub {
	t.Helper()
	return newFakeHubTLS(t, nil)
}

// newFakeHubTLS starts the hub with TLS when cfg is not nil.
func newFakeHubTLS(t testing.TB, cfg *tls.Config) *fakeHub {
	t.Helper()
	h := &fakeHub{t: t, sessions: map[int64]*fakeSession{}, nextID: 26, files: map[string][]byte{}}
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(h.serve))
	h.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			h.conns.Add(1)
		}
	}
	if cfg == nil {
		h.srv.Start()
	} else {
		h.srv.TLS = cfg
		h.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // expected handshake failures
		h.srv.StartTLS()
	}
	t.Cleanup(h.srv.Close)
	return h
}

func (h *fakeHub) url() string { return h.srv.URL + "/kojihub" }

func (h *fakeHub) recorded() []*hubCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*hubCall(nil), h.calls...)
}

func (h *fakeHub) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c := &hubCall{Path: r.URL.Path, Header: r.Header.Clone(), Query: r.URL.Query(), Body: body}
	if r.Header.Get("Content-Type") == "application/octet-stream" {
		c.Method = "rawUpload"
	} else {
		call, err := kojixml.DecodeCall(bytes.NewReader(body))
		if err != nil {
			http.Error(w, "Invalid request: "+err.Error(), http.StatusBadRequest)
			return
		}
		c.Method, c.Params = call.Method, call.Params
	}
	if v := r.Header.Get("Koji-Session-Callnum"); v != "" {
		n, _ := strconv.ParseInt(v, 10, 64)
		c.Callnum = &n
	}
	h.mu.Lock()
	h.calls = append(h.calls, c)
	raw := h.raw
	h.mu.Unlock()
	if raw != nil && raw(w, r, c) {
		return
	}
	v, err := h.dispatch(r, c)
	w.Header().Set("Content-Type", "text/xml")
	if err != nil {
		f, ok := err.(*kojixml.Fault)
		if !ok {
			f = &kojixml.Fault{Code: 1, String: err.Error()}
		}
		_ = kojixml.EncodeFault(w, f)
		return
	}
	if err := kojixml.EncodeResponse(w, v); err != nil {
		h.t.Errorf("fake hub: encode %s result: %v", c.Method, err)
	}
}

func fault(code int, format string, args ...any) error { return kojixml.Errorf(code, format, args...) }

// session applies Koji's session rules (auth.py Session.__init__).
func (h *fakeHub) session(c *hubCall) (*fakeSession, error) {
	idText := c.Header.Get("Koji-Session-Id")
	if idText == "" {
		idText = c.Query.Get("session-id")
		if idText == "" {
			return nil, nil
		}
		c.Header.Set("Koji-Session-Key", c.Query.Get("session-key"))
		if cn := c.Query.Get("callnum"); cn != "" {
			n, _ := strconv.ParseInt(cn, 10, 64)
			c.Callnum = &n
		}
	}
	id, _ := strconv.ParseInt(idText, 10, 64)
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.sessions[id]
	if s == nil || s.key != c.Header.Get("Koji-Session-Key") {
		return nil, fault(kojixml.AuthError, "Invalid session or bad credentials")
	}
	if s.expired && c.Method != "login" && c.Method != "sslLogin" {
		return nil, fault(kojixml.AuthExpired, "session %q has expired", strconv.FormatInt(id, 10))
	}
	if c.Callnum != nil && s.lastCall != nil {
		switch {
		case *s.lastCall > *c.Callnum:
			return nil, fault(kojixml.SequenceError, "%d > %d (session %d)", *s.lastCall, *c.Callnum, id)
		case *s.lastCall == *c.Callnum && !retryWhitelist[c.Method]:
			return nil, fault(kojixml.RetryError, "unable to retry call %d (method %s) for session %d", *c.Callnum, c.Method, id)
		}
	}
	if c.Callnum != nil {
		n := *c.Callnum
		s.lastCall = &n
	}
	return s, nil
}

func (h *fakeHub) newSession(user string, master int64) map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nextID++
	s := &fakeSession{id: h.nextID, key: fmt.Sprintf("3-key%dabcdefghijklmn", h.nextID), user: user, master: master}
	h.sessions[s.id] = s
	return map[string]any{"session-id": s.id, "session-key": s.key, "header-auth": true}
}

func kwargs(params []any) (pos []any, kw map[string]any) {
	if n := len(params); n > 0 {
		if m, ok := params[n-1].(map[string]any); ok && m["__starstar"] == true {
			kw = map[string]any{}
			for k, v := range m {
				if k != "__starstar" {
					kw[k] = v
				}
			}
			return params[:n-1], kw
		}
	}
	return params, map[string]any{}
}

func (h *fakeHub) dispatch(r *http.Request, c *hubCall) (any, error) {
	s, err := h.session(c)
	if err != nil {
		return nil, err
	}
	c.Session = s
	pos, kw := kwargs(c.Params)
	switch c.Method {
	case "login":
		if len(pos) != 2 {
			return nil, fault(kojixml.ParameterError, "login() takes 2 positional arguments")
		}
		if pos[1] != "pw" {
			return nil, fault(kojixml.AuthError, "invalid username or password")
		}
		if kw["renew"] == true && s != nil {
			return h.renew(s), nil
		}
		return h.newSession(pos[0].(string), 0), nil
	case "sslLogin":
		if c.Path != "/kojihub/ssllogin" {
			return nil, fault(kojixml.AuthError, "could not verify client: None")
		}
		user := "tls-less"
		if r.TLS != nil {
			if len(r.TLS.PeerCertificates) == 0 {
				return nil, fault(kojixml.AuthError, "could not verify client: NONE")
			}
			user = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		if kw["renew"] == true && s != nil {
			return h.renew(s), nil
		}
		return h.newSession(user, 0), nil
	}
	if s == nil {
		switch c.Method {
		case "getLoggedInUser":
			return nil, nil
		case "subsession", "logout", "exclusiveSession", "rawUpload", "checkUpload":
			return nil, fault(kojixml.AuthError, "Not logged in")
		}
	}
	switch c.Method {
	case "getLoggedInUser":
		return map[string]any{"id": int64(1), "name": s.user, "status": int64(0), "usertype": int64(0),
			"authtype": int64(0), "krb_principals": []any{}}, nil
	case "subsession":
		return h.newSession(s.user, s.id), nil
	case "logout":
		h.mu.Lock()
		delete(h.sessions, s.id)
		h.mu.Unlock()
		return nil, nil
	case "logoutChild":
		id, _ := pos[0].(int64)
		h.mu.Lock()
		defer h.mu.Unlock()
		if child := h.sessions[id]; child != nil && child.master == s.id {
			delete(h.sessions, id)
		}
		return nil, nil
	case "exclusiveSession":
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, o := range h.sessions {
			if o != s && o.user == s.user && o.exclusive {
				if kw["force"] != true {
					return nil, fault(kojixml.AuthLockError, "Cannot get exclusive session")
				}
				delete(h.sessions, o.id)
			}
		}
		s.exclusive = true
		return nil, nil
	case "rawUpload":
		return h.upload(c)
	case "checkUpload":
		return h.checkUpload(pos, kw)
	}
	if h.handle != nil {
		v, err := h.handle(c)
		if err != errUnhandled {
			return v, err
		}
	}
	return nil, fault(kojixml.GenericError, "Invalid method: %s", c.Method)
}

func (h *fakeHub) renew(s *fakeSession) map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	s.key = s.key + "r"
	s.expired = false
	return map[string]any{"session-id": s.id, "session-key": s.key, "header-auth": true}
}

func (h *fakeHub) upload(c *hubCall) (any, error) {
	q := c.Query
	name := q.Get("filepath") + "/" + q.Get("filename")
	offset, err := strconv.ParseInt(q.Get("offset"), 10, 64)
	if err != nil {
		return nil, fault(kojixml.GenericError, "bad offset")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	data, exists := h.files[name]
	if exists && offset == 0 && q.Get("overwrite") == "" {
		return nil, fault(kojixml.GenericError, "upload path exists: %s", name)
	}
	if q.Get("overwrite") != "" && int64(len(data)) > offset {
		data = data[:offset]
	}
	if int64(len(data)) < offset {
		data = append(data, make([]byte, offset-int64(len(data)))...)
	}
	data = append(data[:offset], c.Body...)
	h.files[name] = data
	return map[string]any{
		"size": int64(len(c.Body)), "fileverify": q.Get("fileverify"), "offset": offset,
		"hexdigest": fmt.Sprintf("%08x", adler32.Checksum(c.Body)),
	}, nil
}

func (h *fakeHub) checkUpload(pos []any, kw map[string]any) (any, error) {
	if len(pos) != 2 {
		return nil, fault(kojixml.ParameterError, "checkUpload() takes 2 positional arguments")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	data, ok := h.files[pos[0].(string)+"/"+pos[1].(string)]
	if !ok {
		return nil, nil
	}
	ret := map[string]any{"size": int64(len(data)), "mtime": float64(time.Now().Unix())}
	if kw["verify"] == "adler32" {
		ret["hexdigest"] = fmt.Sprintf("%08x", adler32.Checksum(data))
		ret["sumlength"] = int64(len(data))
	}
	return ret, nil
}

// newTestClient returns a client for h with fast retries.
func newTestClient(t testing.TB, h *fakeHub, mod func(*Options)) *Client {
	t.Helper()
	opts := Options{
		Server:           h.url(),
		RetryInterval:    time.Millisecond,
		MaxRetryInterval: 2 * time.Millisecond,
		Timeout:          5 * time.Second,
	}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func login(t testing.TB, c *Client) {
	t.Helper()
	if err := c.Login(testCtx(t), "builder1", "pw"); err != nil {
		t.Fatalf("Login: %v", err)
	}
}

func callnums(calls []*hubCall) []string {
	var out []string
	for _, c := range calls {
		cn := "-"
		if c.Callnum != nil {
			cn = strconv.FormatInt(*c.Callnum, 10)
		}
		out = append(out, c.Method+":"+cn)
	}
	return out
}

func join(s []string) string { return strings.Join(s, " ") }
