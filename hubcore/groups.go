package hubcore

import (
	"context"
	"errors"
	"fmt"
	"io"

	"kojigo/db"
	"kojigo/internal/comps"
	"kojigo/internal/kojixml"
)

// groupMethods are Koji's tag group methods: the comps groups a tag's
// buildroots install ("build", "srpm-build"), their packages and the groups
// they require. Entries are versioned (each change an event) and inherited:
// a tag sees its own entry for a group, package or requirement, else its
// nearest ancestor's, and a blocked entry hides the inherited ones.
func groupMethods() []method {
	return []method{
		{name: "getTagGroups", argdesc: "(tag, event=None, inherit=True, incl_pkgs=True, incl_reqs=True, incl_blocked=False)", fn: mGetTagGroups},
		{name: "groupListAdd", argdesc: "(taginfo, grpinfo, block=False, force=False, **opts)", fn: mGroupListAdd},
		{name: "groupListBlock", argdesc: "(taginfo, grpinfo)", fn: mGroupListBlock},
		{name: "groupListUnblock", argdesc: "(taginfo, grpinfo)", fn: mGroupListUnblock},
		{name: "groupListRemove", argdesc: "(taginfo, grpinfo, force=False)", fn: mGroupListRemove},
		{name: "groupPackageListAdd", argdesc: "(taginfo, grpinfo, pkg_name, block=False, force=False, **opts)", fn: mGroupPackageListAdd},
		{name: "groupPackageListBlock", argdesc: "(taginfo, grpinfo, pkg_name)", fn: mGroupPackageListBlock},
		{name: "groupPackageListUnblock", argdesc: "(taginfo, grpinfo, pkg_name)", fn: mGroupPackageListUnblock},
		{name: "groupPackageListRemove", argdesc: "(taginfo, grpinfo, pkg_name)", fn: mGroupPackageListRemove},
		{name: "groupReqListAdd", argdesc: "(taginfo, grpinfo, reqinfo, block=False, force=False, **opts)", fn: mGroupReqListAdd},
		{name: "groupReqListBlock", argdesc: "(taginfo, grpinfo, reqinfo)", fn: mGroupReqListBlock},
		{name: "groupReqListUnblock", argdesc: "(taginfo, grpinfo, reqinfo)", fn: mGroupReqListUnblock},
		{name: "groupReqListRemove", argdesc: "(taginfo, grpinfo, reqinfo, force=None)", fn: mGroupReqListRemove},
	}
}

// Bounds of group arguments. Koji's schema: groups.name VARCHAR(50),
// group_package_listing.type and group_req_listing.type VARCHAR(25).
const (
	maxGroupName   = 50
	maxGroupType   = 25
	maxDisplayName = 1024
	maxDescription = 64 << 10
	maxLangOnly    = 64
)

// pyStr renders a value as Python's str() does, for Koji's messages that
// use %s.
func pyStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil, bool:
		return pyRepr(v)
	}
	return fmt.Sprint(v)
}

// tagEntry is Koji's lookup_tag(info, strict=True) and get_tag_id(info,
// strict=True), whose error differs from get_tag's.
func (h *Hub) tagEntry(c *call, info any) (db.Tag, error) {
	t, err := h.lookupTag(c, info)
	if errors.Is(err, db.ErrNotFound) {
		return t, genericErr("No such entry in table tag: %s", pyStr(info))
	}
	return t, err
}

func lookupGroup(c *call, st *db.Store, info any, arg string) (db.Group, error) {
	return lookupInfo(info, arg,
		func(id int64) (db.Group, error) { return st.GetGroup(c.ctx, id) },
		func(n string) (db.Group, error) { return st.GetGroupByName(c.ctx, n) })
}

// groupEntry is Koji's lookup_group(info, strict=True).
func groupEntry(c *call, st *db.Store, info any, arg string) (db.Group, error) {
	g, err := lookupGroup(c, st, info, arg)
	if errors.Is(err, db.ErrNotFound) {
		return g, genericErr("No such entry in table groups: %s", pyStr(info))
	}
	return g, err
}

