package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"time"

	"kojigo/db"
	"kojigo/internal/doctor"
)

const doctorUsage = `usage: kojictl doctor [--config FILE ...] [--server URL] [-p PROFILE] [--json] [--offline]

Check a kojigo (or Koji) setup and explain every fault in one sentence with
its fix. Without --config, doctor checks the files that exist among
/etc/koji-hub/hub.conf, /etc/kojid/kojid.conf, /etc/kojira/kojira.conf and
the koji client config (/etc/koji.conf, ~/.koji/config).

It checks: each file parses, with no unknown keys and values of the right
type; every certificate and key it names (readable, PEM, key matches,
validity, expiring within 30 days, issuing CA, extended key usage, CN or
SAN); file permissions; disk space against minspace (kojid.conf); the
database (hub.conf); and, unless --offline, the hub: its name resolves, the
TLS handshake succeeds both ways, sslLogin works, logs in as the expected
user, and for a builder that user is a host (while its kojid runs, the hub
keeps the host's session to kojid: doctor reports that as healthy).

A file's kind comes from its name (hub.conf, kojid.conf, kojira.conf) or its
section ([hub], [kojid], [kojira]; anything else is a koji client config);
force it with KIND:FILE, e.g. --config kojid:/srv/builder.ini. In a koji
client config doctor checks the profile named with -p (--profile), else the
config's only profile when it has just one, else [koji], koji's default.

Exit status: 0 all good, 1 warnings, 2 errors.

flags:
`

func runDoctor(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "doctor")
	var configs stringList
	fs.Var(&configs, "config", "config file to check, [KIND:]FILE (repeat)")
	server := fs.String("server", "", "hub URL to check instead of the configs' server (and the name the hub certificate must carry)")
	var profile string
	const profHelp = "`PROFILE` of the koji client config to check, as koji -p (default: the config's only profile, else koji)"
	fs.StringVar(&profile, "p", "", profHelp)
	fs.StringVar(&profile, "profile", "", profHelp)
	asJSON := fs.Bool("json", false, "print the report as JSON (for monitoring)")
	offline := fs.Bool("offline", false, "skip the network checks")
	timeout := fs.Duration("timeout", 10*time.Second, "time limit of each network check")
	noDB := fs.Bool("no-db", false, "skip the database check of hub.conf")
	fs.Usage = func() {
		io.WriteString(env.Stderr, doctorUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageErr("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q; name config files with --config FILE", fs.Arg(0))
	}
	if *timeout <= 0 {
		return usageErr("--timeout %v: want a positive duration", *timeout)
	}
	opts := doctor.Options{
		Server:  *server,
		Profile: profile,
		Home:    env.Getenv("HOME"),
		Offline: *offline,
		Timeout: *timeout,
	}
	if !*noDB {
		opts.DBCheck = checkDatabase
	}
	for _, c := range configs {
		cfg := doctor.Config{Path: c}
		if kind, path, ok := strings.Cut(c, ":"); ok {
			switch doctor.Kind(kind) {
			case doctor.KindHub, doctor.KindKojid, doctor.KindKojira, doctor.KindClient:
				cfg = doctor.Config{Path: path, Kind: doctor.Kind(kind)}
			}
		}
		opts.Configs = append(opts.Configs, cfg)
	}
	rep := doctor.Run(ctx, opts)
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("doctor: %w", err)
		}
	} else {
		printReport(env.Stdout, rep)
	}
	if code := rep.ExitCode(); code != 0 {
		return exitError{code: code}
	}
	return nil
}

func printReport(w io.Writer, rep doctor.Report) {
	for _, f := range rep.Findings {
		fmt.Fprintf(w, "%-7s  %s: %s\n", f.Severity, f.Subject, f.Message)
	}
	e, wn := rep.Count(doctor.Error), rep.Count(doctor.Warning)
	var files []string
	for _, c := range rep.Checked {
		p := c.Path
		if p == "" {
			p = "koji client config"
		}
		files = append(files, p)
	}
	fmt.Fprintf(w, "\n%d error(s), %d warning(s) in %s\n", e, wn, strings.Join(files, ", "))
}

// checkDatabase is doctor's database check: the database exists, answers
// and has the schema this kojigo needs. It never creates or migrates.
func checkDatabase(ctx context.Context, dsn string) error {
	backend, path, err := db.ParseDSN(dsn)
	if err != nil {
		return err
	}
	if backend == db.SQLite {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("the SQLite file %s does not exist; create it with: %s", path, migrateCommand(dsn))
		}
	}
	s, err := db.Open(ctx, dsn, db.Options{MaxConns: 1})
	if err != nil {
		return err
	}
	defer s.Close()
	err = s.CheckSchema(ctx)
	if errors.Is(err, db.ErrSchemaTooOld) {
		// The store's message has a placeholder for the DSN; this one
		// gives the command to type.
		if v, verr := s.SchemaVersion(ctx); verr == nil {
			return fmt.Errorf("the database is at schema version %d, this kojigo needs %d; migrate it with: %s", v, db.LatestVersion(), migrateCommand(dsn))
		}
	}
	return err
}

// migrateCommand is the kojictl migrate command for dsn, ready to type; a
// password in dsn is never printed: PASSWORD stands in for it.
func migrateCommand(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, set := u.User.Password(); set {
			u.User = url.UserPassword(u.User.Username(), "PASSWORD")
			return commandLine("kojictl", nil, "migrate", "--db", u.String()) + " (with the database password in place of PASSWORD)"
		}
	}
	return commandLine("kojictl", nil, "migrate", "--db", dsn)
}
