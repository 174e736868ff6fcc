package repogen

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"kojigo/internal/rpmhdr"
	"kojigo/repogen/internal/testrpm"
)

// badPackage writes one kind of broken package into dir and returns its
// name and the error it must produce.
type badPackage struct {
	name  string
	write func(t *testing.T, dir string, good []byte) string
	want  error
}

func badPackages() []badPackage {
	put := func(t *testing.T, dir, name string, b []byte) string {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return name
	}
	return []badPackage{
		{"truncated", func(t *testing.T, dir string, good []byte) string {
			return put(t, dir, "truncated-1-1.x86_64.rpm", good[:len(good)/3])
		}, rpmhdr.ErrTruncated},
		{"cut inside the payload", func(t *testing.T, dir string, good []byte) string {
			return put(t, dir, "cutpayload-1-1.x86_64.rpm", good[:len(good)-10])
		}, rpmhdr.ErrTruncated},
		{"bytes after the payload", func(t *testing.T, dir string, good []byte) string {
			return put(t, dir, "appended-1-1.x86_64.rpm", append(bytes.Clone(good), "junk"...))
		}, rpmhdr.ErrCorrupt},
		{"not an rpm", func(t *testing.T, dir string, good []byte) string {
			return put(t, dir, "notes-1-1.noarch.rpm", []byte(strings.Repeat("just some text\n", 20)))
		}, rpmhdr.ErrNotRPM},
		{"empty file", func(t *testing.T, dir string, good []byte) string {
			return put(t, dir, "empty-1-1.noarch.rpm", nil)
		}, rpmhdr.ErrNotRPM},
		{"absurd header size", func(t *testing.T, dir string, good []byte) string {
			b := bytes.Clone(good)
			binary.BigEndian.PutUint32(b[96+12:], 0x7ffffff0) // signature data size
			return put(t, dir, "absurd-1-1.x86_64.rpm", b)
		}, rpmhdr.ErrTooLarge},
		{"header larger than file", func(t *testing.T, dir string, good []byte) string {
			b := bytes.Clone(good)
			binary.BigEndian.PutUint32(b[96+12:], 1<<20)
			return put(t, dir, "short-1-1.x86_64.rpm", b)
		}, rpmhdr.ErrTruncated},
		{"fifo", func(t *testing.T, dir string, good []byte) string {
			if err := syscall.Mkfifo(filepath.Join(dir, "fifo-1-1.noarch.rpm"), 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			return "fifo-1-1.noarch.rpm"
		}, ErrNotRegular},
		{"dangling symlink", func(t *testing.T, dir string, good []byte) string {
			if err := os.Symlink("/nonexistent/x.rpm", filepath.Join(dir, "gone-1-1.noarch.rpm")); err != nil {
				t.Fatal(err)
			}
			return "gone-1-1.noarch.rpm"
		}, fs.ErrNotExist},
		{"unreadable", func(t *testing.T, dir string, good []byte) string {
			name := "secret-1-1.noarch.rpm"
			if os.Geteuid() != 0 {
				put(t, dir, name, good)
				if err := os.Chmod(filepath.Join(dir, name), 0); err != nil {
					t.Fatal(err)
				}
				return name
			}
			// root reads any file; /proc/self/mem is a regular file whose
			// first page cannot be read.
			if _, err := os.Stat("/proc/self/mem"); err != nil {
				t.Skip("running as root without /proc/self/mem")
			}
			if err := os.Symlink("/proc/self/mem", filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			return name
		}, nil},
		{"control character in name", func(t *testing.T, dir string, good []byte) string {
			s := testrpm.Corpus(1, 9)[0]
			s.Name = "bad\x01name"
			b, err := testrpm.Build(s)
			if err != nil {
				t.Fatal(err)
			}
			return put(t, dir, "ctl-1-1.x86_64.rpm", b)
		}, errBadHeaderData},
		{"non-character in description", func(t *testing.T, dir string, good []byte) string {
			s := testrpm.Corpus(1, 9)[0]
			s.Description = "fine text \uFFFE then not"
			b, err := testrpm.Build(s)
			if err != nil {
				t.Fatal(err)
			}
			return put(t, dir, "nonchar-1-1.x86_64.rpm", b)
		}, errBadHeaderData},
	}
}

func TestBadPackageFailsRunAndKeepsPreviousRepodata(t *testing.T) {
	good := corpusDir(t, 12)
	raw, err := os.ReadFile(filepath.Join(good, testrpm.Corpus(1, 1)[0].FileName()))
	if err != nil {
		t.Fatal(err)
	}
	for _, bp := range badPackages() {
		t.Run(bp.name, func(t *testing.T) {
			dir := copyDir(t, good)
			generate(t, Options{BaseDir: dir})
			before := metadata(t, dir, "primary")
			_, beforeMD := readRepomd(t, dir)
			name := bp.write(t, dir, raw)

			_, err := Generate(context.Background(), Options{BaseDir: dir, Workers: 2})
			var perr *PackageError
			if !errors.As(err, &perr) {
				t.Fatalf("Generate = %v, want a *PackageError", err)
			}
			if perr.Path != name || !strings.Contains(err.Error(), name) {
				t.Errorf("error %q names %q, want %q", err, perr.Path, name)
			}
			if bp.want != nil && !errors.Is(err, bp.want) {
				t.Errorf("Generate = %v, want errors.Is %v", err, bp.want)
			}
			if after := metadata(t, dir, "primary"); !bytes.Equal(before, after) {
				t.Error("a failed run changed the published primary.xml")
			}
			if _, afterMD := readRepomd(t, dir); afterMD["primary"] != beforeMD["primary"] {
				t.Error("a failed run changed repomd.xml")
			}
			assertNoLeftovers(t, dir)
		})
	}
}

func TestBadPackageSkipped(t *testing.T) {
	good := corpusDir(t, 12)
	want := fullRun(t, good)
	raw, err := os.ReadFile(filepath.Join(good, testrpm.Corpus(1, 1)[0].FileName()))
	if err != nil {
		t.Fatal(err)
	}
	dir := copyDir(t, good)
	bad := map[string]bool{}
	for _, bp := range badPackages() {
		if bp.name == "fifo" || bp.name == "unreadable" {
			continue // covered above; they need special handling to clean up
		}
		bad[bp.write(t, dir, raw)] = true
	}
	res, err := Generate(context.Background(), Options{BaseDir: dir, SkipBad: true, Workers: 3})
	if err != nil {
		t.Fatalf("Generate with SkipBad = %v", err)
	}
	if res.Packages != 12 || len(res.Skipped) != len(bad) {
		t.Errorf("%d packages, %d skipped; want 12, %d", res.Packages, len(res.Skipped), len(bad))
	}
	for _, s := range res.Skipped {
		if !bad[s.Path] {
			t.Errorf("skipped %s, which is not a bad package", s.Path)
		}
		delete(bad, s.Path)
	}
	if len(bad) > 0 {
		t.Errorf("bad packages not named: %v", bad)
	}
	// The package counts announced in the files were corrected.
	sameMetadata(t, dir, want)
}

func assertNoLeftovers(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) || strings.HasPrefix(e.Name(), oldPrefix) || e.Name() == lockName {
			t.Errorf("leftover %s in %s", e.Name(), dir)
		}
	}
}

