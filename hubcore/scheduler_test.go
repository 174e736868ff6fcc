package hubcore

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

func TestSchedulerDefaults(t *testing.T) {
	var c SchedulerConfig
	c.setDefaults()
	want := SchedulerConfig{MaxJobs: 15, CapacityOvercommit: 5, ReadyTimeout: 180 * time.Second, AssignTimeout: 300 * time.Second,
		SoftRefusalTimeout: 900 * time.Second, HostTimeout: 900 * time.Second, RunInterval: 60 * time.Second,
		LogLifetime: 14 * 24 * time.Hour}
	if c != want {
		t.Errorf("setDefaults() = %+v, want %+v", c, want)
	}
	c = SchedulerConfig{CapacityOvercommit: -1, MaxJobs: 3}
	c.setDefaults()
	if c.CapacityOvercommit != 0 || c.MaxJobs != 3 {
		t.Errorf("setDefaults kept %+v, want overcommit 0 and MaxJobs 3", c)
	}
}

// TestPlanEligibility is the scheduler's rule table: one FREE task, some
// hosts, which host gets it or why none does.
func TestPlanEligibility(t *testing.T) {
	chans := []db.Channel{{ID: 1, Name: "default", Enabled: true}, {ID: 2, Name: "createrepo", Enabled: true}, {ID: 3, Name: "off", Enabled: false}}
	host := func(id int64, name string, mod func(*schedHost)) *schedHost {
		h := &schedHost{id: id, name: name, ready: true, capacity: 2, arches: []string{"x86_64"}, channels: []int64{1}, diskFreeMB: -1, memFreeMB: -1}
		if mod != nil {
			mod(h)
		}
		return h
	}
	task := db.SchedTask{ID: 10, ChannelID: 1, Arch: "x86_64", Weight: 1, State: db.TaskFree}
	tests := []struct {
		name     string
		task     db.SchedTask
		hosts    []*schedHost
		active   []db.SchedTask
		refusals []db.Refusal
		req      func(db.SchedTask) (int64, int64)
		want     int64  // host id, 0: none
		reason   string // substring of the free reason
	}{
		{name: "one ready host", task: task, hosts: []*schedHost{host(1, "b1", nil)}, want: 1},
		{name: "noarch goes anywhere", task: withArch(task, "noarch"), hosts: []*schedHost{host(1, "b1", nil)}, want: 1},
		{name: "arch bin", task: withArch(task, "aarch64"), hosts: []*schedHost{host(1, "b1", nil), host(2, "b2", func(h *schedHost) { h.arches = []string{"aarch64"} })}, want: 2},
		{name: "no host for arch", task: db.SchedTask{ID: 10, ChannelID: 2, Arch: "aarch64", Weight: 1}, hosts: []*schedHost{host(1, "b1", nil)},
			reason: "no enabled host in channel createrepo supports aarch64"},
		{name: "channel disabled", task: db.SchedTask{ID: 10, ChannelID: 3, Arch: "x86_64", Weight: 1}, hosts: []*schedHost{host(1, "b1", func(h *schedHost) { h.channels = []int64{3} })},
			reason: "channel off is disabled"},
		{name: "wrong channel", task: db.SchedTask{ID: 10, ChannelID: 2, Arch: "x86_64", Weight: 1}, hosts: []*schedHost{host(1, "b1", nil)},
			reason: "no enabled host in channel createrepo supports x86_64"},
		{name: "not ready with reason", task: task, hosts: []*schedHost{
			host(1, "b1", func(h *schedHost) { h.ready = false }),
			host(2, "b2", func(h *schedHost) {
				h.ready = false
				h.notReady = "mockdir /var/lib/mock: 1.2 GiB free < minspace 8 GiB"
			}),
			host(3, "b3", func(h *schedHost) { h.capacity = 1 }),
		}, active: []db.SchedTask{{ID: 1, HostID: ptr(int64(3)), Weight: 1, State: db.TaskOpen}},
			reason: "3 candidate hosts: 2 not ready (b1: not ready), 1 at capacity (b3: load 1.00 of capacity 1.00)"},
		{name: "capacity with overcommit", task: withWeight(task, 6), hosts: []*schedHost{host(1, "b1", nil)}, want: 1},
		{name: "capacity exceeded beyond overcommit", task: withWeight(task, 8), hosts: []*schedHost{host(1, "b1", nil)},
			reason: "1 candidate host: 1 at capacity"},
		{name: "maxjobs from host data", task: withWeight(task, 0.1), hosts: []*schedHost{host(1, "b1", func(h *schedHost) { h.maxJobs = 1; h.capacity = 100 })},
			active: []db.SchedTask{{ID: 1, HostID: ptr(int64(1)), Weight: 0.1, State: db.TaskOpen}},
			reason: "1 with a full queue (b1: 1 of 1 jobs)"},
		{name: "hub MaxJobs", task: withWeight(task, 0.1), hosts: []*schedHost{host(1, "b1", func(h *schedHost) { h.capacity = 100 })},
			active: []db.SchedTask{{ID: 1, HostID: ptr(int64(1)), Weight: 0.1}, {ID: 2, HostID: ptr(int64(1)), Weight: 0.1}},
			reason: "full queue (b1: 2 of 2 jobs)"},
		{name: "refused by all", task: task, hosts: []*schedHost{host(1, "b1", nil), host(2, "b2", nil)},
			refusals: []db.Refusal{{TaskID: 10, HostID: 1, Msg: "busy"}, {TaskID: 10, HostID: 2, Msg: "no"}},
			reason:   "refused by all 2 candidate hosts (b1: busy)"},
		{name: "refusal leaves the other host", task: task, hosts: []*schedHost{host(1, "b1", nil), host(2, "b2", nil)},
			refusals: []db.Refusal{{TaskID: 10, HostID: 1, Msg: "busy"}}, want: 2},
		{name: "lowest rank wins", task: task, hosts: []*schedHost{host(1, "b1", func(h *schedHost) { h.capacity = 10 }), host(2, "b2", func(h *schedHost) { h.capacity = 10 })},
			active: []db.SchedTask{{ID: 1, HostID: ptr(int64(1)), Weight: 1}}, want: 2},
		{name: "waiting task weight not counted", task: task, hosts: []*schedHost{host(1, "b1", nil)},
			active: []db.SchedTask{{ID: 1, HostID: ptr(int64(1)), Weight: 2, Waiting: true}}, want: 1},
		{name: "waiting parents take no job slot", task: task, hosts: []*schedHost{host(1, "b1", func(h *schedHost) { h.maxJobs = 2 })},
			active: []db.SchedTask{{ID: 1, HostID: ptr(int64(1)), Weight: 0.2, Waiting: true}, {ID: 2, HostID: ptr(int64(1)), Weight: 0.2, Waiting: true}}, want: 1},
		{name: "every ready host refused softly long ago: retried", task: task, hosts: []*schedHost{host(1, "b1", nil), host(2, "b2", nil), host(3, "b3", func(h *schedHost) { h.ready = false })},
			refusals: []db.Refusal{{TaskID: 10, HostID: 1, Soft: true, Msg: "topdir full", Time: 1000}, {TaskID: 10, HostID: 2, Soft: true, Msg: "topdir full", Time: 1000}}, want: 1},
		{name: "every ready host refused softly just now: not yet", task: task, hosts: []*schedHost{host(1, "b1", nil), host(2, "b2", nil)},
			refusals: []db.Refusal{{TaskID: 10, HostID: 1, Soft: true, Msg: "busy", Time: 1990}, {TaskID: 10, HostID: 2, Soft: true, Msg: "busy", Time: 1995}},
			reason:   "refused by all 2 candidate hosts"},
		{name: "a hard refusal is never retried, the soft one is", task: task, hosts: []*schedHost{host(1, "b1", nil), host(2, "b2", nil)},
			refusals: []db.Refusal{{TaskID: 10, HostID: 1, Soft: true, Msg: "busy", Time: 1000}, {TaskID: 10, HostID: 2, Msg: "no handler", Time: 1000}}, want: 1},
		{name: "hard refusals only: none", task: task, hosts: []*schedHost{host(1, "b1", nil)},
			refusals: []db.Refusal{{TaskID: 10, HostID: 1, Msg: "no handler", Time: 1000}}, reason: "refused by all 1 candidate host"},
		{name: "waitrepo tasks take no job slot", task: task, hosts: []*schedHost{host(1, "b1", func(h *schedHost) { h.maxJobs = 2 })},
			active: []db.SchedTask{{ID: 1, HostID: ptr(int64(1)), Weight: 0.2, Method: "waitrepo"}, {ID: 2, HostID: ptr(int64(1)), Weight: 0.2, Method: "waitrepo"}}, want: 1},
		{name: "needs disk", task: task, hosts: []*schedHost{host(1, "b1", func(h *schedHost) { h.diskFreeMB = 1024 })},
			req: func(db.SchedTask) (int64, int64) { return 8192, 0 }, reason: "needs 8 GiB free disk"},
		{name: "disk unknown is not checked", task: task, hosts: []*schedHost{host(1, "b1", nil)},
			req: func(db.SchedTask) (int64, int64) { return 8192, 0 }, want: 1},
		{name: "needs memory", task: task, hosts: []*schedHost{host(1, "b1", func(h *schedHost) { h.memFreeMB = 512 })},
			req: func(db.SchedTask) (int64, int64) { return 0, 4096 }, reason: "needs 4 GiB free memory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := SchedulerConfig{MaxJobs: 2}
			cfg.setDefaults()
			plan := planSchedule(schedInput{cfg: cfg, hosts: tc.hosts, channels: chans, active: tc.active, free: []db.SchedTask{tc.task},
				refusals: tc.refusals, requirements: tc.req, now: 2000})
			var got int64
			if len(plan.assign) == 1 {
				got = plan.assign[0].host
			}
			if got != tc.want {
				t.Errorf("assigned to host %d, want %d (reason %q)", got, tc.want, plan.reasons[tc.task.ID])
			}
			if r := plan.reasons[tc.task.ID]; tc.reason != "" && !strings.Contains(r, tc.reason) {
				t.Errorf("reason = %q, want it to contain %q", r, tc.reason)
			}
		})
	}
}

