//go:build !linux

package demo

import "syscall"

// childAttr puts a child in its own process group, so that the terminal's
// Ctrl-C reaches only kojictl, which stops the children in order.
func childAttr(syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
