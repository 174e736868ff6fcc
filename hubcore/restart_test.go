package hubcore

import (
	"strings"
	"testing"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// TestRestartHostsTaskTree: restartHosts makes Koji's restartHosts task
// (priority 5 unless given, options its one argument, owned by the
// caller, the host permission); the host that runs it makes, as kojid's
// handler does, a restart and a restartVerify subtask assigned to each
// host, which those hosts (and only they) see in host.getTasks; the
// subtasks are found again by label when the parent runs again; and
// taskFinished tells a finished task.
func TestRestartHostsTaskTree(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		h1, id1 := th.readyHost("builder1")
		h2, id2 := th.readyHost("builder2")
		admin := th.login(th.ensureAdmin(), "adminpw")
		anon := th.anon()
		opts := map[string]any{"channel": "default", "arches": []any{"x86_64"}, "timeout": int64(60)}
		parent := admin.must("restartHosts", kw{"options": opts}).(int64)
		info := anon.must("getTaskInfo", parent, kw{"request": true}).(map[string]any)
		if info["method"] != "restartHosts" || info["priority"] != int64(5) || info["arch"] != "noarch" || info["parent"] != nil {
			t.Errorf("restartHosts task = %v", info)
		}
		if req, ok := info["request"].([]any); !ok || len(req) != 1 || req[0].(map[string]any)["timeout"] != int64(60) {
			t.Errorf("restartHosts request = %v, want [options]", info["request"])
		}
		// the default: no argument, and a priority given by position
		dflt := admin.must("restartHosts", int64(9)).(int64)
		i := anon.must("getTaskInfo", dflt, kw{"request": true}).(map[string]any)
		if r := i["request"].([]any); len(r) != 0 || i["priority"] != int64(9) {
			t.Errorf("restartHosts(9) = %v", i)
		}
		admin.must("cancelTask", dflt)

		// builder1 runs it, as kojid's restartHosts handler
		task := th.waitState(parent, db.TaskAssigned)
		runner := h1
		if *task.HostID == id2 {
			runner = h2
		}
		runner.must("host.openTask", parent)
		hosts := anon.must("listHosts", kw{"enabled": true, "channelID": int64(1), "arches": []any{"x86_64"}}).([]any)
		if len(hosts) != 2 {
			t.Fatalf("listHosts = %v", hosts)
		}
		mk := func() map[int64][2]int64 {
			out := map[int64][2]int64{}
			for _, x := range hosts {
				h := x.(map[string]any)
				id := h["id"].(int64)
				r := runner.must("host.subtask", "restart", []any{h}, parent, kw{"assign": id, "label": "restart " + itoa(id)}).(int64)
				v := runner.must("host.subtask", "restartVerify", []any{r, h}, parent, kw{"assign": id, "label": "sleep " + itoa(id)}).(int64)
				out[id] = [2]int64{r, v}
			}
			return out
		}
		subs := mk()
		if again := mk(); len(again) != 2 || again[id1] != subs[id1] || again[id2] != subs[id2] {
			t.Errorf("subtasks made again = %v, want the same %v", again, subs)
		}
		kids := anon.must("getTaskChildren", parent, kw{"request": true}).([]any)
		if len(kids) != 4 {
			t.Fatalf("getTaskChildren = %d tasks, want 4", len(kids))
		}
		for _, k := range kids {
			m := k.(map[string]any)
			hostID := m["host_id"].(int64)
			pair := subs[hostID]
			want := map[int64]string{pair[0]: "restart", pair[1]: "restartVerify"}[m["id"].(int64)]
			if m["method"] != want || m["state"] != int64(db.TaskAssigned) || m["owner"] != info["owner"] {
				t.Errorf("child %v: want %s assigned to host %d", m, want, hostID)
			}
			req := m["request"].([]any)
			if want == "restartVerify" && req[0] != pair[0] {
				t.Errorf("restartVerify request = %v, want the restart task %d first", req, pair[0])
			}
			if req[len(req)-1].(map[string]any)["id"] != hostID {
				t.Errorf("%s request names host %v, want %d", want, req[len(req)-1], hostID)
			}
		}
		// each host sees its own two, not the other's
		for c, id := range map[*client]int64{h1: id1, h2: id2} {
			var got []int64
			for _, x := range c.must("host.getTasks").([]any) {
				m := x.(map[string]any)
				if m["method"] == "restart" || m["method"] == "restartVerify" {
					got = append(got, m["id"].(int64))
				}
			}
			if len(got) != 2 || got[0] != subs[id][0] || got[1] != subs[id][1] {
				t.Errorf("host %d: host.getTasks restart tasks = %v, want %v", id, got, subs[id])
			}
		}
		// the restart closes; taskFinished tells it from the verify
		h1.must("host.openTask", subs[id1][0])
		h1.must("host.closeTask", subs[id1][0], responseXML(t, "graceful restart initiated"))
		if v := anon.must("taskFinished", subs[id1][0]); v != true {
			t.Errorf("taskFinished(restart) = %v", v)
		}
		if v := anon.must("taskFinished", subs[id1][1]); v != false {
			t.Errorf("taskFinished(restartVerify) = %v", v)
		}
		anon.fault(kojixml.GenericError, "taskFinished", int64(987654))
		anon.fault(kojixml.ParameterError, "taskFinished", "x")
		// the parent hands itself back, as on the host that restarts
		runner.must("host.freeTasks", []any{parent})
		if st := th.waitState(parent, db.TaskAssigned); st.State != db.TaskAssigned && st.State != db.TaskFree {
			t.Errorf("freed parent = %s", db.TaskStateName(st.State))
		}
	})
}

// TestRestartHostsRefusals: anonymous and plain users are refused, options
// that are not a struct are Koji's ParameterError, a bad priority is
// refused, and nothing is created.
func TestRestartHostsRefusals(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		th.addUser("bob", "bobpw")
		th.addUser("hostadmin", "pw", "host")
		admin := th.login(th.ensureAdmin(), "adminpw")
		th.anon().fault(kojixml.AuthError, "restartHosts")
		th.login("bob", "bobpw").fault(kojixml.ActionNotAllowed, "restartHosts")
		for _, bad := range []any{"channel=x", []any{"default"}, int64(3), true} {
			f := admin.fault(kojixml.ParameterError, "restartHosts", int64(5), bad)
			if !strings.HasPrefix(f.String, "Invalid type of options: <class '") {
				t.Errorf("restartHosts(options=%v) = %q", bad, f.String)
			}
		}
		admin.fault(kojixml.ParameterError, "restartHosts", "high")
		admin.fault(kojixml.ParameterError, "restartHosts", int64(5), nil, "extra")
		admin.fault(kojixml.ParameterError, "restartHosts", kw{"priority": int64(1e9)})
		if n, _ := admin.must("listTasks", kw{"opts": map[string]any{"method": "restartHosts"}}).([]any); len(n) != 0 {
			t.Errorf("refused calls made tasks: %v", n)
		}
		// the host permission is enough, as in Koji
		id := th.login("hostadmin", "pw").must("restartHosts", kw{"options": nil}).(int64)
		if l := admin.must("listTasks", kw{"opts": map[string]any{"method": "restartHosts"}}).([]any); len(l) != 1 || l[0].(map[string]any)["id"] != id {
			t.Errorf("listTasks(restartHosts) = %v", l)
		}
	})
}
