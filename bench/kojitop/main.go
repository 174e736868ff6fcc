// Command kojitopbench measures kojitop's refresh cycle against a real
// kojihub holding a big farm. For each farm size it fills a fresh SQLite
// database (in a child process, so that this process's memory is kojitop's
// alone), runs kojihub on it as a child process and drives kojitop's model
// through its exported API as the terminal would: ctrl+r gives the fetch
// command, its message goes back to Update, View draws the frame.
//
//	go run ./bench/kojitop [-hosts 10,100,1000] [-tasks 10000] [-cycles 20] [-keep] [-cpuprofile FILE]
//
// It prints per size the hub requests per refresh, the time of the fetch
// (hub calls and decoding), of the model's update and of one frame of the
// hosts and tasks views at 160x48 and 80x24, and this process's memory,
// against the targets: under 20 ms a frame, under 100 MB resident, the
// same number of requests whatever the farm's size.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"

	"kojigo/db"
	"kojigo/internal/health"
	"kojigo/internal/kojiclient"
	"kojigo/internal/kojixml"
	"kojigo/internal/password"
	"kojigo/tui"
	"kojigo/tui/farm"
)

const (
	targetFrame = 20.0  // ms
	targetRSS   = 100e6 // bytes
)

func main() {
	sizes := flag.String("hosts", "10,100,1000", "farm sizes to measure, comma-separated")
	tasks := flag.Int("tasks", 10000, "tasks in the farm")
	cycles := flag.Int("cycles", 20, "refresh cycles per farm size")
	keep := flag.Bool("keep", false, "keep the temporary directory (databases, hub logs)")
	timeout := flag.Duration("timeout", 15*time.Minute, "give up after this long")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of this process (kojitop's side) to this file")
	populate := flag.String("populate", "", "internal: fill the database at this DSN with -populate-hosts hosts and -tasks tasks")
	popHosts := flag.Int("populate-hosts", 0, "internal: hosts for -populate")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	var err error
	if *populate != "" {
		err = fill(ctx, *populate, *popHosts, *tasks)
	} else {
		err = run(ctx, *sizes, *tasks, *cycles, *keep, *cpuprofile)
	}
	cancel()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kojitopbench:", err)
		os.Exit(1)
	}
}

// result is what one farm size measured; times in ms.
type result struct {
	hosts, cycles             int
	requests                  map[int64]int // requests per refresh: cycles
	fetch, update, whole      []float64
	frame                     [4][]float64 // one per frames entry
	respKiB, hubCPU, allocMiB float64      // per refresh
	rss, hwm, heap            uint64
}

var frames = [4]struct {
	key  rune
	w, h int
	name string
}{{'1', 160, 48, "hosts 160x48"}, {'2', 160, 48, "tasks 160x48"}, {'1', 80, 24, "hosts 80x24"}, {'2', 80, 24, "tasks 80x24"}}

