package policy

import (
	"errors"
	"strings"
	"testing"
)

// env is what the tests' environment carries here: nothing.
type env struct{}

// docTests adds stand-ins for the hub's tests that Koji's documentation
// uses, reading names straight from the data: tag, fromtag, buildtag,
// operation, hastag (a list), has_perm (a list of permissions).
func docTests() Registry[env] {
	list := func(field string) Test[env] {
		return Test[env]{Run: func(_ *Eval[env], args []string, d Data) (bool, error) {
			l, _ := d[field].([]any)
			for _, v := range l {
				if MatchAny(Str(v), args) {
					return true, nil
				}
			}
			return false, nil
		}}
	}
	return Merge(Generic[env](), Registry[env]{
		"tag": FieldMatch[env]("tag"), "fromtag": FieldMatch[env]("fromtag"), "buildtag": FieldMatch[env]("buildtag"),
		"operation": FieldMatch[env]("operation"), "hastag": list("hastags"), "has_perm": list("perms"),
		"is_child_task": FieldBool[env]("parent"), "method": FieldMatch[env]("method"),
		"fails": {Run: func(*Eval[env], []string, Data) (bool, error) { return false, errors.New("boom") }},
	})
}

func mustSet(t testing.TB, srcs ...Source) *Set[env] {
	t.Helper()
	s, err := NewSet(docTests(), srcs...)
	if err != nil {
		t.Fatalf("NewSet: %v", err)
	}
	return s
}

func apply(t testing.TB, s *Set[env], name string, d Data) Decision {
	t.Helper()
	ev := &Eval[env]{Set: s}
	dec, err := ev.Apply(name, d)
	if err != nil {
		t.Fatalf("Apply(%s, %v): %v", name, d, err)
	}
	return dec
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "", true},
		{"*", "a/b", true}, // fnmatch's * crosses "/"
		{"*-candidate", "f40-candidate", true},
		{"*-candidate", "f40-candidates", false},
		{"f4?", "f40", true},
		{"f4?", "f4", false},
		{"f[34]0", "f30", true},
		{"f[34]0", "f50", false},
		{"f[!34]0", "f50", true},
		{"f[0-9]", "f7", true},
		{"f[0-9]", "fa", false},
		{"f[", "f[", true}, // unclosed class: a literal "["
		{"[]]", "]", true},
		{"*epel*", "epel8-build", true},
		{"*epel*", "EPEL8", false}, // case-sensitive, as on POSIX
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"", "", true},
		{"", "x", false},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.name); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text string
		want       string // substring of the error
		line       int
	}{
		{"no separator", "has_perm admin allow", "bad policy line", 10},
		{"unknown test", "all :: allow\nhastagz foo :: deny", "missing test handler: hastagz", 11},
		{"empty test", "&& all :: allow", "empty test", 10},
		{"empty action", "all ::", "no action", 10},
		{"unbalanced close", "all :: allow\n}", "closes no block", 11},
		{"unclosed block", "\nall :: {\n  all :: allow", "not closed", 11},
		{"bad compare", "compare x << 3 :: allow", "invalid comparison", 10},
		{"compare not a number", "compare x < three :: allow", "not a number", 10},
		{"compare missing", "compare x < :: allow", "want FIELD OP NUMBER", 10},
		{"has without field", "has :: allow", "needs a field name", 10},
		{"policy without name", "policy :: allow", "needs a policy name", 10},
		{"no such policy", "policy nosuch :: allow", "no such policy: nosuch", 10},
		{"double brace", "all :: {\n}}", "bad policy line", 11},
	}
	for _, tt := range tests {
		_, err := NewSet(docTests(), Source{Name: "tag", Text: tt.text, File: "hub.conf", Line: 10})
		if err == nil {
			t.Errorf("%s: NewSet(%q) = nil error, want %q", tt.name, tt.text, tt.want)
			continue
		}
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: NewSet(%q) = %v, not a ParseError", tt.name, tt.text, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || pe.Line != tt.line || pe.File != "hub.conf" || pe.Policy != "tag" {
			t.Errorf("%s: NewSet(%q) = %v (line %d), want %q at line %d", tt.name, tt.text, err, pe.Line, tt.want, tt.line)
		}
	}
}

// TestErrorNamesFileLineRule: the message says where and which rule.
func TestErrorNamesFileLineRule(t *testing.T) {
	_, err := NewSet(docTests(), Source{Name: "tag", Text: "all :: allow\n  # note\nbogus x :: deny # why", File: "/etc/koji-hub/hub.conf", Line: 3, Lines: []int{3, 5, 6}})
	want := `/etc/koji-hub/hub.conf:6: policy tag: missing test handler: bogus in rule "bogus x :: deny"`
	if err == nil || err.Error() != want {
		t.Errorf("NewSet = %v, want %s", err, want)
	}
}

// The examples of Koji's docs/source/defining_hub_policies.rst.
const docSimple = `
    has_perm admin :: allow
    tag *-candidate :: allow
    all :: deny`

