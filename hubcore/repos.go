package hubcore

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// Repos, Koji 1.35's way (kojihub/repos.py, kojihub.py repo_init,
// repo_set_state, HostExports.repoInit/repoDone):
//
//	repo.request ──▶ repo_queue (active) ──repo.checkQueue──▶ newRepo task (kojira's)
//	   kojid: host.repoInit ──▶ repo INIT, repos/<tag>/<id>/{repo.json, <arch>/pkglist, ...}
//	   kojid: createrepo per arch, uploads ──host.repoDone──▶ repodata moved, READY,
//	          matching requests fulfilled, repos/<tag>/latest switched (default opts only)
//	kojira: repo.updateEndEvents (currency), repoExpire, repoProblem, repoDelete
//
// Repo states and their transitions are db's (db.RepoTransition): only
// upward (INIT, READY, EXPIRED, PROBLEM), DELETED from anywhere, DELETED
// terminal.

// RepoConfig tunes repo requests and the repo queue. Zero values mean
// Koji's defaults (hub.conf keys of the same names).
type RepoConfig struct {
	// MaxRepoTasks bounds the newRepo tasks repo.checkQueue keeps running (default 10).
	MaxRepoTasks int
	// MaxRepoTasksMaven bounds those of them for maven repos (default 2).
	MaxRepoTasksMaven int
	// RepoRetries is how often a request's failed task is replaced
	// (default 3; negative: never).
	RepoRetries int
	// RequestCleanTime is how long finished requests are kept (default 1440 minutes).
	RequestCleanTime time.Duration
	// DisableNewRepo refuses the legacy newRepo call [AllowNewRepo = false].
	DisableNewRepo bool
	// RepoLag is how far behind the tag's last change a default request may
	// be served (default 3600 s; negative: none). Tag extra repo.lag overrides it.
	RepoLag time.Duration
	// RepoAutoLag is RepoLag for repo.autoRequests (default 7200 s; negative: none).
	RepoAutoLag time.Duration
	// RepoLagWindow rounds the lag's time so that close requests share an event (default 600 s).
	RepoLagWindow time.Duration
	// RepoQueueUser owns the newRepo tasks of the queue (default kojira;
	// when no such user exists, the caller of repo.checkQueue does).
	RepoQueueUser string
	// DebuginfoTags, SourceTags and SeparateSourceTags are space-separated
	// globs of tag names whose repos get debuginfo, src, separate_src.
	DebuginfoTags, SourceTags, SeparateSourceTags string
}

func (c *RepoConfig) setDefaults() {
	defInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	defInt(&c.MaxRepoTasks, 10)
	defInt(&c.MaxRepoTasksMaven, 2)
	switch {
	case c.RepoRetries == 0:
		c.RepoRetries = 3
	case c.RepoRetries < 0:
		c.RepoRetries = 0
	}
	defDur := func(p *time.Duration, v time.Duration) {
		switch {
		case *p == 0:
			*p = v
		case *p < 0:
			*p = 0
		}
	}
	defDur(&c.RequestCleanTime, 24*time.Hour)
	defDur(&c.RepoLag, time.Hour)
	defDur(&c.RepoAutoLag, 2*time.Hour)
	if c.RepoLagWindow <= 0 {
		c.RepoLagWindow = 600 * time.Second
	}
	if c.RepoQueueUser == "" {
		c.RepoQueueUser = "kojira"
	}
}

func repoMethods() []method {
	return []method{
		{name: "repo.request", argdesc: "(tag, min_event=None, at_event=None, opts=None, priority=None, force=False)", fn: mRepoRequest},
		{name: "repo.get", argdesc: "(tag, min_event=None, at_event=None, opts=None)", fn: mRepoGet},
		{name: "repo.checkRequest", argdesc: "(req_id)", fn: mRepoCheckRequest},
		{name: "repo.setRequestPriority", argdesc: "(req_id, priority)", fn: mRepoSetRequestPriority},
		{name: "repo.references", argdesc: "(repo_id)", fn: mRepoReferences},
		{name: "repo.setState", argdesc: "(repo_id, state)", fn: mRepoSetState},
		{name: "repo.query", argdesc: "(clauses, fields=None, opts=None)", fn: mRepoQuery},
		{name: "repo.queryQueue", argdesc: "(clauses=None, fields=None, opts=None)", fn: mRepoQueryQueue},
		{name: "repo.autoRequests", argdesc: "()", fn: mRepoAutoRequests},
		{name: "repo.checkQueue", argdesc: "()", fn: mRepoCheckQueue},
		{name: "repo.updateEndEvents", argdesc: "()", fn: mRepoUpdateEndEvents},
		{name: "getRepo", argdesc: "(tag, state=None, event=None, dist=False, min_event=None)", fn: mGetRepo},
		{name: "repoInfo", argdesc: "(repo_id, strict=False)", fn: mRepoInfo},
		{name: "getActiveRepos", argdesc: "()", fn: mGetActiveRepos},
		{name: "newRepo", argdesc: "(tag, event=None, src=False, debuginfo=False, separate_src=False)", fn: mNewRepo},
		{name: "repoExpire", argdesc: "(repo_id)", fn: mRepoExpire},
		{name: "repoDelete", argdesc: "(repo_id)", fn: mRepoDelete},
		{name: "repoProblem", argdesc: "(repo_id)", fn: mRepoProblem},
		{name: "tagLastChangeEvent", argdesc: "(tag, before=None, inherit=True)", fn: mTagLastChangeEvent},
		{name: "tagFirstChangeEvent", argdesc: "(tag, after=None, inherit=True)", fn: mTagFirstChangeEvent},
		{name: "tagChangedSinceEvent", argdesc: "(event, taglist)", fn: mTagChangedSinceEvent},
		{name: "host.repoInit", argdesc: "(tag, task_id=None, event=None, opts=None)", fn: mHostRepoInit},
		{name: "host.repoDone", argdesc: "(repo_id, data, expire=False, repo_json_updates=None)", fn: mHostRepoDone},
	}
}

// ---- wire shapes -------------------------------------------------------

// optsValue is a JSON options column as Koji returns it (a struct, or None).
func optsValue(js *string) any {
	m := db.DecodeOpts(js)
	if m == nil {
		return nil
	}
	return m
}

// repoMap is Koji's RepoQuery row with every field ('**').
func repoMap(r db.Repo) map[string]any {
	return map[string]any{
		"id": r.ID, "tag_id": r.TagID, "tag_name": r.TagName,
		"creation_time": kojiTime(&r.CreateTime), "creation_ts": r.CreateTime,
		"state_time": kojiTime(&r.StateTime), "state_ts": r.StateTime,
		"create_event": r.CreateEvent, "create_ts": r.CreateTS,
		"begin_event": optInt(r.BeginEvent), "begin_ts": kojiTS(r.BeginTS),
		"end_event": optInt(r.EndEvent), "end_ts": kojiTS(r.EndTS),
		"state": int64(r.State), "dist": r.Dist, "opts": optsValue(r.Opts), "custom_opts": optsValue(r.CustomOpts),
		"task_id": optInt(r.TaskID), "task_state": optInt(r.TaskState),
	}
}

// requestMap is Koji's RepoQueueQuery row with every field ('**').
func requestMap(q db.RepoRequest) map[string]any {
	opts := db.DecodeOpts(&q.Opts)
	if opts == nil {
		opts = map[string]any{}
	}
	return map[string]any{
		"id": q.ID, "create_time": kojiTime(&q.CreateTime), "create_ts": q.CreateTime,
		"owner": q.OwnerID, "owner_name": q.OwnerName, "priority": int64(q.Priority),
		"tag_id": q.TagID, "tag_name": q.TagName, "at_event": optInt(q.AtEvent), "min_event": optInt(q.MinEvent),
		"opts": opts, "update_time": kojiTime(&q.UpdateTime), "update_ts": q.UpdateTime, "active": q.Active,
		"task_id": optInt(q.TaskID), "task_state": optInt(q.TaskState), "tries": int64(q.Tries), "repo_id": optInt(q.RepoID),
	}
}

// queryView is what Koji's QueryView knows of a table: its default
// fields and which fields need a join ('*' leaves those out unless a
// clause or the order already joined them).
type queryView struct {
	fields   map[string]string // field -> column (db's map)
	joins    map[string]string // field -> join key
	defaults []string
}

var repoView = queryView{
	fields: db.RepoFields,
	joins: map[string]string{"create_ts": "create_ev", "begin_ts": "begin_ev", "end_ts": "end_ev",
		"task_state": "task", "tag_name": "tag"},
	defaults: []string{"id", "tag_id", "create_event", "state", "dist", "task_id", "opts", "custom_opts"},
}

var queueView = queryView{
	fields:   db.RepoRequestFields,
	joins:    map[string]string{"owner_name": "users", "tag_name": "tag", "task_state": "task"},
	defaults: []string{"id", "tag_id", "at_event", "min_event", "create_ts", "task_id", "tries", "repo_id", "opts", "active", "update_ts"},
}

// parsedQuery is a QueryView call's clauses, fields and options, checked.
type parsedQuery struct {
	clauses []db.Clause
	fields  []string
	qo      map[string]any
}

func badQuery(format string, args ...any) error { return paramErr(format, args...) }

