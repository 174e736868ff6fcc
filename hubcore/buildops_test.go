package hubcore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// opsWorld is a hub with a builder, users and tags dest (with hello listed)
// and other, for the build operation tests.
type opsWorld struct {
	*testHub
	admin, alice, bob, host *client
	aliceID, hostID         int64
	dest, other             int64
}

func newOpsWorld(t *testing.T, th *testHub) *opsWorld {
	t.Helper()
	w := &opsWorld{testHub: th}
	w.admin = th.login(th.ensureAdmin(), "adminpw")
	w.aliceID = th.addUser("alice", "pw")
	w.alice = th.login("alice", "pw")
	th.addUser("bob", "pw")
	w.bob = th.login("bob", "pw")
	w.host, w.hostID = th.addHost("builder1")
	w.host.must("host.updateHost", 0.0, true)
	w.dest = w.admin.must("createTag", "dest").(int64)
	w.other = w.admin.must("createTag", "other").(int64)
	w.admin.must("packageListAdd", "dest", "hello", kw{"owner": "alice"})
	return w
}

// build makes a COMPLETE build of hello owned by alice the way a builder
// does (host.initBuild, then host.completeBuild of real RPM files) and
// returns its id and its NVR.
func (w *opsWorld) build(t *testing.T, version, release string, draft bool) (int64, string) {
	t.Helper()
	ctx := context.Background()
	def, err := w.store.GetChannelByName(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	taskID, _, err := w.store.CreateTask(ctx, db.NewTask{Method: "build", Request: "<methodCall/>", Arch: "noarch", ChannelID: def.ID, Owner: w.aliceID, Priority: 20, AssignTo: &w.hostID})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := w.store.OpenTask(ctx, taskID, w.hostID); err != nil || !ok {
		t.Fatalf("open task %d: %v, %v", taskID, ok, err)
	}
	nvr := "hello-" + version + "-" + release
	dir := fmt.Sprintf("tasks/%d/%d", taskID%10000, taskID)
	top := w.hub.cfg.TopDir
	writeRPM(t, top, dir+"/"+nvr+".src.rpm", "hello", version, release, "x86_64", "", true)
	writeRPM(t, top, dir+"/"+nvr+".x86_64.rpm", "hello", version, release, "x86_64", nvr+".src.rpm", false)
	if err := os.WriteFile(filepath.Join(top, "work", dir, "build.log"), []byte("built\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := map[string]any{"name": "hello", "version": version, "release": release, "epoch": nil, "task_id": taskID}
	if draft {
		data["draft"] = true
	}
	id := w.host.must("host.initBuild", data).(int64)
	w.host.must("host.completeBuild", taskID, id, dir+"/"+nvr+".src.rpm", []any{dir + "/" + nvr + ".x86_64.rpm"}, nil,
		kw{"logs": map[string]any{"x86_64": []any{dir + "/build.log"}}})
	b := w.anon().must("getBuild", id).(map[string]any)
	if b["state"] != int64(db.BuildComplete) {
		t.Fatalf("build %s: %v", nvr, b)
	}
	return id, b["nvr"].(string)
}

func (w *opsWorld) pkgDir(release string, elem ...string) string {
	return filepath.Join(append([]string{w.hub.cfg.TopDir, "packages", "hello", "1.0", release}, elem...)...)
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

func TestDeleteBuild(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		w := newOpsWorld(t, th)
		id, nvr := w.build(t, "1.0", "1", false)
		rpms := w.anon().must("listRPMs", kw{"buildID": id}).([]any)
		if len(rpms) != 2 {
			t.Fatalf("listRPMs = %v", rpms)
		}
		var bin map[string]any
		for _, r := range rpms {
			if r.(map[string]any)["arch"] == "x86_64" {
				bin = r.(map[string]any)
			}
		}
		body, err := os.ReadFile(w.pkgDir("1", "x86_64", nvr+".x86_64.rpm"))
		if err != nil {
			t.Fatal(err)
		}
		w.admin.must("addRPMSig", bin["id"], b64(sigHeaderFor(t, body, &[4]byte{0xDE, 0xAD, 0xBE, 0xEF})))
		w.admin.must("tagBuildBypass", "dest", nvr)

		// who may, and what is refused
		w.anon().fault(kojixml.AuthError, "deleteBuild", id)
		w.alice.fault(kojixml.ActionNotAllowed, "deleteBuild", id) // the owner is not enough
		w.admin.fault(kojixml.GenericError, "deleteBuild", "nosuch-1-1")
		w.admin.fault(kojixml.GenericError, "deleteBuild", int64(99999))
		w.admin.fault(kojixml.ParameterError, "deleteBuild", id, true, "a week")
		w.admin.fault(kojixml.ParameterError, "deleteBuild")
		w.admin.fault(kojixml.ParameterError, "deleteBuild", id, kw{"colour": "red"})
		w.admin.fault(kojixml.GenericError, "deleteBuild", strings.Repeat("x", 100000))
		w.admin.fault(kojixml.GenericError, "deleteBuild", map[string]any{"name": "hello"})
		f := w.admin.fault(kojixml.GenericError, "deleteBuild", id)
		if want := fmt.Sprintf("Cannot delete build, tagged: [{'tag_id': %d, 'name': 'dest'}]", w.dest); !strings.Contains(f.String, want) {
			t.Errorf("deleteBuild of a tagged build: %q, want %q", f.String, want)
		}
		if v := w.admin.must("deleteBuild", nvr, kw{"strict": false}); v != false {
			t.Errorf("deleteBuild(strict=False) of a tagged build = %v, want False", v)
		}
		if b := w.anon().must("getBuild", id).(map[string]any); b["state"] != int64(db.BuildComplete) || !exists(w.pkgDir("1", "x86_64", nvr+".x86_64.rpm")) {
			t.Fatalf("a refused delete changed the build: %v", b)
		}

		w.admin.must("untagBuildBypass", "dest", nvr)
		if v := w.admin.must("deleteBuild", nvr); v != true {
			t.Errorf("deleteBuild = %v, want True", v)
		}
		b := w.anon().must("getBuild", id).(map[string]any)
		if b["state"] != int64(db.BuildDeleted) || b["nvr"] != nvr {
			t.Errorf("deleted build: %v", b)
		}
		// the directory goes (RPMs and logs); the RPM rows stay, their signatures go
		if exists(w.pkgDir("1")) {
			t.Errorf("build directory %s is still there", w.pkgDir("1"))
		}
		if l := w.anon().must("listRPMs", kw{"buildID": id}).([]any); len(l) != 2 {
			t.Errorf("listRPMs after delete = %v, want the rows kept", l)
		}
		if l := w.anon().must("queryRPMSigs", kw{"rpm_id": bin["id"]}).([]any); len(l) != 0 {
			t.Errorf("queryRPMSigs after delete = %v", l)
		}
		// a DELETED build answers None; it cannot be tagged; its NVR is not free
		if v := w.admin.must("deleteBuild", id); v != nil {
			t.Errorf("deleteBuild of a DELETED build = %v, want None", v)
		}
		w.admin.fault(kojixml.TagError, "tagBuildBypass", "dest", nvr)
		f = w.admin.fault(kojixml.GenericError, "createEmptyBuild", "hello", "1.0", "1", nil)
		if !strings.Contains(f.String, "hello-1.0-1") {
			t.Errorf("createEmptyBuild of a deleted NVR: %q", f.String)
		}
	})
}

func TestResetBuild(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		w := newOpsWorld(t, th)
		id, nvr := w.build(t, "1.0", "1", false)
		w.admin.must("tagBuildBypass", "dest", nvr)

		w.anon().fault(kojixml.AuthError, "resetBuild", id)
		w.alice.fault(kojixml.ActionNotAllowed, "resetBuild", id)
		w.admin.fault(kojixml.ParameterError, "resetBuild")
		w.admin.fault(kojixml.ParameterError, "resetBuild", id, true)
		if v := w.admin.must("resetBuild", "nosuch-1-1"); v != nil {
			t.Errorf("resetBuild of no build = %v, want None", v)
		}
		if v := w.admin.must("resetBuild", nvr); v != nil {
			t.Errorf("resetBuild = %v, want None", v)
		}
		b := w.anon().must("getBuild", id).(map[string]any)
		if b["state"] != int64(db.BuildCanceled) || b["task_id"] != nil || b["volume_name"] != "DEFAULT" {
			t.Errorf("reset build: %v", b)
		}
		if l := w.anon().must("listRPMs", kw{"buildID": id}).([]any); len(l) != 0 {
			t.Errorf("listRPMs after reset = %v", l)
		}
		if l := w.anon().must("listTags", kw{"build": id}).([]any); len(l) != 0 {
			t.Errorf("listTags(build) after reset = %v", l)
		}
		hist := w.anon().must("queryHistory", kw{"tables": []any{"tag_listing"}, "build": id}).(map[string]any)
		if l, _ := hist["tag_listing"].([]any); len(l) != 0 {
			t.Errorf("tag_listing history after reset = %v, want none (Koji deletes it)", l)
		}
		if exists(w.pkgDir("1")) {
			t.Errorf("build directory %s is still there", w.pkgDir("1"))
		}
		// the NVR can be built again: the same build entry is used
		again, _ := w.build(t, "1.0", "1", false)
		if again != id {
			t.Errorf("rebuilt after reset: build %d, want the reset entry %d", again, id)
		}
	})
}

