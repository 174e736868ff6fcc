package hubcore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// The scheduler (Koji 1.34+ rules): which ready host gets which FREE task.
//
// A pass runs in one transaction holding the "scheduler" lock, so one pass
// runs at a time across every hub on the database; the FREE rows it reads
// are locked with SKIP LOCKED. It marks silent hosts not ready
// (ReadyTimeout), takes back tasks that were assigned but never opened
// (AssignTimeout, an implicit soft refusal) and OPEN tasks of hosts that
// stopped checking in (HostTimeout, counted as a retry), then gives each
// FREE task, in priority order, to the lowest-ranked eligible host of its
// channel×arch bin. Every task left FREE gets a reason an operator can read
// (kojigo.getTaskWaitReason, kojigo.listFreeTasks).
//
// Passes run on the RunInterval timer and, debounced by a few milliseconds,
// whenever wake is called (task created or finished, host ready or enabled).
// Hosts waiting in kojigo.waitTasks are told at once when they get a task.

// SchedulerConfig tunes the scheduler. Zero values mean Koji's defaults
// (hub.conf keys of the same names).
type SchedulerConfig struct {
	// MaxJobs bounds a host's tasks when its check-in data has no maxjobs (default 15).
	MaxJobs int
	// CapacityOvercommit is how far a task's weight may exceed a host's free
	// capacity (default 5; a negative value means no overcommit).
	CapacityOvercommit float64
	// ReadyTimeout marks a host not ready when it has not checked in for this long (default 180 s).
	ReadyTimeout time.Duration
	// AssignTimeout frees an ASSIGNED task its host has not opened for this long (default 300 s).
	AssignTimeout time.Duration
	// SoftRefusalTimeout is how long a soft refusal keeps a task from a host (default 900 s).
	SoftRefusalTimeout time.Duration
	// HostTimeout frees OPEN tasks of a host silent for this long (default 900 s).
	HostTimeout time.Duration
	// RunInterval is the period of the timer pass, and the least time
	// between passes that host polls may trigger (default 60 s).
	RunInterval time.Duration
	// LogLifetime is how long scheduler log messages are kept (default 14
	// days); see sweep.
	LogLifetime time.Duration
}

func (c *SchedulerConfig) setDefaults() {
	if c.MaxJobs <= 0 {
		c.MaxJobs = 15
	}
	switch {
	case c.CapacityOvercommit == 0:
		c.CapacityOvercommit = 5
	case c.CapacityOvercommit < 0:
		c.CapacityOvercommit = 0
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ReadyTimeout, 180*time.Second)
	def(&c.AssignTimeout, 300*time.Second)
	def(&c.SoftRefusalTimeout, 900*time.Second)
	def(&c.HostTimeout, 900*time.Second)
	def(&c.RunInterval, 60*time.Second)
	def(&c.LogLifetime, 14*24*time.Hour)
}

const (
	// maxFreePerPass bounds the FREE tasks one pass considers (Koji: 1000).
	maxFreePerPass = 1000
	// wakeDebounce gathers a burst of wake-ups into one pass.
	wakeDebounce = 3 * time.Millisecond
	// lockRetry is how soon a wake-up is retried when another hub holds the lock.
	lockRetry = 50 * time.Millisecond
	// waitPoll is how often kojigo.waitTasks looks at the database when
	// other hubs may assign (PostgreSQL).
	waitPoll = 250 * time.Millisecond
	// sweepInterval is how often a hub deletes what has outlived its use.
	sweepInterval = time.Hour
	// maxWaitTasks caps kojigo.waitTasks's timeout.
	maxWaitTasks = 60 * time.Second
	sysLastRun   = "scheduler.last_run_ts"
)

type scheduler struct {
	h      *Hub
	cfg    SchedulerConfig
	log    *slog.Logger
	wakeCh chan struct{}
	stop   chan struct{} // closed when run ends
	once   sync.Once
	passMu sync.Mutex // one pass at a time in this hub

	mu     sync.Mutex
	hostCh map[int64]chan struct{} // closed and replaced when the host gets a task

	lastSweep time.Time // used by run's goroutine only
}

func newScheduler(h *Hub) *scheduler {
	return &scheduler{
		h: h, cfg: h.cfg.Scheduler, log: h.cfg.Logger.With("component", "scheduler"),
		wakeCh: make(chan struct{}, 1), stop: make(chan struct{}), hostCh: map[int64]chan struct{}{},
	}
}

// wake asks for a pass soon; it never blocks.
func (s *scheduler) wake() {
	select {
	case s.wakeCh <- struct{}{}:
	default:
	}
}

// now is the hub's clock in the store's unit (seconds).
func (s *scheduler) now() float64 { return float64(s.h.cfg.Now().UnixMicro()) / 1e6 }

// run makes passes on the timer and on wake-ups until ctx ends.
func (s *scheduler) run(ctx context.Context) error {
	defer s.once.Do(func() { close(s.stop) })
	timer := time.NewTimer(s.cfg.RunInterval)
	defer timer.Stop()
	for {
		woken := false
		select {
		case <-ctx.Done():
			return nil
		case <-s.wakeCh:
			woken = true
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wakeDebounce):
			}
			select {
			case <-s.wakeCh:
			default:
			}
		case <-timer.C:
			s.sweep(ctx)
		}
		ran, err := s.pass(ctx, true)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("scheduler pass", "err", err)
		case !ran && woken:
			time.AfterFunc(lockRetry, s.wake)
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(s.cfg.RunInterval)
	}
}

