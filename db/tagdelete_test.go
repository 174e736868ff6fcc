package db

import (
	"context"
	"testing"
)

// TestDeleteTagEndsGroupsAndExternalRepos: as Koji's delete_tag, deleting a
// tag ends its groups, group packages and requirements, and its uses of
// external repos, while reads as of an earlier event still see them.
func TestDeleteTagEndsGroupsAndExternalRepos(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		uid, err := s.CreateUser(ctx, User{Name: "admin"})
		if err != nil {
			t.Fatal(err)
		}
		tag, _, err := s.CreateTag(ctx, Tag{Name: "doomed"})
		if err != nil {
			t.Fatal(err)
		}
		build, err := s.EnsureGroup(ctx, "build")
		if err != nil {
			t.Fatal(err)
		}
		base, err := s.EnsureGroup(ctx, "base")
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range []Group{build, base} {
			if _, err := s.SetGroupConfig(ctx, GroupConfig{GroupID: g.ID, TagID: tag, DisplayName: g.Name}, &uid); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.SetGroupPackage(ctx, GroupPackage{GroupID: build.ID, TagID: tag, Package: "gcc", Type: "mandatory"}, &uid); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetGroupReq(ctx, GroupReq{GroupID: build.ID, TagID: tag, ReqID: base.ID}, &uid); err != nil {
			t.Fatal(err)
		}
		repo, _, err := s.CreateExternalRepo(ctx, "upstream", "file:///srv/upstream/$arch/", uid)
		if err != nil {
			t.Fatal(err)
		}
		before, err := s.AddTagExternalRepo(ctx, TagExternalRepo{TagID: tag, RepoID: repo, Priority: 5, MergeMode: "koji"}, uid)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteTag(ctx, tag); err != nil {
			t.Fatal(err)
		}
		f := GroupFilter{TagIDs: []int64{tag}}
		count := func(f GroupFilter) (int, int, int, int) {
			t.Helper()
			c, err1 := s.ListGroupConfigs(ctx, f)
			p, err2 := s.ListGroupPackages(ctx, f)
			r, err3 := s.ListGroupReqs(ctx, f)
			e, err4 := s.ListTagExternalRepos(ctx, TagExternalRepoFilter{TagIDs: []int64{tag}, Event: f.Event})
			for _, err := range []error{err1, err2, err3, err4} {
				if err != nil {
					t.Fatal(err)
				}
			}
			return len(c), len(p), len(r), len(e)
		}
		if c, p, r, e := count(f); c+p+r+e != 0 {
			t.Errorf("after DeleteTag: %d groups, %d packages, %d reqs, %d external repos still active", c, p, r, e)
		}
		f.Event = &before
		if c, p, r, e := count(f); c != 2 || p != 1 || r != 1 || e != 1 {
			t.Errorf("as of event %d: %d groups, %d packages, %d reqs, %d external repos; want 2, 1, 1, 1", before, c, p, r, e)
		}
	})
}
