// Command hubbench measures the kojigo hub under simulated builders and
// clients, on SQLite and on PostgreSQL. It runs kojihub as a child process
// and reads CPU time of the hub and of the database server from /proc before
// and after each phase, so the per-call figures hold on a noisy machine.
//
//	go run ./bench/hub [-backend both] [-hosts 50] [-duration 5s]
//
// It prints, per backend and method: calls/s, p50/p99 latency and hub+DB CPU
// per call; the hub's peak memory; host.updateHost from -checkin-hosts
// simulated builders, both as kojid makes it (with its health data) and as
// Koji's plain check-in, host.updateHost(0.0, True) with no data
// (-rounds times, interleaved); and the time from task creation to a host
// opening it with -latency-hosts builders waiting.
//
// On PostgreSQL the database CPU is that of the backends serving the hub
// (found by the application_name the hub's DSN gets); the rest of the
// server's processes (WAL writer, checkpointer, autovacuum, other clients)
// are shown apart, as "other PG ms", since other programs may use the server.
package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"kojigo/db"
	"kojigo/internal/kojixml"
	"kojigo/internal/password"
)

// only names the phases to run; empty runs them all.
var only string

func want(phase string) bool {
	return only == "" || strings.Contains(","+only+",", ","+phase+",")
}

func main() {
	backend := flag.String("backend", "both", "sqlite, postgres or both")
	hosts := flag.Int("hosts", 50, "hosts for listHosts and the read phases")
	checkinHosts := flag.Int("checkin-hosts", 1000, "simulated builders checking in during the updateHost phase")
	latencyHosts := flag.Int("latency-hosts", 200, "simulated idle builders waiting for work in the task-to-open phase")
	latencyTasks := flag.Int("latency-tasks", 400, "tasks created in the task-to-open phase")
	duration := flag.Duration("duration", 5*time.Second, "length of each read phase")
	workers := flag.Int("workers", 8, "concurrent client connections in each phase")
	pgDSN := flag.String("pg", os.Getenv("KOJI_TEST_PG_DSN"), "PostgreSQL server DSN (a schema is created for the run)")
	flag.StringVar(&only, "only", "", "run only these phases, comma-separated: listHosts,getTaskInfo,listTasks,updateHost,updateHostPlain,taskToOpen (for profiling)")
	flag.IntVar(&rounds, "rounds", 1, "rounds of the check-in phases (plain and with data, interleaved)")
	flag.BoolVar(&loggedInReads, "logged-in-reads", false, "make the read calls from logged-in sessions (default: anonymous, as koji list-hosts and kojictl's read commands make them)")
	flag.Parse()
	if err := run(*backend, *pgDSN, *hosts, *checkinHosts, *latencyHosts, *latencyTasks, *duration, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "hubbench:", err)
		os.Exit(1)
	}
}

func run(backend, pgDSN string, hosts, checkinHosts, latencyHosts, latencyTasks int, dur time.Duration, workers int) error {
	tmp, err := os.MkdirTemp("", "hubbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "kojihub")
	build := exec.Command("go", "build", "-o", bin, "./cmd/kojihub")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build kojihub: %v\n%s", err, out)
	}
	var backends []string
	switch backend {
	case "both":
		backends = []string{"sqlite", "postgres"}
	default:
		backends = []string{backend}
	}
	for _, b := range backends {
		var dsn string
		cleanup := func() {}
		switch b {
		case "sqlite":
			dsn = "sqlite://" + filepath.Join(tmp, "koji.db")
		case "postgres":
			if pgDSN == "" {
				fmt.Println("postgres: skipped (set -pg or KOJI_TEST_PG_DSN)")
				continue
			}
			dsn, cleanup, err = db.NewTestSchema(pgDSN)
			if err != nil {
				return err
			}
			if appName, err = hubAppName(dsn); err != nil {
				cleanup()
				return err
			}
		default:
			return fmt.Errorf("unknown backend %q", b)
		}
		err := benchBackend(b, bin, dsn, filepath.Join(tmp, "top-"+b), hosts, checkinHosts, latencyHosts, latencyTasks, dur, workers)
		cleanup()
		if err != nil {
			return fmt.Errorf("%s: %w", b, err)
		}
	}
	return nil
}

