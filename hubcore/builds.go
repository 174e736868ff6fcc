package hubcore

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"kojigo/db"
	"kojigo/hubcore/policy"
	"kojigo/internal/kojixml"
	"kojigo/internal/rpmhdr"
)

// Builds: submitting them (build), the host calls that record them
// (host.initBuild, host.completeBuild, host.failBuild, host.tagBuild), and
// reading them back with their RPMs and tag listings.
//
// A build goes BUILDING → COMPLETE | FAILED | CANCELED (db/builds.go). Its
// RPMs are copied from the task's work directory to
// <topdir>/packages/<name>/<version>/<release>/<arch>/<file>.
func buildMethods() []method {
	ms := []method{
		{name: "build", argdesc: "(src, target, opts=None, priority=None, channel=None)", fn: mBuild},
		{name: "getBuild", argdesc: "(buildInfo, strict=False)", fn: mGetBuild},
		{name: "listBuilds", argdesc: "(packageID=None, userID=None, taskID=None, prefix=None, state=None, volumeID=None, source=None, createdBefore=None, createdAfter=None, completeBefore=None, completeAfter=None, type=None, typeInfo=None, queryOpts=None, pattern=None, cgID=None, draft=None)", fn: mListBuilds},
		{name: "listRPMs", argdesc: "(buildID=None, buildrootID=None, imageID=None, componentBuildrootID=None, hostID=None, arches=None, queryOpts=None, draft=None)", fn: mListRPMs},
		{name: "getRPM", argdesc: "(rpminfo, strict=False, multi=False)", fn: mGetRPM},
		{name: "listTagged", argdesc: "(tag, event=None, inherit=False, prefix=None, latest=False, package=None, owner=None, type=None, strict=True, extra=False, draft=None)", fn: mListTagged},
		{name: "getLatestBuilds", argdesc: "(tag, event=None, package=None, type=None, draft=None)", fn: mGetLatestBuilds},
		{name: "listTaggedRPMS", argdesc: "(tag, event=None, inherit=False, latest=False, package=None, arch=None, rpmsigs=False, owner=None, type=None, strict=True, extra=True, draft=None)", fn: mListTaggedRPMS},
		{name: "tagBuild", argdesc: "(tag, build, force=False, fromtag=None)", fn: mTagBuild},
		{name: "untagBuild", argdesc: "(tag, build, strict=True, force=False)", fn: mUntagBuild},
		{name: "moveBuild", argdesc: "(tag1, tag2, build, force=False)", fn: mMoveBuild},
		{name: "tagBuildBypass", argdesc: "(tag, build, force=False, notify=False)", fn: mTagBuildBypass},
		{name: "untagBuildBypass", argdesc: "(tag, build, strict=True, force=False, notify=False)", fn: mUntagBuildBypass},
		{name: "getLatestRPMS", argdesc: "(tag, package=None, arch=None, event=None, rpmsigs=False, type=None, draft=None)", fn: mGetLatestRPMS},
		{name: "cancelBuild", argdesc: "(buildID, strict=False)", fn: mCancelBuild},
		{name: "host.initBuild", argdesc: "(data)", fn: mHostInitBuild},
		{name: "host.completeBuild", argdesc: "(task_id, build_id, srpm, rpms, brmap=None, logs=None)", fn: mHostCompleteBuild},
		{name: "host.failBuild", argdesc: "(task_id, build_id)", fn: mHostFailBuild},
		{name: "host.tagBuild", argdesc: "(task_id, tag, build, force=False, fromtag=None)", fn: mHostTagBuild},
	}
	return append(ms, tagMethods()...)
}

// Koji's task priorities: lower runs first.
const (
	prioDefault  = 20
	prioTagBuild = 10
)

// splitNVR splits "name-version-release" at its last two dashes.
func splitNVR(nvr string) (name, version, release string, ok bool) {
	i := strings.LastIndexByte(nvr, '-')
	if i <= 0 {
		return "", "", "", false
	}
	j := strings.LastIndexByte(nvr[:i], '-')
	if j <= 0 {
		return "", "", "", false
	}
	name, version, release = nvr[:j], nvr[j+1:i], nvr[i+1:]
	return name, version, release, version != "" && release != ""
}

// lookupBuild resolves Koji's buildInfo: an id, an NVR string, or a struct
// with id or name/version/release.
func (h *Hub) lookupBuild(c *call, info any) (db.Build, error) {
	switch v := info.(type) {
	case int64:
		return h.store.GetBuild(c.ctx, v)
	case string:
		n, ver, rel, ok := splitNVR(v)
		if !ok {
			return db.Build{}, genericErr("invalid format: %s", v)
		}
		return h.store.GetBuildByNVR(c.ctx, n, ver, rel)
	case map[string]any:
		if id, ok := v["id"].(int64); ok {
			return h.store.GetBuild(c.ctx, id)
		}
		if id, ok := v["build_id"].(int64); ok {
			return h.store.GetBuild(c.ctx, id)
		}
		n, _ := v["name"].(string)
		ver, _ := v["version"].(string)
		rel, _ := v["release"].(string)
		if n != "" && ver != "" && rel != "" {
			return h.store.GetBuildByNVR(c.ctx, n, ver, rel)
		}
	}
	return db.Build{}, paramErr("Invalid type for buildInfo: %T", info)
}

func (h *Hub) mustBuild(c *call, info any) (db.Build, error) {
	b, err := h.lookupBuild(c, info)
	if errors.Is(err, db.ErrNotFound) {
		return b, genericErr("No such build: %s", pyRepr(info))
	}
	return b, err
}

func buildMap(b db.Build) map[string]any {
	var epoch any
	if b.Epoch != nil {
		epoch = *b.Epoch
	}
	var extra any
	if b.Extra != nil {
		extra = decodeStoredJSON(*b.Extra)
	}
	return map[string]any{
		"build_id": b.ID, "id": b.ID, "package_id": b.PackageID, "package_name": b.PackageName, "name": b.PackageName,
		"version": b.Version, "release": b.Release, "epoch": epoch, "nvr": b.NVR(), "state": int64(b.State),
		"task_id": optInt(b.TaskID), "owner_id": b.OwnerID, "owner_name": b.OwnerName,
		"creation_event_id": b.CreateEvent, "creation_time": kojiTime(&b.CreateTime), "creation_ts": b.CreateTime,
		"start_time": kojiTime(b.StartTime), "start_ts": kojiTS(b.StartTime),
		"completion_time": kojiTime(b.CompletionTime), "completion_ts": kojiTS(b.CompletionTime),
		"source": optStr(b.Source), "extra": extra, "volume_id": b.VolumeID, "volume_name": b.VolumeName,
		"cg_id": optInt(b.CGID), "cg_name": optStr(b.CGName), "draft": b.Draft, "promoter_id": optInt(b.PromoterID), "promoter_name": optStr(b.PromoterName),
		"promotion_time": kojiTime(b.PromotionTime), "promotion_ts": kojiTS(b.PromotionTime),
	}
}

// getBuild(buildInfo, strict=False)
func mGetBuild(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "buildInfo")
	strict := a.OptBool(1, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
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
	return buildMap(b), nil
}

