package db

import (
	"context"
	"errors"
	"fmt"
)

// ChannelEdit is what EditChannel changes: nil fields stay as they are.
type ChannelEdit struct {
	Name        *string
	Description *string
	Comment     *string
}

// EditChannel changes a channel's name, description or comment;
// ErrConflict if the new name is taken.
func (s *Store) EditChannel(ctx context.Context, id int64, e ChannelEdit) error {
	q := "UPDATE channels SET id = id"
	var args []any
	for _, f := range []struct {
		col string
		v   *string
	}{{"name", e.Name}, {"description", e.Description}, {"comment", e.Comment}} {
		if f.v != nil {
			q += ", " + f.col + " = ?"
			args = append(args, *f.v)
		}
	}
	n, err := s.execN(ctx, q+" WHERE id = ?", append(args, id)...)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("edit channel %d: %w", id, err)
	}
	s.hostsChanged()
	return nil
}

// SetChannelEnabled enables or disables a channel, replacing its comment
// unless comment is nil.
func (s *Store) SetChannelEnabled(ctx context.Context, id int64, enabled bool, comment *string) error {
	q, args := "UPDATE channels SET enabled = ?", []any{enabled}
	if comment != nil {
		q += ", comment = ?"
		args = append(args, *comment)
	}
	n, err := s.execN(ctx, q+" WHERE id = ?", append(args, id)...)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	s.hostsChanged()
	return err
}

// Reasons RemoveChannel refuses.
var (
	ErrChannelHasTasks = errors.New("channel has task references")
	ErrChannelHasHosts = errors.New("channel has host references")
)

// RemoveChannel deletes a channel that no task names. Hosts in it are
// taken out with force, and are ErrChannelHasHosts without.
func (s *Store) RemoveChannel(ctx context.Context, id int64, force bool) error {
	return s.WithTx(ctx, func(tx *Store) error {
		var n int
		if err := tx.queryRowW(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM tasks WHERE channel_id = ? LIMIT 1) t", id).Scan(&n); err != nil {
			return mapErr(err)
		}
		if n > 0 {
			return ErrChannelHasTasks
		}
		if err := tx.queryRowW(ctx, "SELECT COUNT(*) FROM host_channels WHERE channel_id = ? AND revoke_event IS NULL", id).Scan(&n); err != nil {
			return mapErr(err)
		}
		if n > 0 && !force {
			return ErrChannelHasHosts
		}
		// the channel's host_channels history goes with it: its rows
		// would name a channel that no longer exists
		if _, err := tx.exec(ctx, "DELETE FROM host_channels WHERE channel_id = ?", id); err != nil {
			return err
		}
		m, err := tx.execN(ctx, "DELETE FROM channels WHERE id = ?", id)
		if err == nil && m == 0 {
			return ErrNotFound
		}
		tx.hostsChanged()
		return err
	})
}
