package builderd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kojigo/builderd/mockcfg"
)

// buildArchHandler builds the binary packages of an SRPM for one arch:
// buildArch(pkg, root, arch, keep_srpm, opts), pkg relative to the hub's
// work directory. Result: {rpms, srpms, logs, brootid}, paths relative to
// the work directory, as Koji's.
type buildArchHandler struct{}

type buildArchArgs struct {
	pkg      string
	root     any // build tag id or name
	arch     string
	keepSRPM bool
	opts     map[string]any
}

func parseBuildArchArgs(t *task) (buildArchArgs, error) {
	a := t.args()
	out := buildArchArgs{
		pkg:      a.String(0, "pkg"),
		root:     a.Any(1, "root"),
		arch:     a.String(2, "arch"),
		keepSRPM: a.OptBool(3, "keep_srpm", false),
		opts:     a.OptMap(4, "opts"),
	}
	if err := a.Done(); err != nil {
		return out, err
	}
	if err := checkRel(out.pkg); err != nil {
		return out, err
	}
	if !archRE.MatchString(out.arch) {
		return out, buildErrorf("bad arch %q", out.arch)
	}
	return out, nil
}

func (buildArchHandler) weight(*task) float64 { return 1.5 }

func (buildArchHandler) check(_ context.Context, t *task) error {
	a, err := parseBuildArchArgs(t)
	if err != nil {
		return nil // the task fails with the argument error when run
	}
	if !canBuild(t.d.arches, a.arch) {
		return &refusal{soft: false, msg: fmt.Sprintf("cannot build %s here: this host builds %s", a.arch, strings.Join(t.d.arches, " "))}
	}
	return nil
}

func (buildArchHandler) run(ctx context.Context, t *task) (any, error) {
	a, err := parseBuildArchArgs(t)
	if err != nil {
		return nil, err
	}
	useMock, why := t.mockChoice()
	if useMock {
		t.notesLog = "kojid.log"
	}
	t.logf("state.log", "Start: buildArch %s for %s", a.pkg, a.arch)
	srpm, err := t.fetch(ctx, a.pkg)
	if err != nil {
		return nil, err
	}
	hdr, err := readSRPM(srpm)
	if err != nil {
		return nil, err
	}
	var res *archResult
	if useMock {
		res, err = t.mockBuild(ctx, a, srpm, why)
	} else {
		res, err = t.rpmbuildRebuild(ctx, a, srpm, hdr, why)
	}
	if err != nil {
		return nil, err
	}
	out := map[string]any{"rpms": []any{}, "srpms": []any{}, "brootid": res.brootID}
	for _, p := range res.rpms {
		rel, err := t.upload(ctx, p)
		if err != nil {
			return nil, err
		}
		out["rpms"] = append(out["rpms"].([]any), rel)
	}
	if a.keepSRPM {
		if res.srpm == "" {
			return nil, buildErrorf("no srpm found for task %d", t.id)
		}
		rel, err := t.upload(ctx, res.srpm)
		if err != nil {
			return nil, err
		}
		out["srpms"] = []any{rel}
	}
	t.logf("state.log", "Finish: buildArch %s: %d rpms", hdr.NVR(), len(res.rpms))
	t.flushLogs() // last upload before the result lists the logs
	out["logs"] = t.uploadedLogs()
	return out, nil
}

// archResult is what a buildroot produced.
type archResult struct {
	rpms    []string // local paths of binary rpms
	srpm    string   // local path of the source rpm to keep
	brootID any      // hub buildroot id, nil without one (a buildArch task without a repo)
}

