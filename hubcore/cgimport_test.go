package hubcore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// cgFixture is a hub with a content generator "osbs" granted to user
// cgbot, and the files of one import uploaded.
type cgFixture struct {
	th    *testHub
	admin *client
	bot   *client
	files map[string][]byte // relpath/filename -> body
}

func newCGFixture(t *testing.T, th *testHub) *cgFixture {
	t.Helper()
	f := &cgFixture{th: th, admin: th.login(th.ensureAdmin(), "adminpw"), files: map[string][]byte{}}
	th.addUser("cgbot", "pw")
	f.admin.must("grantCGAccess", "cgbot", "osbs", kw{"create": true})
	f.bot = th.login("cgbot", "pw")
	return f
}

// upload puts a file into work/<dir>/<rel> as `koji import-cg` does.
func (f *cgFixture) upload(t *testing.T, dir, rel string, body []byte) {
	t.Helper()
	d := dir
	if sub := filepath.Dir(rel); sub != "." {
		d = dir + "/" + sub
	}
	f.bot.upload(t, d, filepath.Base(rel), body)
	f.files[rel] = body
}

// output is one metadata output for an uploaded file.
func cgOutputMeta(rel string, body []byte, typ string, br any) map[string]any {
	sum := sha256.Sum256(body)
	o := map[string]any{"buildroot_id": br, "filename": filepath.Base(rel), "filesize": int64(len(body)),
		"arch": "noarch", "checksum": hex.EncodeToString(sum[:]), "checksum_type": "sha256", "type": typ}
	if d := filepath.Dir(rel); d != "." {
		o["relpath"] = d
	}
	return o
}

// cgMeta is the metadata of an import of foo-1.0-1: its source and binary
// rpm and a log, from one buildroot with tools and components.
func cgMeta(components []any, outputs ...any) map[string]any {
	if components == nil {
		components = []any{}
	}
	return map[string]any{
		"metadata_version": int64(0),
		"build": map[string]any{"name": "foo", "version": "1.0", "release": "1", "source": "git://example.com/foo#abc",
			"start_time": int64(1700000000), "end_time": int64(1700000600), "extra": map[string]any{"note": "cg"}},
		"buildroots": []any{map[string]any{
			"id": int64(1), "host": map[string]any{"os": "Fedora 40", "arch": "x86_64"},
			"content_generator": map[string]any{"name": "osbs", "version": "1.2"},
			"container":         map[string]any{"type": "docker", "arch": "x86_64"},
			"tools":             []any{map[string]any{"name": "docker", "version": "24.0"}, map[string]any{"name": "rpmbuild", "version": "4.19"}},
			"components":        components,
			"extra":             map[string]any{"osbs": map[string]any{"build_id": "x"}},
		}},
		"output": outputs,
	}
}

// uploadFoo uploads foo's outputs to dir and returns the metadata outputs.
func (f *cgFixture) uploadFoo(t *testing.T, dir string) []any {
	t.Helper()
	srpm := rpmBytes(t, "foo", "1.0", "1", "x86_64", "")
	bin := rpmBytes(t, "foo", "1.0", "1", "x86_64", "foo-1.0-1.src.rpm")
	log := []byte("build went fine\n")
	f.upload(t, dir, "foo-1.0-1.src.rpm", srpm)
	f.upload(t, dir, "x86_64/foo-1.0-1.x86_64.rpm", bin)
	f.upload(t, dir, "logs/build.log", log)
	lo := cgOutputMeta("logs/build.log", log, "log", int64(1))
	lo["subdir"] = "x86_64"
	return []any{cgOutputMeta("foo-1.0-1.src.rpm", srpm, "rpm", int64(1)), cgOutputMeta("x86_64/foo-1.0-1.x86_64.rpm", bin, "rpm", int64(1)), lo}
}

// dep imports dep-1.0-1.src.rpm (a component the import can match) and
// returns its rpm row.
func (f *cgFixture) dep(t *testing.T) map[string]any {
	t.Helper()
	dir := f.admin.upload(t, "dep-upload", "dep-1.0-1.src.rpm", rpmBytes(t, "dep", "1.0", "1", "x86_64", ""))
	return f.admin.must("importRPM", dir, "dep-1.0-1.src.rpm").(map[string]any)
}

func cgComponents(dep map[string]any) []any {
	return []any{
		map[string]any{"type": "rpm", "name": "dep", "version": "1.0", "release": "1", "epoch": nil, "arch": "src", "sigmd5": dep["payloadhash"], "signature": nil},
		map[string]any{"type": "rpm", "name": "ghost", "version": "9", "release": "9", "epoch": nil, "arch": "noarch", "sigmd5": "00", "signature": nil},
		map[string]any{"type": "file", "filename": "base.tar", "filesize": int64(3), "checksum": "ab", "checksum_type": "md5"},
	}
}

