package builderd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"kojigo/builderd/pgroup"
	"kojigo/internal/health"
	"kojigo/internal/kojixml"
)

// handler runs one task method.
type handler interface {
	// weight is the task's load on the host (Koji's _taskWeight).
	weight(t *task) float64
	// check returns a *refusal when this host should not run the task.
	check(ctx context.Context, t *task) error
	// run does the work and returns the task result.
	run(ctx context.Context, t *task) (any, error)
}

// handlers is the one list of task methods kojid runs.
func handlers() map[string]handler {
	return map[string]handler{
		"build":            buildHandler{},
		"buildSRPMFromSCM": srpmHandler{},
		"buildArch":        buildArchHandler{},
		"tagBuild":         tagBuildHandler{},
		"newRepo":          newRepoHandler{},
		"waitrepo":         waitrepoHandler{},
		"createrepo":       createrepoHandler{},
		"distRepo":         distRepoHandler{}, "createdistrepo": createDistRepoHandler{},
		"buildNotification": buildNotificationHandler{}, "tagNotification": tagNotificationHandler{},
		"chainbuild": chainbuildHandler{}, "dependantTask": dependantTaskHandler{},
		"restartHosts": restartHostsHandler{}, "restart": restartHandler{}, "restartVerify": restartVerifyHandler{},
	}
}

// args binds a task's parameters; errors are ParameterError faults.
func (t *task) args() *kojixml.Args { return kojixml.NewArgs(t.method, t.params) }

// rpmTree is a private rpmbuild tree for one task: its own _topdir, HOME and
// TMPDIR, owned by the build user.
type rpmTree struct {
	top, home, tmp string
	cred           *syscall.Credential
	who            string // "uid 1000 (kojibuilder)", for root.log
	env            []string
}

// newRPMTree creates the tree under the task directory. When kojid runs as
// root the build runs as mockuser, if that user exists.
func (t *task) newRPMTree() (*rpmTree, error) {
	r := &rpmTree{
		top:  filepath.Join(t.dir, "rpmbuild"),
		home: filepath.Join(t.dir, "home"),
		tmp:  filepath.Join(t.dir, "tmp"),
	}
	dirs := []string{r.home, r.tmp}
	for _, sub := range []string{"BUILD", "BUILDROOT", "RPMS", "SOURCES", "SPECS", "SRPMS"} {
		dirs = append(dirs, filepath.Join(r.top, sub))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, noSpace(fmt.Errorf("create build tree: %w", err), t.d.cfg.WorkDir)
		}
	}
	uid, gid := os.Geteuid(), os.Getegid()
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if uid == 0 && t.d.cfg.MockUser != "" {
		if u, err := user.Lookup(t.d.cfg.MockUser); err == nil {
			nuid, err1 := strconv.Atoi(u.Uid)
			ngid, err2 := strconv.Atoi(u.Gid)
			if err1 == nil && err2 == nil {
				uid, gid, name = nuid, ngid, u.Username
				r.cred = &syscall.Credential{Uid: uint32(nuid), Gid: uint32(ngid)} //nolint:gosec // ids from passwd
				for _, d := range []string{r.top, r.home, r.tmp} {
					if err := chownTree(d, nuid, ngid); err != nil {
						return nil, fmt.Errorf("give the build tree to %s: %w", u.Username, err)
					}
				}
			}
		}
	}
	r.who = fmt.Sprintf("uid %d gid %d", uid, gid)
	if name != "" {
		r.who += " (" + name + ")"
	}
	r.env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
		"HOME=" + r.home,
		"TMPDIR=" + r.tmp,
		"LANG=C.UTF-8",
		"LC_ALL=C.UTF-8",
		"SHELL=/bin/sh",
	}
	if name != "" {
		r.env = append(r.env, "USER="+name, "LOGNAME="+name)
	}
	return r, nil
}

