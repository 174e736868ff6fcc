package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Build operations an admin or a promoter runs on a finished build:
// Koji's _delete_build, reset_build and _promote_build. The files under the
// build's directory are the hub's to remove; these only change rows.

// DeleteBuild marks a build DELETED under a new event, as Koji's
// _delete_build: its tag listings are revoked (history keeps them), the
// signature and signed-copy rows of its RPMs go, the RPM rows stay.
// It returns the event.
func (s *Store) DeleteBuild(ctx context.Context, id int64) (event int64, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		var state int
		if err := tx.queryRow(ctx, "SELECT state FROM builds WHERE id = ?"+tx.forUpdate(false), id).Scan(&state); err != nil {
			return fmt.Errorf("delete build %d: %w", id, mapErr(err))
		}
		if event, err = tx.NewEvent(ctx); err != nil {
			return err
		}
		for _, q := range []string{
			"DELETE FROM rpmsigs WHERE rpm_id IN (SELECT id FROM rpms WHERE build_id = ?)",
			"DELETE FROM rpm_checksum WHERE rpm_id IN (SELECT id FROM rpms WHERE build_id = ?)",
		} {
			if _, err := tx.exec(ctx, q, id); err != nil {
				return fmt.Errorf("delete build %d: %w", id, err)
			}
		}
		if _, err := tx.exec(ctx, "UPDATE tag_listing SET revoke_event = ? WHERE build_id = ? AND revoke_event IS NULL", event, id); err != nil {
			return fmt.Errorf("delete build %d: %w", id, err)
		}
		_, err := tx.exec(ctx, "UPDATE builds SET state = ? WHERE id = ?", BuildDeleted, id)
		return err
	})
	return event, err
}

// ResetBuild is Koji's reset_build: the build goes back to CANCELED with no
// task and the DEFAULT volume, and everything that refers to it goes: its
// RPM rows (with their signatures and signed copies) and its tag listings,
// history included. Its draft flag and extra stay.
func (s *Store) ResetBuild(ctx context.Context, id int64) error {
	return s.WithTx(ctx, func(tx *Store) error {
		var state int
		if err := tx.queryRow(ctx, "SELECT state FROM builds WHERE id = ?"+tx.forUpdate(false), id).Scan(&state); err != nil {
			return fmt.Errorf("reset build %d: %w", id, mapErr(err))
		}
		for _, q := range []string{
			"DELETE FROM rpmsigs WHERE rpm_id IN (SELECT id FROM rpms WHERE build_id = ?)",
			"DELETE FROM rpm_checksum WHERE rpm_id IN (SELECT id FROM rpms WHERE build_id = ?)",
			"DELETE FROM rpms WHERE build_id = ?",
			"DELETE FROM tag_listing WHERE build_id = ?",
		} {
			if _, err := tx.exec(ctx, q, id); err != nil {
				return fmt.Errorf("reset build %d: %w", id, err)
			}
		}
		_, err := tx.exec(ctx, "UPDATE builds SET state = ?, task_id = NULL, volume_id = ? WHERE id = ?", BuildCanceled, DefaultVolumeID, id)
		return err
	})
}

// NVRATakenError: promoting a draft would give two regular builds an RPM
// of the same N-V-R.A.
type NVRATakenError struct{ NVRA string }

func (e *NVRATakenError) Error() string {
	return "an RPM of a regular build already has the N-V-R.A " + e.NVRA
}

// PromoteBuild turns a COMPLETE draft build into a regular one named
// release, recording the promoter and the time. ErrBuildState when the
// build is no longer a COMPLETE draft (another promotion won), ErrConflict
// when a build of the target NVR exists, *NVRATakenError when a regular
// build has an RPM of the N-V-R.A of one of its RPMs.
func (s *Store) PromoteBuild(ctx context.Context, id int64, release string, promoter int64) error {
	return s.WithTx(ctx, func(tx *Store) error {
		var draft bool
		var state int
		var pkg int64
		var version string
		if err := tx.queryRow(ctx, "SELECT draft, state, pkg_id, version FROM builds WHERE id = ?"+tx.forUpdate(false), id).Scan(&draft, &state, &pkg, &version); err != nil {
			return fmt.Errorf("promote build %d: %w", id, mapErr(err))
		}
		if !draft || state != BuildComplete {
			return fmt.Errorf("%w: build %d is not a complete draft", ErrBuildState, id)
		}
		var n int
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM builds WHERE pkg_id = ? AND version = ? AND release = ?", pkg, version, release).Scan(&n); err != nil {
			return mapErr(err)
		}
		if n > 0 {
			return fmt.Errorf("promote build %d: %w", id, ErrConflict)
		}
		if _, err := tx.exec(ctx, "UPDATE builds SET draft = ?, release = ?, promoter = ?, promotion_time = ? WHERE id = ?", false, release, promoter, tx.Now(), id); err != nil {
			return mapErr(err)
		}
		// Its RPMs become regular ones: their N-V-R.A must be free.
		var taken RPM
		err := tx.queryRow(ctx, `SELECT d.name, d.version, d.release, d.arch FROM rpms d JOIN rpms o
			ON o.name = d.name AND o.version = d.version AND o.release = d.release AND o.arch = d.arch AND NOT o.draft AND o.build_id <> d.build_id
			WHERE d.build_id = ? LIMIT 1`, id).Scan(&taken.Name, &taken.Version, &taken.Release, &taken.Arch)
		switch err = mapErr(err); {
		case err == nil:
			return &NVRATakenError{strings.TrimSuffix(taken.Filename(), ".rpm")}
		case !errors.Is(err, ErrNotFound):
			return err
		}
		if _, err := tx.exec(ctx, "UPDATE rpms SET draft = ? WHERE build_id = ?", false, id); err != nil {
			return mapErr(err)
		}
		// the tags holding it changed (its NVR did): kojira regenerates
		var tags []int64
		err = scanAll(tx.query(ctx, "SELECT DISTINCT tag_id FROM tag_listing WHERE build_id = ? AND revoke_event IS NULL ORDER BY tag_id", id))(func(r *sql.Rows) error {
			var t int64
			err := r.Scan(&t)
			tags = append(tags, t)
			return err
		})
		if err != nil || len(tags) == 0 {
			return err
		}
		ev, err := tx.NewEvent(ctx)
		if err != nil {
			return err
		}
		for _, t := range tags {
			if err := tx.AddTagUpdate(ctx, t, ev, &promoter, TagUpdateDraftPromotion); err != nil {
				return err
			}
		}
		return nil
	})
}

// TagUpdateDraftPromotion is Koji's TAG_UPDATE_TYPES DRAFT_PROMOTION: a
// build in the tag was promoted.
const TagUpdateDraftPromotion = 3
