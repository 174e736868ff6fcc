package hubcore

// The hub against hostile or broken clients and a full topdir (issue 14,
// items 2, 3, 5 and 6).

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"kojigo/db"
	"kojigo/internal/kojixml"
	"kojigo/internal/password"
	"kojigo/internal/testenv"
)

// hubWithLog is newTestHub with the hub's log kept for the test.
func hubWithLog(t *testing.T, backend string, tweak func(*Config)) (*testHub, *syncBuffer) {
	t.Helper()
	var buf syncBuffer
	th := newTestHub(t, backend, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
		if tweak != nil {
			tweak(c)
		}
	})
	return th, &buf
}

// logLines returns the log lines that contain every one of words.
func logLines(buf *syncBuffer, words ...string) []string {
	var out []string
	for _, l := range strings.Split(buf.String(), "\n") {
		all := l != ""
		for _, w := range words {
			all = all && strings.Contains(l, w)
		}
		if all {
			out = append(out, l)
		}
	}
	return out
}

func scrape(t *testing.T, th *testHub) string {
	t.Helper()
	resp, err := http.Get(th.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %s %v", resp.Status, err)
	}
	return string(b)
}

// TestUnknownMethodsShareOneLabel: made-up method names are counted under
// method="unknown", so that anonymous callers cannot grow /metrics (issue
// 14, item 3: 40,000 names took it from 14 KB to 63 MB).
func TestUnknownMethodsShareOneLabel(t *testing.T) {
	th := newTestHub(t, "sqlite", nil)
	for i := range 50 {
		th.anon().fault(kojixml.GenericError, fmt.Sprintf("madeUp%d", i))
	}
	th.anon().fault(kojixml.GenericError, strings.Repeat("x", 5000))
	th.anon().must("getAPIVersion")
	m := scrape(t, th)
	if strings.Contains(m, "madeUp") || strings.Contains(m, "xxxx") {
		t.Errorf("/metrics has labels of made-up methods:\n%s", grepLines(m, "madeUp"))
	}
	if want := `kojihub_calls_total{method="unknown",outcome="1000"} 51`; !strings.Contains(m, want) {
		t.Errorf("/metrics lacks %s:\n%s", want, grepLines(m, "kojihub_calls_total"))
	}
	if want := `kojihub_calls_total{method="getAPIVersion",outcome="ok"} 1`; !strings.Contains(m, want) {
		t.Errorf("/metrics lacks %s", want)
	}
}

func grepLines(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestFailedLoginsLoggedAndVerified: every refused login is logged at warn
// with the user name and peer (never the password), and runs one password
// verification whether the user exists, has no password, or typed a wrong
// one, so that which users exist cannot be timed (issue 14, item 5).
func TestFailedLoginsLoggedAndVerified(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) { failedLogins(t, backend) })
	}
}

