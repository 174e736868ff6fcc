package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"kojigo/db"
)

type report struct {
	short                bool
	elapsed              time.Duration
	submitted, completed int
	failed               map[string]int
	failures             []string
	lost                 []string
	submitErrs           []string
	openedTwice          []string
	reopenedAfterEnd     int // the earlier taker's kojid had exited or handed the task back
	reopenedAfterCut     int // the earlier taker's builder was cut off

	dbRunsTwice           []string
	thrownAway            []string
	reposChecked, reposOK int
	repoProblems          []string
	faults                []*faultResult
	violations            []string
}

var (
	tookRE = regexp.MustCompile(`(?m)^time=(\S+) .*msg="took task" .*task_id=(\d+) `)
	// kojid's shutdown = free: the run stopped, then the task is freed.
	handedBackRE = regexp.MustCompile(`(?m)^time=(\S+) .*msg="task stopped by shutdown, handing it back to the hub" .*task_id=(\d+) `)
)

// take is one "took task" line of a kojid incarnation.
type take struct {
	at      time.Time
	builder int
	p       *proc
	// handedBack is when this incarnation then stopped the run and
	// handed the task back to the hub (zero: it did not).
	handedBack time.Time
}

// check gathers the figures once every build has ended (or the drain timed out).
func check(ctx context.Context, f *farm, tr *tracker, faults []*faultResult) *report {
	r := &report{failed: map[string]int{}, faults: faults, submitErrs: tr.submitErr}
	tr.mu.Lock()
	builds := slices.Clone(tr.builds)
	tr.mu.Unlock()
	r.submitted = len(builds) + len(tr.submitErr)
	for _, b := range builds {
		switch {
		case b.state == taskClosed:
			r.completed++
		case b.state == taskFailed || b.state == taskCanceled:
			cl := failureClass(b.result)
			r.failed[cl]++
			r.failures = append(r.failures, fmt.Sprintf("task %d %s: %s", b.task, b.nvr, firstLine(b.result)))
		default:
			r.lost = append(r.lost, fmt.Sprintf("task %d %s state %d", b.task, b.nvr, b.state))
		}
	}
	for _, fr := range faults {
		if fr.healed.IsZero() {
			continue
		}
		if t, ok := tr.firstClosedAfter(fr.healed); ok {
			fr.recovered = t.Sub(fr.healed)
		}
	}

	// Opened twice: every kojid incarnation's "took task" lines, sorted
	// per task by classifyTakes.
	takes := map[int64][]take{}
	for i, d := range f.kojids {
		d.mu.Lock()
		incs := slices.Clone(d.incs)
		d.mu.Unlock()
		for _, p := range incs {
			b, _ := os.ReadFile(p.logf)
			mine := map[int64][]*take{}
			for _, m := range tookRE.FindAllStringSubmatch(string(b), -1) {
				at, _ := time.Parse(time.RFC3339Nano, m[1])
				id, _ := strconv.ParseInt(m[2], 10, 64)
				mine[id] = append(mine[id], &take{at: at, builder: i, p: p})
			}
			for _, m := range handedBackRE.FindAllStringSubmatch(string(b), -1) {
				at, _ := time.Parse(time.RFC3339Nano, m[1])
				id, _ := strconv.ParseInt(m[2], 10, 64)
				// the run it stops is this incarnation's latest take before
				ts := mine[id]
				for k := len(ts) - 1; k >= 0; k-- {
					if !ts[k].at.After(at) {
						ts[k].handedBack = at
						break
					}
				}
			}
			for id, ts := range mine {
				for _, tk := range ts {
					takes[id] = append(takes[id], *tk)
				}
			}
		}
	}
	f.cutMu.Lock()
	cuts := slices.Clone(f.cuts)
	f.cutMu.Unlock()
	excused := map[int64]int{}
	for id, ts := range takes {
		afterEnd, afterCut, twice := classifyTakes(ts, cuts)
		r.reopenedAfterEnd += afterEnd
		r.reopenedAfterCut += afterCut
		excused[id] = afterEnd + afterCut
		if twice > 0 {
			why := ""
			if t, err := f.store.GetTask(ctx, id); err == nil {
				why = fmt.Sprintf(" (%s, retries %d, free reason %q)", t.Method, t.Retries, deref(t.FreeReason))
			}
			r.openedTwice = append(r.openedTwice, fmt.Sprintf("task %d taken %d times while the kojid that had it was still running and reachable%s", id, twice+1, why))
		}
	}
	sort.Strings(r.openedTwice)
	// The hub's own record: more than one scheduler run of a task beyond
	// the legitimate re-takes above.
	if runs, err := f.store.ListTaskRuns(ctx, db.RunFilter{}); err == nil {
		per := map[int64]int{}
		for _, x := range runs {
			per[x.TaskID]++
		}
		for id, n := range per {
			if n-excused[id] > 1 {
				r.dbRunsTwice = append(r.dbRunsTwice, fmt.Sprintf("task %d: %d scheduler runs", id, n))
			}
		}
		sort.Strings(r.dbRunsTwice)
	}

	// RPMs thrown away: a buildArch that closed (rpmbuild done, RPMs
	// uploaded) under a build task that did not close.
	for _, b := range builds {
		if b.state == taskClosed {
			continue
		}
		v, err := f.call(ctx, "getTaskChildren", b.task)
		if err != nil {
			continue
		}
		for _, x := range asList(v) {
			c := asMap(x)
			if c["method"] == "buildArch" && asInt(c["state"]) == taskClosed {
				bs := "no build"
				if bv, err := f.call(ctx, "getBuild", b.nvr); err == nil && bv != nil {
					bs = fmt.Sprintf("build %v in state %d", asMap(bv)["id"], asInt(asMap(bv)["state"]))
				}
				r.thrownAway = append(r.thrownAway, fmt.Sprintf("buildArch %v of %s closed but build task %d ended in state %d (%s): %s", c["id"], b.nvr, b.task, b.state, bs, firstLine(b.result)))
			}
		}
	}

	checkRepos(ctx, f, r)

	for _, fr := range faults {
		if fr.err != nil {
			r.violations = append(r.violations, fmt.Sprintf("fault %s: %v", fr.name, fr.err))
		} else if fr.back < 0 {
			r.violations = append(r.violations, fmt.Sprintf("fault %s: the farm was not back within the probe's limit", fr.name))
		}
	}
	if len(r.lost) > 0 {
		r.violations = append(r.violations, fmt.Sprintf("%d builds lost", len(r.lost)))
	}
	if len(r.submitErrs) > 0 {
		r.violations = append(r.violations, fmt.Sprintf("%d builds could not be submitted", len(r.submitErrs)))
	}
	if len(r.openedTwice) > 0 {
		r.violations = append(r.violations, fmt.Sprintf("%d tasks opened twice", len(r.openedTwice)))
	}
	if len(r.thrownAway) > 0 {
		r.violations = append(r.violations, fmt.Sprintf("%d buildArch results thrown away", len(r.thrownAway)))
	}
	if len(r.repoProblems) > 0 {
		r.violations = append(r.violations, fmt.Sprintf("%d repos inconsistent", len(r.repoProblems)))
	}
	return r
}

