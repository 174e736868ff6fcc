package hubcore

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// wireResult returns Koji's answer to method in a wire recording (the
// first exchange that calls it), decoded. The recordings it reads are
// copied from shared/koji/wire into testdata/wire, so it runs wherever the
// repository is.
func wireResult(t *testing.T, file, method string) any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "wire", file))
	if err != nil {
		t.Fatalf("wire recording: %v", err)
	}
	parts := strings.Split(string(data), "========================================================================\n")
	for _, p := range parts {
		if !strings.Contains(p, "<methodName>"+method+"</methodName>") {
			continue
		}
		i := strings.Index(p, "<<< ")
		j := strings.Index(p[i:], "<?xml")
		v, err := kojixml.DecodeResponse(strings.NewReader(p[i+j:]))
		if err != nil {
			t.Fatalf("%s: %s answer: %v", file, method, err)
		}
		return v
	}
	t.Fatalf("%s: no call of %s", file, method)
	return nil
}

// sameKeys fails unless got has exactly the keys of Koji's want.
func sameKeys(t *testing.T, what string, want, got any) {
	t.Helper()
	w, _ := want.(map[string]any)
	g, _ := got.(map[string]any)
	var wk, gk []string
	for k := range w {
		wk = append(wk, k)
	}
	for k := range g {
		gk = append(gk, k)
	}
	sort.Strings(wk)
	sort.Strings(gk)
	if strings.Join(wk, ",") != strings.Join(gk, ",") {
		t.Errorf("%s keys = %v, Koji's = %v", what, gk, wk)
	}
	if d := shapeDiff(what, typeShape(want), typeShape(got)); d != "" {
		t.Errorf("%s", d)
	}
}

// typeShape turns a decoded value into shapeDiff's form: Python type names.
func typeShape(v any) any {
	switch x := v.(type) {
	case nil:
		return "NoneType"
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			m[k] = typeShape(e)
		}
		return m
	case []any:
		var l []any
		for _, e := range x {
			l = append(l, typeShape(e))
		}
		return l
	}
	return pyTypeName(v)
}

func pyTypeName(v any) string {
	switch v.(type) {
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case bool:
		return "bool"
	}
	return "?"
}

// repoWorld is a hub with users for the repo tests.
type repoWorld struct {
	*testHub
	admin, alice, kojira, regen *client
	ownerID                     int64
}

func newRepoWorld(t *testing.T, th *testHub) *repoWorld {
	w := &repoWorld{testHub: th}
	w.admin = th.login(th.ensureAdmin(), "adminpw")
	th.addUser("alice", "pw")
	w.alice = th.login("alice", "pw")
	th.addUser("kojira", "pw", "repo")
	w.kojira = th.login("kojira", "pw")
	th.store.CreatePerm(context.Background(), "regen-repo", "") // Koji's schema has none: an admin makes it
	th.addUser("regen", "pw", "regen-repo")
	w.regen = th.login("regen", "pw")
	u, err := th.store.GetUserByName(context.Background(), "kojiadmin")
	if err != nil {
		t.Fatal(err)
	}
	w.ownerID = u.ID
	return w
}

