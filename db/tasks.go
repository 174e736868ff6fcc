package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Task states, with Koji's numbers.
//
//	FREE ──scheduler──▶ ASSIGNED ──host.openTask──▶ OPEN ──▶ CLOSED | FAILED
//	  ▲                    │                          │
//	  └──── free, refuse, assignment timeout, lost host ┘
//	CANCELED from any state that is not finished; it cascades to children.
const (
	TaskFree     = 0
	TaskOpen     = 1
	TaskClosed   = 2
	TaskCanceled = 3
	TaskAssigned = 4
	TaskFailed   = 5
)

// TaskStateName returns Koji's name of a task state.
func TaskStateName(state int) string {
	switch state {
	case TaskFree:
		return "FREE"
	case TaskOpen:
		return "OPEN"
	case TaskClosed:
		return "CLOSED"
	case TaskCanceled:
		return "CANCELED"
	case TaskAssigned:
		return "ASSIGNED"
	case TaskFailed:
		return "FAILED"
	}
	return fmt.Sprintf("UNKNOWN(%d)", state)
}

// TaskFinished reports whether a state is final.
func TaskFinished(state int) bool {
	return state == TaskClosed || state == TaskCanceled || state == TaskFailed
}

// Errors of task transitions.
var (
	ErrNotOwner      = errors.New("host does not own task")
	ErrTaskFinished  = errors.New("task is finished")
	ErrParentNotOpen = errors.New("parent task is not open")
)

// Task is a row of tasks.
type Task struct {
	ID             int64
	State          int
	CreateTime     float64
	StartTime      *float64
	CompletionTime *float64
	ChannelID      int64
	HostID         *int64
	Parent         *int64
	Label          *string
	Waiting        *bool
	Awaited        *bool
	Owner          int64
	Method         string
	Request        string
	Result         *string
	Arch           string
	Priority       int
	Weight         float64
	FreeReason     *string
	Retries        int
}

const taskCols = "t.id, t.state, t.create_time, t.start_time, t.completion_time, t.channel_id, t.host_id, t.parent, t.label, t.waiting, t.awaited, t.owner, t.method, t.request, t.result, t.arch, t.priority, t.weight, t.free_reason, t.retries"

// taskColsNoBlobs leaves request and result out, for listings that do not need them.
const taskColsNoBlobs = "t.id, t.state, t.create_time, t.start_time, t.completion_time, t.channel_id, t.host_id, t.parent, t.label, t.waiting, t.awaited, t.owner, t.method, '', NULL, t.arch, t.priority, t.weight, t.free_reason, t.retries"

func scanTask(sc interface{ Scan(...any) error }) (Task, error) {
	var t Task
	var start, done sql.NullFloat64
	var host, parent sql.NullInt64
	var label, result, reason sql.NullString
	var waiting, awaited sql.NullBool
	err := sc.Scan(&t.ID, &t.State, &t.CreateTime, &start, &done, &t.ChannelID, &host, &parent, &label, &waiting, &awaited,
		&t.Owner, &t.Method, &t.Request, &result, &t.Arch, &t.Priority, &t.Weight, &reason, &t.Retries)
	t.StartTime, t.CompletionTime = nullFloat(start), nullFloat(done)
	t.HostID, t.Parent = nullInt(host), nullInt(parent)
	t.Label, t.Result, t.FreeReason = nullString(label), nullString(result), nullString(reason)
	if waiting.Valid {
		t.Waiting = &waiting.Bool
	}
	if awaited.Valid {
		t.Awaited = &awaited.Bool
	}
	return t, mapErr(err)
}

// NewTask is what CreateTask needs.
type NewTask struct {
	Method    string
	Request   string // XML-RPC methodCall document
	Arch      string
	ChannelID int64
	Owner     int64
	Priority  int
	Parent    *int64
	Label     *string
	Weight    float64 // 0: 1.0
	AssignTo  *int64  // create ASSIGNED to this host
}

