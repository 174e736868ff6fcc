package ctl

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kojigo/internal/pki"
)

// runCtl runs kojictl with args and returns exit status, stdout and stderr.
func runCtl(t testing.TB, envVars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return envVars[k] }}
	code := Main(context.Background(), env, args)
	return code, out.String(), errb.String()
}

func TestCertsFarm(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	env := map[string]string{"HOME": t.TempDir()}
	run := func(args ...string) (int, string, string) {
		return runCtl(t, env, append([]string{"certs"}, append(args, "--dir", dir)...)...)
	}
	code, out, stderr := run("init")
	if code != 0 {
		t.Fatalf("certs init: exit %d: %s", code, stderr)
	}
	ca := filepath.Join(dir, "ca.crt")
	for _, want := range []string{"TLSClientCA = " + ca, "serverca = " + ca, "0600  " + filepath.Join(dir, "ca.key")} {
		if !strings.Contains(out, want) {
			t.Errorf("certs init output lacks %q:\n%s", want, out)
		}
	}
	steps := []struct {
		args  []string
		files []string
		want  []string
	}{
		{[]string{"hub", "koji.example.com", "--san", "koji,192.0.2.10", "--san", "koji.internal"},
			[]string{"koji.example.com.crt", "koji.example.com.key"},
			[]string{"[hub]", "TLSCert = " + filepath.Join(dir, "koji.example.com.crt"), "TLSKey = " + filepath.Join(dir, "koji.example.com.key"), "TLSClientCA = " + ca, "server = https://koji.example.com/kojihub", "for koji.example.com, koji, koji.internal, 192.0.2.10"}},
		{[]string{"host", "builder1.example.com"},
			[]string{"builder1.example.com.crt", "builder1.example.com.key", "builder1.example.com.pem"},
			[]string{"[kojid]", "cert = " + filepath.Join(dir, "builder1.example.com.pem"), "serverca = " + ca, "server = https://koji.example.com/kojihub", "koji add-host builder1.example.com"}},
		{[]string{"user", "alice", "--rsa", "--rsa-bits", "2048", "--days", "90"},
			[]string{"alice.crt", "alice.key", "alice.pem"},
			[]string{"[koji]", "authtype = ssl", "cert = " + filepath.Join(dir, "alice.pem"), "serverca = " + ca}},
		{[]string{"kojira"}, []string{"kojira.pem"}, []string{"[kojira]", "cert = " + filepath.Join(dir, "kojira.pem"), "grant-permission repo kojira"}},
		{[]string{"web", "--san", "koji.example.com"}, []string{"kojiweb.pem"}, []string{"[web]", "WebCert = " + filepath.Join(dir, "kojiweb.pem"), "KojiHubCA = " + ca, "ProxyDNs = CN=kojiweb"}},
	}
	for _, s := range steps {
		code, out, stderr := run(s.args...)
		if code != 0 {
			t.Fatalf("certs %v: exit %d: %s", s.args, code, stderr)
		}
		for _, f := range s.files {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("certs %v: %v", s.args, err)
			}
		}
		for _, w := range s.want {
			if !strings.Contains(out, w) {
				t.Errorf("certs %v output lacks %q:\n%s", s.args, w, out)
			}
		}
	}
	// What was written fits together: each certificate checks clean for its role.
	checks := []struct {
		files pki.Files
		role  pki.Role
		name  string
	}{
		{pki.Files{Cert: filepath.Join(dir, "koji.example.com.crt"), Key: filepath.Join(dir, "koji.example.com.key"), CA: ca}, pki.RoleHub, "koji.internal"},
		{pki.Files{Cert: filepath.Join(dir, "builder1.example.com.pem"), CA: ca}, pki.RoleHost, "builder1.example.com"},
		{pki.Files{Cert: filepath.Join(dir, "alice.pem"), CA: ca}, pki.RoleUser, "alice"},
		{pki.Files{Cert: filepath.Join(dir, "kojira.pem"), CA: ca}, pki.RoleKojira, "kojira"},
		{pki.Files{Cert: filepath.Join(dir, "kojiweb.pem"), CA: ca}, pki.RoleWeb, ""},
	}
	for _, c := range checks {
		if fs := pki.CheckFiles(c.files, c.role, c.name, time.Now()); len(fs) != 0 {
			t.Errorf("CheckFiles(%s) = %v", c.files.Cert, fs)
		}
	}
	alice, _ := pki.ReadBundle(filepath.Join(dir, "alice.crt"), "certificate")
	if left := time.Until(alice.Certs[0].NotAfter); left < 89*24*time.Hour || left > 91*24*time.Hour {
		t.Errorf("--days 90 gave %v", left)
	}

	// No overwrite without --force; the refusal names the file and changes nothing.
	before, _ := os.ReadFile(filepath.Join(dir, "alice.pem"))
	code, _, stderr = run("user", "alice")
	if code != 1 || !strings.Contains(stderr, "alice") || !strings.Contains(stderr, "--force") {
		t.Errorf("second certs user alice: exit %d: %s", code, stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "alice.pem")); !bytes.Equal(before, after) {
		t.Error("refused command changed alice.pem")
	}
	if code, _, stderr := run("user", "alice", "--force"); code != 0 {
		t.Errorf("certs user alice --force: exit %d: %s", code, stderr)
	}
	if code, _, stderr := run("init"); code != 1 || !strings.Contains(stderr, "already exists") {
		t.Errorf("second init: exit %d: %s", code, stderr)
	}

	// renew keeps the subject and says what to do.
	code, out, stderr = run("renew", filepath.Join(dir, "builder1.example.com.pem"))
	if code != 0 || !strings.Contains(out, "host certificate builder1.example.com") && !strings.Contains(out, "user certificate builder1.example.com") {
		t.Errorf("renew: exit %d: %s%s", code, out, stderr)
	}
	code, out, stderr = run("renew", ca)
	if code != 0 || !strings.Contains(out, "keeps its key") {
		t.Errorf("renew ca: exit %d: %s%s", code, out, stderr)
	}
}

