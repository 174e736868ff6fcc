package builderd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"kojigo/builderd/pgroup"
	"kojigo/internal/health"
	"kojigo/internal/kojixml"
	"kojigo/internal/testenv"
)

// staticProber returns a fixed probe; tests change it with set.
type staticProber struct {
	mu sync.Mutex
	p  health.Probe
}

func (s *staticProber) Probe(context.Context) health.Probe {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.p
	p.Time = time.Now()
	return p
}

func (s *staticProber) set(f func(*health.Probe)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.p)
}

func goodProber(workdir string) *staticProber {
	return &staticProber{p: health.Probe{
		Disks: []health.Disk{{Role: health.RoleWorkdir, Path: workdir, Free: 100 << 30, Total: 200 << 30}},
		CPUs:  2, MemTotal: 4 << 30, MemAvailable: 2 << 30,
		Tools: map[string]string{"rpmbuild": "/usr/bin/rpmbuild", "git": "/usr/bin/git", "mock": ""},
	}}
}

type env struct {
	top   string
	cfg   Config
	hub   *fakeHub
	probe *staticProber
	opts  Options
}

func newEnv(t *testing.T) *env {
	t.Helper()
	top := t.TempDir()
	cfg := DefaultConfig()
	cfg.Server = "http://hub.invalid/kojihub"
	cfg.TopDir = top
	cfg.WorkDir = filepath.Join(t.TempDir(), "kojid")
	cfg.UseMock = "no"
	cfg.SleepTime = 200 * time.Millisecond
	cfg.CancelPoll = 100 * time.Millisecond
	cfg.MaxLoad = 0
	cfg.Cert = ""
	cfg.AllowedSCMs = []string{":/*"}
	e := &env{top: top, cfg: cfg, hub: newFakeHub(t, top), probe: goodProber(cfg.WorkDir)}
	e.hub.tags[10]["arches"] = nativeArches(runtime.GOARCH)[0] // subtasks this host can take
	e.opts = Options{Prober: e.probe, Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	return e
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// start runs the daemon until the test ends (or stop is called) and
// returns a function that stops it and returns Run's error.
func (e *env) start(t *testing.T) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, e.cfg, e.hub, e.opts) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = errors.New("Run did not return within 30s of cancel")
			}
		})
		return err
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return stop
}