// listBuilds(packageID=None, userID=None, taskID=None, prefix=None,
// state=None, volumeID=None, source=None, createdBefore=None,
// createdAfter=None, completeBefore=None, completeAfter=None, type=None,
// typeInfo=None, queryOpts=None, pattern=None, cgID=None, draft=None).
// type 'rpm' is all this hub has; source and typeInfo are refused rather
// than ignored. cgID is a content generator's id or name (an unknown one
// matches nothing, as in Koji). draft, as in Koji, selects
// draft builds when true, regular ones when false.
func mListBuilds(c *call, a *kojixml.Args) (any, error) {
	pkg := a.OptAny(0, "packageID", nil)
	user := a.OptAny(1, "userID", nil)
	task := a.IntOrNil(2, "taskID")
	prefix := a.OptString(3, "prefix", "")
	state := a.IntOrNil(4, "state")
	volume := a.OptAny(5, "volumeID", nil)
	source := a.OptAny(6, "source", nil)
	var times [4]any
	for i, n := range []string{"createdBefore", "createdAfter", "completeBefore", "completeAfter"} {
		times[i] = a.OptAny(7+i, n, nil)
	}
	typ := a.OptAny(11, "type", nil)
	typeInfo := a.OptAny(12, "typeInfo", nil)
	qo := a.OptMap(13, "queryOpts")
	pattern := a.OptString(14, "pattern", "")
	cg := a.OptAny(15, "cgID", nil)
	draft := a.OptAny(16, "draft", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if source != nil || typeInfo != nil {
		return nil, paramErr("listBuilds: source and typeInfo are not supported by this hub")
	}
	if typ != nil && typ != "rpm" {
		return []any{}, nil
	}
	f := db.BuildFilter{Prefix: prefix, Pattern: globLike(pattern)}
	if cg != nil && cg != int64(0) && cg != "" {
		found, err := c.hub.lookupCG(c, cg, false)
		var flt *kojixml.Fault
		if errors.As(err, &flt) && flt.Code == kojixml.GenericError {
			return []any{}, nil
		} else if err != nil {
			return nil, err
		}
		f.CGID = &found.ID
	}
	f.Draft = draftArg(draft)
	if volume != nil {
		v, ok := volume.(int64)
		if !ok {
			return nil, paramErr("volumeID: want an int, got %s", typeName(volume))
		}
		f.VolumeID = &v
	}
	if task != nil {
		if *task == -1 {
			f.HasTask = true
		} else {
			f.TaskID = task
		}
	}
	if state != nil {
		s := int(*state)
		f.State = &s
	}
	for i, dst := range []**float64{&f.CreatedBefore, &f.CreatedAfter, &f.CompleteBefore, &f.CompleteAfter} {
		ts, err := buildTimeArg(times[i])
		if err != nil {
			return nil, err
		}
		*dst = ts
	}
	if pkg != nil {
		p, err := c.hub.lookupPackage(c, pkg)
		if errors.Is(err, db.ErrNotFound) {
			return []any{}, nil
		}
		if err != nil {
			return nil, err
		}
		f.PackageID = &p.ID
	}
	if user != nil {
		u, err := c.hub.lookupUser(c, user)
		if errors.Is(err, db.ErrNotFound) {
			return []any{}, nil
		}
		if err != nil {
			return nil, err
		}
		f.OwnerID = &u.ID
	}
	bs, err := c.hub.store.ListBuilds(c.ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(bs))
	for _, b := range bs {
		out = append(out, buildMap(b))
	}
	return applyQueryOpts(out, qo)
}

// buildTimeArg reads a listBuilds time filter: seconds since the epoch, or
// an ISO time ('YYYY-MM-DD HH:MM:SS', UTC).
func buildTimeArg(v any) (*float64, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int64:
		f := float64(x)
		return &f, nil
	case float64:
		return &x, nil
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04:05.999999", "2006-01-02"} {
			if t, err := time.Parse(layout, x); err == nil {
				f := float64(t.UnixMicro()) / 1e6
				return &f, nil
			}
		}
		return nil, paramErr("invalid time %s: want seconds since the epoch or YYYY-MM-DD HH:MM:SS", pyRepr(x))
	}
	return nil, paramErr("invalid time: expected a number or a string, got %T", v)
}

func rpmMap(r db.RPM) map[string]any {
	var epoch any
	if r.Epoch != nil {
		epoch = *r.Epoch
	}
	return map[string]any{
		"id": r.ID, "build_id": r.BuildID, "name": r.Name, "version": r.Version, "release": r.Release, "epoch": epoch,
		"arch": r.Arch, "size": r.Size, "payloadhash": r.PayloadHash, "buildtime": r.BuildTime,
		"buildroot_id": optInt(r.BuildrootID), "external_repo_id": int64(0), "external_repo_name": "INTERNAL",
		"metadata_only": false, "extra": nil, "draft": r.Draft,
	}
}

