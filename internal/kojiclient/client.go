package kojiclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"kojigo/internal/kojixml"
	"kojigo/internal/pki"
)

// Fault is a Koji fault (an XML-RPC <fault>): Koji's exception code and
// message. Use errors.As(err, new(*kojiclient.Fault)) to read one.
type Fault = kojixml.Fault

// Kw holds keyword arguments. As the last argument of Call (or of a
// CallSpec), it is sent as Koji's trailing struct with __starstar: true,
// which the hub turns into Python keyword arguments. A nil value is sent as
// <nil/> (Python None).
type Kw map[string]any

// Defaults for the zero values of Options.
const (
	DefaultTimeout          = 5 * time.Minute
	DefaultMaxRetries       = 10
	DefaultRetryInterval    = 2 * time.Second
	DefaultMaxRetryInterval = time.Minute
	DefaultMaxRetryTime     = time.Minute
	DefaultUserAgent        = "koji/1"
	DefaultMaxResponseSize  = 256 << 20
	DefaultUploadBlockSize  = 1 << 20
)

// Options configures a Client. Zero values are the documented defaults.
type Options struct {
	// Server is the hub URL, e.g. https://koji.example.org/kojihub. Required.
	Server string
	// CertFile is the client certificate for SSLLogin: Koji's single PEM file
	// holding certificate and key, or the certificate alone when KeyFile is
	// set. Empty: no client certificate.
	CertFile string
	// KeyFile is the private key when CertFile does not contain it.
	KeyFile string
	// ServerCAFile is the CA bundle that signs the hub's certificate (Koji's
	// serverca). Empty: the system roots.
	ServerCAFile string
	// Timeout bounds one HTTP attempt (connect, send, read the answer).
	// Zero: DefaultTimeout.
	Timeout time.Duration
	// Logger receives retries and session changes. Nil: discard.
	Logger *slog.Logger
	// HTTPClient replaces the client built from the TLS options (tests,
	// proxies). It may not be combined with CertFile, KeyFile or ServerCAFile.
	HTTPClient *http.Client
	// MaxRetries is how many times a call is retried after a transport error
	// or a ServerOffline fault. Zero: DefaultMaxRetries; negative: never.
	MaxRetries int
	// RetryInterval is the base of the exponential backoff between retries
	// (the first retry is immediate, as in Koji). Zero: DefaultRetryInterval.
	RetryInterval time.Duration
	// MaxRetryInterval caps the backoff. Zero: DefaultMaxRetryInterval.
	MaxRetryInterval time.Duration
	// MaxRetryTime bounds how long one call keeps retrying: counted from
	// its first failure, no wait reaches past it, and a failure after it
	// ends the call with that error, whatever MaxRetries still allows.
	// Each retry is logged (Logger, level warn). Zero: DefaultMaxRetryTime
	// (one minute, in some six attempts with the default backoff); negative:
	// no bound, only MaxRetries counts, as in Koji (whose CLI retries 30
	// times 20 s apart, ten minutes and more).
	MaxRetryTime time.Duration
	// UserAgent is sent with every request. Empty: "koji/1", as Koji's client.
	UserAgent string
	// MaxResponseSize caps the bytes read from one response; a larger answer
	// is an error. Zero: DefaultMaxResponseSize (256 MiB).
	MaxResponseSize int64
	// UploadBlockSize is the chunk size of UploadFile. Zero: 1 MiB, as Koji.
	UploadBlockSize int
	// DisableRenew turns off the transparent renewal of an expired session
	// (AuthExpired 1007) by repeating the last Login or SSLLogin.
	DisableRenew bool
}

// Client talks to one hub with at most one session. It is safe for
// concurrent use; calls on a logged-in session are sent one at a time,
// because the hub rejects a callnum lower than one it has already seen.
type Client struct {
	opts    Options
	hub     string // hub URL without trailing slash
	hc      *http.Client
	pki     *pki.Client // nil with Options.HTTPClient
	log     *slog.Logger
	callSem chan struct{} // serialises logged-in calls

	renewMu sync.Mutex // one renewal at a time

	// waitHook, when set (tests), is called before each backoff wait.
	waitHook func(d time.Duration)
	// now and sleep are the retry loop's clock; tests replace them to
	// run the backoff without sleeping. Nil: time.Now and a timer.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu    sync.Mutex
	sess  *session
	renew func(ctx context.Context, old *session) error
}

// session is the hub's answer to login, sslLogin or subsession.
type session struct {
	id         int64
	key        string
	headerAuth bool
	callnum    int64
}

