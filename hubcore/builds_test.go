package hubcore

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/rpmpack"

	"kojigo/db"
	"kojigo/internal/kojixml"
	"kojigo/internal/rpmhdr"
	"kojigo/internal/testenv"
)

// lastEvent returns the newest event id.
func lastEvent(t *testing.T, c *client) int64 {
	t.Helper()
	m, ok := c.must("getLastEvent").(map[string]any)
	if !ok {
		return 0
	}
	return m["id"].(int64)
}

func TestTagAdminAndEvents(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		th.addUser("alice", "pw")
		alice := th.login("alice", "pw")
		th.addUser("tagger", "pw", "tag")
		tagger := th.login("tagger", "pw")

		th.anon().fault(kojixml.AuthError, "createTag", "f40")
		if f := alice.fault(kojixml.ActionNotAllowed, "createTag", "f40"); !strings.Contains(f.String, "tag permission required") {
			t.Errorf("createTag as alice = %q", f.String)
		}
		before := lastEvent(t, admin)
		f40 := tagger.must("createTag", "f40", kw{"extra": map[string]any{"kojigo.min_disk_mb": int64(100)}}).(int64)
		ev1 := lastEvent(t, admin)
		if ev1 <= before {
			t.Errorf("createTag recorded no event: %d then %d", before, ev1)
		}
		if f := tagger.fault(kojixml.GenericError, "createTag", "f40"); f.String != "A tag with the name 'f40' already exists" {
			t.Errorf("duplicate createTag = %q", f.String)
		}
		for _, bad := range []struct {
			args []any
			code int
		}{
			{[]any{"bad name"}, kojixml.NameValidationError},
			{[]any{""}, kojixml.NameValidationError},
			{[]any{strings.Repeat("x", 300)}, kojixml.NameValidationError},
			{[]any{"../up"}, kojixml.NameValidationError},
			{[]any{".hidden"}, kojixml.NameValidationError},
			{[]any{"a;b"}, kojixml.NameValidationError},
			{[]any{"x", kw{"parent": "nosuch"}}, kojixml.GenericError},
			{[]any{"x", kw{"extra": "notastruct"}}, kojixml.ParameterError},
			{[]any{"x", kw{"bogus": true}}, kojixml.ParameterError},
			{[]any{"x", kw{"perm": "nosuchperm"}}, kojixml.GenericError},
			{[]any{"x", kw{"arches": []any{"x86_64'; DROP"}}}, kojixml.ParameterError},
			{[]any{"x", kw{"maven_support": true}}, kojixml.GenericError},
			{[]any{int64(5)}, kojixml.ParameterError},
		} {
			tagger.fault(bad.code, "createTag", bad.args...)
		}
		if ev := lastEvent(t, admin); ev != ev1 {
			t.Errorf("refused createTag calls recorded events: %d -> %d", ev1, ev)
		}
		build := tagger.must("createTag", "f40-build", kw{"parent": "f40", "arches": "x86_64 aarch64"}).(int64)
		tg := th.anon().must("getTag", "f40-build").(map[string]any)
		extra := th.anon().must("getBuildConfig", "f40-build").(map[string]any)["extra"].(map[string]any) // inherited (getTag has the own extra, as Koji)
		if tg["id"] != build || tg["arches"] != "x86_64 aarch64" || tg["locked"] != false || tg["perm"] != nil || extra["kojigo.min_disk_mb"] != int64(100) {
			t.Errorf("getTag(f40-build) = %v", tg)
		}
		if v := th.anon().must("getTag", "nosuch"); v != nil {
			t.Errorf("getTag(nosuch) = %v", v)
		}
		if f := th.anon().fault(kojixml.GenericError, "getTag", "nosuch", true); f.String != "No such tagInfo: 'nosuch'" {
			t.Errorf("strict getTag = %q", f.String)
		}
		inh := th.anon().must("getInheritanceData", "f40-build").([]any)
		if len(inh) != 1 || inh[0].(map[string]any)["parent_id"] != f40 || inh[0].(map[string]any)["name"] != "f40" {
			t.Errorf("getInheritanceData = %v", inh)
		}

		// editTag2 merges extra and records an event
		ev2 := lastEvent(t, admin)
		tagger.must("editTag2", "f40", kw{"extra": map[string]any{"mock.package_manager": "dnf"}, "locked": true, "perm": "admin"})
		if lastEvent(t, admin) <= ev2 {
			t.Error("editTag2 recorded no event")
		}
		tg = th.anon().must("getTag", f40).(map[string]any)
		if tg["locked"] != true || tg["perm"] != "admin" || len(tg["extra"].(map[string]any)) != 2 {
			t.Errorf("after editTag2: %v", tg)
		}
		tagger.fault(kojixml.ParameterError, "editTag2", "f40", kw{"nonsense": 1})
		tagger.fault(kojixml.GenericError, "editTag2", "f40", kw{"remove_extra": []any{"absent"}})
		alice.fault(kojixml.ActionNotAllowed, "editTag2", "f40", kw{"locked": false})
		tagger.must("editTag2", "f40", kw{"locked": false, "perm": nil, "remove_extra": []any{"mock.package_manager"}})

		// inheritance: a chain c -> b -> f40, then priorities
		tagger.must("createTag", "b", kw{"parent": "f40"})
		c := tagger.must("createTag", "c", kw{"parent": "b"}).(int64)
		full := th.anon().must("getFullInheritance", "c").([]any)
		if len(full) != 2 || full[0].(map[string]any)["name"] != "b" || full[1].(map[string]any)["name"] != "f40" ||
			full[1].(map[string]any)["currdepth"] != int64(2) {
			t.Errorf("getFullInheritance(c) = %v", full)
		}
		rev := th.anon().must("getFullInheritance", "f40", kw{"reverse": true}).([]any)
		if len(rev) != 3 {
			t.Errorf("reverse inheritance of f40 = %v, want f40-build, b, c", rev)
		}
		evBefore := lastEvent(t, admin)
		tagger.fault(kojixml.GenericError, "setInheritanceData", "c", []any{map[string]any{"parent_id": c, "priority": int64(5)}})
		tagger.fault(kojixml.GenericError, "setInheritanceData", "c", []any{map[string]any{"parent_id": f40, "priority": int64(0)}})
		tagger.fault(kojixml.ParameterError, "setInheritanceData", "c", []any{map[string]any{"parent_id": "f40", "priority": int64(0)}})
		tagger.fault(kojixml.GenericError, "setInheritanceData", "c", []any{map[string]any{"parent_id": int64(9999), "priority": int64(1)}})
		alice.fault(kojixml.ActionNotAllowed, "setInheritanceData", "c", []any{})
		if lastEvent(t, admin) != evBefore {
			t.Error("refused setInheritanceData recorded an event")
		}
		tagger.must("setInheritanceData", "c", []any{map[string]any{"parent_id": f40, "priority": int64(10), "maxdepth": int64(0)}})
		inh = th.anon().must("getInheritanceData", "c").([]any)
		if len(inh) != 2 {
			t.Errorf("after adding a parent: %v", inh)
		}
		evSet := lastEvent(t, admin)
		if evSet <= evBefore {
			t.Error("setInheritanceData recorded no event")
		}
		tagger.must("setInheritanceData", "c", []any{map[string]any{"parent_id": f40, "priority": int64(10)}}, kw{"clear": true})
		if inh := th.anon().must("getInheritanceData", "c").([]any); len(inh) != 1 || inh[0].(map[string]any)["parent_id"] != f40 {
			t.Errorf("after clear: %v", inh)
		}
		old := th.anon().must("getInheritanceData", "c", evSet).([]any)
		if len(old) != 2 {
			t.Errorf("getInheritanceData as of event %d = %v, want 2 links", evSet, old)
		}

		tags := th.anon().must("listTags").([]any)
		if len(tags) != 4 {
			t.Errorf("listTags = %d tags, want 4", len(tags))
		}
		if l := th.anon().must("listTags", kw{"pattern": "f40*"}).([]any); len(l) != 2 {
			t.Errorf("listTags(pattern=f40*) = %v", l)
		}
		evDel := lastEvent(t, admin)
		alice.fault(kojixml.ActionNotAllowed, "deleteTag", "c")
		tagger.must("deleteTag", "c")
		if lastEvent(t, admin) <= evDel {
			t.Error("deleteTag recorded no event")
		}
		if v := th.anon().must("getTag", "c"); v != nil {
			t.Errorf("getTag after delete = %v", v)
		}
		tagger.fault(kojixml.GenericError, "deleteTag", "c")
		tagger.must("createTag", "c") // the name is free again

		tagger.must("createTag", "archparent", kw{"arches": "x86_64 aarch64", "extra": map[string]any{"rpm.macro.dist": ".fc40"}})
		tagger.must("createTag", "archchild", kw{"parent": "archparent", "extra": map[string]any{"own": int64(1)}})
		bc := th.anon().must("getBuildConfig", "archchild").(map[string]any)
		if bc["arches"] != "x86_64 aarch64" || bc["extra"].(map[string]any)["rpm.macro.dist"] != ".fc40" || bc["extra"].(map[string]any)["own"] != int64(1) {
			t.Errorf("getBuildConfig(archchild) = %v", bc)
		}
		if tg := th.anon().must("getTag", "archchild").(map[string]any); tg["arches"] != nil {
			t.Errorf("getTag(archchild) arches = %v, want None (only getBuildConfig inherits them)", tg["arches"])
		}
		th.anon().fault(kojixml.GenericError, "getBuildConfig", "nosuch")
	})
}

