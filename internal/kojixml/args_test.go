package kojixml

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func kw(m map[string]any) map[string]any {
	m[StarStar] = true
	return m
}

func TestSplitKwargs(t *testing.T) {
	tests := []struct {
		name   string
		params []any
		args   []any
		kwargs map[string]any
	}{
		{"none", nil, nil, nil},
		{"positional only", []any{int64(1), "a"}, []any{int64(1), "a"}, nil},
		{"kwargs", []any{int64(1), kw(map[string]any{"strict": true})}, []any{int64(1)}, map[string]any{"strict": true}},
		{"only kwargs", []any{kw(map[string]any{"a": nil})}, []any{}, map[string]any{"a": nil}},
		{"empty kwargs", []any{kw(map[string]any{})}, []any{}, map[string]any{}},
		{"marker false", []any{map[string]any{StarStar: false, "a": 1}}, []any{map[string]any{StarStar: false, "a": 1}}, nil},
		{"plain struct", []any{map[string]any{"a": 1}}, []any{map[string]any{"a": 1}}, nil},
		{"marker not last", []any{kw(map[string]any{"a": 1}), int64(2)}, []any{kw(map[string]any{"a": 1}), int64(2)}, nil},
		{"marker int 1", []any{map[string]any{StarStar: int64(1), "a": 1}}, []any{}, map[string]any{"a": 1}},
	}
	for _, tc := range tests {
		orig := len(tc.params)
		args, kwargs := SplitKwargs(tc.params)
		if !reflect.DeepEqual(args, tc.args) && !(len(args) == 0 && len(tc.args) == 0) {
			t.Errorf("%s: args = %#v, want %#v", tc.name, args, tc.args)
		}
		if !reflect.DeepEqual(kwargs, tc.kwargs) {
			t.Errorf("%s: kwargs = %#v, want %#v", tc.name, kwargs, tc.kwargs)
		}
		if len(tc.params) != orig {
			t.Errorf("%s: params modified", tc.name)
		}
		if len(tc.params) > 0 {
			if m, ok := tc.params[len(tc.params)-1].(map[string]any); ok {
				if _, has := m[StarStar]; !has && tc.kwargs != nil {
					t.Errorf("%s: marker removed from the caller's map", tc.name)
				}
			}
		}
	}
}

func TestEncodeKwargs(t *testing.T) {
	base := make([]any, 1, 4)
	base[0] = int64(1)
	got := EncodeKwargs(base, map[string]any{"strict": true})
	want := []any{int64(1), map[string]any{"strict": true, StarStar: true}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("EncodeKwargs = %#v, want %#v", got, want)
	}
	if base[:2][1] != nil {
		t.Error("EncodeKwargs wrote into the caller's backing array")
	}
	if got := EncodeKwargs(base, nil); !reflect.DeepEqual(got, base) {
		t.Errorf("EncodeKwargs(no kwargs) = %#v", got)
	}
	args, kwargs := SplitKwargs(want)
	if len(args) != 1 || kwargs["strict"] != true || len(kwargs) != 1 {
		t.Errorf("SplitKwargs(EncodeKwargs(...)) = %#v %#v", args, kwargs)
	}
}

// getHost binds like kojihub's getHost(hostInfo, strict=False, event=None).
func getHost(params []any) (any, bool, *int64, error) {
	a := NewArgs("getHost", params)
	host := a.IntOrString(0, "hostInfo")
	strict := a.OptBool(1, "strict", false)
	event := a.IntOrNil(2, "event")
	return host, strict, event, a.Done()
}

