package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"kojigo/db"
	"kojigo/db/dbtest"
	"kojigo/internal/childproc"
	"kojigo/internal/kojiclient"
	"kojigo/internal/password"
)

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// bin returns the path of a kojigo binary built for this test run.
func bin(t testing.TB, name string) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "kojigo-e2e-bin")
		if binErr != nil {
			return
		}
		root, _ := filepath.Abs("../..")
		cmd := exec.Command("go", "build", "-o", binDir+"/", "./cmd/kojihub", "./cmd/kojid", "./cmd/kojictl", "./cmd/kojira", "./cmd/kojitop")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return filepath.Join(binDir, name)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// proc is a child process whose output is kept for failure reports.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t testing.TB, name string, env []string, path string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(path, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	// SIGKILL from the kernel if the test binary dies: a killed test
	// must not leave a hub and builders on the test database.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := childproc.StartPinned(p.cmd, func() { p.err = p.cmd.Wait(); close(p.done) }); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		p.stop(syscall.SIGTERM, 20*time.Second)
		if t.Failed() {
			t.Logf("---- %s output ----\n%s", name, tail(p.out.String(), 4000))
		}
	})
	return p
}

// stop signals the process and waits, killing its group after grace.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(grace):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// farm is a database with an admin, and the hubs started on it.
type farm struct {
	t       testing.TB
	backend string
	dsn     string
	store   *db.Store
	topdir  string
}

func newFarm(t testing.TB, backend string) *farm {
	t.Helper()
	f := &farm{t: t, backend: backend, topdir: t.TempDir()}
	switch backend {
	case "sqlite":
		f.dsn = "sqlite://" + filepath.Join(t.TempDir(), "koji.db")
	case "postgres":
		base := os.Getenv("KOJI_TEST_PG_DSN")
		dsn, cleanup, err := db.NewTestSchema(pgDSN(t, base))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cleanup)
		f.dsn = dsn
	}
	s, err := db.Open(context.Background(), f.dsn, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.store = s
	f.user("kojiadmin", "adminpw", db.UserNormal, "admin")
	return f
}

func pgDSN(t testing.TB, base string) string {
	t.Helper()
	if base == "" {
		dbtest.Open(t, "postgres") // skips or fails with the reason
	}
	return base
}

// user creates a user with a password and permissions in the database.
func (f *farm) user(name, pw string, usertype int, perms ...string) int64 {
	f.t.Helper()
	ctx := context.Background()
	hash, _ := password.Hash(pw)
	id, err := f.store.CreateUser(ctx, db.User{Name: name, PasswordHash: hash, UserType: usertype})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, p := range perms {
		perm, err := f.store.GetPermByName(ctx, p)
		if err != nil {
			f.t.Fatal(err)
		}
		f.store.GrantPerm(ctx, id, perm.ID, nil)
	}
	return id
}

// hub starts a kojihub process on the farm's database and returns its URL.
func (f *farm) hub(env ...string) (string, *proc) {
	f.t.Helper()
	addr := freeAddr(f.t)
	p := start(f.t, "kojihub "+addr, append([]string{"KOJI_HUB_LOGLEVEL=info"}, env...), bin(f.t, "kojihub"),
		"--db", f.dsn, "--topdir", f.topdir, "--listen", addr)
	url := "http://" + addr + "/kojihub"
	waitFor(f.t, 20*time.Second, "kojihub to answer", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return url, p
}

// client logs in to a hub with a password.
func client(t testing.TB, url, user, pw string) *kojiclient.Client {
	t.Helper()
	c, err := kojiclient.New(kojiclient.Options{Server: url, Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(context.Background(), user, pw); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return c
}

func waitFor(t testing.TB, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func asInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }
func asList(v any) []any         { l, _ := v.([]any); return l }

func hashPW(pw string) (string, error) { return password.Hash(pw) }
