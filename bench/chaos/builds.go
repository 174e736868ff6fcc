package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// pkgNames is how many package names the builds spread over; each build
// has its own version, so no two builds collide.
const pkgNames = 5

func pkgName(i int) string { return fmt.Sprintf("chaos%d", i%pkgNames) }

// build is one submitted build and what became of it.
type build struct {
	n         int
	nvr       string
	task      int64
	submitted time.Time
	state     int64 // last seen task state
	ended     time.Time
	result    string // the fault's text of a failed build
}

// tracker submits builds and follows every task to its end.
type tracker struct {
	f         *farm
	mu        sync.Mutex
	builds    []*build
	submitErr []string
}

// makeSRPM writes a small noarch package whose %build sleeps secs seconds.
func makeSRPM(dir string, n, secs int) (string, string, error) {
	name, version := pkgName(n), fmt.Sprintf("1.%d", n)
	d := filepath.Join(dir, fmt.Sprintf("pkg%04d", n))
	os.MkdirAll(d, 0o755)
	spec := fmt.Sprintf(`Name: %s
Version: %s
Release: 1
Summary: chaos build %d
License: MIT
BuildArch: noarch
%%description
A package built by the chaos program.
%%build
echo "chaos build %d"
sleep %d
%%install
mkdir -p %%{buildroot}/usr/share/%s
echo %d > %%{buildroot}/usr/share/%s/n
%%files
/usr/share/%s/n
`, name, version, n, n, secs, name, n, name, name)
	specPath := filepath.Join(d, name+".spec")
	if err := os.WriteFile(specPath, []byte(spec), 0o644); err != nil {
		return "", "", err
	}
	out, err := exec.Command("rpmbuild", "-bs", "--define", "_topdir "+d, "--define", "_srcrpmdir "+d, specPath).CombinedOutput()
	if err != nil {
		return "", "", fmt.Errorf("rpmbuild -bs: %v\n%s", err, out)
	}
	m, _ := filepath.Glob(filepath.Join(d, "*.src.rpm"))
	if len(m) != 1 {
		return "", "", fmt.Errorf("no SRPM in %s", d)
	}
	return m[0], fmt.Sprintf("%s-%s-1", name, version), nil
}

// submit uploads an SRPM whose %build sleeps secs seconds and starts its
// build, through the next hub; a failed upload or call goes to the other
// hub (the upload's directory is new each time, so a retried build never
// reuses a half upload).
func (tr *tracker) submit(ctx context.Context, n, secs int) {
	srpm, nvr, err := makeSRPM(filepath.Join(tr.f.dir, "srpms"), n, secs)
	if err != nil {
		tr.mu.Lock()
		tr.submitErr = append(tr.submitErr, err.Error())
		tr.mu.Unlock()
		return
	}
	b := &build{n: n, nvr: nvr, submitted: time.Now(), state: -1}
	var lastErr error
	for attempt := range 6 {
		c := tr.f.client()
		dir := fmt.Sprintf("cli-build/%d.chaos%d", time.Now().UnixNano(), attempt)
		if err := c.UploadFile(ctx, srpm, dir, filepath.Base(srpm), nil); err != nil {
			lastErr = fmt.Errorf("upload: %w", err)
			time.Sleep(2 * time.Second)
			continue
		}
		v, err := c.Call(ctx, "build", dir+"/"+filepath.Base(srpm), "dist-candidate", map[string]any{})
		if err != nil {
			lastErr = fmt.Errorf("build: %w", err)
			time.Sleep(2 * time.Second)
			continue
		}
		b.task = asInt(v)
		break
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if b.task == 0 {
		tr.submitErr = append(tr.submitErr, fmt.Sprintf("%s: %v", nvr, lastErr))
		return
	}
	tr.builds = append(tr.builds, b)
}

// poll refreshes the state of every unfinished build.
func (tr *tracker) poll(ctx context.Context) {
	tr.mu.Lock()
	var open []*build
	for _, b := range tr.builds {
		if b.ended.IsZero() {
			open = append(open, b)
		}
	}
	tr.mu.Unlock()
	for _, b := range open {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		v, err := tr.f.client().Call(cctx, "getTaskInfo", b.task)
		cancel()
		if err != nil {
			continue
		}
		st := asInt(asMap(v)["state"])
		tr.mu.Lock()
		b.state = st
		tr.mu.Unlock()
		if st == taskClosed || st == taskFailed || st == taskCanceled {
			res := ""
			if st == taskFailed {
				_, err := tr.f.client().Call(ctx, "getTaskResult", b.task)
				if err != nil {
					res = err.Error()
				}
			}
			tr.mu.Lock()
			b.ended, b.result = time.Now(), res
			tr.mu.Unlock()
		}
	}
}

// pending counts builds not finished yet.
func (tr *tracker) pending() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, b := range tr.builds {
		if b.ended.IsZero() {
			n++
		}
	}
	return n
}

// firstClosedAfter is when the first build that closed after t closed.
func (tr *tracker) firstClosedAfter(t time.Time) (time.Time, bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var best time.Time
	for _, b := range tr.builds {
		if b.state == taskClosed && b.ended.After(t) && (best.IsZero() || b.ended.Before(best)) {
			best = b.ended
		}
	}
	return best, !best.IsZero()
}

// failureClass sorts a failed build's fault into a reason class.
func failureClass(res string) string {
	s := strings.ToLower(res)
	switch {
	case strings.Contains(s, "no space"), strings.Contains(s, "enospc"), strings.Contains(s, "disk"):
		return "disk full"
	case strings.Contains(s, "offline"), strings.Contains(s, "database"), strings.Contains(s, "connection"), strings.Contains(s, "eof"):
		return "hub/database unavailable"
	case strings.Contains(s, "cancel"):
		return "cancelled"
	case strings.Contains(s, "timeout"), strings.Contains(s, "timed out"):
		return "timeout"
	case res == "":
		return "unknown (no result)"
	}
	return "other"
}
