package ctl

import (
	"reflect"
	"strings"
	"testing"

	"kojigo/internal/kojixml"
)

func TestAddTag(t *testing.T) {
	fh := newFakeHub(t)
	fh.answer("createTag", int64(2))
	te := adminEnv(t, fh.url)
	if out := te.mustRun(t, 0, "add-tag", "f40-build", "--parent", "f40", "--arches", "x86_64"); out != "" {
		t.Errorf("add-tag printed %q", out)
	}
	// as recorded (wire/add-tag-f40-build.txt): hasPerm admin, createTag(name, parent=, arches=)
	if got := fh.methods(); !reflect.DeepEqual(got, []string{"login", "hasPerm", "createTag", "logout"}) {
		t.Errorf("calls %v", got)
	}
	ct := fh.called("createTag")[0]
	if ct.args[0] != "f40-build" || !reflect.DeepEqual(ct.kw, map[string]any{"parent": "f40", "arches": "x86_64"}) {
		t.Errorf("createTag %+v", ct)
	}
	te.mustRun(t, 0, "add-tag", "f41", "--arches", "x86_64, aarch64", "-x", "mock.package_manager=dnf", "-x", "rpm.macro.dist=.fc41", "-x", "n=3")
	ct = fh.called("createTag")[1]
	wantKw := map[string]any{"arches": "x86_64 aarch64", "extra": map[string]any{"mock.package_manager": "dnf", "rpm.macro.dist": ".fc41", "n": int64(3)}}
	if !reflect.DeepEqual(ct.kw, wantKw) {
		t.Errorf("createTag kw %v, want %v", ct.kw, wantKw)
	}
	// no arguments beyond the name: no keyword struct at all, as koji sends
	te.mustRun(t, 0, "add-tag", "f42")
	if ct := fh.called("createTag")[2]; ct.kw != nil || len(ct.args) != 1 {
		t.Errorf("plain createTag %+v", ct)
	}
	// the hub's fault is the error
	fh.on("createTag", func([]any, map[string]any) (any, error) {
		return nil, kojixml.Errorf(1000, "A tag with the name 'f40' already exists")
	})
	te.mustRun(t, 1, "add-tag", "f40")
	if te.stderr.String() != "kojictl add-tag: GenericError: A tag with the name 'f40' already exists\n" {
		t.Errorf("stderr %q", te.stderr.String())
	}
	// a hostile fault string is printed escaped
	fh.on("createTag", func([]any, map[string]any) (any, error) {
		return nil, kojixml.Errorf(1003, "bad\x1b]0;pwned\x07\nline")
	})
	te.mustRun(t, 1, "add-tag", "f40")
	// (the encoder already turned the controls into U+FFFD; the newline is escaped here)
	if te.stderr.String() != "kojictl add-tag: TagError: bad\uFFFD]0;pwned\uFFFD\\nline\n" {
		t.Errorf("hostile fault: %q", te.stderr.String())
	}
	// without tag or admin permission
	fh.answer("hasPerm", false)
	te.mustRun(t, 2, "add-tag", "f43")
	if !strings.Contains(te.stderr.String(), "This action requires tag or admin privileges") {
		t.Errorf("stderr %q", te.stderr.String())
	}
	if n := len(fh.called("hasPerm")); n != 7 {
		t.Errorf("hasPerm calls %d: admin then tag", n)
	}
}

func TestAddTagArgs(t *testing.T) {
	fh := newFakeHub(t)
	te := adminEnv(t, fh.url)
	for _, args := range [][]string{
		{"add-tag"},
		{"add-tag", "a", "b"},
		{"add-tag", "bad name"},
		{"add-tag", "x\x00"},
		{"add-tag", strings.Repeat("t", 256)},
		{"add-tag", "f40", "--parent", "p\n"},
		{"add-tag", "f40", "--arches", "x86_64 \x1b"},
		{"add-tag", "f40", "-x", "novalue"},
		{"add-tag", "f40", "-x", "=v"},
	} {
		if code := te.run(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2 (%q)", args, code, te.stderr.String())
		}
	}
	if len(fh.methods()) != 0 {
		t.Errorf("bad command lines reached the hub: %v", fh.methods())
	}
}

