package doctor_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kojigo/internal/doctor"
	"kojigo/internal/pki"
	"kojigo/internal/pki/pkitest"
)

func runOpts(t testing.TB, o doctor.Options) doctor.Report {
	t.Helper()
	if o.DiskFree == nil {
		o.DiskFree = plenty
	}
	if o.Home == "" {
		o.Home = t.TempDir()
	}
	if o.SysConfDir == "" {
		o.SysConfDir = filepath.Join(o.Home, "etc")
	}
	o.Offline = true
	return doctor.Run(context.Background(), o)
}

func hasMessage(rep doctor.Report, sev pki.Severity, subject string, words ...string) bool {
	for _, f := range rep.Findings {
		if f.Severity != sev || subject != "" && f.Subject != subject {
			continue
		}
		ok := true
		for _, w := range words {
			ok = ok && strings.Contains(f.Message, w)
		}
		if ok {
			return true
		}
	}
	return false
}

func TestConfigMistakes(t *testing.T) {
	f := pkitest.NewFarm(t, "")
	b := f.Issue("builder1", pki.Request{Role: pki.RoleHost, Name: "builder1"})
	dir := t.TempDir()
	tests := []struct {
		name    string
		extra   string
		subject string // "" any; "LINE" the config's file:line
		words   []string
	}{
		{"unknown key", "minspce = 100\n", "LINE", []string{"minspce", "did you mean minspace?"}},
		{"bad value", "maxjobs = many\n", "LINE", []string{"maxjobs"}},
		{"bad minspace", "minspace = lots\n", "LINE", []string{"minspace"}},
		{"stray line", "this is no key\n", "LINE", nil},
	}
	for _, tc := range tests {
		d := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
		conf := kojidConf(t, d, "https://127.0.0.1:1/kojihub", b.PEM, f.CAFile, "builder1", tc.extra)
		rep := runOpts(t, doctor.Options{Configs: []doctor.Config{{Path: conf}}})
		if rep.ExitCode() != 2 {
			t.Errorf("%s: exit %d:%s", tc.name, rep.ExitCode(), dump(rep))
		}
		found := false
		for _, fd := range rep.Findings {
			if fd.Severity != doctor.Error || !strings.HasPrefix(fd.Subject, conf+":1") {
				continue
			}
			ok := true
			for _, w := range tc.words {
				ok = ok && strings.Contains(fd.Message, w)
			}
			found = found || ok
		}
		if !found {
			t.Errorf("%s: no error at %s:LINE with %q:%s", tc.name, conf, tc.words, dump(rep))
		}
		// The certificate is still checked although the file has a mistake,
		// unless the file does not parse at all: then nothing else is.
		if tc.name == "stray line" {
			if strings.Contains(dump(rep), "/etc/kojid") || len(rep.Findings) != 1 {
				t.Errorf("%s: checks ran on defaults:%s", tc.name, dump(rep))
			}
		} else if !hasMessage(rep, doctor.OK, b.PEM, "CN=builder1") {
			t.Errorf("%s: certificate not checked:%s", tc.name, dump(rep))
		}
	}
}

func TestSoundKojidOffline(t *testing.T) {
	f := pkitest.NewFarm(t, "")
	b := f.Issue("builder1", pki.Request{Role: pki.RoleHost, Name: "builder1"})
	dir := t.TempDir()
	conf := kojidConf(t, dir, "https://127.0.0.1:1/kojihub", b.PEM, f.CAFile, "builder1", "")
	rep := runOpts(t, doctor.Options{Configs: []doctor.Config{{Path: conf}}})
	if rep.ExitCode() != 0 || len(rep.Checked) != 1 || rep.Checked[0].Kind != doctor.KindKojid {
		t.Fatalf("exit %d, checked %+v:%s", rep.ExitCode(), rep.Checked, dump(rep))
	}
	for _, want := range []string{"kojid.conf parses", "CN=builder1", "serverca holds a valid CA", "workdir " + dir + "/work has 100.0 GiB free"} {
		if !strings.Contains(dump(rep), want) {
			t.Errorf("report lacks %q:%s", want, dump(rep))
		}
	}
	if strings.Contains(dump(rep), "resolves") || strings.Contains(dump(rep), "connection refused") {
		t.Errorf("offline run did network checks:%s", dump(rep))
	}
}

