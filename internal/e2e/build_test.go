package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"kojigo/db"
	"kojigo/internal/kojiclient"
	"kojigo/internal/testenv"
)

// buildFarm is a hub process, one kojid process, kojira and an admin client, with a
// tag, a build tag, a target and the sample packages listed.
type buildFarm struct {
	*farm
	url    string
	admin  *kojiclient.Client
	kojid  *proc
	kojira *proc
	work   string
	config string
}

func newBuildFarm(t *testing.T, backend string) *buildFarm {
	t.Helper()
	testenv.NeedTool(t, "rpmbuild")
	testenv.NeedTool(t, "git")
	return newBuildFarmOn(t, newFarm(t, backend))
}

// newBuildFarmOn sets up the build farm on a farm's database.
func newBuildFarmOn(t *testing.T, f *farm) *buildFarm {
	t.Helper()
	url, _ := f.hub()
	bf := &buildFarm{farm: f, url: url, admin: client(t, url, "kojiadmin", "adminpw")}
	ctx := context.Background()
	call := func(method string, args ...any) any {
		t.Helper()
		v, err := bf.admin.Call(ctx, method, args...)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		return v
	}
	call("addHost", "builder1", []any{"x86_64"})
	u, _ := f.store.GetUserByName(ctx, "builder1")
	setPassword(t, f, u.ID, "builderpw")
	call("createTag", "dist")
	call("createTag", "dist-build", kojiclient.Kw{"parent": "dist", "arches": "x86_64"})
	call("createBuildTarget", "dist-candidate", "dist-build", "dist")
	for _, pkg := range []string{"hello", "greeting", "broken", "sleeper"} {
		call("packageListAdd", "dist", pkg, kojiclient.Kw{"owner": "kojiadmin"})
	}
	bf.work = t.TempDir()
	bf.config = filepath.Join(t.TempDir(), "kojid.conf")
	conf := fmt.Sprintf(`[kojid]
server = %s
topdir = %s
workdir = %s/work
mockdir = %s/mock
user = builder1
password = builderpw
cert =
use_mock = no
minspace = 10
maxjobs = 4
sleeptime = 2
maxload = 0
allowed_scms = :/*
`, url, f.topdir, bf.work, bf.work)
	if err := os.WriteFile(bf.config, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(bf.work, "mock"), 0o755)
	bf.startKojid(t)
	bf.startKojira(t)
	return bf
}

// startKojira runs kojira for the farm, as builds need: they wait for
// their build tag's repo, which kojira makes on request through builder1
// (in the createrepo channel).
func (bf *buildFarm) startKojira(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if _, err := bf.admin.Call(ctx, "addHostToChannel", "builder1", "createrepo"); err != nil {
		t.Fatal(err)
	}
	bf.user("kojira", "kojirapw", db.UserNormal, "repo")
	conf := filepath.Join(t.TempDir(), "kojira.conf")
	writeConf(t, conf, fmt.Sprintf("[kojira]\nserver = %s\ntopdir = %s\ncert =\nuser = kojira\npassword = kojirapw\nsleeptime = 1\n", bf.url, bf.topdir))
	bf.kojira = start(t, "kojira", nil, bin(t, "kojira"), "-c", conf, "--force-lock")
}

func (bf *buildFarm) startKojid(t *testing.T, extra ...string) {
	t.Helper()
	bf.kojid = start(t, "kojid", nil, bin(t, "kojid"), append([]string{"-c", bf.config, "--force-lock"}, extra...)...)
	waitFor(t, 30*time.Second, "builder1 to check in ready", func() bool {
		h, err := bf.admin.Call(context.Background(), "getHost", "builder1")
		return err == nil && asMap(h)["ready"] == true
	})
}

// srpm builds a sample package's SRPM with rpmbuild -bs.
func srpm(t *testing.T, specDir string) string {
	t.Helper()
	specs, _ := filepath.Glob(filepath.Join(specDir, "*.spec"))
	if len(specs) != 1 {
		t.Fatalf("%s: want one spec", specDir)
	}
	out := t.TempDir()
	cmd := exec.Command("rpmbuild", "-bs", "--define", "_topdir "+out, "--define", "_sourcedir "+specDir, "--define", "_srcrpmdir "+out, specs[0])
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rpmbuild -bs: %v\n%s", err, b)
	}
	got, _ := filepath.Glob(filepath.Join(out, "*.src.rpm"))
	if len(got) != 1 {
		t.Fatalf("rpmbuild -bs made %v", got)
	}
	return got[0]
}

