//go:build linux && (arm64 || riscv64 || loong64 || s390x)

package repogen

import "syscall"

const sysRenameat2 = syscall.SYS_RENAMEAT2
