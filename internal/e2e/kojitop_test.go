package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kojigo/internal/stockhub"
	"kojigo/internal/testenv"
)

// tmux drives a program in a detached tmux session on its own server, as
// a person at a terminal would: keys in, the screen's text out.
type tmux struct {
	t    *testing.T
	sock string
}

func newTmux(t *testing.T, width, height int, command string) *tmux {
	t.Helper()
	testenv.NeedTool(t, "tmux")
	tm := &tmux{t: t, sock: filepath.Join(t.TempDir(), "tmux.sock")}
	tm.run("new-session", "-d", "-x", fmt.Sprint(width), "-y", fmt.Sprint(height), command)
	t.Cleanup(func() { exec.Command("tmux", "-S", tm.sock, "kill-server").Run() })
	return tm
}

func (tm *tmux) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", tm.sock}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (tm *tmux) keys(keys ...string) {
	tm.t.Helper()
	tm.run(append([]string{"send-keys", "-t", "0"}, keys...)...)
}
func (tm *tmux) text(s string)  { tm.t.Helper(); tm.run("send-keys", "-t", "0", "-l", s) }
func (tm *tmux) screen() string { tm.t.Helper(); return tm.run("capture-pane", "-p", "-t", "0") }

// waitScreen waits until the screen shows every string, and returns how
// long that took.
func (tm *tmux) waitScreen(d time.Duration, what string, want ...string) time.Duration {
	tm.t.Helper()
	start := time.Now()
	for {
		s := tm.screen()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(s, w)
		}
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > d {
			tm.t.Fatalf("after %s the screen does not show %s (%q):\n%s", d, what, want, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKojitopInTmux runs kojitop in tmux against a real hub and kojid and
// does what an operator does: sees the builder ready, sees it go not ready
// with the reason when its workdir fills, disables it with a comment
// through the dialog, sees a new task at once, and jumps to the compiler
// error of a failed build.
func TestKojitopInTmux(t *testing.T) {
	testenv.NeedTool(t, "mount")
	bf := newBuildFarm(t, "sqlite")
	ctx := context.Background()
	small := bf.smallWorkdir(t, 16, 8)

	conf := filepath.Join(t.TempDir(), "koji.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("[e2e]\nserver = %s\nauthtype = password\nuser = kojiadmin\npassword = adminpw\n", bf.url)), 0o600)
	// A 30 s refresh: whatever shows sooner came through kojigo.waitChanges.
	cmd := fmt.Sprintf("NO_COLOR=1 %s -p e2e -c %s --refresh 30s --log %s; sleep 60", bin(t, "kojitop"), conf, filepath.Join(t.TempDir(), "kojitop.log"))
	tm := newTmux(t, 120, 40, cmd)
	tm.waitScreen(20*time.Second, "builder1 ready", "user kojiadmin", "builder1", "✓ ready")

	// The workdir fills below minspace: not ready, with the reason.
	filler := filepath.Join(small, "filler")
	if err := os.WriteFile(filler, make([]byte, 12<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	took := tm.waitScreen(20*time.Second, "builder1 not ready with the reason", "✗ not ready", "workdir /tmp")
	t.Logf("not ready shown %s after the workdir filled (kojid checks in every 2 s)", took.Round(time.Millisecond))
	tm.keys("Enter")
	tm.waitScreen(5*time.Second, "the detail pane with the reason", "why: workdir "+small, "< minspace 8 MiB")

	// Disable it with a comment through the dialog; Cancel has the focus.
	tm.keys("x")
	tm.waitScreen(5*time.Second, "the disable dialog", "Disable host builder1?", "[ Cancel ]")
	tm.text("disk swap by e2e")
	tm.keys("Tab", "Tab", "Enter")
	tm.waitScreen(5*time.Second, "the outcome", "disabled builder1")
	h, err := bf.admin.Call(ctx, "getHost", "builder1")
	if m := asMap(h); err != nil || m["enabled"] != false || m["comment"] != "disk swap by e2e" {
		t.Fatalf("getHost after the dialog: %v %v, want disabled with the comment", h, err)
	}
	tm.waitScreen(5*time.Second, "builder1 disabled", "⏸ disabled", "disk swap by e2e")

	// Make room, enable it again, and submit a build that fails.
	os.Remove(filler)
	if _, err := bf.admin.Call(ctx, "enableHost", "builder1"); err != nil {
		t.Fatal(err)
	}
	tm.keys("2")
	tm.waitScreen(5*time.Second, "the tasks view", "view: tasks")
	src := srpm(t, sample("broken"))
	id := bf.submit(t, src, nil)
	took = tm.waitScreen(5*time.Second, "the new task", fmt.Sprintf(" %d ", id), "build")
	t.Logf("task %d shown %s after it was made", id, took.Round(time.Millisecond))
	if took > time.Second {
		t.Errorf("the new task took %s to show, want within a second (refresh is 30 s: kojigo.waitChanges should have pushed it)", took)
	}
	if info := bf.wait(t, id, 3*time.Minute); asInt(info["state"]) != 5 {
		t.Fatalf("the broken build ended in state %v, want FAILED", info["state"])
	}
	tm.keys("F")
	tm.waitScreen(20*time.Second, "the compiler error of the failed build", "view: logs", "error: expected", "first error at line")
	s := tm.screen()
	if !strings.Contains(s, "broken.c:") {
		t.Errorf("the log view does not show broken.c's error:\n%s", s)
	}
	tm.keys("q")
}

// TestDemoOpensKojitop runs `kojictl demo` in a terminal as a newcomer
// would: the console is the first screen, it shows the farm and the failed
// sample's compiler error, and q stops the farm.
func TestDemoOpensKojitop(t *testing.T) {
	testenv.NeedTool(t, "rpmbuild")
	dir := filepath.Join(t.TempDir(), "demo")
	kojictl := bin(t, "kojictl")
	bin(t, "kojitop")
	cmd := fmt.Sprintf("NO_COLOR=1 HOME=%s %s demo --builders 1 --dir %s; echo demo exited $?; sleep 60", t.TempDir(), kojictl, dir)
	tm := newTmux(t, 120, 40, cmd)
	took := tm.waitScreen(90*time.Second, "kojitop on the demo farm", "kojitop", "user demo-admin", "hosts 1 ready/1 enabled/1")
	t.Logf("the console showed the ready farm %s after the command started", took.Round(100*time.Millisecond))
	tm.waitScreen(3*time.Minute, "the sample builds done", "tasks 0 free 0 open", "2 failed in 1h")
	tm.keys("F")
	tm.waitScreen(30*time.Second, "the sample's compiler error", "view: logs", "broken.c:5:", "error: expected")
	tm.keys("q")
	tm.waitScreen(30*time.Second, "the demo stopping", "console closed; stopping the farm", "kojigo demo: stopped", "demo exited 0")
	if b, err := os.ReadFile(filepath.Join(dir, "logs", "demo.log")); err != nil || !strings.Contains(string(b), "build broken failed") {
		t.Errorf("the demo's report in logs/demo.log: %v\n%s", err, b)
	}
}

// TestKojitopAgainstStockKoji runs the kojitop binary against a replay of
// a stock Koji 1.35.3 hub: the host and task views render without
// kojigo's extensions, as text and in a terminal.
func TestKojitopAgainstStockKoji(t *testing.T) {
	hub, err := stockhub.New()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hub)
	defer srv.Close()
	kojitop := bin(t, "kojitop")
	for view, want := range map[string][]string{
		"hosts": {"(Koji 1.35.3)", "builder1", "n/a", "stock Koji hub"},
		"tasks": {"newRepo", "reason unavailable on this hub"},
	} {
		out, err := exec.Command(kojitop, "--server", srv.URL+"/kojihub", "--noauth", "--batch", "--view", view, "--log", filepath.Join(t.TempDir(), "log")).CombinedOutput()
		if err != nil {
			t.Fatalf("kojitop --batch --view %s: %v\n%s", view, err, out)
		}
		for _, w := range want {
			if !strings.Contains(string(out), w) {
				t.Errorf("--view %s lacks %q:\n%s", view, w, out)
			}
		}
	}
	tm := newTmux(t, 100, 30, fmt.Sprintf("NO_COLOR=1 %s --server %s/kojihub --noauth --log %s; sleep 60", kojitop, srv.URL, filepath.Join(t.TempDir(), "log")))
	tm.waitScreen(10*time.Second, "the hosts view", "builder1", "[RO]", "stock Koji hub: health")
	tm.keys("2")
	tm.waitScreen(5*time.Second, "the tasks view", "view: tasks", "newRepo")
	tm.keys("q")
}
