package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Event is a row of events: every change to tags, their inheritance, their
// package lists and their builds gets one, so that a reader (kojira) can ask
// "what changed since event N" and history queries can ask "as of event N".
type Event struct {
	ID   int64
	Time float64
}

// NewEvent records an event and returns its id. Call it inside the
// transaction of the change it numbers.
func (s *Store) NewEvent(ctx context.Context) (int64, error) {
	id, err := s.insertID(ctx, "INSERT INTO events (time) VALUES (?)", s.Now())
	if err != nil {
		return 0, fmt.Errorf("new event: %w", err)
	}
	return id, nil
}

// GetEvent reads an event.
func (s *Store) GetEvent(ctx context.Context, id int64) (Event, error) {
	var e Event
	err := s.queryRow(ctx, "SELECT id, time FROM events WHERE id = ?", id).Scan(&e.ID, &e.Time)
	return e, mapErr(err)
}

// LastEvent returns the newest event; ErrNotFound when there is none.
func (s *Store) LastEvent(ctx context.Context) (Event, error) {
	var e Event
	err := s.queryRow(ctx, "SELECT id, time FROM events ORDER BY id DESC LIMIT 1").Scan(&e.ID, &e.Time)
	return e, mapErr(err)
}

// activeAt is the condition for a versioned row (create_event,
// revoke_event) being in effect: now when ev is nil, else as of event ev.
func activeAt(alias string, ev *int64) (string, []any) {
	if ev == nil {
		return alias + ".revoke_event IS NULL", nil
	}
	return "(" + alias + ".create_event <= ? AND (" + alias + ".revoke_event IS NULL OR " + alias + ".revoke_event > ?))", []any{*ev, *ev}
}

// Tag is a row of tags. Extra is a JSON object.
type Tag struct {
	ID          int64
	Name        string
	Arches      *string
	PermID      *int64
	PermName    *string
	Locked      bool
	Extra       string
	CreateEvent int64
	Deleted     bool
}

const tagCols = "t.id, t.name, t.arches, t.perm_id, p.name, t.locked, t.extra, t.create_event, t.deleted"
const tagFrom = " FROM tags t LEFT JOIN permissions p ON p.id = t.perm_id"

func scanTag(sc interface{ Scan(...any) error }) (Tag, error) {
	var t Tag
	var arches, perm sql.NullString
	var permID sql.NullInt64
	err := sc.Scan(&t.ID, &t.Name, &arches, &permID, &perm, &t.Locked, &t.Extra, &t.CreateEvent, &t.Deleted)
	t.Arches, t.PermID, t.PermName = nullString(arches), nullInt(permID), nullString(perm)
	return t, mapErr(err)
}

// CreateTag inserts a tag under a new event and returns the tag id and the event.
func (s *Store) CreateTag(ctx context.Context, t Tag) (id, event int64, err error) {
	return s.CreateTagBy(ctx, t, 0)
}

// CreateTagBy is CreateTag recording user (0: nobody) as the creator of the
// tag's tag_config and tag_extra rows.
func (s *Store) CreateTagBy(ctx context.Context, t Tag, user int64) (id, event int64, err error) {
	if t.Extra == "" {
		t.Extra = "{}"
	}
	err = s.WithTx(ctx, func(tx *Store) error {
		if event, err = tx.NewEvent(ctx); err != nil {
			return err
		}
		id, err = tx.insertID(ctx, "INSERT INTO tags (name, arches, perm_id, locked, extra, create_event, deleted) VALUES (?, ?, ?, ?, ?, ?, FALSE)",
			t.Name, t.Arches, t.PermID, t.Locked, t.Extra, event)
		if err != nil {
			return fmt.Errorf("create tag %q: %w", t.Name, err)
		}
		if err := tx.insertTagConfig(ctx, id, event, user); err != nil {
			return err
		}
		vals, err := extraValues(t.Extra)
		if err != nil {
			return fmt.Errorf("create tag %q: %w", t.Name, err)
		}
		for _, k := range sortedKeys(vals) {
			v := vals[k]
			if err := tx.setTagExtra(ctx, id, k, &v, event, user); err != nil {
				return err
			}
		}
		return nil
	})
	return id, event, err
}

