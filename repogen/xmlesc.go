package repogen

import (
	"strconv"
	"unicode/utf8"
)

// The escaping below reproduces what libxml2 (as used by createrepo_c)
// writes: text nodes keep UTF-8 as is and escape & < > and CR; attribute
// values additionally escape " TAB LF and write every non-ASCII character as
// a hexadecimal character reference. Strings that are not valid UTF-8 are
// taken as ISO-8859-1, like createrepo_c does.

// appendText appends s escaped as XML character data.
func appendText(dst, s []byte) []byte {
	if !utf8.Valid(s) {
		return appendTextLatin1(dst, s)
	}
	start := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch s[i] {
		case '&':
			rep = "&amp;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		case '\r':
			rep = "&#13;"
		default:
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, rep...)
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// appendAttr appends s escaped as an XML attribute value (without quotes).
func appendAttr(dst, s []byte) []byte {
	if !utf8.Valid(s) {
		return appendAttr(dst, latin1ToUTF8(nil, s))
	}
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		var rep string
		switch {
		case c == '&':
			rep = "&amp;"
		case c == '<':
			rep = "&lt;"
		case c == '>':
			rep = "&gt;"
		case c == '"':
			rep = "&quot;"
		case c == '\n':
			rep = "&#10;"
		case c == '\r':
			rep = "&#13;"
		case c == '\t':
			rep = "&#9;"
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(s[i:])
			dst = append(dst, s[start:i]...)
			dst = append(dst, "&#x"...)
			dst = strconv.AppendUint(dst, uint64(r), 16)
			upperHexTail(dst)
			dst = append(dst, ';')
			i += n
			start = i
			continue
		default:
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, rep...)
		i++
		start = i
	}
	return append(dst, s[start:]...)
}

// upperHexTail upper-cases the hex digits just appended after the last "&#x".
func upperHexTail(b []byte) {
	for i := len(b) - 1; i >= 0 && b[i] != 'x'; i-- {
		if b[i] >= 'a' && b[i] <= 'f' {
			b[i] -= 'a' - 'A'
		}
	}
}

func appendTextLatin1(dst, s []byte) []byte {
	return appendText(dst, latin1ToUTF8(nil, s))
}

// latin1ToUTF8 converts ISO-8859-1 to UTF-8 as createrepo_c does: it drops
// C0 controls other than TAB, LF and CR, and drops 0x80-0xBF (C1 controls
// and the bytes a misencoded CP-1252 string leaves behind).
func latin1ToUTF8(dst, s []byte) []byte {
	for _, c := range s {
		switch {
		case c < 0x80:
			if c < 32 && c != 9 && c != 10 && c != 13 {
				continue
			}
			dst = append(dst, c)
		case c < 0xc0:
			continue
		default:
			dst = append(dst, 0xc3, c&0x3f|0x80)
		}
	}
	return dst
}

// hasForbiddenControl reports whether s has a character XML 1.0 cannot
// represent: a C0 control other than TAB, LF and CR (createrepo_c refuses
// those too), or U+FFFE or U+FFFF (which createrepo_c would write, making
// the whole file unreadable for dnf).
func hasForbiddenControl(s []byte) bool {
	for i, c := range s {
		if c < 32 && c != 9 && c != 10 && c != 13 {
			return true
		}
		if c == 0xef && i+2 < len(s) && s[i+1] == 0xbf && (s[i+2] == 0xbe || s[i+2] == 0xbf) {
			return true
		}
	}
	return false
}
