package hubcore

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"kojigo/db"
	"kojigo/internal/password"
)

// TestStockCLICloneTag runs Koji 1.35's own `koji clone-tag` (KOJI_STOCK_CLI)
// against the hub on both backends: into a new tag (bare, --all,
// --latest-only --inherit-builds, --event, --ts, --repo), into existing
// tags with other packages, builds and groups (with and without
// --no-delete), --test, --batch, --force on a locked tag, and the CLI's
// refusals; the results are read back with listTagged, listPackages and
// getTagGroups, and list-history shows the changes.
func TestStockCLICloneTag(t *testing.T) {
	cli := needStockCLI(t)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			store := openStore(t, backend)
			ctx := context.Background()
			hash, _ := password.Hash("pw")
			for _, u := range []struct{ name, perm string }{{"kojiadmin", "admin"}, {"tagger", "tag"}, {"alice", ""}} {
				id, err := store.CreateUser(ctx, db.User{Name: u.name, PasswordHash: hash})
				if err != nil {
					t.Fatal(err)
				}
				if u.perm != "" {
					perm, _ := store.GetPermByName(ctx, u.perm)
					if err := store.GrantPerm(ctx, id, perm.ID, nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			url := startServer(t, store, nil)
			run, _ := cli.client(t, url, nil, "TZ=UTC")
			as := func(user string, args ...string) (string, error) { return run(user, "pw", args...) }
			mustAs := func(user string, args ...string) string {
				t.Helper()
				out, err := as(user, args...)
				if err != nil {
					t.Fatalf("koji %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return out
			}
			admin := func(args ...string) string { t.Helper(); return mustAs("kojiadmin", args...) }
			clone := func(args ...string) string {
				t.Helper()
				return mustAs("tagger", append([]string{"clone-tag"}, args...)...)
			}
			// refused runs a command that must fail saying want, and
			// checks that it changed nothing
			refused := func(user, want string, args ...string) {
				t.Helper()
				before := lastEventID(t, store)
				out, err := as(user, args...)
				if err == nil || !strings.Contains(out, want) {
					t.Errorf("koji %s: %v, want an error with %q:\n%s", strings.Join(args, " "), err, want, out)
				}
				if after := lastEventID(t, store); after != before {
					t.Errorf("koji %s made events %d..%d", strings.Join(args, " "), before+1, after)
				}
			}
			// call runs `koji call --json-output` and decodes its answer
			call := func(method string, args ...string) any {
				t.Helper()
				out := admin(append([]string{"call", "--json-output", method}, args...)...)
				var v any
				if err := json.Unmarshal([]byte(out), &v); err != nil {
					t.Fatalf("call %s %v: %v\n%s", method, args, err, out)
				}
				return v
			}
			tagged := func(tag string, args ...string) []string {
				t.Helper()
				var out []string
				for _, b := range call("listTagged", append([]string{tag}, args...)...).([]any) {
					out = append(out, b.(map[string]any)["nvr"].(string))
				}
				return out
			}
			pkgs := func(tag string) []string {
				t.Helper()
				var out []string
				for _, p := range call("listPackages", "tagID="+tag, "inherited=True").([]any) {
					m := p.(map[string]any)
					s := m["package_name"].(string) + " " + m["owner_name"].(string)
					if m["blocked"] == true {
						s += " blocked"
					}
					out = append(out, s)
				}
				sort.Strings(out)
				return out
			}
			groups := func(tag string) []string {
				t.Helper()
				var out []string
				for _, g := range call("getTagGroups", tag).([]any) {
					m := g.(map[string]any)
					var l []string
					for _, p := range m["packagelist"].([]any) {
						pm := p.(map[string]any)
						l = append(l, pm["package"].(string)+"/"+pm["type"].(string))
					}
					for _, r := range m["grouplist"].([]any) {
						l = append(l, "@"+r.(map[string]any)["name"].(string))
					}
					sort.Strings(l)
					out = append(out, m["name"].(string)+": "+strings.Join(l, " "))
				}
				sort.Strings(out)
				return out
			}
			eq := func(what string, got, want any) {
				t.Helper()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %q, want %q", what, got, want)
				}
			}

			// the source: config, an inherited package and build, builds
			// in order, groups with a requirement and an optional package
			admin("add-tag", "base")
			admin("add-tag", "src", "--parent", "base", "--arches", "x86_64")
			admin("edit-tag", "src", "-x", "mock.new_chroot=0")
			admin("add-pkg", "--owner", "kojiadmin", "src", "foo", "bar", "nob")
			admin("add-pkg", "--owner", "tagger", "base", "inh")
			for _, nvr := range []string{"'foo' '1' '1'", "'foo' '1' '2'", "'bar' '1' '1'", "'inh' '1' '1'", "'bar' '0.5' '1'", "'nob' '1' '1'"} {
				admin(append([]string{"call", "--python", "createEmptyBuild"}, append(strings.Fields(nvr), "None")...)...)
			}
			for _, tb := range [][2]string{{"src", "foo-1-1"}, {"src", "foo-1-2"}, {"src", "bar-1-1"}, {"base", "inh-1-1"}} {
				admin("call", "tagBuildBypass", tb[0], tb[1])
			}
			admin("add-group", "src", "build")
			admin("add-group", "src", "srpm-build")
			admin("add-group-pkg", "src", "build", "foo", "bash")
			admin("call", "groupPackageListAdd", "src", "build", "make", "type=optional")
			admin("add-group-pkg", "src", "srpm-build", "rpm-build")
			admin("add-group-req", "src", "build", "srpm-build")
			srcGroups := []string{"build: @srpm-build bash/mandatory foo/mandatory make/optional", "srpm-build: rpm-build/mandatory"}
			eq("src groups", groups("src"), srcGroups)

			// a new tag with nothing asked for: the tag alone
			clone("src", "bare")
			if out := admin("taginfo", "bare"); strings.Contains(out, "x86_64") {
				t.Errorf("clone-tag without options copied the arches:\n%s", out)
			}
			eq("bare packages", pkgs("bare"), []string(nil))
			eq("bare builds", tagged("bare"), []string(nil))

			// --all: config, packages (the inherited one too), all own builds in order, groups
			clone("--all", "--batch", "5", "src", "full")
			if out := admin("taginfo", "full"); !strings.Contains(out, "Arches: x86_64") || !strings.Contains(out, "mock.new_chroot : 0") {
				t.Errorf("taginfo full:\n%s", out)
			}
			eq("full packages", pkgs("full"), []string{"bar kojiadmin", "foo kojiadmin", "inh tagger", "nob kojiadmin"})
			eq("full builds", tagged("full"), []string{"bar-1-1", "foo-1-2", "foo-1-1"})
			eq("full groups", groups("full"), srcGroups)
			if out := admin("list-groups", "full"); !strings.Contains(out, "build  [full]") || !strings.Contains(out, "make: None, optional  [full]") {
				t.Errorf("list-groups full:\n%s", out)
			}

			// --latest-only --inherit-builds
			clone("--all", "--latest-only", "--inherit-builds", "src", "latest")
			eq("latest builds", tagged("latest"), []string{"bar-1-1", "foo-1-2", "inh-1-1"})

			// at an event, a timestamp, a repo: before bar-0.5-1 was tagged
			ev := call("getLastEvent").(map[string]any)
			evID := int64(ev["id"].(float64))
			admin("call", "tagBuildBypass", "src", "bar-0.5-1")
			out := clone("--all", "--event", strconv.FormatInt(evID, 10), "src", "atev")
			if !strings.Contains(out, fmt.Sprintf("Cloning at event %d (", evID)) {
				t.Errorf("clone-tag --event: %q", out)
			}
			eq("event builds", tagged("atev"), []string{"bar-1-1", "foo-1-2", "foo-1-1"})
			ts := int64(math.Ceil(ev["ts"].(float64)))
			atTS := call("getLastEvent", "before="+strconv.FormatInt(ts, 10)).(map[string]any)
			out = clone("--all", "--ts", strconv.FormatInt(ts, 10), "src", "atts")
			if !strings.Contains(out, fmt.Sprintf("Cloning at event %d (", int64(atTS["id"].(float64)))) {
				t.Errorf("clone-tag --ts: %q", out)
			}
			eq("ts builds", tagged("atts"), tagged("src", fmt.Sprintf("event=%d", int64(atTS["id"].(float64)))))
			srcTag, err := store.GetTagByName(ctx, "src")
			if err != nil {
				t.Fatal(err)
			}
			repoID, err := store.CreateRepo(ctx, db.NewRepo{TagID: srcTag.ID, CreateEvent: evID, State: db.RepoReady, Opts: "{}", CustomOpts: "{}"})
			if err != nil {
				t.Fatal(err)
			}
			out = clone("--all", "--repo", strconv.FormatInt(repoID, 10), "src", "atrepo")
			if !strings.Contains(out, fmt.Sprintf("Cloning at event %d (", evID)) {
				t.Errorf("clone-tag --repo: %q", out)
			}
			eq("repo builds", tagged("atrepo"), []string{"bar-1-1", "foo-1-2", "foo-1-1"})
			eq("src builds now", tagged("src"), []string{"bar-0.5-1", "bar-1-1", "foo-1-2", "foo-1-1"})

			// existing tags that differ: other arches, a package src
			// lacks, foo's builds out of order, a build of a package src
			// has no builds of, a group src lacks, a package src lacks
			for _, dst := range []string{"exist", "keep"} {
				admin("add-tag", dst, "--arches", "ppc64le")
				admin("add-pkg", "--owner", "tagger", dst, "foo", "nob", "qux")
				admin("call", "tagBuildBypass", dst, "foo-1-2")
				admin("call", "tagBuildBypass", dst, "foo-1-1")
				admin("call", "tagBuildBypass", dst, "nob-1-1")
				admin("add-group", dst, "build")
				admin("add-group", dst, "old-grp")
				admin("add-group-pkg", dst, "build", "foo", "extra-pkg")
			}
			before := lastEventID(t, store)
			clone("--all", "src", "exist")
			if out := admin("taginfo", "exist"); !strings.Contains(out, "Arches: x86_64") {
				t.Errorf("taginfo exist:\n%s", out)
			}
			// qux is blocked; src's packages added, exist's own foo and nob entries kept
			eq("exist packages", pkgs("exist"), []string{"bar kojiadmin", "foo tagger", "inh tagger", "nob tagger", "qux tagger blocked"})
			eq("exist builds", tagged("exist"), []string{"bar-0.5-1", "bar-1-1", "foo-1-2", "foo-1-1"})
			eq("exist latest foo", tagged("exist", "latest=True", "package=foo"), []string{"foo-1-2"})
			eq("exist groups", groups("exist"), srcGroups)
			hist := admin("list-history", "--tag", "exist")
			for _, w := range []string{
				"foo-1-2 untagged from exist by tagger", "foo-1-2 tagged into exist by tagger", "nob-1-1 untagged from exist by tagger",
				"bar-1-1 tagged into exist by tagger", "package list entry created: bar in exist by tagger",
				"tag configuration for exist altered by tagger", "added tag option mock.new_chroot for tag exist by tagger",
			} {
				if !strings.Contains(hist, w) {
					t.Errorf("list-history --tag exist lacks %q:\n%s", w, hist)
				}
			}
			// every change its own event, in order: the events the call made are consecutive
			if after := lastEventID(t, store); after-before < 12 {
				t.Errorf("clone-tag into exist made %d events, want one per change", after-before)
			}
			// again: nothing left to change
			before = lastEventID(t, store)
			clone("--all", "src", "exist")
			if after := lastEventID(t, store); after != before {
				t.Errorf("a second clone-tag made events %d..%d", before+1, after)
			}

			// --no-delete: what src lacks stays (builds as the oldest)
			clone("--all", "--no-delete", "src", "keep")
			eq("keep builds", tagged("keep"), []string{"bar-0.5-1", "bar-1-1", "foo-1-2", "nob-1-1", "foo-1-1"})
			eq("keep groups", groups("keep"), []string{"build: @srpm-build bash/mandatory extra-pkg/mandatory foo/mandatory make/optional", "old-grp: ", "srpm-build: rpm-build/mandatory"})
			// the package src lacks is blocked all the same, as Koji
			eq("keep packages", pkgs("keep"), []string{"bar kojiadmin", "foo tagger", "inh tagger", "nob tagger", "qux tagger blocked"})

			// only packages, then only builds of the latest
			admin("add-tag", "partial")
			clone("--pkgs", "src", "partial")
			eq("partial packages", pkgs("partial"), []string{"bar kojiadmin", "foo kojiadmin", "inh tagger", "nob kojiadmin"})
			eq("partial builds", tagged("partial"), []string(nil))
			clone("--pkgs", "--builds", "--latest-only", "src", "partial")
			eq("partial latest builds", tagged("partial"), []string{"bar-0.5-1", "foo-1-2"})
			clone("--groups", "src", "partial")
			eq("partial groups", groups("partial"), srcGroups)
			if out := admin("taginfo", "partial"); strings.Contains(out, "x86_64") {
				t.Errorf("clone-tag without --config copied the arches:\n%s", out)
			}

			// what the CLI refuses, changing nothing
			refused("tagger", "server-side operation, test output is no longer available", "clone-tag", "--all", "--test", "src", "exist")
			refused("tagger", "server-side operation, test output is no longer available", "clone-tag", "--all", "--test", "src", "newtag")
			refused("tagger", "--builds can't be used without also specifying --pkgs", "clone-tag", "--builds", "src", "newtag")
			refused("tagger", "batch size must be bigger than zero", "clone-tag", "--batch", "-1", "src", "newtag")
			refused("tagger", "Source and destination tags must be different", "clone-tag", "src", "src")
			refused("tagger", "No such src-tag: nosuch", "clone-tag", "nosuch", "newtag")
			refused("tagger", "This command takes two arguments", "clone-tag", "src")
			refused("alice", "This action requires tag or admin privileges", "clone-tag", "src", "newtag")
			if v := call("getTag", "newtag"); v != nil {
				t.Errorf("a refused clone-tag made newtag: %v", v)
			}
			admin("edit-tag", "--lock", "src")
			refused("tagger", "You are attempting to clone from or to a tag which is locked", "clone-tag", "--all", "src", "newtag")
			refused("tagger", "You are attempting to clone from or to a tag which is locked", "clone-tag", "--all", "src", "exist")
			clone("--all", "-f", "src", "newtag")
			eq("forced builds", tagged("newtag"), tagged("src"))
			admin("edit-tag", "--unlock", "src")
		})
	}
}

// lastEventID is the newest event's id.
func lastEventID(t *testing.T, store *db.Store) int64 {
	t.Helper()
	e, err := store.LastEvent(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return e.ID
}
