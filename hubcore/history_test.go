package hubcore

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"kojigo/internal/kojixml"
)

// histRows is one table of a queryHistory answer.
func histRows(t *testing.T, v any, table string) []map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("queryHistory = %T, want a struct", v)
	}
	l, ok := m[table].([]any)
	if !ok {
		t.Fatalf("queryHistory has no table %s: %v", table, m)
	}
	out := make([]map[string]any, len(l))
	for i, x := range l {
		out[i] = x.(map[string]any)
	}
	return out
}

// historyCommon are the fields every row has (query_history's
// common_fields and common_joined_fields).
var historyCommon = []string{"active", "create_event", "create_ts", "creator_id", "creator_name", "revoke_event", "revoke_ts", "revoker_id", "revoker_name"}

func withCommon(fields ...string) []string {
	out := append(append([]string{}, historyCommon...), fields...)
	sort.Strings(out)
	return out
}

// TestQueryHistoryScript runs a scripted series of changes and checks what
// queryHistory answers against what Koji 1.35's query_history would: the
// expectation is derived from kojihub.py's table_fields and name_joins (the
// fields of each table), its skip rules (a filter a table does not join
// leaves the table out) and the create/revoke each hub call makes there
// (_edit_tag revokes and re-inserts tag_config once per call, one tag_extra
// row per changed key; _writeInheritanceData revokes and re-inserts a
// changed link). Koji's query has no ORDER BY: PostgreSQL returns the rows
// in the order they were last written (an UPDATE writes a new tuple), which
// is the order kojigo gives.
func TestQueryHistoryScript(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.ensureAdmin()
		ad := th.login(admin, "adminpw")
		anon := th.anon()
		adminID := ad.must("getLoggedInUser").(map[string]any)["id"].(int64)
		base := ad.must("createTag", "base", kw{"extra": map[string]any{"k": "inherited", "shared": 1}}).(int64)
		child := ad.must("createTag", "child", kw{"parent": "base", "extra": map[string]any{"mock.new_chroot": int64(0)}}).(int64)
		ev2 := anon.must("getLastEvent").(map[string]any)["id"].(int64)
		ad.must("editTag2", "child", kw{"arches": "x86_64", "extra": map[string]any{"a": "b"}, "block_extra": []any{"k"}, "remove_extra": []any{}})
		ev3 := anon.must("getLastEvent").(map[string]any)["id"].(int64)
		ad.must("editTag2", "child", kw{"remove_extra": []any{"a"}})
		ad.must("setInheritanceData", "child", []any{map[string]any{"parent_id": base, "priority": "10", "maxdepth": nil, "intransitive": false, "noconfig": false, "pkg_filter": ""}})

		// tag_config: the created row revoked by the edit, then the new one
		got := anon.must("queryHistory", kw{"tables": []any{"tag_config"}, "tag": "child"})
		rows := histRows(t, got, "tag_config")
		if len(rows) != 2 {
			t.Fatalf("tag_config history = %v, want 2 rows", rows)
		}
		if k := keysOf(rows[0]); !reflect.DeepEqual(k, withCommon("tag_id", "arches", "perm_id", "locked", "maven_support", "maven_include_all", "tag.name", "permission.name")) {
			t.Errorf("tag_config fields = %v", k)
		}
		old, cur := rows[0], rows[1]
		if old["active"] != nil || old["revoke_event"] != ev3 || old["revoker_name"] != admin || old["revoker_id"] != adminID || old["arches"] != nil || old["create_event"] != ev2 {
			t.Errorf("old tag_config row = %v", old)
		}
		if cur["active"] != true || cur["create_event"] != ev3 || cur["revoke_event"] != nil || cur["revoke_ts"] != nil || cur["arches"] != "x86_64" ||
			cur["creator_name"] != admin || cur["tag.name"] != "child" || cur["tag_id"] != child || cur["locked"] != false {
			t.Errorf("new tag_config row = %v", cur)
		}
		if _, ok := cur["create_ts"].(float64); !ok {
			t.Errorf("create_ts = %T, want a float", cur["create_ts"])
		}

		// tag_extra: values are the JSON text Koji stores, NULL for a block
		rows = histRows(t, anon.must("queryHistory", kw{"tables": []any{"tag_extra"}, "tag": child}), "tag_extra")
		var seen []string
		for _, r := range rows {
			v, _ := r["value"].(string)
			if r["value"] == nil {
				v = "NULL"
			}
			state := "active"
			if r["active"] == nil {
				state = "revoked"
			}
			seen = append(seen, r["key"].(string)+"="+v+" "+state)
		}
		want := []string{"mock.new_chroot=0 active", "k=NULL active", "a=\"b\" revoked"}
		if !reflect.DeepEqual(seen, want) {
			t.Errorf("tag_extra history = %v, want %v", seen, want)
		}
		rows = histRows(t, anon.must("queryHistory", kw{"tag": "child", "xkey": "a"}), "tag_extra")
		if len(rows) != 1 || rows[0]["key"] != "a" {
			t.Errorf("queryHistory(xkey=a) = %v", rows)
		}

		// tag_inheritance: the tag filter matches either end; the string
		// priority was stored as a number
		rows = histRows(t, anon.must("queryHistory", kw{"tables": []any{"tag_inheritance"}, "tag": "base"}), "tag_inheritance")
		if len(rows) != 2 || rows[0]["priority"] != int64(0) || rows[0]["active"] != nil || rows[1]["priority"] != int64(10) || rows[1]["parent.name"] != "base" || rows[1]["tag.name"] != "child" {
			t.Errorf("tag_inheritance history = %v", rows)
		}
		if k := keysOf(rows[0]); !reflect.DeepEqual(k, withCommon("tag_id", "parent_id", "priority", "maxdepth", "intransitive", "noconfig", "pkg_filter", "tag.name", "parent.name")) {
			t.Errorf("tag_inheritance fields = %v", k)
		}

		// the tables a tag filter applies to, as Koji's joins decide
		all := anon.must("queryHistory", kw{"tag": "child"}).(map[string]any)
		wantTables := []string{"build_target_config", "group_config", "group_package_listing", "group_req_listing", "tag_config", "tag_external_repos",
			"tag_extra", "tag_inheritance", "tag_listing", "tag_package_owners", "tag_packages"}
		if k := keysOf(all); !reflect.DeepEqual(k, wantTables) {
			t.Errorf("queryHistory(tag=child) tables = %v, want %v", k, wantTables)
		}

		// package lists, owners and builds
		ad.must("packageListAdd", "child", "hello", kw{"owner": admin})
		ad.must("createEmptyBuild", "hello", "1.0", "1", nil)
		ad.must("tagBuildBypass", "child", "hello-1.0-1")
		got = anon.must("queryHistory", kw{"package": "hello"})
		if k := keysOf(got.(map[string]any)); !reflect.DeepEqual(k, []string{"group_package_listing", "tag_listing", "tag_package_owners", "tag_packages"}) {
			t.Errorf("queryHistory(package=hello) tables = %v", k)
		}
		tl := histRows(t, got, "tag_listing")
		if len(tl) != 1 || tl[0]["name"] != "hello" || tl[0]["version"] != "1.0" || tl[0]["release"] != "1" || tl[0]["tag.name"] != "child" || tl[0]["build.state"] != int64(1) {
			t.Errorf("tag_listing history = %v", tl)
		}
		if k := keysOf(tl[0]); !reflect.DeepEqual(k, withCommon("build_id", "tag_id", "tag.name", "name", "version", "release", "epoch", "build.state")) {
			t.Errorf("tag_listing fields = %v", k)
		}
		po := histRows(t, got, "tag_package_owners")
		if len(po) != 1 || po[0]["owner.name"] != admin || po[0]["package.name"] != "hello" {
			t.Errorf("tag_package_owners history = %v", po)
		}
		if b := histRows(t, anon.must("queryHistory", kw{"build": "hello-1.0-1"}), "tag_listing"); len(b) != 1 {
			t.Errorf("queryHistory(build=) = %v", b)
		}

		// targets, with their history kept after deletion
		ad.must("createBuildTarget", "t1", "child", "base")
		evT := anon.must("getLastEvent").(map[string]any)["id"].(int64)
		ad.must("deleteBuildTarget", "t1")
		rows = histRows(t, anon.must("queryHistory", kw{"tables": []any{"build_target_config"}}), "build_target_config")
		if len(rows) != 1 || rows[0]["build_target.name"] != "t1" || rows[0]["active"] != nil || rows[0]["build_tag.name"] != "child" || rows[0]["dest_tag.name"] != "base" {
			t.Errorf("build_target_config history = %v", rows)
		}
		if v := anon.must("getBuildTarget", "t1"); v != nil {
			t.Errorf("getBuildTarget(t1) = %v, want None", v)
		}
		if v, _ := anon.must("getBuildTarget", "t1", kw{"event": evT}).(map[string]any); v == nil || v["build_tag_name"] != "child" {
			t.Errorf("getBuildTarget(t1, event=%d) = %v", evT, v)
		}
		if l := anon.must("getBuildTargets", nil, evT).([]any); len(l) != 1 {
			t.Errorf("getBuildTargets(event=%d) = %v", evT, l)
		}

		// time and event windows, active, editor; Koji's _created_*/_revoked_* flags
		rows = histRows(t, anon.must("queryHistory", kw{"tables": []any{"tag_config"}, "tag": "child", "afterEvent": ev2}), "tag_config")
		if len(rows) != 2 || rows[0]["_created_after_event"] != false || rows[0]["_revoked_after_event"] != true || rows[1]["_revoked_after_event"] != nil {
			t.Errorf("afterEvent rows = %v", rows)
		}
		rows = histRows(t, anon.must("queryHistory", kw{"tables": []any{"tag_config"}, "tag": "child", "active": true}), "tag_config")
		if len(rows) != 1 || rows[0]["active"] != true {
			t.Errorf("active rows = %v", rows)
		}
		rows = histRows(t, anon.must("queryHistory", kw{"tables": []any{"tag_config"}, "tag": "child", "before": 1.0}), "tag_config")
		if len(rows) != 0 {
			t.Errorf("before=1.0 rows = %v", rows)
		}
		rows = histRows(t, anon.must("queryHistory", kw{"tables": []any{"tag_config"}, "editor": admin, "after": "2000-01-01 00:00:00"}), "tag_config")
		if len(rows) < 3 || rows[0]["_created_by"] != true || rows[0]["_created_after"] != true {
			t.Errorf("editor rows = %v", rows)
		}

		// bad input gets Koji's faults
		anon.fault(kojixml.GenericError, "queryHistory", kw{"tables": []any{"nope"}})
		if f := anon.fault(kojixml.GenericError, "queryHistory", kw{"tag": "nosuch"}); !strings.Contains(f.String, "No such entry in table tag: nosuch") {
			t.Errorf("tag=nosuch: %s", f.String)
		}
		anon.fault(kojixml.GenericError, "queryHistory", kw{"build": "no-such-1-1"})
		anon.fault(kojixml.GenericError, "queryHistory", kw{"package": "nosuch"})
		anon.fault(kojixml.GenericError, "queryHistory", kw{"editor": "nobody"})
		anon.fault(kojixml.ParameterError, "queryHistory", kw{"tables": int64(3)})
		anon.fault(kojixml.ParameterError, "queryHistory", kw{"beforeEvent": "x"})
		anon.fault(kojixml.GenericError, "queryHistory", kw{"before": "not a time"})
		anon.fault(kojixml.ParameterError, "queryHistory", kw{"queryOpts": "x"})
		anon.fault(kojixml.GenericError, "queryHistory", kw{"tables": []any{strings.Repeat("x", 5000)}})
		// hostile and oversized values are names that do not exist
		for _, v := range []any{"'; DROP TABLE tags; --", strings.Repeat("\u00e9", 100000), []any{"x"}, map[string]any{"id": "x"}, 1.5} {
			if _, err := anon.call("queryHistory", kw{"tag": v}); err == nil {
				t.Errorf("queryHistory(tag=%.40v) succeeded", v)
			} else if _, ok := err.(*kojixml.Fault); !ok {
				t.Errorf("queryHistory(tag=%.40v) = %v, want a fault", v, err)
			}
		}
		if v := histRows(t, anon.must("queryHistory", kw{"tag": "child", "xkey": "' OR 1=1 --"}), "tag_extra"); len(v) != 0 {
			t.Errorf("hostile xkey = %v", v)
		}
		// a filter no table applies to: nothing, and no lookup
		if v := anon.must("queryHistory", kw{"tables": []any{"user_perms"}, "tag": "nosuch"}).(map[string]any); len(v) != 0 {
			t.Errorf("user_perms with tag = %v, want {}", v)
		}
		// unknown keywords are ignored, as Koji (the CLI sends utc)
		anon.must("queryHistory", kw{"tables": []any{"tag_config"}, "utc": true})
	})
}

