package db

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestTagsEventsAndInheritance(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		arches := "x86_64"
		base, ev1, err := s.CreateTag(ctx, Tag{Name: "f40", Arches: &arches})
		if err != nil {
			t.Fatal(err)
		}
		build, ev2, err := s.CreateTag(ctx, Tag{Name: "f40-build"})
		if err != nil {
			t.Fatal(err)
		}
		if ev2 <= ev1 {
			t.Errorf("events %d then %d, want increasing", ev1, ev2)
		}
		if _, _, err := s.CreateTag(ctx, Tag{Name: "f40"}); !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate CreateTag = %v, want ErrConflict", err)
		}
		tg, err := s.GetTagByName(ctx, "f40")
		if err != nil || tg.ID != base || tg.Arches == nil || *tg.Arches != "x86_64" || tg.Extra != "{}" || tg.CreateEvent != ev1 {
			t.Fatalf("GetTagByName = %+v, %v", tg, err)
		}
		ev3, err := s.SetInheritance(ctx, build, []InheritanceLink{{ParentID: base, Priority: 0}})
		if err != nil || ev3 <= ev2 {
			t.Fatalf("SetInheritance = %d, %v", ev3, err)
		}
		// the same set again changes nothing and records no event
		if ev, err := s.SetInheritance(ctx, build, []InheritanceLink{{ParentID: base, Priority: 0}}); err != nil || ev != 0 {
			t.Errorf("unchanged SetInheritance = %d, %v; want 0, nil", ev, err)
		}
		links, err := s.GetInheritance(ctx, build, nil)
		if err != nil || len(links) != 1 || links[0].ParentName != "f40" || links[0].ChildName != "f40-build" {
			t.Fatalf("GetInheritance = %+v, %v", links, err)
		}
		ev4, err := s.SetInheritance(ctx, build, nil)
		if err != nil || ev4 <= ev3 {
			t.Fatalf("clear SetInheritance = %d, %v", ev4, err)
		}
		if l, _ := s.GetInheritance(ctx, build, nil); len(l) != 0 {
			t.Errorf("after clear: %+v", l)
		}
		if l, _ := s.GetInheritance(ctx, build, &ev3); len(l) != 1 {
			t.Errorf("as of event %d: %+v, want the link", ev3, l)
		}
		if l, _ := s.GetInheritanceChildren(ctx, base, &ev3); len(l) != 1 || l[0].TagID != build {
			t.Errorf("children as of %d: %+v", ev3, l)
		}
		name := "f41"
		if _, err := s.EditTag(ctx, base, TagEdit{Name: &name, ClearArches: true}); err != nil {
			t.Fatal(err)
		}
		tg, _ = s.GetTag(ctx, base)
		if tg.Name != "f41" || tg.Arches != nil {
			t.Errorf("after EditTag: %+v", tg)
		}
		if _, err := s.EditTag(ctx, 9999, TagEdit{Name: &name}); !errors.Is(err, ErrNotFound) {
			t.Errorf("EditTag(9999) = %v, want ErrNotFound", err)
		}
		if _, err := s.DeleteTag(ctx, base); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetTag(ctx, base); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetTag after delete = %v", err)
		}
		if _, _, err := s.CreateTag(ctx, Tag{Name: "f41"}); err != nil {
			t.Errorf("name not freed by DeleteTag: %v", err)
		}
		if _, err := s.DeleteTag(ctx, base); !errors.Is(err, ErrNotFound) {
			t.Errorf("second DeleteTag = %v", err)
		}
	})
}

