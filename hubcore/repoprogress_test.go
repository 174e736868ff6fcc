package hubcore

import (
	"context"
	"strings"
	"testing"
	"time"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// openRepoTask creates a task with the request method(params...) under
// parent (0: none) and opens it on hostID.
func (th *testHub) openRepoTask(hostID, parent int64, method string, params ...any) int64 {
	th.t.Helper()
	ctx := context.Background()
	var b strings.Builder
	if err := kojixml.EncodeCall(&b, method, params); err != nil {
		th.t.Fatal(err)
	}
	n := db.NewTask{Method: method, Request: b.String(), Arch: "noarch", ChannelID: 1, Owner: 1, Priority: 15}
	if parent != 0 {
		n.Parent = &parent
	}
	id, _, err := th.store.CreateTask(ctx, n)
	if err != nil {
		th.t.Fatal(err)
	}
	if _, ok, err := th.store.OpenTask(ctx, id, hostID); err != nil || !ok {
		th.t.Fatalf("open task %d: %v %v", id, ok, err)
	}
	return id
}

func TestRepoProgress(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		hc, hostID := th.addHost("builder1")
		other, otherID := th.addHost("builder2")
		th.addUser("alice", "pw")
		alice := th.login("alice", "pw")
		anon := th.anon()

		parent := th.openRepoTask(hostID, 0, "newRepo", "f40-build")
		x86 := th.openRepoTask(hostID, parent, "createrepo", int64(5), "x86_64", nil)
		arm := th.openRepoTask(otherID, parent, "createrepo", int64(5), "aarch64", map[string]any{"id": int64(4)})
		elsewhere := th.openRepoTask(otherID, 0, "createrepo", int64(6), "x86_64", nil)

		if v := anon.must("kojigo.getRepoProgress", int64(5)); v != nil {
			t.Errorf("getRepoProgress before any report = %v, want None", v)
		}
		hc.must("kojigo.setRepoProgress", x86, int64(3), int64(10))
		other.must("kojigo.setRepoProgress", arm, int64(0), int64(4))
		other.must("kojigo.setRepoProgress", elsewhere, int64(1), int64(1))
		hc.must("kojigo.setRepoProgress", x86, int64(7), int64(10)) // replaces the first

		check := func(what string, v any, done, total int64, arches ...string) {
			t.Helper()
			m, _ := v.(map[string]any)
			if m == nil {
				t.Fatalf("%s = %v, want a struct", what, v)
			}
			if m["done"] != done || m["total"] != total {
				t.Errorf("%s = %d of %d, want %d of %d", what, m["done"], m["total"], done, total)
			}
			tasks, _ := m["tasks"].([]any)
			var got []string
			for _, e := range tasks {
				em := e.(map[string]any)
				got = append(got, em["arch"].(string))
				for _, k := range []string{"task_id", "parent", "repo_id", "done", "total", "update_ts"} {
					if _, ok := em[k]; !ok {
						t.Errorf("%s: task entry %v has no %s", what, em, k)
					}
				}
			}
			if strings.Join(got, " ") != strings.Join(arches, " ") {
				t.Errorf("%s arches = %v, want %v", what, got, arches)
			}
		}
		check("by repo 5", anon.must("kojigo.getRepoProgress", int64(5)), 7, 14, "aarch64", "x86_64")
		check("by repo_id keyword", alice.must("kojigo.getRepoProgress", kw{"repo_id": int64(5)}), 7, 14, "aarch64", "x86_64")
		check("by newRepo task", anon.must("kojigo.getRepoProgress", kw{"task_id": parent}), 7, 14, "aarch64", "x86_64")
		check("by createrepo task", anon.must("kojigo.getRepoProgress", nil, x86), 7, 10, "x86_64")
		check("repo 6", anon.must("kojigo.getRepoProgress", int64(6)), 1, 1, "x86_64")
		if m := anon.must("kojigo.getRepoProgress", int64(5)).(map[string]any); m["repo_id"] != int64(5) {
			t.Errorf("repo_id = %v, want 5", m["repo_id"])
		}
		if v := anon.must("kojigo.getRepoProgress", kw{"task_id": int64(999999)}); v != nil {
			t.Errorf("getRepoProgress of an unknown task = %v, want None", v)
		}

		// only the host holding the task reports, only for createrepo, sanely
		other.fault(kojixml.ActionNotAllowed, "kojigo.setRepoProgress", x86, int64(1), int64(10))
		alice.fault(kojixml.AuthError, "kojigo.setRepoProgress", x86, int64(1), int64(10))
		anon.fault(kojixml.AuthError, "kojigo.setRepoProgress", x86, int64(1), int64(10))
		hc.fault(kojixml.ParameterError, "kojigo.setRepoProgress", parent, int64(1), int64(10))
		hc.fault(kojixml.ParameterError, "kojigo.setRepoProgress", x86, int64(11), int64(10))
		hc.fault(kojixml.ParameterError, "kojigo.setRepoProgress", x86, int64(-1), int64(10))
		hc.fault(kojixml.ParameterError, "kojigo.setRepoProgress", x86, "lots", int64(10))
		hc.fault(kojixml.GenericError, "kojigo.setRepoProgress", int64(999999), int64(1), int64(10))
		anon.fault(kojixml.ParameterError, "kojigo.getRepoProgress")
		anon.fault(kojixml.ParameterError, "kojigo.getRepoProgress", int64(5), x86)
		anon.fault(kojixml.ParameterError, "kojigo.getRepoProgress", "five")
		check("after refused reports", anon.must("kojigo.getRepoProgress", nil, x86), 7, 10, "x86_64")
	})
}

func TestRepoProgressIsBounded(t *testing.T) {
	now := time.Unix(1700000000, 0)
	p := &repoProgressTable{max: 3, byTask: map[int64]*repoProgressEntry{}, now: func() time.Time { return now }}
	for id := int64(1); id <= 5; id++ {
		now = now.Add(time.Second)
		p.put(&repoProgressEntry{taskID: id, repoID: 1, done: id, total: 10, updated: now})
		if id == 3 {
			// task 1 reports again: task 2 is now the least recently updated
			now = now.Add(time.Second)
			p.put(&repoProgressEntry{taskID: 1, repoID: 1, done: 9, total: 10, updated: now})
		}
	}
	var ids []int64
	for id := range p.byTask {
		ids = append(ids, id)
	}
	if len(p.byTask) != 3 || p.byTask[1] == nil || p.byTask[4] == nil || p.byTask[5] == nil {
		t.Errorf("kept tasks %v, want 1, 4 and 5 (the 3 most recently updated)", ids)
	}
}
