package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"kojigo/internal/testenv"
)

// TestRepoEndToEnd: the real hub and a real kojid in the createrepo channel
// make the repo of a build tag with a tagged build: newRepo, one createrepo
// per arch, repoDone. The repo is READY, repos/<tag>/latest points at it,
// its progress is readable, and the real dnf lists the built package from
// it. A second repo, after a second build is tagged, updates from the first
// (the unchanged package is not read again) and lists both.
func TestRepoEndToEnd(t *testing.T) {
	dnf := testenv.NeedTool(t, "dnf")
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			bf := newBuildFarm(t, backend) // builder1 is in the createrepo channel
			ctx := context.Background()
			build := func(pkg string) {
				t.Helper()
				id := bf.submit(t, srpm(t, sample(pkg)), nil)
				if info := bf.wait(t, id, 3*time.Minute); asInt(info["state"]) != 2 {
					res, _ := bf.admin.Call(ctx, "getTaskResult", id)
					t.Fatalf("build of %s ended in state %v: %v", pkg, info["state"], res)
				}
			}
			newRepo := func() (repoID int64, createrepo int64) {
				t.Helper()
				v, err := bf.admin.Call(ctx, "newRepo", "dist-build")
				if err != nil {
					t.Fatal(err)
				}
				id := asInt(v)
				if info := bf.wait(t, id, 3*time.Minute); asInt(info["state"]) != 2 {
					res, err := bf.admin.Call(ctx, "getTaskResult", id)
					t.Fatalf("newRepo task %d ended in state %v: %v %v", id, info["state"], res, err)
				}
				res, _ := bf.admin.Call(ctx, "getTaskResult", id)
				repoID = asInt(asList(res)[0])
				for _, c := range bf.children(t, id) {
					if c["method"] == "createrepo" && c["label"] == "x86_64" {
						createrepo = asInt(c["id"])
					}
				}
				if createrepo == 0 {
					t.Fatalf("newRepo %d has no createrepo child for x86_64: %v", id, bf.children(t, id))
				}
				return repoID, createrepo
			}
			checkRepo := func(repoID int64, pkgs ...string) {
				t.Helper()
				info := asMap(must(t, bf, "repoInfo", repoID))
				if asInt(info["state"]) != 1 {
					t.Errorf("repo %d state = %v, want READY (1)", repoID, info["state"])
				}
				latest, err := os.Readlink(filepath.Join(bf.topdir, "repos", "dist-build", "latest"))
				if err != nil || latest != strconv.FormatInt(repoID, 10) {
					t.Errorf("repos/dist-build/latest -> %q (%v), want %d", latest, err, repoID)
				}
				p := asMap(must(t, bf, "kojigo.getRepoProgress", repoID))
				if p == nil || asInt(p["total"]) == 0 || p["done"] != p["total"] {
					t.Errorf("kojigo.getRepoProgress(%d) = %v, want all packages done", repoID, p)
				}
				out := dnfList(t, dnf, filepath.Join(bf.topdir, "repos", "dist-build", "latest", "x86_64"))
				for _, pkg := range pkgs {
					if !strings.Contains(out, "\n"+pkg+".") {
						t.Errorf("dnf list --available of repo %d lacks %s:\n%s", repoID, pkg, out)
					}
				}
			}

			build("hello")
			first, _ := newRepo()
			checkRepo(first, "hello")

			build("noarch")
			second, cr := newRepo()
			if second <= first {
				t.Fatalf("second repo %d, first %d", second, first)
			}
			checkRepo(second, "hello", "greeting")
			log, err := bf.admin.DownloadTaskOutput(ctx, cr, "createrepo.log", 0, -1)
			if err != nil || !strings.Contains(string(log), "update from") || strings.Contains(string(log), " 0 reused") {
				t.Errorf("createrepo.log of the second repo (%v) shows no update from the first:\n%s", err, log)
			}
			if info := asMap(must(t, bf, "repoInfo", first)); asInt(info["state"]) != 1 {
				t.Errorf("first repo state = %v after the second, want still READY", info["state"])
			}
		})
	}
}

func must(t *testing.T, bf *buildFarm, method string, args ...any) any {
	t.Helper()
	v, err := bf.admin.Call(context.Background(), method, args...)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return v
}

// dnfList runs the real dnf on a repo directory, touching nothing on the
// machine: no system repos, a scratch install root and cache.
func dnfList(t *testing.T, dnf, dir string) string {
	t.Helper()
	root := t.TempDir()
	cmd := exec.Command(dnf, "-q", "--disableplugin=*", "--setopt=reposdir=/dev/null", "--installroot", root,
		"--setopt=cachedir="+filepath.Join(root, "cache"), "--releasever=40",
		"--repofrompath=r,file://"+dir, "--repo=r", "list", "--available")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dnf list: %v\n%s", err, out)
	}
	return "\n" + string(out)
}
