package hubcore

import (
	"sort"
	"sync"
	"time"

	"kojigo/internal/kojixml"
)

// Repo generation progress, a kojigo extension (Koji has none): the host
// running a createrepo task reports how many of the arch's packages the
// engine has done, at most once a second, and anyone reads it by repo or
// by task.
//
// The progress is kept in this hub's memory only, bounded to
// maxRepoProgress entries (the least recently updated go first): a hub
// restart loses it, and with several hubs behind a load balancer a reader
// sees it only on the hub the builder reported to. It is a display aid;
// the task and repo states in the database remain the truth.

// maxRepoProgress bounds the createrepo tasks whose progress is kept.
const maxRepoProgress = 4096

// repoProgressEntry is the last report of one createrepo task.
type repoProgressEntry struct {
	taskID, parent, repoID int64
	arch                   string
	done, total            int64
	updated                time.Time
}

func (e *repoProgressEntry) wire() map[string]any {
	ts := float64(e.updated.UnixNano()) / 1e9
	return map[string]any{"task_id": e.taskID, "parent": optInt(ptrIf(e.parent)), "repo_id": e.repoID, "arch": e.arch,
		"done": e.done, "total": e.total, "update_ts": ts}
}

func ptrIf(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

// repoProgressTable holds the entries; its methods are the API.
type repoProgressTable struct {
	mu     sync.Mutex
	max    int
	byTask map[int64]*repoProgressEntry
	now    func() time.Time
}

// repoProgressMethods returns the progress methods with their own table,
// which lives as long as the hub that registers them.
func repoProgressMethods() []method {
	p := &repoProgressTable{max: maxRepoProgress, byTask: map[int64]*repoProgressEntry{}, now: time.Now}
	return []method{
		{name: "kojigo.setRepoProgress", argdesc: "(task_id, done, total)", fn: p.mSet},
		{name: "kojigo.getRepoProgress", argdesc: "(repo_id=None, task_id=None)", fn: p.mGet},
	}
}

// kojigo.setRepoProgress(task_id, done, total): the host holding the
// createrepo task OPEN reports its packages done out of total. The repo
// and arch come from the task's own request, not from the caller.
func (p *repoProgressTable) mSet(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "task_id")
	done := a.Int(1, "done")
	total := a.Int(2, "total")
	if err := a.Done(); err != nil {
		return nil, err
	}
	host, err := c.requireHost()
	if err != nil {
		return nil, err
	}
	t, err := ownTask(c, host, id)
	if err != nil {
		return nil, err
	}
	if t.Method != "createrepo" {
		return nil, paramErr("task %d is a %s task, not createrepo", id, t.Method)
	}
	if total < 0 || done < 0 || done > total {
		return nil, paramErr("progress %d of %d: want 0 <= done <= total", done, total)
	}
	params, _ := decodeRequest(t.Request).([]any)
	args := kojixml.NewArgs("createrepo", params)
	repoID := args.Int(0, "repo_id")
	arch := args.String(1, "arch")
	if args.Err() != nil {
		return nil, genericErr("task %d: its request is not createrepo(repo_id, arch, oldrepo)", id)
	}
	e := &repoProgressEntry{taskID: id, repoID: repoID, arch: arch, done: done, total: total, updated: p.now()}
	if t.Parent != nil {
		e.parent = *t.Parent
	}
	p.put(e)
	return nil, nil
}

func (p *repoProgressTable) put(e *repoProgressEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.byTask[e.taskID]; !ok && len(p.byTask) >= p.max {
		var oldest *repoProgressEntry
		for _, x := range p.byTask {
			if oldest == nil || x.updated.Before(oldest.updated) {
				oldest = x
			}
		}
		delete(p.byTask, oldest.taskID)
	}
	p.byTask[e.taskID] = e
}

// kojigo.getRepoProgress(repo_id=None, task_id=None): anyone. Exactly one
// of repo_id (every arch of the repo) or task_id (a createrepo task, or a
// newRepo task: its createrepo children) is given. The answer sums the
// arches: {repo_id, done, total, update_ts, tasks: [{task_id, parent,
// repo_id, arch, done, total, update_ts}, ...]} (by arch), or None when
// this hub has no report.
func (p *repoProgressTable) mGet(c *call, a *kojixml.Args) (any, error) {
	repoArg := a.OptAny(0, "repo_id", nil)
	taskArg := a.OptAny(1, "task_id", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if (repoArg == nil) == (taskArg == nil) {
		return nil, paramErr("kojigo.getRepoProgress: give repo_id or task_id")
	}
	var match func(*repoProgressEntry) bool
	if repoArg != nil {
		id, err := intArg("repo_id", repoArg)
		if err != nil {
			return nil, err
		}
		match = func(e *repoProgressEntry) bool { return e.repoID == id }
	} else {
		id, err := intArg("task_id", taskArg)
		if err != nil {
			return nil, err
		}
		match = func(e *repoProgressEntry) bool { return e.taskID == id || e.parent == id }
	}
	p.mu.Lock()
	var found []repoProgressEntry
	for _, e := range p.byTask {
		if match(e) {
			found = append(found, *e)
		}
	}
	p.mu.Unlock()
	if len(found) == 0 {
		return nil, nil
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].arch != found[j].arch {
			return found[i].arch < found[j].arch
		}
		return found[i].taskID < found[j].taskID
	})
	var done, total int64
	var last time.Time
	tasks := make([]any, len(found))
	for i := range found {
		e := &found[i]
		done += e.done
		total += e.total
		if e.updated.After(last) {
			last = e.updated
		}
		tasks[i] = e.wire()
	}
	return map[string]any{"repo_id": found[0].repoID, "done": done, "total": total,
		"update_ts": float64(last.UnixNano()) / 1e9, "tasks": tasks}, nil
}
