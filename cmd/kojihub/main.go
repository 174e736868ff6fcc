// Command kojihub serves Koji's XML-RPC API over PostgreSQL or SQLite.
//
//	kojihub [--config /etc/koji-hub/hub.conf] [--listen ADDR] [--db DSN] [--topdir DIR]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"kojigo/hubcore"
	"kojigo/internal/kojiconf"
	"kojigo/internal/version"
)

// gcPercent is kojihub's default GOGC. Its live heap is a few MiB while a
// call allocates some 20 KiB, so with Go's default of 100 it collected every
// ~200 calls, and collections cost a third of a call's CPU; at 400 the heap
// still stays in tens of MiB. GOGC and GOMEMLIMIT in the environment win.
const gcPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Environ, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kojihub:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, environ func() []string, stdout io.Writer) error {
	cfg, err := loadConfig(args, environ, stdout)
	if cfg == nil || err != nil {
		return err
	}
	log := hubcore.NewLogger(os.Stderr, cfg.LogLevel, cfg.LogFormat).With("component", "kojihub")
	return hubcore.RunServer(ctx, hubcore.ServerOptions{Config: *cfg, Version: version.String(), Logger: log})
}

// flagKeys maps the flags whose names differ from the hub.conf key they
// override to that key. The other overriding flags (--listen, --db) are
// named as their keys, which is how kojiconf.Load matches flags to keys.
var flagKeys = map[string]string{"topdir": "KojiDir"}

// loadConfig parses the command line and reads hub.conf: defaults, then the
// file, then KOJI_HUB_* from environ, then the flags, then Validate. It
// returns a nil config with a nil error when there is nothing to serve
// (--help, --version).
func loadConfig(args []string, environ func() []string, stdout io.Writer) (*hubcore.FileConfig, error) {
	fs := flag.NewFlagSet("kojihub", flag.ContinueOnError)
	config := fs.String("config", "/etc/koji-hub/hub.conf", "hub.conf to read ([hub] section); a missing default file is fine")
	fs.String("listen", "", "address to listen on (hub.conf Listen)")
	fs.String("db", "", "database DSN (hub.conf DB): postgres://... or sqlite:///absolute/path.db")
	fs.String("topdir", "", "topdir for task output, packages and repos (hub.conf KojiDir)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil
		}
		return nil, err
	}
	if *showVersion {
		fmt.Fprintln(stdout, "kojihub", version.String())
		return nil, nil
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	// kojiconf.Load applies a flag to the key of the same name. Hand it
	// the set flags under their keys' names, so that --topdir overrides
	// KojiDir from the file and the environment as --listen overrides
	// Listen, and is validated with them.
	keyed := flag.NewFlagSet("kojihub", flag.ContinueOnError)
	configSet := false
	fs.Visit(func(f *flag.Flag) {
		configSet = configSet || f.Name == "config"
		name := f.Name
		if key, ok := flagKeys[name]; ok {
			name = key
		}
		keyed.Var(f.Value, name, f.Usage)
		keyed.Set(name, f.Value.String())
	})
	cfg := hubcore.DefaultFileConfig()
	if _, err := kojiconf.Load(*config, "hub", &cfg, kojiconf.Options{
		Optional: !configSet, Flags: keyed, OtherSections: []string{hubcore.PolicySection}, Environ: environ,
	}); err != nil {
		return nil, flagNames(err)
	}
	// The [policy] section: a policy that does not parse stops the hub,
	// naming file, line and rule.
	policies, err := hubcore.LoadPolicies(*config, !configSet)
	if err != nil {
		return nil, err
	}
	cfg.Policies = policies
	return &cfg, nil
}

// flagNames names the flags in err's messages as the user typed them
// (--topdir, not --KojiDir).
func flagNames(err error) error {
	var es kojiconf.Errors
	if !errors.As(err, &es) {
		return err
	}
	for _, e := range es {
		for flagName, key := range flagKeys {
			if e.Origin.Flag == key {
				e.Origin.Flag = flagName
			}
		}
	}
	return err
}
