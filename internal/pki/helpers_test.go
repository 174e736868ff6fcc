package pki_test

import (
	"crypto/tls"
	"crypto/x509"
	"testing"

	"kojigo/internal/pki"
)

type tlsState struct{ certs []*x509.Certificate }

func (s *tlsState) state() *tls.ConnectionState {
	return &tls.ConnectionState{PeerCertificates: s.certs}
}

func readCert(t testing.TB, path string) *x509.Certificate {
	t.Helper()
	b, err := pki.ReadBundle(path, "certificate")
	if err != nil || len(b.Certs) == 0 {
		t.Fatalf("read %s: %v", path, err)
	}
	return b.Certs[0]
}