func TestDiskSpace(t *testing.T) {
	f := pkitest.NewFarm(t, "")
	b := f.Issue("builder1", pki.Request{Role: pki.RoleHost, Name: "builder1"})
	dir := t.TempDir()
	conf := kojidConf(t, dir, "https://127.0.0.1:1/kojihub", b.PEM, f.CAFile, "builder1", "minspace = 8192\n")
	tests := []struct {
		free uint64
		err  error
		sev  pki.Severity
		want string
	}{
		{1 << 30, nil, doctor.Error, "workdir " + dir + "/work has 1.0 GiB free of 200.0 GiB, below minspace 8.0 GiB"},
		{12 << 30, nil, doctor.Warning, "less than twice minspace 8.0 GiB"},
		{100 << 30, nil, doctor.OK, "(minspace 8.0 GiB)"},
		{0, errors.New("boom"), doctor.Error, "cannot measure free space: boom"},
	}
	for _, tc := range tests {
		df := func(string) (uint64, uint64, error) { return tc.free, 200 << 30, tc.err }
		rep := runOpts(t, doctor.Options{Configs: []doctor.Config{{Path: conf}}, DiskFree: df})
		if !hasMessage(rep, tc.sev, conf, tc.want) {
			t.Errorf("free %d: no %s %q:%s", tc.free, tc.sev, tc.want, dump(rep))
		}
	}
	// The real statfs answers for an existing directory and fails for a missing one.
	if free, total, err := doctor.StatfsFree(dir); err != nil || total == 0 || free > total {
		t.Errorf("StatfsFree(%s) = %d, %d, %v", dir, free, total, err)
	}
	if _, _, err := doctor.StatfsFree(filepath.Join(dir, "nope")); err == nil {
		t.Error("StatfsFree(missing) succeeded")
	}
	// A missing workdir is an error, a missing mockdir a warning.
	os.RemoveAll(filepath.Join(dir, "work"))
	os.RemoveAll(filepath.Join(dir, "mock"))
	rep := runOpts(t, doctor.Options{Configs: []doctor.Config{{Path: conf}}})
	if !hasMessage(rep, doctor.Error, conf, "workdir", "does not exist") || !hasMessage(rep, doctor.Warning, conf, "mockdir", "does not exist") {
		t.Errorf("missing dirs:%s", dump(rep))
	}
}

func TestHubConf(t *testing.T) {
	f := pkitest.NewFarm(t, "")
	hub := f.Issue("hub", pki.Request{Role: pki.RoleHub, Name: "koji.example.com"})
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "koji"), 0o755)
	conf := writeFile(t, filepath.Join(dir, "hub.conf"), "[hub]\nDB = sqlite://"+dir+"/koji.db\nKojiDir = "+dir+"/koji\nListen = 0.0.0.0:8443\nTLSCert = "+hub.Cert+"\nTLSKey = "+hub.Key+"\nTLSClientCA = "+f.CAFile+"\n")
	var gotDSN string
	dbErr := errors.New("the database is at version 3, this kojigo needs 7; run: kojictl migrate --db DSN")
	rep := runOpts(t, doctor.Options{Configs: []doctor.Config{{Path: conf}}, Server: "https://koji.example.com/kojihub",
		DBCheck: func(_ context.Context, dsn string) error { gotDSN = dsn; return dbErr }})
	if gotDSN != "sqlite://"+dir+"/koji.db" {
		t.Errorf("DBCheck got %q", gotDSN)
	}
	if !hasMessage(rep, doctor.Error, conf, "database sqlite://", "version 3") || !hasMessage(rep, doctor.OK, hub.Cert, "hub certificate CN=koji.example.com") {
		t.Errorf("hub.conf:%s", dump(rep))
	}
	rep = runOpts(t, doctor.Options{Configs: []doctor.Config{{Path: conf}}, Server: "https://other.example.com/kojihub",
		DBCheck: func(context.Context, string) error { return nil }})
	if !hasMessage(rep, doctor.OK, conf, "is reachable") || find(rep, pki.ProblemHostnameMismatch, doctor.Error) == nil {
		t.Errorf("hub.conf with another server name:%s", dump(rep))
	}
	// A password in a world-readable hub.conf.
	conf2 := writeFile(t, filepath.Join(dir, "h2", "hub.conf"), "[hub]\nDBName = koji\nDBPass = secret\nKojiDir = "+dir+"/koji\n")
	rep = runOpts(t, doctor.Options{Configs: []doctor.Config{{Path: conf2}}})
	if !hasMessage(rep, doctor.Error, conf2, "it holds DBPass", "chmod 0600") {
		t.Errorf("world-readable DBPass:%s", dump(rep))
	}
}

