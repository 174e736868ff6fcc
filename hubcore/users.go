package hubcore

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// Users, permissions and content-generator access: Koji 1.35's
// enableUser, disableUser, editUser, editPermission, grantCGAccess,
// revokeCGAccess and listCGs. A disabled (BLOCKED) user is refused at
// login and on every call of a session it already has (auth.go,
// session.go), with Koji's "logins by NAME are not allowed".
func userAdminMethods() []method {
	return []method{
		{name: "enableUser", argdesc: "(username)", fn: mEnableUser},
		{name: "disableUser", argdesc: "(username)", fn: mDisableUser},
		{name: "editUser", argdesc: "(userInfo, name=None, krb_principal_mappings=None)", fn: mEditUser},
		{name: "editPermission", argdesc: "(permission, description)", fn: mEditPermission},
		{name: "grantCGAccess", argdesc: "(user, cg, create=False)", fn: mGrantCGAccess},
		{name: "revokeCGAccess", argdesc: "(user, cg)", fn: mRevokeCGAccess},
		{name: "listCGs", argdesc: "()", fn: mListCGs},
	}
}

// adminAreaMethods are the tables of users.go, usergroups.go, channels.go,
// notifications.go and volumes.go.
func adminAreaMethods() []method {
	return slices.Concat(userAdminMethods(), userGroupMethods(), channelAdminMethods(), notificationMethods(), volumeMethods())
}

// enableUser(username)
func mEnableUser(c *call, a *kojixml.Args) (any, error) {
	return setUserStatus(c, a, db.StatusNormal)
}

// disableUser(username)
func mDisableUser(c *call, a *kojixml.Args) (any, error) {
	return setUserStatus(c, a, db.StatusBlocked)
}

