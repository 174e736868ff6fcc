package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Auth types, with Koji's numbers.
const (
	AuthNormal   = 0
	AuthKerberos = 1
	AuthSSL      = 2
	AuthGSSAPI   = 3
)

// ErrLocked means another session holds the user's exclusive lock.
var ErrLocked = errors.New("locked by another session")

// Session is a login. KeyHash is the SHA-256 of the session key: the key
// itself is never stored.
type Session struct {
	ID         int64
	UserID     int64
	KeyHash    string
	HostIP     string
	AuthType   int
	Master     *int64
	Exclusive  bool
	Callnum    *int64
	StartTime  float64
	UpdateTime float64
	RenewTime  *float64
	Closed     bool
}

const sessionCols = "id, user_id, key, hostip, authtype, master, COALESCE(exclusive, FALSE), callnum, start_time, update_time, renew_time, closed"

func scanSession(sc interface{ Scan(...any) error }) (Session, error) {
	var x Session
	var master, callnum sql.NullInt64
	var renew sql.NullFloat64
	err := sc.Scan(&x.ID, &x.UserID, &x.KeyHash, &x.HostIP, &x.AuthType, &master, &x.Exclusive, &callnum, &x.StartTime, &x.UpdateTime, &renew, &x.Closed)
	x.Master = nullInt(master)
	x.Callnum = nullInt(callnum)
	x.RenewTime = nullFloat(renew)
	return x, mapErr(err)
}

func nullInt(v sql.NullInt64) *int64 {
	if !v.Valid {
		return nil
	}
	return &v.Int64
}

func nullFloat(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	return &v.Float64
}

func nullString(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	return &v.String
}

// CreateSession opens a session and returns its id.
func (s *Store) CreateSession(ctx context.Context, x Session) (int64, error) {
	now := s.Now()
	id, err := s.insertID(ctx, "INSERT INTO sessions (user_id, key, hostip, authtype, master, start_time, update_time, closed) VALUES (?, ?, ?, ?, ?, ?, ?, FALSE)",
		x.UserID, x.KeyHash, x.HostIP, x.AuthType, x.Master, now, now)
	if err != nil {
		return 0, fmt.Errorf("create session: %w", err)
	}
	return id, nil
}

// GetSession reads a session, open or closed.
func (s *Store) GetSession(ctx context.Context, id int64) (Session, error) {
	return scanSession(s.queryRow(ctx, "SELECT "+sessionCols+" FROM sessions WHERE id = ?", id))
}

// SetCallnum records the last call number a session committed.
func (s *Store) SetCallnum(ctx context.Context, id, callnum int64) error {
	_, err := s.exec(ctx, "UPDATE sessions SET callnum = ?, update_time = ? WHERE id = ?", callnum, s.Now(), id)
	return err
}

// RenewSession restarts a session's expiry clock.
func (s *Store) RenewSession(ctx context.Context, id int64) error {
	_, err := s.exec(ctx, "UPDATE sessions SET renew_time = ? WHERE id = ?", s.Now(), id)
	return err
}

// CloseSession closes a session and its subsessions.
func (s *Store) CloseSession(ctx context.Context, id int64) error {
	_, err := s.exec(ctx, "UPDATE sessions SET closed = TRUE, exclusive = NULL WHERE (id = ? OR master = ?) AND closed = FALSE", id, id)
	return err
}

