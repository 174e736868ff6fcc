package repogen

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kojigo/repogen/internal/testrpm"
)

// dbContent is a database's content keyed by pkgId instead of pkgKey, as
// sorted rows: what must be equal between a database updated in place
// (new packages at the end, keys of removed ones unused) and one built
// from scratch.
func dbContent(t *testing.T, root, typ string) []string {
	t.Helper()
	db := openMetadataDB(t, root, typ+"_db")
	var queries []string
	switch typ {
	case "primary":
		queries = []string{`SELECT pkgId, name, arch, version, epoch, release, summary, description, url, time_file, time_build,
			rpm_license, rpm_vendor, rpm_group, rpm_buildhost, rpm_sourcerpm, rpm_header_start, rpm_header_end, rpm_packager,
			size_package, size_installed, size_archive, location_href, location_base, checksum_type FROM packages`,
			`SELECT p.pkgId, f.name, f.type FROM files f JOIN packages p USING (pkgKey)`,
			`SELECT p.pkgId, d.name, d.flags, d.epoch, d.version, d.release, d.pre FROM requires d JOIN packages p USING (pkgKey)`}
		for _, t := range depTableNames {
			if t != "requires" {
				queries = append(queries, `SELECT '`+t+`', p.pkgId, d.name, d.flags, d.epoch, d.version, d.release FROM `+t+` d JOIN packages p USING (pkgKey)`)
			}
		}
		queries = append(queries, `SELECT count(*) FROM files WHERE pkgKey NOT IN (SELECT pkgKey FROM packages)`)
	case "filelists":
		queries = []string{`SELECT p.pkgId, f.dirname, f.filenames, f.filetypes FROM filelist f JOIN packages p USING (pkgKey)`,
			`SELECT count(*) FROM filelist WHERE pkgKey NOT IN (SELECT pkgKey FROM packages)`}
	case "other":
		queries = []string{`SELECT p.pkgId, c.author, c.date, c.changelog FROM changelog c JOIN packages p USING (pkgKey)`,
			`SELECT count(*) FROM changelog WHERE pkgKey NOT IN (SELECT pkgKey FROM packages)`}
	}
	queries = append(queries, `SELECT type, name, sql FROM sqlite_master ORDER BY name`, `SELECT count(*), dbversion FROM db_info`)
	var out []string
	for _, q := range queries {
		rows := dbRows(t, db, q)
		slices.Sort(rows)
		out = append(out, rows...)
	}
	_, md := readRepomd(t, root)
	if sum := dbRows(t, db, `SELECT checksum FROM db_info`); len(sum) != 1 || sum[0] != fmt.Sprintf("%q", md[typ].SumType.Value) {
		t.Errorf("%s: %s_db db_info checksum %v, want the %s.xml checksum %s", root, typ, sum, typ, md[typ].SumType.Value)
	}
	return out
}

func sameDBContent(t *testing.T, got, want string) {
	t.Helper()
	for _, typ := range []string{"primary", "filelists", "other"} {
		a, b := dbContent(t, got, typ), dbContent(t, want, typ)
		if len(a) != len(b) {
			t.Errorf("%s_db: %d rows, want %d", typ, len(a), len(b))
		}
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Errorf("%s_db row %d:\n got %s\nwant %s", typ, i, a[i], b[i])
				break
			}
		}
	}
}

func cacheOpts(dir string) Options {
	return Options{BaseDir: dir, Database: true, UpdateCache: true, Update: true}
}

