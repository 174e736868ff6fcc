package hubcore

import (
	"cmp"
	"errors"
	"slices"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// cloneTagMethods are Koji's bulk tag copies behind `koji clone-tag`:
// snapshotTag (into a new tag), snapshotTagModify (make an existing tag
// match another) and massTag (tag many builds at once). Each runs in one
// transaction and, as Koji, gives every step its own event, so that
// queryHistory shows the copy entry by entry in the order it was made.
func cloneTagMethods() []method {
	return []method{
		{name: "massTag", argdesc: "(tag, builds)", fn: mMassTag},
		{name: "snapshotTag", argdesc: "(src, dst, config=True, pkgs=True, builds=True, groups=True, latest_only=True, inherit_builds=True, event=None, force=False)", fn: mSnapshotTag},
		{name: "snapshotTagModify", argdesc: "(src, dst, config=True, pkgs=True, builds=True, groups=True, latest_only=True, inherit_builds=True, event=None, force=False, remove=False)", fn: mSnapshotTagModify},
	}
}

// maxMassTag bounds massTag's list of builds (Koji has none; a list of
// 100000 build ids just fits the default MaxRequestLength of 4 MiB).
const maxMassTag = 100000

// massTag(tag, builds): tags each build (an NVR, id or build struct) in
// order, each under its own event, with no policy, lock or package list
// check; a build already in the tag is re-tagged (made the newest). The
// tag permission is required. One bad build and nothing is tagged.
func mMassTag(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "tag")
	buildsArg := a.Any(1, "builds")
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
	list, ok := buildsArg.([]any)
	if !ok {
		return nil, paramErr("builds: expected a list of builds, got %T", buildsArg)
	}
	if len(list) > maxMassTag {
		return nil, paramErr("builds: %d builds exceeds the limit of %d", len(list), maxMassTag)
	}
	if len(list) == 0 {
		return nil, nil
	}
	err = c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		for _, info := range list {
			b, err := c.hub.mustBuild(c, info)
			if err != nil {
				return err
			}
			if err := directTag(c, tx, t, b, true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// snapshotOpts are the arguments snapshotTag and snapshotTagModify share.
type snapshotOpts struct {
	src, dst                     any
	config, pkgs, builds, groups bool
	inheritBuilds, force, remove bool
	latest                       int64 // Koji's latest: 0 all, N the newest N per package
	ev                           *int64
}

func snapshotArgs(a *kojixml.Args, modify bool) (snapshotOpts, error) {
	var o snapshotOpts
	o.src = a.Any(0, "src")
	o.dst = a.Any(1, "dst")
	o.config = a.OptBool(2, "config", true)
	o.pkgs = a.OptBool(3, "pkgs", true)
	o.builds = a.OptBool(4, "builds", true)
	o.groups = a.OptBool(5, "groups", true)
	latest := a.OptAny(6, "latest_only", true)
	o.inheritBuilds = a.OptBool(7, "inherit_builds", true)
	o.ev = a.IntOrNil(8, "event")
	o.force = a.OptBool(9, "force", false)
	if modify {
		o.remove = a.OptBool(10, "remove", false)
	}
	if err := a.Done(); err != nil {
		return o, err
	}
	switch x := latest.(type) {
	case nil:
	case bool:
		if x {
			o.latest = 1
		}
	case int64:
		o.latest = x
	default:
		return o, paramErr("latest_only: expected a bool or a number of builds, got %T", latest)
	}
	return o, nil
}

// check is what both calls check first, as Koji: the tag permission, and
// builds only with pkgs.
func (o snapshotOpts) check(c *call) error {
	if err := c.requirePerm("tag"); err != nil {
		return err
	}
	if o.builds && !o.pkgs {
		return paramErr("builds can't be used without pkgs in snapshotTag")
	}
	return nil
}

// sourceTag reads the source tag as of the event (now when nil).
func (h *Hub) sourceTag(c *call, info any, ev *int64) (db.Tag, error) {
	t, err := h.mustTag(c, info)
	if err != nil {
		return t, err
	}
	t, err = h.tagAtEvent(c, t.ID, ev)
	if errors.Is(err, db.ErrNotFound) {
		return t, genericErr("No such tagInfo: %s", pyRepr(info))
	}
	return t, err
}

// snapshotTag(src, dst, config=True, pkgs=True, builds=True, groups=True,
// latest_only=True, inherit_builds=True, event=None, force=False): creates
// dst (which must not exist) as a copy of src now or as of event: its
// config (arches, permission, lock, own extra) with config, its package
// list (inherited entries included, blocks too) with pkgs, its builds
// (latest only or all, inherited or not; oldest first, so that dst's
// latest are src's) with builds, its unblocked groups with their packages
// and requirements with groups. Inheritance and external repos are not
// copied. A locked src needs force.
//
// As Koji, each package, build, group, group package and requirement gets
// its own event after the one that creates the tag. Unlike Koji 1.35,
// which passes none of them, a group's display name, description and
// flags and a group package's type, basearchonly and requires are copied:
// a clone whose comps differ from its source's builds with other
// buildroots. kojigo's package constraints (min_disk_mb, min_mem_mb) are
// copied with the package list.
func mSnapshotTag(c *call, a *kojixml.Args) (any, error) {
	o, err := snapshotArgs(a, false)
	if err != nil {
		return nil, err
	}
	if err := o.check(c); err != nil {
		return nil, err
	}
	h := c.hub
	if _, err := h.lookupTag(c, o.dst); err == nil {
		return nil, genericErr("Target tag already exists")
	} else if !errors.Is(err, db.ErrNotFound) {
		return nil, err
	}
	src, err := h.sourceTag(c, o.src, o.ev)
	if err != nil {
		return nil, err
	}
	if src.Locked && !o.force {
		return nil, genericErr("Source tag is locked, use force to copy")
	}
	name, ok := o.dst.(string)
	if !ok {
		return nil, genericErr("Name should be string")
	}
	if err := validateTagName(name); err != nil {
		return nil, err
	}
	nt := db.Tag{Name: name}
	if o.config {
		extra, err := h.ownExtra(c, src.ID, o.ev, false)
		if err != nil {
			return nil, err
		}
		if nt.Extra, err = encodeExtra(extra); err != nil {
			return nil, err
		}
		nt.Arches, nt.PermID, nt.Locked = src.Arches, src.PermID, src.Locked
	}
	uid := c.userID()
	err = h.store.WithTx(c.ctx, func(tx *db.Store) error {
		id, _, err := tx.CreateTagBy(c.ctx, nt, uid)
		if errors.Is(err, db.ErrConflict) {
			return genericErr("A tag with the name %s already exists", pyRepr(name))
		}
		if err != nil {
			return err
		}
		dst, err := tx.GetTag(c.ctx, id)
		if err != nil {
			return err
		}
		if o.pkgs {
			pkgs, err := h.inheritedPackages(c, tx, src.ID, o.ev)
			if err != nil {
				return err
			}
			for _, p := range pkgs {
				if err := setPackage(c, tx, dst.ID, p, p.Blocked); err != nil {
					return err
				}
			}
		}
		if o.builds {
			builds, err := h.readTagged(c, tx, src.ID, o.ev, o.inheritBuilds, o.latest, db.TaggedFilter{})
			if err != nil {
				return err
			}
			// massTag(dst, reversed(builds)): oldest first
			for i := len(builds) - 1; i >= 0; i-- {
				if err := directTag(c, tx, dst, builds[i].Build, true); err != nil {
					return err
				}
			}
		}
		if o.groups {
			groups, _, err := h.tagGroups(c, tx, src.ID, o.ev, true, true, true)
			if err != nil {
				return err
			}
			for _, g := range groups {
				if g.cfg.Blocked {
					continue
				}
				if err := setGroup(c, tx, dst.ID, g.cfg, false); err != nil {
					return err
				}
				for _, p := range g.pkgs {
					if !p.Blocked {
						if err := setGroupPackage(c, tx, dst.ID, p, false); err != nil {
							return err
						}
					}
				}
				for _, r := range g.reqs {
					if !r.Blocked {
						if err := setGroupReq(c, tx, dst.ID, r, false); err != nil {
							return err
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// snapshotTagModify(src, dst, config=True, pkgs=True, builds=True,
// groups=True, latest_only=True, inherit_builds=True, event=None,
// force=False, remove=False): makes the existing dst match src (now or as
// of event), as Koji 1.35:
//
//   - config: dst takes src's arches, permission, lock and own extra (keys
//     dst has and src has not are removed), one event.
//   - pkgs: packages dst lists (or inherits) and src does not are blocked
//     in dst; packages src lists and dst does not are added with src's
//     owner, block and extra arches. Entries both have are left as they are.
//   - builds: per package, dst's own builds are untagged and retagged so
//     that they are src's in src's order (dst builds src lacks stay, as
//     the oldest, unless remove); with remove, builds of packages src has
//     no builds of are untagged too.
//   - groups: groups src has and dst has not (or with another block) are
//     added (blocked); with remove, dst's own groups src lacks are removed
//     and inherited ones blocked. In each group, packages and requirements
//     src has and dst has not are added; with remove, those src blocks are
//     blocked and dst's own ones src lacks removed (inherited requirements
//     blocked).
//
// A locked src or dst needs force; untagging an out-of-order build checks
// dst's lock and permission (an admin's force overrides). Where Koji 1.35
// fails on its own (TypeError on the builds of packages src lacks with
// remove, on removing a group package, its requirement check comparing a
// group id with the tag id) kojigo does what Koji's code sets out to do;
// a group newly added to dst gets its packages and requirements, which
// Koji leaves empty, and a group package or requirement src blocks is
// added blocked.
func mSnapshotTagModify(c *call, a *kojixml.Args) (any, error) {
	o, err := snapshotArgs(a, true)
	if err != nil {
		return nil, err
	}
	if err := o.check(c); err != nil {
		return nil, err
	}
	h := c.hub
	src, err := h.sourceTag(c, o.src, o.ev)
	if err != nil {
		return nil, err
	}
	dst, err := h.mustTag(c, o.dst)
	if err != nil {
		return nil, err
	}
	if (src.Locked || dst.Locked) && !o.force {
		return nil, genericErr("Source or destination tag is locked, use force to copy")
	}
	m := &modifier{c: c, o: o, src: src, dst: dst, perms: c.callerPerms()}
	err = h.store.WithTx(c.ctx, func(tx *db.Store) error {
		m.tx = tx
		if o.config {
			if err := m.config(); err != nil {
				return err
			}
		}
		if o.pkgs {
			if err := m.packages(); err != nil {
				return err
			}
		}
		if o.builds {
			if err := m.builds(); err != nil {
				return err
			}
		}
		if o.groups {
			if err := m.groups(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// modifier is one snapshotTagModify in its transaction.
type modifier struct {
	c        *call
	tx       *db.Store
	o        snapshotOpts
	src, dst db.Tag
	perms    []string
}

// config makes dst's config src's: one event, none when nothing differs.
func (m *modifier) config() error {
	c, h := m.c, m.c.hub
	srcExtra, err := h.ownExtra(c, m.src.ID, m.o.ev, false)
	if err != nil {
		return err
	}
	dstExtra, err := h.ownExtra(c, m.dst.ID, nil, false)
	if err != nil {
		return err
	}
	e := db.TagEdit{By: c.userID(), ExtraSet: map[string]*string{}}
	if optStr(m.src.Arches) != optStr(m.dst.Arches) {
		if m.src.Arches == nil {
			e.ClearArches = true
		} else {
			e.Arches = m.src.Arches
		}
	}
	if optInt(m.src.PermID) != optInt(m.dst.PermID) {
		if m.src.PermID == nil {
			e.ClearPerm = true
		} else {
			e.PermID = m.src.PermID
		}
	}
	if m.src.Locked != m.dst.Locked {
		locked := m.src.Locked
		e.Locked = &locked
	}
	extraChanged := false
	for _, k := range sortedKwargKeys(srcExtra) {
		js := db.PyJSON(srcExtra[k])
		if old, ok := dstExtra[k]; ok && db.PyJSON(old) == js {
			continue
		}
		e.ExtraSet[k] = &js
		extraChanged = true
	}
	for _, k := range sortedKwargKeys(dstExtra) {
		if _, ok := srcExtra[k]; !ok {
			e.ExtraRemove = append(e.ExtraRemove, k)
			extraChanged = true
		}
	}
	if extraChanged {
		js, err := encodeExtra(srcExtra)
		if err != nil {
			return err
		}
		e.Extra = &js
	}
	if _, err := m.tx.EditTag(c.ctx, m.dst.ID, e); err != nil {
		return err
	}
	return nil
}

// packages blocks in dst what src does not list, and adds what src lists
// and dst does not, each its own event.
func (m *modifier) packages() error {
	c, h := m.c, m.c.hub
	srcPkgs, err := h.inheritedPackages(c, m.tx, m.src.ID, m.o.ev)
	if err != nil {
		return err
	}
	dstPkgs, err := h.inheritedPackages(c, m.tx, m.dst.ID, nil)
	if err != nil {
		return err
	}
	inSrc := map[int64]bool{}
	for _, p := range srcPkgs {
		inSrc[p.PackageID] = true
	}
	inDst := map[int64]bool{}
	for _, p := range dstPkgs {
		inDst[p.PackageID] = true
		// Koji's _direct_pkglist_add(block=True, force=True, update=True)
		// with dst's owner and arches: a change only if not blocked yet
		if !inSrc[p.PackageID] && !p.Blocked {
			if err := setPackage(c, m.tx, m.dst.ID, p, true); err != nil {
				return err
			}
		}
	}
	for _, p := range srcPkgs {
		if !inDst[p.PackageID] {
			if err := setPackage(c, m.tx, m.dst.ID, p, p.Blocked); err != nil {
				return err
			}
		}
	}
	return nil
}

// nvrList is an insertion-ordered map of NVR to tagged build (Koji's
// OrderedDict of one package's builds).
type nvrList struct {
	keys []string
	m    map[string]db.TaggedBuild
}

func newNVRList() *nvrList { return &nvrList{m: map[string]db.TaggedBuild{}} }

func (l *nvrList) set(tb db.TaggedBuild) {
	nvr := tb.NVR()
	if _, ok := l.m[nvr]; !ok {
		l.keys = append(l.keys, nvr)
	}
	l.m[nvr] = tb
}

func (l *nvrList) has(nvr string) bool { _, ok := l.m[nvr]; return ok }

func (l *nvrList) del(nvrs ...string) {
	for _, nvr := range nvrs {
		delete(l.m, nvr)
	}
	keys := l.keys[:0]
	for _, k := range l.keys {
		if _, ok := l.m[k]; ok {
			keys = append(keys, k)
		}
	}
	l.keys = keys
}

// byPackage groups builds (given newest first) by package name, oldest
// first, keeping the order in which packages first appear.
func byPackage(builds []db.TaggedBuild) ([]string, map[string]*nvrList) {
	var order []string
	out := map[string]*nvrList{}
	for i := len(builds) - 1; i >= 0; i-- {
		tb := builds[i]
		l := out[tb.PackageName]
		if l == nil {
			l = newNVRList()
			out[tb.PackageName] = l
			order = append(order, tb.PackageName)
		}
		l.set(tb)
	}
	return order, out
}

// builds makes dst's own builds of each package src's, in src's order.
func (m *modifier) builds() error {
	c, h := m.c, m.c.hub
	srcBuilds, err := h.readTagged(c, m.tx, m.src.ID, m.o.ev, m.o.inheritBuilds, m.o.latest, db.TaggedFilter{})
	if err != nil {
		return err
	}
	// dst's own builds, all of them: only the latest per package of src
	// stays the latest in dst
	dstBuilds, err := h.readTagged(c, m.tx, m.dst.ID, nil, false, 0, db.TaggedFilter{})
	if err != nil {
		return err
	}
	srcOrder, srcBy := byPackage(srcBuilds)
	dstOrder, dstBy := byPackage(dstBuilds)
	if m.o.remove {
		for _, pkg := range dstOrder {
			if srcBy[pkg] != nil {
				continue
			}
			l := dstBy[pkg]
			for _, nvr := range l.keys {
				if tb := l.m[nvr]; tb.TagID == m.dst.ID {
					if err := m.untag(tb.Build, false); err != nil {
						return err
					}
				}
			}
		}
	}
	for _, pkg := range srcOrder {
		srcBlds := srcBy[pkg]
		dstBlds := dstBy[pkg]
		if dstBlds == nil {
			dstBlds = newNVRList()
		}
		var removed []string
		for _, nvr := range dstBlds.keys {
			if !srcBlds.has(nvr) {
				removed = append(removed, nvr)
			}
		}
		order := newNVRList()
		if m.o.remove {
			for _, nvr := range removed {
				if tb := dstBlds.m[nvr]; tb.TagID == m.dst.ID {
					if err := m.untag(tb.Build, true); err != nil {
						return err
					}
				}
			}
			dstBlds.del(removed...)
		} else {
			// the builds src lacks go first: the oldest in dst
			for _, nvr := range removed {
				order.set(dstBlds.m[nvr])
			}
		}
		for _, nvr := range srcBlds.keys {
			order.set(srcBlds.m[nvr])
		}
		for _, nvr := range order.keys {
			want := order.m[nvr]
			found := false
			var outOfOrder []string
			for _, dnvr := range dstBlds.keys {
				if dnvr == nvr {
					found = true
					break
				}
				outOfOrder = append(outOfOrder, dnvr)
				if tb := dstBlds.m[dnvr]; tb.TagID == m.dst.ID {
					if err := m.untag(tb.Build, true); err != nil {
						return err
					}
				}
			}
			dstBlds.del(outOfOrder...)
			if found {
				dstBlds.del(nvr)
				continue
			}
			if err := directTag(c, m.tx, m.dst, want.Build, m.o.force); err != nil {
				return err
			}
		}
	}
	return nil
}

// untag removes a build from dst; checked, as Koji's _untag_build, against
// dst's lock and permission as they are now (config may have changed
// them), else directly (_direct_untag_build).
func (m *modifier) untag(b db.Build, checked bool) error {
	if checked {
		t, err := m.tx.GetTag(m.c.ctx, m.dst.ID)
		if err != nil {
			return err
		}
		if err := assertTagAccess(t, m.perms, m.o.force); err != nil {
			return err
		}
	}
	if _, err := m.tx.UntagBuildBy(m.c.ctx, m.dst.ID, b.ID, m.c.userID()); errors.Is(err, db.ErrNotFound) {
		return fault(kojixml.TagError, "build %s not in tag %s", b.NVR(), m.dst.Name)
	} else if err != nil {
		return err
	}
	return nil
}

// groups makes dst's groups, their packages and requirements src's.
func (m *modifier) groups() error {
	c, h, tx := m.c, m.c.hub, m.tx
	srcGroups, _, err := h.tagGroups(c, tx, m.src.ID, m.o.ev, true, true, true)
	if err != nil {
		return err
	}
	dstGroups, dstByID, err := h.tagGroups(c, tx, m.dst.ID, nil, true, true, true)
	if err != nil {
		return err
	}
	srcByID := map[int64]*tagGroup{}
	for _, g := range srcGroups {
		srcByID[g.cfg.GroupID] = g
		prev := dstByID[g.cfg.GroupID]
		if prev != nil && prev.cfg.Blocked == g.cfg.Blocked {
			continue
		}
		if prev != nil && prev.cfg.Blocked && !m.o.force {
			return genericErr("group %s is blocked in tag %s", g.cfg.Name, m.dst.Name)
		}
		cfg := g.cfg
		if prev != nil {
			// Koji's _grplist_add keeps the entry's other fields
			cfg = prev.cfg
		}
		if err := setGroup(c, tx, m.dst.ID, cfg, g.cfg.Blocked); err != nil {
			return err
		}
		if prev == nil && !g.cfg.Blocked {
			// a new group comes with its packages and requirements
			for _, p := range g.pkgs {
				if err := setGroupPackage(c, tx, m.dst.ID, p, p.Blocked); err != nil {
					return err
				}
			}
			for _, r := range g.reqs {
				if err := setGroupReq(c, tx, m.dst.ID, r, r.Blocked); err != nil {
					return err
				}
			}
		}
	}
	if m.o.remove {
		for _, g := range dstGroups {
			// a group dst blocks is hidden already: removing an own
			// block would bring back an inherited group
			if srcByID[g.cfg.GroupID] != nil || g.cfg.Blocked {
				continue
			}
			if g.cfg.TagID == m.dst.ID {
				if _, err := tx.RemoveGroupConfig(c.ctx, m.dst.ID, g.cfg.GroupID, &c.user.ID); err != nil && !errors.Is(err, db.ErrNotFound) {
					return err
				}
			} else if err := setGroup(c, tx, m.dst.ID, g.cfg, true); err != nil {
				// an inherited one is blocked
				return err
			}
		}
	}
	for _, g := range srcGroups {
		dg := dstByID[g.cfg.GroupID]
		if dg == nil || g.cfg.Blocked {
			continue
		}
		name := g.cfg.Name
		for _, p := range g.pkgs {
			if dg.pkg(p.Package) == nil {
				if err := m.groupPackage(name, p, p.Blocked); err != nil {
					return err
				}
			}
		}
		for _, r := range g.reqs {
			if dg.req(r.ReqID) == nil {
				if err := m.groupReq(name, r, r.Blocked); err != nil {
					return err
				}
			}
		}
		if !m.o.remove {
			continue
		}
		for _, p := range dg.pkgs {
			if p.Blocked {
				continue
			}
			sp := g.pkg(p.Package)
			switch {
			case sp != nil && sp.Blocked:
				if err := m.groupPackage(name, p, true); err != nil {
					return err
				}
			case sp == nil && p.TagID == m.dst.ID:
				if _, err := tx.RemoveGroupPackage(c.ctx, m.dst.ID, p.GroupID, p.Package, &c.user.ID); err != nil && !errors.Is(err, db.ErrNotFound) {
					return err
				}
			}
		}
		for _, r := range dg.reqs {
			if r.Blocked {
				continue
			}
			sr := g.req(r.ReqID)
			switch {
			case sr != nil && sr.Blocked:
				if err := m.groupReq(name, r, true); err != nil {
					return err
				}
			case sr == nil && r.TagID == m.dst.ID:
				if _, err := tx.RemoveGroupReq(c.ctx, m.dst.ID, r.GroupID, r.ReqID, &c.user.ID); err != nil && !errors.Is(err, db.ErrNotFound) {
					return err
				}
			case sr == nil:
				if err := m.groupReq(name, r, true); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// groupPackage is Koji's _grp_pkg_add into dst: the group must be there
// and not blocked, and a blocked entry stays unless force.
func (m *modifier) groupPackage(group string, p db.GroupPackage, block bool) error {
	tg, err := m.dstGroup(group, p.GroupID, true, false)
	if err != nil {
		return err
	}
	if prev := tg.pkg(p.Package); prev != nil {
		if prev.Blocked && !m.o.force {
			return genericErr("package %s blocked in group %s, tag %s", p.Package, group, m.dst.Name)
		}
		p = *prev
	}
	return setGroupPackage(m.c, m.tx, m.dst.ID, p, block)
}

// groupReq is Koji's _grp_req_add into dst.
func (m *modifier) groupReq(group string, r db.GroupReq, block bool) error {
	tg, err := m.dstGroup(group, r.GroupID, false, true)
	if err != nil {
		return err
	}
	if prev := tg.req(r.ReqID); prev != nil {
		if prev.Blocked && !m.o.force {
			return genericErr("requirement on group %s blocked in group %s, tag %s", r.Name, group, m.dst.Name)
		}
		if prev.Blocked == block {
			return nil
		}
		r = *prev
	}
	return setGroupReq(m.c, m.tx, m.dst.ID, r, block)
}

// dstGroup reads one group of dst as the transaction sees it now.
func (m *modifier) dstGroup(name string, groupID int64, pkgs, reqs bool) (*tagGroup, error) {
	_, byID, err := m.c.hub.tagGroups(m.c, m.tx, m.dst.ID, nil, true, pkgs, reqs)
	if err != nil {
		return nil, err
	}
	tg := byID[groupID]
	switch {
	case tg == nil:
		return nil, genericErr("group %s not present in tag %s", name, m.dst.Name)
	case tg.cfg.Blocked:
		return nil, genericErr("group %s is blocked in tag %s", name, m.dst.Name)
	}
	return tg, nil
}

// inheritedPackages is listPackages(tagID, inherited=True, event=ev) read
// through st: each package's nearest entry (blocked ones included), in
// listPackages' order.
func (h *Hub) inheritedPackages(c *call, st *db.Store, tagID int64, ev *int64) ([]db.TagPackage, error) {
	return h.inheritedPackageList(c, st, tagID, ev, nil)
}

// inheritedPackageList is inheritedPackages, of one package when pkgID is
// set.
func (h *Hub) inheritedPackageList(c *call, st *db.Store, tagID int64, ev *int64, pkgID *int64) ([]db.TagPackage, error) {
	order, err := h.tagLinks(c, tagID, ev)
	if err != nil {
		return nil, err
	}
	return inheritedPackageListIn(c, st, order, ev, pkgID)
}

// inheritedPackageListIn is inheritedPackageList over the tags of order
// (the tag, then its ancestors, nearest first).
func inheritedPackageListIn(c *call, st *db.Store, order []int64, ev *int64, pkgID *int64) ([]db.TagPackage, error) {
	entries, err := st.ListTagPackages(c.ctx, db.TagPackageFilter{TagIDs: order, Event: ev, ByChange: true, PackageID: pkgID})
	if err != nil {
		return nil, err
	}
	rank := map[int64]int{}
	for i, id := range order {
		if _, ok := rank[id]; !ok {
			rank[id] = i
		}
	}
	slices.SortStableFunc(entries, func(a, b db.TagPackage) int { return cmp.Compare(rank[a.TagID], rank[b.TagID]) })
	seen := map[int64]bool{}
	out := entries[:0]
	for _, e := range entries {
		if !seen[e.PackageID] {
			seen[e.PackageID] = true
			out = append(out, e)
		}
	}
	return out, nil
}

// directTag is Koji's _direct_tag_build: a complete build only; a build
// already in the tag is re-tagged with force, a TagError without.
func directTag(c *call, tx *db.Store, t db.Tag, b db.Build, force bool) error {
	if b.State != db.BuildComplete {
		return fault(kojixml.TagError, "build %s not complete: state %s", b.NVR(), db.BuildStateName(b.State))
	}
	if !force {
		uid := c.userID()
		_, err := tx.TagBuild(c.ctx, t.ID, b.ID, &uid)
		if errors.Is(err, db.ErrConflict) {
			return fault(kojixml.TagError, "build %s already tagged (%s)", b.NVR(), t.Name)
		}
		return err
	}
	_, _, err := tx.ForceTagBuild(c.ctx, t.ID, b.ID, c.userID())
	return err
}

// setPackage writes tag's own entry for p's package: p's owner, extra
// arches and constraints, with block.
func setPackage(c *call, tx *db.Store, tagID int64, p db.TagPackage, block bool) error {
	next := db.TagPackage{TagID: tagID, PackageID: p.PackageID, OwnerID: p.OwnerID, Blocked: block,
		ExtraArches: p.ExtraArches, MinDiskMB: p.MinDiskMB, MinMemMB: p.MinMemMB, By: c.userID()}
	_, err := tx.SetTagPackage(c.ctx, next)
	return err
}

// setGroup writes tag's own entry for a group, with g's fields and block.
func setGroup(c *call, tx *db.Store, tagID int64, g db.GroupConfig, block bool) error {
	g.TagID, g.Blocked = tagID, block
	_, err := tx.SetGroupConfig(c.ctx, g, &c.user.ID)
	return err
}

func setGroupPackage(c *call, tx *db.Store, tagID int64, p db.GroupPackage, block bool) error {
	p.TagID, p.Blocked = tagID, block
	_, err := tx.SetGroupPackage(c.ctx, p, &c.user.ID)
	return err
}

func setGroupReq(c *call, tx *db.Store, tagID int64, r db.GroupReq, block bool) error {
	r.TagID, r.Blocked = tagID, block
	_, err := tx.SetGroupReq(c.ctx, r, &c.user.ID)
	return err
}
