package hubcore

import (
	"errors"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// Koji's user groups: a group is a user of type GROUP whose members share
// its permissions in policies (has_perm, user_in_group).

func userGroupMethods() []method {
	return []method{
		{name: "newGroup", argdesc: "(name)", fn: mNewGroup},
		{name: "addGroupMember", argdesc: "(group, user, strict=True)", fn: mAddGroupMember},
		{name: "dropGroupMember", argdesc: "(group, user)", fn: mDropGroupMember},
		{name: "getGroupMembers", argdesc: "(group)", fn: mGetGroupMembers},
		{name: "getUserGroups", argdesc: "(user)", fn: mGetUserGroups},
	}
}

// mustGroup resolves a user of type group.
func (h *Hub) mustGroup(c *call, info any) (db.User, error) {
	g, err := h.lookupUser(c, info)
	if errors.Is(err, db.ErrNotFound) || (err == nil && g.UserType != db.UserGroup) {
		return g, genericErr("Not a group: %s", pyRepr(info))
	}
	return g, err
}

// newGroup(name): admin; a group is a user of type GROUP. Returns its id.
func mNewGroup(c *call, a *kojixml.Args) (any, error) {
	name := a.String(0, "name")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	if err := validateName(name); err != nil {
		return nil, err
	}
	id, err := c.hub.store.CreateUser(c.ctx, db.User{Name: name, UserType: db.UserGroup})
	if errors.Is(err, db.ErrConflict) {
		return nil, genericErr("user/group already exists: %s", name)
	}
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return id, nil
}

// addGroupMember(group, user, strict=True): admin.
func mAddGroupMember(c *call, a *kojixml.Args) (any, error) {
	group := a.Any(0, "group")
	user := a.Any(1, "user")
	strict := a.OptBool(2, "strict", true)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	g, err := c.hub.mustGroup(c, group)
	if err != nil {
		return nil, err
	}
	u, err := c.hub.lookupUser(c, user)
	if errors.Is(err, db.ErrNotFound) {
		return nil, genericErr("Not a user: %s", pyRepr(user))
	}
	if err != nil {
		return nil, err
	}
	if u.UserType == db.UserGroup {
		return nil, genericErr("Groups cannot be members of other groups")
	}
	err = c.hub.store.AddGroupMember(c.ctx, g.ID, u.ID, &c.user.ID)
	if errors.Is(err, db.ErrConflict) {
		if !strict {
			return nil, nil
		}
		return nil, genericErr("User already in group")
	}
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// dropGroupMember(group, user): admin.
func mDropGroupMember(c *call, a *kojixml.Args) (any, error) {
	group := a.Any(0, "group")
	user := a.Any(1, "user")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	u, err := c.hub.lookupUser(c, user)
	if errors.Is(err, db.ErrNotFound) {
		return nil, genericErr("No such user: %s", pyRepr(user))
	}
	if err != nil {
		return nil, err
	}
	g, err := c.hub.mustGroup(c, group)
	if err != nil {
		return nil, err
	}
	err = c.hub.store.RemoveGroupMember(c.ctx, g.ID, u.ID, &c.user.ID)
	if errors.Is(err, db.ErrNotFound) {
		return nil, genericErr("No such user in group: %s", g.Name)
	}
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// getGroupMembers(group): [{id, name, usertype, krb_principals}].
func mGetGroupMembers(c *call, a *kojixml.Args) (any, error) {
	group := a.Any(0, "group")
	if err := a.Done(); err != nil {
		return nil, err
	}
	g, err := c.hub.lookupUser(c, group)
	if errors.Is(err, db.ErrNotFound) || (err == nil && g.UserType != db.UserGroup) {
		return nil, genericErr("No such group: %s", pyRepr(group))
	}
	if err != nil {
		return nil, err
	}
	us, err := c.hub.store.GroupMembers(c.ctx, g.ID)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, u := range us {
		m := userMap(u)
		delete(m, "status")
		out = append(out, m)
	}
	return out, nil
}

// getUserGroups(user): [{id, name}] of the user's groups.
func mGetUserGroups(c *call, a *kojixml.Args) (any, error) {
	user := a.Any(0, "user")
	if err := a.Done(); err != nil {
		return nil, err
	}
	u, err := c.hub.lookupUser(c, user)
	if errors.Is(err, db.ErrNotFound) {
		return nil, genericErr("No such user: %s", pyRepr(user))
	}
	if err != nil {
		return nil, err
	}
	gs, err := c.hub.store.UserGroups(c.ctx, u.ID)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, g := range gs {
		out = append(out, map[string]any{"id": g.ID, "name": g.Name})
	}
	return out, nil
}
