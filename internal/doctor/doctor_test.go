package doctor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kojigo/internal/doctor"
	"kojigo/internal/kojiclient"
	"kojigo/internal/kojixml"
	"kojigo/internal/pki"
	"kojigo/internal/pki/pkitest"
)

// plenty is a DiskFree that reports 100 GiB free of 200 GiB.
func plenty(string) (uint64, uint64, error) { return 100 << 30, 200 << 30, nil }

func writeFile(t testing.TB, path, text string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	pkitest.WriteFile(t, path, []byte(text), 0o644)
	return path
}

// kojidConf writes a kojid.conf for a builder named host.
func kojidConf(t testing.TB, dir, server, cert, serverca, host, extra string) string {
	t.Helper()
	for _, d := range []string{"work", "mock", "top"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	return writeFile(t, filepath.Join(dir, "kojid.conf"), fmt.Sprintf(`[kojid]
server = %s
topurl = https://koji.example.com/kojifiles
topdir = %s/top
workdir = %s/work
mockdir = %s/mock
hostname = %s
cert = %s
serverca = %s
%s`, server, dir, dir, dir, host, cert, serverca, extra))
}

func clientConf(t testing.TB, dir, server, cert, serverca string) string {
	t.Helper()
	return writeFile(t, filepath.Join(dir, "config"), fmt.Sprintf("[koji]\nserver = %s\nauthtype = ssl\ncert = %s\nserverca = %s\n", server, cert, serverca))
}

func run(t testing.TB, home string, cfgs ...doctor.Config) doctor.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return doctor.Run(ctx, doctor.Options{Configs: cfgs, DiskFree: plenty, Home: home, SysConfDir: filepath.Join(home, "etc"), Timeout: 5 * time.Second})
}

func find(rep doctor.Report, p pki.Problem, sev pki.Severity) *doctor.Finding {
	for i, f := range rep.Findings {
		if f.Problem == p && f.Severity == sev {
			return &rep.Findings[i]
		}
	}
	return nil
}

func dump(rep doctor.Report) string {
	var b strings.Builder
	for _, f := range rep.Findings {
		fmt.Fprintf(&b, "\n  %s", f)
	}
	return b.String()
}

func oneSentence(t testing.TB, msg string) {
	t.Helper()
	if msg == "" || strings.ContainsAny(msg, "\n\r") || strings.Contains(msg, ". ") {
		t.Errorf("not one sentence: %q", msg)
	}
}