func TestClientAndKojira(t *testing.T) {
	f := pkitest.NewFarm(t, "")
	alice := f.Issue("alice", pki.Request{Role: pki.RoleUser, Name: "alice"})
	kojira := f.Issue("kojira", pki.Request{Role: pki.RoleKojira, Name: "kojira"})
	dir := t.TempDir()
	client := clientConf(t, dir, "https://127.0.0.1:1/kojihub", alice.PEM, f.CAFile)
	kconf := writeFile(t, filepath.Join(dir, "kojira.conf"), "[kojira]\nserver = https://127.0.0.1:1/kojihub\ncert = "+kojira.PEM+"\nserverca = "+f.CAFile+"\nsleeptime = 15\nrepo_lifetim = 3\n")
	rep := runOpts(t, doctor.Options{Configs: []doctor.Config{{Path: client}, {Path: kconf}}})
	if len(rep.Checked) != 2 || rep.Checked[0].Kind != doctor.KindClient || rep.Checked[1].Kind != doctor.KindKojira {
		t.Fatalf("checked = %+v", rep.Checked)
	}
	if !hasMessage(rep, doctor.OK, alice.PEM, "user certificate CN=alice") || !hasMessage(rep, doctor.OK, kojira.PEM, "kojira certificate CN=kojira") {
		t.Errorf("client and kojira certificates:%s", dump(rep))
	}
	if !strings.Contains(dump(rep), "did you mean repo_lifetime?") {
		t.Errorf("kojira unknown key:%s", dump(rep))
	}
	// A client profile with an unknown key only warns (the koji CLI ignores it).
	c2 := writeFile(t, filepath.Join(dir, "c2", "config"), "[koji]\nserver = https://127.0.0.1:1/kojihub\nauthtype = ssl\ncert = "+alice.PEM+"\nserverca = "+f.CAFile+"\nservr = x\n")
	rep = runOpts(t, doctor.Options{Configs: []doctor.Config{{Path: c2}}})
	if rep.ExitCode() != 1 || !hasMessage(rep, doctor.Warning, "", "servr") {
		t.Errorf("client unknown key: exit %d:%s", rep.ExitCode(), dump(rep))
	}
}

