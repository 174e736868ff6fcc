package demo

import "syscall"

// childAttr puts a child in its own process group (so that the terminal's
// Ctrl-C reaches only kojictl, which stops the children in order) and has
// the kernel send it deathSig should kojictl die without cleaning up.
func childAttr(deathSig syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: deathSig}
}
