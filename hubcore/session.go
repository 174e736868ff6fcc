package hubcore

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// retryWhitelist are the methods a client may repeat with the same callnum
// (Koji's RetryWhitelist).
var retryWhitelist = map[string]bool{
	"host.taskWait": true, "host.taskUnwait": true, "host.taskSetWait": true, "host.updateHost": true,
	"host.setBuildRootState": true, "repoExpire": true, "repoDelete": true, "repoProblem": true,
}

const keyAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// newSessionKey returns Koji's key form, "<user_id>-<19 random alphanumerics>".
func newSessionKey(userID int64) string {
	b := make([]byte, 19)
	rand.Read(b)
	for i := range b {
		b[i] = keyAlphabet[int(b[i])%len(keyAlphabet)]
	}
	return strconv.FormatInt(userID, 10) + "-" + string(b)
}

func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// sessionArgs reads the session id, key and callnum from Koji's headers, or
// from the legacy query parameters.
func (h *Hub) sessionArgs(r *http.Request) (id, key, callnum string, present bool) {
	if v := r.Header.Get("Koji-Session-Id"); v != "" {
		return v, r.Header.Get("Koji-Session-Key"), r.Header.Get("Koji-Session-Callnum"), true
	}
	if h.cfg.DisableURLSessions {
		return "", "", "", false
	}
	q := r.URL.Query()
	if q.Has("session-id") {
		return q.Get("session-id"), q.Get("session-key"), q.Get("callnum"), true
	}
	return "", "", "", false
}

// authenticate binds the call to its session, if it carries one, and applies
// Koji's callnum rules. It returns the callnum to store after the call.
func (h *Hub) authenticate(c *call, r *http.Request, m *method) (*int64, *kojixml.Fault) {
	sid, key, cn, present := h.sessionArgs(r)
	if !present {
		return nil, nil
	}
	if key == "" {
		return nil, fault(kojixml.AuthError, "'session-key' not specified in session args")
	}
	id, err := strconv.ParseInt(sid, 10, 64)
	if err != nil {
		return nil, fault(kojixml.AuthError, "Invalid session or bad credentials")
	}
	auth, err := h.store.GetSessionAuth(c.ctx, id)
	s := auth.Session
	if err != nil || s.Closed || subtle.ConstantTimeCompare([]byte(s.KeyHash), []byte(hashKey(key))) != 1 {
		if err != nil && !errors.Is(err, db.ErrNotFound) {
			return nil, h.toFault(m.name, internalErr("read session", err))
		}
		return nil, fault(kojixml.AuthError, "Invalid session or bad credentials")
	}
	if h.cfg.CheckClientIP && s.HostIP != "-" && s.HostIP != c.remote {
		h.log.Warn("session used from another address", "session", s.ID, "bound", s.HostIP, "remote", c.remote)
		return nil, fault(kojixml.AuthError, "Invalid session or bad credentials")
	}
	if m.name != "login" && m.name != "sslLogin" {
		started := s.StartTime
		if s.RenewTime != nil {
			started = *s.RenewTime
		}
		if h.store.Now()-started > h.cfg.SessionRenewalTimeout.Seconds() {
			return nil, fault(kojixml.AuthExpired, "session %q has expired", strconv.FormatInt(s.ID, 10))
		}
	}
	var callnum *int64
	if cn != "" {
		n, err := strconv.ParseInt(cn, 10, 64)
		if err != nil {
			return nil, fault(kojixml.AuthError, "Invalid callnum: %q", cn)
		}
		if s.Callnum != nil {
			switch {
			case n < *s.Callnum:
				return nil, fault(kojixml.SequenceError, "%d > %d (session %d)", *s.Callnum, n, s.ID)
			case n == *s.Callnum && !retryWhitelist[m.name]:
				return nil, fault(kojixml.RetryError, "unable to retry call %d (method %s) for session %d", n, m.name, s.ID)
			}
		}
		callnum = &n
	}
	u := auth.User
	if u.Status == db.StatusBlocked {
		return nil, fault(kojixml.AuthError, "logins by %s are not allowed", u.Name)
	}
	held := auth.Holder != nil
	c.masterExclusive = auth.MasterExclusive
	c.host = auth.Host
	if !s.Exclusive && held && *auth.Holder != s.ID && (s.Master == nil || *s.Master != *auth.Holder) {
		c.lockErr = true
	}
	c.session, c.user = &s, &u
	return callnum, nil
}

// exclusive reports whether the call's session holds its user's lock
// (directly, or as a subsession of the holder).
func (c *call) exclusive() bool {
	if c.session == nil {
		return false
	}
	if c.session.Exclusive {
		return true
	}
	return c.masterExclusive
}

// requireLogin fails anonymous calls.
func (c *call) requireLogin() error {
	if c.user == nil {
		return fault(kojixml.AuthError, "Not logged-in")
	}
	return nil
}

// hasPerm reports whether the caller has perm or admin.
func (c *call) hasPerm(perm string) bool {
	if c.user == nil {
		return false
	}
	if c.loadPerms() != nil {
		return false
	}
	for _, p := range c.perms {
		if p == perm || p == "admin" {
			return true
		}
	}
	return false
}

// loadPerms reads the caller's permissions once.
func (c *call) loadPerms() error {
	if c.perms != nil {
		return nil
	}
	p, err := c.hub.store.UserPerms(c.ctx, c.user.ID)
	if err != nil {
		return internalErr("read permissions", err)
	}
	c.perms = append(p, "")
	return nil
}

// requirePerm fails unless the caller has perm (or admin), as Koji's assertPerm.
func (c *call) requirePerm(perm string) error {
	if err := c.requireLogin(); err != nil {
		return err
	}
	if err := c.loadPerms(); err != nil {
		// A database outage is not a missing permission.
		return err
	}
	if !c.hasPerm(perm) {
		return notAllowed("%s permission required (logged in as %s)", perm, c.user.Name)
	}
	return nil
}

// requireHost fails unless the call comes from a host's exclusive session
// (or a subsession of it), and returns the host (Koji's Host.verify).
func (c *call) requireHost() (db.Host, error) {
	if err := c.requireLogin(); err != nil {
		return db.Host{}, err
	}
	if c.host == nil {
		c.hub.noteNotAHost(c)
		return db.Host{}, fault(kojixml.AuthError, "User %d is not a host", c.user.ID)
	}
	host := *c.host
	if !c.exclusive() {
		return db.Host{}, fault(kojixml.AuthError, "This method requires an exclusive session")
	}
	return host, nil
}
