package pkitest

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// ChildEnv is set in the environment of a test binary started by
// RunAsNobody; the child test reads its job from there.
const ChildEnv = "KOJIGO_PKITEST_CHILD"

// RunAsNobody runs the test named testName of the current test binary as
// user nobody (uid 65534), with ChildEnv=job, and returns its output. Root
// reads every file whatever its mode, so "unreadable file" can only be shown
// to another user. When not root, the test itself already runs unprivileged
// and RunAsNobody returns ok=false: the caller checks in-process.
func RunAsNobody(t testing.TB, testName, job string) (out string, ok bool) {
	t.Helper()
	if os.Getuid() != 0 {
		return "", false
	}
	// The go tool keeps test binaries in a 0700 directory: copy ours where
	// nobody can execute it.
	dir := OpenTempDir(t)
	bin := filepath.Join(dir, "child.test")
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	cmd := exec.Command(bin, "-test.run=^"+testName+"$", "-test.v")
	cmd.Env = append(os.Environ(), ChildEnv+"="+job, "HOME=/nonexistent", "GOCACHE=/nonexistent", "TMPDIR="+os.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	b, err := cmd.CombinedOutput()
	if err != nil && !strings.Contains(string(b), "--- PASS") {
		t.Fatalf("child test as nobody: %v\n%s", err, b)
	}
	return string(b), true
}

// OpenTempDir returns a new temporary directory that every user may enter
// (t.TempDir makes 0700 directories), for files another user must reach.
func OpenTempDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
