package repogen

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"strconv"
)

// mdKind is one of the three package metadata files.
type mdKind struct {
	typ    string // repomd data type and file name stem
	root   string // root element name
	xmlns  string // root element attributes before packages=
	footer string
}

var (
	mdPrimary = mdKind{"primary", "metadata",
		`xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm"`, "</metadata>"}
	mdFilelists = mdKind{"filelists", "filelists",
		`xmlns="http://linux.duke.edu/metadata/filelists"`, "</filelists>"}
	mdOther = mdKind{"other", "otherdata",
		`xmlns="http://linux.duke.edu/metadata/other"`, "</otherdata>"}
)

func (k mdKind) header(count int) []byte {
	return fmt.Appendf(nil, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%s %s packages=\"%d\">\n", k.root, k.xmlns, count)
}

// countWriter counts and hashes what passes through it.
type countWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	c.h.Write(p)
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// mdWriter writes one compressed metadata file, computing the checksum and
// size of both the compressed and the uncompressed content.
type mdWriter struct {
	path string
	f    *os.File
	buf  *bufio.Writer
	comp io.WriteCloser
	out  *countWriter // compressed side
	open *countWriter // uncompressed side, feeding comp

	closed bool
}

// mdStat describes a finished metadata file.
type mdStat struct {
	path                   string
	checksum, openChecksum string
	size, openSize         int64
}

func createMD(path string, c Compression, level int, newHash func() hash.Hash) (*mdWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create metadata file: %w", err)
	}
	w := &mdWriter{path: path, f: f, buf: bufio.NewWriterSize(f, 256<<10)}
	w.out = &countWriter{w: w.buf, h: newHash()}
	w.comp, err = newCompressor(c, level, w.out)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	w.open = &countWriter{w: w.comp, h: newHash()}
	return w, nil
}

func (w *mdWriter) Write(p []byte) (int, error) { return w.open.Write(p) }

// finish flushes, syncs and closes the file.
func (w *mdWriter) finish() (mdStat, error) {
	w.closed = true
	if err := w.comp.Close(); err != nil {
		w.f.Close()
		return mdStat{}, fmt.Errorf("compress %s: %w", w.path, err)
	}
	if err := w.buf.Flush(); err != nil {
		w.f.Close()
		return mdStat{}, fmt.Errorf("write %s: %w", w.path, err)
	}
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		return mdStat{}, fmt.Errorf("sync %s: %w", w.path, err)
	}
	if err := w.f.Close(); err != nil {
		return mdStat{}, fmt.Errorf("close %s: %w", w.path, err)
	}
	return mdStat{
		path:         w.path,
		checksum:     hex.EncodeToString(w.out.h.Sum(nil)),
		openChecksum: hex.EncodeToString(w.open.h.Sum(nil)),
		size:         w.out.n,
		openSize:     w.open.n,
	}, nil
}

// abort closes and removes a half-written (or finished but unused) file.
func (w *mdWriter) abort() {
	if !w.closed {
		w.comp.Close()
		w.f.Close()
	}
	os.Remove(w.path)
}

// rewriteCount rewrites a finished metadata file whose header announced the
// wrong package count (packages were skipped): it streams the old content
// through a new compressor with the corrected header. Only runs when
// packages were skipped.
func rewriteCount(st mdStat, count int, c Compression, level int, newHash func() hash.Hash) (mdStat, error) {
	in, err := os.Open(st.path)
	if err != nil {
		return st, fmt.Errorf("reopen %s: %w", st.path, err)
	}
	defer in.Close()
	dec, err := newDecompressor(in)
	if err != nil {
		return st, err
	}
	defer dec.Close()
	br := bufio.NewReaderSize(dec, 64<<10)
	var head []byte
	for range 2 { // the XML declaration and the root element's start tag
		line, err := br.ReadBytes('\n')
		if err != nil {
			return st, fmt.Errorf("read header of %s: %w", st.path, err)
		}
		head = append(head, line...)
	}
	i := bytes.Index(head, []byte(` packages="`))
	if i < 0 {
		return st, fmt.Errorf("rewrite %s: no packages attribute", st.path)
	}
	j := bytes.IndexByte(head[i+11:], '"')
	if j < 0 {
		return st, fmt.Errorf("rewrite %s: bad packages attribute", st.path)
	}
	newHead := append(append(append([]byte(nil), head[:i+11]...), strconv.Itoa(count)...), head[i+11+j:]...)

	tmp := st.path + ".count"
	w, err := createMD(tmp, c, level, newHash)
	if err != nil {
		return st, err
	}
	if _, err := w.Write(newHead); err != nil {
		w.abort()
		return st, err
	}
	if _, err := io.Copy(w, br); err != nil {
		w.abort()
		return st, fmt.Errorf("rewrite %s: %w", st.path, err)
	}
	nst, err := w.finish()
	if err != nil {
		os.Remove(tmp)
		return st, err
	}
	if err := os.Rename(tmp, st.path); err != nil {
		return st, fmt.Errorf("rewrite %s: %w", st.path, err)
	}
	nst.path = st.path
	return nst, nil
}

// mdSink is a metadata file being written: an mdWriter, or gzChunks.
type mdSink interface {
	io.Writer
	finish() (mdStat, error)
	abort()
}
