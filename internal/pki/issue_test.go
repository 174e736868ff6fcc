package pki_test

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"kojigo/internal/pki"
)

func newCA(t testing.TB) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA(pki.Request{})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestIssueRoles(t *testing.T) {
	ca := newCA(t)
	if !ca.Cert.IsCA || !strings.HasPrefix(ca.Cert.Subject.CommonName, "kojigo CA ") {
		t.Fatalf("CA cert: IsCA=%v CN=%q", ca.Cert.IsCA, ca.Cert.Subject.CommonName)
	}
	if _, ok := ca.Key.(*ecdsa.PrivateKey); !ok {
		t.Errorf("CA key is %T, want ECDSA by default", ca.Key)
	}
	server, client := x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth
	tests := []struct {
		role    pki.Role
		name    string
		sans    []string
		eku     []x509.ExtKeyUsage
		dns     []string
		ips     []string
		nameErr bool
	}{
		{pki.RoleHub, "koji.example.com", []string{"koji"}, []x509.ExtKeyUsage{server}, []string{"koji.example.com", "koji"}, nil, false},
		{pki.RoleHub, "127.0.0.1", nil, []x509.ExtKeyUsage{server}, nil, []string{"127.0.0.1"}, false},
		{pki.RoleHost, "builder1.example.com", nil, []x509.ExtKeyUsage{client}, nil, nil, false},
		{pki.RoleUser, "alice", nil, []x509.ExtKeyUsage{client}, nil, nil, false},
		{pki.RoleKojira, "kojira", nil, []x509.ExtKeyUsage{client}, nil, nil, false},
		{pki.RoleWeb, "kojiweb", []string{"koji.example.com"}, []x509.ExtKeyUsage{server, client}, []string{"kojiweb", "koji.example.com"}, nil, false},
	}
	for _, tc := range tests {
		var ips []net.IP
		kp, err := ca.Issue(pki.Request{Role: tc.role, Name: tc.name, DNSNames: tc.sans, IPAddresses: ips})
		if err != nil {
			t.Fatalf("Issue(%s %s): %v", tc.role, tc.name, err)
		}
		c := kp.Cert
		if c.Subject.CommonName != tc.name {
			t.Errorf("Issue(%s %s): CN = %q", tc.role, tc.name, c.Subject.CommonName)
		}
		if !slices.Equal(c.ExtKeyUsage, tc.eku) {
			t.Errorf("Issue(%s %s): EKU = %v, want %v", tc.role, tc.name, c.ExtKeyUsage, tc.eku)
		}
		if !slices.Equal(c.DNSNames, tc.dns) {
			t.Errorf("Issue(%s %s): DNSNames = %v, want %v", tc.role, tc.name, c.DNSNames, tc.dns)
		}
		var gotIPs []string
		for _, ip := range c.IPAddresses {
			gotIPs = append(gotIPs, ip.String())
		}
		if !slices.Equal(gotIPs, tc.ips) {
			t.Errorf("Issue(%s %s): IPs = %v, want %v", tc.role, tc.name, gotIPs, tc.ips)
		}
		if c.IsCA {
			t.Errorf("Issue(%s %s): leaf is a CA", tc.role, tc.name)
		}
		if err := c.CheckSignatureFrom(ca.Cert); err != nil {
			t.Errorf("Issue(%s %s): not signed by the CA: %v", tc.role, tc.name, err)
		}
		if d := c.NotAfter.Sub(c.NotBefore); d < (pki.DefaultDays*24-1)*time.Hour || d > (pki.DefaultDays*24+1)*time.Hour {
			t.Errorf("Issue(%s %s): validity %v, want about %d days", tc.role, tc.name, d, pki.DefaultDays)
		}
		if c.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
			t.Errorf("Issue(%s %s): no digitalSignature key usage", tc.role, tc.name)
		}
	}
}

func TestIssueRSA(t *testing.T) {
	ca := newCA(t)
	kp, err := ca.Issue(pki.Request{Role: pki.RoleUser, Name: "bob", Key: pki.KeyOptions{Algorithm: pki.KeyRSA, RSABits: 2048}, Days: 10})
	if err != nil {
		t.Fatal(err)
	}
	k, ok := kp.Key.(*rsa.PrivateKey)
	if !ok || k.N.BitLen() != 2048 {
		t.Fatalf("key = %T, want 2048-bit RSA", kp.Key)
	}
	if kp.Cert.KeyUsage&x509.KeyUsageKeyEncipherment == 0 {
		t.Error("RSA leaf lacks keyEncipherment")
	}
	if d := kp.Cert.NotAfter.Sub(time.Now()); d < 9*24*time.Hour || d > 11*24*time.Hour {
		t.Errorf("Days: 10 gave NotAfter in %v", d)
	}
}