func TestPackagesTargetsBuilds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		uid, err := s.CreateUser(ctx, User{Name: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		dest, _, _ := s.CreateTag(ctx, Tag{Name: "dest"})
		bt, _, _ := s.CreateTag(ctx, Tag{Name: "dest-build"})
		pkg, err := s.EnsurePackage(ctx, "hello")
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := s.EnsurePackage(ctx, "hello"); again != pkg {
			t.Errorf("EnsurePackage twice = %d, %d", pkg, again)
		}
		disk := int64(2048)
		ev, err := s.SetTagPackage(ctx, TagPackage{TagID: dest, PackageID: pkg, OwnerID: uid, MinDiskMB: &disk})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetTagPackage(ctx, TagPackage{TagID: dest, PackageID: pkg, OwnerID: uid, Blocked: true}); err != nil {
			t.Fatal(err)
		}
		tp, err := s.GetTagPackage(ctx, dest, pkg)
		if err != nil || !tp.Blocked || tp.MinDiskMB != nil || tp.OwnerName != "alice" {
			t.Fatalf("GetTagPackage = %+v, %v", tp, err)
		}
		old, err := s.ListTagPackages(ctx, TagPackageFilter{TagIDs: []int64{dest}, Event: &ev})
		if err != nil || len(old) != 1 || old[0].Blocked || old[0].MinDiskMB == nil || *old[0].MinDiskMB != 2048 {
			t.Fatalf("package list as of %d = %+v, %v", ev, old, err)
		}
		if l, _ := s.ListTagPackages(ctx, TagPackageFilter{Prefix: "h%"}); len(l) != 0 {
			t.Errorf("prefix with a wildcard matched: %+v", l)
		}
		if _, err := s.RemoveTagPackage(ctx, bt, pkg); !errors.Is(err, ErrNotFound) {
			t.Errorf("RemoveTagPackage of unlisted = %v", err)
		}

		tid, err := s.CreateTarget(ctx, "dest-candidate", bt, dest)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateTarget(ctx, "dest-candidate", bt, dest); !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate CreateTarget = %v", err)
		}
		tg, err := s.GetTargetByName(ctx, "dest-candidate")
		if err != nil || tg.ID != tid || tg.BuildTagName != "dest-build" || tg.DestTagName != "dest" {
			t.Fatalf("GetTargetByName = %+v, %v", tg, err)
		}
		if err := s.EditTarget(ctx, tid, "renamed", dest, bt); err != nil {
			t.Fatal(err)
		}
		if l, _ := s.ListTargets(ctx, TargetFilter{DestTagID: &bt}); len(l) != 1 || l[0].Name != "renamed" {
			t.Errorf("ListTargets(dest=bt) = %+v", l)
		}
		if err := s.DeleteTarget(ctx, tid); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteTarget(ctx, tid); !errors.Is(err, ErrNotFound) {
			t.Errorf("second DeleteTarget = %v", err)
		}

		bid, err := s.CreateBuild(ctx, NewBuild{PackageName: "hello", Version: "1.0", Release: "1", OwnerID: uid})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateBuild(ctx, NewBuild{PackageName: "hello", Version: "1.0", Release: "1", OwnerID: uid}); !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate building NVR = %v, want ErrConflict", err)
		}
		b, err := s.GetBuildByNVR(ctx, "hello", "1.0", "1")
		if err != nil || b.ID != bid || b.State != BuildBuilding || b.NVR() != "hello-1.0-1" {
			t.Fatalf("GetBuildByNVR = %+v, %v", b, err)
		}
		if _, err := s.AddRPM(ctx, RPM{BuildID: bid, Name: "hello", Version: "1.0", Release: "1", Arch: "x86_64", Size: 10, PayloadHash: "ab", Checksum: "cd", BuildTime: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddRPM(ctx, RPM{BuildID: bid, Name: "hello", Version: "1.0", Release: "1", Arch: "x86_64"}); !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate rpm = %v", err)
		}
		if err := s.SetBuildState(ctx, bid, BuildFailed, BuildBuilding); err != nil {
			t.Fatal(err)
		}
		if err := s.SetBuildState(ctx, bid, BuildComplete, BuildBuilding); !errors.Is(err, ErrBuildState) {
			t.Errorf("complete a failed build = %v, want ErrBuildState", err)
		}
		// a failed NVR is recycled: same id, rpms dropped
		again, err := s.CreateBuild(ctx, NewBuild{PackageName: "hello", Version: "1.0", Release: "1", OwnerID: uid})
		if err != nil || again != bid {
			t.Fatalf("recycle = %d, %v; want %d", again, err, bid)
		}
		if r, _ := s.ListRPMs(ctx, RPMFilter{BuildIDs: []int64{bid}}); len(r) != 0 {
			t.Errorf("recycled build kept rpms: %+v", r)
		}
		if err := s.SetBuildState(ctx, bid, BuildComplete, BuildBuilding); err != nil {
			t.Fatal(err)
		}
		tev, err := s.TagBuild(ctx, dest, bid, &uid)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.TagBuild(ctx, dest, bid, &uid); !errors.Is(err, ErrConflict) {
			t.Errorf("tag twice = %v", err)
		}
		tagged, err := s.ListTagged(ctx, TaggedFilter{TagIDs: []int64{dest}})
		if err != nil || len(tagged) != 1 || tagged[0].TagEvent != tev || tagged[0].NVR() != "hello-1.0-1" || tagged[0].TagName != "dest" {
			t.Fatalf("ListTagged = %+v, %v", tagged, err)
		}
		// Brief reads the fields a repo needs, the same as a whole read.
		brief, err := s.ListTagged(ctx, TaggedFilter{TagIDs: []int64{dest}, Brief: true})
		if err != nil || len(brief) != 1 {
			t.Fatalf("ListTagged(Brief) = %+v, %v", brief, err)
		}
		br, w := brief[0], tagged[0]
		if br.ID != w.ID || br.PackageID != w.PackageID || br.NVR() != w.NVR() || br.State != w.State || br.Draft != w.Draft ||
			br.TagID != w.TagID || br.TagEvent != w.TagEvent || (br.Epoch == nil) != (w.Epoch == nil) {
			t.Errorf("ListTagged(Brief) = %+v, whole read %+v", br, w)
		}
		if _, err := s.UntagBuild(ctx, dest, bid); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UntagBuild(ctx, dest, bid); !errors.Is(err, ErrNotFound) {
			t.Errorf("untag twice = %v", err)
		}
		if l, _ := s.ListTagged(ctx, TaggedFilter{TagIDs: []int64{dest}}); len(l) != 0 {
			t.Errorf("after untag: %+v", l)
		}
		if l, _ := s.ListTagged(ctx, TaggedFilter{TagIDs: []int64{dest}, Event: &tev}); len(l) != 1 {
			t.Errorf("as of tagging event: %+v", l)
		}
	})
}

