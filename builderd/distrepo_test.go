package builderd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kojigo/internal/kojixml"
	"kojigo/internal/testenv"
)

// distHub answers what distRepo and createdistrepo ask, over the fake hub.
type distHub struct {
	*fakeHub
	mu     sync.Mutex
	rpms   []any // listTaggedRPMS rows (rpmsigs=True)
	builds []any
	moves  [][]any
	dones  [][]any
}

func (h *distHub) Call(ctx context.Context, method string, args ...any) (any, error) {
	switch method {
	case "repoInfo", "listTaggedRPMS", "host.distRepoMove", "host.repoDone", "host.writeSignedRPM":
	default:
		return h.fakeHub.Call(ctx, method, args...)
	}
	params, err := roundTripCall(method, args)
	if err != nil {
		h.t.Errorf("%s: arguments cannot be encoded: %v", method, err)
		return nil, err
	}
	pos, kws := splitKw(params)
	h.mu.Lock()
	defer h.mu.Unlock()
	var v any
	switch method {
	case "repoInfo":
		v = map[string]any{"id": pos[0], "state": int64(0), "dist": true, "tag_name": "dist"}
	case "listTaggedRPMS":
		var rows []any
		for _, r := range h.rpms {
			if asMap(r)["arch"] == kws["arch"] {
				rows = append(rows, r)
			}
		}
		v = []any{rows, h.builds}
	case "host.distRepoMove":
		h.moves = append(h.moves, pos)
	case "host.repoDone":
		h.dones = append(h.dones, pos)
	}
	return roundTripResponse(v)
}

// distRPM writes a package (and its signed copy when key is set) and
// returns its listTaggedRPMS row.
func distRPM(t *testing.T, top string, id int64, name, arch, key string) map[string]any {
	t.Helper()
	rel := strings.TrimPrefix(writeRPM(t, top, name, "1.0", arch), "toplink/")
	fi, _ := os.Stat(filepath.Join(top, rel))
	row := map[string]any{"id": id, "build_id": id, "name": name, "version": "1.0", "release": "1", "arch": arch,
		"epoch": nil, "size": fi.Size(), "payloadhash": "00", "sigkey": nil}
	if key != "" {
		b, _ := os.ReadFile(filepath.Join(top, rel))
		signed := filepath.Join(top, "packages", name, "1.0", "1", "data", "signed", key, arch, filepath.Base(rel))
		os.MkdirAll(filepath.Dir(signed), 0o755)
		os.WriteFile(signed, b, 0o644)
		row["sigkey"] = key
	}
	return row
}

