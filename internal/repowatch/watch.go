// Package repowatch is Koji's koji.util.RepoWatcher: it asks the hub for a
// repo of one tag that satisfies some conditions (not older than an event,
// holding some builds) and waits until there is one. kojictl's regen-repo
// and wait-repo and kojid's build and waitrepo tasks share it, so that the
// console, the CLI and the builders wait the same way Koji's do.
package repowatch

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Caller makes one hub call.
type Caller func(ctx context.Context, method string, args ...any) (any, error)

// Kw is the keyword arguments a Caller gets as its last argument; the
// Caller passes them on as its client's keyword type.
type Kw map[string]any

// Level orders the watcher's messages as Koji's logger levels.
type Level int

// Message levels: Koji's ERROR (printed even when quiet), the changes of
// a request and progress, and INFO (every step).
const (
	Error Level = iota
	Changes
	Verbose
)

// Watcher waits for one tag's repo. Set the exported fields before use;
// New fills the tag and the minimum event as Koji's constructor does.
type Watcher struct {
	Call     Caller
	Log      func(Level, string) // nil: silent
	Timeout  time.Duration       // give up after this long
	Poll     time.Duration       // between two questions to the hub
	Now      func() time.Time    // nil: time.Now
	TagID    int64
	TagName  string // printable
	Builds   []NVR
	MinEvent any // nil or an event id (int64)
	Opts     map[string]any
	// Progress asks kojigo.getRepoProgress while waiting on a request and
	// logs changes; it turns itself off on a hub without the call.
	Progress bool

	// RequestID and TaskID are the request waited on and its newRepo task,
	// once known.
	RequestID, TaskID int64

	start    time.Time
	pending  map[string]any // GetRepo's request, for TaskArgs
	lastProg string
}

// WaitError is a wait that ended without a repo: Koji's GenericError in
// the watcher.
type WaitError struct {
	Msg     string
	Timeout bool
	Active  bool // the request stays active (a timeout, an interrupt)
}

func (e *WaitError) Error() string { return e.Msg }

// New is RepoWatcher.__init__: the tag (strict) and, for a current repo,
// the tag's last change as the minimum event.
func New(ctx context.Context, call Caller, tag any, builds []NVR, current bool, opts map[string]any) (*Watcher, error) {
	v, err := call(ctx, "getTag", tag, Kw{"strict": true})
	if err != nil {
		return nil, err
	}
	t, _ := v.(map[string]any)
	id, ok := asInt(t["id"])
	if !ok {
		return nil, errors.New("getTag: the hub answered no tag id")
	}
	name, _ := t["name"].(string)
	w := &Watcher{Call: call, TagID: id, TagName: Printable(name), Builds: builds, Progress: true}
	if len(opts) > 0 {
		w.Opts = opts
	}
	if current {
		ev, err := call(ctx, "tagLastChangeEvent", id)
		if err != nil {
			return nil, err
		}
		n, ok := ev.(int64)
		if !ok {
			return nil, fmt.Errorf("tagLastChangeEvent: hub answered %T instead of an event id", ev)
		}
		w.MinEvent = n
	}
	return w, nil
}

func (w *Watcher) logf(level Level, format string, args ...any) {
	if w.Log != nil {
		w.Log(level, fmt.Sprintf(format, args...))
	}
}

func (w *Watcher) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Watcher) getStart() time.Time {
	if w.start.IsZero() {
		w.start = w.now()
	}
	return w.start
}

func (w *Watcher) timedOut() bool {
	return !w.now().Before(w.getStart().Add(w.Timeout))
}

