package pgroup

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func sh(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("sh: %v", err)
	}
	return p
}

// waitGone polls until process group pgid has no live member.
func waitGone(t testing.TB, pgid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		m, err := Members("", pgid)
		if err != nil {
			t.Fatal(err)
		}
		if len(m) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still has %v after %v", pgid, m, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunExit(t *testing.T) {
	tests := []struct {
		script  string
		code    int
		out     string
		success bool
	}{
		{"echo hello; echo err >&2", 0, "hello\nerr\n", true},
		{"exit 3", 3, "", false},
		{"echo ${HOME-unset} ${USER-unset}", 0, "unset unset\n", true}, // empty environment by default
		{"kill -TERM $$", -1, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.script, func(t *testing.T) {
			var out bytes.Buffer
			res, err := Run(context.Background(), Cmd{Path: sh(t), Args: []string{"-c", tc.script}, Stdout: &out, Stderr: &out})
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tc.code || res.Success() != tc.success || out.String() != tc.out {
				t.Errorf("Run(%q) = %+v output %q, want code %d success %v output %q", tc.script, res, out.String(), tc.code, tc.success, tc.out)
			}
		})
	}
}

func TestRunSignalResult(t *testing.T) {
	res, err := Run(context.Background(), Cmd{Path: sh(t), Args: []string{"-c", "kill -KILL $$"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Signal != syscall.SIGKILL || !strings.Contains(res.String(), "killed by signal 9") {
		t.Errorf("Result = %+v %q, want killed by SIGKILL", res, res.String())
	}
}

func TestRunStartErrors(t *testing.T) {
	for _, c := range []Cmd{{}, {Path: "/nonexistent/tool"}, {Path: "/etc/passwd"}} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("Run(%+v) = nil error", c)
		}
	}
}

func TestCancelKillsWholeGroup(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	pgc := make(chan int, 1)
	done := make(chan Result, 1)
	cause := errors.New("canceled by hub")
	go func() {
		// A child in the background and one in the foreground, as make and gcc.
		res, err := Run(ctx, Cmd{Path: sh(t), Args: []string{"-c", "sleep 300 & sleep 300; wait"},
			Started: func(pgid int) { pgc <- pgid }})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	pgid := <-pgc
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, _ := Members("", pgid)
		if len(m) >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	cancel(cause)
	res := <-done
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Run returned %v after cancel, want well within the grace period", el)
	}
	if !res.Stopped || !errors.Is(res.StopCause, cause) || res.Success() {
		t.Errorf("Result = %+v, want stopped by %v", res, cause)
	}
	waitGone(t, pgid, 2*time.Second)
}

func TestCancelIgnoringSIGINTGetsKilledAfterGrace(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pgc := make(chan int, 1)
	done := make(chan Result, 1)
	go func() {
		res, _ := Run(ctx, Cmd{Path: sh(t), Args: []string{"-c", "trap '' INT; echo ready; while :; do sleep 0.05; done"},
			Grace: 300 * time.Millisecond, Started: func(pgid int) { pgc <- pgid }})
		done <- res
	}()
	pgid := <-pgc
	time.Sleep(100 * time.Millisecond) // let the shell install its trap
	start := time.Now()
	cancel()
	res := <-done
	el := time.Since(start)
	if el < 300*time.Millisecond || el > 3*time.Second {
		t.Errorf("stopped after %v, want about the 300ms grace", el)
	}
	if res.Signal != syscall.SIGKILL {
		t.Errorf("Result = %+v, want SIGKILL", res)
	}
	waitGone(t, pgid, 2*time.Second)
}

func TestTimeout(t *testing.T) {
	res, err := Run(context.Background(), Cmd{Path: sh(t), Args: []string{"-c", "sleep 300"}, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Stopped || !errors.Is(res.StopCause, ErrTimeout) || !strings.Contains(res.String(), "timed out") {
		t.Errorf("Result = %+v (%s), want stopped by timeout", res, res)
	}
}

func TestBackgroundLeftoversKilledOnNormalExit(t *testing.T) {
	var pgid int
	res, err := Run(context.Background(), Cmd{Path: sh(t), Args: []string{"-c", "sleep 300 >/dev/null 2>&1 & exit 0"},
		Started: func(p int) { pgid = p }})
	if err != nil || !res.Success() {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	waitGone(t, pgid, 2*time.Second)
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		in    string
		state byte
		pgrp  int
		ok    bool
	}{
		{"123 (sleep) S 1 123 123 0", 'S', 123, true},
		{"5 (a) b (c)) Z 1 77 77", 'Z', 77, true},
		{"", 0, 0, false},
		{"1 (x) S 1", 0, 0, false},
		{"1 (x) SS 1 2 3", 0, 0, false},
		{"1 (x) S 1 x 3", 0, 0, false},
	}
	for _, tc := range tests {
		s, p, ok := parseStat([]byte(tc.in))
		if s != tc.state || p != tc.pgrp || ok != tc.ok {
			t.Errorf("parseStat(%q) = %c %d %v, want %c %d %v", tc.in, s, p, ok, tc.state, tc.pgrp, tc.ok)
		}
	}
}

func TestKillIfTagged(t *testing.T) {
	if _, err := KillIfTagged("", 1, "KOJID_TASK=1"); err == nil {
		t.Error("KillIfTagged(pgid 1) = nil error")
	}
	if _, err := KillIfTagged("", 12345, "notag"); err == nil {
		t.Error("KillIfTagged(bad tag) = nil error")
	}
	start := func(env string) *exec.Cmd {
		c := exec.Command(sh(t), "-c", "sleep 300")
		c.Env = []string{env}
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL); _ = c.Wait() })
		return c
	}
	other := start("KOJID_TASK=99")
	if killed, err := KillIfTagged("", other.Process.Pid, "KOJID_TASK=7"); err != nil || killed {
		t.Errorf("KillIfTagged(other task) = %v, %v; want untouched", killed, err)
	}
	mine := start("KOJID_TASK=7")
	killed, err := KillIfTagged("", mine.Process.Pid, "KOJID_TASK=7")
	if err != nil || !killed {
		t.Fatalf("KillIfTagged(mine) = %v, %v", killed, err)
	}
	_ = mine.Wait()
	waitGone(t, mine.Process.Pid, 2*time.Second)
	if m, _ := Members("", other.Process.Pid); len(m) == 0 {
		t.Error("the other task's group died too")
	}
	if killed, err := KillIfTagged("", mine.Process.Pid, "KOJID_TASK=7"); err != nil || killed {
		t.Errorf("KillIfTagged(gone) = %v, %v; want false, nil", killed, err)
	}
}
