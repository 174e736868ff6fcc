package builderd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"kojigo/builderd/pgroup"
	"kojigo/internal/health"
	"kojigo/internal/kojixml"
)

// Prober measures the host for each check-in (*health.Prober implements it).
type Prober interface {
	Probe(ctx context.Context) health.Probe
}

// Options are Run's dependencies besides the Config and the Hub. Zero values
// are the documented defaults.
type Options struct {
	// Logger receives the daemon's logs. Nil: discard.
	Logger *slog.Logger
	// Prober measures the host. Nil: a health.Prober watching workdir,
	// mockdir and topdir (when it exists) and probing rpmbuild, mock, git.
	Prober Prober
	// HTTPClient downloads from topurl. Nil: a client trusting serverca.
	HTTPClient *http.Client
	// Version is reported in the host data. "": "kojigo".
	Version string
	// LookPath finds tools (rpmbuild, mock, git). Nil: exec.LookPath.
	LookPath func(string) (string, error)
	// Restart, when it receives or is closed (SIGUSR1), makes kojid take no
	// new task, wait for the running ones, and return ErrRestart.
	Restart <-chan struct{}
	// ForceStop, when closed during a "finish" shutdown (a second SIGTERM),
	// cancels the running tasks and frees them at once.
	ForceStop <-chan struct{}
	// Waiter, when set, is a second session of this host (a subsession)
	// used to long-poll kojigo.waitTasks, so that new work is taken as soon
	// as the hub assigns it instead of at the next sleeptime. A hub without
	// the method (stock Koji) turns it off.
	Waiter Hub
}

// ErrRestart is returned by Run after a graceful restart request: the
// caller re-executes kojid.
var ErrRestart = errors.New("graceful restart requested")

// Causes of a task's cancellation, told apart with context.Cause.
var (
	errCanceledByHub = errors.New("task canceled on the hub")
	errShutdown      = errors.New("kojid is shutting down")
)

// daemon is one Run: the main loop's state.
type daemon struct {
	cfg      Config
	hub      Hub
	log      *slog.Logger
	opts     Options
	prober   Prober
	http     *http.Client
	lookPath func(string) (string, error)
	handlers map[string]handler
	hostID   int64
	hostInfo map[string]any // last host.getHost answer
	arches   []string       // RPM arches this host builds natively

	// base is the parent of task contexts; Run's ctx ending does not
	// cancel tasks (shutdown decides), killAll does.
	base    context.Context
	killAll context.CancelCauseFunc

	mu     sync.Mutex
	tasks  map[int64]*runningTask
	recent map[int64]time.Time // tasks that ended lately, with when
	wg     sync.WaitGroup

	wake    chan struct{} // poke the loop: a task ended, an upload failed
	ended   chan struct{} // closed (and replaced) when a task of this host is reported
	taken   chan struct{} // closed (and replaced) when the loop takes a task
	lastOK  time.Time     // last successful exchange with the hub
	restart bool          // graceful restart pending
	// restartAsked is set by a restart task (any goroutine); the loop
	// turns it into restart.
	restartAsked atomic.Bool
	startTS      float64 // when this kojid's session began (hub clock), for restartVerify
}

// runningTask is a task this host opened and runs.
type runningTask struct {
	id      int64
	method  string
	weight  float64
	cancel  context.CancelCauseFunc
	done    chan struct{}
	waiting atomic.Bool // in wait(): its weight does not count as load
	// finishing is set while the task reports its own end to the hub; the
	// hub no longer listing it as OPEN then is not a cancellation.
	finishing atomic.Bool
}

