package hubcore

import (
	"context"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"kojigo/internal/kojixml"
)

// userNames lists the names of a listUsers answer, sorted.
func userNames(t *testing.T, v any) []string {
	t.Helper()
	out := []string{}
	for _, x := range v.([]any) {
		out = append(out, x.(map[string]any)["name"].(string))
	}
	sort.Strings(out)
	return out
}

func TestDisableUserRefusesLogins(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		th.addUser("alice", "pw")
		alice := th.login("alice", "pw")
		anon := th.anon()

		// Koji looks the user up before it checks the permission
		if f := anon.fault(kojixml.GenericError, "disableUser", "nosuch"); f.String != "No such user: nosuch" {
			t.Errorf("disableUser(nosuch) = %q", f.String)
		}
		if f := alice.fault(kojixml.ActionNotAllowed, "disableUser", "alice"); f.String != "admin permission required (logged in as alice)" {
			t.Errorf("disableUser as alice = %q", f.String)
		}
		alice.fault(kojixml.GenericError, "disableUser", []any{"x"})
		alice.fault(kojixml.ParameterError, "disableUser")

		admin.must("disableUser", "alice")
		if u := admin.must("getUser", "alice").(map[string]any); u["status"] != int64(1) {
			t.Errorf("getUser after disableUser: status %v, want 1", u["status"])
		}
		admin.must("disableUser", "alice") // no change, no fault
		// the open session is refused, and so is a new login
		if f := alice.fault(kojixml.AuthError, "getLoggedInUser"); f.String != "logins by alice are not allowed" {
			t.Errorf("call of a disabled user's session = %q", f.String)
		}
		if f := anon.fault(kojixml.AuthError, "login", "alice", "pw"); f.String != "logins by alice are not allowed" {
			t.Errorf("login of a disabled user = %q", f.String)
		}
		admin.must("enableUser", "alice")
		th.login("alice", "pw")
		// by id too
		id := admin.must("getUser", "alice").(map[string]any)["id"].(int64)
		admin.must("disableUser", id)
		anon.fault(kojixml.AuthError, "login", "alice", "pw")
		admin.must("enableUser", kw{"username": id})
		th.login("alice", "pw")
	})
}

func TestEditUser(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		th.addUser("alice", "pw")
		bob := th.addUser("bob", "pw")
		alice := th.login("alice", "pw")

		alice.fault(kojixml.ActionNotAllowed, "editUser", "alice", "alice2")
		if f := admin.fault(kojixml.GenericError, "editUser", "nosuch", "x"); f.String != "No such user: 'nosuch'" {
			t.Errorf("editUser(nosuch) = %q", f.String)
		}
		if f := admin.fault(kojixml.GenericError, "editUser", "alice", "bob"); f.String != "Name bob already taken by user "+strconv.FormatInt(bob, 10) {
			t.Errorf("editUser rename onto bob = %q", f.String)
		}
		admin.fault(kojixml.NameValidationError, "editUser", "alice", "has space")
		admin.fault(kojixml.NameValidationError, "editUser", "alice", strings.Repeat("x", 300))
		admin.fault(kojixml.GenericError, "editUser", "alice", int64(5))
		if v := admin.must("editUser", "alice", "alice2"); v != nil {
			t.Errorf("editUser = %v, want None", v)
		}
		if admin.must("getUser", "alice") != nil || admin.must("getUser", "alice2") == nil {
			t.Error("editUser did not rename alice to alice2")
		}
		th.login("alice2", "pw")

		// Kerberos principals: add, refuse a second, replace, remove
		admin.must("editUser", "alice2", nil, []any{map[string]any{"old": nil, "new": "alice@EXAMPLE.COM"}})
		krbs := func() []any { return admin.must("getUser", "alice2").(map[string]any)["krb_principals"].([]any) }
		if k := krbs(); !reflect.DeepEqual(k, []any{"alice@EXAMPLE.COM"}) {
			t.Errorf("krb_principals = %v", k)
		}
		if f := admin.fault(kojixml.GenericError, "editUser", "alice2", kw{"krb_principal_mappings": []any{map[string]any{"old": nil, "new": "alice@EXAMPLE.COM"}}}); f.String != "Cannot add existing Kerberos principals: alice@EXAMPLE.COM" {
			t.Errorf("adding an existing principal = %q", f.String)
		}
		if f := admin.fault(kojixml.GenericError, "editUser", "alice2", nil, []any{map[string]any{"old": "nope@X", "new": nil}}); f.String != "Cannot remove non-existent Kerberos principals: nope@X" {
			t.Errorf("removing a missing principal = %q", f.String)
		}
		if f := admin.fault(kojixml.GenericError, "editUser", "alice2", nil, []any{map[string]any{"old": "a@X", "new": "b@X"}, map[string]any{"old": "b@X", "new": nil}}); !strings.HasPrefix(f.String, "There are some conflicts between added and removed Kerberos principals: b@X") {
			t.Errorf("conflicting mappings = %q", f.String)
		}
		admin.fault(kojixml.GenericError, "editUser", "alice2", nil, []any{map[string]any{"old": nil, "new": "second@EXAMPLE.COM"}})
		admin.fault(kojixml.ParameterError, "editUser", "alice2", nil, "not a list")
		admin.fault(kojixml.ParameterError, "editUser", "alice2", nil, []any{"not a struct"})
		admin.must("editUser", "alice2", nil, []any{map[string]any{"old": "alice@EXAMPLE.COM", "new": "alice@NEW.COM"}})
		if k := krbs(); !reflect.DeepEqual(k, []any{"alice@NEW.COM"}) {
			t.Errorf("krb_principals after replace = %v", k)
		}
		admin.must("editUser", "alice2", nil, []any{map[string]any{"old": "alice@NEW.COM", "new": nil}})
		if k := krbs(); len(k) != 0 {
			t.Errorf("krb_principals after remove = %v", k)
		}
		admin.fault(kojixml.ParameterError, "editUser", "alice2", kw{"bogus": 1})
	})
}

