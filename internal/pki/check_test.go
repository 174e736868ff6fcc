package pki_test

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kojigo/internal/pki"
	"kojigo/internal/pki/pkitest"
)

func problems(fs []pki.Finding) []pki.Problem {
	var out []pki.Problem
	for _, f := range fs {
		out = append(out, f.Problem)
	}
	return out
}

func hasProblem(fs []pki.Finding, p pki.Problem, sev pki.Severity) bool {
	for _, f := range fs {
		if f.Problem == p && f.Severity == sev {
			return true
		}
	}
	return false
}

func TestCheckFilesSetups(t *testing.T) {
	for _, s := range pkitest.Setups(t) {
		if s.Cert == "" {
			continue
		}
		fs := pki.CheckFiles(pki.Files{Cert: s.Cert, CA: s.ServerCA}, s.Role, s.User, time.Now())
		for _, f := range fs {
			oneSentence(t, s.Name, f.Message)
		}
		if s.LocalProblem == "" {
			if len(fs) != 0 {
				t.Errorf("CheckFiles(%s) = %v, want nothing", s.Name, fs)
			}
			continue
		}
		found := false
		for _, f := range fs {
			found = found || f.Problem == s.LocalProblem
		}
		if !found {
			t.Errorf("CheckFiles(%s) = %v, want %q", s.Name, problems(fs), s.LocalProblem)
		}
	}
}

func TestCheckFilesRoles(t *testing.T) {
	f := pkitest.NewFarm(t, "")
	now := f.Now
	hub := f.Issue("hub", pki.Request{Role: pki.RoleHub, Name: "koji.example.com", DNSNames: []string{"koji"}})
	soon := f.Issue("soon", pki.Request{Role: pki.RoleUser, Name: "soon", NotAfter: now.AddDate(0, 0, 12)})
	web := f.Issue("web", pki.Request{Role: pki.RoleWeb, Name: "kojiweb"})
	user := f.Issue("alice", pki.Request{Role: pki.RoleUser, Name: "alice"})
	ca := pki.Files{CA: f.CAFile}
	with := func(fs pki.Files, cert, key string) pki.Files { fs.Cert, fs.Key = cert, key; return fs }
	tests := []struct {
		name  string
		files pki.Files
		role  pki.Role
		who   string
		want  pki.Problem
		sev   pki.Severity
		words []string
	}{
		{"hub ok", with(ca, hub.Cert, hub.Key), pki.RoleHub, "koji.example.com", "", 0, nil},
		{"hub other SAN ok", with(ca, hub.Cert, hub.Key), pki.RoleHub, "koji", "", 0, nil},
		{"hub wrong name", with(ca, hub.Cert, hub.Key), pki.RoleHub, "127.0.0.1", pki.ProblemHostnameMismatch, pki.SeverityError, []string{"koji.example.com, koji", `"127.0.0.1"`}},
		{"hub cert as client", with(ca, hub.PEM, ""), pki.RoleHost, "koji.example.com", pki.ProblemWrongEKU, pki.SeverityError, []string{"clientAuth"}},
		{"user cert as hub", with(ca, user.Cert, user.Key), pki.RoleHub, "alice", pki.ProblemWrongEKU, pki.SeverityError, []string{"serverAuth"}},
		{"web both ways", with(ca, web.PEM, ""), pki.RoleWeb, "", "", 0, nil},
		{"expiring soon", with(ca, soon.PEM, ""), pki.RoleUser, "soon", pki.ProblemExpiringSoon, pki.SeverityWarning, []string{"expires in 11 days", "kojictl certs renew " + soon.PEM}},
		{"CA as client cert", with(ca, f.CAFile, filepath.Join(f.Dir, "ca.key")), pki.RoleUser, "alice", pki.ProblemIsCA, pki.SeverityError, []string{"is a CA certificate"}},
		{"client cert without key", with(ca, user.Cert, ""), pki.RoleUser, "alice", pki.ProblemWrongType, pki.SeverityError, []string{"NAME.pem"}},
		{"key file is a cert", with(ca, user.Cert, hub.Cert), pki.RoleUser, "alice", pki.ProblemWrongType, pki.SeverityError, nil},
		{"wrong key file", with(ca, user.Cert, hub.Key), pki.RoleUser, "alice", pki.ProblemKeyMismatch, pki.SeverityError, []string{"private key " + hub.Key}},
		{"ca file is a key", pki.Files{Cert: user.PEM, CA: user.Key}, pki.RoleUser, "alice", pki.ProblemWrongType, pki.SeverityError, []string{"never at a key"}},
		{"ca file with key", pki.Files{Cert: user.PEM, CA: user.PEM}, pki.RoleUser, "alice", pki.ProblemInsecurePerms, pki.SeverityWarning, nil},
		{"name differs in case", with(ca, user.PEM, ""), pki.RoleUser, "Alice", pki.ProblemNameMismatch, pki.SeverityError, []string{`"alice"`, `"Alice"`}},
	}
	for _, tc := range tests {
		fs := pki.CheckFiles(tc.files, tc.role, tc.who, now)
		for _, f := range fs {
			oneSentence(t, tc.name, f.Message)
		}
		if tc.want == "" {
			if len(fs) != 0 {
				t.Errorf("CheckFiles(%s) = %v, want nothing", tc.name, fs)
			}
			continue
		}
		if !hasProblem(fs, tc.want, tc.sev) {
			t.Errorf("CheckFiles(%s) = %v, want %s %q", tc.name, fs, tc.sev, tc.want)
			continue
		}
		for _, f := range fs {
			if f.Problem != tc.want {
				continue
			}
			for _, w := range tc.words {
				if !strings.Contains(f.Message, w) {
					t.Errorf("CheckFiles(%s) message %q lacks %q", tc.name, f.Message, w)
				}
			}
		}
	}
}