// waitReason polls until a task's free reason contains want.
func (th *testHub) waitReason(id int64, want string) db.Task {
	th.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		task, err := th.store.GetTask(context.Background(), id)
		if err != nil {
			th.t.Fatal(err)
		}
		if task.FreeReason != nil && strings.Contains(*task.FreeReason, want) {
			return task
		}
		if time.Now().After(deadline) {
			th.t.Fatalf("task %d free reason = %v, want %q", id, optStr(task.FreeReason), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func withArch(t db.SchedTask, arch string) db.SchedTask { t.Arch = arch; return t }
func withWeight(t db.SchedTask, w float64) db.SchedTask { t.Weight = w; return t }

func TestPlanSpreadsTasksAndHonoursPriorityOrder(t *testing.T) {
	cfg := SchedulerConfig{}
	cfg.setDefaults()
	hosts := []*schedHost{
		{id: 1, name: "b1", ready: true, capacity: 2, arches: []string{"x86_64"}, channels: []int64{1}, diskFreeMB: -1, memFreeMB: -1},
		{id: 2, name: "b2", ready: true, capacity: 2, arches: []string{"x86_64"}, channels: []int64{1}, diskFreeMB: -1, memFreeMB: -1},
	}
	var free []db.SchedTask
	for i := int64(1); i <= 5; i++ {
		free = append(free, db.SchedTask{ID: i, ChannelID: 1, Arch: "x86_64", Weight: 1})
	}
	plan := planSchedule(schedInput{cfg: cfg, hosts: hosts, channels: []db.Channel{{ID: 1, Name: "default", Enabled: true}}, free: free})
	per := map[int64]int{}
	for _, a := range plan.assign {
		per[a.host]++
	}
	// capacity 2 with weight 1 each: two per host; the fifth waits
	if per[1] != 2 || per[2] != 2 || len(plan.assign) != 4 {
		t.Errorf("assignments per host = %v (%v), want 2 and 2", per, plan.assign)
	}
	if plan.assign[0].task != 1 || plan.assign[1].task != 2 {
		t.Errorf("assignments = %v, want tasks in the given (priority) order", plan.assign)
	}
	if r := plan.reasons[5]; !strings.Contains(r, "2 at capacity") {
		t.Errorf("reason for task 5 = %q", r)
	}
}

// fakeClock is an adjustable clock for Config.Now.
type fakeClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (f *fakeClock) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return time.Now().Add(f.off)
}

func (f *fakeClock) reset() {
	f.mu.Lock()
	f.off = 0
	f.mu.Unlock()
}

func (f *fakeClock) advance(d time.Duration) {
	f.mu.Lock()
	f.off += d
	f.mu.Unlock()
}

func forBackendsCfg(t *testing.T, tweak func(*Config), fn func(t *testing.T, th *testHub)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newTestHub(t, "sqlite", tweak)) })
	t.Run("postgres", func(t *testing.T) { fn(t, newTestHub(t, "postgres", tweak)) })
}

