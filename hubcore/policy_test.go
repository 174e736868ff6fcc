package hubcore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kojigo/db"
	"kojigo/hubcore/policy"
	"kojigo/internal/kojixml"
)

// forBackendsWith is forBackends with a hub configured by tweak.
func forBackendsWith(t *testing.T, tweak func(*Config), fn func(t *testing.T, th *testHub)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newTestHub(t, "sqlite", tweak)) })
	t.Run("postgres", func(t *testing.T) { fn(t, newTestHub(t, "postgres", tweak)) })
}

// writePolicyConf writes a hub.conf with a [policy] section and reads the
// policies back as kojihub does.
func writePolicyConf(t testing.TB, policies string) []policy.Source {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hub.conf")
	if err := os.WriteFile(path, []byte("[hub]\nDB = sqlite:///x.db\n\n[policy]\n"+policies), 0o600); err != nil {
		t.Fatal(err)
	}
	srcs, err := LoadPolicies(path, false)
	if err != nil {
		t.Fatalf("LoadPolicies: %v", err)
	}
	return srcs
}

// policyFarm is the farm of the acceptance scenarios: users with and
// without rights, a release-engineering group, tags f40 and
// f40-updates-testing, a target, and a complete build of hello owned by
// alice.
type policyFarm struct {
	admin, alice, bob, carol *client
	aliceID, carolID         int64
	buildID                  int64
}

func setupPolicyFarm(t *testing.T, th *testHub) *policyFarm {
	t.Helper()
	ctx := context.Background()
	f := &policyFarm{admin: th.login(th.ensureAdmin(), "adminpw")}
	f.aliceID = th.addUser("alice", "pw")
	th.addUser("bob", "pw", "tag")
	f.carolID = th.addUser("carol", "pw")
	f.alice, f.bob, f.carol = th.login("alice", "pw"), th.login("bob", "pw"), th.login("carol", "pw")
	f.admin.must("newGroup", "release-engineering")
	f.admin.must("addGroupMember", "release-engineering", "carol")
	f.admin.must("createTag", "base")
	f.admin.must("createTag", "f40-build", kw{"parent": "base", "arches": "x86_64"})
	f.admin.must("createTag", "f40")
	f.admin.must("createTag", "f40-updates-testing")
	f.admin.must("createBuildTarget", "f40-candidate", "f40-build", "f40")
	for _, tag := range []string{"f40", "f40-updates-testing"} {
		f.admin.must("packageListAdd", tag, "hello", "kojiadmin")
	}
	src := "git+https://src.example.org/rpms/hello.git#abc"
	id, err := th.store.ImportBuild(ctx, db.NewBuild{PackageName: "hello", Version: "1.0", Release: "1", State: db.BuildComplete, OwnerID: f.aliceID, Source: &src})
	if err != nil {
		t.Fatal(err)
	}
	f.buildID = id
	return f
}

