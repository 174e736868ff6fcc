package repogen

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	bzip2w "kojigo/repogen/internal/bzip2"
)

// Compression is the compression of a metadata file.
type Compression string

// Supported compressions.
const (
	CompressGzip  Compression = "gz"
	CompressBzip2 Compression = "bz2"
	CompressZstd  Compression = "zstd"
	CompressXZ    Compression = "xz"
	CompressNone  Compression = "none"
)

// gzipLevel is the default gzip level. createrepo_c writes with zlib's
// default, level 6. klauspost/compress's levels 1-6 are its own fast
// encoders, whose output is 1-5 % larger than zlib's at level 6 (and its
// DefaultCompression is level 5); its level 7 is zlib's lazy matching,
// which writes what zlib's level 6 writes to within 0.2 %, still faster
// than zlib.
const gzipLevel = 7

// ParseCompression accepts createrepo_c's names for a compression type.
func ParseCompression(s string) (Compression, error) {
	switch s {
	case "", "gz", "gzip":
		return CompressGzip, nil
	case "bz2", "bzip2":
		return CompressBzip2, nil
	case "zstd", "zst":
		return CompressZstd, nil
	case "xz":
		return CompressXZ, nil
	case "none":
		return CompressNone, nil
	}
	return "", fmt.Errorf("unknown compression %q (want gz, bz2, zstd, xz or none)", s)
}

// suffix is the file-name suffix, with its dot.
func (c Compression) suffix() string {
	switch c {
	case CompressZstd:
		return ".zst"
	case CompressXZ:
		return ".xz"
	case CompressBzip2:
		return ".bz2"
	case CompressNone:
		return ""
	}
	return ".gz"
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// newCompressor returns a compressing writer onto w. Encoders are set up for
// one stream each with bounded windows, so that memory does not depend on
// the amount of data.
func newCompressor(c Compression, level int, w io.Writer) (io.WriteCloser, error) {
	switch c {
	case CompressGzip, "":
		if level == 0 {
			level = gzipLevel
		}
		return gzip.NewWriterLevel(w, level)
	case CompressBzip2:
		if level == 0 {
			level = bzip2w.DefaultLevel
		}
		return bzip2w.NewWriterLevel(w, level)
	case CompressZstd:
		lvl := zstd.SpeedDefault
		if level != 0 {
			lvl = zstd.EncoderLevelFromZstd(level)
		}
		return zstd.NewWriter(w, zstd.WithEncoderLevel(lvl), zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(4<<20))
	case CompressXZ:
		cfg := xz.WriterConfig{DictCap: 8 << 20}
		return cfg.NewWriter(w)
	case CompressNone:
		return nopWriteCloser{w}, nil
	}
	return nil, fmt.Errorf("unknown compression %q", c)
}

// newDecompressor detects the compression of r from its first bytes.
func newDecompressor(r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(6)
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("open gzip: %w", err)
		}
		return zr, nil
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, fmt.Errorf("open zstd: %w", err)
		}
		return zr.IOReadCloser(), nil
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		zr, err := xz.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("open xz: %w", err)
		}
		return io.NopCloser(zr), nil
	case bytes.HasPrefix(head, []byte("BZh")):
		return io.NopCloser(bzip2.NewReader(br)), nil
	}
	return io.NopCloser(br), nil
}

// newHash returns the hash for a checksum type and its name in metadata.
func newHash(typ string) (func() hash.Hash, string, error) {
	switch typ {
	case "", "sha256":
		return sha256.New, "sha256", nil
	case "sha", "sha1":
		return sha1.New, "sha1", nil
	case "sha224":
		return sha256.New224, "sha224", nil
	case "sha384":
		return sha512.New384, "sha384", nil
	case "sha512":
		return sha512.New, "sha512", nil
	case "md5":
		return md5.New, "md5", nil
	}
	return nil, "", fmt.Errorf("unknown checksum type %q (want sha256, sha1, sha224, sha384, sha512 or md5)", typ)
}
