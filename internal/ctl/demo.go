package ctl

import (
	"context"
	"flag"
	"fmt"

	"kojigo/internal/demo"
	"kojigo/tui"
)

// runDemo is kojictl demo: flags only; internal/demo does the work.
func runDemo(ctx context.Context, env *Env, args []string) error {
	o, err := parseDemoArgs(env, args)
	if err != nil {
		return err
	}
	return demo.Run(ctx, o)
}

// parseDemoArgs turns kojictl demo's arguments into demo.Options.
func parseDemoArgs(env *Env, args []string) (demo.Options, error) {
	fs := newFlags(env, "demo")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `usage: kojictl demo [--dir DIR] [--builders N] [--listen ADDR] [--no-tui]

Runs a whole kojigo farm on this machine: kojihub (SQLite, TLS on loopback)
and N kojid builders as child processes, a tag %q, a build tag %q and a
target %q, and builds three sample packages (two succeed, one fails on
purpose). In a terminal it then opens the console, kojitop, on the farm:
q leaves it and stops every daemon. With --no-tui, or when standard
output is not a terminal, it prints a plain report instead and runs until
Ctrl-C. Everything lives in DIR: the database, certificates, configs,
logs (DIR/logs) and a koji client profile [%s] in DIR/koji.conf.
Running the same command again resumes.
kojihub, kojid and kojira must be next to kojictl or in PATH
(make builds them all into bin/).

flags:
`, demo.Tag, demo.BuildTag, demo.Target, demo.ProfileName)
		fs.PrintDefaults()
	}
	var o demo.Options
	fs.StringVar(&o.Dir, "dir", "", "state `DIR` (default ~/"+demo.DefaultDirName+")")
	fs.IntVar(&o.Builders, "builders", 2, fmt.Sprintf("number of builders, 1 to %d", demo.MaxBuilders))
	fs.StringVar(&o.Listen, "listen", "", "the hub's loopback `ADDR` (default 127.0.0.1 and a free port, the previous run's when free)")
	fs.BoolVar(&o.NoTUI, "no-tui", false, "plain output instead of the console (kojitop); also when standard output is not a terminal")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return o, err
	}
	if len(pos) > 0 {
		return o, usageErr("unexpected argument %q", clean(pos[0]))
	}
	if o.Builders < 1 || o.Builders > demo.MaxBuilders {
		return o, usageErr("--builders: want 1 to %d, got %d", demo.MaxBuilders, o.Builders)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["dir"] && o.Dir == "" {
		return o, usageErr("--dir: empty; leave it out for ~/%s", demo.DefaultDirName)
	}
	if set["listen"] && o.Listen == "" {
		return o, usageErr("--listen: empty; leave it out for a free port on 127.0.0.1")
	}
	if err := demo.CheckOptions(o); err != nil {
		return o, usageErr("%v", err)
	}
	o.Stdout = env.Stdout
	if isTerminal(env.Stdout) {
		o.Console = func(ctx context.Context, configFile string) error {
			return tui.Run(ctx, tui.Options{Profile: demo.ProfileName, ConfigFile: configFile, Stdout: env.Stdout, Getenv: env.Getenv})
		}
	}
	return o, nil
}
