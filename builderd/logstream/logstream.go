package logstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Uploader writes data at offset into file name under the hub directory dir,
// truncating the remote file at offset first (Koji's rawUpload with
// overwrite), and verifies what the hub received.
type Uploader interface {
	UploadChunk(ctx context.Context, dir, name string, offset int64, data []byte) error
}

// Defaults of Options.
const (
	DefaultInterval  = time.Second
	DefaultChunkSize = 64 << 10 // Koji's incremental_upload reads 64 KiB at a time
	// DefaultMaxPerSync bounds what one file uploads per pass, so that a huge
	// burst in one log does not stall the others.
	DefaultMaxPerSync = 4 << 20
)

// Options configures a Streamer. Zero values are the defaults.
type Options struct {
	Uploader Uploader // required
	Dir      string   // remote directory, e.g. "tasks/3/123"; required
	// Interval between passes of Run. 0: DefaultInterval.
	Interval time.Duration
	// ChunkSize is the largest single upload. 0: DefaultChunkSize.
	ChunkSize int
	// MaxPerSync bounds the bytes one file uploads per pass. 0: DefaultMaxPerSync.
	MaxPerSync int64
	// Logger; nil discards.
	Logger *slog.Logger
	// OnError is called, outside any lock, when an upload fails; kojid uses
	// it to check at once whether the task was cancelled on the hub.
	OnError func(name string, err error)
}

// Streamer uploads the files added to it. It is safe for concurrent use.
type Streamer struct {
	opts Options
	log  *slog.Logger

	mu    sync.Mutex // serializes passes and guards files
	files []*file
	buf   []byte
}

type file struct {
	name string
	path string
	f    *os.File
	ino  uint64
	// uploaded is how much of the file the hub has.
	uploaded int64
	failures int
}

// New returns a Streamer; it fails without an Uploader or with a bad Dir.
func New(opts Options) (*Streamer, error) {
	if opts.Uploader == nil {
		return nil, errors.New("new log streamer: no uploader")
	}
	if err := checkDir(opts.Dir); err != nil {
		return nil, fmt.Errorf("new log streamer: %w", err)
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = DefaultChunkSize
	}
	if opts.MaxPerSync <= 0 {
		opts.MaxPerSync = DefaultMaxPerSync
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Streamer{opts: opts, log: log, buf: make([]byte, opts.ChunkSize)}, nil
}

func checkDir(dir string) error {
	if dir == "" || strings.HasPrefix(dir, "/") || path.Clean(dir) != dir || dir == ".." || strings.HasPrefix(dir, "../") {
		return fmt.Errorf("bad remote directory %q", dir)
	}
	return nil
}

// CheckName reports whether name can be a remote log name: a plain file
// name, no directories.
func CheckName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") || len(name) > 255 {
		return fmt.Errorf("bad log name %q", name)
	}
	return nil
}

// Add watches the local file at localPath and uploads it as name. The file
// need not exist yet. Adding a name twice is an error.
func (s *Streamer) Add(name, localPath string) error {
	if err := CheckName(name); err != nil {
		return fmt.Errorf("add log: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.files {
		if f.name == name {
			return fmt.Errorf("add log %s: already added", name)
		}
	}
	s.files = append(s.files, &file{name: name, path: localPath})
	return nil
}

// Run syncs every Interval until ctx ends, then returns nil. Call Sync after
// it to upload the last bytes.
func (s *Streamer) Run(ctx context.Context) error {
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			_ = s.Sync(ctx)
		}
	}
}

// Sync uploads what every file gained since the last pass. It returns the
// upload errors of this pass, joined; a failed file is retried next pass from
// where the hub's copy ends.
func (s *Streamer) Sync(ctx context.Context) error {
	type failure struct {
		name string
		err  error
	}
	var fails []failure
	s.mu.Lock()
	for _, f := range s.files {
		if ctx.Err() != nil {
			break
		}
		if err := s.syncFile(ctx, f); err != nil {
			f.failures++
			fails = append(fails, failure{f.name, err})
			s.log.Warn("log upload failed", "log", f.name, "failures", f.failures, "err", err)
		} else {
			f.failures = 0
		}
	}
	s.mu.Unlock()
	var errs []error
	for _, fl := range fails {
		if s.opts.OnError != nil {
			s.opts.OnError(fl.name, fl.err)
		}
		errs = append(errs, fmt.Errorf("upload %s: %w", fl.name, fl.err))
	}
	return errors.Join(errs...)
}

func (s *Streamer) syncFile(ctx context.Context, f *file) error {
	st, err := os.Stat(f.path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // not written yet
		}
		return fmt.Errorf("stat: %w", err)
	}
	var ino uint64
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		ino = sys.Ino
	}
	if f.f == nil || ino != f.ino || st.Size() < f.uploaded {
		if f.f != nil {
			s.log.Info("log restarted, uploading again from the start", "log", f.name,
				"inode", ino, "old_inode", f.ino, "size", st.Size(), "uploaded", f.uploaded)
			f.f.Close()
			f.f = nil
		}
		nf, err := os.Open(f.path)
		if err != nil {
			return fmt.Errorf("open: %w", err)
		}
		restarted := f.uploaded > 0
		f.f, f.ino, f.uploaded = nf, ino, 0
		if restarted && st.Size() == 0 {
			// Truncate the hub's copy too, even with nothing new to send.
			if err := s.opts.Uploader.UploadChunk(ctx, s.opts.Dir, f.name, 0, nil); err != nil {
				return err
			}
		}
	}
	var sent int64
	for sent < s.opts.MaxPerSync {
		n, err := f.f.ReadAt(s.buf, f.uploaded)
		if n > 0 {
			if uerr := s.opts.Uploader.UploadChunk(ctx, s.opts.Dir, f.name, f.uploaded, s.buf[:n]); uerr != nil {
				return uerr
			}
			f.uploaded += int64(n)
			sent += int64(n)
		}
		if errors.Is(err, io.EOF) || n == 0 {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
	}
	return nil
}

// Uploaded returns the names of the logs that have content on the hub,
// sorted, for a task result's "logs".
func (s *Streamer) Uploaded() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, f := range s.files {
		if f.uploaded > 0 {
			out = append(out, f.name)
		}
	}
	sort.Strings(out)
	return out
}

// Close closes the open files. The Streamer must not be used afterwards.
func (s *Streamer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, f := range s.files {
		if f.f != nil {
			errs = append(errs, f.f.Close())
			f.f = nil
		}
	}
	return errors.Join(errs...)
}