// hubProc is the kojihub child process.
type hubProc struct {
	cmd  *exec.Cmd
	url  string
	pid  int
	logs bytes.Buffer
}

func startHub(bin, dsn, topdir string) (*hubProc, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	h := &hubProc{url: "http://" + addr + "/kojihub"}
	hubDSN := dsn
	if appName != "" {
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, err
		}
		q := u.Query()
		q.Set("application_name", appName)
		u.RawQuery = q.Encode()
		hubDSN = u.String()
	}
	h.cmd = exec.Command(bin, "--db", hubDSN, "--topdir", topdir, "--listen", addr)
	h.cmd.Env = append(os.Environ(), "KOJI_HUB_LOGLEVEL=warn", "KOJI_HUB_RUNINTERVAL=5")
	h.cmd.Stderr = &h.logs
	if err := h.cmd.Start(); err != nil {
		return nil, err
	}
	h.pid = h.cmd.Process.Pid
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return h, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.stop()
	return nil, fmt.Errorf("hub did not start: %s", h.logs.String())
}

func (h *hubProc) stop() {
	h.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { h.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		h.cmd.Process.Kill()
		<-done
	}
}

func benchBackend(backend, bin, dsn, topdir string, hosts, checkinHosts, latencyHosts, latencyTasks int, dur time.Duration, workers int) error {
	ctx := context.Background()
	store, err := db.Open(ctx, dsn, db.Options{})
	if err != nil {
		return err
	}
	if _, err := store.Migrate(ctx); err != nil {
		return err
	}
	hash, _ := password.Hash("benchpw")
	adminID, err := store.CreateUser(ctx, db.User{Name: "admin", PasswordHash: hash})
	if err != nil {
		return err
	}
	perm, _ := store.GetPermByName(ctx, "admin")
	store.GrantPerm(ctx, adminID, perm.ID, nil)
	// Hosts are made in the store: the benchmark measures calls, not setup.
	// listHosts runs with `hosts` hosts; the rest are added after it.
	nHosts := max(hosts, checkinHosts, latencyHosts)
	def, _ := store.GetChannelByName(ctx, "default")
	addHosts := func(from, to int) error {
		for i := from; i < to; i++ {
			name := fmt.Sprintf("builder%04d", i)
			uid, err := store.CreateUser(ctx, db.User{Name: name, UserType: db.UserHost, PasswordHash: hash})
			if err != nil {
				return err
			}
			if _, err := store.CreateHost(ctx, db.Host{UserID: uid, Name: name, Arches: "x86_64"}, []int64{def.ID}); err != nil {
				return err
			}
		}
		return nil
	}
	if err := addHosts(0, hosts); err != nil {
		return err
	}
	defer store.Close()

	if backend == "postgres" {
		if mon, err = sql.Open("pgx", dsn); err != nil {
			return err
		}
		defer mon.Close()
		mon.SetMaxOpenConns(1)
	}
	hub, err := startHub(bin, dsn, topdir)
	if err != nil {
		return err
	}
	defer hub.stop()
	fmt.Printf("\n== %s: hub pid %d; listHosts over %d hosts, check-ins from %d, task-to-open with %d waiting\n", backend, hub.pid, hosts, checkinHosts, latencyHosts)

	admin, err := login(hub.url, "admin", "benchpw")
	if err != nil {
		return err
	}
	// some tasks to read: 1000 closed-shape tasks for listTasks/getTaskInfo
	for i := range 200 {
		if _, err := admin.call("makeTask", "noop", []any{int64(i)}, kw{"channel": "createrepo", "arch": "noarch"}); err != nil {
			return fmt.Errorf("makeTask: %w", err)
		}
	}
	data := map[string]any{"methods": []any{"build", "buildArch"}, "maxjobs": int64(4), "cpus": int64(8), "load1": 0.4,
		"mem_total": int64(32 << 30), "mem_available": int64(20 << 30), "not_ready_reasons": []any{},
		"disk": []any{map[string]any{"path": "/var/lib/mock", "role": "mockdir", "free": int64(100 << 30), "total": int64(500 << 30)}}}

	if loggedInReads {
		fmt.Println("reads from logged-in sessions")
	} else {
		fmt.Println("reads anonymous, as the koji CLI and kojictl make them (-logged-in-reads for sessions)")
	}
	fmt.Printf("%-26s %8s %8s %8s %14s %12s %13s\n", "method", "calls/s", "p50 ms", "p99 ms", "hub+DB CPU ms", "of it DB ms", "other PG ms")
	phase := func(name string, n int, fn func(i, w int) error) error {
		key := strings.TrimPrefix(strings.Fields(name)[0], "host.")
		key = strings.SplitN(key, "/", 2)[0]
		if strings.HasSuffix(name, "(plain)") {
			key += "Plain"
		}
		if !want(key) {
			return nil
		}
		r, err := measure(hub.pid, backend, workers, dur, n, fn)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Printf("%-26s %8.0f %8.2f %8.2f %14.3f %12.3f %13.3f\n", name, r.rate, r.p50, r.p99, r.cpuPerCall, r.dbPerCall, r.otherPerCall)
		return nil
	}
	readers := make([]*client, workers)
	for i := range readers {
		if !loggedInReads {
			readers[i] = &client{url: hub.url, http: &http.Client{Transport: transport, Timeout: 60 * time.Second}}
			continue
		}
		if readers[i], err = login(hub.url, "admin", "benchpw"); err != nil {
			return err
		}
	}
	if err := phase("listHosts", 0, func(i, w int) error {
		_, err := readers[w].call("listHosts", kw{"enabled": true})
		return err
	}); err != nil {
		return err
	}
	// Now the other hosts, for the check-in and task-to-open phases.
	if err := addHosts(hosts, nHosts); err != nil {
		return err
	}
	hostClients := make([]*client, nHosts)
	for i := range nHosts {
		c, err := login(hub.url, fmt.Sprintf("builder%04d", i), "benchpw")
		if err != nil {
			return err
		}
		if _, err := c.call("exclusiveSession", kw{"force": true}); err != nil {
			return err
		}
		hostClients[i] = c
	}
	fmt.Printf("hub RSS after %d builders logged in: peak %.1f MiB, now %.1f MiB\n", nHosts, float64(rss(hub.pid, "VmHWM"))/(1<<20), float64(rss(hub.pid, "VmRSS"))/(1<<20))
	if err := phase("getTaskInfo", 0, func(i, w int) error {
		_, err := readers[w].call("getTaskInfo", int64(1+i%200), kw{"request": true})
		return err
	}); err != nil {
		return err
	}
	if err := phase("listTasks", 0, func(i, w int) error {
		_, err := readers[w].call("listTasks", map[string]any{"state": []any{int64(0), int64(1), int64(4)}}, map[string]any{"order": "priority,create_time", "limit": int64(50)})
		return err
	}); err != nil {
		return err
	}
	// host.updateHost from checkinHosts builders, round robin, in the steady
	// state: each builder has checked in once (its first check-in makes it
	// ready, which wakes the scheduler). The plain check-in is Koji's
	// host.updateHost(0.0, True) with no data; the other is kojid's, with
	// its health data. The plain one runs first, so that its hosts' rows
	// hold no data, as on a Koji hub.
	var mu sync.Mutex
	busy := make([]bool, checkinHosts)
	checkins := func(name string, args ...any) error {
		for _, c := range hostClients[:checkinHosts] {
			if _, err := c.call("host.updateHost", args...); err != nil {
				return err
			}
		}
		return phase(name, 0, func(i, w int) error {
			mu.Lock()
			k := i % checkinHosts
			for busy[k] {
				k = (k + 1) % checkinHosts
			}
			busy[k] = true
			mu.Unlock()
			_, err := hostClients[k].call("host.updateHost", args...)
			mu.Lock()
			busy[k] = false
			mu.Unlock()
			return err
		})
	}
	for range rounds {
		if want("updateHostPlain") {
			if err := checkins(fmt.Sprintf("host.updateHost/%d (plain)", checkinHosts), 0.0, true); err != nil {
				return err
			}
		}
		if want("updateHost") {
			if err := checkins(fmt.Sprintf("host.updateHost/%d", checkinHosts), 0.0, true, kw{"data": data}); err != nil {
				return err
			}
		}
	}
	if !want("taskToOpen") {
		return nil
	}
	if err := taskToOpen(hub.url, admin, hostClients[:latencyHosts], latencyTasks, data); err != nil {
		return err
	}
	fmt.Printf("hub peak RSS: %.1f MiB (now %.1f MiB)\n", float64(rss(hub.pid, "VmHWM"))/(1<<20), float64(rss(hub.pid, "VmRSS"))/(1<<20))
	return nil
}