func TestCGImportHappyPath(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		f := newCGFixture(t, th)
		dep := f.dep(t)
		outs := f.uploadFoo(t, "cli-import/abc")
		meta := cgMeta(cgComponents(dep), outs...)

		b := f.bot.must("CGImport", meta, "cli-import/abc").(map[string]any)
		if b["nvr"] != "foo-1.0-1" || b["state"] != int64(db.BuildComplete) || b["cg_name"] != "osbs" || b["cg_id"] == nil ||
			b["owner_name"] != "cgbot" || b["source"] != "git://example.com/foo#abc" || b["start_ts"] != float64(1700000000) ||
			b["completion_ts"] != float64(1700000600) {
			t.Errorf("CGImport = %v", b)
		}
		if extra, _ := b["extra"].(map[string]any); extra["note"] != "cg" || extra["typeinfo"] == nil {
			t.Errorf("build extra = %v, want note and an empty typeinfo", b["extra"])
		}
		id := b["id"].(int64)
		anon := th.anon()
		if got := anon.must("getBuild", id).(map[string]any); got["cg_name"] != "osbs" {
			t.Errorf("getBuild cg_name = %v", got["cg_name"])
		}
		for _, cg := range []any{"osbs", b["cg_id"]} {
			if l := anon.must("listBuilds", kw{"cgID": cg}).([]any); len(l) != 1 || l[0].(map[string]any)["id"] != id {
				t.Errorf("listBuilds(cgID=%v) = %v", cg, l)
			}
		}
		if l := anon.must("listBuilds", kw{"cgID": "nosuch"}).([]any); len(l) != 0 {
			t.Errorf("listBuilds(cgID=nosuch) = %v", l)
		}
		rpms := anon.must("listRPMs", id).([]any)
		if len(rpms) != 2 {
			t.Fatalf("listRPMs = %v", rpms)
		}
		brID, _ := rpms[0].(map[string]any)["buildroot_id"].(int64)
		for _, r := range rpms {
			if r.(map[string]any)["buildroot_id"] != brID || brID == 0 {
				t.Errorf("rpm %v: buildroot_id, want %d", r, brID)
			}
		}
		br := anon.must("getBuildroot", brID).(map[string]any)
		for k, want := range map[string]any{"br_type": int64(1), "cg_name": "osbs", "cg_version": "1.2", "container_type": "docker",
			"container_arch": "x86_64", "arch": "x86_64", "host_os": "Fedora 40", "host_arch": "x86_64", "state": nil, "host_id": nil, "task_id": nil} {
			if br[k] != want {
				t.Errorf("getBuildroot[%s] = %v, want %v", k, br[k], want)
			}
		}
		if extra, _ := br["extra"].(map[string]any); extra["osbs"] == nil {
			t.Errorf("getBuildroot extra = %v", br["extra"])
		}
		if l := anon.must("listBuildroots", kw{"buildrootID": brID}).([]any); len(l) != 1 || l[0].(map[string]any)["cg_name"] != "osbs" {
			t.Errorf("listBuildroots = %v", l)
		}
		if l := anon.must("listBuildroots", kw{"state": int64(db.BuildrootExpired)}).([]any); len(l) != 0 {
			t.Errorf("listBuildroots(state=EXPIRED) lists a CG buildroot: %v", l)
		}
		listing := anon.must("getBuildrootListing", brID).([]any)
		if len(listing) != 1 || listing[0].(map[string]any)["rpm_id"] != dep["id"] {
			t.Errorf("getBuildrootListing = %v, want dep only (ghost is not this hub's)", listing)
		}
		tools, err := th.store.BuildrootTools(context.Background(), brID)
		if err != nil || len(tools) != 2 || tools[0] != (db.BuildrootTool{Name: "docker", Version: "24.0"}) {
			t.Errorf("BuildrootTools = %v, %v", tools, err)
		}
		// files: under packages/, a link left in the work directory
		top := th.hub.cfg.TopDir
		base := filepath.Join(top, "packages", "foo", "1.0", "1")
		for rel, want := range map[string]string{"src/foo-1.0-1.src.rpm": "foo-1.0-1.src.rpm", "x86_64/foo-1.0-1.x86_64.rpm": "x86_64/foo-1.0-1.x86_64.rpm",
			"data/logs/x86_64/build.log": "logs/build.log"} {
			body, err := os.ReadFile(filepath.Join(base, rel))
			if err != nil || string(body) != string(f.files[want]) {
				t.Errorf("%s: %v (%d bytes, want %d)", rel, err, len(body), len(f.files[want]))
			}
			if !isSymlink(filepath.Join(top, "work", "cli-import", "abc", want)) {
				t.Errorf("work/cli-import/abc/%s is not a symlink", want)
			}
		}
		raw, err := os.ReadFile(filepath.Join(base, "metadata.json"))
		var back map[string]any
		if err != nil || json.Unmarshal(raw, &back) != nil || back["metadata_version"] != float64(0) {
			t.Errorf("metadata.json = %q, %v", raw, err)
		}
		cglog, err := os.ReadFile(filepath.Join(base, "data", "logs", "cg_import.log"))
		if err != nil || !strings.Contains(string(cglog), "IGNORING unmatched rpm component") || !strings.Contains(string(cglog), "IGNORING unmatched archive") ||
			!strings.HasSuffix(string(cglog), "CG import was SUCCESSFUL.\n") {
			t.Errorf("cg_import.log = %q, %v", cglog, err)
		}
		logs := anon.must("getBuildLogs", id).([]any)
		if len(logs) != 2 {
			t.Errorf("getBuildLogs = %v, want build.log and cg_import.log", logs)
		}
		// the rpms' own (unsigned) signature headers are recorded
		for _, r := range rpms {
			sigs := anon.must("queryRPMSigs", kw{"rpm_id": r.(map[string]any)["id"]}).([]any)
			if len(sigs) != 1 || sigs[0].(map[string]any)["sigkey"] != "" {
				t.Errorf("queryRPMSigs(%v) = %v", r.(map[string]any)["nvr"], sigs)
			}
		}
		if st, err := os.Stat(filepath.Join(base, "data", "sigcache", "x86_64", "foo-1.0-1.x86_64.rpm.sig")); err != nil || st.Size() == 0 {
			t.Errorf("sigcache header: %v", err)
		}
		// the rpm's payloadhash is the md5 Koji records; the file's sha256 the metadata's
		bin := f.files["x86_64/foo-1.0-1.x86_64.rpm"]
		for _, r := range rpms {
			m := r.(map[string]any)
			if m["arch"] == "x86_64" && m["size"] != int64(len(bin)) {
				t.Errorf("rpm size = %v, want %d", m["size"], len(bin))
			}
		}
		// a second import of the same NVR is refused
		if flt := f.bot.fault(kojixml.GenericError, "CGImport", meta, "cli-import/abc"); !strings.Contains(flt.String, "Build already exists: foo-1.0-1") {
			t.Errorf("second import = %q", flt.String)
		}
	})
}

