package db

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// History: Koji keeps the configuration of tags, targets, package lists,
// groups and external repos in versioned tables, where a row is in effect
// from its create_event until its revoke_event and records who made it and
// who ended it. queryHistory lists those rows; event= reads pick the rows
// in effect at an event. This file has the rows of tag_config, tag_extra and
// build_target_config (migration 11) and the history query over all of them;
// host_config, host_channels and user_perms (migration 15) are written with
// the hosts and permissions they version.

// insertTagConfig records the tag's current arches, permission and lock as
// a new tag_config row.
func (s *Store) insertTagConfig(ctx context.Context, tagID, event, user int64) error {
	_, err := s.exec(ctx, `INSERT INTO tag_config (tag_id, arches, perm_id, locked, create_event, creator_id)
		SELECT id, arches, perm_id, locked, ?, ? FROM tags WHERE id = ?`, event, by(user), tagID)
	if err != nil {
		return fmt.Errorf("tag %d: config: %w", tagID, err)
	}
	return nil
}

// setTagExtra inserts a tag_extra row: value is the JSON text of the value,
// nil for a blocked key.
func (s *Store) setTagExtra(ctx context.Context, tagID int64, key string, value *string, event, user int64) error {
	_, err := s.exec(ctx, "INSERT INTO tag_extra (tag_id, key, value, create_event, creator_id) VALUES (?, ?, ?, ?, ?)",
		tagID, key, value, event, by(user))
	if err != nil {
		return fmt.Errorf("tag %d: extra %q: %w", tagID, key, err)
	}
	return nil
}

// revokeTagRows revokes the active rows of tag_config or tag_extra (key,
// when not empty) of a tag.
func (s *Store) revokeTagRows(ctx context.Context, table string, tagID int64, key string, event, user int64) error {
	q := "UPDATE " + table + " SET revoke_event = ?, revoker_id = ? WHERE tag_id = ? AND revoke_event IS NULL"
	args := []any{event, by(user), tagID}
	if key != "" {
		q += " AND key = ?"
		args = append(args, key)
	}
	if _, err := s.exec(ctx, q, args...); err != nil {
		return fmt.Errorf("tag %d: %s: %w", tagID, table, err)
	}
	return nil
}

// extraValues splits a tag's extra (a JSON object) into the JSON text of
// each value, as Koji's tag_extra stores them (Python's json.dumps).
func extraValues(js string) (map[string]string, error) {
	if js == "" {
		return nil, nil
	}
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(js))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("extra: %w", err)
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = PyJSON(v)
	}
	return out, nil
}

// PyJSON renders a decoded JSON value as Python's json.dumps does (", " and
// ": " separators, non-ASCII escaped); object keys are sorted.
func PyJSON(v any) string {
	var b strings.Builder
	writePyJSON(&b, v)
	return b.String()
}

func writePyJSON(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		b.WriteString(x.String())
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case float64:
		b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	case string:
		writePyString(b, x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writePyJSON(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b.WriteString(", ")
			}
			writePyString(b, k)
			b.WriteString(": ")
			writePyJSON(b, x[k])
		}
		b.WriteByte('}')
	default:
		j, _ := json.Marshal(x)
		b.Write(j)
	}
}

