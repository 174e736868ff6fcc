package builderd

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"kojigo/repogen"
)

// Dist repos, as Koji's kojid NewDistRepoTask and createDistRepoTask:
//
//	distRepo(tag, repo_id, keys, task_opts)   (the hub made repo_id, INIT)
//	  -> createdistrepo(tag, repo_id, arch, keys, task_opts) per arch -> wait (failany)
//	       each: listTaggedRPMS(rpmsigs=True) for the arch's compatible
//	       arches; per RPM the copy signed with the first of keys it has
//	       (else the unsigned one with allow_missing_signatures, none with
//	       skip_missing_signatures, else the task fails naming them in
//	       missing_signatures.log); Packages/<letter>/<file> links to them;
//	       repogen writes repodata/; repodata, kojipkgs and repo_manifest
//	       are uploaded to the task's directory
//	  -> host.distRepoMove(repo_id, uploadpath, arch) per arch
//	  -> host.repoDone(repo_id, {})

// distCompat is the package arches a dist repo of an arch takes (Koji's
// createDistRepoTask.compat).
var distCompat = map[string][]string{
	"i386":        {"athlon", "i686", "i586", "i486", "i386", "noarch"},
	"x86_64":      {"amd64", "ia32e", "x86_64", "noarch"},
	"ia64":        {"ia64", "noarch"},
	"ppc":         {"ppc", "noarch"},
	"ppc64":       {"ppc64p7", "ppc64pseries", "ppc64iseries", "ppc64", "noarch"},
	"ppc64le":     {"ppc64le", "noarch"},
	"s390":        {"s390", "noarch"},
	"s390x":       {"s390x", "noarch"},
	"sparc":       {"sparcv9v", "sparcv9", "sparcv8", "sparc", "noarch"},
	"sparc64":     {"sparc64v", "sparc64", "noarch"},
	"alpha":       {"alphaev6", "alphaev56", "alphaev5", "alpha", "noarch"},
	"arm":         {"arm", "armv4l", "armv4tl", "armv5tel", "armv5tejl", "armv6l", "armv7l", "noarch"},
	"armhfp":      {"armv7hl", "armv7hnl", "noarch"},
	"aarch64":     {"aarch64", "noarch"},
	"riscv64":     {"riscv64", "noarch"},
	"sw_64":       {"sw_64", "noarch"},
	"loongarch64": {"loongarch64", "noarch"},
	"src":         {"src"},
}

// distRepoHandler runs distRepo(tag, repo_id, keys, task_opts).
type distRepoHandler struct{}

func (distRepoHandler) weight(*task) float64 { return 0.1 }

func (distRepoHandler) check(context.Context, *task) error { return nil }

func (distRepoHandler) run(ctx context.Context, t *task) (any, error) {
	a := t.args()
	tag := a.Any(0, "tag")
	repoID := a.Int(1, "repo_id")
	keys := a.List(2, "keys")
	opts := a.Map(3, "task_opts")
	if err := a.Done(); err != nil {
		return nil, err
	}
	arches := asStrings(opts["arch"])
	if len(arches) == 0 {
		tinfo, err := callMap(ctx, t.d.hub, "getTag", tag, kw("strict", true, "event", opts["event"]))
		if err != nil {
			return nil, err
		}
		arches = strings.Fields(asString(tinfo["arches"]))
	}
	if len(arches) == 0 {
		return nil, genericErrorf("No arches specified nor for the tag!")
	}
	sort.Strings(arches)
	sub := map[string]int64{}
	var ids []int64
	for _, arch := range arches {
		if _, ok := sub[arch]; ok {
			continue
		}
		if _, ok := distCompat[arch]; !ok {
			return nil, paramErrorf("distRepo: arch %q is not one Koji's dist repos know", arch)
		}
		id, err := t.subtask(ctx, "createdistrepo", []any{tag, repoID, arch, keys, opts}, arch, "noarch")
		if err != nil {
			return nil, err
		}
		sub[arch] = id
		ids = append(ids, id)
	}
	if _, err := t.wait(ctx, ids, true); err != nil {
		return nil, err
	}
	for arch, id := range sub {
		if _, err := t.d.hub.Call(ctx, "host.distRepoMove", repoID, taskRelPath(id), arch); err != nil {
			return nil, fmt.Errorf("host.distRepoMove %s: %w", arch, err)
		}
	}
	if _, err := t.d.hub.Call(ctx, "host.repoDone", repoID, map[string]any{}); err != nil {
		return nil, fmt.Errorf("host.repoDone: %w", err)
	}
	return fmt.Sprintf("Dist repository #%d successfully generated", repoID), nil
}