// TestCGImportMetadataForms: the metadata as a JSON string and as an
// uploaded metadata.json (given by name, or None).
func TestCGImportMetadataForms(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		f := newCGFixture(t, th)
		for i, form := range []string{"json", "file", "none"} {
			dir := "cli-import/form" + itoa(int64(i))
			srpm := rpmBytes(t, "m"+form, "1", "1", "x86_64", "")
			f.upload(t, dir, "m"+form+"-1-1.src.rpm", srpm)
			meta := cgMeta(nil, cgOutputMeta("m"+form+"-1-1.src.rpm", srpm, "rpm", int64(1)))
			meta["build"].(map[string]any)["name"] = "m" + form
			meta["build"].(map[string]any)["version"] = "1"
			js, _ := json.Marshal(meta)
			var arg any = string(js)
			if form != "json" {
				f.bot.upload(t, dir, "metadata.json", js)
				arg = "metadata.json"
				if form == "none" {
					arg = nil
				}
			}
			b := f.bot.must("CGImport", arg, dir).(map[string]any)
			if b["nvr"] != "m"+form+"-1-1" || b["cg_name"] != "osbs" {
				t.Errorf("%s: CGImport = %v", form, b)
			}
		}
		if flt := f.bot.fault(kojixml.GenericError, "CGImport", "{not json", "cli-import/form0"); !strings.HasPrefix(flt.String, "Invalid json data: ") {
			t.Errorf("bad json = %q", flt.String)
		}
		if flt := f.bot.fault(kojixml.GenericError, "CGImport", "other.json", "cli-import/form0"); flt.String != "No such file: other.json" {
			t.Errorf("missing file = %q", flt.String)
		}
	})
}

func TestCGImportAccess(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		f := newCGFixture(t, th)
		th.addUser("mallory", "pw")
		mallory := th.login("mallory", "pw")
		outs := f.uploadFoo(t, "cli-import/acc")
		meta := cgMeta(nil, outs...)
		th.anon().fault(kojixml.AuthError, "CGImport", meta, "cli-import/acc")
		if flt := mallory.fault(kojixml.AuthError, "CGImport", meta, "cli-import/acc"); flt.String != "Content generator access required (osbs)" {
			t.Errorf("CGImport without access = %q", flt.String)
		}
		// Koji's assert_cg: a grant, not admin
		f.admin.fault(kojixml.AuthError, "CGImport", meta, "cli-import/acc")
		mallory.fault(kojixml.AuthError, "CGInitBuild", "osbs", map[string]any{"name": "x", "version": "1", "release": "1"})
		if flt := f.bot.fault(kojixml.GenericError, "CGInitBuild", "nosuch", map[string]any{"name": "x", "version": "1", "release": "1"}); flt.String != "No such entry in table content_generator: nosuch" {
			t.Errorf("unknown cg = %q", flt.String)
		}
		// two content generators in one import
		f.admin.must("grantCGAccess", "cgbot", "other", kw{"create": true})
		two := cgMeta(nil, outs...)
		br2 := map[string]any{}
		for k, v := range two["buildroots"].([]any)[0].(map[string]any) {
			br2[k] = v
		}
		br2["id"] = int64(2)
		br2["content_generator"] = map[string]any{"name": "other", "version": "1"}
		two["buildroots"] = append(two["buildroots"].([]any), br2)
		if flt := f.bot.fault(kojixml.GenericError, "CGImport", two, "cli-import/acc"); flt.String != "Koji now support only one content-generator per import" {
			t.Errorf("two CGs = %q", flt.String)
		}
		assertNoImport(t, th, "cli-import/acc", f)
	})
}

