// Command repogen-bench runs createrepo_c and `kojira createrepo` on the same
// RPM corpus in the same run and prints wall time, CPU time and peak RSS of
// each, and their ratios: a full run, an --update run with nothing changed,
// and an --update run after packages were added; with -database both also
// write the sqlite databases; with -update-cache kojira keeps its update
// cache. Both tools run as child
// processes, measured the same way (wait4 rusage).
//
//	go run ./bench/repogen -n 1000
//	go run ./bench/repogen -n 12788 -workers 2 -runs 3
//
// The corpus is generated with rpmcorpus (../shared/repogen/rpmcorpus) when
// -corpus does not exist yet; -rpmcorpus names its binary.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type config struct {
	n         int
	corpus    string
	rpmcorpus string
	kojira    string
	createrpo string
	workers   int
	runs      int
	add       int
	keep      bool
	database  bool
	cache     bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var c config
	flag.IntVar(&c.n, "n", 1000, "packages in the corpus")
	flag.StringVar(&c.corpus, "corpus", "", "corpus directory (default /tmp/repogen-bench/nN; generated if missing)")
	flag.StringVar(&c.rpmcorpus, "rpmcorpus", "/tmp/rpmcorpus", "rpmcorpus binary used to generate the corpus and the added packages")
	flag.StringVar(&c.kojira, "kojira", "", "kojira binary (default: built from ./cmd/kojira)")
	flag.StringVar(&c.createrpo, "createrepo", "createrepo_c", "createrepo_c binary")
	flag.IntVar(&c.workers, "workers", 2, "workers for both tools")
	flag.IntVar(&c.runs, "runs", 3, "runs per case; the median is reported")
	flag.IntVar(&c.add, "add", 10, "packages added for the incremental case")
	flag.BoolVar(&c.database, "database", false, "both tools also write the sqlite databases (createrepo_c's 0.17 default, kojira -d)")
	flag.BoolVar(&c.cache, "update-cache", false, "kojira also keeps its update cache (--update-cache), so that its updates copy what did not change")
	flag.Parse()
	if err := run(ctx, c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "repogen-bench:", err)
		os.Exit(1)
	}
}

// sample is one measured run.
type sample struct {
	wall, cpu time.Duration
	rssKiB    int64
	other     float64 // cores used by other processes meanwhile
}

