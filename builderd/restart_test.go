package builderd

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runUntil runs the daemon until it returns or within passes.
func runUntil(t *testing.T, e *env, within time.Duration) (error, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, e.cfg, e.hub, e.opts) }()
	select {
	case err := <-done:
		return err, cancel
	case <-time.After(within):
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return within 30s of cancel")
		}
		return nil, cancel
	}
}

// childOf finds the subtask of parent with the label.
func (h *fakeHub) childOf(parent int64, label string) (fakeTask, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, tk := range h.tasks {
		if tk.parent == parent && tk.label == label {
			return *tk, true
		}
	}
	return fakeTask{}, false
}

// release makes a freed task FREE for this host again (the fake hub keeps
// a freed task off the host that freed it).
func (h *fakeHub) release(id int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tasks[id].refusedBy = false
}

// TestRestartHostsRestartsThisHost runs Koji's restart chain on one host:
// the restartHosts task lists the enabled hosts with the options' channel
// and arches and makes a restart and a restartVerify subtask assigned to
// each; this host's restart closes ("graceful restart initiated"), the
// parent hands itself back to the hub, the restartVerify is left to the
// restarted kojid, and Run returns ErrRestart once nothing runs. The next
// Run (a session that started later) verifies and, taking the parent again,
// finds its subtasks and closes it.
func TestRestartHostsRestartsThisHost(t *testing.T) {
	e := newEnv(t)
	e.hub.sessionStart = 1000 // the old kojid's session, long before the restart
	parent := e.hub.addTask("restartHosts", map[string]any{"channel": "default", "arches": []any{"x86_64", "aarch64"}, "timeout": int64(600)})
	err, cancel := runUntil(t, e, 20*time.Second)
	defer cancel()
	if !errors.Is(err, ErrRestart) {
		t.Fatalf("Run = %v, want ErrRestart after the restart task", err)
	}
	if kws := e.hub.listHostsKw; len(kws) != 1 || kws[0]["enabled"] != true || kws[0]["channelID"] != int64(3) ||
		!reflect.DeepEqual(kws[0]["arches"], []any{"x86_64", "aarch64"}) {
		t.Errorf("listHosts keywords = %v", kws)
	}
	restart, ok := e.hub.childOf(parent, "restart 7")
	if !ok || restart.method != "restart" || restart.state != stateClosed || restart.result != "graceful restart initiated" {
		t.Fatalf("restart subtask = %+v", restart)
	}
	verify, ok := e.hub.childOf(parent, "sleep 7")
	if !ok || verify.method != "restartVerify" || verify.state != stateAssigned || verify.host != 7 {
		t.Fatalf("restartVerify subtask = %+v, want assigned to host 7 and not taken before the restart", verify)
	}
	if p := e.hub.task(parent); p.state != stateFree || !slices.Contains(e.hub.freed, parent) {
		t.Errorf("parent = %s (freed %v), want handed back to the hub", stateName(p.state), e.hub.freed)
	}
	if u, _ := e.hub.lastUpdate(); u.ready {
		t.Error("host reported ready while restarting")
	}

	// the restarted kojid: a new session, after the restart task closed
	e.hub.mu.Lock()
	e.hub.sessionStart = float64(time.Now().Add(time.Second).UnixNano()) / 1e9
	e.hub.mu.Unlock()
	stop := e.start(t)
	e.hub.waitState(verify.id, 20*time.Second, stateClosed)
	e.hub.release(parent)
	e.hub.waitState(parent, 20*time.Second, stateClosed)
	if n := len(e.hub.tasks); n != 3 {
		t.Errorf("%d tasks after the parent ran again, want 3 (its subtasks found by label)", n)
	}
	if err := stop(); err != nil {
		t.Errorf("restarted Run: %v", err)
	}
}

// TestRestartVerifyFailures: restartVerify fails, with Koji's messages,
// when the restart task has not closed, when it is another host's, and
// when this kojid's session began before the restart task closed (it did
// not restart).
func TestRestartVerifyFailures(t *testing.T) {
	e := newEnv(t)
	e.hub.sessionStart = 1000
	host := map[string]any{"id": int64(7), "name": "builder1"}
	open := e.hub.addTask("sleep-never", int64(1))
	e.hub.mu.Lock()
	e.hub.tasks[open].refusedBy = true // left FREE
	e.hub.mu.Unlock()
	closed := e.hub.addTask("restart", map[string]any{"id": int64(99)}) // another host's: fails
	e.start(t)
	e.hub.waitState(closed, 20*time.Second, stateFailed)
	if f := e.hub.task(closed).fault; f == nil || f.String != "Host mismatch" {
		t.Errorf("restart of host 99 = %v, want Host mismatch", f)
	}
	done := e.hub.addTask("tagBuild", int64(1), int64(2))
	e.hub.waitState(done, 20*time.Second, stateClosed)
	for _, tc := range []struct {
		params []any
		want   string
	}{
		{[]any{open, host}, "Stage one restart task is FREE"},
		{[]any{closed, host}, "Stage one restart task is FAILED"},
		{[]any{done, map[string]any{"id": int64(99)}}, "Host mismatch"},
		{[]any{done, host}, "Restart failed - start time is "},
		{[]any{int64(424242), host}, "No such task: 424242"},
		{[]any{"x", host}, "task_id"},
	} {
		id := e.hub.addTask("restartVerify", tc.params...)
		tk := e.hub.waitState(id, 20*time.Second, stateFailed, stateClosed)
		if tk.state != stateFailed || tk.fault == nil || !strings.Contains(tk.fault.String, tc.want) {
			t.Errorf("restartVerify%v = %s %v, want a fault with %q", tc.params, stateName(tk.state), tk.fault, tc.want)
		}
	}
}

