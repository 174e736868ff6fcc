package pkitest

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"kojigo/internal/pki"
)

// Setup is one certificate setup of a hub and a client, sound or broken,
// with the diagnosis each side must give. An empty Problem means that side
// sees no failure.
type Setup struct {
	Name string
	Hub  HubOptions
	// The client's Koji settings: cert (certificate and key in one file),
	// serverca, and the user or host it must log in as.
	Cert, ServerCA string
	Role           pki.Role
	User           string
	// HubProblem is what the hub records (handshake or sslLogin).
	HubProblem pki.Problem
	// ClientProblem is what the client's diagnosis says, for a client built
	// with pki.NewClient (load errors included).
	ClientProblem pki.Problem
	// LocalProblem is what pki.CheckFiles finds in the client's files
	// alone, without talking to the hub.
	LocalProblem pki.Problem
	// Words must all appear in the client's diagnosis.
	Words []string
}

// Setups builds every setup of issue 3's list, and a sound one first, in
// two farms: CA "kojigo CA A" (the hub's and the clients') and "kojigo CA B"
// (another CA). The hub's certificate is for 127.0.0.1.
func Setups(t testing.TB) []Setup {
	t.Helper()
	a := NewFarm(t, "kojigo CA A")
	b := NewFarm(t, "kojigo CA B")
	now := a.Now
	hub := a.Issue("hub", pki.Request{Role: pki.RoleHub, Name: "127.0.0.1"})
	hubOpts := HubOptions{CertFile: hub.Cert, KeyFile: hub.Key, ClientCAFile: a.CAFile, UserTypes: map[string]int{"builder1": 1}}
	hubWith := func(f func(*HubOptions)) HubOptions {
		o := hubOpts
		f(&o)
		return o
	}
	client := func(file string, req pki.Request) string {
		if req.Role == "" {
			req.Role = pki.RoleHost
		}
		if req.Name == "" {
			req.Name = "builder1"
		}
		return a.Issue(file, req).PEM
	}
	good := client("builder1", pki.Request{})
	user := client("alice", pki.Request{Role: pki.RoleUser, Name: "alice"})
	expired := client("expired", pki.Request{NotBefore: now.AddDate(0, 0, -30), NotAfter: now.AddDate(0, 0, -3)})
	future := client("future", pki.Request{NotBefore: now.AddDate(0, 0, 2), NotAfter: now.AddDate(0, 0, 30)})
	noClientAuth := client("noclientauth", pki.Request{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	fromB := b.Issue("builder1-b", pki.Request{Role: pki.RoleHost, Name: "builder1"}).PEM
	self := a.SelfSigned("selfsigned", pki.Request{Role: pki.RoleHost, Name: "builder1"}).PEM
	hubExpired := a.Issue("hub-expired", pki.Request{Role: pki.RoleHub, Name: "127.0.0.1", NotBefore: now.AddDate(0, 0, -60), NotAfter: now.AddDate(0, 0, -5)})
	hubFuture := a.Issue("hub-future", pki.Request{Role: pki.RoleHub, Name: "127.0.0.1", NotBefore: now.AddDate(0, 0, 3), NotAfter: now.AddDate(0, 0, 60)})
	hubOtherName := a.Issue("hub-othername", pki.Request{Role: pki.RoleHub, Name: "koji.example.com"})
	hubNoServerAuth := a.Issue("hub-noserverauth", pki.Request{Role: pki.RoleHub, Name: "127.0.0.1", ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})

	// A certificate with another certificate's key.
	other := client("other", pki.Request{Name: "other"})
	mismatch := filepath.Join(a.Dir, "mismatch.pem")
	WriteFile(t, mismatch, append(certBlock(t, good), keyBlock(t, other)...), 0o600)
	truncated := filepath.Join(a.Dir, "truncated.pem")
	data, _ := os.ReadFile(good)
	WriteFile(t, truncated, data[:len(data)*2/3], 0o600)
	encrypted := filepath.Join(a.Dir, "encrypted.pem")
	WriteFile(t, encrypted, append(certBlock(t, good), pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("0123456789abcdef")})...), 0o600)

	return []Setup{
		{Name: "sound host", Hub: hubOpts, Cert: good, ServerCA: a.CAFile, Role: pki.RoleHost, User: "builder1"},
		{Name: "sound user", Hub: hubOpts, Cert: user, ServerCA: a.CAFile, Role: pki.RoleUser, User: "alice"},
		{Name: "hub trusts another CA", Hub: hubWith(func(o *HubOptions) { o.ClientCAFile = b.CAFile }), Cert: good, ServerCA: a.CAFile, Role: pki.RoleHost, User: "builder1",
			HubProblem: pki.ProblemUnknownCA, ClientProblem: pki.ProblemUnknownCA, Words: []string{`"kojigo CA A"`, `"kojigo CA B"`, "TLSClientCA"}},
		{Name: "client certificate from another CA", Hub: hubOpts, Cert: fromB, ServerCA: a.CAFile, Role: pki.RoleHost, User: "builder1",
			HubProblem: pki.ProblemUnknownCA, ClientProblem: pki.ProblemUnknownCA, LocalProblem: pki.ProblemUnknownCA, Words: []string{`"kojigo CA B"`}},
		{Name: "client certificate expired", Hub: hubOpts, Cert: expired, ServerCA: a.CAFile, Role: pki.RoleHost, User: "builder1",
			HubProblem: pki.ProblemExpired, ClientProblem: pki.ProblemExpired, LocalProblem: pki.ProblemExpired, Words: []string{"expired 3 days ago", "kojictl certs renew"}},
		{Name: "client certificate not yet valid", Hub: hubOpts, Cert: future, ServerCA: a.CAFile, Role: pki.RoleHost, User: "builder1",
			HubProblem: pki.ProblemNotYetValid, ClientProblem: pki.ProblemNotYetValid, LocalProblem: pki.ProblemNotYetValid, Words: []string{"not valid until", "clock"}},
		{Name: "client certificate without clientAuth", Hub: hubOpts, Cert: noClientAuth, ServerCA: a.CAFile, Role: pki.RoleHost, User: "builder1",
			HubProblem: pki.ProblemWrongEKU, ClientProblem: pki.ProblemWrongEKU, LocalProblem: pki.ProblemWrongEKU, Words: []string{"clientAuth"}},
		{Name: "self-signed client certificate", Hub: hubOpts, Cert: self, ServerCA: a.CAFile, Role: pki.RoleHost, User: "builder1",
			HubProblem: pki.ProblemSelfSigned, ClientProblem: pki.ProblemSelfSigned, LocalProblem: pki.ProblemSelfSigned, Words: []string{"self-signed"}},
		{Name: "CN is not the host name", Hub: hubOpts, Cert: user, ServerCA: a.CAFile, Role: pki.RoleHost, User: "builder1",
			HubProblem: "", ClientProblem: "", LocalProblem: pki.ProblemNameMismatch, Words: []string{`"alice"`, `"builder1"`}},
		{Name: "key does not match certificate", Hub: hubOpts, Cert: mismatch, ServerCA: a.CAFile, Role: pki.RoleHost, User: "builder1",
			ClientProblem: pki.ProblemKeyMismatch, LocalProblem: pki.ProblemKeyMismatch, Words: []string{"does not belong"}},
		{Name: "truncated PEM", Hub: hubOpts, Cert: truncated, ServerCA: a.CAFile, Role: pki.RoleHost, User: "builder1",
			ClientProblem: pki.ProblemTruncated, LocalProblem: pki.ProblemTruncated, Words: []string{"truncated"}},
		{Name: "encrypted key", Hub: hubOpts, Cert: encrypted, ServerCA: a.CAFile, Role: pki.RoleHost, User: "builder1",
			ClientProblem: pki.ProblemEncryptedKey, LocalProblem: pki.ProblemEncryptedKey, Words: []string{"passphrase", "openssl pkey"}},
		{Name: "no client certificate", Hub: hubOpts, Cert: "", ServerCA: a.CAFile, Role: pki.RoleUser, User: "alice",
			HubProblem: pki.ProblemNoClientCert, ClientProblem: pki.ProblemNoClientCert, Words: []string{"no client certificate"}},
		{Name: "hub certificate expired", Hub: hubWith(func(o *HubOptions) { o.CertFile, o.KeyFile = hubExpired.Cert, hubExpired.Key }), Cert: good, ServerCA: a.CAFile, Role: pki.RoleHost, User: "builder1",
			HubProblem: pki.ProblemExpired, ClientProblem: pki.ProblemExpired, Words: []string{"hub's certificate", "expired 5 days ago"}},
		{Name: "hub certificate not yet valid", Hub: hubWith(func(o *HubOptions) { o.CertFile, o.KeyFile = hubFuture.Cert, hubFuture.Key }), Cert: good, ServerCA: a.CAFile, Role: pki.RoleHost, User: "builder1",
			HubProblem: pki.ProblemNotYetValid, ClientProblem: pki.ProblemNotYetValid, Words: []string{"hub's certificate", "not valid until"}},
		{Name: "hub name not in SANs", Hub: hubWith(func(o *HubOptions) { o.CertFile, o.KeyFile = hubOtherName.Cert, hubOtherName.Key }), Cert: good, ServerCA: a.CAFile, Role: pki.RoleHost, User: "builder1",
			HubProblem: pki.ProblemWrongServerCA, ClientProblem: pki.ProblemHostnameMismatch, Words: []string{"koji.example.com", `"127.0.0.1"`}},
		{Name: "hub certificate without serverAuth", Hub: hubWith(func(o *HubOptions) { o.CertFile, o.KeyFile = hubNoServerAuth.Cert, hubNoServerAuth.Key }), Cert: good, ServerCA: a.CAFile, Role: pki.RoleHost, User: "builder1",
			HubProblem: pki.ProblemWrongEKU, ClientProblem: pki.ProblemWrongEKU, Words: []string{"serverAuth"}},
		{Name: "serverca is another CA", Hub: hubOpts, Cert: good, ServerCA: b.CAFile, Role: pki.RoleHost, User: "builder1",
			HubProblem: pki.ProblemWrongServerCA, ClientProblem: pki.ProblemWrongServerCA, LocalProblem: pki.ProblemUnknownCA, Words: []string{"serverca", b.CAFile, `"kojigo CA A"`}},
		{Name: "serverca is the client certificate", Hub: hubOpts, Cert: good, ServerCA: filepath.Join(a.Dir, "builder1.crt"), Role: pki.RoleHost, User: "builder1",
			HubProblem: pki.ProblemWrongServerCA, ClientProblem: pki.ProblemWrongServerCA, LocalProblem: pki.ProblemNotCA, Words: []string{"not a CA certificate"}},
		{Name: "serverca is missing", Hub: hubOpts, Cert: good, ServerCA: filepath.Join(a.Dir, "nope.crt"), Role: pki.RoleHost, User: "builder1",
			ClientProblem: pki.ProblemMissing, LocalProblem: pki.ProblemMissing, Words: []string{"does not exist"}},
	}
}

func certBlock(t testing.TB, path string) []byte {
	t.Helper()
	b, err := pki.ReadBundle(path, "certificate")
	if err != nil {
		t.Fatal(err)
	}
	return pki.EncodeCertPEM(b.Certs[0])
}

func keyBlock(t testing.TB, path string) []byte {
	t.Helper()
	b, err := pki.ReadBundle(path, "key")
	if err != nil || b.Key == nil {
		t.Fatalf("no key in %s: %v", path, err)
	}
	k, err := (&pki.KeyPair{Key: b.Key}).KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	return k
}