// GetTag reads a tag that is not deleted.
func (s *Store) GetTag(ctx context.Context, id int64) (Tag, error) {
	return scanTag(s.queryRow(ctx, "SELECT "+tagCols+tagFrom+" WHERE t.id = ? AND NOT t.deleted", id))
}

// GetTagByName reads a tag that is not deleted by name.
func (s *Store) GetTagByName(ctx context.Context, name string) (Tag, error) {
	return scanTag(s.queryRow(ctx, "SELECT "+tagCols+tagFrom+" WHERE t.name = ? AND NOT t.deleted", name))
}

// TagFilter selects tags for ListTags; zero fields match everything.
type TagFilter struct {
	IDs     []int64
	Pattern string // SQL LIKE pattern on the name, backslash escapes
}

// ListTags returns the tags that are not deleted, by id.
func (s *Store) ListTags(ctx context.Context, f TagFilter) ([]Tag, error) {
	q := "SELECT " + tagCols + tagFrom + " WHERE NOT t.deleted"
	var args []any
	if len(f.IDs) > 0 {
		q += " AND t.id IN (" + placeholders(len(f.IDs)) + ")"
		args = append(args, int64Args(f.IDs)...)
	}
	if f.Pattern != "" {
		q += " AND t.name LIKE ? ESCAPE '\\'"
		args = append(args, f.Pattern)
	}
	q += " ORDER BY t.id"
	var out []Tag
	err := scanAll(s.query(ctx, q, args...))(func(r *sql.Rows) error {
		t, err := scanTag(r)
		out = append(out, t)
		return err
	})
	return out, err
}

// TagEdit holds the changes editTag2 makes; nil leaves a field alone.
// ClearPerm and ClearArches set the column to NULL.
type TagEdit struct {
	Name        *string
	Arches      *string
	ClearArches bool
	PermID      *int64
	ClearPerm   bool
	Locked      *bool
	Extra       *string // the tag's whole extra after the edit (tags.extra)
	// ExtraSet writes keys of tag_extra: the JSON text of the value, or nil
	// to block the key from inheritance; ExtraRemove revokes keys.
	ExtraSet    map[string]*string
	ExtraRemove []string
	By          int64 // the user editing, recorded as creator and revoker; 0 nobody
}

// EditTag changes a tag under a new event and returns the event.
func (s *Store) EditTag(ctx context.Context, id int64, e TagEdit) (event int64, err error) {
	var sets []string
	var args []any
	add := func(col string, v any) { sets = append(sets, col+" = ?"); args = append(args, v) }
	if e.Name != nil {
		add("name", *e.Name)
	}
	if e.ClearArches {
		sets = append(sets, "arches = NULL")
	} else if e.Arches != nil {
		add("arches", *e.Arches)
	}
	if e.ClearPerm {
		sets = append(sets, "perm_id = NULL")
	} else if e.PermID != nil {
		add("perm_id", *e.PermID)
	}
	if e.Locked != nil {
		add("locked", *e.Locked)
	}
	if e.Extra != nil {
		add("extra", *e.Extra)
	}
	configChanged := e.ClearArches || e.Arches != nil || e.ClearPerm || e.PermID != nil || e.Locked != nil
	if len(sets) == 0 && len(e.ExtraSet) == 0 && len(e.ExtraRemove) == 0 {
		// nothing to change: no event, as Koji (its events are made by writes)
		if _, err := s.GetTag(ctx, id); err != nil {
			return 0, fmt.Errorf("edit tag %d: %w", id, err)
		}
		return 0, nil
	}
	err = s.WithTx(ctx, func(tx *Store) error {
		if event, err = tx.NewEvent(ctx); err != nil {
			return err
		}
		if len(sets) > 0 {
			n, err := tx.execN(ctx, "UPDATE tags SET "+strings.Join(sets, ", ")+" WHERE id = ? AND NOT deleted", append(args, id)...)
			if err != nil {
				return fmt.Errorf("edit tag %d: %w", id, err)
			}
			if n == 0 {
				return fmt.Errorf("edit tag %d: %w", id, ErrNotFound)
			}
		}
		if configChanged {
			if err := tx.revokeTagRows(ctx, "tag_config", id, "", event, e.By); err != nil {
				return err
			}
			if err := tx.insertTagConfig(ctx, id, event, e.By); err != nil {
				return err
			}
		}
		for _, k := range sortedKeys(e.ExtraSet) {
			if err := tx.revokeTagRows(ctx, "tag_extra", id, k, event, e.By); err != nil {
				return err
			}
			if err := tx.setTagExtra(ctx, id, k, e.ExtraSet[k], event, e.By); err != nil {
				return err
			}
		}
		for _, k := range e.ExtraRemove {
			if err := tx.revokeTagRows(ctx, "tag_extra", id, k, event, e.By); err != nil {
				return err
			}
		}
		// record the change for tagLastChangeEvent
		var updater *int64
		if e.By != 0 {
			updater = &e.By
		}
		return tx.AddTagUpdate(ctx, id, event, updater, TagUpdateManual)
	})
	return event, err
}

