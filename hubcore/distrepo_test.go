package hubcore

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kojigo/internal/kojixml"
)

func TestDistRepo(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		top := th.hub.cfg.TopDir
		admin := th.login(th.ensureAdmin(), "adminpw")
		th.addUser("alice", "pw")
		alice := th.login("alice", "pw")
		bin, rpmID := importFoo(t, th, admin)
		key := [4]byte{0xDE, 0xAD, 0xBE, 0xEF}
		admin.must("addRPMSig", rpmID, b64(sigHeaderFor(t, bin, &key)))
		admin.must("writeSignedRPM", rpmID, "deadbeef")
		admin.must("createTag", "dist", kw{"arches": "x86_64"})
		admin.must("packageListAdd", "dist", "foo", kw{"owner": "kojiadmin"})
		admin.must("tagBuildBypass", "dist", "foo-1.0-1")

		// listTaggedRPMS(rpmsigs=True): a row per signature, None for none.
		got := th.anon().must("listTaggedRPMS", "dist", kw{"rpmsigs": true}).([]any)[0].([]any)
		keys := map[string]any{}
		for _, r := range got {
			m := r.(map[string]any)
			keys[m["arch"].(string)] = m["sigkey"]
		}
		if len(got) != 2 || keys["x86_64"] != "deadbeef" || keys["src"] != nil {
			t.Errorf("listTaggedRPMS(rpmsigs) = %v", got)
		}

		opts := kw{"arch": []any{"x86_64", "x86_64"}, "event": nil, "latest": true, "inherit": true, "comps": nil, "delta": []any{},
			"volume": nil, "multilib": nil, "split_debuginfo": false, "skip_missing_signatures": false,
			"allow_missing_signatures": false, "zck": false, "zck_dict_dir": nil, "write_signed_rpms": false}
		th.anon().fault(kojixml.AuthError, "distRepo", "dist", []any{"deadbeef"}, opts)
		with := func(k string, v any) kw {
			o := kw{}
			for n, x := range opts {
				o[n] = x
			}
			o[k] = v
			return o
		}
		for _, args := range [][]any{
			{"dist"},
			{"dist", "deadbeef", opts},
			{"dist", []any{"dead/beef"}, opts},
			{"dist", []any{int64(1)}, opts},
			{"dist", []any{"deadbeef"}, with("arch", nil)},
			{"dist", []any{"deadbeef"}, with("arch", []any{})},
			{"dist", []any{"deadbeef"}, with("arch", "x86_64")},
			{"dist", []any{"deadbeef"}, with("multilib", "multilib.conf")},
			{"dist", []any{"deadbeef"}, with("delta", []any{int64(1)})},
			{"dist", []any{"deadbeef"}, with("latest", "yes")},
			{"dist", []any{"deadbeef"}, with("zck", true)},
			{"dist", []any{"deadbeef"}, with("volume", "other")},
			{"dist", []any{"deadbeef"}, with("skip_missing_signatures", true).merge("allow_missing_signatures", true)},
			{"dist", []any{"deadbeef"}, with("event", "x")},
		} {
			admin.fault(kojixml.ParameterError, "distRepo", args...)
		}
		admin.fault(kojixml.GenericError, "distRepo", "nosuch", []any{"deadbeef"}, opts)
		admin.fault(kojixml.GenericError, "distRepo", "dist", []any{"deadbeef"}, with("arch", []any{"../x"}))
		admin.fault(kojixml.GenericError, "distRepo", "dist", []any{"deadbeef"}, with("event", int64(999999)))
		if ents, _ := os.ReadDir(filepath.Join(top, "repos-dist")); len(ents) != 0 {
			t.Errorf("refused distRepo calls left %v", ents)
		}

		taskID := admin.must("distRepo", "dist", []any{"DEADBEEF"}, opts).(int64)
		info := th.anon().must("getTaskInfo", taskID, true).(map[string]any)
		req := info["request"].([]any)
		if info["method"] != "distRepo" || info["priority"] != int64(15) || req[0] != "dist" || len(req) != 4 {
			t.Fatalf("distRepo task = %v", info)
		}
		if k := req[2].([]any); len(k) != 1 || k[0] != "deadbeef" {
			t.Errorf("task keys = %v", k)
		}
		if o := req[3].(map[string]any); o["event"] == nil || len(o["arch"].([]any)) != 1 {
			t.Errorf("task opts = %v", o)
		}
		repoID := req[1].(int64)
		ri := th.anon().must("repoInfo", repoID).(map[string]any)
		if ri["dist"] != true || ri["state"] != int64(0) {
			t.Errorf("repoInfo = %v", ri)
		}
		repoDir := filepath.Join(top, "repos-dist", "dist", itoa(repoID))
		var rj map[string]any
		if b, err := os.ReadFile(filepath.Join(repoDir, "repo.json")); err != nil || json.Unmarshal(b, &rj) != nil || rj["tag"] != "dist" {
			t.Errorf("repo.json = %s, %v", b, err)
		}

		// What createdistrepo uploads, under work/.
		host, _ := th.addHost("builder1", "x86_64")
		up := "tasks/7/7"
		upDir := filepath.Join(top, "work", up)
		os.MkdirAll(filepath.Join(upDir, "repodata"), 0o755)
		os.WriteFile(filepath.Join(upDir, "repodata", "repomd.xml"), []byte("<repomd/>"), 0o644)
		os.WriteFile(filepath.Join(upDir, "pkglist"), []byte("Packages/f/foo-1.0-1.x86_64.rpm\n"), 0o644)
		rpm := th.anon().must("getRPM", rpmID).(map[string]any)
		entry := map[string]any{}
		for _, k := range []string{"id", "build_id", "name", "version", "release", "arch", "epoch", "size", "payloadhash"} {
			entry[k] = rpm[k]
		}
		entry["sigkey"] = "deadbeef"
		writeJSON := func(name string, v any) {
			b, _ := json.Marshal(v)
			os.WriteFile(filepath.Join(upDir, name), b, 0o644)
		}
		manifest := []string{"repodata/repomd.xml", "pkglist"}
		writeJSON("repo_manifest", manifest)
		pkgs := map[string]any{"foo-1.0-1.x86_64.rpm": entry}
		writeJSON("kojipkgs", pkgs)

		alice.fault(kojixml.AuthError, "host.distRepoMove", repoID, up, "x86_64")
		for _, tc := range []struct {
			name     string
			args     []any
			manifest any
			pkgs     any
			want     string
		}{
			{"unknown repo", []any{int64(9999), up, "x86_64"}, nil, nil, "No such repo"},
			{"arch without directory", []any{repoID, up, "aarch64"}, nil, nil, "Repo arch directory missing"},
			{"hostile arch", []any{repoID, up, "../../x"}, nil, nil, "cannot be a directory name"},
			{"hostile upload path", []any{repoID, "../../etc", "x86_64"}, nil, nil, "Invalid upload directory"},
			{"no manifest", []any{repoID, "tasks/8/8", "x86_64"}, nil, nil, "Missing repo manifest"},
			{"manifest leaving", []any{repoID, up, "x86_64"}, []string{"../../../etc/passwd"}, nil, "Invalid file in repo manifest"},
			{"manifest missing file", []any{repoID, up, "x86_64"}, []string{"repodata/nosuch.xml"}, nil, "uploaded file missing"},
			{"manifest not a list", []any{repoID, up, "x86_64"}, map[string]any{"a": 1}, nil, "invalid JSON"},
			{"size differs", []any{repoID, up, "x86_64"}, manifest, map[string]any{"foo-1.0-1.x86_64.rpm": with2(entry, "size", 1)}, "kojipkgs entry does not match db: file foo-1.0-1.x86_64.rpm, key size"},
			{"other file name", []any{repoID, up, "x86_64"}, manifest, map[string]any{"bar.rpm": entry}, "kojipkgs entry does not match db"},
			{"hostile file name", []any{repoID, up, "x86_64"}, manifest, map[string]any{"../../x.rpm": entry}, "Invalid file name in kojipkgs"},
			{"hostile sigkey", []any{repoID, up, "x86_64"}, manifest, map[string]any{"foo-1.0-1.x86_64.rpm": with2(entry, "sigkey", "../../..")}, "key sigkey"},
			{"key without copy", []any{repoID, up, "x86_64"}, manifest, map[string]any{"foo-1.0-1.x86_64.rpm": with2(entry, "sigkey", "cafef00d")}, "No such file"},
		} {
			if tc.manifest != nil {
				writeJSON("repo_manifest", tc.manifest)
			}
			if tc.pkgs != nil {
				writeJSON("kojipkgs", tc.pkgs)
			}
			if f := host.fault(kojixml.GenericError, "host.distRepoMove", tc.args...); !strings.Contains(f.String, tc.want) {
				t.Errorf("host.distRepoMove(%s) = %q, want %q", tc.name, f.String, tc.want)
			}
			writeJSON("repo_manifest", manifest)
			writeJSON("kojipkgs", pkgs)
		}
		host.fault(kojixml.ParameterError, "host.distRepoMove", repoID, up)
		host.fault(kojixml.ParameterError, "host.distRepoMove", "x", up, "x86_64")
		if _, err := os.Stat(filepath.Join(upDir, "repodata", "repomd.xml")); err != nil {
			t.Fatalf("a refused distRepoMove moved files: %v", err)
		}

		host.must("host.distRepoMove", repoID, up, "x86_64")
		archDir := filepath.Join(repoDir, "x86_64")
		signed, _ := os.ReadFile(filepath.Join(top, "packages/foo/1.0/1/data/signed/deadbeef/x86_64/foo-1.0-1.x86_64.rpm"))
		if got, err := os.ReadFile(filepath.Join(archDir, "Packages/f/foo-1.0-1.x86_64.rpm")); err != nil || !bytes.Equal(got, signed) || len(signed) == 0 {
			t.Errorf("the repo's foo is not the signed copy: %v", err)
		}
		for _, f := range manifest {
			if _, err := os.Stat(filepath.Join(archDir, f)); err != nil {
				t.Errorf("%s not moved: %v", f, err)
			}
		}
		host.must("host.repoDone", repoID, map[string]any{})
		if ri := th.anon().must("repoInfo", repoID).(map[string]any); ri["state"] != int64(1) {
			t.Errorf("after repoDone: %v", ri)
		}
		if l, err := os.Readlink(filepath.Join(top, "repos-dist", "dist", "latest")); err != nil || l != itoa(repoID) {
			t.Errorf("repos-dist/dist/latest = %q, %v", l, err)
		}
		if f := host.fault(kojixml.GenericError, "host.distRepoMove", repoID, up, "x86_64"); f.String != "Repo is in state: READY" {
			t.Errorf("distRepoMove of a READY repo = %q", f.String)
		}

		// host.writeSignedRPM is for hosts only.
		alice.fault(kojixml.AuthError, "host.writeSignedRPM", rpmID, "deadbeef")
		host.must("host.writeSignedRPM", rpmID, "deadbeef", true)
	})
}

