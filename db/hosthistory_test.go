package db

import (
	"context"
	"path/filepath"
	"testing"

	"kojigo/internal/testenv"
)

// migrateTo applies the migrations before version stop by hand, as Migrate
// would, and records them.
// openEmpty opens a database with no schema yet, for migration tests: a
// SQLite file, or a private PostgreSQL schema (skipped without one).
func openEmpty(t *testing.T, backend string) *Store {
	t.Helper()
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "koji.db")
	if backend == "postgres" {
		var cleanup func()
		var err error
		if dsn, cleanup, err = NewTestSchema(testenv.PostgresDSN(t)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cleanup)
	}
	s, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func migrateTo(t *testing.T, s *Store, stop int) {
	t.Helper()
	ctx := context.Background()
	ms, err := migrations(s.backend)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_time DOUBLE PRECISION NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:stop-1] {
		for _, stmt := range splitSQL(s.expand(m.sql)) {
			if _, err := s.w.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%s: %v\n%s", m.name, err, stmt)
			}
		}
		if _, err := s.w.ExecContext(ctx, s.bind("INSERT INTO schema_migrations VALUES (?, 0)"), m.version); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMigrationVersionsHostsAndPerms: migration 15 keeps the hosts, their
// channels and the grants that exist, as active rows of host_config,
// host_channels and user_perms: hosts and channels at the newest event, a
// grant at the newest event at or before its time (the first event when
// none is), with its creator; with no event at all it records one.
func TestMigrationVersionsHostsAndPerms(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		for _, withEvents := range []bool{true, false} {
			name := backend + "/events"
			if !withEvents {
				name = backend + "/no-events"
			}
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				s := openEmpty(t, backend)
				defer s.Close()
				migrateTo(t, s, 15)
				exec := func(q string, args ...any) int64 {
					t.Helper()
					id, err := s.insertID(ctx, q, args...)
					if err != nil {
						t.Fatalf("%s: %v", q, err)
					}
					return id
				}
				admin := exec("INSERT INTO users (name) VALUES ('kojiadmin')")
				hu := exec("INSERT INTO users (name, usertype) VALUES ('b1', 1)")
				host := exec("INSERT INTO hosts (user_id, name, arches, capacity, comment, enabled) VALUES (?, 'b1', 'x86_64 i686', 4, 'off for now', FALSE)", hu)
				if _, err := s.exec(ctx, "INSERT INTO host_channels (host_id, channel_id) VALUES (?, 1)", host); err != nil {
					t.Fatal(err)
				}
				var ev1, ev2 int64
				if withEvents {
					ev1 = exec("INSERT INTO events (time) VALUES (100)")
					ev2 = exec("INSERT INTO events (time) VALUES (200)")
				}
				for _, g := range []struct {
					perm int64
					at   float64
				}{{1, 50}, {2, 150}, {3, 250}} {
					if _, err := s.exec(ctx, "INSERT INTO user_perms (user_id, perm_id, create_time, creator_id) VALUES (?, ?, ?, ?)", admin, g.perm, g.at, admin); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := s.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				if !withEvents {
					last, err := s.LastEvent(ctx)
					if err != nil {
						t.Fatalf("no event after migrating a database without one: %v", err)
					}
					ev1, ev2 = last.ID, last.ID
				}
				cfg, err := s.QueryHistory(ctx, "host_config", HistoryFilter{})
				if err != nil || len(cfg) != 1 {
					t.Fatalf("host_config = %v, %v", cfg, err)
				}
				r := cfg[0]
				if r["host_id"] != host || r["arches"] != "x86_64 i686" || r["capacity"] != 4.0 || r["comment"] != "off for now" || r["enabled"] != false ||
					r["create_event"] != ev2 || r["active"] != true || r["creator_id"] != nil || r["host.name"] != "b1" {
					t.Errorf("host_config row = %v", r)
				}
				chans, err := s.QueryHistory(ctx, "host_channels", HistoryFilter{Host: &host})
				if err != nil || len(chans) != 1 || chans[0]["create_event"] != ev2 || chans[0]["channels.name"] != "default" || chans[0]["active"] != true {
					t.Errorf("host_channels = %v, %v", chans, err)
				}
				perms, err := s.QueryHistory(ctx, "user_perms", HistoryFilter{User: &admin})
				if err != nil || len(perms) != 3 {
					t.Fatalf("user_perms = %v, %v", perms, err)
				}
				at := map[any]any{}
				for _, p := range perms {
					at[p["perm_id"]] = p["create_event"]
					if p["creator_id"] != admin || p["active"] != true {
						t.Errorf("user_perms row = %v", p)
					}
				}
				// before every event: the first; then the newest at or before
				if at[int64(1)] != ev1 || at[int64(2)] != ev1 || at[int64(3)] != ev2 {
					t.Errorf("grants made at %v, want 1:%d 2:%d 3:%d", at, ev1, ev1, ev2)
				}
				// the store reads only what is in effect, and versions from here on
				names, err := s.UserPerms(ctx, admin)
				if err != nil || len(names) != 3 {
					t.Errorf("UserPerms = %v, %v", names, err)
				}
				if err := s.RevokePermBy(ctx, admin, 1, admin); err != nil {
					t.Fatal(err)
				}
				if names, _ := s.UserPerms(ctx, admin); len(names) != 2 {
					t.Errorf("UserPerms after revoking = %v", names)
				}
				if err := s.RevokePerm(ctx, admin, 1); err == nil {
					t.Error("revoking a revoked grant succeeded")
				}
				if err := s.GrantPerm(ctx, admin, 2, nil); err == nil {
					t.Error("granting a held permission succeeded")
				}
				if err := s.RemoveHostFromChannelBy(ctx, host, 1, admin); err != nil {
					t.Fatal(err)
				}
				hc, _ := s.HostChannels(ctx)
				if len(hc[host]) != 0 {
					t.Errorf("HostChannels after removal = %v", hc)
				}
				if err := s.AddHostToChannel(ctx, host, 1); err != nil {
					t.Fatal(err)
				}
				if err := s.AddHostToChannel(ctx, host, 1); err == nil {
					t.Error("adding a host to its channel twice succeeded")
				}
				on := true
				if changed, err := s.EditHostBy(ctx, host, HostEdit{Enabled: &on}, admin); err != nil || !changed {
					t.Fatalf("EditHostBy = %v, %v", changed, err)
				}
				cfg, _ = s.QueryHistory(ctx, "host_config", HistoryFilter{Host: &host})
				if len(cfg) != 2 || cfg[0]["revoker_id"] != admin || cfg[1]["enabled"] != true || cfg[1]["creator_id"] != admin {
					t.Errorf("host_config after enabling = %v", cfg)
				}
				// the same value again: no new row
				if _, err := s.EditHostBy(ctx, host, HostEdit{Enabled: &on}, admin); err != nil {
					t.Fatal(err)
				}
				if cfg, _ = s.QueryHistory(ctx, "host_config", HistoryFilter{Host: &host}); len(cfg) != 2 {
					t.Errorf("host_config after a no-op edit = %d rows, want 2", len(cfg))
				}
			})
		}
	}
}