// sweep deletes, at most once per sweepInterval, what would otherwise
// grow without end: scheduler log messages older than LogLifetime, and
// sessions closed or expired for a day (as koji-sweep-db does for Koji).
// Each hub sweeps; a second sweep finds nothing to delete.
func (s *scheduler) sweep(ctx context.Context) {
	now := s.h.cfg.Now()
	if now.Sub(s.lastSweep) < sweepInterval {
		return
	}
	s.lastSweep = now
	st := s.h.store
	t := st.Now()
	if err := st.PruneLogs(ctx, t-s.cfg.LogLifetime.Seconds()); err != nil {
		s.log.Error("pruning scheduler log messages", "err", err)
	}
	day := (24 * time.Hour).Seconds()
	n, err := st.PruneSessions(ctx, t-day, t-s.h.cfg.SessionRenewalTimeout.Seconds()-day)
	if err != nil {
		s.log.Error("pruning old sessions", "err", err)
	} else if n > 0 {
		s.log.Info("pruned old sessions", "count", n)
	}
}

// hostWaiter returns the channel closed when hostID next gets a task.
func (s *scheduler) hostWaiter(hostID int64) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.hostCh[hostID]
	if !ok {
		ch = make(chan struct{})
		s.hostCh[hostID] = ch
	}
	return ch
}

// notifyHost wakes the host's waiters.
func (s *scheduler) notifyHost(hostID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.hostCh[hostID]; ok {
		close(ch)
		delete(s.hostCh, hostID)
	}
}

// notifyAllHosts wakes every waiter, to look again: events may have been
// missed.
func (s *scheduler) notifyAllHosts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, ch := range s.hostCh {
		close(ch)
		delete(s.hostCh, id)
	}
}

// taskEvent wakes the builder a task was assigned to, by this hub or any
// other on the same PostgreSQL (db.Store.OnTaskEvent).
func (s *scheduler) taskEvent(e db.TaskEvent) {
	switch {
	case e.ID == 0:
		s.notifyAllHosts()
	case e.HostID != 0 && e.State == db.TaskAssigned:
		s.notifyHost(e.HostID)
	}
}

// passResult is what a pass did, for the caller and the tests.
type passResult struct {
	assigned map[int64]int64 // task -> host
	freed    int
}

// pass runs the scheduler once. Without force it does nothing when the last
// pass (by any hub) is younger than RunInterval. ran is false when the pass
// was skipped or another hub held the lock.
func (s *scheduler) pass(ctx context.Context, force bool) (ran bool, err error) {
	s.passMu.Lock()
	defer s.passMu.Unlock()
	var res passResult
	err = s.h.store.WithTx(ctx, func(tx *db.Store) error {
		ok, err := tx.TryLock(ctx, "scheduler")
		if err != nil || !ok {
			return err
		}
		now := s.now()
		if !force {
			if v, err := tx.GetSysData(ctx, sysLastRun); err == nil {
				if last, perr := strconv.ParseFloat(v, 64); perr == nil && now-last < s.cfg.RunInterval.Seconds() && now >= last {
					return nil
				}
			} else if !errors.Is(err, db.ErrNotFound) {
				return err
			}
		}
		ran = true
		res, err = s.passTx(ctx, tx, now)
		if err != nil {
			return err
		}
		return tx.SetSysData(ctx, sysLastRun, strconv.FormatFloat(now, 'f', 6, 64))
	})
	if err != nil {
		return false, fmt.Errorf("scheduler pass: %w", err)
	}
	for _, host := range res.assigned {
		s.notifyHost(host)
	}
	if res.freed > 0 {
		s.wake()
	}
	return ran, nil
}

