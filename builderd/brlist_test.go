package builderd

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/rpmpack"

	"kojigo/internal/health"
	"kojigo/internal/rpmhdr"
	"kojigo/internal/testenv"
)

func TestParseRPMQuery(t *testing.T) {
	out := "bash\t5.2.26\t3.fc40\t(none)\tx86_64\tABCDEF0123456789abcdef0123456789\t8000000\t1700000000\n" +
		"gpg-pubkey\ta15b79cc\t63d04c2c\t(none)\t(none)\t(none)\t0\t1674595372\n" +
		"perl-libs\t5.38.2\t506.fc40\t4\tx86_64\t00112233445566778899aabbccddeeff\t1000\t1700000001\n"
	got, err := parseRPMQuery([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []any{
		map[string]any{"name": "bash", "version": "5.2.26", "release": "3.fc40", "epoch": nil, "arch": "x86_64",
			"payloadhash": "abcdef0123456789abcdef0123456789", "size": int64(8000000), "buildtime": int64(1700000000)},
		map[string]any{"name": "perl-libs", "version": "5.38.2", "release": "506.fc40", "epoch": int64(4), "arch": "x86_64",
			"payloadhash": "00112233445566778899aabbccddeeff", "size": int64(1000), "buildtime": int64(1700000001)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseRPMQuery = %v, want %v", got, want)
	}
	for _, bad := range []string{
		"bash\t5\t1\tx86_64\n",
		"bash\t5\t1\tone\tx86_64\tab\t1\t1\n",
		"bash\t5\t1\t(none)\tx86_64\tnot-hex!\t1\t1\n",
		"bash\t5\t1\t(none)\tx86_64\tab\tbig\t1\n",
	} {
		if l, err := parseRPMQuery([]byte(bad)); err == nil {
			t.Errorf("parseRPMQuery(%q) = %v, want an error", bad, l)
		}
	}
}

// TestPackageFileEntry: a package without SIGMD5 (rpmpack writes none) gets
// the md5 that SIGMD5 would hold, as the hub computes payloadhash.
func TestPackageFileEntry(t *testing.T) {
	p := writeTestRPM(t, rpmpack.RPMFile{Name: "/usr/share/x/README", Body: []byte("x"), Mode: 0o100644})
	e, err := packageFileEntry(p)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := os.ReadFile(p)
	pkg, err := rpmhdr.NewReader(rpmhdr.Limits{}).Read(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(body[pkg.HeaderStart:])
	if e["name"] != "x" || e["version"] != "1" || e["release"] != "1" || e["arch"] != "noarch" || e["payloadhash"] != hex.EncodeToString(sum[:]) {
		t.Errorf("packageFileEntry = %v, want payloadhash %x", e, sum)
	}
	if _, err := packageFileEntry(filepath.Join(t.TempDir(), "missing.rpm")); err == nil {
		t.Error("packageFileEntry of a missing file succeeded")
	}
}

// listingMock is fakeMock with a chroot rpm database: --init records
// INIT_RPM in it, the build adds BUILD_RPM (what a build installs); the
// test puts in the paths (kojid runs mock with a clean environment).
const listingMock = `#!/bin/sh
cfg=$2
basedir=$(sed -n "s/^config_opts\['basedir'\] = '\(.*\)'\$/\1/p" "$cfg")
root=$(sed -n "s/^config_opts\['root'\] = '\(.*\)'\$/\1/p" "$cfg")
result="$basedir/$root/result"
dbpath="$basedir/$root/root/var/lib/rpm"
mkdir -p "$result" "$dbpath"
justdb() { rpm --dbpath "$dbpath" -i --justdb --nodeps --ignorearch --ignoreos --nosignature "$1" >/dev/null 2>&1 || exit 30; }
case " $* " in
*" --init "*) rpm --dbpath "$dbpath" --initdb || exit 30; justdb INIT_RPM; exit 0 ;;
esac
justdb BUILD_RPM
for a; do srpm=$a; done
rpmbuild --rebuild --nodeps --define "_topdir $result/tree" --define "_rpmdir $result" \
	--define "_rpmfilename %{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}.rpm" "$srpm" >> "$result/build.log" 2>&1 || exit 10
cp "$srpm" "$result/"
`

// TestBuildArchWithMockListsChroot: in mock mode kojid reports the
// chroot's rpm database after --init (setBuildRootList, INIT) and after the
// build (updateBuildRootList, BUILDING), as Koji's kojid.
func TestBuildArchWithMockListsChroot(t *testing.T) {
	testenv.NeedTool(t, "rpmbuild")
	testenv.NeedTool(t, "rpm")
	e := newEnv(t)
	dir := t.TempDir()
	initRPM := writeTestRPM(t, rpmpack.RPMFile{Name: "/usr/share/x/README", Body: []byte("x"), Mode: 0o100644})
	r, err := rpmpack.NewRPM(rpmpack.RPMMetaData{Name: "gcc", Version: "13.2", Release: "1", Epoch: 2, Arch: "x86_64", Compressor: "gzip"})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	buildRPM := filepath.Join(dir, "gcc-13.2-1.x86_64.rpm")
	if err := os.WriteFile(buildRPM, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	mockPath := filepath.Join(dir, "mock")
	script := strings.NewReplacer("INIT_RPM", initRPM, "BUILD_RPM", buildRPM).Replace(listingMock)
	if err := os.WriteFile(mockPath, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	e.cfg.UseMock = "yes"
	e.cfg.MockDir = t.TempDir()
	e.opts.LookPath = func(name string) (string, error) {
		if name == "mock" {
			return mockPath, nil
		}
		return exec.LookPath(name)
	}
	e.probe.set(func(p *health.Probe) { p.Tools["mock"] = mockPath })
	pkg := e.srpm(t, testdataDir("noarch"))
	id := e.hub.addTask("buildArch", pkg, int64(10), "noarch", true, map[string]any{"repo_id": int64(3)})
	e.start(t)
	tk := e.hub.waitState(id, 60*time.Second, stateClosed, stateFailed)
	if tk.state != stateClosed {
		t.Fatalf("task %s: %v", stateName(tk.state), tk.fault)
	}
	e.hub.mu.Lock()
	defer e.hub.mu.Unlock()
	arch := nativeArches(runtimeArch())[0]
	if want := []string{"new " + arch, "setBuildRootList 1", "BUILDING", "updateBuildRootList 2", "EXPIRED"}; !reflect.DeepEqual(e.hub.buildroots, want) {
		t.Fatalf("buildroot calls = %q, want %q", e.hub.buildroots, want)
	}
	first := asMap(e.hub.brLists[0][0])
	// rpmpack's packages have no SIGMD5: an empty payloadhash
	if first["name"] != "x" || first["arch"] != "noarch" || first["epoch"] != int64(0) || first["payloadhash"] != "" {
		t.Errorf("listed after --init: %v", first)
	}
	var names []string
	for _, x := range e.hub.brLists[1] {
		m := asMap(x)
		names = append(names, asString(m["name"]))
		if m["name"] == "gcc" && (m["epoch"] != int64(2) || m["version"] != "13.2") {
			t.Errorf("listed after the build: %v", m)
		}
	}
	if strings.Join(names, " ") != "gcc x" && strings.Join(names, " ") != "x gcc" {
		t.Errorf("listed after the build: %v", names)
	}
}
