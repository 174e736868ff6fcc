package health

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const gib = 1 << 30

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// goodProbe is a host with nothing wrong under the default Config.
func goodProbe() Probe {
	return Probe{
		Disks: []Disk{
			{Role: RoleWorkdir, Path: "/var/lib/kojid", Free: 100 * gib, Total: 200 * gib},
			{Role: RoleMockdir, Path: "/var/lib/mock", Free: 100 * gib, Total: 200 * gib},
		},
		MemTotal: 8 * gib, MemAvailable: 4 * gib,
		Load1: 0.5, CPUs: 4,
		Tools: map[string]string{"rpmbuild": "/usr/bin/rpmbuild", "git": "/usr/bin/git", "mock": ""},
	}
}

func TestEvaluate(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	fixed := func() time.Time { return now }
	tests := []struct {
		name   string
		cfg    Config
		change func(*Probe)
		want   []string
	}{
		{"ready", Config{}, func(*Probe) {}, nil},
		{"low disk", Config{}, func(p *Probe) { p.Disks[0].Free = gib + gib/4 },
			[]string{"workdir /var/lib/kojid: 1.2 GiB free < minspace 8 GiB"}},
		{"disk just under limit never prints as the limit", Config{}, func(p *Probe) { p.Disks[1].Free = 8*gib - 1 },
			[]string{"mockdir /var/lib/mock: 7.9 GiB free < minspace 8 GiB"}},
		{"disk exactly at limit is fine", Config{}, func(p *Probe) { p.Disks[1].Free = 8 * gib }, nil},
		{"custom minspace", Config{MinSpace: 200 << 20}, func(p *Probe) { p.Disks[0].Free = 100 << 20 },
			[]string{"workdir /var/lib/kojid: 100 MiB free < minspace 200 MiB"}},
		{"minspace disabled", Config{MinSpace: -1}, func(p *Probe) { p.Disks[0].Free = 0 }, nil},
		{"disk error", Config{}, func(p *Probe) {
			p.Disks[1] = Disk{Role: RoleMockdir, Path: "/var/lib/mock", Err: errors.New("no such directory: /var/lib/mock")}
		}, []string{"mockdir /var/lib/mock: no such directory: /var/lib/mock"}},
		{"not writable", Config{}, func(p *Probe) { p.Disks[0].WriteErr = errors.New("create test file: permission denied") },
			[]string{"workdir not writable: create test file: permission denied"}},
		{"rpmbuild missing", Config{}, func(p *Probe) { p.Tools["rpmbuild"] = "" },
			[]string{"rpmbuild not found: install the rpm-build package"}},
		{"rpmbuild never probed", Config{}, func(p *Probe) { p.Tools = nil },
			[]string{"rpmbuild not found: install the rpm-build package"}},
		{"mock required", Config{RequiredTools: []string{"rpmbuild", "mock"}}, func(*Probe) {},
			[]string{"mock not found: install the mock package"}},
		{"unknown tool", Config{RequiredTools: []string{"frobnicate"}}, func(*Probe) {},
			[]string{"frobnicate not found: install it or fix PATH"}},
		{"no tools required", Config{RequiredTools: []string{}}, func(p *Probe) { p.Tools = nil }, nil},
		{"load", Config{MaxLoad: 2}, func(p *Probe) { p.Load1 = 9.5 },
			[]string{"load 9.5 > 4 CPUs x maxload 2 = 8"}},
		{"load default 4 per cpu", Config{}, func(p *Probe) { p.Load1 = 16 }, nil},
		{"load default exceeded", Config{}, func(p *Probe) { p.Load1 = 16.01 },
			[]string{"load 16.01 > 4 CPUs x maxload 4 = 16"}},
		{"load unreadable is not a reason", Config{}, func(p *Probe) { p.Load1 = 99; p.LoadErr = errors.New("x") }, nil},
		{"load disabled", Config{MaxLoad: -1}, func(p *Probe) { p.Load1 = 1e9 }, nil},
		{"maxjobs", Config{MaxJobs: 2}, func(p *Probe) { p.Jobs = 2 }, []string{"at maxjobs 2/2"}},
		{"below maxjobs", Config{MaxJobs: 2}, func(p *Probe) { p.Jobs = 1 }, nil},
		{"maxjobs default 10", Config{}, func(p *Probe) { p.Jobs = 10 }, []string{"at maxjobs 10/10"}},
		{"maxjobs disabled", Config{MaxJobs: -1}, func(p *Probe) { p.Jobs = 1000 }, nil},
		{"disabled", Config{}, func(p *Probe) { p.Disabled = true; p.Comment = "disk swap" },
			[]string{"host disabled on the hub: disk swap"}},
		{"over capacity", Config{}, func(p *Probe) { p.TaskLoad = 3.5; p.Capacity = 2 },
			[]string{"over capacity: task load 3.5 > capacity 2"}},
		{"capacity unknown", Config{}, func(p *Probe) { p.TaskLoad = 3.5 }, nil},
		{"memory", Config{MinMemAvailable: gib}, func(p *Probe) { p.MemAvailable = 300 << 20 },
			[]string{"memory 300 MiB available < 1 GiB required"}},
		{"cert expired", Config{Now: fixed}, func(p *Probe) { p.CertFile = "/c.pem"; p.CertNotAfter = now.Add(-time.Second) },
			[]string{"certificate /c.pem expired at 2026-01-02 03:04:04 UTC: issue a new one"}},
		{"cert valid", Config{Now: fixed}, func(p *Probe) { p.CertFile = "/c.pem"; p.CertNotAfter = now.Add(time.Hour) }, nil},
		{"cert unreadable", Config{}, func(p *Probe) { p.CertFile = "/c.pem"; p.CertErr = errors.New("read certificate: boom") },
			[]string{"certificate /c.pem: read certificate: boom"}},
		{"several in stable order", Config{MaxJobs: 1}, func(p *Probe) {
			p.Jobs = 1
			p.Tools["rpmbuild"] = ""
			p.Disks[0].Free = 0
		}, []string{"at maxjobs 1/1", "workdir /var/lib/kojid: 0 B free < minspace 8 GiB", "rpmbuild not found: install the rpm-build package"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := goodProbe()
			tc.change(&p)
			ready, reasons := Evaluate(tc.cfg, p)
			if ready != (len(tc.want) == 0) {
				t.Errorf("Evaluate ready = %v, want %v (reasons %q)", ready, len(tc.want) == 0, reasons)
			}
			if !reflect.DeepEqual(reasons, tc.want) {
				t.Errorf("Evaluate reasons = %q, want %q", reasons, tc.want)
			}
		})
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		in   uint64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1 KiB"}, {1536, "1.5 KiB"},
		{8 << 30, "8 GiB"}, {8<<30 - 1, "7.9 GiB"}, {1<<64 - 1, "16 EiB"}, // float64 has no closer value
	}
	for _, tc := range tests {
		if got := FormatBytes(tc.in); got != tc.want {
			t.Errorf("FormatBytes(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNewProberRejectsBadWatches(t *testing.T) {
	for _, w := range []Watch{{Role: "workdir"}, {Path: "/tmp"}} {
		if _, err := NewProber(ProberOptions{Watches: []Watch{w}}); err == nil {
			t.Errorf("NewProber(%+v) = nil error, want one", w)
		}
	}
}

func fakeProc(t testing.TB, meminfo, loadavg, mountinfo string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "meminfo"), meminfo)
	writeFile(t, filepath.Join(dir, "loadavg"), loadavg)
	writeFile(t, filepath.Join(dir, "self", "mountinfo"), mountinfo)
	return dir
}

func TestProbe(t *testing.T) {
	work := t.TempDir()
	notDir := filepath.Join(work, "file")
	writeFile(t, notDir, "x")
	// Mount points from a fake mountinfo: the temp dir's own path is a mount,
	// and one with an escaped space that matches nothing.
	mountinfo := "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n" +
		"23 22 8:2 / " + work + " rw - tmpfs tmpfs rw\n" +
		"24 22 8:3 / /mnt/with\\040space rw - tmpfs tmpfs rw\n" +
		"garbage\n"
	proc := fakeProc(t, "MemTotal:       16318412 kB\nMemFree: 1 kB\nMemAvailable:    8000000 kB\nBogus: x kB\n",
		"1.50 0.75 0.25 2/345 6789\n", mountinfo)
	when := time.Unix(1700000000, 0)
	pr, err := NewProber(ProberOptions{
		Watches: []Watch{
			{Role: RoleWorkdir, Path: work, Writable: true},
			{Role: RoleMockdir, Path: filepath.Join(work, "missing")},
			{Role: RoleTopdir, Path: notDir},
			{Role: "proc", Path: "/proc", Writable: true}, // nobody, not even root, creates files in /proc
		},
		Tools:   []string{"rpmbuild", "nosuchtool"},
		ProcDir: proc,
		LookPath: func(s string) (string, error) {
			if s == "rpmbuild" {
				return "/usr/bin/rpmbuild", nil
			}
			return "", errors.New("not found")
		},
		Now: func() time.Time { return when },
	})
	if err != nil {
		t.Fatal(err)
	}
	p := pr.Probe(context.Background())
	if !p.Time.Equal(when) {
		t.Errorf("Time = %v, want %v", p.Time, when)
	}
	if len(p.Disks) != 4 {
		t.Fatalf("Disks = %+v, want 4", p.Disks)
	}
	d := p.Disks[0]
	if d.Err != nil || d.WriteErr != nil || d.Total == 0 || d.Free > d.Total || d.Mount != work {
		t.Errorf("workdir disk = %+v, want measured, writable, mount %s", d, work)
	}
	if d := p.Disks[1]; d.Err == nil || !strings.Contains(d.Err.Error(), "no such directory") {
		t.Errorf("missing dir: Err = %v, want no such directory", d.Err)
	}
	if d := p.Disks[2]; d.Err == nil || !strings.Contains(d.Err.Error(), "not a directory") {
		t.Errorf("file as dir: Err = %v, want not a directory", d.Err)
	}
	if d := p.Disks[3]; d.Err != nil || d.WriteErr == nil {
		t.Errorf("/proc: %+v, want measured but not writable", d)
	}
	if p.MemTotal != 16318412*1024 || p.MemAvailable != 8000000*1024 {
		t.Errorf("mem = %d/%d", p.MemAvailable, p.MemTotal)
	}
	if p.Load1 != 1.5 || p.Load5 != 0.75 || p.Load15 != 0.25 || p.LoadErr != nil {
		t.Errorf("load = %v %v %v %v", p.Load1, p.Load5, p.Load15, p.LoadErr)
	}
	if p.CPUs < 1 {
		t.Errorf("CPUs = %d", p.CPUs)
	}
	if want := map[string]string{"rpmbuild": "/usr/bin/rpmbuild", "nosuchtool": ""}; !reflect.DeepEqual(p.Tools, want) {
		t.Errorf("Tools = %v, want %v", p.Tools, want)
	}
	// Leftover test files would fill the workdir over time.
	if ents, _ := os.ReadDir(work); len(ents) != 1 {
		t.Errorf("workdir has %d entries after probe, want only the test file", len(ents))
	}
	_, reasons := Evaluate(Config{MinSpace: -1}, p)
	want := []string{
		"mockdir " + filepath.Join(work, "missing") + ": no such directory: " + filepath.Join(work, "missing"),
		"topdir " + notDir + ": not a directory: " + notDir,
	}
	if len(reasons) < 3 || !reflect.DeepEqual(reasons[:2], want) || !strings.HasPrefix(reasons[2], "proc not writable: ") {
		t.Errorf("reasons = %q, want %q then proc not writable", reasons, want)
	}
}

func TestProbeRealHost(t *testing.T) {
	pr, err := NewProber(ProberOptions{Watches: []Watch{{Role: RoleWorkdir, Path: t.TempDir()}}})
	if err != nil {
		t.Fatal(err)
	}
	p := pr.Probe(context.Background())
	if p.MemTotal == 0 || p.MemAvailable == 0 || p.MemAvailable > p.MemTotal {
		t.Errorf("mem = %d/%d, want 0 < available <= total", p.MemAvailable, p.MemTotal)
	}
	if p.LoadErr != nil {
		t.Errorf("LoadErr = %v", p.LoadErr)
	}
	if p.Disks[0].Mount == "" || p.Disks[0].Total == 0 {
		t.Errorf("disk = %+v, want a mount and a size", p.Disks[0])
	}
	if _, ok := p.Tools["rpmbuild"]; !ok {
		t.Errorf("Tools = %v, want rpmbuild probed by default", p.Tools)
	}
}

func TestProbeHostileProc(t *testing.T) {
	tests := []struct{ name, meminfo, loadavg string }{
		{"empty", "", ""},
		{"garbage", "\x00\xff:::\n", "a b c"},
		{"negative load", "MemTotal: -5 kB\n", "-1 -2 -3"},
		{"two numbers", "MemTotal: 99999999999999999999999 kB\n", "1 2"},
		{"huge", strings.Repeat("MemTotal: 1 kB\n", 100000), strings.Repeat("9", 10000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			proc := fakeProc(t, tc.meminfo, tc.loadavg, "")
			pr, err := NewProber(ProberOptions{ProcDir: proc, Tools: []string{}})
			if err != nil {
				t.Fatal(err)
			}
			p := pr.Probe(context.Background())
			if p.LoadErr == nil {
				t.Errorf("LoadErr = nil for loadavg %.40q", tc.loadavg)
			}
			if p.MemTotal > 1<<63 {
				t.Errorf("MemTotal = %d", p.MemTotal)
			}
			if ready, reasons := Evaluate(Config{RequiredTools: []string{}}, p); !ready {
				t.Errorf("Evaluate = not ready %q; an unreadable /proc must not block the host", reasons)
			}
		})
	}
}

func TestMissingProc(t *testing.T) {
	pr, err := NewProber(ProberOptions{ProcDir: filepath.Join(t.TempDir(), "nope")})
	if err != nil {
		t.Fatal(err)
	}
	p := pr.Probe(context.Background())
	if p.LoadErr == nil || p.MemTotal != 0 {
		t.Errorf("probe of missing proc = %+v, want LoadErr and no memory", p)
	}
}

func TestUnescapeMount(t *testing.T) {
	tests := []struct{ in, want string }{
		{`/a\040b`, "/a b"}, {`/plain`, "/plain"}, {`/end\04`, `/end\04`}, {`/bad\999`, `/bad\999`}, {`\`, `\`},
	}
	for _, tc := range tests {
		if got := unescapeMount(tc.in); got != tc.want {
			t.Errorf("unescapeMount(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMountOf(t *testing.T) {
	mounts := []string{"/", "/var", "/var/lib/mock", "/var/lib/mockery"}
	tests := []struct{ path, want string }{
		{"/var/lib/mock/x", "/var/lib/mock"},
		{"/var/lib/mockery", "/var/lib/mockery"},
		{"/var/lib/mockx", "/var"},
		{"/usr", "/"},
	}
	for _, tc := range tests {
		if got := mountOf(mounts, tc.path); got != tc.want {
			t.Errorf("mountOf(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
	if got := mountOf(nil, "/x"); got != "" {
		t.Errorf("mountOf(nil) = %q, want empty", got)
	}
}

func writeCert(t testing.TB, dir string, notAfter time.Time, keyFirst bool) string {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "builder1"},
		NotBefore: notAfter.Add(-time.Hour), NotAfter: notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	var b []byte
	if keyFirst {
		b = append(keyPEM, certPEM...)
	} else {
		b = append(certPEM, keyPEM...)
	}
	path := filepath.Join(dir, "client.crt")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCertNotAfter(t *testing.T) {
	dir := t.TempDir()
	exp := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, keyFirst := range []bool{false, true} {
		path := writeCert(t, dir, exp, keyFirst)
		got, err := CertNotAfter(path)
		if err != nil || !got.Equal(exp) {
			t.Errorf("CertNotAfter(keyFirst=%v) = %v, %v; want %v", keyFirst, got, err, exp)
		}
	}
	bad := map[string]string{
		"notpem":    "hello",
		"keyonly":   "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		"corrupt":   "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
		"oversized": strings.Repeat("A", 1<<20+10),
	}
	for name, content := range bad {
		p := filepath.Join(dir, name)
		writeFile(t, p, content)
		if _, err := CertNotAfter(p); err == nil {
			t.Errorf("CertNotAfter(%s) = nil error", name)
		}
	}
	if _, err := CertNotAfter(filepath.Join(dir, "missing")); err == nil {
		t.Error("CertNotAfter(missing) = nil error")
	}

	pr, err := NewProber(ProberOptions{CertFile: writeCert(t, dir, exp, false), Tools: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	p := pr.Probe(context.Background())
	if !p.CertNotAfter.Equal(exp) || p.CertErr != nil {
		t.Errorf("probe cert = %v %v", p.CertNotAfter, p.CertErr)
	}
	after := func() time.Time { return exp.Add(time.Minute) }
	if _, reasons := Evaluate(Config{Now: after, RequiredTools: []string{}, MaxLoad: -1}, p); len(reasons) != 1 || !strings.Contains(reasons[0], "expired at 2030-05-06 07:08:09 UTC") {
		t.Errorf("Evaluate after expiry = %q", reasons)
	}
}

func TestData(t *testing.T) {
	p := goodProbe()
	p.Time = time.Unix(1700000000, 0)
	p.Disks[1].Err = errors.New("no such directory: /var/lib/mock")
	p.Disks[0].Free = 5 << 40 // beyond int32
	p.Jobs = 1
	p.TaskLoad = 1.5
	p.CertNotAfter = time.Unix(1800000000, 0)
	_, reasons := Evaluate(Config{}, p)
	data := Data(p, reasons, HostInfo{Methods: []string{"build", "buildArch"}, MaxJobs: 2, Arches: []string{"x86_64", "noarch"}, Version: "0.1"})

	b, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"disk": []any{
			map[string]any{"role": "workdir", "path": "/var/lib/kojid", "mount": "", "free": float64(5 << 40), "total": float64(200 * gib)},
			map[string]any{"role": "mockdir", "path": "/var/lib/mock", "mount": "", "free": float64(100 * gib), "total": float64(200 * gib), "error": "no such directory: /var/lib/mock"},
		},
		"mem_total": float64(8 * gib), "mem_available": float64(4 * gib),
		"load1": 0.5, "load5": 0.0, "load15": 0.0, "cpus": 4.0,
		"tools":             map[string]any{"rpmbuild": true, "git": true, "mock": false},
		"cert_not_after":    1800000000.0,
		"not_ready_reasons": []any{"mockdir /var/lib/mock: no such directory: /var/lib/mock"},
		"ready":             false, "jobs": 1.0, "task_load": 1.5,
		"methods": []any{"build", "buildArch"}, "maxjobs": 2.0,
		"arches": []any{"x86_64", "noarch"}, "version": "0.1", "probe_ts": 1700000000.0,
	}
	if !reflect.DeepEqual(got, want) {
		gb, _ := json.MarshalIndent(got, "", " ")
		t.Errorf("Data = %s", gb)
	}

	// Without load, cert or reasons: keys absent, lists empty (not null).
	p = Probe{LoadErr: errors.New("x")}
	data = Data(p, nil, HostInfo{})
	for _, k := range []string{KeyLoad1, KeyCertNotAfter} {
		if _, ok := data[k]; ok {
			t.Errorf("Data has %s without a measurement", k)
		}
	}
	b, _ = json.Marshal(data)
	for _, frag := range []string{`"not_ready_reasons":[]`, `"disk":[]`, `"methods":[]`, `"ready":true`} {
		if !strings.Contains(string(b), frag) {
			t.Errorf("Data JSON %s lacks %s", b, frag)
		}
	}
}
