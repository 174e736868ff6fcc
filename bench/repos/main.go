// Command repos-bench measures repo regeneration through the hub, as a farm
// runs it: kojihub and one kojid (createrepo channel, use_mock=no,
// createrepo_update=yes) as child processes on a fresh topdir and database,
// N packages imported with importRPM (as `koji import --create-build`) and
// tagged into one tag, then newRepo. It prints, for a full regeneration and
// for an update after one more package is tagged (the median of -updates
// such updates, one more package each time): the wall time from the
// newRepo request to a READY repo, kojid's CPU, resident memory before and
// peak (VmHWM, reset before each run), the hub's CPU (and its PostgreSQL
// backends') spent computing the package list, and the progress samples read
// with kojigo.getRepoProgress while it ran.
//
//	go run ./bench/repos -n 1000
//	go run ./bench/repos -n 12788
//	go run ./bench/repos -n 1000 -pg 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//
// The corpus is generated with rpmcorpus (../shared/repogen/rpmcorpus) into
// /var/tmp/rpmcorpus/nN when missing and kept for later runs; the rpmcorpus
// binary is built from -rpmcorpus-src when -rpmcorpus does not exist.
// Packages are uploaded through the hub (uploadFile's raw upload, as koji
// import does) unless -link, which hard-links them into the work directory
// as `koji import --link` does.
package main

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"kojigo/db"
	"kojigo/internal/kojiclient"
	"kojigo/internal/password"
	"kojigo/internal/rpmhdr"
)

