package repogen

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"kojigo/internal/rpmhdr"
)

// fileInfo is what the engine knows about a package file besides its header.
type fileInfo struct {
	href         string // location href, relative to the repository root
	size         int64
	mtime        int64
	checksum     string // hex digest of the whole file
	checksumType string // as written in the metadata: "sha256", "sha", ...
}

// pkgXML is one package's three metadata fragments and, with databases,
// its primary_db rows (hasRow) when it was read from its header.
type pkgXML struct {
	primary, filelists, other []byte
	row                       *primaryRow
	hasRow                    bool
}

// part is the fragment of metadata kind i: primary, filelists, other.
func (x *pkgXML) part(i int) []byte {
	switch i {
	case 0:
		return x.primary
	case 1:
		return x.filelists
	}
	return x.other
}

// Dependency sense flags (RPMSENSE_*).
const (
	senseLess    = 1 << 1
	senseGreater = 1 << 2
	senseEqual   = 1 << 3
	sensePrereq  = 1 << 6
	senseScrPre  = 1 << 9
	senseScrPost = 1 << 10

	fileGhost  = 1 << 6
	modeTypeOf = 0o170000
	modeDir    = 0o040000
)

// errBadHeaderData is wrapped by encode's errors about header content.
var errBadHeaderData = errors.New("invalid package header")

func flagString(f uint32) string {
	switch f & 0xf {
	case senseLess:
		return "LT"
	case senseGreater:
		return "GT"
	case senseEqual:
		return "EQ"
	case senseLess | senseEqual:
		return "LE"
	case senseGreater | senseEqual:
		return "GE"
	}
	return ""
}

// primaryFile reports whether path belongs in primary.xml (createrepo's rule).
func primaryFile(path []byte) bool {
	return bytes.HasPrefix(path, []byte("/etc/")) ||
		string(path) == "/usr/lib/sendmail" ||
		bytes.Contains(path, []byte("bin/"))
}

// depKind describes one dependency type: its tags and element name.
type depKind struct {
	elem                     string
	nameTag, flagTag, verTag uint32
}

// Output order of primary.xml.
var depKinds = [...]depKind{
	{"rpm:provides", rpmhdr.TagProvideName, rpmhdr.TagProvideFlags, rpmhdr.TagProvideVersion},
	{"rpm:requires", rpmhdr.TagRequireName, rpmhdr.TagRequireFlags, rpmhdr.TagRequireVersion},
	{"rpm:conflicts", rpmhdr.TagConflictName, rpmhdr.TagConflictFlags, rpmhdr.TagConflictVersion},
	{"rpm:obsoletes", rpmhdr.TagObsoleteName, rpmhdr.TagObsoleteFlags, rpmhdr.TagObsoleteVersion},
	{"rpm:suggests", rpmhdr.TagSuggestName, rpmhdr.TagSuggestFlags, rpmhdr.TagSuggestVersion},
	{"rpm:enhances", rpmhdr.TagEnhanceName, rpmhdr.TagEnhanceFlags, rpmhdr.TagEnhanceVersion},
	{"rpm:recommends", rpmhdr.TagRecommendName, rpmhdr.TagRecommendFlags, rpmhdr.TagRecommendVersion},
	{"rpm:supplements", rpmhdr.TagSupplementName, rpmhdr.TagSupplementFlags, rpmhdr.TagSupplementVersion},
}

const (
	kindProvides = 0
	kindRequires = 1
)

// dep is one dependency entry after createrepo's filtering.
type dep struct {
	name                     []byte
	flags                    string
	epoch, version, rel      []byte
	hasEpoch, hasVer, hasRel bool
	pre                      bool
}

type reqSeen struct {
	flags   string
	version string
	pre     bool
}

// encoder turns a package header into metadata fragments. It keeps scratch
// space between packages; one encoder per worker.
type encoder struct {
	changelogLimit int // < 0: all
	db             bool

	files    map[string]struct{}
	provided map[string]struct{}
	reqs     map[string]reqSeen
	deps     []dep
	scratch  []byte
	dates    []int64
}

func newEncoder(changelogLimit int, db bool) *encoder {
	return &encoder{
		changelogLimit: changelogLimit,
		db:             db,
		files:          make(map[string]struct{}),
		provided:       make(map[string]struct{}),
		reqs:           make(map[string]reqSeen),
	}
}

