// Package dbtest opens migrated, throw-away stores for other packages'
// tests: SQLite in a temporary directory, PostgreSQL in a schema of its own
// on the server KOJI_TEST_PG_DSN names.
package dbtest

import (
	"context"
	"path/filepath"
	"testing"

	"kojigo/db"
	"kojigo/internal/testenv"
)

// Open returns a migrated store on backend "sqlite" or "postgres".
func Open(t testing.TB, backend string) *db.Store {
	t.Helper()
	var dsn string
	switch backend {
	case "sqlite":
		dsn = "sqlite://" + filepath.Join(t.TempDir(), "koji.db")
	case "postgres":
		d, cleanup, err := db.NewTestSchema(testenv.PostgresDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cleanup)
		dsn = d
	default:
		t.Fatalf("dbtest: unknown backend %q", backend)
	}
	s, err := db.Open(context.Background(), dsn, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// Backends are the backends every contract and hub test runs on.
var Backends = []string{"sqlite", "postgres"}
