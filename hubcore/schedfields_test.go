package hubcore

import (
	"context"
	"testing"

	"kojigo/internal/kojixml"
)

// The fields koji scheduler-info and scheduler-logs ask for (Koji 1.35's
// TaskRunsQuery and LogMessagesQuery).
func TestSchedulerQueryFields(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		ctx := context.Background()
		admin := th.login(th.ensureAdmin(), "adminpw")
		anon := th.anon()
		_, hostID := th.addHost("fieldhost", "x86_64")
		taskID := admin.must("makeTask", "newRepo", []any{"nosuch-tag"}).(int64)
		if err := th.store.AddTaskRun(ctx, taskID, hostID); err != nil {
			t.Fatal(err)
		}
		if err := th.store.AddLog(ctx, &taskID, &hostID, "field test"); err != nil {
			t.Fatal(err)
		}
		if err := th.store.AddLog(ctx, nil, nil, "no task, no host"); err != nil {
			t.Fatal(err)
		}

		fields := []any{"id", "task_id", "host_name", "state", "create_ts", "start_ts", "completion_ts"}
		runs := anon.must("scheduler.getTaskRuns", kw{"clauses": []any{[]any{"task_id", taskID}, []any{"host_id", hostID}}, "fields": fields,
			"opts": map[string]any{"order": "-id", "limit": int64(5)}}).([]any)
		if len(runs) == 0 {
			t.Fatalf("getTaskRuns = %v", runs)
		}
		r := runs[0].(map[string]any)
		if len(r) != len(fields) || r["host_name"] != "fieldhost" || r["task_id"] != taskID || r["completion_ts"] != nil {
			t.Errorf("getTaskRuns run = %v", r)
		}
		if _, ok := r["state"].(int64); !ok {
			t.Errorf("state = %v", r["state"])
		}
		all := anon.must("scheduler.getTaskRuns", []any{[]any{"task_id", "=", taskID}}, []any{"**"}).([]any)[0].(map[string]any)
		for _, k := range []string{"method", "owner", "arch", "channel_id", "host_ready", "start_ts", "active"} {
			if _, ok := all[k]; !ok {
				t.Errorf("getTaskRuns ** lacks %s: %v", k, all)
			}
		}
		if all["method"] != "newRepo" {
			t.Errorf("method = %v", all["method"])
		}
		def := anon.must("scheduler.getTaskRuns", []any{[]any{"task_id", "=", taskID}}).([]any)[0].(map[string]any)
		if len(def) != 5 || def["host_id"] != hostID {
			t.Errorf("default fields = %v", def)
		}
		st := all["state"].(int64)
		if l := anon.must("scheduler.getTaskRuns", []any{[]any{"task_id", taskID}, []any{"state", st + 100}}).([]any); len(l) != 0 {
			t.Errorf("state filter = %v", l)
		}

		logFields := []any{"id", "task_id", "host_id", "host_name", "msg_ts", "msg"}
		logs := anon.must("scheduler.getLogMessages", kw{"clauses": []any{[]any{"task_id", taskID}}, "fields": logFields,
			"opts": map[string]any{"order": "-id", "limit": int64(100)}}).([]any)
		found := false
		for _, l := range logs {
			m := l.(map[string]any)
			if len(m) != len(logFields) {
				t.Errorf("log line = %v", m)
			}
			if m["msg"] == "field test" && m["host_name"] == "fieldhost" {
				found = true
			}
		}
		if !found {
			t.Errorf("getLogMessages = %v", logs)
		}
		plain := anon.must("scheduler.getLogMessages", nil, []any{"**"}).([]any)
		var bare map[string]any
		for _, l := range plain {
			if m := l.(map[string]any); m["msg"] == "no task, no host" {
				bare = m
			}
		}
		if bare == nil || bare["host_name"] != nil || bare["method"] != nil || bare["state"] != nil || len(bare) != 12 {
			t.Errorf("log line without task or host = %v", bare)
		}
		ts := bare["msg_ts"].(float64)
		if l := anon.must("scheduler.getLogMessages", []any{[]any{"msg_ts", ">=", ts}, []any{"msg_ts", "<", ts + 1}}).([]any); len(l) == 0 {
			t.Errorf("msg_ts range = %v", l)
		}
		if l := anon.must("scheduler.getLogMessages", []any{[]any{"msg_ts", "<", ts - 3600}}).([]any); len(l) != 0 {
			t.Errorf("msg_ts < an hour ago = %v", l)
		}
		if n := anon.must("scheduler.getLogMessages", nil, nil, map[string]any{"countOnly": true}); n.(int64) < 2 {
			t.Errorf("countOnly = %v", n)
		}
		for _, args := range [][]any{
			{nil, []any{"nosuch"}},
			{nil, []any{int64(1)}},
			{nil, int64(1)},
			{nil, nil, map[string]any{"order": "nosuch"}},
			{[]any{[]any{"msg_ts", "!=", 1.0}}},
		} {
			anon.fault(kojixml.ParameterError, "scheduler.getLogMessages", args...)
		}
		for _, args := range [][]any{
			{nil, []any{"nosuch"}},
			{[]any{[]any{"state", "=", "x"}}},
			{[]any{[]any{"state"}}},
		} {
			anon.fault(kojixml.ParameterError, "scheduler.getTaskRuns", args...)
		}
	})
}
