package repogen

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kojigo/repogen/internal/testrpm"
)

// TestMatchesCreaterepoC generates metadata for the same packages with
// createrepo_c and with the engine, then compares them package by package
// (NEVRA, every dependency kind, files, changelogs) and byte by byte.
func TestMatchesCreaterepoC(t *testing.T) {
	src := corpusDir(t, 150)
	ref := copyDir(t, src)
	createrepoC(t, ref)
	res := generate(t, Options{BaseDir: src, Workers: 3})
	if res.Packages != 150 || res.Read != 150 || len(res.Skipped) != 0 {
		t.Fatalf("result: %d packages, %d read, %d skipped; want 150, 150, 0", res.Packages, res.Read, len(res.Skipped))
	}
	got, want := parseRepo(t, src), parseRepo(t, ref)
	if len(got) != 150 || len(want) != 150 {
		t.Fatalf("parsed %d and %d packages, want 150", len(got), len(want))
	}
	diffRepos(t, got, want)
	for _, typ := range []string{"primary", "filelists", "other"} {
		if a, b := metadata(t, src, typ), metadata(t, ref, typ); !bytes.Equal(a, b) {
			t.Errorf("%s.xml differs from createrepo_c's (%d vs %d bytes)", typ, len(a), len(b))
		}
	}
}

