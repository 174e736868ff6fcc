package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"kojigo/builderd"
	"kojigo/hubcore"
	"kojigo/internal/kojiconf"
	"kojigo/internal/pki"
)

// noEnv makes config loading see the file alone: doctor checks what is
// written, not this shell's KOJI_* variables.
func noEnv() []string { return nil }

// loadFindings turns the result of a kojiconf load into findings: one per
// mistake (file:line as subject), or one OK line.
func (r *runner) loadFindings(path, what string, err error, warnings kojiconf.Errors) bool {
	for _, w := range warnings {
		r.add(Warning, pki.ProblemNone, w.Origin.String(), "%s", configMsg(w))
	}
	if err == nil {
		r.add(OK, pki.ProblemNone, path, "%s parses, every key is known and every value has the right type", what)
		return true
	}
	var es kojiconf.Errors
	var e *kojiconf.Error
	switch {
	case errors.As(err, &es):
		for _, e := range es {
			r.add(Error, pki.ProblemCorrupt, subjectOf(e, path), "%s", configMsg(e))
		}
	case errors.As(err, &e):
		r.add(Error, pki.ProblemCorrupt, subjectOf(e, path), "%s", configMsg(e))
	default:
		r.add(Error, pki.ProblemCorrupt, path, "%s cannot be loaded: %v", what, err)
	}
	return false
}

func subjectOf(e *kojiconf.Error, path string) string {
	if e.Origin.IsDefault() {
		return path
	}
	return e.Origin.String()
}

func configMsg(e *kojiconf.Error) string {
	if e.Key != "" {
		return "key " + e.Key + ": " + e.Msg
	}
	return e.Msg
}

// rawKeys returns the keys of section as written (lower-cased names), so
// that files and certificates are checked even when the file has other
// mistakes.
func rawKeys(path, section string) (map[string]string, bool) {
	out := map[string]string{}
	f, err := kojiconf.ParseFile(path, 0)
	if err != nil {
		return out, false
	}
	if s := f.Section(section); s != nil {
		for _, k := range s.Keys {
			out[strings.ToLower(k.Name)] = k.Value
		}
	}
	return out, true
}

func (r *runner) secretConfig(path string, keys map[string]string, secretKeys ...string) {
	for _, k := range secretKeys {
		if keys[strings.ToLower(k)] != "" {
			for _, f := range pki.CheckPermissions(path, true) {
				f.Message = strings.Replace(f.Message, "private key "+path, path+" (it holds "+k+")", 1)
				r.addAll([]Finding{f})
			}
			return
		}
	}
	r.addAll(pki.CheckPermissions(path, false))
}

func (r *runner) checkHub(ctx context.Context, path string) {
	cfg := hubcore.DefaultFileConfig()
	_, err := kojiconf.Load(path, "hub", &cfg, kojiconf.Options{OtherSections: []string{hubcore.PolicySection}, Environ: noEnv})
	ok := r.loadFindings(path, "hub.conf", err, nil)
	raw, parsed := rawKeys(path, "hub")
	if !parsed {
		return // the syntax errors are reported; checking defaults would mislead
	}
	r.secretConfig(path, raw, "DBPass", "DB")
	r.checkPolicies(path)
	if !ok {
		cfg = hubcore.DefaultFileConfig()
		cfg.TLSCert, cfg.TLSKey, cfg.TLSClientCA = raw["tlscert"], raw["tlskey"], raw["tlsclientca"]
		cfg.DB, cfg.KojiDir = raw["db"], orDefault(raw["kojidir"], cfg.KojiDir)
	}
	name := ""
	if u, err := url.Parse(r.opts.Server); err == nil && r.opts.Server != "" {
		name = u.Hostname()
	}
	switch {
	case cfg.TLSCert == "":
		r.add(OK, pki.ProblemNone, path, "the hub serves plain HTTP (no TLSCert), which it allows only on a loopback address; set TLSCert, TLSKey and TLSClientCA (kojictl certs hub NAME) to serve builders on other machines")
	default:
		fs := pki.CheckFiles(pki.Files{Cert: cfg.TLSCert, Key: cfg.TLSKey, CA: cfg.TLSClientCA}, pki.RoleHub, name, r.now)
		r.addAll(fs)
		if !hasErrors(fs) {
			r.certOK(cfg.TLSCert, pki.RoleHub)
		}
		if cfg.TLSClientCA == "" {
			r.add(Warning, pki.ProblemNoClientCert, path, "TLSClientCA is not set, so no builder or user can log in with a certificate (sslLogin); set it to the CA that issues them (ca.crt from kojictl certs init)")
		} else if !hasErrors(pki.CheckCAFile(cfg.TLSClientCA, r.now)) {
			r.add(OK, pki.ProblemNone, cfg.TLSClientCA, "TLSClientCA holds a valid CA certificate")
		}
	}
	if cfg.KojiDir != "" {
		r.checkDir(path, "KojiDir", cfg.KojiDir, true)
	}
	if r.opts.DBCheck != nil {
		dsn := cfg.DSN()
		if dsn == "" || cfg.DB == "" && cfg.DBName == "" {
			r.add(Error, pki.ProblemMissing, path, "no database is configured; set DB = sqlite:///var/lib/kojihub/koji.db or a postgres:// DSN")
		} else {
			dctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
			err := r.opts.DBCheck(dctx, dsn)
			cancel()
			if err != nil {
				r.add(Error, pki.ProblemUnreachable, path, "database %s: %v", redactDSN(dsn), err)
			} else {
				r.add(OK, pki.ProblemNone, path, "database %s is reachable and its schema is current", redactDSN(dsn))
			}
		}
	}
	if r.opts.Server != "" && cfg.TLSCert != "" && !r.opts.Offline {
		r.hubServesCert(ctx, path, r.opts.Server, cfg.TLSCert)
	}
}

