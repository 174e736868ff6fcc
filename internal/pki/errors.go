package pki

import (
	"encoding/json"
	"fmt"
)

// Severity grades a Finding.
type Severity int

// Severities, from good to bad.
const (
	SeverityOK Severity = iota
	SeverityWarning
	SeverityError
)

func (s Severity) String() string {
	switch s {
	case SeverityOK:
		return "ok"
	case SeverityWarning:
		return "warning"
	case SeverityError:
		return "error"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText renders the severity as "ok", "warning" or "error".
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses "ok", "warning" or "error".
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "ok":
		*s = SeverityOK
	case "warning":
		*s = SeverityWarning
	case "error":
		*s = SeverityError
	default:
		return fmt.Errorf("parse severity %q: want ok, warning or error", b)
	}
	return nil
}

// Problem is a stable, machine-readable name for a kind of fault, so that
// callers (metrics, the console, tests) never match message text.
type Problem string

// The problems this package diagnoses.
const (
	ProblemNone             Problem = ""
	ProblemMissing          Problem = "missing"           // file does not exist
	ProblemUnreadable       Problem = "unreadable"        // permission denied
	ProblemNotAFile         Problem = "not-a-file"        // directory, device, fifo
	ProblemTooLarge         Problem = "too-large"         // over MaxFileSize
	ProblemNotPEM           Problem = "not-pem"           // no PEM block (empty, DER, garbage)
	ProblemTruncated        Problem = "truncated-pem"     // BEGIN without END, or cut base64
	ProblemCorrupt          Problem = "corrupt"           // PEM block that does not parse
	ProblemWrongType        Problem = "wrong-type"        // a key where a certificate belongs, and so on
	ProblemEncryptedKey     Problem = "encrypted-key"     // passphrase-protected key
	ProblemKeyMismatch      Problem = "key-mismatch"      // key does not belong to the certificate
	ProblemExpired          Problem = "expired"           // NotAfter in the past
	ProblemNotYetValid      Problem = "not-yet-valid"     // NotBefore in the future
	ProblemExpiringSoon     Problem = "expiring-soon"     // within the warning window
	ProblemUnknownCA        Problem = "unknown-ca"        // not signed by a trusted CA
	ProblemSelfSigned       Problem = "self-signed"       // a leaf certificate signed by itself
	ProblemNotCA            Problem = "not-ca"            // a CA file holding a non-CA certificate
	ProblemIsCA             Problem = "is-ca"             // a CA certificate used as a leaf
	ProblemWrongServerCA    Problem = "wrong-serverca"    // serverca is not the CA that issued the hub's certificate
	ProblemWrongEKU         Problem = "wrong-eku"         // missing clientAuth or serverAuth
	ProblemNameMismatch     Problem = "name-mismatch"     // client CN is not the expected user or host
	ProblemHostnameMismatch Problem = "hostname-mismatch" // server name not in the certificate's SANs
	ProblemNoClientCert     Problem = "no-client-cert"    // no client certificate presented or configured
	ProblemPeerRejected     Problem = "peer-rejected"     // the other side refused our certificate
	ProblemWeakKey          Problem = "weak-key"          // RSA under 2048 bits, SHA-1 signature
	ProblemInsecurePerms    Problem = "insecure-permissions"
	ProblemPlainHTTP        Problem = "plain-http" // one side speaks HTTP, the other TLS
	ProblemUnreachable      Problem = "unreachable"
	ProblemHandshake        Problem = "handshake" // any other TLS failure
)

// Finding is one checked fact: its severity, what it is about (a file or
// config key) and one sentence that says what is wrong and how to fix it.
type Finding struct {
	Severity Severity `json:"severity"`
	Problem  Problem  `json:"problem,omitempty"`
	Subject  string   `json:"subject"`
	Message  string   `json:"message"`
}

func (f Finding) String() string { return f.Severity.String() + ": " + f.Subject + ": " + f.Message }

// Error is a diagnosed failure. Its message is one sentence that names the
// fault and its fix; Err keeps the original error for errors.Is and As.
type Error struct {
	Problem Problem
	Message string
	Err     error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the original error.
func (e *Error) Unwrap() error { return e.Err }

func newError(p Problem, err error, format string, args ...any) *Error {
	return &Error{Problem: p, Err: err, Message: fmt.Sprintf(format, args...)}
}

// MarshalJSON renders the error as its problem and message.
func (e *Error) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Problem Problem `json:"problem"`
		Message string  `json:"message"`
	}{e.Problem, e.Message})
}
