package repogen

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/flate"
)

// With Options.UpdateCache, the gzip XML files are written in chunks of
// packages, each compressed on its own and ended with a sync flush, so it
// ends on a byte and refers to nothing before it: one gzip member that any
// reader takes, about 2% bigger than one compressed whole. Chunks end
// after packages chosen by their own content (a hash of the fragment), so
// adding or removing a package changes only its chunk, and an update
// copies every other chunk's compressed bytes from the previous file. The
// index of the chunks goes to the cache with the file.

// chunkEvery is the average number of packages per chunk: a fragment ends
// a chunk when its CRC is 0 modulo chunkEvery.
const chunkEvery = 256

// maxChunk bounds a chunk's uncompressed size.
const maxChunk = 4 << 20

type gzChunk struct {
	Sum string `json:"sha256"` // of the uncompressed bytes, hex
	Off int64  `json:"off"`    // compressed bytes in the file
	Len int64  `json:"len"`
}

// gzIndex describes a chunked gzip file.
type gzIndex struct {
	Checksum string    `json:"checksum"` // of the file
	Chunks   []gzChunk `json:"chunks"`
}

// gzChunks writes one chunked gzip metadata file. It has mdWriter's
// methods, and writePackage for the package fragments.
type gzChunks struct {
	path   string
	f      *os.File
	buf    *bufio.Writer
	out    *countWriter // compressed side
	open   hash.Hash
	openN  int64
	crc    uint32
	level  int
	fw     *flate.Writer
	cur    []byte
	chunks []gzChunk

	prev     map[[sha256.Size]byte]gzChunk
	prevFile *os.File
	reused   int
	closed   bool
	err      error
}

func createGzChunks(path string, level int, newHash func() hash.Hash, prev *gzPrevious) (*gzChunks, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create metadata file: %w", err)
	}
	if level == 0 {
		level = gzipLevel
	}
	// cur starts at twice an average chunk of primary (256 packages of
	// about 2 KB): grown by doubling from nothing, the chunk buffers were a
	// fifth of what an update allocated; sized for the biggest chunk
	// (maxChunk) at once, they added 8 MiB to kojid's peak.
	w := &gzChunks{path: path, f: f, buf: bufio.NewWriterSize(f, 256<<10), open: newHash(), level: level, cur: make([]byte, 0, 1<<20)}
	w.out = &countWriter{w: w.buf, h: newHash()}
	if w.fw, err = flate.NewWriter(w.out, level); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	if prev != nil {
		if pf, err := os.Open(prev.path); err == nil {
			w.prevFile = pf
			w.prev = map[[sha256.Size]byte]gzChunk{}
			for _, c := range prev.index.Chunks {
				sum, err := hex.DecodeString(c.Sum)
				if err == nil && len(sum) == sha256.Size && c.Len > 0 && c.Off >= 10 {
					w.prev[[sha256.Size]byte(sum)] = c
				}
			}
		}
	}
	// gzip header: deflate, no name, no time, Unix.
	_, w.err = w.out.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3})
	return w, nil
}

// Write adds bytes that end a chunk of their own: the header and footer.
func (w *gzChunks) Write(p []byte) (int, error) {
	w.endChunk()
	w.cur = append(w.cur, p...)
	w.endChunk()
	return len(p), w.err
}

// writePackage adds one package's fragment, ending the chunk after it when
// its content says so.
func (w *gzChunks) writePackage(p []byte) error {
	w.cur = append(w.cur, p...)
	if crc32.ChecksumIEEE(p)%chunkEvery == 0 || len(w.cur) >= maxChunk {
		w.endChunk()
	}
	return w.err
}