func TestDraftBuildsAndPromotion(t *testing.T) {
	pol := writePolicyConf(t, "tag =\n    is_draft && tag other :: deny drafts stay out of other\n    all :: allow\n")
	forBackendsWith(t, func(c *Config) { c.Policies = pol }, func(t *testing.T, th *testHub) {
		w := newOpsWorld(t, th)
		th.addUser("carol", "pw", "draft-promoter")
		carol := th.login("carol", "pw")
		id, nvr := w.build(t, "1.0", "1", true)
		draftRel := fmt.Sprintf("1,draft_%d", id)
		b := w.anon().must("getBuild", id).(map[string]any)
		if nvr != "hello-1.0-"+draftRel || b["draft"] != true || b["release"] != draftRel || b["promoter_name"] != nil {
			t.Fatalf("draft build: %v", b)
		}
		// its RPMs keep their own release, in the draft's directory
		if !exists(w.pkgDir(draftRel, "x86_64", "hello-1.0-1.x86_64.rpm")) {
			t.Errorf("draft RPM not under %s", w.pkgDir(draftRel))
		}
		if l := w.anon().must("listBuilds", kw{"draft": true}).([]any); len(l) != 1 || l[0].(map[string]any)["id"] != id {
			t.Errorf("listBuilds(draft=True) = %v", l)
		}
		if l := w.anon().must("listBuilds", kw{"draft": false}).([]any); len(l) != 0 {
			t.Errorf("listBuilds(draft=False) = %v", l)
		}
		if l := w.anon().must("untaggedBuilds", kw{"draft": true}).([]any); len(l) != 1 {
			t.Errorf("untaggedBuilds(draft=True) = %v", l)
		}
		if v := w.anon().must("getBuild", "hello-1.0-1"); v != nil {
			t.Errorf("getBuild of the target NVR before promotion = %v", v)
		}
		// draft builds may be tagged (Koji's default policies have no draft rule)
		w.admin.must("packageListAdd", "other", "hello", kw{"owner": "alice"})
		w.admin.must("tagBuildBypass", "dest", nvr)

		for _, c := range []struct {
			method string
			args   []any
			want   int
		}{
			{"listTagged", []any{"dest", kw{"draft": true}}, 1},
			{"listTagged", []any{"dest", kw{"draft": false}}, 0},
			{"getLatestBuilds", []any{"dest", kw{"draft": false}}, 0},
			{"getLatestBuilds", []any{"dest"}, 1},
			{"listRPMs", []any{kw{"buildID": id, "draft": true}}, 2},
			{"listRPMs", []any{kw{"buildID": id, "draft": false}}, 0},
		} {
			if l := w.anon().must(c.method, c.args...).([]any); len(l) != c.want {
				t.Errorf("%s%v = %v, want %d", c.method, c.args, l, c.want)
			}
		}
		if rs := w.anon().must("getLatestRPMS", "dest", kw{"draft": true}).([]any); len(rs[0].([]any)) != 2 || rs[0].([]any)[0].(map[string]any)["draft"] != true {
			t.Errorf("getLatestRPMS(draft=True) = %v", rs)
		}

		// who may promote: draft_promotion's default policy
		w.anon().fault(kojixml.AuthError, "promoteBuild", id)
		f := w.bob.fault(kojixml.ActionNotAllowed, "promoteBuild", id)
		if !strings.Contains(f.String, "policy violation (draft_promotion)") {
			t.Errorf("bob's promotion: %q", f.String)
		}
		w.bob.fault(kojixml.ActionNotAllowed, "promoteBuild", id, kw{"force": true}) // force is an admin's
		w.admin.fault(kojixml.ParameterError, "promoteBuild")
		w.admin.fault(kojixml.GenericError, "promoteBuild", "nosuch-1-1")
		w.admin.fault(kojixml.GenericError, "promoteBuild", map[string]any{"bad": true})

		before := w.anon().must("tagLastChangeEvent", "dest").(int64)
		promoted := carol.must("promoteBuild", nvr).(map[string]any)
		if after := w.anon().must("tagLastChangeEvent", "dest").(int64); after <= before {
			t.Errorf("tagLastChangeEvent(dest) = %d after the promotion, %d before: kojira would not see it", after, before)
		}
		if promoted["id"] != id || promoted["nvr"] != "hello-1.0-1" || promoted["draft"] != false || promoted["promoter_name"] != "carol" || promoted["promotion_ts"] == nil {
			t.Errorf("promoteBuild = %v", promoted)
		}
		if !exists(w.pkgDir("1", "x86_64", "hello-1.0-1.x86_64.rpm")) {
			t.Errorf("promoted build's RPM not under %s", w.pkgDir("1"))
		}
		if !isSymlink(w.pkgDir(draftRel)) || !exists(w.pkgDir(draftRel, "x86_64", "hello-1.0-1.x86_64.rpm")) {
			t.Errorf("the draft path %s does not lead to the promoted build", w.pkgDir(draftRel))
		}
		if l := w.anon().must("listTagged", "dest").([]any); len(l) != 1 || l[0].(map[string]any)["nvr"] != "hello-1.0-1" {
			t.Errorf("listTagged(dest) after promotion = %v", l)
		}
		f = carol.fault(kojixml.GenericError, "promoteBuild", id)
		if !strings.Contains(f.String, "Cannot promote build hello-1.0-1. Reason: Not a draft build") {
			t.Errorf("promoting again: %q", f.String)
		}
		// once a regular build of the NVR exists, drafts of it are refused
		ctx := context.Background()
		def, _ := th.store.GetChannelByName(ctx, "default")
		task, _, _ := th.store.CreateTask(ctx, db.NewTask{Method: "build", Request: "<methodCall/>", Arch: "noarch", ChannelID: def.ID, Owner: w.aliceID, Priority: 20, AssignTo: &w.hostID})
		th.store.OpenTask(ctx, task, w.hostID)
		f = w.host.fault(kojixml.GenericError, "host.initBuild", map[string]any{"name": "hello", "version": "1.0", "release": "1", "task_id": task, "draft": true})
		if !strings.Contains(f.String, fmt.Sprintf("Target build already exists: hello-1.0-1 (id=%d)", id)) {
			t.Errorf("draft of a promoted NVR: %q", f.String)
		}

		// a draft whose target NVR appeared meanwhile cannot be promoted;
		// a draft still BUILDING cannot either
		d2 := w.host.must("host.initBuild", map[string]any{"name": "hello", "version": "2.0", "release": "1", "task_id": task, "draft": true}).(int64)
		if again := w.host.must("host.initBuild", map[string]any{"name": "hello", "version": "2.0", "release": "1", "task_id": task, "draft": true}); again != d2 {
			t.Errorf("initBuild of a draft run again = %v, want %d", again, d2)
		}
		f = w.admin.fault(kojixml.GenericError, "promoteBuild", d2)
		if !strings.Contains(f.String, "state (BUILDING) is not COMPLETE.") {
			t.Errorf("promoting a BUILDING draft: %q", f.String)
		}
		th.store.SetBuildState(ctx, d2, db.BuildComplete)
		u, _ := th.store.GetUserByName(ctx, "alice")
		if _, err := th.store.CreateBuild(ctx, db.NewBuild{PackageName: "hello", Version: "2.0", Release: "1", State: db.BuildComplete, OwnerID: u.ID}); err != nil {
			t.Fatal(err)
		}
		f = w.alice.fault(kojixml.GenericError, "promoteBuild", d2)
		if !strings.Contains(f.String, "Target build exists: hello-2.0-1(#") {
			t.Errorf("promoting onto an existing NVR: %q", f.String)
		}

		// createEmptyBuild makes drafts too (admin only, as in Koji)
		e := w.admin.must("createEmptyBuild", "hello", "4.0", "1", nil, kw{"draft": true}).(int64)
		if b := w.anon().must("getBuild", e).(map[string]any); b["nvr"] != fmt.Sprintf("hello-4.0-1,draft_%d", e) || b["draft"] != true || b["state"] != int64(db.BuildComplete) || b["completion_ts"] == nil {
			t.Errorf("createEmptyBuild(draft=True): %v", b)
		}
		f = w.admin.fault(kojixml.GenericError, "createEmptyBuild", "hello", "1.0", "1", nil, kw{"draft": true})
		if !strings.Contains(f.String, "Target build already exists: hello-1.0-1") {
			t.Errorf("createEmptyBuild(draft=True) of an existing NVR: %q", f.String)
		}

		// two drafts of one NVR hold RPMs of the same N-V-R.A (Koji's
		// rpminfo_unique_nvra_not_draft); getRPM finds the newest draft's
		// until one is promoted
		first, _ := w.build(t, "5.0", "1", true)
		second, _ := w.build(t, "5.0", "1", true)
		if r := w.anon().must("getRPM", "hello-5.0-1.x86_64").(map[string]any); r["build_id"] != second || r["draft"] != true {
			t.Errorf("getRPM of two drafts' N-V-R.A = %v, want the newer draft's (build %d)", r, second)
		}
		carol.must("promoteBuild", first)
		if r := w.anon().must("getRPM", "hello-5.0-1.x86_64").(map[string]any); r["build_id"] != first || r["draft"] != false {
			t.Errorf("getRPM after promoting build %d = %v", first, r)
		}
		if l := w.anon().must("listRPMs", kw{"buildID": second, "draft": true}).([]any); len(l) != 2 {
			t.Errorf("the other draft's RPMs = %v", l)
		}

		// the is_draft policy test sees the flag
		d3, _ := w.build(t, "3.0", "1", true)
		f = w.admin.fault(kojixml.ActionNotAllowed, "tagBuildBypass", "other", d3)
		if !strings.Contains(f.String, "drafts stay out of other") {
			t.Errorf("tagging a draft against the policy: %q", f.String)
		}
		w.admin.must("tagBuildBypass", "other", "hello-1.0-1")

		// deleting a promoted build removes the draft-path link too
		w.admin.must("untagBuildBypass", "dest", "hello-1.0-1")
		w.admin.must("untagBuildBypass", "other", "hello-1.0-1")
		w.admin.must("deleteBuild", id)
		if exists(w.pkgDir("1")) || exists(w.pkgDir(draftRel)) {
			t.Errorf("after deleteBuild: %s or %s remains", w.pkgDir("1"), w.pkgDir(draftRel))
		}
	})
}

