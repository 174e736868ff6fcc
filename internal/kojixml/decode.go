package kojixml

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Decoder limits used when DecodeOptions leaves them zero.
const (
	DefaultMaxDepth  = 64
	DefaultMaxValues = 1 << 20
)

// ErrEmpty is returned for a body with nothing in it ("Empty request" in Koji).
var ErrEmpty = errors.New("empty request")

// DecodeOptions bounds what a document may ask the decoder to build. The
// caller bounds the body size.
type DecodeOptions struct {
	// MaxDepth is the deepest nesting of arrays and structs; 0 means
	// DefaultMaxDepth.
	MaxDepth int
	// MaxValues is the most <value> elements in one document; 0 means
	// DefaultMaxValues.
	MaxValues int
	// PreserveOrder decodes structs as Struct, members in document order (a
	// repeated name keeps its first place and its last value, as a Python
	// dict does), instead of map[string]any.
	PreserveOrder bool
}

// SyntaxError says where and why a document is not an XML-RPC call or
// response the decoder accepts.
type SyntaxError struct {
	// Line is 1-based and Column 0-based, as expat (and so Koji) counts:
	// Koji answers "Invalid request: " + Error() with HTTP 400.
	Line, Column int
	Msg          string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s: line %d, column %d", e.Msg, e.Line, e.Column)
}

// DecodeCall reads a <methodCall> with the default limits.
func DecodeCall(r io.Reader) (*Call, error) { return DecodeOptions{}.DecodeCall(r) }

// DecodeResponse reads a <methodResponse> with the default limits and returns
// its value, or a *Fault as the error for a fault document.
func DecodeResponse(r io.Reader) (any, error) { return DecodeOptions{}.DecodeResponse(r) }

// DecodeCall reads a <methodCall>.
func (o DecodeOptions) DecodeCall(r io.Reader) (*Call, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("decode call: %w", err)
	}
	return o.DecodeCallBytes(data)
}

// DecodeResponse reads a <methodResponse>; a fault document returns a *Fault
// as the error.
func (o DecodeOptions) DecodeResponse(r io.Reader) (any, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	return o.DecodeResponseBytes(data)
}

// DecodeCallBytes decodes a <methodCall> held in memory.
func (o DecodeOptions) DecodeCallBytes(data []byte) (*Call, error) {
	p, err := o.newParser(data)
	if err != nil {
		return nil, fmt.Errorf("decode call: %w", err)
	}
	c, err := p.call()
	if err != nil {
		return nil, fmt.Errorf("decode call: %w", err)
	}
	return c, nil
}

// DecodeResponseBytes decodes a <methodResponse> held in memory; a fault
// document returns a *Fault as the error, unwrapped.
func (o DecodeOptions) DecodeResponseBytes(data []byte) (any, error) {
	p, err := o.newParser(data)
	if err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	v, fault, err := p.response()
	if err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	if fault != nil {
		return nil, fault
	}
	return v, nil
}

type parser struct {
	buf       []byte
	pos       int
	depth     int
	maxDepth  int
	values    int
	maxValues int
	ordered   bool
	scratch   []byte
	names     [64]string // direct-mapped cache of struct member names
}

// intern returns b as a string, reusing the string of an earlier member
// name: rows of a result repeat the same names.
func (p *parser) intern(b []byte) string {
	if len(b) > 32 {
		return string(b)
	}
	h := uint32(2166136261)
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	slot := &p.names[h%uint32(len(p.names))]
	if *slot == string(b) {
		return *slot
	}
	*slot = string(b)
	return *slot
}

// tag is a parsed start or end tag; name is the local name (any "ns:"
// prefix removed, as Python's unmarshaller does), full the name as written.
type tag struct {
	end   bool // </name>
	empty bool // <name/>
	name  []byte
	full  []byte
	at    int
}

func (o DecodeOptions) newParser(data []byte) (*parser, error) {
	p := &parser{buf: data, maxDepth: o.MaxDepth, maxValues: o.MaxValues, ordered: o.PreserveOrder}
	if p.maxDepth <= 0 {
		p.maxDepth = DefaultMaxDepth
	}
	if p.maxValues <= 0 {
		p.maxValues = DefaultMaxValues
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, ErrEmpty
	}
	if err := p.checkChars(); err != nil {
		return nil, err
	}
	p.pos = 0
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		p.pos = 3
	}
	return p, nil
}

