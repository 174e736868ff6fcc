package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kojigo/internal/kojiclient"
	"kojigo/internal/rpmhdr"
	"kojigo/internal/testenv"
)

// gpgKey is a signing key made for a test in its own GNUPGHOME.
type gpgKey struct {
	home   string // GNUPGHOME
	name   string // the user id rpmsign's _gpg_name names
	keyID  string // Koji's sigkey: the last 8 hex digits of the key ID, lowercase
	public string // armored public key file
}

// newGPGKey makes an RSA signing key without a passphrase.
func newGPGKey(t *testing.T) gpgKey {
	t.Helper()
	gpg := testenv.NeedTool(t, "gpg")
	// gpg-agent's socket path must stay short: keep GNUPGHOME out of
	// deep test directories.
	home, err := os.MkdirTemp("", "kojigo-gpg-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(home, 0o700)
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run()
		os.RemoveAll(home)
	})
	k := gpgKey{home: home, name: "kojigo e2e <e2e@example.org>", public: filepath.Join(home, "pub.asc")}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(gpg, append([]string{"--batch", "--homedir", home}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gpg %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("--passphrase", "", "--quick-gen-key", k.name, "rsa2048", "sign", "never")
	for _, line := range strings.Split(run("--with-colons", "--list-keys", k.name), "\n") {
		if f := strings.Split(line, ":"); len(f) > 4 && f[0] == "pub" && len(f[4]) == 16 {
			k.keyID = strings.ToLower(f[4][8:])
		}
	}
	if k.keyID == "" {
		t.Fatal("gpg --list-keys shows no key id")
	}
	if err := os.WriteFile(k.public, []byte(run("--armor", "--export", k.name)), 0o644); err != nil {
		t.Fatal(err)
	}
	return k
}

// sign signs a copy of an RPM with rpmsign, as a signing server would, and
// returns the copy.
func (k gpgKey) sign(t *testing.T, rpm string) string {
	t.Helper()
	rpmsign := testenv.NeedTool(t, "rpmsign")
	gpg, _ := exec.LookPath("gpg")
	out := filepath.Join(t.TempDir(), filepath.Base(rpm))
	b, err := os.ReadFile(rpm)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(out, b, 0o644)
	cmd := exec.Command(rpmsign, "--addsign", "--define", "_gpg_name "+k.name, "--define", "_gpg_path "+k.home, "--define", "__gpg "+gpg, out)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+k.home)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rpmsign --addsign: %v\n%s", err, b)
	}
	return out
}

// rpmCheck runs rpm -K requiring digests and signatures, with only the
// given public key trusted, and returns its output and error.
func rpmCheck(t *testing.T, pubkey string, files ...string) (string, error) {
	t.Helper()
	testenv.NeedTool(t, "rpmkeys")
	dbpath := t.TempDir()
	if out, err := exec.Command("rpmkeys", "--dbpath", dbpath, "--import", pubkey).CombinedOutput(); err != nil {
		t.Fatalf("rpmkeys --import: %v\n%s", err, out)
	}
	out, err := exec.Command("rpm", append([]string{"--dbpath", dbpath, "-K", "--define", "_pkgverify_level all"}, files...)...).CombinedOutput()
	return string(out), err
}

