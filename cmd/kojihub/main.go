// Command kojihub serves Koji's XML-RPC API over PostgreSQL or SQLite.
//
//	kojihub [--config /etc/koji-hub/hub.conf] [--listen ADDR] [--db DSN] [--topdir DIR]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
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
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kojihub:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := flag.NewFlagSet("kojihub", flag.ContinueOnError)
	config := fs.String("config", "/etc/koji-hub/hub.conf", "hub.conf to read ([hub] section); a missing default file is fine")
	fs.String("listen", "", "address to listen on (hub.conf Listen)")
	fs.String("db", "", "database DSN (hub.conf DB): postgres://... or sqlite:///absolute/path.db")
	topdir := fs.String("topdir", "", "topdir for task output, packages and repos (hub.conf KojiDir)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *showVersion {
		fmt.Println("kojihub", version.String())
		return nil
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg := hubcore.DefaultFileConfig()
	if *topdir != "" {
		cfg.KojiDir = *topdir
	}
	configSet := false
	fs.Visit(func(f *flag.Flag) { configSet = configSet || f.Name == "config" })
	if _, err := kojiconf.Load(*config, "hub", &cfg, kojiconf.Options{
		Optional: !configSet, Flags: fs, OtherSections: []string{"policy"},
	}); err != nil {
		return err
	}
	log := hubcore.NewLogger(os.Stderr, cfg.LogLevel, cfg.LogFormat).With("component", "kojihub")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return hubcore.RunServer(ctx, hubcore.ServerOptions{Config: cfg, Version: version.String(), Logger: log})
}
