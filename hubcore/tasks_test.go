package hubcore

import (
	"bytes"
	"context"
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
