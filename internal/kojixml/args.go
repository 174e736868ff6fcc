package kojixml

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// StarStar is the struct member that marks Koji's keyword-argument struct.
const StarStar = "__starstar"

// SplitKwargs separates Koji's keyword arguments from positional ones: a final
// struct with "__starstar" set true is the keywords (without the marker).
// kwargs is nil when there are none. params is not modified.
func SplitKwargs(params []any) (args []any, kwargs map[string]any) {
	if len(params) == 0 {
		return params, nil
	}
	last, ok := params[len(params)-1].(map[string]any)
	if !ok || !truthy(last[StarStar]) {
		return params, nil
	}
	kwargs = make(map[string]any, len(last)-1)
	for k, v := range last {
		if k != StarStar {
			kwargs[k] = v
		}
	}
	return params[:len(params)-1], kwargs
}

// EncodeKwargs returns params with kwargs appended as Koji's "__starstar"
// struct (koji.encode_args); with no kwargs it returns params unchanged.
func EncodeKwargs(params []any, kwargs map[string]any) []any {
	if len(kwargs) == 0 {
		return params
	}
	m := make(map[string]any, len(kwargs)+1)
	maps.Copy(m, kwargs)
	m[StarStar] = true
	return append(slices.Clip(params), m)
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case int:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	case []byte:
		return len(x) > 0
	}
	return true
}

// Args binds a call's parameters to a hub method's arguments with Python's
// rules: an argument comes by position or by keyword name, never both. Each
// getter records the first problem as a ParameterError fault and returns a
// zero value afterwards; check Done (or Err) once after the getters:
//
//	a := kojixml.NewArgs("getHost", params)
//	host := a.Any(0, "hostInfo")
//	strict := a.OptBool(1, "strict", false)
//	if err := a.Done(); err != nil {
//		return nil, err
//	}
//
// A pos of -1 declares a keyword-only argument.
type Args struct {
	method   string
	pos      []any
	kw       map[string]any
	used     map[string]bool
	declared int // positional slots declared by getters
	required int // leading required positional arguments
	rest     bool
	restKw   bool
	err      *Fault
}

// NewArgs splits params into positional and keyword arguments for method.
func NewArgs(method string, params []any) *Args {
	pos, kw := SplitKwargs(params)
	return &Args{method: method, pos: pos, kw: kw}
}

// Len returns the number of positional arguments given.
func (a *Args) Len() int { return len(a.pos) }

// Err returns the first binding problem, or nil.
func (a *Args) Err() error {
	if a.err == nil {
		return nil
	}
	return a.err
}

func (a *Args) fail(format string, args ...any) {
	if a.err == nil {
		a.err = Errorf(ParameterError, format, args...)
	}
}

// lookup finds the argument at pos or named name; ok is false when absent.
func (a *Args) lookup(pos int, name string, required bool) (v any, ok bool) {
	if pos >= 0 {
		if pos+1 > a.declared {
			a.declared = pos + 1
		}
		if required && pos+1 > a.required {
			a.required = pos + 1
		}
	}
	kv, inKw := a.kw[name]
	if inKw {
		if a.used == nil {
			a.used = make(map[string]bool, len(a.kw))
		}
		a.used[name] = true
	}
	if pos >= 0 && pos < len(a.pos) {
		if inKw {
			a.fail("%s() got multiple values for argument '%s'", a.method, name)
			return nil, false
		}
		return a.pos[pos], true
	}
	if inKw {
		return kv, true
	}
	if required {
		a.fail("%s() missing required argument: '%s'", a.method, name)
	}
	return nil, false
}

func (a *Args) typeErr(name, want string, v any) {
	a.fail("%s: argument %s: expected %s, got %s", a.method, name, want, describe(v))
}

// describe names a value's type and shows short values, for fault messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		if len(x) > 40 {
			x = x[:40] + "..."
		}
		return "string " + strconv.Quote(x)
	case bool:
		return "bool " + strconv.FormatBool(x)
	case int64:
		return "int " + strconv.FormatInt(x, 10)
	case float64:
		return "float " + strconv.FormatFloat(x, 'g', -1, 64)
	}
	return typeName(v)
}

