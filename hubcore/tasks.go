package hubcore

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// The task API: Koji's task methods for clients and admins, and the host.*
// calls with which builders take, run and finish tasks. The state machine is
// drawn in db/tasks.go; here every transition is checked for the caller's
// rights: a host acts only on its own tasks, admins on any.

// maxIDList bounds the ids one call may name.
const maxIDList = 10000

func taskMethods() []method {
	return []method{
		{name: "listTasks", argdesc: "(opts=None, queryOpts=None)", fn: mListTasks},
		{name: "getTaskInfo", argdesc: "(task_id, request=False, strict=False)", fn: mGetTaskInfo},
		{name: "getTaskChildren", argdesc: "(task_id, request=False, strict=False)", fn: mGetTaskChildren},
		{name: "getTaskRequest", argdesc: "(taskId)", fn: mGetTaskRequest},
		{name: "taskFinished", argdesc: "(taskId)", fn: mTaskFinished},
		{name: "getTaskResult", argdesc: "(taskId, raise_fault=True)", fn: mGetTaskResult},
		{name: "cancelTask", argdesc: "(task_id, recurse=True)", fn: mCancelTask},
		{name: "cancelTaskFull", argdesc: "(task_id, strict=True)", fn: mCancelTaskFull},
		{name: "cancelTaskChildren", argdesc: "(task_id)", fn: mCancelTaskChildren},
		{name: "freeTask", argdesc: "(task_id)", fn: mFreeTask},
		{name: "assignTask", argdesc: "(task_id, host, force=False, override=False)", fn: mAssignTask},
		{name: "setTaskPriority", argdesc: "(task_id, priority, recurse=True)", fn: mSetTaskPriority},
		{name: "makeTask", argdesc: "(method, arglist, **opts)", fn: mMakeTask},
		{name: "resubmitTask", argdesc: "(taskID)", fn: mResubmitTask},
		{name: "host.getTasks", argdesc: "()", fn: mHostGetTasks},
		{name: "host.getHostTasks", argdesc: "()", fn: mHostGetHostTasks},
		{name: "host.getLoadData", argdesc: "()", fn: mHostGetLoadData},
		{name: "host.openTask", argdesc: "(task_id)", fn: mHostOpenTask},
		{name: "host.closeTask", argdesc: "(task_id, response)", fn: mHostCloseTask},
		{name: "host.failTask", argdesc: "(task_id, response)", fn: mHostFailTask},
		{name: "host.refuseTask", argdesc: "(task_id, soft=True, msg='')", fn: mHostRefuseTask},
		{name: "host.freeTasks", argdesc: "(tasks)", fn: mHostFreeTasks},
		{name: "host.setTaskWeight", argdesc: "(task_id, weight)", fn: mHostSetTaskWeight},
		{name: "host.subtask", argdesc: "(method, arglist, parent, **opts)", fn: mHostSubtask},
		{name: "host.subtask2", argdesc: "(parent, taskopts, method, *args, **kw)", fn: mHostSubtask2},
		{name: "host.taskSetWait", argdesc: "(parent, tasks)", fn: mHostTaskSetWait},
		{name: "host.taskUnwait", argdesc: "(parent)", fn: mHostTaskUnwait},
		{name: "host.taskWait", argdesc: "(parent)", fn: mHostTaskWait},
		{name: "host.taskWaitResults", argdesc: "(parent, tasks, canfail=None)", fn: mHostTaskWaitResults},
	}
}

// getTask reads a task, with Koji's fault for a missing one.
func getTask(c *call, id int64) (db.Task, error) {
	t, err := c.hub.store.GetTask(c.ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return t, genericErr("No such task: %d", id)
	}
	return t, err
}

// noSuchTask turns the store's not-found into Koji's fault.
func noSuchTask(id int64, err error) error {
	if errors.Is(err, db.ErrNotFound) {
		return genericErr("No such task: %d", id)
	}
	return err
}

// taskInfo is Koji's Task.getInfo struct.
func taskInfo(t db.Task) map[string]any {
	return map[string]any{
		"id": t.ID, "state": t.State, "create_time": kojiTime(&t.CreateTime), "create_ts": t.CreateTime,
		"start_time": kojiTime(t.StartTime), "start_ts": kojiTS(t.StartTime),
		"completion_time": kojiTime(t.CompletionTime), "completion_ts": kojiTS(t.CompletionTime),
		"channel_id": t.ChannelID, "host_id": optInt(t.HostID), "parent": optInt(t.Parent), "label": optStr(t.Label),
		"waiting": optBool(t.Waiting), "awaited": optBool(t.Awaited), "owner": t.Owner, "method": t.Method,
		"arch": t.Arch, "priority": t.Priority, "weight": t.Weight,
	}
}

// decodeRequest returns a stored request's parameters (Koji reads old
// base64 rows too); undecodable text is returned as it is.
func decodeRequest(req string) any {
	data := []byte(req)
	if !bytes.Contains(data[:min(len(data), 10)], []byte("<?xml")) && !bytes.HasPrefix(bytes.TrimSpace(data), []byte("<")) {
		if b, err := base64.StdEncoding.DecodeString(req); err == nil {
			data = b
		}
	}
	call, err := kojixml.DecodeOptions{}.DecodeCallBytes(data)
	if err != nil {
		return req
	}
	if call.Params == nil {
		return []any{}
	}
	return call.Params
}

