package ctl

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"kojigo/internal/kojiclient"
	"kojigo/internal/kojixml"

	"kojigo/internal/repowatch"
)

// defaultPoll is how often watch-task and watch-logs ask the hub.
const defaultPoll = time.Second

// runBuild is koji build: upload an SRPM (or pass an SCM URL), call build,
// and watch the task unless --nowait.
func runBuild(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "build")
	var o clientOpts
	addClientFlags(fs, &o, true)
	scratch := fs.Bool("scratch", false, "scratch build: results stay in the task, nothing is imported or tagged")
	nowait := fs.Bool("nowait", false, "do not watch the task; print its id and return")
	skipTag := fs.Bool("skip-tag", false, "import the build but do not tag it into the destination tag")
	archOverride := fs.String("arch-override", "", "build only these `ARCHES` (scratch builds only)")
	failFast := fs.Bool("fail-fast", false, "fail the build as soon as one arch fails")
	priority := fs.Int("priority", 0, "task priority relative to the default 20: positive is later, negative (admins only) sooner")
	channel := fs.String("channel", "", "run the task in this `CHANNEL` instead of the default")
	quiet := fs.Bool("quiet", false, "print nothing but errors")
	noProgress := fs.Bool("noprogress", false, "do not show upload progress")
	waitRepo := fs.Bool("wait-repo", false, "wait for a repo of the build tag as current as the build's start")
	var waitBuilds repeated
	fs.Var(&waitBuilds, "wait-build", "wait for a repo of the build tag that holds this `NVR` (repeatable)")
	poll := fs.Duration("poll-interval", defaultPoll, "how often to ask the hub while watching")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageErr("Exactly two arguments (a build target and a SCM URL or srpm file) are required")
	}
	target, source := pos[0], pos[1]
	if err := checkNames("target", target); err != nil {
		return err
	}
	if !safeName(source) {
		return usageErr("bad source %q: an SRPM path or an SCM URL without spaces or control characters", clean(source))
	}
	if *archOverride != "" && !*scratch {
		return usageErr("--arch-override is only allowed for --scratch builds")
	}
	if *channel != "" {
		if err := checkNames("channel", *channel); err != nil {
			return err
		}
	}
	if *poll <= 0 {
		return usageErr("--poll-interval must be positive")
	}
	opts := map[string]any{}
	if *archOverride != "" {
		a, err := parseArches(*archOverride)
		if err != nil {
			return err
		}
		opts["arch_override"] = a
	}
	if *waitRepo {
		opts["wait_repo"] = true
	}
	if len(waitBuilds) > 0 {
		l := make([]any, len(waitBuilds))
		for i, b := range waitBuilds {
			if err := checkNames("build", b); err != nil {
				return err
			}
			if _, err := repowatch.ParseNVR(b); err != nil {
				return usageErr("--wait-build %v", err)
			}
			l[i] = b
		}
		opts["wait_builds"] = l
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, k := range []string{"skip_tag", "scratch", "fail_fast"} {
		if set[strings.ReplaceAll(k, "_", "-")] {
			opts[k] = map[string]bool{"skip_tag": *skipTag, "scratch": *scratch, "fail_fast": *failFast}[k]
		}
	}
	isSRPM := !strings.Contains(source, "://")
	var size int64
	if isSRPM {
		st, err := os.Stat(source)
		if err != nil {
			return fmt.Errorf("srpm: %w", err)
		}
		if !st.Mode().IsRegular() {
			return usageErr("%s is not a regular file (an SRPM) nor an SCM URL", clean(source))
		}
		size = st.Size()
	}

	s, err := o.connect(ctx, env, authenticated)
	if err != nil {
		return err
	}
	defer s.close(ctx)
	bt, err := s.call(ctx, "getBuildTarget", target)
	if err != nil {
		return err
	}
	btm := asMap(bt)
	if btm == nil {
		return usageErr("Unknown build target: %s", clean(target))
	}
	dest, err := s.call(ctx, "getTag", btm["dest_tag"])
	if err != nil {
		return err
	}
	dt := asMap(dest)
	if dt == nil {
		return usageErr("Unknown destination tag: %s", clean(mstr(btm, "dest_tag_name")))
	}
	if mbool(dt, "locked") && !*scratch {
		return usageErr("Destination tag %s is locked", clean(mstr(dt, "name")))
	}

	if isSRPM {
		if !*quiet {
			fmt.Fprintf(env.Stdout, "Uploading srpm: %s\n", clean(source))
		}
		serverDir := uniquePath("cli-build", time.Now())
		var progress func(done, total int64)
		if !*quiet && !*noProgress {
			progress = newProgress(env.Stderr, isTerminal(env.Stderr), filepath.Base(source), time.Now)
		}
		if err := s.c.UploadFile(ctx, source, serverDir, "", progress); err != nil {
			return fmt.Errorf("upload %s (%d bytes): %w", clean(source), size, err)
		}
		if progress != nil && isTerminal(env.Stderr) {
			fmt.Fprintln(env.Stderr)
		}
		source = serverDir + "/" + filepath.Base(source)
	}
	callArgs := []any{source, target, opts}
	kw := kojiclient.Kw{}
	if set["priority"] {
		kw["priority"] = int64(*priority)
	}
	if *channel != "" {
		kw["channel"] = *channel
	}
	if len(kw) > 0 {
		callArgs = append(callArgs, kw)
	}
	v, err := s.call(ctx, "build", callArgs...)
	if err != nil {
		return err
	}
	taskID, ok := v.(int64)
	if !ok {
		return fmt.Errorf("build: hub answered %T instead of a task id", v)
	}
	again := o.again(fs)
	if !*quiet {
		fmt.Fprintf(env.Stdout, "Created task: %d\n", taskID)
		// Koji links its web UI; weburl has a default (http://localhost/koji)
		// that is no web UI, so only a weburl the profile sets is linked.
		if org, set := s.prof.Origins["weburl"]; set && !org.IsDefault() && s.prof.WebURL != "" {
			fmt.Fprintf(env.Stdout, "Task info: %s/taskinfo?taskID=%d\n", strings.TrimRight(clean(s.prof.WebURL), "/"), taskID)
		} else {
			fmt.Fprintf(env.Stdout, "Task info: %s\n", commandLine("kojictl", again, "taskinfo", strconv.FormatInt(taskID, 10)))
		}
	}
	if *nowait {
		return nil
	}
	s.close(ctx) // as koji: watch anonymously
	w := &watchRun{s: s, w: env.Stdout, quiet: *quiet, poll: *poll, progname: "kojictl", again: again}
	return w.run(ctx, []int64{taskID})
}