func failedLogins(t *testing.T, backend string) {
	th, buf := hubWithLog(t, backend, nil)
	th.addUser("alice", "pw")
	if _, err := th.store.CreateUser(context.Background(), db.User{Name: "certonly"}); err != nil {
		t.Fatal(err)
	}
	checks := func() float64 {
		var m dto.Metric
		if err := th.hub.metrics.passwordChecks.Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	for _, tc := range []struct{ user, pw, why string }{
		{"alice", "Secret-wrong", "wrong password"},
		{"nobody", "Secret-unknown", "no such user"},
		{"certonly", "Secret-nopw", "no password"},
		{strings.Repeat("n", 300), "Secret-long", "no such user"},
	} {
		before := checks()
		f := th.anon().fault(kojixml.AuthError, "login", tc.user, tc.pw)
		if f.String != "invalid username or password" {
			t.Errorf("login %s: fault %q, want the same words for every refusal", tc.user, f.String)
		}
		if got := checks() - before; got != 1 {
			t.Errorf("login %s (%s): %v password verifications, want 1", tc.user, tc.why, got)
		}
		lines := logLines(buf, "login refused", "user="+tc.user, "peer=127.0.0.1", tc.why)
		if len(lines) != 1 || !strings.Contains(lines[0], "level=WARN") {
			t.Errorf("login %s: log lines %q, want one warning with user, peer and %q", tc.user, lines, tc.why)
		}
	}
	if strings.Contains(buf.String(), "Secret-") {
		t.Errorf("the log holds a password:\n%s", buf)
	}
	before := checks()
	th.login("alice", "pw")
	if checks()-before != 1 {
		t.Error("a good login did not verify the password once")
	}
}

// TestDummyHashCostsWhatARealOneDoes: the hash unknown users are checked
// against has the parameters of new hashes and matches no password.
func TestDummyHashCostsWhatARealOneDoes(t *testing.T) {
	real, err := password.Hash("x")
	if err != nil {
		t.Fatal(err)
	}
	params := func(h string) string { return strings.Join(strings.Split(h, "$")[:4], "$") }
	if got, want := params(dummyHash()), params(real); got != want {
		t.Errorf("dummy hash parameters %q, want those of new hashes %q", got, want)
	}
	for _, pw := range []string{"", "x", "password", strings.Repeat("a", password.MaxLen)} {
		if err := password.Check(dummyHash(), pw); !errors.Is(err, password.ErrMismatch) {
			t.Errorf("Check(dummy, %q) = %v, want ErrMismatch", pw, err)
		}
	}
}

// TestTLSFailuresAdminOnly: kojigo.getTLSFailures (client addresses and
// certificate names) is for admins; kojigo.listHostHealth stays anonymous
// as listHosts is in Koji.
func TestTLSFailuresAdminOnly(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		th.addUser("alice", "pw")
		f := th.anon().fault(kojixml.ActionNotAllowed, "kojigo.getTLSFailures")
		if !strings.Contains(f.String, "admin permission required (you are not logged in)") {
			t.Errorf("anonymous getTLSFailures: %q", f.String)
		}
		f = th.login("alice", "pw").fault(kojixml.ActionNotAllowed, "kojigo.getTLSFailures")
		if !strings.Contains(f.String, "admin permission required (logged in as alice)") {
			t.Errorf("getTLSFailures as alice: %q", f.String)
		}
		th.anon().fault(kojixml.ParameterError, "kojigo.getTLSFailures", "extra")
		if v, ok := th.login(th.ensureAdmin(), "adminpw").must("kojigo.getTLSFailures").([]any); !ok || len(v) != 0 {
			t.Errorf("getTLSFailures as admin = %v, want []", v)
		}
		th.addHost("builder1")
		if v, ok := th.anon().must("kojigo.listHostHealth").([]any); !ok || len(v) != 1 {
			t.Errorf("anonymous listHostHealth = %v, want builder1", v)
		}
	})
}

// TestHostMethodByUserIsNotATLSFailure: a password user calling a host
// method is logged as that, not as a refused TLS handshake, and not listed
// with them (issue 14, item 5).
func TestHostMethodByUserIsNotATLSFailure(t *testing.T) {
	th, buf := hubWithLog(t, "sqlite", nil)
	th.addUser("alice", "pw")
	th.login("alice", "pw").fault(kojixml.AuthError, "host.getID")
	if l := logLines(buf, "host method refused: the caller is not a host", "method=host.getID", "user=alice", "peer=127.0.0.1"); len(l) != 1 {
		t.Errorf("log = %q, want one line saying alice called host.getID and is not a host", buf)
	}
	if l := logLines(buf, "TLS handshake refused"); len(l) != 0 {
		t.Errorf("a host method called by a user logged as a TLS failure: %q", l)
	}
	if v := th.login(th.ensureAdmin(), "adminpw").must("kojigo.getTLSFailures").([]any); len(v) != 0 {
		t.Errorf("getTLSFailures = %v, want nothing for a password session", v)
	}
}