// build adds a complete build with RPMs ("name.arch") directly in the store.
func (w *repoWorld) build(t *testing.T, pkg, version, release string, rpms ...string) int64 {
	t.Helper()
	ctx := context.Background()
	id, err := w.store.CreateBuild(ctx, db.NewBuild{PackageName: pkg, Version: version, Release: release, State: db.BuildComplete, OwnerID: w.ownerID})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rpms {
		name, arch, _ := strings.Cut(r, ".")
		if _, err := w.store.AddRPM(ctx, db.RPM{BuildID: id, Name: name, Version: version, Release: release, Arch: arch,
			Size: 100, PayloadHash: "0123", Checksum: "abcd", BuildTime: 1700000000}); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// list puts a package in a tag's package list (blocked or not).
func (w *repoWorld) list(t *testing.T, tag int64, pkg string, blocked bool) {
	t.Helper()
	ctx := context.Background()
	pid, err := w.store.EnsurePackage(ctx, pkg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.SetTagPackage(ctx, db.TagPackage{TagID: tag, PackageID: pid, OwnerID: w.ownerID, Blocked: blocked}); err != nil {
		t.Fatal(err)
	}
}

func (w *repoWorld) tag(t *testing.T, tag, build int64) int64 {
	t.Helper()
	ev, err := w.store.TagBuild(context.Background(), tag, build, &w.ownerID)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func readLines(t *testing.T, p string) []string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestRepoInitFilesAndDone(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		w := newRepoWorld(t, th)
		host, _ := th.addHost("builder1")
		top := th.hub.cfg.TopDir
		parent := w.admin.must("createTag", "f40").(int64)
		child := w.admin.must("createTag", "f40-build", kw{"parent": "f40", "arches": "x86_64 i686"}).(int64)
		// parent lists foo, bar, doc (noarch) and blocked; child blocks "blocked"
		for _, p := range []string{"foo", "bar", "doc", "blocked"} {
			w.list(t, parent, p, false)
		}
		w.list(t, child, "blocked", true)
		w.tag(t, parent, w.build(t, "foo", "1.0", "1", "foo.x86_64", "foo.i686", "foo.src", "foo-debuginfo.x86_64"))
		w.tag(t, parent, w.build(t, "foo", "2.0", "1", "foo.x86_64", "foo.src"))
		w.tag(t, child, w.build(t, "bar", "1", "1", "bar.x86_64"))
		w.tag(t, parent, w.build(t, "doc", "3", "1", "doc.noarch"))
		w.tag(t, parent, w.build(t, "blocked", "1", "1", "blocked.x86_64"))
		// a build of a package the tag does not list stays out
		w.tag(t, parent, w.build(t, "unlisted", "1", "1", "unlisted.x86_64"))

		res := host.must("host.repoInit", "f40-build", kw{"task_id": nil}).([]any)
		repoID, ev := res[0].(int64), res[1].(int64)
		dir := filepath.Join(top, "repos", "f40-build", itoa(repoID))

		var info map[string]any
		js, err := os.ReadFile(filepath.Join(dir, "repo.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(js, &info); err != nil {
			t.Fatal(err)
		}
		if info["id"] != float64(repoID) || info["tag"] != "f40-build" || info["tag_id"] != float64(child) || info["event_id"] != float64(ev) ||
			info["task_id"] != nil || info["with_src"] != false || info["with_debuginfo"] != false ||
			len(info["opts"].(map[string]any)) != 4 || len(info["custom_opts"].(map[string]any)) != 0 {
			t.Errorf("repo.json = %s", js)
		}
		if !strings.HasPrefix(string(js), "{\n  \"id\": ") {
			t.Errorf("repo.json not in Koji's order and layout: %s", js)
		}
		wantX86 := []string{
			"toplink/packages/bar/1/1/x86_64/bar-1-1.x86_64.rpm",
			"toplink/packages/doc/3/1/noarch/doc-3-1.noarch.rpm",
			"toplink/packages/foo/2.0/1/x86_64/foo-2.0-1.x86_64.rpm",
		}
		got := readLines(t, filepath.Join(dir, "x86_64", "pkglist"))
		sort.Strings(got)
		if strings.Join(got, "\n") != strings.Join(wantX86, "\n") {
			t.Errorf("x86_64/pkglist =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantX86, "\n"))
		}
		// i686 is canonical i386; foo 2.0 has no i686 rpm, so only the noarch one
		if got := readLines(t, filepath.Join(dir, "i386", "pkglist")); len(got) != 1 || got[0] != wantX86[1] {
			t.Errorf("i386/pkglist = %v", got)
		}
		for _, a := range []string{"x86_64", "i386"} {
			if b := readLines(t, filepath.Join(dir, a, "blocklist")); len(b) != 1 || b[0] != "blocked" {
				t.Errorf("%s/blocklist = %v", a, b)
			}
			if l, err := os.Readlink(filepath.Join(dir, a, "toplink")); err != nil || l != "../../../.." {
				t.Errorf("%s/toplink = %q, %v", a, l, err)
			}
			if _, err := os.Stat(filepath.Join(dir, a, "toplink", "repos", "f40-build", itoa(repoID), a, "pkglist")); err != nil {
				t.Errorf("%s/toplink does not lead to topdir: %v", a, err)
			}
			if _, err := os.Stat(filepath.Join(dir, a, "EMPTY_REPO")); err == nil {
				t.Errorf("%s has EMPTY_REPO but packages", a)
			}
		}
		rl := readLines(t, filepath.Join(dir, "x86_64", "rpmlist.jsonl"))
		if len(rl) != 3 {
			t.Fatalf("rpmlist.jsonl = %v", rl)
		}
		for _, l := range rl {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil || !strings.HasPrefix(l, `{"name": `) || m["build_id"] == nil || m["payloadhash"] != "0123" {
				t.Errorf("rpmlist line %s: %v", l, err)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "groups", "comps.xml")); err != nil {
			t.Errorf("groups/comps.xml: %v", err)
		}
		if ents, _ := os.ReadDir(filepath.Join(top, "repos", "f40-build")); len(ents) != 1 {
			t.Errorf("repos/f40-build holds %d entries, want the repo only (no temporary left)", len(ents))
		}

		r := th.anon().must("repoInfo", repoID).(map[string]any)
		if r["state"] != int64(db.RepoInit) || r["create_event"] != ev || r["tag_name"] != "f40-build" || r["end_event"] != nil ||
			r["begin_event"] == nil || len(r) != 19 {
			t.Errorf("repoInfo = %v", r)
		}

		// an arch with nothing gets EMPTY_REPO; opts src: a custom repo
		w.admin.must("createTag", "empty", kw{"arches": "aarch64"})
		er := host.must("host.repoInit", "empty").([]any)
		edir := filepath.Join(top, "repos", "empty", itoa(er[0].(int64)), "aarch64")
		if b, err := os.ReadFile(filepath.Join(edir, "EMPTY_REPO")); err != nil || string(b) != emptyRepoText {
			t.Errorf("EMPTY_REPO = %q, %v", b, err)
		}
		if l := readLines(t, filepath.Join(edir, "pkglist")); len(l) != 0 {
			t.Errorf("empty pkglist = %v", l)
		}
		custom := host.must("host.repoInit", "f40-build", kw{"opts": map[string]any{"src": true}}).([]any)
		cdir := filepath.Join(top, "repos", "f40-build", itoa(custom[0].(int64)))
		if l := readLines(t, filepath.Join(cdir, "x86_64", "pkglist")); len(l) != 4 {
			t.Errorf("src repo x86_64/pkglist = %v, want the src rpm too", l)
		}

		// a request the repo will fulfil
		req := w.alice.must("repo.request", "f40-build", kw{"min_event": ev}).(map[string]any)
		reqID := req["request"].(map[string]any)["id"].(int64)

		// repoDone: uploads under work/ move into <arch>/repodata
		up := filepath.Join(top, "work", "tasks", "5", "5")
		if err := os.MkdirAll(up, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"repomd.xml", "primary.xml.gz", "i386.xml"} {
			os.WriteFile(filepath.Join(up, f), []byte(f), 0o644)
		}
		data := map[string]any{"x86_64": []any{"tasks/5/5", []any{"repomd.xml", "primary.xml.gz"}}}
		// hostile data first: nothing may move
		for _, bad := range []struct {
			data any
			code int
		}{
			{"notadict", kojixml.ParameterError},
			{map[string]any{"../../x": []any{"tasks/5/5", []any{"repomd.xml"}}}, kojixml.GenericError},
			{map[string]any{"x86_64": []any{"../../etc", []any{"passwd"}}}, kojixml.GenericError},
			{map[string]any{"x86_64": []any{"/etc", []any{"passwd"}}}, kojixml.GenericError},
			{map[string]any{"x86_64": []any{"tasks/5/5", []any{"../5/repomd.xml"}}}, kojixml.GenericError},
			{map[string]any{"x86_64": []any{"tasks/5/5", []any{"repomd.xml", "missing.xml"}}}, kojixml.GenericError},
			{map[string]any{"x86_64": []any{"tasks/5/5"}}, kojixml.ParameterError},
			{map[string]any{"x86_64": []any{"tasks/5/5", []any{int64(3)}}}, kojixml.ParameterError},
			{map[string]any{"aarch64": []any{"tasks/5/5", []any{"repomd.xml"}}}, kojixml.GenericError},
		} {
			host.fault(bad.code, "host.repoDone", repoID, bad.data)
		}
		host.fault(kojixml.GenericError, "host.repoDone", int64(99999), data)
		host.fault(kojixml.ParameterError, "host.repoDone", "abc", data)
		w.alice.fault(kojixml.AuthError, "host.repoDone", repoID, data)
		if _, err := os.Stat(filepath.Join(up, "repomd.xml")); err != nil {
			t.Fatalf("a refused repoDone moved files: %v", err)
		}
		if _, err := os.Lstat(filepath.Join(top, "repos", "f40-build", "latest")); err == nil {
			t.Fatal("latest exists before any repo is READY")
		}
		host.must("host.repoDone", repoID, data, kw{"repo_json_updates": map[string]any{"tag_name_extra": "x"}})
		for _, f := range []string{"repomd.xml", "primary.xml.gz"} {
			if b, err := os.ReadFile(filepath.Join(dir, "x86_64", "repodata", f)); err != nil || string(b) != f {
				t.Errorf("repodata/%s = %q, %v", f, b, err)
			}
			if _, err := os.Stat(filepath.Join(up, f)); err == nil {
				t.Errorf("upload %s still in work", f)
			}
		}
		if js, _ := os.ReadFile(filepath.Join(dir, "repo.json")); !strings.Contains(string(js), `"tag_name_extra": "x"`) || !strings.HasPrefix(string(js), "{\n  \"id\": ") {
			t.Errorf("repo.json after updates = %s", js)
		}
		if l, err := os.Readlink(filepath.Join(top, "repos", "f40-build", "latest")); err != nil || l != itoa(repoID) {
			t.Errorf("latest = %q, %v; want %d", l, err, repoID)
		}
		r = th.anon().must("repoInfo", repoID).(map[string]any)
		if r["state"] != int64(db.RepoReady) {
			t.Errorf("state after repoDone = %v", r["state"])
		}
		cr := th.anon().must("repo.checkRequest", reqID).(map[string]any)
		if rr, _ := cr["repo"].(map[string]any); rr == nil || rr["id"] != repoID || cr["request"].(map[string]any)["active"] != false {
			t.Errorf("checkRequest after repoDone = %v", cr)
		}
		host.fault(kojixml.GenericError, "host.repoDone", repoID, map[string]any{})

		// a custom-opts repo becomes READY without taking latest; expire=True makes EXPIRED
		host.must("host.repoDone", custom[0].(int64), map[string]any{})
		if l, _ := os.Readlink(filepath.Join(top, "repos", "f40-build", "latest")); l != itoa(repoID) {
			t.Errorf("latest = %q after a custom repo, want %d", l, repoID)
		}
		third := host.must("host.repoInit", "f40-build").([]any)
		host.must("host.repoDone", third[0].(int64), map[string]any{}, kw{"expire": true})
		if r := th.anon().must("repoInfo", third[0]).(map[string]any); r["state"] != int64(db.RepoExpired) {
			t.Errorf("repoDone(expire=True) state = %v", r["state"])
		}
		if l, _ := os.Readlink(filepath.Join(top, "repos", "f40-build", "latest")); l != itoa(repoID) {
			t.Errorf("latest = %q after an expired repo, want %d", l, repoID)
		}
		fourth := host.must("host.repoInit", "f40-build").([]any)
		host.must("host.repoDone", fourth[0].(int64), map[string]any{})
		if l, _ := os.Readlink(filepath.Join(top, "repos", "f40-build", "latest")); l != itoa(fourth[0].(int64)) {
			t.Errorf("latest = %q, want the newest default repo %d", l, fourth[0])
		}
	})
}

func TestRepoInitBadArguments(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		w := newRepoWorld(t, th)
		host, _ := th.addHost("builder1")
		top := th.hub.cfg.TopDir
		w.admin.must("createTag", "f40", kw{"arches": "x86_64"})
		// a path-like tag name that bypassed createTag's checks
		if _, _, err := th.store.CreateTag(context.Background(), db.Tag{Name: "../../evil"}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			args []any
			code int
		}{
			{[]any{"nosuch"}, kojixml.GenericError},
			{[]any{[]any{"f40"}}, kojixml.ParameterError},
			{[]any{"f40", kw{"task_id": "abc"}}, kojixml.ParameterError},
			{[]any{"f40", kw{"task_id": int64(-1)}}, kojixml.GenericError},
			{[]any{"f40", kw{"event": int64(99999)}}, kojixml.GenericError},
			{[]any{"f40", kw{"event": int64(-5)}}, kojixml.GenericError},
			{[]any{"f40", kw{"opts": map[string]any{"maven": true}}}, kojixml.GenericError},
			{[]any{"f40", kw{"bogus": 1}}, kojixml.ParameterError},
			{[]any{"../../evil"}, kojixml.GenericError},
		} {
			host.fault(c.code, "host.repoInit", c.args...)
		}
		w.alice.fault(kojixml.AuthError, "host.repoInit", "f40")
		w.admin.fault(kojixml.AuthError, "host.repoInit", "f40")
		th.anon().fault(kojixml.AuthError, "host.repoInit", "f40")
		if _, err := os.Stat(filepath.Join(filepath.Dir(top), "evil")); err == nil {
			t.Error("a repo directory escaped topdir")
		}
		if rs, _ := th.store.QueryRepos(context.Background(), nil); len(rs) != 0 {
			t.Errorf("refused repoInit calls left %d repos", len(rs))
		}
		// unknown opts are ignored (Koji's convert_repo_opts, not strict)
		host.must("host.repoInit", "f40", kw{"opts": "garbage"})
	})
}

func TestRepoStateTransitionsOverXMLRPC(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		w := newRepoWorld(t, th)
		ctx := context.Background()
		tag := w.admin.must("createTag", "f40").(int64)
		ev := lastEvent(t, w.admin)
		newRepo := func(state int) int64 {
			id, err := th.store.CreateRepo(ctx, db.NewRepo{TagID: tag, CreateEvent: ev, State: db.RepoInit, Opts: "{}", CustomOpts: "{}"})
			if err != nil {
				t.Fatal(err)
			}
			if state != db.RepoInit {
				if _, err := th.store.QueryRepos(ctx, nil); err != nil {
					t.Fatal(err)
				}
				if err := setStateDirect(th.store, id, state); err != nil {
					t.Fatal(err)
				}
			}
			return id
		}
		for from := db.RepoInit; from <= db.RepoProblem; from++ {
			for to := db.RepoInit; to <= db.RepoProblem; to++ {
				id := newRepo(from)
				noop, terr := db.RepoTransition(id, from, to)
				_, err := w.kojira.call("repo.setState", id, int64(to))
				switch {
				case terr != nil:
					if f, ok := err.(*kojixml.Fault); !ok || f.Code != kojixml.GenericError || f.String != terr.Error() {
						t.Errorf("repo.setState %s -> %s = %v, want %q", db.RepoStateName(from), db.RepoStateName(to), err, terr)
					}
				case err != nil:
					t.Errorf("repo.setState %s -> %s = %v (noop %v)", db.RepoStateName(from), db.RepoStateName(to), err, noop)
				}
				want := to
				if terr != nil {
					want = from
				}
				if r, _ := th.store.GetRepo(ctx, id); r.State != want {
					t.Errorf("%s -> %s: state %s, want %s", db.RepoStateName(from), db.RepoStateName(to), db.RepoStateName(r.State), db.RepoStateName(want))
				}
			}
		}
		id := newRepo(db.RepoReady)
		// permissions: anonymous, plain user, repo, admin
		for _, m := range []string{"repoExpire", "repoProblem", "repoDelete"} {
			th.anon().fault(kojixml.AuthError, m, id)
			w.alice.fault(kojixml.ActionNotAllowed, m, id)
			w.regen.fault(kojixml.ActionNotAllowed, m, id)
		}
		th.anon().fault(kojixml.AuthError, "repo.setState", id, int64(2))
		for _, m := range []string{"repo.checkQueue", "repo.autoRequests", "repo.updateEndEvents"} {
			th.anon().fault(kojixml.AuthError, m)
			w.alice.fault(kojixml.ActionNotAllowed, m)
		}
		if v := w.kojira.must("repoExpire", id); v != nil {
			t.Errorf("repoExpire = %v", v)
		}
		w.admin.must("repoProblem", id)
		w.kojira.fault(kojixml.GenericError, "repoExpire", id) // PROBLEM -> EXPIRED goes down
		// repoDelete: refused while a buildroot uses the repo, and answers how many
		br, err := th.store.CreateBuildroot(ctx, db.Buildroot{RepoID: &id, Arch: "x86_64"})
		if err != nil {
			t.Fatal(err)
		}
		if n := w.kojira.must("repoDelete", id); n != int64(1) {
			t.Errorf("repoDelete with a buildroot = %v, want 1", n)
		}
		if refs := th.anon().must("repo.references", id).([]any); len(refs) != 1 || refs[0].(map[string]any)["id"] != br {
			t.Errorf("repo.references = %v", refs)
		}
		th.store.SetBuildrootState(ctx, br, db.BuildrootExpired)
		if n := w.kojira.must("repoDelete", id); n != int64(0) {
			t.Errorf("repoDelete = %v, want 0", n)
		}
		if r, _ := th.store.GetRepo(ctx, id); r.State != db.RepoDeleted {
			t.Errorf("after repoDelete: %s", db.RepoStateName(r.State))
		}
		if f := w.kojira.fault(kojixml.GenericError, "repoProblem", id); f.String != "Repo "+itoa(id)+" is deleted" {
			t.Errorf("repoProblem on DELETED = %q", f.String)
		}
		// hostile and wrong arguments
		for _, c := range []struct {
			method string
			args   []any
			code   int
		}{
			{"repoExpire", []any{int64(99999)}, kojixml.GenericError},
			{"repoExpire", []any{int64(-1)}, kojixml.GenericError},
			{"repoExpire", []any{"x"}, kojixml.ParameterError},
			{"repoExpire", []any{[]any{}}, kojixml.ParameterError},
			{"repoExpire", []any{}, kojixml.ParameterError},
			{"repoDelete", []any{map[string]any{}}, kojixml.ParameterError},
			{"repo.setState", []any{id, int64(7)}, kojixml.ParameterError},
			{"repo.setState", []any{id, int64(-1)}, kojixml.ParameterError},
			{"repo.setState", []any{id, "READY"}, kojixml.ParameterError},
		} {
			w.kojira.fault(c.code, c.method, c.args...)
		}
		if v := th.anon().must("repoInfo", int64(99999)); v != nil {
			t.Errorf("repoInfo(99999) = %v", v)
		}
		th.anon().fault(kojixml.GenericError, "repoInfo", int64(99999), true)
		th.anon().fault(kojixml.ParameterError, "repoInfo", "abc")
	})
}