func (r *runner) checkKojid(ctx context.Context, path string) {
	cfg, warnings, err := builderd.LoadConfig(path, kojiconf.Options{Environ: noEnv})
	ok := r.loadFindings(path, "kojid.conf", err, warnings)
	raw, parsed := rawKeys(path, "kojid")
	if !parsed {
		return // the syntax errors are reported; checking defaults would mislead
	}
	r.secretConfig(path, raw, "password")
	if !ok {
		cfg = builderd.DefaultConfig()
		for k, dst := range map[string]*string{"server": &cfg.Server, "cert": &cfg.Cert, "serverca": &cfg.ServerCA, "user": &cfg.User, "workdir": &cfg.WorkDir, "mockdir": &cfg.MockDir, "topdir": &cfg.TopDir, "hostname": &cfg.HostName} {
			if v, ok := raw[k]; ok {
				*dst = v
			}
		}
		if v, ok := raw["minspace"]; ok {
			if n, err := kojiconf.ParseByteSize(v, kojiconf.MiB); err == nil {
				cfg.MinSpace = n
			}
		}
	}
	// The hub knows a builder by the CN of its certificate.
	name, explicit := raw["hostname"], true
	if name == "" {
		explicit = false
		name, _ = r.opts.Hostname()
	}
	useCert := cfg.Cert != ""
	if _, err := os.Stat(cfg.Cert); errors.Is(err, os.ErrNotExist) && cfg.User != "" {
		useCert = false // Koji's kojid logs in with the password when cert is absent
		r.add(OK, pki.ProblemNone, path, "cert %s does not exist, so kojid logs in as %q with its password", cfg.Cert, cfg.User)
	}
	if useCert {
		r.checkClientCert(path, cfg.Cert, cfg.ServerCA, pki.RoleHost, name, explicit)
	}
	minspace := uint64(cfg.MinSpace)
	r.checkDisk(path, "workdir", cfg.WorkDir, minspace, true)
	r.checkDisk(path, "mockdir", cfg.MockDir, minspace, false)
	if _, set := raw["topdir"]; set && cfg.TopDir != "" {
		r.checkDisk(path, "topdir", cfg.TopDir, 0, false)
	}
	if !r.opts.Offline && cfg.Server != "" {
		nc := netCheck{subject: path, server: orDefault(r.opts.Server, cfg.Server), serverCA: cfg.ServerCA, role: pki.RoleHost}
		if useCert {
			nc.cert, nc.expect, nc.expectExplicit = cfg.Cert, name, explicit
		}
		r.checkNetwork(ctx, nc)
	}
}

