package pki

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"syscall"
	"time"
)

// Side says which end of a TLS connection is explaining a failure.
type Side int

// Sides of a connection.
const (
	// SideClient: we dialled the hub; the peer certificate is the hub's.
	SideClient Side = iota
	// SideServer: we are the hub; the peer certificate is a client's.
	SideServer
)

// HandshakeInfo is what is known about a failed handshake besides its error.
// Every field is optional; the more is known, the more precise the sentence.
type HandshakeInfo struct {
	Side Side
	// PeerAddr is the other end's address ("192.0.2.7:41234").
	PeerAddr string
	// ServerName is the host name the client dialled (client side).
	ServerName string
	// PeerCerts is the chain the peer presented, leaf first. It is taken
	// from a tls.CertificateVerificationError when not given.
	PeerCerts []*x509.Certificate
	// Roots is what we trust: serverca on the client side, TLSClientCA on
	// the hub; RootsFile is where it was read from.
	Roots     []*x509.Certificate
	RootsFile string
	// OwnCert is the certificate we presented, if any; OwnCertFile its file.
	OwnCert     *x509.Certificate
	OwnCertFile string
	// AcceptableCAs are the CAs the hub named when it asked for a client
	// certificate (client side; see ClientTLSConfig).
	AcceptableCAs []pkix.Name
	Now           time.Time // zero: time.Now()
}

// Diagnosis is the explanation of one failure.
type Diagnosis struct {
	Problem Problem
	// Message is one sentence: what is wrong and how to fix it.
	Message string
	// Peer is the peer's leaf certificate, when it presented one.
	Peer *x509.Certificate
	// Err is the error that was diagnosed.
	Err error
}

// AsError returns the diagnosis as an *Error that wraps the original error.
func (d Diagnosis) AsError() *Error {
	return &Error{Problem: d.Problem, Message: d.Message, Err: d.Err}
}

// Alert codes from RFC 8446 §6 that matter for certificate failures.
const (
	alertHandshakeFailure    = 40
	alertBadCertificate      = 42
	alertUnsupportedCert     = 43
	alertCertificateRevoked  = 44
	alertCertificateExpired  = 45
	alertCertificateUnknown  = 46
	alertUnknownCA           = 48
	alertAccessDenied        = 49
	alertCertificateRequired = 116
)