const docNested = `
    buildtag *epel* :: {
        tag *epel* !! deny
    }
    tag *-updates :: {
        operation move :: {
            fromtag *-updates-candidate :: allow
            fromtag *-updates-testing :: allow
            all :: deny Tagging from some tags to *-updates is forbidden.
        }
        operation tag && hastag *-updates-candidate *-updates-testing :: deny
    }
    all :: allow`

func TestDocExamples(t *testing.T) {
	s := mustSet(t, Source{Name: "simple", Text: docSimple}, Source{Name: "tag", Text: docNested})
	tests := []struct {
		policy string
		data   Data
		want   string // action, or "" for no match
		rule   string
	}{
		{"simple", Data{"perms": []any{"admin"}, "tag": "f40"}, "allow", "has_perm admin :: allow"},
		{"simple", Data{"perms": []any{"tag"}, "tag": "f40-candidate"}, "allow", "tag *-candidate :: allow"},
		{"simple", Data{"tag": "f40"}, "deny", "all :: deny"},
		{"simple", Data{"tag": nil}, "deny", "all :: deny"}, // untag: tag is None
		// epel build tag: only epel tags
		{"tag", Data{"buildtag": "epel8-build", "tag": "f40", "operation": "tag"}, "deny", "buildtag *epel* :: ... tag *epel* !! deny"},
		{"tag", Data{"buildtag": "epel8-build", "tag": "epel8", "operation": "tag"}, "allow", "all :: allow"},
		// *-updates: moves only from candidate or testing
		{"tag", Data{"tag": "f40-updates", "fromtag": "f40-updates-candidate", "operation": "move"}, "allow",
			"tag *-updates :: ... operation move :: ... fromtag *-updates-candidate :: allow"},
		{"tag", Data{"tag": "f40-updates", "fromtag": "f40-updates-testing", "operation": "move"}, "allow",
			"tag *-updates :: ... operation move :: ... fromtag *-updates-testing :: allow"},
		{"tag", Data{"tag": "f40-updates", "fromtag": "f40", "operation": "move"}, "deny Tagging from some tags to *-updates is forbidden.",
			"tag *-updates :: ... operation move :: ... all :: deny Tagging from some tags to *-updates is forbidden."},
		{"tag", Data{"tag": "f40-updates", "operation": "tag", "hastags": []any{"f40-updates-testing"}}, "deny",
			"tag *-updates :: ... operation tag && hastag *-updates-candidate *-updates-testing :: deny"},
		// a tag operation without those tags: the block does not decide, the rules after it do
		{"tag", Data{"tag": "f40-updates", "operation": "tag", "hastags": []any{"f40"}}, "allow", "all :: allow"},
		{"tag", Data{"tag": "f41", "operation": "untag"}, "allow", "all :: allow"},
	}
	for _, tt := range tests {
		dec := apply(t, s, tt.policy, tt.data)
		if dec.Action != tt.want || dec.Matched != (tt.want != "") || dec.LastRule() != tt.rule {
			t.Errorf("Apply(%s, %v) = %q (%s), want %q (%s)", tt.policy, tt.data, dec.Action, dec.LastRule(), tt.want, tt.rule)
		}
	}
}

func TestGenericTests(t *testing.T) {
	data := Data{
		"s": "hello", "n": int64(5), "f": 2.5, "t": true, "z": int64(0), "e": "", "nil": nil,
		"l": []any{"a1", "b2", nil}, "l2": []any{"a1", "a2"}, "empty": []any{}, "target": "f40-candidate",
	}
	tests := []struct {
		test string
		want bool
	}{
		{"true", true}, {"all", true}, {"false", false}, {"none", false},
		{"has s", true}, {"has nil", true}, {"has missing", false},
		{"bool t", true}, {"bool n", true}, {"bool z", false}, {"bool e", false}, {"bool nil", false},
		{"bool missing", false}, {"bool empty", false}, {"bool l", true},
		{"match s h*", true}, {"match s x* *llo", true}, {"match s x*", false}, {"match missing *", false},
		{"match nil *", false}, {"match n 5", true}, {"match s", false},
		{"match_any l a*", true}, {"match_any l c*", false}, {"match_any s *", false}, {"match_any empty *", false},
		{"match_all l2 a*", true}, {"match_all l a* b*", false}, {"match_all empty *", false}, {"match_all missing *", false},
		{"target f40-*", true}, {"target f41-*", false},
		{"compare n > 4", true}, {"compare n >= 5", true}, {"compare n < 5", false}, {"compare n <= 5", true},
		{"compare n = 5", true}, {"compare n != 5", false}, {"compare f > 2.4", true}, {"compare t = 1", true},
		{"compare missing > 1", false},
	}
	for _, tt := range tests {
		s := mustSet(t, Source{Name: "p", Text: tt.test + " :: yes"})
		dec := apply(t, s, "p", data)
		if dec.Matched != tt.want {
			t.Errorf("%s on %v = %v, want %v", tt.test, data, dec.Matched, tt.want)
		}
		// negated with !!
		s = mustSet(t, Source{Name: "p", Text: tt.test + " !! yes"})
		if dec := apply(t, s, "p", data); dec.Matched == tt.want {
			t.Errorf("%s !! on %v = %v, want %v", tt.test, data, dec.Matched, !tt.want)
		}
	}
}