// setStateDirect walks a repo up to state through allowed moves.
func setStateDirect(s *db.Store, id int64, state int) error {
	ctx := context.Background()
	switch state {
	case db.RepoExpired, db.RepoProblem:
		if err := s.SetRepoState(ctx, id, db.RepoReady); err != nil {
			return err
		}
	}
	return s.SetRepoState(ctx, id, state)
}

func TestRepoRequests(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		w := newRepoWorld(t, th)
		tag := w.admin.must("createTag", "f40-build", kw{"arches": "x86_64"}).(int64)
		w.list(t, tag, "foo", false)
		last := w.tag(t, tag, w.build(t, "foo", "1", "1", "foo.x86_64"))

		th.anon().fault(kojixml.AuthError, "repo.request", "f40-build")
		if got := th.anon().must("tagLastChangeEvent", tag); got != last {
			t.Errorf("tagLastChangeEvent = %v, want %d", got, last)
		}
		res := w.alice.must("repo.request", tag, kw{"min_event": "last"}).(map[string]any)
		req := res["request"].(map[string]any)
		if res["repo"] != nil || res["duplicate"] != false || req["min_event"] != last || req["priority"] != int64(20) ||
			req["owner_name"] != "alice" || req["active"] != true || req["tries"] != int64(0) {
			t.Errorf("repo.request = %v", res)
		}
		koji := wireResult(t, "regen-repo-request.txt", "repo.request").(map[string]any)
		sameKeys(t, "repo.request", koji, res)
		sameKeys(t, "repo.request.request", koji["request"], req)

		// the same request again is a duplicate; a lower number raises the priority
		w.alice.fault(kojixml.ActionNotAllowed, "repo.request", "f40-build", kw{"priority": int64(-1)})
		dup2 := w.admin.must("repo.request", "f40-build", kw{"min_event": last, "priority": int64(-5)}).(map[string]any)
		if dup2["duplicate"] != true || dup2["request"].(map[string]any)["id"] != req["id"] || dup2["request"].(map[string]any)["priority"] != int64(15) {
			t.Errorf("duplicate request = %v", dup2)
		}
		// an older min_event is served by the same request; a newer one is not
		older := w.alice.must("repo.request", "f40-build", kw{"min_event": last - 1}).(map[string]any)
		if older["duplicate"] != true {
			t.Errorf("request with an older min_event = %v, want the duplicate", older)
		}
		newer := w.alice.must("repo.request", "f40-build", kw{"opts": map[string]any{"debuginfo": true}}).(map[string]any)
		if newer["duplicate"] != false || newer["request"].(map[string]any)["id"] == req["id"] {
			t.Errorf("request with other opts = %v, want a new one", newer)
		}
		// default min_event: the tag's last change when it is older than now-RepoLag...
		def := w.alice.must("repo.request", "f40-build").(map[string]any)
		if def["duplicate"] != true {
			t.Errorf("default request = %v, want the duplicate of the one at the last change", def)
		}
		for _, c := range []struct {
			args []any
			code int
		}{
			{[]any{"nosuch"}, kojixml.GenericError},
			{[]any{"f40-build", kw{"min_event": int64(99999)}}, kojixml.ParameterError},
			{[]any{"f40-build", kw{"min_event": "first"}}, kojixml.ParameterError},
			{[]any{"f40-build", kw{"at_event": last, "min_event": last}}, kojixml.ParameterError},
			{[]any{"f40-build", kw{"at_event": int64(-1)}}, kojixml.ParameterError},
			{[]any{"f40-build", kw{"opts": "src"}}, kojixml.ParameterError},
			{[]any{"f40-build", kw{"opts": map[string]any{"nosuch": true}}}, kojixml.ParameterError},
			{[]any{"f40-build", kw{"opts": map[string]any{"maven": true}}}, kojixml.GenericError},
			{[]any{"f40-build", kw{"priority": "high"}}, kojixml.ParameterError},
			{[]any{map[string]any{"x": 1}}, kojixml.ParameterError},
		} {
			w.alice.fault(c.code, "repo.request", c.args...)
		}
		at := w.alice.must("repo.request", "f40-build", kw{"at_event": last}).(map[string]any)
		if r := at["request"].(map[string]any); r["at_event"] != last || r["min_event"] != nil {
			t.Errorf("at_event request = %v", r)
		}
		th.anon().fault(kojixml.GenericError, "repo.checkRequest", int64(99999))
		th.anon().fault(kojixml.ParameterError, "repo.checkRequest", "x")
		cr := th.anon().must("repo.checkRequest", req["id"]).(map[string]any)
		if cr["repo"] != nil || cr["request"].(map[string]any)["id"] != req["id"] {
			t.Errorf("checkRequest = %v", cr)
		}
		if q := th.anon().must("repo.queryQueue", []any{[]any{"tag_id", "=", tag}}, kw{"fields": "**"}).([]any); len(q) != 3 {
			t.Errorf("queryQueue = %d requests, want 3 (min_event last, debuginfo, at_event)", len(q))
		}

		// a READY repo at or after min_event answers the request itself
		host, _ := th.addHost("builder1")
		rr := host.must("host.repoInit", "f40-build").([]any)
		host.must("host.repoDone", rr[0], map[string]any{})
		got := w.alice.must("repo.request", "f40-build", kw{"min_event": last}).(map[string]any)
		if r, _ := got["repo"].(map[string]any); r == nil || r["id"] != rr[0] || got["request"] != nil {
			t.Errorf("request with a fitting repo = %v", got)
		}
		forced := w.alice.must("repo.request", "f40-build", kw{"min_event": last, "force": true}).(map[string]any)
		if forced["repo"] != nil || forced["request"] == nil {
			t.Errorf("forced request = %v", forced)
		}
		if g := th.anon().must("repo.get", "f40-build").(map[string]any); g["id"] != rr[0] {
			t.Errorf("repo.get = %v", g)
		}
		if g := th.anon().must("repo.get", "f40-build", kw{"opts": map[string]any{"src": true}}); g != nil {
			t.Errorf("repo.get with src = %v, want none", g)
		}
		if g := th.anon().must("getRepo", "f40-build").(map[string]any); g["id"] != rr[0] || g["state"] != int64(db.RepoReady) {
			t.Errorf("getRepo = %v", g)
		}
		if g := th.anon().must("getRepo", "f40-build", kw{"state": int64(db.RepoInit)}); g != nil {
			t.Errorf("getRepo(state=INIT) = %v", g)
		}
		active := th.anon().must("getActiveRepos").([]any)
		if len(active) != 1 || len(active[0].(map[string]any)) != 12 {
			t.Errorf("getActiveRepos = %v", active)
		}
		q := th.anon().must("repo.query", []any{[]any{"state", "=", int64(db.RepoReady)}, []any{"tag_name", "f40-build"}},
			kw{"fields": []any{"id", "tag_name"}, "opts": map[string]any{"order": "-id"}}).([]any)
		if len(q) != 1 || len(q[0].(map[string]any)) != 2 || q[0].(map[string]any)["tag_name"] != "f40-build" {
			t.Errorf("repo.query = %v", q)
		}
		if n := th.anon().must("repo.query", []any{}, kw{"opts": map[string]any{"countOnly": true}}); n != int64(1) {
			t.Errorf("repo.query countOnly = %v", n)
		}
		for _, bad := range [][]any{
			{[]any{[]any{"nosuch", "=", int64(1)}}},
			{[]any{[]any{"id", "LIKE", "1"}}},
			{[]any{[]any{"id"}}},
			{[]any{"id"}},
			{[]any{}, kw{"fields": []any{"nosuch"}}},
			{[]any{}, kw{"opts": map[string]any{"order": "nosuch"}}},
			{[]any{[]any{"id", "=", []any{int64(1)}}}},
			{"notalist"},
		} {
			th.anon().fault(kojixml.ParameterError, "repo.query", bad...)
		}
	})
}