// ensureGroup is Koji's lookup_group(info, create=True): a group named by a
// string that does not exist yet is created.
func ensureGroup(c *call, st *db.Store, info any) (db.Group, error) {
	g, err := lookupGroup(c, st, info, "grpinfo")
	if !errors.Is(err, db.ErrNotFound) {
		return g, err
	}
	name, ok := info.(string)
	if !ok {
		return g, genericErr("Name must be a string")
	}
	if err := validateGroupName(name); err != nil {
		return g, err
	}
	return st.EnsureGroup(c.ctx, name)
}

// validateGroupName: a comps group id ("build", "srpm-build"), no longer
// than Koji's column holds.
func validateGroupName(name string) error {
	if len(name) > maxGroupName {
		return fault(kojixml.NameValidationError, "Group name %s is longer than %d characters", pyRepr(name[:maxGroupName]+"..."), maxGroupName)
	}
	if !validNVRPart(name, true) {
		return fault(kojixml.NameValidationError, "Invalid group name %s: use letters, digits and ._+~^-", pyRepr(name))
	}
	return nil
}

// validatePackageName: an rpm name, as in a comps packagereq.
func validatePackageName(name string) error {
	if !validNVRPart(name, true) {
		if len(name) > 60 {
			name = name[:60] + "..."
		}
		return fault(kojixml.NameValidationError, "Invalid package name %s: use letters, digits and ._+~^-", pyRepr(name))
	}
	return nil
}

// tagGroup is one group as a tag sees it (Koji's get_tag_groups entry).
type tagGroup struct {
	cfg  db.GroupConfig
	pkgs []db.GroupPackage // the nearest entry for each package
	reqs []db.GroupReq     // the nearest entry for each required group
}

// tagGroups is Koji's get_tag_groups: the groups of the tag (and, with
// inherit, of its ancestors, the nearest entry winning), blocked entries
// included; packages and requirements of blocked groups are left out, as
// are requirements on groups the tag does not have or blocks. It reads
// through st, so that a change reads what its own transaction sees.
func (h *Hub) tagGroups(c *call, st *db.Store, tagID int64, ev *int64, inherit, inclPkgs, inclReqs bool) ([]*tagGroup, map[int64]*tagGroup, error) {
	taglist := []int64{tagID}
	if inherit {
		order, err := h.fullInheritance(c, tagID, ev, false)
		if err != nil {
			return nil, nil, err
		}
		for _, l := range order {
			taglist = append(taglist, l.ParentID)
		}
	}
	f := db.GroupFilter{TagIDs: taglist, Event: ev}
	cfgs, err := st.ListGroupConfigs(c.ctx, f)
	if err != nil {
		return nil, nil, err
	}
	var out []*tagGroup
	byID := map[int64]*tagGroup{}
	for _, tid := range taglist {
		for _, gc := range cfgs {
			if gc.TagID == tid && byID[gc.GroupID] == nil {
				g := &tagGroup{cfg: gc}
				byID[gc.GroupID] = g
				out = append(out, g)
			}
		}
	}
	if inclPkgs {
		pkgs, err := st.ListGroupPackages(c.ctx, f)
		if err != nil {
			return nil, nil, err
		}
		seen := map[int64]map[string]bool{}
		for _, tid := range taglist {
			for _, gp := range pkgs {
				g := byID[gp.GroupID]
				if gp.TagID != tid || g == nil || g.cfg.Blocked || seen[gp.GroupID][gp.Package] {
					continue
				}
				if seen[gp.GroupID] == nil {
					seen[gp.GroupID] = map[string]bool{}
				}
				seen[gp.GroupID][gp.Package] = true
				g.pkgs = append(g.pkgs, gp)
			}
		}
	}
	if inclReqs {
		reqs, err := st.ListGroupReqs(c.ctx, f)
		if err != nil {
			return nil, nil, err
		}
		seen := map[[2]int64]bool{}
		for _, tid := range taglist {
			for _, gr := range reqs {
				g, req := byID[gr.GroupID], byID[gr.ReqID]
				key := [2]int64{gr.GroupID, gr.ReqID}
				if gr.TagID != tid || g == nil || g.cfg.Blocked || req == nil || req.cfg.Blocked || seen[key] {
					continue
				}
				seen[key] = true
				g.reqs = append(g.reqs, gr)
			}
		}
	}
	return out, byID, nil
}

