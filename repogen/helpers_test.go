package repogen

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kojigo/internal/testenv"
	"kojigo/repogen/internal/testrpm"
)

// corpusDir writes n test packages into a new directory.
func corpusDir(t testing.TB, n int) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := testrpm.WriteCorpus(dir, n, 1); err != nil {
		t.Fatal(err)
	}
	return dir
}

// copyDir copies the regular files of src (recursively) into a new
// directory, keeping modification times.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, b, 0o644); err != nil {
			return err
		}
		st, _ := d.Info()
		return os.Chtimes(target, st.ModTime(), st.ModTime())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func generate(t testing.TB, o Options) Result {
	t.Helper()
	res, err := Generate(context.Background(), o)
	if err != nil {
		t.Fatalf("Generate(%s) = %v", o.BaseDir, err)
	}
	return res
}

// createrepoC runs createrepo_c --no-database on dir with extra args.
func createrepoC(t testing.TB, dir string, args ...string) {
	t.Helper()
	bin := testenv.NeedTool(t, "createrepo_c")
	cmd := exec.Command(bin, append(append([]string{"--no-database", "--quiet"}, args...), dir)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("createrepo_c %v: %v\n%s", args, err, out)
	}
}

type repomdEntry struct {
	Type    string `xml:"type,attr"`
	SumType struct {
		Type  string `xml:"type,attr"`
		Value string `xml:",chardata"`
	} `xml:"checksum"`
	OpenChecksum string `xml:"open-checksum"`
	Location     struct {
		Href string `xml:"href,attr"`
	} `xml:"location"`
	Timestamp int64 `xml:"timestamp"`
	Size      int64 `xml:"size"`
	OpenSize  int64 `xml:"open-size"`
}