// remoteAlert returns the TLS alert the peer sent, if err is one.
func remoteAlert(err error) (uint8, bool) {
	var ae tls.AlertError
	if errors.As(err, &ae) {
		return uint8(ae), true
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "remote error" && oe.Err != nil {
		// crypto/tls reports a received alert as net.OpError{Op: "remote
		// error", Err: alert(n)} with an unexported uint8 type.
		if v := reflect.ValueOf(oe.Err); v.Kind() == reflect.Uint8 {
			return uint8(v.Uint()), true
		}
	}
	return 0, false
}

// DiagnoseHandshake explains a failed TLS handshake (or a failure on the
// first read after it, where TLS 1.3 reports a refused client certificate)
// in one sentence with the fix. It never fails: an error it does not know is
// described as a generic handshake failure; a nil error gives a zero
// Diagnosis.
func DiagnoseHandshake(err error, info HandshakeInfo) Diagnosis {
	if err == nil {
		return Diagnosis{}
	}
	if info.Now.IsZero() {
		info.Now = time.Now()
	}
	d := diagnose(err, &info)
	d.Err = err
	if d.Peer == nil && len(info.PeerCerts) > 0 {
		d.Peer = info.PeerCerts[0]
	}
	return d
}

func diagnose(err error, info *HandshakeInfo) Diagnosis {
	var pe *Error
	if errors.As(err, &pe) {
		return Diagnosis{Problem: pe.Problem, Message: pe.Message}
	}
	var cve *tls.CertificateVerificationError
	if errors.As(err, &cve) && len(info.PeerCerts) == 0 {
		info.PeerCerts = cve.UnverifiedCertificates
	}
	var leaf *x509.Certificate
	if len(info.PeerCerts) > 0 {
		leaf = info.PeerCerts[0]
	}
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	var cie x509.CertificateInvalidError
	var rhe tls.RecordHeaderError
	switch {
	case errors.As(err, &uae):
		if leaf == nil {
			leaf = uae.Cert
		}
		return unknownAuthority(leaf, info)
	case errors.As(err, &hne):
		if leaf == nil {
			leaf = hne.Certificate
		}
		return Diagnosis{Problem: ProblemHostnameMismatch, Peer: leaf, Message: fmt.Sprintf(
			"the hub's certificate is for %s, not %q from the server URL; use one of its names in the server URL, or re-issue it on the CA machine with kojictl certs hub %s --force (add more names with --san)",
			namesOf(hne.Certificate), hne.Host, hne.Host)}
	case errors.As(err, &cie):
		if leaf == nil {
			leaf = cie.Cert
		}
		return invalidCert(cie, leaf, info)
	case errors.As(err, &rhe):
		if info.Side == SideClient {
			return Diagnosis{Problem: ProblemPlainHTTP, Message: fmt.Sprintf(
				"the server at %s answered in plain HTTP, not TLS; use an http:// server URL or configure TLSCert and TLSKey on the hub", peer(info))}
		}
		return Diagnosis{Problem: ProblemPlainHTTP, Message: fmt.Sprintf(
			"the client at %s sent plain HTTP to the hub's TLS port; it must use an https:// server URL", peer(info))}
	}
	if code, ok := remoteAlert(err); ok {
		return peerRejected(code, err, info)
	}
	return Diagnosis{Problem: ProblemHandshake, Peer: leaf, Message: fmt.Sprintf(
		"the TLS handshake with %s failed: %v; run kojictl doctor on both machines", peer(info), err)}
}

func peer(info *HandshakeInfo) string {
	switch {
	case info.PeerAddr != "":
		return info.PeerAddr
	case info.ServerName != "":
		return info.ServerName
	case info.Side == SideClient:
		return "the hub"
	}
	return "the client"
}

func unknownAuthority(leaf *x509.Certificate, info *HandshakeInfo) Diagnosis {
	d := Diagnosis{Problem: ProblemUnknownCA, Peer: leaf}
	if leaf == nil {
		d.Message = fmt.Sprintf("the certificate of %s is not signed by a trusted CA; run kojictl doctor on both machines", peer(info))
		return d
	}
	issuer := leaf.Issuer.CommonName
	if info.Side == SideServer {
		who := "client certificate " + describeShort(leaf)
		fix := reissueAny(leaf)
		if isSelfSigned(leaf) {
			d.Problem = ProblemSelfSigned
			d.Message = fmt.Sprintf("%s from %s is self-signed, and the hub accepts only certificates from its CA; issue one from the hub's CA with %s", who, peer(info), fix)
			return d
		}
		d.Message = fmt.Sprintf("%s from %s was issued by %q, which the hub does not trust (TLSClientCA %s holds %s); re-issue it from the hub's CA with %s, or add %q to TLSClientCA",
			who, peer(info), issuer, orUnknown(info.RootsFile), caList(info.Roots), fix, issuer)
		return d
	}
	// Client side: the hub's certificate is not trusted.
	who := fmt.Sprintf("the hub's certificate (%s)", describe(leaf))
	if info.RootsFile == "" {
		d.Problem = ProblemWrongServerCA
		d.Message = fmt.Sprintf("%s is not signed by any CA in the system store and no serverca is configured; set serverca to the CA file that issued it (ca.crt from kojictl certs)", who)
		return d
	}
	var notCA []string
	for _, c := range info.Roots {
		if !c.IsCA {
			notCA = append(notCA, describeShort(c))
		}
	}
	if len(notCA) > 0 {
		d.Problem = ProblemWrongServerCA
		d.Message = fmt.Sprintf("serverca %s holds %s, which is not a CA certificate, so %s cannot be checked; set serverca to the CA that issued the hub's certificate (%q, ca.crt from kojictl certs)",
			info.RootsFile, strings.Join(notCA, ", "), who, issuer)
		return d
	}
	if isSelfSigned(leaf) {
		d.Problem = ProblemWrongServerCA
		d.Message = fmt.Sprintf("%s is self-signed and serverca %s does not hold it; issue the hub a certificate from your CA (kojictl certs hub %s) or set serverca to that very certificate",
			who, info.RootsFile, leaf.Subject.CommonName)
		return d
	}
	d.Problem = ProblemWrongServerCA
	d.Message = fmt.Sprintf("%s is not signed by the CA in serverca %s (%s); set serverca to the CA file of %q (ca.crt where the hub's certificate was made)",
		who, info.RootsFile, caList(info.Roots), issuer)
	return d
}

func invalidCert(cie x509.CertificateInvalidError, leaf *x509.Certificate, info *HandshakeInfo) Diagnosis {
	c := cie.Cert
	if c == nil {
		c = leaf
	}
	d := Diagnosis{Peer: leaf, Problem: ProblemHandshake}
	var who, fixExpired string
	if info.Side == SideClient {
		who = fmt.Sprintf("the hub's certificate (%s)", describeShort(c))
		if c != leaf && c != nil && c.IsCA {
			who = fmt.Sprintf("the CA certificate %q of the hub's certificate", c.Subject.CommonName)
		}
		fixExpired = "on the hub, renew it with kojictl certs renew (the TLSCert file) and restart the hub"
	} else {
		who = fmt.Sprintf("client certificate %s from %s", describeShort(c), peer(info))
		if c != leaf && c != nil && c.IsCA {
			who = fmt.Sprintf("the CA certificate %q of client certificate %s from %s", c.Subject.CommonName, describeShort(leaf), peer(info))
		}
		fixExpired = "renew it on the CA machine with kojictl certs renew " + fileGuess(leaf) + " and install it on the client"
	}
	switch cie.Reason {
	case x509.Expired:
		if c == nil {
			d.Problem = ProblemExpired
			d.Message = fmt.Sprintf("a certificate of %s is expired or not yet valid; run kojictl doctor on both machines", peer(info))
			return d
		}
		if info.Now.Before(c.NotBefore) {
			d.Problem = ProblemNotYetValid
			d.Message = fmt.Sprintf("%s is not valid until %s, %s from now; check the clocks of both machines (timedatectl) or re-issue it", who, when(c.NotBefore), human(c.NotBefore.Sub(info.Now)))
			return d
		}
		d.Problem = ProblemExpired
		d.Message = fmt.Sprintf("%s expired %s ago, on %s; %s", who, human(info.Now.Sub(c.NotAfter)), when(c.NotAfter), fixExpired)
		return d
	case x509.IncompatibleUsage:
		d.Problem = ProblemWrongEKU
		if info.Side == SideClient {
			d.Message = fmt.Sprintf("%s lacks the serverAuth extended key usage a TLS server needs; re-issue it with kojictl certs hub %s --force", who, c.Subject.CommonName)
		} else {
			d.Message = fmt.Sprintf("%s lacks the clientAuth extended key usage needed to log in; re-issue it with %s", who, reissueAny(c))
		}
		return d
	case x509.NotAuthorizedToSign:
		d.Problem = ProblemNotCA
		d.Message = fmt.Sprintf("%s was signed by %q, which is not a CA certificate; issue certificates only from a CA made by kojictl certs init", who, c.Issuer.CommonName)
		return d
	}
	d.Message = fmt.Sprintf("%s is invalid: %v; run kojictl doctor on both machines", who, cie)
	return d
}

// peerRejected explains an alert the peer sent: the peer refused our certificate.
func peerRejected(code uint8, err error, info *HandshakeInfo) Diagnosis {
	d := Diagnosis{Problem: ProblemPeerRejected}
	reason := alertText(code, err)
	if info.Side == SideServer {
		// A client refused the hub's certificate.
		who := "the hub's certificate"
		if info.OwnCert != nil {
			who = fmt.Sprintf("the hub's certificate (%s)", describe(info.OwnCert))
		}
		if own := info.OwnCert; own != nil {
			// Whatever alert the client chose, a fault we can see in our
			// own certificate is the likely reason.
			switch {
			case info.Now.After(own.NotAfter):
				d.Problem = ProblemExpired
				d.Message = fmt.Sprintf("the client at %s refused %s, which expired %s ago, on %s; renew it with kojictl certs renew (the TLSCert file) and restart the hub",
					peer(info), who, human(info.Now.Sub(own.NotAfter)), when(own.NotAfter))
				return d
			case info.Now.Before(own.NotBefore):
				d.Problem = ProblemNotYetValid
				d.Message = fmt.Sprintf("the client at %s refused %s, which is not valid until %s, %s from now; check the clocks of the hub and the CA machine (timedatectl) or re-issue it",
					peer(info), who, when(own.NotBefore), human(own.NotBefore.Sub(info.Now)))
				return d
			}
			if p := ekuProblem(own, RoleHub); p != "" {
				d.Problem = ProblemWrongEKU
				d.Message = fmt.Sprintf("the client at %s refused %s, which %s; re-issue it with kojictl certs hub %s --force", peer(info), who, p, own.Subject.CommonName)
				return d
			}
		}
		switch code {
		case alertCertificateExpired:
			d.Message = fmt.Sprintf("the client at %s refused %s as expired; if it is still valid here, that client's clock is wrong (fix it with timedatectl), else renew it with kojictl certs renew", peer(info), who)
		case alertUnknownCA, alertBadCertificate, alertCertificateUnknown:
			d.Problem = ProblemWrongServerCA
			if info.OwnCert == nil {
				d.Message = fmt.Sprintf("the client at %s refused the hub's certificate with the alert %q: its serverca is not the CA that issued the hub's certificate, or its server URL names a host the certificate is not for; fix that client's serverca and server URL",
					peer(info), reason)
				break
			}
			d.Message = fmt.Sprintf("the client at %s refused %s with the alert %q: either its serverca is not the CA %q or its server URL names a host the certificate is not for (it is for %s); give that client the CA file of %q as serverca and a URL with one of those names",
				peer(info), who, reason, info.OwnCert.Issuer.CommonName, namesOf(info.OwnCert), info.OwnCert.Issuer.CommonName)
		default:
			d.Problem = ProblemHandshake
			d.Message = fmt.Sprintf("the client at %s aborted the TLS handshake (%s); run kojictl doctor on that client", peer(info), reason)
		}
		return d
	}
	// The hub refused us.
	if info.OwnCert == nil {
		if code == alertCertificateRequired || code == alertHandshakeFailure || code == alertBadCertificate {
			d.Problem = ProblemNoClientCert
			d.Message = fmt.Sprintf("the hub at %s requires a client certificate and none is configured; set cert in the config to a PEM file with certificate and key (kojictl certs user NAME writes one)", peer(info))
			return d
		}
		d.Problem = ProblemHandshake
		d.Message = fmt.Sprintf("the hub at %s aborted the TLS handshake (%s); run kojictl doctor", peer(info), reason)
		return d
	}
	own := info.OwnCert
	who := "client certificate " + describeShort(own)
	if info.OwnCertFile != "" {
		who = fmt.Sprintf("client certificate %s (%s)", info.OwnCertFile, describeShort(own))
	}
	// What is wrong with our certificate that we can see here?
	switch {
	case info.Now.Before(own.NotBefore):
		d.Problem = ProblemNotYetValid
		d.Message = fmt.Sprintf("the hub refused %s because it is not valid until %s, %s from now; check the clocks of both machines (timedatectl) or re-issue it",
			who, when(own.NotBefore), human(own.NotBefore.Sub(info.Now)))
		return d
	case info.Now.After(own.NotAfter):
		d.Problem = ProblemExpired
		d.Message = fmt.Sprintf("the hub refused %s because it expired %s ago, on %s; renew it on the CA machine with kojictl certs renew %s",
			who, human(info.Now.Sub(own.NotAfter)), when(own.NotAfter), orDefault(info.OwnCertFile, fileGuess(own)))
		return d
	}
	if isSelfSigned(own) {
		d.Problem = ProblemSelfSigned
		d.Message = fmt.Sprintf("the hub refused %s because it is self-signed; issue one from the hub's CA with %s", who, reissueAny(own))
		return d
	}
	if p := ekuProblem(own, RoleUser); p != "" {
		d.Problem = ProblemWrongEKU
		d.Message = fmt.Sprintf("the hub refused %s because it %s; re-issue it with %s", who, p, reissueAny(own))
		return d
	}
	if len(info.AcceptableCAs) > 0 {
		var names []string
		trusted := false
		for _, n := range info.AcceptableCAs {
			names = append(names, fmt.Sprintf("%q", n.CommonName))
			if n.String() == own.Issuer.String() {
				trusted = true
			}
		}
		if !trusted {
			d.Problem = ProblemUnknownCA
			d.Message = fmt.Sprintf("the hub refused %s: it was issued by %q, but the hub trusts only %s (its TLSClientCA); re-issue it from the hub's CA with %s, or add %q to the hub's TLSClientCA",
				who, own.Issuer.CommonName, strings.Join(names, ", "), reissueAny(own), own.Issuer.CommonName)
			return d
		}
	}
	switch code {
	case alertCertificateExpired:
		d.Problem = ProblemExpired
		d.Message = fmt.Sprintf("the hub refused %s as expired although it is valid here until %s; the hub's clock is probably wrong (check it with timedatectl)", who, when(own.NotAfter))
	case alertUnknownCA, alertBadCertificate, alertCertificateUnknown, alertUnsupportedCert:
		d.Problem = ProblemUnknownCA
		d.Message = fmt.Sprintf("the hub refused %s, issued by %q, although it is valid here: the hub's TLSClientCA does not hold %q; point TLSClientCA at the CA that issued it, or re-issue the certificate from the hub's CA with %s",
			who, own.Issuer.CommonName, own.Issuer.CommonName, reissueAny(own))
	case alertCertificateRevoked:
		d.Message = fmt.Sprintf("the hub refused %s as revoked; get a new certificate with %s", who, reissueAny(own))
	case alertAccessDenied:
		d.Message = fmt.Sprintf("the hub refused %s (access denied); ask the hub's admin to allow %q", who, own.Subject.CommonName)
	default:
		d.Problem = ProblemHandshake
		d.Message = fmt.Sprintf("the hub at %s aborted the TLS handshake (%s) after receiving %s; run kojictl doctor", peer(info), reason, who)
	}
	return d
}

func alertText(code uint8, err error) string {
	s := strings.TrimPrefix(tls.AlertError(code).Error(), "tls: ")
	if s == "" {
		return err.Error()
	}
	return s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown file)"
	}
	return s
}