// kojiraConfig lists the keys Koji's kojira reads (util/kojira
// get_options), until kojigo's kojira has its own config type.
type kojiraConfig struct {
	Server                 string        `ini:"server"`
	TopDir                 string        `ini:"topdir"`
	User                   string        `ini:"user"`
	Password               string        `ini:"password"`
	Principal              string        `ini:"principal"`
	Keytab                 string        `ini:"keytab"`
	CCache                 string        `ini:"ccache"`
	KrbService             string        `ini:"krbservice"`
	KrbServerRealm         string        `ini:"krb_server_realm"`
	Cert                   string        `ini:"cert"`
	ServerCA               string        `ini:"serverca"`
	LogFile                string        `ini:"logfile"`
	Verbose                bool          `ini:"verbose"`
	Debug                  bool          `ini:"debug"`
	IgnoreStrayRepos       bool          `ini:"ignore_stray_repos"`
	OfflineRetry           bool          `ini:"offline_retry"`
	NoSSLVerify            bool          `ini:"no_ssl_verify"`
	CheckExternalRepos     bool          `ini:"check_external_repos"`
	IgnoreOtherVolumes     bool          `ini:"ignore_other_volumes"`
	RetryInterval          int           `ini:"retry_interval"`
	MaxRetries             int           `ini:"max_retries"`
	OfflineRetryInterval   int           `ini:"offline_retry_interval"`
	MaxDeleteProcesses     int           `ini:"max_delete_processes"`
	DistRepoLifetime       time.Duration `ini:"dist_repo_lifetime"`
	SleepTime              time.Duration `ini:"sleeptime"`
	ExpiredRepoLifetime    time.Duration `ini:"expired_repo_lifetime"`
	DeletedRepoLifetime    time.Duration `ini:"deleted_repo_lifetime"`
	RepoLifetime           time.Duration `ini:"repo_lifetime"`
	ReferenceRecheckPeriod time.Duration `ini:"reference_recheck_period"`
	InitTimeout            time.Duration `ini:"init_timeout"`
	// Legacy keys Koji accepts with a deprecation warning.
	DeleteBatchSize     string `ini:"delete_batch_size"`
	DebuginfoTags       string `ini:"debuginfo_tags"`
	IgnoreTags          string `ini:"ignore_tags"`
	MaxRepoTasks        string `ini:"max_repo_tasks"`
	MaxRepoTasksMaven   string `ini:"max_repo_tasks_maven"`
	NoRepoEffectiveAge  string `ini:"no_repo_effective_age"`
	QueueFile           string `ini:"queue_file"`
	RecentTasksLifetime string `ini:"recent_tasks_lifetime"`
	RepoTasksLimit      string `ini:"repo_tasks_limit"`
	SourceTags          string `ini:"source_tags"`
	SeparateSourceTags  string `ini:"separate_source_tags"`
	WithSrc             string `ini:"with_src"`
}

func (r *runner) checkKojira(ctx context.Context, path string) {
	cfg := kojiraConfig{Cert: "/etc/kojira/client.crt", ServerCA: "/etc/kojira/serverca.crt", TopDir: "/mnt/koji"}
	_, err := kojiconf.Load(path, "kojira", &cfg, kojiconf.Options{Environ: noEnv})
	ok := r.loadFindings(path, "kojira.conf", err, nil)
	raw, parsed := rawKeys(path, "kojira")
	if !parsed {
		return // the syntax errors are reported; checking defaults would mislead
	}
	r.secretConfig(path, raw, "password")
	if !ok {
		cfg.Server, cfg.Cert, cfg.ServerCA, cfg.User = raw["server"], orDefault(raw["cert"], cfg.Cert), orDefault(raw["serverca"], cfg.ServerCA), raw["user"]
	}
	useCert := true
	if _, err := os.Stat(cfg.Cert); errors.Is(err, os.ErrNotExist) {
		if _, set := raw["cert"]; !set || cfg.User != "" {
			useCert = false // Koji's kojira uses cert only when the file exists
		}
	}
	if useCert {
		r.checkClientCert(path, cfg.Cert, cfg.ServerCA, pki.RoleKojira, "", false)
	}
	if cfg.Server == "" {
		r.add(Error, pki.ProblemMissing, path, "server is not set; set server = https://HUB/kojihub in [kojira]")
		return
	}
	if !r.opts.Offline {
		nc := netCheck{subject: path, server: orDefault(r.opts.Server, cfg.Server), serverCA: cfg.ServerCA, role: pki.RoleKojira, wantPerm: "repo"}
		if useCert {
			nc.cert = cfg.Cert
		}
		r.checkNetwork(ctx, nc)
	}
}

