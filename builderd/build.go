package builderd

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"kojigo/internal/repowatch"
)

// buildHandler is the parent of a build: build(src, target, opts).
//
//	target -> SRPM (src under work/, or a buildSRPMFromSCM subtask)
//	       -> arch list (tag arches x BuildArch/ExclusiveArch - ExcludeArch)
//	       -> host.initBuild (not scratch)
//	       -> buildArch subtask per arch -> wait
//	       -> host.completeBuild (not scratch) -> tagBuild subtask (not skip_tag)
//
// Subtasks carry labels ("srpm", the arch, "tag") so that a build task run
// again after a kojid restart finds its children instead of duplicating them.
type buildHandler struct{}

func (buildHandler) weight(*task) float64 { return 0.2 }

func (buildHandler) check(context.Context, *task) error { return nil }

type buildOpts struct {
	scratch      bool
	skipTag      bool
	archOverride []string
	failFast     bool
	repoID       *int64
	waitRepo     bool            // a repo as current as the build's start
	waitBuilds   []repowatch.NVR // a repo holding these builds
}

func parseBuildOpts(m map[string]any) (buildOpts, error) {
	o := buildOpts{
		scratch:  asBool(m["scratch"]),
		skipTag:  asBool(m["skip_tag"]),
		failFast: asBool(m["fail_fast"]),
	}
	if v, ok := m["arch_override"]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return o, buildErrorf("arch_override must be a space-separated string, not %T", v)
		}
		o.archOverride = strings.Fields(s)
		for _, a := range o.archOverride {
			if !archRE.MatchString(a) {
				return o, buildErrorf("arch_override: bad arch %q", a)
			}
		}
	}
	if v, ok := m["repo_id"]; ok && v != nil {
		id, ok := asInt(v)
		if !ok || id <= 0 {
			return o, buildErrorf("repo_id must be a positive integer, not %v", v)
		}
		o.repoID = &id
	}
	o.waitRepo = asBool(m["wait_repo"])
	if v, ok := m["wait_builds"]; ok && v != nil {
		l, ok := v.([]any)
		if !ok {
			return o, buildErrorf("wait_builds must be a list of NVRs, not %T", v)
		}
		for _, e := range l {
			s, _ := e.(string)
			b, err := repowatch.ParseNVR(s)
			if err != nil {
				return o, buildErrorf("wait_builds: %v", err)
			}
			o.waitBuilds = append(o.waitBuilds, b)
		}
	}
	return o, nil
}

