package hubcore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"kojigo/db"
	"kojigo/internal/kojixml"
	"kojigo/internal/rpmhdr"
)

// buildInfoMethods read what a build holds beyond its row: its logs, the
// headers of its stored RPMs (changelog, dependencies, files, any tag), what
// refers to it, and the type-specific data of Maven, Windows and image
// builds, which this hub does not make (those answer as Koji's hub does
// where they are disabled: None and []).
func buildInfoMethods() []method {
	return []method{
		{name: "getMavenBuild", argdesc: "(buildInfo, strict=False)", fn: mGetMavenBuild},
		{name: "getWinBuild", argdesc: "(buildInfo, strict=False)", fn: mGetWinBuild},
		{name: "getImageBuild", argdesc: "(buildInfo, strict=False)", fn: mGetImageBuild},
		{name: "getBuildType", argdesc: "(buildInfo, strict=False)", fn: mGetBuildType},
		{name: "listBTypes", argdesc: "(query=None, queryOpts=None)", fn: mListBTypes},
		{name: "listArchives", argdesc: "(buildID=None, buildrootID=None, componentBuildrootID=None, hostID=None, type=None, filename=None, size=None, checksum=None, checksum_type=None, typeInfo=None, queryOpts=None, imageID=None, archiveID=None, strict=False)", fn: mListArchives},
		{name: "getBuildLogs", argdesc: "(build)", fn: mGetBuildLogs},
		{name: "getChangelogEntries", argdesc: "(buildID=None, taskID=None, filepath=None, author=None, before=None, after=None, queryOpts=None, strict=False)", fn: mGetChangelogEntries},
		{name: "getRPMHeaders", argdesc: "(rpmID=None, taskID=None, filepath=None, headers=None, strict=False)", fn: mGetRPMHeaders},
		{name: "getRPMDeps", argdesc: "(rpmID, depType=None, queryOpts=None, strict=False)", fn: mGetRPMDeps},
		{name: "listRPMFiles", argdesc: "(rpmID, queryOpts=None)", fn: mListRPMFiles},
		{name: "getRPMFile", argdesc: "(rpmID, filename, strict=False)", fn: mGetRPMFile},
		{name: "buildReferences", argdesc: "(build, limit=None, lazy=False)", fn: mBuildReferences},
		{name: "untaggedBuilds", argdesc: "(name=None, queryOpts=None, draft=None)", fn: mUntaggedBuilds},
	}
}

// Koji's build types (its btype table); only rpm builds are made here.
var btypes = []struct {
	id   int64
	name string
}{{1, "rpm"}, {2, "maven"}, {3, "win"}, {4, "image"}}