// checkRepos compares, for every READY repo under topdir/repos, each
// arch's repodata (primary) with its pkglist.
func checkRepos(ctx context.Context, f *farm, r *report) {
	tags, _ := os.ReadDir(filepath.Join(f.topdir, "repos"))
	for _, tag := range tags {
		ids, _ := os.ReadDir(filepath.Join(f.topdir, "repos", tag.Name()))
		for _, idDir := range ids {
			id, err := strconv.ParseInt(idDir.Name(), 10, 64)
			if err != nil || !idDir.IsDir() {
				continue
			}
			v, err := f.call(ctx, "repoInfo", id)
			if err != nil || asInt(asMap(v)["state"]) != 1 { // READY
				continue
			}
			repoDir := filepath.Join(f.topdir, "repos", tag.Name(), idDir.Name())
			arches, _ := os.ReadDir(repoDir)
			ok, seen := true, false
			for _, a := range arches {
				archDir := filepath.Join(repoDir, a.Name())
				want, err := readPkglist(filepath.Join(archDir, "pkglist"))
				if err != nil {
					continue // not an arch directory
				}
				seen = true
				got, err := readPrimary(archDir)
				if err != nil {
					ok = false
					r.repoProblems = append(r.repoProblems, fmt.Sprintf("repo %d %s/%s: %v", id, tag.Name(), a.Name(), err))
					continue
				}
				if d := diff(want, got); d != "" {
					ok = false
					r.repoProblems = append(r.repoProblems, fmt.Sprintf("repo %d %s/%s: %s", id, tag.Name(), a.Name(), d))
				}
			}
			if !seen {
				ok = false
				r.repoProblems = append(r.repoProblems, fmt.Sprintf("repo %d %s: READY without a pkglist", id, tag.Name()))
			}
			r.reposChecked++
			if ok {
				r.reposOK++
			}
		}
	}
}

func readPkglist(p string) (map[string]bool, error) {
	fh, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out[path.Base(l)] = true
		}
	}
	return out, sc.Err()
}

// readPrimary lists the RPM file names in an arch directory's primary metadata.
func readPrimary(archDir string) (map[string]bool, error) {
	md, err := os.ReadFile(filepath.Join(archDir, "repodata", "repomd.xml"))
	if err != nil {
		return nil, err
	}
	var repomd struct {
		Data []struct {
			Type     string `xml:"type,attr"`
			Location struct {
				Href string `xml:"href,attr"`
			} `xml:"location"`
		} `xml:"data"`
	}
	if err := xml.Unmarshal(md, &repomd); err != nil {
		return nil, fmt.Errorf("repomd.xml: %v", err)
	}
	href := ""
	for _, d := range repomd.Data {
		if d.Type == "primary" {
			href = d.Location.Href
		}
	}
	if href == "" {
		return nil, fmt.Errorf("repomd.xml names no primary")
	}
	fh, err := os.Open(filepath.Join(archDir, href))
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var rd io.Reader = fh
	if strings.HasSuffix(href, ".gz") {
		gz, err := gzip.NewReader(fh)
		if err != nil {
			return nil, err
		}
		rd = gz
	} else if !strings.HasSuffix(href, ".xml") {
		return nil, fmt.Errorf("cannot read %s", href)
	}
	out := map[string]bool{}
	dec := xml.NewDecoder(rd)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", href, err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "location" {
			for _, a := range se.Attr {
				if a.Name.Local == "href" {
					out[path.Base(a.Value)] = true
				}
			}
		}
	}
}

