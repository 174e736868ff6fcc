package hubcore

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestStockCLICGImport runs Koji 1.35's own CLI (KOJI_STOCK_CLI) through a
// content generator's life, on both backends: grant-cg-access --new,
// import-cg (--test, then for real), reserve-cg and import-cg --token
// --build-id, and what buildinfo, rpminfo, list-buildroot and
// getBuildroot show of the imports.
func TestStockCLICGImport(t *testing.T) {
	cli := needStockCLI(t)
	forBackends(t, func(t *testing.T, th *testHub) {
		th.ensureAdmin()
		th.addUser("cgbot", "pw")
		admin := th.login("kojiadmin", "adminpw")
		dep := admin.must("importRPM", admin.upload(t, "dep-upload", "dep-1.0-1.src.rpm", rpmBytes(t, "dep", "1.0", "1", "x86_64", "")), "dep-1.0-1.src.rpm").(map[string]any)
		run, home := cli.client(t, th.url, nil)
		as := func(user, pw string, args ...string) string {
			t.Helper()
			out, err := run(user, pw, args...)
			if err != nil {
				t.Fatalf("koji %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			return out
		}
		bot := func(args ...string) string { t.Helper(); return as("cgbot", "pw", args...) }
		has := func(what, out string, want ...string) {
			t.Helper()
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("koji %s lacks %q:\n%s", what, w, out)
				}
			}
		}
		as("kojiadmin", "adminpw", "grant-cg-access", "--new", "cgbot", "osbs")
		has("list-cgs", as("kojiadmin", "adminpw", "call", "listCGs"), "osbs", "cgbot")

		// outputs of foo-1.0-1 and bar-2-1 in local directories, with metadata
		write := func(dir, rel string, body []byte) {
			t.Helper()
			p := filepath.Join(home, dir, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, body, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		metaFor := func(name, version, dir string) string {
			t.Helper()
			srpm := rpmBytes(t, name, version, "1", "x86_64", "")
			bin := rpmBytes(t, name, version, "1", "x86_64", name+"-"+version+"-1.src.rpm")
			nvr := name + "-" + version + "-1"
			write(dir, nvr+".src.rpm", srpm)
			write(dir, "x86_64/"+nvr+".x86_64.rpm", bin)
			write(dir, "logs/build.log", []byte("built "+nvr+"\n"))
			lo := cgOutputMeta("logs/build.log", []byte("built "+nvr+"\n"), "log", int64(1))
			lo["subdir"] = "x86_64"
			comps := []any{
				map[string]any{"type": "rpm", "name": "dep", "version": "1.0", "release": "1", "epoch": nil, "arch": "src", "sigmd5": dep["payloadhash"], "signature": nil},
				map[string]any{"type": "rpm", "name": "ghost", "version": "1", "release": "1", "epoch": nil, "arch": "noarch", "sigmd5": "00", "signature": nil},
			}
			m := cgMeta(comps, cgOutputMeta(nvr+".src.rpm", srpm, "rpm", int64(1)), cgOutputMeta("x86_64/"+nvr+".x86_64.rpm", bin, "rpm", int64(1)), lo)
			m["build"].(map[string]any)["name"] = name
			m["build"].(map[string]any)["version"] = version
			js, _ := json.MarshalIndent(m, "", "  ")
			p := filepath.Join(home, name+"-metadata.json")
			if err := os.WriteFile(p, js, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}
		fooMeta := metaFor("foo", "1.0", "foo-out")
		fooDir := filepath.Join(home, "foo-out")

		// --test checks the files and does nothing
		bot("import-cg", "--test", fooMeta, fooDir)
		if b := th.anon().must("getBuild", "foo-1.0-1"); b != nil {
			t.Errorf("import-cg --test made a build: %v", b)
		}
		if out, err := run("kojiadmin", "adminpw", "import-cg", "--noprogress", fooMeta, fooDir); err == nil || !strings.Contains(out, "Content generator access required (osbs)") {
			t.Errorf("import-cg by admin without a grant: %v\n%s", err, out)
		}
		bot("import-cg", "--noprogress", fooMeta, fooDir)
		out := bot("buildinfo", "foo-1.0-1")
		has("buildinfo", out, "BUILD: foo-1.0-1 [", "State: COMPLETE", "Built by: cgbot", "Source: git://example.com/foo#abc",
			"foo-1.0-1.src.rpm", "foo-1.0-1.x86_64.rpm")
		out = bot("rpminfo", "foo-1.0-1.x86_64")
		has("rpminfo", out, "Content generator: osbs", "Build Host OS: Fedora 40 (x86_64)")
		rpm := th.anon().must("getRPM", "foo-1.0-1.x86_64").(map[string]any)
		br := itoa(rpm["buildroot_id"].(int64))
		if got := bot("list-buildroot", br); got != "Component RPMs:\ndep-1.0-1.src\n" {
			t.Errorf("koji list-buildroot %s =\n%s", br, got)
		}
		has("list-buildroot --built", bot("list-buildroot", "--built", br), "foo-1.0-1.src", "foo-1.0-1.x86_64")
		has("call getBuildroot", bot("call", "getBuildroot", br), "'br_type': 1", "'cg_name': 'osbs'", "'cg_version': '1.2'",
			"'container_type': 'docker'", "'host_os': 'Fedora 40'")
		has("list-builds", bot("call", "listBuilds", "--kwargs", "{'cgID': 'osbs'}"), "'nvr': 'foo-1.0-1'", "'cg_name': 'osbs'")
		// a second import of the NVR is refused
		if out, err := run("cgbot", "pw", "import-cg", "--noprogress", fooMeta, fooDir); err == nil || !strings.Contains(out, "Build already exists: foo-1.0-1") {
			t.Errorf("second import-cg: %v\n%s", err, out)
		}

		// reserve-cg, then import-cg with the token and the build id
		barMeta := metaFor("bar", "2", "bar-out")
		barDir := filepath.Join(home, "bar-out")
		out = bot("reserve-cg", "osbs", "bar-2-1")
		m := regexp.MustCompile(`^Reserved build (\d+) with token '([0-9a-f]{64})'\n$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("koji reserve-cg = %q", out)
		}
		id, tok := m[1], m[2]
		has("buildinfo (reserved)", bot("buildinfo", "bar-2-1"), "State: BUILDING", "Reserved by: osbs")
		if out, err := run("cgbot", "pw", "reserve-cg", "osbs", "bar-2-1"); err == nil || !strings.Contains(out, "Build already in progress") {
			t.Errorf("second reserve-cg: %v\n%s", err, out)
		}
		if out, err := run("cgbot", "pw", "import-cg", "--noprogress", "--build-id", id, barMeta, barDir); err == nil || !strings.Contains(out, "Token doesn't match build ID "+id) {
			t.Errorf("import-cg without the token: %v\n%s", err, out)
		}
		if out, err := run("cgbot", "pw", "import-cg", "--noprogress", "--token", tok, barMeta, barDir); err == nil || !strings.Contains(out, "Reservation token given, but no build_id in metadata") {
			t.Errorf("import-cg without the build id: %v\n%s", err, out)
		}
		bot("import-cg", "--noprogress", "--token", tok, "--build-id", id, barMeta, barDir)
		out = bot("buildinfo", "bar-2-1")
		has("buildinfo (imported)", out, "BUILD: bar-2-1 ["+id+"]", "State: COMPLETE", "bar-2-1.x86_64.rpm")

		// reserve-cg --metadata reads the NVR from a metadata file
		bazMeta := metaFor("baz", "3", "baz-out")
		out = bot("reserve-cg", "--metadata", "osbs", bazMeta)
		if !strings.HasPrefix(out, "Reserved build ") {
			t.Errorf("koji reserve-cg --metadata = %q", out)
		}
		has("buildinfo (baz)", bot("buildinfo", "baz-3-1"), "State: BUILDING", "Reserved by: osbs")
	})
}