// rpmbuildRebuild runs rpmbuild --rebuild in a private tree.
func (t *task) rpmbuildRebuild(ctx context.Context, a buildArchArgs, srpm string, hdr *srpmHeader, why string) (*archResult, error) {
	rpmbuild, err := t.d.lookPath("rpmbuild")
	if err != nil {
		return nil, buildErrorf("rpmbuild not found: install the rpm-build package")
	}
	tree, err := t.newRPMTree()
	if err != nil {
		return nil, err
	}
	withRepo := a.opts != nil && a.opts["repo_id"] != nil
	deps := "BuildRequires are looked up in the build tag's repo, then on this host; packages from the repo are unpacked (not installed: no scriptlets) into an overlay that CPATH, LIBRARY_PATH, PKG_CONFIG_PATH and PATH search first"
	if !withRepo {
		deps = "this task has no repo (repo_id): BuildRequires are neither installed nor checked"
		if len(hdr.Requires) > 0 {
			deps += ": " + strings.Join(hdr.Requires, ", ")
		}
	}
	t.describeRPMBuildMode(tree, why, deps)
	var brootID any
	if withRepo {
		brid, env, err := t.repoBuildroot(ctx, a, srpm)
		if brid != 0 {
			brootID = brid
			// the buildroot ends EXPIRED, as mock builds' do
			defer func() { _, _ = t.d.hub.Call(context.WithoutCancel(ctx), "host.setBuildRootState", brid, "EXPIRED") }()
			if err == nil {
				_, _ = t.d.hub.Call(ctx, "host.setBuildRootState", brid, "BUILDING")
			}
		}
		if err != nil {
			return nil, err
		}
		tree.env = mergeEnv(tree.env, env)
	}
	// BuildRequires were checked above against the repo; rpmbuild's own
	// check would look in this host's rpm database instead.
	argv := append([]string{rpmbuild, "--rebuild", "--nodeps"}, tree.defines(&t.d.cfg)...)
	if a.arch != "noarch" {
		argv = append(argv, "--target", a.arch)
	}
	argv = append(argv, srpm)
	t.logf("root.log", "command: %s", strings.Join(argv, " "))
	t.logf("state.log", "Start: rpmbuild --rebuild %s", hdr.NVR())
	res, err := t.run(ctx, "build.log", argv, tree.home, tree.env, tree.cred, t.d.cfg.RPMBuildTimeout)
	if err != nil {
		return nil, fmt.Errorf("start rpmbuild: %w", err)
	}
	t.logf("state.log", "Finish: rpmbuild --rebuild %s (%s) after %v", hdr.NVR(), describeEnd(res), res.Duration.Round(time.Millisecond))
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	if !res.Success() {
		return nil, t.toolFailure("rpmbuild", "build.log", a.arch, res)
	}
	rpms, err := collect(filepath.Join(tree.top, "RPMS"), ".rpm")
	if err != nil {
		return nil, fmt.Errorf("collect rpms: %w", err)
	}
	if len(rpms) == 0 {
		return nil, buildErrorf("rpmbuild built no package for %s (arch %s); see build.log", hdr.NVR(), a.arch)
	}
	for _, p := range rpms {
		if _, err := readRPMHeader(p); err != nil {
			return nil, err
		}
	}
	return &archResult{rpms: rpms, srpm: srpm, brootID: brootID}, nil
}

// mergeEnv is env with the variables of extra replacing those of the same
// name.
func mergeEnv(env, extra []string) []string {
	out := append([]string{}, extra...)
	set := map[string]bool{}
	for _, e := range extra {
		set[e[:strings.IndexByte(e, '=')+1]] = true
	}
	for _, e := range env {
		if i := strings.IndexByte(e, '='); i < 0 || !set[e[:i+1]] {
			out = append(out, e)
		}
	}
	return out
}

