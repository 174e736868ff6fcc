package pki

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"sync"
	"time"
)

// Failure is one refused TLS handshake or client certificate, as the hub
// logs, counts and lists it.
type Failure struct {
	Time       time.Time `json:"time"`
	RemoteAddr string    `json:"remote_addr"`
	Problem    Problem   `json:"problem"`
	// Message is the one-sentence diagnosis, the same words doctor and the
	// client use.
	Message string `json:"message"`
	// Subject, CommonName, Issuer and NotAfter describe the certificate the
	// peer presented; they are empty when it presented none.
	Subject    string    `json:"subject,omitempty"`
	CommonName string    `json:"common_name,omitempty"`
	Issuer     string    `json:"issuer,omitempty"`
	NotAfter   time.Time `json:"not_after,omitzero"`
	// Err is the error from crypto/tls or crypto/x509.
	Err error `json:"-"`
}

func newFailure(d Diagnosis, addr string, now time.Time) Failure {
	f := Failure{Time: now, RemoteAddr: addr, Problem: d.Problem, Message: d.Message, Err: d.Err}
	if d.Peer != nil {
		f.Subject = d.Peer.Subject.String()
		f.CommonName = d.Peer.Subject.CommonName
		f.Issuer = d.Peer.Issuer.CommonName
		f.NotAfter = d.Peer.NotAfter
	}
	return f
}

// reportedError marks a rejection that VerifyConnection already reported,
// so that a Listener does not report it twice.
type reportedError struct{ diag *Error }

func (e reportedError) Error() string { return e.diag.Message }
func (e reportedError) Unwrap() error { return e.diag }

// ServerTLSConfig returns the hub's TLS config: its certificate from certFile
// and keyFile (keyFile may be empty when the key is in certFile), TLS 1.2 or
// later, and, when clientCAFile is set, client certificates requested and
// checked against it.
//
// A client certificate is optional: anonymous calls must work without one,
// as in Koji, and sslLogin without one is refused with a diagnosis by
// VerifyClientCert. A certificate that is presented must be valid: signed by
// a CA in clientCAFile, within its validity, with clientAuth usage. If it is
// not, the handshake is refused and onFailure (when not nil) receives the
// peer address, the one-sentence diagnosis and the certificate's subject and
// expiry. onFailure is called from handshake goroutines and must be safe for
// concurrent use.
//
// crypto/tls does not verify the client chain itself (ClientAuth is
// RequestClientCert) because its own failures reach no callback; the
// config's VerifyConnection does, so r.TLS.VerifiedChains stays empty: use
// VerifyClientCert to get the login identity. ClientCAs is set so that the
// certificate request names the accepted CAs, which clients use to explain
// a refusal. Time, when set on the returned config, is the clock.
func ServerTLSConfig(certFile, keyFile, clientCAFile string, onFailure func(Failure)) (*tls.Config, error) {
	kp, err := LoadKeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	base := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{kp.TLSCertificate()},
	}
	if clientCAFile == "" {
		return base, nil
	}
	cas, err := LoadCAFile(clientCAFile)
	if err != nil {
		return nil, err
	}
	base.ClientAuth = tls.RequestClientCert
	base.ClientCAs = certPool(cas)
	base.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		addr := ""
		if hello.Conn != nil {
			addr = hello.Conn.RemoteAddr().String()
		}
		c := base.Clone()
		c.GetConfigForClient = nil
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return nil // anonymous: allowed; sslLogin will refuse
			}
			now := timeOf(c)
			d, ok := verifyClient(cs.PeerCertificates, c.ClientCAs, cas, clientCAFile, addr, now)
			if ok {
				return nil
			}
			if onFailure != nil {
				onFailure(newFailure(d, addr, now))
			}
			return reportedError{d.AsError()}
		}
		return c, nil
	}
	return base, nil
}

func timeOf(c *tls.Config) time.Time {
	if c != nil && c.Time != nil {
		return c.Time()
	}
	return time.Now()
}

