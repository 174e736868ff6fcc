package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"kojigo/internal/kojiclient"
)

// Task states, Koji's numbers.
const (
	taskFree     = 0
	taskOpen     = 1
	taskClosed   = 2
	taskCanceled = 3
	taskAssigned = 4
	taskFailed   = 5
)

func stateName(s int64) string {
	switch s {
	case taskFree:
		return "FREE"
	case taskOpen:
		return "OPEN"
	case taskClosed:
		return "CLOSED"
	case taskCanceled:
		return "CANCELED"
	case taskAssigned:
		return "ASSIGNED"
	case taskFailed:
		return "FAILED"
	}
	return "state " + strconv.FormatInt(s, 10)
}

func final(s int64) bool { return s == taskClosed || s == taskCanceled || s == taskFailed }

// caller is the part of the hub client the demo uses.
type caller interface {
	Call(ctx context.Context, method string, args ...any) (any, error)
}

// setupFarm creates what is missing: the tags, the target, the package
// list and the builders' hosts.
func setupFarm(ctx context.Context, c caller, builders int, arch string) error {
	call := func(method string, args ...any) (any, error) {
		v, err := c.Call(ctx, method, args...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", method, err)
		}
		return v, nil
	}
	if v, err := call("getTag", Tag); err != nil {
		return err
	} else if v == nil {
		if _, err := call("createTag", Tag); err != nil {
			return err
		}
	}
	if v, err := call("getTag", BuildTag); err != nil {
		return err
	} else if v == nil {
		if _, err := call("createTag", BuildTag, kojiclient.Kw{"parent": Tag, "arches": arch}); err != nil {
			return err
		}
	}
	if v, err := call("getBuildTarget", Target); err != nil {
		return err
	} else if v == nil {
		if _, err := call("createBuildTarget", Target, BuildTag, Tag); err != nil {
			return err
		}
	}
	tag, err := call("getTag", Tag)
	if err != nil {
		return err
	}
	listed, err := call("listPackages", kojiclient.Kw{"tagID": asMap(tag)["id"]})
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, p := range asList(listed) {
		have[fmt.Sprint(asMap(p)["package_name"])] = true
	}
	for _, s := range samples() {
		if have[s.Package] {
			continue
		}
		if _, err := call("packageListAdd", Tag, s.Package, kojiclient.Kw{"owner": AdminUser}); err != nil {
			return err
		}
	}
	for i := 1; i <= builders; i++ {
		n := builderName(i)
		if v, err := call("getHost", n); err != nil {
			return err
		} else if v == nil {
			if _, err := call("addHost", n, []any{arch}); err != nil {
				return err
			}
		}
		// every builder also makes repos (newRepo, createrepo tasks)
		chans, err := call("listChannels", kojiclient.Kw{"hostID": n})
		if err != nil {
			return err
		}
		subscribed := false
		for _, ch := range asList(chans) {
			subscribed = subscribed || fmt.Sprint(asMap(ch)["name"]) == repoChannel
		}
		if !subscribed {
			if _, err := call("addHostToChannel", n, repoChannel); err != nil {
				return err
			}
		}
	}
	return nil
}

// repoChannel is the channel of the repo tasks.
const repoChannel = "createrepo"

// tracked is a build task the demo follows.
type tracked struct {
	pkg      sample
	id       int64
	states   map[int64]int64 // task id → last state printed
	done     bool
	reported bool
}

// watcher submits the sample builds and reports hosts and tasks.
type watcher struct {
	out      interface{ Write([]byte) (int, error) }
	admin    caller
	l        layout
	st       *state
	children []*child
	log      *slog.Logger
	arch     string // the build tag's arch: the repo's arch directory
	dnf      string // dnf's path, for the line that reads the repo; "": not printed

	builds    []*tracked
	repo      repoWatch
	hosts     map[string]string // host name → last line printed
	hostNames map[int64]string
	exited    map[string]bool
	started   time.Time
	submitted int
	finished  bool
}

func (w *watcher) printf(format string, args ...any) { fmt.Fprintf(w.out, format+"\n", args...) }

