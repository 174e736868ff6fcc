package builderd

import (
	"bufio"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	rpmutils "github.com/sassoftware/go-rpmutils"
	"github.com/ulikunitz/xz"
)

// rpmbuild mode has no chroot, but it does build against the build tag's
// repo as mock would: the SRPM's BuildRequires are looked up in the repo,
// the packages that provide them (and what those require from the repo)
// are unpacked into an overlay directory that the build's compiler, linker
// and PATH search first, and a requirement that neither the repo nor the
// host satisfies fails the build with its name, where --nodeps used to
// build on regardless. The host stands in for the tag's build group: a
// requirement the repo lacks is the host's when the host's rpm database
// provides it, or it names a file or a command the host has.

// maxOverlayPackages bounds the packages unpacked for one build: a
// dependency closure larger than this is a repo problem, not a build.
const maxOverlayPackages = 2000

// maxClosurePasses bounds the passes over the repo's primary metadata.
const maxClosurePasses = 8

// rpmsense flags of a dependency (rpm's RPMSENSE_*).
const (
	senseLess    = 1 << 1
	senseGreater = 1 << 2
	senseEqual   = 1 << 3
	senseRPMLib  = 1 << 24
)

// header tags of an SRPM's requirements.
const (
	tagRequireFlags   = 1048
	tagRequireVersion = 1050
)

// dependency is one requirement or provide: a name and an optional
// version relation.
type dependency struct {
	name  string
	flags int // senseLess|senseGreater|senseEqual; 0 = any version
	evr   evr
}

type evr struct{ epoch, version, release string }

func (d dependency) String() string {
	if d.flags&(senseLess|senseGreater|senseEqual) == 0 {
		return d.name
	}
	op := ""
	if d.flags&senseLess != 0 {
		op += "<"
	}
	if d.flags&senseGreater != 0 {
		op += ">"
	}
	if d.flags&senseEqual != 0 {
		op += "="
	}
	v := d.evr.version
	if d.evr.epoch != "" && d.evr.epoch != "0" {
		v = d.evr.epoch + ":" + v
	}
	if d.evr.release != "" {
		v += "-" + d.evr.release
	}
	return d.name + " " + op + " " + v
}

// parseEVR reads rpm's [epoch:]version[-release].
func parseEVR(s string) evr {
	var e evr
	if i := strings.IndexByte(s, ':'); i >= 0 {
		e.epoch, s = s[:i], s[i+1:]
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		e.version, e.release = s[:i], s[i+1:]
	} else {
		e.version = s
	}
	return e
}

// compareEVR is rpm's comparison; a release missing on either side is not
// compared (a requirement "foo >= 1.0" matches every release of 1.0).
func compareEVR(a, b evr) int {
	ea, eb := a.epoch, b.epoch
	if ea == "" {
		ea = "0"
	}
	if eb == "" {
		eb = "0"
	}
	if c := rpmutils.Vercmp(ea, eb); c != 0 {
		return c
	}
	if c := rpmutils.Vercmp(a.version, b.version); c != 0 {
		return c
	}
	if a.release == "" || b.release == "" {
		return 0
	}
	return rpmutils.Vercmp(a.release, b.release)
}

// satisfies reports whether a provide meets a requirement of the same
// name: an unversioned side matches anything, as in rpm; otherwise the
// two version ranges must overlap.
func (p dependency) satisfies(r dependency) bool {
	const ops = senseLess | senseGreater | senseEqual
	if p.flags&ops == 0 || r.flags&ops == 0 {
		return true
	}
	c := compareEVR(p.evr, r.evr)
	switch {
	case c < 0: // the provide is older: it needs room upward, the requirement downward
		return p.flags&senseGreater != 0 || r.flags&senseLess != 0
	case c > 0:
		return p.flags&senseLess != 0 || r.flags&senseGreater != 0
	}
	return (p.flags&senseEqual != 0 && r.flags&senseEqual != 0) ||
		(p.flags&senseLess != 0 && r.flags&senseLess != 0) ||
		(p.flags&senseGreater != 0 && r.flags&senseGreater != 0)
}

