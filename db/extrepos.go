package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ErrInUse means an external repo cannot be deleted without clean: tags
// still use it.
var ErrInUse = errors.New("in use")

// ExternalRepo is an external repository with the URL in effect.
type ExternalRepo struct {
	ID          int64
	Name        string
	URL         string
	CreateEvent int64 // of the URL in effect
}

// ExternalRepoFilter selects external repos; zero fields match everything.
// Only repos with a URL in effect (now, or as of Event) are listed: a
// deleted repo has none.
type ExternalRepoFilter struct {
	ID    *int64
	Name  *string
	URL   *string
	Event *int64
}

// by is the user a versioned row records as its creator or revoker; 0 is nobody.
func by(userID int64) any {
	if userID == 0 {
		return nil
	}
	return userID
}

// ListExternalRepos returns the external repos f selects, by id.
func (s *Store) ListExternalRepos(ctx context.Context, f ExternalRepoFilter) ([]ExternalRepo, error) {
	cond, args := activeAt("c", f.Event)
	q := "SELECT r.id, r.name, c.url, c.create_event FROM external_repos r JOIN external_repo_config c ON c.external_repo_id = r.id WHERE " + cond
	if f.ID != nil {
		q += " AND r.id = ?"
		args = append(args, *f.ID)
	}
	if f.Name != nil {
		q += " AND r.name = ?"
		args = append(args, *f.Name)
	}
	if f.URL != nil {
		q += " AND c.url = ?"
		args = append(args, *f.URL)
	}
	var out []ExternalRepo
	err := scanAll(s.query(ctx, q+" ORDER BY r.id", args...))(func(r *sql.Rows) error {
		var x ExternalRepo
		err := r.Scan(&x.ID, &x.Name, &x.URL, &x.CreateEvent)
		out = append(out, x)
		return err
	})
	return out, err
}

func (s *Store) oneExternalRepo(ctx context.Context, f ExternalRepoFilter) (ExternalRepo, error) {
	l, err := s.ListExternalRepos(ctx, f)
	if err != nil {
		return ExternalRepo{}, err
	}
	if len(l) == 0 {
		return ExternalRepo{}, ErrNotFound
	}
	return l[0], nil
}

// GetExternalRepo reads an external repo by id, now or as of event ev.
func (s *Store) GetExternalRepo(ctx context.Context, id int64, ev *int64) (ExternalRepo, error) {
	return s.oneExternalRepo(ctx, ExternalRepoFilter{ID: &id, Event: ev})
}

// GetExternalRepoByName reads an external repo by name, now or as of event ev.
func (s *Store) GetExternalRepoByName(ctx context.Context, name string, ev *int64) (ExternalRepo, error) {
	return s.oneExternalRepo(ctx, ExternalRepoFilter{Name: &name, Event: ev})
}

// ExternalRepoIDByName returns the id a name has ever been given to,
// deleted repos included (their names stay taken, as in Koji).
func (s *Store) ExternalRepoIDByName(ctx context.Context, name string) (int64, error) {
	var id int64
	err := s.queryRowW(ctx, "SELECT id FROM external_repos WHERE name = ?", name).Scan(&id)
	return id, mapErr(err)
}

// ExternalRepoNameByID returns the name of the external repo with id,
// deleted repos included (Koji's lookup_name on external_repo).
func (s *Store) ExternalRepoNameByID(ctx context.Context, id int64) (string, error) {
	var name string
	err := s.queryRowW(ctx, "SELECT name FROM external_repos WHERE id = ?", id).Scan(&name)
	return name, mapErr(err)
}

// CreateExternalRepo gives url to the external repo name under a new event,
// reusing the id of a deleted repo of that name (as Koji), and returns the
// id and the event. ErrConflict when a repo of that name exists.
func (s *Store) CreateExternalRepo(ctx context.Context, name, url string, userID int64) (id, event int64, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		id, err = tx.ExternalRepoIDByName(ctx, name)
		switch {
		case errors.Is(err, ErrNotFound):
			if id, err = tx.insertID(ctx, "INSERT INTO external_repos (name) VALUES (?)", name); err != nil {
				return fmt.Errorf("create external repo %q: %w", name, err)
			}
		case err != nil:
			return err
		}
		if event, err = tx.NewEvent(ctx); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "INSERT INTO external_repo_config (external_repo_id, url, create_event, creator_id) VALUES (?, ?, ?, ?)",
			id, url, event, by(userID)); err != nil {
			return fmt.Errorf("create external repo %q: %w", name, err)
		}
		return nil
	})
	return id, event, err
}

// ExternalRepoEdit holds what EditExternalRepo changes; nil leaves a field alone.
type ExternalRepoEdit struct {
	Name *string
	URL  *string
}

