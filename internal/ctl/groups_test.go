package ctl

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"kojigo/internal/comps"
	"kojigo/internal/kojixml"
)

const smallComps = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>build</id>
    <name>Buildsystem</name>
    <name xml:lang="de">Bausystem</name>
    <description>Build set</description>
    <default>false</default>
    <uservisible>false</uservisible>
    <grouplist>
      <groupreq>srpm-build</groupreq>
    </grouplist>
    <packagelist>
      <packagereq type="mandatory">bash</packagereq>
      <packagereq type="conditional" requires="selinux-policy">libselinux-python3</packagereq>
      <packagereq basearchonly="true">glibc</packagereq>
    </packagelist>
  </group>
  <group>
    <id>srpm-build</id>
    <langonly>fr</langonly>
    <packagelist>
      <packagereq type="default">rpm-build</packagereq>
    </packagelist>
  </group>
</comps>
`

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImportComps(t *testing.T) {
	fh := newFakeHub(t)
	fh.answer("getTag", map[string]any{"id": int64(1), "name": "f40-build"})
	for _, m := range []string{"groupListAdd", "groupPackageListAdd", "groupReqListAdd"} {
		fh.answer(m, nil)
	}
	te := adminEnv(t, fh.url)
	file := writeFile(t, "comps.xml", smallComps)
	out := te.mustRun(t, 0, "import-comps", file, "f40-build")
	// as the koji CLI prints (a name-less group shows None), then the requirements
	wantOut := `Group: build (Buildsystem)
  Package: bash: {'basearchonly': False, 'type': 'mandatory'}
  Package: libselinux-python3: {'basearchonly': False, 'requires': 'selinux-policy', 'type': 'conditional'}
  Package: glibc: {'basearchonly': True, 'type': 'mandatory'}
Group: srpm-build (None)
  Package: rpm-build: {'basearchonly': False, 'type': 'default'}
