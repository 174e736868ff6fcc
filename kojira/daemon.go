package kojira

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"kojigo/internal/kojixml"
)

// Options are Run's dependencies besides the Config and the Hub. Zero
// values are the documented defaults.
type Options struct {
	// Logger receives the daemon's logs. Nil: discard.
	Logger *slog.Logger
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
	// Sleep waits between passes; it reports false when ctx ended first.
	// Nil: a timer.
	Sleep func(ctx context.Context, d time.Duration) bool
	// Identity is written into the heartbeat file so that operators see
	// which kojira is active. "": host name and pid.
	Identity string
}

// ErrLostLock is returned by Run when the hub no longer accepts kojira's
// session as the lock holder (another kojira took over with force): the
// caller logs in again and waits for the lock.
var ErrLostLock = errors.New("kojira lost its exclusive session")

// ErrNotAllowed is returned by Run when kojira's user lacks the repo permission.
var ErrNotAllowed = errors.New("kojira's user lacks the repo permission (grant it: kojictl grant-permission repo USER)")

// daemon is one Run: the loop's state.
type daemon struct {
	cfg   Config
	hub   Hub
	log   *slog.Logger
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) bool
	ident string

	refChecked map[int64]time.Time // repos due for deletion still in use, with when we looked
	lastOK     time.Time
	warned     map[string]bool // warnings given once per Run

	// deletions: paths queued or being removed, at most
	// max_delete_processes at once (Koji's rmtree jobs)
	delMu   sync.Mutex
	pending map[string]bool
	sem     chan struct{}
	delWG   sync.WaitGroup
	delCtx  context.Context
}

// repoRow is one repo.query answer row.
type repoRow struct {
	ID          int64
	TagID       int64
	TagName     string
	State       int64
	Dist        bool
	CreateEvent int64
	EndEvent    *int64
	TaskState   *int64
	CreationTS  *float64
	StateTS     *float64
	CustomOpts  bool // has custom (non-default) options
}

var repoFields = []any{"id", "tag_id", "tag_name", "create_event", "state", "dist", "task_id", "task_state",
	"creation_ts", "state_ts", "end_event", "opts", "custom_opts"}

func parseRepo(v any) (repoRow, error) {
	m := asMap(v)
	if m == nil {
		return repoRow{}, fmt.Errorf("repo row: unexpected %T", v)
	}
	var r repoRow
	var ok bool
	if r.ID, ok = asInt(m["id"]); !ok {
		return r, fmt.Errorf("repo row without id: %v", m)
	}
	r.TagID, _ = asInt(m["tag_id"])
	r.TagName, _ = m["tag_name"].(string)
	r.State, _ = asInt(m["state"])
	r.Dist, _ = m["dist"].(bool)
	r.CreateEvent, _ = asInt(m["create_event"])
	if n, ok := asInt(m["end_event"]); ok {
		r.EndEvent = &n
	}
	if n, ok := asInt(m["task_state"]); ok {
		r.TaskState = &n
	}
	if f, ok := asFloat(m["creation_ts"]); ok {
		r.CreationTS = &f
	}
	if f, ok := asFloat(m["state_ts"]); ok {
		r.StateTS = &f
	}
	co := asMap(m["custom_opts"])
	r.CustomOpts = len(co) > 0
	return r, nil
}

