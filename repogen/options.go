package repogen

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"kojigo/internal/rpmhdr"
)

// Changelog limits with a special meaning for Options.ChangelogLimit.
const (
	// ChangelogAll keeps every changelog entry.
	ChangelogAll = -1
	// ChangelogNone writes no changelog entries.
	ChangelogNone = -2
	// DefaultChangelogLimit is createrepo_c's default.
	DefaultChangelogLimit = 10
)

// Options configure one Generate run. The zero value of every field is a
// documented default; BaseDir is the only required field.
type Options struct {
	// BaseDir is the directory the packages live in; package paths and the
	// metadata's location hrefs are relative to it. Required.
	BaseDir string
	// Packages lists the packages to index, as paths relative to BaseDir
	// (a Koji pkglist). Nil means: every *.rpm file under BaseDir. A non-nil
	// empty list makes a repository without packages.
	Packages []string
	// OutputDir receives repodata/. Empty means BaseDir.
	OutputDir string

	// Workers is the number of packages read at the same time. Zero means
	// the number of CPUs. Memory grows with it, not with the package count.
	Workers int
	// Checksum is the package and metadata checksum type: sha256 (default),
	// sha1, sha224, sha384, sha512 or md5.
	Checksum string
	// Compression of primary, filelists and other (createrepo_c's
	// --general-compress-type). Zero means gzip.
	Compression Compression
	// CompressionLevel is passed to the XML files' compressor; zero means
	// its default (for gzip, a level that compresses like zlib's default,
	// which createrepo_c uses).
	CompressionLevel int
	// Database also writes the sqlite databases primary_db, filelists_db
	// and other_db (createrepo_c's --database), in createrepo_c's schema.
	Database bool
	// DatabaseCompression is the compression of the databases
	// (createrepo_c's --compress-type). Zero means bzip2, createrepo_c's
	// default.
	DatabaseCompression Compression
	// GroupCompression is the compression of the group file's compressed
	// copy (createrepo_c's --compress-type). Zero means gzip.
	GroupCompression Compression
	// ChangelogLimit is how many of the newest changelog entries each
	// package keeps in other.xml. Zero means DefaultChangelogLimit; see
	// ChangelogAll and ChangelogNone.
	ChangelogLimit int
	// GroupFile is a comps file to publish as "group" (plus a compressed
	// copy as "group_gz" or the like). Empty means none.
	GroupFile string
	// Revision is repomd.xml's revision. Empty means the current Unix time.
	Revision string
	// SimpleNames writes primary.xml.gz instead of <checksum>-primary.xml.gz.
	SimpleNames bool
	// Subrepo lets package paths start with "../": the packages of a
	// Koji subrepo (a dist repo's debug/) are in its parent's Packages/.
	Subrepo bool

	// Update reuses the previous metadata for packages whose path, size and
	// modification time are unchanged, instead of reading them again. The
	// previous metadata is streamed, never loaded whole.
	Update bool
	// UpdateFrom is the repodata directory of the previous metadata. Empty
	// means OutputDir/repodata.
	UpdateFrom string
	// SkipStat, with Update, reuses previous metadata on a path match alone,
	// without comparing size and modification time.
	SkipStat bool
	// UpdateCache keeps in repodata, as files named kojigo-cache.*, what
	// lets the next Update copy the compressed output of what did not
	// change instead of making it again: the chunk lists of the gzip XML
	// files (written in chunks of packages, about 2% bigger), and with
	// Database the raw databases (zstd, about 1.3 times the size of the
	// published databases) and the block lists of their bzip2 files (64
	// KiB blocks, about 12% bigger), so that the databases change in place
	// and only their changed blocks compress.
	UpdateCache bool

	// SkipBad leaves out packages that cannot be read, listing them in
	// Result.Skipped. By default such a package fails the run and nothing
	// is published.
	SkipBad bool
	// MaxHeaderBytes bounds each RPM header; zero means
	// rpmhdr.DefaultMaxHeaderBytes. A bigger header is a bad package.
	MaxHeaderBytes int64

	// Progress, when set, is called after each package with the number of
	// packages done and the total. It is called from one goroutine, in
	// order, and must return quickly.
	Progress func(done, total int)
	// Finished, when set, is called with the path of each file of the new
	// repodata as soon as it is complete, from any goroutine and before
	// Generate returns, so that a caller can send it on while the run goes
	// on. The path is in a temporary directory renamed at the end: open or
	// link the file before returning. Not every file is reported
	// (repomd.xml, written last, never is), and a run that fails may have
	// reported files it does not publish.
	Finished func(path string)
	// Logger receives warnings and a summary. Nil means no logging.
	Logger *slog.Logger

	// now is the clock; tests set it.
	now func() time.Time
}

