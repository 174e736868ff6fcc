package hubcore

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/adler32"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"kojigo/db"
	"kojigo/internal/kojiclient"
	"kojigo/internal/kojixml"
	"kojigo/internal/testenv"
)

// openTask creates a task and opens it on hostID, returning its id and its
// upload directory.
func (th *testHub) openTask(hostID int64) (int64, string) {
	th.t.Helper()
	ctx := context.Background()
	id, _, err := th.store.CreateTask(ctx, db.NewTask{Method: "buildArch", Request: "<x/>", Arch: "x86_64", ChannelID: 1, Owner: 1, Priority: 20})
	if err != nil {
		th.t.Fatal(err)
	}
	if _, ok, err := th.store.OpenTask(ctx, id, hostID); err != nil || !ok {
		th.t.Fatalf("open task %d: %v %v", id, ok, err)
	}
	return id, fmt.Sprintf("tasks/%d/%d", id%10000, id)
}

// raw sends a raw upload (Koji's fast upload) with the client's session.
func (c *client) raw(q url.Values, body []byte) (any, error) {
	return c.rawReader(q, bytes.NewReader(body), int64(len(body)))
}

func (c *client) rawReader(q url.Values, body io.Reader, length int64) (any, error) {
	req, _ := http.NewRequest("POST", c.th.url+"?"+q.Encode(), body)
	req.ContentLength = length
	req.Header.Set("Content-Type", "application/octet-stream")
	c.sessionHeaders(req.Header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if resp.Header.Get("Koji-Version") == "" {
		return nil, fmt.Errorf("no Koji-Version header")
	}
	return kojixml.DecodeResponse(resp.Body)
}

func (c *client) sessionHeaders(h http.Header) {
	if c.sid != 0 {
		c.callnum++
		h.Set("Koji-Session-Id", strconv.FormatInt(c.sid, 10))
		h.Set("Koji-Session-Key", c.key)
		h.Set("Koji-Session-Callnum", strconv.FormatInt(c.callnum, 10))
	}
}

func upq(dir, name string, offset int64, verify string, overwrite bool) url.Values {
	q := url.Values{"filename": {name}, "filepath": {dir}, "offset": {strconv.FormatInt(offset, 10)}}
	if verify != "" {
		q.Set("fileverify", verify)
	}
	if overwrite {
		q.Set("overwrite", "1")
	}
	return q
}

// mustRaw uploads and checks the answer's size, offset and (for adler32)
// digest.
func (c *client) mustRaw(t *testing.T, q url.Values, body []byte) map[string]any {
	t.Helper()
	v, err := c.raw(q, body)
	if err != nil {
		t.Fatalf("raw upload %v: %v", q, err)
	}
	m := v.(map[string]any)
	if m["size"] != int64(len(body)) {
		t.Errorf("raw upload size = %v, want %d", m["size"], len(body))
	}
	if q.Get("fileverify") == "adler32" {
		if want := fmt.Sprintf("%08x", adler32.Checksum(body)); m["hexdigest"] != want {
			t.Errorf("raw upload adler32 = %v, want %s", m["hexdigest"], want)
		}
	}
	return m
}

func rawFault(t *testing.T, code int, v any, err error) *kojixml.Fault {
	t.Helper()
	f, ok := err.(*kojixml.Fault)
	if !ok || f.Code != code {
		t.Fatalf("got %v, %v; want fault %d", v, err, code)
	}
	return f
}

func download(t *testing.T, c *client, id int64, name string, args ...any) string {
	t.Helper()
	v := c.must("downloadTaskOutput", append([]any{id, name}, args...)...)
	s, ok := v.(string)
	if !ok {
		t.Fatalf("downloadTaskOutput = %T, want a base64 string", v)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLogStreaming(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		hc, hostID := th.addHost("builder1")
		id, dir := th.openTask(hostID)
		reader := th.anon()
		chunks := []string{"Mock Version: 5.0\n", "Start: build phase\nline 2\n", strings.Repeat("x", 70000) + "\nEnd\n"}
		var offset int64
		var all string
		for i, ch := range chunks {
			m := hc.mustRaw(t, upq(dir, "build.log", offset, "adler32", true), []byte(ch))
			if m["offset"] != offset || m["fileverify"] != "adler32" {
				t.Errorf("chunk %d answer = %v", i, m)
			}
			// the reader follows the log from where it was
			if got := download(t, reader, id, "build.log", kw{"offset": offset, "size": int64(len(ch) + 100)}); got != ch {
				t.Errorf("chunk %d: reader got %d bytes, want %q...", i, len(got), ch[:10])
			}
			offset += int64(len(ch))
			all += ch
			if got := download(t, reader, id, "build.log", kw{"offset": offset}); got != "" {
				t.Errorf("read at the end = %q, want nothing", got)
			}
		}
		if got := download(t, reader, id, "build.log"); got != all {
			t.Errorf("whole log: %d bytes, want %d", len(got), len(all))
		}
		// checkUpload sees the whole file
		cu := reader.must("checkUpload", dir, "build.log", kw{"verify": "adler32"}).(map[string]any)
		if cu["size"] != int64(len(all)) || cu["hexdigest"] != fmt.Sprintf("%08x", adler32.Checksum([]byte(all))) || cu["sumlength"] != int64(len(all)) {
			t.Errorf("checkUpload = %v", cu)
		}
		if _, ok := cu["mtime"].(float64); !ok {
			t.Errorf("checkUpload mtime = %T", cu["mtime"])
		}
		cu = reader.must("checkUpload", dir, "build.log", "sha256", int64(4)).(map[string]any)
		tail := sha256.Sum256([]byte("End\n"))
		if cu["sumlength"] != int64(4) || cu["hexdigest"] != hex.EncodeToString(tail[:]) {
			t.Errorf("checkUpload tail=4 = %v", cu)
		}
		if v := reader.must("checkUpload", dir, "none.log"); v != nil {
			t.Errorf("checkUpload of a missing file = %v, want nil", v)
		}
		if v := reader.must("checkUpload", "tasks/9/9", "none.log"); v != nil {
			t.Errorf("checkUpload in a missing dir = %v, want nil", v)
		}
		reader.fault(kojixml.GenericError, "checkUpload", dir, "build.log", "sha256", int64(-1))
		reader.fault(kojixml.GenericError, "checkUpload", dir, "build.log", "crc32")

		// mock restarts the log: kojid sends it again from 0 with overwrite
		hc.mustRaw(t, upq(dir, "build.log", 0, "adler32", true), []byte("restarted\n"))
		if got := download(t, reader, id, "build.log"); got != "restarted\n" {
			t.Errorf("after restart = %q", got)
		}
		// appending with offset -1
		m := hc.mustRaw(t, upq(dir, "build.log", -1, "", false), []byte("more\n"))
		if m["offset"] != int64(10) || m["hexdigest"] != nil {
			t.Errorf("append answer = %v", m)
		}
		if got := download(t, reader, id, "build.log"); got != "restarted\nmore\n" {
			t.Errorf("after append = %q", got)
		}
	})
}

func TestRawUploadRules(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		hc, hostID := th.addHost("builder1")
		id, dir := th.openTask(hostID)
		hc.mustRaw(t, upq(dir, "out.txt", 0, "", false), []byte("0123456789"))
		file := filepath.Join(th.hub.cfg.TopDir, "work", dir, "out.txt")
		content := func() string {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		tests := []struct {
			name   string
			q      url.Values
			body   string
			code   int
			substr string
		}{
			{"offset 0 on an existing file", upq(dir, "out.txt", 0, "", false), "abc", kojixml.GenericError, "upload path exists: " + dir + "/out.txt"},
			{"short write inside the file", upq(dir, "out.txt", 2, "", false), "ab", kojixml.GenericError, "Incorrect upload length for " + dir + "/out.txt - Expected 4, actual 10"},
			{"offset past the end", upq(dir, "out.txt", 11, "", true), "ab", kojixml.GenericError, "past the end"},
			{"offset below -1", upq(dir, "out.txt", -2, "", true), "ab", kojixml.ParameterError, "invalid offset"},
			{"bad offset", url.Values{"filename": {"out.txt"}, "filepath": {dir}, "offset": {"1e3"}}, "ab", kojixml.ParameterError, "invalid offset"},
			{"no filename", url.Values{"filepath": {dir}}, "ab", kojixml.ParameterError, "filename"},
			{"unknown verify", upq(dir, "out.txt", 10, "crc32", false), "ab", kojixml.GenericError, "Unsupported verify type: crc32"},
			{"unknown volume", func() url.Values { q := upq(dir, "out.txt", 10, "", false); q.Set("volume", "vol2"); return q }(), "ab", kojixml.GenericError, "No such volume: vol2"},
		}
		for _, tc := range tests {
			v, err := hc.raw(tc.q, []byte(tc.body))
			f := rawFault(t, tc.code, v, err)
			if !strings.Contains(f.String, tc.substr) {
				t.Errorf("%s: fault %q, want it to contain %q", tc.name, f.String, tc.substr)
			}
			if got := content(); got != "0123456789" {
				t.Fatalf("%s: file changed to %q", tc.name, got)
			}
		}
		// a write that ends at the end of the file is fine without overwrite
		hc.mustRaw(t, upq(dir, "out.txt", 7, "", false), []byte("XYZ"))
		// and one that extends it
		hc.mustRaw(t, upq(dir, "out.txt", 9, "md5", false), []byte("AB"))
		if got := content(); got != "0123456XYAB" {
			t.Errorf("after writes = %q", got)
		}
		// overwrite truncates at the offset
		hc.mustRaw(t, upq(dir, "out.txt", 3, "", true), []byte("!"))
		if got := content(); got != "012!" {
			t.Errorf("after overwrite at 3 = %q", got)
		}
		// the explicit volume DEFAULT is the one volume
		q := upq(dir, "out.txt", -1, "", false)
		q.Set("volume", "DEFAULT")
		hc.mustRaw(t, q, []byte("."))

		// verify types: the hub's digest is the digest of the chunk
		body := []byte("checksummed chunk\n")
		for verify, want := range map[string]string{
			"adler32": fmt.Sprintf("%08x", adler32.Checksum(body)),
			"md5":     fmt.Sprintf("%x", md5.Sum(body)),
			"sha256":  fmt.Sprintf("%x", sha256.Sum256(body)),
		} {
			m := hc.mustRaw(t, upq(dir, verify+".txt", 0, verify, false), body)
			if m["hexdigest"] != want || m["fileverify"] != verify {
				t.Errorf("%s: answer %v, want hexdigest %s", verify, m, want)
			}
		}
		// the session may come in the query string, as Koji's client sends it
		// when the hub lacks header auth
		hc.callnum++
		sq := upq(dir, "query-session.txt", 0, "", false)
		sq.Set("session-id", strconv.FormatInt(hc.sid, 10))
		sq.Set("session-key", hc.key)
		sq.Set("callnum", strconv.FormatInt(hc.callnum, 10))
		if _, err := th.anon().raw(sq, []byte("q")); err != nil {
			t.Errorf("upload with the session in the query: %v", err)
		}
		sq.Set("callnum", strconv.FormatInt(hc.callnum-1, 10))
		v, err := th.anon().raw(sq, []byte("q"))
		rawFault(t, kojixml.SequenceError, v, err)
		// an empty chunk creates an empty file
		hc.mustRaw(t, upq(dir, "empty.txt", 0, "adler32", false), nil)
		if got := hc.must("listTaskOutput", id).([]any); len(got) != 6 {
			t.Errorf("listTaskOutput = %v", got)
		}
	})
}