// listRPMs(buildID=None, buildrootID=None, imageID=None, componentBuildrootID=None,
// hostID=None, arches=None, queryOpts=None, draft=None)
func mListRPMs(c *call, a *kojixml.Args) (any, error) {
	build := a.IntOrNil(0, "buildID")
	br := a.IntOrNil(1, "buildrootID")
	image := a.OptAny(2, "imageID", nil)
	comp := a.OptAny(3, "componentBuildrootID", nil)
	host := a.OptAny(4, "hostID", nil)
	arches := a.OptAny(5, "arches", nil)
	qo := a.OptMap(6, "queryOpts")
	draft := a.OptAny(7, "draft", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	f := db.RPMFilter{BuildrootID: br, Draft: draftArg(draft)}
	upd, err := c.rpmBuildrootArgs(&f, comp, host)
	if err != nil {
		return nil, err
	}
	if image != nil { // this hub builds no images: nothing is an image's component
		return applyQueryOpts([]any{}, qo)
	}
	if build != nil {
		f.BuildIDs = []int64{*build}
	}
	if arches != nil {
		s, err := parseArches(arches)
		if err != nil {
			return nil, err
		}
		f.Arches = strings.Fields(s)
	}
	rpms, err := c.hub.store.ListRPMs(c.ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(rpms))
	for _, r := range rpms {
		m := rpmMap(r)
		m["nvr"] = r.Name + "-" + r.Version + "-" + r.Release
		if upd != nil {
			m["component_buildroot_id"], m["is_update"] = *f.ComponentBuildrootID, upd[r.ID]
		}
		out = append(out, m)
	}
	return applyQueryOpts(out, qo)
}

// parseNVRA splits "name-version-release.arch" (a trailing ".rpm" allowed).
func parseNVRA(s string) (n, v, r, arch string, ok bool) {
	s = strings.TrimSuffix(s, ".rpm")
	i := strings.LastIndexByte(s, '.')
	if i <= 0 {
		return "", "", "", "", false
	}
	n, v, r, ok = splitNVR(s[:i])
	return n, v, r, s[i+1:], ok && s[i+1:] != ""
}

// getRPM(rpminfo, strict=False, multi=False): an id, "N-V-R.A" or a struct.
func mGetRPM(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "rpminfo")
	strict := a.OptBool(1, "strict", false)
	multi := a.OptBool(2, "multi", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	var r db.RPM
	var err error
	switch v := info.(type) {
	case int64:
		r, err = c.hub.store.GetRPM(c.ctx, v)
	case string:
		n, ver, rel, arch, ok := parseNVRA(v)
		if !ok {
			return nil, genericErr("invalid format: %s", v)
		}
		r, err = c.hub.store.GetRPMByNVRA(c.ctx, n, ver, rel, arch)
	case map[string]any:
		if id, ok := v["id"].(int64); ok {
			r, err = c.hub.store.GetRPM(c.ctx, id)
			break
		}
		n, _ := v["name"].(string)
		ver, _ := v["version"].(string)
		rel, _ := v["release"].(string)
		arch, _ := v["arch"].(string)
		if n == "" || ver == "" || rel == "" || arch == "" {
			return nil, paramErr("rpminfo: a struct needs id or name, version, release and arch")
		}
		r, err = c.hub.store.GetRPMByNVRA(c.ctx, n, ver, rel, arch)
	default:
		return nil, paramErr("Invalid type for rpminfo: %T", info)
	}
	if errors.Is(err, db.ErrNotFound) {
		if strict {
			return nil, genericErr("No such rpm: %s", pyRepr(info))
		}
		if multi {
			return []any{}, nil
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if multi {
		return []any{rpmMap(r)}, nil
	}
	return rpmMap(r), nil
}

// taggedBuilds lists what a tag holds (with inheritance when asked),
// newest first; latest keeps one build per package: the nearest tag's.
func (h *Hub) taggedBuilds(c *call, t db.Tag, ev *int64, inherit, latest bool, f db.TaggedFilter) ([]db.TaggedBuild, error) {
	n := int64(0)
	if latest {
		n = 1
	}
	return h.readTagged(c, h.store, t.ID, ev, inherit, n, f)
}

// readTagged is Koji's readTaggedBuilds(tag, event, inherit, latest) read
// through st: the complete builds listed in the tag (and with inherit its
// ancestors, nearest first), newest first within each tag, whose package
// the tag's package list (always with inheritance) has and does not block;
// with latest N other than 0, the first N of each package only (a
// negative N keeps none, as Koji's). f narrows the listing.
func (h *Hub) readTagged(c *call, st *db.Store, tagID int64, ev *int64, inherit bool, latest int64, f db.TaggedFilter) ([]db.TaggedBuild, error) {
	order, err := h.tagLinks(c, tagID, ev)
	if err != nil {
		return nil, err
	}
	pkgs, err := inheritedPackageListIn(c, st, order, ev, f.PackageID)
	if err != nil {
		return nil, err
	}
	if !inherit {
		order = order[:1]
	}
	return readTaggedIn(c, st, order, ev, latest, f, pkgs)
}

// readTaggedIn is readTagged over the tags of order (the tag, then the
// ancestors it inherits from), with the tag's effective package list pkgs
// already read (inheritedPackageListIn).
func readTaggedIn(c *call, st *db.Store, order []int64, ev *int64, latest int64, f db.TaggedFilter, pkgs []db.TagPackage) ([]db.TaggedBuild, error) {
	listed := make(map[int64]bool, len(pkgs))
	for _, p := range pkgs {
		listed[p.PackageID] = !p.Blocked
	}
	f.TagIDs, f.Event = order, ev
	all, err := st.ListTagged(c.ctx, f)
	if err != nil {
		return nil, err
	}
	byTag := map[int64][]db.TaggedBuild{}
	for _, tb := range all {
		byTag[tb.TagID] = append(byTag[tb.TagID], tb)
	}
	var out []db.TaggedBuild
	seen := map[int64]int64{}
	for _, id := range order {
		for _, tb := range byTag[id] {
			if tb.State != db.BuildComplete || !listed[tb.PackageID] {
				continue
			}
			if latest != 0 {
				if seen[tb.PackageID] >= latest {
					continue
				}
				seen[tb.PackageID]++
			}
			out = append(out, tb)
		}
	}
	return out, nil
}

func taggedMap(tb db.TaggedBuild) map[string]any {
	m := buildMap(tb.Build)
	m["tag_id"], m["tag_name"], m["create_event"] = tb.TagID, tb.TagName, tb.TagEvent
	return m
}

type taggedArgs struct {
	tag     db.Tag
	ev      *int64
	inherit bool
	latest  bool
	filter  db.TaggedFilter
	missing bool // strict=False and the tag does not exist
}

func (h *Hub) readTaggedArgs(c *call, tagInfo any, ev *int64, pkg, owner, typ any, strict bool) (taggedArgs, error) {
	var ta taggedArgs
	ta.ev = ev
	if typ != nil && typ != "rpm" {
		return ta, paramErr("type: only 'rpm' builds exist on this hub")
	}
	t, err := h.lookupTag(c, tagInfo)
	if errors.Is(err, db.ErrNotFound) {
		if strict {
			return ta, genericErr("No such tagInfo: %s", pyRepr(tagInfo))
		}
		ta.missing = true
		return ta, nil
	}
	if err != nil {
		return ta, err
	}
	ta.tag = t
	if pkg != nil {
		p, err := h.lookupPackage(c, pkg)
		if errors.Is(err, db.ErrNotFound) {
			ta.missing = true
			return ta, nil
		}
		if err != nil {
			return ta, err
		}
		ta.filter.PackageID = &p.ID
	}
	if owner != nil {
		u, err := h.lookupUser(c, owner)
		if errors.Is(err, db.ErrNotFound) {
			return ta, genericErr("No such user: %s", pyRepr(owner))
		}
		if err != nil {
			return ta, err
		}
		ta.filter.OwnerID = &u.ID
	}
	return ta, nil
}

// listTagged(tag, event=None, inherit=False, prefix=None, latest=False,
// package=None, owner=None, type=None, strict=True, extra=False, draft=None)
func mListTagged(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "tag")
	ev := a.IntOrNil(1, "event")
	inherit := a.OptBool(2, "inherit", false)
	prefix := a.OptString(3, "prefix", "")
	latest := a.OptBool(4, "latest", false)
	pkg := a.OptAny(5, "package", nil)
	owner := a.OptAny(6, "owner", nil)
	typ := a.OptAny(7, "type", nil)
	strict := a.OptBool(8, "strict", true)
	a.OptBool(9, "extra", false)
	draft := a.OptAny(10, "draft", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	ta, err := c.hub.readTaggedArgs(c, tagInfo, ev, pkg, owner, typ, strict)
	if err != nil || ta.missing {
		return []any{}, err
	}
	ta.filter.Prefix = prefix
	ta.filter.Draft = draftArg(draft)
	tbs, err := c.hub.taggedBuilds(c, ta.tag, ev, inherit, latest, ta.filter)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(tbs))
	for _, tb := range tbs {
		out = append(out, taggedMap(tb))
	}
	return out, nil
}

// getLatestBuilds(tag, event=None, package=None, type=None, draft=None): the
// newest tagged build of each package, with inheritance.
func mGetLatestBuilds(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "tag")
	ev := a.IntOrNil(1, "event")
	pkg := a.OptAny(2, "package", nil)
	typ := a.OptAny(3, "type", nil)
	draft := a.OptAny(4, "draft", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	ta, err := c.hub.readTaggedArgs(c, tagInfo, ev, pkg, nil, typ, true)
	if err != nil || ta.missing {
		return []any{}, err
	}
	ta.filter.Draft = draftArg(draft)
	tbs, err := c.hub.taggedBuilds(c, ta.tag, ev, true, true, ta.filter)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(tbs))
	for _, tb := range tbs {
		out = append(out, taggedMap(tb))
	}
	return out, nil
}

// getLatestRPMS(tag, package=None, arch=None, event=None, rpmsigs=False,
// type=None, draft=None): listTaggedRPMS with inherit and latest.
func mGetLatestRPMS(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "tag")
	pkg := a.OptAny(1, "package", nil)
	arch := a.OptAny(2, "arch", nil)
	ev := a.OptAny(3, "event", nil)
	rpmsigs := a.OptBool(4, "rpmsigs", false)
	typ := a.OptAny(5, "type", nil)
	draft := a.OptAny(6, "draft", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	return mListTaggedRPMS(c, kojixml.NewArgs("getLatestRPMS", kojixml.EncodeKwargs([]any{tagInfo}, map[string]any{
		"event": ev, "inherit": true, "latest": true, "package": pkg, "arch": arch, "rpmsigs": rpmsigs, "type": typ, "draft": draft,
	})))
}

// listTaggedRPMS(tag, event=None, inherit=False, latest=False, package=None,
// arch=None, rpmsigs=False, owner=None, type=None, strict=True, extra=True, draft=None)
// returns [rpms, builds].
func mListTaggedRPMS(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "tag")
	ev := a.IntOrNil(1, "event")
	inherit := a.OptBool(2, "inherit", false)
	latest := a.OptBool(3, "latest", false)
	pkg := a.OptAny(4, "package", nil)
	arch := a.OptAny(5, "arch", nil)
	rpmsigs := a.OptBool(6, "rpmsigs", false)
	owner := a.OptAny(7, "owner", nil)
	typ := a.OptAny(8, "type", nil)
	strict := a.OptBool(9, "strict", true)
	a.OptBool(10, "extra", true)
	draft := a.OptAny(11, "draft", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	ta, err := c.hub.readTaggedArgs(c, tagInfo, ev, pkg, owner, typ, strict)
	if err != nil || ta.missing {
		return []any{[]any{}, []any{}}, err
	}
	ta.filter.Draft = draftArg(draft)
	tbs, err := c.hub.taggedBuilds(c, ta.tag, ev, inherit, latest, ta.filter)
	if err != nil {
		return nil, err
	}
	builds := make([]any, 0, len(tbs))
	ids := make([]int64, 0, len(tbs))
	tagOf := map[int64]db.TaggedBuild{}
	for _, tb := range tbs {
		builds = append(builds, taggedMap(tb))
		ids = append(ids, tb.ID)
		tagOf[tb.ID] = tb
	}
	rpms := []any{}
	if len(ids) > 0 {
		f := db.RPMFilter{BuildIDs: ids}
		if arch != nil {
			s, err := parseArches(arch)
			if err != nil {
				return nil, err
			}
			f.Arches = strings.Fields(s)
		}
		rs, err := c.hub.store.ListRPMs(c.ctx, f)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			m := rpmMap(r)
			tb := tagOf[r.BuildID]
			m["tag_id"], m["tag_name"] = tb.TagID, tb.TagName
			rpms = append(rpms, m)
		}
	}
	if rpmsigs { // one row per signature (signatures.go)
		if rpms, err = c.hub.withRPMSigs(c, rpms); err != nil {
			return nil, err
		}
	}
	return []any{rpms, builds}, nil
}

