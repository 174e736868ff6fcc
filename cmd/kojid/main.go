// Command kojid is the kojigo builder daemon: it checks in with the hub,
// takes build tasks and runs them with rpmbuild (or mock).
//
//	kojid [-c /etc/kojid/kojid.conf] [--force-lock] [--debug] [--server URL] ...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"syscall"

	"kojigo/builderd"
	"kojigo/internal/version"
)

func main() {
	if err := run(); err != nil {
		if errors.Is(err, builderd.ErrRestart) {
			exe, _ := os.Executable()
			err = syscall.Exec(exe, builderd.RestartArgs(os.Args, err), os.Environ())
		}
		fmt.Fprintln(os.Stderr, "kojid:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := flag.NewFlagSet("kojid", flag.ContinueOnError)
	config := fs.String("c", builderd.DefaultConfigFile, "kojid.conf to read ([kojid] section)")
	fs.StringVar(config, "config", builderd.DefaultConfigFile, "same as -c")
	forceLock := fs.Bool("force-lock", false, "take over the host's session from a kojid that did not stop cleanly")
	debug := fs.Bool("debug", false, "log debug messages")
	jsonLogs := fs.Bool("json", false, "log in JSON")
	showVersion := fs.Bool("version", false, "print the version and exit")
	// kojid.conf keys that are often set on the command line
	fs.String("server", "", "hub URL (kojid.conf server)")
	fs.String("workdir", "", "task work directory (kojid.conf workdir)")
	fs.String("topdir", "", "the hub's topdir when mounted (kojid.conf topdir)")
	fs.String("user", "", "user for password login (kojid.conf user)")
	fs.String("password", "", "password for password login (kojid.conf password)")
	fs.String("cert", "", "host certificate (kojid.conf cert)")
	fs.String("serverca", "", "hub CA (kojid.conf serverca)")
	fs.Int("maxjobs", 0, "most tasks at once (kojid.conf maxjobs)")
	fs.String("minspace", "", "free space to keep, MB or with a unit (kojid.conf minspace)")
	fs.String("sleeptime", "", "poll interval (kojid.conf sleeptime)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *showVersion {
		fmt.Println("kojid", version.String())
		return nil
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	named := false
	fs.Visit(func(f *flag.Flag) { named = named || f.Name == "c" || f.Name == "config" })
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})
	if *jsonLogs {
		h = slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})
	}
	return builderd.Serve(context.Background(), builderd.ServeOptions{
		ConfigFile: *config, ConfigRequired: named, Flags: fs, ForceLock: *forceLock,
		Logger: slog.New(h), Version: version.String(),
	})
}