// Run runs kojid until ctx ends or a restart is requested: it checks in
// with the hub every sleeptime with the host's health, takes the tasks the
// hub assigns when ready, runs them, and watches for their cancellation.
// hub must already be logged in with the host's exclusive session.
//
// When ctx ends (SIGTERM) no new task is taken; running tasks are freed
// (shutdown = free, Koji's behaviour) or finished (shutdown = finish, until
// shutdown_timeout or opts.ForceStop), then the host reports not ready.
// Run returns nil after a shutdown, ErrRestart after a graceful restart, and
// an error when it cannot work at all (bad config, the hub refusing the host).
// Transient hub failures are retried with backoff, never returned.
func Run(ctx context.Context, cfg Config, hub Hub, opts Options) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("kojid config: %w", err)
	}
	if hub == nil {
		return errors.New("kojid: no hub client")
	}
	d := &daemon{
		cfg:      cfg,
		hub:      hub,
		log:      opts.Logger,
		opts:     opts,
		prober:   opts.Prober,
		http:     opts.HTTPClient,
		lookPath: opts.LookPath,
		tasks:    map[int64]*runningTask{},
		recent:   map[int64]time.Time{},
		wake:     make(chan struct{}, 1),
		arches:   nativeArches(runtime.GOARCH),
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.log = d.log.With("component", "kojid")
	d.hub = newOutageHub(hub, d.log)
	if d.lookPath == nil {
		d.lookPath = exec.LookPath
	}
	if d.opts.Version == "" {
		d.opts.Version = "kojigo"
	}
	if err := os.MkdirAll(filepath.Join(cfg.WorkDir, "tasks"), 0o755); err != nil {
		return fmt.Errorf("kojid: workdir: %w", err)
	}
	if d.prober == nil {
		p, err := d.defaultProber()
		if err != nil {
			return err
		}
		d.prober = p
	}
	if d.http == nil {
		c, err := httpClient(cfg.ServerCA)
		if err != nil {
			return err
		}
		d.http = c
	}
	d.handlers = handlers()
	d.base, d.killAll = context.WithCancelCause(context.WithoutCancel(ctx))
	defer d.killAll(errShutdown)

	id, err := d.hostIdentity(ctx)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil
	}
	d.hostID = id
	d.startTS = d.sessionStart(ctx)
	d.lastOK = time.Now()
	d.cleanLeftovers()
	d.log.Info("starting", "host_id", id, "host", cfg.HostName, "arches", d.arches, "maxjobs", cfg.MaxJobs)
	if opts.Waiter != nil {
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		go d.waitForWork(wctx, opts.Waiter)
	}
	return d.loop(ctx)
}

// waitForWork long-polls the hub for tasks assigned to this host and wakes
// the main loop when there are some. It stops for good when the hub does
// not know the method, and backs off while the hub is unreachable.
func (d *daemon) waitForWork(ctx context.Context, w Hub) {
	names, err := w.Call(ctx, "system.listMethods")
	if err != nil || !slices.Contains(asList(names), any("kojigo.waitTasks")) {
		d.log.Info("the hub has no kojigo.waitTasks: new work is seen at each sleeptime", "err", err)
		return
	}
	fails := 0
	for ctx.Err() == nil {
		v, err := w.Call(ctx, "kojigo.waitTasks", kw("timeout", int64(30)))
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			fails++
			t := time.NewTimer(backoff(fails, d.cfg.SleepTime))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		fails = 0
		if tasks := asList(v); len(tasks) > 0 {
			d.poke()
			// Ask again once the loop has taken them, so that the next
			// assignment (often a subtask of the task just taken) is seen
			// at once; or after 200 ms when it does not take them (full,
			// not ready), since asking now would get the same answer.
			if !d.awaitTaken(ctx, tasks, 200*time.Millisecond) {
				return
			}
		}
	}
}

// awaitTaken waits until the loop runs every task of tasks (the structs
// kojigo.waitTasks returns), for at most limit. It reports false when ctx
// ended.
func (d *daemon) awaitTaken(ctx context.Context, tasks []any, limit time.Duration) bool {
	t := time.NewTimer(limit)
	defer t.Stop()
	for {
		d.mu.Lock()
		if d.taken == nil {
			d.taken = make(chan struct{})
		}
		ch, all := d.taken, true
		for _, v := range tasks {
			// kojigo.waitTasks lists tasks as host.getTasks does: structs
			if id, ok := asInt(asMap(v)["id"]); !ok || d.tasks[id] == nil {
				all = false
			}
		}
		d.mu.Unlock()
		if all {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-ch:
		}
	}
}

