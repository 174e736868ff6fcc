package hubcore

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/rpmpack"

	"kojigo/db"
	"kojigo/internal/kojixml"
	"kojigo/internal/rpmhdr"
	"kojigo/internal/testenv"
)

// rpmBytes builds a small RPM with rpmpack: a source RPM when sourceRPM is
// "", else a binary one of that source; with the PAYLOADDIGEST header when
// a payload digest is given.
func rpmBytes(t *testing.T, name, version, release, arch, sourceRPM string, payloadDigest ...string) []byte {
	t.Helper()
	r, err := rpmpack.NewRPM(rpmpack.RPMMetaData{Name: name, Version: version, Release: release, Arch: arch,
		Summary: "test package", Licence: "MIT", BuildTime: time.Unix(1700000000, 0), Compressor: "gzip"})
	if err != nil {
		t.Fatal(err)
	}
	r.AddFile(rpmpack.RPMFile{Name: "/usr/share/" + name + "/README", Body: bytes.Repeat([]byte("hello from "+name+"\n"), 200), Mode: 0o100644})
	if sourceRPM == "" {
		r.AddCustomTag(rpmhdr.TagSourcePackage, rpmpack.EntryInt32([]int32{1}))
	} else {
		r.AddCustomTag(rpmhdr.TagSourceRPM, rpmpack.EntryString(sourceRPM))
	}
	if len(payloadDigest) == 1 {
		r.AddCustomTag(tagPayloadDigest, rpmpack.EntryStringSlice(payloadDigest))
		r.AddCustomTag(tagPayloadDigestAlgo, rpmpack.EntryUint32([]uint32{pgpHashSHA256}))
	}
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// upload sends a file as `koji import` does (raw upload into dir) and
// returns dir.
func (c *client) upload(t *testing.T, dir, name string, body []byte) string {
	t.Helper()
	c.mustRaw(t, upq(dir, name, 0, "adler32", false), body)
	return dir
}

func TestCreateEmptyBuild(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		aliceID := th.addUser("alice", "pw")
		alice := th.login("alice", "pw")

		th.anon().fault(kojixml.AuthError, "createEmptyBuild", "foo", "1", "1", nil)
		alice.fault(kojixml.ActionNotAllowed, "createEmptyBuild", "foo", "1", "1", nil)

		id := admin.must("createEmptyBuild", "foo", "1.0", "1", int64(3)).(int64)
		b := th.anon().must("getBuild", id).(map[string]any)
		if b["nvr"] != "foo-1.0-1" || b["state"] != int64(db.BuildComplete) || b["epoch"] != int64(3) || b["owner_name"] != "kojiadmin" ||
			b["completion_ts"] == nil || b["task_id"] != nil {
			t.Errorf("createEmptyBuild build = %v", b)
		}
		if rpms := th.anon().must("listRPMs", id).([]any); len(rpms) != 0 {
			t.Errorf("empty build has rpms %v", rpms)
		}
		// owner by name, id and struct; epoch None
		for i, owner := range []any{"alice", aliceID, map[string]any{"name": "alice"}} {
			id := admin.must("createEmptyBuild", "bar", "1", itoa(int64(i)), nil, kw{"owner": owner}).(int64)
			b := th.anon().must("getBuild", id).(map[string]any)
			if b["owner_id"] != aliceID || b["epoch"] != nil {
				t.Errorf("createEmptyBuild(owner=%v) = %v", owner, b)
			}
		}
		if f := admin.fault(kojixml.GenericError, "createEmptyBuild", "foo", "1.0", "1", nil); !strings.Contains(f.String, "Build already exists (id=") {
			t.Errorf("duplicate createEmptyBuild = %q", f.String)
		}
		if f := admin.fault(kojixml.GenericError, "createEmptyBuild", "baz", "1", "1", nil, kw{"owner": "nosuch"}); f.String != "No such user: 'nosuch'" {
			t.Errorf("unknown owner = %q", f.String)
		}
		// a failed build with nothing attached is recycled, keeping its id
		if err := th.store.SetBuildState(context.Background(), id, db.BuildFailed); err != nil {
			t.Fatal(err)
		}
		if again := admin.must("createEmptyBuild", "foo", "1.0", "1", nil).(int64); again != id {
			t.Errorf("recycled build id = %d, want %d", again, id)
		}

		long := strings.Repeat("x", 300)
		for _, args := range [][]any{
			{},
			{"foo", "1", "1"},
			{"../etc", "1", "1", nil},
			{"foo", "1/2", "1", nil},
			{"foo", "1", "..", nil},
			{"foo", "1", "a\x00b", nil},
			{"foo", "1-2", "1", nil},
			{"", "1", "1", nil},
			{long, "1", "1", nil},
			{"foo", long, "1", nil},
			{int64(1), "1", "1", nil},
			{"foo", "1", "1", "x"},
			{"foo", "1", "1", int64(-1)},
			{"foo", "1", "1", int64(1) << 40},
			{"foo", "1", "1", nil, nil, "yes"}, // draft must be a boolean
			{"foo", "1", "1", nil, nil, false, "extra"},
			{"foo", "1", "1", nil, kw{"nosuch": 1}},
		} {
			admin.fault(kojixml.ParameterError, "createEmptyBuild", args...)
		}
		if builds := th.anon().must("listBuilds").([]any); len(builds) != 4 {
			t.Errorf("after refused calls: %d builds, want 4", len(builds))
		}
	})
}

