package hubcore

import (
	"bytes"
	"context"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"kojigo/internal/comps"
	"kojigo/internal/kojixml"
)

// groupsByName indexes a getTagGroups answer.
func groupsByName(t *testing.T, v any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, x := range v.([]any) {
		g := x.(map[string]any)
		out[g["name"].(string)] = g
	}
	return out
}

// pkgNames lists a group's packagelist as name or name(blocked).
func pkgNames(g map[string]any) []string {
	var out []string
	for _, x := range g["packagelist"].([]any) {
		p := x.(map[string]any)
		n := p["package"].(string)
		if p["blocked"] == true {
			n += "(blocked)"
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func reqNames(g map[string]any) []string {
	out := []string{}
	for _, x := range g["grouplist"].([]any) {
		out = append(out, x.(map[string]any)["name"].(string))
	}
	return out
}

func TestTagGroupsInheritanceAndBlocks(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		th.addUser("tagger", "pw", "tag")
		tg := th.login("tagger", "pw")
		anon := th.anon()
		base := tg.must("createTag", "base").(int64)
		child := tg.must("createTag", "child", kw{"parent": "base"}).(int64)

		tg.must("groupListAdd", "base", "build", kw{"display_name": "Buildsystem", "description": "d"})
		tg.must("groupPackageListAdd", "base", "build", "bash")
		tg.must("groupPackageListAdd", "base", "build", "gcc", kw{"type": "default"})
		tg.must("groupPackageListAdd", "base", "build", "libselinux", kw{"type": "conditional", "requires": "selinux-policy", "basearchonly": true})
		tg.must("groupListAdd", base, "srpm-build")
		tg.must("groupPackageListAdd", "base", "srpm-build", "rpm-build")
		tg.must("groupReqListAdd", "base", "build", "srpm-build")

		// the child inherits all of it; the shapes are Koji's
		got := anon.must("getTagGroups", "child").([]any)
		if len(got) != 2 {
			t.Fatalf("getTagGroups(child) = %v", got)
		}
		build := got[0].(map[string]any)
		buildID := build["group_id"].(int64)
		srpmID := got[1].(map[string]any)["group_id"].(int64)
		want := map[string]any{
			"name": "build", "group_id": buildID, "tag_id": base, "blocked": false, "exported": true, "display_name": "Buildsystem",
			"is_default": nil, "uservisible": true, "description": "d", "langonly": nil, "biarchonly": false,
			"packagelist": []any{
				map[string]any{"group_id": buildID, "tag_id": base, "package": "bash", "blocked": false, "type": "mandatory", "basearchonly": nil, "requires": nil},
				map[string]any{"group_id": buildID, "tag_id": base, "package": "gcc", "blocked": false, "type": "default", "basearchonly": nil, "requires": nil},
				map[string]any{"group_id": buildID, "tag_id": base, "package": "libselinux", "blocked": false, "type": "conditional", "basearchonly": true, "requires": "selinux-policy"},
			},
			"grouplist": []any{
				map[string]any{"group_id": buildID, "tag_id": base, "req_id": srpmID, "blocked": false, "type": "mandatory", "is_metapkg": false, "name": "srpm-build"},
			},
		}
		if !reflect.DeepEqual(build, want) {
			t.Errorf("getTagGroups(child)[0] =\n%v\nwant\n%v", build, want)
		}
		if own := anon.must("getTagGroups", "child", kw{"inherit": false}).([]any); len(own) != 0 {
			t.Errorf("child's own groups = %v", own)
		}
		lean := anon.must("getTagGroups", child, kw{"incl_pkgs": false, "incl_reqs": false}).([]any)[0].(map[string]any)
		if _, ok := lean["packagelist"]; ok {
			t.Errorf("incl_pkgs=False still lists packages: %v", lean)
		}
		if _, ok := lean["grouplist"]; ok {
			t.Errorf("incl_reqs=False still lists requirements: %v", lean)
		}

		// adding what is already inherited, unchanged, adds nothing
		ev := lastEvent(t, tg)
		tg.must("groupListAdd", "child", "build")
		tg.must("groupPackageListAdd", "child", "build", "bash")
		tg.must("groupReqListAdd", "child", "build", "srpm-build")
		if now := lastEvent(t, tg); now != ev {
			t.Errorf("unchanged adds recorded events %d -> %d", ev, now)
		}
		// a change makes the child's own entry, other fields copied
		tg.must("groupListAdd", "child", "build", kw{"display_name": "Child build", "ignored_option": 1})
		g := groupsByName(t, anon.must("getTagGroups", "child"))["build"]
		if g["tag_id"] != child || g["display_name"] != "Child build" || g["description"] != "d" || g["uservisible"] != true {
			t.Errorf("child's own build = %v", g)
		}
		if b := groupsByName(t, anon.must("getTagGroups", "base"))["build"]; b["display_name"] != "Buildsystem" {
			t.Errorf("the parent changed: %v", b)
		}

		// a package blocked in the child's group
		tg.must("groupPackageListBlock", "child", "build", "gcc")
		g = groupsByName(t, anon.must("getTagGroups", "child"))["build"]
		if p := pkgNames(g); !reflect.DeepEqual(p, []string{"bash", "libselinux"}) {
			t.Errorf("child's build packages after block = %v", p)
		}
		g = groupsByName(t, anon.must("getTagGroups", "child", kw{"incl_blocked": true}))["build"]
		if p := pkgNames(g); !reflect.DeepEqual(p, []string{"bash", "gcc(blocked)", "libselinux"}) {
			t.Errorf("child's build packages with incl_blocked = %v", p)
		}
		if p := pkgNames(groupsByName(t, anon.must("getTagGroups", "base"))["build"]); !reflect.DeepEqual(p, []string{"bash", "gcc", "libselinux"}) {
			t.Errorf("base's build packages = %v", p)
		}
		if f := tg.fault(kojixml.GenericError, "groupPackageListAdd", "child", "build", "gcc"); f.String != "package gcc blocked in group build, tag child" {
			t.Errorf("add of a blocked package = %q", f.String)
		}
		tg.must("groupPackageListUnblock", "child", "build", "gcc")
		g = groupsByName(t, anon.must("getTagGroups", "child"))["build"]
		if p := pkgNames(g); !reflect.DeepEqual(p, []string{"bash", "gcc", "libselinux"}) {
			t.Errorf("child's build packages after unblock = %v", p)
		}
		if f := tg.fault(kojixml.GenericError, "groupPackageListUnblock", "child", "build", "gcc"); f.String != "package gcc is NOT blocked in group "+strconv.FormatInt(buildID, 10)+", tag "+strconv.FormatInt(child, 10) {
			t.Errorf("unblock of an unblocked package = %q", f.String)
		}
		// force adds over a block
		tg.must("groupPackageListBlock", "child", "build", "gcc")
		tg.must("groupPackageListAdd", "child", "build", "gcc", kw{"force": true})
		if p := pkgNames(groupsByName(t, anon.must("getTagGroups", "child", kw{"incl_blocked": true}))["build"]); !reflect.DeepEqual(p, []string{"bash", "gcc", "libselinux"}) {
			t.Errorf("after a forced add = %v", p)
		}

		// a group blocked in the child: gone there, with the requirements on it
		tg.must("groupListBlock", "child", "srpm-build")
		groups := groupsByName(t, anon.must("getTagGroups", "child"))
		if _, ok := groups["srpm-build"]; ok || len(groups) != 1 {
			t.Errorf("child's groups after block = %v", groups)
		}
		if r := reqNames(groups["build"]); len(r) != 0 {
			t.Errorf("requirement on a blocked group still listed: %v", r)
		}
		blocked := groupsByName(t, anon.must("getTagGroups", "child", kw{"incl_blocked": true}))["srpm-build"]
		if blocked["blocked"] != true || blocked["tag_id"] != child || len(blocked["packagelist"].([]any)) != 0 {
			t.Errorf("blocked srpm-build with incl_blocked = %v", blocked)
		}
		if len(groupsByName(t, anon.must("getTagGroups", "base"))) != 2 {
			t.Errorf("the block reached the parent")
		}
		for _, c := range []struct {
			method string
			args   []any
			msg    string
		}{
			{"groupListAdd", []any{"child", "srpm-build"}, "group srpm-build is blocked in tag child"},
			{"groupPackageListAdd", []any{"child", "srpm-build", "x"}, "group srpm-build is blocked in tag child"},
			{"groupReqListAdd", []any{"child", "srpm-build", "build"}, "group srpm-build is blocked in tag child"},
			{"groupListUnblock", []any{"child", "build"}, "group build is NOT blocked in tag child"},
			{"groupListUnblock", []any{"base", "srpm-build"}, "group srpm-build is NOT blocked in tag base"},
		} {
			if f := tg.fault(kojixml.GenericError, c.method, c.args...); f.String != c.msg {
				t.Errorf("%s%v = %q, want %q", c.method, c.args, f.String, c.msg)
			}
		}
		tg.must("groupListUnblock", "child", "srpm-build")
		groups = groupsByName(t, anon.must("getTagGroups", "child"))
		if g := groups["srpm-build"]; g == nil || g["tag_id"] != base || !reflect.DeepEqual(reqNames(groups["build"]), []string{"srpm-build"}) {
			t.Errorf("after unblock: %v", groups)
		}

		// requirement blocks
		tg.must("groupReqListBlock", "child", "build", "srpm-build")
		if r := reqNames(groupsByName(t, anon.must("getTagGroups", "child"))["build"]); len(r) != 0 {
			t.Errorf("blocked requirement listed: %v", r)
		}
		if f := tg.fault(kojixml.GenericError, "groupReqListAdd", "child", "build", "srpm-build"); f.String != "requirement on group srpm-build blocked in group build, tag child" {
			t.Errorf("add of a blocked requirement = %q", f.String)
		}
		tg.must("groupReqListUnblock", "child", "build", "srpm-build")
		if f := tg.fault(kojixml.GenericError, "groupReqListUnblock", "child", "build", "srpm-build"); f.String != "group req "+strconv.FormatInt(srpmID, 10)+" is NOT blocked in group "+strconv.FormatInt(buildID, 10)+", tag "+strconv.FormatInt(child, 10) {
			t.Errorf("unblock of an unblocked requirement = %q", f.String)
		}
		tg.must("groupReqListAdd", "child", "build", "srpm-build", kw{"is_metapkg": true, "type": nil})
		r := groupsByName(t, anon.must("getTagGroups", "child"))["build"]["grouplist"].([]any)[0].(map[string]any)
		if r["tag_id"] != child || r["is_metapkg"] != true || r["type"] != nil {
			t.Errorf("changed requirement = %v", r)
		}

		// groups the tag does not have
		tg.must("createTag", "unrelated")
		tg.must("groupListAdd", "unrelated", "other")
		if f := tg.fault(kojixml.GenericError, "groupPackageListAdd", "child", "other", "x"); f.String != "group other not present in tag child" {
			t.Errorf("package in a group the tag lacks = %q", f.String)
		}
		if f := tg.fault(kojixml.GenericError, "groupPackageListAdd", "child", "nosuch", "x"); f.String != "No such entry in table groups: nosuch" {
			t.Errorf("package in an unknown group = %q", f.String)
		}
		if f := tg.fault(kojixml.GenericError, "groupReqListAdd", "child", "build", "nosuch"); f.String != "No such entry in table groups: nosuch" {
			t.Errorf("requirement on an unknown group = %q", f.String)
		}
	})
}

func TestTagGroupsEvents(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		th.addUser("tagger", "pw", "tag")
		tg := th.login("tagger", "pw")
		tg.must("createTag", "f40-build")
		ev0 := lastEvent(t, tg)
		tg.must("groupListAdd", "f40-build", "build")
		tg.must("groupPackageListAdd", "f40-build", "build", "bash")
		tg.must("groupPackageListAdd", "f40-build", "build", "make")
		tg.must("groupListAdd", "f40-build", "srpm-build")
		tg.must("groupReqListAdd", "f40-build", "build", "srpm-build")
		ev1 := lastEvent(t, tg)
		if ev1 != ev0+5 {
			t.Errorf("5 changes made events %d..%d", ev0, ev1)
		}

		tg.must("groupPackageListRemove", "f40-build", "build", "make")
		tg.must("groupPackageListRemove", "f40-build", "build", "make") // nothing there: no fault (Koji)
		tg.must("groupReqListRemove", "f40-build", "build", "srpm-build")
		tg.must("groupListRemove", "f40-build", "srpm-build")
		now := groupsByName(t, tg.must("getTagGroups", "f40-build"))
		if len(now) != 1 || !reflect.DeepEqual(pkgNames(now["build"]), []string{"bash"}) || len(reqNames(now["build"])) != 0 {
			t.Errorf("after removals: %v", now)
		}
		// the history stays: as of ev1, everything is there
		then := groupsByName(t, tg.must("getTagGroups", "f40-build", ev1))
		if len(then) != 2 || !reflect.DeepEqual(pkgNames(then["build"]), []string{"bash", "make"}) || !reflect.DeepEqual(reqNames(then["build"]), []string{"srpm-build"}) {
			t.Errorf("as of event %d: %v", ev1, then)
		}
		if before := tg.must("getTagGroups", "f40-build", kw{"event": ev0}).([]any); len(before) != 0 {
			t.Errorf("as of event %d, before any group: %v", ev0, before)
		}
		ev2 := lastEvent(t, tg)
		if ev2 != ev1+3 {
			t.Errorf("3 removals made events %d..%d", ev1, ev2)
		}
		if f := tg.fault(kojixml.GenericError, "groupListRemove", "f40-build", "srpm-build"); f.String != "No group: srpm-build found for tag: f40-build" {
			t.Errorf("second remove = %q", f.String)
		}
		tg.must("groupListRemove", "f40-build", "srpm-build", kw{"force": true})
		if ev := lastEvent(t, tg); ev != ev2 {
			t.Errorf("removes of nothing made events %d -> %d", ev2, ev)
		}
		// a removed group comes back as new, with Koji's defaults
		tg.must("groupListAdd", "f40-build", "srpm-build", kw{"biarchonly": nil})
		g := groupsByName(t, tg.must("getTagGroups", "f40-build"))["srpm-build"]
		if g["display_name"] != "srpm-build" || g["exported"] != true || g["uservisible"] != true || g["biarchonly"] != nil || len(pkgNames(g)) != 0 {
			t.Errorf("re-added group = %v", g)
		}
	})
}