// hostIdentity asks the hub who this host is, waiting out a hub that is not
// reachable yet; a fault (not a host session) ends Run.
func (d *daemon) hostIdentity(ctx context.Context) (int64, error) {
	for fails := 1; ; fails++ {
		id, err := callInt(ctx, d.hub, "host.getID")
		if err == nil {
			return id, nil
		}
		if _, ok := isFault(err); ok {
			return 0, fmt.Errorf("kojid: this session is not a build host (log in with the host's certificate or user and take the exclusive session): %w", err)
		}
		delay := backoff(fails, d.cfg.SleepTime)
		d.log.Warn("hub not reachable, retrying", "err", err, "retry_in", delay.Round(time.Millisecond), "failures", fails)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, nil
		case <-t.C:
		}
	}
}

func (d *daemon) defaultProber() (Prober, error) {
	watches := []health.Watch{
		{Role: health.RoleWorkdir, Path: d.cfg.WorkDir, Writable: true},
	}
	if d.useMock() {
		watches = append(watches, health.Watch{Role: health.RoleMockdir, Path: d.cfg.MockDir})
	}
	if fi, err := os.Stat(d.cfg.TopDir); err == nil && fi.IsDir() && d.cfg.TopDir != "" {
		watches = append(watches, health.Watch{Role: health.RoleTopdir, Path: d.cfg.TopDir})
	}
	cert := ""
	if d.cfg.certExists() {
		cert = d.cfg.Cert
	}
	p, err := health.NewProber(health.ProberOptions{Watches: watches, CertFile: cert, LookPath: d.lookPath})
	if err != nil {
		return nil, fmt.Errorf("kojid: %w", err)
	}
	return p, nil
}

// useMock reports whether builds use mock: use_mock = yes, or auto with mock
// installed.
func (d *daemon) useMock() bool {
	mode, _ := d.cfg.mockMode()
	switch mode {
	case mockYes:
		return true
	case mockNo:
		return false
	}
	_, err := d.lookPath("mock")
	return err == nil
}

// healthConfig is the readiness thresholds from the config.
func (d *daemon) healthConfig() health.Config {
	hc := health.Config{
		MinSpace:      int64(d.cfg.MinSpace),
		MaxLoad:       d.cfg.MaxLoad,
		MaxJobs:       d.cfg.MaxJobs,
		RequiredTools: []string{"rpmbuild"},
	}
	if hc.MinSpace == 0 {
		hc.MinSpace = -1
	}
	if hc.MaxLoad == 0 {
		hc.MaxLoad = -1
	}
	if mode, _ := d.cfg.mockMode(); mode == mockYes {
		hc.RequiredTools = append(hc.RequiredTools, "mock")
	}
	return hc
}

func (d *daemon) methods() []string {
	var out []string
	for m := range d.handlers {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// poke wakes the loop without blocking.
func (d *daemon) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// loop is the main loop. Each pass checks the running tasks against the
// hub (cancellation); every sleeptime, or at once after a task was taken or
// ended, it also checks in and takes new tasks.
func (d *daemon) loop(ctx context.Context) error {
	var fails int
	nextFull := time.Now()
	for {
		if ctx.Err() != nil {
			return d.shutdown()
		}
		if d.restartAsked.Load() {
			d.restart = true
		}
		if d.restart && d.count() == 0 {
			d.log.Warn("graceful restart: no task running, restarting")
			d.reportStopped(context.WithoutCancel(ctx))
			return ErrRestart
		}
		full := !time.Now().Before(nextFull)
		took, err := d.iteration(ctx, full)
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			fails++
			delay := backoff(fails, d.cfg.SleepTime)
			d.log.Warn("hub call failed, retrying", "err", err, "retry_in", delay.Round(time.Millisecond),
				"since_last_success", time.Since(d.lastOK).Round(time.Second), "failures", fails)
			nextFull = time.Now().Add(delay)
			d.sleep(ctx, delay)
			continue
		}
		if fails > 0 {
			d.log.Info("hub reachable again", "after_failures", fails)
			fails = 0
		}
		d.lastOK = time.Now()
		if full {
			nextFull = time.Now().Add(jitter(d.cfg.SleepTime))
			if took {
				nextFull = time.Now()
			}
		}
		wait := time.Until(nextFull)
		if d.count() > 0 && wait > d.cfg.CancelPoll {
			wait = d.cfg.CancelPoll
		}
		if wait <= 0 {
			continue
		}
		if d.sleep(ctx, wait) {
			nextFull = time.Now() // woken: check in at once
		}
	}
}

// sleep waits for d, ctx's end, a poke or a restart request. It reports
// whether something other than the timer woke it.
func (d *daemon) sleep(ctx context.Context, dur time.Duration) bool {
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-t.C:
		return false
	case <-ctx.Done():
		return true
	case <-d.wake:
		return true
	case _, ok := <-d.restartChan():
		if !d.restart {
			d.log.Warn("graceful restart requested: taking no new task, waiting for running ones", "running", d.count())
		}
		d.restart = true
		_ = ok
		return true
	}
}

