package ctl

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDemoArgs(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"defaults", nil, ""},
		{"all flags", []string{"--dir", t.TempDir(), "--builders", "3", "--listen", "127.0.0.1:0", "--no-tui"}, ""},
		{"builders zero", []string{"--builders", "0"}, "want 1 to 16, got 0"},
		{"builders negative", []string{"--builders", "-1"}, "want 1 to 16, got -1"},
		{"builders huge", []string{"--builders", "1000"}, "want 1 to 16, got 1000"},
		{"builders not a number", []string{"--builders", "two"}, "invalid value"},
		{"builders overflow", []string{"--builders", "99999999999999999999"}, "invalid value"},
		{"empty dir", []string{"--dir", ""}, "--dir: empty"},
		{"dir is a file", []string{"--dir", file}, "not a directory"},
		{"dir with newline", []string{"--dir", "/tmp/a\nb"}, "control characters"},
		{"empty listen", []string{"--listen", ""}, "--listen: empty"},
		{"listen off loopback", []string{"--listen", "0.0.0.0:8443"}, "loopback only"},
		{"listen no port", []string{"--listen", "localhost"}, "HOST:PORT"},
		{"extra argument", []string{"now"}, "unexpected argument"},
		{"unknown flag", []string{"--tui"}, "flag provided but not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			env := &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
			o, err := parseDemoArgs(env, tc.args)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("parseDemoArgs(%q): %v", tc.args, err)
				}
				if o.Builders < 1 || o.Stdout != &out {
					t.Errorf("options = %+v", o)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("parseDemoArgs(%q) = %v; want %q", tc.args, err, tc.wantErr)
			}
			if !errors.Is(err, ErrUsage) {
				t.Errorf("error %v is not a usage error (exit 2)", err)
			}
		})
	}
}

func TestDemoHelpAndExitCodes(t *testing.T) {
	var out, errb bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	if code := Main(context.Background(), env, []string{"demo", "-h"}); code != 0 {
		t.Errorf("demo -h exit %d", code)
	}
	if !strings.Contains(errb.String(), "demo-candidate") || !strings.Contains(errb.String(), "--builders") {
		t.Errorf("demo -h printed:\n%s", errb.String())
	}
	errb.Reset()
	if code := Main(context.Background(), env, []string{"demo", "--builders", "0"}); code != 2 {
		t.Errorf("demo --builders 0 exit %d, want 2; stderr %s", code, errb.String())
	}
}
