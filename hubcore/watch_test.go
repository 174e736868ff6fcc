package hubcore

import (
	"context"
	"math"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// changes is one answer of kojigo.waitChanges.
type changes struct {
	token   string
	changed []string
	took    time.Duration
}

// waitChanges calls kojigo.waitChanges and checks the answer's shape.
func (c *client) waitChanges(token any, timeout float64) changes {
	c.th.t.Helper()
	start := time.Now()
	v := c.must("kojigo.waitChanges", token, timeout)
	took := time.Since(start)
	m, ok := v.(map[string]any)
	if !ok || len(m) != 2 {
		c.th.t.Fatalf("waitChanges(%v, %v) = %#v, want {token, changed}", token, timeout, v)
	}
	tok, ok := m["token"].(string)
	list, ok2 := m["changed"].([]any)
	if !ok || !ok2 {
		c.th.t.Fatalf("waitChanges(%v, %v) = %#v", token, timeout, v)
	}
	out := changes{token: tok, changed: []string{}, took: took}
	for _, k := range list {
		out.changed = append(out.changed, k.(string))
	}
	return out
}

// quietToken returns a token after which nothing has changed for a while:
// the changes the test's set-up made have all been published.
func (c *client) quietToken() string {
	c.th.t.Helper()
	tok := c.waitChanges(nil, 0).token
	for range 20 {
		r := c.waitChanges(tok, 0.3)
		if len(r.changed) == 0 {
			return tok
		}
		tok = r.token
	}
	c.th.t.Fatal("the hub keeps announcing changes with nothing happening")
	return ""
}

var bothKinds = []string{"hosts", "tasks"}

func TestWaitChangesWokenByMakeTask(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		anon := th.anon()
		first := anon.waitChanges(nil, 30)
		if !reflect.DeepEqual(first.changed, bothKinds) || first.took > time.Second {
			t.Fatalf("waitChanges(None) = %+v, want both kinds at once", first)
		}
		tok := anon.quietToken()
		done := make(chan changes, 1)
		var woke time.Time
		go func() {
			r := anon.waitChanges(tok, 10)
			woke = time.Now()
			done <- r
		}()
		time.Sleep(50 * time.Millisecond) // let the waiter block (the result is checked either way)
		start := time.Now()
		admin.must("makeTask", "newRepo", []any{"f40-build"})
		var r changes
		select {
		case r = <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("waitChanges was not woken within 5 s of makeTask")
		}
		lat := woke.Sub(start)
		t.Logf("makeTask -> waitChanges returned: %v", lat)
		if lat > 500*time.Millisecond {
			t.Errorf("latency %v, want well under a second", lat)
		}
		if !reflect.DeepEqual(r.changed, []string{"tasks"}) || r.token == tok {
			t.Errorf("waitChanges after makeTask = %+v, want [tasks] and a new token", r)
		}
		// the new token is quiet again; the old one still reports the change
		if again := anon.waitChanges(tok, 5); !reflect.DeepEqual(again.changed, []string{"tasks"}) || again.took > time.Second {
			t.Errorf("waitChanges(old token) = %+v, want [tasks] at once", again)
		}
	})
}