type config struct {
	n            int
	corpus       string
	rpmcorpus    string
	rpmcorpusSrc string
	pg           string
	link         bool
	workers      int
	updates      int
	keep         bool
	poll         time.Duration
	timeout      time.Duration
	sleeptime    time.Duration
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var c config
	flag.IntVar(&c.n, "n", 12788, "packages in the corpus (and so in the tag)")
	flag.StringVar(&c.corpus, "corpus", "", "corpus directory (default /var/tmp/rpmcorpus/nN; generated if missing)")
	flag.StringVar(&c.rpmcorpus, "rpmcorpus", "/var/tmp/rpmcorpus-bin", "rpmcorpus binary (built from -rpmcorpus-src if missing)")
	flag.StringVar(&c.rpmcorpusSrc, "rpmcorpus-src", "/work/shared/repogen/rpmcorpus", "rpmcorpus source directory")
	flag.StringVar(&c.pg, "pg", "", "PostgreSQL server DSN: run on a private database created there and dropped after (default: SQLite)")
	flag.BoolVar(&c.link, "link", false, "hard-link packages into the work directory instead of uploading them (koji import --link)")
	flag.IntVar(&c.workers, "workers", 4, "concurrent import sessions")
	flag.IntVar(&c.updates, "updates", 3, "updates measured, one more package tagged before each (the median is reported)")
	flag.BoolVar(&c.keep, "keep", false, "keep the topdir and logs")
	flag.DurationVar(&c.poll, "poll", 100*time.Millisecond, "longest wait between polls of the task and its progress (a task change ends it at once)")
	flag.DurationVar(&c.timeout, "timeout", 30*time.Minute, "longest wait for one newRepo")
	flag.DurationVar(&c.sleeptime, "sleeptime", 200*time.Millisecond, "kojid's sleeptime (poll interval); its task pick-up latency is part of the wall time")
	flag.Parse()
	if err := run(ctx, c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "repos-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config, out io.Writer) error {
	if c.n <= 0 || c.workers <= 0 || c.poll <= 0 || c.timeout <= 0 || c.sleeptime <= 0 || c.updates <= 0 {
		return errors.New("-n, -workers, -updates, -poll, -timeout and -sleeptime must be positive")
	}
	if c.corpus == "" {
		c.corpus = fmt.Sprintf("/var/tmp/rpmcorpus/n%d", c.n)
	}
	tmp, err := os.MkdirTemp("/var/tmp", "repos-bench")
	if err != nil {
		return err
	}
	if c.keep {
		fmt.Fprintln(out, "keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	start := time.Now()
	step := func(format string, args ...any) {
		fmt.Fprintf(out, "[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}

	step("building kojihub and kojid")
	bin := filepath.Join(tmp, "bin")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin+"/", "kojigo/cmd/kojihub", "kojigo/cmd/kojid")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if o, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build kojihub and kojid: %v\n%s", err, o)
	}
	if err := ensureRPMCorpus(ctx, c); err != nil {
		return err
	}
	if err := ensureCorpus(ctx, c, c.corpus, c.n, 0); err != nil {
		return err
	}
	// The next packages of the same corpus; the first of a new source
	// package is the one added (an older build of a package already tagged
	// would replace its newer build in the repo).
	extraDir := fmt.Sprintf("%s-next%d", c.corpus, extraCandidates)
	if err := ensureCorpus(ctx, c, extraDir, c.n+extraCandidates, c.n); err != nil {
		return err
	}
	pkgs, err := readCorpus(c.corpus)
	if err != nil {
		return err
	}
	candidates, err := readCorpus(extraDir)
	if err != nil {
		return err
	}
	extras := newPackages(pkgs, candidates, c.updates)
	if len(extras) < c.updates {
		return fmt.Errorf("only %d of the %d packages in %s are of new source packages, -updates %d needs as many", len(extras), len(candidates), extraDir, c.updates)
	}
	step("corpus %s: %d rpms", c.corpus, len(pkgs))

	backend, dsn, dbName := "sqlite", "sqlite://"+filepath.Join(tmp, "koji.db"), ""
	if c.pg != "" {
		backend = "postgres"
		var drop func()
		dsn, dbName, drop, err = privateDatabase(ctx, c.pg)
		if err != nil {
			return err
		}
		defer drop()
	}
	store, err := db.Open(ctx, dsn, db.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := store.Migrate(ctx); err != nil {
		return err
	}
	if err := addUsers(ctx, store); err != nil {
		return err
	}
	top := filepath.Join(tmp, "top")
	if err := os.MkdirAll(top, 0o755); err != nil {
		return err
	}
	hub, err := startHub(ctx, filepath.Join(bin, "kojihub"), dsn, top, filepath.Join(tmp, "hub.log"))
	if err != nil {
		return err
	}
	defer hub.stop()
	step("%s: kojihub pid %d at %s", backend, hub.pid, hub.url)

	admin, err := login(ctx, hub.url, "admin")
	if err != nil {
		return err
	}
	importStart := time.Now()
	if err := setupTag(ctx, admin, pkgs); err != nil {
		return err
	}
	mode := "uploaded through the hub (raw uploadFile, as koji import)"
	if c.link {
		mode = "hard-linked into work/ (as koji import --link)"
	}
	if err := importAll(ctx, c, hub.url, top, pkgs, step); err != nil {
		return err
	}
	importTime := time.Since(importStart)
	tagStart := time.Now()
	builds, err := tagAll(ctx, admin, pkgs)
	if err != nil {
		return err
	}
	step("imported %d rpms in %d builds (%s) in %.1fs, %.0f rpms/s; tagged in %.1fs", len(pkgs), builds, mode,
		importTime.Seconds(), float64(len(pkgs))/importTime.Seconds(), time.Since(tagStart).Seconds())

	kojid, err := startKojid(ctx, filepath.Join(bin, "kojid"), hub.url, top, tmp, c.sleeptime)
	if err != nil {
		return err
	}
	defer kojid.stop()
	if err := waitReady(ctx, admin); err != nil {
		return fmt.Errorf("%w\nkojid log:\n%s", err, tail(kojid.logPath))
	}
	step("kojid pid %d ready in the createrepo channel (sleeptime %v)", kojid.pid, c.sleeptime)

	m := &meter{hub: hub, kojid: kojid, admin: admin, poll: c.poll, timeout: c.timeout}
	if dbName != "" {
		if m.pg, err = pgWatcher(ctx, c.pg, dbName); err != nil {
			return err
		}
		defer m.pg.Close()
	}
	step("full regeneration: newRepo dist")
	full, err := m.regen(ctx)
	if err != nil {
		return fmt.Errorf("full regeneration: %w\nkojid log:\n%s", err, tail(kojid.logPath))
	}
	// An update is short, so the machine's noise weighs on it most: it is
	// measured -updates times, one more package each time, and the run
	// with the median wall time is reported.
	var upds []result
	prev := full.repoID
	for i, p := range extras {
		extra := []pkg{p}
		step("update %d/%d: tagging one more package: %s", i+1, len(extras), p.file)
		if err := addBuilds(ctx, admin, extra); err != nil {
			return err
		}
		if err := importOne(ctx, admin, top, p, c.link); err != nil {
			return err
		}
		if _, err := tagAll(ctx, admin, extra); err != nil {
			return err
		}
		step("update %d/%d: newRepo dist (createrepo_update from repo %d)", i+1, len(extras), prev)
		upd, err := m.regen(ctx)
		if err != nil {
			return fmt.Errorf("update: %w\nkojid log:\n%s", err, tail(kojid.logPath))
		}
		upds, prev = append(upds, upd), upd.repoID
	}
	report(out, backend, len(pkgs), full, upds, m.pg != nil)
	return nil
}

// extraCandidates is how many packages past N are looked at for the one
// package tagged before the update run.
const extraCandidates = 30

// newPackages returns up to n candidates, each of a source package the
// corpus does not have and of a different one (an older build of a package
// already tagged would replace its newer build in the repo).
func newPackages(corpus, candidates []pkg, n int) []pkg {
	have := map[string]bool{}
	for _, p := range corpus {
		have[p.srcName] = true
	}
	var out []pkg
	for _, p := range candidates {
		if len(out) < n && !have[p.srcName] {
			have[p.srcName] = true
			out = append(out, p)
		}
	}
	return out
}

// pkg is one RPM of the corpus.
type pkg struct {
	file, path      string
	name, sourceRPM string
	srcName, srcNVR string
	srcVer, srcRel  string
	epoch           *int64
}

// readCorpus reads the headers of the corpus's RPMs.
func readCorpus(dir string) ([]pkg, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	rd := rpmhdr.NewReader(rpmhdr.Limits{})
	var out []pkg
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".rpm") {
			continue
		}
		p := pkg{file: e.Name(), path: filepath.Join(dir, e.Name())}
		f, err := os.Open(p.path)
		if err != nil {
			return nil, err
		}
		h, err := rd.Read(f, -1)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.path, err)
		}
		p.name = h.Main.String(rpmhdr.TagName)
		p.sourceRPM = h.Main.String(rpmhdr.TagSourceRPM)
		if e, ok := h.Main.Number(rpmhdr.TagEpoch); ok {
			v := int64(e)
			p.epoch = &v
		}
		nvr := strings.TrimSuffix(p.sourceRPM, ".src.rpm")
		i := strings.LastIndexByte(nvr, '-')
		j := strings.LastIndexByte(nvr[:max(i, 0)], '-')
		if i <= 0 || j <= 0 {
			return nil, fmt.Errorf("%s: SOURCERPM %q is not N-V-R.src.rpm", p.path, p.sourceRPM)
		}
		p.srcNVR, p.srcName, p.srcVer, p.srcRel = nvr, nvr[:j], nvr[j+1:i], nvr[i+1:]
		out = append(out, p)
	}
	return out, nil
}

