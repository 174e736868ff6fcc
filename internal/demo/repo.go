package demo

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"kojigo/internal/kojiclient"
)

// repoReady is Koji's READY repo state.
const repoReady = 1

// repoWatch follows the build tag's repo once the sample builds are done:
//
//	builds done --nothing tagged----------------------------------------> done (no repo)
//	            --repo.request(min_event="last")--> a current repo READY --> done
//	                                           \--> request --kojira: newRepo task--> task tree printed
//	request fulfilled (repo READY) --> done: summary, latest, how to read it
//	request inactive without a repo (kojira's retries used up) --> done: gave up
//
// The request is the one `koji regen-repo` makes; kojira's repo.checkQueue
// turns it into a newRepo task owned by kojira, which a builder in the
// createrepo channel runs (one createrepo child per arch). A failed task
// is replaced by the hub up to its RepoRetries, each followed in turn.
type repoWatch struct {
	done   bool
	reqID  int64
	asked  time.Time
	task   int64           // the newRepo task followed
	states map[int64]int64 // task id → last state printed
	faults map[int64]bool  // failed newRepo tasks whose fault was printed
}

// pollRepo advances the repo's watch by one step.
func (w *watcher) pollRepo(ctx context.Context) error {
	r := &w.repo
	if r.states == nil {
		r.states, r.faults = map[int64]int64{}, map[int64]bool{}
	}
	if r.reqID == 0 {
		return w.requestRepo(ctx) // again at the next poll if the hub did not answer
	}
	v, err := w.admin.Call(ctx, "repo.checkRequest", r.reqID)
	if err != nil {
		return fmt.Errorf("repo.checkRequest %d: %w", r.reqID, err)
	}
	m := asMap(v)
	req := asMap(m["request"])
	if id := asInt(req["task_id"]); id != 0 {
		r.task = id
	}
	if r.task != 0 {
		if err := w.pollRepoTask(ctx); err != nil {
			return err
		}
	}
	if repo := asMap(m["repo"]); repo != nil && asInt(repo["state"]) == repoReady {
		w.repoDone(repo, true)
		return nil
	}
	if req != nil && req["active"] == false && req["repo_id"] == nil {
		r.done = true
		w.printf("kojigo demo: repo of %s not made: request %d gave up after %d tries; see the newRepo tasks above and the logs in %s",
			BuildTag, r.reqID, asInt(req["tries"]), w.l.logs())
	}
	return nil
}

// requestRepo asks for the build tag's repo as `koji regen-repo` does,
// unless nothing is tagged yet; a repo that is already current is taken
// as it is.
func (w *watcher) requestRepo(ctx context.Context) error {
	r := &w.repo
	tagged, err := w.admin.Call(ctx, "listTagged", Tag)
	if err != nil {
		return fmt.Errorf("listTagged: %w", err)
	}
	if len(asList(tagged)) == 0 {
		r.done = true
		w.printf("repo %s: not requested: no build is tagged into %s", BuildTag, Tag)
		return nil
	}
	v, err := w.admin.Call(ctx, "repo.request", BuildTag, kojiclient.Kw{"min_event": "last"})
	if err != nil {
		return fmt.Errorf("repo.request %s: %w", BuildTag, err)
	}
	m := asMap(v)
	if repo := asMap(m["repo"]); repo != nil {
		w.printf("repo %s: repo %d is current (it has every build tagged so far)", BuildTag, asInt(repo["id"]))
		w.repoDone(repo, false)
		return nil
	}
	req := asMap(m["request"])
	if req == nil {
		return fmt.Errorf("repo.request %s: answer without a repo or a request", BuildTag)
	}
	r.reqID, r.asked = asInt(req["id"]), time.Now()
	if m["duplicate"] == true {
		w.printf("repo %s: following request %d made earlier", BuildTag, r.reqID)
	} else {
		w.printf("repo %s: requested as koji regen-repo does (repo.request %d); kojira makes it a newRepo task within %d s",
			BuildTag, r.reqID, int(kojiraSleep/time.Second))
	}
	return nil
}