func (g *tagGroup) pkg(name string) *db.GroupPackage {
	for i := range g.pkgs {
		if g.pkgs[i].Package == name {
			return &g.pkgs[i]
		}
	}
	return nil
}

func (g *tagGroup) req(id int64) *db.GroupReq {
	for i := range g.reqs {
		if g.reqs[i].ReqID == id {
			return &g.reqs[i]
		}
	}
	return nil
}

func groupPkgMap(p db.GroupPackage) map[string]any {
	return map[string]any{
		"group_id": p.GroupID, "tag_id": p.TagID, "package": p.Package, "blocked": p.Blocked,
		"type": p.Type, "basearchonly": optBool(p.BasearchOnly), "requires": optStr(p.Requires),
	}
}

func groupReqMap(r db.GroupReq) map[string]any {
	return map[string]any{
		"group_id": r.GroupID, "tag_id": r.TagID, "req_id": r.ReqID, "blocked": r.Blocked,
		"type": optStr(r.Type), "is_metapkg": r.IsMetapkg, "name": r.Name,
	}
}

// groupMap is one entry of getTagGroups (Koji's readTagGroups).
func groupMap(g *tagGroup, inclPkgs, inclReqs, inclBlocked bool) map[string]any {
	x := g.cfg
	m := map[string]any{
		"name": x.Name, "group_id": x.GroupID, "tag_id": x.TagID, "blocked": x.Blocked, "exported": optBool(x.Exported),
		"display_name": x.DisplayName, "is_default": optBool(x.IsDefault), "uservisible": optBool(x.UserVisible),
		"description": optStr(x.Description), "langonly": optStr(x.LangOnly), "biarchonly": optBool(x.BiarchOnly),
	}
	if inclPkgs {
		l := []any{}
		for _, p := range g.pkgs {
			if inclBlocked || !p.Blocked {
				l = append(l, groupPkgMap(p))
			}
		}
		m["packagelist"] = l
	}
	if inclReqs {
		l := []any{}
		for _, r := range g.reqs {
			if inclBlocked || !r.Blocked {
				l = append(l, groupReqMap(r))
			}
		}
		m["grouplist"] = l
	}
	return m
}

// getTagGroups(tag, event=None, inherit=True, incl_pkgs=True,
// incl_reqs=True, incl_blocked=False)
func mGetTagGroups(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "tag")
	ev := a.IntOrNil(1, "event")
	inherit := a.OptBool(2, "inherit", true)
	inclPkgs := a.OptBool(3, "incl_pkgs", true)
	inclReqs := a.OptBool(4, "incl_reqs", true)
	inclBlocked := a.OptBool(5, "incl_blocked", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	t, err := c.hub.tagEntry(c, info)
	if err != nil {
		return nil, err
	}
	groups, _, err := c.hub.tagGroups(c, c.hub.store, t.ID, ev, inherit, inclPkgs, inclReqs)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, g := range groups {
		if inclBlocked || !g.cfg.Blocked {
			out = append(out, groupMap(g, inclPkgs, inclReqs, inclBlocked))
		}
	}
	return out, nil
}