type fileEntry struct {
	dir, base []byte
	typ       string
}

// encode writes the primary, filelists and other fragments of a package into
// out, reusing out's buffers.
func (e *encoder) encode(p *rpmhdr.Package, fi *fileInfo, out *pkgXML) error {
	h := &p.Main
	sig := &p.Signature

	name := h.Bytes(rpmhdr.TagName)
	version := h.Bytes(rpmhdr.TagVersion)
	release := h.Bytes(rpmhdr.TagRelease)
	var arch []byte
	if n, _ := h.Number(rpmhdr.TagSourcePackage); n != 0 {
		arch = []byte("src")
	} else {
		arch = h.Bytes(rpmhdr.TagArch)
	}
	epochN, _ := h.Number(rpmhdr.TagEpoch)
	epoch := strconv.AppendUint(nil, epochN, 10)

	summary := h.Bytes(rpmhdr.TagSummary)
	description := h.Bytes(rpmhdr.TagDescription)
	packager := h.Bytes(rpmhdr.TagPackager)
	url := h.Bytes(rpmhdr.TagURL)
	buildTime, _ := h.Number(rpmhdr.TagBuildTime)
	license := h.Bytes(rpmhdr.TagLicense)
	vendor := h.Bytes(rpmhdr.TagVendor)
	group := h.Bytes(rpmhdr.TagGroup)
	buildHost := h.Bytes(rpmhdr.TagBuildHost)
	sourceRPM := h.Bytes(rpmhdr.TagSourceRPM)

	installed, ok := h.Number(rpmhdr.TagLongSize)
	if !ok {
		installed, _ = h.Number(rpmhdr.TagSize)
	}
	archive, ok := h.Number(rpmhdr.TagLongArchiveSize)
	if !ok {
		archive, ok = sig.Number(rpmhdr.TagLongArchiveSize)
	}
	if !ok {
		archive, ok = h.Number(rpmhdr.TagArchiveSize)
	}
	if !ok {
		archive, _ = sig.Number(rpmhdr.SigTagPayloadSize)
	}
	if err := h.Err(); err != nil {
		return err
	}
	if err := sig.Err(); err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	if len(name) == 0 {
		return fmt.Errorf("%w: no package name", errBadHeaderData)
	}

	for _, f := range [...]struct {
		what string
		v    []byte
	}{
		{"name", name}, {"arch", arch}, {"version", version}, {"release", release},
		{"summary", summary}, {"description", description}, {"url", url},
		{"license", license}, {"vendor", vendor}, {"group", group},
		{"buildhost", buildHost}, {"sourcerpm", sourceRPM}, {"packager", packager},
		{"location", []byte(fi.href)},
	} {
		if hasForbiddenControl(f.v) {
			return fmt.Errorf("%w: %s has a character XML cannot hold", errBadHeaderData, f.what)
		}
	}

	files, err := e.fileList(h)
	if err != nil {
		return err
	}

	// primary.xml
	b := out.primary[:0]
	b = append(b, "<package type=\"rpm\">\n  <name>"...)
	b = appendText(b, name)
	b = append(b, "</name>\n  <arch>"...)
	b = appendText(b, arch)
	b = append(b, "</arch>\n"...)
	b = appendVersion(b, "  ", epoch, version, release)
	b = append(b, "  <checksum type=\""...)
	b = appendAttr(b, []byte(fi.checksumType))
	b = append(b, "\" pkgid=\"YES\">"...)
	b = append(b, fi.checksum...)
	b = append(b, "</checksum>\n"...)
	b = appendElem(b, "  ", "summary", summary)
	b = appendElem(b, "  ", "description", description)
	b = appendElem(b, "  ", "packager", packager)
	b = appendElem(b, "  ", "url", url)
	b = append(b, "  <time file=\""...)
	b = strconv.AppendInt(b, fi.mtime, 10)
	b = append(b, "\" build=\""...)
	b = strconv.AppendUint(b, buildTime, 10)
	b = append(b, "\"/>\n  <size package=\""...)
	b = strconv.AppendInt(b, fi.size, 10)
	b = append(b, "\" installed=\""...)
	b = strconv.AppendUint(b, installed, 10)
	b = append(b, "\" archive=\""...)
	b = strconv.AppendUint(b, archive, 10)
	b = append(b, "\"/>\n  <location href=\""...)
	b = appendAttr(b, []byte(fi.href))
	b = append(b, "\"/>\n  <format>\n"...)
	b = appendElem(b, "    ", "rpm:license", license)
	b = appendElem(b, "    ", "rpm:vendor", vendor)
	b = appendElem(b, "    ", "rpm:group", group)
	b = appendElem(b, "    ", "rpm:buildhost", buildHost)
	b = appendElem(b, "    ", "rpm:sourcerpm", sourceRPM)
	b = append(b, "    <rpm:header-range start=\""...)
	b = strconv.AppendInt(b, p.HeaderStart, 10)
	b = append(b, "\" end=\""...)
	b = strconv.AppendInt(b, p.HeaderEnd, 10)
	b = append(b, "\"/>\n"...)

	var row *primaryRow
	if e.db {
		if out.row == nil {
			out.row = new(primaryRow)
		}
		row = out.row
		row.reset()
		out.hasRow = true
		// createrepo_c's columns: a missing tag is NULL, url and packager
		// are NULL when empty, vendor and sourcerpm "" when missing.
		tagOrNull := func(tag uint32, v []byte) any {
			if !h.Has(tag) {
				return nil
			}
			return dbText(v)
		}
		row.pkg = [25]any{
			fi.checksum, dbText(name), dbText(arch), tagOrNull(rpmhdr.TagVersion, version), dbText(epoch),
			tagOrNull(rpmhdr.TagRelease, release), tagOrNull(rpmhdr.TagSummary, summary),
			tagOrNull(rpmhdr.TagDescription, description), orNull(dbText(url)), fi.mtime, int64(buildTime),
			tagOrNull(rpmhdr.TagLicense, license), dbText(vendor), tagOrNull(rpmhdr.TagGroup, group),
			tagOrNull(rpmhdr.TagBuildHost, buildHost), dbText(sourceRPM), p.HeaderStart, p.HeaderEnd,
			orNull(dbText(packager)), fi.size, int64(installed), int64(archive), fi.href, nil, fi.checksumType,
		}
	}
	clear(e.provided)
	clear(e.reqs)
	fileSetBuilt := false
	for k := range depKinds {
		deps, err := e.depList(h, k, files, &fileSetBuilt)
		if err != nil {
			return err
		}
		b = appendDeps(b, depKinds[k].elem, deps, k == kindRequires)
		if row != nil {
			for i := range deps {
				d := &deps[i]
				if len(d.name) == 0 {
					continue
				}
				row.deps[k] = append(row.deps[k], depRow{name: dbText(d.name), flags: orNull(d.flags),
					epoch: bytesOrNull(d.epoch), version: bytesOrNull(d.version), release: bytesOrNull(d.rel), pre: d.pre})
			}
		}
	}
	for _, f := range files {
		e.scratch = append(append(e.scratch[:0], f.dir...), f.base...)
		if primaryFile(e.scratch) {
			b = appendFile(b, "    ", e.scratch, f.typ)
			if row != nil {
				typ := f.typ
				if typ == "" {
					typ = "file"
				}
				row.files = append(row.files, fileRow{dbText(e.scratch), typ})
			}
		}
	}
	b = append(b, "  </format>\n</package>\n"...)
	out.primary = b

	// filelists.xml
	b = out.filelists[:0]
	b = appendPkgOpen(b, fi.checksum, name, arch)
	b = appendVersion(b, "  ", epoch, version, release)
	for _, f := range files {
		e.scratch = append(append(e.scratch[:0], f.dir...), f.base...)
		b = appendFile(b, "  ", e.scratch, f.typ)
	}
	b = append(b, "</package>\n"...)
	out.filelists = b

	// other.xml
	b = out.other[:0]
	b = appendPkgOpen(b, fi.checksum, name, arch)
	b = appendVersion(b, "  ", epoch, version, release)
	b, err = e.appendChangelogs(b, h)
	if err != nil {
		return err
	}
	b = append(b, "</package>\n"...)
	out.other = b
	return nil
}

