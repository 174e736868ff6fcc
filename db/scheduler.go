package db

import (
	"context"
	"database/sql"
	"fmt"
)

// TaskRun records that the scheduler assigned a task to a host.
type TaskRun struct {
	ID         int64
	TaskID     int64
	HostID     int64
	Active     bool
	CreateTime float64
	// From the task and the host (Koji's TaskRunsQuery fields).
	Method         string
	State          int
	Owner          int64
	Arch           string
	ChannelID      int64
	HostName       string
	HostReady      bool
	StartTime      *float64
	CompletionTime *float64
}

// Refusal records that a host refused (or may not take) a task.
type Refusal struct {
	ID     int64
	TaskID int64
	HostID int64
	ByHost bool
	Soft   bool
	Msg    string
	Time   float64
}

// LogMessage is a line of the scheduler's log.
type LogMessage struct {
	ID     int64
	TaskID *int64
	HostID *int64
	Time   float64
	Msg    string
	// From the task and the host when there are (Koji's LogMessagesQuery
	// fields); nil otherwise.
	Method    *string
	State     *int64
	Owner     *int64
	Arch      *string
	ChannelID *int64
	HostName  *string
	HostReady *bool
}

// AddTaskRun records an assignment.
func (s *Store) AddTaskRun(ctx context.Context, taskID, hostID int64) error {
	_, err := s.exec(ctx, "INSERT INTO scheduler_task_runs (task_id, host_id, active, create_time) VALUES (?, ?, TRUE, ?)", taskID, hostID, s.Now())
	return err
}

func (s *Store) deactivateRuns(ctx context.Context, taskID int64) error {
	_, err := s.exec(ctx, "UPDATE scheduler_task_runs SET active = FALSE WHERE task_id = ? AND active = TRUE", taskID)
	return err
}

// RunFilter selects task runs; zero fields match everything.
type RunFilter struct {
	TaskID *int64
	HostID *int64
	Active *bool
	State  *int // the task's state
	Limit  int
}

// ListTaskRuns returns runs ordered by id, with their task's and host's
// fields.
func (s *Store) ListTaskRuns(ctx context.Context, f RunFilter) ([]TaskRun, error) {
	q := `SELECT r.id, r.task_id, r.host_id, r.active, r.create_time, t.method, t.state, t.owner, t.arch, t.channel_id,
		h.name, h.ready, t.start_time, t.completion_time
		FROM scheduler_task_runs r JOIN tasks t ON r.task_id = t.id JOIN hosts h ON r.host_id = h.id WHERE 1=1`
	var args []any
	if f.TaskID != nil {
		q += " AND r.task_id = ?"
		args = append(args, *f.TaskID)
	}
	if f.HostID != nil {
		q += " AND r.host_id = ?"
		args = append(args, *f.HostID)
	}
	if f.Active != nil {
		q += " AND r.active = ?"
		args = append(args, *f.Active)
	}
	if f.State != nil {
		q += " AND t.state = ?"
		args = append(args, *f.State)
	}
	q += " ORDER BY r.id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	var out []TaskRun
	err := scanAll(s.query(ctx, q, args...))(func(r *sql.Rows) error {
		var x TaskRun
		var st, ct sql.NullFloat64
		err := r.Scan(&x.ID, &x.TaskID, &x.HostID, &x.Active, &x.CreateTime, &x.Method, &x.State, &x.Owner, &x.Arch, &x.ChannelID,
			&x.HostName, &x.HostReady, &st, &ct)
		x.StartTime, x.CompletionTime = nullFloat(st), nullFloat(ct)
		out = append(out, x)
		return err
	})
	return out, err
}

// AddRefusal records or refreshes a refusal of a task by a host, at r.Time
// (zero: now).
func (s *Store) AddRefusal(ctx context.Context, r Refusal) error {
	now := r.Time
	if now == 0 {
		now = s.Now()
	}
	return s.WithTx(ctx, func(tx *Store) error {
		n, err := tx.execN(ctx, "UPDATE scheduler_task_refusals SET by_host = ?, soft = ?, msg = ?, time = ? WHERE task_id = ? AND host_id = ?",
			r.ByHost, r.Soft, r.Msg, now, r.TaskID, r.HostID)
		if err != nil || n > 0 {
			return err
		}
		_, err = tx.exec(ctx, "INSERT INTO scheduler_task_refusals (task_id, host_id, by_host, soft, msg, time) VALUES (?, ?, ?, ?, ?, ?)",
			r.TaskID, r.HostID, r.ByHost, r.Soft, r.Msg, now)
		return err
	})
}

