package demo

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kojigo/internal/kojiclient"
)

// TestSetupFarmSubscribesBuildersToCreaterepo: each builder joins the
// createrepo channel once; one already in it (an earlier run) is left.
func TestSetupFarmSubscribesBuildersToCreaterepo(t *testing.T) {
	f := newFake()
	f.channels = map[string][]any{
		"builder1": {map[string]any{"name": "default"}},
		"builder2": {map[string]any{"name": "default"}, map[string]any{"name": "createrepo"}},
	}
	if err := setupFarm(context.Background(), f, 2, "x86_64"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.added, " "); got != "builder1/createrepo" {
		t.Errorf("addHostToChannel calls = %q, want builder1/createrepo only", got)
	}
}

// repoWatcher is a watcher whose builds are done, on a state directory
// holding repo 7 of the build tag with latest pointing at it.
func repoWatcher(t *testing.T, f *fakeHub) (*watcher, *bytes.Buffer) {
	t.Helper()
	l := layout{dir: t.TempDir()}
	archDir := filepath.Join(l.repos(), BuildTag, "7", "x86_64")
	if err := os.MkdirAll(archDir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(archDir, "pkglist"), []byte("toplink/packages/hello/1.0/1/x86_64/hello-1.0-1.x86_64.rpm\n"+
		"toplink/packages/greeting/2.1/3/noarch/greeting-2.1-3.noarch.rpm\n"), 0o644)
	if err := os.Symlink("7", filepath.Join(l.repos(), BuildTag, "latest")); err != nil {
		t.Fatal(err)
	}
	f.tagged["hello"] = []any{map[string]any{"nvr": "hello-1.0-1"}}
	f.hosts = []any{map[string]any{"host_id": int64(1), "name": "builder1", "ready": true, "enabled": true, "data": map[string]any{}}}
	var out bytes.Buffer
	w := &watcher{out: &out, admin: f, l: l, arch: "x86_64", dnf: "/usr/bin/dnf", finished: true,
		hosts: map[string]string{}, hostNames: map[int64]string{}, exited: map[string]bool{}}
	return w, &out
}

