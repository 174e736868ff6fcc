package pki

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// ExpiryWarning is how close to its end a certificate draws a warning.
const ExpiryWarning = 30 * 24 * time.Hour

// Files names the files of one certificate setup, as a config file gives them.
type Files struct {
	// Cert is the certificate file; for Koji clients it also holds the key.
	Cert string
	// Key is the key file; empty when the key is in Cert.
	Key string
	// CA is the CA file of the setup: serverca (the hub's CA) for clients,
	// TLSClientCA (the CA of client certificates) for the hub.
	CA string
}

// CheckFiles loads and checks the certificate setup in f for role: files
// readable, PEM valid, key matches, validity at now, EKU, name, CA file sane
// and, for clients, issued by the same CA as serverca. name is the expected
// CN (user or host name) for clients or the host name clients dial for the
// hub; empty skips the name check. It returns only problems: none means the
// setup is sound.
func CheckFiles(f Files, role Role, name string, now time.Time) []Finding {
	var out []Finding
	var cas []*x509.Certificate
	if f.CA != "" {
		cas = caFindings(f.CA, now, &out)
	}
	cb, err := ReadBundle(f.Cert, "certificate")
	if err != nil {
		return append(out, errFinding(f.Cert, err))
	}
	if len(cb.Certs) == 0 {
		return append(out, Finding{SeverityError, ProblemWrongType, f.Cert, fmt.Sprintf(
			"certificate file %s holds no certificate; point the setting at the certificate written by kojictl certs", f.Cert)})
	}
	key, keyFile := cb.Key, f.Cert
	if f.Key != "" && f.Key != f.Cert {
		keyFile = f.Key
		kb, err := ReadBundle(f.Key, "key")
		if err != nil {
			out = append(out, errFinding(f.Key, err))
		} else if kb.Key == nil {
			out = append(out, Finding{SeverityError, ProblemWrongType, f.Key, fmt.Sprintf(
				"key file %s holds no private key; point the key setting at the private key written with %s", f.Key, f.Cert)})
		} else {
			key = kb.Key
		}
		if err == nil {
			out = append(out, CheckPermissions(f.Key, true)...)
		}
	} else if key == nil && role.IsClient() {
		out = append(out, Finding{SeverityError, ProblemWrongType, f.Cert, fmt.Sprintf(
			"certificate file %s holds no private key, and Koji clients read both from this one file; use the NAME.pem written by kojictl certs (certificate and key together)", f.Cert)})
	} else if key != nil {
		out = append(out, CheckPermissions(f.Cert, true)...)
	}
	ref := certRef{File: f.Cert, KeyFile: keyFile, Cert: cb.Certs[0], Role: role}
	out = append(out, checkCert(ref, key, cb.Certs[1:], cas, f.CA, name, now)...)
	return out
}

// CheckCert checks a parsed certificate for role at now: key (when not nil)
// matches, validity, self-signed client certificates, EKU, name (when not
// empty) and chain to ca (when not empty). Messages name the certificate by
// its subject; CheckFiles names files instead.
func CheckCert(cert *x509.Certificate, key crypto.PrivateKey, ca []*x509.Certificate, role Role, name string, now time.Time) []Finding {
	if cert == nil {
		return []Finding{{SeverityError, ProblemMissing, "certificate", "no certificate given; configure one"}}
	}
	var signer crypto.Signer
	if key != nil {
		s, ok := key.(crypto.Signer)
		if !ok {
			return []Finding{{SeverityError, ProblemWrongType, subjectOf(cert), fmt.Sprintf("the private key for %s is of unsupported type %T; use an ECDSA, RSA or Ed25519 key", describe(cert), key)}}
		}
		signer = s
	}
	return checkCert(certRef{Cert: cert, Role: role}, signer, nil, ca, "", name, now)
}

// certRef is a certificate and where it came from, for messages.
type certRef struct {
	File    string // "" when not from a file
	KeyFile string
	Cert    *x509.Certificate
	Role    Role
}

func (r certRef) subject() string {
	if r.File != "" {
		return r.File
	}
	return subjectOf(r.Cert)
}

// label is how messages name the certificate: "certificate F (CN=x)".
func (r certRef) label() string {
	if r.File != "" {
		return fmt.Sprintf("certificate %s (%s)", r.File, describeShort(r.Cert))
	}
	return "certificate " + describeShort(r.Cert)
}