func TestUploadPermissions(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		h1, host1 := th.addHost("builder1")
		h2, host2 := th.addHost("builder2")
		id1, dir1 := th.openTask(host1)
		th.addUser("alice", "pw")
		th.addUser("bob", "pw")
		alice, bob := th.login("alice", "pw"), th.login("bob", "pw")
		data := []byte("data\n")
		b64 := base64.StdEncoding.EncodeToString(data)

		v, err := h2.raw(upq(dir1, "x.log", 0, "", true), data)
		if f := rawFault(t, kojixml.ActionNotAllowed, v, err); f.String != fmt.Sprintf("host %d does not own task %d", host2, id1) {
			t.Errorf("other host = %q", f.String)
		}
		h2.fault(kojixml.ActionNotAllowed, "uploadFile", dir1, "x.log", int64(len(data)), nil, int64(0), b64)
		v, err = th.anon().raw(upq(dir1, "x.log", 0, "", true), data)
		if f := rawFault(t, kojixml.ActionNotAllowed, v, err); f.String != "you must be logged-in to upload a file" {
			t.Errorf("anonymous = %q", f.String)
		}
		th.anon().fault(kojixml.AuthError, "uploadFile", dir1, "x.log", int64(len(data)), nil, int64(0), b64)
		v, err = alice.raw(upq(dir1, "x.log", 0, "", true), data)
		rawFault(t, kojixml.AuthError, v, err) // not a host
		// a bad session key is refused before anything else
		bad := *h1
		bad.key = "1-wrong"
		v, err = bad.raw(upq(dir1, "x.log", 0, "", true), data)
		rawFault(t, kojixml.AuthError, v, err)
		// tasks that are not open on the host
		free, _, err := th.store.CreateTask(context.Background(), db.NewTask{Method: "m", Request: "<x/>", Arch: "noarch", ChannelID: 1, Owner: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{fmt.Sprintf("tasks/%d/%d", free, free), "tasks/9999/99999999"} {
			code := kojixml.ActionNotAllowed
			if strings.HasSuffix(d, "99999999") {
				code = kojixml.GenericError
			}
			v, err = h1.raw(upq(d, "x.log", 0, "", true), data)
			rawFault(t, code, v, err)
		}
		if _, err := os.Stat(filepath.Join(th.hub.cfg.TopDir, "work", "tasks")); err == nil {
			t.Error("refused uploads created directories")
		}
		// the owner writes
		h1.mustRaw(t, upq(dir1, "x.log", 0, "", true), data)

		// user upload directories: the first uploader owns one
		cli := "cli-build/1700000000.123.AbCdEf"
		alice.mustRaw(t, upq(cli, "pkg.src.rpm", 0, "adler32", true), data)
		v, err = bob.raw(upq(cli, "other.rpm", 0, "", true), data)
		if f := rawFault(t, kojixml.GenericError, v, err); !strings.Contains(f.String, "not owner") {
			t.Errorf("bob in alice's dir = %q", f.String)
		}
		bob.fault(kojixml.GenericError, "uploadFile", cli, "other.rpm", int64(len(data)), nil, int64(0), b64)
		v, err = bob.raw(upq(cli, ".user", 0, "", true), []byte("5"))
		rawFault(t, kojixml.GenericError, v, err)
		alice.mustRaw(t, upq(cli, "pkg.src.rpm", -1, "", false), data)
		if th.anon().must("checkUpload", cli, "pkg.src.rpm").(map[string]any)["size"] != int64(10) {
			t.Error("alice's file has the wrong size")
		}
		// a user may not write under tasks/ at all
		v, err = bob.raw(upq("tasks", "x.log", 0, "", true), data)
		rawFault(t, kojixml.GenericError, v, err)
	})
}

