package hubcore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStockCLIDistRepoComps: koji dist-repo --comps uploads the file and
// the hub puts it in the repo as groups/comps.xml; --multilib and zchunk
// are refused with the hub's advice; koji untag-build makes a tag
// notification task.
func TestStockCLIDistRepoComps(t *testing.T) {
	cli := needStockCLI(t)
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		admin.must("createTag", "dist", kw{"arches": "x86_64"})
		run, dir := cli.client(t, th.url, nil)
		comps := "<?xml version=\"1.0\"?>\n<comps><group><id>g</id><name>G</name></group></comps>\n"
		os.WriteFile(filepath.Join(dir, "comps.xml"), []byte(comps), 0o644)
		os.WriteFile(filepath.Join(dir, "multilib.conf"), []byte("[multilib]\n"), 0o644)
		out, err := run("kojiadmin", "adminpw", "dist-repo", "--nowait", "--comps", "comps.xml", "--split-debuginfo", "dist", "deadbeef")
		if err != nil || !strings.Contains(out, "Creating dist repo for tag dist") {
			t.Fatalf("dist-repo --comps: %v\n%s", err, out)
		}
		matches, _ := filepath.Glob(filepath.Join(th.hub.cfg.TopDir, "repos-dist", "dist", "*", "groups", "comps.xml"))
		if len(matches) != 1 {
			t.Fatalf("groups/comps.xml: %v", matches)
		}
		if b, _ := os.ReadFile(matches[0]); string(b) != comps {
			t.Errorf("comps.xml = %q", b)
		}
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--multilib", "multilib.conf", "--arch", "x86_64", "--arch", "i686"}, "multilib is not supported"},
			{[]string{"--zck"}, "zck (zchunk metadata) is not supported"},
		} {
			args := append(append([]string{"dist-repo", "--nowait"}, tc.args...), "dist", "deadbeef")
			if out, err := run("kojiadmin", "adminpw", args...); err == nil || !strings.Contains(out, tc.want) {
				t.Errorf("dist-repo %v: %v\n%s", tc.args, err, out)
			}
		}

		// koji untag-build: a tagNotification task for the owners
		importFoo(t, th, admin)
		admin.must("packageListAdd", "dist", "foo", kw{"owner": "kojiadmin"})
		admin.must("tagBuildBypass", "dist", "foo-1.0-1")
		th.addUser("alice", "pw")
		if out, err := run("alice", "pw", "add-notification", "--package", "foo"); err != nil {
			t.Fatalf("add-notification: %v\n%s", err, out)
		}
		if out, err := run("kojiadmin", "adminpw", "untag-build", "dist", "foo-1.0-1"); err != nil {
			t.Fatalf("untag-build: %v\n%s", err, out)
		}
		reqs, _ := notifyTasks(t, th, "tagNotification")
		if len(reqs) != 1 || strings.Join(strs(reqs[0][0]), " ") != "alice@None kojiadmin@None" || reqs[0][1] != true || reqs[0][2] != nil {
			t.Errorf("tagNotification tasks = %v", reqs)
		}
	})
}
