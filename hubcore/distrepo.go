package hubcore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"kojigo/db"
	"kojigo/hubcore/policy"
	"kojigo/internal/kojixml"
)

// Dist repos (`koji dist-repo`): a yum repository of a tag's builds made
// of their signed copies, for publishing. As in Koji:
//
//	distRepo(tag, keys, **task_opts)
//	  -> repo row (dist, INIT), repos-dist/<tag>/<id>/{repo.json, <arch>/}
//	  -> distRepo task [tag, repo_id, keys, task_opts] (createrepo channel)
//	kojid: createdistrepo per arch: picks each RPM's copy signed with the
//	  first of keys it has (or the unsigned one when allowed), writes
//	  repodata over Packages/<letter>/<file>, uploads repodata, kojipkgs
//	  and repo_manifest
//	  -> host.distRepoMove(repo_id, uploadpath, arch): the uploaded files
//	     go to <arch>/, each RPM of kojipkgs is hard-linked (or copied) to
//	     <arch>/Packages/<letter>/<file> after checking it against the db
//	  -> host.repoDone(repo_id, {}): READY, repos-dist/<tag>/latest
//
// task_opts comps (a comps file under topdir/work, which koji dist-repo
// --comps uploads) is copied to groups/comps.xml and goes into every
// arch's repodata; split_debuginfo makes <arch>/debug/ of the debuginfo
// and debugsource packages. Not supported (refused with a ParameterError
// that says what to do instead): multilib, delta RPMs, zchunk and
// volumes other than DEFAULT.
func distRepoMethods() []method {
	return []method{
		{name: "distRepo", argdesc: "(tag, keys, **task_opts)", fn: mDistRepo},
		{name: "host.distRepoMove", argdesc: "(repo_id, uploadpath, arch)", fn: mHostDistRepoMove},
		{name: "host.writeSignedRPM", argdesc: "(an_rpm, sigkey, force=False)", fn: mHostWriteSignedRPM},
	}
}

// distRel is a dist repo's directory relative to topdir (Koji's
// pathinfo.distrepo).
func distRel(tagName string, repoID int64) string {
	return filepath.Join("repos-dist", tagName, strconv.FormatInt(repoID, 10))
}

// distRepo(tag, keys, **task_opts): see the top of this file. Needs the
// dist-repo permission (or admin), else the dist_repo policy must allow
// it. Returns the task id.
func mDistRepo(c *call, a *kojixml.Args) (any, error) {
	tagArg := a.Any(0, "tag")
	keysArg := a.Any(1, "keys")
	opts := a.RestKwargs()
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requireLogin(); err != nil {
		return nil, err
	}
	if !c.hasPerm("dist-repo") {
		if err := c.assertPolicy("dist_repo", policy.Data{"tag": tagArg}, false); err != nil {
			return nil, err
		}
	}
	keyList, ok := keysArg.([]any)
	if !ok {
		return nil, paramErr("Invalid type for value %s: %s, expected type <class 'list'>", quoteOdd(pyRepr(keysArg)), typeName(keysArg))
	}
	keys := make([]any, 0, len(keyList))
	for _, k := range keyList {
		s, ok := k.(string)
		if !ok || s == "" || !validSigKey(strings.ToLower(s)) {
			return nil, paramErr("distRepo: key %s is not a key ID (hex digits, as koji list-signed shows them)", quoteOdd(pyRepr(k)))
		}
		keys = append(keys, strings.ToLower(s))
	}
	t, err := c.hub.mustTag(c, tagArg)
	if err != nil {
		return nil, err
	}
	if err := safeDirName("tag name", t.Name); err != nil {
		return nil, err
	}
	arches, err := distRepoOpts(opts)
	if err != nil {
		return nil, err
	}
	if rel, _ := opts["comps"].(string); rel != "" {
		// checked before the repo row is made; copied once it is
		f, fi, err := c.hub.openWorkFile(rel)
		if err != nil {
			return nil, genericErr("distRepo: comps file %s: %v", quoteOdd(rel), bareErr(err))
		}
		f.Close()
		if !fi.Mode().IsRegular() || fi.Size() > maxCompsSize {
			return nil, genericErr("distRepo: comps file %s is not a regular file of at most %d bytes", quoteOdd(rel), maxCompsSize)
		}
	}
	var ev int64
	if v := opts["event"]; v != nil {
		ev, err = intArg("event", v)
		if err != nil {
			return nil, err
		}
		if _, err := c.hub.store.GetEvent(c.ctx, ev); errors.Is(err, db.ErrNotFound) {
			return nil, genericErr("No such event: %d", ev)
		} else if err != nil {
			return nil, err
		}
	} else {
		e, err := c.hub.store.LastEvent(c.ctx)
		if err != nil {
			return nil, err
		}
		ev = e.ID
	}
	opts["event"] = ev
	opts["arch"] = anyStrings(arches)

	// The repo row first, then the task (createTask writes through the
	// store itself); a task that cannot be made leaves the repo PROBLEM.
	repoID, err := c.hub.store.CreateRepo(c.ctx, db.NewRepo{TagID: t.ID, CreateEvent: ev, State: db.RepoInit, Dist: true, Opts: "{}", CustomOpts: "{}"})
	if err != nil {
		return nil, err
	}
	c.wrote = true
	dir := filepath.Join(c.hub.cfg.TopDir, distRel(t.Name, repoID))
	err = c.hub.initDistRepoDir(dir, t, repoID, keys, arches, opts)
	var taskID int64
	if err == nil {
		prio := int64(15)
		taskID, err = createTask(c, "distRepo", []any{t.Name, repoID, keys, opts}, taskOpts{channel: "createrepo", priority: &prio}, nil)
	}
	if err != nil {
		os.RemoveAll(dir)
		if serr := c.hub.store.SetRepoState(c.ctx, repoID, db.RepoProblem); serr != nil {
			c.hub.log.Error("distRepo: mark the repo of a failed request PROBLEM", "repo", repoID, "err", serr)
		}
		return nil, err
	}
	c.wrote = true
	return taskID, nil
}

