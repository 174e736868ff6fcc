package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"kojigo/db"
	"kojigo/internal/pki"
)

// Names the demo gives to what it creates.
const (
	AdminUser   = "demo-admin"
	KojiraUser  = "kojira"
	Tag         = "demo"
	BuildTag    = "demo-build"
	Target      = "demo-candidate"
	ProfileName = "kojigo-demo"
)

// layout is where everything lives in the state directory.
type layout struct{ dir string }

func (l layout) db() string              { return filepath.Join(l.dir, "koji.db") }
func (l layout) dsn() string             { return "sqlite://" + l.db() }
func (l layout) pki() string             { return filepath.Join(l.dir, "pki") }
func (l layout) topdir() string          { return filepath.Join(l.dir, "topdir") }
func (l layout) logs() string            { return filepath.Join(l.dir, "logs") }
func (l layout) hubConf() string         { return filepath.Join(l.dir, "hub.conf") }
func (l layout) clientConf() string      { return filepath.Join(l.dir, "koji.conf") }
func (l layout) kojiraConf() string      { return filepath.Join(l.dir, "kojira.conf") }
func (l layout) repos() string           { return filepath.Join(l.topdir(), "repos") }
func (l layout) stateFile() string       { return filepath.Join(l.dir, "state.json") }
func (l layout) srpms() string           { return filepath.Join(l.dir, "srpms") }
func (l layout) builder(n string) string { return filepath.Join(l.dir, "builders", n) }
func (l layout) pem(name string) string  { return filepath.Join(l.pki(), name+".pem") }
func (l layout) ca() string              { return filepath.Join(l.pki(), pki.CACertFile) }

// builderName is the host name of builder i (1-based).
func builderName(i int) string { return fmt.Sprintf("builder%d", i) }

// state is what a demo remembers between runs (state.json).
type state struct {
	Listen string           `json:"listen,omitempty"`
	Tasks  map[string]int64 `json:"tasks,omitempty"` // package → build task
}

func loadState(path string) (state, error) {
	var s state
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return state{Tasks: map[string]int64{}}, nil
	}
	if err != nil {
		return s, fmt.Errorf("load state: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("load state %s: %w (delete it to start over)", path, err)
	}
	if s.Tasks == nil {
		s.Tasks = map[string]int64{}
	}
	return s, nil
}

func saveState(path string, s state) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return writeFileAtomic(path, append(b, '\n'), 0o600)
}

// writeFileAtomic writes to a temporary name, syncs and renames.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// makeDirs creates the directory tree.
func makeDirs(l layout, builders int) error {
	// topdir/repos now: the builders refuse repo tasks until they can read it
	dirs := []string{l.dir, l.topdir(), l.repos(), l.logs(), l.srpms()}
	for i := 1; i <= builders; i++ {
		b := l.builder(builderName(i))
		dirs = append(dirs, filepath.Join(b, "work"), filepath.Join(b, "mock"))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("make %s: %w", d, err)
		}
	}
	return nil
}

// makeCerts makes the CA and every certificate that is missing.
func makeCerts(l layout, builders int) error {
	d := pki.Dir{Path: l.pki()}
	if _, err := os.Stat(l.ca()); errors.Is(err, os.ErrNotExist) {
		if _, err := d.Init(pki.Request{Role: pki.RoleCA, Name: "kojigo demo CA"}); err != nil {
			return fmt.Errorf("make ca: %w", err)
		}
	}
	reqs := []struct {
		file string
		req  pki.Request
	}{
		{"hub", pki.Request{Role: pki.RoleHub, Name: "localhost", DNSNames: []string{"localhost"},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}}},
		{KojiraUser, pki.Request{Role: pki.RoleKojira, Name: KojiraUser}},
		{AdminUser, pki.Request{Role: pki.RoleUser, Name: AdminUser}},
	}
	for i := 1; i <= builders; i++ {
		n := builderName(i)
		reqs = append(reqs, struct {
			file string
			req  pki.Request
		}{n, pki.Request{Role: pki.RoleHost, Name: n}})
	}
	for _, r := range reqs {
		if _, err := os.Stat(filepath.Join(l.pki(), r.file+".crt")); err == nil {
			continue
		}
		if _, err := d.Issue(r.req, r.file); err != nil {
			return fmt.Errorf("issue %s certificate: %w", r.file, err)
		}
	}
	return nil
}

// prepareDB migrates the database and makes the admin and kojira users.
func prepareDB(ctx context.Context, l layout) error {
	s, err := db.Open(ctx, l.dsn(), db.Options{})
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	for _, u := range []struct{ name, perm string }{{AdminUser, "admin"}, {KojiraUser, "repo"}} {
		if err := ensureUser(ctx, s, u.name, u.perm); err != nil {
			return err
		}
	}
	return nil
}

