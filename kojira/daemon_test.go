package kojira

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kojigo/internal/kojixml"
)

// fakeHub answers calls with handlers per method and records them.
type fakeHub struct {
	mu       sync.Mutex
	calls    []fakeCall
	handlers map[string]func(args []any) (any, error)
}

type fakeCall struct {
	method string
	args   []any
}

func newFakeHub() *fakeHub {
	fh := &fakeHub{handlers: map[string]func([]any) (any, error){}}
	for _, m := range []string{"repo.updateEndEvents", "repo.autoRequests", "repo.checkQueue", "repoExpire", "repoProblem"} {
		fh.answer(m, nil)
	}
	fh.answer("repo.query", []any{})
	fh.answer("getBuildTargets", []any{})
	fh.answer("repoDelete", int64(0))
	return fh
}

func (fh *fakeHub) on(method string, fn func(args []any) (any, error)) {
	fh.mu.Lock()
	defer fh.mu.Unlock()
	fh.handlers[method] = fn
}

func (fh *fakeHub) answer(method string, v any) {
	fh.on(method, func([]any) (any, error) { return v, nil })
}

func (fh *fakeHub) Call(ctx context.Context, method string, args ...any) (any, error) {
	fh.mu.Lock()
	fh.calls = append(fh.calls, fakeCall{method, args})
	h := fh.handlers[method]
	fh.mu.Unlock()
	if h == nil {
		return nil, kojixml.Errorf(kojixml.GenericError, "Invalid method: %s", method)
	}
	return h(args)
}

func (fh *fakeHub) methods() []string {
	fh.mu.Lock()
	defer fh.mu.Unlock()
	var out []string
	for _, c := range fh.calls {
		out = append(out, c.method)
	}
	return out
}

// called returns the first arguments of the calls of method.
func (fh *fakeHub) called(method string) []any {
	fh.mu.Lock()
	defer fh.mu.Unlock()
	var out []any
	for _, c := range fh.calls {
		if c.method == method && len(c.args) > 0 {
			out = append(out, c.args[0])
		}
	}
	return out
}

func testConfig(t testing.TB) Config {
	t.Helper()
	c := DefaultConfig()
	c.Server = "http://hub.invalid/kojihub"
	c.User, c.Password = "kojira", "pw"
	c.TopDir = t.TempDir()
	c.SleepTime = 10 * time.Second
	c.LockTimeout = time.Minute
	c.CheckExternalRepos = false // its own goroutine: tested in external_test.go
	return c
}

