package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"kojigo/internal/kojiclient"
	"kojigo/internal/kojixml"
)

// regen-repo and wait-repo, as Koji 1.35's handle_regen_repo and
// anon_handle_wait_repo: a repo is asked for with repo.request and waited
// for with repo.checkRequest (or, anonymously, repo.get), as
// koji.util.RepoWatcher does; regen-repo --make-task is the legacy newRepo
// task, watched as watch-task watches it.
//
// A request moves through (repo.checkRequest's request fields):
//
//	active, task_id None ──kojira makes a newRepo task──▶ task_id N, task_state FREE
//	        │                                                  │ OPEN … CLOSED
//	        │                                                  ▼
//	        │                                  repo_id R, active False: "Got repo R"
//	        └── task FAILED and no tries left ──▶ active False, no repo: "no longer active"
//
// The one difference from Koji is what is printed while waiting: Koji's
// watcher logs at WARNING unless -v, so it is silent for the minutes a
// repo takes; kojictl prints its state changes ("Request updated: …", the
// lines Koji prints with -v) and, on a kojigo hub, the packages done of
// the total. -v adds Koji's other progress lines, --quiet removes them all.

// Koji's defaults: RepoWatcher.TIMEOUT (minutes).
const defaultRepoTimeout = 120

// runRegenRepo is koji regen-repo.
func runRegenRepo(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "regen-repo")
	var o clientOpts
	addClientFlags(fs, &o, true)
	target := fs.Bool("target", false, "interpret the argument as a build target name")
	var wait tristate
	fs.Var(&tristateFlag{&wait, true}, "wait", "wait for the repo, even with a request (the default with --make-task only)")
	fs.Var(&tristateFlag{&wait, false}, "nowait", "do not wait for the repo; print the request (or task) and return")
	makeTask := fs.Bool("make-task", false, "directly create a newRepo task (needs the repo or regen-repo permission) instead of a repo request")
	debuginfo := fs.Bool("debuginfo", false, "include debuginfo rpms in the repo")
	var src, sepSrc bool
	for _, n := range []string{"source", "src"} {
		fs.BoolVar(&src, n, false, "include source rpms in each of the repos")
	}
	for _, n := range []string{"separate-source", "separate-src"} {
		fs.BoolVar(&sepSrc, n, false, "include source rpms in a separate src repo")
	}
	timeout := fs.Int("timeout", defaultRepoTimeout, "give up waiting after this many `MINUTES`")
	var verbose bool
	fs.BoolVar(&verbose, "v", false, "print every step of the wait, as koji -v")
	fs.BoolVar(&verbose, "verbose", false, "print every step of the wait, as koji -v")
	quiet := fs.Bool("quiet", false, "print no progress while waiting")
	poll := fs.Duration("poll-interval", defaultPoll, "how often to ask the hub while waiting")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usageErr("A tag name must be specified")
	case len(pos) > 1 && *target:
		return usageErr("Only a single target may be specified")
	case len(pos) > 1:
		return usageErr("Only a single tag name may be specified")
	}
	what := "tag"
	if *target {
		what = "target"
	}
	if err := checkNames(what, pos[0]); err != nil {
		return err
	}
	if *timeout < 0 {
		return usageErr("--timeout %d: want minutes, 0 or more", *timeout)
	}
	if *poll <= 0 {
		return usageErr("--poll-interval must be positive")
	}
	opts := map[string]any{}
	if *debuginfo {
		opts["debuginfo"] = true
	}
	if src {
		opts["src"] = true
	}
	if sepSrc {
		opts["separate_src"] = true
	}

	s, err := o.connect(ctx, env, authenticated)
	if err != nil {
		return err
	}
	defer s.close(ctx)
	r := &repoRun{s: s, env: env, again: o.again(fs), poll: *poll, timeout: time.Duration(*timeout) * time.Minute,
		level: logLevel(*quiet, verbose)}
	if !*makeTask {
		// the command to wait again joins the same request
		again := []string{"regen-repo", "--wait"}
		for _, f := range []struct {
			set  bool
			name string
		}{{*target, "--target"}, {*debuginfo, "--debuginfo"}, {src, "--src"}, {sepSrc, "--separate-src"}} {
			if f.set {
				again = append(again, f.name)
			}
		}
		err := r.regenRequest(ctx, pos[0], *target, wait.is(true), opts, append(again, pos[0]))
		if !isInvalidMethod(err, "repo.request") {
			return err
		}
		warn(env, "Hub does not support repo requests, attempting to create a task directly.")
	}
	return r.regenTask(ctx, pos[0], *target, !wait.is(false), *quiet, opts)
}