// assertTagAccess is Koji's assert_tag_access for a user with perms: a
// locked tag, or a tag with its own permission the user lacks, refuses
// unless an admin forces it.
func assertTagAccess(t db.Tag, perms []string, force bool) error {
	has := func(p string) bool {
		for _, x := range perms {
			if x == p {
				return true
			}
		}
		return false
	}
	override := force && has("admin")
	if t.Locked && !override {
		return notAllowed("tag %s is locked", t.Name)
	}
	if t.PermName != nil && !has(*t.PermName) && !has("admin") && !override {
		return notAllowed("%s permission required", *t.PermName)
	}
	return nil
}

// callerPerms returns the caller's permissions.
func (c *call) callerPerms() []string {
	if c.user == nil {
		return nil
	}
	p, err := c.hub.store.UserPerms(c.ctx, c.user.ID)
	if err != nil {
		c.hub.log.Warn("read permissions", "user", c.user.ID, "err", err)
	}
	return p
}

// tagPolicyData is the 'tag' policy's data for an operation on build b:
// tag (the destination, None for untag), fromtag (the tag left, None for
// tag) and operation (tag, untag or move), as Koji's.
func tagPolicyData(to, from *db.Tag, b db.Build) policy.Data {
	d := policy.Data{"tag": nil, "fromtag": nil, "build": b.ID, "operation": "tag"}
	if to != nil {
		d["tag"] = to.ID
	}
	if from != nil {
		d["fromtag"] = from.ID
		d["operation"] = "move"
		if to == nil {
			d["operation"] = "untag"
		}
	}
	return d
}

// checkTaggable applies Koji's tagging checks: the build is complete, not
// already in the tag, and its package is listed and not blocked. An admin's
// force lists the package instead (as Koji's tagBuild does).
func (h *Hub) checkTaggable(c *call, t db.Tag, b db.Build, force bool, admin bool, owner int64) error {
	if b.State != db.BuildComplete {
		return fault(kojixml.TagError, "build %s not complete: state %s", b.NVR(), db.BuildStateName(b.State))
	}
	tl, err := h.store.ListTagged(c.ctx, db.TaggedFilter{TagIDs: []int64{t.ID}, BuildID: &b.ID})
	if err != nil {
		return err
	}
	if len(tl) > 0 {
		return fault(kojixml.TagError, "build %s already tagged (%s)", b.NVR(), t.Name)
	}
	e, err := h.effectivePackage(c, t.ID, b.PackageID, nil)
	if err != nil {
		return err
	}
	var perr string
	switch {
	case e == nil:
		perr = fmt.Sprintf("Package %s not in list for %s", b.PackageName, t.Name)
	case e.Blocked:
		perr = fmt.Sprintf("Package %s blocked in %s", b.PackageName, t.Name)
	}
	if perr == "" {
		return nil
	}
	if !(force && admin) {
		return fault(kojixml.TagError, "%s", perr)
	}
	next := db.TagPackage{TagID: t.ID, PackageID: b.PackageID, OwnerID: owner}
	if e != nil {
		next.OwnerID, next.ExtraArches, next.MinDiskMB, next.MinMemMB = e.OwnerID, e.ExtraArches, e.MinDiskMB, e.MinMemMB
	}
	h.log.Info("package list check overridden by force", "tag", t.Name, "build", b.NVR())
	_, err = h.store.SetTagPackage(c.ctx, next)
	return err
}

// tagBuild(tag, build, force=False, fromtag=None): as Koji, checks the
// request (build state, tag access, package list, the 'tag' policy) and
// creates a tagBuild task (priority 10) whose builder calls host.tagBuild;
// returns the task id.
func mTagBuild(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "tag")
	buildInfo := a.Any(1, "build")
	force := a.OptBool(2, "force", false)
	fromInfo := a.OptAny(3, "fromtag", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	return tagBuild(c, tagInfo, buildInfo, force, fromInfo)
}