// uniquePath is koji's _unique_path: prefix/<unix time>.<8 random letters>.
func uniquePath(prefix string, now time.Time) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, 8)
	for i := range b {
		b[i] = letters[rand.IntN(len(letters))]
	}
	return fmt.Sprintf("%s/%d.%s", prefix, now.Unix(), b)
}

// newProgress returns an UploadFile progress callback: koji's bar, redrawn
// with \r, on a terminal; otherwise a plain line at every 10%.
func newProgress(w io.Writer, tty bool, name string, now func() time.Time) func(done, total int64) {
	start := now()
	lastStep := int64(-1)
	return func(done, total int64) {
		frac := 0.0
		if total > 0 {
			frac = float64(done) / float64(total)
		}
		if !tty {
			step := int64(frac * 10)
			if step == lastStep {
				return
			}
			lastStep = step
			fmt.Fprintf(w, "uploading %s: %d%% (%s of %s)\n", clean(name), int(frac*100), formatSize(float64(done)), formatSize(float64(total)))
			return
		}
		elapsed := now().Sub(start).Seconds()
		speed := "- B/sec"
		if elapsed > 0 {
			speed = formatSize(float64(done)/elapsed) + "/sec"
		}
		fmt.Fprintf(w, "[%-36s] %4s %8s %10s %14s\r", strings.Repeat("=", int(frac*36)),
			fmt.Sprintf("%02d%%", int(frac*100)), formatSecs(elapsed), formatSize(float64(done)), speed)
	}
}

