package hubcore_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"kojigo/db"
	"kojigo/hubcore"
	"kojigo/internal/kojiconf"
	"kojigo/internal/kojixml"
	"kojigo/internal/pki"
	"kojigo/internal/pki/pkitest"
)

// tlsCaller posts XML-RPC calls to a hub with a client certificate, as
// kojiweb's koji.ClientSession does.
type tlsCaller struct {
	t        *testing.T
	url      string
	hc       *http.Client
	sid, key string
}

func newTLSCaller(t *testing.T, url, certPEM, caFile string) *tlsCaller {
	t.Helper()
	cfg, err := pki.ClientTLSConfig(certPEM, "", caFile)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: cfg}
	t.Cleanup(tr.CloseIdleConnections)
	return &tlsCaller{t: t, url: url, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

func (c *tlsCaller) call(method string, params ...any) (any, error) {
	var body bytes.Buffer
	if err := kojixml.EncodeCall(&body, method, params); err != nil {
		return nil, err
	}
	req, _ := http.NewRequest("POST", c.url, &body)
	req.Header.Set("Content-Type", "text/xml")
	if c.sid != "" {
		req.Header.Set("Koji-Session-Id", c.sid)
		req.Header.Set("Koji-Session-Key", c.key)
		req.Header.Set("Koji-Session-Callnum", "1")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return kojixml.DecodeResponse(resp.Body)
}

// proxyLogin is kojiweb's session.ssl_login(WebCert, None, KojiHubCA,
// proxyuser=user, proxyauthtype=authtype).
func (c *tlsCaller) proxyLogin(user string, authtype any) error {
	kw := map[string]any{"proxyuser": user}
	if authtype != nil {
		kw["proxyauthtype"] = authtype
	}
	v, err := c.call("sslLogin", kojixml.EncodeKwargs(nil, kw)...)
	if err != nil {
		return err
	}
	m := v.(map[string]any)
	c.sid, c.key = strconv.FormatInt(m["session-id"].(int64), 10), m["session-key"].(string)
	return nil
}

// TestRealHubProxyDNs: kojiweb's certificate, named in hub.conf's
// ProxyDNs, logs users in for them (sslLogin proxyuser); any other
// certificate, or kojiweb's without ProxyDNs, gets Koji's AuthError.
func TestRealHubProxyDNs(t *testing.T) {
	farm := pkitest.NewFarm(t, "kojigo CA A")
	hubCert := farm.Issue("hub", pki.Request{Role: pki.RoleHub, Name: "127.0.0.1"})
	web := farm.Issue("kojiweb", pki.Request{Role: pki.RoleWeb, Name: "kojiweb"})
	carol := farm.Issue("carol", pki.Request{Role: pki.RoleUser, Name: "carol"})
	opts := pkitest.HubOptions{CertFile: hubCert.Cert, KeyFile: hubCert.Key, ClientCAFile: farm.CAFile}
	webDN := readCertSubject(t, web.Cert)
	if webDN != "CN=kojiweb" {
		t.Fatalf("kojiweb certificate subject %q, want CN=kojiweb (what kojictl certs web tells operators)", webDN)
	}
	seed := func(ctx context.Context, s *db.Store) error {
		_, err := s.CreateUser(ctx, db.User{Name: "mallory", Status: db.StatusBlocked})
		return err
	}
	fault := func(err error) *kojixml.Fault {
		var f *kojixml.Fault
		if !errors.As(err, &f) {
			t.Fatalf("error %v, want a fault", err)
		}
		return f
	}

	t.Run("in ProxyDNs", func(t *testing.T) {
		hub := startRealHub(t, opts, farm.CAFile, hubSetup{Seed: seed, Tweak: func(fc *hubcore.FileConfig) {
			fc.ProxyDNs = "CN=someone else,O=Example | " + webDN
		}})
		kw := newTLSCaller(t, hub.URL, web.PEM, farm.CAFile)
		if err := kw.proxyLogin("alice", int64(db.AuthSSL)); err != nil {
			t.Fatalf("proxy login of alice: %v", err)
		}
		u, err := kw.call("getLoggedInUser")
		if err != nil || u.(map[string]any)["name"] != "alice" || u.(map[string]any)["authtype"] != int64(db.AuthSSL) {
			t.Fatalf("getLoggedInUser after proxy login = %v, %v; want alice (created), authtype SSL", u, err)
		}
		// without proxyauthtype, and again for the now known user
		kw2 := newTLSCaller(t, hub.URL, web.PEM, farm.CAFile)
		if err := kw2.proxyLogin("alice", nil); err != nil {
			t.Fatalf("second proxy login of alice: %v", err)
		}
		// kojiweb's own login, no proxyuser (or an empty one): itself
		self := newTLSCaller(t, hub.URL, web.PEM, farm.CAFile)
		if err := self.proxyLogin("", nil); err != nil {
			t.Fatal(err)
		}
		if u, _ := self.call("getLoggedInUser"); u.(map[string]any)["name"] != "kojiweb" {
			t.Errorf("sslLogin with proxyuser '' = %v, want kojiweb itself", u)
		}
		for _, c := range []struct {
			user string
			at   any
			want string
		}{
			{"mallory", nil, "logins by mallory are not allowed"},
			{"alice", int64(db.AuthGSSAPI), "Proxy must use same auth mechanism as hub"},
			{"alice", int64(7), "Proxied authtype 7 is not valid for sslLogin"},
			{"alice", "ssl", "Proxied authtype"},
		} {
			err := newTLSCaller(t, hub.URL, web.PEM, farm.CAFile).proxyLogin(c.user, c.at)
			if f := fault(err); f.Code != kojixml.AuthError || !strings.Contains(f.String, c.want) {
				t.Errorf("proxy login %s authtype %v = %v, want AuthError %q", c.user, c.at, err, c.want)
			}
		}
		// carol's certificate is valid but not in ProxyDNs
		err = newTLSCaller(t, hub.URL, carol.PEM, farm.CAFile).proxyLogin("alice", nil)
		if f := fault(err); f.Code != kojixml.AuthError || !strings.HasPrefix(f.String, "CN=carol is not authorized to login other users") {
			t.Errorf("proxy login through carol's certificate = %v, want Koji's AuthError", err)
		}
	})

	t.Run("LoginCreatesUser false", func(t *testing.T) {
		hub := startRealHub(t, opts, farm.CAFile, hubSetup{Tweak: func(fc *hubcore.FileConfig) {
			fc.ProxyDNs, fc.LoginCreatesUser = webDN, false
		}})
		err := newTLSCaller(t, hub.URL, web.PEM, farm.CAFile).proxyLogin("bob", nil)
		if f := fault(err); f.Code != kojixml.AuthError || !strings.HasPrefix(f.String, "Unknown user: bob") || !strings.Contains(f.String, "koji add-user bob") {
			t.Errorf("proxy login of unknown bob = %v, want AuthError \"Unknown user: bob\" with the fix", err)
		}
	})

	t.Run("no ProxyDNs", func(t *testing.T) {
		hub := startRealHub(t, opts, farm.CAFile, hubSetup{})
		err := newTLSCaller(t, hub.URL, web.PEM, farm.CAFile).proxyLogin("alice", int64(db.AuthSSL))
		if f := fault(err); f.Code != kojixml.AuthError || !strings.HasPrefix(f.String, "CN=kojiweb is not authorized to login other users") || !strings.Contains(f.String, "ProxyDNs = CN=kojiweb") {
			t.Errorf("proxy login without ProxyDNs = %v, want Koji's AuthError naming the ProxyDNs line", err)
		}
	})
}

func readCertSubject(t *testing.T, path string) string {
	t.Helper()
	b, err := pki.ReadBundle(path, "certificate")
	if err != nil || len(b.Certs) == 0 {
		t.Fatalf("read %s: %v", path, err)
	}
	return b.Certs[0].Subject.String()
}

// TestHubConfProxyDNs: hub.conf takes Koji's ProxyDNs key; Koji's
// Kerberos-only ProxyPrincipals is an unknown key, as are others kojigo
// does not have.
func TestHubConfProxyDNs(t *testing.T) {
	dir := t.TempDir()
	load := func(body string) (hubcore.FileConfig, error) {
		p := filepath.Join(dir, "hub.conf")
		if err := os.WriteFile(p, []byte("[hub]\nDB = sqlite:///tmp/x.db\n"+body), 0o644); err != nil {
			t.Fatal(err)
		}
		fc := hubcore.DefaultFileConfig()
		_, err := kojiconf.Load(p, "hub", &fc, kojiconf.Options{})
		return fc, err
	}
	fc, err := load("ProxyDNs = CN=kojiweb,O=Example Org | CN=web2\n")
	if err != nil || fc.ProxyDNs != "CN=kojiweb,O=Example Org | CN=web2" {
		t.Fatalf("ProxyDNs = %q, %v", fc.ProxyDNs, err)
	}
	if _, err := load("ProxyPrincipals = HTTP/web@EXAMPLE.COM\n"); err == nil || !strings.Contains(err.Error(), "ProxyPrincipals") || !strings.Contains(err.Error(), "hub.conf:3") {
		t.Errorf("ProxyPrincipals = %v, want an unknown-key error with file:line", err)
	}
}
