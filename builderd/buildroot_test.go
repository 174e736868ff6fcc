package builderd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/rpmpack"

	"kojigo/internal/testenv"
)

func TestDependencySatisfies(t *testing.T) {
	dep := func(name string, flags int, v string) dependency {
		return dependency{name: name, flags: flags, evr: parseEVR(v)}
	}
	const (
		eq = senseEqual
		lt = senseLess
		gt = senseGreater
		le = senseLess | senseEqual
		ge = senseGreater | senseEqual
	)
	tests := []struct {
		provide, require dependency
		want             bool
	}{
		{dep("a", 0, ""), dep("a", ge, "2.0"), true},        // unversioned provide: any version
		{dep("a", eq, "1.0-1"), dep("a", 0, ""), true},      // unversioned requirement
		{dep("a", eq, "1.0-1"), dep("a", ge, "1.0"), true},  // release not compared when missing
		{dep("a", eq, "1.0-1"), dep("a", gt, "1.0"), false}, // 1.0 is not > 1.0
		{dep("a", eq, "1.0-1"), dep("a", ge, "1.1"), false},
		{dep("a", eq, "2.0-1"), dep("a", lt, "2.0"), false},
		{dep("a", eq, "1.9-1"), dep("a", lt, "2.0"), true},
		{dep("a", eq, "1.0-1"), dep("a", eq, "1.0-1"), true},
		{dep("a", eq, "1.0-2"), dep("a", eq, "1.0-1"), false},
		{dep("a", eq, "1:0.5-1"), dep("a", ge, "2.0"), true}, // the epoch wins
		{dep("a", ge, "1.0"), dep("a", le, "2.0"), true},     // two ranges that overlap
		{dep("a", le, "1.0"), dep("a", ge, "2.0"), false},
		{dep("a", eq, "1.0~rc1-1"), dep("a", ge, "1.0"), false}, // tilde sorts before
	}
	for _, tt := range tests {
		if got := tt.provide.satisfies(tt.require); got != tt.want {
			t.Errorf("%s satisfies %s = %v, want %v", tt.provide, tt.require, got, tt.want)
		}
	}
}

// testPrimary writes a primary.xml of the packages given as XML fragments.
func testPrimary(t *testing.T, pkgs ...string) *repoIndex {
	t.Helper()
	p := filepath.Join(t.TempDir(), "primary.xml")
	body := `<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="` + "0" + `">` +
		strings.Join(pkgs, "\n") + "</metadata>\n"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return &repoIndex{primary: p}
}

func pkgXML(name, ver, rel, arch string, provides, requires, files []string) string {
	entries := func(l []string) string {
		var b strings.Builder
		for _, e := range l {
			f := strings.Fields(e)
			switch len(f) {
			case 1:
				b.WriteString(`<rpm:entry name="` + f[0] + `"/>`)
			case 3:
				ev := parseEVR(f[2])
				b.WriteString(`<rpm:entry name="` + f[0] + `" flags="` + f[1] + `" epoch="0" ver="` + ev.version + `"`)
				if ev.release != "" {
					b.WriteString(` rel="` + ev.release + `"`)
				}
				b.WriteString(`/>`)
			}
		}
		return b.String()
	}
	var fl strings.Builder
	for _, f := range files {
		fl.WriteString("<file>" + f + "</file>")
	}
	return `<package type="rpm"><name>` + name + `</name><arch>` + arch + `</arch><version epoch="0" ver="` + ver + `" rel="` + rel + `"/>` +
		`<location href="toplink/packages/` + name + "/" + ver + "/" + rel + "/" + arch + "/" + name + "-" + ver + "-" + rel + "." + arch + `.rpm"/>` +
		`<format><rpm:provides>` + entries(provides) + `</rpm:provides><rpm:requires>` + entries(requires) + `</rpm:requires>` + fl.String() + `</format></package>`
}

