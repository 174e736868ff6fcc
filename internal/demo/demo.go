package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"kojigo/internal/kojiclient"
)

// stopGrace is how long a daemon gets to stop after SIGTERM.
const stopGrace = 15 * time.Second

// Run is `kojictl demo`: it prepares the state directory, starts the hub,
// the builders (also in the createrepo channel) and kojira, sets up the
// tag, target and packages, submits the sample builds that have not
// succeeded yet, requests the build tag's repo once they are done, and
// reports what happens until ctx ends. Then it stops every child (SIGTERM,
// a grace period, then the process group is killed) and returns nil.
func Run(ctx context.Context, opts Options) error {
	o, err := opts.withDefaults()
	if err != nil {
		return err
	}
	out := o.Stdout
	l := layout{dir: o.Dir}
	hubBin, err := findBinary("kojihub", o.BinDir)
	if err != nil {
		return err
	}
	kojidBin, err := findBinary("kojid", o.BinDir)
	if err != nil {
		return err
	}
	kojiraBin, err := findBinary("kojira", o.BinDir)
	if err != nil {
		return err
	}
	if err := makeDirs(l, o.Builders); err != nil {
		return err
	}
	unlock, err := lockDir(l.dir)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := loadState(l.stateFile())
	if err != nil {
		return err
	}
	resumed := len(st.Tasks) > 0 || fileExists(l.db())
	if err := makeCerts(l, o.Builders); err != nil {
		return err
	}
	if err := prepareDB(ctx, l); err != nil {
		return err
	}
	listen, err := pickListen(o.Listen, st.Listen)
	if err != nil {
		return err
	}
	st.Listen = listen
	if err := saveState(l.stateFile(), st); err != nil {
		return err
	}
	hubURL := "https://" + listen
	if err := writeFileAtomic(l.hubConf(), []byte(hubConf(l, listen)), 0o600); err != nil {
		return err
	}
	if err := writeFileAtomic(l.clientConf(), []byte(clientConf(l, hubURL)), 0o600); err != nil {
		return err
	}
	if err := writeFileAtomic(l.kojiraConf(), []byte(kojiraConf(l, hubURL)), 0o600); err != nil {
		return err
	}
	minspace := minspaceMB(freeBytes(l.dir))
	for i := 1; i <= o.Builders; i++ {
		n := builderName(i)
		if err := writeFileAtomic(filepath.Join(l.builder(n), "kojid.conf"), []byte(kojidConf(l, n, hubURL, minspace)), 0o600); err != nil {
			return err
		}
	}
	if resumed {
		fmt.Fprintf(out, "kojigo demo: resuming in %s\n", l.dir)
	} else {
		fmt.Fprintf(out, "kojigo demo: new farm in %s\n", l.dir)
	}
	console := o.Console != nil && !o.NoTUI
	if console {
		fmt.Fprintln(out, "kojigo demo: the console (kojitop) opens once the farm is up; --no-tui keeps plain output")
	}

	var children []*child
	defer func() { stopAll(out, children) }()
	hub, err := startChild("kojihub", filepath.Join(l.logs(), "kojihub.log"), syscall.SIGTERM, hubBin, "--config", l.hubConf())
	if err != nil {
		return err
	}
	children = append(children, hub)
	o.Logger.Debug("started", "component", "demo", "daemon", "kojihub", "pid", hub.cmd.Process.Pid, "log", hub.log)
	admin, err := connect(ctx, l, hubURL, hub)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	fmt.Fprintf(out, "kojigo demo: hub %s/kojihub (log %s)\n", hubURL, hub.log)
	arch := nativeArch(runtime.GOARCH)
	if err := setupFarm(ctx, admin, o.Builders, arch); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	for i := 1; i <= o.Builders; i++ {
		n := builderName(i)
		c, err := startChild(n, filepath.Join(l.logs(), n+".log"), syscall.SIGKILL, kojidBin,
			"-c", filepath.Join(l.builder(n), "kojid.conf"), "--force-lock")
		if err != nil {
			return err
		}
		children = append(children, c)
		o.Logger.Debug("started", "component", "demo", "daemon", n, "pid", c.cmd.Process.Pid, "log", c.log)
	}
	fmt.Fprintf(out, "kojigo demo: builders: %d (%s), logs in %s\n", o.Builders, arch, l.logs())
	// kojira last: it is stopped first, and logs out while the hub still
	// answers. Should kojictl die, it is killed like a kojid (it would
	// retry its logout on a hub that is going away); the next run's
	// --force-lock takes its session over.
	kojira, err := startChild("kojira", filepath.Join(l.logs(), "kojira.log"), syscall.SIGKILL, kojiraBin,
		"-c", l.kojiraConf(), "--force-lock")
	if err != nil {
		return err
	}
	children = append(children, kojira)
	o.Logger.Debug("started", "component", "demo", "daemon", "kojira", "pid", kojira.cmd.Process.Pid, "log", kojira.log)
	fmt.Fprintf(out, "kojigo demo: kojira: turns repo requests into newRepo tasks every %d s (log %s)\n", int(kojiraSleep/time.Second), kojira.log)
	fmt.Fprintf(out, "kojigo demo: client profile [%s] in %s\n", ProfileName, l.clientConf())
	fmt.Fprintf(out, "kojigo demo:   kojictl -p %s --config %s list-hosts --health\n", ProfileName, l.clientConf())
	fmt.Fprintf(out, "kojigo demo:   koji -p %s -c %s list-tasks\n", ProfileName, l.clientConf())

	dnf, _ := exec.LookPath("dnf")
	w := &watcher{out: out, admin: admin, l: l, st: &st, children: children, log: o.Logger, arch: arch, dnf: dnf}
	if console {
		report, err := os.OpenFile(filepath.Join(l.logs(), "demo.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		defer report.Close()
		fmt.Fprintf(out, "kojigo demo: the demo's report goes to %s\n", report.Name())
		w.out = report
	}
	if err := w.submit(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if console {
		return runConsole(ctx, o, w, l)
	}
	fmt.Fprintln(out, "kojigo demo: running; press Ctrl-C to stop every daemon (run the same command again to resume)")
	return w.run(ctx)
}

// runConsole follows the builds in the background while the console runs;
// leaving the console stops the demo.
func runConsole(ctx context.Context, o Options, w *watcher, l layout) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watched := make(chan error, 1)
	go func() { watched <- w.run(wctx) }()
	err := o.Console(ctx, l.clientConf())
	cancel()
	if werr := <-watched; werr != nil && err == nil && ctx.Err() == nil {
		err = werr
	}
	fmt.Fprintln(o.Stdout, "kojigo demo: console closed; stopping the farm (run the same command again to resume)")
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// stopAll stops the children in the reverse order of their start: kojira,
// the builders, then the hub.
func stopAll(out io.Writer, children []*child) {
	if len(children) == 0 {
		return
	}
	fmt.Fprintln(out, "kojigo demo: stopping")
	for i := len(children) - 1; i >= 0; i-- {
		c := children[i]
		if err := c.stop(stopGrace); err != nil {
			fmt.Fprintf(out, "kojigo demo: %v\n", err)
		}
	}
	fmt.Fprintln(out, "kojigo demo: stopped")
}

// connect waits for the hub to answer and logs in as the demo's admin.
func connect(ctx context.Context, l layout, hubURL string, hub *child) (*kojiclient.Client, error) {
	c, err := kojiclient.New(kojiclient.Options{
		Server: hubURL + "/kojihub", CertFile: l.pem(AdminUser), ServerCAFile: l.ca(),
		Timeout: time.Minute, MaxRetries: -1,
	})
	if err != nil {
		return nil, fmt.Errorf("hub client: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err = c.SSLLogin(ctx)
		if err == nil {
			return c, nil
		}
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case hub.exited():
			return nil, fmt.Errorf("kojihub exited: %v; last lines of %s:\n%s", hub.err, hub.log, lastLines(readTail(hub.log, 8192), 15))
		case time.Now().After(deadline):
			return nil, fmt.Errorf("kojihub did not answer within 30 s (%v); see %s", err, hub.log)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// pickListen returns the address to listen on: want, or when its port is
// 0, the port of the previous run if it is free, else a free port.
func pickListen(want, previous string) (string, error) {
	host, port, _ := net.SplitHostPort(want)
	if port != "0" {
		return want, nil
	}
	if ph, pp, err := net.SplitHostPort(previous); err == nil && ph == host && pp != "0" {
		if ln, err := net.Listen("tcp", previous); err == nil {
			ln.Close()
			return previous, nil
		}
	}
	ln, err := net.Listen("tcp", want)
	if err != nil {
		return "", fmt.Errorf("listen %s: %w", want, err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// lockDir keeps two demos off one state directory.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "demo.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another kojictl demo is running in %s: stop it first, or use another --dir", dir)
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// freeBytes is the free space of dir's filesystem; -1 when unknown.
func freeBytes(dir string) int64 {
	var s syscall.Statfs_t
	if err := syscall.Statfs(dir, &s); err != nil {
		return -1
	}
	return int64(s.Bavail) * int64(s.Bsize)
}

// readTail returns up to n bytes of the end of a file.
func readTail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		f.Seek(fi.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(io.LimitReader(f, n))
	return string(b)
}

// lastLines returns the last n lines of s, each indented.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}
