package main

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the cluster's admin connection

	"kojigo/db"
	"kojigo/internal/kojiclient"
	"kojigo/internal/password"
	"kojigo/internal/pki"
)

// proc is one incarnation of a daemon; its output goes to a log file.
type proc struct {
	name   string
	logf   string
	cmd    *exec.Cmd
	done   chan struct{}
	killed bool      // SIGKILLed by a fault
	ended  time.Time // when it exited; read after done is closed
}

// endedBefore reports whether the incarnation had exited before t.
func (p *proc) endedBefore(t time.Time) bool {
	select {
	case <-p.done:
		return p.ended.Before(t)
	default:
		return false
	}
}

// daemon is a farm member that can be killed and restarted: every
// incarnation keeps its own log file.
type daemon struct {
	name string
	args func() []string
	path string
	env  []string
	mu   sync.Mutex
	incs []*proc
}

func (d *daemon) cur() *proc {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.incs[len(d.incs)-1]
}

func (d *daemon) start(dir string) error {
	d.mu.Lock()
	n := len(d.incs)
	d.mu.Unlock()
	p := &proc{name: d.name, logf: filepath.Join(dir, fmt.Sprintf("%s.%d.log", d.name, n)), done: make(chan struct{})}
	f, err := os.Create(p.logf)
	if err != nil {
		return err
	}
	p.cmd = exec.Command(d.path, d.args()...)
	p.cmd.Env = append(os.Environ(), d.env...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	// SIGKILL from the kernel if chaos dies: nothing is left behind.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the forking thread exits (golang/go#27505):
		// keep it locked and blocked in Wait for the child's life.
		runtime.LockOSThread()
		if err := p.cmd.Start(); err != nil {
			runtime.UnlockOSThread()
			f.Close()
			started <- err
			return
		}
		started <- nil
		p.cmd.Wait()
		p.ended = time.Now()
		f.Close()
		close(p.done)
		runtime.UnlockOSThread()
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start %s: %w", d.name, err)
	}
	d.mu.Lock()
	d.incs = append(d.incs, p)
	d.mu.Unlock()
	return nil
}