// srpm builds the SRPM of a testdata package (or any spec directory) and
// stores it under the hub's work directory; it returns the work-relative path.
func (e *env) srpm(t *testing.T, specDir string) string {
	t.Helper()
	rpmbuild := testenv.NeedTool(t, "rpmbuild")
	specs, _ := filepath.Glob(filepath.Join(specDir, "*.spec"))
	if len(specs) != 1 {
		t.Fatalf("%s: want one spec, have %v", specDir, specs)
	}
	out := filepath.Join(t.TempDir(), "srpm")
	cmd := exec.Command(rpmbuild, "-bs", "--define", "_topdir "+out, "--define", "_sourcedir "+specDir,
		"--define", "_srcrpmdir "+out, specs[0])
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rpmbuild -bs: %v\n%s", err, b)
	}
	got, _ := filepath.Glob(filepath.Join(out, "*.src.rpm"))
	if len(got) != 1 {
		t.Fatalf("rpmbuild -bs made %v", got)
	}
	rel := "cli-build/" + filepath.Base(specDir) + "/" + filepath.Base(got[0])
	dst := filepath.Join(e.top, "work", filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(got[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return rel
}

func testdataDir(name string) string {
	p, _ := filepath.Abs(filepath.Join("testdata", name))
	return p
}

// slowSpec writes a package whose %build prints a line and then sleeps.
func slowSpec(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "slow")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := `Name: slow
Version: 1
Release: 1
Summary: sleeps in build
License: MIT
BuildArch: noarch

%description
Sleeps.

%build
echo "slow build started"
sleep 300 &
sleep 300

%files
`
	if err := os.WriteFile(filepath.Join(dir, "slow.spec"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBuildArchWithRPMBuild(t *testing.T) {
	tests := []struct {
		pkg, arch, rpm string
		keep           bool
	}{
		{"hello", "x86_64", "hello-1.0-1.x86_64.rpm", true},
		{"noarch", "noarch", "greeting-2.1-3.noarch.rpm", false},
	}
	for _, tc := range tests {
		t.Run(tc.pkg, func(t *testing.T) {
			if !canBuild(nativeArches(runtimeArch()), tc.arch) {
				t.Skipf("this host does not build %s", tc.arch)
			}
			e := newEnv(t)
			pkg := e.srpm(t, testdataDir(tc.pkg))
			id := e.hub.addTask("buildArch", pkg, int64(10), tc.arch, tc.keep, map[string]any{})
			e.start(t)
			tk := e.hub.waitState(id, 60*time.Second, stateClosed, stateFailed)
			if tk.state != stateClosed {
				t.Fatalf("task %s: %v", stateName(tk.state), tk.fault)
			}
			res := asMap(tk.result)
			dir := taskRelPath(id)
			if rpms := asStrings(res["rpms"]); len(rpms) != 1 || rpms[0] != dir+"/"+tc.rpm {
				t.Errorf("rpms = %q, want [%s/%s]", rpms, dir, tc.rpm)
			}
			srpms := asStrings(res["srpms"])
			if tc.keep && (len(srpms) != 1 || !strings.HasSuffix(srpms[0], ".src.rpm")) || !tc.keep && len(srpms) != 0 {
				t.Errorf("srpms = %q with keep_srpm %v", srpms, tc.keep)
			}
			logs := asStrings(res["logs"])
			for _, l := range []string{"build.log", "root.log", "state.log"} {
				if !contains(logs, dir+"/"+l) {
					t.Errorf("logs = %q, want %s", logs, l)
				}
			}
			// The rpm on the hub is a real package with the right header.
			hdr, err := readRPMHeader(filepath.Join(e.hub.workDir, dir, tc.rpm))
			if err != nil {
				t.Fatal(err)
			}
			if arch, _ := hdr.GetString(tagArch); arch != tc.arch {
				t.Errorf("uploaded rpm arch = %q, want %s", arch, tc.arch)
			}
			if root := e.hub.file(dir + "/root.log"); !strings.Contains(root, "rpmbuild in a private tree (use_mock = no)") ||
				!strings.Contains(root, "BuildRequires are neither installed nor checked") {
				t.Errorf("root.log does not explain the build mode:\n%s", root)
			}
			if build := e.hub.file(dir + "/build.log"); !strings.Contains(build, "Wrote: ") {
				t.Errorf("build.log lacks rpmbuild's output:\n%s", build)
			}
			if st := e.hub.file(dir + "/state.log"); !strings.Contains(st, "Finish: rpmbuild --rebuild") {
				t.Errorf("state.log = %q", st)
			}
			waitGoneDir(t, filepath.Join(e.cfg.WorkDir, filepath.FromSlash(dir)))
		})
	}
}

func runtimeArch() string { return runtime.GOARCH }

func setpgid() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func waitGoneDir(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("task directory %s still exists", dir)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBuildArchCompilerErrorFault(t *testing.T) {
	e := newEnv(t)
	pkg := e.srpm(t, testdataDir("broken"))
	arch := nativeArches(runtimeArch())[0]
	id := e.hub.addTask("buildArch", pkg, int64(10), arch, true, map[string]any{})
	e.start(t)
	tk := e.hub.waitState(id, 60*time.Second, stateClosed, stateFailed)
	if tk.state != stateFailed {
		t.Fatalf("task %s, want FAILED", stateName(tk.state))
	}
	f := tk.fault
	if f.Code != kojixml.BuildError {
		t.Errorf("fault code %d, want BuildError %d", f.Code, kojixml.BuildError)
	}
	for _, want := range []string{
		"error building package (arch " + arch + "), rpmbuild exited with status 1; see build.log for more information",
		"last lines of build.log:",
		"broken.c:5:37: error: expected ", // the compiler's line, from further up
		"Bad exit status from",            // rpmbuild's last words
	} {
		if !strings.Contains(f.String, want) {
			t.Errorf("fault lacks %q:\n%s", want, f.String)
		}
	}
	// The full log is on the hub too.
	if !strings.Contains(e.hub.file(taskRelPath(id)+"/build.log"), "cleaning up after the failure, step 25") {
		t.Error("build.log on the hub is incomplete")
	}
}

// runningPGID waits for the task to record its process group.
func runningPGID(t *testing.T, e *env, id int64) int {
	t.Helper()
	p := filepath.Join(e.cfg.WorkDir, filepath.FromSlash(taskRelPath(id)), pgidFile)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if b, err := os.ReadFile(p); err == nil && len(b) > 0 {
			var pg int
			if _, err := fmt.Sscan(string(b), &pg); err == nil {
				return pg
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %d never started a process group", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitGroupGone(t *testing.T, pgid int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		m, err := pgroup.Members("", pgid)
		if err != nil {
			t.Fatal(err)
		}
		if len(m) == 0 {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("process group %d still has %v after %v", pgid, m, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCancelOnHubStopsRPMBuildWithin5s(t *testing.T) {
	e := newEnv(t)
	pkg := e.srpm(t, slowSpec(t))
	id := e.hub.addTask("buildArch", pkg, int64(10), "noarch", false, map[string]any{})
	e.start(t)
	pgid := runningPGID(t, e, id)
	// The log streams while the build runs.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(e.hub.file(taskRelPath(id)+"/build.log"), "slow build started") {
		if time.Now().After(deadline) {
			t.Fatalf("build.log not streamed while the build runs: %q", e.hub.file(taskRelPath(id)+"/build.log"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m, _ := pgroup.Members("", pgid); len(m) < 2 {
		t.Fatalf("rpmbuild group %d has %v, want rpmbuild and its shell", pgid, m)
	}
	e.hub.cancel(id)
	took := waitGroupGone(t, pgid, 5*time.Second)
	t.Logf("rpmbuild process group gone %v after the cancel", took)
	waitGoneDir(t, filepath.Join(e.cfg.WorkDir, filepath.FromSlash(taskRelPath(id))))
	if tk := e.hub.task(id); tk.state != stateCanceled {
		t.Errorf("task is %s, want it left CANCELED", stateName(tk.state))
	}
	if n := e.hub.called("host.failTask") + e.hub.called("host.closeTask"); n != 0 {
		t.Errorf("a cancelled task was reported %d times", n)
	}
}

func TestShutdownFreesRunningTask(t *testing.T) {
	e := newEnv(t)
	pkg := e.srpm(t, slowSpec(t))
	id := e.hub.addTask("buildArch", pkg, int64(10), "noarch", false, map[string]any{})
	stop := e.start(t)
	pgid := runningPGID(t, e, id)
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("Run = %v, want nil after a shutdown", err)
	}
	t.Logf("shutdown took %v", time.Since(start))
	waitGroupGone(t, pgid, time.Second)
	if tk := e.hub.task(id); tk.state != stateFree {
		t.Errorf("task is %s after shutdown, want FREE", stateName(tk.state))
	}
	if u, _ := e.hub.lastUpdate(); u.ready {
		t.Error("last check-in says ready after shutdown")
	}
}

func TestShutdownFinishWaitsForTask(t *testing.T) {
	e := newEnv(t)
	e.cfg.Shutdown = ShutdownFinish
	pkg := e.srpm(t, testdataDir("noarch"))
	id := e.hub.addTask("buildArch", pkg, int64(10), "noarch", false, map[string]any{})
	stop := e.start(t)
	runningPGID(t, e, id)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if tk := e.hub.task(id); tk.state != stateClosed {
		t.Errorf("task is %s after a finish shutdown, want CLOSED (%v)", stateName(tk.state), tk.fault)
	}
}

func TestReadinessRefusesAndRecovers(t *testing.T) {
	e := newEnv(t)
	e.cfg.MinSpace = 8 << 30
	e.probe.set(func(p *health.Probe) { p.Disks[0].Free = 1288490188 }) // 1.2 GiB
	id := e.hub.addTask("tagBuild", int64(11), int64(501), false, nil, true)
	e.start(t)
	want := "workdir " + e.cfg.WorkDir + ": 1.1 GiB free < minspace 8 GiB"
	deadline := time.Now().Add(10 * time.Second)
	for {
		u, ok := e.hub.lastUpdate()
		e.hub.mu.Lock()
		refused := len(e.hub.refusals)
		e.hub.mu.Unlock()
		if ok && !u.ready && refused > 0 {
			reasons := asStrings(u.data["not_ready_reasons"])
			if len(reasons) != 1 || reasons[0] != want {
				t.Fatalf("not_ready_reasons = %q, want [%q]", reasons, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no not-ready check-in with a refusal; last update %+v", u)
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.hub.mu.Lock()
	r := e.hub.refusals[0]
	e.hub.tasks[id].refusedBy = false // a soft refusal expires on the hub
	e.hub.mu.Unlock()
	if r.id != id || !r.soft || r.msg != want {
		t.Errorf("refusal = %+v, want soft with %q", r, want)
	}
	if tk := e.hub.task(id); tk.state == stateOpen || tk.state == stateClosed {
		t.Fatalf("task taken while not ready: %s", stateName(tk.state))
	}
	e.probe.set(func(p *health.Probe) { p.Disks[0].Free = 100 << 30 })
	tk := e.hub.waitState(id, 10*time.Second, stateClosed, stateFailed)
	if tk.state != stateClosed {
		t.Errorf("tagBuild: %s %v", stateName(tk.state), tk.fault)
	}
	if u, _ := e.hub.lastUpdate(); !u.ready || len(asList(u.data["not_ready_reasons"])) != 0 {
		t.Errorf("after freeing space: %+v", u)
	}
	e.hub.mu.Lock()
	tagged := e.hub.tagged
	e.hub.mu.Unlock()
	if len(tagged) != 1 || id64(tagged[0][0]) != 11 || id64(tagged[0][1]) != 501 {
		t.Errorf("host.tagBuild calls = %v", tagged)
	}
}

func TestCheckInData(t *testing.T) {
	e := newEnv(t)
	e.opts.Version = "test-1"
	e.start(t)
	deadline := time.Now().Add(5 * time.Second)
	var u fakeUpdate
	for {
		var ok bool
		if u, ok = e.hub.lastUpdate(); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no check-in")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !u.ready {
		t.Errorf("not ready: %v", u.data["not_ready_reasons"])
	}
	for _, k := range []string{"disk", "mem_total", "mem_available", "load1", "cpus", "tools", "not_ready_reasons", "methods", "maxjobs", "version", "arches"} {
		if _, ok := u.data[k]; !ok {
			t.Errorf("data lacks %s: %v", k, u.data)
		}
	}
	if got := asStrings(u.data["methods"]); strings.Join(got, " ") != "build buildArch buildNotification buildSRPMFromSCM chainbuild createdistrepo createrepo dependantTask distRepo newRepo restart restartHosts restartVerify tagBuild tagNotification waitrepo" {
		t.Errorf("methods = %q", got)
	}
	if v := asString(u.data["version"]); v != "test-1" {
		t.Errorf("version = %q", v)
	}
}

func TestRefusals(t *testing.T) {
	e := newEnv(t)
	foreign := "s390x"
	if runtimeArch() == "s390x" {
		foreign = "x86_64"
	}
	unknown := e.hub.addTask("createImage", "x")
	wrongArch := e.hub.addTask("buildArch", "cli-build/x/x.src.rpm", int64(10), foreign, true, map[string]any{})
	noGit := e.hub.addTask("buildSRPMFromSCM", "git+file:///srv/git/x#main", int64(10), map[string]any{})
	e.opts.LookPath = func(name string) (string, error) {
		if name == "git" {
			return "", exec.ErrNotFound
		}
		return exec.LookPath(name)
	}
	e.start(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.hub.mu.Lock()
		n := len(e.hub.refusals)
		e.hub.mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("refusals = %+v, want 3", e.hub.refusals)
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.hub.mu.Lock()
	defer e.hub.mu.Unlock()
	want := map[int64]fakeRefusal{
		unknown:   {unknown, false, "no handler for method createImage on this host"},
		wrongArch: {wrongArch, false, "cannot build " + foreign + " here: this host builds " + strings.Join(nativeArches(runtimeArch()), " ")},
		noGit:     {noGit, true, "git not found: install the git package"},
	}
	for _, r := range e.hub.refusals[:3] {
		if w := want[r.id]; r != w {
			t.Errorf("refusal %+v, want %+v", r, w)
		}
	}
}

func TestRestartReconciles(t *testing.T) {
	e := newEnv(t)
	// A task the hub thinks runs here, from before a kill -9.
	stale := e.hub.addTask("buildArch", "cli-build/x/x.src.rpm", int64(10), "noarch", true, map[string]any{})
	e.hub.mu.Lock()
	e.hub.tasks[stale].state, e.hub.tasks[stale].host = stateOpen, e.hub.hostID
	e.hub.mu.Unlock()
	// Its directory and a process it left, tagged as kojid tags them.
	dir := filepath.Join(e.cfg.WorkDir, filepath.FromSlash(taskRelPath(stale)))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	orphan := exec.Command("sleep", "300")
	orphan.Env = []string{taskEnvTag(stale)}
	orphan.SysProcAttr = setpgid()
	if err := orphan.Start(); err != nil {
		t.Fatal(err)
	}
	reaped := make(chan struct{})
	go func() { _ = orphan.Wait(); close(reaped) }()
	t.Cleanup(func() { _ = orphan.Process.Kill(); <-reaped })
	if err := os.WriteFile(filepath.Join(dir, pgidFile), []byte(fmt.Sprintln(orphan.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	e.start(t)
	tk := e.hub.waitState(stale, 10*time.Second, stateFree)
	if tk.host != 0 {
		t.Errorf("freed task still on host %d", tk.host)
	}
	waitGroupGone(t, orphan.Process.Pid, 5*time.Second)
	waitGoneDir(t, dir)
}

func TestHubOutageIsRetried(t *testing.T) {
	e := newEnv(t)
	id := e.hub.addTask("tagBuild", int64(11), int64(501), false, nil, true)
	e.hub.mu.Lock()
	e.hub.failCalls = 1 // the hub is down when kojid starts
	e.hub.mu.Unlock()
	stop := e.start(t)
	e.hub.waitState(id, 15*time.Second, stateClosed)
	// Down again while running: retried with backoff, work resumes.
	id2 := e.hub.addTask("tagBuild", int64(11), int64(502), false, nil, true)
	e.hub.mu.Lock()
	e.hub.failCalls = 2
	e.hub.mu.Unlock()
	e.hub.waitState(id2, 15*time.Second, stateClosed)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestGracefulRestart(t *testing.T) {
	e := newEnv(t)
	restart := make(chan struct{})
	e.opts.Restart = restart
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, e.cfg, e.hub, e.opts) }()
	close(restart)
	select {
	case err := <-done:
		if !errors.Is(err, ErrRestart) {
			t.Errorf("Run = %v, want ErrRestart", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no restart within 10s")
	}
	if u, _ := e.hub.lastUpdate(); u.ready {
		t.Error("host reported ready when restarting")
	}
}

func TestRunRejectsBadSetup(t *testing.T) {
	e := newEnv(t)
	bad := e.cfg
	bad.Server = ""
	if err := Run(context.Background(), bad, e.hub, e.opts); err == nil {
		t.Error("Run with an invalid config = nil")
	}
	if err := Run(context.Background(), e.cfg, nil, e.opts); err == nil {
		t.Error("Run without a hub = nil")
	}
	// A session that is not a host's: host.getID faults.
	e.hub.hostID = 0
	h := &notHostHub{e.hub}
	if err := Run(context.Background(), e.cfg, h, e.opts); err == nil || !strings.Contains(err.Error(), "not a build host") {
		t.Errorf("Run with a user session = %v", err)
	}
}

type notHostHub struct{ *fakeHub }

func (h *notHostHub) Call(ctx context.Context, method string, args ...any) (any, error) {
	if method == "host.getID" {
		return nil, kojixml.Errorf(kojixml.AuthError, "host not found")
	}
	return h.fakeHub.Call(ctx, method, args...)
}