// DeleteTag deletes a tag under a new event: its inheritance (both ways),
// package list and build listing are revoked, targets using it are removed,
// and its name is freed for a new tag.
func (s *Store) DeleteTag(ctx context.Context, id int64) (event int64, err error) {
	return s.DeleteTagBy(ctx, id, 0)
}

// DeleteTagBy is DeleteTag recording user (0: nobody) as the revoker.
func (s *Store) DeleteTagBy(ctx context.Context, id int64, user int64) (event int64, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		if _, err := tx.GetTag(ctx, id); err != nil {
			return fmt.Errorf("delete tag %d: %w", id, err)
		}
		if event, err = tx.NewEvent(ctx); err != nil {
			return err
		}
		for _, q := range []string{
			"UPDATE tag_inheritance SET revoke_event = ?, revoker_id = ? WHERE revoke_event IS NULL AND (tag_id = ? OR parent_id = ?)",
			"UPDATE tag_packages SET revoke_event = ?, revoker_id = ? WHERE revoke_event IS NULL AND tag_id = ?",
			"UPDATE tag_listing SET revoke_event = ?, revoker_id = ? WHERE revoke_event IS NULL AND tag_id = ?",
			// as Koji's delete_tag: the tag's config, extra, groups and external repos end too
			"UPDATE tag_config SET revoke_event = ?, revoker_id = ? WHERE revoke_event IS NULL AND tag_id = ?",
			"UPDATE tag_extra SET revoke_event = ?, revoker_id = ? WHERE revoke_event IS NULL AND tag_id = ?",
			"UPDATE group_config SET revoke_event = ?, revoker_id = ? WHERE revoke_event IS NULL AND tag_id = ?",
			"UPDATE group_package_listing SET revoke_event = ?, revoker_id = ? WHERE revoke_event IS NULL AND tag_id = ?",
			"UPDATE group_req_listing SET revoke_event = ?, revoker_id = ? WHERE revoke_event IS NULL AND tag_id = ?",
			"UPDATE tag_external_repos SET revoke_event = ?, revoker_id = ? WHERE revoke_event IS NULL AND tag_id = ?",
		} {
			args := []any{event, by(user), id}
			if strings.Contains(q, "parent_id") {
				args = append(args, id)
			}
			if _, err := tx.exec(ctx, q, args...); err != nil {
				return fmt.Errorf("delete tag %d: %w", id, err)
			}
		}
		if _, err := tx.exec(ctx, "UPDATE build_target_config SET revoke_event = ?, revoker_id = ? WHERE revoke_event IS NULL AND (build_tag = ? OR dest_tag = ?)", event, by(user), id, id); err != nil {
			return fmt.Errorf("delete tag %d: targets: %w", id, err)
		}
		if _, err := tx.exec(ctx, "DELETE FROM build_targets WHERE build_tag = ? OR dest_tag = ?", id, id); err != nil {
			return fmt.Errorf("delete tag %d: targets: %w", id, err)
		}
		_, err = tx.exec(ctx, "UPDATE tags SET deleted = TRUE, name = name || ? WHERE id = ?", fmt.Sprintf("#deleted-%d", event), id)
		return err
	})
	return event, err
}

