package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"time"
)

// Role is what a certificate is for. It decides the extended key usage at
// issue time and what is checked later (clientAuth and CN for clients,
// serverAuth and SANs for servers).
type Role string

// The roles of a Koji farm.
const (
	RoleCA     Role = "ca"
	RoleHub    Role = "hub"    // the hub's HTTPS server: serverAuth, SANs = its names
	RoleHost   Role = "host"   // a builder (kojid): clientAuth, CN = host name
	RoleUser   Role = "user"   // an operator: clientAuth, CN = user name
	RoleKojira Role = "kojira" // the repo generator: clientAuth, CN = its user name
	RoleWeb    Role = "web"    // kojiweb: serverAuth for browsers, clientAuth to the hub
)

// IsClient reports whether certificates of the role log in to the hub.
func (r Role) IsClient() bool {
	return r == RoleHost || r == RoleUser || r == RoleKojira || r == RoleWeb
}

// IsServer reports whether certificates of the role serve HTTPS.
func (r Role) IsServer() bool { return r == RoleHub || r == RoleWeb }

func (r Role) valid() bool { return r == RoleCA || r == RoleHub || r.IsClient() }

func (r Role) extKeyUsage() []x509.ExtKeyUsage {
	switch r {
	case RoleHub:
		return []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	case RoleWeb:
		return []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	case RoleHost, RoleUser, RoleKojira:
		return []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	return nil
}

// KeyAlgorithm selects the key type of a new certificate.
type KeyAlgorithm string

// Key algorithms. The zero value means ECDSA P-256.
const (
	KeyECDSAP256 KeyAlgorithm = "ecdsa-p256"
	KeyRSA       KeyAlgorithm = "rsa"
)

// Defaults used when a Request leaves a field zero.
const (
	DefaultRSABits = 3072
	DefaultCADays  = 3650
	DefaultDays    = 730
	// backdate is how far before now a new certificate becomes valid, so a
	// peer whose clock is a little behind accepts it.
	backdate = 5 * time.Minute
)

// KeyOptions chooses the key of a new certificate. The zero value is ECDSA P-256.
type KeyOptions struct {
	Algorithm KeyAlgorithm
	RSABits   int // DefaultRSABits when zero; at least 2048
}

// GenerateKey makes a new private key; r is crypto/rand.Reader when nil.
func GenerateKey(opts KeyOptions, r io.Reader) (crypto.Signer, error) {
	if r == nil {
		r = rand.Reader
	}
	switch opts.Algorithm {
	case "", KeyECDSAP256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), r)
		if err != nil {
			return nil, fmt.Errorf("generate ecdsa key: %w", err)
		}
		return k, nil
	case KeyRSA:
		bits := opts.RSABits
		if bits == 0 {
			bits = DefaultRSABits
		}
		if bits < 2048 || bits > 8192 {
			return nil, fmt.Errorf("generate rsa key: %d bits: want 2048 to 8192", bits)
		}
		k, err := rsa.GenerateKey(r, bits)
		if err != nil {
			return nil, fmt.Errorf("generate rsa key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("generate key: unknown algorithm %q: want %s or %s", opts.Algorithm, KeyECDSAP256, KeyRSA)
}

// Request describes a certificate to issue. Zero values are defaults.
type Request struct {
	Role Role
	// Name is the subject CN: the host or user name for clients, the main DNS
	// name (or IP) for servers. For a CA it defaults to "kojigo CA <id>".
	Name        string
	DNSNames    []string // extra SANs; a server's Name is always among its SANs
	IPAddresses []net.IP
	// NotBefore defaults to Now minus a few minutes; NotAfter to NotBefore
	// plus Days (DefaultCADays for a CA, else DefaultDays).
	NotBefore, NotAfter time.Time
	Days                int
	Key                 KeyOptions
	// Signer, when set, is the key to certify instead of a new one
	// (renewing a CA keeps its key so the certificates it issued stay valid).
	Signer crypto.Signer
	// ExtKeyUsage overrides the role's extended key usage; tests use it to
	// make wrong certificates. Empty: the role's usage.
	ExtKeyUsage []x509.ExtKeyUsage
	// Subject overrides CN=Name (renew keeps the old subject).
	Subject *pkix.Name
	Now     time.Time // zero: time.Now()
	Rand    io.Reader // nil: crypto/rand.Reader
}

// KeyPair is a certificate with its private key.
type KeyPair struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// Chain holds any intermediate certificates that follow Cert in its file.
	Chain []*x509.Certificate
}

// CertPEM returns the certificate (and any chain) in PEM.
func (kp *KeyPair) CertPEM() []byte {
	out := EncodeCertPEM(kp.Cert)
	for _, c := range kp.Chain {
		out = append(out, EncodeCertPEM(c)...)
	}
	return out
}

// KeyPEM returns the private key as unencrypted PKCS#8 PEM ("PRIVATE KEY"),
// which Go, OpenSSL and Python's ssl module all read.
func (kp *KeyPair) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(kp.Key)
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// CombinedPEM returns certificate then key in one PEM file: the layout of
// Koji's client `cert` setting.
func (kp *KeyPair) CombinedPEM() ([]byte, error) {
	k, err := kp.KeyPEM()
	if err != nil {
		return nil, err
	}
	return append(kp.CertPEM(), k...), nil
}

// EncodeCertPEM returns cert as a PEM "CERTIFICATE" block.
func EncodeCertPEM(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}

// CA is a certificate authority that issues the farm's certificates.
type CA struct {
	KeyPair
}

// NewCA makes a self-signed CA certificate and key.
func NewCA(req Request) (*CA, error) {
	if req.Role != "" && req.Role != RoleCA {
		return nil, fmt.Errorf("new ca: role %q: want %q", req.Role, RoleCA)
	}
	req.Role = RoleCA
	tmpl, key, err := template(req)
	if err != nil {
		return nil, fmt.Errorf("new ca: %w", err)
	}
	if req.Subject == nil && req.Name == "" {
		tmpl.Subject = pkix.Name{CommonName: fmt.Sprintf("kojigo CA %08x", tmpl.SerialNumber.Uint64()&0xffffffff)}
	}
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.MaxPathLenZero = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = nil
	cert, err := sign(req.Rand, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("new ca: %w", err)
	}
	return &CA{KeyPair{Cert: cert, Key: key}}, nil
}

// Issue makes a certificate for req signed by the CA.
func (ca *CA) Issue(req Request) (*KeyPair, error) {
	if req.Role == RoleCA || req.Role == "" {
		return nil, fmt.Errorf("issue: role %q: want hub, host, user, kojira or web", req.Role)
	}
	if ca == nil || ca.Cert == nil || ca.Key == nil {
		return nil, errors.New("issue: no CA")
	}
	tmpl, key, err := template(req)
	if err != nil {
		return nil, fmt.Errorf("issue %s %s: %w", req.Role, req.Name, err)
	}
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		return nil, fmt.Errorf("issue %s %s: the certificate would outlive its CA (CA valid until %s); renew the CA first or ask for fewer days",
			req.Role, req.Name, ca.Cert.NotAfter.UTC().Format(time.DateOnly))
	}
	cert, err := sign(req.Rand, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("issue %s %s: %w", req.Role, req.Name, err)
	}
	return &KeyPair{Cert: cert, Key: key}, nil
}

