package hubcore

import (
	"context"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// cloneFixture is a source tag with everything clone-tag copies: config
// (arches, permission, extra), an inherited parent, packages (one
// blocked, one with extra arches), builds (two of foo, one of a blocked
// package), and groups (a package of another type, a blocked package, a
// requirement, a blocked group).
func cloneFixture(t *testing.T, th *testHub) (admin, tagger *client) {
	t.Helper()
	admin = th.login(th.ensureAdmin(), "adminpw")
	th.addUser("tagger", "pw", "tag")
	tagger = th.login("tagger", "pw")
	admin.must("createTag", "base")
	admin.must("createTag", "src", kw{"parent": "base", "arches": "x86_64 aarch64", "perm": "tag", "extra": map[string]any{"a": "b", "n": int64(1)}})
	admin.must("packageListAdd", "base", "inh", kw{"owner": "tagger"})
	admin.must("packageListAdd", "src", "foo", kw{"owner": "tagger"})
	admin.must("packageListAdd", "src", "bar", kw{"owner": "kojiadmin"})
	admin.must("packageListAdd", "src", "baz", kw{"owner": "kojiadmin", "extra_arches": "i686"})
	for _, nvr := range [][3]string{{"inh", "1", "1"}, {"foo", "1", "1"}, {"foo", "1", "2"}, {"bar", "1", "1"}, {"qux", "1", "1"}, {"foo", "0.9", "1"}, {"nob", "1", "1"}} {
		admin.must("createEmptyBuild", nvr[0], nvr[1], nvr[2], nil)
	}
	admin.must("tagBuildBypass", "base", "inh-1-1")
	admin.must("tagBuildBypass", "src", "foo-1-1")
	admin.must("tagBuildBypass", "src", "foo-1-2")
	admin.must("tagBuildBypass", "src", "bar-1-1")
	admin.must("packageListBlock", "src", "bar")
	admin.must("groupListAdd", "src", "build", kw{"display_name": "Build", "description": "the buildroot"})
	admin.must("groupListAdd", "src", "srpm-build")
	admin.must("groupListAdd", "src", "gone")
	admin.must("groupListBlock", "src", "gone")
	admin.must("groupPackageListAdd", "src", "build", "foo")
	admin.must("groupPackageListAdd", "src", "build", "bash", kw{"type": "optional"})
	admin.must("groupPackageListAdd", "src", "build", "zsh")
	admin.must("groupPackageListBlock", "src", "build", "zsh")
	admin.must("groupPackageListAdd", "src", "srpm-build", "rpm-build")
	admin.must("groupReqListAdd", "src", "build", "srpm-build")
	return admin, tagger
}

// taggedNVRs is listTagged's NVRs, newest first.
func ctTagged(c *client, tag string, opts ...any) []string {
	var out []string
	for _, x := range c.must("listTagged", append([]any{tag}, opts...)...).([]any) {
		out = append(out, x.(map[string]any)["nvr"].(string))
	}
	return out
}

// pkgList is listPackages(tag, inherited=True) as "name owner [blocked] [arches]".
func ctPkgs(c *client, tag string) []string {
	var out []string
	for _, x := range c.must("listPackages", kw{"tagID": tag, "inherited": true}).([]any) {
		p := x.(map[string]any)
		s := p["package_name"].(string) + " " + p["owner_name"].(string)
		if p["blocked"] == true {
			s += " blocked"
		}
		if a, _ := p["extra_arches"].(string); a != "" {
			s += " " + a
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// groupSummary is getTagGroups(tag) as "group: pkg/type ... reqs: ..." lines.
func ctGroups(c *client, tag string, extra ...any) []string {
	var out []string
	for _, x := range c.must("getTagGroups", append([]any{tag}, extra...)...).([]any) {
		g := x.(map[string]any)
		s := g["name"].(string) + "(" + g["display_name"].(string) + ")"
		if g["blocked"] == true {
			s += " blocked"
		}
		s += ":"
		var ps []string
		for _, p := range g["packagelist"].([]any) {
			pm := p.(map[string]any)
			e := pm["package"].(string) + "/" + pm["type"].(string)
			if pm["blocked"] == true {
				e += "/blocked"
			}
			ps = append(ps, e)
		}
		sort.Strings(ps)
		s += " " + strings.Join(ps, " ")
		var rs []string
		for _, r := range g["grouplist"].([]any) {
			rm := r.(map[string]any)
			e := rm["name"].(string)
			if rm["blocked"] == true {
				e += "/blocked"
			}
			rs = append(rs, e)
		}
		sort.Strings(rs)
		s += " reqs: " + strings.Join(rs, " ")
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func ctLastEvent(c *client) int64 {
	return c.must("getLastEvent").(map[string]any)["id"].(int64)
}

func ctEq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func TestSnapshotTag(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin, tagger := cloneFixture(t, th)
		anon := th.anon()
		before := ctLastEvent(anon)
		tagger.must("snapshotTag", "src", "dst")
		dst := anon.must("getTag", "dst").(map[string]any)
		ctEq(t, "dst arches", dst["arches"], "x86_64 aarch64")
		ctEq(t, "dst perm", dst["perm"], "tag")
		ctEq(t, "dst locked", dst["locked"], false)
		ctEq(t, "dst extra", dst["extra"], map[string]any{"a": "b", "n": int64(1)})
		ctEq(t, "dst inheritance", anon.must("getInheritanceData", "dst"), []any{})
		wantPkgs := []string{"bar kojiadmin blocked", "baz kojiadmin i686", "foo tagger", "inh tagger"}
		ctEq(t, "dst packages", ctPkgs(anon, "dst"), wantPkgs)
		// own entries, not inherited ones
		ctEq(t, "dst own packages", len(anon.must("listPackages", kw{"tagID": "dst"}).([]any)), 4)
		// latest only, inherited builds too; the blocked package's build is left
		ctEq(t, "dst builds", ctTagged(anon, "dst"), []string{"foo-1-2", "inh-1-1"})
		wantGroups := []string{
			"build(Build): bash/optional foo/mandatory reqs: srpm-build",
			"srpm-build(srpm-build): rpm-build/mandatory reqs: ",
		}
		ctEq(t, "dst groups", ctGroups(anon, "dst"), wantGroups)
		ctEq(t, "dst groups incl_blocked", ctGroups(anon, "dst", kw{"incl_blocked": true}), wantGroups)

		// history: the tag, then one event per package, build, group, group
		// package and requirement, each by the caller
		h := anon.must("queryHistory", kw{"tag": "dst"}).(map[string]any)
		events := map[int64]string{}
		count := 0
		for _, table := range []string{"tag_config", "tag_extra", "tag_packages", "tag_listing", "group_config", "group_package_listing", "group_req_listing"} {
			for _, r := range histRows(t, h, table) {
				count++
				ev := r["create_event"].(int64)
				if ev <= before {
					t.Errorf("%s row made at event %d, before the call (%d)", table, ev, before)
				}
				if r["creator_name"] != "tagger" || r["active"] != true {
					t.Errorf("%s row = %v, want active, by tagger", table, r)
				}
				if table == "tag_extra" || table == "tag_config" {
					continue // made with the tag, one event
				}
				if prev, dup := events[ev]; dup {
					t.Errorf("%s and %s share event %d", table, prev, ev)
				}
				events[ev] = table
			}
		}
		// tag_config + 2 extra + 4 packages + 2 builds + 2 groups + 3 group packages + 1 requirement
		ctEq(t, "history rows", count, 15)
		tl := histRows(t, h, "tag_listing")
		if len(tl) != 2 || tl[0]["name"] != "inh" || tl[1]["name"] != "foo" || tl[0]["create_event"].(int64) >= tl[1]["create_event"].(int64) {
			t.Errorf("tag_listing history = %v, want inh then foo (oldest first)", tl)
		}
		if cfg := histRows(t, h, "tag_config"); len(cfg) != 1 || cfg[0]["create_event"].(int64) >= tl[0]["create_event"].(int64) {
			t.Errorf("tag_config history = %v, want one row before the builds", cfg)
		}

		// nothing but the tag
		tagger.must("snapshotTag", "src", "bare", kw{"config": nil, "pkgs": nil, "builds": nil, "groups": nil, "latest_only": nil, "inherit_builds": nil})
		bare := anon.must("getTag", "bare").(map[string]any)
		ctEq(t, "bare arches", bare["arches"], nil)
		ctEq(t, "bare perm", bare["perm"], nil)
		ctEq(t, "bare extra", bare["extra"], map[string]any{})
		ctEq(t, "bare packages", len(anon.must("listPackages", kw{"tagID": "bare"}).([]any)), 0)
		ctEq(t, "bare groups", len(anon.must("getTagGroups", "bare").([]any)), 0)

		// all builds, own only, by position
		tagger.must("snapshotTag", "src", "all", false, true, true, false, false, false)
		ctEq(t, "all builds", ctTagged(anon, "all"), []string{"foo-1-2", "foo-1-1"})
		ctEq(t, "all groups", len(anon.must("getTagGroups", "all").([]any)), 0)
		ctEq(t, "all arches", anon.must("getTag", "all").(map[string]any)["arches"], nil)
		// latest_only=N keeps the newest N per package
		tagger.must("snapshotTag", "src", "two", kw{"latest_only": int64(2), "groups": false})
		ctEq(t, "latest_only=2 builds", ctTagged(anon, "two"), []string{"foo-1-2", "foo-1-1", "inh-1-1"})

		// as of an event: before foo-1-2, the extra's n and the arches
		ev := ctLastEvent(anon)
		admin.must("tagBuildBypass", "src", "foo-0.9-1")
		admin.must("editTag2", "src", kw{"arches": "s390x", "remove_extra": []any{"n"}})
		tagger.must("snapshotTag", "src", "past", kw{"event": ev, "latest_only": false, "inherit_builds": false})
		ctEq(t, "past builds", ctTagged(anon, "past"), []string{"foo-1-2", "foo-1-1"})
		past := anon.must("getTag", "past").(map[string]any)
		ctEq(t, "past arches", past["arches"], "x86_64 aarch64")
		ctEq(t, "past extra", past["extra"], map[string]any{"a": "b", "n": int64(1)})
		tagger.must("snapshotTag", "src", "now", kw{"latest_only": false, "inherit_builds": false})
		ctEq(t, "now builds", ctTagged(anon, "now"), []string{"foo-0.9-1", "foo-1-2", "foo-1-1"})

		// refusals change nothing
		n := ctLastEvent(anon)
		th.addUser("alice", "pw")
		alice := th.login("alice", "pw")
		alice.fault(kojixml.ActionNotAllowed, "snapshotTag", "src", "x1")
		anon.fault(kojixml.AuthError, "snapshotTag", "src", "x1")
		if f := tagger.fault(kojixml.ParameterError, "snapshotTag", "src", "x1", kw{"pkgs": false}); f.String != "builds can't be used without pkgs in snapshotTag" {
			t.Errorf("builds without pkgs: %q", f.String)
		}
		for _, dstName := range []any{"src", "dst", ctTagID(anon, "base")} {
			if f := tagger.fault(kojixml.GenericError, "snapshotTag", "src", dstName); f.String != "Target tag already exists" {
				t.Errorf("snapshotTag(src, %v): %q", dstName, f.String)
			}
		}
		if f := tagger.fault(kojixml.GenericError, "snapshotTag", "nosuch", "x1"); f.String != "No such tagInfo: 'nosuch'" {
			t.Errorf("missing src: %q", f.String)
		}
		if f := tagger.fault(kojixml.GenericError, "snapshotTag", "src", int64(999999)); f.String != "Name should be string" {
			t.Errorf("numeric dst: %q", f.String)
		}
		tagger.fault(kojixml.NameValidationError, "snapshotTag", "src", "bad name")
		tagger.fault(kojixml.NameValidationError, "snapshotTag", "src", strings.Repeat("x", 300))
		tagger.fault(kojixml.ParameterError, "snapshotTag", "src", []any{"x"})
		tagger.fault(kojixml.ParameterError, "snapshotTag", "src", "x1", kw{"config": "yes"})
		tagger.fault(kojixml.ParameterError, "snapshotTag", "src", "x1", kw{"event": "soon"})
		tagger.fault(kojixml.ParameterError, "snapshotTag", "src", "x1", kw{"latest_only": 1.5})
		tagger.fault(kojixml.ParameterError, "snapshotTag", "src", "x1", kw{"inherited": true})
		tagger.fault(kojixml.ParameterError, "snapshotTag", "src", "x1", kw{"remove": true})
		tagger.fault(kojixml.ParameterError, "snapshotTag", "src")
		// the source did not exist yet at event 1
		if f := tagger.fault(kojixml.GenericError, "snapshotTag", "src", "x1", kw{"event": int64(1)}); f.String != "No such tagInfo: 'src'" {
			t.Errorf("src before its creation: %q", f.String)
		}
		admin.must("editTag2", "src", kw{"locked": true})
		n = ctLastEvent(anon)
		if f := tagger.fault(kojixml.GenericError, "snapshotTag", "src", "x1"); f.String != "Source tag is locked, use force to copy" {
			t.Errorf("locked src: %q", f.String)
		}
		ctEq(t, "events after refusals", ctLastEvent(anon), n)
		if v := anon.must("getTag", "x1"); v != nil {
			t.Errorf("a refused snapshot made x1: %v", v)
		}
		// force copies a locked tag, lock included; the copy is complete
		tagger.must("snapshotTag", "src", "x1", kw{"force": true})
		ctEq(t, "forced copy locked", anon.must("getTag", "x1").(map[string]any)["locked"], true)
		ctEq(t, "forced copy builds", ctTagged(anon, "x1"), []string{"foo-0.9-1", "inh-1-1"})
	})
}

func ctTagID(c *client, tag string) int64 {
	return c.must("getTag", tag).(map[string]any)["id"].(int64)
}

func TestSnapshotTagModify(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin, tagger := cloneFixture(t, th)
		anon := th.anon()
		// dst: other config, a package src lacks (with a build), a
		// package whose build src lacks, foo's builds in another order
		// and one src lacks; a group src lacks, one inherited, and the
		// build group with a package src lacks
		admin.must("createTag", "dparent")
		admin.must("createTag", "dst", kw{"parent": "dparent", "arches": "ppc64le", "extra": map[string]any{"old": int64(1), "a": "x"}})
		admin.must("packageListAdd", "src", "nob", kw{"owner": "tagger"})
		for _, p := range []string{"foo", "qux", "nob"} {
			admin.must("packageListAdd", "dst", p, kw{"owner": "kojiadmin"})
		}
		for _, nvr := range []string{"foo-1-2", "foo-0.9-1", "foo-1-1", "qux-1-1", "nob-1-1"} {
			admin.must("tagBuildBypass", "dst", nvr)
		}
		admin.must("groupListAdd", "dparent", "parent-grp")
		admin.must("groupListAdd", "dst", "dst-only")
		admin.must("groupListAdd", "dst", "build")
		admin.must("groupPackageListAdd", "dst", "build", "foo")
		admin.must("groupPackageListAdd", "dst", "build", "extra-pkg")
		admin.must("groupPackageListAdd", "dst", "build", "bash")

		before := ctLastEvent(anon)
		tagger.must("snapshotTagModify", "src", "dst", kw{"latest_only": false, "inherit_builds": false, "remove": true})
		d := anon.must("getTag", "dst").(map[string]any)
		ctEq(t, "dst arches", d["arches"], "x86_64 aarch64")
		ctEq(t, "dst perm", d["perm"], "tag")
		ctEq(t, "dst extra", d["extra"], map[string]any{"a": "b", "n": int64(1)})
		// inheritance stays
		if l := anon.must("getInheritanceData", "dst").([]any); len(l) != 1 {
			t.Errorf("dst inheritance = %v", l)
		}
		// qux is blocked (dst's owner kept); src's packages added; dst's
		// foo and nob entries are left as they were
		ctEq(t, "dst packages", ctPkgs(anon, "dst"), []string{"bar kojiadmin blocked", "baz kojiadmin i686", "foo kojiadmin", "inh tagger", "nob kojiadmin", "qux kojiadmin blocked"})
		// foo: src's two builds in src's order, foo-0.9-1 (src lacks it)
		// untagged; nob-1-1 untagged (src has no nob build); qux-1-1 is
		// still tagged, but listTagged leaves it out as Koji's does, since
		// its package is blocked
		ctEq(t, "dst builds", ctTagged(anon, "dst"), []string{"foo-1-2", "foo-1-1"})
		if !slices.ContainsFunc(anon.must("listTags", "qux-1-1").([]any), func(x any) bool { return x.(map[string]any)["name"] == "dst" }) {
			t.Errorf("qux-1-1 is no longer tagged in dst")
		}
		ctEq(t, "dst latest", ctTagged(anon, "dst", kw{"latest": true, "package": "foo"}), []string{"foo-1-2"})
		ctEq(t, "dst groups", ctGroups(anon, "dst"), []string{
			"build(build): bash/mandatory foo/mandatory reqs: srpm-build",
			"srpm-build(srpm-build): rpm-build/mandatory reqs: ",
		})
		ctEq(t, "dst groups incl_blocked", ctGroups(anon, "dst", kw{"incl_blocked": true}), []string{
			"build(build): bash/mandatory foo/mandatory zsh/mandatory/blocked reqs: srpm-build",
			"gone(gone) blocked:  reqs: ",
			"parent-grp(parent-grp) blocked:  reqs: ",
			"srpm-build(srpm-build): rpm-build/mandatory reqs: ",
		})

		// history: every change its own event, after the call began, with
		// revokes by the caller
		h := anon.must("queryHistory", kw{"tag": "dst", "afterEvent": before}).(map[string]any)
		tl := histRows(t, h, "tag_listing")
		var lines []string
		for _, r := range tl {
			nvr := r["name"].(string) + "-" + r["version"].(string) + "-" + r["release"].(string)
			if ev, _ := r["revoke_event"].(int64); ev > before {
				lines = append(lines, "untag "+nvr+" by "+r["revoker_name"].(string))
			}
			if ev := r["create_event"].(int64); ev > before {
				lines = append(lines, "tag "+nvr+" by "+r["creator_name"].(string))
			}
		}
		sort.Strings(lines)
		// dst had foo-1-2, foo-0.9-1, foo-1-1 (newest last): foo-0.9-1
		// goes; foo-1-2 is out of order, untagged and tagged again
		ctEq(t, "tag_listing changes", lines, []string{
			"tag foo-1-2 by tagger",
			"untag foo-0.9-1 by tagger",
			"untag foo-1-2 by tagger",
			"untag nob-1-1 by tagger",
		})
		seen := map[int64]bool{}
		for _, table := range []string{"tag_packages", "tag_listing", "group_config", "group_package_listing", "group_req_listing"} {
			for _, r := range histRows(t, h, table) {
				for _, k := range []string{"create_event", "revoke_event"} {
					ev, _ := r[k].(int64)
					if ev <= before {
						continue
					}
					if k == "create_event" && seen[ev] && r["revoke_event"] == nil {
						// a create sharing an event with a revoke of the same key is an edit
						continue
					}
					seen[ev] = true
				}
			}
		}
		if len(seen) < 10 {
			t.Errorf("changes made under %d events, want one each", len(seen))
		}

		// a second run changes nothing
		n := ctLastEvent(anon)
		tagger.must("snapshotTagModify", "src", "dst", kw{"latest_only": false, "inherit_builds": false, "remove": true})
		ctEq(t, "events after a second run", ctLastEvent(anon), n)

		// without remove, builds src lacks stay as the oldest
		admin.must("tagBuildBypass", "dst", "foo-0.9-1")
		tagger.must("snapshotTagModify", "src", "dst", kw{"latest_only": false, "inherit_builds": false})
		ctEq(t, "no-remove builds", ctTagged(anon, "dst", kw{"package": "foo"}), []string{"foo-1-2", "foo-1-1", "foo-0.9-1"})

		// latest only, inherited builds: foo-1-1 and foo-0.9-1 go
		tagger.must("snapshotTagModify", "src", "dst", kw{"remove": true})
		ctEq(t, "latest builds", ctTagged(anon, "dst"), []string{"inh-1-1", "foo-1-2"})

		// only what is asked for: a config change alone
		admin.must("editTag2", "src", kw{"arches": "riscv64", "extra": map[string]any{"z": true}})
		admin.must("tagBuildBypass", "src", "foo-0.9-1")
		tagger.must("snapshotTagModify", "src", "dst", false, true, false, false)
		ctEq(t, "pkgs only arches", anon.must("getTag", "dst").(map[string]any)["arches"], "x86_64 aarch64")
		ctEq(t, "pkgs only builds", ctTagged(anon, "dst", kw{"package": "foo"}), []string{"foo-1-2"})
		tagger.must("snapshotTagModify", "src", "dst", kw{"pkgs": false, "builds": false, "groups": false})
		d = anon.must("getTag", "dst").(map[string]any)
		ctEq(t, "config only arches", d["arches"], "riscv64")
		ctEq(t, "config only extra", d["extra"], map[string]any{"a": "b", "n": int64(1), "z": true})
		// as of an event
		ev := ctLastEvent(anon)
		admin.must("untagBuildBypass", "src", "foo-0.9-1")
		tagger.must("snapshotTagModify", "src", "dst", kw{"config": false, "groups": false, "event": ev, "remove": true})
		ctEq(t, "event builds", ctTagged(anon, "dst", kw{"package": "foo"}), []string{"foo-0.9-1"})

		// refusals
		n = ctLastEvent(anon)
		th.addUser("alice", "pw")
		th.login("alice", "pw").fault(kojixml.ActionNotAllowed, "snapshotTagModify", "src", "dst")
		if f := tagger.fault(kojixml.ParameterError, "snapshotTagModify", "src", "dst", kw{"pkgs": false}); f.String != "builds can't be used without pkgs in snapshotTag" {
			t.Errorf("builds without pkgs: %q", f.String)
		}
		if f := tagger.fault(kojixml.GenericError, "snapshotTagModify", "src", "nosuch"); f.String != "No such tagInfo: 'nosuch'" {
			t.Errorf("missing dst: %q", f.String)
		}
		if f := tagger.fault(kojixml.GenericError, "snapshotTagModify", "nosuch", "dst"); f.String != "No such tagInfo: 'nosuch'" {
			t.Errorf("missing src: %q", f.String)
		}
		tagger.fault(kojixml.ParameterError, "snapshotTagModify", "src", "dst", kw{"remove": "all"})
		tagger.fault(kojixml.ParameterError, "snapshotTagModify", "src", map[string]any{})
		admin.must("editTag2", "dst", kw{"locked": true})
		n = ctLastEvent(anon)
		if f := tagger.fault(kojixml.GenericError, "snapshotTagModify", "src", "dst"); f.String != "Source or destination tag is locked, use force to copy" {
			t.Errorf("locked dst: %q", f.String)
		}
		// with src locked too, config keeps dst locked (an unlocked src would unlock it first)
		admin.must("editTag2", "src", kw{"locked": true})
		n = ctLastEvent(anon)
		// force, but untagging in a locked dst needs an admin: all or nothing
		if f := tagger.fault(kojixml.ActionNotAllowed, "snapshotTagModify", "src", "dst", kw{"force": true, "remove": true, "latest_only": false}); f.String != "tag dst is locked" {
			t.Errorf("untag in a locked dst: %q", f.String)
		}
		ctEq(t, "events after refusals", ctLastEvent(anon), n)
		ctEq(t, "dst arches after refusals", anon.must("getTag", "dst").(map[string]any)["arches"], "riscv64")
		admin.must("snapshotTagModify", "src", "dst", kw{"force": true, "remove": true, "latest_only": false, "inherit_builds": false})
		ctEq(t, "admin forced builds", ctTagged(anon, "dst", kw{"package": "foo"}), []string{"foo-1-2", "foo-1-1"})
		ctEq(t, "admin forced lock", anon.must("getTag", "dst").(map[string]any)["locked"], true)
		admin.must("editTag2", "src", kw{"locked": false})
		admin.must("editTag2", "dst", kw{"locked": false})

		// a tag onto itself: nothing to do
		n = ctLastEvent(anon)
		tagger.must("snapshotTagModify", "src", ctTagID(anon, "src"), kw{"latest_only": false, "inherit_builds": false})
		ctEq(t, "events after a self copy", ctLastEvent(anon), n)
	})
}

func TestMassTag(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin, tagger := cloneFixture(t, th)
		anon := th.anon()
		admin.must("createTag", "mass")
		// massTag does not check the package list; listTagged shows only
		// the builds of listed packages, as Koji's
		for _, p := range []string{"foo", "qux"} {
			admin.must("packageListAdd", "mass", p, "kojiadmin")
		}
		// no package list check, order kept; a build already there is re-tagged
		id := anon.must("getBuild", "foo-1-1").(map[string]any)["id"].(int64)
		tagger.must("massTag", "mass", []any{"foo-1-2", id, "qux-1-1", map[string]any{"name": "foo", "version": "0.9", "release": "1"}})
		ctEq(t, "mass builds", ctTagged(anon, "mass"), []string{"foo-0.9-1", "qux-1-1", "foo-1-1", "foo-1-2"})
		n := ctLastEvent(anon)
		tagger.must("massTag", "mass", []any{"foo-1-2"})
		ctEq(t, "retagged", ctTagged(anon, "mass"), []string{"foo-1-2", "foo-0.9-1", "qux-1-1", "foo-1-1"})
		ctEq(t, "one event for a re-tag", ctLastEvent(anon), n+1)
		rows := histRows(t, anon.must("queryHistory", kw{"tables": []any{"tag_listing"}, "build": "foo-1-2", "tag": "mass"}), "tag_listing")
		if len(rows) != 2 || rows[0]["revoke_event"] != n+1 || rows[1]["create_event"] != n+1 || rows[0]["revoker_name"] != "tagger" || rows[1]["creator_name"] != "tagger" {
			t.Errorf("re-tag history = %v", rows)
		}
		tagger.must("massTag", "mass", []any{})
		ctEq(t, "events after an empty list", ctLastEvent(anon), n+1)

		// one bad build and nothing is tagged
		admin.must("createTag", "mass2")
		for _, p := range []string{"foo", "qux"} {
			admin.must("packageListAdd", "mass2", p, "kojiadmin")
		}
		n = ctLastEvent(anon)
		if f := tagger.fault(kojixml.GenericError, "massTag", "mass2", []any{"foo-1-1", "nosuch-1-1"}); f.String != "No such build: 'nosuch-1-1'" {
			t.Errorf("missing build: %q", f.String)
		}
		tagger.fault(kojixml.GenericError, "massTag", "mass2", []any{"foo-1-1", "notannvr"})
		tagger.fault(kojixml.ParameterError, "massTag", "mass2", []any{"foo-1-1", 1.5})
		tagger.fault(kojixml.ParameterError, "massTag", "mass2", "foo-1-1")
		tagger.fault(kojixml.ParameterError, "massTag", "mass2", nil)
		tagger.fault(kojixml.ParameterError, "massTag", "mass2")
		if f := tagger.fault(kojixml.GenericError, "massTag", "nosuch", []any{"foo-1-1"}); f.String != "No such tagInfo: 'nosuch'" {
			t.Errorf("missing tag: %q", f.String)
		}
		th.addUser("alice", "pw")
		th.login("alice", "pw").fault(kojixml.ActionNotAllowed, "massTag", "mass2", []any{"foo-1-1"})
		anon.fault(kojixml.AuthError, "massTag", "mass2", []any{"foo-1-1"})
		huge := make([]any, maxMassTag+1)
		for i := range huge {
			huge[i] = id
		}
		if _, err := tagger.call("massTag", "mass2", huge); err == nil || !strings.Contains(err.Error(), "exceeds the limit of 100000") {
			t.Errorf("massTag with %d builds: %v", len(huge), err)
		}
		// an incomplete build is refused, even here
		bid := admin.must("createEmptyBuild", "foo", "2", "1", nil).(int64)
		if err := th.store.SetBuildState(context.Background(), bid, db.BuildBuilding); err != nil {
			t.Fatal(err)
		}
		n = ctLastEvent(anon)
		if f := tagger.fault(kojixml.TagError, "massTag", "mass2", []any{"foo-1-1", "foo-2-1"}); f.String != "build foo-2-1 not complete: state BUILDING" {
			t.Errorf("incomplete build: %q", f.String)
		}
		ctEq(t, "events after refusals", ctLastEvent(anon), n)
		ctEq(t, "mass2 builds", len(ctTagged(anon, "mass2")), 0)
		// a locked tag is no obstacle
		admin.must("editTag2", "mass2", kw{"locked": true})
		many := make([]any, 3000)
		for i := range many {
			many[i] = []string{"foo-1-1", "foo-1-2", "qux-1-1"}[i%3]
		}
		tagger.must("massTag", "mass2", many)
		ctEq(t, "many builds", ctTagged(anon, "mass2"), []string{"qux-1-1", "foo-1-2", "foo-1-1"})
	})
}