func (s *scheduler) passTx(ctx context.Context, tx *db.Store, now float64) (passResult, error) {
	res := passResult{assigned: map[int64]int64{}}
	if err := tx.ExpireRefusals(ctx, now-s.cfg.SoftRefusalTimeout.Seconds()); err != nil {
		return res, err
	}
	hosts, err := tx.ListHosts(ctx, db.HostFilter{})
	if err != nil {
		return res, err
	}
	hostByID := make(map[int64]*db.Host, len(hosts))
	for i := range hosts {
		h := &hosts[i]
		hostByID[h.ID] = h
		// check_hosts: a ready host that stopped checking in is not ready.
		if h.Ready && (h.UpdateTime == nil || now-*h.UpdateTime > s.cfg.ReadyTimeout.Seconds()) {
			if err := tx.SetHostReady(ctx, h.ID, false); err != nil {
				return res, err
			}
			if err := tx.AddLog(ctx, nil, &h.ID, "Marking host not ready"); err != nil {
				return res, err
			}
			h.Ready = false
		}
	}
	active, free, err := tx.SchedulerTasks(ctx, maxFreePerPass)
	if err != nil {
		return res, err
	}
	runs, err := tx.ListTaskRuns(ctx, db.RunFilter{Active: ptr(true)})
	if err != nil {
		return res, err
	}
	runOf := make(map[int64]db.TaskRun, len(runs))
	for _, r := range runs {
		runOf[r.TaskID] = r
	}
	// check_active_tasks
	var stillActive []db.SchedTask
	for _, t := range active {
		id := t.ID
		var host *db.Host
		if t.HostID != nil {
			host = hostByID[*t.HostID]
		}
		freeIt := func(msg, reason string, retry bool) error {
			if err := tx.FreeTask(ctx, id, reason, retry); err != nil {
				return err
			}
			res.freed++
			return tx.AddLog(ctx, &id, t.HostID, msg)
		}
		switch {
		case host == nil:
			if err := freeIt("Active task with no host", "its host is gone", false); err != nil {
				return res, err
			}
			continue
		case t.State == db.TaskAssigned:
			run, ok := runOf[id]
			if ok && now-run.CreateTime > s.cfg.AssignTimeout.Seconds() {
				if host.UpdateTime != nil && *host.UpdateTime > run.CreateTime {
					if err := tx.AddRefusal(ctx, db.Refusal{TaskID: id, HostID: host.ID, Soft: true, Msg: "assignment timeout", Time: now}); err != nil {
						return res, err
					}
				}
				if err := freeIt("Task assignment timeout", fmt.Sprintf("%s did not open it within %s", host.Name, s.cfg.AssignTimeout), false); err != nil {
					return res, err
				}
				continue
			}
			if host.UpdateTime == nil || now-*host.UpdateTime > s.cfg.HostTimeout.Seconds() {
				// an override assignment has no run to time out; a dead host still loses it
				if err := freeIt("Freeing task from unresponsive host", fmt.Sprintf("%s stopped checking in before opening it", host.Name), true); err != nil {
					return res, err
				}
				continue
			}
		case t.State == db.TaskOpen:
			if host.UpdateTime == nil || now-*host.UpdateTime > s.cfg.HostTimeout.Seconds() {
				if err := freeIt("Freeing task from unresponsive host", fmt.Sprintf("%s stopped checking in while running it", host.Name), true); err != nil {
					return res, err
				}
				continue
			}
		}
		stillActive = append(stillActive, t)
	}
	chans, err := tx.ListChannels(ctx, nil)
	if err != nil {
		return res, err
	}
	hostChans, err := tx.HostChannels(ctx)
	if err != nil {
		return res, err
	}
	data, err := tx.AllHostData(ctx)
	if err != nil {
		return res, err
	}
	var freeIDs []int64
	for _, t := range free {
		freeIDs = append(freeIDs, t.ID)
	}
	var refusals []db.Refusal
	if len(freeIDs) > 0 {
		if refusals, err = tx.ListRefusals(ctx, db.RefusalFilter{TaskIDs: freeIDs}); err != nil {
			return res, err
		}
	}
	in := schedInput{cfg: s.cfg, channels: chans, free: free, active: stillActive, refusals: refusals, now: now}
	if in.requirements, err = s.requirements(ctx, tx, free); err != nil {
		return res, err
	}
	for _, h := range hosts {
		if !h.Enabled {
			continue
		}
		in.hosts = append(in.hosts, newSchedHost(h, hostChans[h.ID], data[h.ID]))
	}
	plan := planSchedule(in)
	for _, a := range plan.assign {
		ok, err := tx.AssignTask(ctx, a.task, a.host, false)
		if err != nil {
			return res, err
		}
		id, host := a.task, a.host
		if !ok {
			if err := tx.AddLog(ctx, &id, &host, "Assignment failed"); err != nil {
				return res, err
			}
			continue
		}
		if err := tx.AddTaskRun(ctx, id, host); err != nil {
			return res, err
		}
		if err := tx.AddLog(ctx, &id, &host, "Assigning task"); err != nil {
			return res, err
		}
		res.assigned[id] = host
	}
	// Only reasons that changed are written: a pass over hundreds of
	// waiting tasks otherwise rewrote every one of their rows.
	for _, t := range free {
		if r, ok := plan.reasons[t.ID]; ok && t.FreeReason != nil && *t.FreeReason == r {
			delete(plan.reasons, t.ID)
		}
	}
	if err := tx.SetFreeReasons(ctx, plan.reasons); err != nil {
		return res, err
	}
	return res, nil
}

// schedHost is a host as one pass sees it.
type schedHost struct {
	id, userID int64
	name       string
	ready      bool
	capacity   float64
	arches     []string
	channels   []int64
	maxJobs    int // 0: the hub's MaxJobs
	notReady   string
	diskFreeMB int64 // -1: unknown
	memFreeMB  int64 // -1: unknown
	load       float64
	ntasks     int
	demand     float64
}

func newSchedHost(h db.Host, channels []int64, js string) *schedHost {
	sh := &schedHost{id: h.ID, userID: h.UserID, name: h.Name, ready: h.Ready, capacity: h.Capacity,
		arches: strings.Fields(h.Arches), channels: channels, diskFreeMB: -1, memFreeMB: -1}
	if js == "" {
		return sh
	}
	var d struct {
		MaxJobs  json.Number `json:"maxjobs"`
		NotReady []any       `json:"not_ready_reasons"`
		Disk     []struct {
			Role string      `json:"role"`
			Free json.Number `json:"free"`
		} `json:"disk"`
		Mem json.Number `json:"mem_available"`
	}
	if json.Unmarshal([]byte(js), &d) != nil {
		return sh
	}
	if n, err := d.MaxJobs.Int64(); err == nil && n > 0 && n < 1<<20 {
		sh.maxJobs = int(n)
	}
	if len(d.NotReady) > 0 {
		if r, ok := d.NotReady[0].(string); ok {
			sh.notReady = r
		}
	}
	for _, dk := range d.Disk {
		if dk.Role != "mockdir" && dk.Role != "workdir" {
			continue
		}
		if f, err := dk.Free.Float64(); err == nil {
			mb := int64(f / (1 << 20))
			if sh.diskFreeMB < 0 || mb < sh.diskFreeMB {
				sh.diskFreeMB = mb
			}
		}
	}
	if f, err := d.Mem.Float64(); err == nil && d.Mem != "" {
		sh.memFreeMB = int64(f / (1 << 20))
	}
	return sh
}

