package db

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// taskChannel is the PostgreSQL notification channel on which a trigger
// (migrations 3 and 7) announces every task row written, by any process:
// "id host_id state schema", host_id 0 when none. Notifications are per
// database, so the schema tells this install's writes from others'.
const taskChannel = "kojigo_tasks"

// TaskEvent is one task row written by any process on the database; one
// with ID 0 says events may have been missed.
type TaskEvent struct {
	ID     int64
	HostID int64 // 0: none
	State  int
}

// listener holds a PostgreSQL connection LISTENing on taskChannel, so that
// every hub learns at once of the task writes of the others: a builder
// waiting in kojigo.waitTasks on one hub is woken by an assignment made by
// another, and the task cache drops rows another hub changed.
type listener struct {
	dsn     string
	schema  string // this install's schema, read when listening starts
	started sync.Once
	cancel  context.CancelFunc
	done    chan struct{}
	up      atomic.Bool // LISTEN is in place: events are flowing
	mu      sync.Mutex
	subs    []func(TaskEvent)
	// onReset runs whenever events may have been missed (connection lost
	// or restored); subscribers then get a TaskEvent with ID 0.
	onReset func()
}

func (l *listener) publish(e TaskEvent) {
	l.mu.Lock()
	subs := l.subs
	l.mu.Unlock()
	for _, fn := range subs {
		fn(e)
	}
}

func (l *listener) reset() {
	l.onReset()
	l.publish(TaskEvent{})
}

func (l *listener) subscribe(fn func(TaskEvent)) {
	l.mu.Lock()
	l.subs = append(l.subs, fn)
	l.mu.Unlock()
}

// start runs the listening loop until stop; it reconnects after errors.
func (l *listener) start(log func(error)) {
	l.started.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		l.cancel, l.done = cancel, make(chan struct{})
		go func() {
			defer close(l.done)
			for ctx.Err() == nil {
				err := l.listenOnce(ctx)
				l.up.Store(false)
				l.reset()
				if ctx.Err() != nil {
					return
				}
				log(err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}()
	})
}

func (l *listener) stop() {
	if l.cancel != nil {
		l.cancel()
		<-l.done
	}
}

func (l *listener) listenOnce(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, l.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&l.schema); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+taskChannel); err != nil {
		return err
	}
	l.up.Store(true)
	l.reset() // anything cached before LISTEN was in place is suspect
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if e, schema, ok := parseTaskEvent(n.Payload); ok && e.ID != 0 && (schema == "" || schema == l.schema) {
			l.publish(e)
		}
	}
}

// parseTaskEvent reads "id host_id state [schema]"; schema is empty in the
// form written before migration 7.
func parseTaskEvent(p string) (e TaskEvent, schema string, ok bool) {
	f := strings.Fields(p)
	if len(f) != 3 && len(f) != 4 {
		return TaskEvent{}, "", false
	}
	if len(f) == 4 {
		schema = f[3]
	}
	id, err1 := strconv.ParseInt(f[0], 10, 64)
	host, err2 := strconv.ParseInt(f[1], 10, 64)
	state, err3 := strconv.Atoi(f[2])
	return TaskEvent{ID: id, HostID: host, State: state}, schema, err1 == nil && err2 == nil && err3 == nil
}

// OnTaskEvent calls fn for every task row any process writes, as long as the
// Store is open. It starts listening on PostgreSQL; on SQLite, where one
// process owns the database, it does nothing.
func (s *Store) OnTaskEvent(fn func(TaskEvent)) {
	if s.notify == nil {
		return
	}
	s.notify.subscribe(fn)
	s.notify.start(func(err error) {
		s.log.Warn("listening for other hubs' task writes failed; polling until it works again", "err", err)
	})
}

// Listening reports whether other processes' task writes reach this Store
// as they happen (see OnTaskEvent): true on PostgreSQL while the listening
// connection is up, false on SQLite.
func (s *Store) Listening() bool {
	return s.notify != nil && s.notify.up.Load()
}