// duration is koji.util.duration: M:SS since the start.
func (w *Watcher) duration() string {
	d := w.now().Sub(w.getStart())
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

func (w *Watcher) pause(ctx context.Context) error {
	t := time.NewTimer(w.Poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Request is RepoWatcher.request: repo.request(tag, min_event, at_event,
// opts), answering {repo} or {request}.
func (w *Watcher) Request(ctx context.Context, minEvent any) (map[string]any, error) {
	w.logf(Verbose, "Requesting a repo")
	var opts any
	if w.Opts != nil {
		opts = w.Opts
	}
	v, err := w.Call(ctx, "repo.request", w.TagID, Kw{"min_event": minEvent, "at_event": nil, "opts": opts})
	if err != nil {
		return nil, err
	}
	check, _ := v.(map[string]any)
	if check == nil {
		return nil, fmt.Errorf("repo.request: hub answered %T instead of a struct", v)
	}
	return check, nil
}

// GetRepo is RepoWatcher.getRepo: a repo that satisfies the conditions
// now, or nil (after asking for one: TaskArgs then carries the request's
// minimum event to a waitrepo task).
func (w *Watcher) GetRepo(ctx context.Context) (map[string]any, error) {
	w.logf(Verbose, "Need a repo for %s", w.TagName)
	if len(w.Builds) > 0 {
		ok, err := w.checkBuilds(ctx, nil)
		if err != nil || !ok {
			return nil, err
		}
	}
	check, err := w.Request(ctx, w.MinEvent)
	if err != nil {
		return nil, err
	}
	if repo, _ := check["repo"].(map[string]any); repo != nil {
		ok, err := w.checkRepo(ctx, repo)
		if err != nil || ok {
			return repo, err
		}
	}
	w.pending, _ = check["request"].(map[string]any)
	return nil, nil
}

// TaskArgs is RepoWatcher.task_args: the arguments of a waitrepo task that
// waits as this watcher would: [tag, newer_than, nvrs, min_event].
func (w *Watcher) TaskArgs() []any {
	minEvent := w.MinEvent
	if minEvent == nil && w.pending != nil {
		minEvent = w.pending["min_event"]
	}
	var nvrs any
	if len(w.Builds) > 0 {
		l := make([]any, len(w.Builds))
		for i, b := range w.Builds {
			l[i] = b.Raw
		}
		nvrs = l
	}
	return []any{w.TagName, nil, nvrs, minEvent}
}

// watchFields are the request fields whose changes are logged.
var watchFields = []string{"task_id", "task_state", "repo_id", "active", "tries"}

// WaitRequest is RepoWatcher.wait_request: repo.checkRequest until the
// request has a repo, is given up, or the timeout passes.
func (w *Watcher) WaitRequest(ctx context.Context, req map[string]any) (map[string]any, error) {
	w.getStart()
	w.RequestID, _ = asInt(req["id"])
	seen := map[string]string{}
	for _, f := range watchFields {
		seen[f] = PyStr(req, f)
	}
	for {
		v, err := w.Call(ctx, "repo.checkRequest", w.RequestID)
		if err != nil {
			return nil, err
		}
		check, _ := v.(map[string]any)
		if repo, _ := check["repo"].(map[string]any); repo != nil {
			return repo, nil
		}
		cur, _ := check["request"].(map[string]any)
		if cur == nil {
			return nil, fmt.Errorf("repo.checkRequest(%d): hub answered no request", w.RequestID)
		}
		w.TaskID, _ = asInt(cur["task_id"])
		for _, f := range watchFields {
			if now := PyStr(cur, f); now != seen[f] {
				w.logf(Changes, "Request updated: %s: %s -> %s", f, seen[f], now)
				seen[f] = now
			}
		}
		w.showProgress(ctx)
		active := asBool(cur["active"])
		if w.timedOut() {
			return nil, &WaitError{Msg: fmt.Sprintf("Unsuccessfully waited %s for a new %s repo", w.duration(), w.TagName), Timeout: true, Active: active}
		}
		if !active {
			if w.TaskID != 0 {
				w.logf(Error, "Task %d state is %s", w.TaskID, PyStr(cur, "task_state"))
			}
			return nil, &WaitError{Msg: "Repo request no longer active"}
		}
		if err := w.pause(ctx); err != nil {
			return nil, err
		}
	}
}

// showProgress logs the packages done of the total of the request's
// newRepo task from kojigo.getRepoProgress, when it changed; a hub
// without the call (stock Koji) or with no report shows nothing.
func (w *Watcher) showProgress(ctx context.Context) {
	if !w.Progress || w.TaskID == 0 {
		return
	}
	v, err := w.Call(ctx, "kojigo.getRepoProgress", Kw{"task_id": w.TaskID})
	if err != nil {
		// a display aid: a hub without it, or failing it, is not asked again
		w.Progress = false
		return
	}
	p, _ := v.(map[string]any)
	done, ok1 := asInt(p["done"])
	total, ok2 := asInt(p["total"])
	if !ok1 || !ok2 || total <= 0 {
		return
	}
	line := fmt.Sprintf("Repo progress: %d/%d packages (%d%%)", done, total, done*100/total)
	if line != w.lastProg {
		w.lastProg = line
		w.logf(Changes, "%s", line)
	}
}

// WaitRepo is RepoWatcher.waitrepo: anonymously it polls repo.get,
// otherwise it requests a repo and waits on the request; with builds it
// first waits for them to be tagged. Unlike Koji 1.35, the anonymous wait
// also ends at the timeout.
func (w *Watcher) WaitRepo(ctx context.Context, anon bool) (map[string]any, error) {
	w.logf(Verbose, "Waiting on repo for %s", w.TagName)
	w.getStart()
	minEvent := w.MinEvent
	var req map[string]any
	for {
		if req != nil {
			repo, err := w.WaitRequest(ctx, req)
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
			if minEvent, err = w.Call(ctx, "tagLastChangeEvent", w.TagID); err != nil {
				return nil, err
			}
			req = nil
			w.logf(Error, "Repo request did not satisfy conditions")
		} else if anon {
			v, err := w.Call(ctx, "repo.get", w.TagID, Kw{"min_event": minEvent, "at_event": nil, "opts": nil})
			if err != nil {
				return nil, err
			}
			if repo, _ := v.(map[string]any); repo != nil {
				ok, err := w.checkRepo(ctx, repo)
				if err != nil {
					return nil, err
				}
				if ok {
					return repo, nil
				}
			}
		}
		if len(w.Builds) > 0 {
			if err := w.waitBuilds(ctx); err != nil {
				return nil, err
			}
			var err error
			if minEvent, err = w.Call(ctx, "tagLastChangeEvent", w.TagID); err != nil {
				return nil, err
			}
		}
		if !anon {
			check, err := w.Request(ctx, minEvent)
			if err != nil {
				return nil, err
			}
			if repo, _ := check["repo"].(map[string]any); repo != nil {
				ok, err := w.checkRepo(ctx, repo)
				if err != nil {
					return nil, err
				}
				if ok {
					return repo, nil
				}
			} else {
				req, _ = check["request"].(map[string]any)
				if req == nil {
					return nil, errors.New("repo.request: the hub answered neither a repo nor a request")
				}
				w.logf(Verbose, "Got request: %s", PyStr(req, "id"))
				if minEvent == nil {
					minEvent = req["min_event"]
					w.logf(Verbose, "Updated min_event from hub: %s", PyStr(req, "min_event"))
				}
			}
		} else if w.timedOut() {
			return nil, &WaitError{Msg: fmt.Sprintf("Unsuccessfully waited %s for a new %s repo", w.duration(), w.TagName), Timeout: true}
		}
		if err := w.pause(ctx); err != nil {
			return nil, err
		}
	}
}

// waitBuilds is RepoWatcher.wait_builds: until every build is tagged.
func (w *Watcher) waitBuilds(ctx context.Context) error {
	w.getStart()
	w.logf(Verbose, "Waiting for nvrs %s in tag %s", w.nvrList(), w.TagName)
	for {
		ok, err := w.checkBuilds(ctx, nil)
		if err != nil || ok {
			return err
		}
		if w.timedOut() {
			var names []string
			for _, b := range w.Builds {
				names = append(names, Printable(b.Raw))
			}
			return &WaitError{Msg: fmt.Sprintf("Unsuccessfully waited %s for %s to appear in the %s repo", w.duration(), PrintList(names), w.TagName), Timeout: true}
		}
		if err := w.pause(ctx); err != nil {
			return err
		}
	}
}

// checkBuilds is koji.util.checkForBuilds: every build tagged (with
// inheritance) at the event, nil for now.
func (w *Watcher) checkBuilds(ctx context.Context, event any) (bool, error) {
	for _, b := range w.Builds {
		v, err := w.Call(ctx, "listTagged", w.TagID, Kw{"event": event, "package": b.Name, "inherit": true})
		if err != nil {
			return false, err
		}
		found := false
		l, _ := v.([]any)
		for _, e := range l {
			t, _ := e.(map[string]any)
			if str(t["version"]) == b.Version && str(t["release"]) == b.Release {
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
func (w *Watcher) checkRepo(ctx context.Context, repo map[string]any) (bool, error) {
	if tag, _ := asInt(repo["tag_id"]); tag != w.TagID {
		w.logf(Error, "Got repo for wrong tag, expected %d, got %s", w.TagID, PyStr(repo, "tag_id"))
		return false, nil
	}
	ev, _ := asInt(repo["create_event"])
	if min, ok := w.MinEvent.(int64); ok && ev < min {
		w.logf(Verbose, "Got repo before min event. %d < %d", ev, min)
		return false, nil
	}
	if len(w.Builds) > 0 {
		ok, err := w.checkBuilds(ctx, ev)
		if err != nil {
			return false, err
		}
		if !ok {
			w.logf(Verbose, "Got repo without needed builds")
			return false, nil
		}
	}
	return true, nil
}

// nvrList is Python's repr of the list of NVRs, as Koji logs it.
func (w *Watcher) nvrList() string {
	var q []string
	for _, b := range w.Builds {
		q = append(q, "'"+Printable(b.Raw)+"'")
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// NVR is koji.parse_NVR's result.
type NVR struct{ Raw, Name, Version, Release string }

// String is name-version-release.
func (n NVR) String() string { return n.Name + "-" + n.Version + "-" + n.Release }

// ParseNVR is koji.parse_NVR (an epoch "E:" before the name is dropped).
func ParseNVR(s string) (NVR, error) {
	bad := fmt.Errorf("%q: want NAME-VERSION-RELEASE", Printable(s))
	p2 := strings.LastIndex(s, "-")
	if p2 <= 0 || p2 == len(s)-1 {
		return NVR{}, bad
	}
	p1 := strings.LastIndex(s[:p2], "-")
	if p1 <= 0 || p1 == p2-1 {
		return NVR{}, bad
	}
	name := s[:p1]
	if i := strings.Index(name, ":"); i >= 0 {
		name = name[i+1:]
	}
	return NVR{Raw: s, Name: name, Version: s[p1+1 : p2], Release: s[p2+1:]}, nil
}

// PrintList is koji.util.printList: "a", "a and b", "a, b, and c".
func PrintList(l []string) string {
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

// taskStates are Koji's task state names, by number.
var taskStates = []string{"FREE", "OPEN", "CLOSED", "CANCELED", "ASSIGNED", "FAILED"}

// PyStr is a request or repo field as Python's %s shows it: None, True,
// a task state's name for task_state; made printable.
func PyStr(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case nil:
		return "None"
	case int64:
		if k == "task_state" {
			if v >= 0 && int(v) < len(taskStates) {
				return taskStates[v]
			}
			return "BADSTATE"
		}
	}
	return Printable(str(m[k]))
}

// Printable makes a hub-supplied string safe to print: control characters
// (terminal escapes, newlines) are shown as Go escapes.
func Printable(s string) string {
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			q := strconv.QuoteToGraphic(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}

func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		if v {
			return "True"
		}
		return "False"
	}
	return fmt.Sprint(v)
}

func asInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case float64:
		return int64(v), true
	}
	return 0, false
}

func asBool(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case int64:
		return v != 0
	}
	return false
}