// runPasses runs Run for n passes (the fake clock and sleep do not wait)
// and returns the waits it asked for and Run's error.
func runPasses(t testing.TB, cfg Config, hub Hub, n int, now time.Time) ([]time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var waits []time.Duration
	sleep := func(ctx context.Context, d time.Duration) bool {
		waits = append(waits, d)
		if len(waits) >= n {
			cancel()
			return false
		}
		return true
	}
	err := Run(ctx, cfg, hub, Options{Now: func() time.Time { return now }, Sleep: sleep, Logger: testLogger(t)})
	return waits, err
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestPassCallsInOrder(t *testing.T) {
	fh := newFakeHub()
	waits, err := runPasses(t, testConfig(t), fh, 2, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pass := []string{"repo.updateEndEvents", "repo.autoRequests", "repo.checkQueue", "repo.query", "getBuildTargets"}
	if got, want := fh.methods(), append(slices.Clone(pass), pass...); !slices.Equal(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
	for _, w := range waits {
		if w < 9*time.Second || w > 11*time.Second {
			t.Errorf("wait %v, want sleeptime 10s ±10%%", w)
		}
	}
	q := fh.called("repo.query")[0].([]any)[0].([]any)
	if q[0] != "state" || q[1] != "!=" || q[2] != int64(repoDeleted) {
		t.Errorf("repo.query clause = %v, want state != DELETED", q)
	}
}

func TestBackoffOnHubErrors(t *testing.T) {
	fh := newFakeHub()
	fails := 0
	fh.on("repo.checkQueue", func([]any) (any, error) {
		if fails < 3 {
			fails++
			return nil, errors.New("connection refused")
		}
		return nil, nil
	})
	waits, err := runPasses(t, testConfig(t), fh, 5, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// 1s, 2s, 4s (±10%) after failures, then sleeptime 10s again
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range waits {
		if float64(w) < 0.89*float64(want[i]) || float64(w) > 1.11*float64(want[i]) {
			t.Errorf("wait %d = %v, want %v ±10%%", i, w, want[i])
		}
	}
	// a failed call stops the pass: nothing after checkQueue
	m := fh.methods()
	if m[2] != "repo.checkQueue" || m[3] != "repo.updateEndEvents" {
		t.Errorf("calls after a failure = %v", m[:6])
	}
}

func TestRunStopsOnLostSessionOrPermission(t *testing.T) {
	tests := []struct {
		code int
		want error
	}{
		{kojixml.AuthError, ErrLostLock},
		{kojixml.AuthLockError, ErrLostLock},
		{kojixml.ActionNotAllowed, ErrNotAllowed},
	}
	for _, tc := range tests {
		fh := newFakeHub()
		fh.on("repo.autoRequests", func([]any) (any, error) { return nil, kojixml.Errorf(tc.code, "no") })
		_, err := runPasses(t, testConfig(t), fh, 3, time.Now())
		if !errors.Is(err, tc.want) {
			t.Errorf("fault %d: Run = %v, want %v", tc.code, err, tc.want)
		}
	}
}

func ts(now time.Time, ago time.Duration) float64 {
	return float64(now.Add(-ago).UnixMicro()) / 1e6
}

func repoMap(id, tagID int64, tag string, state int64, createEv int64, end any, stateAgo time.Duration, now time.Time) map[string]any {
	return map[string]any{"id": id, "tag_id": tagID, "tag_name": tag, "state": state, "create_event": createEv,
		"end_event": end, "dist": false, "state_ts": ts(now, stateAgo), "creation_ts": ts(now, stateAgo+time.Minute),
		"custom_opts": map[string]any{}, "opts": map[string]any{}, "task_state": nil}
}

func TestPlanDecisions(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cfg := testConfig(t)
	week := 7 * 24 * time.Hour
	p := func(m map[string]any) repoRow {
		r, err := parseRepo(m)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	custom := repoMap(9, 1, "f40-build", repoReady, 95, nil, 8*24*time.Hour, now)
	custom["custom_opts"] = map[string]any{"debuginfo": true}
	failedInit := repoMap(12, 3, "other", repoInit, 130, nil, time.Minute, now)
	failedInit["task_state"] = int64(taskFailed)
	noTS := repoMap(13, 3, "other", repoInit, 131, nil, 0, now)
	delete(noTS, "creation_ts")
	dist := repoMap(14, 3, "other", repoReady, 140, nil, 8*24*time.Hour, now)
	dist["dist"] = true
	repos := []repoRow{
		// build tag 1 (f40-build): 5 is current, 4 is old and not current
		p(repoMap(4, 1, "f40-build", repoReady, 40, int64(45), 8*24*time.Hour, now)),
		p(repoMap(5, 1, "f40-build", repoReady, 50, nil, 8*24*time.Hour, now)),
		p(custom), // custom options: expired even though end_event is unset
		// build tag 2 (el9-build): the latest (7) is not current but is kept; 6 goes
		p(repoMap(6, 2, "el9-build", repoReady, 60, int64(65), 9*24*time.Hour, now)),
		p(repoMap(7, 2, "el9-build", repoReady, 70, int64(75), 8*24*time.Hour, now)),
		// tag 3 is no build tag: its latest, not current, expires
		p(repoMap(8, 3, "other", repoReady, 80, int64(85), 8*24*time.Hour, now)),
		// not current but young
		p(repoMap(10, 3, "other", repoReady, 100, int64(105), time.Hour, now)),
		// stale INIT, failed INIT, INIT without time, fresh INIT
		p(repoMap(11, 3, "other", repoInit, 120, nil, 3*time.Hour, now)),
		p(failedInit), p(noTS),
		p(repoMap(15, 3, "other", repoInit, 150, nil, time.Minute, now)),
		p(dist),
		// EXPIRED and PROBLEM past and within expired_repo_lifetime
		p(repoMap(16, 3, "other", repoExpired, 20, int64(25), week+time.Hour, now)),
		p(repoMap(17, 3, "other", repoProblem, 21, nil, week+time.Hour, now)),
		p(repoMap(18, 3, "other", repoExpired, 22, int64(25), week-time.Hour, now)),
	}
	got := map[int64]string{}
	for _, a := range plan(repos, map[int64]bool{1: true, 2: true}, now, cfg) {
		got[a.repo.ID] = a.kind
	}
	want := map[int64]string{4: actExpire, 9: actExpire, 6: actExpire, 8: actExpire, 11: actProblem, 12: actProblem,
		13: actProblem, 14: actExpire, 16: actDelete, 17: actDelete}
	for id, k := range want {
		if got[id] != k {
			t.Errorf("repo %d: action %q, want %q", id, got[id], k)
		}
	}
	for id, k := range got {
		if want[id] == "" {
			t.Errorf("repo %d: action %q, want none", id, k)
		}
	}
}

func TestExpireAndDeleteThroughTheHub(t *testing.T) {
	now := time.Now()
	cfg := testConfig(t)
	week := 7 * 24 * time.Hour
	fh := newFakeHub()
	fh.answer("getBuildTargets", []any{map[string]any{"id": int64(1), "name": "f40", "build_tag": int64(1), "dest_tag": int64(9)}})
	fh.answer("repo.query", []any{
		repoMap(4, 1, "f40-build", repoReady, 40, int64(45), 8*24*time.Hour, now),
		repoMap(5, 1, "f40-build", repoReady, 50, int64(55), 8*24*time.Hour, now), // latest of a build tag: kept
		repoMap(3, 1, "f40-build", repoExpired, 30, int64(35), week+time.Hour, now),
		repoMap(2, 1, "f40-build", repoExpired, 20, int64(25), week+time.Hour, now),
	})
	fh.on("repoDelete", func(args []any) (any, error) {
		if args[0] == int64(2) {
			return int64(1), nil // a buildroot still uses it
		}
		return int64(0), nil
	})
	tagDir := filepath.Join(cfg.TopDir, "repos", "f40-build")
	for _, id := range []string{"2", "3", "4", "5"} {
		mkRepoDir(t, filepath.Join(tagDir, id))
	}
	if err := os.Symlink("5", filepath.Join(tagDir, "latest")); err != nil {
		t.Fatal(err)
	}
	if _, err := runPasses(t, cfg, fh, 2, now); err != nil {
		t.Fatal(err)
	}
	if got := fh.called("repoExpire"); !slices.Equal(got, []any{int64(4), int64(4)}) {
		t.Errorf("repoExpire calls %v, want repo 4 each pass", got)
	}
	// 2 is in use: asked once, not again before reference_recheck_period
	if got := fh.called("repoDelete"); !slices.Equal(got, []any{int64(2), int64(3), int64(3)}) {
		t.Errorf("repoDelete calls %v, want 2, 3, 3", got)
	}
	for id, want := range map[string]bool{"2": true, "3": false, "4": true, "5": true} {
		if _, err := os.Lstat(filepath.Join(tagDir, id)); (err == nil) != want {
			t.Errorf("repos/f40-build/%s exists = %v, want %v", id, err == nil, want)
		}
	}
	// the toplink inside the removed repo pointed at topdir: still there
	if _, err := os.Stat(filepath.Join(cfg.TopDir, "keep")); err != nil {
		t.Errorf("topdir content lost through toplink: %v", err)
	}
}

// mkRepoDir makes a repo directory with a toplink to topdir (as the hub does)
// and a file in topdir that must survive the repo's removal.
func mkRepoDir(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "x86_64", "repodata"), 0o755); err != nil {
		t.Fatal(err)
	}
	top := filepath.Dir(filepath.Dir(filepath.Dir(dir)))
	if err := os.WriteFile(filepath.Join(top, "keep"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../..", filepath.Join(dir, "x86_64", "toplink")); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x86_64", "repodata", "repomd.xml"), []byte("<repomd/>"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func setAge(t testing.TB, p string, ago time.Duration) {
	t.Helper()
	mt := time.Now().Add(-ago)
	if err := os.Chtimes(p, mt, mt); err != nil {
		t.Fatal(err)
	}
}

func TestPruneUnknownDirectories(t *testing.T) {
	now := time.Now()
	cfg := testConfig(t)
	old := cfg.ExpiredRepoLifetime + time.Hour
	repos := filepath.Join(cfg.TopDir, "repos")
	tag := filepath.Join(repos, "f40-build")
	for _, id := range []string{"10", "11", "12", "13", "14", "15", "016", "notarepo"} {
		mkRepoDir(t, filepath.Join(tag, id))
		setAge(t, filepath.Join(tag, id), old)
	}
	setAge(t, filepath.Join(tag, "12"), time.Minute) // unknown but fresh (a repoInit not committed yet)
	if err := os.Symlink("13", filepath.Join(tag, "latest")); err != nil {
		t.Fatal(err)
	}
	// a tag directory that is a symlink elsewhere, and dot directories: never entered
	outside := t.TempDir()
	mkRepoDir(t, filepath.Join(outside, "a", "b", "20"))
	setAge(t, filepath.Join(outside, "a", "b", "20"), old)
	if err := os.Symlink(filepath.Join(outside, "a", "b"), filepath.Join(repos, "evil")); err != nil {
		t.Fatal(err)
	}
	mkRepoDir(t, filepath.Join(repos, ".hidden", "21"))
	setAge(t, filepath.Join(repos, ".hidden", "21"), old)

	fh := newFakeHub()
	fh.on("repo.query", func(args []any) (any, error) {
		cl := args[0].([]any)[0].([]any)
		if cl[0] == "state" {
			return []any{repoMap(10, 1, "f40-build", repoReady, 10, nil, time.Hour, now)}, nil
		}
		// ids asked about: 14 is DELETED, 15 belongs to another tag (renamed?), the rest are unknown
		var ids []int64
		for _, x := range cl[2].([]any) {
			ids = append(ids, x.(int64))
		}
		slices.Sort(ids)
		if !slices.Equal(ids, []int64{11, 12, 14, 15}) {
			t.Errorf("repo.query ids = %v, want 11 12 14 15", ids)
		}
		return []any{
			repoMap(14, 1, "f40-build", repoDeleted, 14, nil, time.Minute, now),
			repoMap(15, 2, "other", repoExpired, 15, nil, time.Minute, now),
		}, nil
	})
	if _, err := runPasses(t, cfg, fh, 1, now); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"10": true, "11": false, "12": true, "13": true, "14": false, "15": true, "016": true, "notarepo": true, "latest": true,
	}
	for name, exists := range want {
		if _, err := os.Lstat(filepath.Join(tag, name)); (err == nil) != exists {
			t.Errorf("repos/f40-build/%s exists = %v, want %v", name, err == nil, exists)
		}
	}
	for _, p := range []string{filepath.Join(outside, "a", "b", "20"), filepath.Join(repos, ".hidden", "21")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
	if _, err := os.Stat(heartbeatPath(cfg.TopDir)); err != nil {
		t.Errorf("no heartbeat: %v", err)
	}

	// ignore_stray_repos leaves unknown directories alone
	cfg.IgnoreStrayRepos = true
	mkRepoDir(t, filepath.Join(tag, "30"))
	setAge(t, filepath.Join(tag, "30"), old)
	if _, err := runPasses(t, cfg, newFakeHub(), 1, now); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(tag, "30")); err != nil {
		t.Errorf("ignore_stray_repos: %v", err)
	}
}

func TestTagNamesFromTheHubCannotEscape(t *testing.T) {
	now := time.Now()
	cfg := testConfig(t)
	week := 7 * 24 * time.Hour
	// a directory kojira must never reach: topdir/victim/7 and ../outside/7
	mkRepoDir(t, filepath.Join(cfg.TopDir, "victim", "7"))
	outside := filepath.Join(filepath.Dir(cfg.TopDir), "outside")
	mkRepoDir(t, filepath.Join(outside, "x", "7"))
	t.Cleanup(func() { os.RemoveAll(outside) })
	var rows []any
	for i, name := range []string{"../victim", "..", "../../outside/x", "a/../../victim", ".", "", "..\x00", ".hidden"} {
		rows = append(rows, repoMap(int64(7), int64(i+1), name, repoExpired, 7, nil, week+time.Hour, now))
	}
	fh := newFakeHub()
	fh.answer("repo.query", rows)
	if _, err := runPasses(t, cfg, fh, 1, now); err != nil {
		t.Fatal(err)
	}
	if len(fh.called("repoDelete")) != len(rows) {
		t.Errorf("repoDelete calls = %d, want %d", len(fh.called("repoDelete")), len(rows))
	}
	for _, p := range []string{filepath.Join(cfg.TopDir, "victim", "7"), filepath.Join(outside, "x", "7")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed through a hostile tag name: %v", p, err)
		}
	}
	for _, name := range []string{"f40-build", "a.b+c_d-1"} {
		if err := safeTagDir(name); err != nil {
			t.Errorf("safeTagDir(%q) = %v", name, err)
		}
	}
}

func TestAcquireWaitsThenTakesOverFromASilentHolder(t *testing.T) {
	cfg := testConfig(t)
	cfg.SleepTime = 10 * time.Millisecond
	cfg.LockTimeout = 200 * time.Millisecond
	d := &daemon{cfg: cfg, log: testLogger(t), now: time.Now, ident: "other-host pid 1", warned: map[string]bool{}}
	d.heartbeat()
	lk := &fakeLocker{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// the holder is alive: the standby keeps waiting
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				d.heartbeat()
			}
		}
	}()
	short, cancelShort := context.WithTimeout(ctx, 500*time.Millisecond)
	err := acquire(short, lk, cfg, false, testLogger(t))
	cancelShort()
	close(stop)
	if err == nil || lk.forced() {
		t.Fatalf("acquire with a live holder = %v, forced %v; want it to wait", err, lk.forced())
	}
	if n := lk.count(); n < 5 {
		t.Errorf("exclusiveSession tried %d times in 0.5s, want retries every sleeptime", n)
	}
	// the holder died: its heartbeat ages past lock_timeout, the standby forces
	if err := acquire(ctx, lk, cfg, false, testLogger(t)); err != nil {
		t.Fatal(err)
	}
	if !lk.forced() {
		t.Error("took over without force")
	}
}

func TestAcquireWithoutHeartbeatNeedsForceLock(t *testing.T) {
	cfg := testConfig(t)
	cfg.SleepTime = 10 * time.Millisecond
	cfg.LockTimeout = 30 * time.Millisecond
	lk := &fakeLocker{}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := acquire(ctx, lk, cfg, false, testLogger(t)); err == nil || lk.forced() {
		t.Errorf("acquire = %v, forced %v: a holder without heartbeat was taken over", err, lk.forced())
	}
	if err := acquire(context.Background(), lk, cfg, true, testLogger(t)); err != nil || !lk.forced() {
		t.Errorf("--force-lock: acquire = %v, forced %v", err, lk.forced())
	}
}

// fakeLocker refuses the lock unless forced.
type fakeLocker struct {
	mu     sync.Mutex
	n      int
	gotOne bool
}

func (l *fakeLocker) ExclusiveSession(ctx context.Context, force bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if !force {
		return fmt.Errorf("exclusive session: %w", &kojixml.Fault{Code: kojixml.AuthLockError, String: "Cannot get exclusive session"})
	}
	l.gotOne = true
	return nil
}

func (l *fakeLocker) forced() bool { l.mu.Lock(); defer l.mu.Unlock(); return l.gotOne }
func (l *fakeLocker) count() int   { l.mu.Lock(); defer l.mu.Unlock(); return l.n }
