package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Builds that are imported rather than built (Koji's new_build, as
// createEmptyBuild and importRPM call it): they start COMPLETE, and an NVR
// that failed or was canceled is recycled only when nothing refers to it.

// BuildExistsError says why an NVR cannot be given to a new build. It
// wraps ErrConflict.
type BuildExistsError struct {
	Build  Build
	Reason string // "" (the build stands), "in progress", "has tag history", "has rpm data"
}

func (e *BuildExistsError) Error() string {
	switch e.Reason {
	case "":
		return fmt.Sprintf("Build already exists (id=%d, state=%s): %s", e.Build.ID, BuildStateName(e.Build.State), e.Build.NVR())
	case "in progress":
		task := "none"
		if e.Build.TaskID != nil {
			task = fmt.Sprint(*e.Build.TaskID)
		}
		return fmt.Sprintf("Build already in progress (task %s): %s", task, e.Build.NVR())
	}
	return fmt.Sprintf("Build already exists. Unable to recycle, %s: %s", e.Reason, e.Build.NVR())
}

func (e *BuildExistsError) Unwrap() error { return ErrConflict }

// ImportBuild inserts a build whose start and completion time are now,
// under a new event, creating its package if needed. An existing NVR is a
// *BuildExistsError unless it is FAILED or CANCELED with no tag history
// and no RPMs: then that row is reused (same id), as Koji's recycle_build.
func (s *Store) ImportBuild(ctx context.Context, n NewBuild) (id int64, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		pkg, err := tx.EnsurePackage(ctx, n.PackageName)
		if err != nil {
			return err
		}
		old, err := scanBuild(tx.queryRowW(ctx, buildSelect+" WHERE b.pkg_id = ? AND b.version = ? AND b.release = ?"+tx.forUpdate(false), pkg, n.Version, n.Release))
		switch {
		case errors.Is(err, ErrNotFound):
			old.ID = 0
		case err != nil:
			return err
		case old.State == BuildBuilding:
			return &BuildExistsError{Build: old, Reason: "in progress"}
		case old.State != BuildFailed && old.State != BuildCanceled:
			return &BuildExistsError{Build: old}
		}
		if old.ID != 0 {
			if reason, err := tx.buildReferenced(ctx, old.ID); err != nil {
				return err
			} else if reason != "" {
				return &BuildExistsError{Build: old, Reason: reason}
			}
		}
		ev, err := tx.NewEvent(ctx)
		if err != nil {
			return err
		}
		start, done := n.times(tx.Now())
		if old.ID != 0 {
			id = old.ID
			_, err := tx.exec(ctx, `UPDATE builds SET epoch = ?, state = ?, task_id = ?, owner = ?, source = ?, extra = ?, create_event = ?, start_time = ?, completion_time = ?, cg_id = ? WHERE id = ?`,
				n.Epoch, n.State, n.TaskID, n.OwnerID, n.Source, n.Extra, ev, start, done, n.CGID, id)
			return err
		}
		id, err = tx.insertID(ctx, `INSERT INTO builds (pkg_id, version, release, epoch, state, task_id, owner, source, extra, create_event, start_time, completion_time, cg_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, pkg, n.Version, n.Release, n.Epoch, n.State, n.TaskID, n.OwnerID, n.Source, n.Extra, ev, start, done, n.CGID)
		if err != nil {
			return fmt.Errorf("create build %s-%s-%s: %w", n.PackageName, n.Version, n.Release, err)
		}
		return nil
	})
	return id, err
}

// buildReferenced says what keeps a build from being recycled: a tag
// listing (current or past) or RPM rows; "" when nothing does.
func (s *Store) buildReferenced(ctx context.Context, id int64) (string, error) {
	var n int
	if err := s.queryRowW(ctx, "SELECT COUNT(*) FROM tag_listing WHERE build_id = ?", id).Scan(&n); err != nil {
		return "", mapErr(err)
	}
	if n > 0 {
		return "has tag history", nil
	}
	if err := s.queryRowW(ctx, "SELECT COUNT(*) FROM rpms WHERE build_id = ?", id).Scan(&n); err != nil {
		return "", mapErr(err)
	}
	if n > 0 {
		return "has rpm data", nil
	}
	return "", nil
}

// BuildTagIDs returns the tags a build is listed in now.
func (s *Store) BuildTagIDs(ctx context.Context, buildID int64) ([]int64, error) {
	var out []int64
	err := scanAll(s.query(ctx, "SELECT DISTINCT tag_id FROM tag_listing WHERE build_id = ? AND revoke_event IS NULL ORDER BY tag_id", buildID))(func(r *sql.Rows) error {
		var id int64
		err := r.Scan(&id)
		out = append(out, id)
		return err
	})
	return out, err
}
