package repogen

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/fnv"
	"html"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// Merge is Koji's mergerepos step (mergerepo_c --koji, as kojid runs it
// after createrepo when a tag has external repositories): the metadata of
// a local repository (the tag's own packages, written by Generate) and of
// external repositories, in priority order, become one repository.
//
// It streams. Each repository's primary.xml is read once to pick the
// winning source package per SRPM name (koji mode), once to decide which
// packages stay, and once more, in lock step with filelists and other, to
// write the merged files; what is kept in memory is one entry per SRPM
// name, a 16-byte key per kept package (to drop repeats), and one bit per
// package. The merged packages are in repository order (the local one
// first), each repository's in the order of its primary.xml. External
// packages keep their remote location: their <location> gets
// xml:base="<repository URL>", so dnf downloads them from there.
//
// External metadata is downloaded into WorkDir first (its checksums
// checked against repomd.xml), so every pass reads the same bytes.

// MergeMode is an external repository's merge_mode in Koji.
type MergeMode string

const (
	// MergeKoji is mergerepo_c --koji: per SRPM name, the first repository
	// that has a build of it decides which build's packages are kept;
	// blocked SRPM names are left out; a package whose name, version,
	// release and arch were already merged is left out.
	MergeKoji MergeMode = "koji"
	// MergeSimple is mergerepo_c --koji --simple: only blocked SRPM names
	// are left out; every other package of every repository is kept.
	MergeSimple MergeMode = "simple"
	// MergeBare is mergerepo_c --pkgorigins --all: every package of every
	// repository, without a blocklist; exact repeats (same name, epoch,
	// version, release and arch) are left out.
	MergeBare MergeMode = "bare"
)

// ParseMergeMode accepts Koji's merge_mode values; empty means koji.
func ParseMergeMode(s string) (MergeMode, error) {
	switch MergeMode(s) {
	case "", MergeKoji:
		return MergeKoji, nil
	case MergeSimple, MergeBare:
		return MergeMode(s), nil
	}
	return "", fmt.Errorf("unknown merge mode %q (koji, simple or bare)", s)
}

// MergeOptions configure one Merge run.
type MergeOptions struct {
	// LocalRepo is the directory whose repodata/ holds the tag's own
	// packages; their hrefs stay relative. Required.
	LocalRepo string
	// LocalOrigin is the local packages' URL in pkgorigins. Empty means
	// file://<LocalRepo>/ (what kojid's buildroots look for).
	LocalOrigin string
	// External lists the repositories to merge, in priority order.
	External []ExternalRepo
	// Mode is the merge mode; empty means MergeKoji.
	Mode MergeMode
	// Arch is the arch of the repository made: only packages of its
	// compatible arches (mergerepo_c's --arch-expand list, with multilib)
	// and noarch are merged; for "src", source packages and noarch. Required.
	Arch string
	// BlocklistFile lists blocked SRPM names, one a line (Koji's
	// <arch>/blocklist). Empty means none; ignored in bare mode.
	BlocklistFile string
	// OutputDir receives repodata/. Required.
	OutputDir string
	// WorkDir receives the downloaded metadata, removed at the end. Empty
	// means a new directory under the system's temporary directory.
	WorkDir string
	// GroupFile, Database, Revision, Compression: as in Options.
	GroupFile   string
	Database    bool
	Revision    string
	Compression Compression

	// Client fetches http and https URLs. Nil means a client that follows
	// up to 10 redirects, to http and https only.
	Client *http.Client
	// FetchTimeout bounds each download; zero means DefaultFetchTimeout.
	FetchTimeout time.Duration
	// MaxRepomdBytes, MaxMetadataBytes and MaxOpenBytes bound repomd.xml,
	// each downloaded metadata file, and each metadata file decompressed;
	// zero means the Default* constants.
	MaxRepomdBytes, MaxMetadataBytes, MaxOpenBytes int64

	// Progress, when set, is called with the packages looked at in the
	// final pass and their total (every package of every repository).
	Progress func(done, total int)
	// Logger receives what was merged. Nil means no logging.
	Logger *slog.Logger
}

