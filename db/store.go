package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors every Store method returns in place of driver errors.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
)

// Options tune a Store. The zero value is the production default.
type Options struct {
	// MaxConns bounds the PostgreSQL pool and the SQLite reader pool (default 8).
	MaxConns int
	// Now is the clock; tests inject one (default time.Now).
	Now func() time.Time
	// HostViewMaxAge bounds how old ListHostsCached's copy of the hosts
	// may be with respect to other processes' writes (default 1s).
	HostViewMaxAge time.Duration
	// Logger receives the errors of background work (the PostgreSQL
	// listener); default: discarded.
	Logger *slog.Logger
}

// Store is the hub's state. Its methods run inside a transaction when called
// on the Store that WithTx passes, and on their own otherwise.
type Store struct {
	backend Backend
	w       *sql.DB // writer: every write; all traffic on PostgreSQL
	r       *sql.DB // readers (SQLite: a separate pool, so reads never queue behind the one writer)
	tx      *sql.Tx // set inside WithTx
	now     func() time.Time
	binds   *sync.Map // query text -> rebound text (PostgreSQL $n placeholders)
	stmts   *stmtCache
	dsn     string
	view    *hostView
	tasks   *taskCache // PostgreSQL only
	notify  *listener  // PostgreSQL only
	log     *slog.Logger
	fx      *txEffects // inside WithTx
	writes  *writeSubs // OnWrite's subscribers
}

// txEffects records what a transaction wrote that this process keeps
// copies of, so that the copies are dropped once it commits.
type txEffects struct {
	hosts    bool // hosts or host_channels
	tasks    bool // rows of tasks changed or deleted
	newTasks bool // rows of tasks inserted
}

// stmtCache keeps prepared statements of the SQLite pools: modernc.org/sqlite
// would otherwise parse every query's SQL on every call, which was the
// largest cost of a hub call. (pgx caches prepared statements itself.)
type stmtCache struct {
	mu sync.Mutex
	m  map[*sql.DB]map[string]*sql.Stmt
	n  int
	// pending are queries first seen inside a transaction on the writer,
	// whose one connection the transaction holds: they are prepared after it.
	pending map[string]bool
}

// maxStmts bounds the cache: queries built from filters vary with their
// arguments' count, and those past the bound are simply not cached.
const maxStmts = 512