func TestHostTimeoutFreesTasks(t *testing.T) {
	clock := &fakeClock{}
	forBackendsCfg(t, func(c *Config) { c.Now = clock.now }, func(t *testing.T, th *testHub) {
		clock.reset()
		hc, hostID := th.readyHost("builder1")
		admin := th.login("kojiadmin", "adminpw")
		id := admin.must("makeTask", "newRepo", []any{"f40-build"}).(int64)
		th.waitState(id, db.TaskAssigned)
		hc.must("host.openTask", id)
		// assigned at creation: no scheduler run, so no assignment timeout
		pinned := admin.must("makeTask", "newRepo", []any{"pinned"}, kw{"assign": "builder1"}).(int64)

		// the host goes silent: after ReadyTimeout it is not ready, after
		// HostTimeout its OPEN task is FREE again with a retry counted
		clock.advance(200 * time.Second)
		admin.must("scheduler.doRun", kw{"force": true})
		if h := admin.must("getHost", hostID).(map[string]any); h["ready"] != false {
			t.Errorf("host ready after ReadyTimeout = %v", h["ready"])
		}
		if task := th.waitState(id, db.TaskOpen); task.Retries != 0 {
			t.Errorf("retries = %d before HostTimeout", task.Retries)
		}
		clock.advance(800 * time.Second)
		admin.must("scheduler.doRun", kw{"force": true})
		task := th.waitState(id, db.TaskFree)
		if task.Retries != 1 {
			t.Errorf("retries = %d, want 1", task.Retries)
		}
		if p := th.waitState(pinned, db.TaskFree); p.Retries != 1 {
			t.Errorf("override-assigned task retries = %d, want 1", p.Retries)
		}
		logs := admin.must("scheduler.getLogMessages", []any{[]any{"task_id", "=", id}}).([]any)
		found := false
		for _, l := range logs {
			found = found || l.(map[string]any)["msg"] == "Freeing task from unresponsive host"
		}
		if !found {
			t.Errorf("log = %v, want \"Freeing task from unresponsive host\"", logs)
		}
		// the next pass explains the wait
		th.waitReason(id, "1 candidate host: 1 not ready (builder1: not ready)")
		if r := admin.must("kojigo.getTaskWaitReason", id); r != "1 candidate host: 1 not ready (builder1: not ready)" {
			t.Errorf("getTaskWaitReason = %v", r)
		}
		hc.fault(kojixml.ActionNotAllowed, "host.closeTask", id, responseXML(t, nil))
		// the host comes back: the task goes to it again
		clock.reset()
		hc.must("host.updateHost", 0.0, true)
		th.waitState(id, db.TaskAssigned)
	})
}