func TestArgsPythonSemantics(t *testing.T) {
	seven := int64(7)
	tests := []struct {
		name    string
		params  []any
		host    any
		strict  bool
		event   *int64
		wantErr string
	}{
		{"positional", []any{"builder1"}, "builder1", false, nil, ""},
		{"all positional", []any{int64(1), true, int64(7)}, int64(1), true, &seven, ""},
		{"keyword", []any{kw(map[string]any{"hostInfo": "b", "strict": true})}, "b", true, nil, ""},
		{"mixed", []any{"b", kw(map[string]any{"event": int64(7)})}, "b", false, &seven, ""},
		{"None event", []any{"b", false, nil}, "b", false, nil, ""},
		{"int strict", []any{"b", int64(1)}, "b", true, nil, ""},
		{"missing", []any{}, nil, false, nil, "getHost() missing required argument: 'hostInfo'"},
		{"missing with kwargs", []any{kw(map[string]any{"strict": true})}, nil, false, nil, "getHost() missing required argument: 'hostInfo'"},
		{"too many", []any{"b", true, int64(1), "x"}, nil, false, nil, "getHost() takes from 1 to 3 positional arguments but 4 were given"},
		{"unexpected keyword", []any{"b", kw(map[string]any{"bogus": 1, "zzz": 2})}, nil, false, nil, "getHost() got an unexpected keyword argument 'bogus'"},
		{"multiple values", []any{"b", kw(map[string]any{"hostInfo": "c"})}, nil, false, nil, "getHost() got multiple values for argument 'hostInfo'"},
		{"wrong type", []any{1.5}, nil, false, nil, "getHost: argument hostInfo: expected int or string, got float 1.5"},
		{"wrong bool", []any{"b", "yes"}, nil, false, nil, `getHost: argument strict: expected bool, got string "yes"`},
		{"wrong event", []any{"b", false, "abc"}, nil, false, nil, `getHost: argument event: expected int, got string "abc"`},
	}
	for _, tc := range tests {
		host, strict, event, err := getHost(tc.params)
		if tc.wantErr != "" {
			var f *Fault
			if !errors.As(err, &f) || f.Code != ParameterError || f.String != tc.wantErr {
				t.Errorf("%s: err = %#v, want ParameterError %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: unexpected error %v", tc.name, err)
			continue
		}
		if host != tc.host || strict != tc.strict || !reflect.DeepEqual(event, tc.event) {
			t.Errorf("%s: got %#v %v %v, want %#v %v %v", tc.name, host, strict, event, tc.host, tc.strict, tc.event)
		}
	}
}

func TestArgsConversions(t *testing.T) {
	when := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		param   any
		get     func(a *Args) any
		want    any
		wantErr string
	}{
		{"int", int64(5), func(a *Args) any { return a.Int(0, "n") }, int64(5), ""},
		{"int from bool", true, func(a *Args) any { return a.Int(0, "n") }, int64(1), ""},
		{"int from string", " 42 ", func(a *Args) any { return a.Int(0, "n") }, int64(42), ""},
		{"int from word", "abc", func(a *Args) any { return a.Int(0, "n") }, nil, `m: argument n: expected int, got string "abc"`},
		{"int from float", 1.0, func(a *Args) any { return a.Int(0, "n") }, nil, "m: argument n: expected int, got float 1"},
		{"int from None", nil, func(a *Args) any { return a.Int(0, "n") }, nil, "m: argument n: expected int, got None"},
		{"opt int None", nil, func(a *Args) any { return a.OptInt(0, "n", 9) }, int64(9), ""},
		{"string", "s", func(a *Args) any { return a.String(0, "s") }, "s", ""},
		{"string from int", int64(1), func(a *Args) any { return a.String(0, "s") }, nil, "m: argument s: expected string, got int 1"},
		{"opt string", "x", func(a *Args) any { return a.OptString(0, "s", "d") }, "x", ""},
		{"opt string None", nil, func(a *Args) any { return a.OptString(0, "s", "d") }, "d", ""},
		{"opt string wrong", []any{}, func(a *Args) any { return a.OptString(0, "s", "d") }, nil, "m: argument s: expected string, got array"},
		{"string or nil", "x", func(a *Args) any { return *a.StringOrNil(0, "s") }, "x", ""},
		{"bool", false, func(a *Args) any { return a.Bool(0, "b") }, false, ""},
		{"bool None", nil, func(a *Args) any { return a.Bool(0, "b") }, false, ""},
		{"bool from struct", map[string]any{}, func(a *Args) any { return a.Bool(0, "b") }, nil, "m: argument b: expected bool, got struct"},
		{"float", 2.5, func(a *Args) any { return a.Float(0, "f") }, 2.5, ""},
		{"float from int", int64(2), func(a *Args) any { return a.Float(0, "f") }, 2.0, ""},
		{"float from string", "2", func(a *Args) any { return a.Float(0, "f") }, nil, `m: argument f: expected float, got string "2"`},
		{"opt float None", nil, func(a *Args) any { return a.OptFloat(0, "f", 1.5) }, 1.5, ""},
		{"map", map[string]any{"a": int64(1)}, func(a *Args) any { return a.Map(0, "opts") }, map[string]any{"a": int64(1)}, ""},
		{"map from list", []any{}, func(a *Args) any { return a.Map(0, "opts") }, nil, "m: argument opts: expected struct, got array"},
		{"opt map None", nil, func(a *Args) any { return a.OptMap(0, "opts") }, map[string]any(nil), ""},
		{"list", []any{"a"}, func(a *Args) any { return a.List(0, "l") }, []any{"a"}, ""},
		{"list from string", "a", func(a *Args) any { return a.List(0, "l") }, nil, `m: argument l: expected array, got string "a"`},
		{"opt list None", nil, func(a *Args) any { return a.OptList(0, "l") }, []any(nil), ""},
		{"bytes", []byte("x"), func(a *Args) any { return a.Bytes(0, "b") }, []byte("x"), ""},
		{"bytes from string", "eA==", func(a *Args) any { return a.Bytes(0, "b") }, nil, `m: argument b: expected base64, got string "eA=="`},
		{"time", when, func(a *Args) any { return a.Time(0, "t") }, when, ""},
		{"time from string", "2024", func(a *Args) any { return a.Time(0, "t") }, nil, `m: argument t: expected dateTime, got string "2024"`},
		{"any", nil, func(a *Args) any { return a.Any(0, "x") }, nil, ""},
		{"long string shortened", "0123456789012345678901234567890123456789XYZ", func(a *Args) any { return a.Int(0, "n") },
			nil, `m: argument n: expected int, got string "0123456789012345678901234567890123456789..."`},
	}
	for _, tc := range tests {
		a := NewArgs("m", []any{tc.param})
		got := tc.get(a)
		err := a.Done()
		if tc.wantErr != "" {
			var f *Fault
			if !errors.As(err, &f) || f.Code != ParameterError || f.String != tc.wantErr {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: unexpected error %v", tc.name, err)
		} else if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.name, got, tc.want)
		}
	}
}

