package hubcore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

func hostMethods() []method {
	return []method{
		{name: "addHost", argdesc: "(hostname, arches, krb_principal=None, force=False)", fn: mAddHost},
		{name: "getHost", argdesc: "(hostInfo, strict=False, event=None)", fn: mGetHost},
		{name: "listHosts", argdesc: "(arches=None, channelID=None, ready=None, enabled=None, userID=None, queryOpts=None)", fn: mListHosts},
		{name: "editHost", argdesc: "(hostInfo, **kw)", fn: mEditHost},
		{name: "enableHost", argdesc: "(hostname)", fn: mEnableHost},
		{name: "disableHost", argdesc: "(hostname)", fn: mDisableHost},
		{name: "getLastHostUpdate", argdesc: "(hostID, ts=False)", fn: mGetLastHostUpdate},
		{name: "listChannels", argdesc: "(hostID=None, event=None, enabled=None)", fn: mListChannels},
		{name: "getChannel", argdesc: "(channelInfo, strict=False)", fn: mGetChannel},
		{name: "addChannel", argdesc: "(channel_name, description=None)", fn: mAddChannel},
		{name: "addHostToChannel", argdesc: "(hostname, channel_name, create=False)", fn: mAddHostToChannel},
		{name: "removeHostFromChannel", argdesc: "(hostname, channel_name)", fn: mRemoveHostFromChannel},
		{name: "host.getID", argdesc: "()", fn: mHostGetID},
		{name: "host.getHost", argdesc: "()", fn: mHostGetHost},
		{name: "host.updateHost", argdesc: "(task_load, ready, data=None)", fn: mHostUpdateHost},
		{name: "host.setHostData", argdesc: "(hostdata)", fn: mHostSetHostData},
		// kojigo extensions: builder health, so that listHosts stays Koji-shaped.
		{name: "kojigo.getHostHealth", argdesc: "(hostInfo)", fn: mGetHostHealth},
		{name: "kojigo.getHostHealthHistory", argdesc: "(hostInfo, limit=60)", fn: mGetHostHealthHistory},
		{name: "kojigo.listHostHealth", argdesc: "()", fn: mListHostHealth},
	}
}

// hostStruct is hostMap with its members already in the order the encoder
// sorts a map's keys to, so that listHosts builds and sorts no map per host.
func hostStruct(h db.Host) kojixml.Struct {
	return kojixml.Struct{
		{Name: "arches", Value: h.Arches}, {Name: "capacity", Value: h.Capacity}, {Name: "comment", Value: optStr(h.Comment)},
		{Name: "description", Value: optStr(h.Description)}, {Name: "enabled", Value: h.Enabled}, {Name: "id", Value: h.ID},
		{Name: "name", Value: h.Name}, {Name: "ready", Value: h.Ready}, {Name: "task_load", Value: h.TaskLoad},
		{Name: "update_ts", Value: kojiTS(h.UpdateTime)}, {Name: "user_id", Value: h.UserID},
	}
}

// hostXML keeps each host's encoded hostStruct while the host is unchanged:
// once the store answered listHosts from memory, encoding the same rows
// again was most of the call.
type hostXML struct {
	mu sync.Mutex
	m  map[int64]hostFragment
}

type hostFragment struct {
	h   db.Host
	xml kojixml.Encoded
}

// encode returns the hosts' structs, encoded.
func (c *hostXML) encode(hosts []db.Host) ([]any, error) {
	out := make([]any, len(hosts))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[int64]hostFragment{}
	}
	for i, h := range hosts {
		f, ok := c.m[h.ID]
		if !ok || !sameHost(f.h, h) {
			xml, err := kojixml.AppendValue(nil, hostStruct(h))
			if err != nil {
				return nil, err
			}
			f = hostFragment{h: h, xml: xml}
			c.m[h.ID] = f
		}
		out[i] = f.xml
	}
	return out, nil
}