func (c *stmtCache) get(ctx context.Context, db *sql.DB, q string, inTx bool) *sql.Stmt {
	c.mu.Lock()
	if st, ok := c.m[db][q]; ok || c.n >= maxStmts {
		c.mu.Unlock()
		return st
	}
	if inTx {
		if c.pending == nil {
			c.pending = map[string]bool{}
		}
		c.pending[q] = true
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	// Prepare without the lock: it may wait for the writer connection,
	// which a transaction that itself needs the cache may hold.
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil // let the plain call report the error
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[db][q]; ok {
		st.Close()
		return old
	}
	if c.m[db] == nil {
		c.m[db] = map[string]*sql.Stmt{}
	}
	c.m[db][q] = st
	c.n++
	return st
}

// preparePending prepares on db the queries first seen in a transaction.
func (c *stmtCache) preparePending(ctx context.Context, db *sql.DB) {
	c.mu.Lock()
	qs := c.pending
	c.pending = nil
	c.mu.Unlock()
	for q := range qs {
		c.get(ctx, db, q, false)
	}
}

// Open connects to the database a DSN names. It does not migrate: see Migrate
// and CheckSchema.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	backend, driverDSN, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 8
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HostViewMaxAge <= 0 {
		opts.HostViewMaxAge = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{backend: backend, now: opts.Now, binds: &sync.Map{}, dsn: dsn, log: opts.Logger,
		view: &hostView{maxAge: opts.HostViewMaxAge}, writes: &writeSubs{}}
	if backend == SQLite {
		s.stmts = &stmtCache{m: map[*sql.DB]map[string]*sql.Stmt{}}
	}
	switch backend {
	case Postgres:
		s.w, err = sql.Open("pgx", driverDSN)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		s.w.SetMaxOpenConns(opts.MaxConns)
		s.w.SetMaxIdleConns(opts.MaxConns)
		s.w.SetConnMaxIdleTime(5 * time.Minute)
		s.r = s.w
		s.tasks = &taskCache{}
		s.notify = &listener{dsn: driverDSN, onReset: s.tasks.clear}
		s.notify.subscribe(func(e TaskEvent) { s.tasks.evict(e.ID) })
	case SQLite:
		if err := os.MkdirAll(filepath.Dir(driverDSN), 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		base := "file:" + driverDSN + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
		s.w, err = sql.Open("sqlite", base+"&_pragma=journal_mode(WAL)&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		s.w.SetMaxOpenConns(1) // SQLite has one writer; queue here, not on SQLITE_BUSY
		s.r, err = sql.Open("sqlite", base+"&_pragma=query_only(1)")
		if err != nil {
			s.w.Close()
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		s.r.SetMaxOpenConns(opts.MaxConns)
		s.r.SetMaxIdleConns(opts.MaxConns)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.w.PingContext(pctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("connect to %s database: %w", backend, err)
	}
	return s, nil
}

// Close releases the connections.
func (s *Store) Close() error {
	if s.notify != nil {
		s.notify.stop()
	}
	if s.stmts != nil {
		s.stmts.mu.Lock()
		for _, m := range s.stmts.m {
			for _, st := range m {
				st.Close()
			}
		}
		s.stmts.mu.Unlock()
	}
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// DSN returns the DSN the Store was opened with.
func (s *Store) DSN() string { return s.dsn }

// Backend tells which engine the Store runs on.
func (s *Store) Backend() Backend { return s.backend }

// Now returns the Store's clock as seconds since the epoch, the unit of every time column.
func (s *Store) Now() float64 { return float64(s.now().UnixMicro()) / 1e6 }

// WithTx runs fn in one transaction: committed if fn returns nil, rolled back
// otherwise. Called inside a transaction, it joins it.
func (s *Store) WithTx(ctx context.Context, fn func(tx *Store) error) error {
	if s.tx != nil {
		return fn(s)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(fmt.Errorf("begin: %w", err))
	}
	ts := *s
	ts.tx = tx
	ts.fx = &txEffects{}
	if s.stmts != nil {
		defer s.stmts.preparePending(context.WithoutCancel(ctx), s.w)
	}
	if err := fn(&ts); err != nil {
		_ = tx.Rollback()
		return err
	}
	err = tx.Commit()
	// Drop the copies, and tell OnWrite's subscribers, even when the
	// commit failed: it may have happened.
	if ts.fx.hosts {
		s.hostsChanged()
	}
	switch {
	case ts.fx.tasks:
		s.tasksChanged()
	case ts.fx.newTasks:
		s.tasksAdded()
	}
	if err != nil {
		return commitErr(err)
	}
	return nil
}

// InTx reports whether the Store is bound to a transaction.
func (s *Store) InTx() bool { return s.tx != nil }

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) reader() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.r
}

func (s *Store) writer() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.w
}

// stmtQuerier runs queries through cached prepared statements.
type stmtQuerier struct {
	s  *Store
	db *sql.DB
	tx *sql.Tx
}

func (q stmtQuerier) stmt(ctx context.Context, query string) *sql.Stmt {
	st := q.s.stmts.get(ctx, q.db, query, q.tx != nil)
	if st != nil && q.tx != nil {
		return q.tx.StmtContext(ctx, st)
	}
	return st
}

func (q stmtQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.plain().ExecContext(ctx, query, args...)
}

func (q stmtQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return q.plain().QueryContext(ctx, query, args...)
}

func (q stmtQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.plain().QueryRowContext(ctx, query, args...)
}

func (q stmtQuerier) plain() querier {
	if q.tx != nil {
		return q.tx
	}
	return q.db
}

// readQ and writeQ choose the connection for a query, with prepared
// statements where the backend benefits.
func (s *Store) readQ() querier {
	if s.stmts == nil {
		return s.reader()
	}
	if s.tx != nil {
		return stmtQuerier{s: s, db: s.w, tx: s.tx}
	}
	return stmtQuerier{s: s, db: s.r}
}

func (s *Store) writeQ() querier {
	if s.stmts == nil {
		return s.writer()
	}
	return stmtQuerier{s: s, db: s.w, tx: s.tx}
}

// bind rewrites ? placeholders as $n for PostgreSQL. Queries never contain a
// literal question mark.
func (s *Store) bind(q string) string {
	if s.backend != Postgres {
		return q
	}
	if v, ok := s.binds.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(q[i])
	}
	out := b.String()
	s.binds.Store(q, out)
	return out
}

func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	r, err := s.writeQ().ExecContext(ctx, s.bind(q), args...)
	s.noteWrite(q)
	return r, mapErr(err)
}

// noteWrite empties the task cache after a statement that changes rows of
// tasks, and announces (OnWrite) any that writes them, even one that
// failed: the write may have happened. Every statement on the writer passes
// here, so neither can miss one.
func (s *Store) noteWrite(q string) {
	switch {
	case strings.Contains(q, "UPDATE tasks ") || strings.Contains(q, "DELETE FROM tasks "):
		s.tasksChanged()
	case strings.Contains(q, "INSERT INTO tasks "):
		s.tasksAdded() // a new row is in no cache
	}
}

// execN runs a write and returns the number of rows it touched.
func (s *Store) execN(ctx context.Context, q string, args ...any) (int64, error) {
	r, err := s.exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	n, err := r.RowsAffected()
	return n, mapErr(err)
}

// insertID runs an INSERT ... RETURNING id.
func (s *Store) insertID(ctx context.Context, q string, args ...any) (int64, error) {
	var id int64
	err := s.writeQ().QueryRowContext(ctx, s.bind(q+" RETURNING id"), args...).Scan(&id)
	s.noteWrite(q)
	return id, mapErr(err)
}

func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	rows, err := s.readQ().QueryContext(ctx, s.bind(q), args...)
	return rows, mapErr(err)
}