func ensureUser(ctx context.Context, s *db.Store, name, perm string) error {
	u, err := s.GetUserByName(ctx, name)
	switch {
	case errors.Is(err, db.ErrNotFound):
		id, err := s.CreateUser(ctx, db.User{Name: name})
		if err != nil {
			return fmt.Errorf("create user %s: %w", name, err)
		}
		u.ID = id
	case err != nil:
		return fmt.Errorf("user %s: %w", name, err)
	}
	have, err := s.UserPerms(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("permissions of %s: %w", name, err)
	}
	for _, h := range have {
		if h == perm {
			return nil
		}
	}
	p, err := s.GetPermByName(ctx, perm)
	if err != nil {
		return fmt.Errorf("permission %s: %w", perm, err)
	}
	if err := s.GrantPerm(ctx, u.ID, p.ID, nil); err != nil {
		return fmt.Errorf("grant %s to %s: %w", perm, name, err)
	}
	return nil
}

// hubConf is the hub's hub.conf.
func hubConf(l layout, listen string) string {
	return fmt.Sprintf(`# written by kojictl demo; rewritten at each start
[hub]
DB = %s
KojiDir = %s
Listen = %s
TLSCert = %s
TLSKey = %s
TLSClientCA = %s
# a builder stopped by Ctrl-C hands its tasks back; one that was killed
# loses them after a minute instead of Koji's 15
HostTimeout = 60
ReadyTimeout = 30
RunInterval = 5
LogLevel = info
# the stock Koji web UI logs users in with a certificate made by
# kojictl certs web --dir DIR/pki (README: Koji Web)
ProxyDNs = CN=kojiweb
`, l.dsn(), l.topdir(), listen, filepath.Join(l.pki(), "hub.crt"), filepath.Join(l.pki(), "hub.key"), l.ca())
}

// kojidConf is builder name's kojid.conf.
func kojidConf(l layout, name, hubURL string, minspaceMB int64) string {
	b := l.builder(name)
	return fmt.Sprintf(`# written by kojictl demo; rewritten at each start
[kojid]
server = %s/kojihub
topurl = %s/kojifiles
topdir = %s
workdir = %s
mockdir = %s
hostname = %s
cert = %s
serverca = %s
; rpmbuild in a private tree: no mock chroot to set up
use_mock = no
minspace = %d
maxjobs = 2
sleeptime = 2
; the demo shares its machine: do not refuse work for load
maxload = 0
`, hubURL, hubURL, l.topdir(), filepath.Join(b, "work"), filepath.Join(b, "mock"), name, l.pem(name), l.ca(), minspaceMB)
}

// kojiraSleep is kojira's sleeptime in the demo: a repo request becomes a
// newRepo task within two seconds (Koji's default is 15).
const kojiraSleep = 2 * time.Second

// kojiraConf is kojira's kojira.conf: the demo's kojira user, a pass every
// kojiraSleep.
func kojiraConf(l layout, hubURL string) string {
	return fmt.Sprintf(`# written by kojictl demo; rewritten at each start
[kojira]
server = %s/kojihub
topdir = %s
cert = %s
serverca = %s
; the demo is quick: a pass every %d s (Koji: 15)
sleeptime = %d
`, hubURL, l.topdir(), l.pem(KojiraUser), l.ca(), int(kojiraSleep/time.Second), int(kojiraSleep/time.Second))
}

// clientConf is the operator's koji client profile.
func clientConf(l layout, hubURL string) string {
	return fmt.Sprintf(`# written by kojictl demo; rewritten at each start
# kojictl -p %[1]s --config %[2]s list-hosts
# koji -p %[1]s -c %[2]s list-hosts      (the stock koji CLI)
[%[1]s]
server = %[3]s/kojihub
topurl = %[3]s/kojifiles
topdir = %[4]s
authtype = ssl
cert = %[5]s
serverca = %[6]s
`, ProfileName, l.clientConf(), hubURL, l.topdir(), l.pem(AdminUser), l.ca())
}

// nativeArch is the RPM arch of this machine, for the build tag.
func nativeArch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "arm":
		return "armv7hl"
	case "386":
		return "i686"
	case "ppc64le", "s390x", "riscv64":
		return goarch
	}
	return goarch
}

// minspaceMB is the builders' minspace: 100 MB, or less when the disk has
// less free, so that a small disk still shows ready builders.
func minspaceMB(free int64) int64 {
	const want = 100
	mb := free / (1 << 20)
	if mb <= 0 {
		return 1
	}
	if mb < 2*want {
		return mb / 2
	}
	return want
}