// moveBuild(tag1, tag2, build, force=False): Koji's tagBuild(tag2, build,
// force, fromtag=tag1); returns the task id.
func mMoveBuild(c *call, a *kojixml.Args) (any, error) {
	from := a.Any(0, "tag1")
	to := a.Any(1, "tag2")
	build := a.Any(2, "build")
	force := a.OptBool(3, "force", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	return tagBuild(c, to, build, force, from)
}

// tagBuild is tagBuild and moveBuild (a move has fromInfo).
func tagBuild(c *call, tagInfo, buildInfo any, force bool, fromInfo any) (any, error) {
	if err := c.requireLogin(); err != nil {
		return nil, err
	}
	b, err := c.hub.mustBuild(c, buildInfo)
	if err != nil {
		return nil, err
	}
	t, err := c.hub.mustTag(c, tagInfo)
	if err != nil {
		return nil, err
	}
	var from *db.Tag
	var fromID any
	if fromInfo != nil {
		ft, err := c.hub.mustTag(c, fromInfo)
		if err != nil {
			return nil, err
		}
		from, fromID = &ft, ft.ID
	}
	if b.State != db.BuildComplete {
		return nil, fault(kojixml.TagError, "build %s not complete: state %s", b.NVR(), db.BuildStateName(b.State))
	}
	perms := c.callerPerms()
	if err := assertTagAccess(t, perms, force); err != nil {
		return nil, err
	}
	if from != nil {
		if err := assertTagAccess(*from, perms, force); err != nil {
			return nil, err
		}
	}
	if err := c.hub.checkTaggable(c, t, b, force, c.hasPerm("admin"), c.user.ID); err != nil {
		return nil, err
	}
	if err := c.assertPolicy("tag", tagPolicyData(&t, from, b), force); err != nil {
		return nil, err
	}
	id, err := c.hub.newTask(c, "tagBuild", []any{t.ID, b.ID, force, fromID}, prioTagBuild, 0, 1.0)
	if err != nil {
		return nil, err
	}
	return id, nil
}

// newTask creates a top-level task owned by the caller in a channel (0:
// default) and wakes the scheduler.
func (h *Hub) newTask(c *call, methodName string, args []any, priority int, channelID int64, weight float64) (int64, error) {
	var req bytes.Buffer
	if err := kojixml.EncodeCall(&req, methodName, args); err != nil {
		return 0, paramErr("cannot encode the %s request: %v", methodName, err)
	}
	n := db.NewTask{
		Method: methodName, Request: req.String(), Arch: "noarch",
		Owner: c.user.ID, Priority: priority, Weight: weight,
	}
	var reqChannel *db.Channel
	if channelID != 0 {
		ch, err := h.store.GetChannel(c.ctx, channelID)
		if err != nil {
			return 0, fmt.Errorf("channel %d: %w", channelID, err)
		}
		if !ch.Enabled {
			return 0, genericErr("Channel %s is disabled.", ch.Name)
		}
		reqChannel = &ch
	}
	if err := c.routeTask(methodName, args, &n, reqChannel, nil); err != nil {
		return 0, err
	}
	id, _, err := h.store.CreateTask(c.ctx, n)
	if err != nil {
		return 0, err
	}
	c.wrote = true
	h.sched.wake()
	return id, nil
}

// tagBuildBypass(tag, build, force=False, notify=False): tags at once, no
// task; the tag permission is required; notify makes a tagNotification.
func mTagBuildBypass(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "tag")
	buildInfo := a.Any(1, "build")
	force := a.OptBool(2, "force", false)
	notify := a.OptBool(3, "notify", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("tag"); err != nil {
		return nil, err
	}
	t, err := c.hub.mustTag(c, tagInfo)
	if err != nil {
		return nil, err
	}
	b, err := c.hub.mustBuild(c, buildInfo)
	if err != nil {
		return nil, err
	}
	if err := c.assertPolicy("tag", tagPolicyData(&t, nil, b), force); err != nil {
		return nil, err
	}
	if err := assertTagAccess(t, c.callerPerms(), force); err != nil {
		return nil, err
	}
	if err := c.hub.checkTaggable(c, t, b, force, c.hasPerm("admin"), c.user.ID); err != nil {
		return nil, err
	}
	if _, err := c.hub.store.TagBuild(c.ctx, t.ID, b.ID, &c.user.ID); errors.Is(err, db.ErrConflict) {
		return nil, fault(kojixml.TagError, "build %s already tagged (%s)", b.NVR(), t.Name)
	} else if err != nil {
		return nil, err
	}
	c.wrote = true
	if notify {
		c.hub.tagNotification(c, true, &t.ID, nil, b.ID, c.user.ID, false, "")
	}
	return nil, nil
}

// untagBuildBypass(tag, build, strict=True, force=False, notify=False)
func mUntagBuildBypass(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "tag")
	buildInfo := a.Any(1, "build")
	strict := a.OptBool(2, "strict", true)
	force := a.OptBool(3, "force", false)
	notify := a.OptBool(4, "notify", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("tag"); err != nil {
		return nil, err
	}
	return c.hub.untag(c, tagInfo, buildInfo, strict, force, notify)
}

// untag removes a build from a tag after the 'tag' policy (operation
// untag) and the tag access check.
func (h *Hub) untag(c *call, tagInfo, buildInfo any, strict, force, notify bool) (any, error) {
	t, err := h.mustTag(c, tagInfo)
	if err != nil {
		return nil, err
	}
	b, err := h.mustBuild(c, buildInfo)
	if err != nil {
		return nil, err
	}
	if err := c.assertPolicy("tag", tagPolicyData(nil, &t, b), force); err != nil {
		return nil, err
	}
	if err := assertTagAccess(t, c.callerPerms(), force); err != nil {
		return nil, err
	}
	if _, err := h.store.UntagBuildBy(c.ctx, t.ID, b.ID, c.userID()); errors.Is(err, db.ErrNotFound) {
		if strict {
			return nil, fault(kojixml.TagError, "build %s not in tag %s", b.NVR(), t.Name)
		}
	} else if err != nil {
		return nil, err
	} else {
		c.wrote = true
	}
	// Koji tells of the untag (notify: untagBuildBypass's flag) even when
	// a non-strict untag found nothing to remove.
	if notify {
		h.tagNotification(c, true, nil, &t.ID, b.ID, c.userID(), false, "")
	}
	return nil, nil
}

// untagBuild(tag, build, strict=True, force=False)
func mUntagBuild(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "tag")
	buildInfo := a.Any(1, "build")
	strict := a.OptBool(2, "strict", true)
	force := a.OptBool(3, "force", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requireLogin(); err != nil {
		return nil, err
	}
	return c.hub.untag(c, tagInfo, buildInfo, strict, force, true)
}

// cancelBuild(buildID, strict=False): the owner or an admin cancels a
// BUILDING build and its task tree. Returns whether it was canceled.
func mCancelBuild(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "buildID")
	strict := a.OptBool(1, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requireLogin(); err != nil {
		return nil, err
	}
	b, err := c.hub.mustBuild(c, info)
	if err != nil {
		return nil, err
	}
	if b.OwnerID != c.user.ID && !c.hasPerm("admin") {
		return nil, notAllowed("Cannot cancel build, not owner")
	}
	if b.State != db.BuildBuilding {
		if strict {
			return nil, genericErr("Cannot cancel build %s: state is %s", b.NVR(), db.BuildStateName(b.State))
		}
		return false, nil
	}
	err = c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		if err := tx.SetBuildState(c.ctx, b.ID, db.BuildCanceled, db.BuildBuilding); err != nil {
			return err
		}
		if b.TaskID != nil {
			if _, err := tx.CancelTask(c.ctx, *b.TaskID, true); err != nil && !errors.Is(err, db.ErrTaskFinished) {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, db.ErrBuildState) {
		if strict {
			return nil, genericErr("Cannot cancel build %s: %v", b.NVR(), err)
		}
		return false, nil
	}
	if err != nil {
		return nil, err
	}
	c.wrote = true
	c.hub.sched.wake()
	if b.TaskID != nil {
		c.hub.buildNotification(c, *b.TaskID, b.ID)
	}
	return true, nil
}

// buildOpts are the build() options kojigo knows, with their types.
var buildOptTypes = map[string]string{
	"scratch": "bool", "skip_tag": "bool", "repo_id": "int", "arch_override": "string", "fail_fast": "bool",
	"wait_repo": "bool", "wait_builds": "list", "rebuild_srpm": "bool", "draft": "bool", "custom_user_metadata": "struct",
}

func checkBuildOpts(opts map[string]any) error {
	for _, k := range sortedKwargKeys(opts) {
		want, ok := buildOptTypes[k]
		if !ok {
			return paramErr("build: unknown option %s", pyRepr(k))
		}
		v := opts[k]
		good := false
		switch want {
		case "bool":
			_, good = v.(bool)
			if i, isInt := v.(int64); isInt && (i == 0 || i == 1) {
				good = true
			}
		case "int":
			_, good = v.(int64)
		case "string":
			_, good = v.(string)
		case "list":
			l, isList := v.([]any)
			good = isList
			for _, x := range l {
				if _, s := x.(string); !s {
					good = false
				}
			}
		case "struct":
			_, good = v.(map[string]any)
		}
		if !good && v != nil {
			return paramErr("build: option %s: expected %s, got %T", k, want, v)
		}
	}
	if _, ok := opts["arch_override"]; ok && !pyTruthy(opts["scratch"]) {
		return notAllowed("arch_override is only allowed for scratch builds")
	}
	return nil
}

// checkSource accepts an SCM URL or an SRPM path relative to topdir/work
// that stays inside it.
func checkSource(src string) error {
	if src == "" || len(src) > 4096 || strings.ContainsAny(src, "\x00\n\r") {
		return paramErr("build: src must be an SCM URL or an uploaded SRPM path")
	}
	if strings.Contains(src, "://") {
		return nil
	}
	if _, err := workRelPath(src); err != nil {
		return paramErr("build: src %s: %v", pyRepr(src), err)
	}
	if !strings.HasSuffix(src, ".src.rpm") {
		return paramErr("build: src %s is neither an SCM URL nor a .src.rpm", pyRepr(src))
	}
	return nil
}

// build(src, target, opts=None, priority=None, channel=None): creates the
// top-level build task; the builder does the rest. Returns the task id.
func mBuild(c *call, a *kojixml.Args) (any, error) {
	src := a.String(0, "src")
	target := a.Any(1, "target")
	opts := a.OptMap(2, "opts")
	prio := a.IntOrNil(3, "priority")
	channel := a.OptAny(4, "channel", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requireLogin(); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = map[string]any{}
	}
	if err := checkSource(src); err != nil {
		return nil, err
	}
	if err := checkBuildOpts(opts); err != nil {
		return nil, err
	}
	priority := prioDefault
	if prio != nil {
		if *prio < -1000 || *prio > 1000 {
			return nil, paramErr("priority: expected -1000..1000, got %d", *prio)
		}
		if *prio < 0 && !c.hasPerm("admin") {
			return nil, notAllowed("only admins may create high-priority tasks")
		}
		priority += int(*prio)
	}
	tgt, err := c.hub.mustTarget(c, target)
	if err != nil {
		return nil, err
	}
	var chID int64
	if channel != nil {
		ch, err := c.hub.lookupChannel(c, channel)
		if errors.Is(err, db.ErrNotFound) {
			return nil, genericErr("No such channel: %s", pyRepr(channel))
		}
		if err != nil {
			return nil, err
		}
		chID = ch.ID
	}
	if err := c.assertBuildPolicies(src, tgt, opts); err != nil {
		return nil, err
	}
	return c.hub.newTask(c, "build", []any{src, target, opts}, priority, chID, 0.2)
}

// assertBuildPolicies checks Koji's build policies, with the data Koji's
// BuildTask gives them: build_from_srpm for a build from an SRPM that is
// not scratch, build_from_repo_id when opts has repo_id, and build_rpm.
// Koji's builder checks them when the build task starts; kojigo checks
// them when the task is asked for, so that the refusal is the build call's.
func (c *call) assertBuildPolicies(src string, tgt db.Target, opts map[string]any) error {
	fromSCM := strings.Contains(src, "://")
	skipTag := pyTruthy(opts["skip_tag"])
	d := policy.Data{
		"user_id": c.user.ID, "source": src, "build_tag": tgt.BuildTagID, "skip_tag": skipTag,
		"scratch": opts["scratch"], "draft": opts["draft"], "from_scm": fromSCM, "repo_id": opts["repo_id"],
		"target": tgt.Name,
	}
	if !skipTag {
		d["tag"] = tgt.DestTagID
	}
	if !fromSCM && !pyTruthy(opts["scratch"]) {
		if err := c.assertPolicy("build_from_srpm", d, false); err != nil {
			return err
		}
	}
	if opts["repo_id"] != nil {
		if err := c.assertPolicy("build_from_repo_id", d, false); err != nil {
			return err
		}
	}
	return c.assertPolicy("build_rpm", d, false)
}

// buildHostTask returns the task when it is OPEN on the calling host
// (Koji's Task.assertHost).
func (h *Hub) buildHostTask(c *call, host db.Host, taskID int64) (db.Task, error) {
	t, err := h.store.GetTask(c.ctx, taskID)
	if errors.Is(err, db.ErrNotFound) {
		return t, genericErr("No such task: %d", taskID)
	}
	if err != nil {
		return t, err
	}
	if t.HostID == nil || *t.HostID != host.ID || t.State != db.TaskOpen {
		return t, notAllowed("host %d does not own task %d", host.ID, taskID)
	}
	return t, nil
}

// host.initBuild(data): data has name, version, release, epoch (and
// optionally source, extra); the build is BUILDING for data's task_id,
// owned by the task's owner. Returns the build id.
func mHostInitBuild(c *call, a *kojixml.Args) (any, error) {
	data := a.Map(0, "data")
	if err := a.Done(); err != nil {
		return nil, err
	}
	host, err := c.requireHost()
	if err != nil {
		return nil, err
	}
	taskID, ok := data["task_id"].(int64)
	if !ok {
		return nil, paramErr("data: task_id: expected an integer")
	}
	t, err := c.hub.buildHostTask(c, host, taskID)
	if err != nil {
		return nil, err
	}
	nb := db.NewBuild{State: db.BuildBuilding, TaskID: &taskID, OwnerID: t.Owner, Draft: pyTruthy(data["draft"])}
	for _, f := range []struct {
		key string
		dst *string
	}{{"name", &nb.PackageName}, {"version", &nb.Version}, {"release", &nb.Release}} {
		s, ok := data[f.key].(string)
		if !ok || !validNVRPart(s, f.key == "name") {
			return nil, paramErr("data: %s: invalid value %s", f.key, pyRepr(data[f.key]))
		}
		*f.dst = s
	}
	switch e := data["epoch"].(type) {
	case nil:
	case int64:
		if e < 0 {
			return nil, paramErr("data: epoch must be >= 0")
		}
		nb.Epoch = &e
	default:
		return nil, paramErr("data: epoch: expected an integer or None")
	}
	if s, ok := data["source"].(string); ok {
		nb.Source = &s
	}
	if x, ok := data["extra"].(map[string]any); ok {
		js, err := encodeExtra(x)
		if err != nil {
			return nil, err
		}
		nb.Extra = &js
	}
	for k := range data {
		switch k {
		case "name", "version", "release", "epoch", "task_id", "source", "extra", "owner", "draft":
		default:
			return nil, paramErr("data: unknown key %s", pyRepr(k))
		}
	}
	if nb.Draft {
		if id, ok, err := draftRerun(c, taskID); err != nil || ok {
			return id, err
		}
	}
	id, err := c.hub.store.CreateBuild(c.ctx, nb)
	if errors.Is(err, db.ErrConflict) && nb.Draft {
		return nil, draftConflict(c, nb, taskID)
	}
	if errors.Is(err, db.ErrConflict) {
		// A build task that was freed (its builder died) and runs again
		// gets back the build it started.
		if b, gerr := c.hub.store.GetBuildByNVR(c.ctx, nb.PackageName, nb.Version, nb.Release); gerr == nil &&
			b.State == db.BuildBuilding && b.TaskID != nil && *b.TaskID == taskID {
			return b.ID, nil
		}
		return nil, genericErr("Build already exists: %s-%s-%s", nb.PackageName, nb.Version, nb.Release)
	}
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return id, nil
}

// validNVRPart accepts what rpm allows in a name, version or release, and
// nothing that could step out of a directory: letters, digits and ._+~^
// (and - in names), not starting with a dot, at most 255 bytes.
func validNVRPart(s string, name bool) bool {
	if s == "" || len(s) > 255 || s[0] == '.' {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '.' || r == '_' || r == '+' || r == '~' || r == '^':
		case r == '-' && name:
		default:
			return false
		}
	}
	return true
}

// buildForTask loads a build the calling host may finish: the host owns the
// task and the build belongs to it.
func (h *Hub) buildForTask(c *call, taskID, buildID int64) (db.Build, error) {
	host, err := c.requireHost()
	if err != nil {
		return db.Build{}, err
	}
	if _, err := h.buildHostTask(c, host, taskID); err != nil {
		return db.Build{}, err
	}
	b, err := h.store.GetBuild(c.ctx, buildID)
	if errors.Is(err, db.ErrNotFound) {
		return b, genericErr("No such build: %d", buildID)
	}
	if err != nil {
		return b, err
	}
	if b.TaskID == nil || *b.TaskID != taskID {
		return b, notAllowed("build %s does not belong to task %d", b.NVR(), taskID)
	}
	if b.State != db.BuildBuilding {
		return b, genericErr("Unable to complete build: state is %s", db.BuildStateName(b.State))
	}
	return b, nil
}

// host.failBuild(task_id, build_id)
func mHostFailBuild(c *call, a *kojixml.Args) (any, error) {
	taskID := a.Int(0, "task_id")
	buildID := a.Int(1, "build_id")
	if err := a.Done(); err != nil {
		return nil, err
	}
	b, err := c.hub.buildForTask(c, taskID, buildID)
	if err != nil {
		return nil, err
	}
	if err := c.hub.store.SetBuildState(c.ctx, b.ID, db.BuildFailed, db.BuildBuilding); err != nil {
		return nil, err
	}
	c.wrote = true
	c.hub.buildNotification(c, taskID, b.ID)
	return nil, nil
}

// workRelPath checks a path relative to topdir/work: relative, clean, no
// "..", and returns its components.
func workRelPath(p string) ([]string, error) {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsRune(p, '\\') || strings.ContainsRune(p, 0) {
		return nil, errors.New("must be a relative path under the work directory")
	}
	parts := strings.Split(p, "/")
	for _, s := range parts {
		if s == "" || s == "." || s == ".." {
			return nil, errors.New("must be a clean relative path under the work directory (no '..', '.' or empty parts)")
		}
	}
	return parts, nil
}

// openWorkFile opens topdir/work/<rel> for reading, refusing symbolic links
// anywhere on the way and anything but a regular file.
func (h *Hub) openWorkFile(rel string) (*os.File, os.FileInfo, error) {
	parts, err := workRelPath(rel)
	if err != nil {
		return nil, nil, err
	}
	cur := filepath.Join(h.cfg.TopDir, "work")
	for i, s := range parts {
		cur = filepath.Join(cur, s)
		fi, err := os.Lstat(cur)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: no such file in the work directory", rel)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return nil, nil, fmt.Errorf("%s: symbolic links are not followed", rel)
		}
		if i < len(parts)-1 && !fi.IsDir() {
			return nil, nil, fmt.Errorf("%s: not a directory on the way", rel)
		}
		if i == len(parts)-1 && !fi.Mode().IsRegular() {
			return nil, nil, fmt.Errorf("%s: not a regular file", rel)
		}
	}
	f, err := os.Open(cur)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", rel, err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s: not a regular file", rel)
	}
	return f, fi, nil
}

