package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"kojigo/internal/kojiclient"
	"kojigo/internal/kojiconf"
	"kojigo/internal/kojixml"
)

// clientOpts are the options every hub command takes, the koji CLI's global
// options: which profile of ~/.koji/config, which hub, and how to log in.
type clientOpts struct {
	profile  string
	server   string
	config   string
	noauth   bool
	user     string
	password string
}

// addClientFlags registers the profile and connection flags on fs. Commands
// that use --user for something else (list-tasks: the task owner) pass
// withUser false and take the login user from the profile only.
func addClientFlags(fs *flag.FlagSet, o *clientOpts, withUser bool) {
	const profHelp = "`PROFILE` of ~/.koji/config (and /etc/koji.conf) to use, as koji -p"
	fs.StringVar(&o.profile, "p", "koji", profHelp)
	fs.StringVar(&o.profile, "profile", "koji", profHelp)
	fs.StringVar(&o.server, "server", "", "hub `URL`, overriding the profile's server")
	fs.StringVar(&o.config, "config", "", "read this config `FILE` (or directory of *.conf) instead of ~/.koji/config")
	fs.BoolVar(&o.noauth, "noauth", false, "do not log in, even when the profile has credentials")
	if withUser {
		fs.StringVar(&o.user, "user", "", "log in with this user name and --password (authtype password)")
	}
	fs.StringVar(&o.password, "password", "", "password for --user (visible to other local users in ps; prefer the profile)")
}

// again returns the profile and connection flags that were given (-p,
// --config, --server), quoted for a shell, for the commands kojictl prints
// for the user to type: they must reach the same hub as written. The login
// flags are left out: those commands only read, and a password is never
// printed.
func (o *clientOpts) again(fs *flag.FlagSet) []string {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var out []string
	if set["p"] || set["profile"] {
		out = append(out, "-p", shellQuote(o.profile))
	}
	if set["config"] {
		out = append(out, "--config", shellQuote(o.config))
	}
	if set["server"] {
		out = append(out, "--server", shellQuote(o.server))
	}
	return out
}

// commandLine is a kojictl command for the user to type: progname, the
// flags from again, then the command and its arguments.
func commandLine(progname string, again []string, args ...string) string {
	parts := append([]string{progname}, again...)
	for _, a := range args {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it; control
// characters are first made visible with clean.
func shellQuote(s string) string {
	s = clean(s)
	plain := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) || strings.ContainsRune("@%+=:,./_-", r))
	}) < 0
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// parseArgs parses flags and positional arguments in any order, as the koji
// CLI's optparse does ("add-tag f40 --parent f39"). Everything after "--" is
// positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", ErrUsage, err)
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// authMode says whether a command logs in.
type authMode int

const (
	// anonymous commands only read: they never log in (koji's ensure_connection).
	anonymous authMode = iota
	// authenticated commands log in with the profile's credentials (koji's
	// activate_session); --noauth skips it and leaves the hub to refuse.
	authenticated
)

// hubSession is a connection to the hub for one command.
type hubSession struct {
	c    *kojiclient.Client
	prof *kojiconf.ClientProfile
	env  *Env
	loc  *time.Location
}

// connect loads the profile, applies the flags and, for authenticated
// commands, logs in.
func (o *clientOpts) connect(ctx context.Context, env *Env, mode authMode) (*hubSession, error) {
	p, err := o.loadProfile(env)
	if err != nil {
		return nil, err
	}
	c, err := kojiclient.NewFromProfile(p, retryLogger(env.Stderr))
	if err != nil {
		return nil, err
	}
	s := &hubSession{c: c, prof: p, env: env, loc: localZone(env)}
	if mode == authenticated && !o.noauth {
		if err := s.login(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// retryLogger shows the client's warnings (a call failing and being
// retried) on w, so a command waiting on a hub that is down says so instead
// of hanging in silence, as koji's CLI warns on each retry.
func retryLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		}}))
}