func sameHost(a, b db.Host) bool {
	return a.ID == b.ID && a.UserID == b.UserID && a.Name == b.Name && samePtr(a.UpdateTime, b.UpdateTime) &&
		a.TaskLoad == b.TaskLoad && a.Ready == b.Ready && a.Arches == b.Arches && a.Capacity == b.Capacity &&
		samePtr(a.Description, b.Description) && samePtr(a.Comment, b.Comment) && a.Enabled == b.Enabled
}

func samePtr[T comparable](a, b *T) bool {
	return a == b || a != nil && b != nil && *a == *b
}

func hostMap(h db.Host) map[string]any {
	return map[string]any{
		"id": h.ID, "user_id": h.UserID, "name": h.Name, "update_ts": kojiTS(h.UpdateTime), "ready": h.Ready,
		"task_load": h.TaskLoad, "arches": h.Arches, "capacity": h.Capacity, "description": optStr(h.Description),
		"comment": optStr(h.Comment), "enabled": h.Enabled,
	}
}

// lookupInfo resolves Koji's "info" arguments (hostInfo, tagInfo, ...): an
// id, a name, or a struct with an id or a name.
func lookupInfo[T any](info any, arg string, byID func(int64) (T, error), byName func(string) (T, error)) (T, error) {
	switch v := info.(type) {
	case int64:
		return byID(v)
	case string:
		return byName(v)
	case map[string]any:
		if id, ok := v["id"].(int64); ok {
			return byID(id)
		}
		if n, ok := v["name"].(string); ok {
			return byName(n)
		}
	}
	var zero T
	return zero, paramErr("Invalid type for %s: %T", arg, info)
}

// lookupHost resolves Koji's hostInfo.
func (h *Hub) lookupHost(c *call, info any) (db.Host, error) {
	return lookupInfo(info, "hostInfo",
		func(id int64) (db.Host, error) { return h.store.GetHost(c.ctx, id) },
		func(n string) (db.Host, error) { return h.store.GetHostByName(c.ctx, n) })
}

// mustHost is lookupHost with Koji's strict error.
func (h *Hub) mustHost(c *call, info any) (db.Host, error) {
	host, err := h.lookupHost(c, info)
	if errors.Is(err, db.ErrNotFound) {
		return host, genericErr("Invalid hostInfo: %v", info)
	}
	return host, err
}

func (h *Hub) lookupChannel(c *call, info any) (db.Channel, error) {
	return lookupInfo(info, "channelInfo",
		func(id int64) (db.Channel, error) { return h.store.GetChannel(c.ctx, id) },
		func(n string) (db.Channel, error) { return h.store.GetChannelByName(c.ctx, n) })
}

func parseArches(v any) (string, error) {
	var list []string
	switch x := v.(type) {
	case string:
		list = strings.Fields(x)
	case []any:
		for _, a := range x {
			s, ok := a.(string)
			if !ok {
				return "", paramErr("arches: expected strings, got %T", a)
			}
			list = append(list, strings.Fields(s)...)
		}
	default:
		return "", paramErr("arches: expected a list or a space-separated string, got %T", v)
	}
	for _, a := range list {
		if len(a) > 32 || strings.ContainsAny(a, "'\"\\%;") {
			return "", paramErr("invalid arch %q", a)
		}
	}
	return strings.Join(list, " "), nil
}