// submit builds the samples that have not succeeded yet and resumes
// following those still running.
func (w *watcher) submit(ctx context.Context) error {
	rpmbuild, lookErr := exec.LookPath("rpmbuild")
	var notSubmitted []string
	defer func() {
		if len(notSubmitted) > 0 {
			w.printf("builds of %s not submitted: rpmbuild not found to make their SRPMs: install rpm-build (Fedora, RHEL) or rpm (Debian, Ubuntu) and run the demo again",
				strings.Join(notSubmitted, ", "))
		}
	}()
	for _, s := range samples() {
		tagged, err := w.admin.Call(ctx, "listTagged", Tag, kojiclient.Kw{"package": s.Package})
		if err != nil {
			return fmt.Errorf("listTagged: %w", err)
		}
		if l := asList(tagged); len(l) > 0 {
			w.printf("build %s: %v already built and tagged into %s", s.Package, asMap(l[0])["nvr"], Tag)
			continue
		}
		if id, ok := w.st.Tasks[s.Package]; ok {
			info, err := w.admin.Call(ctx, "getTaskInfo", id)
			if err != nil {
				return fmt.Errorf("getTaskInfo %d: %w", id, err)
			}
			state := asInt(asMap(info)["state"])
			if info != nil && (!final(state) || s.WantFail && state == taskFailed) {
				w.printf("build %s: following task %d from the previous run (%s)", s.Package, id, stateName(state))
				w.builds = append(w.builds, &tracked{pkg: s, id: id, states: map[int64]int64{}})
				continue
			}
		}
		if lookErr != nil {
			notSubmitted = append(notSubmitted, s.Package)
			continue
		}
		if w.submitted == 0 {
			w.started = time.Now()
		}
		id, err := w.submitOne(ctx, rpmbuild, s)
		if err != nil {
			return err
		}
		w.submitted++
		w.st.Tasks[s.Package] = id
		if err := saveState(w.l.stateFile(), *w.st); err != nil {
			return err
		}
		w.builds = append(w.builds, &tracked{pkg: s, id: id, states: map[int64]int64{}})
	}
	return nil
}

// submitOne makes the sample's SRPM, uploads it as the koji CLI does and
// starts its build.
func (w *watcher) submitOne(ctx context.Context, rpmbuild string, s sample) (int64, error) {
	srcDir := filepath.Join(w.l.srpms(), s.Dir)
	os.RemoveAll(srcDir)
	if err := writeSample(s, srcDir); err != nil {
		return 0, err
	}
	specs, _ := filepath.Glob(filepath.Join(srcDir, "*.spec"))
	if len(specs) != 1 {
		return 0, fmt.Errorf("sample %s: want one spec, found %d", s.Dir, len(specs))
	}
	outDir := filepath.Join(srcDir, "out")
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(rctx, rpmbuild, "-bs", "--define", "_topdir "+outDir, "--define", "_sourcedir "+srcDir,
		"--define", "_srcrpmdir "+outDir, specs[0])
	if b, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("rpmbuild -bs %s: %w\n%s", s.Dir, err, lastLines(string(b), 10))
	}
	got, _ := filepath.Glob(filepath.Join(outDir, "*.src.rpm"))
	if len(got) != 1 {
		return 0, fmt.Errorf("rpmbuild -bs %s made %d SRPMs, want 1", s.Dir, len(got))
	}
	up, ok := w.admin.(interface {
		UploadFile(ctx context.Context, localPath, serverDir, name string, progress func(done, total int64)) error
	})
	if !ok {
		return 0, errors.New("the hub client cannot upload")
	}
	dir := fmt.Sprintf("cli-build/%d.demo", time.Now().UnixNano())
	name := filepath.Base(got[0])
	if err := up.UploadFile(ctx, got[0], dir, name, nil); err != nil {
		return 0, fmt.Errorf("upload %s: %w", name, err)
	}
	opts := map[string]any{}
	if len(s.WaitBuilds) > 0 {
		l := make([]any, len(s.WaitBuilds))
		for i, b := range s.WaitBuilds {
			l[i] = b
		}
		opts["wait_builds"] = l
	}
	v, err := w.admin.Call(ctx, "build", dir+"/"+name, Target, opts)
	if err != nil {
		return 0, fmt.Errorf("build %s: %w", name, err)
	}
	id := asInt(v)
	w.printf("build %s: submitted %s as task %d", s.Package, name, id)
	if len(s.WaitBuilds) > 0 {
		w.printf("build %s: waits for a repo of %s with %s, whose package it needs to build (koji build --wait-build)",
			s.Package, BuildTag, strings.Join(s.WaitBuilds, ", "))
	}
	return id, nil
}

