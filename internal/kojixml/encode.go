package kojixml

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

const (
	xmlHeader = "<?xml version='1.0'?>\n"
	// maxEncodeDepth stops the encoder on self-referencing values.
	maxEncodeDepth = 256
	// maxPooledBuffer keeps huge responses from pinning memory in the pool.
	maxPooledBuffer = 1 << 20
)

// bufPool is a cache of encode buffers; it carries no state between calls.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer {
	b := bufPool.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBuffer {
		bufPool.Put(b)
	}
}

// EncodeResponse writes a <methodResponse> carrying v, byte for byte as
// koji.xmlrpcplus.dumps((v,), methodresponse=1) writes it. Nothing is written
// when v cannot be encoded.
func EncodeResponse(w io.Writer, v any) error {
	b := getBuf()
	defer putBuf(b)
	b.WriteString(xmlHeader + "<methodResponse>\n<params>\n<param>\n")
	if err := encodeValue(b, v, 0); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	b.WriteString("</param>\n</params>\n</methodResponse>\n")
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	return nil
}

// AppendResponse appends the <methodResponse> document for v to dst.
func AppendResponse(dst []byte, v any) ([]byte, error) {
	b := bytes.NewBuffer(dst)
	b.WriteString(xmlHeader + "<methodResponse>\n<params>\n<param>\n")
	if err := encodeValue(b, v, 0); err != nil {
		return dst, fmt.Errorf("encode response: %w", err)
	}
	b.WriteString("</param>\n</params>\n</methodResponse>\n")
	return b.Bytes(), nil
}

// AppendValue appends v's <value> element to dst, as it would appear in a
// response or inside an array; see Encoded.
func AppendValue(dst []byte, v any) ([]byte, error) {
	b := bytes.NewBuffer(dst)
	if err := encodeValue(b, v, 0); err != nil {
		return dst, fmt.Errorf("encode value: %w", err)
	}
	return b.Bytes(), nil
}

// EncodeFault writes a fault <methodResponse> as Koji writes it.
func EncodeFault(w io.Writer, f *Fault) error {
	if f == nil {
		return fmt.Errorf("encode fault: nil fault")
	}
	b := getBuf()
	defer putBuf(b)
	b.WriteString(xmlHeader + "<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n")
	writeInt(b, int64(f.Code))
	b.WriteString("</member>\n<member>\n<name>faultString</name>\n")
	writeString(b, f.String)
	b.WriteString("</member>\n</struct></value>\n</fault>\n</methodResponse>\n")
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("encode fault: %w", err)
	}
	return nil
}

// EncodeCall writes a <methodCall> as koji.xmlrpcplus.dumps(tuple(params),
// methodname=method) does; Koji stores task requests in this form.
func EncodeCall(w io.Writer, method string, params []any) error {
	if method == "" {
		return fmt.Errorf("encode call: empty method name")
	}
	b := getBuf()
	defer putBuf(b)
	b.WriteString(xmlHeader + "<methodCall>\n<methodName>")
	escapeText(b, method)
	b.WriteString("</methodName>\n<params>\n")
	for i, p := range params {
		b.WriteString("<param>\n")
		if err := encodeValue(b, p, 0); err != nil {
			return fmt.Errorf("encode call %s: param %d: %w", method, i, err)
		}
		b.WriteString("</param>\n")
	}
	b.WriteString("</params>\n</methodCall>\n")
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("encode call %s: %w", method, err)
	}
	return nil
}

func writeInt(b *bytes.Buffer, n int64) {
	var tmp [24]byte
	if n > math.MaxInt32 || n < math.MinInt32 {
		b.WriteString("<value><i8>")
		b.Write(strconv.AppendInt(tmp[:0], n, 10))
		b.WriteString("</i8></value>\n")
		return
	}
	b.WriteString("<value><int>")
	b.Write(strconv.AppendInt(tmp[:0], n, 10))
	b.WriteString("</int></value>\n")
}

func writeString(b *bytes.Buffer, s string) {
	b.WriteString("<value><string>")
	escapeText(b, s)
	b.WriteString("</string></value>\n")
}