// reissueAny is the command that makes a new client certificate for c's CN.
func reissueAny(c *x509.Certificate) string {
	n := "NAME"
	if c != nil && c.Subject.CommonName != "" {
		n = c.Subject.CommonName
	}
	return reissueName(n)
}

func reissueName(n string) string {
	return "kojictl certs user " + n + " (or host " + n + ") --force"
}

func fileGuess(c *x509.Certificate) string {
	if c == nil || c.Subject.CommonName == "" {
		return "NAME.crt"
	}
	return c.Subject.CommonName + ".crt"
}

// ClientContext is what a client knows when a call to the hub fails: its
// config files and what its TLS config recorded. DiagnoseClientError uses the
// files only; a client built with ClientTLSConfig can add AcceptableCAs.
type ClientContext struct {
	CertFile     string // Koji `cert`: certificate (and key)
	KeyFile      string // empty when the key is in CertFile
	ServerCAFile string // Koji `serverca`; empty means the system store
	ServerURL    string // Koji `server`
	// AcceptableCAs, when known, are the CAs the hub asked client
	// certificates from (see Recorder).
	AcceptableCAs []pkix.Name
	Now           time.Time // zero: time.Now()
}

// DiagnoseClientError turns an error from a call to the hub into an error
// whose message is one sentence naming the fault and its fix, for TLS and
// certificate failures (the hub's certificate not trusted, expired or for
// another name; ours refused, expired, self-signed or without clientAuth; no
// client certificate; files missing, unreadable, truncated, encrypted), for
// a server URL whose scheme the hub does not speak (https:// on a plain-HTTP
// port, http:// on a TLS port: see ErrTLSPort), and for an unreachable hub.
// The original error stays reachable through Unwrap. Errors it does not
// recognise are returned unchanged; nil stays nil.
func DiagnoseClientError(err error, clientCertFile, serverCAFile, serverURL string) error {
	return ClientContext{CertFile: clientCertFile, ServerCAFile: serverCAFile, ServerURL: serverURL}.Diagnose(err)
}

