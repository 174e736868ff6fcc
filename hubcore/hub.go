package hubcore

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"kojigo/db"
	"kojigo/hubcore/policy"
	"kojigo/internal/kojixml"
)

// KojiVersion is the Koji release whose protocol the hub speaks.
const KojiVersion = "1.35.3"

// APIVersion is what getAPIVersion answers (Koji's koji.API_VERSION).
const APIVersion = 1

// Config is the hub's configuration. Zero values mean the documented
// defaults, applied by New; Koji's hub.conf names are given in brackets.
type Config struct {
	// TopDir is the root of task output, packages and repos [KojiDir]. Required.
	TopDir string
	// MaxRequestLength caps a request body in bytes [MaxRequestLength] (default 4 MiB).
	MaxRequestLength int64
	// DisableLoginCreatesUser refuses sslLogin for unknown users instead of
	// creating them [LoginCreatesUser = false].
	DisableLoginCreatesUser bool
	// DNUsernameComponent names the certificate subject field that is the
	// user name [DNUsernameComponent] (default CN).
	DNUsernameComponent string
	// ProxyDNs are the certificate subjects (RFC 2253, as Apache's
	// SSL_CLIENT_S_DN) whose sslLogin may name another user, proxyuser:
	// kojiweb's [ProxyDNs, separated by |].
	ProxyDNs []string
	// CheckClientIP ties a session to the address that logged in [CheckClientIP].
	CheckClientIP bool
	// DisableURLSessions refuses session parameters in the query string [DisableURLSessions].
	DisableURLSessions bool
	// SessionRenewalTimeout expires sessions this long after login or renewal
	// [SessionRenewalTimeout, minutes] (default 24 h).
	SessionRenewalTimeout time.Duration
	// HealthHistory is how many check-ins are kept per host (default 1440).
	HealthHistory int
	// TopdirMinSpace is the free space in bytes below which /healthz says
	// topdir is degraded and the hub warns (default 8 GiB, kojid's
	// minspace; negative: not checked) [TopdirMinSpace, MiB]. See topdir.go.
	TopdirMinSpace int64
	// Scheduler tunes the hub-side scheduler.
	Scheduler SchedulerConfig
	// Repo tunes repo requests and the repo queue (repos.go).
	Repo RepoConfig
	// Notify is how build and tag notifications are made (notifymail.go).
	Notify NotifyConfig
	// Policies are hub.conf's [policy] section (policy.go); Koji's default
	// policies stand for those it does not set. New refuses policies that
	// do not parse.
	Policies []policy.Source
	// Version is kojigo's own version, reported by getKojiVersion's extension.
	Version string
	// Logger receives the hub's structured log (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// ClientCertVerifier returns the verified identity of a TLS client for
	// sslLogin, or an error whose text is the diagnosis. Nil: the chains
	// crypto/tls verified.
	ClientCertVerifier func(*tls.ConnectionState) (*x509.Certificate, error)
}

func (c *Config) setDefaults() error {
	if c.TopDir == "" {
		return errors.New("hub config: TopDir (KojiDir) is required")
	}
	if c.MaxRequestLength <= 0 {
		c.MaxRequestLength = 4 << 20
	}
	if c.DNUsernameComponent == "" {
		c.DNUsernameComponent = "CN"
	}
	if c.SessionRenewalTimeout <= 0 {
		c.SessionRenewalTimeout = 24 * time.Hour
	}
	if c.HealthHistory <= 0 {
		c.HealthHistory = 1440
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	c.Scheduler.setDefaults()
	c.Repo.setDefaults()
	return nil
}

// Hub answers Koji's API. It keeps no state that another hub on the same
// database would need: sessions, claims and tasks live in the Store.
type Hub struct {
	cfg     Config
	store   *db.Store
	log     *slog.Logger
	methods map[string]*method
	names   []string
	metrics *metrics
	sched   *scheduler
	watch   *watcher
	bufs    sync.Pool
	tlsLog  tlsFailureLog
	hostXML hostXML
	histLimiter
	policies *policySet
	rpmLines *rpmLineCache
}

// New builds a hub over a migrated store.
func New(store *db.Store, cfg Config) (*Hub, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	h := &Hub{cfg: cfg, store: store, log: cfg.Logger.With("component", "hub"), rpmLines: newRPMLineCache(rpmLinesMax)}
	var err error
	if h.policies, err = newPolicySet(cfg.Policies); err != nil {
		return nil, fmt.Errorf("hub policies: %w", err)
	}
	h.metrics = newMetrics(h)
	h.sched = newScheduler(h)
	store.OnTaskEvent(h.sched.taskEvent)
	h.watch = newWatcher(watchDebounce, watchMinGap)
	store.OnWrite(h.watch.wrote)
	store.OnTaskEvent(h.watch.taskEvent)
	h.register()
	return h, nil
}

// Store returns the hub's store.
func (h *Hub) Store() *db.Store { return h.store }

// Run runs the hub's background work (the scheduler's timer and wake-ups)
// until ctx ends.
func (h *Hub) Run(ctx context.Context) error { return h.sched.run(ctx) }

// Handler returns the hub's HTTP routes: /kojihub (and /kojihub/ssllogin),
// /metrics, /healthz and /kojifiles/.
func (h *Hub) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/kojihub", h)
	mux.Handle("/kojihub/", h)
	mux.Handle("/metrics", h.metrics.handler())
	mux.HandleFunc("/healthz", h.healthz)
	mux.Handle("/kojifiles/", http.StripPrefix("/kojifiles/", noDirListing(http.FileServer(http.Dir(h.cfg.TopDir)))))
	return mux
}

