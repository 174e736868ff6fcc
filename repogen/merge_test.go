package repogen

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"kojigo/internal/testenv"
	"kojigo/repogen/internal/testrpm"
)

// pkg makes a small package spec.
func pkg(name, version, arch string) *testrpm.Spec {
	return &testrpm.Spec{
		Name: name, Version: version, Release: "1", Arch: arch,
		Summary: name + " summary", Description: name + " description", License: "MIT",
		BuildTime: 1700000000, MTime: 1700000000,
		Files: []testrpm.File{{Path: "/usr/bin/" + name, Mode: 0o100755, Body: name + " " + version}},
	}
}

// repoOf writes the packages into a new directory and generates its
// metadata there.
func repoOf(t testing.TB, specs ...*testrpm.Spec) string {
	t.Helper()
	dir := t.TempDir()
	for _, s := range specs {
		if _, err := testrpm.Write(dir, s); err != nil {
			t.Fatal(err)
		}
	}
	generate(t, Options{BaseDir: dir, Packages: listOf(specs)})
	return dir
}

func listOf(specs []*testrpm.Spec) []string {
	l := []string{}
	for _, s := range specs {
		l = append(l, s.FileName())
	}
	return l
}

func merge(t testing.TB, o MergeOptions) MergeResult {
	t.Helper()
	if o.OutputDir == "" {
		o.OutputDir = t.TempDir()
	}
	res, err := Merge(context.Background(), o)
	if err != nil {
		t.Fatalf("Merge = %v", err)
	}
	return res
}

// mergedPkg is a package of merged primary.xml.
type mergedPkg struct {
	Name     string     `xml:"name"`
	Arch     string     `xml:"arch"`
	Version  xmlVersion `xml:"version"`
	Location struct {
		Base string `xml:"http://www.w3.org/XML/1998/namespace base,attr"`
		Href string `xml:"href,attr"`
	} `xml:"location"`
}

func (p mergedPkg) String() string {
	return fmt.Sprintf("%s-%s.%s@%s", p.Name, p.Version.Ver, p.Arch, p.Location.Base)
}

