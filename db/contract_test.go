package db

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"kojigo/internal/testenv"
)

// forEachBackend runs a contract test on SQLite and on PostgreSQL (in a
// schema of its own), each on a freshly migrated database.
func forEachBackend(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, openSQLite(t))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, openPostgres(t))
	})
}

func openSQLite(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "koji.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMigrateIdempotentAndVersion(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		applied, err := s.Migrate(ctx)
		if err != nil || len(applied) != 0 {
			t.Fatalf("second Migrate = %v, %v; want nothing applied", applied, err)
		}
		if err := s.CheckSchema(ctx); err != nil {
			t.Fatalf("CheckSchema = %v", err)
		}
		if _, err := s.exec(ctx, "INSERT INTO schema_migrations (version, applied_time) VALUES (?, 0)", LatestVersion()+1); err != nil {
			t.Fatal(err)
		}
		if err := s.CheckSchema(ctx); !errors.Is(err, ErrSchemaTooNew) {
			t.Fatalf("CheckSchema on newer schema = %v, want ErrSchemaTooNew", err)
		}
	})
}

func TestUsersAndPerms(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		id, err := s.CreateUser(ctx, User{Name: "alice", PasswordHash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateUser(ctx, User{Name: "alice"}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate CreateUser = %v, want ErrConflict", err)
		}
		u, err := s.GetUserByName(ctx, "alice")
		if err != nil || u.ID != id || u.PasswordHash != "h" {
			t.Fatalf("GetUserByName = %+v, %v", u, err)
		}
		if _, err := s.GetUserByName(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetUserByName(nobody) = %v, want ErrNotFound", err)
		}
		p, err := s.GetPermByName(ctx, "admin")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.GrantPerm(ctx, id, p.ID, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.GrantPerm(ctx, id, p.ID, nil); !errors.Is(err, ErrConflict) {
			t.Fatalf("second GrantPerm = %v, want ErrConflict", err)
		}
		perms, _ := s.UserPerms(ctx, id)
		if len(perms) != 1 || perms[0] != "admin" {
			t.Fatalf("UserPerms = %v", perms)
		}
		if err := s.RevokePerm(ctx, id, p.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokePerm(ctx, id, p.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second RevokePerm = %v, want ErrNotFound", err)
		}
		all, _ := s.ListPerms(ctx)
		if len(all) != 15 || all[0].Name != "admin" { // Koji 1.35's schema.sql: 15
			t.Fatalf("ListPerms = %d perms, first %+v", len(all), all[0])
		}
	})
}

func TestSessionsExclusive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		uid, _ := s.CreateUser(ctx, User{Name: "builder1", UserType: UserHost})
		a, _ := s.CreateSession(ctx, Session{UserID: uid, KeyHash: "a", HostIP: "-", AuthType: AuthSSL})
		b, _ := s.CreateSession(ctx, Session{UserID: uid, KeyHash: "b", HostIP: "-", AuthType: AuthSSL})
		if err := s.MakeExclusive(ctx, a, false); err != nil {
			t.Fatal(err)
		}
		if err := s.MakeExclusive(ctx, b, false); !errors.Is(err, ErrLocked) {
			t.Fatalf("MakeExclusive while held = %v, want ErrLocked", err)
		}
		if err := s.MakeExclusive(ctx, b, true); err != nil {
			t.Fatalf("forced MakeExclusive = %v", err)
		}
		sa, _ := s.GetSession(ctx, a)
		sb, _ := s.GetSession(ctx, b)
		if !sa.Closed || sa.Exclusive || !sb.Exclusive {
			t.Fatalf("after force: a=%+v b=%+v", sa, sb)
		}
		child, _ := s.CreateSession(ctx, Session{UserID: uid, KeyHash: "c", HostIP: "-", Master: &b})
		if err := s.CloseSession(ctx, b); err != nil {
			t.Fatal(err)
		}
		sc, _ := s.GetSession(ctx, child)
		if !sc.Closed {
			t.Fatal("logout did not close the subsession")
		}
	})
}