func TestEditPermissionAndListUsersByPerm(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		th.addUser("tagger", "pw", "tag")
		th.addUser("plain", "pw")
		th.addUser("member", "pw")
		th.addUser("Tagless", "pw")
		alice := th.login("plain", "pw")
		anon := th.anon()

		alice.fault(kojixml.ActionNotAllowed, "editPermission", "tag", "x")
		admin.must("editPermission", "tag", "Manage tags.")
		for _, p := range admin.must("getAllPerms").([]any) {
			if m := p.(map[string]any); m["name"] == "tag" && m["description"] != "Manage tags." {
				t.Errorf("tag description = %v", m["description"])
			}
		}
		if f := admin.fault(kojixml.GenericError, "editPermission", "nosuch", "x"); f.String != "No such entry in table permissions: nosuch" {
			t.Errorf("editPermission(nosuch) = %q", f.String)
		}
		if f := admin.fault(kojixml.ParameterError, "editPermission", "tag", nil); f.String != "Invalid type, expected type <class 'str'>" {
			t.Errorf("editPermission(tag, None) = %q", f.String)
		}
		if f := admin.fault(kojixml.ParameterError, "editPermission", "tag", int64(3)); f.String != "Invalid type for value '3': <class 'int'>, expected type <class 'str'>" {
			t.Errorf("editPermission(tag, 3) = %q", f.String)
		}
		admin.fault(kojixml.ParameterError, "editPermission", "tag", strings.Repeat("d", 70<<10))
		admin.fault(kojixml.ParameterError, "editPermission", []any{}, "d")

		// a group holding tag passes it on with inherited_perm
		admin.must("newGroup", "taggers")
		admin.must("grantPermission", "taggers", "tag")
		admin.must("addGroupMember", "taggers", "member")
		if got := userNames(t, anon.must("listUsers", kw{"perm": "tag"})); !reflect.DeepEqual(got, []string{"tagger"}) {
			t.Errorf("listUsers(perm=tag) = %v", got)
		}
		if got := userNames(t, anon.must("listUsers", kw{"perm": "tag", "inherited_perm": true})); !reflect.DeepEqual(got, []string{"member", "tagger"}) {
			t.Errorf("listUsers(perm=tag, inherited_perm) = %v", got)
		}
		if got := userNames(t, anon.must("listUsers", kw{"perm": "tag", "userType": nil})); !reflect.DeepEqual(got, []string{"tagger", "taggers"}) {
			t.Errorf("listUsers(perm=tag, userType=None) = %v", got)
		}
		if got := userNames(t, anon.must("listUsers", kw{"userType": []any{int64(2)}})); !reflect.DeepEqual(got, []string{"taggers"}) {
			t.Errorf("listUsers(userType=[2]) = %v", got)
		}
		if got := userNames(t, anon.must("listUsers", kw{"prefix": "tag"})); !reflect.DeepEqual(got, []string{"Tagless", "tagger"}) {
			t.Errorf("listUsers(prefix=tag) = %v (Koji: ILIKE)", got)
		}
		if f := anon.fault(kojixml.GenericError, "listUsers", kw{"inherited_perm": true}); f.String != "inherited_perm option must be used with perm option" {
			t.Errorf("inherited_perm alone = %q", f.String)
		}
		anon.fault(kojixml.GenericError, "listUsers", kw{"perm": "nosuch"})
		anon.fault(kojixml.ParameterError, "listUsers", kw{"userType": "x"})
		anon.fault(kojixml.ParameterError, "listUsers", kw{"userType": []any{"x"}})
		anon.fault(kojixml.GenericError, "listUsers", kw{"queryOpts": map[string]any{"group": "users.id"}})
	})
}