// assertNoImport checks that a refused import of foo left nothing: no
// build, no build directory, the uploads where they were.
func assertNoImport(t *testing.T, th *testHub, dir string, f *cgFixture) {
	t.Helper()
	if b := th.anon().must("getBuild", "foo-1.0-1"); b != nil && b.(map[string]any)["state"] != int64(db.BuildBuilding) {
		t.Errorf("a build was left: %v", b)
	}
	brs, err := th.store.ListBuildroots(context.Background(), db.BuildrootFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, br := range brs {
		if br.BrType == db.BuildrootExternal {
			t.Errorf("a content generator's buildroot was left: %+v", br)
		}
	}
	if _, err := os.Lstat(filepath.Join(th.hub.cfg.TopDir, "packages", "foo")); err == nil {
		if entries, _ := os.ReadDir(filepath.Join(th.hub.cfg.TopDir, "packages", "foo", "1.0")); len(entries) > 0 {
			t.Errorf("packages/foo/1.0 holds %v", entries)
		}
	}
	for rel := range f.files {
		p := filepath.Join(th.hub.cfg.TopDir, "work", dir, rel)
		if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() {
			t.Errorf("upload %s: %v (mode %v), want the regular file left in place", rel, err, st)
		}
	}
}

func TestCGReservation(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		f := newCGFixture(t, th)
		f.admin.must("grantCGAccess", "cgbot", "other", kw{"create": true})
		res := f.bot.must("CGInitBuild", "osbs", map[string]any{"name": "foo", "version": "1.0", "release": "1"}).(map[string]any)
		id, tok := res["build_id"].(int64), res["token"].(string)
		if len(tok) != 64 {
			t.Errorf("token %q", tok)
		}
		b := th.anon().must("getBuild", id).(map[string]any)
		if b["state"] != int64(db.BuildBuilding) || b["cg_name"] != "osbs" || b["owner_name"] != "cgbot" || b["epoch"] != nil || b["completion_ts"] != nil {
			t.Errorf("reserved build = %v", b)
		}
		if flt := f.bot.fault(kojixml.GenericError, "CGInitBuild", "osbs", map[string]any{"name": "foo", "version": "1.0", "release": "1"}); !strings.Contains(flt.String, "Build already in progress") {
			t.Errorf("second reservation = %q", flt.String)
		}
		f.bot.fault(kojixml.GenericError, "CGInitBuild", "osbs", map[string]any{"name": "foo", "version": "1-0", "release": "1"})
		f.bot.fault(kojixml.ParameterError, "CGInitBuild", "osbs", map[string]any{"name": "foo", "version": "1.0"})
		f.bot.fault(kojixml.ParameterError, "CGInitBuild", "osbs", map[string]any{"name": "foo", "version": "1.0", "release": "2", "epoch": "x"})

		outs := f.uploadFoo(t, "cli-import/res")
		withID := func(mut func(b map[string]any)) map[string]any {
			m := cgMeta(nil, outs...)
			m["build"].(map[string]any)["build_id"] = id
			if mut != nil {
				mut(m["build"].(map[string]any))
			}
			return m
		}
		for _, tt := range []struct {
			name  string
			meta  map[string]any
			token any
			want  string
		}{
			{"wrong token", withID(nil), "nope", "Token doesn't match build ID " + itoa(id)},
			{"no token", withID(nil), nil, "Token doesn't match build ID " + itoa(id)},
			{"token without build_id", cgMeta(nil, outs...), tok, "Reservation token given, but no build_id in metadata"},
			{"other NVR", withID(func(b map[string]any) { b["release"] = "2" }), tok, "Build (" + itoa(id) + ") NVR is different"},
			{"other name", withID(func(b map[string]any) { b["name"] = "bar" }), tok, "Build (" + itoa(id) + ") NVR is different"},
			{"epoch", withID(func(b map[string]any) { b["epoch"] = int64(1) }), tok, "Build (" + itoa(id) + ") epoch is different"},
			{"draft", withID(func(b map[string]any) { b["draft"] = true }), tok, "Draft field does not match reservation (build id = " + itoa(id) + ")"},
			{"no such build", withID(func(b map[string]any) { b["build_id"] = int64(99999) }), tok, "No such build: 99999"},
		} {
			if flt := f.bot.fault(kojixml.GenericError, "CGImport", tt.meta, "cli-import/res", tt.token); flt.String != tt.want {
				t.Errorf("%s: CGImport = %q, want %q", tt.name, flt.String, tt.want)
			}
		}
		// another CG's import of the reserved build
		other := withID(nil)
		other["buildroots"].([]any)[0].(map[string]any)["content_generator"] = map[string]any{"name": "other", "version": "1"}
		if flt := f.bot.fault(kojixml.GenericError, "CGImport", other, "cli-import/res", tok); flt.String != "Build ID "+itoa(id)+" is not reserved by this CG" {
			t.Errorf("other CG = %q", flt.String)
		}
		assertNoImport(t, th, "cli-import/res", f)

		// the import with the token completes the reserved build
		got := f.bot.must("CGImport", withID(nil), "cli-import/res", tok).(map[string]any)
		if got["id"] != id || got["state"] != int64(db.BuildComplete) || got["cg_name"] != "osbs" {
			t.Errorf("reserved import = %v", got)
		}
		if _, err := th.store.ReservationToken(context.Background(), id); err == nil {
			t.Errorf("reservation left after the import")
		}
		if flt := f.bot.fault(kojixml.GenericError, "CGRefundBuild", "osbs", id, tok); flt.String != "Build ID "+itoa(id)+" is not in BUILDING state" {
			t.Errorf("refund of a complete build = %q", flt.String)
		}

		// refund: faults, then FAILED, then the NVR is recycled
		res = f.bot.must("CGInitBuild", "osbs", map[string]any{"name": "bar", "version": "2", "release": "1", "epoch": int64(3)}).(map[string]any)
		bid, btok := res["build_id"].(int64), res["token"].(string)
		if flt := f.bot.fault(kojixml.GenericError, "CGRefundBuild", "osbs", bid, btok, int64(db.BuildComplete)); flt.String != "Only FAILED/CANCELED build states are allowed" {
			t.Errorf("refund to COMPLETE = %q", flt.String)
		}
		if flt := f.bot.fault(kojixml.GenericError, "CGRefundBuild", "osbs", bid, "nope"); flt.String != "Token doesn't match build ID "+itoa(bid) {
			t.Errorf("refund with a wrong token = %q", flt.String)
		}
		if flt := f.bot.fault(kojixml.GenericError, "CGRefundBuild", "other", bid, btok); flt.String != "Build ID "+itoa(bid)+" is not reserved by this CG" {
			t.Errorf("refund by another CG = %q", flt.String)
		}
		if flt := f.bot.fault(kojixml.GenericError, "CGRefundBuild", "osbs", int64(99999), btok); flt.String != "No such build: 99999" {
			t.Errorf("refund of no build = %q", flt.String)
		}
		if v := f.bot.must("CGRefundBuild", "osbs", bid, btok, kw{"state": int64(db.BuildCanceled)}); v != nil {
			t.Errorf("CGRefundBuild = %v", v)
		}
		if b := th.anon().must("getBuild", bid).(map[string]any); b["state"] != int64(db.BuildCanceled) || b["completion_ts"] == nil {
			t.Errorf("refunded build = %v", b)
		}
		again := f.bot.must("CGInitBuild", "osbs", map[string]any{"name": "bar", "version": "2", "release": "1"}).(map[string]any)
		if again["build_id"] != bid || again["token"] == btok {
			t.Errorf("reservation of a refunded NVR = %v, want build %d recycled with a new token", again, bid)
		}
		// a draft reservation of an NVR that exists is refused, as Koji's new_build
		if flt := f.bot.fault(kojixml.GenericError, "CGInitBuild", "osbs", map[string]any{"name": "foo", "version": "1.0", "release": "1", "draft": true}); flt.String != "Target build already exists: foo-1.0-1 (id="+itoa(id)+")" {
			t.Errorf("draft reservation of an existing NVR = %q", flt.String)
		}
	})
}

