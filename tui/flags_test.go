package tui

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	cases := []struct {
		args    []string
		wantErr string
		check   func(Options) bool
	}{
		{nil, "", func(o Options) bool { return o.Profile == "koji" && o.Refresh == 5*time.Second && !o.Batch }},
		{[]string{"-p", "prod", "-c", "/etc/koji.conf", "--readonly", "--refresh", "2s", "--no-color", "--mouse"}, "",
			func(o Options) bool {
				return o.Profile == "prod" && o.ConfigFile == "/etc/koji.conf" && o.ReadOnly && o.Refresh == 2*time.Second && o.NoColor && o.Mouse
			}},
		{[]string{"--profile", "x", "--config", "c", "--server", "https://hub.example.org/kojihub", "--noauth"}, "",
			func(o Options) bool {
				return o.Profile == "x" && o.Server == "https://hub.example.org/kojihub" && o.NoAuth
			}},
		{[]string{"--batch", "--view", "tasks", "--width", "100"}, "", func(o Options) bool { return o.Batch && o.BatchView == "tasks" && o.Width == 100 }},
		{[]string{"--batch"}, "", func(o Options) bool { return o.BatchView == "hosts" }},
		// wrong
		{[]string{"--refresh", "500ms"}, "at least 1s", nil},
		{[]string{"--refresh", "0s"}, "at least 1s", nil},
		{[]string{"--refresh", "-5s"}, "at least 1s", nil},
		{[]string{"--refresh", "soon"}, "invalid value", nil},
		{[]string{"--refresh", "48h"}, "at most 24h", nil},
		{[]string{"--batch", "--view", "repos"}, "want hosts, tasks or certs", nil},
		{[]string{"--view", "tasks"}, "go with --batch", nil},
		{[]string{"--batch", "--width", "40"}, "at least 80 columns", nil},
		{[]string{"--batch", "--width", "-1"}, "want 80 to 1000", nil},
		{[]string{"--batch", "--width", "99999999999999999999"}, "invalid value", nil},
		{[]string{"--server", "ftp://hub"}, "want the hub's URL", nil},
		{[]string{"--server", "hub.example.org"}, "want the hub's URL", nil},
		{[]string{"--server", ""}, "empty URL", nil},
		{[]string{"-p", ""}, "empty profile", nil},
		{[]string{"-c", ""}, "empty file name", nil},
		{[]string{"--log", ""}, "empty file name", nil},
		{[]string{"extra"}, `unexpected argument "extra"`, nil},
		{[]string{"--no-such-flag"}, "not defined", nil},
		{[]string{"--server", "https://hub/\x1b[2J"}, `"https://hub/\x1b[2J": want the hub's URL`, nil}, // quoted, never raw
		{[]string{"-p", strings.Repeat("x", 1<<16)}, "", func(o Options) bool { return len(o.Profile) == 1<<16 }},
	}
	for _, c := range cases {
		var out bytes.Buffer
		o, err := parseFlagsEnv(c.args, &out, func(string) string { return "" })
		switch {
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("ParseFlags(%q) error = %v, want one containing %q", c.args, err, c.wantErr)
		case c.wantErr == "" && err != nil:
			t.Errorf("ParseFlags(%q) error = %v", c.args, err)
		case c.wantErr == "" && !c.check(o):
			t.Errorf("ParseFlags(%q) = %+v", c.args, o)
		}
	}
}

func TestParseFlagsHelpAndVersion(t *testing.T) {
	var out bytes.Buffer
	if _, err := ParseFlags([]string{"--help"}, &out); !errors.Is(err, ErrHelp) {
		t.Errorf("--help: %v", err)
	}
	for _, want := range []string{"usage: kojitop", "--readonly", "--batch", "~/.koji/config"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	if _, err := ParseFlags([]string{"--version"}, &out); !errors.Is(err, ErrVersion) {
		t.Errorf("--version: %v", err)
	}
}

func TestNoColorFromEnvironment(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"NO_COLOR": "1"}, true},
		{map[string]string{"NO_COLOR": "yes"}, true}, // any non-empty value, as no-color.org says
		{map[string]string{"NO_COLOR": ""}, false},
		{map[string]string{"TERM": "dumb"}, true},
	} {
		o, err := parseFlagsEnv(nil, &bytes.Buffer{}, func(k string) string { return c.env[k] })
		if err != nil || o.NoColor != c.want {
			t.Errorf("env %v: NoColor %v (%v), want %v", c.env, o.NoColor, err, c.want)
		}
	}
}

func TestRunRefusesWhatItCannotUse(t *testing.T) {
	var out bytes.Buffer
	env := func(k string) string {
		if k == "HOME" {
			return t.TempDir()
		}
		return ""
	}
	err := Run(t.Context(), Options{Stdout: &out, Getenv: env, LogFile: t.TempDir() + "/log"})
	if !errors.Is(err, ErrNotTerminal) {
		t.Errorf("not a terminal: %v, want ErrNotTerminal", err)
	}
	err = Run(t.Context(), Options{Batch: true, Stdout: &out, Getenv: env, LogFile: t.TempDir() + "/log"})
	if err == nil || !strings.Contains(err.Error(), "no server") && !strings.Contains(err.Error(), "config") {
		t.Errorf("no profile: %v", err)
	}
	err = Run(t.Context(), Options{Batch: true, Server: "https://127.0.0.1:1/kojihub", NoAuth: true, Stdout: &out, Getenv: env, LogFile: t.TempDir() + "/log"})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("a hub that is not there: %v", err)
	}
}
