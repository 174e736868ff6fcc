package repogen

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"kojigo/internal/rpmhdr"
)

type hashFunc = func() hash.Hash

// Result describes a finished run.
type Result struct {
	// Packages is the number of packages in the published metadata.
	Packages int
	// Read is how many of them had their headers read; Reused how many were
	// copied from the previous metadata (Update).
	Read, Reused int
	// Skipped lists packages left out because they could not be read
	// (Options.SkipBad).
	Skipped []*PackageError
	// Duplicates is the number of repeated paths dropped from Options.Packages.
	Duplicates int
	// BytesRead is the number of package bytes read and checksummed.
	BytesRead int64
	// Revision is repomd.xml's revision.
	Revision string
	// RepodataDir is the published repodata directory.
	RepodataDir string
	// Files are the metadata files listed in repomd.xml, in its order.
	Files []MetadataFile
	// Timings of the phases.
	Timings Timings
	// Cache says how much of the compressed output an update copied from
	// the previous run (Options.UpdateCache).
	Cache CacheStats
}

// CacheStats counts the chunks of the XML files and the blocks of the
// databases written, and how many of each were copied from the previous
// run instead of compressed; DatabasesUpdated counts the databases changed
// in place rather than rebuilt.
type CacheStats struct {
	Chunks, ChunksReused int
	Blocks, BlocksReused int
	DatabasesUpdated     int
}

// MetadataFile is one <data> entry of repomd.xml.
type MetadataFile struct {
	Type         string `json:"type"` // primary, filelists, other, group, group_gz, ...
	Href         string `json:"href"` // relative to the repository root: repodata/...
	Checksum     string `json:"checksum"`
	OpenChecksum string `json:"open_checksum,omitempty"` // empty when the file is not compressed
	Size         int64  `json:"size"`
	OpenSize     int64  `json:"open_size,omitempty"` // zero when the file is not compressed
	Timestamp    int64  `json:"timestamp"`           // modification time, Unix seconds
	// DatabaseVersion is the sqlite schema version of the *_db entries.
	DatabaseVersion int `json:"database_version,omitempty"`
}

// Timings are the durations of a run's phases.
type Timings struct {
	List     time.Duration // listing and sorting the packages
	Generate time.Duration // reading packages and writing metadata
	Publish  time.Duration // repomd.xml, fsync and the swap into place
	Total    time.Duration
}

// PackageError is a package that could not be indexed. Err wraps one of
// rpmhdr's errors (ErrNotRPM, ErrTruncated, ErrTooLarge, ErrCorrupt),
// ErrNotRegular, or an I/O error.
type PackageError struct {
	Path string // relative to the package directory
	Err  error
}

func (e *PackageError) Error() string { return fmt.Sprintf("package %s: %v", e.Path, e.Err) }
func (e *PackageError) Unwrap() error { return e.Err }

// MaxNamedBadPackages is how many bad packages a BadPackagesError names.
const MaxNamedBadPackages = 100

// BadPackagesError fails a run without Options.SkipBad: it names the first
// MaxNamedBadPackages packages that could not be read, in package order, and
// counts them all. errors.As finds each named *PackageError in it.
type BadPackagesError struct {
	Packages []*PackageError
	Count    int
}

func (e *BadPackagesError) add(p *PackageError) {
	e.Count++
	if len(e.Packages) < MaxNamedBadPackages {
		e.Packages = append(e.Packages, p)
	}
}

