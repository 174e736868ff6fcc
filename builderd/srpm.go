package builderd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kojigo/builderd/pgroup"
)

// srpmHandler builds a source package from a git checkout:
// buildSRPMFromSCM(url, build_tag, opts). Result: {srpm, logs, brootid,
// source}, as Koji's.
type srpmHandler struct{}

func (srpmHandler) weight(*task) float64 { return 1.0 }

func (srpmHandler) check(_ context.Context, t *task) error { return t.needTool("git") }

func (srpmHandler) run(ctx context.Context, t *task) (any, error) {
	a := t.args()
	src := a.String(0, "url")
	_ = a.Any(1, "build_tag")
	opts := a.OptMap(2, "opts")
	if err := a.Done(); err != nil {
		return nil, err
	}
	scm, err := parseSCMURL(src)
	if err != nil {
		return nil, err
	}
	allowed, err := assertSCMAllowed(ctx, t.d.hub, scm, t.d.cfg.AllowedSCMs, t.d.cfg.AllowedSCMsUseConfig,
		t.d.cfg.AllowedSCMsUsePolicy, t.scmPolicyData(ctx))
	if err != nil {
		return nil, err
	}
	git, err := t.d.lookPath("git")
	if err != nil {
		return nil, buildErrorf("git not found: install the git package")
	}
	rpmbuild, err := t.d.lookPath("rpmbuild")
	if err != nil {
		return nil, buildErrorf("rpmbuild not found: install the rpm-build package")
	}
	tree, err := t.newRPMTree()
	if err != nil {
		return nil, err
	}
	checkout := filepath.Join(tree.home, "scm")
	env := append(append([]string{}, tree.env...),
		"GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=/bin/false", "GIT_CONFIG_NOSYSTEM=1", "GIT_SSH_COMMAND=ssh -oBatchMode=yes")

	t.logf("state.log", "Start: checkout %s", src)
	t.logf("checkout.log", "cloning %s (revision %s)", scm.cloneURL(), scm.Revision)
	clone := []string{git, "clone", "--quiet", "--no-checkout", "--", scm.cloneURL(), checkout}
	if res, err := t.run(ctx, "checkout.log", clone, tree.home, env, tree.cred, 0); err != nil || !res.Success() {
		return nil, t.stepFailure(ctx, err, res, "git clone", "checkout.log")
	}
	commit, err := t.resolveRevision(ctx, git, checkout, scm.Revision, env, tree)
	if err != nil {
		return nil, err
	}
	co := []string{git, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", commit}
	if res, err := t.run(ctx, "checkout.log", co, checkout, env, tree.cred, 0); err != nil || !res.Success() {
		return nil, t.stepFailure(ctx, err, res, "git checkout", "checkout.log")
	}
	t.logf("checkout.log", "checked out %s", commit)
	moddir := checkout
	if scm.Module != "" {
		moddir = filepath.Join(checkout, filepath.FromSlash(scm.Module))
		if fi, err := os.Stat(moddir); err != nil || !fi.IsDir() {
			return nil, buildErrorf("%s: no directory %s in the repository", src, scm.Module)
		}
	}
	if len(allowed.sourceCmd) > 0 {
		t.logf("checkout.log", "running source_cmd: %s", strings.Join(allowed.sourceCmd, " "))
		res, err := t.run(ctx, "checkout.log", allowed.sourceCmd, moddir, env, tree.cred, 0)
		if err != nil || !res.Success() {
			return nil, t.stepFailure(ctx, err, res, "source_cmd "+allowed.sourceCmd[0], "checkout.log")
		}
	}
	specs, err := filepath.Glob(filepath.Join(moddir, "*.spec"))
	if err != nil {
		return nil, err
	}
	switch len(specs) {
	case 0:
		return nil, buildErrorf("no spec file found in %s", src)
	case 1:
	default:
		names := make([]string, len(specs))
		for i, s := range specs {
			names[i] = filepath.Base(s)
		}
		return nil, buildErrorf("multiple spec files found in %s: %s", src, strings.Join(names, ", "))
	}
	brootID, err := t.srpmBuildroot(ctx, opts, git, rpmbuild)
	if err != nil {
		return nil, err
	}
	if brootID != nil {
		defer func() {
			_, _ = t.d.hub.Call(context.WithoutCancel(ctx), "host.setBuildRootState", *brootID, "EXPIRED", kw("task_id", t.id))
		}()
	}
	out := filepath.Join(tree.top, "SRPMS")
	t.describeRPMBuildMode(tree, "source packages are built with rpmbuild -bs", "BuildRequires are not needed to make a source package (rpmbuild -bs --nodeps)")
	argv := append([]string{rpmbuild, "-bs", "--nodeps"}, tree.defines(&t.d.cfg)...)
	argv = append(argv, "--define", "_sourcedir "+moddir, "--define", "_specdir "+moddir, "--define", "_srcrpmdir "+out, specs[0])
	t.logf("root.log", "command: %s", strings.Join(argv, " "))
	t.logf("state.log", "Start: rpmbuild -bs %s", filepath.Base(specs[0]))
	res, err := t.run(ctx, "build.log", argv, moddir, env, tree.cred, t.d.cfg.RPMBuildTimeout)
	if err != nil || !res.Success() {
		return nil, t.stepFailure(ctx, err, res, "rpmbuild -bs", "build.log")
	}
	t.logf("state.log", "Finish: rpmbuild -bs (%s) after %v", describeEnd(res), res.Duration.Round(time.Millisecond))
	srpms, err := collect(out, ".src.rpm")
	if err != nil {
		return nil, err
	}
	if len(srpms) != 1 {
		return nil, buildErrorf("rpmbuild -bs made %d source packages, want 1; see build.log", len(srpms))
	}
	hdr, err := readSRPM(srpms[0])
	if err != nil {
		return nil, err
	}
	if want := hdr.NVR() + ".src.rpm"; filepath.Base(srpms[0]) != want {
		return nil, buildErrorf("source package %s does not match its header (%s)", filepath.Base(srpms[0]), want)
	}
	rel, err := t.upload(ctx, srpms[0])
	if err != nil {
		return nil, err
	}
	t.flushLogs()
	source := strings.SplitN(src, "#", 2)[0] + "#" + commit
	return map[string]any{
		"srpm":    rel,
		"logs":    t.uploadedLogs(),
		"brootid": optID(brootID),
		"source":  map[string]any{"url": src, "source": source},
	}, nil
}

// srpmBuildroot records the buildroot of the source package step, as
// Koji's buildSRPMFromSCM has one over the build's repo: rpmbuild -bs runs
// on this host, so what it held is this host's packages of the tools it
// ran (git, rpmbuild) when its rpm database knows them, listed as
// external. nil without a repo (repo_id): Koji's buildroots need one.
func (t *task) srpmBuildroot(ctx context.Context, opts map[string]any, tools ...string) (*int64, error) {
	repoID, ok := asInt(opts["repo_id"])
	if !ok || repoID <= 0 {
		t.logf("root.log", "this task has no repo (repo_id): no buildroot is recorded for it")
		return nil, nil
	}
	brid, err := callInt(ctx, t.d.hub, "host.newBuildRoot", repoID, t.d.arches[0], kw("task_id", t.id))
	if err != nil {
		return nil, err
	}
	var list []any
	var names []string
	for _, tool := range tools {
		pkgs, err := t.queryRPMDB(ctx, "-qf", tool)
		if err != nil {
			continue // not a file of the rpm database (a Debian host, a local install)
		}
		for _, p := range pkgs {
			m := p.(map[string]any)
			m["external"] = true
			list = append(list, m)
			names = append(names, fmt.Sprintf("%s-%s-%s.%s", m["name"], m["version"], m["release"], m["arch"]))
		}
	}
	t.logf("root.log", "buildroot %d: repo %d (%s); rpmbuild -bs runs on this host, so its contents are this host's packages of %s: %s",
		brid, repoID, t.d.arches[0], strings.Join(tools, ", "), strings.Join(append(names, fmt.Sprintf("(%d reported to the hub)", len(list))), " "))
	fail := func(err error) (*int64, error) {
		_, _ = t.d.hub.Call(context.WithoutCancel(ctx), "host.setBuildRootState", brid, "EXPIRED", kw("task_id", t.id))
		return nil, err
	}
	if err := t.reportBuildroot(ctx, brid, list, false); err != nil {
		return fail(err)
	}
	if _, err := t.d.hub.Call(ctx, "host.setBuildRootState", brid, "BUILDING", kw("task_id", t.id)); err != nil {
		return fail(fmt.Errorf("host.setBuildRootState: %w", err))
	}
	return &brid, nil
}

func optID(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// resolveRevision turns the URL's revision into a commit: a commit, tag or
// local branch, else a branch of origin.
func (t *task) resolveRevision(ctx context.Context, git, dir, rev string, env []string, tree *rpmTree) (string, error) {
	for _, cand := range []string{rev, "origin/" + rev} {
		var out bytes.Buffer
		res, err := pgroup.Run(ctx, pgroup.Cmd{
			Path: git, Args: []string{"rev-parse", "--verify", "--quiet", "--end-of-options", cand + "^{commit}"},
			Dir: dir, Env: env, Stdout: &out, Credential: tree.cred,
		})
		if err != nil {
			return "", fmt.Errorf("git rev-parse: %w", err)
		}
		if ctx.Err() != nil {
			return "", context.Cause(ctx)
		}
		if res.Success() {
			return strings.TrimSpace(out.String()), nil
		}
	}
	t.logf("checkout.log", "revision %s not found", rev)
	return "", buildErrorf("revision %s not found in %s; see checkout.log", rev, dir)
}

// stepFailure is the error of a failed command: the cancellation cause, a
// start failure, or a fault naming the log.
func (t *task) stepFailure(ctx context.Context, err error, res pgroup.Result, what, logName string) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return t.toolFailure(what, logName, "", res)
}