func run(ctx context.Context, c config, out io.Writer) error {
	if c.n <= 0 || c.runs <= 0 || c.workers <= 0 || c.add < 0 {
		return errors.New("-n, -runs and -workers must be positive, -add not negative")
	}
	if c.corpus == "" {
		c.corpus = fmt.Sprintf("/tmp/repogen-bench/n%d", c.n)
	}
	if _, err := exec.LookPath(c.createrpo); err != nil {
		return fmt.Errorf("createrepo_c: %w", err)
	}
	if c.kojira == "" {
		bin, err := buildKojira(ctx)
		if err != nil {
			return err
		}
		defer os.RemoveAll(filepath.Dir(bin))
		c.kojira = bin
	}
	if err := ensureCorpus(ctx, c); err != nil {
		return err
	}
	list, bytes, err := listRPMs(c.corpus)
	if err != nil {
		return err
	}
	if len(list) != c.n {
		return fmt.Errorf("%s has %d packages, want %d (remove it or pass -n %d)", c.corpus, len(list), c.n, len(list))
	}
	fmt.Fprintf(out, "corpus %s: %d packages, %.1f MiB; %d workers; %d runs per case (median); %s\n",
		c.corpus, len(list), float64(bytes)/(1<<20), c.workers, c.runs, map[bool]string{false: "no databases", true: "with sqlite databases"}[c.database])
	fmt.Fprintf(out, "load before: %s\n", loadavg())

	w := strconv.Itoa(c.workers)
	repodata := filepath.Join(c.corpus, "repodata")
	db := "--no-database"
	if c.database {
		db = "--database"
	}
	cr := []string{c.createrpo, db, "--quiet", "--workers", w, c.corpus}
	crUpd := []string{c.createrpo, db, "--quiet", "--update", "--workers", w, c.corpus}
	kj := []string{c.kojira, "createrepo", db, "--quiet", "--workers", w, c.corpus}
	kjUpd := []string{c.kojira, "createrepo", db, "--quiet", "--update", "--workers", w, c.corpus}
	if c.cache {
		kj = append(kj[:len(kj)-1], "--update-cache", c.corpus)
		kjUpd = append(kjUpd[:len(kjUpd)-1], "--update-cache", c.corpus)
	}

	clean := func() error {
		for _, d := range []string{repodata, filepath.Join(c.corpus, ".repodata")} {
			if err := os.RemoveAll(d); err != nil {
				return err
			}
		}
		return nil
	}
	type result struct {
		name   string
		cr, kj []sample
	}
	var results []result

	// Full runs, alternating the tools.
	full := result{name: "full"}
	for range c.runs {
		for _, tool := range []struct {
			argv []string
			dst  *[]sample
		}{{cr, &full.cr}, {kj, &full.kj}} {
			if err := warm(c.corpus, list); err != nil {
				return err
			}
			if err := clean(); err != nil {
				return err
			}
			s, err := measure(ctx, tool.argv)
			if err != nil {
				return err
			}
			*tool.dst = append(*tool.dst, s)
		}
	}
	results = append(results, full)

	// Baselines for the incremental runs: each tool updates its own output.
	base := map[string]string{}
	for name, argv := range map[string][]string{"cr": cr, "kj": kj} {
		if err := clean(); err != nil {
			return err
		}
		if _, err := measure(ctx, argv); err != nil {
			return err
		}
		dst := filepath.Join(filepath.Dir(c.corpus), filepath.Base(c.corpus)+".base-"+name)
		os.RemoveAll(dst)
		if err := copyTree(repodata, dst); err != nil {
			return err
		}
		defer os.RemoveAll(dst)
		base[name] = dst
	}
	restore := func(name string) error {
		if err := clean(); err != nil {
			return err
		}
		return copyTree(base[name], repodata)
	}
	incremental := func(label string) (result, error) {
		r := result{name: label}
		for range c.runs {
			for _, tool := range []struct {
				name string
				argv []string
				dst  *[]sample
			}{{"cr", crUpd, &r.cr}, {"kj", kjUpd, &r.kj}} {
				if err := restore(tool.name); err != nil {
					return r, err
				}
				if err := warm(c.corpus, list); err != nil {
					return r, err
				}
				s, err := measure(ctx, tool.argv)
				if err != nil {
					return r, err
				}
				*tool.dst = append(*tool.dst, s)
			}
		}
		return r, nil
	}
	r, err := incremental("update, nothing changed")
	if err != nil {
		return err
	}
	results = append(results, r)

	if c.add > 0 {
		added, err := addPackages(ctx, c)
		if err != nil {
			return err
		}
		r, err := incremental(fmt.Sprintf("update, %d added", len(added)))
		for _, p := range added {
			os.Remove(filepath.Join(c.corpus, p))
		}
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	if err := clean(); err != nil {
		return err
	}

	fmt.Fprintf(out, "load after: %s\n\n", loadavg())
	fmt.Fprintf(out, "%-26s %-12s %9s %9s %9s %7s\n", "case", "tool", "wall s", "CPU s", "RSS MiB", "other")
	for _, r := range results {
		for _, t := range []struct {
			name string
			s    []sample
		}{{"createrepo_c", r.cr}, {"kojira", r.kj}} {
			m := median(t.s)
			fmt.Fprintf(out, "%-26s %-12s %9.3f %9.3f %9.1f %7.2f   walls %s\n", r.name, t.name,
				m.wall.Seconds(), m.cpu.Seconds(), float64(m.rssKiB)/1024, maxOther(t.s), walls(t.s))
		}
		a, b := median(r.cr), median(r.kj)
		fmt.Fprintf(out, "%-26s %-12s %8.2fx %8.2fx %8.2fx\n\n", r.name, "ratio",
			a.wall.Seconds()/b.wall.Seconds(), a.cpu.Seconds()/b.cpu.Seconds(), float64(b.rssKiB)/float64(a.rssKiB))
	}
	fmt.Fprintln(out, "ratio: wall and CPU are createrepo_c / kojira (higher is better for kojira);")
	fmt.Fprintln(out, "RSS is kojira / createrepo_c (lower is better). other: highest load of other processes, in cores.")
	return nil
}

func buildKojira(ctx context.Context) (string, error) {
	dir, err := os.MkdirTemp("", "repogen-bench-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "kojira")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/kojira")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("build kojira (run from the repository root or pass -kojira): %v\n%s", err, out)
	}
	return bin, nil
}

