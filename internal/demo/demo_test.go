package demo

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"kojigo/builderd"
	"kojigo/hubcore"
	"kojigo/internal/doctor"
	"kojigo/internal/kojiconf"
	"kojigo/internal/pki"
	"kojigo/kojira"
)

func TestOptionsDefaultsAndHostileInput(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "notes.txt"), []byte("mine"), 0o644)
	previous := t.TempDir()
	os.WriteFile(filepath.Join(previous, "state.json"), []byte("{}"), 0o600)
	tests := []struct {
		name    string
		o       Options
		wantErr string
	}{
		{"zero value", Options{Home: home}, ""},
		{"builders max", Options{Home: home, Builders: MaxBuilders}, ""},
		{"builders negative", Options{Home: home, Builders: -1}, "builders: want 1 to 16"},
		{"builders too many", Options{Home: home, Builders: 1000}, "builders: want 1 to 16"},
		{"builders one over", Options{Home: home, Builders: MaxBuilders + 1}, "builders"},
		{"dir is a file", Options{Dir: file}, "not a directory"},
		{"dir holds other files", Options{Dir: full}, "not empty and not a kojigo demo's directory"},
		{"dir of a previous demo", Options{Dir: previous}, ""},
		{"dir empty", Options{Dir: t.TempDir()}, ""},
		{"dir relative", Options{Dir: "some/where"}, ""},
		{"dir with newline", Options{Dir: "/tmp/x\n[kojid]"}, "control characters"},
		{"dir with NUL", Options{Dir: "/tmp/x\x00y"}, "control characters"},
		{"dir with ini comment", Options{Dir: "/tmp/x;y"}, "';' is not allowed"},
		{"dir with query", Options{Dir: "/tmp/x?mode=ro"}, "'?' is not allowed"},
		{"dir with interpolation", Options{Dir: "/tmp/%(x)s"}, "'%' is not allowed"},
		{"dir with space", Options{Dir: "/tmp/demo dir"}, "' ' is not allowed: rpmbuild"},
		{"dir with shell", Options{Dir: "/tmp/$(reboot)"}, "'$' is not allowed"},
		{"dir with quote", Options{Dir: "/tmp/it's"}, "is not allowed"},
		{"dir with letters", Options{Dir: filepath.Join(t.TempDir(), "démo_1.2-x+y,z@h~:=")}, ""},
		{"dir with trailing space", Options{Dir: "/tmp/x "}, "' ' is not allowed"},
		{"dir too long", Options{Dir: "/" + strings.Repeat("a", 2000)}, "longer than 1024"},
		{"listen no port", Options{Home: home, Listen: "127.0.0.1"}, "want HOST:PORT"},
		{"listen garbage", Options{Home: home, Listen: "::::"}, "want HOST:PORT"},
		{"listen port too big", Options{Home: home, Listen: "127.0.0.1:99999"}, "port must be"},
		{"listen port name", Options{Home: home, Listen: "127.0.0.1:https"}, "port must be"},
		{"listen everywhere", Options{Home: home, Listen: "0.0.0.0:8443"}, "loopback only"},
		{"listen empty host", Options{Home: home, Listen: ":8443"}, "loopback only"},
		{"listen remote name", Options{Home: home, Listen: "koji.example.org:443"}, "loopback only"},
		{"listen private ip", Options{Home: home, Listen: "10.0.0.1:443"}, "loopback only"},
		{"listen localhost", Options{Home: home, Listen: "localhost:8443"}, ""},
		{"listen ipv6 loopback", Options{Home: home, Listen: "[::1]:0"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckOptions(tc.o)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckOptions: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("CheckOptions = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
	o, err := Options{Home: home}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.Builders != 2 || o.Dir != filepath.Join(home, ".kojigo", "demo") || o.Listen != "127.0.0.1:0" || o.Stdout == nil || o.Logger == nil {
		t.Errorf("defaults = builders %d, dir %q, listen %q", o.Builders, o.Dir, o.Listen)
	}
	if _, err := os.Stat(o.Dir); err == nil {
		t.Error("CheckOptions created the state directory")
	}
}

// TestRunRefusesBadOptionsBeforeTouchingAnything: a bad option changes nothing.
func TestRunRefusesBadOptionsBeforeTouchingAnything(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	noKojira := t.TempDir() // an old bin/: kojihub and kojid, no kojira
	for _, n := range []string{"kojihub", "kojid"} {
		os.WriteFile(filepath.Join(noKojira, n), []byte("#!/bin/sh\nexit 1\n"), 0o755)
	}
	for _, o := range []Options{
		{Dir: dir, Builders: -3},
		{Dir: dir, Listen: "192.0.2.1:80"},
		{Dir: dir, BinDir: t.TempDir()}, // no kojihub there
		{Dir: dir, BinDir: noKojira},
	} {
		err := Run(context.Background(), o)
		if err == nil {
			t.Fatalf("Run(%+v) = nil", o)
		}
		if o.BinDir == noKojira && !strings.Contains(err.Error(), "kojira not found in "+noKojira) {
			t.Errorf("Run without kojira = %v, want it to say kojira is not found", err)
		}
		if _, serr := os.Stat(dir); serr == nil {
			t.Fatalf("Run(%+v) failed (%v) but made %s", o, err, dir)
		}
	}
}

func TestFindBinarySaysHowToBuild(t *testing.T) {
	empty := t.TempDir()
	_, err := findBinary("kojihub", empty)
	if err == nil || !strings.Contains(err.Error(), "make") || !strings.Contains(err.Error(), "go build -o bin/ ./cmd/...") {
		t.Fatalf("findBinary in an empty dir = %v; want it to say how to build", err)
	}
	// a directory or a file that is not executable is not a binary
	os.Mkdir(filepath.Join(empty, "kojid"), 0o755)
	os.WriteFile(filepath.Join(empty, "kojictl"), []byte("x"), 0o644)
	for _, n := range []string{"kojid", "kojictl"} {
		if p, err := findBinary(n, empty); err == nil {
			t.Errorf("findBinary(%s) = %s, want an error", n, p)
		}
	}
	exe := filepath.Join(empty, "kojihub")
	os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755)
	if p, err := findBinary("kojihub", empty); err != nil || p != exe {
		t.Errorf("findBinary = %q, %v; want %s", p, err, exe)
	}
}

// TestSamplesMatchBuilderdTestdata keeps the embedded copies identical to
// the packages builderd's tests build.
func TestSamplesMatchBuilderdTestdata(t *testing.T) {
	for _, s := range samples() {
		want := os.DirFS(filepath.Join("..", "..", "builderd", "testdata", s.Dir))
		got, err := fs.Sub(samplesFS, "samples/"+s.Dir)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		err = fs.WalkDir(want, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			n++
			w, _ := fs.ReadFile(want, p)
			g, gerr := fs.ReadFile(got, p)
			if gerr != nil || !bytes.Equal(w, g) {
				t.Errorf("samples/%s/%s differs from builderd/testdata (copy it over)", s.Dir, p)
			}
			return nil
		})
		if err != nil || n == 0 {
			t.Fatalf("builderd/testdata/%s: %v (%d files)", s.Dir, err, n)
		}
		gn := 0
		fs.WalkDir(got, ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				gn++
			}
			return err
		})
		if gn != n {
			t.Errorf("samples/%s has %d files, builderd/testdata/%s %d", s.Dir, gn, s.Dir, n)
		}
		dst := t.TempDir()
		if err := writeSample(s, dst); err != nil {
			t.Fatal(err)
		}
		if specs, _ := filepath.Glob(filepath.Join(dst, "*.spec")); len(specs) != 1 {
			t.Errorf("writeSample(%s) wrote specs %v", s.Dir, specs)
		}
	}
}