// rpmFile is an RPM read for import.
type rpmFile struct {
	rel       string
	rpm       db.RPM
	sourceRPM string
	source    bool
	header    int64 // offset of the main header (start of the SIGMD5 range)
}

// headerRPM is the rpminfo fields an RPM's main header gives: name,
// version, release, arch, epoch and build time.
func headerRPM(m *rpmhdr.Header) db.RPM {
	r := db.RPM{Name: m.String(rpmhdr.TagName), Version: m.String(rpmhdr.TagVersion), Release: m.String(rpmhdr.TagRelease), Arch: m.String(rpmhdr.TagArch)}
	if e, ok := m.Number(rpmhdr.TagEpoch); ok {
		ep := int64(e)
		r.Epoch = &ep
	}
	if bt, ok := m.Number(rpmhdr.TagBuildTime); ok {
		r.BuildTime = int64(bt)
	}
	return r
}

// readRPM reads an RPM's header data (not yet its checksums).
func (h *Hub) readRPM(rel string) (rpmFile, error) {
	f, fi, err := h.openWorkFile(rel)
	if err != nil {
		return rpmFile{}, err
	}
	defer f.Close()
	p, err := rpmhdr.NewReader(rpmhdr.Limits{}).Read(f, fi.Size())
	if err != nil {
		return rpmFile{}, fmt.Errorf("%s: %w", rel, err)
	}
	m := &p.Main
	r := rpmFile{rel: rel, header: p.HeaderStart}
	r.rpm = headerRPM(m)
	r.rpm.Size = fi.Size()
	r.sourceRPM = m.String(rpmhdr.TagSourceRPM)
	r.source = p.Source || m.Has(rpmhdr.TagSourcePackage) || !m.Has(rpmhdr.TagSourceRPM)
	if r.source {
		r.rpm.Arch = "src"
	}
	if err := errors.Join(m.Err(), p.Signature.Err()); err != nil {
		return rpmFile{}, fmt.Errorf("%s: %w", rel, err)
	}
	if !validNVRPart(r.rpm.Name, true) || !validNVRPart(r.rpm.Version, false) || !validNVRPart(r.rpm.Release, false) || !validNVRPart(r.rpm.Arch, false) {
		return rpmFile{}, fmt.Errorf("%s: header has an invalid name, version, release or arch", rel)
	}
	return r, nil
}

