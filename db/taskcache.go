package db

import (
	"context"
	"sync"
	"time"
)

// maxCachedTasks bounds the task cache; past it the cache starts over.
const maxCachedTasks = 10000

// taskCacheTTL bounds how long a row is served from the cache even when no
// notification came: a connection that LISTENs but is never notified (a
// transaction-pooling pgbouncer between hub and server) must not leave a
// task's state stale for longer.
const taskCacheTTL = 2 * time.Second

// taskCache keeps task rows read by GetTaskCached on PostgreSQL, where a
// read is a round trip to the server that costs more than the rest of a
// getTaskInfo call. It is only used while the listener is up, and a row
// leaves it when any process writes it (this Store's writes empty the cache
// when they commit, other processes' writes arrive as notifications) or
// after taskCacheTTL.
type taskCache struct {
	mu   sync.Mutex
	rows map[int64]cachedTask
	// gen counts evictions: a row read while one happened is not kept,
	// since it may predate the write that caused it.
	gen uint64
}

type cachedTask struct {
	t  Task
	at time.Time
}

func (c *taskCache) get(id int64) (Task, bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.rows[id]
	if ok && time.Since(e.at) > taskCacheTTL {
		delete(c.rows, id)
		ok = false
	}
	return e.t, ok, c.gen
}

// put keeps t, read at the time given, unless an eviction happened since
// gen was taken.
func (c *taskCache) put(t Task, gen uint64, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.rows == nil || len(c.rows) >= maxCachedTasks {
		c.rows = map[int64]cachedTask{}
	}
	c.rows[t.ID] = cachedTask{t, at}
}

func (c *taskCache) evict(id int64) {
	c.mu.Lock()
	delete(c.rows, id)
	c.gen++
	c.mu.Unlock()
}

func (c *taskCache) clear() {
	c.mu.Lock()
	c.rows = nil
	c.gen++
	c.mu.Unlock()
}

// tasksChanged records a write to tasks: once it commits, the cache
// empties and OnWrite's subscribers hear of it.
func (s *Store) tasksChanged() {
	if s.tx != nil {
		s.fx.tasks = true
		return
	}
	if s.tasks != nil {
		s.tasks.clear()
	}
	s.writes.announce(WroteTasks)
}

// tasksAdded records an insert into tasks, which no cached row predates:
// once it commits, OnWrite's subscribers hear of it.
func (s *Store) tasksAdded() {
	if s.tx != nil {
		s.fx.newTasks = true
		return
	}
	s.writes.announce(WroteTasks)
}

// GetTaskCached is GetTask for read-only callers. On PostgreSQL, while
// other processes' task writes reach this Store (Listening), it answers from
// a cache that every task write empties or evicts from; otherwise, and
// inside a transaction, it is GetTask.
func (s *Store) GetTaskCached(ctx context.Context, id int64) (Task, error) {
	if s.tasks == nil || s.tx != nil || !s.Listening() {
		return s.GetTask(ctx, id)
	}
	t, ok, gen := s.tasks.get(id)
	if ok {
		return t, nil
	}
	at := time.Now()
	t, err := s.GetTask(ctx, id)
	if err == nil && s.Listening() {
		s.tasks.put(t, gen, at)
	}
	return t, err
}