// regenRequest is Koji's _request_repo for regen-repo: a request for a
// repo as current as the tag's last change.
func (r *repoRun) regenRequest(ctx context.Context, arg string, target, wait bool, opts map[string]any, again []string) error {
	tag, err := r.lookupTag(ctx, arg, target, false)
	if err != nil {
		return err
	}
	if mstr(tag, "arches") == "" {
		warn(r.env, fmt.Sprintf("Tag %s has an empty arch list", clean(mstr(tag, "name"))))
	}
	w, err := r.newWatcher(ctx, tag, nil, true, opts)
	if err != nil {
		return err
	}
	check, err := w.request(ctx, w.minEvent)
	if err != nil {
		return err
	}
	if repo := asMap(check["repo"]); repo != nil {
		r.gotRepo(repo)
		return nil
	}
	req := asMap(check["request"])
	if req == nil {
		return errors.New("repo.request: the hub answered neither a repo nor a request")
	}
	if !wait {
		fmt.Fprintf(r.env.Stdout, "Got request: %s\n", clean(mstr(req, "id")))
		if task, ok := mint(req, "task_id"); ok {
			fmt.Fprintf(r.env.Stdout, "Got task: %d\n", task)
			fmt.Fprintf(r.env.Stdout, "Task info: %s\n", r.taskLink(task))
		}
		return nil
	}
	repo, err := w.waitRequest(ctx, req)
	if err != nil {
		return r.failed(w, err, again...)
	}
	r.gotRepo(repo)
	return nil
}

// regenTask is the legacy regen-repo --make-task: a newRepo task, watched
// unless --nowait.
func (r *repoRun) regenTask(ctx context.Context, arg string, target, wait, quiet bool, opts map[string]any) error {
	var info map[string]any
	name := arg
	if target {
		bt, err := r.s.call(ctx, "getBuildTarget", arg)
		if err != nil {
			return err
		}
		if asMap(bt) == nil {
			return r.noSuch("build target", arg)
		}
		name = mstr(asMap(bt), "build_tag_name")
		v, err := r.s.call(ctx, "getTag", name, kojiclient.Kw{"strict": true})
		if err != nil {
			return err
		}
		info = asMap(v)
	} else {
		v, err := r.s.call(ctx, "getTag", arg)
		if err != nil {
			return err
		}
		if info = asMap(v); info == nil {
			return r.noSuch("tag", arg)
		}
		name = mstr(info, "name")
		targets, err := r.s.call(ctx, "getBuildTargets", kojiclient.Kw{"buildTagID": info["id"]})
		if err != nil {
			return err
		}
		if len(asList(targets)) == 0 {
			warn(r.env, fmt.Sprintf("%s is not a build tag", clean(name)))
		}
	}
	if mstr(info, "arches") == "" {
		warn(r.env, fmt.Sprintf("Tag %s has an empty arch list", clean(mstr(info, "name"))))
	}
	callArgs := []any{name}
	if len(opts) > 0 {
		callArgs = append(callArgs, kojiclient.Kw(opts))
	}
	v, err := r.s.call(ctx, "newRepo", callArgs...)
	if err != nil {
		return r.hint(err, "--make-task")
	}
	taskID, ok := v.(int64)
	if !ok {
		return fmt.Errorf("newRepo: hub answered %T instead of a task id", v)
	}
	fmt.Fprintf(r.env.Stdout, "Regenerating repo for tag: %s\n", clean(name))
	fmt.Fprintf(r.env.Stdout, "Created task: %d\n", taskID)
	fmt.Fprintf(r.env.Stdout, "Task info: %s\n", r.taskLink(taskID))
	if !wait {
		return nil
	}
	r.s.close(ctx) // as koji: watch anonymously
	wr := &watchRun{s: r.s, w: r.env.Stdout, quiet: quiet, poll: r.poll, progname: "kojictl", again: r.again}
	return wr.run(ctx, []int64{taskID})
}

