package db

import (
	"context"
	"errors"
	"testing"
)

func TestImportBuildRecycling(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		owner, err := s.CreateUser(ctx, User{Name: "importer"})
		if err != nil {
			t.Fatal(err)
		}
		epoch := int64(2)
		nb := func(name, rel string) NewBuild {
			return NewBuild{PackageName: name, Version: "1.0", Release: rel, Epoch: &epoch, State: BuildComplete, OwnerID: owner}
		}
		id, err := s.ImportBuild(ctx, nb("foo", "1"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.GetBuild(ctx, id)
		if err != nil || b.State != BuildComplete || b.CompletionTime == nil || b.StartTime == nil || b.OwnerID != owner || b.Epoch == nil || *b.Epoch != 2 {
			t.Fatalf("imported build = %+v, %v", b, err)
		}

		// a COMPLETE build stands
		var be *BuildExistsError
		if _, err := s.ImportBuild(ctx, nb("foo", "1")); !errors.As(err, &be) || be.Reason != "" || be.Build.ID != id || !errors.Is(err, ErrConflict) {
			t.Errorf("ImportBuild of an existing NVR = %v, want BuildExistsError", err)
		}

		// a BUILDING one is in progress
		bid, err := s.CreateBuild(ctx, NewBuild{PackageName: "bar", Version: "1", Release: "1", State: BuildBuilding, OwnerID: owner})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ImportBuild(ctx, NewBuild{PackageName: "bar", Version: "1", Release: "1", State: BuildComplete, OwnerID: owner}); !errors.As(err, &be) || be.Reason != "in progress" {
			t.Errorf("ImportBuild over BUILDING = %v", err)
		}

		// FAILED with nothing referring to it is recycled: same id, new state
		if err := s.SetBuildState(ctx, bid, BuildFailed); err != nil {
			t.Fatal(err)
		}
		rid, err := s.ImportBuild(ctx, NewBuild{PackageName: "bar", Version: "1", Release: "1", State: BuildComplete, OwnerID: owner})
		if err != nil || rid != bid {
			t.Fatalf("recycle = %d, %v; want %d", rid, err, bid)
		}
		if b, _ := s.GetBuild(ctx, bid); b.State != BuildComplete || b.TaskID != nil {
			t.Errorf("recycled build = %+v", b)
		}

		// FAILED with RPMs, or with tag history, is not
		cases := []struct {
			name, reason string
			refer        func(id int64) error
		}{
			{"withrpm", "has rpm data", func(id int64) error {
				_, err := s.AddRPM(ctx, RPM{BuildID: id, Name: "withrpm", Version: "1.0", Release: "1", Arch: "noarch", PayloadHash: "x", Checksum: "y"})
				return err
			}},
			{"tagged", "has tag history", func(id int64) error {
				tag, _, err := s.CreateTag(ctx, Tag{Name: "t-" + "tagged"})
				if err != nil {
					return err
				}
				if _, err := s.TagBuild(ctx, tag, id, nil); err != nil {
					return err
				}
				_, err = s.UntagBuild(ctx, tag, id)
				return err
			}},
		}
		for _, c := range cases {
			id, err := s.ImportBuild(ctx, nb(c.name, "1"))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.refer(id); err != nil {
				t.Fatal(err)
			}
			if err := s.SetBuildState(ctx, id, BuildCanceled); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ImportBuild(ctx, nb(c.name, "1")); !errors.As(err, &be) || be.Reason != c.reason {
				t.Errorf("ImportBuild over CANCELED %s = %v, want %q", c.name, err, c.reason)
			}
		}
	})
}

func TestBuildTagIDs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		owner, _ := s.CreateUser(ctx, User{Name: "importer"})
		id, err := s.ImportBuild(ctx, NewBuild{PackageName: "foo", Version: "1", Release: "1", State: BuildComplete, OwnerID: owner})
		if err != nil {
			t.Fatal(err)
		}
		if ids, err := s.BuildTagIDs(ctx, id); err != nil || len(ids) != 0 {
			t.Errorf("untagged BuildTagIDs = %v, %v", ids, err)
		}
		a, _, _ := s.CreateTag(ctx, Tag{Name: "a"})
		b, _, _ := s.CreateTag(ctx, Tag{Name: "b"})
		for _, tag := range []int64{a, b} {
			if _, err := s.TagBuild(ctx, tag, id, nil); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.UntagBuild(ctx, a, id); err != nil {
			t.Fatal(err)
		}
		if ids, err := s.BuildTagIDs(ctx, id); err != nil || len(ids) != 1 || ids[0] != b {
			t.Errorf("BuildTagIDs = %v, %v; want [%d]", ids, err, b)
		}
	})
}
