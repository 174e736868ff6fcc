package builderd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Koji's graceful restart of the builders (koji/tasks.py RestartHostsTask,
// RestartTask, RestartVerifyTask):
//
//	restartHosts (any host)  --host.subtask(assign=H)--> restart H, restartVerify H (per enabled host)
//	restart (on H)           --> H takes no new task, finishes its running ones,
//	                             logs out and re-executes kojid (cmd/kojid)
//	restartVerify (on H)     --> run by the new kojid: its session started after
//	                             the restart task closed
//
// A restartHosts task that runs on a host it restarts waits for that host's
// restart task, then hands itself back to the hub (host.freeTasks) so that
// it does not keep the host busy; another host, or this one once
// restarted, runs it again, and its labelled subtasks are found, not made
// anew.

// ErrRestartTakeOver is ErrRestart when kojid could not log its session
// out: the restarted kojid must take the host's lock over (RestartArgs).
var ErrRestartTakeOver = fmt.Errorf("%w, and this kojid's session could not be logged out", ErrRestart)

// RestartArgs are the arguments kojid executes itself with after a
// graceful restart: its own, with --force-lock added when err is
// ErrRestartTakeOver and they do not already have it.
func RestartArgs(args []string, err error) []string {
	if !errors.Is(err, ErrRestartTakeOver) || len(args) == 0 {
		return args
	}
	for _, a := range args[1:] {
		if a == "--" {
			break
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "force-lock" {
			return args
		}
	}
	return append(slices.Clone(args), "--force-lock")
}

// errFreeTask, returned by a handler, hands the task back to the hub
// (host.freeTasks) instead of closing or failing it.
var errFreeTask = errors.New("task handed back to the hub")

// defaultRestartTimeout is how long restartHosts waits for its subtasks
// when the options give no timeout (Koji: a day).
const defaultRestartTimeout = 24 * time.Hour

// restartHostsHandler is Koji's RestartHostsTask.
type restartHostsHandler struct{}

func (restartHostsHandler) weight(*task) float64 { return 0.1 }

func (restartHostsHandler) check(context.Context, *task) error { return nil }

func (restartHostsHandler) run(ctx context.Context, t *task) (any, error) {
	a := t.args()
	opts := a.OptMap(0, "options")
	if err := a.Done(); err != nil {
		return nil, err
	}
	query := kw("enabled", true)
	for k, v := range opts {
		switch k {
		case "channel":
			switch v.(type) {
			case string, int64:
			default:
				return nil, genericErrorf("channel: expected a name or id, got %v", v)
			}
			ch, err := callMap(ctx, t.d.hub, "getChannel", v, kw("strict", true))
			if err != nil {
				return nil, err
			}
			query["channelID"] = ch["id"]
		case "arches":
			list, ok := v.([]any)
			if !ok {
				return nil, genericErrorf("arches: expected a list of arches, got %v", v)
			}
			for _, x := range list {
				if _, ok := x.(string); !ok {
					return nil, genericErrorf("arches: expected a list of arches, got %v", v)
				}
			}
			query["arches"] = list
		case "timeout":
		default:
			// Koji ignores options it does not know
		}
	}
	timeout := defaultRestartTimeout
	if v, ok := opts["timeout"]; ok && v != nil {
		n, ok := asInt(v)
		if !ok || n <= 0 {
			return nil, genericErrorf("timeout: expected a number of seconds, got %v", v)
		}
		timeout = time.Duration(min(n, int64(defaultRestartTimeout/time.Second))) * time.Second
	}
	v, err := t.d.hub.Call(ctx, "listHosts", query)
	if err != nil {
		return nil, err
	}
	hosts := asList(v)
	if len(hosts) == 0 {
		return nil, genericErrorf("No matching hosts")
	}
	var subtasks, mine []int64
	for _, h := range hosts {
		host := asMap(h)
		id, ok := asInt(host["id"])
		if !ok {
			continue
		}
		restart, err := callInt(ctx, t.d.hub, "host.subtask", "restart", []any{host}, t.id,
			kw("assign", id, "label", fmt.Sprintf("restart %d", id)))
		if err != nil {
			return nil, err
		}
		verify, err := callInt(ctx, t.d.hub, "host.subtask", "restartVerify", []any{restart, host}, t.id,
			kw("assign", id, "label", fmt.Sprintf("sleep %d", id)))
		if err != nil {
			return nil, err
		}
		subtasks = append(subtasks, restart, verify)
		if id == t.d.hostID {
			mine = []int64{restart, verify}
		}
	}
	t.log.Info("restarting hosts", "hosts", len(hosts), "subtasks", subtasks)
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if mine != nil {
		// this host restarts too: once its restart task has closed, the
		// restart waits for this task; hand it back until it is verified
		if _, err := t.wait(wctx, mine[:1], false); err != nil {
			return nil, timedOut(wctx, ctx, timeout, err)
		}
		done, err := t.d.hub.Call(ctx, "taskFinished", mine[1])
		if err != nil {
			return nil, err
		}
		if !asBool(done) {
			t.log.Info("this host restarts: handing the task back to the hub until it is verified")
			return nil, errFreeTask
		}
	}
	if _, err := t.wait(wctx, subtasks, false); err != nil {
		return nil, timedOut(wctx, ctx, timeout, err)
	}
	return nil, nil
}

// timedOut turns the end of the wait's own deadline into Koji's fault.
func timedOut(wctx, ctx context.Context, timeout time.Duration, err error) error {
	if ctx.Err() == nil && errors.Is(wctx.Err(), context.DeadlineExceeded) {
		return genericErrorf("Timeout after %d seconds waiting for the restart subtasks", int64(timeout/time.Second))
	}
	return err
}

// restartHandler is Koji's RestartTask: this host restarts once idle.
type restartHandler struct{}

func (restartHandler) weight(*task) float64 { return 0.1 }

// check marks the restart pending at once, before the loop takes another
// task (the restartVerify that follows is for the restarted kojid).
func (restartHandler) check(_ context.Context, t *task) error {
	if id, ok := restartHost(t); ok && id == t.d.hostID {
		t.d.requestRestart("restart task")
	}
	return nil
}

func (restartHandler) run(ctx context.Context, t *task) (any, error) {
	a := t.args()
	a.Map(0, "host")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if id, ok := restartHost(t); !ok || id != t.d.hostID {
		return nil, genericErrorf("Host mismatch")
	}
	return "graceful restart initiated", nil
}

// restartHost is the id in a restart task's host argument.
func restartHost(t *task) (int64, bool) {
	if len(t.params) == 0 {
		return 0, false
	}
	return asInt(asMap(t.params[0])["id"])
}

// restartVerifyHandler is Koji's RestartVerifyTask.
type restartVerifyHandler struct{}

func (restartVerifyHandler) weight(*task) float64 { return 0.1 }

func (restartVerifyHandler) check(context.Context, *task) error { return nil }

func (restartVerifyHandler) run(ctx context.Context, t *task) (any, error) {
	a := t.args()
	taskID := a.Int(0, "task_id")
	host := a.Map(1, "host")
	if err := a.Done(); err != nil {
		return nil, err
	}
	info, err := callMap(ctx, t.d.hub, "getTaskInfo", taskID)
	if err != nil {
		return nil, err
	}
	if info == nil {
		return nil, genericErrorf("No such task: %d", taskID)
	}
	state, _ := asInt(info["state"])
	if state != stateClosed {
		return nil, genericErrorf("Stage one restart task is %s", taskStateName(state))
	}
	if id, ok := asInt(host["id"]); !ok || id != t.d.hostID {
		return nil, genericErrorf("Host mismatch")
	}
	if done := asFloat(info["completion_ts"]); t.d.startTS < done {
		return nil, genericErrorf("Restart failed - start time is %s", time.Unix(int64(t.d.startTS), 0).Format("Mon Jan _2 15:04:05 2006"))
	}
	return nil, nil
}

func taskStateName(s int64) string {
	names := []string{"FREE", "OPEN", "CLOSED", "CANCELED", "ASSIGNED", "FAILED"}
	if s >= 0 && int(s) < len(names) {
		return names[s]
	}
	return fmt.Sprint(s)
}

// requestRestart makes the daemon take no new task and restart once its
// running tasks have ended (as SIGUSR1 does). Any goroutine may call it.
func (d *daemon) requestRestart(why string) {
	if d.restartAsked.CompareAndSwap(false, true) {
		d.log.Warn("graceful restart requested: taking no new task, waiting for running ones", "by", why, "running", d.count())
	}
	d.poke()
}

// sessionStart is when this kojid's session began on the hub (Koji's
// start_ts, in the hub's clock, which restartVerify compares with the
// hub's completion time); now when the hub does not say.
func (d *daemon) sessionStart(ctx context.Context) float64 {
	info, err := callMap(ctx, d.hub, "getSessionInfo")
	if err == nil && info != nil {
		if ts := asFloat(info["start_ts"]); ts > 0 {
			return ts
		}
	}
	return float64(time.Now().UnixNano()) / 1e9
}