func TestCompareNotANumber(t *testing.T) {
	s := mustSet(t, Source{Name: "p", Text: "compare s > 1 :: yes"})
	if _, err := (&Eval[env]{Set: s}).Apply("p", Data{"s": "x"}); err == nil {
		t.Errorf("compare on a string: no error")
	}
}

func TestRuleSemantics(t *testing.T) {
	tests := []struct {
		name, text string
		data       Data
		want       string
		matched    bool
	}{
		{"first match wins", "all :: first\nall :: second", nil, "first", true},
		{"and: all must pass", "true && false :: a\ntrue && true :: b", nil, "b", true},
		{"negate: not all pass", "true && false !! a", nil, "a", true},
		{"no match", "false :: a", nil, "", false},
		{"empty policy", "", nil, "", false},
		{"comments and blanks", "# c\n\n  false :: a # x\n  all :: b # why", nil, "b", true},
		{"::  wins over !!", "true !! x :: a", nil, "a", true}, // the last "::" splits: the test is "true" with args "!! x"
		{"nested no match falls through", "all :: {\n false :: a\n}\nall :: b", nil, "b", true},
		{"nested deep", "all :: {\n all :: {\n  all :: deep\n }\n}", nil, "deep", true},
		{"negated block", "false !! {\n all :: inner\n}", nil, "inner", true},
		{"action keeps its text", "all :: deny  Only admins, sorry", nil, "deny  Only admins, sorry", true},
	}
	for _, tt := range tests {
		s := mustSet(t, Source{Name: "p", Text: tt.text})
		dec := apply(t, s, "p", tt.data)
		if dec.Action != tt.want || dec.Matched != tt.matched {
			t.Errorf("%s: Apply(%q) = %q/%v, want %q/%v", tt.name, tt.text, dec.Action, dec.Matched, tt.want, tt.matched)
		}
	}
}

func TestPolicyTest(t *testing.T) {
	s := mustSet(t,
		Source{Name: "p", Text: "policy q :: allowed\nall :: refused"},
		Source{Name: "q", Text: "match who alice :: allow\nmatch who bob :: Allow\nmatch who carol :: allow because\nmatch who dan :: yes\nmatch who eve :: deny"},
	)
	tests := []struct {
		who, want string
	}{
		{"alice", "allowed"}, {"bob", "allowed"}, {"dan", "allowed"},
		{"carol", "refused"}, // Koji compares the whole action: "allow because" is not "allow"
		{"eve", "refused"}, {"frank", "refused"},
	}
	for _, tt := range tests {
		if dec := apply(t, s, "p", Data{"who": tt.who}); dec.Action != tt.want {
			t.Errorf("policy q for %s = %q, want %q", tt.who, dec.Action, tt.want)
		}
	}
}

func TestPolicyLoop(t *testing.T) {
	s := mustSet(t,
		Source{Name: "a", Text: "policy b :: allow"},
		Source{Name: "b", Text: "policy a :: allow"},
		Source{Name: "self", Text: "false :: x\npolicy self :: allow"},
	)
	for _, name := range []string{"a", "self"} {
		_, err := (&Eval[env]{Set: s}).Apply(name, nil)
		if err == nil || !strings.Contains(err.Error(), "policy loop") {
			t.Errorf("Apply(%s) = %v, want a policy loop error", name, err)
		}
	}
}

func TestTestErrorEndsEvaluation(t *testing.T) {
	s := mustSet(t, Source{Name: "p", Text: "fails :: a\nall :: b"})
	if _, err := (&Eval[env]{Set: s}).Apply("p", nil); err == nil || err.Error() != "boom" {
		t.Errorf("Apply = %v, want boom", err)
	}
	// a test after a false one is not run
	s = mustSet(t, Source{Name: "p", Text: "false && fails :: a\nall :: b"})
	if dec := apply(t, s, "p", nil); dec.Action != "b" {
		t.Errorf("Apply = %q, want b", dec.Action)
	}
}

func TestWhere(t *testing.T) {
	s := mustSet(t, Source{Name: "channel", File: "hub.conf", Line: 4, Lines: []int{4, 5, 6, 8, 9},
		Text: "\nmethod build :: {\n  false :: a\n  all :: use noarch\n}"})
	dec := apply(t, s, "channel", Data{"method": "build"})
	if dec.Where() != "hub.conf:8" || dec.LastRule() != "method build :: ... all :: use noarch" {
		t.Errorf("Where, LastRule = %q, %q", dec.Where(), dec.LastRule())
	}
	dec = apply(t, s, "channel", Data{"method": "newRepo"})
	if dec.Where() != "" || dec.LastRule() != "(no match)" {
		t.Errorf("no match: Where, LastRule = %q, %q", dec.Where(), dec.LastRule())
	}
}
