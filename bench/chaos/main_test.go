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
	for _, tool := range []string{"rpmbuild", "createrepo_c", "runuser", "mount", "ip"} {
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

// TestClassifyTakes: a task taken again is legitimate only when the kojid
// that had it exited, handed it back, or was cut off past the host
// timeout; two reachable kojids taking it is opened twice.
func TestClassifyTakes(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	running := &proc{done: make(chan struct{})}
	exited := func(s int) *proc {
		p := &proc{done: make(chan struct{}), ended: at(s)}
		close(p.done)
		return p
	}
	cut := []cutWindow{{builder: 3, from: at(10), to: at(45)}}
	tests := []struct {
		name                      string
		takes                     []take
		afterEnd, afterCut, twice int
	}{
		{"once", []take{{at: at(1), builder: 0, p: running}}, 0, 0, 0},
		{"after a kill", []take{{at: at(5), builder: 0, p: running}, {at: at(1), builder: 0, p: exited(3)}}, 1, 0, 0},
		{"handed back, process still exiting", []take{{at: at(1), builder: 1, p: running, handedBack: at(20)}, {at: at(21), builder: 2, p: running}}, 1, 0, 0},
		{"taken by a cut-off builder, re-run elsewhere", []take{{at: at(5), builder: 3, p: running}, {at: at(42), builder: 0, p: running}}, 0, 1, 0},
		{"taken again by the same builder after the cut", []take{{at: at(5), builder: 3, p: running}, {at: at(50), builder: 3, p: running}}, 0, 1, 0},
		{"taken after the cut ended: not excused by it", []take{{at: at(50), builder: 3, p: running}, {at: at(60), builder: 0, p: running}}, 0, 0, 1},
		{"cut of another builder", []take{{at: at(5), builder: 2, p: running}, {at: at(42), builder: 0, p: running}}, 0, 0, 1},
		{"two reachable kojids", []take{{at: at(1), builder: 0, p: running}, {at: at(2), builder: 1, p: running}}, 0, 0, 1},
		{"exited only after the re-take", []take{{at: at(1), builder: 0, p: exited(9)}, {at: at(2), builder: 1, p: running}}, 0, 0, 1},
		{"handed back only after the re-take", []take{{at: at(1), builder: 1, p: running, handedBack: at(9)}, {at: at(2), builder: 2, p: running}}, 0, 0, 1},
	}
	for _, tt := range tests {
		e, c, tw := classifyTakes(tt.takes, cut)
		if e != tt.afterEnd || c != tt.afterCut || tw != tt.twice {
			t.Errorf("classifyTakes(%s) = %d after end, %d after cut, %d twice; want %d, %d, %d", tt.name, e, c, tw, tt.afterEnd, tt.afterCut, tt.twice)
		}
	}
}