// renew is the command that replaces the certificate.
func (r certRef) renew() string {
	if r.File != "" {
		return "kojictl certs renew " + r.File
	}
	return fmt.Sprintf("kojictl certs renew NAME.crt (on the CA machine, for %s)", describeShort(r.Cert))
}

// reissue is the command that makes the right certificate from scratch. A
// client certificate gets the same words on the hub, in doctor and in the
// client, which do not all know whether it is a host's or a user's.
func (r certRef) reissue(name string) string {
	if name == "" {
		name = r.Cert.Subject.CommonName
	}
	if name == "" {
		name = "NAME"
	}
	switch r.Role {
	case RoleWeb:
		return "kojictl certs web --force"
	case RoleHub:
		return "kojictl certs hub " + name + " --force"
	case RoleHost, RoleUser, RoleKojira:
		return reissueName(name)
	}
	return "kojictl certs"
}

// roleWord names the kind of certificate a role needs, in messages.
func roleWord(r Role) string {
	if r == RoleHost || r == RoleUser || r == RoleKojira {
		return "client"
	}
	return string(r)
}

// keyMismatch is the one sentence for a key that is not the certificate's.
func keyMismatch(keyPath, certPath string, c *x509.Certificate) string {
	cert := "certificate " + describe(c)
	if certPath != "" {
		cert = fmt.Sprintf("certificate %s (%s)", certPath, describe(c))
	}
	return fmt.Sprintf("private key %s does not belong to %s; use the key written with that certificate or re-issue both with %s", keyPath, cert, reissueAny(c))
}

func checkCert(ref certRef, key crypto.Signer, chain, cas []*x509.Certificate, caFile, name string, now time.Time) []Finding {
	c := ref.Cert
	subj := ref.subject()
	var out []Finding
	add := func(s Severity, p Problem, format string, args ...any) {
		out = append(out, Finding{s, p, subj, fmt.Sprintf(format, args...)})
	}
	if ref.Role != RoleCA && c.IsCA {
		add(SeverityError, ProblemIsCA, "%s is a CA certificate, not a %s certificate; point the setting at the certificate made by %s", ref.label(), ref.Role, ref.reissue(name))
		return out
	}
	if key != nil && !publicKeysEqual(c.PublicKey, key.Public()) {
		kf := ref.KeyFile
		if kf == "" {
			kf = "(given)"
		}
		add(SeverityError, ProblemKeyMismatch, "%s", keyMismatch(kf, ref.File, c))
	}
	out = append(out, validityFindings(ref, now)...)
	selfSigned := isSelfSigned(c)
	if selfSigned && ref.Role.IsClient() {
		add(SeverityError, ProblemSelfSigned, "%s is self-signed, so no hub accepts it; issue one from the hub's CA with %s", ref.label(), ref.reissue(name))
	}
	if p := ekuProblem(c, ref.Role); p != "" {
		add(SeverityError, ProblemWrongEKU, "%s %s; re-issue it with %s", ref.label(), p, ref.reissue(name))
	}
	if name != "" {
		if ref.Role.IsClient() && ref.Role != RoleWeb && c.Subject.CommonName != name {
			add(SeverityError, ProblemNameMismatch, "%s has CN %q, but it must log in as %q (the hub takes the user name from the CN); issue one for %q with %s", ref.label(), c.Subject.CommonName, name, name, ref.reissue(name))
		}
		if ref.Role == RoleHub {
			if err := c.VerifyHostname(name); err != nil {
				add(SeverityError, ProblemHostnameMismatch, "%s is for %s, not %q, which clients connect to; re-issue it with kojictl certs hub %s --force (add other names with --san), or use one of its names in the server URL", ref.label(), namesOf(c), name, name)
			}
		}
	}
	if w := weakness(c); w != "" {
		add(SeverityError, ProblemWeakKey, "%s %s, which TLS libraries refuse; re-issue it with %s", ref.label(), w, ref.reissue(name))
	}
	if len(cas) > 0 && !selfSigned && ref.Role.IsClient() {
		if err := verifyChain(c, chain, cas, now); err != nil {
			caNames := caList(cas)
			add(SeverityWarning, ProblemUnknownCA, "%s was issued by %q, but serverca %s is %s; the hub must trust %q (its TLSClientCA) and its own certificate must come from the serverca CA, or re-issue this one from the serverca CA", ref.label(), c.Issuer.CommonName, caFile, caNames, c.Issuer.CommonName)
		}
	}
	return out
}