// TestUpdateCache: updates from the cache publish what a full run does,
// copying most of the compressed output, through additions, removals,
// rebuilds, an unchanged run and chained updates.
func TestUpdateCache(t *testing.T) {
	// Small blocks, so that a small database has unchanged ones.
	defer func(span int) { dbCacheSpan = span }(dbCacheSpan)
	dbCacheSpan = 16 << 10
	dir := t.TempDir()
	specs := plainSpecs(700, 5)
	for _, s := range specs[:600] {
		if _, err := testrpm.Write(dir, s); err != nil {
			t.Fatal(err)
		}
	}
	o := cacheOpts(dir)
	o.Update = false
	res := generate(t, o)
	if res.Cache.Chunks == 0 || res.Cache.ChunksReused != 0 || res.Cache.Blocks == 0 || res.Cache.BlocksReused != 0 {
		t.Errorf("first run: cache stats %+v", res.Cache)
	}
	for _, f := range []string{"primary.sqlite.zst", "primary.sqlite.json", "filelists.sqlite.zst", "other.sqlite.json", "primary.xml.json", "other.xml.json"} {
		if _, err := os.Stat(cacheFile(filepath.Join(dir, "repodata"), f)); err != nil {
			t.Errorf("cache file missing: %v", err)
		}
	}
	sameMetadata(t, dir, fullRun(t, dir))
	sameDBContent(t, dir, fullDBRun(t, dir))

	// One package added: nearly everything is copied.
	if _, err := testrpm.Write(dir, specs[600]); err != nil {
		t.Fatal(err)
	}
	res = generate(t, cacheOpts(dir))
	if res.Read != 1 || res.Cache.DatabasesUpdated != 3 || res.Cache.ChunksReused < res.Cache.Chunks/2 || res.Cache.BlocksReused == 0 {
		t.Errorf("one added: read %d, cache stats %+v", res.Read, res.Cache)
	}
	sameMetadata(t, dir, fullRun(t, dir))
	sameDBContent(t, dir, fullDBRun(t, dir))

	// Nothing changed: the files and the cache are carried over.
	res = generate(t, cacheOpts(dir))
	if res.Read != 0 {
		t.Errorf("unchanged: read %d", res.Read)
	}
	if _, err := os.Stat(cacheFile(filepath.Join(dir, "repodata"), "primary.sqlite.json")); err != nil {
		t.Errorf("unchanged run dropped the cache: %v", err)
	}

	// Added, removed, rebuilt and touched packages, then another update
	// from that one.
	for _, s := range specs[601:650] {
		if _, err := testrpm.Write(dir, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*testrpm.Spec{specs[3], specs[170], specs[400], specs[401]} {
		if err := os.Remove(filepath.Join(dir, s.FileName())); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*testrpm.Spec{specs[5], specs[300]} {
		s.Summary += " (rebuilt)"
		s.MTime += 100
		if _, err := testrpm.Write(dir, s); err != nil {
			t.Fatal(err)
		}
	}
	touched := filepath.Join(dir, specs[9].FileName())
	later := time.Unix(specs[9].MTime+500, 0)
	if err := os.Chtimes(touched, later, later); err != nil {
		t.Fatal(err)
	}
	res = generate(t, cacheOpts(dir))
	if res.Read != 52 || res.Packages != 646 || res.Cache.DatabasesUpdated != 3 {
		t.Errorf("changes: read %d of %d, cache stats %+v", res.Read, res.Packages, res.Cache)
	}
	sameMetadata(t, dir, fullRun(t, dir))
	sameDBContent(t, dir, fullDBRun(t, dir))
	if _, err := testrpm.Write(dir, specs[650]); err != nil {
		t.Fatal(err)
	}
	res = generate(t, cacheOpts(dir))
	if res.Cache.DatabasesUpdated != 3 || res.Cache.ChunksReused == 0 {
		t.Errorf("chained: cache stats %+v", res.Cache)
	}
	sameMetadata(t, dir, fullRun(t, dir))
	sameDBContent(t, dir, fullDBRun(t, dir))
}

// TestUpdateCacheDamaged: a cache that does not match, is corrupt or is
// gone makes the update rebuild what it cannot trust, never publish a
// wrong database.
func TestUpdateCacheDamaged(t *testing.T) {
	for _, tc := range []struct {
		name    string
		damage  func(t *testing.T, cache string)
		inPlace int // databases still updated in place
	}{
		{"index of another file", func(t *testing.T, cache string) {
			// Sealed, but not for the file repomd.xml lists.
			var idx dbCacheIndex
			path := cacheFile(cache, "primary.sqlite.json")
			if err := readIndex(path, &idx); err != nil {
				t.Fatal(err)
			}
			idx.Checksum = strings.Repeat("0", 64)
			if err := writeIndex(path, idx); err != nil {
				t.Fatal(err)
			}
		}, 2},
		{"index damaged", func(t *testing.T, cache string) {
			edit(t, cacheFile(cache, "primary.sqlite.json"), `"checksum":"`, `"checksum":"0`)
		}, 2},
		{"raw database changed", func(t *testing.T, cache string) {
			// Another database of the right format: the copy's checksum
			// catches it.
			b, err := os.ReadFile(cacheFile(cache, "other.sqlite.zst"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cacheFile(cache, "primary.sqlite.zst"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}, 2},
		{"raw database not sqlite", func(t *testing.T, cache string) {
			os.WriteFile(cacheFile(cache, "filelists.sqlite.zst"), []byte("not a database"), 0o644)
		}, 2},
		{"index not JSON", func(t *testing.T, cache string) {
			os.WriteFile(cacheFile(cache, "other.sqlite.json"), []byte("{"), 0o644)
			os.WriteFile(cacheFile(cache, "primary.xml.json"), []byte("]"), 0o644)
		}, 2},
		{"block list lies", func(t *testing.T, cache string) {
			// Offsets moved: the index's own checksum catches it, so
			// no wrong bytes are spliced in.
			edit(t, cacheFile(cache, "primary.sqlite.json"), `"bit_off":`, `"bit_off":1`)
			edit(t, cacheFile(cache, "primary.xml.json"), `"off":`, `"off":1`)
		}, 2},
		{"cache gone", func(t *testing.T, cache string) {
			for _, f := range []string{"primary", "filelists", "other"} {
				for _, ext := range []string{".sqlite.zst", ".sqlite.json", ".xml.json"} {
					os.Remove(cacheFile(cache, f+ext))
				}
			}
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			specs := plainSpecs(120, 9)
			for _, s := range specs[:100] {
				if _, err := testrpm.Write(dir, s); err != nil {
					t.Fatal(err)
				}
			}
			o := cacheOpts(dir)
			o.Update = false
			generate(t, o)
			tc.damage(t, filepath.Join(dir, "repodata"))
			for _, s := range specs[100:] {
				if _, err := testrpm.Write(dir, s); err != nil {
					t.Fatal(err)
				}
			}
			res := generate(t, cacheOpts(dir))
			if res.Cache.DatabasesUpdated != tc.inPlace {
				t.Errorf("%d databases updated in place, want %d", res.Cache.DatabasesUpdated, tc.inPlace)
			}
			sameMetadata(t, dir, fullRun(t, dir))
			sameDBContent(t, dir, fullDBRun(t, dir))
		})
	}
}

// plainSpecs are n packages of the test corpus without the odd ones, whose
// database rows differ when built from reused XML rather than from the
// header (see TestDatabaseUpdate): those are tested there.
func plainSpecs(n int, seed uint64) []*testrpm.Spec {
	var out []*testrpm.Spec
	for _, s := range testrpm.Corpus(2*n, seed) {
		if !strings.Contains(s.Name, "odd") && len(out) < n {
			out = append(out, s)
		}
	}
	return out
}

func edit(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.Contains(s, old) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(s, old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestUpdateCacheSlowDatabases: when the databases take long to restore,
// the packages that came meanwhile are kept and added once they are open,
// with or without reaching dbPendingMax, and the update publishes what a
// full run does; so does a rebuild after a cache that cannot be used.
func TestUpdateCacheSlowDatabases(t *testing.T) {
	defer func(span, max, block int) { dbCacheSpan, dbPendingMax, pendingBlock = span, max, block }(dbCacheSpan, dbPendingMax, pendingBlock)
	// Blocks smaller than some fragments: both ways of keeping them.
	pendingBlock = 1500
	defer func() { testHookDBOpen = nil }()
	dbCacheSpan = 16 << 10
	// Only the runs under test are slow; the full runs they are compared
	// with open their databases at once.
	slow := func(o Options) Result {
		testHookDBOpen = func() { time.Sleep(300 * time.Millisecond) }
		defer func() { testHookDBOpen = nil }()
		return generate(t, o)
	}
	for _, pendingMax := range []int{64 << 20, 8 << 10} {
		t.Run(fmt.Sprintf("pending max %d", pendingMax), func(t *testing.T) {
			dbPendingMax = pendingMax
			dir := t.TempDir()
			specs := plainSpecs(420, 7)
			for _, s := range specs[:400] {
				if _, err := testrpm.Write(dir, s); err != nil {
					t.Fatal(err)
				}
			}
			o := cacheOpts(dir)
			o.Update = false
			slow(o)
			sameDBContent(t, dir, fullDBRun(t, dir))

			// Added, removed and rebuilt packages.
			for _, s := range specs[400:410] {
				if _, err := testrpm.Write(dir, s); err != nil {
					t.Fatal(err)
				}
			}
			for _, s := range []*testrpm.Spec{specs[0], specs[200]} {
				if err := os.Remove(filepath.Join(dir, s.FileName())); err != nil {
					t.Fatal(err)
				}
			}
			specs[17].Summary += " (rebuilt)"
			specs[17].MTime += 100
			if _, err := testrpm.Write(dir, specs[17]); err != nil {
				t.Fatal(err)
			}
			res := slow(cacheOpts(dir))
			if res.Read != 11 || res.Packages != 408 || res.Cache.DatabasesUpdated != 3 {
				t.Errorf("update: read %d of %d, cache stats %+v", res.Read, res.Packages, res.Cache)
			}
			sameMetadata(t, dir, fullRun(t, dir))
			sameDBContent(t, dir, fullDBRun(t, dir))

			// A raw cache that is not the database it claims: rebuilt from
			// the kept fragments.
			if _, err := testrpm.Write(dir, specs[410]); err != nil {
				t.Fatal(err)
			}
			raw := cacheFile(filepath.Join(dir, "repodata"), "other.sqlite.zst")
			if err := os.WriteFile(raw, []byte("not zstd"), 0o644); err != nil {
				t.Fatal(err)
			}
			res = slow(cacheOpts(dir))
			if res.Cache.DatabasesUpdated != 2 {
				t.Errorf("damaged other cache: cache stats %+v, want 2 databases updated", res.Cache)
			}
			sameMetadata(t, dir, fullRun(t, dir))
			sameDBContent(t, dir, fullDBRun(t, dir))
		})
	}
}

// TestFinishedReportsCompleteFiles: Options.Finished names files that are
// complete when named: a link made then has the content published, on a
// full run and on an update from the cache, each file once, and every
// published file but repomd.xml is named.
func TestFinishedReportsCompleteFiles(t *testing.T) {
	dir := t.TempDir()
	specs := plainSpecs(60, 11)
	for _, s := range specs[:50] {
		if _, err := testrpm.Write(dir, s); err != nil {
			t.Fatal(err)
		}
	}
	run := func(o Options) {
		t.Helper()
		links := t.TempDir()
		var mu sync.Mutex
		seen := map[string]int{}
		o.Finished = func(path string) {
			mu.Lock()
			defer mu.Unlock()
			name := filepath.Base(path)
			seen[name]++
			if err := os.Link(path, filepath.Join(links, name)); err != nil && seen[name] == 1 {
				t.Errorf("link %s: %v", path, err)
			}
		}
		generate(t, o)
		ents, err := os.ReadDir(filepath.Join(dir, "repodata"))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			name := e.Name()
			if name == "repomd.xml" {
				if seen[name] != 0 {
					t.Error("repomd.xml was reported")
				}
				continue
			}
			if seen[name] != 1 {
				t.Errorf("%s reported %d times, want once", name, seen[name])
				continue
			}
			got, err1 := os.ReadFile(filepath.Join(links, name))
			want, err2 := os.ReadFile(filepath.Join(dir, "repodata", name))
			if err1 != nil || err2 != nil || !bytes.Equal(got, want) {
				t.Errorf("%s as reported (%d bytes, %v) is not as published (%d bytes, %v)", name, len(got), err1, len(want), err2)
			}
		}
	}
	o := cacheOpts(dir)
	o.Update = false
	o.GroupFile = writeComps(t)
	run(o)
	for _, s := range specs[50:] {
		if _, err := testrpm.Write(dir, s); err != nil {
			t.Fatal(err)
		}
	}
	o = cacheOpts(dir)
	o.GroupFile = writeComps(t)
	run(o)
}

func writeComps(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "comps.xml")
	if err := os.WriteFile(p, []byte("<?xml version=\"1.0\"?>\n<comps>\n  <group>\n    <id>build</id>\n  </group>\n</comps>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
