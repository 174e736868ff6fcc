package kojixml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"testing"
)

// hostRow is one listHosts row as Koji returns it (wire/call-listHosts.txt).
func hostRow(i int) map[string]any {
	return map[string]any{
		"arches":      "x86_64 i686",
		"capacity":    4.0,
		"comment":     "edited by kojiref",
		"description": "reference builder",
		"enabled":     true,
		"id":          int64(i),
		"name":        "builder" + strconv.Itoa(i),
		"ready":       false,
		"task_load":   0.0,
		"update_ts":   1795725984.16008,
		"user_id":     int64(i + 2),
	}
}

func hosts(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = hostRow(i + 1)
	}
	return out
}

func encoded(tb testing.TB, v any) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := EncodeResponse(&buf, v); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func BenchmarkEncodeListHosts(b *testing.B) {
	for _, n := range []int{1, 100} {
		v := hosts(n)
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(encoded(b, v))))
			b.ReportAllocs()
			for b.Loop() {
				if err := EncodeResponse(io.Discard, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeListHosts(b *testing.B) {
	for _, n := range []int{1, 100} {
		data := encoded(b, hosts(n))
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := (DecodeOptions{}).DecodeResponseBytes(data); err != nil {
					b.Fatal(err)
				}
			}
		})
		// the same document through encoding/xml's token API, to justify
		// the hand-written parser
		b.Run(fmt.Sprintf("hosts=%d/encoding-xml", n), func(b *testing.B) {
			if _, err := stdlibDecode(data); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := stdlibDecode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeCallMultiCall(b *testing.B) {
	var req []byte
	for _, ex := range recordings(b, "testdata/wire") {
		if ex.name == "multiCall-mixed.txt#1" {
			req = ex.req
		}
	}
	if req == nil {
		b.Fatal("no multiCall request in testdata")
	}
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (DecodeOptions{}).DecodeCallBytes(req); err != nil {
			b.Fatal(err)
		}
	}
}

// stdlibDecode is a minimal XML-RPC response decoder on encoding/xml's
// Decoder.RawToken, only for comparison in benchmarks.
func stdlibDecode(data []byte) (any, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var stack [][]any
	var names []string
	var text []byte
	var result any
	push := func(v any) {
		if len(stack) == 0 {
			result = v
			return
		}
		stack[len(stack)-1] = append(stack[len(stack)-1], v)
	}
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			return result, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			text = text[:0]
			if t.Name.Local == "array" || t.Name.Local == "struct" {
				stack = append(stack, nil)
			}
		case xml.CharData:
			text = append(text, t...)
		case xml.EndElement:
			s := string(text)
			switch t.Name.Local {
			case "string":
				push(s)
			case "int", "i4", "i8":
				n, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return nil, err
				}
				push(n)
			case "double":
				f, err := strconv.ParseFloat(s, 64)
				if err != nil {
					return nil, err
				}
				push(f)
			case "boolean":
				push(s == "1")
			case "nil":
				push(nil)
			case "name":
				names = append(names, s)
			case "array":
				top := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				push(top)
			case "struct":
				top := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				m := make(map[string]any, len(top))
				k := names[len(names)-len(top):]
				for i, v := range top {
					m[k[i]] = v
				}
				names = names[:len(names)-len(top)]
				push(m)
			}
			text = text[:0]
		}
	}
}

func TestStdlibDecodeAgrees(t *testing.T) {
	data := encoded(t, hosts(3))
	want, err := DecodeResponse(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	got, err := stdlibDecode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !equalValues(got, want) {
		t.Errorf("encoding/xml decoder disagrees:\n%#v\n%#v", got, want)
	}
}

// BenchmarkDecodeCheckIn decodes a builder's host.updateHost call, the
// request a hub receives most.
func BenchmarkDecodeCheckIn(b *testing.B) {
	data := map[string]any{"methods": []any{"build", "buildArch"}, "maxjobs": int64(4), "cpus": int64(8), "load1": 0.4,
		"mem_total": int64(32 << 30), "mem_available": int64(20 << 30), "not_ready_reasons": []any{},
		"disk": []any{map[string]any{"path": "/var/lib/mock", "role": "mockdir", "free": int64(100 << 30), "total": int64(500 << 30)}}}
	var buf bytes.Buffer
	if err := EncodeCall(&buf, "host.updateHost", EncodeKwargs([]any{0.0, true}, map[string]any{"data": data})); err != nil {
		b.Fatal(err)
	}
	req := buf.Bytes()
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (DecodeOptions{}).DecodeCallBytes(req); err != nil {
			b.Fatal(err)
		}
	}
}
