package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// faultResult is what one injection of a fault showed.
type faultResult struct {
	name      string
	injected  time.Time
	noticed   time.Duration // from injection to the probe seeing it; <0: not seen
	healed    time.Time
	back      time.Duration // from heal to the probe seeing the farm well; <0: not seen
	recovered time.Duration // from heal to the next build closing; filled in at the end
	note      string
	err       error
}

// fault injects one kind of failure, waits for it to be noticed, heals it
// and waits for the farm to be back; r.noticed and r.back are its probes.
type fault struct {
	name string
	run  func(ctx context.Context, f *farm, r *faultResult) error
}

var allFaults = []fault{
	{"kill-kojid", faultKillKojid},
	// link-cut early: the task it frees runs again (45 s) while the
	// next faults go on, not in the short form's final drain.
	{"link-cut", faultLinkCut},
	{"expired-cert", faultExpiredCert},
	{"fill-topdir", faultFillTopdir},
	{"fill-workdir", faultFillWorkdir},
	{"kill-kojira", faultKillKojira},
	{"kill-hub", faultKillHub},
	{"pg-restart", faultPGRestart},
	{"pg-sigstop", faultPGStop},
	{"idle-flood", faultIdleFlood},
	{"slow-body-flood", faultSlowFlood},
}

// waitUntil polls cond every 100 ms until it holds; it returns how long
// that took from since, or -1 after d.
func waitUntil(ctx context.Context, since time.Time, d time.Duration, cond func() bool) time.Duration {
	deadline := time.Now().Add(d)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if cond() {
			return time.Since(since)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return -1
}

// hubsOK is true when both hubs answer ok on /healthz.
func (f *farm) hubsOK() bool {
	return f.healthz(0, 2*time.Second) == "ok" && f.healthz(1, 2*time.Second) == "ok"
}

// openTasks lists the OPEN tasks of a method.
func (f *farm) openTasks(ctx context.Context, method string) []map[string]any {
	v, err := f.call(ctx, "listTasks", map[string]any{"state": []any{taskOpen}, "method": method})
	if err != nil {
		return nil
	}
	var out []map[string]any
	for _, x := range asList(v) {
		out = append(out, asMap(x))
	}
	return out
}

// faultKillKojid: SIGKILL a kojid running a buildArch (rpmbuild running),
// restart it with --force-lock after 3 s. Noticed: the task is no longer
// OPEN with its first start; back: that buildArch closed.
func faultKillKojid(ctx context.Context, f *farm, r *faultResult) error {
	var task map[string]any
	if waitUntil(ctx, time.Now(), 2*time.Minute, func() bool {
		for _, t := range f.openTasks(ctx, "buildArch") {
			if _, ok := f.hostIDs[asInt(t["host_id"])]; ok {
				task = t
				return true
			}
		}
		return false
	}) < 0 {
		return fmt.Errorf("no OPEN buildArch within 2 minutes")
	}
	time.Sleep(500 * time.Millisecond) // rpmbuild is running
	id, start := asInt(task["id"]), fmt.Sprint(task["start_ts"])
	i := f.hostIDs[asInt(task["host_id"])]
	r.injected = time.Now()
	f.kojids[i].kill9()
	r.note = fmt.Sprintf("builder%d killed running buildArch %d (noticed when restarted)", i+1, id)
	time.Sleep(3 * time.Second)
	if err := f.kojids[i].start(f.dir); err != nil {
		return err
	}
	r.healed = time.Now()
	r.noticed = waitUntil(ctx, r.injected, 2*time.Minute, func() bool {
		v, err := f.call(ctx, "getTaskInfo", id)
		m := asMap(v)
		return err == nil && (asInt(m["state"]) != taskOpen || fmt.Sprint(m["start_ts"]) != start)
	})
	r.back = waitUntil(ctx, r.healed, 3*time.Minute, func() bool {
		v, err := f.call(ctx, "getTaskInfo", id)
		st := asInt(asMap(v)["state"])
		return err == nil && (st == taskClosed || st == taskFailed || st == taskCanceled)
	})
	v, _ := f.call(ctx, "getTaskInfo", id)
	r.note += fmt.Sprintf("; it ended in state %d", asInt(asMap(v)["state"]))
	return nil
}

// fill writes a file into dir until leave MB are left free.
func fill(dir string, leaveMB int64) (string, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return "", err
	}
	free := int64(st.Bavail) * st.Bsize
	n := free - leaveMB<<20
	p := filepath.Join(dir, "chaos-filler")
	if n <= 0 {
		return p, nil
	}
	fh, err := os.Create(p)
	if err != nil {
		return p, err
	}
	defer fh.Close()
	buf := make([]byte, 1<<20)
	for n > 0 {
		k := int64(len(buf))
		if n < k {
			k = n
		}
		if _, err := fh.Write(buf[:k]); err != nil {
			return p, err
		}
		n -= k
	}
	return p, nil
}

