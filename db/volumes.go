package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Volume is a storage volume; DefaultVolumeID is Koji's DEFAULT, topdir itself.
type Volume struct {
	ID   int64
	Name string
}

// DefaultVolumeID is the id of the DEFAULT volume.
const DefaultVolumeID = 0

// ErrVolumeInUse means a build is on the volume.
var ErrVolumeInUse = errors.New("volume has build references")

// ListVolumes returns every volume by id.
func (s *Store) ListVolumes(ctx context.Context) ([]Volume, error) {
	var out []Volume
	err := scanAll(s.query(ctx, "SELECT id, name FROM volumes ORDER BY id"))(func(r *sql.Rows) error {
		var v Volume
		err := r.Scan(&v.ID, &v.Name)
		out = append(out, v)
		return err
	})
	return out, err
}

// GetVolume finds a volume by id.
func (s *Store) GetVolume(ctx context.Context, id int64) (Volume, error) {
	var v Volume
	err := s.queryRowW(ctx, "SELECT id, name FROM volumes WHERE id = ?", id).Scan(&v.ID, &v.Name)
	return v, mapErr(err)
}

// GetVolumeByName finds a volume by name.
func (s *Store) GetVolumeByName(ctx context.Context, name string) (Volume, error) {
	var v Volume
	err := s.queryRowW(ctx, "SELECT id, name FROM volumes WHERE name = ?", name).Scan(&v.ID, &v.Name)
	return v, mapErr(err)
}

// CreateVolume adds a volume; ErrConflict if the name is taken.
func (s *Store) CreateVolume(ctx context.Context, name string) (int64, error) {
	id, err := s.insertID(ctx, "INSERT INTO volumes (name) VALUES (?)", name)
	if err != nil {
		return 0, fmt.Errorf("create volume %q: %w", name, err)
	}
	return id, nil
}

// DeleteVolume removes a volume no build is on; ErrVolumeInUse otherwise.
func (s *Store) DeleteVolume(ctx context.Context, id int64) error {
	return s.WithTx(ctx, func(tx *Store) error {
		var n int
		if err := tx.queryRowW(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM builds WHERE volume_id = ? LIMIT 1) b", id).Scan(&n); err != nil {
			return mapErr(err)
		}
		if n > 0 {
			return ErrVolumeInUse
		}
		c, err := tx.execN(ctx, "DELETE FROM volumes WHERE id = ?", id)
		if err == nil && c == 0 {
			return ErrNotFound
		}
		return err
	})
}

// BuildVolume returns the volume a build is on.
func (s *Store) BuildVolume(ctx context.Context, buildID int64) (Volume, error) {
	var v Volume
	err := s.queryRowW(ctx, "SELECT v.id, v.name FROM builds b JOIN volumes v ON v.id = b.volume_id WHERE b.id = ?", buildID).Scan(&v.ID, &v.Name)
	return v, mapErr(err)
}

// SetBuildVolume records that a build's files are on another volume, and
// (Koji's VOLUME_CHANGE tag update, in one new event) that every tag the
// build is in now changed.
func (s *Store) SetBuildVolume(ctx context.Context, buildID, volumeID int64, updater *int64) error {
	return s.WithTx(ctx, func(tx *Store) error {
		n, err := tx.execN(ctx, "UPDATE builds SET volume_id = ? WHERE id = ?", volumeID, buildID)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		var tags []int64
		err = scanAll(tx.queryW(ctx, "SELECT DISTINCT tag_id FROM tag_listing WHERE build_id = ? AND revoke_event IS NULL ORDER BY tag_id", buildID))(func(r *sql.Rows) error {
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
			if err := tx.AddTagUpdate(ctx, t, ev, updater, TagUpdateVolumeChange); err != nil {
				return err
			}
		}
		return nil
	})
}