func TestImportRPMAndRepo(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		ctx := context.Background()
		top := th.hub.cfg.TopDir
		admin := th.login(th.ensureAdmin(), "adminpw")
		srpm := rpmBytes(t, "foo", "1.0", "1", "x86_64", "")
		bin := rpmBytes(t, "foo", "1.0", "1", "x86_64", "foo-1.0-1.src.rpm")

		// a binary whose build does not exist yet is refused and stays put
		dir := admin.upload(t, "cli-import/1", "foo-1.0-1.x86_64.rpm", bin)
		if f := admin.fault(kojixml.GenericError, "importRPM", dir, "foo-1.0-1.x86_64.rpm"); !strings.Contains(f.String, "No such build: foo-1.0-1") {
			t.Errorf("binary before its build = %q", f.String)
		}
		if fi, err := os.Lstat(filepath.Join(top, "work", dir, "foo-1.0-1.x86_64.rpm")); err != nil || !fi.Mode().IsRegular() {
			t.Fatalf("refused upload moved: %v %v", fi, err)
		}

		// the SRPM creates the build, COMPLETE and owned by the caller
		sdir := admin.upload(t, "cli-import/2", "foo-1.0-1.src.rpm", srpm)
		info := admin.must("importRPM", sdir, "foo-1.0-1.src.rpm").(map[string]any)
		b := info["build"].(map[string]any)
		if info["arch"] != "src" || info["sourcepackage"] != int64(1) || info["size"] != int64(len(srpm)) ||
			info["buildtime"] != int64(1700000000) || info["build_id"] != b["id"] || b["state"] != int64(db.BuildComplete) ||
			b["owner_name"] != "kojiadmin" || b["nvr"] != "foo-1.0-1" || info["external_repo_id"] != int64(0) {
			t.Errorf("importRPM(srpm) = %v", info)
		}
		final := filepath.Join(top, "packages/foo/1.0/1/src/foo-1.0-1.src.rpm")
		if got, err := os.ReadFile(final); err != nil || !bytes.Equal(got, srpm) {
			t.Fatalf("srpm not moved to %s: %v", final, err)
		}
		if l, err := os.Readlink(filepath.Join(top, "work", sdir, "foo-1.0-1.src.rpm")); err != nil || !strings.HasSuffix(l, "packages/foo/1.0/1/src/foo-1.0-1.src.rpm") {
			t.Errorf("work link = %q, %v", l, err)
		}

		// now the binary goes in; its record matches what getRPM says
		info = admin.must("importRPM", dir, "foo-1.0-1.x86_64.rpm").(map[string]any)
		got := th.anon().must("getRPM", "foo-1.0-1.x86_64").(map[string]any)
		if info["id"] != got["id"] || info["payloadhash"] != got["payloadhash"] || got["size"] != int64(len(bin)) || info["sourcerpm"] != "foo-1.0-1.src.rpm" ||
			info["sourcepackage"] != nil || len(got["payloadhash"].(string)) != 32 {
			t.Errorf("importRPM(bin) = %v, getRPM = %v", info, got)
		}
		p, err := rpmhdr.NewReader(rpmhdr.Limits{}).Read(bytes.NewReader(bin), int64(len(bin)))
		if err != nil {
			t.Fatal(err)
		}
		if want := md5.Sum(bin[p.HeaderStart:]); got["payloadhash"] != hex.EncodeToString(want[:]) {
			t.Errorf("payloadhash = %v, want the MD5 of header and payload %x", got["payloadhash"], want)
		}

		// the same RPM again, from another upload
		dup := admin.upload(t, "cli-import/3", "foo-1.0-1.x86_64.rpm", bin)
		if f := admin.fault(kojixml.GenericError, "importRPM", dup, "foo-1.0-1.x86_64.rpm"); !strings.Contains(f.String, "RPM already imported") {
			t.Errorf("second import = %q", f.String)
		}

		// koji import --create-build: an empty build, then its binaries
		admin.must("createEmptyBuild", "bar", "2", "1", nil)
		bdir := admin.upload(t, "cli-import/4", "bar-2-1.noarch.rpm", rpmBytes(t, "bar", "2", "1", "noarch", "bar-2-1.src.rpm"))
		admin.must("importRPM", bdir, "bar-2-1.noarch.rpm")

		// the stock CLI flow goes on with tagBuild, run by a builder
		admin.must("createTag", "dist", kw{"arches": "x86_64"})
		admin.must("packageListAdd", "dist", "foo", kw{"owner": "kojiadmin"})
		admin.must("packageListAdd", "dist", "bar", kw{"owner": "kojiadmin"})
		hc, hostID := th.addHost("builder1")
		// a host that never checked in has its OPEN tasks freed by the
		// scheduler's next pass (HostTimeout)
		hc.must("host.updateHost", 0.0, true)
		for _, nvr := range []string{"foo-1.0-1", "bar-2-1"} {
			task := admin.must("tagBuild", "dist", nvr).(int64)
			if _, ok, err := th.store.OpenTask(ctx, task, hostID); err != nil || !ok {
				t.Fatalf("open tagBuild task: %v %v", ok, err)
			}
			hc.must("host.tagBuild", task, "dist", nvr)
		}
		if tagged := th.anon().must("listTagged", "dist").([]any); len(tagged) != 2 {
			t.Fatalf("listTagged = %v", tagged)
		}

		// an RPM added to a tagged build is a change of the tag
		before := th.anon().must("tagLastChangeEvent", "dist").(int64)
		ddir := admin.upload(t, "cli-import/5", "foo-debug-1.0-1.x86_64.rpm", rpmBytes(t, "foo-debug", "1.0", "1", "x86_64", "foo-1.0-1.src.rpm"))
		admin.must("importRPM", ddir, "foo-debug-1.0-1.x86_64.rpm")
		if after := th.anon().must("tagLastChangeEvent", "dist").(int64); after <= before {
			t.Errorf("tagLastChangeEvent after import into a tagged build = %d, was %d", after, before)
		}

		// newRepo, then the repo's pkglist (repoInit) names the imported files
		admin.must("newRepo", "dist")
		res := hc.must("host.repoInit", "dist").([]any)
		pkglist := filepath.Join(top, "repos", "dist", itoa(res[0].(int64)), "x86_64", "pkglist")
		lines := readLines(t, pkglist)
		want := map[string]bool{
			"toplink/packages/foo/1.0/1/x86_64/foo-1.0-1.x86_64.rpm":       true,
			"toplink/packages/foo/1.0/1/x86_64/foo-debug-1.0-1.x86_64.rpm": true,
			"toplink/packages/bar/2/1/noarch/bar-2-1.noarch.rpm":           true,
		}
		for _, l := range lines {
			if !want[l] {
				t.Errorf("pkglist has %q", l)
			}
			delete(want, l)
			if _, err := os.Stat(filepath.Join(filepath.Dir(pkglist), l)); err != nil {
				t.Errorf("pkglist entry %s does not lead to the file: %v", l, err)
			}
		}
		if len(want) > 0 {
			t.Errorf("pkglist %v misses %v", lines, want)
		}
	})
}

