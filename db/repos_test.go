package db

import (
	"context"
	"errors"
	"testing"
)

func TestRepoTransitionTable(t *testing.T) {
	type tr struct{ from, to int }
	allowed := map[tr]bool{
		{RepoInit, RepoReady}: true, {RepoInit, RepoExpired}: true, {RepoInit, RepoProblem}: true, {RepoInit, RepoDeleted}: true,
		{RepoReady, RepoExpired}: true, {RepoReady, RepoProblem}: true, {RepoReady, RepoDeleted}: true,
		{RepoExpired, RepoProblem}: true, {RepoExpired, RepoDeleted}: true,
		{RepoProblem, RepoDeleted}: true,
	}
	for from := RepoInit; from <= RepoProblem; from++ {
		for to := RepoInit; to <= RepoProblem; to++ {
			noop, err := RepoTransition(7, from, to)
			switch {
			case from == to:
				if !noop || err != nil {
					t.Errorf("RepoTransition(%s, %s) = %v, %v; want a no-op", RepoStateName(from), RepoStateName(to), noop, err)
				}
			case allowed[tr{from, to}]:
				if noop || err != nil {
					t.Errorf("RepoTransition(%s, %s) = %v, %v; want allowed", RepoStateName(from), RepoStateName(to), noop, err)
				}
			default:
				var se *RepoStateError
				if !errors.As(err, &se) {
					t.Errorf("RepoTransition(%s, %s) = %v, %v; want refused", RepoStateName(from), RepoStateName(to), noop, err)
				}
			}
		}
	}
	if _, err := RepoTransition(7, RepoReady, RepoInit); err == nil || err.Error() != "Invalid repo state transition for repo 7: READY -> INIT" {
		t.Errorf("READY -> INIT = %v", err)
	}
	if _, err := RepoTransition(7, RepoDeleted, RepoProblem); err == nil || err.Error() != "Repo 7 is deleted" {
		t.Errorf("DELETED -> PROBLEM = %v", err)
	}
}

// repoFixture is a user, a tag and an event for repo tests.
func repoFixture(t *testing.T, s *Store) (user, tag, ev int64) {
	t.Helper()
	ctx := context.Background()
	user, err := s.CreateUser(ctx, User{Name: "kojira"})
	if err != nil {
		t.Fatal(err)
	}
	tag, ev, err = s.CreateTag(ctx, Tag{Name: "f40-build"})
	if err != nil {
		t.Fatal(err)
	}
	return user, tag, ev
}

