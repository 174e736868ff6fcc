package db

import (
	"context"
	"errors"
	"testing"
)

// TestMigrationRPMDraft: migration 17 rebuilds SQLite's rpms table without
// its N-V-R.A constraint and keeps every row that refers to an RPM (its
// signatures, checksums and buildroot listings: their ON DELETE CASCADE
// must not fire); the RPMs of draft builds are marked. Afterwards drafts
// may share an N-V-R.A and regular builds still may not, and foreign keys
// are enforced again.
func TestMigrationRPMDraft(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			s := openEmpty(t, backend)
			defer s.Close()
			migrateTo(t, s, 17)
			exec := func(q string, args ...any) int64 {
				t.Helper()
				id, err := s.insertID(ctx, q, args...)
				if err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				return id
			}
			run := func(q string, args ...any) {
				t.Helper()
				if _, err := s.exec(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			user := exec("INSERT INTO users (name) VALUES ('kojiadmin')")
			ev := exec("INSERT INTO events (time) VALUES (100)")
			pkg := exec("INSERT INTO packages (name) VALUES ('foo')")
			build := func(release string, draft bool) int64 {
				return exec("INSERT INTO builds (pkg_id, version, release, state, owner, create_event, draft) VALUES (?, '1', ?, 1, ?, ?, ?)", pkg, release, user, ev, draft)
			}
			rpm := func(b int64, release string) int64 {
				return exec("INSERT INTO rpms (build_id, name, version, release, arch, size, payloadhash, checksum, buildtime) VALUES (?, 'foo', '1', ?, 'noarch', 10, 'md5', 'sha', 1)", b, release)
			}
			regular, draft := build("1", false), build("2,draft_2", true)
			r1, r2 := rpm(regular, "1"), rpm(draft, "2")
			run("INSERT INTO rpmsigs (rpm_id, sigkey, sighash) VALUES (?, 'abcd1234', 'h')", r1)
			run("INSERT INTO rpm_checksum (rpm_id, sigkey, checksum, checksum_type) VALUES (?, 'abcd1234', 'c', 2)", r1)
			br := exec("INSERT INTO buildroots (arch, state, create_time) VALUES ('noarch', 3, 1)")
			run(`INSERT INTO buildroot_listing (buildroot_id, rpm_id, name, version, release, arch, payloadhash, size, buildtime)
				VALUES (?, ?, 'foo', '1', '1', 'noarch', 'md5', 10, 1)`, br, r1)

			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				q    string
				want int
			}{
				{"SELECT COUNT(*) FROM rpms", 2},
				{"SELECT COUNT(*) FROM rpmsigs", 1},
				{"SELECT COUNT(*) FROM rpm_checksum", 1},
				{"SELECT COUNT(*) FROM buildroot_listing WHERE rpm_id IS NOT NULL", 1},
			} {
				var n int
				if err := s.queryRow(ctx, c.q).Scan(&n); err != nil || n != c.want {
					t.Errorf("%s = %d, %v; want %d", c.q, n, err, c.want)
				}
			}
			for id, want := range map[int64]bool{r1: false, r2: true} {
				if r, err := s.GetRPM(ctx, id); err != nil || r.Draft != want {
					t.Errorf("rpm %d: draft %v, %v; want %v", id, r.Draft, err, want)
				}
			}

			// Two drafts of foo-1-2 hold foo-1-2.noarch; the newest is found
			// by N-V-R.A until a regular build holds it.
			draft2 := build("2,draft_9", true)
			r3, err := s.AddRPM(ctx, RPM{BuildID: draft2, Name: "foo", Version: "1", Release: "2", Arch: "noarch", PayloadHash: "m", Checksum: "c", BuildTime: 1})
			if err != nil {
				t.Fatalf("a second draft's RPM of the same N-V-R.A: %v", err)
			}
			if r, err := s.GetRPMByNVRA(ctx, "foo", "1", "2", "noarch"); err != nil || r.ID != r3 || !r.Draft {
				t.Errorf("GetRPMByNVRA = %+v, %v; want the newest draft's, %d", r, err, r3)
			}
			if r, err := s.GetRPMByNVRA(ctx, "foo", "1", "1", "noarch"); err != nil || r.ID != r1 || r.Draft {
				t.Errorf("GetRPMByNVRA of the regular build's = %+v, %v", r, err)
			}
			// A regular build may not repeat a regular build's N-V-R.A.
			other := exec("INSERT INTO packages (name) VALUES ('bar')")
			b4 := exec("INSERT INTO builds (pkg_id, version, release, state, owner, create_event) VALUES (?, '1', '1', 1, ?, ?)", other, user, ev)
			if _, err := s.AddRPM(ctx, RPM{BuildID: b4, Name: "foo", Version: "1", Release: "1", Arch: "noarch", PayloadHash: "m", Checksum: "c", BuildTime: 1}); !errors.Is(err, ErrConflict) {
				t.Errorf("a regular RPM repeating a regular N-V-R.A: %v, want a conflict", err)
			}
			// Promoting one draft makes its RPMs regular; the other draft,
			// with the same N-V-R.A, can then not be promoted.
			if err := s.PromoteBuild(ctx, draft, "2", user); err != nil {
				t.Fatalf("promote: %v", err)
			}
			if r, err := s.GetRPMByNVRA(ctx, "foo", "1", "2", "noarch"); err != nil || r.ID != r2 || r.Draft {
				t.Errorf("after promotion GetRPMByNVRA = %+v, %v; want the promoted build's %d", r, err, r2)
			}
			var taken *NVRATakenError
			if err := s.PromoteBuild(ctx, draft2, "3", user); !errors.As(err, &taken) || taken.NVRA != "foo-1-2.noarch" {
				t.Errorf("promoting the second draft: %v, want NVRATakenError for foo-1-2.noarch", err)
			}
			// Foreign keys hold again after migrating.
			if _, err := s.exec(ctx, "INSERT INTO rpmsigs (rpm_id, sigkey, sighash) VALUES (999999, 'x', 'h')"); err == nil {
				t.Error("an rpmsigs row for a missing RPM was accepted after Migrate: foreign keys are off")
			}
		})
	}
}
