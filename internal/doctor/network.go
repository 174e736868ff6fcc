package doctor

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"kojigo/internal/kojiclient"
	"kojigo/internal/kojixml"
	"kojigo/internal/pki"
)

// netCheck is one config's view of the hub.
type netCheck struct {
	subject  string
	server   string
	serverCA string
	// cert, when set, is logged in with (sslLogin).
	cert string
	role pki.Role
	// expect is the user the certificate must log in as, when known.
	expect         string
	expectExplicit bool
	// wantPerm is a permission the logged-in user should have.
	wantPerm string
}

const apiVersionCall = "<?xml version='1.0'?>\n<methodCall>\n<methodName>getAPIVersion</methodName>\n<params>\n</params>\n</methodCall>\n"

// checkNetwork resolves the hub, checks its certificate with an anonymous
// call, then logs in with the client certificate and checks who that is.
func (r *runner) checkNetwork(ctx context.Context, nc netCheck) {
	u, err := url.Parse(nc.server)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		r.add(Error, pki.ProblemUnreachable, nc.subject, "server %q is not an http(s) URL; set server = https://HUB/kojihub", nc.server)
		return
	}
	host := u.Hostname()
	if net.ParseIP(host) == nil {
		rctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
		addrs, err := net.DefaultResolver.LookupHost(rctx, host)
		cancel()
		if err != nil {
			var de *net.DNSError
			reason := err.Error()
			if errors.As(err, &de) {
				reason = de.Err
			}
			r.add(Error, pki.ProblemUnreachable, nc.subject, "the hub's host name %q in server %s does not resolve (%s); fix server or the DNS or /etc/hosts entry", host, nc.server, reason)
			return
		}
		r.add(OK, pki.ProblemNone, nc.subject, "hub host name %s resolves to %s", host, strings.Join(addrs, ", "))
	}
	if u.Scheme == "http" {
		if nc.cert != "" {
			r.add(Warning, pki.ProblemPlainHTTP, nc.subject, "server %s is plain HTTP, so the certificate cannot be used and traffic is not encrypted; use the hub's https:// URL", nc.server)
		}
	}
	if !r.anonymousCall(ctx, nc) {
		return
	}
	if nc.cert != "" && u.Scheme == "https" {
		r.login(ctx, nc)
	}
}

// anonymousCall checks the hub's certificate and that it answers XML-RPC.
func (r *runner) anonymousCall(ctx context.Context, nc netCheck) bool {
	pc, err := pki.NewClient(pki.ClientContext{ServerCAFile: nc.serverCA, ServerURL: nc.server})
	if err != nil {
		// serverca itself is broken; the file check said how.
		return false
	}
	tr := &http.Transport{TLSClientConfig: pc.TLSConfig(), Proxy: http.ProxyFromEnvironment}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: r.opts.Timeout}
	cctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, nc.server, strings.NewReader(apiVersionCall))
	if err != nil {
		r.add(Error, pki.ProblemUnreachable, nc.subject, "server %q: %v", nc.server, err)
		return false
	}
	req.Header.Set("Content-Type", "text/xml")
	resp, err := hc.Do(req)
	if err != nil {
		d := pc.Diagnose(err, nc.server)
		var pe *pki.Error
		if errors.As(d, &pe) {
			r.add(Error, pe.Problem, nc.subject, "%s", pe.Message)
		} else {
			r.add(Error, pki.ProblemUnreachable, nc.subject, "calling the hub at %s failed: %v", nc.server, err)
		}
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if pki.IsTLSPortAnswer(resp.StatusCode, string(body)) {
		// http:// to a TLS port: say which URL to use, as the client does
		d := pc.Diagnose(fmt.Errorf("%w: HTTP %s", pki.ErrTLSPort, resp.Status), nc.server)
		var pe *pki.Error
		if errors.As(d, &pe) {
			r.add(Error, pe.Problem, nc.subject, "%s", pe.Message)
			return false
		}
	}
	if resp.StatusCode != http.StatusOK {
		r.add(Error, pki.ProblemUnreachable, nc.subject, "the server at %s answered HTTP %s instead of XML-RPC; check the path of server (usually /kojihub)", nc.server, resp.Status)
		return false
	}
	if _, err := kojixml.DecodeResponse(strings.NewReader(string(body))); err != nil {
		var f *kojixml.Fault
		if !errors.As(err, &f) {
			r.add(Error, pki.ProblemUnreachable, nc.subject, "the server at %s does not answer XML-RPC (%v); check that server points at the hub's /kojihub", nc.server, err)
			return false
		}
	}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		c := resp.TLS.PeerCertificates[0]
		trust := "the system CA store"
		if nc.serverCA != "" {
			trust = "serverca " + nc.serverCA
		}
		r.add(OK, pki.ProblemNone, nc.subject, "the hub at %s presents CN=%s, issued by %q, valid until %s, which %s trusts", nc.server, c.Subject.CommonName, c.Issuer.CommonName, c.NotAfter.UTC().Format("2006-01-02"), trust)
		if left := c.NotAfter.Sub(r.now); left < pki.ExpiryWarning {
			r.add(Warning, pki.ProblemExpiringSoon, nc.subject, "the hub's certificate CN=%s expires on %s; renew it on the hub with kojictl certs renew (its TLSCert file) and restart the hub", c.Subject.CommonName, c.NotAfter.UTC().Format("2006-01-02"))
		}
	} else {
		r.add(OK, pki.ProblemNone, nc.subject, "the hub at %s answers XML-RPC", nc.server)
	}
	return true
}

