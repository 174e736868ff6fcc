package db

import (
	"context"
	"database/sql"
	"fmt"
)

// Notification is a row of build_notifications: mail user about builds of
// a package (nil: any) into a tag (nil: any), only successful ones with
// SuccessOnly. A block (build_notifications_block) has no SuccessOnly or
// Email.
type Notification struct {
	ID          int64
	UserID      int64
	PackageID   *int64
	TagID       *int64
	SuccessOnly bool
	Email       string
}

const notificationCols = "id, user_id, package_id, tag_id, success_only, email"

func scanNotification(sc interface{ Scan(...any) error }) (Notification, error) {
	var n Notification
	var pkg, tag sql.NullInt64
	err := sc.Scan(&n.ID, &n.UserID, &pkg, &tag, &n.SuccessOnly, &n.Email)
	n.PackageID, n.TagID = nullInt(pkg), nullInt(tag)
	return n, mapErr(err)
}

const blockCols = "id, user_id, package_id, tag_id, FALSE, ''"

func notifTable(block bool) (table, cols string) {
	if block {
		return "build_notifications_block", blockCols
	}
	return "build_notifications", notificationCols
}

// GetNotification reads a notification (block: a notification block).
func (s *Store) GetNotification(ctx context.Context, id int64, block bool) (Notification, error) {
	table, cols := notifTable(block)
	return scanNotification(s.queryRowW(ctx, "SELECT "+cols+" FROM "+table+" WHERE id = ?", id))
}

// ListNotifications returns a user's notifications (block: blocks), by id.
func (s *Store) ListNotifications(ctx context.Context, userID int64, block bool) ([]Notification, error) {
	table, cols := notifTable(block)
	var out []Notification
	err := scanAll(s.query(ctx, "SELECT "+cols+" FROM "+table+" WHERE user_id = ? ORDER BY id", userID))(func(r *sql.Rows) error {
		n, err := scanNotification(r)
		out = append(out, n)
		return err
	})
	return out, err
}

// sameNotification is the duplicate test of createNotification,
// updateNotification and createNotificationBlock: same package, tag and
// (for notifications) success_only among the user's rows, other than id.
func (s *Store) sameNotification(ctx context.Context, n Notification, block bool, except int64) (bool, error) {
	table, _ := notifTable(block)
	q := "SELECT COUNT(*) FROM " + table + " WHERE user_id = ? AND id <> ?"
	args := []any{n.UserID, except}
	for _, f := range []struct {
		col string
		v   *int64
	}{{"package_id", n.PackageID}, {"tag_id", n.TagID}} {
		if f.v == nil {
			q += " AND " + f.col + " IS NULL"
		} else {
			q += " AND " + f.col + " = ?"
			args = append(args, *f.v)
		}
	}
	if !block {
		q += " AND success_only = ?"
		args = append(args, n.SuccessOnly)
	}
	var c int
	if err := s.queryRowW(ctx, q, args...).Scan(&c); err != nil {
		return false, mapErr(err)
	}
	return c > 0, nil
}

// CreateNotification adds a notification (block: a block) and returns its
// id; ErrConflict if the user has the same one.
func (s *Store) CreateNotification(ctx context.Context, n Notification, block bool) (id int64, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		dup, err := tx.sameNotification(ctx, n, block, 0)
		if err != nil {
			return err
		}
		if dup {
			return ErrConflict
		}
		if block {
			id, err = tx.insertID(ctx, "INSERT INTO build_notifications_block (user_id, package_id, tag_id) VALUES (?, ?, ?)", n.UserID, n.PackageID, n.TagID)
		} else {
			id, err = tx.insertID(ctx, "INSERT INTO build_notifications (user_id, package_id, tag_id, success_only, email) VALUES (?, ?, ?, ?, ?)",
				n.UserID, n.PackageID, n.TagID, n.SuccessOnly, n.Email)
		}
		if err != nil {
			return fmt.Errorf("create notification: %w", err)
		}
		return nil
	})
	return id, err
}

// UpdateNotification sets a notification's package, tag and success_only;
// ErrConflict if its user has another one with the same (as Koji, the
// notification itself counts: an update that changes nothing is refused).
func (s *Store) UpdateNotification(ctx context.Context, n Notification) error {
	return s.WithTx(ctx, func(tx *Store) error {
		dup, err := tx.sameNotification(ctx, n, false, 0)
		if err != nil {
			return err
		}
		if dup {
			return ErrConflict
		}
		c, err := tx.execN(ctx, "UPDATE build_notifications SET package_id = ?, tag_id = ?, success_only = ? WHERE id = ?", n.PackageID, n.TagID, n.SuccessOnly, n.ID)
		if err == nil && c == 0 {
			return ErrNotFound
		}
		return err
	})
}

// DeleteNotification removes a notification (block: a block).
func (s *Store) DeleteNotification(ctx context.Context, id int64, block bool) error {
	table, _ := notifTable(block)
	c, err := s.execN(ctx, "DELETE FROM "+table+" WHERE id = ?", id)
	if err == nil && c == 0 {
		return ErrNotFound
	}
	return err
}
