package rpmhdr

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
)

// v4Packet is an OpenPGP v4 signature packet (new format) whose unhashed
// area holds an issuer subpacket for keyID, plus extra subpackets.
func v4Packet(keyID []byte, hashed ...[]byte) []byte {
	var h []byte
	for _, s := range hashed {
		h = append(h, s...)
	}
	body := []byte{4, 0, 1, 8, byte(len(h) >> 8), byte(len(h))}
	body = append(body, h...)
	var u []byte
	if keyID != nil {
		u = append([]byte{byte(len(keyID) + 1), 16}, keyID...)
	}
	body = append(body, byte(len(u)>>8), byte(len(u)))
	body = append(body, u...)
	body = append(body, 0xab, 0xcd, 0, 8, 0xff) // hash left, a tiny MPI
	return append([]byte{0xc2, byte(len(body))}, body...)
}

func TestSigPacketKeyID(t *testing.T) {
	id := []byte{1, 2, 3, 4, 0xDE, 0xAD, 0xBE, 0xEF}
	fpr := append([]byte{22, 33, 4}, bytes.Repeat([]byte{0x11}, 16)...)
	fpr = append(fpr, 0xCA, 0xFE, 0xF0, 0x0D)
	v3 := []byte{0x88, 19, 3, 5, 0, 0, 0, 0, 0, 9, 9, 9, 9, 0x12, 0x34, 0x56, 0x78, 1, 8, 0, 0}
	for _, tc := range []struct {
		name string
		p    []byte
		want string
		err  error
	}{
		{"v4 issuer", v4Packet(id), "deadbeef", nil},
		{"v4 issuer and fingerprint", v4Packet(id, fpr), "deadbeef", nil},
		{"v4 fingerprint only", v4Packet(nil, fpr), "cafef00d", nil},
		{"v3 old format", v3, "12345678", nil},
		{"no issuer", v4Packet(nil), "", ErrNoKeyID},
		{"two issuers", v4Packet(id, append([]byte{9, 16}, id...)), "", ErrNoKeyID},
		{"empty", nil, "", ErrCorrupt},
		{"not a packet", []byte("hello"), "", ErrCorrupt},
		{"not a signature", []byte{0xc6, 1, 4}, "", ErrCorrupt},
		{"length too long", []byte{0xc2, 50, 4, 0}, "", ErrCorrupt},
		{"subpackets run over", []byte{0xc2, 8, 4, 0, 1, 8, 0xff, 0xff, 0, 0}, "", ErrCorrupt},
		{"partial body", []byte{0xc2, 0xe1, 4}, "", ErrCorrupt},
		{"v5", []byte{0xc2, 2, 5, 0}, "", ErrCorrupt},
	} {
		got, err := SigPacketKeyID(tc.p)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("%s: SigPacketKeyID(%x) = %q, %v; want %q, %v", tc.name, tc.p, got, err, tc.want, tc.err)
		}
	}
}

// sigHeader is a signature header carrying digests of main and a packet.
func sigHeader(main, payload []byte, packet []byte) []byte {
	s1 := sha256.Sum256(main)
	es := []Entry{StringEntry(SigTagSHA256, hex.EncodeToString(s1[:])), Int32Entry(SigTagSize, uint32(len(main)+len(payload)))}
	if packet != nil {
		es = append(es, BinEntry(SigTagRSA, packet))
	}
	return EncodeHeader(es)
}