// faultFillTopdir fills the hubs' shared topdir to 1 MiB free for 15 s.
// Noticed: /healthz of a hub says degraded; back: both say ok.
func faultFillTopdir(ctx context.Context, f *farm, r *faultResult) error {
	r.injected = time.Now()
	p, err := fill(f.topdir, 1)
	defer os.Remove(p)
	if err != nil {
		r.note = "fill: " + err.Error()
	}
	r.noticed = waitUntil(ctx, r.injected, 30*time.Second, func() bool {
		return strings.HasPrefix(f.healthz(0, 2*time.Second), "degraded")
	})
	time.Sleep(15 * time.Second)
	os.Remove(p)
	r.healed = time.Now()
	r.back = waitUntil(ctx, r.healed, time.Minute, f.hubsOK)
	return nil
}

// faultFillWorkdir fills a builder's workdir below its minspace for 15 s.
// Noticed: the hub shows the builder not ready; back: ready again.
func faultFillWorkdir(ctx context.Context, f *farm, r *faultResult) error {
	i := 3
	r.injected = time.Now()
	p, err := fill(f.works[i], kojidMinSpace/2)
	defer os.Remove(p)
	if err != nil {
		r.note = "fill: " + err.Error()
	}
	r.note = fmt.Sprintf("builder%d", i+1)
	// the builder's own reason, not another one (over capacity)
	full := func() bool {
		v, err := f.call(ctx, "kojigo.getHostHealth", fmt.Sprintf("builder%d", i+1))
		return err == nil && strings.Contains(fmt.Sprint(asMap(asMap(v)["data"])["not_ready_reasons"]), f.works[i])
	}
	r.noticed = waitUntil(ctx, r.injected, time.Minute, full)
	time.Sleep(15 * time.Second)
	os.Remove(p)
	r.healed = time.Now()
	r.back = waitUntil(ctx, r.healed, 2*time.Minute, func() bool { return !full() })
	return nil
}

// faultKillKojira: SIGKILL kojira while a newRepo task is OPEN, restart
// it after 2 s. Nothing watches kojira, so nothing notices; back: the new
// kojira is active and the regeneration's repo (the newRepo task runs on a
// builder) is READY.
func faultKillKojira(ctx context.Context, f *farm, r *faultResult) error {
	var task map[string]any
	if waitUntil(ctx, time.Now(), 10*time.Second, func() bool {
		if ts := f.openTasks(ctx, "newRepo"); len(ts) > 0 {
			task = ts[0]
			return true
		}
		return false
	}) < 0 {
		// nothing regenerating: ask for a regeneration and catch it OPEN
		f.call(ctx, "newRepo", "dist-build")
		if waitUntil(ctx, time.Now(), time.Minute, func() bool {
			if ts := f.openTasks(ctx, "newRepo"); len(ts) > 0 {
				task = ts[0]
				return true
			}
			return false
		}) < 0 {
			return fmt.Errorf("no OPEN newRepo task")
		}
	}
	before := f.repoID(ctx)
	r.injected = time.Now()
	f.kojira.kill9()
	r.note = fmt.Sprintf("killed during newRepo %v (repo %d was current)", task["id"], before)
	time.Sleep(2 * time.Second)
	if err := f.kojira.start(f.dir); err != nil {
		return err
	}
	r.healed = time.Now()
	r.noticed = -1 // nothing watches kojira
	// a tag event after the restart asks for a regeneration
	r.back = waitUntil(ctx, r.healed, 3*time.Minute, func() bool {
		return strings.Contains(f.kojira.logSince(0), "msg=active") && f.repoID(ctx) > before
	})
	return nil
}

// repoID is the current READY repo of dist-build.
func (f *farm) repoID(ctx context.Context) int64 {
	v, err := f.call(ctx, "getRepo", "dist-build")
	if err != nil {
		return 0
	}
	return asInt(asMap(v)["id"])
}

