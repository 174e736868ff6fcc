package rpmhdr

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Signature header tags (rpm's rpmtag.h, RPMSIGTAG_*).
const (
	SigTagDSA      = 267  // OpenPGP DSA signature of the main header
	SigTagRSA      = 268  // OpenPGP RSA (or EdDSA) signature of the main header
	SigTagSHA1     = 269  // hex SHA-1 of the main header
	SigTagLongSize = 270  // main header + payload bytes, 64-bit
	SigTagSHA256   = 273  // hex SHA-256 of the main header
	SigTagSize     = 1000 // main header + payload bytes, 32-bit
	SigTagPGP      = 1002 // OpenPGP signature of the main header and payload
	SigTagMD5      = 1004 // MD5 of the main header and payload
	SigTagGPG      = 1005 // OpenPGP (DSA) signature of the main header and payload

	// MaxSignatureBytes bounds a signature header given on its own. rpm
	// reserves 4 KiB of space in it; real ones are a few KiB.
	MaxSignatureBytes = 1 << 20
)

// ErrNoKeyID means a signature packet names no issuing key (or more than one).
var ErrNoKeyID = errors.New("no key id in the signature packet")

// Signature is a signature header given on its own, as Koji stores it under
// data/sigcache: the header structure padded with zeros to a multiple of 8
// bytes, the way it sits in a package after the 96-byte lead.
type Signature struct {
	// Raw is the header padded to 8 bytes: what goes between the lead and
	// the main header of a package.
	Raw    []byte
	Header Header
	// MD5 is the digest of the main header and payload (Koji's
	// payloadhash); SHA1 and SHA256 are hex digests of the main header.
	// Each is empty when the header does not carry it.
	MD5          []byte
	SHA1, SHA256 string
	// Packet is the OpenPGP signature packet (the first of the GPG, PGP,
	// DSA and RSA tags, in Koji's order), nil for an unsigned header.
	Packet []byte
	// KeyID is Koji's sigkey: the lowercase hex of the last 4 bytes of the
	// packet's issuer key ID; "" for an unsigned header.
	KeyID string
}

// ParseSignature checks that b is one RPM signature header (magic, sizes,
// every index entry inside the data, nothing after it but the zero padding
// to 8 bytes) and reads its digests and signature. It never panics on
// hostile input.
func ParseSignature(b []byte) (*Signature, error) {
	if len(b) > MaxSignatureBytes {
		return nil, fmt.Errorf("%w: signature header of %d bytes, limit %d", ErrTooLarge, len(b), MaxSignatureBytes)
	}
	if len(b) < introSize {
		return nil, fmt.Errorf("%w: %d bytes is shorter than a header", ErrCorrupt, len(b))
	}
	if [4]byte(b[0:4]) != headerMagic {
		return nil, fmt.Errorf("%w: bad magic %x", ErrCorrupt, b[0:4])
	}
	n := int64(binary.BigEndian.Uint32(b[8:12]))
	dl := int64(binary.BigEndian.Uint32(b[12:16]))
	if n == 0 || n > maxEntries {
		return nil, fmt.Errorf("%w: %d index entries", ErrCorrupt, n)
	}
	end := introSize + n*entrySize + dl
	if end > int64(len(b)) {
		return nil, fmt.Errorf("%w: header declares %d bytes, got %d", ErrTruncated, end, len(b))
	}
	padded := (end + 7) &^ 7
	rest := b[end:]
	if int64(len(b)) > padded || len(bytes.Trim(rest, "\x00")) > 0 {
		return nil, fmt.Errorf("%w: %d bytes after the %d-byte header are not its padding", ErrCorrupt, len(rest), end)
	}
	raw := make([]byte, padded)
	copy(raw, b[:end])
	s := &Signature{Raw: raw, Header: Header{index: raw[introSize : introSize+n*entrySize], data: raw[introSize+n*entrySize : end]}}
	h := &s.Header
	for i := 0; i < int(n); i++ {
		e := h.index[i*entrySize:]
		tag, typ, off := binary.BigEndian.Uint32(e), binary.BigEndian.Uint32(e[4:]), binary.BigEndian.Uint32(e[8:])
		if typ > TypeI18NString || int64(off) > dl {
			return nil, fmt.Errorf("%w: entry %d (tag %d): type %d at offset %d of %d data bytes", ErrCorrupt, i, tag, typ, off, dl)
		}
	}
	s.MD5 = bytes.Clone(h.Bin(SigTagMD5))
	s.SHA1, s.SHA256 = h.String(SigTagSHA1), h.String(SigTagSHA256)
	for _, tag := range []uint32{SigTagGPG, SigTagPGP, SigTagDSA, SigTagRSA} {
		if p := h.Bin(tag); len(p) > 0 {
			s.Packet = bytes.Clone(p)
			break
		}
	}
	if err := h.Err(); err != nil {
		return nil, err
	}
	if s.Packet != nil {
		id, err := SigPacketKeyID(s.Packet)
		if err != nil {
			return nil, err
		}
		s.KeyID = id
	}
	return s, nil
}

// SigPacketKeyID returns the ID of the key that made an OpenPGP signature
// packet as Koji's get_sigpacket_key_id does: the lowercase hex of the last
// 4 bytes of the issuer key ID (v3: in the packet; v4: the one issuer
// subpacket, hashed or not, else the issuer fingerprint's tail).
func SigPacketKeyID(p []byte) (string, error) {
	tag, body, err := pgpPacket(p)
	if err != nil {
		return "", err
	}
	if tag != 2 {
		return "", fmt.Errorf("%w: OpenPGP packet of type %d is not a signature", ErrCorrupt, tag)
	}
	if len(body) == 0 {
		return "", fmt.Errorf("%w: empty signature packet", ErrCorrupt)
	}
	switch body[0] {
	case 3:
		if len(body) < 15 {
			return "", fmt.Errorf("%w: v3 signature packet of %d bytes", ErrCorrupt, len(body))
		}
		return hex.EncodeToString(body[11:15]), nil
	case 4:
		if len(body) < 6 {
			return "", fmt.Errorf("%w: v4 signature packet of %d bytes", ErrCorrupt, len(body))
		}
		hashed := int(binary.BigEndian.Uint16(body[4:6]))
		if 6+hashed+2 > len(body) {
			return "", fmt.Errorf("%w: v4 signature subpackets run past the packet", ErrCorrupt)
		}
		unhashed := int(binary.BigEndian.Uint16(body[6+hashed:]))
		if 8+hashed+unhashed > len(body) {
			return "", fmt.Errorf("%w: v4 signature subpackets run past the packet", ErrCorrupt)
		}
		var ids, fprs [][]byte
		for _, subs := range [][]byte{body[6 : 6+hashed], body[8+hashed : 8+hashed+unhashed]} {
			if err := subpackets(subs, func(typ byte, d []byte) {
				switch typ {
				case 16:
					ids = append(ids, d)
				case 33:
					fprs = append(fprs, d)
				}
			}); err != nil {
				return "", err
			}
		}
		if len(ids) == 0 && len(fprs) == 1 {
			ids = fprs
		}
		if len(ids) != 1 || len(ids[0]) < 4 {
			return "", fmt.Errorf("%w (%d issuer subpackets)", ErrNoKeyID, len(ids))
		}
		return hex.EncodeToString(ids[0][len(ids[0])-4:]), nil
	}
	return "", fmt.Errorf("%w: OpenPGP signature packet version %d is not supported", ErrCorrupt, body[0])
}

// pgpPacket splits one OpenPGP packet (RFC 4880 section 4.2) that must fill p.
func pgpPacket(p []byte) (tag byte, body []byte, err error) {
	if len(p) < 2 || p[0]&0x80 == 0 {
		return 0, nil, fmt.Errorf("%w: not an OpenPGP packet", ErrCorrupt)
	}
	var n, off int
	if p[0]&0x40 == 0 { // old format
		tag = (p[0] >> 2) & 0x0f
		switch p[0] & 3 {
		case 0:
			n, off = int(p[1]), 2
		case 1:
			if len(p) < 3 {
				return 0, nil, fmt.Errorf("%w: short OpenPGP packet", ErrCorrupt)
			}
			n, off = int(binary.BigEndian.Uint16(p[1:])), 3
		case 2:
			if len(p) < 5 {
				return 0, nil, fmt.Errorf("%w: short OpenPGP packet", ErrCorrupt)
			}
			n, off = int(binary.BigEndian.Uint32(p[1:])), 5
		default:
			n, off = len(p)-1, 1
		}
	} else {
		tag = p[0] & 0x3f
		switch b1 := int(p[1]); {
		case b1 < 192:
			n, off = b1, 2
		case b1 < 224:
			if len(p) < 3 {
				return 0, nil, fmt.Errorf("%w: short OpenPGP packet", ErrCorrupt)
			}
			n, off = (b1-192)<<8+int(p[2])+192, 3
		case b1 == 255:
			if len(p) < 6 {
				return 0, nil, fmt.Errorf("%w: short OpenPGP packet", ErrCorrupt)
			}
			n, off = int(binary.BigEndian.Uint32(p[2:])), 6
		default:
			return 0, nil, fmt.Errorf("%w: OpenPGP packet with partial body lengths", ErrCorrupt)
		}
	}
	if n < 0 || off+n != len(p) {
		return 0, nil, fmt.Errorf("%w: OpenPGP packet length %d does not fill its %d bytes", ErrCorrupt, n, len(p)-off)
	}
	return tag, p[off:], nil
}

// subpackets calls fn for each v4 signature subpacket in b, its type
// without the critical bit.
func subpackets(b []byte, fn func(typ byte, data []byte)) error {
	for len(b) > 0 {
		var n, off int
		switch b0 := int(b[0]); {
		case b0 < 192:
			n, off = b0, 1
		case b0 < 255:
			if len(b) < 2 {
				return fmt.Errorf("%w: short signature subpacket", ErrCorrupt)
			}
			n, off = (b0-192)<<8+int(b[1])+192, 2
		default:
			if len(b) < 5 {
				return fmt.Errorf("%w: short signature subpacket", ErrCorrupt)
			}
			n, off = int(binary.BigEndian.Uint32(b[1:])), 5
		}
		if n < 1 || n > len(b)-off {
			return fmt.Errorf("%w: signature subpacket of %d bytes runs past its area", ErrCorrupt, n)
		}
		fn(b[off]&0x7f, b[off+1:off+n])
		b = b[off+n:]
	}
	return nil
}

// Splice writes the package in r (size bytes) to w with its signature
// header replaced by sig.Raw: the lead, the new signature header, then the
// main header and payload byte for byte. It returns the bytes written.
func Splice(w io.Writer, r io.ReaderAt, size int64, sig *Signature) (int64, error) {
	p, err := NewReader(Limits{}).Read(io.NewSectionReader(r, 0, size), size)
	if err != nil {
		return 0, err
	}
	var written int64
	n, err := io.Copy(w, io.NewSectionReader(r, 0, leadSize))
	written += n
	if err != nil {
		return written, err
	}
	m, err := w.Write(sig.Raw)
	written += int64(m)
	if err != nil {
		return written, err
	}
	n, err = io.Copy(w, io.NewSectionReader(r, p.HeaderStart, size-p.HeaderStart))
	written += n
	return written, err
}

// SignatureBytes returns the signature header of a package as it sits in
// the file (padded to 8 bytes), as Koji's rip_rpm_sighdr.
func SignatureBytes(r io.ReaderAt, size int64) ([]byte, error) {
	p, err := NewReader(Limits{}).Read(io.NewSectionReader(r, 0, size), size)
	if err != nil {
		return nil, err
	}
	b := make([]byte, p.HeaderStart-leadSize)
	if _, err := r.ReadAt(b, leadSize); err != nil {
		return nil, err
	}
	return b, nil
}
