package builderd

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestDependantTask: a dependantTask waits for a task that is not its child
// and only then creates its tasks as subtasks (moveAllBuilds's tagBuild);
// a dependency that failed fails it; a malformed task list is refused.
func TestDependantTask(t *testing.T) {
	e := newEnv(t)
	h := e.hub
	h.mu.Lock()
	dep := h.addTaskLocked(0, "build", nil, "", "noarch")
	h.tasks[dep].state, h.tasks[dep].host = stateOpen, 99 // another host's, still running
	failedDep := h.addTaskLocked(0, "build", nil, "", "noarch")
	h.tasks[failedDep].state, h.tasks[failedDep].host = stateFailed, 99
	h.mu.Unlock()
	sub := []any{[]any{"tagBuild", []any{int64(11), int64(501), false, int64(12)}, map[string]any{"priority": int64(15)}}}
	id := h.addTask("dependantTask", []any{dep, "not-a-task", int64(424242)}, sub)
	failing := h.addTask("dependantTask", []any{failedDep}, sub)
	bad := h.addTask("dependantTask", []any{}, []any{[]any{"tagBuild"}})
	e.start(t)

	if tk := h.waitState(failing, 30*time.Second, stateClosed, stateFailed); tk.state != stateFailed || tk.fault == nil ||
		tk.fault.String != fmt.Sprintf("Dependency %d failed to complete.", failedDep) {
		t.Errorf("dependantTask on a failed task: %s %v", stateName(tk.state), tk.fault)
	}
	if tk := h.waitState(bad, 30*time.Second, stateClosed, stateFailed); tk.state != stateFailed || tk.fault == nil ||
		!strings.Contains(tk.fault.String, "task_list[0] must be [method, arglist, opts]") {
		t.Errorf("dependantTask with a bad task list: %s %v", stateName(tk.state), tk.fault)
	}
	// while dep runs, nothing is created
	h.waitState(id, 30*time.Second, stateOpen)
	time.Sleep(500 * time.Millisecond) // several polls of the dependency
	h.mu.Lock()
	for _, tk := range h.tasks {
		if tk.parent == id {
			t.Errorf("subtask %d (%s) created before the dependency ended", tk.id, tk.method)
		}
	}
	h.tasks[dep].state = stateClosed
	h.mu.Unlock()
	if tk := h.waitState(id, 30*time.Second, stateClosed, stateFailed); tk.state != stateClosed {
		t.Fatalf("dependantTask: %s %v", stateName(tk.state), tk.fault)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.tagged) != 1 || fmt.Sprint(h.tagged[0]) != "[11 501 false 12]" {
		t.Errorf("host.tagBuild calls = %v, want the build moved from tag 12 to 11", h.tagged)
	}
}

// TestChainbuildTask: a chain of NVR levels waits for each level in the
// build tag's repo (waitrepo subtasks, labelled as Koji's), and bad chains
// fail with what is wrong.
func TestChainbuildTask(t *testing.T) {
	e := newEnv(t)
	h := e.hub
	ok := h.addTask("chainbuild", []any{[]any{"hello-1.0-1"}, []any{"greeting-2.0-1"}, []any{}}, "f40-candidate", map[string]any{})
	tests := []struct {
		params []any
		fault  string
	}{
		{[]any{[]any{[]any{"hello-1.0-1"}}, "f40-candidate", map[string]any{"scratch": true}}, "--scratch is not allowed with chain-builds"},
		{[]any{[]any{[]any{"hello-1.0-1"}}, "nosuch", map[string]any{}}, "unknown build target: nosuch"},
		{[]any{[]any{"hello-1.0-1"}, "f40-candidate", map[string]any{}}, "srcs[0] must be a list"},
		{[]any{[]any{[]any{int64(3)}}, "f40-candidate", map[string]any{}}, "srcs[0][0] must be a string"},
		{[]any{"srcs", "f40-candidate"}, "srcs"},
	}
	var bad []int64
	for _, tc := range tests {
		bad = append(bad, h.addTask("chainbuild", tc.params...))
	}
	e.start(t)
	for i, tc := range tests {
		tk := h.waitState(bad[i], 30*time.Second, stateClosed, stateFailed)
		if tk.state != stateFailed || tk.fault == nil || !strings.Contains(tk.fault.String, tc.fault) {
			t.Errorf("chainbuild %v: %s %v, want a fault with %q", tc.params, stateName(tk.state), tk.fault, tc.fault)
		}
	}
	if tk := h.waitState(ok, 60*time.Second, stateClosed, stateFailed); tk.state != stateClosed {
		t.Fatalf("chainbuild of NVRs: %s %v", stateName(tk.state), tk.fault)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var waits []string
	for _, id := range h.sortedIDs() {
		if tk := h.tasks[id]; tk.parent == ok {
			waits = append(waits, fmt.Sprintf("%s/%s %v", tk.method, tk.label, tk.params))
		}
	}
	want := "waitrepo/wait 1 [f40-build <nil> [hello-1.0-1]] | waitrepo/wait 2 [f40-build <nil> [greeting-2.0-1]]"
	if strings.Join(waits, " | ") != want {
		t.Errorf("chainbuild children = %v, want %s", waits, want)
	}
}