// tagCompsGroups returns the groups a repo of the tag gets, as of event ev
// (nil: now): inherited, blocked entries dropped, as Koji's repoInit reads
// them (readTagGroups(tag, event, inherit=True)). Write them with
// comps.Write(w, groups, comps.WriteOptions{ExpandGroups: true}), as
// writeRepoComps does.
func (h *Hub) tagCompsGroups(ctx context.Context, tagID int64, ev *int64) ([]comps.Group, error) {
	c := &call{ctx: ctx, hub: h}
	groups, _, err := h.tagGroups(c, h.store, tagID, ev, true, true, true)
	if err != nil {
		return nil, err
	}
	deref := func(b *bool) bool { return b != nil && *b }
	var out []comps.Group
	for _, g := range groups {
		if g.cfg.Blocked {
			continue
		}
		cg := comps.Group{ID: g.cfg.Name, Name: g.cfg.DisplayName, Description: g.cfg.Description, Default: deref(g.cfg.IsDefault),
			UserVisible: deref(g.cfg.UserVisible), LangOnly: g.cfg.LangOnly, BiarchOnly: deref(g.cfg.BiarchOnly)}
		for _, p := range g.pkgs {
			if !p.Blocked {
				cp := comps.Package{Name: p.Package, Type: p.Type, BasearchOnly: deref(p.BasearchOnly)}
				if p.Requires != nil {
					cp.Requires = *p.Requires
				}
				cg.Packages = append(cg.Packages, cp)
			}
		}
		for _, r := range g.reqs {
			if !r.Blocked {
				cr := comps.GroupReq{Name: r.Name, IsMetapkg: r.IsMetapkg}
				if r.Type != nil {
					cr.Type = *r.Type
				}
				cg.Groups = append(cg.Groups, cr)
			}
		}
		out = append(out, cg)
	}
	return out, nil
}

// writeRepoComps writes the comps.xml of a repo of the tag as of event ev
// (groups/comps.xml in Koji's repo layout): the tag's groups with required
// groups expanded, so that mock's "@build" resolves to the whole set.
func (h *Hub) writeRepoComps(ctx context.Context, w io.Writer, tagID int64, ev *int64) error {
	groups, err := h.tagCompsGroups(ctx, tagID, ev)
	if err != nil {
		return err
	}
	return comps.Write(w, groups, comps.WriteOptions{ExpandGroups: true})
}

// optField is one field of a group change's **opts: its value after the
// type check, nil for Python's None.
type optField struct {
	name  string
	kind  string // "bool", "text"
	max   int    // for text
	nilOK bool   // None is a value (else it counts as not given)
}

// takeOpts is Koji's dslice(opts, fields, strict=False) with the types the
// columns take: other keywords are ignored, as Koji ignores them.
func takeOpts(kw map[string]any, fields []optField) (map[string]any, error) {
	out := map[string]any{}
	for _, f := range fields {
		v, ok := kw[f.name]
		if !ok {
			continue
		}
		switch x := v.(type) {
		case nil:
			if !f.nilOK {
				continue
			}
		case bool:
			if f.kind != "bool" {
				return nil, paramErr("%s: expected a string, got a boolean", f.name)
			}
		case string:
			if f.kind != "text" {
				return nil, paramErr("%s: expected a boolean or None, got a string", f.name)
			}
			if len(x) > f.max {
				return nil, paramErr("%s: %d bytes exceeds the limit of %d", f.name, len(x), f.max)
			}
		default:
			return nil, paramErr("%s: expected a %s, got %T", f.name, f.kind, v)
		}
		out[f.name] = v
	}
	return out, nil
}

// mergeOpts is Koji's check against the previous entry: fields not given
// take the old value; it reports whether a given one differs.
func mergeOpts(opts, old map[string]any, fields []optField) (changed bool) {
	for _, f := range fields {
		if v, ok := opts[f.name]; ok {
			if v != old[f.name] {
				changed = true
			}
		} else {
			opts[f.name] = old[f.name]
		}
	}
	return changed
}

func boolPtr(v any) *bool {
	if b, ok := v.(bool); ok {
		return &b
	}
	return nil
}

func strPtr(v any) *string {
	if s, ok := v.(string); ok {
		return &s
	}
	return nil
}

func boolVal(p *bool) any {
	if p == nil {
		return nil
	}
	return *p
}

