package builderd

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"kojigo/internal/health"
	"kojigo/internal/testenv"
)

// fakeMock is a stand-in for mock (not packaged for this distribution): it
// reads basedir and root from the config it is given, records its
// arguments, and "rebuilds" with rpmbuild into mock's result directory.
const fakeMock = `#!/bin/sh
cfg=$2
basedir=$(sed -n "s/^config_opts\['basedir'\] = '\(.*\)'\$/\1/p" "$cfg")
root=$(sed -n "s/^config_opts\['root'\] = '\(.*\)'\$/\1/p" "$cfg")
result="$basedir/$root/result"
mkdir -p "$result"
echo "$*" >> "$basedir/args"
case " $* " in
*" --init "*) echo "initialized $root" >> "$result/root.log"; echo "Start: init" >> "$result/state.log"; exit 0 ;;
esac
for a; do srpm=$a; done
rpmbuild --rebuild --nodeps --define "_topdir $result/tree" --define "_rpmdir $result" \
	--define "_rpmfilename %{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}.rpm" "$srpm" >> "$result/build.log" 2>&1 || exit 10
cp "$srpm" "$result/"
echo "mock done"
`

func TestBuildArchWithMock(t *testing.T) {
	testenv.NeedTool(t, "rpmbuild")
	e := newEnv(t)
	mockPath := filepath.Join(t.TempDir(), "mock")
	if err := os.WriteFile(mockPath, []byte(fakeMock), 0o755); err != nil {
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
	res := asMap(tk.result)
	dir := taskRelPath(id)
	if id64(res["brootid"]) != 77 {
		t.Errorf("brootid = %v, want the hub's buildroot 77", res["brootid"])
	}
	if rpms := asStrings(res["rpms"]); !reflect.DeepEqual(rpms, []string{dir + "/greeting-2.1-3.noarch.rpm"}) {
		t.Errorf("rpms = %q", rpms)
	}
	if srpms := asStrings(res["srpms"]); !reflect.DeepEqual(srpms, []string{dir + "/greeting-2.1-3.src.rpm"}) {
		t.Errorf("srpms = %q", srpms)
	}
	arch := nativeArches(runtimeArch())[0]
	name := "f40-build-77-3"
	args, _ := os.ReadFile(filepath.Join(e.cfg.MockDir, "args"))
	lines := strings.Split(strings.TrimSpace(string(args)), "\n")
	cfgPath := filepath.Join(e.cfg.WorkDir, filepath.FromSlash(dir), "mock", name+".cfg")
	wantArgs := []string{
		"-r " + cfgPath + " --old-chroot --init",
		"-r " + cfgPath + " --old-chroot --no-clean --target noarch --rebuild " + filepath.Join(e.top, "work", filepath.FromSlash(pkg)),
	}
	if !reflect.DeepEqual(lines, wantArgs) {
		t.Errorf("mock runs = %q, want %q", lines, wantArgs)
	}
	conf := e.hub.file(dir + "/mock_config.log")
	for _, want := range []string{
		"# Koji buildroot id: 77", "config_opts['root'] = '" + name + "'",
		"config_opts['macros']['%dist'] = '.fc40'", "config_opts['package_manager'] = 'dnf'",
		"baseurl=file://" + e.top + "/repos/f40-build/3/" + arch,
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("mock_config.log lacks %q:\n%s", want, conf)
		}
	}
	if b := e.hub.file(dir + "/build.log"); !strings.Contains(b, "Wrote: ") {
		t.Errorf("mock's build.log not uploaded: %q", b)
	}
	if r := e.hub.file(dir + "/root.log"); !strings.Contains(r, "initialized "+name) {
		t.Errorf("mock's root.log not uploaded: %q", r)
	}
	if k := e.hub.file(dir + "/kojid.log"); !strings.Contains(k, "buildroot: mock (use_mock = yes)") {
		t.Errorf("kojid.log = %q", k)
	}
	e.hub.mu.Lock()
	br := append([]string{}, e.hub.buildroots...)
	e.hub.mu.Unlock()
	if want := []string{"new " + arch, "BUILDING", "EXPIRED"}; !reflect.DeepEqual(br, want) {
		t.Errorf("buildroot calls = %q, want %q", br, want)
	}
}

func TestMockNeedsRepo(t *testing.T) {
	e := newEnv(t)
	e.cfg.UseMock = "yes"
	e.probe.set(func(p *health.Probe) { p.Tools["mock"] = "/usr/bin/mock" })
	e.opts.LookPath = func(name string) (string, error) {
		if name == "mock" {
			return "/usr/bin/mock", nil
		}
		return exec.LookPath(name)
	}
	pkg := e.srpm(t, testdataDir("noarch"))
	id := e.hub.addTask("buildArch", pkg, int64(10), "noarch", true, map[string]any{})
	e.start(t)
	tk := e.hub.waitState(id, 30*time.Second, stateClosed, stateFailed)
	if tk.state != stateFailed || !strings.Contains(tk.fault.String, "mock builds need a repo of the build tag") {
		t.Errorf("task = %s %v", stateName(tk.state), tk.fault)
	}
}

func TestMockOptionsFromTag(t *testing.T) {
	cfg := DefaultConfig()
	cfg.TopURL = []string{"https://koji.example.org/kojifiles"}
	cfg.MockBootstrapImage = true
	cfg.RPMBuildTimeout = 2 * time.Hour
	tag := map[string]any{"name": "f40-build", "extra": map[string]any{
		"mock.package_manager": "dnf", "mock.bootstrap_image": "fedora:40", "mock.use_bootstrap": true,
		"mock.yum.module_hotfixes": int64(1), "mock.yum.best": false,
		"rpm.macro.dist": ".fc40", "rpm.env.LANG": "C.UTF-8",
	}}
	o := mockOptions(&cfg, tag, 3, 77, "x86_64")
	if o.Name != "f40-build-77-3" || o.PackageManager != "dnf" || o.BootstrapImage != "fedora:40" ||
		o.UseBootstrap == nil || !*o.UseBootstrap || !o.ModuleHotfixes || o.YumBest == nil || *o.YumBest ||
		o.TagMacros["%dist"] != ".fc40" || o.TagEnv["LANG"] != "C.UTF-8" || o.RPMBuildTimeout != 7200 ||
		o.TopURLs[0] != "https://koji.example.org/kojifiles" {
		t.Errorf("mockOptions = %+v", o)
	}
	cfg.MockBootstrapImage = false
	if o := mockOptions(&cfg, tag, 3, 77, "x86_64"); o.BootstrapImage != "" {
		t.Error("bootstrap image used although kojid.conf does not allow it")
	}
}
