package builderd

import (
	"strings"
	"testing"
	"time"
)

// TestWaitrepoTask: waitrepo answers the repo the hub's request gives, and
// refuses bad arguments with what is wrong.
func TestWaitrepoTask(t *testing.T) {
	tests := []struct {
		name   string
		params []any
		fault  string // "" = success
	}{
		{"ok", []any{int64(10)}, ""},
		{"ok with nvrs and min_event", []any{int64(10), nil, nil, int64(3)}, ""},
		{"nvr not a string", []any{int64(10), nil, []any{int64(3)}}, "nvrs must be strings"},
		{"bad nvr", []any{int64(10), nil, []any{"hello"}}, `"hello": want NAME-VERSION-RELEASE`},
		{"bad min_event", []any{int64(10), nil, nil, "soon"}, "min_event must be an event id"},
		{"both newer_than and min_event", []any{int64(10), "now", nil, int64(3)}, "newer_than and min_event args confict"},
		{"bad newer_than", []any{int64(10), "yesterday"}, "Invalid value for newer_than: yesterday"},
		{"no such tag", []any{int64(99)}, "no tag id"},
		{"too many args", []any{int64(10), nil, nil, nil, "x"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			id := e.hub.addTask("waitrepo", tc.params...)
			e.start(t)
			tk := e.hub.waitState(id, 30*time.Second, stateClosed, stateFailed)
			if tc.name == "too many args" {
				if tk.state != stateFailed {
					t.Fatalf("waitrepo with 5 arguments: %s", stateName(tk.state))
				}
				return
			}
			if tc.fault == "" {
				if tk.state != stateClosed {
					t.Fatalf("waitrepo: %s %v", stateName(tk.state), tk.fault)
				}
				if id, _ := asInt(asMap(tk.result)["id"]); id != fakeRepoID {
					t.Errorf("waitrepo result = %v, want repo 7", tk.result)
				}
				return
			}
			if tk.state != stateFailed || tk.fault == nil || !strings.Contains(tk.fault.String, tc.fault) {
				t.Fatalf("waitrepo %v: %s %v, want a fault with %q", tc.params, stateName(tk.state), tk.fault, tc.fault)
			}
		})
	}
}

// TestBuildWaitBuildsOption: wait_builds must be NVRs.
func TestBuildWaitBuildsOption(t *testing.T) {
	for _, bad := range []any{"hello-1-1", []any{"hello"}, []any{int64(1)}} {
		if _, err := parseBuildOpts(map[string]any{"wait_builds": bad}); err == nil {
			t.Errorf("wait_builds %v: no error", bad)
		}
	}
	o, err := parseBuildOpts(map[string]any{"wait_builds": []any{"hello-1-1"}, "wait_repo": true})
	if err != nil || len(o.waitBuilds) != 1 || o.waitBuilds[0].Name != "hello" || !o.waitRepo {
		t.Errorf("wait_builds [hello-1-1]: %+v, %v", o, err)
	}
}
