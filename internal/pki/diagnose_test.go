package pki_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
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

func TestIsTLSPortAnswer(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   bool
	}{
		{"Go net/http", 400, "Client sent an HTTP request to an HTTPS server.\n", true},
		{"Apache mod_ssl", 400, "<p>Your browser sent a request that this server could not understand.<br />\nReason: You're speaking plain HTTP to an SSL-enabled server port.<br />", true},
		{"nginx", 400, "<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>", true},
		{"other 400", 400, "Invalid request: Empty request", false},
		{"other status", 403, "Client sent an HTTP request to an HTTPS server.\n", false},
		{"XML-RPC", 400, "<?xml version='1.0'?><methodResponse><fault/></methodResponse>", false},
	}
	for _, tt := range tests {
		if got := pki.IsTLSPortAnswer(tt.status, tt.body); got != tt.want {
			t.Errorf("IsTLSPortAnswer(%d, %s) = %v, want %v", tt.status, tt.name, got, tt.want)
		}
	}
}

// TestDiagnoseSchemeMismatch: a server URL whose scheme the hub does not
// speak is explained with the URL to use, on the port that was dialled.
func TestDiagnoseSchemeMismatch(t *testing.T) {
	conn, peer := net.Pipe()
	defer conn.Close()
	defer peer.Close()
	answer := errors.New("HTTP 400 Bad Request: Client sent an HTTP request to an HTTPS server.")
	tests := []struct {
		name string
		err  error
		url  string
		want pki.Problem
		msg  string
	}{
		{"http to TLS", fmt.Errorf("%w: %w", pki.ErrTLSPort, answer), "http://koji.example.org:8443/kojihub", pki.ProblemPlainHTTP,
			"the hub at koji.example.org:8443 speaks TLS, not plain HTTP; use the server URL https://koji.example.org:8443/kojihub"},
		{"http to TLS, default port", fmt.Errorf("%w: %w", pki.ErrTLSPort, answer), "http://koji.example.org/kojihub", pki.ProblemPlainHTTP,
			"the hub at koji.example.org:80 speaks TLS, not plain HTTP; use the server URL https://koji.example.org:80/kojihub"},
		{"http to TLS, no URL", fmt.Errorf("%w: %w", pki.ErrTLSPort, answer), "", pki.ProblemPlainHTTP,
			"the hub speaks TLS, not plain HTTP; use an https:// server URL"},
		{"https to plain", &url.Error{Op: "Post", URL: "https://[2001:db8::1]/kojihub", Err: http.ErrSchemeMismatch}, "https://[2001:db8::1]/kojihub", pki.ProblemPlainHTTP,
			"the hub at [2001:db8::1]:443 speaks plain HTTP, not TLS; use the server URL http://[2001:db8::1]:443/kojihub, or set TLSCert and TLSKey in the hub's hub.conf to serve https://"},
		{"https to plain, record header", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake", RecordHeader: [5]byte{'H', 'T', 'T', 'P', '/'}, Conn: conn}, "https://h:8080/kojihub", pki.ProblemPlainHTTP,
			"the hub at h:8080 speaks plain HTTP, not TLS; use the server URL http://h:8080/kojihub, or set TLSCert and TLSKey in the hub's hub.conf to serve https://"},
		{"https to something else", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake", RecordHeader: [5]byte{'S', 'S', 'H', '-', '2'}, Conn: conn}, "https://h:22/kojihub", pki.ProblemHandshake,
			`the server at h:22 does not speak TLS (its answer began with "SSH-2"); check the host and port in the server URL`},
	}
	for _, tt := range tests {
		got := pki.DiagnoseClientError(tt.err, "", "", tt.url)
		var pe *pki.Error
		if !errors.As(got, &pe) || pe.Problem != tt.want || pe.Message != tt.msg {
			t.Errorf("DiagnoseClientError(%s) = %v, want %s: %q", tt.name, got, tt.want, tt.msg)
			continue
		}
		oneSentence(t, tt.name, pe.Message)
		if !errors.Is(got, tt.err) {
			t.Errorf("DiagnoseClientError(%s) does not wrap the error", tt.name)
		}
	}
}
