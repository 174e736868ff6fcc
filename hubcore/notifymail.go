package hubcore

import (
	"errors"
	"sort"
	"strings"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// Notification mail, as Koji 1.35: the hub works out who is told and
// makes a task; a builder (kojid's buildNotification and tagNotification
// handlers) writes the mail and sends it with its smtphost.
//
//	build COMPLETE/FAILED/CANCELED (host.completeBuild, host.failBuild,
//	cancelBuild) -> buildNotification(recipients, build, target, weburl)
//	tagBuild task (kojid: host.tagNotification), untagBuild, and
//	tagBuildBypass/untagBuildBypass with notify=True
//	  -> tagNotification(recipients, is_successful, tag_id, from_id,
//	     build_id, user_id, ignore_success, failure_msg)
//
// Recipients (Koji's get_notification_recipients): the notifications of
// active NORMAL and GROUP users for the build's package (or any) and the
// tag (or any), success_only ones only for a successful build; the build's
// owner (for a success only with NotifyOnSuccess); the package's owner in
// the tag, following inheritance, when active and NORMAL; less every user
// with a matching notification block. No recipients, no task; with
// DisableNotifications, nothing at all.

// NotifyConfig is hub.conf's notification settings.
type NotifyConfig struct {
	// Disabled makes no notification task [DisableNotifications].
	Disabled bool
	// NoMailOnSuccess: a build's owner is told of failures and
	// cancellations only [NotifyOnSuccess = false].
	NoMailOnSuccess bool
	// EmailDomain makes user addresses NAME@EmailDomain [EmailDomain];
	// empty is Koji's unset value, which gives NAME@None.
	EmailDomain string
	// WebURL is the web UI's URL in build mail [KojiWebURL] (default
	// http://localhost/koji).
	WebURL string
}

func (h *Hub) emailDomain() string {
	if h.cfg.Notify.EmailDomain == "" {
		return "None"
	}
	return h.cfg.Notify.EmailDomain
}

func (h *Hub) webURL() string {
	if h.cfg.Notify.WebURL == "" {
		return "http://localhost/koji"
	}
	return h.cfg.Notify.WebURL
}

// notificationRecipients is Koji's get_notification_recipients(build,
// tag_id, state): sorted addresses, each once.
func (h *Hub) notificationRecipients(c *call, b db.Build, tagID *int64, state int) ([]string, error) {
	pkg := b.PackageID
	success := state == db.BuildComplete
	rows, err := h.store.NotificationRecipients(c.ctx, &pkg, tagID, success)
	if err != nil {
		return nil, err
	}
	if !h.cfg.Notify.NoMailOnSuccess || !success {
		rows = append(rows, db.Recipient{UserID: b.OwnerID, Email: b.OwnerName + "@" + h.emailDomain()})
		if tagID != nil {
			e, err := h.effectivePackage(c, *tagID, pkg, nil)
			if err != nil {
				return nil, err
			}
			if e != nil && !e.Blocked {
				u, err := h.store.GetUser(c.ctx, e.OwnerID)
				if err != nil {
					return nil, err
				}
				if u.Status == 0 && u.UserType == 0 {
					rows = append(rows, db.Recipient{UserID: u.ID, Email: u.Name + "@" + h.emailDomain()})
				}
			}
		}
	}
	if len(rows) == 0 {
		return nil, nil
	}
	ids := map[int64]bool{}
	var users []int64
	for _, r := range rows {
		if !ids[r.UserID] {
			ids[r.UserID] = true
			users = append(users, r.UserID)
		}
	}
	out, err := h.store.NotificationOptOuts(c.ctx, users, &pkg, tagID)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var emails []string
	for _, r := range rows {
		if !out[r.UserID] && !seen[r.Email] {
			seen[r.Email] = true
			emails = append(emails, r.Email)
		}
	}
	sort.Strings(emails)
	return emails, nil
}

// buildTaskTarget is Koji's _get_build_target: the target a build task
// names (its second argument), nil when none or it is gone.
func (h *Hub) buildTaskTarget(c *call, taskID int64) (*db.Target, error) {
	t, err := h.store.GetTask(c.ctx, taskID)
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if t.Method != "build" {
		return nil, nil
	}
	req, err := kojixml.DecodeCall(strings.NewReader(t.Request))
	if err != nil {
		return nil, nil
	}
	args, _ := kojixml.SplitKwargs(req.Params)
	if len(args) < 2 || args[1] == nil || args[1] == "" {
		return nil, nil
	}
	tgt, err := h.lookupTarget(c, args[1])
	if err != nil {
		return nil, nil
	}
	return &tgt, nil
}

// buildNotification is Koji's build_notification(task_id, build_id),
// called once a build is COMPLETE, FAILED or CANCELED. The build's state
// is already committed: a failure here is logged, not the caller's fault.
// It returns the task made, or 0.
func (h *Hub) buildNotification(c *call, taskID, buildID int64) int64 {
	id, err := h.makeBuildNotification(c, taskID, buildID)
	if err != nil {
		h.log.Error("build notification not made", "build", buildID, "task", taskID, "err", err)
	}
	return id
}

func (h *Hub) makeBuildNotification(c *call, taskID, buildID int64) (int64, error) {
	if h.cfg.Notify.Disabled {
		return 0, nil
	}
	b, err := h.store.GetBuild(c.ctx, buildID)
	if err != nil {
		return 0, err
	}
	if b.State == db.BuildBuilding {
		return 0, genericErr("never send notifications for incomplete builds")
	}
	tgt, err := h.buildTaskTarget(c, taskID)
	if err != nil {
		return 0, err
	}
	var dest *int64
	var target any
	if tgt != nil {
		dest, target = &tgt.DestTagID, targetMap(*tgt)
	}
	to, err := h.notificationRecipients(c, b, dest, b.State)
	if err != nil || len(to) == 0 {
		return 0, err
	}
	return createTask(c, "buildNotification", []any{anyStrings(to), buildMap(b), target, h.webURL()}, taskOpts{}, nil)
}

// tagNotification is Koji's tag_notification(is_successful, tag_id,
// from_id, build_id, user_id, ignore_success, failure_msg): a tag, an
// untag or a move (both tags) of a build. Failures are logged; it returns
// the task made, or 0.
func (h *Hub) tagNotification(c *call, ok bool, tagID, fromID *int64, buildID int64, userID any, ignoreSuccess bool, failure string) int64 {
	id, err := h.makeTagNotification(c, ok, tagID, fromID, buildID, userID, ignoreSuccess, failure)
	if err != nil {
		h.log.Error("tag notification not made", "build", buildID, "err", err)
	}
	return id
}

func (h *Hub) makeTagNotification(c *call, ok bool, tagID, fromID *int64, buildID int64, userID any, ignoreSuccess bool, failure string) (int64, error) {
	if h.cfg.Notify.Disabled {
		return 0, nil
	}
	if userID != nil {
		if _, isID := userID.(int64); !isID {
			u, err := h.kojiUser(c, userID, true)
			if err != nil {
				return 0, err
			}
			userID = u.ID
		}
	}
	state := db.BuildComplete
	if !ok {
		state = db.BuildFailed
	}
	b, err := h.store.GetBuild(c.ctx, buildID)
	if errors.Is(err, db.ErrNotFound) {
		return 0, nil // nothing to tell about
	}
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	var to []string
	for _, id := range []*int64{tagID, fromID} {
		if id == nil {
			continue
		}
		t, err := h.store.GetTag(c.ctx, *id)
		if errors.Is(err, db.ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, err
		}
		l, err := h.notificationRecipients(c, b, &t.ID, state)
		if err != nil {
			return 0, err
		}
		for _, e := range l {
			if !seen[e] {
				seen[e] = true
				to = append(to, e)
			}
		}
	}
	if len(to) == 0 || (ok && ignoreSuccess) {
		return 0, nil
	}
	sort.Strings(to)
	return createTask(c, "tagNotification", []any{anyStrings(to), ok, optInt(tagID), optInt(fromID), buildID, userID, ignoreSuccess, failure}, taskOpts{}, nil)
}

// host.tagNotification(is_successful, tag_id, from_id, build_id, user_id,
// ignore_success=False, failure_msg=”): kojid's tagBuild task reports how
// its tagging went.
func mHostTagNotification(c *call, a *kojixml.Args) (any, error) {
	ok := a.Any(0, "is_successful")
	tag := a.Any(1, "tag_id")
	from := a.Any(2, "from_id")
	build := a.Any(3, "build_id")
	user := a.Any(4, "user_id")
	ignore := a.OptAny(5, "ignore_success", false)
	msg := a.OptAny(6, "failure_msg", "")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if _, err := c.requireHost(); err != nil {
		return nil, err
	}
	var ids [2]*int64
	for i, v := range []any{tag, from} {
		if v == nil {
			continue
		}
		t, err := c.hub.mustTag(c, v)
		if err != nil {
			return nil, err
		}
		ids[i] = &t.ID
	}
	b, err := c.hub.lookupBuild(c, build)
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s, isStr := msg.(string)
	if !isStr && msg != nil {
		return nil, paramErr("failure_msg: expected a string, got %s", typeName(msg))
	}
	if len(s) > 64<<10 {
		s = s[:64<<10]
	}
	c.hub.tagNotification(c, pyTruthy(ok), ids[0], ids[1], b.ID, user, pyTruthy(ignore), s)
	return nil, nil
}