// formatSize is koji's _format_size.
func formatSize(n float64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%0.2f GiB", n/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%0.2f MiB", n/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%0.2f KiB", n/(1<<10))
	}
	return fmt.Sprintf("%0.2f B", n)
}

// formatSecs is koji's _format_secs: hh:mm:ss.
func formatSecs(t float64) string {
	s := int64(t)
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s%3600/60, s%60)
}

// runWatchTask is koji watch-task.
func runWatchTask(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "watch-task")
	var o clientOpts
	addClientFlags(fs, &o, true)
	quiet := fs.Bool("quiet", false, "print nothing; only the exit status tells")
	poll := fs.Duration("poll-interval", defaultPoll, "how often to ask the hub")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageErr("You must specify at least one task id")
	}
	if *poll <= 0 {
		return usageErr("--poll-interval must be positive")
	}
	ids := make([]int64, len(pos))
	for i, a := range pos {
		if ids[i], err = parseTaskID(a); err != nil {
			return err
		}
	}
	s, err := o.connect(ctx, env, anonymous)
	if err != nil {
		return err
	}
	defer s.close(ctx)
	w := &watchRun{s: s, w: env.Stdout, quiet: *quiet, poll: *poll, progname: "kojictl", again: o.again(fs)}
	return w.run(ctx, ids)
}

// maxWatched bounds the tasks one watch follows (a hostile or broken hub
// could invent children forever).
const maxWatched = 10000

// watchRun follows a task tree as koji's watch_tasks does.
type watchRun struct {
	s        *hubSession
	w        io.Writer
	quiet    bool
	poll     time.Duration
	progname string
	again    []string // the flags to repeat in the watch-task line printed on interrupt
	tasks    []*watchedTask
	byID     map[int64]*watchedTask
	hosts    map[int64]string
}

type watchedTask struct {
	id       int64
	level    int
	info     map[string]any // nil until first seen
	kidsDone bool           // children listed after the task finished: no more will come
}

func (t *watchedTask) state() int64 {
	st, _ := mint(t.info, "state")
	return st
}

func (t *watchedTask) done() bool { return t.info != nil && stateDone(t.state()) }

func (t *watchedTask) str() string {
	ind := strings.Repeat("  ", t.level)
	if t.info != nil {
		return fmt.Sprintf("%s%d %s", ind, t.id, taskLabel(t.info))
	}
	return fmt.Sprintf("%s%d", ind, t.id)
}

func (r *watchRun) printf(format string, args ...any) {
	if !r.quiet {
		fmt.Fprintf(r.w, format, args...)
	}
}

// run watches ids until every task in their trees is finished; it returns
// exitError{1} when a top-level task did not close.
func (r *watchRun) run(ctx context.Context, ids []int64) error {
	r.byID = map[int64]*watchedTask{}
	r.hosts = map[int64]string{}
	r.printf("Watching tasks (this may be safely interrupted)...\n")
	for _, id := range ids {
		if r.byID[id] == nil {
			t := &watchedTask{id: id}
			r.tasks = append(r.tasks, t)
			r.byID[id] = t
		}
	}
	rv := 0
	for {
		allDone := true
		for _, t := range append([]*watchedTask(nil), r.tasks...) {
			changed, err := r.update(ctx, t)
			if err != nil {
				return r.interrupted(ctx, err)
			}
			if !t.done() {
				allDone = false
			} else {
				if changed {
					r.status()
				}
				if t.level == 0 && t.state() != stateClosed {
					rv = 1
				}
			}
			if t.kidsDone {
				continue
			}
			wasDone := t.done()
			v, err := r.s.call(ctx, "getTaskChildren", t.id)
			if err != nil {
				return r.interrupted(ctx, err)
			}
			t.kidsDone = wasDone
			for _, c := range asMaps(v) {
				cid, ok := mint(c, "id")
				if !ok || r.byID[cid] != nil {
					continue
				}
				if len(r.tasks) >= maxWatched {
					return fmt.Errorf("watch-task: the tree has more than %d tasks; watch its parts separately", maxWatched)
				}
				ct := &watchedTask{id: cid, level: t.level + 1}
				r.tasks = append(r.tasks, ct)
				r.byID[cid] = ct
				if _, err := r.update(ctx, ct); err != nil {
					return r.interrupted(ctx, err)
				}
				allDone = false
			}
		}
		if allDone {
			r.printf("\n")
			r.results()
			break
		}
		select {
		case <-ctx.Done():
			return r.interrupted(ctx, ctx.Err())
		case <-time.After(r.poll):
		}
	}
	if rv != 0 {
		return exitError{rv}
	}
	return nil
}