func TestAssignTimeoutIsSoftRefusal(t *testing.T) {
	clock := &fakeClock{}
	tweak := func(c *Config) { c.Now = clock.now; c.Scheduler.ReadyTimeout = time.Hour }
	forBackendsCfg(t, tweak, func(t *testing.T, th *testHub) {
		clock.reset()
		_, hostID := th.readyHost("builder1")
		admin := th.login("kojiadmin", "adminpw")
		id := admin.must("makeTask", "newRepo", []any{"x"}).(int64)
		th.waitState(id, db.TaskAssigned)
		// the host checks in (with the real clock, after the assignment) but never opens it
		if err := th.store.CheckIn(context.Background(), db.CheckIn{HostID: hostID, Ready: true}); err != nil {
			t.Fatal(err)
		}
		clock.advance(301 * time.Second)
		admin.must("scheduler.doRun", kw{"force": true})
		th.waitState(id, db.TaskFree)
		task := th.waitReason(id, "refused by all 1 candidate host (builder1: assignment timeout)")
		refs := admin.must("scheduler.getTaskRefusals", []any{[]any{"task_id", "=", id}}).([]any)
		if len(refs) != 1 || refs[0].(map[string]any)["msg"] != "assignment timeout" || refs[0].(map[string]any)["soft"] != true {
			t.Errorf("refusals = %v", refs)
		}
		if task.Retries != 0 {
			t.Errorf("retries = %d after an assignment timeout, want 0", task.Retries)
		}
	})
}

