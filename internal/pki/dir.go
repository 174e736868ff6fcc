package pki

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File names in a certificate directory.
const (
	CACertFile = "ca.crt"
	CAKeyFile  = "ca.key"
)

// Dir is a certificate directory as kojictl certs writes it: the CA as
// ca.crt and ca.key, and for each issued certificate NAME.crt (0644),
// NAME.key (0600) and NAME.pem (certificate then key, 0600: the file Koji
// clients name in `cert`). Nothing is overwritten unless Force is set.
type Dir struct {
	Path  string
	Force bool
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Written lists the files one command wrote.
type Written struct {
	Pair     *KeyPair
	Role     Role
	CertFile string // NAME.crt
	KeyFile  string // NAME.key
	PEMFile  string // NAME.pem (certificate and key); empty for the CA and the hub
	CAFile   string // the CA certificate that issued it
}

func (d Dir) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// CAFile returns the path of the CA certificate.
func (d Dir) CAFile() string { return filepath.Join(d.Path, CACertFile) }

// Init makes a new CA in the directory (creating it 0700).
func (d Dir) Init(req Request) (*Written, error) {
	if err := os.MkdirAll(d.Path, 0o700); err != nil {
		return nil, fmt.Errorf("init ca: %w", err)
	}
	w := &Written{Role: RoleCA, CertFile: d.CAFile(), KeyFile: filepath.Join(d.Path, CAKeyFile), CAFile: d.CAFile()}
	if err := d.checkFree(w.CertFile, w.KeyFile); err != nil {
		return nil, err
	}
	if req.Now.IsZero() {
		req.Now = d.now()
	}
	ca, err := NewCA(req)
	if err != nil {
		return nil, err
	}
	w.Pair = &ca.KeyPair
	return w, d.write(w)
}

// LoadCA reads the directory's CA certificate and key.
func (d Dir) LoadCA() (*CA, error) {
	certFile, keyFile := d.CAFile(), filepath.Join(d.Path, CAKeyFile)
	if _, err := os.Stat(certFile); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load ca: there is no CA in %s; make one with kojictl certs init --dir %s", d.Path, d.Path)
	}
	kp, err := LoadKeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}
	if !kp.Cert.IsCA {
		return nil, fmt.Errorf("load ca: %s is not a CA certificate; run kojictl certs init in an empty directory", certFile)
	}
	return &CA{*kp}, nil
}

// Issue makes a certificate from the directory's CA and writes it as
// NAME.crt, NAME.key and, for clients, NAME.pem. fileName overrides NAME
// (kojira and web use their role names).
func (d Dir) Issue(req Request, fileName string) (*Written, error) {
	if fileName == "" {
		fileName = req.Name
	}
	if err := ValidateName(fileName); err != nil {
		return nil, fmt.Errorf("issue: %w", err)
	}
	ca, err := d.LoadCA()
	if err != nil {
		return nil, err
	}
	base := filepath.Join(d.Path, fileName)
	w := &Written{Role: req.Role, CertFile: base + ".crt", KeyFile: base + ".key", CAFile: d.CAFile()}
	if req.Role.IsClient() {
		w.PEMFile = base + ".pem"
	}
	if err := d.checkFree(w.CertFile, w.KeyFile, w.PEMFile); err != nil {
		return nil, err
	}
	if req.Now.IsZero() {
		req.Now = d.now()
	}
	if w.Pair, err = ca.Issue(req); err != nil {
		return nil, err
	}
	return w, d.write(w)
}