// New validates opts and returns a Client that is not logged in.
func New(opts Options) (*Client, error) {
	if opts.Server == "" {
		return nil, errors.New("new koji client: no hub URL (Server)")
	}
	u, err := url.Parse(opts.Server)
	if err != nil {
		return nil, fmt.Errorf("new koji client: hub URL %q: %w", opts.Server, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("new koji client: hub URL %q: scheme must be http or https", opts.Server)
	}
	if u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("new koji client: hub URL %q: want scheme://host[:port]/path without user, query or fragment", opts.Server)
	}
	switch {
	case opts.Timeout < 0:
		return nil, errors.New("new koji client: negative Timeout")
	case opts.RetryInterval < 0 || opts.MaxRetryInterval < 0:
		return nil, errors.New("new koji client: negative retry interval")
	case opts.MaxResponseSize < 0:
		return nil, errors.New("new koji client: negative MaxResponseSize")
	case opts.UploadBlockSize < 0:
		return nil, errors.New("new koji client: negative UploadBlockSize")
	case opts.KeyFile != "" && opts.CertFile == "":
		return nil, errors.New("new koji client: KeyFile without CertFile")
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = DefaultMaxRetries
	} else if opts.MaxRetries < 0 {
		opts.MaxRetries = 0
	}
	if opts.RetryInterval == 0 {
		opts.RetryInterval = DefaultRetryInterval
	}
	if opts.MaxRetryInterval == 0 {
		opts.MaxRetryInterval = DefaultMaxRetryInterval
	}
	if opts.MaxRetryTime == 0 {
		opts.MaxRetryTime = DefaultMaxRetryTime
	}
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	if opts.MaxResponseSize == 0 {
		opts.MaxResponseSize = DefaultMaxResponseSize
	}
	if opts.UploadBlockSize == 0 {
		opts.UploadBlockSize = DefaultUploadBlockSize
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hc := opts.HTTPClient
	var pc *pki.Client
	if hc != nil {
		if opts.CertFile != "" || opts.ServerCAFile != "" {
			return nil, errors.New("new koji client: HTTPClient cannot be combined with CertFile/KeyFile/ServerCAFile; put the TLS settings in its transport")
		}
	} else {
		hc, pc, err = newHTTPClient(opts)
		if err != nil {
			return nil, fmt.Errorf("new koji client: %w", err)
		}
	}
	return &Client{
		opts:    opts,
		hub:     strings.TrimRight(opts.Server, "/"),
		hc:      hc,
		pki:     pc,
		log:     log.With("component", "kojiclient"),
		callSem: make(chan struct{}, 1),
	}, nil
}

// Server returns the hub URL the client talks to.
func (c *Client) Server() string { return c.hub }

// SessionID returns the hub session id, and false when not logged in.
func (c *Client) SessionID() (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		return 0, false
	}
	return c.sess.id, true
}

// LoggedIn reports whether the client holds a session.
func (c *Client) LoggedIn() bool {
	_, ok := c.SessionID()
	return ok
}

// methodNameRE is what Koji method names look like (host.getID, repo.request).
var methodNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

// Call calls method on the hub with args and returns the decoded result.
// A Kw as the last argument is sent as keyword arguments; nil as <nil/>;
// []byte as <base64>; integers beyond 32 bits as <i8>. A fault is returned
// as an error wrapping *Fault.
//
// Transport errors (no connection, a dropped connection, HTTP 5xx, a body
// cut short) and ServerOffline faults are retried with backoff, for
// Options.MaxRetries times and Options.MaxRetryTime at most, resending
// the same request with the same callnum, as Koji's client does: if the
// first attempt did commit, the hub refuses the replay with RetryError 1009
// (except for its retry whitelist, e.g. host.updateHost), so a call never
// runs twice. Anonymous calls are retried too (they cannot change
// anything; Koji retries them only with anon_retry). TLS certificate
// failures, a server URL whose scheme the hub does not speak (http:// on its
// TLS port, https:// on a plain one), other HTTP errors (400 above all),
// malformed or oversized answers and faults are not retried. An expired
// session (AuthExpired 1007) is renewed by repeating the login, unless
// Options.DisableRenew.
func (c *Client) Call(ctx context.Context, method string, args ...any) (any, error) {
	return c.call(ctx, method, args)
}