func newHost(t *testing.T, s *Store, name string) int64 {
	t.Helper()
	ctx := context.Background()
	uid, err := s.CreateUser(ctx, User{Name: name, UserType: UserHost})
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.CreateHost(ctx, Host{UserID: uid, Name: name, Arches: "x86_64"}, []int64{1})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestTaskLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		h1, h2 := newHost(t, s, "b1"), newHost(t, s, "b2")
		id, _, err := s.CreateTask(ctx, NewTask{Method: "build", Request: "<x/>", Arch: "noarch", ChannelID: 1, Owner: 1, Priority: 20})
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.AssignTask(ctx, id, h1, false); !ok {
			t.Fatal("AssignTask of a FREE task failed")
		}
		if _, ok, _ := s.OpenTask(ctx, id, h2); ok {
			t.Fatal("host 2 opened a task assigned to host 1")
		}
		if _, ok, _ := s.OpenTask(ctx, id, h1); !ok {
			t.Fatal("host 1 could not open its task")
		}
		if _, ok, _ := s.OpenTask(ctx, id, h1); ok {
			t.Fatal("a task was opened twice")
		}
		lbl := "x86_64"
		kid, created, err := s.CreateTask(ctx, NewTask{Method: "buildArch", Request: "<x/>", Arch: "x86_64", ChannelID: 1, Owner: 1, Priority: 19, Parent: &id, Label: &lbl})
		if err != nil || !created {
			t.Fatal(err)
		}
		again, created, err := s.CreateTask(ctx, NewTask{Method: "buildArch", Request: "<x/>", Arch: "x86_64", ChannelID: 1, Owner: 1, Priority: 19, Parent: &id, Label: &lbl})
		if err != nil || created || again != kid {
			t.Fatalf("subtask with the same label = %d, %v, %v; want %d, not created", again, created, err, kid)
		}
		if err := s.FinishTask(ctx, id, h2, TaskClosed, "r"); !errors.Is(err, ErrNotOwner) {
			t.Fatalf("FinishTask by another host = %v, want ErrNotOwner", err)
		}
		if ok, err := s.CancelTask(ctx, id, true); !ok || err != nil {
			t.Fatalf("CancelTask = %v, %v", ok, err)
		}
		k, _ := s.GetTask(ctx, kid)
		if k.State != TaskCanceled {
			t.Fatalf("child state after cancel = %s", TaskStateName(k.State))
		}
		if err := s.FreeTask(ctx, id, "", false); !errors.Is(err, ErrTaskFinished) {
			t.Fatalf("FreeTask of a canceled task = %v", err)
		}
		if _, err := s.GetTask(ctx, 99999); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetTask(99999) = %v", err)
		}
	})
}

// TestOpenTaskRace: many hosts race to open the same FREE tasks; each is opened once.
func TestOpenTaskRace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		var hosts []int64
		for i := range 4 {
			hosts = append(hosts, newHost(t, s, "h"+string(rune('a'+i))))
		}
		var ids []int64
		for range 20 {
			id, _, err := s.CreateTask(ctx, NewTask{Method: "m", Request: "<x/>", Arch: "noarch", ChannelID: 1, Owner: 1, Priority: 20})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		var mu sync.Mutex
		opened := map[int64]int{}
		var wg sync.WaitGroup
		for _, h := range hosts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, id := range ids {
					_, ok, err := s.OpenTask(ctx, id, h)
					if err != nil {
						t.Error(err)
						return
					}
					if ok {
						mu.Lock()
						opened[id]++
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		for _, id := range ids {
			if opened[id] != 1 {
				t.Errorf("task %d opened %d times", id, opened[id])
			}
		}
	})
}

func TestParseDSN(t *testing.T) {
	tests := []struct {
		in      string
		backend Backend
		wantErr bool
	}{
		{"postgres://u@h:5432/db?sslmode=disable", Postgres, false},
		{"postgresql://u@h/db", Postgres, false},
		{"host=localhost dbname=koji", Postgres, false},
		{"sqlite:///var/lib/koji.db", SQLite, false},
		{"sqlite://relative.db", "", true},
		{"sqlite:///a.db?_pragma=x", "", true},
		{"", "", true},
		{"mysql://x", "", true},
		{"/just/a/path", "", true},
	}
	for _, tt := range tests {
		b, _, err := ParseDSN(tt.in)
		if (err != nil) != tt.wantErr || b != tt.backend {
			t.Errorf("ParseDSN(%q) = %q, %v; want %q, err=%v", tt.in, b, err, tt.backend, tt.wantErr)
		}
	}
}