func (buildHandler) run(ctx context.Context, t *task) (any, error) {
	a := t.args()
	src := a.String(0, "src")
	target := a.Any(1, "target")
	optMap := a.OptMap(2, "opts")
	if err := a.Done(); err != nil {
		return nil, err
	}
	opts, err := parseBuildOpts(optMap)
	if err != nil {
		return nil, err
	}
	tgt, err := callMap(ctx, t.d.hub, "getBuildTarget", target)
	if err != nil {
		return nil, err
	}
	if tgt == nil {
		return nil, buildErrorf("unknown build target: %v", target)
	}
	buildTag, _ := asInt(tgt["build_tag"])
	destTag, _ := asInt(tgt["dest_tag"])
	destName := asString(tgt["dest_tag_name"])
	tag, err := callMap(ctx, t.d.hub, "getTag", buildTag)
	if err != nil {
		return nil, err
	}
	if tag == nil {
		return nil, buildErrorf("build tag %d of target %v does not exist", buildTag, target)
	}
	repoID, err := t.buildRepo(ctx, buildTag, asString(tag["name"]), opts)
	if err != nil {
		return nil, err
	}

	// The source package.
	srpm := src
	if isSCMURL(src) {
		sopts := map[string]any{"scratch": opts.scratch}
		sopts["repo_id"] = repoID
		id, err := t.subtask(ctx, "buildSRPMFromSCM", []any{src, buildTag, sopts}, "srpm", "noarch")
		if err != nil {
			return nil, err
		}
		res, err := t.wait(ctx, []int64{id}, true)
		if err != nil {
			return nil, err
		}
		srpm = asString(asMap(res[id])["srpm"])
		if srpm == "" {
			return nil, buildErrorf("buildSRPMFromSCM task %d returned no srpm", id)
		}
	}
	if err := checkRel(srpm); err != nil {
		return nil, err
	}
	local, err := t.fetch(ctx, srpm)
	if err != nil {
		return nil, err
	}
	hdr, err := readSRPM(local)
	if err != nil {
		return nil, err
	}
	if !opts.scratch && !opts.skipTag {
		if err := t.checkPackageList(ctx, destTag, destName, hdr.Name); err != nil {
			return nil, err
		}
	}
	arches, err := archList(strings.Fields(asString(tag["arches"])), hdr, opts.archOverride, opts.scratch)
	if err != nil {
		return nil, err
	}
	t.log.Info("building", "nvr", hdr.NVR(), "arches", arches, "scratch", opts.scratch)

	var buildID int64
	imported := false
	if !opts.scratch {
		// Run again after its kojid died between completeBuild and the
		// task's end, the build task finds its build imported: it gathers
		// its children's results again and goes on to tagging.
		if buildID, imported, err = t.importedBuild(ctx, hdr.NVR()); err != nil {
			return nil, err
		}
		if imported {
			t.log.Info("the build was imported by an earlier run of this task", "build_id", buildID, "nvr", hdr.NVR())
		} else {
			data := map[string]any{"name": hdr.Name, "version": hdr.Version, "release": hdr.Release, "epoch": nil, "task_id": t.id}
			if hdr.Epoch != nil {
				data["epoch"] = *hdr.Epoch
			}
			if asBool(optMap["draft"]) {
				data["draft"] = true // the hub names it N-V-R,draft_<id>
			}
			buildID, err = callInt(ctx, t.d.hub, "host.initBuild", data)
			if err != nil {
				return nil, err
			}
		}
	}
	result, err := t.runArches(ctx, srpm, buildTag, arches, repoID, opts)
	if err == nil && !opts.scratch && !imported {
		_, err = t.d.hub.Call(ctx, "host.completeBuild", t.id, buildID, result.srpm, result.rpms, result.brmap,
			kw("logs", result.logs))
		if err != nil {
			err = fmt.Errorf("host.completeBuild: %w", err)
		}
	}
	if err != nil {
		if !opts.scratch && t.stillOurs(ctx) {
			fctx := context.WithoutCancel(ctx)
			if _, ferr := t.d.hub.Call(fctx, "host.failBuild", t.id, buildID); ferr != nil {
				t.log.Warn("host.failBuild failed", "build_id", buildID, "err", ferr)
			}
		}
		return nil, err
	}
	if !opts.scratch && !opts.skipTag {
		id, err := t.subtask(ctx, "tagBuild", []any{destTag, buildID, false, nil, true}, "tag", "noarch")
		if err != nil {
			return nil, err
		}
		if _, err := t.wait(ctx, []int64{id}, true); err != nil {
			return nil, err
		}
	}
	out := map[string]any{"srpm": result.srpm, "rpms": result.rpms, "logs": result.logs, "build_id": nil}
	if !opts.scratch {
		out["build_id"] = buildID
	}
	return out, nil
}

// stillOurs reports whether the hub still has this task OPEN on this host.
// A task the hub took away (cancelled, or freed after a host timeout and
// now run by another host) is not ours to act on: its build belongs to the
// cancellation or to the new run. When the hub cannot say, the task is
// taken as ours (the hub refuses calls for a task that is not).
func (t *task) stillOurs(ctx context.Context) bool {
	if errors.Is(context.Cause(ctx), errCanceledByHub) {
		return false
	}
	state, err := t.d.hubTaskState(context.WithoutCancel(ctx), t.id)
	return err != nil || state == stateOpen
}

// importedBuild is the build of nvr that this task already imported
// (COMPLETE, with this task's id), if any.
func (t *task) importedBuild(ctx context.Context, nvr string) (int64, bool, error) {
	b, err := callMap(ctx, t.d.hub, "getBuild", nvr)
	if err != nil || b == nil {
		return 0, false, err
	}
	task, _ := asInt(b["task_id"])
	state, _ := asInt(b["state"])
	id, ok := asInt(b["build_id"])
	if !ok {
		id, ok = asInt(b["id"])
	}
	if task != t.id || state != buildComplete || !ok {
		return 0, false, nil
	}
	return id, true, nil
}

// buildComplete is Koji's BUILD_STATES['COMPLETE'].
const buildComplete = 1

// checkPackageList fails early when the package may not be tagged into the
// destination tag (not listed, or blocked), as Koji's getPackageConfig check
// does; it asks listPackages, which Koji and kojigo hubs both serve.
func (t *task) checkPackageList(ctx context.Context, destTag int64, destName, pkg string) error {
	v, err := t.d.hub.Call(ctx, "listPackages", kw("tagID", destTag, "pkgID", pkg, "inherited", true))
	if err != nil {
		if f, ok := isFault(err); ok {
			return buildErrorf("package %s not in list for tag %s (%s)", pkg, destName, f.String)
		}
		return fmt.Errorf("listPackages: %w", err)
	}
	for _, e := range asList(v) {
		m := asMap(e)
		if asString(m["package_name"]) != pkg {
			continue
		}
		if asBool(m["blocked"]) {
			return buildErrorf("package %s is blocked for tag %s", pkg, destName)
		}
		return nil
	}
	return buildErrorf("package %s not in list for tag %s", pkg, destName)
}

