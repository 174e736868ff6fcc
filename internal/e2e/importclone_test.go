package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// outsideSpec is a package built with rpmbuild on its own, not by kojigo.
const outsideSpec = `Name: outside
Version: 2.0
Release: 1
Summary: built outside the farm
License: MIT
BuildArch: noarch

%description
A package built by rpmbuild alone and brought in with importRPM.

%install
mkdir -p %{buildroot}/usr/share/outside
echo outside > %{buildroot}/usr/share/outside/README

%files
/usr/share/outside/README
`

// rpmbuildAlone builds spec (saved as NAME.spec) with rpmbuild -ba outside
// the farm, into a new directory: the source RPM at its top, binary RPMs
// under ARCH/. It returns the directory and rpmbuild's output.
func rpmbuildAlone(t *testing.T, name, spec string) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, name+".spec")
	if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("rpmbuild", "-ba", "--define", "_topdir "+dir, "--define", "_srcrpmdir "+dir, "--define", "_rpmdir "+dir, path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("rpmbuild -ba %s.spec: %v\n%s", name, err, out)
	}
	return dir, out
}

// importCloneMove brings an RPM built outside the farm into the tag dist
// as koji import does (upload, importRPM of the source RPM then the
// binary one), copies dist to dist-copy with snapshotTag (koji clone-tag
// into a new tag), and moves the imported build from dist-copy to
// dist-moved with moveBuild, whose tagBuild task the farm's kojid runs.
func importCloneMove(t *testing.T, bf *buildFarm) {
	t.Helper()
	ctx := context.Background()
	dir, _ := rpmbuildAlone(t, "outside", outsideSpec)
	for _, name := range []string{"outside-2.0-1.src.rpm", "noarch/outside-2.0-1.noarch.rpm"} {
		local := filepath.Join(dir, name)
		name = filepath.Base(name)
		if err := bf.admin.UploadFile(ctx, local, "cli-import/e2e", name, nil); err != nil {
			t.Fatalf("upload %s: %v", name, err)
		}
		if _, err := bf.admin.Call(ctx, "importRPM", "cli-import/e2e", name); err != nil {
			t.Fatalf("importRPM %s: %v", name, err)
		}
	}
	if b, err := bf.admin.Call(ctx, "getBuild", "outside-2.0-1", true); err != nil || asInt(asMap(b)["state"]) != 1 {
		t.Fatalf("getBuild of the imported build = %v, %v", b, err)
	}
	stored := filepath.Join(bf.topdir, "packages/outside/2.0/1/noarch/outside-2.0-1.noarch.rpm")
	if _, err := os.Stat(stored); err != nil {
		t.Fatalf("imported rpm not stored: %v", err)
	}
	call := func(method string, args ...any) any {
		t.Helper()
		v, err := bf.admin.Call(ctx, method, args...)
		if err != nil {
			t.Fatalf("%s%v: %v", method, args, err)
		}
		return v
	}
	tagged := func(tag string) []string {
		t.Helper()
		var out []string
		for _, b := range asList(call("listTagged", tag)) {
			out = append(out, asMap(b)["nvr"].(string))
		}
		slices.Sort(out)
		return out
	}
	call("packageListAdd", "dist", "outside", "kojiadmin")
	call("tagBuildBypass", "dist", "outside-2.0-1")
	want := tagged("dist")
	if !slices.Contains(want, "outside-2.0-1") || !slices.Contains(want, "hello-1.0-1") {
		t.Fatalf("dist holds %v, want hello-1.0-1 and outside-2.0-1", want)
	}

	call("snapshotTag", "dist", "dist-copy")
	if got := tagged("dist-copy"); !slices.Equal(got, want) {
		t.Errorf("clone of dist holds %v, want %v", got, want)
	}

	call("createTag", "dist-moved")
	call("packageListAdd", "dist-moved", "outside", "kojiadmin")
	task := asInt(call("moveBuild", "dist-copy", "dist-moved", "outside-2.0-1"))
	if info := bf.wait(t, task, 2*time.Minute); asInt(info["state"]) != 2 {
		res, _ := bf.admin.Call(ctx, "getTaskResult", task)
		t.Fatalf("moveBuild task ended in state %v: %v", info["state"], res)
	}
	if got := tagged("dist-moved"); !slices.Equal(got, []string{"outside-2.0-1"}) {
		t.Errorf("dist-moved holds %v after the move", got)
	}
	if got := tagged("dist-copy"); slices.Contains(got, "outside-2.0-1") {
		t.Errorf("dist-copy still holds outside-2.0-1 after the move: %v", got)
	}
}
