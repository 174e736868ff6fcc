package db

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrCommitUnknown marks a commit whose answer was lost with the
// connection: the transaction may or may not have been applied, so the
// call must not be repeated blindly.
var ErrCommitUnknown = errors.New("the database connection was lost during commit; the transaction may have been applied")

// Unavailable reports whether err says the database could not be reached
// or was lost (down, restarting, refusing connections, the connection
// broken, SQLite locked for longer than its busy timeout), as opposed to an
// error in a query or its data. Such a call changed nothing, unless
// CommitUncertain also holds, and can be repeated once the database is back.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrCommitUnknown) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pgUnavailable(pg.Code)
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	// pgconn's connection-level errors (write or read failed, connection
	// closed, lock on a dead connection) are the ones that say whether
	// they are safe to retry; query errors are PgErrors.
	var connErr interface{ SafeToRetry() bool }
	if errors.As(err, &connErr) {
		return true
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN:
			return true
		}
	}
	return false
}

// pgUnavailable tells the SQLSTATEs of a server that is going away or not
// accepting work yet: class 08 (connection exception), 57P01 admin
// shutdown, 57P02 crash shutdown, 57P03 cannot connect now (starting up),
// 53300 too many connections.
func pgUnavailable(code string) bool {
	switch code {
	case "57P01", "57P02", "57P03", "53300":
		return true
	}
	return strings.HasPrefix(code, "08")
}

// CommitUncertain reports whether err is a commit that may have been
// applied although it failed (see ErrCommitUnknown).
func CommitUncertain(err error) bool { return errors.Is(err, ErrCommitUnknown) }

// commitErr is the error WithTx returns for a failed commit. A commit that
// never reached the server, or that the server refused, did not happen; a
// connection lost after COMMIT was sent leaves the outcome unknown.
func commitErr(err error) error {
	err = mapErr(fmt.Errorf("commit: %w", err))
	var pg *pgconn.PgError
	switch {
	case errors.As(err, &pg), pgconn.SafeToRetry(err), !Unavailable(err):
		return err
	}
	var ce *pgconn.ConnectError
	var se *sqlite.Error
	switch {
	case errors.As(err, &ce), errors.Is(err, driver.ErrBadConn):
		return err // no connection: COMMIT was never sent
	case errors.As(err, &se):
		return err // SQLite reports a failed commit only when it rolled back
	}
	return fmt.Errorf("%w: %w", ErrCommitUnknown, err)
}
