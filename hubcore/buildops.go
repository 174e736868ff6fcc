package hubcore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kojigo/db"
	"kojigo/hubcore/policy"
	"kojigo/internal/kojixml"
)

// Operations on builds after they are made, as Koji 1.35 has them:
// deleting (deleteBuild) and resetting (resetBuild) one, promoting a draft
// build (promoteBuild), moving every build of a package between tags
// (moveAllBuilds) and chain builds (chainBuild).
//
//	COMPLETE ──deleteBuild──▶ DELETED (rpm rows kept, files gone)
//	any ──resetBuild──▶ CANCELED (rpm rows and files gone, NVR reusable)
//	COMPLETE draft "N-V-R,draft_<id>" ──promoteBuild──▶ COMPLETE "N-V-R"
func buildOpsMethods() []method {
	return []method{
		{name: "deleteBuild", argdesc: "(build, strict=True, min_ref_age=604800)", fn: mDeleteBuild},
		{name: "resetBuild", argdesc: "(build)", fn: mResetBuild},
		{name: "promoteBuild", argdesc: "(build, force=False)", fn: mPromoteBuild},
		{name: "moveAllBuilds", argdesc: "(tag1, tag2, package, force=False)", fn: mMoveAllBuilds},
		{name: "chainBuild", argdesc: "(srcs, target, opts=None, priority=None, channel=None)", fn: mChainBuild},
	}
}

// draftMark separates a draft build's release from its suffix (Koji's
// DRAFT_RELEASE_DELIMITER).
const draftMark = ",draft_"

// targetRelease is Koji's parse_target_release: the release a draft build
// will have once promoted.
func targetRelease(draftRelease string) (string, error) {
	rel, suffix, ok := strings.Cut(draftRelease, ",")
	if !ok || !strings.HasPrefix(","+suffix, draftMark) {
		return "", genericErr("draft release: %s is not in valid format", draftRelease)
	}
	return rel, nil
}

// rpmRelease is the release a build's RPMs carry: a draft build's RPMs do
// not have the draft suffix.
func rpmRelease(b db.Build) string {
	if b.Draft {
		if rel, err := targetRelease(b.Release); err == nil {
			return rel
		}
	}
	return b.Release
}

// draftArg is Koji's draft filter argument (draft_clause): None selects
// all builds, a true value draft builds, a false one regular builds.
func draftArg(v any) *bool {
	if v == nil {
		return nil
	}
	d := pyTruthy(v)
	return &d
}

// draftConflict answers host.initBuild for a draft whose target NVR exists
// (Koji's new_build: "Target build already exists").
func draftConflict(c *call, nb db.NewBuild, taskID int64) error {
	old, err := c.hub.store.GetBuildByNVR(c.ctx, nb.PackageName, nb.Version, nb.Release)
	if err != nil {
		return genericErr("Target build already exists: %s-%s-%s", nb.PackageName, nb.Version, nb.Release)
	}
	return genericErr("Target build already exists: %s (id=%d)", old.NVR(), old.ID)
}

// opsBuild is Koji's get_build(build, strict=True) for these methods: an
// id, an NVR or a struct with name, version and release.
func (h *Hub) opsBuild(c *call, info any) (db.Build, error) {
	id, _, err := h.findBuildID(c, info, true)
	if err != nil {
		return db.Build{}, err
	}
	b, err := h.store.GetBuild(c.ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return b, genericErr("No such build: %s", pyRepr(info))
	}
	return b, err
}

// draftRerun finds the BUILDING draft build a build task that runs again
// (its builder died) started before: a draft's NVR is new on every
// initBuild, so only the task tells it.
func draftRerun(c *call, taskID int64) (any, bool, error) {
	state, draft := db.BuildBuilding, true
	bs, err := c.hub.store.ListBuilds(c.ctx, db.BuildFilter{TaskID: &taskID, State: &state, Draft: &draft, Limit: 1})
	if err != nil || len(bs) == 0 {
		return nil, false, err
	}
	return bs[0].ID, true, nil
}

