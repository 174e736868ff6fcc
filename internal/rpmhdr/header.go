package rpmhdr

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Header is one header structure: an index of entries and their data. Its
// getters return zero values for a missing tag; a present tag whose entry is
// invalid (wrong type, out of bounds, unterminated string) also returns zero
// values and records an error that Err reports, so callers read all they need
// and check Err once.
type Header struct {
	index []byte
	data  []byte
	err   error
}

// Err returns the first invalid-entry error met by a getter, wrapping ErrCorrupt.
func (h *Header) Err() error { return h.err }

// Len returns the number of index entries.
func (h *Header) Len() int { return len(h.index) / entrySize }

func (h *Header) fail(tag uint32, format string, args ...any) {
	if h.err == nil {
		h.err = fmt.Errorf("%w: tag %d: %s", ErrCorrupt, tag, fmt.Sprintf(format, args...))
	}
}

// entry finds tag in the index. Headers are small (tens of entries) and not
// always sorted, so a linear scan is both simple and fast.
func (h *Header) entry(tag uint32) (typ, off, cnt uint32, ok bool) {
	idx := h.index
	for i := 0; i+entrySize <= len(idx); i += entrySize {
		if binary.BigEndian.Uint32(idx[i:]) == tag {
			return binary.BigEndian.Uint32(idx[i+4:]),
				binary.BigEndian.Uint32(idx[i+8:]),
				binary.BigEndian.Uint32(idx[i+12:]), true
		}
	}
	return 0, 0, 0, false
}

// Has reports whether tag is present.
func (h *Header) Has(tag uint32) bool {
	_, _, _, ok := h.entry(tag)
	return ok
}

// cstr returns the NUL-terminated string at off, or ok=false.
func (h *Header) cstr(off int) ([]byte, int, bool) {
	if off < 0 || off >= len(h.data) {
		return nil, 0, false
	}
	end := bytes.IndexByte(h.data[off:], 0)
	if end < 0 {
		return nil, 0, false
	}
	return h.data[off : off+end], off + end + 1, true
}

// Bytes returns a string tag (STRING, I18NSTRING: its first, untranslated
// value; STRING_ARRAY: its first element) without copying. The slice aliases
// the Reader's buffer.
func (h *Header) Bytes(tag uint32) []byte {
	typ, off, cnt, ok := h.entry(tag)
	if !ok {
		return nil
	}
	switch typ {
	case TypeString, TypeI18NString, TypeStringArray:
	default:
		h.fail(tag, "type %d, want a string", typ)
		return nil
	}
	if cnt == 0 {
		h.fail(tag, "string with count 0")
		return nil
	}
	s, _, ok := h.cstr(int(off))
	if !ok {
		h.fail(tag, "string at offset %d runs past %d data bytes", off, len(h.data))
		return nil
	}
	return s
}

// String is Bytes as a string (a copy).
func (h *Header) String(tag uint32) string { return string(h.Bytes(tag)) }

// Strings returns the elements of a STRING_ARRAY (or I18NSTRING) tag without
// copying their bytes.
func (h *Header) Strings(tag uint32) [][]byte {
	typ, off, cnt, ok := h.entry(tag)
	if !ok {
		return nil
	}
	switch typ {
	case TypeStringArray, TypeI18NString:
	case TypeString:
		if cnt != 1 {
			h.fail(tag, "STRING with count %d", cnt)
			return nil
		}
	default:
		h.fail(tag, "type %d, want a string array", typ)
		return nil
	}
	// Every element takes at least one byte: reject impossible counts before
	// allocating.
	if int64(off)+int64(cnt) > int64(len(h.data)) {
		h.fail(tag, "%d strings at offset %d do not fit in %d data bytes", cnt, off, len(h.data))
		return nil
	}
	out := make([][]byte, cnt)
	p := int(off)
	for i := range out {
		s, next, ok := h.cstr(p)
		if !ok {
			h.fail(tag, "string %d of %d runs past %d data bytes", i, cnt, len(h.data))
			return nil
		}
		out[i] = s
		p = next
	}
	return out
}

func (h *Header) fixed(tag uint32, size int, types ...uint32) (b []byte, cnt int, ok bool) {
	typ, off, n, found := h.entry(tag)
	if !found {
		return nil, 0, false
	}
	match := false
	for _, t := range types {
		if typ == t {
			match = true
		}
	}
	if !match {
		h.fail(tag, "type %d, want an integer of %d bytes", typ, size)
		return nil, 0, false
	}
	end := int64(off) + int64(n)*int64(size)
	if end > int64(len(h.data)) {
		h.fail(tag, "%d values at offset %d run past %d data bytes", n, off, len(h.data))
		return nil, 0, false
	}
	return h.data[off:end], int(n), true
}

// Bin returns a BIN tag's bytes (the signature's MD5, for one) without
// copying; nil when the tag is absent.
func (h *Header) Bin(tag uint32) []byte {
	b, _, _ := h.fixed(tag, 1, TypeBin)
	return b
}

// Uint32s returns an INT32 array tag.
func (h *Header) Uint32s(tag uint32) []uint32 {
	b, n, ok := h.fixed(tag, 4, TypeInt32)
	if !ok {
		return nil
	}
	out := make([]uint32, n)
	for i := range out {
		out[i] = binary.BigEndian.Uint32(b[4*i:])
	}
	return out
}

// Uint16s returns an INT16 array tag.
func (h *Header) Uint16s(tag uint32) []uint16 {
	b, n, ok := h.fixed(tag, 2, TypeInt16)
	if !ok {
		return nil
	}
	out := make([]uint16, n)
	for i := range out {
		out[i] = binary.BigEndian.Uint16(b[2*i:])
	}
	return out
}

// Number returns the first value of an integer tag of any width, and whether
// the tag is present with at least one value.
func (h *Header) Number(tag uint32) (uint64, bool) {
	typ, _, _, found := h.entry(tag)
	if !found {
		return 0, false
	}
	var size int
	switch typ {
	case TypeChar, TypeInt8:
		size = 1
	case TypeInt16:
		size = 2
	case TypeInt32:
		size = 4
	case TypeInt64:
		size = 8
	default:
		h.fail(tag, "type %d, want an integer", typ)
		return 0, false
	}
	b, n, ok := h.fixed(tag, size, typ)
	if !ok || n == 0 {
		return 0, false
	}
	switch size {
	case 1:
		return uint64(b[0]), true
	case 2:
		return uint64(binary.BigEndian.Uint16(b)), true
	case 4:
		return uint64(binary.BigEndian.Uint32(b)), true
	default:
		return binary.BigEndian.Uint64(b), true
	}
}
