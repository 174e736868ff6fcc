package hubcore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"kojigo/db"
	"kojigo/hubcore/policy"
	"kojigo/internal/kojixml"
)

// Storage volumes, as Koji 1.35: DEFAULT is topdir itself; a volume NAME
// is the directory topdir/vol/NAME (an admin makes it, often a mount),
// holding a symlink "toplink" back to topdir. A build's files are under
// its volume's packages/NAME/VERSION/RELEASE; a build on another volume
// than DEFAULT keeps a relative symlink at its DEFAULT place, so readers
// of topdir/packages (the /kojifiles/ server, kojira, builders) find it
// wherever it is. A completing build goes to the volume the hub's
// 'volume' policy names (completionVolume).
func volumeMethods() []method {
	return []method{
		{name: "listVolumes", argdesc: "()", fn: mListVolumes},
		{name: "getVolume", argdesc: "(volume, strict=False)", fn: mGetVolume},
		{name: "addVolume", argdesc: "(name, strict=True)", fn: mAddVolume},
		{name: "removeVolume", argdesc: "(volume)", fn: mRemoveVolume},
		{name: "changeBuildVolume", argdesc: "(build, volume, strict=True)", fn: mChangeBuildVolume},
	}
}

func volumeMap(v db.Volume) map[string]any { return map[string]any{"id": v.ID, "name": v.Name} }

// volumeDir is Koji's pathinfo.volumedir.
func (h *Hub) volumeDir(name string) string {
	if name == "" || name == "DEFAULT" {
		return h.cfg.TopDir
	}
	return filepath.Join(h.cfg.TopDir, "vol", name)
}

// buildDir is Koji's pathinfo.build for a build on a volume.
func (h *Hub) buildDir(b db.Build, volume string) string {
	return filepath.Join(h.volumeDir(volume), "packages", b.PackageName, b.Version, b.Release)
}

// lookupVolume is Koji's lookup_name('volume', info): nil when there is none.
func (h *Hub) lookupVolume(c *call, info any) (*db.Volume, error) {
	id, name, err := nameOrID(info)
	if err != nil {
		return nil, err
	}
	var v db.Volume
	if id != nil {
		v, err = h.store.GetVolume(c.ctx, *id)
	} else {
		v, err = h.store.GetVolumeByName(c.ctx, name)
	}
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// listVolumes()
func mListVolumes(c *call, a *kojixml.Args) (any, error) {
	if err := a.Done(); err != nil {
		return nil, err
	}
	vs, err := c.hub.store.ListVolumes(c.ctx)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(vs))
	for _, v := range vs {
		out = append(out, volumeMap(v))
	}
	return out, nil
}

// getVolume(volume, strict=False)
func mGetVolume(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "volume")
	strict := a.OptBool(1, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	v, err := c.hub.lookupVolume(c, info)
	if err != nil {
		return nil, err
	}
	if v == nil {
		if strict {
			return nil, genericErr("No such volume: %s", pyValue(info))
		}
		return nil, nil
	}
	return volumeMap(*v), nil
}

// validVolumeName is validateName plus: the name is one path component.
func validVolumeName(name string) error {
	if err := validateName(name); err != nil {
		return err
	}
	if strings.ContainsRune(name, '/') || name == "." || name == ".." {
		return fault(kojixml.NameValidationError, "Name %q is not a directory name: a volume is topdir/vol/NAME", name)
	}
	return nil
}