func (r *runner) checkClient(ctx context.Context, path string) {
	opts := kojiconf.ClientOptions{ConfigFile: path, Home: r.opts.Home, SysConfDir: r.opts.SysConfDir, Environ: noEnv}
	subject := path
	if subject == "" {
		subject = "~/.koji/config"
	}
	profile, ok := r.pickProfile(subject, path, opts)
	if !ok {
		return
	}
	p, err := kojiconf.LoadClientProfile(profile, opts)
	what := fmt.Sprintf("koji client profile [%s]", profile)
	var warnings kojiconf.Errors
	if p != nil {
		warnings = p.Warnings
	}
	if !r.loadFindings(subject, what, err, warnings) {
		return
	}
	for _, f := range p.Files {
		raw, _ := rawKeys(f, profile)
		r.secretConfig(f, raw, "password")
	}
	auth := p.EffectiveAuthType()
	ssl := auth == "ssl"
	if ssl {
		r.checkClientCert(subject, p.Cert, p.ServerCA, pki.RoleUser, "", false)
	} else {
		r.add(OK, pki.ProblemNone, subject, "profile [%s] authenticates with %s, not a certificate", p.Profile, auth)
	}
	if !r.opts.Offline {
		nc := netCheck{subject: subject, server: orDefault(r.opts.Server, p.Server), serverCA: p.ServerCA, role: pki.RoleUser}
		if ssl {
			nc.cert = p.Cert
		}
		r.checkNetwork(ctx, nc)
	}
}

// pickProfile returns the client profile to check: Options.Profile when
// set; else the only profile of the named config (path; for "", of every
// file the koji CLI reads), else "koji", the koji CLI's default. A profile
// that no file has is reported, with the profiles there are, and ok is false.
func (r *runner) pickProfile(subject, path string, opts kojiconf.ClientOptions) (profile string, ok bool) {
	profile = r.opts.Profile
	files, err := kojiconf.ClientFiles(opts)
	all, parsed := profilesIn(files)
	if err != nil || !parsed {
		// Loading the profile reports why the files cannot be read.
		return orDefault(profile, "koji"), true
	}
	own := all
	where := subject
	if path == "" {
		where = strings.Join(files, ", ")
		if where == "" {
			where = "the koji client config"
		}
	} else {
		own, _ = profilesIn(namedFiles(files, path, r.opts.Home))
	}
	if profile == "" {
		profile = "koji"
		if len(own) == 1 {
			profile = own[0]
			r.add(OK, pki.ProblemNone, subject, "no profile was named with -p, so doctor checks [%s], the only profile in %s; koji and kojictl use it when given -p %s", profile, where, profile)
		}
	}
	if slices.Contains(all, profile) {
		return profile, true
	}
	switch {
	case len(own) == 0:
		r.add(Error, pki.ProblemMissing, subject, "there is no profile [%s] in %s, which has no profile section at all; add a [%s] section with server = https://HUB/kojihub, or name the config that has the profile", profile, where, profile)
	default:
		names := make([]string, len(own))
		for i, n := range own {
			names[i] = "[" + n + "]"
		}
		r.add(Error, pki.ProblemMissing, subject, "there is no profile [%s] in %s, whose profiles are %s; check one of them with -p NAME (for example -p %s)", profile, where, strings.Join(names, ", "), own[0])
	}
	return "", false
}

// profilesIn returns the profile sections of files, sorted, without
// [DEFAULT]; ok is false when a file does not parse.
func profilesIn(files []string) (names []string, ok bool) {
	for _, f := range files {
		pf, err := kojiconf.ParseFile(f, 0)
		if err != nil {
			return nil, false
		}
		for _, s := range pf.Sections {
			if s.Name != kojiconf.DefaultSection && !slices.Contains(names, s.Name) {
				names = append(names, s.Name)
			}
		}
	}
	slices.Sort(names)
	return names, true
}

// namedFiles returns the files of ClientFiles that come from the named
// config path: the file itself, or the *.conf files of the directory.
func namedFiles(files []string, path, home string) []string {
	if rest, ok := strings.CutPrefix(path, "~/"); ok && home != "" {
		path = filepath.Join(home, rest) // as the koji CLI expands it
	}
	path = filepath.Clean(path)
	var out []string
	for _, f := range files {
		if filepath.Clean(f) == path || filepath.Dir(f) == path {
			out = append(out, f)
		}
	}
	return out
}

