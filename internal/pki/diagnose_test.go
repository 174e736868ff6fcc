package pki_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"testing"

	"kojigo/internal/pki"
	"kojigo/internal/pki/pkitest"
)

func TestDiagnoseHandshakeShapes(t *testing.T) {
	f := pkitest.NewFarm(t, "kojigo CA A")
	hubKP, _ := f.CA.Issue(pki.Request{Role: pki.RoleHub, Name: "koji.example.com"})
	userKP, _ := f.CA.Issue(pki.Request{Role: pki.RoleUser, Name: "alice"})
	alert := func(code uint8) error { return &net.OpError{Op: "remote error", Err: tls.AlertError(code)} }
	tests := []struct {
		name  string
		err   error
		info  pki.HandshakeInfo
		want  pki.Problem
		words []string
	}{
		{"nil", nil, pki.HandshakeInfo{}, pki.ProblemNone, nil},
		{"unknown error", errors.New("boom"), pki.HandshakeInfo{PeerAddr: "192.0.2.1:5"}, pki.ProblemHandshake, []string{"192.0.2.1:5", "boom"}},
		{"unknown authority, no certificate known", x509.UnknownAuthorityError{}, pki.HandshakeInfo{}, pki.ProblemUnknownCA, []string{"not signed by a trusted CA"}},
		{"hub cert, no serverca", x509.UnknownAuthorityError{Cert: hubKP.Cert}, pki.HandshakeInfo{Side: pki.SideClient}, pki.ProblemWrongServerCA, []string{"no serverca is configured"}},
		{"hostname", x509.HostnameError{Certificate: hubKP.Cert, Host: "10.0.0.1"}, pki.HandshakeInfo{Side: pki.SideClient}, pki.ProblemHostnameMismatch, []string{"koji.example.com", `"10.0.0.1"`}},
		{"plain http, server side", tls.RecordHeaderError{}, pki.HandshakeInfo{Side: pki.SideServer, PeerAddr: "192.0.2.1:5"}, pki.ProblemPlainHTTP, []string{"https://"}},
		{"client refused, hub cert unknown", alert(48), pki.HandshakeInfo{Side: pki.SideServer}, pki.ProblemWrongServerCA, []string{"unknown certificate authority"}},
		{"client refused as expired, hub cert fine", alert(45), pki.HandshakeInfo{Side: pki.SideServer, OwnCert: hubKP.Cert}, pki.ProblemPeerRejected, []string{"clock"}},
		{"client aborted", alert(80), pki.HandshakeInfo{Side: pki.SideServer}, pki.ProblemHandshake, []string{"internal error"}},
		{"hub wants a certificate", alert(116), pki.HandshakeInfo{Side: pki.SideClient}, pki.ProblemNoClientCert, []string{"requires a client certificate"}},
		{"hub refused as expired, valid here", alert(45), pki.HandshakeInfo{Side: pki.SideClient, OwnCert: userKP.Cert}, pki.ProblemExpired, []string{"hub's clock"}},
		{"hub refused, valid here", alert(42), pki.HandshakeInfo{Side: pki.SideClient, OwnCert: userKP.Cert}, pki.ProblemUnknownCA, []string{"TLSClientCA", `"kojigo CA A"`}},
		{"hub refused as revoked", alert(44), pki.HandshakeInfo{Side: pki.SideClient, OwnCert: userKP.Cert}, pki.ProblemPeerRejected, []string{"revoked"}},
		{"diagnosed already", &pki.Error{Problem: pki.ProblemExpired, Message: "x"}, pki.HandshakeInfo{}, pki.ProblemExpired, []string{"x"}},
	}
	for _, tc := range tests {
		d := pki.DiagnoseHandshake(tc.err, tc.info)
		if d.Problem != tc.want {
			t.Errorf("DiagnoseHandshake(%s) = %q %q, want %q", tc.name, d.Problem, d.Message, tc.want)
			continue
		}
		if tc.err == nil {
			if d.Message != "" || d.Err != nil {
				t.Errorf("DiagnoseHandshake(nil) = %+v", d)
			}
			continue
		}
		oneSentence(t, tc.name, d.Message)
		for _, w := range tc.words {
			if !strings.Contains(d.Message, w) {
				t.Errorf("DiagnoseHandshake(%s) = %q, lacks %q", tc.name, d.Message, w)
			}
		}
		if !errors.Is(d.AsError(), tc.err) {
			t.Errorf("DiagnoseHandshake(%s).AsError() does not wrap the error", tc.name)
		}
	}
}