// addVolume(name, strict=True): the directory topdir/vol/NAME must exist;
// its toplink is made if missing and checked if there.
func mAddVolume(c *call, a *kojixml.Args) (any, error) {
	name := a.Any(0, "name")
	strict := a.OptBool(1, "strict", true)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	s, ok := name.(string)
	if !ok {
		return nil, genericErr("Name should be string")
	}
	if err := validVolumeName(s); err != nil {
		return nil, err
	}
	top := c.hub.cfg.TopDir
	voldir := c.hub.volumeDir(s)
	if st, err := os.Stat(voldir); err != nil || !st.IsDir() {
		return nil, genericErr("please create the volume directory first")
	}
	toplink := filepath.Join(voldir, "toplink")
	switch st, err := os.Lstat(toplink); {
	case err == nil && st.Mode()&fs.ModeSymlink != 0:
		target, serr := os.Stat(toplink)
		if serr != nil {
			return nil, genericErr("Broken volume toplink: %s", toplink)
		}
		topst, terr := os.Stat(top)
		if terr != nil || !os.SameFile(target, topst) {
			return nil, genericErr("Invalid volume toplink: %s", toplink)
		}
	case err == nil:
		return nil, genericErr("Not a symlink: %s", toplink)
	case errors.Is(err, fs.ErrNotExist):
		c.hub.log.Warn("no toplink for volume: creating it", "toplink", toplink, "target", top)
		if err := os.Symlink(top, toplink); err != nil {
			return nil, fmt.Errorf("create volume toplink: %w", err)
		}
	default:
		return nil, fmt.Errorf("volume toplink: %w", err)
	}
	v, err := c.hub.store.GetVolumeByName(c.ctx, s)
	switch {
	case err == nil && strict:
		return nil, genericErr("volume %s already exists", s)
	case err == nil:
		return volumeMap(v), nil
	case !errors.Is(err, db.ErrNotFound):
		return nil, err
	}
	id, err := c.hub.store.CreateVolume(c.ctx, s)
	if errors.Is(err, db.ErrConflict) {
		if strict {
			return nil, genericErr("volume %s already exists", s)
		}
		v, err := c.hub.store.GetVolumeByName(c.ctx, s)
		return volumeMap(v), err
	}
	if err != nil {
		return nil, err
	}
	c.wrote = true
	return map[string]any{"id": id, "name": s}, nil
}

// removeVolume(volume): only a volume no build is on.
func mRemoveVolume(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "volume")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	v, err := c.hub.lookupVolume(c, info)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, genericErr("No such entry in table volume: %s", pyValue(info))
	}
	if v.ID == db.DefaultVolumeID {
		return nil, genericErr("volume %s has build references", v.Name)
	}
	if err := c.hub.store.DeleteVolume(c.ctx, v.ID); errors.Is(err, db.ErrVolumeInUse) {
		return nil, genericErr("volume %s has build references", v.Name)
	} else if err != nil && !errors.Is(err, db.ErrNotFound) {
		return nil, err
	}
	c.wrote = true
	return nil, nil
}

// changeBuildVolume(build, volume, strict=True): move a complete or
// deleted build's files to another volume, as Koji's change_build_volume:
// copy, record the new volume (a VOLUME_CHANGE of every tag the build is
// in), remove the old copy, and keep the DEFAULT place a symlink to it.
func mChangeBuildVolume(c *call, a *kojixml.Args) (any, error) {
	binfo := a.Any(0, "build")
	vinfo := a.Any(1, "volume")
	strict := a.OptBool(2, "strict", true)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("admin"); err != nil {
		return nil, err
	}
	vol, err := c.hub.lookupVolume(c, vinfo)
	if err != nil {
		return nil, err
	}
	if vol == nil {
		return nil, genericErr("No such entry in table volume: %s", pyValue(vinfo))
	}
	b, err := c.hub.mustBuild(c, binfo)
	if err != nil {
		return nil, err
	}
	return nil, c.hub.moveBuild(c, b, *vol, strict)
}

