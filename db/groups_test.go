package db

import (
	"context"
	"errors"
	"testing"
)

func TestGroupsVersioned(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		uid, err := s.CreateUser(ctx, User{Name: "alice", PasswordHash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		tag, _, err := s.CreateTag(ctx, Tag{Name: "f40-build"})
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := s.CreateTag(ctx, Tag{Name: "other"})
		if err != nil {
			t.Fatal(err)
		}
		g, err := s.EnsureGroup(ctx, "build")
		if err != nil {
			t.Fatal(err)
		}
		if again, err := s.EnsureGroup(ctx, "build"); err != nil || again != g {
			t.Fatalf("EnsureGroup again = %+v, %v; want %+v", again, err, g)
		}
		if got, err := s.GetGroupByName(ctx, "build"); err != nil || got != g {
			t.Fatalf("GetGroupByName = %+v, %v", got, err)
		}
		if _, err := s.GetGroup(ctx, g.ID+100); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetGroup(unknown) = %v, want ErrNotFound", err)
		}

		yes, desc := true, "Build"
		ev1, err := s.SetGroupConfig(ctx, GroupConfig{GroupID: g.ID, TagID: tag, DisplayName: "build", Exported: &yes, UserVisible: &yes, Description: &desc}, &uid)
		if err != nil {
			t.Fatal(err)
		}
		ev2, err := s.SetGroupConfig(ctx, GroupConfig{GroupID: g.ID, TagID: tag, DisplayName: "Buildsystem", Exported: &yes}, &uid)
		if err != nil || ev2 <= ev1 {
			t.Fatalf("second SetGroupConfig = %d, %v (first %d)", ev2, err, ev1)
		}
		if _, err := s.SetGroupConfig(ctx, GroupConfig{GroupID: g.ID, TagID: other, DisplayName: "x"}, nil); err != nil {
			t.Fatal(err)
		}
		now, err := s.ListGroupConfigs(ctx, GroupFilter{TagIDs: []int64{tag}})
		if err != nil || len(now) != 1 || now[0].DisplayName != "Buildsystem" || now[0].Name != "build" || now[0].Description != nil || now[0].CreateEvent != ev2 {
			t.Fatalf("active configs = %+v, %v", now, err)
		}
		then, err := s.ListGroupConfigs(ctx, GroupFilter{TagIDs: []int64{tag}, Event: &ev1})
		if err != nil || len(then) != 1 || then[0].DisplayName != "build" || then[0].Description == nil || *then[0].Description != "Build" {
			t.Fatalf("configs at event %d = %+v, %v", ev1, then, err)
		}
		if all, err := s.ListGroupConfigs(ctx, GroupFilter{}); err != nil || len(all) != 2 {
			t.Fatalf("all tags' configs = %+v, %v", all, err)
		}

		typ := "mandatory"
		evp, err := s.SetGroupPackage(ctx, GroupPackage{GroupID: g.ID, TagID: tag, Package: "bash", Type: typ}, &uid)
		if err != nil {
			t.Fatal(err)
		}
		req := "selinux-policy"
		if _, err := s.SetGroupPackage(ctx, GroupPackage{GroupID: g.ID, TagID: tag, Package: "bash", Type: "conditional", Requires: &req, BasearchOnly: &yes}, &uid); err != nil {
			t.Fatal(err)
		}
		pkgs, err := s.ListGroupPackages(ctx, GroupFilter{TagIDs: []int64{tag}, GroupID: &g.ID})
		if err != nil || len(pkgs) != 1 || pkgs[0].Type != "conditional" || *pkgs[0].Requires != req || !*pkgs[0].BasearchOnly {
			t.Fatalf("packages = %+v, %v", pkgs, err)
		}
		if old, _ := s.ListGroupPackages(ctx, GroupFilter{TagIDs: []int64{tag}, Event: &evp}); len(old) != 1 || old[0].Type != "mandatory" || old[0].Requires != nil {
			t.Fatalf("packages at %d = %+v", evp, old)
		}

		srpm, err := s.EnsureGroup(ctx, "srpm-build")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetGroupReq(ctx, GroupReq{GroupID: g.ID, TagID: tag, ReqID: srpm.ID, Type: &typ, IsMetapkg: true}, &uid); err != nil {
			t.Fatal(err)
		}
		reqs, err := s.ListGroupReqs(ctx, GroupFilter{TagIDs: []int64{tag}})
		if err != nil || len(reqs) != 1 || reqs[0].Name != "srpm-build" || !reqs[0].IsMetapkg || *reqs[0].Type != "mandatory" {
			t.Fatalf("reqs = %+v, %v", reqs, err)
		}

		// removal revokes; the history stays
		evr, err := s.RemoveGroupPackage(ctx, tag, g.ID, "bash", &uid)
		if err != nil {
			t.Fatal(err)
		}
		if l, _ := s.ListGroupPackages(ctx, GroupFilter{TagIDs: []int64{tag}}); len(l) != 0 {
			t.Fatalf("packages after remove = %+v", l)
		}
		before := evr - 1
		if l, _ := s.ListGroupPackages(ctx, GroupFilter{TagIDs: []int64{tag}, Event: &before}); len(l) != 1 {
			t.Fatalf("packages before remove = %+v", l)
		}
		last, _ := s.LastEvent(ctx)
		if _, err := s.RemoveGroupPackage(ctx, tag, g.ID, "bash", &uid); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second remove = %v, want ErrNotFound", err)
		}
		if l, _ := s.LastEvent(ctx); l.ID != last.ID {
			t.Fatalf("a remove of nothing made event %d", l.ID)
		}
		if _, err := s.RemoveGroupReq(ctx, tag, g.ID, srpm.ID, &uid); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RemoveGroupConfig(ctx, tag, g.ID, &uid); err != nil {
			t.Fatal(err)
		}
		if l, _ := s.ListGroupConfigs(ctx, GroupFilter{TagIDs: []int64{tag}}); len(l) != 0 {
			t.Fatalf("configs after remove = %+v", l)
		}
		var revoker int64
		if err := s.queryRow(ctx, "SELECT revoker_id FROM group_config WHERE tag_id = ? AND create_event = ?", tag, ev2).Scan(&revoker); err != nil || revoker != uid {
			t.Fatalf("revoker = %d, %v; want %d", revoker, err, uid)
		}
		// at most one active row per key, whatever the caller does
		if _, err := s.exec(ctx, "INSERT INTO group_config (group_id, tag_id, display_name, create_event) VALUES (?, ?, 'a', ?), (?, ?, 'b', ?)",
			g.ID, tag, ev1, g.ID, tag, ev1); !errors.Is(err, ErrConflict) {
			t.Fatalf("two active rows: %v, want ErrConflict", err)
		}
	})
}