func TestUploadPathAttacks(t *testing.T) {
	th := newTestHub(t, "sqlite", nil)
	hc, hostID := th.addHost("builder1")
	id, dir := th.openTask(hostID)
	hc.mustRaw(t, upq(dir, "ok.log", 0, "", true), []byte("fine\n"))
	work := filepath.Join(th.hub.cfg.TopDir, "work")
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	taskDir := filepath.Join(work, dir)
	// symlinks planted in the task directory: to a file and to a directory outside
	must(t, os.Symlink(secret, filepath.Join(taskDir, "evil.log")))
	must(t, os.Symlink(outside, filepath.Join(taskDir, "sub")))
	must(t, os.Symlink("ok.log", filepath.Join(taskDir, "inside.log")))

	long := strings.Repeat("a", 300)
	tests := []struct{ dir, name string }{
		{"../x", "a.log"},
		{"..", "a.log"},
		{"/etc", "a.log"},
		{"/" + dir, "a.log"},
		{dir + "/../../../etc", "a.log"},
		{dir + "/../../../../..", "passwd"},
		{dir + "/./x", "a.log"},
		{dir + "//x", "a.log"},
		{"", "a.log"},
		{dir, "../a.log"},
		{dir, "../../../../../tmp/a.log"},
		{dir, "a/b.log"},
		{dir, "/etc/passwd"},
		{dir, ".hidden"},
		{dir, ".."},
		{dir, ""},
		{dir, "a\x00b.log"},
		{dir + "\x00/x", "a.log"},
		{dir, "a\nb.log"},
		{dir, long},
		{dir + "/" + long, "a.log"},
		{strings.Repeat("d/", 600), "a.log"},
		{dir, "\xff\xfe.log"},
		{dir, "evil.log"},
		{dir, "inside.log"},
		{dir + "/sub", "a.log"},
		{dir + "/sub/deeper", "a.log"},
		{fmt.Sprintf("tasks/%d/%d", id%10000+1, id), "a.log"}, // wrong bucket
		{fmt.Sprintf("tasks/%d/0%d", id%10000, id), "a.log"},  // not canonical
		{fmt.Sprintf("tasks/%d/%d%%2f..", id%10000, id), "a.log"},
	}
	for _, tc := range tests {
		v, err := hc.raw(upq(tc.dir, tc.name, 0, "", true), []byte("pwned\n"))
		if _, ok := err.(*kojixml.Fault); !ok {
			t.Errorf("raw upload to %q / %q = %v, %v; want a fault", tc.dir, tc.name, v, err)
		}
		_, err = hc.call("uploadFile", tc.dir, tc.name, int64(6), nil, int64(0), base64.StdEncoding.EncodeToString([]byte("pwned\n")))
		if _, ok := err.(*kojixml.Fault); !ok {
			t.Errorf("uploadFile to %q / %q = %v; want a fault", tc.dir, tc.name, err)
		}
	}
	// a percent-encoded name arrives decoded: %2e%2e%2f is "../" and refused
	v, err := hc.rawQuery("filename=%2e%2e%2fescape.log&filepath="+url.QueryEscape(dir)+"&offset=0&overwrite=1", []byte("pwned\n"))
	rawFault(t, kojixml.GenericError, v, err)
	v, err = hc.rawQuery("filename=a%00b&filepath="+url.QueryEscape(dir)+"&offset=0", []byte("pwned\n"))
	rawFault(t, kojixml.GenericError, v, err)
	v, err = hc.rawQuery("filename=a;b=%zz&filepath=x", []byte("pwned\n"))
	rawFault(t, kojixml.ParameterError, v, err)
	// double encoding is a literal name, and it lands inside the task dir
	hc.mustRaw(t, upq(dir, "%2e%2e%2fliteral.log", 0, "", true), []byte("literal\n"))
	if _, err := os.Stat(filepath.Join(taskDir, "%2e%2e%2fliteral.log")); err != nil {
		t.Errorf("literal name: %v", err)
	}

	if b, _ := os.ReadFile(secret); string(b) != "secret\n" {
		t.Errorf("secret changed to %q", b)
	}
	entries, _ := os.ReadDir(outside)
	if len(entries) != 1 {
		t.Errorf("outside dir has %d entries, want 1", len(entries))
	}
	// nothing outside work/<task dir> was created or written
	filepath.WalkDir(th.hub.cfg.TopDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if !strings.HasPrefix(p, taskDir+"/") {
			t.Errorf("file written outside the task dir: %s", p)
		}
		if b, err := os.ReadFile(p); err == nil && d.Type().IsRegular() && strings.Contains(string(b), "pwned") {
			t.Errorf("attack data in %s", p)
		}
		return nil
	})

	// reading: symlinks are neither listed nor read, names cannot leave the dir
	names := hc.must("listTaskOutput", id).([]any)
	for _, n := range names {
		if n == "evil.log" || n == "inside.log" || strings.HasPrefix(n.(string), "sub") {
			t.Errorf("listTaskOutput lists the symlink %v", n)
		}
	}
	reader := th.anon()
	for _, name := range []string{"evil.log", "inside.log", "sub/secret", "../" + strconv.FormatInt(id, 10) + "/ok.log",
		"../../../../../etc/passwd", "/etc/passwd", "", "a\x00b", "./ok.log", "ok.log/"} {
		f := reader.fault(kojixml.GenericError, "downloadTaskOutput", id, name)
		if strings.Contains(f.String, "secret") && !strings.Contains(f.String, "sub/secret") {
			t.Errorf("download %q leaked: %q", name, f.String)
		}
	}
	reader.fault(kojixml.ParameterError, "downloadTaskOutput", id)
	reader.fault(kojixml.ParameterError, "downloadTaskOutput", "x", "ok.log")
	reader.fault(kojixml.GenericError, "downloadTaskOutput", id, "ok.log", kw{"volume": "other"})
	reader.fault(kojixml.GenericError, "checkUpload", "../x", "a")
	reader.fault(kojixml.GenericError, "checkUpload", dir, "evil.log")
	reader.fault(kojixml.GenericError, "checkUpload", dir+"/sub", "secret")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// rawQuery sends a raw upload with a query string as given.