func TestPackageListsAndTargets(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		th.addUser("alice", "pw")
		alice := th.login("alice", "pw")
		admin.must("createTag", "dest")
		admin.must("createTag", "dest-build", kw{"parent": "dest"})

		alice.fault(kojixml.ActionNotAllowed, "packageListAdd", "dest", "hello", "alice")
		th.anon().fault(kojixml.AuthError, "packageListAdd", "dest", "hello", "alice")
		if f := admin.fault(kojixml.GenericError, "packageListAdd", "dest", "hello"); f.String != "owner not specified" {
			t.Errorf("no owner = %q", f.String)
		}
		admin.fault(kojixml.GenericError, "packageListAdd", "nosuch", "hello", "alice")
		admin.fault(kojixml.GenericError, "packageListAdd", "dest", "hello", "nobody")
		admin.fault(kojixml.ParameterError, "packageListAdd", "dest", "hello", "alice", kw{"min_disk_mb": int64(-1)})
		admin.fault(kojixml.NameValidationError, "packageListAdd", "dest", "bad name", "alice")
		admin.fault(kojixml.NameValidationError, "packageListAdd", "dest", "..", "alice")
		admin.fault(kojixml.NameValidationError, "createBuildTarget", "x/y", "dest-build", "dest")
		ev := lastEvent(t, admin)
		admin.must("packageListAdd", "dest", "hello", "alice", kw{"min_disk_mb": int64(2048)})
		if lastEvent(t, admin) <= ev {
			t.Error("packageListAdd recorded no event")
		}
		ev = lastEvent(t, admin)
		admin.must("packageListAdd", "dest", "hello", "alice") // no change: no event
		if lastEvent(t, admin) != ev {
			t.Error("unchanged packageListAdd recorded an event")
		}
		pk := th.anon().must("listPackages", kw{"tagID": "dest-build", "inherited": true}).([]any)
		if len(pk) != 1 {
			t.Fatalf("inherited listPackages = %v", pk)
		}
		e := pk[0].(map[string]any)
		if e["package_name"] != "hello" || e["tag_name"] != "dest" || e["owner_name"] != "alice" || e["blocked"] != false || e["min_disk_mb"] != int64(2048) {
			t.Errorf("entry = %v", e)
		}
		if pk := th.anon().must("listPackages", kw{"tagID": "dest-build"}).([]any); len(pk) != 0 {
			t.Errorf("direct listPackages of dest-build = %v", pk)
		}
		admin.must("kojigo.setPackageConstraints", "dest", "hello", kw{"min_mem_mb": int64(512)})
		e = th.anon().must("listPackages", kw{"tagID": "dest", "pkgID": "hello"}).([]any)[0].(map[string]any)
		if e["min_mem_mb"] != int64(512) || e["min_disk_mb"] != nil {
			t.Errorf("after setPackageConstraints: %v", e)
		}
		admin.must("kojigo.setPackageConstraints", "dest", "hello", int64(2048), int64(512))
		admin.fault(kojixml.GenericError, "kojigo.setPackageConstraints", "dest", "nosuchpkg", int64(1))
		admin.fault(kojixml.ParameterError, "kojigo.setPackageConstraints", "dest", "hello", "big")
		alice.fault(kojixml.ActionNotAllowed, "kojigo.setPackageConstraints", "dest", "hello", int64(1))

		admin.fault(kojixml.GenericError, "packageListBlock", "dest", "absent")
		admin.must("packageListAdd", "dest", "other", "alice")
		admin.must("packageListBlock", "dest-build", "other")
		pk = th.anon().must("listPackages", kw{"tagID": "dest-build", "inherited": true}).([]any)
		blocked := map[string]bool{}
		for _, x := range pk {
			m := x.(map[string]any)
			blocked[m["package_name"].(string)] = m["blocked"].(bool)
		}
		if len(blocked) != 2 || !blocked["other"] || blocked["hello"] {
			t.Errorf("after block: %v", pk)
		}
		admin.must("editTag2", "dest", kw{"locked": true})
		if f := admin.fault(kojixml.ActionNotAllowed, "packageListAdd", "dest", "third", "alice"); f.String != "tag dest is locked" {
			t.Errorf("add to a locked tag = %q", f.String)
		}
		admin.must("packageListAdd", "dest", "third", "alice", kw{"force": true})
		admin.must("editTag2", "dest", kw{"locked": false})
		alice.fault(kojixml.ActionNotAllowed, "packageListUnblock", "dest-build", "other")
		admin.fault(kojixml.GenericError, "packageListUnblock", "dest", "hello")
		admin.fault(kojixml.GenericError, "packageListUnblock", "dest", "absent")
		admin.must("packageListUnblock", "dest-build", "other")
		e = th.anon().must("listPackages", kw{"tagID": "dest-build", "pkgID": "other", "inherited": true}).([]any)[0].(map[string]any)
		if e["blocked"] != false || e["tag_name"] != "dest" {
			t.Errorf("after unblock: %v", e)
		}
		all := th.anon().must("listPackages").([]any)
		if len(all) != 3 || all[0].(map[string]any)["package_name"] != "hello" {
			t.Errorf("listPackages() = %v, want hello, other, third", all)
		}
		if l := th.anon().must("listPackages", kw{"prefix": "oth"}).([]any); len(l) != 1 {
			t.Errorf("listPackages(prefix=oth) = %v", l)
		}
		admin.must("packageListSetOwner", "dest", "other", "kojiadmin")
		admin.must("packageListSetArches", "dest", "other", "noarch")
		e = th.anon().must("listPackages", kw{"tagID": "dest", "pkgID": "other"}).([]any)[0].(map[string]any)
		if e["owner_name"] != "kojiadmin" || e["extra_arches"] != "noarch" {
			t.Errorf("after set owner and arches: %v", e)
		}
		admin.fault(kojixml.GenericError, "packageListSetOwner", "dest-build", "absent", "alice")
		admin.fault(kojixml.GenericError, "packageListSetOwner", "dest", "other", "nobody")
		if l := th.anon().must("listTags", kw{"package": "hello"}).([]any); len(l) != 1 || l[0].(map[string]any)["owner_name"] != "alice" {
			t.Errorf("listTags(package=hello) = %v", l)
		}

		// targets
		th.anon().fault(kojixml.AuthError, "createBuildTarget", "dest-candidate", "dest-build", "dest")
		alice.fault(kojixml.ActionNotAllowed, "createBuildTarget", "dest-candidate", "dest-build", "dest")
		if f := admin.fault(kojixml.GenericError, "createBuildTarget", "dest-candidate", "nosuch", "dest"); f.String != "build tag 'nosuch' does not exist" {
			t.Errorf("unknown build tag = %q", f.String)
		}
		admin.fault(kojixml.GenericError, "createBuildTarget", "dest-candidate", "dest-build", "nosuch")
		admin.must("createBuildTarget", "dest-candidate", "dest-build", "dest")
		if f := admin.fault(kojixml.GenericError, "createBuildTarget", "dest-candidate", "dest-build", "dest"); f.String != "A build target with the name 'dest-candidate' already exists" {
			t.Errorf("duplicate target = %q", f.String)
		}
		tg := th.anon().must("getBuildTarget", "dest-candidate").(map[string]any)
		if tg["build_tag_name"] != "dest-build" || tg["dest_tag_name"] != "dest" || tg["name"] != "dest-candidate" {
			t.Errorf("getBuildTarget = %v", tg)
		}
		if v := th.anon().must("getBuildTarget", "nosuch"); v != nil {
			t.Errorf("getBuildTarget(nosuch) = %v", v)
		}
		th.anon().fault(kojixml.GenericError, "getBuildTarget", "nosuch", kw{"strict": true})
		if l := th.anon().must("getBuildTargets", kw{"destTagID": "dest"}).([]any); len(l) != 1 {
			t.Errorf("getBuildTargets(destTagID=dest) = %v", l)
		}
		if l := th.anon().must("getBuildTargets", kw{"buildTagID": "dest"}).([]any); len(l) != 0 {
			t.Errorf("getBuildTargets(buildTagID=dest) = %v", l)
		}
		admin.must("editBuildTarget", "dest-candidate", "dest-next", "dest-build", "dest")
		alice.fault(kojixml.ActionNotAllowed, "deleteBuildTarget", "dest-next")
		admin.must("deleteBuildTarget", "dest-next")
		admin.fault(kojixml.GenericError, "deleteBuildTarget", "dest-next")
	})
}

