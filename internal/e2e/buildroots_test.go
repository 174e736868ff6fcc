package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"kojigo/internal/kojiclient"
)

// Buildroots as the real kojid records them: these checks run on builds
// that other tests make (TestBuildRequiresFromRepo's motd, built against
// greet-devel from the repo; TestBuildsEndToEnd's build from git), so that
// they cost no build of their own.

// checkBuildBuildroots checks a finished, imported build: each of its rpms
// has a buildroot that is EXPIRED, belongs to one of the build's buildArch
// tasks and names the build's repo; that buildroot lists (getBuildrootListing,
// listRPMs(componentBuildrootID=)) the kojigo rpms of components, which
// listBuildroots(rpmID=) and buildReferences find again.
func checkBuildBuildroots(t *testing.T, bf *buildFarm, buildTask int64, components ...string) {
	t.Helper()
	arches := map[int64]bool{}
	for _, c := range bf.children(t, buildTask) {
		if c["method"] == "buildArch" {
			arches[asInt(c["id"])] = true
		}
	}
	builds := asList(must(t, bf, "listBuilds", kojiclient.Kw{"taskID": buildTask}))
	if len(builds) != 1 {
		t.Fatalf("listBuilds(taskID=%d) = %v, want one build", buildTask, builds)
	}
	buildID := asMap(builds[0])["build_id"]
	rpms := asList(must(t, bf, "listRPMs", kojiclient.Kw{"buildID": buildID}))
	if len(rpms) == 0 {
		t.Fatalf("build %v has no rpms", buildID)
	}
	brs := map[int64]bool{}
	for _, x := range rpms {
		r := asMap(x)
		brID := asInt(r["buildroot_id"])
		if r["buildroot_id"] == nil || brID == 0 {
			t.Errorf("rpm %v-%v-%v.%v has no buildroot_id", r["name"], r["version"], r["release"], r["arch"])
			continue
		}
		brs[brID] = true
		if got := asMap(must(t, bf, "getRPM", r["id"]))["buildroot_id"]; asInt(got) != brID {
			t.Errorf("getRPM(%v).buildroot_id = %v, listRPMs says %d", r["id"], got, brID)
		}
	}
	for brID := range brs {
		br := asMap(must(t, bf, "getBuildroot", brID, kojiclient.Kw{"strict": true}))
		if asInt(br["state"]) != 3 || br["retire_event_id"] == nil {
			t.Errorf("buildroot %d: state %v retire_event_id %v, want EXPIRED (3) with its retire event", brID, br["state"], br["retire_event_id"])
		}
		if !arches[asInt(br["task_id"])] {
			t.Errorf("buildroot %d belongs to task %v, want one of the build's buildArch tasks %v", brID, br["task_id"], arches)
		}
		if br["repo_id"] == nil || br["tag_name"] == nil {
			t.Errorf("buildroot %d has no repo: %v", brID, br)
		}
		var listed []string
		ids := map[string]any{}
		for _, x := range asList(must(t, bf, "getBuildrootListing", brID)) {
			m := asMap(x)
			nvra := fmt.Sprintf("%v-%v-%v.%v", m["name"], m["version"], m["release"], m["arch"])
			listed = append(listed, nvra)
			ids[fmt.Sprint(m["name"])] = m["rpm_id"]
		}
		var comps []string
		for _, x := range asList(must(t, bf, "listRPMs", kojiclient.Kw{"componentBuildrootID": brID})) {
			m := asMap(x)
			comps = append(comps, fmt.Sprintf("%v.%v", m["nvr"], m["arch"]))
			if asInt(m["component_buildroot_id"]) != brID {
				t.Errorf("listRPMs(componentBuildrootID=%d) row %v", brID, m)
			}
		}
		sort.Strings(comps)
		t.Logf("buildroot %d (task %v, repo %v of %v) lists %v; kojigo rpms among them: %v", brID, br["task_id"], br["repo_id"], br["tag_name"], listed, comps)
		for _, name := range components {
			id := ids[name]
			if id == nil {
				t.Errorf("buildroot %d: %s is not a kojigo rpm of its listing %v", brID, name, listed)
				continue
			}
			if !strings.Contains(strings.Join(comps, " "), name+"-") {
				t.Errorf("listRPMs(componentBuildrootID=%d) = %v, want %s", brID, comps, name)
			}
			found := false
			for _, b := range asList(must(t, bf, "listBuildroots", kojiclient.Kw{"rpmID": id})) {
				found = found || asInt(asMap(b)["id"]) == brID
			}
			if !found {
				t.Errorf("listBuildroots(rpmID=%v) does not find buildroot %d", id, brID)
			}
			comp := asMap(must(t, bf, "getRPM", id))
			refs := asMap(must(t, bf, "buildReferences", comp["build_id"]))
			used := false
			for _, r := range asList(refs["rpms"]) {
				used = used || asMap(r)["build_id"] == buildID
			}
			if !used || refs["last_used"] == nil {
				t.Errorf("buildReferences(%v) = %v, want the rpms of build %v", comp["build_id"], refs, buildID)
			}
		}
	}
}

// checkSRPMBuildroot checks that a build's buildSRPMFromSCM step recorded
// its buildroot: its result's brootid is an EXPIRED buildroot of that task.
func checkSRPMBuildroot(t *testing.T, bf *buildFarm, buildTask int64) {
	t.Helper()
	for _, c := range bf.children(t, buildTask) {
		if c["method"] != "buildSRPMFromSCM" {
			continue
		}
		res := asMap(must(t, bf, "getTaskResult", c["id"]))
		if res["brootid"] == nil {
			t.Fatalf("buildSRPMFromSCM task %v result has no brootid: %v", c["id"], res)
		}
		br := asMap(must(t, bf, "getBuildroot", res["brootid"], kojiclient.Kw{"strict": true}))
		if asInt(br["state"]) != 3 || asInt(br["task_id"]) != asInt(c["id"]) || br["repo_id"] == nil {
			t.Errorf("buildroot of buildSRPMFromSCM task %v = %v, want EXPIRED (3), its task, a repo", c["id"], br)
		}
		return
	}
	t.Errorf("build %d has no buildSRPMFromSCM child", buildTask)
}
