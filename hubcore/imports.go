package hubcore

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"

	"kojigo/db"
	"kojigo/internal/kojixml"
	"kojigo/internal/rpmhdr"
)

// Imports of packages built elsewhere, as `koji import` makes them:
// createEmptyBuild records a COMPLETE build with no files, and importRPM
// takes an RPM uploaded to <topdir>/work/<path>/<basename>, records it in
// its build (creating the build from a source RPM), and moves the file to
// <topdir>/packages/<name>/<version>/<release>/<arch>/<file>, leaving a
// symbolic link where it was (Koji's move_and_symlink).
//
// Both need the admin permission, as in Koji 1.35 (its importRPM and
// createEmptyBuild assert 'admin'; Koji has no 'import' permission).
func importMethods() []method {
	return []method{
		{name: "importRPM", argdesc: "(path, basename)", fn: mImportRPM},
		{name: "createEmptyBuild", argdesc: "(name, version, release, epoch, owner=None, draft=False)", fn: mCreateEmptyBuild},
	}
}

// Signature header tags checked on import (rpm's rpmtag.h).
const (
	sigTagSHA1     = 269 // hex SHA-1 of the main header
	sigTagLongSize = 270 // header + payload bytes, 64-bit
	sigTagSHA256   = 273 // hex SHA-256 of the main header
	sigTagSize     = 1000
	sigTagMD5      = 1004 // MD5 of the main header and payload (Koji's payloadhash)

	tagPayloadDigest     = 5092 // hex digest of the (compressed) payload, main header
	tagPayloadDigestAlgo = 5093 // its algorithm, PGP numbering; 8 is SHA-256
	pgpHashSHA256        = 8
)