func writeBool(b *bytes.Buffer, v bool) {
	if v {
		b.WriteString("<value><boolean>1</boolean></value>\n")
	} else {
		b.WriteString("<value><boolean>0</boolean></value>\n")
	}
}

// appendPyFloat formats f as Python's repr(float) does.
func appendPyFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "nan"...)
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	}
	// Python's repr uses the shortest round-tripping digits, in fixed
	// notation when the decimal exponent is in [-4, 16), else scientific.
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	// exponent is after 'e'
	i := bytes.IndexByte(e, 'e')
	exp, _ := strconv.Atoi(string(e[i+1:]))
	if exp >= -4 && exp < 16 {
		start := len(dst)
		dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
		if bytes.IndexByte(dst[start:], '.') < 0 {
			dst = append(dst, ".0"...)
		}
		return dst
	}
	return append(dst, e...)
}

func writeFloat(b *bytes.Buffer, f float64) {
	var tmp [32]byte
	b.WriteString("<value><double>")
	b.Write(appendPyFloat(tmp[:0], f))
	b.WriteString("</double></value>\n")
}

func writeBase64(b *bytes.Buffer, p []byte) {
	// base64.encodebytes: lines of 76 characters, each ending in "\n".
	b.WriteString("<value><base64>\n")
	const lineBytes = 57 // 76 encoded characters
	var line [76]byte
	for len(p) > 0 {
		n := min(len(p), lineBytes)
		m := base64.StdEncoding.EncodedLen(n)
		base64.StdEncoding.Encode(line[:m], p[:n])
		b.Write(line[:m])
		b.WriteByte('\n')
		p = p[n:]
	}
	b.WriteString("</base64></value>\n")
}

func writeTime(b *bytes.Buffer, t time.Time) {
	b.WriteString("<value><dateTime.iso8601>")
	var tmp [32]byte
	b.Write(t.UTC().AppendFormat(tmp[:0], "20060102T15:04:05"))
	b.WriteString("</dateTime.iso8601></value>\n")
}

func encodeMap(b *bytes.Buffer, m map[string]any, depth int) error {
	b.WriteString("<value><struct>\n")
	if len(m) > 0 {
		var small [32]string
		keys := small[:0]
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if err := encodeMember(b, k, m[k], depth); err != nil {
				return err
			}
		}
	}
	b.WriteString("</struct></value>\n")
	return nil
}

func encodeMember(b *bytes.Buffer, name string, v any, depth int) error {
	b.WriteString("<member>\n<name>")
	escapeText(b, name)
	b.WriteString("</name>\n")
	if err := encodeValue(b, v, depth+1); err != nil {
		return fmt.Errorf("member %q: %w", name, err)
	}
	b.WriteString("</member>\n")
	return nil
}

func encodeArray[T any](b *bytes.Buffer, s []T, depth int) error {
	b.WriteString("<value><array><data>\n")
	for i := range s {
		if err := encodeValue(b, s[i], depth+1); err != nil {
			return fmt.Errorf("item %d: %w", i, err)
		}
	}
	b.WriteString("</data></array></value>\n")
	return nil
}

