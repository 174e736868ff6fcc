package db

import (
	"context"
	"database/sql"
	"fmt"
)

// User types and statuses, with Koji's numbers.
const (
	UserNormal = 0
	UserHost   = 1
	UserGroup  = 2

	StatusNormal  = 0
	StatusBlocked = 1
)

// User is a row of users. PasswordHash is never sent on the wire.
type User struct {
	ID           int64
	Name         string
	PasswordHash string
	UserType     int
	Status       int
	KrbPrincipal *string
}

// Perm is a permission.
type Perm struct {
	ID          int64
	Name        string
	Description string
}

const userCols = "id, name, COALESCE(password, ''), usertype, status, krb_principal"

func scanUser(sc interface{ Scan(...any) error }) (User, error) {
	var u User
	var krb sql.NullString
	err := sc.Scan(&u.ID, &u.Name, &u.PasswordHash, &u.UserType, &u.Status, &krb)
	if krb.Valid {
		u.KrbPrincipal = &krb.String
	}
	return u, mapErr(err)
}

// CreateUser inserts a user and returns its id; ErrConflict if the name is taken.
func (s *Store) CreateUser(ctx context.Context, u User) (int64, error) {
	var pw any
	if u.PasswordHash != "" {
		pw = u.PasswordHash
	}
	id, err := s.insertID(ctx, "INSERT INTO users (name, password, usertype, status, krb_principal) VALUES (?, ?, ?, ?, ?)",
		u.Name, pw, u.UserType, u.Status, u.KrbPrincipal)
	if err != nil {
		return 0, fmt.Errorf("create user %q: %w", u.Name, err)
	}
	return id, nil
}

// GetUser finds a user by id.
func (s *Store) GetUser(ctx context.Context, id int64) (User, error) {
	return scanUser(s.queryRow(ctx, "SELECT "+userCols+" FROM users WHERE id = ?", id))
}

// GetUserByName finds a user by name.
func (s *Store) GetUserByName(ctx context.Context, name string) (User, error) {
	return scanUser(s.queryRow(ctx, "SELECT "+userCols+" FROM users WHERE name = ?", name))
}

// GetUserByKrb finds a user by Kerberos principal.
func (s *Store) GetUserByKrb(ctx context.Context, principal string) (User, error) {
	return scanUser(s.queryRow(ctx, "SELECT "+userCols+" FROM users WHERE krb_principal = ?", principal))
}

// UserFilter selects users for ListUsers; zero fields match everything.
type UserFilter struct {
	UserType *int
	Prefix   string
}

// ListUsers returns users ordered by id.
func (s *Store) ListUsers(ctx context.Context, f UserFilter) ([]User, error) {
	q := "SELECT " + userCols + " FROM users WHERE 1=1"
	var args []any
	if f.UserType != nil {
		q += " AND usertype = ?"
		args = append(args, *f.UserType)
	}
	if f.Prefix != "" {
		// case-insensitive, as Koji's ILIKE
		q += " AND lower(substr(name, 1, ?)) = lower(?)"
		args = append(args, len([]rune(f.Prefix)), f.Prefix)
	}
	q += " ORDER BY id"
	var out []User
	err := scanAll(s.query(ctx, q, args...))(func(r *sql.Rows) error {
		u, err := scanUser(r)
		out = append(out, u)
		return err
	})
	return out, err
}

// SetPassword replaces a user's password hash ("" removes password login).
func (s *Store) SetPassword(ctx context.Context, userID int64, hash string) error {
	var pw any
	if hash != "" {
		pw = hash
	}
	n, err := s.execN(ctx, "UPDATE users SET password = ? WHERE id = ?", pw, userID)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

// SetUserType changes a user's type (a NORMAL user becoming a HOST).
func (s *Store) SetUserType(ctx context.Context, userID int64, usertype int) error {
	n, err := s.execN(ctx, "UPDATE users SET usertype = ? WHERE id = ?", usertype, userID)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

// SetUserStatus blocks or unblocks a user.
func (s *Store) SetUserStatus(ctx context.Context, userID int64, status int) error {
	n, err := s.execN(ctx, "UPDATE users SET status = ? WHERE id = ?", status, userID)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

// ListPerms returns every permission ordered by id.
func (s *Store) ListPerms(ctx context.Context) ([]Perm, error) {
	var out []Perm
	err := scanAll(s.query(ctx, "SELECT id, name, COALESCE(description, '') FROM permissions ORDER BY id"))(func(r *sql.Rows) error {
		var p Perm
		if err := r.Scan(&p.ID, &p.Name, &p.Description); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

// GetPermByName finds a permission.
func (s *Store) GetPermByName(ctx context.Context, name string) (Perm, error) {
	var p Perm
	err := s.queryRow(ctx, "SELECT id, name, COALESCE(description, '') FROM permissions WHERE name = ?", name).Scan(&p.ID, &p.Name, &p.Description)
	return p, mapErr(err)
}

// CreatePerm adds a permission (Koji's grantPermission create=True).
func (s *Store) CreatePerm(ctx context.Context, name, description string) (int64, error) {
	return s.insertID(ctx, "INSERT INTO permissions (name, description) VALUES (?, ?)", name, description)
}

// UserPerms returns the names of a user's permissions, sorted.
func (s *Store) UserPerms(ctx context.Context, userID int64) ([]string, error) {
	var out []string
	err := scanAll(s.query(ctx, "SELECT p.name FROM user_perms up JOIN permissions p ON p.id = up.perm_id WHERE up.user_id = ? AND up.revoke_event IS NULL ORDER BY p.name", userID))(func(r *sql.Rows) error {
		var n string
		err := r.Scan(&n)
		out = append(out, n)
		return err
	})
	return out, err
}

// GrantPerm gives a permission at a new event, made by creator (nil:
// nobody known); ErrConflict if the user already has it. It checks first,
// so that a conflict does not abort the transaction it runs in.
func (s *Store) GrantPerm(ctx context.Context, userID, permID int64, creator *int64) error {
	return s.WithTx(ctx, func(tx *Store) error {
		var n int
		err := tx.queryRowW(ctx, "SELECT COUNT(*) FROM user_perms WHERE user_id = ? AND perm_id = ? AND revoke_event IS NULL", userID, permID).Scan(&n)
		if err != nil {
			return mapErr(err)
		}
		if n > 0 {
			return fmt.Errorf("user %d permission %d: %w", userID, permID, ErrConflict)
		}
		ev, err := tx.NewEvent(ctx)
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, "INSERT INTO user_perms (user_id, perm_id, create_event, creator_id) VALUES (?, ?, ?, ?)", userID, permID, ev, creator)
		return err
	})
}

// RevokePerm takes a permission away; ErrNotFound if the user did not have it.
func (s *Store) RevokePerm(ctx context.Context, userID, permID int64) error {
	return s.RevokePermBy(ctx, userID, permID, 0)
}

// RevokePermBy is RevokePerm revoking the user_perms row at a new event, by
// user (0: nobody).
func (s *Store) RevokePermBy(ctx context.Context, userID, permID, user int64) error {
	return s.WithTx(ctx, func(tx *Store) error {
		ev, err := tx.NewEvent(ctx)
		if err != nil {
			return err
		}
		n, err := tx.execN(ctx, "UPDATE user_perms SET revoke_event = ?, revoker_id = ? WHERE user_id = ? AND perm_id = ? AND revoke_event IS NULL",
			ev, by(user), userID, permID)
		if err == nil && n == 0 {
			return ErrNotFound
		}
		return err
	})
}