// InheritanceLink is one parent of a tag (a row of tag_inheritance).
type InheritanceLink struct {
	TagID        int64
	ParentID     int64
	ParentName   string
	ChildName    string
	Priority     int
	MaxDepth     *int64
	Intransitive bool
	NoConfig     bool
	PkgFilter    string
}

func scanLinks(rows *sql.Rows, err error) ([]InheritanceLink, error) {
	var out []InheritanceLink
	err = scanAll(rows, err)(func(r *sql.Rows) error {
		var l InheritanceLink
		var md sql.NullInt64
		err := r.Scan(&l.TagID, &l.ParentID, &l.ParentName, &l.ChildName, &l.Priority, &md, &l.Intransitive, &l.NoConfig, &l.PkgFilter)
		l.MaxDepth = nullInt(md)
		out = append(out, l)
		return err
	})
	return out, err
}

const linkSelect = `SELECT i.tag_id, i.parent_id, p.name, c.name, i.priority, i.maxdepth, i.intransitive, i.noconfig, i.pkg_filter
	FROM tag_inheritance i JOIN tags p ON p.id = i.parent_id JOIN tags c ON c.id = i.tag_id WHERE `

// GetInheritance returns a tag's parents by priority, now or as of event ev.
func (s *Store) GetInheritance(ctx context.Context, tagID int64, ev *int64) ([]InheritanceLink, error) {
	cond, args := activeAt("i", ev)
	return scanLinks(s.query(ctx, linkSelect+cond+" AND i.tag_id = ? ORDER BY i.priority, i.parent_id", append(args, tagID)...))
}

// GetInheritanceChildren returns the links whose parent is tagID.
func (s *Store) GetInheritanceChildren(ctx context.Context, parentID int64, ev *int64) ([]InheritanceLink, error) {
	cond, args := activeAt("i", ev)
	return scanLinks(s.query(ctx, linkSelect+cond+" AND i.parent_id = ? ORDER BY i.priority, i.tag_id", append(args, parentID)...))
}

// SetInheritance makes links the whole inheritance of tagID under a new
// event: links that did not change are kept, the others revoked or added.
// It returns the event, or 0 when nothing changed.
func (s *Store) SetInheritance(ctx context.Context, tagID int64, links []InheritanceLink) (event int64, err error) {
	return s.SetInheritanceBy(ctx, tagID, links, 0)
}

// SetInheritanceBy is SetInheritance recording user (0: nobody) as the
// creator and revoker of the rows.
func (s *Store) SetInheritanceBy(ctx context.Context, tagID int64, links []InheritanceLink, user int64) (event int64, err error) {
	return s.SetInheritanceIn(ctx, tagID, links, user, 0)
}