// TestPolicyTestFunctions runs each test the hub registers against data
// and the database, as a one-rule policy "TEST :: yes".
func TestPolicyTestFunctions(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		ctx := context.Background()
		f := setupPolicyFarm(t, th)
		imp, err := th.store.ImportBuild(ctx, db.NewBuild{PackageName: "imp", Version: "2", Release: "1", State: db.BuildComplete, OwnerID: f.carolID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := th.store.AddRPM(ctx, db.RPM{BuildID: imp, Name: "imp", Version: "2", Release: "1", Arch: "noarch", PayloadHash: "00", Checksum: "00"}); err != nil {
			t.Fatal(err)
		}
		// a build owned by the group
		rel, _ := th.store.GetUserByName(ctx, "release-engineering")
		grp, err := th.store.ImportBuild(ctx, db.NewBuild{PackageName: "grp", Version: "1", Release: "1", State: db.BuildComplete, OwnerID: rel.ID})
		if err != nil {
			t.Fatal(err)
		}
		f.admin.must("tagBuildBypass", "f40-updates-testing", f.buildID)
		f40, _ := th.store.GetTagByName(ctx, "f40")
		alice, _ := th.store.GetUser(ctx, f.aliceID)
		carol, _ := th.store.GetUser(ctx, f.carolID)
		bob, _ := th.store.GetUserByName(ctx, "bob")
		admin, _ := th.store.GetUserByName(ctx, "kojiadmin")
		hello := f.buildID
		tests := []struct {
			user    *db.User
			test    string
			data    policy.Data
			want    bool
			wantErr string
		}{
			{&admin, "has_perm admin", nil, true, ""},
			{&alice, "has_perm admin", nil, false, ""},
			{&bob, "has_perm ad* tag", nil, true, ""},
			{&alice, "has_perm tag", policy.Data{"user_id": "bob"}, true, ""}, // user_id wins over the caller
			{nil, "has_perm admin", nil, false, ""},                           // anonymous
			{&alice, "user al*", nil, true, ""},
			{&alice, "user bob", nil, false, ""},
			{&alice, "user carol", policy.Data{"user_id": f.carolID}, true, ""},
			{&carol, "user_in_group release-*", nil, true, ""},
			{&alice, "user_in_group release-engineering", nil, false, ""},
			{&alice, "is_build_owner", policy.Data{"build": hello}, true, ""},
			{&bob, "is_build_owner", policy.Data{"build": "hello-1.0-1"}, false, ""},
			{&carol, "is_build_owner", policy.Data{"build": grp}, true, ""}, // a member of the owning group
			{&alice, "is_build_owner", policy.Data{"build": "nosuch-1-1"}, false, "No such build"},
			{&alice, "package hel*", policy.Data{"build": hello}, true, ""},
			{&alice, "package hello", policy.Data{"package": "hello"}, true, ""},
			{&alice, "package other", policy.Data{"package": "hello"}, false, ""},
			{&alice, "package brandnew", policy.Data{"package": "brandnew"}, true, ""},
			{&alice, "package x", nil, false, "policy requires package data"},
			{&alice, "is_new_package", policy.Data{"package": "brandnew"}, true, ""},
			{&alice, "is_new_package", policy.Data{"package": "hello"}, false, ""},
			{&alice, "version 1.*", policy.Data{"build": hello}, true, ""},
			{&alice, "version 2*", policy.Data{"version": "2.1"}, true, ""},
			{&alice, "release 1", policy.Data{"build": hello}, true, ""},
			{&alice, "release 2", policy.Data{"release": "1"}, false, ""},
			{&alice, "tag f40", policy.Data{"tag": f40.ID}, true, ""},
			{&alice, "tag f4?", policy.Data{"tag": "f40"}, true, ""},
			{&alice, "tag *", policy.Data{"tag": nil}, false, ""}, // untag: no destination
			{&alice, "tag *", policy.Data{"tag": "nosuch"}, false, ""},
			{&alice, "tag *", nil, false, ""},
			{&alice, "fromtag f40", policy.Data{"fromtag": "f40"}, true, ""},
			{&alice, "fromtag f40", policy.Data{"tag": "f40"}, false, ""},
			{&alice, "operation move tag", policy.Data{"operation": "tag"}, true, ""},
			{&alice, "operation untag", policy.Data{"operation": "tag"}, false, ""},
			{&alice, "hastag *-testing", policy.Data{"build": hello}, true, ""},
			{&alice, "hastag f40", policy.Data{"build": hello}, false, ""},
			{&alice, "hastag *", nil, false, ""},
			{&alice, "buildtag f40-build", policy.Data{"build_tag": "f40-build"}, true, ""},
			{&alice, "buildtag f40-*", policy.Data{"target": "f40-candidate"}, true, ""},
			{&alice, "buildtag f40-*", policy.Data{"build_tags": []any{"base", "f40-build"}}, true, ""},
			{&alice, "buildtag *", policy.Data{"build": hello}, false, ""}, // no buildroots
			{&alice, "buildtag_inherits_from base", policy.Data{"build_tag": "f40-build"}, true, ""},
			{&alice, "buildtag_inherits_from f40-build", policy.Data{"build_tag": "f40-build"}, false, ""}, // not itself
			{&alice, "buildtype rpm", policy.Data{"build": hello}, true, ""},
			{&alice, "buildtype maven", policy.Data{"btypes": []any{"maven", "image"}}, true, ""},
			{&alice, "imported", policy.Data{"build": imp}, true, ""},
			{&alice, "imported", policy.Data{"build": hello}, false, ""},
			{&alice, "imported", nil, false, "policy data must contain a build"},
			{&alice, "skip_tag", policy.Data{"skip_tag": true}, true, ""},
			{&alice, "skip_tag", nil, false, ""},
			{&alice, "scratch", policy.Data{"scratch": true}, true, ""},
			{&alice, "is_draft", policy.Data{"draft": true}, true, ""},
			{&alice, "is_draft", policy.Data{"build": hello}, false, ""},
			{&alice, "is_child_task", policy.Data{"parent": int64(5)}, true, ""},
			{&alice, "is_child_task", policy.Data{"parent": nil}, false, ""},
			{&alice, "method build*", policy.Data{"method": "buildArch"}, true, ""},
			{&alice, "arch noarch", policy.Data{"arch": "noarch"}, true, ""},
			{&alice, "vm_name win*", policy.Data{"vm_name": "win10"}, true, ""},
			{&alice, "source git+https://src.example.org/*", policy.Data{"build": hello}, true, ""},
			{&alice, "source *.src.rpm", policy.Data{"source": "x/hello-1-1.src.rpm"}, true, ""},
			{&alice, "source *", policy.Data{"build": imp}, false, ""},
			{&alice, "volume DEFAULT", policy.Data{"build": hello}, true, ""},
			{&alice, "volume DEFAULT", policy.Data{"volume": "other"}, false, ""},
			{&alice, "cg_match_any my-cg", policy.Data{"cg_list": []any{"my-cg", "x"}}, true, ""},
			{&alice, "cg_match_all my-cg", policy.Data{"cg_list": []any{"my-cg", "x"}}, false, ""},
			{&alice, "cg_match_all my-cg x", policy.Data{"cg_list": []any{"my-cg", "x"}}, true, ""},
			{&alice, "cg_match_any *", policy.Data{"build": hello}, false, ""}, // kojigo builds have no CG
			{&alice, "target f40-*", policy.Data{"target": "f40-candidate"}, true, ""},
			{&alice, "match scm_host *.example.org", policy.Data{"scm_host": "src.example.org"}, true, ""},
			{&alice, "compare priority < 10", policy.Data{"priority": int64(5)}, true, ""},
			{&alice, "bool scratch", policy.Data{"scratch": false}, false, ""},
			{&alice, "has req_channel", policy.Data{"req_channel": "x"}, true, ""},
			{&bob, "policy package_list", nil, true, ""},
			{&alice, "policy package_list", nil, false, ""},
		}
		for _, tt := range tests {
			set, err := newPolicySet([]policy.Source{{Name: "p", Text: tt.test + " :: yes"}})
			if err != nil {
				t.Errorf("%s: %v", tt.test, err)
				continue
			}
			c := &call{ctx: ctx, hub: th.hub, user: tt.user}
			data := policy.Data{}
			for k, v := range tt.data {
				data[k] = v
			}
			dec, err := (&policy.Eval[*call]{Set: set, Env: c}).Apply("p", data)
			who := "anonymous"
			if tt.user != nil {
				who = tt.user.Name
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("%s as %s on %v = %v, %v; want error %q", tt.test, who, tt.data, dec.Matched, err, tt.wantErr)
				}
				continue
			}
			if err != nil || dec.Matched != tt.want {
				t.Errorf("%s as %s on %v = %v, %v; want %v", tt.test, who, tt.data, dec.Matched, err, tt.want)
			}
		}
	})
}