func ensureCorpus(ctx context.Context, c config) error {
	if _, err := os.Stat(c.corpus); err == nil {
		return nil
	}
	if _, err := os.Stat(c.rpmcorpus); err != nil {
		return fmt.Errorf("corpus %s missing and no rpmcorpus binary at %s: build it with `cd ../shared/repogen/rpmcorpus && go build -o %s .`",
			c.corpus, c.rpmcorpus, c.rpmcorpus)
	}
	cmd := exec.CommandContext(ctx, c.rpmcorpus, "-n", strconv.Itoa(c.n), "-out", c.corpus, "-seed", "1", "-q")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("generate corpus: %v\n%s", err, out)
	}
	return nil
}

// addPackages adds c.add packages after the corpus's last one and returns
// their file names.
func addPackages(ctx context.Context, c config) ([]string, error) {
	before, _, err := listRPMs(c.corpus)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, c.rpmcorpus, "-n", strconv.Itoa(c.n+c.add), "-start", strconv.Itoa(c.n),
		"-out", c.corpus, "-seed", "1", "-q")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("add packages: %v\n%s", err, out)
	}
	after, _, err := listRPMs(c.corpus)
	if err != nil {
		return nil, err
	}
	var added []string
	for _, p := range after {
		if !slices.Contains(before, p) {
			added = append(added, p)
		}
	}
	return added, nil
}

func listRPMs(dir string) ([]string, int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, err
	}
	var list []string
	var total int64
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".rpm") && e.Type().IsRegular() {
			list = append(list, e.Name())
			if info, err := e.Info(); err == nil {
				total += info.Size()
			}
		}
	}
	return list, total, nil
}

// warm reads the packages so that every run starts from a warm page cache.
func warm(dir string, list []string) error {
	buf := make([]byte, 1<<20)
	for _, p := range list {
		f, err := os.Open(filepath.Join(dir, p))
		if err != nil {
			return err
		}
		_, err = io.CopyBuffer(io.Discard, f, buf)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// measure runs argv and returns its wall time, CPU time (user+system) and
// peak RSS from wait4's rusage, plus the CPU other processes used meanwhile.
func measure(ctx context.Context, argv []string) (sample, error) {
	busy0 := busyTicks()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return sample{}, fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, stderr.String())
	}
	wall := time.Since(t0)
	busy := time.Duration(busyTicks()-busy0) * time.Second / ticksPerSecond
	ps := cmd.ProcessState
	s := sample{wall: wall, cpu: ps.UserTime() + ps.SystemTime()}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		s.rssKiB = ru.Maxrss // KiB on Linux
	}
	if wall > 0 {
		s.other = max(0, (busy-s.cpu).Seconds()/wall.Seconds())
	}
	return s, nil
}

// ticksPerSecond is USER_HZ, 100 on every Linux architecture Go supports.
const ticksPerSecond = 100

// busyTicks returns the non-idle CPU time of the machine from /proc/stat.
func busyTicks() int64 {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0
	}
	fields := strings.Fields(sc.Text()) // cpu user nice system idle iowait irq softirq steal ...
	var busy int64
	for i, f := range fields[1:] {
		v, _ := strconv.ParseInt(f, 10, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func median(s []sample) sample {
	sorted := slices.Clone(s)
	slices.SortFunc(sorted, func(a, b sample) int { return int(a.wall - b.wall) })
	m := sorted[len(sorted)/2]
	// CPU and RSS medians independently of wall time.
	cpus := make([]time.Duration, len(s))
	rss := make([]int64, len(s))
	for i := range s {
		cpus[i], rss[i] = s[i].cpu, s[i].rssKiB
	}
	slices.Sort(cpus)
	slices.Sort(rss)
	m.cpu, m.rssKiB = cpus[len(cpus)/2], rss[len(rss)/2]
	return m
}

func maxOther(s []sample) float64 {
	m := 0.0
	for _, x := range s {
		m = max(m, x.other)
	}
	return m
}

func walls(s []sample) string {
	var parts []string
	for _, x := range s {
		parts = append(parts, fmt.Sprintf("%.2f", x.wall.Seconds()))
	}
	return strings.Join(parts, ",")
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, b, 0o644); err != nil {
			return err
		}
		return os.Chtimes(target, info.ModTime(), info.ModTime())
	})
}