// loadProfile reads the profile as the koji CLI does, then applies --server,
// --user and --password.
func (o *clientOpts) loadProfile(env *Env) (*kojiconf.ClientProfile, error) {
	if o.server != "" {
		if err := checkServerURL(o.server); err != nil {
			return nil, usageErr("--server %q: %v", o.server, err)
		}
	}
	opts := kojiconf.ClientOptions{ConfigFile: o.config, Home: env.Getenv("HOME")}
	p, err := kojiconf.LoadClientProfile(o.profile, opts)
	if err != nil {
		var es kojiconf.Errors
		// With --server and no config at all for the default profile, run
		// with the built-in defaults, as koji --server does.
		if o.server == "" || o.profile != "koji" || errors.As(err, &es) || o.config != "" {
			return nil, err
		}
		p = kojiconf.DefaultClientProfile(o.profile)
	}
	if o.server != "" {
		p.Server = o.server
	}
	if p.Server == "" {
		return nil, usageErr("profile %q has no server: set server = https://HUB/kojihub in ~/.koji/config or pass --server URL", p.Profile)
	}
	if o.user != "" {
		p.User = o.user
		p.AuthType = "password"
	}
	if o.password != "" {
		p.Password = o.password
		p.AuthType = "password"
	}
	if o.noauth {
		p.AuthType = "noauth"
	}
	return p, nil
}

func checkServerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("want an http:// or https:// URL")
	}
	if u.Host == "" {
		return errors.New("no host in URL")
	}
	return nil
}

// login authenticates as the profile says (koji's activate_session).
func (s *hubSession) login(ctx context.Context) error {
	p := s.prof
	switch p.EffectiveAuthType() {
	case "noauth":
		return nil
	case "password":
		if p.User == "" {
			return usageErr("authtype password needs a user: pass --user NAME --password PW or set user and password in profile %q", p.Profile)
		}
		if p.Password == "" {
			return usageErr("no password for user %s: pass --password or set password in profile %q", p.User, p.Profile)
		}
	case "ssl":
	case "kerberos":
		return fmt.Errorf("unable to log in: profile %q has no usable credentials (kerberos is not supported): set authtype = ssl and cert = FILE, or pass --user and --password", p.Profile)
	}
	if err := s.c.LoginWithProfile(ctx, p); err != nil {
		return fmt.Errorf("log in to %s: %w", p.Server, err)
	}
	return nil
}

// close logs out when logged in, as the koji CLI does at exit.
func (s *hubSession) close(ctx context.Context) {
	if s == nil || !s.c.LoggedIn() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = s.c.Logout(ctx)
}

func (s *hubSession) call(ctx context.Context, method string, args ...any) (any, error) {
	v, err := s.c.Call(ctx, method, args...)
	var f *kojixml.Fault
	if errors.As(err, &f) {
		return nil, &hubFault{f}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	return v, nil
}

// hubFault is a fault from the hub, printed as the koji CLI prints it:
// "GenericError: message".
type hubFault struct{ f *kojixml.Fault }

func (e *hubFault) Error() string { return clean(faultText(e.f)) }
func (e *hubFault) Unwrap() error { return e.f }

// localZone is the zone for printed times: $TZ from the Env when set (tests
// pin it), else the process's local zone.
func localZone(env *Env) *time.Location {
	if tz := env.Getenv("TZ"); tz != "" {
		if loc, err := time.LoadLocation(strings.TrimPrefix(tz, ":")); err == nil {
			return loc
		}
	}
	return time.Local
}

// isInvalidMethod reports whether err is the hub's answer to a method it does
// not have: Koji's GenericError "Invalid method: NAME" (fault 1000).
func isInvalidMethod(err error, method string) bool {
	var f *kojixml.Fault
	return errors.As(err, &f) && f.Code == kojixml.GenericError && f.String == "Invalid method: "+method
}

// faultClass names a Koji fault code as the koji CLI prints the exception.
func faultClass(code int) string {
	names := map[int]string{
		1000: "GenericError", 1001: "LockError", 1002: "AuthError", 1003: "TagError",
		1004: "ActionNotAllowed", 1005: "BuildError", 1006: "AuthLockError", 1007: "AuthExpired",
		1008: "SequenceError", 1009: "RetryError", 1010: "PreBuildError", 1011: "PostBuildError",
		1012: "BuildrootError", 1013: "FunctionDeprecated", 1014: "ServerOffline",
		1015: "LiveCDError", 1016: "PluginError", 1017: "CallbackError", 1018: "ApplianceError",
		1019: "ParameterError", 1020: "ImportError", 1021: "ConfigurationError",
		1022: "LiveMediaError", 1023: "GSSAPIAuthError", 1024: "NameValidationError",
	}
	if n, ok := names[code]; ok {
		return n
	}
	return "Fault"
}

// faultText is "GenericError: message" for a fault, the error text otherwise.
func faultText(err error) string {
	var f *kojixml.Fault
	if errors.As(err, &f) {
		return faultClass(f.Code) + ": " + strings.TrimSpace(f.String)
	}
	return err.Error()
}

// Reading hub answers: XML-RPC structs decode to map[string]any.

func mstr(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case string:
		return v
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		if v {
			return "True"
		}
		return "False"
	}
	return fmt.Sprint(m[k])
}

