package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kojigo/internal/kojiconf"
	"kojigo/internal/pki"
)

// Finding is one checked fact; see pki.Finding.
type Finding = pki.Finding

// Severities of findings.
const (
	OK      = pki.SeverityOK
	Warning = pki.SeverityWarning
	Error   = pki.SeverityError
)

// Kind is the kind of a config file.
type Kind string

// Config kinds.
const (
	KindHub    Kind = "hub"    // hub.conf, section [hub]
	KindKojid  Kind = "kojid"  // kojid.conf, section [kojid]
	KindKojira Kind = "kojira" // kojira.conf, section [kojira]
	KindClient Kind = "client" // koji client config: profiles such as [koji]
)

// Config is one file to check. An empty Kind is guessed from the file name
// and its sections.
type Config struct {
	Path string `json:"path"`
	Kind Kind   `json:"kind"`
}

// DefaultConfigs returns the files looked for when Options.Configs is
// empty, besides the koji client's files: where Koji keeps them.
func DefaultConfigs() []Config {
	return []Config{
		{"/etc/koji-hub/hub.conf", KindHub},
		{"/etc/kojid/kojid.conf", KindKojid},
		{"/etc/kojira/kojira.conf", KindKojira},
	}
}

// Options configure Run. Zero values are the documented defaults.
type Options struct {
	// Configs are the files to check. Empty: DefaultConfigs that exist and
	// the koji client files of Home and SysConfDir.
	Configs []Config
	// Search lists the daemon configs to look for when Configs is empty;
	// DefaultConfigs() when nil.
	Search []Config
	// Server, when set, replaces the server URL of every config for the
	// network checks, and is the host name the hub certificate must carry.
	Server string
	// Profile is the koji client profile to check. Empty: the only profile
	// of a named client config when it has exactly one, else "koji", the
	// koji CLI's default.
	Profile string
	// Home is the home directory for ~/.koji; $HOME when empty.
	Home string
	// SysConfDir holds koji.conf; "/etc" when empty.
	SysConfDir string
	// Offline skips the network checks.
	Offline bool
	// Timeout bounds each network check; 10s when zero.
	Timeout time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Hostname names this machine, the default CN of its builder
	// certificate; os.Hostname when nil.
	Hostname func() (string, error)
	// DBCheck checks that the hub's database is reachable and migrated; the
	// database check is skipped when nil. Its error message is the finding.
	DBCheck func(ctx context.Context, dsn string) error
	// DiskFree returns free and total bytes of the filesystem holding path;
	// statfs when nil.
	DiskFree func(path string) (free, total uint64, err error)
	// Logger receives debug detail; discarded when nil.
	Logger *slog.Logger
}

// Report is what Run found.
type Report struct {
	// Checked lists the config files examined, with their kinds.
	Checked  []Config  `json:"checked"`
	Findings []Finding `json:"findings"`
}

// Worst is the highest severity among the findings.
func (r *Report) Worst() pki.Severity {
	w := OK
	for _, f := range r.Findings {
		w = max(w, f.Severity)
	}
	return w
}

// ExitCode is kojictl doctor's exit status: 0 all good, 1 warnings, 2 errors.
func (r *Report) ExitCode() int { return int(r.Worst()) }

// Count returns how many findings have severity s.
func (r *Report) Count(s pki.Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// MarshalJSON keeps an empty finding list as [] rather than null.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	if r.Checked == nil {
		r.Checked = []Config{}
	}
	return json.Marshal(plain(r))
}

type runner struct {
	opts   Options
	now    time.Time
	report *Report
	log    *slog.Logger
}

func (r *runner) add(s pki.Severity, p pki.Problem, subject, format string, args ...any) {
	r.report.Findings = append(r.report.Findings, Finding{Severity: s, Problem: p, Subject: subject, Message: fmt.Sprintf(format, args...)})
}

func (r *runner) addAll(fs []Finding) { r.report.Findings = append(r.report.Findings, fs...) }

// Run checks every config in opts and returns the report. It never fails:
// what cannot be checked is itself a finding. ctx bounds the network checks.
func Run(ctx context.Context, opts Options) Report {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Hostname == nil {
		opts.Hostname = os.Hostname
	}
	if opts.DiskFree == nil {
		opts.DiskFree = StatfsFree
	}
	if opts.Home == "" {
		opts.Home = os.Getenv("HOME")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &runner{opts: opts, now: opts.Now(), report: &Report{}, log: log.With("component", "doctor")}
	configs := opts.Configs
	if len(configs) == 0 {
		configs = r.discover()
		if len(configs) == 0 {
			r.add(Warning, pki.ProblemMissing, "doctor", "no config file found (looked for %s and the koji client config); name them with --config FILE", strings.Join(r.searchPaths(), ", "))
			return *r.report
		}
	}
	for _, c := range configs {
		if c.Kind == "" {
			k, err := guessKind(c.Path)
			if err != nil {
				r.add(Error, pki.ProblemCorrupt, c.Path, "%s", err.Error())
				continue
			}
			c.Kind = k
		}
		r.report.Checked = append(r.report.Checked, c)
		switch c.Kind {
		case KindHub:
			r.checkHub(ctx, c.Path)
		case KindKojid:
			r.checkKojid(ctx, c.Path)
		case KindKojira:
			r.checkKojira(ctx, c.Path)
		case KindClient:
			r.checkClient(ctx, c.Path)
		default:
			r.add(Error, pki.ProblemWrongType, c.Path, "unknown config kind %q: want hub, kojid, kojira or client", c.Kind)
		}
	}
	return *r.report
}

func (r *runner) search() []Config {
	if r.opts.Search != nil {
		return r.opts.Search
	}
	return DefaultConfigs()
}

func (r *runner) searchPaths() []string {
	var p []string
	for _, c := range r.search() {
		p = append(p, c.Path)
	}
	return p
}

// discover returns the daemon configs that exist, and the client config
// ("" path: the koji client's own file list) when any client file exists.
func (r *runner) discover() []Config {
	var out []Config
	for _, c := range r.search() {
		if _, err := os.Stat(c.Path); err == nil {
			out = append(out, c)
		} else if !errors.Is(err, fs.ErrNotExist) {
			out = append(out, c) // let the check report why it cannot be read
		}
	}
	files, err := kojiconf.ClientFiles(kojiconf.ClientOptions{Home: r.opts.Home, SysConfDir: r.opts.SysConfDir})
	if err == nil && len(files) > 0 {
		out = append(out, Config{Path: "", Kind: KindClient})
	}
	return out
}

// guessKind names a config by its file name, else by its sections.
func guessKind(path string) (Kind, error) {
	switch filepath.Base(path) {
	case "hub.conf":
		return KindHub, nil
	case "kojid.conf":
		return KindKojid, nil
	case "kojira.conf":
		return KindKojira, nil
	case "config", "koji.conf":
		return KindClient, nil
	}
	f, err := kojiconf.ParseFile(path, 0)
	if err != nil {
		return "", fmt.Errorf("cannot read config %s: %v; check the path", path, err)
	}
	for _, k := range []Kind{KindHub, KindKojid, KindKojira} {
		if f.Section(string(k)) != nil {
			return k, nil
		}
	}
	return KindClient, nil
}

// StatfsFree is the default Options.DiskFree: free space for unprivileged
// users and the size of the filesystem holding path.
func StatfsFree(path string) (free, total uint64, err error) {
	return statfs(path)
}

// humanBytes renders n in binary units, as minspace is written.
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
