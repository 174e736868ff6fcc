package kojixml

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// equalValues compares decoded values; NaN equals NaN, times compare by
// instant.
func equalValues(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case float64:
		y, ok := b.(float64)
		return ok && (x == y && math.Signbit(x) == math.Signbit(y) || math.IsNaN(x) && math.IsNaN(y))
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValues(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !equalValues(v, w) {
				return false
			}
		}
		return true
	case Struct:
		y, ok := b.(Struct)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i].Name != y[i].Name || !equalValues(x[i].Value, y[i].Value) {
				return false
			}
		}
		return true
	}
	return a == b
}

// unorder turns Structs into maps, recursively.
func unorder(v any) any {
	switch x := v.(type) {
	case Struct:
		m := make(map[string]any, len(x))
		for _, mb := range x {
			m[mb.Name] = unorder(mb.Value)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = unorder(x[i])
		}
		return out
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, w := range x {
			m[k] = unorder(w)
		}
		return m
	}
	return v
}

func TestRoundTrip(t *testing.T) {
	when := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		in   any
		want any // decoded form; nil means same as in
	}{
		{"nil", nil, nil},
		{"true", true, nil},
		{"false", false, nil},
		{"int zero", int64(0), nil},
		{"int", int64(-42), nil},
		{"int32 max", int64(math.MaxInt32), nil},
		{"i8 above int32", int64(math.MaxInt32) + 1, nil},
		{"i8 below int32", int64(math.MinInt32) - 1, nil},
		{"int64 max", int64(math.MaxInt64), nil},
		{"int64 min", int64(math.MinInt64), nil},
		{"go int", 7, int64(7)},
		{"uint8", uint8(200), int64(200)},
		{"uint64", uint64(1 << 40), int64(1 << 40)},
		{"float", 1.5, nil},
		{"float zero", 0.0, nil},
		{"negative zero", math.Copysign(0, -1), nil},
		{"float big", 1e300, nil},
		{"float tiny", 5e-324, nil},
		{"float ts", 1795725984.16008, nil},
		{"inf", math.Inf(1), nil},
		{"-inf", math.Inf(-1), nil},
		{"nan", math.NaN(), nil},
		{"float32", float32(0.5), 0.5},
		{"empty string", "", nil},
		{"string", "hello world", nil},
		{"markup string", "<a href=\"x\">&amp; 'q'</a> ]]>", nil},
		{"multiline", "line1\nline2\n\ttab", nil},
		{"carriage return", "a\r\nb\rc", nil},
		{"unicode", "žluťoučký kůň 🐴", nil},
		{"leading space", "  padded  ", nil},
		{"bytes", []byte("binary\x00\xff data"), nil},
		{"empty bytes", []byte{}, nil},
		{"long bytes", bytes.Repeat([]byte{0, 1, 2, 250}, 100), nil},
		{"time", when, nil},
		{"time zone converted", when.In(time.FixedZone("X", 3600)), when},
		{"empty array", []any{}, nil},
		{"array", []any{int64(1), "two", 3.0, nil, true}, nil},
		{"nested array", []any{[]any{[]any{}}, []any{int64(1)}}, nil},
		{"string slice", []string{"a", "b"}, []any{"a", "b"}},
		{"int slice", []int{1, 2}, []any{int64(1), int64(2)}},
		{"nil slice", []string(nil), []any{}},
		{"empty struct", map[string]any{}, nil},
		{"struct", map[string]any{"b": int64(1), "a": "x", "__starstar": true}, nil},
		{"odd member names", map[string]any{"": int64(1), "<&>": "x", " s ": nil}, nil},
		{"ordered struct", Struct{{"z", int64(1)}, {"a", int64(2)}}, map[string]any{"z": int64(1), "a": int64(2)}},
		{"string map", map[string]string{"k": "v"}, map[string]any{"k": "v"}},
		{"map slice", []map[string]any{{"id": int64(1)}}, []any{map[string]any{"id": int64(1)}}},
		{"fault value", &Fault{Code: 1000, String: "x"}, map[string]any{"faultCode": int64(1000), "faultString": "x"}},
		{"reflect map", map[string]int{"n": 3}, map[string]any{"n": int64(3)}},
		{"reflect pointer", func() *int { n := 4; return &n }(), int64(4)},
		{"nil pointer", (*int)(nil), nil},
		{"valuer", valuer{}, map[string]any{"v": int64(1)}},
		{"deep", map[string]any{"a": []any{map[string]any{"b": []any{[]byte("x"), when}}}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == nil {
				want = tc.in
			}
			if tc.name == "nil pointer" || tc.name == "nil" {
				want = nil
			}
			var buf bytes.Buffer
			if err := EncodeResponse(&buf, tc.in); err != nil {
				t.Fatalf("EncodeResponse(%#v): %v", tc.in, err)
			}
			got, err := DecodeResponse(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatalf("DecodeResponse(%q): %v", buf.String(), err)
			}
			if !equalValues(got, want) {
				t.Errorf("response round trip of %#v = %#v, want %#v\n%s", tc.in, got, want, buf.String())
			}

			buf.Reset()
			if err := EncodeCall(&buf, "m", []any{tc.in, "after"}); err != nil {
				t.Fatalf("EncodeCall: %v", err)
			}
			c, err := DecodeCall(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatalf("DecodeCall(%q): %v", buf.String(), err)
			}
			if c.Method != "m" || len(c.Params) != 2 || !equalValues(c.Params[0], want) || c.Params[1] != "after" {
				t.Errorf("call round trip of %#v = %#v", tc.in, c)
			}
		})
	}
}