// Diagnose is DiagnoseClientError with everything the client knows.
func (cc ClientContext) Diagnose(err error) error {
	if err == nil {
		return nil
	}
	var pe *Error
	if errors.As(err, &pe) {
		if pe == err {
			return err
		}
		return &Error{Problem: pe.Problem, Message: pe.Message, Err: err}
	}
	if cc.Now.IsZero() {
		cc.Now = time.Now()
	}
	host, port := cc.hostPort()
	info := HandshakeInfo{Side: SideClient, ServerName: host, Now: cc.Now, AcceptableCAs: cc.AcceptableCAs, PeerAddr: net.JoinHostPort(host, port)}
	if host == "" {
		info.PeerAddr = ""
	}

	var pathErr *fs.PathError
	if errors.As(err, &pathErr) && pathErr.Path != "" && (pathErr.Path == cc.CertFile || pathErr.Path == cc.KeyFile || pathErr.Path == cc.ServerCAFile) {
		if f := cc.localError(); f != nil {
			return &Error{Problem: f.Problem, Message: f.Message, Err: err}
		}
	}

	if pe := cc.schemeMismatch(err, host, port); pe != nil {
		return pe
	}

	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	var cie x509.CertificateInvalidError
	var cve *tls.CertificateVerificationError
	var rhe tls.RecordHeaderError
	_, isAlert := remoteAlert(err)
	switch {
	case errors.As(err, &uae), errors.As(err, &hne), errors.As(err, &cie), errors.As(err, &cve), errors.As(err, &rhe):
		if cc.ServerCAFile != "" {
			info.RootsFile = cc.ServerCAFile
			roots, lerr := LoadCAFile(cc.ServerCAFile)
			if lerr != nil {
				var le *Error
				if errors.As(lerr, &le) {
					return &Error{Problem: ProblemWrongServerCA, Message: le.Message, Err: err}
				}
			}
			info.Roots = roots
		}
		return DiagnoseHandshake(err, info).withErr(err)
	case isAlert:
		if cc.CertFile != "" {
			if f := cc.localError(); f != nil {
				return &Error{Problem: f.Problem, Message: f.Message, Err: err}
			}
			if b, lerr := ReadBundle(cc.CertFile, "certificate"); lerr == nil && len(b.Certs) > 0 {
				info.OwnCert, info.OwnCertFile = b.Certs[0], cc.CertFile
			}
		}
		return DiagnoseHandshake(err, info).withErr(err)
	}
	if d, ok := netDiagnosis(err, host, port, cc.ServerURL); ok {
		return &Error{Problem: ProblemUnreachable, Message: d, Err: err}
	}
	return err
}

