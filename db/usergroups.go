package db

import (
	"context"
	"database/sql"
	"fmt"
)

// AddGroupMember makes a user a member of a group (a user of type
// UserGroup) in a new event; ErrConflict if it is one already.
func (s *Store) AddGroupMember(ctx context.Context, groupID, userID int64, creator *int64) error {
	return s.WithTx(ctx, func(tx *Store) error {
		var n int
		if err := tx.queryRowW(ctx, "SELECT COUNT(*) FROM user_groups WHERE user_id = ? AND group_id = ? AND revoke_event IS NULL", userID, groupID).Scan(&n); err != nil {
			return fmt.Errorf("group member: %w", mapErr(err))
		}
		if n > 0 {
			return ErrConflict
		}
		ev, err := tx.NewEvent(ctx)
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, "INSERT INTO user_groups (user_id, group_id, create_event, creator_id) VALUES (?, ?, ?, ?)", userID, groupID, ev, creator)
		return err
	})
}

// RemoveGroupMember revokes a membership; ErrNotFound if there is none.
func (s *Store) RemoveGroupMember(ctx context.Context, groupID, userID int64, revoker *int64) error {
	return s.WithTx(ctx, func(tx *Store) error {
		ev, err := tx.NewEvent(ctx)
		if err != nil {
			return err
		}
		n, err := tx.execN(ctx, "UPDATE user_groups SET revoke_event = ?, revoker_id = ? WHERE user_id = ? AND group_id = ? AND revoke_event IS NULL", ev, revoker, userID, groupID)
		if err == nil && n == 0 {
			return ErrNotFound
		}
		return err
	})
}

// UserGroups returns the groups a user is a member of now, by name.
func (s *Store) UserGroups(ctx context.Context, userID int64) ([]User, error) {
	return s.users(ctx, "SELECT u.id, u.name, COALESCE(u.password, ''), u.usertype, u.status, u.krb_principal FROM user_groups g JOIN users u ON u.id = g.group_id WHERE g.user_id = ? AND g.revoke_event IS NULL AND u.usertype = ? ORDER BY u.name", userID, UserGroup)
}

// GroupMembers returns the members of a group now, by name.
func (s *Store) GroupMembers(ctx context.Context, groupID int64) ([]User, error) {
	return s.users(ctx, "SELECT u.id, u.name, COALESCE(u.password, ''), u.usertype, u.status, u.krb_principal FROM user_groups g JOIN users u ON u.id = g.user_id WHERE g.group_id = ? AND g.revoke_event IS NULL ORDER BY u.name", groupID)
}

func (s *Store) users(ctx context.Context, q string, args ...any) ([]User, error) {
	var out []User
	err := scanAll(s.query(ctx, q, args...))(func(r *sql.Rows) error {
		u, err := scanUser(r)
		out = append(out, u)
		return err
	})
	return out, err
}