func (c *client) rawQuery(rawQuery string, body []byte) (any, error) {
	req, _ := http.NewRequest("POST", c.th.url+"?"+rawQuery, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/octet-stream")
	c.sessionHeaders(req.Header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return kojixml.DecodeResponse(resp.Body)
}

// rawHTTP writes a request by hand (for lengths a Go client will not send)
// and returns the decoded answer.
func (th *testHub) rawHTTP(t *testing.T, c *client, q url.Values, header string, body []byte, closeWrite bool) (any, error) {
	t.Helper()
	conn, err := net.Dial("tcp", th.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	h := http.Header{}
	c.sessionHeaders(h)
	var b strings.Builder
	fmt.Fprintf(&b, "POST /kojihub?%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n%s", q.Encode(), header)
	for k, v := range h {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v[0])
	}
	b.WriteString("\r\n")
	conn.Write([]byte(b.String()))
	conn.Write(body)
	if closeWrite {
		conn.(*net.TCPConn).CloseWrite()
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return kojixml.DecodeResponse(resp.Body)
}

func TestRawUploadLengths(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		hc, hostID := th.addHost("builder1")
		_, dir := th.openTask(hostID)
		file := filepath.Join(th.hub.cfg.TopDir, "work", dir, "x.log")
		hc.mustRaw(t, upq(dir, "x.log", 0, "", true), []byte("12345"))

		// the body ends before its Content-Length: a fault, and the file is
		// as it was
		v, err := th.rawHTTP(t, hc, upq(dir, "x.log", 5, "adler32", false), "Content-Length: 100\r\n", []byte("only ten b"), true)
		if f := rawFault(t, kojixml.GenericError, v, err); !strings.Contains(f.String, "body ended after 10 of 100 bytes") {
			t.Errorf("short body = %q", f.String)
		}
		if b, _ := os.ReadFile(file); string(b) != "12345" {
			t.Errorf("after short body: %q", b)
		}
		// with overwrite the file is cut back to the offset
		v, err = th.rawHTTP(t, hc, upq(dir, "x.log", 2, "", true), "Content-Length: 100\r\n", []byte("abc"), true)
		rawFault(t, kojixml.GenericError, v, err)
		if b, _ := os.ReadFile(file); string(b) != "12" {
			t.Errorf("after short overwrite body: %q", b)
		}
		// too large a chunk is refused before it is read
		v, err = th.rawHTTP(t, hc, upq(dir, "x.log", 2, "", true), fmt.Sprintf("Content-Length: %d\r\n", maxUploadChunk+1), nil, false)
		if f := rawFault(t, kojixml.ParameterError, v, err); !strings.Contains(f.String, "exceeds the limit") {
			t.Errorf("oversized = %q", f.String)
		}
		// no Content-Length (chunked)
		v, err = th.rawHTTP(t, hc, upq(dir, "x.log", 2, "", true), "Transfer-Encoding: chunked\r\n", []byte("3\r\nabc\r\n0\r\n\r\n"), false)
		if f := rawFault(t, kojixml.ParameterError, v, err); !strings.Contains(f.String, "Content-Length") {
			t.Errorf("chunked = %q", f.String)
		}
		if b, _ := os.ReadFile(file); string(b) != "12" {
			t.Errorf("after refused uploads: %q", b)
		}
	})
}

func TestConcurrentUploadLock(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		hc, hostID := th.addHost("builder1")
		_, dir := th.openTask(hostID)
		file := filepath.Join(th.hub.cfg.TopDir, "work", dir, "big.log")
		pr, pw := io.Pipe()
		first := *hc
		hc.callnum += 10 // the second request's callnum is above the first's
		done := make(chan error, 1)
		go func() {
			_, err := first.rawReader(upq(dir, "big.log", 0, "", true), pr, 8)
			done <- err
		}()
		pw.Write([]byte("1234"))
		// wait until the hub has written the first half, so it holds the lock
		deadline := time.Now().Add(5 * time.Second)
		for {
			if st, err := os.Stat(file); err == nil && st.Size() == 4 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("first upload did not start")
			}
			time.Sleep(5 * time.Millisecond)
		}
		v, err := hc.raw(upq(dir, "big.log", 4, "", true), []byte("zz"))
		rawFault(t, kojixml.LockError, v, err)
		// checkUpload needs a shared lock, so it is refused too
		th.anon().fault(kojixml.LockError, "checkUpload", dir, "big.log")
		pw.Write([]byte("5678"))
		pw.Close()
		if err := <-done; err != nil {
			t.Fatalf("first upload: %v", err)
		}
		if b, _ := os.ReadFile(file); string(b) != "12345678" {
			t.Errorf("file = %q", b)
		}
		hc.mustRaw(t, upq(dir, "big.log", -1, "", false), []byte("9"))
	})
}

