package hubcore

import (
	"errors"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// Build notifications and notification blocks, as Koji 1.35 keeps them
// (build_notifications, build_notifications_block), and the id look-ups
// the CLI's notification and listing commands use: getPackageID and
// getTagID. A user manages their own notifications; an admin anyone's.
// Mail goes out through buildNotification and tagNotification tasks
// (notifymail.go) that kojid runs.
func notificationMethods() []method {
	return []method{
		{name: "getPackageID", argdesc: "(name, strict=False)", fn: mGetPackageID},
		{name: "getTagID", argdesc: "(info, strict=False, create=False)", fn: mGetTagID},
		{name: "getBuildNotifications", argdesc: "(userID=None)", fn: mGetBuildNotifications},
		{name: "getBuildNotification", argdesc: "(id, strict=False)", fn: mGetBuildNotification},
		{name: "getBuildNotificationBlocks", argdesc: "(userID=None)", fn: mGetBuildNotificationBlocks},
		{name: "getBuildNotificationBlock", argdesc: "(id, strict=False)", fn: mGetBuildNotificationBlock},
		{name: "createNotification", argdesc: "(user_id, package_id, tag_id, success_only)", fn: mCreateNotification},
		{name: "updateNotification", argdesc: "(id, package_id, tag_id, success_only)", fn: mUpdateNotification},
		{name: "deleteNotification", argdesc: "(id)", fn: mDeleteNotification},
		{name: "createNotificationBlock", argdesc: "(user_id, package_id=None, tag_id=None)", fn: mCreateNotificationBlock},
		{name: "deleteNotificationBlock", argdesc: "(id)", fn: mDeleteNotificationBlock},
		{name: "host.tagNotification", argdesc: "(is_successful, tag_id, from_id, build_id, user_id, ignore_success=False, failure_msg='')", fn: mHostTagNotification},
	}
}

// getPackageID(name, strict=False): the id of the package of that name,
// or None.
func mGetPackageID(c *call, a *kojixml.Args) (any, error) {
	name := a.Any(0, "name")
	strict := a.OptBool(1, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	s, ok := name.(string)
	var p db.Package
	err := db.ErrNotFound
	if ok {
		p, err = c.hub.store.GetPackageByName(c.ctx, s)
	}
	if errors.Is(err, db.ErrNotFound) {
		if strict {
			return nil, genericErr("No such package name: %s", pyValue(name))
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return p.ID, nil
}

// getTagID(info, strict=False, create=False): the id of a tag named or
// numbered by info, or None. create makes a tag of that name, as Koji's
// lookup_name does; kojigo asks for the tag permission first.
func mGetTagID(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "info")
	strict := a.OptBool(1, "strict", false)
	create := a.OptBool(2, "create", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	return c.hub.tagID(c, info, strict, create)
}

func (h *Hub) tagID(c *call, info any, strict, create bool) (any, error) {
	id, name, err := nameOrID(info)
	if err != nil {
		return nil, err
	}
	var t db.Tag
	if id != nil {
		t, err = h.store.GetTag(c.ctx, *id)
	} else {
		t, err = h.store.GetTagByName(c.ctx, name)
	}
	switch {
	case err == nil:
		return t.ID, nil
	case !errors.Is(err, db.ErrNotFound):
		return nil, err
	case strict:
		return nil, genericErr("No such entry in table tag: %s", pyValue(info))
	case !create:
		return nil, nil
	case id != nil:
		return nil, genericErr("Name must be a string")
	}
	if err := c.requirePerm("tag"); err != nil {
		return nil, err
	}
	return mCreateTag(c, kojixml.NewArgs("createTag", []any{name}))
}

func notificationMap(n db.Notification, block bool) map[string]any {
	m := map[string]any{"id": n.ID, "user_id": n.UserID, "package_id": optInt(n.PackageID), "tag_id": optInt(n.TagID)}
	if !block {
		m["success_only"] = n.SuccessOnly
		m["email"] = n.Email
	}
	return m
}

// getBuildNotifications(userID=None)
func mGetBuildNotifications(c *call, a *kojixml.Args) (any, error) {
	return listNotifications(c, a, false)
}

// getBuildNotificationBlocks(userID=None)
func mGetBuildNotificationBlocks(c *call, a *kojixml.Args) (any, error) {
	return listNotifications(c, a, true)
}

// listNotifications: a user's (default: the caller's) notifications or
// blocks; anyone may read them, as in Koji.
func listNotifications(c *call, a *kojixml.Args, block bool) (any, error) {
	info := a.OptAny(0, "userID", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	u, err := c.notificationUser(info)
	if err != nil {
		return nil, err
	}
	ns, err := c.hub.store.ListNotifications(c.ctx, u.ID, block)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(ns))
	for _, n := range ns {
		out = append(out, notificationMap(n, block))
	}
	return out, nil
}

// notificationUser is Koji's get_user(userID, strict=True): None is the
// caller, and "No user provided" when nobody is logged in.
func (c *call) notificationUser(info any) (db.User, error) {
	if info == nil {
		if c.user == nil {
			return db.User{}, genericErr("No user provided")
		}
		return *c.user, nil
	}
	return c.hub.kojiUser(c, info, true)
}

// getBuildNotification(id, strict=False)
func mGetBuildNotification(c *call, a *kojixml.Args) (any, error) {
	return getNotification(c, a, false)
}

// getBuildNotificationBlock(id, strict=False)
func mGetBuildNotificationBlock(c *call, a *kojixml.Args) (any, error) {
	return getNotification(c, a, true)
}

func getNotification(c *call, a *kojixml.Args, block bool) (any, error) {
	id := a.Int(0, "id")
	strict := a.OptBool(1, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	n, err := c.notification(id, block, strict)
	if err != nil || n == nil {
		return nil, err
	}
	return notificationMap(*n, block), nil
}

// notification reads one; not found is nil, or with strict Koji's fault.
func (c *call) notification(id int64, block, strict bool) (*db.Notification, error) {
	n, err := c.hub.store.GetNotification(c.ctx, id, block)
	if errors.Is(err, db.ErrNotFound) {
		if !strict {
			return nil, nil
		}
		if block {
			return nil, genericErr("No notification block with ID %d found", id)
		}
		return nil, genericErr("No notification with ID %d found", id)
	}
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// notificationTarget reads the package_id and tag_id arguments: None
// (any), or a package or tag by id or name (Koji's get_package_id and
// get_tag_id, strict).
func (c *call) notificationTarget(pkg, tag any) (pkgID, tagID *int64, err error) {
	if pkg != nil {
		id, name, err := nameOrID(pkg)
		if err != nil {
			return nil, nil, err
		}
		var p db.Package
		if id != nil {
			p, err = c.hub.store.GetPackage(c.ctx, *id)
		} else {
			p, err = c.hub.store.GetPackageByName(c.ctx, name)
		}
		if errors.Is(err, db.ErrNotFound) {
			return nil, nil, genericErr("No such entry in table package: %s", pyValue(pkg))
		}
		if err != nil {
			return nil, nil, err
		}
		pkgID = &p.ID
	}
	if tag != nil {
		v, err := c.hub.tagID(c, tag, true, false)
		if err != nil {
			return nil, nil, err
		}
		id := v.(int64)
		tagID = &id
	}
	return pkgID, tagID, nil
}

// mayManage is Koji's rule: the notification's user or an admin.
func (c *call) mayManage(userID int64) bool {
	return c.user != nil && (c.user.ID == userID || c.hasPerm("admin"))
}

// createNotification(user_id, package_id, tag_id, success_only)
func mCreateNotification(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "user_id")
	pkg := a.Any(1, "package_id")
	tag := a.Any(2, "tag_id")
	success := a.Any(3, "success_only")
	if err := a.Done(); err != nil {
		return nil, err
	}
	return createNotification(c, info, pkg, tag, pyTruthy(success), false)
}

// createNotificationBlock(user_id, package_id=None, tag_id=None)
func mCreateNotificationBlock(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "user_id")
	pkg := a.OptAny(1, "package_id", nil)
	tag := a.OptAny(2, "tag_id", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	return createNotification(c, info, pkg, tag, false, true)
}

func createNotification(c *call, info, pkg, tag any, success, block bool) (any, error) {
	if c.user == nil {
		return nil, genericErr("Not logged-in")
	}
	u, err := *c.user, error(nil) // Koji's getUser(None): the caller
	if info != nil {
		u, err = c.hub.kojiUser(c, info, false)
	}
	if err != nil {
		if f, ok := err.(*kojixml.Fault); ok && f.Code == kojixml.GenericError {
			return nil, genericErr("No such user ID: %s", pyValue(info))
		}
		return nil, err
	}
	if !c.mayManage(u.ID) {
		what := "notifications"
		if block {
			what = "notification blocks"
		}
		return nil, genericErr("user %s cannot create %s for user %s", c.user.Name, what, u.Name)
	}
	pkgID, tagID, err := c.notificationTarget(pkg, tag)
	if err != nil {
		return nil, err
	}
	n := db.Notification{UserID: u.ID, PackageID: pkgID, TagID: tagID, SuccessOnly: success && !block, Email: u.Name + "@" + c.hub.emailDomain()}
	if _, err := c.hub.store.CreateNotification(c.ctx, n, block); errors.Is(err, db.ErrConflict) {
		return nil, genericErr("notification already exists")
	} else if err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// updateNotification(id, package_id, tag_id, success_only)
func mUpdateNotification(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "id")
	pkg := a.Any(1, "package_id")
	tag := a.Any(2, "tag_id")
	success := a.Any(3, "success_only")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if c.user == nil {
		return nil, genericErr("Not logged-in")
	}
	n, err := c.notification(id, false, true)
	if err != nil {
		return nil, err
	}
	if !c.mayManage(n.UserID) {
		return nil, genericErr("user %d cannot update notifications for user %d", c.user.ID, n.UserID)
	}
	pkgID, tagID, err := c.notificationTarget(pkg, tag)
	if err != nil {
		return nil, err
	}
	n.PackageID, n.TagID, n.SuccessOnly = pkgID, tagID, pyTruthy(success)
	if err := c.hub.store.UpdateNotification(c.ctx, *n); errors.Is(err, db.ErrConflict) {
		return nil, genericErr("notification already exists")
	} else if err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// deleteNotification(id)
func mDeleteNotification(c *call, a *kojixml.Args) (any, error) {
	return deleteNotification(c, a, false)
}

// deleteNotificationBlock(id)
func mDeleteNotificationBlock(c *call, a *kojixml.Args) (any, error) {
	return deleteNotification(c, a, true)
}

func deleteNotification(c *call, a *kojixml.Args, block bool) (any, error) {
	id := a.Int(0, "id")
	if err := a.Done(); err != nil {
		return nil, err
	}
	n, err := c.notification(id, block, true)
	if err != nil {
		return nil, err
	}
	if c.user == nil {
		return nil, genericErr("Not logged-in")
	}
	if !c.mayManage(n.UserID) {
		what := "notifications"
		if block {
			what = "notification blocks"
		}
		return nil, genericErr("user %d cannot delete %s for user %d", c.user.ID, what, n.UserID)
	}
	if err := c.hub.store.DeleteNotification(c.ctx, id, block); err != nil && !errors.Is(err, db.ErrNotFound) {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}