// Any returns a required argument of any type.
func (a *Args) Any(pos int, name string) any {
	v, _ := a.lookup(pos, name, true)
	return v
}

// OptAny returns an optional argument of any type, or def when absent.
func (a *Args) OptAny(pos int, name string, def any) any {
	if v, ok := a.lookup(pos, name, false); ok {
		return v
	}
	return def
}

// Has reports whether the argument was given (by position or keyword),
// without consuming it.
func (a *Args) Has(pos int, name string) bool {
	if pos >= 0 && pos < len(a.pos) {
		return true
	}
	_, ok := a.kw[name]
	return ok
}

func (a *Args) toInt(name string, v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case bool:
		if x {
			return 1
		}
		return 0
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
			return n
		}
	}
	a.typeErr(name, "int", v)
	return 0
}

// Int returns a required integer argument.
func (a *Args) Int(pos int, name string) int64 {
	v, ok := a.lookup(pos, name, true)
	if !ok {
		return 0
	}
	return a.toInt(name, v)
}

// OptInt returns an optional integer argument; absent or None gives def.
func (a *Args) OptInt(pos int, name string, def int64) int64 {
	v, ok := a.lookup(pos, name, false)
	if !ok || v == nil {
		return def
	}
	return a.toInt(name, v)
}

// IntOrNil returns an optional integer argument; absent or None gives nil.
func (a *Args) IntOrNil(pos int, name string) *int64 {
	v, ok := a.lookup(pos, name, false)
	if !ok || v == nil {
		return nil
	}
	n := a.toInt(name, v)
	return &n
}

// IntOrString returns a required argument that is an int64 or a string, as
// Koji's "ID or name" arguments (hostInfo, taskInfo, tagInfo) are.
func (a *Args) IntOrString(pos int, name string) any {
	v, ok := a.lookup(pos, name, true)
	if !ok {
		return nil
	}
	switch v.(type) {
	case int64, string:
		return v
	}
	a.typeErr(name, "int or string", v)
	return nil
}

// String returns a required string argument.
func (a *Args) String(pos int, name string) string {
	v, ok := a.lookup(pos, name, true)
	if !ok {
		return ""
	}
	s, isStr := v.(string)
	if !isStr {
		a.typeErr(name, "string", v)
	}
	return s
}

// OptString returns an optional string argument; absent or None gives def.
func (a *Args) OptString(pos int, name string, def string) string {
	v, ok := a.lookup(pos, name, false)
	if !ok || v == nil {
		return def
	}
	s, isStr := v.(string)
	if !isStr {
		a.typeErr(name, "string", v)
	}
	return s
}

// StringOrNil returns an optional string argument; absent or None gives nil.
func (a *Args) StringOrNil(pos int, name string) *string {
	v, ok := a.lookup(pos, name, false)
	if !ok || v == nil {
		return nil
	}
	s, isStr := v.(string)
	if !isStr {
		a.typeErr(name, "string", v)
		return nil
	}
	return &s
}

func (a *Args) toBool(name string, v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case nil:
		return false
	case int64:
		return x != 0
	case int:
		return x != 0
	}
	a.typeErr(name, "bool", v)
	return false
}

// Bool returns a required boolean argument (integers count by truthiness).
func (a *Args) Bool(pos int, name string) bool {
	v, ok := a.lookup(pos, name, true)
	if !ok {
		return false
	}
	return a.toBool(name, v)
}

// OptBool returns an optional boolean argument; absent gives def, None false.
func (a *Args) OptBool(pos int, name string, def bool) bool {
	v, ok := a.lookup(pos, name, false)
	if !ok {
		return def
	}
	return a.toBool(name, v)
}

func (a *Args) toFloat(name string, v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case int:
		return float64(x)
	case bool:
		if x {
			return 1
		}
		return 0
	}
	a.typeErr(name, "float", v)
	return 0
}