func TestCheckCAFile(t *testing.T) {
	f := pkitest.NewFarm(t, "")
	user := f.Issue("alice", pki.Request{Role: pki.RoleUser, Name: "alice"})
	if fs := pki.CheckCAFile(f.CAFile, f.Now); len(fs) != 0 {
		t.Errorf("CheckCAFile(good) = %v", fs)
	}
	if fs := pki.CheckCAFile(user.Cert, f.Now); !hasProblem(fs, pki.ProblemNotCA, pki.SeverityError) {
		t.Errorf("CheckCAFile(leaf) = %v", fs)
	}
	if fs := pki.CheckCAFile(f.CAFile, f.Now.AddDate(11, 0, 0)); !hasProblem(fs, pki.ProblemExpired, pki.SeverityError) || !strings.Contains(fs[0].Message, "CA certificate") {
		t.Errorf("CheckCAFile(in 11 years) = %v", fs)
	}
	if fs := pki.CheckCAFile(f.CAFile, f.Now.AddDate(10, 0, -20)); !hasProblem(fs, pki.ProblemExpiringSoon, pki.SeverityWarning) {
		t.Errorf("CheckCAFile(20 days before the end) = %v", fs)
	}
	if fs := pki.CheckCAFile(filepath.Join(f.Dir, "none"), f.Now); !hasProblem(fs, pki.ProblemMissing, pki.SeverityError) {
		t.Errorf("CheckCAFile(missing) = %v", fs)
	}
}