func appendPkgOpen(b []byte, pkgid string, name, arch []byte) []byte {
	b = append(b, "<package pkgid=\""...)
	b = append(b, pkgid...)
	b = append(b, "\" name=\""...)
	b = appendAttr(b, name)
	b = append(b, "\" arch=\""...)
	b = appendAttr(b, arch)
	return append(b, "\">\n"...)
}

func appendVersion(b []byte, indent string, epoch, ver, rel []byte) []byte {
	b = append(b, indent...)
	b = append(b, "<version epoch=\""...)
	b = appendAttr(b, epoch)
	b = append(b, "\" ver=\""...)
	b = appendAttr(b, ver)
	b = append(b, "\" rel=\""...)
	b = appendAttr(b, rel)
	return append(b, "\"/>\n"...)
}

func appendElem(b []byte, indent, elem string, text []byte) []byte {
	b = append(b, indent...)
	b = append(b, '<')
	b = append(b, elem...)
	b = append(b, '>')
	b = appendText(b, text)
	b = append(b, "</"...)
	b = append(b, elem...)
	return append(b, ">\n"...)
}

func appendFile(b []byte, indent string, path []byte, typ string) []byte {
	b = append(b, indent...)
	if typ == "" {
		b = append(b, "<file>"...)
	} else {
		b = append(b, "<file type=\""...)
		b = append(b, typ...)
		b = append(b, "\">"...)
	}
	b = appendText(b, path)
	return append(b, "</file>\n"...)
}

