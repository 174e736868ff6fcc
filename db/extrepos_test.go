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
