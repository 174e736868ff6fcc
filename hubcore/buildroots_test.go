package hubcore

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// brFixture is a hub with a host, a repo of f40-build, and builds imported
// from buildroots of that host.
type brFixture struct {
	th     *testHub
	hc     *client // builder1
	other  *client // builder2
	hostID int64
	repoID int64
	owner  int64
}

func newBRFixture(t *testing.T, th *testHub) *brFixture {
	t.Helper()
	admin := th.login(th.ensureAdmin(), "adminpw")
	owner := th.addUser("alice", "pw")
	admin.must("createTag", "f40-build", kw{"arches": "x86_64"})
	hc, hostID := th.addHost("builder1")
	other, _ := th.addHost("builder2")
	hc.must("host.updateHost", 0.0, true)
	other.must("host.updateHost", 0.0, true)
	repoID := hc.must("host.repoInit", "f40-build").([]any)[0].(int64)
	return &brFixture{th: th, hc: hc, other: other, hostID: hostID, repoID: repoID, owner: owner}
}

// openTask is a task OPEN on builder1.
func (f *brFixture) openTask(t *testing.T) int64 {
	t.Helper()
	ctx := context.Background()
	def, err := f.th.store.GetChannelByName(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := f.th.store.CreateTask(ctx, db.NewTask{Method: "buildArch", Request: "<methodCall/>", Arch: "x86_64", ChannelID: def.ID, Owner: f.owner, Priority: 20, AssignTo: &f.hostID})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := f.th.store.OpenTask(ctx, id, f.hostID); err != nil || !ok {
		t.Fatalf("open task %d: %v, %v", id, ok, err)
	}
	return id
}

// importBuild builds name-1.0-1 (src and x86_64) in task, with both
// packages from buildroot br; returns the build id and the rpms by arch.
func (f *brFixture) importBuild(t *testing.T, task int64, name string, br int64) (int64, map[string]map[string]any) {
	t.Helper()
	dir := fmt.Sprintf("tasks/%d/%d", task%10000, task)
	top := f.th.hub.cfg.TopDir
	writeRPM(t, top, dir+"/"+name+"-1.0-1.src.rpm", name, "1.0", "1", "x86_64", "", true)
	writeRPM(t, top, dir+"/"+name+"-1.0-1.x86_64.rpm", name, "1.0", "1", "x86_64", name+"-1.0-1.src.rpm", false)
	bid := f.hc.must("host.initBuild", map[string]any{"name": name, "version": "1.0", "release": "1", "epoch": nil, "task_id": task}).(int64)
	srpm, rpm := dir+"/"+name+"-1.0-1.src.rpm", dir+"/"+name+"-1.0-1.x86_64.rpm"
	f.hc.must("host.completeBuild", task, bid, srpm, []any{rpm}, map[string]any{srpm: br, rpm: br})
	out := map[string]map[string]any{}
	for _, x := range f.th.anon().must("listRPMs", kw{"buildID": bid}).([]any) {
		m := x.(map[string]any)
		out[m["arch"].(string)] = m
	}
	return bid, out
}

// entry is a setBuildRootList entry for an rpm map of listRPMs.
func entry(r map[string]any) map[string]any {
	return map[string]any{"name": r["name"], "version": r["version"], "release": r["release"], "epoch": r["epoch"],
		"arch": r["arch"], "payloadhash": r["payloadhash"], "size": r["size"], "buildtime": r["buildtime"]}
}

func hostPkg(name string) map[string]any {
	return map[string]any{"name": name, "version": "13.2", "release": "1.fc40", "epoch": nil, "arch": "x86_64",
		"payloadhash": "0123456789abcdef0123456789abcdef", "size": int64(1000), "buildtime": int64(1700000000), "external": true}
}

func TestBuildrootLifecycleAndListing(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		f := newBRFixture(t, th)
		hc, anon := f.hc, th.anon()

		// dep-1.0-1 is built in buildroot brA; hello-1.0-1 in brB, which held dep.
		taskA := f.openTask(t)
		brA := hc.must("host.newBuildRoot", f.repoID, "x86_64", kw{"task_id": taskA}).(int64)
		depBuild, dep := f.importBuild(t, taskA, "dep", brA)
		taskB := f.openTask(t)
		brB := hc.must("host.newBuildRoot", f.repoID, "x86_64", kw{"task_id": taskB}).(int64)
		br := anon.must("getBuildroot", brB).(map[string]any)
		if br["state"] != int64(db.BuildrootInit) || br["create_event_id"] == nil || br["retire_event_id"] != nil || br["task_id"] != taskB || br["repo_id"] != f.repoID {
			t.Errorf("new buildroot = %v", br)
		}

		// the list of an INIT buildroot: dep (by NVRA and payloadhash), its
		// src by id, a package of the builder host
		hc.must("host.setBuildRootList", brB, []any{entry(dep["x86_64"]), map[string]any{"id": dep["src"]["id"]}, hostPkg("gcc")}, kw{"task_id": taskB})
		hc.fault(kojixml.GenericError, "host.updateBuildRootList", brB, []any{hostPkg("make")}) // not BUILDING yet
		hc.must("host.setBuildRootState", brB, "BUILDING", kw{"task_id": taskB})
		hc.fault(kojixml.GenericError, "host.setBuildRootList", brB, []any{hostPkg("make")}) // no longer INIT
		hc.must("host.updateBuildRootList", brB, []any{entry(dep["x86_64"]), hostPkg("make")}, kw{"task_id": taskB})
		helloBuild, hello := f.importBuild(t, taskB, "hello", brB)
		hc.must("host.setBuildRootState", brB, int64(db.BuildrootExpired))

		// the listing
		got := map[string]map[string]any{}
		for _, x := range anon.must("getBuildrootListing", brB).([]any) {
			m := x.(map[string]any)
			got[m["name"].(string)+"."+m["arch"].(string)] = m
		}
		want := map[string]map[string]any{
			"dep.x86_64":  {"rpm_id": dep["x86_64"]["id"], "build_id": depBuild, "is_update": false, "external_repo_id": int64(0), "external_repo_name": "INTERNAL"},
			"dep.src":     {"rpm_id": dep["src"]["id"], "build_id": depBuild, "is_update": false},
			"gcc.x86_64":  {"rpm_id": nil, "build_id": nil, "is_update": false, "external_repo_id": nil, "external_repo_name": builderHostRepoName, "version": "13.2"},
			"make.x86_64": {"rpm_id": nil, "is_update": true},
		}
		if len(got) != len(want) {
			t.Errorf("getBuildrootListing(%d) = %v, want %d rows", brB, got, len(want))
		}
		for k, w := range want {
			for field, v := range w {
				if got[k][field] != v {
					t.Errorf("listing %s[%s] = %#v, want %#v", k, field, got[k][field], v)
				}
			}
		}

		// listRPMs by component buildroot: the kojigo rpms it held, with is_update
		comp := anon.must("listRPMs", kw{"componentBuildrootID": brB}).([]any)
		if len(comp) != 2 {
			t.Fatalf("listRPMs(componentBuildrootID=%d) = %v", brB, comp)
		}
		for _, x := range comp {
			m := x.(map[string]any)
			if m["build_id"] != depBuild || m["component_buildroot_id"] != brB || m["is_update"] != false || m["nvr"] != "dep-1.0-1" || m["buildroot_id"] != brA {
				t.Errorf("component rpm = %v", m)
			}
		}
		if l := anon.must("listRPMs", kw{"componentBuildrootID": brB, "arches": "src"}).([]any); len(l) != 1 {
			t.Errorf("listRPMs(componentBuildrootID, arches=src) = %v", l)
		}
		if l := anon.must("listRPMs", kw{"componentBuildrootID": brA}).([]any); len(l) != 0 {
			t.Errorf("listRPMs(componentBuildrootID=%d) = %v, want none", brA, l)
		}
		// built in a buildroot, on a host
		if l := anon.must("listRPMs", kw{"buildrootID": brB}).([]any); len(l) != 2 || l[0].(map[string]any)["build_id"] != helloBuild {
			t.Errorf("listRPMs(buildrootID=%d) = %v", brB, l)
		}
		if l := anon.must("listRPMs", kw{"hostID": f.hostID}).([]any); len(l) != 4 {
			t.Errorf("listRPMs(hostID=%d) = %d rows, want 4", f.hostID, len(l))
		}
		if l := anon.must("listRPMs", kw{"hostID": f.hostID + 1000}).([]any); len(l) != 0 {
			t.Errorf("listRPMs(hostID=unknown) = %v", l)
		}
		if n := anon.must("listRPMs", kw{"hostID": f.hostID, "queryOpts": kw{"countOnly": true}}); n != int64(4) {
			t.Errorf("listRPMs(hostID, countOnly) = %v", n)
		}
		if l := anon.must("listRPMs", kw{"imageID": int64(1)}).([]any); len(l) != 0 {
			t.Errorf("listRPMs(imageID) = %v", l)
		}
		if r := anon.must("getRPM", "hello-1.0-1.x86_64").(map[string]any); r["buildroot_id"] != brB {
			t.Errorf("getRPM(hello).buildroot_id = %v, want %d", r["buildroot_id"], brB)
		}

		// listBuildroots: rpmID, state lists, task
		ids := func(v any) []int64 {
			var out []int64
			for _, x := range v.([]any) {
				out = append(out, x.(map[string]any)["id"].(int64))
			}
			return out
		}
		for _, tc := range []struct {
			args kw
			want []int64
		}{
			{kw{"rpmID": dep["x86_64"]["id"]}, []int64{brB}},
			{kw{"rpmID": hello["x86_64"]["id"]}, nil},
			{kw{"state": []any{int64(db.BuildrootInit), int64(db.BuildrootExpired)}}, []int64{brA, brB}},
			{kw{"state": []any{int64(db.BuildrootExpired)}}, []int64{brB}},
			{kw{"state": int64(db.BuildrootInit)}, []int64{brA}},
			{kw{"state": []any{}}, nil},
			{kw{"taskID": taskA}, []int64{brA}},
			{kw{"buildrootID": []any{brA, brB}}, []int64{brA, brB}},
			{kw{"rpmID": dep["x86_64"]["id"], "state": []any{int64(db.BuildrootInit)}}, nil},
			{kw{"archiveID": int64(1)}, nil},
			{kw{"hostID": "builder1", "repoID": f.repoID}, []int64{brA, brB}},
			{kw{"queryOpts": kw{"order": "-buildroot.id"}}, []int64{brB, brA}},
		} {
			if got := ids(anon.must("listBuildroots", tc.args)); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("listBuildroots(%v) = %v, want %v", tc.args, got, tc.want)
			}
		}
		if n := anon.must("listBuildroots", kw{"rpmID": dep["x86_64"]["id"], "queryOpts": kw{"countOnly": true}}); n != int64(1) {
			t.Errorf("listBuildroots(rpmID, countOnly) = %v", n)
		}
		br = anon.must("getBuildroot", brB).(map[string]any)
		if br["state"] != int64(db.BuildrootExpired) || br["retire_event_id"] == nil || br["retire_ts"] == nil || br["retire_event_time"] == nil {
			t.Errorf("expired buildroot = %v", br)
		}

		// buildReferences: hello was built in a buildroot that held dep
		refs := anon.must("buildReferences", depBuild).(map[string]any)
		rp, _ := refs["rpms"].([]any)
		if len(rp) != 2 || refs["last_used"] == nil {
			t.Errorf("buildReferences(dep) = %v", refs)
		}
		for _, x := range rp {
			if m := x.(map[string]any); m["build_id"] != helloBuild || m["name"] != "hello" {
				t.Errorf("buildReferences(dep) rpm = %v", m)
			}
		}
		if refs := anon.must("buildReferences", depBuild, kw{"limit": int64(1)}).(map[string]any); len(refs["rpms"].([]any)) != 1 {
			t.Errorf("buildReferences(dep, limit=1) = %v", refs)
		}
		if refs := anon.must("buildReferences", depBuild, kw{"lazy": true}).(map[string]any); len(refs["rpms"].([]any)) == 0 || refs["last_used"] != nil {
			t.Errorf("buildReferences(dep, lazy) = %v, want the rpms and nothing after", refs)
		}
		if refs := anon.must("buildReferences", helloBuild).(map[string]any); len(refs["rpms"].([]any)) != 0 || refs["last_used"] != nil {
			t.Errorf("buildReferences(hello) = %v", refs)
		}

		// deleteBuild refuses a build a buildroot used, as Koji's does
		admin := th.login(th.ensureAdmin(), "adminpw")
		if f := admin.fault(kojixml.GenericError, "deleteBuild", depBuild); !strings.Contains(f.String, "Cannot delete build, used in buildroots") {
			t.Errorf("deleteBuild of a build a buildroot used: %q", f.String)
		}
		if ok := admin.must("deleteBuild", depBuild, kw{"strict": false}); ok != false {
			t.Errorf("deleteBuild(strict=False) of a build a buildroot used = %v, want False", ok)
		}

		// states: never back to INIT; EXPIRED is final; expiring again is quiet
		hc.fault(kojixml.GenericError, "host.setBuildRootState", brA, "INIT")
		hc.must("host.setBuildRootState", brA, "WAITING")
		hc.must("host.setBuildRootState", brA, "EXPIRED")
		if f := hc.fault(kojixml.GenericError, "host.setBuildRootState", brA, "BUILDING"); !strings.Contains(f.String, "EXPIRED") {
			t.Errorf("setBuildRootState on an EXPIRED buildroot: %q", f.String)
		}
		ev := anon.must("getBuildroot", brA).(map[string]any)["retire_event_id"]
		hc.must("host.setBuildRootState", brA, "EXPIRED")
		if again := anon.must("getBuildroot", brA).(map[string]any)["retire_event_id"]; again != ev || ev == nil {
			t.Errorf("retire_event_id %v, then %v after expiring again", ev, again)
		}
	})
}