func TestRefuseTask(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		h1, id1 := th.readyHost("builder1")
		admin := th.login("kojiadmin", "adminpw")
		id := admin.must("makeTask", "newRepo", []any{"x"}).(int64)
		th.waitState(id, db.TaskAssigned)
		h2, id2 := th.addHost("builder2")
		// builder2 refusing a task it does not hold changes nothing
		h2.must("host.refuseTask", id, kw{"soft": true, "msg": "not mine"})
		if task := th.waitState(id, db.TaskAssigned); *task.HostID != id1 {
			t.Fatalf("task moved to host %d", *task.HostID)
		}
		h1.must("host.refuseTask", id, kw{"soft": true, "msg": "busy"})
		th.waitState(id, db.TaskFree)
		th.waitReason(id, "2 candidate hosts: 1 refused (builder1: busy), 1 not ready (builder2: not ready)")
		logs := admin.must("scheduler.getLogMessages").([]any)
		last := logs[len(logs)-1].(map[string]any)
		if last["msg"] != "Host refused task: busy" || last["host_id"] != id1 || last["task_id"] != id {
			t.Errorf("last log = %v", last)
		}
		// another ready host takes it
		h2.must("host.updateHost", 0.0, true)
		if task := th.waitState(id, db.TaskAssigned); *task.HostID != id2 {
			t.Errorf("task went to host %d, want %d", *task.HostID, id2)
		}
		free := admin.must("kojigo.listFreeTasks").([]any)
		if len(free) != 0 {
			t.Errorf("listFreeTasks = %v, want none", free)
		}
		h2.fault(kojixml.ParameterError, "host.refuseTask", id, kw{"msg": strings.Repeat("x", 3000)})
	})
}

func TestWaitTasksLatency(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		hc, _ := th.readyHost("builder1")
		admin := th.login("kojiadmin", "adminpw")
		if v := hc.must("kojigo.waitTasks", 0.05).([]any); len(v) != 0 {
			t.Fatalf("waitTasks on an idle host = %v", v)
		}
		type result struct {
			v   any
			err error
			at  time.Time
		}
		done := make(chan result, 1)
		go func() {
			v, err := hc.call("kojigo.waitTasks", int64(10))
			done <- result{v, err, time.Now()}
		}()
		time.Sleep(50 * time.Millisecond) // let the waiter block (not a synchronisation: the result is checked either way)
		start := time.Now()
		id := admin.must("makeTask", "newRepo", []any{"x"}).(int64)
		var r result
		select {
		case r = <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("waitTasks did not return within 5 s of the task's creation")
		}
		if r.err != nil {
			t.Fatal(r.err)
		}
		tasks := r.v.([]any)
		if len(tasks) != 1 || tasks[0].(map[string]any)["id"] != id {
			t.Fatalf("waitTasks = %v", tasks)
		}
		lat := r.at.Sub(start)
		t.Logf("task created -> waitTasks returned: %v", lat)
		if lat > time.Second {
			t.Errorf("latency %v, want well under a second", lat)
		}
		hc.fault(kojixml.ParameterError, "kojigo.waitTasks", -1.0)
		hc.fault(kojixml.ParameterError, "kojigo.waitTasks", "soon")
		th.anon().fault(kojixml.AuthError, "kojigo.waitTasks", 0.0)
		admin.fault(kojixml.AuthError, "kojigo.waitTasks", 0.0)
	})
}