// createDistRepoHandler runs createdistrepo(tag, repo_id, arch, keys, opts);
// the result is None, the files are in the task's upload directory.
type createDistRepoHandler struct{}

func (createDistRepoHandler) weight(*task) float64 { return 1.5 }

func (createDistRepoHandler) check(_ context.Context, t *task) error {
	if t.d.cfg.TopDir == "" {
		return &refusal{soft: true, msg: "No access to packages: topdir is not set in kojid.conf"}
	}
	if fi, err := os.Stat(filepath.Join(t.d.cfg.TopDir, "packages")); err != nil || !fi.IsDir() {
		return &refusal{soft: true, msg: "No access to " + filepath.Join(t.d.cfg.TopDir, "packages")}
	}
	return nil
}

// distPkg is a kojipkgs entry: the RPM a file of the repo is, and the
// copy chosen.
type distPkg struct {
	ID          int64   `json:"id"`
	BuildID     int64   `json:"build_id"`
	Name        string  `json:"name"`
	Version     string  `json:"version"`
	Release     string  `json:"release"`
	Arch        string  `json:"arch"`
	Epoch       any     `json:"epoch"`
	Size        int64   `json:"size"`
	PayloadHash string  `json:"payloadhash"`
	SigKey      *string `json:"sigkey"`
	path        string
}