// createEmptyBuild(name, version, release, epoch, owner=None, draft=False):
// a COMPLETE build owned by owner (default: the caller), as Koji's
// new_build; a FAILED or CANCELED build of the NVR with no RPMs and no tag
// history is reused. Returns the build id.
func mCreateEmptyBuild(c *call, a *kojixml.Args) (any, error) {
	name := a.String(0, "name")
	version := a.String(1, "version")
	release := a.String(2, "release")
	epochArg := a.Any(3, "epoch")
	ownerArg := a.OptAny(4, "owner", nil)
	draft := a.OptBool(5, "draft", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	for _, f := range []struct{ arg, v string }{{"name", name}, {"version", version}, {"release", release}} {
		if !validNVRPart(f.v, f.arg == "name") {
			return nil, paramErr("createEmptyBuild: invalid %s %s: use letters, digits and ._+~^ (and - in names), at most 255 bytes, not starting with a dot", f.arg, quoteOdd(f.v))
		}
	}
	nb := db.NewBuild{PackageName: name, Version: version, Release: release, State: db.BuildComplete, OwnerID: c.user.ID}
	switch e := epochArg.(type) {
	case nil:
	case int64:
		if e < 0 || e > 1<<31-1 {
			return nil, paramErr("createEmptyBuild: epoch %d out of range (0 to 2147483647, or None)", e)
		}
		nb.Epoch = &e
	default:
		return nil, paramErr("createEmptyBuild: epoch must be an integer or None, got %s", typeName(epochArg))
	}
	if ownerArg != nil {
		u, err := c.hub.lookupUser(c, ownerArg)
		if errors.Is(err, db.ErrNotFound) {
			return nil, genericErr("No such user: %s", pyRepr(ownerArg))
		}
		if err != nil {
			return nil, err
		}
		nb.OwnerID = u.ID
	}
	if draft {
		// Koji's new_build for a draft: named N-V-R,draft_<id>; refused
		// when a build of N-V-R exists
		nb.Draft = true
		id, err := c.hub.store.CreateBuild(c.ctx, nb)
		if errors.Is(err, db.ErrConflict) {
			old, gerr := c.hub.store.GetBuildByNVR(c.ctx, name, version, release)
			if gerr != nil {
				return nil, genericErr("Target build already exists: %s-%s-%s", name, version, release)
			}
			return nil, genericErr("Target build already exists: %s (id=%d)", old.NVR(), old.ID)
		}
		if err != nil {
			return nil, err
		}
		c.wrote = true
		return id, nil
	}
	id, err := c.hub.store.ImportBuild(c.ctx, nb)
	var exists *db.BuildExistsError
	if errors.As(err, &exists) {
		return nil, genericErr("%s", exists.Error())
	}
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return id, nil
}

// importedRPM is an RPM file read and checked for import.
type importedRPM struct {
	rel       string // path under topdir/work
	info      os.FileInfo
	rpm       db.RPM
	source    bool
	sourceRPM string
}

// importRPM(path, basename): see the top of this file. Returns Koji's
// rpminfo struct, with the build's struct under "build".
func mImportRPM(c *call, a *kojixml.Args) (any, error) {
	dir := a.String(0, "path")
	base := a.String(1, "basename")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	if _, why := splitRelPath(dir); why != "" {
		return nil, paramErr("importRPM: path %s: %s; give the directory uploadFile wrote to, relative to the work directory", quoteOdd(dir), why)
	}
	if why := badComponent(base); why != "" || strings.Contains(base, "/") {
		if why == "" {
			why = "contains '/'"
		}
		return nil, paramErr("importRPM: basename %s: %s; give the uploaded file's name", quoteOdd(base), why)
	}
	rel := strings.TrimSuffix(dir, "/") + "/" + base
	r, err := c.hub.readImport(rel)
	if err != nil {
		return nil, err
	}
	if want := r.rpm.Filename(); base != want {
		return nil, genericErr("bad filename: %s (expected %s)", base, want)
	}

	var b db.Build
	var finalPath, sigFile string
	moved := false
	err = c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		if prev, err := tx.GetRPMByNVRA(c.ctx, r.rpm.Name, r.rpm.Version, r.rpm.Release, r.rpm.Arch); err == nil {
			return genericErr("RPM already imported: %s (rpm id %d, build id %d)", r.rpm.Filename(), prev.ID, prev.BuildID)
		} else if !errors.Is(err, db.ErrNotFound) {
			return err
		}
		var err error
		if b, err = importBuildFor(c, tx, r); err != nil {
			return err
		}
		if st := b.State; st == db.BuildFailed || st == db.BuildCanceled || st == db.BuildDeleted {
			return genericErr("Build is %s: %s", db.BuildStateName(st), b.NVR())
		}
		destDir := filepath.Join(c.hub.cfg.TopDir, "packages", b.PackageName, b.Version, b.Release, r.rpm.Arch)
		finalPath = filepath.Join(destDir, base)
		if _, err := os.Lstat(finalPath); err == nil {
			return genericErr("Error importing archive file, %s already exists", filepath.Join("packages", b.PackageName, b.Version, b.Release, r.rpm.Arch, base))
		}
		r.rpm.BuildID = b.ID
		id, err := tx.AddRPM(c.ctx, r.rpm)
		if errors.Is(err, db.ErrConflict) {
			return genericErr("RPM already imported: %s", r.rpm.Filename())
		} else if err != nil {
			return err
		}
		r.rpm.ID = id
		// A tagged build that gains an RPM changes its tags' repos (Koji's
		// set_tag_update(..., 'IMPORT')).
		tags, err := tx.BuildTagIDs(c.ctx, b.ID)
		if err != nil {
			return err
		}
		if len(tags) > 0 {
			ev, err := tx.NewEvent(c.ctx)
			if err != nil {
				return err
			}
			for _, t := range tags {
				if err := tx.AddTagUpdate(c.ctx, t, ev, &c.user.ID, db.TagUpdateImport); err != nil {
					return err
				}
			}
		}
		// The move is the last step, so that a refused file stays where it
		// was uploaded; it is undone below if the commit fails.
		if err := c.hub.moveImport(r, destDir, finalPath); err != nil {
			return genericErr("Unable to import %s: %v", rel, err)
		}
		moved = true
		// Koji's importRPM then records the package's own signature
		// header (add_rpm_sig with rip_rpm_sighdr).
		if sigFile, err = c.hub.recordOwnSig(c, tx, b, r.rpm, finalPath); err != nil {
			return genericErr("Unable to import %s: %v", rel, err)
		}
		return nil
	})
	if err != nil {
		if sigFile != "" {
			os.Remove(sigFile)
		}
		if moved {
			c.hub.unmoveImport(r, finalPath)
		}
		return nil, err
	}
	c.wrote = true
	if nb, err := c.hub.store.GetBuild(c.ctx, b.ID); err == nil {
		b = nb
	}
	return importedRPMMap(r, b), nil
}

