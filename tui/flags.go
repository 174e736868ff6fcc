package tui

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// ErrHelp is returned by ParseFlags for -h and --help, after the usage.
var ErrHelp = flag.ErrHelp

// ErrVersion is returned by ParseFlags for --version.
var ErrVersion = errors.New("version requested")

// ParseFlags reads kojitop's command line. Usage and errors go to out.
func ParseFlags(args []string, out io.Writer) (Options, error) {
	return parseFlagsEnv(args, out, os.Getenv)
}

func parseFlagsEnv(args []string, out io.Writer, getenv func(string) string) (Options, error) {
	o := Options{Getenv: getenv}
	fs := flag.NewFlagSet("kojitop", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, `usage: kojitop [-p PROFILE] [-c CONFIG] [--server URL] [--noauth] [--readonly]
               [--refresh DURATION] [--no-color] [--mouse] [--log FILE]
       kojitop --batch [--view hosts|tasks|certs] [--width N] [...]

kojitop is the operator console of a Koji build farm: hosts with their
readiness, disks and memory, the task queue and why tasks wait, live and
failed build logs, certificates and refused logins, and safe actions
(enable or disable hosts, cancel, free or resubmit tasks) confirmed in a
dialog. It reads the same profiles as the koji CLI (~/.koji/config and
/etc/koji.conf) and runs against kojigo's hub and, with fewer columns,
against a stock Koji hub. Press ? inside for the keys.

flags:
`)
		fs.PrintDefaults()
	}
	const profHelp = "`PROFILE` of ~/.koji/config (and /etc/koji.conf), as koji -p"
	fs.StringVar(&o.Profile, "p", "koji", profHelp)
	fs.StringVar(&o.Profile, "profile", "koji", profHelp)
	const confHelp = "read this config `FILE` (or directory of *.conf) instead of ~/.koji/config, as koji -c"
	fs.StringVar(&o.ConfigFile, "c", "", confHelp)
	fs.StringVar(&o.ConfigFile, "config", "", confHelp)
	fs.StringVar(&o.Server, "server", "", "hub `URL`, overriding the profile's server")
	fs.BoolVar(&o.NoAuth, "noauth", false, "do not log in: read anonymously (no actions)")
	fs.BoolVar(&o.ReadOnly, "readonly", false, "offer no actions: enable, disable, cancel, free and resubmit are not bound")
	fs.DurationVar(&o.Refresh, "refresh", 0, "how often to read the farm, at least 1s (default 5s; kojigo's hub also pushes changes within a second)")
	fs.BoolVar(&o.NoColor, "no-color", false, "no colour (also NO_COLOR=anything or TERM=dumb); every state stays a word or glyph")
	fs.BoolVar(&o.Mouse, "mouse", false, "wheel scrolls and click selects (breaks the terminal's text selection)")
	fs.StringVar(&o.LogFile, "log", "", "kojitop's own log `FILE` (default ~/.kojigo/kojitop.log)")
	fs.BoolVar(&o.Batch, "batch", false, "print one frame as text and exit, as top -b -n 1 (for cron mail and scripts)")
	fs.StringVar(&o.BatchView, "view", "", "with --batch: the `VIEW` to print: hosts, tasks or certs (default hosts)")
	fs.IntVar(&o.Width, "width", 0, "with --batch: line width in columns (default $COLUMNS, else 120)")
	version := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if *version {
		return o, ErrVersion
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (see kojitop --help)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if (set["view"] || set["width"]) && !o.Batch {
		return o, fmt.Errorf("--view and --width go with --batch")
	}
	if set["refresh"] && o.Refresh < 1e9 {
		return o, fmt.Errorf("--refresh %s: at least 1s", o.Refresh)
	}
	if (set["p"] || set["profile"]) && strings.TrimSpace(o.Profile) == "" {
		return o, fmt.Errorf("-p: empty profile name")
	}
	if (set["c"] || set["config"]) && o.ConfigFile == "" {
		return o, fmt.Errorf("-c: empty file name")
	}
	if set["server"] && o.Server == "" {
		return o, fmt.Errorf("--server: empty URL")
	}
	if set["log"] && o.LogFile == "" {
		return o, fmt.Errorf("--log: empty file name")
	}
	if err := o.setDefaults(); err != nil {
		return o, err
	}
	return o, nil
}
