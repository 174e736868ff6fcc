package builderd

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"kojigo/internal/kojiconf"
)

// Config is kojid's configuration: the [kojid] section of kojid.conf, with
// Koji's key names and defaults, so an existing kojid.conf keeps working.
// Keys kojigo adds are marked "kojigo" in their help. Keys Koji's kojid knows
// that kojigo does not use are accepted and reported by LoadConfig as
// warnings, never silently. Use DefaultConfig for the defaults; the zero
// Config is not valid.
type Config struct {
	Server   string   `ini:"server" help:"URL of the hub's XML-RPC endpoint"`
	TopURL   []string `ini:"topurl" help:"URL of the hub's file tree; several are mirrors"`
	TopDir   string   `ini:"topdir" help:"the hub's file tree, when mounted here (used before topurl when the file is there)"`
	WorkDir  string   `ini:"workdir" help:"where tasks run; each task gets workdir/tasks/<id%10000>/<id>"`
	MockDir  string   `ini:"mockdir" help:"mock's root directory; its filesystem must keep minspace free"`
	MockUser string   `ini:"mockuser" help:"user that builds run as when kojid runs as root"`

	MinSpace  kojiconf.ByteSize `ini:"minspace" unit:"MiB" help:"free space every watched filesystem must keep (MB as in Koji, or with a unit)"`
	MaxJobs   int               `ini:"maxjobs" help:"most tasks run at once"`
	SleepTime time.Duration     `ini:"sleeptime" help:"wait between polls of the hub when idle"`
	MaxLoad   float64           `ini:"maxload" help:"kojigo: highest 1-minute load per CPU before taking no new task"`
	HostName  string            `ini:"hostname" help:"kojigo: this host's name in logs and defaults; the hub knows the host by its login"`

	Cert     string `ini:"cert" help:"host certificate and key (PEM) for sslLogin; used when the file exists"`
	ServerCA string `ini:"serverca" help:"CA that signed the hub's HTTPS certificate"`
	User     string `ini:"user" help:"user name for password login (when cert is absent)"`
	Password string `ini:"password" help:"password for password login"`

	AllowedSCMs []string `ini:"allowed_scms" help:"host:repository[:use_common[:source_cmd]] patterns (globs) buildSRPMFromSCM may check out; git+file URLs have an empty host"`
	// Koji 1.35 checks an SCM URL with allowed_scms (default), the hub's
	// build_from_scm policy, or both (the list first); with both off, as in
	// Koji, any SCM URL is accepted.
	AllowedSCMsUseConfig bool   `ini:"allowed_scms_use_config" help:"check SCM URLs against allowed_scms"`
	AllowedSCMsUsePolicy bool   `ini:"allowed_scms_use_policy" help:"check SCM URLs against the hub's build_from_scm policy (evalPolicy), which may also set use_common and source_cmd"`
	UseMock              string `ini:"use_mock" help:"kojigo: yes, no, or auto (mock when installed); otherwise rpmbuild in a private tree"`

	RPMBuildTimeout    time.Duration `ini:"rpmbuild_timeout" help:"longest build"`
	Vendor             string        `ini:"vendor" help:"vendor macro of built packages"`
	Packager           string        `ini:"packager" help:"packager macro of built packages"`
	Distribution       string        `ini:"distribution" help:"distribution macro of built packages"`
	MockHost           string        `ini:"mockhost" help:"the _host string in mock configs"`
	YumProxy           string        `ini:"yum_proxy" help:"proxy passed to dnf through mock"`
	MockBootstrapImage bool          `ini:"mock_bootstrap_image" help:"allow tags to use mock.bootstrap_image"`
	BuildArchCanFail   bool          `ini:"build_arch_can_fail" help:"a failed buildArch does not cancel its siblings"`
	LiteralTaskArches  []string      `ini:"literal_task_arches" help:"arch globs not turned into canonical arches for subtasks"`
	CreaterepoUpdate   bool          `ini:"createrepo_update" help:"createrepo tasks update the tag's previous repo, reading only the packages it does not list"`
	CreaterepoSkipStat bool          `ini:"createrepo_skip_stat" help:"with createrepo_update, a package whose path the previous repo lists is not stat'ed again"`
	CreaterepoCache    bool          `ini:"createrepo_cache" help:"kojigo: keep the raw sqlite databases and chunk lists in repodata (kojigo-cache.*, about 1.3x the databases' size) so that the next createrepo_update copies what did not change"`

	SMTPHost string `ini:"smtphost" help:"mail server (host or host:port) for build and tag notifications; empty: no mail is sent"`
	SMTPUser string `ini:"smtp_user" help:"login at smtphost (with smtp_pass)"`
	SMTPPass string `ini:"smtp_pass" help:"password for smtp_user"`
	FromAddr string `ini:"from_addr" help:"From address of notification mail"`

	Shutdown        string        `ini:"shutdown" help:"kojigo: on SIGTERM, free (hand running tasks back) or finish them"`
	ShutdownTimeout time.Duration `ini:"shutdown_timeout" help:"kojigo: longest wait for running tasks when shutdown = finish"`
	CancelPoll      time.Duration `ini:"cancel_poll" help:"kojigo: how often running tasks are checked for cancellation on the hub"`

	// Keys of Koji's kojid that kojigo accepts and ignores.
	Keepalive              string `ini:"keepalive" help:"ignored (Koji: noop)"`
	LogLevel               string `ini:"log_level" help:"ignored: use the -v/-d flags"`
	MaxRetries             string `ini:"max_retries" help:"ignored: the client retries with backoff"`
	RetryInterval          string `ini:"retry_interval" help:"ignored: the client retries with backoff"`
	OfflineRetry           string `ini:"offline_retry" help:"ignored: offline hubs are always retried"`
	OfflineRetryInterval   string `ini:"offline_retry_interval" help:"ignored"`
	NoSSLVerify            string `ini:"no_ssl_verify" help:"ignored: the hub's certificate is always verified"`
	PkgURL                 string `ini:"pkgurl" help:"ignored (Koji: obsolete)"`
	Plugin                 string `ini:"plugin" help:"ignored: no builder plugins"`
	Plugins                string `ini:"plugins" help:"ignored: no builder plugins"`
	PluginPath             string `ini:"pluginpath" help:"ignored: no builder plugins"`
	ChrootTmpdir           string `ini:"chroot_tmpdir" help:"ignored"`
	UseCreaterepoC         string `ini:"use_createrepo_c" help:"ignored: the repo engine is built in (the same metadata as createrepo_c)"`
	CopyOldRepodata        string `ini:"copy_old_repodata" help:"ignored: createrepo_update reuses the previous repo's metadata instead"`
	FailedBuildrootLife    string `ini:"failed_buildroot_lifetime" help:"ignored: task trees are removed when the task ends"`
	LogTimestamps          string `ini:"log_timestamps" help:"ignored"`
	MavenRepoIgnore        string `ini:"maven_repo_ignore" help:"ignored: no maven builds"`
	OzInstallTimeout       string `ini:"oz_install_timeout" help:"ignored: no image builds"`
	TaskAvailDelay         string `ini:"task_avail_delay" help:"ignored: the hub schedules"`
	Timeout                string `ini:"timeout" help:"ignored: the client has its own timeout"`
	SupportRPMSourceLayout string `ini:"support_rpm_source_layout" help:"ignored"`
	UseFastUpload          string `ini:"use_fast_upload" help:"ignored: uploads are always raw"`
	AdminEmails            string `ini:"admin_emails" help:"ignored (Koji: unused)"`
	CCache                 string `ini:"ccache" help:"ignored: no Kerberos"`
	HostPrincipalFormat    string `ini:"host_principal_format" help:"ignored: no Kerberos"`
	Keytab                 string `ini:"keytab" help:"ignored: no Kerberos"`
	KrbCanonHost           string `ini:"krb_canon_host" help:"ignored: no Kerberos"`
	KrbPrincipal           string `ini:"krb_principal" help:"ignored: no Kerberos"`
	KrbRDNS                string `ini:"krb_rdns" help:"ignored: no Kerberos"`
	KrbService             string `ini:"krbservice" help:"ignored: no Kerberos"`
	CA                     string `ini:"ca" help:"ignored (Koji: obsolete)"`
	RlimitAS               string `ini:"rlimit_as" help:"ignored: no resource limits"`
	RlimitCore             string `ini:"rlimit_core" help:"ignored: no resource limits"`
	RlimitCPU              string `ini:"rlimit_cpu" help:"ignored: no resource limits"`
	RlimitData             string `ini:"rlimit_data" help:"ignored: no resource limits"`
	RlimitFsize            string `ini:"rlimit_fsize" help:"ignored: no resource limits"`
	RlimitMemlock          string `ini:"rlimit_memlock" help:"ignored: no resource limits"`
	RlimitNofile           string `ini:"rlimit_nofile" help:"ignored: no resource limits"`
	RlimitNproc            string `ini:"rlimit_nproc" help:"ignored: no resource limits"`
	RlimitOfile            string `ini:"rlimit_ofile" help:"ignored: no resource limits"`
	RlimitRSS              string `ini:"rlimit_rss" help:"ignored: no resource limits"`
	RlimitStack            string `ini:"rlimit_stack" help:"ignored: no resource limits"`
}

