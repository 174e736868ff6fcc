package builderd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"kojigo/internal/kojixml"
	"kojigo/repogen"
)

// Repo generation, as Koji's kojid NewRepoTask and CreaterepoTask:
//
//	newRepo(tag, event, src, debuginfo, separate_src, opts)
//	  -> refuse unless <topdir>/repos is readable here
//	  -> host.repoInit: the hub writes repos/<tag>/<id>/<arch>/pkglist (INIT)
//	  -> old repo to update from (createrepo_update): getRepo of the tag,
//	     else tag extra repo.oldrepo_hint, else the nearest parent's
//	  -> createrepo(repo_id, arch, oldrepo) subtask per arch -> wait (failany)
//	       each: repogen on <arch>/pkglist into the task's work dir, with
//	       groups/comps.xml and --update against oldrepo/<arch>/repodata;
//	       progress to kojigo.setRepoProgress; repodata/ uploaded to the
//	       task's directory -> [uploadpath, files]
//	  -> host.repoDone(repo_id, {arch: [uploadpath, files]}): READY, latest
//
// A failed createrepo fails newRepo with its fault; the hub never saw
// repoDone, so the repo stays INIT (kojira marks it PROBLEM) and the tag's
// previous READY repo stays its latest.

// emptyRepoNote is kojid's EMPTY_REPO marker text.
const emptyRepoNote = "This repo is empty because its tag has no content for this arch\n"

// repoProgressEvery is the shortest time between two progress reports of a
// createrepo task.
const repoProgressEvery = time.Second

// checkReposDir refuses (softly: another host may have topdir mounted) a
// repo task on a host that cannot read <topdir>/repos, as Koji's "No access
// to repos dir". kojid only reads there: the hub writes the repos, and the
// builders of a Koji farm usually mount topdir read-only.
func (t *task) checkReposDir() error {
	if t.d.cfg.TopDir == "" {
		return &refusal{soft: true, msg: "No access to repos dir: topdir is not set in kojid.conf"}
	}
	dir := filepath.Join(t.d.cfg.TopDir, "repos")
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return &refusal{soft: true, msg: "No access to repos dir " + dir}
	}
	const rx = 0x4 | 0x1 // R_OK | X_OK
	if err := syscall.Access(dir, rx); err != nil {
		return &refusal{soft: true, msg: fmt.Sprintf("No access to repos dir %s: %v (kojid runs as uid %d)", dir, err, os.Geteuid())}
	}
	return nil
}

// newRepoHandler runs newRepo(tag, event=None, src=None, debuginfo=None,
// separate_src=None, opts=None); the result is [repo_id, event_id].
type newRepoHandler struct{}

func (newRepoHandler) weight(*task) float64 { return 0.1 }

func (newRepoHandler) check(_ context.Context, t *task) error { return t.checkReposDir() }

