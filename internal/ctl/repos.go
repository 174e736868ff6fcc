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
	"kojigo/internal/repowatch"
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
	check, err := w.Request(ctx, w.MinEvent)
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
	repo, err := w.WaitRequest(ctx, req)
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
	builds := make([]repowatch.NVR, len(nvrs))
	for i, s := range nvrs {
		if err := checkNames("build", s); err != nil {
			return err
		}
		if builds[i], err = repowatch.ParseNVR(s); err != nil {
			return usageErr("--build %v", err)
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
		v, err := s.call(ctx, "getLatestBuilds", tagID, kojiclient.Kw{"package": b.Name})
		if err != nil {
			return err
		}
		latest := asMaps(v)
		if len(latest) == 0 {
			warn(env, fmt.Sprintf("No %s builds in tag %s", clean(b.Name), tagName))
			continue
		}
		if present := mstr(latest[0], "nvr"); present != b.String() {
			warn(env, fmt.Sprintf("nvr %s is not current in tag %s\n  latest build is %s", clean(b.String()), tagName, clean(present)))
		}
	}
	// with builds: a repo that has them, not necessarily a current one
	w, err := r.newWatcher(ctx, tag, builds, len(builds) == 0, nil)
	if err != nil {
		return err
	}
	repo, err := w.WaitRepo(ctx, !request.is(true))
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
func (r *repoRun) failed(w *repowatch.Watcher, err error, again ...string) error {
	var we *repowatch.WaitError
	switch {
	case errors.As(err, &we):
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		we = &repowatch.WaitError{Msg: "interrupted", Active: true}
	default:
		return r.hint(err, "")
	}
	if r.level > levelQuiet {
		fmt.Fprintf(r.env.Stderr, "Failed to get repo -- %s\n", we.Msg)
		for _, l := range r.nextSteps(w, we, commandLine("kojictl", r.again, again...)) {
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

// newWatcher is a repowatch.Watcher that prints to stdout at the run's
// level, as Koji's watcher logs, and adds what to do to the faults an
// operator can act on.
func (r *repoRun) newWatcher(ctx context.Context, tag map[string]any, builds []repowatch.NVR, current bool, opts map[string]any) (*repowatch.Watcher, error) {
	call := func(ctx context.Context, method string, args ...any) (any, error) {
		if n := len(args); n > 0 {
			if kw, ok := args[n-1].(repowatch.Kw); ok {
				args[n-1] = kojiclient.Kw(kw)
			}
		}
		v, err := r.s.call(ctx, method, args...)
		switch {
		case err == nil:
		case method == "repo.request":
			err = r.hint(err, "")
		case method == "repo.get" && isInvalidMethod(err, "repo.get"):
			err = &hintError{err: err, hint: "this hub is older than Koji 1.35 (no repo requests): use the koji CLI of its version"}
		}
		return v, err
	}
	w, err := repowatch.New(ctx, call, tag["id"], builds, current, opts)
	if err != nil {
		return nil, err
	}
	w.Timeout, w.Poll = r.timeout, r.poll
	w.Progress = r.level >= levelChanges
	w.Log = func(l repowatch.Level, msg string) {
		// Koji's ERROR lines print even with --quiet
		if l == repowatch.Error || r.level >= int(l) {
			fmt.Fprintln(r.env.Stdout, msg)
		}
	}
	return w, nil
}

// nextSteps says what to do after a failed wait.
func (r *repoRun) nextSteps(w *repowatch.Watcher, e *repowatch.WaitError, again string) []string {
	switch {
	case e.Active && w.RequestID != 0:
		return []string{fmt.Sprintf("Request %d is still active: the repo will be made without you waiting. Wait again with: %s", w.RequestID, again)}
	case e.Active || e.Timeout:
		return []string{"No repo yet: is kojira running? Wait again with: " + again}
	case w.TaskID != 0:
		return []string{fmt.Sprintf("See why the task failed: %s", commandLine("kojictl", r.again, "taskinfo", strconv.FormatInt(w.TaskID, 10)))}
	}
	return nil
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