// writePyString quotes s as json.dumps with ensure_ascii.
func writePyString(b *strings.Builder, s string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	q := strings.TrimSuffix(buf.String(), "\n")
	for _, r := range q {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case r < 0x10000:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			r -= 0x10000
			fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TagAt reads a tag's configuration (arches, permission, lock) as of event
// ev, from tag_config; ErrNotFound when the tag had none then (not yet
// created, or deleted). The name is the tag's current one, as in Koji.
func (s *Store) TagAt(ctx context.Context, id, ev int64) (Tag, error) {
	cond, args := activeAt("c", &ev)
	q := `SELECT t.id, t.name, c.arches, c.perm_id, p.name, c.locked, t.extra, t.create_event, t.deleted
		FROM tag_config c JOIN tags t ON t.id = c.tag_id LEFT JOIN permissions p ON p.id = c.perm_id WHERE ` + cond + " AND c.tag_id = ?"
	t, err := scanTag(s.queryRow(ctx, q, append(args, id)...))
	if err != nil {
		return t, err
	}
	t.Name = liveTagName(t.Name)
	return t, nil
}

// TagExtra returns a tag's own extra as of event ev (now when nil): the
// JSON text of each value, nil for a key blocked from inheritance.
func (s *Store) TagExtra(ctx context.Context, tagID int64, ev *int64) (map[string]*string, error) {
	cond, args := activeAt("x", ev)
	out := map[string]*string{}
	err := scanAll(s.query(ctx, "SELECT x.key, x.value FROM tag_extra x WHERE "+cond+" AND x.tag_id = ?", append(args, tagID)...))(func(r *sql.Rows) error {
		var k string
		var v sql.NullString
		if err := r.Scan(&k, &v); err != nil {
			return err
		}
		out[k] = nullString(v)
		return nil
	})
	return out, err
}

// ListTargetsAt is ListTargets as of event ev, from build_target_config
// (a target's name is the one it had then).
func (s *Store) ListTargetsAt(ctx context.Context, f TargetFilter, ev int64) ([]Target, error) {
	cond, args := activeAt("c", &ev)
	q := `SELECT c.build_target_id, c.name, c.build_tag, b.name, c.dest_tag, d.name
		FROM build_target_config c JOIN tags b ON b.id = c.build_tag JOIN tags d ON d.id = c.dest_tag WHERE ` + cond
	if f.ID != nil {
		q += " AND c.build_target_id = ?"
		args = append(args, *f.ID)
	}
	if f.Name != nil {
		q += " AND c.name = ?"
		args = append(args, *f.Name)
	}
	if f.BuildTagID != nil {
		q += " AND c.build_tag = ?"
		args = append(args, *f.BuildTagID)
	}
	if f.DestTagID != nil {
		q += " AND c.dest_tag = ?"
		args = append(args, *f.DestTagID)
	}
	var out []Target
	err := scanAll(s.query(ctx, q+" ORDER BY c.name", args...))(func(r *sql.Rows) error {
		var t Target
		err := r.Scan(&t.ID, &t.Name, &t.BuildTagID, &t.BuildTagName, &t.DestTagID, &t.DestTagName)
		t.BuildTagName, t.DestTagName = liveTagName(t.BuildTagName), liveTagName(t.DestTagName)
		out = append(out, t)
		return err
	})
	return out, err
}

var deletedSuffix = regexp.MustCompile(`#deleted-[0-9]+$`)

// liveTagName is a tag's name without the suffix DeleteTag gives it.
func liveTagName(n string) string { return deletedSuffix.ReplaceAllString(n, "") }

// HistoryFilter selects the rows of QueryHistory, as Koji's query_history
// keywords; nil fields match everything. The entity filters hold ids.
type HistoryFilter struct {
	Tag, Build, Package, User, Permission, ExternalRepo, BuildTarget, Group *int64
	Host, Channel, CG                                                       *int64
	GroupPackage                                                            *string // group_package_listing's package (an rpm name)
	XKey                                                                    *string
	Active                                                                  *bool
	Editor                                                                  *int64
	Before, After                                                           *float64 // times, seconds since the epoch
	BeforeEvent, AfterEvent                                                 *int64
}

// histCol is a column of a history row: its SQL, its key in the row, and how
// to scan it: i int, s string, t tag name, b bool, f float, j JSON text.
type histCol struct {
	sql, key string
	kind     byte
}

// histTable is how a Koji history table is read here.
type histTable struct {
	from    string // the table, as x, and its joins
	create  string // SQL of create_event, creator and create time
	creator string
	ctime   string
	revoke  string // SQL of revoke_event and revoker; NULL when never revoked
	revoker string
	cols    []histCol
	// filters maps a HistoryFilter entity (tag, build, ...) to the SQL it
	// tests, as Koji's joins make it; a table without the entity is skipped
	// when the filter is given.
	filters map[string]string
	// merge, for the tables kojigo keeps in tag_packages: a row that only
	// continues the previous one of its tag and package (revoked in the
	// event it was created, with the same values of these keys) is one row
	// with it, as Koji keeps tag_packages and tag_package_owners apart.
	merge []string
}

func versioned(table string, cols []histCol, joins string, filters map[string]string) histTable {
	return histTable{from: table + " x" + joins, create: "x.create_event", creator: "x.creator_id", ctime: "ev1.time",
		revoke: "x.revoke_event", revoker: "x.revoker_id", cols: cols, filters: filters}
}

func merged(keys []string, table string, cols []histCol, joins string, filters map[string]string) histTable {
	ht := versioned(table, cols, joins, filters)
	ht.merge = keys
	return ht
}

// historyTables are Koji's history tables (query_history's table_fields),
// by name. Read only.
var historyTables = map[string]histTable{
	"user_perms": versioned("user_perms", []histCol{{"x.user_id", "user_id", 'i'}, {"x.perm_id", "perm_id", 'i'}, {"u.name", "user.name", 's'}, {"p.name", "permission.name", 's'}},
		" LEFT JOIN users u ON u.id = x.user_id LEFT JOIN permissions p ON p.id = x.perm_id", map[string]string{"user": "u.id", "permission": "p.id"}),
	// Koji joins the group as users too, last: its user filter tests the group
	"user_groups": versioned("user_groups", []histCol{{"x.user_id", "user_id", 'i'}, {"x.group_id", "group_id", 'i'}, {"u.name", "user.name", 's'}, {"g.name", "group.name", 's'}},
		" LEFT JOIN users u ON u.id = x.user_id JOIN users g ON g.id = x.group_id", map[string]string{"user": "g.id"}),
	"cg_users": versioned("cg_users", []histCol{{"x.user_id", "user_id", 'i'}, {"x.cg_id", "cg_id", 'i'}, {"u.name", "user.name", 's'}, {"cg.name", "content_generator.name", 's'}},
		" LEFT JOIN users u ON u.id = x.user_id LEFT JOIN content_generators cg ON cg.id = x.cg_id", map[string]string{"user": "u.id", "cg": "cg.id"}),
	"tag_inheritance": versioned("tag_inheritance", []histCol{{"x.tag_id", "tag_id", 'i'}, {"x.parent_id", "parent_id", 'i'}, {"x.priority", "priority", 'i'},
		{"x.maxdepth", "maxdepth", 'i'}, {"x.intransitive", "intransitive", 'b'}, {"x.noconfig", "noconfig", 'b'}, {"x.pkg_filter", "pkg_filter", 's'},
		{"t.name", "tag.name", 't'}, {"pt.name", "parent.name", 't'}},
		" LEFT JOIN tags t ON t.id = x.tag_id LEFT JOIN tags pt ON pt.id = x.parent_id", map[string]string{"tag": "x.tag_id = ? OR x.parent_id"}),
	"tag_config": versioned("tag_config", []histCol{{"x.tag_id", "tag_id", 'i'}, {"x.arches", "arches", 's'}, {"x.perm_id", "perm_id", 'i'}, {"x.locked", "locked", 'b'},
		{"x.maven_support", "maven_support", 'b'}, {"x.maven_include_all", "maven_include_all", 'b'}, {"t.name", "tag.name", 't'}, {"p.name", "permission.name", 's'}},
		" LEFT JOIN tags t ON t.id = x.tag_id LEFT JOIN permissions p ON p.id = x.perm_id", map[string]string{"tag": "t.id", "permission": "p.id"}),
	"tag_extra": versioned("tag_extra", []histCol{{"x.tag_id", "tag_id", 'i'}, {"x.key", "key", 's'}, {"x.value", "value", 's'}, {"t.name", "tag.name", 't'}},
		" LEFT JOIN tags t ON t.id = x.tag_id", map[string]string{"tag": "t.id", "xkey": "x.key"}),
	// Koji joins dest_tag last as "tag": its tag filter tests the destination
	"build_target_config": versioned("build_target_config", []histCol{{"x.build_target_id", "build_target_id", 'i'}, {"x.build_tag", "build_tag", 'i'},
		{"x.dest_tag", "dest_tag", 'i'}, {"x.name", "build_target.name", 's'}, {"bt.name", "build_tag.name", 't'}, {"dt.name", "dest_tag.name", 't'}},
		" LEFT JOIN tags bt ON bt.id = x.build_tag LEFT JOIN tags dt ON dt.id = x.dest_tag", map[string]string{"tag": "dt.id", "build_target": "x.build_target_id"}),
	"external_repo_config": versioned("external_repo_config", []histCol{{"x.external_repo_id", "external_repo_id", 'i'}, {"x.url", "url", 's'}, {"r.name", "external_repo.name", 's'}},
		" LEFT JOIN external_repos r ON r.id = x.external_repo_id", map[string]string{"external_repo": "r.id"}),
	"external_repo_data": versioned("external_repo_data", []histCol{{"x.external_repo_id", "external_repo_id", 'i'}, {"x.data", "data", 'j'}, {"r.name", "external_repo.name", 's'}},
		" LEFT JOIN external_repos r ON r.id = x.external_repo_id", map[string]string{"external_repo": "r.id"}),
	"host_config": versioned("host_config", []histCol{{"x.host_id", "host_id", 'i'}, {"x.arches", "arches", 's'}, {"x.capacity", "capacity", 'f'},
		{"x.description", "description", 's'}, {"x.comment", "comment", 's'}, {"x.enabled", "enabled", 'b'}, {"h.name", "host.name", 's'}},
		" LEFT JOIN hosts h ON h.id = x.host_id", map[string]string{"host": "h.id"}),
	"host_channels": versioned("host_channels", []histCol{{"x.host_id", "host_id", 'i'}, {"x.channel_id", "channel_id", 'i'}, {"h.name", "host.name", 's'}, {"ch.name", "channels.name", 's'}},
		" LEFT JOIN hosts h ON h.id = x.host_id LEFT JOIN channels ch ON ch.id = x.channel_id", map[string]string{"host": "h.id", "channel": "ch.id"}),
	"tag_external_repos": versioned("tag_external_repos", []histCol{{"x.tag_id", "tag_id", 'i'}, {"x.external_repo_id", "external_repo_id", 'i'}, {"x.priority", "priority", 'i'},
		{"x.merge_mode", "merge_mode", 's'}, {"x.arches", "arches", 's'}, {"t.name", "tag.name", 't'}, {"r.name", "external_repo.name", 's'}},
		" LEFT JOIN tags t ON t.id = x.tag_id LEFT JOIN external_repos r ON r.id = x.external_repo_id", map[string]string{"tag": "t.id", "external_repo": "r.id"}),
	"tag_listing": {
		from:   "tag_listing x LEFT JOIN tags t ON t.id = x.tag_id JOIN builds b ON b.id = x.build_id JOIN packages pk ON pk.id = b.pkg_id",
		create: "x.create_event", creator: "x.creator", ctime: "ev1.time", revoke: "x.revoke_event", revoker: "x.revoker_id",
		cols: []histCol{{"x.build_id", "build_id", 'i'}, {"x.tag_id", "tag_id", 'i'}, {"t.name", "tag.name", 't'}, {"pk.name", "name", 's'}, {"b.version", "version", 's'},
			{"b.release", "release", 's'}, {"b.epoch", "epoch", 'i'}, {"b.state", "build.state", 'i'}},
		filters: map[string]string{"tag": "t.id", "build": "b.id", "package": "pk.id"},
	},
	"tag_packages": merged([]string{"blocked", "extra_arches"}, "tag_packages", []histCol{{"x.package_id", "package_id", 'i'}, {"x.tag_id", "tag_id", 'i'}, {"x.blocked", "blocked", 'b'},
		{"x.extra_arches", "extra_arches", 's'}, {"pk.name", "package.name", 's'}, {"t.name", "tag.name", 't'}},
		" LEFT JOIN packages pk ON pk.id = x.package_id LEFT JOIN tags t ON t.id = x.tag_id", map[string]string{"tag": "t.id", "package": "pk.id"}),
	// kojigo keeps the owner in tag_packages: each of its rows is an owner row too
	"tag_package_owners": merged([]string{"owner"}, "tag_packages", []histCol{{"x.package_id", "package_id", 'i'}, {"x.tag_id", "tag_id", 'i'}, {"x.owner", "owner", 'i'},
		{"pk.name", "package.name", 's'}, {"t.name", "tag.name", 't'}, {"o.name", "owner.name", 's'}},
		" LEFT JOIN packages pk ON pk.id = x.package_id LEFT JOIN tags t ON t.id = x.tag_id LEFT JOIN users o ON o.id = x.owner",
		map[string]string{"tag": "t.id", "package": "pk.id", "user": "o.id"}),
	"group_config": versioned("group_config", []histCol{{"x.group_id", "group_id", 'i'}, {"x.tag_id", "tag_id", 'i'}, {"x.blocked", "blocked", 'b'}, {"x.exported", "exported", 'b'},
		{"x.display_name", "display_name", 's'}, {"x.is_default", "is_default", 'b'}, {"x.uservisible", "uservisible", 'b'}, {"x.description", "description", 's'},
		{"x.langonly", "langonly", 's'}, {"x.biarchonly", "biarchonly", 'b'}, {"g.name", "group.name", 's'}, {"t.name", "tag.name", 't'}},
		" JOIN groups g ON g.id = x.group_id LEFT JOIN tags t ON t.id = x.tag_id", map[string]string{"tag": "t.id", "group": "g.id"}),
	// Koji joins req last as "groups": its group filter tests the required group
	"group_req_listing": versioned("group_req_listing", []histCol{{"x.group_id", "group_id", 'i'}, {"x.tag_id", "tag_id", 'i'}, {"x.req_id", "req_id", 'i'},
		{"x.blocked", "blocked", 'b'}, {"x.type", "type", 's'}, {"x.is_metapkg", "is_metapkg", 'b'}, {"g.name", "group.name", 's'}, {"t.name", "tag.name", 't'}, {"rq.name", "req.name", 's'}},
		" JOIN groups g ON g.id = x.group_id LEFT JOIN tags t ON t.id = x.tag_id LEFT JOIN groups rq ON rq.id = x.req_id", map[string]string{"tag": "t.id", "group": "rq.id"}),
	"group_package_listing": versioned("group_package_listing", []histCol{{"x.group_id", "group_id", 'i'}, {"x.tag_id", "tag_id", 'i'}, {"x.package", "package", 's'},
		{"x.blocked", "blocked", 'b'}, {"x.type", "type", 's'}, {"x.basearchonly", "basearchonly", 'b'}, {"x.requires", "requires", 's'}, {"g.name", "group.name", 's'}, {"t.name", "tag.name", 't'}},
		" JOIN groups g ON g.id = x.group_id LEFT JOIN tags t ON t.id = x.tag_id", map[string]string{"tag": "t.id", "group": "g.id", "group_package": "x.package"}),
}

// HistoryTableNames returns the names of Koji's history tables, sorted.
func HistoryTableNames() []string { return sortedKeys(historyTables) }

// IsHistoryTable reports whether name is one of Koji's history tables.
func IsHistoryTable(name string) bool {
	_, ok := historyTables[name]
	return ok
}

// HistoryApplies reports whether table answers the entity filters given
// (Koji skips a table a filter does not apply to).
func HistoryApplies(table string, entities []string) bool {
	ht, ok := historyTables[table]
	if !ok {
		return false
	}
	for _, e := range entities {
		if _, ok := ht.filters[e]; !ok {
			return false
		}
	}
	return true
}

// QueryHistory returns the rows of one history table that f selects, in
// the order of their last change (revoke, else create event), then of
// creation: the order in which PostgreSQL's sequential scan returns Koji's
// rows, an update writing the row anew at the end. Each row has Koji's
// fields: the table's columns, the joined names, create_event, create_ts,
// creator_id, creator_name, revoke_event, revoke_ts, revoker_id,
// revoker_name and active (true or nil).
func (s *Store) QueryHistory(ctx context.Context, table string, f HistoryFilter) ([]map[string]any, error) {
	ht, ok := historyTables[table]
	if !ok {
		return nil, fmt.Errorf("history table %q: %w", table, ErrNotFound)
	}
	cols := append([]histCol{{ht.create, "create_event", 'i'}, {ht.revoke, "revoke_event", 'i'}, {ht.creator, "creator_id", 'i'}, {ht.revoker, "revoker_id", 'i'},
		{"cu.name", "creator_name", 's'}, {"ru.name", "revoker_name", 's'}, {ht.ctime, "create_ts", 'f'}, {"ev2.time", "revoke_ts", 'f'}}, ht.cols...)
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = c.sql
	}
	q := "SELECT " + strings.Join(sel, ", ") + " FROM " + ht.from +
		" LEFT JOIN events ev1 ON ev1.id = " + ht.create + " LEFT JOIN events ev2 ON ev2.id = " + ht.revoke +
		" LEFT JOIN users cu ON cu.id = " + ht.creator + " LEFT JOIN users ru ON ru.id = " + ht.revoker + " WHERE 1=1"
	var args []any
	ent := func(name string, v *int64) {
		if v == nil {
			return
		}
		col := ht.filters[name]
		q += " AND (" + col + " = ?)"
		args = append(args, *v)
		if strings.Contains(col, "?") {
			args = append(args, *v)
		}
	}
	ent("tag", f.Tag)
	ent("build", f.Build)
	ent("package", f.Package)
	ent("user", f.User)
	ent("permission", f.Permission)
	ent("external_repo", f.ExternalRepo)
	ent("build_target", f.BuildTarget)
	ent("group", f.Group)
	ent("cg", f.CG)
	ent("host", f.Host)
	ent("channel", f.Channel)
	if f.GroupPackage != nil {
		q += " AND " + ht.filters["group_package"] + " = ?"
		args = append(args, *f.GroupPackage)
	}
	if f.XKey != nil {
		q += " AND " + ht.filters["xkey"] + " = ?"
		args = append(args, *f.XKey)
	}
	if ht.merge != nil {
		q += " ORDER BY x.tag_id, x.package_id, " + ht.create
		rows, err := s.historyRows(ctx, q, args, cols)
		if err != nil {
			return nil, err
		}
		return filterHistory(mergeHistory(rows, ht.merge), f), nil
	}
	if f.Active != nil {
		if *f.Active {
			q += " AND " + ht.revoke + " IS NULL"
		} else {
			q += " AND " + ht.revoke + " IS NOT NULL"
		}
	}
	if f.Editor != nil {
		q += " AND (" + ht.creator + " = ? OR " + ht.revoker + " = ?)"
		args = append(args, *f.Editor, *f.Editor)
	}
	if f.After != nil {
		q += " AND (" + ht.ctime + " > ? OR ev2.time > ?)"
		args = append(args, *f.After, *f.After)
	}
	if f.AfterEvent != nil {
		q += " AND (" + ht.create + " > ? OR " + ht.revoke + " > ?)"
		args = append(args, *f.AfterEvent, *f.AfterEvent)
	}
	if f.Before != nil {
		q += " AND (" + ht.ctime + " < ? OR ev2.time < ?)"
		args = append(args, *f.Before, *f.Before)
	}
	if f.BeforeEvent != nil {
		q += " AND (" + ht.create + " < ? OR " + ht.revoke + " < ?)"
		args = append(args, *f.BeforeEvent, *f.BeforeEvent)
	}
	q += " ORDER BY COALESCE(" + ht.revoke + ", " + ht.create + "), " + ht.create
	return s.historyRows(ctx, q, args, cols)
}

// historyRows runs a history query and scans its rows.
func (s *Store) historyRows(ctx context.Context, q string, args []any, cols []histCol) ([]map[string]any, error) {
	var out []map[string]any
	err := scanAll(s.query(ctx, q, args...))(func(r *sql.Rows) error {
		holders := make([]any, len(cols))
		for i, c := range cols {
			switch c.kind {
			case 'i':
				holders[i] = new(sql.NullInt64)
			case 'b':
				holders[i] = new(sql.NullBool)
			case 'f':
				holders[i] = new(sql.NullFloat64)
			default:
				holders[i] = new(sql.NullString)
			}
		}
		if err := r.Scan(holders...); err != nil {
			return err
		}
		row := make(map[string]any, len(cols)+1)
		for i, c := range cols {
			switch h := holders[i].(type) {
			case *sql.NullInt64:
				row[c.key] = nil
				if h.Valid {
					row[c.key] = h.Int64
				}
			case *sql.NullBool:
				row[c.key] = nil
				if h.Valid {
					row[c.key] = h.Bool
				}
			case *sql.NullFloat64:
				row[c.key] = nil
				if h.Valid {
					row[c.key] = h.Float64
				}
			case *sql.NullString:
				row[c.key] = nil
				if h.Valid {
					switch c.kind {
					case 't':
						row[c.key] = liveTagName(h.String)
					case 'j':
						var v any
						if json.Unmarshal([]byte(h.String), &v) == nil {
							row[c.key] = v
						}
					default:
						row[c.key] = h.String
					}
				}
			}
		}
		row["active"] = nil
		if row["revoke_event"] == nil {
			row["active"] = true
		}
		out = append(out, row)
		return nil
	})
	return out, err
}

// DeletedTag finds the newest deleted tag with this id or name and returns
// its id and the event that revoked its configuration (getTag's
// event='auto'); ErrNotFound when there is none.
func (s *Store) DeletedTag(ctx context.Context, info any) (id, revoked int64, err error) {
	q := `SELECT t.id, c.revoke_event FROM tags t JOIN tag_config c ON c.tag_id = t.id
		WHERE t.deleted AND c.revoke_event IS NOT NULL AND `
	var arg any
	switch x := info.(type) {
	case int64:
		q += "t.id = ?"
		arg = x
	case string:
		q += "t.name LIKE ? ESCAPE '\\'"
		arg = likeEscape(x) + "#deleted-%"
	default:
		return 0, 0, ErrNotFound
	}
	err = s.queryRow(ctx, q+" ORDER BY c.create_event DESC LIMIT 1", arg).Scan(&id, &revoked)
	return id, revoked, mapErr(err)
}

// ContentGeneratorID resolves a content generator's id or name;
// ErrNotFound when there is none.
func (s *Store) ContentGeneratorID(ctx context.Context, info any) (int64, error) {
	var id int64
	var err error
	switch x := info.(type) {
	case int64:
		err = s.queryRow(ctx, "SELECT id FROM content_generators WHERE id = ?", x).Scan(&id)
	case string:
		err = s.queryRow(ctx, "SELECT id FROM content_generators WHERE name = ?", x).Scan(&id)
	default:
		return 0, ErrNotFound
	}
	return id, mapErr(err)
}

// UntagBuildBy is UntagBuild recording user (0: nobody) as the revoker of
// the tag_listing row, as Koji's queryHistory shows it.
func (s *Store) UntagBuildBy(ctx context.Context, tagID, buildID, user int64) (event int64, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		if event, err = tx.UntagBuild(ctx, tagID, buildID); err != nil {
			return err
		}
		_, err := tx.exec(ctx, "UPDATE tag_listing SET revoker_id = ? WHERE tag_id = ? AND build_id = ? AND revoke_event = ?", by(user), tagID, buildID, event)
		return err
	})
	return event, err
}