// constrainedMethods are the tasks that can carry disk and memory
// requirements (tag extra kojigo.min_disk_mb/min_mem_mb, package settings).
var constrainedMethods = map[string]bool{"build": true, "buildArch": true, "buildSRPMFromSCM": true, "rebuildSRPM": true}

// requirements returns, for this pass's FREE tasks, the free disk and memory
// each needs on its host in MiB (0: none), from buildRequirements. The
// scheduler checks them against the host's last check-in (disk: the smaller
// free space of its mockdir and workdir; mem_available). Tasks with the
// same request share one lookup.
func (s *scheduler) requirements(ctx context.Context, tx *db.Store, free []db.SchedTask) (func(db.SchedTask) (int64, int64), error) {
	var ids []int64
	for _, t := range free {
		if constrainedMethods[t.Method] {
			ids = append(ids, t.ID)
		}
	}
	reqs := map[int64][2]int64{}
	if len(ids) > 0 {
		full, err := tx.GetTasks(ctx, ids)
		if err != nil {
			return nil, err
		}
		seen := map[string][2]int64{}
		for id, t := range full {
			key := t.Method + "\x00" + t.Request
			r, ok := seen[key]
			if !ok {
				r[0], r[1] = s.h.buildRequirements(ctx, t.Method, t.Request)
				seen[key] = r
			}
			reqs[id] = r
		}
	}
	return func(t db.SchedTask) (int64, int64) { r := reqs[t.ID]; return r[0], r[1] }, nil
}

type schedInput struct {
	cfg      SchedulerConfig
	hosts    []*schedHost
	channels []db.Channel
	active   []db.SchedTask
	free     []db.SchedTask
	refusals []db.Refusal
	now      float64 // seconds since the epoch, as refusal times
	// requirements gives a task's free disk and memory needs in MiB; nil: none.
	requirements func(db.SchedTask) (int64, int64)
}

type assignment struct{ task, host int64 }

type schedPlan struct {
	assign  []assignment
	reasons map[int64]string // FREE task -> why it stays FREE
}

// planSchedule decides the assignments of one pass (Koji's do_schedule):
// no I/O, so the rules can be tested on their own.
func planSchedule(in schedInput) schedPlan {
	plan := schedPlan{reasons: map[int64]string{}}
	req := in.requirements
	if req == nil {
		req = func(db.SchedTask) (int64, int64) { return 0, 0 }
	}
	byID := map[int64]*schedHost{}
	for _, h := range in.hosts {
		byID[h.id] = h
	}
	for _, t := range in.active {
		if t.HostID == nil {
			continue
		}
		// A parent waiting for its subtasks takes neither a job slot nor
		// capacity (kojid counts it the same way): otherwise a builder
		// full of waiting build parents could never be given their subtasks.
		// A waitrepo task only polls the hub for the repo a newRepo task
		// makes: counted, builds waiting for a repo could keep that newRepo
		// task off a builder that is also in the createrepo channel.
		if h := byID[*t.HostID]; h != nil && !t.Waiting && t.Method != "waitrepo" {
			h.ntasks++
			h.load += t.Weight
		}
	}
	chanByID := map[int64]db.Channel{}
	for _, c := range in.channels {
		chanByID[c.ID] = c
	}
	// bins: "channel:arch" -> hosts (host arches + noarch, enabled channels)
	bins := map[string][]*schedHost{}
	for _, h := range in.hosts {
		for _, c := range h.channels {
			if ch, ok := chanByID[c]; !ok || !ch.Enabled {
				continue
			}
			seen := map[string]bool{}
			for _, a := range append(append([]string{}, h.arches...), "noarch") {
				if seen[a] {
					continue
				}
				seen[a] = true
				k := binKey(c, a)
				bins[k] = append(bins[k], h)
			}
		}
	}
	refused := map[int64]map[int64]db.Refusal{}
	for _, r := range in.refusals {
		if refused[r.TaskID] == nil {
			refused[r.TaskID] = map[int64]db.Refusal{}
		}
		refused[r.TaskID][r.HostID] = r
	}
	// demand: each task spreads its weight over its bin, normalized to 1.
	for _, t := range in.free {
		hs := bins[binKey(t.ChannelID, t.Arch)]
		for _, h := range hs {
			h.demand += t.Weight / float64(len(hs))
		}
	}
	maxDemand := 0.0
	for _, h := range in.hosts {
		maxDemand = math.Max(maxDemand, h.demand)
	}
	if maxDemand > 0 {
		for _, h := range in.hosts {
			h.demand /= maxDemand
		}
	}
	rank := func(h *schedHost) float64 { return h.load + float64(h.ntasks) + h.demand }
	overcommit := in.cfg.CapacityOvercommit
	for _, t := range in.free {
		if t.Waiting {
			continue
		}
		hs := bins[binKey(t.ChannelID, t.Arch)]
		ch, known := chanByID[t.ChannelID]
		chName := strconv.FormatInt(t.ChannelID, 10)
		if known {
			chName = ch.Name
		}
		if len(hs) == 0 {
			switch {
			case !known:
				plan.reasons[t.ID] = fmt.Sprintf("channel %s does not exist", chName)
			case !ch.Enabled:
				plan.reasons[t.ID] = fmt.Sprintf("channel %s is disabled", chName)
			default:
				plan.reasons[t.ID] = fmt.Sprintf("no enabled host in channel %s supports %s", chName, t.Arch)
			}
			continue
		}
		needDisk, needMem := req(t)
		retry := retrySoftRefusals(hs, refused[t.ID])
		var best *schedHost
		var why reasonTally
		for _, h := range hs {
			r, isRefused := refused[t.ID][h.id]
			if isRefused && retry && r.Soft && in.now-r.Time >= refusalRetry.Seconds() {
				isRefused = false
			}
			maxJobs := h.maxJobs
			if maxJobs <= 0 {
				maxJobs = in.cfg.MaxJobs
			}
			switch {
			case !h.ready:
				r := h.notReady
				if r == "" {
					r = "not ready"
				}
				why.add("not ready", h.name, r)
			case isRefused:
				msg := r.Msg
				if msg == "" {
					msg = "refused"
				}
				why.add("refused", h.name, msg)
			case h.ntasks >= maxJobs:
				why.add("with a full queue", h.name, fmt.Sprintf("%d of %d jobs", h.ntasks, maxJobs))
			case h.capacity-h.load <= math.Max(0, t.Weight-overcommit):
				why.add("at capacity", h.name, fmt.Sprintf("load %.2f of capacity %.2f", h.load, h.capacity))
			case needDisk > 0 && h.diskFreeMB >= 0 && h.diskFreeMB < needDisk:
				why.add("short of disk", h.name, "needs "+formatMB(needDisk)+" free disk")
			case needMem > 0 && h.memFreeMB >= 0 && h.memFreeMB < needMem:
				why.add("short of memory", h.name, "needs "+formatMB(needMem)+" free memory")
			default:
				if best == nil || rank(h) < rank(best) {
					best = h
				}
			}
		}
		if best == nil {
			plan.reasons[t.ID] = why.String(len(hs))
			continue
		}
		plan.assign = append(plan.assign, assignment{task: t.ID, host: best.id})
		best.ntasks++
		best.load += t.Weight
	}
	return plan
}