func TestIssueRejects(t *testing.T) {
	ca := newCA(t)
	long := strings.Repeat("a", 65)
	tests := []struct {
		name string
		req  pki.Request
	}{
		{"empty name", pki.Request{Role: pki.RoleUser}},
		{"slash", pki.Request{Role: pki.RoleUser, Name: "../etc/passwd"}},
		{"space", pki.Request{Role: pki.RoleUser, Name: "a b"}},
		{"newline", pki.Request{Role: pki.RoleUser, Name: "a\nb"}},
		{"nul", pki.Request{Role: pki.RoleUser, Name: "a\x00b"}},
		{"too long", pki.Request{Role: pki.RoleUser, Name: long}},
		{"leading dash", pki.Request{Role: pki.RoleUser, Name: "-rf"}},
		{"leading dot", pki.Request{Role: pki.RoleUser, Name: ".hidden"}},
		{"no role", pki.Request{Name: "alice"}},
		{"ca role", pki.Request{Role: pki.RoleCA, Name: "alice"}},
		{"unknown role", pki.Request{Role: "admin", Name: "alice"}},
		{"negative days", pki.Request{Role: pki.RoleUser, Name: "alice", Days: -1}},
		{"absurd days", pki.Request{Role: pki.RoleUser, Name: "alice", Days: 1 << 30}},
		{"ends before start", pki.Request{Role: pki.RoleUser, Name: "alice", NotBefore: time.Now(), NotAfter: time.Now().Add(-time.Hour)}},
		{"outlives CA", pki.Request{Role: pki.RoleUser, Name: "alice", Days: pki.DefaultCADays + 10}},
		{"bad SAN", pki.Request{Role: pki.RoleHub, Name: "koji", DNSNames: []string{"bad name"}}},
		{"SAN label dash", pki.Request{Role: pki.RoleHub, Name: "koji", DNSNames: []string{"-x.example"}}},
		{"weak rsa", pki.Request{Role: pki.RoleUser, Name: "alice", Key: pki.KeyOptions{Algorithm: pki.KeyRSA, RSABits: 1024}}},
		{"unknown algorithm", pki.Request{Role: pki.RoleUser, Name: "alice", Key: pki.KeyOptions{Algorithm: "dsa"}}},
	}
	for _, tc := range tests {
		if kp, err := ca.Issue(tc.req); err == nil {
			t.Errorf("Issue(%s) = %v, want an error", tc.name, kp.Cert.Subject)
		}
	}
	if _, err := (*pki.CA)(nil).Issue(pki.Request{Role: pki.RoleUser, Name: "x"}); err == nil {
		t.Error("nil CA issued a certificate")
	}
	if _, err := pki.NewCA(pki.Request{Role: pki.RoleUser}); err == nil {
		t.Error("NewCA with role user succeeded")
	}
	if _, err := pki.NewCA(pki.Request{Name: strings.Repeat("x", 70)}); err == nil {
		t.Error("NewCA with a 70-character name succeeded")
	}
	if _, err := pki.SelfSigned(pki.Request{Role: pki.RoleCA, Name: "x"}); err == nil {
		t.Error("SelfSigned with role ca succeeded")
	}
}

func TestDirWritesAndRefusesOverwrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	d := pki.Dir{Path: dir}
	if _, err := d.Issue(pki.Request{Role: pki.RoleUser, Name: "alice"}, ""); err == nil || !strings.Contains(err.Error(), "kojictl certs init") {
		t.Fatalf("Issue without a CA: %v, want advice to run init", err)
	}
	ca, err := d.Init(pki.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v, %v, want 0700", fi.Mode().Perm(), err)
	}
	w, err := d.Issue(pki.Request{Role: pki.RoleHost, Name: "builder1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{ca.CertFile: 0o644, ca.KeyFile: 0o600, w.CertFile: 0o644, w.KeyFile: 0o600, w.PEMFile: 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", path, fi.Mode().Perm(), want)
		}
	}
	// The combined file is certificate then key and loads by itself.
	kp, err := pki.LoadKeyPair(w.PEMFile, "")
	if err != nil {
		t.Fatalf("LoadKeyPair(%s) = %v", w.PEMFile, err)
	}
	if !kp.Cert.Equal(w.Pair.Cert) {
		t.Error("combined file holds another certificate")
	}
	data, _ := os.ReadFile(w.PEMFile)
	if !strings.HasPrefix(string(data), "-----BEGIN CERTIFICATE-----") || !strings.Contains(string(data), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("combined file layout:\n%s", data)
	}
	before, _ := os.ReadFile(w.CertFile)
	if _, err := d.Issue(pki.Request{Role: pki.RoleHost, Name: "builder1"}, ""); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("second Issue: %v, want a refusal that mentions --force", err)
	}
	if after, _ := os.ReadFile(w.CertFile); string(after) != string(before) {
		t.Error("refused Issue changed the certificate")
	}
	if _, err := d.Init(pki.Request{}); err == nil {
		t.Error("second Init overwrote the CA")
	}
	d.Force = true
	if _, err := d.Issue(pki.Request{Role: pki.RoleHost, Name: "builder1"}, ""); err != nil {
		t.Fatalf("Issue --force: %v", err)
	}
	if after, _ := os.ReadFile(w.CertFile); string(after) == string(before) {
		t.Error("Issue --force left the old certificate")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
	// Hub certificates have no combined file: the hub reads two files.
	hw, err := d.Issue(pki.Request{Role: pki.RoleHub, Name: "koji.example.com"}, "")
	if err != nil || hw.PEMFile != "" {
		t.Errorf("hub Issue: %v, PEMFile %q, want none", err, hw.PEMFile)
	}
}

func TestDirRenew(t *testing.T) {
	dir := t.TempDir()
	d := pki.Dir{Path: dir}
	if _, err := d.Init(pki.Request{}); err != nil {
		t.Fatal(err)
	}
	w, err := d.Issue(pki.Request{Role: pki.RoleHub, Name: "koji.example.com", DNSNames: []string{"koji"}, Days: 5}, "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.Renew(w.CertFile, 0)
	if err != nil {
		t.Fatal(err)
	}
	old, nw := w.Pair.Cert, r.Pair.Cert
	if nw.Subject.String() != old.Subject.String() || !slices.Equal(nw.DNSNames, old.DNSNames) {
		t.Errorf("renew changed subject or names: %v %v -> %v %v", old.Subject, old.DNSNames, nw.Subject, nw.DNSNames)
	}
	if nw.SerialNumber.Cmp(old.SerialNumber) == 0 || !nw.NotAfter.After(old.NotAfter) {
		t.Error("renew kept the serial or did not extend validity")
	}
	if r.Role != pki.RoleHub || !slices.Equal(nw.ExtKeyUsage, old.ExtKeyUsage) {
		t.Errorf("renew role %s EKU %v", r.Role, nw.ExtKeyUsage)
	}
	if _, err := pki.LoadKeyPair(w.CertFile, w.KeyFile); err != nil {
		t.Errorf("renewed files do not load: %v", err)
	}

	// Renewing the CA keeps its key, so what it issued still verifies.
	u, err := d.Issue(pki.Request{Role: pki.RoleUser, Name: "alice"}, "")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := d.Renew(d.CAFile(), 0)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(rc.Pair.Cert)
	if _, err := u.Pair.Cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("certificate issued before the CA renewal no longer verifies: %v", err)
	}
	if ru, err := d.Renew(u.PEMFile, 30); err != nil || ru.Role != pki.RoleUser || ru.PEMFile != u.PEMFile {
		t.Errorf("renew of the combined file: %v, %+v", err, ru)
	}

	// A certificate from another CA is not renewed here.
	other := pki.Dir{Path: t.TempDir()}
	other.Init(pki.Request{})
	ow, err := other.Issue(pki.Request{Role: pki.RoleUser, Name: "eve"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Renew(ow.CertFile, 0); err == nil || !strings.Contains(err.Error(), "not by the CA in") {
		t.Errorf("renew of a foreign certificate: %v", err)
	}
	for _, bad := range []string{filepath.Join(dir, "nope.crt"), dir, w.KeyFile} {
		if _, err := d.Renew(bad, 0); err == nil {
			t.Errorf("Renew(%s) succeeded", bad)
		}
	}
}
