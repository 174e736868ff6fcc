package hubcore

import (
	"strings"
	"testing"
)

// TestBuildConstraintsReachScheduler: a tag that needs 8 GiB of free disk
// keeps its build off a builder that reported 1 GiB, says so in the task's
// waiting reason, and goes to a builder that has the space.
func TestBuildConstraintsReachScheduler(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		admin.must("createTag", "dest")
		admin.must("createTag", "bld", kw{"arches": "x86_64", "extra": map[string]any{"kojigo.min_disk_mb": int64(8192)}})
		admin.must("createBuildTarget", "tgt", "bld", "dest")
		small, _ := th.addHost("small")
		disk := func(gib int64) map[string]any {
			return map[string]any{"disk": []any{map[string]any{"path": "/var/lib/mock", "role": "mockdir", "free": gib << 30, "total": int64(100) << 30}},
				"mem_available": int64(16) << 30}
		}
		small.must("host.updateHost", 0.0, true, kw{"data": disk(1)})
		id := admin.must("build", "cli-build/1.abc/hello-1.0-1.src.rpm", "tgt", map[string]any{"scratch": true}).(int64)
		admin.must("scheduler.doRun", kw{"force": true})
		reason, _ := admin.must("kojigo.getTaskWaitReason", id).(string)
		if !strings.Contains(reason, "needs 8 GiB free disk") {
			t.Fatalf("waiting reason = %q, want it to say the task needs 8 GiB free disk", reason)
		}
		big, bigID := th.addHost("big")
		big.must("host.updateHost", 0.0, true, kw{"data": disk(200)})
		admin.must("scheduler.doRun", kw{"force": true})
		info := admin.must("getTaskInfo", id).(map[string]any)
		if info["host_id"] != bigID {
			t.Fatalf("task went to host %v, want big (%d); state %v", info["host_id"], bigID, info["state"])
		}
	})
}
