package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"path/filepath"
	"regexp"
)

// Bundle is what one PEM file holds: its certificates in file order and at
// most one private key (Koji's client `cert` file holds both).
type Bundle struct {
	Path  string
	Certs []*x509.Certificate
	Key   crypto.Signer
}

// ReadBundle reads and parses the PEM file at path. what names its role in
// messages ("certificate", "key", "CA"). Every failure is an *Error whose
// message is one sentence: missing, unreadable, a directory, too large, not
// PEM, truncated, corrupt, an encrypted key, or a block of the wrong type.
func ReadBundle(path, what string) (*Bundle, error) {
	data, err := readFile(path, what)
	if err != nil {
		return nil, err
	}
	return ParseBundle(path, what, data)
}

var beginLine = regexp.MustCompile(`-----BEGIN ([A-Z0-9 ]+)-----`)

// ParseBundle parses PEM data read from path (used in messages only).
func ParseBundle(path, what string, data []byte) (*Bundle, error) {
	b := &Bundle{Path: path}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, newError(ProblemNotPEM, nil, "%s file %s is empty; copy the PEM %s into it or re-issue it with kojictl certs", what, path, what)
	}
	var decoded []string
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		decoded = append(decoded, block.Type)
		if err := b.add(path, what, block); err != nil {
			return nil, err
		}
	}
	begins := beginLine.FindAllSubmatch(data, -1)
	if len(begins) > len(decoded) {
		// pem.Decode silently skips a block without a valid END line or
		// with broken base64: find the first one it skipped.
		typ, j := "", 0
		for _, m := range begins {
			if j < len(decoded) && string(m[1]) == decoded[j] {
				j++
				continue
			}
			typ = string(m[1])
			break
		}
		return nil, newError(ProblemTruncated, nil, "%s file %s is truncated or damaged: its %s block has no valid END line or broken base64; copy the whole file again or re-issue it with kojictl certs", what, path, typ)
	}
	if len(decoded) == 0 {
		if data[0] == 0x30 {
			if _, err := x509.ParseCertificate(data); err == nil {
				return nil, newError(ProblemNotPEM, err, "%s file %s is a DER (binary) certificate, not PEM; convert it with: openssl x509 -inform der -in %s -out %s.pem", what, path, path, path)
			}
			return nil, newError(ProblemNotPEM, nil, "%s file %s is binary (DER?) data, not PEM; convert it to PEM with openssl", what, path)
		}
		return nil, newError(ProblemNotPEM, nil, "%s file %s holds no PEM data (no -----BEGIN line); point the setting at the PEM %s", what, path, what)
	}
	return b, nil
}

func (b *Bundle) add(path, what string, block *pem.Block) error {
	switch block.Type {
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return newError(ProblemCorrupt, err, "%s file %s holds a CERTIFICATE block that does not parse (%v); re-issue it with kojictl certs", what, path, err)
		}
		b.Certs = append(b.Certs, c)
		return nil
	case "ENCRYPTED PRIVATE KEY":
		return encryptedKey(path, what)
	case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY":
		//lint:ignore SA1019 only detection: Koji cannot prompt for passphrases
		if x509.IsEncryptedPEMBlock(block) || block.Headers["Proc-Type"] != "" {
			return encryptedKey(path, what)
		}
		if b.Key != nil {
			return newError(ProblemWrongType, nil, "%s file %s holds two private keys; keep only the one that belongs to the certificate", what, path)
		}
		k, err := parseKey(block)
		if err != nil {
			return newError(ProblemCorrupt, err, "%s file %s holds a %s block that does not parse (%v); re-issue the key and certificate with kojictl certs", what, path, block.Type, err)
		}
		b.Key = k
		return nil
	case "OPENSSH PRIVATE KEY":
		return newError(ProblemWrongType, nil, "%s file %s holds an OpenSSH key, not a TLS key; point the setting at the key from kojictl certs", what, path)
	case "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST":
		return newError(ProblemWrongType, nil, "%s file %s holds a certificate request (CSR), not a certificate; have the CA sign it and use the result", what, path)
	case "PUBLIC KEY", "RSA PUBLIC KEY":
		return newError(ProblemWrongType, nil, "%s file %s holds a public key, which is no certificate or private key; point the setting at the right file", what, path)
	}
	// EC PARAMETERS, X509 CRL, TRUSTED CERTIFICATE and the like are ignored.
	return nil
}