// mockBuild builds in a mock chroot made from the build tag's repo, as
// Koji's BuildRoot does: newBuildRoot, a generated config, mock --init,
// mock --rebuild, logs streamed from mock's result directory.
func (t *task) mockBuild(ctx context.Context, a buildArchArgs, srpm, why string) (*archResult, error) {
	repoID, ok := asInt(a.opts["repo_id"])
	if !ok || repoID <= 0 {
		return nil, buildErrorf("mock builds need a repo of the build tag, and this task has none (repo_id): " +
			"kojira makes repos; set use_mock = no to build with rpmbuild meanwhile")
	}
	mock, err := t.d.lookPath("mock")
	if err != nil {
		return nil, buildErrorf("mock not found: install the mock package or set use_mock = no")
	}
	repo, err := callMap(ctx, t.d.hub, "repoInfo", repoID, kw("strict", true))
	if err != nil {
		return nil, err
	}
	switch st, _ := asInt(repo["state"]); st {
	case 1: // READY
	case 2: // EXPIRED: intact, only not current
		t.logf("root.log", "repo %d is no longer current; using it as requested", repoID)
	default:
		return nil, buildErrorf("requested repo %d is not ready (state %d)", repoID, st)
	}
	tag, err := callMap(ctx, t.d.hub, "getBuildConfig", a.root)
	if err != nil {
		return nil, err
	}
	if tag == nil {
		return nil, buildErrorf("no build tag %v", a.root)
	}
	brArch := a.arch
	if brArch == "noarch" {
		brArch = t.d.arches[0]
	}
	brid, err := callInt(ctx, t.d.hub, "host.newBuildRoot", repoID, brArch, kw("task_id", t.id))
	if err != nil {
		return nil, err
	}
	opts := mockOptions(&t.d.cfg, tag, repoID, brid, brArch)
	conf, err := mockcfg.Generate(opts)
	if err != nil {
		return nil, buildErrorf("mock config: %v", err)
	}
	// Koji writes /etc/mock/koji/<name>.cfg and runs mock -r koji/<name>;
	// mock also takes the path of a .cfg file, which keeps the config in
	// the task directory (removed with it) and needs no write access to /etc.
	cfgFile := filepath.Join(t.dir, "mock", opts.Name+".cfg")
	root := cfgFile
	if err := os.MkdirAll(filepath.Dir(cfgFile), 0o755); err != nil {
		return nil, fmt.Errorf("mock config dir: %w", err)
	}
	if err := os.WriteFile(cfgFile, []byte(conf), 0o644); err != nil {
		return nil, noSpace(fmt.Errorf("write mock config: %w", err), filepath.Dir(cfgFile))
	}
	if f, err := t.logFile("mock_config.log"); err == nil {
		f.WriteString(conf)
		f.Close()
	}
	t.logf("root.log", "buildroot: mock (%s), buildroot %d, repo %d, config %s", why, brid, repoID, cfgFile)
	resultDir := mockcfg.ResultDir(t.d.cfg.MockDir, opts.Name)
	for _, n := range []string{"build.log", "root.log", "state.log", "hw_info.log", "installed_pkgs.log"} {
		// mock's logs keep their names, as in Koji; kojid's notes are in
		// kojid.log and mock's output in mock_output.log.
		if err := t.logs.Add(n, filepath.Join(resultDir, n)); err != nil {
			return nil, err
		}
	}
	cmd := mockcfg.Cmd{MockPath: mock, Root: root, NewChroot: extraBool(tag, "mock.new_chroot")}
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin", "HOME=" + t.dir, "LANG=C.UTF-8"}
	for _, step := range [][]string{cmd.Init(), cmd.Rebuild(a.arch, srpm)} {
		t.logf("state.log", "Start: %s", strings.Join(step, " "))
		res, err := t.run(ctx, "mock_output.log", step, t.dir, env, nil, t.d.cfg.RPMBuildTimeout)
		if err != nil {
			return nil, fmt.Errorf("start mock: %w", err)
		}
		t.logf("state.log", "Finish: mock (%s)", describeEnd(res))
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		// Koji's kojid lists the chroot after --init (INIT) and again after
		// the build (BUILDING: what the build installed).
		init := step[len(step)-1] == "--init"
		if (init && res.Success()) || !init {
			if err := t.listMockBuildroot(ctx, brid, mockRootDir(resultDir), !init); err != nil {
				_, _ = t.d.hub.Call(ctx, "host.setBuildRootState", brid, "EXPIRED")
				return nil, err
			}
		}
		if !res.Success() {
			_, _ = t.d.hub.Call(ctx, "host.setBuildRootState", brid, "EXPIRED")
			logName := "root.log"
			if res.ExitCode == 10 {
				logName = "build.log"
			} else if res.ExitCode == 1 {
				logName = "build.log or root.log"
			}
			return nil, buildErrorf("error building package (arch %s), mock %s; see %s for more information",
				a.arch, describeEnd(res), logName)
		}
		if init {
			_, _ = t.d.hub.Call(ctx, "host.setBuildRootState", brid, "BUILDING")
		}
	}
	defer func() { _, _ = t.d.hub.Call(context.WithoutCancel(ctx), "host.setBuildRootState", brid, "EXPIRED") }()
	all, err := collect(resultDir, ".rpm")
	if err != nil {
		return nil, fmt.Errorf("collect mock results: %w", err)
	}
	res := &archResult{brootID: brid}
	for _, p := range all {
		if strings.HasSuffix(p, ".src.rpm") {
			res.srpm = p
		} else {
			res.rpms = append(res.rpms, p)
		}
	}
	return res, nil
}

