// Package db holds kojigo's schema and the Store, the one contract through
// which the hub reads and writes its state. A Store runs on PostgreSQL
// (pgx/v5, several hubs, row claims with SKIP LOCKED) or on SQLite
// (modernc.org/sqlite, the embedded default: WAL, one writer).
//
// Both backends share one SQL text written for the common subset; the
// differences (placeholders, identity columns, row locks, cross-hub locks)
// live in dialect.go, so the two cannot drift apart in behaviour. The same
// contract tests run against both.
//
// A database is named by one DSN everywhere:
//
//	postgres://user@host:5432/db?sslmode=disable   (or libpq's key=value form)
//	sqlite:///absolute/path/koji.db
package db