// storeRPM copies an RPM into packages/ (temp file, fsync, rename) while
// computing its sha256 and the header+payload md5, and returns them.
func (h *Hub) storeRPM(r *rpmFile, b db.Build) error {
	src, _, err := h.openWorkFile(r.rel)
	if err != nil {
		return err
	}
	defer src.Close()
	dir := filepath.Join(h.cfg.TopDir, "packages", b.PackageName, b.Version, b.Release, r.rpm.Arch)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".import-*")
	if err != nil {
		return fmt.Errorf("import %s: %w", r.rel, err)
	}
	defer os.Remove(tmp.Name())
	sum, md := sha256.New(), md5.New()
	w := io.MultiWriter(tmp, sum)
	if _, err := io.CopyN(w, src, r.header); err != nil {
		tmp.Close()
		return fmt.Errorf("import %s: %w", r.rel, err)
	}
	n, err := io.Copy(io.MultiWriter(w, md), src)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("import %s: %w", r.rel, err)
	}
	if r.header+n != r.rpm.Size {
		return fmt.Errorf("import %s: file changed while importing", r.rel)
	}
	r.rpm.Checksum = hex.EncodeToString(sum.Sum(nil))
	// Koji's payloadhash is the signature header's SIGMD5: the md5 of the
	// main header and the payload, which is what is computed here.
	r.rpm.PayloadHash = hex.EncodeToString(md.Sum(nil))
	final := filepath.Join(dir, r.rpm.Filename())
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return fmt.Errorf("import %s: %w", r.rel, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// buildLog is one log file of a completed build: its path under topdir/work
// and the subdirectory (arch) it goes to under data/logs.
type buildLog struct{ rel, arch string }

// checkLogs validates completeBuild's logs, {arch: [path, ...]}.
func checkLogs(logs map[string]any) ([]buildLog, error) {
	var out []buildLog
	for _, arch := range sortedKwargKeys(logs) {
		if arch == "" || arch == "." || arch == ".." || strings.ContainsAny(arch, "/\\\x00") || len(arch) > 64 {
			return nil, paramErr("logs: invalid arch %s", pyRepr(arch))
		}
		if logs[arch] == nil {
			continue // an arch without logs
		}
		l, ok := logs[arch].([]any)
		if !ok {
			return nil, paramErr("logs[%s]: expected a list of paths", arch)
		}
		for _, x := range l {
			p, ok := x.(string)
			if !ok {
				return nil, paramErr("logs[%s]: expected paths, got %T", arch, x)
			}
			if _, err := workRelPath(p); err != nil {
				return nil, genericErr("Unable to import log %s: %v", p, err)
			}
			out = append(out, buildLog{rel: p, arch: arch})
		}
	}
	if len(out) > 1000 {
		return nil, paramErr("logs: %d files exceeds the limit of 1000", len(out))
	}
	return out, nil
}

// storeLog copies a build log to packages/<n>/<v>/<r>/data/logs/<arch>/
// (temp file, fsync, rename), as Koji's import_build_log.
func (h *Hub) storeLog(l buildLog, b db.Build) error {
	src, _, err := h.openWorkFile(l.rel)
	if err != nil {
		return err
	}
	defer src.Close()
	dir := filepath.Join(h.cfg.TopDir, "packages", b.PackageName, b.Version, b.Release, "data", "logs", l.arch)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".import-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, src)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, path.Base(l.rel)))
}

// host.completeBuild(task_id, build_id, srpm, rpms, brmap=None, logs=None):
// srpm, rpms and logs ({arch: [path]}) are paths relative to topdir/work.
// Each package is checked against the build (the SRPM's NVR, each RPM's
// source RPM), copied under packages/, recorded with its header data and
// checksums; logs go to packages/.../data/logs/<arch>/; the build becomes
// COMPLETE.
func mHostCompleteBuild(c *call, a *kojixml.Args) (any, error) {
	taskID := a.Int(0, "task_id")
	buildID := a.Int(1, "build_id")
	srpm := a.String(2, "srpm")
	rpmList := a.List(3, "rpms")
	brmap := a.OptMap(4, "brmap")
	logs := a.OptMap(5, "logs")
	if err := a.Done(); err != nil {
		return nil, err
	}
	logFiles, err := checkLogs(logs)
	if err != nil {
		return nil, err
	}
	if len(rpmList) > 10000 {
		return nil, paramErr("rpms: %d files exceeds the limit of 10000", len(rpmList))
	}
	b, err := c.hub.buildForTask(c, taskID, buildID)
	if err != nil {
		return nil, err
	}
	if err := c.checkBrmap(brmap); err != nil {
		return nil, err
	}
	for _, l := range logFiles {
		f, _, err := c.hub.openWorkFile(l.rel)
		if err != nil {
			return nil, genericErr("Unable to import log %s: %v", l.rel, err)
		}
		f.Close()
	}
	paths := []string{srpm}
	for i, x := range rpmList {
		s, ok := x.(string)
		if !ok {
			return nil, paramErr("rpms[%d]: expected a path, got %T", i, x)
		}
		paths = append(paths, s)
	}
	files := make([]rpmFile, 0, len(paths))
	seen := map[string]bool{}
	rel := rpmRelease(b) // a draft build's RPMs carry the release it will be promoted to
	wantNVR := b.PackageName + "-" + b.Version + "-" + rel
	wantSRPM := wantNVR + ".src.rpm"
	for i, p := range paths {
		r, err := c.hub.readRPM(p)
		if err != nil {
			return nil, genericErr("Unable to import %s: %v", p, err)
		}
		switch {
		case i == 0 && !r.source:
			return nil, genericErr("Unable to import %s: not a source rpm", p)
		case i == 0 && (r.rpm.Name != b.PackageName || r.rpm.Version != b.Version || r.rpm.Release != rel):
			return nil, genericErr("srpm mismatch for %s: %s-%s-%s (expected %s)", p, r.rpm.Name, r.rpm.Version, r.rpm.Release, wantNVR)
		case i > 0 && r.source:
			return nil, genericErr("Unable to import %s: a source rpm in the list of binary rpms", p)
		case i > 0 && r.sourceRPM != wantSRPM:
			return nil, genericErr("srpm mismatch for %s: %s (expected %s)", p, r.sourceRPM, wantSRPM)
		}
		if seen[r.rpm.Filename()] {
			return nil, genericErr("Unable to import %s: %s listed twice", p, r.rpm.Filename())
		}
		seen[r.rpm.Filename()] = true
		r.rpm.BuildID = b.ID
		// Koji keys brmap by the path as given; the base name is accepted too.
		if br, ok := brmap[p].(int64); ok {
			r.rpm.BuildrootID = &br
		} else if br, ok := brmap[path.Base(p)].(int64); ok {
			r.rpm.BuildrootID = &br
		}
		files = append(files, r)
	}
	// the volume policy's volume; writes below go there through the
	// DEFAULT place's symlink (volumes.go)
	var brs []int64
	for _, f := range files {
		if f.rpm.BuildrootID != nil {
			brs = append(brs, *f.rpm.BuildrootID)
		}
	}
	vol := c.hub.completionVolume(c, b, taskID, brs)
	if err := c.hub.prepareBuildDir(b, vol); err != nil {
		return nil, err
	}
	for i := range files {
		if err := c.hub.storeRPM(&files[i], b); err != nil {
			return nil, genericErr("Unable to import %s: %v", files[i].rel, err)
		}
	}
	for _, l := range logFiles {
		if err := c.hub.storeLog(l, b); err != nil {
			return nil, genericErr("Unable to import log %s: %v", l.rel, err)
		}
	}
	err = c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		for _, r := range files {
			if _, err := tx.AddRPM(c.ctx, r.rpm); errors.Is(err, db.ErrConflict) {
				return genericErr("Unable to import %s: %s is already in another build", r.rel, r.rpm.Filename())
			} else if err != nil {
				return err
			}
		}
		if vol.ID != b.VolumeID {
			if err := tx.SetBuildVolume(c.ctx, b.ID, vol.ID, nil); err != nil {
				return err
			}
		}
		return tx.SetBuildState(c.ctx, b.ID, db.BuildComplete, db.BuildBuilding)
	})
	if err != nil {
		return nil, err
	}
	c.wrote = true
	c.hub.buildNotification(c, taskID, b.ID)
	return nil, nil
}

