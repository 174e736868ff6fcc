package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Host is a builder: a row of hosts.
type Host struct {
	ID          int64
	UserID      int64
	Name        string
	UpdateTime  *float64
	TaskLoad    float64
	Ready       bool
	Arches      string // space-separated, as Koji stores and sends them
	Capacity    float64
	Description *string
	Comment     *string
	Enabled     bool
}

// Channel is a row of channels.
type Channel struct {
	ID          int64
	Name        string
	Description *string
	Enabled     bool
	Comment     *string
}

const hostCols = "h.id, h.user_id, h.name, h.update_time, h.task_load, h.ready, h.arches, h.capacity, h.description, h.comment, h.enabled"

func scanHost(sc interface{ Scan(...any) error }) (Host, error) {
	var h Host
	var upd sql.NullFloat64
	var desc, comment sql.NullString
	err := sc.Scan(&h.ID, &h.UserID, &h.Name, &upd, &h.TaskLoad, &h.Ready, &h.Arches, &h.Capacity, &desc, &comment, &h.Enabled)
	h.UpdateTime = nullFloat(upd)
	h.Description = nullString(desc)
	h.Comment = nullString(comment)
	return h, mapErr(err)
}

// CreateHost inserts a host for an existing HOST user, in the given
// channels; its configuration and channels are created by nobody known.
func (s *Store) CreateHost(ctx context.Context, h Host, channelIDs []int64) (int64, error) {
	return s.CreateHostBy(ctx, h, channelIDs, 0)
}

// CreateHostBy is CreateHost recording user (0: nobody) as the creator of
// the host's host_config and host_channels rows, made at one new event as
// Koji's addHost does.
func (s *Store) CreateHostBy(ctx context.Context, h Host, channelIDs []int64, user int64) (int64, error) {
	if h.Capacity == 0 {
		h.Capacity = 2.0
	}
	var id int64
	err := s.WithTx(ctx, func(tx *Store) error {
		var err error
		id, err = tx.insertID(ctx, "INSERT INTO hosts (user_id, name, arches, capacity, description, comment, enabled, ready, task_load) VALUES (?, ?, ?, ?, ?, ?, ?, FALSE, 0)",
			h.UserID, h.Name, h.Arches, h.Capacity, h.Description, h.Comment, true)
		if err != nil {
			return fmt.Errorf("create host %q: %w", h.Name, err)
		}
		tx.hostsChanged()
		ev, err := tx.NewEvent(ctx)
		if err != nil {
			return err
		}
		if err := tx.insertHostConfig(ctx, id, ev, user); err != nil {
			return err
		}
		for _, c := range channelIDs {
			if err := tx.addHostChannel(ctx, id, c, ev, user); err != nil {
				return err
			}
		}
		return nil
	})
	return id, err
}

// insertHostConfig records the host's current configuration (its hosts
// row) as a new host_config row.
func (s *Store) insertHostConfig(ctx context.Context, hostID, event, user int64) error {
	_, err := s.exec(ctx, `INSERT INTO host_config (host_id, arches, capacity, description, comment, enabled, create_event, creator_id)
		SELECT id, arches, capacity, description, comment, enabled, ?, ? FROM hosts WHERE id = ?`, event, by(user), hostID)
	if err != nil {
		return fmt.Errorf("host %d: config: %w", hostID, err)
	}
	return nil
}

// versionHostConfig revokes the host's host_config row and records its
// hosts row anew, at a new event, when the two differ (Koji's edit_host and
// set_host_enabled write host_config only for a change).
func (s *Store) versionHostConfig(ctx context.Context, hostID, user int64) error {
	var n int
	err := s.queryRowW(ctx, `SELECT COUNT(*) FROM hosts h JOIN host_config c ON c.host_id = h.id AND c.revoke_event IS NULL
		WHERE h.id = ? AND c.arches IS NOT DISTINCT FROM h.arches AND c.capacity = h.capacity
		AND c.description IS NOT DISTINCT FROM h.description AND c.comment IS NOT DISTINCT FROM h.comment AND c.enabled = h.enabled`, hostID).Scan(&n)
	if err != nil {
		return fmt.Errorf("host %d: config: %w", hostID, mapErr(err))
	}
	if n > 0 {
		return nil
	}
	ev, err := s.NewEvent(ctx)
	if err != nil {
		return err
	}
	if _, err := s.exec(ctx, "UPDATE host_config SET revoke_event = ?, revoker_id = ? WHERE host_id = ? AND revoke_event IS NULL", ev, by(user), hostID); err != nil {
		return fmt.Errorf("host %d: config: %w", hostID, err)
	}
	return s.insertHostConfig(ctx, hostID, ev, user)
}