// importBuildFor finds (or, for a source RPM, creates) the build an RPM
// belongs to, as Koji's import_rpm: a source RPM's own NVR, a binary RPM's
// SOURCERPM.
func importBuildFor(c *call, tx *db.Store, r *importedRPM) (db.Build, error) {
	if r.source {
		b, err := tx.GetBuildByNVR(c.ctx, r.rpm.Name, r.rpm.Version, r.rpm.Release)
		if !errors.Is(err, db.ErrNotFound) {
			return b, err
		}
		id, err := tx.ImportBuild(c.ctx, db.NewBuild{PackageName: r.rpm.Name, Version: r.rpm.Version, Release: r.rpm.Release,
			Epoch: r.rpm.Epoch, State: db.BuildComplete, OwnerID: c.user.ID})
		var exists *db.BuildExistsError
		if errors.As(err, &exists) {
			return b, genericErr("%s", exists.Error())
		}
		if err != nil {
			return b, err
		}
		return tx.GetBuild(c.ctx, id)
	}
	n, v, rl, arch, ok := parseNVRA(r.sourceRPM)
	if !ok || arch != "src" {
		return db.Build{}, genericErr("Unable to import %s: its SOURCERPM %s is not N-V-R.src.rpm", r.rel, quoteOdd(r.sourceRPM))
	}
	b, err := tx.GetBuildByNVR(c.ctx, n, v, rl)
	if errors.Is(err, db.ErrNotFound) {
		return b, genericErr("No such build: %s-%s-%s (import %s first, or create the build with createEmptyBuild as koji import --create-build does)", n, v, rl, r.sourceRPM)
	}
	return b, err
}

