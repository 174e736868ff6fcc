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

// TestStockCLIUsersChannelsVolumes runs Koji 1.35's own CLI (see
// TestStockCLIPolicyDenials) for users, permissions, content-generator
// access, channels, notifications and volumes, on both backends, and
// compares what it prints with what it prints against Koji.
func TestStockCLIUsersChannelsVolumes(t *testing.T) {
	cli := needStockCLI(t)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			store := openStore(t, backend)
			ctx := context.Background()
			for _, u := range []struct {
				name  string
				perms []string
			}{{"kojiadmin", []string{"admin"}}, {"alice", nil}, {"bob", []string{"tag"}}} {
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
			top := t.TempDir()
			url := startServer(t, store, func(fc *FileConfig) { fc.KojiDir = top })
			run, _ := cli.client(t, url, nil)
			koji := func(user string, args ...string) (string, error) { return run(user, "pw", args...) }
			must := func(user string, args ...string) string {
				t.Helper()
				out, err := koji(user, args...)
				if err != nil {
					t.Fatalf("koji %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return out
			}
			// set-up for the notifications and the volume move
			must("kojiadmin", "add-tag", "f40")
			must("kojiadmin", "add-pkg", "--owner", "kojiadmin", "f40", "hello")
			must("kojiadmin", "call", "--python", "createEmptyBuild", "'hello'", "'1.0'", "'1'", "None")
			must("kojiadmin", "call", "tagBuildBypass", "f40", "hello-1.0-1")
			os.MkdirAll(filepath.Join(top, "packages", "hello", "1.0", "1", "noarch"), 0o755)
			os.WriteFile(filepath.Join(top, "packages", "hello", "1.0", "1", "noarch", "hello-1.0-1.noarch.rpm"), []byte("rpm"), 0o644)
			os.MkdirAll(filepath.Join(top, "vol", "archive"), 0o755)

			for _, tc := range []struct {
				user string
				args []string
				want string // the whole output; "~text": output contains text
				fail bool   // the command exits non-zero
			}{
				// users
				{"kojiadmin", []string{"disable-user", "alice"}, "", false},
				{"alice", []string{"hello"}, "~logins by alice are not allowed", true},
				{"kojiadmin", []string{"enable-user", "alice"}, "", false},
				{"alice", []string{"hello"}, "~, alice!", false},
				{"alice", []string{"disable-user", "bob"}, "~admin permission required (logged in as alice)", true},
				{"kojiadmin", []string{"edit-user", "--rename", "alice2", "alice"}, "", false},
				{"alice2", []string{"hello"}, "~, alice2!", false},
				{"kojiadmin", []string{"edit-user", "--add-krb", "alice@EXAMPLE.COM", "alice2"}, "", false},
				{"kojiadmin", []string{"edit-user", "--edit-krb", "alice@EXAMPLE.COM=alice@NEW.COM", "alice2"}, "", false},
				{"kojiadmin", []string{"edit-user", "--rename", "alice", "alice2"}, "", false},
				{"kojiadmin", []string{"edit-permission", "tag", "Manage tags."}, "", false},
				{"kojiadmin", []string{"list-permissions"}, "~tag                  Manage tags.", false},
				{"kojiadmin", []string{"list-users", "--perm", "tag"}, "bob\n", false},
				{"kojiadmin", []string{"list-users", "--perm", "admin"}, "kojiadmin\n", false},
				{"kojiadmin", []string{"list-users", "--perm", "nosuch"}, "~Invalid permission: nosuch", true},
				{"kojiadmin", []string{"list-users", "--prefix", "b", "--usertype", "all"}, "bob\n", false},
				{"kojiadmin", []string{"grant-cg-access", "alice", "osbs"}, "~No such entry in table content_generator: osbs", true},
				{"kojiadmin", []string{"grant-cg-access", "--new", "alice", "osbs"}, "", false},
				{"kojiadmin", []string{"grant-cg-access", "alice", "osbs"}, "~User already has access to content generator osbs", true},
				{"kojiadmin", []string{"call", "listCGs"}, "~'users': ['alice']", false},
				{"kojiadmin", []string{"revoke-cg-access", "alice", "osbs"}, "", false},
				{"kojiadmin", []string{"call", "listCGs"}, "{}\n", false},
				// channels
				{"kojiadmin", []string{"add-channel", "spare"}, "~spare added: id", false},
				{"kojiadmin", []string{"edit-channel", "--name", "spare2", "--description", "a spare", "spare"}, "", false},
				{"kojiadmin", []string{"edit-channel", "--description", "a spare", "spare2"}, "~No changes made, please correct the command line", true},
				{"kojiadmin", []string{"edit-channel", "--comment", "x", "nosuch"}, "~No such channel: nosuch", true},
				{"kojiadmin", []string{"disable-channel", "--comment", "maintenance", "spare2"}, "", false},
				{"kojiadmin", []string{"list-channels", "--disabled", "--quiet"}, "~spare2", false},
				{"kojiadmin", []string{"enable-channel", "spare2"}, "", false},
				{"kojiadmin", []string{"disable-channel", "nosuch"}, "~No such channel: nosuch", true},
				// the CLI's multicall drops the fault, as against Koji: the channel stays enabled
				{"alice", []string{"disable-channel", "spare2"}, "", false},
				{"alice", []string{"call", "getChannel", "spare2"}, "~'enabled': True", false},
				{"alice", []string{"call", "disableChannel", "spare2"}, "~host permission required (logged in as alice)", true},
				// Koji 1.35's CLI has no remove-channel (gone in 1.30): the call
				{"kojiadmin", []string{"call", "removeChannel", "spare2"}, "None\n", false},
				{"kojiadmin", []string{"call", "removeChannel", "spare2"}, "~No such entry in table channels: spare2", true},
				// notifications
				{"alice", []string{"add-notification", "--package", "hello", "--tag", "f40", "--success-only"}, "", false},
				{"alice", []string{"add-notification", "--package", "hello", "--tag", "f40", "--success-only"}, "~notification already exists", true},
				{"alice", []string{"add-notification", "--package", "nosuch"}, "~No such package: nosuch", true},
				{"bob", []string{"add-notification", "--user", "alice", "--tag", "f40"}, "~--user requires admin permission", true},
				{"bob", []string{"call", "createNotification", "alice", "None", "f40", "False"}, "~user bob cannot create notifications for user alice", true},
				{"kojiadmin", []string{"add-notification", "--user", "bob", "--tag", "f40"}, "", false},
				{"alice", []string{"list-notifications", "--mine"}, "~hello", false},
				{"alice", []string{"edit-notification", "--tag", "*", "1"}, "", false},
				{"alice", []string{"block-notification", "--package", "hello"}, "", false},
				{"alice", []string{"block-notification", "--package", "hello"}, "~Notification already exists.", true},
				{"alice", []string{"list-notifications", "--mine"}, "~Notification blocks", false},
				{"bob", []string{"remove-notification", "1"}, "~cannot delete notifications for user", true},
				{"alice", []string{"remove-notification", "1"}, "~Notification 1 successfully removed.", false},
				{"alice", []string{"unblock-notification", "1"}, "~Notification block 1 successfully removed.", false},
				// volumes
				{"kojiadmin", []string{"add-volume", "archive"}, "Added volume archive with id 1\n", false},
				{"kojiadmin", []string{"add-volume", "archive"}, "~Volume archive already exists", true},
				{"kojiadmin", []string{"add-volume", "nodir"}, "~please create the volume directory first", true},
				{"kojiadmin", []string{"list-volumes"}, "DEFAULT\narchive\n", false},
				{"kojiadmin", []string{"set-build-volume", "-v", "archive", "hello-1.0-1"}, "hello-1.0-1: DEFAULT -> archive\n", false},
				{"kojiadmin", []string{"set-build-volume", "archive", "hello-1.0-1"}, "~Build hello-1.0-1 already on volume archive", true},
				{"kojiadmin", []string{"list-builds", "--package", "hello"}, "~hello-1.0-1", false},
				{"kojiadmin", []string{"list-builds", "--volume", "archive", "--quiet"}, "~hello-1.0-1", false},
				{"kojiadmin", []string{"list-builds", "--volume", "DEFAULT", "--quiet"}, "", false},
				{"kojiadmin", []string{"buildinfo", "hello-1.0-1"}, "~Volume: archive", false},
			} {
				out, err := koji(tc.user, tc.args...)
				ok := (err != nil) == tc.fail
				if strings.HasPrefix(tc.want, "~") {
					ok = ok && strings.Contains(out, tc.want[1:])
				} else {
					ok = ok && out == tc.want
				}
				if !ok {
					t.Errorf("koji %s as %s: %v\n%s\nwant %q", strings.Join(tc.args, " "), tc.user, err, out, tc.want)
				}
			}
			// the move is on disk: the build under vol/archive, a symlink at its DEFAULT place
			rpm := filepath.Join(top, "vol", "archive", "packages", "hello", "1.0", "1", "noarch", "hello-1.0-1.noarch.rpm")
			if data, err := os.ReadFile(rpm); err != nil || string(data) != "rpm" {
				t.Errorf("moved rpm: %q, %v", data, err)
			}
			if dst, err := os.Readlink(filepath.Join(top, "packages", "hello", "1.0", "1")); err != nil || dst != "../../../vol/archive/packages/hello/1.0/1" {
				t.Errorf("DEFAULT place: %q, %v", dst, err)
			}
		})
	}
}