// stockKoji returns a function running Koji's own CLI against url as
// kojiadmin, or nil when KOJI_STOCK_CLI is not set.
func stockKoji(t *testing.T, url, topdir string) func(dir string, args ...string) (string, error) {
	t.Helper()
	src := os.Getenv("KOJI_STOCK_CLI")
	if src == "" {
		return nil
	}
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("KOJI_STOCK_CLI set but /usr/bin/python3 is missing")
	}
	conf := filepath.Join(t.TempDir(), "koji.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("[koji]\nserver = %s\ntopdir = %s\ntopurl = %s\nauthtype = password\n", url, topdir, strings.TrimSuffix(url, "/kojihub")+"/kojifiles")), 0o600)
	return func(dir string, args ...string) (string, error) {
		cmd := exec.Command(py, append([]string{filepath.Join(src, "cli", "koji"), "-c", conf, "--user", "kojiadmin", "--password", "adminpw"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PYTHONPATH="+src)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
}

// TestSigningEndToEnd builds a package on a farm, signs a copy with a key
// made for the test (gpg, rpmsign), imports its signature header
// (addRPMSig, or the stock CLI's import-sig when KOJI_STOCK_CLI is set),
// has the hub write the signed copy (writeSignedRPM), and checks it with
// rpm -K against that key only; the unsigned original fails the same
// check. With KOJI_STOCK_CLI, list-signed lists the copy. An RPM built
// outside the farm is imported, the tag cloned and the import moved
// (importCloneMove), another is imported by a content generator
// (cgImportEndToEnd), and the dist repo of the tag is read by dnf with
// gpgcheck=1 (distRepoWithDNF).
func TestSigningEndToEnd(t *testing.T) {
	testenv.NeedTool(t, "rpmsign")
	testenv.NeedTool(t, "gpg")
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			bf := newBuildFarm(t, backend)
			ctx := context.Background()
			key := newGPGKey(t)
			for _, task := range []int64{bf.submit(t, srpm(t, sample("hello")), nil), bf.submit(t, srpm(t, sample("noarch")), nil)} {
				if info := bf.wait(t, task, 3*time.Minute); asInt(info["state"]) != 2 {
					res, _ := bf.admin.Call(ctx, "getTaskResult", task)
					t.Fatalf("build task ended in state %v: %v", info["state"], res)
				}
			}
			rinfo, err := bf.admin.Call(ctx, "getRPM", "hello-1.0-1.x86_64", true)
			if err != nil {
				t.Fatal(err)
			}
			rpmID := asInt(asMap(rinfo)["id"])
			stored := filepath.Join(bf.topdir, "packages/hello/1.0/1/x86_64/hello-1.0-1.x86_64.rpm")
			signedByTool := key.sign(t, stored)

			koji := stockKoji(t, bf.url, bf.topdir)
			if koji != nil {
				out, err := koji("", "import-sig", signedByTool)
				if err != nil || !strings.Contains(out, "Importing signature [key "+key.keyID+"]") {
					t.Fatalf("koji import-sig: %v\n%s", err, out)
				}
				t.Logf("koji import-sig:\n%s", out)
			} else {
				f, err := os.Open(signedByTool)
				if err != nil {
					t.Fatal(err)
				}
				fi, _ := f.Stat()
				hdr, err := rpmhdr.SignatureBytes(f, fi.Size())
				f.Close()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := bf.admin.Call(ctx, "addRPMSig", rpmID, base64.StdEncoding.EncodeToString(hdr)); err != nil {
					t.Fatalf("addRPMSig: %v", err)
				}
				if _, err := bf.admin.Call(ctx, "writeSignedRPM", rpmID, key.keyID); err != nil {
					t.Fatalf("writeSignedRPM: %v", err)
				}
			}
			sigs, err := bf.admin.Call(ctx, "queryRPMSigs", rpmID)
			if err != nil || len(asList(sigs)) != 1 || asMap(asList(sigs)[0])["sigkey"] != key.keyID {
				t.Fatalf("queryRPMSigs = %v, %v; want one signature of key %s", sigs, err, key.keyID)
			}
			signed := filepath.Join(bf.topdir, "packages/hello/1.0/1/data/signed", key.keyID, "x86_64/hello-1.0-1.x86_64.rpm")
			if out, err := rpmCheck(t, key.public, signed); err != nil || !strings.Contains(out, "digests signatures OK") {
				t.Fatalf("rpm -K of the hub's signed copy: %v\n%s", err, out)
			}
			if out, err := rpmCheck(t, key.public, stored); err == nil {
				t.Fatalf("rpm -K passes on the unsigned original:\n%s", out)
			}
			a, _ := os.ReadFile(signed)
			b, _ := os.ReadFile(signedByTool)
			if string(a) != string(b) {
				t.Errorf("the hub's signed copy differs from rpmsign's (%d and %d bytes)", len(a), len(b))
			}
			if koji != nil {
				out, err := koji("", "list-signed", "--build", "hello-1.0-1", "--key", key.keyID)
				if err != nil || !strings.Contains(out, signed) {
					t.Errorf("koji list-signed --build hello-1.0-1 --key %s: %v\n%s", key.keyID, err, out)
				}
				t.Logf("koji list-signed:\n%s", out)
				os.Remove(signed)
				if out, err := koji("", "write-signed-rpm", key.keyID, "hello-1.0-1.x86_64"); err != nil {
					t.Errorf("koji write-signed-rpm: %v\n%s", err, out)
				}
				if out, err := rpmCheck(t, key.public, signed); err != nil {
					t.Errorf("rpm -K after koji write-signed-rpm: %v\n%s", err, out)
				}
				dl := t.TempDir()
				if out, err := koji(dl, "download-build", "--arch", "x86_64", "--key", key.keyID, "hello-1.0-1"); err != nil {
					t.Errorf("koji download-build --key: %v\n%s", err, out)
				}
				if out, err := rpmCheck(t, key.public, filepath.Join(dl, "hello-1.0-1.x86_64.rpm")); err != nil {
					t.Errorf("rpm -K of koji download-build --key's file: %v\n%s", err, out)
				}
			}

			importCloneMove(t, bf)
			cgImportEndToEnd(t, bf)
			distRepoWithDNF(t, bf, key, koji)
		})
	}
}

// distRepoWithDNF signs every binary RPM of the tag dist not signed yet,
// makes a dist repo of it with the key (koji dist-repo when the stock CLI
// is there, else distRepo), and installs greeting from it with dnf
// checking signatures against the key. A dist repo of unsigned copies
// (allow_missing_signatures) is refused by dnf.
func distRepoWithDNF(t *testing.T, bf *buildFarm, key gpgKey, koji func(string, ...string) (string, error)) {
	t.Helper()
	ctx := context.Background()
	dnf := testenv.NeedTool(t, "dnf")
	v, err := bf.admin.Call(ctx, "listTaggedRPMS", "dist", kojiclient.Kw{"latest": true, "rpmsigs": true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range asList(asList(v)[0]) {
		rm := asMap(r)
		if rm["arch"] == "src" || rm["sigkey"] == key.keyID {
			continue
		}
		b, _ := bf.admin.Call(ctx, "getBuild", rm["build_id"])
		bm := asMap(b)
		file := fmt.Sprintf("%s-%s-%s.%s.rpm", rm["name"], rm["version"], rm["release"], rm["arch"])
		stored := filepath.Join(bf.topdir, "packages", fmt.Sprint(bm["package_name"]), fmt.Sprint(bm["version"]), fmt.Sprint(bm["release"]), fmt.Sprint(rm["arch"]), file)
		f, err := os.Open(key.sign(t, stored))
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		hdr, err := rpmhdr.SignatureBytes(f, fi.Size())
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bf.admin.Call(ctx, "addRPMSig", rm["id"], base64.StdEncoding.EncodeToString(hdr)); err != nil {
			t.Fatalf("addRPMSig %s: %v", file, err)
		}
		if _, err := bf.admin.Call(ctx, "writeSignedRPM", rm["id"], key.keyID); err != nil {
			t.Fatalf("writeSignedRPM %s: %v", file, err)
		}
	}

	distRepo := func(keys []any, opts kojiclient.Kw) map[string]any {
		t.Helper()
		var task int64
		if koji != nil && len(keys) > 0 {
			out, err := koji("", "dist-repo", "--nowait", "--arch", "x86_64", "dist", keys[0].(string))
			if err != nil || !strings.Contains(out, "Creating dist repo for tag dist") {
				t.Fatalf("koji dist-repo: %v\n%s", err, out)
			}
			t.Logf("koji dist-repo:\n%s", out)
			tasks, err := bf.admin.Call(ctx, "listTasks", kojiclient.Kw{"opts": map[string]any{"method": "distRepo"}, "queryOpts": map[string]any{"order": "-id", "limit": 1}})
			if err != nil || len(asList(tasks)) != 1 {
				t.Fatalf("listTasks(distRepo) = %v, %v", tasks, err)
			}
			task = asInt(asMap(asList(tasks)[0])["id"])
		} else {
			opts["arch"] = []any{"x86_64"}
			v, err := bf.admin.Call(ctx, "distRepo", "dist", keys, opts)
			if err != nil {
				t.Fatalf("distRepo: %v", err)
			}
			task = asInt(v)
		}
		if info := bf.wait(t, task, 3*time.Minute); asInt(info["state"]) != 2 {
			res, _ := bf.admin.Call(ctx, "getTaskResult", task)
			t.Fatalf("distRepo task ended in state %v: %v", info["state"], res)
		}
		req, _ := bf.admin.Call(ctx, "getTaskRequest", task)
		rinfo, err := bf.admin.Call(ctx, "repoInfo", asList(req)[1])
		if err != nil || asMap(rinfo)["dist"] != true || asInt(asMap(rinfo)["state"]) != 1 {
			t.Fatalf("repoInfo of the dist repo = %v, %v", rinfo, err)
		}
		return asMap(rinfo)
	}
	install := func(repo map[string]any) (string, error) {
		dir := filepath.Join(bf.topdir, "repos-dist", "dist", fmt.Sprint(repo["id"]), "x86_64")
		root := t.TempDir()
		cmd := exec.Command(dnf, "-y", "--disableplugin=*", "--setopt=reposdir=/dev/null", "--installroot", root,
			"--setopt=cachedir="+filepath.Join(root, "cache"), "--releasever=40", "--repofrompath=d,file://"+dir, "--repo=d",
			"--setopt=d.gpgcheck=1", "--setopt=d.gpgkey=file://"+key.public, "install", "greeting")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	signed := distRepo([]any{key.keyID}, kojiclient.Kw{})
	dir := filepath.Join(bf.topdir, "repos-dist", "dist", fmt.Sprint(signed["id"]), "x86_64")
	if listed := dnfList(t, dnf, dir); !strings.Contains(listed, "\nhello.x86_64") || !strings.Contains(listed, "\ngreeting.noarch") {
		t.Errorf("dnf list of the dist repo lacks hello or greeting:\n%s", listed)
	}
	if out, err := rpmCheck(t, key.public, filepath.Join(dir, "Packages/h/hello-1.0-1.x86_64.rpm")); err != nil {
		t.Errorf("rpm -K of the dist repo's hello: %v\n%s", err, out)
	}
	if out, err := install(signed); err != nil {
		t.Fatalf("dnf install greeting with gpgcheck=1 from the dist repo: %v\n%s", err, out)
	}
	unsigned := distRepo([]any{}, kojiclient.Kw{"allow_missing_signatures": true})
	if out, err := install(unsigned); err == nil || !strings.Contains(out, "is not signed") {
		t.Errorf("dnf with gpgcheck=1 from a dist repo of unsigned copies: %v, want a refusal of the unsigned package:\n%s", err, out)
	}
}
