package rpmhdr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestValuesOfBuiltPackage(t *testing.T) {
	raw := buildRPM(t)
	p, err := NewReader(Limits{}).Read(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	h := &p.Main
	for _, c := range []struct {
		name string
		want any
	}{
		{"name", "demo"}, {"LICENSE", "MIT"}, {"Version", "1.2"}, {"buildtime", int64(1600000000)},
		{"nvra", "demo-1.2-3.x86_64"}, {"nvr", "demo-1.2-3"}, {"vendor", nil},
	} {
		ti, ok := LookupTag(c.name)
		if !ok {
			t.Fatalf("LookupTag(%q) not found", c.name)
		}
		if got := h.Value(ti); got != c.want {
			t.Errorf("Value(%s) = %#v, want %#v", c.name, got, c.want)
		}
	}
	ti, _ := LookupTag("filenames")
	if got, _ := h.Value(ti).([]any); len(got) != 2 {
		t.Errorf("Value(filenames) = %v", got)
	}
	ti, _ = LookupTag("changelogtime")
	if got, ok := h.Value(ti).([]any); !ok || len(got) != 0 {
		t.Errorf("Value(missing array) = %#v, want []", h.Value(ti))
	}
	if _, ok := LookupTag("nosuchtag"); ok {
		t.Error("LookupTag(nosuchtag) found")
	}
	if n := TagNameOf(TagRequireName); n != "Requirename" {
		t.Errorf("TagNameOf(REQUIRENAME) = %q", n)
	}
	if n := TagNameOf(999999); n != "" {
		t.Errorf("TagNameOf(unknown) = %q", n)
	}
	files := h.Files()
	if len(files) != 2 || h.DigestAlgo() != "sha256" {
		t.Fatalf("Files = %+v, algo %s", files, h.DigestAlgo())
	}
	for _, f := range files {
		if f.Name == "/usr/bin/demo" && (f.Size != 10 || f.Mode&0o777 != 0o755 || len(f.Digest) != 64) {
			t.Errorf("file = %+v", f)
		}
	}
	if len(h.Tags()) != h.Len() {
		t.Errorf("Tags() = %d entries, Len() = %d", len(h.Tags()), h.Len())
	}
	if err := h.Err(); err != nil {
		t.Errorf("Err() = %v", err)
	}
}

func TestChangelogAndDependencies(t *testing.T) {
	data := []byte("Alice\x00Bob\x00one\x00two\x00\x00\x00") // 20 bytes: the INT32 array at 20
	data = binary.BigEndian.AppendUint32(data, 200)
	data = binary.BigEndian.AppendUint32(data, 100)
	depAt := uint32(len(data))
	data = append(data, "bash\x00\x004\x00"...) // names: "bash"; versions at depAt+6: "4"
	for len(data)%4 != 0 {
		data = append(data, 0)
	}
	flagsAt := uint32(len(data))
	data = binary.BigEndian.AppendUint32(data, 12)
	h := readMain(t, rawHeader([]ent{
		{TagChangelogName, TypeStringArray, 0, 2},
		{TagChangelogText, TypeStringArray, 10, 2},
		{TagChangelogTime, TypeInt32, 20, 2},
		{TagRequireName, TypeStringArray, depAt, 1},
		{TagRequireVersion, TypeStringArray, depAt + 6, 1},
		{TagRequireFlags, TypeInt32, flagsAt, 1},
	}, data))
	cl := h.Changelog()
	if len(cl) != 2 || cl[0] != (ChangelogEntry{200, "Alice", "one"}) || cl[1] != (ChangelogEntry{100, "Bob", "two"}) {
		t.Errorf("Changelog = %+v", cl)
	}
	deps := h.Dependencies(-1)
	if len(deps) != 1 || deps[0] != (Dependency{Name: "bash", Version: "4", Flags: 12, Type: DepRequire}) {
		t.Errorf("Dependencies = %+v", deps)
	}
	if d := h.Dependencies(DepProvide); len(d) != 0 {
		t.Errorf("Dependencies(provide) = %+v", d)
	}
	if err := h.Err(); err != nil {
		t.Errorf("Err() = %v", err)
	}
}

func TestValuesOfCorruptEntries(t *testing.T) {
	// a file list whose directory index points past the directories
	data := []byte("a\x00/d/\x00\x00\x00")
	data = binary.BigEndian.AppendUint32(data, 5)
	h := readMain(t, rawHeader([]ent{
		{TagBaseNames, TypeStringArray, 0, 1},
		{TagDirNames, TypeStringArray, 2, 1},
		{TagDirIndexes, TypeInt32, 8, 1},
		{TagChangelogTime, TypeString, 0, 1},
	}, data))
	if f := h.Filenames(); len(f) != 1 || f[0] != "a" {
		t.Errorf("Filenames = %q", f)
	}
	if !errors.Is(h.Err(), ErrCorrupt) {
		t.Errorf("Err() = %v, want ErrCorrupt", h.Err())
	}
	h = readMain(t, rawHeader([]ent{{TagChangelogTime, TypeString, 0, 1}}, data))
	if cl := h.Changelog(); len(cl) != 0 || !errors.Is(h.Err(), ErrCorrupt) {
		t.Errorf("Changelog of a string time = %+v, %v", cl, h.Err())
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain":            "plain",
		"tab\tnl\n":        "tab\tnl\n",
		"bell\x07 esc\x1b": "bell esc",
		"bad \xff byte":    "bad \uFFFD byte",
		"del\x7f":          "del",
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}
