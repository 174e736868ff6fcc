package hubcore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"kojigo/db"
	"kojigo/hubcore/policy"
	"kojigo/internal/kojiconf"
	"kojigo/internal/pki"
)

// FileConfig is hub.conf's [hub] section: Koji's key names where the meaning
// is the same, kojigo's own for the listener and the database DSN.
type FileConfig struct {
	DB     string `ini:"DB" help:"database DSN: postgres://user@host:5432/koji?sslmode=... or sqlite:///var/lib/kojihub/koji.db"`
	DBName string `ini:"DBName" help:"Koji's PostgreSQL database name (used when DB is empty)"`
	DBUser string `ini:"DBUser" help:"Koji's PostgreSQL user (used when DB is empty)"`
	DBHost string `ini:"DBHost" help:"Koji's PostgreSQL host (used when DB is empty)"`
	DBPort int    `ini:"DBPort" help:"Koji's PostgreSQL port (used when DB is empty)"`
	DBPass string `ini:"DBPass" help:"Koji's PostgreSQL password (used when DB is empty)"`

	Listen      string `ini:"Listen" help:"address to listen on; plain HTTP is allowed only on a loopback address"`
	TLSCert     string `ini:"TLSCert" help:"the hub's certificate (PEM); enables TLS"`
	TLSKey      string `ini:"TLSKey" help:"the hub's private key (PEM); may be empty when TLSCert holds it"`
	TLSClientCA string `ini:"TLSClientCA" help:"CA that issues builder and user certificates; enables sslLogin"`

	KojiDir               string        `ini:"KojiDir" help:"topdir: task output, packages and repos"`
	MaxRequestLength      int64         `ini:"MaxRequestLength" help:"largest request body in bytes"`
	LoginCreatesUser      bool          `ini:"LoginCreatesUser" help:"create unknown users at sslLogin"`
	DNUsernameComponent   string        `ini:"DNUsernameComponent" help:"certificate subject field that is the user name"`
	ProxyDNs              string        `ini:"ProxyDNs" help:"subject DNs (RFC 2253, e.g. CN=kojiweb,O=Example), separated by |, whose certificates may log other users in: kojiweb's"`
	CheckClientIP         bool          `ini:"CheckClientIP" help:"bind sessions to the client's address"`
	DisableURLSessions    bool          `ini:"DisableURLSessions" help:"refuse session parameters in the query string"`
	SessionRenewalTimeout time.Duration `ini:"SessionRenewalTimeout" unit:"m" help:"session lifetime in minutes"`
	HealthHistory         int           `ini:"HealthHistory" help:"check-ins kept per host for trends"`
	TopdirMinSpace        int64         `ini:"TopdirMinSpace" help:"MiB that KojiDir's filesystem must keep free; below it /healthz says degraded and the hub warns (0: not checked)"`
	MaxJobs               int           `ini:"MaxJobs" help:"tasks per host when the host does not say"`
	CapacityOvercommit    float64       `ini:"CapacityOvercommit" help:"how far a task's weight may exceed a host's free capacity"`
	ReadyTimeout          time.Duration `ini:"ReadyTimeout" help:"seconds without check-in before a host is marked not ready"`
	AssignTimeout         time.Duration `ini:"AssignTimeout" help:"seconds an assigned task waits for its host to open it"`
	SoftRefusalTimeout    time.Duration `ini:"SoftRefusalTimeout" help:"seconds a soft refusal lasts"`
	HostTimeout           time.Duration `ini:"HostTimeout" help:"seconds without check-in before a host's open tasks are freed"`
	RunInterval           time.Duration `ini:"RunInterval" help:"seconds between periodic scheduler passes"`
	SchedulerLogLifetime  time.Duration `ini:"SchedulerLogLifetime" unit:"h" help:"hours scheduler log messages are kept"`
	MaxRepoTasks          int           `ini:"MaxRepoTasks" help:"newRepo tasks the repo queue keeps running at most"`
	MaxRepoTasksMaven     int           `ini:"MaxRepoTasksMaven" help:"of those, maven repo tasks at most"`
	RepoRetries           int           `ini:"RepoRetries" help:"times a repo request's failed task is replaced"`
	RequestCleanTime      time.Duration `ini:"RequestCleanTime" unit:"m" help:"minutes finished repo requests are kept"`
	AllowNewRepo          bool          `ini:"AllowNewRepo" help:"allow the legacy newRepo call (koji regen-repo --make-task)"`
	RepoLag               time.Duration `ini:"RepoLag" help:"seconds a default repo request may lag behind the tag (tag extra repo.lag overrides)"`
	RepoAutoLag           time.Duration `ini:"RepoAutoLag" help:"RepoLag of the automatic requests for tags with repo.auto"`
	RepoLagWindow         time.Duration `ini:"RepoLagWindow" help:"seconds the lagged time is rounded down to, so close requests share a repo"`
	RepoQueueUser         string        `ini:"RepoQueueUser" help:"user that owns the repo queue's newRepo tasks"`
	DebuginfoTags         string        `ini:"DebuginfoTags" help:"globs of tag names whose repos include debuginfo"`
	SourceTags            string        `ini:"SourceTags" help:"globs of tag names whose repos include source rpms"`
	SeparateSourceTags    string        `ini:"SeparateSourceTags" help:"globs of tag names whose repos get a separate src repo"`
	EmailDomain           string        `ini:"EmailDomain" help:"domain of users' mail addresses (NAME@EmailDomain) for notifications"`
	NotifyOnSuccess       bool          `ini:"NotifyOnSuccess" help:"tell a build's owner of successful builds too, not only failures"`
	DisableNotifications  bool          `ini:"DisableNotifications" help:"make no build or tag notification tasks (no mail)"`
	KojiWebURL            string        `ini:"KojiWebURL" help:"the web UI's URL, for links in notification mail"`
	LogLevel              string        `ini:"LogLevel" help:"debug, info, warn or error"`
	LogFormat             string        `ini:"LogFormat" help:"text or json"`

	// Policies are the [policy] section, read with LoadPolicies (not a key
	// of [hub]).
	Policies []policy.Source
}