// TestCGImportDraftReservation: a draft reservation is imported with the
// metadata's (target) release and draft true.
func TestCGImportDraftReservation(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		f := newCGFixture(t, th)
		res := f.bot.must("CGInitBuild", "osbs", map[string]any{"name": "foo", "version": "1.0", "release": "1", "draft": true}).(map[string]any)
		id, tok := res["build_id"].(int64), res["token"].(string)
		b := th.anon().must("getBuild", id).(map[string]any)
		if b["release"] != "1,draft_"+itoa(id) || b["draft"] != true {
			t.Fatalf("draft reservation = %v", b)
		}
		outs := f.uploadFoo(t, "cli-import/draft")
		m := cgMeta(nil, outs...)
		m["build"].(map[string]any)["build_id"] = id
		if flt := f.bot.fault(kojixml.GenericError, "CGImport", m, "cli-import/draft", tok); !strings.HasPrefix(flt.String, "Draft field does not match") {
			t.Errorf("draft import without draft = %q", flt.String)
		}
		m["build"].(map[string]any)["draft"] = true
		got := f.bot.must("CGImport", m, "cli-import/draft", tok).(map[string]any)
		if got["id"] != id || got["state"] != int64(db.BuildComplete) || got["draft"] != true {
			t.Errorf("draft import = %v", got)
		}
		if rpms := th.anon().must("listRPMs", id).([]any); len(rpms) != 2 {
			t.Errorf("draft build rpms = %v", rpms)
		}
		if _, err := os.Stat(filepath.Join(th.hub.cfg.TopDir, "packages", "foo", "1.0", "1,draft_"+itoa(id), "metadata.json")); err != nil {
			t.Errorf("draft build directory: %v", err)
		}

		// a draft import with no reservation gets its draft release too
		srpm := rpmBytes(t, "bar", "2", "1", "x86_64", "")
		f.upload(t, "cli-import/draft2", "bar-2-1.src.rpm", srpm)
		m = cgMeta(nil, cgOutputMeta("bar-2-1.src.rpm", srpm, "rpm", int64(1)))
		m["build"].(map[string]any)["name"], m["build"].(map[string]any)["version"], m["build"].(map[string]any)["draft"] = "bar", "2", true
		got = f.bot.must("CGImport", m, "cli-import/draft2").(map[string]any)
		if got["draft"] != true || got["release"] != "1,draft_"+itoa(got["id"].(int64)) || got["state"] != int64(db.BuildComplete) {
			t.Errorf("draft import = %v", got)
		}
	})
}

func TestCGImportPolicyDeny(t *testing.T) {
	pol := writePolicyConf(t, "cg_import =\n    package foo :: deny no foo from content generators\n    all :: allow\n")
	forBackendsWith(t, func(c *Config) { c.Policies = pol }, func(t *testing.T, th *testHub) {
		f := newCGFixture(t, th)
		outs := f.uploadFoo(t, "cli-import/pol")
		flt := f.bot.fault(kojixml.ActionNotAllowed, "CGImport", cgMeta(nil, outs...), "cli-import/pol")
		if !strings.HasPrefix(flt.String, "policy violation (cg_import): no foo from content generators") {
			t.Errorf("denied import = %q", flt.String)
		}
		assertNoImport(t, th, "cli-import/pol", f)
	})
}

