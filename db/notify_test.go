package db

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// waitListening waits until s's listener is in place.
func waitListening(t *testing.T, s *Store) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !s.Listening(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the listener did not come up in 10 s")
		}
	}
}

// waitEvent waits for an event about task id in state.
func waitEvent(t *testing.T, events <-chan TaskEvent, id int64, state int) TaskEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			if e.ID == id && e.State == state {
				return e
			}
		case <-timeout:
			t.Fatalf("no event for task %d in state %s in 10 s", id, TaskStateName(state))
		}
	}
}

// Another hub's task writes reach this one as events, with the host a task
// is assigned to; the task cache drops the rows they change.
func TestTaskEventsAndCacheAcrossStores(t *testing.T) {
	a := openPostgres(t)
	b := reopen(t, a, Options{})
	ctx := context.Background()
	events := make(chan TaskEvent, 100)
	a.OnTaskEvent(func(e TaskEvent) { events <- e })
	waitListening(t, a)
	host := newHost(t, a, "b1")
	id, _, err := a.CreateTask(ctx, NewTask{Method: "build", Request: "<x/>", Arch: "noarch", ChannelID: 1, Owner: 1, Priority: 20})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := a.GetTaskCached(ctx, id); got.State != TaskFree {
		t.Fatalf("cached read: %s", TaskStateName(got.State))
	}
	if ok, err := b.AssignTask(ctx, id, host, false); !ok || err != nil {
		t.Fatalf("AssignTask = %v, %v", ok, err)
	}
	if e := waitEvent(t, events, id, TaskAssigned); e.HostID != host {
		t.Fatalf("event %+v, want host %d", e, host)
	}
	if got, _ := a.GetTaskCached(ctx, id); got.State != TaskAssigned || got.HostID == nil || *got.HostID != host {
		t.Fatalf("after another Store assigned it, the cache says %s", TaskStateName(got.State))
	}

	// This Store's own writes show at once, a transaction's once it commits.
	if err := a.SetTaskPriority(ctx, id, 5, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.GetTaskCached(ctx, id); got.Priority != 5 {
		t.Fatalf("own write: priority %d", got.Priority)
	}
	err = a.WithTx(ctx, func(tx *Store) error {
		if err := tx.SetTaskPriority(ctx, id, 6, false); err != nil {
			return err
		}
		if got, _ := a.GetTaskCached(ctx, id); got.Priority != 5 {
			t.Errorf("uncommitted write seen: priority %d", got.Priority)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := a.GetTaskCached(ctx, id); got.Priority != 6 {
		t.Fatalf("after commit: priority %d", got.Priority)
	}

	// A lost listening connection: while it is down reads go to the
	// database, and when it is back the cache starts empty.
	if _, err := b.exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN "+taskChannel+"' AND pid <> pg_backend_pid()"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetTaskPriority(ctx, id, 7, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.GetTaskCached(ctx, id); got.Priority != 7 {
		// The write may have come before the listener saw the connection
		// go; the event or the reset must still reach the cache.
		waitListening(t, a)
		time.Sleep(100 * time.Millisecond)
		if got, _ := a.GetTaskCached(ctx, id); got.Priority != 7 {
			t.Fatalf("after the listener's connection was lost: priority %d, want 7", got.Priority)
		}
	}
}

// On SQLite there is no listener and GetTaskCached reads the database.
func TestTaskCacheSQLite(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	s.OnTaskEvent(func(TaskEvent) {})
	if s.Listening() {
		t.Fatal("SQLite store says it is listening")
	}
	newHost(t, s, "b1")
	id, _, _ := s.CreateTask(ctx, NewTask{Method: "build", Request: "<x/>", Arch: "noarch", ChannelID: 1, Owner: 1, Priority: 20})
	s.GetTaskCached(ctx, id)
	if err := s.SetTaskPriority(ctx, id, 3, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetTaskCached(ctx, id); got.Priority != 3 {
		t.Fatalf("priority %d", got.Priority)
	}
}

func TestParseTaskEvent(t *testing.T) {
	for _, bad := range []string{"", "1 2", "1 2 3 4 5", "x 2 3", "1 y 3", "1 2 z", "x 2 3 s"} {
		if _, _, ok := parseTaskEvent(bad); ok {
			t.Errorf("parseTaskEvent(%q) accepted", bad)
		}
	}
	if e, schema, ok := parseTaskEvent("12 0 4"); !ok || e != (TaskEvent{ID: 12, State: 4}) || schema != "" {
		t.Errorf("parseTaskEvent(3 fields) = %+v, %q, %v", e, schema, ok)
	}
	if e, schema, ok := parseTaskEvent("12 3 1 kojigo_test_7"); !ok || e != (TaskEvent{ID: 12, HostID: 3, State: 1}) || schema != "kojigo_test_7" {
		t.Errorf("parseTaskEvent(4 fields) = %+v, %q, %v", e, schema, ok)
	}
}

// Two installs in one PostgreSQL database, in different schemas, do not
// hear each other's task writes (notifications are per database).
func TestTaskEventsStayInTheirSchema(t *testing.T) {
	a := openPostgres(t)
	other := openPostgres(t) // another schema of the same database
	ctx := context.Background()
	n := 0
	task := func(s *Store) int64 {
		t.Helper()
		n++
		uid, err := s.CreateUser(ctx, User{Name: fmt.Sprintf("owner%d", n)})
		if err != nil {
			t.Fatal(err)
		}
		id, _, err := s.CreateTask(ctx, NewTask{Method: "build", Request: "<x/>", Arch: "noarch", ChannelID: 1, Owner: uid, Priority: 20})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	task(a)
	task(a) // this schema's next task is 3; the other's are 1 and 2
	events := make(chan TaskEvent, 100)
	a.OnTaskEvent(func(e TaskEvent) { events <- e })
	waitListening(t, a)
	foreign := []int64{task(other), task(other)}
	own := task(reopen(t, a, Options{}))
	if own == foreign[0] || own == foreign[1] {
		t.Fatalf("task ids %d and %v: the test cannot tell them apart", own, foreign)
	}
	// the own write's event comes; the foreign ones, made first, must not
	for {
		select {
		case e := <-events:
			if e.ID == own {
				return
			}
			if e.ID == foreign[0] || e.ID == foreign[1] {
				t.Fatalf("heard task %d of another schema", e.ID)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no event for this schema's own task in 10 s")
		}
	}
}

// A cached row is read again after taskCacheTTL even if no notification
// came (as behind a transaction-pooling pgbouncer, which drops them).
func TestTaskCacheTTL(t *testing.T) {
	a := openPostgres(t)
	b := reopen(t, a, Options{})
	ctx := context.Background()
	a.OnTaskEvent(func(TaskEvent) {})
	waitListening(t, a)
	newHost(t, a, "b1")
	id, _, err := a.CreateTask(ctx, NewTask{Method: "build", Request: "<x/>", Arch: "noarch", ChannelID: 1, Owner: 1, Priority: 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.exec(ctx, "ALTER TABLE tasks DISABLE TRIGGER tasks_notify"); err != nil {
		t.Fatal(err)
	}
	a.GetTaskCached(ctx, id)
	if err := b.SetTaskPriority(ctx, id, 9, false); err != nil {
		t.Fatal(err)
	}
	time.Sleep(taskCacheTTL + 100*time.Millisecond)
	if got, _ := a.GetTaskCached(ctx, id); got.Priority != 9 {
		t.Fatalf("after the TTL with no notification: priority %d, want 9", got.Priority)
	}
}
