package kojiconf

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ClientProfile is one profile of the koji client configuration: the
// [profile] section merged over every file the koji CLI reads. Field
// defaults are Koji's (koji.read_config). Paths in cert, serverca and topdir
// have "~" expanded; plugin_paths is left as written (colon-separated).
type ClientProfile struct {
	Profile string // the section name

	Server               string        `ini:"server" help:"URL of the hub's XML-RPC endpoint"`
	WebURL               string        `ini:"weburl" help:"URL of the web interface"`
	TopURL               string        `ini:"topurl" help:"URL of the hub's file tree (topdir served over HTTP)"`
	PkgURL               string        `ini:"pkgurl" help:"obsolete: use topurl"`
	TopDir               string        `ini:"topdir" help:"local mount of the hub's file tree"`
	MaxRetries           int           `ini:"max_retries" help:"retries of a failed call"`
	RetryInterval        time.Duration `ini:"retry_interval" help:"wait between retries"`
	AnonRetry            bool          `ini:"anon_retry" help:"retry calls made without a session"`
	OfflineRetry         bool          `ini:"offline_retry" help:"retry while the hub reports it is offline"`
	OfflineRetryInterval time.Duration `ini:"offline_retry_interval" help:"wait between retries while the hub is offline"`
	Timeout              time.Duration `ini:"timeout" help:"timeout of one XML-RPC request"`
	AuthTimeout          time.Duration `ini:"auth_timeout" help:"timeout of the login request"`
	UseFastUpload        bool          `ini:"use_fast_upload" help:"upload with rawUpload instead of XML-RPC base64"`
	UploadBlockSize      ByteSize      `ini:"upload_blocksize" help:"size of one upload chunk"`
	PollInterval         time.Duration `ini:"poll_interval" help:"wait between polls when watching tasks"`
	Principal            string        `ini:"principal" help:"Kerberos principal for automated clients"`
	Keytab               string        `ini:"keytab" help:"Kerberos keytab for automated clients"`
	KrbService           string        `ini:"krbservice" help:"Kerberos service name of the hub"`
	KrbRDNS              bool          `ini:"krb_rdns" help:"use reverse DNS for the Kerberos host name"`
	KrbCanonHost         bool          `ini:"krb_canon_host" help:"use the canonical DNS host name for Kerberos"`
	KrbServerRealm       string        `ini:"krb_server_realm" help:"Kerberos realm of the hub"`
	Cert                 string        `ini:"cert" help:"client certificate and key (PEM) for authtype ssl"`
	ServerCA             string        `ini:"serverca" help:"CA certificate that issued the hub's HTTPS certificate"`
	NoSSLVerify          bool          `ini:"no_ssl_verify" help:"do not verify the hub's certificate (when serverca is empty)"`
	AuthType             string        `ini:"authtype" help:"ssl, password, kerberos or noauth; empty picks from what is configured"`
	User                 string        `ini:"user" help:"user name for authtype password (kojigo; stock koji takes it only from --user)"`
	Password             string        `ini:"password" help:"password for authtype password (kojigo; stock koji takes it only from --password)"`
	Debug                bool          `ini:"debug" help:"show debug output"`
	DebugXMLRPC          bool          `ini:"debug_xmlrpc" help:"show XML-RPC traffic"`
	PluginPaths          string        `ini:"plugin_paths" help:"colon-separated directories of CLI plugins"`
	PyVer                int           `ini:"pyver" help:"ignored (python version of the stock CLI)"`
	CA                   string        `ini:"ca" help:"obsolete, ignored"`

	// Origins tells where each key was set: file and line, environment or flag.
	Origins Origins
	// Files lists the files read, in order; later files override earlier ones.
	Files []string
	// Warnings lists mistakes that stock koji tolerates: unknown keys in the
	// profile (with a suggestion), obsolete keys, values koji reads differently.
	Warnings Errors
}

// authTypes are the authtype values the koji CLI accepts (koji_cli.lib.activate_session).
var authTypes = []string{"noauth", "ssl", "password", "kerberos"}

// DefaultClientProfile is the profile the koji CLI uses when no file sets
// anything: its built-in defaults (server http://localhost/kojihub,
// max_retries 30, retry_interval 20 s, ...).
func DefaultClientProfile(profile string) *ClientProfile {
	return &ClientProfile{
		Profile:              profile,
		Server:               "http://localhost/kojihub",
		WebURL:               "http://localhost/koji",
		TopDir:               "/mnt/koji",
		MaxRetries:           30,
		RetryInterval:        20 * time.Second,
		OfflineRetryInterval: 20 * time.Second,
		Timeout:              12 * time.Hour,
		AuthTimeout:          60 * time.Second,
		UploadBlockSize:      MiB,
		PollInterval:         6 * time.Second,
		KrbService:           "host",
		KrbRDNS:              true,
	}
}