func (newRepoHandler) run(ctx context.Context, t *task) (any, error) {
	a := t.args()
	tag := a.Any(0, "tag")
	event := a.OptAny(1, "event", nil)
	src := a.OptAny(2, "src", nil)
	debuginfo := a.OptAny(3, "debuginfo", nil)
	separate := a.OptAny(4, "separate_src", nil)
	opts := a.OptMap(5, "opts")
	if err := a.Done(); err != nil {
		return nil, err
	}
	getTagKw := kw("strict", true)
	if event != nil {
		getTagKw["event"] = event
	}
	tinfo, err := callMap(ctx, t.d.hub, "getTag", tag, getTagKw)
	if err != nil {
		return nil, err
	}
	if tinfo == nil {
		return nil, genericErrorf("No such tagInfo: %v", tag)
	}
	tagID, _ := asInt(tinfo["id"])
	tagName := asString(tinfo["name"])
	if err := checkDirName("tag name", tagName); err != nil {
		return nil, err
	}

	// the deprecated options become opts
	legacy := map[string]any{}
	for name, v := range map[string]any{"src": src, "debuginfo": debuginfo, "separate_src": separate} {
		if v != nil {
			legacy[name] = asBool(v)
		}
	}
	var optsArg any
	if opts != nil {
		optsArg = opts
	}
	if len(legacy) > 0 {
		if opts != nil {
			return nil, paramErrorf("opts parameter cannot be combined with legacy options")
		}
		t.log.Warn("the src, debuginfo and separate_src parameters of newRepo are deprecated; use opts")
		optsArg = legacy
	}

	// A task run again (its kojid was killed) finishes the repo it began:
	// its createrepo subtasks, found again by their labels, name that repo,
	// and a second repoInit would publish their metadata as a newer repo.
	repoID, eventID, err := t.earlierRepo(ctx)
	if err != nil {
		return nil, err
	}
	if repoID != 0 {
		t.log.Info("finishing the repo this task began before it was run again", "repo_id", repoID, "tag", tagName, "event", eventID)
	} else {
		initKw := kw("opts", optsArg, "task_id", t.id)
		if event != nil {
			initKw["event"] = event
		}
		v, err := t.d.hub.Call(ctx, "host.repoInit", tagID, initKw)
		if err != nil {
			return nil, fmt.Errorf("host.repoInit: %w", err)
		}
		pair := asList(v)
		var ok1, ok2 bool
		repoID, ok1 = asInt(nth(pair, 0))
		eventID, ok2 = asInt(nth(pair, 1))
		if len(pair) != 2 || !ok1 || !ok2 {
			return nil, fmt.Errorf("host.repoInit: unexpected answer %v", v)
		}
		t.log.Info("repo initialized", "repo_id", repoID, "tag", tagName, "event", eventID)
	}

	repoDir := filepath.Join(t.d.cfg.TopDir, "repos", tagName, strconv.FormatInt(repoID, 10))
	arches, err := repoArches(repoDir)
	if err != nil {
		return nil, err
	}
	oldrepo, err := t.oldRepo(ctx, tinfo)
	if err != nil {
		return nil, err
	}
	var oldArg any
	if oldrepo != nil {
		oldArg = oldrepo
		t.log.Info("updating from an older repo", "old_repo_id", oldrepo["id"], "old_tag_id", oldrepo["tag_id"])
	}

	sub := map[string]int64{}
	ids := make([]int64, 0, len(arches))
	for _, arch := range arches {
		id, err := t.subtask(ctx, "createrepo", []any{repoID, arch, oldArg}, arch, "noarch")
		if err != nil {
			return nil, err
		}
		sub[arch] = id
		ids = append(ids, id)
	}
	data := map[string]any{}
	if len(ids) > 0 {
		results, err := t.wait(ctx, ids, true)
		if err != nil {
			return nil, err
		}
		for _, arch := range arches {
			r := asList(results[sub[arch]])
			if _, ok := nth(r, 1).([]any); len(r) != 2 || asString(r[0]) == "" || !ok {
				return nil, genericErrorf("createrepo task %d (%s) returned %v, not [uploadpath, files]", sub[arch], arch, results[sub[arch]])
			}
			data[arch] = r
		}
	}
	if _, err := t.d.hub.Call(ctx, "host.repoDone", repoID, data); err != nil {
		return nil, fmt.Errorf("host.repoDone: %w", err)
	}
	t.log.Info("repo done", "repo_id", repoID, "tag", tagName, "arches", arches)
	return []any{repoID, eventID}, nil
}

// earlierRepo is the repo still INIT that an earlier run of this task
// began (repo.query by task_id), or 0.
func (t *task) earlierRepo(ctx context.Context) (repoID, eventID int64, err error) {
	v, err := t.d.hub.Call(ctx, "repo.query", []any{[]any{"task_id", "=", t.id}, []any{"state", "=", int64(0)}},
		kw("fields", []any{"id", "create_event"}))
	if err != nil {
		return 0, 0, fmt.Errorf("repo.query: %w", err)
	}
	var found []map[string]any
	for _, r := range asList(v) {
		if m := asMap(r); m != nil {
			found = append(found, m)
		}
	}
	switch len(found) {
	case 0:
		return 0, 0, nil
	case 1:
		id, ok1 := asInt(found[0]["id"])
		ev, ok2 := asInt(found[0]["create_event"])
		if !ok1 || !ok2 {
			return 0, 0, fmt.Errorf("repo.query: unexpected answer %v", v)
		}
		return id, ev, nil
	}
	return 0, 0, genericErrorf("task %d has %d repos in INIT; expected at most one", t.id, len(found))
}

