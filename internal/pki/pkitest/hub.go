package pkitest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"kojigo/internal/kojixml"
	"kojigo/internal/pki"
)

// HubOptions configure StartHub.
type HubOptions struct {
	CertFile, KeyFile, ClientCAFile string
	// UserTypes maps a certificate CN to its Koji usertype (0 normal, 1
	// host). Other CNs log in as new normal users, as with LoginCreatesUser.
	UserTypes map[string]int
	// Plain serves HTTP without TLS (for the plain-HTTP diagnosis).
	Plain bool
}

// Hub is a stand-in for kojihub's TLS front: pki.ServerTLSConfig behind
// pki.NewListener, answering sslLogin, getLoggedInUser and getAPIVersion
// with Koji's shapes, and recording every failure it diagnoses.
type Hub struct {
	URL  string // https://127.0.0.1:PORT/kojihub
	Addr string
	TLS  *tls.Config

	mu       sync.Mutex
	failures []pki.Failure
	sessions map[string]string // session id -> user name
	opts     HubOptions
}

// StartHub starts a hub stand-in on 127.0.0.1 and stops it at test cleanup.
func StartHub(t testing.TB, opts HubOptions) *Hub {
	t.Helper()
	h := &Hub{sessions: map[string]string{}, opts: opts}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.Addr = ln.Addr().String()
	scheme := "http"
	if !opts.Plain {
		scheme = "https"
		cfg, err := pki.ServerTLSConfig(opts.CertFile, opts.KeyFile, opts.ClientCAFile, h.record)
		if err != nil {
			ln.Close()
			t.Fatalf("hub tls config: %v", err)
		}
		h.TLS = cfg
		ln = pki.NewListener(ln, cfg, pki.ListenerOptions{OnFailure: h.record, HandshakeTimeout: 5 * time.Second})
	}
	h.URL = scheme + "://" + h.Addr + "/kojihub"
	mux := http.NewServeMux()
	mux.HandleFunc("POST /kojihub", h.serve)
	mux.HandleFunc("POST /kojihub/ssllogin", h.serve)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: nil}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		ln.Close()
		<-done
	})
	return h
}

func (h *Hub) record(f pki.Failure) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failures = append(h.failures, f)
}

// Failures returns the failures recorded so far.
func (h *Hub) Failures() []pki.Failure {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]pki.Failure(nil), h.failures...)
}

// WaitFailures polls until at least n failures are recorded or the
// deadline passes, and returns what it has.
func (h *Hub) WaitFailures(n int, timeout time.Duration) []pki.Failure {
	deadline := time.Now().Add(timeout)
	for {
		fs := h.Failures()
		if len(fs) >= n || time.Now().After(deadline) {
			return fs
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *Hub) serve(w http.ResponseWriter, r *http.Request) {
	call, err := kojixml.DecodeCall(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		h.fault(w, kojixml.Errorf(kojixml.GenericError, "bad request: %v", err))
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	switch call.Method {
	case "getAPIVersion":
		kojixml.EncodeResponse(w, int64(1))
	case "sslLogin":
		cert, err := pki.VerifyClientCert(r.TLS, h.TLS)
		if err != nil {
			var pe *pki.Error
			f := pki.Failure{Time: time.Now(), RemoteAddr: r.RemoteAddr, Message: err.Error(), Err: err}
			if errors.As(err, &pe) {
				f.Problem = pe.Problem
			}
			h.record(f)
			// The real hub's words: Koji's prefix, then the diagnosis.
			h.fault(w, kojixml.Errorf(kojixml.AuthError, "could not verify client: %s", err.Error()))
			return
		}
		h.mu.Lock()
		id := len(h.sessions) + 1
		h.sessions[strconv.Itoa(id)] = cert.Subject.CommonName
		h.mu.Unlock()
		kojixml.EncodeResponse(w, kojixml.Struct{
			{Name: "session-id", Value: int64(id)},
			{Name: "session-key", Value: fmt.Sprintf("%d-abcdefghijklmnopqrs", id)},
			{Name: "header-auth", Value: true},
		})
	case "getLoggedInUser":
		h.mu.Lock()
		name, ok := h.sessions[r.Header.Get("Koji-Session-Id")]
		h.mu.Unlock()
		if !ok {
			kojixml.EncodeResponse(w, nil)
			return
		}
		kojixml.EncodeResponse(w, kojixml.Struct{
			{Name: "id", Value: int64(100)},
			{Name: "name", Value: name},
			{Name: "status", Value: int64(0)},
			{Name: "usertype", Value: int64(h.opts.UserTypes[name])},
			{Name: "krb_principals", Value: []any{}},
			{Name: "authtype", Value: int64(2)},
			{Name: "krb_principal", Value: nil},
		})
	default:
		h.fault(w, kojixml.Errorf(kojixml.GenericError, "Invalid method: %s", call.Method))
	}
}

func (h *Hub) fault(w http.ResponseWriter, f *kojixml.Fault) {
	w.Header().Set("Content-Type", "text/xml")
	kojixml.EncodeFault(w, f)
}
