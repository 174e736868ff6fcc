package db

import (
	"context"
	"testing"
)

// TestBuildRPMsRev: a build's rpms_rev, read by ListTagged(Brief), changes
// with every change to its RPM rows (added to a tagged build, promoted,
// reset, recycled) and with nothing else, so that the hub's rpmlist cache
// can trust an unchanged one.
func TestBuildRPMsRev(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		uid, err := s.CreateUser(ctx, User{Name: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		tag, _, err := s.CreateTag(ctx, Tag{Name: "dest"})
		if err != nil {
			t.Fatal(err)
		}
		bid, err := s.CreateBuild(ctx, NewBuild{PackageName: "hello", Version: "1.0", Release: "1", OwnerID: uid})
		if err != nil {
			t.Fatal(err)
		}
		rpm := func(arch string) {
			t.Helper()
			if _, err := s.AddRPM(ctx, RPM{BuildID: bid, Name: "hello", Version: "1.0", Release: "1", Arch: arch, Size: 10, PayloadHash: "ab", Checksum: "cd", BuildTime: 1}); err != nil {
				t.Fatal(err)
			}
		}
		rev := func() int64 {
			t.Helper()
			l, err := s.ListTagged(ctx, TaggedFilter{TagIDs: []int64{tag}, Brief: true})
			if err != nil || len(l) != 1 {
				t.Fatalf("ListTagged(Brief) = %+v, %v", l, err)
			}
			return l[0].RPMsRev
		}
		rpm("x86_64")
		if err := s.SetBuildState(ctx, bid, BuildComplete, BuildBuilding); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TagBuild(ctx, tag, bid, &uid); err != nil {
			t.Fatal(err)
		}
		r0 := rev()
		if _, err := s.TagBuild(ctx, tag, bid, &uid); err == nil {
			t.Fatal("tagged twice")
		}
		if r := rev(); r != r0 {
			t.Errorf("rpms_rev moved from %d to %d with no RPM change", r0, r)
		}
		rpm("aarch64") // koji import of another arch into the tagged build
		r1 := rev()
		if r1 == r0 {
			t.Errorf("rpms_rev stayed %d after an RPM was added", r1)
		}

		// reset, then recycled by a new import of the same NVR: the RPM
		// ids may be reused on SQLite, the rev may not.
		if err := s.ResetBuild(ctx, bid); err != nil {
			t.Fatal(err)
		}
		again, err := s.CreateBuild(ctx, NewBuild{PackageName: "hello", Version: "1.0", Release: "1", OwnerID: uid})
		if err != nil || again != bid {
			t.Fatalf("recycle = %d, %v; want %d", again, err, bid)
		}
		rpm("x86_64")
		rpm("aarch64")
		if err := s.SetBuildState(ctx, bid, BuildComplete, BuildBuilding); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TagBuild(ctx, tag, bid, &uid); err != nil {
			t.Fatal(err)
		}
		if r := rev(); r <= r1 {
			t.Errorf("rpms_rev %d after reset and re-import, want more than %d", r, r1)
		}
	})
}