func mint(m map[string]any, k string) (int64, bool) {
	switch v := m[k].(type) {
	case int64:
		return v, true
	case float64:
		return int64(v), true
	}
	return 0, false
}

func mfloat(m map[string]any, k string) float64 {
	switch v := m[k].(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	}
	return 0
}

func mbool(m map[string]any, k string) bool {
	switch v := m[k].(type) {
	case bool:
		return v
	case int64:
		return v != 0
	}
	return false
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// asMaps is a list of structs; entries that are not structs are dropped.
func asMaps(v any) []map[string]any {
	var out []map[string]any
	for _, e := range asList(v) {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// clean makes a hub-supplied string safe to print in a table: control
// characters (terminal escapes, newlines) are shown as Go escapes.
func clean(s string) string {
	ok := true
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}

// cleanLines splits a hub-supplied multi-line text (a task's failure, with
// rpmbuild's errors) into lines made safe as clean does, keeping tabs.
func cleanLines(s string) []string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		parts := strings.Split(l, "\t")
		for j, p := range parts {
			parts[j] = clean(p)
		}
		lines[i] = strings.Join(parts, "\t")
	}
	return lines
}

// parseTaskID parses a positive task id.
func parseTaskID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || id > 1<<31-1 {
		return 0, usageErr("%q is not a task id (a positive integer)", clean(s))
	}
	return id, nil
}

// parseArches splits a comma- or space-separated arch list into Koji's
// space-separated form (koji.parse_arches).
func parseArches(s string) (string, error) {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	for _, a := range f {
		if !safeName(a) {
			return "", usageErr("bad arch %q", clean(a))
		}
	}
	return strings.Join(f, " "), nil
}

// safeName is a sanity check for names typed on the command line: no
// control characters, no whitespace, not empty, not absurdly long.
func safeName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == unicode.ReplacementChar {
			return false
		}
	}
	return true
}

// checkNames rejects hostile names before they reach the hub.
func checkNames(what string, names ...string) error {
	for _, n := range names {
		if !safeName(n) {
			return usageErr("bad %s name %q", what, clean(n))
		}
	}
	return nil
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// truncate is koji's truncate_string: at most 47 characters and "...".
func truncate(s string) string {
	r := []rune(s)
	if len(r) > 47 {
		return string(r[:47]) + "..."
	}
	return s
}

// multiCall runs calls in one request and returns the results, or the
// transport error.
func (s *hubSession) multiCall(ctx context.Context, calls []kojiclient.CallSpec) ([]kojiclient.Result, error) {
	res, err := s.c.MultiCall(ctx, calls)
	if err != nil {
		return nil, fmt.Errorf("multiCall: %w", err)
	}
	if len(res) != len(calls) {
		return nil, fmt.Errorf("multiCall: hub answered %d results for %d calls", len(res), len(calls))
	}
	return res, nil
}