func openPostgres(t testing.TB) *Store {
	t.Helper()
	dsn, cleanup, err := NewTestSchema(testenv.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	s, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTaskFilterLists: the list and NULL filters listTasks needs.
func TestTaskFilterLists(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		h := newHost(t, s, "b1")
		var ids []int64
		for i := range 3 {
			id, _, err := s.CreateTask(ctx, NewTask{Method: "build", Request: "<x/>", Arch: "noarch", ChannelID: int64(1 + i%2), Owner: 1, Priority: 20})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if _, err := s.AssignTask(ctx, ids[0], h, false); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.OpenTask(ctx, ids[0], h); err != nil {
			t.Fatal(err)
		}
		lbl := "k"
		kid, _, err := s.CreateTask(ctx, NewTask{Method: "buildArch", Request: "<x/>", Arch: "noarch", ChannelID: 1, Owner: 1, Priority: 19, Parent: &ids[0], Label: &lbl})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			f    TaskFilter
			want []int64
		}{
			{"not open", TaskFilter{NotStates: []int{TaskOpen}}, []int64{ids[1], ids[2], kid}},
			{"owners", TaskFilter{Owners: []int64{1, 99}}, []int64{ids[0], ids[1], ids[2], kid}},
			{"unknown owner", TaskFilter{Owners: []int64{99}}, nil},
			{"channels", TaskFilter{ChannelIDs: []int64{2}}, []int64{ids[1]}},
			{"parents", TaskFilter{Parents: []int64{ids[0], 12345}}, []int64{kid}},
			{"no host", TaskFilter{NoHost: true, TopLevel: true}, []int64{ids[1], ids[2]}},
		}
		for _, tc := range tests {
			got, err := s.ListTasks(ctx, tc.f)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var gotIDs []int64
			for _, x := range got {
				gotIDs = append(gotIDs, x.ID)
			}
			if len(gotIDs) != len(tc.want) {
				t.Errorf("ListTasks(%s) = %v, want %v", tc.name, gotIDs, tc.want)
				continue
			}
			for i := range gotIDs {
				if gotIDs[i] != tc.want[i] {
					t.Errorf("ListTasks(%s) = %v, want %v", tc.name, gotIDs, tc.want)
					break
				}
			}
			if n, err := s.CountTasks(ctx, tc.f); err != nil || n != len(tc.want) {
				t.Errorf("CountTasks(%s) = %d, %v; want %d", tc.name, n, err, len(tc.want))
			}
		}
	})
}

func TestCheckIn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		id := newHost(t, s, "builder1")
		h, _ := s.GetHost(ctx, id)
		sid, _ := s.CreateSession(ctx, Session{UserID: h.UserID, KeyHash: "k", HostIP: "-", AuthType: AuthSSL})
		data, callnum := `{"cpus":8}`, int64(7)
		if err := s.CheckIn(ctx, CheckIn{HostID: id, TaskLoad: 1.5, Ready: true, Data: &data, SessionID: sid, Callnum: &callnum}); err != nil {
			t.Fatal(err)
		}
		h, _ = s.GetHost(ctx, id)
		got, _, err := s.HostData(ctx, id)
		sess, _ := s.GetSession(ctx, sid)
		if h.TaskLoad != 1.5 || !h.Ready || h.UpdateTime == nil || err != nil || got != data || sess.Callnum == nil || *sess.Callnum != 7 {
			t.Fatalf("after check-in: host %+v, data %q (%v), callnum %v", h, got, err, sess.Callnum)
		}
		// No data and no callnum leave both alone.
		if err := s.CheckIn(ctx, CheckIn{HostID: id, TaskLoad: 0, Ready: false, SessionID: sid}); err != nil {
			t.Fatal(err)
		}
		h, _ = s.GetHost(ctx, id)
		got, _, _ = s.HostData(ctx, id)
		sess, _ = s.GetSession(ctx, sid)
		if h.TaskLoad != 0 || h.Ready || got != data || sess.Callnum == nil || *sess.Callnum != 7 {
			t.Fatalf("after bare check-in: host %+v, data %q, callnum %v", h, got, sess.Callnum)
		}
		// A check-in of a host that is gone stores no data for it.
		if err := s.CheckIn(ctx, CheckIn{HostID: 9999, Data: &data, SessionID: sid}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.HostData(ctx, 9999); !errors.Is(err, ErrNotFound) {
			t.Fatalf("data of a missing host: %v", err)
		}
	})
}