// MergeResult describes a finished merge.
type MergeResult struct {
	// Packages is the number of packages in the merged metadata.
	Packages int
	// Repos tells, per repository (the local one first), how many packages
	// it had and how many were merged.
	Repos []MergedRepo
	// RepodataDir is the published repodata directory.
	RepodataDir string
	// Files are the metadata files listed in repomd.xml.
	Files    []MetadataFile
	Revision string
	Took     time.Duration
}

// MergedRepo is one repository's share of a merge.
type MergedRepo struct {
	URL            string
	Packages, Kept int
}

// mdSource is one repository of a merge, its metadata on local disk.
type mdSource struct {
	label  string // for messages
	origin string // its URL in pkgorigins
	base   string // xml:base for its packages; "" keeps them relative
	local  bool   // base is a file:// URL
	files  [3]string
	keep   []uint64 // decision per package, in primary.xml order
	count  int
	kept   int
}

// Merge writes the merged metadata into OutputDir/repodata, published
// with the same atomic swap as Generate.
func Merge(ctx context.Context, mo MergeOptions) (MergeResult, error) {
	t0 := time.Now()
	if mo.LocalRepo == "" {
		return MergeResult{}, fmt.Errorf("%w: no local repository given", ErrInvalidOptions)
	}
	if mo.OutputDir == "" {
		return MergeResult{}, fmt.Errorf("%w: no output directory given", ErrInvalidOptions)
	}
	mode, err := ParseMergeMode(string(mo.Mode))
	if err != nil {
		return MergeResult{}, fmt.Errorf("%w: %v", ErrInvalidOptions, err)
	}
	arches, err := mergeArches(mo.Arch)
	if err != nil {
		return MergeResult{}, fmt.Errorf("%w: %v", ErrInvalidOptions, err)
	}
	for _, lim := range []*int64{&mo.MaxRepomdBytes, &mo.MaxMetadataBytes, &mo.MaxOpenBytes} {
		if *lim < 0 {
			return MergeResult{}, fmt.Errorf("%w: negative size limit", ErrInvalidOptions)
		}
	}
	mo.MaxRepomdBytes = orDefault(mo.MaxRepomdBytes, DefaultMaxRepomdBytes)
	mo.MaxMetadataBytes = orDefault(mo.MaxMetadataBytes, DefaultMaxMetadataBytes)
	mo.MaxOpenBytes = orDefault(mo.MaxOpenBytes, DefaultMaxOpenBytes)
	if mo.FetchTimeout < 0 {
		return MergeResult{}, fmt.Errorf("%w: negative fetch timeout", ErrInvalidOptions)
	}
	if mo.FetchTimeout == 0 {
		mo.FetchTimeout = DefaultFetchTimeout
	}
	if mo.Client == nil {
		mo.Client = newHTTPClient()
	}
	v, err := Options{BaseDir: mo.LocalRepo, OutputDir: mo.OutputDir, GroupFile: mo.GroupFile,
		Database: mo.Database, Revision: mo.Revision, Compression: mo.Compression, Logger: mo.Logger}.validate()
	if err != nil {
		return MergeResult{}, err
	}
	log := v.Logger
	var blocked map[string]bool
	if mo.BlocklistFile != "" && mode != MergeBare {
		if blocked, err = readBlocklist(mo.BlocklistFile); err != nil {
			return MergeResult{}, err
		}
	}

	local, err := localSource(mo.LocalRepo)
	if err != nil {
		return MergeResult{}, err
	}
	local.origin = mo.LocalOrigin
	if local.origin == "" {
		local.origin = "file://" + filepath.ToSlash(strings.TrimSuffix(mo.LocalRepo, "/")) + "/"
	}
	sources := []*mdSource{local}

	work := mo.WorkDir
	if work == "" {
		if work, err = os.MkdirTemp("", "kojigo-merge-"); err != nil {
			return MergeResult{}, fmt.Errorf("create download directory: %w", err)
		}
		defer os.RemoveAll(work)
	}
	f := &fetcher{client: mo.Client, timeout: mo.FetchTimeout, maxRepomd: mo.MaxRepomdBytes, maxFile: mo.MaxMetadataBytes}
	for i, ext := range mo.External {
		raw := strings.ReplaceAll(ext.URL, "$arch", mo.Arch)
		dir := filepath.Join(work, "external-"+strconv.Itoa(i+1))
		defer os.RemoveAll(dir)
		log.Info("fetching external repo metadata", "name", ext.Name, "url", raw)
		r, err := f.fetchRepo(ctx, raw, dir)
		if err != nil {
			return MergeResult{}, err
		}
		label := "external repo " + raw
		if ext.Name != "" {
			label = "external repo " + ext.Name + " (" + raw + ")"
		}
		sources = append(sources, &mdSource{label: label, origin: r.url, base: r.base, local: r.local, files: r.files})
	}
	for _, s := range sources {
		if s.label == "" {
			s.label = "local repo " + mo.LocalRepo
		}
	}

	m := &merger{mode: mode, arches: arches, blocked: blocked, maxOpen: mo.MaxOpenBytes, log: log}
	if mode == MergeKoji {
		if err := m.pickBuilds(ctx, sources); err != nil {
			return MergeResult{}, err
		}
	}
	total, kept, err := m.decide(ctx, sources)
	if err != nil {
		return MergeResult{}, err
	}

	pub, err := beginPublish(v.OutputDir, log)
	if err != nil {
		return MergeResult{}, err
	}
	defer pub.release()
	stats, dbs, origins, err := m.write(ctx, v, pub.tmp, sources, total, kept, mo.Progress)
	defer func() {
		for _, d := range dbs {
			d.abort()
		}
	}()
	if err != nil {
		return MergeResult{}, err
	}
	files, err := v.finishFiles(ctx, pub.tmp, stats, dbs, [3]*prevDB{}, [3]mdStat{}, kept, kept)
	if err != nil {
		return MergeResult{}, err
	}
	mf, err := v.place(pub.tmp, origins, "pkgorigins.gz", CompressGzip)
	if err != nil {
		return MergeResult{}, err
	}
	mf.Type = "origin"
	files = append(files, mf)
	if err := writeRepomd(filepath.Join(pub.tmp, "repomd.xml"), v.Revision, v.hashName, files); err != nil {
		return MergeResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return MergeResult{}, err
	}
	res := MergeResult{Packages: kept, Files: files, Revision: v.Revision}
	if res.RepodataDir, err = pub.commit(); err != nil {
		return MergeResult{}, err
	}
	for _, s := range sources {
		res.Repos = append(res.Repos, MergedRepo{URL: s.origin, Packages: s.count, Kept: s.kept})
		log.Info("merged", "repo", s.label, "packages", s.count, "kept", s.kept)
	}
	res.Took = time.Since(t0)
	log.Info("merged repodata written", "dir", res.RepodataDir, "mode", string(mode), "packages", kept, "took", res.Took)
	return res, nil
}

