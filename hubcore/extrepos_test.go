package hubcore

import (
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"kojigo/internal/kojixml"
)

// keysOf returns a struct's field names, sorted.
func keysOf(v any) []string {
	m, _ := v.(map[string]any)
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Koji 1.35's result fields (kojihub.py get_external_repos and
// get_tag_external_repos).
var (
	extRepoKeys    = []string{"id", "name", "url"}
	tagExtRepoKeys = []string{"arches", "external_repo_id", "external_repo_name", "merge_mode", "priority", "tag_id", "tag_name", "url"}
)

func TestExternalRepoAdmin(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		th.addUser("alice", "pw")
		alice := th.login("alice", "pw")
		th.addUser("tagger", "pw", "tag")
		tagger := th.login("tagger", "pw")

		// permissions: admin only, as Koji
		th.anon().fault(kojixml.AuthError, "createExternalRepo", "fedora", "https://example.org/f40/$arch")
		if f := alice.fault(kojixml.ActionNotAllowed, "createExternalRepo", "fedora", "https://example.org/f40/$arch"); f.String != "admin permission required (logged in as alice)" {
			t.Errorf("createExternalRepo as alice = %q", f.String)
		}
		tagger.fault(kojixml.ActionNotAllowed, "createExternalRepo", "fedora", "https://example.org/f40/$arch")

		ev0 := lastEvent(t, admin)
		res := admin.must("createExternalRepo", "fedora", "https://example.org/f40/$arch")
		if !reflect.DeepEqual(keysOf(res), extRepoKeys) {
			t.Errorf("createExternalRepo keys = %v, want %v", keysOf(res), extRepoKeys)
		}
		fedora := res.(map[string]any)
		if fedora["name"] != "fedora" || fedora["url"] != "https://example.org/f40/$arch/" {
			t.Errorf("createExternalRepo = %v, want the url with a trailing slash and $arch kept", fedora)
		}
		id := fedora["id"].(int64)
		ev1 := lastEvent(t, admin)
		if ev1 <= ev0 {
			t.Errorf("createExternalRepo recorded no event")
		}
		if f := admin.fault(kojixml.GenericError, "createExternalRepo", "fedora", "http://other/"); f.String != `An external repo named "fedora" already exists` {
			t.Errorf("duplicate createExternalRepo = %q", f.String)
		}
		upd := admin.must("createExternalRepo", "updates", "file:///srv/updates/").(map[string]any)
		if upd["url"] != "file:///srv/updates/" {
			t.Errorf("file url = %v", upd["url"])
		}
		ev2 := lastEvent(t, admin)

		// refused names and URLs change nothing
		huge := strings.Repeat("x", 1<<20)
		for _, bad := range []struct {
			args []any
			code int
			msg  string
		}{
			{[]any{"bad name", "http://x/"}, kojixml.GenericError, "Name bad name does not match RegexNameInternal value"},
			{[]any{"", "http://x/"}, kojixml.GenericError, "does not match RegexNameInternal"},
			{[]any{int64(5), "http://x/"}, kojixml.GenericError, "Name should be string"},
			{[]any{strings.Repeat("n", 257), "http://x/"}, kojixml.GenericError, "Max length is 256 characters"},
			{[]any{huge, "http://x/"}, kojixml.GenericError, "Max length is 256 characters"},
			{[]any{"x'; DROP TABLE external_repos; --", "http://x/"}, kojixml.GenericError, "does not match RegexNameInternal"},
			{[]any{"new", nil}, kojixml.ParameterError, "url: expected a string"},
			{[]any{"new", int64(1)}, kojixml.ParameterError, "url: expected a string"},
			{[]any{"new", ""}, kojixml.ParameterError, "url: empty"},
			{[]any{"new", "ftp://mirror/f40/"}, kojixml.ParameterError, "scheme ftp is not supported"},
			{[]any{"new", "javascript:alert(1)"}, kojixml.ParameterError, "not supported"},
			{[]any{"new", "/srv/repo"}, kojixml.ParameterError, "not supported"},
			{[]any{"new", "http://x/a\x01b/"}, kojixml.ParameterError, "control character"},
			{[]any{"new", "http://x/a\nb/"}, kojixml.ParameterError, "control character"},
			{[]any{"new", "http://x/a\rb/"}, kojixml.ParameterError, "control character"},
			{[]any{"new", "http://x/a\tb/"}, kojixml.ParameterError, "control character"},
			{[]any{"new", "http://x/a\u0085b/"}, kojixml.ParameterError, "control character"},
			{[]any{"new", "http://x/a b/"}, kojixml.ParameterError, "whitespace"},
			{[]any{"new", "http://x/a\u00a0b/"}, kojixml.ParameterError, "whitespace"},
			{[]any{"new", "http:///nohost/"}, kojixml.ParameterError, "has no host"},
			{[]any{"new", "https:"}, kojixml.ParameterError, "has no host"},
			{[]any{"new", "file://host/srv/"}, kojixml.ParameterError, "absolute path"},
			{[]any{"new", "file:srv/repo"}, kojixml.ParameterError, "absolute path"},
			{[]any{"new", "http://x/repo?arch=x86_64"}, kojixml.ParameterError, "query or fragment"},
			{[]any{"new", "http://x/repo#top"}, kojixml.ParameterError, "query or fragment"},
			{[]any{"new", "file:///srv/../etc/"}, kojixml.ParameterError, "'..' segment"},
			{[]any{"new", "http://x/%zz/"}, kojixml.ParameterError, "cannot parse"},
			{[]any{"new", "http://x/" + huge}, kojixml.ParameterError, "exceeds the limit"},
			{[]any{"new"}, kojixml.ParameterError, "missing required argument: 'url'"},
			{[]any{"new", "http://x/", "extra"}, kojixml.ParameterError, "takes 2 positional arguments"},
		} {
			f := admin.fault(bad.code, "createExternalRepo", bad.args...)
			if !strings.Contains(f.String, bad.msg) {
				t.Errorf("createExternalRepo(%.40q) = %q, want %q in it", bad.args, f.String, bad.msg)
			}
			if len(f.String) > 600 {
				t.Errorf("createExternalRepo(%.40q): a %d-byte fault string", bad.args, len(f.String))
			}
		}
		if ev := lastEvent(t, admin); ev != ev2 {
			t.Errorf("refused calls recorded events: %d -> %d", ev2, ev)
		}

		// reads are anonymous
		anon := th.anon()
		for _, info := range []any{"fedora", id, map[string]any{"id": id}, map[string]any{"name": "fedora"}} {
			got := anon.must("getExternalRepo", info)
			if !reflect.DeepEqual(got, fedora) {
				t.Errorf("getExternalRepo(%v) = %v, want %v", info, got, fedora)
			}
		}
		if got := anon.must("getExternalRepo", "nosuch"); got != nil {
			t.Errorf("getExternalRepo(nosuch) = %v, want None", got)
		}
		if f := anon.fault(kojixml.GenericError, "getExternalRepo", "nosuch", kw{"strict": true}); f.String != "No such repo: nosuch" {
			t.Errorf("strict getExternalRepo(nosuch) = %q", f.String)
		}
		for _, hostile := range []any{"fedora' OR '1'='1", "%", huge, int64(-1)} {
			if got := anon.must("getExternalRepo", hostile); got != nil {
				t.Errorf("getExternalRepo(%.40v) = %v, want None", hostile, got)
			}
		}
		anon.fault(kojixml.ParameterError, "getExternalRepo", []any{"fedora"})
		anon.fault(kojixml.ParameterError, "getExternalRepo", 1.5)
		anon.fault(kojixml.ParameterError, "getExternalRepo", map[string]any{"id": "x"})

		all := anon.must("listExternalRepos").([]any)
		if len(all) != 2 || !reflect.DeepEqual(all[0], fedora) || all[1].(map[string]any)["name"] != "updates" {
			t.Errorf("listExternalRepos() = %v", all)
		}
		for _, c := range []struct {
			args []any
			want int
		}{
			{[]any{"fedora"}, 1},
			{[]any{id}, 1},
			{[]any{"nosuch"}, 0},
			{[]any{kw{"url": "file:///srv/updates/"}}, 1},
			{[]any{kw{"url": "file:///srv/updates"}}, 0}, // Koji matches the stored URL exactly
			{[]any{kw{"url": "' OR 1=1 --"}}, 0},
			{[]any{kw{"url": ""}}, 2},
			{[]any{kw{"info": "updates", "url": "file:///srv/updates/"}}, 1},
			{[]any{kw{"queryOpts": map[string]any{"limit": int64(1)}}}, 1},
		} {
			got := anon.must("listExternalRepos", c.args...).([]any)
			if len(got) != c.want {
				t.Errorf("listExternalRepos%v = %v, want %d repos", c.args, got, c.want)
			}
		}
		ordered := anon.must("listExternalRepos", kw{"queryOpts": map[string]any{"order": "-name"}}).([]any)
		if ordered[0].(map[string]any)["name"] != "updates" {
			t.Errorf("listExternalRepos ordered by -name = %v", ordered)
		}
		if n := anon.must("listExternalRepos", kw{"queryOpts": map[string]any{"countOnly": true}}); n != int64(2) {
			t.Errorf("listExternalRepos countOnly = %v", n)
		}
		anon.fault(kojixml.ParameterError, "listExternalRepos", kw{"url": int64(3)})
		anon.fault(kojixml.ParameterError, "listExternalRepos", kw{"bogus": 1})

		// edits: admin only; the URL keeps its history, the name does not (Koji)
		alice.fault(kojixml.ActionNotAllowed, "editExternalRepo", "fedora", kw{"url": "http://x/"})
		th.anon().fault(kojixml.AuthError, "editExternalRepo", "fedora", kw{"url": "http://x/"})
		before := lastEvent(t, admin)
		if got := admin.must("editExternalRepo", "fedora"); got != nil {
			t.Errorf("editExternalRepo with no change = %v", got)
		}
		admin.must("editExternalRepo", "fedora", kw{"name": "", "url": ""})
		admin.must("editExternalRepo", "fedora", kw{"url": "https://example.org/f40/$arch"}) // the same, once normalised
		if ev := lastEvent(t, admin); ev != before {
			t.Errorf("editExternalRepo without a change recorded an event")
		}
		admin.must("editExternalRepo", "fedora", kw{"url": "https://mirror.example.org/f40/$arch/"})
		evURL := lastEvent(t, admin)
		if evURL == before {
			t.Errorf("editExternalRepo recorded no event")
		}
		if f := admin.fault(kojixml.GenericError, "editExternalRepo", "fedora", kw{"name": "updates"}); f.String != `name "updates" is already taken by external repo `+strconv.FormatInt(upd["id"].(int64), 10) {
			t.Errorf("rename onto a taken name = %q", f.String)
		}
		admin.fault(kojixml.GenericError, "editExternalRepo", "fedora", kw{"name": "bad/../ name"})
		admin.fault(kojixml.ParameterError, "editExternalRepo", "fedora", kw{"url": "gopher://x/"})
		admin.fault(kojixml.GenericError, "editExternalRepo", "nosuch", kw{"url": "http://x/"})
		admin.must("editExternalRepo", id, "fedora-40")
		for _, c := range []struct {
			ev   int64
			want string
		}{{ev1, "https://example.org/f40/$arch/"}, {evURL - 1, "https://example.org/f40/$arch/"}, {evURL, "https://mirror.example.org/f40/$arch/"}} {
			got := anon.must("getExternalRepo", id, kw{"event": c.ev}).(map[string]any)
			if got["url"] != c.want || got["name"] != "fedora-40" {
				t.Errorf("getExternalRepo(%d, event=%d) = %v, want url %s", id, c.ev, got, c.want)
			}
		}
		if got := anon.must("getExternalRepo", id, kw{"event": ev0}); got != nil {
			t.Errorf("getExternalRepo before its creation = %v", got)
		}
		if got := anon.must("listExternalRepos", kw{"event": ev1}).([]any); len(got) != 1 {
			t.Errorf("listExternalRepos(event=%d) = %v, want fedora alone", ev1, got)
		}
		if got := anon.must("getExternalRepo", "fedora"); got != nil {
			t.Errorf("getExternalRepo by the old name = %v", got)
		}

		// delete: admin only; the name stays taken and comes back with its id
		alice.fault(kojixml.ActionNotAllowed, "deleteExternalRepo", "updates")
		tagger.fault(kojixml.ActionNotAllowed, "deleteExternalRepo", "updates")
		if got := admin.must("deleteExternalRepo", "updates"); got != nil {
			t.Errorf("deleteExternalRepo = %v", got)
		}
		evDel := lastEvent(t, admin)
		if f := admin.fault(kojixml.GenericError, "deleteExternalRepo", "updates"); f.String != "No such repo: updates" {
			t.Errorf("second deleteExternalRepo = %q", f.String)
		}
		if got := anon.must("getExternalRepo", "updates", kw{"event": evDel - 1}); got == nil {
			t.Errorf("getExternalRepo just before the deletion = None")
		}
		if f := admin.fault(kojixml.GenericError, "editExternalRepo", "fedora-40", kw{"name": "updates"}); !strings.Contains(f.String, "already taken") {
			t.Errorf("rename onto a deleted repo's name = %q", f.String)
		}
		again := admin.must("createExternalRepo", "updates", "http://new/").(map[string]any)
		if again["id"] != upd["id"] {
			t.Errorf("re-created updates has id %v, want the old %v (as Koji)", again["id"], upd["id"])
		}
	})
}