// Run runs kojira's passes until ctx ends. hub must already hold the
// exclusive session. Each pass, every sleeptime (with jitter):
//
//  1. repo.updateEndEvents: the hub marks repos whose tag changed;
//  2. repo.autoRequests: requests for tags with repo.auto;
//  3. repo.checkQueue: newRepo tasks for waiting requests (after 2, so an
//     auto request becomes a task in the same pass);
//  4. repo.query of every repo not DELETED, getBuildTargets: INIT repos
//     stale or whose task failed -> repoProblem; READY repos no longer
//     current and older than repo_lifetime, except the latest of each build
//     target's build tag -> repoExpire; EXPIRED/PROBLEM repos older than
//     expired_repo_lifetime -> repoDelete, then their directory is removed;
//  5. topdir/repos is scanned for directories the hub does not know (or
//     has deleted) and old enough, never a latest link's target: removed.
//
// With check_external_repos, a goroutine beside the passes (Koji's
// check_external thread) records newer external repo timestamps every
// sleeptime (see externalChecker).
//
// A failed pass is retried with backoff; the time since the last good one
// is logged. Run returns nil when ctx ends (after the removals under way
// finish), ErrLostLock when the session is no longer the lock holder, and
// ErrNotAllowed without the repo permission.
func Run(ctx context.Context, cfg Config, hub Hub, opts Options) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("kojira config: %w", err)
	}
	if hub == nil {
		return errors.New("kojira: no hub client")
	}
	d := &daemon{
		cfg: cfg, hub: hub, log: opts.Logger, now: opts.Now, sleep: opts.Sleep, ident: opts.Identity,
		refChecked: map[int64]time.Time{}, warned: map[string]bool{},
		pending: map[string]bool{}, sem: make(chan struct{}, cfg.MaxDeleteProcesses),
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.log = d.log.With("component", "kojira")
	if d.now == nil {
		d.now = time.Now
	}
	if d.sleep == nil {
		d.sleep = sleep
	}
	if d.ident == "" {
		d.ident = defaultIdentity()
	}
	dctx, stopDeletes := context.WithCancel(ctx)
	d.delCtx = dctx
	var extWG sync.WaitGroup
	defer func() {
		stopDeletes()
		d.delWG.Wait() // a removal under way finishes; queued ones are dropped
		extWG.Wait()
	}()
	d.lastOK = d.now()
	d.log.Info("active", "topdir", cfg.TopDir, "sleeptime", cfg.SleepTime, "check_external_repos", cfg.CheckExternalRepos)
	if cfg.CheckExternalRepos {
		// Koji's check_external thread: its own loop, every sleeptime
		x := newExternalChecker(d)
		extWG.Add(1)
		go func() { defer extWG.Done(); x.loop(dctx) }()
	}
	fails := 0
	for {
		d.heartbeat()
		err := d.pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var wait time.Duration
		switch {
		case err == nil:
			if fails > 0 {
				d.log.Info("hub calls work again", "failures", fails, "down_for", d.now().Sub(d.lastOK).Round(time.Second))
			}
			fails = 0
			d.lastOK = d.now()
			wait = jitter(cfg.SleepTime)
		case sessionLost(err):
			d.log.Warn("the hub no longer accepts this session as the lock holder", "err", err)
			return ErrLostLock
		case faultCode(err) == kojixml.ActionNotAllowed:
			return fmt.Errorf("%w: %v", ErrNotAllowed, err)
		default:
			fails++
			wait = backoff(fails, cfg.SleepTime)
			d.log.Warn("pass failed", "err", err, "failures", fails, "since_last_success",
				d.now().Sub(d.lastOK).Round(time.Second), "retry_in", wait.Round(time.Millisecond))
		}
		if !d.sleep(ctx, wait) {
			return nil
		}
	}
}

// passStats is what one pass did.
type passStats struct {
	problem, expired, deleted, inUse, removed int
}

func (s passStats) any() bool { return s != passStats{} }

// pass is one round of kojira's work.
func (d *daemon) pass(ctx context.Context) error {
	for _, m := range []string{"repo.updateEndEvents", "repo.autoRequests", "repo.checkQueue"} {
		if _, err := d.hub.Call(ctx, m); err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
	}
	repos, err := d.queryRepos(ctx, []any{[]any{"state", "!=", int64(repoDeleted)}})
	if err != nil {
		return err
	}
	buildTags, err := d.buildTags(ctx)
	if err != nil {
		return err
	}
	var st passStats
	now := d.now()
	for _, a := range plan(repos, buildTags, now, d.cfg) {
		if err := d.act(ctx, a, now, &st); err != nil {
			if sessionLost(err) || ctx.Err() != nil || faultCode(err) == kojixml.ActionNotAllowed || faultCode(err) == 0 {
				return err // the session, the hub or the transport: the pass stops
			}
			// a fault about this repo (its state changed meanwhile): the next pass sees
			d.log.Warn("repo action refused", "repo", a.repo.ID, "tag", a.repo.TagName, "action", a.kind, "err", err)
		}
	}
	known := map[int64]bool{}
	for _, r := range repos {
		known[r.ID] = true
	}
	removed, err := d.prune(ctx, known)
	st.removed += removed
	if err != nil {
		return err
	}
	if st.any() {
		d.log.Info("pass", "problem", st.problem, "expired", st.expired, "deleted", st.deleted,
			"still_in_use", st.inUse, "removed_dirs", st.removed, "repos", len(repos))
	} else {
		d.log.Debug("pass: nothing to do", "repos", len(repos))
	}
	return nil
}