// mergedPrimary reads the merged primary, checking repomd.xml's sums and
// that its package count matches.
func mergedPrimary(t testing.TB, root string) []mergedPkg {
	t.Helper()
	raw := metadata(t, root, "primary")
	var doc struct {
		Count    int         `xml:"packages,attr"`
		Packages []mergedPkg `xml:"package"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parse merged primary: %v", err)
	}
	if doc.Count != len(doc.Packages) {
		t.Errorf("primary says packages=%d, has %d", doc.Count, len(doc.Packages))
	}
	for _, typ := range []string{"filelists", "other"} {
		if n := bytes.Count(metadata(t, root, typ), []byte("<package ")); n != len(doc.Packages) {
			t.Errorf("%s has %d packages, primary %d", typ, n, len(doc.Packages))
		}
	}
	return doc.Packages
}

func names(pkgs []mergedPkg) []string {
	var l []string
	for _, p := range pkgs {
		l = append(l, p.String())
	}
	slices.Sort(l)
	return l
}

func writeBlocklist(t testing.TB, names ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "blocklist")
	if err := os.WriteFile(p, []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMergeModes is the Koji behaviour per merge mode, read from the
// merged primary: the tag's own hello hides the external one in koji mode,
// blocked SRPM names are left out (not in bare mode), simple and bare keep
// both hellos.
func TestMergeModes(t *testing.T) {
	local := repoOf(t, pkg("hello", "1.0", "x86_64"))
	ext := repoOf(t, pkg("hello", "2.0", "x86_64"), pkg("extra-tool", "1.0", "noarch"), pkg("blocked-thing", "1.0", "x86_64"))
	extURL := "file://" + ext
	block := writeBlocklist(t, "blocked-thing")
	tests := []struct {
		mode MergeMode
		want []string
	}{
		{MergeKoji, []string{"extra-tool-1.0.noarch@" + extURL, "hello-1.0.x86_64@"}},
		{MergeSimple, []string{"extra-tool-1.0.noarch@" + extURL, "hello-1.0.x86_64@", "hello-2.0.x86_64@" + extURL}},
		{MergeBare, []string{"blocked-thing-1.0.x86_64@" + extURL, "extra-tool-1.0.noarch@" + extURL, "hello-1.0.x86_64@", "hello-2.0.x86_64@" + extURL}},
	}
	for _, tc := range tests {
		t.Run(string(tc.mode), func(t *testing.T) {
			out := t.TempDir()
			res := merge(t, MergeOptions{LocalRepo: local, External: []ExternalRepo{{Name: "ext", URL: extURL + "/"}},
				Mode: tc.mode, Arch: "x86_64", BlocklistFile: block, OutputDir: out, Database: true})
			if got := names(mergedPrimary(t, out)); !slices.Equal(got, tc.want) {
				t.Errorf("merged %s = %q, want %q", tc.mode, got, tc.want)
			}
			if res.Packages != len(tc.want) || len(res.Repos) != 2 || res.Repos[1].Packages != 3 {
				t.Errorf("result = %+v", res)
			}
			_, md := readRepomd(t, out)
			for _, typ := range []string{"primary_db", "filelists_db", "other_db", "origin"} {
				if _, ok := md[typ]; !ok {
					t.Errorf("repomd.xml has no %s", typ)
				}
			}
			origins := string(metadata(t, out, "origin"))
			if !strings.Contains(origins, "hello-1.0-1.x86_64\tfile://"+local+"/\n") {
				t.Errorf("pkgorigins does not name the local hello: %q", origins)
			}
			if !strings.Contains(origins, "extra-tool-1.0-1.noarch\t"+extURL+"/\n") {
				t.Errorf("pkgorigins does not name the external extra-tool: %q", origins)
			}
		})
	}
}

// TestMergeDNF: dnf reads the merged repository, lists the tag's own
// hello and the external extra-tool, and locates extra-tool in the
// external repository (xml:base).
func TestMergeDNF(t *testing.T) {
	local := repoOf(t, pkg("hello", "1.0", "x86_64"))
	ext := repoOf(t, pkg("hello", "2.0", "x86_64"), pkg("extra-tool", "1.0", "noarch"))
	out := t.TempDir()
	merge(t, MergeOptions{LocalRepo: local, External: []ExternalRepo{{URL: "file://" + ext}}, Arch: "x86_64", OutputDir: out, Database: true})
	got := dnfQuery(t, out, "--available", "--qf", "%{name}-%{version}")
	if want := []string{"extra-tool-1.0", "hello-1.0"}; !slices.Equal(got, want) {
		t.Errorf("dnf lists %q, want %q", got, want)
	}
	// dnf's --location ignores xml:base; a download does not.
	dest := t.TempDir()
	dnfDownload(t, out, dest, "extra-tool")
	want, err := os.ReadFile(filepath.Join(ext, "extra-tool-1.0-1.noarch.rpm"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dest, "extra-tool-1.0-1.noarch.rpm")); err != nil || !bytes.Equal(got, want) {
		t.Errorf("dnf did not download extra-tool from the external repository: %v", err)
	}
	if got := dnfQuery(t, out, "-l", "extra-tool"); !slices.Equal(got, []string{"/usr/bin/extra-tool"}) {
		t.Errorf("extra-tool files = %q", got)
	}
}

// TestMergeArches: only the repo arch's compatible arches (with multilib)
// and noarch are merged; source packages only into src.
func TestMergeArches(t *testing.T) {
	local := repoOf(t, pkg("hello", "1.0", "x86_64"))
	srpm := pkg("tool", "1.0", "x86_64")
	srpm.Source = true
	ext := repoOf(t, pkg("tool", "1.0", "x86_64"), pkg("tool", "1.0", "i686"), pkg("tool", "1.0", "aarch64"),
		pkg("tool-data", "1.0", "noarch"), srpm)
	tests := []struct {
		arch string
		want []string
	}{
		{"x86_64", []string{"hello.x86_64", "tool-data.noarch", "tool.i686", "tool.x86_64"}},
		{"aarch64", []string{"tool-data.noarch", "tool.aarch64"}},
		{"src", []string{"tool-data.noarch", "tool.src"}},
	}
	for _, tc := range tests {
		t.Run(tc.arch, func(t *testing.T) {
			out := t.TempDir()
			merge(t, MergeOptions{LocalRepo: local, External: []ExternalRepo{{URL: "file://" + ext}}, Mode: MergeBare, Arch: tc.arch, OutputDir: out})
			var got []string
			for _, p := range mergedPrimary(t, out) {
				got = append(got, p.Name+"."+p.Arch)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("merged for %s = %q, want %q", tc.arch, got, tc.want)
			}
		})
	}
}

// TestMergeKojiRules: the first repository with an SRPM name decides the
// build; a repeated package (same NVRA) is merged once in koji mode and
// twice in simple mode; $arch is substituted; packages are in repository
// order.
func TestMergeKojiRules(t *testing.T) {
	local := repoOf(t, pkg("zlib", "1.0", "x86_64"))
	ext1 := repoOf(t, pkg("zlib", "1.0", "x86_64"), pkg("abc", "1.0", "x86_64"), pkg("abc", "3.0", "x86_64"))
	ext2 := repoOf(t, pkg("abc", "9.0", "x86_64"), pkg("new", "1.0", "x86_64"))
	// ext2 is reached through $arch
	archDir := filepath.Join(t.TempDir(), "x86_64")
	if err := os.Rename(ext2, archDir); err != nil {
		t.Fatal(err)
	}
	exts := []ExternalRepo{{URL: "file://" + ext1}, {URL: "file://" + filepath.Dir(archDir) + "/$arch/"}}
	out := t.TempDir()
	merge(t, MergeOptions{LocalRepo: local, External: exts, Arch: "x86_64", OutputDir: out})
	var got []string
	for _, p := range mergedPrimary(t, out) {
		got = append(got, p.Name+"-"+p.Version.Ver)
	}
	// abc: ext1's newest build wins over ext2's; zlib from the local repo
	// only; local first, then ext1, then ext2.
	if want := []string{"zlib-1.0", "abc-3.0", "new-1.0"}; !slices.Equal(got, want) {
		t.Errorf("koji merge = %q, want %q", got, want)
	}
	out = t.TempDir()
	merge(t, MergeOptions{LocalRepo: local, External: exts, Mode: MergeSimple, Arch: "x86_64", OutputDir: out})
	got = nil
	for _, p := range mergedPrimary(t, out) {
		got = append(got, p.Name+"-"+p.Version.Ver)
	}
	if want := []string{"zlib-1.0", "abc-1.0", "abc-3.0", "zlib-1.0", "abc-9.0", "new-1.0"}; !slices.Equal(got, want) {
		t.Errorf("simple merge = %q, want %q", got, want)
	}
}

// TestMergeHTTP merges over http; the packages' base is the http URL.
func TestMergeHTTP(t *testing.T) {
	local := repoOf(t, pkg("hello", "1.0", "x86_64"))
	ext := repoOf(t, pkg("extra-tool", "1.0", "noarch"))
	srv := httptest.NewServer(http.FileServer(http.Dir(ext)))
	defer srv.Close()
	out := t.TempDir()
	merge(t, MergeOptions{LocalRepo: local, External: []ExternalRepo{{URL: srv.URL + "/"}}, Arch: "x86_64", OutputDir: out})
	if got, want := names(mergedPrimary(t, out)), []string{"extra-tool-1.0.noarch@" + srv.URL, "hello-1.0.x86_64@"}; !slices.Equal(got, want) {
		t.Errorf("merged = %q, want %q", got, want)
	}
}

// dnfDownload has dnf download packages of the repository in root into
// dest, from wherever their metadata says they are.
func dnfDownload(t *testing.T, root, dest string, pkgs ...string) {
	t.Helper()
	bin := testenv.NeedTool(t, "dnf")
	tmp := t.TempDir()
	args := []string{"-q", "-y", "--setopt=reposdir=/dev/null", "--setopt=cachedir=" + filepath.Join(tmp, "cache"),
		"--installroot=" + filepath.Join(tmp, "root"), "--releasever=40", "--nogpgcheck",
		"--repofrompath=r,file://" + root, "--repo=r", "install", "--downloadonly", "--destdir=" + dest}
	if out, err := exec.Command(bin, append(args, pkgs...)...).CombinedOutput(); err != nil {
		t.Fatalf("dnf install --downloadonly %v: %v\n%s", pkgs, err, out)
	}
}

// rawRepo writes a repository from literal metadata: repomd.xml gets the
// real checksums unless tamper changes them.
func rawRepo(t testing.TB, primary, filelists, other string, tamper func(typ string, e *repomdLine)) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "repodata"), 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<repomd>\n")
	for _, f := range []struct{ typ, body string }{{"primary", primary}, {"filelists", filelists}, {"other", other}} {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write([]byte(f.body))
		zw.Close()
		sum := sha256.Sum256(gz.Bytes())
		e := repomdLine{Href: "repodata/" + f.typ + ".xml.gz", Sum: hex.EncodeToString(sum[:]), Size: fmt.Sprint(gz.Len())}
		if tamper != nil {
			tamper(f.typ, &e)
		}
		if err := os.WriteFile(filepath.Join(dir, "repodata", f.typ+".xml.gz"), gz.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "<data type=%q><checksum type=\"sha256\">%s</checksum><location href=%q/><size>%s</size></data>\n", f.typ, e.Sum, e.Href, e.Size)
	}
	b.WriteString("</repomd>\n")
	if err := os.WriteFile(filepath.Join(dir, "repodata", "repomd.xml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

type repomdLine struct{ Href, Sum, Size string }

func primaryOf(count int, recs ...string) string {
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="%d">
%s</metadata>
`, count, strings.Join(recs, ""))
}