// TestNormalizeRepoURL covers what cannot reach the hub through XML-RPC
// (control characters XML cannot carry) and the URLs it keeps.
func TestNormalizeRepoURL(t *testing.T) {
	for _, c := range []struct {
		in, want string // want "" for refused
	}{
		{"http://x/a\x00b", ""},
		{"http://x/a\x01b", ""},
		{"http://x/a\x7fb", ""},
		{"http://x/a\x1bb", ""},
		{"http://x/a\xffb", ""},
		{"https://kojipkgs.example.org/repos/f40-build/latest/$arch", "https://kojipkgs.example.org/repos/f40-build/latest/$arch/"},
		{"HTTPS://Example.org/Repo/", "HTTPS://Example.org/Repo/"},
		{"http://user:pw@mirror:8080/f40/", "http://user:pw@mirror:8080/f40/"},
		{"http://[::1]:8080/repo", "http://[::1]:8080/repo/"},
		{"http://mirror/a%20b", "http://mirror/a%20b/"},
		{"file:///srv/repos/$arch", "file:///srv/repos/$arch/"},
		{"http://mirror", "http://mirror/"},
	} {
		got, err := normalizeRepoURL(c.in)
		if c.want == "" {
			if err == nil {
				t.Errorf("normalizeRepoURL(%q) = %q, want refused", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("normalizeRepoURL(%q) = %q, %v, want %q", c.in, got, err, c.want)
		}
	}
}

// repoNames lists the external_repo_name of getTagExternalRepos-shaped rows.
func repoNames(t *testing.T, v any) []string {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("want a list, got %T %v", v, v)
	}
	out := []string{}
	for _, x := range l {
		m := x.(map[string]any)
		if got := keysOf(m); !reflect.DeepEqual(got, tagExtRepoKeys) {
			t.Errorf("row keys = %v, want Koji's %v", got, tagExtRepoKeys)
		}
		out = append(out, m["external_repo_name"].(string))
	}
	return out
}

func TestTagExternalRepos(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		th.addUser("alice", "pw")
		alice := th.login("alice", "pw")
		th.addUser("tagger", "pw", "tag")
		tagger := th.login("tagger", "pw")
		anon := th.anon()

		for _, n := range []string{"base", "f40", "f40-override"} {
			tagger.must("createTag", n)
		}
		build := tagger.must("createTag", "f40-build").(int64)
		link := func(child, parent string, prio int64, extra map[string]any) {
			p := anon.must("getTag", parent).(map[string]any)
			l := map[string]any{"parent_id": p["id"], "priority": prio, "maxdepth": nil, "intransitive": false, "noconfig": false, "pkg_filter": ""}
			for k, v := range extra {
				l[k] = v
			}
			tagger.must("setInheritanceData", child, []any{l})
		}
		link("f40-build", "f40-override", 0, nil)
		link("f40-build", "f40", 10, nil)
		link("f40-override", "base", 0, nil)
		for _, r := range []string{"r1", "r2", "r3", "r4", "r5", "spare"} {
			admin.must("createExternalRepo", r, "http://mirror/"+r+"/$arch")
		}

		// permissions: tag (or admin), as Koji
		th.anon().fault(kojixml.AuthError, "addExternalRepoToTag", "f40-build", "r1", int64(20))
		if f := alice.fault(kojixml.ActionNotAllowed, "addExternalRepoToTag", "f40-build", "r1", int64(20)); f.String != "tag permission required (logged in as alice)" {
			t.Errorf("addExternalRepoToTag as alice = %q", f.String)
		}
		evBefore := lastEvent(t, admin)
		if got := tagger.must("addExternalRepoToTag", "f40-build", "r1", int64(20), kw{"arches": "x86_64  aarch64"}); got != nil {
			t.Errorf("addExternalRepoToTag = %v, want None", got)
		}
		evAdd := lastEvent(t, admin)
		if evAdd <= evBefore {
			t.Errorf("addExternalRepoToTag recorded no event")
		}
		admin.must("addExternalRepoToTag", build, map[string]any{"name": "r2"}, "10", kw{"merge_mode": "simple", "arches": []any{"x86_64"}})
		tagger.must("addExternalRepoToTag", "f40-override", "r3", int64(5), kw{"merge_mode": nil})
		tagger.must("addExternalRepoToTag", "base", "r4", int64(1), kw{"merge_mode": "bare"})
		tagger.must("addExternalRepoToTag", "base", "r1", int64(2))
		tagger.must("addExternalRepoToTag", "f40", "r5", int64(0), "koji", "")

		own := anon.must("getTagExternalRepos", "f40-build").([]any)
		if got := repoNames(t, own); !reflect.DeepEqual(got, []string{"r2", "r1"}) {
			t.Errorf("getTagExternalRepos(f40-build) = %v, want [r2 r1] by priority", got)
		}
		r2 := own[0].(map[string]any)
		want := map[string]any{"external_repo_id": r2["external_repo_id"], "external_repo_name": "r2", "priority": int64(10), "tag_id": build,
			"tag_name": "f40-build", "url": "http://mirror/r2/$arch/", "merge_mode": "simple", "arches": "x86_64"}
		if !reflect.DeepEqual(r2, want) {
			t.Errorf("getTagExternalRepos row = %v, want %v", r2, want)
		}
		if a := own[1].(map[string]any)["arches"]; a != "x86_64 aarch64" {
			t.Errorf("arches = %q, want normalised to one space", a)
		}
		if got := anon.must("getTagExternalRepos", "f40-override").([]any)[0].(map[string]any); got["merge_mode"] != "koji" || got["arches"] != nil {
			t.Errorf("merge_mode None and no arches = %v, want koji and None", got)
		}
		if got := anon.must("getTagExternalRepos", "f40").([]any)[0].(map[string]any); got["arches"] != "" {
			t.Errorf("arches '' = %v, want '' (Koji keeps it)", got["arches"])
		}
		if got := repoNames(t, anon.must("getTagExternalRepos", kw{"repo_info": "r1"})); !reflect.DeepEqual(got, []string{"r1", "r1"}) {
			t.Errorf("getTagExternalRepos(repo_info=r1) = %v", got)
		}
		if got := repoNames(t, anon.must("getTagExternalRepos", "base", "r1")); !reflect.DeepEqual(got, []string{"r1"}) {
			t.Errorf("getTagExternalRepos(base, r1) = %v", got)
		}
		if got := repoNames(t, anon.must("getTagExternalRepos", "base", "r5")); len(got) != 0 {
			t.Errorf("getTagExternalRepos(base, r5) = %v", got)
		}
		if got := repoNames(t, anon.must("getTagExternalRepos")); len(got) != 6 || got[0] != "r5" {
			t.Errorf("getTagExternalRepos() = %v, want all six by priority", got)
		}
		if f := anon.fault(kojixml.GenericError, "getTagExternalRepos", "nosuch"); f.String != "No such entry in table tag: nosuch" {
			t.Errorf("getTagExternalRepos(nosuch) = %q", f.String)
		}
		if f := anon.fault(kojixml.GenericError, "getTagExternalRepos", kw{"repo_info": "nosuch"}); f.String != "No such repo: nosuch" {
			t.Errorf("getTagExternalRepos(repo_info=nosuch) = %q", f.String)
		}
		anon.fault(kojixml.GenericError, "getTagExternalRepos", "f40'; DROP TABLE tags; --")
		anon.fault(kojixml.ParameterError, "getTagExternalRepos", []any{"f40"})

		// inheritance: the tag's own by priority, then its full inheritance
		// depth first, a repo once where it first appears (r1 of base is
		// r1 of f40-build)
		if got := repoNames(t, anon.must("getExternalRepoList", "f40-build")); !reflect.DeepEqual(got, []string{"r2", "r1", "r3", "r4", "r5"}) {
			t.Errorf("getExternalRepoList(f40-build) = %v, want [r2 r1 r3 r4 r5]", got)
		}
		full := anon.must("getExternalRepoList", build).([]any)
		if tn := full[3].(map[string]any)["tag_name"]; tn != "base" {
			t.Errorf("r4 comes from %v, want base", tn)
		}
		if got := repoNames(t, anon.must("getExternalRepoList", "base")); !reflect.DeepEqual(got, []string{"r4", "r1"}) {
			t.Errorf("getExternalRepoList(base) = %v", got)
		}
		anon.fault(kojixml.GenericError, "getExternalRepoList", "nosuch")
		evInh := lastEvent(t, admin)
		link("f40-build", "f40-override", 0, map[string]any{"maxdepth": int64(0)})
		if got := repoNames(t, anon.must("getExternalRepoList", "f40-build")); !reflect.DeepEqual(got, []string{"r2", "r1", "r3", "r5"}) {
			t.Errorf("getExternalRepoList(f40-build) with maxdepth 0 to f40-override = %v, want [r2 r1 r3 r5]", got)
		}
		if got := repoNames(t, anon.must("getExternalRepoList", "f40-build", kw{"event": evInh})); len(got) != 5 {
			t.Errorf("getExternalRepoList(event=%d) = %v, want the five of then", evInh, got)
		}
		if got := repoNames(t, anon.must("getExternalRepoList", "f40-build", kw{"event": evAdd})); !reflect.DeepEqual(got, []string{"r1"}) {
			t.Errorf("getExternalRepoList(event=%d) = %v, want [r1]", evAdd, got)
		}

		// refused additions change nothing
		evRefused := lastEvent(t, admin)
		for _, bad := range []struct {
			args []any
			code int
			msg  string
		}{
			{[]any{"f40-build", "r1", int64(30)}, kojixml.GenericError, "tag f40-build already associated with external repo r1"},
			{[]any{"f40-build", "spare", int64(20)}, kojixml.GenericError, "tag f40-build already associated with an external repo at priority 20"},
			{[]any{"f40-build", "spare", int64(30), "fancy"}, kojixml.GenericError, "No such merge mode: fancy"},
			{[]any{"f40-build", "spare", int64(30), int64(1)}, kojixml.GenericError, "No such merge mode: 1"},
			{[]any{"f40-build", "spare", int64(30), "KOJI"}, kojixml.GenericError, "No such merge mode: KOJI"},
			{[]any{"nosuch", "spare", int64(30)}, kojixml.GenericError, "No such tagInfo: 'nosuch'"},
			{[]any{"f40-build", "nosuch", int64(30)}, kojixml.GenericError, "No such repo: nosuch"},
			{[]any{"f40-build", "spare", int64(30), "koji", "x86_64,aarch64"}, kojixml.GenericError, "Architecture can be only [a-zA-Z0-9_-]"},
			{[]any{"f40-build", "spare", int64(30), "koji", "x86_64; rm -rf /"}, kojixml.GenericError, "Architecture can be only"},
			{[]any{"f40-build", "spare", int64(30), "koji", []any{"x86 64"}}, kojixml.GenericError, "Architecture can be only"},
			{[]any{"f40-build", "spare", int64(30), "koji", []any{int64(1)}}, kojixml.ParameterError, "arches"},
			{[]any{"f40-build", "spare", int64(30), "koji", int64(7)}, kojixml.ParameterError, "arches"},
			{[]any{"f40-build", "spare", int64(30), "koji", strings.Repeat("x86_64 ", 1000)}, kojixml.ParameterError, "exceeds the limit"},
			{[]any{"f40-build", "spare", "high"}, kojixml.ParameterError, "Invalid type for value 'high': <class 'str'>, expected type <class 'int'>"},
			{[]any{"f40-build", "spare", nil}, kojixml.ParameterError, "Invalid type, expected type <class 'int'>"},
			{[]any{"f40-build", "spare", int64(1) << 40}, kojixml.ParameterError, "out of range"},
			{[]any{"f40-build", "spare", []any{}}, kojixml.ParameterError, "Invalid type"},
			{[]any{"f40-build", "spare"}, kojixml.ParameterError, "missing required argument: 'priority'"},
			{[]any{"f40-build", "spare", int64(30), kw{"mode": "koji"}}, kojixml.ParameterError, "mode"},
		} {
			f := tagger.fault(bad.code, "addExternalRepoToTag", bad.args...)
			if !strings.Contains(f.String, bad.msg) {
				t.Errorf("addExternalRepoToTag%.80v = %q, want %q in it", bad.args, f.String, bad.msg)
			}
		}
		if ev := lastEvent(t, admin); ev != evRefused {
			t.Errorf("refused calls recorded events: %d -> %d", evRefused, ev)
		}

		// edits: False when nothing changes, True and one event otherwise;
		// the old settings stay readable at their event
		th.anon().fault(kojixml.AuthError, "editTagExternalRepo", "f40-build", "r1", kw{"priority": int64(30)})
		alice.fault(kojixml.ActionNotAllowed, "editTagExternalRepo", "f40-build", "r1", kw{"priority": int64(30)})
		for _, same := range []kw{{}, {"priority": int64(20)}, {"merge_mode": "koji"}, {"arches": "x86_64 aarch64"}, {"arches": []any{"x86_64", "aarch64"}}} {
			if got := tagger.must("editTagExternalRepo", "f40-build", "r1", same); got != false {
				t.Errorf("editTagExternalRepo(%v) = %v, want False", same, got)
			}
		}
		if ev := lastEvent(t, admin); ev != evRefused {
			t.Errorf("editTagExternalRepo without a change recorded an event")
		}
		if got := tagger.must("editTagExternalRepo", "f40-build", "r1", kw{"priority": int64(5), "merge_mode": "bare"}); got != true {
			t.Errorf("editTagExternalRepo = %v, want True", got)
		}
		evEdit := lastEvent(t, admin)
		if evEdit != evRefused+1 {
			t.Errorf("editTagExternalRepo recorded events %d..%d, want one", evRefused+1, evEdit)
		}
		now := anon.must("getTagExternalRepos", "f40-build").([]any)
		if got := repoNames(t, now); !reflect.DeepEqual(got, []string{"r1", "r2"}) || now[0].(map[string]any)["merge_mode"] != "bare" || now[0].(map[string]any)["arches"] != "x86_64 aarch64" {
			t.Errorf("after the edit: %v", now)
		}
		then := anon.must("getTagExternalRepos", "f40-build", kw{"event": evEdit - 1}).([]any)
		if got := repoNames(t, then); !reflect.DeepEqual(got, []string{"r2", "r1"}) || then[1].(map[string]any)["priority"] != int64(20) {
			t.Errorf("as of event %d: %v", evEdit-1, then)
		}
		for _, bad := range []struct {
			args []any
			code int
			msg  string
		}{
			{[]any{"f40-build", "r2", kw{"priority": int64(5)}}, kojixml.GenericError, "tag f40-build already associated with an external repo at priority 5"},
			{[]any{"f40-build", "r2", kw{"merge_mode": "fancy"}}, kojixml.GenericError, "No such merge mode: fancy"},
			{[]any{"f40-build", "r2", kw{"arches": "a,b"}}, kojixml.GenericError, "Architecture can be only"},
			{[]any{"f40-build", "r2", kw{"priority": "x"}}, kojixml.ParameterError, "Invalid type for value 'x'"},
			{[]any{"f40-build", "r5"}, kojixml.GenericError, "external repo r5 not associated with tag f40-build"},
			{[]any{"f40-build", "nosuch"}, kojixml.GenericError, "No such repo: nosuch"},
			{[]any{"nosuch", "r1"}, kojixml.GenericError, "No such tagInfo: 'nosuch'"},
		} {
			f := tagger.fault(bad.code, "editTagExternalRepo", bad.args...)
			if !strings.Contains(f.String, bad.msg) {
				t.Errorf("editTagExternalRepo%v = %q, want %q in it", bad.args, f.String, bad.msg)
			}
		}
		if ev := lastEvent(t, admin); ev != evEdit {
			t.Errorf("refused edits recorded events")
		}

		// removal
		th.anon().fault(kojixml.AuthError, "removeExternalRepoFromTag", "f40", "r5")
		alice.fault(kojixml.ActionNotAllowed, "removeExternalRepoFromTag", "f40", "r5")
		if got := tagger.must("removeExternalRepoFromTag", "f40", "r5"); got != nil {
			t.Errorf("removeExternalRepoFromTag = %v", got)
		}
		if f := tagger.fault(kojixml.GenericError, "removeExternalRepoFromTag", "f40", "r5"); f.String != "external repo r5 not associated with tag f40" {
			t.Errorf("second removeExternalRepoFromTag = %q", f.String)
		}
		tagger.fault(kojixml.GenericError, "removeExternalRepoFromTag", "nosuch", "r5")
		tagger.fault(kojixml.GenericError, "removeExternalRepoFromTag", "f40", "nosuch")
		// and back at a priority another repo had before
		tagger.must("addExternalRepoToTag", "f40", "r5", int64(0))

		// deleting a repo in use: refused without clean, else removed from
		// its tags in the same event (Koji's deleteExternalRepo)
		evDel0 := lastEvent(t, admin)
		if f := admin.fault(kojixml.GenericError, "deleteExternalRepo", "r1", kw{"clean": false}); f.String != "external repo r1 is used by tag(s): base, f40-build; remove it from them, or delete with clean=True" {
			t.Errorf("deleteExternalRepo(r1, clean=False) = %q", f.String)
		}
		if ev := lastEvent(t, admin); ev != evDel0 {
			t.Errorf("refused deleteExternalRepo recorded an event")
		}
		admin.must("deleteExternalRepo", "spare", false) // not in use
		admin.must("deleteExternalRepo", "r1")
		evDel := lastEvent(t, admin)
		if evDel != evDel0+2 {
			t.Errorf("two deletions recorded events %d..%d", evDel0+1, evDel)
		}
		if got := repoNames(t, anon.must("getExternalRepoList", "f40-build")); !reflect.DeepEqual(got, []string{"r2", "r3", "r5"}) {
			t.Errorf("getExternalRepoList(f40-build) after deleting r1 = %v, want [r2 r3 r5] (base is beyond maxdepth)", got)
		}
		if f := anon.fault(kojixml.GenericError, "getTagExternalRepos", kw{"repo_info": "r1"}); f.String != "No such repo: r1" {
			t.Errorf("getTagExternalRepos(repo_info=r1) after deletion = %q", f.String)
		}
		if got := repoNames(t, anon.must("getTagExternalRepos", kw{"repo_info": "r1", "event": evDel - 1})); len(got) != 2 {
			t.Errorf("uses of r1 just before its deletion = %v, want two", got)
		}
		// the name comes back with its id, and with no tags
		admin.must("createExternalRepo", "r1", "http://mirror/r1-new/")
		if got := repoNames(t, anon.must("getTagExternalRepos", kw{"repo_info": "r1"})); len(got) != 0 {
			t.Errorf("re-created r1 is used by %v", got)
		}

		// a deleted tag uses nothing
		tagger.must("deleteTag", "f40")
		if got := repoNames(t, anon.must("getTagExternalRepos", kw{"repo_info": "r5"})); len(got) != 0 {
			t.Errorf("r5 used by a deleted tag: %v", got)
		}
	})
}