// refusalRetry is how long a soft refusal keeps a task from a host once
// every ready candidate host has refused it softly.
const refusalRetry = time.Minute

// retrySoftRefusals reports whether every ready candidate host refused the
// task, some softly (a host that refused it hard never takes it). Soft refusals keep a task off a host so that another takes
// it; when there is no other, the task would wait out SoftRefusalTimeout
// on a farm whose hosts were all briefly unfit (a full topdir, a burst of
// load): the hosts that refused it more than refusalRetry ago get it again.
func retrySoftRefusals(hs []*schedHost, refused map[int64]db.Refusal) bool {
	some := false
	for _, h := range hs {
		if !h.ready {
			continue
		}
		r, ok := refused[h.id]
		switch {
		case !ok:
			return false
		case r.Soft:
			some = true
		} // a hard refusal: never a candidate
	}
	return some
}

func binKey(channel int64, arch string) string { return strconv.FormatInt(channel, 10) + ":" + arch }

func formatMB(mb int64) string {
	if mb >= 1024 && mb%1024 == 0 {
		return fmt.Sprintf("%d GiB", mb/1024)
	}
	if mb >= 1024 {
		return fmt.Sprintf("%.1f GiB", float64(mb)/1024)
	}
	return fmt.Sprintf("%d MiB", mb)
}

// reasonTally counts why candidate hosts could not take a task, keeping the
// first example of each cause.
type reasonTally struct {
	order []string
	count map[string]int
	first map[string]string
}

func (r *reasonTally) add(cause, host, detail string) {
	if r.count == nil {
		r.count, r.first = map[string]int{}, map[string]string{}
	}
	if r.count[cause] == 0 {
		r.order = append(r.order, cause)
		r.first[cause] = host + ": " + detail
	}
	r.count[cause]++
}

// String reads "3 candidate hosts: 2 not ready (builder2: disk full), 1 at
// capacity (...)", or "refused by all 2 candidate hosts (builder1: busy)".
func (r *reasonTally) String(candidates int) string {
	noun := "hosts"
	if candidates == 1 {
		noun = "host"
	}
	if len(r.order) == 1 && r.order[0] == "refused" {
		return fmt.Sprintf("refused by all %d candidate %s (%s)", candidates, noun, r.first["refused"])
	}
	parts := make([]string, 0, len(r.order))
	for _, c := range r.order {
		parts = append(parts, fmt.Sprintf("%d %s (%s)", r.count[c], c, r.first[c]))
	}
	return fmt.Sprintf("%d candidate %s: %s", candidates, noun, strings.Join(parts, ", "))
}

func schedulerMethods() []method {
	return []method{
		{name: "scheduler.getTaskRuns", argdesc: "(clauses=None, fields=None, opts=None)", fn: mSchedGetTaskRuns},
		{name: "scheduler.getTaskRefusals", argdesc: "(clauses=None, fields=None)", fn: mSchedGetTaskRefusals},
		{name: "scheduler.getLogMessages", argdesc: "(clauses=None, fields=None, opts=None)", fn: mSchedGetLogMessages},
		{name: "scheduler.getHostData", argdesc: "(hostID=None)", fn: mSchedGetHostData},
		{name: "scheduler.doRun", argdesc: "(force=False)", fn: mSchedDoRun},
		{name: "kojigo.waitTasks", argdesc: "(timeout=30)", fn: mWaitTasks},
		{name: "kojigo.getTaskWaitReason", argdesc: "(task_id)", fn: mGetTaskWaitReason},
		{name: "kojigo.listFreeTasks", argdesc: "(limit=1000)", fn: mListFreeTasks},
	}
}