// TestConfigsLoad: the files the demo writes are read by the daemons'
// and the client's own loaders without errors or warnings.
func TestConfigsLoad(t *testing.T) {
	l := layout{dir: filepath.Join(t.TempDir(), "demo")}
	if err := makeDirs(l, 2); err != nil {
		t.Fatal(err)
	}
	if err := makeCerts(l, 2); err != nil {
		t.Fatal(err)
	}
	hubURL := "https://127.0.0.1:8443"

	kc := filepath.Join(l.builder("builder2"), "kojid.conf")
	os.WriteFile(kc, []byte(kojidConf(l, "builder2", hubURL, 100)), 0o600)
	cfg, warns, err := builderd.LoadConfig(kc, kojiconf.Options{})
	if err != nil || len(warns) > 0 {
		t.Fatalf("kojid.conf: %v %v", err, warns)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("kojid.conf: %v", err)
	}
	if cfg.Server != hubURL+"/kojihub" || cfg.Cert != l.pem("builder2") || cfg.WorkDir != filepath.Join(l.builder("builder2"), "work") || int64(cfg.MinSpace) != 100<<20 || cfg.UseMock != "no" {
		t.Errorf("kojid.conf read back as %+v", cfg)
	}

	os.WriteFile(l.hubConf(), []byte(hubConf(l, "127.0.0.1:8443")), 0o600)
	hc := hubcore.DefaultFileConfig()
	if _, err := kojiconf.Load(l.hubConf(), "hub", &hc, kojiconf.Options{}); err != nil {
		t.Fatalf("hub.conf: %v", err)
	}
	if err := hc.Validate(); err != nil {
		t.Fatalf("hub.conf: %v", err)
	}
	if hc.DSN() != l.dsn() || hc.TLSClientCA != l.ca() || hc.KojiDir != l.topdir() || hc.ProxyDNs != "CN=kojiweb" {
		t.Errorf("hub.conf read back as %+v", hc)
	}

	os.WriteFile(l.kojiraConf(), []byte(kojiraConf(l, hubURL)), 0o600)
	rc, warns, err := kojira.LoadConfig(l.kojiraConf(), kojiconf.Options{Environ: func() []string { return nil }})
	if err != nil || len(warns) > 0 {
		t.Fatalf("kojira.conf: %v %v", err, warns)
	}
	if err := rc.Validate(); err != nil {
		t.Fatalf("kojira.conf: %v", err)
	}
	if rc.Server != hubURL+"/kojihub" || rc.TopDir != l.topdir() || rc.Cert != l.pem(KojiraUser) || rc.ServerCA != l.ca() ||
		rc.SleepTime != kojiraSleep || rc.User != "" {
		t.Errorf("kojira.conf read back as %+v", rc)
	}
	if _, err := os.Stat(rc.Cert); err != nil {
		t.Errorf("kojira's certificate: %v", err)
	}
	if fi, err := os.Stat(l.repos()); err != nil || !fi.IsDir() {
		t.Errorf("topdir/repos, which the builders must read for repo tasks: %v", err)
	}

	os.WriteFile(l.clientConf(), []byte(clientConf(l, hubURL)), 0o600)
	p, err := kojiconf.LoadClientProfile(ProfileName, kojiconf.ClientOptions{ConfigFile: l.clientConf(), Home: t.TempDir(), SysConfDir: t.TempDir()})
	if err != nil {
		t.Fatalf("koji.conf: %v", err)
	}
	if p.Server != hubURL+"/kojihub" || p.EffectiveAuthType() != "ssl" || p.Cert != l.pem(AdminUser) || p.ServerCA != l.ca() {
		t.Errorf("koji.conf read back as %+v", p)
	}

	// certificates are made once: a second run keeps them
	before, _ := os.ReadFile(l.pem("builder1"))
	if err := makeCerts(l, 3); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(l.pem("builder1"))
	if !bytes.Equal(before, after) {
		t.Error("makeCerts replaced builder1's certificate")
	}
	if _, err := os.Stat(l.pem("builder3")); err != nil {
		t.Errorf("a third builder got no certificate: %v", err)
	}
}