// ignoredKeys are the `ini` names of the fields above marked ignored.
func ignoredKeys() []string {
	return []string{"keepalive", "log_level", "max_retries", "retry_interval", "offline_retry",
		"offline_retry_interval", "no_ssl_verify", "pkgurl", "plugin", "plugins", "pluginpath",
		"chroot_tmpdir", "use_createrepo_c", "copy_old_repodata",
		"failed_buildroot_lifetime", "log_timestamps", "maven_repo_ignore", "oz_install_timeout",
		"task_avail_delay", "timeout", "support_rpm_source_layout", "use_fast_upload", "admin_emails",
		"ccache", "host_principal_format", "keytab", "krb_canon_host",
		"krb_principal", "krb_rdns", "krbservice", "ca", "rlimit_as", "rlimit_core", "rlimit_cpu",
		"rlimit_data", "rlimit_fsize", "rlimit_memlock", "rlimit_nofile", "rlimit_nproc",
		"rlimit_ofile", "rlimit_rss", "rlimit_stack"}
}

// Shutdown modes.
const (
	ShutdownFree   = "free"   // cancel running builds and hand their tasks back to the hub (Koji)
	ShutdownFinish = "finish" // take no new task, finish the running ones, then exit
)

// DefaultConfigFile is kojid's config file.
const DefaultConfigFile = "/etc/kojid/kojid.conf"