// clauseFilter holds what the scheduler queries understand of Koji's
// QueryView clauses: [field, op, value] with op "=" (or "IN" for task_id).
type clauseFilter struct {
	taskIDs   []int64
	hostID    *int64
	active    *bool
	state     *int64
	after     *float64 // msg_ts > after (>= with atOrAfter)
	atOrAfter bool
	before    *float64 // msg_ts < before
}

func parseClauses(raw []any, allowed ...string) (clauseFilter, error) {
	var f clauseFilter
	if len(raw) > 100 {
		return f, paramErr("clauses: %d clauses exceed the limit of 100", len(raw))
	}
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	for i, c := range raw {
		cl, isList := c.([]any)
		if isList && len(cl) == 2 {
			// Koji's implicit operator: IN for a list, = otherwise
			op := "="
			if _, isL := cl[1].([]any); isL {
				op = "IN"
			}
			cl = []any{cl[0], op, cl[1]}
		}
		if !isList || len(cl) != 3 {
			return f, paramErr("clauses[%d]: expected [field, op, value]", i)
		}
		field, _ := cl[0].(string)
		op, _ := cl[1].(string)
		if !ok[field] {
			return f, paramErr("clauses[%d]: unsupported field %v (supported: %s)", i, cl[0], strings.Join(allowed, ", "))
		}
		op = strings.ToUpper(op)
		switch field {
		case "task_id":
			switch v := cl[2].(type) {
			case int64:
				if op != "=" {
					return f, paramErr("clauses[%d]: unsupported operator %v for task_id", i, cl[1])
				}
				f.taskIDs = append(f.taskIDs, v)
			case []any:
				if op != "IN" || len(v) > 10000 {
					return f, paramErr("clauses[%d]: task_id IN needs a list of at most 10000 ids", i)
				}
				for _, x := range v {
					n, isInt := x.(int64)
					if !isInt {
						return f, paramErr("clauses[%d]: task ids must be integers", i)
					}
					f.taskIDs = append(f.taskIDs, n)
				}
				if len(v) == 0 {
					f.taskIDs = append(f.taskIDs, -1)
				}
			default:
				return f, paramErr("clauses[%d]: task_id must be an integer", i)
			}
		case "host_id":
			v, isInt := cl[2].(int64)
			if str, isStr := cl[2].(string); isStr {
				// koji scheduler-info --host passes the option as given;
				// PostgreSQL takes a string of digits for an integer
				n, err := strconv.ParseInt(strings.TrimSpace(str), 10, 64)
				v, isInt = n, err == nil
			}
			if !isInt || op != "=" {
				return f, paramErr("clauses[%d]: expected [\"host_id\", \"=\", int]", i)
			}
			f.hostID = &v
		case "active":
			v, isBool := cl[2].(bool)
			if !isBool || op != "=" {
				return f, paramErr("clauses[%d]: expected [\"active\", \"=\", bool]", i)
			}
			f.active = &v
		case "state":
			v, isInt := cl[2].(int64)
			if !isInt || op != "=" {
				return f, paramErr("clauses[%d]: expected [\"state\", \"=\", int]", i)
			}
			f.state = &v
		case "msg_ts":
			v, isNum := toFloat(cl[2])
			if !isNum || (op != ">" && op != ">=" && op != "<") {
				return f, paramErr("clauses[%d]: expected [\"msg_ts\", \">\", \">=\" or \"<\", number]", i)
			}
			if op == "<" {
				f.before = &v
			} else {
				f.after, f.atOrAfter = &v, op == ">="
			}
		}
	}
	return f, nil
}

// selectFields keeps only the named keys of each row (Koji's fields argument).
func selectFields(rows []any, fields []any) ([]any, error) {
	if fields == nil {
		return rows, nil
	}
	keep := map[string]bool{}
	for _, f := range fields {
		s, ok := f.(string)
		if !ok {
			return nil, paramErr("fields: expected strings, got %T", f)
		}
		keep[s] = true
	}
	for _, r := range rows {
		m := r.(map[string]any)
		for k := range m {
			if !keep[k] {
				delete(m, k)
			}
		}
	}
	return rows, nil
}

func schedQueryOpts(opts map[string]any) (map[string]any, error) {
	for k := range opts {
		switch k {
		case "order", "offset", "limit", "countOnly":
		default:
			return nil, paramErr("opts: unsupported option %q", k)
		}
	}
	return opts, nil
}

// Koji 1.35's TaskRunsQuery fields, and those without a join ('*').
var (
	taskRunFields        = []string{"id", "task_id", "method", "state", "owner", "arch", "channel_id", "host_name", "host_ready", "host_id", "active", "create_ts", "start_ts", "completion_ts"}
	taskRunPlainFields   = []string{"id", "task_id", "host_id", "active", "create_ts"}
	logMessageFields     = []string{"id", "task_id", "host_id", "msg_ts", "msg", "method", "state", "owner", "arch", "channel_id", "host_name", "host_ready"}
	logMessagePlainField = []string{"id", "task_id", "host_id", "msg_ts", "msg"}
)

// queryViewFields is Koji's QueryView.get_fields: None (or empty) is the
// default fields, "*" those without a join, "**" all; an unknown name is
// a ParameterError.
func queryViewFields(raw any, all, plain []string) (map[string]bool, error) {
	var names []any
	switch v := raw.(type) {
	case nil:
	case string:
		names = []any{v}
	case []any:
		names = v
	default:
		return nil, paramErr("fields: expected a list of field names, got %s", pyClass(raw))
	}
	if len(names) == 0 {
		names = []any{"*"} // the default fields are those without a join
	}
	known := map[string]bool{}
	for _, f := range all {
		known[f] = true
	}
	keep := map[string]bool{}
	for _, x := range names {
		f, ok := x.(string)
		if !ok {
			return nil, paramErr("fields: expected strings, got %s", pyClass(x))
		}
		switch {
		case f == "*":
			for _, p := range plain {
				keep[p] = true
			}
		case f == "**":
			for _, p := range all {
				keep[p] = true
			}
		case known[f]:
			keep[f] = true
		default:
			return nil, paramErr("Invalid field for query %s", f)
		}
	}
	return keep, nil
}

