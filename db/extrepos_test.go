package db

import (
	"context"
	"errors"
	"testing"
)

func TestExternalRepos(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		uid, err := s.CreateUser(ctx, User{Name: "admin"})
		if err != nil {
			t.Fatal(err)
		}
		id, ev1, err := s.CreateExternalRepo(ctx, "fedora", "https://example.org/f40/$arch/", uid)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CreateExternalRepo(ctx, "fedora", "https://other/", uid); !errors.Is(err, ErrConflict) {
			t.Fatalf("second CreateExternalRepo(fedora) = %v, want ErrConflict", err)
		}
		r, err := s.GetExternalRepoByName(ctx, "fedora", nil)
		if err != nil || r.ID != id || r.URL != "https://example.org/f40/$arch/" || r.CreateEvent != ev1 {
			t.Fatalf("GetExternalRepoByName = %+v, %v", r, err)
		}
		ev2, err := s.EditExternalRepo(ctx, id, ExternalRepoEdit{URL: ptrTo("https://example.org/f41/")}, uid)
		if err != nil || ev2 <= ev1 {
			t.Fatalf("EditExternalRepo = %d, %v", ev2, err)
		}
		for _, c := range []struct {
			ev   *int64
			want string
		}{{nil, "https://example.org/f41/"}, {&ev1, "https://example.org/f40/$arch/"}, {&ev2, "https://example.org/f41/"}} {
			r, err := s.GetExternalRepo(ctx, id, c.ev)
			if err != nil || r.URL != c.want {
				t.Errorf("GetExternalRepo(%d, %v) = %q, %v, want %q", id, c.ev, r.URL, err, c.want)
			}
		}
		before := ev1 - 1
		if _, err := s.GetExternalRepo(ctx, id, &before); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetExternalRepo before its creation = %v, want ErrNotFound", err)
		}
		other, _, err := s.CreateExternalRepo(ctx, "updates", "file:///srv/updates/", uid)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.EditExternalRepo(ctx, other, ExternalRepoEdit{Name: ptrTo("fedora")}, uid); !errors.Is(err, ErrConflict) {
			t.Errorf("rename onto a taken name = %v, want ErrConflict", err)
		}
		if l, err := s.ListExternalRepos(ctx, ExternalRepoFilter{URL: ptrTo("file:///srv/updates/")}); err != nil || len(l) != 1 || l[0].ID != other {
			t.Errorf("ListExternalRepos by url = %+v, %v", l, err)
		}

		tag, _, err := s.CreateTag(ctx, Tag{Name: "f40"})
		if err != nil {
			t.Fatal(err)
		}
		tag2, _, err := s.CreateTag(ctx, Tag{Name: "f40-build"})
		if err != nil {
			t.Fatal(err)
		}
		x86 := "x86_64"
		addEv, err := s.AddTagExternalRepo(ctx, TagExternalRepo{TagID: tag, RepoID: id, Priority: 10, MergeMode: "koji", Arches: &x86}, uid)
		if err != nil {
			t.Fatal(err)
		}
		for _, dup := range []TagExternalRepo{
			{TagID: tag, RepoID: id, Priority: 20, MergeMode: "koji"},    // same repo
			{TagID: tag, RepoID: other, Priority: 10, MergeMode: "koji"}, // same priority
		} {
			if _, err := s.AddTagExternalRepo(ctx, dup, uid); !errors.Is(err, ErrConflict) {
				t.Errorf("AddTagExternalRepo(%+v) = %v, want ErrConflict", dup, err)
			}
		}
		if _, err := s.AddTagExternalRepo(ctx, TagExternalRepo{TagID: tag, RepoID: other, Priority: 5, MergeMode: "nope"}, uid); err == nil {
			t.Errorf("AddTagExternalRepo with merge mode nope succeeded")
		}
		if _, err := s.AddTagExternalRepo(ctx, TagExternalRepo{TagID: tag, RepoID: other, Priority: 5, MergeMode: "bare"}, uid); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddTagExternalRepo(ctx, TagExternalRepo{TagID: tag2, RepoID: id, Priority: 10, MergeMode: "simple"}, uid); err != nil {
			t.Fatal(err)
		}
		l, err := s.ListTagExternalRepos(ctx, TagExternalRepoFilter{TagIDs: []int64{tag}})
		if err != nil || len(l) != 2 || l[0].RepoID != other || l[1].RepoID != id || l[1].URL != "https://example.org/f41/" ||
			l[1].Arches == nil || *l[1].Arches != "x86_64" || l[0].Arches != nil || l[0].TagName != "f40" || l[1].RepoName != "fedora" {
			t.Fatalf("ListTagExternalRepos(f40) = %+v, %v", l, err)
		}
		setEv, err := s.SetTagExternalRepo(ctx, TagExternalRepo{TagID: tag, RepoID: id, Priority: 1, MergeMode: "simple"}, uid)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetTagExternalRepo(ctx, TagExternalRepo{TagID: tag, RepoID: id, Priority: 5, MergeMode: "koji"}, uid); !errors.Is(err, ErrConflict) {
			t.Errorf("SetTagExternalRepo onto a taken priority = %v, want ErrConflict", err)
		}
		if l, _ := s.ListTagExternalRepos(ctx, TagExternalRepoFilter{TagIDs: []int64{tag}}); len(l) != 2 || l[0].RepoID != id || l[0].MergeMode != "simple" || l[0].CreateEvent != setEv {
			t.Errorf("after SetTagExternalRepo: %+v", l)
		}
		if l, _ := s.ListTagExternalRepos(ctx, TagExternalRepoFilter{TagIDs: []int64{tag}, Event: &addEv}); len(l) != 1 || l[0].Priority != 10 || l[0].URL != "https://example.org/f41/" {
			t.Errorf("as of event %d: %+v", addEv, l)
		}
		if _, err := s.DeleteExternalRepo(ctx, id, false, uid); !errors.Is(err, ErrInUse) {
			t.Errorf("DeleteExternalRepo in use without clean = %v, want ErrInUse", err)
		}
		delEv, err := s.DeleteExternalRepo(ctx, id, true, uid)
		if err != nil {
			t.Fatal(err)
		}
		if l, _ := s.ListTagExternalRepos(ctx, TagExternalRepoFilter{RepoID: &id}); len(l) != 0 {
			t.Errorf("uses of a deleted repo: %+v", l)
		}
		if _, err := s.GetExternalRepo(ctx, id, nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetExternalRepo of a deleted repo = %v", err)
		}
		past := delEv - 1
		if l, _ := s.ListTagExternalRepos(ctx, TagExternalRepoFilter{RepoID: &id, Event: &past}); len(l) != 2 {
			t.Errorf("uses just before the deletion: %+v", l)
		}
		if _, err := s.DeleteExternalRepo(ctx, id, true, uid); !errors.Is(err, ErrNotFound) {
			t.Errorf("second DeleteExternalRepo = %v, want ErrNotFound", err)
		}
		if _, err := s.EditExternalRepo(ctx, id, ExternalRepoEdit{URL: ptrTo("http://x/")}, uid); !errors.Is(err, ErrNotFound) {
			t.Errorf("EditExternalRepo of a deleted repo = %v, want ErrNotFound", err)
		}
		again, _, err := s.CreateExternalRepo(ctx, "fedora", "http://mirror/", 0)
		if err != nil || again != id {
			t.Errorf("re-created fedora = %d, %v; want the old id %d", again, err, id)
		}
		if _, err := s.RemoveTagExternalRepo(ctx, tag, other, uid); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RemoveTagExternalRepo(ctx, tag, other, uid); !errors.Is(err, ErrNotFound) {
			t.Errorf("second RemoveTagExternalRepo = %v, want ErrNotFound", err)
		}
		// a deleted tag's uses are not current
		if _, err := s.AddTagExternalRepo(ctx, TagExternalRepo{TagID: tag2, RepoID: other, Priority: 3, MergeMode: "koji"}, uid); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteTag(ctx, tag2); err != nil {
			t.Fatal(err)
		}
		if l, _ := s.ListTagExternalRepos(ctx, TagExternalRepoFilter{RepoID: &other}); len(l) != 0 {
			t.Errorf("uses by a deleted tag: %+v", l)
		}
	})
}