// srpmRequires reads the BuildRequires of an SRPM, leaving out rpmlib's.
func srpmRequires(path string) ([]dependency, error) {
	h, err := readRPMHeader(path)
	if err != nil {
		return nil, err
	}
	names, _ := h.GetStrings(tagRequireName)
	flags, _ := h.GetInts(tagRequireFlags)
	vers, _ := h.GetStrings(tagRequireVersion)
	var out []dependency
	seen := map[string]bool{}
	for i, n := range names {
		d := dependency{name: n}
		if i < len(flags) {
			d.flags = flags[i]
		}
		if i < len(vers) && vers[i] != "" {
			d.evr = parseEVR(vers[i])
		} else {
			d.flags &^= senseLess | senseGreater | senseEqual
		}
		if d.flags&senseRPMLib != 0 || strings.HasPrefix(n, "rpmlib(") {
			continue
		}
		if k := d.String(); !seen[k] {
			seen[k] = true
			out = append(out, d)
		}
	}
	return out, nil
}

// repoPackage is what the overlay needs of one package of primary.xml.
type repoPackage struct {
	name, arch string
	evr        evr
	href, base string
	provides   []dependency
	requires   []dependency
	files      []string
}

func (p *repoPackage) nevra() string {
	return fmt.Sprintf("%s-%s-%s.%s", p.name, p.evr.version, p.evr.release, p.arch)
}

// primaryXML mirrors a <package> element of primary.xml.
type primaryXML struct {
	Name    string `xml:"name"`
	Arch    string `xml:"arch"`
	Version struct {
		Epoch string `xml:"epoch,attr"`
		Ver   string `xml:"ver,attr"`
		Rel   string `xml:"rel,attr"`
	} `xml:"version"`
	Location struct {
		Href string `xml:"href,attr"`
		Base string `xml:"base,attr"`
	} `xml:"location"`
	Format struct {
		Provides []depXML `xml:"provides>entry"`
		Requires []depXML `xml:"requires>entry"`
		Files    []string `xml:"file"`
	} `xml:"format"`
}

type depXML struct {
	Name  string `xml:"name,attr"`
	Flags string `xml:"flags,attr"`
	Epoch string `xml:"epoch,attr"`
	Ver   string `xml:"ver,attr"`
	Rel   string `xml:"rel,attr"`
}

func (d depXML) dependency() dependency {
	out := dependency{name: d.Name, evr: evr{d.Epoch, d.Ver, d.Rel}}
	switch d.Flags {
	case "EQ":
		out.flags = senseEqual
	case "LT":
		out.flags = senseLess
	case "GT":
		out.flags = senseGreater
	case "LE":
		out.flags = senseLess | senseEqual
	case "GE":
		out.flags = senseGreater | senseEqual
	}
	return out
}

// repoIndex answers which packages of a repo provide a dependency. It
// keeps only the packages that provide something asked for, so a pass
// over a large repo holds little.
type repoIndex struct {
	primary string // local path of primary.xml[.gz|.zst|.xz|.bz2]
}

// providers streams primary.xml once and returns, for each wanted name,
// the packages that provide it (by provide, or by file for a path).
func (ix *repoIndex) providers(want map[string]bool) (map[string][]*repoPackage, error) {
	f, err := os.Open(ix.primary)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := decompress(ix.primary, bufio.NewReader(f))
	if err != nil {
		return nil, err
	}
	out := map[string][]*repoPackage{}
	dec := xml.NewDecoder(r)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ix.primary, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "package" {
			continue
		}
		var px primaryXML
		if err := dec.DecodeElement(&px, &se); err != nil {
			return nil, fmt.Errorf("%s: %w", ix.primary, err)
		}
		var p *repoPackage
		add := func(name string) {
			if p == nil {
				p = px.pkg()
			}
			for _, q := range out[name] {
				if q == p {
					return
				}
			}
			out[name] = append(out[name], p)
		}
		for _, d := range px.Format.Provides {
			if want[d.Name] {
				add(d.Name)
			}
		}
		for _, file := range px.Format.Files {
			if want[file] {
				add(file)
			}
		}
	}
}

func (px *primaryXML) pkg() *repoPackage {
	p := &repoPackage{
		name: px.Name, arch: px.Arch, href: px.Location.Href, base: px.Location.Base,
		evr:   evr{px.Version.Epoch, px.Version.Ver, px.Version.Rel},
		files: px.Format.Files,
	}
	for _, d := range px.Format.Provides {
		p.provides = append(p.provides, d.dependency())
	}
	for _, d := range px.Format.Requires {
		p.requires = append(p.requires, d.dependency())
	}
	return p
}