// The acceptance scenarios' policies: only release engineering tags into
// f40, anyone into f40-updates-testing; noarch builds of hello go to the
// noarch channel.
const scenarioPolicies = `tag =
    has_perm admin :: allow
    tag f40 :: {
        user_in_group release-engineering :: allow
        all :: deny only release-engineering may tag into f40
    }
    tag f40-updates-testing :: allow
    operation untag && fromtag f40-updates-testing :: allow
    all :: deny
channel =
    has req_channel :: req
    method buildArch && arch noarch && package hello :: use noarch
    is_child_task :: parent
    all :: use default
`

// TestPolicyScenarios is the acceptance, on both backends, with
// real users through the XML-RPC API.
func TestPolicyScenarios(t *testing.T) {
	srcs := writePolicyConf(t, scenarioPolicies)
	forBackendsWith(t, func(c *Config) { c.Policies = srcs }, func(t *testing.T, th *testHub) {
		ctx := context.Background()
		f := setupPolicyFarm(t, th)

		// build_from_srpm, Koji's default: alice is refused, admin is not;
		// a scratch build and a build from SCM are not SRPM builds.
		srpm := "cli-build/1.abc/hello-1.0-2.src.rpm"
		flt := f.alice.fault(kojixml.ActionNotAllowed, "build", srpm, "f40-candidate")
		want := "policy violation (build_from_srpm): Only admin can do this via default policy [rule: all :: deny Only admin can do this via default policy]"
		if flt.String != want {
			t.Errorf("alice's SRPM build refused with %q, want %q", flt.String, want)
		}
		f.admin.must("build", srpm, "f40-candidate")
		f.alice.must("build", srpm, "f40-candidate", map[string]any{"scratch": true})
		f.alice.must("build", "git+https://src.example.org/rpms/hello.git#abc", "f40-candidate")
		// build_from_repo_id, Koji's default: admin only
		if flt := f.alice.fault(kojixml.ActionNotAllowed, "build", "git+https://src.example.org/rpms/hello.git#abc", "f40-candidate", map[string]any{"repo_id": int64(1)}); !strings.Contains(flt.String, "(build_from_repo_id)") {
			t.Errorf("repo_id refusal = %q", flt.String)
		}

		// tag: only release-engineering into f40, anyone into f40-updates-testing
		flt = f.alice.fault(kojixml.ActionNotAllowed, "tagBuild", "f40", f.buildID)
		want = "policy violation (tag): only release-engineering may tag into f40 [rule: tag f40 :: ... all :: deny only release-engineering may tag into f40]"
		if flt.String != want {
			t.Errorf("alice's tagBuild f40 refused with %q, want %q", flt.String, want)
		}
		f.bob.fault(kojixml.ActionNotAllowed, "tagBuild", "f40", f.buildID) // the tag permission is not the group
		f.carol.must("tagBuild", "f40", f.buildID)
		f.alice.must("tagBuild", "f40-updates-testing", f.buildID)
		f.admin.must("tagBuildBypass", "f40-updates-testing", f.buildID)
		// moveBuild: a move into f40 is a tag operation on f40
		flt = f.alice.fault(kojixml.ActionNotAllowed, "moveBuild", "f40-updates-testing", "f40", f.buildID)
		if !strings.Contains(flt.String, "policy violation (tag): only release-engineering") {
			t.Errorf("alice's moveBuild refused with %q", flt.String)
		}
		f.carol.must("moveBuild", "f40-updates-testing", "f40", f.buildID)
		// tagBuildBypass has its own rules: the tag permission, then the policy
		f.alice.fault(kojixml.ActionNotAllowed, "tagBuildBypass", "f40", f.buildID)
		if flt := f.bob.fault(kojixml.ActionNotAllowed, "tagBuildBypass", "f40", f.buildID); !strings.Contains(flt.String, "[rule: tag f40 :: ... all :: deny") {
			t.Errorf("bob's tagBuildBypass refused with %q", flt.String)
		}
		// untag: the policy sees operation untag and fromtag
		f.alice.must("untagBuild", "f40-updates-testing", f.buildID)
		if flt := f.alice.fault(kojixml.ActionNotAllowed, "untagBuild", "f40", f.buildID, kw{"strict": false}); flt.String != "policy violation (tag) [rule: all :: deny]" {
			t.Errorf("alice's untag from f40 refused with %q", flt.String)
		}
		// an admin's force overrides a refusal
		f.admin.must("tagBuild", "f40", f.buildID, kw{"force": true})

		// channel: noarch buildArch tasks of hello go to the noarch channel
		f.admin.must("addChannel", "noarch")
		noarch, err := th.store.GetChannelByName(ctx, "noarch")
		if err != nil {
			t.Fatal(err)
		}
		def, _ := th.store.GetChannelByName(ctx, "default")
		tag, _ := th.store.GetTagByName(ctx, "f40-build")
		for _, tc := range []struct {
			pkg, arch string
			want      int64
		}{
			{"cli-build/1/hello-1.0-1.src.rpm", "noarch", noarch.ID},
			{"cli-build/1/hello-1.0-1.src.rpm", "x86_64", def.ID},
			{"cli-build/1/other-1.0-1.src.rpm", "noarch", def.ID},
		} {
			id := f.admin.must("makeTask", "buildArch", []any{tc.pkg, tag.ID, tc.arch, true, map[string]any{}}, kw{"arch": tc.arch}).(int64)
			task, err := th.store.GetTask(ctx, id)
			if err != nil || task.ChannelID != tc.want {
				t.Errorf("buildArch %s %s: channel %d, %v; want %d", tc.pkg, tc.arch, task.ChannelID, err, tc.want)
			}
		}
		// a requested channel is used (has req_channel :: req)
		id := f.admin.must("makeTask", "buildArch", []any{"x/hello-1-1.src.rpm", tag.ID, "noarch", true, map[string]any{}}, kw{"arch": "noarch", "channel": "default"}).(int64)
		if task, _ := th.store.GetTask(ctx, id); task.ChannelID != def.ID {
			t.Errorf("requested channel: %d, want %d", task.ChannelID, def.ID)
		}

		// package_list, Koji's default: admin or the tag permission
		flt = f.alice.fault(kojixml.ActionNotAllowed, "packageListAdd", "f40", "newpkg", "alice")
		want = "policy violation (package_list): Only admin/tag can do this via default policy [rule: all :: deny Only admin/tag can do this via default policy]"
		if flt.String != want {
			t.Errorf("alice's packageListAdd refused with %q, want %q", flt.String, want)
		}
		f.bob.must("packageListAdd", "f40", "newpkg", "alice")
		f.alice.fault(kojixml.ActionNotAllowed, "packageListBlock", "f40", "newpkg")
		f.alice.fault(kojixml.ActionNotAllowed, "packageListRemove", "f40", "newpkg")
		f.bob.must("packageListRemove", "f40", "newpkg")

		// kojigo.checkPolicy: the decision and the rule, nothing done
		res := f.alice.must("kojigo.checkPolicy", "tag", map[string]any{"tag": "f40", "build": "hello-1.0-1", "operation": "tag"}).(map[string]any)
		if res["allowed"] != false || res["result"] != "deny" || res["reason"] != "only release-engineering may tag into f40" ||
			res["rule"] != "tag f40 :: ... all :: deny only release-engineering may tag into f40" || !strings.HasSuffix(res["where"].(string), "hub.conf:9") || res["default"] != false {
			t.Errorf("checkPolicy(tag) = %v", res)
		}
		res = f.alice.must("kojigo.checkPolicy", "tag", map[string]any{"tag": "f40", "user_id": "carol"}).(map[string]any)
		if res["allowed"] != true || res["action"] != "allow" {
			t.Errorf("checkPolicy(tag as carol) = %v", res)
		}
		res = f.alice.must("kojigo.checkPolicy", "build_from_srpm", map[string]any{}).(map[string]any)
		if res["allowed"] != false || res["default"] != true {
			t.Errorf("checkPolicy(build_from_srpm) = %v", res)
		}
		f.alice.fault(kojixml.GenericError, "kojigo.checkPolicy", "nosuch", map[string]any{})
		th.anon().fault(kojixml.AuthError, "kojigo.checkPolicy", "tag", map[string]any{})
		list := f.alice.must("kojigo.listPolicies").([]any)
		names := map[string]bool{}
		for _, p := range list {
			names[p.(map[string]any)["name"].(string)] = true
		}
		for _, n := range []string{"tag", "channel", "build_from_srpm", "package_list", "priority", "vm", "cg_import", "draft_promotion", "build_from_scm", "build_from_repo_id", "volume", "build_rpm"} {
			if !names[n] {
				t.Errorf("listPolicies has no %s: %v", n, list)
			}
		}

		// evalPolicy, as kojid's build_from_scm check calls it
		if v := f.alice.must("evalPolicy", "build_from_scm", map[string]any{"scm_host": "src.example.org"}); v != "deny Only admin can do this via default policy" {
			t.Errorf("evalPolicy(build_from_scm) = %v", v)
		}
		if v := f.alice.must("evalPolicy", "build_from_scm", map[string]any{"user_id": "kojiadmin"}); v != "allow" {
			t.Errorf("evalPolicy(build_from_scm as admin) = %v", v)
		}
	})
}

