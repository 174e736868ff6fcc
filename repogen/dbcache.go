package repogen

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"

	bzip2w "kojigo/repogen/internal/bzip2"
)

// The update cache (Options.UpdateCache) makes an update's databases cost
// what changed rather than the whole repository (gzchunks.go does the same
// for the XML files). Each run leaves in repodata, as files named
// kojigo-cache.* (flat and not dot files, so that they travel to the hub
// with the other repodata files: Koji refuses uploads named with a leading
// dot), the raw sqlite databases it published (zstd-compressed) and the
// block list of their bzip2 files. The next update copies the raw
// databases, inserts the packages it read, deletes the ones that left, and
// writes the bzip2 files as block streams: blocks whose 64 KiB of database
// did not change are copied bit for bit from the previous file. Without
// the cache the databases are rebuilt and compressed whole, as createrepo_c
// does, which at 12,788 packages is most of an update's time.
//
// A cache entry is used only when its index names the very files the
// previous repomd.xml lists (the XML checksum the database mirrors, and the
// compressed database's checksum); anything else is a full rebuild.

// cachePrefix begins the names of the cache's files in repodata.
const cachePrefix = "kojigo-cache."

// cacheFile is the path of the cache file name in repodata directory dir.
func cacheFile(dir, name string) string { return filepath.Join(dir, cachePrefix+name) }

type cacheCounters struct {
	chunks, chunksReused, blocks, blocksReused, dbsUpdated atomic.Int64
}

func (c *cacheCounters) stats() CacheStats {
	return CacheStats{Chunks: int(c.chunks.Load()), ChunksReused: int(c.chunksReused.Load()),
		Blocks: int(c.blocks.Load()), BlocksReused: int(c.blocksReused.Load()), DatabasesUpdated: int(c.dbsUpdated.Load())}
}

// previous is what an update found in the previous run's cache.
type previous struct {
	xml [3]*gzPrevious
	db  [3]*prevDB
}

// dbCacheSpan is the database bytes per bzip2 block in cached streams. One
// package added to 12,788 changes about 120 pages spread over the three
// databases' indexes: at 64 KiB, 3.7 MB are compressed again and the files
// are about 12% bigger than with bzip2's 900k blocks; at 256 KiB, 10.7 MB
// and 5%. The databases serve EL7-era yum only, so an update's time
// counts for more than their size.
var dbCacheSpan = 64 << 10

// dbCacheIndex describes one cached database.
type dbCacheIndex struct {
	XMLChecksum string         `json:"xml_checksum"` // db_info.checksum: the XML file it mirrors
	Checksum    string         `json:"checksum"`     // of the compressed database
	RawChecksum string         `json:"raw_checksum"` // of the raw database, checked when copied
	Compression Compression    `json:"compression"`
	Blocks      []bzip2w.Block `json:"blocks,omitempty"`
	// Frames, when set, are the raw cache's zstd frames, one per block:
	// an update compresses only the spans that changed.
	Frames []rawFrame `json:"frames,omitempty"`
}

// rawFrame is where one span's zstd frame is in a raw database cache file.
type rawFrame struct {
	Off int64 `json:"off"`
	Len int64 `json:"len"`
}

// prevDB is a previous run's database that an update can start from.
type prevDB struct {
	raw        string // the raw database, zstd-compressed, in the previous repodata's cache
	compressed string // the previous compressed database
	index      dbCacheIndex
}