// otherHub is a second hub process on the same database: its own Store,
// so that it learns of this hub's writes only through the database.
func (th *testHub) otherHub(t *testing.T) *testHub {
	t.Helper()
	s, err := db.Open(context.Background(), th.store.DSN(), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(s, Config{TopDir: th.hub.cfg.TopDir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() { srv.Close(); cancel(); <-done; s.Close() })
	return &testHub{t: t, hub: h, store: s, srv: srv, url: srv.URL + "/kojihub"}
}

func TestWaitChangesWokenByAnotherHub(t *testing.T) {
	b := newTestHub(t, "postgres", nil)
	a := b.otherHub(t)
	for deadline := time.Now().Add(10 * time.Second); !b.store.Listening(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("hub B's store is not listening after 10 s")
		}
	}
	adminOnA := b.login(b.ensureAdmin(), "adminpw").on(a)
	anonOnB := b.anon()
	tok := anonOnB.quietToken()
	done := make(chan changes, 1)
	go func() { done <- anonOnB.waitChanges(tok, 10) }()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	adminOnA.must("makeTask", "newRepo", []any{"f40-build"})
	select {
	case r := <-done:
		t.Logf("makeTask on hub A -> waitChanges on hub B returned: %v", time.Since(start))
		if !reflect.DeepEqual(r.changed, []string{"tasks"}) {
			t.Errorf("waitChanges on B = %+v, want [tasks]", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a waiter on hub B was not woken within 5 s by a task made through hub A")
	}
	// tokens are a hub process's own: B's token on A is another epoch's
	r := a.anon().waitChanges(tok, 10)
	if !reflect.DeepEqual(r.changed, bothKinds) || r.took > time.Second || strings.HasPrefix(r.token, strings.Split(tok, ":")[0]) {
		t.Errorf("hub B's token on hub A = %+v, want both kinds at once and A's token", r)
	}
}

func TestWaitChangesHosts(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		hc, _ := th.readyHost("builder1")
		admin := th.login(th.ensureAdmin(), "adminpw")
		anon := th.anon()
		// On PostgreSQL, task notifications are per database: other test
		// packages' task writes on the same server may wake a waiter as
		// "tasks" at any time. Only "hosts" is this test's to judge.
		hosts := func(changed []string) bool { return slices.Contains(changed, "hosts") }
		// quiet checks that do changes nothing a console shows
		quiet := func(what string, do func()) {
			t.Helper()
			tok := anon.quietToken()
			do()
			if r := anon.waitChanges(tok, 0.5); hosts(r.changed) {
				t.Errorf("%s: waitChanges = %+v, want no host change", what, r)
			}
		}
		wakes := func(what string, do func()) {
			t.Helper()
			tok := anon.quietToken()
			do()
			r := anon.waitChanges(tok, 5)
			for !hosts(r.changed) && len(r.changed) > 0 && r.took < 5*time.Second { // woken by another package's tasks
				r = anon.waitChanges(r.token, 5)
			}
			if !hosts(r.changed) || r.took > time.Second {
				t.Errorf("%s: waitChanges = %+v, want hosts within a second", what, r)
			}
		}
		checkIn := func(load float64, ready bool, data any) func() {
			return func() { hc.must("host.updateHost", load, ready, data) }
		}
		quiet("unchanged check-ins", func() {
			for range 3 {
				hc.must("host.updateHost", 0.0, true)
			}
		})
		full := map[string]any{"not_ready_reasons": []any{"workdir /var/lib/kojid: 1.2 GiB free < minspace 8 GiB"}, "load": 0.5}
		wakes("a check-in not ready, with reasons", checkIn(0.0, false, full))
		full["load"] = 0.7 // health that the host list does not show
		quiet("the same reasons again", checkIn(0.0, false, full))
		wakes("a check-in with other reasons", checkIn(0.0, false, map[string]any{"not_ready_reasons": []any{"rpmbuild is missing"}}))
		wakes("a check-in ready again", checkIn(0.0, true, map[string]any{"not_ready_reasons": []any{}}))
		quiet("a check-in without data", checkIn(0.0, true, nil))
		wakes("a check-in with another task_load", checkIn(1.5, true, nil))
		wakes("disableHost", func() { admin.must("disableHost", "builder1") })
		quiet("a check-in of the disabled host", checkIn(1.5, true, nil))
		wakes("enableHost", func() { admin.must("enableHost", "builder1") })
		wakes("editHost", func() { admin.must("editHost", "builder1", kw{"capacity": 4.0}) })
		admin.must("addChannel", "big")
		wakes("addHostToChannel", func() { admin.must("addHostToChannel", "builder1", "big") })
		wakes("removeHostFromChannel", func() { admin.must("removeHostFromChannel", "builder1", "big") })
		wakes("host.setHostData with new reasons", func() {
			hc.must("host.setHostData", map[string]any{"not_ready_reasons": []any{"kojid is stopping"}})
		})
		quiet("host.setHostData with the same reasons", func() {
			hc.must("host.setHostData", map[string]any{"not_ready_reasons": []any{"kojid is stopping"}, "load": 0.1})
		})
		// a host the scheduler marked not ready that checks in ready again
		if err := th.store.SetHostReady(context.Background(), mustHostID(t, th, "builder1"), false); err != nil {
			t.Fatal(err)
		}
		wakes("a ready check-in after the scheduler marked the host not ready", checkIn(1.5, true, nil))
	})
}

func mustHostID(t *testing.T, th *testHub, name string) int64 {
	t.Helper()
	h, err := th.store.GetHostByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return h.ID
}

func TestWaitChangesTimeoutAndArguments(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		anon := th.anon()
		tok := anon.quietToken()
		r := anon.waitChanges(tok, 0.3)
		if len(r.changed) != 0 || r.token != tok || r.took < 300*time.Millisecond {
			t.Errorf("waitChanges(tok, 0.3) = %+v, want [] and the same token after 0.3 s", r)
		}
		if r := anon.waitChanges(tok, 0); len(r.changed) != 0 || r.token != tok {
			t.Errorf("waitChanges(tok, 0) = %+v", r)
		}
		epoch, _, _ := strings.Cut(tok, ":")
		for _, other := range []string{"ABCDEF:3", "garbage", "", ":", epoch + ":", epoch + ":x", epoch + ":99999999", epoch + ":-1"} {
			r := anon.waitChanges(other, 10)
			if !reflect.DeepEqual(r.changed, bothKinds) || r.took > time.Second || r.token != tok {
				t.Errorf("waitChanges(%q) = %+v, want both kinds and %s at once", other, r, tok)
			}
		}
		v := anon.must("kojigo.waitChanges", kw{"token": tok, "timeout": 0.05}).(map[string]any)
		if v["token"] != tok || len(v["changed"].([]any)) != 0 {
			t.Errorf("waitChanges with keywords = %v", v)
		}
		for _, args := range [][]any{
			{int64(5)}, {[]any{tok}}, {tok, -1.0}, {tok, math.NaN()}, {tok, "soon"}, {tok, 1.0, 2.0},
			{kw{"token": tok, "bogus": 1.0}},
		} {
			anon.fault(kojixml.ParameterError, "kojigo.waitChanges", args...)
		}
		// a huge timeout is capped, not refused
		if d := waitChangesTimeout(math.Inf(1)); d != maxWaitChanges {
			t.Errorf("waitChangesTimeout(inf) = %v", d)
		}
		if d := waitChangesTimeout(2.5); d != 2500*time.Millisecond {
			t.Errorf("waitChangesTimeout(2.5) = %v", d)
		}
	})
}

