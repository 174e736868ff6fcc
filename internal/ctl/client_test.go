package ctl

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"hash/adler32"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kojigo/db"
	"kojigo/db/dbtest"
	"kojigo/hubcore"
	"kojigo/internal/kojiclient"
	"kojigo/internal/kojixml"
	"kojigo/internal/password"
	"kojigo/internal/pki"
	"kojigo/internal/pki/pkitest"
)

// fakeHub answers XML-RPC with canned handlers per method, records every
// call (multicall entries as "mc:method"), and takes raw uploads.
type fakeHub struct {
	t        *testing.T
	mu       sync.Mutex
	handlers map[string]func(args []any, kw map[string]any) (any, error)
	calls    []fakeCall
	uploads  map[string][]byte
	srv      *httptest.Server
	url      string
}

type fakeCall struct {
	method string
	args   []any
	kw     map[string]any
}

func newFakeHub(t *testing.T) *fakeHub {
	t.Helper()
	fh := &fakeHub{t: t, handlers: map[string]func([]any, map[string]any) (any, error){}, uploads: map[string][]byte{}}
	fh.on("getAPIVersion", func([]any, map[string]any) (any, error) { return int64(1), nil })
	fh.on("login", func([]any, map[string]any) (any, error) {
		return map[string]any{"session-id": int64(7), "session-key": "7-key"}, nil
	})
	fh.on("logout", func([]any, map[string]any) (any, error) { return nil, nil })
	fh.on("hasPerm", func([]any, map[string]any) (any, error) { return true, nil })
	fh.srv = httptest.NewServer(http.HandlerFunc(fh.serve))
	t.Cleanup(fh.srv.Close)
	fh.url = fh.srv.URL + "/kojihub"
	return fh
}

func (fh *fakeHub) on(method string, fn func(args []any, kw map[string]any) (any, error)) {
	fh.mu.Lock()
	defer fh.mu.Unlock()
	fh.handlers[method] = fn
}

// answer registers a constant answer.
func (fh *fakeHub) answer(method string, v any) {
	fh.on(method, func([]any, map[string]any) (any, error) { return v, nil })
}

func (fh *fakeHub) methods() []string {
	fh.mu.Lock()
	defer fh.mu.Unlock()
	var out []string
	for _, c := range fh.calls {
		out = append(out, c.method)
	}
	return out
}

// called returns the recorded calls of method (or "mc:method").
func (fh *fakeHub) called(method string) []fakeCall {
	fh.mu.Lock()
	defer fh.mu.Unlock()
	var out []fakeCall
	for _, c := range fh.calls {
		if c.method == method {
			out = append(out, c)
		}
	}
	return out
}

func (fh *fakeHub) dispatch(prefix, method string, params []any) (any, error) {
	args, kw := kojixml.SplitKwargs(params)
	fh.mu.Lock()
	fh.calls = append(fh.calls, fakeCall{prefix + method, args, kw})
	h := fh.handlers[method]
	fh.mu.Unlock()
	if h == nil {
		return nil, kojixml.Errorf(kojixml.GenericError, "Invalid method: %s", method)
	}
	return h(args, kw)
}