func (createDistRepoHandler) run(ctx context.Context, t *task) (any, error) {
	a := t.args()
	tag := a.Any(0, "tag")
	repoID := a.Int(1, "repo_id")
	arch := a.String(2, "arch")
	keyArgs := a.List(3, "keys")
	opts := a.Map(4, "opts")
	if err := a.Done(); err != nil {
		return nil, err
	}
	compat, ok := distCompat[arch]
	if !ok {
		return nil, paramErrorf("createdistrepo: arch %q is not one Koji's dist repos know", arch)
	}
	keys := make([]string, 0, len(keyArgs))
	for _, k := range keyArgs {
		keys = append(keys, strings.ToLower(asString(k)))
	}
	rinfo, err := callMap(ctx, t.d.hub, "repoInfo", repoID, kw("strict", true))
	if err != nil {
		return nil, err
	}
	if st, _ := asInt(rinfo["state"]); st != 0 {
		return nil, genericErrorf("Repo %d not in INIT state (got %d)", repoID, st)
	}
	logf := func(format string, args ...any) { t.logf("createdistrepo.log", format, args...) }
	// The comps file the hub copied into the repo at distRepo (Koji's
	// groups/comps.xml): its groups go into every arch's repodata.
	groupFile := ""
	if c, _ := opts["comps"].(string); c != "" {
		tagName := asString(rinfo["tag_name"])
		if err := checkDirName("tag name", tagName); err != nil {
			return nil, err
		}
		groupFile = filepath.Join(t.d.cfg.TopDir, "repos-dist", tagName, fmt.Sprint(repoID), "groups", "comps.xml")
		if !isRegular(groupFile) {
			return nil, genericErrorf("dist repo %d has comps, but %s is not readable here: mount the hub's topdir", repoID, groupFile)
		}
	}

	// Every copy of every RPM of the tag for the arch.
	type rpmCopies struct {
		info map[string]any
		keys map[string]bool
	}
	byID := map[int64]*rpmCopies{}
	var order []int64
	buildDirs := map[int64]string{}
	for _, pa := range compat {
		v, err := t.d.hub.Call(ctx, "listTaggedRPMS", tag, kw("event", opts["event"], "arch", pa, "latest", asBool(opts["latest"]),
			"inherit", asBool(opts["inherit"]), "rpmsigs", true))
		if err != nil {
			return nil, fmt.Errorf("listTaggedRPMS: %w", err)
		}
		pair := asList(v)
		if len(pair) != 2 {
			return nil, fmt.Errorf("listTaggedRPMS: unexpected answer")
		}
		for _, b := range asList(pair[1]) {
			bm := asMap(b)
			if asBool(bm["draft"]) {
				return nil, genericErrorf("Draft build: %s is not allowed", asString(bm["nvr"]))
			}
			id, _ := asInt(bm["build_id"])
			if id == 0 {
				id, _ = asInt(bm["id"])
			}
			parts := []string{asString(bm["package_name"]), asString(bm["version"]), asString(bm["release"])}
			for _, p := range parts {
				if err := checkDirName("build path part", p); err != nil {
					return nil, err
				}
			}
			buildDirs[id] = filepath.Join(t.d.cfg.TopDir, "packages", parts[0], parts[1], parts[2])
		}
		for _, r := range asList(pair[0]) {
			rm := asMap(r)
			id, _ := asInt(rm["id"])
			c := byID[id]
			if c == nil {
				c = &rpmCopies{info: rm, keys: map[string]bool{}}
				byID[id] = c
				order = append(order, id)
			}
			if k, ok := rm["sigkey"].(string); ok {
				c.keys[strings.ToLower(k)] = true
			}
		}
	}

	// The copy of each: the first key of keys it has.
	pkgs := map[string]*distPkg{}
	var fsMissing, sigMissing []string
	var signedLog strings.Builder
	for _, id := range order {
		c := byID[id]
		rm := c.info
		p := &distPkg{ID: id, Name: asString(rm["name"]), Version: asString(rm["version"]), Release: asString(rm["release"]),
			Arch: asString(rm["arch"]), Epoch: rm["epoch"], PayloadHash: asString(rm["payloadhash"])}
		p.BuildID, _ = asInt(rm["build_id"])
		p.Size, _ = asInt(rm["size"])
		for _, k := range keys {
			if c.keys[k] {
				k := k
				p.SigKey = &k
				break
			}
		}
		file := p.Name + "-" + p.Version + "-" + p.Release + "." + p.Arch + ".rpm"
		if err := checkDirName("rpm file name", file); err != nil {
			return nil, err
		}
		if checkDirName("arch", p.Arch) != nil {
			return nil, genericErrorf("rpm %d: bad arch %q", id, p.Arch)
		}
		dir, ok := buildDirs[p.BuildID]
		if !ok {
			return nil, genericErrorf("rpm %s: its build %d is not in the listing", file, p.BuildID)
		}
		if p.SigKey == nil {
			sigMissing = append(sigMissing, fmt.Sprintf("%s: %v", strings.TrimSuffix(file, ".rpm"), sortedKeys(c.keys)))
			if asBool(opts["skip_missing_signatures"]) {
				continue
			}
			p.path = filepath.Join(dir, p.Arch, file)
		} else {
			if asBool(opts["write_signed_rpms"]) {
				if _, err := t.d.hub.Call(ctx, "host.writeSignedRPM", id, *p.SigKey); err != nil {
					fmt.Fprintf(&signedLog, "FAILED: Signed RPM %d is not written with %s key, error: %v\n", id, *p.SigKey, err)
				} else {
					fmt.Fprintf(&signedLog, "Signed RPM %d is written with %s key.\n", id, *p.SigKey)
				}
			}
			p.path = filepath.Join(dir, "data", "signed", *p.SigKey, p.Arch, file)
		}
		if fi, err := os.Stat(p.path); err != nil || !fi.Mode().IsRegular() {
			fsMissing = append(fsMissing, p.path)
			continue
		}
		pkgs[file] = p
	}
	if signedLog.Len() > 0 {
		if err := t.uploadText(ctx, "written_signed_rpms.log", signedLog.String()); err != nil {
			return nil, err
		}
	}
	if len(fsMissing) > 0 {
		sort.Strings(fsMissing)
		text := "Some rpm files were missing.\nMost likely, you want to create these signed copies.\n\nMissing files:\n" + strings.Join(fsMissing, "\n") + "\n"
		if err := t.uploadText(ctx, "missing_files.log", text); err != nil {
			return nil, err
		}
		return nil, genericErrorf("Packages missing from the filesystem. See missing_files.log.")
	}
	if len(sigMissing) > 0 {
		sort.Strings(sigMissing)
		var b strings.Builder
		b.WriteString("Some rpms were missing requested signatures.\n")
		if asBool(opts["skip_missing_signatures"]) {
			b.WriteString("The skip_missing_signatures option was specified, so these files were excluded.\n")
		}
		fmt.Fprintf(&b, "Requested keys: %v\n\n# RPM name: available keys\n%s\n", keys, strings.Join(sigMissing, "\n"))
		if err := t.uploadText(ctx, "missing_signatures.log", b.String()); err != nil {
			return nil, err
		}
		if !asBool(opts["skip_missing_signatures"]) && !asBool(opts["allow_missing_signatures"]) {
			return nil, genericErrorf("Unsigned packages found. See missing_signatures.log")
		}
	}

	// Packages/<letter>/<file> links, the pkglist, and the metadata.
	repoDir := filepath.Join(t.dir, "repo")
	names := make([]string, 0, len(pkgs))
	for n := range pkgs {
		names = append(names, n)
	}
	sort.Strings(names)
	// With split_debuginfo, debuginfo and debugsource packages make the
	// subrepo debug/ (Koji's split_pkgs): its pkglist names them as
	// ../Packages/<letter>/<file>.
	list := make([]string, 0, len(names))
	var debugList []string
	for _, n := range names {
		rel := filepath.Join("Packages", strings.ToLower(n[:1]), n)
		dst := filepath.Join(repoDir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, noSpace(fmt.Errorf("create %s: %w", filepath.Dir(dst), err), t.d.cfg.WorkDir)
		}
		if err := os.Symlink(pkgs[n].path, dst); err != nil {
			return nil, fmt.Errorf("link %s: %w", n, err)
		}
		if asBool(opts["split_debuginfo"]) && isDebuginfo(pkgs[n].Name) {
			debugList = append(debugList, "../"+filepath.ToSlash(rel))
			continue
		}
		list = append(list, filepath.ToSlash(rel))
	}
	log, err := t.logFile("createrepo.log")
	if err != nil {
		return nil, err
	}
	defer log.Close()
	logf("repo %d arch %s: %d packages, keys %v, groups %s", repoID, arch, len(list), keys, orNone(groupFile))
	var manifest []string
	var took time.Duration
	for _, sub := range []struct {
		dir  string
		list []string
	}{{"", list}, {"debug", debugList}} {
		if sub.dir != "" && len(sub.list) == 0 {
			continue
		}
		m, d, err := t.distRepodata(ctx, filepath.Join(repoDir, sub.dir), sub.dir, sub.list, groupFile, log)
		if err != nil {
			if ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
			return nil, noSpace(genericErrorf("failed to create dist repo %d for %s: %v", repoID, arch, err), t.d.cfg.WorkDir)
		}
		manifest = append(manifest, m...)
		took += d
	}
	if len(debugList) > 0 {
		logf("subrepo debug: %d packages", len(debugList))
	}
	kp, _ := json.MarshalIndent(pkgs, "", "  ")
	if err := t.uploadText(ctx, "kojipkgs", string(kp)); err != nil {
		return nil, err
	}
	mf, _ := json.MarshalIndent(manifest, "", "    ")
	if err := t.uploadText(ctx, "repo_manifest", string(mf)); err != nil {
		return nil, err
	}
	logf("done: %d packages in %v", len(list)+len(debugList), took.Round(time.Millisecond))
	return nil, nil
}