type valuer struct{}

func (valuer) XMLRPCValue() any { return Struct{{"v", 1}} }

func TestEncodeErrors(t *testing.T) {
	self := []any{nil}
	self[0] = self
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"uint64 overflow", uint64(math.MaxUint64), "exceeds XML-RPC limits"},
		{"channel", make(chan int), "cannot encode"},
		{"func", func() {}, "cannot encode"},
		{"int keys", map[int]string{1: "a"}, "keys must be strings"},
		{"nested bad", map[string]any{"x": []any{complex(1, 2)}}, `member "x": item 0: cannot encode`},
		{"self reference", self, "nested deeper"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := EncodeResponse(&buf, tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("EncodeResponse(%T) error = %v, want containing %q", tc.in, err, tc.want)
			}
			if buf.Len() != 0 {
				t.Errorf("EncodeResponse wrote %d bytes on error", buf.Len())
			}
		})
	}
	if err := EncodeCall(&bytes.Buffer{}, "", nil); err == nil {
		t.Error("EncodeCall with empty method succeeded")
	}
	if err := EncodeFault(&bytes.Buffer{}, nil); err == nil {
		t.Error("EncodeFault(nil) succeeded")
	}
	if err := EncodeResponse(failWriter{}, 1); err == nil {
		t.Error("EncodeResponse to a failing writer succeeded")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestFaultRoundTrip(t *testing.T) {
	tests := []*Fault{
		{Code: GenericError, String: "query returned no rows"},
		{Code: ParameterError, String: "Invalid type for value 'x': <class 'str'>"},
		{Code: UnknownError, String: "Traceback (most recent call last):\n  File \"x\"\n"},
		{Code: -5, String: ""},
		Errorf(AuthError, "user %s has no %s permission", "alice", "admin"),
	}
	for _, f := range tests {
		var buf bytes.Buffer
		if err := EncodeFault(&buf, f); err != nil {
			t.Fatal(err)
		}
		v, err := DecodeResponse(&buf)
		var got *Fault
		if v != nil || !errors.As(err, &got) || *got != *f {
			t.Errorf("fault round trip of %+v = %v, %v", f, v, err)
		}
		if got != nil && got.Error() != f.String {
			t.Errorf("Fault.Error() = %q, want %q", got.Error(), f.String)
		}
	}
}