// setupTarget makes tags dest and dest-build, target dest-candidate, and
// lists hello in dest.
func setupTarget(t *testing.T, admin *client) {
	t.Helper()
	admin.must("createTag", "dest", kw{"extra": map[string]any{"kojigo.min_disk_mb": int64(100)}})
	admin.must("createTag", "dest-build", kw{"parent": "dest", "arches": "x86_64"})
	admin.must("createBuildTarget", "dest-candidate", "dest-build", "dest")
}

func TestBuildSubmitAndRequirements(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		th.addUser("alice", "pw")
		alice := th.login("alice", "pw")
		setupTarget(t, admin)
		src := "cli-build/1.abc/hello-1.0-1.src.rpm"
		th.anon().fault(kojixml.AuthError, "build", src, "dest-candidate")
		for _, bad := range []struct {
			args []any
			code int
		}{
			{[]any{src, "dest-candidate", map[string]any{"bogus": true}}, kojixml.ParameterError},
			{[]any{src, "dest-candidate", map[string]any{"scratch": "yes"}}, kojixml.ParameterError},
			{[]any{src, "dest-candidate", map[string]any{"arch_override": "x86_64"}}, kojixml.ActionNotAllowed},
			{[]any{src, "nosuch"}, kojixml.GenericError},
			{[]any{"../../etc/hello-1.0-1.src.rpm", "dest-candidate"}, kojixml.ParameterError},
			{[]any{"/etc/hello-1.0-1.src.rpm", "dest-candidate"}, kojixml.ParameterError},
			{[]any{"cli-build/x/notes.txt", "dest-candidate"}, kojixml.ParameterError},
			{[]any{"", "dest-candidate"}, kojixml.ParameterError},
			{[]any{src, "dest-candidate", nil, int64(-5)}, kojixml.ActionNotAllowed},
			{[]any{src, "dest-candidate", nil, nil, "nochannel"}, kojixml.GenericError},
			{[]any{src}, kojixml.ParameterError},
		} {
			alice.fault(bad.code, "build", bad.args...)
		}
		id := alice.must("build", src, "dest-candidate", map[string]any{"scratch": true, "arch_override": "x86_64"}, int64(5)).(int64)
		task, err := th.store.GetTask(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if task.Method != "build" || task.Priority != 25 || task.Arch != "noarch" || task.State != db.TaskFree {
			t.Errorf("task = %+v", task)
		}
		req, err := kojixml.DecodeCall(strings.NewReader(task.Request))
		if err != nil {
			t.Fatal(err)
		}
		if req.Method != "build" || len(req.Params) != 3 || req.Params[0] != src || req.Params[1] != "dest-candidate" ||
			req.Params[2].(map[string]any)["arch_override"] != "x86_64" {
			t.Errorf("request = %+v", req)
		}
		hid := admin.must("build", "git+https://example.org/rpms/hello.git#abc123", "dest-candidate", nil, int64(-5), "default").(int64)
		if ht, _ := th.store.GetTask(context.Background(), hid); ht.Priority != 15 {
			t.Errorf("admin priority -5: task priority %d, want 15", ht.Priority)
		}

		// requirements: tag extra 100 MiB disk; hello's entry 2048 MiB disk, 512 MiB memory
		ctx := context.Background()
		if d, m := th.hub.buildRequirements(ctx, "build", task.Request); d != 100 || m != 0 {
			t.Errorf("requirements before the package entry = %d, %d; want 100, 0", d, m)
		}
		admin.must("packageListAdd", "dest", "hello", "alice", kw{"min_disk_mb": int64(2048), "min_mem_mb": int64(512)})
		enc := func(method string, args ...any) string {
			var b bytes.Buffer
			if err := kojixml.EncodeCall(&b, method, args); err != nil {
				t.Fatal(err)
			}
			return b.String()
		}
		for _, tc := range []struct {
			method, req string
			disk, mem   int64
		}{
			{"build", task.Request, 2048, 512},
			{"build", enc("build", "git+https://example.org/rpms/hello.git#abc", "dest-candidate", map[string]any{}), 2048, 512},
			{"build", enc("build", "cli-build/x/other-2-1.src.rpm", "dest-candidate", map[string]any{}), 100, 0},
			{"buildArch", enc("buildArch", "tasks/1/1/hello-1.0-1.src.rpm", "dest-build", "x86_64", true, map[string]any{}), 2048, 512},
			{"buildArch", enc("buildArch", "tasks/1/1/hello-1.0-1.src.rpm", int64(9999), "x86_64"), 0, 0},
			{"build", enc("build", src, "nosuch-target"), 0, 0},
			{"build", "<not xml", 0, 0},
			{"build", enc("build"), 0, 0},
			{"newRepo", enc("newRepo", "dest-build"), 0, 0},
		} {
			if d, m := th.hub.buildRequirements(ctx, tc.method, tc.req); d != tc.disk || m != tc.mem {
				t.Errorf("buildRequirements(%s, %.60q) = %d, %d; want %d, %d", tc.method, tc.req, d, m, tc.disk, tc.mem)
			}
		}
	})
}

