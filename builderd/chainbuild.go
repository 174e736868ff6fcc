package builderd

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// chainbuildHandler is Koji's ChainBuildTask: chainbuild(srcs, target,
// opts). srcs is a list of build levels; each level is a list of SCM URLs
// (built by a build subtask each, all at once) and NVRs of existing
// builds. Before a level starts, a waitrepo subtask waits until the
// target's build tag has a repo holding the builds of the level before, so
// that a level's packages can BuildRequire the previous level's:
//
//	level 0: build, build ─▶ waitrepo(build tag, nvrs of level 0)
//	level 1: build ─▶ waitrepo(build tag, nvrs of level 1) ─▶ ...
//
// The first failed build fails the chain (the others of its level are
// cancelled); later levels are not started.
type chainbuildHandler struct{}

func (chainbuildHandler) weight(*task) float64 { return 0.1 }

func (chainbuildHandler) check(context.Context, *task) error { return nil }

func (chainbuildHandler) run(ctx context.Context, t *task) (any, error) {
	a := t.args()
	srcs := a.List(0, "srcs")
	target := a.Any(1, "target")
	opts := a.OptMap(2, "opts")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = map[string]any{}
	}
	if asBool(opts["scratch"]) {
		return nil, buildErrorf("--scratch is not allowed with chain-builds")
	}
	levels := make([][]string, 0, len(srcs))
	for i, l := range srcs {
		level, ok := l.([]any)
		if !ok {
			return nil, paramErrorf("chainbuild: srcs[%d] must be a list, not %T", i, l)
		}
		var out []string
		for j, s := range level {
			src, ok := s.(string)
			if !ok {
				return nil, paramErrorf("chainbuild: srcs[%d][%d] must be a string, not %T", i, j, s)
			}
			out = append(out, src)
		}
		levels = append(levels, out)
	}
	tgt, err := callMap(ctx, t.d.hub, "getBuildTarget", target)
	if err != nil {
		return nil, err
	}
	if tgt == nil {
		return nil, genericErrorf("unknown build target: %v", target)
	}
	buildTag := asString(tgt["build_tag_name"])
	var nvrs []any
	for n, level := range levels {
		if len(nvrs) > 0 {
			id, err := t.subtask(ctx, "waitrepo", []any{buildTag, nil, nvrs}, fmt.Sprintf("wait %d", n), "")
			if err != nil {
				return nil, err
			}
			if _, err := t.wait(ctx, []int64{id}, true); err != nil {
				return nil, err
			}
		}
		nvrs = nil
		var builds []int64
		for i, src := range level {
			if !isSCMURL(src) {
				nvrs = append(nvrs, src) // an existing build the next level waits for
				continue
			}
			id, err := t.subtask(ctx, "build", []any{src, target, opts}, fmt.Sprintf("build %d,%d", n, i), "")
			if err != nil {
				return nil, err
			}
			builds = append(builds, id)
		}
		if len(builds) == 0 {
			continue
		}
		if _, err := t.wait(ctx, builds, true); err != nil {
			return nil, err
		}
		for _, id := range builds {
			l, err := t.d.hub.Call(ctx, "listBuilds", kw("taskID", id))
			if err != nil {
				return nil, err
			}
			if bs := asList(l); len(bs) > 0 {
				nvrs = append(nvrs, asString(asMap(bs[0])["nvr"]))
			}
		}
		t.log.Info("chain build level done", "level", n, "nvrs", nvrs)
	}
	return nil, nil
}

// dependantTaskHandler is Koji's DependantTask: dependantTask(wait_list,
// task_list). It waits for the tasks of wait_list (not its children) to
// end, fails if one failed or was cancelled, then creates task_list's
// tasks ([method, arglist, opts]) as its subtasks and waits for them.
// moveAllBuilds chains its tagBuild tasks with it.
type dependantTaskHandler struct{}

func (dependantTaskHandler) weight(*task) float64 { return 0.2 }

func (dependantTaskHandler) check(context.Context, *task) error { return nil }

// maxDependantTasks bounds a dependantTask's lists.
const maxDependantTasks = 10000

func (dependantTaskHandler) run(ctx context.Context, t *task) (any, error) {
	a := t.args()
	waitList := a.List(0, "wait_list")
	taskList := a.List(1, "task_list")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if len(waitList) > maxDependantTasks || len(taskList) > maxDependantTasks {
		return nil, paramErrorf("dependantTask: at most %d tasks to wait for and to create", maxDependantTasks)
	}
	type sub struct {
		method string
		args   []any
		opts   map[string]any
	}
	subs := make([]sub, 0, len(taskList))
	for i, e := range taskList {
		l := asList(e)
		if len(l) < 2 {
			return nil, paramErrorf("dependantTask: task_list[%d] must be [method, arglist, opts]", i)
		}
		s := sub{method: asString(l[0]), args: asList(l[1]), opts: map[string]any{}}
		if s.method == "" || l[1] != nil && s.args == nil {
			return nil, paramErrorf("dependantTask: task_list[%d] must be [method, arglist, opts]", i)
		}
		if len(l) > 2 && l[2] != nil {
			m := asMap(l[2])
			if m == nil {
				return nil, paramErrorf("dependantTask: task_list[%d] opts must be a struct, not %T", i, l[2])
			}
			for k, v := range m {
				s.opts[k] = v
			}
		}
		subs = append(subs, s)
	}
	var pending []int64
	for _, v := range waitList {
		if id, ok := v.(int64); ok {
			pending = append(pending, id) // Koji drops what is not a task id
		}
	}
	if len(pending) > 0 {
		t.rt.waiting.Store(true)
		for len(pending) > 0 {
			left := pending[:0]
			for _, id := range pending {
				info, err := callMap(ctx, t.d.hub, "getTaskInfo", id)
				if err != nil {
					t.rt.waiting.Store(false)
					return nil, err
				}
				if info == nil {
					continue // no such task: nothing to wait for
				}
				switch st, _ := asInt(info["state"]); st {
				case stateCanceled, stateFailed:
					t.rt.waiting.Store(false)
					return nil, genericErrorf("Dependency %d failed to complete.", id)
				case stateClosed:
				default:
					left = append(left, id)
				}
			}
			pending = left
			if len(pending) == 0 {
				break
			}
			tm := time.NewTimer(t.d.cfg.CancelPoll)
			select {
			case <-ctx.Done():
				tm.Stop()
				t.rt.waiting.Store(false)
				return nil, context.Cause(ctx)
			case <-tm.C:
			}
		}
		t.rt.waiting.Store(false)
	}
	var ids []int64
	for i, s := range subs {
		opts := kw()
		for k, v := range s.opts {
			opts[k] = v
		}
		if _, ok := opts["label"]; !ok {
			// a dependantTask run again after a restart finds its children
			opts["label"] = fmt.Sprintf("%d %s", i, strings.ToLower(s.method))
		}
		id, err := callInt(ctx, t.d.hub, "host.subtask", s.method, s.args, t.id, opts)
		if err != nil {
			return nil, err
		}
		t.log.Info("created subtask", "subtask", id, "subtask_method", s.method)
		ids = append(ids, id)
	}
	if len(ids) > 0 {
		if _, err := t.wait(ctx, ids, false); err != nil {
			return nil, err
		}
	}
	return nil, nil
}