// loadDBCache finds the previous run's cached databases that match the
// previous repomd.xml; entries are nil where there is none.
func (v *validated) loadDBCache() [3]*prevDB {
	var out [3]*prevDB
	raw, err := os.ReadFile(filepath.Join(v.UpdateFrom, "repomd.xml"))
	if err != nil {
		return out
	}
	var doc repomdFull
	if xml.Unmarshal(raw, &doc) != nil {
		return out
	}
	sums, sumTypes, hrefs := map[string]string{}, map[string]string{}, map[string]string{}
	for _, d := range doc.Data {
		sums[d.Type], sumTypes[d.Type], hrefs[d.Type] = d.Checksum.Value, d.Checksum.Type, d.Location.Href
	}
	root := filepath.Dir(v.UpdateFrom)
	for i, typ := range []string{"primary", "filelists", "other"} {
		var idx dbCacheIndex
		if err := readIndex(cacheFile(v.UpdateFrom, typ+".sqlite.json"), &idx); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				v.Logger.Warn("database cache index not usable; rebuilding", "db", typ, "err", err)
			}
			continue
		}
		if idx.XMLChecksum == "" || idx.Checksum == "" ||
			idx.XMLChecksum != sums[typ] || idx.Checksum != sums[typ+"_db"] || !filepath.IsLocal(hrefs[typ+"_db"]) {
			v.Logger.Info("database cache does not match the previous metadata; rebuilding", "db", typ)
			continue
		}
		p := &prevDB{raw: cacheFile(v.UpdateFrom, typ+".sqlite.zst"), compressed: filepath.Join(root, hrefs[typ+"_db"]), index: idx}
		if _, err := os.Stat(p.raw); err != nil {
			continue
		}
		if idx.Compression != v.DatabaseCompression || sumTypes[typ+"_db"] != v.hashName {
			p.index.Blocks = nil // the old file's blocks are of no use
		} else if sum, err := fileChecksum(p.compressed, v.newHash); err != nil || sum != idx.Checksum {
			v.Logger.Warn("previous database file does not match its checksum; compressing it whole", "file", p.compressed)
			p.index.Blocks = nil
		}
		out[i] = p
	}
	return out
}

// compressDBBlocks compresses a finished raw database as a bzip2 block
// stream, reusing prev's unchanged blocks, and moves the raw database into
// the new repodata's cache with its index.
func (v *validated) compressDBBlocks(d *dbWriter, xmlChecksum string, prev *prevDB) (mdStat, error) {
	in, err := os.Open(d.path)
	if err != nil {
		return mdStat{}, fmt.Errorf("reopen %s database: %w", d.typ, err)
	}
	defer in.Close()
	dir := filepath.Dir(d.path)
	w, err := createMD(filepath.Join(dir, d.typ+".sqlite"+v.DatabaseCompression.suffix()), CompressNone, 0, v.newHash)
	if err != nil {
		return mdStat{}, err
	}
	opts := bzip2w.BlockOptions{Span: dbCacheSpan}
	if prev != nil && len(prev.index.Blocks) > 0 {
		if f, err := os.Open(prev.compressed); err == nil {
			defer f.Close()
			opts.Previous = &bzip2w.Previous{Blocks: prev.index.Blocks, R: f}
		}
	}
	open := &countWriter{w: io.Discard, h: v.newHash()}
	blocks, bst, err := bzip2w.WriteBlocks(w, io.TeeReader(in, open), opts)
	if err != nil {
		w.abort()
		return mdStat{}, fmt.Errorf("compress %s database: %w", d.typ, err)
	}
	st, err := w.finish()
	if err != nil {
		w.abort()
		return mdStat{}, err
	}
	st.openChecksum, st.openSize = hex.EncodeToString(open.h.Sum(nil)), open.n
	rawSum := st.openChecksum
	v.cache.blocks.Add(int64(bst.Blocks))
	v.cache.blocksReused.Add(int64(bst.Reused))
	if d.incremental {
		v.cache.dbsUpdated.Add(1)
	}

	raw := cacheFile(dir, d.typ+".sqlite.zst")
	frames, err := saveRawFrames(d.path, raw, blocks, prev)
	if err != nil {
		return st, err
	}
	v.finished(raw)
	return st, v.writeIndex(cacheFile(dir, d.typ+".sqlite.json"), dbCacheIndex{XMLChecksum: xmlChecksum,
		Checksum: st.checksum, RawChecksum: rawSum, Compression: v.DatabaseCompression, Blocks: blocks, Frames: frames})
}