// RefusalFilter selects refusals; zero fields match everything.
type RefusalFilter struct {
	TaskIDs []int64
	HostID  *int64
}

// ListRefusals returns refusals ordered by id.
func (s *Store) ListRefusals(ctx context.Context, f RefusalFilter) ([]Refusal, error) {
	q := "SELECT id, task_id, host_id, by_host, soft, msg, time FROM scheduler_task_refusals WHERE 1=1"
	var args []any
	if len(f.TaskIDs) > 0 {
		q += " AND task_id IN (" + placeholders(len(f.TaskIDs)) + ")"
		args = append(args, int64Args(f.TaskIDs)...)
	}
	if f.HostID != nil {
		q += " AND host_id = ?"
		args = append(args, *f.HostID)
	}
	var out []Refusal
	err := scanAll(s.query(ctx, q+" ORDER BY id", args...))(func(r *sql.Rows) error {
		var x Refusal
		err := r.Scan(&x.ID, &x.TaskID, &x.HostID, &x.ByHost, &x.Soft, &x.Msg, &x.Time)
		out = append(out, x)
		return err
	})
	return out, err
}

// ExpireRefusals drops soft refusals older than before, and every refusal of
// tasks that are finished.
func (s *Store) ExpireRefusals(ctx context.Context, before float64) error {
	if _, err := s.exec(ctx, "DELETE FROM scheduler_task_refusals WHERE soft = TRUE AND time < ?", before); err != nil {
		return err
	}
	_, err := s.exec(ctx, "DELETE FROM scheduler_task_refusals WHERE task_id IN (SELECT id FROM tasks WHERE state IN (?, ?, ?))", TaskClosed, TaskCanceled, TaskFailed)
	return err
}

// AddLog writes a line to the scheduler's log.
func (s *Store) AddLog(ctx context.Context, taskID, hostID *int64, msg string) error {
	_, err := s.exec(ctx, "INSERT INTO scheduler_log_messages (task_id, host_id, msg_time, msg) VALUES (?, ?, ?, ?)", taskID, hostID, s.Now(), msg)
	return err
}

// LogFilter selects log lines; zero fields match everything.
type LogFilter struct {
	TaskID    *int64
	HostID    *int64
	After     *float64 // msg_time > After (>= with AtOrAfter)
	AtOrAfter bool
	Before    *float64 // msg_time < Before
	Limit     int
	Desc      bool
}

// ListLogs returns scheduler log lines ordered by id, with the fields of
// their task and host when there are.
func (s *Store) ListLogs(ctx context.Context, f LogFilter) ([]LogMessage, error) {
	q := `SELECT m.id, m.task_id, m.host_id, m.msg_time, m.msg, t.method, t.state, t.owner, t.arch, t.channel_id, h.name, h.ready
		FROM scheduler_log_messages m LEFT JOIN tasks t ON m.task_id = t.id LEFT JOIN hosts h ON m.host_id = h.id WHERE 1=1`
	var args []any
	if f.TaskID != nil {
		q += " AND m.task_id = ?"
		args = append(args, *f.TaskID)
	}
	if f.HostID != nil {
		q += " AND m.host_id = ?"
		args = append(args, *f.HostID)
	}
	if f.After != nil {
		if f.AtOrAfter {
			q += " AND m.msg_time >= ?"
		} else {
			q += " AND m.msg_time > ?"
		}
		args = append(args, *f.After)
	}
	if f.Before != nil {
		q += " AND m.msg_time < ?"
		args = append(args, *f.Before)
	}
	q += " ORDER BY m.id"
	if f.Desc {
		q += " DESC"
	}
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	var out []LogMessage
	err := scanAll(s.query(ctx, q, args...))(func(r *sql.Rows) error {
		var x LogMessage
		var t, h, st, owner, ch sql.NullInt64
		var method, arch, hname sql.NullString
		var ready sql.NullBool
		err := r.Scan(&x.ID, &t, &h, &x.Time, &x.Msg, &method, &st, &owner, &arch, &ch, &hname, &ready)
		x.TaskID, x.HostID = nullInt(t), nullInt(h)
		x.State, x.Owner, x.ChannelID = nullInt(st), nullInt(owner), nullInt(ch)
		x.Method, x.Arch, x.HostName = nullString(method), nullString(arch), nullString(hname)
		if ready.Valid {
			x.HostReady = &ready.Bool
		}
		out = append(out, x)
		return err
	})
	return out, err
}