// ClientOptions control LoadClientProfile. The zero value reads the files
// the koji CLI reads, with $HOME from the process environment.
type ClientOptions struct {
	// ConfigFile is the koji CLI's -c/--config: a file, or a directory of
	// *.conf files, read instead of ~/.koji/config.d and ~/.koji/config.
	// It must exist. A leading "~" is expanded.
	ConfigFile string
	// Home is the home directory for "~" and ~/.koji; when empty, HOME from
	// Environ, then the user database.
	Home string
	// SysConfDir holds koji.conf and koji.conf.d; "/etc" when empty.
	SysConfDir string
	// MaxSize is the largest file accepted, in bytes; DefaultMaxSize when <= 0.
	MaxSize int64
	// Environ returns the environment as "KEY=value" strings; os.Environ when
	// nil. KOJI_CLIENT_<KEY> variables (KOJI_CLIENT_SERVER) override the files.
	Environ func() []string
	// Flags, when set and already parsed, override files and environment as
	// in Options.Flags (--server, --cert, --plugin-paths, ...).
	Flags *flag.FlagSet
}

// ClientEnvPrefix is the prefix of environment overrides of client profiles.
const ClientEnvPrefix = "KOJI_CLIENT_"

// ClientFiles returns the files the koji CLI reads, in the order it reads
// them, later ones overriding earlier ones: sysconfdir/koji.conf.d/*.conf,
// sysconfdir/koji.conf, then either ConfigFile or ~/.koji/config.d/*.conf and
// ~/.koji/config. Missing optional files are left out.
func ClientFiles(opts ClientOptions) ([]string, error) {
	sys := opts.SysConfDir
	if sys == "" {
		sys = "/etc"
	}
	home := clientHome(opts)
	var files []string
	add := func(path string, strict bool) error {
		fi, err := os.Stat(path)
		switch {
		case err != nil && !strict && errors.Is(err, fs.ErrNotExist):
			return nil
		case err != nil:
			return fmt.Errorf("config file %s can't be opened: %w", path, err)
		case fi.IsDir():
			names, err := confDir(path, strict)
			if err != nil {
				return err
			}
			if strict && len(names) == 0 {
				return fmt.Errorf("no config files (*.conf) found in directory %s", path)
			}
			files = append(files, names...)
		default:
			files = append(files, path)
		}
		return nil
	}
	if err := add(filepath.Join(sys, "koji.conf.d"), false); err != nil {
		return nil, err
	}
	if err := add(filepath.Join(sys, "koji.conf"), false); err != nil {
		return nil, err
	}
	if opts.ConfigFile != "" {
		p, err := expandUser(opts.ConfigFile, home)
		if err != nil {
			return nil, err
		}
		if err := add(p, true); err != nil {
			return nil, err
		}
		return files, nil
	}
	if home == "" {
		return files, nil
	}
	if err := add(filepath.Join(home, ".koji", "config.d"), false); err != nil {
		return nil, err
	}
	if err := add(filepath.Join(home, ".koji", "config"), false); err != nil {
		return nil, err
	}
	return files, nil
}

// confDir lists the *.conf regular files of dir in name order, as Koji's
// config_directory_contents does.
func confDir(dir string, strict bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read config directory: %w", err)
	}
	var out []string
	for _, e := range entries { // ReadDir sorts by name
		if !strings.HasSuffix(e.Name(), ".conf") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		fi, err := os.Stat(p)
		if err == nil && fi.Mode().IsRegular() {
			out = append(out, p)
		} else if strict {
			return nil, fmt.Errorf("config file %s can't be opened", p)
		}
	}
	return out, nil
}

func clientHome(opts ClientOptions) string {
	if opts.Home != "" {
		return opts.Home
	}
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ
	}
	for _, kv := range environ() {
		if v, ok := strings.CutPrefix(kv, "HOME="); ok && v != "" {
			return v
		}
	}
	if u, err := user.Current(); err == nil {
		return u.HomeDir
	}
	return ""
}

// expandUser expands a leading "~" or "~user" like Python's os.path.expanduser.
func expandUser(p, home string) (string, error) {
	if !strings.HasPrefix(p, "~") {
		return p, nil
	}
	name, rest, _ := strings.Cut(p[1:], "/")
	dir := home
	if name != "" {
		u, err := user.Lookup(name)
		if err != nil {
			return "", fmt.Errorf("expand %s: %w", p, err)
		}
		dir = u.HomeDir
	}
	if dir == "" {
		return "", fmt.Errorf("expand %s: no home directory", p)
	}
	return filepath.Join(dir, rest), nil
}

