package demo

import (
	"os/exec"
	"runtime"
	"syscall"
)

// childAttr puts a child in its own process group (so that the terminal's
// Ctrl-C reaches only kojictl, which stops the children in order) and has
// the kernel send it deathSig should kojictl die without cleaning up.
func childAttr(deathSig syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: deathSig}
}

// startPinned starts cmd and runs wait (which must wait for cmd) on one OS
// thread locked for the child's whole life. The kernel sends Pdeathsig when
// the thread that forked the child exits, not the process
// (golang/go#27505), and Go ends threads whose goroutine exits locked: a
// child started from an arbitrary thread can be killed while kojictl
// lives. The locked goroutine stays blocked in wait, so its thread lives
// exactly as long as the child needs it.
func startPinned(cmd *exec.Cmd, wait func()) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			runtime.UnlockOSThread()
			started <- err
			return
		}
		started <- nil
		wait()
		runtime.UnlockOSThread()
	}()
	return <-started
}
