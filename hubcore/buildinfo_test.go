package hubcore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/rpmpack"

	"kojigo/internal/kojixml"
	"kojigo/internal/rpmhdr"
)

// changelogRPM builds a small RPM with a %changelog of two entries and a
// Requires: bash >= 4; a source RPM when sourceRPM is "".
func changelogRPM(t testing.TB, name, version, release, arch, sourceRPM string) []byte {
	t.Helper()
	r, err := rpmpack.NewRPM(rpmpack.RPMMetaData{Name: name, Version: version, Release: release, Arch: arch,
		Summary: "test package", Licence: "MIT", BuildTime: time.Unix(1700000000, 0), Compressor: "gzip"})
	if err != nil {
		t.Fatal(err)
	}
	r.AddFile(rpmpack.RPMFile{Name: "/usr/share/" + name + "/README", Body: []byte("hello from " + name + "\n"), Mode: 0o100644, Owner: "root", Group: "root", MTime: 1700000000})
	if err := r.Requires.Set("bash>=4"); err != nil {
		t.Fatal(err)
	}
	if sourceRPM == "" {
		r.AddCustomTag(rpmhdr.TagSourcePackage, rpmpack.EntryInt32([]int32{1}))
	} else {
		r.AddCustomTag(rpmhdr.TagSourceRPM, rpmpack.EntryString(sourceRPM))
	}
	// rpm keeps the newest entry first
	r.AddCustomTag(rpmhdr.TagChangelogTime, rpmpack.EntryInt32([]int32{1700006400, 1690000000}))
	r.AddCustomTag(rpmhdr.TagChangelogName, rpmpack.EntryStringSlice([]string{"Alice <alice@example.com> - 1.0-1", "Bob <bob@example.com> - 0.9-1"}))
	r.AddCustomTag(rpmhdr.TagChangelogText, rpmpack.EntryStringSlice([]string{"- new upstream\x01 release", "- first package"}))
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// importHello imports hello-1.0-1 (SRPM and x86_64 RPM) and a build log;
// it returns the build id and the two RPM ids.
func importHello(t *testing.T, th *testHub, admin *client) (buildID, srpmID, rpmID int64) {
	t.Helper()
	sdir := admin.upload(t, "bi/1", "hello-1.0-1.src.rpm", changelogRPM(t, "hello", "1.0", "1", "x86_64", ""))
	s := admin.must("importRPM", sdir, "hello-1.0-1.src.rpm").(map[string]any)
	dir := admin.upload(t, "bi/2", "hello-1.0-1.x86_64.rpm", changelogRPM(t, "hello", "1.0", "1", "x86_64", "hello-1.0-1.src.rpm"))
	r := admin.must("importRPM", dir, "hello-1.0-1.x86_64.rpm").(map[string]any)
	logs := filepath.Join(th.hub.cfg.TopDir, "packages/hello/1.0/1/data/logs")
	if err := os.MkdirAll(filepath.Join(logs, "x86_64"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"x86_64/build.log", "x86_64/root.log", "noarch.log"} {
		if err := os.WriteFile(filepath.Join(logs, f), []byte("log\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(logs, "x86_64", "evil.log")); err != nil {
		t.Fatal(err)
	}
	return s["build_id"].(int64), s["id"].(int64), r["id"].(int64)
}

func TestChangelogAndHeaders(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		anon := th.anon()
		buildID, srpmID, rpmID := importHello(t, th, admin)

		cl := anon.must("getChangelogEntries", buildID).([]any)
		if len(cl) != 2 {
			t.Fatalf("getChangelogEntries = %v", cl)
		}
		e := cl[0].(map[string]any)
		if e["date"] != "2023-11-15 00:00:00" || e["date_ts"] != int64(1700006400) || e["author"] != "Alice <alice@example.com> - 1.0-1" || e["text"] != "- new upstream release" {
			t.Errorf("entry 0 = %v", e)
		}
		for _, c := range []struct {
			args []any
			want int
		}{
			{[]any{"hello-1.0-1", kw{"author": "Bob <bob@example.com> - 0.9-1"}}, 1},
			{[]any{buildID, kw{"before": int64(1700000000)}}, 1},
			{[]any{buildID, kw{"after": "2023-11-01"}}, 1},
			{[]any{buildID, kw{"after": "2023-11-01 00:00:00", "before": int64(1690000000)}}, 0},
			{[]any{buildID, kw{"queryOpts": map[string]any{"limit": int64(1)}}}, 1},
			{[]any{nil, kw{"taskID": int64(99), "filepath": "nosuch.src.rpm"}}, 0},
			{[]any{"nosuch-1-1"}, 0},
		} {
			if got := anon.must("getChangelogEntries", c.args...).([]any); len(got) != c.want {
				t.Errorf("getChangelogEntries%v = %d entries, want %d", c.args, len(got), c.want)
			}
		}
		asc := anon.must("getChangelogEntries", buildID, kw{"queryOpts": map[string]any{"order": "date"}}).([]any)
		if asc[0].(map[string]any)["date_ts"] != int64(1690000000) {
			t.Errorf("order=date = %v", asc)
		}
		if l := anon.must("getChangelogEntries", buildID, kw{"queryOpts": map[string]any{"asList": true}}).([]any); len(l[0].([]any)) != 3 {
			t.Errorf("asList = %v", l)
		}
		// the task's own file
		work := filepath.Join(th.hub.cfg.TopDir, "work/tasks/7/7")
		os.MkdirAll(work, 0o755)
		os.WriteFile(filepath.Join(work, "hello.src.rpm"), changelogRPM(t, "hello", "1.0", "1", "x86_64", ""), 0o644)
		if l := anon.must("getChangelogEntries", kw{"taskID": int64(7), "filepath": "hello.src.rpm"}).([]any); len(l) != 2 {
			t.Errorf("by task = %v", l)
		}
		empty := admin.must("createEmptyBuild", "empty", "1", "1", nil).(int64)
		if l := anon.must("getChangelogEntries", empty).([]any); len(l) != 0 {
			t.Errorf("build without srpm = %v", l)
		}
		for _, c := range []struct {
			args []any
			want string
		}{
			{nil, "either buildID or taskID and filepath must be specified"},
			{[]any{nil, int64(7)}, "filepath must be specified with taskID"},
			{[]any{nil, int64(7), "../../x.rpm"}, "Invalid filepath: ../../x.rpm"},
			{[]any{nil, int64(7), "/etc/passwd"}, "Invalid filepath: /etc/passwd"},
			{[]any{empty, kw{"strict": true}}, "doesn't have srpms"},
			{[]any{"nosuch-1-1", kw{"strict": true}}, "No such build: nosuch-1-1"},
			{[]any{nil, int64(7), "nosuch.rpm", kw{"strict": true}}, "doesn't exist"},
			{[]any{buildID, kw{"before": 1.5}}, "Invalid type for before: <class 'float'>"},
			{[]any{buildID, kw{"after": []any{}}}, ""},
			{[]any{"bad"}, "invalid format"},
		} {
			if c.want == "" {
				continue // an empty list is falsy in Koji: no filter
			}
			if f := anon.fault(kojixml.GenericError, "getChangelogEntries", c.args...); !strings.Contains(f.String, c.want) {
				t.Errorf("getChangelogEntries%v = %q, want %q", c.args, f.String, c.want)
			}
		}
		anon.fault(kojixml.ParameterError, "getChangelogEntries", buildID, kw{"nosuch": 1})
		anon.fault(kojixml.ParameterError, "getChangelogEntries", buildID, "x")

		// headers, as the CLI's rpminfo asks for them
		h := anon.must("getRPMHeaders", kw{"rpmID": rpmID, "headers": []any{"license", "NAME", "requirename", "epoch", "nvra", "changelogtime", "sourcerpm", "filenames"}}).(map[string]any)
		if h["license"] != "MIT" || h["NAME"] != "hello" || h["epoch"] != int64(0) || h["nvra"] != "hello-1.0-1.x86_64" || h["sourcerpm"] != "hello-1.0-1.src.rpm" {
			t.Errorf("getRPMHeaders = %v", h)
		}
		if req, _ := h["requirename"].([]any); len(req) == 0 || !contains(req, "bash") {
			t.Errorf("requirename = %v", h["requirename"])
		}
		if ct, _ := h["changelogtime"].([]any); len(ct) != 2 || ct[0] != int64(1700006400) {
			t.Errorf("changelogtime = %v", h["changelogtime"])
		}
		if fn, _ := h["filenames"].([]any); len(fn) != 1 || fn[0] != "/usr/share/hello/README" {
			t.Errorf("filenames = %v", h["filenames"])
		}
		all := anon.must("getRPMHeaders", srpmID).(map[string]any)
		if all["Name"] != "hello" || all["Sourcepackage"] != int64(1) {
			t.Errorf("getRPMHeaders(all) = %v", all)
		}
		if h := anon.must("getRPMHeaders", "hello-1.0-1.src", nil, nil, []any{"license"}).(map[string]any); h["license"] != "MIT" {
			t.Errorf("getRPMHeaders(nvra) = %v", h)
		}
		for _, args := range [][]any{{int64(9999)}, {"nosuch-1-1.x86_64"}, {nil, int64(99), "nosuch.rpm"}} {
			if h := anon.must("getRPMHeaders", args...).(map[string]any); len(h) != 0 {
				t.Errorf("getRPMHeaders%v = %v", args, h)
			}
		}
		for _, c := range []struct {
			args []any
			want string
		}{
			{[]any{rpmID, nil, nil, []any{"nosuchtag"}}, "No such rpm header field: NOSUCHTAG"},
			{[]any{int64(9999), kw{"strict": true}}, "No such rpm: 9999"},
			{nil, "either rpmID or taskID and filepath must be specified"},
			{[]any{nil, int64(7), "../x"}, "Invalid filepath"},
			{[]any{nil, int64(7), "nosuch.rpm", kw{"strict": true}}, "Missing rpm file"},
			{[]any{1.5}, "Invalid type for rpminfo"},
			{[]any{rpmID, nil, nil, []any{int64(1)}}, "Invalid type for header name"},
		} {
			if f := anon.fault(kojixml.GenericError, "getRPMHeaders", c.args...); !strings.Contains(f.String, c.want) {
				t.Errorf("getRPMHeaders%v = %q, want %q", c.args, f.String, c.want)
			}
		}
		huge := make([]any, 2000)
		for i := range huge {
			huge[i] = "name"
		}
		anon.fault(kojixml.ParameterError, "getRPMHeaders", rpmID, nil, nil, huge)
		// a corrupt stored file is a fault, not a crash
		os.WriteFile(filepath.Join(work, "junk.rpm"), []byte("not an rpm at all, not even close to one"), 0o644)
		anon.fault(kojixml.GenericError, "getRPMHeaders", nil, int64(7), "junk.rpm")

		// dependencies and files
		deps := anon.must("getRPMDeps", rpmID).([]any)
		found := false
		for _, d := range deps {
			m := d.(map[string]any)
			if m["name"] == "bash" && m["version"] == "4" && m["type"] == int64(0) && m["flags"].(int64)&(8|4) == 12 {
				found = true
			}
		}
		if !found {
			t.Errorf("getRPMDeps = %v", deps)
		}
		for _, d := range anon.must("getRPMDeps", rpmID, int64(1)).([]any) {
			if d.(map[string]any)["type"] != int64(1) {
				t.Errorf("getRPMDeps(depType=1) = %v", d)
			}
		}
		if l := anon.must("getRPMDeps", int64(9999)).([]any); len(l) != 0 {
			t.Errorf("getRPMDeps(unknown) = %v", l)
		}
		anon.fault(kojixml.GenericError, "getRPMDeps", int64(9999), nil, nil, true)
		files := anon.must("listRPMFiles", rpmID).([]any)
		if len(files) != 1 {
			t.Fatalf("listRPMFiles = %v", files)
		}
		f := files[0].(map[string]any)
		if f["name"] != "/usr/share/hello/README" || f["size"] != int64(len("hello from hello\n")) || f["digest_algo"] != "sha256" ||
			f["md5"] != f["digest"] || f["user"] != "root" || f["mode"] != int64(0o100644) || f["mtime"] != int64(1700000000) {
			t.Errorf("listRPMFiles = %v", f)
		}
		got := anon.must("getRPMFile", rpmID, "/usr/share/hello/README").(map[string]any)
		if got["rpm_id"] != rpmID || got["digest"] != f["digest"] {
			t.Errorf("getRPMFile = %v", got)
		}
		if m := anon.must("getRPMFile", rpmID, "/nosuch").(map[string]any); len(m) != 0 {
			t.Errorf("getRPMFile(missing) = %v", m)
		}
		if ff := anon.fault(kojixml.GenericError, "getRPMFile", rpmID, "/nosuch", true); !strings.Contains(ff.String, "No file: /nosuch found in RPM") {
			t.Errorf("getRPMFile strict = %q", ff.String)
		}
		anon.fault(kojixml.ParameterError, "getRPMFile", rpmID)
		anon.fault(kojixml.ParameterError, "listRPMFiles")

		// the stored file gone
		os.Remove(filepath.Join(th.hub.cfg.TopDir, "packages/hello/1.0/1/x86_64/hello-1.0-1.x86_64.rpm"))
		if h := anon.must("getRPMHeaders", rpmID).(map[string]any); len(h) != 0 {
			t.Errorf("getRPMHeaders(no file) = %v", h)
		}
		anon.fault(kojixml.GenericError, "getRPMHeaders", rpmID, kw{"strict": true})
		if l := anon.must("listRPMFiles", rpmID).([]any); len(l) != 0 {
			t.Errorf("listRPMFiles(no file) = %v", l)
		}
		if ff := anon.fault(kojixml.GenericError, "getRPMDeps", rpmID, kw{"strict": true}); !strings.Contains(ff.String, "doesn't exist") {
			t.Errorf("getRPMDeps strict, no file = %q", ff.String)
		}
	})
}

func contains(l []any, v any) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

func TestBuildLogsReferencesUntagged(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		ctx := context.Background()
		admin := th.login(th.ensureAdmin(), "adminpw")
		anon := th.anon()
		buildID, _, _ := importHello(t, th, admin)

		logs := anon.must("getBuildLogs", "hello-1.0-1").([]any)
		var paths []string
		for _, l := range logs {
			m := l.(map[string]any)
			paths = append(paths, m["dir"].(string)+"|"+m["name"].(string)+"|"+m["path"].(string))
		}
		want := []string{
			".|noarch.log|packages/hello/1.0/1/data/logs/./noarch.log",
			"x86_64|build.log|packages/hello/1.0/1/data/logs/x86_64/build.log",
			"x86_64|root.log|packages/hello/1.0/1/data/logs/x86_64/root.log",
		}
		if strings.Join(paths, "\n") != strings.Join(want, "\n") {
			t.Errorf("getBuildLogs = %v, want %v", paths, want)
		}
		empty := admin.must("createEmptyBuild", "empty", "1", "1", nil).(int64)
		if l := anon.must("getBuildLogs", empty).([]any); len(l) != 0 {
			t.Errorf("getBuildLogs(no logs) = %v", l)
		}
		if f := anon.fault(kojixml.GenericError, "getBuildLogs", "nosuch-1-1"); f.String != "No such build: 'nosuch-1-1'" {
			t.Errorf("getBuildLogs(unknown) = %q", f.String)
		}
		anon.fault(kojixml.ParameterError, "getBuildLogs")

		// untagged, then tagged
		names := func(l []any) []string {
			var out []string
			for _, x := range l {
				m := x.(map[string]any)
				out = append(out, m["name"].(string)+"-"+m["version"].(string)+"-"+m["release"].(string))
			}
			return out
		}
		if got := names(anon.must("untaggedBuilds").([]any)); strings.Join(got, " ") != "hello-1.0-1 empty-1-1" {
			t.Errorf("untaggedBuilds = %v", got)
		}
		if got := names(anon.must("untaggedBuilds", "empty").([]any)); strings.Join(got, " ") != "empty-1-1" {
			t.Errorf("untaggedBuilds(empty) = %v", got)
		}
		if n := anon.must("untaggedBuilds", nil, map[string]any{"countOnly": true}); n != int64(2) {
			t.Errorf("untaggedBuilds countOnly = %v", n)
		}
		if l := anon.must("untaggedBuilds", kw{"draft": true}).([]any); len(l) != 0 {
			t.Errorf("untaggedBuilds(draft=True) = %v", l)
		}
		anon.fault(kojixml.ParameterError, "untaggedBuilds", int64(1))
		anon.fault(kojixml.ParameterError, "untaggedBuilds", nil, nil, "x")

		refs := anon.must("buildReferences", buildID).(map[string]any)
		if len(refs["tags"].([]any)) != 0 || len(refs["rpms"].([]any)) != 0 || refs["last_used"] != nil || refs["images"] == nil {
			t.Errorf("buildReferences = %v", refs)
		}
		tagID := admin.must("createTag", "dest").(int64)
		if _, err := th.store.TagBuild(ctx, tagID, buildID, nil); err != nil {
			t.Fatal(err)
		}
		refs = anon.must("buildReferences", "hello-1.0-1", nil, true).(map[string]any)
		tags := refs["tags"].([]any)
		if len(refs) != 1 || len(tags) != 1 || tags[0].(map[string]any)["name"] != "dest" || tags[0].(map[string]any)["tag_id"] != tagID {
			t.Errorf("buildReferences(lazy) = %v", refs)
		}
		if got := names(anon.must("untaggedBuilds").([]any)); strings.Join(got, " ") != "empty-1-1" {
			t.Errorf("untaggedBuilds after tagging = %v", got)
		}
		anon.fault(kojixml.GenericError, "buildReferences", "nosuch-1-1")
		anon.fault(kojixml.ParameterError, "buildReferences", buildID, "x")
	})
}

