package hubcore

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/adler32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"kojigo/db"
	"kojigo/hubcore/policy"
	"kojigo/internal/kojixml"
)

// Content-generator imports, as Koji 1.35's CGImport, CGInitBuild and
// CGRefundBuild: a tool that built something elsewhere (OSBS, a
// pipeline) describes the build in a metadata document (Koji's
// content_generator_metadata.rst, metadata_version 0) and uploads its
// outputs to topdir/work/<directory>/ (`koji import-cg` does both).
//
//	CGInitBuild(cg, data)          a BUILDING build reserved by the CG, {build_id, token}
//	CGImport(metadata, dir, token) the build (reserved or new) COMPLETE with its outputs
//	CGRefundBuild(cg, id, token)   a reserved build FAILED or CANCELED
//
// The caller must have been granted the content generator
// (grantCGAccess); the cg_import policy decides, and the volume policy
// places the build (import True, import_type 'cg', cg_list). Each
// buildroot of the metadata becomes a buildroot of br_type 1 with its
// tools; its rpm components that are this hub's rpms are its listing
// (others are logged in data/logs/cg_import.log and ignored, as Koji
// does). Outputs are checked (size, checksum, RPM headers and digests)
// before anything is written; rpms are recorded with their own signature
// header and moved under packages/, logs to data/logs[/subdir], a
// symbolic link left in the work directory; metadata.json goes to the
// build directory. kojigo stores RPMs and logs only: an archive output
// (maven, win, image or another build type) is refused. A refused or
// failed import leaves nothing: the transaction is rolled back, moved
// files go back and the build directory is removed.
func cgImportMethods() []method {
	return []method{
		{name: "CGInitBuild", argdesc: "(cg, data)", fn: mCGInitBuild},
		{name: "CGRefundBuild", argdesc: "(cg, build_id, token, state=3)", fn: mCGRefundBuild},
		{name: "CGImport", argdesc: "(metadata, directory, token=None)", fn: mCGImport},
	}
}

// Bounds on one import's metadata.
const (
	maxCGMetadataBytes = 32 << 20
	maxCGBuildroots    = 1000
	maxCGOutputs       = 10000
	maxCGComponents    = 200000 // over all buildroots
	maxCGTools         = 10000  // per buildroot
)

// assertCG is Koji's assert_cg: the content generator exists and the
// caller may import for it.
func (c *call) assertCG(info any) (db.ContentGenerator, error) {
	cg, err := c.hub.lookupCG(c, info, false)
	if err != nil {
		return cg, err
	}
	if err := c.requireLogin(); err != nil {
		return cg, err
	}
	ok, err := c.hub.store.HasCGAccess(c.ctx, cg.ID, c.user.ID)
	if err != nil {
		return cg, err
	}
	if !ok {
		return cg, fault(kojixml.AuthError, "Content generator access required (%s)", cg.Name)
	}
	return cg, nil
}

// checkNVR is Koji's check_NVR(strict=True), and kojigo's own check that
// each part can be a path component under packages/.
func checkNVR(what, name, version, release string) error {
	if strings.Contains(version, "-") {
		return genericErr(`The "-" character not allowed in version field`)
	}
	if strings.Contains(release, "-") {
		return genericErr(`The "-" character not allowed in release field`)
	}
	for _, f := range []struct{ arg, v string }{{"name", name}, {"version", version}, {"release", release}} {
		if !validNVRPart(f.v, f.arg == "name") {
			return paramErr("%s: invalid %s %s: use letters, digits and ._+~^ (and - in names), at most 255 bytes, not starting with a dot", what, f.arg, quoteOdd(f.v))
		}
	}
	return nil
}

// newToken is Koji's generate_token: 32 random bytes in hex.
func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// tokenMatches compares a reservation token in constant time.
func tokenMatches(stored string, given any) bool {
	s, ok := given.(string)
	return ok && subtle.ConstantTimeCompare([]byte(stored), []byte(s)) == 1
}

// CGInitBuild(cg, data): reserves a BUILDING build of data's name,
// version, release (epoch, draft) for the content generator, owned by the
// caller. A FAILED or CANCELED build of the NVR with no tag history and
// no rpms is recycled, as Koji's new_build. Returns {build_id, token}.
func mCGInitBuild(c *call, a *kojixml.Args) (any, error) {
	cgInfo := a.Any(0, "cg")
	data := a.Map(1, "data")
	if err := a.Done(); err != nil {
		return nil, err
	}
	cg, err := c.assertCG(cgInfo)
	if err != nil {
		return nil, err
	}
	m := metaMap{data, "data", "CGInitBuild"}
	name, err := m.str("name")
	if err != nil {
		return nil, err
	}
	version, err := m.str("version")
	if err != nil {
		return nil, err
	}
	release, err := m.str("release")
	if err != nil {
		return nil, err
	}
	if err := checkNVR("CGInitBuild", name, version, release); err != nil {
		return nil, err
	}
	epoch, err := m.optInt("epoch")
	if err != nil {
		return nil, err
	}
	draft, err := m.optBool("draft")
	if err != nil {
		return nil, err
	}
	tok, err := newToken()
	if err != nil {
		return nil, err
	}
	nb := db.NewBuild{PackageName: name, Version: version, Release: release, Epoch: epoch, State: db.BuildBuilding,
		OwnerID: c.user.ID, CGID: &cg.ID, Draft: draft}
	var id int64
	err = c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		var err error
		if id, err = newCGBuild(c, tx, nb); err != nil {
			return err
		}
		if _, err := tx.ReservationToken(c.ctx, id); err == nil {
			return genericErr("Build is already reserved")
		} else if !errors.Is(err, db.ErrNotFound) {
			return err
		}
		return tx.AddReservation(c.ctx, id, tok)
	})
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return map[string]any{"build_id": id, "token": tok}, nil
}