// provider picks the package that satisfies d: of those providing its
// name with a matching version, the newest, as dnf would. nil: none.
func provider(cands []*repoPackage, d dependency) *repoPackage {
	var best *repoPackage
	for _, p := range cands {
		ok := false
		if strings.HasPrefix(d.name, "/") {
			for _, f := range p.files {
				ok = ok || f == d.name
			}
		}
		for _, pr := range p.provides {
			if pr.name == d.name && pr.satisfies(d) {
				ok = true
			}
		}
		if !ok {
			continue
		}
		if best == nil || compareEVR(p.evr, best.evr) > 0 || (compareEVR(p.evr, best.evr) == 0 && p.nevra() < best.nevra()) {
			best = p
		}
	}
	return best
}

// resolution is how the BuildRequires of a build were met.
type resolution struct {
	fromRepo map[string]*repoPackage // requirement -> package
	fromHost map[string]string       // requirement -> what on the host
	missing  []dependency
	install  []*repoPackage // the closure to unpack, in a stable order
}

// resolve meets reqs from the repo first, then from the host, and pulls
// in what the chosen packages require from the repo. Only a direct
// requirement can be missing: a package's own requirements that the repo
// does not have are left to the host, as its libc is.
func resolve(ix *repoIndex, reqs []dependency, host func(dependency) string) (*resolution, error) {
	res := &resolution{fromRepo: map[string]*repoPackage{}, fromHost: map[string]string{}}
	chosen := map[string]*repoPackage{} // by href
	done := map[string]bool{}           // dependencies looked at
	pending := reqs
	direct := true
	for pass := 0; len(pending) > 0; pass++ {
		if pass == maxClosurePasses {
			return nil, buildErrorf("the BuildRequires of this build need more than %d rounds of dependencies in the repo; check the repo's packages", maxClosurePasses)
		}
		want := map[string]bool{}
		for _, d := range pending {
			want[d.name] = true
		}
		cands, err := ix.providers(want)
		if err != nil {
			return nil, buildErrorf("read the build tag's repo: %v", err)
		}
		var next []dependency
		for _, d := range pending {
			if done[d.String()] {
				continue
			}
			done[d.String()] = true
			p := provider(cands[d.name], d)
			if p == nil {
				if direct {
					if what := host(d); what != "" {
						res.fromHost[d.String()] = what
					} else {
						res.missing = append(res.missing, d)
					}
				}
				continue
			}
			if direct {
				res.fromRepo[d.String()] = p
			}
			if chosen[p.href] != nil {
				continue
			}
			chosen[p.href] = p
			if len(chosen) > maxOverlayPackages {
				return nil, buildErrorf("the BuildRequires of this build pull in more than %d packages from the repo", maxOverlayPackages)
			}
			for _, r := range p.requires {
				if !done[r.String()] && !strings.HasPrefix(r.name, "rpmlib(") && !providesItself(p, r) {
					next = append(next, r)
				}
			}
		}
		pending, direct = next, false
	}
	for _, p := range chosen {
		res.install = append(res.install, p)
	}
	sort.Slice(res.install, func(i, j int) bool { return res.install[i].nevra() < res.install[j].nevra() })
	return res, nil
}

func providesItself(p *repoPackage, r dependency) bool {
	for _, pr := range p.provides {
		if pr.name == r.name && pr.satisfies(r) {
			return true
		}
	}
	for _, f := range p.files {
		if f == r.name {
			return true
		}
	}
	return false
}

// hostProvides says how this host meets a requirement the repo does not:
// its rpm database, a file it has, or a command on PATH; "" when it does
// not.
func (t *task) hostProvides(ctx context.Context, d dependency) string {
	if rpm, err := t.d.lookPath("rpm"); err == nil {
		out, err := exec.CommandContext(ctx, rpm, "-q", "--whatprovides", d.String()).Output()
		if err == nil {
			return "rpm database: " + strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
		}
	}
	if d.flags&(senseLess|senseGreater|senseEqual) != 0 {
		return "" // a version cannot be checked outside the rpm database
	}
	if strings.HasPrefix(d.name, "/") {
		if _, err := os.Stat(d.name); err == nil {
			return "file " + d.name
		}
		return ""
	}
	if !strings.ContainsAny(d.name, "()/ ") {
		if p, err := exec.LookPath(d.name); err == nil {
			return "command " + p
		}
	}
	return ""
}