// ErrTLSPort marks an HTTP answer in which a TLS port refused a plain-HTTP
// request (see IsTLSPortAnswer). A client wraps that answer with it
// (fmt.Errorf("%w: %w", pki.ErrTLSPort, answerErr)) and Diagnose explains it.
var ErrTLSPort = errors.New("plain HTTP sent to a TLS port")

// tlsPortAnswers are the words in which TLS servers answer a plain-HTTP
// request, with status 400: Go's net/http (and NewListener), Apache's
// mod_ssl, nginx.
var tlsPortAnswers = []string{
	"Client sent an HTTP request to an HTTPS server",
	"speaking plain HTTP to an SSL-enabled server port",
	"The plain HTTP request was sent to HTTPS port",
}

// IsTLSPortAnswer reports whether an HTTP answer, its status code and the
// start of its body, is a TLS port refusing a plain-HTTP request: a 400 in
// the words of Go's net/http (and NewListener), Apache's mod_ssl or nginx.
// The body is the only sign of it; any other answer is not one.
func IsTLSPortAnswer(statusCode int, body string) bool {
	if statusCode != http.StatusBadRequest {
		return false
	}
	for _, s := range tlsPortAnswers {
		if strings.Contains(body, s) {
			return true
		}
	}
	return false
}

// schemeMismatch explains a server URL whose scheme is not what the server
// speaks (http:// on a TLS port, https:// on a plain one) with the URL to
// use instead; nil when err is not such a mismatch.
func (cc ClientContext) schemeMismatch(err error, host, port string) *Error {
	at := ""
	if host != "" {
		at = " at " + net.JoinHostPort(host, port)
	}
	var rhe tls.RecordHeaderError
	switch {
	case errors.Is(err, ErrTLSPort):
		return &Error{Problem: ProblemPlainHTTP, Err: err, Message: fmt.Sprintf(
			"the hub%s speaks TLS, not plain HTTP; use %s", at, cc.urlWithScheme("https"))}
	case errors.Is(err, http.ErrSchemeMismatch),
		errors.As(err, &rhe) && string(rhe.RecordHeader[:]) == "HTTP/":
		// net/http reports an answer that starts with "HTTP/" to a TLS
		// client hello as ErrSchemeMismatch; other clients may keep the
		// record header error.
		return &Error{Problem: ProblemPlainHTTP, Err: err, Message: fmt.Sprintf(
			"the hub%s speaks plain HTTP, not TLS; use %s, or set TLSCert and TLSKey in the hub's hub.conf to serve https://", at, cc.urlWithScheme("http"))}
	case errors.As(err, &rhe) && rhe.Conn != nil:
		// The first record was not TLS, and not HTTP either.
		return &Error{Problem: ProblemHandshake, Err: err, Message: fmt.Sprintf(
			"the server%s does not speak TLS (its answer began with %q); check the host and port in the server URL", at, rhe.RecordHeader[:])}
	}
	return nil
}

