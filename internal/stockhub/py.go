package stockhub

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"kojigo/internal/kojixml"
)

// member returns a struct's member, whether the struct was decoded as a map
// or in order (kojixml.Struct).
func member(v any, name string) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		m, ok := x[name]
		return m, ok
	case kojixml.Struct:
		for _, m := range x {
			if m.Name == name {
				return m.Value, true
			}
		}
	}
	return nil, false
}

// isStruct reports whether v is an XML-RPC struct.
func isStruct(v any) bool {
	switch v.(type) {
	case map[string]any, kojixml.Struct:
		return true
	}
	return false
}

// structKeys returns a struct's member names, in order for a Struct.
func structKeys(v any) []string {
	switch x := v.(type) {
	case map[string]any:
		return sortedKeys(x)
	case kojixml.Struct:
		out := make([]string, len(x))
		for i, m := range x {
			out[i] = m.Name
		}
		return out
	}
	return nil
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// pyType is the Python type xmlrpc.client decodes v to, as Python's error
// messages name it.
func pyType(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "Binary"
	case time.Time:
		return "DateTime"
	case []any:
		return "list"
	case map[string]any, kojixml.Struct:
		return "dict"
	}
	return "object"
}

// pyRepr writes v roughly as Python's repr (or str, for a top-level string
// with quote false) does, for fault messages.
func pyRepr(v any, quote bool) string {
	var b strings.Builder
	writeRepr(&b, v, quote)
	return b.String()
}

func writeRepr(b *strings.Builder, v any, quote bool) {
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eIN") {
			s += ".0"
		}
		b.WriteString(s)
	case string:
		if !quote {
			b.WriteString(x)
			return
		}
		b.WriteByte('\'')
		for _, c := range x {
			switch c {
			case '\'', '\\':
				b.WriteByte('\\')
				b.WriteRune(c)
			case '\n':
				b.WriteString(`\n`)
			default:
				b.WriteRune(c)
			}
		}
		b.WriteByte('\'')
	case []byte:
		b.WriteString("<Binary>")
	case time.Time:
		b.WriteString("<DateTime " + x.Format("20060102T15:04:05") + ">")
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e, true)
		}
		b.WriteByte(']')
	case map[string]any, kojixml.Struct:
		b.WriteByte('{')
		for i, k := range structKeys(x) {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, k, true)
			b.WriteString(": ")
			m, _ := member(x, k)
			writeRepr(b, m, true)
		}
		b.WriteByte('}')
	default:
		b.WriteString("<?>")
	}
}

// callString shows a call as NAME(ARGS), keyword arguments as name=value,
// cut to a readable length.
func callString(name string, params []any) string {
	pos, kw := kojixml.SplitKwargs(params)
	var parts []string
	for _, p := range pos {
		parts = append(parts, pyRepr(p, true))
	}
	for _, k := range sortedKeys(kw) {
		parts = append(parts, k+"="+pyRepr(kw[k], true))
	}
	args := strings.Join(parts, ", ")
	if len(args) > 200 {
		args = args[:200] + "..."
	}
	return name + "(" + args + ")"
}

// number returns v as a float64 when it is an integer or a float.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// equal compares two decoded values as Python's == does for what XML-RPC
// carries (1 == 1.0, True == 1).
func equal(a, b any) bool {
	if x, ok := a.(bool); ok {
		a = boolInt(x)
	}
	if x, ok := b.(bool); ok {
		b = boolInt(x)
	}
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return canon([]any{a}) == canon([]any{b})
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// truthy is Python's truth value of a decoded value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []byte:
		return len(x) > 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	case kojixml.Struct:
		return len(x) > 0
	}
	return true
}
