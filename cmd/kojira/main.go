// Command kojira is kojigo's repository administrator. Run without a
// subcommand it is the daemon, as Koji's kojira: it drives the hub's repo
// queue, expires and deletes old repos, and cleans topdir/repos (one active
// per farm; others wait as standbys):
//
//	kojira [-c /etc/kojira/kojira.conf] [--force-lock] [--debug] [--server URL] ...
//
// `kojira createrepo DIR` writes repository metadata for a directory of
// RPMs, a drop-in for createrepo_c.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"kojigo/internal/kojiconf"
	"kojigo/internal/version"
	"kojigo/kojira"
	"kojigo/repogen/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return
	}
	fmt.Fprintln(os.Stderr, "kojira:", err)
	var ee *cli.ExitError
	if errors.As(err, &ee) {
		os.Exit(ee.Code)
	}
	os.Exit(1)
}

const usage = `usage: kojira [options]                 the repo daemon (see kojira --help)
       kojira createrepo [options] DIR  write repository metadata for a directory of RPMs
`

func run(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "createrepo":
			cfg, err := cli.Parse(args[1:], os.Stderr)
			if err != nil {
				return err
			}
			return cli.Run(ctx, cfg, os.Stdout, os.Stderr)
		case "--version", "version":
			fmt.Println("kojira", version.String())
			return nil
		case "help":
			fmt.Fprint(os.Stdout, usage)
			return nil
		}
	}
	return daemon(ctx, args, os.Stdout, os.Stderr)
}

// daemon parses Koji's kojira options and runs the daemon.
func daemon(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("kojira", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("c", kojira.DefaultConfigFile, "kojira.conf to read ([kojira] section)")
	fs.StringVar(config, "config", kojira.DefaultConfigFile, "same as -c")
	forceLock := fs.Bool("force-lock", false, "take the exclusive session from another kojira at once (instead of waiting for it to stop or go silent)")
	debug := fs.Bool("debug", false, "log debug messages")
	fs.BoolVar(debug, "d", false, "same as --debug")
	quiet := fs.Bool("quiet", false, "log warnings and errors only")
	fs.BoolVar(quiet, "q", false, "same as --quiet")
	jsonLogs := fs.Bool("json", false, "log in JSON")
	showConfig := fs.Bool("show-config", false, "print the configuration and exit")
	fs.Bool("verbose", false, "accepted for Koji compatibility (kojira logs at info level)")
	fs.Bool("v", false, "same as --verbose")
	fs.Bool("fg", false, "accepted for Koji compatibility (kojira always runs in the foreground)")
	fs.Bool("f", false, "same as --fg")
	// kojira.conf keys that are often set on the command line
	server := fs.String("server", "", "hub URL (kojira.conf server)")
	fs.StringVar(server, "s", "", "same as --server")
	fs.String("topdir", "", "the hub's topdir, mounted here (kojira.conf topdir)")
	fs.String("user", "", "user for password login (kojira.conf user)")
	fs.String("password", "", "password for password login (kojira.conf password)")
	fs.String("sleeptime", "", "seconds between passes (kojira.conf sleeptime)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage+"\nDaemon options:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unknown subcommand %q (%s)", fs.Arg(0), strings.TrimSpace(strings.SplitN(usage, "\n", 2)[0]))
	}
	named := false
	fs.Visit(func(f *flag.Flag) {
		named = named || f.Name == "c" || f.Name == "config"
		if f.Name == "s" {
			fs.Set("server", *server) // so that the server key sees it
		}
	})
	level := new(slog.LevelVar) // info; kojira.conf debug = true lowers it
	switch {
	case *debug:
		level.Set(slog.LevelDebug)
	case *quiet:
		level.Set(slog.LevelWarn)
	}
	if *showConfig {
		cfg, warnings, err := kojira.LoadConfig(*config, kojiconf.Options{Optional: !named, Flags: fs})
		if err != nil {
			return err
		}
		for _, w := range warnings {
			fmt.Fprintln(stderr, "warning:", w)
		}
		keys, err := kojiconf.Keys(&cfg, "kojira")
		if err != nil {
			return err
		}
		for _, k := range keys {
			v := k.Default
			if k.Name == "password" && v != "" {
				v = "(set)"
			}
			fmt.Fprintf(stdout, "%s = %s\n", k.Name, v)
		}
		return nil
	}
	var h slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	if *jsonLogs {
		h = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	}
	return kojira.Serve(ctx, kojira.ServeOptions{
		ConfigFile: *config, ConfigRequired: named, Flags: fs, ForceLock: *forceLock,
		Logger: slog.New(h), Level: level,
	})
}