func orDefault(v, def int64) int64 {
	if v == 0 {
		return def
	}
	return v
}

// localSource opens the local repository's metadata (Generate's output).
func localSource(dir string) (*mdSource, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	if err != nil {
		return nil, fmt.Errorf("local repository: %w", err)
	}
	var doc repomdDoc
	if err := xml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("local repository: parse repomd.xml: %w", err)
	}
	s := &mdSource{}
	for i, typ := range []string{"primary", "filelists", "other"} {
		for _, d := range doc.Data {
			if d.Type == typ {
				if !filepath.IsLocal(d.Location.Href) {
					return nil, fmt.Errorf("local repository: %s location %q leaves the repository", typ, d.Location.Href)
				}
				s.files[i] = filepath.Join(dir, filepath.FromSlash(d.Location.Href))
			}
		}
		if s.files[i] == "" {
			return nil, fmt.Errorf("local repository: repomd.xml has no %s entry", typ)
		}
	}
	return s, nil
}

// maxBlocklistBytes bounds a blocklist file.
const maxBlocklistBytes = 64 << 20

// readBlocklist reads SRPM names, one a line; blank lines are ignored.
func readBlocklist(p string) (map[string]bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("blocklist: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("blocklist %s is not a regular file", p)
	} else if st.Size() > maxBlocklistBytes {
		return nil, fmt.Errorf("blocklist %s is %d bytes, more than the limit of %d", p, st.Size(), maxBlocklistBytes)
	}
	names := map[string]bool{}
	sc := bufio.NewScanner(io.LimitReader(f, maxBlocklistBytes))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for line := 1; sc.Scan(); line++ {
		if n := strings.TrimSpace(sc.Text()); n != "" {
			if strings.ContainsAny(n, " \t\x00") {
				return nil, fmt.Errorf("blocklist %s:%d: %q is not a package name", p, line, n)
			}
			names[n] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("blocklist %s: %w", p, err)
	}
	return names, nil
}

// mergeArches is mergerepo_c's arch list for -a arch --arch-expand (or
// --koji): the arch, its expansions, its multilib arch with expansions,
// and noarch.
func mergeArches(arch string) (map[string]bool, error) {
	if arch == "" || strings.ContainsAny(arch, " /\t\n\x00") {
		return nil, fmt.Errorf("bad arch %q", arch)
	}
	expand := map[string][]string{
		"i386":    {"i486", "i586", "geode", "i686", "athlon"},
		"x86_64":  {"ia32e", "amd64"},
		"ppc64":   {"ppc64pseries", "ppc64iseries"},
		"sparc64": {"sparc64v", "sparc64v2"},
		"sparc":   {"sparcv8", "sparcv9", "sparcv9v", "sparcv9v2"},
		"alpha":   {"alphaev4", "alphaev45", "alphaev5", "alphaev56", "alphapca56", "alphaev6", "alphaev67", "alphaev68", "alphaev7"},
		"armhfp":  {"armv7hl", "armv7hnl"},
		"arm":     {"armv5tel", "armv5tejl", "armv6l", "armv7l"},
		"sh4":     {"sh4a"},
	}
	multilib := map[string]string{"x86_64": "i386", "ppc64": "ppc", "s390x": "s390"}
	set := map[string]bool{"noarch": true}
	add := func(a string) {
		set[a] = true
		for _, e := range expand[a] {
			set[e] = true
		}
	}
	add(arch)
	if ml, ok := multilib[arch]; ok {
		add(ml)
	}
	return set, nil
}

// merger holds the merge rules and what they remember.
type merger struct {
	mode    MergeMode
	arches  map[string]bool
	blocked map[string]bool
	maxOpen int64
	log     *slog.Logger

	builds map[string]srpmBuild // koji: the winning build per SRPM name
	seen   map[[16]byte]struct{}
	facts  pkgFacts
	sc     fragScanner
}

// srpmBuild is the build chosen for an SRPM name.
type srpmBuild struct {
	repo  int
	srpm  string // the full file name, as packages record it
	nevra nevr
}

// scan streams the package records of one metadata file of s.
func (m *merger) scan(s *mdSource, kind int) (*bufio.Scanner, func(), error) {
	f, err := os.Open(s.files[kind])
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", s.label, err)
	}
	dec, err := newDecompressor(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%w: %s: %s: %v", ErrExternalRepo, s.label, [3]string{"primary", "filelists", "other"}[kind], err)
	}
	sc := bufio.NewScanner(&capReader{r: dec, left: m.maxOpen})
	sc.Buffer(make([]byte, 0, 256<<10), maxRecord)
	sc.Split(splitPackages)
	return sc, func() { dec.Close(); f.Close() }, nil
}