// readImport opens an uploaded RPM, reads its headers, checks its
// signature header's size and digests against the file, and returns what
// the rpms row needs.
func (h *Hub) readImport(rel string) (*importedRPM, error) {
	f, fi, err := h.openWorkFile(rel)
	if err != nil {
		return nil, genericErr("No such file: work/%s (%v); upload it first with uploadFile", rel, err)
	}
	defer f.Close()
	p, err := rpmhdr.NewReader(rpmhdr.Limits{}).Read(f, fi.Size())
	if err != nil {
		return nil, genericErr("Unable to import %s: %v", rel, err)
	}
	m, sig := &p.Main, &p.Signature
	r := &importedRPM{rel: rel, info: fi}
	r.rpm = headerRPM(m)
	r.sourceRPM = m.String(rpmhdr.TagSourceRPM)
	r.source = p.Source || m.Has(rpmhdr.TagSourcePackage)
	if r.source {
		r.rpm.Arch = "src"
	}
	sigMD5 := bytes.Clone(sig.Bin(sigTagMD5))
	sigSHA1, sigSHA256 := sig.String(sigTagSHA1), sig.String(sigTagSHA256)
	var payloadDigest []byte
	if d := m.Strings(tagPayloadDigest); len(d) > 0 {
		algo, ok := m.Number(tagPayloadDigestAlgo)
		if ok && algo != pgpHashSHA256 {
			return nil, genericErr("Unable to import %s: payload digest algorithm %d is not supported (only SHA-256, 8)", rel, algo)
		}
		payloadDigest = bytes.Clone(d[0])
	}
	sigSize, hasSize := sig.Number(sigTagLongSize)
	if !hasSize {
		sigSize, hasSize = sig.Number(sigTagSize)
	}
	if err := errors.Join(m.Err(), sig.Err()); err != nil {
		return nil, genericErr("Unable to import %s: %v", rel, err)
	}
	for _, f := range []struct{ what, v string }{{"name", r.rpm.Name}, {"version", r.rpm.Version}, {"release", r.rpm.Release}, {"arch", r.rpm.Arch}} {
		if !validNVRPart(f.v, f.what == "name") {
			return nil, genericErr("Unable to import %s: header has an invalid %s %s", rel, f.what, quoteOdd(f.v))
		}
	}
	if !r.source && r.sourceRPM == "" {
		return nil, genericErr("Unable to import %s: a binary rpm without a SOURCERPM header cannot be placed in a build", rel)
	}
	r.rpm.Size = fi.Size()
	if hasSize && int64(sigSize) != fi.Size()-p.HeaderStart {
		return nil, genericErr("Unable to import %s: the signature header gives %d bytes of header and payload, the file has %d (truncated or damaged upload: upload it again)",
			rel, sigSize, fi.Size()-p.HeaderStart)
	}

	// One pass over the file: its sha256, the md5 of header and payload
	// (the signature's MD5, Koji's payloadhash) and the header digests.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, genericErr("Unable to import %s: %v", rel, err)
	}
	whole, md, hdr1, hdr256, payload := sha256.New(), md5.New(), sha1.New(), sha256.New(), sha256.New()
	parts := []struct {
		n int64
		w io.Writer
	}{
		{p.HeaderStart, whole},
		{p.HeaderEnd - p.HeaderStart, io.MultiWriter(whole, md, hdr1, hdr256)},
		{fi.Size() - p.HeaderEnd, io.MultiWriter(whole, md, payload)},
	}
	for _, part := range parts {
		if n, err := io.CopyN(part.w, f, part.n); err != nil {
			return nil, genericErr("Unable to import %s: read %d of %d bytes: %v (the file changed while importing: upload it again)", rel, n, part.n, err)
		}
	}
	r.rpm.Checksum = hexSum(whole)
	r.rpm.PayloadHash = hexSum(md)
	for _, d := range []struct {
		what      string
		want, got []byte
	}{
		{"MD5 digest", sigMD5, md.Sum(nil)},
		{"header SHA1 digest", []byte(sigSHA1), []byte(hexSum(hdr1))},
		{"header SHA256 digest", []byte(sigSHA256), []byte(hexSum(hdr256))},
		{"payload SHA256 digest", payloadDigest, []byte(hexSum(payload))},
	} {
		if len(d.want) > 0 && !bytes.Equal(d.want, d.got) {
			return nil, genericErr("Unable to import %s: %s does not match the signature header (damaged upload: upload it again)", rel, d.what)
		}
	}
	return r, nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// moveImport moves the checked upload to its place under packages/ and
// leaves a relative symbolic link to it in the work directory.
func (h *Hub) moveImport(r *importedRPM, destDir, final string) error {
	return h.moveAndSymlink(r.rel, r.info, destDir, final)
}

