package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	_ "modernc.org/sqlite"

	"kojigo/internal/testenv"
)

// connLost is what pgconn returns when a connection breaks mid-call: an
// error that says whether it happened before anything was sent.
type connLost struct{ sent bool }

func (e connLost) Error() string     { return "failed to receive message: unexpected EOF" }
func (e connLost) SafeToRetry() bool { return !e.sent }
func (e connLost) Unwrap() error     { return io.ErrUnexpectedEOF }

func TestUnavailableClassifiesServerErrors(t *testing.T) {
	for _, tc := range []struct {
		code string
		want bool
	}{
		{"57P01", true},  // admin shutdown (pg_ctl stop -m fast)
		{"57P02", true},  // crash shutdown
		{"57P03", true},  // the database system is starting up
		{"08006", true},  // connection failure
		{"08001", true},  // unable to establish connection
		{"53300", true},  // too many connections
		{"23505", false}, // unique violation: the data, not the server
		{"42P01", false}, // undefined table: a bug
		{"40001", false}, // serialization failure
	} {
		err := fmt.Errorf("get session: %w", &pgconn.PgError{Code: tc.code, Message: "x"})
		if got := Unavailable(err); got != tc.want {
			t.Errorf("Unavailable(PgError %s) = %v, want %v", tc.code, got, tc.want)
		}
	}
}

func TestUnavailableClassifiesConnectionErrors(t *testing.T) {
	// A real refused connection, as when PostgreSQL is down.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	l.Close()
	_, cerr := pgconn.Connect(context.Background(), fmt.Sprintf("postgres://postgres@127.0.0.1:%d/koji?sslmode=disable&connect_timeout=5", addr.Port))
	if cerr == nil {
		t.Fatal("connected to a closed port")
	}
	for name, err := range map[string]error{
		"refused connection":       fmt.Errorf("read session: %w", cerr),
		"broken connection":        fmt.Errorf("list tasks: %w", connLost{sent: true}),
		"dead connection, unsent":  connLost{sent: false},
		"bad connection from pool": fmt.Errorf("query: %w", driver.ErrBadConn),
		"transaction's conn gone":  sql.ErrConnDone,
	} {
		if !Unavailable(err) {
			t.Errorf("%s: Unavailable(%v) = false, want true", name, err)
		}
	}
	for name, err := range map[string]error{
		"not found":       ErrNotFound,
		"conflict":        fmt.Errorf("%w: key", ErrConflict),
		"short rpm file":  fmt.Errorf("read header: %w", io.ErrUnexpectedEOF),
		"plain error":     errors.New("task 3 is not open"),
		"nil":             nil,
		"caller canceled": context.Canceled,
	} {
		if Unavailable(err) {
			t.Errorf("%s: Unavailable(%v) = true, want false", name, err)
		}
	}
}

func TestUnavailableSQLiteBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.db")
	a, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.Exec("CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	tx, err := a.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	_, err = b.Begin()
	if err == nil {
		t.Fatal("a second writer got the lock")
	}
	if !Unavailable(err) {
		t.Errorf("Unavailable(%v) = false for SQLITE_BUSY, want true", err)
	}
	_, err = a.Exec("SELECT * FROM missing")
	if err == nil || Unavailable(err) {
		t.Errorf("a query error %v counts as unavailable", err)
	}
}

func TestCommitErr(t *testing.T) {
	// The answer to COMMIT lost with the connection: maybe applied.
	if err := commitErr(connLost{sent: true}); !CommitUncertain(err) || !Unavailable(err) {
		t.Errorf("commitErr(connection lost after send) = %v: want uncertain and unavailable", err)
	}
	// COMMIT never sent, or refused by the server: not applied.
	for _, err := range []error{
		connLost{sent: false},
		driver.ErrBadConn,
		&pgconn.PgError{Code: "57P01"},
		&pgconn.PgError{Code: "40001"},
	} {
		if got := commitErr(err); CommitUncertain(got) {
			t.Errorf("commitErr(%v) = %v: want certain", err, got)
		}
	}
}

// TestUnavailableRealTermination has PostgreSQL end the test's own session
// as pg_ctl stop -m fast does (57P01), then uses the dead connection.
func TestUnavailableRealTermination(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	ctx := context.Background()
	conn, err := pgconn.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "SELECT pg_terminate_backend(pg_backend_pid())").ReadAll()
	if err == nil {
		t.Fatal("terminating our own backend did not fail")
	}
	if !Unavailable(err) {
		t.Errorf("Unavailable(%v) = false for a terminated session, want true", err)
	}
	_, err = conn.Exec(ctx, "SELECT 1").ReadAll()
	if err == nil {
		t.Fatal("a dead connection answered")
	}
	if !Unavailable(err) {
		t.Errorf("Unavailable(%v) = false for a closed connection, want true", err)
	}
}