func TestParseSignature(t *testing.T) {
	pkt := v4Packet([]byte{0, 0, 0, 0, 0xAA, 0xBB, 0xCC, 0xDD})
	h := sigHeader([]byte("main"), nil, pkt)
	s, err := ParseSignature(h)
	if err != nil {
		t.Fatal(err)
	}
	if s.KeyID != "aabbccdd" || !bytes.Equal(s.Packet, pkt) || len(s.SHA256) != 64 || len(s.Raw)%8 != 0 || !bytes.HasPrefix(s.Raw, h) {
		t.Errorf("ParseSignature = key %q sha256 %q raw %d bytes", s.KeyID, s.SHA256, len(s.Raw))
	}
	padded := append(bytes.Clone(h), make([]byte, len(s.Raw)-len(h))...)
	if s2, err := ParseSignature(padded); err != nil || !bytes.Equal(s2.Raw, s.Raw) {
		t.Errorf("ParseSignature(padded) = %v", err)
	}
	if s, err := ParseSignature(sigHeader([]byte("main"), nil, nil)); err != nil || s.KeyID != "" || s.Packet != nil {
		t.Errorf("unsigned header: %v, %+v", err, s)
	}
	for _, tc := range []struct {
		name string
		b    []byte
		err  error
	}{
		{"empty", nil, ErrCorrupt},
		{"rpm lead", rawLead(), ErrCorrupt},
		{"truncated", h[:len(h)-3], ErrTruncated},
		{"garbage after", append(bytes.Clone(h), "junk"...), ErrCorrupt},
		{"too much padding", append(bytes.Clone(padded), make([]byte, 8)...), ErrCorrupt},
		{"no entries", rawHeader(nil, nil), ErrCorrupt},
		{"offset outside", rawHeader([]ent{{SigTagMD5, TypeBin, 99, 16}}, make([]byte, 16)), ErrCorrupt},
		{"bin runs past", rawHeader([]ent{{SigTagMD5, TypeBin, 8, 16}}, make([]byte, 16)), ErrCorrupt},
		{"bad type", rawHeader([]ent{{SigTagMD5, 77, 0, 1}}, make([]byte, 16)), ErrCorrupt},
		{"bad packet", sigHeader([]byte("m"), nil, []byte("notapacket")), ErrCorrupt},
		{"huge", make([]byte, MaxSignatureBytes+1), ErrTooLarge},
	} {
		if _, err := ParseSignature(tc.b); !errors.Is(err, tc.err) {
			t.Errorf("%s: ParseSignature = %v, want %v", tc.name, err, tc.err)
		}
	}
}

func TestSpliceReplacesOnlyTheSignature(t *testing.T) {
	pkg := buildRPM(t)
	p, err := NewReader(Limits{}).Read(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	start, end := p.HeaderStart, p.HeaderEnd
	sig, err := ParseSignature(sigHeader(pkg[start:end], pkg[end:], v4Packet([]byte{1, 2, 3, 4, 5, 6, 7, 8})))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	n, err := Splice(&out, bytes.NewReader(pkg), int64(len(pkg)), sig)
	if err != nil || n != int64(out.Len()) {
		t.Fatalf("Splice = %d, %v (wrote %d)", n, err, out.Len())
	}
	got := out.Bytes()
	q, err := NewReader(Limits{}).Read(bytes.NewReader(got), int64(len(got)))
	if err != nil {
		t.Fatalf("spliced package does not read: %v", err)
	}
	if !bytes.Equal(got[:leadSize], pkg[:leadSize]) || !bytes.Equal(got[q.HeaderStart:], pkg[start:]) || q.Signature.String(SigTagSHA256) != sig.SHA256 {
		t.Errorf("spliced package differs outside its signature header")
	}
	ripped, err := SignatureBytes(bytes.NewReader(got), int64(len(got)))
	if err != nil || !bytes.Equal(ripped, sig.Raw) {
		t.Errorf("SignatureBytes = %x, %v; want %x", ripped, err, sig.Raw)
	}
	if _, err := Splice(&out, bytes.NewReader([]byte("not an rpm")), 10, sig); !errors.Is(err, ErrNotRPM) {
		t.Errorf("Splice(not an rpm) = %v", err)
	}
}

func FuzzParseSignature(f *testing.F) {
	f.Add(sigHeader([]byte("main"), nil, v4Packet([]byte{1, 2, 3, 4, 5, 6, 7, 8})))
	f.Add([]byte{0x8e, 0xad, 0xe8, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSignature(b)
		if err == nil && len(s.Raw)%8 != 0 {
			t.Fatalf("Raw of %d bytes", len(s.Raw))
		}
	})
}