// SetInheritanceIn is SetInheritanceBy in event ev when not 0 (a change
// made with others in one event, as createTag's parent link in Koji).
func (s *Store) SetInheritanceIn(ctx context.Context, tagID int64, links []InheritanceLink, user, ev int64) (event int64, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		cur, err := tx.GetInheritance(ctx, tagID, nil)
		if err != nil {
			return err
		}
		want := map[int64]InheritanceLink{}
		for _, l := range links {
			want[l.ParentID] = l
		}
		have := map[int64]InheritanceLink{}
		for _, l := range cur {
			have[l.ParentID] = l
		}
		var revoke []int64
		var add []InheritanceLink
		for pid, l := range have {
			if w, ok := want[pid]; !ok || !sameLink(l, w) {
				revoke = append(revoke, pid)
			}
		}
		for pid, w := range want {
			if l, ok := have[pid]; !ok || !sameLink(l, w) {
				add = append(add, w)
			}
		}
		if len(revoke) == 0 && len(add) == 0 {
			return nil
		}
		event = ev
		if event == 0 {
			if event, err = tx.NewEvent(ctx); err != nil {
				return err
			}
		}
		for _, pid := range revoke {
			if _, err := tx.exec(ctx, "UPDATE tag_inheritance SET revoke_event = ?, revoker_id = ? WHERE tag_id = ? AND parent_id = ? AND revoke_event IS NULL", event, by(user), tagID, pid); err != nil {
				return fmt.Errorf("set inheritance of tag %d: %w", tagID, err)
			}
		}
		for _, l := range add {
			if _, err := tx.exec(ctx, `INSERT INTO tag_inheritance (tag_id, parent_id, priority, maxdepth, intransitive, noconfig, pkg_filter, create_event, creator_id)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, tagID, l.ParentID, l.Priority, l.MaxDepth, l.Intransitive, l.NoConfig, l.PkgFilter, event, by(user)); err != nil {
				return fmt.Errorf("set inheritance of tag %d: %w", tagID, err)
			}
		}
		return nil
	})
	return event, err
}

func sameLink(a, b InheritanceLink) bool {
	md := func(p *int64) int64 {
		if p == nil {
			return -1
		}
		return *p
	}
	return a.Priority == b.Priority && md(a.MaxDepth) == md(b.MaxDepth) && a.Intransitive == b.Intransitive &&
		a.NoConfig == b.NoConfig && a.PkgFilter == b.PkgFilter
}

// Package is a row of packages.
type Package struct {
	ID   int64
	Name string
}

// GetPackage reads a package by id.
func (s *Store) GetPackage(ctx context.Context, id int64) (Package, error) {
	var p Package
	err := s.queryRow(ctx, "SELECT id, name FROM packages WHERE id = ?", id).Scan(&p.ID, &p.Name)
	return p, mapErr(err)
}

// GetPackageByName reads a package by name.
func (s *Store) GetPackageByName(ctx context.Context, name string) (Package, error) {
	var p Package
	err := s.queryRow(ctx, "SELECT id, name FROM packages WHERE name = ?", name).Scan(&p.ID, &p.Name)
	return p, mapErr(err)
}

// ListPackages returns all packages whose name starts with prefix, by id.
func (s *Store) ListPackages(ctx context.Context, prefix string) ([]Package, error) {
	q := "SELECT id, name FROM packages"
	var args []any
	if prefix != "" {
		q += " WHERE name LIKE ? ESCAPE '\\'"
		args = append(args, likeEscape(prefix)+"%")
	}
	var out []Package
	// by id: Koji's listPackages has no ORDER BY, PostgreSQL returns
	// packages in the order they were created
	err := scanAll(s.query(ctx, q+" ORDER BY id", args...))(func(r *sql.Rows) error {
		var p Package
		err := r.Scan(&p.ID, &p.Name)
		out = append(out, p)
		return err
	})
	return out, err
}

// EnsurePackage returns the id of the package name, creating it if needed.
func (s *Store) EnsurePackage(ctx context.Context, name string) (int64, error) {
	var id int64
	err := s.WithTx(ctx, func(tx *Store) error {
		p, err := tx.GetPackageByName(ctx, name)
		if err == nil {
			id = p.ID
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		id, err = tx.insertID(ctx, "INSERT INTO packages (name) VALUES (?)", name)
		if err != nil {
			return fmt.Errorf("create package %q: %w", name, err)
		}
		return nil
	})
	return id, err
}

// TagPackage is a package's entry in a tag's package list.
type TagPackage struct {
	TagID       int64
	TagName     string
	PackageID   int64
	PackageName string
	OwnerID     int64
	OwnerName   string
	Blocked     bool
	ExtraArches *string
	MinDiskMB   *int64
	MinMemMB    *int64
	CreateEvent int64
	By          int64 // SetTagPackage: the user recorded as creator and revoker; 0 nobody
}

const tagPkgSelect = `SELECT tp.tag_id, t.name, tp.package_id, p.name, tp.owner, u.name, tp.blocked, tp.extra_arches, tp.min_disk_mb, tp.min_mem_mb, tp.create_event
	FROM tag_packages tp JOIN tags t ON t.id = tp.tag_id JOIN packages p ON p.id = tp.package_id JOIN users u ON u.id = tp.owner WHERE `

func scanTagPackages(rows *sql.Rows, err error) ([]TagPackage, error) {
	var out []TagPackage
	err = scanAll(rows, err)(func(r *sql.Rows) error {
		var x TagPackage
		var arches sql.NullString
		var disk, mem sql.NullInt64
		err := r.Scan(&x.TagID, &x.TagName, &x.PackageID, &x.PackageName, &x.OwnerID, &x.OwnerName, &x.Blocked, &arches, &disk, &mem, &x.CreateEvent)
		x.ExtraArches, x.MinDiskMB, x.MinMemMB = nullString(arches), nullInt(disk), nullInt(mem)
		out = append(out, x)
		return err
	})
	return out, err
}

// TagPackageFilter selects package list entries; zero fields match everything.
type TagPackageFilter struct {
	TagIDs    []int64
	PackageID *int64
	OwnerID   *int64
	Prefix    string
	Event     *int64
	// ByChange orders entries by the event that wrote them, as Koji's
	// listPackages returns them (its rows in the order PostgreSQL wrote
	// them: no ORDER BY), instead of by tag and package name.
	ByChange bool
}

// ListTagPackages returns the direct package list entries, by tag then package name.
func (s *Store) ListTagPackages(ctx context.Context, f TagPackageFilter) ([]TagPackage, error) {
	cond, args := activeAt("tp", f.Event)
	q := tagPkgSelect + cond
	if len(f.TagIDs) > 0 {
		q += " AND tp.tag_id IN (" + placeholders(len(f.TagIDs)) + ")"
		args = append(args, int64Args(f.TagIDs)...)
	}
	if f.PackageID != nil {
		q += " AND tp.package_id = ?"
		args = append(args, *f.PackageID)
	}
	if f.OwnerID != nil {
		q += " AND tp.owner = ?"
		args = append(args, *f.OwnerID)
	}
	if f.Prefix != "" {
		q += " AND p.name LIKE ? ESCAPE '\\'"
		args = append(args, likeEscape(f.Prefix)+"%")
	}
	order := " ORDER BY tp.tag_id, p.name"
	if f.ByChange {
		order = " ORDER BY tp.create_event, tp.package_id"
	}
	return scanTagPackages(s.query(ctx, q+order, args...))
}

// likeEscape escapes LIKE's wildcards with a backslash.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// GetTagPackage reads a tag's direct entry for a package.
func (s *Store) GetTagPackage(ctx context.Context, tagID, pkgID int64) (TagPackage, error) {
	l, err := s.ListTagPackages(ctx, TagPackageFilter{TagIDs: []int64{tagID}, PackageID: &pkgID})
	if err != nil {
		return TagPackage{}, err
	}
	if len(l) == 0 {
		return TagPackage{}, ErrNotFound
	}
	return l[0], nil
}

// SetTagPackage makes x the tag's entry for the package under a new event
// (revoking the previous entry) and returns the event.
func (s *Store) SetTagPackage(ctx context.Context, x TagPackage) (event int64, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		if event, err = tx.NewEvent(ctx); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "UPDATE tag_packages SET revoke_event = ?, revoker_id = ? WHERE tag_id = ? AND package_id = ? AND revoke_event IS NULL", event, by(x.By), x.TagID, x.PackageID); err != nil {
			return fmt.Errorf("package list of tag %d: %w", x.TagID, err)
		}
		if _, err := tx.exec(ctx, `INSERT INTO tag_packages (tag_id, package_id, owner, blocked, extra_arches, min_disk_mb, min_mem_mb, create_event, creator_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, x.TagID, x.PackageID, x.OwnerID, x.Blocked, x.ExtraArches, x.MinDiskMB, x.MinMemMB, event, by(x.By)); err != nil {
			return fmt.Errorf("package list of tag %d: %w", x.TagID, err)
		}
		return nil
	})
	return event, err
}

