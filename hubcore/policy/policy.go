package policy

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Data is the policy data a rule set is checked against: Koji's dict, with
// XML-RPC's types (string, int64, float64, bool, nil, []any, map[string]any).
// Tests may add keys to it as Koji's do (_tagname, _package, ...).
type Data map[string]any

// Test is a named policy test. Check validates the arguments when a rule is
// parsed (nil: any arguments). Run evaluates it; its error ends the
// evaluation (Koji raises GenericError).
type Test[E any] struct {
	Check func(args []string) error
	Run   func(ev *Eval[E], args []string, d Data) (bool, error)
}

// Registry maps test names to tests. A rule naming a test that is not in it
// does not parse.
type Registry[E any] map[string]Test[E]

// Source is one policy as written: its name (the hub.conf key), its text
// (rules one per line) and where each line of the text comes from. Lines
// may be nil (then lines count from Line).
type Source struct {
	Name  string
	Text  string
	File  string
	Line  int   // the line of the key
	Lines []int // the file line of each line of Text
}

// call is one test of a rule, bound to its arguments.
type call struct {
	name string
	args []string
	text string // as written between "&&", for Koji's last_rule
}

// Rule is one parsed rule.
type Rule struct {
	tests  []call
	Negate bool
	// Action is the action text; empty when Children holds a nested block.
	Action   string
	Children []*Rule
	nested   bool
	File     string
	Line     int
	// Text is the rule's line as written (comment removed, trimmed).
	Text string
}

// Ruleset is one named policy.
type Ruleset struct {
	Name  string
	File  string
	Line  int
	Text  string
	Rules []*Rule
	// Default is true for Koji's default policies that hub.conf did not set.
	Default bool
}

// Set is the hub's policies with the tests they may use.
type Set[E any] struct {
	byName map[string]*Ruleset
	tests  Registry[E]
}

