package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestRunRejectsBadConfig(t *testing.T) {
	good := config{n: 10, workers: 1, updates: 1, poll: time.Second, timeout: time.Minute}
	for _, mod := range []func(*config){
		func(c *config) { c.n = 0 },
		func(c *config) { c.n = -5 },
		func(c *config) { c.workers = 0 },
		func(c *config) { c.updates = 0 },
		func(c *config) { c.poll = 0 },
		func(c *config) { c.timeout = -time.Second },
	} {
		c := good
		mod(&c)
		if err := run(context.Background(), c, io.Discard); err == nil {
			t.Errorf("run(%+v) = nil, want an error", c)
		}
	}
}

func TestReadCorpusRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/junk.rpm", []byte("not an rpm"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readCorpus(dir); err == nil {
		t.Error("readCorpus of a non-rpm = nil error")
	}
	if _, err := readCorpus(dir + "/missing"); err == nil {
		t.Error("readCorpus of a missing directory = nil error")
	}
}

func TestAtAndCompact(t *testing.T) {
	t0 := time.Unix(100, 0)
	s := []cpuSample{{at: t0, hub: 1}, {at: t0.Add(time.Second), hub: 5}, {at: t0.Add(2 * time.Second), hub: 9}}
	hub := func(c cpuSample) int64 { return c.hub }
	for _, c := range []struct {
		t    time.Time
		want int64
	}{{t0.Add(-time.Second), 1}, {t0, 1}, {t0.Add(time.Millisecond), 5}, {t0.Add(time.Hour), 9}} {
		if got := at(s, c.t, hub); got != c.want {
			t.Errorf("at(%v) = %d, want %d", c.t, got, c.want)
		}
	}
	in := []string{"0/9", "1/9", "2/9", "3/9", "4/9", "5/9", "6/9", "7/9", "8/9", "9/9"}
	got := compact(in, 4)
	if len(got) != 4 || got[0] != "0/9" || got[3] != "9/9" {
		t.Errorf("compact = %v", got)
	}
	if got := compact(in[:3], 4); len(got) != 3 {
		t.Errorf("compact of a short list = %v", got)
	}
}

// TestBenchSmallCorpus runs the whole benchmark at -n 200 (some 30 s): real
// kojihub and kojid, 200 imports, two newRepo runs, and checks the report
// has every figure.
func TestBenchSmallCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kojihub and kojid and imports 200 packages")
	}
	c := config{n: 200, rpmcorpus: "/var/tmp/rpmcorpus-bin", rpmcorpusSrc: "/work/shared/repogen/rpmcorpus",
		workers: 2, updates: 3, poll: 100 * time.Millisecond, timeout: 5 * time.Minute, sleeptime: 200 * time.Millisecond}
	if _, err := os.Stat(c.rpmcorpus); err != nil {
		if _, err := os.Stat(c.rpmcorpusSrc); err != nil {
			t.Skipf("no rpmcorpus binary at %s nor source at %s", c.rpmcorpus, c.rpmcorpusSrc)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), c, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	report := out.String()
	t.Log(report)
	for _, re := range []string{
		`(?m)^wall, newRepo request to READY +\d+\.\d+ s +\d+\.\d+ s$`,
		`(?m)^kojid CPU \(utime\+stime\) +\d+\.\d+ s +\d+\.\d+ s$`,
		`(?m)^kojid RSS before +\d+\.\d MiB +\d+\.\d MiB$`,
		`(?m)^kojid peak RSS \(VmHWM, reset before\) +[1-9]\d*\.\d MiB +[1-9]\d*\.\d MiB$`,
		`(?m)^package list: hub CPU in the window +\d+\.\d+ s +\d+\.\d+ s$`,
		`(?m)^host.repoInit wall \(hub /metrics\) +\d+\.\d+ s +\d+\.\d+ s$`,
		`(?m)^update speed-up \(full wall / update wall\): \d+\.\dx`,
		`(?m)^progress samples: (\d+/\d+, )*(\d+)/(\d+)`,
		`imported 200 rpms in \d+ builds`,
		`(?m)^3 updates, one more package each: walls \d+\.\d+ s, \d+\.\d+ s, \d+\.\d+ s; the update column is the median run$`,
	} {
		if !regexp.MustCompile(re).MatchString(report) {
			t.Errorf("report lacks %s", re)
		}
	}
	m := regexp.MustCompile(`(?m)^progress samples: (?:.*, )?(\d+)/(\d+)`).FindStringSubmatch(report)
	if m == nil || m[1] != m[2] || m[2] == "0" {
		t.Errorf("last progress sample %v: want done == total > 0", m)
	}
	if !strings.Contains(report, "the repo holds") {
		t.Error("report does not say how many packages the repo holds")
	}
}