// readRepomd parses root/repodata/repomd.xml.
func readRepomd(t testing.TB, root string) (string, map[string]repomdEntry) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Revision string        `xml:"revision"`
		Data     []repomdEntry `xml:"data"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parse repomd.xml: %v", err)
	}
	m := map[string]repomdEntry{}
	for _, d := range doc.Data {
		m[d.Type] = d
	}
	return doc.Revision, m
}

// metadata returns the uncompressed content of one metadata type, after
// checking the checksums and sizes repomd.xml records for it.
func metadata(t testing.TB, root, typ string) []byte {
	t.Helper()
	_, md := readRepomd(t, root)
	e, ok := md[typ]
	if !ok {
		t.Fatalf("repomd.xml of %s has no %s", root, typ)
	}
	raw, err := os.ReadFile(filepath.Join(root, e.Location.Href))
	if err != nil {
		t.Fatal(err)
	}
	newHash, _, err := newHash(e.SumType.Type)
	if err != nil {
		t.Fatal(err)
	}
	sum := func(b []byte) string {
		h := newHash()
		h.Write(b)
		return hex.EncodeToString(h.Sum(nil))
	}
	if sum(raw) != e.SumType.Value || int64(len(raw)) != e.Size {
		t.Fatalf("%s: checksum/size in repomd.xml do not match the file", e.Location.Href)
	}
	dec, err := newDecompressor(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	open, err := io.ReadAll(dec)
	if err != nil {
		t.Fatalf("decompress %s: %v", e.Location.Href, err)
	}
	if e.OpenChecksum != "" {
		if sum(open) != e.OpenChecksum || int64(len(open)) != e.OpenSize {
			t.Fatalf("%s: open-checksum/open-size in repomd.xml do not match the content", e.Location.Href)
		}
	}
	return open
}

// Parsed metadata, for package-by-package comparisons.

type xmlEntry struct {
	Name  string `xml:"name,attr"`
	Flags string `xml:"flags,attr"`
	Epoch string `xml:"epoch,attr"`
	Ver   string `xml:"ver,attr"`
	Rel   string `xml:"rel,attr"`
	Pre   string `xml:"pre,attr"`
}

type xmlFile struct {
	Type string `xml:"type,attr"`
	Path string `xml:",chardata"`
}

type xmlVersion struct {
	Epoch string `xml:"epoch,attr"`
	Ver   string `xml:"ver,attr"`
	Rel   string `xml:"rel,attr"`
}

type xmlPrimary struct {
	Packages []struct {
		Name     string     `xml:"name"`
		Arch     string     `xml:"arch"`
		Version  xmlVersion `xml:"version"`
		Checksum string     `xml:"checksum"`
		Location struct {
			Href string `xml:"href,attr"`
		} `xml:"location"`
		Format struct {
			Provides    []xmlEntry `xml:"provides>entry"`
			Requires    []xmlEntry `xml:"requires>entry"`
			Conflicts   []xmlEntry `xml:"conflicts>entry"`
			Obsoletes   []xmlEntry `xml:"obsoletes>entry"`
			Recommends  []xmlEntry `xml:"recommends>entry"`
			Suggests    []xmlEntry `xml:"suggests>entry"`
			Supplements []xmlEntry `xml:"supplements>entry"`
			Enhances    []xmlEntry `xml:"enhances>entry"`
			Files       []xmlFile  `xml:"file"`
		} `xml:"format"`
	} `xml:"package"`
}

type xmlFilelists struct {
	Packages []struct {
		PkgID string    `xml:"pkgid,attr"`
		Files []xmlFile `xml:"file"`
	} `xml:"package"`
}

type xmlOther struct {
	Packages []struct {
		PkgID      string `xml:"pkgid,attr"`
		Changelogs []struct {
			Author string `xml:"author,attr"`
			Date   string `xml:"date,attr"`
			Text   string `xml:",chardata"`
		} `xml:"changelog"`
	} `xml:"package"`
}

// pkgMeta is one package as dnf would see it, in comparable strings.
type pkgMeta struct {
	NEVRA, Checksum string
	Deps            map[string][]string
	PrimaryFiles    []string
	Files           []string
	Changelogs      []string
}

func entries(es []xmlEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("%s %s %s:%s-%s pre=%s", e.Name, e.Flags, e.Epoch, e.Ver, e.Rel, e.Pre))
	}
	return out
}

func files(fs []xmlFile) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Type+" "+f.Path)
	}
	return out
}

// parseRepo reads a repository's metadata into packages keyed by location.
func parseRepo(t testing.TB, root string) map[string]*pkgMeta {
	t.Helper()
	var pri xmlPrimary
	var fil xmlFilelists
	var oth xmlOther
	for typ, v := range map[string]any{"primary": &pri, "filelists": &fil, "other": &oth} {
		if err := xml.Unmarshal(metadata(t, root, typ), v); err != nil {
			t.Fatalf("parse %s of %s: %v", typ, root, err)
		}
	}
	if len(pri.Packages) != len(fil.Packages) || len(pri.Packages) != len(oth.Packages) {
		t.Fatalf("%s: %d primary, %d filelists, %d other packages", root, len(pri.Packages), len(fil.Packages), len(oth.Packages))
	}
	out := map[string]*pkgMeta{}
	for i, p := range pri.Packages {
		if fil.Packages[i].PkgID != p.Checksum || oth.Packages[i].PkgID != p.Checksum {
			t.Fatalf("%s: package %d has different pkgids in primary, filelists and other", root, i)
		}
		m := &pkgMeta{
			NEVRA:    fmt.Sprintf("%s-%s:%s-%s.%s", p.Name, p.Version.Epoch, p.Version.Ver, p.Version.Rel, p.Arch),
			Checksum: p.Checksum,
			Deps: map[string][]string{
				"provides": entries(p.Format.Provides), "requires": entries(p.Format.Requires),
				"conflicts": entries(p.Format.Conflicts), "obsoletes": entries(p.Format.Obsoletes),
				"recommends": entries(p.Format.Recommends), "suggests": entries(p.Format.Suggests),
				"supplements": entries(p.Format.Supplements), "enhances": entries(p.Format.Enhances),
			},
			PrimaryFiles: files(p.Format.Files),
			Files:        files(fil.Packages[i].Files),
		}
		for _, c := range oth.Packages[i].Changelogs {
			m.Changelogs = append(m.Changelogs, c.Author+"|"+c.Date+"|"+c.Text)
		}
		out[p.Location.Href] = m
	}
	return out
}

// diffRepos compares two parsed repositories package by package and
// reports every difference.
func diffRepos(t testing.TB, got, want map[string]*pkgMeta) {
	t.Helper()
	for href, w := range want {
		g, ok := got[href]
		if !ok {
			t.Errorf("package %s missing", href)
			continue
		}
		check := func(what string, a, b []string) {
			if strings.Join(a, "\n") != strings.Join(b, "\n") {
				t.Errorf("%s %s:\n got %q\nwant %q", href, what, a, b)
			}
		}
		if g.NEVRA != w.NEVRA || g.Checksum != w.Checksum {
			t.Errorf("%s: NEVRA/checksum %s %s, want %s %s", href, g.NEVRA, g.Checksum, w.NEVRA, w.Checksum)
		}
		for kind := range w.Deps {
			check(kind, g.Deps[kind], w.Deps[kind])
		}
		check("primary files", g.PrimaryFiles, w.PrimaryFiles)
		check("files", g.Files, w.Files)
		check("changelogs", g.Changelogs, w.Changelogs)
	}
	for href := range got {
		if _, ok := want[href]; !ok {
			t.Errorf("unexpected package %s", href)
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
