package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"kojigo/repogen"
)

// Config is the parsed command line of `kojira createrepo`.
type Config struct {
	Dir             string
	Pkglist         string
	GroupFile       string
	OutputDir       string
	Update          bool
	UpdateMDPath    string
	SkipStat        bool
	UpdateCache     bool
	Workers         int
	ChangelogLimit  int
	Checksum        string
	CompressType    string
	GeneralCompress string
	Revision        string
	SimpleNames     bool
	UniqueNames     bool
	SkipBad         bool
	ErrorExitVal    bool
	NoDatabase      bool
	Database        bool
	JSONProgress    bool
	NoProgress      bool
	Quiet           bool
	Verbose         bool
}

// changelogUnset marks --changelog-limit as not given.
const changelogUnset = -1 << 31

// Usage is the manual printed by --help.
const Usage = `usage: kojira createrepo [options] DIR

Writes yum/dnf repository metadata (DIR/repodata or OUTPUTDIR/repodata) for
the RPM packages under DIR, like createrepo_c 0.17: primary, filelists and
other as XML, and with -d/--database the sqlite databases that EL7-era yum
reads too (by default they are not written, as createrepo_c >= 1.0 does).
Packages stream through a fixed number of workers, so memory stays flat
whatever the number of packages. The new repodata replaces the old one in a
single rename at the end: a failed or killed run leaves the previous
repodata in place, and the next run removes what it left behind.

A package that cannot be read (truncated, including cut inside its payload:
its length must be what its signature header records; not an RPM; absurd
header sizes; unreadable) fails the run: every bad package is named (the
first 100, then a count) and nothing is published. With --skip-bad they are
left out and named instead.

Compression, as createrepo_c: --compress-type applies to the sqlite
databases (bz2 by default) and to the group file's compressed copy (gz by
default); --general-compress-type applies to everything, the XML files (gz
by default) included, and takes precedence. zstd goes beyond createrepo_c
0.17, which does not know it.

A run holds an flock on OUTPUTDIR/.repodata.lock and removes that file when
it ends; a killed run can leave it behind, unlocked, which does not block
the next run.

Memory: the garbage collector runs with GOGC=50 unless GOGC is set.

Options:
`

// NewFlagSet returns the flag set of `kojira createrepo`, bound to c.
func NewFlagSet(c *Config, errOut io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("kojira createrepo", flag.ContinueOnError)
	fs.SetOutput(errOut)
	str := func(p *string, names, usage string) {
		for _, n := range strings.Split(names, ",") {
			fs.StringVar(p, n, "", usage)
		}
	}
	boolean := func(p *bool, names, usage string) {
		for _, n := range strings.Split(names, ",") {
			fs.BoolVar(p, n, false, usage)
		}
	}
	str(&c.Pkglist, "pkglist,i", "`FILE` listing the packages to index, one path relative to DIR per line")
	str(&c.GroupFile, "groupfile,g", "comps `FILE` to publish as the group metadata")
	str(&c.OutputDir, "outputdir,o", "write repodata/ into `DIR` (must exist) instead of the package directory")
	boolean(&c.Update, "update", "reuse the previous metadata for packages whose path, size and mtime did not change")
	str(&c.UpdateMDPath, "update-md-path", "previous repodata `DIR` for --update (default OUTPUTDIR/repodata)")
	boolean(&c.SkipStat, "skip-stat", "with --update, trust the previous metadata on a path match without stat()")
	boolean(&c.UpdateCache, "update-cache", "keep in repodata (kojigo-cache.* files; with -d, about 1.3x the databases' size) what lets the next --update copy the compressed output of what did not change")
	fs.IntVar(&c.Workers, "workers", 0, "packages read in parallel (default: number of CPUs)")
	c.ChangelogLimit = changelogUnset
	fs.Var(changelogFlag{&c.ChangelogLimit}, "changelog-limit", "keep only the `N` newest changelog entries (default 10; -1 keeps all)")
	str(&c.Checksum, "checksum,s", "checksum `TYPE`: sha256 (default), sha1, sha224, sha384, sha512, md5")
	str(&c.CompressType, "compress-type", "compression `TYPE` of the sqlite databases (default bz2) and of the group file's copy (default gz): gz, bz2, zstd, xz, none")
	str(&c.GeneralCompress, "general-compress-type", "compression `TYPE` of every metadata file, the XML included (default gz): gz, bz2, zstd, xz, none")
	str(&c.Revision, "revision", "repomd.xml revision (default: current Unix time)")
	boolean(&c.SimpleNames, "simple-md-filenames", "name files primary.xml.gz instead of CHECKSUM-primary.xml.gz")
	boolean(&c.UniqueNames, "unique-md-filenames", "name files CHECKSUM-primary.xml.gz (the default)")
	boolean(&c.SkipBad, "skip-bad", "leave out packages that cannot be read, naming them, instead of failing")
	boolean(&c.ErrorExitVal, "error-exit-val", "exit with status 2 when packages were skipped (failing without --skip-bad is the default)")
	boolean(&c.NoDatabase, "no-database", "write no sqlite databases (the default)")
	boolean(&c.Database, "database,d", "also write the sqlite databases (primary_db, filelists_db, other_db), as createrepo_c 0.17 does by default")
	boolean(&c.JSONProgress, "json-progress", "print progress and the result as JSON lines on standard output")
	boolean(&c.NoProgress, "no-progress", "no progress bar on a terminal")
	boolean(&c.Quiet, "quiet,q", "print only errors")
	boolean(&c.Verbose, "verbose,v", "print debug messages")
	fs.Usage = func() {
		fmt.Fprint(errOut, Usage)
		fs.PrintDefaults()
	}
	return fs
}