func TestHostileConfigs(t *testing.T) {
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.conf")
	hf, _ := os.Create(huge)
	hf.Truncate(5 << 20)
	hf.Close()
	bin := writeFile(t, filepath.Join(dir, "bin.conf"), "\x00\x01\x02\xff[kojid]\n")
	loop := filepath.Join(dir, "loop.conf")
	os.Symlink(loop, loop)
	tests := []struct {
		name string
		cfg  doctor.Config
	}{
		{"directory", doctor.Config{Path: dir, Kind: doctor.KindKojid}},
		{"directory unguessed", doctor.Config{Path: dir}},
		{"missing", doctor.Config{Path: filepath.Join(dir, "none", "kojid.conf")}},
		{"huge", doctor.Config{Path: huge, Kind: doctor.KindHub}},
		{"binary", doctor.Config{Path: bin, Kind: doctor.KindKojid}},
		{"symlink loop", doctor.Config{Path: loop, Kind: doctor.KindKojira}},
		{"unknown kind", doctor.Config{Path: bin, Kind: "nginx"}},
		{"client dir", doctor.Config{Path: filepath.Join(dir, "none"), Kind: doctor.KindClient}},
	}
	for _, tc := range tests {
		rep := runOpts(t, doctor.Options{Configs: []doctor.Config{tc.cfg}})
		if rep.ExitCode() != 2 {
			t.Errorf("%s: exit %d:%s", tc.name, rep.ExitCode(), dump(rep))
		}
		for _, f := range rep.Findings {
			if strings.ContainsAny(f.Message, "\n") {
				t.Errorf("%s: multi-line finding %q", tc.name, f.Message)
			}
		}
	}
}

func TestDiscoveryAndJSON(t *testing.T) {
	home := t.TempDir()
	search := []doctor.Config{{Path: filepath.Join(home, "nope", "kojid.conf"), Kind: doctor.KindKojid}}
	rep := runOpts(t, doctor.Options{Home: home, Search: search})
	if rep.ExitCode() != 1 || !hasMessage(rep, doctor.Warning, "doctor", "no config file found") {
		t.Errorf("nothing to check: exit %d:%s", rep.ExitCode(), dump(rep))
	}
	f := pkitest.NewFarm(t, "")
	alice := f.Issue("alice", pki.Request{Role: pki.RoleUser, Name: "alice"})
	clientConf(t, filepath.Join(home, ".koji"), "https://127.0.0.1:1/kojihub", alice.PEM, f.CAFile)
	rep = runOpts(t, doctor.Options{Home: home, Search: search})
	if len(rep.Checked) != 1 || rep.Checked[0].Kind != doctor.KindClient || rep.ExitCode() != 0 {
		t.Errorf("discovered %+v, exit %d:%s", rep.Checked, rep.ExitCode(), dump(rep))
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Checked  []map[string]string `json:"checked"`
		Findings []map[string]string `json:"findings"`
	}
	if err := json.Unmarshal(b, &back); err != nil || len(back.Findings) != len(rep.Findings) || back.Findings[0]["severity"] != "ok" || back.Checked[0]["kind"] != "client" {
		t.Errorf("JSON %s: %v", b, err)
	}
	empty, _ := json.Marshal(doctor.Report{})
	if string(empty) != `{"checked":[],"findings":[]}` {
		t.Errorf("empty report JSON = %s", empty)
	}
}

func TestHubServesItsCertificate(t *testing.T) {
	f := pkitest.NewFarm(t, "")
	served := f.Issue("hub", pki.Request{Role: pki.RoleHub, Name: "127.0.0.1"})
	renewed := f.Issue("hub-new", pki.Request{Role: pki.RoleHub, Name: "127.0.0.1"})
	hub := pkitest.StartHub(t, pkitest.HubOptions{CertFile: served.Cert, KeyFile: served.Key, ClientCAFile: f.CAFile})
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "koji"), 0o755)
	for _, tc := range []struct {
		cert pkitest.Files
		sev  pki.Severity
		want string
	}{
		{served, doctor.OK, "presents TLSCert " + served.Cert},
		{renewed, doctor.Error, "restart the hub after renewing"},
	} {
		conf := writeFile(t, filepath.Join(dir, filepath.Base(tc.cert.Cert), "hub.conf"), "[hub]\nDB = sqlite:///nonexistent/koji.db\nKojiDir = "+dir+"/koji\nListen = "+hub.Addr+"\nTLSCert = "+tc.cert.Cert+"\nTLSKey = "+tc.cert.Key+"\nTLSClientCA = "+f.CAFile+"\n")
		rep := doctor.Run(context.Background(), doctor.Options{Configs: []doctor.Config{{Path: conf}}, Server: hub.URL, Home: dir, Timeout: 5 * time.Second})
		if !hasMessage(rep, tc.sev, conf, tc.want) {
			t.Errorf("%s: no %s %q:%s", tc.cert.Cert, tc.sev, tc.want, dump(rep))
		}
	}
}