// run reports until ctx ends or the hub exits.
func (w *watcher) run(ctx context.Context) error {
	w.hosts, w.hostNames, w.exited = map[string]string{}, map[int64]string{}, map[string]bool{}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if err := w.poll(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (w *watcher) poll(ctx context.Context) error {
	for _, c := range w.children {
		if !c.exited() || w.exited[c.name] {
			continue
		}
		w.exited[c.name] = true
		msg := fmt.Sprintf("%s exited (%v); last lines of %s:\n%s", c.name, c.err, c.log, lastLines(readTail(c.log, 8192), 10))
		if c.name == "kojihub" {
			return errors.New(msg)
		}
		w.printf("kojigo demo: %s", msg)
	}
	if err := w.pollHosts(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		w.printf("kojigo demo: hub: %v", err)
		return nil
	}
	for _, b := range w.builds {
		if b.done {
			continue
		}
		if err := w.pollBuild(ctx, b); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			w.printf("kojigo demo: hub: %v", err)
			return nil
		}
	}
	if !w.finished && len(w.builds) > 0 {
		var parts []string
		for _, b := range w.builds {
			if !b.done {
				return nil
			}
			s := fmt.Sprintf("%s %s", b.pkg.Package, stateName(b.states[b.id]))
			if b.pkg.WantFail && b.states[b.id] == taskFailed {
				s += " (as intended)"
			}
			parts = append(parts, s)
		}
		w.finished = true
		took := ""
		if w.submitted > 0 {
			took = fmt.Sprintf(" %.1f s after the first submission", time.Since(w.started).Seconds())
		}
		w.printf("kojigo demo: all sample builds finished%s: %s", took, strings.Join(parts, ", "))
		w.printf("kojigo demo: install what was built: ls %s/packages/*/*/*/*/", w.l.topdir())
	}
	if w.finished && !w.repo.done {
		if err := w.pollRepo(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			w.printf("kojigo demo: hub: %v", err)
		}
	}
	return nil
}

// pollHosts prints each builder's readiness and health when it changes.
func (w *watcher) pollHosts(ctx context.Context) error {
	v, err := w.admin.Call(ctx, "kojigo.listHostHealth")
	if err != nil {
		return fmt.Errorf("kojigo.listHostHealth: %w", err)
	}
	for _, h := range asList(v) {
		m := asMap(h)
		name := fmt.Sprint(m["name"])
		w.hostNames[asInt(m["host_id"])] = name
		status, facts := hostStatus(m)
		if w.hosts[name] != status {
			w.hosts[name] = status
			w.printf("host %s%s", status, facts)
		}
	}
	return nil
}

// hostStatus is one builder's readiness (with the reasons it is not
// ready), which is printed when it changes, and its health figures of the
// moment, printed with it.
func hostStatus(m map[string]any) (status, facts string) {
	name := fmt.Sprint(m["name"])
	data := asMap(m["data"])
	if data == nil {
		return name + ": not checked in yet", ""
	}
	var b strings.Builder
	b.WriteString(name)
	switch {
	case m["enabled"] == false:
		b.WriteString(": disabled")
	case m["ready"] == true:
		b.WriteString(": ready")
	default:
		b.WriteString(": not ready")
		var reasons []string
		for _, r := range asList(data["not_ready_reasons"]) {
			reasons = append(reasons, fmt.Sprint(r))
		}
		if len(reasons) > 0 {
			b.WriteString(": " + strings.Join(reasons, "; "))
		} else {
			b.WriteString(": no recent check-in from its kojid")
		}
	}
	var fs []string
	for _, d := range asList(data["disk"]) {
		dm := asMap(d)
		if asMap(dm) == nil || fmt.Sprint(dm["role"]) != "workdir" {
			continue
		}
		fs = append(fs, fmt.Sprintf("workdir %s free", gib(asInt(dm["free"]))))
	}
	if mem := asInt(data["mem_available"]); mem > 0 {
		fs = append(fs, fmt.Sprintf("memory %s available", gib(mem)))
	}
	if cpus := asInt(data["cpus"]); cpus > 0 {
		fs = append(fs, fmt.Sprintf("%d cpus", cpus))
	}
	var arches []string
	for _, a := range asList(data["arches"]) {
		arches = append(arches, fmt.Sprint(a))
	}
	if len(arches) > 0 {
		fs = append(fs, "arches "+strings.Join(arches, " "))
	}
	if len(fs) > 0 {
		facts = " (" + strings.Join(fs, ", ") + ")"
	}
	return b.String(), facts
}

func gib(n int64) string { return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30)) }

