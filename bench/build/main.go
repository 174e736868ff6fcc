// Command buildbench measures a build's two latencies an operator feels,
// with the real kojihub, kojid, kojictl and rpmbuild on this machine:
// the time from `kojictl build` to rpmbuild running on an idle builder, and
// the time from rpmbuild writing a log line to that line being readable
// through the hub (downloadTaskOutput), p50 and p99.
//
//	go run ./bench/build [-runs 3] [-lines 100]
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"kojigo/db"
	"kojigo/internal/kojiclient"
	"kojigo/internal/password"
)

func main() {
	runs := flag.Int("runs", 3, "builds to time")
	lines := flag.Int("lines", 100, "log lines each build writes, 50 ms apart")
	flag.Parse()
	if err := run(*runs, *lines); err != nil {
		fmt.Fprintln(os.Stderr, "buildbench:", err)
		os.Exit(1)
	}
}

func run(runs, lines int) error {
	tmp, err := os.MkdirTemp("", "buildbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "bin")
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/kojihub", "./cmd/kojid", "./cmd/kojictl", "./cmd/kojira")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	ctx := context.Background()
	dsn := "sqlite://" + filepath.Join(tmp, "koji.db")
	store, err := db.Open(ctx, dsn, db.Options{})
	if err != nil {
		return err
	}
	if _, err := store.Migrate(ctx); err != nil {
		return err
	}
	hash, _ := password.Hash("pw")
	admin, _ := store.CreateUser(ctx, db.User{Name: "admin", PasswordHash: hash})
	perm, _ := store.GetPermByName(ctx, "admin")
	store.GrantPerm(ctx, admin, perm.ID, nil)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	url := "http://" + addr + "/kojihub"
	topdir := filepath.Join(tmp, "top")
	hub := exec.Command(bin+"/kojihub", "--db", dsn, "--topdir", topdir, "--listen", addr)
	hub.Env = append(os.Environ(), "KOJI_HUB_LOGLEVEL=warn")
	if err := hub.Start(); err != nil {
		return err
	}
	defer func() { hub.Process.Signal(syscall.SIGTERM); hub.Wait() }()
	var c *kojiclient.Client
	for i := 0; ; i++ {
		c, _ = kojiclient.New(kojiclient.Options{Server: url})
		if err = c.Login(ctx, "admin", "pw"); err == nil {
			break
		}
		if i > 100 {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, call := range []struct {
		m    string
		args []any
	}{
		{"addHost", []any{"builder1", []any{"x86_64"}}},
		{"createTag", []any{"dist"}},
		{"createTag", []any{"dist-build", kojiclient.Kw{"parent": "dist", "arches": "x86_64"}}},
		{"createBuildTarget", []any{"dist-candidate", "dist-build", "dist"}},
		{"packageListAdd", []any{"dist", "ticker", kojiclient.Kw{"owner": "admin"}}},
	} {
		if _, err := c.Call(ctx, call.m, call.args...); err != nil {
			return fmt.Errorf("%s: %w", call.m, err)
		}
	}
	u, _ := store.GetUserByName(ctx, "builder1")
	store.SetPassword(ctx, u.ID, hash)
	work := filepath.Join(tmp, "work")
	os.MkdirAll(work, 0o755)
	conf := filepath.Join(tmp, "kojid.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("[kojid]\nserver = %s\ntopdir = %s\nworkdir = %s\nmockdir = %s\nuser = builder1\npassword = pw\ncert =\nuse_mock = no\nminspace = 10\nmaxload = 0\n", url, topdir, work, work)), 0o600)
	kojid := exec.Command(bin+"/kojid", "-c", conf)
	if err := kojid.Start(); err != nil {
		return err
	}
	defer func() { kojid.Process.Signal(syscall.SIGTERM); kojid.Wait() }()
	for {
		h, err := c.Call(ctx, "getHost", "builder1")
		if err == nil && h.(map[string]any)["ready"] == true {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// builds wait for their build tag's repo: kojira makes it, through the
	// builder in the createrepo channel, before the timed builds
	if _, err := c.Call(ctx, "addHostToChannel", "builder1", "createrepo"); err != nil {
		return fmt.Errorf("addHostToChannel: %w", err)
	}
	kojiraUser, _ := store.CreateUser(ctx, db.User{Name: "kojira", PasswordHash: hash})
	repoPerm, _ := store.GetPermByName(ctx, "repo")
	store.GrantPerm(ctx, kojiraUser, repoPerm.ID, nil)
	kconf := filepath.Join(tmp, "kojira.conf")
	os.WriteFile(kconf, []byte(fmt.Sprintf("[kojira]\nserver = %s\ntopdir = %s\nuser = kojira\npassword = pw\ncert =\nsleeptime = 1\n", url, topdir)), 0o600)
	kojira := exec.Command(bin+"/kojira", "-c", kconf)
	if err := kojira.Start(); err != nil {
		return err
	}
	defer func() { kojira.Process.Signal(syscall.SIGTERM); kojira.Wait() }()
	if out, err := exec.Command(bin+"/kojictl", "regen-repo", "--server", url, "--user", "admin", "--password", "pw", "--wait", "dist-build").CombinedOutput(); err != nil {
		return fmt.Errorf("kojictl regen-repo --wait dist-build: %v\n%s", err, out)
	}
	time.Sleep(2 * time.Second) // idle: the builder is waiting for work

	var toStart, logLat []float64
	for r := range runs {
		srpm, err := tickerSRPM(tmp, r, lines)
		if err != nil {
			return err
		}
		t0 := time.Now()
		out, err := exec.Command(bin+"/kojictl", "build", "--server", url, "--user", "admin", "--password", "pw", "--nowait", "dist-candidate", srpm).CombinedOutput()
		if err != nil {
			return fmt.Errorf("kojictl build: %v\n%s", err, out)
		}
		parent := taskID(string(out))
		arch, err := waitChild(ctx, c, parent)
		if err != nil {
			return err
		}
		var offset int64
		first := true
		buf := ""
		for seen := 0; seen < lines; {
			b, err := c.DownloadTaskOutput(ctx, arch, "build.log", offset, -1)
			now := time.Now()
			if err == nil && len(b) > 0 {
				offset += int64(len(b))
				buf += string(b)
				for {
					i := strings.IndexByte(buf, '\n')
					if i < 0 {
						break
					}
					line := buf[:i]
					buf = buf[i+1:]
					f := strings.Fields(line)
					if len(f) != 2 || f[0] != "tick" {
						continue
					}
					ns, _ := strconv.ParseInt(f[1], 10, 64)
					at := time.Unix(0, ns)
					if first {
						toStart = append(toStart, at.Sub(t0).Seconds()*1000)
						first = false
					}
					logLat = append(logLat, now.Sub(at).Seconds()*1000)
					seen++
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		fmt.Fprintf(os.Stderr, "run %d: task %d, rpmbuild started %.0f ms after kojictl build\n", r+1, parent, toStart[len(toStart)-1])
	}
	sort.Float64s(toStart)
	sort.Float64s(logLat)
	fmt.Printf("kojictl build -> rpmbuild running (idle builder, %d runs): p50 %.0f ms, max %.0f ms\n", runs, pct(toStart, 50), toStart[len(toStart)-1])
	fmt.Printf("log line written by rpmbuild -> readable via downloadTaskOutput (%d lines, reader polling every 20 ms): p50 %.0f ms, p99 %.0f ms\n", len(logLat), pct(logLat, 50), pct(logLat, 99))
	return nil
}

func pct(s []float64, p float64) float64 { return s[int(float64(len(s)-1)*p/100)] }

func taskID(out string) int64 {
	sc := bufio.NewScanner(bytes.NewReader([]byte(out)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Created task: "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

func waitChild(ctx context.Context, c *kojiclient.Client, parent int64) (int64, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		v, err := c.Call(ctx, "getTaskChildren", parent)
		if err == nil {
			for _, x := range v.([]any) {
				m := x.(map[string]any)
				if m["method"] == "buildArch" {
					return m["id"].(int64), nil
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, fmt.Errorf("no buildArch child of task %d", parent)
}

// tickerSRPM makes a package whose %build prints "tick <unix ns>" lines.
func tickerSRPM(tmp string, r, lines int) (string, error) {
	dir := filepath.Join(tmp, fmt.Sprintf("ticker%d", r))
	os.MkdirAll(dir, 0o755)
	spec := fmt.Sprintf(`Name: ticker
Version: 1.%d
Release: 1
Summary: Writes timestamped log lines
License: MIT
BuildArch: noarch
%%description
Benchmark package.
%%build
for i in $(seq %d); do echo "tick $(date +%%s%%N)"; sleep 0.05; done
%%install
mkdir -p %%{buildroot}/usr/share/ticker
touch %%{buildroot}/usr/share/ticker/t
%%files
/usr/share/ticker/t
`, r, lines)
	specPath := filepath.Join(dir, "ticker.spec")
	if err := os.WriteFile(specPath, []byte(spec), 0o644); err != nil {
		return "", err
	}
	out, err := exec.Command("rpmbuild", "-bs", "--define", "_topdir "+dir, "--define", "_srcrpmdir "+dir, specPath).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("rpmbuild -bs: %v\n%s", err, out)
	}
	m, _ := filepath.Glob(filepath.Join(dir, "*.src.rpm"))
	if len(m) != 1 {
		return "", fmt.Errorf("no srpm in %s", dir)
	}
	return m[0], nil
}
