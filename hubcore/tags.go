package hubcore

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"kojigo/db"
	"kojigo/hubcore/policy"
	"kojigo/internal/kojixml"
)

// tagMethods are Koji's tag, inheritance, package list and target methods.
// Every change records an event (db.NewEvent) that kojira and history
// queries (event=) use.
func tagMethods() []method {
	return []method{
		{name: "createTag", argdesc: "(name, parent=None, arches=None, locked=False, perm=None, maven_support=False, maven_include_all=False, extra=None)", fn: mCreateTag},
		{name: "editTag2", argdesc: "(tagInfo, **kwargs)", fn: mEditTag2},
		{name: "deleteTag", argdesc: "(tagInfo)", fn: mDeleteTag},
		{name: "getTag", argdesc: "(tagInfo, strict=False, event=None, blocked=False)", fn: mGetTag},
		{name: "getBuildConfig", argdesc: "(tag, event=None)", fn: mGetBuildConfig},
		{name: "mavenEnabled", argdesc: "()", fn: mFeatureDisabled},
		{name: "winEnabled", argdesc: "()", fn: mFeatureDisabled},
		{name: "listTags", argdesc: "(build=None, package=None, perms=True, queryOpts=None, pattern=None)", fn: mListTags},
		{name: "getInheritanceData", argdesc: "(tag, event=None)", fn: mGetInheritanceData},
		{name: "setInheritanceData", argdesc: "(tag, data, clear=False)", fn: mSetInheritanceData},
		{name: "getFullInheritance", argdesc: "(tag, event=None, reverse=False)", fn: mGetFullInheritance},
		{name: "packageListAdd", argdesc: "(taginfo, pkginfo, owner=None, block=None, extra_arches=None, force=False, update=False)", fn: mPackageListAdd},
		{name: "packageListBlock", argdesc: "(taginfo, pkginfo, force=False)", fn: mPackageListBlock},
		{name: "packageListRemove", argdesc: "(taginfo, pkginfo, force=False)", fn: mPackageListRemove},
		{name: "packageListUnblock", argdesc: "(taginfo, pkginfo, force=False)", fn: mPackageListUnblock},
		{name: "packageListSetOwner", argdesc: "(taginfo, pkginfo, owner, force=False)", fn: mPackageListSetOwner},
		{name: "packageListSetArches", argdesc: "(taginfo, pkginfo, arches, force=False)", fn: mPackageListSetArches},
		{name: "listPackages", argdesc: "(tagID=None, userID=None, pkgID=None, prefix=None, inherited=False, with_dups=False, event=None, queryOpts=None, with_owners=True, with_blocked=True)", fn: mListPackages},
		{name: "getPackage", argdesc: "(info, strict=False, create=False)", fn: mGetPackage},
		{name: "createBuildTarget", argdesc: "(name, build_tag, dest_tag)", fn: mCreateBuildTarget},
		{name: "editBuildTarget", argdesc: "(buildTargetInfo, name, build_tag, dest_tag)", fn: mEditBuildTarget},
		{name: "deleteBuildTarget", argdesc: "(buildTargetInfo)", fn: mDeleteBuildTarget},
		{name: "getBuildTarget", argdesc: "(info, event=None, strict=False)", fn: mGetBuildTarget},
		{name: "getBuildTargets", argdesc: "(info=None, event=None, buildTagID=None, destTagID=None, queryOpts=None)", fn: mGetBuildTargets},
		{name: "getLastEvent", argdesc: "(before=None, strict=True)", fn: mGetLastEvent},
		{name: "getEvent", argdesc: "(id, strict=True)", fn: mGetEvent},
		// kojigo extension: builder requirements per package, as Open Build Service's _constraints.
		{name: "kojigo.setPackageConstraints", argdesc: "(tag, package, min_disk_mb=None, min_mem_mb=None)", fn: mSetPackageConstraints},
	}
}

// mavenEnabled() and winEnabled(): Koji's hub-config switches (EnableMaven,
// EnableWin); kojigo builds neither, so both are always False. The CLI's
// taginfo asks mavenEnabled before printing a tag's Maven options.
func mFeatureDisabled(c *call, a *kojixml.Args) (any, error) {
	return false, a.Done()
}

// validateTagName applies Koji's default internal-name rule
// (RegexNameInternal, ^[A-Za-z0-9/_.+-]+$) without the slash, and refuses a
// leading dot: tag and target names become directory names (repos/<tag>).
func validateTagName(name string) error {
	if err := validateName(name); err != nil {
		return err
	}
	if name[0] == '.' {
		return fault(kojixml.NameValidationError, "Name %s may not start with a dot", pyRepr(name))
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '+' || r == '-'
		if !ok {
			return fault(kojixml.NameValidationError, "Name %s contains %q: use letters, digits and _.+-", pyRepr(name), r)
		}
	}
	return nil
}

// pyRepr renders a value the way Koji's messages show it (Python's repr).
func pyRepr(v any) string {
	switch x := v.(type) {
	case string:
		return "'" + x + "'"
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	}
	return fmt.Sprint(v)
}

// maxExtra bounds a tag's extra, as JSON.
const maxExtra = 64 << 10

