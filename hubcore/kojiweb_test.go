package hubcore

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// kojiwebWorld is a small farm as kojiweb's pages show it: a tag with a
// parent, a target, a host, an imported build with rpms and a build made
// by a task tree, a buildroot, a repo and an external repo.
type kojiwebWorld struct {
	admin, alice                                *client
	adminID, aliceID, hostID, channelID         int64
	tagID, buildTagID, targetID, pkgID          int64
	buildID, srpmID, rpmID, taskBuildID         int64
	parentTask, childTask, grandchildTask       int64
	repoID, buildrootID, extRepoID, otherTaskID int64
}

func newKojiwebWorld(t *testing.T, th *testHub) *kojiwebWorld {
	t.Helper()
	ctx := context.Background()
	w := &kojiwebWorld{}
	w.admin = th.login(th.ensureAdmin(), "adminpw")
	w.aliceID = th.addUser("alice", "pw")
	w.alice = th.login("alice", "pw")
	u, err := th.store.GetUserByName(ctx, "kojiadmin")
	if err != nil {
		t.Fatal(err)
	}
	w.adminID = u.ID
	_, w.hostID = th.addHost("builder1", "x86_64")
	w.channelID = w.admin.must("getChannel", "default").(map[string]any)["id"].(int64)

	w.tagID = w.admin.must("createTag", "f40").(int64)
	w.buildTagID = w.admin.must("createTag", "f40-build", kw{"parent": "f40", "arches": "x86_64"}).(int64)
	w.admin.must("createBuildTarget", "f40-candidate", "f40-build", "f40")
	w.targetID = w.admin.must("getBuildTarget", "f40-candidate").(map[string]any)["id"].(int64)
	w.admin.must("packageListAdd", "f40", "hello", "kojiadmin")
	w.buildID, w.srpmID, w.rpmID = importHello(t, th, w.admin)
	if _, err := th.store.TagBuild(ctx, w.tagID, w.buildID, &w.adminID); err != nil {
		t.Fatal(err)
	}
	w.pkgID = w.admin.must("getPackageID", "hello").(int64)

	request := func(method string, params ...any) string {
		var b bytes.Buffer
		if err := kojixml.EncodeCall(&b, method, params); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	task := func(n db.NewTask) int64 {
		id, _, err := th.store.CreateTask(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	w.parentTask = task(db.NewTask{Method: "build", Request: request("build", "git+https://git.example.com/hello.git#1a2b", "f40-candidate", map[string]any{}),
		Arch: "noarch", ChannelID: w.channelID, Owner: w.aliceID, AssignTo: &w.hostID})
	if _, ok, err := th.store.OpenTask(ctx, w.parentTask, w.hostID); err != nil || !ok {
		t.Fatalf("open task %d: %v %v", w.parentTask, ok, err)
	}
	w.childTask = task(db.NewTask{Method: "buildArch", Request: request("buildArch", "tasks/1/hello-2.0-1.src.rpm", w.buildTagID, "x86_64", true, map[string]any{}),
		Arch: "x86_64", ChannelID: w.channelID, Owner: w.aliceID, Parent: &w.parentTask, AssignTo: &w.hostID})
	if _, ok, err := th.store.OpenTask(ctx, w.childTask, w.hostID); err != nil || !ok {
		t.Fatalf("open task %d: %v %v", w.childTask, ok, err)
	}
	w.grandchildTask = task(db.NewTask{Method: "createrepo", Request: request("createrepo", int64(1), "x86_64", nil),
		Arch: "x86_64", ChannelID: w.channelID, Owner: w.aliceID, Parent: &w.childTask})
	w.otherTaskID = task(db.NewTask{Method: "tagBuild", Request: request("tagBuild", w.tagID, w.buildID, false, nil, true),
		Arch: "noarch", ChannelID: w.channelID, Owner: w.aliceID, Parent: &w.parentTask})
	w.taskBuildID, err = th.store.CreateBuild(ctx, db.NewBuild{PackageName: "hello", Version: "2.0", Release: "1", State: db.BuildBuilding, TaskID: &w.parentTask, OwnerID: w.aliceID})
	if err != nil {
		t.Fatal(err)
	}
	if err := th.store.SetBuildState(ctx, w.taskBuildID, db.BuildComplete, db.BuildBuilding); err != nil {
		t.Fatal(err)
	}
	ev, err := th.store.LastEvent(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.repoID, err = th.store.CreateRepo(ctx, db.NewRepo{TagID: w.buildTagID, CreateEvent: ev.ID, State: 1, Opts: "{}", CustomOpts: "{}", TaskID: &w.childTask})
	if err != nil {
		t.Fatal(err)
	}
	w.buildrootID, err = th.store.CreateBuildroot(ctx, db.Buildroot{HostID: &w.hostID, RepoID: &w.repoID, TaskID: &w.childTask, Arch: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	w.extRepoID = w.admin.must("createExternalRepo", "centos", "https://mirror.example.com/centos/$arch/").(map[string]any)["id"].(int64)
	w.admin.must("addExternalRepoToTag", "f40-build", "centos", int64(5))
	return w
}

// webCall is one hub call a kojiweb page makes, with the arguments
// index.py passes and the fields its template (or index.py) reads.
type webCall struct {
	method string
	args   []any
	fields []string // of the struct, or of each struct in the list
	check  func(t *testing.T, w *kojiwebWorld, v any)
}

var (
	taskFields  = []string{"id", "state", "method", "arch", "owner", "create_ts", "completion_ts", "parent", "priority", "host_id", "channel_id", "label", "weight"}
	buildFields = []string{"build_id", "nvr", "name", "version", "release", "epoch", "state", "owner_name", "owner_id", "package_id", "package_name", "creation_ts", "completion_ts", "task_id", "volume_name"}
	rpmFields   = []string{"id", "name", "version", "release", "arch", "epoch", "build_id", "buildroot_id", "size", "payloadhash", "buildtime", "external_repo_id", "external_repo_name"}
	tagFields   = []string{"id", "name", "arches", "locked", "perm_id", "perm", "maven_support", "maven_include_all"}
	hostFields  = []string{"id", "name", "arches", "enabled", "ready", "task_load", "capacity", "comment", "description", "update_ts", "user_id"}
)

// kojiwebPages derives each page's calls from Koji 1.35's
// www/kojiweb/index.py (the page, then the calls in the order it makes
// them). paginateMethod adds queryOpts {countOnly} and then {offset,
// limit, order}; paginateResults calls countAndFilterResults with
// filterOpts.
func kojiwebPages(w *kojiwebWorld) []struct {
	page  string
	calls []webCall
} {
	qo := func(order string) map[string]any {
		return map[string]any{"offset": int64(0), "limit": int64(50), "order": order}
	}
	count := map[string]any{"countOnly": true}
	fo := func(order string) map[string]any {
		return map[string]any{"order": order, "offset": int64(0), "limit": int64(50)}
	}
	n := func(min int) func(t *testing.T, w *kojiwebWorld, v any) {
		return func(t *testing.T, w *kojiwebWorld, v any) {
			switch x := v.(type) {
			case int64:
				if x < int64(min) {
					t.Errorf("count %d, want at least %d", x, min)
				}
			case []any:
				if len(x) < min {
					t.Errorf("%d results, want at least %d: %v", len(x), min, x)
				}
			default:
				t.Errorf("result %T %v, want a count or a list", v, v)
			}
		}
	}
	return []struct {
		page  string
		calls []webCall
	}{
		{"index", []webCall{
			{method: "listBuilds", args: []any{kw{"userID": w.aliceID, "queryOpts": map[string]any{"order": "-build_id", "limit": int64(10)}}}, fields: buildFields, check: n(1)},
			{method: "listTasks", args: []any{kw{"opts": map[string]any{"owner": w.aliceID, "parent": nil, "decode": true}, "queryOpts": map[string]any{"order": "-id", "limit": int64(10)}}}, fields: taskFields, check: n(1)},
			{method: "listPackages", args: []any{kw{"userID": w.adminID, "with_dups": true, "queryOpts": map[string]any{"order": "package_name", "limit": int64(10)}}}, fields: []string{"package_id", "package_name", "tag_id", "tag_name", "blocked"}, check: n(1)},
			{method: "getBuildNotifications", args: []any{w.aliceID}},
		}},
		{"tasks (tree view)", []webCall{
			{method: "listTasks", args: []any{kw{"opts": map[string]any{"state": []any{int64(0), int64(1), int64(4)}, "parent": nil, "decode": true}, "queryOpts": count}}, check: n(1)},
			{method: "listTasks", args: []any{kw{"opts": map[string]any{"parent": nil, "decode": true}, "queryOpts": qo("-id")}}, fields: append(taskFields, "request"), check: n(1)},
			{method: "getTaskDescendents", args: []any{w.parentTask, kw{"request": true}}, check: func(t *testing.T, w *kojiwebWorld, v any) {
				m := v.(map[string]any)
				kids, _ := m[fmt.Sprint(w.parentTask)].([]any)
				if len(m) != 4 || len(kids) != 2 || kids[0].(map[string]any)["id"] != w.childTask || kids[1].(map[string]any)["id"] != w.otherTaskID {
					t.Fatalf("descendents = %v, want 4 tasks, %d's children %d and %d by id", m, w.parentTask, w.childTask, w.otherTaskID)
				}
				if r, ok := kids[0].(map[string]any)["request"].([]any); !ok || len(r) != 5 || r[2] != "x86_64" {
					t.Errorf("child request = %v, want buildArch's decoded parameters", kids[0].(map[string]any)["request"])
				}
				if gc := m[fmt.Sprint(w.childTask)].([]any); len(gc) != 1 || gc[0].(map[string]any)["id"] != w.grandchildTask {
					t.Errorf("grandchildren = %v", gc)
				}
				if l := m[fmt.Sprint(w.grandchildTask)].([]any); len(l) != 0 {
					t.Errorf("leaf task maps to %v, want []", l)
				}
			}},
		}},
		{"taskinfo", []webCall{
			{method: "getTaskInfo", args: []any{w.parentTask, kw{"request": true}}, fields: append(taskFields, "request")},
			{method: "getTaskDescendents", args: []any{w.parentTask, kw{"request": true}}},
			{method: "listBuilds", args: []any{kw{"taskID": w.parentTask}}, fields: buildFields, check: n(1)},
			{method: "getAverageBuildDuration", args: []any{w.pkgID}, check: func(t *testing.T, w *kojiwebWorld, v any) {
				if d, ok := v.(float64); !ok || d < 0 {
					t.Errorf("average duration = %v, want seconds (only the task's build counts)", v)
				}
			}},
			{method: "listBuildroots", args: []any{kw{"taskID": w.childTask}}, fields: []string{"id", "host_name", "tag_name", "repo_id", "arch", "state"}, check: n(1)},
			{method: "getTag", args: []any{w.buildTagID, kw{"event": "auto"}}, fields: tagFields},
			{method: "getChannel", args: []any{w.channelID}, fields: []string{"id", "name"}},
			{method: "getHost", args: []any{w.hostID}, fields: hostFields},
			{method: "getUser", args: []any{w.aliceID}, fields: []string{"id", "name", "status", "usertype"}},
			{method: "getBuildTarget", args: []any{"f40-candidate"}, fields: []string{"id", "name", "build_tag_name", "dest_tag_name"}},
			{method: "repoInfo", args: []any{w.repoID}, fields: []string{"id", "tag_name", "state", "create_event", "create_ts"}},
			{method: "listTaskOutput", args: []any{w.parentTask, kw{"stat": true, "all_volumes": true}}},
			{method: "repo.queryQueue", args: []any{[]any{[]any{"task_id", "=", w.parentTask}}, []any{"id"}}},
		}},
		{"builds", []webCall{
			{method: "listTagged", args: []any{w.tagID, kw{"inherit": true}}, fields: buildFields, check: n(1)},
			{method: "countAndFilterResults", args: []any{"listTagged", w.tagID, kw{"inherit": false, "latest": false, "type": nil, "draft": nil, "filterOpts": fo("-build_id")}}, check: func(t *testing.T, w *kojiwebWorld, v any) {
				r := v.([]any)
				if r[0] != int64(1) || len(r[1].([]any)) != 1 || r[1].([]any)[0].(map[string]any)["build_id"] != w.buildID {
					t.Errorf("countAndFilterResults(listTagged f40) = %v, want [1, [hello-1.0-1]]", r)
				}
			}},
			{method: "listBuilds", args: []any{kw{"packageID": w.pkgID, "queryOpts": count}}, check: n(2)},
			{method: "listBuilds", args: []any{kw{"state": int64(1), "queryOpts": qo("-build_id")}}, fields: buildFields, check: n(2)},
			{method: "listBTypes"},
		}},
		{"buildinfo", []webCall{
			{method: "getBuild", args: []any{w.taskBuildID}, fields: buildFields},
			{method: "listTags", args: []any{w.buildID}, fields: []string{"id", "name"}, check: n(1)},
			{method: "listBuildRPMs", args: []any{w.buildID}, fields: rpmFields, check: n(2)},
			{method: "getBuildType", args: []any{w.buildID}},
			{method: "getRPMHeaders", args: []any{w.srpmID, kw{"headers": []any{"summary", "description", "license", "disturl", "vcs"}}}},
			{method: "getChangelogEntries", args: []any{w.buildID, kw{"queryOpts": map[string]any{"limit": int64(3)}}}},
			{method: "getTaskInfo", args: []any{w.parentTask, kw{"request": true}}},
			{method: "listTasks", args: []any{kw{"opts": map[string]any{"parent": w.parentTask, "method": "buildSRPMFromSCM"}}}},
			{method: "getBuildLogs", args: []any{w.buildID}},
			{method: "getAverageBuildDuration", args: []any{"hello"}},
		}},
		{"rpminfo", []webCall{
			{method: "getRPM", args: []any{w.rpmID}, fields: rpmFields},
			{method: "getBuildroot", args: []any{w.buildrootID}, fields: []string{"id", "host_name", "tag_name", "repo_id", "arch"}},
			{method: "getRPMDeps", args: []any{w.rpmID}},
			{method: "listRPMFiles", args: []any{w.rpmID, kw{"queryOpts": qo("name")}}},
			{method: "listBuildroots", args: []any{kw{"rpmID": w.rpmID, "queryOpts": qo("-id")}}},
		}},
		{"fileinfo", []webCall{{method: "getRPMFile", args: []any{w.rpmID, "/usr/share/doc/hello/README"}}}},
		{"tags", []webCall{{method: "listTags", args: []any{kw{"queryOpts": qo("name")}}, fields: tagFields, check: n(2)}}},
		{"taginfo", []webCall{
			{method: "getTag", args: []any{w.tagID, kw{"strict": true, "event": "auto"}}, fields: tagFields},
			{method: "count", args: []any{"listPackages", kw{"tagID": w.tagID, "inherited": true, "with_owners": false, "with_blocked": false}}, check: func(t *testing.T, w *kojiwebWorld, v any) {
				if v != int64(1) {
					t.Errorf("count(listPackages f40) = %v, want 1", v)
				}
			}},
			{method: "count", args: []any{"listTagged", kw{"tag": w.tagID, "inherit": true}}, check: func(t *testing.T, w *kojiwebWorld, v any) {
				if v != int64(1) {
					t.Errorf("count(listTagged f40) = %v, want 1", v)
				}
			}},
			{method: "getFullInheritance", args: []any{w.buildTagID}, fields: []string{"parent_id", "name", "priority", "maxdepth", "intransitive", "noconfig", "pkg_filter", "currdepth"}, check: n(1)},
			{method: "getBuildTargets", args: []any{kw{"buildTagID": w.buildTagID}}, check: n(1)},
			{method: "getBuildTargets", args: []any{kw{"destTagID": w.tagID}}, check: n(1)},
			{method: "repo.get", args: []any{w.buildTagID}},
			{method: "getExternalRepoList", args: []any{w.buildTagID}, fields: []string{"external_repo_id", "external_repo_name", "url", "priority", "merge_mode"}, check: n(1)},
			{method: "repo.queryQueue", args: []any{[]any{[]any{"tag_id", "=", w.tagID}}, kw{"opts": map[string]any{"countOnly": true}}}},
		}},
		{"packages", []webCall{
			{method: "countAndFilterResults", args: []any{"listPackages", kw{"tagID": w.tagID, "inherited": true, "filterOpts": fo("package_name")}}, check: func(t *testing.T, w *kojiwebWorld, v any) {
				r := v.([]any)
				if r[0] != int64(1) || r[1].([]any)[0].(map[string]any)["package_name"] != "hello" {
					t.Errorf("countAndFilterResults(listPackages f40) = %v", r)
				}
			}},
			{method: "listPackages", args: []any{kw{"queryOpts": qo("package_name")}}, check: n(1)},
			{method: "listPackagesSimple", args: []any{kw{"prefix": "HE", "queryOpts": map[string]any{"order": "-package_name"}}}, fields: []string{"package_id", "package_name"}, check: n(1)},
		}},
		{"packageinfo", []webCall{
			{method: "getPackage", args: []any{w.pkgID}, fields: []string{"id", "name"}},
			{method: "listTags", args: []any{kw{"package": w.pkgID, "queryOpts": qo("name")}}, check: n(1)},
			{method: "listBuilds", args: []any{kw{"packageID": w.pkgID, "queryOpts": qo("-completion_time")}}, check: n(2)},
		}},
		{"hosts", []webCall{
			{method: "listHosts", args: []any{kw{"queryOpts": qo("name")}}, fields: hostFields, check: n(1)},
			{method: "getLastHostUpdate", args: []any{w.hostID, kw{"ts": true}}},
			{method: "listChannels", args: []any{}, check: n(1)},
		}},
		{"hostinfo", []webCall{
			{method: "getHost", args: []any{w.hostID}, fields: hostFields},
			{method: "listChannels", args: []any{w.hostID}, check: n(1)},
			{method: "listBuildroots", args: []any{kw{"hostID": w.hostID, "state": []any{int64(0), int64(1), int64(2)}, "queryOpts": map[string]any{"order": "-create_event_id"}}}},
		}},
		{"channelinfo", []webCall{
			{method: "getChannel", args: []any{w.channelID}, fields: []string{"id", "name", "description", "enabled", "comment"}},
			{method: "listTasks", args: []any{kw{"opts": map[string]any{"channel_id": w.channelID, "state": []any{int64(0), int64(1), int64(4)}}, "queryOpts": count}}},
			{method: "listHosts", args: []any{kw{"channelID": w.channelID}}, check: n(1)},
		}},
		{"buildroots", []webCall{
			{method: "listBuildroots", args: []any{kw{"repoID": w.repoID, "queryOpts": qo("id")}}, check: n(1)},
			{method: "listBuildroots", args: []any{kw{"state": []any{int64(0)}, "queryOpts": qo("id")}}},
		}},
		{"buildrootinfo", []webCall{
			{method: "getBuildroot", args: []any{w.buildrootID}, fields: []string{"id", "host_id", "host_name", "repo_id", "tag_name", "task_id", "arch", "state", "create_event_time", "retire_event_time", "br_type"}},
		}},
		{"rpmlist", []webCall{
			{method: "listRPMs", args: []any{kw{"buildrootID": w.buildrootID, "queryOpts": qo("nvr")}}},
			{method: "listRPMs", args: []any{kw{"componentBuildrootID": w.buildrootID, "queryOpts": qo("nvr")}}},
		}},
		{"users", []webCall{{method: "listUsers", args: []any{kw{"prefix": nil, "queryOpts": qo("name")}}, fields: []string{"id", "name", "status", "usertype"}, check: n(2)}}},
		{"userinfo", []webCall{
			{method: "getUser", args: []any{w.aliceID}},
			{method: "listTasks", args: []any{kw{"opts": map[string]any{"owner": w.aliceID, "parent": nil}, "queryOpts": count}}, check: n(1)},
			{method: "countAndFilterResults", args: []any{"listPackages", kw{"userID": w.adminID, "with_dups": true, "filterOpts": fo("package_name")}}, check: func(t *testing.T, w *kojiwebWorld, v any) {
				if r := v.([]any); r[0] != int64(1) {
					t.Errorf("countAndFilterResults(listPackages kojiadmin) = %v, want one package", r)
				}
			}},
			{method: "listBuilds", args: []any{kw{"userID": w.aliceID, "queryOpts": qo("-completion_time")}}, check: n(1)},
		}},
		{"buildtargets", []webCall{{method: "getBuildTargets", args: []any{kw{"queryOpts": qo("name")}}, fields: []string{"id", "name", "build_tag", "build_tag_name", "dest_tag", "dest_tag_name"}, check: n(1)}}},
		{"buildtargetinfo", []webCall{
			{method: "getBuildTarget", args: []any{w.targetID}},
			{method: "getTag", args: []any{w.buildTagID}},
		}},
		{"reports", []webCall{
			{method: "listBuilds", args: []any{kw{"userID": w.aliceID, "queryOpts": count}}, check: n(1)},                           // buildsbyuser
			{method: "listRPMs", args: []any{kw{"hostID": w.hostID, "queryOpts": count}}},                                           // rpmsbyhost
			{method: "count", args: []any{"listPackages", kw{"userID": w.adminID, "with_dups": true}}, check: n(1)},                 // packagesbyuser
			{method: "listTasks", args: []any{kw{"opts": map[string]any{"host_id": w.hostID}, "queryOpts": count}}},                 // tasksbyhost
			{method: "listTasks", args: []any{kw{"opts": map[string]any{"owner": w.aliceID}, "queryOpts": count}}, check: n(4)},     // tasksbyuser
			{method: "listBuilds", args: []any{kw{"state": int64(1), "completeAfter": nil, "queryOpts": count}}, check: n(2)},       // buildsbystatus
			{method: "listTasks", args: []any{kw{"opts": map[string]any{"method": "build", "completeAfter": nil, "decode": true}}}}, // buildsbytarget
			{method: "getAllArches"},
		}},
		{"search", []webCall{
			{method: "search", args: []any{"hel*", "package", "glob", kw{"queryOpts": qo("name")}}, check: n(1)},
			{method: "search", args: []any{"hello", "rpm", "glob", kw{"queryOpts": qo("name")}}},
		}},
		{"repoinfo", []webCall{
			{method: "repoInfo", args: []any{w.repoID, kw{"strict": false}}},
			{method: "listBuildroots", args: []any{kw{"repoID": w.repoID, "queryOpts": count}}, check: n(1)},
			{method: "repo.queryQueue", args: []any{[]any{[]any{"repo_id", "=", w.repoID}}, []any{"id"}}},
		}},
		{"externalrepoinfo", []webCall{
			{method: "getExternalRepo", args: []any{w.extRepoID, kw{"strict": true}}, fields: []string{"id", "name", "url"}},
			{method: "getTagExternalRepos", args: []any{kw{"repo_info": w.extRepoID}}, check: n(1)},
		}},
		{"clusterhealth", []webCall{
			{method: "listHosts", args: []any{kw{"channelID": w.channelID, "enabled": true}}},
		}},
		{"api", []webCall{{method: "_listapi"}, {method: "getKojiVersion"}}},
	}
}

// TestKojiwebPageCalls: each call a kojiweb page makes answers without a
// fault, with the fields the page's template reads.
func TestKojiwebPageCalls(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		w := newKojiwebWorld(t, th)
		for _, p := range kojiwebPages(w) {
			for i, c := range p.calls {
				name := fmt.Sprintf("%s/%d-%s", p.page, i, c.method)
				t.Run(name, func(t *testing.T) {
					v, err := th.anon().call(c.method, c.args...)
					if err != nil {
						t.Fatalf("%s%v: %v", c.method, c.args, err)
					}
					if len(c.fields) > 0 {
						row, ok := v.(map[string]any)
						if l, isList := v.([]any); isList {
							if len(l) == 0 {
								t.Fatalf("%s%v = [], want rows with %v", c.method, c.args, c.fields)
							}
							row, ok = l[0].(map[string]any)
						}
						if !ok {
							t.Fatalf("%s%v = %v, want structs", c.method, c.args, v)
						}
						for _, f := range c.fields {
							if _, ok := row[f]; !ok {
								t.Errorf("%s%v lacks %q: %v", c.method, c.args, f, row)
							}
						}
					}
					if c.check != nil {
						c.check(t, w, v)
					}
				})
			}
		}
	})
}

// TestKojiwebWrappers: count and countAndFilterResults run the named method
// as the caller, and refuse what Koji refuses; the listings answer wrong
// and hostile input with faults.
func TestKojiwebWrappers(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		w := newKojiwebWorld(t, th)
		anon := th.anon()
		for _, c := range []struct {
			args []any
			want any
		}{
			{[]any{"listTags"}, int64(2)},
			{[]any{"getTag", "nosuch"}, int64(0)},                                             // None
			{[]any{"getTag", "f40"}, int64(len(anon.must("getTag", "f40").(map[string]any)))}, // a struct: its fields
			{[]any{"getAPIVersion"}, int64(1)},                                                // anything else
			{[]any{"getTaskDescendents", w.parentTask}, int64(4)},                             // a struct
		} {
			if got := anon.must("count", c.args...); got != c.want {
				t.Errorf("count%v = %v, want %v", c.args, got, c.want)
			}
		}
		// rows in order, None last unless noneGreatest is false, Python slices
		rows := func(v any) []any { return v.([]any)[1].([]any) }
		ids := func(l []any, key string) []any {
			var out []any
			for _, r := range l {
				out = append(out, r.(map[string]any)[key])
			}
			return out
		}
		all := anon.must("countAndFilterResults", "listTasks", kw{"filterOpts": map[string]any{"order": "-id"}})
		if all.([]any)[0] != int64(4) || fmt.Sprint(ids(rows(all), "id")) != fmt.Sprint([]any{w.otherTaskID, w.grandchildTask, w.childTask, w.parentTask}) {
			t.Errorf("countAndFilterResults(listTasks, -id) = %v", all)
		}
		hosts := anon.must("countAndFilterResults", "listTasks", kw{"filterOpts": map[string]any{"order": "host_id"}})
		if got := ids(rows(hosts), "host_id"); got[0] != w.hostID || got[3] != nil {
			t.Errorf("order host_id: %v, want None last", got)
		}
		hosts = anon.must("countAndFilterResults", "listTasks", kw{"filterOpts": map[string]any{"order": "host_id", "noneGreatest": false}})
		if got := ids(rows(hosts), "host_id"); got[0] != nil || got[3] != w.hostID {
			t.Errorf("order host_id, noneGreatest false: %v, want None first", got)
		}
		cut := anon.must("countAndFilterResults", "listTasks", kw{"filterOpts": map[string]any{"order": "id", "offset": int64(-3), "limit": int64(-1)}})
		if got := ids(rows(cut), "id"); cut.([]any)[0] != int64(4) || fmt.Sprint(got) != fmt.Sprint([]any{w.childTask, w.grandchildTask}) {
			t.Errorf("offset -3 limit -1 = %v (total %v), want Python's l[-3:][:-1]", got, cut.([]any)[0])
		}
		if v := anon.must("countAndFilterResults", "getTag", "nosuch"); fmt.Sprint(v) != "[0 <nil>]" {
			t.Errorf("countAndFilterResults of None = %v, want [0, None]", v)
		}
		if v := anon.must("filterResults", "listTags", kw{"filterOpts": map[string]any{"order": "name", "limit": int64(1)}}).([]any); len(v) != 1 || v[0].(map[string]any)["name"] != "f40" {
			t.Errorf("filterResults(listTags, name, 1) = %v", v)
		}
		for _, c := range []struct {
			method string
			args   []any
			code   int
			text   string
		}{
			{"count", []any{"nosuchMethod"}, kojixml.GenericError, "method nosuchMethod doesn't exist"},
			{"count", []any{}, kojixml.ParameterError, "methodName"},
			{"count", []any{int64(3)}, kojixml.ParameterError, "methodName"},
			{"count", []any{"multiCall", []any{}}, kojixml.GenericError, "cannot wrap"},
			{"count", []any{"count", "listTags"}, kojixml.GenericError, "count cannot wrap count"},
			{"countAndFilterResults", []any{"filterResults", "listTags"}, kojixml.GenericError, "countAndFilterResults cannot wrap filterResults"},
			{"countAndFilterResults", []any{"nosuch"}, kojixml.GenericError, "method nosuch doesn't exist"},
			{"count", []any{"getTag"}, kojixml.ParameterError, "tagInfo"},
			{"count", []any{"grantPermission", "alice", "admin"}, kojixml.AuthError, ""},
			{"countAndFilterResults", []any{"getTag", "f40"}, kojixml.GenericError, "getTag() did not return a list"},
			{"countAndFilterResults", []any{"getTag"}, kojixml.GenericError, "method getTag raised an exception"},
			{"countAndFilterResults", []any{"listTags", kw{"filterOpts": map[string]any{"order": "nosuch"}}}, kojixml.GenericError, "nosuch"},
			{"countAndFilterResults", []any{"listTags", kw{"filterOpts": map[string]any{"limit": "ten"}}}, kojixml.ParameterError, "limit"},
			{"countAndFilterResults", []any{"listTags", kw{"filterOpts": map[string]any{"order": int64(1)}}}, kojixml.ParameterError, "order"},
			{"countAndFilterResults", []any{"listTags", kw{"filterOpts": map[string]any{"bogus": true}}}, kojixml.ParameterError, "bogus"},
			{"countAndFilterResults", []any{"listTags", kw{"filterOpts": "name"}}, kojixml.ParameterError, "filterOpts"},
			{"getTaskDescendents", []any{"one"}, kojixml.ParameterError, "task_id"},
			{"listBuildRPMs", []any{"nosuch-1-1"}, kojixml.GenericError, "No such build"},
			{"listBuildRPMs", []any{}, kojixml.ParameterError, "build"},
			{"getAverageBuildDuration", []any{1.5}, kojixml.ParameterError, "package"},
			{"getAverageBuildDuration", []any{"hello", int64(-1)}, kojixml.ParameterError, "age"},
			{"listPackagesSimple", []any{kw{"queryOpts": map[string]any{"order": "id; DROP TABLE packages"}}}, kojixml.ParameterError, "order"},
			{"listPackagesSimple", []any{int64(5)}, kojixml.ParameterError, "prefix"},
		} {
			f := anon.fault(c.code, c.method, c.args...)
			if !strings.Contains(f.String, c.text) {
				t.Errorf("%s%v = %q, want it to mention %q", c.method, c.args, f.String, c.text)
			}
		}
		// no archives on this hub: kojiweb's archive pages say so
		if v := anon.must("getArchive", int64(1)); v != nil {
			t.Errorf("getArchive(1) = %v, want None", v)
		}
		for _, c := range []struct {
			method string
			args   []any
		}{{"getArchive", []any{int64(1), true}}, {"listArchiveFiles", []any{int64(1)}}, {"getArchiveFile", []any{int64(1), "a.jar"}}} {
			if f := anon.fault(kojixml.GenericError, c.method, c.args...); f.String != "No such archive: 1" {
				t.Errorf("%s%v = %q, want Koji's \"No such archive: 1\"", c.method, c.args, f.String)
			}
		}
		anon.fault(kojixml.ParameterError, "getArchive", "one")
		// a logged-in caller's wrapped call runs as that caller
		if n := w.alice.must("count", "getLoggedInUser"); n == int64(0) {
			t.Errorf("count(getLoggedInUser) as alice = 0, want her struct")
		}
		if v := anon.must("getTaskDescendents", int64(99999)).(map[string]any); len(v) != 1 || len(v["99999"].([]any)) != 0 {
			t.Errorf("getTaskDescendents(no task) = %v, want {99999: []}", v)
		}
		if v := anon.must("listBuildRPMs", "hello-1.0-1").([]any); len(v) != 2 {
			t.Errorf("listBuildRPMs(hello-1.0-1) = %v, want 2 rpms", v)
		}
		if v := anon.must("listBuildRPMs", int64(99999)).([]any); len(v) != 0 {
			t.Errorf("listBuildRPMs(99999) = %v, want []", v)
		}
		if v := anon.must("getAverageBuildDuration", "nosuch"); v != nil {
			t.Errorf("getAverageBuildDuration(nosuch) = %v, want None", v)
		}
		if v := anon.must("getAverageBuildDuration", "hello", int64(0)); v != nil {
			t.Errorf("getAverageBuildDuration(hello, 0 months) = %v, want None", v)
		}
		if v := anon.must("getAverageBuildDuration", "hello", int64(1)); v == nil {
			t.Errorf("getAverageBuildDuration(hello, 1 month) = None, want the task build's duration")
		}
		if v := anon.must("listPackagesSimple", "nope").([]any); len(v) != 0 {
			t.Errorf("listPackagesSimple(nope) = %v", v)
		}
	})
}
