package kojira

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"time"

	"kojigo/internal/kojiconf"
)

// Config is kojira's configuration: the [kojira] section of kojira.conf,
// with Koji 1.35's key names and defaults, so an existing kojira.conf keeps
// working. Keys kojigo adds are marked "kojigo" in their help. Keys Koji's
// kojira knows that kojigo does not use are accepted and reported by
// LoadConfig as warnings, never silently; any other key is an error. Use
// DefaultConfig for the defaults; the zero Config is not valid.
type Config struct {
	Server   string `ini:"server" help:"URL of the hub's XML-RPC endpoint"`
	TopDir   string `ini:"topdir" help:"the hub's file tree (shared with the hub): repos are under topdir/repos"`
	Cert     string `ini:"cert" help:"client certificate and key (PEM) for sslLogin; used when the file exists"`
	ServerCA string `ini:"serverca" help:"CA that signed the hub's HTTPS certificate; used when the file exists"`
	User     string `ini:"user" help:"user name for password login (when cert does not exist)"`
	Password string `ini:"password" help:"password for password login"`

	SleepTime              time.Duration `ini:"sleeptime" help:"wait between passes (with ±10% jitter)"`
	RepoLifetime           time.Duration `ini:"repo_lifetime" help:"how long a repo that is no longer current stays READY before it is expired"`
	DistRepoLifetime       time.Duration `ini:"dist_repo_lifetime" help:"how long a dist repo stays READY before it is expired"`
	ExpiredRepoLifetime    time.Duration `ini:"expired_repo_lifetime" help:"how long an expired (or problem) repo is kept before it is deleted; also the age below which unknown directories in topdir/repos are left alone"`
	DeletedRepoLifetime    time.Duration `ini:"deleted_repo_lifetime" help:"old name of expired_repo_lifetime (used when that is not set)"`
	InitTimeout            time.Duration `ini:"init_timeout" help:"a repo still in INIT after this long is marked PROBLEM"`
	ReferenceRecheckPeriod time.Duration `ini:"reference_recheck_period" help:"wait before checking again whether buildroots still use a repo due for deletion"`
	MaxDeleteProcesses     int           `ini:"max_delete_processes" help:"most repo directories removed at once"`
	IgnoreStrayRepos       bool          `ini:"ignore_stray_repos" help:"leave directories in topdir/repos that the hub does not know"`
	Debug                  bool          `ini:"debug" help:"log debug messages"`
	LockTimeout            time.Duration `ini:"lock_timeout" help:"kojigo: a standby kojira takes over when the active one's heartbeat (topdir/repos/.kojira-heartbeat) is older than this"`
	CheckExternalRepos     bool          `ini:"check_external_repos" help:"every sleeptime, read repodata/repomd.xml of the external repos tags use (for each host arch when the URL has $arch) and record a newer timestamp with repo.setExternalRepoData: the tags using the repo change and get new repos"`

	// Keys of Koji's kojira that kojigo accepts and ignores.
	Verbose              bool   `ini:"verbose" help:"ignored: kojira logs at info level (debug with -d)"`
	LogFile              string `ini:"logfile" help:"ignored: kojira logs to stderr (the journal)"`
	Principal            string `ini:"principal" help:"ignored: no Kerberos"`
	Keytab               string `ini:"keytab" help:"ignored: no Kerberos"`
	CCache               string `ini:"ccache" help:"ignored: no Kerberos"`
	RetryInterval        int    `ini:"retry_interval" help:"ignored: the client retries with backoff"`
	MaxRetries           int    `ini:"max_retries" help:"ignored: the client retries with backoff"`
	OfflineRetry         bool   `ini:"offline_retry" help:"ignored: offline hubs are always retried"`
	OfflineRetryInterval int    `ini:"offline_retry_interval" help:"ignored"`
	NoSSLVerify          bool   `ini:"no_ssl_verify" help:"ignored: the hub's certificate is always verified"`
	IgnoreOtherVolumes   bool   `ini:"ignore_other_volumes" help:"ignored: kojigo has one volume"`

	// Keys Koji 1.35's kojira itself no longer uses (they moved to the hub).
	DeleteBatchSize    string `ini:"delete_batch_size" help:"ignored (Koji: no longer used)"`
	DebuginfoTags      string `ini:"debuginfo_tags" help:"ignored: the hub's DebuginfoTags (Koji 1.35)"`
	SourceTags         string `ini:"source_tags" help:"ignored: the hub's SourceTags (Koji 1.35)"`
	SeparateSourceTags string `ini:"separate_source_tags" help:"ignored: the hub's SeparateSourceTags (Koji 1.35)"`
	IgnoreTags         string `ini:"ignore_tags" help:"ignored (Koji 1.35: repos are made on request)"`
	MaxRepoTasks       string `ini:"max_repo_tasks" help:"ignored: the hub's MaxRepoTasks (Koji 1.35)"`
	MaxRepoTasksMaven  string `ini:"max_repo_tasks_maven" help:"ignored: the hub's MaxRepoTasksMaven (Koji 1.35)"`
	NoRepoEffectiveAge string `ini:"no_repo_effective_age" help:"ignored (Koji: no longer used)"`
	QueueFile          string `ini:"queue_file" help:"ignored (Koji: no longer used)"`
	RecentTasksLife    string `ini:"recent_tasks_lifetime" help:"ignored (Koji: no longer used)"`
	RepoTasksLimit     string `ini:"repo_tasks_limit" help:"ignored: the hub's MaxRepoTasks (Koji 1.35)"`
	WithSrc            string `ini:"with_src" help:"ignored (Koji: no longer used)"`
}