func (w *gzChunks) endChunk() {
	if len(w.cur) == 0 || w.err != nil {
		return
	}
	w.open.Write(w.cur)
	w.openN += int64(len(w.cur))
	w.crc = crc32.Update(w.crc, crc32.IEEETable, w.cur)
	sum := sha256.Sum256(w.cur)
	c := gzChunk{Sum: hex.EncodeToString(sum[:]), Off: w.out.n}
	if old, ok := w.prev[sum]; ok {
		if n, err := io.Copy(w.out, io.NewSectionReader(w.prevFile, old.Off, old.Len)); err != nil || n != old.Len {
			w.err = fmt.Errorf("reuse compressed chunk of %s: %d of %d bytes: %v", w.path, n, old.Len, err)
			return
		}
		w.reused++
	} else {
		w.fw.Reset(w.out)
		if _, err := w.fw.Write(w.cur); err != nil {
			w.err = err
			return
		}
		if err := w.fw.Flush(); err != nil {
			w.err = err
			return
		}
	}
	c.Len = w.out.n - c.Off
	w.chunks = append(w.chunks, c)
	w.cur = w.cur[:0]
}

func (w *gzChunks) finish() (mdStat, error) {
	w.endChunk()
	w.closed = true
	if w.prevFile != nil {
		w.prevFile.Close()
	}
	err := w.err
	if err == nil {
		// An empty final block, then the CRC and size of the content.
		var tail [10]byte
		tail[0], tail[1] = 0x03, 0x00
		binary.LittleEndian.PutUint32(tail[2:], w.crc)
		binary.LittleEndian.PutUint32(tail[6:], uint32(w.openN))
		_, err = w.out.Write(tail[:])
	}
	if err == nil {
		err = w.buf.Flush()
	}
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return mdStat{}, fmt.Errorf("write %s: %w", w.path, err)
	}
	return mdStat{
		path:         w.path,
		checksum:     hex.EncodeToString(w.out.h.Sum(nil)),
		openChecksum: hex.EncodeToString(w.open.Sum(nil)),
		size:         w.out.n,
		openSize:     w.openN,
	}, nil
}

func (w *gzChunks) abort() {
	if !w.closed {
		w.f.Close()
		if w.prevFile != nil {
			w.prevFile.Close()
		}
	}
	os.Remove(w.path)
}

// saveIndex writes the chunk list of the finished file into the cache of
// its repodata directory.
func (w *gzChunks) saveIndex(v *validated, typ string, st mdStat) error {
	return v.writeIndex(cacheFile(filepath.Dir(w.path), typ+".xml.json"), gzIndex{Checksum: st.checksum, Chunks: w.chunks})
}

// gzPrevious is a previous chunked file an update can copy chunks from.
type gzPrevious struct {
	path  string
	index gzIndex
}

// loadGzCache finds the previous run's chunk indexes that match the
// previous repomd.xml; entries are nil where there is none.
func (v *validated) loadGzCache() [3]*gzPrevious {
	var out [3]*gzPrevious
	raw, err := os.ReadFile(filepath.Join(v.UpdateFrom, "repomd.xml"))
	if err != nil {
		return out
	}
	var doc repomdFull
	if xml.Unmarshal(raw, &doc) != nil {
		return out
	}
	root := filepath.Dir(v.UpdateFrom)
	for i, typ := range []string{"primary", "filelists", "other"} {
		var idx gzIndex
		if err := readIndex(cacheFile(v.UpdateFrom, typ+".xml.json"), &idx); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				v.Logger.Warn("metadata cache index not usable; compressing whole", "file", typ, "err", err)
			}
			continue
		}
		for _, d := range doc.Data {
			if d.Type != typ || d.Checksum.Value != idx.Checksum || idx.Checksum == "" ||
				d.Checksum.Type != v.hashName || !filepath.IsLocal(d.Location.Href) {
				continue
			}
			path := filepath.Join(root, d.Location.Href)
			if sum, err := fileChecksum(path, v.newHash); err != nil || sum != idx.Checksum {
				v.Logger.Warn("previous metadata file does not match its checksum; compressing it whole", "file", path)
				continue
			}
			out[i] = &gzPrevious{path: path, index: idx}
		}
	}
	return out
}