func (d *daemon) restartChan() <-chan struct{} {
	if d.restart {
		return nil // already pending; a closed channel would spin
	}
	return d.opts.Restart
}

// backoff grows with consecutive failures from 1s to 4x sleeptime (at
// least a minute), with jitter.
func backoff(fails int, sleep time.Duration) time.Duration {
	maxd := 4 * sleep
	if maxd < time.Minute {
		maxd = time.Minute
	}
	d := time.Second << min(fails-1, 16)
	if d > maxd || d <= 0 {
		d = maxd
	}
	return jitter(d)
}

// jitter spreads d by ±10% so a farm of builders does not poll in step.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	f := 0.9 + 0.2*rand.Float64() //nolint:gosec // not security
	return time.Duration(float64(d) * f)
}

func (d *daemon) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.tasks)
}

// load is the number of tasks that are not waiting on subtasks, and their
// weight. Waiting parents count neither for maxjobs nor for load (Koji
// counts them for maxjobs), so that one builder can run a build and the
// subtasks it waits for.
func (d *daemon) load() (active int, load float64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, t := range d.tasks {
		if !t.waiting.Load() {
			active++
			load += t.weight
		}
	}
	return active, load
}

func (d *daemon) iteration(ctx context.Context, full bool) (took bool, err error) {
	if err := d.updateTasks(ctx); err != nil {
		return false, err
	}
	if !full {
		return false, nil
	}
	return d.checkIn(ctx, true)
}

// updateTasks compares the hub's view of this host's OPEN tasks with the
// local one: tasks the hub thinks run here but do not (after a crash) are
// freed; local tasks the hub no longer lists as ours are cancelled.
func (d *daemon) updateTasks(ctx context.Context) error {
	before := d.snapshot()
	v, err := d.hub.Call(ctx, "host.getHostTasks")
	if err != nil {
		return fmt.Errorf("host.getHostTasks: %w", err)
	}
	hubOpen := map[int64]bool{}
	waiting := map[int64]bool{}
	for _, e := range asList(v) {
		m := asMap(e)
		id, ok := asInt(m["id"])
		if !ok {
			continue
		}
		hubOpen[id] = true
		waiting[id] = asBool(m["waiting"])
	}
	now := d.snapshot()
	d.mu.Lock()
	for id, at := range d.recent {
		if time.Since(at) > 2*time.Minute {
			delete(d.recent, id)
		}
	}
	var stale []int64
	for id := range hubOpen {
		if before[id] == nil && now[id] == nil && d.recent[id].IsZero() {
			stale = append(stale, id)
		}
	}
	d.mu.Unlock()
	if len(stale) > 0 {
		sort.Slice(stale, func(i, j int) bool { return stale[i] < stale[j] })
		d.log.Warn("freeing tasks the hub thinks run here but do not (kojid restarted?)", "tasks", stale)
		ids := make([]any, len(stale))
		for i, id := range stale {
			ids[i] = id
		}
		if _, err := d.hub.Call(ctx, "host.freeTasks", ids); err != nil {
			return fmt.Errorf("host.freeTasks: %w", err)
		}
	}
	for id, rt := range now {
		if hubOpen[id] || rt.finishing.Load() {
			continue
		}
		info, err := callMap(ctx, d.hub, "getTaskInfo", id)
		if err != nil {
			return err
		}
		state, _ := asInt(info["state"])
		host, _ := asInt(info["host_id"])
		if info != nil && state == stateOpen && host == d.hostID {
			continue // listed late; still ours
		}
		if rt.finishing.Load() {
			continue
		}
		why := "task is " + stateName(state)
		if info == nil {
			why = "task no longer exists"
		} else if state == stateOpen {
			why = fmt.Sprintf("task now belongs to host %d", host)
		}
		d.log.Warn("cancelling task: "+why, "task_id", id, "method", rt.method)
		rt.cancel(fmt.Errorf("%w: %s", errCanceledByHub, why))
	}
	return nil
}