func encryptedKey(path, what string) error {
	return newError(ProblemEncryptedKey, nil, "%s file %s holds a passphrase-encrypted private key, which a daemon cannot unlock; decrypt it with: openssl pkey -in %s -out %s.plain (then keep it mode 0600)", what, path, path, filepath.Base(path))
}

func parseKey(block *pem.Block) (crypto.Signer, error) {
	var k any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, err
	}
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		return k, nil
	case *rsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("unsupported key type %T", k)
}

// LoadKeyPair reads a certificate and its key. keyFile may be empty or equal
// to certFile when the key is in the certificate file (Koji's client layout);
// a key found in certFile is used when keyFile is empty. The key must belong
// to the first certificate; further certificates are its chain.
func LoadKeyPair(certFile, keyFile string) (*KeyPair, error) {
	cb, err := ReadBundle(certFile, "certificate")
	if err != nil {
		return nil, err
	}
	if len(cb.Certs) == 0 {
		if cb.Key != nil {
			return nil, newError(ProblemWrongType, nil, "certificate file %s holds only a private key, no certificate; point the setting at the certificate (or a PEM file with both)", certFile)
		}
		return nil, newError(ProblemWrongType, nil, "certificate file %s holds no certificate; point the setting at the certificate", certFile)
	}
	key := cb.Key
	keyPath := certFile
	if keyFile != "" && keyFile != certFile {
		kb, err := ReadBundle(keyFile, "key")
		if err != nil {
			return nil, err
		}
		if kb.Key == nil {
			return nil, newError(ProblemWrongType, nil, "key file %s holds no private key (it holds %d certificate(s)); point the key setting at the private key", keyFile, len(kb.Certs))
		}
		key, keyPath = kb.Key, keyFile
	}
	if key == nil {
		return nil, newError(ProblemWrongType, nil, "certificate file %s holds no private key and no key file is set; append the key to it (cat NAME.crt NAME.key > NAME.pem, which kojictl certs writes) or set the key file", certFile)
	}
	kp := &KeyPair{Cert: cb.Certs[0], Key: key, Chain: cb.Certs[1:]}
	if !publicKeysEqual(kp.Cert.PublicKey, key.Public()) {
		return nil, newError(ProblemKeyMismatch, nil, "%s", keyMismatch(keyPath, certFile, kp.Cert))
	}
	return kp, nil
}

// LoadCAFile reads a CA bundle: one or more PEM certificates (a private key
// in it is ignored here and reported by CheckCAFile). It does not judge the
// certificates; CheckCAFile does.
func LoadCAFile(path string) ([]*x509.Certificate, error) {
	b, err := ReadBundle(path, "CA")
	if err != nil {
		return nil, err
	}
	if len(b.Certs) == 0 {
		return nil, newError(ProblemWrongType, nil, "CA file %s holds no certificate (only a private key?); point it at the CA certificate (ca.crt), never at a key", path)
	}
	return b.Certs, nil
}

// TLSCertificate turns the pair into a tls.Certificate.
func (kp *KeyPair) TLSCertificate() tls.Certificate {
	c := tls.Certificate{Certificate: [][]byte{kp.Cert.Raw}, PrivateKey: kp.Key, Leaf: kp.Cert}
	for _, x := range kp.Chain {
		c.Certificate = append(c.Certificate, x.Raw)
	}
	return c
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

func certPool(certs []*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}
