package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"kojigo/internal/kojiclient"
	"kojigo/internal/kojiconf"
	"kojigo/internal/testenv"
)

// TestDemo runs `kojictl demo --no-tui` as a newcomer would, in a fresh
// directory: the four sample packages that should build are CLOSED, tagged
// into demo and install with rpm (motd built against greet-devel, which
// it got from the build tag's repo); the broken one FAILED and its log is
// shown; then kojira has the build tag's repo made: it is READY, latest
// points at it and the real dnf lists the packages from it; Ctrl-C leaves
// no daemon running, kojira included; a second run resumes without
// building anything or making the repo again.
func TestDemo(t *testing.T) {
	testenv.NeedTool(t, "rpmbuild")
	testenv.NeedTool(t, "rpm")
	dnf := testenv.NeedTool(t, "dnf")
	dir := filepath.Join(t.TempDir(), "demo")
	kojictl := bin(t, "kojictl")

	began := time.Now()
	demo := start(t, "kojictl demo", nil, kojictl, "demo", "--no-tui", "--dir", dir)
	waitOutput(t, demo, 3*time.Minute, "kojigo demo: all sample builds finished")
	t.Logf("kojictl demo: all sample builds finished %v after start", time.Since(began).Round(100*time.Millisecond))
	waitOutput(t, demo, 2*time.Minute, "of demo-build READY with 4 packages")
	t.Logf("kojictl demo: repo of demo-build READY %v after start", time.Since(began).Round(100*time.Millisecond))
	out := demo.out.String()
	_, arch, _ := strings.Cut(out, "kojigo demo: builders: 2 (")
	arch, _, _ = strings.Cut(arch, ")")
	for _, want := range []string{
		"host builder1: ready", "host builder2: ready",
		"kojigo demo: hub https://127.0.0.1:",
		"kojigo demo: kojira: turns repo requests into newRepo tasks every 2 s (log " + filepath.Join(dir, "logs", "kojira.log") + ")",
		"client profile [kojigo-demo] in " + filepath.Join(dir, "koji.conf"),
		"build hello: submitted", "build greeting: submitted", "build broken: submitted",
		"buildArch broken", "last lines of build.log of task",
		"hello CLOSED, greeting CLOSED, broken FAILED (as intended), greet-devel CLOSED, motd CLOSED",
		"build motd: waits for a repo of demo-build with greet-devel-1.0-1",
		"repo demo-build: requested as koji regen-repo does (repo.request ",
		"newRepo demo-build: CLOSED on builder", "createrepo demo-build " + arch + ": CLOSED on builder",
		"(greet-devel-1.0-1.noarch, greeting-2.1-3.noarch, hello-1.0-1." + arch + ", motd-1.0-1." + arch + ")",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}

	// the operator's profile works as written
	ctx := context.Background()
	p, err := kojiconf.LoadClientProfile("kojigo-demo", kojiconf.ClientOptions{ConfigFile: filepath.Join(dir, "koji.conf"), Home: t.TempDir(), SysConfDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := kojiclient.NewFromProfile(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.LoginWithProfile(ctx, p); err != nil {
		t.Fatalf("login with the demo's profile: %v", err)
	}
	call := func(method string, args ...any) any {
		t.Helper()
		v, err := c.Call(ctx, method, args...)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		return v
	}
	tasks := demoTasks(t, dir)
	for pkg, want := range map[string]int64{"hello": 2, "greeting": 2, "broken": 5, "greet-devel": 2, "motd": 2} {
		if st := asInt(asMap(call("getTaskInfo", tasks[pkg]))["state"]); st != want {
			t.Errorf("build task of %s (%d) in state %d, want %d", pkg, tasks[pkg], st, want)
		}
	}
	tagged := asList(call("listTagged", "demo"))
	var nvrs []string
	for _, b := range tagged {
		nvrs = append(nvrs, fmt.Sprint(asMap(b)["nvr"]))
	}
	if got := strings.Join(nvrs, " "); len(nvrs) != 4 || !strings.Contains(got, "hello-1.0-1") || !strings.Contains(got, "greeting-2.1-3") ||
		!strings.Contains(got, "greet-devel-1.0-1") || !strings.Contains(got, "motd-1.0-1") {
		t.Fatalf("listTagged demo = %v, want hello, greeting, greet-devel and motd", nvrs)
	}
	root := t.TempDir()
	for _, b := range tagged {
		bm := asMap(b)
		for _, r := range asList(call("listRPMs", bm["build_id"])) {
			m := asMap(r)
			if m["arch"] == "src" {
				continue
			}
			path := filepath.Join(dir, "topdir", "packages", fmt.Sprint(bm["name"]), fmt.Sprint(bm["version"]), fmt.Sprint(bm["release"]),
				fmt.Sprint(m["arch"]), fmt.Sprintf("%s-%s-%s.%s.rpm", m["name"], m["version"], m["release"], m["arch"]))
			cmd := exec.Command("rpm", "-i", "--root", root, "--dbpath", filepath.Join(root, "db"), "--nodeps", "--noscripts", path)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("rpm -i %s: %v\n%s", path, err, out)
			}
		}
	}
	for _, f := range []string{"usr/bin/hello", "usr/share/greeting/greeting.txt", "usr/include/greet.h", "usr/bin/motd"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
	// motd was compiled against greet-devel's header from the repo
	if b, err := exec.Command(filepath.Join(root, "usr/bin/motd")).Output(); err != nil || string(b) != "Greetings from the build tag's repo!\n" {
		t.Errorf("motd printed %q (%v)", b, err)
	}

	// the build tag's repo is READY, latest points at it, and it is the
	// one the demo reported
	repo := asMap(call("getRepo", "demo-build"))
	repoID := asInt(repo["id"])
	if repo == nil || asInt(repo["state"]) != 1 {
		t.Fatalf("getRepo demo-build = %v, want a READY repo", repo)
	}
	latest := filepath.Join(dir, "topdir", "repos", "demo-build", "latest")
	if l, err := os.Readlink(latest); err != nil || l != fmt.Sprint(repoID) {
		t.Errorf("%s -> %q (%v), want %d", latest, l, err, repoID)
	}
	if want := fmt.Sprintf("kojigo demo: repo %d of demo-build READY with 4 packages", repoID); !strings.Contains(out, want) {
		t.Errorf("demo output lacks %q", want)
	}
	c.Logout(ctx)

	// the commands the demo prints work as written
	var dnfLine string
	for _, line := range strings.Split(out, "\n") {
		if l, ok := strings.CutPrefix(line, "kojigo demo:   dnf "); ok {
			dnfLine = l
		}
		cmdline, ok := strings.CutPrefix(line, "kojigo demo:   kojictl ")
		if !ok {
			continue
		}
		want := "builder1"
		if strings.Contains(cmdline, " taskinfo ") {
			want = "createrepo" // the newRepo task with its children
		}
		printed := exec.Command(kojictl, strings.Fields(cmdline)...)
		if b, err := printed.CombinedOutput(); err != nil || !strings.Contains(string(b), want) {
			t.Errorf("the printed command kojictl %s: %v, want %q in\n%s", cmdline, err, want, b)
		}
	}
	// the printed dnf command, kept off this machine's repos and cache,
	// lists both packages from the repo
	if dnfLine == "" {
		t.Errorf("the demo printed no dnf command to read the repo")
	} else {
		if !strings.Contains(dnfLine, "file://"+latest+"/"+arch+" ") {
			t.Errorf("the printed dnf command does not read %s/%s: dnf %s", latest, arch, dnfLine)
		}
		root := t.TempDir()
		args := append([]string{"-q", "--disableplugin=*", "--setopt=reposdir=/dev/null", "--installroot", root,
			"--setopt=cachedir=" + filepath.Join(root, "cache"), "--releasever=40"}, strings.Fields(dnfLine)...)
		b, err := exec.Command(dnf, args...).CombinedOutput()
		if err != nil {
			t.Errorf("dnf %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		for _, pkg := range []string{"hello." + arch, "greeting.noarch", "greet-devel.noarch", "motd." + arch} {
			if !strings.Contains("\n"+string(b), "\n"+pkg) {
				t.Errorf("dnf list --available of the demo's repo lacks %s:\n%s", pkg, b)
			}
		}
	}
	for _, args := range [][]string{{"--batch", "--view", "hosts"}, {"--batch", "--view", "tasks"}} {
		kt := exec.Command(bin(t, "kojitop"), append([]string{"-p", "kojigo-demo", "-c", filepath.Join(dir, "koji.conf")}, args...)...)
		if b, err := kt.CombinedOutput(); err != nil || !strings.Contains(string(b), "builder2") {
			t.Errorf("kojitop %v: %v\n%s", args, err, b)
		}
	}

	// Ctrl-C stops every child, kojira first
	if d := daemonsIn(dir); len(d) != 4 || !strings.Contains(strings.Join(d, "\n"), "/kojira -c "+filepath.Join(dir, "kojira.conf")) {
		t.Errorf("daemons run from %s: %q, want kojihub, 2 kojid and kojira", dir, d)
	}
	interrupt(t, demo)
	if left := daemonsIn(dir); len(left) > 0 {
		t.Fatalf("left running after Ctrl-C: %v", left)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "logs", "kojira.log")); err != nil || !strings.HasSuffix(strings.TrimSpace(string(b)), "msg=stopped component=kojira") ||
		strings.Contains(string(b), "not reachable") {
		t.Errorf("kojira did not stop cleanly before the hub (%v):\n%s", err, tail(string(b), 1500))
	}

	// a second run resumes: nothing built again, the failure shown again,
	// the repo current as it is
	again := start(t, "kojictl demo again", nil, kojictl, "demo", "--no-tui", "--dir", dir)
	waitOutput(t, again, time.Minute, "kojigo demo: all sample builds finished")
	waitOutput(t, again, time.Minute, "of demo-build READY with 4 packages")
	out = again.out.String()
	for _, want := range []string{
		"resuming in " + dir,
		"build hello: hello-1.0-1 already built and tagged into demo",
		"build greeting: greeting-2.1-3 already built and tagged into demo",
		"build motd: motd-1.0-1 already built and tagged into demo",
		fmt.Sprintf("build broken: following task %d from the previous run (FAILED)", tasks["broken"]),
		fmt.Sprintf("repo demo-build: repo %d is current", repoID),
		fmt.Sprintf("kojigo demo: repo %d of demo-build READY with 4 packages", repoID),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("second run's output lacks %q", want)
		}
	}
	for _, not := range []string{"submitted", "requested", "newRepo demo-build"} {
		if strings.Contains(out, not) {
			t.Errorf("second run's output has %q: a build or the repo made again:\n%s", not, out)
		}
	}
	interrupt(t, again)
	if left := daemonsIn(dir); len(left) > 0 {
		t.Fatalf("left running after the second Ctrl-C: %v", left)
	}
}

// TestDemoWithoutRpmbuild: with no rpmbuild in PATH the demo still runs,
// and the builders say why they are not ready and what to install.
func TestDemoWithoutRpmbuild(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	demo := start(t, "kojictl demo", []string{"PATH=" + t.TempDir()}, bin(t, "kojictl"), "demo", "--no-tui", "--builders", "1", "--dir", dir)
	waitOutput(t, demo, time.Minute, "host builder1: not ready: rpmbuild not found: install")
	out := demo.out.String()
	if !strings.Contains(out, "builds of hello, greeting, broken, greet-devel, motd not submitted: rpmbuild not found") {
		t.Errorf("output does not say the builds were not submitted:\n%s", out)
	}
	interrupt(t, demo)
	if left := daemonsIn(dir); len(left) > 0 {
		t.Fatalf("left running after Ctrl-C: %v", left)
	}
}

// TestDemoRefusesBadArguments: bad arguments exit 2 and create nothing.
func TestDemoRefusesBadArguments(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	for _, args := range [][]string{
		{"--builders", "0"}, {"--builders", "-1"}, {"--builders", "1000"},
		{"--listen", "0.0.0.0:8443"}, {"--listen", "nonsense"}, {"--dir", ""},
	} {
		cmd := exec.Command(bin(t, "kojictl"), append([]string{"demo", "--dir", dir}, args...)...)
		if args[0] == "--dir" {
			cmd = exec.Command(bin(t, "kojictl"), "demo", "--dir", "")
		}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !asExit(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("kojictl demo %v: %v, want exit 2\n%s", args, err, out)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Fatalf("kojictl demo %v created %s", args, dir)
		}
	}
}

func asExit(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*ee = e
	return ok
}

// waitOutput waits for text in a process's output, failing early if it exits.
func waitOutput(t *testing.T, p *proc, d time.Duration, text string) {
	t.Helper()
	waitFor(t, d, fmt.Sprintf("%q in %s's output", text, p.name), func() bool {
		if strings.Contains(p.out.String(), text) {
			return true
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited (%v) before printing %q:\n%s", p.name, p.err, text, tail(p.out.String(), 3000))
		default:
		}
		return false
	})
}

// interrupt sends SIGINT as Ctrl-C does and waits for a clean exit.
func interrupt(t *testing.T, p *proc) {
	t.Helper()
	stopped := time.Now()
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s still running 30 s after SIGINT", p.name)
	}
	t.Logf("%s stopped %v after SIGINT", p.name, time.Since(stopped).Round(10*time.Millisecond))
	if p.err != nil || !strings.Contains(p.out.String(), "kojigo demo: stopped") {
		t.Errorf("%s after SIGINT: %v\n%s", p.name, p.err, tail(p.out.String(), 1500))
	}
}

// demoTasks reads the build task of each sample from the demo's state.
func demoTasks(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Tasks map[string]int64 }
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st.Tasks
}

// daemonsIn lists the live processes whose command line names dir.
func daemonsIn(dir string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		cmd := strings.ReplaceAll(string(b), "\x00", " ")
		if !strings.Contains(cmd, dir+"/") || strings.Contains(cmd, " demo ") {
			continue
		}
		if st, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil && strings.Contains(string(st), ") Z ") {
			continue // a zombie is not running
		}
		out = append(out, fmt.Sprintf("%d %s", pid, cmd))
	}
	return out
}

// TestDemoKilled: when kojictl itself is killed (no chance to clean up),
// the kernel stops its daemons.
func TestDemoKilled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	demo := start(t, "kojictl demo", []string{"PATH=" + t.TempDir()}, bin(t, "kojictl"), "demo", "--no-tui", "--builders", "1", "--dir", dir)
	waitOutput(t, demo, time.Minute, "host builder1: not ready")
	if n := len(daemonsIn(dir)); n != 3 {
		t.Fatalf("%d daemons run from %s, want kojihub, kojid and kojira", n, dir)
	}
	demo.cmd.Process.Kill()
	<-demo.done
	waitFor(t, 20*time.Second, "the daemons to end after kojictl was killed", func() bool { return len(daemonsIn(dir)) == 0 })
}