// ignoredKeys are the `ini` names of the fields above marked ignored, with
// why each has no effect.
var ignoredKeys = map[string]string{
	"verbose":                "kojira logs at info level (debug with --debug)",
	"logfile":                "kojira logs to stderr (the journal)",
	"principal":              "kojigo has no Kerberos login",
	"keytab":                 "kojigo has no Kerberos login",
	"ccache":                 "kojigo has no Kerberos login",
	"retry_interval":         "the client retries with backoff",
	"max_retries":            "the client retries with backoff",
	"offline_retry":          "an offline hub is always retried",
	"offline_retry_interval": "an offline hub is retried with backoff",
	"no_ssl_verify":          "the hub's certificate is always verified",
	"ignore_other_volumes":   "kojigo has one volume",
	"delete_batch_size":      "no longer used (Koji 1.35)",
	"debuginfo_tags":         "no longer used: the hub's DebuginfoTags (Koji 1.35)",
	"source_tags":            "no longer used: the hub's SourceTags (Koji 1.35)",
	"separate_source_tags":   "no longer used: the hub's SeparateSourceTags (Koji 1.35)",
	"ignore_tags":            "no longer used: repos are made on request (Koji 1.35)",
	"max_repo_tasks":         "no longer used: the hub's MaxRepoTasks (Koji 1.35)",
	"max_repo_tasks_maven":   "no longer used: the hub's MaxRepoTasksMaven (Koji 1.35)",
	"no_repo_effective_age":  "no longer used (Koji 1.35)",
	"queue_file":             "no longer used (Koji 1.35)",
	"recent_tasks_lifetime":  "no longer used (Koji 1.35)",
	"repo_tasks_limit":       "no longer used: the hub's MaxRepoTasks (Koji 1.35)",
	"with_src":               "no longer used (Koji 1.35)",
}

// DefaultConfigFile is kojira's config file.
const DefaultConfigFile = "/etc/kojira/kojira.conf"

// heartbeatName is the active kojira's heartbeat file in topdir/repos. Tag
// names the hub makes directories for never start with a dot.
const heartbeatName = ".kojira-heartbeat"

// DefaultConfig returns Koji's kojira defaults plus kojigo's.
func DefaultConfig() Config {
	week := 7 * 24 * time.Hour
	return Config{
		TopDir:                 "/mnt/koji",
		Cert:                   "/etc/kojira/client.crt",
		ServerCA:               "/etc/kojira/serverca.crt",
		SleepTime:              15 * time.Second,
		RepoLifetime:           week,
		DistRepoLifetime:       week,
		ExpiredRepoLifetime:    week,
		InitTimeout:            2 * time.Hour,
		ReferenceRecheckPeriod: time.Hour,
		MaxDeleteProcesses:     4,
		LockTimeout:            5 * time.Minute,
		CheckExternalRepos:     true,
		RetryInterval:          60,
		MaxRetries:             120,
		OfflineRetry:           true,
		OfflineRetryInterval:   120,
	}
}