func TestRepoCheckQueue(t *testing.T) {
	forBackendsCfg(t, func(c *Config) { c.Repo.MaxRepoTasks = 2; c.Repo.RepoRetries = 1 }, func(t *testing.T, th *testHub) {
		w := newRepoWorld(t, th)
		var reqs []int64
		for _, name := range []string{"a", "b", "c"} {
			w.admin.must("createTag", name)
			res := w.alice.must("repo.request", name, kw{"min_event": "last"}).(map[string]any)
			reqs = append(reqs, res["request"].(map[string]any)["id"].(int64))
		}
		if v := w.kojira.must("repo.checkQueue"); v != nil {
			t.Errorf("repo.checkQueue = %v", v)
		}
		if koji := wireResult(t, "call-repo.checkQueue.txt", "repo.checkQueue"); koji != nil {
			t.Errorf("Koji's repo.checkQueue answered %v", koji)
		}
		taskOf := func(id int64) (int64, map[string]any) {
			t.Helper()
			q := th.anon().must("repo.checkRequest", id).(map[string]any)
			req := q["request"].(map[string]any)
			task, _ := req["task_id"].(int64)
			return task, req
		}
		t1, r1 := taskOf(reqs[0])
		t2, _ := taskOf(reqs[1])
		t3, _ := taskOf(reqs[2])
		if t1 == 0 || t2 == 0 || t3 != 0 || r1["tries"] != int64(1) {
			t.Fatalf("after checkQueue: tasks %d %d %d (MaxRepoTasks 2), tries %v", t1, t2, t3, r1["tries"])
		}
		info := th.anon().must("getTaskInfo", t1, kw{"request": true}).(map[string]any)
		kojira, _ := th.store.GetUserByName(context.Background(), "kojira")
		ch, _ := th.store.GetChannelByName(context.Background(), "createrepo")
		if info["method"] != "newRepo" || info["priority"] != int64(15) || info["owner"] != kojira.ID || info["channel_id"] != ch.ID {
			t.Errorf("newRepo task = %v", info)
		}
		args := info["request"].([]any)
		spec, _ := args[0].(map[string]any)
		kwa, _ := args[1].(map[string]any)
		if spec["name"] != "a" || spec["id"] == nil || kwa["__starstar"] != true || len(kwa["opts"].(map[string]any)) != 0 {
			t.Errorf("newRepo request = %v, want Koji's [{id, name}, {opts: {}}]", args)
		}
		if _, err := os.Stat(filepath.Join(th.hub.cfg.TopDir, "repos")); err != nil {
			t.Errorf("checkQueue did not make the repos directory: %v", err)
		}
		// nothing changes on a second pass
		w.kojira.must("repo.checkQueue")
		if t3, _ := taskOf(reqs[2]); t3 != 0 {
			t.Errorf("second pass gave the third request task %d beyond MaxRepoTasks", t3)
		}
		// a canceled task is retried while tries <= RepoRetries, then the request is dropped
		w.admin.must("cancelTask", t1)
		w.kojira.must("repo.checkQueue")
		t1b, r1b := taskOf(reqs[0])
		if t1b == 0 || t1b == t1 || r1b["tries"] != int64(2) {
			t.Fatalf("after a canceled task: task %d (was %d), tries %v", t1b, t1, r1b["tries"])
		}
		if t3, _ := taskOf(reqs[2]); t3 != 0 {
			t.Errorf("third request got task %d beyond MaxRepoTasks", t3)
		}
		w.admin.must("cancelTask", t1b)
		w.kojira.must("repo.checkQueue")
		if _, r := taskOf(reqs[0]); r["active"] != false {
			t.Errorf("request after retries ran out = %v, want inactive", r)
		}
		if t3, _ := taskOf(reqs[2]); t3 == 0 {
			t.Error("third request got no task once a slot freed")
		}
		th.anon().fault(kojixml.ParameterError, "repo.checkQueue", int64(1))
	})
}