// Changes in a burst are published once, and publications come at most
// once per minimum gap.
func TestWatcherCoalesces(t *testing.T) {
	w := newWatcher(10*time.Millisecond, 200*time.Millisecond)
	_, seq, next := w.since(0)
	for range 100 {
		w.note(changedTasks)
	}
	w.note(changedHosts)
	select {
	case <-next:
	case <-time.After(5 * time.Second):
		t.Fatal("no publication")
	}
	changed, cur, next := w.since(seq)
	if cur != seq+1 || !reflect.DeepEqual(changed, []any{"hosts", "tasks"}) {
		t.Fatalf("after a burst: seq %d -> %d, changed %v; want one step with both kinds", seq, cur, changed)
	}
	start := time.Now()
	w.note(changedTasks)
	<-next
	if gap := time.Since(start); gap < 150*time.Millisecond {
		t.Errorf("second publication %v after the change, want the minimum gap", gap)
	}
	if changed, _, _ := w.since(cur); !reflect.DeepEqual(changed, []any{"tasks"}) {
		t.Errorf("changed = %v, want [tasks]", changed)
	}
}

// waiters blocks n goroutines on w's next publication, over and over, and
// returns channels on which each reports that it blocked and that it woke.
func waiters(tb testing.TB, w *watcher, n int) (armed, woke chan struct{}) {
	armed, woke = make(chan struct{}, n), make(chan struct{}, n)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, _, next := w.since(0)
				armed <- struct{}{}
				select {
				case <-next:
				case <-stop:
					return
				}
				woke <- struct{}{}
			}
		}()
	}
	tb.Cleanup(func() { close(stop); wg.Wait() })
	return armed, woke
}

// A wake-up with 20 consoles waiting: one publication, 20 goroutines
// readied.
//
//	go test -run '^$' -bench WaitChangesWake -benchmem ./hubcore
func BenchmarkWaitChangesWake20(b *testing.B) {
	const n = 20
	w := newWatcher(0, 0)
	armed, woke := waiters(b, w, n)
	b.ReportAllocs()
	for b.Loop() {
		for range n {
			<-armed
		}
		w.mu.Lock()
		w.pending |= changedTasks
		w.mu.Unlock()
		w.publish()
		for range n {
			<-woke
		}
	}
}