func pollN(t *testing.T, w *watcher, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := w.poll(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func wantLines(t *testing.T, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if strings.Count(got, w) != 1 {
			t.Errorf("output has %q %d times, want once:\n%s", w, strings.Count(got, w), got)
		}
	}
}

// TestRepoRequestedAndFollowed: once the builds are done the build tag's
// repo is requested; the request's newRepo task tree is printed as it
// changes; the READY repo is reported once with latest, its packages and
// the commands to read it, and then nothing more is asked.
func TestRepoRequestedAndFollowed(t *testing.T) {
	f := newFake()
	w, out := repoWatcher(t, f)
	f.repoRequest = map[string]any{"repo": nil, "duplicate": false, "request": map[string]any{"id": int64(3), "active": true}}
	f.tasks[20] = map[string]any{"id": int64(20), "state": int64(taskOpen), "method": "newRepo", "arch": "noarch", "host_id": int64(1)}
	f.children[20] = []any{map[string]any{"id": int64(21), "state": int64(taskOpen), "method": "createrepo", "arch": "noarch", "label": "x86_64", "host_id": int64(1)}}
	f.checkRequest = []map[string]any{
		{"request": map[string]any{"id": int64(3), "active": true, "task_id": nil}},
		{"request": map[string]any{"id": int64(3), "active": true, "task_id": int64(20)}, "task": f.tasks[20]},
	}
	pollN(t, w, 4)
	f.tasks[20]["state"] = int64(taskClosed)
	f.children[20][0].(map[string]any)["state"] = int64(taskClosed)
	f.checkRequest = []map[string]any{{"request": map[string]any{"id": int64(3), "active": false, "task_id": int64(20), "repo_id": int64(7)},
		"repo": map[string]any{"id": int64(7), "state": int64(repoReady)}}}
	pollN(t, w, 3)
	got := out.String()
	wantLines(t, got,
		"repo demo-build: requested as koji regen-repo does (repo.request 3); kojira makes it a newRepo task within 2 s\n",
		"task 20 newRepo demo-build: OPEN on builder1\n",
		"  task 21 createrepo demo-build x86_64: OPEN on builder1\n",
		"  task 21 createrepo demo-build x86_64: CLOSED on builder1\n",
		"task 20 newRepo demo-build: CLOSED on builder1\n",
		"repo demo-build: repo 7 READY: "+filepath.Join(w.l.repos(), "demo-build", "latest")+" -> 7\n",
		"kojigo demo: repo 7 of demo-build READY with 2 packages (greeting-2.1-3.noarch, hello-1.0-1.x86_64), ",
		"kojigo demo:   dnf --repofrompath=kojigo-demo,file://"+filepath.Join(w.l.repos(), "demo-build", "latest", "x86_64")+" --repo=kojigo-demo list --available\n",
		"kojigo demo:   kojictl -p kojigo-demo --config "+w.l.clientConf()+" taskinfo -r 20\n",
	)
	if !strings.Contains(got, " s after the request\n") {
		t.Errorf("the READY line does not say how long it took:\n%s", got)
	}
	if n := strings.Count(strings.Join(f.calls, " "), "repo.request"); n != 1 {
		t.Errorf("repo.request called %d times, want once", n)
	}
	calls := len(f.calls)
	pollN(t, w, 2)
	for _, c := range f.calls[calls:] {
		if strings.HasPrefix(c, "repo.") {
			t.Errorf("%s called after the repo was READY", c)
		}
	}
}

// TestRepoAlreadyCurrent: on a resumed farm whose repo has every build,
// repo.request answers with that repo: reported at once, with the task
// that made it and no dnf line when dnf is not installed.
func TestRepoAlreadyCurrent(t *testing.T) {
	f := newFake()
	w, out := repoWatcher(t, f)
	w.dnf = ""
	f.repoRequest = map[string]any{"repo": map[string]any{"id": int64(7), "state": int64(repoReady), "task_id": int64(20)}, "request": nil, "duplicate": false}
	pollN(t, w, 2)
	got := out.String()
	wantLines(t, got,
		"repo demo-build: repo 7 is current (it has every build tagged so far)\n",
		"kojigo demo: repo 7 of demo-build READY with 2 packages (greeting-2.1-3.noarch, hello-1.0-1.x86_64)\n",
		"kojigo demo:   kojictl -p kojigo-demo --config "+w.l.clientConf()+" taskinfo -r 20\n",
	)
	for _, not := range []string{"after the request", "dnf", "requested", "newRepo"} {
		if strings.Contains(got, not) {
			t.Errorf("output has %q:\n%s", not, got)
		}
	}
}

// TestRepoNotRequestedWhenNothingIsTagged: no build succeeded, no repo.
func TestRepoNotRequestedWhenNothingIsTagged(t *testing.T) {
	f := newFake()
	w, out := repoWatcher(t, f)
	f.tagged = map[string][]any{}
	pollN(t, w, 2)
	wantLines(t, out.String(), "repo demo-build: not requested: no build is tagged into demo\n")
	if strings.Contains(strings.Join(f.calls, " "), "repo.request") {
		t.Errorf("repo.request called with nothing tagged: %v", f.calls)
	}
}

// TestRepoTaskFailsThenGivesUp: a failed newRepo task's reason is printed
// once; the hub's next task for the request is followed; a request that
// ends without a repo is reported as given up.
func TestRepoTaskFailsThenGivesUp(t *testing.T) {
	f := newFake()
	w, out := repoWatcher(t, f)
	f.requestErr = errors.New("connection refused")
	pollN(t, w, 1)
	if !strings.Contains(out.String(), "kojigo demo: hub: repo.request demo-build: connection refused") {
		t.Fatalf("a failed repo.request is not reported:\n%s", out.String())
	}
	f.requestErr = nil
	f.repoRequest = map[string]any{"repo": nil, "duplicate": true, "request": map[string]any{"id": int64(3), "active": true}}
	f.tasks[20] = map[string]any{"id": int64(20), "state": int64(taskFailed), "method": "newRepo", "arch": "noarch", "host_id": int64(1)}
	f.tasks[22] = map[string]any{"id": int64(22), "state": int64(taskFailed), "method": "newRepo", "arch": "noarch", "host_id": int64(1)}
	f.fault[20] = &kojiclient.Fault{Code: 1000, String: "No access to repos dir /x/repos"}
	f.fault[22] = &kojiclient.Fault{Code: 1000, String: "No access to repos dir /x/repos"}
	f.checkRequest = []map[string]any{
		{"request": map[string]any{"id": int64(3), "active": true, "task_id": int64(20)}},
		{"request": map[string]any{"id": int64(3), "active": true, "task_id": int64(20)}},
		{"request": map[string]any{"id": int64(3), "active": true, "task_id": int64(22)}},
		{"request": map[string]any{"id": int64(3), "active": false, "task_id": int64(22), "tries": int64(4), "repo_id": nil}},
	}
	pollN(t, w, 6)
	got := out.String()
	wantLines(t, got,
		"repo demo-build: following request 3 made earlier\n",
		"task 20 newRepo demo-build: FAILED on builder1\n",
		"repo demo-build: newRepo task 20 failed:\n    No access to repos dir /x/repos\n",
		"task 22 newRepo demo-build: FAILED on builder1\n",
		"repo demo-build: newRepo task 22 failed:\n",
		"kojigo demo: repo of demo-build not made: request 3 gave up after 4 tries; see the newRepo tasks above and the logs in "+w.l.logs()+"\n",
	)
	if strings.Contains(got, "READY") {
		t.Errorf("a repo reported READY:\n%s", got)
	}
}

func TestRepoArch(t *testing.T) {
	dir := t.TempDir()
	for _, a := range []string{"armhfp", "noarch-without-pkglist"} {
		os.MkdirAll(filepath.Join(dir, a), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "armhfp", "pkglist"), nil, 0o644)
	for _, tc := range []struct{ dir, want, got string }{
		{dir, "armhfp", "armhfp"},
		{dir, "armv7hl", "armhfp"}, // the build tag's arch, canonical in the repo
		{t.TempDir(), "x86_64", "x86_64"},
	} {
		if got := repoArch(tc.dir, tc.want); got != tc.got {
			t.Errorf("repoArch(%s, %q) = %q, want %q", tc.dir, tc.want, got, tc.got)
		}
	}
}

func TestRepoPackages(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pkglist")
	os.WriteFile(p, []byte("toplink/packages/b/1/1/x86_64/b-1-1.x86_64.rpm\n\ntoplink/packages/a/2/1/noarch/a-2-1.noarch.rpm\n"), 0o644)
	got, err := repoPackages(p)
	if err != nil || strings.Join(got, " ") != "a-2-1.noarch b-1-1.x86_64" {
		t.Errorf("repoPackages = %q, %v", got, err)
	}
	if empty := filepath.Join(t.TempDir(), "pkglist"); os.WriteFile(empty, nil, 0o644) == nil {
		if got, err := repoPackages(empty); err != nil || len(got) != 0 {
			t.Errorf("repoPackages(empty) = %q, %v", got, err)
		}
	}
	if _, err := repoPackages(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("repoPackages of a missing file: no error")
	}
}