func appendDeps(b []byte, elem string, deps []dep, requires bool) []byte {
	if len(deps) == 0 {
		return b
	}
	n := 0
	for i := range deps {
		if len(deps[i].name) > 0 {
			n++
		}
	}
	b = append(b, "    <"...)
	b = append(b, elem...)
	if n == 0 {
		return append(b, "/>\n"...)
	}
	b = append(b, ">\n"...)
	for i := range deps {
		d := &deps[i]
		if len(d.name) == 0 {
			continue
		}
		b = append(b, "      <rpm:entry name=\""...)
		b = appendAttr(b, d.name)
		b = append(b, '"')
		if d.flags != "" {
			b = append(b, " flags=\""...)
			b = append(b, d.flags...)
			b = append(b, '"')
			if len(d.epoch) > 0 {
				b = append(b, " epoch=\""...)
				b = appendAttr(b, d.epoch)
				b = append(b, '"')
			}
			if len(d.version) > 0 {
				b = append(b, " ver=\""...)
				b = appendAttr(b, d.version)
				b = append(b, '"')
			}
			if len(d.rel) > 0 {
				b = append(b, " rel=\""...)
				b = appendAttr(b, d.rel)
				b = append(b, '"')
			}
		}
		if requires && d.pre {
			b = append(b, " pre=\"1\""...)
		}
		b = append(b, "/>\n"...)
	}
	b = append(b, "    </"...)
	b = append(b, elem...)
	return append(b, ">\n"...)
}

// fileList returns the package's files in header order, as createrepo_c
// lists them.
func (e *encoder) fileList(h *rpmhdr.Header) ([]fileEntry, error) {
	var (
		bases, dirs [][]byte
		idx         []uint32
	)
	if h.Has(rpmhdr.TagBaseNames) {
		bases = h.Strings(rpmhdr.TagBaseNames)
		dirs = h.Strings(rpmhdr.TagDirNames)
		idx = h.Uint32s(rpmhdr.TagDirIndexes)
		if !h.Has(rpmhdr.TagDirIndexes) {
			return nil, h.Err()
		}
	} else if h.Has(rpmhdr.TagOldFilenames) {
		// Very old packages list full paths; rpm splits them on load.
		for i, full := range h.Strings(rpmhdr.TagOldFilenames) {
			cut := bytes.LastIndexByte(full, '/') + 1
			dirs = append(dirs, full[:cut])
			bases = append(bases, full[cut:])
			idx = append(idx, uint32(i))
		}
	} else {
		return nil, h.Err()
	}
	flags := h.Uint32s(rpmhdr.TagFileFlags)
	modes := h.Uint16s(rpmhdr.TagFileModes)
	if err := h.Err(); err != nil {
		return nil, err
	}
	if !h.Has(rpmhdr.TagFileFlags) || !h.Has(rpmhdr.TagFileModes) {
		return nil, nil
	}
	n := min(len(bases), len(idx), len(flags), len(modes))
	files := make([]fileEntry, n)
	for i := range files {
		f := &files[i]
		if len(dirs) > 0 {
			if int(idx[i]) >= len(dirs) {
				return nil, fmt.Errorf("%w: file %d has directory index %d of %d", rpmhdr.ErrCorrupt, i, idx[i], len(dirs))
			}
			f.dir = dirs[idx[i]]
		}
		f.base = bases[i]
		if hasForbiddenControl(f.dir) || hasForbiddenControl(f.base) {
			return nil, fmt.Errorf("%w: file name has a character XML cannot hold", errBadHeaderData)
		}
		switch {
		case uint32(modes[i])&modeTypeOf == modeDir:
			f.typ = "dir"
		case flags[i]&fileGhost != 0:
			f.typ = "ghost"
		}
	}
	return files, nil
}