// urlWithScheme returns "the server URL X": cc.ServerURL with scheme and
// the port that was dialled (https://hub/kojihub that speaks plain HTTP is
// http://hub:443/kojihub), or "an X:// server URL" when it is not known.
func (cc ClientContext) urlWithScheme(scheme string) string {
	u, err := url.Parse(cc.ServerURL)
	if err != nil || u.Host == "" {
		return "an " + scheme + ":// server URL"
	}
	if _, port := cc.hostPort(); u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), port)
	}
	u.Scheme = scheme
	return "the server URL " + u.String()
}

func (d Diagnosis) withErr(err error) error {
	return &Error{Problem: d.Problem, Message: d.Message, Err: err}
}

// localError checks the client's own files and returns the first error.
func (cc ClientContext) localError() *Finding {
	var fs []Finding
	if cc.CertFile != "" {
		fs = CheckFiles(Files{Cert: cc.CertFile, Key: cc.KeyFile}, RoleUser, "", cc.Now)
	}
	if cc.ServerCAFile != "" {
		fs = append(fs, CheckCAFile(cc.ServerCAFile, cc.Now)...)
	}
	for _, f := range fs {
		if f.Severity == SeverityError {
			return &f
		}
	}
	return nil
}

func (cc ClientContext) hostPort() (string, string) {
	u, err := url.Parse(cc.ServerURL)
	if err != nil || u.Host == "" {
		return "", ""
	}
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	return u.Hostname(), port
}

func netDiagnosis(err error, host, port, serverURL string) (string, bool) {
	where := net.JoinHostPort(host, port)
	if host == "" {
		where = "the hub"
	}
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("the hub's host name %q does not resolve (%s); fix the server URL %s or the DNS/hosts entry", dnsErr.Name, dnsErr.Err, serverURL), true
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("nothing accepts connections at %s (connection refused); start the hub or fix the port in the server URL %s", where, serverURL), true
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Sprintf("%s is unreachable from this machine (%v); check the network route and the server URL %s", where, err, serverURL), true
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("connecting to %s timed out; check that the hub runs and that no firewall drops port %s", where, port), true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Sprintf("connecting to %s timed out; check that the hub runs and that no firewall drops port %s", where, port), true
	}
	return "", false
}