func TestNewRepoAndEvents(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		w := newRepoWorld(t, th)
		parent := w.admin.must("createTag", "f40").(int64)
		child := w.admin.must("createTag", "f40-build", kw{"parent": "f40", "arches": "x86_64"}).(int64)

		th.anon().fault(kojixml.AuthError, "newRepo", "f40-build")
		w.alice.fault(kojixml.ActionNotAllowed, "newRepo", "f40-build")
		w.admin.fault(kojixml.GenericError, "newRepo", "nosuch")
		w.admin.fault(kojixml.ParameterError, "newRepo", "f40-build", kw{"event": "x"})
		w.admin.fault(kojixml.ParameterError, "newRepo", "f40-build", kw{"event": int64(99999)})
		for _, c := range []*client{w.regen, w.kojira, w.admin} {
			id := c.must("newRepo", "f40-build").(int64)
			info := th.anon().must("getTaskInfo", id, kw{"request": true}).(map[string]any)
			if info["method"] != "newRepo" || info["priority"] != int64(15) {
				t.Errorf("newRepo task = %v", info)
			}
			if r := info["request"].([]any); len(r) != 1 || r[0] != "f40-build" {
				t.Errorf("newRepo request = %v, want ['f40-build'] as Koji", r)
			}
		}
		id := w.admin.must("newRepo", "f40-build", kw{"debuginfo": true}).(int64)
		r := th.anon().must("getTaskInfo", id, kw{"request": true}).(map[string]any)["request"].([]any)
		if kwa, _ := r[1].(map[string]any); kwa["debuginfo"] != true || kwa["src"] != nil {
			t.Errorf("newRepo(debuginfo=True) request = %v", r)
		}
		if _, err := os.Stat(filepath.Join(th.hub.cfg.TopDir, "repos")); err != nil {
			t.Errorf("newRepo did not make the repos directory: %v", err)
		}

		// tag change events follow inheritance, before=, and editTag2
		w.list(t, parent, "foo", false)
		evP := w.tag(t, parent, w.build(t, "foo", "1", "1", "foo.x86_64"))
		if got := th.anon().must("tagLastChangeEvent", "f40-build"); got != evP {
			t.Errorf("tagLastChangeEvent(child) = %v, want the parent's tagging %d", got, evP)
		}
		if got := th.anon().must("tagLastChangeEvent", "f40-build", kw{"inherit": false}); got == evP {
			t.Errorf("tagLastChangeEvent(inherit=False) = %v, saw the parent", got)
		}
		if got := th.anon().must("tagLastChangeEvent", child, kw{"before": evP}).(int64); got >= evP {
			t.Errorf("tagLastChangeEvent(before=%d) = %d", evP, got)
		}
		if ch := th.anon().must("tagChangedSinceEvent", evP-1, []any{parent}); ch != true {
			t.Errorf("tagChangedSinceEvent = %v", ch)
		}
		if ch := th.anon().must("tagChangedSinceEvent", evP, []any{parent, child}); ch != false {
			t.Errorf("tagChangedSinceEvent(last) = %v", ch)
		}
		if f := th.anon().must("tagFirstChangeEvent", "f40-build"); f == nil {
			t.Error("tagFirstChangeEvent = None")
		}
		th.anon().fault(kojixml.GenericError, "tagLastChangeEvent", "nosuch")
		th.anon().fault(kojixml.ParameterError, "tagLastChangeEvent", "f40", kw{"before": "x"})
		th.anon().fault(kojixml.ParameterError, "tagChangedSinceEvent", int64(1), []any{"f40"})
		th.anon().fault(kojixml.ParameterError, "tagChangedSinceEvent", int64(1), "f40")
		w.admin.must("editTag2", "f40-build", kw{"arches": "x86_64 aarch64"})
		evE := lastEvent(t, w.admin)
		if got := th.anon().must("tagLastChangeEvent", "f40-build"); got != evE {
			t.Errorf("after editTag2: tagLastChangeEvent = %v, want %d", got, evE)
		}

		// updateEndEvents: a READY repo gets the first later change as its end
		host, _ := th.addHost("builder1")
		rr := host.must("host.repoInit", "f40-build").([]any)
		host.must("host.repoDone", rr[0], map[string]any{})
		w.kojira.must("repo.updateEndEvents")
		if r := th.anon().must("repoInfo", rr[0]).(map[string]any); r["end_event"] != nil {
			t.Errorf("end_event of a current repo = %v", r["end_event"])
		}
		evT := w.tag(t, parent, w.build(t, "foo", "2", "1", "foo.x86_64"))
		w.kojira.must("repo.updateEndEvents")
		if r := th.anon().must("repoInfo", rr[0]).(map[string]any); r["end_event"] != evT {
			t.Errorf("end_event = %v, want %d", r["end_event"], evT)
		}
	})
}

