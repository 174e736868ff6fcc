package builderd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"kojigo/internal/kojiclient"
	"kojigo/internal/kojiconf"
)

// ServeOptions are what cmd/kojid hands to Serve.
type ServeOptions struct {
	ConfigFile string
	// ConfigRequired fails on a missing config file (it was named on the command line).
	ConfigRequired bool
	// Flags are the parsed command-line flags; those named as kojid.conf
	// keys (server, workdir, maxjobs, ...) override the file.
	Flags *flag.FlagSet
	// ForceLock takes the host's exclusive session from a stale one (Koji's --force-lock).
	ForceLock bool
	Logger    *slog.Logger
	Version   string
}

// Serve is kojid: it loads kojid.conf, logs in to the hub with the host
// certificate (or a password), takes the host's exclusive session, and runs
// the daemon until SIGTERM or SIGINT (a second one during a "finish"
// shutdown cancels running tasks). SIGUSR1 is a graceful restart: Serve
// returns ErrRestart once no task runs, and the caller re-executes.
// kojidCallRetry bounds how long one hub call of kojid retries by itself.
const kojidCallRetry = 10 * time.Second

func Serve(ctx context.Context, o ServeOptions) error {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, warnings, err := LoadConfig(o.ConfigFile, kojiconf.Options{Optional: !o.ConfigRequired, Flags: o.Flags})
	if err != nil {
		return err
	}
	for _, w := range warnings {
		log.Warn("kojid.conf", "warning", w.Error())
	}
	if cfg.Server == "" {
		return fmt.Errorf("no hub: set server = https://HUB/kojihub in %s (or --server)", o.ConfigFile)
	}
	// One call retries only briefly: kojid's own outage handling (hub.go)
	// waits out longer outages, says once when the hub is lost and once
	// when it is back, and does not hold the session's call slot meanwhile.
	// Uploads go in 4 MiB blocks rather than the CLI's 1 MiB: a repo's
	// repodata is about 30 MB at 12,788 packages, and each block is a round
	// trip (Koji's hub reads raw uploads without a size cap; kojigo's takes
	// 64 MiB).
	copts := kojiclient.Options{Server: cfg.Server, Logger: log.With("component", "client"), MaxRetryTime: kojidCallRetry,
		UploadBlockSize: 4 << 20}
	if cfg.ServerCA != "" {
		if _, err := os.Stat(cfg.ServerCA); err == nil {
			copts.ServerCAFile = cfg.ServerCA
		}
	}
	useCert := false
	if cfg.Cert != "" {
		if _, err := os.Stat(cfg.Cert); err == nil {
			copts.CertFile, useCert = cfg.Cert, true
		}
	}
	hub, err := kojiclient.New(copts)
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)
	defer signal.Stop(sigs)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	restart, force := make(chan struct{}), make(chan struct{})
	go func() {
		stopped := false
		for {
			select {
			case <-ctx.Done():
				stop()
				return
			case s := <-sigs:
				switch {
				case s == syscall.SIGUSR1:
					select {
					case <-restart:
					default:
						close(restart)
					}
				case !stopped:
					stopped = true
					log.Info("stopping: taking no new task", "signal", s.String())
					stop()
				default:
					select {
					case <-force:
					default:
						log.Warn("second signal: cancelling running tasks", "signal", s.String())
						close(force)
					}
				}
			}
		}
	}()
	// A certificate the hub refuses is read again before each new try:
	// replacing the file is enough, kojid need not be restarted.
	reload := func() (*kojiclient.Client, error) { return kojiclient.New(copts) }
	if hub, err = login(runCtx, hub, reload, cfg, useCert, log); err != nil {
		return err
	}
	if err := hub.ExclusiveSession(runCtx, o.ForceLock); err != nil {
		var f *kojiclient.Fault
		if errors.As(err, &f) && f.Code == 1006 {
			return fmt.Errorf("another kojid holds this host's session (or a killed one left it): start with --force-lock to take it over: %w", err)
		}
		return fmt.Errorf("exclusive session: %w", err)
	}
	defer hub.Logout(context.WithoutCancel(ctx))
	var waiter Hub
	if sub, err := hub.Subsession(runCtx); err == nil {
		waiter = sub
		defer sub.Logout(context.WithoutCancel(ctx))
	} else {
		log.Warn("no subsession for waiting on work; new work is seen at each sleeptime", "err", err)
	}
	err = Run(runCtx, cfg, hub, Options{Logger: log, Version: o.Version, Restart: restart, ForceStop: force, Waiter: waiter})
	if errors.Is(err, ErrRestart) {
		// Give the host's session back before executing anew, so that
		// the new kojid takes the host's lock as it did at boot. A session
		// that cannot be logged out is still this kojid's (no other could
		// have taken it while it held the lock): the new one takes it over.
		if lerr := hub.Logout(context.WithoutCancel(ctx)); lerr != nil {
			log.Warn("could not log out before restarting: the restarted kojid takes this session over", "err", lerr)
			return ErrRestartTakeOver
		}
	}
	return err
}

// login tries until the hub answers and returns the client that logged in.
// A hub that is down at boot is waited for. A failure that retrying alone
// cannot fix (the hub refused our certificate, e.g. an expired one, or we
// do not trust the hub's) is logged as an error with its diagnosis, not as
// an unreachable hub, and tried again with the certificate and CA files
// read anew by reload, so that replacing the file is enough. A refused
// login (a fault) ends kojid.
func login(ctx context.Context, hub *kojiclient.Client, reload func() (*kojiclient.Client, error), cfg Config, useCert bool, log *slog.Logger) (*kojiclient.Client, error) {
	for fails := 1; ; fails++ {
		var err error
		switch {
		case useCert:
			err = hub.SSLLogin(ctx)
		case cfg.User != "":
			err = hub.Login(ctx, cfg.User, cfg.Password)
		default:
			return nil, fmt.Errorf("no credentials: cert %s does not exist and no user is set; run 'kojictl certs host NAME' and set cert =", cfg.Cert)
		}
		if err == nil {
			return hub, nil
		}
		var f *kojiclient.Fault
		if errors.As(err, &f) {
			return nil, fmt.Errorf("unable to log in: %w", err)
		}
		var te *kojiclient.TransportError
		if !errors.As(err, &te) || te.StatusCode != 0 || ctx.Err() != nil {
			return nil, fmt.Errorf("unable to log in: %w", err)
		}
		delay := backoff(fails, cfg.SleepTime)
		if te.Retryable {
			log.Warn("hub not reachable, retrying login", "err", err, "retry_in", delay.Round(time.Millisecond))
		} else {
			log.Error("cannot log in: fix what the error says (kojid reads its cert and serverca files again before the next try)",
				"err", err, "retry_in", delay.Round(time.Millisecond))
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
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
