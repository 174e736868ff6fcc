//go:build linux && (amd64 || arm64 || riscv64 || loong64 || s390x)

package repogen

import (
	"errors"
	"syscall"
	"unsafe"
)

const renameExchange = 1 << 1 // RENAME_EXCHANGE

// exchange atomically swaps two directories with renameat2(RENAME_EXCHANGE),
// so that readers always see a complete repodata/. It returns errNoExchange
// where the kernel or file system cannot do it.
func exchange(a, b string) error {
	pa, err := syscall.BytePtrFromString(a)
	if err != nil {
		return err
	}
	pb, err := syscall.BytePtrFromString(b)
	if err != nil {
		return err
	}
	_, _, e := syscall.Syscall6(sysRenameat2, atFDCWD, uintptr(unsafe.Pointer(pa)),
		atFDCWD, uintptr(unsafe.Pointer(pb)), renameExchange, 0)
	switch {
	case e == 0:
		return nil
	case errors.Is(e, syscall.ENOSYS), errors.Is(e, syscall.EINVAL), errors.Is(e, syscall.EOPNOTSUPP):
		return errNoExchange
	}
	return e
}

// atFDCWD is AT_FDCWD (-100) as the kernel receives it.
const atFDCWD = ^uintptr(99)