// decodeResult is listTasks(decode=True)'s result: the response's params as
// a list, or the fault as a struct.
func decodeResult(res *string) any {
	if res == nil {
		return nil
	}
	v, err := kojixml.DecodeOptions{}.DecodeResponseBytes([]byte(*res))
	var f *kojixml.Fault
	switch {
	case errors.As(err, &f):
		return map[string]any{"faultCode": f.Code, "faultString": f.String}
	case err != nil:
		return *res
	}
	return []any{v}
}

// taskResult is Koji's Task.getResult.
func taskResult(t db.Task, raiseFault bool) (any, error) {
	switch {
	case t.State == db.TaskCanceled:
		return nil, genericErr("Task %d is canceled", t.ID)
	case t.State != db.TaskClosed && t.State != db.TaskFailed:
		return nil, genericErr("Task %d is not finished", t.ID)
	case t.Result == nil:
		return nil, nil
	}
	v, err := kojixml.DecodeOptions{}.DecodeResponseBytes([]byte(*t.Result))
	var f *kojixml.Fault
	switch {
	case errors.As(err, &f):
		if raiseFault {
			return nil, f
		}
		return map[string]any{"faultCode": f.Code, "faultString": f.String}, nil
	case err != nil:
		return nil, genericErr("Task %d has a result that cannot be decoded: %v", t.ID, err)
	}
	return v, nil
}

// intList reads a list of task ids (an int is a list of one).
func intList(name string, v any) ([]int64, error) {
	return oneOrList[int64](name, v, "an integer", "integers")
}

func strList(name string, v any) ([]string, error) {
	return oneOrList[string](name, v, "a string", "strings")
}

// oneOrList reads an argument that is one value or a bounded list of them.
func oneOrList[T int64 | string](name string, v any, one, many string) ([]T, error) {
	switch x := v.(type) {
	case T:
		return []T{x}, nil
	case []any:
		if len(x) > maxIDList {
			return nil, paramErr("%s: %d values exceed the limit of %d", name, len(x), maxIDList)
		}
		out := make([]T, 0, len(x))
		for _, e := range x {
			n, ok := e.(T)
			if !ok {
				return nil, paramErr("%s: expected %s, got %T", name, many, e)
			}
			out = append(out, n)
		}
		return out, nil
	}
	return nil, paramErr("%s: expected %s or a list of %s, got %T", name, one, many, v)
}

// timeOpt reads a time bound: seconds since the epoch, a dateTime, or a
// string as Koji prints times.
func timeOpt(name string, v any) (*float64, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil // Koji skips a time option that is None
	case float64:
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			return &x, nil
		}
	case int64:
		f := float64(x)
		return &f, nil
	case time.Time:
		f := float64(x.UnixMicro()) / 1e6
		return &f, nil
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05.999999-07:00", "2006-01-02 15:04:05.999999", "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05", "2006-01-02"} {
			if t, err := time.Parse(layout, strings.TrimSpace(x)); err == nil {
				f := float64(t.UnixMicro()) / 1e6
				return &f, nil
			}
		}
	}
	return nil, paramErr("%s: expected a time (seconds, dateTime or \"YYYY-MM-DD HH:MM:SS\"), got %v", name, v)
}

// listTasks(opts=None, queryOpts=None)
func mListTasks(c *call, a *kojixml.Args) (any, error) {
	opts := a.OptMap(0, "opts")
	qo := a.OptMap(1, "queryOpts")
	if err := a.Done(); err != nil {
		return nil, err
	}
	f, decode, empty, err := taskFilter(c, opts)
	if err != nil {
		return nil, err
	}
	if err := taskQueryOpts(&f, qo); err != nil {
		return nil, err
	}
	if empty {
		if f.CountOnly {
			return 0, nil
		}
		return []any{}, nil
	}
	if f.CountOnly {
		return c.hub.store.CountTasks(c.ctx, f)
	}
	f.WithBlobs = true
	tasks, err := c.hub.store.ListTasks(c.ctx, f)
	if err != nil {
		return nil, err
	}
	users := map[int64]db.User{}
	out := make([]any, 0, len(tasks))
	for _, t := range tasks {
		m := taskInfo(t)
		u, ok := users[t.Owner]
		if !ok {
			if u, err = c.hub.store.GetUser(c.ctx, t.Owner); err != nil && !errors.Is(err, db.ErrNotFound) {
				return nil, err
			}
			users[t.Owner] = u
		}
		m["owner_name"], m["owner_type"] = nil, nil
		if u.ID != 0 {
			m["owner_name"], m["owner_type"] = u.Name, u.UserType
		}
		if decode {
			m["request"], m["result"] = decodeRequest(t.Request), decodeResult(t.Result)
		} else {
			m["request"], m["result"] = t.Request, optStr(t.Result)
		}
		out = append(out, m)
	}
	return out, nil
}