// clientDiagnosis logs in the way kojid does (kojiclient) and returns the
// diagnosis it gives, or nil.
func clientDiagnosis(t testing.TB, server, cert, serverca string) error {
	t.Helper()
	kc, err := kojiclient.New(kojiclient.Options{Server: server, CertFile: cert, ServerCAFile: serverca, MaxRetries: -1, Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := kc.SSLLogin(ctx); err != nil {
		return err
	}
	kc.Logout(ctx)
	return nil
}

// TestBrokenSetups builds every broken setup of issue 3 against a TLS hub
// on 127.0.0.1 and checks that doctor, the hub's failure log and the Go
// client each give the expected diagnosis, in the same words.
func TestBrokenSetups(t *testing.T) {
	for _, s := range pkitest.Setups(t) {
		t.Run(strings.ReplaceAll(s.Name, " ", "_"), func(t *testing.T) {
			hub := pkitest.StartHub(t, s.Hub)
			dir := t.TempDir()
			var cfg doctor.Config
			if s.Role == pki.RoleHost {
				cfg = doctor.Config{Path: kojidConf(t, dir, hub.URL, s.Cert, s.ServerCA, s.User, ""), Kind: doctor.KindKojid}
			} else {
				cfg = doctor.Config{Path: clientConf(t, dir, hub.URL, s.Cert, s.ServerCA)}
			}
			rep := run(t, dir, cfg)
			for _, f := range rep.Findings {
				oneSentence(t, f.Message)
			}
			if s.LocalProblem == "" && s.ClientProblem == "" && s.HubProblem == "" && s.Name != "CN is not the host name" {
				if rep.ExitCode() != 0 {
					t.Fatalf("sound setup: exit %d:%s", rep.ExitCode(), dump(rep))
				}
				if !strings.Contains(dump(rep), fmt.Sprintf("logs in as %q", s.User)) {
					t.Errorf("no login finding:%s", dump(rep))
				}
				return
			}
			if rep.ExitCode() != 2 {
				t.Errorf("exit %d, want 2:%s", rep.ExitCode(), dump(rep))
			}
			if p := s.LocalProblem; p != "" {
				sev := doctor.Error
				if p == pki.ProblemUnknownCA {
					sev = doctor.Warning // a second CA can be legitimate; the login check decides
				}
				if find(rep, p, sev) == nil {
					t.Errorf("no %s %q finding from the file checks:%s", sev, p, dump(rep))
				}
			}
			if p := s.ClientProblem; p != "" {
				f := find(rep, p, doctor.Error)
				if f == nil {
					t.Fatalf("no error %q finding:%s", p, dump(rep))
				}
				for _, w := range s.Words {
					if !strings.Contains(f.Message, w) {
						t.Errorf("doctor finding %q lacks %q", f.Message, w)
					}
				}
				// The Go client says the same sentence.
				if s.Cert != "" {
					cerr := clientDiagnosis(t, hub.URL, s.Cert, s.ServerCA)
					var pe *pki.Error
					if !errors.As(cerr, &pe) {
						var f *kojiclient.Fault
						if !errors.As(cerr, &f) {
							t.Fatalf("client error %v carries no diagnosis", cerr)
						}
					} else if pe.Problem != p || pe.Message != f.Message {
						t.Errorf("client diagnosis differs from doctor's:\n client: %s %s\n doctor: %s %s", pe.Problem, pe.Message, f.Problem, f.Message)
					}
				}
			}
			if s.Name == "CN is not the host name" {
				if find(rep, pki.ProblemNameMismatch, doctor.Error) == nil || !strings.Contains(dump(rep), "which is not a host on the hub") {
					t.Errorf("CN mismatch not explained:%s", dump(rep))
				}
			}
			if s.HubProblem != "" && s.Cert != "" {
				fs := hub.WaitFailures(1, 5*time.Second)
				if len(fs) == 0 || fs[0].Problem != s.HubProblem {
					t.Errorf("hub failures = %+v, want %q", fs, s.HubProblem)
				} else {
					oneSentence(t, fs[0].Message)
				}
			}
		})
	}
}

// TestUnreadableKeyChild is run as user nobody by TestUnreadableKey.
func TestUnreadableKeyChild(t *testing.T) {
	cfg := os.Getenv(pkitest.ChildEnv)
	if cfg == "" {
		t.Skip("run by TestUnreadableKey")
	}
	rep := doctor.Run(context.Background(), doctor.Options{Configs: []doctor.Config{{Path: cfg, Kind: doctor.KindKojid}}, Offline: true, DiskFree: plenty})
	b, _ := json.Marshal(rep)
	fmt.Printf("REPORT=%s\n", b)
}

func TestUnreadableKey(t *testing.T) {
	f := pkitest.NewFarm(t, "")
	b := f.Issue("builder1", pki.Request{Role: pki.RoleHost, Name: "builder1"})
	dir := pkitest.OpenTempDir(t)
	cert := filepath.Join(dir, "client.pem")
	data, _ := os.ReadFile(b.PEM)
	pkitest.WriteFile(t, cert, data, 0o600)
	ca := filepath.Join(dir, "ca.crt")
	data, _ = os.ReadFile(f.CAFile)
	pkitest.WriteFile(t, ca, data, 0o644)
	conf := kojidConf(t, dir, "https://127.0.0.1:1/kojihub", cert, ca, "builder1", "")
	os.Chmod(conf, 0o644)
	var rep doctor.Report
	out, ran := pkitest.RunAsNobody(t, "TestUnreadableKeyChild", conf)
	if ran {
		i := strings.Index(out, "REPORT=")
		if i < 0 {
			t.Fatalf("child output: %s", out)
		}
		line := out[i+7:]
		line = line[:strings.IndexByte(line, '\n')]
		if err := json.Unmarshal([]byte(line), &rep); err != nil {
			t.Fatalf("child report: %v\n%s", err, line)
		}
	} else {
		os.Chmod(cert, 0)
		rep = doctor.Run(context.Background(), doctor.Options{Configs: []doctor.Config{{Path: conf, Kind: doctor.KindKojid}}, Offline: true, DiskFree: plenty})
	}
	got := find(rep, pki.ProblemUnreadable, doctor.Error)
	if got == nil || !strings.Contains(got.Message, cert) || !strings.Contains(got.Message, "not readable") {
		t.Fatalf("no unreadable finding for %s:%s", cert, dump(rep))
	}
	oneSentence(t, got.Message)
}

// lockedHub is a hub whose users are all held by another session, as a
// running kojid holds its host: sslLogin works (or, with lockLogin, is
// itself refused) and every other call of the session is Koji's
// AuthLockError, "User locked by another session".
type lockedHub struct {
	URL     string
	mu      sync.Mutex
	methods []string
}

func startLockedHub(t testing.TB, f *pkitest.Farm, lockLogin bool) *lockedHub {
	t.Helper()
	hub := f.Issue("hub", pki.Request{Role: pki.RoleHub, Name: "127.0.0.1"})
	cfg, err := pki.ServerTLSConfig(hub.Cert, hub.Key, f.CAFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &lockedHub{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call, err := kojixml.DecodeCall(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.methods = append(h.methods, call.Method)
		h.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		locked := kojixml.Errorf(kojixml.AuthLockError, "User locked by another session")
		switch {
		case call.Method == "getAPIVersion":
			kojixml.EncodeResponse(w, int64(1))
		case call.Method == "sslLogin" && lockLogin:
			kojixml.EncodeFault(w, locked)
		case call.Method == "sslLogin":
			kojixml.EncodeResponse(w, kojixml.Struct{
				{Name: "session-id", Value: int64(2)},
				{Name: "session-key", Value: "2-abcdefghijklmnopqrs"},
				{Name: "header-auth", Value: true},
			})
		case call.Method == "logout":
			kojixml.EncodeResponse(w, nil)
		default:
			kojixml.EncodeFault(w, locked)
		}
	}))
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	h.URL = srv.URL + "/kojihub"
	return h
}

func (h *lockedHub) called() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.methods...)
}