func TestCGImportVolume(t *testing.T) {
	pol := writePolicyConf(t, "volume =\n    cg_match_any osbs && bool import :: archive\n    all :: DEFAULT\n")
	forBackendsWith(t, func(c *Config) { c.Policies = pol }, func(t *testing.T, th *testHub) {
		f := newCGFixture(t, th)
		top := th.hub.cfg.TopDir
		if err := os.MkdirAll(filepath.Join(top, "vol", "archive"), 0o755); err != nil {
			t.Fatal(err)
		}
		f.admin.must("addVolume", "archive")
		outs := f.uploadFoo(t, "cli-import/vol")
		b := f.bot.must("CGImport", cgMeta(nil, outs...), "cli-import/vol").(map[string]any)
		if b["volume_name"] != "archive" {
			t.Errorf("volume = %v", b["volume_name"])
		}
		base := filepath.Join(top, "packages", "foo", "1.0", "1")
		if !isSymlink(base) {
			t.Errorf("%s is not a symlink to the volume", base)
		}
		if _, err := os.Stat(filepath.Join(top, "vol", "archive", "packages", "foo", "1.0", "1", "x86_64", "foo-1.0-1.x86_64.rpm")); err != nil {
			t.Errorf("rpm on the volume: %v", err)
		}
		if _, err := os.Stat(filepath.Join(top, "vol", "archive", "packages", "foo", "1.0", "1", "metadata.json")); err != nil {
			t.Errorf("metadata.json on the volume: %v", err)
		}
		// a reserved build goes to the policy's volume when it is imported
		res := f.bot.must("CGInitBuild", "osbs", map[string]any{"name": "bar", "version": "2", "release": "1"}).(map[string]any)
		srpm := rpmBytes(t, "bar", "2", "1", "x86_64", "")
		f.upload(t, "cli-import/vol2", "bar-2-1.src.rpm", srpm)
		m := cgMeta(nil, cgOutputMeta("bar-2-1.src.rpm", srpm, "rpm", int64(1)))
		m["build"].(map[string]any)["name"], m["build"].(map[string]any)["version"], m["build"].(map[string]any)["build_id"] = "bar", "2", res["build_id"]
		if b := f.bot.must("CGImport", m, "cli-import/vol2", res["token"]).(map[string]any); b["volume_name"] != "archive" || b["id"] != res["build_id"] {
			t.Errorf("reserved import: volume %v, id %v", b["volume_name"], b["id"])
		}
		if _, err := os.Stat(filepath.Join(top, "vol", "archive", "packages", "bar", "2", "1", "src", "bar-2-1.src.rpm")); err != nil {
			t.Errorf("reserved build's rpm on the volume: %v", err)
		}
	})
}