// badMeta wraps an error about a repository's metadata.
func badMeta(s *mdSource, what string, n int, err error) error {
	return fmt.Errorf("%w: %s: %s, package %d: %v (regenerate that repository's metadata, or remove it from the tag)",
		ErrExternalRepo, s.label, what, n, err)
}

// pickBuilds is koji mode's first pass (mergerepo_c's koji_stuff_prepare):
// for every SRPM name, the first repository with a package built from it
// wins, and within that repository the newest such build.
func (m *merger) pickBuilds(ctx context.Context, sources []*mdSource) error {
	m.builds = map[string]srpmBuild{}
	for ri, s := range sources {
		sc, done, err := m.scan(s, 0)
		if err != nil {
			return err
		}
		n := 0
		for sc.Scan() {
			n++
			if n%1024 == 0 && ctx.Err() != nil {
				done()
				return ctx.Err()
			}
			if err := parsePkgFacts(&m.sc, sc.Bytes(), &m.facts); err != nil {
				done()
				return badMeta(s, "primary", n, err)
			}
			p := &m.facts
			if p.srpm == "" {
				continue
			}
			v, ok := splitSRPM(p.srpm)
			if !ok {
				continue
			}
			if old, ok := m.builds[v.name]; ok && (old.repo != ri || compareNEVR(v, old.nevra) <= 0) {
				continue
			}
			m.builds[v.name] = srpmBuild{repo: ri, srpm: p.srpm, nevra: v}
		}
		err = sc.Err()
		done()
		if err != nil {
			return badMeta(s, "primary", n+1, err)
		}
	}
	return nil
}