func encodeExtra(m map[string]any) (string, error) {
	if m == nil {
		m = map[string]any{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", paramErr("extra: cannot store: %v", err)
	}
	if len(b) > maxExtra {
		return "", paramErr("extra: %d bytes exceeds the limit of %d", len(b), maxExtra)
	}
	return string(b), nil
}

func decodeExtra(js string) map[string]any {
	m, _ := decodeStoredJSON(js).(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// lookupTag resolves Koji's tagInfo: an id, a name, or a struct with one.
func (h *Hub) lookupTag(c *call, info any) (db.Tag, error) {
	return lookupInfo(info, "tagInfo",
		func(id int64) (db.Tag, error) { return h.store.GetTag(c.ctx, id) },
		func(n string) (db.Tag, error) { return h.store.GetTagByName(c.ctx, n) })
}

// mustTag is lookupTag with Koji's strict error.
func (h *Hub) mustTag(c *call, info any) (db.Tag, error) {
	t, err := h.lookupTag(c, info)
	if errors.Is(err, db.ErrNotFound) {
		return t, genericErr("No such tagInfo: %s", pyRepr(info))
	}
	return t, err
}

// inheritedExtra merges the extra of tag and its ancestors, the nearest
// winning; links marked noconfig are skipped, as Koji's get_tag_extra.
// A key blocked in a tag (editTag2's block_extra) is not inherited past it.
func (h *Hub) inheritedExtra(c *call, t db.Tag, ev *int64) (map[string]any, error) {
	out := map[string]any{}
	order, err := h.fullInheritance(c, t.ID, ev, false)
	if err != nil {
		return nil, err
	}
	ids := []int64{t.ID}
	for _, l := range order {
		if !l.noconfig {
			ids = append(ids, l.ParentID)
		}
	}
	seen := map[string]bool{}
	for _, id := range ids {
		own, err := h.store.TagExtra(c.ctx, id, ev)
		if err != nil {
			return nil, err
		}
		for k, v := range own {
			if seen[k] {
				continue
			}
			seen[k] = true
			if v != nil {
				out[k] = decodeStoredJSON(*v)
			}
		}
	}
	return out, nil
}

// ownExtra is a tag's own extra as of ev (Koji's get_tag_extra); with
// blocked, each value is [blocked, value].
func (h *Hub) ownExtra(c *call, id int64, ev *int64, blocked bool) (map[string]any, error) {
	own, err := h.store.TagExtra(c.ctx, id, ev)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for k, v := range own {
		var val any
		if v != nil {
			val = decodeStoredJSON(*v)
		} else if !blocked {
			continue
		}
		if blocked {
			out[k] = []any{v == nil, val}
		} else {
			out[k] = val
		}
	}
	return out, nil
}

func tagMap(t db.Tag, extra map[string]any) map[string]any {
	m := map[string]any{
		"id": t.ID, "name": t.Name, "arches": optStr(t.Arches), "locked": t.Locked, "perm_id": optInt(t.PermID),
		"perm": optStr(t.PermName), "maven_support": false, "maven_include_all": false,
	}
	if extra != nil {
		m["extra"] = extra
	}
	return m
}

// lookupPermID resolves a permission given by name or id.
func (h *Hub) lookupPermID(c *call, v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		perms, err := h.store.ListPerms(c.ctx)
		if err != nil {
			return 0, err
		}
		for _, p := range perms {
			if p.ID == x {
				return x, nil
			}
		}
	case string:
		p, err := h.store.GetPermByName(c.ctx, x)
		if err == nil {
			return p.ID, nil
		}
		if !errors.Is(err, db.ErrNotFound) {
			return 0, err
		}
	default:
		return 0, paramErr("perm: expected a permission name or id, got %T", v)
	}
	return 0, genericErr("No such permission: %s", pyRepr(v))
}

func archesArg(v any) (*string, error) {
	if v == nil {
		return nil, nil
	}
	s, err := parseArches(v)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// createTag(name, parent=None, arches=None, locked=False, perm=None,
// maven_support=False, maven_include_all=False, extra=None)
func mCreateTag(c *call, a *kojixml.Args) (any, error) {
	name := a.String(0, "name")
	parent := a.OptAny(1, "parent", nil)
	arches := a.OptAny(2, "arches", nil)
	locked := a.OptBool(3, "locked", false)
	perm := a.OptAny(4, "perm", nil)
	maven := a.OptBool(5, "maven_support", false)
	mavenAll := a.OptBool(6, "maven_include_all", false)
	extra := a.OptMap(7, "extra")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("tag"); err != nil {
		return nil, err
	}
	if err := validateTagName(name); err != nil {
		return nil, err
	}
	if maven || mavenAll {
		return nil, genericErr("Maven support not enabled")
	}
	t := db.Tag{Name: name, Locked: locked}
	var err error
	if t.Arches, err = archesArg(arches); err != nil {
		return nil, err
	}
	if perm != nil {
		id, err := c.hub.lookupPermID(c, perm)
		if err != nil {
			return nil, err
		}
		t.PermID = &id
	}
	if t.Extra, err = encodeExtra(extra); err != nil {
		return nil, err
	}
	if _, err := c.hub.store.GetTagByName(c.ctx, name); err == nil {
		return nil, genericErr("A tag with the name %s already exists", pyRepr(name))
	}
	var parentID int64
	if parent != nil {
		p, err := c.hub.lookupTag(c, parent)
		if errors.Is(err, db.ErrNotFound) {
			return nil, genericErr("Parent tag %s could not be found", pyRepr(parent))
		}
		if err != nil {
			return nil, err
		}
		parentID = p.ID
	}
	var id int64
	err = c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		var err error
		var ev int64
		id, ev, err = tx.CreateTagBy(c.ctx, t, c.userID())
		if errors.Is(err, db.ErrConflict) {
			return genericErr("A tag with the name %s already exists", pyRepr(name))
		}
		if err != nil {
			return err
		}
		if parentID != 0 {
			// one event for the tag and its link, as Koji
			_, err = tx.SetInheritanceIn(c.ctx, id, []db.InheritanceLink{{ParentID: parentID, Priority: 0}}, c.userID(), ev)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return id, nil
}

// getTag(tagInfo, strict=False, event=None, blocked=False)
func mGetTag(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "tagInfo")
	strict := a.OptBool(1, "strict", false)
	evArg := a.OptAny(2, "event", nil)
	blocked := a.OptBool(3, "blocked", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	var ev *int64
	switch x := evArg.(type) {
	case nil:
	case int64:
		ev = &x
	case string:
		if x != "auto" {
			return nil, paramErr("event: expected an event id or 'auto', got %s", pyRepr(x))
		}
	default:
		return nil, paramErr("event: expected an event id or 'auto', got %T", evArg)
	}
	notFound := func() (any, error) {
		if strict {
			return nil, genericErr("No such tagInfo: %s", pyRepr(info))
		}
		return nil, nil
	}
	t, err := c.hub.lookupTag(c, info)
	if evArg == "auto" && errors.Is(err, db.ErrNotFound) {
		// Koji: a deleted tag as it was just before its deletion
		if _, bad := info.(map[string]any); bad {
			return notFound()
		}
		var id int64
		var revoked int64
		id, revoked, err = c.hub.store.DeletedTag(c.ctx, info)
		if err == nil {
			e := revoked - 1
			ev = &e
			t, err = c.hub.store.TagAt(c.ctx, id, e)
		}
	} else if err == nil && ev != nil {
		t, err = c.hub.store.TagAt(c.ctx, t.ID, *ev)
	}
	if errors.Is(err, db.ErrNotFound) {
		return notFound()
	}
	if err != nil {
		return nil, err
	}
	extra, err := c.hub.ownExtra(c, t.ID, ev, blocked)
	if err != nil {
		return nil, err
	}
	m := tagMap(t, extra)
	if evArg != nil {
		m["query_event"] = optInt(ev)
	}
	return m, nil
}

// tagAtEvent reads a tag now (ev nil) or as of event ev.
func (h *Hub) tagAtEvent(c *call, id int64, ev *int64) (db.Tag, error) {
	if ev == nil {
		return h.store.GetTag(c.ctx, id)
	}
	return h.store.TagAt(c.ctx, id, *ev)
}

// getBuildConfig(tag, event=None): the tag with arches and extra filled in
// from its inheritance (the nearest ancestor that sets them; noconfig
// links skipped), as Koji.
func mGetBuildConfig(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "tag")
	ev := a.IntOrNil(1, "event")
	if err := a.Done(); err != nil {
		return nil, err
	}
	t, err := c.hub.mustTag(c, info)
	if err != nil {
		return nil, err
	}
	if t, err = c.hub.tagAtEvent(c, t.ID, ev); errors.Is(err, db.ErrNotFound) {
		return nil, genericErr("No such tagInfo: %s", pyRepr(info))
	} else if err != nil {
		return nil, err
	}
	extra, err := c.hub.inheritedExtra(c, t, ev)
	if err != nil {
		return nil, err
	}
	m := tagMap(t, extra)
	if t.Arches == nil {
		order, err := c.hub.fullInheritance(c, t.ID, ev, false)
		if err != nil {
			return nil, err
		}
		for _, l := range order {
			if l.noconfig {
				continue
			}
			p, err := c.hub.tagAtEvent(c, l.ParentID, ev)
			if err == nil && p.Arches != nil {
				m["arches"] = *p.Arches
				break
			}
		}
	}
	return m, nil
}

// editTag2(tagInfo, **kwargs): name, arches, locked, perm (or permissionID),
// maven_support, maven_include_all, extra (merged), remove_extra.
func mEditTag2(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "tagInfo")
	kw := a.RestKwargs()
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("tag"); err != nil {
		return nil, err
	}
	t, err := c.hub.mustTag(c, info)
	if err != nil {
		return nil, err
	}
	e := db.TagEdit{By: c.userID(), ExtraSet: map[string]*string{}}
	extra := decodeExtra(t.Extra)
	extraChanged := false
	// Koji checks the lists first, and that no key is both set and removed
	var removed []any
	for _, k := range []string{"block_extra", "remove_extra"} {
		switch l := kw[k].(type) {
		case nil:
		case []any:
			removed = append(removed, l...)
		default:
			return nil, paramErr("Invalid type for value %s: %T (expected list)", pyRepr(l), l)
		}
	}
	if set, ok := kw["extra"].(map[string]any); ok {
		for _, k := range removed {
			if ks, _ := k.(string); ks != "" || k == "" {
				if _, both := set[ks]; both {
					return nil, genericErr("Can not both add/update and remove tag-extra: '%s'", ks)
				}
			}
		}
	}
	for _, k := range sortedKwargKeys(kw) {
		v := kw[k]
		switch k {
		case "name":
			s, ok := v.(string)
			if !ok {
				return nil, paramErr("name: expected a string, got %T", v)
			}
			if err := validateTagName(s); err != nil {
				return nil, err
			}
			if s != t.Name {
				if _, err := c.hub.store.GetTagByName(c.ctx, s); err == nil {
					return nil, genericErr("Name %s already taken by tag", pyRepr(s))
				}
				e.Name = &s
			}
		case "arches":
			if v == nil || v == "" {
				e.ClearArches = true
				continue
			}
			if e.Arches, err = archesArg(v); err != nil {
				return nil, err
			}
		case "locked":
			b, err := boolOpt(v, "locked")
			if err != nil {
				return nil, err
			}
			e.Locked = b
		case "perm", "permissionID", "perm_id":
			if v == nil {
				e.ClearPerm = true
				continue
			}
			id, err := c.hub.lookupPermID(c, v)
			if err != nil {
				return nil, err
			}
			e.PermID = &id
		case "maven_support", "maven_include_all":
			// Koji refuses either key, whatever its value, without EnableMaven
			return nil, genericErr("Maven support not enabled")
		case "extra":
			m, ok := v.(map[string]any)
			if !ok {
				return nil, paramErr("extra: expected a struct, got %T", v)
			}
			for k, val := range m {
				if old, ok := extra[k]; ok && db.PyJSON(old) == db.PyJSON(val) {
					continue
				}
				js := db.PyJSON(val)
				e.ExtraSet[k] = &js
				extra[k] = val
				extraChanged = true
			}
		case "block_extra":
			l, _ := v.([]any)
			for _, x := range l {
				key := pyStr(x)
				e.ExtraSet[key] = nil
				delete(extra, key)
				extraChanged = true
			}
		case "remove_extra":
			l, _ := v.([]any)
			var missing []string
			own := decodeExtra(t.Extra)
			for _, x := range l {
				if _, ok := own[pyStr(x)]; !ok {
					missing = append(missing, pyStr(x))
				}
			}
			if len(missing) > 0 {
				return nil, genericErr("Tag: %s doesn't have extra: %s", t.Name, strings.Join(missing, ", "))
			}
			for _, x := range l {
				key := pyStr(x)
				delete(extra, key)
				e.ExtraRemove = append(e.ExtraRemove, key)
			}
			extraChanged = len(l) > 0 || extraChanged
		default:
			return nil, paramErr("editTag2() got an unexpected keyword argument '%s'", k)
		}
	}
	// as Koji, only a change of arches, lock or permission is a new
	// tag_config row (unlock-tag sends the values the tag has)
	if e.Locked != nil && *e.Locked == t.Locked {
		e.Locked = nil
	}
	if e.PermID != nil && t.PermID != nil && *e.PermID == *t.PermID {
		e.PermID = nil
	}
	if e.ClearPerm && t.PermID == nil {
		e.ClearPerm = false
	}
	if e.Arches != nil && t.Arches != nil && *e.Arches == *t.Arches {
		e.Arches = nil
	}
	if e.ClearArches && t.Arches == nil {
		e.ClearArches = false
	}
	if extraChanged {
		js, err := encodeExtra(extra)
		if err != nil {
			return nil, err
		}
		e.Extra = &js
	}
	if _, err := c.hub.store.EditTag(c.ctx, t.ID, e); err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

func sortedKwargKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// deleteTag(tagInfo)
func mDeleteTag(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "tagInfo")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("tag"); err != nil {
		return nil, err
	}
	t, err := c.hub.mustTag(c, info)
	if err != nil {
		return nil, err
	}
	if _, err := c.hub.store.DeleteTagBy(c.ctx, t.ID, c.userID()); err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// globLike turns a shell glob into a LIKE pattern with backslash escapes.
func globLike(g string) string {
	var b strings.Builder
	for _, r := range g {
		switch r {
		case '*':
			b.WriteByte('%')
		case '?':
			b.WriteByte('_')
		case '%', '_', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// listTags(build=None, package=None, perms=True, queryOpts=None, pattern=None)
func mListTags(c *call, a *kojixml.Args) (any, error) {
	buildInfo := a.OptAny(0, "build", nil)
	pkgInfo := a.OptAny(1, "package", nil)
	a.OptBool(2, "perms", true)
	qo := a.OptMap(3, "queryOpts")
	pattern := a.OptString(4, "pattern", "")
	if err := a.Done(); err != nil {
		return nil, err
	}
	var f db.TagFilter
	if pattern != "" {
		f.Pattern = globLike(pattern)
	}
	var pkgEntries map[int64]db.TagPackage
	if buildInfo != nil {
		b, err := c.hub.mustBuild(c, buildInfo)
		if err != nil {
			return nil, err
		}
		tl, err := c.hub.store.ListTagged(c.ctx, db.TaggedFilter{BuildID: &b.ID})
		if err != nil {
			return nil, err
		}
		if len(tl) == 0 {
			return applyQueryOpts([]any{}, qo)
		}
		for _, x := range tl {
			f.IDs = append(f.IDs, x.TagID)
		}
	}
	if pkgInfo != nil {
		p, err := c.hub.lookupPackage(c, pkgInfo)
		if errors.Is(err, db.ErrNotFound) {
			return nil, genericErr("Invalid package: %s", pyRepr(pkgInfo))
		}
		if err != nil {
			return nil, err
		}
		entries, err := c.hub.store.ListTagPackages(c.ctx, db.TagPackageFilter{PackageID: &p.ID})
		if err != nil {
			return nil, err
		}
		if len(entries) == 0 {
			return applyQueryOpts([]any{}, qo)
		}
		pkgEntries = map[int64]db.TagPackage{}
		ids := f.IDs
		f.IDs = nil
		for _, e := range entries {
			if len(ids) == 0 || idIn(ids, e.TagID) {
				pkgEntries[e.TagID] = e
				f.IDs = append(f.IDs, e.TagID)
			}
		}
		if len(f.IDs) == 0 {
			return applyQueryOpts([]any{}, qo)
		}
	}
	tags, err := c.hub.store.ListTags(c.ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(tags))
	for _, t := range tags {
		m := tagMap(t, nil)
		if e, ok := pkgEntries[t.ID]; ok {
			m["owner_id"], m["owner_name"], m["blocked"], m["extra_arches"] = e.OwnerID, e.OwnerName, e.Blocked, optStr(e.ExtraArches)
		}
		out = append(out, m)
	}
	return applyQueryOpts(out, qo)
}

func idIn(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func linkMap(l db.InheritanceLink) map[string]any {
	return map[string]any{
		"parent_id": l.ParentID, "child_id": l.TagID, "name": l.ParentName, "priority": int64(l.Priority),
		"maxdepth": optInt(l.MaxDepth), "intransitive": l.Intransitive, "noconfig": l.NoConfig, "pkg_filter": l.PkgFilter,
	}
}

// getInheritanceData(tag, event=None)
func mGetInheritanceData(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "tag")
	ev := a.IntOrNil(1, "event")
	if err := a.Done(); err != nil {
		return nil, err
	}
	t, err := c.hub.mustTag(c, info)
	if err != nil {
		return nil, err
	}
	links, err := c.hub.store.GetInheritance(c.ctx, t.ID, ev)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(links))
	for _, l := range links {
		out = append(out, linkMap(l))
	}
	return out, nil
}

// setInheritanceData(tag, data, clear=False): data is a list of links
// (parent_id, priority, maxdepth, intransitive, noconfig, pkg_filter,
// delete_link) merged into the current ones by parent_id; clear drops the
// links data does not name.
func mSetInheritanceData(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "tag")
	data := a.Any(1, "data")
	clear := a.OptBool(2, "clear", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("tag"); err != nil {
		return nil, err
	}
	t, err := c.hub.mustTag(c, info)
	if err != nil {
		return nil, err
	}
	var items []any
	switch x := data.(type) {
	case []any:
		items = x
	case map[string]any:
		items = []any{x}
	default:
		return nil, paramErr("data: expected a list of links, got %T", data)
	}
	if len(items) > 1000 {
		return nil, paramErr("data: %d links exceeds the limit of 1000", len(items))
	}
	cur, err := c.hub.store.GetInheritance(c.ctx, t.ID, nil)
	if err != nil {
		return nil, err
	}
	final := map[int64]db.InheritanceLink{}
	if !clear {
		for _, l := range cur {
			final[l.ParentID] = l
		}
	}
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, paramErr("data[%d]: expected a struct, got %T", i, it)
		}
		pid, ok := m["parent_id"].(int64)
		if !ok {
			return nil, paramErr("data[%d]: parent_id: expected an integer", i)
		}
		if pid == t.ID {
			return nil, genericErr("Tag %s cannot inherit from itself", t.Name)
		}
		if pyTruthy(m["delete_link"]) || pyTruthy(m["delete link"]) {
			delete(final, pid)
			continue
		}
		p, err := c.hub.store.GetTag(c.ctx, pid)
		if errors.Is(err, db.ErrNotFound) {
			return nil, genericErr("No such tagInfo: %d", pid)
		}
		if err != nil {
			return nil, err
		}
		l := db.InheritanceLink{TagID: t.ID, ParentID: pid, ParentName: p.Name}
		// Koji stores what it is given in an integer column: PostgreSQL
		// takes "10" as 10 (the CLI sends --priority as a string)
		prio, ok := m["priority"].(int64)
		if s, isStr := m["priority"].(string); isStr {
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
			prio, ok = n, err == nil
		}
		if !ok || prio != int64(int32(prio)) {
			return nil, paramErr("data[%d]: priority: expected an integer", i)
		}
		l.Priority = int(prio)
		switch md := m["maxdepth"].(type) {
		case nil:
		case int64:
			if md < 0 {
				return nil, paramErr("data[%d]: maxdepth must be >= 0", i)
			}
			l.MaxDepth = &md
		default:
			return nil, paramErr("data[%d]: maxdepth: expected an integer or None", i)
		}
		l.Intransitive, _ = m["intransitive"].(bool)
		l.NoConfig, _ = m["noconfig"].(bool)
		l.PkgFilter, _ = m["pkg_filter"].(string)
		final[pid] = l
	}
	prios := map[int]int64{}
	links := make([]db.InheritanceLink, 0, len(final))
	for _, l := range final {
		if other, dup := prios[l.Priority]; dup {
			return nil, genericErr("Multiple parent tags (%d, %d) cannot have the same priority value (%d) on child tag %s", other, l.ParentID, l.Priority, t.Name)
		}
		prios[l.Priority] = l.ParentID
		links = append(links, l)
	}
	if _, err := c.hub.store.SetInheritanceBy(c.ctx, t.ID, links, c.userID()); err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// fullLink is one entry of a tag's full inheritance.
type fullLink struct {
	db.InheritanceLink
	currdepth int64
	nextdepth *int64
	noconfig  bool
	filter    []string
}

// maxInheritanceLinks bounds a full inheritance walk.
const maxInheritanceLinks = 10000

// fullInheritance walks the inheritance depth first by priority, as Koji's
// readFullInheritance: each tag appears once (at its first, highest-priority
// place), maxdepth and intransitive links are honoured, and cycles end.
func (h *Hub) fullInheritance(c *call, tagID int64, ev *int64, reverse bool) ([]fullLink, error) {
	var order []fullLink
	seen := map[int64]bool{tagID: true}
	var walk func(id int64, depth int64, maxdepth *int64, noconfig bool, filter []string) error
	walk = func(id int64, depth int64, maxdepth *int64, noconfig bool, filter []string) error {
		if maxdepth != nil && *maxdepth < 1 {
			return nil
		}
		if len(order) > maxInheritanceLinks {
			return genericErr("inheritance of tag %d has more than %d links", tagID, maxInheritanceLinks)
		}
		depth++
		var links []db.InheritanceLink
		var err error
		if reverse {
			links, err = h.store.GetInheritanceChildren(c.ctx, id, ev)
		} else {
			links, err = h.store.GetInheritance(c.ctx, id, ev)
		}
		if err != nil {
			return err
		}
		for _, l := range links {
			next := l.ParentID
			if reverse {
				next = l.TagID
			}
			if l.Intransitive && depth > 1 {
				continue
			}
			nd := l.MaxDepth
			if maxdepth != nil && (nd == nil || *nd > *maxdepth-1) {
				v := *maxdepth - 1
				nd = &v
			}
			if l.Intransitive {
				zero := int64(0)
				nd = &zero
			}
			if seen[next] {
				continue
			}
			seen[next] = true
			f := filter
			if l.PkgFilter != "" {
				f = append(append([]string{}, filter...), l.PkgFilter)
			}
			order = append(order, fullLink{InheritanceLink: l, currdepth: depth, nextdepth: nd, noconfig: noconfig || l.NoConfig, filter: f})
			if err := walk(next, depth, nd, noconfig || l.NoConfig, f); err != nil {
				return err
			}
		}
		return nil
	}
	return order, walk(tagID, 0, nil, false, nil)
}

// getFullInheritance(tag, event=None, reverse=False)
func mGetFullInheritance(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "tag")
	ev := a.IntOrNil(1, "event")
	reverse := a.OptBool(2, "reverse", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	t, err := c.hub.mustTag(c, info)
	if err != nil {
		return nil, err
	}
	order, err := c.hub.fullInheritance(c, t.ID, ev, reverse)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(order))
	for _, l := range order {
		m := linkMap(l.InheritanceLink)
		if reverse {
			m["name"] = l.ChildName
			m["tag_id"] = l.TagID
		} else {
			m["tag_id"] = l.ParentID
		}
		m["currdepth"] = l.currdepth
		m["nextdepth"] = optInt(l.nextdepth)
		m["noconfig"] = l.noconfig
		filt := make([]any, len(l.filter))
		for i, s := range l.filter {
			filt[i] = s
		}
		m["filter"] = filt
		out = append(out, m)
	}
	return out, nil
}

// lookupPackage resolves a package id or name.
func (h *Hub) lookupPackage(c *call, info any) (db.Package, error) {
	return lookupInfo(info, "package",
		func(id int64) (db.Package, error) { return h.store.GetPackage(c.ctx, id) },
		func(n string) (db.Package, error) { return h.store.GetPackageByName(c.ctx, n) })
}

// getPackage(info, strict=False, create=False)
func mGetPackage(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "info")
	strict := a.OptBool(1, "strict", false)
	create := a.OptBool(2, "create", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	p, err := c.hub.lookupPackage(c, info)
	if errors.Is(err, db.ErrNotFound) {
		name, isName := info.(string)
		switch {
		case create && isName:
			if err := c.requirePerm("tag"); err != nil {
				return nil, err
			}
			if !validNVRPart(name, true) {
				return nil, fault(kojixml.NameValidationError, "Invalid package name %s", pyRepr(name))
			}
			id, err := c.hub.store.EnsurePackage(c.ctx, name)
			if err != nil {
				return nil, err
			}
			c.wrote = true
			return map[string]any{"id": id, "name": name}, nil
		case strict:
			return nil, genericErr("No such package: %s", pyRepr(info))
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"id": p.ID, "name": p.Name}, nil
}

// effectivePackage finds a package's entry for a tag, its own or the
// nearest inherited one.
func (h *Hub) effectivePackage(c *call, tagID, pkgID int64, ev *int64) (*db.TagPackage, error) {
	ids := []int64{tagID}
	order, err := h.fullInheritance(c, tagID, ev, false)
	if err != nil {
		return nil, err
	}
	for _, l := range order {
		ids = append(ids, l.ParentID)
	}
	entries, err := h.store.ListTagPackages(c.ctx, db.TagPackageFilter{TagIDs: ids, PackageID: &pkgID, Event: ev})
	if err != nil {
		return nil, err
	}
	byTag := map[int64]db.TagPackage{}
	for _, e := range entries {
		byTag[e.TagID] = e
	}
	for _, id := range ids {
		if e, ok := byTag[id]; ok {
			return &e, nil
		}
	}
	return nil, nil
}

// assertPackageList checks a change to a tag's package list: Koji's
// package_list policy (data: tag, action add, update, block, remove or
// unblock, package, force; by default admin or the tag permission), then
// the tag's lock and own permission.
func (c *call) assertPackageList(t db.Tag, action string, pkgInfo any, force bool) error {
	if err := c.requireLogin(); err != nil {
		return err
	}
	d := policy.Data{"tag": t.ID, "action": action, "package": pkgInfo, "force": force}
	if err := c.assertPolicy("package_list", d, force); err != nil {
		return err
	}
	return assertTagAccess(t, c.callerPerms(), force)
}

func (h *Hub) mustPackage(c *call, info any, create bool) (db.Package, error) {
	p, err := h.lookupPackage(c, info)
	if errors.Is(err, db.ErrNotFound) {
		name, isName := info.(string)
		if !create || !isName {
			return p, genericErr("No such package: %s", pyRepr(info))
		}
		if !validNVRPart(name, true) {
			return p, fault(kojixml.NameValidationError, "Invalid package name %s: use letters, digits and ._+~^-", pyRepr(name))
		}
		return db.Package{Name: name}, nil
	}
	return p, err
}

// packageListAdd(taginfo, pkginfo, owner=None, block=None, extra_arches=None,
// force=False, update=False); kojigo also takes min_disk_mb= and min_mem_mb=.
func mPackageListAdd(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "taginfo")
	pkgInfo := a.Any(1, "pkginfo")
	owner := a.OptAny(2, "owner", nil)
	block := a.OptAny(3, "block", nil)
	extraArches := a.OptAny(4, "extra_arches", nil)
	force := a.OptBool(5, "force", false)
	update := a.OptBool(6, "update", false)
	disk := a.OptAny(-1, "min_disk_mb", nil)
	mem := a.OptAny(-1, "min_mem_mb", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	req := pkgListReq{owner: owner, block: block, extraArches: extraArches, force: force, update: update}
	var err error
	if req.disk, err = constraintArg("min_disk_mb", disk); err != nil {
		return nil, err
	}
	if req.mem, err = constraintArg("min_mem_mb", mem); err != nil {
		return nil, err
	}
	return nil, c.hub.pkgListAdd(c, tagInfo, pkgInfo, req)
}

type pkgListReq struct {
	owner, block, extraArches any
	force, update             bool
	disk, mem                 *int64
	setConstraints            bool
}

// maxConstraintMB bounds min_disk_mb and min_mem_mb (1 PiB).
const maxConstraintMB = 1 << 30

func constraintArg(name string, v any) (*int64, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int64:
		if x < 0 || x > maxConstraintMB {
			return nil, paramErr("%s: expected 0..%d, got %d", name, maxConstraintMB, x)
		}
		if x == 0 {
			return nil, nil
		}
		return &x, nil
	}
	return nil, paramErr("%s: expected an integer (MiB), got %T", name, v)
}

func (h *Hub) pkgListAdd(c *call, tagInfo, pkgInfo any, r pkgListReq) error {
	t, err := h.mustTag(c, tagInfo)
	if err != nil {
		return err
	}
	action := "add"
	switch {
	case r.update:
		action = "update"
	case pyTruthy(r.block):
		action = "block"
	}
	if err := c.assertPackageList(t, action, pkgInfo, r.force); err != nil {
		return err
	}
	p, err := h.mustPackage(c, pkgInfo, true)
	if err != nil {
		return err
	}
	var ownerID *int64
	if r.owner != nil {
		u, err := h.lookupUser(c, r.owner)
		if errors.Is(err, db.ErrNotFound) {
			return genericErr("No such user: %s", pyRepr(r.owner))
		}
		if err != nil {
			return err
		}
		ownerID = &u.ID
	}
	var arches *string
	if r.extraArches != nil {
		if arches, err = archesArg(r.extraArches); err != nil {
			return err
		}
	}
	var prev *db.TagPackage
	if p.ID != 0 {
		if prev, err = h.effectivePackage(c, t.ID, p.ID, nil); err != nil {
			return err
		}
	}
	next := db.TagPackage{TagID: t.ID}
	if prev == nil {
		if r.update && !r.force {
			return genericErr("cannot update: tag %s has no data for package %s", t.Name, p.Name)
		}
		if r.setConstraints {
			return genericErr("package %s is not in the package list of tag %s", p.Name, t.Name)
		}
	} else {
		next.OwnerID, next.Blocked, next.ExtraArches = prev.OwnerID, prev.Blocked, prev.ExtraArches
		next.MinDiskMB, next.MinMemMB = prev.MinDiskMB, prev.MinMemMB
		if prev.Blocked && r.block != nil && !pyTruthy(r.block) && !r.force && prev.TagID != t.ID {
			return genericErr("package %s is blocked in tag %s", p.Name, prev.TagName)
		}
	}
	if ownerID != nil {
		next.OwnerID = *ownerID
	} else if prev == nil {
		return genericErr("owner not specified")
	}
	if r.block != nil {
		next.Blocked = pyTruthy(r.block)
	}
	if arches != nil {
		next.ExtraArches = arches
	}
	if r.setConstraints || r.disk != nil {
		next.MinDiskMB = r.disk
	}
	if r.setConstraints || r.mem != nil {
		next.MinMemMB = r.mem
	}
	if prev != nil && prev.TagID == t.ID && sameEntry(*prev, next) {
		return nil // nothing changes; no event
	}
	err = h.store.WithTx(c.ctx, func(tx *db.Store) error {
		id := p.ID
		if id == 0 {
			var err error
			if id, err = tx.EnsurePackage(c.ctx, p.Name); err != nil {
				return err
			}
		}
		next.PackageID = id
		next.By = c.userID()
		_, err := tx.SetTagPackage(c.ctx, next)
		return err
	})
	if err != nil {
		return err
	}
	c.wrote = true
	return nil
}

func sameEntry(a, b db.TagPackage) bool {
	eq := func(x, y *int64) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	return a.OwnerID == b.OwnerID && a.Blocked == b.Blocked && optStr(a.ExtraArches) == optStr(b.ExtraArches) &&
		eq(a.MinDiskMB, b.MinDiskMB) && eq(a.MinMemMB, b.MinMemMB)
}

func pyTruthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case string:
		return x != ""
	}
	return true
}

// packageListBlock(taginfo, pkginfo, force=False)
func mPackageListBlock(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "taginfo")
	pkgInfo := a.Any(1, "pkginfo")
	force := a.OptBool(2, "force", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	t, err := c.hub.mustTag(c, tagInfo)
	if err != nil {
		return nil, err
	}
	p, err := c.hub.mustPackage(c, pkgInfo, false)
	if err != nil {
		return nil, err
	}
	prev, err := c.hub.effectivePackage(c, t.ID, p.ID, nil)
	if err != nil {
		return nil, err
	}
	if prev == nil {
		return nil, genericErr("Package %s is not in tag listing for %s", p.Name, t.Name)
	}
	return nil, c.hub.pkgListAdd(c, t.ID, p.ID, pkgListReq{block: true, force: force})
}

// packageListRemove(taginfo, pkginfo, force=False): drops the tag's own entry.
func mPackageListRemove(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "taginfo")
	pkgInfo := a.Any(1, "pkginfo")
	force := a.OptBool(2, "force", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	t, err := c.hub.mustTag(c, tagInfo)
	if err != nil {
		return nil, err
	}
	if err := c.assertPackageList(t, "remove", pkgInfo, force); err != nil {
		return nil, err
	}
	p, err := c.hub.mustPackage(c, pkgInfo, false)
	if err != nil {
		return nil, err
	}
	if _, err := c.hub.store.RemoveTagPackageBy(c.ctx, t.ID, p.ID, c.userID()); errors.Is(err, db.ErrNotFound) {
		return nil, genericErr("Package %s is not in tag listing for %s", p.Name, t.Name)
	} else if err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// packageListUnblock(taginfo, pkginfo, force=False): as Koji, drops the
// tag's own blocking entry, or adds an unblocked one when the block is
// inherited (or nothing unblocked remains after dropping it).
func mPackageListUnblock(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "taginfo")
	pkgInfo := a.Any(1, "pkginfo")
	force := a.OptBool(2, "force", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	t, err := c.hub.mustTag(c, tagInfo)
	if err != nil {
		return nil, err
	}
	if err := c.assertPackageList(t, "unblock", pkgInfo, force); err != nil {
		return nil, err
	}
	p, err := c.hub.mustPackage(c, pkgInfo, false)
	if err != nil {
		return nil, err
	}
	prev, err := c.hub.effectivePackage(c, t.ID, p.ID, nil)
	if err != nil {
		return nil, err
	}
	if prev == nil {
		return nil, genericErr("no data (blocked or otherwise) for package %s in tag %s", p.Name, t.Name)
	}
	if !prev.Blocked {
		return nil, genericErr("package %s NOT blocked in tag %s", p.Name, t.Name)
	}
	err = c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		if prev.TagID == t.ID {
			if _, err := tx.RemoveTagPackage(c.ctx, t.ID, p.ID); err != nil {
				return err
			}
			// what is inherited now, read inside this transaction
			parents, err := tx.GetInheritance(c.ctx, t.ID, nil)
			if err != nil {
				return err
			}
			ids := make([]int64, 0, len(parents))
			for _, l := range parents {
				ids = append(ids, l.ParentID)
			}
			if len(ids) > 0 {
				inh, err := tx.ListTagPackages(c.ctx, db.TagPackageFilter{TagIDs: ids, PackageID: &p.ID})
				if err != nil {
					return err
				}
				for _, e := range inh {
					if !e.Blocked {
						return nil
					}
				}
			}
		}
		next := *prev
		next.TagID, next.Blocked = t.ID, false
		next.By = c.userID()
		_, err := tx.SetTagPackage(c.ctx, next)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// packageListSetOwner(taginfo, pkginfo, owner, force=False)
func mPackageListSetOwner(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "taginfo")
	pkgInfo := a.Any(1, "pkginfo")
	owner := a.Any(2, "owner")
	force := a.OptBool(3, "force", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if _, err := c.hub.mustPackage(c, pkgInfo, false); err != nil {
		return nil, err
	}
	return nil, c.hub.pkgListAdd(c, tagInfo, pkgInfo, pkgListReq{owner: owner, force: force, update: true})
}

// packageListSetArches(taginfo, pkginfo, arches, force=False)
func mPackageListSetArches(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "taginfo")
	pkgInfo := a.Any(1, "pkginfo")
	arches := a.Any(2, "arches")
	force := a.OptBool(3, "force", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if _, err := c.hub.mustPackage(c, pkgInfo, false); err != nil {
		return nil, err
	}
	return nil, c.hub.pkgListAdd(c, tagInfo, pkgInfo, pkgListReq{extraArches: arches, force: force, update: true})
}

// kojigo.setPackageConstraints(tag, package, min_disk_mb=None, min_mem_mb=None):
// what a builder must have free to build the package for this tag (None or
// 0 clears). Builds ask for the larger of this and the tag's extra
// kojigo.min_disk_mb / kojigo.min_mem_mb.
func mSetPackageConstraints(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.Any(0, "tag")
	pkgInfo := a.Any(1, "package")
	disk := a.OptAny(2, "min_disk_mb", nil)
	mem := a.OptAny(3, "min_mem_mb", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	r := pkgListReq{setConstraints: true, update: true}
	var err error
	if r.disk, err = constraintArg("min_disk_mb", disk); err != nil {
		return nil, err
	}
	if r.mem, err = constraintArg("min_mem_mb", mem); err != nil {
		return nil, err
	}
	if _, err := c.hub.mustPackage(c, pkgInfo, false); err != nil {
		return nil, err
	}
	return nil, c.hub.pkgListAdd(c, tagInfo, pkgInfo, r)
}

func pkgEntryMap(e db.TagPackage) map[string]any {
	return map[string]any{
		"package_id": e.PackageID, "package_name": e.PackageName, "tag_id": e.TagID, "tag_name": e.TagName,
		"owner_id": e.OwnerID, "owner_name": e.OwnerName, "blocked": e.Blocked, "extra_arches": optStr(e.ExtraArches),
		"min_disk_mb": optInt(e.MinDiskMB), "min_mem_mb": optInt(e.MinMemMB),
	}
}

// listPackages(tagID=None, userID=None, pkgID=None, prefix=None,
// inherited=False, with_dups=False, event=None, queryOpts=None,
// with_owners=True, with_blocked=True). Inheritance package filters
// (pkg_filter) are not applied.
func mListPackages(c *call, a *kojixml.Args) (any, error) {
	tagInfo := a.OptAny(0, "tagID", nil)
	userInfo := a.OptAny(1, "userID", nil)
	pkgInfo := a.OptAny(2, "pkgID", nil)
	prefix := a.OptString(3, "prefix", "")
	inherited := a.OptBool(4, "inherited", false)
	withDups := a.OptBool(5, "with_dups", false)
	ev := a.IntOrNil(6, "event")
	qo := a.OptMap(7, "queryOpts")
	a.OptBool(8, "with_owners", true)
	withBlocked := a.OptBool(9, "with_blocked", true)
	if err := a.Done(); err != nil {
		return nil, err
	}
	f := db.TagPackageFilter{Event: ev, Prefix: prefix, ByChange: true}
	if pkgInfo != nil {
		p, err := c.hub.lookupPackage(c, pkgInfo)
		if errors.Is(err, db.ErrNotFound) {
			return nil, genericErr("No such package: %s", pyRepr(pkgInfo))
		}
		if err != nil {
			return nil, err
		}
		f.PackageID = &p.ID
	}
	if userInfo != nil {
		u, err := c.hub.lookupUser(c, userInfo)
		if errors.Is(err, db.ErrNotFound) {
			return nil, genericErr("No such user: %s", pyRepr(userInfo))
		}
		if err != nil {
			return nil, err
		}
		f.OwnerID = &u.ID
	}
	var order []int64
	if tagInfo != nil {
		t, err := c.hub.mustTag(c, tagInfo)
		if err != nil {
			return nil, err
		}
		order = []int64{t.ID}
		if inherited {
			links, err := c.hub.fullInheritance(c, t.ID, ev, false)
			if err != nil {
				return nil, err
			}
			for _, l := range links {
				order = append(order, l.ParentID)
			}
		}
		f.TagIDs = order
	}
	if tagInfo == nil && f.PackageID == nil && f.OwnerID == nil {
		// all packages: one row each
		pkgs, err := c.hub.store.ListPackages(c.ctx, prefix)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, len(pkgs))
		for _, p := range pkgs {
			out = append(out, map[string]any{"package_id": p.ID, "package_name": p.Name})
		}
		return applyQueryOpts(out, qo)
	}
	entries, err := c.hub.store.ListTagPackages(c.ctx, f)
	if err != nil {
		return nil, err
	}
	rank := map[int64]int{}
	for i, id := range order {
		rank[id] = i
	}
	sort.SliceStable(entries, func(i, j int) bool { return rank[entries[i].TagID] < rank[entries[j].TagID] })
	seen := map[int64]bool{}
	out := []any{}
	for _, e := range entries {
		if tagInfo != nil && !withDups {
			if seen[e.PackageID] {
				continue
			}
			seen[e.PackageID] = true
		}
		if e.Blocked && !withBlocked {
			continue
		}
		out = append(out, pkgEntryMap(e))
	}
	return applyQueryOpts(out, qo)
}

func targetMap(t db.Target) map[string]any {
	return map[string]any{
		"id": t.ID, "name": t.Name, "build_tag": t.BuildTagID, "build_tag_name": t.BuildTagName,
		"dest_tag": t.DestTagID, "dest_tag_name": t.DestTagName,
	}
}

func (h *Hub) lookupTarget(c *call, info any) (db.Target, error) {
	return lookupInfo(info, "buildTargetInfo",
		func(id int64) (db.Target, error) { return h.store.GetTarget(c.ctx, id) },
		func(n string) (db.Target, error) { return h.store.GetTargetByName(c.ctx, n) })
}

// targetAt is lookupTarget as of event ev.
func (h *Hub) targetAt(c *call, info any, ev int64) (db.Target, error) {
	var f db.TargetFilter
	switch v := info.(type) {
	case int64:
		f.ID = &v
	case string:
		f.Name = &v
	default:
		return db.Target{}, paramErr("Invalid type for buildTargetInfo: %T", info)
	}
	l, err := h.store.ListTargetsAt(c.ctx, f, ev)
	if err != nil {
		return db.Target{}, err
	}
	if len(l) == 0 {
		return db.Target{}, db.ErrNotFound
	}
	return l[0], nil
}

func (h *Hub) mustTarget(c *call, info any) (db.Target, error) {
	t, err := h.lookupTarget(c, info)
	if errors.Is(err, db.ErrNotFound) {
		return t, genericErr("No such build target: %s", pyRepr(info))
	}
	return t, err
}

func (h *Hub) targetTags(c *call, build, dest any) (int64, int64, error) {
	b, err := h.lookupTag(c, build)
	if errors.Is(err, db.ErrNotFound) {
		return 0, 0, genericErr("build tag %s does not exist", pyRepr(build))
	}
	if err != nil {
		return 0, 0, err
	}
	d, err := h.lookupTag(c, dest)
	if errors.Is(err, db.ErrNotFound) {
		return 0, 0, genericErr("destination tag %s does not exist", pyRepr(dest))
	}
	if err != nil {
		return 0, 0, err
	}
	return b.ID, d.ID, nil
}

// createBuildTarget(name, build_tag, dest_tag)
func mCreateBuildTarget(c *call, a *kojixml.Args) (any, error) {
	name := a.String(0, "name")
	build := a.Any(1, "build_tag")
	dest := a.Any(2, "dest_tag")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("target"); err != nil {
		return nil, err
	}
	if err := validateTagName(name); err != nil {
		return nil, err
	}
	if _, err := c.hub.store.GetTargetByName(c.ctx, name); err == nil {
		return nil, genericErr("A build target with the name %s already exists", pyRepr(name))
	}
	bid, did, err := c.hub.targetTags(c, build, dest)
	if err != nil {
		return nil, err
	}
	if _, err := c.hub.store.CreateTargetBy(c.ctx, name, bid, did, c.userID()); errors.Is(err, db.ErrConflict) {
		return nil, genericErr("A build target with the name %s already exists", pyRepr(name))
	} else if err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// editBuildTarget(buildTargetInfo, name, build_tag, dest_tag)
func mEditBuildTarget(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "buildTargetInfo")
	name := a.String(1, "name")
	build := a.Any(2, "build_tag")
	dest := a.Any(3, "dest_tag")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("target"); err != nil {
		return nil, err
	}
	if err := validateTagName(name); err != nil {
		return nil, err
	}
	t, err := c.hub.mustTarget(c, info)
	if err != nil {
		return nil, err
	}
	if other, err := c.hub.store.GetTargetByName(c.ctx, name); err == nil && other.ID != t.ID {
		return nil, genericErr("A build target with the name %s already exists", pyRepr(name))
	}
	bid, did, err := c.hub.targetTags(c, build, dest)
	if err != nil {
		return nil, err
	}
	if err := c.hub.store.EditTargetBy(c.ctx, t.ID, name, bid, did, c.userID()); err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// deleteBuildTarget(buildTargetInfo)
func mDeleteBuildTarget(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "buildTargetInfo")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("target"); err != nil {
		return nil, err
	}
	t, err := c.hub.mustTarget(c, info)
	if err != nil {
		return nil, err
	}
	if err := c.hub.store.DeleteTargetBy(c.ctx, t.ID, c.userID()); err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// getBuildTarget(info, event=None, strict=False); with event, the target
// as it was then (build_target_config).
func mGetBuildTarget(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "info")
	ev := a.IntOrNil(1, "event")
	strict := a.OptBool(2, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	var t db.Target
	var err error
	if ev == nil {
		t, err = c.hub.lookupTarget(c, info)
	} else {
		t, err = c.hub.targetAt(c, info, *ev)
	}
	if errors.Is(err, db.ErrNotFound) {
		if strict {
			return nil, genericErr("No such build target: %s", pyRepr(info))
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return targetMap(t), nil
}

// getBuildTargets(info=None, event=None, buildTagID=None, destTagID=None, queryOpts=None)
func mGetBuildTargets(c *call, a *kojixml.Args) (any, error) {
	info := a.OptAny(0, "info", nil)
	ev := a.IntOrNil(1, "event")
	buildTag := a.OptAny(2, "buildTagID", nil)
	destTag := a.OptAny(3, "destTagID", nil)
	qo := a.OptMap(4, "queryOpts")
	if err := a.Done(); err != nil {
		return nil, err
	}
	var f db.TargetFilter
	switch v := info.(type) {
	case nil:
	case int64:
		f.ID = &v
	case string:
		f.Name = &v
	default:
		return nil, paramErr("info: expected a target id or name, got %T", info)
	}
	for _, x := range []struct {
		v   any
		dst **int64
	}{{buildTag, &f.BuildTagID}, {destTag, &f.DestTagID}} {
		if x.v == nil {
			continue
		}
		t, err := c.hub.lookupTag(c, x.v)
		if errors.Is(err, db.ErrNotFound) {
			return []any{}, nil
		}
		if err != nil {
			return nil, err
		}
		*x.dst = &t.ID
	}
	var ts []db.Target
	var err error
	if ev == nil {
		ts, err = c.hub.store.ListTargets(c.ctx, f)
	} else {
		ts, err = c.hub.store.ListTargetsAt(c.ctx, f, *ev)
	}
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(ts))
	for _, t := range ts {
		out = append(out, targetMap(t))
	}
	return applyQueryOpts(out, qo)
}

func eventMap(e db.Event) map[string]any { return map[string]any{"id": e.ID, "ts": e.Time} }

// getLastEvent(before=None, strict=True): the newest event, or the newest
// before a time (seconds since the epoch); with strict, none before the
// time is Koji's "query returned no rows".
func mGetLastEvent(c *call, a *kojixml.Args) (any, error) {
	before := a.OptAny(0, "before", nil)
	strict := a.OptAny(1, "strict", true)
	if err := a.Done(); err != nil {
		return nil, err
	}
	var e db.Event
	var err error
	switch b := before.(type) {
	case nil:
		e, err = c.hub.store.LastEvent(c.ctx)
	case int64:
		e, err = c.hub.store.LastEventBefore(c.ctx, float64(b))
	case float64:
		e, err = c.hub.store.LastEventBefore(c.ctx, b)
	case bool:
		// a Python bool is a number
		n := 0.0
		if b {
			n = 1
		}
		e, err = c.hub.store.LastEventBefore(c.ctx, n)
	default:
		return nil, genericErr("Invalid type for before: %s", pyClass(before))
	}
	if errors.Is(err, db.ErrNotFound) {
		// a new database has no event at all: None, as before
		if pyTruthy(strict) && before != nil {
			return nil, genericErr("query returned no rows")
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return eventMap(e), nil
}

// getEvent(id, strict=True)
func mGetEvent(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "id")
	strict := a.OptBool(1, "strict", true)
	if err := a.Done(); err != nil {
		return nil, err
	}
	e, err := c.hub.store.GetEvent(c.ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		if strict {
			return nil, genericErr("No such event: %d", id)
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return eventMap(e), nil
}