// repoBuildroot prepares an rpmbuild-mode build against repo repoID of
// the build tag: the buildroot record on the hub, the BuildRequires
// resolved and unpacked, and the environment that points the build at
// them. It returns the buildroot id and the extra environment.
func (t *task) repoBuildroot(ctx context.Context, a buildArchArgs, srpm string) (brid int64, env []string, err error) {
	repoID, ok := asInt(a.opts["repo_id"])
	if !ok || repoID <= 0 {
		return 0, nil, buildErrorf("this buildArch task has no repo of the build tag (repo_id); builds get one from their build task")
	}
	repo, err := callMap(ctx, t.d.hub, "repoInfo", repoID, kw("strict", true))
	if err != nil {
		return 0, nil, err
	}
	switch st, _ := asInt(repo["state"]); st {
	case 1: // READY
	case 2:
		t.logf("root.log", "repo %d is no longer current; using it as requested", repoID)
	default:
		return 0, nil, buildErrorf("requested repo %d is not ready (state %d)", repoID, st)
	}
	tagName := asString(repo["tag_name"])
	if err := checkDirName("tag name", tagName); err != nil {
		return 0, nil, err
	}
	brArch := a.arch
	if brArch == "noarch" {
		brArch = t.d.arches[0]
	}
	brid, err = callInt(ctx, t.d.hub, "host.newBuildRoot", repoID, brArch, kw("task_id", t.id))
	if err != nil {
		return 0, nil, err
	}
	t.logf("root.log", "buildroot %d: repo %d of %s (%s), created at event %v", brid, repoID, tagName, brArch, repo["create_event"])

	reqs, err := srpmRequires(srpm)
	if err != nil {
		return brid, nil, err
	}
	repoDir := path.Join("repos", tagName, strconv.FormatInt(repoID, 10), brArch)
	primary, err := t.repoPrimary(ctx, repoDir)
	if err != nil {
		return brid, nil, err
	}
	res, err := resolve(&repoIndex{primary: primary}, reqs, func(d dependency) string { return t.hostProvides(ctx, d) })
	if err != nil {
		return brid, nil, err
	}
	t.logf("root.log", "BuildRequires, looked up in repo %d of %s, then on this host:", repoID, tagName)
	for _, d := range reqs {
		k := d.String()
		switch {
		case res.fromRepo[k] != nil:
			t.logf("root.log", "  %s: %s from the repo", k, res.fromRepo[k].nevra())
		case res.fromHost[k] != "":
			t.logf("root.log", "  %s: this host (%s)", k, res.fromHost[k])
		default:
			t.logf("root.log", "  %s: MISSING", k)
		}
	}
	if len(res.missing) > 0 {
		names := make([]string, len(res.missing))
		for i, d := range res.missing {
			names[i] = d.String()
		}
		return brid, nil, buildErrorf("BuildRequires not in repo %d of %s nor on this host: %s. Tag builds that provide them into %s (or a tag it inherits), let kojira make the repo, and build again; or install them on this builder",
			repoID, tagName, strings.Join(names, ", "), tagName)
	}
	overlay := filepath.Join(t.dir, "buildroot")
	var listing []any
	for _, p := range res.install {
		local, err := t.repoPackageFile(ctx, repoDir, p)
		if err != nil {
			return brid, nil, err
		}
		entry, err := packageFileEntry(local)
		if err != nil {
			return brid, nil, err
		}
		if err := unpackRPM(local, overlay); err != nil {
			return brid, nil, buildErrorf("unpack %s into the buildroot: %v", p.nevra(), err)
		}
		listing = append(listing, entry)
		t.logf("root.log", "unpacked %s into %s", p.nevra(), overlay)
	}
	if err := t.listRPMBuildroot(ctx, brid, listing, res); err != nil {
		return brid, nil, err
	}
	if len(res.install) == 0 {
		return brid, nil, nil
	}
	return brid, overlayEnv(overlay), nil
}

// listRPMBuildroot reports an rpmbuild-mode buildroot's packages: those
// unpacked from the repo and the host's that met a BuildRequires.
func (t *task) listRPMBuildroot(ctx context.Context, brid int64, fromRepo []any, res *resolution) error {
	seen := map[string]bool{}
	var nevras []string
	for _, what := range res.fromHost {
		if n, ok := hostNEVRA(what); ok && !seen[n] {
			seen[n] = true
			nevras = append(nevras, n)
		}
	}
	sort.Strings(nevras)
	fromHost, err := t.hostPackages(ctx, nevras)
	if err != nil {
		return buildErrorf("read this host's packages that met BuildRequires: %v", err)
	}
	t.logf("root.log", "buildroot %d contents reported to the hub: %d packages unpacked from the repo, %d of this host's rpm database that met BuildRequires (listed as external); BuildRequires met by a file or a command of this host are no packages and are not listed",
		brid, len(fromRepo), len(fromHost))
	return t.reportBuildroot(ctx, brid, append(fromRepo, fromHost...), false)
}

