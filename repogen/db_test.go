package repogen

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"kojigo/internal/testenv"
	"kojigo/repogen/internal/testrpm"
)

// createrepoCDB runs createrepo_c with its databases (its 0.17 default).
func createrepoCDB(t testing.TB, dir string, args ...string) {
	t.Helper()
	bin := testenv.NeedTool(t, "createrepo_c")
	cmd := exec.Command(bin, append(append([]string{"--database", "--quiet"}, args...), dir)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("createrepo_c %v: %v\n%s", args, err, out)
	}
}

// openMetadataDB decompresses one database of root's repodata (checking
// repomd.xml's checksums and sizes through metadata) and opens it.
func openMetadataDB(t testing.TB, root, typ string) *sql.DB {
	t.Helper()
	raw := metadata(t, root, typ)
	path := filepath.Join(t.TempDir(), typ+".sqlite")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// dbRows returns a query's rows as strings that keep the SQL types apart
// (NULL, integer, text).
func dbRows(t testing.TB, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i, v := range vals {
			if i > 0 {
				b.WriteString(" | ")
			}
			switch v := v.(type) {
			case nil:
				b.WriteString("NULL")
			case []byte:
				fmt.Fprintf(&b, "%q", v)
			case string:
				fmt.Fprintf(&b, "%q", v)
			default:
				fmt.Fprintf(&b, "%T(%v)", v, v)
			}
		}
		out = append(out, b.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// dbTables lists the tables of a database.
func dbTables(t testing.TB, db *sql.DB) []string {
	var names []string
	for _, r := range dbRows(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`) {
		names = append(names, strings.Trim(r, `"`))
	}
	return names
}

// compareDBs compares two repositories' databases: schema (every table,
// index and trigger with its SQL), then every table row by row, in pkgKey
// order. filelist rows are compared as a set per package, since
// createrepo_c writes a package's directories in hash table order.
// db_info must name each repository's own XML checksum.
func compareDBs(t *testing.T, got, want string) {
	t.Helper()
	for _, typ := range []string{"primary", "filelists", "other"} {
		g, w := openMetadataDB(t, got, typ+"_db"), openMetadataDB(t, want, typ+"_db")
		schema := `SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name`
		if a, b := dbRows(t, g, schema), dbRows(t, w, schema); !slices.Equal(a, b) {
			t.Errorf("%s_db schema differs:\n got %q\nwant %q", typ, a, b)
		}
		tables := dbTables(t, w)
		if a := dbTables(t, g); !slices.Equal(a, tables) {
			t.Errorf("%s_db tables %v, want %v", typ, a, tables)
		}
		for _, table := range tables {
			q := `SELECT * FROM ` + table + ` ORDER BY rowid`
			if table == "db_info" {
				q = `SELECT dbversion FROM db_info`
			}
			a, b := dbRows(t, g, q), dbRows(t, w, q)
			if table == "filelist" {
				slices.Sort(a)
				slices.Sort(b)
			}
			if len(a) != len(b) {
				t.Errorf("%s_db.%s: %d rows, want %d", typ, table, len(a), len(b))
			}
			for i := range min(len(a), len(b)) {
				if a[i] != b[i] {
					t.Errorf("%s_db.%s row %d:\n got %s\nwant %s", typ, table, i, a[i], b[i])
					break
				}
			}
		}
		for _, c := range []struct {
			db   *sql.DB
			root string
		}{{g, got}, {w, want}} {
			_, md := readRepomd(t, c.root)
			if sum := dbRows(t, c.db, `SELECT checksum FROM db_info`); len(sum) != 1 || sum[0] != fmt.Sprintf("%q", md[typ].SumType.Value) {
				t.Errorf("%s: %s_db db_info checksum %v, want the %s.xml checksum %s", c.root, typ, sum, typ, md[typ].SumType.Value)
			}
		}
	}
}

// repomdShape is repomd.xml without the values that differ between runs
// and tools: types in order, with checksum type, file-name suffix, fields
// present and database_version.
func repomdShape(t testing.TB, root string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, block := range strings.Split(string(raw), "<data ")[1:] {
		var lines []string
		for _, l := range strings.Split(block, "\n") {
			l = strings.TrimSpace(l)
			switch {
			case strings.HasPrefix(l, "<location href="):
				i := strings.LastIndex(l, "-")
				lines = append(lines, "location ..."+l[i:])
			case strings.HasPrefix(l, "<"):
				if i := strings.IndexAny(l, " >"); i > 0 {
					lines = append(lines, l[:i])
				}
				if strings.HasPrefix(l, "<database_version>") || strings.HasPrefix(l, "<checksum ") || strings.HasPrefix(l, "<open-checksum ") {
					lines = append(lines, l[:strings.Index(l, ">")+1])
				}
			case strings.HasPrefix(l, "type="):
				lines = append(lines, l)
			}
		}
		out = append(out, strings.Join(lines, " "))
	}
	return out
}

// dbCorpus is the corpus the database tests use: REPOGEN_TEST_CORPUS
// (copied; e.g. an rpmcorpus directory) or 150 test packages.
func dbCorpus(t *testing.T) string {
	if dir := os.Getenv("REPOGEN_TEST_CORPUS"); dir != "" {
		src := t.TempDir()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".rpm") {
				if err := os.Link(filepath.Join(dir, e.Name()), filepath.Join(src, e.Name())); err != nil {
					t.Fatal(err)
				}
			}
		}
		return src
	}
	return corpusDir(t, 150)
}

// TestDatabaseMatchesCreaterepoC runs createrepo_c --database and the engine
// with Database on the same packages and compares the databases table by
// table, and repomd.xml's entries.
func TestDatabaseMatchesCreaterepoC(t *testing.T) {
	src := dbCorpus(t)
	comps := filepath.Join(t.TempDir(), "comps.xml")
	if err := os.WriteFile(comps, []byte("<comps/>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := t.TempDir()
	createrepoCDB(t, src, "-o", ref, "-g", comps)
	out := t.TempDir()
	res := generate(t, Options{BaseDir: src, OutputDir: out, Database: true, GroupFile: comps, Workers: 3})
	compareDBs(t, out, ref)
	if a, b := repomdShape(t, out), repomdShape(t, ref); !slices.Equal(a, b) {
		t.Errorf("repomd.xml entries:\n got %q\nwant %q", a, b)
	}
	if len(res.Files) != 8 || res.Files[3].Type != "primary_db" || res.Files[3].DatabaseVersion != 10 {
		t.Errorf("Result.Files = %+v", res.Files)
	}
	// The XML is still byte for byte createrepo_c's.
	for _, typ := range []string{"primary", "filelists", "other"} {
		if a, b := metadata(t, out, typ), metadata(t, ref, typ); !bytes.Equal(a, b) {
			t.Errorf("%s.xml differs from createrepo_c's", typ)
		}
	}
}

// TestCompressTypeLikeCreaterepoC checks which files each compression
// option applies to, against createrepo_c: --compress-type (the databases
// and the group file) and --general-compress-type (everything).
func TestCompressTypeLikeCreaterepoC(t *testing.T) {
	src := corpusDir(t, 8)
	comps := filepath.Join(t.TempDir(), "comps.xml")
	if err := os.WriteFile(comps, []byte("<comps/>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		args   []string
		o      Options
		noData bool
	}{
		{"defaults", nil, Options{}, false},
		{"compress-type xz", []string{"--compress-type", "xz"}, Options{DatabaseCompression: CompressXZ, GroupCompression: CompressXZ}, false},
		{"compress-type xz, no database", []string{"--compress-type", "xz", "--no-database"}, Options{DatabaseCompression: CompressXZ, GroupCompression: CompressXZ}, true},
		{"general-compress-type bz2", []string{"--general-compress-type", "bz2"}, Options{Compression: CompressBzip2, DatabaseCompression: CompressBzip2, GroupCompression: CompressBzip2}, false},
		{"compress-type gz", []string{"--compress-type", "gz"}, Options{DatabaseCompression: CompressGzip, GroupCompression: CompressGzip}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ref := t.TempDir()
			args := append([]string{"-o", ref, "-g", comps}, tt.args...)
			if tt.noData {
				createrepoC(t, src, args...)
			} else {
				createrepoCDB(t, src, args...)
			}
			out := t.TempDir()
			o := tt.o
			o.BaseDir, o.OutputDir, o.GroupFile, o.Database = src, out, comps, !tt.noData
			generate(t, o)
			if a, b := repomdShape(t, out), repomdShape(t, ref); !slices.Equal(a, b) {
				t.Errorf("repomd.xml entries:\n got %q\nwant %q", a, b)
			}
			if !tt.noData {
				compareDBs(t, out, ref)
			}
		})
	}
}

// TestDatabaseUpdate checks that the databases of --update runs (nothing
// changed, which republishes the previous files; and packages added,
// removed and changed, whose rows come from the reused XML) hold what a
// full run's hold. The corpus's odd packages are left out: what the XML
// cannot tell (a dependency version without flags, an empty version after
// an epoch) comes out of reused XML as NULL, in createrepo_c --update too.
func TestDatabaseUpdate(t *testing.T) {
	dir := t.TempDir()
	var specs []*testrpm.Spec
	for _, s := range testrpm.Corpus(60, 3) {
		if !strings.Contains(s.Name, "odd") && len(specs) < 40 {
			specs = append(specs, s)
		}
	}
	if len(specs) != 40 {
		t.Fatalf("%d specs", len(specs))
	}
	for _, s := range specs[:30] {
		if _, err := testrpm.Write(dir, s); err != nil {
			t.Fatal(err)
		}
	}
	generate(t, Options{BaseDir: dir, Database: true})

	res := generate(t, Options{BaseDir: dir, Database: true, Update: true})
	if res.Reused != 30 {
		t.Errorf("nothing changed: %d reused, want 30", res.Reused)
	}
	compareDBs(t, dir, fullDBRun(t, dir))

	for _, s := range specs[30:] {
		if _, err := testrpm.Write(dir, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(dir, specs[3].FileName())); err != nil {
		t.Fatal(err)
	}
	res = generate(t, Options{BaseDir: dir, Database: true, Update: true})
	if res.Reused != 29 || res.Read != 10 {
		t.Errorf("after changes: %d reused, %d read; want 29, 10", res.Reused, res.Read)
	}
	compareDBs(t, dir, fullDBRun(t, dir))

	// An update without databases drops them; the next one with them
	// builds them from the reused XML.
	generate(t, Options{BaseDir: dir, Update: true})
	if _, md := readRepomd(t, dir); len(md) != 3 {
		t.Errorf("update without Database: %d repomd entries, want 3", len(md))
	}
	res = generate(t, Options{BaseDir: dir, Database: true, Update: true})
	if res.Reused != 39 {
		t.Errorf("databases from reused XML: %d reused, want 39", res.Reused)
	}
	compareDBs(t, dir, fullDBRun(t, dir))
}

// fullDBRun writes a fresh repository with databases for dir's packages
// into a new output directory.
func fullDBRun(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	generate(t, Options{BaseDir: dir, OutputDir: out, Database: true})
	return out
}

// TestDatabaseWithSkippedPackages: the databases leave skipped packages out
// and name the corrected XML checksum.
func TestDatabaseWithSkippedPackages(t *testing.T) {
	good := corpusDir(t, 10)
	dir := copyDir(t, good)
	if err := os.WriteFile(filepath.Join(dir, "junk-1-1.noarch.rpm"), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := generate(t, Options{BaseDir: dir, Database: true, SkipBad: true})
	if len(res.Skipped) != 1 {
		t.Fatalf("%d skipped, want 1", len(res.Skipped))
	}
	compareDBs(t, dir, fullDBRun(t, good))
}

// TestDatabaseFailedRunLeavesNothing: a cancelled run with databases
// publishes nothing and leaves no work files.
func TestDatabaseFailedRunLeavesNothing(t *testing.T) {
	dir := corpusDir(t, 30)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Generate(ctx, Options{BaseDir: dir, Database: true, Workers: 2, Progress: func(done, total int) {
		if done == 10 {
			cancel()
		}
	}})
	if err == nil {
		t.Fatal("cancelled run succeeded")
	}
	assertNoLeftovers(t, dir)
	if _, err := os.Stat(filepath.Join(dir, "repodata")); err == nil {
		t.Error("a cancelled run published repodata")
	}
}

// TestDatabaseUncompressed: databases without compression are published as
// .sqlite files, without open-checksum.
func TestDatabaseUncompressed(t *testing.T) {
	src := corpusDir(t, 5)
	out := t.TempDir()
	generate(t, Options{BaseDir: src, OutputDir: out, Database: true, DatabaseCompression: CompressNone})
	_, md := readRepomd(t, out)
	for _, typ := range []string{"primary_db", "filelists_db", "other_db"} {
		if e := md[typ]; !strings.HasSuffix(e.Location.Href, ".sqlite") || e.OpenChecksum != "" {
			t.Errorf("%s: href %s, open-checksum %q", typ, e.Location.Href, e.OpenChecksum)
		}
	}
	ref := fullDBRun(t, src)
	compareDBs(t, out, ref)
}
