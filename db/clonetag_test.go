package db

import (
	"context"
	"testing"
)

// TestForceTagBuild: a build new to the tag is listed under one new event;
// one already there is re-tagged under one event, its old row revoked by
// the user, so that it becomes the tag's newest.
func TestForceTagBuild(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		uid, err := s.CreateUser(ctx, User{Name: "tagger"})
		if err != nil {
			t.Fatal(err)
		}
		tag, _, err := s.CreateTag(ctx, Tag{Name: "t"})
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, rel := range []string{"1", "2"} {
			id, err := s.CreateBuild(ctx, NewBuild{PackageName: "foo", Version: "1", Release: rel, State: BuildComplete, OwnerID: uid})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		for _, id := range ids {
			if _, retagged, err := s.ForceTagBuild(ctx, tag, id, uid); err != nil || retagged {
				t.Fatalf("ForceTagBuild(new) = %v, %v", retagged, err)
			}
		}
		before, err := s.LastEvent(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ev, retagged, err := s.ForceTagBuild(ctx, tag, ids[0], uid)
		if err != nil || !retagged || ev != before.ID+1 {
			t.Fatalf("ForceTagBuild(again) = %d, %v, %v; want event %d, retagged", ev, retagged, err, before.ID+1)
		}
		l, err := s.ListTagged(ctx, TaggedFilter{TagIDs: []int64{tag}})
		if err != nil {
			t.Fatal(err)
		}
		if len(l) != 2 || l[0].ID != ids[0] || l[0].TagEvent != ev || l[1].ID != ids[1] {
			t.Errorf("ListTagged after a re-tag = %+v, want foo-1-1 newest, at event %d", l, ev)
		}
		rows, err := s.QueryHistory(ctx, "tag_listing", HistoryFilter{Build: &ids[0]})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[0]["revoke_event"] != ev || rows[0]["revoker_id"] != uid || rows[1]["create_event"] != ev || rows[1]["creator_id"] != uid {
			t.Errorf("tag_listing history = %v", rows)
		}
	})
}