func TestListAndDownloadTaskOutput(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		hc, hostID := th.addHost("builder1")
		id, dir := th.openTask(hostID)
		hc.mustRaw(t, upq(dir, "build.log", 0, "", true), []byte("0123456789"))
		hc.mustRaw(t, upq(dir+"/results", "pkg-1.0-1.x86_64.rpm", 0, "", false), []byte("rpm"))
		c := th.anon()

		got := c.must("listTaskOutput", id).([]any)
		if len(got) != 2 || got[0] != "build.log" || got[1] != "results/pkg-1.0-1.x86_64.rpm" {
			t.Errorf("listTaskOutput = %v", got)
		}
		av := c.must("listTaskOutput", id, kw{"all_volumes": true}).(map[string]any)
		if len(av) != 2 || fmt.Sprint(av["build.log"]) != "[DEFAULT]" {
			t.Errorf("all_volumes = %v", av)
		}
		st := c.must("listTaskOutput", id, true).(map[string]any)
		bl, _ := st["build.log"].(map[string]any)
		if bl["st_size"] != "10" {
			t.Errorf("stat st_size = %#v, want the string \"10\"", bl["st_size"])
		}
		for _, k := range []string{"st_mtime", "st_atime", "st_ctime"} {
			if ts, ok := bl[k].(float64); !ok || ts < 1e9 {
				t.Errorf("stat %s = %#v", k, bl[k])
			}
		}
		both := c.must("listTaskOutput", id, true, true).(map[string]any)
		rpm, _ := both["results/pkg-1.0-1.x86_64.rpm"].(map[string]any)
		if d, _ := rpm["DEFAULT"].(map[string]any); d["st_size"] != "3" {
			t.Errorf("stat+all_volumes = %v", both)
		}
		// no output: an empty list (or struct); strict tells a missing task apart
		other, _ := th.openTask(hostID)
		if v := c.must("listTaskOutput", other).([]any); len(v) != 0 {
			t.Errorf("task without output = %v", v)
		}
		if v := c.must("listTaskOutput", other, kw{"all_volumes": true}).(map[string]any); len(v) != 0 {
			t.Errorf("task without output, all_volumes = %v", v)
		}
		if v := c.must("listTaskOutput", int64(987654)).([]any); len(v) != 0 {
			t.Errorf("missing task = %v", v)
		}
		c.must("listTaskOutput", other, kw{"strict": true})
		if f := c.fault(kojixml.GenericError, "listTaskOutput", int64(987654), kw{"strict": true}); f.String != "Task doesn't exist" {
			t.Errorf("strict missing task = %q", f.String)
		}
		c.fault(kojixml.ParameterError, "listTaskOutput")
		c.fault(kojixml.ParameterError, "listTaskOutput", "abc")
		c.must("listTaskOutput", int64(-5))

		tests := []struct {
			args []any
			want string
		}{
			{nil, "0123456789"},
			{[]any{int64(3)}, "3456789"},
			{[]any{int64(3), int64(4)}, "3456"},
			{[]any{int64(-4)}, "6789"},
			{[]any{int64(-4), int64(2)}, "67"},
			{[]any{int64(-100)}, "0123456789"},
			{[]any{int64(10)}, ""},
			{[]any{int64(50), int64(5)}, ""},
			{[]any{int64(0), int64(0)}, ""},
			{[]any{"2", "3"}, "234"}, // Koji accepts offset and size as strings
			{[]any{kw{"size": int64(2)}}, "01"},
			{[]any{kw{"offset": int64(8), "volume": "DEFAULT"}}, "89"},
		}
		for _, tc := range tests {
			if got := download(t, c, id, "build.log", tc.args...); got != tc.want {
				t.Errorf("downloadTaskOutput(%v) = %q, want %q", tc.args, got, tc.want)
			}
		}
		if got := download(t, c, id, "results/pkg-1.0-1.x86_64.rpm"); got != "rpm" {
			t.Errorf("file in a subdirectory = %q", got)
		}
		if f := c.fault(kojixml.GenericError, "downloadTaskOutput", id, "nope.log"); f.String != fmt.Sprintf(`no file "nope.log" output by task %d`, id) {
			t.Errorf("missing file = %q", f.String)
		}
		c.fault(kojixml.GenericError, "downloadTaskOutput", int64(987654), "build.log")
		c.fault(kojixml.GenericError, "downloadTaskOutput", id, "results")
		c.fault(kojixml.ParameterError, "downloadTaskOutput", id, "build.log", "x")
	})
}