// checkClientCert checks a client's cert (Koji's one file with key) and
// serverca; name is the CN it must have, when known.
func (r *runner) checkClientCert(subject, cert, serverCA string, role pki.Role, name string, nameExplicit bool) {
	if cert == "" {
		r.add(Error, pki.ProblemNoClientCert, subject, "no client certificate is configured (cert is empty), so sslLogin cannot work; set cert to the NAME.pem written by kojictl certs %s NAME", role)
		return
	}
	fs := pki.CheckFiles(pki.Files{Cert: cert, CA: serverCA}, role, name, r.now)
	if !nameExplicit {
		// The expected name is only this machine's host name: say so, and
		// leave the verdict to the login check.
		for i := range fs {
			if fs[i].Problem == pki.ProblemNameMismatch {
				fs[i].Severity = Warning
				fs[i].Message += fmt.Sprintf(" (the expected name is this machine's host name; set hostname = in %s if the builder is registered under another)", subject)
			}
		}
	}
	r.addAll(fs)
	if serverCA == "" {
		r.add(Warning, pki.ProblemWrongServerCA, subject, "serverca is not set, so the hub's certificate is checked against the system CA store; set serverca to the CA that issued it (ca.crt from kojictl certs)")
	} else if !hasErrors(fs) {
		r.add(OK, pki.ProblemNone, serverCA, "serverca holds a valid CA certificate")
	}
	if !hasErrors(fs) {
		r.certOK(cert, role)
	}
}

func (r *runner) certOK(path string, role pki.Role) {
	b, err := pki.ReadBundle(path, "certificate")
	if err != nil || len(b.Certs) == 0 {
		return
	}
	c := b.Certs[0]
	r.add(OK, pki.ProblemNone, path, "%s certificate CN=%s, issued by %q, is valid until %s", role, c.Subject.CommonName, c.Issuer.CommonName, c.NotAfter.UTC().Format("2006-01-02"))
}

func (r *runner) checkDir(subject, key, dir string, required bool) bool {
	fi, err := os.Stat(dir)
	switch {
	case err == nil && fi.IsDir():
		return true
	case err == nil:
		r.add(Error, pki.ProblemNotAFile, subject, "%s %s is not a directory; point %s at a directory", key, dir, key)
	case errors.Is(err, os.ErrNotExist) && !required:
		r.add(Warning, pki.ProblemMissing, subject, "%s %s does not exist; create it, or ignore this if the feature that uses it is off", key, dir)
	case errors.Is(err, os.ErrNotExist):
		r.add(Error, pki.ProblemMissing, subject, "%s %s does not exist; create it, owned by the user the daemon runs as", key, dir)
	default:
		r.add(Error, pki.ProblemUnreadable, subject, "%s %s cannot be examined: %v; fix its permissions", key, dir, err)
	}
	return false
}

// checkDisk compares the free space of dir's filesystem with minspace.
func (r *runner) checkDisk(subject, key, dir string, minspace uint64, required bool) {
	if dir == "" || !r.checkDir(subject, key, dir, required) {
		return
	}
	free, total, err := r.opts.DiskFree(dir)
	if err != nil {
		r.add(Error, pki.ProblemUnreadable, subject, "%s %s: cannot measure free space: %v", key, dir, err)
		return
	}
	switch {
	case minspace > 0 && free < minspace:
		r.add(Error, pki.ProblemNone, subject, "%s %s has %s free of %s, below minspace %s, so this builder takes no task; free space there or lower minspace", key, filepath.Clean(dir), humanBytes(free), humanBytes(total), humanBytes(minspace))
	case minspace > 0 && free < 2*minspace:
		r.add(Warning, pki.ProblemNone, subject, "%s %s has %s free of %s, less than twice minspace %s; free space there before builds fill it", key, filepath.Clean(dir), humanBytes(free), humanBytes(total), humanBytes(minspace))
	default:
		r.add(OK, pki.ProblemNone, subject, "%s %s has %s free of %s (minspace %s)", key, filepath.Clean(dir), humanBytes(free), humanBytes(total), humanBytes(minspace))
	}
}

func hasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == Error {
			return true
		}
	}
	return false
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// redactDSN hides a password in a DSN.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, set := u.User.Password(); set {
		u.User = url.UserPassword(u.User.Username(), "xxx")
	}
	return u.String()
}
