package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// RenameUser gives a user a new name; ErrConflict if another user has it.
func (s *Store) RenameUser(ctx context.Context, userID int64, name string) error {
	n, err := s.execN(ctx, "UPDATE users SET name = ? WHERE id = ?", name, userID)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("rename user %d: %w", userID, err)
	}
	return nil
}

// SetKrbPrincipal sets or (nil) clears a user's Kerberos principal.
func (s *Store) SetKrbPrincipal(ctx context.Context, userID int64, principal *string) error {
	n, err := s.execN(ctx, "UPDATE users SET krb_principal = ? WHERE id = ?", principal, userID)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

// SetPermDescription replaces a permission's description.
func (s *Store) SetPermDescription(ctx context.Context, permID int64, description string) error {
	n, err := s.execN(ctx, "UPDATE permissions SET description = ? WHERE id = ?", description, permID)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

// UsersWithPerm returns the ids of the users holding a permission: their
// own grant, or with inherited also a grant to a group they are a member of.
func (s *Store) UsersWithPerm(ctx context.Context, permID int64, inherited bool) (map[int64]bool, error) {
	q := "SELECT user_id FROM user_perms WHERE perm_id = ? AND revoke_event IS NULL"
	args := []any{permID}
	if inherited {
		q += " UNION SELECT g.user_id FROM user_groups g JOIN user_perms up ON up.user_id = g.group_id AND up.revoke_event IS NULL WHERE up.perm_id = ? AND g.revoke_event IS NULL"
		args = append(args, permID)
	}
	out := map[int64]bool{}
	err := scanAll(s.query(ctx, q, args...))(func(r *sql.Rows) error {
		var id int64
		err := r.Scan(&id)
		out[id] = true
		return err
	})
	return out, err
}

// ContentGenerator is a row of content_generators with the names of the
// users who may import for it now.
type ContentGenerator struct {
	ID    int64
	Name  string
	Users []string
}

// GetCG finds a content generator by id.
func (s *Store) GetCG(ctx context.Context, id int64) (ContentGenerator, error) {
	var cg ContentGenerator
	err := s.queryRowW(ctx, "SELECT id, name FROM content_generators WHERE id = ?", id).Scan(&cg.ID, &cg.Name)
	return cg, mapErr(err)
}

// GetCGByName finds a content generator by name.
func (s *Store) GetCGByName(ctx context.Context, name string) (ContentGenerator, error) {
	var cg ContentGenerator
	err := s.queryRowW(ctx, "SELECT id, name FROM content_generators WHERE name = ?", name).Scan(&cg.ID, &cg.Name)
	return cg, mapErr(err)
}

// CreateCG adds a content generator.
func (s *Store) CreateCG(ctx context.Context, name string) (int64, error) {
	id, err := s.insertID(ctx, "INSERT INTO content_generators (name) VALUES (?)", name)
	if err != nil {
		return 0, fmt.Errorf("create content generator %q: %w", name, err)
	}
	return id, nil
}

// GrantCG lets a user import for a content generator, in a new event;
// ErrConflict if the user already may.
func (s *Store) GrantCG(ctx context.Context, cgID, userID int64, creator *int64) error {
	return s.WithTx(ctx, func(tx *Store) error {
		var n int
		if err := tx.queryRowW(ctx, "SELECT COUNT(*) FROM cg_users WHERE cg_id = ? AND user_id = ? AND revoke_event IS NULL", cgID, userID).Scan(&n); err != nil {
			return fmt.Errorf("cg access: %w", mapErr(err))
		}
		if n > 0 {
			return ErrConflict
		}
		ev, err := tx.NewEvent(ctx)
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, "INSERT INTO cg_users (cg_id, user_id, create_event, creator_id) VALUES (?, ?, ?, ?)", cgID, userID, ev, creator)
		return err
	})
}

// RevokeCG revokes a user's access to a content generator in a new event
// (nothing to revoke is no error, as in Koji).
func (s *Store) RevokeCG(ctx context.Context, cgID, userID int64, revoker *int64) error {
	return s.WithTx(ctx, func(tx *Store) error {
		ev, err := tx.NewEvent(ctx)
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, "UPDATE cg_users SET revoke_event = ?, revoker_id = ? WHERE cg_id = ? AND user_id = ? AND revoke_event IS NULL", ev, revoker, cgID, userID)
		return err
	})
}

// ListCGs returns the content generators that have at least one user with
// access, by id, with those users' names.
func (s *Store) ListCGs(ctx context.Context) ([]ContentGenerator, error) {
	var out []ContentGenerator
	err := scanAll(s.query(ctx, `SELECT c.id, c.name, u.name FROM cg_users cu JOIN content_generators c ON c.id = cu.cg_id
		JOIN users u ON u.id = cu.user_id WHERE cu.revoke_event IS NULL ORDER BY c.id, cu.create_event`))(func(r *sql.Rows) error {
		var id int64
		var cg, user string
		if err := r.Scan(&id, &cg, &user); err != nil {
			return err
		}
		if len(out) == 0 || out[len(out)-1].ID != id {
			out = append(out, ContentGenerator{ID: id, Name: cg})
		}
		out[len(out)-1].Users = append(out[len(out)-1].Users, user)
		return nil
	})
	return out, err
}

// HasCGAccess reports whether a user may import for a content generator now.
func (s *Store) HasCGAccess(ctx context.Context, cgID, userID int64) (bool, error) {
	var n int
	err := s.queryRow(ctx, "SELECT COUNT(*) FROM cg_users WHERE cg_id = ? AND user_id = ? AND revoke_event IS NULL", cgID, userID).Scan(&n)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, mapErr(err)
	}
	return n > 0, nil
}