// EditExternalRepo renames an external repo (names are not versioned, as
// in Koji) and gives it a new URL (the old one is revoked) under one new
// event, which it returns. ErrNotFound when the repo is deleted or
// unknown; ErrConflict when the name is taken.
func (s *Store) EditExternalRepo(ctx context.Context, id int64, e ExternalRepoEdit, userID int64) (event int64, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		var n int
		if err := tx.queryRowW(ctx, "SELECT COUNT(*) FROM external_repo_config WHERE external_repo_id = ? AND revoke_event IS NULL", id).Scan(&n); err != nil {
			return fmt.Errorf("edit external repo %d: %w", id, mapErr(err))
		}
		if n == 0 {
			return fmt.Errorf("edit external repo %d: %w", id, ErrNotFound)
		}
		if event, err = tx.NewEvent(ctx); err != nil {
			return err
		}
		if e.Name != nil {
			if _, err := tx.exec(ctx, "UPDATE external_repos SET name = ? WHERE id = ?", *e.Name, id); err != nil {
				return fmt.Errorf("rename external repo %d: %w", id, err)
			}
		}
		if e.URL != nil {
			if _, err := tx.exec(ctx, "UPDATE external_repo_config SET revoke_event = ?, revoker_id = ? WHERE external_repo_id = ? AND revoke_event IS NULL",
				event, by(userID), id); err != nil {
				return fmt.Errorf("edit external repo %d: %w", id, err)
			}
			if _, err := tx.exec(ctx, "INSERT INTO external_repo_config (external_repo_id, url, create_event, creator_id) VALUES (?, ?, ?, ?)",
				id, *e.URL, event, by(userID)); err != nil {
				return fmt.Errorf("edit external repo %d: %w", id, err)
			}
		}
		return nil
	})
	return event, err
}

// DeleteExternalRepo revokes an external repo's URL under a new event and
// returns it. With clean, the tags that use the repo stop using it in the
// same event (Koji's deleteExternalRepo); without, ErrInUse while any does.
func (s *Store) DeleteExternalRepo(ctx context.Context, id int64, clean bool, userID int64) (event int64, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		var uses int
		if err := tx.queryRowW(ctx, "SELECT COUNT(*) FROM tag_external_repos WHERE external_repo_id = ? AND revoke_event IS NULL", id).Scan(&uses); err != nil {
			return fmt.Errorf("delete external repo %d: %w", id, mapErr(err))
		}
		if uses > 0 && !clean {
			return fmt.Errorf("delete external repo %d: %w by %d tags", id, ErrInUse, uses)
		}
		if event, err = tx.NewEvent(ctx); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "UPDATE tag_external_repos SET revoke_event = ?, revoker_id = ? WHERE external_repo_id = ? AND revoke_event IS NULL",
			event, by(userID), id); err != nil {
			return fmt.Errorf("delete external repo %d: %w", id, err)
		}
		n, err := tx.execN(ctx, "UPDATE external_repo_config SET revoke_event = ?, revoker_id = ? WHERE external_repo_id = ? AND revoke_event IS NULL",
			event, by(userID), id)
		if err != nil {
			return fmt.Errorf("delete external repo %d: %w", id, err)
		}
		if n == 0 {
			return fmt.Errorf("delete external repo %d: %w", id, ErrNotFound)
		}
		return nil
	})
	return event, err
}

// TagExternalRepo is a tag's use of an external repo.
type TagExternalRepo struct {
	TagID       int64
	TagName     string
	RepoID      int64
	RepoName    string
	URL         string
	Priority    int64
	MergeMode   string // koji, simple or bare
	Arches      *string
	CreateEvent int64
}

// TagExternalRepoFilter selects tags' uses of external repos; zero fields
// match everything.
type TagExternalRepoFilter struct {
	TagIDs []int64
	RepoID *int64
	Event  *int64
}

// ListTagExternalRepos returns the uses f selects, now or as of f.Event,
// by priority (then tag and repo). The repo's URL is the one in effect at
// the same time; uses of a repo deleted by then are not listed. Without an
// event, the uses by deleted tags are not listed either.
func (s *Store) ListTagExternalRepos(ctx context.Context, f TagExternalRepoFilter) ([]TagExternalRepo, error) {
	cond, args := activeAt("te", f.Event)
	ccond, cargs := activeAt("c", f.Event)
	q := `SELECT te.tag_id, t.name, te.external_repo_id, r.name, c.url, te.priority, te.merge_mode, te.arches, te.create_event
		FROM tag_external_repos te JOIN tags t ON t.id = te.tag_id JOIN external_repos r ON r.id = te.external_repo_id
		JOIN external_repo_config c ON c.external_repo_id = r.id WHERE ` + cond + " AND " + ccond
	args = append(args, cargs...)
	if f.Event == nil {
		q += " AND NOT t.deleted"
	}
	if len(f.TagIDs) > 0 {
		q += " AND te.tag_id IN (" + placeholders(len(f.TagIDs)) + ")"
		args = append(args, int64Args(f.TagIDs)...)
	}
	if f.RepoID != nil {
		q += " AND te.external_repo_id = ?"
		args = append(args, *f.RepoID)
	}
	var out []TagExternalRepo
	err := scanAll(s.query(ctx, q+" ORDER BY te.priority, te.tag_id, te.external_repo_id", args...))(func(r *sql.Rows) error {
		var x TagExternalRepo
		var arches sql.NullString
		err := r.Scan(&x.TagID, &x.TagName, &x.RepoID, &x.RepoName, &x.URL, &x.Priority, &x.MergeMode, &arches, &x.CreateEvent)
		x.Arches = nullString(arches)
		out = append(out, x)
		return err
	})
	return out, err
}