// TestPolicyGroupsAndHostCalls: Koji's group calls and the host's policy
// calls.
func TestPolicyGroupsAndHostCalls(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		f := setupPolicyFarm(t, th)
		f.alice.fault(kojixml.ActionNotAllowed, "newGroup", "x")
		f.admin.fault(kojixml.GenericError, "newGroup", "alice")
		f.admin.fault(kojixml.GenericError, "addGroupMember", "alice", "carol") // not a group
		f.admin.fault(kojixml.GenericError, "addGroupMember", "release-engineering", "carol")
		f.admin.must("addGroupMember", "release-engineering", "carol", kw{"strict": false})
		f.admin.must("addGroupMember", "release-engineering", "alice")
		m := f.alice.must("getGroupMembers", "release-engineering").([]any)
		if len(m) != 2 || m[0].(map[string]any)["name"] != "alice" || m[1].(map[string]any)["name"] != "carol" {
			t.Errorf("getGroupMembers = %v", m)
		}
		g := f.alice.must("getUserGroups", "carol").([]any)
		if len(g) != 1 || g[0].(map[string]any)["name"] != "release-engineering" {
			t.Errorf("getUserGroups = %v", g)
		}
		f.admin.must("dropGroupMember", "release-engineering", "alice")
		f.admin.fault(kojixml.GenericError, "dropGroupMember", "release-engineering", "alice")
		if g := f.alice.must("getUserGroups", "alice").([]any); len(g) != 0 {
			t.Errorf("after drop: %v", g)
		}
		// a group's permissions are its members' (Koji's get_user_perms)
		f.admin.must("grantPermission", "release-engineering", "tag")
		if res := f.carol.must("kojigo.checkPolicy", "package_list", map[string]any{}).(map[string]any); res["allowed"] != true {
			t.Errorf("package_list for a member of a group with tag: %v", res)
		}

		hc, _ := th.addHost("builder1")
		f.alice.fault(kojixml.AuthError, "host.assertPolicy", "build_from_srpm", map[string]any{})
		if flt := hc.fault(kojixml.ActionNotAllowed, "host.assertPolicy", "build_from_srpm", map[string]any{"user_id": f.aliceID}); !strings.HasPrefix(flt.String, "policy violation (build_from_srpm)") {
			t.Errorf("host.assertPolicy = %q", flt.String)
		}
		hc.must("host.assertPolicy", "build_from_srpm", map[string]any{"user_id": "kojiadmin"})
		if v := hc.must("host.checkPolicy", "build_from_srpm", map[string]any{"user_id": f.aliceID}).([]any); v[0] != false || v[1] != "Only admin can do this via default policy" {
			t.Errorf("host.checkPolicy = %v", v)
		}
		if v := hc.must("host.checkPolicy", "tag", map[string]any{}).([]any); v[0] != true || v[1] != "missing policy" {
			t.Errorf("host.checkPolicy(tag, no policy) = %v", v)
		}
		if v := hc.must("host.evalPolicy", "channel", map[string]any{"parent": int64(3)}); v != "parent" {
			t.Errorf("host.evalPolicy(channel) = %v", v)
		}
	})
}

