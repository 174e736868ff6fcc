package hubcore

import (
	"strings"
	"testing"
)

// TestStockCLIHostPermHistory runs Koji 1.35's CLI (KOJI_STOCK_CLI) against
// the hub on both backends: add-host, edit-host, disable-host,
// add-host-to-channel, remove-host-from-channel, grant-permission and
// revoke-permission, then list-history --host, --channel and --permission,
// whose lines are the ones Koji's CLI prints for Koji's host_config,
// host_channels and user_perms rows (an edit is a revoke and a create of
// the same host at one event).
func TestStockCLIHostPermHistory(t *testing.T) {
	cli := needStockCLI(t)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			store := openStore(t, backend)
			stockAdmin(t, store)
			url := startServer(t, store, nil)
			run, _ := cli.client(t, url, nil, "TZ=UTC")
			koji := func(args ...string) (string, error) { return run("kojiadmin", "pw", args...) }
			must := func(args []string, want ...string) string {
				t.Helper()
				out, err := koji(args...)
				if err != nil {
					t.Fatalf("koji %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				for _, w := range want {
					if !strings.Contains(out, w) {
						t.Errorf("koji %s: output lacks %q:\n%s", strings.Join(args, " "), w, out)
					}
				}
				return out
			}
			must([]string{"add-host", "b1", "x86_64"})
			must([]string{"edit-host", "b1", "--capacity", "4", "--comment", "big one"})
			must([]string{"disable-host", "b1"})
			must([]string{"add-host-to-channel", "--new", "b1", "createrepo"})
			must([]string{"remove-host-from-channel", "b1", "default"})
			must([]string{"add-user", "bob"})
			must([]string{"grant-permission", "repo", "bob"})
			must([]string{"revoke-permission", "repo", "bob"})
			must([]string{"grant-permission", "--new", "--description", "may sign", "signer", "bob"})

			out := must([]string{"list-history", "--host", "b1"},
				"new host: b1 by kojiadmin",
				"host configuration for b1 altered by kojiadmin",
				"host b1 added to channel default by kojiadmin",
				"host b1 added to channel createrepo by kojiadmin [still active]",
				"host b1 removed from channel default by kojiadmin")
			if n := strings.Count(out, "host configuration for b1 altered"); n != 2 {
				t.Errorf("list-history --host b1: %d edits, want 2 (edit-host, disable-host):\n%s", n, out)
			}
			must([]string{"list-history", "--host", "b1", "--verbose"}, "capacity: 2.0 -> 4.0", "enabled: True -> False", "comment: None -> big one")
			if out := must([]string{"list-history", "--channel", "createrepo"}); strings.Contains(out, "channel default") || !strings.Contains(out, "host b1 added to channel createrepo") {
				t.Errorf("list-history --channel createrepo:\n%s", out)
			}
			must([]string{"list-history", "--permission", "repo"},
				"permission repo granted to bob by kojiadmin",
				"permission repo revoked for bob by kojiadmin")
			must([]string{"list-history", "--user", "bob"},
				"permission repo granted to bob", "permission signer granted to bob by kojiadmin [still active]")
			must([]string{"list-history", "--host", "b1", "--active"}, "host b1 added to channel createrepo")
			if out := must([]string{"list-history", "--host", "b1", "--active"}); strings.Contains(out, "removed from channel") {
				t.Errorf("list-history --active shows revoked rows:\n%s", out)
			}
			must([]string{"list-permissions", "--user", "bob"}, "signer")
			if out := must([]string{"list-permissions", "--user", "bob"}); strings.Contains(out, "repo") {
				t.Errorf("a revoked permission is still listed:\n%s", out)
			}
			if out, err := koji("list-history", "--host", "nosuch"); err == nil || !strings.Contains(out, "No such host: nosuch") {
				t.Errorf("list-history --host nosuch: %v\n%s", err, out)
			}
		})
	}
}