func TestRepoAutoRequestsAndLag(t *testing.T) {
	later := func(c *Config) { c.Now = func() time.Time { return time.Now().Add(3 * time.Hour) } }
	forBackendsCfg(t, later, func(t *testing.T, th *testHub) {
		w := newRepoWorld(t, th)
		w.admin.must("createTag", "auto", kw{"extra": map[string]any{"repo.auto": true}})
		tag := w.admin.must("createTag", "manual").(int64)
		w.list(t, tag, "foo", false)
		last := w.tag(t, tag, w.build(t, "foo", "1", "1", "foo.x86_64"))
		// three hours on, every event is older than now-RepoLag: the last change
		def := w.alice.must("repo.request", "manual").(map[string]any)
		if me := def["request"].(map[string]any)["min_event"]; me != last {
			t.Errorf("default min_event = %v, want the last change %d", me, last)
		}
		w.kojira.must("repo.autoRequests")
		q := th.anon().must("repo.queryQueue", []any{[]any{"tag_name", "auto"}}, kw{"fields": "**"}).([]any)
		if len(q) != 1 || q[0].(map[string]any)["priority"] != int64(25) {
			t.Errorf("auto requests = %v, want one at priority 25", q)
		}
		w.kojira.must("repo.autoRequests")
		if q := th.anon().must("repo.queryQueue", []any{[]any{"tag_name", "auto"}}).([]any); len(q) != 1 {
			t.Errorf("second autoRequests made %d requests, want the same one", len(q))
		}
	})
}