// LoadClientProfile reads the named profile ("koji" when empty) the way the
// koji CLI does: every file of ClientFiles, later files overriding earlier
// keys, [DEFAULT] keys applying to every profile, %(key)s interpolation as in
// Python's ConfigParser; then KOJI_CLIENT_* environment and flags.
//
// Syntax errors in any file, values of the wrong type in the profile, a bad
// authtype or server URL are errors naming file and line. Unknown keys in the
// profile are only warnings (ClientProfile.Warnings), since these files are
// shared with the stock koji CLI and its plugins, which ignore them.
func LoadClientProfile(profile string, opts ClientOptions) (*ClientProfile, error) {
	if profile == "" {
		profile = "koji"
	}
	if profile == DefaultSection {
		return nil, fmt.Errorf("load koji profile: %s is not a profile name", DefaultSection)
	}
	home := clientHome(opts)
	files, err := ClientFiles(opts)
	if err != nil {
		return nil, fmt.Errorf("load koji profile %s: %w", profile, err)
	}
	p := DefaultClientProfile(profile)
	fields, err := structFields(p)
	if err != nil {
		return nil, err
	}
	b := newBinder(fields)

	// Merge the files: later files override keys of earlier ones; [DEFAULT]
	// keys fill in what the profile does not set, whichever file they are in.
	type entry struct {
		name, value string
		origin      Origin
	}
	sect, defs := map[string]entry{}, map[string]entry{}
	var errs Errors
	found := false
	profiles := map[string]bool{}
	for _, path := range files {
		f, err := ParseFile(path, opts.MaxSize)
		var es Errors
		if errors.As(err, &es) {
			errs = append(errs, es...)
			continue
		} else if err != nil {
			errs = append(errs, &Error{Origin: Origin{File: path}, Msg: err.Error()})
			continue
		}
		for _, s := range f.Sections {
			profiles[s.Name] = true
			var into map[string]entry
			switch s.Name {
			case profile:
				found, into = true, sect
			case DefaultSection:
				into = defs
			default:
				continue
			}
			for _, k := range s.Keys {
				into[strings.ToLower(k.Name)] = entry{k.Name, k.Value, Origin{File: path, Line: k.Line}}
			}
		}
	}
	if len(errs) > 0 {
		errs.sort()
		return nil, errs
	}
	if !found {
		delete(profiles, DefaultSection)
		var names []string
		for n := range profiles {
			names = append(names, n)
		}
		sort.Strings(names)
		msg := fmt.Sprintf("no configuration for profile name: %s", profile)
		if hint := suggest(profile, names); hint != "" {
			msg += didYouMean(hint)
		} else if len(names) > 0 {
			msg += "; profiles found: " + strings.Join(names, ", ")
		}
		if len(files) == 0 {
			msg += " (no config files found)"
		} else {
			msg += " (read " + strings.Join(files, ", ") + ")"
		}
		return nil, errors.New(msg)
	}
	merged := map[string]entry{}
	for k, e := range defs {
		merged[k] = e
	}
	for k, e := range sect {
		merged[k] = e
	}
	values := map[string]string{}
	for k, e := range merged {
		values[k] = e.value
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { // file order, so errors read top to bottom
		a, c := merged[keys[i]].origin, merged[keys[j]].origin
		if a.File != c.File {
			return a.File < c.File
		}
		return a.Line < c.Line
	})
	for _, k := range keys {
		e := merged[k]
		v, err := interpolate(e.value, values, 0)
		if err != nil {
			errs = append(errs, &Error{Origin: e.origin, Key: e.name, Msg: err.Error()})
			continue
		}
		b.set(e.name, v, e.origin, b.unknownIsWarning)
	}
	if len(errs) > 0 {
		errs.sort()
		return nil, errs
	}
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ
	}
	b.applyEnv(ClientEnvPrefix, environ())
	b.applyFlags(opts.Flags)
	if err := b.finish(p); err != nil {
		return nil, err
	}
	p.Origins, p.Files, p.Warnings = b.origins, files, b.warns
	if err := p.check(home, b); err != nil {
		return nil, err
	}
	p.Warnings.sort()
	return p, nil
}