// withPayloadDigest rebuilds an rpmpack RPM with the PAYLOADDIGEST header
// rpmbuild writes (rpmpack's payload is the same bytes on both runs).
func withPayloadDigest(t *testing.T, name, version, release, arch, sourceRPM string) []byte {
	t.Helper()
	first := rpmBytes(t, name, version, release, arch, sourceRPM)
	p, err := rpmhdr.NewReader(rpmhdr.Limits{}).Read(bytes.NewReader(first), int64(len(first)))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(first[p.HeaderEnd:])
	out := rpmBytes(t, name, version, release, arch, sourceRPM, hex.EncodeToString(sum[:]))
	if !bytes.HasSuffix(out, first[p.HeaderEnd:]) {
		t.Fatal("rpmpack wrote a different payload on the second run")
	}
	return out
}

func TestImportRPMRefusals(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		ctx := context.Background()
		top := th.hub.cfg.TopDir
		admin := th.login(th.ensureAdmin(), "adminpw")
		th.addUser("alice", "pw")
		alice := th.login("alice", "pw")
		good := withPayloadDigest(t, "foo", "1.0", "1", "x86_64", "foo-1.0-1.src.rpm")
		admin.must("createEmptyBuild", "foo", "1.0", "1", nil)
		dir := admin.upload(t, "cli-import/ok", "foo-1.0-1.x86_64.rpm", good)

		th.anon().fault(kojixml.AuthError, "importRPM", dir, "foo-1.0-1.x86_64.rpm")
		alice.fault(kojixml.ActionNotAllowed, "importRPM", dir, "foo-1.0-1.x86_64.rpm")

		// arguments: missing, wrong types, oversized, path traversal
		long := strings.Repeat("d", 300)
		for _, args := range [][]any{
			{},
			{dir},
			{int64(1), "foo-1.0-1.x86_64.rpm"},
			{dir, []any{"x"}},
			{dir, "foo-1.0-1.x86_64.rpm", "extra"},
			{"../../etc", "passwd"},
			{"/etc", "passwd"},
			{"cli-import/../../..", "passwd"},
			{"cli-import//ok", "foo-1.0-1.x86_64.rpm"},
			{dir, "../ok/foo-1.0-1.x86_64.rpm"},
			{dir, ".."},
			{dir, ""},
			{"", "foo-1.0-1.x86_64.rpm"},
			{dir, "a\x00b.rpm"},
			{dir, long + ".rpm"},
			{strings.Repeat("a/", 600), "foo.rpm"},
			{long, "foo.rpm"},
		} {
			admin.fault(kojixml.ParameterError, "importRPM", args...)
		}

		// files that are not importable
		write := func(rel string, body []byte) {
			p := filepath.Join(top, "work", rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, body, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		flipped := bytes.Clone(good)
		flipped[len(flipped)-10] ^= 0xff
		header := bytes.Clone(good)
		copy(header[bytes.Index(header, []byte("test package")):], "Test")
		write("bad/notrpm/foo-1.0-1.x86_64.rpm", []byte("#!/bin/sh\necho not an rpm\n"))
		write("bad/empty/foo-1.0-1.x86_64.rpm", nil)
		write("bad/short/foo-1.0-1.x86_64.rpm", good[:len(good)-100])
		write("bad/long/foo-1.0-1.x86_64.rpm", append(bytes.Clone(good), 0))
		write("bad/flipped/foo-1.0-1.x86_64.rpm", flipped)
		write("bad/header/foo-1.0-1.x86_64.rpm", header)
		write("bad/head/foo-1.0-1.x86_64.rpm", good[:200])
		write("bad/name/other.rpm", good)
		write("bad/nosrc/orphan-1-1.x86_64.rpm", rpmBytes(t, "orphan", "1", "1", "x86_64", "garbage"))
		if err := os.MkdirAll(filepath.Join(top, "work", "bad", "link"), 0o755); err != nil {
			t.Fatal(err)
		}
		outside := filepath.Join(t.TempDir(), "foo-1.0-1.x86_64.rpm")
		if err := os.WriteFile(outside, good, 0o644); err != nil {
			t.Fatal(err)
		}
		must(t, os.Symlink(outside, filepath.Join(top, "work", "bad", "link", "foo-1.0-1.x86_64.rpm")))
		must(t, os.Symlink(filepath.Dir(outside), filepath.Join(top, "work", "bad", "dirlink")))
		must(t, os.MkdirAll(filepath.Join(top, "work", "bad", "dir", "foo-1.0-1.x86_64.rpm"), 0o755))
		for _, c := range []struct{ dir, base, want string }{
			{"nosuch", "foo-1.0-1.x86_64.rpm", "No such file"},
			{"bad/notrpm", "foo-1.0-1.x86_64.rpm", "not an rpm"},
			{"bad/empty", "foo-1.0-1.x86_64.rpm", "not an rpm"},
			{"bad/short", "foo-1.0-1.x86_64.rpm", "signature header gives"},
			{"bad/long", "foo-1.0-1.x86_64.rpm", "signature header gives"},
			{"bad/flipped", "foo-1.0-1.x86_64.rpm", "payload SHA256 digest does not match"},
			{"bad/header", "foo-1.0-1.x86_64.rpm", "header SHA256 digest does not match"},
			{"bad/head", "foo-1.0-1.x86_64.rpm", "truncated"},
			{"bad/name", "other.rpm", "bad filename: other.rpm (expected foo-1.0-1.x86_64.rpm)"},
			{"bad/nosrc", "orphan-1-1.x86_64.rpm", "is not N-V-R.src.rpm"},
			{"bad/link", "foo-1.0-1.x86_64.rpm", "symbolic links are not followed"},
			{"bad/dirlink", "foo-1.0-1.x86_64.rpm", "symbolic links are not followed"},
			{"bad/dir", "foo-1.0-1.x86_64.rpm", "not a regular file"},
		} {
			f := admin.fault(kojixml.GenericError, "importRPM", c.dir, c.base)
			if !strings.Contains(f.String, c.want) {
				t.Errorf("importRPM(%q, %q) = %q, want %q", c.dir, c.base, f.String, c.want)
			}
		}
		if rpms, err := th.store.ListRPMs(ctx, db.RPMFilter{}); err != nil || len(rpms) != 0 {
			t.Errorf("refused imports recorded %v (%v)", rpms, err)
		}
		if got, err := os.ReadFile(outside); err != nil || !bytes.Equal(got, good) {
			t.Errorf("file outside topdir touched: %v", err)
		}

		// a build in a state that takes no more RPMs
		b, err := th.store.GetBuildByNVR(ctx, "foo", "1.0", "1")
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range []int{db.BuildFailed, db.BuildCanceled, db.BuildDeleted} {
			if err := th.store.SetBuildState(ctx, b.ID, st); err != nil {
				t.Fatal(err)
			}
			f := admin.fault(kojixml.GenericError, "importRPM", dir, "foo-1.0-1.x86_64.rpm")
			if want := "Build is " + db.BuildStateName(st) + ": foo-1.0-1"; f.String != want {
				t.Errorf("import into a %s build = %q, want %q", db.BuildStateName(st), f.String, want)
			}
		}
		// a file already in the way under packages/ is not overwritten
		if err := th.store.SetBuildState(ctx, b.ID, db.BuildComplete); err != nil {
			t.Fatal(err)
		}
		squat := filepath.Join(top, "packages/foo/1.0/1/x86_64/foo-1.0-1.x86_64.rpm")
		must(t, os.MkdirAll(filepath.Dir(squat), 0o755))
		must(t, os.WriteFile(squat, []byte("someone else's"), 0o644))
		if f := admin.fault(kojixml.GenericError, "importRPM", dir, "foo-1.0-1.x86_64.rpm"); !strings.Contains(f.String, "already exists") {
			t.Errorf("import over an existing file = %q", f.String)
		}
		if got, _ := os.ReadFile(squat); string(got) != "someone else's" {
			t.Error("existing file under packages/ overwritten")
		}
		must(t, os.Remove(squat))
		admin.must("importRPM", dir, "foo-1.0-1.x86_64.rpm")
	})
}

