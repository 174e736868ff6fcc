package db

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// Backend names a database engine.
type Backend string

const (
	Postgres Backend = "postgres"
	SQLite   Backend = "sqlite"
)

// ParseDSN tells the backend of a DSN and returns the string its driver takes.
// A DSN is postgres://..., postgresql://..., libpq's "host=... dbname=..." form,
// or sqlite:///absolute/path.db.
func ParseDSN(dsn string) (Backend, string, error) {
	dsn = strings.TrimSpace(dsn)
	switch {
	case dsn == "":
		return "", "", fmt.Errorf("empty database DSN: use postgres://user@host:5432/db or sqlite:///absolute/path/koji.db")
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		if _, err := url.Parse(dsn); err != nil {
			return "", "", fmt.Errorf("database DSN: %w", err)
		}
		return Postgres, dsn, nil
	case strings.HasPrefix(dsn, "sqlite://"):
		path := strings.TrimPrefix(dsn, "sqlite://")
		query := ""
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path, query = path[:i], path[i+1:]
		}
		if path == "" || !filepath.IsAbs(path) {
			return "", "", fmt.Errorf("database DSN %q: an SQLite path must be absolute, as in sqlite:///var/lib/kojihub/koji.db", dsn)
		}
		if query != "" {
			return "", "", fmt.Errorf("database DSN %q: options are not accepted for SQLite; kojigo sets them itself", dsn)
		}
		return SQLite, path, nil
	case strings.Contains(dsn, "=") && !strings.Contains(dsn, "://"):
		return Postgres, dsn, nil
	}
	return "", "", fmt.Errorf("database DSN %q: unknown form; use postgres://user@host:5432/db or sqlite:///absolute/path/koji.db", dsn)
}