func TestTagGroupsPermissions(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		th.addUser("tagger", "pw", "tag")
		tg := th.login("tagger", "pw")
		th.addUser("alice", "pw")
		alice := th.login("alice", "pw")
		admin := th.login(th.ensureAdmin(), "adminpw")
		tg.must("createTag", "t")
		tg.must("groupListAdd", "t", "build")
		tg.must("groupListAdd", "t", "srpm-build")
		tg.must("groupPackageListAdd", "t", "build", "bash")
		ev := lastEvent(t, tg)
		calls := []struct {
			method string
			args   []any
		}{
			{"groupListAdd", []any{"t", "new"}},
			{"groupListBlock", []any{"t", "build"}},
			{"groupListUnblock", []any{"t", "build"}},
			{"groupListRemove", []any{"t", "build"}},
			{"groupPackageListAdd", []any{"t", "build", "gcc"}},
			{"groupPackageListBlock", []any{"t", "build", "bash"}},
			{"groupPackageListUnblock", []any{"t", "build", "bash"}},
			{"groupPackageListRemove", []any{"t", "build", "bash"}},
			{"groupReqListAdd", []any{"t", "build", "srpm-build"}},
			{"groupReqListBlock", []any{"t", "build", "srpm-build"}},
			{"groupReqListUnblock", []any{"t", "build", "srpm-build"}},
			{"groupReqListRemove", []any{"t", "build", "srpm-build"}},
		}
		for _, c := range calls {
			th.anon().fault(kojixml.AuthError, c.method, c.args...)
			if f := alice.fault(kojixml.ActionNotAllowed, c.method, c.args...); f.String != "tag permission required (logged in as alice)" {
				t.Errorf("%s as alice = %q", c.method, f.String)
			}
		}
		if now := lastEvent(t, tg); now != ev {
			t.Errorf("refused calls made events %d -> %d", ev, now)
		}
		if _, err := th.store.GetGroupByName(context.Background(), "new"); err == nil {
			t.Errorf("a refused groupListAdd created the group")
		}
		// anyone reads; admin writes without the tag permission
		if g := th.anon().must("getTagGroups", "t").([]any); len(g) != 2 {
			t.Errorf("anonymous getTagGroups = %v", g)
		}
		admin.must("groupPackageListAdd", "t", "build", "gcc")
	})
}

