package kojiclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Login opens a session with a user name and password (Koji's login). The
// client must not be logged in already.
func (c *Client) Login(ctx context.Context, user, password string) error {
	if user == "" {
		return errors.New("login: empty user name")
	}
	if password == "" {
		return fmt.Errorf("login as %s: empty password", user)
	}
	if id, ok := c.SessionID(); ok {
		return fmt.Errorf("login as %s: already logged in (session %d); log out first", user, id)
	}
	// Koji's ClientSession.login sends opts=None as a keyword argument.
	body, err := encodeCall("login", []any{user, password, Kw{"opts": nil}})
	if err != nil {
		return fmt.Errorf("login as %s: %w", user, err)
	}
	v, err := c.do(ctx, &rpcRequest{method: "login", url: c.hub, body: body, contentType: "text/xml", anonymous: true})
	if err != nil {
		return fmt.Errorf("login as %s: %w", user, err)
	}
	s, err := parseSession(v)
	if err != nil {
		return fmt.Errorf("login as %s: %w", user, err)
	}
	renew := func(ctx context.Context, old *session) error {
		body, err := encodeCall("login", []any{user, password, Kw{"opts": nil, "renew": true}})
		if err != nil {
			return err
		}
		return c.renewWith(ctx, old, &rpcRequest{method: "login", url: c.hub, body: body, contentType: "text/xml"})
	}
	c.setSession(s, renew)
	c.log.Info("logged in", "user", user, "session_id", s.id)
	return nil
}

// SSLLogin opens a session with the client certificate (Koji's sslLogin,
// POSTed to <hub>/ssllogin, the only URL where the hub asks for one).
func (c *Client) SSLLogin(ctx context.Context) error {
	if c.opts.CertFile == "" && c.opts.HTTPClient == nil {
		return errors.New("ssl login: no client certificate configured (CertFile)")
	}
	if id, ok := c.SessionID(); ok {
		return fmt.Errorf("ssl login: already logged in (session %d); log out first", id)
	}
	body, err := encodeCall("sslLogin", nil)
	if err != nil {
		return fmt.Errorf("ssl login: %w", err)
	}
	loginURL := c.hub + "/ssllogin"
	v, err := c.do(ctx, &rpcRequest{method: "sslLogin", url: loginURL, body: body, contentType: "text/xml", anonymous: true})
	if err != nil {
		return fmt.Errorf("ssl login: %w", err)
	}
	s, err := parseSession(v)
	if err != nil {
		return fmt.Errorf("ssl login: %w", err)
	}
	renew := func(ctx context.Context, old *session) error {
		body, err := encodeCall("sslLogin", []any{Kw{"renew": true}})
		if err != nil {
			return err
		}
		return c.renewWith(ctx, old, &rpcRequest{method: "sslLogin", url: loginURL, body: body, contentType: "text/xml"})
	}
	c.setSession(s, renew)
	c.log.Info("logged in with certificate", "session_id", s.id)
	return nil
}

// renewWith sends a login call with renew=True on the expired session (the
// hub keeps the session id and issues a new key) and installs the answer.
// The callnum keeps counting: the hub remembers the last one it saw.
func (c *Client) renewWith(ctx context.Context, old *session, req *rpcRequest) error {
	v, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	s, err := parseSession(v)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		return errors.New("logged out during renewal")
	}
	if s.id == c.sess.id {
		s.callnum = c.sess.callnum
	}
	c.sess = s
	c.log.Info("session renewed", "session_id", s.id, "old_session_id", old.id)
	return nil
}

func (c *Client) setSession(s *session, renew func(context.Context, *session) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sess = s
	c.renew = renew
}

// parseSession reads the {session-id, session-key, header-auth} struct that
// login, sslLogin and subsession return.
func parseSession(v any) (*session, error) {
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			return nil, errors.New("hub returned no session")
		}
		return nil, fmt.Errorf("hub returned %T instead of session info", v)
	}
	id, ok := m["session-id"].(int64)
	if !ok || id <= 0 {
		return nil, fmt.Errorf("hub session info: bad session-id %v", m["session-id"])
	}
	key, ok := m["session-key"].(string)
	if !ok || key == "" || strings.ContainsAny(key, "\r\n") {
		return nil, errors.New("hub session info: bad session-key")
	}
	headerAuth, _ := m["header-auth"].(bool)
	return &session{id: id, key: key, headerAuth: headerAuth}, nil
}

// Logout closes the session (and, on the hub, its subsessions). The client
// forgets the session even when the call fails. Logging out while not
// logged in does nothing.
func (c *Client) Logout(ctx context.Context) error {
	if !c.LoggedIn() {
		return nil
	}
	// Koji's ClientSession.logout sends session_id=None as a keyword.
	_, err := c.Call(ctx, "logout", Kw{"session_id": nil})
	c.setSession(nil, nil)
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// LogoutChild closes a subsession of this session (Koji's logoutChild).
func (c *Client) LogoutChild(ctx context.Context, sessionID int64) error {
	if _, err := c.Call(ctx, "logoutChild", sessionID); err != nil {
		return fmt.Errorf("logout subsession %d: %w", sessionID, err)
	}
	return nil
}

// ExclusiveSession makes this session the user's only usable one, as kojid
// does right after login. With force, another exclusive session of the same
// user is closed; without, it is an AuthLockError (1006) fault.
func (c *Client) ExclusiveSession(ctx context.Context, force bool) error {
	var err error
	if force {
		_, err = c.Call(ctx, "exclusiveSession", Kw{"force": true})
	} else {
		_, err = c.Call(ctx, "exclusiveSession")
	}
	if err != nil {
		return fmt.Errorf("exclusive session: %w", err)
	}
	return nil
}

// Subsession opens a subsession of this session (Koji's subsession; kojid
// gives one to each task) and returns a Client for it that shares this
// client's options and connections. Its callnum starts at 0; it is not
// renewed on expiry. Close it with its Logout or with LogoutChild.
func (c *Client) Subsession(ctx context.Context) (*Client, error) {
	if !c.LoggedIn() {
		return nil, errors.New("subsession: not logged in")
	}
	v, err := c.Call(ctx, "subsession")
	if err != nil {
		return nil, fmt.Errorf("subsession: %w", err)
	}
	s, err := parseSession(v)
	if err != nil {
		return nil, fmt.Errorf("subsession: %w", err)
	}
	child := &Client{
		opts:    c.opts,
		hub:     c.hub,
		hc:      c.hc,
		log:     c.log.With("subsession_id", s.id),
		callSem: make(chan struct{}, 1),
		sess:    s,
	}
	return child, nil
}