// SelfSigned makes a leaf certificate for req signed by its own key, as
// people make by hand with openssl req -x509. No hub accepts one; tests and
// doctor's own test fixtures use it.
func SelfSigned(req Request) (*KeyPair, error) {
	if !req.Role.valid() || req.Role == RoleCA {
		return nil, fmt.Errorf("self-signed: role %q: want hub, host, user, kojira or web", req.Role)
	}
	tmpl, key, err := template(req)
	if err != nil {
		return nil, fmt.Errorf("self-signed %s: %w", req.Name, err)
	}
	cert, err := sign(req.Rand, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("self-signed %s: %w", req.Name, err)
	}
	return &KeyPair{Cert: cert, Key: key}, nil
}

func template(req Request) (*x509.Certificate, crypto.Signer, error) {
	if !req.Role.valid() {
		return nil, nil, fmt.Errorf("unknown role %q", req.Role)
	}
	if req.Role == RoleCA {
		// A CA's CN is free text ("kojigo CA 1a2b3c4d"), but bounded.
		if len(req.Name) > 64 || strings.ContainsFunc(req.Name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return nil, nil, fmt.Errorf("CA name %.20q...: want at most 64 printable characters", req.Name)
		}
	} else if err := ValidateName(req.Name); err != nil {
		return nil, nil, err
	}
	for _, d := range req.DNSNames {
		if err := validateDNSName(d); err != nil {
			return nil, nil, err
		}
	}
	r := req.Rand
	if r == nil {
		r = rand.Reader
	}
	key := req.Signer
	if key == nil {
		var err error
		if key, err = GenerateKey(req.Key, r); err != nil {
			return nil, nil, err
		}
	}
	serial, err := rand.Int(r, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("serial number: %w", err)
	}
	serial.Add(serial, big.NewInt(1))
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	notBefore := req.NotBefore
	if notBefore.IsZero() {
		notBefore = now.Add(-backdate)
	}
	notAfter := req.NotAfter
	if notAfter.IsZero() {
		days := req.Days
		if days == 0 {
			days = DefaultDays
			if req.Role == RoleCA {
				days = DefaultCADays
			}
		}
		if days < 0 || days > 100*365 {
			return nil, nil, fmt.Errorf("validity of %d days: want 1 to %d", days, 100*365)
		}
		notAfter = now.AddDate(0, 0, days)
	}
	if !notAfter.After(notBefore) {
		return nil, nil, fmt.Errorf("validity ends (%s) before it starts (%s)", notAfter.UTC().Format(time.RFC3339), notBefore.UTC().Format(time.RFC3339))
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: req.Name},
		NotBefore:             notBefore.UTC(),
		NotAfter:              notAfter.UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		DNSNames:              append([]string(nil), req.DNSNames...),
		IPAddresses:           append([]net.IP(nil), req.IPAddresses...),
	}
	if req.Subject != nil {
		tmpl.Subject = *req.Subject
	}
	if _, ok := key.Public().(*rsa.PublicKey); ok {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	tmpl.ExtKeyUsage = req.Role.extKeyUsage()
	if len(req.ExtKeyUsage) > 0 {
		tmpl.ExtKeyUsage = req.ExtKeyUsage
	}
	if req.Role.IsServer() && req.Name != "" {
		if ip := net.ParseIP(req.Name); ip != nil {
			if !containsIP(tmpl.IPAddresses, ip) {
				tmpl.IPAddresses = append([]net.IP{ip}, tmpl.IPAddresses...)
			}
		} else if !containsFold(tmpl.DNSNames, req.Name) {
			tmpl.DNSNames = append([]string{req.Name}, tmpl.DNSNames...)
		}
	}
	return tmpl, key, nil
}