func TestTagGroupsBadArguments(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		th.addUser("tagger", "pw", "tag")
		tg := th.login("tagger", "pw")
		tg.must("createTag", "t")
		tg.must("groupListAdd", "t", "build")
		ev := lastEvent(t, tg)
		long := strings.Repeat("g", 51)
		for _, c := range []struct {
			method string
			args   []any
			code   int
			msg    string // the whole message, when given
		}{
			{"getTagGroups", []any{"nosuch"}, kojixml.GenericError, "No such entry in table tag: nosuch"},
			{"getTagGroups", []any{int64(999)}, kojixml.GenericError, "No such entry in table tag: 999"},
			{"getTagGroups", []any{3.5}, kojixml.ParameterError, ""},
			{"getTagGroups", []any{"t", "notanevent"}, kojixml.ParameterError, ""},
			{"getTagGroups", []any{"t", kw{"bogus": true}}, kojixml.ParameterError, ""},
			{"getTagGroups", []any{}, kojixml.ParameterError, ""},
			{"groupListAdd", []any{"nosuch", "build"}, kojixml.GenericError, "No such tagInfo: 'nosuch'"},
			{"groupListAdd", []any{"t", int64(999)}, kojixml.GenericError, "Name must be a string"},
			{"groupListAdd", []any{"t", 3.5}, kojixml.ParameterError, ""},
			{"groupListAdd", []any{"t", []any{"build"}}, kojixml.ParameterError, ""},
			{"groupListAdd", []any{"t", map[string]any{"nothing": 1}}, kojixml.ParameterError, ""},
			{"groupListAdd", []any{"t", long}, kojixml.NameValidationError, ""},
			{"groupListAdd", []any{"t", strings.Repeat("g", 100000)}, kojixml.NameValidationError, ""},
			{"groupListAdd", []any{"t", "bad name"}, kojixml.NameValidationError, ""},
			{"groupListAdd", []any{"t", "bad\x00"}, kojixml.NameValidationError, ""},
			{"groupListAdd", []any{"t", "../x"}, kojixml.NameValidationError, ""},
			{"groupListAdd", []any{"t", "<x>"}, kojixml.NameValidationError, ""},
			{"groupListAdd", []any{"t", ""}, kojixml.NameValidationError, ""},
			{"groupListAdd", []any{"t", "g", kw{"display_name": strings.Repeat("d", 2000)}}, kojixml.ParameterError, ""},
			{"groupListAdd", []any{"t", "g", kw{"description": strings.Repeat("d", 70000)}}, kojixml.ParameterError, ""},
			{"groupListAdd", []any{"t", "g", kw{"is_default": "yes"}}, kojixml.ParameterError, ""},
			{"groupListAdd", []any{"t", "g", kw{"uservisible": int64(1)}}, kojixml.ParameterError, ""},
			{"groupListAdd", []any{"t", "g", kw{"langonly": true}}, kojixml.ParameterError, ""},
			{"groupListAdd", []any{"t", "g", kw{"display_name": []any{"x"}}}, kojixml.ParameterError, ""},
			{"groupListAdd", []any{"t", "g", false, false, "extra"}, kojixml.ParameterError, ""},
			{"groupListAdd", []any{"t", "g", "notabool"}, kojixml.ParameterError, ""},
			{"groupListBlock", []any{"t", "g", kw{"force": true}}, kojixml.ParameterError, ""},
			{"groupListUnblock", []any{"t", "nosuch"}, kojixml.GenericError, "No such entry in table groups: nosuch"},
			{"groupListUnblock", []any{"nosuch", "build"}, kojixml.GenericError, "No such entry in table tag: nosuch"},
			{"groupListRemove", []any{"t", "nosuch"}, kojixml.GenericError, "No such entry in table groups: nosuch"},
			{"groupListRemove", []any{"nosuch", "build"}, kojixml.GenericError, "No such tagInfo: 'nosuch'"},
			{"groupPackageListAdd", []any{"t", "build", int64(5)}, kojixml.ParameterError, ""},
			{"groupPackageListAdd", []any{"t", "build", "two words"}, kojixml.NameValidationError, ""},
			{"groupPackageListAdd", []any{"t", "build", "x\ny"}, kojixml.NameValidationError, ""},
			{"groupPackageListAdd", []any{"t", "build", "a&b"}, kojixml.NameValidationError, ""},
			{"groupPackageListAdd", []any{"t", "build", strings.Repeat("p", 256)}, kojixml.NameValidationError, ""},
			{"groupPackageListAdd", []any{"t", "build", "p", kw{"type": strings.Repeat("t", 26)}}, kojixml.ParameterError, ""},
			{"groupPackageListAdd", []any{"t", "build", "p", kw{"type": true}}, kojixml.ParameterError, ""},
			{"groupPackageListAdd", []any{"t", "build", "p", kw{"basearchonly": "true"}}, kojixml.ParameterError, ""},
			{"groupPackageListAdd", []any{"t", "build", "p", kw{"requires": strings.Repeat("r", 300)}}, kojixml.ParameterError, ""},
			{"groupPackageListAdd", []any{"nosuch", "build", "p"}, kojixml.GenericError, "No such entry in table tag: nosuch"},
			{"groupPackageListAdd", []any{"t", int64(999), "p"}, kojixml.GenericError, "No such entry in table groups: 999"},
			{"groupPackageListUnblock", []any{"t", "build"}, kojixml.ParameterError, ""},
			{"groupPackageListRemove", []any{"t", "nosuch", "p"}, kojixml.GenericError, "No such entry in table groups: nosuch"},
			{"groupReqListAdd", []any{"t", "build", "build", kw{"is_metapkg": "yes"}}, kojixml.ParameterError, ""},
			{"groupReqListAdd", []any{"t", "build", "build", kw{"type": int64(1)}}, kojixml.ParameterError, ""},
			{"groupReqListAdd", []any{"t", "nosuch", "build"}, kojixml.GenericError, "No such entry in table groups: nosuch"},
			{"groupReqListUnblock", []any{"t", "build", "nosuch"}, kojixml.GenericError, "No such entry in table groups: nosuch"},
			{"groupReqListRemove", []any{"t", "build", "nosuch"}, kojixml.GenericError, "No such entry in table groups: nosuch"},
			{"groupReqListRemove", []any{"t", "build", "build", nil, "extra"}, kojixml.ParameterError, ""},
		} {
			f := tg.fault(c.code, c.method, c.args...)
			if c.msg != "" && f.String != c.msg {
				t.Errorf("%s%v = %q, want %q", c.method, c.args, f.String, c.msg)
			}
		}
		if now := lastEvent(t, tg); now != ev {
			t.Errorf("refused calls made events %d -> %d", ev, now)
		}
		for _, name := range []string{"g", long} {
			if _, err := th.store.GetGroupByName(context.Background(), name); err == nil {
				t.Errorf("a refused call created group %q", name)
			}
		}
		// a group by id or by struct, as Koji's name_or_id
		g, _ := th.store.GetGroupByName(context.Background(), "build")
		tg.must("groupPackageListAdd", "t", g.ID, "bash")
		tg.must("groupPackageListAdd", "t", map[string]any{"name": "build"}, "gcc")
		if p := pkgNames(groupsByName(t, tg.must("getTagGroups", "t"))["build"]); !reflect.DeepEqual(p, []string{"bash", "gcc"}) {
			t.Errorf("packages = %v", p)
		}
	})
}