// distRepoOpts checks task_opts and fills Koji's defaults; it returns the
// canonical arches (sorted, unique).
func distRepoOpts(opts map[string]any) ([]string, error) {
	for name, def := range map[string]any{"latest": true, "inherit": true, "allow_missing_signatures": false,
		"skip_missing_signatures": false, "split_debuginfo": false, "write_signed_rpms": false, "zck": false} {
		v, ok := opts[name]
		if !ok || v == nil {
			opts[name] = def
			continue
		}
		if _, ok := v.(bool); !ok {
			return nil, paramErr("distRepo: %s must be a boolean, got %s", name, typeName(v))
		}
	}
	if opts["allow_missing_signatures"] == true && opts["skip_missing_signatures"] == true {
		return nil, paramErr("allow_missing_signatures and skip_missing_signatures are mutually exclusive")
	}
	if v := opts["comps"]; v != nil && v != "" {
		s, ok := v.(string)
		if !ok {
			return nil, paramErr("distRepo: comps must be a path under the work directory (koji dist-repo --comps uploads the file), got %s", typeName(v))
		}
		if _, err := workRelPath(s); err != nil {
			return nil, paramErr("distRepo: comps %s: %v", quoteOdd(s), err)
		}
	}
	if v := opts["multilib"]; v != nil && v != "" {
		return nil, paramErr("distRepo: multilib is not supported by this hub (it needs Koji's multilib config and dnf's depsolving); " +
			"make the dist repo without --multilib and list the 32-bit arch (--arch i686) as a repo of its own")
	}
	if v := opts["zck_dict_dir"]; v != nil && v != "" {
		return nil, paramErr("distRepo: zck_dict_dir makes no sense without zck, and zck (zchunk metadata) is not supported by this hub")
	}
	if opts["zck"] == true {
		return nil, paramErr("distRepo: zck (zchunk metadata) is not supported by this hub; make the repo without --zck")
	}
	if d, ok := opts["delta"]; ok && d != nil {
		if l, ok := d.([]any); !ok || len(l) > 0 {
			return nil, paramErr("distRepo: delta RPMs are not supported by this hub; make the repo without --delta-rpms, " +
				"then run createrepo_c --update --deltas --oldpackagedirs OLD_REPO on each arch of the published repo (needs makedeltarpm, package deltarpm)")
		}
	}
	if v := opts["volume"]; v != nil && v != "DEFAULT" {
		return nil, paramErr("distRepo: volume %s: only the DEFAULT volume is supported by this hub", quoteOdd(pyRepr(v)))
	}
	l, ok := opts["arch"].([]any)
	if !ok || len(l) == 0 {
		return nil, paramErr("distRepo: arch must be a non-empty list of arches (koji dist-repo sends the tag's)")
	}
	seen := map[string]bool{}
	var arches []string
	for _, x := range l {
		s, ok := x.(string)
		if !ok || s == "" || s == "noarch" {
			return nil, paramErr("distRepo: invalid arch %s", quoteOdd(pyRepr(x)))
		}
		ca := canonArch(s)
		if err := safeDirName("arch", ca); err != nil {
			return nil, err
		}
		if !seen[ca] {
			seen[ca] = true
			arches = append(arches, ca)
		}
	}
	sort.Strings(arches)
	return arches, nil
}