func (d *daemon) snapshot() map[int64]*runningTask {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := make(map[int64]*runningTask, len(d.tasks))
	for id, t := range d.tasks {
		m[id] = t
	}
	return m
}

// checkIn reports health with host.updateHost and, when ready and take is
// set, takes the tasks the hub assigned to this host.
func (d *daemon) checkIn(ctx context.Context, take bool) (took bool, err error) {
	ready, busy, reasons, data, load, err := d.health(ctx)
	if err != nil {
		return false, err
	}
	if _, err := d.hub.Call(ctx, "host.updateHost", load, ready, kw("data", data)); err != nil {
		return false, fmt.Errorf("host.updateHost: %w", err)
	}
	if !take || d.restart {
		return false, nil
	}
	if !ready {
		d.log.Info("not ready", "reasons", reasons)
	}
	v, err := d.hub.Call(ctx, "host.getTasks")
	if err != nil {
		return false, fmt.Errorf("host.getTasks: %w", err)
	}
	for _, e := range asList(v) {
		m := asMap(e)
		id, ok := asInt(m["id"])
		if !ok {
			continue
		}
		if d.snapshot()[id] != nil {
			continue
		}
		if active, _ := d.load(); busy || ready && active >= d.cfg.MaxJobs {
			// Busy, not unfit: as Koji's kojid, leave the task assigned and
			// take it when a slot frees (a parent starts waiting, a task
			// ends), or the hub frees it after AssignTimeout. A soft
			// refusal would keep it off this host for SoftRefusalTimeout,
			// and off a small farm whose hosts were all briefly busy.
			d.log.Debug("full: the assigned task waits for a free slot", "task_id", id, "active", active, "maxjobs", d.cfg.MaxJobs)
			continue
		}
		msg := strings.Join(reasons, "; ")
		if !ready || msg != "" {
			own, err := d.ownSubtask(ctx, id)
			if err != nil {
				return took, err
			}
			if own {
				// A subtask of a build running here: the parent is about
				// to wait on it, which frees its slot. Refusing would send
				// it elsewhere or, on a one-host farm, nowhere.
				continue
			}
			if err := d.refuse(ctx, id, true, msg); err != nil {
				return took, err
			}
			continue
		}
		if d.restartAsked.Load() {
			break // a restart task just taken: the rest is for the restarted kojid
		}
		ok2, err := d.takeTask(ctx, id, asString(m["method"]))
		if err != nil {
			return took, err
		}
		took = took || ok2
	}
	return took, nil
}

// health probes the host and evaluates readiness.
func (d *daemon) health(ctx context.Context) (ready, busy bool, reasons []string, data map[string]any, load float64, err error) {
	p := d.prober.Probe(ctx)
	hi, err := callMap(ctx, d.hub, "host.getHost")
	if err != nil {
		return false, false, nil, nil, 0, err
	}
	if hi != nil {
		d.hostInfo = hi
		_, hasEnabled := hi["enabled"]
		p.Disabled = hasEnabled && !asBool(hi["enabled"])
		p.Comment = asString(hi["comment"])
		p.Capacity = asFloat(hi["capacity"])
	}
	p.Jobs, p.TaskLoad = d.load()
	ready, reasons = health.Evaluate(d.healthConfig(), p)
	busy = health.Busy(d.healthConfig(), p)
	if d.restart {
		ready = false
		reasons = append(reasons, fmt.Sprintf("restart pending: finishing %d tasks", p.Jobs))
	}
	data = health.Data(p, reasons, health.HostInfo{
		Methods: d.methods(), MaxJobs: d.cfg.MaxJobs, Arches: d.arches, Version: d.opts.Version,
	})
	return ready, busy, reasons, data, p.TaskLoad, nil
}

