package db

import (
	"context"
	"fmt"
)

// ForceTagBuild lists a build in a tag under a new event, as Koji's
// _direct_tag_build with force: a listing of the build already active
// there is revoked under the same event (a re-tag, which makes the build
// the newest in the tag). user (0: nobody) is recorded as the creator of
// the new row and the revoker of the old one. It reports whether the
// build was re-tagged.
func (s *Store) ForceTagBuild(ctx context.Context, tagID, buildID, user int64) (event int64, retagged bool, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		if event, err = tx.NewEvent(ctx); err != nil {
			return err
		}
		n, err := tx.execN(ctx, "UPDATE tag_listing SET revoke_event = ?, revoker_id = ? WHERE tag_id = ? AND build_id = ? AND revoke_event IS NULL",
			event, by(user), tagID, buildID)
		if err != nil {
			return fmt.Errorf("retag build %d in tag %d: %w", buildID, tagID, err)
		}
		retagged = n > 0
		if _, err := tx.exec(ctx, "INSERT INTO tag_listing (build_id, tag_id, creator, create_event) VALUES (?, ?, ?, ?)",
			buildID, tagID, by(user), event); err != nil {
			return fmt.Errorf("tag build %d in tag %d: %w", buildID, tagID, err)
		}
		return nil
	})
	return event, retagged, err
}