// newCGBuild is Koji's new_build for a content generator: a draft build
// gets its ",draft_<id>" release; otherwise a FAILED or CANCELED build of
// the NVR is recycled.
func newCGBuild(c *call, tx *db.Store, nb db.NewBuild) (int64, error) {
	if nb.Draft {
		id, err := tx.CreateBuild(c.ctx, nb)
		if errors.Is(err, db.ErrConflict) {
			if old, gerr := tx.GetBuildByNVR(c.ctx, nb.PackageName, nb.Version, nb.Release); gerr == nil {
				return 0, genericErr("Target build already exists: %s (id=%d)", old.NVR(), old.ID)
			}
			return 0, genericErr("Target build already exists: %s-%s-%s", nb.PackageName, nb.Version, nb.Release)
		}
		return id, err
	}
	id, err := tx.ImportBuild(c.ctx, nb)
	var exists *db.BuildExistsError
	if errors.As(err, &exists) {
		return 0, genericErr("%s", exists.Error())
	}
	return id, err
}

// CGRefundBuild(cg, build_id, token, state=FAILED): ends a reserved
// build FAILED or CANCELED and drops its reservation, so that its NVR can
// be built again. Returns None.
func mCGRefundBuild(c *call, a *kojixml.Args) (any, error) {
	cgInfo := a.Any(0, "cg")
	buildID := a.Int(1, "build_id")
	token := a.Any(2, "token")
	state := a.OptInt(3, "state", db.BuildFailed)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if state != db.BuildFailed && state != db.BuildCanceled {
		return nil, genericErr("Only FAILED/CANCELED build states are allowed")
	}
	cg, err := c.assertCG(cgInfo)
	if err != nil {
		return nil, err
	}
	err = c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		b, err := tx.GetBuild(c.ctx, buildID)
		if errors.Is(err, db.ErrNotFound) {
			return genericErr("No such build: %d", buildID)
		} else if err != nil {
			return err
		}
		if b.State != db.BuildBuilding {
			return genericErr("Build ID %d is not in BUILDING state", buildID)
		}
		stored, err := tx.ReservationToken(c.ctx, buildID)
		if err != nil && !errors.Is(err, db.ErrNotFound) {
			return err
		}
		if err != nil || !tokenMatches(stored, token) {
			return genericErr("Token doesn't match build ID %d", buildID)
		}
		if b.CGID == nil || *b.CGID != cg.ID {
			return genericErr("Build ID %d is not reserved by this CG", buildID)
		}
		if err := tx.RefundBuild(c.ctx, buildID, int(state)); errors.Is(err, db.ErrBuildState) {
			return genericErr("Build ID %d is not in BUILDING state", buildID)
		} else if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// metaMap reads one dict of the metadata: a missing key or a value of the
// wrong type is a ParameterError naming where it is (Koji raises
// KeyError or TypeError there).
type metaMap struct {
	m      map[string]any
	where  string // "build", "buildroots[0].container", ...
	method string
}

func (m metaMap) missing(key string) error {
	return paramErr("%s: metadata %s has no %q: see Koji's content generator metadata format", m.method, m.where, key)
}

func (m metaMap) wrong(key, want string, v any) error {
	return paramErr("%s: metadata %s.%s must be %s, got %s", m.method, m.where, key, want, typeName(v))
}

func (m metaMap) get(key string) (any, error) {
	v, ok := m.m[key]
	if !ok {
		return nil, m.missing(key)
	}
	return v, nil
}

func (m metaMap) str(key string) (string, error) {
	v, err := m.get(key)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", m.wrong(key, "a string", v)
	}
	if strings.ContainsRune(s, 0) {
		return "", paramErr("%s: metadata %s.%s contains a NUL character", m.method, m.where, key)
	}
	return s, nil
}

// optStr is a string or None (absent: None).
func (m metaMap) optStr(key string) (*string, error) {
	if v, ok := m.m[key]; !ok || v == nil {
		return nil, nil
	}
	s, err := m.str(key)
	return &s, err
}

func (m metaMap) sub(key string) (metaMap, error) {
	v, err := m.get(key)
	if err != nil {
		return metaMap{}, err
	}
	d, ok := v.(map[string]any)
	if !ok {
		return metaMap{}, m.wrong(key, "a dict", v)
	}
	return metaMap{d, m.where + "." + key, m.method}, nil
}

func (m metaMap) list(key string) ([]any, error) {
	v, err := m.get(key)
	if err != nil {
		return nil, err
	}
	l, ok := v.([]any)
	if !ok {
		return nil, m.wrong(key, "a list", v)
	}
	return l, nil
}

// item is the i-th element of list key, a dict.
func (m metaMap) item(key string, i int, v any) (metaMap, error) {
	d, ok := v.(map[string]any)
	if !ok {
		return metaMap{}, paramErr("%s: metadata %s.%s[%d] must be a dict, got %s", m.method, m.where, key, i, typeName(v))
	}
	where := fmt.Sprintf("%s[%d]", key, i)
	if m.where != "" {
		where = m.where + "." + where
	}
	return metaMap{d, where, m.method}, nil
}

// toInt is Python's int() of a metadata value: an integer or a string of
// digits.
func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	}
	return 0, false
}

// optInt is an integer or None (absent: None).
func (m metaMap) optInt(key string) (*int64, error) {
	v, ok := m.m[key]
	if !ok || v == nil {
		return nil, nil
	}
	n, ok := v.(int64)
	if !ok {
		return nil, m.wrong(key, "an integer or None", v)
	}
	return &n, nil
}