// DefaultFileConfig returns hub.conf's defaults.
func DefaultFileConfig() FileConfig {
	return FileConfig{
		Listen: "127.0.0.1:8080", KojiDir: "/mnt/koji", MaxRequestLength: 4 << 20, LoginCreatesUser: true,
		DNUsernameComponent: "CN", CheckClientIP: true, SessionRenewalTimeout: 24 * time.Hour, HealthHistory: 1440,
		TopdirMinSpace: DefaultTopdirMinSpace >> 20,
		MaxJobs:        15, CapacityOvercommit: 5, ReadyTimeout: 180 * time.Second, AssignTimeout: 300 * time.Second,
		SoftRefusalTimeout: 900 * time.Second, HostTimeout: 900 * time.Second, RunInterval: 60 * time.Second,
		SchedulerLogLifetime: 14 * 24 * time.Hour,
		MaxRepoTasks:         10, MaxRepoTasksMaven: 2, RepoRetries: 3, RequestCleanTime: 24 * time.Hour, AllowNewRepo: true,
		RepoLag: time.Hour, RepoAutoLag: 2 * time.Hour, RepoLagWindow: 600 * time.Second, RepoQueueUser: "kojira",
		LogLevel: "info", LogFormat: "text", NotifyOnSuccess: true, KojiWebURL: "http://localhost/koji",
	}
}