// taskFilter reads listTasks's opts. empty is true when the filter can
// match nothing (an unknown owner).
func taskFilter(c *call, opts map[string]any) (f db.TaskFilter, decode, empty bool, err error) {
	ints := func(k string, v any) []int64 {
		if err != nil {
			return nil
		}
		var l []int64
		l, err = intList(k, v)
		return l
	}
	for k, v := range opts {
		if err != nil {
			break
		}
		switch k {
		case "decode":
			b, ok := v.(bool)
			if !ok {
				err = paramErr("decode: expected a boolean, got %T", v)
			}
			decode = b
		case "state", "not_state":
			var st []int
			for _, n := range ints(k, v) {
				st = append(st, int(n))
			}
			if k == "state" {
				f.States = st
				empty = empty || (st != nil && len(st) == 0)
			} else {
				f.NotStates = st
			}
		case "method":
			f.Methods, err = strList(k, v)
			empty = empty || (err == nil && len(f.Methods) == 0)
		case "arch":
			f.Arches, err = strList(k, v)
			empty = empty || (err == nil && len(f.Arches) == 0)
		case "owner":
			switch x := v.(type) {
			case nil:
				empty = true
			case string:
				u, uerr := c.hub.store.GetUserByName(c.ctx, x)
				if errors.Is(uerr, db.ErrNotFound) {
					empty = true
				} else if uerr != nil {
					err = uerr
				}
				f.Owner = &u.ID
			default:
				f.Owners = ints(k, v)
				empty = empty || (err == nil && len(f.Owners) == 0)
			}
		case "host_id":
			if v == nil {
				f.NoHost = true
			} else {
				f.HostIDs = ints(k, v)
				empty = empty || (err == nil && len(f.HostIDs) == 0)
			}
		case "channel_id":
			f.ChannelIDs = ints(k, v)
			empty = empty || (err == nil && len(f.ChannelIDs) == 0)
		case "parent":
			if v == nil {
				f.TopLevel = true
			} else {
				f.Parents = ints(k, v)
				empty = empty || (err == nil && len(f.Parents) == 0)
			}
		case "id":
			f.IDs = ints(k, v)
			empty = empty || (err == nil && len(f.IDs) == 0)
		case "createdBefore":
			f.CreatedBefore, err = timeOpt(k, v)
		case "createdAfter":
			f.CreatedAfter, err = timeOpt(k, v)
		case "startedBefore":
			f.StartedBefore, err = timeOpt(k, v)
		case "startedAfter":
			f.StartedAfter, err = timeOpt(k, v)
		case "completeBefore":
			f.CompletedBefore, err = timeOpt(k, v)
		case "completeAfter":
			f.CompletedAfter, err = timeOpt(k, v)
		default:
			err = paramErr("listTasks: unknown option %q", k)
		}
	}
	return f, decode, empty, err
}

// taskQueryOpts applies queryOpts (order, offset, limit, countOnly) to a filter.
func taskQueryOpts(f *db.TaskFilter, qo map[string]any) error {
	for k, v := range qo {
		switch k {
		case "order":
			s, ok := v.(string)
			if !ok {
				return paramErr("queryOpts: order: expected a string, got %T", v)
			}
			for _, o := range strings.Split(s, ",") {
				o = strings.TrimSpace(o)
				if o == "" {
					continue
				}
				if !db.ValidTaskOrder(o) {
					return paramErr("queryOpts: cannot order tasks by %q", o)
				}
				f.Order = append(f.Order, o)
			}
		case "offset", "limit":
			n, ok := v.(int64)
			if !ok || n < 0 || n > math.MaxInt32 {
				return paramErr("queryOpts: %s: expected an integer >= 0, got %v", k, v)
			}
			if k == "offset" {
				f.Offset = int(n)
			} else {
				f.Limit = int(n)
				if n == 0 {
					f.IDs = []int64{-1} // LIMIT 0: nothing
				}
			}
		case "countOnly":
			b, ok := v.(bool)
			if !ok {
				return paramErr("queryOpts: countOnly: expected a boolean, got %T", v)
			}
			f.CountOnly = b
		case "asList", "group":
			return paramErr("queryOpts: %s is not supported for listTasks", k)
		default:
			return paramErr("queryOpts: unknown option %q", k)
		}
	}
	return nil
}

// getTaskInfo(task_id, request=False, strict=False); task_id may be a list.
func mGetTaskInfo(c *call, a *kojixml.Args) (any, error) {
	raw := a.Any(0, "task_id")
	request := a.OptBool(1, "request", false)
	strict := a.OptBool(2, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	info := func(t db.Task) map[string]any {
		m := taskInfo(t)
		if request {
			m["request"] = decodeRequest(t.Request)
		}
		return m
	}
	if list, isList := raw.([]any); isList {
		ids, err := intList("task_id", list)
		if err != nil {
			return nil, err
		}
		tasks, err := c.hub.store.GetTasks(c.ctx, ids)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, len(ids))
		for _, id := range ids {
			t, ok := tasks[id]
			switch {
			case ok:
				out = append(out, info(t))
			case strict:
				return nil, genericErr("No such task: %d", id)
			default:
				out = append(out, nil)
			}
		}
		return out, nil
	}
	id, ok := raw.(int64)
	if !ok {
		return nil, paramErr("getTaskInfo: argument task_id: expected int or list, got %T", raw)
	}
	t, err := c.hub.store.GetTaskCached(c.ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		if strict {
			return nil, genericErr("query returned no rows")
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return info(t), nil
}

// getTaskChildren(task_id, request=False, strict=False)
func mGetTaskChildren(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "task_id")
	request := a.OptBool(1, "request", false)
	strict := a.OptBool(2, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if strict {
		if _, err := getTask(c, id); err != nil {
			return nil, err
		}
	}
	kids, err := c.hub.store.Children(c.ctx, id, request)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(kids))
	for _, t := range kids {
		m := taskInfo(t)
		if request {
			m["request"] = decodeRequest(t.Request)
		}
		out = append(out, m)
	}
	return out, nil
}

// getTaskRequest(taskId)
func mGetTaskRequest(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "taskId")
	if err := a.Done(); err != nil {
		return nil, err
	}
	t, err := getTask(c, id)
	if err != nil {
		return nil, err
	}
	return decodeRequest(t.Request), nil
}

// getTaskResult(taskId, raise_fault=True)
func mGetTaskResult(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "taskId")
	raise := a.OptBool(1, "raise_fault", true)
	if err := a.Done(); err != nil {
		return nil, err
	}
	t, err := getTask(c, id)
	if err != nil {
		return nil, err
	}
	return taskResult(t, raise)
}