func TestSchedulerMethodsInput(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		th.readyHost("builder1")
		admin := th.login("kojiadmin", "adminpw")
		th.addUser("alice", "pw")
		alice := th.login("alice", "pw")
		alice.fault(kojixml.ActionNotAllowed, "scheduler.doRun")
		th.anon().fault(kojixml.AuthError, "scheduler.doRun")
		if v := admin.must("scheduler.doRun", kw{"force": true}); v != true {
			t.Errorf("doRun(force=True) = %v", v)
		}
		if v := admin.must("scheduler.doRun"); v != false {
			t.Errorf("doRun() right after a pass = %v, want false (RunInterval)", v)
		}
		for _, bad := range []any{
			[]any{"task_id"}, []any{[]any{"nosuch", "=", int64(1)}}, []any{[]any{"task_id", "LIKE", int64(1)}},
			[]any{[]any{"host_id", "=", "x"}}, "notalist",
		} {
			th.anon().fault(kojixml.ParameterError, "scheduler.getTaskRuns", bad)
		}
		th.anon().fault(kojixml.ParameterError, "scheduler.getTaskRuns", nil, nil, map[string]any{"bogus": true})
		th.anon().fault(kojixml.ParameterError, "scheduler.getLogMessages", nil, []any{int64(1)})
		huge := make([]any, 10001)
		for i := range huge {
			huge[i] = int64(i)
		}
		th.anon().fault(kojixml.ParameterError, "scheduler.getTaskRefusals", []any{[]any{"task_id", "IN", huge}})
		if v := th.anon().must("scheduler.getTaskRuns", []any{[]any{"task_id", "IN", []any{int64(-1), int64(5)}}}).([]any); len(v) != 0 {
			t.Errorf("runs of unknown tasks = %v", v)
		}
		hd := th.anon().must("scheduler.getHostData").([]any)
		if len(hd) != 0 {
			t.Errorf("getHostData with no data = %v", hd)
		}
		th.anon().fault(kojixml.ParameterError, "kojigo.listFreeTasks", int64(0))
		th.anon().fault(kojixml.GenericError, "kojigo.getTaskWaitReason", int64(-5))
	})
}

// secondHub starts another hub on the same database, as a farm behind a
// load balancer runs several.
func (th *testHub) secondHub(t *testing.T) *testHub {
	t.Helper()
	h, err := New(th.store, Config{TopDir: th.hub.cfg.TopDir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() { srv.Close(); cancel(); <-done })
	return &testHub{t: t, hub: h, store: th.store, srv: srv, url: srv.URL + "/kojihub"}
}

// on moves a client's session to another hub (sessions live in the database).
func (c *client) on(th *testHub) *client {
	return &client{th: th, sid: c.sid, key: c.key, callnum: c.callnum}
}

func TestTwoHubsAssignEachTaskOnce(t *testing.T) {
	forBackends(t, func(t *testing.T, a *testHub) {
		b := a.secondHub(t)
		var hosts []*client
		for _, n := range []string{"b1", "b2", "b3"} {
			hc, _ := a.readyHost(n)
			hosts = append(hosts, hc)
		}
		adminA := a.login("kojiadmin", "adminpw")
		adminB := b.login("kojiadmin", "adminpw")
		for _, n := range []string{"b1", "b2", "b3"} {
			adminA.must("editHost", n, kw{"capacity": 100.0})
		}
		const n = 40
		var ids []int64
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Add(1)
		go func() { // hub B keeps forcing passes while hub A creates tasks
			defer wg.Done()
			c := &client{th: b, sid: adminB.sid, key: adminB.key, callnum: adminB.callnum}
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.call("scheduler.doRun", kw{"force": true}); err != nil {
					t.Errorf("doRun on hub B: %v", err)
					return
				}
			}
		}()
		for range n {
			ids = append(ids, adminA.must("makeTask", "newRepo", []any{"x"}).(int64))
		}
		for _, id := range ids {
			a.waitState(id, db.TaskAssigned)
		}
		close(stop)
		wg.Wait()
		runs, err := a.store.ListTaskRuns(context.Background(), db.RunFilter{})
		if err != nil {
			t.Fatal(err)
		}
		perTask, perHost := map[int64]int{}, map[int64]int{}
		for _, r := range runs {
			perTask[r.TaskID]++
			perHost[r.HostID]++
		}
		for _, id := range ids {
			if perTask[id] != 1 {
				t.Errorf("task %d has %d runs, want 1", id, perTask[id])
			}
		}
		for h, k := range perHost {
			if k > 15 {
				t.Errorf("host %d got %d tasks, more than MaxJobs 15", h, k)
			}
		}
		if len(runs) != n {
			t.Errorf("%d runs for %d tasks", len(runs), n)
		}
		if a.store.Backend() != db.Postgres {
			return // SQLite serves one hub: the cross-hub wake-up below polls PostgreSQL
		}
		// a builder long-polling hub B learns of a task hub A assigns
		hb := hosts[0].on(b)
		for _, x := range hb.must("host.getTasks").([]any) {
			id := x.(map[string]any)["id"].(int64)
			hb.must("host.openTask", id)
			hb.must("host.closeTask", id, responseXML(t, nil))
		}
		for _, h := range hosts[1:] {
			h.must("host.updateHost", 0.0, false)
		}
		type result struct {
			v   any
			err error
			at  time.Time
		}
		done := make(chan result, 1)
		go func() {
			v, err := hb.call("kojigo.waitTasks", int64(10))
			done <- result{v, err, time.Now()}
		}()
		time.Sleep(50 * time.Millisecond)
		start := time.Now()
		id := adminA.must("makeTask", "newRepo", []any{"y"}).(int64)
		r := <-done
		if r.err != nil {
			t.Fatal(r.err)
		}
		if got := r.v.([]any); len(got) != 1 || got[0].(map[string]any)["id"] != id {
			t.Fatalf("waitTasks on hub B = %v, want task %d", got, id)
		}
		t.Logf("task created on hub A -> waitTasks on hub B returned: %v", r.at.Sub(start))
		if lat := r.at.Sub(start); lat > time.Second {
			t.Errorf("cross-hub latency %v, want under a second", lat)
		}
	})
}

