//go:build unix

package repogen

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive flock on path, failing at once with ErrBusy if
// another process holds it, and returns the function that removes the file
// and drops the lock. The kernel drops the lock when the process dies, so a
// killed run leaves at most an empty, unlocked file behind, which does not
// block the next run (and which that run removes).
//
// Because the holder unlinks the file before unlocking it, a run may lock a
// file that is no longer at path (it opened it just before the unlink); it
// then tries again with the file now at path, so two runs never both
// believe they hold the lock.
func lockDir(path string) (func(), error) {
	for range 100 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("open lock file: %w", err)
		}
		held, err := lockOpened(f, path)
		if err != nil {
			f.Close()
			return nil, err
		}
		if !held {
			f.Close() // unlinked by its previous holder meanwhile
			continue
		}
		return func() {
			os.Remove(path)
			syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			f.Close()
		}, nil
	}
	return nil, fmt.Errorf("%w (lock %s keeps being replaced)", ErrBusy, path)
}

// lockOpened flocks f, opened at path, and reports whether f is still the
// file at path, that is whether the lock is really held.
func lockOpened(f *os.File, path string) (bool, error) {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return false, fmt.Errorf("%w (lock %s)", ErrBusy, path)
		}
		return false, fmt.Errorf("lock %s: %w", path, err)
	}
	if !samePath(f, path) {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false, nil
	}
	return true, nil
}

// samePath reports whether the open file f is still the file at path.
func samePath(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}
