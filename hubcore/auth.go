package hubcore

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"kojigo/db"
	"kojigo/internal/kojixml"
	"kojigo/internal/password"
	"kojigo/internal/pki"
)

func (c *call) clientIP() string {
	if c.hub.cfg.CheckClientIP {
		return c.remote
	}
	return "-"
}

func (h *Hub) openSession(c *call, userID int64, authtype int, master *int64) (map[string]any, error) {
	key := newSessionKey(userID)
	id, err := h.store.CreateSession(c.ctx, db.Session{UserID: userID, KeyHash: hashKey(key), HostIP: c.clientIP(), AuthType: authtype, Master: master})
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return map[string]any{"session-id": id, "session-key": key, "header-auth": true}, nil
}

// login(user, password, opts=None)
func mLogin(c *call, a *kojixml.Args) (any, error) {
	name := a.String(0, "user")
	pw := a.String(1, "password")
	a.OptAny(2, "opts", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	u, err := c.hub.store.GetUserByName(c.ctx, name)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return nil, err
	}
	// Verify against a dummy hash when there is no user or no password, so
	// that a refusal takes as long whether the user exists or not.
	hash, why := u.PasswordHash, "wrong password"
	switch {
	case err != nil:
		hash, why = dummyHash(), "no such user"
	case hash == "":
		hash, why = dummyHash(), "the user has no password (certificate logins only)"
	}
	if cerr := c.hub.checkPassword(hash, pw); cerr != nil || why != "wrong password" {
		if cerr != nil && !errors.Is(cerr, password.ErrMismatch) {
			why = cerr.Error() + "; set a new password for " + name
		}
		c.hub.metrics.loginFailures.WithLabelValues("password").Inc()
		c.hub.log.Warn("login refused", "user", name, "peer", c.remote, "reason", why)
		return nil, fault(kojixml.AuthError, "invalid username or password")
	}
	if u.Status == db.StatusBlocked {
		return nil, fault(kojixml.AuthError, "logins by %s are not allowed", u.Name)
	}
	return c.hub.openSession(c, u.ID, db.AuthNormal, nil)
}

// dummyHash is a hash of a random password with the current parameters,
// checked when a login names no user (or one without a password) so that
// the refusal costs what a wrong password costs.
var dummyHash = sync.OnceValue(func() string {
	var pw [32]byte
	rand.Read(pw[:])
	h, err := password.Hash(hex.EncodeToString(pw[:]))
	if err != nil {
		panic("password.Hash of a random password: " + err.Error())
	}
	return h
})

// checkPassword runs one password verification and counts it.
func (h *Hub) checkPassword(hash, pw string) error {
	h.metrics.passwordChecks.Inc()
	return password.Check(hash, pw)
}