func anyStrings(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

// initDistRepoDir makes repos-dist/<tag>/<id>/ with an empty directory per
// arch and repo.json, as Koji's dist_repo_init.
func (h *Hub) initDistRepoDir(dir string, t db.Tag, repoID int64, keys []any, arches []string, opts map[string]any) error {
	for _, arch := range arches {
		if err := os.MkdirAll(filepath.Join(dir, arch), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", dir, bareErr(err))
		}
	}
	// comps: the file koji dist-repo --comps uploaded, as groups/comps.xml
	if rel, _ := opts["comps"].(string); rel != "" {
		if err := h.copyDistComps(rel, filepath.Join(dir, "groups")); err != nil {
			return err
		}
	}
	js, err := json.MarshalIndent(map[string]any{"id": repoID, "tag": t.Name, "tag_id": t.ID, "keys": keys, "volume": nil, "task_opts": opts}, "", "  ")
	if err != nil {
		return err
	}
	return storeFile(filepath.Join(dir, "repo.json"), js)
}

// distKojiPkg is one entry of kojipkgs: the RPM a file of the repo is.
type distKojiPkg struct {
	ID          int64   `json:"id"`
	BuildID     int64   `json:"build_id"`
	Name        string  `json:"name"`
	Version     string  `json:"version"`
	Release     string  `json:"release"`
	Arch        string  `json:"arch"`
	Epoch       *int64  `json:"epoch"`
	Size        int64   `json:"size"`
	PayloadHash string  `json:"payloadhash"`
	SigKey      *string `json:"sigkey"`
}

// maxDistRepoJSON bounds kojipkgs and repo_manifest.
const maxDistRepoJSON = 256 << 20

// host.distRepoMove(repo_id, uploadpath, arch): see the top of this file.
func mHostDistRepoMove(c *call, a *kojixml.Args) (any, error) {
	idArg := a.Any(0, "repo_id")
	up := a.String(1, "uploadpath")
	arch := a.String(2, "arch")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if _, err := c.requireHost(); err != nil {
		return nil, err
	}
	h := c.hub
	id, err := intArg("repo_id", idArg)
	if err != nil {
		return nil, err
	}
	r, err := h.store.GetRepo(c.ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return nil, genericErr("No such repo: %d", id)
	} else if err != nil {
		return nil, err
	}
	if !r.Dist {
		return nil, genericErr("Repo %d is not a dist repo", id)
	}
	if err := safeDirName("tag name", r.TagName); err != nil {
		return nil, err
	}
	ca := canonArch(arch)
	if err := safeDirName("arch", ca); err != nil {
		return nil, err
	}
	rel := distRel(r.TagName, r.ID)
	archDir := filepath.Join(h.cfg.TopDir, rel, ca)
	if !noSymlinkDir(archDir) {
		return nil, genericErr("Repo arch directory missing: %s/%s", rel, ca)
	}
	if r.State != db.RepoInit {
		return nil, genericErr("Repo is in state: %s", db.RepoStateName(r.State))
	}
	if _, err := workRelPath(up); err != nil {
		return nil, genericErr("Invalid upload directory: %s (%v)", quoteOdd(up), err)
	}
	var files []string
	if err := h.readWorkJSON(up+"/repo_manifest", "Missing repo manifest", &files); err != nil {
		return nil, err
	}
	var pkgs map[string]distKojiPkg
	if err := h.readWorkJSON(up+"/kojipkgs", "Missing kojipkgs file", &pkgs); err != nil {
		return nil, err
	}

	// Check everything before anything moves.
	var moves []repoMove
	for _, f := range files {
		parts, err := workRelPath(f)
		if err != nil || len(parts) == 0 || len(files) > maxRepoDoneFiles {
			return nil, genericErr("Invalid file in repo manifest: %s", quoteOdd(f))
		}
		srcRel := up + "/" + f
		fh, fi, err := h.openWorkFile(srcRel)
		if err != nil {
			return nil, genericErr("uploaded file missing: %s", srcRel)
		}
		fh.Close()
		if !fi.Mode().IsRegular() {
			return nil, genericErr("uploaded file missing: %s", srcRel)
		}
		moves = append(moves, repoMove{src: filepath.Join(h.cfg.TopDir, "work", filepath.FromSlash(srcRel)), dst: filepath.Join(archDir, filepath.FromSlash(f)), rel: srcRel})
	}
	type link struct{ src, dst string }
	var links []link
	names := make([]string, 0, len(pkgs))
	for n := range pkgs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, bnp := range names {
		p := pkgs[bnp]
		if why := badComponent(bnp); why != "" || strings.ContainsRune(bnp, '/') || !strings.HasSuffix(bnp, ".rpm") {
			return nil, genericErr("Invalid file name in kojipkgs: %s", quoteOdd(bnp))
		}
		rpm, err := h.store.GetRPM(c.ctx, p.ID)
		if errors.Is(err, db.ErrNotFound) {
			return nil, genericErr("No such rpm: %d", p.ID)
		} else if err != nil {
			return nil, err
		}
		for _, chk := range []struct {
			key string
			ok  bool
		}{
			{"name", p.Name == rpm.Name}, {"version", p.Version == rpm.Version}, {"release", p.Release == rpm.Release},
			{"arch", p.Arch == rpm.Arch}, {"epoch", eqEpoch(p.Epoch, rpm.Epoch)}, {"size", p.Size == rpm.Size},
			{"payloadhash", p.PayloadHash == rpm.PayloadHash}, {"build_id", p.BuildID == rpm.BuildID},
		} {
			if !chk.ok {
				return nil, genericErr("kojipkgs entry does not match db: file %s, key %s", bnp, chk.key)
			}
		}
		if bnp != rpm.Filename() {
			return nil, genericErr("kojipkgs entry does not match db: file %s, key name", bnp)
		}
		b, err := h.store.GetBuild(c.ctx, rpm.BuildID)
		if err != nil {
			return nil, err
		}
		src := h.rpmFile(b, rpm)
		if p.SigKey != nil && *p.SigKey != "" {
			k := strings.ToLower(*p.SigKey)
			if !validSigKey(k) {
				return nil, genericErr("kojipkgs entry does not match db: file %s, key sigkey", bnp)
			}
			src = h.signedPath(b, rpm, k)
		}
		if fi, err := os.Stat(src); err != nil || !fi.Mode().IsRegular() {
			return nil, genericErr("No such file: %s", src)
		}
		dst := filepath.Join(archDir, "Packages", strings.ToLower(bnp[:1]), bnp)
		if _, err := os.Lstat(dst); err == nil {
			return nil, genericErr("File already in repo: %s", dst)
		}
		links = append(links, link{src, dst})
	}
	for _, m := range moves {
		if err := os.MkdirAll(filepath.Dir(m.dst), 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", filepath.Dir(m.dst), bareErr(err))
		}
		if err := moveFile(m.src, m.dst); err != nil {
			return nil, fmt.Errorf("move %s into %s: %w", m.rel, rel, bareErr(err))
		}
	}
	for _, l := range links {
		if err := os.MkdirAll(filepath.Dir(l.dst), 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", filepath.Dir(l.dst), bareErr(err))
		}
		if err := linkOrCopy(l.src, l.dst); err != nil {
			return nil, fmt.Errorf("link %s into %s: %w", filepath.Base(l.src), rel, bareErr(err))
		}
	}
	c.wrote = true
	return nil, nil
}

func eqEpoch(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// readWorkJSON decodes a JSON file the host uploaded.
func (h *Hub) readWorkJSON(rel, missing string, v any) error {
	f, fi, err := h.openWorkFile(rel)
	if err != nil {
		return genericErr("%s", missing)
	}
	defer f.Close()
	if !fi.Mode().IsRegular() {
		return genericErr("%s", missing)
	}
	if fi.Size() > maxDistRepoJSON {
		return genericErr("%s: %d bytes, more than %d", rel, fi.Size(), maxDistRepoJSON)
	}
	if err := json.NewDecoder(io.LimitReader(f, maxDistRepoJSON)).Decode(v); err != nil {
		return genericErr("%s: invalid JSON: %v", rel, err)
	}
	return nil
}

// linkOrCopy hard-links src to dst, copying when they are on different
// file systems, as Koji's distRepoMove.
func linkOrCopy(src, dst string) error {
	err := os.Link(src, dst)
	if !errors.Is(err, syscall.EXDEV) && !errors.Is(err, syscall.EPERM) {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return storeFileFrom(dst, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

// distRepoDone is host.repoDone for a dist repo (Koji's repo_done with
// dist set): the arches were moved by host.distRepoMove; the repo becomes
// READY (EXPIRED with the legacy expire) and repos-dist/<tag>/latest
// points at it when it is the newest.
func (h *Hub) distRepoDone(c *call, r db.Repo, updates map[string]any, expire bool) (any, error) {
	if err := safeDirName("tag name", r.TagName); err != nil {
		return nil, err
	}
	rel := distRel(r.TagName, r.ID)
	dir := filepath.Join(h.cfg.TopDir, rel)
	if !noSymlinkDir(dir) {
		return nil, genericErr("Repo directory missing: %s", rel)
	}
	if updates != nil {
		if err := updateRepoJSON(dir, updates); err != nil {
			return nil, err
		}
	}
	if expire {
		return nil, h.setRepoState(c, r.ID, db.RepoExpired)
	}
	if err := h.setRepoState(c, r.ID, db.RepoReady); err != nil {
		return nil, err
	}
	newer, err := h.store.QueryRepos(c.ctx, []db.Clause{{Field: "tag_id", Op: "=", Value: r.TagID}, {Field: "state", Op: "=", Value: int64(db.RepoReady)},
		{Field: "dist", Op: "=", Value: true}, {Field: "id", Op: ">", Value: r.ID}})
	if err == nil && len(newer) == 0 {
		tagDir := filepath.Dir(dir)
		tmp := filepath.Join(tagDir, fmt.Sprintf(".latest-%d", r.ID))
		os.Remove(tmp)
		if err := os.Symlink(strconv.FormatInt(r.ID, 10), tmp); err == nil {
			if err := os.Rename(tmp, filepath.Join(tagDir, "latest")); err != nil {
				os.Remove(tmp)
			}
		}
	}
	return nil, nil
}

// host.writeSignedRPM(an_rpm, sigkey, force=False): writeSignedRPM for a
// builder (dist-repo's write_signed_rpms).
func mHostWriteSignedRPM(c *call, a *kojixml.Args) (any, error) {
	return writeSignedRPM(c, a, "")
}

// maxCompsSize bounds a dist repo's comps file.
const maxCompsSize = 64 << 20

// copyDistComps copies the comps file at rel (under topdir/work) to
// groupsDir/comps.xml.
func (h *Hub) copyDistComps(rel, groupsDir string) error {
	f, fi, err := h.openWorkFile(rel)
	if err != nil {
		return genericErr("distRepo: comps file %s: %v", quoteOdd(rel), bareErr(err))
	}
	defer f.Close()
	if !fi.Mode().IsRegular() || fi.Size() > maxCompsSize {
		return genericErr("distRepo: comps file %s is not a regular file of at most %d bytes", quoteOdd(rel), maxCompsSize)
	}
	if err := os.MkdirAll(groupsDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", groupsDir, bareErr(err))
	}
	return storeFileFrom(filepath.Join(groupsDir, "comps.xml"), func(w io.Writer) error {
		_, err := io.Copy(w, io.LimitReader(f, maxCompsSize))
		return err
	})
}