func TestAddTarget(t *testing.T) {
	fh := newFakeHub(t)
	fh.on("getTag", func(args []any, kw map[string]any) (any, error) {
		switch args[0] {
		case "f40-build":
			return map[string]any{"id": int64(2), "name": "f40-build", "arches": "x86_64"}, nil
		case "f40", "noarches":
			return map[string]any{"id": int64(1), "name": args[0], "arches": nil}, nil
		}
		return nil, nil
	})
	fh.answer("createBuildTarget", nil)
	te := adminEnv(t, fh.url)
	te.mustRun(t, 0, "add-target", "f40-candidate", "f40-build", "f40")
	// as recorded (wire/add-target.txt)
	want := []string{"login", "hasPerm", "getTag", "getTag", "createBuildTarget", "logout"}
	if got := fh.methods(); !reflect.DeepEqual(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if c := fh.called("createBuildTarget")[0]; !reflect.DeepEqual(c.args, []any{"f40-candidate", "f40-build", "f40"}) {
		t.Errorf("createBuildTarget %+v", c)
	}
	// the destination defaults to the target's name
	fh.on("getTag", func(args []any, kw map[string]any) (any, error) {
		return map[string]any{"id": int64(1), "name": args[0], "arches": "x86_64"}, nil
	})
	te.mustRun(t, 0, "add-target", "f41", "f41-build")
	if c := fh.called("createBuildTarget")[1]; !reflect.DeepEqual(c.args, []any{"f41", "f41-build", "f41"}) {
		t.Errorf("createBuildTarget %+v", c)
	}
	fh.on("getTag", func(args []any, kw map[string]any) (any, error) {
		switch args[0] {
		case "good":
			return map[string]any{"id": int64(2), "name": "good", "arches": "x86_64"}, nil
		case "noarches":
			return map[string]any{"id": int64(3), "name": "noarches", "arches": ""}, nil
		}
		return nil, nil
	})
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"add-target", "t", "nosuch", "good"}, "No such tag: nosuch\n"},
		{[]string{"add-target", "t", "noarches", "good"}, "Build tag has no arches: noarches\n"},
		{[]string{"add-target", "t", "good", "nosuch"}, "No such destination tag: nosuch\n"},
	} {
		te.mustRun(t, 1, tt.args...)
		if te.stderr.String() != tt.msg {
			t.Errorf("%q: stderr %q, want %q", tt.args, te.stderr.String(), tt.msg)
		}
	}
	for _, args := range [][]string{{"add-target"}, {"add-target", "a"}, {"add-target", "a", "b", "c", "d"}, {"add-target", "a b", "c"}} {
		if code := te.run(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

func TestAddPkg(t *testing.T) {
	fh := newFakeHub(t)
	fh.on("getUser", func(args []any, kw map[string]any) (any, error) {
		if args[0] == "kojiadmin" {
			return map[string]any{"id": int64(1), "name": "kojiadmin"}, nil
		}
		return nil, nil
	})
	fh.on("getTag", func(args []any, kw map[string]any) (any, error) {
		if args[0] == "f40" {
			return map[string]any{"id": int64(1), "name": "f40"}, nil
		}
		return nil, nil
	})
	fh.answer("listPackages", []any{map[string]any{"package_id": int64(1), "package_name": "bash"}})
	fh.answer("packageListAdd", nil)
	te := adminEnv(t, fh.url)
	out := te.mustRun(t, 0, "add-pkg", "f40", "hello", "bash", "hello", "zlib", "--owner", "kojiadmin")
	if out != "Package bash already exists in tag f40\nAdding 2 packages to tag f40\n" {
		t.Errorf("output %q", out)
	}
	pa := fh.called("mc:packageListAdd")
	if len(pa) != 2 || !reflect.DeepEqual(pa[0].args, []any{"f40", "hello", "kojiadmin"}) || pa[0].kw["block"] != false || pa[0].kw["force"] != false {
		t.Errorf("packageListAdd %+v", pa)
	}
	if lp := fh.called("listPackages"); lp[0].kw["tagID"] != int64(1) {
		t.Errorf("listPackages %+v", lp)
	}
	if out := te.mustRun(t, 1, "add-pkg", "f40", "hello", "--owner", "nobody"); out != "User nobody does not exist\n" {
		t.Errorf("unknown owner %q", out)
	}
	if out := te.mustRun(t, 1, "add-pkg", "nosuch", "hello", "--owner", "kojiadmin"); out != "No such tag: nosuch\n" {
		t.Errorf("unknown tag %q", out)
	}
	for _, args := range [][]string{
		{"add-pkg", "f40", "hello"},
		{"add-pkg", "f40", "--owner", "kojiadmin"},
		{"add-pkg", "f40", "he llo", "--owner", "kojiadmin"},
		{"add-pkg", "f40", "hello", "--owner", "a\nb"},
		{"add-pkg", "f40", "hello", "--owner", "kojiadmin", "--extra-arches", "\x00"},
	} {
		if code := te.run(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

func TestListTagged(t *testing.T) {
	fh := newFakeHub(t)
	fh.on("getTag", func(args []any, kw map[string]any) (any, error) {
		if args[0] == "f40" {
			return map[string]any{"id": int64(1), "name": "f40"}, nil
		}
		return nil, nil
	})
	fh.answer("listTagged", []any{
		map[string]any{"nvr": "zlib-1.3-1.fc40", "tag_name": "f40", "owner_name": "kojiadmin"},
		map[string]any{"nvr": "hello-2.12-1.fc40", "tag_name": "f40", "owner_name": "alice"},
	})
	fh.answer("listTaggedRPMS", []any{
		[]any{
			map[string]any{"name": "hello", "version": "2.12", "release": "1.fc40", "arch": "x86_64"},
			map[string]any{"name": "hello", "version": "2.12", "release": "1.fc40", "arch": "src"},
		},
		[]any{map[string]any{"nvr": "hello-2.12-1.fc40"}},
	})
	te := newTestEnv(t, fh.url)
	out := te.mustRun(t, 0, "list-tagged", "f40")
	want := "" +
		"Build                                     Tag                   Built by\n" +
		"----------------------------------------  --------------------  ----------------\n" +
		"hello-2.12-1.fc40                         f40                   alice           \n" +
		"zlib-1.3-1.fc40                           f40                   kojiadmin       \n"
	if out != want {
		t.Errorf("list-tagged:\n%q\nwant\n%q", out, want)
	}
	te.mustRun(t, 0, "list-tagged", "f40", "hello", "--latest", "--inherit")
	if c := fh.called("listTagged")[1]; !reflect.DeepEqual(c.kw, map[string]any{"latest": true, "inherit": true, "package": "hello"}) {
		t.Errorf("listTagged kw %v", c.kw)
	}
	if out := te.mustRun(t, 0, "list-tagged", "--rpms", "f40"); out != "hello-2.12-1.fc40.src\nhello-2.12-1.fc40.x86_64\n" {
		t.Errorf("--rpms %q", out)
	}
	if len(fh.called("login")) != 0 {
		t.Error("list-tagged logged in")
	}
	te.mustRun(t, 2, "list-tagged", "nosuch")
	if !strings.Contains(te.stderr.String(), "No such tag: nosuch") {
		t.Errorf("stderr %q", te.stderr.String())
	}
	for _, args := range [][]string{{"list-tagged"}, {"list-tagged", "a", "b", "c"}, {"list-tagged", "a\x1b"}} {
		if code := te.run(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}