// TestBadPolicyRefusesToStart: a policy that does not parse stops the hub
// (LoadPolicies for kojihub, New for a Config), naming file, line and rule.
func TestBadPolicyRefusesToStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.conf")
	conf := "[hub]\nDB = sqlite:///x.db\n\n[policy]\ntag =\n    has_perm admin :: allow\n    # only candidates\n    tagg *-candidate :: allow\n"
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadPolicies(path, false)
	want := path + `:8: policy tag: missing test handler: tagg in rule "tagg *-candidate :: allow"`
	if err == nil || err.Error() != want {
		t.Errorf("LoadPolicies = %v, want %s", err, want)
	}
	if srcs, err := LoadPolicies(filepath.Join(t.TempDir(), "none.conf"), true); srcs != nil || err != nil {
		t.Errorf("LoadPolicies(missing, optional) = %v, %v", srcs, err)
	}
	s := openStore(t, "sqlite")
	_, err = New(s, Config{TopDir: t.TempDir(), Policies: []policy.Source{{Name: "channel", Text: "all :: {\n use default", File: "hub.conf", Line: 3}}})
	if err == nil || !strings.Contains(err.Error(), "hub.conf:3: policy channel: nesting error") {
		t.Errorf("New with a bad policy = %v", err)
	}
}