// TestImportRPMRealPackages imports what rpmbuild makes: Koji's payloadhash
// is rpm's SIGMD5, and a payload damaged after signing is refused.
func TestImportRPMRealPackages(t *testing.T) {
	rpmbuild := testenv.NeedTool(t, "rpmbuild")
	rpmTool := testenv.NeedTool(t, "rpm")
	th := newTestHub(t, "sqlite", nil)
	admin := th.login(th.ensureAdmin(), "adminpw")
	tmp := t.TempDir()
	spec := filepath.Join(tmp, "realpkg.spec")
	must(t, os.WriteFile(spec, []byte(`Name: realpkg
Version: 2.1
Release: 3
Epoch: 1
Summary: test
License: MIT
%description
test
%install
mkdir -p %{buildroot}/usr/share/realpkg
echo hi > %{buildroot}/usr/share/realpkg/f
%files
/usr/share/realpkg/f
`), 0o644))
	cmd := exec.Command(rpmbuild, "-ba", "--define", "_topdir "+filepath.Join(tmp, "top"), "--define", "_build_id_links none", spec)
	cmd.Env = append(os.Environ(), "HOME="+tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rpmbuild: %v\n%s", err, out)
	}
	bins, _ := filepath.Glob(filepath.Join(tmp, "top", "RPMS", "*", "realpkg-2.1-3.*.rpm"))
	if len(bins) != 1 {
		t.Fatalf("rpmbuild made %v", bins)
	}
	for i, src := range []string{filepath.Join(tmp, "top", "SRPMS", "realpkg-2.1-3.src.rpm"), bins[0]} {
		body, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Base(src)
		if i == 1 {
			damaged := bytes.Clone(body)
			damaged[len(damaged)-5] ^= 0x01
			dir := admin.upload(t, "cli-import/damaged", base, damaged)
			if f := admin.fault(kojixml.GenericError, "importRPM", dir, base); !strings.Contains(f.String, "MD5 digest does not match") {
				t.Errorf("damaged %s = %q", base, f.String)
			}
		}
		dir := admin.upload(t, "cli-import/"+itoa(int64(i)), base, body)
		info := admin.must("importRPM", dir, base).(map[string]any)
		out, err := exec.Command(rpmTool, "-qp", "--nosignature", "--qf", "%{SIGMD5}", src).Output()
		if err != nil {
			t.Fatalf("rpm -qp: %v", err)
		}
		if want := strings.TrimSpace(string(out)); info["payloadhash"] != want || info["epoch"] != int64(1) {
			t.Errorf("%s: payloadhash %v epoch %v, rpm says SIGMD5 %s epoch 1", base, info["payloadhash"], info["epoch"], want)
		}
	}
	b := th.anon().must("getBuild", "realpkg-2.1-3").(map[string]any)
	if b["epoch"] != int64(1) || b["state"] != int64(db.BuildComplete) {
		t.Errorf("build = %v", b)
	}
}