// Validate checks what can be checked without touching the network.
func (f *FileConfig) Validate() error {
	var errs kojiconf.Errors
	if f.DB == "" && f.DBName == "" {
		errs = append(errs, &kojiconf.Error{Key: "DB", Msg: "no database: set DB = sqlite:///var/lib/kojihub/koji.db or a postgres:// DSN"})
	} else if f.DB != "" {
		if _, _, err := db.ParseDSN(f.DB); err != nil {
			errs = append(errs, &kojiconf.Error{Key: "DB", Msg: err.Error()})
		}
	}
	if f.KojiDir == "" || !strings.HasPrefix(f.KojiDir, "/") {
		errs = append(errs, &kojiconf.Error{Key: "KojiDir", Msg: "must be an absolute path"})
	}
	if _, _, err := net.SplitHostPort(f.Listen); err != nil {
		errs = append(errs, &kojiconf.Error{Key: "Listen", Msg: "want host:port: " + err.Error()})
	} else if f.TLSCert == "" && !isLoopback(f.Listen) {
		errs = append(errs, &kojiconf.Error{Key: "Listen", Msg: "plain HTTP is only allowed on a loopback address; set TLSCert and TLSKey (kojictl certs hub NAME) or listen on 127.0.0.1"})
	}
	if f.TLSClientCA != "" && f.TLSCert == "" {
		errs = append(errs, &kojiconf.Error{Key: "TLSClientCA", Msg: "needs TLSCert: client certificates only travel over TLS"})
	}
	if f.MaxRequestLength < 1024 {
		errs = append(errs, &kojiconf.Error{Key: "MaxRequestLength", Msg: "must be at least 1024"})
	}
	if f.TopdirMinSpace < 0 || f.TopdirMinSpace > maxTopdirMinSpace {
		errs = append(errs, &kojiconf.Error{Key: "TopdirMinSpace", Msg: fmt.Sprintf("want MiB from 0 (not checked) to %d; kojid's minspace is 8192", maxTopdirMinSpace)})
	}
	for _, n := range []struct {
		key string
		v   int
		min int
	}{{"MaxRepoTasks", f.MaxRepoTasks, 1}, {"MaxRepoTasksMaven", f.MaxRepoTasksMaven, 0}, {"RepoRetries", f.RepoRetries, 0}} {
		if n.v < n.min {
			errs = append(errs, &kojiconf.Error{Key: n.key, Msg: fmt.Sprintf("must be at least %d", n.min)})
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"RequestCleanTime", f.RequestCleanTime}, {"RepoLag", f.RepoLag}, {"RepoAutoLag", f.RepoAutoLag}} {
		if d.v < 0 {
			errs = append(errs, &kojiconf.Error{Key: d.key, Msg: "must not be negative"})
		}
	}
	if f.RepoLagWindow < time.Second {
		errs = append(errs, &kojiconf.Error{Key: "RepoLagWindow", Msg: "must be at least 1 second"})
	}
	if f.RepoQueueUser == "" {
		errs = append(errs, &kojiconf.Error{Key: "RepoQueueUser", Msg: "must name a user (Koji: kojira)"})
	}
	switch f.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, &kojiconf.Error{Key: "LogLevel", Msg: "want debug, info, warn or error"})
	}
	switch f.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, &kojiconf.Error{Key: "LogFormat", Msg: "want text or json"})
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// proxyDNs splits ProxyDNs as Koji does: at "|", each DN trimmed, empty
// ones dropped.
func (f *FileConfig) proxyDNs() []string {
	var dns []string
	for _, dn := range strings.Split(f.ProxyDNs, "|") {
		if dn = strings.TrimSpace(dn); dn != "" {
			dns = append(dns, dn)
		}
	}
	return dns
}

// maxTopdirMinSpace bounds TopdirMinSpace (MiB): 1 EiB, far above any
// filesystem, and far below where MiB to bytes overflows.
const maxTopdirMinSpace int64 = 1 << 40