// runWaitRepo is koji wait-repo.
func runWaitRepo(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "wait-repo")
	var o clientOpts
	addClientFlags(fs, &o, true)
	var nvrs repeated
	fs.Var(&nvrs, "build", "wait for a repo that has this `NVR` tagged (repeatable)")
	target := fs.Bool("target", false, "interpret the argument as a build target name")
	var request tristate
	fs.Var(&tristateFlag{&request, true}, "request", "create a repo request (needs a login); faster than waiting for kojira")
	fs.Var(&tristateFlag{&request, false}, "no-request", "do not create a repo request (the default)")
	timeout := fs.Int("timeout", defaultRepoTimeout, "give up waiting after this many `MINUTES`")
	var verbose bool
	fs.BoolVar(&verbose, "v", false, "print every step of the wait, as koji -v")
	fs.BoolVar(&verbose, "verbose", false, "print every step of the wait, as koji -v")
	quiet := fs.Bool("quiet", false, "print nothing; the exit status tells")
	poll := fs.Duration("poll-interval", defaultPoll, "how often to ask the hub while waiting")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	builds := make([]nvr, len(nvrs))
	for i, s := range nvrs {
		if err := checkNames("build", s); err != nil {
			return err
		}
		if builds[i], err = parseNVR(s); err != nil {
			return err
		}
	}
	switch {
	case len(pos) == 0:
		return usageErr("Please specify a tag name")
	case len(pos) > 1:
		return usageErr("Only one tag may be specified")
	}
	if err := checkNames("tag", pos[0]); err != nil {
		return err
	}
	if *timeout < 0 {
		return usageErr("--timeout %d: want minutes, 0 or more", *timeout)
	}
	if *poll <= 0 {
		return usageErr("--poll-interval must be positive")
	}
	mode := anonymous
	if request.is(true) {
		mode = authenticated
	} else if !request.set {
		warn(env, "The --request option is recommended for faster results")
	}
	s, err := o.connect(ctx, env, mode)
	if err != nil {
		return err
	}
	defer s.close(ctx)
	r := &repoRun{s: s, env: env, again: o.again(fs), poll: *poll, timeout: time.Duration(*timeout) * time.Minute,
		level: logLevel(*quiet, verbose)}
	arg := pos[0]
	tag, err := r.lookupTag(ctx, arg, *target, !*target)
	if err != nil {
		return err
	}
	tagID, _ := mint(tag, "id")
	tagName := clean(mstr(tag, "name"))
	if !request.is(true) && !pyTrue(asMap(tag["extra"])["repo.auto"]) {
		warn(env, "This tag is not configured for automatic regeneration")
	}
	for _, b := range builds {
		v, err := s.call(ctx, "getLatestBuilds", tagID, kojiclient.Kw{"package": b.name})
		if err != nil {
			return err
		}
		latest := asMaps(v)
		if len(latest) == 0 {
			warn(env, fmt.Sprintf("No %s builds in tag %s", clean(b.name), tagName))
			continue
		}
		if present := mstr(latest[0], "nvr"); present != b.nvr() {
			warn(env, fmt.Sprintf("nvr %s is not current in tag %s\n  latest build is %s", clean(b.nvr()), tagName, clean(present)))
		}
	}
	// with builds: a repo that has them, not necessarily a current one
	w, err := r.newWatcher(ctx, tag, builds, len(builds) == 0, nil)
	if err != nil {
		return err
	}
	repo, err := w.waitRepo(ctx, !request.is(true))
	if err != nil {
		again := []string{"wait-repo"}
		if request.is(true) {
			again = append(again, "--request")
		}
		if *target {
			again = append(again, "--target")
		}
		for _, n := range nvrs {
			again = append(again, "--build", n)
		}
		return r.failed(w, err, append(again, arg)...)
	}
	if !*quiet {
		r.gotRepo(repo)
	}
	return nil
}

// repoRun is one regen-repo or wait-repo.
type repoRun struct {
	s       *hubSession
	env     *Env
	again   []string // the profile flags, for the commands printed
	poll    time.Duration
	timeout time.Duration
	level   int
}

