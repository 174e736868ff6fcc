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
	copts := kojiclient.Options{Server: cfg.Server, Logger: log.With("component", "client"), MaxRetryTime: kojidCallRetry}
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
	if err := login(runCtx, hub, cfg, useCert, log); err != nil {
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
	return Run(runCtx, cfg, hub, Options{Logger: log, Version: o.Version, Restart: restart, ForceStop: force, Waiter: waiter})
}

// login tries until the hub answers: a hub that is down at boot is waited
// for; a refused login ends kojid with the reason.
func login(ctx context.Context, hub *kojiclient.Client, cfg Config, useCert bool, log *slog.Logger) error {
	for fails := 1; ; fails++ {
		var err error
		switch {
		case useCert:
			err = hub.SSLLogin(ctx)
		case cfg.User != "":
			err = hub.Login(ctx, cfg.User, cfg.Password)
		default:
			return fmt.Errorf("no credentials: cert %s does not exist and no user is set; run 'kojictl certs host NAME' and set cert =", cfg.Cert)
		}
		if err == nil {
			return nil
		}
		var f *kojiclient.Fault
		if errors.As(err, &f) {
			return fmt.Errorf("unable to log in: %w", err)
		}
		var te *kojiclient.TransportError
		if errors.As(err, &te) && te.StatusCode == 0 && ctx.Err() == nil {
			delay := backoff(fails, cfg.SleepTime)
			log.Warn("hub not reachable, retrying login", "err", err, "retry_in", delay.Round(time.Millisecond))
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			continue
		}
		return fmt.Errorf("unable to log in: %w", err)
	}
}
