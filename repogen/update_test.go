package repogen

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"kojigo/repogen/internal/testrpm"
)

// sameMetadata fails unless two repositories have identical primary,
// filelists and other content.
func sameMetadata(t *testing.T, got, want string) {
	t.Helper()
	for _, typ := range []string{"primary", "filelists", "other"} {
		if a, b := metadata(t, got, typ), metadata(t, want, typ); !bytes.Equal(a, b) {
			t.Errorf("%s.xml of %s differs from %s (%d vs %d bytes)", typ, got, want, len(a), len(b))
		}
	}
}

// fullRun generates the metadata of dir from scratch elsewhere, as the
// reference an update must reproduce.
func fullRun(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	generate(t, Options{BaseDir: dir, OutputDir: out})
	return out
}

func TestUpdateNothingChanged(t *testing.T) {
	dir := corpusDir(t, 80)
	generate(t, Options{BaseDir: dir})
	res := generate(t, Options{BaseDir: dir, Update: true})
	if res.Reused != 80 || res.Read != 0 || res.Packages != 80 {
		t.Fatalf("update: %d reused, %d read, %d packages; want 80, 0, 80", res.Reused, res.Read, res.Packages)
	}
	if res.BytesRead != 0 {
		t.Errorf("update read %d package bytes, want 0", res.BytesRead)
	}
	sameMetadata(t, dir, fullRun(t, dir))
}

