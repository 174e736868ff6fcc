package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	s := []sample{
		{wall: 3 * time.Second, cpu: 1 * time.Second, rssKiB: 30},
		{wall: 1 * time.Second, cpu: 5 * time.Second, rssKiB: 10},
		{wall: 2 * time.Second, cpu: 3 * time.Second, rssKiB: 20},
	}
	m := median(s)
	if m.wall != 2*time.Second || m.cpu != 3*time.Second || m.rssKiB != 20 {
		t.Errorf("median = %+v, want 2s, 3s, 20 KiB", m)
	}
	if got := walls(s); got != "3.00,1.00,2.00" {
		t.Errorf("walls = %q", got)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	for _, c := range []config{
		{n: 0, runs: 1, workers: 1},
		{n: 10, runs: 0, workers: 1},
		{n: 10, runs: 1, workers: 0},
		{n: 10, runs: 1, workers: 1, add: -1},
		{n: 10, runs: 1, workers: 1, createrpo: "no-such-createrepo-binary"},
	} {
		if err := run(context.Background(), c, io.Discard); err == nil {
			t.Errorf("run(%+v) = nil, want an error", c)
		}
	}
}

func TestMeasureChild(t *testing.T) {
	s, err := measure(context.Background(), []string{"sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"})
	if err != nil {
		t.Fatal(err)
	}
	if s.wall <= 0 || s.cpu <= 0 || s.rssKiB <= 0 {
		t.Errorf("measure = %+v, want positive wall, CPU and RSS", s)
	}
	if _, err := measure(context.Background(), []string{"sh", "-c", "echo boom >&2; exit 3"}); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("measure of a failing command = %v, want its stderr", err)
	}
}
