package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"kojigo/internal/kojiclient"
)

// TestBuildRequiresFromRepo: builds wait for their build tag's repo, which
// kojira makes on request, and rpmbuild mode builds against it. motd
// needs greet-devel >= 1.0: before greet-devel is built its build fails
// naming the missing requirement; with --wait-build on greet-devel's NVR
// it waits for a repo that holds it, unpacks it into the buildroot and
// compiles against its header; the buildroot record names the repo.
func TestBuildRequiresFromRepo(t *testing.T) {
	bf := newBuildFarm(t, "sqlite")
	ctx := context.Background()
	for _, pkg := range []string{"greet-devel", "motd"} {
		must(t, bf, "packageListAdd", "dist", pkg, kojiclient.Kw{"owner": "kojiadmin"})
	}
	taskLog := func(task int64, name string) string {
		v, err := bf.admin.Call(ctx, "downloadTaskOutput", task, name)
		if err != nil {
			t.Fatalf("downloadTaskOutput(%d, %s): %v", task, name, err)
		}
		// Koji answers the bytes base64-encoded in a string
		b, err := base64.StdEncoding.DecodeString(fmt.Sprint(v))
		if err != nil {
			t.Fatalf("downloadTaskOutput(%d, %s): %v", task, name, err)
		}
		return string(b)
	}
	buildArch := func(build int64) int64 {
		for _, c := range bf.children(t, build) {
			if c["method"] == "buildArch" {
				return asInt(c["id"])
			}
		}
		t.Fatalf("build %d has no buildArch child", build)
		return 0
	}

	early := bf.submit(t, srpm(t, sample("motd")), nil)
	info := bf.wait(t, early, 4*time.Minute)
	_, err := bf.admin.Call(ctx, "getTaskResult", early)
	if asInt(info["state"]) != 5 {
		t.Fatalf("motd without greet-devel: state %v, want FAILED (5): %v", info["state"], err)
	}
	if err == nil || !strings.Contains(err.Error(), "BuildRequires not in repo") || !strings.Contains(err.Error(), "greet-devel >= 1.0") {
		t.Fatalf("motd without greet-devel failed with %v, want the missing BuildRequires named", err)
	}
	// the farm had no repo yet: the build waited in a waitrepo subtask
	waited := false
	for _, c := range bf.children(t, early) {
		waited = waited || (c["method"] == "waitrepo" && asInt(c["state"]) == 2)
	}
	if !waited {
		t.Errorf("the first build has no closed waitrepo child: %v", bf.children(t, early))
	}

	greet := bf.submit(t, srpm(t, sample("greet")), nil)
	if info := bf.wait(t, greet, 4*time.Minute); asInt(info["state"]) != 2 {
		res, err := bf.admin.Call(ctx, "getTaskResult", greet)
		t.Fatalf("greet-devel: state %v: %v %v", info["state"], res, err)
	}
	motd := bf.submit(t, srpm(t, sample("motd")), map[string]any{"wait_builds": []any{"greet-devel-1.0-1"}})
	if info := bf.wait(t, motd, 4*time.Minute); asInt(info["state"]) != 2 {
		res, err := bf.admin.Call(ctx, "getTaskResult", motd)
		t.Fatalf("motd with greet-devel in the repo: state %v: %v %v", info["state"], res, err)
	}
	checkBuildBuildroots(t, bf, motd, "greet-devel") // buildroots_test.go
	arch := buildArch(motd)
	root := taskLog(arch, "root.log")
	if !strings.Contains(root, "greet-devel >= 1.0: greet-devel-1.0-1.noarch from the repo") ||
		!strings.Contains(root, "unpacked greet-devel-1.0-1.noarch") || !strings.Contains(root, "gcc: this host") {
		t.Errorf("root.log does not say where the BuildRequires came from:\n%s", root)
	}
	// the buildroot record names the repo the build used
	brs := asList(must(t, bf, "listBuildroots", kojiclient.Kw{"taskID": arch}))
	if len(brs) != 1 {
		t.Fatalf("listBuildroots(taskID=%d) = %v, want one", arch, brs)
	}
	br := asMap(brs[0])
	repo := asMap(must(t, bf, "repoInfo", br["repo_id"]))
	if repo["tag_name"] != "dist-build" {
		t.Errorf("buildroot %v: repo %v of %v, want a repo of dist-build", br["id"], br["repo_id"], repo["tag_name"])
	}
	tagged := asList(must(t, bf, "listTagged", "dist-build", kojiclient.Kw{"inherit": true, "event": repo["create_event"], "package": "greet-devel"}))
	if len(tagged) != 1 {
		t.Errorf("repo %v was made before greet-devel was tagged (listTagged at its event: %v)", br["repo_id"], tagged)
	}
}