// host.tagBuild(task_id, tag, build, force=False, fromtag=None): tags as
// the task's owner, moving from fromtag when given (Koji's argument order).
func mHostTagBuild(c *call, a *kojixml.Args) (any, error) {
	taskID := a.Int(0, "task_id")
	tagInfo := a.Any(1, "tag")
	buildInfo := a.Any(2, "build")
	force := a.OptBool(3, "force", false)
	fromInfo := a.OptAny(4, "fromtag", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	host, err := c.requireHost()
	if err != nil {
		return nil, err
	}
	t, err := c.hub.buildHostTask(c, host, taskID)
	if err != nil {
		return nil, err
	}
	tag, err := c.hub.mustTag(c, tagInfo)
	if err != nil {
		return nil, err
	}
	b, err := c.hub.mustBuild(c, buildInfo)
	if err != nil {
		return nil, err
	}
	var from *db.Tag
	if fromInfo != nil {
		ft, err := c.hub.mustTag(c, fromInfo)
		if err != nil {
			return nil, err
		}
		from = &ft
	}
	// The 'tag' policy as the task's owner (Koji's host.tagBuild).
	pd := tagPolicyData(&tag, from, b)
	pd["user_id"] = t.Owner
	if err := c.assertPolicy("tag", pd, force); err != nil {
		return nil, err
	}
	ownerPerms, err := c.hub.store.UserPerms(c.ctx, t.Owner)
	if err != nil {
		return nil, err
	}
	admin := false
	for _, p := range ownerPerms {
		admin = admin || p == "admin"
	}
	if err := assertTagAccess(tag, ownerPerms, force); err != nil {
		return nil, err
	}
	if from != nil {
		if err := assertTagAccess(*from, ownerPerms, force); err != nil {
			return nil, err
		}
	}
	if err := c.hub.checkTaggable(c, tag, b, force, admin, t.Owner); err != nil {
		return nil, err
	}
	owner := t.Owner
	err = c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		if from != nil {
			if _, err := tx.UntagBuild(c.ctx, from.ID, b.ID); errors.Is(err, db.ErrNotFound) {
				return fault(kojixml.TagError, "build %s not in tag %s", b.NVR(), from.Name)
			} else if err != nil {
				return err
			}
		}
		_, err := tx.TagBuild(c.ctx, tag.ID, b.ID, &owner)
		if errors.Is(err, db.ErrConflict) {
			return fault(kojixml.TagError, "build %s already tagged (%s)", b.NVR(), tag.Name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// buildRequirements tells the scheduler what a builder must have free for a
// build or buildArch task (Open Build Service's _constraints): the largest
// of the build tag's and the destination tag's extra kojigo.min_disk_mb /
// kojigo.min_mem_mb and the package's list entry (min_disk_mb, min_mem_mb)
// in those tags, with inheritance. The package comes from the SRPM file
// name (N-V-R.src.rpm) or the SCM URL's repository name. Anything it cannot
// work out (other methods, bad requests, unknown tags) requires nothing.
func (h *Hub) buildRequirements(ctx context.Context, method string, request string) (minDiskMB, minMemMB int64) {
	req, err := kojixml.DecodeOptions{}.DecodeCallBytes([]byte(request))
	if err != nil {
		return 0, 0
	}
	params, _ := kojixml.SplitKwargs(req.Params)
	c := &call{ctx: ctx, hub: h}
	var src string
	var tagIDs []int64
	switch method {
	case "build":
		if len(params) < 2 {
			return 0, 0
		}
		src, _ = params[0].(string)
		t, err := h.lookupTarget(c, params[1])
		if err != nil {
			return 0, 0
		}
		tagIDs = []int64{t.BuildTagID, t.DestTagID}
	case "buildArch", "buildSRPMFromSCM", "rebuildSRPM":
		if len(params) < 2 {
			return 0, 0
		}
		src, _ = params[0].(string)
		t, err := h.lookupTag(c, params[1])
		if err != nil {
			return 0, 0
		}
		tagIDs = []int64{t.ID}
	default:
		return 0, 0
	}
	pkgName := packageFromSource(src)
	for _, id := range tagIDs {
		t, err := h.store.GetTag(ctx, id)
		if err != nil {
			continue
		}
		extra, err := h.inheritedExtra(c, t, nil)
		if err == nil {
			minDiskMB = max(minDiskMB, extraMB(extra["kojigo.min_disk_mb"]))
			minMemMB = max(minMemMB, extraMB(extra["kojigo.min_mem_mb"]))
		}
		if pkgName == "" {
			continue
		}
		p, err := h.store.GetPackageByName(ctx, pkgName)
		if err != nil {
			continue
		}
		e, err := h.effectivePackage(c, t.ID, p.ID, nil)
		if err != nil || e == nil {
			continue
		}
		if e.MinDiskMB != nil {
			minDiskMB = max(minDiskMB, *e.MinDiskMB)
		}
		if e.MinMemMB != nil {
			minMemMB = max(minMemMB, *e.MinMemMB)
		}
	}
	return minDiskMB, minMemMB
}

func extraMB(v any) int64 {
	switch x := v.(type) {
	case int64:
		if x > 0 {
			return x
		}
	case float64:
		if x > 0 && x < maxConstraintMB {
			return int64(x)
		}
	case string:
		var n int64
		if _, err := fmt.Sscan(x, &n); err == nil && n > 0 {
			return n
		}
	}
	return 0
}

// packageFromSource returns the package an SRPM path (N-V-R.src.rpm) or an
// SCM URL (its repository's base name) builds, or "".
func packageFromSource(src string) string {
	if strings.Contains(src, "://") {
		u := src
		if i := strings.IndexAny(u, "#?"); i >= 0 {
			u = u[:i]
		}
		u = strings.TrimRight(u, "/")
		return strings.TrimSuffix(path.Base(u), ".git")
	}
	base := path.Base(src)
	if !strings.HasSuffix(base, ".src.rpm") {
		return ""
	}
	n, _, _, ok := splitNVR(strings.TrimSuffix(base, ".src.rpm"))
	if !ok {
		return ""
	}
	return n
}
