package demo

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"kojigo/internal/childproc"
)

// findBinary looks for a kojigo executable in binDir, else next to the
// running executable, else in PATH.
func findBinary(name, binDir string) (string, error) {
	var dirs []string
	if binDir != "" {
		dirs = append(dirs, binDir)
	} else if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dirs = append(dirs, filepath.Dir(exe))
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if binDir == "" {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	where := "next to kojictl or in PATH"
	if binDir != "" {
		where = "in " + binDir
	}
	return "", fmt.Errorf("%s not found %s: build every binary with `make` (into bin/) or `go build -o bin/ ./cmd/...`, then run bin/kojictl demo", name, where)
}

// child is a daemon the demo started, in its own process group, with its
// output appended to a log file.
type child struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// deathSig is what the child gets from the kernel if kojictl dies without
// stopping it (Linux): the hub stops cleanly on SIGTERM; a kojid would keep
// retrying to hand its tasks back to a hub that is gone, so it is killed
// (its builds die with it; the hub frees their tasks after HostTimeout).
func startChild(name, logFile string, deathSig syscall.Signal, path string, args ...string) (*child, error) {
	f, err := os.OpenFile(logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	defer f.Close()
	fmt.Fprintf(f, "---- kojictl demo starts %s at %s ----\n", name, time.Now().UTC().Format(time.RFC3339))
	c := &child{name: name, log: logFile, done: make(chan struct{})}
	c.cmd = exec.Command(path, args...)
	c.cmd.Stdout, c.cmd.Stderr = f, f
	c.cmd.SysProcAttr = childAttr(deathSig)
	if err := childproc.StartPinned(c.cmd, func() { c.err = c.cmd.Wait(); close(c.done) }); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return c, nil
}

// exited reports whether the process has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to grace, then kills the process group.
// Whatever the daemon left in its group is killed as well.
func (c *child) stop(grace time.Duration) error {
	pgid := c.cmd.Process.Pid
	if !c.exited() {
		c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(grace):
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-c.done
			syscall.Kill(-pgid, syscall.SIGKILL)
			return fmt.Errorf("%s did not stop within %v: killed", c.name, grace)
		}
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill what %s left: %w", c.name, err)
	}
	return nil
}
