package kojira

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// safeTagDir checks that a tag name from the hub is one directory name
// under topdir/repos: a hub (or a database) handing out "../etc" or "a/b"
// must not make kojira remove anything outside its tree.
func safeTagDir(name string) error {
	switch {
	case name == "":
		return errors.New("empty tag name")
	case name == "." || name == ".." || strings.HasPrefix(name, "."):
		return fmt.Errorf("tag name %q starts with a dot", name)
	case strings.ContainsAny(name, "/\\\x00"):
		return fmt.Errorf("tag name %q is not a single directory name", name)
	case len(name) > 255:
		return fmt.Errorf("tag name %.40q... is too long", name)
	}
	return nil
}

// reposBase is topdir/repos (topdir/repos-dist for dist repos).
func (d *daemon) reposBase(dist bool) string {
	if dist {
		return filepath.Join(d.cfg.TopDir, "repos-dist")
	}
	return filepath.Join(d.cfg.TopDir, "repos")
}

// latestTarget is the name repos/<tag>/latest points at ("" when none).
func latestTarget(tagDir string) string {
	t, err := os.Readlink(filepath.Join(tagDir, "latest"))
	if err != nil {
		return ""
	}
	return filepath.Base(filepath.Clean(t))
}

// removeRepoDir queues the removal of <base>/<tag>/<id>: a symlink is
// unlinked at once, a directory is removed in the background. The tag
// directory must be a real directory and the repo must not be what
// <tag>/latest points at.
func (d *daemon) removeRepoDir(tag string, id int64, dist bool, why string) error {
	if err := safeTagDir(tag); err != nil {
		return fmt.Errorf("refusing to remove repo %d: %w", id, err)
	}
	tagDir := filepath.Join(d.reposBase(dist), tag)
	fi, err := os.Lstat(tagDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("refusing to remove repo %d: %s is not a directory (a symlink?)", id, tagDir)
	}
	name := strconv.FormatInt(id, 10)
	if latestTarget(tagDir) == name {
		return fmt.Errorf("repo %d is the target of %s/latest: left on disk", id, tagDir)
	}
	p := filepath.Join(tagDir, name)
	fi, err = os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		d.log.Info("removing repo link", "path", p, "why", why)
		return os.Remove(p)
	case fi.IsDir():
		d.rmtree(p, why)
		return nil
	}
	return fmt.Errorf("refusing to remove %s: not a directory", p)
}

// rmtree removes path in the background, at most max_delete_processes at
// once. A removal under way when kojira stops finishes; queued ones are
// dropped (the next kojira finds them as deleted or unknown directories).
func (d *daemon) rmtree(path, why string) {
	d.delMu.Lock()
	if d.pending[path] {
		d.delMu.Unlock()
		return
	}
	d.pending[path] = true
	d.delMu.Unlock()
	d.log.Info("removing repo directory", "path", path, "why", why)
	d.delWG.Add(1)
	go func() {
		defer d.delWG.Done()
		defer func() {
			d.delMu.Lock()
			delete(d.pending, path)
			d.delMu.Unlock()
		}()
		select {
		case d.sem <- struct{}{}:
		default: // all deleters busy: wait for one, unless kojira stops
			select {
			case d.sem <- struct{}{}:
			case <-d.delCtx.Done():
				return
			}
		}
		defer func() { <-d.sem }()
		start := time.Now()
		// RemoveAll does not follow symlinks: toplink (to topdir) is unlinked, not walked
		if err := os.RemoveAll(path); err != nil {
			d.log.Error("removing repo directory failed", "path", path, "err", err)
			return
		}
		d.log.Info("removed repo directory", "path", path, "duration", time.Since(start).Round(time.Millisecond))
	}()
}

func (d *daemon) isPending(path string) bool {
	d.delMu.Lock()
	defer d.delMu.Unlock()
	return d.pending[path]
}

// strayDir is a directory under topdir/repos that is not a repo the hub
// lists as live.
type strayDir struct {
	tag   string
	id    int64
	path  string
	mtime time.Time
}

// maxQueryIDs bounds the ids of one repo.query IN clause.
const maxQueryIDs = 500

