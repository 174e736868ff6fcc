package pki_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"kojigo/internal/kojixml"
	"kojigo/internal/pki"
	"kojigo/internal/pki/pkitest"
)

const sslLoginCall = "<?xml version='1.0'?>\n<methodCall>\n<methodName>sslLogin</methodName>\n<params>\n</params>\n</methodCall>\n"

// sslLogin posts sslLogin to the hub with the client's TLS config and
// returns the transport error or the XML-RPC fault.
func sslLogin(t testing.TB, c *pki.Client, hubURL string) (transportErr, fault error) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: c.TLSConfig()}, Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post(hubURL+"/ssllogin", "text/xml", strings.NewReader(sslLoginCall))
	if err != nil {
		return err, nil
	}
	defer resp.Body.Close()
	_, err = kojixml.DecodeResponse(resp.Body)
	return nil, err
}

func TestHandshakeDiagnosis(t *testing.T) {
	for _, s := range pkitest.Setups(t) {
		t.Run(strings.ReplaceAll(s.Name, " ", "_"), func(t *testing.T) {
			hub := pkitest.StartHub(t, s.Hub)
			cc := pki.ClientContext{CertFile: s.Cert, ServerCAFile: s.ServerCA, ServerURL: hub.URL}
			c, err := pki.NewClient(cc)
			var got error
			if err != nil {
				got = err
			} else {
				terr, fault := sslLogin(t, c, hub.URL)
				switch {
				case terr != nil:
					got = c.Diagnose(terr, hub.URL)
					// The plain function, without what the handshake
					// recorded, must name the same problem.
					if plain := pki.DiagnoseClientError(terr, s.Cert, s.ServerCA, hub.URL); problemOf(plain) != problemOf(got) {
						t.Errorf("DiagnoseClientError = %q (%v), Client.Diagnose = %q", problemOf(plain), plain, problemOf(got))
					} else if !errors.Is(plain, terr) {
						t.Errorf("DiagnoseClientError result does not unwrap to the original error")
					}
				case fault != nil:
					// The hub's sslLogin fault carries the diagnosis.
					var f *kojixml.Fault
					if !errors.As(fault, &f) || f.Code != kojixml.AuthError {
						t.Fatalf("sslLogin fault = %v, want AuthError", fault)
					}
					got = &pki.Error{Problem: s.ClientProblem, Message: f.String}
					if s.ClientProblem == "" {
						t.Errorf("sslLogin fault %q, want success", f.String)
					}
				}
			}
			if s.ClientProblem == "" {
				if got != nil {
					t.Fatalf("client: %v, want success", got)
				}
			} else {
				if p := problemOf(got); p != s.ClientProblem {
					t.Fatalf("client diagnosis = %q (%v), want %q", p, got, s.ClientProblem)
				}
				oneSentence(t, "client", got.Error())
				for _, w := range s.Words {
					if !strings.Contains(got.Error(), w) {
						t.Errorf("client diagnosis %q lacks %q", got, w)
					}
				}
			}
			n := 0
			if s.HubProblem != "" {
				n = 1
			}
			fs := hub.WaitFailures(n, 5*time.Second)
			if len(fs) != n {
				t.Fatalf("hub failures = %+v, want %d", fs, n)
			}
			if n == 1 {
				f := fs[0]
				if f.Problem != s.HubProblem {
					t.Errorf("hub failure = %q (%s), want %q", f.Problem, f.Message, s.HubProblem)
				}
				oneSentence(t, "hub", f.Message)
				if !strings.HasPrefix(f.RemoteAddr, "127.0.0.1:") {
					t.Errorf("hub failure address = %q", f.RemoteAddr)
				}
				t.Logf("hub: %s", f.Message)
			}
			if got != nil {
				t.Logf("client: %s", got)
			}
		})
	}
}