// taskToOpen has latencyHosts idle builders waiting in kojigo.waitTasks and
// measures the time from makeTask to the builder's host.openTask.
func taskToOpen(url string, admin *client, hosts []*client, n int, data map[string]any) error {
	for _, h := range hosts {
		if _, err := h.call("host.updateHost", 0.0, true, kw{"data": data}); err != nil {
			return err
		}
	}
	var created sync.Map // task id -> time
	lat := make(chan time.Duration, n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var opened atomic.Int64
	for _, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				res, err := h.call("kojigo.waitTasks", kw{"timeout": int64(2)})
				if err != nil {
					return
				}
				for _, t := range res.([]any) {
					id := t.(map[string]any)["id"].(int64)
					if r, err := h.call("host.openTask", id); err == nil && r != nil {
						if v, ok := created.Load(id); ok {
							lat <- time.Since(v.(time.Time))
						}
						opened.Add(1)
						h.call("host.closeTask", id, "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><nil/></value></param>\n</params>\n</methodResponse>\n")
					}
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond) // let every builder start waiting
	for range n {
		start := time.Now()
		res, err := admin.call("makeTask", "noop", []any{}, kw{"arch": "noarch"})
		if err != nil {
			return fmt.Errorf("makeTask: %w", err)
		}
		created.Store(res.(int64), start)
		time.Sleep(10 * time.Millisecond)
	}
	deadline := time.Now().Add(30 * time.Second)
	for opened.Load() < int64(n) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	var ds []float64
	for len(lat) > 0 {
		ds = append(ds, float64((<-lat).Microseconds())/1000)
	}
	sort.Float64s(ds)
	if len(ds) == 0 {
		return fmt.Errorf("no task was opened")
	}
	fmt.Printf("task-to-open with %d waiting hosts: %d/%d opened, p50 %.1f ms, p99 %.1f ms\n", len(hosts), len(ds), n, pct(ds, 50), pct(ds, 99))
	go wg.Wait()
	return nil
}

// loggedInReads makes the read phases use sessions instead of anonymous calls.
var loggedInReads bool

type result struct{ rate, p50, p99, cpuPerCall, dbPerCall, otherPerCall float64 }

// rounds is how many times the check-in phases run.
var rounds = 1

// appName is the application_name of the hub's PostgreSQL connections, by
// which the benchmark finds the backends serving the hub; mon is the
// benchmark's own connection, used to list them.
var (
	appName string
	mon     *sql.DB
)

func hubAppName(dsn string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	return "hubbench-" + u.Query().Get("search_path"), nil
}

// measure runs fn from `workers` goroutines for dur (or n calls) and
// reads the hub's and the database's CPU time around it.
func measure(hubPID int, backend string, workers int, dur time.Duration, n int, fn func(i, w int) error) (result, error) {
	db0, all0 := dbCPU(backend)
	cpu0 := procCPU(hubPID) + db0
	var calls atomic.Int64
	lats := make([][]float64, workers)
	var firstErr atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < dur {
				i := int(calls.Add(1))
				t := time.Now()
				if err := fn(i, w); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				lats[w] = append(lats[w], float64(time.Since(t).Microseconds())/1000)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	db1, all1 := dbCPU(backend)
	cpu1 := procCPU(hubPID) + db1
	if e := firstErr.Load(); e != nil {
		return result{}, e.(error)
	}
	var all []float64
	for _, l := range lats {
		all = append(all, l...)
	}
	sort.Float64s(all)
	cnt := float64(len(all))
	return result{rate: cnt / elapsed.Seconds(), p50: pct(all, 50), p99: pct(all, 99), cpuPerCall: (cpu1 - cpu0).Seconds() * 1000 / cnt,
		dbPerCall: (db1 - db0).Seconds() * 1000 / cnt, otherPerCall: ((all1 - db1) - (all0 - db0)).Seconds() * 1000 / cnt}, nil
}

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

var clkTck = 100.0 // USER_HZ on Linux

// procCPU is a process's user+system CPU time from /proc/PID/stat.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+2:])
	u, _ := strconv.ParseFloat(f[11], 64)
	sy, _ := strconv.ParseFloat(f[12], 64)
	return time.Duration((u + sy) / clkTck * float64(time.Second))
}

// dbCPU returns the CPU time of the PostgreSQL backends serving the hub and
// of every postgres process (SQLite runs inside the hub). A backend that
// starts during a phase counts from zero; one that ends during it is lost
// (the hub keeps its connections for minutes).
func dbCPU(backend string) (hub, all time.Duration) {
	if backend != "postgres" {
		return 0, 0
	}
	rows, err := mon.QueryContext(context.Background(), "SELECT pid FROM pg_stat_activity WHERE application_name = $1", appName)
	if err == nil {
		for rows.Next() {
			var pid int
			if rows.Scan(&pid) == nil {
				hub += procCPU(pid)
			}
		}
		rows.Close()
	}
	var total time.Duration
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if strings.HasPrefix(string(comm), "postgres") {
			total += procCPU(pid)
		}
	}
	return hub, total
}