// ownSubtask reports whether task id is a child of a task running here.
func (d *daemon) ownSubtask(ctx context.Context, id int64) (bool, error) {
	info, err := callMap(ctx, d.hub, "getTaskInfo", id)
	if err != nil {
		return false, err
	}
	parent, ok := asInt(info["parent"])
	return ok && d.snapshot()[parent] != nil, nil
}

func (d *daemon) refuse(ctx context.Context, id int64, soft bool, msg string) error {
	d.log.Info("refusing task", "task_id", id, "soft", soft, "reason", msg)
	if _, err := d.hub.Call(ctx, "host.refuseTask", id, kw("soft", soft, "msg", msg)); err != nil {
		if _, ok := isFault(err); ok {
			// The task moved on meanwhile (cancelled, reassigned): nothing to refuse.
			d.log.Info("refuse failed", "task_id", id, "err", err)
			return nil
		}
		return fmt.Errorf("host.refuseTask %d: %w", id, err)
	}
	return nil
}

// takeTask opens an assigned task and starts it. A task this host cannot
// run is refused with the reason instead.
func (d *daemon) takeTask(ctx context.Context, id int64, method string) (bool, error) {
	h, ok := d.handlers[method]
	if !ok {
		return false, d.refuse(ctx, id, false, fmt.Sprintf("no handler for method %s on this host", method))
	}
	info, err := callMap(ctx, d.hub, "host.openTask", id)
	if err != nil {
		if _, ok := isFault(err); ok {
			d.log.Info("could not open task", "task_id", id, "err", err)
			return false, nil
		}
		return false, err
	}
	if info == nil {
		d.log.Info("task taken by another host", "task_id", id)
		return false, nil
	}
	t, err := d.newTask(id, info)
	if err != nil {
		// A request we cannot read fails the task: retrying elsewhere would not help.
		d.log.Error("bad task request", "task_id", id, "err", err)
		return false, d.report(ctx, id, nil, err)
	}
	if err := h.check(ctx, t); err != nil {
		var r *refusal
		if errors.As(err, &r) {
			return false, d.refuse(ctx, id, r.soft, r.msg)
		}
		return false, err
	}
	weight := h.weight(t)
	if _, err := d.hub.Call(ctx, "host.setTaskWeight", id, weight); err != nil {
		d.log.Warn("host.setTaskWeight failed", "task_id", id, "err", err)
	}
	tctx, cancel := context.WithCancelCause(patient(d.base))
	rt := &runningTask{id: id, method: method, weight: weight, cancel: cancel, done: make(chan struct{})}
	t.rt = rt
	d.mu.Lock()
	d.tasks[id] = rt
	if d.taken != nil {
		close(d.taken)
		d.taken = nil
	}
	d.mu.Unlock()
	d.wg.Add(1)
	go d.runTask(tctx, t, h)
	d.log.Info("took task", "task_id", id, "method", method, "weight", weight)
	return true, nil
}

// refusal is returned by a handler's check to refuse a task.
type refusal struct {
	soft bool
	msg  string
}

func (r *refusal) Error() string { return "refused: " + r.msg }