// submit uploads an SRPM as the koji CLI does and starts a build.
func (bf *buildFarm) submit(t *testing.T, src string, opts map[string]any) int64 {
	t.Helper()
	ctx := context.Background()
	if !strings.Contains(src, "://") {
		dir := fmt.Sprintf("cli-build/%d.%s", time.Now().UnixNano(), "e2etest")
		if err := bf.admin.UploadFile(ctx, src, dir, filepath.Base(src), nil); err != nil {
			t.Fatalf("upload %s: %v", src, err)
		}
		src = dir + "/" + filepath.Base(src)
	}
	if opts == nil {
		opts = map[string]any{}
	}
	id, err := bf.admin.Call(ctx, "build", src, "dist-candidate", opts)
	if err != nil {
		t.Fatalf("build %s: %v", src, err)
	}
	return asInt(id)
}

func (bf *buildFarm) wait(t *testing.T, id int64, d time.Duration) map[string]any {
	t.Helper()
	var info map[string]any
	waitFor(t, d, fmt.Sprintf("task %d to finish", id), func() bool {
		v, err := bf.admin.Call(context.Background(), "getTaskInfo", id)
		info = asMap(v)
		st := asInt(info["state"])
		return err == nil && (st == 2 || st == 3 || st == 5)
	})
	return info
}

func (bf *buildFarm) children(t *testing.T, id int64) []map[string]any {
	t.Helper()
	v, err := bf.admin.Call(context.Background(), "getTaskChildren", id)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, c := range asList(v) {
		out = append(out, asMap(c))
	}
	return out
}

func sample(name string) string {
	p, _ := filepath.Abs(filepath.Join("..", "..", "builderd", "testdata", name))
	return p
}

// gitRepo makes a git repository of a sample package and returns its URL.
func gitRepo(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name+".git")
	run := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@example.org", "GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@example.org")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := os.CopyFS(dir, os.DirFS(sample(name))); err != nil {
		t.Fatal(err)
	}
	run("init", "-q", "-b", "main")
	run("add", ".")
	run("commit", "-q", "-m", "import")
	return "git+file://" + dir + "#main"
}