// saveRawDB compresses the raw database at path into the cache file dst
// with zstd's fastest level (about a fifth of its size, at a few hundred
// MB/s, so that the cache is smaller than the published databases and
// cheap to upload), and removes it.
func saveRawDB(path, dst string) error {
	in, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("update cache: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("update cache: %w", err)
	}
	zw, err := zstd.NewWriter(out, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err == nil {
		_, err = io.Copy(zw, in)
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return fmt.Errorf("update cache: %w", err)
	}
	return os.Remove(path)
}

// saveRawFrames writes the raw database at path into the cache file dst as
// one zstd frame per block, copying the frame of every span whose content
// the previous cache already holds, and removes the database. A stream of
// frames decompresses as one, so copyChecked reads either kind of cache.
func saveRawFrames(path, dst string, blocks []bzip2w.Block, prev *prevDB) ([]rawFrame, error) {
	in, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("update cache: %w", err)
	}
	defer in.Close()
	known := map[string]rawFrame{}
	var old *os.File
	if prev != nil && len(prev.index.Frames) == len(prev.index.Blocks) {
		if old, err = os.Open(prev.raw); err == nil {
			defer old.Close()
			for i, b := range prev.index.Blocks {
				known[b.Sum] = prev.index.Frames[i]
			}
		}
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("update cache: %w", err)
	}
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		out.Close()
		os.Remove(dst)
		return nil, err
	}
	defer zw.Close()
	frames := make([]rawFrame, 0, len(blocks))
	var buf, frame []byte
	var off, at int64
	for _, b := range blocks {
		if f, ok := known[b.Sum]; ok && f.Len > 0 {
			frame = slices.Grow(frame[:0], int(f.Len))[:f.Len]
			_, err = old.ReadAt(frame, f.Off)
		} else {
			buf = slices.Grow(buf[:0], int(b.Size))[:b.Size]
			if _, err = in.ReadAt(buf, at); err == nil {
				frame = zw.EncodeAll(buf, frame[:0])
			}
		}
		if err == nil {
			_, err = out.Write(frame)
		}
		if err != nil {
			break
		}
		frames = append(frames, rawFrame{Off: off, Len: int64(len(frame))})
		off += int64(len(frame))
		at += b.Size
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return nil, fmt.Errorf("update cache: %w", err)
	}
	return frames, os.Remove(path)
}

// keepRawDB moves a finished raw database compressed some other way than
// bzip2 into the new repodata's cache, without a block list.
func (v *validated) keepRawDB(path, typ, xmlChecksum string, st mdStat) error {
	dir := filepath.Dir(path)
	raw := cacheFile(dir, typ+".sqlite.zst")
	if err := saveRawDB(path, raw); err != nil {
		return err
	}
	v.finished(raw)
	return v.writeIndex(cacheFile(dir, typ+".sqlite.json"), dbCacheIndex{XMLChecksum: xmlChecksum,
		Checksum: st.checksum, RawChecksum: st.openChecksum, Compression: v.DatabaseCompression})
}

// carryCache links the previous cache into the new repodata when the
// previous files are republished unchanged.
func (v *validated) carryCache(dir string) error {
	ents, err := os.ReadDir(v.UpdateFrom)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), cachePrefix) {
			continue
		}
		if err := linkOrCopy(filepath.Join(v.UpdateFrom, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("carry update cache: %w", err)
		}
	}
	return nil
}

// sealedIndex is a cache index as stored: with the checksum of its JSON,
// so that a damaged index (whose offsets would splice wrong bytes into a
// published file) is noticed and not used.
type sealedIndex struct {
	Sum   string          `json:"sha256"`
	Index json.RawMessage `json:"index"`
}

// writeIndex writes a cache index, as writeIndex does, and reports it.
func (v *validated) writeIndex(path string, idx any) error {
	if err := writeIndex(path, idx); err != nil {
		return err
	}
	v.finished(path)
	return nil
}

func writeIndex(path string, idx any) error {
	b, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	out, err := json.Marshal(sealedIndex{Sum: hex.EncodeToString(sum[:]), Index: b})
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return fmt.Errorf("update cache: %w", err)
	}
	return nil
}

func readIndex(path string, idx any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var s sealedIndex
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if sum := sha256.Sum256(s.Index); hex.EncodeToString(sum[:]) != s.Sum {
		return fmt.Errorf("%s: checksum mismatch", path)
	}
	if err := json.Unmarshal(s.Index, idx); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// copyChecked decompresses the cached database src into a new file dst,
// failing unless the copy's checksum is want.
func copyChecked(src, dst, want string, newHash func() hash.Hash) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	zr, err := zstd.NewReader(in, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return err
	}
	defer zr.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	h := newHash()
	_, err = io.Copy(io.MultiWriter(out, h), zr)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && hex.EncodeToString(h.Sum(nil)) != want {
		err = fmt.Errorf("%s does not have the checksum its index records", src)
	}
	if err != nil {
		os.Remove(dst)
	}
	return err
}

// fileChecksum is the checksum of the file at path.
func fileChecksum(path string, newHash func() hash.Hash) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := newHash()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