// login does sslLogin with the certificate and checks the user it gives.
func (r *runner) login(ctx context.Context, nc netCheck) {
	if _, err := os.Stat(nc.cert); err != nil {
		return // the file check reported it
	}
	kc, err := kojiclient.New(kojiclient.Options{Server: nc.server, CertFile: nc.cert, ServerCAFile: nc.serverCA, MaxRetries: -1, Timeout: r.opts.Timeout, DisableRenew: true})
	if err != nil {
		return // the file checks reported why the certificate does not load
	}
	cctx, cancel := context.WithTimeout(ctx, 2*r.opts.Timeout)
	defer cancel()
	if err := kc.SSLLogin(cctx); err != nil {
		var pe *pki.Error
		var f *kojixml.Fault
		switch {
		case errors.As(err, &pe):
			r.add(Error, pe.Problem, nc.subject, "%s", pe.Message)
		case isLocked(err):
			r.locked(nc)
		case errors.As(err, &f):
			r.add(Error, pki.ProblemPeerRejected, nc.subject, "the hub refused sslLogin with %s: %s", nc.cert, strings.TrimSuffix(f.String, "."))
		default:
			r.add(Error, pki.ProblemHandshake, nc.subject, "sslLogin with %s failed: %v", nc.cert, err)
		}
		return
	}
	defer kc.Logout(context.WithoutCancel(cctx))
	u, err := kc.GetLoggedInUser(cctx)
	if isLocked(err) {
		r.locked(nc)
		return
	}
	if err != nil || u == nil {
		r.add(Error, pki.ProblemHandshake, nc.subject, "sslLogin succeeded but getLoggedInUser did not return the user (%v); check the hub's logs", err)
		return
	}
	switch {
	case nc.expect != "" && u.Name != nc.expect:
		sev := Error
		hint := ""
		if !nc.expectExplicit {
			sev = Warning
			hint = fmt.Sprintf(" (the expected name is this machine's host name; set hostname = in %s if the builder is registered under another)", nc.subject)
		}
		r.add(sev, pki.ProblemNameMismatch, nc.subject, "%s logs in as %q, not %q; issue a certificate for %q with kojictl certs %s %s%s", nc.cert, u.Name, nc.expect, nc.expect, nc.role, nc.expect, hint)
	default:
		r.add(OK, pki.ProblemNone, nc.subject, "sslLogin with %s works and logs in as %q", nc.cert, u.Name)
	}
	if nc.role == pki.RoleHost && u.UserType != 1 {
		r.add(Error, pki.ProblemNameMismatch, nc.subject, "%s logs in as %q, which is not a host on the hub (usertype %d), so kojid cannot take tasks; register it with koji add-host %s ARCH, or issue the certificate for the name the host is registered under", nc.cert, u.Name, u.UserType, u.Name)
	}
	if nc.wantPerm != "" {
		v, err := kc.Call(cctx, "hasPerm", nc.wantPerm)
		if has, ok := v.(bool); err == nil && ok && !has {
			r.add(Warning, pki.ProblemNone, nc.subject, "user %q lacks the %s permission it needs; grant it with koji grant-permission %s %s", u.Name, nc.wantPerm, nc.wantPerm, u.Name)
		}
	}
}

