package kojixml

import (
	"bytes"
	"math"
	"os/exec"
	"strings"
	"testing"
	"time"

	"kojigo/internal/testenv"
)

const (
	respHead = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n"
	respTail = "</param>\n</params>\n</methodResponse>\n"
)

// TestEncodeValueBytes checks each type against what Python's
// xmlrpc.client (with koji.xmlrpcplus's <i8>) writes, captured from
// python3 3.11.
func TestEncodeValueBytes(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{int64(1), "<value><int>1</int></value>\n"},
		{int64(1 << 31), "<value><i8>2147483648</i8></value>\n"},
		{int64(-1<<31 - 1), "<value><i8>-2147483649</i8></value>\n"},
		{int64(-1 << 31), "<value><int>-2147483648</int></value>\n"},
		{true, "<value><boolean>1</boolean></value>\n"},
		{false, "<value><boolean>0</boolean></value>\n"},
		{1e16, "<value><double>1e+16</double></value>\n"},
		{1e15, "<value><double>1000000000000000.0</double></value>\n"},
		{0.0001, "<value><double>0.0001</double></value>\n"},
		{0.00001, "<value><double>1e-05</double></value>\n"},
		{1.2345e-7, "<value><double>1.2345e-07</double></value>\n"},
		{123456789.123, "<value><double>123456789.123</double></value>\n"},
		{math.Copysign(0, -1), "<value><double>-0.0</double></value>\n"},
		{1.5e300, "<value><double>1.5e+300</double></value>\n"},
		{math.Inf(1), "<value><double>inf</double></value>\n"},
		{math.NaN(), "<value><double>nan</double></value>\n"},
		{1.0 / 3, "<value><double>0.3333333333333333</double></value>\n"},
		{float64(1 << 62), "<value><double>4.611686018427388e+18</double></value>\n"},
		{4.0, "<value><double>4.0</double></value>\n"},
		{"a<b&c>d\"'", "<value><string>a&lt;b&amp;c&gt;d\"'</string></value>\n"},
		{[]byte("hello"), "<value><base64>\naGVsbG8=\n</base64></value>\n"},
		{func() []byte {
			b := make([]byte, 60)
			for i := range b {
				b[i] = byte(i)
			}
			return b
		}(), "<value><base64>\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4\nOTo7\n</base64></value>\n"},
		{[]byte{}, "<value><base64>\n</base64></value>\n"},
		{time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "<value><dateTime.iso8601>20240102T03:04:05</dateTime.iso8601></value>\n"},
		{nil, "<value><nil/></value>"},
		{[]any{}, "<value><array><data>\n</data></array></value>\n"},
		{map[string]any{}, "<value><struct>\n</struct></value>\n"},
		{Struct{{"b", 1}, {"a", []any{nil}}}, "<value><struct>\n<member>\n<name>b</name>\n<value><int>1</int></value>\n</member>\n<member>\n<name>a</name>\n<value><array><data>\n<value><nil/></value></data></array></value>\n</member>\n</struct></value>\n"},
		{map[string]any{"b": 1, "a": 2}, "<value><struct>\n<member>\n<name>a</name>\n<value><int>2</int></value>\n</member>\n<member>\n<name>b</name>\n<value><int>1</int></value>\n</member>\n</struct></value>\n"},
		// deliberate differences from Python (see doc.go)
		{"a\rb", "<value><string>a&#13;b</string></value>\n"},
		{"nul\x00 bad\xff end\uffff", "<value><string>nul\uFFFD bad\uFFFD end\uFFFD</string></value>\n"},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		if err := EncodeResponse(&buf, tc.in); err != nil {
			t.Fatalf("EncodeResponse(%#v): %v", tc.in, err)
		}
		if got := buf.String(); got != respHead+tc.want+respTail {
			t.Errorf("EncodeResponse(%#v) value = %q, want %q", tc.in, strings.TrimSuffix(strings.TrimPrefix(got, respHead), respTail), tc.want)
		}
		got, err := AppendResponse([]byte("x"), tc.in)
		if err != nil || string(got) != "x"+respHead+tc.want+respTail {
			t.Errorf("AppendResponse(%#v) = %q, %v", tc.in, got, err)
		}
	}
}