// TestTagEventReads checks getTag's event= and event='auto', block_extra
// and getBuildConfig's inheritance of extra.
func TestTagEventReads(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		ad := th.login(th.ensureAdmin(), "adminpw")
		anon := th.anon()
		ad.must("createTag", "base", kw{"extra": map[string]any{"k": "v", "x": int64(1)}})
		ad.must("createTag", "child", kw{"parent": "base"})
		ev1 := anon.must("getLastEvent").(map[string]any)["id"].(int64)
		ad.must("editTag2", "child", kw{"arches": "aarch64 x86_64", "locked": true, "block_extra": []any{"k"}, "extra": map[string]any{"own": "yes"}})

		now := anon.must("getTag", "child").(map[string]any)
		if now["arches"] != "aarch64 x86_64" || now["locked"] != true || !reflect.DeepEqual(now["extra"], map[string]any{"own": "yes"}) {
			t.Errorf("getTag(child) = %v", now)
		}
		if _, ok := now["query_event"]; ok {
			t.Errorf("getTag without event has query_event")
		}
		then := anon.must("getTag", "child", kw{"event": ev1}).(map[string]any)
		if then["arches"] != nil || then["locked"] != false || !reflect.DeepEqual(then["extra"], map[string]any{}) || then["query_event"] != ev1 {
			t.Errorf("getTag(child, event=%d) = %v", ev1, then)
		}
		bl := anon.must("getTag", "child", kw{"blocked": true}).(map[string]any)
		if !reflect.DeepEqual(bl["extra"], map[string]any{"own": []any{false, "yes"}, "k": []any{true, nil}}) {
			t.Errorf("getTag(child, blocked=True) extra = %v", bl["extra"])
		}
		// the blocked key is not inherited; the other is
		bc := anon.must("getBuildConfig", "child").(map[string]any)
		if !reflect.DeepEqual(bc["extra"], map[string]any{"own": "yes", "x": int64(1)}) {
			t.Errorf("getBuildConfig(child) extra = %v", bc["extra"])
		}
		bc = anon.must("getBuildConfig", "child", ev1).(map[string]any)
		if bc["arches"] != nil || !reflect.DeepEqual(bc["extra"], map[string]any{"k": "v", "x": int64(1)}) {
			t.Errorf("getBuildConfig(child, event=%d) = %v", ev1, bc)
		}
		if v := anon.must("getTag", "child", kw{"event": int64(1)}); v != nil {
			t.Errorf("getTag before the tag existed = %v, want None", v)
		}
		anon.fault(kojixml.GenericError, "getTag", "child", kw{"event": int64(1), "strict": true})
		anon.fault(kojixml.ParameterError, "getTag", "child", kw{"event": "later"})
		anon.fault(kojixml.ParameterError, "getTag", "child", kw{"event": []any{}})

		// getLastEvent(before=)
		if f := anon.fault(kojixml.GenericError, "getLastEvent", 1.0); f.String != "query returned no rows" {
			t.Errorf("getLastEvent(1.0) = %s", f.String)
		}
		if v := anon.must("getLastEvent", int64(1), false); v != nil {
			t.Errorf("getLastEvent(1, False) = %v", v)
		}
		if f := anon.fault(kojixml.GenericError, "getLastEvent", kw{"before": "x"}); f.String != "Invalid type for before: <class 'str'>" {
			t.Errorf("getLastEvent(before='x') = %s", f.String)
		}
		last := anon.must("getLastEvent").(map[string]any)
		if v := anon.must("getLastEvent", kw{"before": 1e12}).(map[string]any); v["id"] != last["id"] {
			t.Errorf("getLastEvent(before=1e12) = %v, want %v", v, last)
		}

		// a deleted tag: event='auto' shows it as it was before the deletion
		ad.must("createTag", "gone", kw{"arches": "s390x"})
		ad.must("deleteTag", "gone")
		if v := anon.must("getTag", "gone"); v != nil {
			t.Errorf("getTag(gone) = %v", v)
		}
		g, _ := anon.must("getTag", "gone", kw{"event": "auto"}).(map[string]any)
		if g == nil || g["name"] != "gone" || g["arches"] != "s390x" || g["query_event"] == nil {
			t.Errorf("getTag(gone, event='auto') = %v", g)
		}
		if a := anon.must("getTag", "child", kw{"event": "auto"}).(map[string]any); a["query_event"] != nil || a["arches"] != "aarch64 x86_64" {
			t.Errorf("getTag(child, event='auto') = %v", a)
		}

		// editTag2's extra arguments, as Koji checks them
		th.addUser("bob", "pw")
		th.login("bob", "pw").fault(kojixml.ActionNotAllowed, "editTag2", "child", kw{"locked": false})
		if f := ad.fault(kojixml.GenericError, "editTag2", "child", kw{"extra": map[string]any{"a": int64(1)}, "remove_extra": []any{"a"}}); f.String != "Can not both add/update and remove tag-extra: 'a'" {
			t.Errorf("conflict: %s", f.String)
		}
		if f := ad.fault(kojixml.GenericError, "editTag2", "child", kw{"remove_extra": []any{"nope", "other"}}); f.String != "Tag: child doesn't have extra: nope, other" {
			t.Errorf("remove missing: %s", f.String)
		}
		ad.fault(kojixml.ParameterError, "editTag2", "child", kw{"block_extra": "k"})
		ad.fault(kojixml.ParameterError, "editTag2", "child", kw{"bogus": true})
		// lock-tag and unlock-tag's calls
		ad.must("editTag2", "child", kw{"perm": "admin", "locked": true})
		ad.must("editTag2", "child", kw{"perm": nil, "locked": false})
		if v := anon.must("getTag", "child").(map[string]any); v["perm"] != nil || v["locked"] != false {
			t.Errorf("after unlock: %v", v)
		}
	})
}

