package db

import (
	"context"
	"errors"
	"testing"
)

func TestCGAccessVersioned(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		admin, _ := s.CreateUser(ctx, User{Name: "admin"})
		alice, _ := s.CreateUser(ctx, User{Name: "alice"})
		cg, err := s.CreateCG(ctx, "osbs")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateCG(ctx, "osbs"); !errors.Is(err, ErrConflict) {
			t.Fatalf("CreateCG twice = %v, want ErrConflict", err)
		}
		if err := s.GrantCG(ctx, cg, alice, &admin); err != nil {
			t.Fatal(err)
		}
		if err := s.GrantCG(ctx, cg, alice, &admin); !errors.Is(err, ErrConflict) {
			t.Fatalf("GrantCG twice = %v, want ErrConflict", err)
		}
		if ok, err := s.HasCGAccess(ctx, cg, alice); err != nil || !ok {
			t.Fatalf("HasCGAccess = %v, %v", ok, err)
		}
		if err := s.RevokeCG(ctx, cg, alice, &admin); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.HasCGAccess(ctx, cg, alice); ok {
			t.Fatal("access after RevokeCG")
		}
		if err := s.GrantCG(ctx, cg, alice, &admin); err != nil {
			t.Fatalf("GrantCG after a revoke = %v", err)
		}
		// history: the first grant was revoked by admin in its own event
		var rows, revoked int
		s.queryRow(ctx, "SELECT COUNT(*), COUNT(revoke_event) FROM cg_users WHERE revoker_id = ? OR revoke_event IS NULL", admin).Scan(&rows, &revoked)
		if rows != 2 || revoked != 1 {
			t.Fatalf("cg_users rows = %d, revoked %d; want 2, 1", rows, revoked)
		}
		cgs, err := s.ListCGs(ctx)
		if err != nil || len(cgs) != 1 || cgs[0].Name != "osbs" || len(cgs[0].Users) != 1 || cgs[0].Users[0] != "alice" {
			t.Fatalf("ListCGs = %+v, %v", cgs, err)
		}
	})
}

func TestChannelsNotificationsVolumes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice, _ := s.CreateUser(ctx, User{Name: "alice"})
		ch, err := s.CreateChannel(ctx, Channel{Name: "spare"})
		if err != nil {
			t.Fatal(err)
		}
		name, desc := "spare2", "d"
		if err := s.EditChannel(ctx, ch, ChannelEdit{Name: &name, Description: &desc}); err != nil {
			t.Fatal(err)
		}
		dflt := "default"
		if err := s.EditChannel(ctx, ch, ChannelEdit{Name: &dflt}); !errors.Is(err, ErrConflict) {
			t.Fatalf("EditChannel onto default = %v, want ErrConflict", err)
		}
		if err := s.SetChannelEnabled(ctx, ch, false, &desc); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetChannel(ctx, ch)
		if err != nil || got.Name != "spare2" || got.Enabled || got.Comment == nil || *got.Comment != "d" {
			t.Fatalf("channel = %+v, %v", got, err)
		}
		if err := s.RemoveChannel(ctx, ch, false); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveChannel(ctx, ch, false); !errors.Is(err, ErrNotFound) {
			t.Fatalf("RemoveChannel twice = %v", err)
		}

		pkg, _ := s.EnsurePackage(ctx, "hello")
		n := Notification{UserID: alice, PackageID: &pkg, SuccessOnly: true, Email: "alice@x"}
		id, err := s.CreateNotification(ctx, n, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateNotification(ctx, n, false); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate notification = %v", err)
		}
		if _, err := s.CreateNotification(ctx, n, true); err != nil {
			t.Fatalf("a block beside a notification = %v", err)
		}
		n.ID, n.SuccessOnly = id, false
		if err := s.UpdateNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetNotification(ctx, id, false); err != nil || got.SuccessOnly || *got.PackageID != pkg {
			t.Fatalf("notification = %+v, %v", got, err)
		}
		if list, _ := s.ListNotifications(ctx, alice, true); len(list) != 1 || list[0].Email != "" {
			t.Fatalf("blocks = %+v", list)
		}
		if err := s.DeleteNotification(ctx, id, false); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteNotification(ctx, id, false); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second delete = %v", err)
		}

		vols, err := s.ListVolumes(ctx)
		if err != nil || len(vols) != 1 || vols[0] != (Volume{ID: 0, Name: "DEFAULT"}) {
			t.Fatalf("volumes = %+v, %v", vols, err)
		}
		v, err := s.CreateVolume(ctx, "archive")
		if err != nil || v == 0 {
			t.Fatalf("CreateVolume = %d, %v", v, err)
		}
		if _, err := s.CreateVolume(ctx, "archive"); !errors.Is(err, ErrConflict) {
			t.Fatalf("CreateVolume twice = %v", err)
		}
		b, err := s.CreateBuild(ctx, NewBuild{PackageName: "hello", Version: "1", Release: "1", State: BuildComplete, OwnerID: alice})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetBuildVolume(ctx, b, v, &alice); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetBuild(ctx, b); err != nil || got.VolumeID != v || got.VolumeName != "archive" {
			t.Fatalf("build volume = %d %q, %v", got.VolumeID, got.VolumeName, err)
		}
		if err := s.DeleteVolume(ctx, v); !errors.Is(err, ErrVolumeInUse) {
			t.Fatalf("DeleteVolume of a used volume = %v", err)
		}
		s.SetBuildVolume(ctx, b, DefaultVolumeID, &alice)
		if err := s.DeleteVolume(ctx, v); err != nil {
			t.Fatal(err)
		}
	})
}
