package hubcore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kojigo/db"
	"kojigo/internal/password"
)

// TestStockCLIPolicyDenials runs Koji 1.35's own CLI (a source tree named
// by KOJI_STOCK_CLI, holding cli/koji and koji/, importable by python3
// with PYTHONPATH) against a hub with the scenario policies, on both
// backends: build from an SRPM, tag-build, move-build and add-pkg print
// the hub's denial as Koji's CLI prints Koji's. Without KOJI_STOCK_CLI it
// is skipped (the koji CLI is not packaged for this machine).
func TestStockCLIPolicyDenials(t *testing.T) {
	cli := needStockCLI(t)
	srcs := writePolicyConf(t, scenarioPolicies)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			store := openStore(t, backend)
			ctx := context.Background()
			for _, u := range []struct {
				name  string
				perms []string
			}{{"kojiadmin", []string{"admin"}}, {"alice", nil}, {"carol", nil}} {
				hash, _ := password.Hash("pw")
				id, err := store.CreateUser(ctx, db.User{Name: u.name, PasswordHash: hash})
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range u.perms {
					perm, _ := store.GetPermByName(ctx, p)
					store.GrantPerm(ctx, id, perm.ID, nil)
				}
			}
			url := startServer(t, store, func(fc *FileConfig) { fc.Policies = srcs })
			run, _ := cli.client(t, url, nil)
			koji := func(user string, args ...string) (string, error) { return run(user, "pw", args...) }
			must := func(user string, args ...string) {
				t.Helper()
				if out, err := koji(user, args...); err != nil {
					t.Fatalf("koji %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
			must("kojiadmin", "call", "newGroup", "release-engineering")
			must("kojiadmin", "call", "addGroupMember", "release-engineering", "carol")
			must("kojiadmin", "add-tag", "f40")
			must("kojiadmin", "add-tag", "f40-updates-testing")
			must("kojiadmin", "add-tag", "f40-build", "--arches", "x86_64")
			must("kojiadmin", "add-target", "f40-candidate", "f40-build", "f40")
			must("kojiadmin", "add-pkg", "--owner", "kojiadmin", "f40", "hello")
			must("kojiadmin", "add-pkg", "--owner", "kojiadmin", "f40-updates-testing", "hello")
			must("kojiadmin", "call", "--python", "createEmptyBuild", "'hello'", "'1.0'", "'1'", "None")
			must("kojiadmin", "call", "tagBuildBypass", "f40-updates-testing", "hello-1.0-1")
			srpm := filepath.Join(t.TempDir(), "hello-1.0-2.src.rpm")
			os.WriteFile(srpm, []byte("not really an rpm"), 0o644)

			tagDenial := "ActionNotAllowed: policy violation (tag): only release-engineering may tag into f40 [rule: tag f40 :: ... all :: deny only release-engineering may tag into f40]"
			for _, tc := range []struct {
				user string
				args []string
				want string // in the output; "" for success
			}{
				{"alice", []string{"build", "--nowait", "f40-candidate", srpm}, "ActionNotAllowed: policy violation (build_from_srpm): Only admin can do this via default policy [rule: all :: deny Only admin can do this via default policy]"},
				{"alice", []string{"build", "--nowait", "f40-candidate", "git+https://src.example.org/rpms/hello.git#abc"}, ""},
				{"alice", []string{"tag-build", "--nowait", "f40", "hello-1.0-1"}, tagDenial},
				{"carol", []string{"tag-build", "--nowait", "f40", "hello-1.0-1"}, ""},
				{"alice", []string{"move-build", "--nowait", "f40-updates-testing", "f40", "hello-1.0-1"}, tagDenial},
				{"carol", []string{"move-build", "--nowait", "f40-updates-testing", "f40", "hello-1.0-1"}, ""},
				{"alice", []string{"add-pkg", "--owner", "alice", "f40", "newpkg"}, "ActionNotAllowed: policy violation (package_list): Only admin/tag can do this via default policy [rule: all :: deny Only admin/tag can do this via default policy]"},
			} {
				out, err := koji(tc.user, tc.args...)
				switch {
				case tc.want == "" && err != nil:
					t.Errorf("koji %s as %s: %v\n%s", strings.Join(tc.args, " "), tc.user, err, out)
				case tc.want != "" && (err == nil || !strings.Contains(out, tc.want)):
					t.Errorf("koji %s as %s: %v\n%s\nwant %q", strings.Join(tc.args, " "), tc.user, err, out, tc.want)
				}
			}
		})
	}
}