func TestPackageListErrors(t *testing.T) {
	dir := corpusDir(t, 3)
	tests := []struct {
		name string
		list []string
		want error
	}{
		{"missing file", []string{"nothere-1-1.x86_64.rpm"}, fs.ErrNotExist},
		{"leaves the directory", []string{"../x.rpm"}, ErrInvalidOptions},
		{"absolute path", []string{"/etc/passwd"}, ErrInvalidOptions},
		{"empty path", []string{""}, ErrInvalidOptions},
		{"NUL byte", []string{"a\x00b.rpm"}, ErrInvalidOptions},
		{"a directory", []string{"."}, ErrNotRegular},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Generate(context.Background(), Options{BaseDir: dir, Packages: tt.list, OutputDir: t.TempDir()})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Generate(%q) = %v, want %v", tt.list, err, tt.want)
			}
		})
	}
}

func TestEmptyAndDuplicateLists(t *testing.T) {
	dir := corpusDir(t, 3)
	out := t.TempDir()
	res := generate(t, Options{BaseDir: dir, Packages: []string{}, OutputDir: out})
	if res.Packages != 0 {
		t.Errorf("empty list: %d packages", res.Packages)
	}
	if got := string(metadata(t, out, "primary")); !strings.Contains(got, `packages="0"`) {
		t.Errorf("empty primary.xml = %q", got)
	}
	names := []string{}
	for _, s := range testrpm.Corpus(3, 1) {
		names = append(names, s.FileName(), "./"+s.FileName())
	}
	res = generate(t, Options{BaseDir: dir, Packages: names, OutputDir: t.TempDir()})
	if res.Packages != 3 || res.Duplicates != 3 {
		t.Errorf("duplicated list: %d packages, %d duplicates; want 3, 3", res.Packages, res.Duplicates)
	}
}

