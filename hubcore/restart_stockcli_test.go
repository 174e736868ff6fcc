package hubcore

import (
	"strings"
	"testing"
	"time"

	"kojigo/db"
)

// TestStockCLIRestartHosts runs Koji 1.35's `koji restart-hosts` against
// the hub on both backends: --nowait creates the restartHosts task with no
// options and returns; a second one is refused while the first is pending
// (the CLI's listTasks check) unless --force; --channel, --arch and
// --timeout become the task's options; and --wait watches the task until a
// host (here played by the test, as kojid's handlers would) has run the
// restart tree, then reports it completed.
func TestStockCLIRestartHosts(t *testing.T) {
	cli := needStockCLI(t)
	forBackends(t, func(t *testing.T, th *testHub) {
		hc, hostID := th.readyHost("builder1")
		admin := th.ensureAdmin()
		ad := th.login(admin, "adminpw")
		run, _ := cli.client(t, th.url, []string{"poll_interval = 1"}, "TZ=UTC")
		koji := func(args ...string) (string, error) { return run(admin, "adminpw", args...) }
		restartTasks := func() []map[string]any {
			var out []map[string]any
			for _, x := range ad.must("listTasks", kw{"opts": map[string]any{"method": "restartHosts", "state": []any{int64(0), int64(1), int64(4)}}}).([]any) {
				out = append(out, x.(map[string]any))
			}
			return out
		}
		request := func(id int64) []any {
			return th.anon().must("getTaskInfo", id, kw{"request": true}).(map[string]any)["request"].([]any)
		}

		if out, err := koji("restart-hosts", "--nowait"); err != nil {
			t.Fatalf("restart-hosts --nowait: %v\n%s", err, out)
		}
		l := restartTasks()
		if len(l) != 1 || len(request(l[0]["id"].(int64))) != 0 || l[0]["priority"] != int64(5) {
			t.Fatalf("after restart-hosts --nowait: %v", l)
		}
		first := l[0]["id"].(int64)
		out, err := koji("restart-hosts", "--nowait")
		if err == nil || !strings.Contains(out, "Found other restartHosts tasks running.") || !strings.Contains(out, "Use --force to run anyway") {
			t.Errorf("second restart-hosts: %v\n%s", err, out)
		}
		if out, err := koji("restart-hosts", "--nowait", "--force", "--channel", "default", "--arch", "x86_64", "-a", "aarch64", "--timeout", "30"); err != nil {
			t.Fatalf("restart-hosts --force: %v\n%s", err, out)
		}
		l = restartTasks()
		if len(l) != 2 {
			t.Fatalf("after restart-hosts --force: %v", l)
		}
		second := l[1]["id"].(int64)
		if r := request(second); len(r) != 1 || r[0].(map[string]any)["channel"] != "default" || r[0].(map[string]any)["timeout"] != int64(30) ||
			len(r[0].(map[string]any)["arches"].([]any)) != 2 {
			t.Errorf("restart-hosts --channel --arch --timeout request = %v", r)
		}
		ad.must("cancelTask", first)
		ad.must("cancelTask", second)

		// --wait: the CLI watches until the tree has run
		type result struct {
			out string
			err error
		}
		done := make(chan result, 1)
		go func() {
			out, err := koji("restart-hosts", "--wait")
			done <- result{out, err}
		}()
		var parent int64
		for deadline := time.Now().Add(60 * time.Second); parent == 0; {
			for _, x := range restartTasks() {
				if x["state"] == int64(db.TaskAssigned) && x["host_id"] == hostID {
					parent = x["id"].(int64)
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("no restartHosts task assigned to the host within 60s")
			}
			time.Sleep(50 * time.Millisecond)
		}
		hc.must("host.openTask", parent)
		host := th.anon().must("getHost", hostID).(map[string]any)
		restart := hc.must("host.subtask", "restart", []any{host}, parent, kw{"assign": hostID, "label": "restart " + itoa(hostID)}).(int64)
		verify := hc.must("host.subtask", "restartVerify", []any{restart, host}, parent, kw{"assign": hostID, "label": "sleep " + itoa(hostID)}).(int64)
		hc.must("host.taskSetWait", parent, []any{restart, verify})
		hc.must("host.openTask", restart)
		hc.must("host.closeTask", restart, responseXML(t, "graceful restart initiated"))
		hc.must("host.openTask", verify)
		hc.must("host.closeTask", verify, responseXML(t, nil))
		hc.must("host.closeTask", parent, responseXML(t, nil))
		select {
		case r := <-done:
			if r.err != nil {
				t.Fatalf("restart-hosts --wait: %v\n%s", r.err, r.out)
			}
			for _, w := range []string{"Watching tasks", itoa(parent) + " restartHosts (noarch) completed successfully"} {
				if !strings.Contains(r.out, w) {
					t.Errorf("restart-hosts --wait output lacks %q:\n%s", w, r.out)
				}
			}
		case <-time.After(90 * time.Second):
			t.Fatal("restart-hosts --wait did not return within 90s of the task closing")
		}
		// a plain user may not
		th.addUser("bob", "bobpw")
		if out, err := run("bob", "bobpw", "restart-hosts", "--nowait", "--force"); err == nil || !strings.Contains(out, "host permission required") {
			t.Errorf("restart-hosts as bob: %v\n%s", err, out)
		}
	})
}