// ParseError is a policy that does not parse: where, which rule, and why.
type ParseError struct {
	File   string
	Line   int
	Policy string
	Rule   string
	Msg    string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	if e.File != "" {
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	fmt.Fprintf(&b, "policy %s: %s", e.Policy, e.Msg)
	if e.Rule != "" {
		fmt.Fprintf(&b, " in rule %q", e.Rule)
	}
	return b.String()
}

// NewSet parses the sources with the tests of reg. A policy that refers to
// another with "policy NAME" must name one of the set. All errors are
// returned, joined, each a *ParseError.
func NewSet[E any](reg Registry[E], sources ...Source) (*Set[E], error) {
	s := &Set[E]{byName: map[string]*Ruleset{}, tests: reg}
	var errs []error
	for _, src := range sources {
		rs, err := parseRuleset(reg, src)
		if err != nil {
			errs = append(errs, err...)
			continue
		}
		s.byName[src.Name] = rs
	}
	// "policy NAME" must name a policy of the set.
	for _, name := range s.Names() {
		rs := s.byName[name]
		walk(rs.Rules, func(r *Rule) {
			for _, t := range r.tests {
				if t.name == "policy" && len(t.args) > 0 {
					if _, ok := s.byName[t.args[0]]; !ok {
						errs = append(errs, &ParseError{File: r.File, Line: r.Line, Policy: name, Rule: r.Text, Msg: "no such policy: " + t.args[0]})
					}
				}
			}
		})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func walk(rules []*Rule, fn func(*Rule)) {
	for _, r := range rules {
		fn(r)
		walk(r.Children, fn)
	}
}

// Get returns the named policy, or nil.
func (s *Set[E]) Get(name string) *Ruleset {
	if s == nil {
		return nil
	}
	return s.byName[name]
}

// Names returns the policies' names, sorted.
func (s *Set[E]) Names() []string {
	if s == nil {
		return nil
	}
	out := make([]string, 0, len(s.byName))
	for n := range s.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// parseRuleset parses one policy's text as Koji's SimpleRuleSet does.
func parseRuleset[E any](reg Registry[E], src Source) (*Ruleset, []error) {
	rs := &Ruleset{Name: src.Name, File: src.File, Line: src.Line, Text: src.Text}
	var errs []error
	type open struct {
		parent *[]*Rule
		rule   *Rule
	}
	cursor := &rs.Rules
	var stack []open
	lines := strings.Split(src.Text, "\n")
	for i, raw := range lines {
		ln := src.Line + i
		if i < len(src.Lines) {
			ln = src.Lines[i]
		}
		text, _, _ := strings.Cut(raw, "#")
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		fail := func(format string, args ...any) {
			errs = append(errs, &ParseError{File: src.File, Line: ln, Policy: src.Name, Rule: text, Msg: fmt.Sprintf(format, args...)})
		}
		if text == "}" {
			if len(stack) == 0 {
				fail("nesting error: \"}\" closes no block")
				continue
			}
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			cursor = top.parent
			continue
		}
		r, err := parseLine(reg, text)
		if err != nil {
			fail("%v", err)
			continue
		}
		r.File, r.Line = src.File, ln
		*cursor = append(*cursor, r)
		if r.nested {
			stack = append(stack, open{parent: cursor, rule: r})
			cursor = &r.Children
		}
	}
	for _, o := range stack {
		errs = append(errs, &ParseError{File: src.File, Line: o.rule.Line, Policy: src.Name, Rule: o.rule.Text, Msg: "nesting error: block is not closed with \"}\""})
	}
	return rs, errs
}

// parseLine parses "tests :: action" or "tests !! action" (the last "::",
// or failing that the last "!!", separates them, as in Koji).
func parseLine[E any](reg Registry[E], text string) (*Rule, error) {
	r := &Rule{Text: text}
	pos := strings.LastIndex(text, "::")
	if pos < 0 {
		pos = strings.LastIndex(text, "!!")
		if pos < 0 {
			return nil, errors.New("bad policy line: want \"tests :: action\" or \"tests !! action\"")
		}
		r.Negate = true
	}
	action := strings.TrimSpace(text[pos+2:])
	switch action {
	case "":
		return nil, errors.New("rule has no action after \"::\"")
	case "{":
		r.nested = true
	default:
		r.Action = action
	}
	for _, seg := range strings.Split(text[:pos], "&&") {
		f := strings.Fields(seg)
		if len(f) == 0 {
			return nil, errors.New("empty test: want \"test [args] [&& test [args] ...]\" before the action")
		}
		t, ok := reg[f[0]]
		if !ok {
			return nil, fmt.Errorf("missing test handler: %s", f[0])
		}
		if t.Check != nil {
			if err := t.Check(f[1:]); err != nil {
				return nil, fmt.Errorf("test %s: %v", f[0], err)
			}
		}
		r.tests = append(r.tests, call{name: f[0], args: f[1:], text: seg})
	}
	return r, nil
}

// Eval is one evaluation: the set (for "policy NAME"), the caller's
// environment for the tests (the hub's request), and loop detection.
type Eval[E any] struct {
	Set    *Set[E]
	Env    E
	active map[string]bool // policies entered through "policy NAME"
}

// Decision is the outcome of a policy: the action of the first matching
// rule, or none.
type Decision struct {
	Policy  string
	Matched bool
	Action  string
	// Trail is each rule on the path to the deciding one, outermost first
	// (Koji's lastrule).
	Trail []*Rule
}

// LastRule is the trail as Koji's last_rule writes it: each rule's tests
// and separator, "... " between levels, then the action or "(no match)".
func (d Decision) LastRule() string {
	var b strings.Builder
	for i, r := range d.Trail {
		if i > 0 {
			b.WriteString("... ")
		}
		for j, t := range r.tests {
			if j > 0 {
				b.WriteString("&&")
			}
			b.WriteString(t.text)
		}
		if r.Negate {
			b.WriteString("!! ")
		} else {
			b.WriteString(":: ")
		}
	}
	if !d.Matched {
		b.WriteString("(no match)")
	} else {
		b.WriteString(d.Action)
	}
	return b.String()
}

// Where is the file and line of the deciding rule, or "" without a match.
func (d Decision) Where() string {
	if !d.Matched || len(d.Trail) == 0 {
		return ""
	}
	r := d.Trail[len(d.Trail)-1]
	if r.File == "" {
		return "line " + strconv.Itoa(r.Line)
	}
	return r.File + ":" + strconv.Itoa(r.Line)
}

// Apply evaluates the named policy against d. An unknown policy is an error.
func (ev *Eval[E]) Apply(name string, d Data) (Decision, error) {
	rs := ev.Set.Get(name)
	if rs == nil {
		return Decision{Policy: name}, fmt.Errorf("no such policy: %s", name)
	}
	return ev.ApplyRuleset(rs, d)
}

// ApplyRuleset evaluates rs against d: the first rule whose tests all pass
// (or, for "!!", do not all pass) decides; a matching block whose rules do
// not match lets the rules after it try.
func (ev *Eval[E]) ApplyRuleset(rs *Ruleset, d Data) (Decision, error) {
	if d == nil {
		d = Data{}
	}
	dec := Decision{Policy: rs.Name}
	trail, action, ok, err := ev.apply(rs.Rules, d, nil)
	if err != nil {
		return dec, err
	}
	dec.Trail, dec.Action, dec.Matched = trail, action, ok
	return dec, nil
}

func (ev *Eval[E]) apply(rules []*Rule, d Data, trail []*Rule) ([]*Rule, string, bool, error) {
	for _, r := range rules {
		value := true
		for i := range r.tests {
			ok, err := ev.run(&r.tests[i], d)
			if err != nil {
				return nil, "", false, err
			}
			if !ok {
				value = false
				break
			}
		}
		if r.Negate {
			value = !value
		}
		if !value {
			continue
		}
		path := append(append([]*Rule(nil), trail...), r)
		if !r.nested {
			return path, r.Action, true, nil
		}
		sub, action, ok, err := ev.apply(r.Children, d, path)
		if err != nil || ok {
			return sub, action, ok, err
		}
	}
	return trail, "", false, nil
}

func (ev *Eval[E]) run(c *call, d Data) (bool, error) {
	t, ok := ev.Set.tests[c.name]
	if !ok {
		return false, fmt.Errorf("missing test handler: %s", c.name)
	}
	return t.Run(ev, c.args, d)
}
