package policy

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Generic returns koji/policy.py's tests, which read only the data: true,
// false, all, none, has, bool, match, match_any, match_all, target,
// compare, and policy (the result of another policy of the set).
func Generic[E any]() Registry[E] {
	yes := Test[E]{Run: func(*Eval[E], []string, Data) (bool, error) { return true, nil }}
	no := Test[E]{Run: func(*Eval[E], []string, Data) (bool, error) { return false, nil }}
	return Registry[E]{
		"true": yes, "all": yes, "false": no, "none": no,
		"has": {Check: minArgs(1, "a field name"), Run: func(_ *Eval[E], args []string, d Data) (bool, error) {
			_, ok := d[args[0]]
			return ok, nil
		}},
		"bool": {Check: minArgs(1, "a field name"), Run: func(_ *Eval[E], args []string, d Data) (bool, error) {
			return Truthy(d[args[0]]), nil
		}},
		"match": {Check: minArgs(1, "a field name and patterns"), Run: func(_ *Eval[E], args []string, d Data) (bool, error) {
			return MatchField(d, args[0], args[1:]), nil
		}},
		"match_any": {Check: minArgs(1, "a field name and patterns"), Run: func(_ *Eval[E], args []string, d Data) (bool, error) {
			l, ok := d[args[0]].([]any)
			if !ok {
				return false, nil
			}
			for _, v := range l {
				if v != nil && MatchAny(Str(v), args[1:]) {
					return true, nil
				}
			}
			return false, nil
		}},
		"match_all": {Check: minArgs(1, "a field name and patterns"), Run: func(_ *Eval[E], args []string, d Data) (bool, error) {
			l, ok := d[args[0]].([]any)
			if !ok || len(l) == 0 {
				return false, nil
			}
			for _, v := range l {
				if v == nil || !MatchAny(Str(v), args[1:]) {
					return false, nil
				}
			}
			return true, nil
		}},
		"target":  FieldMatch[E]("target"),
		"compare": Compare[E](""),
		"policy": {Check: minArgs(1, "a policy name"), Run: func(ev *Eval[E], args []string, d Data) (bool, error) {
			name := args[0]
			if ev.active[name] {
				return false, fmt.Errorf("encountered policy loop at policy %s", strings.Join(args, " "))
			}
			if ev.active == nil {
				ev.active = map[string]bool{}
			}
			ev.active[name] = true
			dec, err := ev.Apply(name, d)
			delete(ev.active, name)
			if err != nil || !dec.Matched {
				return false, err
			}
			switch strings.ToLower(dec.Action) {
			case "yes", "true", "allow":
				return true, nil
			}
			return false, nil
		}},
	}
}

func minArgs(n int, what string) func([]string) error {
	return func(args []string) error {
		if len(args) < n {
			return errors.New("needs " + what)
		}
		return nil
	}
}

// FieldMatch is Koji's MatchTest subclassed for one field: "NAME
// pattern..." is true when data[field] matches a pattern.
func FieldMatch[E any](field string) Test[E] {
	return Test[E]{Run: func(_ *Eval[E], args []string, d Data) (bool, error) {
		return MatchField(d, field, args), nil
	}}
}

// FieldBool is Koji's BoolTest subclassed for one field.
func FieldBool[E any](field string) Test[E] {
	return Test[E]{Run: func(_ *Eval[E], _ []string, d Data) (bool, error) {
		return Truthy(d[field]), nil
	}}
}

// MatchField is Koji's MatchTest: false when the field is absent or None,
// else whether its value matches any pattern.
func MatchField(d Data, field string, patterns []string) bool {
	v, ok := d[field]
	if !ok || v == nil {
		return false
	}
	return MatchAny(Str(v), patterns)
}

// Str is a data value as text (numbers as Python prints them).
func Str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case bool:
		if x {
			return "True"
		}
		return "False"
	case nil:
		return "None"
	}
	return fmt.Sprint(v)
}

// Truthy is Python's bool() of a data value.
func Truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case int64:
		return x != 0
	case int:
		return x != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// Number is a data value as a number, when it is one (bool counts, as in Python).
func Number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case float64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

var compareOps = map[string]func(a, b float64) bool{
	"<": func(a, b float64) bool { return a < b }, ">": func(a, b float64) bool { return a > b },
	"<=": func(a, b float64) bool { return a <= b }, ">=": func(a, b float64) bool { return a >= b },
	"=": func(a, b float64) bool { return a == b }, "!=": func(a, b float64) bool { return a != b },
}

// Compare is Koji's CompareTest: "compare FIELD OP NUMBER", or with field
// set, "NAME OP NUMBER". OP is one of < > <= >= = !=; false when the field
// is absent.
func Compare[E any](field string) Test[E] {
	parse := func(args []string) (string, func(a, b float64) bool, float64, error) {
		want := 3
		if field != "" {
			want = 2
		}
		if len(args) != want {
			if field == "" {
				return "", nil, 0, errors.New("want FIELD OP NUMBER")
			}
			return "", nil, 0, errors.New("want OP NUMBER")
		}
		f := field
		if field == "" {
			f, args = args[0], args[1:]
		}
		op, ok := compareOps[args[0]]
		if !ok {
			return "", nil, 0, fmt.Errorf("invalid comparison %q: want one of < > <= >= = !=", args[0])
		}
		n, err := strconv.ParseFloat(args[1], 64)
		if err != nil || math.IsNaN(n) {
			return "", nil, 0, fmt.Errorf("%q is not a number", args[1])
		}
		return f, op, n, nil
	}
	return Test[E]{
		Check: func(args []string) error { _, _, _, err := parse(args); return err },
		Run: func(_ *Eval[E], args []string, d Data) (bool, error) {
			f, op, n, err := parse(args)
			if err != nil {
				return false, err
			}
			v, ok := d[f]
			if !ok {
				return false, nil
			}
			x, isNum := Number(v)
			if !isNum {
				return false, fmt.Errorf("compare: %s is %s, not a number", f, Str(v))
			}
			return op(x, n), nil
		},
	}
}

// Merge returns a registry with the tests of all, later ones winning (as
// Koji lets plugins override its tests).
func Merge[E any](all ...Registry[E]) Registry[E] {
	out := Registry[E]{}
	for _, r := range all {
		for k, v := range r {
			out[k] = v
		}
	}
	return out
}
