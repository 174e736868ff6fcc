package main

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"kojigo/hubcore"
)

func writeHubConf(t testing.TB, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hub.conf")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFlagsOverrideHubConf: every flag that overrides a hub.conf key wins
// over the file and over KOJI_HUB_* (defaults, file, environment, flags,
// Validate); --topdir used to lose to KojiDir (issue 14, item 7).
func TestFlagsOverrideHubConf(t *testing.T) {
	keys := []struct {
		flag, key, env      string
		file, envVal, flagV string
		get                 func(*hubcore.FileConfig) string
	}{
		{"listen", "Listen", "KOJI_HUB_LISTEN", "127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003",
			func(c *hubcore.FileConfig) string { return c.Listen }},
		{"db", "DB", "KOJI_HUB_DB", "sqlite:///srv/file.db", "sqlite:///srv/env.db", "sqlite:///srv/flag.db",
			func(c *hubcore.FileConfig) string { return c.DB }},
		{"topdir", "KojiDir", "KOJI_HUB_KOJIDIR", "/srv/file", "/srv/env", "/srv/flag",
			func(c *hubcore.FileConfig) string { return c.KojiDir }},
	}
	for _, k := range keys {
		// hub.conf sets the key (and a database, which Validate needs).
		conf := "[hub]\nDB = sqlite:///srv/koji.db\n" + k.key + " = " + k.file + "\n"
		if k.key == "DB" {
			conf = "[hub]\n" + k.key + " = " + k.file + "\n"
		}
		path := writeHubConf(t, conf)
		tests := []struct {
			name string
			env  []string
			flag bool
			want string
		}{
			{"file", nil, false, k.file},
			{"file and flag", nil, true, k.flagV},
			{"file and environment", []string{k.env + "=" + k.envVal}, false, k.envVal},
			{"file, environment and flag", []string{k.env + "=" + k.envVal}, true, k.flagV},
		}
		for _, tt := range tests {
			args := []string{"--config", path}
			if tt.flag {
				args = append(args, "--"+k.flag, k.flagV)
			}
			cfg, err := loadConfig(args, func() []string { return tt.env }, io.Discard)
			if err != nil || cfg == nil {
				t.Errorf("%s: loadConfig(%q) = %v, %v", k.key, args, cfg, err)
				continue
			}
			if got := k.get(cfg); got != tt.want {
				t.Errorf("%s from %s: loadConfig(%q, %q) = %q, want %q", k.key, tt.name, args, tt.env, got, tt.want)
			}
		}
	}
}

// TestFlagErrorsNameTheFlag: a bad value given with --topdir is validated
// with the rest and reported under the flag the user typed.
func TestFlagErrorsNameTheFlag(t *testing.T) {
	path := writeHubConf(t, "[hub]\nDB = sqlite:///srv/koji.db\nKojiDir = /srv/koji\n")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--topdir", "relative/dir"}, "flag --topdir: key KojiDir: must be an absolute path"},
		{[]string{"--listen", "nowhere"}, "flag --listen: key Listen: want host:port"},
	}
	for _, tt := range tests {
		args := append([]string{"--config", path}, tt.args...)
		cfg, err := loadConfig(args, func() []string { return nil }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("loadConfig(%q) = %v, %v; want an error containing %q", args, cfg, err, tt.want)
		}
	}
}

func TestVersionServesNothing(t *testing.T) {
	var out strings.Builder
	cfg, err := loadConfig([]string{"--version"}, func() []string { return nil }, &out)
	if cfg != nil || err != nil || !strings.HasPrefix(out.String(), "kojihub ") {
		t.Errorf("loadConfig(--version) = %v, %v, printing %q; want the version and nothing to serve", cfg, err, out.String())
	}
	if _, err := loadConfig([]string{"serve"}, func() []string { return nil }, io.Discard); err == nil || !strings.Contains(err.Error(), `unexpected argument "serve"`) {
		t.Errorf("loadConfig(serve) = %v, want an unexpected-argument error", err)
	}
}

// TestTopdirMinSpaceFromHubConf: TopdirMinSpace (MiB) is read from hub.conf
// and KOJI_HUB_TOPDIRMINSPACE; missing means 8192, and wrong, negative,
// oversized or hostile values are errors that name the key and the line.
func TestTopdirMinSpaceFromHubConf(t *testing.T) {
	base := "[hub]\nDB = sqlite:///srv/koji.db\n"
	cfg, err := loadConfig([]string{"--config", writeHubConf(t, base)}, func() []string { return nil }, io.Discard)
	if err != nil || cfg.TopdirMinSpace != 8192 {
		t.Fatalf("missing TopdirMinSpace: %v, %v; want 8192", cfg, err)
	}
	for _, tc := range []struct{ value, env string }{{"0", ""}, {"100", ""}, {"100", "KOJI_HUB_TOPDIRMINSPACE=200"}} {
		cfg, err := loadConfig([]string{"--config", writeHubConf(t, base+"TopdirMinSpace = "+tc.value+"\n")},
			func() []string { return []string{tc.env} }, io.Discard)
		want := tc.value
		if tc.env != "" {
			want = strings.TrimPrefix(tc.env, "KOJI_HUB_TOPDIRMINSPACE=")
		}
		if err != nil || cfg == nil || strconv.FormatInt(cfg.TopdirMinSpace, 10) != want {
			t.Errorf("TopdirMinSpace = %s (%s): %v, %v; want %s", tc.value, tc.env, cfg, err, want)
		}
	}
	for _, bad := range []string{"-1", "eight", "8G", "1e3", "1099511627777", "99999999999999999999999", "0x10", "", strings.Repeat("9", 5000)} {
		path := writeHubConf(t, base+"TopdirMinSpace = "+bad+"\n")
		_, err := loadConfig([]string{"--config", path}, func() []string { return nil }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "TopdirMinSpace") {
			t.Errorf("TopdirMinSpace = %.20q: %v, want an error naming the key", bad, err)
		}
	}
}