// pyTagRefs renders build_references' tags as Python prints the list.
func pyTagRefs(tags []any) string {
	parts := make([]string, 0, len(tags))
	for _, t := range tags {
		m, _ := t.(map[string]any)
		parts = append(parts, fmt.Sprintf("{'tag_id': %v, 'name': '%v'}", m["tag_id"], m["name"]))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// deleteBuild(build, strict=True, min_ref_age=604800): an admin deletes an
// unreferenced build. Koji's delete_build: a build that a tag holds, whose
// RPMs or archives a buildroot used, or that a buildroot used less than
// min_ref_age seconds ago, is refused (a GenericError with strict, else
// False). A DELETED build answers None. The build is marked DELETED, its
// tag listings revoked, its signatures dropped and its directory removed
// (RPMs, logs, everything); the rows of its RPMs stay, and its NVR is not
// free for reuse.
func mDeleteBuild(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "build")
	strict := a.OptBool(1, "strict", true)
	minRefAge := a.OptAny(2, "min_ref_age", int64(604800))
	if err := a.Done(); err != nil {
		return nil, err
	}
	var minAge float64
	switch v := minRefAge.(type) {
	case int64:
		minAge = float64(v)
	case float64:
		minAge = v
	default:
		return nil, paramErr("min_ref_age: expected a number of seconds, got %s", pyClass(minRefAge))
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	b, err := c.hub.opsBuild(c, info)
	if err != nil {
		return nil, err
	}
	if b.State == db.BuildDeleted {
		return nil, nil
	}
	refuse := func(format string, args ...any) (any, error) {
		if strict {
			return nil, genericErr(format, args...)
		}
		return false, nil
	}
	ten := int64(10) // as Koji's delete_build asks
	refs, err := c.hub.buildRefs(c, b.ID, true, &ten)
	if err != nil {
		return nil, err
	}
	if tags, _ := refs["tags"].([]any); len(tags) > 0 {
		return refuse("Cannot delete build, tagged: %s", pyTagRefs(tags))
	}
	if l, _ := refs["rpms"].([]any); len(l) > 0 {
		return refuse("Cannot delete build, used in buildroots: %s", pyRepr(l))
	}
	if l, _ := refs["archives"].([]any); len(l) > 0 {
		return refuse("Cannot delete build, used in archive buildroots: %s", pyRepr(l))
	}
	if l, _ := refs["component_of"].([]any); len(l) > 0 {
		return refuse("Cannot delete build, used as component of: %s", pyRepr(l))
	}
	if last, ok := refs["last_used"].(float64); ok {
		if float64(time.Now().UnixMicro())/1e6-last < minAge {
			return refuse("Cannot delete build, used in recent buildroot")
		}
	}
	if _, err := c.hub.store.DeleteBuild(c.ctx, b.ID); err != nil {
		return nil, err
	}
	c.wrote = true
	c.hub.removeBuildFiles(c, b)
	c.hub.log.Warn("build deleted", "build", b.NVR(), "user", c.user.Name)
	return true, nil
}

// resetBuild(build): Koji's reset_build, for an admin: the build goes back
// to CANCELED with no task, on the DEFAULT volume, and loses its RPMs, its
// tag listings (with their history) and its directory, so that it can be
// built or imported again. A build that does not exist answers None.
func mResetBuild(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "build")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	id, ok, err := c.hub.findBuildID(c, info, false)
	if err != nil || !ok {
		return nil, err
	}
	b, err := c.hub.store.GetBuild(c.ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil // Koji: nothing to do
	}
	if err != nil {
		return nil, err
	}
	if err := c.hub.store.ResetBuild(c.ctx, b.ID); err != nil {
		return nil, err
	}
	c.wrote = true
	c.hub.removeBuildFiles(c, b)
	c.hub.log.Warn("build reset", "build", b.NVR(), "user", c.user.Name)
	return nil, nil
}

// removeBuildFiles removes a build's directory and the symlinks that lead
// to it (Koji's _delete_build_symlinks and rmtree of the build directory):
// the DEFAULT volume's link to a build on another volume, and for a build
// that was once a draft, the links left at its draft place.
func (h *Hub) removeBuildFiles(c *call, b db.Build) {
	rm := func(p string) {
		if err := os.RemoveAll(p); err != nil {
			h.log.Error("remove build files", "build", b.NVR(), "path", p, "err", err)
		}
	}
	if b.VolumeName != "" && b.VolumeName != "DEFAULT" {
		if base := h.buildDir(b, "DEFAULT"); isSymlink(base) {
			rm(base)
		}
	}
	if !b.Draft {
		vols, err := h.store.ListVolumes(c.ctx)
		if err != nil {
			h.log.Error("remove build files: list volumes", "build", b.NVR(), "err", err)
		}
		d := b
		d.Release = db.DraftRelease(b.Release, b.ID)
		for _, v := range vols {
			if p := h.buildDir(d, v.Name); isSymlink(p) {
				rm(p)
			}
		}
	}
	dir := h.buildDir(b, b.VolumeName)
	if _, err := os.Lstat(dir); err == nil {
		rm(dir)
	}
}

// promoteBuild(build, force=False): Koji's _promote_build. A COMPLETE draft
// build becomes a regular build: its release loses the draft suffix, its
// directory moves to the new name (the old name becomes a symlink to it),
// and the tags holding it are marked changed for kojira. The
// draft_promotion policy decides who may (by default the draft-promoter
// permission or the build's owner); force bypasses it for an admin.
// Returns the promoted build.
func mPromoteBuild(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "build")
	force := a.OptBool(1, "force", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requireLogin(); err != nil {
		return nil, err
	}
	b, err := c.hub.opsBuild(c, info)
	if err != nil {
		return nil, err
	}
	reason := func(format string, args ...any) error {
		return genericErr("Cannot promote build %s. Reason: %s", b.NVR(), fmt.Sprintf(format, args...))
	}
	if !b.Draft {
		return nil, reason("Not a draft build")
	}
	if b.State != db.BuildComplete {
		return nil, reason("state (%s) is not COMPLETE.", db.BuildStateName(b.State))
	}
	rel, err := targetRelease(b.Release)
	if err != nil {
		return nil, err
	}
	if old, err := c.hub.store.GetBuildByNVR(c.ctx, b.PackageName, b.Version, rel); err == nil {
		return nil, reason("Target build exists: %s(#%d)", old.NVR(), old.ID)
	} else if !errors.Is(err, db.ErrNotFound) {
		return nil, err
	}
	d := policy.Data{"build": b.ID, "target_release": rel, "user_id": c.user.ID}
	if err := c.assertPolicy("draft_promotion", d, force); err != nil {
		return nil, err
	}
	promoted := b
	promoted.Release = rel
	oldDir, newDir := c.hub.buildDir(b, b.VolumeName), c.hub.buildDir(promoted, b.VolumeName)
	if _, err := os.Lstat(newDir); err == nil {
		return nil, genericErr("Destination exists: %s", newDir)
	}
	_, statErr := os.Stat(oldDir)
	hasDir := statErr == nil
	if hasDir {
		if err := os.Rename(oldDir, newDir); err != nil {
			return nil, fmt.Errorf("promote build %s: %w", b.NVR(), err)
		}
	}
	var taken *db.NVRATakenError
	switch err := c.hub.store.PromoteBuild(c.ctx, b.ID, rel, c.user.ID); {
	case err == nil:
	case errors.As(err, &taken):
		if hasDir {
			os.Rename(newDir, oldDir)
		}
		return nil, reason("the regular build of RPM %s has one of its N-V-R.As", taken.NVRA)
	case errors.Is(err, db.ErrConflict) || errors.Is(err, db.ErrBuildState):
		// another promotion got there first: its directory is not ours
		if hasDir {
			os.Rename(newDir, oldDir)
		}
		return nil, reason("it was promoted or changed meanwhile")
	default:
		if hasDir {
			os.Rename(newDir, oldDir)
		}
		return nil, err
	}
	c.wrote = true
	if hasDir {
		c.hub.linkPromoted(b, promoted)
	}
	nb, err := c.hub.store.GetBuild(c.ctx, b.ID)
	if err != nil {
		return nil, err
	}
	c.hub.log.Info("draft build promoted", "draft", b.NVR(), "build", nb.NVR(), "user", c.user.Name)
	return buildMap(nb), nil
}

// linkPromoted leaves a symlink at a promoted build's draft place, on its
// volume, pointing at its new directory (the old paths of its RPMs keep
// working); on another volume the DEFAULT place of the new name links to
// the build too (Koji's ensure_volume_symlink).
func (h *Hub) linkPromoted(draft, promoted db.Build) {
	link := func(target, at string) {
		rel, err := filepath.Rel(filepath.Dir(at), target)
		if err == nil {
			err = os.MkdirAll(filepath.Dir(at), 0o755)
		}
		if err == nil {
			err = os.Symlink(rel, at)
		}
		if err != nil {
			h.log.Error("promote build: cannot link", "build", promoted.NVR(), "link", at, "err", err)
		}
	}
	newDir := h.buildDir(promoted, promoted.VolumeName)
	link(newDir, h.buildDir(draft, draft.VolumeName))
	if promoted.VolumeName != "" && promoted.VolumeName != "DEFAULT" {
		if base := h.buildDir(promoted, "DEFAULT"); !isSymlink(base) {
			link(newDir, base)
		}
	}
}

// moveAllBuilds(tag1, tag2, package, force=False): Koji's moveAllBuilds.
// Every build of the package in tag1 moves to tag2 in the order it was
// tagged, each by a tagBuild task (with fromtag) inside a dependantTask
// that waits for the previous one. The package must be listed (unblocked)
// in tag2; force lets an admin add it. Returns the dependantTask ids.
func mMoveAllBuilds(c *call, a *kojixml.Args) (any, error) {
	tag1 := a.Any(0, "tag1")
	tag2 := a.Any(1, "tag2")
	pkgInfo := a.Any(2, "package")
	force := a.OptBool(3, "force", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requireLogin(); err != nil {
		return nil, err
	}
	// Koji's get_package_id and get_tag_id, strict
	pkg, err := c.hub.lookupPackage(c, pkgInfo)
	if errors.Is(err, db.ErrNotFound) {
		return nil, genericErr("No such entry in table package: %s", pyStr(pkgInfo))
	}
	if err != nil {
		return nil, err
	}
	var tags [2]db.Tag
	for i, info := range []any{tag1, tag2} {
		tags[i], err = c.hub.lookupTag(c, info)
		if errors.Is(err, db.ErrNotFound) {
			return nil, genericErr("No such entry in table tag: %s", pyStr(info))
		}
		if err != nil {
			return nil, err
		}
	}
	from, to := tags[0], tags[1]
	entry, err := c.hub.effectivePackage(c, to.ID, pkg.ID, nil)
	if err != nil {
		return nil, err
	}
	pkgErr := ""
	switch {
	case entry == nil:
		pkgErr = fmt.Sprintf("Package %s not in list for tag %s", pyStr(pkgInfo), pyStr(tag2))
	case entry.Blocked:
		pkgErr = fmt.Sprintf("Package %s blocked in tag %s", pyStr(pkgInfo), pyStr(tag2))
	}
	if pkgErr != "" {
		if !force || !c.hasPerm("admin") {
			return nil, fault(kojixml.TagError, "%s", pkgErr)
		}
		if err := c.hub.pkgListAdd(c, to.ID, pkg.ID, pkgListReq{owner: c.user.ID, force: true, block: false}); err != nil {
			return nil, err
		}
		c.wrote = true
		c.hub.log.Info("package list policy overridden", "tag", to.Name, "package", pkg.Name, "user", c.user.Name)
	}
	perms := c.callerPerms()
	if err := assertTagAccess(from, perms, force); err != nil {
		return nil, err
	}
	if err := assertTagAccess(to, perms, force); err != nil {
		return nil, err
	}
	tagged, err := c.hub.store.ListTagged(c.ctx, db.TaggedFilter{TagIDs: []int64{from.ID}, PackageID: &pkg.ID})
	if err != nil {
		return nil, err
	}
	// oldest tagging first
	for i, j := 0, len(tagged)-1; i < j; i, j = i+1, j-1 {
		tagged[i], tagged[j] = tagged[j], tagged[i]
	}
	for _, tb := range tagged {
		d := policy.Data{"tag": to.ID, "fromtag": from.ID, "operation": "move", "build": tb.ID}
		if err := c.assertPolicy("tag", d, false); err != nil {
			return nil, err
		}
	}
	tasks := []any{}
	waitOn := []any{}
	for _, tb := range tagged {
		sub := []any{[]any{"tagBuild", []any{to.ID, tb.ID, force, from.ID}, map[string]any{"priority": int64(15)}}}
		id, err := c.hub.newTask(c, "dependantTask", []any{waitOn, sub}, prioDefault, 0, 0.2)
		if err != nil {
			return nil, err
		}
		waitOn = []any{id}
		tasks = append(tasks, id)
	}
	return tasks, nil
}

// maxChainSources bounds a chain build's sources, over all its levels.
const maxChainSources = 1000

// chainBuild(srcs, target, opts=None, priority=None, channel=None): Koji's
// chainBuild creates the chainbuild task; the builder builds srcs level by
// level (each level a list of SCM URLs or NVRs of existing builds), each
// level waiting until the build tag's repo has the previous level's builds.
func mChainBuild(c *call, a *kojixml.Args) (any, error) {
	srcs := a.Any(0, "srcs")
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
	levels, ok := srcs.([]any)
	if !ok {
		return nil, paramErr("Invalid type for value '%s': %s, expected type <class 'list'>", pyStr(srcs), pyClass(srcs))
	}
	n := 0
	for i, l := range levels {
		level, ok := l.([]any)
		if !ok {
			return nil, paramErr("srcs[%d]: expected a list of sources, got %s", i, pyClass(l))
		}
		for j, s := range level {
			src, ok := s.(string)
			if !ok {
				return nil, paramErr("srcs[%d][%d]: expected an SCM URL or an NVR, got %s", i, j, pyClass(s))
			}
			if src == "" || len(src) > 4096 || strings.ContainsAny(src, "\x00\n\r") {
				return nil, paramErr("srcs[%d][%d]: expected an SCM URL or an NVR", i, j)
			}
			n++
		}
	}
	if n > maxChainSources {
		return nil, paramErr("srcs: %d sources exceeds the limit of %d", n, maxChainSources)
	}
	if opts == nil {
		opts = map[string]any{}
	}
	if err := checkBuildOpts(opts); err != nil {
		return nil, err
	}
	priority := prioDefault
	if prio != nil && *prio != 0 {
		if *prio < -1000 || *prio > 1000 {
			return nil, paramErr("priority: expected -1000..1000, got %d", *prio)
		}
		if *prio < 0 && !c.hasPerm("admin") {
			return nil, notAllowed("only admins may create high-priority tasks")
		}
		priority += int(*prio)
	}
	if _, err := c.hub.mustTarget(c, target); err != nil {
		return nil, err
	}
	var chID int64
	if pyTruthy(channel) {
		ch, err := c.hub.lookupChannel(c, channel)
		if errors.Is(err, db.ErrNotFound) {
			return nil, genericErr("No such channel: %s", pyRepr(channel))
		}
		if err != nil {
			return nil, err
		}
		chID = ch.ID
	}
	return c.hub.newTask(c, "chainbuild", []any{srcs, target, opts}, priority, chID, 0.1)
}
