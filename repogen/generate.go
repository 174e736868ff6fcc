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
// left. Package errors are *PackageError values.
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
	list, res.Duplicates, err = sortPackages(list)
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
	var stats [3]mdStat
	reusedAll := false
	if v.Update {
		if r := v.unchangedRepo(list); r != nil {
			if stats, err = v.publishReused(pub.tmp, r); err != nil {
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

	var old *oldRepo
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
		}
	}

	if !reusedAll {
		if stats, err = v.generate(ctx, list, old, pub.tmp, &res); err != nil {
			return Result{}, err
		}
	}
	t2 := time.Now()
	res.Timings.Generate = t2.Sub(t1)

	files, err := v.finishFiles(pub.tmp, stats, res.Packages, len(list))
	if err != nil {
		return Result{}, err
	}
	res.Files = files
	res.Revision = v.Revision
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
func (v *validated) generate(ctx context.Context, list []string, old *oldRepo, dir string, res *Result) ([3]mdStat, error) {
	var stats [3]mdStat
	kinds := [3]mdKind{mdPrimary, mdFilelists, mdOther}
	var writers [3]*mdWriter
	for i, k := range kinds {
		w, err := createMD(filepath.Join(dir, k.typ+".xml"+v.Compression.suffix()), v.Compression, v.CompressionLevel, v.newHash)
		if err != nil {
			for _, w := range writers[:i] {
				w.abort()
			}
			return stats, err
		}
		writers[i] = w
	}
	ok := false
	defer func() {
		if !ok {
			for _, w := range writers {
				w.abort()
			}
		}
	}()

	window := v.window
	free := make(chan *item, window)
	for range window {
		free <- new(item)
	}
	jobs := make(chan *item, window)
	results := make(chan *item, window)
	var toWriter [3]chan *item
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
					if !v.SkipBad {
						return perr
					}
					v.Logger.Info("package skipped", "path", x.href, "err", x.err)
					skipped = append(skipped, perr)
					free <- x
				} else {
					if x.reused {
						reused.Add(1)
					} else {
						read.Add(1)
					}
					written.Add(1)
					x.refs.Store(3)
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
		return ctx.Err()
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
				var part []byte
				switch i {
				case 0:
					part = x.out.primary
				case 1:
					part = x.out.filelists
				default:
					part = x.out.other
				}
				write(part)
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
			stats[i] = st
			return nil
		})
	}

	if err := g.Wait(); err != nil {
		return stats, err
	}
	ok = true
	res.Packages = int(written.Load())
	res.Read = int(read.Load())
	res.Reused = int(reused.Load())
	res.Skipped = skipped
	res.BytesRead = nbytes
	return stats, nil
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
		enc: newEncoder(v.ChangelogLimit),
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