func run(ctx context.Context, sizes string, nTasks, cycles int, keep bool, cpuprofile string) error {
	var ns []int
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || cycles < 1 || nTasks < 0 {
			return fmt.Errorf("-hosts %q -cycles %d -tasks %d: want positive numbers", sizes, cycles, nTasks)
		}
		ns = append(ns, n)
	}
	tmp, err := os.MkdirTemp("", "kojitopbench")
	if err != nil {
		return err
	}
	if keep {
		defer fmt.Println("kept", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	bin := filepath.Join(tmp, "kojihub")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/kojihub")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build kojihub (run from the repository root): %v\n%s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var results []*result
	for _, n := range ns {
		dir := filepath.Join(tmp, fmt.Sprintf("farm%d", n))
		dsn := "sqlite://" + filepath.Join(dir, "koji.db")
		t0 := time.Now()
		fillCmd := exec.CommandContext(ctx, self, "-populate", dsn, "-populate-hosts", strconv.Itoa(n), "-tasks", strconv.Itoa(nTasks))
		fillCmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if out, err := fillCmd.CombinedOutput(); err != nil {
			return fmt.Errorf("fill the %d-host farm: %v\n%s", n, err, out)
		}
		fmt.Printf("%d hosts, %d tasks: farm made in %.1f s\n", n, nTasks, time.Since(t0).Seconds())
		r, err := measure(ctx, bin, dsn, dir, n, cycles)
		if err != nil {
			return fmt.Errorf("%d hosts: %w", n, err)
		}
		results = append(results, r)
	}
	report(results, nTasks)
	return nil
}

// caller counts the console's hub requests: each Call and MultiCall is one.
type caller struct {
	c farm.Caller
	n atomic.Int64
}

func (c *caller) Call(ctx context.Context, method string, args ...any) (any, error) {
	c.n.Add(1)
	return c.c.Call(ctx, method, args...)
}

func (c *caller) MultiCall(ctx context.Context, calls []kojiclient.CallSpec) ([]kojiclient.Result, error) {
	c.n.Add(1)
	return c.c.MultiCall(ctx, calls)
}

// wire counts HTTP requests, to check the caller's count, and the bytes
// of the answers (the hub sends Content-Length, uncompressed).
type wire struct{ reqs, bytesIn atomic.Int64 }

func (w *wire) RoundTrip(r *http.Request) (*http.Response, error) {
	w.reqs.Add(1)
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		w.bytesIn.Add(resp.ContentLength)
	}
	return resp, err
}