// findBuildID is Koji's find_build_id: an int is taken as it is (not looked
// up); an NVR string or a struct with name, version and release is looked
// up. ok is false when there is no such build (not strict).
func (h *Hub) findBuildID(c *call, info any, strict bool) (id int64, ok bool, err error) {
	switch v := info.(type) {
	case int64:
		return v, true, nil
	case string:
		if _, _, _, valid := splitNVR(v); !valid {
			return 0, false, genericErr("invalid format: %s", v)
		}
	case map[string]any:
		for _, k := range []string{"name", "version", "release"} {
			if _, has := v[k]; !has {
				return 0, false, genericErr("did not provide name, version, and release")
			}
		}
		for _, k := range []string{"name", "version", "release"} {
			if _, isStr := v[k].(string); !isStr {
				return 0, false, nil
			}
		}
	default:
		return 0, false, genericErr("Invalid type for argument: %s", pyClass(info))
	}
	b, err := h.lookupBuild(c, info)
	if errors.Is(err, db.ErrNotFound) {
		if strict {
			return 0, false, genericErr("No such build: %s", pyRepr(info))
		}
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return b.ID, true, nil
}

// typedBuild answers getMavenBuild, getWinBuild and getImageBuild: no build
// of this hub has such data.
func typedBuild(c *call, a *kojixml.Args, what string) (any, error) {
	info := a.Any(0, "buildInfo")
	strict := a.OptBool(1, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	_, ok, err := c.hub.findBuildID(c, info, strict)
	if err != nil || !ok {
		return nil, err
	}
	if strict {
		return nil, genericErr("no such %s build: %s", what, pyStr(info))
	}
	return nil, nil
}

// getMavenBuild(buildInfo, strict=False)
func mGetMavenBuild(c *call, a *kojixml.Args) (any, error) { return typedBuild(c, a, "maven") }

// getWinBuild(buildInfo, strict=False)
func mGetWinBuild(c *call, a *kojixml.Args) (any, error) { return typedBuild(c, a, "Windows") }

// getImageBuild(buildInfo, strict=False)
func mGetImageBuild(c *call, a *kojixml.Args) (any, error) { return typedBuild(c, a, "image") }

// getBuildType(buildInfo, strict=False): {"rpm": typeinfo} for every build
// here, typeinfo from the build's extra["typeinfo"]["rpm"].
func mGetBuildType(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "buildInfo")
	strict := a.OptBool(1, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if m, ok := info.(map[string]any); ok {
		if _, has := m["extra"]; has {
			if id, isInt := m["id"].(int64); isInt {
				info = id
			}
		}
	}
	b, err := c.hub.lookupBuild(c, info)
	if errors.Is(err, db.ErrNotFound) {
		if strict {
			return nil, genericErr("No such build: %s", pyRepr(info))
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var typeinfo any
	if b.Extra != nil {
		if extra, ok := decodeStoredJSON(*b.Extra).(map[string]any); ok {
			if ti, ok := extra["typeinfo"].(map[string]any); ok {
				typeinfo = ti["rpm"]
			}
		}
	}
	return map[string]any{"rpm": typeinfo}, nil
}

// listBTypes(query=None, queryOpts=None): query selects by "name" or "id".
func mListBTypes(c *call, a *kojixml.Args) (any, error) {
	query := a.OptMap(0, "query")
	qo := a.OptMap(1, "queryOpts")
	if err := a.Done(); err != nil {
		return nil, err
	}
	out := []any{}
	for _, bt := range btypes {
		if n, has := query["name"]; has && n != bt.name {
			continue
		}
		if id, has := query["id"]; has && id != bt.id {
			continue
		}
		out = append(out, map[string]any{"id": bt.id, "name": bt.name})
	}
	return applyQueryOpts(out, qo)
}

// listArchives(buildID=None, buildrootID=None, componentBuildrootID=None,
// hostID=None, type=None, filename=None, size=None, checksum=None,
// checksum_type=None, typeInfo=None, queryOpts=None, imageID=None,
// archiveID=None, strict=False): this hub stores no archives, so after
// Koji's checks of type and typeInfo the answer is [] (strict: "No archives
// found.").
func mListArchives(c *call, a *kojixml.Args) (any, error) {
	for i, n := range []string{"buildID", "buildrootID", "componentBuildrootID", "hostID"} {
		a.IntOrNil(i, n)
	}
	typ := a.OptAny(4, "type", nil)
	a.StringOrNil(5, "filename")
	a.IntOrNil(6, "size")
	a.StringOrNil(7, "checksum")
	a.IntOrNil(8, "checksum_type")
	typeInfo := a.OptMap(9, "typeInfo")
	qo := a.OptMap(10, "queryOpts")
	a.IntOrNil(11, "imageID")
	a.IntOrNil(12, "archiveID")
	strict := a.OptBool(13, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	switch typ {
	case nil, "maven", "win", "image":
	default:
		name, isStr := typ.(string)
		if !isStr || name != "rpm" {
			return nil, genericErr("unsupported archive type: %s", pyStr(typ))
		}
		if len(typeInfo) > 0 {
			return nil, genericErr("typeInfo queries not supported for type %s", name)
		}
	}
	if strict {
		return nil, genericErr("No archives found.")
	}
	return applyQueryOpts([]any{}, qo)
}

// buildDir is a build's directory under topdir (Koji's pathinfo.build, on
// the DEFAULT volume), relative to topdir.
func buildDir(b db.Build) string {
	return path.Join("packages", b.PackageName, b.Version, b.Release)
}

// maxBuildLogs bounds getBuildLogs' answer.
const maxBuildLogs = 10000

// getBuildLogs(build): the build's log files under data/logs, each
// {name, dir (its subdirectory, "." at the top), path (under topdir)}.
// Symbolic links and other non-regular files are left out.
func mGetBuildLogs(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "build")
	if err := a.Done(); err != nil {
		return nil, err
	}
	b, err := c.hub.mustBuild(c, info)
	if err != nil {
		return nil, err
	}
	rel := path.Join(buildDir(b), "data", "logs")
	root := filepath.Join(c.hub.cfg.TopDir, filepath.FromSlash(rel))
	fi, err := os.Lstat(root)
	if err != nil {
		return []any{}, nil
	}
	if !fi.IsDir() {
		return nil, genericErr("Not a directory: %s", root)
	}
	out := []any{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // a subdirectory that vanished or cannot be read
		}
		if d.IsDir() || !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".import-") {
			return nil
		}
		if len(out) >= maxBuildLogs {
			return fs.SkipAll
		}
		sub, _ := filepath.Rel(root, filepath.Dir(p))
		sub = filepath.ToSlash(sub)
		out = append(out, map[string]any{"name": d.Name(), "dir": sub, "path": rel + "/" + sub + "/" + d.Name()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read build logs of %s: %w", b.NVR(), err)
	}
	return out, nil
}

// storedRPMPath is where a build's RPM is stored, under topdir.
func storedRPMPath(b db.Build, r db.RPM) string {
	return path.Join(buildDir(b), r.Arch, r.Filename())
}

// readHeader reads the headers of an RPM file; ok is false when there is no
// regular file at p.
func readHeader(p string) (pkg *rpmhdr.Package, ok bool, err error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, false, nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, false, nil
	}
	pkg, err = rpmhdr.NewReader(rpmhdr.Limits{}).Read(f, fi.Size())
	if err != nil {
		return nil, true, genericErr("Error reading rpm header %s: %v", filepath.Base(p), err)
	}
	return pkg, true, nil
}

// taskFilePath is Koji's work/tasks/<id%10000>/<id>/<filepath>, refusing
// absolute paths and "..".
// taskFileArg is taskFilePath for the filepath argument that comes with a
// taskID (getChangelogEntries, getRPMHeaders): it must be given.
func (h *Hub) taskFileArg(taskID int64, fp *string) (string, error) {
	if fp == nil || *fp == "" {
		return "", genericErr("filepath must be specified with taskID")
	}
	return h.taskFilePath(taskID, *fp)
}

func (h *Hub) taskFilePath(taskID int64, fp string) (string, error) {
	if strings.HasPrefix(fp, "/") || strings.Contains(fp, "../") || strings.ContainsRune(fp, 0) || fp == ".." || strings.HasSuffix(fp, "/..") {
		return "", genericErr("Invalid filepath: %s", fp)
	}
	return filepath.Join(h.cfg.TopDir, "work", "tasks", fmt.Sprint(taskID%10000), fmt.Sprint(taskID), filepath.FromSlash(fp)), nil
}

// lookupRPM is Koji's get_rpm(rpminfo, strict): ok is false when there is
// no such RPM and not strict.
func (h *Hub) lookupRPM(c *call, info any, strict bool) (r db.RPM, ok bool, err error) {
	switch v := info.(type) {
	case int64:
		r, err = h.store.GetRPM(c.ctx, v)
	case string:
		n, ver, rel, arch, valid := parseNVRA(v)
		if !valid {
			return r, false, genericErr("invalid format: %s", v)
		}
		r, err = h.store.GetRPMByNVRA(c.ctx, n, ver, rel, arch)
	case map[string]any:
		if id, isInt := v["id"].(int64); isInt {
			r, err = h.store.GetRPM(c.ctx, id)
			break
		}
		n, _ := v["name"].(string)
		ver, _ := v["version"].(string)
		rel, _ := v["release"].(string)
		arch, _ := v["arch"].(string)
		r, err = h.store.GetRPMByNVRA(c.ctx, n, ver, rel, arch)
	default:
		return r, false, genericErr("Invalid type for rpminfo: %s", pyClass(info))
	}
	if errors.Is(err, db.ErrNotFound) {
		if strict {
			return r, false, genericErr("No such rpm: %s", pyRepr(info))
		}
		return r, false, nil
	}
	return r, err == nil, err
}

// rpmHeaderOf reads the stored file of an RPM of this hub. missing is the
// fault to give when the file is not there (nil: answer ok=false).
func (h *Hub) rpmHeaderOf(c *call, r db.RPM) (pkg *rpmhdr.Package, b db.Build, full string, ok bool, err error) {
	b, err = h.store.GetBuild(c.ctx, r.BuildID)
	if err != nil {
		return nil, b, "", false, err
	}
	full = filepath.Join(h.cfg.TopDir, filepath.FromSlash(storedRPMPath(b, r)))
	pkg, ok, err = readHeader(full)
	return pkg, b, full, ok, err
}

// changelogTime reads getChangelogEntries' before and after: seconds, a
// "YYYY-MM-DD[ HH:MM:SS]" string (UTC) or a dateTime.
func changelogTime(name string, v any) (*int64, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int64:
		if x == 0 {
			return nil, nil
		}
		return &x, nil
	case string:
		if x == "" {
			return nil, nil
		}
		t, ok := parseKojiTime(x)
		if !ok {
			return nil, genericErr("Invalid time for %s: %s", name, pyRepr(x))
		}
		return &t, nil
	case time.Time:
		s := x.Unix()
		return &s, nil
	}
	return nil, genericErr("Invalid type for %s: %s", name, pyClass(v))
}

// parseKojiTime is koji.util.parseTime: "YYYY-MM-DD" with an optional
// " HH:MM:SS", as UTC seconds.
func parseKojiTime(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Unix(), true
		}
	}
	return 0, false
}

