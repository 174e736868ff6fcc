package kojiclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
)

// maxPEMSize bounds the certificate and CA files read, so a wrong path (a
// log file, a device) fails fast instead of filling memory.
const maxPEMSize = 4 << 20

// newHTTPClient builds the HTTP client from the TLS options: the client
// certificate (Koji's single PEM with certificate and key, or a separate key
// file) and the CA bundle for the hub's certificate.
func newHTTPClient(opts Options) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.ServerCAFile != "" {
		pem, err := readPEMFile(opts.ServerCAFile)
		if err != nil {
			return nil, fmt.Errorf("server CA %s: %w", opts.ServerCAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("server CA %s: no PEM certificate found", opts.ServerCAFile)
		}
		cfg.RootCAs = pool
	}
	if opts.CertFile != "" {
		certPEM, err := readPEMFile(opts.CertFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate %s: %w", opts.CertFile, err)
		}
		keyPEM, keyName := certPEM, opts.CertFile
		if opts.KeyFile != "" {
			keyPEM, err = readPEMFile(opts.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("client key %s: %w", opts.KeyFile, err)
			}
			keyName = opts.KeyFile
		}
		// X509KeyPair takes the CERTIFICATE blocks from the first argument
		// and the first PRIVATE KEY block from the second, so Koji's
		// combined file works for both.
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("client certificate %s with key %s: %w", opts.CertFile, keyName, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	tr.TLSClientConfig = cfg
	return &http.Client{Transport: tr}, nil
}

func readPEMFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if st.Size() > maxPEMSize {
		return nil, fmt.Errorf("file is %d bytes, larger than %d for a PEM file", st.Size(), maxPEMSize)
	}
	return os.ReadFile(path)
}

// isCertError reports a TLS verification failure, which retrying cannot fix
// (Koji's is_requests_cert_error).
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
	return errors.As(err, &unknownAuth) || errors.As(err, &hostErr) ||
		errors.As(err, &invalid) || errors.As(err, &verifyErr) ||
		errors.As(err, &alert) || errors.As(err, &recordErr)
}