func sign(r io.Reader, tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, error) {
	if r == nil {
		r = rand.Reader
	}
	der, err := x509.CreateCertificate(r, tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse new certificate: %w", err)
	}
	return cert, nil
}

// ValidateName checks a certificate name: it becomes a CN, the Koji user or
// host name, and a file name, so it must be 1 to 64 characters of letters,
// digits and . _ @ - and must not start with . or -.
func ValidateName(name string) error {
	if name == "" {
		return errors.New("empty name: give the host, user or server name")
	}
	if len(name) > 64 {
		return fmt.Errorf("name %.20q... is %d characters: a certificate CN holds at most 64", name, len(name))
	}
	if name[0] == '.' || name[0] == '-' {
		return fmt.Errorf("name %q must not start with %q", name, name[0])
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._@-", c)) {
			return fmt.Errorf("name %q contains %q: use letters, digits and . _ @ -", name, c)
		}
	}
	return nil
}

func validateDNSName(d string) error {
	if d == "" || len(d) > 253 {
		return fmt.Errorf("DNS name %q: want 1 to 253 characters", d)
	}
	for i, label := range strings.Split(d, ".") {
		if label == "*" && i == 0 {
			continue
		}
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("DNS name %q: bad label %q", d, label)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("DNS name %q contains %q", d, c)
			}
		}
	}
	return nil
}

func containsIP(list []net.IP, ip net.IP) bool {
	for _, x := range list {
		if x.Equal(ip) {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
