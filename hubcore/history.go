package hubcore

import (
	"errors"
	"math"
	"strings"
	"time"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// history: queryHistory, Koji's view of its versioned tables (who changed
// which tag, target, package list, group or external repo, when). The
// event= reads of tags and targets are in tags.go.

func historyMethods() []method {
	return []method{
		{name: "queryHistory", argdesc: "(tables=None, **kwargs)", fn: mQueryHistory},
	}
}

// historyEntities are query_history's filters that name a thing: a table
// that does not join the thing is left out of the answer.
var historyEntities = []string{"tag", "build", "package", "user", "permission", "external_repo", "build_target", "group", "host", "channel", "cg"}

// maxHistoryTables bounds the tables argument.
const maxHistoryTables = 100

// queryHistory(tables=None, **kwargs): a struct of table name to the rows
// of that history table the keywords select (tag, build, package, user,
// permission, external_repo, build_target, group, host, channel, cg, xkey,
// active, editor, before, after, beforeEvent, afterEvent, queryOpts).
// Tables a filter does not apply to are left out, as in Koji; unknown
// keywords are ignored, as in Koji.
func mQueryHistory(c *call, a *kojixml.Args) (any, error) {
	tablesArg := a.OptAny(0, "tables", nil)
	kw := a.RestKwargs()
	if err := a.Done(); err != nil {
		return nil, err
	}
	var tables []string
	switch x := tablesArg.(type) {
	case nil:
		tables = db.HistoryTableNames()
	case []any:
		if len(x) > maxHistoryTables {
			return nil, paramErr("tables: %d names exceeds the limit of %d", len(x), maxHistoryTables)
		}
		for _, v := range x {
			s, ok := v.(string)
			if !ok || !db.IsHistoryTable(s) {
				return nil, genericErr("No such history table: %s", pyStr(v))
			}
			tables = append(tables, s)
		}
	case string:
		// Koji iterates a string's characters: no table is one character long
		if x == "" {
			return map[string]any{}, nil
		}
		return nil, genericErr("No such history table: %s", string([]rune(x)[0]))
	default:
		return nil, paramErr("tables: expected a list of table names, got %T", tablesArg)
	}
	var qo map[string]any
	if v, ok := kw["queryOpts"]; ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, paramErr("queryOpts: expected a struct, got %T", v)
		}
		qo = m
	}
	h := c.hub
	var f db.HistoryFilter
	var entities []string
	for _, e := range historyEntities {
		if _, ok := kw[e]; ok {
			entities = append(entities, e)
		}
	}
	// filters that name a thing are resolved when a table needs them, as
	// Koji does: a bad name is a fault only if some table applies.
	resolved := false
	resolve := func() error {
		if resolved {
			return nil
		}
		resolved = true
		for _, e := range entities {
			v := kw[e]
			id, err := h.historyEntity(c, e, v)
			if err != nil {
				return err
			}
			switch e {
			case "tag":
				f.Tag = id
			case "build":
				f.Build = id
			case "user":
				f.User = id
			case "permission":
				f.Permission = id
			case "external_repo":
				f.ExternalRepo = id
			case "build_target":
				f.BuildTarget = id
			case "group":
				f.Group = id
			case "host":
				f.Host = id
			case "channel":
				f.Channel = id
			case "cg":
				f.CG = id
			}
		}
		return nil
	}
	if v, ok := kw["active"]; ok && v != nil {
		b := pyTruthy(v)
		f.Active = &b
	}
	if v, ok := kw["editor"]; ok {
		u, err := h.lookupUser(c, v)
		if errors.Is(err, db.ErrNotFound) {
			return nil, genericErr("No such user: %s", pyRepr(v))
		}
		if err != nil {
			return nil, err
		}
		f.Editor = &u.ID
	}
	for _, k := range []string{"before", "after"} {
		v, ok := kw[k]
		if !ok {
			continue
		}
		t, err := historyTime(k, v)
		if err != nil {
			return nil, err
		}
		if k == "before" {
			f.Before = &t
		} else {
			f.After = &t
		}
	}
	for _, k := range []string{"beforeEvent", "afterEvent"} {
		v, ok := kw[k]
		if !ok {
			continue
		}
		n, ok := v.(int64)
		if !ok {
			return nil, paramErr("%s: expected an event id, got %T", k, v)
		}
		if k == "beforeEvent" {
			f.BeforeEvent = &n
		} else {
			f.AfterEvent = &n
		}
	}
	if v, ok := kw["xkey"]; ok {
		s := pyStr(v)
		f.XKey = &s
	}
	out := map[string]any{}
	for _, table := range tables {
		ents := entities
		pkgAsText := false
		if _, ok := kw["package"]; ok && table == "group_package_listing" {
			// Koji: a package there is an rpm name, compared as text
			ents = without(entities, "package")
			pkgAsText = true
		}
		if !db.HistoryApplies(table, ents) {
			continue
		}
		if _, ok := kw["xkey"]; ok && !db.HistoryApplies(table, []string{"xkey"}) {
			continue
		}
		if err := resolve(); err != nil {
			return nil, err
		}
		tf := f
		if pkgAsText {
			s := pyStr(kw["package"])
			tf.GroupPackage = &s
		} else if _, ok := kw["package"]; ok {
			p, err := h.lookupPackage(c, kw["package"])
			if errors.Is(err, db.ErrNotFound) {
				return nil, genericErr("No such entry in table package: %s", pyStr(kw["package"]))
			}
			if err != nil {
				return nil, err
			}
			tf.Package = &p.ID
		}
		rows, err := h.store.QueryHistory(c.ctx, table, tf)
		if err != nil {
			return nil, err
		}
		list := make([]any, 0, len(rows))
		for _, r := range rows {
			matchFlags(r, tf)
			list = append(list, r)
		}
		res, err := applyQueryOpts(list, qo)
		if err != nil {
			return nil, err
		}
		out[table] = res
	}
	return out, nil
}