// depList returns the entries of one dependency kind after createrepo_c's
// filtering: for requires, rpmlib() requires, requires on the package's own
// primary files, requires equal to one of its provides and repeated requires
// are dropped, and the libc.so.6 requires collapse into the newest one,
// written last.
func (e *encoder) depList(h *rpmhdr.Header, k int, files []fileEntry, fileSetBuilt *bool) ([]dep, error) {
	kind := depKinds[k]
	e.deps = e.deps[:0]
	if !h.Has(kind.nameTag) || !h.Has(kind.flagTag) || !h.Has(kind.verTag) {
		return nil, h.Err()
	}
	names := h.Strings(kind.nameTag)
	flags := h.Uint32s(kind.flagTag)
	vers := h.Strings(kind.verTag)
	if err := h.Err(); err != nil {
		return nil, err
	}
	n := min(len(names), len(flags), len(vers))
	var libc *dep
	for i := 0; i < n; i++ {
		name, fl, ver := names[i], flags[i], vers[i]
		if hasForbiddenControl(name) || hasForbiddenControl(ver) {
			return nil, fmt.Errorf("%w: dependency %q has a character XML cannot hold", errBadHeaderData, name)
		}
		fs := flagString(fl)
		pre := false
		if k == kindRequires {
			if bytes.HasPrefix(name, []byte("rpmlib(")) {
				continue
			}
			if len(name) > 0 && name[0] == '/' && primaryFile(name) {
				if !*fileSetBuilt {
					clear(e.files)
					for _, f := range files {
						e.files[string(f.dir)+string(f.base)] = struct{}{}
					}
					*fileSetBuilt = true
				}
				if _, own := e.files[string(name)]; own {
					continue
				}
			}
			if _, self := e.provided[nfv(name, fs, ver)]; self {
				continue
			}
			pre = fl&(sensePrereq|senseScrPre|senseScrPost) != 0
			if seen, ok := e.reqs[string(name)]; ok && seen.flags == fs && seen.version == string(ver) && seen.pre == pre {
				continue
			}
		}
		d := dep{name: name, flags: fs, pre: pre}
		if !splitEVR(ver, &d) {
			// createrepo_c skips a dependency whose epoch is not a number.
			continue
		}
		switch k {
		case kindProvides:
			e.provided[nfv(name, fs, ver)] = struct{}{}
		case kindRequires:
			if bytes.HasPrefix(name, []byte("libc.so.6")) {
				if libc == nil || libcDepNewer(string(libc.name), string(name)) {
					dd := d
					libc = &dd
				}
				continue
			}
			e.reqs[string(name)] = reqSeen{flags: fs, version: string(ver), pre: pre}
		}
		e.deps = append(e.deps, d)
	}
	if libc != nil {
		e.deps = append(e.deps, *libc)
	}
	return e.deps, nil
}

func nfv(name []byte, flags string, ver []byte) string {
	return string(name) + flags + string(ver)
}

// splitEVR splits a dependency version "[E:]V[-R]" the way createrepo_c
// does. It reports false for a non-numeric epoch.
func splitEVR(s []byte, d *dep) bool {
	if len(s) == 0 {
		return true
	}
	rest := s
	if c := bytes.IndexByte(s, ':'); c >= 0 {
		if !strtolPrefix(s[:c]) {
			return false
		}
		if c > 0 {
			d.epoch = s[:c]
		}
		rest = s[c+1:]
	}
	if d.epoch == nil {
		d.epoch = []byte("0")
	}
	if dash := bytes.IndexByte(rest, '-'); dash >= 0 {
		d.version = rest[:dash]
		if dash+1 < len(rest) {
			d.rel = rest[dash+1:]
		}
	} else {
		d.version = rest
	}
	return true
}