func strVal(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

var groupFields = []optField{
	{name: "exported", kind: "bool", nilOK: true},
	{name: "display_name", kind: "text", max: maxDisplayName},
	{name: "is_default", kind: "bool", nilOK: true},
	{name: "uservisible", kind: "bool", nilOK: true},
	{name: "description", kind: "text", max: maxDescription, nilOK: true},
	{name: "langonly", kind: "text", max: maxLangOnly, nilOK: true},
	{name: "biarchonly", kind: "bool", nilOK: true},
	{name: "blocked", kind: "bool"},
}

// groupListAdd(taginfo, grpinfo, block=False, force=False, **opts): opts
// are exported, display_name, is_default, uservisible, description,
// langonly, biarchonly.
func mGroupListAdd(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "taginfo")
	grpInfo := a.Any(1, "grpinfo")
	block := a.OptBool(2, "block", false)
	force := a.OptBool(3, "force", false)
	kw := a.RestKwargs()
	if err := a.Done(); err != nil {
		return nil, err
	}
	return nil, groupListAdd(c, tagInfo, grpInfo, block, force, kw)
}

// groupListBlock(taginfo, grpinfo)
func mGroupListBlock(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "taginfo")
	grpInfo := a.Any(1, "grpinfo")
	if err := a.Done(); err != nil {
		return nil, err
	}
	return nil, groupListAdd(c, tagInfo, grpInfo, true, false, nil)
}

func groupListAdd(c *call, tagInfo, grpInfo any, block, force bool, kw map[string]any) error {
	if err := c.requirePerm("tag"); err != nil {
		return err
	}
	t, err := c.hub.mustTag(c, tagInfo)
	if err != nil {
		return err
	}
	opts, err := takeOpts(kw, groupFields)
	if err != nil {
		return err
	}
	opts["blocked"] = block
	return c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		g, err := ensureGroup(c, tx, grpInfo)
		if err != nil {
			return err
		}
		_, byID, err := c.hub.tagGroups(c, tx, t.ID, nil, true, false, false)
		if err != nil {
			return err
		}
		if prev := byID[g.ID]; prev != nil {
			if prev.cfg.Blocked && !force {
				return genericErr("group %s is blocked in tag %s", g.Name, t.Name)
			}
			p := prev.cfg
			old := map[string]any{
				"exported": boolVal(p.Exported), "display_name": p.DisplayName, "is_default": boolVal(p.IsDefault),
				"uservisible": boolVal(p.UserVisible), "description": strVal(p.Description), "langonly": strVal(p.LangOnly),
				"biarchonly": boolVal(p.BiarchOnly), "blocked": p.Blocked,
			}
			if !mergeOpts(opts, old, groupFields) {
				return nil
			}
		}
		for k, v := range map[string]any{"display_name": g.Name, "biarchonly": false, "exported": true, "uservisible": true} {
			if _, ok := opts[k]; !ok {
				opts[k] = v
			}
		}
		x := db.GroupConfig{GroupID: g.ID, TagID: t.ID, Blocked: block, DisplayName: opts["display_name"].(string),
			Exported: boolPtr(opts["exported"]), IsDefault: boolPtr(opts["is_default"]), UserVisible: boolPtr(opts["uservisible"]),
			Description: strPtr(opts["description"]), LangOnly: strPtr(opts["langonly"]), BiarchOnly: boolPtr(opts["biarchonly"])}
		if _, err := tx.SetGroupConfig(c.ctx, x, &c.user.ID); err != nil {
			return err
		}
		c.wrote = true
		return nil
	})
}

// groupListUnblock(taginfo, grpinfo): drops the tag's own block; an
// inherited block cannot be lifted here (Koji).
func mGroupListUnblock(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "taginfo")
	grpInfo := a.Any(1, "grpinfo")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("tag"); err != nil {
		return nil, err
	}
	t, err := c.hub.tagEntry(c, tagInfo)
	if err != nil {
		return nil, err
	}
	return nil, c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		g, err := groupEntry(c, tx, grpInfo, "grpinfo")
		if err != nil {
			return err
		}
		own, err := tx.ListGroupConfigs(c.ctx, db.GroupFilter{TagIDs: []int64{t.ID}, GroupID: &g.ID})
		if err != nil {
			return err
		}
		if len(own) == 0 || !own[0].Blocked {
			return genericErr("group %s is NOT blocked in tag %s", g.Name, t.Name)
		}
		if _, err := tx.RemoveGroupConfig(c.ctx, t.ID, g.ID, &c.user.ID); err != nil {
			return err
		}
		c.wrote = true
		return nil
	})
}