func without(l []string, x string) []string {
	var out []string
	for _, s := range l {
		if s != x {
			out = append(out, s)
		}
	}
	return out
}

// historyEntity resolves one of query_history's entity filters to an id,
// with Koji's strict errors (host and channel are not strict in Koji).
func (h *Hub) historyEntity(c *call, name string, v any) (*int64, error) {
	var id int64
	var err error
	table := name
	switch name {
	case "tag":
		var t db.Tag
		t, err = h.lookupTag(c, v)
		id = t.ID
	case "build":
		b, err := h.mustBuild(c, v)
		if err != nil {
			return nil, err
		}
		return &b.ID, nil
	case "user":
		u, err := h.lookupUser(c, v)
		if errors.Is(err, db.ErrNotFound) {
			return nil, genericErr("No such user: %s", pyRepr(v))
		}
		if err != nil {
			return nil, err
		}
		return &u.ID, nil
	case "permission":
		table = "permissions"
		id, err = h.lookupPermID(c, v)
		if err != nil {
			return nil, genericErr("No such entry in table permissions: %s", pyStr(v))
		}
	case "external_repo":
		r, e := h.lookupExtRepo(c, v, nil)
		id, err = r.ID, e
	case "build_target":
		t, e := h.lookupTarget(c, v)
		id, err = t.ID, e
	case "group":
		table = "groups"
		g, e := lookupGroup(c, h.store, v, "group")
		id, err = g.ID, e
	case "cg":
		table = "content_generator"
		id, err = h.store.ContentGeneratorID(c.ctx, v)
	case "host", "channel":
		// Koji looks hosts and channels up leniently: one that does not
		// exist matches no row (no id is 0)
		var err error
		if name == "host" {
			var x db.Host
			x, err = h.lookupHost(c, v)
			id = x.ID
		} else {
			var x db.Channel
			x, err = h.lookupChannel(c, v)
			id = x.ID
		}
		if err != nil && !errors.Is(err, db.ErrNotFound) {
			return nil, err
		}
		return &id, nil
	default:
		// package is resolved per table (group_package_listing compares names)
		return nil, nil
	}
	if errors.Is(err, db.ErrNotFound) {
		return nil, genericErr("No such entry in table %s: %s", table, pyStr(v))
	}
	if err != nil {
		return nil, err
	}
	return &id, nil
}

// historyTime reads before/after: seconds since the epoch, or a time
// string PostgreSQL would take ("2024-05-01 12:00:00+00:00", a date).
func historyTime(name string, v any) (float64, error) {
	switch x := v.(type) {
	case int64:
		return float64(x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, paramErr("%s: not a time: %v", name, x)
		}
		return x, nil
	case string:
		s := strings.TrimSpace(x)
		for _, layout := range []string{"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999Z07:00",
			"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02"} {
			if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
				return float64(t.UnixNano()) / 1e9, nil
			}
		}
		return 0, genericErr("invalid input syntax for type timestamp with time zone: %s", pyRepr(x))
	}
	return 0, paramErr("%s: expected a time, got %T", name, v)
}

// matchFlags adds Koji's _created_*/_revoked_* fields: which of a row's
// create and revoke matched the time and editor filters (nil when the row
// was never revoked).
func matchFlags(r map[string]any, f db.HistoryFilter) {
	revoked := r["revoke_event"] != nil
	flag := func(key string, created, revokedOK bool) {
		r["_created_"+key] = created
		if revoked {
			r["_revoked_"+key] = revokedOK
		} else {
			r["_revoked_"+key] = nil
		}
	}
	num := func(k string) float64 {
		switch v := r[k].(type) {
		case int64:
			return float64(v)
		case float64:
			return v
		}
		return math.NaN()
	}
	if f.Editor != nil {
		cr, _ := r["creator_id"].(int64)
		rv, _ := r["revoker_id"].(int64)
		r["_created_by"] = r["creator_id"] != nil && cr == *f.Editor
		r["_revoked_by"] = nil
		if r["revoker_id"] != nil {
			r["_revoked_by"] = rv == *f.Editor
		}
	}
	if f.After != nil {
		flag("after", num("create_ts") > *f.After, num("revoke_ts") > *f.After)
	}
	if f.AfterEvent != nil {
		flag("after_event", num("create_event") > float64(*f.AfterEvent), num("revoke_event") > float64(*f.AfterEvent))
	}
	if f.Before != nil {
		flag("before", num("create_ts") < *f.Before, num("revoke_ts") < *f.Before)
	}
	if f.BeforeEvent != nil {
		flag("before_event", num("create_event") < float64(*f.BeforeEvent), num("revoke_event") < float64(*f.BeforeEvent))
	}
}