func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return s.readQ().QueryRowContext(ctx, s.bind(q), args...)
}

// queryRowW reads through the writer: for reads that must see this
// transaction's rows or lock them.
func (s *Store) queryRowW(ctx context.Context, q string, args ...any) *sql.Row {
	return s.writeQ().QueryRowContext(ctx, s.bind(q), args...)
}

func (s *Store) queryW(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	rows, err := s.writeQ().QueryContext(ctx, s.bind(q), args...)
	return rows, mapErr(err)
}

// forUpdate is the row-lock suffix of a claiming SELECT. SQLite has no row
// locks; its writer transaction (BEGIN IMMEDIATE) already excludes others.
func (s *Store) forUpdate(skipLocked bool) string {
	if s.backend != Postgres {
		return ""
	}
	if skipLocked {
		return " FOR UPDATE SKIP LOCKED"
	}
	return " FOR UPDATE"
}

// mapErr turns driver errors into ErrNotFound and ErrConflict, in one place.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" {
		return fmt.Errorf("%w: %s", ErrConflict, pg.Detail)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %s", ErrConflict, se.Error())
		}
	}
	return err
}

// scanAll returns a function that runs fn on each row of a query's result
// and closes the rows: scanAll(s.query(...))(func(r *sql.Rows) error {...}).
func scanAll(rows *sql.Rows, err error) func(fn func(*sql.Rows) error) error {
	return func(fn func(*sql.Rows) error) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := fn(rows); err != nil {
				return mapErr(err)
			}
		}
		return mapErr(rows.Err())
	}
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

func int64Args(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}