func TestBuildroots(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		tag, ev, err := s.CreateTag(ctx, Tag{Name: "b"})
		if err != nil {
			t.Fatal(err)
		}
		// no repo API exists yet (kojira's issue): insert the row directly
		repo, err := s.insertID(ctx, "INSERT INTO repos (tag_id, create_event, state, dist, create_time, state_time) VALUES (?, ?, 1, FALSE, 0, 0)", tag, ev)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := s.RepoExists(ctx, repo); err != nil || !ok {
			t.Fatalf("RepoExists(%d) = %v, %v", repo, ok, err)
		}
		if ok, _ := s.RepoExists(ctx, repo+100); ok {
			t.Error("RepoExists of a missing repo = true")
		}
		id, err := s.CreateBuildroot(ctx, Buildroot{RepoID: &repo, Arch: "x86_64"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetBuildrootState(ctx, id, BuildrootBuilding); err != nil {
			t.Fatal(err)
		}
		if err := s.SetBuildrootState(ctx, id+100, BuildrootBuilding); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetBuildrootState(missing) = %v", err)
		}
		st := BuildrootBuilding
		brs, err := s.ListBuildroots(ctx, BuildrootFilter{RepoID: &repo, State: &st})
		if err != nil || len(brs) != 1 || brs[0].ID != id || brs[0].Arch != "x86_64" {
			t.Fatalf("ListBuildroots = %+v, %v", brs, err)
		}
		bad := int64(999)
		if _, err := s.CreateBuildroot(ctx, Buildroot{RepoID: &bad, Arch: "x86_64"}); err == nil {
			t.Error("buildroot over a missing repo was created")
		}
	})
}

// TestListRPMsManyBuilds lists the RPMs of more builds than SQLite takes
// parameters in one statement (32,766), as repoInit does for a big tag:
// builds at both ends of the list come back, in id order.
func TestListRPMsManyBuilds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		uid, err := s.CreateUser(ctx, User{Name: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int64, 40000)
		for i := range ids {
			ids[i] = int64(i + 1000000)
		}
		var want []int64
		for i, name := range []string{"first", "last"} {
			bid, err := s.CreateBuild(ctx, NewBuild{PackageName: name, Version: "1", Release: "1", OwnerID: uid})
			if err != nil {
				t.Fatal(err)
			}
			rid, err := s.AddRPM(ctx, RPM{BuildID: bid, Name: name, Version: "1", Release: "1", Arch: "noarch", PayloadHash: "ab", Checksum: "cd"})
			if err != nil {
				t.Fatal(err)
			}
			ids[i*(len(ids)-1)] = bid
			want = append(want, rid)
		}
		rpms, err := s.ListRPMs(ctx, RPMFilter{BuildIDs: ids})
		if err != nil {
			t.Fatalf("ListRPMs of %d builds: %v", len(ids), err)
		}
		var got []int64
		for _, r := range rpms {
			got = append(got, r.ID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("ListRPMs of %d builds = rpms %v, want %v", len(ids), got, want)
		}
	})
}
