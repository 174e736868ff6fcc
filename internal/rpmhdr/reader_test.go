package rpmhdr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/rpmpack"
	rpmutils "github.com/sassoftware/go-rpmutils"
)

// ent is one raw index entry for hand-made headers.
type ent struct{ tag, typ, off, cnt uint32 }

func rawHeader(entries []ent, data []byte) []byte {
	var b bytes.Buffer
	b.Write(headerMagic[:])
	b.Write([]byte{0, 0, 0, 0})
	binary.Write(&b, binary.BigEndian, uint32(len(entries)))
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	for _, e := range entries {
		binary.Write(&b, binary.BigEndian, [4]uint32{e.tag, e.typ, e.off, e.cnt})
	}
	b.Write(data)
	return b.Bytes()
}

func rawLead() []byte {
	l := make([]byte, leadSize)
	copy(l, leadMagic[:])
	l[4], l[5] = 3, 0
	binary.BigEndian.PutUint16(l[78:], 5)
	return l
}

func rawRPM(sig, main []byte) []byte {
	b := append(rawLead(), sig...)
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return append(b, main...)
}

// validMain is a main header with a name, a version string array and an
// INT32 array.
func validMain() []byte {
	data := []byte("hello\x00a\x00bb\x00\x00") // 12 bytes; the INT32 array starts at 12
	data = binary.BigEndian.AppendUint32(data, 7)
	data = binary.BigEndian.AppendUint32(data, 9)
	return rawHeader([]ent{
		{TagName, TypeString, 0, 1},
		{TagBaseNames, TypeStringArray, 6, 2},
		{TagFileFlags, TypeInt32, 12, 2},
	}, data)
}