func (m metaMap) optBool(key string) (bool, error) {
	v, ok := m.m[key]
	if !ok || v == nil {
		return false, nil
	}
	switch x := v.(type) {
	case bool:
		return x, nil
	case int64:
		return x != 0, nil
	}
	return false, m.wrong(key, "a boolean", v)
}

// timestamp is Koji's float(value) of a build time.
func (m metaMap) timestamp(key string) (float64, error) {
	v, err := m.get(key)
	if err != nil {
		return 0, err
	}
	var f float64
	switch x := v.(type) {
	case int64:
		f = float64(x)
	case float64:
		f = x
	case string:
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return 0, m.wrong(key, "a number (seconds since the epoch)", v)
		}
	default:
		return 0, m.wrong(key, "a number (seconds since the epoch)", v)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return 0, paramErr("%s: metadata %s.%s is not a time: %v", m.method, m.where, key, v)
	}
	return f, nil
}

// cgImporter is one CGImport: what it read and checked, then what it did
// (for the undo).
type cgImporter struct {
	c        *call
	arg      any    // the metadata argument
	dir      string // the upload directory under topdir/work
	meta     map[string]any
	raw      []byte // metadata.json as it is written to the build directory
	cg       db.ContentGenerator
	token    any
	btypes   []string
	metaOnly bool
	warn     []string // Koji's cg_import.log

	// the build
	name, version, release string
	reserved               *db.Build
	nb                     db.NewBuild
	extra                  string
	vol                    db.Volume

	brs     []*cgBuildroot
	brIndex map[string]int
	outputs []*cgOutput
}

type cgBuildroot struct {
	fakeID any
	row    db.CGBuildroot
	tools  []db.BuildrootTool
	rpms   []db.BuildrootRPM
	id     int64
}

type cgOutput struct {
	where    string
	typ      string // "rpm" or "log"
	filename string
	rel      string // under topdir/work
	info     os.FileInfo
	br       int
	subdir   string
	metaOnly bool
	rpm      *importedRPM
}

// brKey is a buildroot id of the metadata (any JSON scalar in Koji; an
// integer or a string here) as a map key.
func brKey(v any) (string, bool) {
	switch x := v.(type) {
	case int64:
		return "i" + strconv.FormatInt(x, 10), true
	case string:
		return "s" + x, true
	}
	return "", false
}

func (imp *cgImporter) log(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	imp.c.hub.log.Warn("CGImport: "+msg, "cg", imp.cg.Name)
	imp.warn = append(imp.warn, msg)
}