// validated holds Options after defaults were applied.
type validated struct {
	Options
	hashName string
	newHash  hashFunc
	window   int
	cache    cacheCounters
}

// ErrInvalidOptions is wrapped by every option validation error.
var ErrInvalidOptions = errors.New("invalid options")

func (o Options) validate() (*validated, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, args...))
	}
	if o.BaseDir == "" {
		return nil, bad("no package directory given")
	}
	st, err := os.Stat(o.BaseDir)
	if err != nil {
		return nil, bad("package directory: %v", err)
	}
	if !st.IsDir() {
		return nil, bad("package directory %s is not a directory", o.BaseDir)
	}
	if o.OutputDir == "" {
		o.OutputDir = o.BaseDir
	}
	st, err = os.Stat(o.OutputDir)
	if err != nil {
		return nil, bad("output directory: %v", err)
	}
	if !st.IsDir() {
		return nil, bad("output directory %s is not a directory", o.OutputDir)
	}
	if o.Workers < 0 {
		return nil, bad("workers %d is negative", o.Workers)
	}
	if o.Workers == 0 {
		o.Workers = runtime.NumCPU()
	}
	if o.Workers > 256 {
		return nil, bad("workers %d is more than 256", o.Workers)
	}
	if o.Compression == "" {
		o.Compression = CompressGzip
	}
	if o.DatabaseCompression == "" {
		o.DatabaseCompression = CompressBzip2
	}
	if o.GroupCompression == "" {
		o.GroupCompression = CompressGzip
	}
	for _, c := range []Compression{o.Compression, o.DatabaseCompression, o.GroupCompression} {
		if _, err := ParseCompression(string(c)); err != nil {
			return nil, bad("%v", err)
		}
	}
	switch {
	case o.ChangelogLimit == 0:
		o.ChangelogLimit = DefaultChangelogLimit
	case o.ChangelogLimit == ChangelogNone:
		o.ChangelogLimit = 0
	case o.ChangelogLimit == ChangelogAll:
	case o.ChangelogLimit < 0:
		return nil, bad("changelog limit %d is negative", o.ChangelogLimit)
	}
	if o.MaxHeaderBytes < 0 {
		return nil, bad("max header bytes %d is negative", o.MaxHeaderBytes)
	}
	if o.MaxHeaderBytes == 0 {
		o.MaxHeaderBytes = rpmhdr.DefaultMaxHeaderBytes
	}
	nh, name, err := newHash(o.Checksum)
	if err != nil {
		return nil, bad("%v", err)
	}
	if o.GroupFile != "" {
		st, err := os.Stat(o.GroupFile)
		if err != nil {
			return nil, bad("group file: %v", err)
		}
		if !st.Mode().IsRegular() {
			return nil, bad("group file %s is not a regular file", o.GroupFile)
		}
	}
	if o.Update && o.UpdateFrom == "" {
		o.UpdateFrom = filepath.Join(o.OutputDir, "repodata")
	}
	if o.SkipStat && !o.Update {
		return nil, bad("skip-stat only applies to an update")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.Revision == "" {
		o.Revision = fmt.Sprint(o.now().Unix())
	}
	return &validated{Options: o, hashName: name, newHash: nh, window: max(4*o.Workers, 16)}, nil
}