func (c *Client) call(ctx context.Context, method string, args []any) (any, error) {
	body, err := encodeCall(method, args)
	if err != nil {
		return nil, err
	}
	req := &rpcRequest{method: method, url: c.hub, body: body, contentType: "text/xml"}
	return c.doRenewing(ctx, req)
}

// doRenewing sends req and, when the session has expired and can be renewed,
// renews it and sends req once more (with a new callnum).
func (c *Client) doRenewing(ctx context.Context, req *rpcRequest) (any, error) {
	c.mu.Lock()
	before := c.sess
	c.mu.Unlock()
	v, err := c.do(ctx, req)
	var f *Fault
	if err == nil || !errors.As(err, &f) || f.Code != kojixml.AuthExpired || before == nil {
		return v, err
	}
	switch req.method {
	case "login", "sslLogin", "logout", "logoutChild":
		return v, err
	}
	if rerr := c.renewSession(ctx, before); rerr != nil {
		return nil, fmt.Errorf("%w (renewing the session failed: %w)", err, rerr)
	}
	return c.do(ctx, req)
}

// renewSession repeats the last login with renew=True, unless another
// goroutine already replaced the session old.
func (c *Client) renewSession(ctx context.Context, old *session) error {
	if c.opts.DisableRenew {
		return errors.New("session renewal is disabled")
	}
	c.renewMu.Lock()
	defer c.renewMu.Unlock()
	c.mu.Lock()
	cur, renew := c.sess, c.renew
	c.mu.Unlock()
	if cur == nil {
		return errors.New("logged out")
	}
	if cur.id != old.id || cur.key != old.key {
		return nil // renewed meanwhile
	}
	if renew == nil {
		return errors.New("this session cannot be renewed (no login to repeat)")
	}
	c.log.Info("session expired, renewing", "session_id", cur.id)
	return renew(ctx, cur)
}

