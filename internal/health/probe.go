package health

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Roles of the watched filesystems, as reported in Disk.Role.
const (
	RoleWorkdir = "workdir"
	RoleMockdir = "mockdir"
	RoleTopdir  = "topdir"
)

// Watch is a directory whose filesystem must keep minspace free.
type Watch struct {
	Role string // RoleWorkdir, RoleMockdir, RoleTopdir or any short word
	Path string
	// Writable asks the prober to create and remove a file in Path on every
	// probe; a failure becomes Disk.WriteErr.
	Writable bool
}

// Disk is what a probe saw of one watched directory.
type Disk struct {
	Role  string
	Path  string
	Mount string // mount point holding Path ("" when unknown)
	Free  uint64 // bytes available to an unprivileged writer (f_bavail)
	Total uint64 // bytes in the filesystem
	// Err is set when the filesystem could not be measured (missing directory...).
	Err error
	// WriteErr is set when Watch.Writable was asked and writing failed.
	WriteErr error
}

// Probe is one measurement of the host. The machine fields are filled by a
// Prober; the task fields (Jobs, TaskLoad, Capacity, Enabled) by the daemon,
// which knows them, before Evaluate.
type Probe struct {
	Time time.Time

	Disks        []Disk
	MemTotal     uint64 // bytes, /proc/meminfo MemTotal
	MemAvailable uint64 // bytes, /proc/meminfo MemAvailable
	Load1        float64
	Load5        float64
	Load15       float64
	LoadErr      error // /proc/loadavg unreadable; load checks are skipped
	CPUs         int

	// Tools maps each probed tool name to its path, "" when not found.
	Tools map[string]string

	CertFile     string
	CertNotAfter time.Time // zero when no certificate was probed
	CertErr      error

	// Filled by the daemon.
	Jobs     int     // tasks running on this host now (kojid leaves out parents waiting on subtasks)
	TaskLoad float64 // sum of the weights of running, non-waiting tasks
	Capacity float64 // host capacity from the hub (0: not known, not checked)
	Disabled bool    // the hub says the host is disabled
	Comment  string  // the hub's comment on the host, shown with Disabled
}