// TestTagExternalRepoRace: concurrent additions at one priority leave one
// winner; the others get Koji's fault, not a driver error.
func TestTagExternalRepoRace(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		admin.must("createTag", "f40")
		const n = 6
		clients := make([]*client, n)
		for i := range clients {
			admin.must("createExternalRepo", "r"+strconv.Itoa(i), "http://mirror/"+strconv.Itoa(i)+"/")
			clients[i] = th.login(th.ensureAdmin(), "adminpw")
		}
		errs := make(chan error, n)
		for i, c := range clients {
			go func() {
				_, err := c.call("addExternalRepoToTag", "f40", "r"+strconv.Itoa(i), int64(10))
				errs <- err
			}()
		}
		won := 0
		for range n {
			err := <-errs
			if err == nil {
				won++
				continue
			}
			f, ok := err.(*kojixml.Fault)
			if !ok || f.Code != kojixml.GenericError || !strings.Contains(f.String, "already associated with an external repo at priority 10") {
				t.Errorf("losing addExternalRepoToTag = %v", err)
			}
		}
		if got := repoNames(t, admin.must("getTagExternalRepos", "f40")); won != 1 || len(got) != 1 {
			t.Errorf("%d calls won, the tag uses %v; want one", won, got)
		}
	})
}

// TestSetExternalRepoData: Koji 1.35's repo.setExternalRepoData and
// repo.getExternalRepoData (kojira's check_external_repos): permission
// repo, Koji's argument checks, and a data change is a change of every tag
// using the repo, with inheritance, not of other tags; a current repo of
// such a tag gets an end event from repo.updateEndEvents.
func TestSetExternalRepoData(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		w := newRepoWorld(t, th)
		admin, alice, kojira, anon := w.admin, w.alice, w.kojira, th.anon()
		th.addUser("tagger", "pw", "tag")
		tagger := th.login("tagger", "pw")

		repo := admin.must("createExternalRepo", "fedora", "https://example.org/f40/$arch").(map[string]any)["id"].(int64)
		admin.must("createExternalRepo", "other", "https://example.org/other/")
		parent := tagger.must("createTag", "f40").(int64)
		build := tagger.must("createTag", "f40-build").(int64)
		el9 := tagger.must("createTag", "el9").(int64)
		tagger.must("setInheritanceData", "f40-build", []any{map[string]any{"parent_id": parent, "priority": int64(0),
			"maxdepth": nil, "intransitive": false, "noconfig": false, "pkg_filter": ""}})
		tagger.must("addExternalRepoToTag", "f40", "fedora", int64(10))
		tagger.must("addExternalRepoToTag", "el9", "other", int64(10))

		// permission: repo (or admin)
		anon.fault(kojixml.AuthError, "repo.setExternalRepoData", repo, map[string]any{"max_ts": int64(1)})
		if f := alice.fault(kojixml.ActionNotAllowed, "repo.setExternalRepoData", repo, map[string]any{"max_ts": int64(1)}); f.String != "repo permission required (logged in as alice)" {
			t.Errorf("setExternalRepoData as alice = %q", f.String)
		}
		tagger.fault(kojixml.ActionNotAllowed, "repo.setExternalRepoData", repo, map[string]any{"max_ts": int64(1)})
		if v := anon.must("repo.getExternalRepoData", repo); v != nil {
			t.Errorf("getExternalRepoData before any = %v, want None", v)
		}

		// argument checks, as Koji's get_external_repo_id and convert_value(cast=dict)
		big := map[string]any{"blob": strings.Repeat("x", 70<<10)}
		for _, bad := range []struct {
			args []any
			code int
			msg  string
		}{
			{[]any{int64(9999), map[string]any{}}, kojixml.GenericError, "No such entry in table external_repo: 9999"},
			{[]any{"nope", map[string]any{}}, kojixml.GenericError, "No such entry in table external_repo: nope"},
			{[]any{1.5, map[string]any{}}, kojixml.ParameterError, "Invalid name or id value: 1.5"},
			{[]any{repo, nil}, kojixml.ParameterError, "Invalid type, expected type <class 'dict'>"},
			{[]any{repo, int64(5)}, kojixml.ParameterError, "Invalid type for value '5': <class 'int'>, expected type <class 'dict'>"},
			{[]any{repo, "max_ts"}, kojixml.ParameterError, "expected type <class 'dict'>"},
			{[]any{repo, []any{"ab", "cd"}}, kojixml.ParameterError, "expected type <class 'dict'>"},
			{[]any{repo, big}, kojixml.ParameterError, "more than the limit of 65536"},
			{[]any{repo}, kojixml.ParameterError, "data"},
		} {
			f := kojira.fault(bad.code, "repo.setExternalRepoData", bad.args...)
			if !strings.Contains(f.String, bad.msg) {
				t.Errorf("setExternalRepoData%.60v = %q, want %q in it", bad.args, f.String, bad.msg)
			}
		}
		if v := anon.must("repo.getExternalRepoData", "fedora"); v != nil {
			t.Errorf("a refused setExternalRepoData stored %v", v)
		}

		last := func(tag string) int64 {
			t.Helper()
			v, _ := anon.must("tagLastChangeEvent", tag).(int64)
			return v
		}
		host, _ := th.addHost("builder1")
		rr := host.must("host.repoInit", "f40-build").([]any)
		host.must("host.repoDone", rr[0], map[string]any{})
		kojira.must("repo.updateEndEvents")
		b4 := map[string]int64{"f40": last("f40"), "f40-build": last("f40-build"), "el9": last("el9")}

		if v := kojira.must("repo.setExternalRepoData", repo, map[string]any{"max_ts": int64(1700000000)}); v != nil {
			t.Errorf("setExternalRepoData = %v, want None", v)
		}
		ev := lastEvent(t, kojira)
		if got := anon.must("repo.getExternalRepoData", repo); !reflect.DeepEqual(got, map[string]any{"max_ts": int64(1700000000)}) {
			t.Errorf("getExternalRepoData = %#v", got)
		}
		for tag, want := range map[string]int64{"f40": ev, "f40-build": ev, "el9": b4["el9"]} {
			if got := last(tag); got != want {
				t.Errorf("tagLastChangeEvent(%s) = %d, want %d (before: %d)", tag, got, want, b4[tag])
			}
		}
		if ch := anon.must("tagChangedSinceEvent", ev-1, []any{build, parent}); ch != true {
			t.Errorf("tagChangedSinceEvent(f40-build) = %v", ch)
		}
		if ch := anon.must("tagChangedSinceEvent", ev-1, []any{el9}); ch != false {
			t.Errorf("tagChangedSinceEvent(el9) = %v", ch)
		}
		kojira.must("repo.updateEndEvents")
		if r := anon.must("repoInfo", rr[0]).(map[string]any); r["end_event"] != ev {
			t.Errorf("end_event of f40-build's repo = %v, want the data change %d", r["end_event"], ev)
		}

		// a list of pairs is a dict (Python's dict()); a struct with a name; admin may
		admin.must("repo.setExternalRepoData", map[string]any{"name": "fedora"}, []any{[]any{"max_ts", int64(1700000100)}, []any{"note", "x"}})
		if got := anon.must("repo.getExternalRepoData", map[string]any{"id": repo}); !reflect.DeepEqual(got, map[string]any{"max_ts": int64(1700000100), "note": "x"}) {
			t.Errorf("getExternalRepoData after pairs = %#v", got)
		}
		if got := last("f40-build"); got <= ev {
			t.Errorf("second data change did not move tagLastChangeEvent(f40-build): %d", got)
		}
		anon.fault(kojixml.GenericError, "repo.getExternalRepoData", "nope")
	})
}

func TestGetAllArches(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		if got := th.anon().must("getAllArches"); !reflect.DeepEqual(got, []any{}) {
			t.Errorf("getAllArches without hosts = %#v", got)
		}
		th.addHost("b1", "x86_64", "i686")
		th.addHost("b2", "aarch64", "x86_64")
		got := th.anon().must("getAllArches").([]any)
		var s []string
		for _, a := range got {
			s = append(s, a.(string))
		}
		sort.Strings(s)
		if want := []string{"aarch64", "i386", "x86_64"}; !reflect.DeepEqual(s, want) {
			t.Errorf("getAllArches = %v, want %v (canonical)", s, want)
		}
	})
}
