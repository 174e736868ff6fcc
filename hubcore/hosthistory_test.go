package hubcore

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"kojigo/internal/kojixml"
)

// TestQueryHistoryHostsAndPerms checks that the writers of hosts, their
// channels and permissions keep Koji's versioned rows (host_config,
// host_channels, user_perms) and that queryHistory answers them with Koji's
// fields, filters and order: addHost creates a host_config and a
// host_channels row at one event; editHost, disableHost and enableHost
// revoke and re-create host_config, each at its own event, and only for a
// change; add/removeHostFromChannel create and revoke host_channels;
// grant/revokePermission create and revoke user_perms, and a revoked
// permission is no longer held.
func TestQueryHistoryHostsAndPerms(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.ensureAdmin()
		ad := th.login(admin, "adminpw")
		anon := th.anon()
		adminID := ad.must("getLoggedInUser").(map[string]any)["id"].(int64)
		bob := th.addUser("bob", "bobpw")

		hostID := ad.must("addHost", "b1", []any{"x86_64"}).(int64)
		evAdd := lastEvent(t, anon)
		if got := ad.must("editHost", "b1", kw{"capacity": 4.0, "comment": "big"}); got != true {
			t.Fatalf("editHost = %v, want true", got)
		}
		evEdit := lastEvent(t, anon)
		if got := ad.must("editHost", "b1", kw{"capacity": 4.0}); got != false {
			t.Fatalf("editHost without a change = %v, want false", got)
		}
		if ev := lastEvent(t, anon); ev != evEdit {
			t.Errorf("editHost without a change made event %d", ev)
		}
		ad.must("disableHost", "b1")
		evOff := lastEvent(t, anon)
		ad.must("enableHost", "b1")
		evOn := lastEvent(t, anon)
		ad.must("addHostToChannel", "b1", "createrepo", kw{"create": true})
		evJoin := lastEvent(t, anon)
		ad.must("removeHostFromChannel", "b1", "default")
		evLeave := lastEvent(t, anon)

		got := anon.must("queryHistory", kw{"host": "b1"}).(map[string]any)
		if k := keysOf(got); !reflect.DeepEqual(k, []string{"host_channels", "host_config"}) {
			t.Fatalf("queryHistory(host=) tables = %v, want host_channels and host_config", k)
		}
		cfg := histRows(t, got, "host_config")
		if k := keysOf(cfg[0]); !reflect.DeepEqual(k, withCommon("host_id", "arches", "capacity", "description", "comment", "enabled", "host.name")) {
			t.Errorf("host_config fields = %v", k)
		}
		type span struct {
			create, revoke any
			enabled        bool
			capacity       float64
		}
		var spans []span
		for _, r := range cfg {
			spans = append(spans, span{r["create_event"], r["revoke_event"], r["enabled"].(bool), r["capacity"].(float64)})
			if r["host_id"] != hostID || r["host.name"] != "b1" || r["creator_id"] != adminID || r["creator_name"] != admin || r["arches"] != "x86_64" {
				t.Errorf("host_config row = %v", r)
			}
			if (r["revoke_event"] == nil) != (r["active"] == true) || (r["revoke_event"] != nil && r["revoker_name"] != admin) {
				t.Errorf("host_config row's revoke = %v", r)
			}
		}
		want := []span{{evAdd, evEdit, true, 2}, {evEdit, evOff, true, 4}, {evOff, evOn, false, 4}, {evOn, nil, true, 4}}
		if !reflect.DeepEqual(spans, want) {
			t.Errorf("host_config history = %v, want %v", spans, want)
		}
		chans := histRows(t, got, "host_channels")
		if k := keysOf(chans[0]); !reflect.DeepEqual(k, withCommon("host_id", "channel_id", "host.name", "channels.name")) {
			t.Errorf("host_channels fields = %v", k)
		}
		// in the order of their last change: the join, then the revoked default
		var lines []string
		for _, r := range chans {
			lines = append(lines, pyStr(r["channels.name"])+" "+pyStr(r["create_event"])+"-"+pyStr(r["revoke_event"]))
		}
		if w := []string{"createrepo " + pyStr(evJoin) + "-None", "default " + pyStr(evAdd) + "-" + pyStr(evLeave)}; !reflect.DeepEqual(lines, w) {
			t.Errorf("host_channels history = %v, want %v", lines, w)
		}
		// getHost(event=) answers the configuration of then
		for _, tc := range []struct {
			ev       int64
			capacity float64
			enabled  bool
		}{{evAdd, 2, true}, {evEdit, 4, true}, {evOff, 4, false}, {evOn, 4, true}} {
			h := anon.must("getHost", "b1", kw{"event": tc.ev}).(map[string]any)
			if h["capacity"] != tc.capacity || h["enabled"] != tc.enabled || h["id"] != hostID || h["name"] != "b1" {
				t.Errorf("getHost(b1, event=%d) = %v, want capacity %v enabled %v", tc.ev, h, tc.capacity, tc.enabled)
			}
		}
		if h := anon.must("getHost", "b1", kw{"event": evAdd - 1}); h != nil {
			t.Errorf("getHost(b1) before it was added = %v, want None", h)
		}
		anon.fault(kojixml.GenericError, "getHost", "b1", true, evAdd-1)
		anon.fault(kojixml.ParameterError, "getHost", "b1", kw{"event": "yesterday"})

		// the channel filter: only host_channels joins channels
		got = anon.must("queryHistory", kw{"channel": "createrepo"}).(map[string]any)
		if k := keysOf(got); !reflect.DeepEqual(k, []string{"host_channels"}) {
			t.Errorf("queryHistory(channel=) tables = %v", k)
		}
		if r := histRows(t, got, "host_channels"); len(r) != 1 || r[0]["host.name"] != "b1" {
			t.Errorf("queryHistory(channel=createrepo) = %v", r)
		}
		// a revoked membership is no longer one
		if l := anon.must("listHosts", kw{"channelID": int64(1)}).([]any); len(l) != 0 {
			t.Errorf("listHosts(default) after the removal = %v", l)
		}
		if l := anon.must("listChannels", kw{"hostID": hostID}).([]any); len(l) != 1 || l[0].(map[string]any)["name"] != "createrepo" {
			t.Errorf("listChannels(b1) = %v", l)
		}
		// and can be made again, as a new row
		ad.must("addHostToChannel", "b1", "default")
		if r := histRows(t, anon.must("queryHistory", kw{"host": hostID, "channel": "default"}), "host_channels"); len(r) != 2 || r[1]["active"] != true {
			t.Errorf("host_channels after re-adding = %v", r)
		}
		ad.fault(1000, "addHostToChannel", "b1", "default")
		// the active and event filters
		if r := histRows(t, anon.must("queryHistory", kw{"host": "b1", "active": false}), "host_config"); len(r) != 3 {
			t.Errorf("revoked host_config rows = %d, want 3", len(r))
		}
		if r := histRows(t, anon.must("queryHistory", kw{"host": "b1", "afterEvent": evOn}), "host_config"); len(r) != 0 {
			t.Errorf("host_config after the last change = %v", r)
		}

		// permissions
		ad.must("grantPermission", "bob", "repo")
		evGrant := lastEvent(t, anon)
		if p := anon.must("getUserPerms", "bob").([]any); !reflect.DeepEqual(p, []any{"repo"}) {
			t.Errorf("getUserPerms(bob) = %v", p)
		}
		ad.must("revokePermission", "bob", "repo")
		evRevoke := lastEvent(t, anon)
		if p := anon.must("getUserPerms", "bob").([]any); len(p) != 0 {
			t.Errorf("getUserPerms(bob) after revoking = %v", p)
		}
		bc := th.login("bob", "bobpw")
		if v := bc.must("hasPerm", "repo"); v != false {
			t.Errorf("hasPerm(repo) after revoking = %v", v)
		}
		ad.fault(1000, "revokePermission", "bob", "repo")
		ad.must("grantPermission", "bob", "repo")
		evRegrant := lastEvent(t, anon)
		ad.fault(1000, "grantPermission", "bob", "repo")
		got = anon.must("queryHistory", kw{"permission": "repo"}).(map[string]any)
		if k := keysOf(got); !reflect.DeepEqual(k, []string{"tag_config", "user_perms"}) {
			t.Errorf("queryHistory(permission=) tables = %v, want tag_config and user_perms", k)
		}
		perms := histRows(t, got, "user_perms")
		if k := keysOf(perms[0]); !reflect.DeepEqual(k, withCommon("user_id", "perm_id", "user.name", "permission.name")) {
			t.Errorf("user_perms fields = %v", k)
		}
		if len(perms) != 2 {
			t.Fatalf("user_perms history = %v, want 2 rows", perms)
		}
		old, cur := perms[0], perms[1]
		if old["user_id"] != bob || old["create_event"] != evGrant || old["revoke_event"] != evRevoke || old["revoker_id"] != adminID ||
			old["creator_name"] != admin || old["active"] != nil || old["permission.name"] != "repo" || old["user.name"] != "bob" {
			t.Errorf("revoked grant = %v", old)
		}
		if cur["create_event"] != evRegrant || cur["revoke_event"] != nil || cur["active"] != true || cur["revoker_name"] != nil {
			t.Errorf("new grant = %v", cur)
		}
		// the user filter sees bob's grants, and not the admin's
		if r := histRows(t, anon.must("queryHistory", kw{"tables": []any{"user_perms"}, "user": "bob"}), "user_perms"); len(r) != 2 {
			t.Errorf("user_perms of bob = %v", r)
		}
		// the editor filter marks which side the editor made
		r := histRows(t, anon.must("queryHistory", kw{"tables": []any{"user_perms"}, "user": "bob", "editor": admin}), "user_perms")
		if len(r) != 2 || r[0]["_created_by"] != true || r[0]["_revoked_by"] != true || r[1]["_revoked_by"] != nil {
			t.Errorf("user_perms by the admin = %v", r)
		}
	})
}