func TestBuildrootListHostile(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		f := newBRFixture(t, th)
		hc, other, anon := f.hc, f.other, th.anon()
		admin := th.login(th.ensureAdmin(), "adminpw")
		task := f.openTask(t)
		br := hc.must("host.newBuildRoot", f.repoID, "x86_64", kw{"task_id": task}).(int64)
		brNoTask := hc.must("host.newBuildRoot", f.repoID, "x86_64").(int64)
		_, dep := f.importBuild(t, task, "dep", br)
		good := []any{entry(dep["x86_64"])}

		anon.fault(kojixml.AuthError, "host.setBuildRootList", br, good)
		th.login("alice", "pw").fault(kojixml.AuthError, "host.setBuildRootList", br, good)
		other.fault(kojixml.ActionNotAllowed, "host.setBuildRootList", br, good)
		other.fault(kojixml.ActionNotAllowed, "host.setBuildRootState", br, "BUILDING")
		other.fault(kojixml.ActionNotAllowed, "host.setBuildRootList", br, good, kw{"task_id": task})
		hc.fault(kojixml.ActionNotAllowed, "host.setBuildRootList", brNoTask, good, kw{"task_id": task}) // the task does not hold it
		hc.fault(kojixml.GenericError, "host.setBuildRootList", br+1000, good)
		hc.fault(kojixml.GenericError, "host.setBuildRootList", br, good, kw{"task_id": int64(99999)})

		badHash := entry(dep["x86_64"])
		badHash["payloadhash"] = strings.Repeat("0", 32)
		unknown := entry(dep["x86_64"])
		unknown["name"] = "nosuch"
		noSize := hostPkg("gcc")
		delete(noSize, "size")
		badEpoch := hostPkg("gcc")
		badEpoch["epoch"] = "1"
		long := hostPkg(strings.Repeat("x", 2000))
		for _, tc := range []struct {
			name string
			list []any
			code int
			want string
		}{
			{"payloadhash differs", []any{badHash}, kojixml.GenericError, "payloadhash"},
			{"no such rpm", []any{unknown}, kojixml.GenericError, "No such rpm"},
			{"no such rpm id", []any{map[string]any{"id": int64(99999)}}, kojixml.GenericError, "No such rpm"},
			{"rpm id not a number", []any{map[string]any{"id": "x"}}, kojixml.ParameterError, "rpm id"},
			{"no name", []any{map[string]any{"version": "1"}}, kojixml.GenericError, "name field missing"},
			{"external without size", []any{noSize}, kojixml.GenericError, "size field missing"},
			{"external epoch a string", []any{badEpoch}, kojixml.GenericError, "Invalid value for epoch"},
			{"external name too long", []any{long}, kojixml.GenericError, "Invalid value for name"},
			{"not a struct", []any{"dep-1.0-1.x86_64"}, kojixml.ParameterError, "expected a struct"},
			{"unknown external repo", []any{map[string]any{"name": "a", "version": "1", "release": "1", "epoch": nil, "arch": "x86_64", "payloadhash": "ab", "size": int64(1), "buildtime": int64(1), "location": "nosuchrepo"}}, kojixml.GenericError, "No such external repo"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if f := hc.fault(tc.code, "host.setBuildRootList", br, tc.list); !strings.Contains(f.String, tc.want) {
					t.Errorf("fault %q, want it to mention %q", f.String, tc.want)
				}
			})
		}
		if l := anon.must("getBuildrootListing", br).([]any); len(l) != 0 {
			t.Fatalf("a refused list left rows: %v", l)
		}
		// one bad entry refuses the whole list
		hc.fault(kojixml.GenericError, "host.setBuildRootList", br, []any{good[0], unknown})
		if l := anon.must("getBuildrootListing", br).([]any); len(l) != 0 {
			t.Fatalf("a refused list left rows: %v", l)
		}
		big := make([]any, maxBuildrootList+1)
		for i := range big {
			big[i] = map[string]any{}
		}
		hc.fault(kojixml.ParameterError, "host.setBuildRootList", br, big)
		hc.fault(kojixml.ParameterError, "host.setBuildRootList", br)
		hc.fault(kojixml.ParameterError, "host.setBuildRootList", br, "notalist")
		hc.fault(kojixml.ParameterError, "host.setBuildRootList", "x", good)

		// an external repo's package, a repeated call, a package of the host
		// that is the rpm built here (listed as that rpm)
		admin.must("createExternalRepo", "fedora", "https://example.org/f40/$arch/")
		ext := hostPkg("glibc")
		delete(ext, "external")
		ext["location"] = "fedora"
		mine := entry(dep["src"])
		mine["external"] = true
		hc.must("host.setBuildRootList", br, []any{good[0], ext, mine}, kw{"task_id": task})
		hc.must("host.setBuildRootList", br, []any{good[0], ext, mine}, kw{"task_id": task})
		l := anon.must("getBuildrootListing", br).([]any)
		if len(l) != 3 {
			t.Fatalf("listing = %v", l)
		}
		for _, x := range l {
			m := x.(map[string]any)
			switch m["name"] {
			case "glibc":
				if m["rpm_id"] != nil || m["external_repo_name"] != "fedora" || m["external_repo_id"] == nil || m["external_repo_id"] == int64(0) {
					t.Errorf("external repo package = %v", m)
				}
			case "dep":
				if m["rpm_id"] == nil || m["external_repo_name"] != "INTERNAL" {
					t.Errorf("kojigo package = %v", m)
				}
			}
		}

		// reads of what does not exist
		anon.fault(kojixml.GenericError, "getBuildrootListing", br+1000)
		anon.fault(kojixml.ParameterError, "getBuildrootListing", "abc")
		anon.fault(kojixml.ParameterError, "getBuildrootListing")
		anon.fault(kojixml.ParameterError, "listBuildroots", kw{"state": []any{"BOGUS"}})
		anon.fault(kojixml.ParameterError, "listBuildroots", kw{"state": int64(9)})
		anon.fault(kojixml.ParameterError, "listBuildroots", kw{"rpmID": "abc"})
		anon.fault(kojixml.ParameterError, "listRPMs", kw{"componentBuildrootID": "abc"})
		anon.fault(kojixml.ParameterError, "listRPMs", kw{"hostID": []any{}})
		if l := anon.must("listRPMs", kw{"componentBuildrootID": br + 1000}).([]any); len(l) != 0 {
			t.Errorf("listRPMs(componentBuildrootID=missing) = %v", l)
		}
		if l := anon.must("listBuildroots", kw{"rpmID": int64(99999)}).([]any); len(l) != 0 {
			t.Errorf("listBuildroots(rpmID=missing) = %v", l)
		}
	})
}