func validityFindings(ref certRef, now time.Time) []Finding {
	c := ref.Cert
	subj := ref.subject()
	switch {
	case now.Before(c.NotBefore):
		return []Finding{{SeverityError, ProblemNotYetValid, subj, fmt.Sprintf(
			"%s is not valid until %s, %s from now; check the clocks of this machine and of the CA machine (timedatectl), or re-issue it", ref.label(), when(c.NotBefore), human(c.NotBefore.Sub(now)))}}
	case now.After(c.NotAfter):
		return []Finding{{SeverityError, ProblemExpired, subj, fmt.Sprintf(
			"%s expired %s ago, on %s; issue a new one with %s", ref.label(), human(now.Sub(c.NotAfter)), when(c.NotAfter), ref.renew())}}
	case c.NotAfter.Sub(now) < ExpiryWarning:
		return []Finding{{SeverityWarning, ProblemExpiringSoon, subj, fmt.Sprintf(
			"%s expires in %s, on %s; renew it now with %s", ref.label(), human(c.NotAfter.Sub(now)), when(c.NotAfter), ref.renew())}}
	}
	return nil
}

// CheckCAFile checks a CA file: readable, PEM, only CA certificates, none
// expired or expiring, no private key in it. It returns only problems.
func CheckCAFile(path string, now time.Time) []Finding {
	var out []Finding
	caFindings(path, now, &out)
	return out
}

func caFindings(path string, now time.Time, out *[]Finding) []*x509.Certificate {
	b, err := ReadBundle(path, "CA")
	if err != nil {
		*out = append(*out, errFinding(path, err))
		return nil
	}
	if len(b.Certs) == 0 {
		*out = append(*out, Finding{SeverityError, ProblemWrongType, path, fmt.Sprintf(
			"CA file %s holds no certificate (only a private key?); point it at the CA certificate (ca.crt), never at a key", path)})
		return nil
	}
	if b.Key != nil {
		*out = append(*out, Finding{SeverityWarning, ProblemInsecurePerms, path, fmt.Sprintf(
			"CA file %s also holds a private key, yet CA files are handed to every client; point the setting at a file with only the CA certificate (ca.crt)", path)})
	}
	var cas []*x509.Certificate
	for _, c := range b.Certs {
		if !c.IsCA {
			what := "a certificate"
			if c.Subject.CommonName != "" {
				what = fmt.Sprintf("the certificate of %q", c.Subject.CommonName)
			}
			*out = append(*out, Finding{SeverityError, ProblemNotCA, path, fmt.Sprintf(
				"CA file %s holds %s (issued by %q), not a CA certificate; point it at the CA that issued the certificates (ca.crt)", path, what, c.Issuer.CommonName)})
			continue
		}
		cas = append(cas, c)
		ref := certRef{File: path, Cert: c, Role: RoleCA}
		for _, f := range validityFindings(ref, now) {
			f.Message = strings.Replace(f.Message, "certificate ", "CA certificate ", 1)
			f.Message = strings.Replace(f.Message, "kojictl certs renew "+path, "kojictl certs renew "+path+" (same key, so issued certificates stay valid)", 1)
			*out = append(*out, f)
		}
	}
	return cas
}

// errFinding turns a load error into a finding about subject.
func errFinding(subject string, err error) Finding {
	var pe *Error
	if errors.As(err, &pe) {
		return Finding{SeverityError, pe.Problem, subject, pe.Message}
	}
	return Finding{SeverityError, ProblemHandshake, subject, err.Error()}
}

