package hubcore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

func TestVolumes(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		th.addUser("alice", "pw")
		alice := th.login("alice", "pw")
		anon := th.anon()
		top := th.hub.cfg.TopDir

		if v := anon.must("listVolumes"); !reflect.DeepEqual(v, []any{map[string]any{"id": int64(0), "name": "DEFAULT"}}) {
			t.Errorf("listVolumes = %v", v)
		}
		if v := anon.must("getVolume", "DEFAULT"); !reflect.DeepEqual(v, map[string]any{"id": int64(0), "name": "DEFAULT"}) {
			t.Errorf("getVolume(DEFAULT) = %v", v)
		}
		if v := anon.must("getVolume", "vol1"); v != nil {
			t.Errorf("getVolume(vol1) = %v", v)
		}
		if f := anon.fault(kojixml.GenericError, "getVolume", "vol1", true); f.String != "No such volume: vol1" {
			t.Errorf("getVolume strict = %q", f.String)
		}
		anon.fault(kojixml.ParameterError, "getVolume", []any{})

		alice.fault(kojixml.ActionNotAllowed, "addVolume", "vol1")
		if f := admin.fault(kojixml.GenericError, "addVolume", "vol1"); f.String != "please create the volume directory first" {
			t.Errorf("addVolume without its directory = %q", f.String)
		}
		for _, bad := range []any{"../etc", "a/b", "..", "a b", ""} {
			admin.fault(kojixml.NameValidationError, "addVolume", bad)
		}
		admin.fault(kojixml.GenericError, "addVolume", int64(1))
		voldir := filepath.Join(top, "vol", "vol1")
		if err := os.MkdirAll(voldir, 0o755); err != nil {
			t.Fatal(err)
		}
		v := admin.must("addVolume", "vol1").(map[string]any)
		if v["name"] != "vol1" || v["id"] == int64(0) {
			t.Errorf("addVolume = %v", v)
		}
		if dst, err := os.Readlink(filepath.Join(voldir, "toplink")); err != nil || dst != top {
			t.Errorf("toplink = %q, %v; want %q", dst, err, top)
		}
		if f := admin.fault(kojixml.GenericError, "addVolume", "vol1"); f.String != "volume vol1 already exists" {
			t.Errorf("second addVolume = %q", f.String)
		}
		if again := admin.must("addVolume", "vol1", false); !reflect.DeepEqual(again, v) {
			t.Errorf("addVolume(strict=False) = %v, want %v", again, v)
		}
		bad := filepath.Join(top, "vol", "bad")
		os.MkdirAll(filepath.Join(bad, "toplink"), 0o755)
		if f := admin.fault(kojixml.GenericError, "addVolume", "bad"); f.String != "Not a symlink: "+filepath.Join(bad, "toplink") {
			t.Errorf("addVolume with a toplink directory = %q", f.String)
		}

		// a build with files, tagged
		admin.must("createTag", "f40")
		admin.must("packageListAdd", "f40", "hello", kw{"owner": "kojiadmin"})
		bid := admin.must("createEmptyBuild", "hello", "1.0", "1", nil).(int64)
		admin.must("tagBuildBypass", "f40", bid)
		defdir := filepath.Join(top, "packages", "hello", "1.0", "1")
		os.MkdirAll(filepath.Join(defdir, "x86_64"), 0o755)
		os.WriteFile(filepath.Join(defdir, "x86_64", "hello-1.0-1.x86_64.rpm"), []byte("rpm"), 0o644)
		os.Symlink("x86_64/hello-1.0-1.x86_64.rpm", filepath.Join(defdir, "link.rpm"))
		before := admin.must("tagLastChangeEvent", "f40").(int64)

		alice.fault(kojixml.ActionNotAllowed, "changeBuildVolume", bid, "vol1")
		if f := admin.fault(kojixml.GenericError, "changeBuildVolume", bid, "nosuch"); f.String != "No such entry in table volume: nosuch" {
			t.Errorf("changeBuildVolume to a missing volume = %q", f.String)
		}
		admin.fault(kojixml.GenericError, "changeBuildVolume", "nosuch-1-1", "vol1")
		if f := admin.fault(kojixml.GenericError, "changeBuildVolume", bid, "DEFAULT"); f.String != "Build hello-1.0-1 already on volume DEFAULT" {
			t.Errorf("changeBuildVolume to its own volume = %q", f.String)
		}
		admin.must("changeBuildVolume", bid, "DEFAULT", false)

		admin.must("changeBuildVolume", "hello-1.0-1", v["id"])
		b := anon.must("getBuild", bid).(map[string]any)
		if b["volume_id"] != v["id"] || b["volume_name"] != "vol1" {
			t.Errorf("getBuild after the move: volume %v %v", b["volume_id"], b["volume_name"])
		}
		newdir := filepath.Join(voldir, "packages", "hello", "1.0", "1")
		if data, err := os.ReadFile(filepath.Join(newdir, "x86_64", "hello-1.0-1.x86_64.rpm")); err != nil || string(data) != "rpm" {
			t.Errorf("moved rpm: %q, %v", data, err)
		}
		if dst, err := os.Readlink(filepath.Join(newdir, "link.rpm")); err != nil || dst != "x86_64/hello-1.0-1.x86_64.rpm" {
			t.Errorf("moved symlink: %q, %v", dst, err)
		}
		if dst, err := os.Readlink(defdir); err != nil || dst != "../../../vol/vol1/packages/hello/1.0/1" {
			t.Errorf("DEFAULT place = %q, %v; want the relative symlink", dst, err)
		}
		if data, err := os.ReadFile(filepath.Join(defdir, "x86_64", "hello-1.0-1.x86_64.rpm")); err != nil || string(data) != "rpm" {
			t.Errorf("rpm through the DEFAULT place: %q, %v", data, err)
		}
		if after := admin.must("tagLastChangeEvent", "f40").(int64); after <= before {
			t.Errorf("tagLastChangeEvent = %d after the move, was %d: a volume change is a change of the tag", after, before)
		}
		entries, _ := os.ReadDir(filepath.Dir(defdir))
		if len(entries) != 1 {
			t.Errorf("leftovers next to the build: %v", entries)
		}
		if bs := anon.must("listBuilds", kw{"volumeID": v["id"]}).([]any); len(bs) != 1 || bs[0].(map[string]any)["id"] != bid {
			t.Errorf("listBuilds(volumeID=vol1) = %v", bs)
		}
		if bs := anon.must("listBuilds", kw{"volumeID": int64(0)}).([]any); len(bs) != 0 {
			t.Errorf("listBuilds(volumeID=0) = %v", bs)
		}
		if f := admin.fault(kojixml.GenericError, "removeVolume", "vol1"); f.String != "volume vol1 has build references" {
			t.Errorf("removeVolume of a used volume = %q", f.String)
		}

		// and back
		admin.must("changeBuildVolume", bid, "DEFAULT")
		if st, err := os.Lstat(defdir); err != nil || !st.IsDir() {
			t.Errorf("DEFAULT place after moving back: %v, %v", st, err)
		}
		if _, err := os.Lstat(newdir); !os.IsNotExist(err) {
			t.Errorf("the vol1 copy is still there: %v", err)
		}
		if data, err := os.ReadFile(filepath.Join(defdir, "x86_64", "hello-1.0-1.x86_64.rpm")); err != nil || string(data) != "rpm" {
			t.Errorf("rpm after moving back: %q, %v", data, err)
		}
		if b := anon.must("getBuild", bid).(map[string]any); b["volume_name"] != "DEFAULT" {
			t.Errorf("volume_name after moving back = %v", b["volume_name"])
		}

		// a build still building stays where it is
		owner := admin.userID(t)
		building, err := th.store.CreateBuild(context.Background(), db.NewBuild{PackageName: "hello", Version: "2.0", Release: "1", State: db.BuildBuilding, OwnerID: owner})
		if err != nil {
			t.Fatal(err)
		}
		if f := admin.fault(kojixml.GenericError, "changeBuildVolume", building, "vol1"); f.String != "Build hello-2.0-1 is BUILDING" {
			t.Errorf("move of a building build = %q", f.String)
		}
		alice.fault(kojixml.ActionNotAllowed, "removeVolume", "vol1")
		admin.must("removeVolume", "vol1")
		if v := anon.must("getVolume", "vol1"); v != nil {
			t.Errorf("getVolume after removeVolume = %v", v)
		}
		admin.fault(kojixml.GenericError, "removeVolume", "vol1")
		admin.fault(kojixml.GenericError, "removeVolume", "DEFAULT")
	})
}