func noDirListing(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") && r.URL.Path != "" {
			http.Error(w, "directory listing is disabled", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP answers POST /kojihub: an XML-RPC call, or a raw upload when the
// body is application/octet-stream.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Koji-Version", KojiVersion)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusMethodNotAllowed)
		io.WriteString(w, "Method Not Allowed\nThis is an XML-RPC server. Only POST requests are accepted.")
		return
	}
	if r.Header.Get("Content-Type") == "application/octet-stream" {
		h.serveUpload(w, r)
		return
	}
	body, err := h.readBody(w, r)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	call, err := kojixml.DecodeOptions{}.DecodeCallBytes(body)
	if err != nil {
		if errors.Is(err, kojixml.ErrEmpty) {
			badRequest(w, "Invalid request: Empty request")
			return
		}
		badRequest(w, "Invalid request: "+err.Error())
		return
	}
	start := time.Now()
	c := h.newCall(r, call.Method)
	result, ferr := h.dispatch(c, call.Method, call.Params, r)
	h.metrics.observe(call.Method, ferr, time.Since(start))
	h.writeResult(w, result, ferr)
}

func (h *Hub) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > h.cfg.MaxRequestLength {
		return nil, fmt.Errorf("Invalid request: request of %d bytes exceeds MaxRequestLength %d", r.ContentLength, h.cfg.MaxRequestLength)
	}
	buf := h.getBuf()
	defer h.putBuf(buf)
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, h.cfg.MaxRequestLength))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fmt.Errorf("Invalid request: request exceeds MaxRequestLength %d", h.cfg.MaxRequestLength)
		}
		return nil, fmt.Errorf("Invalid request: reading body: %v", err)
	}
	return bytes.Clone(buf.Bytes()), nil
}

func badRequest(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusBadRequest)
	io.WriteString(w, msg)
}

func (h *Hub) getBuf() *bytes.Buffer {
	if b, ok := h.bufs.Get().(*bytes.Buffer); ok {
		b.Reset()
		return b
	}
	return new(bytes.Buffer)
}

func (h *Hub) putBuf(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 {
		h.bufs.Put(b)
	}
}

func (h *Hub) writeResult(w http.ResponseWriter, result any, ferr *kojixml.Fault) {
	buf := h.getBuf()
	defer h.putBuf(buf)
	var err error
	if ferr != nil {
		err = kojixml.EncodeFault(buf, ferr)
	} else {
		err = kojixml.EncodeResponse(buf, result)
		if err != nil {
			h.log.Error("encode response", "err", err)
			buf.Reset()
			err = kojixml.EncodeFault(buf, genericErr("hub could not encode the result: %v", err))
		}
	}
	if err != nil {
		http.Error(w, "encode failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}

// call is one method call in progress: who makes it and from where.
type call struct {
	ctx     context.Context
	hub     *Hub
	method  string
	remote  string // client IP
	tls     *tls.ConnectionState
	sslPath bool // the request came to /kojihub/ssllogin
	session *db.Session
	user    *db.User
	perms   []string // loaded lazily
	// wrote is set by handlers that changed the database, so that the
	// session's callnum is stored (Koji stores it only on commit).
	wrote bool
	// lockErr is set when another session holds the user's exclusive lock.
	lockErr bool
	// masterExclusive: the session is a subsession of the lock holder.
	masterExclusive bool
	// callnum is the call's number, stored once the call has written;
	// callnumSaved when a handler stored it in its own transaction.
	callnum      *int64
	callnumSaved bool
	// host is the host the caller logs in as (read with the session).
	host *db.Host
}

// saveCallnum stores the call's number inside the handler's transaction,
// sparing a commit on hot write paths (host.updateHost).
func (c *call) saveCallnum(tx *db.Store) error {
	if c.session == nil || c.callnum == nil {
		return nil
	}
	if err := tx.SetCallnum(c.ctx, c.session.ID, *c.callnum); err != nil {
		return err
	}
	c.callnumSaved = true
	return nil
}

func (h *Hub) newCall(r *http.Request, method string) *call {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return &call{
		ctx:     r.Context(),
		hub:     h,
		method:  method,
		remote:  host,
		tls:     r.TLS,
		sslPath: strings.HasSuffix(strings.TrimRight(r.URL.Path, "/"), "/ssllogin"),
	}
}

// dispatch authenticates and runs one call, returning its result or fault.
// It recovers from a handler's panic so that no client input can crash the
// hub or leak a stack.
func (h *Hub) dispatch(c *call, name string, params []any, r *http.Request) (result any, ferr *kojixml.Fault) {
	defer func() {
		if p := recover(); p != nil {
			ref := h.logInternal(name, "panic in method", fmt.Errorf("%v", p))
			result, ferr = nil, internalFault(name, ref)
		}
	}()
	m, ok := h.methods[name]
	if !ok {
		return nil, genericErr("Invalid method: %s", name)
	}
	if r != nil {
		var f *kojixml.Fault
		c.callnum, f = h.authenticate(c, r, m)
		if f != nil {
			return nil, f
		}
	}
	if c.lockErr && !m.lockFree {
		return nil, fault(kojixml.AuthLockError, "User locked by another session")
	}
	a := kojixml.NewArgs(name, params)
	res, err := m.fn(c, a)
	if err != nil {
		f := h.toFault(name, err)
		if f.Code == kojixml.GenericError || f.Code == kojixml.UnknownError {
			h.log.Debug("call failed", "method", name, "err", err)
		}
		return nil, f
	}
	if c.session != nil && c.callnum != nil && c.wrote && !c.callnumSaved {
		if err := h.store.SetCallnum(c.ctx, c.session.ID, *c.callnum); err != nil {
			h.log.Warn("store callnum", "session", c.session.ID, "err", err)
		}
	}
	return res, nil
}
