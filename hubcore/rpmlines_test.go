package hubcore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"kojigo/db"
)

// TestRepoInitRPMLineCache: a tag's next repo reuses the rpmlist lines of
// the builds whose RPM rows did not change, and reads again those of a
// build given another RPM (koji import of an arch) and of a build reset and
// imported again with other RPMs of the same N-V-R.A, on both databases.
func TestRepoInitRPMLineCache(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		ctx := context.Background()
		w := newRepoWorld(t, th)
		host, _ := th.addHost("builder1")
		tag := w.admin.must("createTag", "f40", kw{"arches": "x86_64 aarch64"}).(int64)
		for _, p := range []string{"foo", "bar"} {
			w.list(t, tag, p, false)
		}
		foo := w.build(t, "foo", "1", "1", "foo.x86_64")
		bar := w.build(t, "bar", "1", "1", "bar.x86_64")
		w.tag(t, tag, foo)
		w.tag(t, tag, bar)
		rpmlist := func(arch string) string {
			t.Helper()
			res := host.must("host.repoInit", "f40", kw{"task_id": nil}).([]any)
			dir := filepath.Join(th.hub.cfg.TopDir, "repos", "f40", itoa(res[0].(int64)), arch)
			return strings.Join(readLines(t, filepath.Join(dir, "rpmlist.jsonl")), "\n")
		}
		first := rpmlist("x86_64")
		if !strings.Contains(first, `"name": "foo"`) || !strings.Contains(first, `"name": "bar"`) {
			t.Fatalf("first repo's rpmlist:\n%s", first)
		}
		if th.hub.rpmLines.size == 0 || len(th.hub.rpmLines.entries) != 2 {
			t.Errorf("cache after the first repo: %d builds, %d bytes", len(th.hub.rpmLines.entries), th.hub.rpmLines.size)
		}
		if again := rpmlist("x86_64"); again != first {
			t.Errorf("unchanged tag, rpmlist changed:\n%s\nwant\n%s", again, first)
		}

		// Another arch of foo, imported into the tagged build.
		if _, err := w.store.AddRPM(ctx, db.RPM{BuildID: foo, Name: "foo", Version: "1", Release: "1", Arch: "aarch64",
			Size: 100, PayloadHash: "0123", Checksum: "abcd", BuildTime: 1700000000}); err != nil {
			t.Fatal(err)
		}
		if got := rpmlist("aarch64"); !strings.Contains(got, `"arch": "aarch64"`) {
			t.Errorf("aarch64 rpmlist after foo got an aarch64 RPM:\n%s", got)
		}

		// bar reset and imported again: same N-V-R.A, another payload.
		if err := w.store.ResetBuild(ctx, bar); err != nil {
			t.Fatal(err)
		}
		if id, err := w.store.CreateBuild(ctx, db.NewBuild{PackageName: "bar", Version: "1", Release: "1", State: db.BuildComplete, OwnerID: w.ownerID}); err != nil || id != bar {
			t.Fatalf("re-import of bar: build %d, %v; want %d", id, err, bar)
		}
		if _, err := w.store.AddRPM(ctx, db.RPM{BuildID: bar, Name: "bar", Version: "1", Release: "1", Arch: "x86_64",
			Size: 200, PayloadHash: "4567", Checksum: "ef01", BuildTime: 1700000001}); err != nil {
			t.Fatal(err)
		}
		w.tag(t, tag, bar)
		got := rpmlist("x86_64")
		for _, l := range strings.Split(got, "\n") {
			if strings.Contains(l, `"name": "bar"`) && !strings.Contains(l, `"payloadhash": "4567"`) {
				t.Errorf("bar's line after its re-import: %s", l)
			}
		}
	})
}

// TestRPMLineCacheBound: the cache keeps at most its bound, dropping the
// least recently used builds, and refuses an entry bigger than the bound.
func TestRPMLineCacheBound(t *testing.T) {
	c := newRPMLineCache(1100)
	files := func(n int) []repoFile {
		return []repoFile{{name: "p", arch: "x86_64", relpath: strings.Repeat("r", n), json: "{}"}}
	}
	build := func(id int64) db.TaggedBuild {
		return db.TaggedBuild{Build: db.Build{ID: id, PackageName: "p", Version: "1", Release: "1"}}
	}
	for id := int64(1); id <= 3; id++ {
		c.put(build(id), files(200))
	}
	if _, ok := c.get(build(1)); !ok { // 1 is now the most recent
		t.Fatal("build 1 not cached")
	}
	c.put(build(4), files(200)) // over 1100 bytes: 2 goes
	if _, ok := c.get(build(2)); ok {
		t.Error("build 2, the least recently used, was kept")
	}
	for _, id := range []int64{1, 3, 4} {
		if _, ok := c.get(build(id)); !ok {
			t.Errorf("build %d was dropped", id)
		}
	}
	if c.size > c.max {
		t.Errorf("size %d over the bound %d", c.size, c.max)
	}
	c.put(build(5), files(2000))
	if _, ok := c.get(build(5)); ok {
		t.Error("an entry bigger than the bound was kept")
	}
	// another rev or N-V-R is a miss, and the stale entry goes
	b := build(1)
	b.RPMsRev = 7
	if _, ok := c.get(b); ok {
		t.Error("an entry of another rpms_rev was returned")
	}
	if _, ok := c.entries[1]; ok {
		t.Error("the stale entry was kept")
	}
}