// distRepodata writes the pkglist and repodata of a dist repo (sub "") or
// of its subrepo sub in dir, uploads them to the task's directory, and
// returns their manifest names.
func (t *task) distRepodata(ctx context.Context, dir, sub string, list []string, groupFile string, log *os.File) ([]string, time.Duration, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, 0, err
	}
	if err := os.WriteFile(filepath.Join(dir, "pkglist"), []byte(strings.Join(list, "\n")+"\n"), 0o644); err != nil {
		return nil, 0, fmt.Errorf("write pkglist: %w", err)
	}
	res, err := repogen.Generate(ctx, repogen.Options{BaseDir: dir, Packages: list, OutputDir: dir, Database: true, GroupFile: groupFile, Subrepo: sub != "",
		Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		return nil, 0, err
	}
	datadir := res.RepodataDir
	if datadir == "" {
		datadir = filepath.Join(dir, "repodata")
	}
	if len(list) == 0 {
		if err := os.WriteFile(filepath.Join(datadir, "EMPTY_REPO"), []byte(emptyRepoNote), 0o644); err != nil {
			return nil, 0, fmt.Errorf("write EMPTY_REPO: %w", err)
		}
	}
	prefix, upDir := "", t.uploadDir()
	if sub != "" {
		prefix, upDir = sub+"/", upDir+"/"+sub
	}
	var manifest []string
	ents, err := os.ReadDir(datadir)
	if err != nil {
		return nil, 0, fmt.Errorf("read repodata: %w", err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		if err := t.d.hub.UploadFile(ctx, filepath.Join(datadir, e.Name()), upDir+"/repodata", e.Name(), nil); err != nil {
			return nil, 0, fmt.Errorf("upload %srepodata/%s: %w", prefix, e.Name(), err)
		}
		manifest = append(manifest, prefix+"repodata/"+e.Name())
	}
	if err := t.d.hub.UploadFile(ctx, filepath.Join(dir, "pkglist"), upDir, "pkglist", nil); err != nil {
		return nil, 0, fmt.Errorf("upload %spkglist: %w", prefix, err)
	}
	manifest = append(manifest, prefix+"pkglist")
	return manifest, res.Timings.Total, nil
}

// isDebuginfo is koji.is_debuginfo: a debuginfo or debugsource package,
// by name.
func isDebuginfo(name string) bool {
	return strings.HasSuffix(name, "-debuginfo") || strings.HasSuffix(name, "-debugsource") || strings.Contains(name, "-debuginfo-")
}

// uploadText writes a file in the task's directory and uploads it.
func (t *task) uploadText(ctx context.Context, name, text string) error {
	p := filepath.Join(t.dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		return noSpace(fmt.Errorf("write %s: %w", name, err), t.d.cfg.WorkDir)
	}
	_, err := t.upload(ctx, p)
	return err
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
