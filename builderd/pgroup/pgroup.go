package pgroup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultGrace is how long a process group has between SIGINT and SIGKILL
// when Cmd.Grace is zero.
const DefaultGrace = 3 * time.Second

// Cmd is a command to run in a new process group.
type Cmd struct {
	Path string   // executable; looked up in PATH when it has no slash
	Args []string // arguments without the program name
	Dir  string   // working directory; "" is the daemon's
	// Env is the complete environment; nil means an empty one (never the
	// daemon's own, which may hold credentials).
	Env    []string
	Stdout io.Writer // nil discards
	Stderr io.Writer // nil discards
	// Credential runs the command as another user (the daemon must be root).
	Credential *syscall.Credential
	// Grace is the time between SIGINT and SIGKILL. 0: DefaultGrace.
	Grace time.Duration
	// Timeout stops the command (as a cancellation) after this long. 0: none.
	Timeout time.Duration
	// Started, when set, is called with the process group id once the
	// command runs (kojid records it to clean up after a crash).
	Started func(pgid int)
}

// Result is how a command ended.
type Result struct {
	ExitCode int            // -1 when killed by a signal
	Signal   syscall.Signal // the signal that ended it, 0 otherwise
	Duration time.Duration
	// Stopped is set when Run stopped the command because ctx ended or
	// Timeout passed; StopCause is context.Cause(ctx) or ErrTimeout.
	Stopped   bool
	StopCause error
}

// ErrTimeout is the StopCause of a command that ran longer than Cmd.Timeout.
var ErrTimeout = errors.New("timed out")

// Success reports whether the command exited 0 on its own.
func (r Result) Success() bool { return r.ExitCode == 0 && r.Signal == 0 && !r.Stopped }

// String describes the end as "exit status 1", "killed by signal 9" or
// "stopped (timed out) after 5s".
func (r Result) String() string {
	var s string
	switch {
	case r.Signal != 0:
		s = fmt.Sprintf("killed by signal %d (%v)", int(r.Signal), r.Signal)
	default:
		s = fmt.Sprintf("exit status %d", r.ExitCode)
	}
	if r.Stopped {
		s = fmt.Sprintf("stopped (%v), %s", r.StopCause, s)
	}
	return s
}

// Run starts c in a new process group and waits for it. When ctx ends or
// the timeout passes, the group gets SIGINT, then SIGKILL after the grace
// period. Whatever way the leader ends, the remaining members of the group
// get SIGKILL before Run returns, so no background process outlives it.
// The error is only for a command that could not be started.
func Run(ctx context.Context, c Cmd) (Result, error) {
	if c.Path == "" {
		return Result{}, errors.New("run: empty command")
	}
	grace := c.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Stdout = c.Stdout
	cmd.Stderr = c.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Credential: c.Credential,
		// The leader dies with the daemon; the rest of the group is
		// cleaned up from the recorded pgid when kojid restarts.
		Pdeathsig: syscall.SIGKILL,
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("run %s: %w", c.Path, err)
	}
	pgid := cmd.Process.Pid
	if c.Started != nil {
		c.Started(pgid)
	}
	waitc := make(chan error, 1)
	go func() { waitc <- cmd.Wait() }()

	var timeout <-chan time.Time
	if c.Timeout > 0 {
		t := time.NewTimer(c.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	var res Result
	var werr error
	select {
	case werr = <-waitc:
	case <-ctx.Done():
		res.Stopped, res.StopCause = true, context.Cause(ctx)
		werr = stop(pgid, grace, waitc)
	case <-timeout:
		res.Stopped, res.StopCause = true, ErrTimeout
		werr = stop(pgid, grace, waitc)
	}
	// Leftovers (daemons a build started in the background) go too.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	res.Duration = time.Since(start)
	res.ExitCode = cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.Signal = ws.Signal()
	}
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) {
		// An I/O error copying output; the process itself has ended.
		return res, fmt.Errorf("run %s: %w", c.Path, werr)
	}
	return res, nil
}

// stop interrupts the group, waits up to grace, then kills it.
func stop(pgid int, grace time.Duration, waitc <-chan error) error {
	_ = syscall.Kill(-pgid, syscall.SIGINT)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case err := <-waitc:
		return err
	case <-t.C:
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	return <-waitc
}

// Members returns the live (not zombie) processes of process group pgid, read
// from procDir ("" is /proc).
func Members(procDir string, pgid int) ([]int, error) {
	if procDir == "" {
		procDir = "/proc"
	}
	ents, err := os.ReadDir(procDir)
	if err != nil {
		return nil, fmt.Errorf("members of %d: %w", pgid, err)
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procDir, e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		state, pg, ok := parseStat(b)
		if ok && pg == pgid && state != 'Z' && state != 'X' {
			out = append(out, pid)
		}
	}
	return out, nil
}

// parseStat returns the state and process group of a /proc/PID/stat line.
// The command name may hold spaces and parentheses, so fields are counted
// after the last ')'.
func parseStat(b []byte) (state byte, pgrp int, ok bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 3 || len(f[0]) != 1 {
		return 0, 0, false
	}
	pg, err := strconv.Atoi(f[2])
	if err != nil {
		return 0, 0, false
	}
	return f[0][0], pg, true
}

// KillIfTagged sends SIGKILL to process group pgid only when one of its live
// members carries env (for example "KOJID_TASK=123") in its environment, so
// that a reused process group id is never hit. kojid calls it after a crash
// for the groups its previous run recorded. It reports whether it killed.
func KillIfTagged(procDir string, pgid int, env string) (bool, error) {
	if procDir == "" {
		procDir = "/proc"
	}
	if pgid <= 1 {
		return false, fmt.Errorf("kill group %d: not a process group", pgid)
	}
	if env == "" || !strings.Contains(env, "=") {
		return false, fmt.Errorf("kill group %d: tag %q is not NAME=VALUE", pgid, env)
	}
	pids, err := Members(procDir, pgid)
	if err != nil {
		return false, err
	}
	for _, pid := range pids {
		b, err := os.ReadFile(filepath.Join(procDir, strconv.Itoa(pid), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(b, []byte{0}) {
			if string(kv) != env {
				continue
			}
			if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				return false, fmt.Errorf("kill group %d: %w", pgid, err)
			}
			return true, nil
		}
	}
	return false, nil
}
