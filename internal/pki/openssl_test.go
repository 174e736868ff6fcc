package pki_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kojigo/internal/pki"
	"kojigo/internal/pki/pkitest"
	"kojigo/internal/testenv"
)

func runOpenSSL(t testing.TB, stdin string, args ...string) (string, error) {
	t.Helper()
	bin := testenv.NeedTool(t, "openssl")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestOpenSSLVerify: openssl verify accepts every certificate kojictl certs
// issues, for the purpose of its role, in both key types.
func TestOpenSSLVerify(t *testing.T) {
	testenv.NeedTool(t, "openssl")
	dir := t.TempDir()
	for _, alg := range []pki.KeyOptions{{}, {Algorithm: pki.KeyRSA, RSABits: 2048}} {
		d := pki.Dir{Path: filepath.Join(dir, string(alg.Algorithm)+"x")}
		if _, err := d.Init(pki.Request{Key: alg}); err != nil {
			t.Fatal(err)
		}
		issued := []struct {
			req     pki.Request
			file    string
			purpose []string
		}{
			{pki.Request{Role: pki.RoleHub, Name: "koji.example.com", DNSNames: []string{"koji"}}, "", []string{"sslserver"}},
			{pki.Request{Role: pki.RoleHost, Name: "builder1.example.com"}, "", []string{"sslclient"}},
			{pki.Request{Role: pki.RoleUser, Name: "alice"}, "", []string{"sslclient"}},
			{pki.Request{Role: pki.RoleKojira, Name: "kojira"}, "kojira", []string{"sslclient"}},
			{pki.Request{Role: pki.RoleWeb, Name: "kojiweb"}, "kojiweb", []string{"sslclient", "sslserver"}},
		}
		for _, is := range issued {
			is.req.Key = alg
			w, err := d.Issue(is.req, is.file)
			if err != nil {
				t.Fatal(err)
			}
			for _, purpose := range is.purpose {
				out, err := runOpenSSL(t, "", "verify", "-CAfile", d.CAFile(), "-purpose", purpose, w.CertFile)
				if err != nil || !strings.Contains(out, ": OK") {
					t.Errorf("openssl verify -purpose %s %s (%s): %v\n%s", purpose, w.CertFile, alg.Algorithm, err, out)
				}
			}
			// The wrong purpose is refused: the EKU is really there.
			if len(is.purpose) == 1 {
				wrong := map[string]string{"sslserver": "sslclient", "sslclient": "sslserver"}[is.purpose[0]]
				if out, err := runOpenSSL(t, "", "verify", "-CAfile", d.CAFile(), "-purpose", wrong, w.CertFile); err == nil {
					t.Errorf("openssl verify -purpose %s %s passed:\n%s", wrong, w.CertFile, out)
				}
			}
			// openssl reads the key files, the combined one included.
			for _, k := range []string{w.KeyFile, w.PEMFile} {
				if k == "" {
					continue
				}
				if out, err := runOpenSSL(t, "", "pkey", "-in", k, "-noout"); err != nil {
					t.Errorf("openssl pkey -in %s: %v\n%s", k, err, out)
				}
			}
		}
	}
}

// TestOpenSSLClient: openssl s_client completes a handshake with a Go TLS
// server configured by ServerTLSConfig, presenting a kojictl certs client
// certificate, verifying the server's, and logs in; an expired client
// certificate is refused and diagnosed on the server.
func TestOpenSSLClient(t *testing.T) {
	testenv.NeedTool(t, "openssl")
	f := pkitest.NewFarm(t, "kojigo CA A")
	hubF := f.Issue("hub", pki.Request{Role: pki.RoleHub, Name: "127.0.0.1"})
	alice := f.Issue("alice", pki.Request{Role: pki.RoleUser, Name: "alice"})
	rsa := f.Issue("rsa", pki.Request{Role: pki.RoleUser, Name: "rsa", Key: pki.KeyOptions{Algorithm: pki.KeyRSA, RSABits: 2048}})
	expired := f.Issue("expired", pki.Request{Role: pki.RoleHost, Name: "builder7", NotBefore: f.Now.AddDate(0, 0, -9), NotAfter: f.Now.AddDate(0, 0, -3)})
	hub := pkitest.StartHub(t, pkitest.HubOptions{CertFile: hubF.Cert, KeyFile: hubF.Key, ClientCAFile: f.CAFile})
	body := sslLoginCall
	req := fmt.Sprintf("POST /kojihub/ssllogin HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	sclient := func(certArgs ...string) (string, error) {
		args := append([]string{"s_client", "-connect", hub.Addr, "-CAfile", f.CAFile, "-verify_return_error", "-verify_ip", "127.0.0.1", "-quiet"}, certArgs...)
		return runOpenSSL(t, req, args...)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"separate files", []string{"-cert", alice.Cert, "-key", alice.Key}},
		{"combined file", []string{"-cert", alice.PEM}},
		{"rsa", []string{"-cert", rsa.Cert, "-key", rsa.Key}},
		{"tls1.2", []string{"-cert", alice.PEM, "-tls1_2"}},
	} {
		out, err := sclient(tc.args...)
		if err != nil || !strings.Contains(out, "<name>session-id</name>") {
			t.Errorf("s_client %s: %v\n%s", tc.name, err, out)
		}
	}
	if fs := hub.Failures(); len(fs) != 0 {
		t.Errorf("hub recorded failures for good clients: %+v", fs)
	}
	out, _ := sclient("-cert", expired.PEM)
	if strings.Contains(out, "session-id") {
		t.Errorf("expired certificate logged in:\n%s", out)
	}
	fs := hub.WaitFailures(1, 5*time.Second)
	if len(fs) != 1 || fs[0].Problem != pki.ProblemExpired || fs[0].CommonName != "builder7" || !strings.Contains(fs[0].Message, "expired 3 days ago") {
		t.Errorf("hub failures after an expired openssl client: %+v", fs)
	}
}

// TestOpenSSLEncryptedKeys: keys openssl encrypts are recognised as such.
func TestOpenSSLEncryptedKeys(t *testing.T) {
	testenv.NeedTool(t, "openssl")
	f := pkitest.NewFarm(t, "")
	a := f.Issue("alice", pki.Request{Role: pki.RoleUser, Name: "alice"})
	pkcs8 := filepath.Join(f.Dir, "enc8.key")
	legacy := filepath.Join(f.Dir, "encold.key")
	if out, err := runOpenSSL(t, "", "pkey", "-in", a.Key, "-aes256", "-passout", "pass:secret", "-out", pkcs8); err != nil {
		t.Fatalf("openssl pkey: %v\n%s", err, out)
	}
	if out, err := runOpenSSL(t, "", "ec", "-in", a.Key, "-aes256", "-passout", "pass:secret", "-out", legacy); err != nil {
		t.Fatalf("openssl ec: %v\n%s", err, out)
	}
	for _, k := range []string{pkcs8, legacy} {
		if _, err := pki.LoadKeyPair(a.Cert, k); problemOf(err) != pki.ProblemEncryptedKey {
			t.Errorf("LoadKeyPair(%s) = %v, want encrypted-key", filepath.Base(k), err)
		}
	}
}
