package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"kojigo/internal/kojiclient"
	"kojigo/internal/testenv"
)

// slowPackage writes a noarch package whose build takes about secs seconds.
func slowPackage(t *testing.T, name string, secs int) string {
	dir := t.TempDir()
	spec := fmt.Sprintf(`Name: %s
Version: 1.0
Release: 1
Summary: Builds slowly (kojigo test package)
License: MIT
BuildArch: noarch
%%description
Takes a while to build.
%%build
for i in $(seq %d); do echo "building step $i"; sleep 1; done
%%install
mkdir -p %%{buildroot}/usr/share/%s
echo done > %%{buildroot}/usr/share/%s/done
%%files
/usr/share/%s/done
`, name, secs, name, name, name)
	if err := os.WriteFile(filepath.Join(dir, name+".spec"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestKojidKilledMidBuild: kojid is killed with SIGKILL while it builds;
// after a restart the task ends CLOSED (freed and built again), never
// stuck OPEN, and no build process of the killed kojid is left.
func TestKojidKilledMidBuild(t *testing.T) {
	bf := newBuildFarm(t, "sqlite")
	ctx := context.Background()
	bf.admin.Call(ctx, "packageListAdd", "dist", "slowpoke", map[string]any{"owner": "kojiadmin", "__starstar": true})
	id := bf.submit(t, srpm(t, slowPackage(t, "slowpoke", 8)), nil)
	waitFor(t, 2*time.Minute, "the build to start", func() bool { return len(rpmbuildPIDs("slowpoke")) > 0 })
	bf.kojid.cmd.Process.Signal(syscall.SIGKILL)
	<-bf.kojid.done
	bf.startKojid(t)
	info := bf.wait(t, id, 3*time.Minute)
	if asInt(info["state"]) != 2 {
		res, _ := bf.admin.Call(ctx, "getTaskResult", id)
		t.Fatalf("after kill -9 and restart the build ended in state %v: %v", info["state"], res)
	}
	for _, c := range bf.children(t, id) {
		if st := asInt(c["state"]); st == 1 || st == 0 || st == 4 {
			t.Errorf("child task %v %v left in state %d", c["id"], c["method"], st)
		}
	}
}

// smallWorkdir restarts the farm's kojid with its workdir on a tmpfs of
// sizeMB and minspace minMB, and returns the workdir.
func (bf *buildFarm) smallWorkdir(t *testing.T, sizeMB, minMB int) string {
	t.Helper()
	bf.kojid.stop(syscall.SIGTERM, 20*time.Second)
	small := filepath.Join(t.TempDir(), "small")
	os.MkdirAll(small, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", sizeMB), "tmpfs", small).CombinedOutput(); err != nil {
		if testenv.RequireTools() {
			t.Fatalf("mount tmpfs: %v %s (the test needs root)", err, out)
		}
		t.Skipf("mount tmpfs: %v %s (the test needs root)", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", small).Run() })
	conf, _ := os.ReadFile(bf.config)
	c := strings.Replace(string(conf), "workdir = "+bf.work+"/work", "workdir = "+small, 1)
	c = strings.Replace(c, "minspace = 10", fmt.Sprintf("minspace = %d", minMB), 1)
	os.WriteFile(bf.config, []byte(c), 0o600)
	bf.startKojid(t)
	return small
}

// TestDiskFullDuringBuild: a build that fills the builder's workdir fails
// with "no space left on <workdir>", and the builder reports not ready on
// its next check-in while the space is gone.
func TestDiskFullDuringBuild(t *testing.T) {
	testenv.NeedTool(t, "mount")
	bf := newBuildFarm(t, "sqlite")
	ctx := context.Background()
	small := bf.smallWorkdir(t, 24, 4)
	bf.admin.Call(ctx, "packageListAdd", "dist", "filler", map[string]any{"owner": "kojiadmin", "__starstar": true})
	dir := t.TempDir()
	spec := `Name: filler
Version: 1.0
Release: 1
Summary: Fills the disk (kojigo test package)
License: MIT
BuildArch: noarch
%description
Writes more than the builder has.
%build
head -c 64M /dev/zero > big
%files
`
	os.WriteFile(filepath.Join(dir, "filler.spec"), []byte(spec), 0o644)
	id := bf.submit(t, srpm(t, dir), nil)
	if info := bf.wait(t, id, 2*time.Minute); asInt(info["state"]) != 5 {
		t.Fatalf("disk-filling build ended in state %v, want FAILED", info["state"])
	}
	_, err := bf.admin.Call(ctx, "getTaskResult", id)
	var f *kojiclient.Fault
	if !errors.As(err, &f) || !strings.HasPrefix(f.String, "no space left on "+small) {
		t.Fatalf("the parent's fault = %v, want the child's: no space left on %s", err, small)
	}
	t.Logf("fault: %s", f.String)
}

// TestReadinessOnSmallFilesystem: with its workdir on a small filesystem,
// kojid goes not ready when the space falls below minspace, says why
// naming the path, takes no task, and is ready again once space is freed.
func TestReadinessOnSmallFilesystem(t *testing.T) {
	testenv.NeedTool(t, "mount")
	bf := newBuildFarm(t, "sqlite")
	ctx := context.Background()
	// a fresh kojid whose workdir is a 16 MiB tmpfs, minspace 8 MB
	small := bf.smallWorkdir(t, 16, 8)

	filler := filepath.Join(small, "filler")
	if err := os.WriteFile(filler, make([]byte, 12<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	var reason string
	waitFor(t, 30*time.Second, "builder1 to report not ready", func() bool {
		v, err := bf.admin.Call(ctx, "kojigo.getHostHealth", "builder1")
		m := asMap(v)
		if err != nil || m["ready"] != false {
			return false
		}
		for _, r := range asList(asMap(m["data"])["not_ready_reasons"]) {
			reason += fmt.Sprint(r) + "; "
		}
		return strings.Contains(reason, small)
	})
	t.Logf("not ready because: %s", reason)
	id := bf.submit(t, srpm(t, sample("noarch")), nil)
	time.Sleep(3 * time.Second) // a few check-ins: the task must stay FREE
	info, _ := bf.admin.Call(ctx, "getTaskInfo", id)
	if st := asInt(asMap(info)["state"]); st != 0 {
		t.Fatalf("a not-ready builder took task %d (state %d)", id, st)
	}
	why, _ := bf.admin.Call(ctx, "kojigo.getTaskWaitReason", id)
	t.Logf("task waits because: %v", why)
	if !strings.Contains(fmt.Sprint(why), "not ready") {
		t.Errorf("waiting reason = %q, want it to say the builder is not ready", why)
	}
	os.Remove(filler)
	if info := bf.wait(t, id, 2*time.Minute); asInt(info["state"]) != 2 {
		t.Fatalf("after space was freed the build ended in state %v", info["state"])
	}
}