// mockOptions maps kojid.conf and the build tag's extras onto a mock config.
func mockOptions(cfg *Config, tag map[string]any, repoID, brid int64, arch string) mockcfg.Options {
	extra := asMap(tag["extra"])
	o := mockcfg.Options{
		Name:         fmt.Sprintf("%s-%d-%d", asString(tag["name"]), brid, repoID),
		Arch:         arch,
		BuildrootID:  brid,
		RepoID:       repoID,
		TagName:      asString(tag["name"]),
		TopURLs:      cfg.TopURL,
		TopDir:       cfg.TopDir,
		MockDir:      cfg.MockDir,
		Vendor:       cfg.Vendor,
		Packager:     cfg.Packager,
		Distribution: cfg.Distribution,
		MockHost:     cfg.MockHost,
		YumProxy:     cfg.YumProxy,
		TagMacros:    map[string]string{},
		TagEnv:       map[string]string{},
	}
	if cfg.RPMBuildTimeout > 0 {
		o.RPMBuildTimeout = int(cfg.RPMBuildTimeout / time.Second)
	}
	o.PackageManager = asString(extra["mock.package_manager"])
	if cfg.MockBootstrapImage {
		o.BootstrapImage = asString(extra["mock.bootstrap_image"])
	}
	o.UseBootstrap = extraBool(tag, "mock.use_bootstrap")
	o.ModuleHotfixes = asBool(extra["mock.yum.module_hotfixes"])
	o.YumBest = extraBool(tag, "mock.yum.best")
	for k, v := range extra {
		switch {
		case strings.HasPrefix(k, "rpm.macro."):
			o.TagMacros["%"+strings.TrimPrefix(k, "rpm.macro.")] = fmt.Sprint(v)
		case strings.HasPrefix(k, "rpm.env."):
			o.TagEnv[strings.TrimPrefix(k, "rpm.env.")] = fmt.Sprint(v)
		}
	}
	return o
}

func extraBool(tag map[string]any, key string) *bool {
	v, ok := asMap(tag["extra"])[key]
	if !ok || v == nil {
		return nil
	}
	b := asBool(v)
	return &b
}

// listMockBuildroot reports the packages of mock's chroot: the list after
// --init, or (update) the packages the build added.
func (t *task) listMockBuildroot(ctx context.Context, brid int64, root string, update bool) error {
	list, err := t.chrootPackages(ctx, root)
	if errors.Is(err, errNoRPMDB) {
		t.logf("kojid.log", "buildroot %d: no rpm database in %s; its contents are not reported to the hub", brid, root)
		return nil
	}
	if err != nil {
		return buildErrorf("list the packages of buildroot %d: %v", brid, err)
	}
	t.logf("kojid.log", "buildroot %d: %d packages in %s reported to the hub", brid, len(list), root)
	return t.reportBuildroot(ctx, brid, list, update)
}