// topdirMinSpace is TopdirMinSpace in bytes for Config: 0 in the file
// means not checked.
func (f *FileConfig) topdirMinSpace() int64 {
	if f.TopdirMinSpace == 0 {
		return -1
	}
	return f.TopdirMinSpace << 20
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// DSN returns the database DSN, built from Koji's DB* keys when DB is empty.
func (f *FileConfig) DSN() string {
	if f.DB != "" {
		return f.DB
	}
	u := url.URL{Scheme: "postgres", Path: "/" + f.DBName}
	host := f.DBHost
	if host == "" {
		host = "localhost"
	}
	if f.DBPort != 0 {
		host = fmt.Sprintf("%s:%d", host, f.DBPort)
	}
	u.Host = host
	if f.DBUser != "" {
		if f.DBPass != "" {
			u.User = url.UserPassword(f.DBUser, f.DBPass)
		} else {
			u.User = url.User(f.DBUser)
		}
	}
	return u.String()
}

// repoConfig maps the repo keys onto RepoConfig, whose zero values are
// defaults: an explicit 0 in the file becomes "none".
func (f *FileConfig) repoConfig() RepoConfig {
	noneIfZero := func(d time.Duration) time.Duration {
		if d == 0 {
			return -1
		}
		return d
	}
	retries := f.RepoRetries
	if retries == 0 {
		retries = -1
	}
	return RepoConfig{
		MaxRepoTasks: f.MaxRepoTasks, MaxRepoTasksMaven: f.MaxRepoTasksMaven, RepoRetries: retries,
		RequestCleanTime: noneIfZero(f.RequestCleanTime), DisableNewRepo: !f.AllowNewRepo,
		RepoLag: noneIfZero(f.RepoLag), RepoAutoLag: noneIfZero(f.RepoAutoLag), RepoLagWindow: f.RepoLagWindow,
		RepoQueueUser: f.RepoQueueUser, DebuginfoTags: f.DebuginfoTags, SourceTags: f.SourceTags,
		SeparateSourceTags: f.SeparateSourceTags,
	}
}

// ServerOptions is what RunServer needs beyond the file: the opened
// listener (for tests that pick a port) and where logs go.
type ServerOptions struct {
	Config  FileConfig
	Version string
	Logger  *slog.Logger
	// Listener, when set, is used instead of listening on Config.Listen.
	Listener net.Listener
	// Ready, when set, is called with the address once the hub serves.
	Ready func(addr string)
	// Timeouts of the HTTP server and TLS listener; zero values are the
	// Default* constants.
	Timeouts ServerTimeouts
}

// ServerTimeouts bound what a client may hold the hub for without sending.
// There is no write timeout: kojigo.waitChanges and kojigo.waitTasks answer
// after up to a minute, and a large kojifiles download takes as long as it
// takes.
type ServerTimeouts struct {
	// Handshake bounds a TLS handshake (pki.DefaultHandshakeTimeout).
	Handshake time.Duration
	// Header bounds reading a request's headers (DefaultHeaderTimeout).
	Header time.Duration
	// Body bounds reading a request body: Body plus a second per MiB
	// announced (an hour at most), so that a 64 MiB upload chunk gets 64 s
	// more (DefaultBodyTimeout).
	Body time.Duration
	// Idle closes a keep-alive connection that sends no request for this
	// long (DefaultIdleTimeout).
	Idle time.Duration
}

// Defaults of ServerTimeouts.
const (
	DefaultHeaderTimeout = 30 * time.Second
	DefaultBodyTimeout   = 60 * time.Second
	DefaultIdleTimeout   = 2 * time.Minute
)

func (t ServerTimeouts) withDefaults() ServerTimeouts {
	if t.Handshake <= 0 {
		t.Handshake = pki.DefaultHandshakeTimeout
	}
	if t.Header <= 0 {
		t.Header = DefaultHeaderTimeout
	}
	if t.Body <= 0 {
		t.Body = DefaultBodyTimeout
	}
	if t.Idle <= 0 {
		t.Idle = DefaultIdleTimeout
	}
	return t
}

// bodyTimeout is how long reading a body of n announced bytes may take.
// The extra time is capped at an hour, so that a hostile Content-Length
// cannot overflow it (the handlers refuse such a body anyway).
func (t ServerTimeouts) bodyTimeout(n int64) time.Duration {
	return t.Body + time.Duration(min(max(n, 0)>>20, 3600))*time.Second
}

// withBodyDeadline bounds reading each request body by t.bodyTimeout.
// net/http lifts the deadline itself once the body has been read (it then
// watches the connection for the client going away while the handler runs,
// which a long-poll may do for a minute), and a body left unread is drained
// under it. Requests without a body are left alone: net/http watches their
// connection from the start, and a deadline passing there would cancel the
// request.
func withBodyDeadline(next http.Handler, t ServerTimeouts) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
			http.NewResponseController(w).SetReadDeadline(time.Now().Add(t.bodyTimeout(r.ContentLength)))
		}
		next.ServeHTTP(w, r)
	})
}