// setUserStatus is Koji's: the user is looked up first (anyone learns
// "No such user"), then admin is required; no change is no write.
func setUserStatus(c *call, a *kojixml.Args, status int) (any, error) {
	info := a.Any(0, "username")
	if err := a.Done(); err != nil {
		return nil, err
	}
	u, err := c.hub.kojiUser(c, info, false)
	if err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	if u.Status == status {
		return nil, nil
	}
	if err := c.hub.store.SetUserStatus(c.ctx, u.ID, status); err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// kojiUser is Koji's get_user(info, strict=...) for the methods here: an
// id, a name, or a struct with id, name or krb_principal. Not found is
// Koji's GenericError ("No such user: %r" with strict, else "No such
// user: %s"); a value of another type is "Invalid type for userInfo".
func (h *Hub) kojiUser(c *call, info any, strict bool) (db.User, error) {
	switch info.(type) {
	case int64, string, map[string]any:
	default:
		return db.User{}, genericErr("Invalid type for userInfo: %s", pyType(info))
	}
	u, err := h.lookupUser(c, info)
	if errors.Is(err, db.ErrNotFound) || (err == nil && u.ID == 0) {
		if strict {
			return u, genericErr("No such user: %s", pyRepr(info))
		}
		return u, genericErr("No such user: %v", info)
	}
	if f, ok := err.(*kojixml.Fault); ok && f.Code == kojixml.ParameterError {
		// a struct naming no user by a key Koji reads
		if strict {
			return u, genericErr("No such user: %s", pyRepr(info))
		}
		return u, genericErr("No such user: %v", info)
	}
	return u, err
}

// pyType names a value's Python type as Koji's messages show it.
func pyType(v any) string {
	switch v.(type) {
	case nil:
		return "<class 'NoneType'>"
	case bool:
		return "<class 'bool'>"
	case int64:
		return "<class 'int'>"
	case float64:
		return "<class 'float'>"
	case string:
		return "<class 'str'>"
	case []any:
		return "<class 'list'>"
	case map[string]any:
		return "<class 'dict'>"
	case []byte:
		return "<class 'bytes'>"
	}
	return fmt.Sprintf("<class '%T'>", v)
}

// editUser(userInfo, name=None, krb_principal_mappings=None): rename a
// user, or change its Kerberos principals ([{old, new}, ...]: add with
// old None, remove with new None, replace with both).
func mEditUser(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "userInfo")
	name := a.OptAny(1, "name", nil)
	maps := a.OptAny(2, "krb_principal_mappings", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	u, err := c.hub.kojiUser(c, info, true)
	if err != nil {
		return nil, err
	}
	var newName string
	if pyTruthy(name) {
		s, ok := name.(string)
		if !ok {
			return nil, genericErr("Name should be string")
		}
		newName = s
	}
	var added, removed []string
	if pyTruthy(maps) {
		list, ok := maps.([]any)
		if !ok {
			return nil, paramErr("krb_principal_mappings: want a list of {'old': ..., 'new': ...}, got %s", typeName(maps))
		}
		if len(list) > 1000 {
			return nil, paramErr("krb_principal_mappings: %d entries exceeds the limit of 1000", len(list))
		}
		for _, p := range list {
			m, ok := p.(map[string]any)
			if !ok {
				return nil, paramErr("krb_principal_mappings: want a list of {'old': ..., 'new': ...}, got an entry of %s", typeName(p))
			}
			for _, k := range []string{"old", "new"} {
				v := m[k]
				if !pyTruthy(v) {
					continue
				}
				s, ok := v.(string)
				if !ok {
					if k == "new" {
						return nil, genericErr("Kerberos principal should be string")
					}
					return nil, paramErr("krb_principal_mappings: old: want a string, got %s", typeName(v))
				}
				if k == "new" {
					if err := validateName(s); err != nil {
						return nil, err
					}
					added = appendNew(added, s)
				} else {
					removed = appendNew(removed, s)
				}
			}
		}
	}
	if newName != "" && newName != u.Name {
		if err := validateName(newName); err != nil {
			return nil, err
		}
	}
	c.wrote = true
	return nil, c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		if newName != "" && newName != u.Name {
			other, err := tx.GetUserByName(c.ctx, newName)
			if err == nil {
				return genericErr("Name %s already taken by user %d", newName, other.ID)
			}
			if !errors.Is(err, db.ErrNotFound) {
				return err
			}
			if err := tx.RenameUser(c.ctx, u.ID, newName); errors.Is(err, db.ErrConflict) {
				return genericErr("Name %s already taken", newName)
			} else if err != nil {
				return err
			}
		}
		if len(added) == 0 && len(removed) == 0 {
			return nil
		}
		if dups := intersect(added, removed); len(dups) > 0 {
			return genericErr("There are some conflicts between added and removed Kerberos principals: %s", strings.Join(dups, ", "))
		}
		var current []string
		if u.KrbPrincipal != nil {
			current = []string{*u.KrbPrincipal}
		}
		if dups := intersect(added, current); len(dups) > 0 {
			return genericErr("Cannot add existing Kerberos principals: %s", strings.Join(dups, ", "))
		}
		var missing []string
		for _, r := range removed {
			if len(intersect([]string{r}, current)) == 0 {
				missing = append(missing, r)
			}
		}
		if len(missing) > 0 {
			return genericErr("Cannot remove non-existent Kerberos principals: %s", strings.Join(missing, ", "))
		}
		left := len(current) - len(removed) + len(added)
		if left > 1 {
			return genericErr("user %s would have %d Kerberos principals: this hub keeps one per user; remove the old one in the same call (--edit-krb OLD=NEW)", u.Name, left)
		}
		var set *string
		if len(added) == 1 {
			set = &added[0]
			other, err := tx.GetUserByKrb(c.ctx, *set)
			if err == nil && other.ID != u.ID {
				return genericErr("user with this Kerberos principal already exists: %s", *set)
			}
			if err != nil && !errors.Is(err, db.ErrNotFound) {
				return err
			}
		}
		return tx.SetKrbPrincipal(c.ctx, u.ID, set)
	})
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// intersect returns the strings of a also in b, sorted.
func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// editPermission(permission, description)
func mEditPermission(c *call, a *kojixml.Args) (any, error) {
	perm := a.Any(0, "permission")
	desc := a.Any(1, "description")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	d, err := checkStr(desc, "description", false)
	if err != nil {
		return nil, err
	}
	p, err := c.hub.lookupPerm(c, perm)
	if err != nil {
		return nil, err
	}
	if err := c.hub.store.SetPermDescription(c.ctx, p.ID, *d); err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// checkStr is Koji's convert_value(v, cast=str, check_only=True,
// none_allowed=...) for a description or comment, bounded in size.
func checkStr(v any, arg string, noneAllowed bool) (*string, error) {
	switch x := v.(type) {
	case nil:
		if noneAllowed {
			return nil, nil
		}
		return nil, paramErr("Invalid type, expected type <class 'str'>")
	case string:
		if len(x) > maxDescription {
			return nil, paramErr("%s: %d bytes exceeds the limit of %d", arg, len(x), maxDescription)
		}
		return &x, nil
	}
	return nil, paramErr("Invalid type for value '%s': %s, expected type <class 'str'>", pyValue(v), pyType(v))
}

// pyValue renders a value as Python's str() does, for Koji's messages.
func pyValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		return pyRepr(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// lookupPerm is Koji's lookup_perm(info, strict=True).
func (h *Hub) lookupPerm(c *call, info any) (db.Perm, error) {
	id, name, err := nameOrID(info)
	if err != nil {
		return db.Perm{}, err
	}
	var p db.Perm
	if id != nil {
		perms, err := h.store.ListPerms(c.ctx)
		if err != nil {
			return p, err
		}
		for _, x := range perms {
			if x.ID == *id {
				return x, nil
			}
		}
		err = db.ErrNotFound
	} else {
		p, err = h.store.GetPermByName(c.ctx, name)
	}
	if errors.Is(err, db.ErrNotFound) {
		return p, genericErr("No such entry in table permissions: %s", pyValue(info))
	}
	return p, err
}

// nameOrID reads Koji's name-or-id argument (name_or_id_clause): an int,
// a string, or a struct with id or name.
func nameOrID(info any) (*int64, string, error) {
	orig := info
	if m, ok := info.(map[string]any); ok {
		switch {
		case m["id"] != nil:
			id, ok := m["id"].(int64)
			if !ok {
				return nil, "", paramErr("Invalid name or id value: %s", pyValue(orig))
			}
			return &id, "", nil
		case m["name"] != nil:
			info = m["name"]
		default:
			return nil, "", paramErr("Invalid name or id value: %s", pyValue(orig))
		}
	}
	switch v := info.(type) {
	case int64:
		return &v, "", nil
	case string:
		return nil, v, nil
	}
	return nil, "", paramErr("Invalid name or id value: %s", pyValue(orig))
}

// lookupCG is Koji's lookup_name('content_generator', cg, strict=True).
func (h *Hub) lookupCG(c *call, info any, create bool) (db.ContentGenerator, error) {
	id, name, err := nameOrID(info)
	if err != nil {
		return db.ContentGenerator{}, err
	}
	var cg db.ContentGenerator
	if id != nil {
		cg, err = h.store.GetCG(c.ctx, *id)
	} else {
		cg, err = h.store.GetCGByName(c.ctx, name)
	}
	if errors.Is(err, db.ErrNotFound) {
		if !create {
			return cg, genericErr("No such entry in table content_generator: %s", pyValue(info))
		}
		if id != nil {
			return cg, genericErr("Name must be a string")
		}
		if err := validateName(name); err != nil {
			return cg, err
		}
		nid, err := h.store.CreateCG(c.ctx, name)
		if errors.Is(err, db.ErrConflict) {
			return h.store.GetCGByName(c.ctx, name)
		}
		c.wrote = true
		return db.ContentGenerator{ID: nid, Name: name}, err
	}
	return cg, err
}

// grantCGAccess(user, cg, create=False)
func mGrantCGAccess(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "user")
	cgInfo := a.Any(1, "cg")
	create := a.OptBool(2, "create", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	u, err := c.hub.kojiUser(c, info, true)
	if err != nil {
		return nil, err
	}
	cg, err := c.hub.lookupCG(c, cgInfo, create)
	if err != nil {
		return nil, err
	}
	if err := c.hub.store.GrantCG(c.ctx, cg.ID, u.ID, &c.user.ID); errors.Is(err, db.ErrConflict) {
		return nil, genericErr("User already has access to content generator %s", cg.Name)
	} else if err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// revokeCGAccess(user, cg): no access to revoke is no error, as in Koji.
func mRevokeCGAccess(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "user")
	cgInfo := a.Any(1, "cg")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	u, err := c.hub.kojiUser(c, info, true)
	if err != nil {
		return nil, err
	}
	cg, err := c.hub.lookupCG(c, cgInfo, false)
	if err != nil {
		return nil, err
	}
	if err := c.hub.store.RevokeCG(c.ctx, cg.ID, u.ID, &c.user.ID); err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// listCGs(): {name: {id, users: [user names]}} of the content generators
// someone may import for.
func mListCGs(c *call, a *kojixml.Args) (any, error) {
	if err := a.Done(); err != nil {
		return nil, err
	}
	cgs, err := c.hub.store.ListCGs(c.ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, cg := range cgs {
		users := make([]any, len(cg.Users))
		for i, u := range cg.Users {
			users[i] = u
		}
		out[cg.Name] = map[string]any{"id": cg.ID, "users": users}
	}
	return out, nil
}