// check validates the merged profile and applies the CLI's path handling.
func (p *ClientProfile) check(home string, b *binder) error {
	var errs Errors
	at := func(key string) Origin { return p.Origins[key] }
	if p.AuthType != "" && !contains(authTypes, p.AuthType) {
		errs = append(errs, &Error{Origin: at("authtype"), Key: "authtype", Msg: fmt.Sprintf("invalid value %q: want one of %s%s",
			p.AuthType, strings.Join(authTypes, ", "), didYouMean(suggest(p.AuthType, authTypes)))})
	}
	for _, k := range []struct {
		key string
		val string
	}{{"server", p.Server}, {"weburl", p.WebURL}, {"topurl", p.TopURL}} {
		if k.val == "" && k.key != "server" {
			continue
		}
		u, err := url.Parse(k.val)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, &Error{Origin: at(k.key), Key: k.key, Msg: fmt.Sprintf("invalid value %q: want an http:// or https:// URL", clip(k.val))})
		}
	}
	for _, f := range []*string{&p.Cert, &p.ServerCA, &p.TopDir} {
		v, err := expandUser(*f, home)
		if err != nil {
			key := map[*string]string{&p.Cert: "cert", &p.ServerCA: "serverca", &p.TopDir: "topdir"}[f]
			errs = append(errs, &Error{Origin: at(key), Key: key, Msg: err.Error()})
			continue
		}
		*f = v
	}
	if len(errs) > 0 {
		errs.sort()
		return errs
	}
	// Koji uses ~/.koji/client.crt and ~/.koji/serverca.crt when the keys are not set.
	for key, f := range map[string]*string{"cert": &p.Cert, "serverca": &p.ServerCA} {
		if _, set := p.Origins[key]; set || home == "" {
			continue
		}
		name := map[string]string{"cert": "client.crt", "serverca": "serverca.crt"}[key]
		if fn := filepath.Join(home, ".koji", name); fileExists(fn) {
			*f = fn
		}
	}
	warn := func(key, msg string) {
		p.Warnings = append(p.Warnings, &Error{Origin: at(key), Key: key, Msg: msg})
	}
	if o, set := p.Origins["no_ssl_verify"]; set && o.File != "" && !p.NoSSLVerify {
		warn("no_ssl_verify", "stock koji reads this as text, so any non-empty value, even a false one, turns certificate checks off there when serverca is empty; delete the line instead")
	}
	if _, set := p.Origins["ca"]; set {
		warn("ca", "obsolete and ignored: koji no longer uses a client CA setting")
	}
	if p.PkgURL != "" {
		if p.TopURL != "" {
			warn("pkgurl", "obsolete: ignored because topurl is set")
		} else if s := strings.TrimSuffix(strings.TrimSuffix(p.PkgURL, "/"), "/packages"); s != strings.TrimSuffix(p.PkgURL, "/") {
			p.TopURL = s
			warn("pkgurl", fmt.Sprintf("obsolete: using topurl = %s", s))
		} else {
			warn("pkgurl", "obsolete: use topurl instead")
		}
	}
	return nil
}

// EffectiveAuthType is the authentication the koji CLI would use
// (koji_cli.lib.activate_session): authtype when set; otherwise "ssl" when
// the cert file exists, "password" when a user is set, else "kerberos".
func (p *ClientProfile) EffectiveAuthType() string {
	switch {
	case p.AuthType != "":
		return p.AuthType
	case p.Cert != "" && fileExists(p.Cert):
		return "ssl"
	case p.User != "":
		return "password"
	}
	return "kerberos"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// interpolate applies configparser's BasicInterpolation: "%%" is "%" and
// "%(key)s" is the value of key in the same profile (or [DEFAULT]).
func interpolate(v string, values map[string]string, depth int) (string, error) {
	if !strings.Contains(v, "%") {
		return v, nil
	}
	if depth > 10 {
		return "", errors.New("interpolation nested too deeply (a %(key)s loop?)")
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '%' {
			b.WriteByte(v[i])
			continue
		}
		switch {
		case i+1 < len(v) && v[i+1] == '%':
			b.WriteByte('%')
			i++
		case i+1 < len(v) && v[i+1] == '(':
			end := strings.Index(v[i:], ")s")
			if end < 0 {
				return "", fmt.Errorf("bad interpolation in %q: want %%(key)s", clip(v))
			}
			name := strings.ToLower(v[i+2 : i+end])
			ref, ok := values[name]
			if !ok {
				return "", fmt.Errorf("%%(%s)s refers to a key that is not set", name)
			}
			r, err := interpolate(ref, values, depth+1)
			if err != nil {
				return "", err
			}
			b.WriteString(r)
			i += end + 1
		default:
			return "", fmt.Errorf("lone %%: write %%%% for a literal %% (koji's ConfigParser rejects it too)")
		}
	}
	return b.String(), nil
}