func TestNoRegenRepoPermission(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		if _, err := th.store.GetPermByName(context.Background(), "regen-repo"); err == nil {
			t.Error("a new database has a regen-repo permission; Koji 1.35's schema has none")
		}
	})
}

func TestCGAccess(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		th.addUser("alice", "pw")
		alice := th.login("alice", "pw")

		alice.fault(kojixml.ActionNotAllowed, "grantCGAccess", "alice", "osbs", true)
		if f := admin.fault(kojixml.GenericError, "grantCGAccess", "alice", "osbs"); f.String != "No such entry in table content_generator: osbs" {
			t.Errorf("grantCGAccess to a missing cg = %q", f.String)
		}
		if f := admin.fault(kojixml.GenericError, "grantCGAccess", "nosuch", "osbs", true); f.String != "No such user: 'nosuch'" {
			t.Errorf("grantCGAccess to a missing user = %q", f.String)
		}
		admin.must("grantCGAccess", "alice", "osbs", kw{"create": true})
		if f := admin.fault(kojixml.GenericError, "grantCGAccess", "alice", "osbs"); f.String != "User already has access to content generator osbs" {
			t.Errorf("second grant = %q", f.String)
		}
		admin.must("grantCGAccess", "kojiadmin", "osbs")
		got := alice.must("listCGs").(map[string]any)
		osbs, _ := got["osbs"].(map[string]any)
		if osbs == nil || !reflect.DeepEqual(osbs["users"], []any{"alice", "kojiadmin"}) {
			t.Errorf("listCGs = %v", got)
		}
		admin.must("revokeCGAccess", "alice", "osbs")
		admin.must("revokeCGAccess", "alice", "osbs") // nothing to revoke: no fault, as Koji
		got = alice.must("listCGs").(map[string]any)
		if !reflect.DeepEqual(got["osbs"].(map[string]any)["users"], []any{"kojiadmin"}) {
			t.Errorf("listCGs after revoke = %v", got)
		}
		admin.must("grantCGAccess", "alice", osbs["id"]) // by id
		admin.fault(kojixml.ParameterError, "grantCGAccess", "alice", []any{})
		admin.fault(kojixml.GenericError, "grantCGAccess", "alice", int64(999), true)
		admin.fault(kojixml.NameValidationError, "grantCGAccess", "alice", "bad name", true)
		admin.fault(kojixml.GenericError, "revokeCGAccess", "alice", "nosuch")
	})
}

// TestAdminAreaHostileInput calls every method of users.go, channels.go,
// notifications.go and volumes.go with wrong, missing, oversized and
// hostile arguments, as an admin: each answers or faults, never crashes
// nor fails inside (an internal error).
func TestAdminAreaHostileInput(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		long := strings.Repeat("x", 200<<10)
		values := []any{nil, true, int64(-1), int64(1) << 62, 1.5, "", "../../etc", "a\x00b", long,
			[]any{}, []any{"x", int64(1)}, map[string]any{}, map[string]any{"id": "x"}, map[string]any{"name": []any{}}, []byte("b")}
		for _, m := range adminAreaMethods() {
			calls := [][]any{nil}
			for _, v := range values {
				calls = append(calls, []any{v}, []any{"kojiadmin", v}, []any{v, v, v, v}, []any{kw{"bogus": v}})
			}
			for _, args := range calls {
				_, err := admin.call(m.name, args...)
				if f, ok := err.(*kojixml.Fault); ok && strings.Contains(f.String, "internal error") {
					t.Errorf("%s%v: %s", m.name, args, f.String)
				} else if err != nil && !ok {
					t.Errorf("%s%v: %v", m.name, args, err)
				}
			}
		}
	})
}
