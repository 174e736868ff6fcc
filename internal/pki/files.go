package pki

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// MaxFileSize is the largest certificate, key or CA file read (1 MiB); a
// bigger file is not what it claims to be and is refused unread.
const MaxFileSize = 1 << 20

// readFile reads a PEM file named by a config key, refusing directories,
// devices, fifos and anything over MaxFileSize, and explains every failure as
// an *Error. what names the file's role ("certificate", "key", "CA").
func readFile(path, what string) ([]byte, error) {
	if path == "" {
		return nil, newError(ProblemMissing, nil, "no %s file is configured; set its path", what)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, statError(path, what, err)
	}
	if fi.IsDir() {
		return nil, newError(ProblemNotAFile, nil, "%s file %s is a directory; point the setting at the PEM file inside it", what, path)
	}
	if !fi.Mode().IsRegular() {
		return nil, newError(ProblemNotAFile, nil, "%s file %s is not a regular file (%s); point the setting at a PEM file", what, path, fi.Mode().Type())
	}
	if fi.Size() > MaxFileSize {
		return nil, newError(ProblemTooLarge, nil, "%s file %s is %d bytes, far too big for a PEM %s (limit %d); check that the setting names the right file", what, path, fi.Size(), what, MaxFileSize)
	}
	// O_NONBLOCK: a path swapped for a fifo between Stat and Open must not hang us.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, statError(path, what, err)
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, newError(ProblemNotAFile, err, "%s file %s is not a regular file; point the setting at a PEM file", what, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, newError(ProblemUnreadable, err, "cannot read %s file %s: %v; check the disk and the file", what, path, err)
	}
	if len(data) > MaxFileSize {
		return nil, newError(ProblemTooLarge, nil, "%s file %s is over %d bytes, far too big for a PEM %s; check that the setting names the right file", what, path, MaxFileSize, what)
	}
	return data, nil
}

func statError(path, what string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if lfi, lerr := os.Lstat(path); lerr == nil && lfi.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(path)
			return newError(ProblemMissing, err, "%s file %s is a symlink to %s, which does not exist; fix the link or the setting", what, path, target)
		}
		return newError(ProblemMissing, err, "%s file %s does not exist; fix the path or create it with kojictl certs", what, path)
	case errors.Is(err, fs.ErrPermission):
		return newError(ProblemUnreadable, err, "%s file %s is not readable by %s (%s); run as the file's owner or give that user read access", what, path, currentUser(), fileOwnerMode(path))
	case errors.Is(err, syscall.ELOOP):
		return newError(ProblemNotAFile, err, "%s file %s is a symlink loop; fix the link or the setting", what, path)
	case errors.Is(err, syscall.ENOTDIR):
		return newError(ProblemMissing, err, "%s file %s does not exist: a parent of it is a file, not a directory; fix the path", what, path)
	}
	return newError(ProblemUnreadable, err, "cannot open %s file %s: %v; fix the path or the file", what, path, err)
}

func currentUser() string {
	uid := os.Getuid()
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return fmt.Sprintf("user %s", u.Username)
	}
	return fmt.Sprintf("uid %d", uid)
}

// fileOwnerMode describes the owner and mode of path, or of the nearest
// parent directory we can stat, for permission messages.
func fileOwnerMode(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		dir := filepath.Dir(path)
		if dfi, derr := os.Stat(dir); derr == nil {
			return fmt.Sprintf("its directory %s is %s, mode %04o", dir, ownerName(dfi), dfi.Mode().Perm())
		}
		return err.Error()
	}
	return fmt.Sprintf("owner %s, mode %04o", ownerName(fi), fi.Mode().Perm())
}

func ownerName(fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "unknown"
	}
	if u, err := user.LookupId(strconv.FormatUint(uint64(st.Uid), 10)); err == nil {
		return u.Username
	}
	return "uid " + strconv.FormatUint(uint64(st.Uid), 10)
}

// writeAtomic writes data to path through a temporary file in the same
// directory: write, fsync, chmod, rename, fsync the directory. Readers see the
// old file or the new one, never a part.
func writeAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file 0600, so a key is never readable by others,
	// not even for a moment.
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// errTooManyFiles is the accept error a listener retries after a pause.
const errTooManyFiles = syscall.EMFILE