func nth(l []any, i int) any {
	if i < len(l) {
		return l[i]
	}
	return nil
}

// repoArches lists the arch directories repoInit wrote (those with a
// pkglist), sorted.
func repoArches(repoDir string) ([]string, error) {
	if fi, err := os.Stat(repoDir); err != nil || !fi.IsDir() {
		return nil, genericErrorf("Repo directory missing: %s", repoDir)
	}
	ents, err := os.ReadDir(repoDir)
	if err != nil {
		return nil, fmt.Errorf("read repo directory: %w", err)
	}
	var arches []string
	for _, e := range ents {
		if e.Name() == "groups" || !e.IsDir() {
			continue
		}
		if fi, err := os.Stat(filepath.Join(repoDir, e.Name(), "pkglist")); err == nil && fi.Mode().IsRegular() {
			arches = append(arches, e.Name())
		}
	}
	sort.Strings(arches)
	return arches, nil
}

// oldRepo is Koji's get_old_repo: the repo createrepo updates from (its
// getRepo struct plus tag_id), nil when there is none or createrepo_update
// is off. The tag's own latest READY repo first, then those of the tags in
// its extra repo.oldrepo_hint, then the nearest parent's.
func (t *task) oldRepo(ctx context.Context, tinfo map[string]any) (map[string]any, error) {
	if !t.d.cfg.CreaterepoUpdate {
		return nil, nil
	}
	tagID, _ := asInt(tinfo["id"])
	repoOf := func(tagID int64) (map[string]any, error) {
		r, err := callMap(ctx, t.d.hub, "getRepo", tagID)
		if err != nil || r == nil {
			return nil, err
		}
		r["tag_id"] = tagID
		return r, nil
	}
	if r, err := repoOf(tagID); r != nil || err != nil {
		return r, err
	}
	var hints []any
	switch h := asMap(tinfo["extra"])["repo.oldrepo_hint"].(type) {
	case nil:
	case []any:
		hints = h
	default:
		hints = []any{h}
	}
	for _, h := range hints {
		ref, err := callMap(ctx, t.d.hub, "getTag", h, kw("strict", false))
		if err != nil {
			return nil, err
		}
		if ref == nil {
			t.log.Warn("repo.oldrepo_hint refers to an unknown tag", "hint", h)
			continue
		}
		id, _ := asInt(ref["id"])
		if r, err := repoOf(id); r != nil || err != nil {
			return r, err
		}
	}
	v, err := t.d.hub.Call(ctx, "getFullInheritance", tagID)
	if err != nil {
		return nil, fmt.Errorf("getFullInheritance: %w", err)
	}
	links := asList(v)
	sort.SliceStable(links, func(i, j int) bool {
		a, _ := asInt(asMap(links[i])["currdepth"])
		b, _ := asInt(asMap(links[j])["currdepth"])
		return a < b
	})
	for _, l := range links {
		id, ok := asInt(asMap(l)["parent_id"])
		if !ok {
			continue
		}
		if r, err := repoOf(id); r != nil || err != nil {
			return r, err
		}
	}
	return nil, nil
}

// createrepoHandler runs createrepo(repo_id, arch, oldrepo): the metadata
// of one arch of an INIT repo, uploaded to the task's directory; the
// result is [uploadpath, files].
type createrepoHandler struct{}

func (createrepoHandler) weight(*task) float64 { return 1.5 }

func (createrepoHandler) check(_ context.Context, t *task) error { return t.checkReposDir() }