func TestEncodeCallAndFaultBytes(t *testing.T) {
	var buf bytes.Buffer
	if err := EncodeCall(&buf, "getAPIVersion", nil); err != nil {
		t.Fatal(err)
	}
	want := "<?xml version='1.0'?>\n<methodCall>\n<methodName>getAPIVersion</methodName>\n<params>\n</params>\n</methodCall>\n"
	if buf.String() != want {
		t.Errorf("EncodeCall = %q, want %q", buf.String(), want)
	}
	buf.Reset()
	if err := EncodeFault(&buf, Errorf(ParameterError, "Invalid type for value '%s': <class 'str'>", "x")); err != nil {
		t.Fatal(err)
	}
	want = "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n<value><int>1019</int></value>\n</member>\n<member>\n<name>faultString</name>\n<value><string>Invalid type for value 'x': &lt;class 'str'&gt;</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n"
	if buf.String() != want {
		t.Errorf("EncodeFault = %q, want %q", buf.String(), want)
	}
}

// pythonOracle re-marshals our documents with Python's xmlrpc.client and
// koji.xmlrpcplus's <i8> rule; the output must be identical.
const pythonOracle = `
import sys, xmlrpc.client as x
class M(x.Marshaller):
    dispatch = x.Marshaller.dispatch.copy()
    def dump_int(self, value, write):
        if value > x.MAXINT or value < x.MININT:
            write("<value><i8>"); write(str(int(value))); write("</i8></value>\n")
        else:
            x.Marshaller.dump_int(self, value, write)
    dispatch[int] = dump_int
for doc in sys.stdin.read().split("\0"):
    params, method = x.loads(doc, use_builtin_types=True)
    body = M("utf-8", allow_none=True).dumps(params)
    head = "<?xml version='1.0'?>\n"
    if method:
        out = head + "<methodCall>\n<methodName>" + method + "</methodName>\n" + body + "</methodCall>\n"
    else:
        out = head + "<methodResponse>\n" + body + "</methodResponse>\n"
    sys.stdout.write(out + "\0")
`

func TestEncodeMatchesPython(t *testing.T) {
	py := testenv.NeedTool(t, "python3")
	when := time.Date(1999, 12, 31, 23, 59, 58, 0, time.UTC)
	values := []any{
		nil, true, false, int64(0), int64(-7), int64(math.MaxInt32), int64(math.MaxInt32) + 1,
		int64(math.MinInt64), int64(math.MaxInt64), 0.1, 2.5e-5, 1e22, 123456.789, -1e-300,
		math.Inf(-1), 1795725984.16008, "", "plain", "<xml> & 'quotes' \"dq\"", "tab\tnewline\n",
		"ünïcödé ✓ 😀", []byte{}, []byte("x"), bytes.Repeat([]byte("0123456789"), 30), when,
		[]any{}, []any{nil, []any{nil}, map[string]any{}},
		map[string]any{"arches": "x86_64 i686", "capacity": 4.0, "id": 1, "update_ts": nil, "__starstar": true},
		Struct{{"zeta", 1}, {"alpha", Struct{{"y", []any{"a"}}, {"x", nil}}}},
	}
	var in bytes.Buffer
	var want []string
	for _, v := range values {
		var buf bytes.Buffer
		if err := EncodeResponse(&buf, v); err != nil {
			t.Fatal(err)
		}
		want = append(want, buf.String())
		in.Write(buf.Bytes())
		in.WriteByte(0)
	}
	var buf bytes.Buffer
	if err := EncodeCall(&buf, "host.updateHost", []any{0.0, true, map[string]any{"data": map[string]any{"maxjobs": 10}, "__starstar": true}}); err != nil {
		t.Fatal(err)
	}
	want = append(want, buf.String())
	in.Write(buf.Bytes())

	cmd := exec.Command(py, "-c", pythonOracle)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if len(got) != len(want) {
		t.Fatalf("python returned %d documents, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("document %d: python writes\n%q\nwe write\n%q", i, got[i], want[i])
		}
	}
}

// A value encoded once by AppendValue and sent as Encoded reads as the
// value itself would, inside arrays and structs.
func TestEncodedValue(t *testing.T) {
	for _, v := range []any{
		int64(1), "a<b", nil, 2.5, true,
		Struct{{Name: "id", Value: int64(7)}, {Name: "name", Value: "b&1"}, {Name: "update_ts", Value: nil}},
		map[string]any{"x": []any{int64(1), "y"}},
	} {
		frag, err := AppendValue(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		var want, got bytes.Buffer
		if err := EncodeResponse(&want, []any{v, map[string]any{"k": v}}); err != nil {
			t.Fatal(err)
		}
		if err := EncodeResponse(&got, []any{Encoded(frag), map[string]any{"k": Encoded(frag)}}); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%#v: Encoded gives\n%s\nwant\n%s", v, got.String(), want.String())
		}
	}
	if _, err := AppendValue(nil, func() {}); err == nil {
		t.Error("AppendValue of a func succeeded")
	}
}