// DefaultConfig returns Koji's kojid defaults plus kojigo's.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		TopDir:               "/mnt/koji",
		WorkDir:              "/var/tmp/koji",
		AllowedSCMsUseConfig: true,
		MockDir:              "/var/lib/mock",
		MockUser:             "kojibuilder",
		MinSpace:             8192 * kojiconf.MiB,
		MaxJobs:              10,
		SleepTime:            15 * time.Second,
		MaxLoad:              4.0,
		HostName:             host,
		Cert:                 "/etc/kojid/client.crt",
		ServerCA:             "/etc/kojid/serverca.crt",
		UseMock:              "auto",
		RPMBuildTimeout:      24 * time.Hour,
		Vendor:               "Koji",
		Packager:             "Koji",
		Distribution:         "Koji",
		MockHost:             "koji-linux-gnu",
		FromAddr:             "Koji Build System <buildsys@example.com>",
		Shutdown:             ShutdownFree,
		ShutdownTimeout:      0,
		CancelPoll:           2 * time.Second,

		CreaterepoUpdate:   true,
		CreaterepoSkipStat: true,
		CreaterepoCache:    true,
	}
}

// LoadConfig reads the [kojid] section of path over DefaultConfig, then
// KOJI_KOJID_* environment variables and flags as opts says. Every mistake
// is an error naming file and line. Keys accepted only for compatibility
// come back as warnings, also with file and line.
func LoadConfig(path string, opts kojiconf.Options) (Config, kojiconf.Errors, error) {
	cfg := DefaultConfig()
	origins, err := kojiconf.Load(path, "kojid", &cfg, opts)
	if err != nil {
		return Config{}, nil, fmt.Errorf("load %s: %w", path, err)
	}
	var warnings kojiconf.Errors
	for _, k := range ignoredKeys() {
		if o, ok := origins[k]; ok {
			warnings = append(warnings, &kojiconf.Error{Origin: o, Key: k,
				Msg: "accepted for compatibility with Koji's kojid, has no effect in kojigo"})
		}
	}
	sort.SliceStable(warnings, func(i, j int) bool { return warnings[i].Line < warnings[j].Line })
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
	for _, t := range c.TopURL {
		if u, err := url.Parse(t); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("topurl", "%q is not an http(s) URL", t)
		}
	}
	if len(c.TopURL) == 0 && c.TopDir == "" {
		bad("topurl", "set topurl (or topdir when the hub's file tree is mounted here)")
	}
	for key, dir := range map[string]string{"workdir": c.WorkDir, "mockdir": c.MockDir} {
		if dir == "" || !filepath.IsAbs(dir) {
			bad(key, "%q: want an absolute directory", dir)
		}
	}
	if c.TopDir != "" && !filepath.IsAbs(c.TopDir) {
		bad("topdir", "%q: want an absolute directory", c.TopDir)
	}
	if c.MinSpace < 0 {
		bad("minspace", "must not be negative")
	}
	if c.MaxJobs < 1 {
		bad("maxjobs", "%d: want at least 1", c.MaxJobs)
	}
	if c.SleepTime < 100*time.Millisecond || c.SleepTime > time.Hour {
		bad("sleeptime", "%v: want between 0.1s and 1h", c.SleepTime)
	}
	if c.MaxLoad < 0 {
		bad("maxload", "must not be negative (0 turns the check off)")
	}
	if c.CancelPoll < 100*time.Millisecond || c.CancelPoll > time.Minute {
		bad("cancel_poll", "%v: want between 0.1s and 1m", c.CancelPoll)
	}
	if c.RPMBuildTimeout < 0 {
		bad("rpmbuild_timeout", "must not be negative")
	}
	if c.ShutdownTimeout < 0 {
		bad("shutdown_timeout", "must not be negative")
	}
	if _, err := c.mockMode(); err != nil {
		bad("use_mock", "%v", err)
	}
	if c.Shutdown != ShutdownFree && c.Shutdown != ShutdownFinish {
		bad("shutdown", "%q: want %s or %s", c.Shutdown, ShutdownFree, ShutdownFinish)
	}
	if (c.User == "") != (c.Password == "") && !c.certExists() {
		bad("password", "user and password go together")
	}
	for _, s := range c.AllowedSCMs {
		if _, err := parseAllowedSCM(s); err != nil {
			bad("allowed_scms", "%v", err)
		}
	}

	for _, p := range c.LiteralTaskArches {
		if _, err := filepath.Match(p, "x86_64"); err != nil {
			bad("literal_task_arches", "%q: %v", p, err)
		}
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

// Mock modes.
const (
	mockAuto = "auto"
	mockYes  = "yes"
	mockNo   = "no"
)

func (c *Config) mockMode() (string, error) {
	v := strings.ToLower(strings.TrimSpace(c.UseMock))
	if v == "" || v == mockAuto {
		return mockAuto, nil
	}
	b, err := kojiconf.ParseBool(v)
	if err != nil {
		return "", fmt.Errorf("%q: want auto, yes or no", c.UseMock)
	}
	if b {
		return mockYes, nil
	}
	return mockNo, nil
}