// verifyChain checks that c chains to one of cas through chain, judged at a
// time inside c's validity so that expiry is reported separately.
func verifyChain(c *x509.Certificate, chain, cas []*x509.Certificate, now time.Time) error {
	at := now
	if at.Before(c.NotBefore) {
		at = c.NotBefore.Add(time.Second)
	}
	if at.After(c.NotAfter) {
		at = c.NotAfter.Add(-time.Second)
	}
	_, err := c.Verify(x509.VerifyOptions{
		Roots:         certPool(cas),
		Intermediates: certPool(chain),
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	return err
}

func isSelfSigned(c *x509.Certificate) bool {
	// CheckSignatureFrom would insist that the signer is a CA; a self-signed
	// leaf is not, so check the signature directly.
	return bytes.Equal(c.RawIssuer, c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// ekuProblem says what is wrong with c's extended key usage for role, or "".
// A certificate without the extension may be used for anything.
func ekuProblem(c *x509.Certificate, role Role) string {
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
		return ""
	}
	has := func(u x509.ExtKeyUsage) bool {
		for _, x := range c.ExtKeyUsage {
			if x == u || x == x509.ExtKeyUsageAny {
				return true
			}
		}
		return false
	}
	var missing []string
	if role.IsClient() && !has(x509.ExtKeyUsageClientAuth) {
		missing = append(missing, "clientAuth (TLS client)")
	}
	if role.IsServer() && !has(x509.ExtKeyUsageServerAuth) {
		missing = append(missing, "serverAuth (TLS server)")
	}
	if len(missing) == 0 {
		return ""
	}
	return fmt.Sprintf("lacks the %s extended key usage that a %s certificate needs", strings.Join(missing, " and "), roleWord(role))
}

func weakness(c *x509.Certificate) string {
	if k, ok := c.PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() < 2048 {
		return fmt.Sprintf("has a %d-bit RSA key", k.N.BitLen())
	}
	switch c.SignatureAlgorithm {
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1, x509.MD5WithRSA, x509.MD2WithRSA:
		return fmt.Sprintf("is signed with %s", c.SignatureAlgorithm)
	}
	return ""
}

// describe names a certificate by subject and issuer.
func describe(c *x509.Certificate) string {
	return fmt.Sprintf("%s, issued by %q", describeShort(c), c.Issuer.CommonName)
}

func describeShort(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return "CN=" + c.Subject.CommonName
	}
	if s := c.Subject.String(); s != "" {
		return s
	}
	return "no subject"
}

func subjectOf(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	return describeShort(c)
}

func namesOf(c *x509.Certificate) string {
	var n []string
	n = append(n, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		n = append(n, ip.String())
	}
	if len(n) == 0 {
		return "no host name at all (no subject alternative names)"
	}
	return strings.Join(n, ", ")
}

func caList(cas []*x509.Certificate) string {
	var n []string
	for _, c := range cas {
		n = append(n, fmt.Sprintf("%q", c.Subject.CommonName))
	}
	return strings.Join(n, ", ")
}

func when(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// human renders a duration as whole days, hours or minutes.
func human(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	case d >= 24*time.Hour:
		return "1 day"
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	case d >= 2*time.Minute:
		return fmt.Sprintf("%d minutes", int(d/time.Minute))
	}
	return "a moment"
}

// CheckPermissions checks the mode of path: a file anyone may write is an
// error; a secret (a private key) readable by everyone is an error and one
// readable by its group a warning. Permissions are not judged when the file
// cannot be read; the reader reports that.
func CheckPermissions(path string, secret bool) []Finding {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	mode := fi.Mode().Perm()
	fix := func(m os.FileMode) string { return fmt.Sprintf("chmod %04o %s", m, path) }
	switch {
	case mode&0o002 != 0:
		return []Finding{{SeverityError, ProblemInsecurePerms, path, fmt.Sprintf(
			"%s is writable by every user (mode %04o), so anyone can replace it; run: %s", path, mode, fix(mode&^0o022))}}
	case secret && mode&0o004 != 0:
		return []Finding{{SeverityError, ProblemInsecurePerms, path, fmt.Sprintf(
			"private key %s is readable by every user (mode %04o), so anyone can log in as its owner; run: %s and replace the key if others may have copied it", path, mode, fix(0o600))}}
	case secret && mode&0o040 != 0:
		return []Finding{{SeverityWarning, ProblemInsecurePerms, path, fmt.Sprintf(
			"private key %s is readable by its group (mode %04o, owner %s); unless that group is only the daemon, run: %s", path, mode, ownerName(fi), fix(0o600))}}
	}
	return nil
}