func ensureRPMCorpus(ctx context.Context, c config) error {
	if _, err := os.Stat(c.rpmcorpus); err == nil {
		return nil
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", c.rpmcorpus, ".")
	cmd.Dir = c.rpmcorpusSrc
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if o, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("no rpmcorpus at %s and building it from %s failed: %v\n%s", c.rpmcorpus, c.rpmcorpusSrc, err, o)
	}
	return nil
}

// ensureCorpus writes packages from..n-1 of the seed-1 corpus into dir
// unless dir exists; it is written under a temporary name and renamed, so
// an interrupted run leaves no partial corpus behind.
func ensureCorpus(ctx context.Context, c config, dir string, n, from int) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	part := dir + ".part"
	os.RemoveAll(part)
	cmd := exec.CommandContext(ctx, c.rpmcorpus, "-n", strconv.Itoa(n), "-start", strconv.Itoa(from), "-out", part, "-seed", "1", "-q")
	if o, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("rpmcorpus -n %d -start %d: %v\n%s", n, from, err, o)
	}
	return os.Rename(part, dir)
}

// privateDatabase creates a database for the run on the server and returns
// its DSN, its name, and a function that drops it.
func privateDatabase(ctx context.Context, serverDSN string) (string, string, func(), error) {
	u, err := url.Parse(serverDSN)
	if err != nil {
		return "", "", nil, fmt.Errorf("-pg: %w", err)
	}
	name := fmt.Sprintf("kojibench_repos_%d_%d", os.Getpid(), time.Now().Unix())
	adm, err := sql.Open("pgx", serverDSN)
	if err != nil {
		return "", "", nil, err
	}
	if _, err := adm.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		adm.Close()
		return "", "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop := func() {
		if _, err := adm.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "repos-bench: drop database %s: %v\n", name, err)
		}
		adm.Close()
	}
	u.Path = "/" + name
	return u.String(), name, drop, nil
}