func with2(m map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for n, x := range m {
		out[n] = x
	}
	out[k] = v
	return out
}

func (o kw) merge(k string, v any) kw {
	o[k] = v
	return o
}

// TestDistRepoCompsOption: comps (a file under work/, as koji dist-repo
// --comps uploads it) is copied to groups/comps.xml; split_debuginfo is
// taken; bad comps paths, multilib, delta RPMs and zchunk are refused
// with what to do instead; a debug subrepo's files move into <arch>/debug.
func TestDistRepoCompsOption(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		top := th.hub.cfg.TopDir
		admin := th.login(th.ensureAdmin(), "adminpw")
		admin.must("createTag", "dist", kw{"arches": "x86_64"})
		comps := "<?xml version=\"1.0\"?>\n<comps><group><id>g</id><name>G</name></group></comps>\n"
		if err := os.MkdirAll(filepath.Join(top, "work", "cli-dist-repo", "abc"), 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(top, "work", "cli-dist-repo", "abc", "comps.xml"), []byte(comps), 0o644)
		os.Symlink("/etc/passwd", filepath.Join(top, "work", "cli-dist-repo", "abc", "link.xml"))
		base := kw{"arch": []any{"x86_64"}, "comps": "cli-dist-repo/abc/comps.xml", "split_debuginfo": true}
		for _, tc := range []struct {
			k    string
			v    any
			code int
			want string
		}{
			{"comps", "../../etc/passwd", kojixml.ParameterError, "relative path"},
			{"comps", "/etc/passwd", kojixml.ParameterError, "relative path"},
			{"comps", int64(3), kojixml.ParameterError, "koji dist-repo --comps"},
			{"comps", "cli-dist-repo/abc/missing.xml", kojixml.GenericError, "comps file"},
			{"comps", "cli-dist-repo/abc/link.xml", kojixml.GenericError, "comps file"},
			{"multilib", "cli-dist-repo/abc/multilib.conf", kojixml.ParameterError, "--arch i686"},
			{"delta", []any{int64(3)}, kojixml.ParameterError, "createrepo_c --update --deltas"},
			{"zck", true, kojixml.ParameterError, "without --zck"},
			{"zck_dict_dir", "/usr/share/zck", kojixml.ParameterError, "zck"},
		} {
			o := kw{}
			for k, v := range base {
				o[k] = v
			}
			o[tc.k] = tc.v
			f := admin.fault(tc.code, "distRepo", "dist", []any{"deadbeef"}, o)
			if !strings.Contains(f.String, tc.want) {
				t.Errorf("distRepo with %s=%v: %q, want it to mention %q", tc.k, tc.v, f.String, tc.want)
			}
		}
		if rs, err := th.store.QueryRepos(context.Background(), nil); err != nil || len(rs) != 0 {
			t.Errorf("refused distRepo calls made repos: %v", rs)
		}
		taskID := admin.must("distRepo", "dist", []any{"deadbeef"}, base).(int64)
		req := th.anon().must("getTaskRequest", taskID).([]any)
		repoID := req[1].(int64)
		if o := req[3].(map[string]any); o["comps"] != "cli-dist-repo/abc/comps.xml" || o["split_debuginfo"] != true {
			t.Errorf("task opts = %v", o)
		}
		repoDir := filepath.Join(top, "repos-dist", "dist", itoa(repoID))
		if b, err := os.ReadFile(filepath.Join(repoDir, "groups", "comps.xml")); err != nil || string(b) != comps {
			t.Errorf("groups/comps.xml = %q, %v", b, err)
		}

		// the debug subrepo's files move with the rest
		th.addHost("builder1", "x86_64")
		hc := th.login("builder1", "hostpw")
		hc.must("exclusiveSession", kw{"force": true})
		up := "tasks/8/8"
		upDir := filepath.Join(top, "work", up)
		for _, f := range []string{"repodata/repomd.xml", "pkglist", "debug/repodata/repomd.xml", "debug/pkglist"} {
			os.MkdirAll(filepath.Dir(filepath.Join(upDir, f)), 0o755)
			os.WriteFile(filepath.Join(upDir, f), []byte(f), 0o644)
		}
		b, _ := json.Marshal([]string{"repodata/repomd.xml", "pkglist", "debug/repodata/repomd.xml", "debug/pkglist"})
		os.WriteFile(filepath.Join(upDir, "repo_manifest"), b, 0o644)
		os.WriteFile(filepath.Join(upDir, "kojipkgs"), []byte("{}"), 0o644)
		hc.must("host.distRepoMove", repoID, up, "x86_64")
		if b, err := os.ReadFile(filepath.Join(repoDir, "x86_64", "debug", "pkglist")); err != nil || string(b) != "debug/pkglist" {
			t.Errorf("x86_64/debug/pkglist = %q, %v", b, err)
		}
	})
}
