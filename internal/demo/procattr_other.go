//go:build !linux

package demo

import (
	"os/exec"
	"syscall"
)

// childAttr puts a child in its own process group, so that the terminal's
// Ctrl-C reaches only kojictl, which stops the children in order.
func childAttr(syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// startPinned starts cmd and runs wait in the background.
func startPinned(cmd *exec.Cmd, wait func()) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	go wait()
	return nil
}