// buildRepo returns the repo the build uses: the one asked for (it must
// be the build tag's), else one of the build tag that the build waits for
// as Koji's do (getRepo, then a waitrepo subtask), in every build mode:
// rpmbuild mode checks BuildRequires against it, mock builds from it.
func (t *task) buildRepo(ctx context.Context, buildTag int64, tagName string, opts buildOpts) (int64, error) {
	if opts.repoID != nil {
		repo, err := callMap(ctx, t.d.hub, "repoInfo", *opts.repoID, kw("strict", true))
		if err != nil {
			return 0, err
		}
		if id, _ := asInt(repo["tag_id"]); id != buildTag {
			return 0, buildErrorf("Repo/Target mismatch: %s/%s", asString(repo["tag_name"]), tagName)
		}
		return *opts.repoID, nil
	}
	repo, err := t.waitForRepo(ctx, buildTag, opts.waitBuilds, opts.waitRepo)
	if err != nil {
		return 0, err
	}
	id, ok := asInt(repo["id"])
	if !ok {
		return 0, errors.New("the hub's repo has no id")
	}
	t.log.Info("using repo", "repo_id", id, "tag", tagName, "create_event", repo["create_event"])
	return id, nil
}

type archResults struct {
	srpm  string
	rpms  []any
	brmap map[string]any
	logs  map[string]any // arch -> [paths]
}

// runArches creates one buildArch subtask per arch, waits for all, and
// merges their results for completeBuild.
func (t *task) runArches(ctx context.Context, srpm string, buildTag int64, arches []string, repoID int64, opts buildOpts) (*archResults, error) {
	sub := map[string]int64{}
	var ids []int64
	for i, arch := range arches {
		aopts := map[string]any{"repo_id": repoID}
		id, err := t.subtask(ctx, "buildArch", []any{srpm, buildTag, arch, i == 0, aopts}, arch,
			taskArch(arch, t.d.cfg.LiteralTaskArches))
		if err != nil {
			return nil, err
		}
		sub[arch] = id
		ids = append(ids, id)
	}
	failany := !t.d.cfg.BuildArchCanFail || opts.failFast
	results, err := t.wait(ctx, ids, failany)
	if err != nil {
		return nil, err
	}
	out := &archResults{brmap: map[string]any{}, logs: map[string]any{}, rpms: []any{}}
	sort.Strings(arches)
	for _, arch := range arches {
		r := asMap(results[sub[arch]])
		if r == nil {
			return nil, buildErrorf("buildArch task %d (%s) returned no result", sub[arch], arch)
		}
		broot := r["brootid"]
		for _, p := range asStrings(r["rpms"]) {
			out.rpms = append(out.rpms, p)
			out.brmap[p] = broot
		}
		var logs []any
		for _, p := range asStrings(r["logs"]) {
			logs = append(logs, p)
		}
		out.logs[arch] = logs
		if s := asStrings(r["srpms"]); len(s) > 0 {
			if out.srpm != "" {
				return nil, buildErrorf("multiple builds returned a srpm, task %d", t.id)
			}
			out.srpm = s[0]
			out.brmap[s[0]] = broot
		}
	}
	if out.srpm == "" {
		return nil, buildErrorf("could not find a built srpm")
	}
	return out, nil
}

// tagBuildHandler tags a finished build: tagBuild(tag, build, force,
// fromtag, ignore_success); the hub checks and records it.
type tagBuildHandler struct{}

func (tagBuildHandler) weight(*task) float64 { return 1.0 }

func (tagBuildHandler) check(context.Context, *task) error { return nil }

func (tagBuildHandler) run(ctx context.Context, t *task) (any, error) {
	a := t.args()
	tag := a.Any(0, "tag_id")
	build := a.Any(1, "build_id")
	force := a.OptBool(2, "force", false)
	fromtag := a.OptAny(3, "fromtag", nil)
	ignoreSuccess := a.OptBool(4, "ignore_success", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	// As Koji's TagBuildTask, the hub is told how it went, for the tag
	// notification mail.
	owner := t.info["owner"]
	if _, err := t.d.hub.Call(ctx, "host.tagBuild", t.id, tag, build, force, fromtag); err != nil {
		msg := err.Error()
		if f, ok := isFault(err); ok {
			msg = fmt.Sprintf("<class 'koji.%s'>: %s", faultClass(f.Code), f.String)
		}
		if _, nerr := t.d.hub.Call(ctx, "host.tagNotification", false, tag, fromtag, build, owner, ignoreSuccess, msg); nerr != nil {
			t.log.Warn("tag notification not made", "err", nerr)
		}
		return nil, err
	}
	if _, err := t.d.hub.Call(ctx, "host.tagNotification", true, tag, fromtag, build, owner, ignoreSuccess); err != nil {
		t.log.Warn("tag notification not made", "err", err)
	}
	return nil, nil
}
