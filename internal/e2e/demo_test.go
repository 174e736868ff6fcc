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
// directory: the two sample packages that should build are CLOSED, tagged
// into demo and install with rpm; the broken one FAILED and its log is
// shown; Ctrl-C leaves no daemon running; a second run resumes without
// building anything again.
func TestDemo(t *testing.T) {
	testenv.NeedTool(t, "rpmbuild")
	testenv.NeedTool(t, "rpm")
	dir := filepath.Join(t.TempDir(), "demo")
	kojictl := bin(t, "kojictl")

	began := time.Now()
	demo := start(t, "kojictl demo", nil, kojictl, "demo", "--no-tui", "--dir", dir)
	waitOutput(t, demo, 3*time.Minute, "kojigo demo: all sample builds finished")
	t.Logf("kojictl demo: all sample builds finished %v after start", time.Since(began).Round(100*time.Millisecond))
	out := demo.out.String()
	for _, want := range []string{
		"host builder1: ready", "host builder2: ready",
		"kojigo demo: hub https://127.0.0.1:",
		"client profile [kojigo-demo] in " + filepath.Join(dir, "koji.conf"),
		"build hello: submitted", "build greeting: submitted", "build broken: submitted",
		"buildArch broken", "last lines of build.log of task",
		"hello CLOSED, greeting CLOSED, broken FAILED (as intended)",
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
	for pkg, want := range map[string]int64{"hello": 2, "greeting": 2, "broken": 5} {
		if st := asInt(asMap(call("getTaskInfo", tasks[pkg]))["state"]); st != want {
			t.Errorf("build task of %s (%d) in state %d, want %d", pkg, tasks[pkg], st, want)
		}
	}
	tagged := asList(call("listTagged", "demo"))
	var nvrs []string
	for _, b := range tagged {
		nvrs = append(nvrs, fmt.Sprint(asMap(b)["nvr"]))
	}
	if got := strings.Join(nvrs, " "); len(nvrs) != 2 || !strings.Contains(got, "hello-1.0-1") || !strings.Contains(got, "greeting-2.1-3") {
		t.Fatalf("listTagged demo = %v, want hello and greeting", nvrs)
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
	for _, f := range []string{"usr/bin/hello", "usr/share/greeting/greeting.txt"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
	c.Logout(ctx)

	// the commands the demo prints work as written
	for _, line := range strings.Split(out, "\n") {
		cmdline, ok := strings.CutPrefix(line, "kojigo demo:   kojictl ")
		if !ok {
			continue
		}
		printed := exec.Command(kojictl, strings.Fields(cmdline)...)
		if b, err := printed.CombinedOutput(); err != nil || !strings.Contains(string(b), "builder1") {
			t.Errorf("the printed command kojictl %s: %v\n%s", cmdline, err, b)
		}
	}
	for _, args := range [][]string{{"--batch", "--view", "hosts"}, {"--batch", "--view", "tasks"}} {
		kt := exec.Command(bin(t, "kojitop"), append([]string{"-p", "kojigo-demo", "-c", filepath.Join(dir, "koji.conf")}, args...)...)
		if b, err := kt.CombinedOutput(); err != nil || !strings.Contains(string(b), "builder2") {
			t.Errorf("kojitop %v: %v\n%s", args, err, b)
		}
	}

	// Ctrl-C stops every child
	if n := len(daemonsIn(dir)); n != 3 {
		t.Errorf("%d daemons run from %s, want kojihub and 2 kojid", n, dir)
	}
	interrupt(t, demo)
	if left := daemonsIn(dir); len(left) > 0 {
		t.Fatalf("left running after Ctrl-C: %v", left)
	}

	// a second run resumes: nothing built again, the failure shown again
	again := start(t, "kojictl demo again", nil, kojictl, "demo", "--no-tui", "--dir", dir)
	waitOutput(t, again, time.Minute, "kojigo demo: all sample builds finished")
	out = again.out.String()
	for _, want := range []string{
		"resuming in " + dir,
		"build hello: hello-1.0-1 already built and tagged into demo",
		"build greeting: greeting-2.1-3 already built and tagged into demo",
		fmt.Sprintf("build broken: following task %d from the previous run (FAILED)", tasks["broken"]),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("second run's output lacks %q", want)
		}
	}
	if strings.Contains(out, "submitted") {
		t.Errorf("second run submitted a build:\n%s", out)
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
	if !strings.Contains(out, "builds of hello, greeting, broken not submitted: rpmbuild not found") {
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
	if n := len(daemonsIn(dir)); n != 2 {
		t.Fatalf("%d daemons run from %s, want kojihub and kojid", n, dir)
	}
	demo.cmd.Process.Kill()
	<-demo.done
	waitFor(t, 20*time.Second, "the daemons to end after kojictl was killed", func() bool { return len(daemonsIn(dir)) == 0 })
}
