package builderd

import (
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"testing"
	"time"
)

// TestBuildTakenByAnotherHostIsNotFailed: when the hub frees a build and
// its buildArch from this host (its host timeout passed while a network cut
// kept it silent) and another host runs them, the old runs stop without
// failing the build, whose record now belongs to the new run. kojid used to
// call host.failBuild on it once it learned the task was gone; only the
// hub's ownership check kept the new run's build alive.
func TestBuildTakenByAnotherHostIsNotFailed(t *testing.T) {
	e := newEnv(t)
	var logs syncBuffer
	e.opts.Logger = slog.New(slog.NewTextHandler(io.MultiWriter(testWriter{t}, &logs), &slog.HandlerOptions{Level: slog.LevelDebug}))
	srpm := e.srpm(t, slowSpec(t))
	id := e.hub.addTask("build", srpm, "f40-candidate", map[string]any{})
	e.start(t)

	var child int64
	deadline := time.Now().Add(60 * time.Second)
	for child == 0 {
		e.hub.mu.Lock()
		for _, c := range e.hub.tasks {
			if c.parent == id && c.method == "buildArch" && c.state == stateOpen {
				child = c.id
			}
		}
		e.hub.mu.Unlock()
		if child == 0 && time.Now().After(deadline) {
			t.Fatal("no buildArch subtask running within 60s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pgid := runningPGID(t, e, child)

	// The hub freed both from this host and gave them to another one.
	other := e.hub.hostID + 1
	e.hub.mu.Lock()
	e.hub.tasks[id].host = other
	e.hub.tasks[child].host = other
	e.hub.mu.Unlock()

	waitGroupGone(t, pgid, 10*time.Second)
	// The old run ends either way: cancelled, or failed by the hub's
	// refusal of host.taskWait for a task that is no longer its own.
	ended := regexp.MustCompile(fmt.Sprintf(`msg="task (stopped|failed|closed)" .*task_id=%d `, id))
	deadline = time.Now().Add(20 * time.Second)
	for !ended.MatchString(logs.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("the old run of build %d did not stop within 20s", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.hub.mu.Lock()
	defer e.hub.mu.Unlock()
	if len(e.hub.failedBuild) != 0 {
		t.Errorf("host.failBuild called for builds %v that another host now builds", e.hub.failedBuild)
	}
	for _, tid := range []int64{id, child} {
		if tk := e.hub.tasks[tid]; tk.state != stateOpen || tk.host != other {
			t.Errorf("task %d is %s on host %d, want it left OPEN on host %d", tid, stateName(tk.state), tk.host, other)
		}
	}
}