// viewRows applies opts to full rows, then keeps the selected fields.
func viewRows(rows []any, keep map[string]bool, opts map[string]any) (any, error) {
	if o, ok := opts["order"].(string); ok && o != "" {
		for _, k := range strings.Split(o, ",") {
			k = strings.TrimPrefix(k, "-")
			if len(rows) > 0 {
				if _, has := rows[0].(map[string]any)[k]; !has {
					return nil, paramErr("Invalid field for query %s", k)
				}
			}
		}
	}
	res, err := applyQueryOpts(rows, opts)
	if err != nil {
		return nil, err
	}
	l, ok := res.([]any)
	if !ok {
		return res, nil // countOnly
	}
	for _, r := range l {
		m := r.(map[string]any)
		for k := range m {
			if !keep[k] {
				delete(m, k)
			}
		}
	}
	return l, nil
}

// scheduler.getTaskRuns(clauses=None, fields=None, opts=None): Koji's
// TaskRunsQuery, with the task's and host's fields (method, state, owner,
// arch, channel_id, host_name, host_ready, start_ts, completion_ts).
func mSchedGetTaskRuns(c *call, a *kojixml.Args) (any, error) {
	clauses := a.OptList(0, "clauses")
	fields := a.OptAny(1, "fields", nil)
	opts := a.OptMap(2, "opts")
	if err := a.Done(); err != nil {
		return nil, err
	}
	cf, err := parseClauses(clauses, "task_id", "host_id", "active", "state")
	if err != nil {
		return nil, err
	}
	keep, err := queryViewFields(fields, taskRunFields, taskRunPlainFields)
	if err != nil {
		return nil, err
	}
	if opts, err = schedQueryOpts(opts); err != nil {
		return nil, err
	}
	var state *int
	if cf.state != nil {
		s := int(*cf.state)
		state = &s
	}
	var rows []any
	for _, tid := range orAll(cf.taskIDs) {
		runs, err := c.hub.store.ListTaskRuns(c.ctx, db.RunFilter{TaskID: tid, HostID: cf.hostID, Active: cf.active, State: state})
		if err != nil {
			return nil, err
		}
		for _, r := range runs {
			rows = append(rows, map[string]any{"id": r.ID, "task_id": r.TaskID, "host_id": r.HostID, "active": r.Active, "create_ts": r.CreateTime,
				"method": r.Method, "state": int64(r.State), "owner": r.Owner, "arch": r.Arch, "channel_id": r.ChannelID,
				"host_name": r.HostName, "host_ready": r.HostReady, "start_ts": optFloat(r.StartTime), "completion_ts": optFloat(r.CompletionTime)})
		}
	}
	return viewRows(nonNil(rows), keep, opts)
}