func TestDistRepoTasks(t *testing.T) {
	for _, tc := range []struct {
		name      string
		greetKey  string
		opts      map[string]any
		wantState int64
		wantFault string
		wantSig   map[string]any // kojipkgs file -> sigkey
	}{
		{"all signed", "deadbeef", map[string]any{}, stateClosed, "",
			map[string]any{"hello-1.0-1.x86_64.rpm": "deadbeef", "greet-1.0-1.noarch.rpm": "deadbeef"}},
		{"unsigned refused", "", map[string]any{}, stateFailed, "Unsigned packages found. See missing_signatures.log", nil},
		{"unsigned allowed", "", map[string]any{"allow_missing_signatures": true}, stateClosed, "",
			map[string]any{"hello-1.0-1.x86_64.rpm": "deadbeef", "greet-1.0-1.noarch.rpm": nil}},
		{"unsigned skipped", "", map[string]any{"skip_missing_signatures": true}, stateClosed, "",
			map[string]any{"hello-1.0-1.x86_64.rpm": "deadbeef"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			h := &distHub{fakeHub: e.hub}
			h.rpms = []any{distRPM(t, e.top, 1, "hello", "x86_64", "deadbeef"), distRPM(t, e.top, 2, "greet", "noarch", tc.greetKey),
				map[string]any{"id": int64(1), "build_id": int64(1), "name": "hello", "version": "1.0", "release": "1", "arch": "x86_64", "sigkey": "cafef00d"}}
			for _, n := range []string{"hello", "greet"} {
				id := int64(1)
				if n == "greet" {
					id = 2
				}
				h.builds = append(h.builds, map[string]any{"build_id": id, "package_name": n, "version": "1.0", "release": "1", "nvr": n + "-1.0-1"})
			}
			opts := map[string]any{"arch": []any{"x86_64"}, "event": int64(5), "latest": true, "inherit": true}
			for k, v := range tc.opts {
				opts[k] = v
			}
			e.startWith(t, h)
			id := e.hub.addTask("distRepo", "dist", int64(40), []any{"DEADBEEF"}, opts)
			tk := e.hub.waitState(id, 60*time.Second, stateClosed, stateFailed)
			child := e.hub.children(id)["x86_64"]
			if tk.state != tc.wantState {
				t.Fatalf("distRepo = %s %v (createdistrepo %s %v), want %s", stateName(tk.state), tk.fault, stateName(child.state), child.fault, stateName(tc.wantState))
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			if tc.wantFault != "" {
				if tk.fault == nil || tk.fault.String != tc.wantFault || tk.fault.Code != kojixml.GenericError {
					t.Errorf("fault = %v, want %q", tk.fault, tc.wantFault)
				}
				if log := e.hub.file(taskRelPath(child.id) + "/missing_signatures.log"); !strings.Contains(log, "greet-1.0-1.noarch: [") {
					t.Errorf("missing_signatures.log = %q", log)
				}
				if len(h.moves)+len(h.dones) != 0 {
					t.Errorf("a failed dist repo was moved or done: %v %v", h.moves, h.dones)
				}
				return
			}
			if len(h.moves) != 1 || h.moves[0][0] != int64(40) || h.moves[0][1] != taskRelPath(child.id) || h.moves[0][2] != "x86_64" {
				t.Errorf("host.distRepoMove calls = %v", h.moves)
			}
			if len(h.dones) != 1 || len(asMap(h.dones[0][1])) != 0 {
				t.Errorf("host.repoDone calls = %v", h.dones)
			}
			up := taskRelPath(child.id)
			var pkgs map[string]map[string]any
			if err := json.Unmarshal([]byte(e.hub.file(up+"/kojipkgs")), &pkgs); err != nil {
				t.Fatalf("kojipkgs: %v", err)
			}
			if len(pkgs) != len(tc.wantSig) {
				t.Errorf("kojipkgs = %v, want %v", pkgs, tc.wantSig)
			}
			for f, k := range tc.wantSig {
				if p, ok := pkgs[f]; !ok || p["sigkey"] != k {
					t.Errorf("kojipkgs[%s] = %v, want sigkey %v", f, p, k)
				}
			}
			var manifest []string
			json.Unmarshal([]byte(e.hub.file(up+"/repo_manifest")), &manifest)
			for _, f := range manifest {
				if _, err := os.Stat(filepath.Join(e.hub.workDir, up, f)); err != nil {
					t.Errorf("manifest names %s, not uploaded: %v", f, err)
				}
			}
			if !strings.Contains(strings.Join(manifest, " "), "repodata/repomd.xml") {
				t.Errorf("repo_manifest = %v", manifest)
			}
			if pl := e.hub.file(up + "/pkglist"); !strings.Contains(pl, "Packages/h/hello-1.0-1.x86_64.rpm") {
				t.Errorf("pkglist = %q", pl)
			}
		})
	}
}

func TestDistRepoArguments(t *testing.T) {
	e := newEnv(t)
	h := &distHub{fakeHub: e.hub}
	e.startWith(t, h)
	for _, args := range [][]any{
		{"dist", int64(40), []any{}},
		{"dist", "x", []any{}, map[string]any{"arch": []any{"x86_64"}}},
		{"dist", int64(40), []any{}, map[string]any{"arch": []any{"pdp11"}}},
	} {
		id := e.hub.addTask("distRepo", args...)
		if tk := e.hub.waitState(id, 30*time.Second, stateClosed, stateFailed); tk.state != stateFailed || tk.fault == nil || tk.fault.Code != kojixml.ParameterError {
			t.Errorf("distRepo%v = %s %v, want a ParameterError", args, stateName(tk.state), tk.fault)
		}
	}
}

// UploadFile takes subdirectories of a task's directory too (repodata/), as
// the real hub does.
func (h *distHub) UploadFile(ctx context.Context, local, dir, name string, cb func(int64, int64)) error {
	if strings.HasSuffix(dir, "/repodata") || strings.HasSuffix(dir, "/debug") {
		if err := os.MkdirAll(filepath.Join(h.workDir, filepath.FromSlash(dir)), 0o755); err != nil {
			return err
		}
		b, err := os.ReadFile(local)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(h.workDir, filepath.FromSlash(dir), name), b, 0o644)
	}
	return h.fakeHub.UploadFile(ctx, local, dir, name, cb)
}