// getChangelogEntries(buildID=None, taskID=None, filepath=None,
// author=None, before=None, after=None, queryOpts=None, strict=False): the
// %changelog of the build's stored SRPM, or of the task's file.
func mGetChangelogEntries(c *call, a *kojixml.Args) (any, error) {
	buildInfo := a.OptAny(0, "buildID", nil)
	taskID := a.IntOrNil(1, "taskID")
	fp := a.StringOrNil(2, "filepath")
	author := a.StringOrNil(3, "author")
	beforeArg := a.OptAny(4, "before", nil)
	afterArg := a.OptAny(5, "after", nil)
	qo := a.OptMap(6, "queryOpts")
	strict := a.OptBool(7, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if o, ok := qo["order"].(string); ok && (o == "date" || o == "-date") {
		qo["order"] = o + "_ts"
	}
	empty := func() (any, error) { return applyQueryOpts([]any{}, qo) }
	var full string
	switch {
	case pyTruthy(buildInfo):
		b, err := c.hub.lookupBuild(c, buildInfo)
		if errors.Is(err, db.ErrNotFound) {
			if strict {
				return nil, genericErr("No such build: %s", pyStr(buildInfo))
			}
			return empty()
		}
		if err != nil {
			return nil, err
		}
		srpms, err := c.hub.store.ListRPMs(c.ctx, db.RPMFilter{BuildIDs: []int64{b.ID}, Arches: []string{"src"}})
		if err != nil {
			return nil, err
		}
		if len(srpms) == 0 {
			if strict {
				return nil, genericErr("Build %s doesn't have srpms", pyStr(buildInfo))
			}
			return empty()
		}
		full = filepath.Join(c.hub.cfg.TopDir, filepath.FromSlash(storedRPMPath(b, srpms[0])))
	case taskID != nil && *taskID != 0:
		var err error
		if full, err = c.hub.taskFileArg(*taskID, fp); err != nil {
			return nil, err
		}
	default:
		return nil, genericErr("either buildID or taskID and filepath must be specified")
	}
	before, err := changelogTime("before", beforeArg)
	if err != nil {
		return nil, err
	}
	after, err := changelogTime("after", afterArg)
	if err != nil {
		return nil, err
	}
	pkg, ok, err := readHeader(full)
	if err != nil {
		return nil, err
	}
	if !ok {
		if strict {
			return nil, genericErr("SRPM %s doesn't exist", full)
		}
		return empty()
	}
	asList := pyTruthy(qo["asList"])
	out := []any{}
	for _, e := range pkg.Main.Changelog() {
		if author != nil && *author != "" && *author != e.Author {
			continue
		}
		if before != nil && e.Time >= *before {
			continue
		}
		if after != nil && e.Time <= *after {
			continue
		}
		date := time.Unix(e.Time, 0).UTC().Format("2006-01-02 15:04:05")
		if asList {
			out = append(out, []any{date, e.Author, e.Text})
			continue
		}
		out = append(out, map[string]any{"date": date, "date_ts": e.Time, "author": e.Author, "text": e.Text})
	}
	if asList {
		return out, nil
	}
	return applyQueryOpts(out, qo)
}

// maxHeaderNames bounds getRPMHeaders' headers list.
const maxHeaderNames = 1000

// getRPMHeaders(rpmID=None, taskID=None, filepath=None, headers=None,
// strict=False): the named header tags (names in any case; the answer keys
// them as asked), or every tag of the header when headers is None.
func mGetRPMHeaders(c *call, a *kojixml.Args) (any, error) {
	rpmID := a.OptAny(0, "rpmID", nil)
	taskID := a.IntOrNil(1, "taskID")
	fp := a.StringOrNil(2, "filepath")
	headersArg := a.OptAny(3, "headers", nil)
	strict := a.OptBool(4, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	var names []string
	switch hs := headersArg.(type) {
	case nil:
	case []any:
		if len(hs) > maxHeaderNames {
			return nil, paramErr("headers: %d names exceed the limit of %d", len(hs), maxHeaderNames)
		}
		for _, x := range hs {
			s, ok := x.(string)
			if !ok {
				return nil, genericErr("Invalid type for header name: %s", pyClass(x))
			}
			names = append(names, s)
		}
	case string:
		// Koji iterates the string: one header per character.
		for _, r := range hs {
			names = append(names, string(r))
		}
	default:
		return nil, genericErr("Invalid type for headers: %s", pyClass(headersArg))
	}
	var full string
	switch {
	case pyTruthy(rpmID):
		r, ok, err := c.hub.lookupRPM(c, rpmID, strict)
		if err != nil || !ok {
			if err != nil {
				return nil, err
			}
			return map[string]any{}, nil
		}
		b, err := c.hub.store.GetBuild(c.ctx, r.BuildID)
		if err != nil {
			return nil, err
		}
		if b.State == db.BuildDeleted {
			if strict {
				return nil, genericErr("Build %s is deleted", b.NVR())
			}
			return map[string]any{}, nil
		}
		full = filepath.Join(c.hub.cfg.TopDir, filepath.FromSlash(storedRPMPath(b, r)))
	case taskID != nil && *taskID != 0:
		var err error
		if full, err = c.hub.taskFileArg(*taskID, fp); err != nil {
			return nil, err
		}
	default:
		return nil, genericErr("either rpmID or taskID and filepath must be specified")
	}
	pkg, ok, err := readHeader(full)
	if err != nil {
		return nil, err
	}
	if !ok {
		if strict {
			return nil, genericErr("Missing rpm file: %s", full)
		}
		return map[string]any{}, nil
	}
	m := &pkg.Main
	out := map[string]any{}
	if headersArg == nil {
		for _, tag := range m.Tags() {
			if n := rpmhdr.TagNameOf(tag); n != "" {
				t, _ := rpmhdr.LookupTag(n)
				out[n] = m.Value(t)
			}
		}
	}
	for _, n := range names {
		t, ok := rpmhdr.LookupTag(n)
		if !ok {
			return nil, genericErr("No such rpm header field: %s", strings.ToUpper(n))
		}
		out[n] = m.Value(t)
	}
	if err := m.Err(); err != nil {
		return nil, genericErr("Error reading rpm header %s: %v", filepath.Base(full), err)
	}
	return out, nil
}

// rpmFileArgs reads the stored file of an internal RPM for getRPMDeps,
// listRPMFiles and getRPMFile; pkg is nil when there is none (and not
// strict). noFile is the fault text when the file is missing.
func (h *Hub) rpmFileHeader(c *call, info any, strict bool, what, noFile string) (*rpmhdr.Package, db.RPM, error) {
	r, ok, err := h.lookupRPM(c, info, strict)
	if err != nil || !ok {
		return nil, r, err
	}
	pkg, _, _, ok, err := h.rpmHeaderOf(c, r)
	if err != nil {
		return nil, r, err
	}
	if !ok {
		if strict {
			return nil, r, genericErr(noFile, pyStr(info))
		}
		return nil, r, nil
	}
	return pkg, r, nil
}

// getRPMDeps(rpmID, depType=None, queryOpts=None, strict=False): the
// dependencies of the stored RPM, {name, version, flags, type} with Koji's
// DEP_* types.
func mGetRPMDeps(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "rpmID")
	depType := a.IntOrNil(1, "depType")
	qo := a.OptMap(2, "queryOpts")
	strict := a.OptBool(3, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	pkg, _, err := c.hub.rpmFileHeader(c, info, strict, "dependencies", "RPM file of %s doesn't exist")
	if err != nil {
		return nil, err
	}
	out := []any{}
	if pkg == nil {
		return applyQueryOpts(out, qo)
	}
	kind := -1
	if depType != nil {
		if *depType < 0 || *depType > rpmhdr.DepRecommend {
			return applyQueryOpts(out, qo)
		}
		kind = int(*depType)
	}
	asList := pyTruthy(qo["asList"])
	for _, d := range pkg.Main.Dependencies(kind) {
		if asList {
			out = append(out, []any{d.Name, d.Version, d.Flags, int64(d.Type)})
			continue
		}
		out = append(out, map[string]any{"name": d.Name, "version": d.Version, "flags": d.Flags, "type": int64(d.Type)})
	}
	if err := pkg.Main.Err(); err != nil {
		return nil, genericErr("Error reading rpm header: %v", err)
	}
	if asList {
		return out, nil
	}
	return applyQueryOpts(out, qo)
}

func rpmFileMap(f rpmhdr.File, algo string) map[string]any {
	return map[string]any{"name": f.Name, "digest": f.Digest, "digest_algo": algo, "md5": f.Digest, "size": f.Size,
		"flags": f.Flags, "user": f.User, "group": f.Group, "mtime": f.Mtime, "mode": f.Mode}
}

// listRPMFiles(rpmID, queryOpts=None): the files of the stored RPM.
func mListRPMFiles(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "rpmID")
	qo := a.OptMap(1, "queryOpts")
	if err := a.Done(); err != nil {
		return nil, err
	}
	pkg, _, err := c.hub.rpmFileHeader(c, info, false, "files", "")
	if err != nil {
		return nil, err
	}
	out := []any{}
	if pkg == nil {
		return applyQueryOpts(out, qo)
	}
	algo := pkg.Main.DigestAlgo()
	asList := pyTruthy(qo["asList"])
	for _, f := range pkg.Main.Files() {
		if asList {
			out = append(out, []any{f.Name, f.Digest, f.Size, f.Flags, algo, f.User, f.Group, f.Mtime, f.Mode})
			continue
		}
		out = append(out, rpmFileMap(f, algo))
	}
	if err := pkg.Main.Err(); err != nil {
		return nil, genericErr("Error reading rpm header: %v", err)
	}
	if asList {
		return out, nil
	}
	return applyQueryOpts(out, qo)
}

// getRPMFile(rpmID, filename, strict=False): one file of the stored RPM,
// {} when there is none (not strict).
func mGetRPMFile(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "rpmID")
	name := a.String(1, "filename")
	strict := a.OptBool(2, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	pkg, r, err := c.hub.rpmFileHeader(c, info, strict, "file", "RPM package file of %s doesn't exist")
	if err != nil {
		return nil, err
	}
	if pkg == nil {
		return map[string]any{}, nil
	}
	algo := pkg.Main.DigestAlgo()
	for _, f := range pkg.Main.Files() {
		if f.Name == name {
			m := rpmFileMap(f, algo)
			m["rpm_id"] = r.ID
			return m, nil
		}
	}
	if err := pkg.Main.Err(); err != nil {
		return nil, genericErr("Error reading rpm header: %v", err)
	}
	if strict {
		return nil, genericErr("No file: %s found in RPM: %s", name, pyStr(info))
	}
	return map[string]any{}, nil
}

// buildReferences(build, limit=None, lazy=False): what refers to a build:
// the tags that hold it, and (buildroots.go) the rpms of COMPLETE builds
// built in buildroots that held its rpms, with last_used the newest such
// buildroot's creation time. This hub records no archives or images: those
// lists are empty.
func mBuildReferences(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "build")
	limit := a.IntOrNil(1, "limit") // Koji limits the rpms, not the tags
	lazy := a.OptBool(2, "lazy", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	b, err := c.hub.mustBuild(c, info)
	if err != nil {
		return nil, err
	}
	return c.hub.buildRefs(c, b.ID, lazy, limit)
}

// buildRefs is Koji's build_references for a build id (deleteBuild asks
// it too): with lazy, it stops at the first kind of reference found;
// limit bounds the rpm uses listed.
func (h *Hub) buildRefs(c *call, buildID int64, lazy bool, limit *int64) (map[string]any, error) {
	refs, err := h.store.BuildTagRefs(c.ctx, buildID, 0)
	if err != nil {
		return nil, err
	}
	tags := []any{}
	for _, r := range refs {
		tags = append(tags, map[string]any{"tag_id": r.TagID, "name": r.Name})
	}
	out := map[string]any{"tags": tags}
	if lazy && len(tags) > 0 {
		return out, nil
	}
	uses, last, err := c.buildRPMUses(buildID, limit)
	if err != nil {
		return nil, err
	}
	out["rpms"] = uses
	if lazy && len(uses) > 0 {
		return out, nil
	}
	out["component_of"] = []any{}
	out["archives"] = []any{}
	out["last_used"] = kojiTS(last)
	out["images"] = out["component_of"]
	return out, nil
}

// untaggedBuilds(name=None, queryOpts=None, draft=None): COMPLETE builds
// that no tag holds, {id, name, version, release}; draft True or False
// keeps only the draft or the regular ones.
func mUntaggedBuilds(c *call, a *kojixml.Args) (any, error) {
	name := a.StringOrNil(0, "name")
	qo := a.OptMap(1, "queryOpts")
	draft := a.OptAny(2, "draft", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if draft != nil {
		if _, isBool := draft.(bool); !isBool {
			return nil, paramErr("draft: expected a boolean or None, got %s", pyClass(draft))
		}
	}
	bs, err := c.hub.store.UntaggedBuilds(c.ctx, name, 0)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(bs))
	for _, b := range bs {
		if draft != nil && b.Draft != draft.(bool) {
			continue
		}
		out = append(out, map[string]any{"id": b.ID, "name": b.Name, "version": b.Version, "release": b.Release})
	}
	return applyQueryOpts(out, qo)
}