// queryRepos is repo.query(clauses, fields).
func (d *daemon) queryRepos(ctx context.Context, clauses []any) ([]repoRow, error) {
	v, err := d.hub.Call(ctx, "repo.query", clauses, repoFields)
	if err != nil {
		return nil, fmt.Errorf("repo.query: %w", err)
	}
	list, ok := asList(v)
	if !ok {
		return nil, fmt.Errorf("repo.query: unexpected answer %T", v)
	}
	out := make([]repoRow, 0, len(list))
	for _, e := range list {
		r, err := parseRepo(e)
		if err != nil {
			return nil, fmt.Errorf("repo.query: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}

// buildTags returns the ids of every build target's build tag.
func (d *daemon) buildTags(ctx context.Context) (map[int64]bool, error) {
	v, err := d.hub.Call(ctx, "getBuildTargets")
	if err != nil {
		return nil, fmt.Errorf("getBuildTargets: %w", err)
	}
	list, ok := asList(v)
	if !ok {
		return nil, fmt.Errorf("getBuildTargets: unexpected answer %T", v)
	}
	out := map[int64]bool{}
	for _, e := range list {
		if id, ok := asInt(asMap(e)["build_tag"]); ok {
			out[id] = true
		}
	}
	return out, nil
}

// Kinds of action on a repo.
const (
	actProblem = "problem"
	actExpire  = "expire"
	actDelete  = "delete"
)

type action struct {
	kind   string
	repo   repoRow
	reason string
}

// age is how long ago ts (a Unix time) was, or false without one.
func age(ts *float64, now time.Time) (time.Duration, bool) {
	if ts == nil {
		return 0, false
	}
	return now.Sub(time.UnixMicro(int64(*ts * 1e6))), true
}

// plan decides, from the hub's repos, what to do with each (Koji's
// ManagedRepo checks). It only decides; act does.
func plan(repos []repoRow, buildTags map[int64]bool, now time.Time, cfg Config) []action {
	// the latest READY repo with default options of each build target's
	// build tag is never expired, current or not (Koji issue 4276)
	keep := map[int64]int64{} // tag -> repo id
	latest := map[int64]repoRow{}
	for _, r := range repos {
		if r.State != repoReady || r.Dist || r.CustomOpts || !buildTags[r.TagID] {
			continue
		}
		if l, ok := latest[r.TagID]; !ok || r.CreateEvent > l.CreateEvent || (r.CreateEvent == l.CreateEvent && r.ID > l.ID) {
			latest[r.TagID] = r
		}
	}
	for tag, r := range latest {
		keep[tag] = r.ID
	}
	var out []action
	for _, r := range repos {
		switch r.State {
		case repoInit:
			a, ok := age(r.CreationTS, now)
			switch {
			case !ok:
				out = append(out, action{actProblem, r, "no creation time"})
			case a > cfg.InitTimeout:
				out = append(out, action{actProblem, r, fmt.Sprintf("in INIT for %v (init_timeout %v)", a.Round(time.Second), cfg.InitTimeout)})
			case r.TaskState != nil && (*r.TaskState == taskFailed || *r.TaskState == taskCanceled):
				out = append(out, action{actProblem, r, "its task failed or was canceled"})
			}
		case repoReady:
			lifetime := cfg.RepoLifetime
			if r.Dist {
				lifetime = cfg.DistRepoLifetime
			} else {
				if r.EndEvent == nil && !r.CustomOpts {
					continue // current, default options
				}
				if keep[r.TagID] == r.ID {
					continue
				}
			}
			if a, ok := age(r.StateTS, now); ok && a > lifetime {
				out = append(out, action{actExpire, r, fmt.Sprintf("not current for %v (lifetime %v)", a.Round(time.Second), lifetime)})
			}
		case repoExpired, repoProblem:
			if a, ok := age(r.StateTS, now); ok && a > cfg.ExpiredRepoLifetime {
				out = append(out, action{actDelete, r, fmt.Sprintf("%s for %v (expired_repo_lifetime %v)", repoStateName(r.State), a.Round(time.Second), cfg.ExpiredRepoLifetime)})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].repo.ID < out[j].repo.ID })
	return out
}

// act carries out one action on the hub (and on disk for deletions).
func (d *daemon) act(ctx context.Context, a action, now time.Time, st *passStats) error {
	r := a.repo
	switch a.kind {
	case actProblem:
		d.log.Warn("marking repo PROBLEM", "repo", r.ID, "tag", r.TagName, "reason", a.reason)
		if _, err := d.hub.Call(ctx, "repoProblem", r.ID); err != nil {
			return fmt.Errorf("repoProblem %d: %w", r.ID, err)
		}
		st.problem++
	case actExpire:
		d.log.Info("expiring repo", "repo", r.ID, "tag", r.TagName, "dist", r.Dist, "reason", a.reason)
		if _, err := d.hub.Call(ctx, "repoExpire", r.ID); err != nil {
			return fmt.Errorf("repoExpire %d: %w", r.ID, err)
		}
		st.expired++
	case actDelete:
		if t, ok := d.refChecked[r.ID]; ok && now.Sub(t) < d.cfg.ReferenceRecheckPeriod {
			return nil
		}
		v, err := d.hub.Call(ctx, "repoDelete", r.ID)
		if err != nil {
			return fmt.Errorf("repoDelete %d: %w", r.ID, err)
		}
		if refs, _ := asInt(v); refs > 0 {
			d.refChecked[r.ID] = now
			d.log.Warn("repo due for deletion is still used by buildroots", "repo", r.ID, "tag", r.TagName, "references", refs,
				"recheck_in", d.cfg.ReferenceRecheckPeriod)
			st.inUse++
			return nil
		}
		delete(d.refChecked, r.ID)
		d.log.Info("deleted repo", "repo", r.ID, "tag", r.TagName, "reason", a.reason)
		st.deleted++
		if err := d.removeRepoDir(r.TagName, r.ID, r.Dist, "deleted"); err != nil {
			d.log.Error("repo directory not removed", "repo", r.ID, "tag", r.TagName, "err", err)
		}
	}
	return nil
}