// serverWith runs runServerOn with timeouts and returns its address.
func serverWith(t *testing.T, to ServerTimeouts) string {
	t.Helper()
	store := openStore(t, "sqlite")
	fc := DefaultFileConfig()
	fc.DB = "sqlite:///unused"
	fc.KojiDir = t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- runServerOn(ctx, ServerOptions{Config: fc, Listener: ln, Timeouts: to, Ready: func(string) { close(ready) }}, store)
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("hub did not start: %v", err)
	}
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// TestSlowBodyIsCut: a request body that trickles in is cut at the body
// timeout (issue 14, item 2: one sent at 1 byte/s was held over 60 s). The
// trickle would take 50 s and the test waits 20 s for the answer, against
// a 300 ms timeout.
func TestSlowBodyIsCut(t *testing.T) {
	addr := serverWith(t, ServerTimeouts{Body: 300 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /kojihub HTTP/1.1\r\nHost: hub\r\nContent-Type: text/xml\r\nContent-Length: 1000\r\n\r\n")
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for range 1000 {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			if _, err := c.Write([]byte("<")); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a trickling body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "timeout") {
		t.Errorf("answer = %s %q, want 400 saying the body timed out", resp.Status, body)
	}
}

// TestIdleConnectionsAreClosed: a keep-alive connection that sends nothing
// after its request is closed at the idle timeout.
func TestIdleConnectionsAreClosed(t *testing.T) {
	addr := serverWith(t, ServerTimeouts{Idle: 200 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Close {
		t.Fatal("the hub closed the connection after the request; want keep-alive")
	}
	if n, err := br.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("idle connection: read = %d, %v; want EOF (closed by the hub)", n, err)
	}
}

// TestLongPollOutlivesBodyTimeout: kojigo.waitChanges waits its whole
// timeout although that is longer than the body timeout: the body deadline
// ends with the body.
func TestLongPollOutlivesBodyTimeout(t *testing.T) {
	addr := serverWith(t, ServerTimeouts{Body: 100 * time.Millisecond})
	c := (&testHub{t: t, url: "http://" + addr + "/kojihub"}).anon()
	tok := c.must("kojigo.waitChanges").(map[string]any)["token"]
	start := time.Now()
	v, err := c.call("kojigo.waitChanges", tok, 1.0)
	if err != nil {
		t.Fatalf("waitChanges(timeout=1) with a 100 ms body timeout: %v", err)
	}
	if m, _ := v.(map[string]any); m["token"] != tok || len(m["changed"].([]any)) != 0 {
		t.Errorf("waitChanges = %v, want the same token and nothing changed", v)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("waitChanges answered after %v, before its 1 s timeout", d)
	}
}

// TestBodyTimeoutGrowsWithSize: a large upload chunk gets a second per MiB
// on top of the body timeout.
func TestBodyTimeoutGrowsWithSize(t *testing.T) {
	to := ServerTimeouts{}.withDefaults()
	for _, tc := range []struct {
		n    int64
		want time.Duration
	}{{-1, 60 * time.Second}, {0, 60 * time.Second}, {1 << 20, 61 * time.Second}, {64 << 20, 124 * time.Second}, {1 << 62, 61 * time.Minute}, {1<<63 - 1, 61 * time.Minute}} {
		if got := to.bodyTimeout(tc.n); got != tc.want {
			t.Errorf("bodyTimeout(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

// TestTopdirMinSpaceKey: hub.conf's TopdirMinSpace (MiB) and what it maps to.
func TestTopdirMinSpaceKey(t *testing.T) {
	f := DefaultFileConfig()
	f.DB = "sqlite:///tmp/x.db"
	if f.TopdirMinSpace != 8192 || f.topdirMinSpace() != 8<<30 {
		t.Errorf("default TopdirMinSpace = %d MiB (%d bytes), want 8192 MiB", f.TopdirMinSpace, f.topdirMinSpace())
	}
	f.TopdirMinSpace = 0
	if err := f.Validate(); err != nil || f.topdirMinSpace() != -1 {
		t.Errorf("TopdirMinSpace = 0: %v, %d; want valid and not checked", err, f.topdirMinSpace())
	}
	for _, bad := range []int64{-1, -1 << 62, maxTopdirMinSpace + 1, 1<<63 - 1} {
		f.TopdirMinSpace = bad
		err := f.Validate()
		if err == nil || !strings.Contains(err.Error(), "TopdirMinSpace") || !strings.Contains(err.Error(), "want MiB from 0") {
			t.Errorf("Validate(TopdirMinSpace = %d) = %v, want an error naming the key", bad, err)
		}
	}
}

// TestHealthzTopdir: /healthz reports topdir: ok with room, degraded (200)
// below TopdirMinSpace with kojid's words, 503 when it cannot be measured;
// the warning is logged once when the threshold is crossed, and /metrics
// has the free space.
func TestHealthzTopdir(t *testing.T) {
	top := t.TempDir()
	var min int64 = 1
	th, buf := hubWithLog(t, "sqlite", func(c *Config) { c.TopDir = top; c.TopdirMinSpace = min })
	get := func() (int, string) {
		resp, err := http.Get(th.srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 ok", code, body)
	}
	m := scrape(t, th)
	for _, want := range []string{"kojihub_topdir_free_bytes ", "kojihub_topdir_size_bytes ", "kojihub_topdir_min_free_bytes 1\n", "kojihub_topdir_ok 1\n"} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, grepLines(m, "topdir"))
		}
	}
	// More than the filesystem holds: degraded.
	th.hub.metrics.topdir.minSpace = 1 << 60
	for range 2 {
		code, body := get()
		if code != 200 || !strings.HasPrefix(body, "degraded: topdir "+top+": ") || !strings.Contains(body, "free < minspace 1 EiB") {
			t.Errorf("/healthz = %d %q, want 200 degraded with topdir's free space and the minimum", code, body)
		}
	}
	if l := logLines(buf, "level=WARN", "topdir is low on space", "topdir="+top); len(l) != 1 {
		t.Errorf("warnings = %q, want one when the threshold is crossed", l)
	}
	if m := scrape(t, th); !strings.Contains(m, "kojihub_topdir_ok 0\n") {
		t.Errorf("/metrics: %s, want kojihub_topdir_ok 0", grepLines(m, "topdir"))
	}
	th.hub.metrics.topdir.minSpace = 1
	get()
	if l := logLines(buf, "topdir has space again"); len(l) != 1 {
		t.Errorf("log = %q, want one line when space is back", buf)
	}
	os.RemoveAll(top)
	if code, body := get(); code != 503 || !strings.Contains(body, "topdir "+top+": no such directory") {
		t.Errorf("/healthz without topdir = %d %q, want 503 naming it", code, body)
	}
	if l := logLines(buf, "level=ERROR", "topdir cannot be measured"); len(l) != 1 {
		t.Errorf("log = %q, want an error when topdir cannot be measured", buf)
	}
}

// TestUploadToFullTopdir: a raw upload that fills topdir fails for the
// builder with a message that says so, is logged at error with the task
// and path, leaves no partial file, and /healthz says topdir is degraded
// (issue 14, item 6: a 7 MiB partial RPM stayed, nothing was logged).
func TestUploadToFullTopdir(t *testing.T) {
	testenv.NeedTool(t, "mount")
	top := filepath.Join(t.TempDir(), "top")
	os.MkdirAll(top, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", top).CombinedOutput(); err != nil {
		if testenv.RequireTools() {
			t.Fatalf("mount tmpfs: %v %s (the test needs root)", err, out)
		}
		t.Skipf("mount tmpfs: %v %s (the test needs root)", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", top).Run() })
	th, buf := hubWithLog(t, "sqlite", func(c *Config) { c.TopDir = top; c.TopdirMinSpace = 2 << 20 })
	hc, hostID := th.addHost("builder1")
	id, dir := th.openTask(hostID)
	chunk := make([]byte, 1<<20)
	var fault *kojixml.Fault
	var off int64
	for ; off < 16<<20; off += int64(len(chunk)) {
		_, err := hc.raw(upq(dir, "big.rpm", off, "", false), chunk)
		if err != nil {
			if !errors.As(err, &fault) {
				t.Fatalf("upload at %d: %v", off, err)
			}
			break
		}
	}
	if fault == nil {
		t.Fatal("16 MiB uploaded into an 8 MiB topdir")
	}
	if !strings.Contains(fault.String, "no space left on device") || !strings.Contains(fault.String, "topdir is full") ||
		!strings.Contains(fault.String, "partial file was removed") {
		t.Errorf("fault at %d MiB = %q, want it to say topdir is full and the partial file was removed", off>>20, fault.String)
	}
	if _, err := os.Stat(filepath.Join(top, "work", dir, "big.rpm")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial upload still there: %v", err)
	}
	if l := logLines(buf, "level=ERROR", "upload failed", fmt.Sprintf("task=%d", id), "path="+dir+"/big.rpm", "user=builder1"); len(l) != 1 {
		t.Errorf("log = %q, want an error with the task and path", buf)
	}
	// The space came back with the partial file; fill it again for /healthz.
	os.WriteFile(filepath.Join(top, "filler"), make([]byte, 7<<20), 0o644)
	resp, err := http.Get(th.srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(b), "degraded: topdir "+top) {
		t.Errorf("/healthz with a full topdir = %s %q, want degraded", resp.Status, b)
	}
}