// A builder waiting in kojigo.waitTasks on one hub is woken by an assignment
// another hub makes on the same PostgreSQL: by the store's task events, not
// by polling (a waiter does not poll while they flow, so without the event
// it would sleep to its 10 s timeout).
func TestWaitTasksWokenByAnotherHub(t *testing.T) {
	th := newTestHub(t, "postgres", nil)
	other, err := db.Open(context.Background(), th.store.DSN(), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for deadline := time.Now().Add(10 * time.Second); !th.store.Listening(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the hub's store is not listening after 10 s")
		}
	}
	hc, hostID := th.readyHost("builder1")
	hc.must("kojigo.waitTasks", 0.05) // the session is a host's
	done := make(chan any, 1)
	go func() { done <- hc.must("kojigo.waitTasks", int64(10)) }()
	time.Sleep(50 * time.Millisecond)
	ctx := context.Background()
	id, _, err := other.CreateTask(ctx, db.NewTask{Method: "newRepo", Request: "<x/>", Arch: "noarch", ChannelID: 2, Owner: 1, Priority: 20})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := other.AssignTask(ctx, id, hostID, false); !ok || err != nil {
		t.Fatalf("AssignTask = %v, %v", ok, err)
	}
	select {
	case v := <-done:
		if tasks := v.([]any); len(tasks) != 1 || tasks[0].(map[string]any)["id"] != id {
			t.Fatalf("waitTasks = %v", tasks)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waitTasks was not woken within 5 s by the other hub's assignment")
	}
}

// The hourly sweep deletes scheduler log messages past their lifetime, and
// runs at most once an hour.
func TestSweep(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		ctx := context.Background()
		s := th.hub.sched
		s.cfg.LogLifetime = time.Nanosecond
		th.store.AddLog(ctx, nil, nil, "old")
		time.Sleep(time.Millisecond)
		s.sweep(ctx)
		if logs, _ := th.store.ListLogs(ctx, db.LogFilter{}); len(logs) != 0 {
			t.Fatalf("after the sweep: %+v", logs)
		}
		th.store.AddLog(ctx, nil, nil, "within the hour")
		time.Sleep(time.Millisecond)
		s.sweep(ctx)
		if logs, _ := th.store.ListLogs(ctx, db.LogFilter{}); len(logs) != 1 {
			t.Fatalf("a second sweep within the hour ran: %+v", logs)
		}
	})
}