// TestBuildsEndToEnd: the real hub, a real kojid and the real rpmbuild build
// a C package from an SRPM and from git, and a noarch package; their RPMs
// are imported, tagged into the target's tag, install with rpm, and their
// logs are readable through the hub. A broken package fails naming
// build.log with the compiler's error, and a cancelled build's rpmbuild is
// gone within 5 seconds.
func TestBuildsEndToEnd(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			bf := newBuildFarm(t, backend)
			ctx := context.Background()
			hello := bf.submit(t, srpm(t, sample("hello")), nil)
			greeting := bf.submit(t, srpm(t, sample("noarch")), nil)
			broken := bf.submit(t, srpm(t, sample("broken")), nil)
			fromGit := bf.submit(t, gitRepo(t, "hello"), map[string]any{"scratch": true})

			for _, id := range []int64{hello, greeting} {
				if info := bf.wait(t, id, 3*time.Minute); asInt(info["state"]) != 2 {
					res, _ := bf.admin.Call(ctx, "getTaskResult", id)
					t.Fatalf("build task %d ended in state %v: %v", id, info["state"], res)
				}
			}
			tagged, err := bf.admin.Call(ctx, "listTagged", "dist")
			if err != nil {
				t.Fatal(err)
			}
			var nvrs []string
			for _, b := range asList(tagged) {
				nvrs = append(nvrs, fmt.Sprint(asMap(b)["nvr"]))
			}
			if !strings.Contains(strings.Join(nvrs, " "), "hello-1.0-1") || len(nvrs) != 2 {
				t.Fatalf("listTagged dist = %v, want hello and greeting", nvrs)
			}
			// the RPMs install into a scratch root
			root := t.TempDir()
			for _, b := range asList(tagged) {
				rpms, err := bf.admin.Call(ctx, "listRPMs", asMap(b)["build_id"])
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range asList(rpms) {
					m := asMap(r)
					if m["arch"] == "src" {
						continue
					}
					bm := asMap(b)
					path := filepath.Join(bf.topdir, "packages", fmt.Sprint(bm["name"]), fmt.Sprint(bm["version"]), fmt.Sprint(bm["release"]),
						fmt.Sprint(m["arch"]), fmt.Sprintf("%s-%s-%s.%s.rpm", m["name"], m["version"], m["release"], m["arch"]))
					cmd := exec.Command("rpm", "-i", "--root", root, "--dbpath", filepath.Join(root, "rpmdb"), "--nodeps", "--noscripts", path)
					if out, err := cmd.CombinedOutput(); err != nil {
						t.Fatalf("rpm -i %s: %v\n%s", path, err, out)
					}
				}
			}
			if _, err := os.Stat(filepath.Join(root, "usr", "bin", "hello")); err != nil {
				t.Errorf("hello not installed: %v", err)
			}
			// build.log of the buildArch child is readable through the hub
			var arch int64
			for _, c := range bf.children(t, hello) {
				if c["method"] == "buildArch" {
					arch = asInt(c["id"])
				}
			}
			logb, err := bf.admin.DownloadTaskOutput(ctx, arch, "build.log", 0, -1)
			if err != nil || !strings.Contains(string(logb), "make") {
				t.Errorf("build.log of task %d: %v\n%s", arch, err, tail(string(logb), 500))
			}

			// the broken package fails naming build.log with the compiler's error
			if info := bf.wait(t, broken, 3*time.Minute); asInt(info["state"]) != 5 {
				t.Fatalf("broken build ended in state %v, want FAILED", info["state"])
			}
			_, err = bf.admin.Call(ctx, "getTaskResult", broken)
			if err == nil || !strings.Contains(err.Error(), "build.log") || !strings.Contains(err.Error(), "error:") {
				t.Errorf("broken build's fault = %v; want it to name build.log and show the compiler error", err)
			}

			// the git build (scratch) closes and is not tagged
			if info := bf.wait(t, fromGit, 3*time.Minute); asInt(info["state"]) != 2 {
				res, _ := bf.admin.Call(ctx, "getTaskResult", fromGit)
				t.Fatalf("git build ended in state %v: %v", info["state"], res)
			}
			checkSRPMBuildroot(t, bf, fromGit) // buildroots_test.go

			// cancelling a running build stops rpmbuild within 5 seconds
			sleeper := bf.submit(t, srpm(t, writeSleeper(t)), nil)
			var pids []int
			waitFor(t, 2*time.Minute, "rpmbuild of the sleeper to start", func() bool {
				pids = rpmbuildPIDs("sleeper")
				return len(pids) > 0
			})
			cancelled := time.Now()
			if _, err := bf.admin.Call(ctx, "cancelTask", sleeper); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "rpmbuild to be gone after cancel", func() bool { return len(rpmbuildPIDs("sleeper")) == 0 })
			t.Logf("rpmbuild gone %v after cancelTask", time.Since(cancelled).Round(time.Millisecond))
		})
	}
}

// writeSleeper writes a package whose build takes minutes.
func writeSleeper(t *testing.T) string {
	dir := t.TempDir()
	spec := `Name: sleeper
Version: 1.0
Release: 1
Summary: Builds slowly (kojigo test package)
License: MIT
BuildArch: noarch
%description
Sleeps in %%build so that it can be cancelled.
%build
echo sleeping
sleep 317
%files
`
	if err := os.WriteFile(filepath.Join(dir, "sleeper.spec"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// rpmbuildPIDs finds rpmbuild processes (and their shells) building pkg.
func rpmbuildPIDs(pkg string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		cmd := strings.ReplaceAll(string(b), "\x00", " ")
		build := strings.Contains(cmd, "rpmbuild") && strings.Contains(cmd, pkg)
		// the sleeper's %build; a duration no other test's process uses
		// (builderd's and the demo's tests run "sleep 300" alongside)
		sleeping := pkg == "sleeper" && strings.HasPrefix(cmd, "sleep 317")
		if build || sleeping {
			if syscall.Kill(pid, 0) == nil {
				out = append(out, pid)
			}
		}
	}
	return out
}