func TestArgsMissingRequired(t *testing.T) {
	getters := map[string]func(a *Args){
		"Int":         func(a *Args) { a.Int(0, "x") },
		"String":      func(a *Args) { a.String(0, "x") },
		"Bool":        func(a *Args) { a.Bool(0, "x") },
		"Float":       func(a *Args) { a.Float(0, "x") },
		"Map":         func(a *Args) { a.Map(0, "x") },
		"List":        func(a *Args) { a.List(0, "x") },
		"Bytes":       func(a *Args) { a.Bytes(0, "x") },
		"Time":        func(a *Args) { a.Time(0, "x") },
		"Any":         func(a *Args) { a.Any(0, "x") },
		"IntOrString": func(a *Args) { a.IntOrString(0, "x") },
	}
	for name, get := range getters {
		a := NewArgs("m", nil)
		get(a)
		if err := a.Err(); err == nil || err.Error() != "m() missing required argument: 'x'" {
			t.Errorf("%s with no params: err = %v", name, err)
		}
	}
}

func TestArgsRestAndKeywordOnly(t *testing.T) {
	// like listTasks(opts=None, queryOpts=None) called with extra *args
	a := NewArgs("m", []any{"a", "b", "c", kw(map[string]any{"only": int64(1), "extra": "x"})})
	first := a.String(0, "first")
	rest := a.Rest(1)
	only := a.OptInt(-1, "only", 0)
	extra := a.RestKwargs()
	if err := a.Done(); err != nil {
		t.Fatal(err)
	}
	if first != "a" || !reflect.DeepEqual(rest, []any{"b", "c"}) || only != 1 || !reflect.DeepEqual(extra, map[string]any{"extra": "x"}) {
		t.Errorf("got %v %v %v %v", first, rest, only, extra)
	}
	if a.Len() != 3 {
		t.Errorf("Len = %d", a.Len())
	}

	// keyword-only argument cannot come by position
	a = NewArgs("m", []any{int64(1)})
	a.OptInt(-1, "only", 0)
	if err := a.Done(); err == nil || err.Error() != "m() takes 0 positional arguments but 1 were given" {
		t.Errorf("positional for keyword-only: err = %v", err)
	}

	// required-only: singular/plural wording
	a = NewArgs("getTaskInfo", []any{int64(1), int64(2)})
	a.Int(0, "task_id")
	if err := a.Done(); err == nil || err.Error() != "getTaskInfo() takes 1 positional argument but 2 were given" {
		t.Errorf("too many: err = %v", err)
	}

	// Has does not consume
	a = NewArgs("m", []any{kw(map[string]any{"x": nil})})
	if !a.Has(0, "x") || a.Has(1, "y") {
		t.Error("Has wrong")
	}
	if err := a.Done(); err == nil {
		t.Error("Has consumed the keyword")
	}

	// the first error sticks
	a = NewArgs("m", []any{"a", "b"})
	a.Int(0, "x")
	a.Int(1, "y")
	if err := a.Done(); err == nil || err.Error() != `m: argument x: expected int, got string "a"` {
		t.Errorf("first error: %v", err)
	}
}
