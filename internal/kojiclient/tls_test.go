package kojiclient

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kojigo/internal/pki"
	"kojigo/internal/pki/pkitest"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t testing.TB, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns the certificate and key PEM for cn.
func (ca *testCA) issue(t testing.TB, cn string, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

func writeFile(t testing.TB, dir, name string, parts ...[]byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	var data []byte
	for _, b := range parts {
		data = append(data, b...)
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsHub starts a hub whose certificate is signed by ca and which accepts
// client certificates signed by clientCA (given, not required: anonymous
// calls work, as on a Koji hub where only /ssllogin needs one).
func tlsHub(t testing.TB, ca, clientCA *testCA) *fakeHub {
	t.Helper()
	return tlsHubAuth(t, ca, clientCA, tls.VerifyClientCertIfGiven)
}

func tlsHubAuth(t testing.TB, ca, clientCA *testCA, auth tls.ClientAuthType) *fakeHub {
	t.Helper()
	certPEM, keyPEM := ca.issue(t, "127.0.0.1", true)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(clientCA.cert)
	return newFakeHubTLS(t, &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   auth,
		ClientCAs:    pool,
	})
}

func TestSSLLoginWithClientCertificate(t *testing.T) {
	ca := newTestCA(t, "Koji CA")
	dir := t.TempDir()
	caFile := writeFile(t, dir, "serverca.crt", ca.pem)
	certPEM, keyPEM := ca.issue(t, "builder2", false)
	combined := writeFile(t, dir, "client.pem", certPEM, keyPEM)
	certOnly := writeFile(t, dir, "client.crt", certPEM)
	keyOnly := writeFile(t, dir, "client.key", keyPEM)

	for _, tt := range []struct {
		name      string
		cert, key string
	}{
		{"koji single pem", combined, ""},
		{"separate key", certOnly, keyOnly},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := tlsHub(t, ca, ca)
			c := newTestClient(t, h, func(o *Options) {
				o.Server = h.url()
				o.CertFile, o.KeyFile, o.ServerCAFile = tt.cert, tt.key, caFile
			})
			ctx := testCtx(t)
			if err := c.SSLLogin(ctx); err != nil {
				t.Fatalf("SSLLogin: %v", err)
			}
			u, err := c.GetLoggedInUser(ctx)
			if err != nil || u == nil || u.Name != "builder2" {
				t.Fatalf("GetLoggedInUser = %+v, %v; want builder2 from the certificate CN", u, err)
			}
			if err := c.ExclusiveSession(ctx, true); err != nil {
				t.Fatalf("ExclusiveSession: %v", err)
			}
			calls := h.recorded()
			if calls[0].Path != "/kojihub/ssllogin" || calls[1].Path != "/kojihub" {
				t.Errorf("paths = %q, %q; want /kojihub/ssllogin then /kojihub", calls[0].Path, calls[1].Path)
			}
		})
	}

	mismatched := writeFile(t, dir, "mismatch.pem", certPEM, func() []byte { _, k := ca.issue(t, "other", false); return k }())
	if _, err := New(Options{Server: "https://127.0.0.1/kojihub", CertFile: mismatched}); err == nil {
		t.Error("New accepted a certificate with someone else's key")
	}
}

// TestTLSFailuresAreNotRetried: a hub certificate from an unknown CA, or our
// certificate refused by the hub, cannot be fixed by retrying (Koji's
// is_requests_cert_error); the error is a TransportError after one attempt.
func TestTLSFailuresAreNotRetried(t *testing.T) {
	ca := newTestCA(t, "Koji CA")
	other := newTestCA(t, "Other CA")
	dir := t.TempDir()
	goodCA := writeFile(t, dir, "good-ca.crt", ca.pem)
	wrongCA := writeFile(t, dir, "wrong-ca.crt", other.pem)
	c1, k1 := other.issue(t, "builder2", false)
	strangerCert := writeFile(t, dir, "stranger.pem", c1, k1)

	tests := []struct {
		name     string
		serverCA string
		cert     string
		auth     tls.ClientAuthType
		login    bool
		names    string // what the diagnosis must name
	}{
		{"hub cert from unknown CA", wrongCA, "", tls.VerifyClientCertIfGiven, false, "wrong-ca.crt"},
		{"client cert from unknown CA", goodCA, strangerCert, tls.VerifyClientCertIfGiven, true, "stranger.pem"},
		{"client cert required", goodCA, strangerCert, tls.RequireAndVerifyClientCert, true, "stranger.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tlsHubAuth(t, ca, ca, tt.auth)
			c := newTestClient(t, h, func(o *Options) {
				o.Server = h.url()
				o.ServerCAFile, o.CertFile = tt.serverCA, tt.cert
				o.MaxRetries = 5
			})
			var err error
			if tt.login {
				err = c.SSLLogin(testCtx(t))
			} else {
				_, err = c.Call(testCtx(t), "getAPIVersion")
			}
			var te *TransportError
			if !errors.As(err, &te) {
				t.Fatalf("error %v (%T) is not a TransportError", err, err)
			}
			if te.Attempts != 1 {
				t.Errorf("TLS failure retried: %d attempts (%v)", te.Attempts, err)
			}
			if !isCertError(err) {
				t.Errorf("isCertError(%v) = false", err)
			}
			if c.LoggedIn() {
				t.Error("logged in despite the TLS failure")
			}
			if !strings.Contains(err.Error(), tt.names) {
				t.Errorf("error %q does not name %q", err, tt.names)
			}
			t.Logf("diagnosis: %v", err)
		})
	}
}

