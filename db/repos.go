package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Repo states, with Koji's numbers (koji.REPO_STATES).
//
//	INIT ──host.repoDone──▶ READY ──repoExpire──▶ EXPIRED
//	  │                       │                      │
//	  └──────repoProblem──────┴────▶ PROBLEM         │
//	  any state ──repoDelete / repo.setState──▶ DELETED (terminal)
//
// A repo only moves up this list (INIT 0 < READY 1 < EXPIRED 2 < PROBLEM 4),
// except that DELETED (3) is reachable from any state and left from none.
// Entering READY fulfils the matching repo requests.
const (
	RepoInit    = 0
	RepoReady   = 1
	RepoExpired = 2
	RepoDeleted = 3
	RepoProblem = 4
)

var repoStateNames = []string{"INIT", "READY", "EXPIRED", "DELETED", "PROBLEM"}

// RepoStateName returns Koji's name of a repo state.
func RepoStateName(state int) string {
	if state >= 0 && state < len(repoStateNames) {
		return repoStateNames[state]
	}
	return fmt.Sprintf("UNKNOWN(%d)", state)
}

// ValidRepoState reports whether state is one of Koji's repo states.
func ValidRepoState(state int64) bool { return state >= 0 && state < int64(len(repoStateNames)) }

// RepoStateError is a refused repo state change; its text is Koji's.
type RepoStateError struct {
	ID       int64
	From, To int
}

func (e *RepoStateError) Error() string {
	if e.From == RepoDeleted {
		return fmt.Sprintf("Repo %d is deleted", e.ID)
	}
	return fmt.Sprintf("Invalid repo state transition for repo %d: %s -> %s", e.ID, RepoStateName(e.From), RepoStateName(e.To))
}

// RepoTransition tells whether a repo may go from one state to another, as
// Koji's repo_set_state: noop when the state is unchanged (allowed, nothing
// to do), err when the move is refused.
func RepoTransition(id int64, from, to int) (noop bool, err error) {
	switch {
	case from > to && to != RepoDeleted:
		return false, &RepoStateError{ID: id, From: from, To: to}
	case from == to:
		return true, nil
	case from == RepoDeleted:
		return false, &RepoStateError{ID: id, From: from, To: to}
	}
	return false, nil
}

// Repo is a row of repos with its tag's name, its events' times and its
// task's state. Opts and CustomOpts are JSON objects (nil: NULL).
type Repo struct {
	ID          int64
	TagID       int64
	TagName     string
	CreateEvent int64
	CreateTS    float64 // time of create_event
	BeginEvent  *int64
	BeginTS     *float64
	EndEvent    *int64
	EndTS       *float64
	State       int
	Dist        bool
	Opts        *string
	CustomOpts  *string
	TaskID      *int64
	TaskState   *int64
	CreateTime  float64 // Koji's creation_time
	StateTime   float64
}

const repoSelect = `SELECT r.id, r.tag_id, t.name, r.create_event, ce.time, r.begin_event, be.time, r.end_event, ee.time,
	r.state, r.dist, r.opts, r.custom_opts, r.task_id, tk.state, r.create_time, r.state_time
	FROM repos r JOIN tags t ON t.id = r.tag_id JOIN events ce ON ce.id = r.create_event
	LEFT JOIN events be ON be.id = r.begin_event LEFT JOIN events ee ON ee.id = r.end_event
	LEFT JOIN tasks tk ON tk.id = r.task_id`

func scanRepo(sc interface{ Scan(...any) error }) (Repo, error) {
	var r Repo
	var begin, end, task, taskState sql.NullInt64
	var beginTS, endTS sql.NullFloat64
	var opts, custom sql.NullString
	err := sc.Scan(&r.ID, &r.TagID, &r.TagName, &r.CreateEvent, &r.CreateTS, &begin, &beginTS, &end, &endTS,
		&r.State, &r.Dist, &opts, &custom, &task, &taskState, &r.CreateTime, &r.StateTime)
	r.BeginEvent, r.EndEvent, r.TaskID, r.TaskState = nullInt(begin), nullInt(end), nullInt(task), nullInt(taskState)
	r.BeginTS, r.EndTS = nullFloat(beginTS), nullFloat(endTS)
	r.Opts, r.CustomOpts = nullString(opts), nullString(custom)
	return r, mapErr(err)
}

