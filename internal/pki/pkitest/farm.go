package pkitest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"kojigo/internal/pki"
)

// Farm is a CA in a temporary directory and helpers to write certificates.
type Farm struct {
	t      testing.TB
	Dir    string
	CA     *pki.CA
	CAFile string
	Now    time.Time
}

// Files are the paths of one written certificate.
type Files struct {
	Cert string // NAME.crt
	Key  string // NAME.key
	PEM  string // NAME.pem: certificate and key, Koji's client layout
}

// NewFarm makes a CA named name (default "kojigo CA test") in a new
// temporary directory.
func NewFarm(t testing.TB, name string) *Farm {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	w, err := pki.Dir{Path: dir}.Init(pki.Request{Name: name, Now: now})
	if err != nil {
		t.Fatalf("init farm: %v", err)
	}
	return &Farm{t: t, Dir: dir, CA: &pki.CA{KeyPair: *w.Pair}, CAFile: w.CertFile, Now: now}
}

// Issue issues req from the farm's CA and writes it as file.{crt,key,pem}.
func (f *Farm) Issue(file string, req pki.Request) Files {
	f.t.Helper()
	if req.Now.IsZero() {
		req.Now = f.Now
	}
	kp, err := f.CA.Issue(req)
	if err != nil {
		f.t.Fatalf("issue %s: %v", file, err)
	}
	return f.Write(file, kp)
}

// SelfSigned writes a self-signed certificate for req as file.{crt,key,pem}.
func (f *Farm) SelfSigned(file string, req pki.Request) Files {
	f.t.Helper()
	kp, err := pki.SelfSigned(req)
	if err != nil {
		f.t.Fatalf("self-signed %s: %v", file, err)
	}
	return f.Write(file, kp)
}

// Write stores kp as file.crt (0644), file.key (0600) and file.pem (0600).
func (f *Farm) Write(file string, kp *pki.KeyPair) Files {
	f.t.Helper()
	base := filepath.Join(f.Dir, file)
	key, err := kp.KeyPEM()
	if err != nil {
		f.t.Fatal(err)
	}
	fs := Files{Cert: base + ".crt", Key: base + ".key", PEM: base + ".pem"}
	WriteFile(f.t, fs.Cert, kp.CertPEM(), 0o644)
	WriteFile(f.t, fs.Key, key, 0o600)
	WriteFile(f.t, fs.PEM, append(kp.CertPEM(), key...), 0o600)
	return fs
}

// WriteFile writes data to path with perm, failing the test on error.
func WriteFile(t testing.TB, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
}

// Reissue issues req as Issue does but replaces file.pem in one rename, so
// that a client reading it meanwhile sees the old file or the new one,
// never a part; it returns the path of file.pem.
func (f *Farm) Reissue(file string, req pki.Request) string {
	f.t.Helper()
	fs := f.Issue(file+".new", req)
	pem := filepath.Join(f.Dir, file+".pem")
	if err := os.Rename(fs.PEM, pem); err != nil {
		f.t.Fatal(err)
	}
	return pem
}