func TestRepoStatesAndRequests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		user, tag, ev := repoFixture(t, s)
		id, err := s.CreateRepo(ctx, NewRepo{TagID: tag, CreateEvent: ev, BeginEvent: &ev, State: RepoInit,
			Opts: `{"debuginfo":false,"maven":false,"separate_src":false,"src":false}`, CustomOpts: "{}"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.GetRepo(ctx, id)
		if err != nil || r.TagName != "f40-build" || r.State != RepoInit || r.CreateEvent != ev || r.BeginEvent == nil || *r.BeginEvent != ev ||
			r.EndEvent != nil || r.Dist || r.TaskID != nil || r.CreateTS <= 0 {
			t.Fatalf("GetRepo = %+v, %v", r, err)
		}
		if _, err := s.GetRepo(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetRepo(999) = %v", err)
		}

		// requests: one that the repo fulfils, one for later, one with other opts
		minEv := ev
		want, err := s.CreateRepoRequest(ctx, NewRepoRequest{OwnerID: user, Priority: 20, TagID: tag, MinEvent: &minEv, Opts: "{}"})
		if err != nil {
			t.Fatal(err)
		}
		// min_event must name an event: take a real later one
		later, _ := s.NewEvent(ctx)
		notYet, err := s.CreateRepoRequest(ctx, NewRepoRequest{OwnerID: user, Priority: 20, TagID: tag, MinEvent: &later, Opts: "{}"})
		if err != nil {
			t.Fatal(err)
		}
		otherOpts, err := s.CreateRepoRequest(ctx, NewRepoRequest{OwnerID: user, Priority: 10, TagID: tag, MinEvent: &minEv, Opts: `{"src":true}`})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateRepoRequest(ctx, NewRepoRequest{OwnerID: user, Priority: 10, TagID: tag, MinEvent: &minEv, AtEvent: &minEv, Opts: "{}"}); err == nil {
			t.Error("request with both at_event and min_event was stored")
		}
		q, err := s.QueryRepoRequests(ctx, []Clause{{"active", "IS", true}})
		if err != nil || len(q) != 3 || q[0].ID != otherOpts || q[0].OwnerName != "kojira" || q[0].TagName != "f40-build" {
			t.Fatalf("QueryRepoRequests = %+v, %v; want 3 in priority order", q, err)
		}
		if q, _ := s.QueryRepoRequests(ctx, []Clause{{"opts", "=", map[string]any{}}}); len(q) != 2 {
			t.Errorf("opts = {}: %d requests, want 2", len(q))
		}
		if q, _ := s.QueryRepoRequests(ctx, []Clause{{"opts", "=", `{"src": true}`}}); len(q) != 1 || q[0].ID != otherOpts {
			t.Errorf("opts = '{\"src\": true}': %+v", q)
		}

		// INIT -> READY fulfils the matching request only
		if err := s.SetRepoState(ctx, id, RepoReady); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			id     int64
			active bool
			repo   bool
		}{{want, false, true}, {notYet, true, false}, {otherOpts, true, false}} {
			r, err := s.GetRepoRequest(ctx, c.id)
			if err != nil || r.Active != c.active || (r.RepoID != nil) != c.repo || (c.repo && *r.RepoID != id) {
				t.Errorf("request %d after READY = %+v, %v; want active %v, repo %v", c.id, r, err, c.active, c.repo)
			}
		}
		// refused and no-op moves
		var se *RepoStateError
		if err := s.SetRepoState(ctx, id, RepoInit); !errors.As(err, &se) {
			t.Errorf("READY -> INIT = %v", err)
		}
		if err := s.SetRepoState(ctx, id, RepoReady); err != nil {
			t.Errorf("READY -> READY = %v, want a no-op", err)
		}
		if err := s.SetRepoState(ctx, 999, RepoReady); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetRepoState(999) = %v", err)
		}
		for _, st := range []int{RepoExpired, RepoProblem, RepoDeleted} {
			if err := s.SetRepoState(ctx, id, st); err != nil {
				t.Fatalf("-> %s: %v", RepoStateName(st), err)
			}
		}
		if err := s.SetRepoState(ctx, id, RepoProblem); !errors.As(err, &se) || se.Error() != "Repo "+itoa(id)+" is deleted" {
			t.Errorf("DELETED -> PROBLEM = %v", err)
		}

		// updates and cleaning
		tries, prio := 2, 5
		if err := s.UpdateRepoRequest(ctx, notYet, RepoRequestUpdate{Tries: &tries, Priority: &prio}); err != nil {
			t.Fatal(err)
		}
		if r, _ := s.GetRepoRequest(ctx, notYet); r.Tries != 2 || r.Priority != 5 {
			t.Errorf("after update: %+v", r)
		}
		if err := s.UpdateRepoRequest(ctx, 999, RepoRequestUpdate{Tries: &tries}); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateRepoRequest(999) = %v", err)
		}
		if n, err := s.CleanRepoQueue(ctx, s.Now()+1); err != nil || n != 1 {
			t.Errorf("CleanRepoQueue = %d, %v; want the one inactive request", n, err)
		}
	})
}

func itoa(n int64) string {
	b := []byte{}
	if n == 0 {
		return "0"
	}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func TestRepoClauses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, tag, ev := repoFixture(t, s)
		var ids []int64
		for i := 0; i < 3; i++ {
			id, err := s.CreateRepo(ctx, NewRepo{TagID: tag, CreateEvent: ev, State: RepoInit, Opts: `{"src":false}`, CustomOpts: "{}"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if err := s.SetRepoState(ctx, ids[1], RepoDeleted); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			clauses []Clause
			want    int
		}{
			{nil, 3},
			{[]Clause{{"state", "!=", int64(RepoDeleted)}}, 2},
			{[]Clause{{"id", "IN", []any{ids[0], ids[2]}}}, 2},
			{[]Clause{{"id", "IN", []any{}}}, 0},
			{[]Clause{{"end_event", "IS", nil}, {"dist", "IS", false}}, 3},
			{[]Clause{{"tag_name", "=", "f40-build"}, {"id", ">", ids[0]}}, 2},
			{[]Clause{{"opts", "@>", map[string]any{"src": false}}}, 3},
			{[]Clause{{"opts", "@>", map[string]any{"src": true}}}, 0},
			{[]Clause{{"custom_opts", "<@", map[string]any{"src": true}}}, 3},
			{[]Clause{{"task_id", "=", nil}}, 0},
		} {
			got, err := s.QueryRepos(ctx, c.clauses)
			if err != nil || len(got) != c.want {
				t.Errorf("QueryRepos(%v) = %d repos, %v; want %d", c.clauses, len(got), err, c.want)
			}
		}
		for _, bad := range [][]Clause{
			{{"nosuch", "=", int64(1)}},
			{{"id", "LIKE", "x"}},
			{{"id", "IN", int64(1)}},
			{{"id", "=", []any{int64(1)}}},
			{{"state", "IS", int64(1)}},
			{{"id", "@>", map[string]any{}}},
			{{"opts", "@>", "not json"}},
			{{"opts", ">", map[string]any{}}},
			{{"id); DROP TABLE repos; --", "=", int64(1)}},
		} {
			if _, err := s.QueryRepos(ctx, bad); !errors.Is(err, ErrBadClause) {
				t.Errorf("QueryRepos(%v) = %v, want ErrBadClause", bad, err)
			}
		}
	})
}

func TestTagChangeEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		parent, evP, err := s.CreateTag(ctx, Tag{Name: "f40"})
		if err != nil {
			t.Fatal(err)
		}
		child, evC, err := s.CreateTag(ctx, Tag{Name: "f40-build"})
		if err != nil {
			t.Fatal(err)
		}
		both := []int64{child, parent}
		last := func(ids []int64, before *int64) int64 {
			t.Helper()
			ev, err := s.TagLastChangeEvent(ctx, ids, before)
			if err != nil || ev == nil {
				t.Fatalf("TagLastChangeEvent(%v, %v) = %v, %v", ids, before, ev, err)
			}
			return *ev
		}
		if got := last(both, nil); got != evC {
			t.Errorf("last change = %d, want the creation %d", got, evC)
		}
		if ev, err := s.TagLastChangeEvent(ctx, both, &evP); err != nil || ev != nil {
			t.Errorf("last change before the first creation = %v, %v; want none", ev, err)
		}
		evI, err := s.SetInheritance(ctx, child, []InheritanceLink{{ParentID: parent}})
		if err != nil {
			t.Fatal(err)
		}
		pkg, _ := s.EnsurePackage(ctx, "bash")
		user, _ := s.CreateUser(ctx, User{Name: "u"})
		evPkg, err := s.SetTagPackage(ctx, TagPackage{TagID: parent, PackageID: pkg, OwnerID: user})
		if err != nil {
			t.Fatal(err)
		}
		if got := last(both, nil); got != evPkg {
			t.Errorf("last change = %d, want the parent's package list %d", got, evPkg)
		}
		if got := last([]int64{child}, nil); got != evI {
			t.Errorf("child alone: %d, want the inheritance %d", got, evI)
		}
		if got := last(both, &evPkg); got != evI {
			t.Errorf("before %d: %d, want %d", evPkg, got, evI)
		}
		arches := "x86_64"
		evEdit, err := s.EditTag(ctx, child, TagEdit{Arches: &arches})
		if err != nil {
			t.Fatal(err)
		}
		if got := last(both, nil); got != evEdit {
			t.Errorf("after editTag: %d, want %d (tag_updates)", got, evEdit)
		}
		first, err := s.TagFirstChangeEvent(ctx, both, evI)
		if err != nil || first == nil || *first != evPkg {
			t.Errorf("first change after %d = %v, %v; want %d", evI, first, err, evPkg)
		}
		if first, err := s.TagFirstChangeEvent(ctx, both, evEdit); err != nil || first != nil {
			t.Errorf("first change after the last = %v, %v; want none", first, err)
		}
		if ch, err := s.TagChangedSinceEvent(ctx, evI, []int64{parent}); err != nil || !ch {
			t.Errorf("parent changed since %d = %v, %v", evI, ch, err)
		}
		if ch, err := s.TagChangedSinceEvent(ctx, evEdit, both); err != nil || ch {
			t.Errorf("changed since the last event = %v, %v", ch, err)
		}
		e, err := s.LastEventBefore(ctx, s.Now()+10)
		if err != nil || e.ID < evEdit {
			t.Errorf("LastEventBefore(now) = %+v, %v", e, err)
		}
		if _, err := s.LastEventBefore(ctx, 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("LastEventBefore(0) = %v", err)
		}
	})
}