// TestPriorityAndChannelActions: the priority policy's stay, set and
// adjust, and channel results Koji calls invalid.
func TestPriorityAndChannelActions(t *testing.T) {
	srcs := writePolicyConf(t, `priority =
    method tagBuild :: set 5
    method build :: adjust +3
    method bogus :: frobnicate
    all :: stay
channel =
    method parentless :: parent
    method unasked :: req
    method nosuch :: use nosuch
    method weird :: sideways
    has req_channel :: req
    is_child_task :: parent
    all :: use default
`)
	forBackendsWith(t, func(c *Config) { c.Policies = srcs }, func(t *testing.T, th *testHub) {
		ctx := context.Background()
		f := setupPolicyFarm(t, th)
		id := f.alice.must("tagBuild", "f40-updates-testing", f.buildID).(int64)
		if task, _ := th.store.GetTask(ctx, id); task.Priority != 5 {
			t.Errorf("tagBuild priority %d, want 5 (set 5)", task.Priority)
		}
		id = f.alice.must("build", "git+https://src.example.org/rpms/hello.git#abc", "f40-candidate").(int64)
		if task, _ := th.store.GetTask(ctx, id); task.Priority != prioDefault+3 {
			t.Errorf("build priority %d, want %d (adjust +3)", task.Priority, prioDefault+3)
		}
		id = f.admin.must("makeTask", "other", []any{}).(int64)
		if task, _ := th.store.GetTask(ctx, id); task.Priority != 20 {
			t.Errorf("other priority %d, want 20 (stay)", task.Priority)
		}
		for _, m := range []string{"bogus", "parentless", "unasked", "weird"} {
			if flt := f.admin.fault(kojixml.GenericError, "makeTask", m, []any{}); !strings.HasPrefix(flt.String, "invalid ") {
				t.Errorf("makeTask(%s) = %q, want an invalid policy fault", m, flt.String)
			}
		}
		if flt := f.admin.fault(kojixml.GenericError, "makeTask", "nosuch", []any{}); flt.String != "No such channel: nosuch" {
			t.Errorf("makeTask(nosuch) = %q", flt.String)
		}
	})
}