func TestTypedBuildsAndArchives(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		anon := th.anon()
		id := admin.must("createEmptyBuild", "foo", "1", "1", nil).(int64)
		for _, m := range []string{"getMavenBuild", "getWinBuild", "getImageBuild"} {
			for _, info := range []any{id, "foo-1-1", map[string]any{"name": "foo", "version": "1", "release": "1"}, "nosuch-1-1", int64(9999)} {
				if v := anon.must(m, info); v != nil {
					t.Errorf("%s(%v) = %v", m, info, v)
				}
			}
			if f := anon.fault(kojixml.GenericError, m, id, true); !strings.Contains(f.String, "no such") {
				t.Errorf("%s strict = %q", m, f.String)
			}
			for _, c := range []struct {
				info any
				want string
			}{
				{"nosuch-1-1", "No such build: 'nosuch-1-1'"},
				{"bad", "invalid format: bad"},
				{1.5, "Invalid type for argument: <class 'float'>"},
				{map[string]any{"name": "foo"}, "did not provide name, version, and release"},
			} {
				if f := anon.fault(kojixml.GenericError, m, c.info, true); f.String != c.want {
					t.Errorf("%s(%v, strict) = %q, want %q", m, c.info, f.String, c.want)
				}
			}
			anon.fault(kojixml.ParameterError, m)
		}
		if bt := anon.must("getBuildType", id).(map[string]any); len(bt) != 1 || bt["rpm"] != nil {
			t.Errorf("getBuildType = %v", bt)
		}
		if bt := anon.must("getBuildType", "nosuch-1-1"); bt != nil {
			t.Errorf("getBuildType(unknown) = %v", bt)
		}
		anon.fault(kojixml.GenericError, "getBuildType", "nosuch-1-1", true)
		if l := anon.must("listBTypes").([]any); len(l) != 4 {
			t.Errorf("listBTypes = %v", l)
		}
		if l := anon.must("listBTypes", map[string]any{"name": "rpm"}).([]any); len(l) != 1 || l[0].(map[string]any)["id"] != int64(1) {
			t.Errorf("listBTypes(rpm) = %v", l)
		}
		for _, args := range [][]any{{}, {id}, {kw{"buildID": id, "type": "maven"}}, {kw{"buildID": id, "type": "win"}}, {kw{"buildID": id, "type": "image"}}, {kw{"type": "rpm"}}} {
			if l := anon.must("listArchives", args...).([]any); len(l) != 0 {
				t.Errorf("listArchives%v = %v", args, l)
			}
		}
		if n := anon.must("listArchives", kw{"buildID": id, "queryOpts": map[string]any{"countOnly": true}}); n != int64(0) {
			t.Errorf("listArchives countOnly = %v", n)
		}
		for _, c := range []struct {
			args []any
			want string
		}{
			{[]any{kw{"type": "bogus"}}, "unsupported archive type: bogus"},
			{[]any{kw{"type": "rpm", "typeInfo": map[string]any{"x": 1}}}, "typeInfo queries not supported for type rpm"},
			{[]any{id, kw{"strict": true}}, "No archives found."},
		} {
			if f := anon.fault(kojixml.GenericError, "listArchives", c.args...); f.String != c.want {
				t.Errorf("listArchives%v = %q, want %q", c.args, f.String, c.want)
			}
		}
		anon.fault(kojixml.ParameterError, "listArchives", "x")
		anon.fault(kojixml.ParameterError, "listArchives", kw{"nosuch": 1})

		if h := anon.must("system.methodHelp", "getTag"); !strings.HasPrefix(h.(string), "getTag(tagInfo") && !strings.HasPrefix(h.(string), "getTag(") {
			t.Errorf("methodHelp(getTag) = %v", h)
		}
		if h := anon.must("system.methodHelp", "search"); h != "search(terms, type, matchType, queryOpts=None)" {
			t.Errorf("methodHelp(search) = %v", h)
		}
		for _, m := range []any{"nosuch", int64(1)} {
			if h := anon.must("system.methodHelp", m); h != "" {
				t.Errorf("methodHelp(%v) = %v", m, h)
			}
		}
		anon.fault(kojixml.ParameterError, "system.methodHelp")
		anon.fault(kojixml.GenericError, "system.methodHelp", []any{})
	})
}