// moveAndSymlink moves topdir/work/<rel> to final (in destDir, created if
// needed) and leaves a relative symbolic link to it where it was (Koji's
// move_and_symlink). The file moved must be the one checked (info): a
// file swapped in meanwhile is refused and put back.
func (h *Hub) moveAndSymlink(rel string, info os.FileInfo, destDir, final string) error {
	src := filepath.Join(h.cfg.TopDir, "work", filepath.FromSlash(rel))
	if err := os.MkdirAll(destDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", destDir, err)
	}
	if err := os.Rename(src, final); err != nil {
		return fmt.Errorf("move to packages: %w", err)
	}
	fi, err := os.Lstat(final)
	if err != nil || !os.SameFile(fi, info) || fi.Size() != info.Size() {
		os.Rename(final, src)
		return errors.New("the file changed while importing: upload it again")
	}
	if err := os.Chmod(final, 0o644); err != nil {
		os.Rename(final, src)
		return err
	}
	if d, err := os.Open(destDir); err == nil {
		d.Sync()
		d.Close()
	}
	link, err := filepath.Rel(filepath.Dir(src), final)
	if err != nil {
		link = final
	}
	if err := os.Symlink(link, src); err != nil {
		h.log.Warn("import: leave a link in the work directory", "path", src, "err", err)
	}
	return nil
}

// unmoveImport puts a moved file back where it was uploaded.
func (h *Hub) unmoveImport(r *importedRPM, final string) { h.unmoveAndSymlink(r.rel, final) }

// unmoveAndSymlink undoes moveAndSymlink: the link goes, the file returns
// to topdir/work/<rel>.
func (h *Hub) unmoveAndSymlink(rel, final string) {
	src := filepath.Join(h.cfg.TopDir, "work", filepath.FromSlash(rel))
	if fi, err := os.Lstat(src); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		os.Remove(src)
	}
	if err := os.Rename(final, src); err != nil {
		h.log.Error("import: move back after a failed import", "from", final, "to", src, "err", err)
	}
}

// recordOwnSig records an imported RPM's own signature header, as Koji's
// add_rpm_sig(rpminfo['id'], rip_rpm_sighdr(fn)) after an import: an
// rpmsigs row under the header's key ("" for an unsigned package) and the
// header under the build's data/sigcache. path is the RPM file (already
// checked by readImport). It returns the header file it wrote, for the
// caller to remove if the import fails after all.
func (h *Hub) recordOwnSig(c *call, tx *db.Store, b db.Build, r db.RPM, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	raw, err := rpmhdr.SignatureBytes(f, fi.Size())
	if err != nil {
		return "", fmt.Errorf("read the signature header: %w", err)
	}
	sig, err := rpmhdr.ParseSignature(raw)
	if err != nil {
		return "", fmt.Errorf("read the signature header: %w", err)
	}
	sum := md5.Sum(raw)
	if err := tx.AddRPMSig(c.ctx, db.RPMSig{RPMID: r.ID, SigKey: sig.KeyID, SigHash: hex.EncodeToString(sum[:])}); err != nil {
		return "", err
	}
	dest := h.sigPath(b, r, sig.KeyID)
	if err := storeFile(dest, raw); err != nil {
		return "", fmt.Errorf("store the signature header: %w", err)
	}
	return dest, nil
}

// importedRPMMap is Koji's answer to importRPM: the rpminfo row, the
// header fields it was read from, and the build.
func importedRPMMap(r *importedRPM, b db.Build) map[string]any {
	var epoch, sourcepackage, sourcerpm any
	if r.rpm.Epoch != nil {
		epoch = *r.rpm.Epoch
	}
	if r.source {
		sourcepackage = int64(1)
	}
	if r.sourceRPM != "" {
		sourcerpm = r.sourceRPM
	}
	return map[string]any{
		"id": r.rpm.ID, "build_id": b.ID, "name": r.rpm.Name, "version": r.rpm.Version, "release": r.rpm.Release,
		"epoch": epoch, "arch": r.rpm.Arch, "buildtime": r.rpm.BuildTime, "size": r.rpm.Size,
		"payloadhash": r.rpm.PayloadHash, "sourcepackage": sourcepackage, "sourcerpm": sourcerpm,
		"draft": false, "buildroot_id": nil, "brootid": nil, "external_repo_id": int64(0),
		"build": buildMap(b),
	}
}
