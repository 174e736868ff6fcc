package kojira

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kojigo/internal/kojiconf"
)

func writeConf(t testing.TB, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kojira.conf")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func noEnv() []string { return nil }

func TestLoadConfigEveryKey(t *testing.T) {
	p := writeConf(t, `[kojira]
server=https://koji.example.org/kojihub
topdir=/srv/koji
cert=/etc/kojira/kojira.pem
serverca=/etc/kojira/ca.pem
user=kojira
password=secret
sleeptime=30
repo_lifetime=3600
dist_repo_lifetime=7200
expired_repo_lifetime=86400
init_timeout=600
reference_recheck_period=120
max_delete_processes=2
ignore_stray_repos=true
debug=yes
lock_timeout=10m
`)
	cfg, warnings, err := LoadConfig(p, kojiconf.Options{Environ: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Server, want.TopDir, want.Cert, want.ServerCA = "https://koji.example.org/kojihub", "/srv/koji", "/etc/kojira/kojira.pem", "/etc/kojira/ca.pem"
	want.User, want.Password = "kojira", "secret"
	want.SleepTime, want.RepoLifetime, want.DistRepoLifetime = 30*time.Second, time.Hour, 2*time.Hour
	want.ExpiredRepoLifetime, want.InitTimeout, want.ReferenceRecheckPeriod = 24*time.Hour, 10*time.Minute, 2*time.Minute
	want.MaxDeleteProcesses, want.IgnoreStrayRepos, want.Debug, want.LockTimeout = 2, true, true, 10*time.Minute
	if cfg != want {
		t.Errorf("LoadConfig =\n%+v\nwant\n%+v", cfg, want)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings = %v, want none", warnings)
	}
}

func TestDefaultConfigIsKojis(t *testing.T) {
	c := DefaultConfig()
	week := 7 * 24 * time.Hour
	if c.SleepTime != 15*time.Second || c.RepoLifetime != week || c.DistRepoLifetime != week || c.ExpiredRepoLifetime != week ||
		c.InitTimeout != 2*time.Hour || c.ReferenceRecheckPeriod != time.Hour || c.MaxDeleteProcesses != 4 ||
		c.TopDir != "/mnt/koji" || c.Cert != "/etc/kojira/client.crt" || c.ServerCA != "/etc/kojira/serverca.crt" || c.IgnoreStrayRepos {
		t.Errorf("DefaultConfig = %+v", c)
	}
	if err := c.Validate(); err == nil {
		t.Error("DefaultConfig without server validates")
	}
	c.Server = "https://koji.example.org/kojihub"
	c.User, c.Password = "kojira", "pw"
	if err := c.Validate(); err != nil {
		t.Errorf("Validate = %v", err)
	}
}

// A kojira.conf as Koji 1.34 and 1.35 ship it: the keys Koji no longer
// uses and those kojigo does not are warnings naming file and line.
func TestLoadConfigKojiFileWarnings(t *testing.T) {
	p := writeConf(t, `[kojira]
; The URL for the xmlrpc server
server=http://hub.example.com/kojihub
topdir=/mnt/koji
logfile=/var/log/kojira.log
with_src=no
max_repo_tasks=10
deleted_repo_lifetime=172800
check_external_repos=false
queue_file=/var/tmp/kojira-queue
user=kojira
password=pw
ignore_tags=*-build
no_repo_effective_age=172800
recent_tasks_lifetime=600
`)
	cfg, warnings, err := LoadConfig(p, kojiconf.Options{Environ: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CheckExternalRepos {
		t.Errorf("check_external_repos=false not applied")
	}
	if !DefaultConfig().CheckExternalRepos {
		t.Errorf("check_external_repos defaults to false, Koji's kojira to True")
	}
	if cfg.ExpiredRepoLifetime != 48*time.Hour {
		t.Errorf("deleted_repo_lifetime not used as expired_repo_lifetime: %v", cfg.ExpiredRepoLifetime)
	}
	var got []string
	for _, w := range warnings {
		got = append(got, w.Key)
		if !strings.Contains(w.Error(), "kojira.conf:") {
			t.Errorf("warning %q does not name file and line", w.Error())
		}
	}
	want := "logfile with_src max_repo_tasks deleted_repo_lifetime queue_file ignore_tags no_repo_effective_age recent_tasks_lifetime"
	if strings.Join(got, " ") != want {
		t.Errorf("warnings for %v, want %s", got, want)
	}
	if warnings[0].Line != 5 {
		t.Errorf("logfile warning at line %d, want 5", warnings[0].Line)
	}
	if !strings.Contains(warnings[3].Error(), "expired_repo_lifetime") {
		t.Errorf("deleted_repo_lifetime warning %q does not point at its new name", warnings[3])
	}
}

func TestLoadConfigBothLifetimes(t *testing.T) {
	p := writeConf(t, "[kojira]\nserver=http://h/kojihub\nuser=u\npassword=p\nexpired_repo_lifetime=100\ndeleted_repo_lifetime=200\n")
	cfg, warnings, err := LoadConfig(p, kojiconf.Options{Environ: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ExpiredRepoLifetime != 100*time.Second {
		t.Errorf("expired_repo_lifetime = %v, want 100s (it wins over the old name)", cfg.ExpiredRepoLifetime)
	}
	if len(warnings) != 1 || warnings[0].Line != 6 || !strings.Contains(warnings[0].Msg, "ignored") {
		t.Errorf("warnings = %v", warnings)
	}
}

func TestLoadConfigErrorsNameFileAndLine(t *testing.T) {
	const head = "[kojira]\nserver=http://h/kojihub\nuser=u\npassword=p\n"
	tests := []struct {
		name, conf, want string
	}{
		{"unknown key", head + "sleep_time=3\n", "kojira.conf:5"},
		{"unknown key suggestion", head + "repo_lifetim=3\n", "repo_lifetime"},
		{"bad integer", head + "max_delete_processes=many\n", "kojira.conf:5"},
		{"bad bool", head + "ignore_stray_repos=perhaps\n", "kojira.conf:5"},
		{"bad Koji bool", head + "check_external_repos=perhaps\n", "kojira.conf:5"},
		{"bad Koji int", head + "max_retries=lots\n", "kojira.conf:5"},
		{"bad duration", head + "sleeptime=soon\n", "kojira.conf:5"},
		{"bad server", "[kojira]\nserver=ftp://h/kojihub\nuser=u\npassword=p\n", "kojira.conf:2"},
		{"relative topdir", head + "topdir=mnt/koji\n", "kojira.conf:5"},
		{"zero sleeptime", head + "sleeptime=0\n", "kojira.conf:5"},
		{"negative lifetime", head + "repo_lifetime=-1\n", "kojira.conf:5"},
		{"zero init_timeout", head + "init_timeout=0\n", "kojira.conf:5"},
		{"zero deleters", head + "max_delete_processes=0\n", "kojira.conf:5"},
		{"lock_timeout too short", head + "sleeptime=60\nlock_timeout=60\n", "kojira.conf:6"},
		{"user without password", "[kojira]\nserver=http://h/kojihub\nuser=u\n", "password"},
		{"other section", head + "[kojid]\nx=1\n", "kojira.conf:5"},
		{"missing server", "[kojira]\nuser=u\npassword=p\n", "server"},
		{"duplicate key", head + "sleeptime=1\nsleeptime=2\n", "kojira.conf:6"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := LoadConfig(writeConf(t, tc.conf), kojiconf.Options{Environ: noEnv})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadConfig error = %v, want one naming %q", err, tc.want)
			}
			var ce *kojiconf.Error
			if !errors.As(err, &ce) {
				t.Errorf("error %v is not a *kojiconf.Error", err)
			}
		})
	}
}

func TestLoadConfigEnvironmentAndMissingFile(t *testing.T) {
	env := func() []string {
		return []string{"KOJI_KOJIRA_SERVER=http://h/kojihub", "KOJI_KOJIRA_USER=u", "KOJI_KOJIRA_PASSWORD=p", "KOJI_KOJIRA_SLEEPTIME=5"}
	}
	missing := filepath.Join(t.TempDir(), "nope.conf")
	cfg, _, err := LoadConfig(missing, kojiconf.Options{Environ: env, Optional: true})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SleepTime != 5*time.Second || cfg.Server != "http://h/kojihub" {
		t.Errorf("env overrides: %+v", cfg)
	}
	if _, _, err := LoadConfig(missing, kojiconf.Options{Environ: env}); err == nil {
		t.Error("missing required file: nil error")
	}
}

// dist/kojira.conf, the commented example installed by make install, loads
// cleanly and shows the defaults.
func TestDistExampleConfig(t *testing.T) {
	cfg, warnings, err := LoadConfig("../dist/kojira.conf", kojiconf.Options{Environ: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %v", warnings)
	}
	want := DefaultConfig()
	want.Server = "https://koji.example.org/kojihub"
	if cfg != want {
		t.Errorf("dist/kojira.conf =\n%+v\nwant the defaults\n%+v", cfg, want)
	}
}
