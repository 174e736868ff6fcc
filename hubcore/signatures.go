package hubcore

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"kojigo/db"
	"kojigo/internal/kojixml"
	"kojigo/internal/rpmhdr"
)

// RPM signatures, as Koji keeps them. A signing tool (sigul, robosignatory,
// `koji import-sig`) signs a copy of an RPM elsewhere and sends its
// signature header with addRPMSig; the hub checks that it belongs to the
// stored RPM, records it in rpmsigs under the key's ID (sigkey: the last 8
// hex digits of the key ID, lowercase) and keeps the header under the
// build's directory:
//
//	packages/N/V/R/data/sigcache/<sigkey>/<arch>/N-V-R.A.rpm.sig
//
// writeSignedRPM then writes the signed copy, the stored RPM with that
// header in place of its own (lead, new signature header, the original
// main header and payload):
//
//	packages/N/V/R/data/signed/<sigkey>/<arch>/N-V-R.A.rpm
//
// Importing and writing need the sign permission; deleting needs admin.
func signatureMethods() []method {
	return []method{
		{name: "addRPMSig", argdesc: "(an_rpm, data)", fn: mAddRPMSig},
		{name: "queryRPMSigs", argdesc: "(rpm_id=None, sigkey=None, queryOpts=None)", fn: mQueryRPMSigs},
		{name: "deleteRPMSig", argdesc: "(rpminfo, sigkey=None, all_sigs=False)", fn: mDeleteRPMSig},
		{name: "writeSignedRPM", argdesc: "(an_rpm, sigkey, force=False)", fn: mWriteSignedRPM},
		{name: "getRPMChecksums", argdesc: "(rpm_id, checksum_types=None, cacheonly=False)", fn: mGetRPMChecksums},
	}
}

// Koji's CHECKSUM_TYPES, and the ones writeSignedRPM records (Koji's
// default RPMDefaultChecksums).
var checksumTypes = map[string]int{"md5": 0, "sha1": 1, "sha256": 2}

const (
	checksumMD5    = 0
	checksumSHA256 = 2
)

// findRPM looks up an RPM as Koji's get_rpm: an id, "N-V-R.A" or a struct
// with id or name, version, release and arch. A missing RPM is
// db.ErrNotFound.
func findRPM(c *call, info any) (db.RPM, error) {
	switch v := info.(type) {
	case int64:
		return c.hub.store.GetRPM(c.ctx, v)
	case string:
		n, ver, rel, arch, ok := parseNVRA(v)
		if !ok {
			return db.RPM{}, genericErr("invalid format: %s", v)
		}
		return c.hub.store.GetRPMByNVRA(c.ctx, n, ver, rel, arch)
	case map[string]any:
		if id, ok := v["id"].(int64); ok {
			return c.hub.store.GetRPM(c.ctx, id)
		}
		n, _ := v["name"].(string)
		ver, _ := v["version"].(string)
		rel, _ := v["release"].(string)
		arch, _ := v["arch"].(string)
		if n == "" || ver == "" || rel == "" || arch == "" {
			return db.RPM{}, paramErr("rpminfo: a struct needs id or name, version, release and arch")
		}
		return c.hub.store.GetRPMByNVRA(c.ctx, n, ver, rel, arch)
	}
	return db.RPM{}, paramErr("Invalid type for rpminfo: %s", typeName(info))
}

// strictRPM is findRPM with Koji's fault for a missing RPM.
func strictRPM(c *call, info any) (db.RPM, error) {
	r, err := findRPM(c, info)
	if errors.Is(err, db.ErrNotFound) {
		return r, genericErr("No such rpm: %s", pyRepr(info))
	}
	return r, err
}

func nvra(r db.RPM) string { return r.Name + "-" + r.Version + "-" + r.Release + "." + r.Arch }

// rpmFile, sigPath and signedPath are Koji's pathinfo.rpm, sighdr and
// signed under the build directory. The RPM's name, version and release
// are its build's (a subpackage's name is not the build's).
func (h *Hub) rpmFile(b db.Build, r db.RPM) string {
	return filepath.Join(h.cfg.TopDir, "packages", b.PackageName, b.Version, b.Release, r.Arch, r.Filename())
}

func (h *Hub) sigPath(b db.Build, r db.RPM, sigkey string) string {
	return filepath.Join(h.cfg.TopDir, "packages", b.PackageName, b.Version, b.Release, "data", "sigcache", sigkey, r.Arch, r.Filename()+".sig")
}