func TestUpdateAddRemoveModify(t *testing.T) {
	dir := t.TempDir()
	specs := testrpm.Corpus(60, 3)
	for _, s := range specs[:50] {
		if _, err := testrpm.Write(dir, s); err != nil {
			t.Fatal(err)
		}
	}
	generate(t, Options{BaseDir: dir})

	for _, s := range specs[50:] { // 10 new packages
		if _, err := testrpm.Write(dir, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*testrpm.Spec{specs[3], specs[17], specs[40]} { // 3 removed
		if err := os.Remove(filepath.Join(dir, s.FileName())); err != nil {
			t.Fatal(err)
		}
	}
	// 2 rebuilt under the same name: new content and mtime.
	for _, s := range []*testrpm.Spec{specs[5], specs[30]} {
		s.Summary += " (rebuilt)"
		s.MTime += 100
		if _, err := testrpm.Write(dir, s); err != nil {
			t.Fatal(err)
		}
	}
	// 1 touched: same content, new mtime, so read again.
	touched := filepath.Join(dir, specs[9].FileName())
	later := time.Unix(specs[9].MTime+500, 0)
	if err := os.Chtimes(touched, later, later); err != nil {
		t.Fatal(err)
	}

	res := generate(t, Options{BaseDir: dir, Update: true})
	if res.Packages != 57 || res.Read != 13 || res.Reused != 44 {
		t.Errorf("update: %d packages, %d read, %d reused; want 57, 13, 44", res.Packages, res.Read, res.Reused)
	}
	sameMetadata(t, dir, fullRun(t, dir))
}

func TestUpdateSkipStatTrustsPaths(t *testing.T) {
	dir := t.TempDir()
	specs := testrpm.Corpus(20, 4)
	for _, s := range specs {
		if _, err := testrpm.Write(dir, s); err != nil {
			t.Fatal(err)
		}
	}
	generate(t, Options{BaseDir: dir})
	before := metadata(t, dir, "primary")
	specs[2].Summary = "changed behind the engine's back"
	specs[2].MTime += 50
	if _, err := testrpm.Write(dir, specs[2]); err != nil {
		t.Fatal(err)
	}
	res := generate(t, Options{BaseDir: dir, Update: true, SkipStat: true})
	if res.Reused != 20 || res.Read != 0 {
		t.Fatalf("skip-stat update: %d reused, %d read; want 20, 0", res.Reused, res.Read)
	}
	if after := metadata(t, dir, "primary"); !bytes.Equal(before, after) {
		t.Error("skip-stat update changed primary.xml although every path matched")
	}
	res = generate(t, Options{BaseDir: dir, Update: true})
	if res.Read != 1 {
		t.Errorf("stat update read %d packages, want 1", res.Read)
	}
	sameMetadata(t, dir, fullRun(t, dir))
}

func TestUpdateFromCreaterepoC(t *testing.T) {
	dir := corpusDir(t, 40)
	createrepoC(t, dir)
	res := generate(t, Options{BaseDir: dir, Update: true})
	if res.Reused != 40 {
		t.Errorf("update over createrepo_c metadata reused %d packages, want 40", res.Reused)
	}
	sameMetadata(t, dir, fullRun(t, dir))
}

func TestUpdateSeparateOutputAndOldDir(t *testing.T) {
	dir := corpusDir(t, 30)
	old := t.TempDir()
	generate(t, Options{BaseDir: dir, OutputDir: old})
	out := t.TempDir()
	res := generate(t, Options{BaseDir: dir, OutputDir: out, Update: true, UpdateFrom: filepath.Join(old, "repodata")})
	if res.Reused != 30 {
		t.Errorf("reused %d packages from UpdateFrom, want 30", res.Reused)
	}
	sameMetadata(t, out, old)
}

// rewriteOld replaces one metadata type of the repository in root with the
// output of edit, keeping repomd.xml pointing at it.
func rewriteOld(t *testing.T, root, typ string, edit func([]byte) []byte) {
	t.Helper()
	_, md := readRepomd(t, root)
	content := edit(metadata(t, root, typ))
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(content)
	zw.Close()
	if err := os.WriteFile(filepath.Join(root, md[typ].Location.Href), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// splitRecords splits metadata into header, package records and footer.
func splitRecords(b []byte) (head []byte, recs [][]byte, foot []byte) {
	first := bytes.Index(b, []byte("<package "))
	last := bytes.LastIndex(b, []byte("</package>\n")) + len("</package>\n")
	head, foot = b[:first], b[last:]
	body := b[first:last]
	for len(body) > 0 {
		end := bytes.Index(body, []byte("</package>\n")) + len("</package>\n")
		recs = append(recs, body[:end])
		body = body[end:]
	}
	return head, recs, foot
}

// TestUpdateSurvivesBadPreviousMetadata: whatever state the previous
// metadata is in, an update writes the same metadata as a full run.
func TestUpdateSurvivesBadPreviousMetadata(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(t *testing.T, root string)
		reused func(n int) bool
	}{
		{"no repomd.xml", func(t *testing.T, root string) {
			os.Remove(filepath.Join(root, "repodata", "repomd.xml"))
		}, func(n int) bool { return n == 0 }},
		{"garbage repomd.xml", func(t *testing.T, root string) {
			os.WriteFile(filepath.Join(root, "repodata", "repomd.xml"), []byte("<repomd><data type=\"primary\">"), 0o644)
		}, func(n int) bool { return n == 0 }},
		{"repomd.xml pointing outside", func(t *testing.T, root string) {
			os.WriteFile(filepath.Join(root, "repodata", "repomd.xml"), []byte(`<repomd><data type="primary"><location href="../../../etc/passwd"/></data><data type="filelists"><location href="x"/></data><data type="other"><location href="y"/></data></repomd>`), 0o644)
		}, func(n int) bool { return n == 0 }},
		{"truncated primary", func(t *testing.T, root string) {
			rewriteOld(t, root, "primary", func(b []byte) []byte { return b[:len(b)/2] })
		}, func(n int) bool { return n > 0 && n < 40 }},
		{"records in reverse order", func(t *testing.T, root string) {
			for _, typ := range []string{"primary", "filelists", "other"} {
				rewriteOld(t, root, typ, func(b []byte) []byte {
					head, recs, foot := splitRecords(b)
					slices.Reverse(recs)
					return slices.Concat(append(append([][]byte{head}, recs...), foot)...)
				})
			}
		}, func(n int) bool { return n < 40 }},
		{"filelists out of step with primary", func(t *testing.T, root string) {
			rewriteOld(t, root, "filelists", func(b []byte) []byte {
				head, recs, foot := splitRecords(b)
				recs[10], recs[11] = recs[11], recs[10]
				return slices.Concat(append(append([][]byte{head}, recs...), foot)...)
			})
		}, func(n int) bool { return n == 10 }},
		{"garbage gzip", func(t *testing.T, root string) {
			_, md := readRepomd(t, root)
			os.WriteFile(filepath.Join(root, md["other"].Location.Href), []byte("\x1f\x8bnot really gzip"), 0o644)
		}, func(n int) bool { return n == 0 }},
	}
	src := corpusDir(t, 40)
	want := fullRun(t, src)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDir(t, src)
			generate(t, Options{BaseDir: dir})
			tt.break_(t, dir)
			res := generate(t, Options{BaseDir: dir, Update: true})
			if res.Packages != 40 || !tt.reused(res.Reused) {
				t.Errorf("update: %d packages, %d reused", res.Packages, res.Reused)
			}
			sameMetadata(t, dir, want)
		})
	}
}