// isLocked reports whether err is the hub's AuthLockError: another session
// of the same user holds its exclusive lock, as kojid's and kojira's do.
func isLocked(err error) bool {
	var f *kojixml.Fault
	return errors.As(err, &f) && f.Code == kojixml.AuthLockError
}

// locked reports a login whose user another session holds exclusively. A
// running kojid (or kojira) holds its user's lock for as long as it runs,
// so on a builder this is the healthy state, not a fault; only a user's
// own certificate should never be locked.
func (r *runner) locked(nc netCheck) {
	daemon := "kojid or kojira"
	switch nc.role {
	case pki.RoleHost:
		daemon = "kojid"
	case pki.RoleKojira:
		daemon = "kojira"
	default:
		r.add(Error, pki.ProblemPeerRejected, nc.subject, "the hub says another session holds the exclusive lock of the user that %s logs in as, so every call made with it fails (AuthLockError); a %s running with this certificate holds it: give that daemon a certificate of its own", nc.cert, daemon)
		return
	}
	r.add(OK, pki.ProblemNone, nc.subject, "the hub accepts %s and says another session holds this user's exclusive lock: %s is running with this certificate and holds its session, so the login checks stop here (if no %s runs with it, one that was killed left the lock: start %s with --force-lock)", nc.cert, daemon, daemon, daemon)
}

// hubServesCert checks that the hub at server presents the certificate in
// certFile: after a renewal the hub must be restarted, and a proxy in front
// of it must pass TLS through for client certificates to reach it.
func (r *runner) hubServesCert(ctx context.Context, subject, server, certFile string) {
	b, err := pki.ReadBundle(certFile, "certificate")
	if err != nil || len(b.Certs) == 0 {
		return // the file check reported it
	}
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		r.add(Error, pki.ProblemPlainHTTP, subject, "--server %q is not an https:// URL, but hub.conf sets TLSCert; use the hub's https:// URL", server)
		return
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: r.opts.Timeout}, Config: &tls.Config{
		ServerName: u.Hostname(),
		// Only the presented certificate is compared here; whether clients
		// trust it is their configs' check.
		InsecureSkipVerify: true, //nolint:gosec
	}}
	cctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	conn, err := d.DialContext(cctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		msg := pki.DiagnoseClientError(err, "", "", server).Error()
		r.add(Error, pki.ProblemUnreachable, subject, "%s", msg)
		return
	}
	defer conn.Close()
	peer := conn.(*tls.Conn).ConnectionState().PeerCertificates
	switch {
	case len(peer) == 0:
		r.add(Error, pki.ProblemHandshake, subject, "the hub at %s presented no certificate; check what listens there", server)
	case !peer[0].Equal(b.Certs[0]):
		r.add(Error, pki.ProblemHandshake, subject, "the hub at %s presents CN=%s (serial %x), not TLSCert %s (serial %x): restart the hub after renewing its certificate, and make any proxy in front of it pass TLS through", server, peer[0].Subject.CommonName, peer[0].SerialNumber, certFile, b.Certs[0].SerialNumber)
	default:
		r.add(OK, pki.ProblemNone, subject, "the hub at %s presents TLSCert %s", server, certFile)
	}
}