// RepoFields maps Koji's RepoQuery field names to their columns; opts and
// custom_opts are JSON and are matched in Go.
var RepoFields = map[string]string{
	"id": "r.id", "tag_id": "r.tag_id", "tag_name": "t.name",
	"creation_time": "r.create_time", "creation_ts": "r.create_time",
	"state_time": "r.state_time", "state_ts": "r.state_time",
	"create_event": "r.create_event", "create_ts": "ce.time",
	"begin_event": "r.begin_event", "begin_ts": "be.time",
	"end_event": "r.end_event", "end_ts": "ee.time",
	"state": "r.state", "dist": "r.dist", "task_id": "r.task_id", "task_state": "tk.state",
	"opts": "", "custom_opts": "",
}

// Clause is one of Koji's QueryView clauses: [field, op, value].
type Clause struct {
	Field string
	Op    string // IN, =, !=, >, <, >=, <=, IS, IS NOT, @>, <@
	Value any
}

// ErrBadClause is a clause that names an unknown field or operator, or a
// value of the wrong kind; the error's text says which.
var ErrBadClause = errors.New("invalid query clause")

// jsonFilter is a clause on a JSON column, applied after the SQL query.
type jsonFilter struct {
	field string
	op    string
	want  map[string]any // nil with IS / IS NOT: NULL
	isNil bool
}

// whereClauses turns clauses into SQL conditions over fields (field name ->
// column; "" for a JSON column) and the JSON filters to apply in Go.
func whereClauses(fields map[string]string, clauses []Clause) (string, []any, []jsonFilter, error) {
	var conds []string
	var args []any
	var post []jsonFilter
	for _, c := range clauses {
		col, ok := fields[c.Field]
		if !ok {
			return "", nil, nil, fmt.Errorf("%w: Invalid field for query %s", ErrBadClause, c.Field)
		}
		op := strings.ToUpper(c.Op)
		if col == "" {
			f, err := jsonClause(c.Field, op, c.Value)
			if err != nil {
				return "", nil, nil, err
			}
			post = append(post, f)
			continue
		}
		switch op {
		case "IN":
			list, ok := c.Value.([]any)
			if !ok {
				return "", nil, nil, fmt.Errorf("%w: IN needs a list for %s", ErrBadClause, c.Field)
			}
			if len(list) == 0 {
				conds = append(conds, "1=0")
				continue
			}
			for _, v := range list {
				if err := scalarArg(c.Field, v); err != nil {
					return "", nil, nil, err
				}
			}
			conds = append(conds, col+" IN ("+placeholders(len(list))+")")
			args = append(args, list...)
		case "=", "!=", ">", "<", ">=", "<=":
			if err := scalarArg(c.Field, c.Value); err != nil {
				return "", nil, nil, err
			}
			if c.Value == nil {
				conds = append(conds, "1=0") // SQL: comparing with NULL is never true
				continue
			}
			conds = append(conds, col+" "+op+" ?")
			args = append(args, c.Value)
		case "IS", "IS NOT":
			var lit string
			switch v := c.Value.(type) {
			case nil:
				lit = "NULL"
			case bool:
				lit = "FALSE"
				if v {
					lit = "TRUE"
				}
			default:
				return "", nil, nil, fmt.Errorf("%w: %s %s needs None, True or False", ErrBadClause, c.Field, op)
			}
			conds = append(conds, col+" "+op+" "+lit)
		case "@>", "<@":
			return "", nil, nil, fmt.Errorf("%w: %s applies to JSON fields, not %s", ErrBadClause, op, c.Field)
		default:
			return "", nil, nil, fmt.Errorf("%w: Invalid operator: %s", ErrBadClause, c.Op)
		}
	}
	return strings.Join(conds, " AND "), args, post, nil
}