func TestDownloadSizeCap(t *testing.T) {
	th := newTestHub(t, "sqlite", nil)
	hc, hostID := th.addHost("builder1")
	id, dir := th.openTask(hostID)
	big := bytes.Repeat([]byte("0123456789abcdef"), (maxDownloadChunk+1000)/16)
	for off := 0; off < len(big); off += 8 << 20 {
		end := min(off+8<<20, len(big))
		hc.mustRaw(t, upq(dir, "huge.log", int64(off), "", true), big[off:end])
	}
	c := th.anon()
	first := download(t, c, id, "huge.log")
	if len(first) != maxDownloadChunk {
		t.Fatalf("size -1 returned %d bytes, want the cap %d", len(first), maxDownloadChunk)
	}
	rest := download(t, c, id, "huge.log", int64(len(first)), int64(1<<40))
	if first+rest != string(big) {
		t.Errorf("two reads give %d bytes, want %d", len(first)+len(rest), len(big))
	}
}

func TestLegacyUploadFile(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		hc, hostID := th.addHost("builder1")
		id, dir := th.openTask(hostID)
		b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
		md5hex := func(s string) string { return fmt.Sprintf("%x", md5.Sum([]byte(s))) }
		shahex := func(s string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(s))) }
		chunk1, chunk2 := "first part|", "second part"
		whole := chunk1 + chunk2

		// wrong size or digest: False, nothing written
		if v := hc.must("uploadFile", dir, "a.rpm", int64(99), md5hex(chunk1), int64(0), b64(chunk1)); v != false {
			t.Errorf("wrong size = %v", v)
		}
		if v := hc.must("uploadFile", dir, "a.rpm", int64(len(chunk1)), md5hex("other"), int64(0), b64(chunk1)); v != false {
			t.Errorf("wrong md5 = %v", v)
		}
		if v := hc.must("uploadFile", dir, "a.rpm", int64(len(chunk1)), []any{"sha256", shahex("x")}, int64(0), b64(chunk1)); v != false {
			t.Errorf("wrong sha256 = %v", v)
		}
		if v := hc.must("listTaskOutput", id).([]any); len(v) != 0 {
			t.Errorf("failed chunks wrote %v", v)
		}
		// chunks, then the final call with the whole size and digest
		if v := hc.must("uploadFile", dir, "a.rpm", int64(len(chunk1)), md5hex(chunk1), int64(0), b64(chunk1)); v != true {
			t.Errorf("chunk 1 = %v", v)
		}
		if v := hc.must("uploadFile", dir, "a.rpm", strconv.Itoa(len(chunk2)), nil, strconv.Itoa(len(chunk1)), b64(chunk2), kw{"checksum": []any{"sha256", shahex(chunk2)}}); v != true {
			t.Errorf("chunk 2 (sizes as strings) = %v", v)
		}
		if v := hc.must("uploadFile", dir, "a.rpm", int64(len(whole)), []any{"adler32", fmt.Sprintf("%08x", adler32.Checksum([]byte(whole)))}, int64(-1), ""); v != true {
			t.Errorf("final = %v", v)
		}
		if got := download(t, hc, id, "a.rpm"); got != whole {
			t.Errorf("uploaded = %q", got)
		}
		if v := hc.must("uploadFile", dir, "a.rpm", int64(len(whole)), md5hex("nope"), int64(-1), ""); v != false {
			t.Errorf("final with a wrong digest = %v", v)
		}
		// only logs may start again at offset 0
		f := hc.fault(kojixml.GenericError, "uploadFile", dir, "a.rpm", int64(1), nil, int64(0), b64("x"))
		if !strings.Contains(f.String, "file already exists") {
			t.Errorf("re-upload = %q", f.String)
		}
		hc.must("uploadFile", dir, "x.log", int64(6), nil, int64(0), b64("line1\n"))
		hc.must("uploadFile", dir, "x.log", int64(3), nil, int64(0), b64("new"))
		if got := download(t, hc, id, "x.log"); got != "new" {
			t.Errorf("log after restart = %q", got)
		}
		// whole file in one final call
		hc.must("uploadFile", dir, "one.txt", int64(3), md5hex("abc"), int64(-1), b64("abc"))
		if got := download(t, hc, id, "one.txt"); got != "abc" {
			t.Errorf("one-shot = %q", got)
		}
		// hostile arguments
		hc.fault(kojixml.ParameterError, "uploadFile", dir, "b.txt", int64(3), nil, int64(0), "!!!not base64")
		hc.fault(kojixml.ParameterError, "uploadFile", dir, "b.txt", int64(3), []any{"md5"}, int64(0), b64("abc"))
		hc.fault(kojixml.ParameterError, "uploadFile", dir, "b.txt", int64(3), int64(5), int64(0), b64("abc"))
		hc.fault(kojixml.GenericError, "uploadFile", dir, "b.txt", int64(3), []any{"crc", "00"}, int64(0), b64("abc"))
		hc.fault(kojixml.ParameterError, "uploadFile", dir, "b.txt", int64(3), nil, int64(-7), b64("abc"))
		hc.fault(kojixml.ParameterError, "uploadFile", dir, "b.txt", int64(-3), nil, int64(0), b64("abc"))
		hc.fault(kojixml.ParameterError, "uploadFile", dir, "b.txt", int64(3), nil, int64(0))
		hc.fault(kojixml.GenericError, "uploadFile", dir, "b.txt", int64(3), nil, int64(10), b64("abc"))
		hc.fault(kojixml.GenericError, "uploadFile", dir, "c.txt", int64(100), nil, int64(-1), b64("abc"))
		for _, n := range hc.must("listTaskOutput", id).([]any) {
			if n == "b.txt" {
				t.Error("a refused upload at an offset past the end created b.txt")
			}
		}
	})
}