// AddTagExternalRepo makes tag x.TagID use repo x.RepoID at x.Priority
// under a new event and returns it. ErrConflict when the tag already uses
// the repo, or another repo at that priority.
func (s *Store) AddTagExternalRepo(ctx context.Context, x TagExternalRepo, userID int64) (event int64, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		if event, err = tx.NewEvent(ctx); err != nil {
			return err
		}
		return tx.insertTagExternalRepo(ctx, x, event, userID)
	})
	return event, err
}

func (s *Store) insertTagExternalRepo(ctx context.Context, x TagExternalRepo, event, userID int64) error {
	_, err := s.exec(ctx, `INSERT INTO tag_external_repos (tag_id, external_repo_id, priority, merge_mode, arches, create_event, creator_id)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, x.TagID, x.RepoID, x.Priority, x.MergeMode, x.Arches, event, by(userID))
	if err != nil {
		return fmt.Errorf("add external repo %d to tag %d: %w", x.RepoID, x.TagID, err)
	}
	return nil
}

func (s *Store) revokeTagExternalRepo(ctx context.Context, tagID, repoID, event, userID int64) error {
	n, err := s.execN(ctx, "UPDATE tag_external_repos SET revoke_event = ?, revoker_id = ? WHERE tag_id = ? AND external_repo_id = ? AND revoke_event IS NULL",
		event, by(userID), tagID, repoID)
	if err != nil {
		return fmt.Errorf("external repo %d of tag %d: %w", repoID, tagID, err)
	}
	if n == 0 {
		return fmt.Errorf("external repo %d of tag %d: %w", repoID, tagID, ErrNotFound)
	}
	return nil
}

// SetTagExternalRepo replaces a tag's use of a repo by x under one new
// event (the old row revoked, a new one created, as Koji's
// editTagExternalRepo) and returns it. ErrNotFound when the tag does not use
// the repo; ErrConflict when another repo has the priority.
func (s *Store) SetTagExternalRepo(ctx context.Context, x TagExternalRepo, userID int64) (event int64, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		if event, err = tx.NewEvent(ctx); err != nil {
			return err
		}
		if err := tx.revokeTagExternalRepo(ctx, x.TagID, x.RepoID, event, userID); err != nil {
			return err
		}
		return tx.insertTagExternalRepo(ctx, x, event, userID)
	})
	return event, err
}

// RemoveTagExternalRepo ends a tag's use of a repo under a new event and
// returns it; ErrNotFound when the tag does not use the repo.
func (s *Store) RemoveTagExternalRepo(ctx context.Context, tagID, repoID, userID int64) (event int64, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		if event, err = tx.NewEvent(ctx); err != nil {
			return err
		}
		return tx.revokeTagExternalRepo(ctx, tagID, repoID, event, userID)
	})
	return event, err
}

// GetExternalRepoData returns the tracking data (a JSON text, Koji's
// external_repo_data.data) of an external repo in effect now, or as of
// event ev; ok is false when none was ever set (Koji's
// repo.getExternalRepoData answers None).
func (s *Store) GetExternalRepoData(ctx context.Context, repoID int64, ev *int64) (data string, ok bool, err error) {
	cond, args := activeAt("d", ev)
	var v sql.NullString
	err = s.queryRowW(ctx, "SELECT d.data FROM external_repo_data d WHERE d.external_repo_id = ? AND "+cond,
		append([]any{repoID}, args...)...).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("external repo %d data: %w", repoID, mapErr(err))
	}
	return v.String, v.Valid, nil
}

// SetExternalRepoData replaces the tracking data of an external repo (a
// JSON text) under a new event, which it returns: the datum in effect is
// revoked and data created in the same event (Koji's
// set_external_repo_data). The event is a change of every tag that uses
// the repo (see TagLastChangeEvent). ErrNotFound when no repo ever had
// the id (a deleted repo's data can be set, as in Koji).
func (s *Store) SetExternalRepoData(ctx context.Context, repoID int64, data string, userID int64) (event int64, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		if _, err := tx.ExternalRepoNameByID(ctx, repoID); err != nil {
			return fmt.Errorf("set external repo %d data: %w", repoID, err)
		}
		if event, err = tx.NewEvent(ctx); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "UPDATE external_repo_data SET revoke_event = ?, revoker_id = ? WHERE external_repo_id = ? AND revoke_event IS NULL",
			event, by(userID), repoID); err != nil {
			return fmt.Errorf("set external repo %d data: %w", repoID, err)
		}
		if _, err := tx.exec(ctx, "INSERT INTO external_repo_data (external_repo_id, data, create_event, creator_id) VALUES (?, ?, ?, ?)",
			repoID, data, event, by(userID)); err != nil {
			return fmt.Errorf("set external repo %d data: %w", repoID, err)
		}
		return nil
	})
	return event, err
}