func encodeCall(method string, args []any) ([]byte, error) {
	if !methodNameRE.MatchString(method) {
		return nil, fmt.Errorf("call %q: invalid method name", truncate(method, 60))
	}
	params, err := encodeArgs(args)
	if err != nil {
		return nil, fmt.Errorf("call %s: %w", method, err)
	}
	var b bytes.Buffer
	if err := kojixml.EncodeCall(&b, method, params); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// encodeArgs turns a trailing Kw into Koji's __starstar struct.
func encodeArgs(args []any) ([]any, error) {
	out := make([]any, 0, len(args))
	for i, a := range args {
		kw, ok := a.(Kw)
		if !ok {
			out = append(out, a)
			continue
		}
		if i != len(args)-1 {
			return nil, fmt.Errorf("keyword arguments (Kw) must be the last argument, found at %d of %d", i+1, len(args))
		}
		if len(kw) == 0 {
			continue
		}
		s, err := kwStruct(kw)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func kwStruct(kw Kw) (kojixml.Struct, error) {
	names := make([]string, 0, len(kw))
	for k := range kw {
		if k == "" || k == "__starstar" {
			return nil, fmt.Errorf("invalid keyword argument name %q", k)
		}
		names = append(names, k)
	}
	slices.Sort(names)
	s := make(kojixml.Struct, 0, len(kw)+1)
	for _, k := range names {
		s = append(s, kojixml.Member{Name: k, Value: kw[k]})
	}
	return append(s, kojixml.Member{Name: "__starstar", Value: true}), nil
}

// rpcRequest is one POST to the hub.
type rpcRequest struct {
	method      string     // for errors and logs
	url         string     // without query
	query       url.Values // extra query arguments (rawUpload)
	body        []byte
	contentType string
	anonymous   bool // send no session (login, sslLogin)
}

// TransportError reports that a call did not get an XML-RPC answer from the
// hub: connection or TLS failure, timeout, an HTTP error status, a body cut
// short. Faults are not TransportErrors.
type TransportError struct {
	Method   string // Koji method, or "rawUpload"
	URL      string // hub URL, without query
	Attempts int    // how many times the call was sent
	// StatusCode is the HTTP status when the hub (or a proxy) answered with
	// something other than 200; zero otherwise.
	StatusCode int
	// Retryable says the failure was one the client retries (the hub
	// could not be reached, a dropped connection, HTTP 5xx): the same call
	// may succeed later. Certificate and TLS failures, a wrong URL scheme
	// and other HTTP answers are not.
	Retryable bool
	Err       error
}

func (e *TransportError) Error() string {
	s := fmt.Sprintf("%s %s: %v", e.Method, e.URL, e.Err)
	if e.Attempts > 1 {
		s += fmt.Sprintf(" (%d attempts)", e.Attempts)
	}
	return s
}

func (e *TransportError) Unwrap() error { return e.Err }

// Unreachable reports whether err says the hub, or its database, could not
// be reached: a retryable TransportError, or the hub's ServerOffline
// fault. The call did not run and can be repeated once the hub is back;
// kojid does so for as long as it takes.
func Unreachable(err error) bool {
	var f *Fault
	if errors.As(err, &f) {
		return f.Code == kojixml.ServerOffline
	}
	var te *TransportError
	return errors.As(err, &te) && te.Retryable
}

// HTTPStatusError is an HTTP answer other than 200 OK.
type HTTPStatusError struct {
	StatusCode int
	Status     string
	Body       string // start of the body, for the message
}

func (e *HTTPStatusError) Error() string {
	if e.Body == "" {
		return "HTTP " + e.Status
	}
	return fmt.Sprintf("HTTP %s: %s", e.Status, e.Body)
}

// attemptTimeout is the cause of an attempt that got no answer within
// Options.Timeout.
type attemptTimeout struct{ d time.Duration }

func (e *attemptTimeout) Error() string { return fmt.Sprintf("no answer within %v", e.d) }

// wrapTransportError is the one place where a failure to reach the hub
// becomes the error callers see: pki turns TLS, certificate and connection
// failures, and a server URL with the wrong scheme, into one sentence naming
// the fault and its fix (the original error stays reachable with
// errors.As/Is).
func (c *Client) wrapTransportError(method, hubURL string, attempts int, retryable bool, err error) error {
	te := &TransportError{Method: method, URL: hubURL, Attempts: attempts, Retryable: retryable, Err: err}
	var se *HTTPStatusError
	var at *attemptTimeout
	if errors.As(err, &se) {
		te.StatusCode = se.StatusCode
	}
	switch {
	case se != nil && !errors.Is(err, pki.ErrTLSPort):
		// An HTTP answer: its status and body say what is wrong.
	case errors.As(err, &at):
		// Our own deadline: the hub accepted but did not answer in time.
	case c.pki != nil:
		te.Err = c.pki.Diagnose(err, c.hub)
	default:
		te.Err = pki.DiagnoseClientError(err, "", "", c.hub)
	}
	return te
}

// do sends req with the session's headers and Koji's retry rules: the
// callnum is taken once and kept on every retry, so the hub can refuse a
// replay of a call that committed (RetryError 1009).
func (c *Client) do(ctx context.Context, req *rpcRequest) (any, error) {
	var sess session
	loggedIn := false
	if !req.anonymous {
		c.mu.Lock()
		has := c.sess != nil
		c.mu.Unlock()
		if has {
			select {
			case c.callSem <- struct{}{}:
				defer func() { <-c.callSem }()
			case <-ctx.Done():
				return nil, fmt.Errorf("%s: %w", req.method, context.Cause(ctx))
			}
			c.mu.Lock()
			if c.sess != nil {
				sess = *c.sess
				c.sess.callnum++
				loggedIn = true
			}
			c.mu.Unlock()
		}
	}

	target := req.url
	q := url.Values{}
	for k, v := range req.query {
		q[k] = v
	}
	header := http.Header{}
	header.Set("User-Agent", c.opts.UserAgent)
	header.Set("Content-Type", req.contentType)
	if loggedIn {
		id := strconv.FormatInt(sess.id, 10)
		cn := strconv.FormatInt(sess.callnum, 10)
		if sess.headerAuth {
			header.Set("Koji-Session-Id", id)
			header.Set("Koji-Session-Key", sess.key)
			header.Set("Koji-Session-Callnum", cn)
		} else {
			q.Set("session-id", id)
			q.Set("session-key", sess.key)
			q.Set("callnum", cn)
		}
	}
	if len(q) > 0 {
		target += "?" + q.Encode()
	}

	log := c.log.With("method", req.method)
	if loggedIn {
		log = log.With("session_id", sess.id, "callnum", sess.callnum)
	}
	start := c.clockNow()
	var firstFailure time.Time
	for attempt := 1; ; attempt++ {
		v, retry, err := c.attempt(ctx, req, target, header)
		retryable := retry // the verdict on the failure, before the limits
		if err == nil {
			log.Debug("hub call", "attempts", attempt, "duration", c.clockNow().Sub(start))
			return v, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", req.method, context.Cause(ctx))
		}
		var delay, failingFor time.Duration
		if retry && attempt <= c.opts.MaxRetries {
			now := c.clockNow()
			if firstFailure.IsZero() {
				firstFailure = now
			}
			failingFor = now.Sub(firstFailure)
			delay = c.backoff(attempt)
			if c.opts.MaxRetryTime >= 0 {
				left := c.opts.MaxRetryTime - failingFor
				retry = left > 0
				delay = min(delay, left)
			}
		}
		var f *Fault
		isFault := errors.As(err, &f)
		if !retry || attempt > c.opts.MaxRetries {
			if isFault {
				return nil, fmt.Errorf("%s: %w", req.method, err)
			}
			var te *transportFailure
			if errors.As(err, &te) {
				return nil, c.wrapTransportError(req.method, req.url, attempt, retryable, te.err)
			}
			return nil, fmt.Errorf("%s: %w", req.method, err)
		}
		log.Warn("hub call failed, retrying", "attempt", attempt, "delay", delay, "failing_for", failingFor, "err", err)
		if werr := c.wait(ctx, delay); werr != nil {
			return nil, fmt.Errorf("%s: %w (last error: %v)", req.method, werr, err)
		}
	}
}

// clockNow is the retry loop's time.Now.
func (c *Client) clockNow() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// wait sleeps for d or until ctx ends.
func (c *Client) wait(ctx context.Context, d time.Duration) error {
	if c.waitHook != nil {
		c.waitHook(d)
	}
	if c.sleep != nil {
		return c.sleep(ctx, d)
	}
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// transportFailure marks an attempt that got no XML-RPC answer.
type transportFailure struct{ err error }

func (e *transportFailure) Error() string { return e.err.Error() }
func (e *transportFailure) Unwrap() error { return e.err }

// attempt sends one HTTP request and says whether a failure may be retried.
func (c *Client) attempt(ctx context.Context, req *rpcRequest, target string, header http.Header) (any, bool, error) {
	actx, cancel := context.WithTimeoutCause(ctx, c.opts.Timeout, &attemptTimeout{c.opts.Timeout})
	defer cancel()
	hreq, err := http.NewRequestWithContext(actx, http.MethodPost, target, bytes.NewReader(req.body))
	if err != nil {
		return nil, false, err
	}
	hreq.Header = header.Clone()
	resp, err := c.hc.Do(hreq)
	if err != nil {
		if actx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", context.Cause(actx), err)
		}
		return nil, !isCertError(err), &transportFailure{err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		se := &HTTPStatusError{
			StatusCode: resp.StatusCode,
			Status:     resp.Status,
			Body:       strings.TrimSpace(strings.ToValidUTF8(string(snippet), "?")),
		}
		if pki.IsTLSPortAnswer(resp.StatusCode, se.Body) {
			// http:// to the hub's TLS port: the body is the only sign.
			return nil, false, &transportFailure{fmt.Errorf("%w: %w", pki.ErrTLSPort, se)}
		}
		// Only a busy or failing server is worth asking again; any other
		// answer, a 400 above all (whatever its body), is the same the
		// next time.
		retry := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests ||
			resp.StatusCode == http.StatusRequestTimeout
		return nil, retry, &transportFailure{se}
	}
	v, err := decodeResponse(&limitedBody{r: resp.Body, max: c.opts.MaxResponseSize})
	if err != nil {
		var f *Fault
		switch {
		case errors.As(err, &f):
			// The hub answered; only "offline" means the call did not run.
			return nil, f.Code == kojixml.ServerOffline, err
		case errors.Is(err, errTooLarge):
			return nil, false, err
		case isReadError(err) || errors.Is(err, io.ErrUnexpectedEOF):
			if actx.Err() != nil && ctx.Err() == nil {
				err = fmt.Errorf("%w: %w", context.Cause(actx), err)
			}
			return nil, true, &transportFailure{err}
		}
		return nil, false, err
	}
	return v, false, nil
}

// backoff returns the wait before retry number n (1-based): none for the
// first retry, as Koji does, then RetryInterval doubling up to
// MaxRetryInterval, with jitter in [d/2, d).
func (c *Client) backoff(n int) time.Duration {
	if n <= 1 {
		return 0
	}
	d := c.opts.RetryInterval
	for i := 2; i < n && d < c.opts.MaxRetryInterval; i++ {
		d *= 2
	}
	d = min(d, c.opts.MaxRetryInterval)
	if half := d / 2; half > 0 {
		d = half + rand.N(half)
	}
	return d
}