// parseQuery checks Koji's (clauses, fields, opts) for a view.
func (v queryView) parse(clauses []any, fields any, qo map[string]any) (parsedQuery, error) {
	var p parsedQuery
	joined := map[string]bool{}
	use := func(f string) error {
		if _, ok := v.fields[f]; !ok {
			return badQuery("Invalid field for query %s", f)
		}
		if j, ok := v.joins[f]; ok {
			joined[j] = true
		}
		return nil
	}
	for _, raw := range clauses {
		cl, ok := raw.([]any)
		if !ok {
			return p, badQuery("Invalid clause: %s", pyRepr(raw))
		}
		var c db.Clause
		switch len(cl) {
		case 2:
			c.Value = cl[1]
			c.Op = "="
			if _, isList := cl[1].([]any); isList {
				c.Op = "IN"
			}
		case 3:
			op, ok := cl[1].(string)
			if !ok {
				return p, badQuery("Invalid operator: %s", pyRepr(cl[1]))
			}
			c.Op = strings.ToUpper(op)
			switch c.Op {
			case "IN", "=", "!=", ">", "<", ">=", "<=", "IS", "IS NOT", "@>", "<@":
			default:
				return p, badQuery("Invalid operator: %s", op)
			}
			c.Value = cl[2]
		default:
			return p, badQuery("Invalid clause: %s", pyRepr(raw))
		}
		f, ok := cl[0].(string)
		if !ok {
			return p, badQuery("Invalid field for query %s", pyRepr(cl[0]))
		}
		if err := use(f); err != nil {
			return p, err
		}
		c.Field = f
		p.clauses = append(p.clauses, c)
	}
	if qo != nil {
		if o, ok := qo["order"]; ok && o != nil {
			s, ok := o.(string)
			if !ok {
				return p, badQuery("order: expected a string, got %s", typeName(o))
			}
			for _, k := range strings.Split(s, ",") {
				if err := use(strings.TrimPrefix(k, "-")); err != nil {
					return p, err
				}
			}
		}
		for k, val := range qo {
			switch k {
			case "order", "countOnly":
			case "limit", "offset":
				if _, ok := val.(int64); !ok && val != nil {
					return p, badQuery("%s: expected an integer, got %s", k, typeName(val))
				}
			default:
				return p, badQuery("unsupported query option %q", k)
			}
		}
		p.qo = qo
	}
	var list []string
	switch f := fields.(type) {
	case nil:
		list = v.defaults
	case string:
		list = []string{f}
	case []any:
		for _, x := range f {
			s, ok := x.(string)
			if !ok {
				return p, badQuery("Invalid field for query %s", pyRepr(x))
			}
			list = append(list, s)
		}
		if len(list) == 0 {
			list = v.defaults
		}
	default:
		return p, badQuery("fields: expected a list of names, got %s", typeName(fields))
	}
	seen := map[string]bool{}
	for _, f := range list {
		switch f {
		case "*", "**":
			for name := range v.fields {
				if j, ok := v.joins[name]; f == "**" || !ok || joined[j] {
					seen[name] = true
				}
			}
		default:
			if err := use(f); err != nil {
				return p, err
			}
			seen[f] = true
		}
	}
	for f := range seen {
		p.fields = append(p.fields, f)
	}
	sort.Strings(p.fields)
	return p, nil
}

// finish orders, pages and projects full rows as the query asked.
func (p parsedQuery) finish(rows []map[string]any) (any, error) {
	list := make([]any, len(rows))
	for i, r := range rows {
		list[i] = r
	}
	res, err := applyQueryOpts(list, p.qo)
	if err != nil {
		return nil, err
	}
	out, ok := res.([]any)
	if !ok {
		return res, nil // countOnly
	}
	for i, r := range out {
		full := r.(map[string]any)
		m := make(map[string]any, len(p.fields))
		for _, f := range p.fields {
			m[f] = full[f]
		}
		out[i] = m
	}
	return out, nil
}

// clauseErr turns the store's refusal of a clause into Koji's fault.
func clauseErr(err error) error {
	if errors.Is(err, db.ErrBadClause) {
		return paramErr("%s", strings.TrimPrefix(err.Error(), db.ErrBadClause.Error()+": "))
	}
	return err
}

// ---- argument helpers ----------------------------------------------------

// repoOptNames are Koji's repo options, all booleans.
var repoOptNames = map[string]bool{"src": true, "debuginfo": true, "separate_src": true, "maven": true}

// convertRepoOpts is Koji's convert_repo_opts: nil gives {}; strict refuses
// what is not a struct and unknown options, otherwise they are ignored.
func convertRepoOpts(v any, strict bool) (map[string]any, error) {
	out := map[string]any{}
	if v == nil {
		return out, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		if strict {
			return nil, paramErr("Repo opts must be a dictionary")
		}
		return out, nil
	}
	for k, x := range m {
		if !repoOptNames[k] {
			if strict {
				return nil, paramErr("Invalid repo option: %s", k)
			}
			continue
		}
		if x == nil {
			continue
		}
		out[k] = pyTruthy(x)
	}
	return out, nil
}

// repoOpts is Koji's get_repo_opts: the tag's default options (hub globs,
// tag extra repo.opts and legacy with_debuginfo), then the overrides;
// custom holds the overrides that differ from the defaults.
func (h *Hub) repoOpts(t db.Tag, override map[string]any) (opts, custom map[string]any) {
	opts = map[string]any{"src": false, "debuginfo": false, "separate_src": false, "maven": false}
	match := func(globs string) bool {
		for _, g := range strings.Fields(globs) {
			if ok, _ := path.Match(g, t.Name); ok {
				return true
			}
		}
		return false
	}
	if match(h.cfg.Repo.DebuginfoTags) {
		opts["debuginfo"] = true
	}
	if match(h.cfg.Repo.SourceTags) {
		opts["src"] = true
	}
	if match(h.cfg.Repo.SeparateSourceTags) {
		opts["separate_src"] = true
	}
	extra := decodeExtra(t.Extra)
	tagOpts, _ := convertRepoOpts(extra["repo.opts"], false)
	if wd, ok := extra["with_debuginfo"]; ok {
		if _, has := extra["repo.opts"]; !has {
			tagOpts["debuginfo"] = pyTruthy(wd)
		}
	}
	for k, v := range tagOpts {
		opts[k] = v
	}
	opts["maven"] = false // kojigo has no maven support (Koji: EnableMaven off)
	custom = map[string]any{}
	for k, v := range override {
		if opts[k] != v {
			custom[k] = v
			opts[k] = v
		}
	}
	return opts, custom
}

// eventArg reads an event id argument and checks that the event exists.
func (h *Hub) eventArg(c *call, v any, name string) (int64, error) {
	id, err := intArg(name, v)
	if err != nil {
		return 0, err
	}
	if _, err := h.store.GetEvent(c.ctx, id); err != nil {
		if errors.Is(err, db.ErrNotFound) {
			return 0, paramErr("Invalid event: %d", id)
		}
		return 0, err
	}
	return id, nil
}

// intArg is Koji's convert_value(v, int) for an argument read as any.
func intArg(name string, v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case float64:
		if !math.IsNaN(x) && !math.IsInf(x, 0) && math.Abs(x) < 1<<62 {
			return int64(x), nil
		}
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
			return n, nil
		}
	}
	return 0, paramErr("Invalid type for value %s: %s, expected type <class 'int'> (argument %s)", pyRepr(v), typeName(v), name)
}

// tagLinks returns the tag and its full inheritance as of ev (nil: now).
func (h *Hub) tagLinks(c *call, tagID int64, ev *int64) ([]int64, error) {
	ids := []int64{tagID}
	order, err := h.fullInheritance(c, tagID, ev, false)
	if err != nil {
		return nil, err
	}
	for _, l := range order {
		ids = append(ids, l.ParentID)
	}
	return ids, nil
}

// tagLastChange is Koji's tag_last_change_event(tag, before, inherit).
func (h *Hub) tagLastChange(c *call, t db.Tag, before *int64, inherit bool) (*int64, error) {
	ids := []int64{t.ID}
	if inherit {
		var err error
		if ids, err = h.tagLinks(c, t.ID, before); err != nil {
			return nil, err
		}
	}
	return h.store.TagLastChangeEvent(c.ctx, ids, before)
}

// tagFirstChange is Koji's tag_first_change_event(tag, after, inherit):
// with no after, the tag's creation.
func (h *Hub) tagFirstChange(c *call, t db.Tag, after *int64, inherit bool) (*int64, error) {
	if after == nil {
		return &t.CreateEvent, nil
	}
	ids := []int64{t.ID}
	if inherit {
		var err error
		if ids, err = h.tagLinks(c, t.ID, after); err != nil {
			return nil, err
		}
	}
	return h.store.TagFirstChangeEvent(c.ctx, ids, *after)
}

// lagEvent is the event a lagged request asks for at least (Koji's
// default_min_event): the last event before now-lag, rounded down to the
// window, or the tag's last change if that is older.
func (h *Hub) lagEvent(c *call, t db.Tag, lag time.Duration) (int64, error) {
	last, err := h.tagLastChange(c, t, nil, true)
	if err != nil {
		return 0, err
	}
	if last == nil {
		last = &t.CreateEvent
	}
	window := h.cfg.Repo.RepoLagWindow.Seconds()
	base := float64(h.cfg.Now().UnixMicro())/1e6 - lag.Seconds()
	base = math.Floor(base/window) * window
	ev, err := h.store.LastEventBefore(c.ctx, base)
	baseID := ev.ID
	switch {
	case errors.Is(err, db.ErrNotFound):
		baseID = t.CreateEvent // a brand new instance
	case err != nil:
		return 0, err
	}
	return min(baseID, *last), nil
}

// tagLag is the tag's own extra repo.lag (seconds), when it is an integer.
func tagLag(t db.Tag) (time.Duration, bool) {
	switch v := decodeExtra(t.Extra)["repo.lag"].(type) {
	case int64:
		return time.Duration(v) * time.Second, true
	}
	return 0, false
}

// ---- reading repos -------------------------------------------------------