// TestRestartHostsOtherHosts: a restartHosts task run by a host it does
// not restart makes the subtasks assigned to the listed hosts and waits
// for them (here until its timeout); no matching host and bad options fail
// with Koji's messages; this kojid does not restart.
func TestRestartHostsOtherHosts(t *testing.T) {
	e := newEnv(t)
	e.hub.otherHosts = []map[string]any{{"id": int64(8), "name": "builder2"}, {"id": int64(9), "name": "builder3"}}
	parent := e.hub.addTask("restartHosts", map[string]any{"timeout": int64(1), "unknown": "ignored"})
	e.start(t)
	tk := e.hub.waitState(parent, 20*time.Second, stateFailed)
	if tk.fault == nil || !strings.Contains(tk.fault.String, "Timeout after 1 seconds") {
		t.Errorf("restartHosts = %v, want the timeout", tk.fault)
	}
	for _, host := range []int64{8, 9} {
		r, ok1 := e.hub.childOf(parent, "restart "+itoa(host))
		v, ok2 := e.hub.childOf(parent, "sleep "+itoa(host))
		if !ok1 || !ok2 || r.host != host || v.host != host || r.state != stateAssigned || v.method != "restartVerify" {
			t.Errorf("subtasks for host %d = %+v, %+v", host, r, v)
		}
		if req := v.params; len(req) != 2 || id64(req[0]) != r.id {
			t.Errorf("restartVerify of host %d = %v, want the restart task %d first", host, req, r.id)
		}
	}
	e.hub.mu.Lock()
	e.hub.otherHosts = []map[string]any{}
	e.hub.mu.Unlock()
	for _, tc := range []struct {
		opts any
		want string
	}{
		{nil, "No matching hosts"},
		{map[string]any{"channel": "nosuch"}, "No such channel"},
		{map[string]any{"arches": "x86_64"}, "arches: expected a list"},
		{map[string]any{"timeout": "soon"}, "timeout: expected a number"},
		{"not a struct", "options"},
	} {
		var id int64
		if tc.opts == nil {
			id = e.hub.addTask("restartHosts")
		} else {
			id = e.hub.addTask("restartHosts", tc.opts)
		}
		tk := e.hub.waitState(id, 20*time.Second, stateFailed, stateClosed)
		if tk.state != stateFailed || tk.fault == nil || !strings.Contains(tk.fault.String, tc.want) {
			t.Errorf("restartHosts(%v) = %s %v, want a fault with %q", tc.opts, stateName(tk.state), tk.fault, tc.want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestRestartArgs: kojid executes itself with its own arguments, adding
// --force-lock only when it could not log its session out.
func TestRestartArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  error
		want []string
	}{
		{[]string{"kojid", "-c", "/etc/kojid.conf"}, ErrRestart, []string{"kojid", "-c", "/etc/kojid.conf"}},
		{[]string{"kojid", "-c", "/etc/kojid.conf"}, ErrRestartTakeOver, []string{"kojid", "-c", "/etc/kojid.conf", "--force-lock"}},
		{[]string{"kojid", "--force-lock", "--debug"}, ErrRestartTakeOver, []string{"kojid", "--force-lock", "--debug"}},
		{[]string{"kojid", "-force-lock=true"}, ErrRestartTakeOver, []string{"kojid", "-force-lock=true"}},
		{[]string{"kojid", "-c", "force-lock"}, ErrRestartTakeOver, []string{"kojid", "-c", "force-lock", "--force-lock"}},
		{[]string{}, ErrRestartTakeOver, []string{}},
	} {
		if got := RestartArgs(tc.args, tc.err); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("RestartArgs(%q, %v) = %q, want %q", tc.args, tc.err, got, tc.want)
		}
	}
	if !errors.Is(ErrRestartTakeOver, ErrRestart) {
		t.Error("ErrRestartTakeOver is not an ErrRestart")
	}
}
