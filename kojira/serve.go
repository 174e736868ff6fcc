package kojira

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"kojigo/internal/kojiclient"
	"kojigo/internal/kojiconf"
	"kojigo/internal/kojixml"
)

// ServeOptions are what cmd/kojira hands to Serve.
type ServeOptions struct {
	ConfigFile string
	// ConfigRequired fails on a missing config file (it was named on the command line).
	ConfigRequired bool
	// Flags are the parsed command-line flags; those named as kojira.conf
	// keys (server, topdir, sleeptime, ...) override the file.
	Flags *flag.FlagSet
	// ForceLock takes the exclusive session from another kojira at once
	// (Koji's --force-lock), instead of waiting for it to stop or go silent.
	ForceLock bool
	Logger    *slog.Logger
	// Level, when set, is Logger's level: kojira.conf's debug = true
	// lowers it to debug.
	Level *slog.LevelVar
	// HTTPClient replaces the hub client's transport (tests). Nil: one
	// built from cert and serverca.
	HTTPClient *http.Client
	// Identity names this kojira in the heartbeat file. "": host and pid.
	Identity string
}

// Serve is the kojira daemon: it loads kojira.conf, logs in to the hub
// (certificate, or user and password), takes the exclusive session, and
// runs the passes until ctx ends. While another kojira holds the session it
// waits as a standby, retrying every sleeptime, and takes over when the
// other logs out or its heartbeat is older than lock_timeout. A kojira
// whose session is taken from it becomes a standby again.
func Serve(ctx context.Context, o ServeOptions) error {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, warnings, err := LoadConfig(o.ConfigFile, kojiconf.Options{Optional: !o.ConfigRequired, Flags: o.Flags})
	if err != nil {
		return err
	}
	if cfg.Debug && o.Level != nil {
		o.Level.Set(slog.LevelDebug)
	}
	for _, w := range warnings {
		log.Warn("kojira.conf", "warning", w.Error())
	}
	copts := kojiclient.Options{Server: cfg.Server, Logger: log.With("component", "client"), HTTPClient: o.HTTPClient}
	useCert := false
	if o.HTTPClient == nil {
		if cfg.ServerCA != "" {
			if _, err := os.Stat(cfg.ServerCA); err == nil {
				copts.ServerCAFile = cfg.ServerCA
			}
		}
		if cfg.certExists() {
			copts.CertFile, useCert = cfg.Cert, true
		}
	}
	if !useCert && cfg.User == "" {
		return fmt.Errorf("no credentials: cert %s does not exist and no user is set; run 'kojictl certs user kojira' and set cert = in %s", cfg.Cert, o.ConfigFile)
	}
	ident := o.Identity
	if ident == "" {
		ident = defaultIdentity()
	}
	log = log.With("component", "kojira")
	force := o.ForceLock
	for {
		hub, err := kojiclient.New(copts)
		if err != nil {
			return err
		}
		// A certificate the hub refuses is read again before each new
		// try: replacing the file is enough, kojira need not restart.
		reload := func() (*kojiclient.Client, error) { return kojiclient.New(copts) }
		if hub, err = login(ctx, hub, reload, cfg, useCert, log); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		err = acquire(ctx, hub, cfg, force, log)
		if err == nil {
			force = false
			err = Run(ctx, cfg, hub, Options{Logger: o.Logger, Identity: ident})
		}
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		hub.Logout(lctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			log.Info("stopped")
			return nil
		case errors.Is(err, ErrLostLock):
			log.Warn("another kojira took over: waiting as a standby")
			continue
		}
		return err
	}
}

// acquire takes the exclusive session. While another session holds it,
// it waits (retrying every sleeptime) and takes it with force once the
// holder's heartbeat is older than lock_timeout. It returns ctx's error
// when ctx ends first.
func acquire(ctx context.Context, hub Locker, cfg Config, force bool, log *slog.Logger) error {
	standby := false
	for fails := 0; ; {
		err := hub.ExclusiveSession(ctx, force)
		if err == nil {
			if force {
				log.Warn("took the exclusive session with force")
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := jitter(cfg.SleepTime)
		switch faultCode(err) {
		case kojixml.AuthLockError:
			fails = 0
			a, who, ok := heartbeatAge(cfg.TopDir, time.Now())
			switch {
			case ok && a > cfg.LockTimeout:
				log.Warn("the active kojira is silent: taking over", "holder", who, "heartbeat_age", a.Round(time.Second),
					"lock_timeout", cfg.LockTimeout)
				force = true
				continue
			case !standby:
				standby = true
				if ok {
					log.Info("another kojira is active: waiting as a standby", "holder", who, "heartbeat_age", a.Round(time.Second))
				} else {
					log.Warn("another session holds kojira's lock and writes no heartbeat (not a kojigo kojira?): waiting; start with --force-lock to take over",
						"heartbeat", heartbeatPath(cfg.TopDir))
				}
			}
		case 0:
			fails++
			wait = backoff(fails, cfg.SleepTime)
			log.Warn("hub not reachable, retrying", "err", err, "retry_in", wait.Round(time.Millisecond))
		default:
			return fmt.Errorf("exclusive session: %w", err)
		}
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
	}
}

// login tries until the hub answers and returns the client that logged in.
// A hub that is down at boot is waited for. A TLS connection that fails for
// a reason retrying alone cannot fix (the hub refused our certificate, e.g.
// an expired one, or we do not trust the hub's) is logged as an error with
// its diagnosis and tried again with the certificate and CA files read anew
// by reload. A refused login (a fault) ends kojira with the reason.
func login(ctx context.Context, hub *kojiclient.Client, reload func() (*kojiclient.Client, error), cfg Config, useCert bool, log *slog.Logger) (*kojiclient.Client, error) {
	for fails := 1; ; fails++ {
		var err error
		if useCert {
			err = hub.SSLLogin(ctx)
		} else {
			err = hub.Login(ctx, cfg.User, cfg.Password)
		}
		if err == nil {
			return hub, nil
		}
		var te *kojiclient.TransportError
		if faultCode(err) != 0 || !errors.As(err, &te) || te.StatusCode != 0 || ctx.Err() != nil {
			return nil, fmt.Errorf("unable to log in: %w", err)
		}
		delay := backoff(fails, cfg.SleepTime)
		if te.Retryable {
			log.Warn("hub not reachable, retrying login", "err", err, "retry_in", delay.Round(time.Millisecond))
		} else {
			log.Error("cannot log in: the TLS connection to the hub failed; fix what the error says (kojira reads its cert and serverca files again before the next try)",
				"err", err, "retry_in", delay.Round(time.Millisecond))
		}
		if !sleep(ctx, delay) {
			return nil, ctx.Err()
		}
		if !te.Retryable {
			c, rerr := reload()
			if rerr != nil {
				log.Error("cannot read the certificate files; trying again later", "err", rerr)
				continue
			}
			hub = c
		}
	}
}
