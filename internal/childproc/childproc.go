// Package childproc starts child processes that must die with their
// parent: the demo's daemons and the end-to-end tests' binaries.
package childproc

import (
	"os/exec"
	"runtime"
)

// StartPinned starts cmd and runs wait (which must wait for cmd) on one OS
// thread locked for the child's whole life. A child's Pdeathsig fires when
// the thread that forked it exits, not the process (golang/go#27505), and
// Go ends threads whose goroutine exits locked: a child started from an
// arbitrary thread can be killed while its parent lives. The locked
// goroutine stays blocked in wait, so its thread lives exactly as long as
// the child needs it. (On systems without Pdeathsig it is harmless.)
func StartPinned(cmd *exec.Cmd, wait func()) error {
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