func ptrTo[T any](v T) *T { return &v }

// TestExternalRepoData: Koji's external_repo_data, versioned, and its
// changes counted as changes of the tags using the repo (with inheritance:
// the caller passes a tag and its ancestors), not of other tags.
func TestExternalRepoData(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		uid, err := s.CreateUser(ctx, User{Name: "kojira"})
		if err != nil {
			t.Fatal(err)
		}
		repo, _, err := s.CreateExternalRepo(ctx, "fedora", "https://example.org/f40/$arch/", uid)
		if err != nil {
			t.Fatal(err)
		}
		unused, _, err := s.CreateExternalRepo(ctx, "unused", "https://example.org/unused/", uid)
		if err != nil {
			t.Fatal(err)
		}
		if d, ok, err := s.GetExternalRepoData(ctx, repo, nil); err != nil || ok || d != "" {
			t.Fatalf("data before any = %q, %v, %v", d, ok, err)
		}
		if _, err := s.SetExternalRepoData(ctx, 9999, `{}`, uid); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetExternalRepoData(unknown) = %v, want ErrNotFound", err)
		}
		parent, _, err := s.CreateTag(ctx, Tag{Name: "f40"})
		if err != nil {
			t.Fatal(err)
		}
		child, _, err := s.CreateTag(ctx, Tag{Name: "f40-build"})
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := s.CreateTag(ctx, Tag{Name: "el9"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetInheritance(ctx, child, []InheritanceLink{{ParentID: parent}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddTagExternalRepo(ctx, TagExternalRepo{TagID: parent, RepoID: repo, Priority: 10, MergeMode: "koji"}, uid); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddTagExternalRepo(ctx, TagExternalRepo{TagID: other, RepoID: unused, Priority: 10, MergeMode: "koji"}, uid); err != nil {
			t.Fatal(err)
		}
		last := func(ids ...int64) int64 {
			t.Helper()
			ev, err := s.TagLastChangeEvent(ctx, ids, nil)
			if err != nil || ev == nil {
				t.Fatalf("TagLastChangeEvent(%v) = %v, %v", ids, ev, err)
			}
			return *ev
		}
		before := map[string]int64{"parent": last(parent), "child": last(child, parent), "other": last(other)}

		ev1, err := s.SetExternalRepoData(ctx, repo, `{"max_ts": 1700000000}`, uid)
		if err != nil {
			t.Fatal(err)
		}
		if d, ok, err := s.GetExternalRepoData(ctx, repo, nil); err != nil || !ok || d != `{"max_ts": 1700000000}` {
			t.Errorf("data = %q, %v, %v", d, ok, err)
		}
		ev2, err := s.SetExternalRepoData(ctx, repo, `{"max_ts": 1700000100}`, uid)
		if err != nil || ev2 <= ev1 {
			t.Fatalf("second SetExternalRepoData = %d, %v", ev2, err)
		}
		if d, _, _ := s.GetExternalRepoData(ctx, repo, &ev1); d != `{"max_ts": 1700000000}` {
			t.Errorf("data as of %d = %q, want the first", ev1, d)
		}
		if d, _, _ := s.GetExternalRepoData(ctx, repo, nil); d != `{"max_ts": 1700000100}` {
			t.Errorf("data now = %q, want the second", d)
		}
		var active int
		if err := s.queryRowW(ctx, "SELECT COUNT(*) FROM external_repo_data WHERE external_repo_id = ? AND revoke_event IS NULL", repo).Scan(&active); err != nil || active != 1 {
			t.Errorf("rows in effect = %d, %v; want 1", active, err)
		}

		if got := last(parent); got != ev2 {
			t.Errorf("parent's last change = %d, want the data change %d (was %d)", got, ev2, before["parent"])
		}
		if got := last(child, parent); got != ev2 {
			t.Errorf("child's (with inheritance) last change = %d, want %d", got, ev2)
		}
		if got := last(other); got != before["other"] {
			t.Errorf("unrelated tag's last change = %d, want unchanged %d", got, before["other"])
		}
		if got, err := s.TagLastChangeEvent(ctx, []int64{child, parent}, &ev2); err != nil || got == nil || *got != ev1 {
			t.Errorf("last change before %d = %v, %v; want %d", ev2, got, err, ev1)
		}
		if first, err := s.TagFirstChangeEvent(ctx, []int64{child, parent}, before["child"]); err != nil || first == nil || *first != ev1 {
			t.Errorf("first change after %d = %v, %v; want %d", before["child"], first, err, ev1)
		}
		if ch, err := s.TagChangedSinceEvent(ctx, before["other"], []int64{other}); err != nil || ch {
			t.Errorf("unrelated tag changed = %v, %v", ch, err)
		}
		if ch, err := s.TagChangedSinceEvent(ctx, ev1, []int64{child, parent}); err != nil || !ch {
			t.Errorf("child changed since %d = %v, %v", ev1, ch, err)
		}
		// a deleted repo's data can still be set (Koji looks the id up in
		// external_repo); it is no tag's change any more
		if _, err := s.DeleteExternalRepo(ctx, unused, true, uid); err != nil {
			t.Fatal(err)
		}
		otherLast := last(other)
		if _, err := s.SetExternalRepoData(ctx, unused, `{"max_ts": 1}`, uid); err != nil {
			t.Errorf("SetExternalRepoData(deleted repo) = %v", err)
		}
		if got := last(other); got != otherLast {
			t.Errorf("tag that stopped using the repo: last change %d, want %d", got, otherLast)
		}
	})
}