// lookupTag finds the tag (or the build tag of the target). With
// warnNoTarget it warns, as wait-repo does, when no target builds in the
// tag.
func (r *repoRun) lookupTag(ctx context.Context, arg string, target, warnNoTarget bool) (map[string]any, error) {
	if target {
		bt, err := r.s.call(ctx, "getBuildTarget", arg)
		if err != nil {
			return nil, err
		}
		if asMap(bt) == nil {
			return nil, r.noSuch("build target", arg)
		}
		v, err := r.s.call(ctx, "getTag", asMap(bt)["build_tag"], kojiclient.Kw{"strict": true})
		if err != nil {
			return nil, err
		}
		return asMap(v), nil
	}
	v, err := r.s.call(ctx, "getTag", arg)
	if err != nil {
		return nil, err
	}
	tag := asMap(v)
	if tag == nil {
		return nil, r.noSuch("tag", arg)
	}
	if !warnNoTarget {
		return tag, nil
	}
	targets, err := r.s.call(ctx, "getBuildTargets", kojiclient.Kw{"buildTagID": tag["id"]})
	if err != nil {
		return nil, err
	}
	if len(asList(targets)) > 0 {
		return tag, nil
	}
	warn(r.env, fmt.Sprintf("%s is not a build tag for any target", clean(mstr(tag, "name"))))
	dest, err := r.s.call(ctx, "getBuildTargets", kojiclient.Kw{"destTagID": tag["id"]})
	if err != nil {
		return nil, err
	}
	var maybe []string
	seen := map[string]bool{}
	for _, t := range asMaps(dest) {
		if n := clean(mstr(t, "build_tag_name")); !seen[n] {
			seen[n] = true
			maybe = append(maybe, n)
		}
	}
	if len(maybe) > 0 {
		sort.Strings(maybe)
		warn(r.env, "Suggested tags: "+strings.Join(maybe, ", "))
	}
	return tag, nil
}

// noSuch is Koji's parser.error for an unknown tag or target, with where
// to look.
func (r *repoRun) noSuch(what, name string) error {
	list := "koji list-tags"
	if what == "build target" {
		list = "koji list-targets"
	}
	return &hintError{err: usageErr("No such %s: %s", what, clean(name)), hint: "check the name (" + list + " shows them)"}
}

// taskLink is Koji's "Task info" link when the profile sets a weburl, the
// command to see the task otherwise (as build prints it).
func (r *repoRun) taskLink(id int64) string {
	if u := r.webURL(); u != "" {
		return fmt.Sprintf("%s/taskinfo?taskID=%d", u, id)
	}
	return commandLine("kojictl", r.again, "taskinfo", strconv.FormatInt(id, 10))
}

// webURL is the profile's weburl when it sets one (the built-in default
// is no web UI).
func (r *repoRun) webURL() string {
	if org, set := r.s.prof.Origins["weburl"]; set && !org.IsDefault() && r.s.prof.WebURL != "" {
		return strings.TrimRight(clean(r.s.prof.WebURL), "/")
	}
	return ""
}

// gotRepo prints Koji's two result lines; the link only with a weburl.
func (r *repoRun) gotRepo(repo map[string]any) {
	id, _ := mint(repo, "id")
	fmt.Fprintf(r.env.Stdout, "Got repo %d\n", id)
	if u := r.webURL(); u != "" {
		fmt.Fprintf(r.env.Stdout, "Repo info: %s/repoinfo?repoID=%d\n", u, id)
	}
}

// failed prints Koji's "Failed to get repo -- …" for an error of the
// wait, with what to do next, and returns exit status 1. Errors that are
// not the wait's (a fault, a lost hub) are returned as they are.
func (r *repoRun) failed(w *repoWatcher, err error, again ...string) error {
	var we *waitError
	switch {
	case errors.As(err, &we):
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		we = &waitError{msg: "interrupted", active: true}
	default:
		return r.hint(err, "")
	}
	if r.level > levelQuiet {
		fmt.Fprintf(r.env.Stderr, "Failed to get repo -- %s\n", we.msg)
		for _, l := range w.nextSteps(we, commandLine("kojictl", r.again, again...)) {
			fmt.Fprintln(r.env.Stderr, l)
		}
	}
	return exitError{1}
}