func TestReadPkglist(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		bad      bool
	}{
		{"plain", "a.rpm\nsub/b.rpm\n", []string{"a.rpm", "sub/b.rpm"}, false},
		{"blank and comments", "\n# comment\n  a.rpm  \n\n", []string{"a.rpm"}, false},
		{"empty", "", nil, false},
		{"escaping path", "a.rpm\n../../etc/shadow\n", nil, true},
		{"absolute", "/etc/shadow\n", nil, true},
		{"overlong line", strings.Repeat("x", 70000) + "\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadPkglist(strings.NewReader(tt.in))
			if (err != nil) != tt.bad {
				t.Fatalf("ReadPkglist(%.20q) error = %v, want error %v", tt.in, err, tt.bad)
			}
			if !tt.bad && strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("ReadPkglist(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestAllBadPackagesNamed checks that a failing run names every bad package,
// not only the first, so that one run tells the operator all to fix.
func TestAllBadPackagesNamed(t *testing.T) {
	good := corpusDir(t, 12)
	raw, err := os.ReadFile(filepath.Join(good, testrpm.Corpus(1, 1)[0].FileName()))
	if err != nil {
		t.Fatal(err)
	}
	dir := copyDir(t, good)
	want := map[string]error{}
	for _, bp := range badPackages() {
		switch bp.name {
		case "fifo", "unreadable", "dangling symlink":
			continue
		}
		want[bp.write(t, dir, raw)] = bp.want
	}
	_, err = Generate(context.Background(), Options{BaseDir: dir, Workers: 3})
	var bad *BadPackagesError
	if !errors.As(err, &bad) {
		t.Fatalf("Generate = %v, want a *BadPackagesError", err)
	}
	if bad.Count != len(want) || len(bad.Packages) != len(want) {
		t.Fatalf("BadPackagesError counts %d and names %d packages, want %d:\n%v", bad.Count, len(bad.Packages), len(want), err)
	}
	for _, p := range bad.Packages {
		w, ok := want[p.Path]
		if !ok {
			t.Errorf("named %s, which is not bad", p.Path)
			continue
		}
		if !strings.Contains(err.Error(), p.Path) {
			t.Errorf("error text does not name %s", p.Path)
		}
		if w != nil && !errors.Is(p, w) {
			t.Errorf("%s: %v, want errors.Is %v", p.Path, p.Err, w)
		}
		delete(want, p.Path)
	}
	if len(want) > 0 {
		t.Errorf("not named: %v", want)
	}
	if !errors.Is(err, rpmhdr.ErrNotRPM) {
		t.Error("errors.Is does not see through BadPackagesError")
	}
	if _, err := os.Stat(filepath.Join(dir, "repodata")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed run published repodata (stat: %v)", err)
	}
	assertNoLeftovers(t, dir)
}

// TestBadPackagesBounded checks that the error names at most
// MaxNamedBadPackages packages and counts the rest.
func TestBadPackagesBounded(t *testing.T) {
	dir := corpusDir(t, 2)
	const n = MaxNamedBadPackages + 7
	for i := range n {
		name := filepath.Join(dir, fmt.Sprintf("junk-%03d.rpm", i))
		if err := os.WriteFile(name, []byte("not an rpm"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Generate(context.Background(), Options{BaseDir: dir, Workers: 2})
	var bad *BadPackagesError
	if !errors.As(err, &bad) {
		t.Fatalf("Generate = %v, want a *BadPackagesError", err)
	}
	if bad.Count != n || len(bad.Packages) != MaxNamedBadPackages {
		t.Errorf("Count %d, %d named; want %d, %d", bad.Count, len(bad.Packages), n, MaxNamedBadPackages)
	}
	if bad.Packages[0].Path != "junk-000.rpm" {
		t.Errorf("first named %s, want junk-000.rpm (package order)", bad.Packages[0].Path)
	}
	msg := err.Error()
	if !strings.Contains(msg, "107 packages cannot be read") || !strings.HasSuffix(msg, "... and 7 more") {
		t.Errorf("error text:\n%s", msg)
	}
	if lines := strings.Count(msg, "\n"); lines != MaxNamedBadPackages+1 {
		t.Errorf("error has %d lines, want %d", lines+1, MaxNamedBadPackages+2)
	}
}