// groupListRemove(taginfo, grpinfo, force=False): drops the tag's own
// entry (force: without complaint when there is none).
func mGroupListRemove(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "taginfo")
	grpInfo := a.Any(1, "grpinfo")
	force := a.OptBool(2, "force", false)
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
	g, err := groupEntry(c, c.hub.store, grpInfo, "grpinfo")
	if err != nil {
		return nil, err
	}
	_, err = c.hub.store.RemoveGroupConfig(c.ctx, t.ID, g.ID, &c.user.ID)
	switch {
	case errors.Is(err, db.ErrNotFound):
		if !force {
			return nil, genericErr("No group: %s found for tag: %s", g.Name, t.Name)
		}
		return nil, nil
	case err != nil:
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

var groupPkgFields = []optField{
	{name: "type", kind: "text", max: maxGroupType},
	{name: "basearchonly", kind: "bool", nilOK: true},
	{name: "requires", kind: "text", max: 255, nilOK: true},
}

// groupPackageListAdd(taginfo, grpinfo, pkg_name, block=False, force=False,
// **opts): opts are type (default mandatory), basearchonly, requires.
func mGroupPackageListAdd(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "taginfo")
	grpInfo := a.Any(1, "grpinfo")
	pkg := a.String(2, "pkg_name")
	block := a.OptBool(3, "block", false)
	force := a.OptBool(4, "force", false)
	kw := a.RestKwargs()
	if err := a.Done(); err != nil {
		return nil, err
	}
	return nil, groupPackageListAdd(c, tagInfo, grpInfo, pkg, block, force, kw)
}

// groupPackageListBlock(taginfo, grpinfo, pkg_name)
func mGroupPackageListBlock(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "taginfo")
	grpInfo := a.Any(1, "grpinfo")
	pkg := a.String(2, "pkg_name")
	if err := a.Done(); err != nil {
		return nil, err
	}
	return nil, groupPackageListAdd(c, tagInfo, grpInfo, pkg, true, false, nil)
}

// groupIn finds the group in the tag's (inherited) groups, and fails as
// Koji when the tag does not have it or blocks it.
func groupIn(byID map[int64]*tagGroup, g db.Group, t db.Tag) (*tagGroup, error) {
	tg := byID[g.ID]
	switch {
	case tg == nil:
		return nil, genericErr("group %s not present in tag %s", g.Name, t.Name)
	case tg.cfg.Blocked:
		return nil, genericErr("group %s is blocked in tag %s", g.Name, t.Name)
	}
	return tg, nil
}

func groupPackageListAdd(c *call, tagInfo, grpInfo any, pkg string, block, force bool, kw map[string]any) error {
	if err := c.requirePerm("tag"); err != nil {
		return err
	}
	if err := validatePackageName(pkg); err != nil {
		return err
	}
	t, err := c.hub.tagEntry(c, tagInfo)
	if err != nil {
		return err
	}
	opts, err := takeOpts(kw, groupPkgFields)
	if err != nil {
		return err
	}
	return c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		g, err := groupEntry(c, tx, grpInfo, "grpinfo")
		if err != nil {
			return err
		}
		_, byID, err := c.hub.tagGroups(c, tx, t.ID, nil, true, true, false)
		if err != nil {
			return err
		}
		tg, err := groupIn(byID, g, t)
		if err != nil {
			return err
		}
		if prev := tg.pkg(pkg); prev != nil {
			if prev.Blocked && !force {
				return genericErr("package %s blocked in group %s, tag %s", pkg, g.Name, t.Name)
			}
			old := map[string]any{"type": prev.Type, "basearchonly": boolVal(prev.BasearchOnly), "requires": strVal(prev.Requires)}
			changed := mergeOpts(opts, old, groupPkgFields) || block
			if !changed && !force {
				return nil
			}
		}
		if _, ok := opts["type"]; !ok {
			opts["type"] = "mandatory"
		}
		x := db.GroupPackage{GroupID: g.ID, TagID: t.ID, Package: pkg, Blocked: block, Type: opts["type"].(string),
			BasearchOnly: boolPtr(opts["basearchonly"]), Requires: strPtr(opts["requires"])}
		if _, err := tx.SetGroupPackage(c.ctx, x, &c.user.ID); err != nil {
			return err
		}
		c.wrote = true
		return nil
	})
}