// decide is the second pass: which packages stay (mergerepo_c's arch
// check, koji_allowed and add_package, in that order).
func (m *merger) decide(ctx context.Context, sources []*mdSource) (total, kept int, err error) {
	m.seen = map[[16]byte]struct{}{}
	defer func() { m.seen = nil }()
	for _, s := range sources {
		sc, done, err := m.scan(s, 0)
		if err != nil {
			return 0, 0, err
		}
		n := 0
		for sc.Scan() {
			if n%1024 == 0 && ctx.Err() != nil {
				done()
				return 0, 0, ctx.Err()
			}
			if err := parsePkgFacts(&m.sc, sc.Bytes(), &m.facts); err != nil {
				done()
				return 0, 0, badMeta(s, "primary", n+1, err)
			}
			if m.allowed(&m.facts) {
				if s.base != "" {
					if err := checkLocation(s, &m.facts); err != nil {
						done()
						return 0, 0, badMeta(s, "primary", n+1, err)
					}
				}
				if n/64 >= len(s.keep) {
					s.keep = append(s.keep, make([]uint64, n/64+1-len(s.keep))...)
				}
				s.keep[n/64] |= 1 << (n % 64)
				s.kept++
			}
			n++
		}
		err = sc.Err()
		done()
		if err != nil {
			return 0, 0, badMeta(s, "primary", n+1, err)
		}
		s.count = n
		total += n
		kept += s.kept
	}
	return total, kept, nil
}

func (s *mdSource) keeps(n int) bool {
	return n/64 < len(s.keep) && s.keep[n/64]&(1<<(n%64)) != 0
}

// allowed applies the mode's rules to one package.
func (m *merger) allowed(p *pkgFacts) bool {
	if !m.arches[p.arch] {
		return false
	}
	if p.srpm != "" {
		v, ok := splitSRPM(p.srpm)
		if !ok {
			return false // mergerepo_c leaves out a package with an unreadable sourcerpm
		}
		if m.blocked[v.name] {
			return false
		}
		if m.mode == MergeKoji && m.builds[v.name].srpm != p.srpm {
			return false
		}
	}
	var key []byte
	switch m.mode {
	case MergeKoji: // same name, version, release and arch
		key = fmt.Appendf(nil, "%s\x00%s\x00%s\x00%s", p.name, p.ver, p.rel, p.arch)
	case MergeBare: // same name, epoch, version, release and arch
		epoch := p.epoch
		if epoch == "" {
			epoch = "0"
		}
		key = fmt.Appendf(nil, "%s\x00%s\x00%s\x00%s\x00%s", p.name, epoch, p.ver, p.rel, p.arch)
	default:
		return true
	}
	h := fnv.New128a()
	h.Write(key)
	var k [16]byte
	h.Sum(k[:0])
	if _, dup := m.seen[k]; dup {
		return false
	}
	m.seen[k] = struct{}{}
	return true
}