// Renew re-issues the certificate in file (a .crt or .pem) with the same
// subject and names, for days (the role's default when zero), and replaces
// its files next to it. A leaf gets a new key and must have been issued by
// the directory's CA; the CA keeps its key, so that what it issued stays
// valid.
func (d Dir) Renew(file string, days int) (*Written, error) {
	b, err := ReadBundle(file, "certificate")
	if err != nil {
		return nil, err
	}
	if len(b.Certs) == 0 {
		return nil, fmt.Errorf("renew: %s holds no certificate", file)
	}
	old := b.Certs[0]
	base := strings.TrimSuffix(file, filepath.Ext(file))
	now := d.now()
	req := Request{Subject: &old.Subject, Name: old.Subject.CommonName, DNSNames: old.DNSNames, IPAddresses: old.IPAddresses, Days: days, Now: now, Key: keyOptionsOf(old)}
	w := &Written{CertFile: base + ".crt", KeyFile: base + ".key"}
	if old.IsCA {
		key := b.Key
		if key == nil {
			kp, err := LoadKeyPair(file, base+".key")
			if err != nil {
				return nil, fmt.Errorf("renew ca: %w", err)
			}
			key = kp.Key
		} else if !publicKeysEqual(old.PublicKey, key.Public()) {
			return nil, fmt.Errorf("renew ca: the key in %s does not belong to its certificate", file)
		}
		req.Role, req.Signer, req.DNSNames, req.IPAddresses = RoleCA, key, nil, nil
		ca, err := NewCA(req)
		if err != nil {
			return nil, fmt.Errorf("renew: %w", err)
		}
		w.Role, w.Pair, w.CAFile = RoleCA, &ca.KeyPair, w.CertFile
		w.KeyFile = "" // the key is unchanged: do not rewrite it
		return w, d.write(w)
	}
	ca, err := d.LoadCA()
	if err != nil {
		return nil, fmt.Errorf("renew %s: %w", file, err)
	}
	if err := old.CheckSignatureFrom(ca.Cert); err != nil {
		return nil, fmt.Errorf("renew: %s was issued by %q, not by the CA in %s (%q); renew it with --dir pointing at its CA", file, old.Issuer.CommonName, d.Path, ca.Cert.Subject.CommonName)
	}
	req.Role = roleOf(old)
	if req.Role.IsClient() || filepath.Ext(file) == ".pem" {
		w.PEMFile = base + ".pem"
	}
	w.Role, w.CAFile = req.Role, d.CAFile()
	if w.Pair, err = ca.Issue(req); err != nil {
		return nil, fmt.Errorf("renew: %w", err)
	}
	return w, d.write(w)
}

// roleOf guesses the role of an issued certificate from its EKU.
func roleOf(c *x509.Certificate) Role {
	server, client := false, false
	for _, u := range c.ExtKeyUsage {
		server = server || u == x509.ExtKeyUsageServerAuth
		client = client || u == x509.ExtKeyUsageClientAuth
	}
	switch {
	case server && client:
		return RoleWeb
	case server:
		return RoleHub
	}
	return RoleUser
}

func keyOptionsOf(c *x509.Certificate) KeyOptions {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return KeyOptions{Algorithm: KeyRSA, RSABits: max(k.N.BitLen(), 2048)}
	case *ecdsa.PublicKey:
		return KeyOptions{Algorithm: KeyECDSAP256}
	}
	return KeyOptions{}
}

func (d Dir) checkFree(paths ...string) error {
	if d.Force {
		return nil
	}
	for _, p := range paths {
		if p == "" {
			continue
		}
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s already exists; pass --force to replace it (and everything that uses it)", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("check %s: %w", p, err)
		}
	}
	return nil
}

// write stores the pair: the key first, so a certificate never exists
// without its key; keys and the combined file 0600, certificates 0644.
func (d Dir) write(w *Written) error {
	keyPEM, err := w.Pair.KeyPEM()
	if err != nil {
		return err
	}
	if w.KeyFile != "" {
		if err := writeAtomic(w.KeyFile, keyPEM, 0o600); err != nil {
			return err
		}
	}
	if err := writeAtomic(w.CertFile, w.Pair.CertPEM(), 0o644); err != nil {
		return err
	}
	if w.PEMFile != "" {
		if err := writeAtomic(w.PEMFile, append(w.Pair.CertPEM(), keyPEM...), 0o600); err != nil {
			return err
		}
	}
	return nil
}