func TestKojiFilesServesUploads(t *testing.T) {
	th := newTestHub(t, "sqlite", nil)
	hc, hostID := th.addHost("builder1")
	id, dir := th.openTask(hostID)
	hc.mustRaw(t, upq(dir, "build.log", 0, "", true), []byte("hello from the builder\n"))
	get := func(p string) (int, string) {
		resp, err := http.Get(th.srv.URL + "/kojifiles/" + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("work/" + dir + "/build.log"); code != 200 || body != "hello from the builder\n" {
		t.Errorf("GET build.log = %d %q", code, body)
	}
	// (GET /kojifiles/ itself still lists topdir: hub.go's noDirListing
	// exempts the empty path.)
	for _, p := range []string{"work/" + dir + "/", "work/", "work/tasks/"} {
		if code, body := get(p); code != 403 || strings.Contains(body, "build.log") {
			t.Errorf("GET /kojifiles/%s = %d %q, want 403", p, code, body)
		}
	}
	if code, _ := get(fmt.Sprintf("work/tasks/%d/%d/missing.log", id%10000, id)); code != 404 {
		t.Errorf("GET missing = %d", code)
	}
}

// TestKojiClientUploads drives the uploads with kojigo's own client, as
// kojid and kojictl use them: whole files in 1 MiB blocks checked with
// checkUpload, and log chunks read back as they grow.
func TestKojiClientUploads(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		_, hostID := th.addHost("builder1")
		id, dir := th.openTask(hostID)
		ctx := context.Background()
		kc, err := kojiclient.New(kojiclient.Options{Server: th.url, MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		if err := kc.Login(ctx, "builder1", "hostpw"); err != nil {
			t.Fatal(err)
		}
		if err := kc.ExclusiveSession(ctx, true); err != nil {
			t.Fatal(err)
		}
		local := filepath.Join(t.TempDir(), "pkg-1.0-1.x86_64.rpm")
		data := bytes.Repeat([]byte("rpm payload "), 220000) // 2.6 MB: three blocks
		must(t, os.WriteFile(local, data, 0o644))
		var calls int
		if err := kc.UploadFile(ctx, local, dir, "", func(done, total int64) { calls++ }); err != nil {
			t.Fatalf("UploadFile: %v", err)
		}
		if calls < 3 {
			t.Errorf("progress called %d times", calls)
		}
		// again: an existing file is replaced
		if err := kc.UploadFile(ctx, local, dir, "", nil); err != nil {
			t.Fatalf("UploadFile again: %v", err)
		}
		got, err := kc.DownloadTaskOutput(ctx, id, "pkg-1.0-1.x86_64.rpm", 0, -1)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("DownloadTaskOutput: %d bytes, %v", len(got), err)
		}
		var log []byte
		for i, chunk := range []string{"one\n", "two\n", "three\n"} {
			if err := kc.UploadChunk(ctx, dir, "build.log", int64(len(log)), []byte(chunk), true); err != nil {
				t.Fatalf("chunk %d: %v", i, err)
			}
			got, err := kc.DownloadTaskOutput(ctx, id, "build.log", int64(len(log)), 1000)
			if err != nil || string(got) != chunk {
				t.Fatalf("read chunk %d = %q, %v", i, got, err)
			}
			log = append(log, chunk...)
		}
		if got, _ := kc.DownloadTaskOutput(ctx, id, "build.log", -6, -1); string(got) != "three\n" {
			t.Errorf("tail = %q", got)
		}
		if err := kc.UploadChunk(ctx, "tasks/9999/999999", "x.log", 0, []byte("x"), true); err == nil {
			t.Error("upload to a task the host does not have succeeded")
		}
	})
}

// pyKojiUploads does with Python's standard library what the koji CLI and
// kojid do: a fast upload checked with '%08x' adler32, a legacy uploadFile,
// downloadTaskOutput decoded with base64.b64decode (ClientSession does
// exactly that), and int(st_size) from listTaskOutput(stat, all_volumes).
const pyKojiUploads = `
import base64, hashlib, os, urllib.parse, urllib.request, xmlrpc.client, zlib
url, sid, key, d = os.environ['HUB'], os.environ['SID'], os.environ['KEY'], os.environ['DIR']
task, callnum = int(os.environ['TASK']), int(os.environ['CALLNUM'])
def post(body, ctype, query=''):
    global callnum
    callnum += 1
    req = urllib.request.Request(url + query, data=body, headers={'Content-Type': ctype,
        'Koji-Session-Id': sid, 'Koji-Session-Key': key, 'Koji-Session-Callnum': str(callnum)})
    with urllib.request.urlopen(req) as r:
        return xmlrpc.client.loads(r.read())[0][0]
def call(m, *a):
    return post(xmlrpc.client.dumps(a, m, allow_none=True).encode(), 'text/xml')
chunk = b'hello from python\n'
q = '?' + urllib.parse.urlencode({'filename': 'py.log', 'filepath': d, 'fileverify': 'adler32', 'offset': '0', 'overwrite': '1'})
res = post(chunk, 'application/octet-stream', q)
assert res['size'] == len(chunk) and res['offset'] == 0, res
assert res['hexdigest'] == '%08x' % (zlib.adler32(chunk) & 0xffffffff), res
data = b'legacy data'
assert call('uploadFile', d, 'legacy.txt', len(data), ('sha256', hashlib.sha256(data).hexdigest()), 0,
            base64.b64encode(data).decode()) is True
assert base64.b64decode(call('downloadTaskOutput', task, 'py.log')) == chunk
assert base64.b64decode(call('downloadTaskOutput', task, 'legacy.txt', -4, 2)) == b'da'
st = call('listTaskOutput', task, True, True)
assert int(st['py.log']['DEFAULT']['st_size']) == len(chunk), st
assert call('listTaskOutput', task) == ['legacy.txt', 'py.log']
try:
    call('downloadTaskOutput', task, '../../etc/passwd')
    raise SystemExit('traversal was not refused')
except xmlrpc.client.Fault as f:
    assert f.faultCode == 1000, f
print('ok')
`

func TestPythonKojiUploads(t *testing.T) {
	py := testenv.NeedTool(t, "python3")
	th := newTestHub(t, "sqlite", nil)
	hc, hostID := th.addHost("builder1")
	id, dir := th.openTask(hostID)
	cmd := exec.Command(py, "-c", pyKojiUploads)
	cmd.Env = append(os.Environ(), "HUB="+th.url, "SID="+strconv.FormatInt(hc.sid, 10), "KEY="+hc.key,
		"CALLNUM="+strconv.FormatInt(hc.callnum, 10), "DIR="+dir, "TASK="+strconv.FormatInt(id, 10))
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("python: %v\n%s", err, out)
	}
}