// kill9 kills the current incarnation with SIGKILL and waits for it.
func (d *daemon) kill9() {
	p := d.cur()
	p.killed = true
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop ends the current incarnation with SIGTERM, its group with SIGKILL after grace.
func (d *daemon) stop(grace time.Duration) {
	d.mu.Lock()
	if len(d.incs) == 0 {
		d.mu.Unlock()
		return
	}
	p := d.incs[len(d.incs)-1]
	d.mu.Unlock()
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// logSize is the current incarnation's log length, a mark for logSince.
func (d *daemon) logSize() int64 {
	fi, err := os.Stat(d.cur().logf)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func (d *daemon) logSince(mark int64) string {
	b, _ := os.ReadFile(d.cur().logf)
	if int64(len(b)) < mark {
		return ""
	}
	return string(b[mark:])
}

// pgCluster is a private PostgreSQL cluster: restarted and stopped at will
// without touching the machine's shared server.
type pgCluster struct {
	pgctl, base, port, logf string
}

func pgTool(name string) (string, error) {
	for _, v := range []string{"17", "16", "15", "14", "13"} {
		p := filepath.Join("/usr/lib/postgresql", v, "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return exec.LookPath(name)
}

func newPGCluster(base string) (*pgCluster, error) {
	initdb, err := pgTool("initdb")
	if err != nil {
		return nil, err
	}
	pgctl, err := pgTool("pg_ctl")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, err
	}
	if out, err := exec.Command("chown", "postgres:", base).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("chown postgres %s: %v %s (chaos needs root and a postgres user)", base, err, out)
	}
	os.Chmod(base, 0o755)
	c := &pgCluster{pgctl: pgctl, base: base, logf: filepath.Join(base, "postgres.log")}
	_, c.port, _ = strings.Cut(freeAddr(), ":")
	if out, err := c.asPostgres(initdb, "-D", c.data(), "-A", "trust", "-U", "postgres", "--no-sync"); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	return c, c.start()
}

func (c *pgCluster) data() string { return filepath.Join(c.base, "data") }

func (c *pgCluster) asPostgres(args ...string) (string, error) {
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--"}, args...)...)
	cmd.Dir = c.base
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *pgCluster) pg(args ...string) error {
	out, err := c.asPostgres(append([]string{c.pgctl, "-D", c.data()}, args...)...)
	if err != nil {
		return fmt.Errorf("pg_ctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (c *pgCluster) opts() string {
	return fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300", c.port, c.base)
}

func (c *pgCluster) start() error { return c.pg("-o", c.opts(), "-l", c.logf, "start", "-w") }
func (c *pgCluster) stop() error  { return c.pg("stop", "-m", "fast", "-w") }
func (c *pgCluster) restart() error {
	return c.pg("-o", c.opts(), "-l", c.logf, "restart", "-m", "fast", "-w")
}

// pids returns the postmaster and its children.
func (c *pgCluster) pids() []int {
	b, err := os.ReadFile(filepath.Join(c.data(), "postmaster.pid"))
	if err != nil {
		return nil
	}
	var pm int
	fmt.Sscan(strings.SplitN(string(b), "\n", 2)[0], &pm)
	if pm == 0 {
		return nil
	}
	out := []int{pm}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(st)
		if i := strings.LastIndexByte(s, ')'); i > 0 {
			var state string
			var ppid int
			fmt.Sscan(s[i+1:], &state, &ppid)
			if ppid == pm {
				out = append(out, pid)
			}
		}
	}
	return out
}

func (c *pgCluster) createDB(user, pw, name string) (string, error) {
	admin, err := sql.Open("pgx", fmt.Sprintf("postgres://postgres@127.0.0.1:%s/postgres?sslmode=disable", c.port))
	if err != nil {
		return "", err
	}
	defer admin.Close()
	for _, q := range []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", user, pw),
		fmt.Sprintf("CREATE DATABASE %s OWNER %s", name, user),
	} {
		if _, err := admin.Exec(q); err != nil {
			return "", fmt.Errorf("%s: %w", q, err)
		}
	}
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%s/%s?sslmode=disable", user, pw, c.port, name), nil
}

// freeAddrOn returns a free port on ip as an address.
func freeAddrOn(ip string) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// mountTmpfs mounts a tmpfs of sizeMB on dir.
func mountTmpfs(dir string, sizeMB int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", sizeMB), "tmpfs", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %v %s (chaos needs root)", dir, err, out)
	}
	return nil
}

// farm is the running system under test.
type farm struct {
	cfg     config
	dir     string
	bin     string
	pg      *pgCluster
	dsn     string
	store   *db.Store
	topdir  string
	works   []string
	hubAddr []string
	hubURL  []string       // base URL of each hub: http://hubA, https://hubB
	hubHTTP []*http.Client // for /healthz: hub B's trusts the farm's CA
	hubs    []*daemon
	kojids  []*daemon
	kojira  *daemon
	clients []*kojiclient.Client // admin, one per hub
	rr      int
	rrMu    sync.Mutex
	hostIDs map[int64]int // host id -> kojid index
	ns      *netns        // nsBuilder's network namespace; hub B listens on its link
	pki     pki.Dir       // the farm's CA and certificates
	hubCert string        // hub B's HTTPS certificate and key
	hubKey  string
	cutMu   sync.Mutex
	cuts    []cutWindow  // links cut by link-cut, for check
	tr      *tracker     // the builds; link-cut adds a burst
	burst   atomic.Int64 // numbers of the burst's builds, above the schedule's
	cleanup []func()
}

const (
	adminPW   = "chaosadminpw"
	nBuilders = 4
	// workdirMB is each builder's workdir tmpfs; kojidMinSpace the
	// space below which kojid reports not ready.
	workdirMB     = 96
	kojidMinSpace = 16
	hubMinSpaceMB = 32
	// hostTimeout is the hubs' HostTimeout: a host silent this long loses
	// its OPEN tasks. link-cut keeps the link down past it; 30 s (not
	// Koji's 900) keeps the short form short and is well above the
	// builders' 2 s check-ins and the 10 s of pg-sigstop.
	hostTimeout = 30 * time.Second
	// readyTimeout is the hubs' ReadyTimeout: a host silent this long is
	// marked not ready.
	readyTimeout = 20 * time.Second
	// nsBuilder is the builder in its own network namespace (builder4).
	nsBuilder = 3
)

func (f *farm) atExit(fn func()) { f.cleanup = append(f.cleanup, fn) }

func (f *farm) close() {
	for i := len(f.cleanup) - 1; i >= 0; i-- {
		f.cleanup[i]()
	}
}

func (f *farm) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "chaos %s: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// setup builds the binaries and starts the whole farm.
func (f *farm) setup(ctx context.Context) error {
	f.bin = filepath.Join(f.dir, "bin")
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	f.logf("building the binaries into %s", f.bin)
	build := exec.Command("go", "build", "-o", f.bin+"/", "./cmd/kojihub", "./cmd/kojid", "./cmd/kojictl", "./cmd/kojira")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}

	f.logf("starting a private PostgreSQL cluster")
	pg, err := newPGCluster(filepath.Join(f.dir, "pg"))
	if pg != nil {
		f.pg = pg
		f.atExit(func() {
			for _, p := range pg.pids() { // a fault may have left it stopped
				syscall.Kill(p, syscall.SIGCONT)
			}
			pg.stop()
		})
	}
	if err != nil {
		return err
	}
	if f.dsn, err = pg.createDB("kojichaos", "kojichaospw", "kojichaos"); err != nil {
		return err
	}

	f.topdir = filepath.Join(f.dir, "top")
	topMB := 512
	if !f.cfg.short {
		topMB = 2048
	}
	if err := mountTmpfs(f.topdir, topMB); err != nil {
		return err
	}
	f.atExit(func() { exec.Command("umount", "-l", f.topdir).Run() })
	for i := range nBuilders {
		w := filepath.Join(f.dir, fmt.Sprintf("work%d", i+1))
		if err := mountTmpfs(w, workdirMB); err != nil {
			return err
		}
		f.atExit(func() { exec.Command("umount", "-l", w).Run() })
		os.MkdirAll(filepath.Join(w, "mock"), 0o755)
		f.works = append(f.works, w)
	}

	removeStaleNetns(f.logf)
	if f.ns, err = newNetns(); err != nil {
		return err
	}
	f.atExit(f.ns.remove)
	f.logf("builder%d runs in network namespace %s (%s, hub B on %s)", nsBuilder+1, f.ns.name, f.ns.nsIP, f.ns.rootIP)
	if err := f.setupPKI(); err != nil {
		return err
	}

	store, err := db.Open(ctx, f.dsn, db.Options{})
	if err != nil {
		return err
	}
	f.store = store
	f.atExit(func() { store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		return err
	}
	if err := f.user(ctx, "kojiadmin", adminPW, "admin"); err != nil {
		return err
	}
	if err := f.user(ctx, "kojira", "kojirapw", "repo"); err != nil {
		return err
	}

	hubEnv := []string{
		"KOJI_HUB_LOGLEVEL=info",
		fmt.Sprintf("KOJI_HUB_HOSTTIMEOUT=%d", int(hostTimeout.Seconds())),
		fmt.Sprintf("KOJI_HUB_READYTIMEOUT=%d", int(readyTimeout.Seconds())), "KOJI_HUB_RUNINTERVAL=5",
		fmt.Sprintf("KOJI_HUB_TOPDIRMINSPACE=%d", hubMinSpaceMB),
	}
	caTLS, err := pki.ClientTLSConfig("", "", f.pki.CAFile())
	if err != nil {
		return err
	}
	for i := range 2 {
		// hub A: plain HTTP on loopback; hub B: HTTPS with client
		// certificates on the root end of the namespace's link, which
		// the root namespace reaches as well, cut or not.
		addr, env, scheme, tr := freeAddr(), hubEnv, "http", http.DefaultTransport
		if i == 1 {
			if addr, err = freeAddrOn(f.ns.rootIP); err != nil {
				return err
			}
			env = append(slices.Clip(hubEnv), "KOJI_HUB_TLSCERT="+f.hubCert, "KOJI_HUB_TLSKEY="+f.hubKey, "KOJI_HUB_TLSCLIENTCA="+f.pki.CAFile())
			scheme = "https"
			t := http.DefaultTransport.(*http.Transport).Clone()
			t.TLSClientConfig = caTLS
			tr = t
		}
		h := &daemon{name: fmt.Sprintf("kojihub%c", 'A'+i), path: filepath.Join(f.bin, "kojihub"), env: env,
			args: func() []string { return []string{"--db", f.dsn, "--topdir", f.topdir, "--listen", addr} }}
		f.hubAddr = append(f.hubAddr, addr)
		f.hubURL = append(f.hubURL, scheme+"://"+addr)
		f.hubHTTP = append(f.hubHTTP, &http.Client{Transport: tr})
		f.hubs = append(f.hubs, h)
		if err := h.start(f.dir); err != nil {
			return err
		}
		f.atExit(func() { h.stop(20 * time.Second) })
	}
	for i := range 2 {
		if err := f.waitHub(ctx, i, 30*time.Second); err != nil {
			return err
		}
		o := kojiclient.Options{Server: f.url(i), Timeout: time.Minute, MaxRetryTime: 90 * time.Second}
		if i == 1 {
			o.ServerCAFile = f.pki.CAFile()
		}
		c, err := kojiclient.New(o)
		if err != nil {
			return err
		}
		if err := c.Login(ctx, "kojiadmin", adminPW); err != nil {
			return fmt.Errorf("login on hub %d: %w", i, err)
		}
		f.clients = append(f.clients, c)
	}

	call := func(method string, args ...any) error {
		_, err := f.clients[0].Call(ctx, method, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		return nil
	}
	if err := call("createTag", "dist"); err != nil {
		return err
	}
	if err := call("createTag", "dist-build", kojiclient.Kw{"parent": "dist", "arches": "x86_64"}); err != nil {
		return err
	}
	if err := call("createBuildTarget", "dist-candidate", "dist-build", "dist"); err != nil {
		return err
	}
	for i := range pkgNames {
		if err := call("packageListAdd", "dist", pkgName(i), kojiclient.Kw{"owner": "kojiadmin"}); err != nil {
			return err
		}
	}
	f.hostIDs = map[int64]int{}
	hash, _ := password.Hash("builderpw")
	for i := range nBuilders {
		name := fmt.Sprintf("builder%d", i+1)
		if err := call("addHost", name, []any{"x86_64"}); err != nil {
			return err
		}
		if err := call("addHostToChannel", name, "createrepo"); err != nil {
			return err
		}
		login := fmt.Sprintf("cert = %s\nserverca = %s\n", f.certFile(i), f.pki.CAFile())
		if !certBuilder(i) {
			login = fmt.Sprintf("user = %s\npassword = builderpw\ncert =\n", name)
			u, err := store.GetUserByName(ctx, name)
			if err != nil {
				return err
			}
			if err := store.SetPassword(ctx, u.ID, hash); err != nil {
				return err
			}
		}
		h, err := f.clients[0].Call(ctx, "getHost", name)
		if err != nil {
			return err
		}
		f.hostIDs[asInt(asMap(h)["id"])] = i
		conf := filepath.Join(f.dir, name+".conf")
		// builders 1 and 3 talk to hub A, 2 and 4 to hub B
		os.WriteFile(conf, []byte(fmt.Sprintf(`[kojid]
server = %s
topdir = %s
workdir = %s
mockdir = %s/mock
%suse_mock = no
minspace = %d
maxjobs = 3
sleeptime = 2
maxload = 0
`, f.url(i%2), f.topdir, f.works[i], f.works[i], login, kojidMinSpace)), 0o600)
		kojid := filepath.Join(f.bin, "kojid")
		d := &daemon{name: "kojid-" + name, path: kojid,
			args: func() []string { return []string{"-c", conf, "--force-lock"} }}
		if i == nsBuilder {
			// ip netns exec execs kojid in the namespace: the same
			// process, so Pdeathsig, the process group and kill9 hold.
			if d.path, err = exec.LookPath("ip"); err != nil {
				return err
			}
			d.args = func() []string { return []string{"netns", "exec", f.ns.name, kojid, "-c", conf, "--force-lock"} }
		}
		f.kojids = append(f.kojids, d)
		if err := d.start(f.dir); err != nil {
			return err
		}
		f.atExit(func() { d.stop(20 * time.Second) })
	}
	for i := range nBuilders {
		if err := f.waitReady(ctx, i, true, 60*time.Second); err != nil {
			return err
		}
	}
	kconf := filepath.Join(f.dir, "kojira.conf")
	os.WriteFile(kconf, []byte(fmt.Sprintf("[kojira]\nserver = %s\nserverca = %s\ntopdir = %s\ncert =\nuser = kojira\npassword = kojirapw\nsleeptime = 1\n", f.url(1), f.pki.CAFile(), f.topdir)), 0o600)
	f.kojira = &daemon{name: "kojira", path: filepath.Join(f.bin, "kojira"),
		args: func() []string { return []string{"-c", kconf, "--force-lock"} }}
	if err := f.kojira.start(f.dir); err != nil {
		return err
	}
	f.atExit(func() { f.kojira.stop(20 * time.Second) })

	f.logf("making the first repo of dist-build")
	v, err := f.clients[0].Call(ctx, "newRepo", "dist-build")
	if err != nil {
		return fmt.Errorf("newRepo: %w", err)
	}
	id := asInt(v)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		info, err := f.client().Call(ctx, "getTaskInfo", id)
		st := asInt(asMap(info)["state"])
		if err == nil && st == taskClosed {
			break
		}
		if err == nil && (st == taskFailed || st == taskCanceled) || time.Now().After(deadline) {
			return fmt.Errorf("first newRepo task %d did not close (state %d, %v)", id, st, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	return nil
}

func (f *farm) user(ctx context.Context, name, pw string, perms ...string) error {
	hash, err := password.Hash(pw)
	if err != nil {
		return err
	}
	id, err := f.store.CreateUser(ctx, db.User{Name: name, PasswordHash: hash, UserType: db.UserNormal})
	if err != nil {
		return err
	}
	for _, p := range perms {
		perm, err := f.store.GetPermByName(ctx, p)
		if err != nil {
			return err
		}
		if err := f.store.GrantPerm(ctx, id, perm.ID, nil); err != nil {
			return err
		}
	}
	return nil
}

func (f *farm) url(i int) string { return f.hubURL[i] + "/kojihub" }

// client returns the admin client of the next hub, round-robin.
func (f *farm) client() *kojiclient.Client {
	f.rrMu.Lock()
	defer f.rrMu.Unlock()
	f.rr++
	return f.clients[f.rr%len(f.clients)]
}

// call makes a call through the hubs in turn, trying the other hub once
// when the first fails for a reason other than a fault.
func (f *farm) call(ctx context.Context, method string, args ...any) (any, error) {
	v, err := f.client().Call(ctx, method, args...)
	if err != nil {
		if _, ok := err.(*kojiclient.Fault); !ok {
			v, err = f.client().Call(ctx, method, args...)
		}
	}
	return v, err
}

// healthz asks a hub's /healthz with a short timeout: "ok", or why not.
func (f *farm) healthz(i int, timeout time.Duration) string {
	c := http.Client{Transport: f.hubHTTP[i].Transport, Timeout: timeout}
	resp, err := c.Get(f.hubURL[i] + "/healthz")
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	var b [512]byte
	n, _ := resp.Body.Read(b[:])
	s := strings.TrimSpace(string(b[:n]))
	if resp.StatusCode != 200 {
		return fmt.Sprintf("%d: %s", resp.StatusCode, s)
	}
	return s
}

func (f *farm) waitHub(ctx context.Context, i int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for f.healthz(i, 2*time.Second) != "ok" {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("hub %s did not answer ok on /healthz within %v: %s", f.hubAddr[i], d, f.healthz(i, 2*time.Second))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// waitReady waits for builder i's ready flag in the hub to be want.
func (f *farm) waitReady(ctx context.Context, i int, want bool, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		h, err := f.call(ctx, "getHost", fmt.Sprintf("builder%d", i+1))
		if err == nil && asMap(h)["ready"] == want {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("builder%d not ready=%v within %v", i+1, want, d)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m: %v", err)
	}
	return strings.TrimSpace(string(out)), nil
}

func asInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case float64:
		return int64(x)
	}
	return 0
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }
func asList(v any) []any         { l, _ := v.([]any); return l }

const (
	taskFree     = 0
	taskOpen     = 1
	taskClosed   = 2
	taskCanceled = 3
	taskAssigned = 4
	taskFailed   = 5
)