// rss reads a memory figure of /proc/PID/status: VmHWM (peak) or VmRSS.
func rss(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// client is a minimal keep-alive Koji client with a session.
type client struct {
	url     string
	sid     string
	key     string
	callnum int64
	http    *http.Client
}

type kw map[string]any

var transport = &http.Transport{MaxIdleConnsPerHost: 2048, MaxConnsPerHost: 0}

func login(url, user, pw string) (*client, error) {
	c := &client{url: url, http: &http.Client{Transport: transport, Timeout: 60 * time.Second}}
	res, err := c.call("login", user, pw)
	if err != nil {
		return nil, fmt.Errorf("login %s: %w", user, err)
	}
	m := res.(map[string]any)
	c.sid, c.key = strconv.FormatInt(m["session-id"].(int64), 10), m["session-key"].(string)
	return c, nil
}

func (c *client) call(method string, args ...any) (any, error) {
	var params []any
	for _, a := range args {
		if k, ok := a.(kw); ok {
			params = kojixml.EncodeKwargs(params, k)
			continue
		}
		params = append(params, a)
	}
	var body bytes.Buffer
	if err := kojixml.EncodeCall(&body, method, params); err != nil {
		return nil, err
	}
	req, _ := http.NewRequest("POST", c.url, &body)
	req.Header.Set("Content-Type", "text/xml")
	if c.sid != "" {
		n := atomic.AddInt64(&c.callnum, 1)
		req.Header.Set("Koji-Session-Id", c.sid)
		req.Header.Set("Koji-Session-Key", c.key)
		req.Header.Set("Koji-Session-Callnum", strconv.FormatInt(n, 10))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	return kojixml.DecodeOptions{}.DecodeResponseBytes(b)
}