// addHost(hostname, arches, krb_principal=None, force=False)
func mAddHost(c *call, a *kojixml.Args) (any, error) {
	name := a.String(0, "hostname")
	archesArg := a.Any(1, "arches")
	krb := a.StringOrNil(2, "krb_principal")
	force := a.OptBool(3, "force", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("host"); err != nil {
		return nil, err
	}
	if err := validateName(name); err != nil {
		return nil, err
	}
	arches, err := parseArches(archesArg)
	if err != nil {
		return nil, err
	}
	var id int64
	err = c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		if _, err := tx.GetHostByName(c.ctx, name); err == nil {
			return genericErr("host %s already exists", name)
		}
		u, err := tx.GetUserByName(c.ctx, name)
		switch {
		case errors.Is(err, db.ErrNotFound):
			uid, err := tx.CreateUser(c.ctx, db.User{Name: name, UserType: db.UserHost, KrbPrincipal: krb})
			if err != nil {
				return err
			}
			u.ID = uid
		case err != nil:
			return err
		case u.UserType != db.UserHost && !force:
			return genericErr("user %s already exists and it is not a host (use force to convert it)", name)
		case u.UserType != db.UserHost:
			if err := tx.SetUserType(c.ctx, u.ID, db.UserHost); err != nil {
				return err
			}
		}
		def, err := tx.GetChannelByName(c.ctx, "default")
		if err != nil {
			return fmt.Errorf("channel default: %w", err)
		}
		id, err = tx.CreateHostBy(c.ctx, db.Host{UserID: u.ID, Name: name, Arches: arches}, []int64{def.ID}, c.userID())
		return err
	})
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return id, nil
}

// getHost(hostInfo, strict=False, event=None): with event, the host's
// configuration (arches, capacity, description, comment, enabled) as it
// was then, from host_config; a host that had none then is not found.
func mGetHost(c *call, a *kojixml.Args) (any, error) {
	info := a.IntOrString(0, "hostInfo")
	strict := a.OptBool(1, "strict", false)
	event := a.IntOrNil(2, "event")
	if err := a.Done(); err != nil {
		return nil, err
	}
	h, err := c.hub.lookupHost(c, info)
	if err == nil && event != nil {
		h, err = c.hub.store.HostAt(c.ctx, h.ID, *event)
	}
	if errors.Is(err, db.ErrNotFound) {
		if strict {
			return nil, genericErr("Invalid hostInfo: %v", info)
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return hostMap(h), nil
}

func boolOpt(v any, name string) (*bool, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case bool:
		return &x, nil
	case int64:
		b := x != 0
		return &b, nil
	}
	return nil, paramErr("%s: expected a boolean, got %T", name, v)
}

// listHosts(arches=None, channelID=None, ready=None, enabled=None, userID=None, queryOpts=None)
func mListHosts(c *call, a *kojixml.Args) (any, error) {
	arches := a.OptAny(0, "arches", nil)
	channel := a.OptAny(1, "channelID", nil)
	ready := a.OptAny(2, "ready", nil)
	enabled := a.OptAny(3, "enabled", nil)
	user := a.OptAny(4, "userID", nil)
	qo := a.OptMap(5, "queryOpts")
	if err := a.Done(); err != nil {
		return nil, err
	}
	var f db.HostFilter
	var err error
	if arches != nil {
		s, err := parseArches(arches)
		if err != nil {
			return nil, err
		}
		f.Arches = strings.Fields(s)
	}
	if channel != nil {
		ch, err := c.hub.lookupChannel(c, channel)
		if errors.Is(err, db.ErrNotFound) {
			return []any{}, nil
		}
		if err != nil {
			return nil, err
		}
		f.ChannelID = &ch.ID
	}
	if f.Ready, err = boolOpt(ready, "ready"); err != nil {
		return nil, err
	}
	if f.Enabled, err = boolOpt(enabled, "enabled"); err != nil {
		return nil, err
	}
	if user != nil {
		u, err := c.hub.lookupUser(c, user)
		if errors.Is(err, db.ErrNotFound) {
			return []any{}, nil
		}
		if err != nil {
			return nil, err
		}
		f.UserID = &u.ID
	}
	hosts, err := c.hub.store.ListHostsCached(c.ctx, f)
	if err != nil {
		return nil, err
	}
	if qo == nil {
		return c.hub.hostXML.encode(hosts)
	}
	out := make([]any, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, hostMap(h))
	}
	return applyQueryOpts(out, qo)
}