func TestChangeBuildVolumeRefusals(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		top := th.hub.cfg.TopDir
		os.MkdirAll(filepath.Join(top, "vol", "vol1"), 0o755)
		admin.must("addVolume", "vol1")
		bid := admin.must("createEmptyBuild", "hello", "1.0", "1", nil).(int64)
		if f := admin.fault(kojixml.GenericError, "changeBuildVolume", bid, "vol1"); f.String != "Build directory missing: "+filepath.Join(top, "packages", "hello", "1.0", "1") {
			t.Errorf("move of a build without files = %q", f.String)
		}
		defdir := filepath.Join(top, "packages", "hello", "1.0", "1")
		os.MkdirAll(defdir, 0o755)
		dest := filepath.Join(top, "vol", "vol1", "packages", "hello", "1.0", "1")
		os.MkdirAll(dest, 0o755)
		if f := admin.fault(kojixml.GenericError, "changeBuildVolume", bid, "vol1"); f.String != "Destination directory exists: "+dest {
			t.Errorf("move onto existing content = %q", f.String)
		}
		os.RemoveAll(filepath.Join(top, "vol", "vol1"))
		if f := admin.fault(kojixml.GenericError, "changeBuildVolume", bid, "vol1"); f.String != "Directory entry missing for volume vol1" {
			t.Errorf("move to a volume without its directory = %q", f.String)
		}
		if b := admin.must("getBuild", bid).(map[string]any); b["volume_name"] != "DEFAULT" {
			t.Errorf("a refused move changed the build's volume: %v", b["volume_name"])
		}
	})
}