func TestMoveAllBuilds(t *testing.T) {
	pol := writePolicyConf(t, "tag =\n    operation move && tag nomove :: deny no moves today\n    all :: allow\n")
	forBackendsWith(t, func(c *Config) { c.Policies = pol }, func(t *testing.T, th *testHub) {
		w := newOpsWorld(t, th)
		var ids []int64
		for _, rel := range []string{"1", "2", "3"} {
			id, nvr := w.build(t, "1.0", rel, false)
			w.admin.must("tagBuildBypass", "dest", nvr)
			ids = append(ids, id)
		}

		w.anon().fault(kojixml.AuthError, "moveAllBuilds", "dest", "other", "hello")
		w.alice.fault(kojixml.TagError, "moveAllBuilds", "dest", "other", "hello")                    // not listed in other
		w.alice.fault(kojixml.TagError, "moveAllBuilds", "dest", "other", "hello", kw{"force": true}) // force is an admin's
		for _, c := range []struct {
			args []any
			want string
		}{
			{[]any{"dest", "other", "nosuch"}, "No such entry in table package: nosuch"},
			{[]any{"dest", "nosuch", "hello"}, "No such entry in table tag: nosuch"},
			{[]any{"nosuch", "other", "hello"}, "No such entry in table tag: nosuch"},
			{[]any{"dest", "other", int64(9999)}, "No such entry in table package: 9999"},
		} {
			if f := w.alice.fault(kojixml.GenericError, "moveAllBuilds", c.args...); f.String != c.want {
				t.Errorf("moveAllBuilds%v: %q, want %q", c.args, f.String, c.want)
			}
		}
		w.alice.fault(kojixml.ParameterError, "moveAllBuilds", "dest", "other")
		w.alice.fault(kojixml.ParameterError, "moveAllBuilds", "dest", "other", "hello", false, true)
		w.alice.fault(kojixml.GenericError, "moveAllBuilds", "dest", "other", strings.Repeat("p", 100000))

		tasks := w.admin.must("moveAllBuilds", "dest", "other", "hello", true).([]any)
		if len(tasks) != 3 {
			t.Fatalf("moveAllBuilds = %v, want 3 tasks", tasks)
		}
		if l := w.anon().must("listPackages", kw{"tagID": w.other, "pkgID": "hello"}).([]any); len(l) != 1 {
			t.Errorf("force did not list hello in other: %v", l)
		}
		// one dependantTask per build, oldest tagging first, each waiting
		// for the one before, each holding a tagBuild with fromtag
		var prev any
		for i, tk := range tasks {
			info := w.anon().must("getTaskInfo", tk, kw{"request": true}).(map[string]any)
			req := info["request"].([]any)
			if info["method"] != "dependantTask" || len(req) != 2 {
				t.Fatalf("task %v: %v", tk, info)
			}
			wait := req[0].([]any)
			if (prev == nil && len(wait) != 0) || (prev != nil && (len(wait) != 1 || wait[0] != prev)) {
				t.Errorf("task %v waits on %v, want [%v]", tk, wait, prev)
			}
			sub := req[1].([]any)[0].([]any)
			args := sub[1].([]any)
			if sub[0] != "tagBuild" || args[0] != w.other || args[1] != ids[i] || args[2] != true || args[3] != w.dest || sub[2].(map[string]any)["priority"] != int64(15) {
				t.Errorf("task %v: subtask %v, want tagBuild of build %d from dest to other", tk, sub, ids[i])
			}
			prev = tk
		}
		// nothing of the package in the source tag: no tasks
		w.admin.must("packageListAdd", "other", "bye", kw{"owner": "alice"})
		if l := w.alice.must("moveAllBuilds", "dest", "other", "bye").([]any); len(l) != 0 {
			t.Errorf("moveAllBuilds of an untagged package = %v", l)
		}
		// the tag policy is asked for every build (operation move)
		w.admin.must("createTag", "nomove")
		w.admin.must("packageListAdd", "nomove", "hello", kw{"owner": "alice"})
		f := w.admin.fault(kojixml.ActionNotAllowed, "moveAllBuilds", "dest", "nomove", "hello")
		if !strings.Contains(f.String, "no moves today") {
			t.Errorf("moveAllBuilds against the tag policy: %q", f.String)
		}
	})
}