// checkChars verifies the input is UTF-8 made only of characters XML allows.
func (p *parser) checkChars() error {
	b := p.buf
	for i := 0; i < len(b); {
		// eight printable ASCII bytes at a time
		for i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i:])
			if w&0x8080808080808080 != 0 || (w-0x2020202020202020)&^w&0x8080808080808080 != 0 {
				break
			}
			i += 8
		}
		if i >= len(b) {
			break
		}
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				p.pos = i
				return p.errorf("character 0x%02x not allowed in XML", c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			p.pos = i
			return p.errorf("invalid UTF-8")
		}
		if r == 0xFFFE || r == 0xFFFF {
			p.pos = i
			return p.errorf("character U+%04X not allowed in XML", r)
		}
		i += size
	}
	return nil
}

func (p *parser) errorf(format string, args ...any) error {
	return p.errorAt(p.pos, format, args...)
}

func (p *parser) errorAt(pos int, format string, args ...any) error {
	pos = min(pos, len(p.buf))
	line := 1 + bytes.Count(p.buf[:pos], []byte{'\n'})
	col := pos - bytes.LastIndexByte(p.buf[:pos], '\n') - 1
	return &SyntaxError{Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipMisc skips whitespace, comments and processing instructions; any other
// text is an error (element-only content).
func (p *parser) skipMisc() error {
	for p.pos < len(p.buf) {
		c := p.buf[p.pos]
		if isSpace(c) {
			p.pos++
			continue
		}
		if c != '<' {
			return p.errorf("unexpected text")
		}
		ok, err := p.skipCommentOrPI()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
	}
	return nil
}

// skipCommentOrPI skips a comment or processing instruction at p.pos and
// reports whether it did. DOCTYPE and other declarations are errors.
func (p *parser) skipCommentOrPI() (bool, error) {
	rest := p.buf[p.pos:]
	switch {
	case bytes.HasPrefix(rest, []byte("<!--")):
		end := bytes.Index(rest[4:], []byte("-->"))
		if end < 0 {
			return false, p.errorAt(len(p.buf), "unclosed comment")
		}
		p.pos += 4 + end + 3
		return true, nil
	case bytes.HasPrefix(rest, []byte("<?")):
		end := bytes.Index(rest[2:], []byte("?>"))
		if end < 0 {
			return false, p.errorAt(len(p.buf), "unclosed processing instruction")
		}
		if bytes.HasPrefix(rest, []byte("<?xml")) && len(rest) > 5 && (isSpace(rest[5]) || rest[5] == '?') {
			if p.pos != 0 && !(p.pos == 3 && bytes.HasPrefix(p.buf, []byte("\xef\xbb\xbf"))) {
				return false, p.errorf("XML declaration not at start of document")
			}
			if err := p.checkDecl(rest[5 : 2+end]); err != nil {
				return false, err
			}
		}
		p.pos += 2 + end + 2
		return true, nil
	case bytes.HasPrefix(rest, []byte("<![CDATA[")):
		return false, p.errorf("CDATA not allowed here")
	case bytes.HasPrefix(rest, []byte("<!DOCTYPE")):
		return false, p.errorf("DOCTYPE not allowed")
	case bytes.HasPrefix(rest, []byte("<!")):
		return false, p.errorf("markup declaration not allowed here")
	}
	return false, nil
}

// checkDecl accepts only UTF-8 (or ASCII) as the declared encoding.
func (p *parser) checkDecl(decl []byte) error {
	i := bytes.Index(decl, []byte("encoding"))
	if i < 0 {
		return nil
	}
	v := bytes.TrimLeft(decl[i+len("encoding"):], " \t\r\n")
	if len(v) == 0 || v[0] != '=' {
		return p.errorf("malformed XML declaration")
	}
	v = bytes.TrimLeft(v[1:], " \t\r\n")
	if len(v) < 2 || (v[0] != '"' && v[0] != '\'') {
		return p.errorf("malformed XML declaration")
	}
	end := bytes.IndexByte(v[1:], v[0])
	if end < 0 {
		return p.errorf("malformed XML declaration")
	}
	enc := string(bytes.ToLower(v[1 : 1+end]))
	switch enc {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return nil
	}
	return p.errorf("unsupported encoding %q (only UTF-8)", enc)
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '.' || c == ':' || c >= utf8.RuneSelf
}

// readTag parses the tag at p.pos, which must start with '<' and not be a
// comment or PI.
func (p *parser) readTag() (tag, error) {
	t := tag{at: p.pos}
	if p.pos >= len(p.buf) {
		return t, p.errorf("no element found")
	}
	if p.buf[p.pos] != '<' {
		return t, p.errorf("expected a tag")
	}
	p.pos++
	if p.pos < len(p.buf) && p.buf[p.pos] == '/' {
		t.end = true
		p.pos++
	}
	start := p.pos
	for p.pos < len(p.buf) && isNameByte(p.buf[p.pos]) {
		p.pos++
	}
	if p.pos == start {
		if bytes.HasPrefix(p.buf[start:], []byte("![CDATA[")) {
			return t, p.errorAt(t.at, "CDATA not allowed here")
		}
		return t, p.errorAt(t.at, "not well-formed (invalid token)")
	}
	t.full = p.buf[start:p.pos]
	t.name = t.full
	if i := bytes.LastIndexByte(t.full, ':'); i >= 0 {
		t.name = t.full[i+1:]
	}
	for {
		for p.pos < len(p.buf) && isSpace(p.buf[p.pos]) {
			p.pos++
		}
		if p.pos >= len(p.buf) {
			return t, p.errorf("no element found")
		}
		c := p.buf[p.pos]
		if c == '>' {
			p.pos++
			return t, nil
		}
		if c == '/' && !t.end {
			if p.pos+1 < len(p.buf) && p.buf[p.pos+1] == '>' {
				t.empty = true
				p.pos += 2
				return t, nil
			}
			return t, p.errorf("not well-formed (invalid token)")
		}
		if t.end {
			return t, p.errorf("not well-formed (invalid token)")
		}
		// attribute: ignored, as Python's unmarshaller ignores them
		if p.pos > 0 && !isSpace(p.buf[p.pos-1]) {
			return t, p.errorf("not well-formed (invalid token)")
		}
		as := p.pos
		for p.pos < len(p.buf) && isNameByte(p.buf[p.pos]) {
			p.pos++
		}
		if p.pos == as {
			return t, p.errorf("not well-formed (invalid token)")
		}
		for p.pos < len(p.buf) && isSpace(p.buf[p.pos]) {
			p.pos++
		}
		if p.pos >= len(p.buf) || p.buf[p.pos] != '=' {
			return t, p.errorf("not well-formed (invalid token)")
		}
		p.pos++
		for p.pos < len(p.buf) && isSpace(p.buf[p.pos]) {
			p.pos++
		}
		if p.pos >= len(p.buf) || (p.buf[p.pos] != '"' && p.buf[p.pos] != '\'') {
			return t, p.errorf("not well-formed (invalid token)")
		}
		q := p.buf[p.pos]
		end := bytes.IndexByte(p.buf[p.pos+1:], q)
		if end < 0 {
			return t, p.errorAt(len(p.buf), "unclosed attribute value")
		}
		if bytes.IndexByte(p.buf[p.pos+1:p.pos+1+end], '<') >= 0 {
			return t, p.errorf("not well-formed (invalid token)")
		}
		p.pos += 1 + end + 1
	}
}

// nextTag skips misc content and reads the next tag.
func (p *parser) nextTag() (tag, error) {
	if err := p.skipMisc(); err != nil {
		return tag{}, err
	}
	return p.readTag()
}

// expectStart reads the start tag <name> (or <name/>).
func (p *parser) expectStart(name string) (tag, error) {
	t, err := p.nextTag()
	if err != nil {
		return t, err
	}
	if t.end || string(t.name) != name {
		return t, p.errorAt(t.at, "expected <%s>, found %s", name, t)
	}
	return t, nil
}

// expectEnd reads the end tag </name>.
func (p *parser) expectEnd(open tag) error {
	t, err := p.nextTag()
	if err != nil {
		return err
	}
	if !t.end || !bytes.Equal(t.full, open.full) {
		return p.errorAt(t.at, "expected </%s>, found %s", open.full, t)
	}
	return nil
}

func (t tag) String() string {
	switch {
	case t.end:
		return "</" + string(t.full) + ">"
	case t.empty:
		return "<" + string(t.full) + "/>"
	}
	return "<" + string(t.full) + ">"
}

// text reads character data up to the next tag (which is left unread),
// resolving references, CDATA sections and line ends, skipping comments and
// PIs.
func (p *parser) text() (string, error) {
	b, err := p.textBytes()
	return string(b), err
}

// textBytes is text returning bytes that stay valid until the next call.
func (p *parser) textBytes() ([]byte, error) {
	start := p.pos
	// fast path: plain text ending at a tag
	i := bytes.IndexByte(p.buf[start:], '<')
	if i < 0 {
		p.pos = len(p.buf)
		return nil, p.errorf("no element found")
	}
	seg := p.buf[start : start+i]
	if bytes.IndexByte(seg, '&') < 0 && bytes.IndexByte(seg, '\r') < 0 {
		rest := p.buf[start+i:]
		if !bytes.HasPrefix(rest, []byte("<!")) && !bytes.HasPrefix(rest, []byte("<?")) {
			p.pos = start + i
			return seg, nil
		}
	}
	out := p.scratch[:0]
	for {
		if p.pos >= len(p.buf) {
			return nil, p.errorf("no element found")
		}
		c := p.buf[p.pos]
		switch c {
		case '<':
			rest := p.buf[p.pos:]
			if bytes.HasPrefix(rest, []byte("<![CDATA[")) {
				end := bytes.Index(rest[9:], []byte("]]>"))
				if end < 0 {
					return nil, p.errorAt(len(p.buf), "unclosed CDATA section")
				}
				out = appendNormalized(out, rest[9:9+end])
				p.pos += 9 + end + 3
				continue
			}
			ok, err := p.skipCommentOrPI()
			if err != nil {
				return nil, err
			}
			if ok {
				continue
			}
			p.scratch = out
			return out, nil
		case '&':
			var err error
			out, err = p.reference(out)
			if err != nil {
				return nil, err
			}
		case '\r':
			out = append(out, '\n')
			p.pos++
			if p.pos < len(p.buf) && p.buf[p.pos] == '\n' {
				p.pos++
			}
		default:
			j := p.pos + 1
			for j < len(p.buf) && p.buf[j] != '<' && p.buf[j] != '&' && p.buf[j] != '\r' {
				j++
			}
			out = append(out, p.buf[p.pos:j]...)
			p.pos = j
		}
	}
}

func appendNormalized(out, s []byte) []byte {
	for {
		i := bytes.IndexByte(s, '\r')
		if i < 0 {
			return append(out, s...)
		}
		out = append(out, s[:i]...)
		out = append(out, '\n')
		s = s[i+1:]
		if len(s) > 0 && s[0] == '\n' {
			s = s[1:]
		}
	}
}

func isXMLChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// reference resolves the entity or character reference at p.pos.
func (p *parser) reference(out []byte) ([]byte, error) {
	at := p.pos
	end := bytes.IndexByte(p.buf[at:min(len(p.buf), at+16)], ';')
	if end < 0 {
		return out, p.errorf("not well-formed (invalid token)")
	}
	ref := p.buf[at+1 : at+end]
	p.pos = at + end + 1
	switch string(ref) {
	case "lt":
		return append(out, '<'), nil
	case "gt":
		return append(out, '>'), nil
	case "amp":
		return append(out, '&'), nil
	case "quot":
		return append(out, '"'), nil
	case "apos":
		return append(out, '\''), nil
	}
	if len(ref) < 2 || ref[0] != '#' {
		return out, p.errorAt(at, "undefined entity &%s;", ref)
	}
	var n uint64
	var err error
	if ref[1] == 'x' {
		if len(ref) < 3 {
			return out, p.errorAt(at, "bad character reference &%s;", ref)
		}
		n, err = strconv.ParseUint(string(ref[2:]), 16, 32)
	} else {
		n, err = strconv.ParseUint(string(ref[1:]), 10, 32)
	}
	if err != nil || n > math.MaxInt32 || !isXMLChar(rune(n)) {
		return out, p.errorAt(at, "reference to invalid character &%s;", ref)
	}
	return utf8.AppendRune(out, rune(n)), nil
}

// leafText reads the text content of a scalar element opened by t and its end
// tag; child elements are errors.
func (p *parser) leafText(t tag) (string, error) {
	b, err := p.leafBytes(t)
	return string(b), err
}

// leafBytes is leafText returning bytes valid until the next read.
func (p *parser) leafBytes(t tag) ([]byte, error) {
	if t.empty {
		return nil, nil
	}
	s, err := p.textBytes()
	if err != nil {
		return nil, err
	}
	end, err := p.readTag()
	if err != nil {
		return nil, err
	}
	if !end.end {
		return nil, p.errorAt(end.at, "unexpected element %s inside <%s>", end, t.full)
	}
	if !bytes.Equal(end.full, t.full) {
		return nil, p.errorAt(end.at, "expected </%s>, found %s", t.full, end)
	}
	return s, nil
}

func (p *parser) call() (*Call, error) {
	root, err := p.expectStart("methodCall")
	if err != nil {
		return nil, err
	}
	if root.empty {
		return nil, p.errorAt(root.at, "missing <methodName>")
	}
	nt, err := p.expectStart("methodName")
	if err != nil {
		return nil, err
	}
	method, err := p.leafText(nt)
	if err != nil {
		return nil, err
	}
	if method == "" {
		return nil, p.errorAt(nt.at, "empty <methodName>")
	}
	c := &Call{Method: method}
	t, err := p.nextTag()
	if err != nil {
		return nil, err
	}
	if !t.end && string(t.name) == "params" {
		if !t.empty {
			c.Params, err = p.params()
			if err != nil {
				return nil, err
			}
		}
		t, err = p.nextTag()
		if err != nil {
			return nil, err
		}
	}
	if !t.end || !bytes.Equal(t.full, root.full) {
		return nil, p.errorAt(t.at, "expected <params> or </methodCall>, found %s", t)
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	if c.Params == nil {
		c.Params = []any{}
	}
	return c, nil
}

// params reads <param> elements up to </params>.
func (p *parser) params() ([]any, error) {
	var out []any
	for {
		t, err := p.nextTag()
		if err != nil {
			return nil, err
		}
		if t.end && string(t.name) == "params" {
			return out, nil
		}
		if t.end || string(t.name) != "param" {
			return nil, p.errorAt(t.at, "expected <param> or </params>, found %s", t)
		}
		if t.empty {
			return nil, p.errorAt(t.at, "<param> without a <value>")
		}
		v, err := p.valueElement()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if err := p.expectEnd(t); err != nil {
			return nil, err
		}
	}
}

// finish checks that only misc content follows the root element.
func (p *parser) finish() error {
	if err := p.skipMisc(); err != nil {
		return p.errorf("junk after document element")
	}
	if p.pos < len(p.buf) {
		return p.errorf("junk after document element")
	}
	return nil
}

func (p *parser) response() (any, *Fault, error) {
	root, err := p.expectStart("methodResponse")
	if err != nil {
		return nil, nil, err
	}
	if root.empty {
		return nil, nil, p.errorAt(root.at, "empty <methodResponse>")
	}
	t, err := p.nextTag()
	if err != nil {
		return nil, nil, err
	}
	var v any
	var fault *Fault
	switch {
	case !t.end && string(t.name) == "params" && !t.empty:
		vals, err := p.params()
		if err != nil {
			return nil, nil, err
		}
		if len(vals) != 1 {
			return nil, nil, p.errorAt(t.at, "response has %d params, want 1", len(vals))
		}
		v = vals[0]
	case !t.end && string(t.name) == "fault" && !t.empty:
		fv, err := p.valueElement()
		if err != nil {
			return nil, nil, err
		}
		if fault, err = faultFrom(fv); err != nil {
			return nil, nil, p.errorAt(t.at, "%v", err)
		}
		if err := p.expectEnd(t); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, p.errorAt(t.at, "expected <params> or <fault>, found %s", t)
	}
	if err := p.expectEnd(root); err != nil {
		return nil, nil, err
	}
	if err := p.finish(); err != nil {
		return nil, nil, err
	}
	return v, fault, nil
}

func faultFrom(v any) (*Fault, error) {
	var m map[string]any
	switch x := v.(type) {
	case map[string]any:
		m = x
	case Struct:
		m = make(map[string]any, len(x))
		for _, mb := range x {
			m[mb.Name] = mb.Value
		}
	default:
		return nil, fmt.Errorf("fault is %s, want struct", typeName(v))
	}
	code, ok := m["faultCode"].(int64)
	if !ok {
		return nil, fmt.Errorf("fault without integer faultCode")
	}
	if code > math.MaxInt32 || code < math.MinInt32 {
		return nil, fmt.Errorf("faultCode %d out of range", code)
	}
	s, ok := m["faultString"].(string)
	if !ok {
		return nil, fmt.Errorf("fault without string faultString")
	}
	return &Fault{Code: int(code), String: s}, nil
}

// valueElement reads <value>...</value>.
func (p *parser) valueElement() (any, error) {
	t, err := p.expectStart("value")
	if err != nil {
		return nil, err
	}
	return p.value(t)
}

// value reads the content of a <value> whose start tag t has been read, and
// its end tag.
func (p *parser) value(vt tag) (any, error) {
	p.values++
	if p.values > p.maxValues {
		return nil, p.errorAt(vt.at, "more than %d values", p.maxValues)
	}
	if vt.empty {
		return "", nil
	}
	s, err := p.text()
	if err != nil {
		return nil, err
	}
	t, err := p.readTag()
	if err != nil {
		return nil, err
	}
	if t.end {
		if !bytes.Equal(t.full, vt.full) {
			return nil, p.errorAt(t.at, "expected </%s>, found %s", vt.full, t)
		}
		return s, nil // untyped value is a string
	}
	for i := 0; i < len(s); i++ {
		if !isSpace(s[i]) {
			return nil, p.errorAt(t.at, "text and %s mixed in <value>", t)
		}
	}
	v, err := p.typed(t)
	if err != nil {
		return nil, err
	}
	if err := p.expectEnd(vt); err != nil {
		return nil, err
	}
	return v, nil
}

func (p *parser) typed(t tag) (any, error) {
	switch string(t.name) {
	case "string":
		return p.leafText(t)
	case "int", "i4", "i8", "i1", "i2", "biginteger":
		s, err := p.leafBytes(t)
		if err != nil {
			return nil, err
		}
		n, err := parseInt(s)
		if err != nil {
			return nil, p.errorAt(t.at, "bad <%s> %q: %v", t.name, truncate(string(s)), err)
		}
		return n, nil
	case "boolean":
		s, err := p.leafBytes(t)
		if err != nil {
			return nil, err
		}
		if len(s) == 1 && s[0] == '0' {
			return false, nil
		}
		if len(s) == 1 && s[0] == '1' {
			return true, nil
		}
		return nil, p.errorAt(t.at, "bad <boolean> %q: want 0 or 1", truncate(string(s)))
	case "double", "float":
		s, err := p.leafText(t)
		if err != nil {
			return nil, err
		}
		f, err := strconv.ParseFloat(trimSpace(s), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, p.errorAt(t.at, "bad <%s> %q", t.name, truncate(s))
		}
		return f, nil
	case "nil":
		s, err := p.leafText(t)
		if err != nil {
			return nil, err
		}
		if trimSpace(s) != "" {
			return nil, p.errorAt(t.at, "<nil> with content")
		}
		return nil, nil
	case "base64":
		s, err := p.leafText(t)
		if err != nil {
			return nil, err
		}
		b, err := decodeBase64(s)
		if err != nil {
			return nil, p.errorAt(t.at, "bad <base64>: %v", err)
		}
		return b, nil
	case "dateTime.iso8601":
		s, err := p.leafText(t)
		if err != nil {
			return nil, err
		}
		tm, err := parseTime(trimSpace(s))
		if err != nil {
			return nil, p.errorAt(t.at, "bad <dateTime.iso8601> %q", truncate(s))
		}
		return tm, nil
	case "array":
		return p.array(t)
	case "struct":
		return p.structure(t)
	}
	return nil, p.errorAt(t.at, "unknown type %s in <value>", t)
}

func (p *parser) enter(t tag) error {
	p.depth++
	if p.depth > p.maxDepth {
		return p.errorAt(t.at, "values nested deeper than %d levels", p.maxDepth)
	}
	return nil
}

func (p *parser) array(at tag) (any, error) {
	if err := p.enter(at); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	out := []any{}
	if at.empty {
		return out, nil
	}
	dt, err := p.nextTag()
	if err != nil {
		return nil, err
	}
	if dt.end && bytes.Equal(dt.full, at.full) {
		return out, nil // <array></array>
	}
	if dt.end || string(dt.name) != "data" {
		return nil, p.errorAt(dt.at, "expected <data>, found %s", dt)
	}
	if !dt.empty {
		for {
			t, err := p.nextTag()
			if err != nil {
				return nil, err
			}
			if t.end && bytes.Equal(t.full, dt.full) {
				break
			}
			if t.end || string(t.name) != "value" {
				return nil, p.errorAt(t.at, "expected <value> or </data>, found %s", t)
			}
			v, err := p.value(t)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	}
	if err := p.expectEnd(at); err != nil {
		return nil, err
	}
	return out, nil
}

func (p *parser) structure(st tag) (any, error) {
	if err := p.enter(st); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if p.ordered {
		return p.orderedStruct(st)
	}
	out := map[string]any{}
	if st.empty {
		return out, nil
	}
	for {
		mt, err := p.nextTag()
		if err != nil {
			return nil, err
		}
		if mt.end && bytes.Equal(mt.full, st.full) {
			return out, nil
		}
		if mt.end || string(mt.name) != "member" || mt.empty {
			return nil, p.errorAt(mt.at, "expected <member> or </struct>, found %s", mt)
		}
		name, v, err := p.member(mt)
		if err != nil {
			return nil, err
		}
		out[name] = v // a repeated name keeps the last value, as in Python
	}
}

// member reads the <name> and <value> of a <member> whose start tag has been
// read, and its end tag.
func (p *parser) member(mt tag) (string, any, error) {
	nt, err := p.nextTag()
	if err != nil {
		return "", nil, err
	}
	if nt.end || string(nt.name) != "name" {
		return "", nil, p.errorAt(nt.at, "expected <name> in <member>, found %s", nt)
	}
	nb, err := p.leafBytes(nt)
	if err != nil {
		return "", nil, err
	}
	name := p.intern(nb)
	v, err := p.valueElement()
	if err != nil {
		return "", nil, err
	}
	if err := p.expectEnd(mt); err != nil {
		return "", nil, err
	}
	return name, v, nil
}

func (p *parser) orderedStruct(st tag) (any, error) {
	out := Struct{}
	if st.empty {
		return out, nil
	}
	var index map[string]int
	for {
		mt, err := p.nextTag()
		if err != nil {
			return nil, err
		}
		if mt.end && bytes.Equal(mt.full, st.full) {
			return out, nil
		}
		if mt.end || string(mt.name) != "member" || mt.empty {
			return nil, p.errorAt(mt.at, "expected <member> or </struct>, found %s", mt)
		}
		name, v, err := p.member(mt)
		if err != nil {
			return nil, err
		}
		if index == nil {
			index = map[string]int{}
		}
		if i, dup := index[name]; dup {
			out[i].Value = v
			continue
		}
		index[name] = len(out)
		out = append(out, Member{Name: name, Value: v})
	}
}

func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// parseInt parses an optionally signed decimal integer with surrounding
// whitespace, as Python's int() does for XML-RPC integers (no '_').
func parseInt(s []byte) (int64, error) {
	s = bytes.TrimFunc(s, func(r rune) bool { return r < utf8.RuneSelf && isSpace(byte(r)) })
	neg := false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, errors.New("not an integer")
	}
	var n uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("not an integer")
		}
		if n > (math.MaxUint64-9)/10 {
			return 0, errors.New("out of 64-bit range")
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case neg && n <= 1<<63:
		return int64(-n), nil
	case !neg && n <= math.MaxInt64:
		return int64(n), nil
	}
	return 0, errors.New("out of 64-bit range")
}

func decodeBase64(s string) ([]byte, error) {
	// drop whitespace (base64.encodebytes breaks lines)
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if !isSpace(s[i]) {
			clean = append(clean, s[i])
		}
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
	n, err := base64.StdEncoding.Decode(out, clean)
	if err != nil {
		return nil, err
	}
	return out[:n], nil
}

var timeLayouts = []string{
	"20060102T15:04:05",
	"2006-01-02T15:04:05",
	"20060102T150405",
	"2006-01-02T15:04:05Z07:00",
	"20060102T15:04:05Z07:00",
}

func parseTime(s string) (time.Time, error) {
	// time.Parse also takes a fraction of a second after the seconds
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			// whole seconds, as Python's format carries them
			return t.UTC().Truncate(time.Second), nil
		}
	}
	return time.Time{}, errors.New("bad time")
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, int:
		return "int"
	case float64:
		return "float"
	case string:
		return "string"
	case []byte:
		return "base64"
	case time.Time:
		return "dateTime"
	case []any:
		return "array"
	case map[string]any, Struct:
		return "struct"
	}
	return fmt.Sprintf("%T", v)
}
