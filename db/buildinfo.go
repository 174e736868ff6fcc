package db

import (
	"context"
	"database/sql"
	"fmt"
)

// UntaggedBuild is a COMPLETE build that no tag holds now.
type UntaggedBuild struct {
	ID      int64
	Name    string
	Version string
	Release string
	Draft   bool
}

// UntaggedBuilds lists the COMPLETE builds with no active tag listing (of
// the package named name, when given), by id, at most limit (0: all).
func (s *Store) UntaggedBuilds(ctx context.Context, name *string, limit int) ([]UntaggedBuild, error) {
	q := `SELECT b.id, p.name, b.version, b.release, b.draft FROM builds b JOIN packages p ON b.pkg_id = p.id
		WHERE b.state = ? AND NOT EXISTS (SELECT 1 FROM tag_listing l WHERE l.build_id = b.id AND l.revoke_event IS NULL)`
	args := []any{BuildComplete}
	if name != nil {
		q += " AND p.name = ?"
		args = append(args, *name)
	}
	q += " ORDER BY b.id"
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	var out []UntaggedBuild
	err := scanAll(s.query(ctx, q, args...))(func(r *sql.Rows) error {
		var x UntaggedBuild
		err := r.Scan(&x.ID, &x.Name, &x.Version, &x.Release, &x.Draft)
		out = append(out, x)
		return err
	})
	return out, err
}

// BuildTagRef is a tag that holds a build now.
type BuildTagRef struct {
	TagID int64
	Name  string
}

// BuildTagRefs lists the tags holding a build now (Koji's
// build_references tags), by tag id, at most limit (0: all).
func (s *Store) BuildTagRefs(ctx context.Context, buildID int64, limit int) ([]BuildTagRef, error) {
	q := `SELECT l.tag_id, t.name FROM tag_listing l JOIN tags t ON l.tag_id = t.id
		WHERE l.build_id = ? AND l.revoke_event IS NULL ORDER BY l.tag_id`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	var out []BuildTagRef
	err := scanAll(s.query(ctx, q, buildID))(func(r *sql.Rows) error {
		var x BuildTagRef
		err := r.Scan(&x.TagID, &x.Name)
		out = append(out, x)
		return err
	})
	return out, err
}