func (h *Hub) moveBuild(c *call, b db.Build, vol db.Volume, strict bool) error {
	// Two hubs moving one build at once: the second rename onto the
	// destination fails, and that move changes nothing.
	cur, err := h.store.BuildVolume(c.ctx, b.ID)
	if err != nil {
		return err
	}
	if cur.ID == vol.ID {
		if strict {
			return genericErr("Build %s already on volume %s", b.NVR(), vol.Name)
		}
		return nil
	}
	if b.State != db.BuildComplete && b.State != db.BuildDeleted {
		return genericErr("Build %s is %s", b.NVR(), db.BuildStateName(b.State))
	}
	if st, err := os.Stat(h.volumeDir(vol.Name)); err != nil || !st.IsDir() {
		return genericErr("Directory entry missing for volume %s", vol.Name)
	}
	vols, err := h.store.ListVolumes(c.ctx)
	if err != nil {
		return err
	}
	for _, v := range vols {
		dir := h.buildDir(b, v.Name)
		_, lerr := os.Lstat(dir)
		exists := lerr == nil
		switch {
		case v.ID == cur.ID:
		case v.ID == db.DefaultVolumeID && isSymlink(dir):
			// the convenience symlink
		case v.ID == vol.ID:
			if exists {
				return genericErr("Destination directory exists: %s", dir)
			}
		case exists:
			return genericErr("Unexpected cross-volume content: %s", dir)
		}
	}
	olddir, newdir := h.buildDir(b, cur.Name), h.buildDir(b, vol.Name)
	st, err := os.Stat(olddir)
	if err != nil {
		return genericErr("Build directory missing: %s", olddir)
	}
	if !st.IsDir() {
		return genericErr("Not a directory: %s", olddir)
	}
	if vol.ID == db.DefaultVolumeID && isSymlink(newdir) {
		if err := os.Remove(newdir); err != nil {
			return fmt.Errorf("remove volume symlink: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(newdir), 0o755); err != nil {
		return fmt.Errorf("move build %s: %w", b.NVR(), err)
	}
	// copy to a temporary name, then rename: a failed copy leaves no
	// half-written build directory on the new volume
	tmp, err := os.MkdirTemp(filepath.Dir(newdir), "."+filepath.Base(newdir)+".moving-")
	if err != nil {
		return fmt.Errorf("move build %s to volume %s: %w", b.NVR(), vol.Name, err)
	}
	if err := copyTree(olddir, tmp); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("move build %s to volume %s: %w", b.NVR(), vol.Name, err)
	}
	if err := os.Rename(tmp, newdir); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("move build %s to volume %s: %w", b.NVR(), vol.Name, err)
	}
	if err := h.store.SetBuildVolume(c.ctx, b.ID, vol.ID, &c.user.ID); err != nil {
		os.RemoveAll(newdir)
		return err
	}
	c.wrote = true
	// the old copy goes; at the DEFAULT place a symlink replaces it
	old := filepath.Join(filepath.Dir(olddir), "."+filepath.Base(olddir)+".old-"+filepath.Base(tmp))
	if err := os.Rename(olddir, old); err != nil {
		h.log.Error("move build: cannot remove the old copy", "build", b.NVR(), "dir", olddir, "err", err)
		return nil
	}
	if vol.ID != db.DefaultVolumeID {
		base := h.buildDir(b, "DEFAULT")
		if isSymlink(base) {
			os.Remove(base)
		}
		rel, err := filepath.Rel(filepath.Dir(base), newdir)
		if err == nil {
			err = os.Symlink(rel, base)
		}
		if err != nil {
			h.log.Error("move build: cannot link its DEFAULT place", "build", b.NVR(), "link", base, "err", err)
		}
	}
	if err := os.RemoveAll(old); err != nil {
		h.log.Error("move build: cannot remove the old copy", "build", b.NVR(), "dir", old, "err", err)
	}
	return nil
}

func isSymlink(p string) bool {
	st, err := os.Lstat(p)
	return err == nil && st.Mode()&fs.ModeSymlink != 0
}