func TestResolveBuildRequires(t *testing.T) {
	ix := testPrimary(t,
		pkgXML("greet-devel", "1.0", "1", "noarch", []string{"greet-devel EQ 1.0-1"}, []string{"greet-data", "libc.so.6()(64bit)"}, []string{"/usr/include/greet.h"}),
		pkgXML("greet-devel", "0.9", "1", "noarch", []string{"greet-devel EQ 0.9-1"}, nil, nil),
		pkgXML("greet-data", "1.0", "1", "noarch", []string{"greet-data EQ 1.0-1"}, []string{"greet-devel"}, nil),
		pkgXML("tool", "2", "1", "x86_64", []string{"tool EQ 2-1", "tool(cli)"}, nil, []string{"/usr/bin/tool"}),
	)
	host := func(d dependency) string {
		if d.name == "gcc" {
			return "command /usr/bin/gcc"
		}
		return ""
	}
	dep := func(name string, flags int, v string) dependency {
		return dependency{name: name, flags: flags, evr: parseEVR(v)}
	}
	res, err := resolve(ix, []dependency{
		dep("gcc", 0, ""),
		dep("greet-devel", senseGreater|senseEqual, "1.0"),
		dep("/usr/bin/tool", 0, ""),
		dep("tool(cli)", 0, ""),
		dep("nothere", senseGreater|senseEqual, "3"),
		dep("tool", senseGreater, "2"), // tool-2 is not > 2
	}, host)
	if err != nil {
		t.Fatal(err)
	}
	if p := res.fromRepo["greet-devel >= 1.0"]; p == nil || p.nevra() != "greet-devel-1.0-1.noarch" {
		t.Errorf("greet-devel >= 1.0 from %v, want greet-devel-1.0-1 (not 0.9)", p)
	}
	if p := res.fromRepo["/usr/bin/tool"]; p == nil || p.name != "tool" {
		t.Errorf("file requirement /usr/bin/tool from %v, want tool", p)
	}
	if res.fromHost["gcc"] != "command /usr/bin/gcc" {
		t.Errorf("gcc from host = %q", res.fromHost["gcc"])
	}
	var missing []string
	for _, d := range res.missing {
		missing = append(missing, d.String())
	}
	if strings.Join(missing, ", ") != "nothere >= 3, tool > 2" {
		t.Errorf("missing = %q, want nothere >= 3, tool > 2", missing)
	}
	var install []string
	for _, p := range res.install {
		install = append(install, p.nevra())
	}
	// greet-data comes in as greet-devel's requirement; libc is the host's
	if got := strings.Join(install, " "); got != "greet-data-1.0-1.noarch greet-devel-1.0-1.noarch tool-2-1.x86_64" {
		t.Errorf("install = %s", got)
	}
}

func TestResolveBadPrimary(t *testing.T) {
	p := filepath.Join(t.TempDir(), "primary.xml")
	os.WriteFile(p, []byte(`<metadata><package><name>x</name><format><rpm:provides>`), 0o644)
	_, err := resolve(&repoIndex{primary: p}, []dependency{{name: "x"}}, func(dependency) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "read the build tag's repo") {
		t.Errorf("truncated primary: %v", err)
	}
	_, err = resolve(&repoIndex{primary: p + ".lz"}, []dependency{{name: "x"}}, func(dependency) string { return "" })
	if err == nil {
		t.Error("missing primary: no error")
	}
}

func TestResolveClosureBound(t *testing.T) {
	// a chain longer than the passes allowed: a repo problem, said as one
	var pkgs []string
	for i := 0; i < maxClosurePasses+2; i++ {
		name := "p" + string(rune('a'+i))
		next := "p" + string(rune('a'+i+1))
		pkgs = append(pkgs, pkgXML(name, "1", "1", "noarch", []string{name}, []string{next}, nil))
	}
	_, err := resolve(testPrimary(t, pkgs...), []dependency{{name: "pa"}}, func(dependency) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "rounds of dependencies") {
		t.Errorf("long chain: %v", err)
	}
}

