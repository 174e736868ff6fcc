package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"kojigo/internal/kojiclient"
	"kojigo/repogen"
)

// The repo lifecycle with the real binaries: kojira expires and deletes
// old repos, `latest` never points at a repo that is not READY while a
// regeneration is killed with SIGKILL, and of two kojira processes one is
// active and the other takes over when it dies.

// Repo states, Koji's numbers.
const (
	repoStInit    = 0
	repoStReady   = 1
	repoStExpired = 2
	repoStDeleted = 3
	repoStProblem = 4
)

// ownKojira replaces the farm's kojira (started with defaults) by one with
// extra kojira.conf lines. The farm's kojira must be stopped first, or
// started again with force.
func (bf *buildFarm) ownKojira(t *testing.T, name, extra string, forceLock bool) *proc {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "kojira.conf")
	writeConf(t, conf, fmt.Sprintf("[kojira]\nserver = %s\ntopdir = %s\ncert =\nuser = kojira\npassword = kojirapw\nsleeptime = 1\n%s",
		bf.url, bf.topdir, extra))
	args := []string{"-c", conf}
	if forceLock {
		args = append(args, "--force-lock")
	}
	return start(t, name, nil, bin(t, "kojira"), args...)
}

// logHas waits for text in a process's output.
func logHas(t *testing.T, p *proc, d time.Duration, text string) {
	t.Helper()
	waitFor(t, d, fmt.Sprintf("%q in the output of %s", text, p.name), func() bool { return strings.Contains(p.out.String(), text) })
}

// buildOK builds a sample package from its SRPM and fails unless it ends CLOSED.
func (bf *buildFarm) buildOK(t *testing.T, pkg string, opts map[string]any) {
	t.Helper()
	id := bf.submit(t, srpm(t, sample(pkg)), opts)
	if info := bf.wait(t, id, 3*time.Minute); asInt(info["state"]) != 2 {
		res, err := bf.admin.Call(context.Background(), "getTaskResult", id)
		t.Fatalf("build of %s (task %d) ended in state %v: %v %v", pkg, id, info["state"], res, err)
	}
}

// repoRow is one repo of a tag as repo.query lists it.
type repoRow struct {
	id, state, task int64
	current         bool // no end_event
}