// TestClientProfilePick: a named client config with one profile (the demo's
// koji.conf with [kojigo-demo]) is checked under that profile, and doctor
// says it picked it; a profile that is not there is reported with the
// profiles the file has.
func TestClientProfilePick(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	sys := filepath.Join(dir, "etc")
	profile := func(name string) string {
		return "[" + name + "]\nserver = https://127.0.0.1:1/kojihub\nauthtype = noauth\n"
	}
	demo := writeFile(t, filepath.Join(dir, "demo", "koji.conf"), profile("kojigo-demo"))
	two := writeFile(t, filepath.Join(dir, "two", "koji.conf"), profile("stg")+profile("prod"))
	empty := writeFile(t, filepath.Join(dir, "empty", "koji.conf"), "# nothing yet\n")
	tests := []struct {
		name    string
		path    string
		profile string
		sysConf string // /etc/koji.conf
		code    int
		sev     pki.Severity
		words   []string
	}{
		{"only profile", demo, "", "", 0, doctor.OK, []string{"checks [kojigo-demo], the only profile in " + demo, "-p kojigo-demo"}},
		{"only profile parses", demo, "", "", 0, doctor.OK, []string{"koji client profile [kojigo-demo] parses"}},
		{"named", demo, "kojigo-demo", "", 0, doctor.OK, []string{"koji client profile [kojigo-demo] parses"}},
		{"named missing", demo, "koji", "", 2, doctor.Error, []string{"no profile [koji] in " + demo + ", whose profiles are [kojigo-demo]", "-p kojigo-demo"}},
		{"two, none named", two, "", "", 2, doctor.Error, []string{"no profile [koji] in " + two + ", whose profiles are [prod], [stg]"}},
		{"two, one named", two, "stg", "", 0, doctor.OK, []string{"koji client profile [stg] parses"}},
		{"no section", empty, "", "", 2, doctor.Error, []string{"no profile [koji] in " + empty + ", which has no profile section at all"}},
		// /etc/koji.conf is read too, but the file named is the one meant.
		{"system koji too", demo, "", profile("koji"), 0, doctor.OK, []string{"checks [kojigo-demo], the only profile in " + demo}},
		{"system profile named", demo, "koji", profile("koji"), 0, doctor.OK, []string{"koji client profile [koji] parses"}},
	}
	for _, tc := range tests {
		os.RemoveAll(sys)
		if tc.sysConf != "" {
			writeFile(t, filepath.Join(sys, "koji.conf"), tc.sysConf)
		}
		rep := runOpts(t, doctor.Options{Configs: []doctor.Config{{Path: tc.path}}, Profile: tc.profile, Home: home, SysConfDir: sys})
		if rep.ExitCode() != tc.code || !hasMessage(rep, tc.sev, tc.path, tc.words...) {
			t.Errorf("%s: exit %d (want %d), no %s finding with %q:%s", tc.name, rep.ExitCode(), tc.code, tc.sev, tc.words, dump(rep))
		}
		for _, f := range rep.Findings {
			oneSentence(t, f.Message)
		}
	}
	// Without --config, the koji CLI's own files: one profile there is picked too.
	writeFile(t, filepath.Join(home, ".koji", "config"), profile("fedora"))
	os.RemoveAll(sys)
	rep := runOpts(t, doctor.Options{Home: home, SysConfDir: sys, Search: []doctor.Config{}})
	if rep.ExitCode() != 0 || !hasMessage(rep, doctor.OK, "", "checks [fedora], the only profile in "+filepath.Join(home, ".koji", "config")) {
		t.Errorf("discovered config: exit %d:%s", rep.ExitCode(), dump(rep))
	}
}