// GetHost finds a host by id.
func (s *Store) GetHost(ctx context.Context, id int64) (Host, error) {
	return scanHost(s.queryRow(ctx, "SELECT "+hostCols+" FROM hosts h WHERE h.id = ?", id))
}

// HostAt reads a host with its configuration as of event ev, from
// host_config (the rest of the row is the current one, as in Koji);
// ErrNotFound when the host had no configuration then.
func (s *Store) HostAt(ctx context.Context, id, ev int64) (Host, error) {
	cond, args := activeAt("c", &ev)
	return scanHost(s.queryRow(ctx, `SELECT h.id, h.user_id, h.name, h.update_time, h.task_load, h.ready, COALESCE(c.arches, ''), c.capacity,
		c.description, c.comment, c.enabled FROM host_config c JOIN hosts h ON h.id = c.host_id WHERE `+cond+" AND c.host_id = ?", append(args, id)...))
}

// GetHostByName finds a host by name.
func (s *Store) GetHostByName(ctx context.Context, name string) (Host, error) {
	return scanHost(s.queryRow(ctx, "SELECT "+hostCols+" FROM hosts h WHERE h.name = ?", name))
}

// GetHostByUser finds the host a user logs in as.
func (s *Store) GetHostByUser(ctx context.Context, userID int64) (Host, error) {
	return scanHost(s.queryRow(ctx, "SELECT "+hostCols+" FROM hosts h WHERE h.user_id = ?", userID))
}

// HostFilter selects hosts; nil fields match everything.
type HostFilter struct {
	Arches    []string // any of
	ChannelID *int64
	Ready     *bool
	Enabled   *bool
	UserID    *int64
}

// hostsChanged records a write to hosts or host_channels: once it has
// committed, the view drops its copy and OnWrite's subscribers hear of it.
func (s *Store) hostsChanged() {
	if s.tx != nil {
		s.fx.hosts = true
		return
	}
	s.view.invalidate()
	s.writes.announce(WroteHosts)
}

// ListHostsCached is ListHosts answered from this process's copy of the
// hosts (see hostView): this Store's own writes show at once, another
// process's within Options.HostViewMaxAge. Inside a transaction it is
// ListHosts.
func (s *Store) ListHostsCached(ctx context.Context, f HostFilter) ([]Host, error) {
	if s.tx != nil {
		return s.ListHosts(ctx, f)
	}
	hosts, _, err := s.view.list(ctx, s, f, false)
	return hosts, err
}

// ListHostsWithChannelsCached is ListHostsCached with the channel ids of
// each host listed (by host id, ascending), read from the same copy: no
// query when the copy is fresh, whatever the number of hosts.
func (s *Store) ListHostsWithChannelsCached(ctx context.Context, f HostFilter) ([]Host, map[int64][]int64, error) {
	if s.tx != nil {
		hosts, err := s.ListHosts(ctx, f)
		if err != nil {
			return nil, nil, err
		}
		chans, err := s.HostChannels(ctx)
		return hosts, chans, err
	}
	return s.view.list(ctx, s, f, true)
}

// ListHosts returns hosts ordered by id.
func (s *Store) ListHosts(ctx context.Context, f HostFilter) ([]Host, error) {
	q := "SELECT " + hostCols + " FROM hosts h WHERE 1=1"
	var args []any
	if len(f.Arches) > 0 {
		var ors []string
		for _, a := range f.Arches {
			ors = append(ors, "(' ' || h.arches || ' ') LIKE ?")
			args = append(args, "% "+a+" %")
		}
		q += " AND (" + strings.Join(ors, " OR ") + ")"
	}
	if f.ChannelID != nil {
		q += " AND h.id IN (SELECT host_id FROM host_channels WHERE channel_id = ? AND revoke_event IS NULL)"
		args = append(args, *f.ChannelID)
	}
	if f.Ready != nil {
		q += " AND h.ready = ?"
		args = append(args, *f.Ready)
	}
	if f.Enabled != nil {
		q += " AND h.enabled = ?"
		args = append(args, *f.Enabled)
	}
	if f.UserID != nil {
		q += " AND h.user_id = ?"
		args = append(args, *f.UserID)
	}
	q += " ORDER BY h.id"
	var out []Host
	err := scanAll(s.query(ctx, q, args...))(func(r *sql.Rows) error {
		h, err := scanHost(r)
		out = append(out, h)
		return err
	})
	return out, err
}

