package hubcore

import (
	"sort"
	"strings"
	"testing"
	"time"

	"kojigo/internal/kojixml"
)

func searchNames(t *testing.T, v any) []string {
	t.Helper()
	var out []string
	for _, x := range v.([]any) {
		m := x.(map[string]any)
		if _, ok := m["id"].(int64); !ok || len(m) != 2 {
			t.Errorf("search entry = %v, want {id, name}", m)
		}
		out = append(out, m["name"].(string))
	}
	sort.Strings(out)
	return out
}

func TestSearch(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		anon := th.anon()
		for _, nvr := range [][3]string{{"foo", "1", "1"}, {"foobar", "2", "1"}, {"bar", "1", "1"}} {
			admin.must("createEmptyBuild", nvr[0], nvr[1], nvr[2], nil)
		}
		importHello(t, th, admin)
		admin.must("createTag", "f40-build")
		admin.must("createTag", "f40")
		admin.must("createTag", "gone")
		admin.must("deleteTag", "gone")
		admin.must("createBuildTarget", "f40-candidate", "f40-build", "f40")
		th.addUser("alice", "pw")
		th.addHost("builder1", "x86_64")

		for _, c := range []struct {
			terms, typ, match string
			want              string
		}{
			{"foo*", "package", "glob", "foo foobar"},
			{"FOO*", "package", "glob", "foo foobar"},
			{"f?o", "package", "glob", "foo"},
			{"%", "package", "glob", ""},
			{"_oo", "package", "glob", ""},
			{"fo\\", "package", "glob", ""},
			{"foo", "package", "exact", "foo"},
			{"Foo", "package", "exact", ""},
			{"foo", "package", "whatever", "foo"},
			{"^foo(bar)?$", "package", "regexp", "foo foobar"},
			{"^FOO", "package", "regexp", "foo foobar"},
			{"ba", "package", "regexp", "bar foobar"},
			{"foo-1*", "build", "glob", "foo-1-1"},
			{"hello-1.0-1", "build", "exact", "hello-1.0-1"},
			{"-2-", "build", "regexp", "foobar-2-1"},
			{"hello*.rpm", "rpm", "glob", "hello-1.0-1.src.rpm hello-1.0-1.x86_64.rpm"},
			{"\\.src\\.rpm$", "rpm", "regexp", "hello-1.0-1.src.rpm"},
			{"f40*", "tag", "glob", "f40 f40-build"},
			{"gone", "tag", "exact", ""},
			{"*candidate", "target", "glob", "f40-candidate"},
			{"ali*", "user", "glob", "alice"},
			{"builder?", "host", "glob", "builder1"},
			{"*", "file", "glob", ""},
			{"*", "maven", "glob", ""},
			{"*", "win", "glob", ""},
		} {
			got := searchNames(t, anon.must("search", c.terms, c.typ, c.match))
			if strings.Join(got, " ") != c.want {
				t.Errorf("search(%q, %q, %q) = %v, want %q", c.terms, c.typ, c.match, got, c.want)
			}
		}

		// queryOpts
		l := anon.must("search", "*", "package", "glob", map[string]any{"order": "-name", "limit": int64(2)}).([]any)
		if len(l) != 2 || l[0].(map[string]any)["name"] != "hello" || l[1].(map[string]any)["name"] != "foobar" {
			t.Errorf("search order -name limit 2 = %v", l)
		}
		l = anon.must("search", "*", "package", "glob", map[string]any{"order": "name", "offset": int64(1), "limit": int64(1)}).([]any)
		if len(l) != 1 || l[0].(map[string]any)["name"] != "foo" {
			t.Errorf("search offset 1 = %v", l)
		}
		if n := anon.must("search", "foo*", "package", "glob", kw{"queryOpts": map[string]any{"countOnly": true}}); n != int64(2) {
			t.Errorf("search countOnly = %v", n)
		}
		if l := anon.must("search", "foo", "package", "exact", map[string]any{"asList": true}).([]any); len(l) != 1 || len(l[0].([]any)) != 2 {
			t.Errorf("search asList = %v", l)
		}

		// a catastrophic pattern for a backtracking engine answers quickly
		admin.must("createEmptyBuild", strings.Repeat("a", 60)+"x", "1", "1", nil)
		start := time.Now()
		if got, err := anon.call("search", "^(a+)+$", "package", "regexp"); err == nil {
			if len(got.([]any)) != 0 {
				t.Errorf("catastrophic regexp = %v", got)
			}
		} else if f, ok := err.(*kojixml.Fault); !ok || f.Code != kojixml.GenericError {
			t.Errorf("catastrophic regexp = %v", err)
		}
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("catastrophic regexp took %v", d)
		}

		for _, c := range []struct {
			args []any
			want string
		}{
			{[]any{"", "package", "glob"}, "empty search terms"},
			{[]any{nil, "package", "glob"}, "empty search terms"},
			{[]any{"x", "nosuch", "glob"}, "No such search type: nosuch"},
			{[]any{"x", int64(1), "glob"}, "No such search type: 1"},
			{[]any{int64(5), "package", "glob"}, "Invalid type for terms"},
			{[]any{"(", "package", "regexp"}, "Invalid regular expression"},
			{[]any{"[a", "build", "regexp"}, "Invalid regular expression"},
			{[]any{strings.Repeat("x", 2000), "package", "glob"}, "exceed the limit"},
			{[]any{"x", "package", "glob", map[string]any{"order": "bogus"}}, "Invalid order: bogus"},
		} {
			if f := anon.fault(kojixml.GenericError, "search", c.args...); !strings.Contains(f.String, c.want) {
				t.Errorf("search%v = %q, want %q", c.args, f.String, c.want)
			}
		}
		for _, args := range [][]any{
			{}, {"x"}, {"x", "package"}, {"x", "package", "glob", nil, "extra"},
			{"x", "package", "glob", "notamap"},
			{"x", "package", "glob", map[string]any{"limit": "x"}},
			{"x", "package", "glob", map[string]any{"limit": int64(-1)}},
			{"x", "package", "glob", map[string]any{"bogus": true}},
			{"x", "package", "glob", kw{"nosuch": 1}},
		} {
			anon.fault(kojixml.ParameterError, "search", args...)
		}
	})
}