// strtolPrefix reports whether C's strtol would consume all of s (an empty s
// counts, as createrepo_c then falls back to epoch 0).
func strtolPrefix(s []byte) bool {
	if len(s) == 0 {
		return true
	}
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	d := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i > d && i == len(s)
}

// appendChangelogs writes the newest changelogLimit entries, oldest first,
// with createrepo_c's author trimming and date de-duplication.
func (e *encoder) appendChangelogs(b []byte, h *rpmhdr.Header) ([]byte, error) {
	if e.changelogLimit == 0 || !h.Has(rpmhdr.TagChangelogTime) ||
		!h.Has(rpmhdr.TagChangelogName) || !h.Has(rpmhdr.TagChangelogText) {
		return b, h.Err()
	}
	times := h.Uint32s(rpmhdr.TagChangelogTime)
	names := h.Strings(rpmhdr.TagChangelogName)
	texts := h.Strings(rpmhdr.TagChangelogText)
	if err := h.Err(); err != nil {
		return b, err
	}
	n := min(len(times), len(names), len(texts))
	if e.changelogLimit > 0 {
		n = min(n, e.changelogLimit)
	}
	e.dates = changelogDates(e.dates[:0], times[:n])
	dates := e.dates
	for i := n - 1; i >= 0; i-- {
		author := names[i]
		for x := len(author) - 1; x > 0 && author[x] == ' '; x-- {
			author = author[:x]
		}
		if hasForbiddenControl(author) || hasForbiddenControl(texts[i]) {
			return b, fmt.Errorf("%w: changelog entry %d has a character XML cannot hold", errBadHeaderData, i)
		}
		b = append(b, "  <changelog author=\""...)
		b = appendAttr(b, author)
		b = append(b, "\" date=\""...)
		b = strconv.AppendInt(b, dates[i], 10)
		b = append(b, "\">"...)
		b = appendText(b, texts[i])
		b = append(b, "</changelog>\n"...)
	}
	return b, nil
}

// changelogDates returns the dates createrepo_c writes for changelog entries
// given newest first. When an entry has the same time as the one before it
// (in header order), createrepo_c adds one second to each earlier entry of
// the run of consecutive dates ending there, cascading. That walk is
// quadratic in a run's length; this computes the same result in linear time
// by keeping the run ending at the last entry implicit: a chain of dates
// that decrease by exactly one, identified by its first index and its last
// value.
func changelogDates(dst []int64, times []uint32) []int64 {
	dst = dst[:0]
	if len(times) == 0 {
		return dst
	}
	// materialize writes the chain's dates into dst[start..end].
	materialize := func(start, end int, last int64) {
		for j := start; j <= end; j++ {
			dst[j] = last + int64(end-j)
		}
	}
	chainStart, chainLast := 0, int64(times[0])
	dst = append(dst, chainLast)
	last := int64(times[0]) // createrepo_c's last_time
	for i := 1; i < len(times); i++ {
		t := int64(times[i])
		dst = append(dst, t)
		switch {
		case t == last && times[i] < 1<<31:
			// Every date of the chain moves up by one and t joins it;
			// then entries just before the chain that now continue it
			// join too (the original walk would cascade into them later).
			chainLast = t
			for chainStart > 0 && dst[chainStart-1] == chainLast+int64(i-chainStart+1) {
				chainStart--
			}
		case chainLast == t+1:
			chainLast = t
		default:
			materialize(chainStart, i-1, chainLast)
			chainStart, chainLast = i, t
		}
		if t != last {
			last = t
		}
	}
	materialize(chainStart, len(dst)-1, chainLast)
	return dst
}

// bytesOrNull is nil (NULL) for a nil slice and the string otherwise, so
// that an empty value that is present stays "".
func bytesOrNull(b []byte) any {
	if b == nil {
		return nil
	}
	return dbText(b)
}

// dbText is a header string as createrepo_c stores it in a database: as
// is when it is UTF-8, else read as ISO-8859-1 (like the XML).
func dbText(b []byte) string {
	if !utf8.Valid(b) {
		return string(latin1ToUTF8(nil, b))
	}
	return string(b)
}