// RemoveTagPackage revokes a tag's direct entry for a package under a new event.
func (s *Store) RemoveTagPackage(ctx context.Context, tagID, pkgID int64) (event int64, err error) {
	return s.RemoveTagPackageBy(ctx, tagID, pkgID, 0)
}

// RemoveTagPackageBy is RemoveTagPackage recording user (0: nobody) as the revoker.
func (s *Store) RemoveTagPackageBy(ctx context.Context, tagID, pkgID, user int64) (event int64, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		if event, err = tx.NewEvent(ctx); err != nil {
			return err
		}
		n, err := tx.execN(ctx, "UPDATE tag_packages SET revoke_event = ?, revoker_id = ? WHERE tag_id = ? AND package_id = ? AND revoke_event IS NULL", event, by(user), tagID, pkgID)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("package %d in tag %d: %w", pkgID, tagID, ErrNotFound)
		}
		return nil
	})
	return event, err
}

// Target is a build target: where builds take their buildroot from and
// where they land.
type Target struct {
	ID           int64
	Name         string
	BuildTagID   int64
	BuildTagName string
	DestTagID    int64
	DestTagName  string
}

const targetSelect = `SELECT bt.id, bt.name, bt.build_tag, b.name, bt.dest_tag, d.name
	FROM build_targets bt JOIN tags b ON b.id = bt.build_tag JOIN tags d ON d.id = bt.dest_tag WHERE 1=1`