func scalarArg(field string, v any) error {
	switch v.(type) {
	case nil, int64, float64, string, bool:
		return nil
	}
	return fmt.Errorf("%w: value for %s must be a number, string, boolean or None, not %T", ErrBadClause, field, v)
}

func jsonClause(field, op string, v any) (jsonFilter, error) {
	f := jsonFilter{field: field, op: op}
	switch op {
	case "IS", "IS NOT":
		if v != nil {
			return f, fmt.Errorf("%w: %s %s needs None", ErrBadClause, field, op)
		}
		f.isNil = true
		return f, nil
	case "=", "!=", "@>", "<@":
	default:
		return f, fmt.Errorf("%w: operator %s does not apply to %s", ErrBadClause, op, field)
	}
	switch x := v.(type) {
	case map[string]any:
		f.want = x
	case string: // Koji's callers pass json.dumps(opts)
		if err := json.Unmarshal([]byte(x), &f.want); err != nil || f.want == nil {
			return f, fmt.Errorf("%w: %s: want a JSON object", ErrBadClause, field)
		}
	default:
		return f, fmt.Errorf("%w: %s: want a struct or JSON object, not %T", ErrBadClause, field, v)
	}
	return f, nil
}

// DecodeOpts decodes a JSON object column; nil for NULL or garbage.
func DecodeOpts(js *string) map[string]any {
	if js == nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(*js), &m); err != nil {
		return nil
	}
	return m
}

