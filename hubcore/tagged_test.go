package hubcore

import (
	"slices"
	"testing"
)

// TestListTaggedFollowsPackageList: listTagged and getLatestBuilds read
// tags as Koji's readTaggedBuilds does: only builds whose package the
// tag's package list (with inheritance) has and does not block, and with
// inherit the builds of every tag in the chain, not only the nearest
// tag's.
func TestListTaggedFollowsPackageList(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		anon := th.anon()
		admin.must("createTag", "parent")
		admin.must("createTag", "child", "parent")
		for _, nvr := range [][3]string{{"foo", "1", "1"}, {"foo", "2", "1"}, {"bar", "1", "1"}, {"gone", "1", "1"}} {
			admin.must("createEmptyBuild", nvr[0], nvr[1], nvr[2], nil)
		}
		for _, p := range []string{"foo", "bar"} {
			admin.must("packageListAdd", "parent", p, "kojiadmin")
		}
		admin.must("tagBuildBypass", "parent", "foo-1-1")
		admin.must("tagBuildBypass", "parent", "bar-1-1")
		admin.must("tagBuildBypass", "child", "foo-2-1")
		admin.must("massTag", "child", []any{"gone-1-1"}) // no package list entry: massTag does not check
		nvrs := func(v any) []string {
			var out []string
			for _, x := range v.([]any) {
				out = append(out, x.(map[string]any)["nvr"].(string))
			}
			slices.Sort(out)
			return out
		}
		check := func(what string, got, want []string) {
			t.Helper()
			if !slices.Equal(got, want) {
				t.Errorf("%s = %v, want %v", what, got, want)
			}
		}
		check("child, inherited", nvrs(anon.must("listTagged", "child", kw{"inherit": true})),
			[]string{"bar-1-1", "foo-1-1", "foo-2-1"})
		check("child, latest", nvrs(anon.must("getLatestBuilds", "child")), []string{"bar-1-1", "foo-2-1"})
		check("child, own", nvrs(anon.must("listTagged", "child")), []string{"foo-2-1"})

		// blocked in the child: none of bar's builds, the parent's neither
		admin.must("packageListBlock", "child", "bar")
		check("child with bar blocked", nvrs(anon.must("listTagged", "child", kw{"inherit": true})),
			[]string{"foo-1-1", "foo-2-1"})
		check("parent", nvrs(anon.must("listTagged", "parent")), []string{"bar-1-1", "foo-1-1"})
	})
}