// interrupted handles an error while watching: on cancellation (Ctrl-C) it
// lists the tasks still running, as koji does; otherwise it returns err.
func (r *watchRun) interrupted(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	var running, top, topRunning []string
	for _, t := range r.tasks {
		if !t.done() {
			running = append(running, t.str()+": "+r.displayStateCached(t.info))
		}
		if t.level == 0 {
			id := strconv.FormatInt(t.id, 10)
			top = append(top, id)
			if !t.done() {
				topRunning = append(topRunning, id)
			}
		}
	}
	if len(topRunning) > 0 {
		top = topRunning
	}
	// Koji names the command alone ('koji watch-task'); this line is
	// one to type as it is, with the task ids and the profile flags.
	r.printf("Tasks still running. You can continue to watch with: %s\nRunning Tasks:\n%s\n", commandLine(r.progname, r.again, append([]string{"watch-task"}, top...)...), strings.Join(running, "\n"))
	return exitError{1}
}

// update refreshes t and prints its first state or a state change.
func (r *watchRun) update(ctx context.Context, t *watchedTask) (bool, error) {
	if t.done() {
		return false, nil
	}
	last := t.info
	v, err := r.s.call(ctx, "getTaskInfo", t.id, kojiclient.Kw{"request": true})
	if err != nil {
		return false, err
	}
	info := asMap(v)
	if info == nil {
		r.printf("No such task id: %d\n", t.id)
		return false, exitError{1}
	}
	t.info = info
	if last == nil {
		r.printf("%s: %s\n", t.str(), r.displayState(ctx, t, info, t.level))
		return false, nil
	}
	ls, _ := mint(last, "state")
	if ls != t.state() {
		r.printf("%s: %s -> %s\n", t.str(), r.displayState(ctx, t, last, 0), r.displayState(ctx, t, info, 0))
		return true, nil
	}
	return false, nil
}

// displayState is koji's TaskWatcher.display_state.
func (r *watchRun) displayState(ctx context.Context, t *watchedTask, info map[string]any, level int) string {
	if info == nil {
		return "unknown"
	}
	st, _ := mint(info, "state")
	switch st {
	case stateOpen:
		hid, ok := mint(info, "host_id")
		if !ok {
			return "open"
		}
		name, cached := r.hosts[hid]
		if !cached {
			if h, err := r.s.c.Call(ctx, "getHost", hid); err == nil {
				name = clean(mstr(asMap(h), "name"))
				r.hosts[hid] = name
			}
		}
		if name == "" {
			return "open"
		}
		return "open (" + name + ")"
	case stateFailed:
		// The failure (rpmbuild's errors) keeps its lines, indented
		// under the task's line.
		lines := cleanLines(r.failure(ctx, t.id))
		s := "FAILED: " + lines[0]
		for _, l := range lines[1:] {
			s += "\n"
			if l = strings.TrimRight(l, " \t"); l != "" {
				s += strings.Repeat("  ", t.level+2) + l
			}
		}
		if r.s.prof.TopURL != "" {
			files, err := r.s.taskOutput(ctx, t.id)
			if err == nil {
				level++
				var logs []string
				for _, f := range files {
					if strings.HasSuffix(f.name, "log") {
						u := strings.TrimRight(r.s.prof.TopURL, "/")
						logs = append(logs, strings.Repeat("  ", level)+workDir(u, f.volume)+"/"+taskRelPath(t.id)+"/"+clean(f.name))
					}
				}
				if len(logs) > 0 {
					s += "\n" + strings.Repeat("  ", level) + "Relevant logs:\n" + strings.Join(logs, "\n")
				}
			}
		}
		return s
	}
	return strings.ToLower(stateName(st))
}