// mayManageTask allows the task's owner, the host it is on, and admins.
func mayManageTask(c *call, t db.Task) error {
	if err := c.requireLogin(); err != nil {
		return err
	}
	if c.user.ID == t.Owner || c.hasPerm("admin") {
		return nil
	}
	if t.HostID != nil && c.user.UserType == db.UserHost {
		if h, err := c.hub.store.GetHostByUser(c.ctx, c.user.ID); err == nil && h.ID == *t.HostID {
			return nil
		}
	}
	return notAllowed("Cannot cancel task, not owner")
}

// cancelTask(task_id, recurse=True): the owner, the host running it, or an admin.
func mCancelTask(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "task_id")
	recurse := a.OptBool(1, "recurse", true)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requireLogin(); err != nil {
		return nil, err
	}
	t, err := getTask(c, id)
	if err != nil {
		return nil, err
	}
	if err := mayManageTask(c, t); err != nil {
		return nil, err
	}
	if _, err := c.hub.store.CancelTask(c.ctx, id, recurse); err != nil {
		return nil, noSuchTask(id, err)
	}
	c.wrote = true
	c.hub.sched.wake()
	return nil, nil
}

// cancelTaskFull(task_id, strict=True): admin; cancels the whole tree from
// the top-level task.
func mCancelTaskFull(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "task_id")
	strict := a.OptBool(1, "strict", true)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	t, err := getTask(c, id)
	if err != nil {
		return nil, err
	}
	if t.Parent != nil && strict {
		return nil, genericErr("Task %d is not top-level (parent=%d)", id, *t.Parent)
	}
	for depth := 0; t.Parent != nil; depth++ {
		if depth > 1000 {
			return nil, genericErr("task %d: parent chain too deep", id)
		}
		if t, err = getTask(c, *t.Parent); err != nil {
			return nil, err
		}
	}
	if _, err := c.hub.store.CancelTask(c.ctx, t.ID, true); err != nil {
		return nil, err
	}
	c.wrote = true
	c.hub.sched.wake()
	return nil, nil
}

// cancelTaskChildren(task_id): the owner, the host running it, or an admin.
func mCancelTaskChildren(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "task_id")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requireLogin(); err != nil {
		return nil, err
	}
	t, err := getTask(c, id)
	if err != nil {
		return nil, err
	}
	if err := mayManageTask(c, t); err != nil {
		return nil, err
	}
	if err := c.hub.store.WithTx(c.ctx, func(tx *db.Store) error { return tx.CancelChildren(c.ctx, id) }); err != nil {
		return nil, err
	}
	c.wrote = true
	c.hub.sched.wake()
	return nil, nil
}

// freeTask(task_id): admin.
func mFreeTask(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "task_id")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	err := c.hub.store.FreeTask(c.ctx, id, "freed by "+c.user.Name, false)
	if errors.Is(err, db.ErrTaskFinished) {
		return nil, genericErr("Task %d is finished and cannot be freed", id)
	}
	if err != nil {
		return nil, noSuchTask(id, err)
	}
	c.wrote = true
	c.hub.sched.wake()
	return nil, nil
}

// assignTask(task_id, host, force=False, override=False): admin. With
// override no run is recorded, so the scheduler never takes it back.
func mAssignTask(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "task_id")
	hostInfo := a.IntOrString(1, "host")
	force := a.OptBool(2, "force", false)
	override := a.OptBool(3, "override", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	host, err := c.hub.mustHost(c, hostInfo)
	if err != nil {
		return nil, err
	}
	ok := false
	err = c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		var err error
		if ok, err = tx.AssignTask(c.ctx, id, host.ID, force); err != nil || !ok {
			return err
		}
		msg := "Assigning task (override)"
		if !override {
			msg = "Assigning task"
			if err := tx.AddTaskRun(c.ctx, id, host.ID); err != nil {
				return err
			}
		}
		return tx.AddLog(c.ctx, &id, &host.ID, msg)
	})
	if err != nil {
		return nil, noSuchTask(id, err)
	}
	if ok {
		c.wrote = true
		c.hub.sched.notifyHost(host.ID)
	}
	return ok, nil
}

// setTaskPriority(task_id, priority, recurse=True): admin.
func mSetTaskPriority(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "task_id")
	prio := a.Int(1, "priority")
	recurse := a.OptBool(2, "recurse", true)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	if prio < -1e6 || prio > 1e6 {
		return nil, paramErr("priority: %d is out of range", prio)
	}
	if err := c.hub.store.WithTx(c.ctx, func(tx *db.Store) error { return tx.SetTaskPriority(c.ctx, id, int(prio), recurse) }); err != nil {
		return nil, noSuchTask(id, err)
	}
	c.wrote = true
	c.hub.sched.wake()
	return nil, nil
}

var methodNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]{0,99}$`)

// taskOpts are make_task's options.
type taskOpts struct {
	channel, assign any
	arch, label     *string
	priority        *int64
	parent, owner   *int64
	kwargs          map[string]any
}

func parseTaskOpts(opts map[string]any, allowOwner bool) (taskOpts, error) {
	var o taskOpts
	for k, v := range opts {
		if v == nil {
			continue
		}
		switch k {
		case "channel":
			switch v.(type) {
			case string, int64:
				o.channel = v
			default:
				return o, paramErr("channel: expected a name or id, got %T", v)
			}
		case "assign":
			switch v.(type) {
			case string, int64:
				o.assign = v
			default:
				return o, paramErr("assign: expected a host name or id, got %T", v)
			}
		case "arch":
			s, ok := v.(string)
			if !ok || s == "" || len(s) > 16 || strings.ContainsAny(s, " \t\n'\"\\%;") {
				return o, paramErr("arch: expected an arch name of at most 16 characters, got %v", v)
			}
			o.arch = &s
		case "label":
			s, ok := v.(string)
			if !ok || len(s) > 255 {
				return o, paramErr("label: expected a string of at most 255 characters")
			}
			o.label = &s
		case "priority", "parent", "owner":
			n, ok := v.(int64)
			if !ok {
				return o, paramErr("%s: expected an integer, got %T", k, v)
			}
			switch k {
			case "priority":
				if n < -1e6 || n > 1e6 {
					return o, paramErr("priority: %d is out of range", n)
				}
				o.priority = &n
			case "parent":
				o.parent = &n
			default:
				if !allowOwner {
					return o, notAllowed("a subtask's owner is its parent's")
				}
				o.owner = &n
			}
		case "kwargs":
			m, ok := v.(map[string]any)
			if !ok {
				return o, paramErr("kwargs: expected a struct, got %T", v)
			}
			o.kwargs = m
		default:
			return o, paramErr("unknown task option %q", k)
		}
	}
	return o, nil
}

// createTask is Koji's make_task. byHost, when set, must own the parent.
func createTask(c *call, methodName string, arglist []any, o taskOpts, byHost *db.Host) (int64, error) {
	if !methodNameRE.MatchString(methodName) {
		return 0, paramErr("method: invalid task method name %q", methodName)
	}
	if o.label != nil && o.parent == nil {
		return 0, paramErr("label: only subtasks have labels")
	}
	n := db.NewTask{Method: methodName, Arch: "noarch", Priority: 20, Owner: c.user.ID}
	var chID *int64
	if o.parent != nil {
		p, err := getTask(c, *o.parent)
		if err != nil {
			return 0, err
		}
		if byHost != nil && (p.State != db.TaskOpen || p.HostID == nil || *p.HostID != byHost.ID) {
			return 0, notAllowed("host %d does not own task %d", byHost.ID, p.ID)
		}
		n.Parent, n.Owner, n.Arch, n.Priority, n.Label = &p.ID, p.Owner, p.Arch, p.Priority-1, o.label
		chID = &p.ChannelID
	}
	if o.owner != nil {
		if _, err := c.hub.store.GetUser(c.ctx, *o.owner); err != nil {
			if errors.Is(err, db.ErrNotFound) {
				return 0, genericErr("No such user: %d", *o.owner)
			}
			return 0, err
		}
		n.Owner = *o.owner
	}
	if o.arch != nil {
		n.Arch = *o.arch
	}
	if o.priority != nil {
		n.Priority = int(*o.priority)
	}
	// The channel: the channel policy's choice among the requested one,
	// the parent's and a named one (policy.go).
	var req *db.Channel
	if o.channel != nil {
		ch, err := c.hub.lookupChannel(c, o.channel)
		if errors.Is(err, db.ErrNotFound) {
			return 0, genericErr("No such channel: %v", o.channel)
		}
		if err != nil {
			return 0, err
		}
		if !ch.Enabled {
			return 0, genericErr("channel %s is disabled", ch.Name)
		}
		req = &ch
	}
	if err := c.routeTask(methodName, arglist, &n, req, chID); err != nil {
		return 0, err
	}
	var assignTo *db.Host
	if o.assign != nil {
		h, err := c.hub.mustHost(c, o.assign)
		if err != nil {
			return 0, err
		}
		n.AssignTo, assignTo = &h.ID, &h
	}
	params := arglist
	if o.kwargs != nil {
		params = kojixml.EncodeKwargs(arglist, o.kwargs)
	}
	var buf bytes.Buffer
	if err := kojixml.EncodeCall(&buf, methodName, params); err != nil {
		return 0, paramErr("arglist: cannot encode: %v", err)
	}
	n.Request = buf.String()
	id, created, err := c.hub.store.CreateTask(c.ctx, n)
	if errors.Is(err, db.ErrParentNotOpen) {
		return 0, genericErr("%v", err)
	}
	if err != nil {
		return 0, err
	}
	if created {
		c.wrote = true
		if assignTo != nil {
			c.hub.sched.notifyHost(assignTo.ID)
		} else {
			c.hub.sched.wake()
		}
	}
	return id, nil
}

// makeTask(method, arglist, **opts): admin. opts: channel, arch, priority,
// parent, label, assign, owner, kwargs.
func mMakeTask(c *call, a *kojixml.Args) (any, error) {
	methodName := a.String(0, "method")
	arglist := a.List(1, "arglist")
	opts := a.RestKwargs()
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	o, err := parseTaskOpts(opts, true)
	if err != nil {
		return nil, err
	}
	return createTask(c, methodName, arglist, o, nil)
}

// resubmitTask(taskID): Koji's retry of a CANCELED or FAILED top-level
// task, by its owner or an admin: a new FREE task with the same method,
// request, arch, channel and priority, owned by the caller. Returns its id.
// The refusals are Koji 1.35's, GenericError all but the anonymous one.
func mResubmitTask(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "taskID")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if c.user == nil {
		return nil, notAllowed("you must be logged in for this operation")
	}
	t, err := getTask(c, id)
	if err != nil {
		return nil, err
	}
	if t.State != db.TaskCanceled && t.State != db.TaskFailed {
		return nil, genericErr("only canceled or failed tasks may be resubmitted")
	}
	if t.Parent != nil {
		return nil, genericErr("only top-level tasks may be resubmitted")
	}
	if c.user.ID != t.Owner && !c.hasPerm("admin") {
		return nil, genericErr("only the task owner or an admin may resubmit a task")
	}
	args, ok := decodeRequest(t.Request).([]any)
	if !ok {
		return nil, genericErr("task %d: its request cannot be decoded", id)
	}
	ch, err := c.hub.store.GetChannel(c.ctx, t.ChannelID)
	if err != nil {
		return nil, internalErr("channel of task "+strconv.FormatInt(id, 10), err)
	}
	prio := int64(t.Priority)
	return createTask(c, t.Method, args, taskOpts{channel: ch.Name, arch: &t.Arch, priority: &prio}, nil)
}

// host.subtask(method, arglist, parent, **opts)
func mHostSubtask(c *call, a *kojixml.Args) (any, error) {
	methodName := a.String(0, "method")
	arglist := a.List(1, "arglist")
	parent := a.Int(2, "parent")
	opts := a.RestKwargs()
	if err := a.Done(); err != nil {
		return nil, err
	}
	return hostSubtask(c, methodName, arglist, parent, opts)
}

func hostSubtask(c *call, methodName string, arglist []any, parent int64, opts map[string]any) (any, error) {
	host, err := c.requireHost()
	if err != nil {
		return nil, err
	}
	if _, ok := opts["parent"]; ok {
		return nil, paramErr("parent is given as an argument, not an option")
	}
	o, err := parseTaskOpts(opts, false)
	if err != nil {
		return nil, err
	}
	o.parent = &parent
	return createTask(c, methodName, arglist, o, &host)
}

// host.subtask2(parent, taskopts, method, *args, **kw)
func mHostSubtask2(c *call, a *kojixml.Args) (any, error) {
	parent := a.Int(0, "parent")
	taskopts := a.OptMap(1, "taskopts")
	methodName := a.String(2, "method")
	args := a.Rest(3)
	kw := a.RestKwargs()
	if err := a.Done(); err != nil {
		return nil, err
	}
	if taskopts == nil {
		taskopts = map[string]any{}
	}
	if len(kw) > 0 {
		args = kojixml.EncodeKwargs(args, kw)
	}
	if args == nil {
		args = []any{}
	}
	return hostSubtask(c, methodName, args, parent, taskopts)
}

// ownTask reads a task the calling host must hold OPEN (Koji's assertHost).
func ownTask(c *call, host db.Host, id int64) (db.Task, error) {
	t, err := getTask(c, id)
	if err != nil {
		return t, err
	}
	if t.State != db.TaskOpen || t.HostID == nil || *t.HostID != host.ID {
		return t, notAllowed("host %d does not own task %d", host.ID, id)
	}
	return t, nil
}

// hostTaskShort is host.getTasks's struct.
func hostTaskShort(t db.Task) map[string]any {
	return map[string]any{"arch": t.Arch, "channel_id": t.ChannelID, "create_ts": t.CreateTime, "host_id": optInt(t.HostID),
		"id": t.ID, "method": t.Method, "priority": t.Priority, "state": t.State}
}

func assignedTasks(c *call, hostID int64) ([]any, error) {
	tasks, err := c.hub.store.ListTasks(c.ctx, db.TaskFilter{HostIDs: []int64{hostID}, States: []int{db.TaskAssigned}, Order: []string{"priority", "create_time"}})
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(tasks))
	for _, t := range tasks {
		out = append(out, hostTaskShort(t))
	}
	return out, nil
}

// tasksForHost is Koji's get_tasks_for_host(retry=True): the host's
// ASSIGNED tasks, running a (rate-limited) pass first when it has none.
func tasksForHost(c *call, hostID int64) ([]any, error) {
	tasks, err := assignedTasks(c, hostID)
	if err != nil || len(tasks) > 0 {
		return tasks, err
	}
	ran, err := c.hub.sched.pass(c.ctx, false)
	if err != nil {
		return nil, err
	}
	if !ran {
		return tasks, nil
	}
	c.wrote = true
	return assignedTasks(c, hostID)
}

// host.getTasks(): the caller's ASSIGNED tasks.
func mHostGetTasks(c *call, a *kojixml.Args) (any, error) {
	if err := a.Done(); err != nil {
		return nil, err
	}
	host, err := c.requireHost()
	if err != nil {
		return nil, err
	}
	return tasksForHost(c, host.ID)
}

// host.getLoadData(): [[this host with its channels], its ASSIGNED tasks].
func mHostGetLoadData(c *call, a *kojixml.Args) (any, error) {
	if err := a.Done(); err != nil {
		return nil, err
	}
	host, err := c.requireHost()
	if err != nil {
		return nil, err
	}
	tasks, err := tasksForHost(c, host.ID)
	if err != nil {
		return nil, err
	}
	host, err = c.hub.store.GetHost(c.ctx, host.ID)
	if err != nil {
		return nil, err
	}
	chans, err := c.hub.store.ListChannels(c.ctx, &host.ID)
	if err != nil {
		return nil, err
	}
	ids := make([]any, 0, len(chans))
	for _, ch := range chans {
		if ch.Enabled {
			ids = append(ids, ch.ID)
		}
	}
	hm := hostMap(host)
	hm["channels"] = ids
	return []any{[]any{hm}, tasks}, nil
}

// host.getHostTasks(): the caller's OPEN tasks {id, waiting, weight}, with
// alert set when a waiting task has a finished awaited child.
func mHostGetHostTasks(c *call, a *kojixml.Args) (any, error) {
	if err := a.Done(); err != nil {
		return nil, err
	}
	host, err := c.requireHost()
	if err != nil {
		return nil, err
	}
	tasks, err := c.hub.store.ListTasks(c.ctx, db.TaskFilter{HostIDs: []int64{host.ID}, States: []int{db.TaskOpen}})
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(tasks))
	for _, t := range tasks {
		m := map[string]any{"id": t.ID, "waiting": optBool(t.Waiting), "weight": t.Weight}
		if t.Waiting != nil && *t.Waiting {
			finished, _, err := awaitedChildren(c, t.ID)
			if err != nil {
				return nil, err
			}
			if len(finished) > 0 {
				m["alert"] = true
			}
		}
		out = append(out, m)
	}
	return out, nil
}

func awaitedChildren(c *call, parent int64) (finished, unfinished []int64, err error) {
	kids, err := c.hub.store.Children(c.ctx, parent, false)
	if err != nil {
		return nil, nil, err
	}
	for _, k := range kids {
		if k.Awaited == nil || !*k.Awaited {
			continue
		}
		if db.TaskFinished(k.State) {
			finished = append(finished, k.ID)
		} else {
			unfinished = append(unfinished, k.ID)
		}
	}
	return finished, unfinished, nil
}

// host.openTask(task_id): the task, with its request document, or nil when
// it is not FREE or ASSIGNED to the caller.
func mHostOpenTask(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "task_id")
	if err := a.Done(); err != nil {
		return nil, err
	}
	host, err := c.requireHost()
	if err != nil {
		return nil, err
	}
	t, ok, err := c.hub.store.OpenTask(c.ctx, id, host.ID)
	if err != nil {
		return nil, noSuchTask(id, err)
	}
	if !ok {
		return nil, nil
	}
	c.wrote = true
	full, err := c.hub.store.GetTask(c.ctx, id)
	if err == nil {
		t = full
	}
	m := taskInfo(t)
	m["request"] = t.Request
	return m, nil
}

func finishTask(c *call, a *kojixml.Args, state int) (any, error) {
	id := a.Int(0, "task_id")
	response := a.String(1, "response")
	if err := a.Done(); err != nil {
		return nil, err
	}
	host, err := c.requireHost()
	if err != nil {
		return nil, err
	}
	if _, err := (kojixml.DecodeOptions{}).DecodeResponseBytes([]byte(response)); err != nil {
		var f *kojixml.Fault
		if !errors.As(err, &f) {
			return nil, paramErr("response: not an XML-RPC methodResponse document: %v", err)
		}
	}
	if err := c.hub.store.FinishTask(c.ctx, id, host.ID, state, response); err != nil {
		return nil, noSuchTask(id, err)
	}
	c.wrote = true
	c.hub.sched.wake()
	return nil, nil
}

// host.closeTask(task_id, response)
func mHostCloseTask(c *call, a *kojixml.Args) (any, error) { return finishTask(c, a, db.TaskClosed) }

// host.failTask(task_id, response)
func mHostFailTask(c *call, a *kojixml.Args) (any, error) { return finishTask(c, a, db.TaskFailed) }

// maxRefusalMsg bounds a refusal's message.
const maxRefusalMsg = 2000

// host.refuseTask(task_id, soft=True, msg=”): records the refusal and frees
// the task; a task the caller does not hold is left alone.
func mHostRefuseTask(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "task_id")
	soft := a.OptBool(1, "soft", true)
	msg := a.OptString(2, "msg", "")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if len(msg) > maxRefusalMsg {
		return nil, paramErr("msg: %d bytes exceed the limit of %d", len(msg), maxRefusalMsg)
	}
	host, err := c.requireHost()
	if err != nil {
		return nil, err
	}
	t, err := getTask(c, id)
	if err != nil {
		return nil, err
	}
	if t.HostID == nil || *t.HostID != host.ID || (t.State != db.TaskAssigned && t.State != db.TaskOpen) {
		c.hub.log.Warn("host refused a task it does not hold", "host", host.Name, "task", id)
		return nil, nil
	}
	reason := "refused by " + host.Name
	if msg != "" {
		reason += ": " + msg
	}
	err = c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		if err := tx.AddRefusal(c.ctx, db.Refusal{TaskID: id, HostID: host.ID, ByHost: true, Soft: soft, Msg: msg, Time: c.hub.sched.now()}); err != nil {
			return err
		}
		if err := tx.FreeTask(c.ctx, id, reason, false); err != nil {
			return err
		}
		return tx.AddLog(c.ctx, &id, &host.ID, "Host refused task: "+msg)
	})
	if err != nil {
		return nil, err
	}
	c.wrote = true
	c.hub.sched.wake()
	return nil, nil
}

// host.freeTasks(tasks): frees those of the tasks the caller holds.
func mHostFreeTasks(c *call, a *kojixml.Args) (any, error) {
	raw := a.List(0, "tasks")
	if err := a.Done(); err != nil {
		return nil, err
	}
	ids, err := intList("tasks", raw)
	if err != nil {
		return nil, err
	}
	host, err := c.requireHost()
	if err != nil {
		return nil, err
	}
	tasks, err := c.hub.store.GetTasks(c.ctx, ids)
	if err != nil {
		return nil, err
	}
	freed := 0
	err = c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		for _, id := range ids {
			t, ok := tasks[id]
			if !ok || t.HostID == nil || *t.HostID != host.ID || (t.State != db.TaskOpen && t.State != db.TaskAssigned) {
				continue
			}
			if err := tx.FreeTask(c.ctx, id, "freed by "+host.Name, false); err != nil && !errors.Is(err, db.ErrTaskFinished) {
				return err
			}
			freed++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if freed > 0 {
		c.wrote = true
		c.hub.sched.wake()
	}
	return nil, nil
}

// host.setTaskWeight(task_id, weight)
func mHostSetTaskWeight(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "task_id")
	weight := a.Float(1, "weight")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if math.IsNaN(weight) || math.IsInf(weight, 0) || weight < 0 || weight > 1000 {
		return nil, paramErr("weight: expected a number from 0 to 1000, got %v", weight)
	}
	host, err := c.requireHost()
	if err != nil {
		return nil, err
	}
	if _, err := ownTask(c, host, id); err != nil {
		return nil, err
	}
	if err := c.hub.store.SetTaskWeight(c.ctx, id, weight); err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// childIDs checks that ids are children of parent.
func childIDs(c *call, parent int64, ids []int64) error {
	kids, err := c.hub.store.Children(c.ctx, parent, false)
	if err != nil {
		return err
	}
	mine := map[int64]bool{}
	for _, k := range kids {
		mine[k.ID] = true
	}
	for _, id := range ids {
		if !mine[id] {
			return genericErr("Task %d is not a child of task %d", id, parent)
		}
	}
	return nil
}

// host.taskSetWait(parent, tasks): tasks None means every child.
func mHostTaskSetWait(c *call, a *kojixml.Args) (any, error) {
	parent := a.Int(0, "parent")
	raw := a.OptAny(1, "tasks", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	host, err := c.requireHost()
	if err != nil {
		return nil, err
	}
	var ids []int64
	if raw != nil {
		if ids, err = intList("tasks", raw); err != nil {
			return nil, err
		}
		if ids == nil {
			ids = []int64{}
		}
	}
	if _, err := ownTask(c, host, parent); err != nil {
		return nil, err
	}
	if err := childIDs(c, parent, ids); err != nil {
		return nil, err
	}
	if err := c.hub.store.SetWait(c.ctx, parent, ids); err != nil {
		return nil, err
	}
	c.wrote = true
	c.hub.sched.wake() // a waiting task's weight no longer counts
	return nil, nil
}

// host.taskUnwait(parent)
func mHostTaskUnwait(c *call, a *kojixml.Args) (any, error) {
	parent := a.Int(0, "parent")
	if err := a.Done(); err != nil {
		return nil, err
	}
	host, err := c.requireHost()
	if err != nil {
		return nil, err
	}
	if _, err := ownTask(c, host, parent); err != nil {
		return nil, err
	}
	if err := c.hub.store.ClearWait(c.ctx, parent, nil); err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// host.taskWait(parent): [finished, unfinished] among the awaited children;
// the finished ones are no longer awaited.
func mHostTaskWait(c *call, a *kojixml.Args) (any, error) {
	parent := a.Int(0, "parent")
	if err := a.Done(); err != nil {
		return nil, err
	}
	host, err := c.requireHost()
	if err != nil {
		return nil, err
	}
	if _, err := ownTask(c, host, parent); err != nil {
		return nil, err
	}
	finished, unfinished, err := awaitedChildren(c, parent)
	if err != nil {
		return nil, err
	}
	if len(finished) > 0 {
		if err := c.hub.store.ClearAwaited(c.ctx, finished); err != nil {
			return nil, err
		}
		c.wrote = true
	}
	return []any{idsAny(finished), idsAny(unfinished)}, nil
}

func idsAny(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// host.taskWaitResults(parent, tasks, canfail=None): ends the wait and
// returns [[task_id, result], ...]; a child's fault is raised unless the
// child is in canfail.
func mHostTaskWaitResults(c *call, a *kojixml.Args) (any, error) {
	parent := a.Int(0, "parent")
	rawTasks := a.OptAny(1, "tasks", nil)
	rawCanfail := a.OptAny(2, "canfail", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	host, err := c.requireHost()
	if err != nil {
		return nil, err
	}
	if _, err := ownTask(c, host, parent); err != nil {
		return nil, err
	}
	var ids, canfail []int64
	if rawTasks != nil {
		if ids, err = intList("tasks", rawTasks); err != nil {
			return nil, err
		}
		if err := childIDs(c, parent, ids); err != nil {
			return nil, err
		}
	} else {
		kids, err := c.hub.store.Children(c.ctx, parent, false)
		if err != nil {
			return nil, err
		}
		for _, k := range kids {
			ids = append(ids, k.ID)
		}
	}
	if rawCanfail != nil {
		if canfail, err = intList("canfail", rawCanfail); err != nil {
			return nil, err
		}
	}
	mayFail := map[int64]bool{}
	for _, id := range canfail {
		mayFail[id] = true
	}
	if err := c.hub.store.ClearWait(c.ctx, parent, nil); err != nil {
		return nil, err
	}
	c.wrote = true
	tasks, err := c.hub.store.GetTasks(c.ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(ids))
	for _, id := range ids {
		t := tasks[id]
		res, err := taskResult(t, !mayFail[id])
		if err != nil {
			var f *kojixml.Fault
			if t.State == db.TaskCanceled && mayFail[id] && errors.As(err, &f) {
				res = map[string]any{"faultCode": f.Code, "faultString": f.String}
			} else {
				return nil, err
			}
		}
		out = append(out, []any{id, res})
	}
	return out, nil
}

// taskFinished(taskId): whether the task is CLOSED, CANCELED or FAILED.
func mTaskFinished(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "taskId")
	if err := a.Done(); err != nil {
		return nil, err
	}
	t, err := getTask(c, id)
	if err != nil {
		return nil, err
	}
	return t.State == db.TaskClosed || t.State == db.TaskCanceled || t.State == db.TaskFailed, nil
}