// CloseChild closes one subsession of master; ErrNotFound if it is not one.
func (s *Store) CloseChild(ctx context.Context, master, child int64) error {
	n, err := s.execN(ctx, "UPDATE sessions SET closed = TRUE, exclusive = NULL WHERE id = ? AND master = ? AND closed = FALSE", child, master)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

// ExclusiveHolder returns the open exclusive session of a user, if any.
func (s *Store) ExclusiveHolder(ctx context.Context, userID int64) (int64, bool, error) {
	var id int64
	err := s.queryRowW(ctx, "SELECT id FROM sessions WHERE user_id = ? AND exclusive = TRUE AND closed = FALSE", userID).Scan(&id)
	if errors.Is(mapErr(err), ErrNotFound) {
		return 0, false, nil
	}
	return id, err == nil, mapErr(err)
}

// MakeExclusive takes the user's exclusive lock for session id. With force it
// closes the session that holds it; without, it returns ErrLocked.
func (s *Store) MakeExclusive(ctx context.Context, id int64, force bool) error {
	return s.WithTx(ctx, func(tx *Store) error {
		var userID int64
		if err := tx.queryRowW(ctx, "SELECT user_id FROM sessions WHERE id = ? AND closed = FALSE"+tx.forUpdate(false), id).Scan(&userID); err != nil {
			return mapErr(err)
		}
		holder, held, err := tx.ExclusiveHolder(ctx, userID)
		if err != nil {
			return err
		}
		if held && holder == id {
			return nil
		}
		if held {
			if !force {
				return ErrLocked
			}
			if err := tx.CloseSession(ctx, holder); err != nil {
				return err
			}
		}
		_, err = tx.exec(ctx, "UPDATE sessions SET exclusive = TRUE WHERE id = ?", id)
		return err
	})
}

// LastSessionUpdate returns the latest update time of a user's sessions
// (Koji's getLastHostUpdate).
func (s *Store) LastSessionUpdate(ctx context.Context, userID int64) (*float64, error) {
	var t sql.NullFloat64
	err := s.queryRow(ctx, "SELECT MAX(update_time) FROM sessions WHERE user_id = ?", userID).Scan(&t)
	return nullFloat(t), mapErr(err)
}

// OpenSessionCount counts sessions that are not closed.
func (s *Store) OpenSessionCount(ctx context.Context) (int, error) {
	var n int
	err := s.queryRow(ctx, "SELECT COUNT(*) FROM sessions WHERE closed = FALSE").Scan(&n)
	return n, mapErr(err)
}

// SessionAuth is what authenticating a call needs, read in one query: the
// session, its user, and which session holds the user's exclusive lock.
type SessionAuth struct {
	Session Session
	User    User
	// Holder is the user's open exclusive session, if any.
	Holder *int64
	// MasterExclusive tells whether the session's master holds the lock.
	MasterExclusive bool
	// Host is the host the user logs in as, if it is one.
	Host *Host
}

// GetSessionAuth reads a session with its user and lock holder.
func (s *Store) GetSessionAuth(ctx context.Context, id int64) (SessionAuth, error) {
	var a SessionAuth
	var master, callnum, holder sql.NullInt64
	var renew sql.NullFloat64
	var krb sql.NullString
	var hID, hUser sql.NullInt64
	var hName, hArches, hDesc, hComment sql.NullString
	var hUpd, hLoad, hCap sql.NullFloat64
	var hReady, hEnabled sql.NullBool
	x := &a.Session
	u := &a.User
	err := s.queryRow(ctx, `SELECT s.id, s.user_id, s.key, s.hostip, s.authtype, s.master, COALESCE(s.exclusive, FALSE), s.callnum,
			s.start_time, s.update_time, s.renew_time, s.closed,
			u.id, u.name, COALESCE(u.password, ''), u.usertype, u.status, u.krb_principal,
			(SELECT x.id FROM sessions x WHERE x.user_id = s.user_id AND x.exclusive = TRUE AND x.closed = FALSE),
			COALESCE((SELECT m.exclusive = TRUE AND m.closed = FALSE FROM sessions m WHERE m.id = s.master), FALSE),
			h.id, h.user_id, h.name, h.update_time, h.task_load, h.ready, h.arches, h.capacity, h.description, h.comment, h.enabled
		FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN hosts h ON h.user_id = s.user_id WHERE s.id = ?`, id).Scan(
		&x.ID, &x.UserID, &x.KeyHash, &x.HostIP, &x.AuthType, &master, &x.Exclusive, &callnum, &x.StartTime, &x.UpdateTime, &renew, &x.Closed,
		&u.ID, &u.Name, &u.PasswordHash, &u.UserType, &u.Status, &krb, &holder, &a.MasterExclusive,
		&hID, &hUser, &hName, &hUpd, &hLoad, &hReady, &hArches, &hCap, &hDesc, &hComment, &hEnabled)
	if err != nil {
		return a, mapErr(err)
	}
	if hID.Valid {
		a.Host = &Host{ID: hID.Int64, UserID: hUser.Int64, Name: hName.String, UpdateTime: nullFloat(hUpd), TaskLoad: hLoad.Float64,
			Ready: hReady.Bool, Arches: hArches.String, Capacity: hCap.Float64, Description: nullString(hDesc), Comment: nullString(hComment), Enabled: hEnabled.Bool}
	}
	x.Master, x.Callnum, x.RenewTime = nullInt(master), nullInt(callnum), nullFloat(renew)
	u.KrbPrincipal = nullString(krb)
	a.Holder = nullInt(holder)
	return a, nil
}

// PruneSessions deletes sessions closed before closedBefore and sessions
// with no login, renewal or call since idleBefore (expired), with their
// subsessions; it returns how many it deleted.
func (s *Store) PruneSessions(ctx context.Context, closedBefore, idleBefore float64) (int64, error) {
	const old = `((closed AND update_time < ?) OR
		(update_time < ? AND start_time < ? AND (renew_time IS NULL OR renew_time < ?)))`
	args := []any{closedBefore, idleBefore, idleBefore, idleBefore}
	var n int64
	err := s.WithTx(ctx, func(tx *Store) error {
		kids, err := tx.execN(ctx, "DELETE FROM sessions WHERE master IN (SELECT id FROM sessions WHERE "+old+")", args...)
		if err != nil {
			return err
		}
		n, err = tx.execN(ctx, "DELETE FROM sessions WHERE "+old+" AND NOT EXISTS (SELECT 1 FROM sessions c WHERE c.master = sessions.id)", args...)
		n += kids
		return err
	})
	return n, err
}