// groupPackageListUnblock(taginfo, grpinfo, pkg_name): drops the tag's own
// block of the package.
func mGroupPackageListUnblock(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "taginfo")
	grpInfo := a.Any(1, "grpinfo")
	pkg := a.String(2, "pkg_name")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("tag"); err != nil {
		return nil, err
	}
	t, err := c.hub.tagEntry(c, tagInfo)
	if err != nil {
		return nil, err
	}
	return nil, c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		g, err := groupEntry(c, tx, grpInfo, "grpinfo")
		if err != nil {
			return err
		}
		own, err := tx.ListGroupPackages(c.ctx, db.GroupFilter{TagIDs: []int64{t.ID}, GroupID: &g.ID})
		if err != nil {
			return err
		}
		blocked := false
		for _, p := range own {
			if p.Package == pkg {
				blocked = p.Blocked
			}
		}
		if !blocked {
			return genericErr("package %s is NOT blocked in group %d, tag %d", pkg, g.ID, t.ID)
		}
		if _, err := tx.RemoveGroupPackage(c.ctx, t.ID, g.ID, pkg, &c.user.ID); err != nil {
			return err
		}
		c.wrote = true
		return nil
	})
}

// groupPackageListRemove(taginfo, grpinfo, pkg_name): drops the tag's own
// entry, if any.
func mGroupPackageListRemove(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "taginfo")
	grpInfo := a.Any(1, "grpinfo")
	pkg := a.String(2, "pkg_name")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("tag"); err != nil {
		return nil, err
	}
	t, err := c.hub.tagEntry(c, tagInfo)
	if err != nil {
		return nil, err
	}
	g, err := groupEntry(c, c.hub.store, grpInfo, "grpinfo")
	if err != nil {
		return nil, err
	}
	if _, err := c.hub.store.RemoveGroupPackage(c.ctx, t.ID, g.ID, pkg, &c.user.ID); err != nil {
		if errors.Is(err, db.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

var groupReqFields = []optField{
	{name: "type", kind: "text", max: maxGroupType, nilOK: true},
	{name: "is_metapkg", kind: "bool"},
}

// groupReqListAdd(taginfo, grpinfo, reqinfo, block=False, force=False,
// **opts): opts are type (default mandatory) and is_metapkg.
func mGroupReqListAdd(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "taginfo")
	grpInfo := a.Any(1, "grpinfo")
	reqInfo := a.Any(2, "reqinfo")
	block := a.OptBool(3, "block", false)
	force := a.OptBool(4, "force", false)
	kw := a.RestKwargs()
	if err := a.Done(); err != nil {
		return nil, err
	}
	return nil, groupReqListAdd(c, tagInfo, grpInfo, reqInfo, block, force, kw)
}

// groupReqListBlock(taginfo, grpinfo, reqinfo)
func mGroupReqListBlock(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "taginfo")
	grpInfo := a.Any(1, "grpinfo")
	reqInfo := a.Any(2, "reqinfo")
	if err := a.Done(); err != nil {
		return nil, err
	}
	return nil, groupReqListAdd(c, tagInfo, grpInfo, reqInfo, true, false, nil)
}