// mergeHistory joins each row (ordered by tag, package and creation) with
// the ones that continue it unchanged in keys, and orders the result by
// last change, as QueryHistory.
func mergeHistory(rows []map[string]any, keys []string) []map[string]any {
	var out []map[string]any
	for _, r := range rows {
		if n := len(out); n > 0 {
			prev := out[n-1]
			same := prev["tag_id"] == r["tag_id"] && prev["package_id"] == r["package_id"] &&
				prev["revoke_event"] != nil && prev["revoke_event"] == r["create_event"]
			for _, k := range keys {
				same = same && prev[k] == r[k]
			}
			if same {
				for _, k := range []string{"revoke_event", "revoke_ts", "revoker_id", "revoker_name", "active"} {
					prev[k] = r[k]
				}
				continue
			}
		}
		out = append(out, r)
	}
	last := func(r map[string]any) (int64, int64) {
		c, _ := r["create_event"].(int64)
		if v, ok := r["revoke_event"].(int64); ok {
			return v, c
		}
		return c, c
	}
	sort.SliceStable(out, func(i, j int) bool {
		li, ci := last(out[i])
		lj, cj := last(out[j])
		if li != lj {
			return li < lj
		}
		return ci < cj
	})
	return out
}

// filterHistory applies f's window, active and editor filters to rows, as
// QueryHistory's SQL does.
func filterHistory(rows []map[string]any, f HistoryFilter) []map[string]any {
	num := func(v any) (float64, bool) {
		switch x := v.(type) {
		case int64:
			return float64(x), true
		case float64:
			return x, true
		}
		return 0, false
	}
	// either the create or the revoke side passes
	either := func(r map[string]any, ck, rk string, pass func(float64) bool) bool {
		c, okc := num(r[ck])
		v, okr := num(r[rk])
		return (okc && pass(c)) || (okr && pass(v))
	}
	var out []map[string]any
	for _, r := range rows {
		ok := true
		if f.Active != nil {
			ok = ok && (r["revoke_event"] == nil) == *f.Active
		}
		if f.Editor != nil {
			e := *f.Editor
			ok = ok && (r["creator_id"] == e || r["revoker_id"] == e)
		}
		if f.After != nil {
			ok = ok && either(r, "create_ts", "revoke_ts", func(x float64) bool { return x > *f.After })
		}
		if f.AfterEvent != nil {
			ok = ok && either(r, "create_event", "revoke_event", func(x float64) bool { return x > float64(*f.AfterEvent) })
		}
		if f.Before != nil {
			ok = ok && either(r, "create_ts", "revoke_ts", func(x float64) bool { return x < *f.Before })
		}
		if f.BeforeEvent != nil {
			ok = ok && either(r, "create_event", "revoke_event", func(x float64) bool { return x < float64(*f.BeforeEvent) })
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}