// runTask runs a handler and reports its end to the hub.
func (d *daemon) runTask(ctx context.Context, t *task, h handler) {
	defer d.wg.Done()
	rt := t.rt
	start := time.Now()
	var result any
	err := t.prepare()
	if err == nil {
		result, err = h.run(ctx, t)
	}
	t.close()
	cause := context.Cause(ctx)
	switch {
	case ctx.Err() != nil && errors.Is(cause, errCanceledByHub):
		t.log.Warn("task stopped", "reason", cause, "duration", time.Since(start).Round(time.Millisecond))
	case ctx.Err() != nil && errors.Is(cause, errShutdown), errors.Is(err, errFreeTask):
		if errors.Is(err, errFreeTask) {
			t.log.Info("handing the task back to the hub", "reason", err)
		} else {
			t.log.Warn("task stopped by shutdown, handing it back to the hub")
		}
		fctx, cancel := context.WithTimeout(impatient(context.WithoutCancel(ctx)), 5*time.Minute)
		defer cancel()
		if _, ferr := d.hub.Call(fctx, "host.freeTasks", []any{t.id}); ferr != nil {
			t.log.Error("host.freeTasks failed; the hub frees it after its host timeout", "err", ferr)
		}
	default:
		rt.finishing.Store(true)
		// The result is reported however long the hub is away; only a
		// forced stop (a second SIGTERM) abandons it.
		rctx, cancel := d.untilForceStop(context.WithoutCancel(ctx))
		defer cancel()
		if rerr := d.report(rctx, t.id, result, err); errors.Is(rerr, errTaskNotOurs) {
			// Expected after this host was cut off past the hub's host
			// timeout (the hub freed the task; another host runs it), or
			// when the task was cancelled as it ended.
			t.log.Warn("the hub no longer lets this host end the task (freed for another host, or cancelled); this run's result is dropped", "err", rerr)
		} else if rerr != nil {
			t.log.Error("could not report the task's end", "err", rerr)
		}
		d.taskEnded()
		if err != nil {
			t.log.Warn("task failed", "err", firstLine(err.Error()), "duration", time.Since(start).Round(time.Millisecond))
		} else {
			t.log.Info("task closed", "duration", time.Since(start).Round(time.Millisecond))
		}
	}
	if rerr := os.RemoveAll(t.dir); rerr != nil {
		t.log.Error("cleaning the task directory", "dir", t.dir, "err", rerr)
	}
	d.mu.Lock()
	delete(d.tasks, t.id)
	d.recent[t.id] = time.Now()
	d.mu.Unlock()
	close(rt.done)
	rt.cancel(nil)
	d.poke()
}

// endedChan returns a channel closed when a task of this host next ends
// on the hub: a parent waiting for its subtasks looks again at once when
// one of them ran here (a newRepo's createrepo, often), instead of at its
// next poll.
func (d *daemon) endedChan() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ended == nil {
		d.ended = make(chan struct{})
	}
	return d.ended
}

func (d *daemon) taskEnded() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ended != nil {
		close(d.ended)
		d.ended = nil
	}
}

// errTaskNotOurs is a task's end the hub refused because the task is no
// longer this host's.
var errTaskNotOurs = errors.New("the task is no longer this host's")

// report closes the task with its result or fails it with its error's
// fault. An unreachable hub is waited out (the task's context is patient).
// Other transport failures are retried a few times. A fault may mean that
// an earlier attempt was applied and its answer lost (the hub answers
// RetryError when it knows, or "not open" to the repeated call): the
// task's state on the hub decides, so a task is never reported twice.
func (d *daemon) report(ctx context.Context, id int64, result any, taskErr error) error {
	var doc string
	var method string
	var err error
	want := int64(stateFailed)
	if taskErr != nil {
		method = "host.failTask"
		doc, err = encodeFault(toFault(taskErr))
	} else {
		method, want = "host.closeTask", stateClosed
		doc, err = encodeResult(result)
		if err != nil {
			method, want = "host.failTask", stateFailed
			doc, err = encodeFault(toFault(fmt.Errorf("encode task result: %w", err)))
		}
	}
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		_, err := d.hub.Call(ctx, method, id, doc)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s %d: %w", method, id, err)
		}
		f, isF := isFault(err)
		if isF {
			state, serr := d.hubTaskState(ctx, id)
			switch {
			case serr != nil:
				return fmt.Errorf("%s %d: %w (and reading the task's state failed: %v)", method, id, err, serr)
			case state == want:
				d.log.Info("task end already recorded by an earlier attempt", "task_id", id, "call", method, "fault", f.String)
				return nil
			case f.Code == kojixml.ActionNotAllowed:
				// The hub lets only the host it gave the task to end it.
				return fmt.Errorf("%s %d: %w: %w", method, id, errTaskNotOurs, err)
			case state != stateOpen || f.Code != kojixml.RetryError || attempt >= 8:
				return fmt.Errorf("%s %d: %w", method, id, err)
			}
			// RetryError and still OPEN: the earlier attempt was not applied.
		} else if attempt >= 8 {
			return fmt.Errorf("%s %d: %w", method, id, err)
		}
		if werr := sleepCtx(ctx, jitter(time.Duration(attempt)*time.Second)); werr != nil {
			return fmt.Errorf("%s %d: %w", method, id, err)
		}
	}
}