// tagRepos lists the repos of tag, by id.
func (bf *buildFarm) tagRepos(t *testing.T, tag string) []repoRow {
	t.Helper()
	tinfo := asMap(must(t, bf, "getTag", tag))
	v := must(t, bf, "repo.query", []any{[]any{"tag_id", "=", asInt(tinfo["id"])}}, []any{"id", "state", "end_event", "task_id"})
	var out []repoRow
	for _, e := range asList(v) {
		m := asMap(e)
		out = append(out, repoRow{id: asInt(m["id"]), state: asInt(m["state"]), task: asInt(m["task_id"]), current: m["end_event"] == nil})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (bf *buildFarm) repoState(t *testing.T, id int64) int64 {
	t.Helper()
	return asInt(asMap(must(t, bf, "repoInfo", id))["state"])
}

// latestLink is what repos/<tag>/latest points at ("" without one).
func (bf *buildFarm) latestLink(tag string) string {
	l, _ := os.Readlink(filepath.Join(bf.topdir, "repos", tag, "latest"))
	return l
}

// TestKojiraExpiresAndDeletesRepos: a kojira with lifetimes of 3 seconds.
// Two builds one after the other give the build tag two repos (the second,
// with wait_repo, needs a repo with the first); the older one goes EXPIRED, then
// DELETED, and its directory disappears. The newest is no longer current
// once the second build is tagged, yet, being the latest repo of a build
// target's build tag, it is never expired: it stays READY and `latest`.
func TestKojiraExpiresAndDeletesRepos(t *testing.T) {
	tStart := time.Now()
	bf := newBuildFarm(t, "sqlite")
	bf.kojira.stop(syscall.SIGTERM, 20*time.Second)
	kr := bf.ownKojira(t, "kojira (3 s lifetimes)", "repo_lifetime = 3\nexpired_repo_lifetime = 3\nreference_recheck_period = 2\n", true)
	logHas(t, kr, 30*time.Second, "msg=active")
	t0 := time.Now()
	t.Logf("farm and kojira up in %v", t0.Sub(tStart).Round(100*time.Millisecond))
	states := watchRepoStates(t, bf, "dist-build")

	bf.buildOK(t, "hello", nil)
	// a build uses any repo of its build tag, unless told to wait for a
	// current one (koji build --wait-repo): this one needs a repo with hello
	bf.buildOK(t, "noarch", map[string]any{"wait_repo": true})
	built := time.Now()
	t.Logf("two builds in %v", built.Sub(t0).Round(time.Second))
	repos := bf.tagRepos(t, "dist-build")
	if len(repos) < 2 {
		t.Fatalf("dist-build has repos %+v after two builds; want two at least", repos)
	}
	newest := repos[len(repos)-1]
	if newest.state != repoStReady {
		t.Fatalf("newest repo %+v is not READY", newest)
	}

	// every older repo: READY -> EXPIRED -> DELETED, its directory removed
	for _, r := range repos[:len(repos)-1] {
		waitFor(t, 45*time.Second, fmt.Sprintf("repo %d to be DELETED", r.id), func() bool {
			return bf.repoState(t, r.id) == repoStDeleted
		})
		dir := filepath.Join(bf.topdir, "repos", "dist-build", strconv.FormatInt(r.id, 10))
		waitFor(t, 30*time.Second, dir+" to be removed", func() bool {
			_, err := os.Lstat(dir)
			return os.IsNotExist(err)
		})
		// The recorder polls on its own: let it see the end too.
		waitFor(t, 10*time.Second, fmt.Sprintf("the recorder to see repo %d DELETED", r.id), func() bool {
			q := states.of(r.id)
			return len(q) > 0 && q[len(q)-1].state == repoStDeleted
		})
		seq := states.of(r.id)
		t.Logf("repo %d: %s (since kojira started); directory gone %v after the builds ended", r.id, seq.timed(), time.Since(built).Round(100*time.Millisecond))
		if !strings.Contains(seq.String(), "READY EXPIRED DELETED") {
			t.Errorf("repo %d went through %s, want READY, EXPIRED, DELETED", r.id, seq)
		}
	}

	// the newest: not current (the second build was tagged after it), but
	// never expired
	var notCurrent time.Time
	waitFor(t, 20*time.Second, fmt.Sprintf("repo %d to be no longer current (end_event)", newest.id), func() bool {
		for _, r := range bf.tagRepos(t, "dist-build") {
			if r.id == newest.id && !r.current {
				notCurrent = time.Now()
				return true
			}
		}
		return false
	})
	// its READY state is older than repo_lifetime already (the second
	// build took longer): a kojira that broke the rule would expire it at
	// its next pass. Watch for six passes.
	for time.Since(notCurrent) < 6*time.Second {
		if st := bf.repoState(t, newest.id); st != repoStReady {
			t.Fatalf("latest repo %d of the build tag went to state %d (want it kept READY though not current)", newest.id, st)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if l := bf.latestLink("dist-build"); l != strconv.FormatInt(newest.id, 10) {
		t.Errorf("repos/dist-build/latest -> %q, want %d", l, newest.id)
	}
	if _, err := os.Stat(filepath.Join(bf.topdir, "repos", "dist-build", "latest", "x86_64", "repodata", "repomd.xml")); err != nil {
		t.Errorf("latest repo has no repodata: %v", err)
	}
	out := kr.out.String()
	for _, want := range []string{"expiring repo", "deleted repo", "removed repo directory"} {
		if !strings.Contains(out, want) {
			t.Errorf("kojira's log lacks %q", want)
		}
	}
	if strings.Contains(out, fmt.Sprintf("msg=\"expiring repo\" repo=%d ", newest.id)) {
		t.Errorf("kojira expired the latest repo %d", newest.id)
	}
}

// stateSeq is the states a repo was seen in, in turn, with when.
type stateSeq []struct {
	state int64
	at    time.Duration
}

func (q stateSeq) String() string {
	names := []string{"INIT", "READY", "EXPIRED", "DELETED", "PROBLEM"}
	var parts []string
	for _, s := range q {
		n := fmt.Sprint(s.state)
		if s.state >= 0 && int(s.state) < len(names) {
			n = names[s.state]
		}
		parts = append(parts, n)
	}
	return strings.Join(parts, " ")
}

// timed is String with when each state was first seen.
func (q stateSeq) timed() string {
	names := strings.Fields(q.String())
	for i, s := range q {
		names[i] += fmt.Sprintf("@%.1fs", s.at.Seconds())
	}
	return strings.Join(names, " ")
}

// repoStates records the successive states of a tag's repos.
type repoStates struct {
	mu    sync.Mutex
	start time.Time
	seqs  map[int64]stateSeq
}

func (r *repoStates) of(id int64) stateSeq {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(stateSeq(nil), r.seqs[id]...)
}

// watchRepoStates polls repo.query for tag's repos every 100 ms until the
// test ends.
func watchRepoStates(t *testing.T, bf *buildFarm, tag string) *repoStates {
	rs := &repoStates{start: time.Now(), seqs: map[int64]stateSeq{}}
	c := client(t, bf.url, "kojiadmin", "adminpw")
	tinfo := asMap(must(t, bf, "getTag", tag))
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			v, err := c.Call(ctx, "repo.query", []any{[]any{"tag_id", "=", asInt(tinfo["id"])}}, []any{"id", "state"})
			cancel()
			if err != nil {
				continue
			}
			rs.mu.Lock()
			for _, e := range asList(v) {
				m := asMap(e)
				id, st := asInt(m["id"]), asInt(m["state"])
				q := rs.seqs[id]
				if len(q) == 0 || q[len(q)-1].state != st {
					rs.seqs[id] = append(q, struct {
						state int64
						at    time.Duration
					}{st, time.Since(rs.start)})
				}
			}
			rs.mu.Unlock()
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return rs
}

// latestWatch polls repos/<tag>/latest and the state of the repo it points
// at until stopped, recording every time it points at a repo that is not
// READY.
type latestWatch struct {
	stop       chan struct{}
	done       chan struct{}
	mu         sync.Mutex
	targets    []string // distinct successive targets
	violations []string
	polls      int
}

func watchLatest(t *testing.T, bf *buildFarm, c *kojiclient.Client, tag string) *latestWatch {
	w := &latestWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.stop:
				return
			default:
			}
			if l := bf.latestLink(tag); l != "" {
				id, err := strconv.ParseInt(l, 10, 64)
				var st int64 = -1
				if err == nil {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					v, cerr := c.Call(ctx, "repoInfo", id)
					cancel()
					if cerr == nil {
						st = asInt(asMap(v)["state"])
					}
				}
				w.mu.Lock()
				w.polls++
				if n := len(w.targets); n == 0 || w.targets[n-1] != l {
					w.targets = append(w.targets, l)
				}
				// a failed call (st -1) is no violation
				if err != nil || (st != -1 && st != repoStReady) {
					w.violations = append(w.violations, fmt.Sprintf("%s latest -> %q in state %d", time.Now().Format("15:04:05.000"), l, st))
				}
				w.mu.Unlock()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	t.Cleanup(w.end)
	return w
}

func (w *latestWatch) end() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// stalledRepo is an HTTP external repo whose answers hang while stalled.
type stalledRepo struct {
	srv     *httptest.Server
	stalled atomic.Bool
	hit     chan string // the path of a request that hangs
	release chan struct{}
	once    sync.Once
}

func newStalledRepo(t *testing.T) *stalledRepo {
	dir := t.TempDir()
	if _, err := repogen.Generate(context.Background(), repogen.Options{BaseDir: dir}); err != nil {
		t.Fatalf("empty external repo: %v", err)
	}
	s := &stalledRepo{hit: make(chan string, 16), release: make(chan struct{})}
	s.stalled.Store(true)
	files := http.FileServer(http.Dir(dir))
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.stalled.Load() {
			select {
			case s.hit <- r.URL.Path:
			default:
			}
			select {
			case <-r.Context().Done():
			case <-s.release:
			}
			http.Error(w, "stalled", http.StatusServiceUnavailable)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { s.unstall(); s.srv.Close() })
	return s
}

func (s *stalledRepo) unstall() {
	s.stalled.Store(false)
	s.once.Do(func() { close(s.release) })
}

// TestKojiraRegenKilled: a regeneration of dist-build hangs in its
// createrepo task (the tag's external repo does not answer); kojid is
// killed with SIGKILL meanwhile. Throughout, repos/dist-build/latest
// points only at READY repos (a goroutine checks every 20 ms), and not at
// the killed regeneration's repo while it is INIT. kojid restarts
// (--force-lock), frees the tasks the hub thinks it runs, and the newRepo
// task runs again: it finishes the repo it began (not a second one that
// would get the first run's createrepo results), which ends READY with the
// content of its own event, and `latest` switches to it; a later request
// ends READY too.
func TestKojiraRegenKilled(t *testing.T) {
	bf := newBuildFarm(t, "sqlite")
	ctx := context.Background()
	bf.kojira.stop(syscall.SIGTERM, 20*time.Second)
	// the killed repo must not be marked PROBLEM before kojid is back
	kr := bf.ownKojira(t, "kojira (init_timeout 300 s)", "init_timeout = 300\n", true)
	logHas(t, kr, 30*time.Second, "msg=active")

	newRepo := func() int64 {
		t.Helper()
		return asInt(must(t, bf, "newRepo", "dist-build"))
	}
	repoOf := func(task int64) int64 {
		t.Helper()
		res, err := bf.admin.Call(ctx, "getTaskResult", task)
		if err != nil {
			t.Fatalf("newRepo task %d: %v", task, err)
		}
		return asInt(asList(res)[0])
	}
	// the tag has a package, so that the repos are not empty (and report progress)
	bf.buildOK(t, "hello", nil)
	first := newRepo()
	if info := bf.wait(t, first, 2*time.Minute); asInt(info["state"]) != 2 {
		t.Fatalf("first newRepo task %d ended in state %v", first, info["state"])
	}
	repoA := repoOf(first)
	if l := bf.latestLink("dist-build"); l != strconv.FormatInt(repoA, 10) {
		t.Fatalf("latest -> %q after repo %d, want it", l, repoA)
	}
	w := watchLatest(t, bf, client(t, bf.url, "kojiadmin", "adminpw"), "dist-build")

	ext := newStalledRepo(t)
	must(t, bf, "createExternalRepo", "stalled", ext.srv.URL+"/")
	must(t, bf, "addExternalRepoToTag", "dist-build", "stalled", 5, kojiclient.Kw{"merge_mode": "koji"})
	regen := newRepo()
	select {
	case p := <-ext.hit:
		t.Logf("createrepo hangs fetching %s of the external repo", p)
	case <-time.After(2 * time.Minute):
		t.Fatalf("the createrepo task of newRepo %d never fetched the external repo", regen)
	}
	var repoB int64
	for _, r := range bf.tagRepos(t, "dist-build") {
		if r.task == regen {
			repoB = r.id
		}
	}
	if repoB == 0 || bf.repoState(t, repoB) != repoStInit {
		t.Fatalf("no INIT repo of newRepo task %d: %+v", regen, bf.tagRepos(t, "dist-build"))
	}
	// The hit may be kojira's own check of the external repo's timestamp
	// (check_external_repos), before kojid opened the createrepo task.
	var cr int64
	waitFor(t, time.Minute, fmt.Sprintf("newRepo %d's createrepo task to be OPEN while the external repo hangs", regen), func() bool {
		for _, c := range bf.children(t, regen) {
			if c["method"] == "createrepo" {
				cr = asInt(c["id"])
				return asInt(c["state"]) == 1
			}
		}
		return false
	})
	var progress map[string]any
	waitFor(t, 10*time.Second, fmt.Sprintf("kojigo.getRepoProgress(%d) to show the createrepo started", repoB), func() bool {
		progress = asMap(must(t, bf, "kojigo.getRepoProgress", repoB))
		return progress != nil && asInt(progress["total"]) > 0
	})
	t.Logf("repo %d (createrepo task %d) progress %v", repoB, cr, progress)
	if l := bf.latestLink("dist-build"); l != strconv.FormatInt(repoA, 10) {
		t.Errorf("latest -> %q while repo %d is being made, want the previous %d", l, repoB, repoA)
	}

	killed := time.Now()
	bf.kojid.cmd.Process.Signal(syscall.SIGKILL)
	<-bf.kojid.done
	ext.unstall()
	time.Sleep(2 * time.Second) // kojira's passes see the killed regeneration
	if l := bf.latestLink("dist-build"); l != strconv.FormatInt(repoA, 10) {
		t.Errorf("latest -> %q after kojid was killed, want still %d", l, repoA)
	}
	if st := bf.repoState(t, repoB); st != repoStInit {
		t.Errorf("repo %d state %d right after kojid was killed, want INIT", repoB, st)
	}
	// the tag changes before kojid is back: the regeneration that ends
	// READY must have the tag's content at its own event (without hello)
	must(t, bf, "untagBuild", "dist", builtNVR(t, bf, "hello"))

	bf.startKojid(t)
	info := bf.wait(t, regen, 2*time.Minute)
	if asInt(info["state"]) != 2 {
		res, err := bf.admin.Call(ctx, "getTaskResult", regen)
		t.Fatalf("newRepo task %d ended in state %v after kojid's restart: %v %v", regen, info["state"], res, err)
	}
	// run again, the newRepo task finishes the repo its killed run began
	// (its createrepo subtasks, found again by label, are made for it):
	// READY with the content of its own event, hello included
	if got := repoOf(regen); got != repoB {
		t.Fatalf("the restarted newRepo %d made repo %d, want the repo %d it began before the kill", regen, got, repoB)
	}
	t.Logf("newRepo %d finished repo %d after the restart, %v after the kill", regen, repoB, time.Since(killed).Round(100*time.Millisecond))
	if st := bf.repoState(t, repoB); st != repoStReady {
		t.Errorf("repo %d state %d, want READY", repoB, st)
	}
	for _, c := range asList(must(t, bf, "getTaskChildren", regen, true)) {
		m := asMap(c)
		if req := asList(m["request"]); m["method"] == "createrepo" && (len(req) == 0 || asInt(req[0]) != repoB) {
			t.Errorf("createrepo task %v of newRepo %d was made for repo %v, not %d", m["id"], regen, req, repoB)
		}
	}
	waitFor(t, 10*time.Second, fmt.Sprintf("latest to point at repo %d", repoB), func() bool {
		return bf.latestLink("dist-build") == strconv.FormatInt(repoB, 10)
	})

	// a regeneration after all this, through kojira (a request), ends
	// READY too, without hello
	v := asMap(must(t, bf, "repo.request", "dist-build", kojiclient.Kw{"force": true}))
	t.Logf("repo.request: request %v", asMap(v["request"])["id"])
	waitFor(t, 2*time.Minute, "a READY repo newer than "+strconv.FormatInt(repoB, 10), func() bool {
		for _, r := range bf.tagRepos(t, "dist-build") {
			if r.id > repoB && r.state == repoStReady && bf.latestLink("dist-build") == strconv.FormatInt(r.id, 10) {
				return true
			}
		}
		return false
	})

	w.end()
	w.mu.Lock()
	defer w.mu.Unlock()
	t.Logf("latest polled %d times; targets in turn: %v", w.polls, w.targets)
	if len(w.violations) > 0 {
		t.Errorf("latest pointed at a repo that was not READY %d times: %v", len(w.violations), w.violations[:min(len(w.violations), 10)])
	}
}

// TestKojiraTwoProcesses: two kojira processes on the same hub and topdir
// with the same user. The second, without --force-lock, waits as a standby
// while the first is active, also past lock_timeout (the first's heartbeat
// is fresh); once the first is killed with SIGKILL the second takes over
// within lock_timeout (plus a pass), and repos are made again: a build,
// which waits for a repo made on request, completes.
func TestKojiraTwoProcesses(t *testing.T) {
	bf := newBuildFarm(t, "sqlite")
	bf.kojira.stop(syscall.SIGTERM, 20*time.Second)
	const lockTimeout = 5 * time.Second
	conf := fmt.Sprintf("lock_timeout = %d\n", int(lockTimeout/time.Second))
	a := bf.ownKojira(t, "kojira-a", conf, true)
	logHas(t, a, 30*time.Second, "msg=active")
	b := bf.ownKojira(t, "kojira-b", conf, false)
	logHas(t, b, 30*time.Second, "waiting as a standby")

	heartbeat := func() string {
		data, _ := os.ReadFile(filepath.Join(bf.topdir, "repos", ".kojira-heartbeat"))
		return string(data)
	}
	pidA, pidB := fmt.Sprintf(" pid %d\n", a.cmd.Process.Pid), fmt.Sprintf(" pid %d\n", b.cmd.Process.Pid)
	// past lock_timeout, the standby stays one
	deadline := time.Now().Add(lockTimeout + 3*time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(b.out.String(), "msg=active") {
			t.Fatalf("kojira-b became active while kojira-a runs")
		}
		if hb := heartbeat(); !strings.Contains(hb, pidA) {
			t.Fatalf("heartbeat %q does not name kojira-a (%s)", hb, strings.TrimSpace(pidA))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := len(bf.tagRepos(t, "dist-build")); n != 0 {
		t.Fatalf("dist-build has %d repos before any build", n)
	}

	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.done
	killed := time.Now()
	logHas(t, b, lockTimeout+15*time.Second, "msg=active")
	took := time.Since(killed)
	t.Logf("kojira-b active %v after kojira-a was killed (lock_timeout %v)", took.Round(100*time.Millisecond), lockTimeout)
	if took > lockTimeout+3*time.Second {
		t.Errorf("kojira-b took over after %v, want within lock_timeout %v and a pass", took, lockTimeout)
	}
	if !strings.Contains(b.out.String(), "the active kojira is silent: taking over") {
		t.Errorf("kojira-b's log does not say why it took over")
	}
	waitFor(t, 5*time.Second, "the heartbeat to name kojira-b", func() bool { return strings.Contains(heartbeat(), pidB) })

	t0 := time.Now()
	bf.buildOK(t, "hello", nil)
	t.Logf("build of hello (its repo made on kojira-b's request handling) in %v", time.Since(t0).Round(time.Second))
	var ready int
	for _, r := range bf.tagRepos(t, "dist-build") {
		if r.state == repoStReady {
			ready++
		}
	}
	if ready == 0 {
		t.Errorf("no READY repo of dist-build after the build: %+v", bf.tagRepos(t, "dist-build"))
	}
}