func measure(ctx context.Context, bin, dsn, dir string, nHosts, cycles int) (*result, error) {
	hub, err := startHub(ctx, bin, dsn, dir)
	if err != nil {
		return nil, err
	}
	defer hub.stop()
	w := &wire{}
	client, err := kojiclient.New(kojiclient.Options{Server: hub.url, HTTPClient: &http.Client{Transport: w}, MaxRetries: -1, Timeout: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	cc := &caller{c: client}
	fh := &farm.Hub{Calls: cc}
	me, err := fh.Probe(ctx)
	if err != nil {
		return nil, fmt.Errorf("probe: %w (hub log %s)", err, hub.log)
	}
	// One snapshot outside the measure, to check the farm is what was made.
	s, err := fh.Fetch(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	healthy, ready := 0, 0
	for _, h := range s.Hosts {
		healthy += map[bool]int{true: 1}[h.Health != nil]
		ready += map[bool]int{true: 1}[h.Ready]
	}
	if len(s.Hosts) != nHosts || healthy != nHosts || len(s.Missing) != 0 {
		return nil, fmt.Errorf("hub shows %d hosts, %d with health, missing %v; want %d with health", len(s.Hosts), healthy, s.Missing, nHosts)
	}
	fmt.Printf("  as read: %d hosts (%d ready), %d active tasks (%d FREE, %d ASSIGNED or OPEN; %d read), %d finished in the last hour read, %d FAILED in the last hour\n",
		len(s.Hosts), ready, s.ActiveTotal, s.Free, s.Open, len(s.Active), len(s.Recent), s.FailedLastHour)
	s = nil

	r := &result{hosts: nHosts, cycles: cycles, requests: map[int64]int{}}
	m := tui.New(tui.Config{Hub: fh, Me: me, Server: hub.url, ReadOnly: true, Context: ctx})
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
	runtime.GC()
	var mst runtime.MemStats
	runtime.ReadMemStats(&mst)
	alloc0 := mst.TotalAlloc
	bytes0, wire0, cpu0 := w.bytesIn.Load(), w.reqs.Load(), procCPU(hub.cmd.Process.Pid)
	var calls int64
	for i := range cycles {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		_, cmd := m.Update(tea.KeyPressMsg{Code: 'r', Mod: tea.ModCtrl}) // ctrl+r: the model's own fetch command
		if cmd == nil {
			return nil, errors.New("ctrl+r gave no fetch command")
		}
		n0, t := cc.n.Load(), time.Now()
		msg := cmd() // farm.Hub.Fetch: the hub's answer and its decoding
		fetch := ms(time.Since(t))
		r.requests[cc.n.Load()-n0]++
		calls += cc.n.Load() - n0
		if bad, err := failed(msg); bad {
			if err == nil { // the message's error is unreadable: say ctx's or the next fetch's
				err = ctx.Err()
				if _, err2 := fh.Fetch(ctx); err == nil {
					err = err2
				}
			}
			return nil, fmt.Errorf("cycle %d: fetch failed: %v", i, err)
		}
		t = time.Now()
		m.Update(msg)
		update := ms(time.Since(t))
		r.fetch, r.update = append(r.fetch, fetch), append(r.update, update)
		for k, f := range frames {
			m.Update(tea.WindowSizeMsg{Width: f.w, Height: f.h})
			m.Update(tea.KeyPressMsg{Code: f.key, Text: string(f.key)})
			t = time.Now()
			v := m.View()
			r.frame[k] = append(r.frame[k], ms(time.Since(t)))
			if want := map[rune]string{'1': "builder", '2': "buildArch"}[f.key]; i == 0 && !strings.Contains(v.Content, want) {
				return nil, fmt.Errorf("%s frame shows no %s:\n%s", f.name, want, v.Content)
			}
		}
		r.whole = append(r.whole, fetch+update+r.frame[0][i])
	}
	if got := w.reqs.Load() - wire0; got != calls {
		return nil, fmt.Errorf("%d HTTP requests, but %d Call and MultiCall", got, calls)
	}
	r.respKiB = float64(w.bytesIn.Load()-bytes0) / 1024 / float64(cycles)
	r.hubCPU = ms(procCPU(hub.cmd.Process.Pid)-cpu0) / float64(cycles)
	runtime.ReadMemStats(&mst)
	r.allocMiB = float64(mst.TotalAlloc-alloc0) / (1 << 20) / float64(cycles)
	runtime.GC()
	runtime.ReadMemStats(&mst)
	r.heap, r.rss, r.hwm = mst.HeapInuse, procMem("VmRSS"), procMem("VmHWM")
	runtime.KeepAlive(m)
	return r, nil
}

// failed tells whether the fetch command's message carries an error.
func failed(msg tea.Msg) (bool, error) {
	if s, ok := msg.(tui.SnapshotMsg); ok {
		return s.Err != nil, nil
	}
	return true, fmt.Errorf("fetch command gave %T, not a tui.SnapshotMsg", msg)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// pct is the p-th percentile of xs (100: the max).
func pct(xs []float64, p float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return s[int(float64(len(s)-1)*p/100)]
}

func report(rs []*result, nTasks int) {
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	pm := func(xs []float64) string { return fmt.Sprintf("%.1f/%.1f", pct(xs, 50), pct(xs, 100)) }
	fmt.Printf("\n%d tasks, %d refresh cycles per size; times in ms, p50/max; a frame is Model.View() after the snapshot's Update\n", nTasks, rs[0].cycles)
	row := "%-6v %-6v %-9v %-12v %-10v %-13v %-13v %-12v %-12v %-13v %-8v %-7v %-9v %-8v %-8v %v\n"
	fmt.Printf(row, "hosts", "tasks", "req/refr", "fetch", "update", frames[0].name, frames[1].name, frames[2].name, frames[3].name,
		"refresh+frame", "respKiB", "hubCPU", "allocMiB", "RSS MiB", "HWM MiB", "heap MiB")
	worst, worstAt, peak, reqs := 0.0, "", uint64(0), map[int64]bool{}
	for _, r := range rs {
		var rq []string
		for n := range r.requests {
			rq, reqs[n] = append(rq, strconv.FormatInt(n, 10)), true
		}
		fmt.Printf(row, r.hosts, nTasks, strings.Join(rq, ","), pm(r.fetch), pm(r.update), pm(r.frame[0]), pm(r.frame[1]), pm(r.frame[2]), pm(r.frame[3]),
			pm(r.whole), fmt.Sprintf("%.0f", r.respKiB), fmt.Sprintf("%.1f", r.hubCPU), fmt.Sprintf("%.1f", r.allocMiB), fmt.Sprintf("%.1f", mib(r.rss)), fmt.Sprintf("%.1f", mib(r.hwm)), fmt.Sprintf("%.1f", mib(r.heap)))
		for k, f := range frames {
			if x := pct(r.frame[k], 100); x > worst {
				worst, worstAt = x, fmt.Sprintf("%s, %d hosts", f.name, r.hosts)
			}
		}
		peak = max(peak, r.hwm, r.rss)
	}
	fmt.Println("refresh+frame: fetch+update+hosts 160x48; respKiB: response, hubCPU: the hub's CPU ms, allocMiB: allocated by kojitop (fetch, update, 4 frames), per refresh cycle;")
	fmt.Println("RSS, HWM: this process (kojitop; the hub and the farm's making are children) now and at its peak; heap: Go heap in use after GC")
	met := map[bool]string{true: "met", false: "NOT MET"}
	fmt.Printf("target: under %.0f ms per rendered frame: %s (slowest of %d frames %.1f ms: %s)\n", targetFrame, met[worst < targetFrame], 4*len(rs)*rs[0].cycles, worst, worstAt)
	fmt.Printf("target: kojitop under 100 MB resident: %s (peak %.1f MiB = %.1f MB)\n", met[float64(peak) < targetRSS], mib(peak), float64(peak)/1e6)
	var ks []string
	for n := range reqs {
		ks = append(ks, strconv.FormatInt(n, 10))
	}
	fmt.Printf("target: hub requests per refresh constant: %s (%s, at %d sizes)\n", met[len(reqs) == 1], strings.Join(ks, " or "), len(rs))
}

// hubProc is the kojihub child process.
type hubProc struct {
	cmd      *exec.Cmd
	url, log string
	done     chan struct{}
}

func startHub(ctx context.Context, bin, dsn, dir string) (*hubProc, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	h := &hubProc{url: "http://" + addr + "/kojihub", log: filepath.Join(dir, "hub.log"), done: make(chan struct{})}
	logf, err := os.Create(h.log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	h.cmd = exec.Command(bin, "--db", dsn, "--topdir", filepath.Join(dir, "top"), "--listen", addr)
	// No timed scheduler pass during the run: the farm stays as it was made.
	h.cmd.Env = append(os.Environ(), "KOJI_HUB_LOGLEVEL=warn", "KOJI_HUB_RUNINTERVAL=3600")
	h.cmd.Stdout, h.cmd.Stderr = logf, logf
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // dies with us, whatever happens
	if err := h.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { h.cmd.Wait(); close(h.done) }()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(50 * time.Millisecond) {
		select {
		case <-h.done:
			b, _ := os.ReadFile(h.log)
			return nil, fmt.Errorf("hub exited: %s", b)
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return h, nil
		}
	}
	h.stop()
	return nil, fmt.Errorf("hub did not start (log %s)", h.log)
}

func (h *hubProc) stop() {
	h.cmd.Process.Signal(os.Interrupt)
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		h.cmd.Process.Kill()
		<-h.done
	}
}

// procCPU is a process's user+system CPU time from /proc/PID/stat.
func procCPU(pid int) time.Duration {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return 0
	}
	f := strings.Fields(s[i+2:])
	u, _ := strconv.ParseFloat(f[11], 64)
	sy, _ := strconv.ParseFloat(f[12], 64)
	return time.Duration((u + sy) / 100 * float64(time.Second)) // USER_HZ
}

// procMem is this process's VmRSS or VmHWM in bytes.
func procMem(field string) uint64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// fill makes the farm: nHosts builders that have checked in with health
// data, and nTasks tasks from the last hour, mostly builds (a build parent
// and buildArch children): CLOSED, FAILED, CANCELED, OPEN, ASSIGNED, FREE.
// Tasks run only where a host of their arch has room, so a small farm has a
// long queue and a large one runs nearly everything.
func fill(ctx context.Context, dsn string, nHosts, nTasks int) error {
	now := time.Now()
	clock := now
	store, err := db.Open(ctx, dsn, db.Options{Now: func() time.Time { return clock }})
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := store.Migrate(ctx); err != nil {
		return err
	}
	return store.WithTx(ctx, func(tx *db.Store) error {
		f := &farmer{ctx: ctx, tx: tx, now: now, clock: &clock, rng: rand.New(rand.NewPCG(1, uint64(nHosts))),
			byArch: map[string][]*builder{}, next: map[string]int{}, reasons: map[int64]string{}}
		f.setup(nHosts)
		for b := 0; f.made < nTasks && f.err == nil; b++ {
			f.build(b)
		}
		f.check(tx.SetFreeReasons(ctx, f.reasons))
		f.checkIns()
		return f.err
	})
}

type builder struct {
	id               int64
	arch             string
	capacity, load   float64
	jobs             int
	disabled, silent bool
}

// farmer writes the farm in one transaction; its first error sticks.
type farmer struct {
	ctx            context.Context
	tx             *db.Store
	now            time.Time
	clock          *time.Time // the store's clock
	rng            *rand.Rand
	err            error
	made           int
	admin          int64
	def, repo      db.Channel
	owners         []int64
	hosts          []*builder
	byArch         map[string][]*builder
	next           map[string]int
	reasons        map[int64]string // FREE task: why it waits
	okDoc, failDoc string
}

func (f *farmer) check(err error) {
	if f.err == nil && err != nil {
		f.err = err
	}
}

// ago is a time in [now-ago, now-ago+spread].
func (f *farmer) ago(ago, spread time.Duration) time.Time {
	return f.now.Add(-ago + time.Duration(f.rng.Int64N(int64(spread)+1)))
}

// past sets the clock to t, or to just before now: nothing ends in the future.
func (f *farmer) past(t time.Time) {
	*f.clock = t
	if lim := f.now.Add(-2 * time.Second); t.After(lim) {
		*f.clock = lim
	}
}

func (f *farmer) setup(nHosts int) {
	var err error
	hash, _ := password.Hash("benchpw")
	f.admin, err = f.tx.CreateUser(f.ctx, db.User{Name: "admin", PasswordHash: hash})
	f.check(err)
	perm, err := f.tx.GetPermByName(f.ctx, "admin")
	f.check(err)
	f.check(f.tx.GrantPerm(f.ctx, f.admin, perm.ID, nil))
	f.def, err = f.tx.GetChannelByName(f.ctx, "default")
	f.check(err)
	f.repo, err = f.tx.GetChannelByName(f.ctx, "createrepo")
	f.check(err)
	for i := range 25 {
		id, err := f.tx.CreateUser(f.ctx, db.User{Name: fmt.Sprintf("packager%02d", i)})
		f.check(err)
		f.owners = append(f.owners, id)
	}
	arches := []string{"x86_64", "x86_64", "x86_64", "x86_64", "x86_64", "x86_64", "aarch64", "aarch64", "ppc64le", "s390x"}
	for i := range nHosts {
		name := fmt.Sprintf("builder%04d.example.org", i)
		uid, err := f.tx.CreateUser(f.ctx, db.User{Name: name, UserType: db.UserHost})
		f.check(err)
		h := &builder{arch: arches[i%len(arches)], capacity: []float64{4, 8, 16}[i%3], disabled: i%37 == 5, silent: i%50 == 7}
		desc := fmt.Sprintf("rack %d, %d cores", i/40, 8*int(h.capacity))
		chans := []int64{f.def.ID}
		if i%10 == 0 {
			chans = append(chans, f.repo.ID)
		}
		h.id, err = f.tx.CreateHost(f.ctx, db.Host{UserID: uid, Name: name, Arches: h.arch, Capacity: h.capacity, Description: &desc}, chans)
		f.check(err)
		if h.disabled {
			off, comment := false, "disk replacement, INC-"+strconv.Itoa(4000+i)
			_, err := f.tx.EditHost(f.ctx, h.id, db.HostEdit{Enabled: &off, Comment: &comment})
			f.check(err)
		}
		f.hosts = append(f.hosts, h)
		f.byArch[h.arch] = append(f.byArch[h.arch], h)
	}
	ok, _ := kojixml.AppendResponse(nil, nil)
	var fail bytes.Buffer
	f.check(kojixml.EncodeFault(&fail, kojixml.Errorf(1005, "error building package (arch x86_64), mock exited with status 1; see build.log or root.log")))
	f.okDoc, f.failDoc = string(ok), fail.String()
}

// pick returns a host of arch with room for weight, or nil: the task
// waits. Weight 0 is for finished tasks: any host will do.
func (f *farmer) pick(arch string, weight float64) *builder {
	hs := f.byArch[arch]
	for range hs {
		h := hs[f.next[arch]%len(hs)]
		f.next[arch]++
		if !h.disabled && !h.silent && (weight == 0 || h.load+weight <= h.capacity) {
			h.load += weight
			if weight > 1 {
				h.jobs++
			}
			return h
		}
	}
	if weight == 0 { // a small farm lacks some arches
		return f.hosts[0]
	}
	return nil
}

func (f *farmer) task(n db.NewTask, t time.Time, params ...any) int64 {
	var req bytes.Buffer
	f.check(kojixml.EncodeCall(&req, n.Method, params))
	n.Request, *f.clock = req.String(), t
	id, _, err := f.tx.CreateTask(f.ctx, n)
	f.check(err)
	f.made++
	return id
}

func (f *farmer) open(id int64, h *builder, t time.Time) {
	*f.clock = t
	_, ok, err := f.tx.OpenTask(f.ctx, id, h.id)
	if err == nil && !ok {
		err = fmt.Errorf("task %d did not open", id)
	}
	f.check(err)
}

func (f *farmer) finish(id int64, h *builder, state int, t time.Time) {
	f.past(t)
	doc := f.okDoc
	if state == db.TaskFailed {
		doc = f.failDoc
	}
	f.check(f.tx.FinishTask(f.ctx, id, h.id, state, doc))
}

// build makes the b-th piece of work: of every 20, 11 closed builds, a
// failed one, a newRepo, 5 running builds and 2 queued ones.
func (f *farmer) build(b int) {
	kind, owner := b%20, f.owners[f.rng.IntN(len(f.owners))]
	if kind == 12 {
		t := f.ago(58*time.Minute, 50*time.Minute)
		id := f.task(db.NewTask{Method: "newRepo", Arch: "noarch", ChannelID: f.repo.ID, Owner: f.admin, Priority: 15}, t, "f42-build")
		h := f.pick("x86_64", 0)
		f.open(id, h, t.Add(2*time.Second))
		f.finish(id, h, db.TaskClosed, t.Add(90*time.Second))
		return
	}
	finished, created := kind <= 11, f.ago(40*time.Minute, 38*time.Minute)
	weight := 0.2
	if finished {
		created, weight = f.ago(58*time.Minute, 40*time.Minute), 0
	}
	pkg := fmt.Sprintf("pkg%04d-%d.%d-%d.fc42", b%997, 1+b%7, b%13, 1+b%3)
	src := "git+https://src.example.org/rpms/" + pkg[:7] + ".git#" + strconv.FormatUint(f.rng.Uint64(), 16)
	parent := f.task(db.NewTask{Method: "build", Arch: "noarch", ChannelID: f.def.ID, Owner: owner, Priority: 20, Weight: 0.2},
		created, src, "f42-candidate", map[string]any{})
	var ph *builder
	if kind < 18 {
		ph = f.pick("x86_64", weight)
	}
	if ph == nil { // queued
		f.reasons[parent] = "all x86_64 hosts in channel default are at capacity"
		return
	}
	start := created.Add(time.Duration(1+f.rng.IntN(30)) * time.Second)
	f.open(parent, ph, start)
	end := start
	for c, arch := range []string{"x86_64", "aarch64", "ppc64le"} {
		child := f.task(db.NewTask{Method: "buildArch", Arch: arch, ChannelID: f.def.ID, Owner: owner, Priority: 19, Weight: 1.5, Parent: &parent, Label: &arch},
			start.Add(5*time.Second), "tasks/"+strconv.Itoa(b)+"/"+pkg+".src.rpm", int64(42), arch, false, map[string]any{"repo_id": int64(7001)})
		cs := start.Add(time.Duration(6+f.rng.IntN(60)) * time.Second)
		if !finished {
			switch h := f.pick(arch, 1.5); {
			case h == nil:
				f.reasons[child] = "no " + arch + " host in channel default has room (capacity)"
			case c == 2:
				*f.clock = cs
				_, err := f.tx.AssignTask(f.ctx, child, h.id, false)
				f.check(err)
			default:
				f.open(child, h, cs)
			}
			continue
		}
		ce := cs.Add(time.Duration(60+f.rng.IntN(1200)) * time.Second)
		if ce.After(end) {
			end = ce
		}
		if kind == 11 && c == 2 { // the failed build's last arch is canceled
			f.past(ce)
			_, err := f.tx.CancelTask(f.ctx, child, true)
			f.check(err)
			continue
		}
		h := f.pick(arch, 0)
		f.open(child, h, cs)
		state := db.TaskClosed
		if kind == 11 && c == 0 {
			state = db.TaskFailed
		}
		f.finish(child, h, state, ce)
	}
	if finished {
		state := db.TaskClosed
		if kind == 11 {
			state = db.TaskFailed
		}
		f.finish(parent, ph, state, end.Add(10*time.Second))
	}
}

// checkIns stores each host's last check-in with the data a kojigo builder
// sends (internal/health): disks, memory, load, tools, certificate expiry
// and the reasons it is not ready.
func (f *farmer) checkIns() {
	const gib = 1 << 30
	for i, h := range f.hosts {
		p := health.Probe{Time: f.now, MemTotal: uint64(16*h.capacity) * gib, MemAvailable: uint64(4+i%9) * gib,
			Load1: h.load * 1.1, Load5: h.load, Load15: h.load * 0.9, CPUs: 8 * int(h.capacity),
			Tools: map[string]string{"rpmbuild": "/usr/bin/rpmbuild", "mock": "/usr/bin/mock", "git": "/usr/bin/git"},
			Disks: []health.Disk{
				{Role: "workdir", Path: "/var/lib/kojid", Mount: "/", Free: uint64(20+i%80) * gib, Total: 200 * gib},
				{Role: "mockdir", Path: "/var/lib/mock", Mount: "/var/lib/mock", Free: uint64(50+(i*7)%400) * gib, Total: 500 * gib},
			},
			CertNotAfter: f.now.Add(time.Duration(30+(i*13)%300) * 24 * time.Hour),
			Jobs:         h.jobs, TaskLoad: h.load, Capacity: h.capacity, Disabled: h.disabled}
		switch {
		case i%15 == 3: // a full mock dir
			p.Disks[1].Free = uint64(3+i%4) * gib
		case i%41 == 9:
			p.Disks[1].Err = errors.New("no such directory: /var/lib/mock")
		case i%23 == 11: // a certificate about to expire
			p.CertNotAfter = f.now.Add(time.Duration(2+i%5) * 24 * time.Hour)
		}
		if h.disabled {
			p.Comment = "disk replacement"
		}
		ready, why := health.Evaluate(health.Config{MaxJobs: 10, Now: func() time.Time { return f.now }}, p)
		data, err := json.Marshal(health.Data(p, why, health.HostInfo{Methods: []string{"build", "buildArch", "newRepo", "createrepo"},
			MaxJobs: 10, Arches: []string{h.arch, "noarch"}, Version: "0.9.0"}))
		f.check(err)
		js := string(data)
		*f.clock = f.ago(30*time.Second, 30*time.Second)
		if h.silent { // stopped checking in 12 minutes ago
			*f.clock = f.now.Add(-12 * time.Minute)
		}
		f.check(f.tx.CheckIn(f.ctx, db.CheckIn{HostID: h.id, TaskLoad: h.load, Ready: ready && !h.disabled, Data: &js}))
	}
}