// TestInheritanceStringPriority: the CLI's add-tag-inheritance sends
// --priority as a string, which Koji's hub stores as an integer.
func TestInheritanceStringPriority(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		ad := th.login(th.ensureAdmin(), "adminpw")
		p := ad.must("createTag", "p").(int64)
		q := ad.must("createTag", "q").(int64)
		ad.must("createTag", "c")
		ad.must("setInheritanceData", "c", []any{map[string]any{"parent_id": p, "priority": "10", "maxdepth": nil, "intransitive": false, "noconfig": false, "pkg_filter": ""}})
		l := th.anon().must("getInheritanceData", "c").([]any)
		if len(l) != 1 || l[0].(map[string]any)["priority"] != int64(10) {
			t.Fatalf("getInheritanceData = %v", l)
		}
		for _, bad := range []any{"ten", "1e3", 1.5, nil, "99999999999"} {
			ad.fault(kojixml.ParameterError, "setInheritanceData", "c", []any{map[string]any{"parent_id": q, "priority": bad}})
		}
		// remove-tag-inheritance sends 'delete link'
		ad.must("setInheritanceData", "c", []any{map[string]any{"parent_id": p, "delete link": true, "priority": int64(10)}})
		if l := th.anon().must("getInheritanceData", "c").([]any); len(l) != 0 {
			t.Errorf("after delete link: %v", l)
		}
	})
}

// TestListPackagesOrder: Koji's listPackages has no ORDER BY; rows come in
// the order their package list entries were written, not by name.
func TestListPackagesOrder(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.ensureAdmin()
		ad := th.login(admin, "adminpw")
		ad.must("createTag", "f40")
		for _, p := range []string{"zeta", "alpha", "mid"} {
			ad.must("packageListAdd", "f40", p, kw{"owner": admin})
		}
		var names []string
		for _, x := range th.anon().must("listPackages", kw{"tagID": "f40"}).([]any) {
			names = append(names, x.(map[string]any)["package_name"].(string))
		}
		if want := []string{"zeta", "alpha", "mid"}; !reflect.DeepEqual(names, want) {
			t.Errorf("listPackages(f40) = %v, want %v", names, want)
		}
		names = nil
		for _, x := range th.anon().must("listPackages").([]any) {
			names = append(names, x.(map[string]any)["package_name"].(string))
		}
		if want := []string{"zeta", "alpha", "mid"}; !reflect.DeepEqual(names, want) {
			t.Errorf("listPackages() = %v, want %v", names, want)
		}
	})
}