// ProberOptions configures a Prober. Zero values are the documented defaults.
type ProberOptions struct {
	// Watches are the directories whose filesystems are measured.
	Watches []Watch
	// Tools are looked up in PATH on every probe. Default: rpmbuild, mock, git.
	Tools []string
	// CertFile is the PEM client certificate whose expiry is reported; "" skips it.
	CertFile string
	// ProcDir is where meminfo and loadavg are read. Default: /proc.
	ProcDir string
	// LookPath finds a tool. Default: exec.LookPath.
	LookPath func(string) (string, error)
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// DefaultTools returns the tools probed when ProberOptions.Tools is nil.
func DefaultTools() []string { return []string{"rpmbuild", "mock", "git"} }

// Prober measures the host. It holds no state between probes and is safe for
// concurrent use.
type Prober struct {
	opts ProberOptions
}

// NewProber returns a Prober; it fails on a watch without a path or role.
func NewProber(opts ProberOptions) (*Prober, error) {
	for i, w := range opts.Watches {
		if w.Path == "" {
			return nil, fmt.Errorf("new prober: watch %d (%q) has no path", i, w.Role)
		}
		if w.Role == "" {
			return nil, fmt.Errorf("new prober: watch %q has no role", w.Path)
		}
	}
	if opts.Tools == nil {
		opts.Tools = DefaultTools()
	}
	if opts.ProcDir == "" {
		opts.ProcDir = "/proc"
	}
	if opts.LookPath == nil {
		opts.LookPath = exec.LookPath
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Prober{opts: opts}, nil
}

// Probe measures the host now. Failures of single measurements are recorded
// in the Probe (Disk.Err, LoadErr, CertErr), never returned, so one broken
// probe does not hide the others.
func (p *Prober) Probe(ctx context.Context) Probe {
	pr := Probe{Time: p.opts.Now(), CPUs: runtime.NumCPU(), Tools: map[string]string{}}
	mounts := readMounts(filepath.Join(p.opts.ProcDir, "self", "mountinfo"))
	for _, w := range p.opts.Watches {
		if ctx.Err() != nil {
			break
		}
		pr.Disks = append(pr.Disks, measureDisk(w, mounts))
	}
	pr.MemTotal, pr.MemAvailable, _ = readMeminfo(filepath.Join(p.opts.ProcDir, "meminfo"))
	pr.Load1, pr.Load5, pr.Load15, pr.LoadErr = readLoadavg(filepath.Join(p.opts.ProcDir, "loadavg"))
	for _, t := range p.opts.Tools {
		path, err := p.opts.LookPath(t)
		if err != nil {
			path = ""
		}
		pr.Tools[t] = path
	}
	if p.opts.CertFile != "" {
		pr.CertFile = p.opts.CertFile
		pr.CertNotAfter, pr.CertErr = CertNotAfter(p.opts.CertFile)
	}
	return pr
}

// MeasureDisk measures one watched directory now, as Probe does each of its
// watches: the hub uses it for its own topdir.
func MeasureDisk(w Watch) Disk {
	return measureDisk(w, readMounts("/proc/self/mountinfo"))
}

func measureDisk(w Watch, mounts []string) Disk {
	d := Disk{Role: w.Role, Path: w.Path}
	d.Free, d.Total, d.Err = statfs(w.Path)
	if d.Err == nil {
		d.Mount = mountOf(mounts, w.Path)
		if w.Writable {
			d.WriteErr = tryWrite(w.Path)
		}
	}
	return d
}

// statfs returns free (f_bavail) and total bytes of the filesystem holding dir.
func statfs(dir string) (free, total uint64, err error) {
	fi, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, 0, fmt.Errorf("no such directory: %s", dir)
		}
		return 0, 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return 0, 0, fmt.Errorf("not a directory: %s", dir)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	bs := uint64(st.Bsize) //nolint:gosec // block size is positive
	return uint64(st.Bavail) * bs, uint64(st.Blocks) * bs, nil
}

// tryWrite creates, writes and removes a small file in dir.
func tryWrite(dir string) error {
	f, err := os.CreateTemp(dir, ".kojid-health-*")
	if err != nil {
		return fmt.Errorf("create test file: %w", err)
	}
	name := f.Name()
	_, werr := f.WriteString("ok\n")
	cerr := f.Close()
	rerr := os.Remove(name)
	if err := errors.Join(werr, cerr); err != nil {
		return fmt.Errorf("write test file: %w", err)
	}
	if rerr != nil {
		return fmt.Errorf("remove test file: %w", rerr)
	}
	return nil
}

// readMounts returns the mount points listed in a mountinfo file; nil when unreadable.
func readMounts(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(io.LimitReader(f, 16<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		out = append(out, unescapeMount(fields[4]))
	}
	return out
}

// unescapeMount decodes the octal escapes (\040 for space...) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountOf returns the longest mount point that contains path.
func mountOf(mounts []string, path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	best := ""
	for _, m := range mounts {
		if m == abs || m == "/" || strings.HasPrefix(abs, strings.TrimSuffix(m, "/")+"/") {
			if len(m) > len(best) {
				best = m
			}
		}
	}
	return best
}

// readMeminfo returns MemTotal and MemAvailable in bytes.
func readMeminfo(path string) (total, avail uint64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("read meminfo: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil || n > 1<<53 {
			continue
		}
		if len(fields) > 1 && fields[1] == "kB" {
			n *= 1024
		}
		switch k {
		case "MemTotal":
			total = n
		case "MemAvailable":
			avail = n
		}
	}
	return total, avail, sc.Err()
}

// readLoadavg returns the 1, 5 and 15 minute load averages.
func readLoadavg(path string) (l1, l5, l15 float64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("read loadavg: %w", err)
	}
	if len(b) > 4096 {
		b = b[:4096]
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return 0, 0, 0, fmt.Errorf("read loadavg: %q: want 3 numbers", string(b))
	}
	var v [3]float64
	for i := range v {
		v[i], err = strconv.ParseFloat(f[i], 64)
		if err != nil || v[i] < 0 {
			return 0, 0, 0, fmt.Errorf("read loadavg: bad number %q", f[i])
		}
	}
	return v[0], v[1], v[2], nil
}

// CertNotAfter returns the expiry of the first certificate in a PEM file
// (kojid's cert file holds the certificate and its key).
func CertNotAfter(file string) (time.Time, error) {
	f, err := os.Open(file)
	if err != nil {
		return time.Time{}, fmt.Errorf("read certificate: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
	if err != nil {
		return time.Time{}, fmt.Errorf("read certificate: %w", err)
	}
	if len(b) > 1<<20 {
		return time.Time{}, fmt.Errorf("read certificate %s: larger than 1 MiB", file)
	}
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return time.Time{}, fmt.Errorf("read certificate %s: no PEM CERTIFICATE block", file)
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return time.Time{}, fmt.Errorf("parse certificate %s: %w", file, err)
		}
		return c.NotAfter, nil
	}
}