// LoadConfig reads the [kojira] section of path over DefaultConfig, then
// KOJI_KOJIRA_* environment variables and flags as opts says. Every mistake
// is an error naming file and line. Keys accepted only for compatibility
// come back as warnings, also with file and line.
func LoadConfig(path string, opts kojiconf.Options) (Config, kojiconf.Errors, error) {
	cfg := DefaultConfig()
	origins, err := kojiconf.Load(path, "kojira", &cfg, opts)
	if err != nil {
		return Config{}, nil, fmt.Errorf("load %s: %w", path, err)
	}
	var warnings kojiconf.Errors
	for k, why := range ignoredKeys {
		if o, ok := origins[k]; ok && o.Flag == "" { // Koji's --verbose, --fg: accepted quietly
			warnings = append(warnings, &kojiconf.Error{Origin: o, Key: k,
				Msg: "accepted for compatibility with Koji's kojira, has no effect in kojigo: " + why})
		}
	}
	// deleted_repo_lifetime is Koji's old name of expired_repo_lifetime
	if o, ok := origins["deleted_repo_lifetime"]; ok {
		if _, both := origins["expired_repo_lifetime"]; both {
			warnings = append(warnings, &kojiconf.Error{Origin: o, Key: "deleted_repo_lifetime",
				Msg: "ignored because expired_repo_lifetime is set"})
		} else {
			cfg.ExpiredRepoLifetime = cfg.DeletedRepoLifetime
			warnings = append(warnings, &kojiconf.Error{Origin: o, Key: "deleted_repo_lifetime",
				Msg: "deprecated: use expired_repo_lifetime (its value is used)"})
		}
	}
	sort.SliceStable(warnings, func(i, j int) bool {
		if warnings[i].File != warnings[j].File {
			return warnings[i].File < warnings[j].File
		}
		return warnings[i].Line < warnings[j].Line
	})
	return cfg, warnings, nil
}

// Validate checks the values once all sources are applied.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &kojiconf.Error{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if c.Server == "" {
		bad("server", "the hub URL is required, e.g. https://koji.example.org/kojihub")
	} else if u, err := url.Parse(c.Server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("server", "%q is not an http(s) URL", c.Server)
	}
	if c.TopDir == "" || !filepath.IsAbs(c.TopDir) {
		bad("topdir", "%q: want an absolute directory (the hub's topdir, mounted here)", c.TopDir)
	}
	if c.SleepTime < 10*time.Millisecond || c.SleepTime > time.Hour {
		bad("sleeptime", "%v: want between 0.01s and 1h", c.SleepTime)
	}
	for key, d := range map[string]time.Duration{
		"repo_lifetime": c.RepoLifetime, "dist_repo_lifetime": c.DistRepoLifetime,
		"expired_repo_lifetime": c.ExpiredRepoLifetime, "deleted_repo_lifetime": c.DeletedRepoLifetime,
		"reference_recheck_period": c.ReferenceRecheckPeriod,
	} {
		if d < 0 {
			bad(key, "%v: must not be negative", d)
		}
	}
	if c.InitTimeout <= 0 {
		bad("init_timeout", "%v: want a positive duration", c.InitTimeout)
	}
	if c.MaxDeleteProcesses < 1 || c.MaxDeleteProcesses > 64 {
		bad("max_delete_processes", "%d: want between 1 and 64", c.MaxDeleteProcesses)
	}
	if c.LockTimeout < 3*c.SleepTime {
		bad("lock_timeout", "%v: want at least three sleeptimes (%v), or a live kojira could be taken over", c.LockTimeout, 3*c.SleepTime)
	}
	if (c.User == "") != (c.Password == "") && !c.certExists() {
		bad("password", "user and password go together")
	}
	return errors.Join(errs...)
}

func (c *Config) certExists() bool {
	if c.Cert == "" {
		return false
	}
	fi, err := os.Stat(c.Cert)
	return err == nil && fi.Mode().IsRegular()
}