// pollRepoTask prints the newRepo task tree's state changes, and once why
// a newRepo task failed (the hub then has kojira make another).
func (w *watcher) pollRepoTask(ctx context.Context) error {
	r := &w.repo
	root, children, err := w.taskTree(ctx, r.task)
	if err != nil {
		return err
	}
	w.printTree(root, children, r.states, BuildTag, "")
	if asInt(root["state"]) == taskFailed && !r.faults[r.task] {
		r.faults[r.task] = true
		if _, err := w.admin.Call(ctx, "getTaskResult", r.task); err != nil {
			w.printf("repo %s: newRepo task %d failed:\n    %s", BuildTag, r.task, firstLines(strings.TrimSpace(faultText(err)), 8))
		}
	}
	return nil
}

// repoDone prints the READY repo: where it is, what is in it, and how to
// read it.
func (w *watcher) repoDone(repo map[string]any, made bool) {
	r := &w.repo
	r.done = true
	id := asInt(repo["id"])
	if r.task == 0 {
		r.task = asInt(repo["task_id"]) // the task that made a repo found current
	}
	latest := filepath.Join(w.l.repos(), BuildTag, "latest")
	target, err := os.Readlink(latest)
	switch {
	case err != nil:
		w.printf("repo %s: repo %d READY; %s: %v", BuildTag, id, latest, err)
	case target != strconv.FormatInt(id, 10):
		w.printf("repo %s: repo %d READY; %s -> %s", BuildTag, id, latest, target)
	default:
		w.printf("repo %s: repo %d READY: %s -> %s", BuildTag, id, latest, target)
	}
	arch := repoArch(filepath.Join(w.l.repos(), BuildTag, strconv.FormatInt(id, 10)), w.arch)
	pkgs, err := repoPackages(filepath.Join(w.l.repos(), BuildTag, strconv.FormatInt(id, 10), arch, "pkglist"))
	what := fmt.Sprintf("with %d packages (%s)", len(pkgs), strings.Join(pkgs, ", "))
	if err != nil {
		what = fmt.Sprintf("(its package list: %v)", err)
	}
	took := ""
	if made && !r.asked.IsZero() {
		took = fmt.Sprintf(", %.1f s after the request", time.Since(r.asked).Seconds())
	}
	w.printf("kojigo demo: repo %d of %s READY %s%s", id, BuildTag, what, took)
	if w.dnf != "" {
		w.printf("kojigo demo:   %s --repofrompath=%s,file://%s --repo=%s list --available",
			filepath.Base(w.dnf), ProfileName, filepath.Join(latest, arch), ProfileName)
	}
	if r.task != 0 {
		w.printf("kojigo demo:   kojictl -p %s --config %s taskinfo -r %d", ProfileName, w.l.clientConf(), r.task)
	}
}

// repoArch is the arch directory of a repo to report: want when the repo
// has it, else its first (the hub names them by canonical arch, e.g.
// armhfp for a build tag of armv7hl).
func repoArch(repoDir, want string) string {
	if isFile(filepath.Join(repoDir, want, "pkglist")) {
		return want
	}
	ents, _ := os.ReadDir(repoDir)
	for _, e := range ents {
		if e.IsDir() && isFile(filepath.Join(repoDir, e.Name(), "pkglist")) {
			return e.Name()
		}
	}
	return want
}

func isFile(p string) bool { fi, err := os.Stat(p); return err == nil && fi.Mode().IsRegular() }

// repoPackages lists the RPMs of one arch of a repo from its pkglist (one
// path a line), as NAME-VERSION-RELEASE.ARCH, sorted.
func repoPackages(pkglist string) ([]string, error) {
	f, err := os.Open(pkglist)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var pkgs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			pkgs = append(pkgs, strings.TrimSuffix(filepath.Base(line), ".rpm"))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", pkglist, err)
	}
	sort.Strings(pkgs)
	return pkgs, nil
}