func chownTree(root string, uid, gid int) error {
	return filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// defines are the rpmbuild macros of the private tree and kojid.conf.
func (r *rpmTree) defines(cfg *Config) []string {
	var args []string
	def := func(name, value string) {
		args = append(args, "--define", name+" "+value)
	}
	def("_topdir", r.top)
	def("_tmppath", r.tmp)
	if cfg.Vendor != "" {
		def("vendor", cfg.Vendor)
	}
	if cfg.Packager != "" {
		def("packager", cfg.Packager)
	}
	if cfg.Distribution != "" {
		def("distribution", cfg.Distribution)
	}
	return args
}

// describeRPMBuildMode writes to root.log which buildroot is used and what it
// does not protect against, so nobody mistakes it for mock's chroot.
func (t *task) describeRPMBuildMode(r *rpmTree, why, deps string) {
	t.logf("root.log", "buildroot: rpmbuild in a private tree (%s)", why)
	t.logf("root.log", "  _topdir=%s", r.top)
	t.logf("root.log", "  HOME=%s TMPDIR=%s", r.home, r.tmp)
	t.logf("root.log", "  runs as %s, in its own process group; the environment is reset", r.who)
	t.logf("root.log", "limits of this mode (mock gives a chroot instead):")
	t.logf("root.log", "  no chroot: the build sees the host's tools and libraries")
	t.logf("root.log", "  %s", deps)
	if r.cred == nil {
		t.logf("root.log", "  the build may write wherever %s may: run kojid as root with a mockuser account to confine it", r.who)
	} else {
		t.logf("root.log", "  the build may still write where %s may (e.g. /tmp)", r.who)
	}
	t.logf("root.log", "  the network is not cut off")
}

// mockChoice explains the build mode for root.log.
func (t *task) mockChoice() (useMock bool, why string) {
	mode, _ := t.d.cfg.mockMode()
	switch mode {
	case mockNo:
		return false, "use_mock = no"
	case mockYes:
		return true, "use_mock = yes"
	}
	if p, err := t.d.lookPath("mock"); err == nil {
		return true, "use_mock = auto and mock is installed at " + p
	}
	return false, "use_mock = auto and mock is not installed"
}

// toolFailure is the fault of a failed build step: it names the log to read
// and carries its last lines (with the first compiler error, when there is
// one further up), or says which filesystem is full.
func (t *task) toolFailure(tool, logName, arch string, res pgroup.Result) error {
	tail := tailLog(t.logPath(logName), 20, 256<<10)
	if strings.Contains(tail, "No space left on device") || t.workdirFull() {
		return buildErrorf("no space left on %s: %s %s; see %s", t.d.cfg.WorkDir, tool, describeEnd(res), logName)
	}
	what := "error building package"
	if arch != "" {
		what += " (arch " + arch + ")"
	}
	msg := fmt.Sprintf("%s, %s %s; see %s for more information", what, tool, describeEnd(res), logName)
	if tail != "" {
		msg += "\n\nlast lines of " + logName + ":\n" + tail
	}
	return buildErrorf("%s", msg)
}

// workdirFull reports whether the workdir's filesystem has (almost) no space.
func (t *task) workdirFull() bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(t.d.cfg.WorkDir, &st); err != nil {
		return false
	}
	return uint64(st.Bavail)*uint64(st.Bsize) < 64<<10 //nolint:gosec // sizes are positive
}

func describeEnd(res pgroup.Result) string {
	switch {
	case res.Stopped && errors.Is(res.StopCause, pgroup.ErrTimeout):
		return fmt.Sprintf("timed out after %v", res.Duration.Round(time.Second))
	case res.Signal != 0:
		return fmt.Sprintf("was killed by signal %d (%v)", int(res.Signal), res.Signal)
	}
	return fmt.Sprintf("exited with status %d", res.ExitCode)
}

// compilerError matches a compiler diagnostic: file:line[:col]: [fatal ]error: ...
var compilerError = regexp.MustCompile(`(?m)^[^\s:][^:\n]*:\d+(:\d+)?: (fatal )?error: .*$`)

// tailLog returns the last n lines of a log, reading at most max bytes from
// its end. When the first compiler error is further up than those lines, it
// comes first, followed by "...".
func tailLog(path string, n int, max int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := fi.Size() - max
	if off < 0 {
		off = 0
	}
	buf, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return ""
	}
	buf = bytes.ToValidUTF8(buf, []byte("\uFFFD"))
	text := strings.TrimRight(string(buf), "\n")
	lines := strings.Split(text, "\n")
	if off > 0 && len(lines) > 1 {
		lines = lines[1:] // a partial first line
	}
	start := len(lines) - n
	if start < 0 {
		start = 0
	}
	tail := strings.Join(lines[start:], "\n")
	if first := compilerError.FindString(strings.Join(lines[:start], "\n")); first != "" && !compilerError.MatchString(tail) {
		tail = first + "\n...\n" + tail
	}
	return tail
}

// collect returns the files under root whose names end with suffix, sorted.
func collect(root, suffix string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(d.Name(), suffix) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

// gitCheck refuses SCM tasks on a host without git.
func (t *task) needTool(name string) error {
	if _, err := t.d.lookPath(name); err != nil {
		_, reasons := health.Evaluate(health.Config{RequiredTools: []string{name}, MinSpace: -1, MaxLoad: -1, MaxJobs: -1}, health.Probe{})
		msg := name + " not found"
		if len(reasons) > 0 {
			msg = reasons[0]
		}
		return &refusal{soft: true, msg: msg}
	}
	return nil
}