// HostEdit holds the fields editHost may change; nil leaves a field alone.
type HostEdit struct {
	Arches      *string
	Capacity    *float64
	Description *string
	Comment     *string
	Enabled     *bool
}

// EditHost changes a host's configuration and reports whether anything
// changed; the change is made by nobody known.
func (s *Store) EditHost(ctx context.Context, id int64, e HostEdit) (bool, error) {
	return s.EditHostBy(ctx, id, e, 0)
}

// EditHostBy is EditHost recording user (0: nobody) as the one who revoked
// the host's host_config row and created the new one.
func (s *Store) EditHostBy(ctx context.Context, id int64, e HostEdit, user int64) (bool, error) {
	var sets []string
	var args []any
	add := func(col string, v any) { sets = append(sets, col+" = ?"); args = append(args, v) }
	if e.Arches != nil {
		add("arches", *e.Arches)
	}
	if e.Capacity != nil {
		add("capacity", *e.Capacity)
	}
	if e.Description != nil {
		add("description", *e.Description)
	}
	if e.Comment != nil {
		add("comment", *e.Comment)
	}
	if e.Enabled != nil {
		add("enabled", *e.Enabled)
	}
	if len(sets) == 0 {
		return false, nil
	}
	args = append(args, id)
	err := s.WithTx(ctx, func(tx *Store) error {
		n, err := tx.execN(ctx, "UPDATE hosts SET "+strings.Join(sets, ", ")+" WHERE id = ?", args...)
		if err == nil && n == 0 {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		tx.hostsChanged()
		return tx.versionHostConfig(ctx, id, user)
	})
	if err != nil {
		return false, err
	}
	return true, nil
}

// CheckIn is one host.updateHost: the host's load, readiness and time, its
// data when it sent some, and the calling session's callnum when set.
type CheckIn struct {
	HostID    int64
	TaskLoad  float64
	Ready     bool
	Data      *string // JSON
	SessionID int64
	Callnum   *int64
}

// checkInPG writes a whole check-in, the host's row and the session's
// callnum, in one statement: one round trip and one commit on PostgreSQL,
// where round trips are most of a call's cost.
//
// Its commit is asynchronous (synchronous_commit off for this transaction
// alone, see asyncCommit): the backend does not wait for, nor itself make,
// the WAL flush, which was half of a check-in's database CPU; the WAL
// writer flushes within 3 × wal_writer_delay, many commits at once. A check-in is
// state that the next one overwrites, so a PostgreSQL crash can lose at
// most the check-ins of the last fraction of a second (the hosts' times
// look that much older; the builders check in again), never leave rows
// inconsistent: PostgreSQL keeps commit order, and any later synchronous
// commit (a task's state) flushes the check-ins before it. Other hubs see
// the row at once, as with any commit.
const checkInPG = `WITH ` + asyncCommit + `, s AS (
	UPDATE sessions SET callnum = ?, update_time = ? WHERE id = ? AND ?::bigint IS NOT NULL RETURNING id
)
UPDATE hosts SET task_load = ?, ready = ?, update_time = ?,
	data = COALESCE(?, data), data_time = CASE WHEN ?::text IS NULL THEN data_time ELSE ? END
WHERE id = ? AND (SELECT TRUE FROM ac)`

// asyncCommit is a WITH item that makes the statement's transaction commit
// asynchronously (see checkInPG); the statement must reference ac, and only
// in a part that runs when it writes, for PostgreSQL to evaluate it.
const asyncCommit = `ac AS (SELECT set_config('synchronous_commit', 'off', true))`

// CheckIn stores a check-in atomically: one statement on PostgreSQL, one
// transaction on SQLite (which has no writing WITH clauses).
func (s *Store) CheckIn(ctx context.Context, c CheckIn) error {
	now := s.Now()
	var err error
	if s.backend == Postgres && s.tx == nil {
		_, err = s.exec(ctx, checkInPG, c.Callnum, now, c.SessionID, c.Callnum,
			c.TaskLoad, c.Ready, now, c.Data, c.Data, now, c.HostID)
	} else {
		err = s.WithTx(ctx, func(tx *Store) error {
			if _, err := tx.exec(ctx, `UPDATE hosts SET task_load = ?, ready = ?, update_time = ?,
				data = COALESCE(?, data), data_time = CASE WHEN ? IS NULL THEN data_time ELSE ? END WHERE id = ?`,
				c.TaskLoad, c.Ready, now, c.Data, c.Data, now, c.HostID); err != nil {
				return err
			}
			if c.Callnum != nil {
				return tx.SetCallnum(ctx, c.SessionID, *c.Callnum)
			}
			return nil
		})
	}
	switch {
	case s.tx != nil:
		s.hostsChanged()
	case err == nil:
		s.view.checkIn(statusPatch{id: c.HostID, load: c.TaskLoad, ready: c.Ready, at: now})
	default:
		s.view.invalidate() // the write may or may not have happened
	}
	return err
}

// CheckInAuth is what a check-in made on a cached session verifies of it,
// in the same statement as its write: that the session is still open, still
// holds its user's exclusive lock, has not expired (its start or renewal is
// no earlier than NotBefore) and has seen no later call than this one, and
// that its user is not blocked. The hub keeps only the session's immutable
// parts (key, address, user, host); whatever can change is read here.
type CheckInAuth struct {
	NotBefore float64
}

// checkInVerifiedPG is checkInPG for a session the hub has not read: the
// session's update runs only if the session is still valid, the host's only
// if the session's did, and it returns the host's readiness and load as
// they were. One statement, one round trip, one commit.
const checkInVerifiedPG = `WITH ` + asyncCommit + `, s AS (
	UPDATE sessions SET callnum = ?, update_time = ?
	WHERE id = ? AND closed = FALSE AND exclusive = TRUE AND master IS NULL
		AND (callnum IS NULL OR callnum <= ?) AND COALESCE(renew_time, start_time) >= ?
		AND EXISTS (SELECT 1 FROM users u WHERE u.id = sessions.user_id AND u.status <> ?)
	RETURNING user_id
), o AS (
	SELECT h.ready, h.task_load FROM hosts h JOIN s ON s.user_id = h.user_id WHERE h.id = ? AND (SELECT TRUE FROM ac)
)
UPDATE hosts SET task_load = ?, ready = ?, update_time = ?,
	data = COALESCE(?, data), data_time = CASE WHEN ?::text IS NULL THEN data_time ELSE ? END
FROM o WHERE hosts.id = ?
RETURNING o.ready, o.task_load`

// CheckInVerified stores a check-in (whose Callnum must be set) after
// verifying its session as CheckInAuth says, atomically. ok is false, and
// nothing is written, when the session or host fails a check: the caller
// then authenticates the call the long way, which tells why. On success it
// returns the host's readiness and load before the check-in.
func (s *Store) CheckInVerified(ctx context.Context, c CheckIn, a CheckInAuth) (wasReady bool, wasLoad float64, ok bool, err error) {
	if c.Callnum == nil {
		return false, 0, false, fmt.Errorf("CheckInVerified: no callnum")
	}
	now := s.Now()
	cn := *c.Callnum
	if s.backend == Postgres && s.tx == nil {
		err = s.queryRowW(ctx, checkInVerifiedPG, cn, now, c.SessionID, cn, a.NotBefore, int(StatusBlocked), c.HostID,
			c.TaskLoad, c.Ready, now, c.Data, c.Data, now, c.HostID).Scan(&wasReady, &wasLoad)
		err = mapErr(err)
	} else {
		err = s.WithTx(ctx, func(tx *Store) error {
			n, err := tx.execN(ctx, `UPDATE sessions SET callnum = ?, update_time = ?
				WHERE id = ? AND closed = FALSE AND exclusive = TRUE AND master IS NULL
					AND (callnum IS NULL OR callnum <= ?) AND COALESCE(renew_time, start_time) >= ?
					AND EXISTS (SELECT 1 FROM users u WHERE u.id = sessions.user_id AND u.status <> ?)`,
				cn, now, c.SessionID, cn, a.NotBefore, int(StatusBlocked))
			if err != nil {
				return err
			}
			if n == 0 {
				return ErrNotFound
			}
			if err := tx.queryRowW(ctx, `SELECT h.ready, h.task_load FROM hosts h JOIN sessions s ON s.user_id = h.user_id
				WHERE h.id = ? AND s.id = ?`, c.HostID, c.SessionID).Scan(&wasReady, &wasLoad); err != nil {
				return mapErr(err)
			}
			_, err = tx.exec(ctx, `UPDATE hosts SET task_load = ?, ready = ?, update_time = ?,
				data = COALESCE(?, data), data_time = CASE WHEN ? IS NULL THEN data_time ELSE ? END WHERE id = ?`,
				c.TaskLoad, c.Ready, now, c.Data, c.Data, now, c.HostID)
			return err
		})
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return false, 0, false, nil // nothing written
	case s.tx != nil:
		s.hostsChanged()
	case err == nil:
		s.view.checkIn(statusPatch{id: c.HostID, load: c.TaskLoad, ready: c.Ready, at: now})
	default:
		s.view.invalidate() // the write may or may not have happened
	}
	return wasReady, wasLoad, err == nil, err
}

// SetHostReady changes only readiness (the scheduler marking a silent host not ready).
func (s *Store) SetHostReady(ctx context.Context, id int64, ready bool) error {
	_, err := s.exec(ctx, "UPDATE hosts SET ready = ? WHERE id = ?", ready, id)
	s.hostsChanged()
	return err
}

// SetHostData stores the latest data a host sent (Koji's
// scheduler_host_data, kept in the host's row).
func (s *Store) SetHostData(ctx context.Context, id int64, data string) error {
	_, err := s.exec(ctx, "UPDATE hosts SET data = ?, data_time = ? WHERE id = ?", data, s.Now(), id)
	return err
}

// HostData returns a host's latest data (JSON) and when it came; ErrNotFound if none.
func (s *Store) HostData(ctx context.Context, id int64) (string, float64, error) {
	var data string
	var t float64
	err := s.queryRow(ctx, "SELECT data, data_time FROM hosts WHERE id = ? AND data IS NOT NULL", id).Scan(&data, &t)
	return data, t, mapErr(err)
}

// AllHostData returns every host's latest data, by host id.
func (s *Store) AllHostData(ctx context.Context) (map[int64]string, error) {
	out := map[int64]string{}
	err := scanAll(s.query(ctx, "SELECT id, data FROM hosts WHERE data IS NOT NULL"))(func(r *sql.Rows) error {
		var id int64
		var d string
		err := r.Scan(&id, &d)
		out[id] = d
		return err
	})
	return out, err
}

// HealthSample is one check-in kept in a host's history.
type HealthSample struct {
	Time     float64
	Ready    bool
	TaskLoad float64
	Data     string
}

// AddHealthSample appends to a host's history and trims it to keep entries.
func (s *Store) AddHealthSample(ctx context.Context, id int64, h HealthSample, keep int) error {
	return s.WithTx(ctx, func(tx *Store) error {
		if _, err := tx.exec(ctx, "INSERT INTO host_health (host_id, time, ready, task_load, data) VALUES (?, ?, ?, ?, ?)", id, h.Time, h.Ready, h.TaskLoad, h.Data); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `DELETE FROM host_health WHERE host_id = ? AND id <= (
			SELECT id FROM host_health WHERE host_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`, id, id, keep)
		return err
	})
}