// overlayEnv points compilers, linkers, pkg-config and PATH at the
// overlay before the host's own directories.
func overlayEnv(dir string) []string {
	j := func(subs ...string) string {
		var l []string
		for _, s := range subs {
			l = append(l, filepath.Join(dir, s))
		}
		return strings.Join(l, ":")
	}
	libs := j("usr/lib64", "usr/lib", "lib64", "lib")
	return []string{
		"KOJIGO_BUILDROOT=" + dir,
		"CPATH=" + j("usr/include"),
		"LIBRARY_PATH=" + libs,
		"LD_LIBRARY_PATH=" + libs,
		"PKG_CONFIG_PATH=" + j("usr/lib64/pkgconfig", "usr/lib/pkgconfig", "usr/share/pkgconfig"),
		"PATH=" + j("usr/bin", "usr/sbin") + ":/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
	}
}

// repoPrimary is the local path of the repo's primary metadata, read
// from topdir or downloaded from topurl.
func (t *task) repoPrimary(ctx context.Context, repoDir string) (string, error) {
	repomd, err := t.fetchTop(ctx, path.Join(repoDir, "repodata/repomd.xml"))
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(repomd)
	if err != nil {
		return "", err
	}
	var doc struct {
		Data []struct {
			Type     string `xml:"type,attr"`
			Location struct {
				Href string `xml:"href,attr"`
			} `xml:"location"`
		} `xml:"data"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		return "", buildErrorf("%s/repodata/repomd.xml: %v", repoDir, err)
	}
	for _, d := range doc.Data {
		if d.Type == "primary" {
			href := path.Clean(d.Location.Href)
			if err := checkRel(href); err != nil {
				return "", err
			}
			return t.fetchTop(ctx, path.Join(repoDir, href))
		}
	}
	return "", buildErrorf("%s/repodata/repomd.xml names no primary metadata", repoDir)
}

// repoPackageFile is the local path of one package of the repo: its href
// is relative to the repo's arch directory (through toplink to topdir).
func (t *task) repoPackageFile(ctx context.Context, repoDir string, p *repoPackage) (string, error) {
	if p.base != "" {
		return "", buildErrorf("%s comes from an external repo (%s): rpmbuild mode unpacks only the tag's own packages; build with mock", p.nevra(), p.base)
	}
	rel := path.Clean(path.Join(repoDir, p.href))
	if err := checkRel(rel); err != nil {
		return "", err
	}
	return t.fetchTop(ctx, rel)
}

// decompress opens metadata by its name's suffix.
func decompress(name string, r io.Reader) (io.Reader, error) {
	switch {
	case strings.HasSuffix(name, ".gz"):
		return gzip.NewReader(r)
	case strings.HasSuffix(name, ".zst"):
		d, err := zstd.NewReader(r)
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	case strings.HasSuffix(name, ".xz"):
		return xz.NewReader(r)
	case strings.HasSuffix(name, ".bz2"):
		return bzip2.NewReader(r), nil
	case strings.HasSuffix(name, ".xml"):
		return r, nil
	}
	return nil, fmt.Errorf("%s: unknown compression", filepath.Base(name))
}

// unpackRPM writes an RPM's files under dir, as rpm2cpio | cpio -id would
// but confined to dir (no path leaves it, symlinks included) and without
// devices or ownership: the overlay is read by the build, not installed.
func unpackRPM(file, dir string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	rpm, err := rpmutils.ReadRpm(f)
	if err != nil {
		return err
	}
	pr, err := rpm.PayloadReaderExtended()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	linked := map[int][]string{} // inode -> earlier names of a hard-link group
	for {
		fi, err := pr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(path.Clean("/"+fi.Name()), "/")
		if name == "" {
			continue
		}
		if d := path.Dir(name); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		mode := os.FileMode(fi.Mode())
		switch {
		case pr.IsLink():
			// a hard link's data comes with the group's last name
			linked[fi.Inode()] = append(linked[fi.Inode()], name)
			continue
		case mode&0o170000 == 0o040000: // directory
			if err := root.MkdirAll(name, 0o755); err != nil {
				return err
			}
		case mode&0o170000 == 0o120000: // symlink
			_ = root.Remove(name)
			if err := root.Symlink(fi.Linkname(), name); err != nil {
				return err
			}
		case mode&0o170000 == 0o100000: // regular file
			out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode.Perm()|0o200)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, pr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			for _, other := range linked[fi.Inode()] {
				_ = root.Remove(other)
				if err := root.Link(name, other); err != nil {
					return err
				}
			}
			delete(linked, fi.Inode())
		}
	}
}