func TestRepoConfigKeys(t *testing.T) {
	var c RepoConfig
	c.setDefaults()
	if c.MaxRepoTasks != 10 || c.MaxRepoTasksMaven != 2 || c.RepoRetries != 3 || c.RequestCleanTime != 24*time.Hour || c.DisableNewRepo ||
		c.RepoLag != time.Hour || c.RepoAutoLag != 2*time.Hour || c.RepoLagWindow != 10*time.Minute || c.RepoQueueUser != "kojira" {
		t.Errorf("RepoConfig defaults = %+v", c)
	}
	f := DefaultFileConfig()
	f.DB = "sqlite:///tmp/x.db"
	rc := f.repoConfig()
	rc.setDefaults()
	if rc != c {
		t.Errorf("hub.conf defaults map to %+v, want %+v", rc, c)
	}
	f.RepoRetries, f.RepoLag, f.AllowNewRepo = 0, 0, false
	rc = f.repoConfig()
	rc.setDefaults()
	if rc.RepoRetries != 0 || rc.RepoLag != 0 || !rc.DisableNewRepo {
		t.Errorf("RepoRetries = 0, RepoLag = 0, AllowNewRepo = false map to %+v", rc)
	}
	if err := f.Validate(); err != nil {
		t.Errorf("Validate = %v", err)
	}
	for _, bad := range []func(*FileConfig){
		func(f *FileConfig) { f.MaxRepoTasks = 0 },
		func(f *FileConfig) { f.RepoRetries = -1 },
		func(f *FileConfig) { f.RepoLag = -time.Second },
		func(f *FileConfig) { f.RepoLagWindow = 0 },
		func(f *FileConfig) { f.RepoQueueUser = "" },
	} {
		g := DefaultFileConfig()
		g.DB = "sqlite:///tmp/x.db"
		bad(&g)
		if err := g.Validate(); err == nil {
			t.Errorf("Validate accepted %+v", g)
		}
	}
}

// TestPyJSONLine checks the rpmlist.jsonl encoder against what Python's
// json.dumps printed for the same dict (python3 -c 'import json; print(json.dumps({...}))').
func TestPyJSONLine(t *testing.T) {
	got, err := pyJSONLine("name", "a\"b\\c\n\t\x01\x7f<>&é€😀", "id", int64(12), "epoch", nil, "draft", false, "x", "")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name": "a\"b\\c\n\t\u0001\u007f<>&\u00e9\u20ac\ud83d\ude00", "id": 12, "epoch": null, "draft": false, "x": ""}`
	if got != want {
		t.Errorf("pyJSONLine:\n got %s\nwant %s", got, want)
	}
}
