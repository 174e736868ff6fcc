package builderd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"kojigo/internal/repowatch"
)

// Builds wait for their build tag's repo as Koji 1.35's do: the build
// task asks for a repo (repo.request) and, when none fits yet, waits in a
// waitrepo subtask, so that the wait shows in the task tree; kojira makes
// the repo the request asks for.

// waitrepoTimeout is Koji's WaitrepoTask.TIMEOUT.
const waitrepoTimeout = 120 * time.Minute

// repoCaller is the hub as repowatch calls it: its keyword arguments
// become kojid's.
func (t *task) repoCaller() repowatch.Caller {
	return func(ctx context.Context, method string, args ...any) (any, error) {
		if n := len(args); n > 0 {
			if k, ok := args[n-1].(repowatch.Kw); ok {
				m := kw()
				for name, v := range k {
					m[name] = v
				}
				args[n-1] = m
			}
		}
		return t.d.hub.Call(ctx, method, args...)
	}
}

// newRepoWatcher is a watcher of tag that logs to the task's log. Koji
// pauses 60 s between questions; kojid asks every sleeptime, so a farm
// that polls faster also starts its builds sooner.
func (t *task) newRepoWatcher(ctx context.Context, tag any, builds []repowatch.NVR, current bool) (*repowatch.Watcher, error) {
	w, err := repowatch.New(ctx, t.repoCaller(), tag, builds, current, nil)
	if err != nil {
		return nil, err
	}
	w.Timeout, w.Poll = waitrepoTimeout, t.d.cfg.SleepTime
	w.Log = func(l repowatch.Level, msg string) {
		if l == repowatch.Error {
			t.log.Warn(msg)
		} else {
			t.log.Info(msg)
		}
	}
	return w, nil
}

// waitForRepo is Koji's BaseTaskHandler.getRepo: a repo of tag (holding
// builds, and as current as now when current) if the hub has one, else
// the one a waitrepo subtask waits for.
func (t *task) waitForRepo(ctx context.Context, tag any, builds []repowatch.NVR, current bool) (map[string]any, error) {
	w, err := t.newRepoWatcher(ctx, tag, builds, current)
	if err != nil {
		return nil, err
	}
	repo, err := w.GetRepo(ctx)
	if err != nil || repo != nil {
		return repo, err
	}
	t.log.Info("no repo yet: waiting in a waitrepo subtask", "tag", w.TagName)
	id, err := t.subtask(ctx, "waitrepo", w.TaskArgs(), "waitrepo", "noarch")
	if err != nil {
		return nil, err
	}
	res, err := t.wait(ctx, []int64{id}, true)
	if err != nil {
		return nil, err
	}
	repo = asMap(res[id])
	if repo == nil {
		return nil, fmt.Errorf("waitrepo task %d returned no repo", id)
	}
	return repo, nil
}

// waitrepoHandler is waitrepo(tag, newer_than=None, nvrs=None,
// min_event=None): wait for a repo of tag not older than min_event and
// holding nvrs; the result is the repo.
type waitrepoHandler struct{}

func (waitrepoHandler) weight(*task) float64 { return 0.2 }

func (waitrepoHandler) check(context.Context, *task) error { return nil }

func (waitrepoHandler) run(ctx context.Context, t *task) (any, error) {
	a := t.args()
	tag := a.Any(0, "tag")
	newerThan := a.OptAny(1, "newer_than", nil)
	nvrs := a.OptList(2, "nvrs")
	minEvent := a.OptAny(3, "min_event", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	var builds []repowatch.NVR
	for _, v := range nvrs {
		s, ok := v.(string)
		if !ok {
			return nil, paramErrorf("waitrepo: nvrs must be strings, not %T", v)
		}
		b, err := repowatch.ParseNVR(s)
		if err != nil {
			return nil, paramErrorf("waitrepo: nvr %v", err)
		}
		builds = append(builds, b)
	}
	switch minEvent.(type) {
	case nil, int64:
	default:
		return nil, paramErrorf("waitrepo: min_event must be an event id, not %T", minEvent)
	}
	// the legacy newer_than: a timestamp, or "now"
	if newerThan != nil {
		if minEvent != nil {
			return nil, genericErrorf("newer_than and min_event args confict")
		}
		ev, err := t.eventAfter(ctx, tag, newerThan)
		if err != nil {
			return nil, err
		}
		minEvent = ev
	}
	w, err := t.newRepoWatcher(ctx, tag, builds, false)
	if err != nil {
		return nil, err
	}
	w.MinEvent = minEvent
	// only polling the hub: like a parent waiting on subtasks, it takes no
	// maxjobs slot, or builds waiting for a repo could keep the newRepo
	// task that makes it off a builder that is also in createrepo
	t.rt.waiting.Store(true)
	defer t.rt.waiting.Store(false)
	repo, err := w.WaitRepo(ctx, false)
	var we *repowatch.WaitError
	if errors.As(err, &we) {
		return nil, genericErrorf("%s", we.Msg)
	}
	return repo, err
}

// eventAfter is waitrepo's reading of newer_than: "now" is the tag's last
// change; a timestamp is the tag's first change after it, or its last
// change when it has not changed since.
func (t *task) eventAfter(ctx context.Context, tag, newerThan any) (any, error) {
	last := func() (any, error) { return t.d.hub.Call(ctx, "tagLastChangeEvent", tag) }
	var ts float64
	switch v := newerThan.(type) {
	case string:
		if strings.EqualFold(v, "now") {
			return last()
		}
		return nil, genericErrorf("Invalid value for newer_than: %s", v)
	case int64:
		ts = float64(v)
	case float64:
		ts = v
	default:
		return nil, genericErrorf("Invalid value for newer_than: %v", v)
	}
	base, err := callMap(ctx, t.d.hub, "getLastEvent", kw("before", ts, "strict", false))
	if err != nil {
		return nil, err
	}
	first, err := t.d.hub.Call(ctx, "tagFirstChangeEvent", tag, kw("after", base["id"]))
	if err != nil {
		return nil, err
	}
	if first == nil {
		return last()
	}
	return first, nil
}