// hubTaskState is the task's state on the hub when it is still this
// host's (OPEN, CLOSED or FAILED here), -1 when another host has it.
func (d *daemon) hubTaskState(ctx context.Context, id int64) (int64, error) {
	info, err := callMap(ctx, d.hub, "getTaskInfo", id)
	if err != nil {
		return 0, err
	}
	if info == nil {
		return -1, nil
	}
	state, _ := asInt(info["state"])
	if host, _ := asInt(info["host_id"]); host != d.hostID {
		return -1, nil
	}
	return state, nil
}

// untilForceStop returns ctx, cancelled when opts.ForceStop closes.
func (d *daemon) untilForceStop(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-d.opts.ForceStop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// shutdown stops taking work and ends the running tasks as configured.
func (d *daemon) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := d.count()
	d.log.Warn("shutting down", "mode", d.cfg.Shutdown, "running", n)
	if n > 0 && d.cfg.Shutdown == ShutdownFinish {
		d.drain()
	}
	d.killAll(errShutdown)
	d.wg.Wait()
	d.reportStopped(ctx)
	return nil
}

// drain keeps checking in (not ready) and watching for cancellations until
// the running tasks end, shutdown_timeout passes or ForceStop is closed.
func (d *daemon) drain() {
	var deadline <-chan time.Time
	if d.cfg.ShutdownTimeout > 0 {
		t := time.NewTimer(d.cfg.ShutdownTimeout)
		defer t.Stop()
		deadline = t.C
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d.restart = true // reported as not ready, takes nothing
	tick := time.NewTicker(d.cfg.CancelPoll)
	defer tick.Stop()
	lastCheckIn := time.Time{}
	for d.count() > 0 {
		if err := d.updateTasks(ctx); err != nil {
			d.log.Warn("hub call failed while finishing tasks", "err", err)
		}
		if time.Since(lastCheckIn) >= d.cfg.SleepTime {
			if _, err := d.checkIn(ctx, false); err != nil {
				d.log.Warn("check-in failed while finishing tasks", "err", err)
			}
			lastCheckIn = time.Now()
		}
		select {
		case <-deadline:
			d.log.Warn("shutdown timeout: freeing the tasks still running", "running", d.count())
			return
		case <-d.opts.ForceStop:
			d.log.Warn("forced stop: freeing the tasks still running", "running", d.count())
			return
		case <-tick.C:
		case <-d.wake:
		}
	}
}

// reportStopped tells the hub this host takes nothing more.
func (d *daemon) reportStopped(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := d.hub.Call(ctx, "host.updateHost", 0.0, false); err != nil {
		d.log.Warn("final host.updateHost failed", "err", err)
	}
}

// cleanLeftovers removes the task directories of a previous run and kills
// the process groups they recorded: after a crash or kill -9 nothing runs
// here, so whatever is left is stale. The hub side (tasks still OPEN) is
// reconciled by the first updateTasks.
func (d *daemon) cleanLeftovers() {
	root := filepath.Join(d.cfg.WorkDir, "tasks")
	buckets, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, b := range buckets {
		dirs, err := os.ReadDir(filepath.Join(root, b.Name()))
		if err != nil {
			continue
		}
		for _, e := range dirs {
			id, err := strconv.ParseInt(e.Name(), 10, 64)
			dir := filepath.Join(root, b.Name(), e.Name())
			if err != nil || !e.IsDir() {
				continue
			}
			if raw, err := os.ReadFile(filepath.Join(dir, pgidFile)); err == nil {
				for _, f := range strings.Fields(string(raw)) {
					pg, err := strconv.Atoi(f)
					if err != nil {
						continue
					}
					killed, err := pgroup.KillIfTagged("", pg, taskEnvTag(id))
					if killed {
						d.log.Warn("killed processes left by a previous run", "task_id", id, "pgid", pg)
					} else if err != nil {
						d.log.Warn("could not check a process group left by a previous run", "task_id", id, "pgid", pg, "err", err)
					}
				}
			}
			if err := os.RemoveAll(dir); err != nil {
				d.log.Warn("could not remove a task directory left by a previous run", "dir", dir, "err", err)
			} else {
				d.log.Info("removed a task directory left by a previous run", "task_id", id)
			}
		}
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