// displayStateCached is displayState without hub calls, for the interrupt message.
func (r *watchRun) displayStateCached(info map[string]any) string {
	if info == nil {
		return "unknown"
	}
	st, _ := mint(info, "state")
	if st == stateOpen {
		if hid, ok := mint(info, "host_id"); ok && r.hosts[hid] != "" {
			return "open (" + r.hosts[hid] + ")"
		}
	}
	return strings.ToLower(stateName(st))
}

// failure is koji's get_failure: the fault getTaskResult raises, as the
// hub wrote it (often several lines); the caller makes it safe to print.
func (r *watchRun) failure(ctx context.Context, id int64) string {
	_, err := r.s.c.Call(ctx, "getTaskResult", id)
	var f *kojixml.Fault
	if errors.As(err, &f) {
		return faultText(f)
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// status is koji's display_tasklist_status.
func (r *watchRun) status() {
	var free, open, done, failed int
	for _, t := range r.tasks {
		switch t.state() {
		case stateFailed:
			failed++
		case stateClosed, stateCanceled:
			done++
		case stateOpen, stateAssigned:
			open++
		case stateFree:
			free++
		}
	}
	r.printf("  %d free  %d open  %d done  %d failed\n", free, open, done, failed)
}

// results is koji's display_task_results.
func (r *watchRun) results() {
	for _, t := range r.tasks {
		if t.level != 0 {
			continue
		}
		switch t.state() {
		case stateClosed:
			r.printf("%s completed successfully\n", t.str())
		case stateFailed:
			r.printf("%s failed\n", t.str())
		case stateCanceled:
			r.printf("%s was canceled\n", t.str())
		default:
			r.printf("%s has not completed\n", t.str())
		}
	}
}

// runWatchLogs is watch-logs: print the logs of a task and its children;
// with -f keep following them until every task is finished.
func runWatchLogs(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "watch-logs")
	var o clientOpts
	addClientFlags(fs, &o, true)
	var follow bool
	fs.BoolVar(&follow, "f", false, "follow: keep printing new log lines until the tasks finish")
	fs.BoolVar(&follow, "follow", false, "follow: keep printing new log lines until the tasks finish")
	logName := fs.String("log", "", "only this log `FILE` (build.log, root.log...)")
	poll := fs.Duration("poll-interval", defaultPoll, "how often to ask the hub when following")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageErr("You must specify at least one task id")
	}
	if *poll <= 0 {
		return usageErr("--poll-interval must be positive")
	}
	if *logName != "" && (!safeName(*logName) || strings.Contains(*logName, "/")) {
		return usageErr("bad --log %q: a file name", clean(*logName))
	}
	ids := make([]int64, len(pos))
	for i, a := range pos {
		if ids[i], err = parseTaskID(a); err != nil {
			return err
		}
	}
	s, err := o.connect(ctx, env, anonymous)
	if err != nil {
		return err
	}
	defer s.close(ctx)
	lw := &logWatch{s: s, w: env.Stdout, log: *logName, offsets: map[logKey]int64{}, known: map[int64]bool{}}
	if follow {
		fmt.Fprintln(env.Stdout, "Watching logs (this may be safely interrupted)...")
	}
	list := append([]int64(nil), ids...)
	for _, id := range list {
		lw.known[id] = true
	}
	for len(list) > 0 {
		var next []int64
		for _, id := range list {
			v, err := s.call(ctx, "getTaskInfo", id)
			if err != nil {
				return lw.stop(ctx, err)
			}
			info := asMap(v)
			if info == nil {
				fmt.Fprintf(env.Stdout, "No such task id: %d\n", id)
				return exitError{1}
			}
			st, _ := mint(info, "state")
			if err := lw.printLogs(ctx, id); err != nil {
				return lw.stop(ctx, err)
			}
			kids, err := s.call(ctx, "getTaskChildren", id)
			if err != nil {
				return lw.stop(ctx, err)
			}
			for _, c := range asMaps(kids) {
				if len(lw.known) >= maxWatched {
					return fmt.Errorf("watch-logs: more than %d tasks; watch fewer", maxWatched)
				}
				if cid, ok := mint(c, "id"); ok && !lw.known[cid] {
					lw.known[cid] = true
					next = append(next, cid)
				}
			}
			if follow && !stateDone(st) {
				next = append(next, id)
			}
		}
		list = next
		if len(list) == 0 {
			break
		}
		if !follow {
			continue // a snapshot: go on with the children just found
		}
		select {
		case <-ctx.Done():
			return lw.stop(ctx, ctx.Err())
		case <-time.After(*poll):
		}
	}
	return nil
}