// Float returns a required number argument as float64.
func (a *Args) Float(pos int, name string) float64 {
	v, ok := a.lookup(pos, name, true)
	if !ok {
		return 0
	}
	return a.toFloat(name, v)
}

// OptFloat returns an optional number argument; absent or None gives def.
func (a *Args) OptFloat(pos int, name string, def float64) float64 {
	v, ok := a.lookup(pos, name, false)
	if !ok || v == nil {
		return def
	}
	return a.toFloat(name, v)
}

// Map returns a required struct argument.
func (a *Args) Map(pos int, name string) map[string]any {
	v, ok := a.lookup(pos, name, true)
	if !ok {
		return nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		a.typeErr(name, "struct", v)
	}
	return m
}

// OptMap returns an optional struct argument; absent or None gives nil.
func (a *Args) OptMap(pos int, name string) map[string]any {
	v, ok := a.lookup(pos, name, false)
	if !ok || v == nil {
		return nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		a.typeErr(name, "struct", v)
	}
	return m
}

// List returns a required array argument.
func (a *Args) List(pos int, name string) []any {
	v, ok := a.lookup(pos, name, true)
	if !ok {
		return nil
	}
	l, isList := v.([]any)
	if !isList {
		a.typeErr(name, "array", v)
	}
	return l
}

// OptList returns an optional array argument; absent or None gives nil.
func (a *Args) OptList(pos int, name string) []any {
	v, ok := a.lookup(pos, name, false)
	if !ok || v == nil {
		return nil
	}
	l, isList := v.([]any)
	if !isList {
		a.typeErr(name, "array", v)
	}
	return l
}

// Bytes returns a required base64 argument.
func (a *Args) Bytes(pos int, name string) []byte {
	v, ok := a.lookup(pos, name, true)
	if !ok {
		return nil
	}
	b, isBytes := v.([]byte)
	if !isBytes {
		a.typeErr(name, "base64", v)
	}
	return b
}

// Time returns a required dateTime.iso8601 argument.
func (a *Args) Time(pos int, name string) time.Time {
	v, ok := a.lookup(pos, name, true)
	if !ok {
		return time.Time{}
	}
	t, isTime := v.(time.Time)
	if !isTime {
		a.typeErr(name, "dateTime", v)
	}
	return t
}

// Rest returns the positional arguments from index from on (Python's *args)
// and allows any number of them.
func (a *Args) Rest(from int) []any {
	a.rest = true
	if from >= len(a.pos) {
		return nil
	}
	return a.pos[from:]
}

// RestKwargs returns the keyword arguments no getter has taken (Python's
// **kwargs) and allows them. Call it after the other getters.
func (a *Args) RestKwargs() map[string]any {
	a.restKw = true
	out := map[string]any{}
	for k, v := range a.kw {
		if !a.used[k] {
			out[k] = v
		}
	}
	return out
}

// Done returns the first binding problem, or a ParameterError for
// positional arguments beyond those declared or keyword arguments no getter
// took, phrased as Python's TypeError.
func (a *Args) Done() error {
	if a.err != nil {
		return a.err
	}
	if !a.rest && len(a.pos) > a.declared {
		switch {
		case a.declared == 0:
			a.fail("%s() takes 0 positional arguments but %d were given", a.method, len(a.pos))
		case a.required == a.declared:
			a.fail("%s() takes %d positional argument%s but %d were given",
				a.method, a.declared, plural(a.declared), len(a.pos))
		default:
			a.fail("%s() takes from %d to %d positional arguments but %d were given",
				a.method, a.required, a.declared, len(a.pos))
		}
		return a.err
	}
	if !a.restKw {
		var unknown []string
		for k := range a.kw {
			if !a.used[k] {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			slices.Sort(unknown)
			a.fail("%s() got an unexpected keyword argument '%s'", a.method, unknown[0])
			return a.err
		}
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
