package hubcore

import (
	"crypto/rand"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// kojigo.waitChanges: a long poll with which consoles (kojitop) learn that
// tasks or hosts changed, instead of re-reading them on a timer.
//
// The hub keeps, in memory only, an epoch (random, made at start), a
// sequence number, and the sequence of the last change of each kind. A
// token "epoch:seq" names a point in that sequence; a call returns the kinds
// changed after it, or waits until one changes. What counts as a change:
//
//   - tasks: any task row this hub's store writes, once committed
//     (db.Store.OnWrite: inserts, updates and deletes of tasks, seen where
//     every statement on the writer passes), and on PostgreSQL any task row
//     another process writes (db.Store.OnTaskEvent; an event with ID 0 says
//     some may have been missed, and counts as a change);
//   - hosts: any committed write to hosts or their channels (OnWrite again:
//     add, edit, enable, disable, channel membership, the scheduler marking
//     a silent host not ready), and a check-in (host.updateHost,
//     host.setHostData) only when it changes what a console shows: ready,
//     task_load, or the data's not_ready_reasons. Builders check in all the
//     time; a check-in that says what the last one said is no news.
//
// Changes are published, not one by one, but a little after the first of a
// burst (watchDebounce) and at most once per watchMinGap, so that a
// scheduler pass that assigns fifty tasks wakes each console once. A
// publication closes a channel that every waiter selects on and makes the
// next one: waiting costs a blocked request goroutine and a timer, no
// polling and no goroutine of its own.
//
// Host writes by other hubs on the same database are not seen (only task
// writes are announced across hubs). A console whose call lands on another
// hub, or on a restarted one, brings a token of another epoch: it is
// answered at once with every kind changed, so nothing is lost.

const (
	// watchDebounce is how long a first change waits for others to join it.
	watchDebounce = 20 * time.Millisecond
	// watchMinGap is the least time between two publications: under
	// constant change a console wakes at most four times a second.
	watchMinGap = 250 * time.Millisecond
	// maxWaitChanges caps kojigo.waitChanges's timeout. The hub's HTTP
	// server has no write timeout (server.go), so no wait is cut off.
	maxWaitChanges = 60 * time.Second
)

// changeKind is a bit per kind of change.
type changeKind uint8

const (
	changedHosts changeKind = 1 << iota
	changedTasks
)

// changeKinds are the kinds in the order the answer lists them.
var changeKinds = [...]struct {
	bit  changeKind
	name string
}{{changedHosts, "hosts"}, {changedTasks, "tasks"}}

// watcher is the hub's record of changes, for kojigo.waitChanges.
type watcher struct {
	epoch    string
	debounce time.Duration
	minGap   time.Duration
	timer    *time.Timer // runs publish; armed while a publication is due

	mu      sync.Mutex
	seq     uint64
	last    [len(changeKinds)]uint64 // seq of each kind's last change
	ch      chan struct{}            // closed by the next publication
	pending changeKind               // changes not yet published
	armed   bool
	lastPub time.Time
	shown   map[int64]hostShown // by host id: as this hub last saw it
}

// hostShown is what a console shows of a host that check-ins change.
type hostShown struct {
	ready   bool
	load    float64
	reasons string // the data's not_ready_reasons, as JSON
}

func newWatcher(debounce, minGap time.Duration) *watcher {
	w := &watcher{epoch: rand.Text(), debounce: debounce, minGap: minGap,
		ch: make(chan struct{}), shown: map[int64]hostShown{}}
	w.timer = time.AfterFunc(time.Hour, w.publish)
	w.timer.Stop()
	return w
}

// note records a change, to be published soon; it never blocks.
func (w *watcher) note(k changeKind) {
	w.mu.Lock()
	w.noteLocked(k)
	w.mu.Unlock()
}

func (w *watcher) noteLocked(k changeKind) {
	w.pending |= k
	if w.armed {
		return
	}
	w.armed = true
	d := max(w.debounce, w.minGap-time.Since(w.lastPub))
	w.timer.Reset(d)
}

// publish gives the pending changes the next sequence number and wakes
// every waiter.
func (w *watcher) publish() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = false
	if w.pending == 0 {
		return
	}
	w.seq++
	for i, k := range changeKinds {
		if w.pending&k.bit != 0 {
			w.last[i] = w.seq
		}
	}
	w.pending = 0
	w.lastPub = time.Now()
	close(w.ch)
	w.ch = make(chan struct{})
}

// wrote is the store's OnWrite hook.
func (w *watcher) wrote(what db.Wrote) {
	var k changeKind
	if what&db.WroteTasks != 0 {
		k |= changedTasks
	}
	if what&db.WroteHosts != 0 {
		k |= changedHosts
	}
	if k != 0 {
		w.note(k)
	}
}

// taskEvent is the store's OnTaskEvent hook: a task row written by any
// process, or (ID 0) a sign that some may have been missed.
func (w *watcher) taskEvent(db.TaskEvent) { w.note(changedTasks) }

