package hubcore

import (
	"errors"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// Channels' administration: Koji 1.35's editChannel, renameChannel,
// enableChannel and disableChannel, and Koji 1.29's removeChannel (gone
// from Koji 1.30, where disableChannel replaced it; kept here for scripts
// that still call it). The scheduler gives no task of a disabled channel
// to any host: such a task stays FREE, its reason "channel NAME is
// disabled", until the channel is enabled again.
func channelAdminMethods() []method {
	return []method{
		{name: "editChannel", argdesc: "(channelInfo, **kw)", fn: mEditChannel},
		{name: "renameChannel", argdesc: "(old, new)", fn: mRenameChannel},
		{name: "enableChannel", argdesc: "(channelname, comment=None)", fn: mEnableChannel},
		{name: "disableChannel", argdesc: "(channelname, comment=None)", fn: mDisableChannel},
		{name: "removeChannel", argdesc: "(channel_name, force=False)", fn: mRemoveChannel},
	}
}

// mustChannel is Koji's get_channel(info, strict=True).
func (h *Hub) mustChannel(c *call, info any) (db.Channel, error) {
	switch info.(type) {
	case int64, string:
	default:
		return db.Channel{}, paramErr("Invalid type for channelInfo: %s", pyType(info))
	}
	ch, err := h.lookupChannel(c, info)
	if errors.Is(err, db.ErrNotFound) {
		return ch, genericErr("No such channel: %s", pyValue(info))
	}
	return ch, err
}

// editChannel(channelInfo, name=..., description=..., comment=...):
// True when something changed, False when every value given is the
// channel's already.
func mEditChannel(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "channelInfo")
	kw := a.RestKwargs()
	if err := a.Done(); err != nil {
		return nil, err
	}
	return editChannel(c, info, kw)
}

func editChannel(c *call, info any, kw map[string]any) (any, error) {
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	ch, err := c.hub.mustChannel(c, info)
	if err != nil {
		return nil, err
	}
	var e db.ChannelEdit
	changed := false
	if v, ok := kw["name"]; ok {
		name, isStr := v.(string)
		if v != nil && !isStr {
			return nil, genericErr("Name should be string")
		}
		if name != ch.Name {
			if err := validateName(name); err != nil {
				return nil, err
			}
			e.Name, changed = &name, true
		}
	}
	for _, f := range []struct {
		key string
		cur *string
		dst **string
	}{{"description", ch.Description, &e.Description}, {"comment", ch.Comment, &e.Comment}} {
		v, ok := kw[f.key]
		if !ok {
			continue
		}
		s, err := checkStr(v, f.key, false)
		if err != nil {
			return nil, err
		}
		if f.cur == nil || *f.cur != *s {
			*f.dst, changed = s, true
		}
	}
	if !changed {
		return false, nil
	}
	if e.Name != nil {
		if dup, err := c.hub.store.GetChannelByName(c.ctx, *e.Name); err == nil {
			return nil, genericErr("channel %s already exists (id=%d)", dup.Name, dup.ID)
		} else if !errors.Is(err, db.ErrNotFound) {
			return nil, err
		}
	}
	if err := c.hub.store.EditChannel(c.ctx, ch.ID, e); errors.Is(err, db.ErrConflict) {
		return nil, genericErr("channel %s already exists", *e.Name)
	} else if err != nil {
		return nil, err
	}
	c.wrote = true
	return true, nil
}

// renameChannel(old, new)
func mRenameChannel(c *call, a *kojixml.Args) (any, error) {
	old := a.Any(0, "old")
	name := a.Any(1, "new")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if _, err := editChannel(c, old, map[string]any{"name": name}); err != nil {
		return nil, err
	}
	return nil, nil
}

// enableChannel(channelname, comment=None)
func mEnableChannel(c *call, a *kojixml.Args) (any, error) {
	return setChannelEnabled(c, a, true)
}

// disableChannel(channelname, comment=None)
func mDisableChannel(c *call, a *kojixml.Args) (any, error) {
	return setChannelEnabled(c, a, false)
}

// setChannelEnabled is Koji's set_channel_enabled: permission host; the
// comment replaces the channel's when given.
func setChannelEnabled(c *call, a *kojixml.Args, enabled bool) (any, error) {
	info := a.Any(0, "channelname")
	comment := a.OptAny(1, "comment", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("host"); err != nil {
		return nil, err
	}
	cm, err := checkStr(comment, "comment", true)
	if err != nil {
		return nil, err
	}
	switch info.(type) {
	case int64, string:
	default:
		return nil, paramErr("Invalid type for channelInfo: %s", pyType(info))
	}
	ch, err := c.hub.lookupChannel(c, info)
	if errors.Is(err, db.ErrNotFound) {
		return nil, genericErr("No such channel: %s", pyValue(info))
	}
	if err != nil {
		return nil, err
	}
	if err := c.hub.store.SetChannelEnabled(c.ctx, ch.ID, enabled, cm); err != nil {
		return nil, err
	}
	c.wrote = true
	if enabled {
		c.hub.sched.wake()
	}
	return nil, nil
}

// removeChannel(channel_name, force=False): Koji 1.29's. A channel that a
// task names stays; one with hosts goes only with force, which takes them
// out of it.
func mRemoveChannel(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "channel_name")
	force := a.OptBool(1, "force", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	id, name, err := nameOrID(info)
	if err != nil {
		return nil, err
	}
	var ch db.Channel
	if id != nil {
		ch, err = c.hub.store.GetChannel(c.ctx, *id)
	} else {
		ch, err = c.hub.store.GetChannelByName(c.ctx, name)
	}
	if errors.Is(err, db.ErrNotFound) {
		return nil, genericErr("No such entry in table channels: %s", pyValue(info))
	}
	if err != nil {
		return nil, err
	}
	switch err := c.hub.store.RemoveChannel(c.ctx, ch.ID, force); {
	case errors.Is(err, db.ErrChannelHasTasks):
		return nil, genericErr("channel %s has task references", pyValue(info))
	case errors.Is(err, db.ErrChannelHasHosts):
		return nil, genericErr("channel %s has host references", pyValue(info))
	case err != nil:
		return nil, err
	}
	c.wrote = true
	return nil, nil
}