// repoIDArg reads a repo id (Koji: convert_value(repo_id, int)).
func repoIDArg(a *kojixml.Args) (int64, error) {
	v := a.Any(0, "repo_id")
	if err := a.Done(); err != nil {
		return 0, err
	}
	return intArg("repo_id", v)
}

func (h *Hub) repoInfo(c *call, id int64) (*db.Repo, error) {
	r, err := h.store.GetRepo(c.ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// repoInfo(repo_id, strict=False)
func mRepoInfo(c *call, a *kojixml.Args) (any, error) {
	v := a.Any(0, "repo_id")
	strict := a.OptBool(1, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if v == nil {
		if strict {
			return nil, genericErr("No such repo: None")
		}
		return nil, nil
	}
	id, err := intArg("repo_id", v)
	if err != nil {
		return nil, err
	}
	r, err := c.hub.repoInfo(c, id)
	if err != nil {
		return nil, err
	}
	if r == nil {
		if strict {
			return nil, genericErr("No such repo: %d", id)
		}
		return nil, nil
	}
	return repoMap(*r), nil
}

// newest returns the repo with the greatest key, or nil.
func newest(rs []db.Repo, key func(db.Repo) float64) *db.Repo {
	var best *db.Repo
	for i := range rs {
		if best == nil || key(rs[i]) > key(*best) || (key(rs[i]) == key(*best) && rs[i].ID > best.ID) {
			best = &rs[i]
		}
	}
	return best
}

// getRepo(tag, state=None, event=None, dist=False, min_event=None): Koji's
// old_get_repo, the most recently created matching repo.
func mGetRepo(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "tag")
	state := a.OptAny(1, "state", nil)
	event := a.OptAny(2, "event", nil)
	dist := a.OptBool(3, "dist", false)
	minEvent := a.OptAny(4, "min_event", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	t, err := c.hub.mustTag(c, info)
	if err != nil {
		return nil, err
	}
	clauses := []db.Clause{{Field: "tag_id", Op: "=", Value: t.ID}, {Field: "dist", Op: "IS", Value: dist}}
	var ev int64
	if event != nil {
		if ev, err = intArg("event", event); err != nil {
			return nil, err
		}
	}
	if ev != 0 {
		clauses = append(clauses, db.Clause{Field: "create_event", Op: "<=", Value: ev})
	} else {
		st := int64(db.RepoReady)
		if state != nil {
			if st, err = intArg("state", state); err != nil {
				return nil, err
			}
		}
		clauses = append(clauses, db.Clause{Field: "state", Op: "=", Value: st})
	}
	if minEvent != nil {
		me, err := intArg("min_event", minEvent)
		if err != nil {
			return nil, err
		}
		clauses = append(clauses, db.Clause{Field: "create_event", Op: ">=", Value: me})
	}
	rs, err := c.hub.store.QueryRepos(c.ctx, clauses)
	if err != nil {
		return nil, clauseErr(err)
	}
	if r := newest(rs, func(r db.Repo) float64 { return r.CreateTime }); r != nil {
		return repoMap(*r), nil
	}
	return nil, nil
}

// findRepo is Koji's get_repo: the READY non-dist repo of the tag with
// every option asked for and no custom option not asked for, at at_event
// or at least min_event, the newest by create_event.
func (h *Hub) findRepo(c *call, tagID int64, minEvent, atEvent *int64, opts map[string]any) (*db.Repo, error) {
	clauses := []db.Clause{
		{Field: "tag_id", Op: "=", Value: tagID}, {Field: "dist", Op: "IS", Value: false},
		{Field: "state", Op: "=", Value: int64(db.RepoReady)},
		{Field: "opts", Op: "@>", Value: opts}, {Field: "custom_opts", Op: "<@", Value: opts},
	}
	switch {
	case atEvent != nil:
		clauses = append(clauses, db.Clause{Field: "create_event", Op: "=", Value: *atEvent})
	case minEvent != nil:
		clauses = append(clauses, db.Clause{Field: "create_event", Op: ">=", Value: *minEvent})
	}
	rs, err := h.store.QueryRepos(c.ctx, clauses)
	if err != nil {
		return nil, err
	}
	return newest(rs, func(r db.Repo) float64 { return float64(r.CreateEvent) }), nil
}

// repo.get(tag, min_event=None, at_event=None, opts=None)
func mRepoGet(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "tag")
	minEvent := a.OptAny(1, "min_event", nil)
	atEvent := a.OptAny(2, "at_event", nil)
	optsArg := a.OptAny(3, "opts", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	t, err := c.hub.mustTag(c, info)
	if err != nil {
		return nil, err
	}
	var minP, atP *int64
	if minEvent != nil {
		n, err := intArg("min_event", minEvent)
		if err != nil {
			return nil, err
		}
		minP = &n
	}
	if atEvent != nil {
		n, err := intArg("at_event", atEvent)
		if err != nil {
			return nil, err
		}
		atP = &n
	}
	opts, err := convertRepoOpts(optsArg, true)
	if err != nil {
		return nil, err
	}
	r, err := c.hub.findRepo(c, t.ID, minP, atP, opts)
	if err != nil || r == nil {
		return nil, err
	}
	return repoMap(*r), nil
}

// getActiveRepos(): every repo not DELETED, with the fields kojira reads.
func mGetActiveRepos(c *call, a *kojixml.Args) (any, error) {
	if err := a.Done(); err != nil {
		return nil, err
	}
	rs, err := c.hub.store.QueryRepos(c.ctx, []db.Clause{{Field: "state", Op: "!=", Value: int64(db.RepoDeleted)}})
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(rs))
	for _, r := range rs {
		full := repoMap(r)
		m := map[string]any{}
		for _, f := range []string{"id", "tag_id", "create_event", "create_ts", "state", "dist", "task_id", "tag_name",
			"creation_ts", "state_ts", "end_event", "opts"} {
			m[f] = full[f]
		}
		out = append(out, m)
	}
	return out, nil
}

// repo.query(clauses, fields=None, opts=None)
func mRepoQuery(c *call, a *kojixml.Args) (any, error) {
	clauses := a.List(0, "clauses")
	fields := a.OptAny(1, "fields", nil)
	qo := a.OptMap(2, "opts")
	if err := a.Done(); err != nil {
		return nil, err
	}
	p, err := repoView.parse(clauses, fields, qo)
	if err != nil {
		return nil, err
	}
	rs, err := c.hub.store.QueryRepos(c.ctx, p.clauses)
	if err != nil {
		return nil, clauseErr(err)
	}
	rows := make([]map[string]any, len(rs))
	for i, r := range rs {
		rows[i] = repoMap(r)
	}
	return p.finish(rows)
}

// repo.queryQueue(clauses=None, fields=None, opts=None)
func mRepoQueryQueue(c *call, a *kojixml.Args) (any, error) {
	clauses := a.OptList(0, "clauses")
	fields := a.OptAny(1, "fields", nil)
	qo := a.OptMap(2, "opts")
	if err := a.Done(); err != nil {
		return nil, err
	}
	p, err := queueView.parse(clauses, fields, qo)
	if err != nil {
		return nil, err
	}
	qs, err := c.hub.store.QueryRepoRequests(c.ctx, p.clauses)
	if err != nil {
		return nil, clauseErr(err)
	}
	rows := make([]map[string]any, len(qs))
	for i, q := range qs {
		rows[i] = requestMap(q)
	}
	return p.finish(rows)
}

// repo.references(repo_id): the buildroots that use the repo.
func mRepoReferences(c *call, a *kojixml.Args) (any, error) {
	id, err := repoIDArg(a)
	if err != nil {
		return nil, err
	}
	brs, err := c.hub.store.RepoReferences(c.ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(brs))
	for _, b := range brs {
		out = append(out, map[string]any{"id": b.ID, "host_id": optInt(b.HostID), "task_id": optInt(b.TaskID),
			"create_event": nil, "state": int64(b.State)})
	}
	return out, nil
}

// ---- events --------------------------------------------------------------

// tagLastChangeEvent(tag, before=None, inherit=True)
func mTagLastChangeEvent(c *call, a *kojixml.Args) (any, error) {
	return tagChangeEvent(c, a, "before", c.hub.tagLastChange)
}

// tagFirstChangeEvent(tag, after=None, inherit=True)
func mTagFirstChangeEvent(c *call, a *kojixml.Args) (any, error) {
	return tagChangeEvent(c, a, "after", c.hub.tagFirstChange)
}

// tagChangeEvent reads (tag, bound=None, inherit=True) and answers find's
// event, or None.
func tagChangeEvent(c *call, a *kojixml.Args, boundName string, find func(*call, db.Tag, *int64, bool) (*int64, error)) (any, error) {
	info := a.Any(0, "tag")
	bound := a.OptAny(1, boundName, nil)
	inherit := a.OptBool(2, "inherit", true)
	if err := a.Done(); err != nil {
		return nil, err
	}
	t, err := c.hub.mustTag(c, info)
	if err != nil {
		return nil, err
	}
	var bp *int64
	if bound != nil {
		n, err := intArg(boundName, bound)
		if err != nil {
			return nil, err
		}
		bp = &n
	}
	ev, err := find(c, t, bp, inherit)
	if err != nil {
		return nil, err
	}
	return optInt(ev), nil
}

// tagChangedSinceEvent(event, taglist): whether any of the tags (ids; no
// inheritance) changed after the event.
func mTagChangedSinceEvent(c *call, a *kojixml.Args) (any, error) {
	evArg := a.Any(0, "event")
	list := a.List(1, "taglist")
	if err := a.Done(); err != nil {
		return nil, err
	}
	ev, err := intArg("event", evArg)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(list))
	for _, x := range list {
		id, ok := x.(int64)
		if !ok {
			return nil, paramErr("taglist: expected tag ids, got %s", pyRepr(x))
		}
		ids = append(ids, id)
	}
	if len(ids) > maxInheritanceLinks {
		return nil, paramErr("taglist: more than %d tags", maxInheritanceLinks)
	}
	return c.hub.store.TagChangedSinceEvent(c.ctx, ev, ids)
}

// ---- requests ------------------------------------------------------------

// requestArgs are repo.request's arguments, checked.
type requestArgs struct {
	tag      db.Tag
	minEvent *int64
	atEvent  *int64
	opts     map[string]any
	priority int
	force    bool
}

// parseRequest checks repo.request's arguments as Koji's request_repo.
func (h *Hub) parseRequest(c *call, info, minEvent, atEvent, optsArg, priority any, force bool) (requestArgs, error) {
	r := requestArgs{force: force}
	t, err := h.mustTag(c, info)
	if err != nil {
		return r, err
	}
	r.tag = t
	if r.opts, err = convertRepoOpts(optsArg, true); err != nil {
		return r, err
	}
	if m, _ := r.opts["maven"].(bool); m {
		return r, genericErr("Maven support not enabled")
	}
	switch {
	case atEvent != nil:
		if minEvent != nil {
			return r, paramErr("The min_event and at_event options conflict")
		}
		ev, err := h.eventArg(c, atEvent, "at_event")
		if err != nil {
			return r, err
		}
		r.atEvent = &ev
	case minEvent == "last":
		ev, err := h.tagLastChange(c, t, nil, true)
		if err != nil {
			return r, err
		}
		if ev == nil {
			ev = &t.CreateEvent
		}
		r.minEvent = ev
	case minEvent == nil:
		lag, ok := tagLag(t)
		if !ok {
			lag = h.cfg.Repo.RepoLag
		}
		ev, err := h.lagEvent(c, t, lag)
		if err != nil {
			return r, err
		}
		r.minEvent = &ev
	default:
		ev, err := h.eventArg(c, minEvent, "min_event")
		if err != nil {
			return r, err
		}
		r.minEvent = &ev
	}
	r.priority = defaultPriority
	if priority != nil {
		p, err := intArg("priority", priority)
		if err != nil {
			return r, err
		}
		if p < 0 && !c.hasPerm("admin") {
			return r, notAllowed("only admins may create high-priority requests")
		}
		if p > 1000 || p < -1000 {
			return r, paramErr("priority: %d is out of range", p)
		}
		r.priority = defaultPriority + int(p)
	}
	return r, nil
}

// defaultPriority is Koji's PRIO_DEFAULT.
const defaultPriority = 20

// requestRepo is Koji's request_repo once the arguments are checked: an
// existing repo that fits (unless forced), else the same active request
// (its priority raised if need be), else a new request.
func (h *Hub) requestRepo(c *call, r requestArgs) (map[string]any, error) {
	ret := map[string]any{"repo": nil, "request": nil, "duplicate": false}
	if !r.force {
		repo, err := h.findRepo(c, r.tag.ID, r.minEvent, r.atEvent, r.opts)
		if err != nil {
			return nil, err
		}
		if repo != nil {
			ret["repo"] = repoMap(*repo)
			return ret, nil
		}
	}
	var req db.RepoRequest
	dup := false
	err := h.store.WithTx(c.ctx, func(tx *db.Store) error {
		// serialises requests across hubs when it can (a duplicate row made
		// by a race is harmless: the first repo fulfils both)
		if _, err := tx.TryLock(c.ctx, "repo-request"); err != nil {
			return err
		}
		clauses := []db.Clause{{Field: "tag_id", Op: "=", Value: r.tag.ID}, {Field: "active", Op: "IS", Value: true},
			{Field: "opts", Op: "=", Value: r.opts}}
		if r.atEvent != nil {
			clauses = append(clauses, db.Clause{Field: "at_event", Op: "=", Value: *r.atEvent})
		} else {
			clauses = append(clauses, db.Clause{Field: "min_event", Op: ">=", Value: *r.minEvent})
		}
		found, err := tx.QueryRepoRequests(c.ctx, clauses)
		if err != nil {
			return err
		}
		if len(found) > 0 {
			req, dup = found[0], true
			if req.Priority > r.priority {
				p := r.priority
				if err := tx.UpdateRepoRequest(c.ctx, req.ID, db.RepoRequestUpdate{Priority: &p}); err != nil {
					return err
				}
				req.Priority = p
			}
			return nil
		}
		id, err := tx.CreateRepoRequest(c.ctx, db.NewRepoRequest{OwnerID: c.user.ID, Priority: r.priority, TagID: r.tag.ID,
			AtEvent: r.atEvent, MinEvent: r.minEvent, Opts: db.EncodeOpts(r.opts)})
		if err != nil {
			return err
		}
		req, err = tx.GetRepoRequest(c.ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.wrote = true
	if !dup {
		h.log.Info("new repo request", "tag", r.tag.Name, "request", req.ID)
	}
	ret["request"], ret["duplicate"] = requestMap(req), dup
	return ret, nil
}

// repo.request(tag, min_event=None, at_event=None, opts=None, priority=None, force=False)
func mRepoRequest(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "tag")
	minEvent := a.OptAny(1, "min_event", nil)
	atEvent := a.OptAny(2, "at_event", nil)
	optsArg := a.OptAny(3, "opts", nil)
	priority := a.OptAny(4, "priority", nil)
	force := a.OptBool(5, "force", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requireLogin(); err != nil {
		return nil, err
	}
	r, err := c.hub.parseRequest(c, info, minEvent, atEvent, optsArg, priority, force)
	if err != nil {
		return nil, err
	}
	return c.hub.requestRepo(c, r)
}

// repo.checkRequest(req_id) -> {request, repo[, task]}
func mRepoCheckRequest(c *call, a *kojixml.Args) (any, error) {
	v := a.Any(0, "req_id")
	if err := a.Done(); err != nil {
		return nil, err
	}
	id, err := intArg("req_id", v)
	if err != nil {
		return nil, err
	}
	req, err := c.hub.store.GetRepoRequest(c.ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return nil, genericErr("No such request")
	}
	if err != nil {
		return nil, err
	}
	ret := map[string]any{"repo": nil, "request": requestMap(req)}
	switch {
	case req.RepoID != nil:
		r, err := c.hub.repoInfo(c, *req.RepoID)
		if err != nil {
			return nil, err
		}
		if r != nil {
			ret["repo"] = repoMap(*r)
		}
	case req.TaskID != nil:
		t, err := getTask(c, *req.TaskID)
		if err != nil {
			return nil, err
		}
		ret["task"] = taskInfo(t)
	}
	return ret, nil
}

// repo.setRequestPriority(req_id, priority): admin.
func mRepoSetRequestPriority(c *call, a *kojixml.Args) (any, error) {
	idArg := a.Any(0, "req_id")
	pArg := a.Any(1, "priority")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	id, err := intArg("req_id", idArg)
	if err != nil {
		return nil, err
	}
	p, err := intArg("priority", pArg)
	if err != nil {
		return nil, err
	}
	if p > 1e6 || p < -1e6 {
		return nil, paramErr("priority: %d is out of range", p)
	}
	pi := int(p)
	if err := c.hub.store.UpdateRepoRequest(c.ctx, id, db.RepoRequestUpdate{Priority: &pi}); err != nil {
		if errors.Is(err, db.ErrNotFound) {
			return nil, genericErr("No such request")
		}
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// ---- states --------------------------------------------------------------

// setRepoState is Koji's repo_set_state.
func (h *Hub) setRepoState(c *call, id int64, state int) error {
	err := h.store.SetRepoState(c.ctx, id, state)
	var se *db.RepoStateError
	switch {
	case errors.As(err, &se):
		return genericErr("%s", se.Error())
	case errors.Is(err, db.ErrNotFound):
		return genericErr("No such repo: %d", id)
	case err != nil:
		return err
	}
	c.wrote = true
	return nil
}

func repoStateMethod(state int) func(c *call, a *kojixml.Args) (any, error) {
	return func(c *call, a *kojixml.Args) (any, error) {
		id, err := repoIDArg(a)
		if err != nil {
			return nil, err
		}
		if err := c.requirePerm("repo"); err != nil {
			return nil, err
		}
		return nil, c.hub.setRepoState(c, id, state)
	}
}

// repoExpire(repo_id), repoProblem(repo_id): perm repo.
var (
	mRepoExpire  = repoStateMethod(db.RepoExpired)
	mRepoProblem = repoStateMethod(db.RepoProblem)
)

// repo.setState(repo_id, state): perm repo.
func mRepoSetState(c *call, a *kojixml.Args) (any, error) {
	idArg := a.Any(0, "repo_id")
	stArg := a.Any(1, "state")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("repo"); err != nil {
		return nil, err
	}
	id, err := intArg("repo_id", idArg)
	if err != nil {
		return nil, err
	}
	st, ok := stArg.(int64)
	if !ok || !db.ValidRepoState(st) {
		return nil, paramErr("Unknown repo state: %s", pyRepr(stArg))
	}
	return nil, c.hub.setRepoState(c, id, int(st))
}

// repoDelete(repo_id): perm repo. A repo still used by buildroots is left
// alone; the answer is the number of those.
func mRepoDelete(c *call, a *kojixml.Args) (any, error) {
	id, err := repoIDArg(a)
	if err != nil {
		return nil, err
	}
	if err := c.requirePerm("repo"); err != nil {
		return nil, err
	}
	var refs int
	err = c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		if _, err := tx.LockRepo(c.ctx, id); err != nil {
			return err
		}
		brs, err := tx.RepoReferences(c.ctx, id)
		if err != nil {
			return err
		}
		if refs = len(brs); refs > 0 {
			return nil
		}
		return tx.SetRepoState(c.ctx, id, db.RepoDeleted)
	})
	var se *db.RepoStateError
	switch {
	case errors.As(err, &se):
		return nil, genericErr("%s", se.Error())
	case errors.Is(err, db.ErrNotFound):
		return nil, genericErr("No such repo: %d", id)
	case err != nil:
		return nil, err
	}
	c.wrote = true
	return int64(refs), nil
}

// ---- tasks: newRepo and the queue ----------------------------------------

// ensureReposDir makes topdir/repos, without which hosts refuse newRepo.
func (h *Hub) ensureReposDir() error {
	if err := os.MkdirAll(filepath.Join(h.cfg.TopDir, "repos"), 0o755); err != nil {
		return fmt.Errorf("create repos directory: %w", bareErr(err))
	}
	return nil
}

// newRepo(tag, event=None, src=False, debuginfo=False, separate_src=False):
// the legacy call, a newRepo task (priority 15, channel createrepo) owned
// by the caller; perm repo or regen-repo, and AllowNewRepo.
func mNewRepo(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "tag")
	event := a.OptAny(1, "event", nil)
	src := a.OptBool(2, "src", false)
	debuginfo := a.OptBool(3, "debuginfo", false)
	sep := a.OptBool(4, "separate_src", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if c.hub.cfg.Repo.DisableNewRepo {
		return nil, notAllowed("newRepo api call is disabled")
	}
	if !c.hasPerm("repo") {
		if err := c.requirePerm("regen-repo"); err != nil {
			return nil, err
		}
	}
	if _, err := c.hub.mustTag(c, info); err != nil {
		return nil, err
	}
	kw := map[string]any{}
	if event != nil {
		ev, err := c.hub.eventArg(c, event, "event")
		if err != nil {
			return nil, err
		}
		kw["event"] = ev
	}
	for k, v := range map[string]bool{"src": src, "debuginfo": debuginfo, "separate_src": sep} {
		if v {
			kw[k] = true
		}
	}
	if err := c.hub.ensureReposDir(); err != nil {
		return nil, err
	}
	prio := int64(15)
	return createTask(c, "newRepo", []any{info}, taskOpts{channel: "createrepo", priority: &prio, kwargs: kw}, nil)
}

// repoTaskRequest is the newRepo request repo_queue_task makes:
// newRepo({id, name}, opts=..., [event=at_event]).
func repoTaskRequest(q db.RepoRequest, opts map[string]any) (string, error) {
	kw := map[string]any{"opts": opts}
	if q.AtEvent != nil {
		kw["event"] = *q.AtEvent
	}
	params := kojixml.EncodeKwargs([]any{map[string]any{"id": q.TagID, "name": q.TagName}}, kw)
	var b strings.Builder
	if err := kojixml.EncodeCall(&b, "newRepo", params); err != nil {
		return "", err
	}
	return b.String(), nil
}

// validRepo is Koji's valid_repo: whether a finished task's repo fulfils a request.
func validRepo(q db.RepoRequest, r db.Repo) bool {
	if r.TagID != q.TagID || r.State != db.RepoReady {
		return false
	}
	if q.AtEvent != nil {
		if r.CreateEvent != *q.AtEvent {
			return false
		}
	} else if q.MinEvent == nil || r.CreateEvent < *q.MinEvent {
		return false
	}
	opts, custom, want := db.DecodeOpts(r.Opts), db.DecodeOpts(r.CustomOpts), db.DecodeOpts(&q.Opts)
	if len(opts) == 0 || want == nil {
		return false
	}
	return db.OptsContain(opts, want) && db.OptsContain(want, custom)
}

// repoFromTask is Koji's get_repo_from_task: the repo a closed newRepo
// task reports ([repo_id, event_id]).
func repoFromTask(c *call, tx *db.Store, taskID int64) *db.Repo {
	t, err := tx.GetTask(c.ctx, taskID)
	if err != nil {
		return nil
	}
	res, err := taskResult(t, true)
	if err != nil {
		return nil
	}
	l, ok := res.([]any)
	if !ok || len(l) == 0 {
		return nil
	}
	id, err := intArg("repo_id", l[0])
	if err != nil {
		return nil
	}
	r, err := tx.GetRepo(c.ctx, id)
	if err != nil {
		return nil
	}
	return &r
}

// repo.checkQueue(): perm repo. Koji's check_repo_queue under the
// repo-queue lock (another hub's pass in progress: nothing to do): tasks
// of waiting requests are checked (a failed one is retried while tries <=
// RepoRetries), then newRepo tasks are made, in queue order, while fewer
// than MaxRepoTasks run; old finished requests are cleaned.
func mRepoCheckQueue(c *call, a *kojixml.Args) (any, error) {
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("repo"); err != nil {
		return nil, err
	}
	if err := c.hub.ensureReposDir(); err != nil {
		return nil, err
	}
	made := 0
	err := c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		ok, err := tx.TryLock(c.ctx, "repo-queue")
		if err != nil || !ok {
			return err
		}
		made, err = c.hub.checkQueue(c, tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.wrote = true
	if made > 0 {
		c.hub.sched.wake()
	}
	return nil, nil
}

func (h *Hub) checkQueue(c *call, tx *db.Store) (int, error) {
	cfg := h.cfg.Repo
	waiting, err := tx.QueryRepoRequests(c.ctx, []db.Clause{{Field: "repo_id", Op: "IS", Value: nil}, {Field: "active", Op: "IS", Value: true}})
	if err != nil {
		return 0, err
	}
	updates := map[int64]*db.RepoRequestUpdate{}
	upd := func(id int64) *db.RepoRequestUpdate {
		if updates[id] == nil {
			updates[id] = &db.RepoRequestUpdate{}
		}
		return updates[id]
	}
	nTasks, nMaven := 0, 0
	isMaven := func(q db.RepoRequest) bool { m, _ := db.DecodeOpts(&q.Opts)["maven"].(bool); return m }
	// first pass: the tasks of the requests
	for i := range waiting {
		q := &waiting[i]
		if q.TaskID == nil {
			continue
		}
		retry := false
		state := int64(-1)
		if q.TaskState != nil {
			state = *q.TaskState
		}
		switch state {
		case db.TaskClosed:
			h.log.Warn("repo task did not trigger repo_done_hook", "task", *q.TaskID, "request", q.ID)
			r := repoFromTask(c, tx, *q.TaskID)
			if r != nil && validRepo(*q, *r) {
				u := upd(q.ID)
				u.RepoID, u.Active = &r.ID, ptr(false)
			} else {
				h.log.Error("repo task did not produce a valid repo", "task", *q.TaskID, "request", q.ID)
				retry = true
			}
		case db.TaskCanceled, db.TaskFailed:
			h.log.Warn("repo task did not complete", "task", *q.TaskID, "request", q.ID)
			retry = true
		default:
			nTasks++
			if isMaven(*q) {
				nMaven++
			}
		}
		if retry {
			if q.Tries > cfg.RepoRetries {
				h.log.Error("retries exhausted for repo request", "request", q.ID, "tag", q.TagName)
				upd(q.ID).Active = ptr(false)
			} else {
				upd(q.ID).ClearTask = true
				q.TaskID = nil
			}
		}
	}
	// second pass: tasks for the requests that have none
	var owner *int64
	if u, err := tx.GetUserByName(c.ctx, cfg.RepoQueueUser); err == nil {
		owner = &u.ID
	} else if !errors.Is(err, db.ErrNotFound) {
		return 0, err
	}
	ch, err := tx.GetChannelByName(c.ctx, "createrepo")
	if err != nil {
		return 0, fmt.Errorf("channel createrepo: %w", err)
	}
	made := 0
	for i := range waiting {
		q := waiting[i]
		if q.TaskID != nil {
			continue
		}
		if u := updates[q.ID]; u != nil && u.Active != nil && !*u.Active {
			continue
		}
		if nTasks >= cfg.MaxRepoTasks {
			break
		}
		if isMaven(q) && nMaven >= cfg.MaxRepoTasksMaven {
			continue
		}
		opts, err := convertRepoOpts(db.DecodeOpts(&q.Opts), false)
		if err != nil {
			return 0, err
		}
		req, err := repoTaskRequest(q, opts)
		if err != nil {
			return 0, err
		}
		n := db.NewTask{Method: "newRepo", Request: req, Arch: "noarch", ChannelID: ch.ID, Owner: c.user.ID, Priority: 15}
		if owner != nil {
			n.Owner = *owner
		}
		id, _, err := tx.CreateTask(c.ctx, n)
		if err != nil {
			return 0, err
		}
		made++
		nTasks++
		if isMaven(q) {
			nMaven++
		}
		u := upd(q.ID)
		u.TaskID, u.ClearTask, u.Tries = &id, false, ptr(q.Tries+1)
		h.log.Info("created task for repo request", "task", id, "request", q.ID, "tag", q.TagName)
	}
	// third pass: apply the updates, then clean
	ids := make([]int64, 0, len(updates))
	for id := range updates {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		if err := tx.UpdateRepoRequest(c.ctx, id, *updates[id]); err != nil {
			return 0, err
		}
	}
	if len(ids) > 0 {
		cutoff := float64(h.cfg.Now().UnixMicro())/1e6 - cfg.RequestCleanTime.Seconds()
		if n, err := tx.CleanRepoQueue(c.ctx, cutoff); err != nil {
			return 0, err
		} else if n > 0 {
			h.log.Info("cleaned repo queue entries", "count", n)
		}
	}
	return made, nil
}

// repo.autoRequests(): perm repo. Requests (priority 5 over the default)
// for the tags whose own extra sets repo.auto, lagging by RepoAutoLag or
// the tag's repo.lag.
func mRepoAutoRequests(c *call, a *kojixml.Args) (any, error) {
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("repo"); err != nil {
		return nil, err
	}
	tags, err := c.hub.store.ListTags(c.ctx, db.TagFilter{})
	if err != nil {
		return nil, err
	}
	for _, t := range tags {
		if !pyTruthy(decodeExtra(t.Extra)["repo.auto"]) {
			continue
		}
		lag, ok := tagLag(t)
		if !ok {
			lag = c.hub.cfg.Repo.RepoAutoLag
		}
		ev, err := c.hub.lagEvent(c, t, lag)
		if err != nil {
			return nil, err
		}
		if _, err := c.hub.requestRepo(c, requestArgs{tag: t, minEvent: &ev, opts: map[string]any{}, priority: defaultPriority + 5}); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// repo.updateEndEvents(): perm repo. Records, for each READY repo without
// one, the first later event that changed its tag (Koji's update_end_events).
func mRepoUpdateEndEvents(c *call, a *kojixml.Args) (any, error) {
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("repo"); err != nil {
		return nil, err
	}
	rs, err := c.hub.store.QueryRepos(c.ctx, []db.Clause{{Field: "end_event", Op: "IS", Value: nil}, {Field: "state", Op: "=", Value: int64(db.RepoReady)}})
	if err != nil {
		return nil, err
	}
	tagLast := map[int64]int64{} // tags known unchanged since
	ends := map[int64]int64{}
	for _, r := range rs {
		if last, ok := tagLast[r.TagID]; ok && last <= r.CreateEvent {
			continue
		}
		t, err := c.hub.store.GetTag(c.ctx, r.TagID)
		if errors.Is(err, db.ErrNotFound) {
			continue // deleted tag: kojira expires its repos
		}
		if err != nil {
			return nil, err
		}
		ev := r.CreateEvent
		end, err := c.hub.tagFirstChange(c, t, &ev, true)
		if err != nil {
			return nil, err
		}
		if end != nil {
			ends[r.ID] = *end
			continue
		}
		last, err := c.hub.tagLastChange(c, t, nil, true)
		if err != nil {
			return nil, err
		}
		if last != nil {
			tagLast[r.TagID] = *last
		}
	}
	if len(ends) > 0 {
		if err := c.hub.store.SetRepoEndEvents(c.ctx, ends); err != nil {
			return nil, err
		}
		c.wrote = true
	}
	return nil, nil
}

// ---- files: host.repoInit and host.repoDone -------------------------------

// canonArch is Koji's koji.canonArch.
func canonArch(arch string) string {
	m := func(p string) bool { ok, _ := path.Match(p, arch); return ok }
	switch {
	case m("i?86") || arch == "athlon":
		return "i386"
	case arch == "ia32e":
		return "x86_64"
	case arch == "ppc64le":
		return "ppc64le"
	case m("ppc64*"):
		return "ppc64"
	case m("sparc64*"):
		return "sparc64"
	case m("sparc*"):
		return "sparc"
	case m("alpha*"):
		return "alpha"
	case m("arm*h*"):
		return "armhfp"
	case m("arm*"):
		return "arm"
	}
	return arch
}

// isDebuginfo is Koji's koji.is_debuginfo.
func isDebuginfo(name string) bool {
	return strings.HasSuffix(name, "-debuginfo") || strings.HasSuffix(name, "-debugsource") || strings.Contains(name, "-debuginfo-")
}

// safeDirName refuses a name that cannot be one directory under repos/
// (tag names are checked at creation; this guards every path built here).
func safeDirName(what, name string) error {
	if why := badComponent(name); why != "" || strings.ContainsRune(name, '/') || strings.HasPrefix(name, ".") {
		return genericErr("%s %s cannot be a directory name", what, quoteOdd(name))
	}
	return nil
}

// reposRel is a repo's directory relative to topdir (Koji's pathinfo.repo).
func reposRel(tagName string, repoID int64) string {
	return path.Join("repos", tagName, strconv.FormatInt(repoID, 10))
}

// noSymlinkDir checks that p is a directory and not a symbolic link.
func noSymlinkDir(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.IsDir()
}

// writeFileAtomic writes dir/name through a temporary file, fsynced and
// renamed into place.
func writeFileAtomic(dir, name string, write func(w *bufio.Writer) error) error {
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, bareErr(err))
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriter(tmp)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, bareErr(err))
	}
	return nil
}

// syncDir fsyncs a directory so that renames in it last.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// pyJSONLine renders ordered key/value pairs as Python's json.dumps does
// (", " and ": " separators, non-ASCII as \u escapes), one line. It runs
// once per RPM of a repo, so the common types are written directly.
func pyJSONLine(kv ...any) (string, error) {
	b := make([]byte, 0, 64*len(kv)/2)
	b = append(b, '{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b = append(b, ", "...)
		}
		k, _ := kv[i].(string)
		b = appendPyJSONString(b, k)
		b = append(b, ": "...)
		switch v := kv[i+1].(type) {
		case nil:
			b = append(b, "null"...)
		case bool:
			b = strconv.AppendBool(b, v)
		case string:
			b = appendPyJSONString(b, v)
		case int:
			b = strconv.AppendInt(b, int64(v), 10)
		case int64:
			b = strconv.AppendInt(b, v, 10)
		default:
			j, err := json.Marshal(v)
			if err != nil {
				return "", err
			}
			b = append(b, j...)
		}
	}
	b = append(b, '}')
	return string(b), nil
}

// appendPyJSONString appends s quoted as Python's json.dumps quotes it.
func appendPyJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"':
			b = append(b, `\"`...)
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r == '\b':
			b = append(b, `\b`...)
		case r == '\f':
			b = append(b, `\f`...)
		case r < 0x20 || (r >= 0x7f && r < 0x10000):
			b = fmt.Appendf(b, `\u%04x`, r)
		case r >= 0x10000:
			r -= 0x10000
			b = fmt.Appendf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			b = append(b, byte(r))
		}
	}
	return append(b, '"')
}