// A database at schema 1 keeps its hosts' latest data through migration 2,
// which moves it into the hosts rows.
func TestMigrationMovesHostData(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			s := openEmpty(t, backend)
			defer s.Close()
			ms, _ := migrations(s.backend)
			if _, err := s.w.ExecContext(ctx, "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_time DOUBLE PRECISION NOT NULL)"); err != nil {
				t.Fatal(err)
			}
			for _, stmt := range append(splitSQL(s.expand(ms[0].sql)), "INSERT INTO schema_migrations VALUES (1, 0)") {
				if _, err := s.w.ExecContext(ctx, stmt); err != nil {
					t.Fatal(err)
				}
			}
			// hosts as version 1 wrote them (CreateHost writes host_config, of version 15)
			v1Host := func(name string) int64 {
				uid, err := s.CreateUser(ctx, User{Name: name, UserType: UserHost})
				if err != nil {
					t.Fatal(err)
				}
				id, err := s.insertID(ctx, "INSERT INTO hosts (user_id, name, arches) VALUES (?, ?, 'x86_64')", uid, name)
				if err != nil {
					t.Fatal(err)
				}
				return id
			}
			id := v1Host("b1")
			v1Host("b2")
			if _, err := s.exec(ctx, "INSERT INTO scheduler_host_data (host_id, data, update_time) VALUES (?, ?, 42)", id, `{"cpus":4}`); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			data, at, err := s.HostData(ctx, id)
			all, _ := s.AllHostData(ctx)
			if err != nil || data != `{"cpus":4}` || at != 42 || len(all) != 1 {
				t.Fatalf("after migration: %q at %v (%v); all %v", data, at, err, all)
			}
		})
	}
}

// Old scheduler log lines and closed or expired sessions (with their
// subsessions) are deleted; recent and live ones stay.
func TestPruneLogsAndSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		uid, _ := s.CreateUser(ctx, User{Name: "u1"})
		mk := func(closed bool, age float64, master *int64) int64 {
			id, err := s.CreateSession(ctx, Session{UserID: uid, KeyHash: "k", HostIP: "-", AuthType: AuthSSL, Master: master})
			if err != nil {
				t.Fatal(err)
			}
			at := s.Now() - age
			if _, err := s.exec(ctx, "UPDATE sessions SET closed = ?, start_time = ?, update_time = ? WHERE id = ?", closed, at, at, id); err != nil {
				t.Fatal(err)
			}
			return id
		}
		day := 86400.0
		live := mk(false, 10, nil)
		closedRecent := mk(true, 10, nil)
		closedOld := mk(true, 2*day, nil)
		expired := mk(false, 3*day, nil)
		childOfExpired := mk(false, 10, &expired)
		renewed := mk(false, 3*day, nil)
		if _, err := s.exec(ctx, "UPDATE sessions SET renew_time = ? WHERE id = ?", s.Now()-10, renewed); err != nil {
			t.Fatal(err)
		}
		n, err := s.PruneSessions(ctx, s.Now()-day, s.Now()-2*day)
		if err != nil || n != 3 {
			t.Fatalf("PruneSessions = %d, %v; want 3", n, err)
		}
		for id, want := range map[int64]bool{live: true, closedRecent: true, closedOld: false, expired: false, childOfExpired: false, renewed: true} {
			_, err := s.GetSession(ctx, id)
			if got := err == nil; got != want {
				t.Errorf("session %d kept = %v, want %v (%v)", id, got, want, err)
			}
		}

		s.AddLog(ctx, nil, nil, "old")
		if _, err := s.exec(ctx, "UPDATE scheduler_log_messages SET msg_time = ?", s.Now()-30*day); err != nil {
			t.Fatal(err)
		}
		s.AddLog(ctx, nil, nil, "new")
		if err := s.PruneLogs(ctx, s.Now()-14*day); err != nil {
			t.Fatal(err)
		}
		logs, _ := s.ListLogs(ctx, LogFilter{})
		if len(logs) != 1 || logs[0].Msg != "new" {
			t.Fatalf("after pruning: %+v", logs)
		}
	})
}