// prune scans topdir/repos for repo directories (<tag>/<id>) that are not
// among known (the hub's live repos) and removes those the hub does not
// know (once older than expired_repo_lifetime, unless ignore_stray_repos)
// or has DELETED. It never touches a tag's latest link or its target, names
// that are not repo ids, or anything starting with a dot. It returns how
// many it removed or queued.
func (d *daemon) prune(ctx context.Context, known map[int64]bool) (int, error) {
	base := d.reposBase(false)
	tags, err := os.ReadDir(base)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("scan %s: %w", base, err)
	}
	var strays []strayDir
	for _, t := range tags {
		if safeTagDir(t.Name()) != nil || !t.IsDir() { // DirEntry.IsDir is false for a symlink
			continue
		}
		tagDir := filepath.Join(base, t.Name())
		entries, err := os.ReadDir(tagDir)
		if err != nil {
			d.log.Warn("cannot scan tag directory", "path", tagDir, "err", err)
			continue
		}
		latest := latestTarget(tagDir)
		for _, e := range entries {
			name := e.Name()
			if name == "latest" || name == latest {
				continue
			}
			id, err := strconv.ParseInt(name, 10, 64)
			if err != nil || id <= 0 || strconv.FormatInt(id, 10) != name || known[id] {
				continue
			}
			p := filepath.Join(tagDir, name)
			if d.isPending(p) {
				continue
			}
			fi, err := os.Lstat(p)
			if err != nil || (!fi.IsDir() && fi.Mode()&fs.ModeSymlink == 0) {
				continue
			}
			strays = append(strays, strayDir{tag: t.Name(), id: id, path: p, mtime: fi.ModTime()})
		}
	}
	if len(strays) == 0 {
		return 0, nil
	}
	hubRepos := map[int64]repoRow{}
	for i := 0; i < len(strays); i += maxQueryIDs {
		var ids []any
		for _, s := range strays[i:min(i+maxQueryIDs, len(strays))] {
			ids = append(ids, s.id)
		}
		rows, err := d.queryRepos(ctx, []any{[]any{"id", "IN", ids}})
		if err != nil {
			return 0, err
		}
		for _, r := range rows {
			hubRepos[r.ID] = r
		}
	}
	now := d.now()
	n := 0
	for _, s := range strays {
		r, ok := hubRepos[s.id]
		switch {
		case !ok:
			if d.cfg.IgnoreStrayRepos {
				continue
			}
			if a := now.Sub(s.mtime); a <= d.cfg.ExpiredRepoLifetime {
				d.log.Debug("unknown repo directory, too recent to remove", "path", s.path, "age", a.Round(time.Second))
				continue
			}
			if err := d.removeRepoDir(s.tag, s.id, false, "no such repo on the hub"); err != nil {
				d.log.Warn("unknown repo directory not removed", "path", s.path, "err", err)
				continue
			}
			n++
		case r.TagName != s.tag:
			if !d.warned[s.path] {
				d.warned[s.path] = true
				d.log.Warn("repo directory under another tag's name (renamed tag?): left alone", "path", s.path, "repo", s.id, "hub_tag", r.TagName)
			}
		case r.State == repoDeleted:
			if err := d.removeRepoDir(s.tag, s.id, false, "deleted on the hub"); err != nil {
				d.log.Warn("deleted repo directory not removed", "path", s.path, "err", err)
				continue
			}
			n++
		}
	}
	return n, nil
}

// defaultIdentity names this kojira in the heartbeat: host and pid.
func defaultIdentity() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s pid %d", h, os.Getpid())
}

// heartbeatPath is the active kojira's heartbeat file.
func heartbeatPath(topdir string) string {
	return filepath.Join(topdir, "repos", heartbeatName)
}

// heartbeat records that this kojira is active and alive: a standby takes
// over once the file is older than lock_timeout. Written to a temporary
// name and renamed, so a reader never sees half of it.
func (d *daemon) heartbeat() {
	dir := filepath.Join(d.cfg.TopDir, "repos")
	err := os.MkdirAll(dir, 0o755)
	if err == nil {
		var f *os.File
		f, err = os.CreateTemp(dir, heartbeatName+".*")
		if err == nil {
			_, err = fmt.Fprintf(f, "%s\n%s\n", d.ident, d.now().UTC().Format(time.RFC3339))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Rename(f.Name(), heartbeatPath(d.cfg.TopDir))
			}
			if err != nil {
				os.Remove(f.Name())
			}
		}
	}
	if err != nil && !d.warned["heartbeat"] {
		d.warned["heartbeat"] = true
		d.log.Error("cannot write the heartbeat file: a standby kojira will take over", "err", err,
			"path", heartbeatPath(d.cfg.TopDir))
	} else if err == nil {
		d.warned["heartbeat"] = false
	}
}

// heartbeatAge returns how old the active kojira's heartbeat is and who
// wrote it; ok is false when there is no heartbeat file.
func heartbeatAge(topdir string, now time.Time) (age time.Duration, who string, ok bool) {
	p := heartbeatPath(topdir)
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return 0, "", false
	}
	data, _ := os.ReadFile(p)
	who, _, _ = strings.Cut(string(data), "\n")
	if len(who) > 200 {
		who = who[:200]
	}
	return now.Sub(fi.ModTime()), who, true
}
