package health

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Defaults of Config, Koji's kojid defaults.
const (
	DefaultMinSpace = 8192 << 20 // bytes; kojid.conf minspace=8192 (MB)
	DefaultMaxLoad  = 4.0        // load per CPU; kojid refuses above 4.0 x nproc
	DefaultMaxJobs  = 10         // kojid.conf maxjobs
)

// Config holds the thresholds of Evaluate. Zero values are the defaults.
type Config struct {
	// MinSpace is the free space in bytes every watched filesystem must
	// keep. 0: DefaultMinSpace (8 GiB). Negative: not checked.
	MinSpace int64
	// MaxLoad is the highest 1-minute load average per CPU. 0:
	// DefaultMaxLoad. Negative: not checked.
	MaxLoad float64
	// MaxJobs is the number of tasks the host runs at most. 0:
	// DefaultMaxJobs. Negative: not checked.
	MaxJobs int
	// MinMemAvailable is the available memory in bytes the host must keep.
	// 0: not checked.
	MinMemAvailable int64
	// RequiredTools are the tools without which no task can run. nil:
	// rpmbuild only. A tool listed here must have been probed.
	RequiredTools []string
	// Now is the clock for the certificate check. Default: time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.MinSpace == 0 {
		c.MinSpace = DefaultMinSpace
	}
	if c.MaxLoad == 0 {
		c.MaxLoad = DefaultMaxLoad
	}
	if c.MaxJobs == 0 {
		c.MaxJobs = DefaultMaxJobs
	}
	if c.RequiredTools == nil {
		c.RequiredTools = []string{"rpmbuild"}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// toolPackages names the package that installs each tool, for the reasons.
func toolPackage(tool string) string {
	switch tool {
	case "rpmbuild":
		return "rpm-build" // Fedora/EL name; Debian ships it in "rpm"
	case "createrepo_c", "mock", "git":
		return tool
	}
	return ""
}

// Busy reports whether the host is not ready only because it is full (over
// capacity, at maxjobs): conditions that pass as its own tasks end, unlike
// a full disk or a missing tool.
func Busy(cfg Config, p Probe) bool {
	if ready, _ := Evaluate(cfg, p); ready {
		return false
	}
	p.Capacity, cfg.MaxJobs = 0, -1
	fit, _ := Evaluate(cfg, p)
	return fit
}

// Evaluate decides whether the host may take a new task. Every reason it is
// not says what is wrong with the numbers involved, so an operator can act on
// it without logging in to the host:
//
//	host disabled on the hub: <comment>
//	over capacity: task load 3.5 > capacity 2
//	at maxjobs 2/2
//	workdir /var/lib/kojid: 1.2 GiB free < minspace 8 GiB
//	mockdir /var/lib/mock: no such directory: /var/lib/mock
//	workdir not writable: create test file: ... permission denied
//	rpmbuild not found: install the rpm-build package
//	load 9.5 > 4 CPUs x maxload 2 = 8
//	memory 300 MiB available < 1 GiB required
//	certificate /etc/kojid/client.crt expired at 2025-01-02 03:04:05 UTC: issue a new one
//
// The order is stable: the hub's, then the host's own limits.
func Evaluate(cfg Config, p Probe) (ready bool, reasons []string) {
	cfg = cfg.withDefaults()
	if p.Disabled {
		r := "host disabled on the hub"
		if p.Comment != "" {
			r += ": " + p.Comment
		}
		reasons = append(reasons, r)
	}
	if p.Capacity > 0 && p.TaskLoad > p.Capacity {
		reasons = append(reasons, fmt.Sprintf("over capacity: task load %s > capacity %s",
			fmtFloat(p.TaskLoad), fmtFloat(p.Capacity)))
	}
	if cfg.MaxJobs > 0 && p.Jobs >= cfg.MaxJobs {
		reasons = append(reasons, fmt.Sprintf("at maxjobs %d/%d", p.Jobs, cfg.MaxJobs))
	}
	for _, d := range p.Disks {
		reasons = append(reasons, DiskReasons(d, cfg.MinSpace)...)
	}
	for _, t := range cfg.RequiredTools {
		if p.Tools[t] != "" {
			continue
		}
		r := t + " not found"
		if pkg := toolPackage(t); pkg != "" {
			r += ": install the " + pkg + " package"
		} else {
			r += ": install it or fix PATH"
		}
		reasons = append(reasons, r)
	}
	if cfg.MaxLoad > 0 && p.LoadErr == nil && p.CPUs > 0 {
		limit := cfg.MaxLoad * float64(p.CPUs)
		if p.Load1 > limit {
			reasons = append(reasons, fmt.Sprintf("load %s > %d CPUs x maxload %s = %s",
				fmtFloat(p.Load1), p.CPUs, fmtFloat(cfg.MaxLoad), fmtFloat(limit)))
		}
	}
	if cfg.MinMemAvailable > 0 && p.MemTotal > 0 && p.MemAvailable < uint64(cfg.MinMemAvailable) {
		reasons = append(reasons, fmt.Sprintf("memory %s available < %s required",
			FormatBytes(p.MemAvailable), FormatBytes(uint64(cfg.MinMemAvailable))))
	}
	if p.CertFile != "" {
		switch {
		case p.CertErr != nil:
			reasons = append(reasons, fmt.Sprintf("certificate %s: %v", p.CertFile, p.CertErr))
		case !p.CertNotAfter.IsZero() && !cfg.Now().Before(p.CertNotAfter):
			reasons = append(reasons, fmt.Sprintf("certificate %s expired at %s: issue a new one",
				p.CertFile, p.CertNotAfter.UTC().Format("2006-01-02 15:04:05 MST")))
		}
	}
	return len(reasons) == 0, reasons
}

// DiskReasons says what is wrong with one measured disk, in Evaluate's
// words: not measurable, less than minSpace bytes free, not writable.
// minSpace <= 0 is not checked. Nil when nothing is wrong.
func DiskReasons(d Disk, minSpace int64) []string {
	if d.Err != nil {
		return []string{fmt.Sprintf("%s %s: %v", d.Role, d.Path, d.Err)}
	}
	var reasons []string
	if minSpace > 0 && d.Free < uint64(minSpace) {
		reasons = append(reasons, fmt.Sprintf("%s %s: %s free < minspace %s",
			d.Role, d.Path, FormatBytes(d.Free), FormatBytes(uint64(minSpace))))
	}
	if d.WriteErr != nil {
		reasons = append(reasons, fmt.Sprintf("%s not writable: %v", d.Role, d.WriteErr))
	}
	return reasons
}

// FormatBytes writes n in binary units with at most one decimal, rounded
// down, so that a value just under a limit never prints as the limit:
// 1288490188 is "1.1 GiB", 8589934592 is "8 GiB".
func FormatBytes(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	if n < 1024 {
		return strconv.FormatUint(n, 10) + " B"
	}
	v := float64(n)
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	v = math.Floor(v*10) / 10
	return strconv.FormatFloat(v, 'f', -1, 64) + " " + units[i]
}

// fmtFloat writes a load or weight with at most two decimals.
func fmtFloat(f float64) string {
	return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
}
