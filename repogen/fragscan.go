package repogen

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// fragScanner walks the tags of one <package> fragment of primary,
// filelists or other metadata: the fragments this package writes or, with
// Update, copies from previous metadata. It knows just enough XML for them
// (start, end and empty-element tags, attributes in either quotes, entity
// and character references; comments and processing instructions are
// skipped) and allocates nothing per tag.
type fragScanner struct {
	b    []byte
	i    int
	text []byte // raw text between the previous tag and the current one

	name  []byte // current tag's name
	attrs []byte // current tag's raw attributes
	end   bool   // </name>
	empty bool   // <name .../>
}

func (s *fragScanner) reset(b []byte) { *s = fragScanner{b: b} }

// next moves to the next tag; it returns false at the end of the fragment.
func (s *fragScanner) next() (bool, error) {
	for {
		lt := bytes.IndexByte(s.b[s.i:], '<')
		if lt < 0 {
			s.text = s.b[s.i:]
			s.i = len(s.b)
			return false, nil
		}
		s.text = s.b[s.i : s.i+lt]
		s.i += lt
		rest := s.b[s.i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			e := bytes.Index(rest, []byte("-->"))
			if e < 0 {
				return false, fmt.Errorf("%w: unterminated comment", errBadMetadata)
			}
			s.i += e + 3
			continue
		case bytes.HasPrefix(rest, []byte("<?")):
			e := bytes.Index(rest, []byte("?>"))
			if e < 0 {
				return false, fmt.Errorf("%w: unterminated processing instruction", errBadMetadata)
			}
			s.i += e + 2
			continue
		}
		gt := tagEnd(rest)
		if gt < 0 {
			return false, fmt.Errorf("%w: unterminated tag", errBadMetadata)
		}
		tag := rest[1:gt]
		s.i += gt + 1
		s.end, s.empty = false, false
		if len(tag) > 0 && tag[0] == '/' {
			s.end = true
			tag = tag[1:]
		} else if len(tag) > 0 && tag[len(tag)-1] == '/' {
			s.empty = true
			tag = tag[:len(tag)-1]
		}
		n := 0
		for n < len(tag) && !isSpace(tag[n]) {
			n++
		}
		s.name, s.attrs = tag[:n], tag[n:]
		return true, nil
	}
}

// tagEnd finds the '>' closing the tag at the start of b, skipping quoted
// attribute values.
func tagEnd(b []byte) int {
	var q byte
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '>':
			return i
		}
	}
	return -1
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// is reports whether the current tag is a start (or empty) tag named name.
func (s *fragScanner) is(name string) bool { return !s.end && string(s.name) == name }

// attr returns the decoded value of the current tag's attribute, and
// whether it is present.
func (s *fragScanner) attr(name string) (string, bool) {
	a := s.attrs
	for {
		for len(a) > 0 && isSpace(a[0]) {
			a = a[1:]
		}
		eq := bytes.IndexByte(a, '=')
		if eq < 0 {
			return "", false
		}
		key := bytes.TrimRight(a[:eq], " \t\r\n")
		a = bytes.TrimLeft(a[eq+1:], " \t\r\n")
		if len(a) == 0 || (a[0] != '"' && a[0] != '\'') {
			return "", false
		}
		e := bytes.IndexByte(a[1:], a[0])
		if e < 0 {
			return "", false
		}
		val := a[1 : 1+e]
		a = a[2+e:]
		if string(key) == name {
			return string(unescapeXML(nil, val, true)), true
		}
	}
}

// intAttr returns an integer attribute; a missing one is 0.
func (s *fragScanner) intAttr(name string) (int64, error) {
	v, ok := s.attr(name)
	if !ok || v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s=%q", errBadMetadata, name, v)
	}
	return n, nil
}

// unescapeXML appends s with its references decoded; in attribute values,
// literal white space becomes a space, as an XML parser normalizes it.
func unescapeXML(dst, s []byte, attr bool) []byte {
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '&' && !(attr && (s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) {
			i++
		}
		dst = append(dst, s[:i]...)
		s = s[i:]
		if len(s) == 0 {
			break
		}
		if s[0] != '&' {
			dst = append(dst, ' ')
			s = s[1:]
			continue
		}
		semi := bytes.IndexByte(s, ';')
		if semi < 0 {
			dst = append(dst, s...)
			break
		}
		ref := s[1:semi]
		switch string(ref) {
		case "amp":
			dst = append(dst, '&')
		case "lt":
			dst = append(dst, '<')
		case "gt":
			dst = append(dst, '>')
		case "quot":
			dst = append(dst, '"')
		case "apos":
			dst = append(dst, '\'')
		default:
			var n uint64
			var err error
			switch {
			case len(ref) > 2 && (ref[1] == 'x' || ref[1] == 'X') && ref[0] == '#':
				n, err = strconv.ParseUint(string(ref[2:]), 16, 32)
			case len(ref) > 1 && ref[0] == '#':
				n, err = strconv.ParseUint(string(ref[1:]), 10, 32)
			default:
				err = strconv.ErrSyntax
			}
			if err != nil {
				dst = append(dst, s[:semi+1]...)
			} else {
				dst = utf8.AppendRune(dst, rune(n))
			}
		}
		s = s[semi+1:]
	}
	return dst
}