// editHost(hostInfo, arches=, capacity=, description=, comment=)
func mEditHost(c *call, a *kojixml.Args) (any, error) {
	info := a.IntOrString(0, "hostInfo")
	kw := a.RestKwargs()
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("host"); err != nil {
		return nil, err
	}
	h, err := c.hub.mustHost(c, info)
	if err != nil {
		return nil, err
	}
	var e db.HostEdit
	for k, v := range kw {
		switch k {
		case "arches":
			s, err := parseArches(v)
			if err != nil {
				return nil, err
			}
			e.Arches = &s
		case "capacity":
			f, ok := toFloat(v)
			if !ok || f <= 1 || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, paramErr("capacity: expected a number greater than 1, got %v", v)
			}
			e.Capacity = &f
		case "description", "comment":
			s, ok := v.(string)
			if !ok && v != nil {
				return nil, paramErr("%s: expected a string, got %T", k, v)
			}
			if k == "description" {
				e.Description = &s
			} else {
				e.Comment = &s
			}
		default:
			return nil, paramErr("editHost() got an unexpected keyword argument '%s'", k)
		}
	}
	changed := (e.Arches != nil && *e.Arches != h.Arches) || (e.Capacity != nil && *e.Capacity != h.Capacity) ||
		(e.Description != nil && (h.Description == nil || *e.Description != *h.Description)) ||
		(e.Comment != nil && (h.Comment == nil || *e.Comment != *h.Comment))
	if !changed {
		return false, nil
	}
	if _, err := c.hub.store.EditHostBy(c.ctx, h.ID, e, c.userID()); err != nil {
		return nil, err
	}
	c.wrote = true
	c.hub.sched.wake()
	return true, nil
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	}
	return 0, false
}

func setEnabled(c *call, a *kojixml.Args, enabled bool) (any, error) {
	name := a.IntOrString(0, "hostname")
	comment := a.StringOrNil(-1, "comment")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("host"); err != nil {
		return nil, err
	}
	h, err := c.hub.mustHost(c, name)
	if err != nil {
		return nil, err
	}
	if _, err := c.hub.store.EditHostBy(c.ctx, h.ID, db.HostEdit{Enabled: &enabled, Comment: comment}, c.userID()); err != nil {
		return nil, err
	}
	c.wrote = true
	c.hub.sched.wake()
	return nil, nil
}

// enableHost(hostname); kojigo also takes comment= so an operator can say why.
func mEnableHost(c *call, a *kojixml.Args) (any, error) { return setEnabled(c, a, true) }

// disableHost(hostname)
func mDisableHost(c *call, a *kojixml.Args) (any, error) { return setEnabled(c, a, false) }

