package hubcore

import (
	"reflect"
	"testing"

	"kojigo/internal/kojixml"
)

func TestPackageAndTagIDs(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		th.addUser("alice", "pw")
		alice := th.login("alice", "pw")
		anon := th.anon()
		tag := admin.must("createTag", "f40").(int64)
		admin.must("packageListAdd", "f40", "hello", kw{"owner": "kojiadmin"})
		pkg := admin.must("getPackage", "hello").(map[string]any)["id"]

		if v := anon.must("getPackageID", "hello"); v != pkg {
			t.Errorf("getPackageID(hello) = %v, want %v", v, pkg)
		}
		if v := anon.must("getPackageID", "nosuch"); v != nil {
			t.Errorf("getPackageID(nosuch) = %v", v)
		}
		if v := anon.must("getPackageID", int64(1)); v != nil {
			t.Errorf("getPackageID(1) = %v, want None (a name only)", v)
		}
		if f := anon.fault(kojixml.GenericError, "getPackageID", "nosuch", true); f.String != "No such package name: nosuch" {
			t.Errorf("getPackageID strict = %q", f.String)
		}
		for _, info := range []any{"f40", tag, map[string]any{"name": "f40"}, map[string]any{"id": tag}} {
			if v := anon.must("getTagID", info); v != tag {
				t.Errorf("getTagID(%v) = %v, want %d", info, v, tag)
			}
		}
		if v := anon.must("getTagID", "nosuch"); v != nil {
			t.Errorf("getTagID(nosuch) = %v", v)
		}
		if f := anon.fault(kojixml.GenericError, "getTagID", "nosuch", kw{"strict": true}); f.String != "No such entry in table tag: nosuch" {
			t.Errorf("getTagID strict = %q", f.String)
		}
		anon.fault(kojixml.ParameterError, "getTagID", []any{})
		anon.fault(kojixml.ParameterError, "getTagID", map[string]any{})
		alice.fault(kojixml.ActionNotAllowed, "getTagID", "new-tag", false, true)
		id := admin.must("getTagID", "new-tag", false, true)
		if v := anon.must("getTagID", "new-tag"); v != id {
			t.Errorf("getTagID(new-tag) = %v, want %v", v, id)
		}
	})
}