func TestCertsUsageErrors(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"HOME": t.TempDir()}
	if code, _, stderr := runCtl(t, env, "certs", "init", "--dir", dir); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"certs"}, 2, "needs a command"},
		{[]string{"certs", "frobnicate", "--dir", dir}, 2, "unknown certs command"},
		{[]string{"certs", "hub", "--dir", dir}, 2, "needs a NAME"},
		{[]string{"certs", "user", "a", "b", "--dir", dir}, 2, "unexpected argument"},
		{[]string{"certs", "init", "extra", "--dir", dir}, 2, "unexpected argument"},
		{[]string{"certs", "user", "../../etc/x", "--dir", dir}, 2, "must not start"},
		{[]string{"certs", "user", "a/b", "--dir", dir}, 2, "contains"},
		{[]string{"certs", "user", "-x", "--dir", dir}, 2, "flag provided but not defined"},
		{[]string{"certs", "user", "alice", "--days", "-3", "--dir", dir}, 2, "--days"},
		{[]string{"certs", "user", "alice", "--days", "x", "--dir", dir}, 2, "invalid value"},
		{[]string{"certs", "user", "alice", "--san", "x", "--dir", dir}, 2, "--san is for hub and web"},
		{[]string{"certs", "hub", "koji", "--san", "bad name", "--dir", dir}, 1, "bad name"},
		{[]string{"certs", "user", "alice", "--rsa", "--rsa-bits", "512", "--dir", dir}, 1, "512 bits"},
		{[]string{"certs", "user", "alice", "--days", "5000", "--dir", dir}, 1, "outlive its CA"},
		{[]string{"certs", "renew", "--dir", dir}, 2, "exactly one FILE"},
		{[]string{"certs", "renew", filepath.Join(dir, "nope.crt"), "--dir", dir}, 1, "does not exist"},
		{[]string{"certs", "renew", dir, "--dir", dir}, 1, "is a directory"},
		{[]string{"certs", "user", "alice", "--dir", filepath.Join(dir, "empty")}, 1, "kojictl certs init"},
	}
	for _, tc := range tests {
		code, _, stderr := runCtl(t, env, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("kojictl %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	// Without --dir and HOME there is nowhere to write.
	if code, _, stderr := runCtl(t, map[string]string{}, "certs", "init"); code != 2 || !strings.Contains(stderr, "--dir") {
		t.Errorf("no HOME: exit %d: %s", code, stderr)
	}
	// KOJI_PKI_DIR is the default directory.
	pdir := filepath.Join(t.TempDir(), "p")
	if code, _, stderr := runCtl(t, map[string]string{"KOJI_PKI_DIR": pdir}, "certs", "init"); code != 0 {
		t.Errorf("KOJI_PKI_DIR: exit %d: %s", code, stderr)
	} else if _, err := os.Stat(filepath.Join(pdir, "ca.crt")); err != nil {
		t.Error(err)
	}
	if code, _, _ := runCtl(t, env, "certs", "-h"); code != 0 {
		t.Errorf("certs -h: exit %d", code)
	}
}

// TestCertsInitNext: the "next:" line after certs init is a command that
// finds the new CA: with --dir when the CA is not in the default place.
func TestCertsInitNext(t *testing.T) {
	home := t.TempDir()
	te := newTestEnv(t, "")
	te.vars["HOME"] = home
	next := func(out string) string {
		t.Helper()
		_, line, ok := strings.Cut(out, "\nnext: ")
		if !ok {
			t.Fatalf("no next: line in\n%s", out)
		}
		line, _, _ = strings.Cut(line, " [--san")
		return strings.Replace(line, "HUBNAME", "koji.example.com", 1)
	}
	dir := filepath.Join(t.TempDir(), "farm ca")
	out := te.mustRun(t, 0, "certs", "init", "--dir", dir)
	line := next(out)
	if want := "kojictl certs hub koji.example.com --dir '" + dir + "'"; line != want {
		t.Errorf("next: %q, want %q", line, want)
	}
	if code := te.typed(t, line); code != 0 {
		t.Errorf("%s: exit %d: %s", line, code, te.stderr.String())
	}
	// In the default directory (~/.kojigo/pki), no --dir is needed.
	out = te.mustRun(t, 0, "certs", "init")
	if line := next(out); line != "kojictl certs hub koji.example.com" {
		t.Errorf("next with the default dir: %q", line)
	} else if code := te.typed(t, line); code != 0 {
		t.Errorf("%s: exit %d: %s", line, code, te.stderr.String())
	}
}