// repoFile is one RPM of a repo: its pkglist line and rpmlist.jsonl line.
type repoFile struct {
	name    string
	arch    string
	relpath string
	json    string
}

// repoContent is what repo_init lists: the RPMs of the latest builds of
// the tag with its inheritance as of ev (all tagged builds when the tag's
// extra sets repo_include_all), builds whose package is blocked or not
// listed left out (Koji's readTaggedBuilds), and the blocked package names.
func (h *Hub) repoContent(c *call, t db.Tag, ev int64) (files []repoFile, blocked []string, err error) {
	// One walk of the inheritance and one read of the package list serve
	// both the blocked names and the builds (readTagged would read them
	// again).
	order, err := h.tagLinks(c, t.ID, &ev)
	if err != nil {
		return nil, nil, err
	}
	pkgs, err := inheritedPackageListIn(c, h.store, order, &ev, nil)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range pkgs {
		if e.Blocked {
			blocked = append(blocked, e.PackageName)
		}
	}
	sort.Strings(blocked)
	latest := int64(1)
	if pyTruthy(decodeExtra(t.Extra)["repo_include_all"]) {
		latest = 0
	}
	tbs, err := readTaggedIn(c, h.store, order, &ev, latest, db.TaggedFilter{Brief: true}, pkgs)
	if err != nil {
		return nil, nil, err
	}
	var buildIDs []int64
	builds := make(map[int64]db.TaggedBuild, len(tbs))
	for _, tb := range tbs {
		if _, dup := builds[tb.ID]; dup {
			continue
		}
		builds[tb.ID] = tb
		buildIDs = append(buildIDs, tb.ID)
	}
	if len(buildIDs) == 0 {
		return nil, blocked, nil
	}
	// Each build's files come from the cache while its RPM rows did not
	// change; the others are read (one query) and cached.
	own := make(map[int64][]repoFile, len(buildIDs))
	var missing []int64
	total := 0
	for _, id := range buildIDs {
		if f, ok := h.rpmLines.get(builds[id]); ok {
			own[id] = f
			total += len(f)
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		rpms, err := h.store.ListRPMs(c.ctx, db.RPMFilter{BuildIDs: missing})
		if err != nil {
			return nil, nil, err
		}
		read, err := buildRepoFiles(builds, rpms)
		if err != nil {
			return nil, nil, err
		}
		for _, id := range missing {
			own[id] = read[id]
			total += len(read[id])
			h.rpmLines.put(builds[id], read[id])
		}
	}
	files = make([]repoFile, 0, total)
	for _, id := range buildIDs {
		files = append(files, own[id]...)
	}
	return files, blocked, nil
}

// buildRepoFiles turns RPM rows into each build's repo files: its RPMs by
// file name, each with its package path and rpmlist.jsonl line.
func buildRepoFiles(builds map[int64]db.TaggedBuild, rpms []db.RPM) (map[int64][]repoFile, error) {
	type named struct {
		file string
		rpm  db.RPM
	}
	byBuild := map[int64][]named{}
	for _, r := range rpms {
		byBuild[r.BuildID] = append(byBuild[r.BuildID], named{r.Filename(), r})
	}
	out := make(map[int64][]repoFile, len(byBuild))
	for id, own := range byBuild {
		b := builds[id]
		slices.SortStableFunc(own, func(x, y named) int { return strings.Compare(x.file, y.file) })
		dir := path.Join("toplink/packages", b.PackageName, b.Version, b.Release)
		files := make([]repoFile, 0, len(own))
		for _, n := range own {
			r := n.rpm
			var epoch any
			if r.Epoch != nil {
				epoch = *r.Epoch
			}
			line, err := pyJSONLine("name", r.Name, "version", r.Version, "release", r.Release, "arch", r.Arch, "id", r.ID,
				"epoch", epoch, "draft", false, "payloadhash", r.PayloadHash, "size", r.Size, "buildtime", r.BuildTime,
				"buildroot_id", optInt(r.BuildrootID), "build_id", r.BuildID, "metadata_only", false, "extra", nil)
			if err != nil {
				return nil, err
			}
			files = append(files, repoFile{name: r.Name, arch: r.Arch, json: line, relpath: dir + "/" + r.Arch + "/" + n.file})
		}
		out[id] = files
	}
	return out, nil
}

// emptyRepoText is what an arch without packages says (kojid's EMPTY_REPO).
const emptyRepoText = "This repo is empty because its tag has no content for this arch\n"

// repoJSONOpts keeps Koji's order of the options in repo.json.
type repoJSONOpts struct {
	Src         bool `json:"src"`
	Debuginfo   bool `json:"debuginfo"`
	SeparateSrc bool `json:"separate_src"`
	Maven       bool `json:"maven"`
}

// repoJSON is repo.json as Koji's repo_init writes it, in its order.
type repoJSON struct {
	ID              int64          `json:"id"`
	Tag             string         `json:"tag"`
	TagID           int64          `json:"tag_id"`
	TaskID          *int64         `json:"task_id"`
	EventID         int64          `json:"event_id"`
	Opts            repoJSONOpts   `json:"opts"`
	CustomOpts      map[string]any `json:"custom_opts"`
	WithSrc         bool           `json:"with_src"`
	WithSeparateSrc bool           `json:"with_separate_src"`
	WithDebuginfo   bool           `json:"with_debuginfo"`
}

// repoGroupsComps writes groups/comps.xml of a new repo: the tag's groups
// as of ev with inheritance, required groups expanded (Koji's
// generate_comps(readTagGroups(tag, event, inherit=True), expand_groups=True));
// the document itself is groups.go's writeRepoComps.
func (h *Hub) repoGroupsComps(c *call, t db.Tag, ev int64, repoDir string) error {
	dir := filepath.Join(repoDir, "groups")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("create groups directory: %w", bareErr(err))
	}
	return writeFileAtomic(dir, "comps.xml", func(w *bufio.Writer) error {
		return h.writeRepoComps(c.ctx, w, t.ID, &ev)
	})
}