type logKey struct {
	task      int64
	name, vol string
}

type logWatch struct {
	s       *hubSession
	w       io.Writer
	log     string
	offsets map[logKey]int64
	last    string
	known   map[int64]bool
}

func (lw *logWatch) stop(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return exitError{1}
	}
	return err
}

// printLogs prints what is new in each log of task id since the last call.
func (lw *logWatch) printLogs(ctx context.Context, id int64) error {
	files, err := lw.s.taskOutput(ctx, id)
	if err != nil {
		return err
	}
	for _, f := range files {
		if lw.log != "" && f.name != lw.log || lw.log == "" && !strings.HasSuffix(f.name, "log") {
			continue
		}
		k := logKey{id, f.name, f.volume}
		for {
			data, err := lw.download(ctx, k)
			if err != nil {
				return err
			}
			if len(data) == 0 {
				break
			}
			lw.offsets[k] += int64(len(data))
			cur := strconv.FormatInt(id, 10) + ":" + f.volume + ":" + f.name + ":"
			if cur != lw.last {
				if lw.last != "" {
					io.WriteString(lw.w, "\n")
				}
				fmt.Fprintf(lw.w, "==> %s <==\n", clean(cur))
				lw.last = cur
			}
			if _, err := lw.w.Write(data); err != nil {
				return err
			}
		}
	}
	return nil
}

const logChunk = 16384

func (lw *logWatch) download(ctx context.Context, k logKey) ([]byte, error) {
	off := lw.offsets[k]
	if k.vol == "DEFAULT" {
		b, err := lw.s.c.DownloadTaskOutput(ctx, k.task, k.name, off, logChunk)
		if err != nil {
			return nil, fmt.Errorf("downloadTaskOutput %d %s: %w", k.task, clean(k.name), err)
		}
		return b, nil
	}
	v, err := lw.s.call(ctx, "downloadTaskOutput", k.task, k.name, kojiclient.Kw{"offset": off, "size": int64(logChunk), "volume": k.vol})
	if err != nil {
		return nil, err
	}
	switch b := v.(type) {
	case []byte:
		return b, nil
	case string: // Koji sends the data base64-encoded in a <string>
		d, err := base64.StdEncoding.DecodeString(b)
		if err != nil {
			return nil, fmt.Errorf("downloadTaskOutput %d %s: bad base64 from hub: %w", k.task, clean(k.name), err)
		}
		return d, nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("downloadTaskOutput %d %s: hub returned %T", k.task, clean(k.name), v)
}