func optFloat(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

// orAll turns a list of ids into per-id filters, or one "any" filter.
func orAll(ids []int64) []*int64 {
	if len(ids) == 0 {
		return []*int64{nil}
	}
	out := make([]*int64, len(ids))
	for i := range ids {
		out[i] = &ids[i]
	}
	return out
}

func nonNil(rows []any) []any {
	if rows == nil {
		return []any{}
	}
	return rows
}

// scheduler.getTaskRefusals(clauses=None, fields=None)
func mSchedGetTaskRefusals(c *call, a *kojixml.Args) (any, error) {
	clauses := a.OptList(0, "clauses")
	fields := a.OptList(1, "fields")
	if err := a.Done(); err != nil {
		return nil, err
	}
	cf, err := parseClauses(clauses, "task_id", "host_id")
	if err != nil {
		return nil, err
	}
	refs, err := c.hub.store.ListRefusals(c.ctx, db.RefusalFilter{TaskIDs: cf.taskIDs, HostID: cf.hostID})
	if err != nil {
		return nil, err
	}
	rows := []any{}
	for _, r := range refs {
		rows = append(rows, map[string]any{"id": r.ID, "task_id": r.TaskID, "host_id": r.HostID, "by_host": r.ByHost,
			"soft": r.Soft, "msg": r.Msg, "ts": r.Time})
	}
	return selectFields(rows, fields)
}

// scheduler.getLogMessages(clauses=None, fields=None, opts=None): Koji's
// LogMessagesQuery, with the task's and host's fields (None for a line
// without them).
func mSchedGetLogMessages(c *call, a *kojixml.Args) (any, error) {
	clauses := a.OptList(0, "clauses")
	fields := a.OptAny(1, "fields", nil)
	opts := a.OptMap(2, "opts")
	if err := a.Done(); err != nil {
		return nil, err
	}
	cf, err := parseClauses(clauses, "task_id", "host_id", "msg_ts")
	if err != nil {
		return nil, err
	}
	if len(cf.taskIDs) > 1 {
		return nil, paramErr("clauses: getLogMessages takes one task_id")
	}
	keep, err := queryViewFields(fields, logMessageFields, logMessagePlainField)
	if err != nil {
		return nil, err
	}
	if opts, err = schedQueryOpts(opts); err != nil {
		return nil, err
	}
	f := db.LogFilter{HostID: cf.hostID, After: cf.after, AtOrAfter: cf.atOrAfter, Before: cf.before}
	if len(cf.taskIDs) == 1 {
		f.TaskID = &cf.taskIDs[0]
	}
	logs, err := c.hub.store.ListLogs(c.ctx, f)
	if err != nil {
		return nil, err
	}
	rows := []any{}
	for _, l := range logs {
		var ready any
		if l.HostReady != nil {
			ready = *l.HostReady
		}
		rows = append(rows, map[string]any{"id": l.ID, "task_id": optInt(l.TaskID), "host_id": optInt(l.HostID), "msg_ts": l.Time, "msg": l.Msg,
			"method": optStr(l.Method), "state": optInt(l.State), "owner": optInt(l.Owner), "arch": optStr(l.Arch),
			"channel_id": optInt(l.ChannelID), "host_name": optStr(l.HostName), "host_ready": ready})
	}
	return viewRows(rows, keep, opts)
}

// scheduler.getHostData(hostID=None): [{host_id, data}] of the host (or every host).
func mSchedGetHostData(c *call, a *kojixml.Args) (any, error) {
	hostID := a.IntOrNil(0, "hostID")
	if err := a.Done(); err != nil {
		return nil, err
	}
	all, err := c.hub.store.AllHostData(c.ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(all))
	for id := range all {
		if hostID == nil || *hostID == id {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := []any{}
	for _, id := range ids {
		out = append(out, map[string]any{"host_id": id, "data": decodeStoredJSON(all[id])})
	}
	return out, nil
}

// scheduler.doRun(force=False): admin; runs a pass now. Without force it
// runs only when RunInterval has passed since the last one. Returns whether it ran.
func mSchedDoRun(c *call, a *kojixml.Args) (any, error) {
	force := a.OptBool(0, "force", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	ran, err := c.hub.sched.pass(c.ctx, force)
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return ran, nil
}

// kojigo.waitTasks(timeout=30): for a host session; returns the host's
// ASSIGNED tasks (host.getTasks's shape) as soon as it has any, or [] after
// timeout seconds (at most 60). Assignments by this hub wake the call at
// once, and on PostgreSQL those of other hubs too, through the store's task
// events; only while those are not flowing does it poll, every 250 ms.
func mWaitTasks(c *call, a *kojixml.Args) (any, error) {
	timeout := a.OptFloat(0, "timeout", 30)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if math.IsNaN(timeout) || timeout < 0 {
		return nil, paramErr("timeout: expected seconds >= 0, got %v", timeout)
	}
	host, err := c.requireHost()
	if err != nil {
		return nil, err
	}
	d := maxWaitTasks
	if timeout < maxWaitTasks.Seconds() {
		d = time.Duration(timeout * float64(time.Second))
	}
	s := c.hub.sched
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	var ticker *time.Ticker
	if c.hub.store.Backend() == db.Postgres {
		ticker = time.NewTicker(waitPoll)
		defer ticker.Stop()
	}
	for {
		ch := s.hostWaiter(host.ID) // before the query, so no assignment is missed
		tasks, err := assignedTasks(c, host.ID)
		if err != nil || len(tasks) > 0 {
			return tasks, err
		}
		// A listener going down wakes every waiter (taskEvent), so one
		// that is not polling now starts to.
		var poll <-chan time.Time
		if ticker != nil && !c.hub.store.Listening() {
			poll = ticker.C
		}
		select {
		case <-ch:
		case <-poll:
		case <-deadline.C:
			return []any{}, nil
		case <-s.stop:
			return []any{}, nil
		case <-c.ctx.Done():
			return nil, c.ctx.Err()
		}
	}
}

// kojigo.getTaskWaitReason(task_id): why a FREE task is still waiting, from
// the scheduler's last pass; nil for tasks that are not FREE or not yet seen.
func mGetTaskWaitReason(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "task_id")
	if err := a.Done(); err != nil {
		return nil, err
	}
	t, err := getTask(c, id)
	if err != nil {
		return nil, err
	}
	if t.State != db.TaskFree {
		return nil, nil
	}
	return optStr(t.FreeReason), nil
}

// kojigo.listFreeTasks(limit=1000): FREE tasks in the order the scheduler
// takes them, with why each waits.
func mListFreeTasks(c *call, a *kojixml.Args) (any, error) {
	limit := a.OptInt(0, "limit", 1000)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 10000 {
		return nil, paramErr("limit: expected 1..10000, got %d", limit)
	}
	tasks, err := c.hub.store.ListTasks(c.ctx, db.TaskFilter{States: []int{db.TaskFree}, Order: []string{"priority", "create_time"}, Limit: int(limit)})
	if err != nil {
		return nil, err
	}
	chans, err := c.hub.store.ListChannels(c.ctx, nil)
	if err != nil {
		return nil, err
	}
	names := map[int64]string{}
	for _, ch := range chans {
		names[ch.ID] = ch.Name
	}
	now := c.hub.sched.now()
	out := make([]any, 0, len(tasks))
	for _, t := range tasks {
		out = append(out, map[string]any{"id": t.ID, "method": t.Method, "arch": t.Arch, "channel_id": t.ChannelID,
			"channel": names[t.ChannelID], "priority": t.Priority, "weight": t.Weight, "create_ts": t.CreateTime,
			"age": math.Max(0, now-t.CreateTime), "retries": t.Retries, "parent": optInt(t.Parent), "reason": optStr(t.FreeReason)})
	}
	return out, nil
}
