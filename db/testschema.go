package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
)

// NewTestSchema creates an empty PostgreSQL schema for one test (or one
// test program) and returns a DSN whose search_path points at it, and a
// function that drops it. It exists for tests and benchmarks of this and
// other packages.
func NewTestSchema(baseDSN string) (string, func(), error) {
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", baseDSN)
	if err != nil {
		return "", nil, err
	}
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create test schema: %w", err)
	}
	cleanup := func() {
		admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	}
	var dsn string
	if strings.Contains(baseDSN, "://") {
		u, err := url.Parse(baseDSN)
		if err != nil {
			cleanup()
			return "", nil, err
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		dsn = u.String()
	} else {
		dsn = baseDSN + " search_path=" + schema
	}
	return dsn, cleanup, nil
}
