package repogen

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRepomdTimestamp(t *testing.T) {
	ctx := context.Background()
	md := func(ts ...string) string {
		var b strings.Builder
		b.WriteString(`<?xml version="1.0"?><repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm"><revision>99999999999</revision>`)
		for _, s := range ts {
			b.WriteString(`<data type="primary"><timestamp>` + s + `</timestamp></data>`)
		}
		b.WriteString(`<rpm:timestamp>99999999999</rpm:timestamp></repomd>`)
		return b.String()
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "repodata"), 0o755)
	os.WriteFile(filepath.Join(dir, "repodata", "repomd.xml"), []byte(md("1700000000", "1700000100.5", "1699999999")), 0o644)
	if ts, err := RepomdTimestamp(ctx, nil, "file://"+dir, time.Second); err != nil || ts != 1700000100 {
		t.Errorf("file repo: %d, %v; want 1700000100 (the newest, rounded half to even; other namespaces ignored)", ts, err)
	}
	if _, err := RepomdTimestamp(ctx, nil, "file://"+t.TempDir(), time.Second); !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, ErrExternalRepo) {
		t.Errorf("missing repomd.xml: %v, want fs.ErrNotExist", err)
	}

	body := map[string]string{"/ok/repodata/repomd.xml": md("1700000200"), "/none/repodata/repomd.xml": md(), "/junk/repodata/repomd.xml": "<repomd"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/big/repodata/repomd.xml":
			w.Header().Set("Content-Length", "999999999")
			w.Write([]byte("x"))
		case r.URL.Path == "/slow/repodata/repomd.xml":
			time.Sleep(300 * time.Millisecond)
		case r.URL.Path == "/toFile/repodata/repomd.xml":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case body[r.URL.Path] != "":
			w.Write([]byte(body[r.URL.Path]))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	if ts, err := RepomdTimestamp(ctx, nil, srv.URL+"/ok", time.Second); err != nil || ts != 1700000200 {
		t.Errorf("http repo: %d, %v", ts, err)
	}
	if _, err := RepomdTimestamp(ctx, nil, srv.URL+"/gone/", time.Second); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("404: %v, want fs.ErrNotExist", err)
	}
	for _, c := range []struct{ path, want string }{
		{"/none", "no <timestamp>"}, {"/junk", "not valid XML"}, {"/big", "more than the limit"},
		{"/slow", "within"}, {"/toFile", "only http and https"},
	} {
		_, err := RepomdTimestamp(ctx, nil, srv.URL+c.path, 100*time.Millisecond)
		if err == nil || !strings.Contains(err.Error(), c.want) || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %v, want %q", c.path, err, c.want)
		}
	}
	if _, err := RepomdTimestamp(ctx, nil, "ftp://example.org/x/", time.Second); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("ftp: %v", err)
	}
}
