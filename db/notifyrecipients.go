package db

import (
	"context"
	"database/sql"
	"strings"
)

// Recipient is a user a build or tag notification may go to.
type Recipient struct {
	UserID int64
	Email  string
}

// NotificationRecipients is the first query of Koji's
// get_notification_recipients: the notifications of active NORMAL and GROUP
// users that match a build's package (nil: no build, only rows for any
// package) and a tag (nil: only rows for any tag); success_only rows only
// when the build is successful.
func (s *Store) NotificationRecipients(ctx context.Context, packageID, tagID *int64, successful bool) ([]Recipient, error) {
	q := `SELECT n.user_id, n.email FROM build_notifications n JOIN users u ON u.id = n.user_id
		WHERE u.status = 0 AND u.usertype IN (0, 2)`
	var args []any
	q, args = notifyScope(q, args, "n.", packageID, tagID)
	if !successful {
		q += " AND n.success_only = FALSE"
	}
	var out []Recipient
	err := scanAll(s.query(ctx, q+" ORDER BY n.id", args...))(func(r *sql.Rows) error {
		var x Recipient
		err := r.Scan(&x.UserID, &x.Email)
		out = append(out, x)
		return err
	})
	return out, err
}

// NotificationOptOuts is the opt-out query of Koji's
// get_notification_recipients: which of users have a notification block
// matching the package and tag (as NotificationRecipients matches them).
func (s *Store) NotificationOptOuts(ctx context.Context, users []int64, packageID, tagID *int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(users) == 0 {
		return out, nil
	}
	q := "SELECT DISTINCT b.user_id FROM build_notifications_block b WHERE b.user_id IN (?" + strings.Repeat(", ?", len(users)-1) + ")"
	args := make([]any, 0, len(users)+2)
	for _, u := range users {
		args = append(args, u)
	}
	q, args = notifyScope(q, args, "b.", packageID, tagID)
	err := scanAll(s.query(ctx, q, args...))(func(r *sql.Rows) error {
		var id int64
		err := r.Scan(&id)
		out[id] = true
		return err
	})
	return out, err
}

// notifyScope adds Koji's package and tag clauses: the given one or any
// (NULL); with none given, only rows for any.
func notifyScope(q string, args []any, alias string, packageID, tagID *int64) (string, []any) {
	for _, f := range []struct {
		col string
		v   *int64
	}{{"package_id", packageID}, {"tag_id", tagID}} {
		if f.v == nil {
			q += " AND " + alias + f.col + " IS NULL"
		} else {
			q += " AND (" + alias + f.col + " = ? OR " + alias + f.col + " IS NULL)"
			args = append(args, *f.v)
		}
	}
	return q, args
}
