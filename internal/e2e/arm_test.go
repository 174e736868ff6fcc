package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"kojigo/internal/testenv"
)

// TestKojidArm64UnderQemu: the arm64 kojid, run by qemu-aarch64-static,
// logs in to a real hub on loopback, checks in with its health and reports
// aarch64 among its arches.
func TestKojidArm64UnderQemu(t *testing.T) {
	qemu := testenv.NeedTool(t, "qemu-aarch64-static")
	kojid := filepath.Join(t.TempDir(), "kojid-arm64")
	root, _ := filepath.Abs("../..")
	build := exec.Command("go", "build", "-o", kojid, "./cmd/kojid")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("cross-build kojid: %v\n%s", err, out)
	}
	f := newFarm(t, "sqlite")
	url, _ := f.hub()
	admin := client(t, url, "kojiadmin", "adminpw")
	ctx := context.Background()
	if _, err := admin.Call(ctx, "addHost", "armbuilder", []any{"aarch64"}); err != nil {
		t.Fatal(err)
	}
	u, _ := f.store.GetUserByName(ctx, "armbuilder")
	setPassword(t, f, u.ID, "armpw")
	work := t.TempDir()
	conf := filepath.Join(work, "kojid.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("[kojid]\nserver = %s\ntopdir = %s\nworkdir = %s/work\nmockdir = %s\nuser = armbuilder\npassword = armpw\ncert =\nuse_mock = no\nminspace = 1\nsleeptime = 1\nmaxload = 0\n",
		url, f.topdir, work, work)), 0o600)
	start(t, "kojid (arm64, qemu)", nil, qemu, kojid, "-c", conf)
	var data map[string]any
	waitFor(t, 60*time.Second, "the arm64 kojid to check in", func() bool {
		v, err := admin.Call(ctx, "kojigo.getHostHealth", "armbuilder")
		data = asMap(asMap(v)["data"])
		return err == nil && data != nil
	})
	var arches []string
	for _, a := range asList(data["arches"]) {
		arches = append(arches, fmt.Sprint(a))
	}
	if !slices.Contains(arches, "aarch64") {
		t.Fatalf("arm64 kojid reported arches %v, want aarch64 among them (data %v)", arches, data)
	}
	if asInt(data["cpus"]) < 1 || asList(data["disk"]) == nil {
		t.Errorf("arm64 kojid's health lacks cpus or disk: %v", data)
	}
	t.Logf("arm64 kojid checked in: arches %v, cpus %v, ready %v", arches, data["cpus"], data["ready"])
}