// shortBools are the one-letter boolean flags that may be combined ("-vd").
const shortBools = "vqd"

// Parse parses the arguments after "createrepo". Options may come before or
// after DIR, and one-letter booleans may be combined, as with createrepo_c.
// It returns flag.ErrHelp after printing the manual for -h/--help.
func Parse(args []string, errOut io.Writer) (*Config, error) {
	c := &Config{}
	fs := NewFlagSet(c, errOut)
	var expanded []string
	for _, a := range args {
		if len(a) > 2 && a[0] == '-' && a[1] != '-' && strings.Trim(a[1:], shortBools) == "" {
			for _, ch := range a[1:] {
				expanded = append(expanded, "-"+string(ch))
			}
			continue
		}
		expanded = append(expanded, a)
	}
	var pos []string
	rest := expanded
	for {
		if err := fs.Parse(rest); err != nil {
			return nil, err
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
	}
	switch len(pos) {
	case 0:
		return nil, errors.New("no package directory given (usage: kojira createrepo [options] DIR)")
	case 1:
		c.Dir = pos[0]
	default:
		return nil, fmt.Errorf("one package directory expected, got %d: %s", len(pos), strings.Join(pos, " "))
	}
	if c.Database && c.NoDatabase {
		return nil, errors.New("--database and --no-database exclude each other")
	}
	if c.SimpleNames && c.UniqueNames {
		return nil, errors.New("--simple-md-filenames and --unique-md-filenames exclude each other")
	}
	if c.Quiet && c.Verbose {
		return nil, errors.New("--quiet and --verbose exclude each other")
	}
	return c, nil
}

// ExitError carries a process exit status other than 1.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Options turns the command line into engine options.
func (c *Config) Options() (repogen.Options, error) {
	o := repogen.Options{
		BaseDir:     c.Dir,
		OutputDir:   c.OutputDir,
		Workers:     c.Workers,
		Checksum:    c.Checksum,
		GroupFile:   c.GroupFile,
		Revision:    c.Revision,
		SimpleNames: c.SimpleNames,
		Update:      c.Update,
		UpdateFrom:  c.UpdateMDPath,
		SkipStat:    c.SkipStat,
		UpdateCache: c.UpdateCache,
		SkipBad:     c.SkipBad,
	}
	o.Database = c.Database
	// As createrepo_c: --compress-type is for the databases and the group
	// file, --general-compress-type for everything and wins.
	for _, f := range []struct {
		flag, value string
		dst         []*repogen.Compression
	}{
		{"--compress-type", c.CompressType, []*repogen.Compression{&o.DatabaseCompression, &o.GroupCompression}},
		{"--general-compress-type", c.GeneralCompress, []*repogen.Compression{&o.Compression, &o.DatabaseCompression, &o.GroupCompression}},
	} {
		if f.value == "" {
			continue
		}
		comp, err := repogen.ParseCompression(f.value)
		if err != nil {
			return o, fmt.Errorf("%s: %w", f.flag, err)
		}
		for _, d := range f.dst {
			*d = comp
		}
	}
	switch {
	case c.ChangelogLimit == changelogUnset:
	case c.ChangelogLimit == 0:
		o.ChangelogLimit = repogen.ChangelogNone
	case c.ChangelogLimit == -1:
		o.ChangelogLimit = repogen.ChangelogAll
	case c.ChangelogLimit < 0:
		return o, fmt.Errorf("--changelog-limit %d: want -1 (all), 0 (none) or a positive number", c.ChangelogLimit)
	default:
		o.ChangelogLimit = c.ChangelogLimit
	}
	if c.Pkglist != "" {
		f, err := os.Open(c.Pkglist)
		if err != nil {
			return o, fmt.Errorf("--pkglist: %w", err)
		}
		defer f.Close()
		list, err := repogen.ReadPkglist(f)
		if err != nil {
			return o, fmt.Errorf("--pkglist %s: %w", c.Pkglist, err)
		}
		if list == nil {
			list = []string{}
		}
		o.Packages = list
	}
	return o, nil
}

// gcPercent is the garbage collector's target used unless GOGC is set: the
// live heap is small and constant (compressors, workers' buffers), so a
// tighter target keeps peak memory low and flat for a few percent of CPU.
const gcPercent = 50

// Run generates the repository described by c. Progress goes to stderr as a
// bar when it is a terminal, or to stdout as JSON lines with --json-progress;
// the summary goes to stdout.
func Run(ctx context.Context, c *Config, stdout, stderr io.Writer) error {
	opts, err := c.Options()
	if err != nil {
		return err
	}
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(gcPercent))
	}
	level := slog.LevelWarn
	switch {
	case c.Quiet:
		level = slog.LevelError
	case c.Verbose:
		level = slog.LevelDebug
	}
	opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})).With("component", "repogen")

	var prog *progress
	switch {
	case c.JSONProgress:
		prog = newProgress(stdout, true)
	case !c.Quiet && !c.NoProgress && isTerminal(stderr):
		prog = newProgress(stderr, false)
	}
	if prog != nil {
		opts.Progress = prog.update
	}
	res, err := repogen.Generate(ctx, opts)
	if prog != nil {
		prog.finish()
	}
	if err != nil {
		if c.JSONProgress {
			writeJSON(stdout, map[string]any{"type": "error", "error": err.Error()})
		}
		return err
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(stderr, "skipped %s\n", s)
	}
	if c.JSONProgress {
		skipped := make([]map[string]string, 0, len(res.Skipped))
		for _, s := range res.Skipped {
			skipped = append(skipped, map[string]string{"path": s.Path, "error": s.Err.Error()})
		}
		writeJSON(stdout, map[string]any{
			"type": "result", "packages": res.Packages, "read": res.Read, "reused": res.Reused,
			"skipped": skipped, "bytes_read": res.BytesRead, "revision": res.Revision,
			"repodata": res.RepodataDir, "seconds": res.Timings.Total.Seconds(), "files": res.Files,
		})
	} else if !c.Quiet {
		fmt.Fprintf(stdout, "%d packages (%d read, %d reused, %d skipped) in %.2fs: %s\n",
			res.Packages, res.Read, res.Reused, len(res.Skipped), res.Timings.Total.Seconds(), res.RepodataDir)
	}
	if len(res.Skipped) > 0 && c.ErrorExitVal {
		return &ExitError{Code: 2, Err: fmt.Errorf("%d packages skipped", len(res.Skipped))}
	}
	return nil
}