// TestSchemeMismatchIsNotRetried: a server URL whose scheme the hub does not
// speak (http:// on its TLS port, https:// on a plain one) cannot be fixed
// by retrying; the call ends after one attempt, without a wait, with pki's
// sentence naming the URL to use (issue 14, item 7).
func TestSchemeMismatchIsNotRetried(t *testing.T) {
	ca := newTestCA(t, "Koji CA")
	farm := pkitest.NewFarm(t, "")
	hubFiles := farm.Issue("hub", pki.Request{Role: pki.RoleHub, Name: "127.0.0.1"})
	answer400 := func(body string) func(w http.ResponseWriter, r *http.Request, c *hubCall) bool {
		return func(w http.ResponseWriter, r *http.Request, c *hubCall) bool {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, body)
			return true
		}
	}
	const (
		apache = "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>400 Bad Request</title>\n</head><body>\n<h1>Bad Request</h1>\n<p>Your browser sent a request that this server could not understand.<br />\nReason: You're speaking plain HTTP to an SSL-enabled server port.<br />\n Instead use the HTTPS scheme to access this URL, please.<br />\n</p>\n</body></html>\n"
		nginx  = "<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>The plain HTTP request was sent to HTTPS port</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
	)
	speaksTLS := "the hub at %s speaks TLS, not plain HTTP; use the server URL https://%[1]s/kojihub"
	speaksHTTP := "the hub at %s speaks plain HTTP, not TLS; use the server URL http://%[1]s/kojihub, or set TLSCert and TLSKey in the hub's hub.conf to serve https://"
	tests := []struct {
		name  string
		start func(t *testing.T) (addr string) // a hub; returns host:port
		url   string                           // server URL, %s = host:port
		want  string                           // the diagnosis, %s = host:port
	}{
		{"http to Go's TLS server", func(t *testing.T) string {
			return tlsHub(t, ca, ca).srv.Listener.Addr().String()
		}, "http://%s/kojihub", speaksTLS},
		{"http to the hub's TLS listener", func(t *testing.T) string {
			return pkitest.StartHub(t, pkitest.HubOptions{CertFile: hubFiles.Cert, KeyFile: hubFiles.Key}).Addr
		}, "http://%s/kojihub", speaksTLS},
		{"http to Apache's TLS port", func(t *testing.T) string {
			h := newFakeHub(t)
			h.raw = answer400(apache)
			return h.srv.Listener.Addr().String()
		}, "http://%s/kojihub", speaksTLS},
		{"http to nginx's TLS port", func(t *testing.T) string {
			h := newFakeHub(t)
			h.raw = answer400(nginx)
			return h.srv.Listener.Addr().String()
		}, "http://%s/kojihub", speaksTLS},
		{"https to a plain server", func(t *testing.T) string {
			return newFakeHub(t).srv.Listener.Addr().String()
		}, "https://%s/kojihub", speaksHTTP},
		{"https to the hub's plain listener", func(t *testing.T) string {
			return pkitest.StartHub(t, pkitest.HubOptions{Plain: true}).Addr
		}, "https://%s/kojihub", speaksHTTP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := tt.start(t)
			c, err := New(Options{Server: fmt.Sprintf(tt.url, addr), MaxRetries: 5, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			var waits []time.Duration
			c.waitHook = func(d time.Duration) { waits = append(waits, d) }
			_, err = c.Call(testCtx(t), "getAPIVersion")
			var te *TransportError
			if !errors.As(err, &te) {
				t.Fatalf("Call = %v (%T), want a TransportError", err, err)
			}
			if te.Attempts != 1 || len(waits) != 0 {
				t.Errorf("Call = %v after %d attempts and waits %v, want one attempt and no wait", err, te.Attempts, waits)
			}
			var pe *pki.Error
			if !errors.As(err, &pe) || pe.Problem != pki.ProblemPlainHTTP {
				t.Fatalf("Call = %v, want a pki.Error %q", err, pki.ProblemPlainHTTP)
			}
			if want := fmt.Sprintf(tt.want, addr); pe.Message != want {
				t.Errorf("diagnosis = %q, want %q", pe.Message, want)
			}
			t.Logf("error: %v", err)
		})
	}
}