// EncodeOpts encodes repo options as a JSON object (keys sorted).
func EncodeOpts(m map[string]any) string {
	if m == nil {
		m = map[string]any{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// OptsContain reports whether a holds every key of b with an equal value
// (PostgreSQL's jsonb a @> b).
func OptsContain(a, b map[string]any) bool {
	for k, bv := range b {
		av, ok := a[k]
		if !ok || !jsonEqual(av, bv) {
			return false
		}
	}
	return true
}

func jsonEqual(a, b any) bool {
	norm := func(v any) any {
		var out any
		bs, err := json.Marshal(v)
		if err != nil || json.Unmarshal(bs, &out) != nil {
			return v
		}
		return out
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func (f jsonFilter) match(js *string) bool {
	if f.isNil {
		return (js == nil) == (f.op == "IS")
	}
	have := DecodeOpts(js)
	if have == nil {
		return false
	}
	switch f.op {
	case "=":
		return OptsContain(have, f.want) && OptsContain(f.want, have)
	case "!=":
		return !(OptsContain(have, f.want) && OptsContain(f.want, have))
	case "@>":
		return OptsContain(have, f.want)
	case "<@":
		return OptsContain(f.want, have)
	}
	return false
}

// QueryRepos returns the repos matching every clause, by id.
func (s *Store) QueryRepos(ctx context.Context, clauses []Clause) ([]Repo, error) {
	where, args, post, err := whereClauses(RepoFields, clauses)
	if err != nil {
		return nil, err
	}
	q := repoSelect
	if where != "" {
		q += " WHERE " + where
	}
	var out []Repo
	err = scanAll(s.queryW(ctx, q+" ORDER BY r.id", args...))(func(rows *sql.Rows) error {
		r, err := scanRepo(rows)
		if err != nil {
			return err
		}
		for _, f := range post {
			js := r.Opts
			if f.field == "custom_opts" {
				js = r.CustomOpts
			}
			if !f.match(js) {
				return nil
			}
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// GetRepo reads a repo; ErrNotFound when there is none.
func (s *Store) GetRepo(ctx context.Context, id int64) (Repo, error) {
	l, err := s.QueryRepos(ctx, []Clause{{"id", "=", id}})
	if err != nil {
		return Repo{}, err
	}
	if len(l) == 0 {
		return Repo{}, fmt.Errorf("repo %d: %w", id, ErrNotFound)
	}
	return l[0], nil
}

// NewRepo is what CreateRepo needs.
type NewRepo struct {
	TagID       int64
	CreateEvent int64
	BeginEvent  *int64
	EndEvent    *int64
	State       int
	Dist        bool
	Opts        string // JSON
	CustomOpts  string // JSON
	TaskID      *int64
}

// CreateRepo inserts a repo row and returns its id.
func (s *Store) CreateRepo(ctx context.Context, n NewRepo) (int64, error) {
	now := s.Now()
	id, err := s.insertID(ctx, `INSERT INTO repos (tag_id, create_event, begin_event, end_event, state, dist, opts, custom_opts, task_id, create_time, state_time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, n.TagID, n.CreateEvent, n.BeginEvent, n.EndEvent, n.State, n.Dist, n.Opts, n.CustomOpts, n.TaskID, now, now)
	if err != nil {
		return 0, fmt.Errorf("create repo for tag %d: %w", n.TagID, err)
	}
	return id, nil
}

// LockRepo reads a repo's state with its row locked for the transaction.
func (s *Store) LockRepo(ctx context.Context, id int64) (int, error) {
	var st int
	err := s.queryRowW(ctx, "SELECT state FROM repos WHERE id = ?"+s.forUpdate(false), id).Scan(&st)
	if err != nil {
		return 0, fmt.Errorf("repo %d: %w", id, mapErr(err))
	}
	return st, nil
}

// SetRepoState moves a repo to state under Koji's rules (RepoTransition),
// and, entering READY, marks the repo requests it fulfils (Koji's
// repo_done_hook). Setting the state a repo already has changes nothing.
func (s *Store) SetRepoState(ctx context.Context, id int64, state int) error {
	return s.WithTx(ctx, func(tx *Store) error {
		old, err := tx.LockRepo(ctx, id)
		if err != nil {
			return err
		}
		noop, err := RepoTransition(id, old, state)
		if err != nil || noop {
			return err
		}
		if _, err := tx.exec(ctx, "UPDATE repos SET state = ?, state_time = ? WHERE id = ?", state, tx.Now(), id); err != nil {
			return fmt.Errorf("repo %d: %w", id, err)
		}
		if state == RepoReady {
			return tx.fulfilRequests(ctx, id)
		}
		return nil
	})
}

// fulfilRequests is Koji's repo_done_hook: the active requests of the
// repo's tag whose options the repo has (and which asked for every custom
// option it has), at its event or with a min_event at or before it, get
// the repo and become inactive.
func (s *Store) fulfilRequests(ctx context.Context, repoID int64) error {
	r, err := s.GetRepo(ctx, repoID)
	if err != nil {
		return err
	}
	if r.Dist {
		return nil
	}
	opts, custom := DecodeOpts(r.Opts), DecodeOpts(r.CustomOpts)
	if opts == nil || custom == nil {
		return nil
	}
	reqs, err := s.QueryRepoRequests(ctx, []Clause{{"tag_id", "=", r.TagID}, {"active", "IS", true}, {"repo_id", "IS", nil}})
	if err != nil {
		return err
	}
	var ids []int64
	for _, q := range reqs {
		ro := DecodeOpts(&q.Opts)
		if ro == nil || !OptsContain(opts, ro) || !OptsContain(ro, custom) {
			continue
		}
		if (q.MinEvent != nil && *q.MinEvent <= r.CreateEvent) || (q.AtEvent != nil && *q.AtEvent == r.CreateEvent) {
			ids = append(ids, q.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, err = s.exec(ctx, "UPDATE repo_queue SET repo_id = ?, active = FALSE, update_time = ? WHERE id IN ("+placeholders(len(ids))+")",
		append([]any{repoID, s.Now()}, int64Args(ids)...)...)
	return err
}

// RepoReferences returns the buildroots that use a repo and are not expired.
func (s *Store) RepoReferences(ctx context.Context, repoID int64) ([]Buildroot, error) {
	all, err := s.ListBuildroots(ctx, BuildrootFilter{RepoID: &repoID})
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, b := range all {
		if b.State != BuildrootExpired {
			out = append(out, b)
		}
	}
	return out, nil
}

// SetRepoEndEvents records the end_event of repos (id -> event).
func (s *Store) SetRepoEndEvents(ctx context.Context, ends map[int64]int64) error {
	ids := make([]int64, 0, len(ends))
	for id := range ends {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return s.WithTx(ctx, func(tx *Store) error {
		for _, id := range ids {
			if _, err := tx.exec(ctx, "UPDATE repos SET end_event = ? WHERE id = ?", ends[id], id); err != nil {
				return fmt.Errorf("repo %d end event: %w", id, err)
			}
		}
		return nil
	})
}

// RepoRequest is a row of repo_queue with its owner's and tag's names and
// its task's state. Opts is a JSON object.
type RepoRequest struct {
	ID         int64
	CreateTime float64
	OwnerID    int64
	OwnerName  string
	Priority   int
	TagID      int64
	TagName    string
	AtEvent    *int64
	MinEvent   *int64
	Opts       string
	UpdateTime float64
	Active     bool
	TaskID     *int64
	TaskState  *int64
	Tries      int
	RepoID     *int64
}

// RepoRequestFields maps Koji's RepoQueueQuery field names to columns.
var RepoRequestFields = map[string]string{
	"id": "q.id", "create_time": "q.create_time", "create_ts": "q.create_time", "owner": "q.owner", "owner_name": "u.name",
	"priority": "q.priority", "tag_id": "q.tag_id", "tag_name": "t.name", "at_event": "q.at_event", "min_event": "q.min_event",
	"opts": "", "update_time": "q.update_time", "update_ts": "q.update_time", "active": "q.active", "task_id": "q.task_id",
	"task_state": "tk.state", "tries": "q.tries", "repo_id": "q.repo_id",
}

const repoRequestSelect = `SELECT q.id, q.create_time, q.owner, u.name, q.priority, q.tag_id, t.name, q.at_event, q.min_event, q.opts,
	q.update_time, q.active, q.task_id, tk.state, q.tries, q.repo_id
	FROM repo_queue q JOIN users u ON u.id = q.owner JOIN tags t ON t.id = q.tag_id LEFT JOIN tasks tk ON tk.id = q.task_id`

// QueryRepoRequests returns the requests matching every clause, in queue
// order (priority, then id).
func (s *Store) QueryRepoRequests(ctx context.Context, clauses []Clause) ([]RepoRequest, error) {
	where, args, post, err := whereClauses(RepoRequestFields, clauses)
	if err != nil {
		return nil, err
	}
	q := repoRequestSelect
	if where != "" {
		q += " WHERE " + where
	}
	var out []RepoRequest
	err = scanAll(s.queryW(ctx, q+" ORDER BY q.priority, q.id", args...))(func(rows *sql.Rows) error {
		var r RepoRequest
		var at, min, task, taskState, repo sql.NullInt64
		err := rows.Scan(&r.ID, &r.CreateTime, &r.OwnerID, &r.OwnerName, &r.Priority, &r.TagID, &r.TagName, &at, &min, &r.Opts,
			&r.UpdateTime, &r.Active, &task, &taskState, &r.Tries, &repo)
		if err != nil {
			return err
		}
		r.AtEvent, r.MinEvent, r.TaskID, r.TaskState, r.RepoID = nullInt(at), nullInt(min), nullInt(task), nullInt(taskState), nullInt(repo)
		for _, f := range post {
			if !f.match(&r.Opts) {
				return nil
			}
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// GetRepoRequest reads a request; ErrNotFound when there is none.
func (s *Store) GetRepoRequest(ctx context.Context, id int64) (RepoRequest, error) {
	l, err := s.QueryRepoRequests(ctx, []Clause{{"id", "=", id}})
	if err != nil {
		return RepoRequest{}, err
	}
	if len(l) == 0 {
		return RepoRequest{}, fmt.Errorf("repo request %d: %w", id, ErrNotFound)
	}
	return l[0], nil
}

// NewRepoRequest is what CreateRepoRequest needs; exactly one of AtEvent
// and MinEvent is set.
type NewRepoRequest struct {
	OwnerID  int64
	Priority int
	TagID    int64
	AtEvent  *int64
	MinEvent *int64
	Opts     string // JSON
}

// CreateRepoRequest queues a repo request and returns its id.
func (s *Store) CreateRepoRequest(ctx context.Context, n NewRepoRequest) (int64, error) {
	now := s.Now()
	id, err := s.insertID(ctx, `INSERT INTO repo_queue (create_time, owner, priority, tag_id, at_event, min_event, opts, update_time, active, tries)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, TRUE, 0)`, now, n.OwnerID, n.Priority, n.TagID, n.AtEvent, n.MinEvent, n.Opts, now)
	if err != nil {
		return 0, fmt.Errorf("queue repo request for tag %d: %w", n.TagID, err)
	}
	return id, nil
}

// RepoRequestUpdate holds changes to a request; nil leaves a field alone.
type RepoRequestUpdate struct {
	Priority  *int
	TaskID    *int64
	ClearTask bool
	Tries     *int
	Active    *bool
	RepoID    *int64
}

// UpdateRepoRequest changes a request and its update_time.
func (s *Store) UpdateRepoRequest(ctx context.Context, id int64, u RepoRequestUpdate) error {
	sets := []string{"update_time = ?"}
	args := []any{s.Now()}
	add := func(col string, v any) { sets = append(sets, col+" = ?"); args = append(args, v) }
	if u.Priority != nil {
		add("priority", *u.Priority)
	}
	if u.ClearTask {
		sets = append(sets, "task_id = NULL")
	} else if u.TaskID != nil {
		add("task_id", *u.TaskID)
	}
	if u.Tries != nil {
		add("tries", *u.Tries)
	}
	if u.RepoID != nil {
		add("repo_id", *u.RepoID)
	}
	if u.Active != nil {
		add("active", *u.Active)
	}
	n, err := s.execN(ctx, "UPDATE repo_queue SET "+strings.Join(sets, ", ")+" WHERE id = ?", append(args, id)...)
	if err != nil {
		return fmt.Errorf("repo request %d: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("repo request %d: %w", id, ErrNotFound)
	}
	return nil
}

// CleanRepoQueue deletes inactive requests last updated before cutoff
// (seconds since the epoch) and returns how many.
func (s *Store) CleanRepoQueue(ctx context.Context, cutoff float64) (int64, error) {
	return s.execN(ctx, "DELETE FROM repo_queue WHERE active = FALSE AND update_time < ?", cutoff)
}

// LastEventBefore returns the newest event older than ts; ErrNotFound when
// there is none.
func (s *Store) LastEventBefore(ctx context.Context, ts float64) (Event, error) {
	var e Event
	err := s.queryRow(ctx, "SELECT id, time FROM events WHERE time < ? ORDER BY id DESC LIMIT 1", ts).Scan(&e.ID, &e.Time)
	return e, mapErr(err)
}

// AddTagUpdate records a change to a tag that no versioned table holds.
func (s *Store) AddTagUpdate(ctx context.Context, tagID, event int64, updater *int64, updateType int) error {
	_, err := s.exec(ctx, "INSERT INTO tag_updates (tag_id, update_event, updater_id, update_type) VALUES (?, ?, ?, ?)", tagID, event, updater, updateType)
	if err != nil {
		return fmt.Errorf("record update of tag %d: %w", tagID, err)
	}
	return nil
}

// Tag update types (Koji's TAG_UPDATE_TYPES).
const (
	TagUpdateVolumeChange = 0
	TagUpdateImport       = 1
	TagUpdateManual       = 2
)

// tagChangeTables are the versioned tables (create_event, revoke_event)
// whose rows for a tag are changes of that tag's content, as in Koji's
// tag_last_change_event.
var tagChangeTables = []string{"tag_listing", "tag_inheritance", "tag_packages", "tag_external_repos",
	"group_config", "group_req_listing", "group_package_listing"}

// tagChangeEvent returns the max (last) or min (first) event among the
// tags' creation, their tag_updates and their versioned rows' create and
// revoke events, counting only events below before (last) or above after
// (first); nil when there is none.
func (s *Store) tagChangeEvent(ctx context.Context, tagIDs []int64, last bool, bound *int64) (*int64, error) {
	if len(tagIDs) == 0 {
		return nil, nil
	}
	agg, cmp := "MIN", ">"
	if last {
		agg, cmp = "MAX", "<"
	}
	in := " IN (" + placeholders(len(tagIDs)) + ")"
	ids := int64Args(tagIDs)
	type part struct{ col, from string }
	parts := []part{{"create_event", "tags WHERE id" + in}, {"update_event", "tag_updates WHERE tag_id" + in}}
	for _, t := range tagChangeTables {
		parts = append(parts, part{"create_event", t + " WHERE tag_id" + in}, part{"revoke_event", t + " WHERE tag_id" + in})
	}
	// the configuration and the data (kojira's repo.setExternalRepoData)
	// of the external repos the tags use (at the bound)
	cond, condArgs := activeAt("x", bound)
	nTag := len(parts)
	for _, t := range []string{"external_repo_config", "external_repo_data"} {
		ext := t + " WHERE external_repo_id IN (SELECT x.external_repo_id FROM tag_external_repos x WHERE " + cond + " AND x.tag_id" + in + ")"
		parts = append(parts, part{"create_event", ext}, part{"revoke_event", ext})
	}
	var best *int64
	for i, p := range parts {
		q := "SELECT " + agg + "(" + p.col + ") FROM " + p.from
		args := append([]any{}, ids...)
		if i >= nTag {
			args = append(append([]any{}, condArgs...), ids...)
		}
		if bound != nil {
			q += " AND " + p.col + " " + cmp + " ?"
			args = append(args, *bound)
		}
		var v sql.NullInt64
		if err := s.queryRowW(ctx, q, args...).Scan(&v); err != nil {
			return nil, fmt.Errorf("tag change event: %w", mapErr(err))
		}
		if !v.Valid {
			continue
		}
		if best == nil || (last && v.Int64 > *best) || (!last && v.Int64 < *best) {
			x := v.Int64
			best = &x
		}
	}
	return best, nil
}

// TagLastChangeEvent is Koji's tag_last_change_event over the tags given
// (a tag and its inheritance): the newest event that changed them, only
// counting events before before when it is set; nil when there is none.
func (s *Store) TagLastChangeEvent(ctx context.Context, tagIDs []int64, before *int64) (*int64, error) {
	return s.tagChangeEvent(ctx, tagIDs, true, before)
}

// TagFirstChangeEvent is Koji's tag_first_change_event over the tags
// given: the first event after after that changed them (nil: none).
func (s *Store) TagFirstChangeEvent(ctx context.Context, tagIDs []int64, after int64) (*int64, error) {
	return s.tagChangeEvent(ctx, tagIDs, false, &after)
}

// TagChangedSinceEvent reports whether any of the tags changed after event.
func (s *Store) TagChangedSinceEvent(ctx context.Context, event int64, tagIDs []int64) (bool, error) {
	ev, err := s.TagFirstChangeEvent(ctx, tagIDs, event)
	return ev != nil, err
}