func writeJSON(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	w.Write(append(b, '\n'))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress renders the engine's progress callback, at most a few times a
// second.
type progress struct {
	w     io.Writer
	json  bool
	start time.Time
	last  time.Time
	done  int
	total int
	drawn bool
	every time.Duration
	now   func() time.Time
}

func newProgress(w io.Writer, json bool) *progress {
	p := &progress{w: w, json: json, now: time.Now, every: 100 * time.Millisecond}
	if json {
		p.every = 250 * time.Millisecond
	}
	p.start = p.now()
	return p
}

func (p *progress) update(done, total int) {
	p.done, p.total = done, total
	if t := p.now(); done == total || t.Sub(p.last) >= p.every {
		p.last = t
		p.draw()
	}
}

func (p *progress) draw() {
	elapsed := p.now().Sub(p.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.done) / elapsed
	}
	eta := 0.0
	if rate > 0 {
		eta = float64(p.total-p.done) / rate
	}
	if p.json {
		writeJSON(p.w, map[string]any{"type": "progress", "done": p.done, "total": p.total,
			"rate": round1(rate), "eta_seconds": round1(eta)})
		return
	}
	fmt.Fprint(p.w, "\r"+bar(p.done, p.total, rate, eta))
	p.drawn = true
}

func (p *progress) finish() {
	if !p.json && p.drawn {
		fmt.Fprintln(p.w)
	}
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

// bar renders "[=====>    ] 2919/12788  23%  1234 pkg/s  ETA 8s".
func bar(done, total int, rate, eta float64) string {
	const width = 30
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	n := int(frac * width)
	b := strings.Repeat("=", n)
	if n < width {
		b += ">" + strings.Repeat(" ", width-n-1)
	}
	return fmt.Sprintf("[%s] %d/%d %3d%% %6.0f pkg/s ETA %s ", b, done, total, int(frac*100), rate,
		time.Duration(eta*float64(time.Second)).Round(time.Second))
}

// changelogFlag is --changelog-limit: an int whose "not given" value is not
// printed as a default in --help.
type changelogFlag struct{ v *int }

func (f changelogFlag) String() string {
	if f.v == nil || *f.v == changelogUnset {
		return ""
	}
	return strconv.Itoa(*f.v)
}

func (f changelogFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("want an integer")
	}
	*f.v = n
	return nil
}
