package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Group is a row of groups: a comps group's id ("build", "srpm-build"),
// shared by every tag that lists it.
type Group struct {
	ID   int64
	Name string
}

// GroupConfig is a tag's entry for a group (a row of group_config). The
// nullable columns are pointers, as Koji's NULLs.
type GroupConfig struct {
	GroupID     int64
	TagID       int64
	Name        string // the group's name, from groups
	Blocked     bool
	Exported    *bool
	DisplayName string
	IsDefault   *bool
	UserVisible *bool
	Description *string
	LangOnly    *string
	BiarchOnly  *bool
	CreateEvent int64
}

// GroupPackage is a tag's entry for a package in a group (a row of
// group_package_listing). Package is an rpm name.
type GroupPackage struct {
	GroupID      int64
	TagID        int64
	Package      string
	Blocked      bool
	Type         string
	BasearchOnly *bool
	Requires     *string
	CreateEvent  int64
}

// GroupReq is a tag's entry for a group a group requires (a row of
// group_req_listing).
type GroupReq struct {
	GroupID     int64
	TagID       int64
	ReqID       int64
	Name        string // the required group's name
	Blocked     bool
	Type        *string
	IsMetapkg   bool
	CreateEvent int64
}

func nullBool(v sql.NullBool) *bool {
	if !v.Valid {
		return nil
	}
	return &v.Bool
}

// GetGroup reads a group by id.
func (s *Store) GetGroup(ctx context.Context, id int64) (Group, error) {
	var g Group
	err := s.queryRow(ctx, "SELECT id, name FROM groups WHERE id = ?", id).Scan(&g.ID, &g.Name)
	return g, mapErr(err)
}

// GetGroupByName reads a group by name.
func (s *Store) GetGroupByName(ctx context.Context, name string) (Group, error) {
	var g Group
	err := s.queryRow(ctx, "SELECT id, name FROM groups WHERE name = ?", name).Scan(&g.ID, &g.Name)
	return g, mapErr(err)
}

// EnsureGroup returns the group named name, creating it if needed.
func (s *Store) EnsureGroup(ctx context.Context, name string) (Group, error) {
	var g Group
	err := s.WithTx(ctx, func(tx *Store) error {
		var err error
		g, err = tx.GetGroupByName(ctx, name)
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		id, err := tx.insertID(ctx, "INSERT INTO groups (name) VALUES (?)", name)
		if err != nil {
			return fmt.Errorf("create group %q: %w", name, err)
		}
		g = Group{ID: id, Name: name}
		return nil
	})
	return g, err
}

// GroupFilter selects the entries of ListGroupConfigs, ListGroupPackages
// and ListGroupReqs: those of TagIDs (all tags when empty), active now or,
// with Event, as of that event.
type GroupFilter struct {
	TagIDs  []int64
	GroupID *int64
	Event   *int64
}

func (f GroupFilter) where(alias string) (string, []any) {
	cond, args := activeAt(alias, f.Event)
	if len(f.TagIDs) > 0 {
		cond += " AND " + alias + ".tag_id IN (" + placeholders(len(f.TagIDs)) + ")"
		args = append(args, int64Args(f.TagIDs)...)
	}
	if f.GroupID != nil {
		cond += " AND " + alias + ".group_id = ?"
		args = append(args, *f.GroupID)
	}
	return cond, args
}

