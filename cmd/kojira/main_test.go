package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunSubcommands(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown subcommand "frobnicate"`},
		{[]string{"createrepo"}, "no package directory"},
		{[]string{"createrepo", "-d", "x"}, "package directory"},
		{[]string{"createrepo", "-d", "--no-database", "x"}, "exclude each other"},
	}
	for _, tt := range tests {
		err := run(context.Background(), tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
	if err := run(context.Background(), []string{"help"}); err != nil {
		t.Errorf("run(help) = %v", err)
	}
}

func TestDaemonMode(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "kojira.conf")
	os.WriteFile(conf, []byte("[kojira]\nserver = https://hub.example.org/kojihub\nuser = kojira\npassword = pw\nmax_repo_tasks = 4\nsleeptime = 20\n"), 0o600)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-c", filepath.Join(dir, "missing.conf")}, "missing.conf"},
		{[]string{"-c", conf, "--server", "ftp://hub/kojihub"}, "server"},
		{[]string{"-c", conf, "-s", "ftp://hub/kojihub"}, "server"},
		{[]string{"-c", conf, "--sleeptime", "never"}, "sleeptime"},
		{[]string{"-c", conf, "--no-such-flag"}, "no-such-flag"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		err := daemon(context.Background(), tt.args, &out, &errb)
		if err == nil || !strings.Contains(err.Error()+errb.String(), tt.want) {
			t.Errorf("kojira %q = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
	var out, errb bytes.Buffer
	if err := daemon(context.Background(), []string{"-c", conf, "--show-config", "--topdir", "/srv/koji", "-v", "--fg"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"server = https://hub.example.org/kojihub\n", "topdir = /srv/koji\n", "sleeptime = 20s\n", "password = (set)\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--show-config lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errb.String(), "max_repo_tasks") || strings.Contains(errb.String(), "verbose") {
		t.Errorf("--show-config warnings = %q, want max_repo_tasks only", errb.String())
	}
	errb.Reset()
	if err := daemon(context.Background(), []string{"--help"}, &out, &errb); err == nil || !strings.Contains(errb.String(), "-force-lock") {
		t.Errorf("--help = %v:\n%s", err, errb.String())
	}
}