// TargetFilter selects targets; zero fields match everything.
type TargetFilter struct {
	ID         *int64
	Name       *string
	BuildTagID *int64
	DestTagID  *int64
}

// ListTargets returns build targets by name.
func (s *Store) ListTargets(ctx context.Context, f TargetFilter) ([]Target, error) {
	q := targetSelect
	var args []any
	for _, c := range []struct {
		col string
		v   any
		ok  bool
	}{{"bt.id", f.ID, f.ID != nil}, {"bt.name", f.Name, f.Name != nil}, {"bt.build_tag", f.BuildTagID, f.BuildTagID != nil}, {"bt.dest_tag", f.DestTagID, f.DestTagID != nil}} {
		if c.ok {
			q += " AND " + c.col + " = ?"
			switch v := c.v.(type) {
			case *int64:
				args = append(args, *v)
			case *string:
				args = append(args, *v)
			}
		}
	}
	var out []Target
	err := scanAll(s.query(ctx, q+" ORDER BY bt.name", args...))(func(r *sql.Rows) error {
		var t Target
		err := r.Scan(&t.ID, &t.Name, &t.BuildTagID, &t.BuildTagName, &t.DestTagID, &t.DestTagName)
		out = append(out, t)
		return err
	})
	return out, err
}

func (s *Store) oneTarget(ctx context.Context, f TargetFilter) (Target, error) {
	l, err := s.ListTargets(ctx, f)
	if err != nil {
		return Target{}, err
	}
	if len(l) == 0 {
		return Target{}, ErrNotFound
	}
	return l[0], nil
}

// GetTarget reads a target by id.
func (s *Store) GetTarget(ctx context.Context, id int64) (Target, error) {
	return s.oneTarget(ctx, TargetFilter{ID: &id})
}

// GetTargetByName reads a target by name.
func (s *Store) GetTargetByName(ctx context.Context, name string) (Target, error) {
	return s.oneTarget(ctx, TargetFilter{Name: &name})
}