// PruneLogs deletes scheduler log lines older than before.
func (s *Store) PruneLogs(ctx context.Context, before float64) error {
	_, err := s.exec(ctx, "DELETE FROM scheduler_log_messages WHERE msg_time < ?", before)
	return err
}

// GetSysData reads a hub state value; ErrNotFound if unset.
func (s *Store) GetSysData(ctx context.Context, name string) (string, error) {
	var v string
	err := s.queryRowW(ctx, "SELECT data FROM sys_data WHERE name = ?", name).Scan(&v)
	return v, mapErr(err)
}

// SetSysData writes a hub state value.
func (s *Store) SetSysData(ctx context.Context, name, value string) error {
	return s.WithTx(ctx, func(tx *Store) error {
		n, err := tx.execN(ctx, "UPDATE sys_data SET data = ? WHERE name = ?", value, name)
		if err != nil || n > 0 {
			return err
		}
		_, err = tx.exec(ctx, "INSERT INTO sys_data (name, data) VALUES (?, ?)", name, value)
		return err
	})
}

// TryLock takes a named lock for the rest of the transaction, without
// waiting: false if another hub holds it. It must run inside WithTx. On
// PostgreSQL it is an advisory lock; SQLite's writer transaction is already
// exclusive.
func (s *Store) TryLock(ctx context.Context, name string) (bool, error) {
	if s.tx == nil {
		return false, fmt.Errorf("try lock %s: not in a transaction", name)
	}
	if s.backend != Postgres {
		return true, nil
	}
	var ok bool
	// Advisory locks are per database: the schema in the key keeps two
	// kojigo installs in one database (and parallel tests) from sharing it.
	err := s.queryRowW(ctx, "SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || ':kojigo:' || ?))", name).Scan(&ok)
	return ok, mapErr(err)
}

// SchedTask is what the scheduler needs of a task.
type SchedTask struct {
	ID         int64
	State      int
	HostID     *int64
	ChannelID  int64
	Arch       string
	Method     string
	Priority   int
	Weight     float64
	Waiting    bool
	CreateTime float64
	StartTime  *float64
	Parent     *int64
	FreeReason *string
}

// SchedulerTasks returns the active tasks (ASSIGNED and OPEN) and up to limit
// FREE tasks in priority order. The FREE ones are locked (SKIP LOCKED on
// PostgreSQL) so that two hubs never assign the same task.
func (s *Store) SchedulerTasks(ctx context.Context, limit int) (active, free []SchedTask, err error) {
	scan := func(dst *[]SchedTask) func(*sql.Rows) error {
		return func(r *sql.Rows) error {
			var t SchedTask
			var host, parent sql.NullInt64
			var start sql.NullFloat64
			var waiting sql.NullBool
			var reason sql.NullString
			err := r.Scan(&t.ID, &t.State, &host, &t.ChannelID, &t.Arch, &t.Method, &t.Priority, &t.Weight, &waiting, &t.CreateTime, &start, &parent, &reason)
			t.HostID, t.StartTime, t.Parent, t.FreeReason = nullInt(host), nullFloat(start), nullInt(parent), nullString(reason)
			t.Waiting = waiting.Valid && waiting.Bool
			*dst = append(*dst, t)
			return err
		}
	}
	cols := "id, state, host_id, channel_id, arch, method, priority, weight, waiting, create_time, start_time, parent, free_reason"
	err = scanAll(s.queryW(ctx, "SELECT "+cols+" FROM tasks WHERE state IN (?, ?) ORDER BY id", TaskAssigned, TaskOpen))(scan(&active))
	if err != nil {
		return nil, nil, err
	}
	q := "SELECT " + cols + " FROM tasks WHERE state = ? ORDER BY priority, create_time, id" + fmt.Sprintf(" LIMIT %d", limit) + s.forUpdate(true)
	err = scanAll(s.queryW(ctx, q, TaskFree))(scan(&free))
	return active, free, err
}