func (createrepoHandler) run(ctx context.Context, t *task) (any, error) {
	a := t.args()
	repoID := a.Int(0, "repo_id")
	arch := a.String(1, "arch")
	oldArg := a.Any(2, "oldrepo")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if !archRE.MatchString(arch) {
		return nil, paramErrorf("createrepo: bad arch %q", arch)
	}
	oldrepo := asMap(oldArg)
	if oldArg != nil && oldrepo == nil {
		return nil, paramErrorf("createrepo: oldrepo must be a repo struct or None, not %T", oldArg)
	}
	rinfo, err := callMap(ctx, t.d.hub, "repoInfo", repoID, kw("strict", true))
	if err != nil {
		return nil, err
	}
	if st, _ := asInt(rinfo["state"]); st != 0 {
		return nil, genericErrorf("Repo %d not in INIT state (got %d)", repoID, st)
	}
	tagName := asString(rinfo["tag_name"])
	if err := checkDirName("tag name", tagName); err != nil {
		return nil, err
	}
	top := filepath.Join(t.d.cfg.TopDir, "repos", tagName, strconv.FormatInt(repoID, 10))
	archDir := filepath.Join(top, arch)
	if fi, err := os.Stat(archDir); err != nil || !fi.IsDir() {
		return nil, genericErrorf("Repo directory missing: %s", archDir)
	}

	log, err := t.logFile("createrepo.log")
	if err != nil {
		return nil, err
	}
	defer log.Close()
	logf := func(format string, args ...any) {
		fmt.Fprintf(log, "%s %s\n", time.Now().UTC().Format("2006-01-02 15:04:05,000"), fmt.Sprintf(format, args...))
	}

	pf, err := os.Open(filepath.Join(archDir, "pkglist"))
	if err != nil {
		return nil, genericErrorf("repo %d: %s/pkglist: %v", repoID, arch, err)
	}
	list, err := repogen.ReadPkglist(pf)
	pf.Close()
	if err != nil {
		return nil, genericErrorf("repo %d: %s/pkglist: %v", repoID, arch, err)
	}
	if list == nil {
		list = []string{} // an empty repo, not "every rpm in the directory"
	}

	// With external repos, createrepo writes the tag's own packages into a
	// pre-merge directory (Koji's name: kojid's buildroots recognise the
	// local packages in pkgorigins by it) and the merge writes repo/.
	out := filepath.Join(t.dir, "repo")
	ext, err := t.externalRepos(ctx, rinfo, arch)
	if err != nil {
		return nil, err
	}
	genOut := out
	if ext != nil {
		genOut = filepath.Join(t.dir, fmt.Sprintf("repo_%d_premerge", repoID))
	}
	for _, d := range []string{out, genOut} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, noSpace(fmt.Errorf("create output directory: %w", err), t.d.cfg.WorkDir)
		}
	}
	opts := repogen.Options{
		BaseDir:   archDir,
		Packages:  list,
		OutputDir: genOut,
		Database:  true, // Koji runs createrepo_c -d
		// The cache travels to the repo's repodata with the other files.
		UpdateCache: t.d.cfg.CreaterepoCache,
		Logger:      slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	if comps := filepath.Join(top, "groups", "comps.xml"); isRegular(comps) {
		opts.GroupFile = comps
	}
	if len(list) > 0 && oldrepo != nil && t.d.cfg.CreaterepoUpdate {
		if dir, err := t.oldRepodata(ctx, oldrepo, arch); err != nil {
			return nil, err
		} else if dir != "" {
			opts.Update, opts.UpdateFrom, opts.SkipStat = true, dir, t.d.cfg.CreaterepoSkipStat
		}
	}

	logf("repo %d (%s) arch %s: %d packages, groups %s, update from %s", repoID, tagName, arch, len(list), orNone(opts.GroupFile), orNone(opts.UpdateFrom))
	progress := t.startRepoProgress(ctx, repoProgressEvery)
	progress.set(0, len(list))
	opts.Progress = progress.set

	// Without a merge, the engine's files are the repodata: each goes to
	// the hub as soon as the engine has finished it (through a hard link,
	// since the engine's directory is renamed at its end), while it goes
	// on with the others.
	upStart := time.Now()
	up := t.startUploads(ctx, true)
	defer up.wait() // on the ways out before the end
	if ext == nil {
		staged := filepath.Join(t.dir, "upload")
		if err := os.MkdirAll(staged, 0o755); err != nil {
			return nil, noSpace(fmt.Errorf("create upload directory: %w", err), t.d.cfg.WorkDir)
		}
		opts.Finished = func(path string) {
			link := filepath.Join(staged, filepath.Base(path))
			if os.Link(path, link) == nil {
				up.add(link) // what is not added goes after the engine
			}
		}
	}
	res, err := repogen.Generate(ctx, opts)
	if err != nil {
		progress.finish()
		logf("failed: %v", err)
		var bad *repogen.BadPackagesError
		if errors.As(err, &bad) {
			return nil, genericErrorf("failed to create repo %d (%s) for %s: %v", repoID, tagName, arch, err)
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, noSpace(genericErrorf("failed to create repo %d (%s) for %s: %v", repoID, tagName, arch, err), t.d.cfg.WorkDir)
	}
	logf("done: %d packages (%d read, %d reused) in %v", res.Packages, res.Read, res.Reused, res.Timings.Total.Round(time.Millisecond))
	if c := res.Cache; c.Chunks+c.Blocks > 0 {
		logf("compressed output copied from the previous repo: %d of %d XML chunks, %d of %d database blocks; %d databases updated in place",
			c.ChunksReused, c.Chunks, c.BlocksReused, c.Blocks, c.DatabasesUpdated)
	}
	if ext != nil {
		ext.local, ext.out, ext.groups = genOut, out, opts.GroupFile
		ext.blocklist = filepath.Join(archDir, "blocklist")
		mres, err := t.mergeRepos(ctx, ext, arch, progress)
		progress.finish()
		if err != nil {
			return nil, err
		}
		res.RepodataDir = mres.RepodataDir
	} else {
		progress.finish()
	}

	datadir := res.RepodataDir
	if datadir == "" {
		datadir = filepath.Join(out, "repodata")
	}
	if len(list) == 0 && ext == nil { // as Koji: a merged repo is not marked empty
		if err := os.WriteFile(filepath.Join(datadir, "EMPTY_REPO"), []byte(emptyRepoNote), 0o644); err != nil {
			return nil, noSpace(fmt.Errorf("write EMPTY_REPO: %w", err), t.d.cfg.WorkDir)
		}
	}
	ents, err := os.ReadDir(datadir)
	if err != nil {
		return nil, fmt.Errorf("read repodata: %w", err)
	}
	// The rest (repomd.xml, what the engine did not report, a merge's
	// files), largest first.
	var rest []os.FileInfo
	var published []any
	upBytes, early := int64(0), 0
	for _, e := range ents {
		fi, err := e.Info()
		if !e.Type().IsRegular() || err != nil {
			continue
		}
		published = append(published, e.Name())
		upBytes += fi.Size()
		if up.has(e.Name()) {
			early++
		} else {
			rest = append(rest, fi)
		}
	}
	slices.SortStableFunc(rest, func(a, b os.FileInfo) int { return cmp.Compare(b.Size(), a.Size()) })
	for _, fi := range rest {
		if err := up.add(filepath.Join(datadir, fi.Name())); err != nil {
			return nil, err
		}
	}
	if _, err := up.wait(); err != nil {
		return nil, err
	}
	logf("uploaded %d files (%.1f MB; %d while the engine ran) to the hub in %v from the engine's start", len(published), float64(upBytes)/1e6, early, time.Since(upStart).Round(time.Millisecond))
	return []any{t.uploadDir(), published}, nil
}

// mergePlan is the merge step of a createrepo task (Koji's merge_repos):
// the tag's external repos for the arch, in priority order.
type mergePlan struct {
	mode                          repogen.MergeMode
	repos                         []repogen.ExternalRepo
	local, out, groups, blocklist string
}

// externalRepos is the merge plan for the tag's external repos at the
// repo's create event, nil when it has none. As in Koji, an external repo
// whose arches do not include arch is left out, and a tag whose external
// repos have different merge modes cannot be merged.
func (t *task) externalRepos(ctx context.Context, rinfo map[string]any, arch string) (*mergePlan, error) {
	v, err := t.d.hub.Call(ctx, "getExternalRepoList", rinfo["tag_id"], kw("event", rinfo["create_event"]))
	if err != nil {
		return nil, fmt.Errorf("getExternalRepoList: %w", err)
	}
	list := asList(v)
	if len(list) == 0 {
		return nil, nil
	}
	modes := map[string]bool{}
	for _, e := range list {
		m := asString(asMap(e)["merge_mode"])
		if m == "" {
			m = string(repogen.MergeKoji)
		}
		modes[m] = true
	}
	if len(modes) > 1 {
		names := make([]string, 0, len(modes))
		for m := range modes {
			names = append(names, m)
		}
		sort.Strings(names)
		return nil, genericErrorf("Found multiple merge modes for external repos: %s (give every external repo of the tag the same merge mode)", strings.Join(names, ", "))
	}
	p := &mergePlan{}
	for m := range modes {
		if p.mode, err = repogen.ParseMergeMode(m); err != nil {
			return nil, genericErrorf("external repos: %v", err)
		}
	}
	for _, e := range list {
		m := asMap(e)
		name := asString(m["external_repo_name"])
		if arches := asString(m["arches"]); arches != "" && !slices.Contains(strings.Fields(arches), arch) {
			t.log.Info("external repo not merged: not for this arch", "external_repo", name, "arches", arches, "arch", arch)
			continue
		}
		url := asString(m["url"])
		if url == "" {
			return nil, genericErrorf("external repo %q has no url", name)
		}
		p.repos = append(p.repos, repogen.ExternalRepo{Name: name, URL: url})
	}
	return p, nil
}

// mergeRepos merges the external repos of p into the repo createrepo
// made, logging to mergerepos.log (Koji's name) and reporting progress.
func (t *task) mergeRepos(ctx context.Context, p *mergePlan, arch string, progress *repoProgress) (repogen.MergeResult, error) {
	log, err := t.logFile("mergerepos.log")
	if err != nil {
		return repogen.MergeResult{}, err
	}
	defer log.Close()
	logf := func(format string, args ...any) {
		fmt.Fprintf(log, "%s %s\n", time.Now().UTC().Format("2006-01-02 15:04:05,000"), fmt.Sprintf(format, args...))
	}
	logf("merging %d external repos into %s (mode %s)", len(p.repos), arch, p.mode)
	for i, r := range p.repos {
		logf("  %d. %s %s", i+1, r.Name, strings.ReplaceAll(r.URL, "$arch", arch))
	}
	opts := repogen.MergeOptions{
		LocalRepo: p.local,
		External:  p.repos,
		Mode:      p.mode,
		Arch:      arch,
		OutputDir: p.out,
		WorkDir:   filepath.Join(t.dir, "merge-work"),
		GroupFile: p.groups,
		Database:  true,
		Progress:  progress.set,
		Logger:    slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	if p.mode != repogen.MergeBare && isRegular(p.blocklist) {
		opts.BlocklistFile = p.blocklist
	}
	res, err := repogen.Merge(ctx, opts)
	if err != nil {
		logf("failed: %v", err)
		if ctx.Err() != nil {
			return res, context.Cause(ctx)
		}
		if errors.Is(err, repogen.ErrExternalRepo) {
			return res, genericErrorf("failed to merge repos: %v", err)
		}
		return res, noSpace(genericErrorf("failed to merge repos: %v", err), t.d.cfg.WorkDir)
	}
	logf("done: %d packages in %v", res.Packages, res.Took.Round(time.Millisecond))
	for _, r := range res.Repos {
		logf("  %s: %d of %d packages merged", r.URL, r.Kept, r.Packages)
	}
	return res, nil
}

// oldRepodata is the repodata directory of oldrepo's arch, or "" (with a
// warning) when it is gone: the run then reads every package.
func (t *task) oldRepodata(ctx context.Context, oldrepo map[string]any, arch string) (string, error) {
	id, ok := asInt(oldrepo["id"])
	if !ok {
		return "", paramErrorf("createrepo: oldrepo has no id")
	}
	// the old repo may belong to another tag (a hint, a parent): ask its name
	info, err := callMap(ctx, t.d.hub, "repoInfo", id, kw("strict", true))
	if err != nil {
		return "", err
	}
	name := asString(info["tag_name"])
	if err := checkDirName("tag name", name); err != nil {
		return "", err
	}
	dir := filepath.Join(t.d.cfg.TopDir, "repos", name, strconv.FormatInt(id, 10), arch, "repodata")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.log.Warn("old repodata is missing, reading every package", "dir", dir)
		return "", nil
	}
	return dir, nil
}

// paramErrorf returns a ParameterError fault.
func paramErrorf(format string, args ...any) error {
	return kojixml.Errorf(kojixml.ParameterError, format, args...)
}

func isRegular(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// checkDirName refuses a name from the hub that is not one path element.
func checkDirName(what, name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return genericErrorf("bad %s %q", what, name)
	}
	return nil
}

// repoProgress sends a createrepo task's packages done and total to the
// hub (kojigo.setRepoProgress) from its own goroutine, at most once per
// interval, so that the engine's callback never waits on the network. A
// hub that answers with a fault (a stock Koji hub has no such method) is
// not asked again; a hub that cannot be reached is asked at the next
// interval.
type repoProgress struct {
	t     *task
	every time.Duration
	stop  chan struct{}
	done  chan struct{}

	mu         sync.Mutex
	cur, total int
	changed    bool
	off        bool
}

// startRepoProgress starts the reporter; finish must be called.
func (t *task) startRepoProgress(ctx context.Context, every time.Duration) *repoProgress {
	p := &repoProgress{t: t, every: every, stop: make(chan struct{}), done: make(chan struct{})}
	go p.run(ctx)
	return p
}

// set records the progress; the engine calls it after each package.
func (p *repoProgress) set(done, total int) {
	p.mu.Lock()
	if done != p.cur || total != p.total {
		p.cur, p.total, p.changed = done, total, true
	}
	p.mu.Unlock()
}

// finish sends the last progress at once and stops the reporter: waiting
// out the interval would hold the repo back by up to a second.
func (p *repoProgress) finish() {
	close(p.stop)
	<-p.done
}

func (p *repoProgress) run(ctx context.Context) {
	defer close(p.done)
	timer := time.NewTimer(0) // the first report (the total) goes at once
	defer timer.Stop()
	final := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.stop:
			final = true
		case <-timer.C:
		}
		p.send(ctx)
		if final {
			return
		}
		timer.Reset(p.every)
	}
}

// pending reports whether there is progress to send.
func (p *repoProgress) pending() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.changed && !p.off
}

func (p *repoProgress) send(ctx context.Context) {
	p.mu.Lock()
	if p.off || !p.changed {
		p.mu.Unlock()
		return
	}
	cur, total := p.cur, p.total
	p.changed = false
	p.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := p.t.d.hub.Call(cctx, "kojigo.setRepoProgress", p.t.id, int64(cur), int64(total))
	if err == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := isFault(err); ok {
		p.off = true
		p.t.log.Info("the hub does not take repo progress; not reporting it", "err", firstLine(err.Error()))
		return
	}
	if !p.changed { // retry this value at the next interval
		p.changed = true
	}
	p.t.log.Debug("repo progress not sent", "err", err)
}