func TestChainBuild(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		w := newOpsWorld(t, th)
		w.admin.must("createTag", "dest-build", kw{"parent": "dest", "arches": "x86_64"})
		w.admin.must("createBuildTarget", "dest-candidate", "dest-build", "dest")
		srcs := []any{[]any{"git+https://example.com/greet.git#main"}, []any{"hello-1.0-1", "git+https://example.com/motd.git#main"}}
		w.anon().fault(kojixml.AuthError, "chainBuild", srcs, "dest-candidate")
		w.alice.fault(kojixml.ParameterError, "chainBuild", "git+https://example.com/x.git#main", "dest-candidate")
		w.alice.fault(kojixml.ParameterError, "chainBuild", []any{"not-a-level"}, "dest-candidate")
		w.alice.fault(kojixml.ParameterError, "chainBuild", []any{[]any{int64(1)}}, "dest-candidate")
		w.alice.fault(kojixml.ParameterError, "chainBuild", []any{[]any{"a\nb"}}, "dest-candidate")
		w.alice.fault(kojixml.ParameterError, "chainBuild", []any{[]any{strings.Repeat("x", 5000)}}, "dest-candidate")
		big := make([]any, 1001)
		for i := range big {
			big[i] = "x-1-1"
		}
		w.alice.fault(kojixml.ParameterError, "chainBuild", []any{big}, "dest-candidate")
		w.alice.fault(kojixml.ParameterError, "chainBuild", srcs, "dest-candidate", map[string]any{"colour": "red"})
		w.alice.fault(kojixml.ParameterError, "chainBuild", srcs)
		w.alice.fault(kojixml.GenericError, "chainBuild", srcs, "nosuch-target")
		w.alice.fault(kojixml.ActionNotAllowed, "chainBuild", srcs, "dest-candidate", kw{"priority": int64(-5)})
		w.alice.fault(kojixml.GenericError, "chainBuild", srcs, "dest-candidate", kw{"channel": "nosuch"})

		id := w.alice.must("chainBuild", srcs, "dest-candidate", kw{"priority": int64(5)}).(int64)
		info := w.anon().must("getTaskInfo", id, kw{"request": true}).(map[string]any)
		req := info["request"].([]any)
		if info["method"] != "chainbuild" || info["priority"] != int64(25) || info["owner"] != w.aliceID || len(req) != 3 ||
			fmt.Sprint(req[0]) != fmt.Sprint(srcs) || req[1] != "dest-candidate" || fmt.Sprint(req[2]) != "map[]" {
			t.Errorf("chainbuild task: %v", info)
		}
		id2 := w.alice.must("chainBuild", srcs, "dest-candidate", map[string]any{"draft": true}, nil, "default").(int64)
		if req := w.anon().must("getTaskInfo", id2, kw{"request": true}).(map[string]any)["request"].([]any); fmt.Sprint(req[2]) != "map[draft:true]" {
			t.Errorf("chainbuild opts: %v", req[2])
		}
	})
}