// Error is one line for one package; for several, a summary line followed
// by one line per named package.
func (e *BadPackagesError) Error() string {
	if e.Count == 1 && len(e.Packages) == 1 {
		return e.Packages[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d packages cannot be read (nothing was published; --skip-bad leaves them out):", e.Count)
	for _, p := range e.Packages {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	if more := e.Count - len(e.Packages); more > 0 {
		fmt.Fprintf(&b, "\n  ... and %d more", more)
	}
	return b.String()
}

// Unwrap returns the named package errors.
func (e *BadPackagesError) Unwrap() []error {
	errs := make([]error, len(e.Packages))
	for i, p := range e.Packages {
		errs[i] = p
	}
	return errs
}

// ErrNotRegular is a package path that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// item carries one package through the pipeline. At most window items exist,
// which bounds memory whatever the number of packages.
type item struct {
	idx     int
	href    string
	out     pkgXML
	hasCand bool // out holds the previous metadata for this path
	cand    struct{ size, mtime int64 }
	reused  bool
	nbytes  int64
	err     error
	refs    atomic.Int32
}

// Generate writes repository metadata for the packages of opts into
// OutputDir/repodata. It writes everything under a temporary directory and
// swaps it in at the end, so the previous repodata stays in place if the run
// fails, is cancelled or is killed; the next run removes what a killed run
// left. Without Options.SkipBad, packages that cannot be read fail the run
// with a *BadPackagesError naming them, after every package was tried.
func Generate(ctx context.Context, opts Options) (Result, error) {
	t0 := time.Now()
	v, err := opts.validate()
	if err != nil {
		return Result{}, err
	}
	log := v.Logger
	pub, err := beginPublish(v.OutputDir, log)
	if err != nil {
		return Result{}, err
	}
	defer pub.release()

	var res Result
	list := v.Packages
	if list == nil {
		if list, err = scanDir(ctx, v.BaseDir); err != nil {
			return Result{}, err
		}
	}
	list, res.Duplicates, err = sortPackages(list, v.Subrepo)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrInvalidOptions, err)
	}
	if res.Duplicates > 0 {
		log.Warn("duplicate package paths dropped", "count", res.Duplicates)
	}
	t1 := time.Now()
	res.Timings.List = t1.Sub(t0)

	// With nothing changed, the previous files are published again as they
	// are: the cost is that of listing, stat'ing and reading primary.xml.
	var stats, dbStats [3]mdStat
	var dbs [3]*dbWriter
	reusedAll := false
	if v.Update {
		if r := v.unchangedRepo(list); r != nil {
			if stats, dbStats, err = v.publishReused(pub.tmp, r); err != nil {
				return Result{}, err
			}
			reusedAll = true
			res.Packages, res.Reused = len(list), len(list)
			if v.Progress != nil {
				v.Progress(len(list), len(list))
			}
			log.Debug("previous metadata unchanged, republishing its files")
		}
	}

	if reusedAll && v.UpdateCache {
		if err := v.carryCache(pub.tmp); err != nil {
			return Result{}, err
		}
	}

	var old *oldRepo
	prev := new(previous)
	if v.Update && !reusedAll {
		old, err = openOldRepo(v.UpdateFrom, log)
		switch {
		case errors.Is(err, errNoPrevious):
			log.Info("no previous metadata, reading every package", "dir", v.UpdateFrom)
			old = nil
		case err != nil:
			// Like createrepo_c: no usable previous metadata means a full run.
			log.Warn("previous metadata not usable, reading every package", "dir", v.UpdateFrom, "err", err)
			old = nil
		default:
			defer old.Close()
			if v.UpdateCache {
				prev.xml = v.loadGzCache()
				if v.Database {
					prev.db = v.loadDBCache()
				}
			}
		}
	}

	if !reusedAll {
		if stats, dbs, err = v.generate(ctx, list, old, prev, pub.tmp, &res); err != nil {
			return Result{}, err
		}
		defer func() {
			for _, d := range dbs {
				d.abort() // closes a database that finishFiles did not get to
			}
		}()
	}
	t2 := time.Now()
	res.Timings.Generate = t2.Sub(t1)

	files, err := v.finishFiles(ctx, pub.tmp, stats, dbs, prev.db, dbStats, res.Packages, len(list))
	if err != nil {
		return Result{}, err
	}
	res.Files = files
	res.Revision = v.Revision
	res.Cache = v.cache.stats()
	if err := writeRepomd(filepath.Join(pub.tmp, "repomd.xml"), v.Revision, v.hashName, files); err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if res.RepodataDir, err = pub.commit(); err != nil {
		return Result{}, err
	}
	t3 := time.Now()
	res.Timings.Publish = t3.Sub(t2)
	res.Timings.Total = t3.Sub(t0)
	log.Info("repodata written", "dir", res.RepodataDir, "packages", res.Packages,
		"read", res.Read, "reused", res.Reused, "skipped", len(res.Skipped), "took", res.Timings.Total,
		"list", res.Timings.List, "generate", res.Timings.Generate, "publish", res.Timings.Publish)
	return res, nil
}

// generate runs the pipeline: a planner hands packages, in order, to the
// workers, which read them (or confirm the previous metadata still holds);
// a sequencer puts the results back in order and feeds three writers.
func (v *validated) generate(ctx context.Context, list []string, old *oldRepo, prev *previous, dir string, res *Result) ([3]mdStat, [3]*dbWriter, error) {
	var stats [3]mdStat
	kinds := [3]mdKind{mdPrimary, mdFilelists, mdOther}
	var writers [3]mdSink
	var dbs [3]*dbWriter
	for i, k := range kinds {
		path := filepath.Join(dir, k.typ+".xml"+v.Compression.suffix())
		var w mdSink
		var err error
		if v.UpdateCache && v.Compression == CompressGzip {
			w, err = createGzChunks(path, v.CompressionLevel, v.newHash, prev.xml[i])
		} else {
			w, err = createMD(path, v.Compression, v.CompressionLevel, v.newHash)
		}
		if err != nil {
			for _, w := range writers[:i] {
				w.abort()
			}
			return stats, dbs, err
		}
		writers[i] = w
	}
	ok := false
	defer func() {
		if !ok {
			for _, w := range writers {
				w.abort()
			}
			for _, d := range dbs {
				if d != nil {
					d.abort()
				}
			}
		}
	}()
	consumers := 3
	// The databases are restored from the cache (or created) at once, in
	// parallel with each other and with the start of the pipeline: each
	// database writer waits for its own.
	var dbReady [3]chan error
	if v.Database {
		consumers = 6
		dbCtx := ctx // the databases outlive the pipeline's context
		for i, k := range kinds {
			dbReady[i] = make(chan error, 1)
			go func() {
				if testHookDBOpen != nil {
					testHookDBOpen()
				}
				d, err := v.openWorkDB(dbCtx, filepath.Join(dir, k.typ+".work.sqlite"), k.typ, prev.db[i])
				dbs[i] = d
				dbReady[i] <- err
			}()
		}
		// Every database is open, or has failed, before generate returns.
		defer func() {
			for _, c := range dbReady {
				if c != nil {
					c <- <-c
				}
			}
		}()
	}

	window := v.window
	free := make(chan *item, window)
	for range window {
		free <- new(item)
	}
	jobs := make(chan *item, window)
	results := make(chan *item, window)
	toWriter := make([]chan *item, consumers)
	for i := range toWriter {
		toWriter[i] = make(chan *item, window)
	}

	g, ctx := errgroup.WithContext(ctx)
	total := len(list)

	// planner
	g.Go(func() error {
		defer close(jobs)
		for i, href := range list {
			var it *item
			select {
			case it = <-free:
			case <-ctx.Done():
				return ctx.Err()
			}
			it.idx, it.href, it.hasCand, it.reused, it.nbytes, it.err = i, href, false, false, 0, nil
			it.out.hasRow = false
			if old != nil {
				if r := old.lookup(href); r != nil && r.checksumType == v.hashName {
					r.swapInto(&it.out)
					it.hasCand = true
					it.cand.size, it.cand.mtime = r.size, r.mtime
				}
			}
			select {
			case jobs <- it:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})

	// workers
	var wg sync.WaitGroup
	for range v.Workers {
		wg.Add(1)
		g.Go(func() error {
			defer wg.Done()
			wk := newWorker(v)
			for it := range jobs {
				wk.process(it)
				select {
				case results <- it:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		})
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	// sequencer
	var written, read, reused atomic.Int64
	var skipped []*PackageError
	var bad BadPackagesError
	var nbytes int64
	g.Go(func() error {
		defer func() {
			for _, c := range toWriter {
				close(c)
			}
		}()
		ring := make([]*item, window)
		next, done := 0, 0
		for it := range results {
			ring[it.idx%window] = it
			for ring[next%window] != nil {
				x := ring[next%window]
				ring[next%window] = nil
				next++
				done++
				nbytes += x.nbytes
				if x.err != nil {
					perr := &PackageError{Path: x.href, Err: x.err}
					if v.SkipBad {
						v.Logger.Info("package skipped", "path", x.href, "err", x.err)
						skipped = append(skipped, perr)
					} else {
						// Keep reading to name every bad package, but
						// write nothing more: the run fails.
						bad.add(perr)
					}
					free <- x
				} else if bad.Count > 0 {
					free <- x
				} else {
					if x.reused {
						reused.Add(1)
					} else {
						read.Add(1)
					}
					written.Add(1)
					x.refs.Store(int32(consumers))
					for _, c := range toWriter {
						select {
						case c <- x:
						case <-ctx.Done():
							return ctx.Err()
						}
					}
				}
				if v.Progress != nil {
					v.Progress(done, total)
				}
			}
		}
		if ctx.Err() == nil && next != total {
			return fmt.Errorf("internal error: %d of %d packages came back", next, total)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if bad.Count > 0 {
			return &bad
		}
		return nil
	})

	// writers
	for i := range writers {
		w, k := writers[i], kinds[i]
		g.Go(func() error {
			var werr error
			write := func(b []byte) {
				if werr == nil {
					_, werr = w.Write(b)
				}
			}
			write(k.header(total))
			for x := range toWriter[i] {
				part := x.out.part(i)
				if cw, ok := w.(*gzChunks); ok {
					if werr == nil {
						werr = cw.writePackage(part)
					}
				} else {
					write(part)
				}
				if x.refs.Add(-1) == 0 {
					free <- x
				}
			}
			write([]byte(k.footer))
			if werr != nil {
				return fmt.Errorf("write %s: %w", k.typ, werr)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// Each writer flushes and syncs its own file, so the three
			// fsyncs overlap.
			st, err := w.finish()
			if err != nil {
				return err
			}
			if cw, ok := w.(*gzChunks); ok {
				v.cache.chunks.Add(int64(len(cw.chunks)))
				v.cache.chunksReused.Add(int64(cw.reused))
				if err := cw.saveIndex(v, k.typ, st); err != nil {
					return err
				}
			}
			stats[i] = st
			return nil
		})
	}

	// database writers: each parses the fragments of its kind into rows.
	// Until its database is open (restoring it from the update cache takes
	// about a third of an update), a writer keeps copies of the fragments,
	// up to dbPendingMax bytes, so that the pipeline and the XML files go
	// on meanwhile instead of waiting with it.
	for i := range dbReady {
		if dbReady[i] == nil {
			continue
		}
		g.Go(func() error {
			var derr error
			ready := false
			var pending pendingFrags
			open := func(wait bool) {
				var err error
				if wait {
					err = <-dbReady[i]
				} else {
					select {
					case err = <-dbReady[i]:
					default:
						return
					}
				}
				dbReady[i] <- err
				ready, derr = true, err
				if derr == nil && ctx.Err() == nil {
					derr = pending.replay(dbs[i])
				}
				pending = pendingFrags{}
			}
			for x := range toWriter[3+i] {
				part := x.out.part(i)
				var row *primaryRow
				if i == 0 && x.out.hasRow {
					row = x.out.row
				}
				if !ready {
					open(pending.size()+len(part) > dbPendingMax)
				}
				switch {
				case !ready:
					pending.add(part, row, x.reused)
				case derr == nil:
					derr = dbs[i].addItem(part, row, x.reused)
				}
				if x.refs.Add(-1) == 0 {
					free <- x
				}
			}
			if !ready {
				open(true)
			}
			if derr != nil {
				return derr
			}
			return ctx.Err()
		})
	}

	if err := g.Wait(); err != nil {
		return stats, dbs, err
	}
	ok = true
	res.Packages = int(written.Load())
	res.Read = int(read.Load())
	res.Reused = int(reused.Load())
	res.Skipped = skipped
	res.BytesRead = nbytes
	return stats, dbs, nil
}

// dbPendingMax bounds the fragment bytes a database writer keeps while its
// database is being opened.
var dbPendingMax = 16 << 20

// testHookDBOpen, when set, runs before each database is opened.
var testHookDBOpen func()

// pendingFrags are the fragments, in order, of packages that came before
// their database was open. They are copied into blocks of pendingBlock
// bytes, which are never copied again as they grow.
type pendingFrags struct {
	blocks [][]byte
	frags  [][]byte // slices of blocks (or, when bigger than a block, their own)
	rows   []*primaryRow
	reused []bool
	bytes  int
}

var pendingBlock = 1 << 20

func (p *pendingFrags) size() int { return p.bytes }

func (p *pendingFrags) add(frag []byte, row *primaryRow, reused bool) {
	var c []byte
	if len(frag) > pendingBlock {
		c = slices.Clone(frag)
	} else {
		if len(p.blocks) == 0 || cap(p.blocks[len(p.blocks)-1])-len(p.blocks[len(p.blocks)-1]) < len(frag) {
			p.blocks = append(p.blocks, make([]byte, 0, pendingBlock))
		}
		b := &p.blocks[len(p.blocks)-1]
		start := len(*b)
		*b = append(*b, frag...)
		c = (*b)[start:len(*b):len(*b)]
	}
	p.bytes += len(frag)
	p.frags = append(p.frags, c)
	if row != nil {
		row = row.clone()
	}
	p.rows = append(p.rows, row)
	p.reused = append(p.reused, reused)
}

// replay adds the kept packages to d, as they would have been.
func (p *pendingFrags) replay(d *dbWriter) error {
	for k, frag := range p.frags {
		if err := d.addItem(frag, p.rows[k], p.reused[k]); err != nil {
			return err
		}
	}
	return nil
}

// openWorkDB restores the database of kind typ from the cache entry prev
// into path and opens it to be updated in place or, without a usable
// entry, creates it.
func (v *validated) openWorkDB(ctx context.Context, path, typ string, prev *prevDB) (*dbWriter, error) {
	existing := false
	if prev != nil {
		err := copyChecked(prev.raw, path, prev.index.RawChecksum, v.newHash)
		existing = err == nil
		if err != nil {
			v.Logger.Warn("cached database not usable, rebuilding it", "db", typ, "err", err)
			os.Remove(path)
			prev.index.Frames = nil // nor are its frames
		}
	}
	d, err := openDB(ctx, path, typ, existing)
	if err != nil && existing {
		v.Logger.Warn("cached database not usable, rebuilding it", "db", typ, "err", err)
		os.Remove(path)
		d, err = openDB(ctx, path, typ, false)
	}
	return d, err
}

// worker reads packages; it owns a header reader and scratch buffers.
type worker struct {
	v   *validated
	rd  *rpmhdr.Reader
	enc *encoder
	h   hash.Hash
	buf []byte
	fi  fileInfo
}

func newWorker(v *validated) *worker {
	return &worker{
		v:   v,
		rd:  rpmhdr.NewReader(rpmhdr.Limits{MaxHeaderBytes: v.MaxHeaderBytes}),
		enc: newEncoder(v.ChangelogLimit, v.Database),
		h:   v.newHash(),
		buf: make([]byte, 256<<10),
	}
}

func (w *worker) process(it *item) {
	if it.hasCand && w.v.SkipStat {
		it.reused = true
		return
	}
	path := filepath.Join(w.v.BaseDir, filepath.FromSlash(it.href))
	st, err := os.Stat(path)
	if err != nil {
		it.err = err
		return
	}
	if !st.Mode().IsRegular() {
		it.err = fmt.Errorf("%w: it is a %s", ErrNotRegular, fileKind(st.Mode()))
		return
	}
	if it.hasCand && st.Size() == it.cand.size && st.ModTime().Unix() == it.cand.mtime {
		it.reused = true
		return
	}
	it.err = w.read(it, path, st)
}

func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&os.ModeNamedPipe != 0:
		return "named pipe"
	case m&os.ModeSocket != 0:
		return "socket"
	case m&os.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// read reads the header and checksums the whole file in one pass.
func (w *worker) read(it *item, path string, st os.FileInfo) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w.h.Reset()
	hr := &hashingReader{r: f, h: w.h, buf: w.buf}
	pkg, err := w.rd.Read(hr, st.Size())
	if err != nil {
		return err
	}
	if err := checkSize(pkg, st.Size()); err != nil {
		return err
	}
	if err := hr.drain(); err != nil {
		return fmt.Errorf("read payload: %w", err)
	}
	it.nbytes = hr.n
	if hr.n != st.Size() {
		return fmt.Errorf("file changed while being read (%d bytes read, %d expected)", hr.n, st.Size())
	}
	w.fi = fileInfo{
		href:         it.href,
		size:         st.Size(),
		mtime:        st.ModTime().Unix(),
		checksum:     hex.EncodeToString(w.h.Sum(nil)),
		checksumType: w.v.hashName,
	}
	return w.enc.encode(pkg, &w.fi, &it.out)
}

// hashingReader is a buffered reader that hashes every byte it returns.
type hashingReader struct {
	r        io.Reader
	h        hash.Hash
	buf      []byte
	pos, end int
	n        int64
	eof      error
}

func (hr *hashingReader) Read(p []byte) (int, error) {
	if hr.pos == hr.end {
		if hr.eof != nil {
			return 0, hr.eof
		}
		n, err := hr.r.Read(hr.buf)
		hr.pos, hr.end = 0, n
		if err != nil {
			hr.eof = err
		}
		if n == 0 {
			if err == nil {
				return 0, nil
			}
			return 0, err
		}
	}
	n := copy(p, hr.buf[hr.pos:hr.end])
	hr.h.Write(hr.buf[hr.pos : hr.pos+n])
	hr.pos += n
	hr.n += int64(n)
	return n, nil
}

// drain hashes the rest of the file.
func (hr *hashingReader) drain() error {
	if hr.pos < hr.end {
		hr.h.Write(hr.buf[hr.pos:hr.end])
		hr.n += int64(hr.end - hr.pos)
		hr.pos = hr.end
	}
	if hr.eof != nil {
		if hr.eof == io.EOF {
			return nil
		}
		return hr.eof
	}
	for {
		n, err := hr.r.Read(hr.buf)
		hr.h.Write(hr.buf[:n])
		hr.n += int64(n)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Signature header tags holding the size of the main header plus the
// payload (RPMSIGTAG_SIZE, RPMSIGTAG_LONGSIZE).
const (
	sigTagSize     = 1000
	sigTagLongSize = 270
)

// checkSize compares the file's length with the size its signature header
// records, which catches a package cut inside its payload (or with bytes
// appended) before anything else is read. A package that records no size
// (very old ones) is not checked.
func checkSize(p *rpmhdr.Package, fileSize int64) error {
	want, ok := p.Signature.Number(sigTagLongSize)
	if !ok {
		want, ok = p.Signature.Number(sigTagSize)
	}
	if !ok {
		return nil
	}
	switch got := fileSize - p.HeaderStart; {
	case got < int64(want):
		return fmt.Errorf("%w: file is %d bytes, its signature header says %d",
			rpmhdr.ErrTruncated, fileSize, p.HeaderStart+int64(want))
	case got > int64(want):
		return fmt.Errorf("%w: %d bytes after the end of the payload recorded in the signature header",
			rpmhdr.ErrCorrupt, got-int64(want))
	}
	return nil
}