// CGImport(metadata, directory, token=None): see the top of this file.
// metadata is a dict, a JSON string, or the name of a .json file uploaded
// to directory (None: metadata.json). Returns the build.
func mCGImport(c *call, a *kojixml.Args) (any, error) {
	metaArg := a.Any(0, "metadata")
	dirArg := a.Any(1, "directory")
	token := a.OptAny(2, "token", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requireLogin(); err != nil {
		return nil, err
	}
	dir, ok := dirArg.(string)
	if !ok {
		return nil, paramErr("CGImport: directory must be a string, got %s", typeName(dirArg))
	}
	dir = strings.TrimSuffix(dir, "/")
	if _, why := splitRelPath(dir); why != "" {
		return nil, paramErr("CGImport: directory %s: %s; give the directory the outputs were uploaded to, relative to the work directory", quoteOdd(dir), why)
	}
	if token != nil {
		if _, ok := token.(string); !ok {
			return nil, paramErr("CGImport: token must be a string or None, got %s", typeName(token))
		}
	}
	imp := &cgImporter{c: c, arg: metaArg, dir: dir, token: token, brIndex: map[string]int{}}
	steps := []func() error{imp.getMetadata, imp.checkVersion, imp.assertCGAccess, imp.prepBuild, imp.prepBuildroots, imp.prepOutputs, imp.assertPolicy}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	imp.setVolume()
	b, err := imp.commit()
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return buildMap(b), nil
}

// getMetadata is Koji's CG_Importer.get_metadata.
func (imp *cgImporter) getMetadata() error {
	var text []byte
	switch m := imp.metaArgOrDefault().(type) {
	case map[string]any:
		if why := notJSONable(m, 0); why != "" {
			return genericErr("Invalid metadata, cannot encode: %s", why)
		}
		raw, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return genericErr("Invalid metadata, cannot encode: %v", err)
		}
		if len(raw) > maxCGMetadataBytes {
			return paramErr("CGImport: metadata of %d bytes is more than the limit of %d", len(raw), maxCGMetadataBytes)
		}
		imp.meta, imp.raw = m, raw
		return nil
	case string:
		if strings.HasSuffix(m, ".json") {
			if _, why := splitRelPath(m); why != "" {
				return paramErr("CGImport: metadata file %s: %s", quoteOdd(m), why)
			}
			f, fi, err := imp.c.hub.openWorkFile(imp.dir + "/" + m)
			if err != nil {
				return genericErr("No such file: %s", m)
			}
			defer f.Close()
			if fi.Size() > maxCGMetadataBytes {
				return paramErr("CGImport: metadata file %s of %d bytes is more than the limit of %d", m, fi.Size(), maxCGMetadataBytes)
			}
			if text, err = io.ReadAll(io.LimitReader(f, maxCGMetadataBytes+1)); err != nil {
				return genericErr("Unable to read %s: %v", m, err)
			}
		} else {
			if len(m) > maxCGMetadataBytes {
				return paramErr("CGImport: metadata of %d bytes is more than the limit of %d", len(m), maxCGMetadataBytes)
			}
			text = []byte(m)
		}
	default:
		return paramErr("CGImport: metadata must be a dict, a JSON string or the name of an uploaded .json file, got %s", typeName(m))
	}
	d := json.NewDecoder(strings.NewReader(string(text)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil || d.More() {
		return genericErr("Invalid json data: %s", quoteOdd(string(text)))
	}
	m, ok := fromJSON(v).(map[string]any)
	if !ok {
		return paramErr("CGImport: metadata must be a JSON object, got %s", typeName(fromJSON(v)))
	}
	imp.meta, imp.raw = m, text
	return nil
}

// metaArgOrDefault is the metadata argument; None means the uploaded
// metadata.json, as in Koji.
func (imp *cgImporter) metaArgOrDefault() any {
	if imp.arg == nil {
		return "metadata.json"
	}
	return imp.arg
}

// notJSONable says why an XML-RPC value cannot be JSON (Koji's json.dumps
// fails on binary data and dateTime values), "" when it can.
func notJSONable(v any, depth int) string {
	if depth > 64 {
		return "nested too deeply"
	}
	switch x := v.(type) {
	case nil, bool, int64, string:
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "a float that is not a number"
		}
	case []any:
		for _, e := range x {
			if why := notJSONable(e, depth+1); why != "" {
				return why
			}
		}
	case map[string]any:
		for _, e := range x {
			if why := notJSONable(e, depth+1); why != "" {
				return why
			}
		}
	default:
		return "a value of type " + typeName(v)
	}
	return ""
}

func (imp *cgImporter) checkVersion() error {
	v, ok := imp.meta["metadata_version"]
	if !ok {
		return metaMap{imp.meta, "", "CGImport"}.missing("metadata_version")
	}
	if v != int64(0) && v != float64(0) {
		return genericErr("No such metadata version: %s", pyRepr(v))
	}
	return nil
}

func (imp *cgImporter) top() metaMap { return metaMap{imp.meta, "", "CGImport"} }

// assertCGAccess is Koji's assert_cg_access: one content generator, named
// by every buildroot, that the caller may import for.
func (imp *cgImporter) assertCGAccess() error {
	brs, err := imp.top().list("buildroots")
	if err != nil {
		return err
	}
	if len(brs) == 0 {
		return paramErr("CGImport: metadata has no buildroots: each output names the buildroot (and so the content generator) it was built in")
	}
	if len(brs) > maxCGBuildroots {
		return paramErr("CGImport: %d buildroots is more than the limit of %d", len(brs), maxCGBuildroots)
	}
	var cgID int64
	for i, v := range brs {
		br, err := imp.top().item("buildroots", i, v)
		if err != nil {
			return err
		}
		gen, err := br.sub("content_generator")
		if err != nil {
			return err
		}
		name, err := gen.get("name")
		if err != nil {
			return err
		}
		cg, err := imp.c.hub.lookupCG(imp.c, name, false)
		if err != nil {
			return err
		}
		if i > 0 && cg.ID != cgID {
			return genericErr("Koji now support only one content-generator per import")
		}
		cgID = cg.ID
	}
	cg, err := imp.c.assertCG(cgID)
	imp.cg = cg
	return err
}

// taskID is Koji's get_task_id_from_metadata: build.task_id, or
// build.extra.container_koji_task_id (they must agree).
func (imp *cgImporter) taskID(build metaMap) (*int64, error) {
	var task *int64
	if v, ok := build.m["task_id"]; ok {
		n, ok := toInt(v)
		if !ok {
			return nil, build.wrong("task_id", "an integer", v)
		}
		task = &n
	}
	if extra, ok := build.m["extra"].(map[string]any); ok {
		if v, ok := extra["container_koji_task_id"]; ok {
			n, ok := toInt(v)
			if !ok {
				return nil, paramErr("CGImport: metadata build.extra.container_koji_task_id must be an integer, got %s", typeName(v))
			}
			if task != nil && *task != n {
				return nil, genericErr("CG provided non-matching task_id %d and container_koji_task_id %d", *task, n)
			}
			return &n, nil
		}
	}
	return task, nil
}

// prepBuild is Koji's prep_build: the reserved build's checks, or that
// the NVR is free (or FAILED/CANCELED); the build's fields.
func (imp *cgImporter) prepBuild() error {
	c := imp.c
	build, err := imp.top().sub("build")
	if err != nil {
		return err
	}
	if imp.name, err = build.str("name"); err != nil {
		return err
	}
	if imp.version, err = build.str("version"); err != nil {
		return err
	}
	if imp.release, err = build.str("release"); err != nil {
		return err
	}
	if err := checkNVR("CGImport", imp.name, imp.version, imp.release); err != nil {
		return err
	}
	epoch, err := build.optInt("epoch")
	if err != nil {
		return err
	}
	draft, err := build.optBool("draft")
	if err != nil {
		return err
	}
	task, err := imp.taskID(build)
	if err != nil {
		return err
	}
	if bid, ok := build.m["build_id"]; ok && bid != nil && bid != int64(0) && bid != false && bid != "" {
		id, ok := toInt(bid)
		if !ok {
			return build.wrong("build_id", "an integer", bid)
		}
		b, err := c.hub.store.GetBuild(c.ctx, id)
		if errors.Is(err, db.ErrNotFound) {
			return genericErr("No such build: %d", id)
		} else if err != nil {
			return err
		}
		stored, err := c.hub.store.ReservationToken(c.ctx, id)
		if err != nil && !errors.Is(err, db.ErrNotFound) {
			return err
		}
		switch {
		case err != nil || imp.token == nil || !tokenMatches(stored, imp.token):
			return genericErr("Token doesn't match build ID %d", id)
		case b.CGID == nil || *b.CGID != imp.cg.ID:
			return genericErr("Build ID %d is not reserved by this CG", id)
		case b.TaskID != nil && (task == nil || *b.TaskID != *task):
			return genericErr("Build is owned by task %d", *b.TaskID)
		case b.State != db.BuildBuilding:
			return genericErr("Build ID %d is not in BUILDING state", id)
		case b.Draft != draft:
			return genericErr("Draft field does not match reservation (build id = %d)", id)
		case b.PackageName != imp.name || b.Version != imp.version:
			return genericErr("Build (%d) NVR is different", id)
		}
		rel := imp.release
		if b.Draft {
			rel = db.DraftRelease(imp.release, id)
		}
		if b.Release != rel {
			return genericErr("Build (%d) NVR is different", id)
		}
		if _, given := build.m["epoch"]; given && !sameEpoch(b.Epoch, epoch) {
			return genericErr("Build (%d) epoch is different", id)
		}
		imp.reserved = &b
	} else if imp.token != nil {
		return genericErr("Reservation token given, but no build_id in metadata")
	} else if old, err := c.hub.store.GetBuildByNVR(c.ctx, imp.name, imp.version, imp.release); err == nil {
		if old.State != db.BuildCanceled && old.State != db.BuildFailed {
			return genericErr("Build already exists: %s (id=%d)", old.NVR(), old.ID)
		}
	} else if !errors.Is(err, db.ErrNotFound) {
		return err
	}

	start, err := build.timestamp("start_time")
	if err != nil {
		return err
	}
	end, err := build.timestamp("end_time")
	if err != nil {
		return err
	}
	source, err := build.optStr("source")
	if err != nil {
		return err
	}
	owner := c.user.ID
	if v := build.m["owner"]; v != nil && v != "" && v != false && v != int64(0) {
		name, ok := v.(string)
		if !ok {
			return genericErr("Invalid owner format (expected username): %s", pyValue(v))
		}
		u, err := c.hub.store.GetUserByName(c.ctx, name)
		if errors.Is(err, db.ErrNotFound) {
			return genericErr("No such user: %s", pyRepr(name))
		} else if err != nil {
			return err
		}
		owner = u.ID
	}
	if task != nil {
		if _, err := c.hub.store.GetTask(c.ctx, *task); errors.Is(err, db.ErrNotFound) {
			return genericErr("No such task: %d (the build's task_id must be a task of this hub)", *task)
		} else if err != nil {
			return err
		}
	}
	extra := map[string]any{}
	if v, ok := build.m["extra"]; ok && v != nil {
		if extra, ok = v.(map[string]any); !ok {
			return build.wrong("extra", "a dict", v)
		}
	}
	typeinfo := map[string]any{}
	if v, ok := extra["typeinfo"]; ok {
		if typeinfo, ok = v.(map[string]any); !ok {
			return paramErr("CGImport: metadata build.extra.typeinfo must be a dict, got %s", typeName(v))
		}
	}
	extra["typeinfo"] = typeinfo
	for _, legacy := range []string{"maven", "win", "image"} {
		v, ok := extra[legacy]
		if !ok {
			continue
		}
		if _, dup := typeinfo[legacy]; dup {
			return genericErr("Duplicate typeinfo for %s", pyRepr(legacy))
		}
		typeinfo[legacy] = v
	}
	for _, bt := range sortedKwargKeys(typeinfo) {
		switch bt {
		case "rpm":
		case "maven", "win", "image":
			return genericErr("Unable to import build type %s: kojigo stores RPMs and logs only (no archives of maven, win, image or other build types)", bt)
		default:
			return genericErr("No such entry in table btype: %s", bt)
		}
		imp.btypes = append(imp.btypes, bt)
	}
	ej, err := json.Marshal(extra)
	if err != nil {
		return genericErr("No such build extra data: %v", err)
	}
	imp.extra = string(ej)
	imp.nb = db.NewBuild{PackageName: imp.name, Version: imp.version, Release: imp.release, Epoch: epoch,
		State: db.BuildComplete, TaskID: task, OwnerID: owner, Source: source, Extra: &imp.extra,
		Draft: draft, CGID: &imp.cg.ID, StartTime: &start, CompletionTime: &end}
	return nil
}

func sameEpoch(a, b *int64) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// prepBuildroots is Koji's prep_brs: every buildroot is used by an output,
// none twice; its fields, tools and matched rpm components.
func (imp *cgImporter) prepBuildroots() error {
	outputs, err := imp.top().list("output")
	if err != nil {
		return err
	}
	if len(outputs) > maxCGOutputs {
		return paramErr("CGImport: %d outputs is more than the limit of %d", len(outputs), maxCGOutputs)
	}
	used := map[string]bool{}
	for i, v := range outputs {
		o, err := imp.top().item("output", i, v)
		if err != nil {
			return err
		}
		id, err := o.get("buildroot_id")
		if err != nil {
			return err
		}
		k, ok := brKey(id)
		if !ok {
			return o.wrong("buildroot_id", "an integer or a string", id)
		}
		used[k] = true
	}
	brs, _ := imp.top().list("buildroots")
	components := 0
	for i, v := range brs {
		br, _ := imp.top().item("buildroots", i, v)
		id, err := br.get("id")
		if err != nil {
			return err
		}
		k, ok := brKey(id)
		if !ok {
			return br.wrong("id", "an integer or a string", id)
		}
		if !used[k] {
			return genericErr("Buildroot id not used in output: %s", pyRepr(id))
		}
		if _, dup := imp.brIndex[k]; dup {
			return genericErr("Duplicate buildroot id in metadata: %s", pyRepr(id))
		}
		p := &cgBuildroot{fakeID: id, row: db.CGBuildroot{CGID: imp.cg.ID}}
		gen, _ := br.sub("content_generator")
		if p.row.CGVersion, err = gen.str("version"); err != nil {
			return err
		}
		ctr, err := br.sub("container")
		if err != nil {
			return err
		}
		if p.row.ContainerType, err = ctr.str("type"); err != nil {
			return err
		}
		if p.row.ContainerArch, err = ctr.str("arch"); err != nil {
			return err
		}
		host, err := br.sub("host")
		if err != nil {
			return err
		}
		if p.row.HostOS, err = host.str("os"); err != nil {
			return err
		}
		if p.row.HostArch, err = host.str("arch"); err != nil {
			return err
		}
		if x := br.m["extra"]; x != nil {
			ej, err := json.Marshal(x)
			if err != nil {
				return paramErr("CGImport: metadata %s.extra: %v", br.where, err)
			}
			s := string(ej)
			p.row.Extra = &s
		}
		comps, err := br.list("components")
		if err != nil {
			return err
		}
		if components += len(comps); components > maxCGComponents {
			return paramErr("CGImport: more than %d buildroot components", maxCGComponents)
		}
		if err := imp.matchComponents(p, br, comps); err != nil {
			return err
		}
		tools, err := br.list("tools")
		if err != nil {
			return err
		}
		if len(tools) > maxCGTools {
			return paramErr("CGImport: %s has %d tools, more than the limit of %d", br.where, len(tools), maxCGTools)
		}
		seen := map[string]bool{}
		for j, tv := range tools {
			t, err := br.item("tools", j, tv)
			if err != nil {
				return err
			}
			var tool db.BuildrootTool
			if tool.Name, err = t.str("name"); err != nil {
				return err
			}
			if tool.Version, err = t.str("version"); err != nil {
				return err
			}
			if seen[tool.Name] {
				return genericErr("Buildroot %s lists tool %s twice", pyRepr(id), pyRepr(tool.Name))
			}
			seen[tool.Name] = true
			p.tools = append(p.tools, tool)
		}
		imp.brIndex[k] = len(imp.brs)
		imp.brs = append(imp.brs, p)
	}
	return nil
}

// matchComponents is Koji's match_components: rpm components that are
// this hub's rpms are listed; unmatched ones, and files (kojigo has no
// archives to match them with), are logged and ignored.
func (imp *cgImporter) matchComponents(p *cgBuildroot, br metaMap, comps []any) error {
	for j, v := range comps {
		comp, err := br.item("components", j, v)
		if err != nil {
			return err
		}
		typ, err := comp.str("type")
		if err != nil {
			return err
		}
		switch typ {
		case "rpm":
			if _, ok := comp.m["location"]; ok {
				return genericErr("External rpms not allowed")
			}
			if _, ok := comp.m["id"]; ok {
				return genericErr("Unexpected 'id' field in component")
			}
			var nvra [4]string
			for i, k := range []string{"name", "version", "release", "arch"} {
				if nvra[i], err = comp.str(k); err != nil {
					return err
				}
			}
			r, err := imp.c.hub.store.GetRPMByNVRA(imp.c.ctx, nvra[0], nvra[1], nvra[2], nvra[3])
			if errors.Is(err, db.ErrNotFound) {
				imp.log("IGNORING unmatched rpm component: %s", pyValue(comp.m))
				continue
			} else if err != nil {
				return err
			}
			if r.Draft {
				return genericErr("Draft rpm not allowed: %s", nvra[0]+"-"+nvra[1]+"-"+nvra[2]+"."+nvra[3])
			}
			if sum, _ := comp.m["sigmd5"].(string); sum != r.PayloadHash {
				imp.log("IGNORING rpm component (md5 mismatch): %s", pyValue(comp.m))
			}
			rid := r.ID
			p.rpms = append(p.rpms, db.BuildrootRPM{RPMID: &rid, Name: r.Name, Version: r.Version, Release: r.Release,
				Epoch: r.Epoch, Arch: r.Arch, PayloadHash: r.PayloadHash, Size: r.Size, BuildTime: r.BuildTime})
		case "file":
			imp.log("Failed to match archive %v (size %v, sum %v", comp.m["filename"], comp.m["filesize"], comp.m["checksum"])
			imp.log("IGNORING unmatched archive: %s", pyValue(comp.m))
		case "kojifile":
			return genericErr("No such archive: %s (kojigo stores no archives)", pyValue(comp.m["archive_id"]))
		default:
			return genericErr("No such component type: %s", typ)
		}
	}
	return nil
}

// verifier is Koji's get_verify_class.
func verifier(typ string) (hash.Hash, error) {
	switch typ {
	case "md5":
		return md5.New(), nil
	case "adler32":
		return adler32.New(), nil
	case "sha256":
		return sha256.New(), nil
	}
	return nil, genericErr("Unsupported verify type: %s", typ)
}

// relUnder checks an optional relative path of the metadata (relpath,
// subdir): "" or clean relative components.
func relUnder(m metaMap, key string) (string, error) {
	p, err := m.optStr(key)
	if err != nil || p == nil || *p == "" {
		return "", err
	}
	s := strings.TrimSuffix(*p, "/")
	if _, why := splitRelPath(s); why != "" {
		return "", paramErr("CGImport: metadata %s.%s %s: %s; give a path relative to the upload directory", m.where, key, quoteOdd(*p), why)
	}
	return s, nil
}

// prepOutputs is Koji's prep_outputs: each output's upload has the size
// and checksum the metadata gives, and its buildroot; rpms are read and
// checked as importRPM does.
func (imp *cgImporter) prepOutputs() error {
	outputs, _ := imp.top().list("output")
	srpm := imp.name + "-" + imp.version + "-" + imp.release + ".src.rpm"
	for i, v := range outputs {
		o, _ := imp.top().item("output", i, v)
		out := &cgOutput{where: o.where}
		var err error
		if out.filename, err = o.str("filename"); err != nil {
			return err
		}
		if why := badComponent(out.filename); why != "" || strings.Contains(out.filename, "/") {
			if why == "" {
				why = "contains '/'"
			}
			return paramErr("CGImport: metadata %s.filename %s: %s; give the uploaded file's name", o.where, quoteOdd(out.filename), why)
		}
		relpath, err := relUnder(o, "relpath")
		if err != nil {
			return err
		}
		if out.subdir, err = relUnder(o, "subdir"); err != nil {
			return err
		}
		if out.metaOnly, err = o.optBool("metadata_only"); err != nil {
			return err
		}
		if out.typ, err = o.str("type"); err != nil {
			return err
		}
		id, _ := o.get("buildroot_id")
		k, _ := brKey(id)
		idx, ok := imp.brIndex[k]
		if !ok {
			return genericErr("Missing buildroot metadata for id %s", pyRepr(id))
		}
		out.br = idx
		if out.typ != "rpm" && out.typ != "log" {
			return genericErr("Unable to import %s: output type %s is not supported: kojigo stores RPMs and logs only (no archives)", out.filename, out.typ)
		}
		if out.metaOnly {
			imp.metaOnly = true
			if out.typ == "rpm" {
				return genericErr("Metadata-only imports are not supported for rpms")
			}
			imp.outputs = append(imp.outputs, out)
			continue // a log that is not there: nothing to check or move
		}
		out.rel = imp.dir + "/" + out.filename
		if relpath != "" {
			out.rel = imp.dir + "/" + relpath + "/" + out.filename
		}
		size, err := o.get("filesize")
		if err != nil {
			return err
		}
		sumType, err := o.str("checksum_type")
		if err != nil {
			return err
		}
		sum, err := o.str("checksum")
		if err != nil {
			return err
		}
		h, err := verifier(sumType)
		if err != nil {
			return err
		}
		f, fi, err := imp.c.hub.openWorkFile(out.rel)
		if err != nil {
			return genericErr("Unable to import %s: %v (upload the outputs to %s first)", out.filename, err, imp.dir)
		}
		if n, ok := size.(int64); !ok || n != fi.Size() {
			f.Close()
			return genericErr("File size %d for %s (expected %s) doesn't match. Corrupted upload?", fi.Size(), out.filename, pyValue(size))
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return genericErr("Unable to read %s: %v", out.filename, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); sum != got {
			return genericErr("File checksum mismatch for %s: %s != %s", out.filename, sum, got)
		}
		out.info = fi
		if out.typ == "rpm" {
			if out.subdir != "" {
				return genericErr("subdir field not allowed for rpm outputs")
			}
			if err := checkNVRA(out.filename); err != nil {
				return err
			}
			r, err := imp.c.hub.readImport(out.rel)
			if err != nil {
				return err
			}
			if !os.SameFile(r.info, fi) {
				return genericErr("Unable to import %s: the file changed while importing: upload it again", out.filename)
			}
			if want := r.rpm.Filename(); out.filename != want {
				return genericErr("bad filename: %s (expected %s)", out.filename, want)
			}
			if !r.source && r.sourceRPM != srpm {
				return genericErr("srpm mismatch for %s: %s (expected %s)", out.rel, r.sourceRPM, srpm)
			} else if r.source && out.filename != srpm {
				return genericErr("srpm mismatch for %s: %s (expected %s)", out.rel, out.filename, srpm)
			}
			out.rpm = r
		}
		imp.outputs = append(imp.outputs, out)
	}
	return nil
}

// checkNVRA is Koji's check_NVRA(filename, strict=True).
func checkNVRA(filename string) error {
	_, v, r, arch, ok := parseNVRA(filename)
	if !ok {
		return genericErr("invalid format: %s", filename)
	}
	switch {
	case strings.Contains(v, "-"):
		return genericErr(`The "-" character not allowed in version field`)
	case strings.Contains(r, "-"):
		return genericErr(`The "-" character not allowed in release field`)
	case strings.Contains(arch, "."):
		return genericErr(`The "." character not allowed in arch field`)
	}
	return nil
}

// assertPolicy applies the cg_import policy with Koji's data.
func (imp *cgImporter) assertPolicy() error {
	btypes := make([]any, 0, len(imp.btypes))
	for _, b := range imp.btypes {
		btypes = append(btypes, b)
	}
	var source any
	if imp.nb.Source != nil {
		source = *imp.nb.Source
	}
	data := policy.Data{"package": imp.name, "version": imp.version, "release": imp.release, "btypes": btypes,
		"source": source, "draft": imp.nb.Draft, "metadata_only": imp.metaOnly, "cg_list": []any{imp.cg.ID}}
	return imp.c.assertPolicy("cg_import", data, false)
}

// setVolume is Koji's set_volume: the volume policy with import True and
// import_type 'cg'.
func (imp *cgImporter) setVolume() {
	var source any
	if imp.nb.Source != nil {
		source = *imp.nb.Source
	}
	data := policy.Data{"package": imp.name, "version": imp.version, "release": imp.release, "source": source,
		"cg_list": []any{imp.cg.ID}, "import": true, "import_type": "cg"}
	imp.vol = imp.c.hub.volumeByPolicy(imp.c, imp.name+"-"+imp.version+"-"+imp.release, data)
}

// commit records the build, its buildroots and outputs in one
// transaction, then moves the files into the build directory; on any
// failure the files go back and the build directory goes.
func (imp *cgImporter) commit() (db.Build, error) {
	c, h := imp.c, imp.c.hub
	type move struct{ rel, final string }
	var moves []move
	var b db.Build
	madeDir := ""
	err := h.store.WithTx(c.ctx, func(tx *db.Store) error {
		moves, madeDir = nil, ""
		var id int64
		if imp.reserved != nil {
			id = imp.reserved.ID
			u := db.ReservedBuildUpdate{OwnerID: imp.nb.OwnerID, TaskID: imp.nb.TaskID, Source: imp.nb.Source, Extra: imp.nb.Extra}
			if imp.vol.ID != db.DefaultVolumeID {
				u.VolumeID = &imp.vol.ID
			}
			if err := tx.CompleteReservedBuild(c.ctx, id, u); errors.Is(err, db.ErrBuildState) {
				return genericErr("Build ID %d is not in BUILDING state", id)
			} else if err != nil {
				return err
			}
		} else {
			var err error
			if id, err = newCGBuild(c, tx, imp.nb); err != nil {
				return err
			}
			if imp.vol.ID != db.DefaultVolumeID {
				if err := tx.SetBuildVolumeID(c.ctx, id, imp.vol.ID); err != nil {
					return err
				}
			}
		}
		var err error
		if b, err = tx.GetBuild(c.ctx, id); err != nil {
			return err
		}
		// Koji's check_build_dir: the build's directory must not exist
		dir := h.buildDir(b, imp.vol.Name)
		for _, p := range []string{dir, h.buildDir(b, "DEFAULT")} {
			if _, err := os.Lstat(p); err == nil {
				return genericErr("Destination directory already exists: %s", p)
			}
		}
		madeDir = dir
		for _, br := range imp.brs {
			if br.id, err = tx.CreateCGBuildroot(c.ctx, br.row, br.tools); err != nil {
				return err
			}
			if _, err := tx.AddBuildrootRPMs(c.ctx, br.id, br.rpms, false); err != nil {
				return err
			}
		}
		for _, o := range imp.outputs {
			if o.rpm == nil {
				continue
			}
			r := &o.rpm.rpm
			if prev, err := tx.GetRPMByNVRA(c.ctx, r.Name, r.Version, r.Release, r.Arch); err == nil {
				return genericErr("RPM already imported: %s (rpm id %d, build id %d)", r.Filename(), prev.ID, prev.BuildID)
			} else if !errors.Is(err, db.ErrNotFound) {
				return err
			}
			r.BuildID = b.ID
			brID := imp.brs[o.br].id
			r.BuildrootID = &brID
			if r.ID, err = tx.AddRPM(c.ctx, *r); errors.Is(err, db.ErrConflict) {
				return genericErr("RPM already imported: %s", r.Filename())
			} else if err != nil {
				return err
			}
		}
		// the files, last: the build directory (on its volume) ...
		if err := h.prepareBuildDir(b, imp.vol); err != nil {
			return err
		}
		base := h.buildDir(b, "DEFAULT")
		if err := os.MkdirAll(base, 0o755); err != nil {
			return err
		}
		for _, o := range imp.outputs {
			var destDir string
			switch {
			case o.metaOnly:
				continue // Koji: logs are not tracked, nothing to do
			case o.rpm != nil:
				destDir = filepath.Join(base, o.rpm.rpm.Arch)
			default:
				destDir = filepath.Join(base, "data", "logs", filepath.FromSlash(o.subdir))
			}
			final := filepath.Join(destDir, o.filename)
			if _, err := os.Lstat(final); err == nil {
				if o.rpm != nil {
					return genericErr("Error importing archive file, %s already exists", final)
				}
				return genericErr("Error importing build log. %s already exists.", final)
			}
			if err := h.moveAndSymlink(o.rel, o.info, destDir, final); err != nil {
				return genericErr("Unable to import %s: %v", o.filename, err)
			}
			moves = append(moves, move{o.rel, final})
			if o.rpm != nil {
				if _, err := h.recordOwnSig(c, tx, b, o.rpm.rpm, final); err != nil {
					return genericErr("Unable to import %s: %v", o.filename, err)
				}
			}
		}
		// ... metadata.json, and the import's warnings
		if err := storeFile(filepath.Join(base, "metadata.json"), imp.raw); err != nil {
			return fmt.Errorf("write metadata.json: %w", err)
		}
		if len(imp.warn) > 0 {
			text := strings.Join(append(imp.warn, "CG import was SUCCESSFUL."), "\n") + "\n"
			if err := storeFile(filepath.Join(base, "data", "logs", "cg_import.log"), []byte(text)); err != nil {
				return fmt.Errorf("write cg_import.log: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		for i := len(moves) - 1; i >= 0; i-- {
			h.unmoveAndSymlink(moves[i].rel, moves[i].final)
		}
		if madeDir != "" {
			h.log.Warn("CGImport failed: deleting build directory", "path", madeDir, "err", err)
			os.RemoveAll(madeDir)
			if base := h.buildDir(b, "DEFAULT"); base != madeDir {
				if isSymlink(base) {
					os.Remove(base)
				} else {
					os.RemoveAll(base)
				}
			}
		}
		return b, err
	}
	if nb, err := h.store.GetBuild(c.ctx, b.ID); err == nil {
		b = nb
	}
	return b, nil
}
