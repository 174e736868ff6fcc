package hubcore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"sync"

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
	keyHash := hashKey(key)
	if m.name == checkInMethod && cn != "" {
		if n, ok := h.fromSessionCache(c, id, keyHash, cn, m); ok {
			return &n, nil
		}
	}
	auth, err := h.store.GetSessionAuth(c.ctx, id)
	callnum, f := h.checkSession(c, auth, err, keyHash, cn, m)
	if f == nil && m.name == checkInMethod {
		h.sessCache().put(auth, keyHash)
	}
	return callnum, f
}

// checkSession applies Koji's session rules to a session read from the
// database (err is the read's error), and binds the call to it.
func (h *Hub) checkSession(c *call, auth db.SessionAuth, err error, keyHash, cn string, m *method) (*int64, *kojixml.Fault) {
	s := auth.Session
	if err != nil || s.Closed || subtle.ConstantTimeCompare([]byte(s.KeyHash), []byte(keyHash)) != 1 {
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

// checkInMethod is the one call authenticated from the session cache: a
// builder's check-in, which a farm makes a thousand times every few seconds.
const checkInMethod = "host.updateHost"

// sessionCache keeps, per session that checked in on this hub, the parts
// of the session that never change (its key, address, user and host), so
// that a check-in needs no read of its session before its write. It is a
// hint, never an authority: the check-in's one statement verifies in the
// database everything that can change (open, exclusive, not expired,
// callnum in order, user not blocked; see db.CheckInAuth) and writes
// nothing unless all hold; when one fails the call is authenticated again
// the long way, which refuses it with Koji's fault. A logout or a lock
// taken on another hub is therefore honoured at once.
type sessionCache struct {
	mu sync.Mutex
	m  map[int64]*cachedSession
}

type cachedSession struct {
	keyHash string
	sess    db.Session
	user    db.User
	host    db.Host
}

// maxCachedSessions bounds the cache; it is emptied when full (entries of
// closed sessions are otherwise dropped only when they are used).
const maxCachedSessions = 100000

func (h *Hub) sessCache() *sessionCache { return &h.histLimiter.sessions }

// put caches a session that may make fast check-ins: an open exclusive
// session of a host, not a subsession.
func (sc *sessionCache) put(a db.SessionAuth, keyHash string) {
	s := a.Session
	if s.Closed || !s.Exclusive || s.Master != nil || a.Host == nil || a.User.Status == db.StatusBlocked {
		return
	}
	e := &cachedSession{keyHash: keyHash, sess: s, user: a.User, host: *a.Host}
	e.sess.Callnum, e.sess.KeyHash, e.user.PasswordHash = nil, "", ""
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.m == nil || len(sc.m) >= maxCachedSessions {
		sc.m = map[int64]*cachedSession{}
	}
	sc.m[s.ID] = e
}

func (sc *sessionCache) get(id int64) *cachedSession {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.m[id]
}

func (sc *sessionCache) forget(id int64) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	delete(sc.m, id)
}

// cachedAuth marks (in the call's context) a call bound to a cached session,
// with what is needed to authenticate it the long way.
type cachedAuth struct {
	parent  context.Context
	keyHash string
	cn      string
	m       *method
}

type cachedAuthKey struct{}

// fromSessionCache binds a check-in to its cached session when the key and
// address match; the session's state is verified by the write (see
// sessionCache).
func (h *Hub) fromSessionCache(c *call, id int64, keyHash, cn string, m *method) (int64, bool) {
	e := h.sessCache().get(id)
	if e == nil || subtle.ConstantTimeCompare([]byte(e.keyHash), []byte(keyHash)) != 1 {
		return 0, false
	}
	if h.cfg.CheckClientIP && e.sess.HostIP != "-" && e.sess.HostIP != c.remote {
		return 0, false
	}
	n, err := strconv.ParseInt(cn, 10, 64)
	if err != nil {
		return 0, false
	}
	s, u, host := e.sess, e.user, e.host
	c.session, c.user, c.host = &s, &u, &host
	c.ctx = context.WithValue(c.ctx, cachedAuthKey{}, &cachedAuth{parent: c.ctx, keyHash: keyHash, cn: cn, m: m})
	return n, true
}

// cachedAuthOf tells whether the call is bound to a cached session not yet
// verified.
func cachedAuthOf(c *call) *cachedAuth {
	ca, _ := c.ctx.Value(cachedAuthKey{}).(*cachedAuth)
	return ca
}

// reauthenticate authenticates a call bound to a cached session the long
// way, after its session failed the write's checks (or before the call
// fails for another reason, so that a dead session gets its own fault):
// it drops the cache entry, reads the session and applies every rule.
func (h *Hub) reauthenticate(c *call) error {
	ca := cachedAuthOf(c)
	if ca == nil {
		return nil
	}
	id := c.session.ID
	h.sessCache().forget(id)
	c.ctx = ca.parent
	c.session, c.user, c.host, c.lockErr, c.masterExclusive, c.callnum = nil, nil, nil, false, false, nil
	auth, err := h.store.GetSessionAuth(c.ctx, id)
	callnum, f := h.checkSession(c, auth, err, ca.keyHash, ca.cn, ca.m)
	if f != nil {
		return f
	}
	c.callnum = callnum
	if c.lockErr && !ca.m.lockFree {
		return fault(kojixml.AuthLockError, "User locked by another session")
	}
	h.sessCache().put(auth, ca.keyHash)
	return nil
}
