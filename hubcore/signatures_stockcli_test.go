package hubcore

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kojigo/internal/testenv"
)

// TestStockCLISignatures runs Koji 1.35's own CLI (KOJI_STOCK_CLI, as
// TestStockCLIPolicyDenials) against the hub on both backends: import-sig
// of a package signed with rpmsign by a key made for the test, list-signed,
// write-signed-rpm and remove-sig, and checks the signed copy with rpm -K.
// Skipped without KOJI_STOCK_CLI; needs gpg, rpmsign and rpmkeys.
func TestStockCLISignatures(t *testing.T) {
	cli := needStockCLI(t)
	gpg := testenv.NeedTool(t, "gpg")
	rpmsign := testenv.NeedTool(t, "rpmsign")
	testenv.NeedTool(t, "rpmkeys")

	// A key without a passphrase, in a short GNUPGHOME (gpg-agent's socket).
	home, err := os.MkdirTemp("", "kojigo-gpg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run(); os.RemoveAll(home) })
	gpgRun := func(args ...string) string {
		out, err := exec.Command(gpg, append([]string{"--batch", "--homedir", home}, args...)...).Output()
		if err != nil {
			t.Fatalf("gpg %v: %v", args, err)
		}
		return string(out)
	}
	const uid = "kojigo test <test@example.org>"
	gpgRun("--passphrase", "", "--quick-gen-key", uid, "rsa2048", "sign", "never")
	var keyID string
	for _, line := range strings.Split(gpgRun("--with-colons", "--list-keys", uid), "\n") {
		if f := strings.Split(line, ":"); len(f) > 4 && f[0] == "pub" && len(f[4]) == 16 {
			keyID = strings.ToLower(f[4][8:])
		}
	}
	pub := filepath.Join(home, "pub.asc")
	os.WriteFile(pub, []byte(gpgRun("--armor", "--export", uid)), 0o644)
	rpmdb := t.TempDir()
	if out, err := exec.Command("rpmkeys", "--dbpath", rpmdb, "--import", pub).CombinedOutput(); err != nil {
		t.Fatalf("rpmkeys --import: %v\n%s", err, out)
	}

	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			th := newTestHub(t, backend, nil)
			top := th.hub.cfg.TopDir
			admin := th.login(th.ensureAdmin(), "adminpw")
			importFoo(t, th, admin)

			signedByTool := filepath.Join(t.TempDir(), "foo-1.0-1.x86_64.rpm")
			b, _ := os.ReadFile(filepath.Join(top, "packages/foo/1.0/1/x86_64/foo-1.0-1.x86_64.rpm"))
			os.WriteFile(signedByTool, b, 0o644)
			cmd := exec.Command(rpmsign, "--addsign", "--define", "_gpg_name "+uid, "--define", "_gpg_path "+home, "--define", "__gpg "+gpg, signedByTool)
			cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("rpmsign: %v\n%s", err, out)
			}

			run, _ := cli.client(t, th.url, []string{"topdir = " + top})
			koji := func(args ...string) (string, error) { return run("kojiadmin", "adminpw", args...) }
			expect := func(wantErr bool, want string, args ...string) {
				t.Helper()
				out, err := koji(args...)
				if (err != nil) != wantErr || !strings.Contains(out, want) {
					t.Errorf("koji %s: %v\n%s\nwant error=%v and %q", strings.Join(args, " "), err, out, wantErr, want)
				}
			}
			signed := filepath.Join(top, "packages/foo/1.0/1/data/signed", keyID, "x86_64/foo-1.0-1.x86_64.rpm")

			expect(false, "Importing signature [key "+keyID+"] from "+signedByTool+"...\nWriting signed copy", "import-sig", signedByTool)
			expect(false, "Signature already imported: "+signedByTool, "import-sig", signedByTool)
			expect(false, signed, "list-signed", "--rpm", "foo-1.0-1.x86_64")
			expect(false, signed, "list-signed", "--build", "foo-1.0-1", "--key", strings.ToUpper(keyID))
			if out, err := exec.Command("rpm", "--dbpath", rpmdb, "-K", "--define", "_pkgverify_level all", signed).CombinedOutput(); err != nil || !strings.Contains(string(out), "digests signatures OK") {
				t.Errorf("rpm -K %s: %v\n%s", signed, err, out)
			}
			os.Remove(signed)
			expect(false, "[1/1] foo-1.0-1.x86_64", "write-signed-rpm", keyID, "foo-1.0-1.x86_64")
			if _, err := os.Stat(signed); err != nil {
				t.Errorf("write-signed-rpm wrote no copy: %v", err)
			}
			expect(true, "No such rpm in system: nosuch-1-1.x86_64", "remove-sig", "--all", "nosuch-1-1.x86_64")
			expect(true, "Signature removal failed: foo-1.0-1.x86_64 has no matching signatures to delete", "remove-sig", "--sigkey", "cafef00d", "foo-1.0-1.x86_64")
			expect(false, "", "remove-sig", "--sigkey", keyID, "foo-1.0-1.x86_64")
			if out, _ := koji("list-signed", "--rpm", "foo-1.0-1.x86_64"); strings.Contains(out, signed) {
				t.Errorf("list-signed after remove-sig:\n%s", out)
			}
			if _, err := os.Stat(signed); !os.IsNotExist(err) {
				t.Errorf("signed copy left after remove-sig: %v", err)
			}
		})
	}
}