// TestMatchesCreaterepoCWithOptions covers a package list with
// subdirectories, a separate output directory, other checksum types,
// changelog limits and a group file.
func TestMatchesCreaterepoCWithOptions(t *testing.T) {
	src := t.TempDir()
	specs := testrpm.Corpus(40, 7)
	var list []string
	for i, s := range specs {
		sub := fmt.Sprintf("%c", 'a'+i%3)
		if err := os.MkdirAll(filepath.Join(src, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := testrpm.Write(filepath.Join(src, sub), s); err != nil {
			t.Fatal(err)
		}
		if i%4 != 0 { // leave some packages out of the list
			list = append(list, sub+"/"+s.FileName())
		}
	}
	pkglist := filepath.Join(t.TempDir(), "pkglist")
	if err := os.WriteFile(pkglist, []byte(strings.Join(list, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	comps := filepath.Join(t.TempDir(), "comps.xml")
	if err := os.WriteFile(comps, []byte("<?xml version=\"1.0\"?>\n<comps><group><id>build</id></group></comps>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		opts  Options
		cargs []string
	}{
		{"pkglist and outputdir", Options{Packages: list, GroupFile: comps}, []string{"--pkglist", pkglist, "--groupfile", comps}},
		{"sha512", Options{Checksum: "sha512"}, []string{"--checksum", "sha512"}},
		{"sha1 and simple names", Options{Checksum: "sha1", SimpleNames: true}, []string{"--checksum", "sha1", "--simple-md-filenames"}},
		{"changelog limit 2", Options{ChangelogLimit: 2}, []string{"--changelog-limit", "2"}},
		{"all changelogs", Options{ChangelogLimit: ChangelogAll}, []string{"--changelog-limit", "-1"}},
		{"no changelogs", Options{ChangelogLimit: ChangelogNone}, []string{"--changelog-limit", "0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refOut, ourOut := t.TempDir(), t.TempDir()
			createrepoC(t, src, append(tt.cargs, "--outputdir", refOut)...)
			o := tt.opts
			o.BaseDir, o.OutputDir = src, ourOut
			res := generate(t, o)
			diffRepos(t, parseRepo(t, ourOut), parseRepo(t, refOut))
			for _, typ := range []string{"primary", "filelists", "other"} {
				if a, b := metadata(t, ourOut, typ), metadata(t, refOut, typ); !bytes.Equal(a, b) {
					t.Errorf("%s.xml differs from createrepo_c's", typ)
				}
			}
			_, ours := readRepomd(t, ourOut)
			_, theirs := readRepomd(t, refOut)
			if len(ours) != len(theirs) {
				t.Errorf("repomd.xml has %d entries, createrepo_c's %d", len(ours), len(theirs))
			}
			for typ, want := range theirs {
				got := ours[typ]
				if got.OpenChecksum != want.OpenChecksum || got.OpenSize != want.OpenSize {
					t.Errorf("%s: open checksum %s (%d bytes), want %s (%d bytes)", typ, got.OpenChecksum, got.OpenSize, want.OpenChecksum, want.OpenSize)
				}
				if typ == "group" && (got.SumType.Value != want.SumType.Value || got.Location.Href != want.Location.Href) {
					t.Errorf("group: %s %s, want %s %s", got.SumType.Value, got.Location.Href, want.SumType.Value, want.Location.Href)
				}
				if o.SimpleNames && got.Location.Href != want.Location.Href {
					t.Errorf("%s href %s, want %s", typ, got.Location.Href, want.Location.Href)
				}
			}
			if len(res.Files) != len(ours) {
				t.Errorf("Result.Files has %d entries, repomd.xml %d", len(res.Files), len(ours))
			}
		})
	}
}

// TestCompressionTypes checks that every compression writes the same XML
// and names its files and group entry accordingly.
func TestCompressionTypes(t *testing.T) {
	src := corpusDir(t, 30)
	comps := filepath.Join(t.TempDir(), "comps.xml")
	if err := os.WriteFile(comps, []byte("<comps/>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	generate(t, Options{BaseDir: src, OutputDir: base})
	want := metadata(t, base, "primary")
	for _, tt := range []struct {
		c      Compression
		suffix string
		group  string
	}{
		{CompressZstd, ".xml.zst", "group_zst"},
		{CompressXZ, ".xml.xz", "group_xz"},
		{CompressNone, ".xml", ""},
		{CompressGzip, ".xml.gz", "group_gz"},
	} {
		t.Run(string(tt.c), func(t *testing.T) {
			out := t.TempDir()
			generate(t, Options{BaseDir: src, OutputDir: out, Compression: tt.c, GroupCompression: tt.c, GroupFile: comps})
			if got := metadata(t, out, "primary"); !bytes.Equal(got, want) {
				t.Errorf("primary.xml with %s differs from gzip's", tt.c)
			}
			_, md := readRepomd(t, out)
			if href := md["other"].Location.Href; !strings.HasSuffix(href, "-other"+tt.suffix) {
				t.Errorf("other href %s, want suffix -other%s", href, tt.suffix)
			}
			if _, ok := md["group"]; !ok {
				t.Error("no group entry")
			}
			if tt.group != "" {
				if _, ok := md[tt.group]; !ok {
					t.Errorf("no %s entry", tt.group)
				}
			} else if len(md) != 4 {
				t.Errorf("%d repomd entries, want 4", len(md))
			}
			if tt.c == CompressNone && md["primary"].OpenChecksum != "" {
				t.Error("uncompressed primary has an open-checksum")
			}
		})
	}
}

// TestOrderMatchesCreaterepoC puts packages with the same file name in
// directories whose names sort differently as paths and as directories.
func TestOrderMatchesCreaterepoC(t *testing.T) {
	src := t.TempDir()
	specs := testrpm.Corpus(5, 13)
	for i, sub := range []string{".", "-x", "a", "a-b", "a/c"} {
		d := filepath.Join(src, sub)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := testrpm.Build(specs[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "zz.rpm"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ref := copyDir(t, src)
	createrepoC(t, ref)
	generate(t, Options{BaseDir: src})
	if a, b := metadata(t, src, "primary"), metadata(t, ref, "primary"); !bytes.Equal(a, b) {
		t.Errorf("primary.xml differs from createrepo_c's:\n%s\n---\n%s", a, b)
	}
}

// TestGzipSizeLikeCreaterepoC: createrepo_c compresses with zlib's default
// level; the gzip files must not come out bigger than its (klauspost's
// default level wrote 2-6 % more).
func TestGzipSizeLikeCreaterepoC(t *testing.T) {
	src := corpusDir(t, 150)
	ref := t.TempDir()
	createrepoC(t, src, "-o", ref)
	out := t.TempDir()
	generate(t, Options{BaseDir: src, OutputDir: out})
	_, got := readRepomd(t, out)
	_, want := readRepomd(t, ref)
	var gotTotal, wantTotal int64
	for _, typ := range []string{"primary", "filelists", "other"} {
		t.Logf("%s.xml.gz: %d bytes, createrepo_c %d", typ, got[typ].Size, want[typ].Size)
		gotTotal += got[typ].Size
		wantTotal += want[typ].Size
	}
	if float64(gotTotal) > 1.005*float64(wantTotal) {
		t.Errorf("gzip files total %d bytes, createrepo_c's %d (%+.1f %%)", gotTotal, wantTotal,
			100*(float64(gotTotal)/float64(wantTotal)-1))
	}
}