func (fh *fakeHub) serve(w http.ResponseWriter, r *http.Request) {
	if name := r.URL.Query().Get("filename"); name != "" {
		fh.rawUpload(w, r, name)
		return
	}
	c, err := kojixml.DecodeCall(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	var v any
	if c.Method == "multiCall" {
		var out []any
		for _, e := range asList(c.Params[0]) {
			m := asMap(e)
			res, err := fh.dispatch("mc:", mstr(m, "methodName"), asList(m["params"]))
			if f, ok := err.(*kojixml.Fault); ok {
				out = append(out, map[string]any{"faultCode": int64(f.Code), "faultString": f.String})
			} else if err != nil {
				out = append(out, map[string]any{"faultCode": int64(1), "faultString": err.Error()})
			} else {
				out = append(out, []any{res})
			}
		}
		v = out
	} else {
		v, err = fh.dispatch("", c.Method, c.Params)
		if f, ok := err.(*kojixml.Fault); ok {
			kojixml.EncodeFault(w, f)
			return
		} else if err != nil {
			kojixml.EncodeFault(w, kojixml.Errorf(1, "%v", err))
			return
		}
	}
	if err := kojixml.EncodeResponse(w, v); err != nil {
		fh.t.Errorf("fake hub: encode %s answer: %v", c.Method, err)
	}
}

func (fh *fakeHub) rawUpload(w http.ResponseWriter, r *http.Request, name string) {
	data, _ := io.ReadAll(r.Body)
	key := r.URL.Query().Get("filepath") + "/" + name
	off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	fh.mu.Lock()
	fh.calls = append(fh.calls, fakeCall{method: "rawUpload", args: []any{key, int64(off)}})
	cur := fh.uploads[key]
	if r.URL.Query().Get("overwrite") == "1" {
		cur = cur[:min(off, len(cur))]
	}
	for len(cur) < off {
		cur = append(cur, 0)
	}
	fh.uploads[key] = append(cur[:off], data...)
	fh.mu.Unlock()
	kojixml.EncodeResponse(w, map[string]any{"size": int64(len(data)), "hexdigest": fmt.Sprintf("%08x", adler32.Checksum(data)),
		"fileverify": "adler32", "offset": int64(off)})
}

// testEnv is an Env with a HOME holding ~/.koji/config for server, TZ UTC.
type testEnv struct {
	home   string
	stdout bytes.Buffer
	stderr bytes.Buffer
	vars   map[string]string
}

// newTestEnv writes a profile [koji] for server with extra lines.
func newTestEnv(t *testing.T, server string, extra ...string) *testEnv {
	t.Helper()
	te := &testEnv{home: t.TempDir()}
	te.vars = map[string]string{"HOME": te.home, "TZ": "UTC"}
	if server != "" {
		te.writeConfig(t, "[koji]\nserver = "+server+"\n"+strings.Join(extra, "\n")+"\n")
	}
	return te
}

func (te *testEnv) writeConfig(t *testing.T, text string) {
	t.Helper()
	dir := filepath.Join(te.home, ".koji")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// adminEnv is a testEnv logging in with a password.
func adminEnv(t *testing.T, server string) *testEnv {
	t.Helper()
	return newTestEnv(t, server, "authtype = password", "user = kojiadmin", "password = secret")
}

// run runs kojictl args and returns its exit status.
func (te *testEnv) run(t *testing.T, args ...string) int {
	t.Helper()
	te.stdout.Reset()
	te.stderr.Reset()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	env := &Env{Stdin: strings.NewReader(""), Stdout: &te.stdout, Stderr: &te.stderr,
		Getenv: func(k string) string { return te.vars[k] }}
	return Main(ctx, env, args)
}

// mustRun runs and fails the test unless the status is want.
func (te *testEnv) mustRun(t *testing.T, want int, args ...string) string {
	t.Helper()
	if got := te.run(t, args...); got != want {
		t.Fatalf("kojictl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), got, want, te.stdout.String(), te.stderr.String())
	}
	return te.stdout.String()
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args    []string
		pos     []string
		parent  string
		wantErr bool
	}{
		{[]string{"f40", "--parent", "f39"}, []string{"f40"}, "f39", false},
		{[]string{"--parent=f39", "a", "b"}, []string{"a", "b"}, "f39", false},
		{[]string{"a", "--", "--parent", "x"}, []string{"a", "--parent", "x"}, "", false},
		{[]string{"a", "--nosuch"}, nil, "", true},
		{[]string{"a", "--parent"}, nil, "", true},
		{nil, nil, "", false},
	}
	for _, tt := range tests {
		fs := newFlags(&Env{Stderr: io.Discard}, "t")
		parent := fs.String("parent", "", "")
		pos, err := parseArgs(fs, tt.args)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseArgs(%q): err %v, wantErr %v", tt.args, err, tt.wantErr)
			continue
		}
		if err == nil && (!reflect.DeepEqual(pos, tt.pos) || *parent != tt.parent) {
			t.Errorf("parseArgs(%q) = %q parent %q, want %q parent %q", tt.args, pos, *parent, tt.pos, tt.parent)
		}
	}
}

func TestClean(t *testing.T) {
	tests := map[string]string{
		"builder1":        "builder1",
		"evil\x1b[31mred": `evil\x1b[31mred`,
		"two\nlines":      `two\nlines`,
		"ünïcödé":         "ünïcödé",
		"bad\xffutf8":     `bad\xffutf8`,
		"tab\tinside":     `tab\tinside`,
	}
	for in, want := range tests {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseTaskID(t *testing.T) {
	for _, ok := range []string{"1", "42", "2147483647"} {
		if _, err := parseTaskID(ok); err != nil {
			t.Errorf("parseTaskID(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "0", "-1", "abc", "1.5", "2147483648", "99999999999999999999999", "1\n", "0x10"} {
		if _, err := parseTaskID(bad); err == nil {
			t.Errorf("parseTaskID(%q) accepted", bad)
		}
	}
}

func TestParseArches(t *testing.T) {
	if got, err := parseArches("x86_64, aarch64  i686"); err != nil || got != "x86_64 aarch64 i686" {
		t.Errorf("parseArches = %q, %v", got, err)
	}
	if _, err := parseArches("x86_64 \x00evil"); err == nil {
		t.Error("parseArches accepted a NUL")
	}
}

func TestProfileAndConnection(t *testing.T) {
	fh := newFakeHub(t)
	fh.answer("listHosts", []any{})
	tests := []struct {
		name    string
		config  string // "" : no config file
		args    []string
		want    int
		errText string
	}{
		{"profile server", "[koji]\nserver = " + fh.url + "\n", []string{"list-hosts"}, 0, ""},
		{"--server without config", "", []string{"list-hosts", "--server", fh.url}, 0, ""},
		{"--server overrides a dead profile", "[koji]\nserver = http://127.0.0.1:1/kojihub\n", []string{"list-hosts", "--server=" + fh.url}, 0, ""},
		{"other profile", "[koji]\nserver = http://127.0.0.1:1/x\n[mine]\nserver = " + fh.url + "\n", []string{"list-hosts", "-p", "mine"}, 0, ""},
		{"profile before the command, as koji -p", "[koji]\nserver = http://127.0.0.1:1/x\n[mine]\nserver = " + fh.url + "\n", []string{"-p", "mine", "list-hosts"}, 0, ""},
		{"--profile= and --server before the command", "", []string{"--profile=koji", "--server", fh.url, "list-hosts"}, 0, ""},
		{"a global flag with no command", "", []string{"-p", "mine"}, 2, "unknown command"},
		{"an unknown flag before the command", "", []string{"--bogus", "list-hosts"}, 2, "unknown command \"--bogus\""},
		{"missing profile", "[koji]\nserver = " + fh.url + "\n", []string{"list-hosts", "--profile", "nosuch"}, 1, "no configuration for profile name: nosuch"},
		{"no config at all", "", []string{"list-hosts"}, 1, "no configuration for profile name: koji"},
		{"bad --server", "", []string{"list-hosts", "--server", "ftp://x"}, 2, "http:// or https://"},
		{"hostile --server", "", []string{"list-hosts", "--server", "http://\x00/"}, 2, "--server"},
		{"syntax error in config", "[koji\nserver = x\n", []string{"list-hosts"}, 1, "config"},
		{"auth needs credentials", "[koji]\nserver = " + fh.url + "\n", []string{"enable-host", "b1"}, 1, "no usable credentials"},
		{"password without user", "[koji]\nserver = " + fh.url + "\nauthtype = password\n", []string{"enable-host", "b1"}, 2, "needs a user"},
		{"user without password", "[koji]\nserver = " + fh.url + "\n", []string{"enable-host", "b1", "--user", "bob"}, 2, "no password for user bob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := newTestEnv(t, "")
			if tt.config != "" {
				te.writeConfig(t, tt.config)
			}
			got := te.run(t, tt.args...)
			if got != tt.want || !strings.Contains(te.stderr.String(), tt.errText) {
				t.Errorf("exit %d (want %d), stderr %q, want it to contain %q", got, tt.want, te.stderr.String(), tt.errText)
			}
		})
	}
}

func TestLoginFlags(t *testing.T) {
	fh := newFakeHub(t)
	fh.answer("getHost", map[string]any{"id": int64(1), "name": "b1"})
	fh.answer("enableHost", nil)
	te := newTestEnv(t, fh.url)
	te.mustRun(t, 0, "enable-host", "--user", "bob", "--password", "pw", "b1")
	logins := fh.called("login")
	if len(logins) != 1 || logins[0].args[0] != "bob" || logins[0].args[1] != "pw" {
		t.Fatalf("login calls %+v", logins)
	}
	if len(fh.called("logout")) != 1 {
		t.Errorf("no logout at the end: %v", fh.methods())
	}
	// --noauth: no login; the hub decides
	fh2 := newFakeHub(t)
	fh2.answer("getHost", map[string]any{"id": int64(1), "name": "b1"})
	fh2.on("enableHost", func([]any, map[string]any) (any, error) {
		return nil, kojixml.Errorf(1002, "action requires host permission")
	})
	te2 := adminEnv(t, fh2.url)
	te2.mustRun(t, 1, "enable-host", "--noauth", "b1")
	if len(fh2.called("login")) != 0 {
		t.Errorf("--noauth logged in: %v", fh2.methods())
	}
	if !strings.Contains(te2.stderr.String(), "action requires host permission") {
		t.Errorf("stderr %q", te2.stderr.String())
	}
}

func TestUnknownHub(t *testing.T) {
	te := newTestEnv(t, "http://127.0.0.1:1/kojihub", "max_retries = 0")
	if got := te.run(t, "list-hosts"); got != 1 {
		t.Fatalf("exit %d, stderr %s", got, te.stderr.String())
	}
	if te.stderr.Len() == 0 || strings.Count(te.stderr.String(), "\n") != 1 {
		t.Errorf("want one error line, got %q", te.stderr.String())
	}
}

// realHub is a kojigo hub (hubcore) on a fresh SQLite database, served over
// httptest, with an admin user kojiadmin/secret.
type realHub struct {
	url   string
	store *db.Store
}

func newRealHub(t *testing.T) *realHub {
	t.Helper()
	s := dbtest.Open(t, "sqlite")
	h, err := hubcore.New(s, hubcore.Config{TopDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() { srv.Close(); cancel(); <-done })
	rh := &realHub{url: srv.URL + "/kojihub", store: s}
	rh.addUser(t, "kojiadmin", "secret", "admin")
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

// client returns a kojiclient logged in as user.
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

// addHost adds a builder through the hub and returns its logged-in,
// exclusive client.
func (rh *realHub) addHost(t *testing.T, name string) *kojiclient.Client {
	t.Helper()
	ctx := context.Background()
	admin := rh.client(t, "kojiadmin", "secret")
	if _, err := admin.Call(ctx, "addHost", name, []any{"x86_64"}); err != nil {
		t.Fatalf("addHost: %v", err)
	}
	u, err := rh.store.GetUserByName(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := password.Hash("hostpw")
	if err := rh.store.SetPassword(ctx, u.ID, hash); err != nil {
		t.Fatal(err)
	}
	hc := rh.client(t, name, "hostpw")
	if err := hc.ExclusiveSession(ctx, true); err != nil {
		t.Fatal(err)
	}
	return hc
}

func TestClientCommandsHelp(t *testing.T) {
	te := newTestEnv(t, "")
	for _, c := range []string{"build", "watch-task", "watch-logs", "list-hosts", "list-tasks", "taskinfo", "enable-host",
		"disable-host", "cancel", "add-tag", "add-target", "add-pkg", "list-tagged"} {
		if code := te.run(t, c, "-h"); code != 0 {
			t.Errorf("%s -h: exit %d", c, code)
		}
		for _, f := range []string{"-profile PROFILE", "-server URL", "-config FILE", "-noauth"} {
			if !strings.Contains(te.stderr.String(), f) {
				t.Errorf("%s -h lacks %s:\n%s", c, f, te.stderr.String())
			}
		}
		te.run(t, "help")
		if !strings.Contains(te.stdout.String(), "\n  "+c+" ") {
			t.Errorf("kojictl help does not list %s", c)
		}
	}
}

// TestE2ESSL logs in with a client certificate (authtype = ssl) to the real
// hub over TLS, as an operator with a kojictl certs user certificate does.
func TestE2ESSL(t *testing.T) {
	farm := pkitest.NewFarm(t, "koji")
	hubCert := farm.Issue("hub", pki.Request{Role: pki.RoleHub, Name: "127.0.0.1", IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}})
	admin := farm.Issue("kojiadmin", pki.Request{Role: pki.RoleUser, Name: "kojiadmin"})
	tlsCfg, err := pki.ServerTLSConfig(hubCert.Cert, hubCert.Key, farm.CAFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := dbtest.Open(t, "sqlite")
	h, err := hubcore.New(s, hubcore.Config{TopDir: t.TempDir(),
		ClientCertVerifier: func(cs *tls.ConnectionState) (*x509.Certificate, error) { return pki.VerifyClientCert(cs, tlsCfg) }})
	if err != nil {
		t.Fatal(err)
	}
	rh := &realHub{store: s}
	rh.addUser(t, "kojiadmin", "unused-password", "admin")
	srv := httptest.NewUnstartedServer(h.Handler())
	srv.TLS = tlsCfg
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	t.Cleanup(srv.Close)
	url := srv.URL + "/kojihub"

	te := newTestEnv(t, url, "authtype = ssl", "cert = "+admin.PEM, "serverca = "+farm.CAFile)
	te.mustRun(t, 0, "add-tag", "f40")
	if out := te.mustRun(t, 0, "list-tagged", "--quiet", "f40"); out != "" {
		t.Errorf("list-tagged %q", out)
	}
	// the wrong CA: one sentence, exit 1
	other := pkitest.NewFarm(t, "other")
	bad := newTestEnv(t, url, "authtype = ssl", "cert = "+admin.PEM, "serverca = "+other.CAFile, "max_retries = 0")
	bad.mustRun(t, 1, "add-tag", "f41")
	if msg := bad.stderr.String(); strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "kojictl add-tag: ") {
		t.Errorf("wrong CA: %q", msg)
	}
	t.Logf("wrong serverca: %s", bad.stderr.String())
}

func TestConfigFlag(t *testing.T) {
	fh := newFakeHub(t)
	fh.answer("listHosts", []any{})
	te := newTestEnv(t, "http://127.0.0.1:1/never-used")
	cfg := filepath.Join(t.TempDir(), "koji.conf")
	if err := os.WriteFile(cfg, []byte("[koji]\nserver = "+fh.url+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	te.mustRun(t, 0, "list-hosts", "--config", cfg)
	if len(fh.called("listHosts")) != 1 {
		t.Errorf("--config file not used: %v", fh.methods())
	}
	if code := te.run(t, "list-hosts", "--config", filepath.Join(t.TempDir(), "missing.conf")); code != 1 || !strings.Contains(te.stderr.String(), "missing.conf") {
		t.Errorf("missing --config: exit %d, %q", code, te.stderr.String())
	}
}

// shellSplit splits a command line kojictl printed as a POSIX shell would
// (plain words and '...' quoting), and fails on anything else: a printed
// command must work as written.
func shellSplit(t testing.TB, line string) []string {
	t.Helper()
	var out []string
	var cur strings.Builder
	inWord, inQuote, escaped := false, false, false
	for _, r := range line {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case inQuote:
			if r == '\'' {
				inQuote = false
			} else {
				cur.WriteRune(r)
			}
		case r == '\'':
			inQuote, inWord = true, true
		case r == '\\':
			escaped, inWord = true, true
		case r == ' ':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		case strings.ContainsRune("\"$`;&|<>*?()[]{}#~!\t\n", r):
			t.Fatalf("%q: unquoted shell metacharacter %q", line, r)
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inQuote || escaped {
		t.Fatalf("%q: unterminated quote", line)
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}

// typed runs a kojictl command line as printed (after "kojictl").
func (te *testEnv) typed(t *testing.T, line string) int {
	t.Helper()
	args := shellSplit(t, line)
	if len(args) == 0 || args[0] != "kojictl" {
		t.Fatalf("%q is not a kojictl command", line)
	}
	return te.run(t, args[1:]...)
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"koji", "koji"},
		{"/home/alice/kojigo-demo/koji.conf", "/home/alice/kojigo-demo/koji.conf"},
		{"https://koji.example.org:8443/kojihub", "https://koji.example.org:8443/kojihub"},
		{"/tmp/my dir/koji.conf", "'/tmp/my dir/koji.conf'"},
		{"it's", `'it'\''s'`},
		{"", "''"},
		{"a$b", "'a$b'"},
		{"a\nb", `'a\nb'`},
	}
	for _, tc := range tests {
		got := shellQuote(tc.in)
		if got != tc.want {
			t.Errorf("shellQuote(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if tc.in != "" && !strings.ContainsAny(tc.in, "\n") {
			if back := shellSplit(t, got); len(back) != 1 || back[0] != tc.in {
				t.Errorf("shellSplit(shellQuote(%q)) = %q", tc.in, back)
			}
		}
	}
}

func TestCleanLines(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"one line", []string{"one line"}},
		{"a\nb\r\nc", []string{"a", "b", "c"}},
		{"\tindented\x1b[31m red", []string{"\tindented\\x1b[31m red"}},
		{"bare\rreturn", []string{`bare\rreturn`}},
	}
	for _, tc := range tests {
		if got := cleanLines(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("cleanLines(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestPrintedHelpCommands: the commands the usage texts name work as written.
func TestPrintedHelpCommands(t *testing.T) {
	te := newTestEnv(t, "")
	te.run(t, "nosuch")
	_, cmd, _ := strings.Cut(te.stderr.String(), "run '")
	cmd, _, _ = strings.Cut(cmd, "'")
	if code := te.typed(t, cmd); code != 0 || !strings.Contains(te.stdout.String(), "commands:") {
		t.Errorf("%q: exit %d", cmd, code)
	}
	_, cmd, _ = strings.Cut(te.stdout.String(), "run '")
	cmd, _, _ = strings.Cut(cmd, "'")
	for _, c := range commands() {
		if code := te.typed(t, strings.Replace(cmd, "COMMAND", c.name, 1)); code != 0 {
			t.Errorf("%q for %s: exit %d", cmd, c.name, code)
		}
	}
	// kojictl user -h names kojictl user add -h, whose flags are every
	// flag of the usage line.
	te.mustRun(t, 0, "user", "-h")
	_, cmd, _ = strings.Cut(te.stdout.String(), "run '")
	cmd, _, _ = strings.Cut(cmd, "'")
	if code := te.typed(t, cmd); code != 0 {
		t.Fatalf("%q: exit %d", cmd, code)
	}
	for _, w := range strings.Fields(userUsage) {
		if name, ok := strings.CutPrefix(strings.Trim(w, "[]"), "--"); ok && !strings.Contains(te.stderr.String(), "  -"+name+" ") && !strings.Contains(te.stderr.String(), "  -"+name+"\n") {
			t.Errorf("user usage names --%s, which %q does not list:\n%s", name, cmd, te.stderr.String())
		}
	}
}

// TestRetriesAreShown: a call the client retries says so on stderr, so a
// command waiting on a troubled hub does not hang in silence.
func TestRetriesAreShown(t *testing.T) {
	fh := newFakeHub(t)
	fh.answer("listHosts", []any{})
	target, _ := url.Parse(fh.url)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 { // the connection drops: a transport error, retried
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		r.URL.Path = target.Path
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	for _, withConfig := range []bool{true, false} {
		n.Store(0)
		te := newTestEnv(t, "")
		args := []string{"list-hosts"}
		if withConfig {
			te.writeConfig(t, "[koji]\nserver = "+srv.URL+"/kojihub\n")
		} else { // --server alone runs on Koji's defaults, retries included
			args = append(args, "--server", srv.URL+"/kojihub")
		}
		te.mustRun(t, 0, args...)
		if got := te.stderr.String(); !strings.Contains(got, "hub call failed, retrying") || !strings.Contains(got, "attempt=1") {
			t.Errorf("config %v: stderr %q does not show the retry", withConfig, got)
		}
	}
}