func encodeValue(b *bytes.Buffer, v any, depth int) error {
	if depth > maxEncodeDepth {
		return fmt.Errorf("value nested deeper than %d levels", maxEncodeDepth)
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("<value><nil/></value>")
	case string:
		writeString(b, x)
	case int64:
		writeInt(b, x)
	case int:
		writeInt(b, int64(x))
	case bool:
		writeBool(b, x)
	case float64:
		writeFloat(b, x)
	case map[string]any:
		return encodeMap(b, x, depth)
	case []any:
		return encodeArray(b, x, depth)
	case Encoded:
		b.Write(x)
	case Struct:
		b.WriteString("<value><struct>\n")
		for _, m := range x {
			if err := encodeMember(b, m.Name, m.Value, depth); err != nil {
				return err
			}
		}
		b.WriteString("</struct></value>\n")
	case []byte:
		writeBase64(b, x)
	case time.Time:
		writeTime(b, x)
	case *time.Time:
		if x == nil {
			b.WriteString("<value><nil/></value>")
		} else {
			writeTime(b, *x)
		}
	case int32:
		writeInt(b, int64(x))
	case int16:
		writeInt(b, int64(x))
	case int8:
		writeInt(b, int64(x))
	case uint8:
		writeInt(b, int64(x))
	case uint16:
		writeInt(b, int64(x))
	case uint32:
		writeInt(b, int64(x))
	case uint:
		if uint64(x) > math.MaxInt64 {
			return fmt.Errorf("integer %d exceeds XML-RPC limits", x)
		}
		writeInt(b, int64(x))
	case uint64:
		if x > math.MaxInt64 {
			return fmt.Errorf("integer %d exceeds XML-RPC limits", x)
		}
		writeInt(b, int64(x))
	case float32:
		writeFloat(b, float64(x))
	case []string:
		return encodeArray(b, x, depth)
	case []int:
		return encodeArray(b, x, depth)
	case []int64:
		return encodeArray(b, x, depth)
	case []float64:
		return encodeArray(b, x, depth)
	case []map[string]any:
		return encodeArray(b, x, depth)
	case []Struct:
		return encodeArray(b, x, depth)
	case map[string]string:
		b.WriteString("<value><struct>\n")
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if err := encodeMember(b, k, x[k], depth); err != nil {
				return err
			}
		}
		b.WriteString("</struct></value>\n")
	case *Fault:
		if x == nil {
			b.WriteString("<value><nil/></value>")
			return nil
		}
		return encodeValue(b, Struct{{"faultCode", x.Code}, {"faultString", x.String}}, depth)
	case Valuer:
		return encodeValue(b, x.XMLRPCValue(), depth+1)
	default:
		return encodeReflect(b, v, depth)
	}
	return nil
}

// encodeReflect handles the slices, maps and pointers the type switch does not
// name; it is the slow path.
func encodeReflect(b *bytes.Buffer, v any, depth int) error {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			b.WriteString("<value><nil/></value>")
			return nil
		}
		return encodeValue(b, rv.Elem().Interface(), depth+1)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			b.WriteString("<value><array><data>\n</data></array></value>\n")
			return nil
		}
		b.WriteString("<value><array><data>\n")
		for i := 0; i < rv.Len(); i++ {
			if err := encodeValue(b, rv.Index(i).Interface(), depth+1); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
		}
		b.WriteString("</data></array></value>\n")
		return nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("cannot encode %T: struct keys must be strings", v)
		}
		keys := rv.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int {
			switch {
			case a.String() < b.String():
				return -1
			case a.String() > b.String():
				return 1
			}
			return 0
		})
		b.WriteString("<value><struct>\n")
		for _, k := range keys {
			if err := encodeMember(b, k.String(), rv.MapIndex(k).Interface(), depth); err != nil {
				return err
			}
		}
		b.WriteString("</struct></value>\n")
		return nil
	case reflect.String:
		writeString(b, rv.String())
		return nil
	case reflect.Bool:
		writeBool(b, rv.Bool())
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		writeInt(b, rv.Int())
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if rv.Uint() > math.MaxInt64 {
			return fmt.Errorf("integer %d exceeds XML-RPC limits", rv.Uint())
		}
		writeInt(b, int64(rv.Uint()))
		return nil
	case reflect.Float32, reflect.Float64:
		writeFloat(b, rv.Float())
		return nil
	}
	return fmt.Errorf("cannot encode value of type %T", v)
}

// escapeText writes s escaped as Python's xmlrpc.client.escape does (&, <,
// >), plus '\r' as &#13; and characters XML cannot carry as U+FFFD.
func escapeText(b *bytes.Buffer, s string) {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			var esc string
			switch {
			case c == '&':
				esc = "&amp;"
			case c == '<':
				esc = "&lt;"
			case c == '>':
				esc = "&gt;"
			case c == '\r':
				esc = "&#13;"
			case c < 0x20 && c != '\t' && c != '\n':
				esc = "\uFFFD"
			default:
				i++
				continue
			}
			b.WriteString(s[last:i])
			b.WriteString(esc)
			i++
			last = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == 0xFFFE || r == 0xFFFF {
			b.WriteString(s[last:i])
			b.WriteString("\uFFFD")
			i += size
			last = i
			continue
		}
		i += size
	}
	b.WriteString(s[last:])
}