func TestNotifications(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		aliceID := th.addUser("alice", "pw")
		th.addUser("bob", "pw")
		alice := th.login("alice", "pw")
		bob := th.login("bob", "pw")
		anon := th.anon()
		tag := admin.must("createTag", "f40").(int64)
		admin.must("packageListAdd", "f40", "hello", kw{"owner": "kojiadmin"})
		pkg := admin.must("getPackageID", "hello").(int64)

		if f := anon.fault(kojixml.GenericError, "createNotification", "alice", nil, nil, false); f.String != "Not logged-in" {
			t.Errorf("anonymous createNotification = %q", f.String)
		}
		if f := bob.fault(kojixml.GenericError, "createNotification", "alice", nil, nil, false); f.String != "user bob cannot create notifications for user alice" {
			t.Errorf("bob's notification for alice = %q", f.String)
		}
		if f := alice.fault(kojixml.GenericError, "createNotification", "nosuch", nil, nil, false); f.String != "No such user ID: nosuch" {
			t.Errorf("notification for nosuch = %q", f.String)
		}
		alice.fault(kojixml.GenericError, "createNotification", "alice", "nosuch", nil, false)
		alice.fault(kojixml.GenericError, "createNotification", "alice", nil, "nosuch", false)
		alice.fault(kojixml.ParameterError, "createNotification", "alice", []any{}, nil, false)
		alice.fault(kojixml.ParameterError, "createNotification", "alice", nil, nil)

		alice.must("createNotification", aliceID, "hello", "f40", true)
		alice.must("createNotification", nil, pkg, nil, false) // None: the caller
		admin.must("createNotification", "alice", nil, tag, false)
		if f := alice.fault(kojixml.GenericError, "createNotification", "alice", "hello", tag, true); f.String != "notification already exists" {
			t.Errorf("duplicate notification = %q", f.String)
		}
		ns := anon.must("getBuildNotifications", "alice").([]any)
		if len(ns) != 3 {
			t.Fatalf("getBuildNotifications(alice) = %v", ns)
		}
		first := ns[0].(map[string]any)
		want := map[string]any{"id": first["id"], "user_id": aliceID, "package_id": pkg, "tag_id": tag, "success_only": true, "email": "alice@None"}
		if !reflect.DeepEqual(first, want) {
			t.Errorf("notification = %v, want %v", first, want)
		}
		if got := alice.must("getBuildNotifications").([]any); len(got) != 3 {
			t.Errorf("getBuildNotifications() as alice = %v", got)
		}
		if f := anon.fault(kojixml.GenericError, "getBuildNotifications"); f.String != "No user provided" {
			t.Errorf("anonymous getBuildNotifications() = %q", f.String)
		}
		id := first["id"].(int64)
		if v := anon.must("getBuildNotification", id); !reflect.DeepEqual(v, want) {
			t.Errorf("getBuildNotification = %v", v)
		}
		if v := anon.must("getBuildNotification", int64(9999)); v != nil {
			t.Errorf("getBuildNotification(9999) = %v", v)
		}
		if f := anon.fault(kojixml.GenericError, "getBuildNotification", int64(9999), true); f.String != "No notification with ID 9999 found" {
			t.Errorf("getBuildNotification strict = %q", f.String)
		}
		anon.fault(kojixml.ParameterError, "getBuildNotification", "x")

		// update: owner or admin; the same as another is refused
		if f := bob.fault(kojixml.GenericError, "updateNotification", id, nil, nil, false); f.String != "user "+itoa64(bob.userID(t))+" cannot update notifications for user "+itoa64(aliceID) {
			t.Errorf("bob updating alice's = %q", f.String)
		}
		alice.fault(kojixml.GenericError, "updateNotification", id, nil, tag, false) // same as the admin's
		alice.must("updateNotification", id, nil, "f40", true)
		if v := anon.must("getBuildNotification", id).(map[string]any); v["package_id"] != nil || v["success_only"] != true {
			t.Errorf("after updateNotification = %v", v)
		}
		alice.fault(kojixml.GenericError, "updateNotification", int64(9999), nil, nil, false)

		if f := bob.fault(kojixml.GenericError, "deleteNotification", id); f.String != "user "+itoa64(bob.userID(t))+" cannot delete notifications for user "+itoa64(aliceID) {
			t.Errorf("bob deleting alice's = %q", f.String)
		}
		alice.must("deleteNotification", id)
		admin.must("deleteNotification", ns[1].(map[string]any)["id"])
		if got := anon.must("getBuildNotifications", "alice").([]any); len(got) != 1 {
			t.Errorf("after deletes = %v", got)
		}
		alice.fault(kojixml.GenericError, "deleteNotification", id)

		// blocks
		bob.fault(kojixml.GenericError, "createNotificationBlock", "alice", "hello")
		alice.must("createNotificationBlock", "alice", kw{"package_id": "hello"})
		alice.must("createNotificationBlock", "alice", nil, "f40")
		if f := alice.fault(kojixml.GenericError, "createNotificationBlock", "alice", "hello"); f.String != "notification already exists" {
			t.Errorf("duplicate block = %q", f.String)
		}
		bs := anon.must("getBuildNotificationBlocks", aliceID).([]any)
		if len(bs) != 2 {
			t.Fatalf("blocks = %v", bs)
		}
		b0 := bs[0].(map[string]any)
		if !reflect.DeepEqual(b0, map[string]any{"id": b0["id"], "user_id": aliceID, "package_id": pkg, "tag_id": nil}) {
			t.Errorf("block = %v", b0)
		}
		if v := anon.must("getBuildNotificationBlock", b0["id"]); !reflect.DeepEqual(v, b0) {
			t.Errorf("getBuildNotificationBlock = %v", v)
		}
		if f := anon.fault(kojixml.GenericError, "getBuildNotificationBlock", int64(9999), true); f.String != "No notification block with ID 9999 found" {
			t.Errorf("getBuildNotificationBlock strict = %q", f.String)
		}
		bob.fault(kojixml.GenericError, "deleteNotificationBlock", b0["id"])
		alice.must("deleteNotificationBlock", b0["id"])
		alice.fault(kojixml.GenericError, "deleteNotificationBlock", b0["id"])
		if got := anon.must("getBuildNotificationBlocks", "alice").([]any); len(got) != 1 {
			t.Errorf("blocks after delete = %v", got)
		}
	})
}

// userID is the logged-in user's id.
func (c *client) userID(t *testing.T) int64 {
	t.Helper()
	return c.must("getLoggedInUser").(map[string]any)["id"].(int64)
}

func itoa64(n int64) string { return pyRepr(n) }
