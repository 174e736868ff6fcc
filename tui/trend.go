package tui

import (
	"fmt"
	"strings"
	"time"

	"kojigo/tui/farm"
)

// trendWindow is how far back a disk's rate is measured.
const trendWindow = time.Hour

// diskTrend says in words where a disk is heading, from the check-ins of
// the last hour: "workdir /var/lib/kojid full in ~3 h at the last hour's
// rate", or that it is steady.
func diskTrend(d farm.Disk, hist []farm.HealthSample, now time.Time) string {
	var first, last *farm.Disk
	var t0, t1 time.Time
	for i := range hist {
		s := hist[i]
		if now.Sub(s.At) > trendWindow {
			continue
		}
		for j := range s.Disks {
			if s.Disks[j].Path != d.Path {
				continue
			}
			if first == nil {
				first, t0 = &s.Disks[j], s.At
			}
			last, t1 = &s.Disks[j], s.At
		}
	}
	name := strings.TrimSpace(d.Role + " " + d.Path)
	if first == nil || t1.Sub(t0) < 5*time.Minute {
		return name + ": not enough history for a trend yet"
	}
	span := t1.Sub(t0)
	lost := float64(first.Free - last.Free)
	if lost <= 0 {
		return fmt.Sprintf("%s steady or freeing space over the last %s", name, durationWords(span))
	}
	rate := lost / span.Seconds() // bytes a second
	eta := time.Duration(float64(d.Free) / rate * float64(time.Second))
	return fmt.Sprintf("%s full in %s at the last hour's rate (%s/h)", name, durationWords(eta), bytesIEC(int64(rate*3600)))
}

// historyChart draws the host's check-ins as sparklines of its fullest
// disk's use and its task load.
func historyChart(hist []farm.HealthSample, width int, st Styles) string {
	n := min(len(hist), max(width-30, 10))
	hist = hist[len(hist)-n:]
	disk := make([]float64, 0, n)
	ready := make([]byte, 0, n)
	for _, s := range hist {
		best := 0.0
		for _, d := range s.Disks {
			best = max(best, d.UsedFraction())
		}
		disk = append(disk, best)
		if s.Ready {
			ready = append(ready, '-')
		} else {
			ready = append(ready, 'X')
		}
	}
	span := hist[len(hist)-1].At.Sub(hist[0].At)
	return fmt.Sprintf("  disk use, last %d check-ins (%s): %s  not ready: %s", n, durationWords(span), sparkline(disk), notReadySummary(ready))
}

func notReadySummary(r []byte) string {
	bad := strings.Count(string(r), "X")
	if bad == 0 {
		return "never"
	}
	return fmt.Sprintf("%d of %d", bad, len(r))
}