func TestPrepareDBIsIdempotent(t *testing.T) {
	l := layout{dir: t.TempDir()}
	for i := 0; i < 2; i++ {
		if err := prepareDB(context.Background(), l); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
}

func TestMinspace(t *testing.T) {
	for _, tc := range []struct{ free, want int64 }{
		{-1, 1}, {0, 1}, {50 << 20, 25}, {199 << 20, 99}, {200 << 20, 100}, {1 << 40, 100},
	} {
		if got := minspaceMB(tc.free); got != tc.want {
			t.Errorf("minspaceMB(%d) = %d, want %d", tc.free, got, tc.want)
		}
	}
}

func TestStateRoundTripAndCorruption(t *testing.T) {
	p := filepath.Join(t.TempDir(), "state.json")
	s, err := loadState(p)
	if err != nil || len(s.Tasks) != 0 {
		t.Fatalf("missing state: %v %v", s, err)
	}
	s.Tasks["hello"], s.Listen = 7, "127.0.0.1:4000"
	if err := saveState(p, s); err != nil {
		t.Fatal(err)
	}
	if got, err := loadState(p); err != nil || got.Tasks["hello"] != 7 || got.Listen != s.Listen {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	os.WriteFile(p, []byte("{not json"), 0o600)
	if _, err := loadState(p); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Fatalf("corrupt state: %v", err)
	}
}

func TestPickListenReusesAFreePreviousPort(t *testing.T) {
	a, err := pickListen("127.0.0.1:0", "")
	if err != nil || strings.HasSuffix(a, ":0") {
		t.Fatalf("pickListen = %q, %v", a, err)
	}
	if b, err := pickListen("127.0.0.1:0", a); err != nil || b != a {
		t.Errorf("previous free port %s not reused: %q %v", a, b, err)
	}
	if b, _ := pickListen("127.0.0.1:0", "[::1]:"+strings.Split(a, ":")[1]); b == "[::1]:"+strings.Split(a, ":")[1] {
		t.Errorf("previous port on another host reused: %s", b)
	}
	if b, _ := pickListen("127.0.0.1:1234", a); b != "127.0.0.1:1234" {
		t.Errorf("explicit port replaced: %s", b)
	}
}

func TestHostStatus(t *testing.T) {
	tests := []struct {
		m    map[string]any
		want string
	}{
		{map[string]any{"name": "b1"}, "b1: not checked in yet"},
		{map[string]any{"name": "b1", "ready": true, "enabled": true, "data": map[string]any{}}, "b1: ready"},
		{map[string]any{"name": "b1", "ready": false, "enabled": true, "data": map[string]any{
			"not_ready_reasons": []any{"rpmbuild not found: install the rpm-build package"}}}, "b1: not ready: rpmbuild not found: install the rpm-build package"},
		{map[string]any{"name": "b1", "ready": false, "enabled": true, "data": map[string]any{}}, "b1: not ready: no recent check-in from its kojid"},
		{map[string]any{"name": "b1", "ready": true, "enabled": false, "data": map[string]any{}}, "b1: disabled"},
	}
	for _, tc := range tests {
		if got, _ := hostStatus(tc.m); got != tc.want {
			t.Errorf("hostStatus(%v) = %q, want %q", tc.m, got, tc.want)
		}
	}
	_, facts := hostStatus(map[string]any{"name": "b1", "ready": true, "data": map[string]any{
		"disk": []any{map[string]any{"role": "workdir", "free": int64(3 << 30)}}, "mem_available": int64(1 << 30), "cpus": int64(2)}})
	if facts != " (workdir 3.0 GiB free, memory 1.0 GiB available, 2 cpus)" {
		t.Errorf("facts = %q", facts)
	}
}

func TestLockDirKeepsASecondDemoOut(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockDir(dir); err == nil || !strings.Contains(err.Error(), "another kojictl demo") {
		t.Fatalf("second lock = %v", err)
	}
	unlock()
	u2, err := lockDir(dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	u2()
}

// TestDistConfigs: the example configs in dist/ load without errors or
// warnings, pass the daemons' own checks, and the values they call
// defaults are the defaults.
func TestDistConfigs(t *testing.T) {
	hc := hubcore.DefaultFileConfig()
	if _, err := kojiconf.Load(filepath.Join("..", "..", "dist", "hub.conf"), "hub", &hc, kojiconf.Options{Environ: func() []string { return nil }}); err != nil {
		t.Fatalf("dist/hub.conf: %v", err)
	}
	if err := hc.Validate(); err != nil {
		t.Fatalf("dist/hub.conf: %v", err)
	}
	def := hubcore.DefaultFileConfig()
	// the keys marked "example"
	def.DB, def.Listen, def.TLSCert, def.TLSKey, def.TLSClientCA = hc.DB, hc.Listen, hc.TLSCert, hc.TLSKey, hc.TLSClientCA
	if !reflect.DeepEqual(hc, def) {
		t.Errorf("dist/hub.conf differs from the defaults it claims:\n got %+v\nwant %+v", hc, def)
	}

	kc, warns, err := builderd.LoadConfig(filepath.Join("..", "..", "dist", "kojid.conf"), kojiconf.Options{Environ: func() []string { return nil }})
	if err != nil || len(warns) > 0 {
		t.Fatalf("dist/kojid.conf: %v %v", err, warns)
	}
	if err := kc.Validate(); err != nil {
		t.Fatalf("dist/kojid.conf: %v", err)
	}
	kd := builderd.DefaultConfig()
	if kc.MinSpace != kd.MinSpace || kc.SleepTime != kd.SleepTime || kc.RPMBuildTimeout != kd.RPMBuildTimeout || kc.MaxJobs != kd.MaxJobs ||
		kc.MaxLoad != kd.MaxLoad || kc.CancelPoll != kd.CancelPoll || kc.Shutdown != kd.Shutdown || kc.WorkDir != kd.WorkDir || kc.UseMock != kd.UseMock {
		t.Errorf("dist/kojid.conf differs from the defaults it claims:\n got %+v\nwant %+v", kc, kd)
	}
}

// TestDistConfigsPassDoctor: installed as `make install` does (0600), with
// their certificates made by kojictl certs' code and their directories in
// place, the example configs pass kojictl doctor without a warning.
func TestDistConfigsPassDoctor(t *testing.T) {
	root := t.TempDir()
	rewrite := strings.NewReplacer("/etc/", root+"/etc/", "/mnt/koji", root+"/mnt/koji", "/var/", root+"/var/")
	for _, d := range []string{"etc/koji-hub", "etc/kojid", "mnt/koji", "var/tmp/koji", "var/lib/mock", "var/lib/kojihub"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	ca := pki.Dir{Path: filepath.Join(root, "pki")}
	if _, err := ca.Init(pki.Request{Role: pki.RoleCA}); err != nil {
		t.Fatal(err)
	}
	hub, err := ca.Issue(pki.Request{Role: pki.RoleHub, Name: "koji.example.org"}, "hub")
	if err != nil {
		t.Fatal(err)
	}
	host, err := ca.Issue(pki.Request{Role: pki.RoleHost, Name: "builder1.example.org"}, "")
	if err != nil {
		t.Fatal(err)
	}
	cp := func(src, dst string, mode os.FileMode) {
		t.Helper()
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, dst), b, mode); err != nil {
			t.Fatal(err)
		}
	}
	cp(hub.CertFile, "etc/koji-hub/hub.crt", 0o644)
	cp(hub.KeyFile, "etc/koji-hub/hub.key", 0o600)
	cp(ca.CAFile(), "etc/koji-hub/clientca.crt", 0o644)
	cp(host.PEMFile, "etc/kojid/client.crt", 0o600)
	cp(ca.CAFile(), "etc/kojid/serverca.crt", 0o644)
	var configs []doctor.Config
	for _, f := range []string{"hub.conf", "kojid.conf"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "dist", f))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, f)
		if err := os.WriteFile(p, []byte(rewrite.Replace(string(b))), 0o600); err != nil {
			t.Fatal(err)
		}
		configs = append(configs, doctor.Config{Path: p})
	}
	rep := doctor.Run(context.Background(), doctor.Options{
		Configs: configs, Offline: true, Home: t.TempDir(), SysConfDir: t.TempDir(),
		Hostname: func() (string, error) { return "builder1.example.org", nil },
		DiskFree: func(string) (uint64, uint64, error) { return 100 << 30, 200 << 30, nil },
	})
	var bad []string
	for _, f := range rep.Findings {
		if f.Severity != doctor.OK {
			bad = append(bad, fmt.Sprintf("%+v", f))
		}
	}
	if len(bad) > 0 || len(rep.Checked) != 2 {
		t.Fatalf("doctor on dist/ configs (checked %v):\n%s", rep.Checked, strings.Join(bad, "\n"))
	}
}