func diff(want, got map[string]bool) string {
	var missing, extra []string
	for k := range want {
		if !got[k] {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		return ""
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return fmt.Sprintf("pkglist has %d, repodata %d; missing from repodata %v, not in pkglist %v", len(want), len(got), missing, extra)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func fmtDur(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return d.Round(100 * time.Millisecond).String()
}

func (r *report) print(w io.Writer) {
	form := "long"
	if r.short {
		form = "short"
	}
	fmt.Fprintf(w, "chaos (%s form): %v, %d faults injected\n", form, r.elapsed.Round(time.Second), len(r.faults))
	var fl []string
	for k, n := range r.failed {
		fl = append(fl, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(fl)
	nf := 0
	for _, n := range r.failed {
		nf += n
	}
	fmt.Fprintf(w, "builds: submitted %d, completed %d, failed %d (%s), lost %d, not submitted %d\n",
		r.submitted, r.completed, nf, strings.Join(fl, ", "), len(r.lost), len(r.submitErrs))
	for _, s := range r.failures {
		fmt.Fprintf(w, "  failed: %s\n", s)
	}
	for _, s := range r.lost {
		fmt.Fprintf(w, "  lost: %s\n", s)
	}
	for _, s := range r.submitErrs {
		fmt.Fprintf(w, "  not submitted: %s\n", firstLine(s))
	}
	fmt.Fprintf(w, "tasks opened twice: %d (reopened after their kojid exited or handed them back: %d, after their builder was cut off: %d; tasks assigned more than once, refusals included: %d)\n",
		len(r.openedTwice), r.reopenedAfterEnd, r.reopenedAfterCut, len(r.dbRunsTwice))
	for _, s := range r.openedTwice {
		fmt.Fprintf(w, "  opened twice: %s\n", s)
	}
	fmt.Fprintf(w, "RPMs built and thrown away: %d\n", len(r.thrownAway))
	for _, s := range r.thrownAway {
		fmt.Fprintf(w, "  thrown away: %s\n", s)
	}
	fmt.Fprintf(w, "repos: %d READY checked, %d consistent with their pkglist\n", r.reposChecked, r.reposOK)
	for _, s := range r.repoProblems {
		fmt.Fprintf(w, "  repo: %s\n", s)
	}
	fmt.Fprintf(w, "%-16s %9s %9s %10s  %s\n", "fault", "noticed", "back", "recovered", "note (noticed: from injection; back, recovered: from heal)")
	for _, fr := range r.faults {
		note := fr.note
		if fr.err != nil {
			note += " ERROR: " + fr.err.Error()
		}
		fmt.Fprintf(w, "%-16s %9s %9s %10s  %s\n", fr.name, fmtDur(fr.noticed), fmtDur(fr.back), fmtDur(fr.recovered), note)
	}
	if len(r.violations) == 0 {
		fmt.Fprintln(w, "PASS: 0 lost, 0 opened twice, 0 RPMs thrown away, every repo consistent")
	} else {
		fmt.Fprintf(w, "FAIL: %s\n", strings.Join(r.violations, "; "))
	}
}

// classifyTakes sorts the takes of one task in time and judges each take
// after the first. Taking a task again is legitimate when the kojid that
// took it before had exited by then (SIGKILLed by kill-kojid), or had
// stopped the run and handed the task back (SIGTERM with shutdown = free;
// the process may still be logging out), or when that kojid's builder was
// cut off between the two takes (link-cut): the hub declared it dead after
// its host timeout and freed the task, and link-cut checks that the old
// kojid gave the task up once it was reachable again. Otherwise two
// reachable kojids ran the task: opened twice.
func classifyTakes(ts []take, cuts []cutWindow) (afterEnd, afterCut, twice int) {
	sort.Slice(ts, func(a, b int) bool { return ts[a].at.Before(ts[b].at) })
	for k := 1; k < len(ts); k++ {
		prev, next := ts[k-1], ts[k]
		switch {
		case prev.p.endedBefore(next.at), !prev.handedBack.IsZero() && prev.handedBack.Before(next.at):
			afterEnd++
		case cutOff(cuts, prev.builder, prev.at, next.at):
			afterCut++
		default:
			twice++
		}
	}
	return afterEnd, afterCut, twice
}

// cutOff reports whether builder's link was cut at some time between a and b.
func cutOff(cuts []cutWindow, builder int, a, b time.Time) bool {
	for _, c := range cuts {
		if c.builder == builder && c.from.Before(b) && c.to.After(a) {
			return true
		}
	}
	return false
}