// ListGroupConfigs returns group entries by tag, then group name.
func (s *Store) ListGroupConfigs(ctx context.Context, f GroupFilter) ([]GroupConfig, error) {
	cond, args := f.where("gc")
	q := `SELECT gc.group_id, gc.tag_id, g.name, gc.blocked, gc.exported, gc.display_name, gc.is_default, gc.uservisible,
		gc.description, gc.langonly, gc.biarchonly, gc.create_event
		FROM group_config gc JOIN groups g ON g.id = gc.group_id WHERE ` + cond + " ORDER BY gc.tag_id, g.name"
	var out []GroupConfig
	err := scanAll(s.query(ctx, q, args...))(func(r *sql.Rows) error {
		var x GroupConfig
		var exported, isDefault, visible, biarch sql.NullBool
		var desc, lang sql.NullString
		err := r.Scan(&x.GroupID, &x.TagID, &x.Name, &x.Blocked, &exported, &x.DisplayName, &isDefault, &visible,
			&desc, &lang, &biarch, &x.CreateEvent)
		x.Exported, x.IsDefault, x.UserVisible, x.BiarchOnly = nullBool(exported), nullBool(isDefault), nullBool(visible), nullBool(biarch)
		x.Description, x.LangOnly = nullString(desc), nullString(lang)
		out = append(out, x)
		return err
	})
	return out, err
}

// ListGroupPackages returns group package entries by tag, then package.
func (s *Store) ListGroupPackages(ctx context.Context, f GroupFilter) ([]GroupPackage, error) {
	cond, args := f.where("gp")
	q := `SELECT gp.group_id, gp.tag_id, gp.package, gp.blocked, gp.type, gp.basearchonly, gp.requires, gp.create_event
		FROM group_package_listing gp WHERE ` + cond + " ORDER BY gp.tag_id, gp.package, gp.group_id"
	var out []GroupPackage
	err := scanAll(s.query(ctx, q, args...))(func(r *sql.Rows) error {
		var x GroupPackage
		var basearch sql.NullBool
		var req sql.NullString
		err := r.Scan(&x.GroupID, &x.TagID, &x.Package, &x.Blocked, &x.Type, &basearch, &req, &x.CreateEvent)
		x.BasearchOnly, x.Requires = nullBool(basearch), nullString(req)
		out = append(out, x)
		return err
	})
	return out, err
}

// ListGroupReqs returns group requirement entries by tag, then the
// required group's name.
func (s *Store) ListGroupReqs(ctx context.Context, f GroupFilter) ([]GroupReq, error) {
	cond, args := f.where("gr")
	q := `SELECT gr.group_id, gr.tag_id, gr.req_id, g.name, gr.blocked, gr.type, gr.is_metapkg, gr.create_event
		FROM group_req_listing gr JOIN groups g ON g.id = gr.req_id WHERE ` + cond + " ORDER BY gr.tag_id, g.name, gr.group_id"
	var out []GroupReq
	err := scanAll(s.query(ctx, q, args...))(func(r *sql.Rows) error {
		var x GroupReq
		var typ sql.NullString
		err := r.Scan(&x.GroupID, &x.TagID, &x.ReqID, &x.Name, &x.Blocked, &typ, &x.IsMetapkg, &x.CreateEvent)
		x.Type = nullString(typ)
		out = append(out, x)
		return err
	})
	return out, err
}

// revokeActive revokes the active rows of table matching key under event,
// and returns how many it revoked.
func (s *Store) revokeActive(ctx context.Context, table, key string, keyArgs []any, event int64, user *int64) (int64, error) {
	args := append([]any{event, user}, keyArgs...)
	n, err := s.execN(ctx, "UPDATE "+table+" SET revoke_event = ?, revoker_id = ? WHERE revoke_event IS NULL AND "+key, args...)
	if err != nil {
		return 0, fmt.Errorf("revoke %s: %w", table, err)
	}
	return n, nil
}

// replaceActive is one versioned change: under a new event, the active row
// of table matching key is revoked and insert (with the event and user as
// its last two arguments) adds its successor. It returns the event.
func (s *Store) replaceActive(ctx context.Context, table, key string, keyArgs []any, insert string, insertArgs []any, user *int64) (event int64, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		if event, err = tx.NewEvent(ctx); err != nil {
			return err
		}
		if _, err := tx.revokeActive(ctx, table, key, keyArgs, event, user); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, insert, append(insertArgs, event, user)...); err != nil {
			return fmt.Errorf("write %s: %w", table, err)
		}
		return nil
	})
	return event, err
}

