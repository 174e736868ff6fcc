package hubcore_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"kojigo/db"
	"kojigo/hubcore"
	"kojigo/internal/doctor"
	"kojigo/internal/kojiclient"
	"kojigo/internal/kojixml"
	"kojigo/internal/password"
	"kojigo/internal/pki"
	"kojigo/internal/pki/pkitest"
)

// These tests run the real hub (hubcore.RunServer on SQLite, TLS on a
// loopback port) against the certificate setups of issue 3. They live in
// package hubcore_test because internal/doctor imports hubcore.

// lockedBuffer is an io.Writer the hub's logger and the test share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// realHub is a running kojihub with TLS.
type realHub struct {
	URL  string // https://127.0.0.1:PORT/kojihub
	Base string // https://127.0.0.1:PORT
	Log  *lockedBuffer
	// anon makes anonymous calls over TLS without a client certificate.
	anon *http.Client
}

// hubSetup is what startRealHub may change besides the certificate files.
type hubSetup struct {
	Tweak func(*hubcore.FileConfig)              // hub.conf
	Seed  func(context.Context, *db.Store) error // store contents
}

// startRealHub seeds a SQLite store with the hosts of opts.UserTypes (usertype
// 1), runs RunServer on it with opts' certificate files and a JSON logger,
// and stops it at cleanup. caFile verifies the hub for anonymous calls; when
// empty (the hub's certificate is the fault under test) they skip the check.
func startRealHub(t testing.TB, opts pkitest.HubOptions, caFile string, hs hubSetup) *realHub {
	t.Helper()
	ctx := context.Background()
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "koji.db")
	store, err := db.Open(ctx, dsn, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for name, ut := range opts.UserTypes {
		if ut != db.UserHost {
			continue
		}
		uid, err := store.CreateUser(ctx, db.User{Name: name, UserType: db.UserHost})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.CreateHost(ctx, db.Host{UserID: uid, Name: name, Arches: "x86_64"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// kojigo.getTLSFailures is for admins: failures() logs in as this one.
	adminHash, err := password.Hash(realHubAdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	adminID, err := store.CreateUser(ctx, db.User{Name: realHubAdmin, PasswordHash: adminHash})
	if err != nil {
		t.Fatal(err)
	}
	adminPerm, err := store.GetPermByName(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.GrantPerm(ctx, adminID, adminPerm.ID, nil); err != nil {
		t.Fatal(err)
	}
	if hs.Seed != nil {
		if err := hs.Seed(ctx, store); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()

	fc := hubcore.DefaultFileConfig()
	fc.DB = dsn
	fc.KojiDir = t.TempDir()
	fc.TLSCert, fc.TLSKey, fc.TLSClientCA = opts.CertFile, opts.KeyFile, opts.ClientCAFile
	if hs.Tweak != nil {
		hs.Tweak(&fc)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &realHub{Log: &lockedBuffer{}}
	logger := slog.New(slog.NewJSONHandler(h.Log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- hubcore.RunServer(rctx, hubcore.ServerOptions{Config: fc, Listener: ln, Logger: logger, Ready: func(string) { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("hub did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("hub did not start in 10s")
	}
	t.Cleanup(func() {
		st := time.Now()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("hub stopped with %v", err)
		}
		if d := time.Since(st); d > time.Second {
			t.Logf("hub took %v to stop", d.Round(time.Millisecond))
		}
	})
	h.Base = "https://" + ln.Addr().String()
	h.URL = h.Base + "/kojihub"
	tc := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the hub's own certificate is the fault under test
	if caFile != "" {
		c, err := pki.ClientTLSConfig("", "", caFile)
		if err != nil {
			t.Fatal(err)
		}
		tc = c
	}
	tr := &http.Transport{TLSClientConfig: tc}
	t.Cleanup(tr.CloseIdleConnections)
	h.anon = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	return h
}

// tlsFailure is one entry of kojigo.getTLSFailures.
type tlsFailure struct {
	Peer, Problem, Message, CommonName string
	Msg                                string // the log message (logged only)
}

// The password admin of every startRealHub hub.
const realHubAdmin, realHubAdminPassword = "tlsadmin", "tlsadmin-pw"

// failures calls kojigo.getTLSFailures as an admin (with a password).
func (h *realHub) failures(t testing.TB) []tlsFailure {
	t.Helper()
	kc, err := kojiclient.New(kojiclient.Options{Server: h.URL, HTTPClient: h.anon, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := kc.Login(ctx, realHubAdmin, realHubAdminPassword); err != nil {
		t.Fatalf("login as %s: %v", realHubAdmin, err)
	}
	defer kc.Logout(ctx)
	v, err := kc.Call(ctx, "kojigo.getTLSFailures")
	if err != nil {
		t.Fatalf("kojigo.getTLSFailures: %v", err)
	}
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("kojigo.getTLSFailures returned %T", v)
	}
	var out []tlsFailure
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			t.Fatalf("kojigo.getTLSFailures entry %T", e)
		}
		str := func(k string) string { s, _ := m[k].(string); return s }
		out = append(out, tlsFailure{Peer: str("peer"), Problem: str("problem"), Message: str("message"), CommonName: str("common_name")})
	}
	return out
}

// waitFailures polls kojigo.getTLSFailures until it lists n entries or 5 s
// pass: the listener records a refused handshake in its own goroutine.
func (h *realHub) waitFailures(t testing.TB, n int) []tlsFailure {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		fs := h.failures(t)
		if len(fs) >= n || time.Now().After(deadline) {
			return fs
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metric returns kojihub_tls_handshake_failures_total by reason from /metrics.
func (h *realHub) metric(t testing.TB) map[string]int {
	t.Helper()
	resp, err := h.anon.Get(h.Base + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	re := regexp.MustCompile(`^kojihub_tls_handshake_failures_total\{reason="([^"]*)"\} (\d+)$`)
	out := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			n, _ := strconv.Atoi(m[2])
			out[m[1]] = n
		}
	}
	if resp.StatusCode != http.StatusOK || sc.Err() != nil {
		t.Fatalf("GET /metrics: %s %v", resp.Status, sc.Err())
	}
	return out
}

// refusedMsgs are the log messages of what getTLSFailures lists: a refused
// handshake, a refused sslLogin, a certificate session that is not a host's
// calling a host method.
var refusedMsgs = map[string]bool{"TLS handshake refused": true, "sslLogin refused": true, "host method refused: the caller is not a host": true}

// logged returns the hub's log records of what getTLSFailures lists.
func (h *realHub) logged(t testing.TB) []tlsFailure {
	t.Helper()
	var out []tlsFailure
	for _, line := range strings.Split(strings.TrimSpace(h.Log.String()), "\n") {
		var rec struct {
			Msg, Peer, Problem, Diagnosis, Subject string
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("hub log line %q: %v", line, err)
		}
		if refusedMsgs[rec.Msg] {
			out = append(out, tlsFailure{Peer: rec.Peer, Problem: rec.Problem, Message: rec.Diagnosis, Msg: rec.Msg})
		}
	}
	return out
}

// checkRecorded checks that every failure the hub lists is in its log with
// the same words and counted in /metrics under its problem.
func (h *realHub) checkRecorded(t testing.TB, fs []tlsFailure) {
	t.Helper()
	logs := h.logged(t)
	if len(logs) != len(fs) {
		t.Errorf("hub logged %d refusals, getTLSFailures lists %d:\n log: %+v\n list: %+v", len(logs), len(fs), logs, fs)
	}
	want := map[string]int{}
	for i, f := range fs {
		want[f.Problem]++
		if i < len(logs) && logs[i] != (tlsFailure{Peer: f.Peer, Problem: f.Problem, Message: f.Message, Msg: logs[i].Msg}) {
			t.Errorf("hub log %+v differs from getTLSFailures %+v", logs[i], f)
		}
		oneSentence(t, "hub", f.Message)
		// A refused handshake has the peer's address and port; a refused
		// sslLogin the address alone (the hub's calls keep only the IP).
		if f.Peer != "127.0.0.1" && !strings.HasPrefix(f.Peer, "127.0.0.1:") {
			t.Errorf("failure peer = %q, want 127.0.0.1[:PORT]", f.Peer)
		}
	}
	if got := h.metric(t); !mapsEqual(got, want) {
		t.Errorf("kojihub_tls_handshake_failures_total = %v, want %v", got, want)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func oneSentence(t testing.TB, who, msg string) {
	t.Helper()
	if msg == "" || strings.ContainsAny(msg, "\n\r") || strings.Contains(msg, ". ") {
		t.Errorf("%s: not one sentence: %q", who, msg)
	}
}

var addrRE = regexp.MustCompile(`127\.0\.0\.1:\d+`)

// samePeer replaces loopback addresses, which differ between two hubs.
func samePeer(s string) string { return addrRE.ReplaceAllString(s, "127.0.0.1:PORT") }

// clientLogin logs in the way kojid, kojira and kojictl do (kojiclient's
// SSLLogin) and returns the error with its one-sentence message. Without a
// certificate it posts sslLogin anyway over TLS, as a misconfigured client
// would, and returns the hub's fault.
func clientLogin(t testing.TB, url, cert, serverca string) (*kojiclient.Client, error) {
	t.Helper()
	opts := kojiclient.Options{Server: url, CertFile: cert, ServerCAFile: serverca, MaxRetries: -1, Timeout: 5 * time.Second, DisableRenew: true}
	if cert == "" {
		c, err := pki.ClientTLSConfig("", "", serverca)
		if err != nil {
			return nil, err
		}
		tr := &http.Transport{TLSClientConfig: c}
		t.Cleanup(tr.CloseIdleConnections)
		opts = kojiclient.Options{Server: url, HTTPClient: &http.Client{Transport: tr, Timeout: 5 * time.Second}, MaxRetries: -1}
	}
	kc, err := kojiclient.New(opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return kc, kc.SSLLogin(ctx)
}

// errText is the one sentence a client shows: the diagnosis, or the fault.
func errText(err error) (pki.Problem, string) {
	var pe *pki.Error
	if errors.As(err, &pe) {
		return pe.Problem, pe.Message
	}
	var f *kojixml.Fault
	if errors.As(err, &f) {
		return "fault", f.String
	}
	if err != nil {
		return "other", err.Error()
	}
	return "", ""
}

func writeConf(t testing.TB, path, text string) string {
	t.Helper()
	pkitest.WriteFile(t, path, []byte(text), 0o644)
	return path
}

// doctorConfig writes the config the setup's client uses: kojid.conf for a
// builder (role host), a koji client config otherwise.
func doctorConfig(t testing.TB, dir, server, cert, serverca string, role pki.Role, user string) doctor.Config {
	t.Helper()
	if role != pki.RoleHost {
		return doctor.Config{Path: writeConf(t, filepath.Join(dir, "config"),
			fmt.Sprintf("[koji]\nserver = %s\nauthtype = ssl\ncert = %s\nserverca = %s\n", server, cert, serverca)), Kind: doctor.KindClient}
	}
	for _, d := range []string{"work", "mock", "top"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return doctor.Config{Path: writeConf(t, filepath.Join(dir, "kojid.conf"), fmt.Sprintf(
		"[kojid]\nserver = %s\ntopurl = https://koji.example.com/kojifiles\ntopdir = %s/top\nworkdir = %s/work\nmockdir = %s/mock\nhostname = %s\ncert = %s\nserverca = %s\n",
		server, dir, dir, dir, user, cert, serverca)), Kind: doctor.KindKojid}
}

func runDoctor(t testing.TB, server string, cfg doctor.Config) doctor.Report {
	t.Helper()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return doctor.Run(ctx, doctor.Options{
		Configs: []doctor.Config{cfg}, Server: server, Home: home, SysConfDir: filepath.Join(home, "etc"), Timeout: 5 * time.Second,
		DiskFree: func(string) (uint64, uint64, error) { return 100 << 30, 200 << 30, nil },
	})
}

func findFinding(rep doctor.Report, p pki.Problem, sev pki.Severity) *doctor.Finding {
	for i, f := range rep.Findings {
		if f.Problem == p && f.Severity == sev {
			return &rep.Findings[i]
		}
	}
	return nil
}

func dumpReport(rep doctor.Report) string {
	var b strings.Builder
	for _, f := range rep.Findings {
		fmt.Fprintf(&b, "\n  %s", f)
	}
	return b.String()
}

// TestRealHubBrokenSetups is issue 3's table test against the real hub: for
// every setup of pkitest.Setups, the Go client's sslLogin, the hub's failure
// list, its log, its /metrics and kojictl doctor give the expected
// diagnosis, and the hub records exactly what pki's stand-in hub records for
// the same fault (the pki diagnosis), with the same words.
func TestRealHubBrokenSetups(t *testing.T) {
	setups := pkitest.Setups(t)
	sound := setups[0]
	for _, s := range setups {
		t.Run(strings.ReplaceAll(s.Name, " ", "_"), func(t *testing.T) {
			caFile := ""
			if s.Hub.CertFile == sound.Hub.CertFile {
				caFile = sound.ServerCA
			}
			hub := startRealHub(t, s.Hub, caFile, hubSetup{})

			// (a) the Go client.
			kc, cerr := clientLogin(t, hub.URL, s.Cert, s.ServerCA)
			cp, cmsg := errText(cerr)
			switch {
			case s.ClientProblem == "":
				if cerr != nil {
					t.Fatalf("client: %v, want success", cerr)
				}
				u, err := kc.GetLoggedInUser(context.Background())
				if err != nil || u == nil || u.AuthType != 2 {
					t.Fatalf("getLoggedInUser after sslLogin = %+v, %v", u, err)
				}
				if s.Role == pki.RoleHost && s.User == u.Name && u.UserType != db.UserHost {
					t.Errorf("%s logged in with usertype %d, want host", u.Name, u.UserType)
				}
			case s.Cert == "":
				// No certificate: the hub's sslLogin fault carries the diagnosis.
				if cp != "fault" || !strings.Contains(cmsg, "no client certificate") {
					t.Errorf("sslLogin without a certificate: %v, want an AuthError naming the missing certificate", cerr)
				}
			default:
				if cp != s.ClientProblem {
					t.Fatalf("client diagnosis = %q (%v), want %q", cp, cerr, s.ClientProblem)
				}
			}
			if cerr != nil {
				oneSentence(t, "client", cmsg)
				for _, w := range s.Words {
					if !strings.Contains(cmsg, w) {
						t.Errorf("client diagnosis %q lacks %q", cmsg, w)
					}
				}
			}

			// (b) the hub's failure list, compared with pki's stand-in hub
			// given the same setup and the same client.
			n := 0
			if s.HubProblem != "" {
				n = 1
			}
			fs := hub.waitFailures(t, n)
			if len(fs) != n {
				t.Fatalf("hub failures = %+v, want %d", fs, n)
			}
			stand := pkitest.StartHub(t, s.Hub)
			_, serr := clientLogin(t, stand.URL, s.Cert, s.ServerCA)
			sp, smsg := errText(serr)
			if sp != cp || samePeer(cmsg) != samePeer(smsg) {
				t.Errorf("client against the real hub and pki's stand-in differ:\n real:  %s %s\n stand: %s %s", cp, cmsg, sp, smsg)
			}
			if n == 1 {
				f := fs[0]
				if f.Problem != string(s.HubProblem) {
					t.Errorf("hub failure = %q (%s), want %q", f.Problem, f.Message, s.HubProblem)
				}
				sf := stand.WaitFailures(1, 5*time.Second)
				if len(sf) != 1 || string(sf[0].Problem) != f.Problem || samePeer(sf[0].Message) != samePeer(f.Message) {
					t.Errorf("the real hub recorded %q %q, pki's diagnosis is %+v", f.Problem, f.Message, sf)
				}
				t.Logf("hub: %s", f.Message)
			}
			if cerr != nil {
				t.Logf("client: %s", cmsg)
			}

			// (d) doctor, with --server at the real hub.
			rep := runDoctor(t, hub.URL, doctorConfig(t, t.TempDir(), hub.URL, s.Cert, s.ServerCA, s.Role, s.User))
			for _, f := range rep.Findings {
				oneSentence(t, "doctor", f.Message)
			}
			switch {
			case s.Name == "CN is not the host name":
				if find := findFinding(rep, pki.ProblemNameMismatch, doctor.Error); find == nil || !strings.Contains(dumpReport(rep), "which is not a host on the hub") {
					t.Errorf("CN mismatch not explained:%s", dumpReport(rep))
				}
			case s.ClientProblem == "":
				if rep.ExitCode() != 0 || !strings.Contains(dumpReport(rep), fmt.Sprintf("logs in as %q", s.User)) {
					t.Errorf("sound setup: exit %d:%s", rep.ExitCode(), dumpReport(rep))
				}
			default:
				if rep.ExitCode() != 2 {
					t.Errorf("doctor exit %d, want 2:%s", rep.ExitCode(), dumpReport(rep))
				}
				f := findFinding(rep, s.ClientProblem, doctor.Error)
				if f == nil {
					t.Fatalf("doctor: no error %q finding:%s", s.ClientProblem, dumpReport(rep))
				}
				if s.Cert != "" && f.Message != cmsg {
					t.Errorf("doctor and the client differ:\n doctor: %s\n client: %s", f.Message, cmsg)
				}
			}

			// (b, c) everything the hub listed, after the client and doctor,
			// is in its log with the same words and counted in /metrics.
			// The list is written after the log and the counter, so once it
			// holds every expected failure the other two hold them too:
			// doctor's own attempt adds one when the hub sees the fault.
			want := n
			if s.HubProblem != "" && s.Cert != "" {
				want++
			}
			all := hub.waitFailures(t, want)
			if len(all) != want {
				t.Errorf("after the client and doctor the hub lists %d failures, want %d: %+v", len(all), want, all)
			}
			for _, f := range all {
				if s.HubProblem != "" && f.Problem != string(s.HubProblem) {
					t.Errorf("hub failure after doctor = %q (%s), want %q", f.Problem, f.Message, s.HubProblem)
				}
			}
			if s.HubProblem == "" && len(all) != 0 {
				t.Errorf("hub failures for a setup it should not see fail: %+v", all)
			}
			hub.checkRecorded(t, all)
		})
	}
}

// TestRealHubCNNotAHost: a valid certificate whose CN is no host, used by a
// builder. With LoginCreatesUser (Koji's default) sslLogin makes a normal
// user, doctor says it is not a host and host.getID refuses; without it the
// hub refuses sslLogin with "Unknown user" and lists the refusal.
func TestRealHubCNNotAHost(t *testing.T) {
	farm := pkitest.NewFarm(t, "kojigo CA A")
	hubCert := farm.Issue("hub", pki.Request{Role: pki.RoleHub, Name: "127.0.0.1"})
	carol := farm.Issue("carol", pki.Request{Role: pki.RoleHost, Name: "carol"})
	opts := pkitest.HubOptions{CertFile: hubCert.Cert, KeyFile: hubCert.Key, ClientCAFile: farm.CAFile, UserTypes: map[string]int{"builder1": 1}}

	t.Run("LoginCreatesUser", func(t *testing.T) {
		hub := startRealHub(t, opts, farm.CAFile, hubSetup{})
		kc, err := clientLogin(t, hub.URL, carol.PEM, farm.CAFile)
		if err != nil {
			t.Fatalf("sslLogin as carol: %v", err)
		}
		ctx := context.Background()
		u, err := kc.GetLoggedInUser(ctx)
		if err != nil || u == nil || u.Name != "carol" || u.UserType != db.UserNormal {
			t.Fatalf("logged in as %+v, %v; want carol, a normal user", u, err)
		}
		_, err = kc.Call(ctx, "host.getID")
		var f *kojixml.Fault
		if !errors.As(err, &f) || f.Code != kojixml.AuthError || f.String != fmt.Sprintf("User %d is not a host", u.ID) {
			t.Errorf("host.getID as carol = %v, want AuthError \"User %d is not a host\"", err, u.ID)
		}
		// the hub lists it where operators look, not only in the fault
		listed := false
		for _, tf := range hub.failures(t) {
			listed = listed || (tf.Problem == string(pki.ProblemNameMismatch) && tf.CommonName == "carol" && strings.Contains(tf.Message, "which is not a host"))
		}
		if !listed {
			t.Errorf("kojigo.getTLSFailures does not list carol's host call as a name mismatch: %+v", hub.failures(t))
		}
		// ... but logs it as what it is: the handshake and login succeeded
		// (issue 14, item 5).
		for _, l := range hub.logged(t) {
			if strings.Contains(l.Message, "which is not a host") && l.Msg != "host method refused: the caller is not a host" {
				t.Errorf("carol's host call logged as %q, want \"host method refused: the caller is not a host\"", l.Msg)
			}
		}
		// carol may not read the list: it holds other clients' addresses.
		if _, err := kc.Call(ctx, "kojigo.getTLSFailures"); !errors.As(err, &f) || f.Code != kojixml.ActionNotAllowed || !strings.Contains(f.String, "admin permission required (logged in as carol)") {
			t.Errorf("kojigo.getTLSFailures as carol = %v, want ActionNotAllowed naming the admin permission", err)
		}
		rep := runDoctor(t, hub.URL, doctorConfig(t, t.TempDir(), hub.URL, carol.PEM, farm.CAFile, pki.RoleHost, "carol"))
		nf := findFinding(rep, pki.ProblemNameMismatch, doctor.Error)
		if nf == nil || !strings.Contains(nf.Message, `logs in as "carol", which is not a host on the hub`) || !strings.Contains(nf.Message, "koji add-host carol") {
			t.Errorf("doctor does not say carol is not a host:%s", dumpReport(rep))
		} else {
			oneSentence(t, "doctor", nf.Message)
		}
		if rep.ExitCode() != 2 {
			t.Errorf("doctor exit %d, want 2", rep.ExitCode())
		}
		hub.checkRecorded(t, hub.failures(t))
	})

	t.Run("no LoginCreatesUser", func(t *testing.T) {
		hub := startRealHub(t, opts, farm.CAFile, hubSetup{Tweak: func(fc *hubcore.FileConfig) { fc.LoginCreatesUser = false }})
		_, err := clientLogin(t, hub.URL, carol.PEM, farm.CAFile)
		var f *kojixml.Fault
		if !errors.As(err, &f) || f.Code != kojixml.AuthError || !strings.HasPrefix(f.String, "Unknown user: carol") {
			t.Fatalf("sslLogin as unknown carol = %v, want AuthError \"Unknown user: carol ...\"", err)
		}
		oneSentence(t, "client", f.String)
		fs := hub.waitFailures(t, 1)
		if len(fs) != 1 {
			t.Fatalf("hub failures = %+v, want the refused sslLogin", fs)
		}
		got := fs[0]
		if got.Problem != string(pki.ProblemNameMismatch) || got.CommonName != "carol" || got.Message != f.String {
			t.Errorf("hub lists %+v, want problem %q, CN carol and the fault's words %q", got, pki.ProblemNameMismatch, f.String)
		}
		for _, w := range []string{"LoginCreatesUser = false", "koji add-host carol", "koji add-user carol", "CN=carol from 127.0.0.1"} {
			if !strings.Contains(got.Message, w) {
				t.Errorf("hub message %q lacks %q", got.Message, w)
			}
		}
		// doctor repeats the hub's words.
		rep := runDoctor(t, hub.URL, doctorConfig(t, t.TempDir(), hub.URL, carol.PEM, farm.CAFile, pki.RoleHost, "carol"))
		if rep.ExitCode() != 2 || !strings.Contains(samePeer(dumpReport(rep)), samePeer(strings.TrimSuffix(f.String, "."))) {
			t.Errorf("doctor does not repeat the hub's refusal %q:%s", f.String, dumpReport(rep))
		}
		all := hub.waitFailures(t, 2)
		if len(all) != 2 {
			t.Errorf("after doctor the hub lists %d failures, want 2: %+v", len(all), all)
		}
		hub.checkRecorded(t, all)
	})
}

// TestRealHubNoClientCertSSLLogin: sslLogin without a certificate is
// recorded under pki's problem, with pki's words, and Koji's fault prefix.
func TestRealHubNoClientCertSSLLogin(t *testing.T) {
	farm := pkitest.NewFarm(t, "kojigo CA A")
	hubCert := farm.Issue("hub", pki.Request{Role: pki.RoleHub, Name: "127.0.0.1"})
	hub := startRealHub(t, pkitest.HubOptions{CertFile: hubCert.Cert, KeyFile: hubCert.Key, ClientCAFile: farm.CAFile}, farm.CAFile, hubSetup{})
	_, err := clientLogin(t, hub.URL, "", farm.CAFile)
	var f *kojixml.Fault
	if !errors.As(err, &f) || f.Code != kojixml.AuthError || !strings.HasPrefix(f.String, "could not verify client: ") {
		t.Fatalf("sslLogin without certificate = %v, want Koji's AuthError \"could not verify client: ...\"", err)
	}
	_, want := pki.VerifyClientCert(&tls.ConnectionState{}, nil)
	fs := hub.waitFailures(t, 1)
	if len(fs) != 1 || fs[0].Problem != string(pki.ProblemNoClientCert) || fs[0].Message != want.Error() {
		t.Fatalf("hub lists %+v, want %q %q", fs, pki.ProblemNoClientCert, want)
	}
	if f.String != "could not verify client: "+want.Error() {
		t.Errorf("fault %q, want Koji's prefix and pki's words %q", f.String, want)
	}
	hub.checkRecorded(t, fs)
}

// TestRealHubSSLLoginRefusals: the other ways the hub refuses a valid
// certificate at sslLogin are listed, logged and counted like refused
// handshakes, each in one sentence with the fix, in the fault's words.
func TestRealHubSSLLoginRefusals(t *testing.T) {
	farm := pkitest.NewFarm(t, "kojigo CA A")
	hubCert := farm.Issue("hub", pki.Request{Role: pki.RoleHub, Name: "127.0.0.1"})
	dave := farm.Issue("dave", pki.Request{Role: pki.RoleUser, Name: "dave"})
	opts := pkitest.HubOptions{CertFile: hubCert.Cert, KeyFile: hubCert.Key, ClientCAFile: farm.CAFile}
	tests := []struct {
		name    string
		hs      hubSetup
		problem pki.Problem
		words   []string
	}{
		{"blocked user", hubSetup{Seed: func(ctx context.Context, s *db.Store) error {
			_, err := s.CreateUser(ctx, db.User{Name: "dave", Status: db.StatusBlocked})
			return err
		}}, pki.ProblemPeerRejected, []string{"logins by dave are not allowed", "blocked", "koji enable-user dave"}},
		{"user name field missing", hubSetup{Tweak: func(fc *hubcore.FileConfig) { fc.DNUsernameComponent = "UID" }},
			pki.ProblemNameMismatch, []string{"unable to get user information (UID)", "CN=dave", "DNUsernameComponent"}},
	}
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			hub := startRealHub(t, opts, farm.CAFile, tc.hs)
			_, err := clientLogin(t, hub.URL, dave.PEM, farm.CAFile)
			var f *kojixml.Fault
			if !errors.As(err, &f) || f.Code != kojixml.AuthError {
				t.Fatalf("sslLogin = %v, want an AuthError", err)
			}
			oneSentence(t, "fault", f.String)
			for _, w := range tc.words {
				if !strings.Contains(f.String, w) {
					t.Errorf("fault %q lacks %q", f.String, w)
				}
			}
			fs := hub.waitFailures(t, 1)
			if len(fs) != 1 || fs[0].Problem != string(tc.problem) || fs[0].Message != f.String {
				t.Fatalf("hub lists %+v, want one %q failure in the fault's words", fs, tc.problem)
			}
			hub.checkRecorded(t, fs)
		})
	}
}
