package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"kojigo/internal/kojiclient"
)

// TestRestartHostsEndToEnd: a real kojid, started without --force-lock,
// is restarted by the hub's restartHosts: the restartHosts task makes the
// restart and restartVerify subtasks for builder1, kojid finishes them,
// logs out and re-executes itself (same process id, a new session that
// takes the host's lock again without --force-lock), the restarted kojid
// verifies its start time, the tree closes, and builder1 still builds.
func TestRestartHostsEndToEnd(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			bf := newBuildFarm(t, backend)
			ctx := context.Background()
			// kojid as an operator runs it: no --force-lock, which a
			// restart that did not give its session back would need
			bf.kojid.stop(15, 20*time.Second) // SIGTERM: logs out
			bf.kojid = start(t, "kojid", nil, bin(t, "kojid"), "-c", bf.config)
			waitFor(t, 30*time.Second, "builder1 to check in ready", func() bool {
				h, err := bf.admin.Call(ctx, "getHost", "builder1")
				return err == nil && asMap(h)["ready"] == true
			})
			pid := bf.kojid.cmd.Process.Pid

			id, err := bf.admin.Call(ctx, "restartHosts", kojiclient.Kw{"options": map[string]any{"timeout": int64(300)}})
			if err != nil {
				t.Fatal(err)
			}
			parent := asInt(id)
			if info := bf.wait(t, parent, 3*time.Minute); asInt(info["state"]) != 2 {
				res, err := bf.admin.Call(ctx, "getTaskResult", parent)
				t.Fatalf("restartHosts ended in state %v: %v %v", info["state"], res, err)
			}
			kids := bf.children(t, parent)
			var restart, verify map[string]any
			for _, k := range kids {
				switch k["method"] {
				case "restart":
					restart = k
				case "restartVerify":
					verify = k
				}
			}
			if len(kids) != 2 || restart == nil || verify == nil {
				t.Fatalf("restartHosts children = %v, want a restart and a restartVerify", kids)
			}
			for _, k := range kids {
				if asInt(k["state"]) != 2 {
					res, err := bf.admin.Call(ctx, "getTaskResult", k["id"])
					t.Errorf("%s ended in state %v: %v %v", k["method"], k["state"], res, err)
				}
			}
			if res, err := bf.admin.Call(ctx, "getTaskResult", restart["id"]); err != nil || res != "graceful restart initiated" {
				t.Errorf("restart result = %v, %v", res, err)
			}
			// the same process, executed anew: it said so, and started twice
			select {
			case <-bf.kojid.done:
				t.Fatalf("kojid exited: %v\n%s", bf.kojid.err, tail(bf.kojid.out.String(), 3000))
			default:
			}
			if bf.kojid.cmd.Process.Pid != pid {
				t.Errorf("kojid pid %d, want %d (re-executed in place)", bf.kojid.cmd.Process.Pid, pid)
			}
			out := bf.kojid.out.String()
			if n := strings.Count(out, "msg=starting"); n != 2 || !strings.Contains(out, "graceful restart: no task running, restarting") {
				t.Errorf("kojid started %d times, want 2 (before and after the restart):\n%s", n, tail(out, 3000))
			}
			if strings.Contains(out, "another kojid holds this host's session") {
				t.Errorf("the restarted kojid found its own old session holding the lock:\n%s", tail(out, 3000))
			}
			// and it still builds
			waitFor(t, 30*time.Second, "builder1 to be ready again", func() bool {
				h, err := bf.admin.Call(ctx, "getHost", "builder1")
				return err == nil && asMap(h)["ready"] == true
			})
			hello := bf.submit(t, srpm(t, sample("hello")), nil)
			if info := bf.wait(t, hello, 3*time.Minute); asInt(info["state"]) != 2 {
				res, _ := bf.admin.Call(ctx, "getTaskResult", hello)
				t.Fatalf("build after the restart ended in state %v: %v", info["state"], res)
			}
		})
	}
}
