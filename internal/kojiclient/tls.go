package kojiclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"

	"kojigo/internal/pki"
)

// newHTTPClient builds the HTTP client from the TLS options with pki, which
// loads the client certificate (Koji's single PEM with certificate and key,
// or a separate key file) and the hub's CA with one-sentence errors, and
// later explains handshake failures (see wrapTransportError).
func newHTTPClient(opts Options) (*http.Client, *pki.Client, error) {
	pc, err := pki.NewClient(pki.ClientContext{
		CertFile:     opts.CertFile,
		KeyFile:      opts.KeyFile,
		ServerCAFile: opts.ServerCAFile,
		ServerURL:    opts.Server,
	})
	if err != nil {
		return nil, nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = pc.TLSConfig()
	return &http.Client{Transport: tr}, pc, nil
}

// isCertError reports a TLS failure that retrying cannot fix (Koji's
// is_requests_cert_error): the hub's certificate not trusted or for another
// name, our certificate refused (a TLS alert), or TLS spoken to plain HTTP.
// The last is usually http.ErrSchemeMismatch, net/http's error for an
// answer that starts with "HTTP/", and a tls.RecordHeaderError otherwise.
func isCertError(err error) bool {
	var (
		unknownAuth x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		invalid     x509.CertificateInvalidError
		verifyErr   *tls.CertificateVerificationError
		alert       tls.AlertError
		recordErr   tls.RecordHeaderError
		opErr       *net.OpError
	)
	if errors.As(err, &opErr) && opErr.Op == "remote error" {
		// The hub sent a TLS alert: it refused our certificate.
		return true
	}
	return errors.Is(err, http.ErrSchemeMismatch) ||
		errors.As(err, &unknownAuth) || errors.As(err, &hostErr) ||
		errors.As(err, &invalid) || errors.As(err, &verifyErr) ||
		errors.As(err, &alert) || errors.As(err, &recordErr)
}