// CreateTask inserts a task, FREE or ASSIGNED. A subtask whose (parent,
// label) already exists is not created again: its id is returned, so that a
// restarted parent is idempotent.
func (s *Store) CreateTask(ctx context.Context, n NewTask) (id int64, created bool, err error) {
	if n.Weight == 0 {
		n.Weight = 1.0
	}
	err = s.WithTx(ctx, func(tx *Store) error {
		if n.Parent != nil {
			var st int
			if err := tx.queryRowW(ctx, "SELECT state FROM tasks WHERE id = ?"+tx.forUpdate(false), *n.Parent).Scan(&st); err != nil {
				return fmt.Errorf("parent task %d: %w", *n.Parent, mapErr(err))
			}
			if n.Label != nil {
				err := tx.queryRowW(ctx, "SELECT id FROM tasks WHERE parent = ? AND label = ?", *n.Parent, *n.Label).Scan(&id)
				if err == nil {
					return nil
				}
				if !errors.Is(mapErr(err), ErrNotFound) {
					return mapErr(err)
				}
			}
			if st != TaskOpen {
				return fmt.Errorf("%w: task %d is %s", ErrParentNotOpen, *n.Parent, TaskStateName(st))
			}
		}
		state := TaskFree
		if n.AssignTo != nil {
			state = TaskAssigned
		}
		var err error
		id, err = tx.insertID(ctx, `INSERT INTO tasks (state, create_time, channel_id, host_id, parent, label, owner, method, request, arch, priority, weight, retries)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
			state, tx.Now(), n.ChannelID, n.AssignTo, n.Parent, n.Label, n.Owner, n.Method, n.Request, n.Arch, n.Priority, n.Weight)
		created = err == nil
		return err
	})
	return id, created, err
}

// GetTask reads a task.
func (s *Store) GetTask(ctx context.Context, id int64) (Task, error) {
	return scanTask(s.queryRow(ctx, "SELECT "+taskCols+" FROM tasks t WHERE t.id = ?", id))
}

// GetTasks reads several tasks, in the order asked; missing ids are left out.
func (s *Store) GetTasks(ctx context.Context, ids []int64) (map[int64]Task, error) {
	out := make(map[int64]Task, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	err := scanAll(s.query(ctx, "SELECT "+taskCols+" FROM tasks t WHERE t.id IN ("+placeholders(len(ids))+")", int64Args(ids)...))(func(r *sql.Rows) error {
		t, err := scanTask(r)
		out[t.ID] = t
		return err
	})
	return out, err
}

// TaskFilter selects tasks for ListTasks; zero fields match everything.
type TaskFilter struct {
	IDs             []int64
	States          []int
	NotStates       []int
	Owners          []int64 // any of (with Owner)
	ChannelIDs      []int64 // any of (with ChannelID)
	Parents         []int64 // any of (with Parent)
	NoHost          bool    // host_id IS NULL
	Methods         []string
	Owner           *int64
	HostIDs         []int64
	ChannelID       *int64
	Arches          []string
	Parent          *int64 // tasks with this parent
	TopLevel        bool   // parent IS NULL
	CreatedAfter    *float64
	CreatedBefore   *float64
	CompletedAfter  *float64
	CompletedBefore *float64
	StartedAfter    *float64
	StartedBefore   *float64
	WithBlobs       bool     // include request and result
	Order           []string // columns, "-col" for descending; validated by the caller's map
	Limit, Offset   int
	CountOnly       bool
}

// taskOrderCols maps Koji's order field names to columns.
var taskOrderCols = map[string]string{
	"id": "t.id", "state": "t.state", "priority": "t.priority", "create_time": "t.create_time", "create_ts": "t.create_time",
	"start_time": "t.start_time", "start_ts": "t.start_time", "completion_time": "t.completion_time", "completion_ts": "t.completion_time",
	"method": "t.method", "arch": "t.arch", "owner": "t.owner", "host_id": "t.host_id", "parent": "t.parent", "channel_id": "t.channel_id",
	"weight": "t.weight", "label": "t.label",
}

// ValidTaskOrder reports whether ListTasks can order by a field.
func ValidTaskOrder(field string) bool {
	_, ok := taskOrderCols[strings.TrimPrefix(field, "-")]
	return ok
}

func (f TaskFilter) where() (string, []any) {
	var w []string
	var args []any
	inInts := func(col string, v []int64) {
		w = append(w, col+" IN ("+placeholders(len(v))+")")
		args = append(args, int64Args(v)...)
	}
	if len(f.IDs) > 0 {
		inInts("t.id", f.IDs)
	}
	if len(f.States) > 0 {
		v := make([]int64, len(f.States))
		for i, s := range f.States {
			v[i] = int64(s)
		}
		inInts("t.state", v)
	}
	if len(f.NotStates) > 0 {
		v := make([]int64, len(f.NotStates))
		for i, s := range f.NotStates {
			v[i] = int64(s)
		}
		w = append(w, "t.state NOT IN ("+placeholders(len(v))+")")
		args = append(args, int64Args(v)...)
	}
	if len(f.Owners) > 0 {
		inInts("t.owner", f.Owners)
	}
	if len(f.ChannelIDs) > 0 {
		inInts("t.channel_id", f.ChannelIDs)
	}
	if len(f.Parents) > 0 {
		inInts("t.parent", f.Parents)
	}
	if f.NoHost {
		w = append(w, "t.host_id IS NULL")
	}
	if len(f.Methods) > 0 {
		w = append(w, "t.method IN ("+placeholders(len(f.Methods))+")")
		for _, m := range f.Methods {
			args = append(args, m)
		}
	}
	if len(f.Arches) > 0 {
		w = append(w, "t.arch IN ("+placeholders(len(f.Arches))+")")
		for _, m := range f.Arches {
			args = append(args, m)
		}
	}
	if len(f.HostIDs) > 0 {
		inInts("t.host_id", f.HostIDs)
	}
	cmp := func(col, op string, v *float64) {
		if v != nil {
			w = append(w, col+" "+op+" ?")
			args = append(args, *v)
		}
	}
	if f.Owner != nil {
		w = append(w, "t.owner = ?")
		args = append(args, *f.Owner)
	}
	if f.ChannelID != nil {
		w = append(w, "t.channel_id = ?")
		args = append(args, *f.ChannelID)
	}
	if f.Parent != nil {
		w = append(w, "t.parent = ?")
		args = append(args, *f.Parent)
	}
	if f.TopLevel {
		w = append(w, "t.parent IS NULL")
	}
	cmp("t.create_time", ">", f.CreatedAfter)
	cmp("t.create_time", "<", f.CreatedBefore)
	cmp("t.completion_time", ">", f.CompletedAfter)
	cmp("t.completion_time", "<", f.CompletedBefore)
	cmp("t.start_time", ">", f.StartedAfter)
	cmp("t.start_time", "<", f.StartedBefore)
	if len(w) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(w, " AND "), args
}

// ListTasks returns the tasks a filter selects.
func (s *Store) ListTasks(ctx context.Context, f TaskFilter) ([]Task, error) {
	where, args := f.where()
	cols := taskColsNoBlobs
	if f.WithBlobs {
		cols = taskCols
	}
	q := "SELECT " + cols + " FROM tasks t" + where
	var order []string
	for _, o := range f.Order {
		desc := strings.HasPrefix(o, "-")
		col, ok := taskOrderCols[strings.TrimPrefix(o, "-")]
		if !ok {
			return nil, fmt.Errorf("cannot order tasks by %q", o)
		}
		if desc {
			col += " DESC"
		}
		order = append(order, col)
	}
	order = append(order, "t.id")
	q += " ORDER BY " + strings.Join(order, ", ")
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	if f.Offset > 0 {
		if f.Limit <= 0 {
			q += " LIMIT -1"
			if s.backend == Postgres {
				q = strings.TrimSuffix(q, " LIMIT -1") + " LIMIT ALL"
			}
		}
		q += fmt.Sprintf(" OFFSET %d", f.Offset)
	}
	var out []Task
	err := scanAll(s.query(ctx, q, args...))(func(r *sql.Rows) error {
		t, err := scanTask(r)
		out = append(out, t)
		return err
	})
	return out, err
}

// CountTasks counts the tasks a filter selects.
func (s *Store) CountTasks(ctx context.Context, f TaskFilter) (int, error) {
	where, args := f.where()
	var n int
	err := s.queryRow(ctx, "SELECT COUNT(*) FROM tasks t"+where, args...).Scan(&n)
	return n, mapErr(err)
}

// TaskCountsByState counts all tasks by state.
func (s *Store) TaskCountsByState(ctx context.Context) (map[int]int, error) {
	out := map[int]int{}
	err := scanAll(s.query(ctx, "SELECT state, COUNT(*) FROM tasks GROUP BY state"))(func(r *sql.Rows) error {
		var st, n int
		err := r.Scan(&st, &n)
		out[st] = n
		return err
	})
	return out, err
}

// lockTask reads a task with a row lock, inside a transaction.
func (s *Store) lockTask(ctx context.Context, id int64) (Task, error) {
	t, err := scanTask(s.queryRowW(ctx, "SELECT "+taskCols+" FROM tasks t WHERE t.id = ?"+s.forUpdate(false), id))
	if errors.Is(err, ErrNotFound) {
		return t, fmt.Errorf("task %d: %w", id, ErrNotFound)
	}
	return t, err
}

// OpenTask moves a task to OPEN on a host. It succeeds from FREE, or from
// ASSIGNED to this host; otherwise it returns ok=false and changes nothing.
func (s *Store) OpenTask(ctx context.Context, id, hostID int64) (t Task, ok bool, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		t, err = tx.lockTask(ctx, id)
		if err != nil {
			return err
		}
		switch {
		case t.State == TaskFree:
		case t.State == TaskAssigned && t.HostID != nil && *t.HostID == hostID:
		default:
			return nil
		}
		now := tx.Now()
		if _, err := tx.exec(ctx, "UPDATE tasks SET state = ?, host_id = ?, start_time = ?, free_reason = NULL WHERE id = ?", TaskOpen, hostID, now, id); err != nil {
			return err
		}
		t.State, t.HostID, t.StartTime, t.FreeReason = TaskOpen, &hostID, &now, nil
		ok = true
		return nil
	})
	return t, ok, err
}

// FinishTask closes (CLOSED) or fails (FAILED) a task that is OPEN on hostID,
// storing its result document. Anything else is ErrNotOwner.
func (s *Store) FinishTask(ctx context.Context, id, hostID int64, state int, result string) error {
	if state != TaskClosed && state != TaskFailed {
		return fmt.Errorf("finish task %d: bad state %d", id, state)
	}
	return s.WithTx(ctx, func(tx *Store) error {
		t, err := tx.lockTask(ctx, id)
		if err != nil {
			return err
		}
		if t.State != TaskOpen || t.HostID == nil || *t.HostID != hostID {
			return fmt.Errorf("%w: host %d does not own task %d", ErrNotOwner, hostID, id)
		}
		if _, err := tx.exec(ctx, "UPDATE tasks SET state = ?, result = ?, completion_time = ? WHERE id = ?", state, result, tx.Now(), id); err != nil {
			return err
		}
		return tx.deactivateRuns(ctx, id)
	})
}

// CancelTask cancels a task and, recursively, its unfinished children. A
// finished task is left alone (ok=false).
func (s *Store) CancelTask(ctx context.Context, id int64, recurse bool) (ok bool, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		t, err := tx.lockTask(ctx, id)
		if err != nil {
			return err
		}
		if TaskFinished(t.State) {
			return nil
		}
		ok = true
		if _, err := tx.exec(ctx, "UPDATE tasks SET state = ?, completion_time = ? WHERE id = ?", TaskCanceled, tx.Now(), id); err != nil {
			return err
		}
		if err := tx.deactivateRuns(ctx, id); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "UPDATE builds SET state = 4, completion_time = ? WHERE task_id = ? AND state = 0", tx.Now(), id); err != nil {
			return err
		}
		if !recurse {
			return nil
		}
		return tx.CancelChildren(ctx, id)
	})
	return ok, err
}

// CancelChildren cancels every unfinished child of a task, recursively.
func (s *Store) CancelChildren(ctx context.Context, parent int64) error {
	var kids []int64
	err := scanAll(s.queryW(ctx, "SELECT id FROM tasks WHERE parent = ? ORDER BY id", parent))(func(r *sql.Rows) error {
		var id int64
		err := r.Scan(&id)
		kids = append(kids, id)
		return err
	})
	if err != nil {
		return err
	}
	for _, k := range kids {
		if _, err := s.CancelTask(ctx, k, true); err != nil {
			return err
		}
	}
	return nil
}

// FreeTask returns a task to FREE, dropping its host, and ends its wait: a
// freed parent starts again (its subtasks are found again by label). A
// finished task is ErrTaskFinished.
// countRetry records that the task lost its host (the lost-host recovery).
func (s *Store) FreeTask(ctx context.Context, id int64, reason string, countRetry bool) error {
	return s.WithTx(ctx, func(tx *Store) error {
		t, err := tx.lockTask(ctx, id)
		if err != nil {
			return err
		}
		if TaskFinished(t.State) {
			return fmt.Errorf("%w: task %d is %s", ErrTaskFinished, id, TaskStateName(t.State))
		}
		inc := 0
		if countRetry {
			inc = 1
		}
		var r any
		if reason != "" {
			r = reason
		}
		if _, err := tx.exec(ctx, "UPDATE tasks SET state = ?, host_id = NULL, start_time = NULL, waiting = NULL, free_reason = ?, retries = retries + ? WHERE id = ?", TaskFree, r, inc, id); err != nil {
			return err
		}
		return tx.deactivateRuns(ctx, id)
	})
}

// AssignTask moves a FREE task (or, with force, any unfinished one) to
// ASSIGNED on a host. It returns false if the task was not in a state to take it.
func (s *Store) AssignTask(ctx context.Context, id, hostID int64, force bool) (bool, error) {
	ok := false
	err := s.WithTx(ctx, func(tx *Store) error {
		t, err := tx.lockTask(ctx, id)
		if err != nil {
			return err
		}
		if TaskFinished(t.State) || (!force && t.State != TaskFree) {
			return nil
		}
		_, err = tx.exec(ctx, "UPDATE tasks SET state = ?, host_id = ?, free_reason = NULL WHERE id = ?", TaskAssigned, hostID, id)
		ok = err == nil
		return err
	})
	return ok, err
}

// SetTaskPriority changes a task's priority (and, recursively, its children's).
func (s *Store) SetTaskPriority(ctx context.Context, id int64, priority int, recurse bool) error {
	n, err := s.execN(ctx, "UPDATE tasks SET priority = ? WHERE id = ?", priority, id)
	if err == nil && n == 0 {
		return fmt.Errorf("task %d: %w", id, ErrNotFound)
	}
	if err != nil || !recurse {
		return err
	}
	kids, err := s.ListTasks(ctx, TaskFilter{Parent: &id})
	if err != nil {
		return err
	}
	for _, k := range kids {
		if err := s.SetTaskPriority(ctx, k.ID, priority, true); err != nil {
			return err
		}
	}
	return nil
}

// SetTaskWeight sets a task's weight.
func (s *Store) SetTaskWeight(ctx context.Context, id int64, weight float64) error {
	_, err := s.exec(ctx, "UPDATE tasks SET weight = ? WHERE id = ?", weight, id)
	return err
}

// SetWait marks a parent as waiting and the given children (all when nil) as awaited.
func (s *Store) SetWait(ctx context.Context, parent int64, children []int64) error {
	return s.WithTx(ctx, func(tx *Store) error {
		if _, err := tx.exec(ctx, "UPDATE tasks SET waiting = TRUE WHERE id = ?", parent); err != nil {
			return err
		}
		if children == nil {
			_, err := tx.exec(ctx, "UPDATE tasks SET awaited = TRUE WHERE parent = ?", parent)
			return err
		}
		if len(children) == 0 {
			return nil
		}
		_, err := tx.exec(ctx, "UPDATE tasks SET awaited = TRUE WHERE parent = ? AND id IN ("+placeholders(len(children))+")", append([]any{parent}, int64Args(children)...)...)
		return err
	})
}

// ClearWait ends a parent's wait, clearing the flags.
func (s *Store) ClearWait(ctx context.Context, parent int64, children []int64) error {
	return s.WithTx(ctx, func(tx *Store) error {
		if _, err := tx.exec(ctx, "UPDATE tasks SET waiting = FALSE WHERE id = ?", parent); err != nil {
			return err
		}
		q := "UPDATE tasks SET awaited = FALSE WHERE parent = ?"
		args := []any{parent}
		if len(children) > 0 {
			q += " AND id IN (" + placeholders(len(children)) + ")"
			args = append(args, int64Args(children)...)
		}
		_, err := tx.exec(ctx, q, args...)
		return err
	})
}

// ClearAwaited clears awaited on the given children.
func (s *Store) ClearAwaited(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.exec(ctx, "UPDATE tasks SET awaited = FALSE WHERE id IN ("+placeholders(len(ids))+")", int64Args(ids)...)
	return err
}

// Children returns a task's children ordered by id.
func (s *Store) Children(ctx context.Context, parent int64, withBlobs bool) ([]Task, error) {
	return s.ListTasks(ctx, TaskFilter{Parent: &parent, WithBlobs: withBlobs})
}

// SetFreeReasons records why FREE tasks are still waiting (the scheduler's last pass).
func (s *Store) SetFreeReasons(ctx context.Context, reasons map[int64]string) error {
	for id, r := range reasons {
		if _, err := s.exec(ctx, "UPDATE tasks SET free_reason = ? WHERE id = ? AND state = ?", r, id, TaskFree); err != nil {
			return err
		}
	}
	return nil
}