// TestRunningDaemonHoldsItsSession: on a builder whose kojid runs, the hub
// answers doctor's login with AuthLockError, because kojid holds its host's
// exclusive session; that is the healthy state, reported as such, not an
// error. A user's own certificate held by another session is an error.
func TestRunningDaemonHoldsItsSession(t *testing.T) {
	f := pkitest.NewFarm(t, "")
	host := f.Issue("builder1", pki.Request{Role: pki.RoleHost, Name: "builder1"})
	kojira := f.Issue("kojira", pki.Request{Role: pki.RoleKojira, Name: "kojira"})
	alice := f.Issue("alice", pki.Request{Role: pki.RoleUser, Name: "alice"})
	for _, lockLogin := range []bool{false, true} {
		hub := startLockedHub(t, f, lockLogin)
		dir := t.TempDir()
		tests := []struct {
			name  string
			cfg   doctor.Config
			code  int
			sev   pki.Severity
			words []string
		}{
			{"kojid", doctor.Config{Path: kojidConf(t, filepath.Join(dir, "kojid"), hub.URL, host.PEM, f.CAFile, "builder1", ""), Kind: doctor.KindKojid},
				0, doctor.OK, []string{"exclusive lock", "kojid is running", "--force-lock"}},
			{"kojira", doctor.Config{Path: writeFile(t, filepath.Join(dir, "kojira", "kojira.conf"), "[kojira]\nserver = "+hub.URL+"\ncert = "+kojira.PEM+"\nserverca = "+f.CAFile+"\n")},
				0, doctor.OK, []string{"exclusive lock", "kojira is running"}},
			{"user", doctor.Config{Path: clientConf(t, filepath.Join(dir, "user"), hub.URL, alice.PEM, f.CAFile)},
				2, doctor.Error, []string{"exclusive lock", "AuthLockError", "a certificate of its own"}},
		}
		for _, tc := range tests {
			rep := run(t, dir, tc.cfg)
			if rep.ExitCode() != tc.code || !hasMessage(rep, tc.sev, tc.cfg.Path, tc.words...) {
				t.Errorf("%s (lock at sslLogin %v): exit %d (want %d), no %s finding with %q:%s", tc.name, lockLogin, rep.ExitCode(), tc.code, tc.sev, tc.words, dump(rep))
			}
			if strings.Contains(dump(rep), "getLoggedInUser did not return") {
				t.Errorf("%s: the lock reported as a failed login:%s", tc.name, dump(rep))
			}
			for _, f := range rep.Findings {
				oneSentence(t, f.Message)
			}
		}
		if slices.Contains(hub.called(), "exclusiveSession") {
			t.Errorf("doctor asked for an exclusive session: %v", hub.called())
		}
	}
}

// TestPlainHTTPToTheTLSPort: a client profile whose server is http:// on
// the hub's TLS port gets the URL to use, as the Go client says it.
func TestPlainHTTPToTheTLSPort(t *testing.T) {
	for _, s := range pkitest.Setups(t) {
		if s.LocalProblem != "" || s.ClientProblem != "" || s.HubProblem != "" || s.Role == pki.RoleHost {
			continue
		}
		hub := pkitest.StartHub(t, s.Hub)
		dir := t.TempDir()
		plain := strings.Replace(hub.URL, "https://", "http://", 1)
		rep := run(t, dir, doctor.Config{Path: clientConf(t, dir, plain, s.Cert, s.ServerCA)})
		want := "speaks TLS, not plain HTTP; use the server URL " + hub.URL
		if !strings.Contains(dump(rep), want) {
			t.Errorf("doctor on %s does not say %q:%s", plain, want, dump(rep))
		}
		return
	}
	t.Fatal("pkitest has no sound user setup")
}