func (h *Hub) signedPath(b db.Build, r db.RPM, sigkey string) string {
	return filepath.Join(h.cfg.TopDir, "packages", b.PackageName, b.Version, b.Release, "data", "signed", sigkey, r.Arch, r.Filename())
}

// validSigKey is what a sigkey can be: hex digits (Koji's key IDs, of any
// length a caller may use), or "" for an unsigned header. Nothing else can
// be in rpmsigs, so anything else names no signature and never reaches a
// path.
func validSigKey(k string) bool {
	if len(k) > 64 {
		return false
	}
	for _, r := range k {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

// sigData decodes addRPMSig's data: base64 text, as the CLI sends it, or
// an XML-RPC base64 value.
func sigData(v any) ([]byte, error) {
	const maxText = rpmhdr.MaxSignatureBytes/3*4 + 4 + rpmhdr.MaxSignatureBytes/57 + 8 // base64 with line breaks
	switch d := v.(type) {
	case []byte:
		return d, nil
	case string:
		if len(d) > maxText {
			return nil, paramErr("addRPMSig: data is %d bytes of base64, more than a signature header (at most %d bytes) can be", len(d), rpmhdr.MaxSignatureBytes)
		}
		clean := strings.Map(func(r rune) rune {
			if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, d)
		b, err := base64.StdEncoding.DecodeString(clean)
		if err != nil {
			return nil, paramErr("addRPMSig: data is not base64: %v; send the signature header base64-encoded", err)
		}
		return b, nil
	}
	return nil, paramErr("addRPMSig: data must be the signature header in base64, got %s", typeName(v))
}

// addRPMSig(an_rpm, data): see the top of this file. Returns None.
func mAddRPMSig(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "an_rpm")
	data := a.Any(1, "data")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("sign"); err != nil {
		return nil, err
	}
	raw, err := sigData(data)
	if err != nil {
		return nil, err
	}
	r, err := strictRPM(c, info)
	if err != nil {
		return nil, err
	}
	b, err := c.hub.store.GetBuild(c.ctx, r.BuildID)
	if err != nil {
		return nil, err
	}
	if dir := filepath.Dir(filepath.Dir(c.hub.rpmFile(b, r))); !isDir(dir) {
		return nil, genericErr("No such directory: %s", dir)
	}
	sig, err := rpmhdr.ParseSignature(raw)
	if err != nil {
		return nil, genericErr("Invalid rpm signature header: %v", err)
	}
	if err := c.hub.checkSigDigests(b, r, sig); err != nil {
		return nil, err
	}
	sum := md5.Sum(raw)
	row := db.RPMSig{RPMID: r.ID, SigKey: sig.KeyID, SigHash: hex.EncodeToString(sum[:])}
	err = c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		if err := tx.AddRPMSig(c.ctx, row); errors.Is(err, db.ErrConflict) {
			return genericErr("Signature already exists for package %s, key %s", nvra(r), sig.KeyID)
		} else if err != nil {
			return err
		}
		// The file goes in last: a refused or failed insert leaves none.
		if err := storeFile(c.hub.sigPath(b, r, sig.KeyID), raw); err != nil {
			return genericErr("Unable to store the signature header of %s: %v", nvra(r), err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// checkSigDigests checks that a signature header was made for the stored
// RPM: its MD5 (of main header and payload) against the RPM's payloadhash,
// its SHA-1 and SHA-256 against the stored main header. At least one must
// be there.
func (h *Hub) checkSigDigests(b db.Build, r db.RPM, sig *rpmhdr.Signature) error {
	if len(sig.MD5) == 0 && sig.SHA1 == "" && sig.SHA256 == "" {
		return genericErr("wrong md5 for %s: the signature header carries no digest of the package", nvra(r))
	}
	if len(sig.MD5) > 0 && hex.EncodeToString(sig.MD5) != r.PayloadHash {
		return genericErr("wrong md5 for %s: %x", nvra(r), sig.MD5)
	}
	if sig.SHA1 == "" && sig.SHA256 == "" {
		return nil
	}
	path := h.rpmFile(b, r)
	f, err := os.Open(path)
	if err != nil {
		return genericErr("No such path: %s", path)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return genericErr("Not a regular file: %s", path)
	}
	p, err := rpmhdr.NewReader(rpmhdr.Limits{}).Read(f, fi.Size())
	if err != nil {
		return genericErr("Unable to read %s: %v", path, err)
	}
	h1, h256 := sha1.New(), sha256.New()
	if _, err := io.Copy(io.MultiWriter(h1, h256), io.NewSectionReader(f, p.HeaderStart, p.HeaderEnd-p.HeaderStart)); err != nil {
		return genericErr("Unable to read %s: %v", path, err)
	}
	if sig.SHA1 != "" && sig.SHA1 != hexSum(h1) {
		return genericErr("wrong header sha1 for %s: %s", nvra(r), sig.SHA1)
	}
	if sig.SHA256 != "" && sig.SHA256 != hexSum(h256) {
		return genericErr("wrong header sha256 for %s: %s", nvra(r), sig.SHA256)
	}
	return nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// storeFile writes data to path through a temporary file in the same
// directory, synced before the rename.
func storeFile(path string, data []byte) error {
	return storeFileFrom(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

func storeFileFrom(path string, fill func(io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = fill(f)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// queryRPMSigs(rpm_id=None, sigkey=None, queryOpts=None): rows of rpmsigs
// (rpm_id, sigkey, sighash). rpm_id may be an id, "N-V-R.A" or a struct;
// an unknown RPM gives [].
func mQueryRPMSigs(c *call, a *kojixml.Args) (any, error) {
	info := a.OptAny(0, "rpm_id", nil)
	key := a.OptAny(1, "sigkey", nil)
	qo := a.OptMap(2, "queryOpts")
	if err := a.Done(); err != nil {
		return nil, err
	}
	var f db.SigFilter
	switch v := info.(type) {
	case nil:
	case int64:
		f.RPMID = &v
	default:
		r, err := findRPM(c, info)
		if errors.Is(err, db.ErrNotFound) {
			return []any{}, nil
		} else if err != nil {
			return nil, err
		}
		f.RPMID = &r.ID
	}
	switch v := key.(type) {
	case nil:
	case string:
		k := strings.ToLower(v)
		if !validSigKey(k) {
			return applyQueryOpts([]any{}, qo)
		}
		f.SigKey = &k
	default:
		return nil, paramErr("queryRPMSigs: sigkey must be a string, got %s", typeName(key))
	}
	sigs, err := c.hub.store.ListRPMSigs(c.ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(sigs))
	for _, s := range sigs {
		out = append(out, map[string]any{"rpm_id": s.RPMID, "sigkey": s.SigKey, "sighash": s.SigHash})
	}
	return applyQueryOpts(out, qo)
}

// deleteRPMSig(rpminfo, sigkey=None, all_sigs=False): removes signatures of
// an RPM (admin). Their signed copies are deleted and their headers kept
// beside them as <file>.<sighash>.save, as Koji does.
func mDeleteRPMSig(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "rpminfo")
	key := a.OptAny(1, "sigkey", nil)
	all := a.OptBool(2, "all_sigs", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	var f db.SigFilter
	if !all {
		k, ok := key.(string)
		if key != nil && !ok {
			return nil, paramErr("deleteRPMSig: sigkey must be a string, got %s", typeName(key))
		}
		if k == "" {
			return nil, genericErr("No signature specified")
		}
		k = strings.ToLower(k)
		f.SigKey = &k
	}
	r, err := strictRPM(c, info)
	if err != nil {
		return nil, err
	}
	f.RPMID = &r.ID
	b, err := c.hub.store.GetBuild(c.ctx, r.BuildID)
	if err != nil {
		return nil, err
	}
	err = c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		var sigs []db.RPMSig
		if f.SigKey == nil || validSigKey(*f.SigKey) {
			var err error
			if sigs, err = tx.ListRPMSigs(c.ctx, f); err != nil {
				return err
			}
		}
		if len(sigs) == 0 {
			return genericErr("%s has no matching signatures to delete", nvra(r))
		}
		keys := make([]string, len(sigs))
		for i, s := range sigs {
			keys[i] = s.SigKey
		}
		if _, err := tx.DeleteRPMSigs(c.ctx, r.ID, keys); err != nil {
			return err
		}
		// Files last, signed copies first: a failure rolls the rows back.
		for _, s := range sigs {
			p := c.hub.signedPath(b, r, s.SigKey)
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return genericErr("Failed to delete %s", p)
			}
		}
		for _, s := range sigs {
			p := c.hub.sigPath(b, r, s.SigKey)
			fi, err := os.Lstat(p)
			if errors.Is(err, os.ErrNotExist) {
				c.hub.log.Error("deleteRPMSig: missing signature header file", "path", p)
				continue
			}
			if err != nil || !fi.Mode().IsRegular() {
				return genericErr("Not a regular file: %s", p)
			}
			if err := os.Rename(p, p+"."+s.SigHash+".save"); err != nil {
				return genericErr("Failed to rename %s: %v", p, err)
			}
		}
		c.hub.log.Warn("deleted rpm signatures", "rpm", r.ID, "sigkeys", keys, "user", c.user.Name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// writeSignedRPM(an_rpm, sigkey, force=False): writes the signed copy of
// an RPM from its stored signature header (sign permission). An existing
// copy is kept unless force. Returns None.
func mWriteSignedRPM(c *call, a *kojixml.Args) (any, error) {
	return writeSignedRPM(c, a, "sign")
}

// writeSignedRPM is writeSignedRPM for a caller with perm, or for a host
// (host.writeSignedRPM) when perm is "".
func writeSignedRPM(c *call, a *kojixml.Args, perm string) (any, error) {
	info := a.Any(0, "an_rpm")
	key := strings.ToLower(a.String(1, "sigkey"))
	force := a.OptBool(2, "force", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if perm == "" {
		if _, err := c.requireHost(); err != nil {
			return nil, err
		}
	} else if err := c.requirePerm(perm); err != nil {
		return nil, err
	}
	r, err := strictRPM(c, info)
	if err != nil {
		return nil, err
	}
	b, err := c.hub.store.GetBuild(c.ctx, r.BuildID)
	if err != nil {
		return nil, err
	}
	src := c.hub.rpmFile(b, r)
	if fi, err := os.Stat(src); err != nil {
		return nil, genericErr("No such path: %s", src)
	} else if !fi.Mode().IsRegular() {
		return nil, genericErr("Not a regular file: %s", src)
	}
	var row *db.RPMSig
	if validSigKey(key) {
		sigs, err := c.hub.store.ListRPMSigs(c.ctx, db.SigFilter{RPMID: &r.ID, SigKey: &key})
		if err != nil {
			return nil, err
		}
		if len(sigs) == 1 {
			row = &sigs[0]
		}
	}
	if row == nil {
		return nil, genericErr("No cached signature for package %s, key %s", nvra(r), key)
	}
	dst := c.hub.signedPath(b, r, key)
	if _, err := os.Lstat(dst); err == nil && !force {
		return nil, c.hub.recordSignedChecksums(c, r, key, dst)
	}
	raw, err := os.ReadFile(c.hub.sigPath(b, r, key))
	if err != nil {
		return nil, genericErr("Unable to read the signature header of %s, key %s: %v", nvra(r), key, err)
	}
	if sum := md5.Sum(raw); hex.EncodeToString(sum[:]) != row.SigHash {
		return nil, genericErr("The stored signature header of %s, key %s, does not match its record (sighash %s); delete the signature and import it again", nvra(r), key, row.SigHash)
	}
	sig, err := rpmhdr.ParseSignature(raw)
	if err != nil {
		return nil, genericErr("Invalid rpm signature header for %s, key %s: %v", nvra(r), key, err)
	}
	in, err := os.Open(src)
	if err != nil {
		return nil, genericErr("No such path: %s", src)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return nil, err
	}
	m5, s256 := md5.New(), sha256.New()
	err = storeFileFrom(dst, func(w io.Writer) error {
		_, err := rpmhdr.Splice(io.MultiWriter(w, m5, s256), in, fi.Size(), sig)
		return err
	})
	if err != nil {
		return nil, genericErr("Unable to write the signed copy of %s: %v", nvra(r), err)
	}
	c.wrote = true
	return nil, c.hub.setChecksums(c, r.ID, key, map[int]string{checksumMD5: hexSum(m5), checksumSHA256: hexSum(s256)})
}

// recordSignedChecksums records the checksums of an existing signed copy.
func (h *Hub) recordSignedChecksums(c *call, r db.RPM, key, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return genericErr("File %s cannot be read -- %v", path, err)
	}
	defer f.Close()
	m5, s256 := md5.New(), sha256.New()
	if _, err := io.Copy(io.MultiWriter(m5, s256), f); err != nil {
		return genericErr("File %s cannot be read -- %v", path, err)
	}
	c.wrote = true
	return h.setChecksums(c, r.ID, key, map[int]string{checksumMD5: hexSum(m5), checksumSHA256: hexSum(s256)})
}

func (h *Hub) setChecksums(c *call, rpmID int64, key string, sums map[int]string) error {
	return h.store.WithTx(c.ctx, func(tx *db.Store) error {
		for typ, sum := range sums {
			if err := tx.SetRPMChecksum(c.ctx, rpmID, key, typ, sum); err != nil {
				return err
			}
		}
		return nil
	})
}

// getRPMChecksums(rpm_id, checksum_types=None, cacheonly=False): the
// checksums of an RPM's signed copies, {sigkey: {type: checksum}}, for the
// keys it has signatures for. A missing checksum is computed from the
// signed copy unless cacheonly (then it is None, as when there is no copy).
func mGetRPMChecksums(c *call, a *kojixml.Args) (any, error) {
	id, isInt := a.Any(0, "rpm_id").(int64)
	types := a.OptAny(1, "checksum_types", nil)
	cacheonly := a.OptBool(2, "cacheonly", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if !isInt {
		return nil, genericErr("rpm_id must be an integer")
	}
	r, err := strictRPM(c, id)
	if err != nil {
		return nil, err
	}
	var want []string
	switch v := types.(type) {
	case nil:
		want = []string{"md5", "sha256"}
	case []any:
		for _, t := range v {
			s, _ := t.(string)
			if _, ok := checksumTypes[s]; !ok {
				return nil, genericErr("Checksum_type %s isn't supported", pyRepr(t))
			}
			want = append(want, s)
		}
		if len(want) == 0 {
			want = []string{"md5", "sha256"}
		}
	default:
		return nil, genericErr("checksum_type must be a list")
	}
	sigs, err := c.hub.store.ListRPMSigs(c.ctx, db.SigFilter{RPMID: &r.ID})
	if err != nil {
		return nil, err
	}
	have, err := c.hub.store.RPMChecksums(c.ctx, r.ID)
	if err != nil {
		return nil, err
	}
	b, err := c.hub.store.GetBuild(c.ctx, r.BuildID)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, s := range sigs {
		sums := map[string]any{}
		missing := false
		for _, t := range want {
			if v, ok := have[s.SigKey][checksumTypes[t]]; ok {
				sums[t] = v
			} else {
				sums[t], missing = nil, true
			}
		}
		if missing && !cacheonly {
			if err := c.hub.recordSignedChecksums(c, r, s.SigKey, c.hub.signedPath(b, r, s.SigKey)); err == nil {
				if again, err := c.hub.store.RPMChecksums(c.ctx, r.ID); err == nil {
					for _, t := range want {
						if v, ok := again[s.SigKey][checksumTypes[t]]; ok {
							sums[t] = v
						}
					}
				}
			}
		}
		out[s.SigKey] = sums
	}
	return out, nil
}

// withRPMSigs is listTaggedRPMS's rpmsigs=True (Koji's LEFT OUTER JOIN of
// rpmsigs): one row per RPM and signature, with its "sigkey"; an RPM with
// no signature gives one row with sigkey None.
func (h *Hub) withRPMSigs(c *call, rpms []any) ([]any, error) {
	ids := make([]int64, 0, len(rpms))
	for _, r := range rpms {
		ids = append(ids, r.(map[string]any)["id"].(int64))
	}
	var sigs []db.RPMSig
	for len(ids) > 0 { // bounded IN lists
		n := min(len(ids), 1000)
		part, err := h.store.ListRPMSigs(c.ctx, db.SigFilter{RPMIDs: ids[:n]})
		if err != nil {
			return nil, err
		}
		sigs, ids = append(sigs, part...), ids[n:]
	}
	keys := map[int64][]string{}
	for _, s := range sigs {
		keys[s.RPMID] = append(keys[s.RPMID], s.SigKey)
	}
	out := make([]any, 0, len(rpms)+len(sigs))
	for _, r := range rpms {
		m := r.(map[string]any)
		ks := keys[m["id"].(int64)]
		if len(ks) == 0 {
			m["sigkey"] = nil
			out = append(out, m)
			continue
		}
		for _, k := range ks {
			row := make(map[string]any, len(m)+1)
			for f, v := range m {
				row[f] = v
			}
			row["sigkey"] = k
			out = append(out, row)
		}
	}
	return out, nil
}
