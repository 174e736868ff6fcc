package hubcore

import (
	"bytes"
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// responseXML is a methodResponse document, as kojid sends to closeTask.
func responseXML(t testing.TB, v any) string {
	t.Helper()
	var b bytes.Buffer
	if err := kojixml.EncodeResponse(&b, v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func faultXML(t testing.TB, code int, msg string) string {
	t.Helper()
	var b bytes.Buffer
	if err := kojixml.EncodeFault(&b, &kojixml.Fault{Code: code, String: msg}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// readyHost adds a host and checks it in as ready.
func (th *testHub) readyHost(name string, arches ...string) (*client, int64) {
	th.t.Helper()
	hc, id := th.addHost(name, arches...)
	hc.must("host.updateHost", 0.0, true)
	return hc, id
}

// waitState polls a task's state until it is want or the deadline passes.
func (th *testHub) waitState(id int64, want int) db.Task {
	th.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		task, err := th.store.GetTask(context.Background(), id)
		if err != nil {
			th.t.Fatal(err)
		}
		if task.State == want {
			return task
		}
		if time.Now().After(deadline) {
			th.t.Fatalf("task %d is %s, want %s (reason %v)", id, db.TaskStateName(task.State), db.TaskStateName(want), optStr(task.FreeReason))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTaskLifecycleOverXMLRPC(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		hc, hostID := th.readyHost("builder1")
		admin := th.login("kojiadmin", "adminpw")
		id := admin.must("makeTask", "newRepo", []any{"f40-build"}, kw{"channel": "default", "priority": int64(15)}).(int64)
		th.waitState(id, db.TaskAssigned)

		tasks := hc.must("host.getTasks").([]any)
		if len(tasks) != 1 {
			t.Fatalf("host.getTasks = %v, want one task", tasks)
		}
		got := tasks[0].(map[string]any)
		for k, want := range map[string]any{"id": id, "method": "newRepo", "arch": "noarch", "priority": int64(15), "state": int64(db.TaskAssigned), "host_id": hostID} {
			if got[k] != want {
				t.Errorf("host.getTasks[0][%s] = %v, want %v", k, got[k], want)
			}
		}
		if len(got) != 8 {
			t.Errorf("host.getTasks fields = %v, want Koji's 8", got)
		}
		info := hc.must("host.openTask", id).(map[string]any)
		if info["state"] != int64(db.TaskOpen) || !strings.Contains(info["request"].(string), "<methodName>newRepo</methodName>") {
			t.Errorf("host.openTask = %v", info)
		}
		if v := hc.must("host.openTask", id); v != nil {
			t.Errorf("second host.openTask = %v, want nil", v)
		}
		ht := hc.must("host.getHostTasks").([]any)
		if len(ht) != 1 || ht[0].(map[string]any)["id"] != id {
			t.Errorf("host.getHostTasks = %v", ht)
		}
		hc.must("host.setTaskWeight", id, 1.5)
		req := th.anon().must("getTaskInfo", id, kw{"request": true}).(map[string]any)
		if r, ok := req["request"].([]any); !ok || len(r) != 1 || r[0] != "f40-build" {
			t.Errorf("getTaskInfo(request=True)[request] = %v", req["request"])
		}
		if req["weight"] != 1.5 || req["start_ts"] == nil || req["create_time"] == nil {
			t.Errorf("getTaskInfo = %v", req)
		}
		th.anon().fault(kojixml.GenericError, "getTaskResult", id)
		hc.must("host.closeTask", id, responseXML(t, map[string]any{"repo_id": int64(1), "event_id": int64(1)}))
		if f := hc.fault(kojixml.ActionNotAllowed, "host.closeTask", id, responseXML(t, nil)); f.String != "host 1 does not own task "+itoa(id) {
			t.Errorf("second close = %q", f.String)
		}
		if f := hc.fault(kojixml.GenericError, "host.closeTask", int64(99999), responseXML(t, nil)); f.String != "No such task: 99999" {
			t.Errorf("close of nonexistent = %q", f.String)
		}
		res := th.anon().must("getTaskResult", id).(map[string]any)
		if res["repo_id"] != int64(1) {
			t.Errorf("getTaskResult = %v", res)
		}
		runs := admin.must("scheduler.getTaskRuns").([]any)
		if len(runs) != 1 || runs[0].(map[string]any)["active"] != false || runs[0].(map[string]any)["task_id"] != id {
			t.Errorf("scheduler.getTaskRuns = %v", runs)
		}
		logs := admin.must("scheduler.getLogMessages", []any{[]any{"task_id", "=", id}}).([]any)
		if len(logs) == 0 || logs[0].(map[string]any)["msg"] != "Assigning task" {
			t.Errorf("scheduler.getLogMessages = %v", logs)
		}

		// a failed task: getTaskResult raises the stored fault
		id2 := admin.must("makeTask", "newRepo", []any{"f40-build"}).(int64)
		th.waitState(id2, db.TaskAssigned)
		hc.must("host.openTask", id2)
		hc.must("host.failTask", id2, faultXML(t, 1, "Traceback ...\nGenericError: simulated failure\n"))
		if f := th.anon().fault(1, "getTaskResult", id2); !strings.Contains(f.String, "simulated failure") {
			t.Errorf("getTaskResult of failed = %q", f.String)
		}
		r := th.anon().must("getTaskResult", id2, kw{"raise_fault": false}).(map[string]any)
		if r["faultCode"] != int64(1) {
			t.Errorf("getTaskResult(raise_fault=False) = %v", r)
		}
		// listTasks as the CLI calls it
		lt := th.anon().must("listTasks", map[string]any{"decode": true, "state": []any{int64(0), int64(1), int64(2), int64(4), int64(5)}},
			map[string]any{"order": "priority,create_time"}).([]any)
		if len(lt) != 2 {
			t.Fatalf("listTasks = %d tasks, want 2", len(lt))
		}
		first := lt[0].(map[string]any)
		if first["id"] != id || first["owner_name"] != "kojiadmin" || first["owner_type"] != int64(0) {
			t.Errorf("listTasks[0] = %v", first)
		}
		if r, ok := first["result"].([]any); !ok || len(r) != 1 {
			t.Errorf("listTasks decoded result = %v", first["result"])
		}
		if n := th.anon().must("listTasks", map[string]any{"state": []any{int64(5)}}, map[string]any{"countOnly": true}); n != int64(1) {
			t.Errorf("listTasks countOnly = %v, want 1", n)
		}
		raw := th.anon().must("listTasks", map[string]any{"method": "newRepo"}, map[string]any{"limit": int64(1), "order": "-id"}).([]any)
		if len(raw) != 1 || raw[0].(map[string]any)["id"] != id2 || !strings.HasPrefix(raw[0].(map[string]any)["request"].(string), "<?xml") {
			t.Errorf("listTasks limit/order/raw = %v", raw)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestSubtasksWaitAndCancelCascade(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		hc, hostID := th.readyHost("builder1")
		admin := th.login("kojiadmin", "adminpw")
		aliceID := th.addUser("alice", "pw")
		parent := admin.must("makeTask", "build", []any{"git+https://x/y#z", "f40-candidate", map[string]any{}}, kw{"owner": aliceID, "priority": int64(20)}).(int64)
		th.waitState(parent, db.TaskAssigned)
		hc.must("host.openTask", parent)
		kid1 := hc.must("host.subtask", "buildArch", []any{"a.src.rpm", "f40-build", "x86_64", true}, parent, kw{"label": "x86_64", "arch": "x86_64"}).(int64)
		if again := hc.must("host.subtask", "buildArch", []any{"a.src.rpm"}, parent, kw{"label": "x86_64"}); again != kid1 {
			t.Errorf("subtask with an existing label = %v, want %d", again, kid1)
		}
		kid2 := hc.must("host.subtask2", parent, map[string]any{"label": "tag"}, "tagBuild", int64(1), int64(2), kw{"force": true}).(int64)
		info := th.anon().must("getTaskInfo", kid2, kw{"request": true}).(map[string]any)
		if info["owner"] != aliceID || info["priority"] != int64(19) || info["parent"] != parent || info["label"] != "tag" {
			t.Errorf("subtask info = %v", info)
		}
		if r := info["request"].([]any); len(r) != 3 || r[2].(map[string]any)["force"] != true {
			t.Errorf("subtask2 request = %v", r)
		}
		kids := th.anon().must("getTaskChildren", parent).([]any)
		if len(kids) != 2 || kids[0].(map[string]any)["id"] != kid1 {
			t.Errorf("getTaskChildren = %v", kids)
		}
		hc.must("host.taskSetWait", parent, []any{kid1})
		w := hc.must("host.taskWait", parent).([]any)
		if len(w[0].([]any)) != 0 || len(w[1].([]any)) != 1 {
			t.Errorf("taskWait = %v, want [[], [%d]]", w, kid1)
		}
		// the kid runs on the same host and closes; the parent is alerted
		th.waitState(kid1, db.TaskAssigned)
		hc.must("host.openTask", kid1)
		hc.must("host.closeTask", kid1, responseXML(t, map[string]any{"rpms": []any{}}))
		ht := hc.must("host.getHostTasks").([]any)
		alert := false
		for _, x := range ht {
			m := x.(map[string]any)
			if m["id"] == parent {
				alert = m["alert"] == true && m["waiting"] == true
			}
		}
		if !alert {
			t.Errorf("getHostTasks = %v, want the waiting parent alerted", ht)
		}
		w = hc.must("host.taskWait", parent).([]any)
		if len(w[0].([]any)) != 1 || w[0].([]any)[0] != kid1 {
			t.Errorf("taskWait after close = %v", w)
		}
		res := hc.must("host.taskWaitResults", parent, []any{kid1}).([]any)
		if len(res) != 1 || res[0].([]any)[0] != kid1 {
			t.Errorf("taskWaitResults = %v", res)
		}
		// another host may not act on these tasks
		other, _ := th.readyHost("builder2")
		for _, m := range []struct {
			name string
			args []any
		}{
			{"host.subtask", []any{"x", []any{}, parent}},
			{"host.taskSetWait", []any{parent, nil}},
			{"host.taskWait", []any{parent}},
			{"host.taskWaitResults", []any{parent, nil}},
			{"host.setTaskWeight", []any{parent, 1.0}},
			{"host.closeTask", []any{parent, responseXML(t, nil)}},
			{"host.failTask", []any{parent, responseXML(t, nil)}},
		} {
			other.fault(kojixml.ActionNotAllowed, m.name, m.args...)
		}
		if v := other.must("host.openTask", parent); v != nil {
			t.Errorf("another host opened an OPEN task: %v", v)
		}
		other.must("host.freeTasks", []any{parent, kid2}) // not its tasks: ignored
		th.waitState(parent, db.TaskOpen)
		// alice (the owner) cancels the tree; children follow
		alice := th.login("alice", "pw")
		alice.must("cancelTask", parent)
		th.waitState(parent, db.TaskCanceled)
		th.waitState(kid2, db.TaskCanceled)
		th.waitState(kid1, db.TaskClosed)
		if f := th.anon().fault(kojixml.GenericError, "getTaskResult", kid2); f.String != "Task "+itoa(kid2)+" is canceled" {
			t.Errorf("getTaskResult of canceled = %q", f.String)
		}
		_ = hostID
	})
}

func TestCancelAndAdminMethods(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		hc, hostID := th.readyHost("builder1")
		admin := th.login("kojiadmin", "adminpw")
		th.addUser("alice", "pw")
		alice := th.login("alice", "pw")
		id := admin.must("makeTask", "newRepo", []any{"x"}, kw{"channel": "createrepo"}).(int64)
		// no host in createrepo: it waits with a reason
		th.waitReason(id, "no enabled host in channel createrepo supports noarch")
		free := admin.must("kojigo.listFreeTasks").([]any)
		if len(free) != 1 || free[0].(map[string]any)["channel"] != "createrepo" || free[0].(map[string]any)["reason"] == nil {
			t.Errorf("listFreeTasks = %v", free)
		}
		if f := alice.fault(kojixml.ActionNotAllowed, "cancelTask", id); f.String != "Cannot cancel task, not owner" {
			t.Errorf("cancel by non-owner = %q", f.String)
		}
		th.anon().fault(kojixml.AuthError, "cancelTask", id)
		for _, m := range []struct {
			name string
			args []any
		}{
			{"freeTask", []any{id}}, {"assignTask", []any{id, "builder1"}}, {"setTaskPriority", []any{id, int64(1)}},
			{"makeTask", []any{"newRepo", []any{}}}, {"cancelTaskFull", []any{id}}, {"cancelTaskChildren", []any{id}},
		} {
			if m.name == "cancelTaskChildren" {
				alice.fault(kojixml.ActionNotAllowed, m.name, m.args...)
			} else {
				alice.fault(kojixml.ActionNotAllowed, m.name, m.args...)
			}
			th.anon().fault(kojixml.AuthError, m.name, m.args...)
			hc.fault(kojixml.ActionNotAllowed, m.name, m.args...)
		}
		for _, m := range []string{"host.getTasks", "host.getHostTasks", "host.getLoadData", "host.openTask", "host.refuseTask", "host.freeTasks", "kojigo.waitTasks"} {
			var args []any
			switch m {
			case "host.openTask", "host.refuseTask":
				args = []any{id}
			case "host.freeTasks":
				args = []any{[]any{id}}
			}
			alice.fault(kojixml.AuthError, m, args...)
			th.anon().fault(kojixml.AuthError, m, args...)
		}
		admin.must("setTaskPriority", id, int64(5))
		if ok := admin.must("assignTask", id, "builder1", kw{"override": true}); ok != true {
			t.Fatalf("assignTask = %v", ok)
		}
		if tasks := hc.must("host.getTasks").([]any); len(tasks) != 1 || tasks[0].(map[string]any)["priority"] != int64(5) {
			t.Errorf("host.getTasks after assignTask = %v", tasks)
		}
		if ok := admin.must("assignTask", id, "builder1"); ok != false {
			t.Errorf("assignTask of an ASSIGNED task without force = %v, want false", ok)
		}
		ld := hc.must("host.getLoadData").([]any)
		if hosts := ld[0].([]any); len(hosts) != 1 || hosts[0].(map[string]any)["id"] != hostID || hosts[0].(map[string]any)["channels"] == nil {
			t.Errorf("host.getLoadData = %v", ld)
		}
		admin.must("freeTask", id)
		th.waitState(id, db.TaskFree)
		// the host running a task may cancel it
		admin.must("assignTask", id, hostID, kw{"force": true})
		hc.must("host.openTask", id)
		hc.must("cancelTask", id)
		th.waitState(id, db.TaskCanceled)
		if f := admin.fault(kojixml.GenericError, "freeTask", id); !strings.Contains(f.String, "finished") {
			t.Errorf("freeTask of a canceled task = %q", f.String)
		}
		// cancelTaskFull refuses a subtask when strict
		p := admin.must("makeTask", "build", []any{}, kw{"assign": "builder1"}).(int64)
		hc.must("host.openTask", p)
		k := hc.must("host.subtask", "buildArch", []any{}, p).(int64)
		if f := admin.fault(kojixml.GenericError, "cancelTaskFull", k); !strings.Contains(f.String, "not top-level") {
			t.Errorf("cancelTaskFull(child) = %q", f.String)
		}
		admin.must("cancelTaskFull", k, kw{"strict": false})
		th.waitState(p, db.TaskCanceled)
		th.waitState(k, db.TaskCanceled)
	})
}

func TestTaskBadInput(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		hc, _ := th.readyHost("builder1")
		admin := th.login("kojiadmin", "adminpw")
		anon := th.anon()
		if v := anon.must("getTaskInfo", int64(99999)); v != nil {
			t.Errorf("getTaskInfo(99999) = %v, want nil", v)
		}
		if f := anon.fault(kojixml.GenericError, "getTaskInfo", int64(99999), kw{"strict": true}); f.String != "query returned no rows" {
			t.Errorf("getTaskInfo strict = %q", f.String)
		}
		if v := anon.must("getTaskInfo", []any{int64(-1), int64(99999)}).([]any); len(v) != 2 || v[0] != nil {
			t.Errorf("getTaskInfo([-1, 99999]) = %v", v)
		}
		huge := make([]any, maxIDList+1)
		for i := range huge {
			huge[i] = int64(i)
		}
		for _, c := range []struct {
			method string
			args   []any
		}{
			{"getTaskInfo", []any{"one"}},
			{"getTaskInfo", []any{[]any{"one"}}},
			{"getTaskInfo", huge[:1]},
			{"getTaskInfo", []any{huge}},
			{"getTaskInfo", nil},
			{"getTaskChildren", []any{1.5}},
			{"getTaskResult", []any{map[string]any{}}},
			{"listTasks", []any{map[string]any{"state": "open"}}},
			{"listTasks", []any{map[string]any{"bogus": int64(1)}}},
			{"listTasks", []any{map[string]any{"createdBefore": "yesterday"}}},
			{"listTasks", []any{map[string]any{"owner": []any{"x"}}}},
			{"listTasks", []any{map[string]any{"decode": "yes"}}},
			{"listTasks", []any{map[string]any{"id": huge}}},
			{"listTasks", []any{nil, map[string]any{"order": "id; DROP TABLE tasks"}}},
			{"listTasks", []any{nil, map[string]any{"limit": int64(-1)}}},
			{"listTasks", []any{nil, map[string]any{"limit": "ten"}}},
			{"listTasks", []any{"notastruct"}},
		} {
			args := c.args
			if c.method == "getTaskInfo" && len(args) == 1 && args[0] == int64(0) {
				continue
			}
			anon.fault(kojixml.ParameterError, c.method, args...)
		}
		if v := anon.must("listTasks", map[string]any{"owner": "nobody"}).([]any); len(v) != 0 {
			t.Errorf("listTasks(owner=nobody) = %v", v)
		}
		if v := anon.must("listTasks", nil, map[string]any{"limit": int64(0)}).([]any); len(v) != 0 {
			t.Errorf("listTasks(limit=0) = %v", v)
		}
		if v := anon.must("listTasks", map[string]any{"createdAfter": "2000-01-01 00:00:00", "parent": nil, "host_id": nil}).([]any); len(v) != 0 {
			t.Errorf("listTasks with time and NULL filters = %v", v)
		}
		anon.fault(kojixml.GenericError, "getTaskRequest", int64(-3))
		for _, c := range []struct {
			code   int
			method string
			args   []any
		}{
			{kojixml.ParameterError, "makeTask", []any{"bad method!", []any{}}},
			{kojixml.ParameterError, "makeTask", []any{"newRepo", "notalist"}},
			{kojixml.ParameterError, "makeTask", []any{"newRepo", []any{}, kw{"arch": "x86_64 aarch64"}}},
			{kojixml.ParameterError, "makeTask", []any{"newRepo", []any{}, kw{"bogus": true}}},
			{kojixml.ParameterError, "makeTask", []any{"newRepo", []any{}, kw{"label": "x"}}},
			{kojixml.ParameterError, "makeTask", []any{"newRepo", []any{}, kw{"priority": "high"}}},
			{kojixml.GenericError, "makeTask", []any{"newRepo", []any{}, kw{"channel": "nosuch"}}},
			{kojixml.GenericError, "makeTask", []any{"newRepo", []any{}, kw{"parent": int64(99999)}}},
			{kojixml.GenericError, "makeTask", []any{"newRepo", []any{}, kw{"assign": "nosuchhost"}}},
			{kojixml.GenericError, "makeTask", []any{"newRepo", []any{}, kw{"owner": int64(99999)}}},
			{kojixml.GenericError, "freeTask", []any{int64(-1)}},
			{kojixml.GenericError, "cancelTask", []any{int64(99999)}},
			{kojixml.GenericError, "setTaskPriority", []any{int64(99999), int64(1)}},
			{kojixml.ParameterError, "setTaskPriority", []any{int64(1), int64(1) << 40}},
		} {
			admin.fault(c.code, c.method, c.args...)
		}
		for _, c := range []struct {
			code   int
			method string
			args   []any
		}{
			{kojixml.GenericError, "host.openTask", []any{int64(99999)}},
			{kojixml.GenericError, "host.refuseTask", []any{int64(-1)}},
			{kojixml.ParameterError, "host.openTask", []any{"x"}},
			{kojixml.ParameterError, "host.closeTask", []any{int64(1)}},
			{kojixml.ParameterError, "host.closeTask", []any{int64(1), int64(5)}},
			{kojixml.ParameterError, "host.closeTask", []any{int64(1), "<not xml"}},
			{kojixml.ParameterError, "host.freeTasks", []any{huge}},
			{kojixml.ParameterError, "host.freeTasks", []any{[]any{"x"}}},
			{kojixml.ParameterError, "host.setTaskWeight", []any{int64(1), -1.0}},
			{kojixml.ParameterError, "host.setTaskWeight", []any{int64(1), 1e9}},
			{kojixml.GenericError, "host.taskWait", []any{int64(99999)}},
			{kojixml.ActionNotAllowed, "host.subtask", []any{"x", []any{}, int64(1), kw{"owner": int64(1)}}},
		} {
			hc.fault(c.code, c.method, c.args...)
		}
		// nothing was created by the bad calls
		if n := anon.must("listTasks", nil, map[string]any{"countOnly": true}); n != int64(0) {
			t.Errorf("tasks after bad input = %v, want 0", n)
		}
	})
}

// resubmitTask answers as Koji 1.35's: a new FREE task like a FAILED or
// CANCELED top-level one, for its owner or an admin; GenericError refusals.
func TestResubmitTask(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		hc, _ := th.readyHost("builder1")
		admin := th.login(th.ensureAdmin(), "adminpw")
		aliceID := th.addUser("alice", "pw")
		th.addUser("bob", "pw")
		alice, bob := th.login("alice", "pw"), th.login("bob", "pw")
		run := func(id int64) {
			t.Helper()
			th.waitState(id, db.TaskAssigned)
			hc.must("host.openTask", id)
		}
		refused := func(c *client, code int, id int64, msg string) {
			t.Helper()
			if f := c.fault(code, "resubmitTask", id); f.String != msg {
				t.Errorf("resubmitTask(%d) = fault %q, want %q", id, f.String, msg)
			}
		}

		failed := admin.must("makeTask", "build", []any{"git+https://x/y#z", "f40-candidate"},
			kw{"owner": aliceID, "arch": "x86_64", "priority": int64(15), "channel": "default", "kwargs": map[string]any{"opts": map[string]any{"scratch": true}}}).(int64)
		run(failed)
		hc.must("host.failTask", failed, faultXML(t, 1, "GenericError: simulated failure"))
		admin.must("disableHost", "builder1") // so that the new task stays FREE

		refused(bob, kojixml.GenericError, failed, "only the task owner or an admin may resubmit a task")
		refused(th.anon(), kojixml.ActionNotAllowed, failed, "you must be logged in for this operation")
		refused(alice, kojixml.GenericError, 99999, "No such task: 99999")
		alice.fault(kojixml.ParameterError, "resubmitTask", "x")
		alice.fault(kojixml.ParameterError, "resubmitTask")

		again := alice.must("resubmitTask", failed).(int64)
		old := th.anon().must("getTaskInfo", failed, kw{"request": true}).(map[string]any)
		got := th.anon().must("getTaskInfo", again, kw{"request": true}).(map[string]any)
		if got["state"] != int64(db.TaskFree) || got["parent"] != nil || got["owner"] != aliceID {
			t.Errorf("resubmitted task = %v, want FREE, top-level, owned by alice", got)
		}
		for _, k := range []string{"method", "request", "arch", "priority", "channel_id"} {
			if !reflect.DeepEqual(got[k], old[k]) {
				t.Errorf("resubmitted task's %s = %#v, want the original's %#v", k, got[k], old[k])
			}
		}
		if a, b := th.anon().must("getTaskRequest", again), th.anon().must("getTaskRequest", failed); !reflect.DeepEqual(a, b) {
			t.Errorf("getTaskRequest = %#v, want %#v", a, b)
		}
		// an admin may resubmit anyone's task, and then owns the new one
		byAdmin := admin.must("resubmitTask", failed).(int64)
		if info := th.anon().must("getTaskInfo", byAdmin).(map[string]any); info["owner"] == aliceID {
			t.Errorf("task resubmitted by an admin = %v, want the admin as owner", info)
		}

		// unfinished and CLOSED tasks are refused
		refused(alice, kojixml.GenericError, again, "only canceled or failed tasks may be resubmitted")
		admin.must("enableHost", "builder1")
		admin.must("cancelTask", byAdmin)
		run(again)
		refused(alice, kojixml.GenericError, again, "only canceled or failed tasks may be resubmitted")
		hc.must("host.closeTask", again, responseXML(t, "done"))
		refused(alice, kojixml.GenericError, again, "only canceled or failed tasks may be resubmitted")

		// a child task is refused, its canceled parent is not
		parent := admin.must("makeTask", "build", []any{"git+https://x/y#z", "f40-candidate"}, kw{"owner": aliceID}).(int64)
		run(parent)
		kid := hc.must("host.subtask", "buildArch", []any{"a.src.rpm"}, parent, kw{"label": "x86_64"}).(int64)
		alice.must("cancelTask", parent)
		th.waitState(kid, db.TaskCanceled)
		refused(alice, kojixml.GenericError, kid, "only top-level tasks may be resubmitted")
		refused(admin, kojixml.GenericError, kid, "only top-level tasks may be resubmitted")
		if id := alice.must("resubmitTask", parent).(int64); id <= kid {
			t.Errorf("resubmitTask(canceled parent) = %d", id)
		}
	})
}