// hint adds what to do to the faults an operator can act on.
func (r *repoRun) hint(err error, flag string) error {
	var f *kojixml.Fault
	if !errors.As(err, &f) {
		return err
	}
	p := clean(r.s.prof.Profile)
	switch f.Code {
	case kojixml.AuthError:
		return &hintError{err: err, hint: fmt.Sprintf("repo requests need a login: set authtype and credentials in profile %q, or pass --user NAME --password PW", p)}
	case kojixml.ActionNotAllowed:
		if flag == "--make-task" {
			return &hintError{err: err, hint: "--make-task needs the repo or regen-repo permission (an admin: koji grant-permission regen-repo USER); without --make-task any logged-in user may request a repo"}
		}
		return &hintError{err: err, hint: "ask an admin for the permission named above (koji grant-permission PERM USER)"}
	}
	return err
}

// hintError is an error with a line saying what to do next.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() + "\n" + e.hint }
func (e *hintError) Unwrap() error { return e.err }

// Watcher output levels: --quiet (Koji's ERROR), the default (state
// changes and progress), -v (Koji's INFO).
const (
	levelQuiet = iota
	levelChanges
	levelVerbose
)

func logLevel(quiet, verbose bool) int {
	switch {
	case quiet:
		return levelQuiet
	case verbose:
		return levelVerbose
	}
	return levelChanges
}

// repoWatcher is koji.util.RepoWatcher: it asks for a repo of one tag and
// waits until one satisfies it (an event, builds), logging to stdout as
// Koji's watcher does.
type repoWatcher struct {
	r        *repoRun
	tagID    int64
	tagName  string // cleaned
	builds   []nvr
	minEvent any // nil or int64
	opts     map[string]any
	now      func() time.Time
	start    time.Time
	reqID    int64 // the request waited on, for the messages
	taskID   int64
	progress bool   // the hub has kojigo.getRepoProgress, as far as we know
	lastProg string // last progress printed
}

// waitError is a wait that ended without a repo: Koji's GenericError in
// the watcher.
type waitError struct {
	msg     string
	timeout bool
	active  bool // the request stays active (a timeout, an interrupt)
}

func (e *waitError) Error() string { return e.msg }

// newWatcher is RepoWatcher.__init__: the tag again (strict) and, for a
// current repo, the tag's last change as the minimum event.
func (r *repoRun) newWatcher(ctx context.Context, tag map[string]any, builds []nvr, current bool, opts map[string]any) (*repoWatcher, error) {
	v, err := r.s.call(ctx, "getTag", tag["id"], kojiclient.Kw{"strict": true})
	if err != nil {
		return nil, err
	}
	t := asMap(v)
	id, ok := mint(t, "id")
	if !ok {
		return nil, errors.New("getTag: the hub answered no tag id")
	}
	w := &repoWatcher{r: r, tagID: id, tagName: clean(mstr(t, "name")), builds: builds, now: time.Now, progress: true}
	if len(opts) > 0 {
		w.opts = opts
	}
	if current {
		ev, err := r.s.call(ctx, "tagLastChangeEvent", id)
		if err != nil {
			return nil, err
		}
		n, ok := ev.(int64)
		if !ok {
			return nil, fmt.Errorf("tagLastChangeEvent: hub answered %T instead of an event id", ev)
		}
		w.minEvent = n
	}
	return w, nil
}

func (w *repoWatcher) logf(level int, format string, args ...any) {
	if w.r.level >= level {
		fmt.Fprintf(w.r.env.Stdout, format+"\n", args...)
	}
}

// errorf logs at Koji's ERROR: printed even with --quiet.
func (w *repoWatcher) errorf(format string, args ...any) {
	fmt.Fprintf(w.r.env.Stdout, format+"\n", args...)
}

func (w *repoWatcher) getStart() time.Time {
	if w.start.IsZero() {
		w.start = w.now()
	}
	return w.start
}

func (w *repoWatcher) timedOut() bool {
	return !w.now().Before(w.getStart().Add(w.r.timeout))
}