// TestQueryHistoryHostileHostFilters: Koji looks hosts and channels up
// leniently (a name that is no host matches nothing); a value that is not
// an id or a name is refused; a host filter leaves every other table out.
func TestQueryHistoryHostileHostFilters(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		th.addHost("b1")
		anon := th.anon()
		for _, v := range []any{"nosuch", int64(999999), strings.Repeat("x", 100000), "b1' OR '1'='1"} {
			got := anon.must("queryHistory", kw{"host": v}).(map[string]any)
			for _, table := range []string{"host_config", "host_channels"} {
				if r := histRows(t, got, table); len(r) != 0 {
					t.Errorf("queryHistory(host=%.20q) %s = %v, want none", pyStr(v), table, r)
				}
			}
			if len(got) != 2 {
				t.Errorf("queryHistory(host=%.20q) tables = %v", pyStr(v), keysOf(got))
			}
		}
		if r := histRows(t, anon.must("queryHistory", kw{"channel": "nosuch"}), "host_channels"); len(r) != 0 {
			t.Errorf("queryHistory(channel=nosuch) = %v", r)
		}
		// a struct names the host by its id or name, as Koji's name_or_id_clause
		if r := histRows(t, anon.must("queryHistory", kw{"host": map[string]any{"name": "b1"}}), "host_config"); len(r) != 1 {
			t.Errorf("queryHistory(host={name: b1}) host_config = %v", r)
		}
		for _, v := range []any{[]any{"b1"}, 1.5, true} {
			if _, err := anon.call("queryHistory", kw{"host": v}); err == nil {
				t.Errorf("queryHistory(host=%v) succeeded", v)
			}
		}
		// the host filter with a table that does not join hosts: left out
		if got := anon.must("queryHistory", kw{"tables": []any{"user_perms", "tag_config"}, "host": "b1"}).(map[string]any); len(got) != 0 {
			t.Errorf("queryHistory(user_perms, host=) = %v, want {}", got)
		}
		// addHost's rows are there, by nobody unknown: the admin made them
		got := anon.must("queryHistory", kw{"host": "b1"}).(map[string]any)
		rows := append(histRows(t, got, "host_config"), histRows(t, got, "host_channels")...)
		var names []string
		for _, r := range rows {
			names = append(names, pyStr(r["creator_name"]))
		}
		sort.Strings(names)
		if !reflect.DeepEqual(names, []string{"kojiadmin", "kojiadmin"}) {
			t.Errorf("addHost's rows were made by %v", names)
		}
	})
}