// copyTree copies a directory as Python's shutil.copytree(symlinks=True):
// symlinks as symlinks, files with their mode, each file synced.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir() && rel == ".":
			return os.Chmod(target, info.Mode().Perm()|0o700)
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.Mode().IsRegular():
			return copyFile(p, target, info.Mode().Perm())
		}
		return nil // sockets, devices: not build content
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// completionVolume is Koji's check_volume_policy(policy_data, strict=False,
// default='DEFAULT') at a build's import: the 'volume' policy's result
// with the build's package, version, release, buildroots, import and
// import_type 'rpm', and what the task's arguments say (source, target,
// tag, ...). A policy that fails or names no volume gives DEFAULT (and
// the hub's log says why).
func (h *Hub) completionVolume(c *call, b db.Build, taskID int64, buildroots []int64) db.Volume {
	brs := make([]any, 0, len(buildroots))
	for _, br := range buildroots {
		brs = append(brs, br)
	}
	data := policy.Data{"package": b.PackageName, "version": b.Version, "release": b.Release,
		"buildroots": brs, "import": true, "import_type": "rpm"}
	if t, err := h.store.GetTask(c.ctx, taskID); err == nil {
		if req, err := kojixml.DecodeCall(strings.NewReader(t.Request)); err == nil {
			for k, v := range policyDataFromTaskArgs(c, t.Method, req.Params) {
				data[k] = v
			}
		}
	}
	return h.volumeByPolicy(c, b.NVR(), data)
}

// volumeByPolicy is Koji's check_volume_policy(data, strict=False) with
// DEFAULT as the fallback: a policy error, no match or an unknown volume
// is logged and gives DEFAULT.
func (h *Hub) volumeByPolicy(c *call, nvr string, data policy.Data) db.Volume {
	def := db.Volume{ID: db.DefaultVolumeID, Name: "DEFAULT"}
	ev := &policy.Eval[*call]{Set: h.policies, Env: c}
	dec, err := ev.Apply("volume", data)
	if err != nil {
		h.log.Error("volume policy error", "build", nvr, "err", err)
		return def
	}
	if !dec.Matched {
		h.log.Warn("no volume policy match", "build", nvr)
		return def
	}
	name := strings.TrimSpace(dec.Action)
	v, err := h.store.GetVolumeByName(c.ctx, name)
	if err != nil {
		h.log.Error("volume policy returned no such volume", "volume", name, "build", nvr, "rule", dec.LastRule(), "err", err)
		return def
	}
	return v
}

// prepareBuildDir makes the build's directory on its volume and, for a
// volume other than DEFAULT, the symlink at its DEFAULT place (Koji's
// ensure_volume_symlink), so that what is written under
// topdir/packages/N/V/R lands on the volume. A symlink an earlier attempt
// left is replaced; real content at the DEFAULT place is a fault.
func (h *Hub) prepareBuildDir(b db.Build, vol db.Volume) error {
	base := h.buildDir(b, "DEFAULT")
	if vol.ID == db.DefaultVolumeID {
		if isSymlink(base) {
			if err := os.Remove(base); err != nil {
				return fmt.Errorf("remove stale volume symlink: %w", err)
			}
		}
		return nil
	}
	if st, err := os.Stat(h.volumeDir(vol.Name)); err != nil || !st.IsDir() {
		return genericErr("Directory entry missing for volume %s: mount or create %s", vol.Name, h.volumeDir(vol.Name))
	}
	dir := h.buildDir(b, vol.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	rel, err := filepath.Rel(filepath.Dir(base), dir)
	if err != nil {
		return err
	}
	switch st, err := os.Lstat(base); {
	case err == nil && st.Mode()&fs.ModeSymlink != 0:
		if cur, _ := os.Readlink(base); cur == rel {
			return nil
		}
		if err := os.Remove(base); err != nil {
			return fmt.Errorf("replace volume symlink: %w", err)
		}
	case err == nil:
		// an empty directory (an earlier, failed import) may go
		if rerr := os.Remove(base); rerr != nil {
			return genericErr("Unexpected build content: %s", base)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	default:
		if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(base), err)
		}
	}
	if err := os.Symlink(rel, base); err != nil {
		return fmt.Errorf("link %s to volume %s: %w", base, vol.Name, err)
	}
	return nil
}
