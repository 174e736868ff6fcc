package builderd

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
	p := filepath.Join(t.TempDir(), "kojid.conf")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func noEnv() []string { return nil }

func TestLoadConfigKojiFile(t *testing.T) {
	// A kojid.conf as Koji's docs write it, plus kojigo keys.
	p := writeConf(t, `[kojid]
; The number of seconds to sleep between tasks
sleeptime=5
maxjobs=2
minspace=100
topdir=/mnt/koji
workdir=/tmp/koji
mockdir=/var/lib/mock
mockuser=kojibuilder
vendor=Example
server=https://koji.example.org/kojihub
topurl=https://koji.example.org/kojifiles https://mirror.example.org/kojifiles
allowed_scms=src.example.org:/rpms/*:no :/srv/git/*
cert = /etc/kojid/client.crt
serverca = /etc/kojid/serverca.crt
use_mock = no
maxload = 2.5
shutdown = finish
keepalive=True
use_createrepo_c=True
`)
	cfg, warnings, err := LoadConfig(p, kojiconf.Options{Environ: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SleepTime != 5*time.Second || cfg.MaxJobs != 2 || cfg.MinSpace != 100*kojiconf.MiB || cfg.Vendor != "Example" ||
		cfg.MaxLoad != 2.5 || cfg.Shutdown != ShutdownFinish || cfg.WorkDir != "/tmp/koji" {
		t.Errorf("LoadConfig = %+v", cfg)
	}
	if len(cfg.TopURL) != 2 || len(cfg.AllowedSCMs) != 2 {
		t.Errorf("lists: topurl %q allowed_scms %q", cfg.TopURL, cfg.AllowedSCMs)
	}
	if cfg.RPMBuildTimeout != 24*time.Hour || cfg.Packager != "Koji" {
		t.Errorf("defaults lost: %+v", cfg)
	}
	if len(warnings) != 2 || warnings[0].Key != "keepalive" || warnings[0].Line != 19 ||
		!strings.Contains(warnings[0].Error(), "kojid.conf:19") || warnings[1].Key != "use_createrepo_c" {
		t.Errorf("warnings = %v, want keepalive (line 19) and use_createrepo_c", warnings)
	}
}

func TestLoadConfigErrorsNameFileAndLine(t *testing.T) {
	tests := []struct {
		name, conf, want string
	}{
		{"unknown key", "[kojid]\nserver=http://h/kojihub\ntopurl=http://h/f\nmaxjob=3\n", "kojid.conf:4"},
		{"bad integer", "[kojid]\nserver=http://h/kojihub\ntopurl=http://h/f\nmaxjobs=lots\n", "kojid.conf:4"},
		{"bad server", "[kojid]\nserver=ftp://h/kojihub\ntopurl=http://h/f\n", "kojid.conf:2"},
		{"bad use_mock", "[kojid]\nserver=http://h/kojihub\ntopurl=http://h/f\nuse_mock=maybe\n", "kojid.conf:4"},
		{"bad shutdown", "[kojid]\nserver=http://h/kojihub\ntopurl=http://h/f\nshutdown=later\n", "kojid.conf:4"},
		{"zero maxjobs", "[kojid]\nserver=http://h/kojihub\ntopurl=http://h/f\nmaxjobs=0\n", "kojid.conf:4"},
		{"relative workdir", "[kojid]\nserver=http://h/kojihub\ntopurl=http://h/f\nworkdir=tmp\n", "kojid.conf:4"},
		{"bad allowed_scms", "[kojid]\nserver=http://h/kojihub\ntopurl=http://h/f\nallowed_scms=nocolon\n", "kojid.conf:4"},
		{"bad topurl", "[kojid]\nserver=http://h/kojihub\ntopurl=/local\n", "kojid.conf:3"},
		{"other section", "[kojid]\nserver=http://h/kojihub\ntopurl=http://h/f\n[other]\nx=1\n", "kojid.conf:4"},
		{"missing server", "[kojid]\ntopurl=http://h/f\n", "server"},
		{"sleeptime too long", "[kojid]\nserver=http://h/kojihub\ntopurl=http://h/f\nsleeptime=99999\n", "kojid.conf:4"},
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

func TestLoadConfigMissingAndHostileFiles(t *testing.T) {
	if _, _, err := LoadConfig(filepath.Join(t.TempDir(), "nope.conf"), kojiconf.Options{Environ: noEnv}); err == nil {
		t.Error("missing file: nil error")
	}
	big := writeConf(t, "[kojid]\n"+strings.Repeat("# x\n", 400000))
	if _, _, err := LoadConfig(big, kojiconf.Options{Environ: noEnv}); err == nil {
		t.Error("oversized file: nil error")
	}
	bin := writeConf(t, "[kojid]\nserver=\xff\xfe\n")
	if _, _, err := LoadConfig(bin, kojiconf.Options{Environ: noEnv}); err == nil {
		t.Error("binary file: nil error")
	}
}

func TestLoadConfigEnvironment(t *testing.T) {
	p := writeConf(t, "[kojid]\nserver=http://h/kojihub\ntopurl=http://h/f\nmaxjobs=3\n")
	env := func() []string { return []string{"KOJI_KOJID_MAXJOBS=7", "KOJI_KOJID_MINSPACE=2G"} }
	cfg, _, err := LoadConfig(p, kojiconf.Options{Environ: env})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxJobs != 7 || cfg.MinSpace != 2*kojiconf.GiB {
		t.Errorf("env overrides: maxjobs %d minspace %v", cfg.MaxJobs, cfg.MinSpace)
	}
}

func TestDefaultConfigNeedsOnlyServerAndTopurl(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err == nil {
		t.Error("DefaultConfig without server validates")
	}
	cfg.Server = "https://koji.example.org/kojihub"
	cfg.TopURL = []string{"https://koji.example.org/kojifiles"}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate = %v", err)
	}
	if cfg.HostName == "" {
		t.Error("HostName does not default to the host name")
	}
}

func TestParseSCMURL(t *testing.T) {
	good := []struct {
		in                           string
		host, repo, module, rev, url string
	}{
		{"git+https://src.example.org/rpms/hello.git#abc123", "src.example.org", "/rpms/hello.git", "", "abc123", "https://src.example.org/rpms/hello.git"},
		{"git+file:///srv/git/hello.git#main", "", "/srv/git/hello.git", "", "main", "file:///srv/git/hello.git"},
		{"git://h/r.git?pkgs/hello#v1.0", "h", "/r.git", "pkgs/hello", "v1.0", "git://h/r.git"},
		{"git+ssh://user@h/r#HEAD", "h", "/r", "", "HEAD", "ssh://user@h/r"},
	}
	for _, g := range good {
		s, err := parseSCMURL(g.in)
		if err != nil {
			t.Errorf("parseSCMURL(%q) = %v", g.in, err)
			continue
		}
		if s.Host != g.host || s.Repository != g.repo || s.Module != g.module || s.Revision != g.rev || s.cloneURL() != g.url {
			t.Errorf("parseSCMURL(%q) = %+v clone %q", g.in, s, s.cloneURL())
		}
	}
	bad := []string{
		"https://h/r.git#x", "git+https://h/r.git", "git+https://h/#x", "git+https:///r#x",
		"git+file://host/srv/r#x", "git+https://h/r#--upload-pack=evil", "git+https://h/r#a..b",
		"git+https://u:pw@h/r#x", "git+https://h/r?../../etc#x", "git+https://h/r #x",
		"git+https://h/" + strings.Repeat("a", 5000) + "#x", "",
	}
	for _, b := range bad {
		if _, err := parseSCMURL(b); err == nil {
			t.Errorf("parseSCMURL(%q) = nil error", b)
		}
	}
}

func TestCheckAllowed(t *testing.T) {
	allowed := []string{"src.example.org:/rpms/*:no", ":/srv/git/*", "git.example.org:/pkgs/?ello.git:yes:make,sources"}
	tests := []struct {
		url     string
		ok      bool
		srcCmd  string
		useComm bool
	}{
		{"git+https://src.example.org/rpms/a/b.git#x", true, "", false},
		{"git+file:///srv/git/hello.git#x", true, "", true},
		{"git+https://git.example.org/pkgs/hello.git#x", true, "make sources", true},
		{"git+https://evil.example.org/rpms/a.git#x", false, "", false},
		{"git+file:///etc/secrets#x", false, "", false},
	}
	for _, tc := range tests {
		s, err := parseSCMURL(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		a, err := checkAllowed(s, allowed)
		if (err == nil) != tc.ok {
			t.Errorf("checkAllowed(%q) = %v, want ok %v", tc.url, err, tc.ok)
			continue
		}
		if err != nil {
			if !strings.Contains(err.Error(), "is not in the list of allowed SCMs") {
				t.Errorf("checkAllowed(%q) error %q", tc.url, err)
			}
			continue
		}
		if strings.Join(a.sourceCmd, " ") != tc.srcCmd || a.useCommon != tc.useComm {
			t.Errorf("checkAllowed(%q) = %+v", tc.url, a)
		}
	}
	if _, err := checkAllowed(&scmURL{Host: "h", Repository: "/r"}, nil); err == nil {
		t.Error("empty allowed_scms allows everything")
	}
}

func TestFnmatch(t *testing.T) {
	tests := []struct {
		pat, name string
		want      bool
	}{
		{"*", "", true}, {"/rpms/*", "/rpms/a/b", true}, {"a?c", "abc", true}, {"a?c", "a/c", true},
		{"[abc]x", "bx", true}, {"[!abc]x", "bx", false}, {"[!abc]x", "dx", true}, {"a.b", "axb", false},
		{"[", "[", true}, {"x[", "x[", true}, {`a\b`, `a\b`, true}, {"(a|b)", "a", false},
	}
	for _, tc := range tests {
		if got := fnmatch(tc.pat, tc.name); got != tc.want {
			t.Errorf("fnmatch(%q, %q) = %v, want %v", tc.pat, tc.name, got, tc.want)
		}
	}
}