// TestVolumePolicyAtCompletion: a completing build goes to the volume the
// 'volume' policy names: its files under topdir/vol/NAME/packages, a
// symlink at the DEFAULT place, getBuild's volume fields, downloads from
// /kojifiles/ by the usual path; a policy naming no volume gives DEFAULT;
// a volume whose directory is gone is a fault that leaves the build.
func TestVolumePolicyAtCompletion(t *testing.T) {
	pol := writePolicyConf(t, "volume =\n    package hello hello-doc :: archive\n    package ghost :: nosuchvolume\n    buildtag dest-build && package gone :: gone\n    all :: DEFAULT\nvm =\n    volume archive :: deny archived\n    all :: allow\n")
	forBackendsWith(t, func(c *Config) { c.Policies = pol; c.Notify.Disabled = true }, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		aliceID := th.addUser("alice", "pw")
		setupTarget(t, admin)
		top := th.hub.cfg.TopDir
		for _, v := range []string{"archive", "gone"} {
			if err := os.MkdirAll(filepath.Join(top, "vol", v), 0o755); err != nil {
				t.Fatal(err)
			}
			admin.must("addVolume", v)
		}
		archive := admin.must("getVolume", "archive").(map[string]any)
		hc, hostID := th.addHost("builder1")
		hc.must("host.updateHost", 0.0, true)

		check := func(name, wantVol string) {
			t.Helper()
			nvr := [3]string{name, "1.0", "1"}
			taskID, buildID := notifyBuild(t, th, hostID, aliceID, hc, nvr)
			completeNotifyBuild(t, th, hc, taskID, buildID, nvr)
			b := th.anon().must("getBuild", buildID).(map[string]any)
			if b["volume_name"] != wantVol || b["state"] != int64(db.BuildComplete) {
				t.Errorf("%s: getBuild volume %v (%v), state %v; want %s", name, b["volume_name"], b["volume_id"], b["state"], wantVol)
			}
			if wantVol == "archive" && b["volume_id"] != archive["id"] {
				t.Errorf("%s: volume_id = %v, want %v", name, b["volume_id"], archive["id"])
			}
			base := filepath.Join(top, "packages", name, "1.0", "1")
			file := filepath.Join("x86_64", name+"-1.0-1.x86_64.rpm")
			if wantVol == "DEFAULT" {
				if isSymlink(base) {
					t.Errorf("%s: DEFAULT build's directory is a symlink", name)
				}
			} else {
				link, err := os.Readlink(base)
				if want := "../../../vol/" + wantVol + "/packages/" + name + "/1.0/1"; err != nil || link != want {
					t.Errorf("%s: DEFAULT place = %q, %v; want a symlink to %s", name, link, err, want)
				}
				if st, err := os.Lstat(filepath.Join(top, "vol", wantVol, "packages", name, "1.0", "1", file)); err != nil || !st.Mode().IsRegular() {
					t.Errorf("%s: file on volume %s: %v", name, wantVol, err)
				}
			}
			// the end-to-end check: the package downloads by its usual URL
			resp, err := http.Get(th.srv.URL + "/kojifiles/packages/" + name + "/1.0/1/" + filepath.ToSlash(file))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			onDisk, _ := os.ReadFile(filepath.Join(base, file))
			if resp.StatusCode != 200 || len(body) == 0 || !bytes.Equal(body, onDisk) {
				t.Errorf("%s: download = HTTP %d, %d bytes", name, resp.StatusCode, len(body))
			}
		}
		check("hello", "archive")
		check("other", "DEFAULT")
		check("ghost", "DEFAULT") // the policy names no volume: DEFAULT

		// the volume policy test sees the build's volume, or data's volume
		for _, tc := range []struct {
			data map[string]any
			want string
		}{
			{map[string]any{"build": "hello-1.0-1"}, "deny"},
			{map[string]any{"build": "other-1.0-1"}, "allow"},
			{map[string]any{"volume": "archive"}, "deny"},
			{map[string]any{"volume": archive["id"]}, "deny"},
			{map[string]any{"volume": "DEFAULT"}, "allow"},
			{map[string]any{"volume": "nosuch"}, "allow"},
		} {
			if res := admin.must("kojigo.checkPolicy", "vm", tc.data).(map[string]any); res["result"] != tc.want {
				t.Errorf("volume test on %v = %v, want %s", tc.data, res["result"], tc.want)
			}
		}
		// changeBuildVolume takes a policy-placed build back
		admin.must("changeBuildVolume", "hello-1.0-1", "DEFAULT")
		if b := th.anon().must("getBuild", "hello-1.0-1").(map[string]any); b["volume_name"] != "DEFAULT" || isSymlink(filepath.Join(top, "packages", "hello", "1.0", "1")) {
			t.Errorf("after changeBuildVolume: %v", b["volume_name"])
		}

		// a volume whose directory is gone: a fault, the build stays BUILDING
		if err := os.RemoveAll(filepath.Join(top, "vol", "gone")); err != nil {
			t.Fatal(err)
		}
		nvr := [3]string{"gone", "1.0", "1"}
		taskID, buildID := notifyBuild(t, th, hostID, aliceID, hc, nvr)
		dir := fmt.Sprintf("tasks/%d/%d", taskID%10000, taskID)
		writeRPM(t, top, dir+"/gone-1.0-1.src.rpm", "gone", "1.0", "1", "x86_64", "", true)
		f := hc.fault(kojixml.GenericError, "host.completeBuild", taskID, buildID, dir+"/gone-1.0-1.src.rpm", []any{})
		if !strings.Contains(f.String, "Directory entry missing for volume gone") {
			t.Errorf("fault = %q", f.String)
		}
		if b := th.anon().must("getBuild", buildID).(map[string]any); b["state"] != int64(db.BuildBuilding) {
			t.Errorf("build after the refused import: %v", b["state"])
		}
	})
}