// getLastHostUpdate(hostID, ts=False)
func mGetLastHostUpdate(c *call, a *kojixml.Args) (any, error) {
	info := a.IntOrString(0, "hostID")
	ts := a.OptBool(1, "ts", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	h, err := c.hub.mustHost(c, info)
	if err != nil {
		return nil, err
	}
	t := h.UpdateTime
	if ts {
		return kojiTS(t), nil
	}
	return kojiTime(t), nil
}

func channelMap(ch db.Channel) map[string]any {
	return map[string]any{"id": ch.ID, "name": ch.Name, "description": optStr(ch.Description), "enabled": ch.Enabled, "comment": optStr(ch.Comment)}
}

// listChannels(hostID=None, event=None, enabled=None)
func mListChannels(c *call, a *kojixml.Args) (any, error) {
	hostInfo := a.OptAny(0, "hostID", nil)
	a.OptAny(1, "event", nil)
	enabled := a.OptAny(2, "enabled", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	var hostID *int64
	if hostInfo != nil {
		h, err := c.hub.mustHost(c, hostInfo)
		if err != nil {
			return nil, err
		}
		hostID = &h.ID
	}
	en, err := boolOpt(enabled, "enabled")
	if err != nil {
		return nil, err
	}
	chans, err := c.hub.store.ListChannels(c.ctx, hostID)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, ch := range chans {
		if en != nil && ch.Enabled != *en {
			continue
		}
		out = append(out, channelMap(ch))
	}
	return out, nil
}

// getChannel(channelInfo, strict=False)
func mGetChannel(c *call, a *kojixml.Args) (any, error) {
	info := a.IntOrString(0, "channelInfo")
	strict := a.OptBool(1, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	ch, err := c.hub.lookupChannel(c, info)
	if errors.Is(err, db.ErrNotFound) {
		if strict {
			return nil, genericErr("No such channel: %v", info)
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return channelMap(ch), nil
}

// addChannel(channel_name, description=None)
func mAddChannel(c *call, a *kojixml.Args) (any, error) {
	name := a.String(0, "channel_name")
	desc := a.StringOrNil(1, "description")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	if err := validateName(name); err != nil {
		return nil, err
	}
	id, err := c.hub.store.CreateChannel(c.ctx, db.Channel{Name: name, Description: desc})
	if errors.Is(err, db.ErrConflict) {
		return nil, genericErr("channel %s already exists", name)
	}
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return id, nil
}

// addHostToChannel(hostname, channel_name, create=False)
func mAddHostToChannel(c *call, a *kojixml.Args) (any, error) {
	hostname := a.IntOrString(0, "hostname")
	chname := a.IntOrString(1, "channel_name")
	create := a.OptBool(2, "create", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("host"); err != nil {
		return nil, err
	}
	h, err := c.hub.mustHost(c, hostname)
	if err != nil {
		return nil, err
	}
	ch, err := c.hub.lookupChannel(c, chname)
	if errors.Is(err, db.ErrNotFound) {
		name, isName := chname.(string)
		if !create || !isName {
			return nil, genericErr("channel %v does not exist", chname)
		}
		if err := c.requirePerm("admin"); err != nil {
			return nil, err
		}
		id, err := c.hub.store.CreateChannel(c.ctx, db.Channel{Name: name})
		if err != nil {
			return nil, err
		}
		ch.ID, ch.Name = id, name
	} else if err != nil {
		return nil, err
	}
	if err := c.hub.store.AddHostToChannelBy(c.ctx, h.ID, ch.ID, c.userID()); errors.Is(err, db.ErrConflict) {
		return nil, genericErr("host %s is already subscribed to the %s channel", h.Name, ch.Name)
	} else if err != nil {
		return nil, err
	}
	c.wrote = true
	c.hub.sched.wake()
	return nil, nil
}

// removeHostFromChannel(hostname, channel_name)
func mRemoveHostFromChannel(c *call, a *kojixml.Args) (any, error) {
	hostname := a.IntOrString(0, "hostname")
	chname := a.IntOrString(1, "channel_name")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("host"); err != nil {
		return nil, err
	}
	h, err := c.hub.mustHost(c, hostname)
	if err != nil {
		return nil, err
	}
	ch, err := c.hub.lookupChannel(c, chname)
	if errors.Is(err, db.ErrNotFound) {
		return nil, genericErr("No such channel: %v", chname)
	}
	if err != nil {
		return nil, err
	}
	if err := c.hub.store.RemoveHostFromChannelBy(c.ctx, h.ID, ch.ID, c.userID()); errors.Is(err, db.ErrNotFound) {
		return nil, genericErr("host %s is not subscribed to the %s channel", h.Name, ch.Name)
	} else if err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

func mHostGetID(c *call, a *kojixml.Args) (any, error) {
	if err := a.Done(); err != nil {
		return nil, err
	}
	h, err := c.requireHost()
	if err != nil {
		return nil, err
	}
	return h.ID, nil
}

func mHostGetHost(c *call, a *kojixml.Args) (any, error) {
	if err := a.Done(); err != nil {
		return nil, err
	}
	h, err := c.requireHost()
	if err != nil {
		return nil, err
	}
	return hostMap(h), nil
}

// maxHostData bounds the JSON a host may store per check-in.
const maxHostData = 64 << 10

// host.updateHost(task_load, ready, data=None): the check-in. data carries
// the builder's health (see internal/health for the keys).
func mHostUpdateHost(c *call, a *kojixml.Args) (any, error) {
	load := a.Float(0, "task_load")
	ready := a.Bool(1, "ready")
	data := a.OptMap(2, "data")
	// A call bound to a cached session fails with its session's fault, if
	// the session is no longer valid, before any of its own.
	fail := func(err error) (any, error) {
		if ferr := c.hub.reauthenticate(c); ferr != nil {
			return nil, ferr
		}
		return nil, err
	}
	if err := a.Done(); err != nil {
		return fail(err)
	}
	if load < 0 || math.IsNaN(load) || math.IsInf(load, 0) {
		return fail(paramErr("task_load: expected a number >= 0, got %v", load))
	}
	h, err := c.requireHost()
	if err != nil {
		return fail(err)
	}
	var js string
	if data != nil {
		if js, err = encodeHostData(data); err != nil {
			return fail(err)
		}
	}
	ci := db.CheckIn{HostID: h.ID, TaskLoad: load, Ready: ready, SessionID: c.session.ID, Callnum: c.callnum}
	if data != nil {
		ci.Data = &js
	}
	written := false
	if cachedAuthOf(c) != nil {
		// One statement verifies the session and writes; the host's
		// readiness and load before it come back with it.
		notBefore := c.hub.store.Now() - c.hub.cfg.SessionRenewalTimeout.Seconds()
		wasReady, wasLoad, ok, err := c.hub.store.CheckInVerified(c.ctx, ci, db.CheckInAuth{NotBefore: notBefore})
		if err != nil {
			return nil, err
		}
		if ok {
			h.Ready, h.TaskLoad = wasReady, wasLoad
			written = true
		} else {
			if err := c.hub.reauthenticate(c); err != nil {
				return nil, err
			}
			if h, err = c.requireHost(); err != nil {
				return nil, err
			}
			ci.HostID, ci.SessionID, ci.Callnum = h.ID, c.session.ID, c.callnum
		}
	}
	if !written {
		if err := c.hub.store.CheckIn(c.ctx, ci); err != nil {
			return nil, err
		}
	}
	c.callnumSaved = c.callnum != nil
	c.hub.watch.checkIn(h, ready, load, data)
	if data != nil && c.hub.historyDue(h.ID) {
		sample := db.HealthSample{Time: c.hub.store.Now(), Ready: ready, TaskLoad: load, Data: js}
		if err := c.hub.store.AddHealthSample(c.ctx, h.ID, sample, c.hub.cfg.HealthHistory); err != nil {
			return nil, err
		}
	}
	c.wrote = true
	if ready && !h.Ready {
		c.hub.sched.wake()
	}
	return nil, nil
}

// host.setHostData(hostdata)
func mHostSetHostData(c *call, a *kojixml.Args) (any, error) {
	data := a.Map(0, "hostdata")
	if err := a.Done(); err != nil {
		return nil, err
	}
	h, err := c.requireHost()
	if err != nil {
		return nil, err
	}
	js, err := encodeHostData(data)
	if err != nil {
		return nil, err
	}
	if err := c.hub.store.SetHostData(c.ctx, h.ID, js); err != nil {
		return nil, err
	}
	c.hub.watch.hostData(h, data)
	c.wrote = true
	return nil, nil
}

func encodeHostData(data map[string]any) (string, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return "", paramErr("data: cannot store: %v", err)
	}
	if len(b) > maxHostData {
		return "", paramErr("data: %d bytes exceeds the limit of %d", len(b), maxHostData)
	}
	return string(b), nil
}

// decodeStoredJSON turns JSON the hub stored (host data, build and tag extra,
// external repo data) back into XML-RPC values, integers as int64.
func decodeStoredJSON(js string) any {
	d := json.NewDecoder(bytes.NewReader([]byte(js)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil
	}
	return fromJSON(v)
}

func fromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = fromJSON(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = fromJSON(x[k])
		}
		return x
	}
	return v
}

// historyDue rate-limits health history to one sample a minute per host.
// The limiter is this hub's own: several hubs may each keep a sample.
func (h *Hub) historyDue(hostID int64) bool {
	now := h.store.Now()
	h.histMu.Lock()
	defer h.histMu.Unlock()
	if h.lastSample == nil {
		h.lastSample = map[int64]float64{}
	}
	if now-h.lastSample[hostID] < 60 {
		return false
	}
	h.lastSample[hostID] = now
	return true
}

// (It also holds the hub's session cache, see sessionCache: the hub's
// per-host state of check-ins.)
type histLimiter struct {
	histMu     sync.Mutex
	lastSample map[int64]float64
	sessions   sessionCache
}

func healthMap(h db.Host, js string, at float64) map[string]any {
	m := map[string]any{
		"host_id": h.ID, "name": h.Name, "ready": h.Ready, "enabled": h.Enabled, "task_load": h.TaskLoad,
		"capacity": h.Capacity, "update_ts": kojiTS(h.UpdateTime), "data": nil, "data_ts": nil,
	}
	if js != "" {
		m["data"] = decodeStoredJSON(js)
		m["data_ts"] = at
	}
	return m
}

// kojigo.getHostHealth(hostInfo): the host's state and the health data of
// its last check-in, including the reasons it is not ready.
func mGetHostHealth(c *call, a *kojixml.Args) (any, error) {
	info := a.IntOrString(0, "hostInfo")
	if err := a.Done(); err != nil {
		return nil, err
	}
	h, err := c.hub.mustHost(c, info)
	if err != nil {
		return nil, err
	}
	js, at, err := c.hub.store.HostData(c.ctx, h.ID)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return nil, err
	}
	return healthMap(h, js, at), nil
}

// kojigo.getHostHealthHistory(hostInfo, limit=60): check-ins, oldest first.
func mGetHostHealthHistory(c *call, a *kojixml.Args) (any, error) {
	info := a.IntOrString(0, "hostInfo")
	limit := a.OptInt(1, "limit", 60)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 10000 {
		return nil, paramErr("limit: expected 1..10000, got %d", limit)
	}
	h, err := c.hub.mustHost(c, info)
	if err != nil {
		return nil, err
	}
	samples, err := c.hub.store.HealthHistory(c.ctx, h.ID, int(limit))
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(samples))
	for _, s := range samples {
		out = append(out, map[string]any{"ts": s.Time, "ready": s.Ready, "task_load": s.TaskLoad, "data": decodeStoredJSON(s.Data)})
	}
	return out, nil
}

// kojigo.listHostHealth(): every host with its latest health and the names
// of its channels (sorted), in one call: two queries (data, channel names)
// whatever the number of hosts, which come with their channels from the
// store's copy.
func mListHostHealth(c *call, a *kojixml.Args) (any, error) {
	if err := a.Done(); err != nil {
		return nil, err
	}
	hosts, hostChans, err := c.hub.store.ListHostsWithChannelsCached(c.ctx, db.HostFilter{})
	if err != nil {
		return nil, err
	}
	data, err := c.hub.store.AllHostData(c.ctx)
	if err != nil {
		return nil, err
	}
	chans, err := c.hub.store.ListChannels(c.ctx, nil)
	if err != nil {
		return nil, err
	}
	names := make(map[int64]string, len(chans))
	for _, ch := range chans {
		names[ch.ID] = ch.Name
	}
	out := make([]any, 0, len(hosts))
	for _, h := range hosts {
		m := healthMap(h, data[h.ID], 0)
		in := make([]string, 0, len(hostChans[h.ID]))
		for _, id := range hostChans[h.ID] {
			if n, ok := names[id]; ok {
				in = append(in, n)
			}
		}
		sort.Strings(in)
		list := make([]any, len(in))
		for i, n := range in {
			list[i] = n
		}
		m["channels"] = list
		out = append(out, m)
	}
	return out, nil
}