func TestUpdateChecksumTypeChangeRereads(t *testing.T) {
	dir := corpusDir(t, 20)
	generate(t, Options{BaseDir: dir, Checksum: "sha1"})
	res := generate(t, Options{BaseDir: dir, Update: true})
	if res.Reused != 0 || res.Read != 20 {
		t.Errorf("update after a checksum change: %d reused, %d read; want 0, 20", res.Reused, res.Read)
	}
	sameMetadata(t, dir, fullRun(t, dir))
}

// TestUpdateNothingChangedRepublishes: when the previous metadata lists
// exactly the packages found, unchanged, its files are published again as
// they are, under a new revision.
func TestUpdateNothingChangedRepublishes(t *testing.T) {
	dir := corpusDir(t, 30)
	generate(t, Options{BaseDir: dir, Revision: "1"})
	_, before := readRepomd(t, dir)
	var last [2]int
	res := generate(t, Options{BaseDir: dir, Update: true, Revision: "2", Progress: func(done, total int) { last = [2]int{done, total} }})
	rev, after := readRepomd(t, dir)
	if rev != "2" || res.Reused != 30 || res.Read != 0 || last != [2]int{30, 30} {
		t.Errorf("revision %q, reused %d, read %d, last progress %v", rev, res.Reused, res.Read, last)
	}
	for _, typ := range []string{"primary", "filelists", "other"} {
		if after[typ].SumType.Value != before[typ].SumType.Value || after[typ].OpenChecksum != before[typ].OpenChecksum {
			t.Errorf("%s was rewritten although nothing changed", typ)
		}
	}
	// Another compression cannot reuse the files, but reuses the records.
	res = generate(t, Options{BaseDir: dir, Update: true, Compression: CompressZstd})
	if res.Reused != 30 {
		t.Errorf("zstd update reused %d records, want 30", res.Reused)
	}
	_, md := readRepomd(t, dir)
	if !strings.HasSuffix(md["primary"].Location.Href, ".xml.zst") || md["primary"].OpenChecksum != before["primary"].OpenChecksum {
		t.Errorf("zstd update: %+v", md["primary"])
	}
	// A damaged previous file is never republished.
	generate(t, Options{BaseDir: dir})
	_, md = readRepomd(t, dir)
	if err := os.WriteFile(filepath.Join(dir, md["filelists"].Location.Href), []byte("\x1f\x8bdamaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	generate(t, Options{BaseDir: dir, Update: true})
	sameMetadata(t, dir, fullRun(t, dir))
}

// TestPrimaryMatchesReadsDeclaredCount: the previous primary.xml's
// packages="N" decides at once when the list has another length; the
// records are compared only when the counts agree.
func TestPrimaryMatchesReadsDeclaredCount(t *testing.T) {
	rec := func(href string) string {
		return `<package type="rpm"><checksum type="sha256" pkgid="YES">00</checksum><location href="` + href + `"/></package>` + "\n"
	}
	write := func(declared string, hrefs ...string) string {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="` + declared + `">` + "\n"))
		for _, h := range hrefs {
			zw.Write([]byte(rec(h)))
		}
		zw.Write([]byte("</metadata>\n"))
		zw.Close()
		p := filepath.Join(t.TempDir(), "primary.xml.gz")
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	v := &validated{hashName: "sha256"}
	v.SkipStat = true
	list := []string{"a-1-1.noarch.rpm", "b-1-1.noarch.rpm"}
	for _, c := range []struct {
		declared string
		hrefs    []string
		want     bool
	}{
		{"2", list, true},
		{"3", list, false},                   // the count alone decides
		{"1", list, false},                   // the count alone decides
		{"2", []string{list[0], "c"}, false}, // same count, another package
		{"x", list, true},                    // no usable count: the records decide
	} {
		if got := v.primaryMatches(write(c.declared, c.hrefs...), list); got != c.want {
			t.Errorf("packages=%q, records %v: primaryMatches = %v, want %v", c.declared, c.hrefs, got, c.want)
		}
	}
}