Group requirement: build -> srpm-build: {'is_metapkg': False, 'type': None}
`
	if out != wantOut {
		t.Errorf("import-comps printed:\n%s\nwant\n%s", out, wantOut)
	}
	wantCalls := []string{"login", "getTag", "groupListAdd", "groupPackageListAdd", "groupPackageListAdd", "groupPackageListAdd",
		"groupListAdd", "groupPackageListAdd", "groupReqListAdd", "logout"}
	if got := fh.methods(); !reflect.DeepEqual(got, wantCalls) {
		t.Errorf("calls %v, want %v", got, wantCalls)
	}
	// the arguments the koji CLI sends (force=None unless --force)
	gl := fh.called("groupListAdd")
	if !reflect.DeepEqual(gl[0].args, []any{"f40-build", "build"}) || !reflect.DeepEqual(gl[0].kw, map[string]any{
		"force": nil, "display_name": "Buildsystem", "is_default": false, "uservisible": false, "description": "Build set",
		"langonly": nil, "biarchonly": false}) {
		t.Errorf("groupListAdd %+v", gl[0])
	}
	if !reflect.DeepEqual(gl[1].kw, map[string]any{"force": nil, "display_name": nil, "is_default": false, "uservisible": true,
		"description": nil, "langonly": "fr", "biarchonly": false}) {
		t.Errorf("groupListAdd of a bare group %+v", gl[1])
	}
	pl := fh.called("groupPackageListAdd")
	if !reflect.DeepEqual(pl[1].args, []any{"f40-build", "build", "libselinux-python3"}) ||
		!reflect.DeepEqual(pl[1].kw, map[string]any{"force": nil, "type": "conditional", "requires": "selinux-policy", "basearchonly": false}) {
		t.Errorf("conditional groupPackageListAdd %+v", pl[1])
	}
	if !reflect.DeepEqual(pl[2].kw, map[string]any{"force": nil, "type": "mandatory", "basearchonly": true}) {
		t.Errorf("basearchonly groupPackageListAdd %+v", pl[2])
	}
	rl := fh.called("groupReqListAdd")
	if !reflect.DeepEqual(rl[0].args, []any{"f40-build", "build", "srpm-build"}) || !reflect.DeepEqual(rl[0].kw, map[string]any{"force": nil, "type": nil, "is_metapkg": false}) {
		t.Errorf("groupReqListAdd %+v", rl[0])
	}

	te.mustRun(t, 0, "import-comps", "--force", file, "f40-build")
	if kw := fh.called("groupPackageListAdd")[4].kw; kw["force"] != true {
		t.Errorf("--force sent %v", kw)
	}

	// a fault stops the import and is the error
	fh.on("groupPackageListAdd", func([]any, map[string]any) (any, error) {
		return nil, kojixml.Errorf(kojixml.GenericError, "package bash blocked in group build, tag f40-build")
	})
	te.mustRun(t, 1, "import-comps", file, "f40-build")
	if !strings.Contains(te.stderr.String(), "package bash blocked in group build, tag f40-build") {
		t.Errorf("stderr %q", te.stderr.String())
	}
	// an unknown tag
	fh.answer("getTag", nil)
	n := len(fh.called("groupListAdd"))
	te.mustRun(t, 1, "import-comps", file, "nosuch")
	if te.stderr.String() != "kojictl import-comps: No such tag: nosuch\n" || len(fh.called("groupListAdd")) != n {
		t.Errorf("unknown tag: stderr %q", te.stderr.String())
	}
}

func TestImportCompsBadFiles(t *testing.T) {
	fh := newFakeHub(t)
	te := adminEnv(t, fh.url)
	dir := t.TempDir()
	big := filepath.Join(dir, "big.xml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(comps.MaxSize + 1) // sparse
	f.Close()
	for _, tc := range []struct {
		name, text string
		code       int
		msg        string
	}{
		{"bomb.xml", `<?xml version="1.0"?><!DOCTYPE comps [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><comps><group><id>&b;</id></group></comps>`, 1, "entities"},
		{"xxe.xml", `<?xml version="1.0"?><!DOCTYPE comps [<!ENTITY x SYSTEM "file:///etc/passwd">]><comps><group><id>&x;</id></group></comps>`, 1, "entities"},
		{"undeclared.xml", `<comps><group><id>&x;</id></group></comps>`, 1, "entity"},
		{"notcomps.xml", `<html><body/></html>`, 1, "not a comps file"},
		{"broken.xml", `<comps><group>`, 1, "comps line"},
		{"noid.xml", `<comps><group><name>x</name></group></comps>`, 1, "no <id>"},
	} {
		p := writeFile(t, tc.name, tc.text)
		te.mustRun(t, tc.code, "import-comps", p, "f40-build")
		if !strings.Contains(te.stderr.String(), tc.msg) {
			t.Errorf("%s: stderr %q, want %q", tc.name, te.stderr.String(), tc.msg)
		}
	}
	te.mustRun(t, 1, "import-comps", big, "f40-build")
	if !strings.Contains(te.stderr.String(), "too large") {
		t.Errorf("big file: stderr %q", te.stderr.String())
	}
	te.mustRun(t, 1, "import-comps", filepath.Join(dir, "missing.xml"), "f40-build")
	te.mustRun(t, 2, "import-comps", dir, "f40-build")
	for _, args := range [][]string{
		{"import-comps"},
		{"import-comps", "only-one"},
		{"import-comps", "a", "b", "c"},
		{"import-comps", big, "bad tag"},
		{"import-comps", big, "t\x1b]0;x\x07"},
	} {
		te.mustRun(t, 2, args...)
	}
	if code := te.run(t, "import-comps", "-h"); code != 0 || !strings.Contains(te.stderr.String(), "-force") {
		t.Errorf("import-comps -h: exit %d, %q", code, te.stderr.String())
	}
	if len(fh.methods()) != 0 {
		t.Errorf("bad files reached the hub: %v", fh.methods())
	}
}

// TestImportCompsRealHub imports a Fedora-style comps.xml into a real hub
// and reads the groups back.
func TestImportCompsRealHub(t *testing.T) {
	rh := newRealHub(t)
	admin := rh.client(t, "kojiadmin", "secret")
	ctx := context.Background()
	if _, err := admin.Call(ctx, "createTag", "f40-build"); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../comps/testdata/fedora-style.xml")
	if err != nil {
		t.Fatal(err)
	}
	// fonts is no group of the file or the hub: the hub would refuse it
	text := strings.Replace(string(src), `<metapkg type="optional">fonts</metapkg>`, "", 1)
	file := writeFile(t, "comps.xml", text)
	te := adminEnv(t, rh.url)
	te.mustRun(t, 0, "import-comps", file, "f40-build")
	v, err := admin.Call(ctx, "getTagGroups", "f40-build")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]map[string]any{}
	for _, x := range asList(v) {
		g := asMap(x)
		byName[mstr(g, "name")] = g
	}
	if len(byName) != 5 || len(asList(byName["build"]["packagelist"])) != 22 {
		t.Fatalf("groups after import: %v", byName)
	}
	srpm := byName["srpm-build"]
	if reqs := asList(srpm["grouplist"]); len(reqs) != 1 || mstr(asMap(reqs[0]), "name") != "core" || asMap(reqs[0])["type"] != nil {
		t.Errorf("srpm-build grouplist %v", srpm["grouplist"])
	}
	if srpm["uservisible"] != false || srpm["is_default"] != false || mstr(srpm, "display_name") != "Source RPM building group" {
		t.Errorf("srpm-build %v", srpm)
	}
	// a second import changes nothing (every entry is already there)
	ev, _ := admin.Call(ctx, "getLastEvent")
	te.mustRun(t, 0, "import-comps", file, "f40-build")
	if ev2, _ := admin.Call(ctx, "getLastEvent"); !reflect.DeepEqual(ev, ev2) {
		t.Errorf("re-import made events: %v -> %v", ev, ev2)
	}
}