// CreateTarget inserts a target under a new event and returns its id.
func (s *Store) CreateTarget(ctx context.Context, name string, buildTag, destTag int64) (id int64, err error) {
	return s.CreateTargetBy(ctx, name, buildTag, destTag, 0)
}

// CreateTargetBy is CreateTarget recording user (0: nobody) as the creator.
func (s *Store) CreateTargetBy(ctx context.Context, name string, buildTag, destTag, user int64) (id int64, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		ev, err := tx.NewEvent(ctx)
		if err != nil {
			return err
		}
		id, err = tx.insertID(ctx, "INSERT INTO build_targets (name, build_tag, dest_tag) VALUES (?, ?, ?)", name, buildTag, destTag)
		if err != nil {
			return fmt.Errorf("create target %q: %w", name, err)
		}
		return tx.insertTargetConfig(ctx, id, name, buildTag, destTag, ev, user)
	})
	return id, err
}

func (s *Store) insertTargetConfig(ctx context.Context, id int64, name string, buildTag, destTag, event, user int64) error {
	_, err := s.exec(ctx, "INSERT INTO build_target_config (build_target_id, name, build_tag, dest_tag, create_event, creator_id) VALUES (?, ?, ?, ?, ?, ?)",
		id, name, buildTag, destTag, event, by(user))
	if err != nil {
		return fmt.Errorf("target %d: config: %w", id, err)
	}
	return nil
}

func (s *Store) revokeTargetConfig(ctx context.Context, id, event, user int64) error {
	_, err := s.exec(ctx, "UPDATE build_target_config SET revoke_event = ?, revoker_id = ? WHERE build_target_id = ? AND revoke_event IS NULL", event, by(user), id)
	if err != nil {
		return fmt.Errorf("target %d: config: %w", id, err)
	}
	return nil
}

// EditTarget renames a target and sets its tags under a new event.
func (s *Store) EditTarget(ctx context.Context, id int64, name string, buildTag, destTag int64) error {
	return s.EditTargetBy(ctx, id, name, buildTag, destTag, 0)
}

// EditTargetBy is EditTarget recording user (0: nobody) as the creator and revoker.
func (s *Store) EditTargetBy(ctx context.Context, id int64, name string, buildTag, destTag, user int64) error {
	return s.WithTx(ctx, func(tx *Store) error {
		ev, err := tx.NewEvent(ctx)
		if err != nil {
			return err
		}
		n, err := tx.execN(ctx, "UPDATE build_targets SET name = ?, build_tag = ?, dest_tag = ? WHERE id = ?", name, buildTag, destTag, id)
		if err != nil {
			return fmt.Errorf("edit target %d: %w", id, err)
		}
		if n == 0 {
			return fmt.Errorf("edit target %d: %w", id, ErrNotFound)
		}
		if err := tx.revokeTargetConfig(ctx, id, ev, user); err != nil {
			return err
		}
		return tx.insertTargetConfig(ctx, id, name, buildTag, destTag, ev, user)
	})
}

// DeleteTarget removes a target under a new event.
func (s *Store) DeleteTarget(ctx context.Context, id int64) error {
	return s.DeleteTargetBy(ctx, id, 0)
}

// DeleteTargetBy is DeleteTarget recording user (0: nobody) as the revoker.
func (s *Store) DeleteTargetBy(ctx context.Context, id, user int64) error {
	return s.WithTx(ctx, func(tx *Store) error {
		ev, err := tx.NewEvent(ctx)
		if err != nil {
			return err
		}
		n, err := tx.execN(ctx, "DELETE FROM build_targets WHERE id = ?", id)
		if err != nil {
			return fmt.Errorf("delete target %d: %w", id, err)
		}
		if n == 0 {
			return fmt.Errorf("delete target %d: %w", id, ErrNotFound)
		}
		return tx.revokeTargetConfig(ctx, id, ev, user)
	})
}