func groupReqListAdd(c *call, tagInfo, grpInfo, reqInfo any, block, force bool, kw map[string]any) error {
	if err := c.requirePerm("tag"); err != nil {
		return err
	}
	t, err := c.hub.tagEntry(c, tagInfo)
	if err != nil {
		return err
	}
	opts, err := takeOpts(kw, groupReqFields)
	if err != nil {
		return err
	}
	return c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		g, err := groupEntry(c, tx, grpInfo, "grpinfo")
		if err != nil {
			return err
		}
		req, err := groupEntry(c, tx, reqInfo, "reqinfo")
		if err != nil {
			return err
		}
		_, byID, err := c.hub.tagGroups(c, tx, t.ID, nil, true, false, true)
		if err != nil {
			return err
		}
		tg, err := groupIn(byID, g, t)
		if err != nil {
			return err
		}
		if prev := tg.req(req.ID); prev != nil {
			if prev.Blocked && !force {
				return genericErr("requirement on group %s blocked in group %s, tag %s", req.Name, g.Name, t.Name)
			}
			old := map[string]any{"type": strVal(prev.Type), "is_metapkg": prev.IsMetapkg}
			if changed := mergeOpts(opts, old, groupReqFields) || block; !changed {
				return nil
			}
		}
		if _, ok := opts["type"]; !ok {
			opts["type"] = "mandatory"
		}
		metapkg, _ := opts["is_metapkg"].(bool)
		x := db.GroupReq{GroupID: g.ID, TagID: t.ID, ReqID: req.ID, Blocked: block, Type: strPtr(opts["type"]), IsMetapkg: metapkg}
		if _, err := tx.SetGroupReq(c.ctx, x, &c.user.ID); err != nil {
			return err
		}
		c.wrote = true
		return nil
	})
}

// groupReqListUnblock(taginfo, grpinfo, reqinfo): drops the tag's own block
// of the requirement.
func mGroupReqListUnblock(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "taginfo")
	grpInfo := a.Any(1, "grpinfo")
	reqInfo := a.Any(2, "reqinfo")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("tag"); err != nil {
		return nil, err
	}
	t, err := c.hub.tagEntry(c, tagInfo)
	if err != nil {
		return nil, err
	}
	return nil, c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		g, err := groupEntry(c, tx, grpInfo, "grpinfo")
		if err != nil {
			return err
		}
		req, err := groupEntry(c, tx, reqInfo, "reqinfo")
		if err != nil {
			return err
		}
		own, err := tx.ListGroupReqs(c.ctx, db.GroupFilter{TagIDs: []int64{t.ID}, GroupID: &g.ID})
		if err != nil {
			return err
		}
		blocked := false
		for _, r := range own {
			if r.ReqID == req.ID {
				blocked = r.Blocked
			}
		}
		if !blocked {
			return genericErr("group req %d is NOT blocked in group %d, tag %d", req.ID, g.ID, t.ID)
		}
		if _, err := tx.RemoveGroupReq(c.ctx, t.ID, g.ID, req.ID, &c.user.ID); err != nil {
			return err
		}
		c.wrote = true
		return nil
	})
}

// groupReqListRemove(taginfo, grpinfo, reqinfo, force=None): drops the
// tag's own entry, if any (force is deprecated in Koji and ignored).
func mGroupReqListRemove(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "taginfo")
	grpInfo := a.Any(1, "grpinfo")
	reqInfo := a.Any(2, "reqinfo")
	a.OptAny(3, "force", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("tag"); err != nil {
		return nil, err
	}
	t, err := c.hub.tagEntry(c, tagInfo)
	if err != nil {
		return nil, err
	}
	g, err := groupEntry(c, c.hub.store, grpInfo, "grpinfo")
	if err != nil {
		return nil, err
	}
	req, err := groupEntry(c, c.hub.store, reqInfo, "reqinfo")
	if err != nil {
		return nil, err
	}
	if _, err := c.hub.store.RemoveGroupReq(c.ctx, t.ID, g.ID, req.ID, &c.user.ID); err != nil {
		if errors.Is(err, db.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	c.wrote = true
	return nil, nil
}