func primaryRec(name, id, href string) string {
	return fmt.Sprintf(`<package type="rpm">
  <name>%s</name>
  <arch>noarch</arch>
  <version epoch="0" ver="1.0" rel="1"/>
  <checksum type="sha256" pkgid="YES">%s</checksum>
  <summary>s</summary>
  <description>d</description>
  <packager></packager>
  <url></url>
  <time file="1" build="1"/>
  <size package="1" installed="1" archive="1"/>
  <location href="%s"/>
  <format>
    <rpm:license>MIT</rpm:license>
    <rpm:sourcerpm>%s-1.0-1.src.rpm</rpm:sourcerpm>
    <rpm:header-range start="1" end="2"/>
  </format>
</package>
`, name, id, href, name)
}

func filelistsOf(ids ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="1">` + "\n")
	for _, id := range ids {
		fmt.Fprintf(&b, "<package pkgid=%q name=\"x\" arch=\"noarch\">\n  <version epoch=\"0\" ver=\"1.0\" rel=\"1\"/>\n</package>\n", id)
	}
	b.WriteString("</filelists>\n")
	return b.String()
}

func otherOf(ids ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<otherdata xmlns="http://linux.duke.edu/metadata/other" packages="1">` + "\n")
	for _, id := range ids {
		fmt.Fprintf(&b, "<package pkgid=%q name=\"x\" arch=\"noarch\">\n  <version epoch=\"0\" ver=\"1.0\" rel=\"1\"/>\n</package>\n", id)
	}
	b.WriteString("</otherdata>\n")
	return b.String()
}