// TestCGImportHostile: malformed and hostile metadata gets a clear fault
// and leaves nothing behind.
func TestCGImportHostile(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		f := newCGFixture(t, th)
		const dir = "cli-import/bad"
		outs := f.uploadFoo(t, dir)
		// a symlinked upload, and a regular file with the right data elsewhere
		work := filepath.Join(th.hub.cfg.TopDir, "work")
		if err := os.Symlink(filepath.Join(work, dir, "foo-1.0-1.src.rpm"), filepath.Join(work, dir, "link.src.rpm")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(th.hub.cfg.TopDir, "outside.log"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(work, dir, "x86_64"), filepath.Join(work, dir, "lnk")); err != nil {
			t.Fatal(err)
		}

		type mut func(m map[string]any)
		build := func(m map[string]any) map[string]any { return m["build"].(map[string]any) }
		br := func(m map[string]any) map[string]any { return m["buildroots"].([]any)[0].(map[string]any) }
		out := func(m map[string]any, i int) map[string]any { return m["output"].([]any)[i].(map[string]any) }
		for _, tt := range []struct {
			name string
			code int
			want string
			mut  mut
		}{
			{"version", kojixml.GenericError, "No such metadata version: 1", func(m map[string]any) { m["metadata_version"] = int64(1) }},
			{"no version", kojixml.ParameterError, `has no "metadata_version"`, func(m map[string]any) { delete(m, "metadata_version") }},
			{"no build", kojixml.ParameterError, `has no "build"`, func(m map[string]any) { delete(m, "build") }},
			{"build not dict", kojixml.ParameterError, "build must be a dict", func(m map[string]any) { m["build"] = "foo" }},
			{"no name", kojixml.ParameterError, `metadata .build has no "name"`, func(m map[string]any) { delete(build(m), "name") }},
			{"name type", kojixml.ParameterError, "build.name must be a string", func(m map[string]any) { build(m)["name"] = int64(3) }},
			{"name traversal", kojixml.ParameterError, "invalid name", func(m map[string]any) { build(m)["name"] = "../../etc" }},
			{"release dash", kojixml.GenericError, `The "-" character not allowed in release field`, func(m map[string]any) { build(m)["release"] = "1-2" }},
			{"name NUL", kojixml.ParameterError, "invalid name", func(m map[string]any) { build(m)["name"] = "fo\x00o" }},
			{"no start_time", kojixml.ParameterError, `has no "start_time"`, func(m map[string]any) { delete(build(m), "start_time") }},
			{"bad end_time", kojixml.ParameterError, "end_time must be a number", func(m map[string]any) { build(m)["end_time"] = "soon" }},
			{"owner type", kojixml.GenericError, "Invalid owner format (expected username): 5", func(m map[string]any) { build(m)["owner"] = int64(5) }},
			{"no owner", kojixml.GenericError, "No such user: 'nobody'", func(m map[string]any) { build(m)["owner"] = "nobody" }},
			{"no task", kojixml.GenericError, "No such task: 77", func(m map[string]any) { build(m)["task_id"] = int64(77) }},
			{"task mismatch", kojixml.GenericError, "CG provided non-matching task_id 1 and container_koji_task_id 2", func(m map[string]any) {
				build(m)["task_id"] = int64(1)
				build(m)["extra"] = map[string]any{"container_koji_task_id": int64(2)}
			}},
			{"maven btype", kojixml.GenericError, "kojigo stores RPMs and logs only", func(m map[string]any) { build(m)["extra"] = map[string]any{"maven": map[string]any{}} }},
			{"unknown btype", kojixml.GenericError, "No such entry in table btype: weird", func(m map[string]any) {
				build(m)["extra"] = map[string]any{"typeinfo": map[string]any{"weird": map[string]any{}}}
			}},
			{"extra type", kojixml.ParameterError, "build.extra must be a dict", func(m map[string]any) { build(m)["extra"] = []any{} }},
			{"buildroots type", kojixml.ParameterError, "buildroots must be a list", func(m map[string]any) { m["buildroots"] = "x" }},
			{"no buildroots", kojixml.ParameterError, "has no buildroots", func(m map[string]any) { m["buildroots"] = []any{} }},
			{"buildroot not dict", kojixml.ParameterError, "buildroots[0] must be a dict", func(m map[string]any) { m["buildroots"] = []any{"x"} }},
			{"no cg", kojixml.ParameterError, `has no "content_generator"`, func(m map[string]any) { delete(br(m), "content_generator") }},
			{"unknown cg", kojixml.GenericError, "No such entry in table content_generator: nosuch", func(m map[string]any) {
				br(m)["content_generator"] = map[string]any{"name": "nosuch", "version": "1"}
			}},
			{"no cg version", kojixml.ParameterError, `content_generator has no "version"`, func(m map[string]any) {
				br(m)["content_generator"] = map[string]any{"name": "osbs"}
			}},
			{"no container", kojixml.ParameterError, `has no "container"`, func(m map[string]any) { delete(br(m), "container") }},
			{"no host arch", kojixml.ParameterError, `host has no "arch"`, func(m map[string]any) { br(m)["host"] = map[string]any{"os": "x"} }},
			{"no components", kojixml.ParameterError, `has no "components"`, func(m map[string]any) { delete(br(m), "components") }},
			{"no tools", kojixml.ParameterError, `has no "tools"`, func(m map[string]any) { delete(br(m), "tools") }},
			{"tool twice", kojixml.GenericError, "lists tool 'docker' twice", func(m map[string]any) {
				br(m)["tools"] = []any{map[string]any{"name": "docker", "version": "1"}, map[string]any{"name": "docker", "version": "2"}}
			}},
			{"component type", kojixml.GenericError, "No such component type: weird", func(m map[string]any) { br(m)["components"] = []any{map[string]any{"type": "weird"}} }},
			{"external rpm", kojixml.GenericError, "External rpms not allowed", func(m map[string]any) {
				br(m)["components"] = []any{map[string]any{"type": "rpm", "name": "a", "version": "1", "release": "1", "arch": "x", "location": "x"}}
			}},
			{"component id", kojixml.GenericError, "Unexpected 'id' field in component", func(m map[string]any) {
				br(m)["components"] = []any{map[string]any{"type": "rpm", "id": int64(1)}}
			}},
			{"kojifile", kojixml.GenericError, "No such archive: 5", func(m map[string]any) {
				br(m)["components"] = []any{map[string]any{"type": "kojifile", "archive_id": int64(5)}}
			}},
			{"duplicate buildroot", kojixml.GenericError, "Duplicate buildroot id in metadata: 1", func(m map[string]any) {
				m["buildroots"] = append(m["buildroots"].([]any), br(m))
			}},
			{"unused buildroot", kojixml.GenericError, "Buildroot id not used in output: 'spare'", func(m map[string]any) {
				c := map[string]any{}
				for k, v := range br(m) {
					c[k] = v
				}
				c["id"] = "spare"
				m["buildroots"] = append(m["buildroots"].([]any), c)
			}},
			{"unknown buildroot", kojixml.GenericError, "Missing buildroot metadata for id 2", func(m map[string]any) { out(m, 2)["buildroot_id"] = int64(2) }},
			{"buildroot id type", kojixml.ParameterError, "buildroot_id must be an integer or a string", func(m map[string]any) { out(m, 0)["buildroot_id"] = []any{} }},
			{"output not dict", kojixml.ParameterError, "output[0] must be a dict", func(m map[string]any) { m["output"] = []any{int64(1)} }},
			{"filename traversal", kojixml.ParameterError, "filename", func(m map[string]any) { out(m, 2)["filename"] = "../../../outside.log" }},
			{"filename absolute", kojixml.ParameterError, "filename", func(m map[string]any) { out(m, 2)["filename"] = "/etc/passwd" }},
			{"relpath traversal", kojixml.ParameterError, "relpath", func(m map[string]any) { out(m, 2)["relpath"] = "../../.."; out(m, 2)["filename"] = "outside.log" }},
			{"relpath absolute", kojixml.ParameterError, "absolute path", func(m map[string]any) { out(m, 2)["relpath"] = "/tmp" }},
			{"subdir traversal", kojixml.ParameterError, "subdir", func(m map[string]any) { out(m, 2)["subdir"] = "../../../../x" }},
			{"subdir NUL", kojixml.ParameterError, "subdir", func(m map[string]any) { out(m, 2)["subdir"] = "a\x00b" }},
			{"symlinked upload", kojixml.GenericError, "symbolic links are not followed", func(m map[string]any) { out(m, 0)["filename"] = "link.src.rpm" }},
			{"symlinked directory", kojixml.GenericError, "symbolic links are not followed", func(m map[string]any) { out(m, 1)["relpath"] = "lnk" }},
			{"missing upload", kojixml.GenericError, "no such file", func(m map[string]any) { out(m, 2)["filename"] = "nothere.log" }},
			{"size", kojixml.GenericError, "doesn't match. Corrupted upload?", func(m map[string]any) { out(m, 2)["filesize"] = int64(1) }},
			{"size type", kojixml.GenericError, "doesn't match. Corrupted upload?", func(m map[string]any) { out(m, 2)["filesize"] = "16" }},
			{"checksum", kojixml.GenericError, "File checksum mismatch for build.log", func(m map[string]any) { out(m, 2)["checksum"] = "00" }},
			{"checksum type", kojixml.GenericError, "Unsupported verify type: sha512", func(m map[string]any) { out(m, 2)["checksum_type"] = "sha512" }},
			{"archive output", kojixml.GenericError, "Unable to import build.log: output type image is not supported: kojigo stores RPMs and logs only", func(m map[string]any) {
				out(m, 2)["type"] = "image"
			}},
			{"rpm subdir", kojixml.GenericError, "subdir field not allowed for rpm outputs", func(m map[string]any) { out(m, 0)["subdir"] = "x" }},
			{"rpm metadata_only", kojixml.GenericError, "Metadata-only imports are not supported for rpms", func(m map[string]any) { out(m, 0)["metadata_only"] = true }},
			{"srpm mismatch", kojixml.GenericError, "srpm mismatch for", func(m map[string]any) { build(m)["release"] = "2" }},
			{"log is rpm", kojixml.GenericError, "invalid format: build.log", func(m map[string]any) { out(m, 2)["type"] = "rpm"; delete(out(m, 2), "subdir") }},
			{"binary data", kojixml.GenericError, "Invalid metadata, cannot encode", func(m map[string]any) { build(m)["extra"] = map[string]any{"b": []byte("x")} }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				m := cgMeta(nil, copyOutputs(outs)...)
				tt.mut(m)
				flt := f.bot.fault(tt.code, "CGImport", m, dir)
				if !strings.Contains(flt.String, tt.want) {
					t.Errorf("fault %q, want it to contain %q", flt.String, tt.want)
				}
				assertNoImport(t, th, dir, f)
			})
		}
		// arguments
		for _, tt := range []struct {
			name string
			args []any
			want string
		}{
			{"metadata list", []any{[]any{}, dir}, "metadata must be a dict"},
			{"metadata int", []any{int64(1), dir}, "metadata must be a dict"},
			{"json list", []any{"[1]", dir}, "must be a JSON object"},
			{"dir traversal", []any{cgMeta(nil, outs...), "../.."}, "directory"},
			{"dir absolute", []any{cgMeta(nil, outs...), "/etc"}, "absolute path"},
			{"dir NUL", []any{cgMeta(nil, outs...), "a\x00b"}, "directory"},
			{"dir type", []any{cgMeta(nil, outs...), int64(1)}, "directory must be a string"},
			{"token type", []any{cgMeta(nil, outs...), dir, int64(1)}, "token must be a string"},
			{"metadata file traversal", []any{"../../x.json", dir}, "metadata file"},
		} {
			if flt := f.bot.fault(kojixml.ParameterError, "CGImport", tt.args...); !strings.Contains(flt.String, tt.want) {
				t.Errorf("%s: fault %q, want %q", tt.name, flt.String, tt.want)
			}
		}
		// huge inline metadata
		huge := strings.Repeat(" ", maxCGMetadataBytes+1)
		if _, err := f.bot.call("CGImport", huge, dir); err == nil {
			t.Errorf("huge metadata accepted")
		}
		assertNoImport(t, th, dir, f)
		// and the untouched metadata still imports
		f.bot.must("CGImport", cgMeta(nil, outs...), dir)
	})
}