func TestUploadNameChecks(t *testing.T) {
	tests := []struct {
		dir, name string
		ok        bool
	}{
		{"tasks/1/1", "build.log", true},
		{"tasks/1/1/", "build.log", true},
		{"cli-build/1700000000.123.AbC", "pkg-1.0-1.src.rpm", true},
		{"tasks/1/1", "%2e%2e", true},
		{"tasks/1/1", "ünïcode.log", true},
		{"tasks/1/1//", "a", false},
		{"/tasks/1/1", "a", false},
		{"tasks/../1", "a", false},
		{"tasks/./1", "a", false},
		{"tasks\\1", "a", false},
		{"tasks/1/1", "a\\b", false},
		{"tasks/1/1", ".user", false},
		{"tasks/1/1", "a\tb", false},
		{"tasks/1/1", "a\x7fb", false},
		{"tasks/1/1", "\ufffd", false},
		{"tasks/1/1", strings.Repeat("n", 255), true},
		{"tasks/1/1", strings.Repeat("n", 256), false},
		{strings.Repeat("d/", 512), "a", true},
		{strings.Repeat("d/", 513), "a", false},
	}
	for _, tc := range tests {
		_, why := splitRelPath(tc.dir)
		err := checkUploadName(tc.name)
		if ok := why == "" && err == nil; ok != tc.ok {
			t.Errorf("upload target (%q, %q) accepted = %v (%q, %v), want %v", tc.dir, tc.name, ok, why, err, tc.ok)
		}
	}
}

// FuzzUploadNames checks that whatever directory and name pass the checks,
// the joined path is already clean and stays under the work directory.
func FuzzUploadNames(f *testing.F) {
	for _, s := range [][2]string{{"tasks/1/1", "build.log"}, {"../x", "a"}, {"a/./b", ".."}, {"a//b", "c/d"}, {"/", "x"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, dir, name string) {
		parts, why := splitRelPath(dir)
		if why != "" || checkUploadName(name) != nil {
			return
		}
		joined := "/work/" + strings.Join(parts, "/") + "/" + name
		if filepath.Clean(joined) != joined || !strings.HasPrefix(filepath.Clean(joined), "/work/") {
			t.Fatalf("(%q, %q) accepted but joins to %q (clean %q)", dir, name, joined, filepath.Clean(joined))
		}
		if strings.ContainsRune(joined, 0) {
			t.Fatalf("(%q, %q) accepted with a NUL", dir, name)
		}
	})
}