// faultKillHub: SIGKILL hub A and restart it after 3 s. Noticed: the
// builders talking to it log that the hub is unreachable; back: /healthz ok
// and those builders checked in again.
func faultKillHub(ctx context.Context, f *farm, r *faultResult) error {
	marks := []int64{f.kojids[0].logSize(), f.kojids[2].logSize()}
	r.injected = time.Now()
	f.hubs[0].kill9()
	r.noticed = waitUntil(ctx, r.injected, 30*time.Second, func() bool {
		s := f.kojids[0].logSince(marks[0]) + f.kojids[2].logSince(marks[1])
		return strings.Contains(s, "level=WARN") || strings.Contains(s, "level=ERROR")
	})
	time.Sleep(max(0, 3*time.Second-time.Since(r.injected)))
	if err := f.hubs[0].start(f.dir); err != nil {
		return err
	}
	r.healed = time.Now()
	r.back = waitUntil(ctx, r.healed, time.Minute, func() bool {
		if f.healthz(0, 2*time.Second) != "ok" {
			return false
		}
		for _, i := range []int{0, 2} {
			h, err := f.clients[0].Call(ctx, "getHost", fmt.Sprintf("builder%d", i+1))
			if err != nil {
				return false
			}
			if asMap(h)["ready"] != true || asFloat(asMap(h)["update_ts"]) < float64(r.healed.Unix()) {
				return false
			}
		}
		return true
	})
	return nil
}

// faultPGRestart: pg_ctl restart -m fast. Noticed: a hub's /healthz fails;
// back: both ok.
func faultPGRestart(ctx context.Context, f *farm, r *faultResult) error {
	var seen atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	r.injected = time.Now()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if f.healthz(0, time.Second) != "ok" && seen.Load() == 0 {
				seen.Store(int64(time.Since(r.injected)))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	err := f.pg.restart()
	r.healed = time.Now()
	r.back = waitUntil(ctx, r.healed, time.Minute, f.hubsOK)
	close(stop)
	wg.Wait()
	r.noticed = time.Duration(seen.Load())
	if r.noticed == 0 {
		r.noticed = -1
	}
	return err
}

// faultPGStop: SIGSTOP the postmaster and its backends for 10 s.
// Noticed: a hub's /healthz fails; back: both ok after SIGCONT.
func faultPGStop(ctx context.Context, f *farm, r *faultResult) error {
	pids := f.pg.pids()
	if len(pids) == 0 {
		return fmt.Errorf("no postmaster")
	}
	r.injected = time.Now()
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGSTOP)
	}
	r.note = fmt.Sprintf("%d processes stopped", len(pids))
	r.noticed = waitUntil(ctx, r.injected, 10*time.Second, func() bool { return f.healthz(0, time.Second) != "ok" })
	time.Sleep(max(0, 10*time.Second-time.Since(r.injected)))
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGCONT)
	}
	r.healed = time.Now()
	r.back = waitUntil(ctx, r.healed, time.Minute, f.hubsOK)
	return nil
}

// flood opens n connections to hub A; each sends prefix and then, when
// drip is set, one byte a second, for d. It reports how many the hub
// closed and the worst /healthz latency meanwhile.
func flood(ctx context.Context, f *farm, r *faultResult, n int, prefix string, drip bool, d, watch time.Duration) error {
	var closed, stopping atomic.Int64
	var firstClose atomic.Int64
	var conns []net.Conn
	r.injected = time.Now()
	for range n {
		c, err := net.DialTimeout("tcp", f.hubAddr[0], 5*time.Second)
		if err != nil {
			r.note = fmt.Sprintf("dial: %v after %d connections; ", err, len(conns))
			break
		}
		conns = append(conns, c)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if prefix != "" {
				c.Write([]byte(prefix))
			}
			gone := make(chan struct{})
			go func() {
				io.Copy(io.Discard, c) // returns when the hub closes it
				if stopping.Load() == 0 {
					closed.Add(1)
					firstClose.CompareAndSwap(0, int64(time.Since(r.injected)))
				}
				close(gone)
			}()
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-stop:
					c.Close()
					<-gone
					return
				case <-gone:
					return
				case <-t.C:
					if drip {
						c.Write([]byte("x"))
					}
				}
			}
		}()
	}
	var worst time.Duration
	fails := 0
	end := time.Now().Add(d)
	for time.Now().Before(end) && ctx.Err() == nil {
		t0 := time.Now()
		if f.healthz(0, 5*time.Second) != "ok" {
			fails++
		}
		worst = max(worst, time.Since(t0))
		time.Sleep(500 * time.Millisecond)
	}
	inFault := closed.Load()
	// the flood goes on until the hub closed every socket or watch ends
	stopAt := r.injected.Add(watch)
	for closed.Load() < int64(len(conns)) && time.Now().Before(stopAt) && ctx.Err() == nil {
		time.Sleep(200 * time.Millisecond)
	}
	closedByHub := closed.Load()
	stopping.Store(1)
	close(stop)
	wg.Wait()
	r.healed = time.Now()
	if fc := firstClose.Load(); fc > 0 {
		r.noticed = time.Duration(fc)
	} else {
		r.noticed = -1
	}
	r.back = waitUntil(ctx, r.healed, time.Minute, f.hubsOK)
	r.note += fmt.Sprintf("hub closed %d/%d in the %v flood, %d/%d within %v; /healthz meanwhile: worst %v, %d failed",
		inFault, len(conns), d, closedByHub, len(conns), max(watch, d), worst.Round(time.Millisecond), fails)
	return nil
}