func TestServerTLSConfigFailureFields(t *testing.T) {
	f := pkitest.NewFarm(t, "kojigo CA A")
	hubF := f.Issue("hub", pki.Request{Role: pki.RoleHub, Name: "127.0.0.1"})
	exp := f.Issue("b7", pki.Request{Role: pki.RoleHost, Name: "builder-7", NotBefore: f.Now.AddDate(0, 0, -10), NotAfter: f.Now.AddDate(0, 0, -3)})
	hub := pkitest.StartHub(t, pkitest.HubOptions{CertFile: hubF.Cert, KeyFile: hubF.Key, ClientCAFile: f.CAFile})
	c, err := pki.NewClient(pki.ClientContext{CertFile: exp.Cert, KeyFile: exp.Key, ServerCAFile: f.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	if terr, _ := sslLogin(t, c, hub.URL); terr == nil {
		t.Fatal("expired certificate accepted")
	}
	fs := hub.WaitFailures(1, 5*time.Second)
	if len(fs) != 1 {
		t.Fatalf("failures: %+v", fs)
	}
	got := fs[0]
	if got.CommonName != "builder-7" || got.Issuer != "kojigo CA A" || !got.NotAfter.Equal(readCert(t, exp.Cert).NotAfter) || got.Subject != "CN=builder-7" {
		t.Errorf("failure fields = %+v", got)
	}
	if !strings.Contains(got.Message, "client certificate CN=builder-7 from 127.0.0.1:") || !strings.Contains(got.Message, "expired 3 days ago") {
		t.Errorf("failure message = %q", got.Message)
	}
	if got.Time.IsZero() || got.Err == nil {
		t.Errorf("failure time/err unset: %+v", got)
	}
}

func TestServerTLSConfigErrors(t *testing.T) {
	f := pkitest.NewFarm(t, "")
	hubF := f.Issue("hub", pki.Request{Role: pki.RoleHub, Name: "127.0.0.1"})
	tests := []struct {
		name               string
		cert, key, ca      string
		want               pki.Problem
		clientAuthExpected bool
	}{
		{"ok", hubF.Cert, hubF.Key, f.CAFile, "", true},
		{"ok without client CA", hubF.Cert, hubF.Key, "", "", false},
		{"combined file", hubF.PEM, "", f.CAFile, "", true},
		{"missing cert", hubF.Cert + ".x", hubF.Key, f.CAFile, pki.ProblemMissing, false},
		{"key is cert", hubF.Cert, hubF.Cert, f.CAFile, pki.ProblemWrongType, false},
		{"ca is a directory", hubF.Cert, hubF.Key, f.Dir, pki.ProblemNotAFile, false},
		{"ca is the key", hubF.Cert, hubF.Key, hubF.Key, pki.ProblemWrongType, false},
	}
	for _, tc := range tests {
		cfg, err := pki.ServerTLSConfig(tc.cert, tc.key, tc.ca, nil)
		if tc.want != "" {
			if problemOf(err) != tc.want {
				t.Errorf("ServerTLSConfig(%s) = %v, want %q", tc.name, err, tc.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("ServerTLSConfig(%s) = %v", tc.name, err)
			continue
		}
		if (cfg.ClientCAs != nil) != tc.clientAuthExpected || len(cfg.Certificates) != 1 {
			t.Errorf("ServerTLSConfig(%s): ClientCAs %v, %d certificates", tc.name, cfg.ClientCAs != nil, len(cfg.Certificates))
		}
	}
}

func TestVerifyClientCert(t *testing.T) {
	f := pkitest.NewFarm(t, "")
	hubF := f.Issue("hub", pki.Request{Role: pki.RoleHub, Name: "127.0.0.1"})
	cfg, err := pki.ServerTLSConfig(hubF.Cert, hubF.Key, f.CAFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pki.VerifyClientCert(nil, cfg); problemOf(err) != pki.ProblemNoClientCert {
		t.Errorf("VerifyClientCert(plain HTTP) = %v", err)
	}
	noCA, _ := pki.ServerTLSConfig(hubF.Cert, hubF.Key, "", nil)
	u := f.Issue("u", pki.Request{Role: pki.RoleUser, Name: "u"})
	b, _ := pki.ReadBundle(u.Cert, "certificate")
	cs := &tlsState{certs: b.Certs}
	if _, err := pki.VerifyClientCert(cs.state(), noCA); problemOf(err) != pki.ProblemUnknownCA {
		t.Errorf("VerifyClientCert(no TLSClientCA) = %v", err)
	}
	if c, err := pki.VerifyClientCert(cs.state(), cfg); err != nil || c.Subject.CommonName != "u" {
		t.Errorf("VerifyClientCert(good) = %v, %v", c, err)
	}
	cfg.Time = func() time.Time { return time.Now().AddDate(5, 0, 0) }
	if _, err := pki.VerifyClientCert(cs.state(), cfg); problemOf(err) != pki.ProblemExpired {
		t.Errorf("VerifyClientCert(at +5 years) = %v, want expired", err)
	}
}

func TestDiagnoseClientErrorNetwork(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	url := "https://" + addr + "/kojihub"
	_, err = http.Post(url, "text/xml", strings.NewReader(sslLoginCall))
	got := pki.DiagnoseClientError(err, "", "", url)
	if problemOf(got) != pki.ProblemUnreachable || !strings.Contains(got.Error(), "connection refused") || !errors.Is(got, err) {
		t.Errorf("refused: %v", got)
	}
	oneSentence(t, "refused", got.Error())

	plain := pkitest.StartHub(t, pkitest.HubOptions{Plain: true})
	httpsURL := strings.Replace(plain.URL, "http://", "https://", 1)
	_, err = http.Post(httpsURL, "text/xml", strings.NewReader(sslLoginCall))
	if got := pki.DiagnoseClientError(err, "", "", httpsURL); problemOf(got) != pki.ProblemPlainHTTP {
		t.Errorf("plain HTTP hub: %v", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", "https://no-such-host.invalid/kojihub", strings.NewReader(""))
	_, err = http.DefaultClient.Do(req)
	if got := pki.DiagnoseClientError(err, "", "", "https://no-such-host.invalid/kojihub"); problemOf(got) != pki.ProblemUnreachable || !strings.Contains(got.Error(), "does not resolve") {
		t.Errorf("unresolvable: %v", got)
	}

	if pki.DiagnoseClientError(nil, "", "", url) != nil {
		t.Error("nil error diagnosed")
	}
	other := errors.New("xml: something else")
	if got := pki.DiagnoseClientError(other, "", "", url); got != other {
		t.Errorf("unrelated error changed: %v", got)
	}

}