// NewLogger returns the hub's slog logger for a level and format.
func NewLogger(w *os.File, level, format string) *slog.Logger {
	var lv slog.Level
	lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// RunServer opens the database, refuses a schema it does not know, and
// serves the hub until ctx ends; then it stops accepting, lets calls in
// flight finish (10 s at most) and returns.
func RunServer(ctx context.Context, o ServerOptions) error {
	fc := o.Config
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	store, err := db.Open(ctx, fc.DSN(), db.Options{Logger: log.With("component", "db")})
	if err != nil {
		return err
	}
	defer store.Close()
	return runServerOn(ctx, o, store)
}

// runServerOn is RunServer on an opened store.
func runServerOn(ctx context.Context, o ServerOptions, store *db.Store) error {
	fc := o.Config
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := store.CheckSchema(ctx); err != nil {
		return err
	}
	if err := os.MkdirAll(fc.KojiDir, 0o755); err != nil {
		return fmt.Errorf("KojiDir: %w", err)
	}
	hub, err := New(store, Config{
		TopDir: fc.KojiDir, MaxRequestLength: fc.MaxRequestLength, DisableLoginCreatesUser: !fc.LoginCreatesUser,
		DNUsernameComponent: fc.DNUsernameComponent, ProxyDNs: fc.proxyDNs(), CheckClientIP: fc.CheckClientIP, DisableURLSessions: fc.DisableURLSessions,
		SessionRenewalTimeout: fc.SessionRenewalTimeout, HealthHistory: fc.HealthHistory, Version: o.Version, Logger: log,
		TopdirMinSpace: fc.topdirMinSpace(),
		Scheduler: SchedulerConfig{
			MaxJobs: fc.MaxJobs, CapacityOvercommit: fc.CapacityOvercommit, ReadyTimeout: fc.ReadyTimeout,
			AssignTimeout: fc.AssignTimeout, SoftRefusalTimeout: fc.SoftRefusalTimeout, HostTimeout: fc.HostTimeout,
			RunInterval: fc.RunInterval, LogLifetime: fc.SchedulerLogLifetime,
		},
		Repo: fc.repoConfig(),
		Notify: NotifyConfig{Disabled: fc.DisableNotifications, NoMailOnSuccess: !fc.NotifyOnSuccess,
			EmailDomain: fc.EmailDomain, WebURL: fc.KojiWebURL},
		Policies: fc.Policies,
	})
	if err != nil {
		return err
	}
	ln := o.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", fc.Listen); err != nil {
			return fmt.Errorf("listen on %s: %w", fc.Listen, err)
		}
	}
	to := o.Timeouts.withDefaults()
	scheme := "http"
	if fc.TLSCert != "" {
		tlsCfg, err := pki.ServerTLSConfig(fc.TLSCert, fc.TLSKey, fc.TLSClientCA, hub.RecordTLSFailure)
		if err != nil {
			ln.Close()
			return err
		}
		if fc.TLSClientCA != "" {
			hub.cfg.ClientCertVerifier = func(cs *tls.ConnectionState) (*x509.Certificate, error) { return pki.VerifyClientCert(cs, tlsCfg) }
		}
		ln = pki.NewListener(ln, tlsCfg, pki.ListenerOptions{OnFailure: hub.RecordTLSFailure, HandshakeTimeout: to.Handshake})
		scheme = "https"
	}
	srv := &http.Server{
		Handler:           withBodyDeadline(hub.Handler(), to),
		ReadHeaderTimeout: to.Header,
		IdleTimeout:       to.Idle,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return hub.Run(gctx) })
	g.Go(func() error { hub.metrics.topdir.run(gctx, topdirCheckInterval); return nil })
	g.Go(func() error {
		log.Info("hub serving", "url", scheme+"://"+ln.Addr().String()+"/kojihub", "db", store.Backend(), "topdir", fc.KojiDir)
		if o.Ready != nil {
			o.Ready(ln.Addr().String())
		}
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		log.Info("hub shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	return g.Wait()
}

// tlsFailureLog keeps the most recent refused handshakes for operators.
type tlsFailureLog struct {
	mu   sync.Mutex
	list []pki.Failure
}

const maxTLSFailures = 200

// RecordTLSFailure logs, counts and keeps a refused handshake or client
// certificate with the diagnosis.
func (h *Hub) RecordTLSFailure(f pki.Failure) { h.recordFailure("TLS handshake refused", f) }

// recordFailure logs f under msg (what was refused), counts it under its
// problem and keeps it for kojigo.getTLSFailures.
func (h *Hub) recordFailure(msg string, f pki.Failure) {
	h.log.Warn(msg, "peer", f.RemoteAddr, "problem", string(f.Problem), "diagnosis", f.Message, "subject", f.Subject)
	h.metrics.TLSFailures.WithLabelValues(string(f.Problem)).Inc()
	h.tlsLog.mu.Lock()
	defer h.tlsLog.mu.Unlock()
	h.tlsLog.list = append(h.tlsLog.list, f)
	if len(h.tlsLog.list) > maxTLSFailures {
		h.tlsLog.list = h.tlsLog.list[len(h.tlsLog.list)-maxTLSFailures:]
	}
}