// checkLocation refuses an external package whose location could point
// outside its repository.
func checkLocation(s *mdSource, p *pkgFacts) error {
	if p.base != "" {
		// The repository is itself a merge: keep its base, when it is a
		// remote URL (a file:// base only from a file:// repository).
		u, err := parseRepoURL(p.base)
		if err != nil || (u.Scheme == "file" && !s.local) {
			return fmt.Errorf("package %s: xml:base %q is not an allowed repository URL", p.name, p.base)
		}
	}
	if err := safeHref(p.href); err != nil {
		return fmt.Errorf("package %s: %v", p.name, err)
	}
	return nil
}

// pkgFacts is what the merge rules read from a primary record.
type pkgFacts struct {
	name, arch, epoch, ver, rel, srpm, pkgid string
	href, base                               string
	locStart, locEnd                         int // the <location> start tag
	locEmpty                                 bool
}

// parsePkgFacts reads one primary.xml <package> record.
func parsePkgFacts(sc *fragScanner, rec []byte, p *pkgFacts) error {
	*p = pkgFacts{locStart: -1}
	sc.reset(rec)
	var buf []byte
	text := func() string {
		buf = unescapeXML(buf[:0], sc.text, false)
		return strings.TrimSpace(string(buf))
	}
	var haveName, haveArch, haveSum, haveSRPM, haveVer bool
	for {
		ok, err := sc.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch {
		case sc.end:
			switch string(sc.name) {
			case "name":
				if !haveName {
					p.name, haveName = text(), true
				}
			case "arch":
				if !haveArch {
					p.arch, haveArch = text(), true
				}
			case "checksum":
				if !haveSum {
					p.pkgid, haveSum = text(), true
				}
			case "rpm:sourcerpm":
				if !haveSRPM {
					p.srpm, haveSRPM = text(), true
				}
			}
		case sc.is("version") && !haveVer:
			haveVer = true
			p.epoch, _ = sc.attr("epoch")
			p.ver, _ = sc.attr("ver")
			p.rel, _ = sc.attr("rel")
		case sc.is("location") && p.locStart < 0:
			p.locEnd = sc.i
			p.locStart = cap(sc.b) - cap(sc.text) + len(sc.text)
			p.locEmpty = sc.empty
			p.href, _ = sc.attr("href")
			p.base, _ = sc.attr("xml:base")
		}
	}
	switch {
	case p.name == "":
		return fmt.Errorf("%w: a package without a name", errBadMetadata)
	case p.arch == "":
		return fmt.Errorf("%w: package %s has no arch", errBadMetadata, p.name)
	case p.pkgid == "":
		return fmt.Errorf("%w: package %s has no checksum", errBadMetadata, p.name)
	case p.locStart < 0 || p.href == "":
		return fmt.Errorf("%w: package %s has no location", errBadMetadata, p.name)
	}
	return nil
}

// nevr is a split source rpm file name.
type nevr struct{ name, epoch, ver, rel string }

// splitSRPM splits name-[epoch:]version-release.arch.rpm, as createrepo_c's
// cr_split_rpm_filename.
func splitSRPM(s string) (nevr, bool) {
	s = strings.TrimSuffix(s, ".rpm")
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	var v nevr
	i := strings.LastIndexByte(s, '-')
	if i <= 0 {
		return v, false
	}
	v.rel, s = s[i+1:], s[:i]
	i = strings.LastIndexByte(s, '-')
	if i <= 0 {
		return v, false
	}
	v.ver, v.name = s[i+1:], s[:i]
	if e, rest, ok := strings.Cut(v.ver, ":"); ok {
		v.epoch, v.ver = e, rest
	} else if e, rest, ok := strings.Cut(v.name, ":"); ok {
		v.epoch, v.name = e, rest
	}
	if v.name == "" || v.ver == "" || v.rel == "" {
		return v, false
	}
	return v, true
}