// TestDistRepoCompsAndSplitDebuginfo: with comps the repo's
// groups/comps.xml goes into the repodata (dnf lists its groups); with
// split_debuginfo the debuginfo packages make the subrepo debug/.
func TestDistRepoCompsAndSplitDebuginfo(t *testing.T) {
	e := newEnv(t)
	h := &distHub{fakeHub: e.hub}
	h.rpms = []any{distRPM(t, e.top, 1, "hello", "x86_64", "deadbeef"), distRPM(t, e.top, 2, "hello-debuginfo", "x86_64", "deadbeef")}
	for i, n := range []string{"hello", "hello-debuginfo"} {
		h.builds = append(h.builds, map[string]any{"build_id": int64(i + 1), "package_name": n, "version": "1.0", "release": "1", "nvr": n + "-1.0-1"})
	}
	comps := `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>greeters</id>
    <name>Greeters</name>
    <description>Programs that say hello</description>
    <default>true</default>
    <uservisible>true</uservisible>
    <packagelist>
      <packagereq type="mandatory">hello</packagereq>
    </packagelist>
  </group>
</comps>
`
	groups := filepath.Join(e.top, "repos-dist", "dist", "40", "groups")
	if err := os.MkdirAll(groups, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(groups, "comps.xml"), []byte(comps), 0o644); err != nil {
		t.Fatal(err)
	}
	e.startWith(t, h)
	opts := map[string]any{"arch": []any{"x86_64"}, "event": int64(5), "latest": true, "inherit": true,
		"comps": "cli-dist-repo/abc/comps.xml", "split_debuginfo": true}
	id := e.hub.addTask("distRepo", "dist", int64(40), []any{"deadbeef"}, opts)
	tk := e.hub.waitState(id, 60*time.Second, stateClosed, stateFailed)
	child := e.hub.children(id)["x86_64"]
	if tk.state != stateClosed {
		t.Fatalf("distRepo = %s %v (createdistrepo %v)", stateName(tk.state), tk.fault, child.fault)
	}
	up := taskRelPath(child.id)
	var manifest []string
	json.Unmarshal([]byte(e.hub.file(up+"/repo_manifest")), &manifest)
	joined := strings.Join(manifest, " ")
	for _, want := range []string{"repodata/repomd.xml", "pkglist", "debug/repodata/repomd.xml", "debug/pkglist"} {
		if !strings.Contains(" "+joined+" ", " "+want+" ") {
			t.Errorf("repo_manifest lacks %s: %v", want, manifest)
		}
	}
	if !strings.Contains(joined, "repodata/comps.xml") && !strings.Contains(joined, "-comps.xml") {
		t.Errorf("repo_manifest has no comps: %v", manifest)
	}
	if pl := e.hub.file(up + "/pkglist"); pl != "Packages/h/hello-1.0-1.x86_64.rpm\n" {
		t.Errorf("pkglist = %q", pl)
	}
	if pl := e.hub.file(up + "/debug/pkglist"); pl != "../Packages/h/hello-debuginfo-1.0-1.x86_64.rpm\n" {
		t.Errorf("debug/pkglist = %q", pl)
	}
	if md := e.hub.file(up + "/repodata/repomd.xml"); !strings.Contains(md, `<data type="group">`) {
		t.Errorf("repomd.xml has no group data:\n%s", md)
	}
	if md := e.hub.file(up + "/debug/repodata/repomd.xml"); strings.Contains(md, `type="group"`) == false {
		t.Errorf("debug repomd.xml has no group data (Koji passes -g to both)")
	}

	// dnf reads the groups
	bin := testenv.NeedTool(t, "dnf")
	tmp := t.TempDir()
	root := filepath.Join(e.hub.workDir, up)
	cmd := exec.Command(bin, "-q", "--setopt=reposdir=/dev/null", "--setopt=cachedir="+filepath.Join(tmp, "cache"),
		"--installroot="+filepath.Join(tmp, "root"), "--releasever=40", "--repofrompath=r,file://"+root, "--repo=r", "group", "list")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Greeters") {
		t.Errorf("dnf group list: %v\n%s", err, out)
	}
	cmd = exec.Command(bin, "-q", "--setopt=reposdir=/dev/null", "--setopt=cachedir="+filepath.Join(tmp, "cache2"),
		"--installroot="+filepath.Join(tmp, "root"), "--releasever=40", "--repofrompath=r,file://"+root, "--repo=r", "group", "info", "greeters")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "hello") {
		t.Errorf("dnf group info greeters: %v\n%s", err, out)
	}

	// the debug subrepo's packages are its parent's Packages/
	cmd = exec.Command(bin, "-q", "--setopt=reposdir=/dev/null", "--setopt=cachedir="+filepath.Join(tmp, "cache3"),
		"--installroot="+filepath.Join(tmp, "root"), "--releasever=40", "--repofrompath=d,file://"+root+"/debug", "--repo=d", "repoquery", "--location")
	if out, err := cmd.Output(); err != nil || !strings.Contains(string(out), "/debug/../Packages/h/hello-debuginfo-1.0-1.x86_64.rpm") {
		t.Errorf("dnf repoquery --location (debug): %v\n%s", err, out)
	}

	// comps asked for but not there: a clear failure
	if err := os.RemoveAll(groups); err != nil {
		t.Fatal(err)
	}
	id = e.hub.addTask("distRepo", "dist", int64(40), []any{"deadbeef"}, opts)
	tk = e.hub.waitState(id, 60*time.Second, stateClosed, stateFailed)
	if tk.state != stateFailed || !strings.Contains(fmt.Sprint(e.hub.children(id)["x86_64"].fault), "comps") {
		t.Errorf("distRepo without its comps file = %s %v", stateName(tk.state), e.hub.children(id)["x86_64"].fault)
	}
}