// TestMergeRawRepo: a hand-written repository whose primary lies about its
// package count merges fine (the count is never trusted).
func TestMergeRawRepo(t *testing.T) {
	local := repoOf(t, pkg("hello", "1.0", "x86_64"))
	ext := rawRepo(t, primaryOf(999, primaryRec("aaa", "1", "Packages/a/aaa.rpm"), primaryRec("bbb", "2", "bbb.rpm")),
		filelistsOf("1", "2"), otherOf("1", "2"), nil)
	out := t.TempDir()
	merge(t, MergeOptions{LocalRepo: local, External: []ExternalRepo{{URL: "file://" + ext}}, Arch: "x86_64", OutputDir: out, Database: true})
	pkgs := mergedPrimary(t, out)
	if got, want := names(pkgs), []string{"aaa-1.0.noarch@file://" + ext, "bbb-1.0.noarch@file://" + ext, "hello-1.0.x86_64@"}; !slices.Equal(got, want) {
		t.Errorf("merged = %q, want %q", got, want)
	}
}

// TestMergeHostile: broken or hostile external metadata fails the merge
// with an ErrExternalRepo naming the repository, and publishes nothing.
func TestMergeHostile(t *testing.T) {
	local := repoOf(t, pkg("hello", "1.0", "x86_64"))
	good := primaryOf(1, primaryRec("aaa", "1", "aaa.rpm"))
	redirect := httptest.NewServer(http.RedirectHandler("file:///etc/", http.StatusFound))
	defer redirect.Close()
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	tests := []struct {
		name   string
		url    string
		opts   func(*MergeOptions)
		reason string
	}{
		{"wrong checksum", "file://" + rawRepo(t, good, filelistsOf("1"), otherOf("1"), func(typ string, e *repomdLine) {
			if typ == "filelists" {
				e.Sum = strings.Repeat("0", 64)
			}
		}), nil, "checksum"},
		{"wrong size", "file://" + rawRepo(t, good, filelistsOf("1"), otherOf("1"), func(typ string, e *repomdLine) {
			if typ == "primary" {
				e.Size = "5"
			}
		}), nil, "repomd.xml says 5"},
		{"malformed primary", "file://" + rawRepo(t, primaryOf(1, `<package type="rpm"><name>x</name><arch>noarch</arch><location href="x.rpm"`),
			filelistsOf("1"), otherOf("1"), nil), nil, "primary"},
		{"primary without checksum", "file://" + rawRepo(t, primaryOf(1, `<package type="rpm"><name>x</name><arch>noarch</arch><location href="x.rpm"/></package>`),
			filelistsOf("1"), otherOf("1"), nil), nil, "no checksum"},
		{"mismatched pkgids", "file://" + rawRepo(t, good, filelistsOf("2"), otherOf("1"), nil), nil, "do not match"},
		{"fewer filelists", "file://" + rawRepo(t, primaryOf(2, primaryRec("aaa", "1", "aaa.rpm"), primaryRec("bbb", "2", "bbb.rpm")),
			filelistsOf("1"), otherOf("1", "2"), nil), nil, "same number"},
		{"package href traversal", "file://" + rawRepo(t, primaryOf(1, primaryRec("aaa", "1", "../../../etc/passwd")), filelistsOf("1"), otherOf("1"), nil), nil, "leaves the repository"},
		{"package href absolute", "file://" + rawRepo(t, primaryOf(1, primaryRec("aaa", "1", "/etc/passwd")), filelistsOf("1"), otherOf("1"), nil), nil, "leaves the repository"},
		{"package href URL", "file://" + rawRepo(t, primaryOf(1, primaryRec("aaa", "1", "http://evil/x.rpm")), filelistsOf("1"), otherOf("1"), nil), nil, "not a plain relative path"},
		{"repomd href traversal", "file://" + rawRepo(t, good, filelistsOf("1"), otherOf("1"), func(typ string, e *repomdLine) {
			if typ == "other" {
				e.Href = "../../../../etc/hostname"
			}
		}), nil, "leaves the repository"},
		{"enormous metadata", "file://" + rawRepo(t, good, filelistsOf("1"), otherOf("1"), nil),
			func(o *MergeOptions) { o.MaxMetadataBytes = 64 }, "more than the limit"},
		{"enormous repomd", "file://" + rawRepo(t, good, filelistsOf("1"), otherOf("1"), nil),
			func(o *MergeOptions) { o.MaxRepomdBytes = 100 }, "more than the limit"},
		{"decompression bomb", "file://" + rawRepo(t, primaryOf(1, primaryRec("aaa", "1", "aaa.rpm")+strings.Repeat("<!-- padding -->", 100000)), filelistsOf("1"), otherOf("1"), nil),
			func(o *MergeOptions) { o.MaxOpenBytes = 64 << 10 }, "limit allows once decompressed"},
		{"not a repository", "file://" + t.TempDir(), nil, "repomd.xml"},
		{"redirect to file", redirect.URL + "/", nil, "only http and https"},
		{"http 404", notFound.URL + "/", nil, "404"},
		{"ftp scheme", "ftp://example.org/repo/", nil, "not supported"},
		{"relative file URL", "file:relative/dir", nil, "absolute path"},
		{"file URL with host", "file://otherhost/srv/repo", nil, "only local paths"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			o := MergeOptions{LocalRepo: local, External: []ExternalRepo{{Name: "bad", URL: tc.url}}, Arch: "x86_64", OutputDir: out, Database: true}
			if tc.opts != nil {
				tc.opts(&o)
			}
			_, err := Merge(context.Background(), o)
			if err == nil {
				t.Fatalf("Merge(%s) succeeded", tc.name)
			}
			if !errors.Is(err, ErrExternalRepo) || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("Merge(%s) = %v, want ErrExternalRepo about %q", tc.name, err, tc.reason)
			}
			if _, serr := os.Stat(filepath.Join(out, "repodata")); !os.IsNotExist(serr) {
				t.Errorf("Merge(%s) published repodata", tc.name)
			}
		})
	}
}

