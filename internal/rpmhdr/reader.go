package rpmhdr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Errors returned by Read, wrapped with details; test them with errors.Is.
var (
	// ErrNotRPM means the file does not start with an RPM lead.
	ErrNotRPM = errors.New("not an rpm package")
	// ErrTruncated means the file ends inside the lead or a header, or a
	// header declares more bytes than the file has.
	ErrTruncated = errors.New("truncated rpm package")
	// ErrTooLarge means a header declares more bytes than Limits allow.
	ErrTooLarge = errors.New("rpm header too large")
	// ErrCorrupt means a header's structure or an entry in it is invalid.
	ErrCorrupt = errors.New("corrupt rpm header")
)

const (
	leadSize  = 96
	introSize = 16
	entrySize = 16

	// DefaultMaxHeaderBytes is the default bound on one header's index and
	// data. The largest headers of real distributions (texlive, kernel
	// debuginfo) are a few tens of MiB.
	DefaultMaxHeaderBytes = 64 << 20

	// maxEntries is rpm's own limit on the entries of one header.
	maxEntries = 0xffff
)

var (
	leadMagic   = [4]byte{0xed, 0xab, 0xee, 0xdb}
	headerMagic = [4]byte{0x8e, 0xad, 0xe8, 0x01}
)

// Limits bound what Read accepts.
type Limits struct {
	// MaxHeaderBytes bounds the index plus data of each of the two headers.
	// Zero means DefaultMaxHeaderBytes.
	MaxHeaderBytes int64
}

// Package is the parsed start of an RPM file. Its headers point into the
// Reader's buffers and are valid until the Reader's next Read.
type Package struct {
	Signature Header
	Main      Header
	// HeaderStart and HeaderEnd are the byte offsets of the main header in
	// the file (createrepo's rpm:header-range); HeaderEnd is where the
	// payload starts.
	HeaderStart int64
	HeaderEnd   int64
	// Source is true when the lead says this is a source package.
	Source bool
}

// Reader reads package headers, reusing its buffers from one package to the
// next; it is not safe for concurrent use. The zero value is not usable: use
// NewReader.
type Reader struct {
	max     int64
	lead    [leadSize]byte
	sigBuf  []byte
	mainBuf []byte
	pkg     Package
}

// NewReader returns a Reader with the given limits.
func NewReader(lim Limits) *Reader {
	max := lim.MaxHeaderBytes
	if max <= 0 {
		max = DefaultMaxHeaderBytes
	}
	return &Reader{max: max}
}

// Read reads the lead and both headers from r, leaving r positioned at the
// payload. size is the total file size, or -1 when unknown; when known,
// declared header sizes are checked against it before any allocation.
func (rd *Reader) Read(r io.Reader, size int64) (*Package, error) {
	if n, err := io.ReadFull(r, rd.lead[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			if n >= 4 && [4]byte(rd.lead[0:4]) == leadMagic {
				return nil, fmt.Errorf("%w: file ends inside the %d-byte lead", ErrTruncated, leadSize)
			}
			return nil, fmt.Errorf("%w: file is %d bytes, shorter than an rpm lead", ErrNotRPM, n)
		}
		return nil, fmt.Errorf("read lead: %w", err)
	}
	if [4]byte(rd.lead[0:4]) != leadMagic {
		return nil, fmt.Errorf("%w: bad lead magic %x", ErrNotRPM, rd.lead[0:4])
	}
	if major := rd.lead[4]; major < 3 || major > 4 {
		return nil, fmt.Errorf("%w: unsupported rpm format version %d", ErrNotRPM, major)
	}
	if st := binary.BigEndian.Uint16(rd.lead[78:80]); st != 5 {
		return nil, fmt.Errorf("%w: unsupported signature type %d in lead", ErrNotRPM, st)
	}
	p := &rd.pkg
	*p = Package{Source: binary.BigEndian.Uint16(rd.lead[6:8]) == 1}

	off := int64(leadSize)
	var err error
	rd.sigBuf, p.Signature, err = rd.readHeader(r, "signature header", off, size, rd.sigBuf)
	if err != nil {
		return nil, err
	}
	off += introSize + int64(len(p.Signature.index)) + int64(len(p.Signature.data))
	if pad := (8 - off%8) % 8; pad > 0 {
		var skip [8]byte
		if _, err := io.ReadFull(r, skip[:pad]); err != nil {
			return nil, readErr("signature padding", err)
		}
		off += pad
	}
	p.HeaderStart = off
	rd.mainBuf, p.Main, err = rd.readHeader(r, "header", off, size, rd.mainBuf)
	if err != nil {
		return nil, err
	}
	p.HeaderEnd = off + introSize + int64(len(p.Main.index)) + int64(len(p.Main.data))
	return p, nil
}

func readErr(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: file ends inside the %s", ErrTruncated, what)
	}
	return fmt.Errorf("read %s: %w", what, err)
}

// readHeader reads one header structure (intro, index, data) starting at file
// offset off into buf, growing it only after every size check passed.
func (rd *Reader) readHeader(r io.Reader, what string, off, size int64, buf []byte) ([]byte, Header, error) {
	var intro [introSize]byte
	if _, err := io.ReadFull(r, intro[:]); err != nil {
		return buf, Header{}, readErr(what, err)
	}
	if [4]byte(intro[0:4]) != headerMagic {
		return buf, Header{}, fmt.Errorf("%w: bad %s magic %x at offset %d", ErrCorrupt, what, intro[0:4], off)
	}
	n := int64(binary.BigEndian.Uint32(intro[8:12]))
	dl := int64(binary.BigEndian.Uint32(intro[12:16]))
	total := n*entrySize + dl
	if n > maxEntries {
		return buf, Header{}, fmt.Errorf("%w: %s declares %d entries, limit %d", ErrTooLarge, what, n, maxEntries)
	}
	if n*entrySize > rd.max || dl > rd.max || total > rd.max {
		return buf, Header{}, fmt.Errorf("%w: %s declares %d entries and %d data bytes (%d bytes), limit %d",
			ErrTooLarge, what, n, dl, total, rd.max)
	}
	if size >= 0 && off+introSize+total > size {
		return buf, Header{}, fmt.Errorf("%w: %s at offset %d declares %d bytes but the file has %d bytes left",
			ErrTruncated, what, off, total, max(size-off-introSize, 0))
	}
	if int64(cap(buf)) < total {
		buf = make([]byte, total)
	}
	buf = buf[:total]
	if _, err := io.ReadFull(r, buf); err != nil {
		return buf, Header{}, readErr(what, err)
	}
	return buf, Header{index: buf[:n*entrySize], data: buf[n*entrySize:]}, nil
}