// TestRepoCompsAsKoji: the comps.xml a repo of a small tag gets is what
// Koji's generate_comps(readTagGroups(tag), expand_groups=True) writes
// (expected text derived from koji/__init__.py for the same groups).
func TestRepoCompsAsKoji(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		th.addUser("tagger", "pw", "tag")
		tg := th.login("tagger", "pw")
		tg.must("createTag", "base")
		child := tg.must("createTag", "child", kw{"parent": "base"}).(int64)
		tg.must("groupListAdd", "base", "build", kw{"display_name": "Buildsystem building group"})
		for _, p := range []string{"bash", "gcc"} {
			tg.must("groupPackageListAdd", "base", "build", p)
		}
		tg.must("groupPackageListAdd", "base", "build", "make", kw{"type": "default", "basearchonly": true})
		tg.must("groupPackageListAdd", "base", "build", "glibc-langpack", kw{"type": "conditional", "requires": "glibc"})
		tg.must("groupListAdd", "base", "srpm-build", kw{"description": "Source RPMs", "is_default": true})
		for _, p := range []string{"rpm-build", "bash", "fedpkg-minimal"} {
			tg.must("groupPackageListAdd", "base", "srpm-build", p)
		}
		tg.must("groupReqListAdd", "base", "build", "srpm-build")
		tg.must("groupListAdd", "base", "appliance")
		tg.must("groupPackageListAdd", "base", "appliance", "appliance-tools")
		// the child blocks gcc and the appliance group, and adds a package
		tg.must("groupPackageListBlock", "child", "build", "gcc")
		tg.must("groupPackageListAdd", "child", "build", "redhat-rpm-config")
		tg.must("groupListBlock", "child", "appliance")

		want := `<?xml version="1.0"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">

<!-- Auto-generated by the build system -->
<comps>
  <group>
    <id>build</id>
    <name>Buildsystem building group</name>
    <description>None</description>
    <default>false</default>
    <uservisible>true</uservisible>
    <packagelist>
      <packagereq type="mandatory">bash</packagereq>
      <packagereq type="conditional" requires="glibc">glibc-langpack</packagereq>
      <packagereq type="default" basearchonly="true">make</packagereq>
      <packagereq type="mandatory">redhat-rpm-config</packagereq>
      <!-- Expanding Group: srpm-build -->
      <packagereq type="mandatory">fedpkg-minimal</packagereq>
      <packagereq type="mandatory">rpm-build</packagereq>
    </packagelist>
  </group>
  <group>
    <id>srpm-build</id>
    <name>srpm-build</name>
    <description>Source RPMs</description>
    <default>true</default>
    <uservisible>true</uservisible>
    <packagelist>
      <packagereq type="mandatory">bash</packagereq>
      <packagereq type="mandatory">fedpkg-minimal</packagereq>
      <packagereq type="mandatory">rpm-build</packagereq>
    </packagelist>
  </group>
</comps>
`
		var b bytes.Buffer
		if err := th.hub.writeRepoComps(context.Background(), &b, child, nil); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Errorf("repo comps of child:\n%s\nwant\n%s", b.String(), want)
		}
		// as of an event before the child's changes, gcc and appliance are there
		ev := lastEvent(t, tg) - 3
		b.Reset()
		if err := th.hub.writeRepoComps(context.Background(), &b, child, &ev); err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"<id>appliance</id>", ">gcc</packagereq>"} {
			if !strings.Contains(b.String(), s) {
				t.Errorf("repo comps as of event %d lacks %s:\n%s", ev, s, b.String())
			}
		}
	})
}