// faultIdleFlood: 300 connections that never send a byte, for 20 s.
// Noticed: the hub closes the first one.
func faultIdleFlood(ctx context.Context, f *farm, r *faultResult) error {
	return flood(ctx, f, r, 300, "", false, 20*time.Second, f.floodWatch(35*time.Second))
}

// faultSlowFlood: 300 requests whose body comes a byte a second, for 20 s.
func faultSlowFlood(ctx context.Context, f *farm, r *faultResult) error {
	hdr := fmt.Sprintf("POST /kojihub HTTP/1.1\r\nHost: %s\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n<?xml", f.hubAddr[0])
	return flood(ctx, f, r, 300, hdr, true, 20*time.Second, f.floodWatch(70*time.Second))
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

// floodWatch is how long a flood's sockets are watched for the hub to close
// them: long enough for its header (30 s) and body (60 s) timeouts in the
// long form; the short form stops at the flood's 20 s.
func (f *farm) floodWatch(long time.Duration) time.Duration {
	if f.cfg.short {
		return 20 * time.Second
	}
	return long
}

// hostID is builder i's host id.
func (f *farm) hostID(i int) int64 {
	for id, j := range f.hostIDs {
		if j == i {
			return id
		}
	}
	return 0
}

// hostState is builder i's ready flag and last check-in on the hub.
func (f *farm) hostState(ctx context.Context, i int) (ready bool, updated float64, err error) {
	h, err := f.call(ctx, "getHost", fmt.Sprintf("builder%d", i+1))
	if err != nil {
		return false, 0, err
	}
	return asMap(h)["ready"] == true, asFloat(asMap(h)["update_ts"]), nil
}

// checkedInSince: builder i is ready and checked in after t.
func (f *farm) checkedInSince(ctx context.Context, i int, t time.Time) bool {
	ready, upd, err := f.hostState(ctx, i)
	return err == nil && ready && upd >= float64(t.UnixMicro())/1e6
}

// heldTasks lists the OPEN tasks of builder i.
func (f *farm) heldTasks(ctx context.Context, i int) ([]int64, error) {
	v, err := f.call(ctx, "listTasks", map[string]any{"state": []any{taskOpen}, "host_id": f.hostID(i)})
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, x := range asList(v) {
		if t := asMap(x); asInt(t["host_id"]) == f.hostID(i) {
			ids = append(ids, asInt(t["id"]))
		}
	}
	return ids, nil
}

// burstSecs is how long the %build of link-cut's burst builds sleeps.
const burstSecs = 45

// faultLinkCut cuts builder4's link (the root end of its namespace's veth
// goes down: what it sends is dropped, so its connections stall as in a
// real cut, nothing is refused) while it runs a buildArch, and keeps it cut
// past the hubs' host timeout, then restores it.
//
// What is correct is Koji's behaviour for a host declared dead: the hub
// marks it not ready (ReadyTimeout), then frees its OPEN tasks (HostTimeout,
// counted as a retry) and runs them on another builder, so the farm keeps
// going. When the link is back, the old kojid must learn from the hub that
// the tasks are no longer its own and give them up: it cancels a run still
// going, and a run that ended meanwhile must not upload over the new run
// nor close or fail it (the hub refuses both to a host that does not own
// the task). check counts such a re-run as reopened after a cut, not as
// opened twice.
//
// Noticed: the hub shows builder4 not ready and silent for its ready
// timeout (or its buildArch freed, if that comes first); back: builder4
// ready and checked in again. The fault fails when the buildArch was not
// freed from builder4, or when the old kojid did not give up a task it had
// lost within two minutes of the link's return.
func faultLinkCut(ctx context.Context, f *farm, r *faultResult) error {
	i := nsBuilder
	host := f.hostID(i)
	var id int64
	running := func() bool {
		for _, t := range f.openTasks(ctx, "buildArch") {
			if asInt(t["host_id"]) == host {
				id = asInt(t["id"])
				return true
			}
		}
		return false
	}
	burst := ""
	for k, wait := range []time.Duration{0, 90 * time.Second, 90 * time.Second} {
		if k > 0 {
			// The scheduler gives a lone build to the least loaded
			// builder, builder1 on a tie, so builder4 often idles: a
			// burst of one long build per builder spreads them. 45 s
			// is about the cut: the old run may still be going when
			// the link is back (kojid cancels it) or may have ended
			// during the cut (the hub refuses its uploads and close).
			for range nBuilders {
				f.tr.submit(ctx, int(f.burst.Add(1)), burstSecs)
			}
			burst = fmt.Sprintf("%d bursts of %d %d s builds", k, nBuilders, burstSecs)
		}
		if running() || waitUntil(ctx, time.Now(), wait, running) >= 0 {
			break
		}
		if k == 2 {
			return fmt.Errorf("builder%d opened no buildArch after %s", i+1, burst)
		}
	}
	held, _ := f.heldTasks(ctx, i)
	if !slices.Contains(held, id) {
		held = append(held, id)
	}
	mark := f.kojids[i].logSize()
	r.injected = time.Now()
	if err := f.ns.cut(); err != nil {
		return err
	}
	cw := cutWindow{builder: i, from: r.injected}
	restore := func() error {
		err := f.ns.restore()
		cw.to = time.Now()
		f.cutMu.Lock()
		f.cuts = append(f.cuts, cw)
		f.cutMu.Unlock()
		return err
	}
	freed := time.Duration(-1)
	r.noticed = -1
	waitUntil(ctx, r.injected, hostTimeout+time.Minute, func() bool {
		if r.noticed < 0 {
			// not ready for want of check-ins: a busy builder says
			// not ready itself, so the flag alone proves nothing
			ready, upd, err := f.hostState(ctx, i)
			if err == nil && !ready && float64(time.Now().Add(-readyTimeout).UnixMicro())/1e6 > upd {
				r.noticed = time.Since(r.injected)
			}
		}
		if freed < 0 {
			v, err := f.call(ctx, "getTaskInfo", id)
			if m := asMap(v); err == nil && (asInt(m["state"]) != taskOpen || asInt(m["host_id"]) != host) {
				freed = time.Since(r.injected)
				if r.noticed < 0 {
					r.noticed = freed
				}
			}
		}
		return r.noticed >= 0 && freed >= 0
	})
	// Every task it held is freed by the same pass; a few seconds more
	// make the cut plainly longer than the host timeout.
	time.Sleep(max(0, hostTimeout+5*time.Second-time.Since(r.injected)))
	if err := restore(); err != nil {
		return err
	}
	r.healed = cw.to
	r.note = fmt.Sprintf("builder%d cut off %v while running buildArch %d (held %v); freed after %s",
		i+1, r.healed.Sub(r.injected).Round(time.Second), id, held, fmtDur(freed))
	if burst != "" {
		r.note += " (after " + burst + ")"
	}
	if freed < 0 {
		return fmt.Errorf("buildArch %d was not freed from builder%d within the host timeout and a minute", id, i+1)
	}
	r.back = waitUntil(ctx, r.healed, 2*time.Minute, func() bool { return f.checkedInSince(ctx, i, r.healed) })
	// The old kojid gives up every task it lost: it cancels the run, or
	// the run had ended and its report was refused. A task is lost when
	// it is now another host's, or builder4 took it anew; one still OPEN
	// on builder4 and not taken anew was never freed.
	var kept []int64
	waitUntil(ctx, r.healed, 2*time.Minute, func() bool {
		kept = kept[:0]
		log := f.kojids[i].logSince(mark)
		for _, t := range held {
			retaken := regexp.MustCompile(fmt.Sprintf(`msg="took task" .*task_id=%d `, t)).MatchString(log)
			gaveUp := regexp.MustCompile(fmt.Sprintf(`(msg="cancelling task[^"]*"|could not report the task's end|no longer lets this host end the task).* task_id=%d\b`, t)).MatchString(log)
			v, err := f.call(ctx, "getTaskInfo", t)
			if err != nil {
				kept = append(kept, t)
				continue
			}
			m := asMap(v)
			ours := asInt(m["host_id"]) == host
			switch {
			case ours && asInt(m["state"]) == taskOpen && !retaken:
				kept = append(kept, t) // never freed
			case (!ours || retaken) && !gaveUp:
				kept = append(kept, t)
			}
		}
		return len(kept) == 0
	})
	if len(kept) > 0 {
		return fmt.Errorf("builder%d's kojid did not give up tasks %v it lost to the cut", i+1, kept)
	}
	return nil
}

// faultExpiredCert replaces builder2's certificate file with one from the
// farm's CA whose validity ended yesterday and restarts its kojid, as an
// operator would after replacing it (a running kojid keeps the certificate
// it read at login, and renews its session with it; shutdown = free hands
// its running tasks back to the hub, which runs them elsewhere). The new
// kojid cannot log in: within a minute its log must say, at level ERROR,
// that the certificate expired and what to do, the hub must record the
// refused certificate as expired (kojigo.getTLSFailures) and show builder2
// not ready, never checked in by the new kojid. After 10 s a valid
// certificate goes back into the file; kojid reads the file again before
// each login attempt (started again should it have exited), and builder2
// must check in again.
//
// Noticed: all three signs; back: builder2 ready and checked in with the
// new certificate.
func faultExpiredCert(ctx context.Context, f *farm, r *faultResult) error {
	i := 1
	name := fmt.Sprintf("builder%d", i+1)
	held, _ := f.heldTasks(ctx, i)
	if err := f.writeHostCert(i, true); err != nil {
		return err
	}
	r.injected = time.Now()
	f.kojids[i].stop(20 * time.Second)
	if err := f.kojids[i].start(f.dir); err != nil {
		return err
	}
	started := time.Now()
	expired := func() bool {
		v, err := f.clients[1].Call(ctx, "kojigo.getTLSFailures")
		if err != nil {
			return false
		}
		for _, x := range asList(v) {
			m := asMap(x)
			if m["problem"] == "expired" && m["common_name"] == name && asFloat(m["ts"]) >= float64(r.injected.Unix()) {
				return true
			}
		}
		return false
	}
	var logLine string
	logged := func() bool {
		for _, l := range strings.Split(f.kojids[i].logSince(0), "\n") {
			if strings.Contains(l, "level=ERROR") && strings.Contains(l, "expired") {
				logLine = l
				return true
			}
		}
		return false
	}
	notReady := time.Duration(-1)
	var logAt time.Duration = -1
	r.noticed = waitUntil(ctx, r.injected, time.Minute, func() bool {
		if logAt < 0 && logged() {
			logAt = time.Since(r.injected)
		}
		if notReady < 0 {
			// not ready, and the new kojid never checked in
			if ready, upd, err := f.hostState(ctx, i); err == nil && !ready && upd < float64(started.UnixMicro())/1e6 {
				notReady = time.Since(r.injected)
			}
		}
		return expired() && logAt >= 0 && notReady >= 0
	})
	// The builder stays out while the certificate is bad: kojid keeps
	// saying so and does not take work.
	time.Sleep(max(0, 10*time.Second-time.Since(r.injected)))
	exited := false
	select {
	case <-f.kojids[i].cur().done:
		exited = true
	default:
	}
	r.note = fmt.Sprintf("%s (held %v): not ready after %s, kojid said after %s (exited: %v): %s",
		name, held, fmtDur(notReady), fmtDur(logAt), exited, logMsg(logLine))
	// The fix is the operator's: a valid certificate in the file. kojid
	// reads it again before each login attempt; one that gave up is
	// started again.
	if err := f.writeHostCert(i, false); err != nil {
		return err
	}
	r.healed = time.Now()
	if exited {
		if err := f.kojids[i].start(f.dir); err != nil {
			return err
		}
	}
	r.back = waitUntil(ctx, r.healed, 2*time.Minute, func() bool { return f.checkedInSince(ctx, i, r.healed) })
	if r.noticed < 0 {
		return fmt.Errorf("expired certificate not noticed within a minute: hub recorded it %v, kojid's log said so %v, not ready %v", expired(), logAt >= 0, notReady >= 0)
	}
	return nil
}

// logMsg is a slog text line from its msg on, without the time and level.
func logMsg(line string) string {
	if i := strings.Index(line, "msg="); i >= 0 {
		line = line[i:]
	}
	line = strings.TrimSpace(line)
	if len(line) > 400 {
		line = line[:400] + "..."
	}
	return line
}
