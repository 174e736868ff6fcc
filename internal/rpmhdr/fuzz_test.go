package rpmhdr

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzRead feeds arbitrary bytes to Read and, when a package comes out,
// to every getter for every tag in its headers. Nothing may panic, and the
// reported header range must lie within the input.
func FuzzRead(f *testing.F) {
	valid := buildRPM(f)
	f.Add(valid, true)
	f.Add(valid[:len(valid)/2], false)
	f.Add(rawRPM(rawHeader(nil, nil), validMain()), true)
	f.Add(rawRPM(rawHeader(nil, nil), rawHeader([]ent{{TagName, TypeStringArray, 0, 3}}, []byte("a\x00b"))), true)
	f.Add([]byte("not an rpm"), false)
	f.Fuzz(func(t *testing.T, in []byte, knownSize bool) {
		size := int64(-1)
		if knownSize {
			size = int64(len(in))
		}
		rd := NewReader(Limits{MaxHeaderBytes: 1 << 20})
		p, err := rd.Read(bytes.NewReader(in), size)
		if err != nil {
			return
		}
		if p.HeaderStart < leadSize || p.HeaderEnd < p.HeaderStart || p.HeaderEnd > int64(len(in)) {
			t.Fatalf("header range %d-%d outside the %d input bytes", p.HeaderStart, p.HeaderEnd, len(in))
		}
		for _, h := range []*Header{&p.Signature, &p.Main} {
			for i := 0; i < min(h.Len(), 256); i++ {
				tag := binary.BigEndian.Uint32(h.index[i*entrySize:])
				h.Bytes(tag)
				h.Strings(tag)
				h.Uint32s(tag)
				h.Uint16s(tag)
				h.Number(tag)
				h.Has(tag)
			}
			_ = h.Err()
		}
	})
}