func TestCheckCert(t *testing.T) {
	f := pkitest.NewFarm(t, "")
	u, err := f.CA.Issue(pki.Request{Role: pki.RoleUser, Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := f.CA.Issue(pki.Request{Role: pki.RoleUser, Name: "bob"})
	ca := []*x509.Certificate{f.CA.Cert}
	if fs := pki.CheckCert(u.Cert, u.Key, ca, pki.RoleUser, "alice", f.Now); len(fs) != 0 {
		t.Errorf("CheckCert(good) = %v", fs)
	}
	tests := []struct {
		name string
		fs   []pki.Finding
		want pki.Problem
	}{
		{"nil", pki.CheckCert(nil, nil, nil, pki.RoleUser, "", f.Now), pki.ProblemMissing},
		{"other key", pki.CheckCert(u.Cert, other.Key, ca, pki.RoleUser, "alice", f.Now), pki.ProblemKeyMismatch},
		{"wrong key type", pki.CheckCert(u.Cert, "not a key", ca, pki.RoleUser, "alice", f.Now), pki.ProblemWrongType},
		{"expired", pki.CheckCert(u.Cert, nil, ca, pki.RoleUser, "", f.Now.AddDate(3, 0, 0)), pki.ProblemExpired},
		{"not yet valid", pki.CheckCert(u.Cert, nil, ca, pki.RoleUser, "", f.Now.Add(-time.Hour)), pki.ProblemNotYetValid},
		{"other name", pki.CheckCert(u.Cert, nil, ca, pki.RoleHost, "builder1", f.Now), pki.ProblemNameMismatch},
		{"other CA", pki.CheckCert(u.Cert, nil, []*x509.Certificate{pkitest.NewFarm(t, "x").CA.Cert}, pki.RoleUser, "", f.Now), pki.ProblemUnknownCA},
	}
	for _, tc := range tests {
		if len(tc.fs) == 0 || tc.fs[0].Problem != tc.want {
			t.Errorf("CheckCert(%s) = %v, want %q", tc.name, tc.fs, tc.want)
			continue
		}
		oneSentence(t, tc.name, tc.fs[0].Message)
		if tc.name != "nil" && !strings.Contains(tc.fs[0].Message, "CN=alice") {
			t.Errorf("CheckCert(%s) message %q does not name the certificate", tc.name, tc.fs[0].Message)
		}
	}
}

func TestCheckPermissions(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "k")
	pkitest.WriteFile(t, p, []byte("x"), 0o600)
	tests := []struct {
		mode   os.FileMode
		secret bool
		want   pki.Severity
		found  bool
	}{
		{0o600, true, 0, false},
		{0o400, true, 0, false},
		{0o640, true, pki.SeverityWarning, true},
		{0o644, true, pki.SeverityError, true},
		{0o644, false, 0, false},
		{0o666, false, pki.SeverityError, true},
		{0o602, true, pki.SeverityError, true},
	}
	for _, tc := range tests {
		os.Chmod(p, tc.mode)
		fs := pki.CheckPermissions(p, tc.secret)
		if (len(fs) > 0) != tc.found || tc.found && (fs[0].Severity != tc.want || fs[0].Problem != pki.ProblemInsecurePerms) {
			t.Errorf("CheckPermissions(%04o, secret=%v) = %v, want found=%v %s", tc.mode, tc.secret, fs, tc.found, tc.want)
		}
		if tc.found && !strings.Contains(fs[0].Message, "chmod") {
			t.Errorf("CheckPermissions(%04o) = %q, want a chmod fix", tc.mode, fs[0].Message)
		}
	}
	if fs := pki.CheckPermissions(filepath.Join(dir, "none"), true); fs != nil {
		t.Errorf("CheckPermissions(missing) = %v", fs)
	}
	if fs := pki.CheckPermissions(dir, true); fs != nil {
		t.Errorf("CheckPermissions(dir) = %v", fs)
	}
}

func TestSeverityText(t *testing.T) {
	for _, s := range []pki.Severity{pki.SeverityOK, pki.SeverityWarning, pki.SeverityError} {
		b, _ := s.MarshalText()
		var back pki.Severity
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("round trip %v: %v %v", s, back, err)
		}
	}
	var s pki.Severity
	if err := s.UnmarshalText([]byte("fatal")); err == nil {
		t.Error("UnmarshalText(fatal) succeeded")
	}
}