// duration is koji.util.duration: M:SS since the start.
func (w *repoWatcher) duration() string {
	d := w.now().Sub(w.getStart())
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

func (w *repoWatcher) pause(ctx context.Context) error {
	t := time.NewTimer(w.r.poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// request is RepoWatcher.request: repo.request(tag, min_event, at_event,
// opts), answering {repo} or {request}.
func (w *repoWatcher) request(ctx context.Context, minEvent any) (map[string]any, error) {
	w.logf(levelVerbose, "Requesting a repo")
	var opts any
	if w.opts != nil {
		opts = w.opts
	}
	v, err := w.r.s.call(ctx, "repo.request", w.tagID, kojiclient.Kw{"min_event": minEvent, "at_event": nil, "opts": opts})
	if err != nil {
		return nil, w.r.hint(err, "")
	}
	check := asMap(v)
	if check == nil {
		return nil, fmt.Errorf("repo.request: hub answered %T instead of a struct", v)
	}
	return check, nil
}

// watchFields are the request fields whose changes are printed.
var watchFields = []string{"task_id", "task_state", "repo_id", "active", "tries"}

// waitRequest is RepoWatcher.wait_request: repo.checkRequest until the
// request has a repo, is given up, or the timeout passes.
func (w *repoWatcher) waitRequest(ctx context.Context, req map[string]any) (map[string]any, error) {
	w.getStart()
	w.reqID, _ = mint(req, "id")
	seen := map[string]string{}
	for _, f := range watchFields {
		seen[f] = pyStr(req, f)
	}
	for {
		v, err := w.r.s.call(ctx, "repo.checkRequest", w.reqID)
		if err != nil {
			return nil, err
		}
		check := asMap(v)
		if repo := asMap(check["repo"]); repo != nil {
			return repo, nil
		}
		cur := asMap(check["request"])
		if cur == nil {
			return nil, fmt.Errorf("repo.checkRequest(%d): hub answered no request", w.reqID)
		}
		w.taskID, _ = mint(cur, "task_id")
		for _, f := range watchFields {
			if now := pyStr(cur, f); now != seen[f] {
				w.logf(levelChanges, "Request updated: %s: %s -> %s", f, seen[f], now)
				seen[f] = now
			}
		}
		w.showProgress(ctx)
		if w.timedOut() {
			return nil, &waitError{msg: fmt.Sprintf("Unsuccessfully waited %s for a new %s repo", w.duration(), w.tagName), timeout: true, active: mbool(cur, "active")}
		}
		if !mbool(cur, "active") {
			if w.taskID != 0 {
				w.errorf("Task %d state is %s", w.taskID, pyStr(cur, "task_state"))
			}
			return nil, &waitError{msg: "Repo request no longer active"}
		}
		if err := w.pause(ctx); err != nil {
			return nil, err
		}
	}
}

// showProgress prints the packages done of the total of the request's
// newRepo task from kojigo.getRepoProgress, when it changed; a hub
// without the call (stock Koji) or with no report prints nothing.
func (w *repoWatcher) showProgress(ctx context.Context) {
	if !w.progress || w.taskID == 0 || w.r.level < levelChanges {
		return
	}
	v, err := w.r.s.c.Call(ctx, "kojigo.getRepoProgress", kojiclient.Kw{"task_id": w.taskID})
	if err != nil {
		// a display aid: a hub without it, or failing it, is not asked again
		w.progress = false
		return
	}
	p := asMap(v)
	done, ok1 := mint(p, "done")
	total, ok2 := mint(p, "total")
	if !ok1 || !ok2 || total <= 0 {
		return
	}
	line := fmt.Sprintf("Repo progress: %d/%d packages (%d%%)", done, total, done*100/total)
	if line != w.lastProg {
		w.lastProg = line
		w.logf(levelChanges, "%s", line)
	}
}

// waitRepo is RepoWatcher.waitrepo: anonymously it polls repo.get,
// otherwise it requests a repo and waits on the request; with builds it
// first waits for them to be tagged. Unlike Koji 1.35, the anonymous wait
// also ends at the timeout.
func (w *repoWatcher) waitRepo(ctx context.Context, anon bool) (map[string]any, error) {
	w.logf(levelVerbose, "Waiting on repo for %s", w.tagName)
	w.getStart()
	minEvent := w.minEvent
	var req map[string]any
	for {
		if req != nil {
			repo, err := w.waitRequest(ctx, req)
			if err != nil {
				return nil, err
			}
			ok, err := w.checkRepo(ctx, repo)
			if err != nil {
				return nil, err
			}
			if ok {
				return repo, nil
			}
			ev, err := w.r.s.call(ctx, "tagLastChangeEvent", w.tagID)
			if err != nil {
				return nil, err
			}
			minEvent = ev
			w.errorf("Repo request did not satisfy conditions")
		} else if anon {
			v, err := w.r.s.call(ctx, "repo.get", w.tagID, kojiclient.Kw{"min_event": minEvent, "at_event": nil, "opts": nil})
			if err != nil {
				if isInvalidMethod(err, "repo.get") {
					return nil, &hintError{err: err, hint: "this hub is older than Koji 1.35 (no repo requests): use the koji CLI of its version"}
				}
				return nil, err
			}
			if repo := asMap(v); repo != nil {
				ok, err := w.checkRepo(ctx, repo)
				if err != nil {
					return nil, err
				}
				if ok {
					return repo, nil
				}
			}
		}
		if len(w.builds) > 0 {
			if err := w.waitBuilds(ctx); err != nil {
				return nil, err
			}
			ev, err := w.r.s.call(ctx, "tagLastChangeEvent", w.tagID)
			if err != nil {
				return nil, err
			}
			minEvent = ev
		}
		if !anon {
			check, err := w.request(ctx, minEvent)
			if err != nil {
				return nil, err
			}
			if repo := asMap(check["repo"]); repo != nil {
				ok, err := w.checkRepo(ctx, repo)
				if err != nil {
					return nil, err
				}
				if ok {
					return repo, nil
				}
			} else {
				req = asMap(check["request"])
				if req == nil {
					return nil, errors.New("repo.request: the hub answered neither a repo nor a request")
				}
				w.logf(levelVerbose, "Got request: %s", clean(mstr(req, "id")))
				if minEvent == nil {
					minEvent = req["min_event"]
					w.logf(levelVerbose, "Updated min_event from hub: %s", pyStr(req, "min_event"))
				}
			}
		} else if w.timedOut() {
			return nil, &waitError{msg: fmt.Sprintf("Unsuccessfully waited %s for a new %s repo", w.duration(), w.tagName), timeout: true}
		}
		if err := w.pause(ctx); err != nil {
			return nil, err
		}
	}
}

// waitBuilds is RepoWatcher.wait_builds: until every build is tagged.
func (w *repoWatcher) waitBuilds(ctx context.Context) error {
	w.getStart()
	w.logf(levelVerbose, "Waiting for nvrs %s in tag %s", w.nvrList(), w.tagName)
	for {
		ok, err := w.checkBuilds(ctx, nil)
		if err != nil || ok {
			return err
		}
		if w.timedOut() {
			var names []string
			for _, b := range w.builds {
				names = append(names, clean(b.raw))
			}
			return &waitError{msg: fmt.Sprintf("Unsuccessfully waited %s for %s to appear in the %s repo", w.duration(), printList(names), w.tagName), timeout: true}
		}
		if err := w.pause(ctx); err != nil {
			return err
		}
	}
}

// checkBuilds is koji.util.checkForBuilds: every build tagged (with
// inheritance) at the event, nil for now.
func (w *repoWatcher) checkBuilds(ctx context.Context, event any) (bool, error) {
	for _, b := range w.builds {
		v, err := w.r.s.call(ctx, "listTagged", w.tagID, kojiclient.Kw{"event": event, "package": b.name, "inherit": true})
		if err != nil {
			return false, err
		}
		found := false
		for _, t := range asMaps(v) {
			if mstr(t, "version") == b.version && mstr(t, "release") == b.release {
				found = true
				break
			}
		}
		if !found {
			return false, nil
		}
	}
	return true, nil
}

// checkRepo is RepoWatcher.check_repo: the right tag, not older than the
// minimum event, and with the builds. (The opts check is left out: Koji's
// callers never reach it with opts set.)
func (w *repoWatcher) checkRepo(ctx context.Context, repo map[string]any) (bool, error) {
	if tag, _ := mint(repo, "tag_id"); tag != w.tagID {
		w.errorf("Got repo for wrong tag, expected %d, got %s", w.tagID, pyStr(repo, "tag_id"))
		return false, nil
	}
	ev, _ := mint(repo, "create_event")
	if min, ok := w.minEvent.(int64); ok && ev < min {
		w.logf(levelVerbose, "Got repo before min event. %d < %d", ev, min)
		return false, nil
	}
	if len(w.builds) > 0 {
		ok, err := w.checkBuilds(ctx, ev)
		if err != nil {
			return false, err
		}
		if !ok {
			w.logf(levelVerbose, "Got repo without needed builds")
			return false, nil
		}
	}
	return true, nil
}

// nextSteps says what to do after a failed wait.
func (w *repoWatcher) nextSteps(e *waitError, again string) []string {
	switch {
	case e.active && w.reqID != 0:
		return []string{fmt.Sprintf("Request %d is still active: the repo will be made without you waiting. Wait again with: %s", w.reqID, again)}
	case e.active || e.timeout:
		return []string{"No repo yet: is kojira running? Wait again with: " + again}
	case w.taskID != 0:
		return []string{fmt.Sprintf("See why the task failed: %s", commandLine("kojictl", w.r.again, "taskinfo", strconv.FormatInt(w.taskID, 10)))}
	}
	return nil
}

// nvrList is Python's repr of the list of NVRs, as Koji logs it.
func (w *repoWatcher) nvrList() string {
	var q []string
	for _, b := range w.builds {
		q = append(q, "'"+clean(b.raw)+"'")
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// nvr is koji.parse_NVR's result.
type nvr struct{ raw, name, version, release string }

func (n nvr) nvr() string { return n.name + "-" + n.version + "-" + n.release }

// parseNVR is koji.parse_NVR (an epoch "E:" before the name is dropped).
func parseNVR(s string) (nvr, error) {
	bad := usageErr("--build %q: want NAME-VERSION-RELEASE", clean(s))
	p2 := strings.LastIndex(s, "-")
	if p2 <= 0 || p2 == len(s)-1 {
		return nvr{}, bad
	}
	p1 := strings.LastIndex(s[:p2], "-")
	if p1 <= 0 || p1 == p2-1 {
		return nvr{}, bad
	}
	name := s[:p1]
	if i := strings.Index(name, ":"); i >= 0 {
		name = name[i+1:]
	}
	return nvr{raw: s, name: name, version: s[p1+1 : p2], release: s[p2+1:]}, nil
}

// printList is koji.util.printList: "a", "a and b", "a, b, and c".
func printList(l []string) string {
	switch len(l) {
	case 0:
		return ""
	case 1:
		return l[0]
	case 2:
		return l[0] + " and " + l[1]
	}
	return strings.Join(l[:len(l)-1], ", ") + ", and " + l[len(l)-1]
}

// pyStr is a request or repo field as Python's %s shows it: None, True,
// a task state's name for task_state.
func pyStr(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case nil:
		return "None"
	case int64:
		if k == "task_state" {
			return stateName(v)
		}
	}
	return clean(mstr(m, k))
}

// pyTrue is Python truthiness of an extra value.
func pyTrue(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case int64:
		return v != 0
	case float64:
		return v != 0
	case string:
		return v != ""
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	}
	return true
}

// warn is Koji's warn: a line on stderr.
func warn(env *Env, msg string) { fmt.Fprintln(env.Stderr, msg) }

// tristate is an optparse option with a negation (--wait/--nowait): unset,
// true or false, the last given winning.
type tristate struct{ set, val bool }

func (t *tristate) is(v bool) bool { return t.set && t.val == v }

// tristateFlag sets its tristate to v when given.
type tristateFlag struct {
	t *tristate
	v bool
}

func (f *tristateFlag) String() string   { return "" }
func (f *tristateFlag) IsBoolFlag() bool { return true }
func (f *tristateFlag) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	f.t.set, f.t.val = true, b == f.v
	return nil
}

// repeated is a repeatable string flag (optparse's action="append").
type repeated []string

func (l *repeated) String() string     { return strings.Join(*l, ",") }
func (l *repeated) Set(s string) error { *l = append(*l, s); return nil }

var _ flag.Value = (*tristateFlag)(nil)
