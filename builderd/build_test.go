package builderd

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"kojigo/internal/kojixml"
	"kojigo/internal/testenv"
)

// gitRepo makes a git repository of a testdata package and returns its path
// and commit.
func gitRepo(t *testing.T, pkg string) (string, string) {
	t.Helper()
	git := testenv.NeedTool(t, "git")
	dir := filepath.Join(t.TempDir(), pkg+".git")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(testdataDir(pkg))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(testdataDir(pkg), e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) string {
		out, err := execGit(git, dir, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q")
	run("add", ".")
	run("commit", "-q", "-m", "import")
	return dir, run("rev-parse", "HEAD")
}

func TestBuildFromGitIsImportedAndTagged(t *testing.T) {
	testenv.NeedTool(t, "rpmbuild")
	e := newEnv(t)
	repo, commit := gitRepo(t, "hello")
	url := "git+file://" + repo + "#main"
	id := e.hub.addTask("build", url, "f40-candidate", map[string]any{})
	e.start(t)
	tk := e.hub.waitState(id, 120*time.Second, stateClosed, stateFailed)
	if tk.state != stateClosed {
		t.Fatalf("build %s: %v", stateName(tk.state), tk.fault)
	}
	e.hub.mu.Lock()
	defer e.hub.mu.Unlock()
	var srpmTask, archTask, tagTask *fakeTask
	for _, c := range e.hub.tasks {
		switch {
		case c.parent == id && c.label == "srpm":
			srpmTask = c
		case c.parent == id && c.label == "tag":
			tagTask = c
		case c.parent == id && c.method == "buildArch":
			archTask = c
		}
	}
	if srpmTask == nil || archTask == nil || tagTask == nil {
		t.Fatalf("subtasks: srpm %v arch %v tag %v", srpmTask, archTask, tagTask)
	}
	for _, c := range []*fakeTask{srpmTask, archTask, tagTask} {
		if c.state != stateClosed {
			t.Errorf("subtask %s is %s", c.method, stateName(c.state))
		}
	}
	src := asMap(asMap(srpmTask.result)["source"])
	if asString(src["source"]) != "git+file://"+repo+"#"+commit {
		t.Errorf("source = %v, want the resolved commit", src)
	}
	if got := asString(asMap(srpmTask.result)["srpm"]); got != taskRelPath(srpmTask.id)+"/hello-1.0-1.src.rpm" {
		t.Errorf("srpm = %q", got)
	}
	if len(e.hub.builds) != 1 {
		t.Fatalf("initBuild calls: %v", e.hub.builds)
	}
	for bid, data := range e.hub.builds {
		want := map[string]any{"name": "hello", "version": "1.0", "release": "1", "epoch": nil, "task_id": id}
		if !reflect.DeepEqual(data, want) {
			t.Errorf("initBuild data = %v, want %v", data, want)
		}
		args, ok := e.hub.completed[bid]
		if !ok {
			t.Fatalf("build %d not completed", bid)
		}
		arch := nativeArches(runtimeArch())[0]
		if srpm := asString(args[0]); srpm != taskRelPath(archTask.id)+"/hello-1.0-1.src.rpm" {
			t.Errorf("completeBuild srpm = %q", srpm)
		}
		if rpms := asStrings(args[1]); len(rpms) != 1 || rpms[0] != taskRelPath(archTask.id)+"/hello-1.0-1."+arch+".rpm" {
			t.Errorf("completeBuild rpms = %q", rpms)
		}
		if logs := asStrings(asMap(args[3])[arch]); !contains(logs, taskRelPath(archTask.id)+"/build.log") {
			t.Errorf("completeBuild logs = %v", args[3])
		}
		if len(e.hub.tagged) != 1 || id64(e.hub.tagged[0][0]) != 11 || id64(e.hub.tagged[0][1]) != bid {
			t.Errorf("tagBuild = %v, want tag 11 build %d", e.hub.tagged, bid)
		}
		if n := e.hub.tagNotes; len(n) != 1 || n[0][0] != true || id64(n[0][1]) != 11 || n[0][2] != nil || id64(n[0][3]) != bid || id64(n[0][4]) != 1 {
			t.Errorf("host.tagNotification = %v, want (True, 11, None, %d, owner 1, ...)", n, bid)
		}
		if got := id64(asMap(tk.result)["build_id"]); got != bid {
			t.Errorf("build result build_id = %d, want %d", got, bid)
		}
	}
	// Both steps record a buildroot (the fake hub's is always 77), listed
	// while INIT, then BUILDING and EXPIRED; the results and completeBuild's
	// brmap carry it.
	for _, c := range []*fakeTask{srpmTask, archTask} {
		if got := id64(asMap(c.result)["brootid"]); got != 77 {
			t.Errorf("%s result brootid = %v, want 77", c.method, asMap(c.result)["brootid"])
		}
	}
	for bid := range e.hub.builds {
		brmap := asMap(e.hub.completed[bid][2])
		if len(brmap) != 2 {
			t.Errorf("completeBuild brmap = %v, want the srpm and the rpm", brmap)
		}
		for p, br := range brmap {
			if id64(br) != 77 {
				t.Errorf("brmap[%s] = %v, want 77", p, br)
			}
		}
	}
	var calls []string
	for _, c := range e.hub.buildroots {
		calls = append(calls, strings.Fields(c)[0])
	}
	if want := []string{"new", "setBuildRootList", "BUILDING", "EXPIRED", "new", "setBuildRootList", "BUILDING", "EXPIRED"}; !reflect.DeepEqual(calls, want) {
		t.Errorf("buildroot calls = %q, want %q", e.hub.buildroots, want)
	}
	if checkout := e.hub.file(taskRelPath(srpmTask.id) + "/checkout.log"); !strings.Contains(checkout, "checked out "+commit) {
		t.Errorf("checkout.log = %q", checkout)
	}
}

func TestScratchNoarchBuildFromSRPM(t *testing.T) {
	e := newEnv(t)
	srpm := e.srpm(t, testdataDir("noarch"))
	id := e.hub.addTask("build", srpm, "f40-candidate", map[string]any{"scratch": true})
	e.start(t)
	tk := e.hub.waitState(id, 60*time.Second, stateClosed, stateFailed)
	if tk.state != stateClosed {
		t.Fatalf("build %s: %v", stateName(tk.state), tk.fault)
	}
	e.hub.mu.Lock()
	defer e.hub.mu.Unlock()
	var arches []string
	for _, c := range e.hub.tasks {
		if c.parent == id {
			arches = append(arches, c.method+":"+c.label)
		}
	}
	if !reflect.DeepEqual(arches, []string{"buildArch:noarch"}) {
		t.Errorf("subtasks = %v, want one noarch buildArch", arches)
	}
	if len(e.hub.builds) != 0 || len(e.hub.tagged) != 0 {
		t.Errorf("scratch build imported (%v) or tagged (%v)", e.hub.builds, e.hub.tagged)
	}
	res := asMap(tk.result)
	if rpms := asStrings(res["rpms"]); len(rpms) != 1 || !strings.HasSuffix(rpms[0], "/greeting-2.1-3.noarch.rpm") {
		t.Errorf("scratch result rpms = %q", rpms)
	}
	if res["build_id"] != nil {
		t.Errorf("scratch build_id = %v", res["build_id"])
	}
}

func TestBuildAndSubtaskOnOneSlot(t *testing.T) {
	e := newEnv(t)
	e.cfg.MaxJobs = 1 // the waiting parent must not block its own subtask
	srpm := e.srpm(t, testdataDir("noarch"))
	id := e.hub.addTask("build", srpm, "f40-candidate", map[string]any{"scratch": true})
	e.start(t)
	if tk := e.hub.waitState(id, 60*time.Second, stateClosed, stateFailed); tk.state != stateClosed {
		t.Errorf("build with maxjobs 1: %s %v", stateName(tk.state), tk.fault)
	}
}

func TestBuildFailsWithChildReason(t *testing.T) {
	e := newEnv(t)
	srpm := e.srpm(t, testdataDir("broken"))
	id := e.hub.addTask("build", srpm, "f40-candidate", map[string]any{})
	e.start(t)
	tk := e.hub.waitState(id, 60*time.Second, stateClosed, stateFailed)
	if tk.state != stateFailed {
		t.Fatalf("build is %s, want FAILED", stateName(tk.state))
	}
	e.hub.mu.Lock()
	defer e.hub.mu.Unlock()
	var child *fakeTask
	for _, c := range e.hub.tasks {
		if c.parent == id && c.method == "buildArch" {
			child = c
		}
	}
	if child == nil || child.fault == nil {
		t.Fatalf("no failed buildArch child")
	}
	if tk.fault.Code != kojixml.BuildError || tk.fault.String != child.fault.String {
		t.Errorf("parent fault = %d %q, want the child's %q", tk.fault.Code, tk.fault.String, child.fault.String)
	}
	if !strings.Contains(tk.fault.String, "see build.log") || !strings.Contains(tk.fault.String, "error: expected") {
		t.Errorf("parent fault does not carry the compiler error: %s", tk.fault.String)
	}
	if len(e.hub.failedBuild) != 1 {
		t.Errorf("host.failBuild calls = %v, want one", e.hub.failedBuild)
	}
}

func TestBuildRejects(t *testing.T) {
	tests := []struct {
		name string
		args []any
		want string
	}{
		{"unknown target", []any{"cli-build/x/x.src.rpm", "nope", map[string]any{}}, "unknown build target: nope"},
		{"path escapes work", []any{"../../etc/passwd", "f40-candidate", map[string]any{}}, "bad path"},
		{"missing srpm", []any{"cli-build/none/none.src.rpm", "f40-candidate", map[string]any{}}, "not found under topdir"},
		{"bad opts", []any{"cli-build/x/x.src.rpm", "f40-candidate", map[string]any{"repo_id": "x"}}, "repo_id must be a positive integer"},
		{"missing args", []any{"cli-build/x/x.src.rpm"}, "target"},
		{"disallowed scm", []any{"git+https://evil.example.org/x.git#main", "f40-candidate", map[string]any{}}, "is not in the list of allowed SCMs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.cfg.AllowedSCMs = []string{"src.example.org:/*"}
			id := e.hub.addTask("build", tc.args...)
			e.start(t)
			tk := e.hub.waitState(id, 30*time.Second, stateClosed, stateFailed)
			if tk.state != stateFailed || !strings.Contains(tk.fault.String, tc.want) {
				t.Errorf("build = %s %v, want FAILED with %q", stateName(tk.state), tk.fault, tc.want)
			}
		})
	}
}

func TestArchList(t *testing.T) {
	tests := []struct {
		name     string
		tag      []string
		hdr      srpmHeader
		override []string
		scratch  bool
		want     []string
		err      string
	}{
		{"tag arches", []string{"x86_64", "aarch64"}, srpmHeader{}, nil, false, []string{"aarch64", "x86_64"}, ""},
		{"noarch once", []string{"x86_64", "aarch64"}, srpmHeader{BuildArchs: []string{"noarch"}}, nil, false, []string{"noarch"}, ""},
		{"exclusive", []string{"x86_64", "aarch64", "i686"}, srpmHeader{ExclusiveArch: []string{"x86_64", "ppc64le"}}, nil, false, []string{"x86_64"}, ""},
		{"exclude", []string{"x86_64", "aarch64"}, srpmHeader{ExcludeArch: []string{"aarch64"}}, nil, false, []string{"x86_64"}, ""},
		{"exclusive noarch", []string{"x86_64"}, srpmHeader{ExclusiveArch: []string{"noarch"}}, nil, false, []string{"noarch"}, ""},
		{"noarch excluded", []string{"x86_64"}, srpmHeader{BuildArchs: []string{"noarch"}, ExcludeArch: []string{"noarch"}}, nil, false, nil, "no matching arches"},
		{"buildarch outside tag", []string{"x86_64"}, srpmHeader{BuildArchs: []string{"s390x"}}, nil, false, nil, "no matching arches"},
		{"canonical family", []string{"i386"}, srpmHeader{BuildArchs: []string{"i686"}}, nil, false, []string{"i686"}, ""},
		{"override only for scratch", []string{"x86_64", "aarch64"}, srpmHeader{}, []string{"aarch64"}, false, []string{"aarch64", "x86_64"}, ""},
		{"override scratch", []string{"x86_64", "aarch64"}, srpmHeader{}, []string{"aarch64"}, true, []string{"aarch64"}, ""},
		{"override outside tag", []string{"x86_64"}, srpmHeader{}, []string{"s390x"}, true, nil, "no matching arches"},
		{"no tag arches", nil, srpmHeader{}, nil, false, nil, "no arches for the build tag"},
	}
	for _, tc := range tests {
		got, err := archList(tc.tag, &tc.hdr, tc.override, tc.scratch)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: archList error = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: archList = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

func TestTailLog(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var b strings.Builder
	b.WriteString("gcc -c x.c\nx.c:3:1: error: boom\n")
	for i := range 30 {
		b.WriteString("line " + string(rune('a'+i%26)) + "\n")
	}
	long := write("long.log", b.String())
	got := tailLog(long, 5, 1<<20)
	if !strings.HasPrefix(got, "x.c:3:1: error: boom\n...\n") || strings.Count(got, "\n") != 6 {
		t.Errorf("tailLog = %q", got)
	}
	short := write("short.log", "only\n")
	if got := tailLog(short, 5, 1<<20); got != "only" {
		t.Errorf("tailLog(short) = %q", got)
	}
	if got := tailLog(filepath.Join(dir, "missing"), 5, 10); got != "" {
		t.Errorf("tailLog(missing) = %q", got)
	}
	binary := write("bin.log", "\xff\xfe\x00ok\n")
	if got := tailLog(binary, 5, 10); !strings.Contains(got, "ok") || !strings.Contains(got, "\uFFFD") {
		t.Errorf("tailLog(binary) = %q", got)
	}
	// Reading only the end of a huge log drops the partial first line.
	huge := write("huge.log", strings.Repeat("x", 5000)+"\nlast\n")
	if got := tailLog(huge, 5, 100); got != "last" {
		t.Errorf("tailLog(huge) = %q", got)
	}
}

func TestNoSpaceAndFaults(t *testing.T) {
	err := noSpace(&os.PathError{Op: "write", Path: "/w/x", Err: errENOSPC()}, "/var/lib/kojid")
	if err == nil || !strings.HasPrefix(err.Error(), "no space left on /var/lib/kojid: ") {
		t.Errorf("noSpace = %v", err)
	}
	if f := toFault(err); f.Code != kojixml.BuildError {
		t.Errorf("toFault(no space) code = %d", f.Code)
	}
	other := os.ErrPermission
	if noSpace(other, "/x") != other {
		t.Error("noSpace changed another error")
	}
	if f := toFault(other); f.Code != kojixml.GenericError || f.String != other.Error() {
		t.Errorf("toFault(plain) = %+v", f)
	}
	for _, tc := range []struct {
		id   int64
		want string
	}{{1, "tasks/1/1"}, {123456, "tasks/3456/123456"}, {10000, "tasks/0/10000"}} {
		if got := taskRelPath(tc.id); got != tc.want {
			t.Errorf("taskRelPath(%d) = %q, want %q", tc.id, got, tc.want)
		}
	}
	for _, bad := range []string{"", "/abs", "../x", "a/../../b", "a//b", ".", "x\x00y"} {
		if checkRel(bad) == nil {
			t.Errorf("checkRel(%q) = nil", bad)
		}
	}
}

func errENOSPC() error { return syscall.ENOSPC }

// tinySpec writes a spec directory for a noarch package called name.
func tinySpec(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := "Name: " + name + "\nVersion: 1\nRelease: 1\nSummary: x\nLicense: MIT\nBuildArch: noarch\n\n%description\nx\n\n%files\n"
	if err := os.WriteFile(filepath.Join(dir, name+".spec"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBuildChecksPackageList(t *testing.T) {
	tests := []struct{ name, want string }{
		{"nothere", "package nothere not in list for tag f40 (No such entry in table package: nothere)"},
		{"blockedpkg", "package blockedpkg is blocked for tag f40"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.hub.listed["blockedpkg"] = false
			srpm := e.srpm(t, tinySpec(t, tc.name))
			id := e.hub.addTask("build", srpm, "f40-candidate", map[string]any{})
			e.start(t)
			tk := e.hub.waitState(id, 30*time.Second, stateClosed, stateFailed)
			if tk.state != stateFailed || tk.fault.String != tc.want || tk.fault.Code != kojixml.BuildError {
				t.Errorf("build = %s %v, want FAILED with %q", stateName(tk.state), tk.fault, tc.want)
			}
			e.hub.mu.Lock()
			defer e.hub.mu.Unlock()
			if len(e.hub.builds) != 0 {
				t.Errorf("build initialised before the package list check: %v", e.hub.builds)
			}
		})
	}
	e := newEnv(t)
	srpm := e.srpm(t, tinySpec(t, "nothere"))
	id := e.hub.addTask("build", srpm, "f40-candidate", map[string]any{"scratch": true})
	e.start(t)
	if tk := e.hub.waitState(id, 30*time.Second, stateClosed, stateFailed); tk.state != stateClosed {
		t.Errorf("scratch build of an unlisted package: %s %v", stateName(tk.state), tk.fault)
	}
}

// execGit runs git in dir with a fixed identity and no user or system config.
func execGit(git, dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(git, append([]string{"-c", "user.name=kojigo", "-c", "user.email=kojigo@example.org", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "GIT_CONFIG_NOSYSTEM=1"}
	return cmd
}

// TestBusyHostLeavesAssignedTasks: a task assigned while every slot is
// taken is not refused (a soft refusal would keep it off this host for
// SoftRefusalTimeout); it runs once the slot frees.
func TestBusyHostLeavesAssignedTasks(t *testing.T) {
	e := newEnv(t)
	e.cfg.MaxJobs = 1
	first := e.hub.addTask("build", e.srpm(t, testdataDir("noarch")), "f40-candidate", map[string]any{"scratch": true})
	second := e.hub.addTask("build", e.srpm(t, testdataDir("hello")), "f40-candidate", map[string]any{"scratch": true})
	e.start(t)
	for _, id := range []int64{first, second} {
		if tk := e.hub.waitState(id, 90*time.Second, stateClosed, stateFailed); tk.state != stateClosed {
			t.Errorf("build %d with maxjobs 1: %s %v", id, stateName(tk.state), tk.fault)
		}
	}
	e.hub.mu.Lock()
	defer e.hub.mu.Unlock()
	if len(e.hub.refusals) != 0 {
		t.Errorf("refusals = %+v, want none: the host was busy, not unfit", e.hub.refusals)
	}
}

// TestBuildRunAgainAfterImport: a build task run again after its kojid
// died between completeBuild and the task's end finds its build imported
// and goes on to tagging, instead of failing initBuild ("Build already
// exists") with its RPMs imported but never tagged.
func TestBuildRunAgainAfterImport(t *testing.T) {
	e := newEnv(t)
	srpm := e.srpm(t, testdataDir("noarch"))
	id := e.hub.addTask("build", srpm, "f40-candidate", map[string]any{})
	e.hub.mu.Lock()
	e.hub.nextBuild++
	prior := e.hub.nextBuild
	e.hub.builds[prior] = map[string]any{"name": "greeting", "version": "2.1", "release": "3", "task_id": id}
	e.hub.completed[prior] = []any{"imported by the first run"}
	e.hub.mu.Unlock()
	e.start(t)
	tk := e.hub.waitState(id, 60*time.Second, stateClosed, stateFailed)
	if tk.state != stateClosed {
		t.Fatalf("build run again: %s %v", stateName(tk.state), tk.fault)
	}
	e.hub.mu.Lock()
	defer e.hub.mu.Unlock()
	if len(e.hub.builds) != 1 {
		t.Errorf("builds = %v, want only the one the first run imported", e.hub.builds)
	}
	if c := e.hub.completed[prior]; len(c) != 1 {
		t.Errorf("completeBuild called again: %v", c)
	}
	if len(e.hub.tagged) != 1 || id64(e.hub.tagged[0][1]) != prior {
		t.Errorf("tagged = %v, want build %d tagged", e.hub.tagged, prior)
	}
	if res := asMap(tk.result); id64(res["build_id"]) != prior {
		t.Errorf("result build_id = %v, want %d", res["build_id"], prior)
	}
}
