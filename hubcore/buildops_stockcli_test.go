package hubcore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kojigo/db"
	"kojigo/internal/password"
)

// TestStockCLIBuildOps drives the build operations with Koji 1.35's own
// CLI: promote-build, move-build --all, chain-build, and deleteBuild and
// resetBuild through `koji call` (1.35 has no command of their own).
func TestStockCLIBuildOps(t *testing.T) {
	cli := needStockCLI(t)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			store := openStore(t, backend)
			ctx := context.Background()
			stockAdmin(t, store)
			hash, _ := password.Hash("pw")
			if _, err := store.CreateUser(ctx, db.User{Name: "bob", PasswordHash: hash}); err != nil {
				t.Fatal(err)
			}
			top := t.TempDir()
			url := startServer(t, store, func(fc *FileConfig) { fc.KojiDir = top })
			run, dir := cli.client(t, url, nil)
			koji := func(args ...string) (string, error) { return run("kojiadmin", "pw", args...) }
			must := func(args ...string) string {
				t.Helper()
				out, err := koji(args...)
				if err != nil {
					t.Fatalf("koji %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return out
			}
			has := func(out string, want ...string) {
				t.Helper()
				for _, w := range want {
					if !strings.Contains(out, w) {
						t.Errorf("output lacks %q:\n%s", w, out)
					}
				}
			}
			must("add-tag", "dist")
			must("add-tag", "other")
			must("add-tag", "dist-build", "--parent", "dist", "--arches", "x86_64")
			must("add-target", "dist-candidate", "dist-build", "dist")
			must("add-pkg", "--owner", "kojiadmin", "dist", "hello")
			for _, rel := range []string{"1", "2"} {
				nvr := "hello-1.0-" + rel
				for _, f := range []struct{ name, source string }{{nvr + ".src.rpm", ""}, {nvr + ".x86_64.rpm", nvr + ".src.rpm"}} {
					os.WriteFile(filepath.Join(dir, f.name), changelogRPM(t, "hello", "1.0", rel, "x86_64", f.source), 0o644)
				}
				must("import", filepath.Join(dir, nvr+".src.rpm"), filepath.Join(dir, nvr+".x86_64.rpm"))
				must("call", "tagBuildBypass", "dist", nvr)
			}

			// move-build --all: one dependantTask per build, oldest first
			out, err := koji("move-build", "--all", "--nowait", "dist", "other", "hello")
			if err == nil || !strings.Contains(out, "Package hello not in list for tag other") {
				t.Errorf("move-build --all into a tag without the package: %v\n%s", err, out)
			}
			must("move-build", "--all", "--force", "--nowait", "dist", "other", "hello", "nosuch")
			ts, err := store.ListTasks(ctx, db.TaskFilter{Methods: []string{"dependantTask"}, WithBlobs: true})
			if err != nil || len(ts) != 2 {
				t.Fatalf("dependantTasks after move-build --all: %v %v", ts, err)
			}
			if !strings.Contains(ts[0].Request, "tagBuild") {
				t.Errorf("dependantTask request: %s", ts[0].Request)
			}
			has(must("list-pkgs", "--tag", "other"), "hello")

			// deleteBuild and resetBuild through koji call
			out, err = koji("call", "deleteBuild", "hello-1.0-1")
			if err == nil || !strings.Contains(out, "Cannot delete build, tagged") {
				t.Errorf("deleteBuild of a tagged build: %v\n%s", err, out)
			}
			has(must("call", "deleteBuild", "hello-1.0-1", "strict=False"), "False")
			must("untag-build", "dist", "hello-1.0-1")
			has(must("call", "deleteBuild", "hello-1.0-1"), "True")
			has(must("buildinfo", "hello-1.0-1"), "State: DELETED")
			if _, err := os.Stat(filepath.Join(top, "packages/hello/1.0/1")); !os.IsNotExist(err) {
				t.Errorf("deleted build's directory: %v", err)
			}
			out, err = run("bob", "pw", "call", "resetBuild", "hello-1.0-2")
			if err == nil || !strings.Contains(out, "admin permission required") {
				t.Errorf("resetBuild by bob: %v\n%s", err, out)
			}
			must("call", "resetBuild", "hello-1.0-2")
			info := must("buildinfo", "hello-1.0-2")
			has(info, "State: CANCELED", "Task: none")
			if strings.Contains(info, "RPMs:\n/") || strings.Contains(info, "Tags: dist") {
				t.Errorf("reset build keeps RPMs or tags:\n%s", info)
			}

			// promote-build of a draft build
			draft := strings.TrimSpace(must("call", "--python", "createEmptyBuild", "'hello'", "'2.0'", "'1'", "None", "draft=True"))
			draftNVR := "hello-2.0-1,draft_" + draft
			has(must("buildinfo", draftNVR), "Draft: YES")
			out, err = run("bob", "pw", "promote-build", draftNVR)
			if err == nil || !strings.Contains(out, "policy violation (draft_promotion)") {
				t.Errorf("promote-build by bob: %v\n%s", err, out)
			}
			out, err = koji("promote-build", "hello-1.0-2")
			if err == nil || !strings.Contains(out, "Not a draft build: hello-1.0-2") {
				t.Errorf("promote-build of a regular build: %v\n%s", err, out)
			}
			has(must("promote-build", draftNVR), draftNVR+" has been promoted to hello-2.0-1")
			info = must("buildinfo", "hello-2.0-1")
			has(info, "Promoted by: kojiadmin", "Promoted at: ")
			if strings.Contains(info, "Draft: YES") {
				t.Errorf("promoted build still a draft:\n%s", info)
			}

			// chain-build: the CLI's checks, then the chainbuild task
			out, err = koji("chain-build", "--nowait", "dist-candidate", "git+https://example.com/a.git#main")
			if err == nil || !strings.Contains(out, "You must specify at least one dependency") {
				t.Errorf("chain-build with one level: %v\n%s", err, out)
			}
			out = must("chain-build", "--nowait", "dist-candidate", "git+https://example.com/a.git#main", ":", "hello-2.0-1", "git+https://example.com/b.git#main")
			has(out, "Created task: ")
			ts, err = store.ListTasks(ctx, db.TaskFilter{Methods: []string{"chainbuild"}, WithBlobs: true})
			if err != nil || len(ts) != 1 || !strings.Contains(ts[0].Request, "b.git#main") || !strings.Contains(ts[0].Request, "dist-candidate") {
				t.Fatalf("chainbuild task: %v %v", ts, err)
			}
			has(must("taskinfo", fmt.Sprint(ts[0].ID)), "Type: chainbuild")
		})
	}
}
