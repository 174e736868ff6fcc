package rpmhdr

import (
	"encoding/binary"
	"sort"
)

// Entry is one tag to encode with EncodeHeader. Data holds the values in
// their on-disk form (big-endian integers, NUL-terminated strings).
type Entry struct {
	Tag, Type, Count uint32
	Data             []byte
}

// BinEntry is a BIN entry.
func BinEntry(tag uint32, b []byte) Entry {
	return Entry{Tag: tag, Type: TypeBin, Count: uint32(len(b)), Data: b}
}

// StringEntry is a STRING entry.
func StringEntry(tag uint32, s string) Entry {
	return Entry{Tag: tag, Type: TypeString, Count: 1, Data: append([]byte(s), 0)}
}

// Int32Entry is an INT32 entry.
func Int32Entry(tag uint32, vs ...uint32) Entry {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.BigEndian.PutUint32(b[4*i:], v)
	}
	return Entry{Tag: tag, Type: TypeInt32, Count: uint32(len(vs)), Data: b}
}

// EncodeHeader returns a header structure (intro, index sorted by tag, data
// aligned as rpm aligns it) without a region tag and without padding.
func EncodeHeader(entries []Entry) []byte {
	es := append([]Entry(nil), entries...)
	sort.SliceStable(es, func(i, j int) bool { return es[i].Tag < es[j].Tag })
	var data []byte
	index := make([]byte, 0, entrySize*len(es))
	for _, e := range es {
		align := map[uint32]int{TypeInt16: 2, TypeInt32: 4, TypeInt64: 8}[e.Type]
		for align > 0 && len(data)%align != 0 {
			data = append(data, 0)
		}
		index = binary.BigEndian.AppendUint32(index, e.Tag)
		index = binary.BigEndian.AppendUint32(index, e.Type)
		index = binary.BigEndian.AppendUint32(index, uint32(len(data)))
		index = binary.BigEndian.AppendUint32(index, e.Count)
		data = append(data, e.Data...)
	}
	out := append([]byte{}, headerMagic[:]...)
	out = append(out, 0, 0, 0, 0)
	out = binary.BigEndian.AppendUint32(out, uint32(len(es)))
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	out = append(out, index...)
	return append(out, data...)
}
