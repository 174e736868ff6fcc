package kojira

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strings"
	"time"

	"kojigo/repogen"
)

// externalFetchTimeout bounds the download of one external repomd.xml
// (Koji's kojira: requests.get(timeout=5), a timeout per socket operation;
// kojigo bounds the whole download, and the check runs beside the passes).
const externalFetchTimeout = 30 * time.Second

// externalChecker is Koji's check_external thread (check_external_repos):
// its own loop beside the passes, every sleeptime, so that a slow external
// repo never delays them. Only its goroutine touches it.
type externalChecker struct {
	d       *daemon
	log     *slog.Logger
	timeout time.Duration
	warned  map[string]string // url -> last warning, so a broken repo is not reported every loop
}

func newExternalChecker(d *daemon) *externalChecker {
	return &externalChecker{d: d, log: d.log.With("thread", "check_external"), timeout: externalFetchTimeout, warned: map[string]string{}}
}

// loop checks the external repos until ctx ends.
func (x *externalChecker) loop(ctx context.Context) {
	x.log.Info("checking external repos", "every", x.d.cfg.SleepTime)
	for {
		if err := x.check(ctx); err != nil && ctx.Err() == nil {
			x.log.Warn("external repo check failed", "err", err)
		}
		if !sleep(ctx, jitter(x.d.cfg.SleepTime)) {
			return
		}
	}
}

// extRepo is an external repo some tag uses.
type extRepo struct {
	ID   int64
	Name string
	URL  string
}

// check is Koji's checkExternalRepos: every external repo some tag uses
// (getTagExternalRepos), each URL with $arch expanded for every host arch
// (getAllArches), has its repodata/repomd.xml read; the newest <timestamp>
// (across arches) is recorded with repo.setExternalRepoData(id,
// {"max_ts": ts}) when newer than the one recorded. An error about one
// repo is logged and the others are checked; the error returned is about
// the hub calls shared by all of them.
func (x *externalChecker) check(ctx context.Context) error {
	v, err := x.d.hub.Call(ctx, "getTagExternalRepos")
	if err != nil {
		return fmt.Errorf("getTagExternalRepos: %w", err)
	}
	list, _ := asList(v)
	repos := map[int64]extRepo{}
	for _, e := range list {
		m := asMap(e)
		id, ok := asInt(m["external_repo_id"])
		if !ok {
			continue
		}
		if _, seen := repos[id]; !seen {
			name, _ := m["external_repo_name"].(string)
			url, _ := m["url"].(string)
			repos[id] = extRepo{ID: id, Name: name, URL: url}
		}
	}
	if len(repos) == 0 {
		x.log.Debug("no tag uses an external repo")
		return nil
	}
	var arches []string
	needArches := false
	for _, r := range repos {
		needArches = needArches || strings.Contains(r.URL, "$arch")
	}
	if needArches {
		v, err := x.d.hub.Call(ctx, "getAllArches")
		if err != nil {
			return fmt.Errorf("getAllArches: %w", err)
		}
		l, _ := asList(v)
		for _, a := range l {
			if s, ok := a.(string); ok && s != "" {
				arches = append(arches, s)
			}
		}
		sort.Strings(arches)
		if len(arches) == 0 {
			x.warnOnce("$arch", "No arches reported by hub. Are any hosts enabled? Unable to check external repos containing $arch")
		}
	}
	ids := make([]int64, 0, len(repos))
	for id := range repos {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	tsCache := map[string]int64{}
	for _, id := range ids {
		if err := x.checkRepo(ctx, repos[id], arches, tsCache); err != nil {
			if ctx.Err() != nil || sessionLost(err) {
				return err
			}
			x.log.Warn("external repo not updated", "external_repo", repos[id].Name, "id", id, "err", err)
		}
	}
	return nil
}

// checkRepo is Koji's checkExternalRepo for one repo.
func (x *externalChecker) checkRepo(ctx context.Context, r extRepo, arches []string, tsCache map[string]int64) error {
	urls := []string{r.URL}
	if strings.Contains(r.URL, "$arch") {
		if len(arches) == 0 {
			return nil // warned above
		}
		urls = urls[:0]
		for _, a := range arches {
			urls = append(urls, strings.ReplaceAll(r.URL, "$arch", a))
		}
	}
	v, err := x.d.hub.Call(ctx, "repo.getExternalRepoData", r.ID)
	if err != nil {
		return fmt.Errorf("repo.getExternalRepoData: %w", err)
	}
	var orig int64
	if n, ok := asFloat(asMap(v)["max_ts"]); ok {
		orig = int64(n)
	}
	var newest int64
	for _, u := range urls {
		ts, cached := tsCache[u]
		if !cached {
			x.log.Debug("checking external url", "external_repo", r.Name, "url", u)
			ts, err = repogen.RepomdTimestamp(ctx, nil, u, x.timeout)
			switch {
			case err == nil:
				delete(x.warned, "read "+u)
			case ctx.Err() != nil:
				return ctx.Err()
			case errors.Is(err, fs.ErrNotExist):
				// every host arch is tried: a missing one is normal
				x.log.Debug("external repo url not found", "external_repo", r.Name, "url", u)
			default:
				x.warnOnce("read "+u, "unable to read timestamp for external repo", "external_repo", r.Name, "err", err)
			}
			tsCache[u] = ts
		}
		newest = max(newest, ts)
	}
	if newest > 0 {
		delete(x.warned, "none "+r.URL)
	}
	switch {
	case newest == 0:
		x.warnOnce("none "+r.URL, "unable to determine timestamp for external repo", "external_repo", r.Name, "url", r.URL)
	case newest > orig:
		x.log.Info("updating timestamp for external repo", "external_repo", r.Name, "id", r.ID, "max_ts", newest, "was", orig)
		if _, err := x.d.hub.Call(ctx, "repo.setExternalRepoData", r.ID, map[string]any{"max_ts": newest}); err != nil {
			return fmt.Errorf("repo.setExternalRepoData: %w", err)
		}
	default:
		x.log.Debug("external repo not newer than recorded", "external_repo", r.Name, "max_ts", newest, "recorded", orig)
	}
	return nil
}

// warnOnce logs a warning about key, at debug level while it repeats.
func (x *externalChecker) warnOnce(key, msg string, args ...any) {
	sig := msg
	for _, a := range args {
		if e, ok := a.(error); ok {
			sig += ": " + e.Error()
		}
	}
	if x.warned[key] == sig {
		x.log.Debug(msg, args...)
		return
	}
	x.warned[key] = sig
	x.log.Warn(msg, args...)
}
