package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestChaosShort runs the short form: a real farm, about 30 builds, each
// fault once. It fails when a build was lost, a task opened twice, an RPM
// built and thrown away, a repo is inconsistent, or the farm did not come
// back from a fault. It runs with KOJI_CHAOS=1 or KOJI_REQUIRE_TOOLS=1
// (.ci/run), as root with rpmbuild, createrepo_c and PostgreSQL's server.
func TestChaosShort(t *testing.T) {
	require := os.Getenv("KOJI_REQUIRE_TOOLS") == "1"
	if os.Getenv("KOJI_CHAOS") != "1" && !require {
		t.Skip("the chaos farm runs with KOJI_CHAOS=1 or KOJI_REQUIRE_TOOLS=1")
	}
	if testing.Short() {
		t.Skip("the chaos farm takes minutes")
	}
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, tool := range []string{"rpmbuild", "createrepo_c", "runuser", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if _, err := pgTool("initdb"); err != nil {
		missing = append(missing, "initdb")
	}
	if len(missing) > 0 {
		if require {
			t.Fatalf("chaos needs %s", strings.Join(missing, ", "))
		}
		t.Skipf("chaos needs %s", strings.Join(missing, ", "))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()
	var out strings.Builder
	began := time.Now()
	rep, err := run(ctx, config{short: true, out: &out})
	t.Logf("chaos report:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range rep.violations {
		t.Error(v)
	}
	if d := time.Since(began); d > 5*time.Minute {
		t.Logf("the short form took %v, more than its 5 minutes", d.Round(time.Second))
	}
}