// HealthHistory returns up to limit of a host's newest samples, oldest first.
func (s *Store) HealthHistory(ctx context.Context, id int64, limit int) ([]HealthSample, error) {
	var out []HealthSample
	err := scanAll(s.query(ctx, "SELECT time, ready, task_load, data FROM host_health WHERE host_id = ? ORDER BY id DESC LIMIT ?", id, limit))(func(r *sql.Rows) error {
		var h HealthSample
		err := r.Scan(&h.Time, &h.Ready, &h.TaskLoad, &h.Data)
		out = append(out, h)
		return err
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

const channelCols = "id, name, description, enabled, comment"

func scanChannel(sc interface{ Scan(...any) error }) (Channel, error) {
	var c Channel
	var desc, comment sql.NullString
	err := sc.Scan(&c.ID, &c.Name, &desc, &c.Enabled, &comment)
	c.Description = nullString(desc)
	c.Comment = nullString(comment)
	return c, mapErr(err)
}

// CreateChannel adds a channel.
func (s *Store) CreateChannel(ctx context.Context, c Channel) (int64, error) {
	return s.insertID(ctx, "INSERT INTO channels (name, description, enabled, comment) VALUES (?, ?, TRUE, ?)", c.Name, c.Description, c.Comment)
}

// GetChannel finds a channel by id.
func (s *Store) GetChannel(ctx context.Context, id int64) (Channel, error) {
	return scanChannel(s.queryRow(ctx, "SELECT "+channelCols+" FROM channels WHERE id = ?", id))
}

// GetChannelByName finds a channel by name.
func (s *Store) GetChannelByName(ctx context.Context, name string) (Channel, error) {
	return scanChannel(s.queryRow(ctx, "SELECT "+channelCols+" FROM channels WHERE name = ?", name))
}

// ListChannels returns channels ordered by id, optionally only those of a host.
func (s *Store) ListChannels(ctx context.Context, hostID *int64) ([]Channel, error) {
	q := "SELECT " + channelCols + " FROM channels"
	var args []any
	if hostID != nil {
		q += " WHERE id IN (SELECT channel_id FROM host_channels WHERE host_id = ? AND revoke_event IS NULL)"
		args = append(args, *hostID)
	}
	var out []Channel
	err := scanAll(s.query(ctx, q+" ORDER BY id", args...))(func(r *sql.Rows) error {
		c, err := scanChannel(r)
		out = append(out, c)
		return err
	})
	return out, err
}

// AddHostToChannel puts a host in a channel; ErrConflict if it is there.
func (s *Store) AddHostToChannel(ctx context.Context, hostID, channelID int64) error {
	return s.AddHostToChannelBy(ctx, hostID, channelID, 0)
}

// AddHostToChannelBy is AddHostToChannel creating the host_channels row at
// a new event, by user (0: nobody).
func (s *Store) AddHostToChannelBy(ctx context.Context, hostID, channelID, user int64) error {
	return s.WithTx(ctx, func(tx *Store) error {
		ev, err := tx.NewEvent(ctx)
		if err != nil {
			return err
		}
		return tx.addHostChannel(ctx, hostID, channelID, ev, user)
	})
}

// addHostChannel creates an active host_channels row; ErrConflict when the
// host is in the channel already. It checks first, so that a conflict does
// not abort the transaction it runs in.
func (s *Store) addHostChannel(ctx context.Context, hostID, channelID, event, user int64) error {
	var n int
	err := s.queryRowW(ctx, "SELECT COUNT(*) FROM host_channels WHERE host_id = ? AND channel_id = ? AND revoke_event IS NULL", hostID, channelID).Scan(&n)
	if err != nil {
		return mapErr(err)
	}
	if n > 0 {
		return fmt.Errorf("host %d channel %d: %w", hostID, channelID, ErrConflict)
	}
	_, err = s.exec(ctx, "INSERT INTO host_channels (host_id, channel_id, create_event, creator_id) VALUES (?, ?, ?, ?)", hostID, channelID, event, by(user))
	s.hostsChanged()
	return err
}

// RemoveHostFromChannel takes a host out of a channel; ErrNotFound if it was not in it.
func (s *Store) RemoveHostFromChannel(ctx context.Context, hostID, channelID int64) error {
	return s.RemoveHostFromChannelBy(ctx, hostID, channelID, 0)
}

// RemoveHostFromChannelBy is RemoveHostFromChannel revoking the
// host_channels row at a new event, by user (0: nobody).
func (s *Store) RemoveHostFromChannelBy(ctx context.Context, hostID, channelID, user int64) error {
	return s.WithTx(ctx, func(tx *Store) error {
		ev, err := tx.NewEvent(ctx)
		if err != nil {
			return err
		}
		n, err := tx.execN(ctx, "UPDATE host_channels SET revoke_event = ?, revoker_id = ? WHERE host_id = ? AND channel_id = ? AND revoke_event IS NULL",
			ev, by(user), hostID, channelID)
		tx.hostsChanged()
		if err == nil && n == 0 {
			return ErrNotFound
		}
		return err
	})
}

// HostChannels returns the channel ids of every host, by host id.
func (s *Store) HostChannels(ctx context.Context) (map[int64][]int64, error) {
	out := map[int64][]int64{}
	err := scanAll(s.query(ctx, "SELECT host_id, channel_id FROM host_channels WHERE revoke_event IS NULL ORDER BY host_id, channel_id"))(func(r *sql.Rows) error {
		var h, c int64
		err := r.Scan(&h, &c)
		out[h] = append(out[h], c)
		return err
	})
	return out, err
}