func writeTestRPM(t *testing.T, files ...rpmpack.RPMFile) string {
	t.Helper()
	r, err := rpmpack.NewRPM(rpmpack.RPMMetaData{Name: "x", Version: "1", Release: "1", Arch: "noarch", Compressor: "gzip"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		r.AddFile(f)
	}
	p := filepath.Join(t.TempDir(), "x-1-1.noarch.rpm")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := r.Write(f); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUnpackRPM(t *testing.T) {
	rpm := writeTestRPM(t,
		rpmpack.RPMFile{Name: "/usr/include/greet.h", Body: []byte("#define X 1\n"), Mode: 0o100644},
		rpmpack.RPMFile{Name: "/usr/lib64/libg.so", Body: []byte("libg.so.1"), Mode: 0o120777},
		rpmpack.RPMFile{Name: "/usr/bin/g", Body: []byte("#!/bin/sh\n"), Mode: 0o100755},
	)
	dir := t.TempDir()
	if err := unpackRPM(rpm, dir); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "usr/include/greet.h")); err != nil || string(b) != "#define X 1\n" {
		t.Errorf("greet.h = %q, %v", b, err)
	}
	if l, err := os.Readlink(filepath.Join(dir, "usr/lib64/libg.so")); err != nil || l != "libg.so.1" {
		t.Errorf("symlink = %q, %v", l, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "usr/bin/g")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("usr/bin/g: %v %v", fi, err)
	}
}

func TestUnpackRPMStaysInside(t *testing.T) {
	outside := t.TempDir()
	rpm := writeTestRPM(t,
		// a symlink out of the overlay, then a file through it
		rpmpack.RPMFile{Name: "/usr/evil", Body: []byte(outside), Mode: 0o120777},
		rpmpack.RPMFile{Name: "/usr/evil/planted", Body: []byte("x"), Mode: 0o100644},
	)
	err := unpackRPM(rpm, t.TempDir())
	if err == nil {
		t.Error("a file through a symlink out of the overlay was written without error")
	}
	if _, serr := os.Stat(filepath.Join(outside, "planted")); serr == nil {
		t.Fatalf("unpackRPM wrote outside its directory (err %v)", err)
	}
	// a file that is not an RPM
	bad := filepath.Join(t.TempDir(), "bad.rpm")
	os.WriteFile(bad, []byte("not an rpm"), 0o644)
	if err := unpackRPM(bad, t.TempDir()); err == nil {
		t.Error("a file that is not an RPM unpacked without error")
	}
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"PATH=/usr/bin", "HOME=/h", "LANG=C"}, []string{"PATH=/o/usr/bin:/usr/bin", "CPATH=/o/usr/include"})
	want := "PATH=/o/usr/bin:/usr/bin CPATH=/o/usr/include HOME=/h LANG=C"
	if strings.Join(got, " ") != want {
		t.Errorf("mergeEnv = %q, want %q", got, want)
	}
}

// TestUnpackRPMHardLinks: every name of a hard-link group is unpacked
// (rpm stores the data with the group's last name only).
func TestUnpackRPMHardLinks(t *testing.T) {
	testenv.NeedTool(t, "rpmbuild")
	dir := t.TempDir()
	spec := filepath.Join(dir, "links.spec")
	os.WriteFile(spec, []byte(`Name: links
Version: 1
Release: 1
Summary: hard links
License: MIT
BuildArch: noarch
%description
hard links
%install
mkdir -p %{buildroot}/usr/bin
echo tool > %{buildroot}/usr/bin/tool
ln %{buildroot}/usr/bin/tool %{buildroot}/usr/bin/tool-1.0
%files
/usr/bin/tool
/usr/bin/tool-1.0
`), 0o644)
	cmd := exec.Command("rpmbuild", "-bb", "--define", "_topdir "+dir, spec)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rpmbuild: %v\n%s", err, out)
	}
	rpms, _ := filepath.Glob(filepath.Join(dir, "RPMS", "noarch", "*.rpm"))
	if len(rpms) != 1 {
		t.Fatalf("rpmbuild made %v", rpms)
	}
	out := t.TempDir()
	if err := unpackRPM(rpms[0], out); err != nil {
		t.Fatal(err)
	}
	var inodes []uint64
	for _, name := range []string{"usr/bin/tool", "usr/bin/tool-1.0"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || string(b) != "tool\n" {
			t.Errorf("%s = %q, %v", name, b, err)
			continue
		}
		fi, _ := os.Stat(filepath.Join(out, name))
		inodes = append(inodes, fi.Sys().(*syscall.Stat_t).Ino)
	}
	if len(inodes) == 2 && inodes[0] != inodes[1] {
		t.Errorf("the two names are not one file (inodes %v)", inodes)
	}
}