func buildRPM(t testing.TB) []byte {
	t.Helper()
	r, err := rpmpack.NewRPM(rpmpack.RPMMetaData{Name: "demo", Version: "1.2", Release: "3", Arch: "x86_64",
		Summary: "a demo", Description: "demo package", Licence: "MIT", BuildTime: time.Unix(1600000000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	r.AddFile(rpmpack.RPMFile{Name: "/usr/bin/demo", Body: []byte("#!/bin/sh\n"), Mode: 0o755})
	r.AddFile(rpmpack.RPMFile{Name: "/etc/demo.conf", Body: []byte("x=1\n"), Mode: 0o644})
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestReadValidPackageAgreesWithGoRPMUtils(t *testing.T) {
	raw := buildRPM(t)
	rd := NewReader(Limits{})
	for _, size := range []int64{int64(len(raw)), -1} {
		r := bytes.NewReader(raw)
		p, err := rd.Read(r, size)
		if err != nil {
			t.Fatalf("Read(size %d) = %v", size, err)
		}
		ref, err := rpmutils.ReadRpm(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		rng := ref.Header.GetRange()
		if p.HeaderStart != int64(rng.Start) || p.HeaderEnd != int64(rng.End) {
			t.Errorf("range = %d-%d, want %d-%d", p.HeaderStart, p.HeaderEnd, rng.Start, rng.End)
		}
		if rest := int64(r.Len()); int64(len(raw))-rest != p.HeaderEnd {
			t.Errorf("reader left at %d, want the payload offset %d", int64(len(raw))-rest, p.HeaderEnd)
		}
		for _, tag := range []uint32{TagName, TagVersion, TagRelease, TagArch, TagSummary, TagLicense} {
			want, _ := ref.Header.GetString(int(tag))
			if got := p.Main.String(tag); got != want {
				t.Errorf("String(%d) = %q, want %q", tag, got, want)
			}
		}
		want, _ := ref.Header.GetStrings(TagBaseNames)
		var got []string
		for _, b := range p.Main.Strings(TagBaseNames) {
			got = append(got, string(b))
		}
		if !equal(got, want) {
			t.Errorf("Strings(basenames) = %q, want %q", got, want)
		}
		modes := p.Main.Uint16s(TagFileModes)
		wantModes, _ := ref.Header.GetInts(TagFileModes)
		if len(modes) != len(wantModes) {
			t.Fatalf("Uint16s(modes) = %v, want %v", modes, wantModes)
		}
		for i := range modes {
			if int(modes[i]) != wantModes[i] {
				t.Errorf("mode %d = %o, want %o", i, modes[i], wantModes[i])
			}
		}
		if bt, ok := p.Main.Number(TagBuildTime); !ok || bt != 1600000000 {
			t.Errorf("Number(buildtime) = %d, %v", bt, ok)
		}
		if err := p.Main.Err(); err != nil {
			t.Errorf("Err() = %v", err)
		}
		if p.Source {
			t.Error("binary package reported as source")
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReadBadInput(t *testing.T) {
	valid := buildRPM(t)
	sig := rawHeader(nil, nil)
	badSigType := rawRPM(sig, validMain())
	binary.BigEndian.PutUint16(badSigType[78:], 1)
	hugeIndex := rawRPM(sig, validMain())
	binary.BigEndian.PutUint32(hugeIndex[leadSize+16+8:], 0xffffffff)
	hugeData := rawRPM(sig, validMain())
	binary.BigEndian.PutUint32(hugeData[leadSize+16+12:], 0x7fffffff)
	pastEnd := rawRPM(sig, validMain())
	binary.BigEndian.PutUint32(pastEnd[leadSize+16+12:], 1<<20) // fits the limit, not the file
	badMagic := rawRPM(sig, validMain())
	badMagic[leadSize+16] = 0

	tests := []struct {
		name string
		in   []byte
		size int64
		want error
	}{
		{"empty", nil, 0, ErrNotRPM},
		{"text file", []byte("this is not an rpm, just a text file that is long enough to fill a lead of ninety-six bytes........"), -1, ErrNotRPM},
		{"short text", []byte("hi"), 2, ErrNotRPM},
		{"lead only magic", leadMagic[:], 4, ErrTruncated},
		{"lead cut", valid[:50], 50, ErrTruncated},
		{"signature cut", valid[:leadSize+10], leadSize + 10, ErrTruncated},
		{"signature cut unknown size", valid[:leadSize+40], -1, ErrTruncated},
		{"header cut", valid[:len(valid)/2], int64(len(valid) / 2), ErrTruncated},
		{"bad signature type", badSigType, -1, ErrNotRPM},
		{"bad header magic", badMagic, -1, ErrCorrupt},
		{"absurd entry count", hugeIndex, -1, ErrTooLarge},
		{"absurd data size", hugeData, -1, ErrTooLarge},
		{"declared past the end", pastEnd, int64(len(pastEnd)), ErrTruncated},
		{"declared past the end, size unknown", pastEnd, -1, ErrTruncated},
	}
	rd := NewReader(Limits{MaxHeaderBytes: 16 << 20})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rd.Read(bytes.NewReader(tt.in), tt.size)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Read(%s) = %v, want %v", tt.name, err, tt.want)
			}
		})
	}
}

func TestReadIOError(t *testing.T) {
	boom := errors.New("disk on fire")
	raw := buildRPM(t)
	r := io.MultiReader(bytes.NewReader(raw[:200]), iotest.ErrReader(boom))
	_, err := NewReader(Limits{}).Read(r, -1)
	if !errors.Is(err, boom) {
		t.Fatalf("Read = %v, want the I/O error", err)
	}
}

func TestReadLimitIsEnforcedBeforeAllocation(t *testing.T) {
	raw := buildRPM(t)
	rd := NewReader(Limits{MaxHeaderBytes: 64})
	_, err := rd.Read(bytes.NewReader(raw), int64(len(raw)))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Read with a 64-byte limit = %v, want ErrTooLarge", err)
	}
	if cap(rd.sigBuf) > 64 || cap(rd.mainBuf) > 64 {
		t.Errorf("buffers grew to %d/%d bytes despite the limit", cap(rd.sigBuf), cap(rd.mainBuf))
	}
}

func readMain(t *testing.T, main []byte) *Header {
	t.Helper()
	raw := rawRPM(rawHeader(nil, nil), main)
	p, err := NewReader(Limits{}).Read(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatalf("Read = %v", err)
	}
	return &p.Main
}

func TestGettersOnValidHeader(t *testing.T) {
	h := readMain(t, validMain())
	if got := h.String(TagName); got != "hello" {
		t.Errorf("String(name) = %q", got)
	}
	if got := h.Strings(TagBaseNames); len(got) != 2 || string(got[0]) != "a" || string(got[1]) != "bb" {
		t.Errorf("Strings(basenames) = %q", got)
	}
	if got := h.Uint32s(TagFileFlags); len(got) != 2 || got[0] != 7 || got[1] != 9 {
		t.Errorf("Uint32s(fileflags) = %v", got)
	}
	if n, ok := h.Number(TagFileFlags); !ok || n != 7 {
		t.Errorf("Number(fileflags) = %d, %v", n, ok)
	}
	if got := h.Bytes(TagVersion); got != nil {
		t.Errorf("Bytes(missing) = %q, want nil", got)
	}
	if _, ok := h.Number(TagEpoch); ok {
		t.Error("Number(missing) reported present")
	}
	if h.Len() != 3 || !h.Has(TagName) || h.Has(TagEpoch) {
		t.Errorf("Len/Has wrong: %d", h.Len())
	}
	if err := h.Err(); err != nil {
		t.Errorf("Err() = %v", err)
	}
}

func TestGettersOnCorruptEntries(t *testing.T) {
	data := []byte("abc\x00xyz") // the second string has no NUL
	tests := []struct {
		name string
		e    ent
		get  func(h *Header)
	}{
		{"string without NUL", ent{TagName, TypeString, 4, 1}, func(h *Header) { h.Bytes(TagName) }},
		{"string offset past data", ent{TagName, TypeString, 1000, 1}, func(h *Header) { h.Bytes(TagName) }},
		{"string with count 0", ent{TagName, TypeString, 0, 0}, func(h *Header) { h.Bytes(TagName) }},
		{"string of wrong type", ent{TagName, TypeInt32, 0, 1}, func(h *Header) { h.Bytes(TagName) }},
		{"array count too big", ent{TagBaseNames, TypeStringArray, 0, 0xffffffff}, func(h *Header) { h.Strings(TagBaseNames) }},
		{"array element without NUL", ent{TagBaseNames, TypeStringArray, 0, 2}, func(h *Header) { h.Strings(TagBaseNames) }},
		{"array of wrong type", ent{TagBaseNames, TypeBin, 0, 2}, func(h *Header) { h.Strings(TagBaseNames) }},
		{"int32 past data", ent{TagFileFlags, TypeInt32, 4, 2}, func(h *Header) { h.Uint32s(TagFileFlags) }},
		{"int32 huge count", ent{TagFileFlags, TypeInt32, 0, 0x7fffffff}, func(h *Header) { h.Uint32s(TagFileFlags) }},
		{"int16 of wrong type", ent{TagFileModes, TypeInt32, 0, 1}, func(h *Header) { h.Uint16s(TagFileModes) }},
		{"number of string type", ent{TagEpoch, TypeString, 0, 1}, func(h *Header) { h.Number(TagEpoch) }},
		{"int64 past data", ent{TagLongSize, TypeInt64, 4, 1}, func(h *Header) { h.Number(TagLongSize) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := readMain(t, rawHeader([]ent{tt.e}, data))
			tt.get(h)
			if err := h.Err(); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Err() after %s = %v, want ErrCorrupt", tt.name, err)
			}
		})
	}
}

func TestSourceFlagFromLead(t *testing.T) {
	raw := rawRPM(rawHeader(nil, nil), validMain())
	binary.BigEndian.PutUint16(raw[6:], 1)
	p, err := NewReader(Limits{}).Read(bytes.NewReader(raw), -1)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Source {
		t.Error("Source = false for a lead of type 1")
	}
}

func TestReaderReuseDoesNotLeakState(t *testing.T) {
	rd := NewReader(Limits{})
	bad := readMain(t, rawHeader([]ent{{TagName, TypeInt32, 0, 1}}, []byte("abcd")))
	bad.Bytes(TagName)
	if bad.Err() == nil {
		t.Fatal("corrupt entry not reported")
	}
	raw := buildRPM(t)
	for range 2 {
		p, err := rd.Read(bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			t.Fatal(err)
		}
		if p.Main.String(TagName) != "demo" || p.Main.Err() != nil {
			t.Fatalf("second read: name %q, err %v", p.Main.String(TagName), p.Main.Err())
		}
	}
}