func compareNEVR(a, b nevr) int {
	ea, eb := a.epoch, b.epoch
	if ea == "" {
		ea = "0"
	}
	if eb == "" {
		eb = "0"
	}
	if c := vercmp(ea, eb); c != 0 {
		return c
	}
	if c := vercmp(a.ver, b.ver); c != 0 {
		return c
	}
	return vercmp(a.rel, b.rel)
}

// capReader fails a read past its limit instead of growing without end.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1] // one byte more than allowed tells the limit was passed
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, errors.New("more metadata than the limit allows once decompressed")
	}
	return n, err
}

// mergeItem carries one kept package to the writers.
type mergeItem struct {
	frag   [3][]byte
	origin []byte
	refs   atomic.Int32
}

// write is the final pass: the kept packages' records, in order, into
// the three XML files, the databases and pkgorigins.
func (m *merger) write(ctx context.Context, v *validated, dir string, sources []*mdSource, total, kept int,
	progress func(done, total int)) (stats [3]mdStat, dbs [3]*dbWriter, origins mdStat, err error) {
	kinds := [3]mdKind{mdPrimary, mdFilelists, mdOther}
	var writers [4]*mdWriter
	defer func() {
		if err != nil {
			for _, w := range writers {
				if w != nil {
					w.abort()
				}
			}
		}
	}()
	for i, k := range kinds {
		if writers[i], err = createMD(filepath.Join(dir, k.typ+".xml"+v.Compression.suffix()), v.Compression, v.CompressionLevel, v.newHash); err != nil {
			return
		}
	}
	if writers[3], err = createMD(filepath.Join(dir, "pkgorigins.work.gz"), CompressGzip, 0, v.newHash); err != nil {
		return
	}
	consumers := 4
	if v.Database {
		consumers = 7
		for i, k := range kinds {
			if dbs[i], err = openDB(ctx, filepath.Join(dir, k.typ+".work.sqlite"), k.typ, false); err != nil {
				return
			}
		}
	}

	const window = 64
	free := make(chan *mergeItem, window)
	for range window {
		free <- new(mergeItem)
	}
	chans := make([]chan *mergeItem, consumers)
	for i := range chans {
		chans[i] = make(chan *mergeItem, window)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer func() {
			for _, c := range chans {
				close(c)
			}
		}()
		done := 0
		if progress != nil {
			progress(0, total)
		}
		for _, s := range sources {
			if err := m.stream(ctx, s, func(n int, rec [3][]byte, p *pkgFacts) error {
				done++
				if progress != nil {
					progress(done, total)
				}
				if !s.keeps(n) {
					return nil
				}
				var it *mergeItem
				select {
				case it = <-free:
				case <-ctx.Done():
					return ctx.Err()
				}
				it.frag[0] = relocate(it.frag[0][:0], rec[0], s, p)
				it.frag[1] = append(it.frag[1][:0], rec[1]...)
				it.frag[2] = append(it.frag[2][:0], rec[2]...)
				it.origin = fmt.Appendf(it.origin[:0], "%s-%s-%s.%s\t%s\n", p.name, p.ver, p.rel, p.arch, s.origin)
				it.refs.Store(int32(consumers))
				for _, c := range chans {
					select {
					case c <- it:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	release := func(it *mergeItem) {
		if it.refs.Add(-1) == 0 {
			free <- it
		}
	}
	for i := range writers {
		w := writers[i]
		g.Go(func() error {
			var werr error
			write := func(b []byte) {
				if werr == nil {
					_, werr = w.Write(b)
				}
			}
			if i < 3 {
				write(kinds[i].header(kept))
			}
			for it := range chans[i] {
				if i < 3 {
					write(it.frag[i])
				} else {
					write(it.origin)
				}
				release(it)
			}
			if i < 3 {
				write([]byte(kinds[i].footer))
			}
			if werr != nil {
				return fmt.Errorf("write merged metadata: %w", werr)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			st, err := w.finish()
			if err != nil {
				return err
			}
			if i < 3 {
				stats[i] = st
			} else {
				origins = st
			}
			return nil
		})
	}
	for i := range dbs {
		d := dbs[i]
		if d == nil {
			continue
		}
		g.Go(func() error {
			var derr error
			for it := range chans[4+i] {
				if derr == nil {
					derr = d.add(it.frag[i], nil)
				}
				release(it)
			}
			if derr != nil {
				return fmt.Errorf("merged metadata: %w", derr)
			}
			return ctx.Err()
		})
	}
	err = g.Wait()
	return
}

// stream reads the primary, filelists and other records of s in lock
// step, checking that they describe the same packages, and calls fn with
// each (valid until fn returns).
func (m *merger) stream(ctx context.Context, s *mdSource, fn func(n int, rec [3][]byte, p *pkgFacts) error) error {
	stop := make(chan struct{})
	var streams [3]*recordStream
	var closers []func()
	defer func() {
		close(stop)
		for _, st := range streams {
			if st != nil {
				for range st.recs { // let the reader see stop
				}
				<-st.done
			}
		}
		for _, c := range closers {
			c()
		}
	}()
	for k := range 3 {
		sc, done, err := m.scan(s, k)
		if err != nil {
			return err
		}
		closers = append(closers, done)
		streams[k] = newRecordStream(sc, stop)
	}
	var facts pkgFacts
	var sc fragScanner
	names := [3]string{"primary", "filelists", "other"}
	for n := 0; ; n++ {
		var rec [3][]byte
		var ok [3]bool
		for k := range 3 {
			rec[k], ok[k] = streams[k].next()
		}
		if !ok[0] || !ok[1] || !ok[2] {
			for k := range 3 {
				if !ok[k] && streams[k].err != nil {
					return badMeta(s, names[k], n+1, streams[k].err)
				}
			}
			if ok != [3]bool{} {
				return badMeta(s, "filelists and other", n+1, errors.New("primary, filelists and other do not list the same number of packages"))
			}
			if n != s.count {
				return badMeta(s, "primary", n+1, fmt.Errorf("%d packages now, %d before: the metadata changed during the merge", n, s.count))
			}
			return nil
		}
		if err := parsePkgFacts(&sc, rec[0], &facts); err != nil {
			return badMeta(s, "primary", n+1, err)
		}
		for k := 1; k < 3; k++ {
			if id := html.UnescapeString(attrValue(rec[k], "pkgid")); id != facts.pkgid {
				return badMeta(s, names[k], n+1, fmt.Errorf("pkgid %q, primary has %q there: the files do not match", id, facts.pkgid))
			}
		}
		if err := fn(n, rec, &facts); err != nil {
			return err
		}
		for k := range 3 {
			streams[k].release(rec[k])
		}
		if n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// relocate appends rec with its <location> pointing at s's packages: an
// xml:base for an external repository (unless the record has one).
func relocate(dst, rec []byte, s *mdSource, p *pkgFacts) []byte {
	if s.base == "" || p.base != "" {
		return append(dst, rec...)
	}
	dst = append(dst, rec[:p.locStart]...)
	dst = append(dst, `<location xml:base="`...)
	dst = appendAttr(dst, []byte(s.base))
	dst = append(dst, `" href="`...)
	dst = appendAttr(dst, []byte(p.href))
	if p.locEmpty {
		dst = append(dst, `"/>`...)
	} else {
		dst = append(dst, `">`...)
	}
	return append(dst, rec[p.locEnd:]...)
}