func verifyClient(certs []*x509.Certificate, pool *x509.CertPool, cas []*x509.Certificate, caFile, addr string, now time.Time) (Diagnosis, bool) {
	opts := x509.VerifyOptions{
		Roots:         pool,
		Intermediates: certPool(certs[1:]),
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if _, err := certs[0].Verify(opts); err != nil {
		cve := &tls.CertificateVerificationError{UnverifiedCertificates: certs, Err: err}
		return DiagnoseHandshake(cve, HandshakeInfo{Side: SideServer, PeerAddr: addr, PeerCerts: certs, Roots: cas, RootsFile: caFile, Now: now}), false
	}
	return Diagnosis{}, true
}

// VerifyClientCert returns the client certificate of a connection accepted
// with cfg (from ServerTLSConfig), verified against cfg.ClientCAs at
// cfg's time: the identity for sslLogin. Without a certificate, or with one
// that does not verify, it returns an *Error whose message is the diagnosis
// to return as the login fault.
func VerifyClientCert(cs *tls.ConnectionState, cfg *tls.Config) (*x509.Certificate, error) {
	if cs == nil {
		return nil, newError(ProblemNoClientCert, nil, "sslLogin needs an HTTPS connection with a client certificate, and this one is plain HTTP; use the hub's https:// URL")
	}
	if len(cs.PeerCertificates) == 0 {
		return nil, newError(ProblemNoClientCert, nil, "no client certificate was presented; set cert in the client's config to its PEM file with certificate and key (kojictl certs user NAME or host NAME writes one)")
	}
	if cfg == nil || cfg.ClientCAs == nil {
		return nil, newError(ProblemUnknownCA, nil, "the hub has no TLSClientCA configured, so it cannot verify client certificates; set TLSClientCA in hub.conf to the CA that issues them (ca.crt)")
	}
	d, ok := verifyClient(cs.PeerCertificates, cfg.ClientCAs, nil, "", "", timeOf(cfg))
	if !ok {
		return nil, d.AsError()
	}
	return cs.PeerCertificates[0], nil
}

// Client is a TLS client setup for the hub that remembers what its
// handshakes showed, so that it can explain its own failures precisely.
type Client struct {
	ctx ClientContext
	cfg *tls.Config

	mu            sync.Mutex
	acceptableCAs []pkix.Name
}

// NewClient loads the client certificate (when cc.CertFile is set) and the
// server CA (when cc.ServerCAFile is set; else the system store) and builds
// the TLS config. Load failures are *Error with a one-sentence message.
func NewClient(cc ClientContext) (*Client, error) {
	c := &Client{ctx: cc}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cc.ServerCAFile != "" {
		cas, err := LoadCAFile(cc.ServerCAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = certPool(cas)
	}
	if cc.CertFile != "" {
		kp, err := LoadKeyPair(cc.CertFile, cc.KeyFile)
		if err != nil {
			return nil, err
		}
		cert := kp.TLSCertificate()
		// Always send our certificate: crypto/tls would silently send none
		// when its issuer is not among the CAs the hub names, and the hub
		// could then only say "no certificate".
		cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			var names []pkix.Name
			for _, raw := range cri.AcceptableCAs {
				var rdn pkix.RDNSequence
				if rest, err := asn1.Unmarshal(raw, &rdn); err == nil && len(rest) == 0 {
					var n pkix.Name
					n.FillFromRDNSequence(&rdn)
					names = append(names, n)
				}
			}
			c.mu.Lock()
			c.acceptableCAs = names
			c.mu.Unlock()
			return &cert, nil
		}
	}
	c.cfg = cfg
	return c, nil
}

// ClientTLSConfig is NewClient(...).TLSConfig() for callers that only want
// the config.
func ClientTLSConfig(certFile, keyFile, serverCAFile string) (*tls.Config, error) {
	c, err := NewClient(ClientContext{CertFile: certFile, KeyFile: keyFile, ServerCAFile: serverCAFile})
	if err != nil {
		return nil, err
	}
	return c.TLSConfig(), nil
}

// TLSConfig returns the config to dial the hub with (shared; do not modify
// it while connections use it).
func (c *Client) TLSConfig() *tls.Config { return c.cfg }

// Diagnose explains err from a call to serverURL like DiagnoseClientError,
// adding what the last handshake recorded.
func (c *Client) Diagnose(err error, serverURL string) error {
	cc := c.ctx
	if serverURL != "" {
		cc.ServerURL = serverURL
	}
	c.mu.Lock()
	cc.AcceptableCAs = c.acceptableCAs
	c.mu.Unlock()
	return cc.Diagnose(err)
}

// AcceptableCAs returns the CAs the hub named in its last certificate request.
func (c *Client) AcceptableCAs() []pkix.Name {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]pkix.Name(nil), c.acceptableCAs...)
}

// IsProblem reports whether err was diagnosed as p.
func IsProblem(err error, p Problem) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.Problem == p
}
