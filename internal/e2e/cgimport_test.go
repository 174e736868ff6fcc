package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"kojigo/internal/kojiclient"
)

// cgSpec is a package a content generator built with rpmbuild.
const cgSpec = `Name: cgout
Version: 1.0
Release: 1
Summary: built by a content generator
License: MIT
BuildArch: noarch

%description
A package built by rpmbuild alone and brought in with CGImport.

%install
mkdir -p %{buildroot}/usr/share/cgout
echo cgout > %{buildroot}/usr/share/cgout/README

%files
/usr/share/cgout/README
`

// cgImportEndToEnd imports an SRPM, a binary RPM and a log that rpmbuild
// made, as a content generator does (upload, then CGImport with Koji's
// metadata), with a buildroot whose components include the RPM
// importCloneMove imported; then reads the build back: its content
// generator, its RPMs in that buildroot, its log, and the stored file,
// byte for byte.
func cgImportEndToEnd(t *testing.T, bf *buildFarm) {
	t.Helper()
	ctx := context.Background()
	call := func(method string, args ...any) any {
		t.Helper()
		v, err := bf.admin.Call(ctx, method, args...)
		if err != nil {
			t.Fatalf("%s%v: %v", method, args, err)
		}
		return v
	}
	dir, out := rpmbuildAlone(t, "cgout", cgSpec)
	if err := os.WriteFile(filepath.Join(dir, "build.log"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	call("grantCGAccess", "kojiadmin", "e2e-cg", kojiclient.Kw{"create": true})
	const upload = "cli-import/e2e-cg"
	var outputs []any
	sums := map[string]string{}
	for _, f := range []struct{ local, relpath, typ string }{
		{"cgout-1.0-1.src.rpm", "", "rpm"}, {"noarch/cgout-1.0-1.noarch.rpm", "noarch", "rpm"}, {"build.log", "logs", "log"},
	} {
		local := filepath.Join(dir, f.local)
		body, err := os.ReadFile(local)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(body)
		name := filepath.Base(f.local)
		sums[name] = hex.EncodeToString(sum[:])
		target := upload
		if f.relpath != "" {
			target += "/" + f.relpath
		}
		if err := bf.admin.UploadFile(ctx, local, target, name, nil); err != nil {
			t.Fatalf("upload %s: %v", name, err)
		}
		o := map[string]any{"buildroot_id": int64(1), "filename": name, "filesize": int64(len(body)), "arch": "noarch",
			"checksum": sums[name], "checksum_type": "sha256", "type": f.typ}
		if f.relpath != "" {
			o["relpath"] = f.relpath
		}
		outputs = append(outputs, o)
	}
	dep := call("getRPM", "outside-2.0-1.noarch", true).(map[string]any)
	meta := map[string]any{
		"metadata_version": int64(0),
		"build":            map[string]any{"name": "cgout", "version": "1.0", "release": "1", "start_time": int64(1700000000), "end_time": int64(1700000100)},
		"buildroots": []any{map[string]any{
			"id": int64(1), "host": map[string]any{"os": "Debian", "arch": "x86_64"},
			"content_generator": map[string]any{"name": "e2e-cg", "version": "0.1"},
			"container":         map[string]any{"type": "none", "arch": "x86_64"},
			"tools":             []any{map[string]any{"name": "rpmbuild", "version": "4"}},
			"components": []any{map[string]any{"type": "rpm", "name": "outside", "version": "2.0", "release": "1", "epoch": nil,
				"arch": "noarch", "sigmd5": dep["payloadhash"], "signature": nil}},
		}},
		"output": outputs,
	}
	b := call("CGImport", meta, upload).(map[string]any)
	if b["cg_name"] != "e2e-cg" || asInt(b["state"]) != 1 {
		t.Fatalf("CGImport = %v", b)
	}
	if got := call("getBuild", "cgout-1.0-1").(map[string]any); got["cg_name"] != "e2e-cg" {
		t.Errorf("getBuild cg_name = %v", got["cg_name"])
	}
	rpms := asList(call("listRPMs", b["id"]))
	if len(rpms) != 2 {
		t.Fatalf("listRPMs = %v", rpms)
	}
	br := asMap(rpms[0])["buildroot_id"]
	if info := call("getBuildroot", br).(map[string]any); info["cg_name"] != "e2e-cg" || asInt(info["br_type"]) != 1 {
		t.Errorf("getBuildroot = %v", info)
	}
	if l := asList(call("getBuildrootListing", br)); len(l) != 1 || asMap(l[0])["rpm_id"] != dep["id"] {
		t.Errorf("getBuildrootListing = %v, want outside-2.0-1.noarch", l)
	}
	found := false
	for _, l := range asList(call("getBuildLogs", b["id"])) {
		found = found || asMap(l)["name"] == "build.log"
	}
	if !found {
		t.Errorf("getBuildLogs lacks build.log")
	}
	stored, err := os.ReadFile(filepath.Join(bf.topdir, "packages/cgout/1.0/1/noarch/cgout-1.0-1.noarch.rpm"))
	if sum := sha256.Sum256(stored); err != nil || hex.EncodeToString(sum[:]) != sums["cgout-1.0-1.noarch.rpm"] {
		t.Errorf("stored rpm: %v, sha256 differs from the metadata's", err)
	}
}
