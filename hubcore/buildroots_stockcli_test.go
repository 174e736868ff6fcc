package hubcore

import (
	"fmt"
	"strings"
	"testing"
)

// TestStockCLIBuildroots runs Koji 1.35's own CLI (KOJI_STOCK_CLI) against
// builds recorded with their buildroots, on both backends: list-buildroot
// (components, --verbose, --built), rpminfo (Buildroot:, --buildroots),
// buildinfo with --changelog, list-builds, hostinfo's active buildroots
// and taskinfo's buildroots.
func TestStockCLIBuildroots(t *testing.T) {
	cli := needStockCLI(t)
	forBackends(t, func(t *testing.T, th *testHub) {
		f := newBRFixture(t, th)
		hc := f.hc
		taskA := f.openTask(t)
		brA := hc.must("host.newBuildRoot", f.repoID, "x86_64", kw{"task_id": taskA}).(int64)
		_, dep := f.importBuild(t, taskA, "dep", brA)
		taskB := f.openTask(t)
		brB := hc.must("host.newBuildRoot", f.repoID, "x86_64", kw{"task_id": taskB}).(int64)
		hc.must("host.setBuildRootList", brB, []any{entry(dep["x86_64"]), hostPkg("gcc")}, kw{"task_id": taskB})
		hc.must("host.setBuildRootState", brB, "BUILDING", kw{"task_id": taskB})
		hc.must("host.updateBuildRootList", brB, []any{entry(dep["src"])}, kw{"task_id": taskB})
		f.importBuild(t, taskB, "hello", brB)
		hc.must("host.setBuildRootState", brB, "EXPIRED", kw{"task_id": taskB})

		th.ensureAdmin()
		run, _ := cli.client(t, th.url, nil)
		must := func(args ...string) string {
			t.Helper()
			out, err := run("kojiadmin", "adminpw", args...)
			if err != nil {
				t.Fatalf("koji %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			return out
		}
		same := func(what, got, want string) {
			t.Helper()
			if got != want {
				t.Errorf("koji %s =\n%s\nwant\n%s", what, got, want)
			}
		}
		has := func(out string, want ...string) {
			t.Helper()
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		}
		b := fmt.Sprint(brB)
		same("list-buildroot", must("list-buildroot", b), "Component RPMs:\ndep-1.0-1.src\ndep-1.0-1.x86_64\n")
		same("list-buildroot --verbose", must("list-buildroot", "--verbose", b), "Component RPMs:\ndep-1.0-1.src [update]\ndep-1.0-1.x86_64\n")
		same("list-buildroot --built", must("list-buildroot", "--built", b), "Built RPMs:\nhello-1.0-1.src\nhello-1.0-1.x86_64\n")
		same("list-buildroot (none)", must("list-buildroot", "99999"), "")

		out := must("rpminfo", "--buildroots", "dep-1.0-1.x86_64")
		has(out, "dep-1.0-1.x86_64 [", "Build: dep-1.0-1 [",
			fmt.Sprintf("Buildroot: %d (tag f40-build, arch x86_64, repo %d)", brA, f.repoID),
			"Build Host: builder1", fmt.Sprintf("Build Task: %d", taskA),
			"Used in 1 buildroots:", fmt.Sprintf("%8d %-28s %-8s %-29s", brB, "f40-build", "x86_64", "builder1"))
		out = must("rpminfo", "--buildroots", "hello-1.0-1.x86_64")
		has(out, fmt.Sprintf("Buildroot: %d (tag f40-build, arch x86_64, repo %d)", brB, f.repoID), "Used in 0 buildroots:")

		out = must("buildinfo", "--changelog", "hello-1.0-1")
		has(out, "BUILD: hello-1.0-1 [", "State: COMPLETE", "RPMs:", "/packages/hello/1.0/1/x86_64/hello-1.0-1.x86_64.rpm")
		out = must("list-builds", "--package", "hello")
		has(out, "hello-1.0-1", "COMPLETE")

		// hostinfo's active buildroots (brA is still INIT) and taskinfo's
		out = must("hostinfo", "builder1")
		has(out, "Active Buildroots:", fmt.Sprintf("f40-build-%d-%d", brA, f.repoID))
		if strings.Contains(out, fmt.Sprintf("f40-build-%d-", brB)) {
			t.Errorf("hostinfo lists the EXPIRED buildroot %d:\n%s", brB, out)
		}
		out = must("taskinfo", fmt.Sprint(taskB))
		has(out, "Buildroots:", fmt.Sprintf("/var/lib/mock/f40-build-%d-%d/", brB, f.repoID))
	})
}