// writeRPM builds a small RPM with rpmpack into topdir/work/rel.
func writeRPM(t *testing.T, topdir, rel, name, version, release, arch, sourceRPM string, source bool) {
	t.Helper()
	r, err := rpmpack.NewRPM(rpmpack.RPMMetaData{Name: name, Version: version, Release: release, Arch: arch,
		Summary: "test package", Licence: "MIT", BuildTime: time.Unix(1700000000, 0), Compressor: "gzip"})
	if err != nil {
		t.Fatal(err)
	}
	r.AddFile(rpmpack.RPMFile{Name: "/usr/share/" + name + "/README", Body: []byte("hello from " + name), Mode: 0o100644})
	if source {
		r.AddCustomTag(rpmhdr.TagSourcePackage, rpmpack.EntryInt32([]int32{1}))
	} else if sourceRPM != "" {
		r.AddCustomTag(rpmhdr.TagSourceRPM, rpmpack.EntryString(sourceRPM))
	}
	p := filepath.Join(topdir, "work", filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestHostImportAndTagging(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		ctx := context.Background()
		admin := th.login(th.ensureAdmin(), "adminpw")
		aliceID := th.addUser("alice", "pw")
		alice := th.login("alice", "pw")
		th.addUser("bob", "pw")
		bob := th.login("bob", "pw")
		setupTarget(t, admin)
		hc, hostID := th.addHost("builder1")
		other, _ := th.addHost("builder2")
		// check in, so that the scheduler does not take the tasks back from a silent host
		hc.must("host.updateHost", 0.0, true)
		other.must("host.updateHost", 0.0, true)
		def, err := th.store.GetChannelByName(ctx, "default")
		if err != nil {
			t.Fatal(err)
		}
		newTask := func(owner int64) int64 {
			t.Helper()
			id, _, err := th.store.CreateTask(ctx, db.NewTask{Method: "build", Request: "<methodCall/>", Arch: "noarch", ChannelID: def.ID, Owner: owner, Priority: 20, AssignTo: &hostID})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok, err := th.store.OpenTask(ctx, id, hostID); err != nil || !ok {
				t.Fatalf("open task %d: %v, %v", id, ok, err)
			}
			return id
		}
		taskID := newTask(aliceID)
		top := th.hub.cfg.TopDir
		dir := fmt.Sprintf("tasks/%d/%d", taskID%10000, taskID)
		writeRPM(t, top, dir+"/hello-1.0-1.src.rpm", "hello", "1.0", "1", "x86_64", "", true)
		writeRPM(t, top, dir+"/hello-1.0-1.x86_64.rpm", "hello", "1.0", "1", "x86_64", "hello-1.0-1.src.rpm", false)
		writeRPM(t, top, dir+"/hello-doc-1.0-1.noarch.rpm", "hello-doc", "1.0", "1", "noarch", "hello-1.0-1.src.rpm", false)
		writeRPM(t, top, dir+"/other-2.0-1.src.rpm", "other", "2.0", "1", "x86_64", "", true)
		writeRPM(t, top, dir+"/stray-1.0-1.x86_64.rpm", "stray", "1.0", "1", "x86_64", "stray-1.0-1.src.rpm", false)
		writeRPM(t, top, dir+"/evil.rpm", "..", "1.0", "1", "..", "hello-1.0-1.src.rpm", false)
		if err := os.WriteFile(filepath.Join(top, "work", dir, "notrpm.rpm"), []byte("this is not an rpm at all, just text"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/etc/passwd", filepath.Join(top, "work", dir, "link.rpm")); err != nil {
			t.Fatal(err)
		}

		data := map[string]any{"name": "hello", "version": "1.0", "release": "1", "epoch": nil, "task_id": taskID}
		alice.fault(kojixml.AuthError, "host.initBuild", data)
		other.fault(kojixml.ActionNotAllowed, "host.initBuild", data)
		for _, bad := range []map[string]any{
			{"name": "hello", "version": "1-0", "release": "1", "task_id": taskID},
			{"name": "hello", "version": "1.0", "release": "1"},
			{"name": "../x", "version": "1.0", "release": "1", "task_id": taskID},
			{"name": "..", "version": "1.0", "release": "1", "task_id": taskID},
			{"name": "hello", "version": "..", "release": "1", "task_id": taskID},
			{"name": "hello", "version": "1.0", "release": "1;rm", "task_id": taskID},
			{"name": "hello", "version": "1.0", "release": strings.Repeat("1", 300), "task_id": taskID},
			{"name": "hello", "version": "1.0", "release": "1", "task_id": taskID, "epoch": "one"},
			{"name": "hello", "version": "1.0", "release": "1", "task_id": taskID, "colour": "red"},
		} {
			hc.fault(kojixml.ParameterError, "host.initBuild", bad)
		}
		hc.fault(kojixml.GenericError, "host.initBuild", map[string]any{"name": "hello", "version": "1.0", "release": "1", "task_id": int64(99999)})
		assigned, _, err := th.store.CreateTask(ctx, db.NewTask{Method: "build", Request: "<methodCall/>", Arch: "noarch", ChannelID: def.ID, Owner: aliceID, Priority: 20, AssignTo: &hostID})
		if err != nil {
			t.Fatal(err)
		}
		hc.fault(kojixml.ActionNotAllowed, "host.initBuild", map[string]any{"name": "hello", "version": "1.0", "release": "1", "task_id": assigned}) // not open yet
		buildID := hc.must("host.initBuild", data).(int64)
		b := th.anon().must("getBuild", "hello-1.0-1").(map[string]any)
		if b["id"] != buildID || b["state"] != int64(db.BuildBuilding) || b["task_id"] != taskID || b["owner_name"] != "alice" || b["nvr"] != "hello-1.0-1" {
			t.Errorf("getBuild = %v", b)
		}
		if again := hc.must("host.initBuild", data); again != buildID { // the same task, run again after a restart
			t.Errorf("host.initBuild again from task %d = %v, want its build %d", taskID, again, buildID)
		}
		hc.must("host.openTask", assigned)
		hc.fault(kojixml.GenericError, "host.initBuild", map[string]any{"name": "hello", "version": "1.0", "release": "1", "task_id": assigned}) // same NVR, another task
		th.anon().fault(kojixml.GenericError, "getBuild", "nonvr", true)
		if v := th.anon().must("getBuild", int64(99999)); v != nil {
			t.Errorf("getBuild(99999) = %v", v)
		}

		good := []any{dir + "/hello-1.0-1.x86_64.rpm", dir + "/hello-doc-1.0-1.noarch.rpm"}
		for _, bad := range []struct {
			srpm string
			rpms []any
			want string
		}{
			{"../../etc/passwd", good, "relative path"},
			{"/etc/passwd", good, "relative path"},
			{dir + "/missing.src.rpm", good, "no such file"},
			{dir + "/notrpm.rpm", good, "not an rpm"},
			{dir + "/link.rpm", good, "symbolic links"},
			{dir + "/other-2.0-1.src.rpm", good, "srpm mismatch"},
			{dir + "/hello-1.0-1.x86_64.rpm", good, "not a source rpm"},
			{dir + "/hello-1.0-1.src.rpm", []any{dir + "/stray-1.0-1.x86_64.rpm"}, "srpm mismatch"},
			{dir + "/hello-1.0-1.src.rpm", []any{dir + "/hello-1.0-1.src.rpm"}, "source rpm in the list"},
			{dir + "/hello-1.0-1.src.rpm", []any{good[0], good[0]}, "listed twice"},
			{dir + "/hello-1.0-1.src.rpm", []any{dir + "/evil.rpm"}, "invalid name"},
			{dir + "/hello-1.0-1.src.rpm", []any{dir + "/../" + dir + "/hello-1.0-1.x86_64.rpm"}, "clean relative path"},
		} {
			f := hc.fault(kojixml.GenericError, "host.completeBuild", taskID, buildID, bad.srpm, bad.rpms)
			if !strings.Contains(f.String, bad.want) {
				t.Errorf("completeBuild(%s, %v) = %q, want it to mention %q", bad.srpm, bad.rpms, f.String, bad.want)
			}
		}
		hc.fault(kojixml.ParameterError, "host.completeBuild", taskID, buildID, dir+"/hello-1.0-1.src.rpm", []any{int64(1)})
		other.fault(kojixml.ActionNotAllowed, "host.completeBuild", taskID, buildID, dir+"/hello-1.0-1.src.rpm", good)
		if b := th.anon().must("getBuild", buildID).(map[string]any); b["state"] != int64(db.BuildBuilding) {
			t.Fatalf("refused imports changed the build: %v", b)
		}
		if rs := th.anon().must("listRPMs", kw{"buildID": buildID}).([]any); len(rs) != 0 {
			t.Fatalf("refused imports left rpms: %v", rs)
		}

		if err := os.WriteFile(filepath.Join(top, "work", dir, "build.log"), []byte("compiled fine\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []struct {
			logs map[string]any
			code int
		}{
			{map[string]any{"x86_64": []any{"../../etc/passwd"}}, kojixml.GenericError},
			{map[string]any{"x86_64": []any{dir + "/missing.log"}}, kojixml.GenericError},
			{map[string]any{"../up": []any{dir + "/build.log"}}, kojixml.ParameterError},
			{map[string]any{"x86_64": dir + "/build.log"}, kojixml.ParameterError},
		} {
			hc.fault(bad.code, "host.completeBuild", taskID, buildID, dir+"/hello-1.0-1.src.rpm", good, nil, bad.logs)
		}
		// brmap names buildroots that exist (Koji's import_build)
		br7, err := th.store.CreateBuildroot(ctx, db.Buildroot{HostID: &hostID, Arch: "x86_64"})
		if err != nil {
			t.Fatal(err)
		}
		br8, err := th.store.CreateBuildroot(ctx, db.Buildroot{HostID: &hostID, Arch: "x86_64"})
		if err != nil {
			t.Fatal(err)
		}
		hc.fault(kojixml.GenericError, "host.completeBuild", taskID, buildID, dir+"/hello-1.0-1.src.rpm", good, map[string]any{"hello-doc-1.0-1.noarch.rpm": br8 + 100})
		hc.must("host.completeBuild", taskID, buildID, dir+"/hello-1.0-1.src.rpm", good, map[string]any{dir + "/hello-1.0-1.x86_64.rpm": br7, "hello-doc-1.0-1.noarch.rpm": br8},
			kw{"logs": map[string]any{"x86_64": []any{dir + "/build.log"}, "noarch": nil}})
		if b, err := os.ReadFile(filepath.Join(top, "packages", "hello", "1.0", "1", "data", "logs", "x86_64", "build.log")); err != nil || string(b) != "compiled fine\n" {
			t.Errorf("imported log = %q, %v", b, err)
		}
		b = th.anon().must("getBuild", buildID).(map[string]any)
		if b["state"] != int64(db.BuildComplete) || b["completion_ts"] == nil {
			t.Errorf("after completeBuild: %v", b)
		}
		rs := th.anon().must("listRPMs", kw{"buildID": buildID}).([]any)
		if len(rs) != 3 {
			t.Fatalf("listRPMs = %v", rs)
		}
		want := map[string]string{"src": "hello-1.0-1.src.rpm", "x86_64": "hello-1.0-1.x86_64.rpm", "noarch": "hello-doc-1.0-1.noarch.rpm"}
		for _, x := range rs {
			r := x.(map[string]any)
			fn := want[r["arch"].(string)]
			if fn == "" {
				t.Errorf("unexpected rpm %v", r)
				continue
			}
			stored := filepath.Join(top, "packages", "hello", "1.0", "1", r["arch"].(string), fn)
			body, err := os.ReadFile(stored)
			if err != nil {
				t.Errorf("stored file: %v", err)
				continue
			}
			if r["size"] != int64(len(body)) || r["buildtime"] != int64(1700000000) {
				t.Errorf("%s: size %v buildtime %v, file %d bytes", fn, r["size"], r["buildtime"], len(body))
			}
			pkg, err := rpmhdr.NewReader(rpmhdr.Limits{}).Read(bytes.NewReader(body), int64(len(body)))
			if err != nil {
				t.Fatal(err)
			}
			sum := md5.Sum(body[pkg.HeaderStart:])
			if r["payloadhash"] != hex.EncodeToString(sum[:]) {
				t.Errorf("%s: payloadhash %v, want %x", fn, r["payloadhash"], sum)
			}
			sha := sha256.Sum256(body)
			rid := r["id"].(int64)
			dbr, err := th.store.GetRPM(ctx, rid)
			if err != nil || dbr.Checksum != hex.EncodeToString(sha[:]) {
				t.Errorf("%s: checksum %q, want %x (%v)", fn, dbr.Checksum, sha, err)
			}
			if (fn == "hello-1.0-1.x86_64.rpm" && r["buildroot_id"] != br7) || (fn == "hello-doc-1.0-1.noarch.rpm" && r["buildroot_id"] != br8) {
				t.Errorf("brmap not applied: %v", r)
			}
		}
		if matches, _ := filepath.Glob(filepath.Join(top, "packages", "hello", "1.0", "1", "*", ".import-*")); len(matches) != 0 {
			t.Errorf("temporary files left: %v", matches)
		}
		r := th.anon().must("getRPM", "hello-1.0-1.x86_64").(map[string]any)
		if r["name"] != "hello" || r["build_id"] != buildID {
			t.Errorf("getRPM = %v", r)
		}
		th.anon().fault(kojixml.GenericError, "getRPM", "nosuch-1-1.x86_64", true)
		th.anon().fault(kojixml.GenericError, "getRPM", "garbage", true)
		hc.fault(kojixml.GenericError, "host.completeBuild", taskID, buildID, dir+"/hello-1.0-1.src.rpm", good)
		if l := th.anon().must("listBuilds", kw{"packageID": "hello"}).([]any); len(l) != 1 {
			t.Errorf("listBuilds(hello) = %v", l)
		}
		if l := th.anon().must("listBuilds", kw{"taskID": taskID, "state": int64(db.BuildComplete)}).([]any); len(l) != 1 {
			t.Errorf("listBuilds(taskID) = %v", l)
		}
		for _, tc := range []struct {
			kw   kw
			want int
		}{
			{kw{"taskID": int64(-1)}, 1},
			{kw{"pattern": "HELLO-1.*"}, 1},
			{kw{"pattern": "hello-2*"}, 0},
			{kw{"pattern": "hello_1.0-1"}, 0}, // _ is literal, not LIKE's any-character
			{kw{"prefix": "HEL"}, 1},
			{kw{"prefix": "h%"}, 0},
			{kw{"createdAfter": "2000-01-01 00:00:00"}, 1},
			{kw{"createdBefore": float64(946684800)}, 0},
			{kw{"completeAfter": int64(946684800)}, 1},
			{kw{"cgID": int64(1)}, 0},
			{kw{"volumeID": int64(0)}, 1},
			{kw{"type": "maven"}, 0},
			{kw{"userID": "nobody"}, 0},
		} {
			if l := th.anon().must("listBuilds", tc.kw).([]any); len(l) != tc.want {
				t.Errorf("listBuilds(%v) = %d builds, want %d", tc.kw, len(l), tc.want)
			}
		}
		th.anon().fault(kojixml.ParameterError, "listBuilds", kw{"createdAfter": "yesterday"})
		th.anon().fault(kojixml.ParameterError, "listBuilds", kw{"source": "git*"})
		if n := th.anon().must("listBuilds", kw{"queryOpts": map[string]any{"countOnly": true}}); n != int64(1) {
			t.Errorf("listBuilds countOnly = %v", n)
		}

		// tagging: the package must be listed in the tag
		if f := hc.fault(kojixml.TagError, "host.tagBuild", taskID, "dest", buildID); !strings.Contains(f.String, "not in list") {
			t.Errorf("tag unlisted package = %q", f.String)
		}
		admin.must("packageListAdd", "dest", "hello", "alice")
		// Koji's default has no tag policy: anyone logged in may ask
		// (policy_test.go covers a tag policy that refuses).
		bob.must("tagBuild", "dest", buildID)
		th.anon().fault(kojixml.AuthError, "tagBuild", "dest", buildID)
		admin.must("editTag2", "dest", kw{"locked": true})
		alice.fault(kojixml.ActionNotAllowed, "tagBuild", "dest", buildID)
		hc.fault(kojixml.ActionNotAllowed, "host.tagBuild", taskID, "dest", buildID) // as alice, the task's owner
		admin.must("editTag2", "dest", kw{"locked": false})
		tagTask := alice.must("tagBuild", "dest", buildID).(int64) // alice owns the build
		tt, err := th.store.GetTask(ctx, tagTask)
		if err != nil || tt.Method != "tagBuild" || tt.Priority != prioTagBuild || tt.Owner != aliceID {
			t.Errorf("tagBuild task = %+v, %v", tt, err)
		}
		ev := lastEvent(t, admin)
		other.fault(kojixml.ActionNotAllowed, "host.tagBuild", taskID, "dest", buildID)
		hc.must("host.tagBuild", taskID, "dest", buildID)
		if lastEvent(t, admin) <= ev {
			t.Error("host.tagBuild recorded no event")
		}
		if f := hc.fault(kojixml.TagError, "host.tagBuild", taskID, "dest", buildID); !strings.Contains(f.String, "already tagged") {
			t.Errorf("tag twice = %q", f.String)
		}
		alice.fault(kojixml.TagError, "tagBuild", "dest", buildID)
		tagged := th.anon().must("listTagged", "dest").([]any)
		if len(tagged) != 1 || tagged[0].(map[string]any)["nvr"] != "hello-1.0-1" || tagged[0].(map[string]any)["tag_name"] != "dest" {
			t.Errorf("listTagged(dest) = %v", tagged)
		}
		if l := th.anon().must("getLatestBuilds", "dest-build").([]any); len(l) != 1 || l[0].(map[string]any)["nvr"] != "hello-1.0-1" {
			t.Errorf("getLatestBuilds(dest-build) = %v", l)
		}
		if l := th.anon().must("listTagged", "dest-build").([]any); len(l) != 0 {
			t.Errorf("listTagged(dest-build) without inherit = %v", l)
		}
		if l := th.anon().must("listTagged", "dest-build", kw{"inherit": true, "latest": true}).([]any); len(l) != 1 {
			t.Errorf("listTagged(dest-build, inherit) = %v", l)
		}
		th.anon().fault(kojixml.GenericError, "listTagged", "nosuch")
		if l := th.anon().must("listTagged", "nosuch", kw{"strict": false}).([]any); len(l) != 0 {
			t.Errorf("listTagged(nosuch, strict=False) = %v", l)
		}
		rb := th.anon().must("listTaggedRPMS", "dest", kw{"arch": []any{"x86_64", "src"}}).([]any)
		if len(rb) != 2 || len(rb[0].([]any)) != 2 || len(rb[1].([]any)) != 1 {
			t.Errorf("listTaggedRPMS = %v", rb)
		}
		if l := th.anon().must("listTags", kw{"build": buildID}).([]any); len(l) != 1 {
			t.Errorf("listTags(build=) = %v", l)
		}
		if l := th.anon().must("getLatestRPMS", "dest-build", kw{"arch": "src"}).([]any); len(l) != 2 || len(l[0].([]any)) != 1 {
			t.Errorf("getLatestRPMS(dest-build, arch=src) = %v", l)
		}
		bob.fault(kojixml.ActionNotAllowed, "untagBuildBypass", "dest", buildID)
		alice.fault(kojixml.ActionNotAllowed, "tagBuildBypass", "dest-build", buildID)
		admin.must("untagBuildBypass", "dest", buildID)
		admin.fault(kojixml.TagError, "untagBuildBypass", "dest", buildID)
		admin.must("tagBuildBypass", "dest", buildID)
		admin.fault(kojixml.TagError, "tagBuildBypass", "dest", buildID)
		// Koji's default has no tag policy: anyone logged in may untag.
		bob.must("untagBuild", "dest", buildID)
		alice.fault(kojixml.TagError, "untagBuild", "dest", buildID)
		alice.must("untagBuild", "dest", buildID, kw{"strict": false})
		if l := th.anon().must("listTagged", "dest").([]any); len(l) != 0 {
			t.Errorf("after untag: %v", l)
		}

		// failBuild and cancelBuild
		t2 := newTask(aliceID)
		b2 := hc.must("host.initBuild", map[string]any{"name": "hello", "version": "2.0", "release": "1", "task_id": t2}).(int64)
		hc.fault(kojixml.ActionNotAllowed, "host.failBuild", taskID, b2) // not the build's task
		hc.must("host.failBuild", t2, b2)
		hc.fault(kojixml.GenericError, "host.failBuild", t2, b2)
		t3 := newTask(aliceID)
		b3 := hc.must("host.initBuild", map[string]any{"name": "hello", "version": "2.0", "release": "1", "task_id": t3}).(int64)
		if b3 != b2 {
			t.Errorf("failed NVR not recycled: %d, then %d", b2, b3)
		}
		bob.fault(kojixml.ActionNotAllowed, "cancelBuild", b3)
		if v := alice.must("cancelBuild", b3); v != true {
			t.Errorf("cancelBuild = %v", v)
		}
		if v := alice.must("cancelBuild", b3); v != false {
			t.Errorf("second cancelBuild = %v", v)
		}
		if tk, _ := th.store.GetTask(ctx, t3); tk.State != db.TaskCanceled {
			t.Errorf("cancelBuild left task %d in state %d", t3, tk.State)
		}
		hc.fault(kojixml.GenericError, "host.newBuildRoot", int64(12345), "x86_64", kw{"task_id": taskID})
		hc.fault(kojixml.ParameterError, "host.newBuildRoot", int64(1), "x86 64")
		other.fault(kojixml.ActionNotAllowed, "host.newBuildRoot", int64(1), "x86_64", kw{"task_id": taskID})
		alice.fault(kojixml.AuthError, "host.newBuildRoot", int64(1), "x86_64")
		hc.fault(kojixml.ParameterError, "host.setBuildRootState", int64(1), "BOGUS")
		hc.fault(kojixml.ParameterError, "host.setBuildRootState", int64(1), int64(9))
		hc.fault(kojixml.GenericError, "host.setBuildRootState", int64(12345), "BUILDING")
		if l := th.anon().must("listBuildroots", kw{"taskID": t3}).([]any); len(l) != 0 {
			t.Errorf("listBuildroots = %v", l)
		}
	})
}

// TestBuildMethodsBadArguments calls every tag and build method with no
// arguments, too many, an unknown keyword, and oversized input.
func TestBuildMethodsBadArguments(t *testing.T) {
	th := newTestHub(t, "sqlite", nil)
	admin := th.login(th.ensureAdmin(), "adminpw")
	hc, _ := th.addHost("builder1")
	tooMany := make([]any, 20)
	for i := range tooMany {
		tooMany[i] = int64(i)
	}
	for _, m := range buildMethods() {
		c := admin
		if strings.HasPrefix(m.name, "host.") {
			c = hc
		}
		required := !strings.HasPrefix(m.argdesc, "()") && !strings.Contains(strings.SplitN(m.argdesc, ",", 2)[0], "=")
		if required {
			if _, err := c.call(m.name); err == nil || err.(*kojixml.Fault).Code != kojixml.ParameterError {
				t.Errorf("%s() = %v, want ParameterError", m.name, err)
			}
		}
		if _, err := c.call(m.name, tooMany...); err == nil || err.(*kojixml.Fault).Code != kojixml.ParameterError {
			t.Errorf("%s with 20 arguments = %v, want ParameterError", m.name, err)
		}
		if strings.Contains(m.argdesc, "**") {
			continue
		}
		if _, err := c.call(m.name, kw{"no_such_keyword": true}); err == nil || err.(*kojixml.Fault).Code != kojixml.ParameterError {
			t.Errorf("%s(no_such_keyword=True) = %v, want ParameterError", m.name, err)
		}
	}
	admin.fault(kojixml.ParameterError, "createTag", "big", kw{"extra": map[string]any{"k": strings.Repeat("x", 70<<10)}})
	admin.must("createTag", "t")
	links := make([]any, 1001)
	for i := range links {
		links[i] = map[string]any{"parent_id": int64(1), "priority": int64(i)}
	}
	admin.fault(kojixml.ParameterError, "setInheritanceData", "t", links)
	admin.fault(kojixml.ParameterError, "setInheritanceData", "t", "not a list")
	admin.fault(kojixml.ParameterError, "packageListAdd", "t", "p", "kojiadmin", kw{"min_mem_mb": int64(1) << 40})
	admin.fault(kojixml.ParameterError, "build", strings.Repeat("a/", 3000)+"x.src.rpm", "t")
	admin.fault(kojixml.ParameterError, "build", "x-1-1.src.rpm", "t", nil, int64(5000))
	rpms := make([]any, 10001)
	for i := range rpms {
		rpms[i] = "x.rpm"
	}
	hc.fault(kojixml.ParameterError, "host.completeBuild", int64(1), int64(1), "x.src.rpm", rpms)
}

// TestImportRealRPMs imports packages made by the real rpmbuild and checks
// the recorded payloadhash against rpm's own SIGMD5.
func TestImportRealRPMs(t *testing.T) {
	rpmbuild := testenv.NeedTool(t, "rpmbuild")
	rpmTool := testenv.NeedTool(t, "rpm")
	th := newTestHub(t, "sqlite", nil)
	ctx := context.Background()
	admin := th.login(th.ensureAdmin(), "adminpw")
	hc, hostID := th.addHost("builder1")
	hc.must("host.updateHost", 0.0, true)
	tmp := t.TempDir()
	spec := filepath.Join(tmp, "realpkg.spec")
	if err := os.WriteFile(spec, []byte(`Name: realpkg
Version: 2.1
Release: 3
Epoch: 1
Summary: test
License: MIT
BuildArch: noarch
%description
test
%install
mkdir -p %{buildroot}/usr/share/realpkg
echo hi > %{buildroot}/usr/share/realpkg/f
%files
/usr/share/realpkg/f
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(rpmbuild, "-ba", "--define", "_topdir "+filepath.Join(tmp, "top"), spec)
	cmd.Env = append(os.Environ(), "HOME="+tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rpmbuild: %v\n%s", err, out)
	}
	def, err := th.store.GetChannelByName(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	owner, _ := th.store.GetUserByName(ctx, "kojiadmin")
	taskID, _, err := th.store.CreateTask(ctx, db.NewTask{Method: "build", Request: "<methodCall/>", Arch: "noarch", ChannelID: def.ID, Owner: owner.ID, Priority: 20, AssignTo: &hostID})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := th.store.OpenTask(ctx, taskID, hostID); err != nil || !ok {
		t.Fatalf("open task: %v %v", ok, err)
	}
	work := filepath.Join(th.hub.cfg.TopDir, "work", "tasks", "real")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	sigmd5 := map[string]string{}
	for _, src := range []string{"SRPMS/realpkg-2.1-3.src.rpm", "RPMS/noarch/realpkg-2.1-3.noarch.rpm"} {
		body, err := os.ReadFile(filepath.Join(tmp, "top", src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, filepath.Base(src)), body, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(rpmTool, "-qp", "--nosignature", "--qf", "%{SIGMD5}", filepath.Join(tmp, "top", src)).Output()
		if err != nil {
			t.Fatalf("rpm -qp: %v", err)
		}
		sigmd5[filepath.Base(src)] = strings.TrimSpace(string(out))
	}
	bid := hc.must("host.initBuild", map[string]any{"name": "realpkg", "version": "2.1", "release": "3", "epoch": int64(1), "task_id": taskID}).(int64)
	hc.must("host.completeBuild", taskID, bid, "tasks/real/realpkg-2.1-3.src.rpm", []any{"tasks/real/realpkg-2.1-3.noarch.rpm"})
	rs := admin.must("listRPMs", kw{"buildID": bid}).([]any)
	if len(rs) != 2 {
		t.Fatalf("listRPMs = %v", rs)
	}
	for _, x := range rs {
		r := x.(map[string]any)
		fn := fmt.Sprintf("%s-%s-%s.%s.rpm", r["name"], r["version"], r["release"], r["arch"])
		if want := sigmd5[fn]; want == "" || r["payloadhash"] != want {
			t.Errorf("%s: payloadhash %v, rpm says SIGMD5 %q", fn, r["payloadhash"], want)
		}
		if r["epoch"] != int64(1) {
			t.Errorf("%s: epoch %v, want 1", fn, r["epoch"])
		}
		if _, err := os.Stat(filepath.Join(th.hub.cfg.TopDir, "packages", "realpkg", "2.1", "3", r["arch"].(string), fn)); err != nil {
			t.Errorf("stored file: %v", err)
		}
	}
}
