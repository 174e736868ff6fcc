package db

import (
	"context"
	"errors"
	"testing"
)

func TestRPMSigs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		owner, err := s.CreateUser(ctx, User{Name: "alice", PasswordHash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		bid, err := s.ImportBuild(ctx, NewBuild{PackageName: "foo", Version: "1", Release: "1", State: BuildComplete, OwnerID: owner})
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, arch := range []string{"x86_64", "src"} {
			id, err := s.AddRPM(ctx, RPM{BuildID: bid, Name: "foo", Version: "1", Release: "1", Arch: arch, PayloadHash: "x", Checksum: "y"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		for _, sg := range []RPMSig{{ids[0], "deadbeef", "h1"}, {ids[0], "", "h2"}, {ids[1], "deadbeef", "h3"}} {
			if err := s.AddRPMSig(ctx, sg); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddRPMSig(ctx, RPMSig{ids[0], "deadbeef", "other"}); !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate AddRPMSig = %v, want ErrConflict", err)
		}
		key := "deadbeef"
		for _, tc := range []struct {
			f    SigFilter
			want int
		}{
			{SigFilter{}, 3},
			{SigFilter{RPMID: &ids[0]}, 2},
			{SigFilter{SigKey: &key}, 2},
			{SigFilter{RPMID: &ids[1], SigKey: &key}, 1},
			{SigFilter{RPMIDs: []int64{ids[1]}}, 1},
			{SigFilter{RPMIDs: []int64{}}, 0},
		} {
			got, err := s.ListRPMSigs(ctx, tc.f)
			if err != nil || len(got) != tc.want {
				t.Errorf("ListRPMSigs(%+v) = %v, %v; want %d rows", tc.f, got, err, tc.want)
			}
		}
		if err := s.SetRPMChecksum(ctx, ids[0], key, 2, "aaa"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetRPMChecksum(ctx, ids[0], key, 2, "bbb"); err != nil {
			t.Fatal(err)
		}
		if sums, err := s.RPMChecksums(ctx, ids[0]); err != nil || sums[key][2] != "bbb" {
			t.Errorf("RPMChecksums = %v, %v", sums, err)
		}
		if n, err := s.DeleteRPMSigs(ctx, ids[0], []string{key, "nosuch"}); err != nil || n != 1 {
			t.Errorf("DeleteRPMSigs = %d, %v; want 1", n, err)
		}
		if sums, err := s.RPMChecksums(ctx, ids[0]); err != nil || len(sums) != 0 {
			t.Errorf("checksums after delete = %v, %v", sums, err)
		}
		if got, _ := s.ListRPMSigs(ctx, SigFilter{}); len(got) != 2 {
			t.Errorf("after delete: %v", got)
		}
	})
}