// sslLogin(proxyuser=None, proxyauthtype=None, renew=False, exclusive=None):
// the user is the verified client certificate's subject component.
func mSSLLogin(c *call, a *kojixml.Args) (any, error) {
	proxy := a.StringOrNil(0, "proxyuser")
	proxyAuth := a.OptAny(1, "proxyauthtype", nil)
	a.OptBool(2, "renew", false)
	excl := a.OptAny(3, "exclusive", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	cert, problem, why := c.verifiedCert()
	if cert == nil {
		// Koji's words first; then pki's diagnosis, which is what the hub
		// lists and doctor and the clients say for the same fault.
		c.hub.metrics.loginFailures.WithLabelValues("ssl").Inc()
		c.hub.noteLoginFailure(c, "", problem, why)
		return nil, fault(kojixml.AuthError, "could not verify client: %s", why)
	}
	name := subjectComponent(cert, c.hub.cfg.DNUsernameComponent)
	if name == "" {
		c.hub.metrics.loginFailures.WithLabelValues("ssl").Inc()
		msg := fmt.Sprintf("unable to get user information (%s) from client certificate %s; issue the certificate with that field set (kojictl certs user NAME or host NAME) or set DNUsernameComponent in hub.conf to a field it has",
			c.hub.cfg.DNUsernameComponent, cert.Subject)
		c.hub.noteLoginFailure(c, "", pki.ProblemNameMismatch, msg)
		return nil, fault(kojixml.AuthError, "%s", msg)
	}
	proxied := proxy != nil && *proxy != ""
	if proxied {
		if err := c.hub.checkProxy(c, cert, name, proxyAuth); err != nil {
			return nil, err
		}
		name = *proxy
	}
	u, err := c.hub.store.GetUserByName(c.ctx, name)
	switch {
	case errors.Is(err, db.ErrNotFound) && c.hub.cfg.DisableLoginCreatesUser && proxied:
		c.hub.metrics.loginFailures.WithLabelValues("ssl").Inc()
		msg := fmt.Sprintf("Unknown user: %s; %s logs users in for others (ProxyDNs), and LoginCreatesUser = false in hub.conf keeps sslLogin from creating them; an admin adds the user with koji add-user %s",
			name, cert.Subject, name)
		c.hub.noteLoginFailure(c, name, pki.ProblemNameMismatch, msg)
		return nil, fault(kojixml.AuthError, "%s", msg)
	case errors.Is(err, db.ErrNotFound) && c.hub.cfg.DisableLoginCreatesUser:
		// CN not a known user or host: Koji's words, then the fix.
		c.hub.metrics.loginFailures.WithLabelValues("ssl").Inc()
		msg := fmt.Sprintf("Unknown user: %s; client certificate %s from %s names no user of the hub, and LoginCreatesUser = false in hub.conf keeps sslLogin from creating one; register it with koji add-host %s ARCH for a builder or koji add-user %s, or issue the certificate for a registered name",
			name, cert.Subject, c.remote, name, name)
		c.hub.noteLoginFailure(c, name, pki.ProblemNameMismatch, msg)
		return nil, fault(kojixml.AuthError, "%s", msg)
	case errors.Is(err, db.ErrNotFound):
		id, err := c.hub.store.CreateUser(c.ctx, db.User{Name: name})
		if err != nil {
			return nil, err
		}
		u = db.User{ID: id, Name: name}
	case err != nil:
		return nil, err
	}
	if u.Status == db.StatusBlocked {
		c.hub.metrics.loginFailures.WithLabelValues("ssl").Inc()
		msg := fmt.Sprintf("logins by %s are not allowed: the user is blocked on the hub; if it should log in again, an admin unblocks it with koji enable-user %s", u.Name, u.Name)
		c.hub.noteLoginFailure(c, name, pki.ProblemPeerRejected, msg)
		return nil, fault(kojixml.AuthError, "%s", msg)
	}
	res, err := c.hub.openSession(c, u.ID, db.AuthSSL, nil)
	if err != nil {
		return nil, err
	}
	if b, ok := excl.(bool); ok && b {
		if err := c.hub.store.MakeExclusive(c.ctx, res["session-id"].(int64), false); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// checkProxy refuses an sslLogin that names proxyuser unless the client
// certificate's subject DN is one of ProxyDNs (Koji compares it with
// Apache's SSL_CLIENT_S_DN, RFC 2253 like Go's pkix.Name.String). A
// proxyauthtype, which kojiweb sends, must be the hub's own mechanism, SSL:
// kojigo has no AllowProxyAuthType and no Kerberos.
func (h *Hub) checkProxy(c *call, cert *x509.Certificate, name string, proxyAuth any) error {
	dn := cert.Subject.String()
	if !slices.Contains(h.cfg.ProxyDNs, dn) {
		h.metrics.loginFailures.WithLabelValues("ssl").Inc()
		msg := fmt.Sprintf("%s is not authorized to login other users; to let it (kojiweb's certificate), add ProxyDNs = %s to hub.conf's [hub] section (several DNs separated by |)", dn, dn)
		h.noteLoginFailure(c, name, pki.ProblemPeerRejected, msg)
		return fault(kojixml.AuthError, "%s", msg)
	}
	if proxyAuth == nil {
		return nil
	}
	switch at, _ := proxyAuth.(int64); {
	case at == db.AuthSSL:
		return nil
	case at == db.AuthGSSAPI:
		return fault(kojixml.AuthError, "Proxy must use same auth mechanism as hub (behaviour can be overriden via AllowProxyAuthType hub option)")
	default:
		return fault(kojixml.AuthError, "Proxied authtype %v is not valid for sslLogin", proxyAuth)
	}
}

// verifiedCert is the client certificate the hub's TLS listener verified,
// or nil with the problem and why not (Koji says "None" when there is no
// certificate; with a ClientCertVerifier it is pki's diagnosis).
func (c *call) verifiedCert() (*x509.Certificate, pki.Problem, string) {
	if c.tls == nil {
		return nil, pki.ProblemPlainHTTP, "None (the hub is not serving TLS)"
	}
	if v := c.hub.cfg.ClientCertVerifier; v != nil {
		cert, err := v(c.tls)
		if err != nil {
			var pe *pki.Error
			if errors.As(err, &pe) {
				return nil, pe.Problem, pe.Message
			}
			return nil, pki.ProblemHandshake, err.Error()
		}
		return cert, "", ""
	}
	if len(c.tls.VerifiedChains) == 0 || len(c.tls.VerifiedChains[0]) == 0 {
		if len(c.tls.PeerCertificates) > 0 {
			return nil, pki.ProblemHandshake, "FAILED"
		}
		return nil, pki.ProblemNoClientCert, "None"
	}
	return c.tls.VerifiedChains[0][0], "", ""
}

func subjectComponent(cert *x509.Certificate, comp string) string {
	switch strings.ToUpper(comp) {
	case "CN":
		return cert.Subject.CommonName
	case "UID":
		for _, n := range cert.Subject.Names {
			if n.Type.String() == "0.9.2342.19200300.100.1.1" {
				if s, ok := n.Value.(string); ok {
					return s
				}
			}
		}
	case "EMAILADDRESS", "EMAIL":
		if len(cert.EmailAddresses) > 0 {
			return cert.EmailAddresses[0]
		}
	case "OU":
		if len(cert.Subject.OrganizationalUnit) > 0 {
			return cert.Subject.OrganizationalUnit[0]
		}
	}
	return ""
}

// noteLoginFailure logs a refused sslLogin and keeps it with the refused
// handshakes, so that operators see both in one list, under pki's problem
// names (the /metrics label).
func (h *Hub) noteLoginFailure(c *call, name string, problem pki.Problem, why string) {
	h.keepCertFailure(c, name, "sslLogin refused", problem, why)
}

// keepCertFailure logs msg with the diagnosis, counts it under its problem
// and lists it with the refused handshakes.
func (h *Hub) keepCertFailure(c *call, name, msg string, problem pki.Problem, why string) {
	f := pki.Failure{Time: time.Now(), RemoteAddr: c.remote, Problem: problem, Message: why, CommonName: name}
	if c.tls != nil && len(c.tls.PeerCertificates) > 0 {
		pc := c.tls.PeerCertificates[0]
		f.Subject, f.CommonName, f.Issuer, f.NotAfter = pc.Subject.String(), pc.Subject.CommonName, pc.Issuer.String(), pc.NotAfter
	}
	h.recordFailure(msg, f)
}

// noteNotAHost logs a host method called by a session that is not a host's.
// The handshake and the login succeeded, so it is not a TLS failure; but a
// builder whose certificate names no host logs in as a normal user and ends
// here, so a certificate session is also listed as a name mismatch, where
// operators look for certificates that do not fit.
func (h *Hub) noteNotAHost(c *call) {
	if c.session == nil || c.session.AuthType != db.AuthSSL {
		h.log.Warn("host method refused: the caller is not a host", "method", c.method, "user", c.user.Name, "peer", c.remote)
		return
	}
	h.keepCertFailure(c, c.user.Name, "host method refused: the caller is not a host", pki.ProblemNameMismatch, fmt.Sprintf(
		"certificate CN=%s logged in as user %s, which is not a host, and called %s; register it with koji add-host %s ARCH, or issue the builder's certificate for its host name",
		c.user.Name, c.user.Name, c.method, c.user.Name))
}

// kojigo.getTLSFailures(): the hub's recent refused handshakes and sslLogins,
// newest last, each with the one-sentence diagnosis.
//
// Admins only: the list holds client addresses and certificate names,
// which tell an outsider which hosts and users exist and where they are.
// kojitop shows it to an admin and says why to anyone else.
func mGetTLSFailures(c *call, a *kojixml.Args) (any, error) {
	if err := a.Done(); err != nil {
		return nil, err
	}
	if !c.hasPerm("admin") {
		who := "you are not logged in"
		if c.user != nil {
			who = "logged in as " + c.user.Name
		}
		return nil, notAllowed("admin permission required (%s): kojigo.getTLSFailures lists client addresses and certificate names; log in as an admin to see it", who)
	}
	h := c.hub
	h.tlsLog.mu.Lock()
	list := append([]pki.Failure(nil), h.tlsLog.list...)
	h.tlsLog.mu.Unlock()
	out := make([]any, 0, len(list))
	for _, f := range list {
		m := map[string]any{"ts": float64(f.Time.UnixMicro()) / 1e6, "peer": f.RemoteAddr, "problem": string(f.Problem),
			"message": f.Message, "subject": f.Subject, "common_name": f.CommonName, "issuer": f.Issuer, "not_after_ts": nil}
		if !f.NotAfter.IsZero() {
			m["not_after_ts"] = float64(f.NotAfter.Unix())
		}
		out = append(out, m)
	}
	return out, nil
}

// logout(session_id=None)
func mLogout(c *call, a *kojixml.Args) (any, error) {
	sid := a.IntOrNil(0, "session_id")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if c.session == nil {
		return nil, nil
	}
	target := c.session.ID
	if sid != nil && *sid != target {
		s, err := c.hub.store.GetSession(c.ctx, *sid)
		if err != nil || s.UserID != c.session.UserID {
			return nil, notAllowed("cannot log out session %d: not yours", *sid)
		}
		target = *sid
	}
	c.wrote = true
	return nil, c.hub.store.CloseSession(c.ctx, target)
}

func mSubsession(c *call, a *kojixml.Args) (any, error) {
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requireLogin(); err != nil {
		return nil, err
	}
	if c.session.Master != nil {
		return nil, genericErr("Subsessions cannot have subsessions")
	}
	return c.hub.openSession(c, c.user.ID, c.session.AuthType, &c.session.ID)
}

func mLogoutChild(c *call, a *kojixml.Args) (any, error) {
	child := a.Int(0, "session_id")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requireLogin(); err != nil {
		return nil, err
	}
	if err := c.hub.store.CloseChild(c.ctx, c.session.ID, child); err != nil {
		if errors.Is(err, db.ErrNotFound) {
			return nil, genericErr("session %d is not an open subsession of this session", child)
		}
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// exclusiveSession(force=False)
func mExclusiveSession(c *call, a *kojixml.Args) (any, error) {
	force := a.OptBool(0, "force", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requireLogin(); err != nil {
		return nil, err
	}
	if c.session.Master != nil {
		return nil, genericErr("subsessions cannot become exclusive")
	}
	if err := c.hub.store.MakeExclusive(c.ctx, c.session.ID, force); err != nil {
		if errors.Is(err, db.ErrLocked) {
			return nil, fault(kojixml.AuthLockError, "Cannot get exclusive session")
		}
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

func userMap(u db.User) map[string]any {
	krbs := []any{}
	if u.KrbPrincipal != nil {
		krbs = append(krbs, *u.KrbPrincipal)
	}
	return map[string]any{"id": u.ID, "name": u.Name, "status": u.Status, "usertype": u.UserType, "krb_principals": krbs}
}

func mGetLoggedInUser(c *call, a *kojixml.Args) (any, error) {
	if err := a.Done(); err != nil {
		return nil, err
	}
	if c.user == nil {
		return nil, nil
	}
	m := userMap(*c.user)
	m["authtype"] = c.session.AuthType
	m["krb_principal"] = optStr(c.user.KrbPrincipal)
	return kojixml.Struct{
		{Name: "id", Value: m["id"]}, {Name: "name", Value: m["name"]}, {Name: "status", Value: m["status"]},
		{Name: "usertype", Value: m["usertype"]}, {Name: "krb_principals", Value: m["krb_principals"]},
		{Name: "authtype", Value: m["authtype"]}, {Name: "krb_principal", Value: m["krb_principal"]},
	}, nil
}

func mGetSessionInfo(c *call, a *kojixml.Args) (any, error) {
	details := a.OptBool(0, "details", false)
	a.OptBool(1, "user_id", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if c.session == nil {
		return nil, nil
	}
	s := c.session
	var excl any
	if s.Exclusive {
		excl = true
	}
	expired := c.hub.store.Now()-s.StartTime > c.hub.cfg.SessionRenewalTimeout.Seconds()
	m := map[string]any{
		"authtype": s.AuthType, "callnum": optInt(s.Callnum), "exclusive": excl, "expired": expired,
		"master": optInt(s.Master), "renew_time": kojiTime(s.RenewTime), "renew_ts": kojiTS(s.RenewTime),
		"start_time": kojiTime(&s.StartTime), "start_ts": s.StartTime, "update_time": kojiTime(&s.UpdateTime),
		"update_ts": s.UpdateTime, "user_id": s.UserID,
	}
	if details {
		m["id"] = s.ID
		m["hostip"] = s.HostIP
	}
	return m, nil
}

// getUser(userInfo=None, strict=False, krb_princs=True, groups=False)
func mGetUser(c *call, a *kojixml.Args) (any, error) {
	info := a.OptAny(0, "userInfo", nil)
	strict := a.OptBool(1, "strict", false)
	a.OptBool(2, "krb_princs", true)
	a.OptBool(3, "groups", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if info == nil {
		if c.user == nil {
			return nil, nil
		}
		return userMap(*c.user), nil
	}
	u, err := c.hub.lookupUser(c, info)
	if errors.Is(err, db.ErrNotFound) {
		if strict {
			return nil, genericErr("No such user: %v", info)
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return userMap(u), nil
}

func (h *Hub) lookupUser(c *call, info any) (db.User, error) {
	switch v := info.(type) {
	case int64:
		return h.store.GetUser(c.ctx, v)
	case string:
		return h.store.GetUserByName(c.ctx, v)
	case map[string]any:
		if id, ok := v["id"].(int64); ok {
			return h.store.GetUser(c.ctx, id)
		}
		if n, ok := v["name"].(string); ok {
			return h.store.GetUserByName(c.ctx, n)
		}
		if k, ok := v["krb_principal"].(string); ok {
			return h.store.GetUserByKrb(c.ctx, k)
		}
	}
	return db.User{}, paramErr("Invalid type for userInfo: %T", info)
}

// listUsers(userType=USERTYPES['NORMAL'], prefix=None, queryOpts=None, perm=None, inherited_perm=False):
// userType is an int, a list of them or None (every type); prefix matches
// case-insensitively (Koji: ILIKE); perm keeps the users holding that
// permission, with inherited_perm also through their groups.
func mListUsers(c *call, a *kojixml.Args) (any, error) {
	ut := a.OptAny(0, "userType", int64(db.UserNormal))
	prefix := a.OptString(1, "prefix", "")
	qo := a.OptMap(2, "queryOpts")
	perm := a.OptAny(3, "perm", nil)
	inherited := a.OptBool(4, "inherited_perm", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if inherited && !pyTruthy(perm) {
		return nil, genericErr("inherited_perm option must be used with perm option")
	}
	var types []int
	switch v := ut.(type) {
	case nil:
	case int64:
		types = []int{int(v)}
	case []any:
		types = []int{}
		for _, x := range v {
			n, ok := x.(int64)
			if !ok {
				return nil, paramErr("userType must be integer, list, tuple or None")
			}
			types = append(types, int(n))
		}
	default:
		return nil, paramErr("userType must be integer, list, tuple or None")
	}
	if g, ok := qo["group"]; ok && pyTruthy(g) {
		return nil, genericErr("queryOpts.group is not available for this API")
	}
	var holders map[int64]bool
	if pyTruthy(perm) {
		p, err := c.hub.lookupPerm(c, perm)
		if err != nil {
			return nil, err
		}
		if holders, err = c.hub.store.UsersWithPerm(c.ctx, p.ID, inherited); err != nil {
			return nil, err
		}
	}
	users, err := c.hub.store.ListUsers(c.ctx, db.UserFilter{Prefix: prefix})
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(users))
	for _, u := range users {
		if types != nil && !slices.Contains(types, u.UserType) {
			continue
		}
		if holders != nil && !holders[u.ID] {
			continue
		}
		out = append(out, userMap(u))
	}
	return applyQueryOpts(out, qo)
}

// createUser(username, status=None, krb_principal=None)
func mCreateUser(c *call, a *kojixml.Args) (any, error) {
	name := a.String(0, "username")
	status := a.OptInt(1, "status", db.StatusNormal)
	krb := a.StringOrNil(2, "krb_principal")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	if err := validateName(name); err != nil {
		return nil, err
	}
	if status != db.StatusNormal && status != db.StatusBlocked {
		return nil, paramErr("Invalid status: %d", status)
	}
	id, err := c.hub.store.CreateUser(c.ctx, db.User{Name: name, Status: int(status), KrbPrincipal: krb})
	if errors.Is(err, db.ErrConflict) {
		return nil, genericErr("user already exists: %s", name)
	}
	c.wrote = true
	return id, err
}

// validateName applies Koji's rule for names: non-empty, bounded, printable, no whitespace.
func validateName(name string) error {
	if name == "" {
		return fault(kojixml.NameValidationError, "Name is empty")
	}
	if len(name) > 255 {
		return fault(kojixml.NameValidationError, "Name is longer than 255 characters")
	}
	for _, r := range name {
		if r <= ' ' || r == 0x7f {
			return fault(kojixml.NameValidationError, "Name %q contains whitespace or control characters", name)
		}
	}
	return nil
}

func mGetAllPerms(c *call, a *kojixml.Args) (any, error) {
	if err := a.Done(); err != nil {
		return nil, err
	}
	perms, err := c.hub.store.ListPerms(c.ctx)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(perms))
	for _, p := range perms {
		out = append(out, map[string]any{"id": p.ID, "name": p.Name, "description": p.Description})
	}
	return out, nil
}

// getUserPerms(userID=None, with_groups=True)
func mGetUserPerms(c *call, a *kojixml.Args) (any, error) {
	info := a.OptAny(0, "userID", nil)
	a.OptBool(1, "with_groups", true)
	if err := a.Done(); err != nil {
		return nil, err
	}
	var uid int64
	if info == nil {
		if c.user == nil {
			return []any{}, nil
		}
		uid = c.user.ID
	} else {
		u, err := c.hub.lookupUser(c, info)
		if errors.Is(err, db.ErrNotFound) {
			return nil, genericErr("No such user: %v", info)
		}
		if err != nil {
			return nil, err
		}
		uid = u.ID
	}
	perms, err := c.hub.store.UserPerms(c.ctx, uid)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(perms))
	for i, p := range perms {
		out[i] = p
	}
	return out, nil
}

func mGetUserPermsInheritance(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "userID")
	if err := a.Done(); err != nil {
		return nil, err
	}
	u, err := c.hub.lookupUser(c, info)
	if errors.Is(err, db.ErrNotFound) {
		return nil, genericErr("No such user: %v", info)
	}
	if err != nil {
		return nil, err
	}
	perms, err := c.hub.store.UserPerms(c.ctx, u.ID)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, p := range perms {
		out[p] = []any{nil}
	}
	return out, nil
}

func mGetPerms(c *call, a *kojixml.Args) (any, error) {
	if err := a.Done(); err != nil {
		return nil, err
	}
	if c.user == nil {
		return []any{}, nil
	}
	return mGetUserPerms(c, kojixml.NewArgs("getUserPerms", []any{c.user.ID}))
}

// hasPerm(perm, strict=True)
func mHasPerm(c *call, a *kojixml.Args) (any, error) {
	perm := a.String(0, "perm")
	strict := a.OptBool(1, "strict", true)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if strict {
		if _, err := c.hub.store.GetPermByName(c.ctx, perm); errors.Is(err, db.ErrNotFound) {
			return nil, genericErr("No such permission %s defined", perm)
		}
	}
	return c.hasPerm(perm), nil
}

// grantPermission(userinfo, permission, create=False, description=None)
func mGrantPermission(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "userinfo")
	perm := a.String(1, "permission")
	create := a.OptBool(2, "create", false)
	desc := a.OptString(3, "description", "")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	u, err := c.hub.lookupUser(c, info)
	if errors.Is(err, db.ErrNotFound) {
		return nil, genericErr("No such user: %v", info)
	}
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, c.hub.store.WithTx(c.ctx, func(tx *db.Store) error {
		p, err := tx.GetPermByName(c.ctx, perm)
		if errors.Is(err, db.ErrNotFound) {
			if !create {
				return genericErr("No such permission %s", perm)
			}
			if err := validateName(perm); err != nil {
				return err
			}
			id, err := tx.CreatePerm(c.ctx, perm, desc)
			if err != nil {
				return err
			}
			p.ID = id
		} else if err != nil {
			return err
		}
		if err := tx.GrantPerm(c.ctx, u.ID, p.ID, &c.user.ID); errors.Is(err, db.ErrConflict) {
			return genericErr("user %s already has permission: %s", u.Name, perm)
		} else if err != nil {
			return err
		}
		return nil
	})
}

func mRevokePermission(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "userinfo")
	perm := a.String(1, "permission")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	u, err := c.hub.lookupUser(c, info)
	if errors.Is(err, db.ErrNotFound) {
		return nil, genericErr("No such user: %v", info)
	}
	if err != nil {
		return nil, err
	}
	p, err := c.hub.store.GetPermByName(c.ctx, perm)
	if errors.Is(err, db.ErrNotFound) {
		return nil, genericErr("No such permission %s", perm)
	}
	if err != nil {
		return nil, err
	}
	if err := c.hub.store.RevokePermBy(c.ctx, u.ID, p.ID, c.userID()); errors.Is(err, db.ErrNotFound) {
		return nil, genericErr("user %s does not have permission: %s", u.Name, perm)
	} else if err != nil {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}