// host.repoInit(tag, task_id=None, event=None, opts=None) -> [repo_id, event_id]:
// Koji's repo_init. The repo row is inserted in INIT and its directory,
// written under a temporary name, appears as repos/<tag>/<repo_id> when the
// row commits: repo.json and, per canonical arch of the tag, pkglist
// (paths through the toplink symlink to topdir), rpmlist.jsonl, blocklist,
// and EMPTY_REPO where the arch has no packages.
func mHostRepoInit(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "tag")
	taskArg := a.OptAny(1, "task_id", nil)
	evArg := a.OptAny(2, "event", nil)
	optsArg := a.OptAny(3, "opts", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if _, err := c.requireHost(); err != nil {
		return nil, err
	}
	h := c.hub
	var taskID *int64
	if taskArg != nil {
		id, err := intArg("task_id", taskArg)
		if err != nil {
			return nil, err
		}
		if _, err := getTask(c, id); err != nil {
			return nil, err
		}
		taskID = &id
	}
	var ev int64
	if evArg != nil {
		id, err := intArg("event", evArg)
		if err != nil {
			return nil, err
		}
		if _, err := h.store.GetEvent(c.ctx, id); errors.Is(err, db.ErrNotFound) {
			return nil, genericErr("No such event: %d", id)
		} else if err != nil {
			return nil, err
		}
		ev = id
	}
	t, err := h.mustTag(c, info)
	if err != nil {
		return nil, err
	}
	if err := safeDirName("tag name", t.Name); err != nil {
		return nil, err
	}
	override, _ := convertRepoOpts(optsArg, false)
	opts, custom := h.repoOpts(t, override)
	if opts["maven"] == true {
		return nil, genericErr("Maven support not enabled")
	}
	var arches []string
	seen := map[string]bool{}
	addArch := func(a string) {
		if !seen[a] {
			seen[a] = true
			arches = append(arches, a)
		}
	}
	if opts["separate_src"] == true {
		addArch("src")
	}
	if t.Arches != nil {
		for _, x := range strings.Fields(*t.Arches) {
			if x = canonArch(x); x != "src" && x != "noarch" {
				if err := safeDirName("arch", x); err != nil {
					return nil, err
				}
				addArch(x)
			}
		}
	}
	if ev == 0 {
		if ev, err = h.store.NewEvent(c.ctx); err != nil {
			return nil, err
		}
		c.wrote = true
	}
	files, blocked, err := h.repoContent(c, t, ev)
	if err != nil {
		return nil, err
	}
	begin, err := h.tagLastChange(c, t, &ev, true)
	if err != nil {
		return nil, err
	}
	if begin == nil {
		begin = &ev
	}
	end, err := h.tagFirstChange(c, t, &ev, true)
	if err != nil {
		return nil, err
	}
	if err := h.ensureReposDir(); err != nil {
		return nil, err
	}
	tagDir := filepath.Join(h.cfg.TopDir, "repos", t.Name)
	if err := os.Mkdir(tagDir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("create repos/%s: %w", t.Name, bareErr(err))
	}
	if !noSymlinkDir(tagDir) {
		return nil, genericErr("repos/%s is not a directory", t.Name)
	}
	tmp, err := os.MkdirTemp(tagDir, ".repo-init-*")
	if err != nil {
		return nil, fmt.Errorf("create repo directory: %w", bareErr(err))
	}
	defer os.RemoveAll(tmp) // gone once renamed into place
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	if err := h.writeRepoArches(tmp, arches, files, blocked, opts); err != nil {
		return nil, err
	}
	if err := h.repoGroupsComps(c, t, ev, tmp); err != nil {
		return nil, err
	}
	var repoID int64
	err = h.store.WithTx(c.ctx, func(tx *db.Store) error {
		var err error
		repoID, err = tx.CreateRepo(c.ctx, db.NewRepo{TagID: t.ID, CreateEvent: ev, BeginEvent: begin, EndEvent: end,
			State: db.RepoInit, Opts: db.EncodeOpts(opts), CustomOpts: db.EncodeOpts(custom), TaskID: taskID})
		if err != nil {
			return err
		}
		b := func(k string) bool { v, _ := opts[k].(bool); return v }
		info := repoJSON{ID: repoID, Tag: t.Name, TagID: t.ID, TaskID: taskID, EventID: ev,
			Opts:       repoJSONOpts{Src: b("src"), Debuginfo: b("debuginfo"), SeparateSrc: b("separate_src"), Maven: b("maven")},
			CustomOpts: custom, WithSrc: b("src"), WithSeparateSrc: b("separate_src"), WithDebuginfo: b("debuginfo")}
		js, err := json.MarshalIndent(info, "", "  ")
		if err != nil {
			return err
		}
		if err := writeFileAtomic(tmp, "repo.json", func(w *bufio.Writer) error { _, err := w.Write(js); return err }); err != nil {
			return err
		}
		final := filepath.Join(tagDir, strconv.FormatInt(repoID, 10))
		if err := os.Rename(tmp, final); err != nil {
			return fmt.Errorf("publish %s: %w", reposRel(t.Name, repoID), bareErr(err))
		}
		syncDir(tagDir)
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.wrote = true
	h.log.Info("repo init", "repo", repoID, "tag", t.Name, "event", ev, "rpms", len(files))
	return []any{repoID, ev}, nil
}

// writeRepoArches writes each arch's directory of a new repo.
func (h *Hub) writeRepoArches(dir string, arches []string, files []repoFile, blocked []string, opts map[string]any) error {
	perArch := map[string][]repoFile{}
	has := func(a string) bool { _, ok := perArch[a]; return ok }
	for _, a := range arches {
		perArch[a] = nil
	}
	seen := map[string]bool{}
	add := func(a string, f repoFile) {
		if k := a + "\x00" + f.relpath; !seen[k] {
			seen[k] = true
			perArch[a] = append(perArch[a], f)
		}
	}
	for _, f := range files {
		if opts["debuginfo"] != true && isDebuginfo(f.name) {
			continue
		}
		switch f.arch {
		case "src":
			if opts["src"] == true {
				for _, a := range arches {
					add(a, f)
				}
			}
			if opts["separate_src"] == true {
				add("src", f)
			}
		case "noarch":
			for _, a := range arches {
				if a != "src" {
					add(a, f)
				}
			}
		default:
			if a := canonArch(f.arch); has(a) && a != "src" {
				add(a, f)
			}
		}
	}
	for _, a := range arches {
		archDir := filepath.Join(dir, a)
		if err := os.Mkdir(archDir, 0o755); err != nil {
			return fmt.Errorf("create arch directory %s: %w", a, bareErr(err))
		}
		// archDir is repos/<tag>/<id>/<arch>: topdir is four levels up
		if err := os.Symlink("../../../..", filepath.Join(archDir, "toplink")); err != nil {
			return fmt.Errorf("toplink of %s: %w", a, bareErr(err))
		}
		list := perArch[a]
		if err := writeFileAtomic(archDir, "pkglist", func(w *bufio.Writer) error {
			for _, f := range list {
				if _, err := w.WriteString(f.relpath + "\n"); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
		if err := writeFileAtomic(archDir, "rpmlist.jsonl", func(w *bufio.Writer) error {
			for _, f := range list {
				if _, err := w.WriteString(f.json + "\n"); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
		if err := writeFileAtomic(archDir, "blocklist", func(w *bufio.Writer) error {
			for _, n := range blocked {
				if _, err := w.WriteString(n + "\n"); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
		if len(list) == 0 {
			if err := writeFileAtomic(archDir, "EMPTY_REPO", func(w *bufio.Writer) error { _, err := w.WriteString(emptyRepoText); return err }); err != nil {
				return err
			}
		}
	}
	return nil
}

// updateRepoJSON applies repo_json_updates to repo.json, keeping the order
// of its keys (new keys go last), in Python's json.dump(indent=2) layout.
func updateRepoJSON(dir string, updates map[string]any) error {
	data, err := os.ReadFile(filepath.Join(dir, "repo.json"))
	if err != nil {
		return genericErr("repo.json: %v", bareErr(err))
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return genericErr("repo.json is not a JSON object")
	}
	var keys []string
	vals := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return genericErr("repo.json: %v", err)
		}
		k, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return genericErr("repo.json: %v", err)
		}
		if _, dup := vals[k]; !dup {
			keys = append(keys, k)
		}
		vals[k] = raw
	}
	newKeys := make([]string, 0, len(updates))
	for k := range updates {
		newKeys = append(newKeys, k)
	}
	sort.Strings(newKeys)
	for _, k := range newKeys {
		b, err := json.Marshal(updates[k])
		if err != nil {
			return paramErr("repo_json_updates: %s: %v", k, err)
		}
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = b
	}
	return writeFileAtomic(dir, "repo.json", func(w *bufio.Writer) error {
		w.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				w.WriteString(",")
			}
			kb, _ := json.Marshal(k)
			var v bytes.Buffer
			if err := json.Indent(&v, vals[k], "  ", "  "); err != nil {
				return err
			}
			w.WriteString("\n  ")
			w.Write(kb)
			w.WriteString(": ")
			w.Write(v.Bytes())
		}
		w.WriteString("\n}")
		return nil
	})
}

// repoMove is one uploaded file host.repoDone moves into a repo.
type repoMove struct{ src, dst, rel string }

// moveFile renames src to dst, copying (through a temporary file) when
// they are on different file systems.
func moveFile(src, dst string) error {
	err := os.Rename(src, dst)
	if !errors.Is(err, syscall.EXDEV) {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := writeFileAtomic(filepath.Dir(dst), filepath.Base(dst), func(w *bufio.Writer) error {
		_, err := io.Copy(w, in)
		return err
	}); err != nil {
		return err
	}
	return os.Remove(src)
}

// maxRepoDoneFiles bounds the files one host.repoDone moves.
const maxRepoDoneFiles = 10000

// host.repoDone(repo_id, data, expire=False, repo_json_updates=None): Koji's
// repoDone. data is {arch: [uploadpath, [file, ...]]}; the uploaded files
// (under topdir/work) go to <arch>/repodata (pkglist files to <arch>/).
// Everything is checked before anything moves. The repo becomes READY
// (fulfilling its requests; EXPIRED with the legacy expire) and, when it
// has the tag's default options and is the newest, repos/<tag>/latest
// points at it.
func mHostRepoDone(c *call, a *kojixml.Args) (any, error) {
	idArg := a.Any(0, "repo_id")
	data := a.Any(1, "data")
	expire := a.OptBool(2, "expire", false)
	updArg := a.OptAny(3, "repo_json_updates", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if _, err := c.requireHost(); err != nil {
		return nil, err
	}
	h := c.hub
	id, err := intArg("repo_id", idArg)
	if err != nil {
		return nil, err
	}
	r, err := h.store.GetRepo(c.ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return nil, genericErr("No such repo: %d", id)
	}
	if err != nil {
		return nil, err
	}
	arches, ok := data.(map[string]any)
	if !ok {
		return nil, paramErr("Invalid type for value %s: %s, expected type <class 'dict'> (argument data)", quoteOdd(pyRepr(data)), typeName(data))
	}
	var updates map[string]any
	if updArg != nil {
		if updates, ok = updArg.(map[string]any); !ok {
			return nil, paramErr("repo_json_updates: expected a struct, got %s", typeName(updArg))
		}
	}
	if r.State != db.RepoInit {
		return nil, genericErr("Repo %d not in INIT state (got %d)", r.ID, r.State)
	}
	if r.Dist { // its arches were moved by host.distRepoMove (distrepo.go)
		return h.distRepoDone(c, r, updates, expire)
	}
	if err := safeDirName("tag name", r.TagName); err != nil {
		return nil, err
	}
	rel := reposRel(r.TagName, r.ID)
	repoDir := filepath.Join(h.cfg.TopDir, filepath.FromSlash(rel))
	if !noSymlinkDir(filepath.Join(h.cfg.TopDir, "repos", r.TagName)) || !noSymlinkDir(repoDir) {
		return nil, genericErr("Repo directory missing: %s", rel)
	}
	var moves []repoMove
	var dataDirs []string
	if !r.Dist {
		names := make([]string, 0, len(arches))
		for k := range arches {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, arch := range names {
			ca := canonArch(arch)
			if err := safeDirName("arch", ca); err != nil {
				return nil, err
			}
			archDir := filepath.Join(repoDir, ca)
			if !noSymlinkDir(archDir) {
				return nil, genericErr("Repo arch directory missing: %s/%s", rel, ca)
			}
			pair, ok := arches[arch].([]any)
			if !ok || len(pair) != 2 {
				return nil, paramErr("data[%s]: expected [uploadpath, [file, ...]]", quoteOdd(arch))
			}
			up, ok1 := pair[0].(string)
			fl, ok2 := pair[1].([]any)
			if !ok1 || !ok2 {
				return nil, paramErr("data[%s]: expected [uploadpath, [file, ...]]", quoteOdd(arch))
			}
			if _, err := workRelPath(up); err != nil {
				return nil, genericErr("Invalid upload directory: %s (%v)", quoteOdd(up), err)
			}
			dataDirs = append(dataDirs, filepath.Join(archDir, "repodata"))
			for _, x := range fl {
				fn, ok := x.(string)
				if !ok {
					return nil, paramErr("data[%s]: file names must be strings, got %s", quoteOdd(arch), typeName(x))
				}
				if why := badComponent(fn); why != "" || strings.ContainsRune(fn, '/') {
					return nil, genericErr("Invalid file name: %s", quoteOdd(fn))
				}
				if len(moves) >= maxRepoDoneFiles {
					return nil, paramErr("data: more than %d files", maxRepoDoneFiles)
				}
				srcRel := up + "/" + fn
				f, _, err := h.openWorkFile(srcRel)
				if err != nil {
					return nil, genericErr("uploaded file missing: %s", quoteOdd(srcRel))
				}
				f.Close()
				dst := filepath.Join(archDir, "repodata", fn)
				if strings.HasSuffix(fn, "pkglist") {
					dst = filepath.Join(archDir, fn)
				}
				moves = append(moves, repoMove{src: filepath.Join(h.cfg.TopDir, "work", filepath.FromSlash(srcRel)), dst: dst, rel: srcRel})
			}
		}
	}
	if updates != nil {
		if err := updateRepoJSON(repoDir, updates); err != nil {
			return nil, err
		}
	}
	for _, d := range dataDirs {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("create repodata: %w", bareErr(err))
		}
		if !noSymlinkDir(d) {
			return nil, genericErr("repodata of %s is not a directory", rel)
		}
	}
	for _, m := range moves {
		if err := moveFile(m.src, m.dst); err != nil {
			return nil, fmt.Errorf("move %s into %s: %w", m.rel, rel, bareErr(err))
		}
	}
	for _, d := range dataDirs {
		syncDir(d)
	}
	if expire {
		h.log.Warn("expire option for repoDone call is deprecated", "repo", r.ID)
		return nil, h.setRepoState(c, r.ID, db.RepoExpired)
	}
	if err := h.setRepoState(c, r.ID, db.RepoReady); err != nil {
		return nil, err
	}
	h.symlinkIfLatest(c, r)
	return nil, nil
}

// symlinkIfLatest is Koji's symlink_if_latest: repos/<tag>/latest points at
// a READY repo with the tag's default options when no newer such repo
// exists. The link is made under a temporary name and renamed over the old.
func (h *Hub) symlinkIfLatest(c *call, r db.Repo) bool {
	if len(db.DecodeOpts(r.CustomOpts)) > 0 && !r.Dist {
		return false
	}
	clauses := []db.Clause{{Field: "tag_id", Op: "=", Value: r.TagID}, {Field: "state", Op: "=", Value: int64(db.RepoReady)},
		{Field: "create_event", Op: ">", Value: r.CreateEvent}, {Field: "custom_opts", Op: "=", Value: map[string]any{}}}
	newer, err := h.store.QueryRepos(c.ctx, clauses)
	if err != nil || len(newer) > 0 {
		return false
	}
	tagDir := filepath.Join(h.cfg.TopDir, "repos", r.TagName)
	tmp := filepath.Join(tagDir, fmt.Sprintf(".latest-%d-%d", r.ID, time.Now().UnixNano()))
	if err := os.Symlink(strconv.FormatInt(r.ID, 10), tmp); err != nil {
		h.log.Error("unable to create latest link", "tag", r.TagName, "repo", r.ID, "err", bareErr(err))
		return false
	}
	if err := os.Rename(tmp, filepath.Join(tagDir, "latest")); err != nil {
		os.Remove(tmp)
		h.log.Error("unable to create latest link", "tag", r.TagName, "repo", r.ID, "err", bareErr(err))
		return false
	}
	syncDir(tagDir)
	return true
}