// pollBuild prints the state changes of a build's task tree, and the end
// of the failed build's log.
func (w *watcher) pollBuild(ctx context.Context, b *tracked) error {
	root, children, err := w.taskTree(ctx, b.id)
	if err != nil {
		return err
	}
	allFinal := w.printTree(root, children, b.states, b.pkg.Package, ", tagged into "+Tag)
	if !allFinal || !final(b.states[b.id]) {
		return nil
	}
	b.done = true
	if b.states[b.id] == taskFailed && !b.reported {
		b.reported = true
		w.reportFailure(ctx, b, children)
	}
	return nil
}

// taskTree returns a task and its children, oldest first.
func (w *watcher) taskTree(ctx context.Context, id int64) (root map[string]any, children []map[string]any, err error) {
	info, err := w.admin.Call(ctx, "getTaskInfo", id)
	if err != nil {
		return nil, nil, fmt.Errorf("getTaskInfo %d: %w", id, err)
	}
	kids, err := w.admin.Call(ctx, "getTaskChildren", id)
	if err != nil {
		return nil, nil, fmt.Errorf("getTaskChildren %d: %w", id, err)
	}
	for _, k := range asList(kids) {
		children = append(children, asMap(k))
	}
	sort.Slice(children, func(i, j int) bool { return asInt(children[i]["id"]) < asInt(children[j]["id"]) })
	return asMap(info), children, nil
}

// printTree prints the state changes of a task and its children since
// states (task id → last state printed, updated), naming subject; a CLOSED
// root gets closedNote. It reports whether every task is final.
func (w *watcher) printTree(root map[string]any, children []map[string]any, states map[int64]int64, subject, closedNote string) bool {
	allFinal := true
	for i, t := range append([]map[string]any{root}, children...) {
		id, st := asInt(t["id"]), asInt(t["state"])
		allFinal = allFinal && final(st)
		if prev, ok := states[id]; ok && prev == st {
			continue
		}
		states[id] = st
		indent, what := "", fmt.Sprintf("%s %s", t["method"], subject)
		if i > 0 {
			// a createrepo task runs as noarch; its label is the
			// repo's arch it makes
			indent = "  "
			arch := t["arch"]
			if l, ok := t["label"].(string); ok && l != "" && t["method"] == "createrepo" {
				arch = l
			}
			what = fmt.Sprintf("%s %s %v", t["method"], subject, arch)
		}
		line := fmt.Sprintf("%stask %d %s: %s", indent, id, what, stateName(st))
		if host := w.hostNames[asInt(t["host_id"])]; host != "" && (st == taskOpen || st == taskAssigned || final(st)) {
			line += " on " + host
		}
		if i == 0 && st == taskClosed {
			line += closedNote
		}
		w.printf("%s", line)
	}
	return allFinal
}

// faultText is the message of a task's fault as the hub gave it.
func faultText(err error) string {
	var f *kojiclient.Fault
	if errors.As(err, &f) {
		return f.String
	}
	return err.Error()
}

// reportFailure prints why a build failed and the end of its build.log.
func (w *watcher) reportFailure(ctx context.Context, b *tracked, children []map[string]any) {
	if _, err := w.admin.Call(ctx, "getTaskResult", b.id); err != nil {
		w.printf("build %s failed:\n    %s", b.pkg.Package, firstLines(strings.TrimSpace(faultText(err)), 8))
	}
	for _, c := range children {
		if asInt(c["state"]) != taskFailed {
			continue
		}
		dl, ok := w.admin.(interface {
			DownloadTaskOutput(ctx context.Context, taskID int64, fileName string, offset, size int64) ([]byte, error)
		})
		if !ok {
			return
		}
		id := asInt(c["id"])
		logb, err := dl.DownloadTaskOutput(ctx, id, "build.log", 0, -1)
		if err != nil {
			w.printf("  build.log of task %d: %v", id, err)
			continue
		}
		w.printf("  last lines of build.log of task %d (%s):\n%s", id, c["method"], lastLines(string(logb), 12))
		w.printf("  the whole log: kojictl -p %s --config %s watch-logs %d", ProfileName, w.l.clientConf(), id)
	}
}

// firstLines returns the first n non-empty lines of s, indented.
func firstLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n    ")
}

func asInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case float64:
		return int64(x)
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }
func asList(v any) []any         { l, _ := v.([]any); return l }