// TestCGImportFailureRollsBack: a failure while moving files (a log
// already at its place) leaves nothing: rpms moved back, no build dir.
func TestCGImportFailureRollsBack(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		f := newCGFixture(t, th)
		const dir = "cli-import/twice"
		outs := f.uploadFoo(t, dir)
		body := []byte("build went fine\n")
		f.upload(t, dir, "again/build.log", body)
		second := cgOutputMeta("again/build.log", body, "log", int64(1))
		second["subdir"] = "x86_64"
		flt := f.bot.fault(kojixml.GenericError, "CGImport", cgMeta(nil, append(copyOutputs(outs), second)...), dir)
		if !strings.Contains(flt.String, "Error importing build log.") || !strings.Contains(flt.String, "already exists") {
			t.Errorf("fault %q", flt.String)
		}
		assertNoImport(t, th, dir, f)
		if _, err := os.Lstat(filepath.Join(th.hub.cfg.TopDir, "packages", "foo", "1.0", "1")); err == nil {
			t.Errorf("build directory left behind")
		}
		// the same output twice: the second move finds the link the first left
		flt = f.bot.fault(kojixml.GenericError, "CGImport", cgMeta(nil, append(copyOutputs(outs), copyOutputs(outs)[0])...), dir)
		if !strings.Contains(flt.String, "already") {
			t.Errorf("twice fault %q", flt.String)
		}
		assertNoImport(t, th, dir, f)
		// a build directory that exists already is refused and kept
		existing := filepath.Join(th.hub.cfg.TopDir, "packages", "foo", "1.0", "1")
		if err := os.MkdirAll(filepath.Join(existing, "data"), 0o755); err != nil {
			t.Fatal(err)
		}
		flt = f.bot.fault(kojixml.GenericError, "CGImport", cgMeta(nil, outs...), dir)
		if flt.String != "Destination directory already exists: "+existing {
			t.Errorf("existing build directory: fault %q", flt.String)
		}
		if _, err := os.Stat(filepath.Join(existing, "data")); err != nil {
			t.Errorf("the existing build directory was removed: %v", err)
		}
		if b := th.anon().must("getBuild", "foo-1.0-1"); b != nil {
			t.Errorf("a build was left: %v", b)
		}
		os.RemoveAll(existing)
		f.bot.must("CGImport", cgMeta(nil, outs...), dir)
	})
}

func copyOutputs(outs []any) []any {
	c := make([]any, len(outs))
	for i, o := range outs {
		m := map[string]any{}
		for k, v := range o.(map[string]any) {
			m[k] = v
		}
		c[i] = m
	}
	return c
}