// removeActive revokes the active row of table matching key under a new
// event and returns the event; ErrNotFound (and no event) when there is none.
func (s *Store) removeActive(ctx context.Context, table, key string, keyArgs []any, user *int64) (event int64, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		var n int
		if err := tx.queryRowW(ctx, "SELECT COUNT(*) FROM "+table+" WHERE revoke_event IS NULL AND "+key, keyArgs...).Scan(&n); err != nil {
			return mapErr(err)
		}
		if n == 0 {
			return fmt.Errorf("%s: %w", table, ErrNotFound)
		}
		if event, err = tx.NewEvent(ctx); err != nil {
			return err
		}
		_, err = tx.revokeActive(ctx, table, key, keyArgs, event, user)
		return err
	})
	return event, err
}

const groupConfigKey = "tag_id = ? AND group_id = ?"

// SetGroupConfig makes x the tag's entry for the group under a new event,
// revoking the previous one, and returns the event. user (may be nil) is
// recorded as the creator and revoker.
func (s *Store) SetGroupConfig(ctx context.Context, x GroupConfig, user *int64) (int64, error) {
	return s.replaceActive(ctx, "group_config", groupConfigKey, []any{x.TagID, x.GroupID},
		`INSERT INTO group_config (group_id, tag_id, blocked, exported, display_name, is_default, uservisible, description, langonly, biarchonly, create_event, creator_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		[]any{x.GroupID, x.TagID, x.Blocked, x.Exported, x.DisplayName, x.IsDefault, x.UserVisible, x.Description, x.LangOnly, x.BiarchOnly}, user)
}

// RemoveGroupConfig revokes the tag's own entry for a group under a new
// event; ErrNotFound when it has none.
func (s *Store) RemoveGroupConfig(ctx context.Context, tagID, groupID int64, user *int64) (int64, error) {
	return s.removeActive(ctx, "group_config", groupConfigKey, []any{tagID, groupID}, user)
}

const groupPackageKey = "tag_id = ? AND group_id = ? AND package = ?"

// SetGroupPackage makes x the tag's entry for a package of a group under a
// new event and returns the event.
func (s *Store) SetGroupPackage(ctx context.Context, x GroupPackage, user *int64) (int64, error) {
	return s.replaceActive(ctx, "group_package_listing", groupPackageKey, []any{x.TagID, x.GroupID, x.Package},
		`INSERT INTO group_package_listing (group_id, tag_id, package, blocked, type, basearchonly, requires, create_event, creator_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		[]any{x.GroupID, x.TagID, x.Package, x.Blocked, x.Type, x.BasearchOnly, x.Requires}, user)
}

// RemoveGroupPackage revokes the tag's own entry for a package of a group
// under a new event; ErrNotFound when it has none.
func (s *Store) RemoveGroupPackage(ctx context.Context, tagID, groupID int64, pkg string, user *int64) (int64, error) {
	return s.removeActive(ctx, "group_package_listing", groupPackageKey, []any{tagID, groupID, pkg}, user)
}

const groupReqKey = "tag_id = ? AND group_id = ? AND req_id = ?"

// SetGroupReq makes x the tag's entry for a group's requirement under a new
// event and returns the event.
func (s *Store) SetGroupReq(ctx context.Context, x GroupReq, user *int64) (int64, error) {
	return s.replaceActive(ctx, "group_req_listing", groupReqKey, []any{x.TagID, x.GroupID, x.ReqID},
		`INSERT INTO group_req_listing (group_id, tag_id, req_id, blocked, type, is_metapkg, create_event, creator_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		[]any{x.GroupID, x.TagID, x.ReqID, x.Blocked, x.Type, x.IsMetapkg}, user)
}

// RemoveGroupReq revokes the tag's own entry for a group's requirement
// under a new event; ErrNotFound when it has none.
func (s *Store) RemoveGroupReq(ctx context.Context, tagID, groupID, reqID int64, user *int64) (int64, error) {
	return s.removeActive(ctx, "group_req_listing", groupReqKey, []any{tagID, groupID, reqID}, user)
}