// checkIn notes a committed host.updateHost of the host, as it was read
// before the call, when it changed what a console shows: against the row
// (a change made by the scheduler or another hub) and against this hub's
// last sight of the host (the not-ready reasons, which the row read with
// the session lacks). data nil leaves the reasons as they were. A host's
// first check-in seen by this hub counts as a change.
func (w *watcher) checkIn(before db.Host, ready bool, load float64, data map[string]any) {
	now := hostShown{ready: ready, load: load}
	w.mu.Lock()
	defer w.mu.Unlock()
	old, seen := w.shown[before.ID]
	if data != nil {
		now.reasons = notReadyReasons(data)
	} else {
		now.reasons = old.reasons
	}
	w.shown[before.ID] = now
	if !seen || old != now || before.Ready != ready || before.TaskLoad != load {
		w.noteLocked(changedHosts)
	}
}

// hostData notes a committed host.setHostData when it changed the host's
// not-ready reasons.
func (w *watcher) hostData(before db.Host, data map[string]any) {
	reasons := notReadyReasons(data)
	w.mu.Lock()
	defer w.mu.Unlock()
	old, seen := w.shown[before.ID]
	if seen && old.reasons == reasons {
		return
	}
	if !seen {
		old.ready, old.load = before.Ready, before.TaskLoad
	}
	old.reasons = reasons
	w.shown[before.ID] = old
	w.noteLocked(changedHosts)
}

func notReadyReasons(data map[string]any) string {
	v, ok := data["not_ready_reasons"]
	if !ok || v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}

func (w *watcher) token(seq uint64) string {
	return w.epoch + ":" + strconv.FormatUint(seq, 10)
}

// parseToken returns the sequence number of one of this watcher's tokens;
// ok is false for a token of another epoch (another hub process) or one
// that is not a token.
func (w *watcher) parseToken(tok string) (seq uint64, ok bool) {
	epoch, n, found := strings.Cut(tok, ":")
	if !found || epoch != w.epoch {
		return 0, false
	}
	seq, err := strconv.ParseUint(n, 10, 64)
	return seq, err == nil
}

// since returns the names of the kinds changed after seq (every kind when
// seq is still to come), the current sequence number, and the channel the
// next publication closes.
func (w *watcher) since(seq uint64) (changed []any, cur uint64, next <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, k := range changeKinds {
		if w.last[i] > seq || seq > w.seq {
			changed = append(changed, k.name)
		}
	}
	return changed, w.seq, w.ch
}

func watchMethods() []method {
	return []method{
		{name: "kojigo.waitChanges", argdesc: "(token=None, timeout=30)", fn: mWaitChanges},
	}
}

// kojigo.waitChanges(token=None, timeout=30): anyone may call it, since it
// reveals only that something changed. Returns {"token": "epoch:seq",
// "changed": [...]}, changed a sorted list of "hosts" and "tasks": at once
// with both kinds when token is None, not a token or one of another hub
// process; at once with the kinds changed since token when there are any;
// else as soon as one changes, or after timeout seconds (at most 60) with
// [] and the same token. The caller passes the token it got to its next call.
func mWaitChanges(c *call, a *kojixml.Args) (any, error) {
	tok := a.StringOrNil(0, "token")
	timeout := a.OptFloat(1, "timeout", 30)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if math.IsNaN(timeout) || timeout < 0 {
		return nil, paramErr("timeout: expected seconds >= 0, got %v", timeout)
	}
	w := c.hub.watch
	answer := func(seq uint64, changed []any) any {
		return map[string]any{"token": w.token(seq), "changed": changed}
	}
	seq, ok := uint64(0), false
	if tok != nil {
		seq, ok = w.parseToken(*tok)
	}
	if !ok {
		_, cur, _ := w.since(0)
		return answer(cur, allKinds()), nil
	}
	deadline := time.NewTimer(waitChangesTimeout(timeout))
	defer deadline.Stop()
	for {
		changed, cur, next := w.since(seq)
		if len(changed) > 0 {
			return answer(cur, changed), nil
		}
		select {
		case <-next:
		case <-deadline.C:
			return map[string]any{"token": *tok, "changed": []any{}}, nil
		case <-c.hub.sched.stop:
			return map[string]any{"token": *tok, "changed": []any{}}, nil
		case <-c.ctx.Done():
			return nil, c.ctx.Err()
		}
	}
}

// waitChangesTimeout is the wait a timeout in seconds (>= 0) asks for,
// capped at maxWaitChanges.
func waitChangesTimeout(seconds float64) time.Duration {
	if seconds >= maxWaitChanges.Seconds() {
		return maxWaitChanges
	}
	return time.Duration(seconds * float64(time.Second))
}

func allKinds() []any {
	out := make([]any, len(changeKinds))
	for i, k := range changeKinds {
		out[i] = k.name
	}
	return out
}