// TestImportCompsRoundTrip imports a Fedora-style comps.xml through the hub
// methods as import-comps calls them, reads it back with getTagGroups and
// writes it again: the same comps.xml as the file's groups give.
func TestImportCompsRoundTrip(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		f, err := os.Open("../internal/comps/testdata/fedora-style.xml")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		groups, err := comps.Read(f)
		if err != nil {
			t.Fatal(err)
		}
		th.addUser("tagger", "pw", "tag")
		tg := th.login("tagger", "pw")
		tag := tg.must("createTag", "f40-build").(int64)
		for _, g := range groups {
			var desc, lang any
			if g.Description != nil {
				desc = *g.Description
			}
			if g.LangOnly != nil {
				lang = *g.LangOnly
			}
			tg.must("groupListAdd", "f40-build", g.ID, kw{"force": nil, "display_name": g.Name, "is_default": g.Default,
				"uservisible": g.UserVisible, "description": desc, "langonly": lang, "biarchonly": g.BiarchOnly})
			for _, p := range g.Packages {
				opts := kw{"force": nil, "type": p.Type, "basearchonly": p.BasearchOnly}
				if p.Type == "conditional" {
					opts["requires"] = p.Requires
				}
				tg.must("groupPackageListAdd", "f40-build", g.ID, p.Name, opts)
			}
		}
		for _, g := range groups {
			for _, r := range g.Groups {
				// core and fonts: fonts is no group of the file, so Koji refuses it
				_, err := tg.call("groupReqListAdd", "f40-build", g.ID, r.Name, kw{"type": r.Type, "is_metapkg": r.IsMetapkg})
				if (err != nil) != (r.Name == "fonts") {
					t.Errorf("groupReqListAdd %s -> %s: %v", g.ID, r.Name, err)
				}
			}
		}
		got := groupsByName(t, tg.must("getTagGroups", "f40-build"))
		if len(got) != len(groups) {
			t.Fatalf("%d groups back, want %d", len(got), len(groups))
		}
		fr := got["french-support"]
		if fr["langonly"] != "fr" || fr["biarchonly"] != true || fr["description"] != "Support pour le français" || fr["is_default"] != false {
			t.Errorf("french-support = %v", fr)
		}
		if p := pkgNames(got["build"]); len(p) != 22 {
			t.Errorf("build packages = %v", p)
		}
		// what the hub writes is what the file's groups write
		for i := range groups {
			var kept []comps.GroupReq
			for _, r := range groups[i].Groups {
				if r.Name != "fonts" {
					kept = append(kept, r)
				}
			}
			groups[i].Groups = kept
		}
		stored, err := th.hub.tagCompsGroups(context.Background(), tag, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, expand := range []bool{false, true} {
			var want, have bytes.Buffer
			comps.Write(&want, groups, comps.WriteOptions{ExpandGroups: expand})
			comps.Write(&have, stored, comps.WriteOptions{ExpandGroups: expand})
			if have.String() != want.String() {
				t.Errorf("comps written from the hub (expand %v):\n%s\nwant\n%s", expand, have.String(), want.String())
			}
		}
	})
}