const benchPassword = "benchpw"

// addUsers makes the admin and the builder's host in the createrepo channel.
func addUsers(ctx context.Context, s *db.Store) error {
	hash, err := password.Hash(benchPassword)
	if err != nil {
		return err
	}
	adminID, err := s.CreateUser(ctx, db.User{Name: "admin", PasswordHash: hash})
	if err != nil {
		return err
	}
	perm, err := s.GetPermByName(ctx, "admin")
	if err != nil {
		return err
	}
	if err := s.GrantPerm(ctx, adminID, perm.ID, nil); err != nil {
		return err
	}
	ch, err := s.GetChannelByName(ctx, "createrepo")
	if err != nil {
		return err
	}
	uid, err := s.CreateUser(ctx, db.User{Name: "builder1", UserType: db.UserHost, PasswordHash: hash})
	if err != nil {
		return err
	}
	_, err = s.CreateHost(ctx, db.Host{UserID: uid, Name: "builder1", Arches: "x86_64"}, []int64{ch.ID})
	return err
}

// proc is a child process.
type proc struct {
	cmd     *exec.Cmd
	pid     int
	url     string
	logPath string
	done    chan struct{}
}

func (p *proc) stop() {
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

func startProc(argv []string, env []string, logPath string) (*proc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p := &proc{cmd: exec.Command(argv[0], argv[1:]...), logPath: logPath, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p.pid = p.cmd.Process.Pid
	go func() { p.cmd.Wait(); logf.Close(); close(p.done) }()
	return p, nil
}

func startHub(ctx context.Context, bin, dsn, top, logPath string) (*proc, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	p, err := startProc([]string{bin, "--db", dsn, "--topdir", top, "--listen", addr}, []string{"KOJI_HUB_LOGLEVEL=warn"}, logPath)
	if err != nil {
		return nil, err
	}
	p.url = "http://" + addr + "/kojihub"
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		select {
		case <-p.done:
			return nil, fmt.Errorf("kojihub exited:\n%s", tail(logPath))
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return p, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("kojihub did not listen within 30s:\n%s", tail(logPath))
}

func startKojid(ctx context.Context, bin, hubURL, top, tmp string, sleeptime time.Duration) (*proc, error) {
	work := filepath.Join(tmp, "kojid")
	for _, d := range []string{"work", "mock"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			return nil, err
		}
	}
	conf := filepath.Join(tmp, "kojid.conf")
	text := fmt.Sprintf(`[kojid]
server = %s
topdir = %s
workdir = %s/work
mockdir = %s/mock
user = builder1
password = %s
cert =
use_mock = no
minspace = 10
maxjobs = 2
sleeptime = %dms
maxload = 0
createrepo_update = yes
`, hubURL, top, work, work, benchPassword, sleeptime.Milliseconds())
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return nil, err
	}
	return startProc([]string{bin, "-c", conf, "--force-lock"}, nil, filepath.Join(tmp, "kojid.log"))
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func login(ctx context.Context, hubURL, user string) (*kojiclient.Client, error) {
	c, err := kojiclient.New(kojiclient.Options{Server: hubURL, Timeout: 10 * time.Minute})
	if err != nil {
		return nil, err
	}
	if err := c.Login(ctx, user, benchPassword); err != nil {
		return nil, fmt.Errorf("login %s: %w", user, err)
	}
	return c, nil
}

func waitReady(ctx context.Context, admin *kojiclient.Client) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		h, err := admin.Call(ctx, "getHost", "builder1")
		if m, ok := h.(map[string]any); err == nil && ok && m["ready"] == true {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("kojid did not check in ready within 60s")
}

// multi sends calls in batches of 500 and fails on the first fault.
func multi(ctx context.Context, c *kojiclient.Client, calls []kojiclient.CallSpec) error {
	for len(calls) > 0 {
		n := min(len(calls), 500)
		res, err := c.MultiCall(ctx, calls[:n])
		if err != nil {
			return err
		}
		if err := kojiclient.FirstFault(res); err != nil {
			return err
		}
		calls = calls[n:]
	}
	return nil
}

// setupTag creates the tag, lists every source package in it, and creates
// the empty builds, as koji import --create-build does before importing
// binaries whose SRPM it was not given.
func setupTag(ctx context.Context, admin *kojiclient.Client, pkgs []pkg) error {
	if _, err := admin.Call(ctx, "createTag", "dist", kojiclient.Kw{"arches": "x86_64"}); err != nil {
		return err
	}
	return addBuilds(ctx, admin, pkgs)
}

func addBuilds(ctx context.Context, admin *kojiclient.Client, pkgs []pkg) error {
	var lists, builds []kojiclient.CallSpec
	seenPkg, seenBuild := map[string]bool{}, map[string]bool{}
	for _, p := range pkgs {
		if !seenPkg[p.srcName] {
			seenPkg[p.srcName] = true
			lists = append(lists, kojiclient.CallSpec{Method: "packageListAdd", Args: []any{"dist", p.srcName, kojiclient.Kw{"owner": "admin"}}})
		}
		if !seenBuild[p.srcNVR] {
			seenBuild[p.srcNVR] = true
			var epoch any
			if p.epoch != nil {
				epoch = *p.epoch
			}
			builds = append(builds, kojiclient.CallSpec{Method: "createEmptyBuild", Args: []any{p.srcName, p.srcVer, p.srcRel, epoch}})
		}
	}
	if err := multi(ctx, admin, lists); err != nil {
		return fmt.Errorf("packageListAdd: %w", err)
	}
	if err := multi(ctx, admin, builds); err != nil {
		return fmt.Errorf("createEmptyBuild: %w", err)
	}
	return nil
}

// importAll imports every package with c.workers sessions.
func importAll(ctx context.Context, c config, hubURL, top string, pkgs []pkg, step func(string, ...any)) error {
	var next, done atomic.Int64
	errc := make(chan error, c.workers)
	t0 := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < c.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := login(ctx, hubURL, "admin")
			if err != nil {
				errc <- err
				return
			}
			for {
				i := int(next.Add(1)) - 1
				if i >= len(pkgs) || ctx.Err() != nil {
					return
				}
				if err := importOne(ctx, cl, top, pkgs[i], c.link); err != nil {
					errc <- err
					next.Store(int64(len(pkgs)))
					return
				}
				if d := done.Add(1); d%max(int64(len(pkgs))/10, 1) == 0 {
					step("imported %d/%d (%.0f/s)", d, len(pkgs), float64(d)/time.Since(t0).Seconds())
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc
}

// importOne uploads (or links) one RPM into its own work directory and
// calls importRPM.
func importOne(ctx context.Context, cl *kojiclient.Client, top string, p pkg, link bool) error {
	dir := "cli-import/" + strings.TrimSuffix(p.file, ".rpm")
	if link {
		full := filepath.Join(top, "work", dir)
		if err := os.MkdirAll(full, 0o755); err != nil {
			return err
		}
		if err := os.Link(p.path, filepath.Join(full, p.file)); err != nil {
			return fmt.Errorf("-link: %w (the corpus and /var/tmp must be on one filesystem)", err)
		}
	} else if err := cl.UploadFile(ctx, p.path, dir, p.file, nil); err != nil {
		return fmt.Errorf("upload %s: %w", p.file, err)
	}
	if _, err := cl.Call(ctx, "importRPM", dir, p.file); err != nil {
		return fmt.Errorf("importRPM %s: %w", p.file, err)
	}
	return nil
}

// tagAll tags the packages' builds into dist and returns how many.
func tagAll(ctx context.Context, admin *kojiclient.Client, pkgs []pkg) (int, error) {
	var calls []kojiclient.CallSpec
	seen := map[string]bool{}
	for _, p := range pkgs {
		if !seen[p.srcNVR] {
			seen[p.srcNVR] = true
			calls = append(calls, kojiclient.CallSpec{Method: "tagBuildBypass", Args: []any{"dist", p.srcNVR}})
		}
	}
	if err := multi(ctx, admin, calls); err != nil {
		return 0, fmt.Errorf("tagBuildBypass: %w", err)
	}
	return len(calls), nil
}

// cpuTicks is utime+stime of a process, in clock ticks (USER_HZ, 100/s).
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st, nil
}

const tick = 10 * time.Millisecond // USER_HZ 100

// statusKiB reads a "VmXxx:  N kB" line of /proc/<pid>/status.
func statusKiB(pid int, key string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, key+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// pgBackends finds the PostgreSQL backends serving the run's database.
type pgBackends struct {
	db   *sql.DB
	name string
}

func pgWatcher(ctx context.Context, serverDSN, name string) (*pgBackends, error) {
	d, err := sql.Open("pgx", serverDSN)
	if err != nil {
		return nil, err
	}
	d.SetMaxOpenConns(1)
	return &pgBackends{db: d, name: name}, d.PingContext(ctx)
}

func (p *pgBackends) Close() { p.db.Close() }

// pids are the backends of the database other than the watcher's own
// (which connects to another database anyway).
func (p *pgBackends) pids(ctx context.Context) ([]int, error) {
	rows, err := p.db.QueryContext(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", p.name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return nil, err
		}
		out = append(out, pid)
	}
	return out, rows.Err()
}

// cpuSample is the hub's and its database backends' CPU at one time.
type cpuSample struct {
	at     time.Time
	hub    int64
	pg     int64 // -1 when not measured
	kojidK int64
}

// meter runs and measures one newRepo.
type meter struct {
	hub, kojid *proc
	admin      *kojiclient.Client
	pg         *pgBackends
	poll       time.Duration
	timeout    time.Duration
}

// result is one regeneration's figures.
type result struct {
	repoID, task    int64
	wall            time.Duration
	kojidCPU        time.Duration
	rssBefore, peak int64 // KiB
	listHub, listPG time.Duration
	listWindow      time.Duration
	repoInitWall    time.Duration
	engine          time.Duration // the createrepo task, start to completion
	packages        int64
	progress        []string
}

func (m *meter) regen(ctx context.Context) (result, error) {
	var r result
	// VmHWM is reset so that the peak is this run's (clear_refs 5, Linux 4.0+).
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", m.kojid.pid), []byte("5"), 0); err != nil {
		return r, fmt.Errorf("reset kojid's peak RSS: %w", err)
	}
	r.rssBefore = statusKiB(m.kojid.pid, "VmRSS")
	k0, err := cpuTicks(m.kojid.pid)
	if err != nil {
		return r, err
	}
	ri0, _, err := repoInitMetric(ctx, m.hub.url)
	if err != nil {
		return r, err
	}

	// Sample the hub's (and PostgreSQL's) CPU from /proc every 10 ms, with
	// no call to the hub, to read it later at the hub's own timestamps.
	sctx, stopSampling := context.WithCancel(ctx)
	var samples []cpuSample
	var sampling sync.WaitGroup
	sampling.Add(1)
	go func() {
		defer sampling.Done()
		var pids []int
		lastPids := time.Time{}
		for {
			s := cpuSample{at: time.Now(), pg: -1}
			s.hub, _ = cpuTicks(m.hub.pid)
			if m.pg != nil {
				if time.Since(lastPids) > 250*time.Millisecond {
					if p, err := m.pg.pids(sctx); err == nil {
						pids, lastPids = p, time.Now()
					}
				}
				s.pg = 0
				for _, pid := range pids {
					t, _ := cpuTicks(pid)
					s.pg += t
				}
			}
			samples = append(samples, s)
			select {
			case <-sctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()

	t0 := time.Now()
	v, err := m.admin.Call(ctx, "newRepo", "dist")
	if err != nil {
		stopSampling()
		sampling.Wait()
		return r, fmt.Errorf("newRepo: %w", err)
	}
	r.task = asInt(v)
	lastProgress := ""
	deadline := t0.Add(m.timeout)
	// Between polls the bench waits on kojigo.waitChanges, as kojitop does:
	// it returns as soon as a task changes, so the wall time is not rounded
	// up to the poll interval.
	var token any
	for {
		if time.Now().After(deadline) {
			stopSampling()
			sampling.Wait()
			return r, fmt.Errorf("newRepo task %d not done within %v", r.task, m.timeout)
		}
		if p, err := m.admin.Call(ctx, "kojigo.getRepoProgress", kojiclient.Kw{"task_id": r.task}); err == nil {
			if pm, ok := p.(map[string]any); ok {
				s := fmt.Sprintf("%d/%d", asInt(pm["done"]), asInt(pm["total"]))
				if s != lastProgress {
					r.progress = append(r.progress, s)
					lastProgress = s
				}
			}
		}
		info, err := m.admin.Call(ctx, "getTaskInfo", r.task)
		if err != nil {
			stopSampling()
			sampling.Wait()
			return r, err
		}
		st := asInt(info.(map[string]any)["state"])
		if st == 2 { // CLOSED
			r.wall = time.Since(t0)
			break
		}
		if st == 3 || st == 5 {
			stopSampling()
			sampling.Wait()
			res, _ := m.admin.Call(ctx, "getTaskResult", r.task, kojiclient.Kw{"raise_fault": false})
			return r, fmt.Errorf("newRepo task %d ended in state %d: %v", r.task, st, res)
		}
		w, err := m.admin.Call(ctx, "kojigo.waitChanges", token, m.poll.Seconds())
		if err != nil {
			stopSampling()
			sampling.Wait()
			return r, fmt.Errorf("kojigo.waitChanges: %w", err)
		}
		token = w.(map[string]any)["token"]
	}
	stopSampling()
	sampling.Wait()
	k1, err := cpuTicks(m.kojid.pid)
	if err != nil {
		return r, err
	}
	r.kojidCPU = time.Duration(k1-k0) * tick
	r.peak = statusKiB(m.kojid.pid, "VmHWM")

	res, err := m.admin.Call(ctx, "getTaskResult", r.task)
	if err != nil {
		return r, err
	}
	if l, ok := res.([]any); ok && len(l) > 0 {
		r.repoID = asInt(l[0])
	}
	ri, err := m.admin.Call(ctx, "repoInfo", r.repoID)
	if err != nil {
		return r, err
	}
	if st := asInt(ri.(map[string]any)["state"]); st != 1 {
		return r, fmt.Errorf("repo %d is in state %d after its task closed, want READY", r.repoID, st)
	}
	if prog, err := m.admin.Call(ctx, "kojigo.getRepoProgress", kojiclient.Kw{"task_id": r.task}); err == nil {
		if pm, ok := prog.(map[string]any); ok {
			r.packages = asInt(pm["total"])
			if s := fmt.Sprintf("%d/%d", asInt(pm["done"]), asInt(pm["total"])); s != lastProgress {
				r.progress = append(r.progress, s+" (after)")
			}
		}
	}

	// The package list: from the newRepo task opening (kojid calls
	// host.repoInit at once) to its createrepo child's creation.
	info, err := m.admin.Call(ctx, "getTaskInfo", r.task)
	if err != nil {
		return r, err
	}
	opened := asFloat(info.(map[string]any)["start_ts"])
	kids, err := m.admin.Call(ctx, "getTaskChildren", r.task)
	if err != nil {
		return r, err
	}
	created := 0.0
	for _, k := range kids.([]any) {
		km := k.(map[string]any)
		if c := asFloat(km["create_ts"]); created == 0 || c < created {
			created = c
		}
		if km["method"] == "createrepo" {
			r.engine = max(r.engine, tsTime(asFloat(km["completion_ts"])).Sub(tsTime(asFloat(km["start_ts"]))))
		}
	}
	if opened == 0 || created == 0 {
		return r, fmt.Errorf("task %d: no start time or no createrepo child", r.task)
	}
	a, b := tsTime(opened), tsTime(created)
	r.listWindow = b.Sub(a)
	r.listHub = time.Duration(at(samples, b, func(s cpuSample) int64 { return s.hub })-at(samples, a, func(s cpuSample) int64 { return s.hub })) * tick
	if m.pg != nil {
		r.listPG = time.Duration(at(samples, b, func(s cpuSample) int64 { return s.pg })-at(samples, a, func(s cpuSample) int64 { return s.pg })) * tick
	}
	ri1, _, err := repoInitMetric(ctx, m.hub.url)
	if err != nil {
		return r, err
	}
	r.repoInitWall = time.Duration((ri1 - ri0) * float64(time.Second))
	return r, nil
}

func tsTime(ts float64) time.Time { return time.Unix(0, int64(ts*1e9)) }

// at returns a sampled counter at time t: the first sample at or after t
// (counters only grow, so this does not undercount the window's end), or
// the last one.
func at(samples []cpuSample, t time.Time, f func(cpuSample) int64) int64 {
	i := sort.Search(len(samples), func(i int) bool { return !samples[i].at.Before(t) })
	if i == len(samples) {
		i--
	}
	return f(samples[i])
}

// repoInitMetric reads host.repoInit's total wall time and count from the
// hub's /metrics.
func repoInitMetric(ctx context.Context, hubURL string) (sum float64, count int64, err error) {
	u := strings.TrimSuffix(hubURL, "/kojihub") + "/metrics"
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("read %s: %w", u, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		return 0, 0, fmt.Errorf("read %s: HTTP %d %v", u, resp.StatusCode, err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(l, `kojihub_call_duration_seconds_sum{method="host.repoInit"}`):
			sum, _ = strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
		case strings.HasPrefix(l, `kojihub_call_duration_seconds_count{method="host.repoInit"}`):
			count, _ = strconv.ParseInt(l[strings.LastIndexByte(l, ' ')+1:], 10, 64)
		}
	}
	return sum, count, nil
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

func asFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	}
	return 0
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// report prints the table, the ratio and the progress samples.
func report(out io.Writer, backend string, rpms int, full result, upds []result, pg bool) {
	byWall := slices.Clone(upds)
	slices.SortStableFunc(byWall, func(a, b result) int { return cmp.Compare(a.wall, b.wall) })
	upd := byWall[len(byWall)/2]
	fmt.Fprintf(out, "\n== repo regeneration through the hub: %s, %d rpms tagged; the repo holds %d (latest build of each package, as Koji)\n",
		backend, rpms, full.packages)
	if len(upds) > 1 {
		var walls []string
		for _, u := range upds {
			walls = append(walls, secs(u.wall))
		}
		fmt.Fprintf(out, "%d updates, one more package each: walls %s; the update column is the median run\n", len(upds), strings.Join(walls, ", "))
	}
	row := func(what, a, b string) { fmt.Fprintf(out, "%-44s %14s %14s\n", what, a, b) }
	row("", "full", "update (+1)")
	row("wall, newRepo request to READY", secs(full.wall), secs(upd.wall))
	row("createrepo task, start to completion", secs(full.engine), secs(upd.engine))
	row("kojid CPU (utime+stime)", secs(full.kojidCPU), secs(upd.kojidCPU))
	row("kojid RSS before", mib(full.rssBefore), mib(upd.rssBefore))
	row("kojid peak RSS (VmHWM, reset before)", mib(full.peak), mib(upd.peak))
	row("kojid RSS growth (peak - before)", mib(full.peak-full.rssBefore), mib(upd.peak-upd.rssBefore))
	row("package list: window (task open to child)", secs(full.listWindow), secs(upd.listWindow))
	row("package list: hub CPU in the window", secs(full.listHub), secs(upd.listHub))
	if pg {
		row("package list: PostgreSQL backends' CPU", secs(full.listPG), secs(upd.listPG))
	} else {
		row("package list: database CPU", "in the hub", "(SQLite)")
	}
	row("host.repoInit wall (hub /metrics)", secs(full.repoInitWall), secs(upd.repoInitWall))
	ratio := full.wall.Seconds() / upd.wall.Seconds()
	verdict := "ok, >= 5x"
	if ratio < 5 {
		verdict = "BELOW the 5x goal"
	}
	fmt.Fprintf(out, "update speed-up (full wall / update wall): %.1fx (%s); createrepo task alone: %.1fx\n",
		ratio, verdict, full.engine.Seconds()/upd.engine.Seconds())
	fmt.Fprintf(out, "progress samples: %s\n", strings.Join(compact(full.progress, 12), ", "))
	fmt.Fprintf(out, "progress samples (update): %s\n", strings.Join(compact(upd.progress, 12), ", "))
	fmt.Fprintf(out, "(hub CPU in the window includes the bench's own getTaskInfo/getRepoProgress polls: a few ms)\n")
}

// compact keeps at most n samples, always the first and the last.
func compact(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	out := []string{}
	for i := 0; i < n; i++ {
		out = append(out, s[i*(len(s)-1)/(n-1)])
	}
	return slices.Compact(out)
}
