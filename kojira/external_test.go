package kojira

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kojigo/internal/kojixml"
)

// extWorld is a fake hub with external repos and an HTTP server of
// repomd.xml files whose timestamps the test changes.
type extWorld struct {
	fh      *fakeHub
	srv     *httptest.Server
	mu      sync.Mutex
	ts      map[string]int64 // path -> timestamp; absent: 404
	data    map[int64]any    // repo id -> data set
	sets    []string         // "id:max_ts" of each setExternalRepoData
	getFail map[int64]bool
}

func newExtWorld(t *testing.T) *extWorld {
	w := &extWorld{fh: newFakeHub(), ts: map[string]int64{}, data: map[int64]any{}, getFail: map[int64]bool{}}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken/repodata/repomd.xml" {
			http.Error(rw, "boom", http.StatusInternalServerError)
			return
		}
		w.mu.Lock()
		ts, ok := w.ts[r.URL.Path]
		w.mu.Unlock()
		if !ok {
			http.NotFound(rw, r)
			return
		}
		fmt.Fprintf(rw, `<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>%d</revision>
  <data type="primary"><timestamp>%d</timestamp></data>
  <data type="filelists"><timestamp>%d</timestamp></data>
</repomd>`, ts+999, ts-5, ts)
	}))
	t.Cleanup(w.srv.Close)
	w.fh.answer("getAllArches", []any{"x86_64", "aarch64"})
	w.fh.on("repo.getExternalRepoData", func(args []any) (any, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		id, _ := asInt(args[0])
		if w.getFail[id] {
			return nil, kojixml.Errorf(kojixml.GenericError, "No such entry in table external_repo: %d", id)
		}
		return w.data[id], nil
	})
	w.fh.on("repo.setExternalRepoData", func(args []any) (any, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		id, _ := asInt(args[0])
		w.data[id] = args[1]
		w.sets = append(w.sets, fmt.Sprintf("%d:%v", id, asMap(args[1])["max_ts"]))
		return nil, nil
	})
	return w
}

func (w *extWorld) setTS(path string, ts int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ts[path] = ts
}

func (w *extWorld) takeSets() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.sets
	w.sets = nil
	return s
}

func use(tag string, id int64, name, url string) map[string]any {
	return map[string]any{"tag_name": tag, "external_repo_id": id, "external_repo_name": name, "url": url, "priority": int64(10), "merge_mode": "koji", "arches": nil}
}

func TestCheckExternalRepos(t *testing.T) {
	w := newExtWorld(t)
	dir := t.TempDir() // a file:// repo without repodata: not found
	w.fh.answer("getTagExternalRepos", []any{
		use("f40", 1, "broken", w.srv.URL+"/broken/"),
		use("f40", 2, "fedora", w.srv.URL+"/fedora/$arch/"),
		use("f40-build", 2, "fedora", w.srv.URL+"/fedora/$arch/"), // a second use: checked once
		use("el9", 3, "local", "file://"+filepath.ToSlash(dir)+"/"),
		use("el9", 4, "gone", w.srv.URL+"/gone/"),
		use("el9", 5, "updates", w.srv.URL+"/updates/"),
	})
	w.getFail[4] = true
	w.setTS("/fedora/x86_64/repodata/repomd.xml", 1700000000)
	// no aarch64 tree: a 404 for one arch is normal
	w.setTS("/updates/repodata/repomd.xml", 1600000000)

	cfg := testConfig(t)
	d := &daemon{cfg: cfg, hub: w.fh, log: testLogger(t)}
	x := newExternalChecker(d)
	x.timeout = 2 * time.Second
	ctx := context.Background()

	if err := x.check(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := w.takeSets(), []string{"2:1700000000", "5:1600000000"}; !slices.Equal(got, want) {
		t.Errorf("first check: setExternalRepoData %v, want %v (errors for repos 1, 3, 4 do not stop the others)", got, want)
	}
	if got := w.fh.called("repo.getExternalRepoData"); len(got) != 5 {
		t.Errorf("getExternalRepoData calls %v, want one per repo", got)
	}
	// unchanged: nothing set
	if err := x.check(ctx); err != nil {
		t.Fatal(err)
	}
	if got := w.takeSets(); len(got) != 0 {
		t.Errorf("unchanged repos: setExternalRepoData %v", got)
	}
	// content changes: the newest timestamp of any arch is recorded
	w.setTS("/fedora/aarch64/repodata/repomd.xml", 1700000500)
	w.setTS("/updates/repodata/repomd.xml", 1500000000) // older: ignored, as Koji
	if err := x.check(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := w.takeSets(), []string{"2:1700000500"}; !slices.Equal(got, want) {
		t.Errorf("after a change: setExternalRepoData %v, want %v", got, want)
	}
	// without host arches, $arch repos cannot be checked; the others are
	w.fh.answer("getAllArches", []any{})
	w.setTS("/updates/repodata/repomd.xml", 1600000001)
	w.setTS("/fedora/x86_64/repodata/repomd.xml", 1800000000)
	if err := x.check(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := w.takeSets(), []string{"5:1600000001"}; !slices.Equal(got, want) {
		t.Errorf("without arches: setExternalRepoData %v, want %v", got, want)
	}
	// a hub failure of the shared call is the check's error
	w.fh.on("getTagExternalRepos", func([]any) (any, error) { return nil, fmt.Errorf("connection refused") })
	if err := x.check(ctx); err == nil {
		t.Error("check with the hub down succeeded")
	}
}

// Run starts the check beside the passes when check_external_repos is on,
// and not when it is off.
func TestRunChecksExternalRepos(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint(on), func(t *testing.T) {
			w := newExtWorld(t)
			w.fh.answer("getTagExternalRepos", []any{use("f40", 7, "fedora", w.srv.URL+"/fedora/")})
			w.setTS("/fedora/repodata/repomd.xml", 1700000000)
			cfg := testConfig(t)
			cfg.CheckExternalRepos = on
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var passes atomic.Int32
			sleep := func(ctx context.Context, d time.Duration) bool {
				if passes.Add(1) >= 3 {
					// give the checker time to run, then stop
					deadline := time.Now().Add(5 * time.Second)
					for on && time.Now().Before(deadline) && len(w.fh.called("repo.setExternalRepoData")) == 0 {
						time.Sleep(10 * time.Millisecond)
					}
					cancel()
					return false
				}
				return true
			}
			if err := Run(ctx, cfg, w.fh, Options{Sleep: sleep, Logger: testLogger(t)}); err != nil {
				t.Fatal(err)
			}
			got := w.takeSets()
			if on && !slices.Equal(got, []string{"7:1700000000"}) {
				t.Errorf("setExternalRepoData %v, want 7:1700000000", got)
			}
			if !on && (len(got) != 0 || slices.Contains(w.fh.methods(), "getTagExternalRepos")) {
				t.Errorf("check_external_repos=false: external repos were checked (%v)", got)
			}
		})
	}
}