// TestMergeBadOptions: wrong options fail before anything is fetched.
func TestMergeBadOptions(t *testing.T) {
	local := repoOf(t, pkg("hello", "1.0", "x86_64"))
	bigBlock := filepath.Join(t.TempDir(), "blocklist")
	if err := os.WriteFile(bigBlock, []byte("a b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    MergeOptions
	}{
		{"no local repo", MergeOptions{Arch: "x86_64", OutputDir: t.TempDir()}},
		{"no output", MergeOptions{LocalRepo: local, Arch: "x86_64"}},
		{"no arch", MergeOptions{LocalRepo: local, OutputDir: t.TempDir()}},
		{"bad arch", MergeOptions{LocalRepo: local, Arch: "../x", OutputDir: t.TempDir()}},
		{"bad mode", MergeOptions{LocalRepo: local, Arch: "x86_64", Mode: "fancy", OutputDir: t.TempDir()}},
		{"negative limit", MergeOptions{LocalRepo: local, Arch: "x86_64", OutputDir: t.TempDir(), MaxOpenBytes: -1}},
		{"missing blocklist", MergeOptions{LocalRepo: local, Arch: "x86_64", OutputDir: t.TempDir(), BlocklistFile: "/nonexistent/blocklist"}},
		{"bad blocklist", MergeOptions{LocalRepo: local, Arch: "x86_64", OutputDir: t.TempDir(), BlocklistFile: bigBlock}},
		{"local repo without metadata", MergeOptions{LocalRepo: t.TempDir(), Arch: "x86_64", OutputDir: t.TempDir()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Merge(context.Background(), tc.o); err == nil {
				t.Errorf("Merge(%s) succeeded", tc.name)
			}
		})
	}
}

func TestSplitSRPM(t *testing.T) {
	tests := []struct {
		in   string
		want nevr
		ok   bool
	}{
		{"hello-1.0-1.fc40.src.rpm", nevr{"hello", "", "1.0", "1.fc40"}, true},
		{"extra-tool-2.3-4.src.rpm", nevr{"extra-tool", "", "2.3", "4"}, true},
		{"foo-1:2.0-3.src.rpm", nevr{"foo", "1", "2.0", "3"}, true},
		{"nodash.src.rpm", nevr{}, false},
		{"-1.0-1.src.rpm", nevr{}, false},
	}
	for _, tc := range tests {
		got, ok := splitSRPM(tc.in)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("splitSRPM(%q) = %+v, %v, want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
