package hubcore

import (
	"strings"
	"testing"
)

// TestStockCLIHistory runs Koji 1.35's own CLI (KOJI_STOCK_CLI, as
// TestStockCLIPolicyDenials) against the hub on both backends: edit-tag
// with every option the issue names, lock-tag and unlock-tag,
// add-tag-inheritance with --priority, untag-build (which finds builds
// with queryHistory), and list-history with its filters, whose lines are
// the ones Koji's CLI prints for Koji's rows.
func TestStockCLIHistory(t *testing.T) {
	cli := needStockCLI(t)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			store := openStore(t, backend)
			stockAdmin(t, store)
			url := startServer(t, store, nil)
			run, _ := cli.client(t, url, nil, "TZ=UTC")
			koji := func(args ...string) (string, error) { return run("kojiadmin", "pw", args...) }
			// must runs a command that must succeed and print each of want
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
			must([]string{"add-tag", "f40-build", "--arches", "x86_64"})
			must([]string{"add-tag", "f40-updates"})
			must([]string{"add-tag-inheritance", "f40-updates", "f40-build", "--priority", "10"})
			must([]string{"list-tag-inheritance", "f40-updates"}, "f40-build")
			must([]string{"edit-tag", "f40-build", "-x", "rpm.macro.dist=.fc40", "-x", "inherited=yes"})
			must([]string{"edit-tag", "f40-updates", "--arches", "x86_64 aarch64", "-x", "mock.new_chroot=0", "-x", "a=b"})
			must([]string{"edit-tag", "f40-updates", "-r", "a"})
			must([]string{"edit-tag", "f40-updates", "-b", "rpm.macro.dist"})
			must([]string{"taginfo", "f40-updates"}, "Arches: x86_64 aarch64", "mock.new_chroot : 0", "inherited : 'yes'")
			if out := must([]string{"taginfo", "f40-updates"}); strings.Contains(out, "rpm.macro.dist") {
				t.Errorf("blocked extra still shown:\n%s", out)
			}
			must([]string{"edit-tag", "f40-updates", "--rename", "f40-updates-new"})
			must([]string{"edit-tag", "f40-updates-new", "--rename", "f40-updates"})
			must([]string{"edit-tag", "f40-updates", "--perm", "admin", "--lock"})
			must([]string{"taginfo", "f40-updates"}, "LOCKED", "Required permission: 'admin'")
			must([]string{"edit-tag", "f40-updates", "--no-perm", "--unlock"})
			// lock-tag requires the admin permission; --master locks
			must([]string{"lock-tag", "f40-updates"})
			must([]string{"taginfo", "f40-updates"}, "Required permission: 'admin'")
			must([]string{"unlock-tag", "f40-updates"})
			if out := must([]string{"taginfo", "f40-updates"}); strings.Contains(out, "Required permission") {
				t.Errorf("unlock-tag left the permission:\n%s", out)
			}
			must([]string{"lock-tag", "--master", "f40-updates"})
			must([]string{"taginfo", "f40-updates"}, "LOCKED")
			must([]string{"unlock-tag", "f40-updates"})
			if out := must([]string{"taginfo", "f40-updates"}); strings.Contains(out, "LOCKED") {
				t.Errorf("unlock-tag left the tag locked:\n%s", out)
			}
			must([]string{"add-pkg", "--owner", "kojiadmin", "f40-updates", "hello"})
			must([]string{"call", "--python", "createEmptyBuild", "'hello'", "'1.0'", "'1'", "None"})
			must([]string{"call", "--python", "createEmptyBuild", "'hello'", "'1.0'", "'2'", "None"})
			must([]string{"call", "tagBuildBypass", "f40-updates", "hello-1.0-1"})
			must([]string{"call", "tagBuildBypass", "f40-updates", "hello-1.0-2"})
			must([]string{"untag-build", "--verbose", "f40-updates", "hello-1.0-1"}, "untagging hello-1.0-1")
			must([]string{"list-tagged", "--quiet", "f40-updates"}, "hello-1.0-2")
			must([]string{"untag-build", "--all", "--verbose", "f40-updates", "hello"}, "untagging hello-1.0-2")
			if out, _ := koji("untag-build", "f40-updates", "hello-1.0-1"); !strings.Contains(out, "Build hello-1.0-1 not in tag f40-updates") {
				t.Errorf("untag-build of an untagged build:\n%s", out)
			}

			tagLines := []string{
				"new tag: f40-updates by kojiadmin",
				"inheritance line f40-updates->f40-build added by kojiadmin",
				"tag configuration for f40-updates altered by kojiadmin",
				"added tag option mock.new_chroot for tag f40-updates by kojiadmin [still active]",
				"tag option a removed for f40-updates by kojiadmin",
				"added tag option rpm.macro.dist for tag f40-updates by kojiadmin [still active]",
				"package list entry created: hello in f40-updates by kojiadmin [still active]",
				"package owner kojiadmin set for hello in f40-updates by kojiadmin [still active]",
				"hello-1.0-1 tagged into f40-updates by kojiadmin",
				"hello-1.0-1 untagged from f40-updates by kojiadmin",
				"hello-1.0-2 untagged from f40-updates by kojiadmin",
			}
			must([]string{"list-history", "--tag", "f40-updates"}, tagLines...)
			must([]string{"list-history", "--tag", "f40-updates", "--verbose"}, "arches: None -> x86_64 aarch64", "value: 0", "value: \"b\"", "locked: False -> True", "priority: 10")
			must([]string{"list-history", "--build", "hello-1.0-1"}, "hello-1.0-1 tagged into f40-updates", "hello-1.0-1 untagged from f40-updates")
			must([]string{"list-history", "--package", "hello"}, "package list entry created: hello in f40-updates", "hello-1.0-2 tagged into f40-updates")
			must([]string{"list-history", "--user", "kojiadmin"}, "package owner kojiadmin set for hello in f40-updates")
			must([]string{"list-history", "--all"}, "new tag: f40-build", "new tag: f40-updates")
			must([]string{"list-history", "--tag", "f40-updates", "--active"}, "package list entry created: hello in f40-updates")
			if out := must([]string{"list-history", "--tag", "f40-updates", "--active"}); strings.Contains(out, "untagged") {
				t.Errorf("list-history --active shows revoked rows:\n%s", out)
			}
			must([]string{"list-history", "--tag", "f40-updates", "--after", "2000-01-01"}, "new tag: f40-updates")
			if out := must([]string{"list-history", "--tag", "f40-updates", "--before", "2000-01-01"}); strings.TrimSpace(out) != "" {
				t.Errorf("list-history --before 2000:\n%s", out)
			}
			must([]string{"list-history", "--editor", "kojiadmin", "--tag", "f40-build"}, "new tag: f40-build by kojiadmin")
			must([]string{"list-history", "--tag", "f40-updates", "--xkey", "a"}, "tag option a removed for f40-updates")
			must([]string{"list-history", "--tag", "f40-updates", "--show", "tag_inheritance"}, "inheritance line f40-updates->f40-build added")
			// edit-tag-inheritance (a string priority again) and
			// remove-tag-inheritance ('delete link'), one event each
			must([]string{"edit-tag-inheritance", "f40-updates", "f40-build", "--priority", "20"})
			must([]string{"call", "getInheritanceData", "f40-updates"}, "'priority': 20")
			must([]string{"remove-tag-inheritance", "f40-updates", "f40-build"})
			if out := must([]string{"list-tag-inheritance", "f40-updates"}); strings.Contains(out, "f40-build") {
				t.Errorf("remove-tag-inheritance left the link:\n%s", out)
			}
			must([]string{"list-history", "--tag", "f40-updates", "--show", "tag_inheritance"},
				"inheritance line f40-updates->f40-build updated by kojiadmin", "inheritance line f40-updates->f40-build removed by kojiadmin")
			if out, err := koji("list-history", "--tag", "nosuch"); err == nil || !strings.Contains(out, "No such entry in table tag: nosuch") {
				t.Errorf("list-history --tag nosuch: %v\n%s", err, out)
			}
		})
	}
}
