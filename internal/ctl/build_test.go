package ctl

import (
	"bytes"
	"context"
	"fmt"
	"hash/adler32"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// scriptedBuild makes fh serve a build task 10 with one buildArch child 11
// whose states advance with each getTaskInfo(10): the tree koji watch-task
// shows for a build. failChild makes the child and then the parent fail.
func scriptedBuild(fh *fakeHub, failChild bool) {
	var mu sync.Mutex
	step := 0
	request := []any{"cli-build/1.x/hello-1-1.src.rpm", "f40-candidate", map[string]any{}}
	childReq := []any{"cli-build/1.x/hello-1-1.src.rpm", int64(2), "x86_64", true}
	childState := func(s int) int64 {
		switch {
		case s <= 2:
			return stateFree
		case s == 3:
			return stateOpen
		case failChild:
			return stateFailed
		}
		return stateClosed
	}
	fh.on("getTaskInfo", func(args []any, kw map[string]any) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		switch args[0] {
		case int64(10):
			step++
			st := int64(stateOpen)
			switch {
			case step == 1:
				st = stateFree
			case step >= 5 && failChild:
				st = stateFailed
			case step >= 5:
				st = stateClosed
			}
			return map[string]any{"id": int64(10), "method": "build", "arch": "noarch", "state": st, "host_id": hostIf(st != stateFree),
				"request": request}, nil
		case int64(11):
			st := childState(step)
			return map[string]any{"id": int64(11), "method": "buildArch", "arch": "x86_64", "state": st, "host_id": hostIf(st != stateFree),
				"parent": int64(10), "request": childReq}, nil
		}
		return nil, nil
	})
	fh.on("getTaskChildren", func(args []any, kw map[string]any) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		if args[0] == int64(10) && step >= 2 {
			return []any{map[string]any{"id": int64(11)}}, nil
		}
		return []any{}, nil
	})
	fh.answer("getHost", map[string]any{"id": int64(1), "name": "builder1"})
	fh.on("getTaskResult", func(args []any, kw map[string]any) (any, error) {
		if failChild {
			return nil, kojixml.Errorf(1005, "error building package (arch x86_64), rpmbuild exited with status 1; see build.log for more information")
		}
		return nil, nil
	})
	fh.on("listTaskOutput", func(args []any, kw map[string]any) (any, error) {
		return map[string]any{"build.log": []any{"DEFAULT"}, "hello-1-1.x86_64.rpm": []any{"DEFAULT"}}, nil
	})
}

func hostIf(b bool) any {
	if b {
		return int64(1)
	}
	return nil
}

func TestWatchTask(t *testing.T) {
	fh := newFakeHub(t)
	scriptedBuild(fh, false)
	te := newTestEnv(t, fh.url)
	out := te.mustRun(t, 0, "watch-task", "--poll-interval", "1ms", "10")
	want := `Watching tasks (this may be safely interrupted)...
10 build (f40-candidate, hello-1-1.src.rpm): free
10 build (f40-candidate, hello-1-1.src.rpm): free -> open (builder1)
  11 buildArch (hello-1-1.src.rpm, x86_64): free
  11 buildArch (hello-1-1.src.rpm, x86_64): free -> open (builder1)
  11 buildArch (hello-1-1.src.rpm, x86_64): open (builder1) -> closed
  0 free  1 open  1 done  0 failed
10 build (f40-candidate, hello-1-1.src.rpm): open (builder1) -> closed
  0 free  0 open  2 done  0 failed

10 build (f40-candidate, hello-1-1.src.rpm) completed successfully
`
	if out != want {
		t.Errorf("watch-task:\n%s\nwant:\n%s", out, want)
	}
	if n := len(fh.called("getHost")); n != 1 {
		t.Errorf("host name asked %d times; want it cached", n)
	}
	if c := fh.called("getTaskInfo"); c[0].kw["request"] != true {
		t.Errorf("getTaskInfo without request=True: %+v", c[0])
	}
}

func TestWatchTaskFailed(t *testing.T) {
	fh := newFakeHub(t)
	scriptedBuild(fh, true)
	te := newTestEnv(t, fh.url, "topurl = https://koji.example.org/kojifiles")
	out := te.mustRun(t, 1, "watch-task", "--poll-interval=1ms", "10")
	for _, want := range []string{
		"  11 buildArch (hello-1-1.src.rpm, x86_64): open (builder1) -> FAILED: BuildError: error building package (arch x86_64), rpmbuild exited with status 1; see build.log for more information\n" +
			"  Relevant logs:\n  https://koji.example.org/kojifiles/work/tasks/11/11/build.log\n", // koji's indentation
		"  0 free  1 open  0 done  1 failed\n",
		"10 build (f40-candidate, hello-1-1.src.rpm) failed\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("watch-task output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hello-1-1.x86_64.rpm") {
		t.Error("an RPM listed among the relevant logs")
	}
}

func TestWatchTaskQuietAndErrors(t *testing.T) {
	fh := newFakeHub(t)
	scriptedBuild(fh, false)
	te := newTestEnv(t, fh.url)
	if out := te.mustRun(t, 0, "watch-task", "--quiet", "--poll-interval", "1ms", "10"); out != "" {
		t.Errorf("--quiet printed %q", out)
	}
	if out := te.mustRun(t, 1, "watch-task", "--poll-interval", "1ms", "99"); !strings.HasSuffix(out, "No such task id: 99\n") {
		t.Errorf("unknown task: %q", out)
	}
	for _, args := range [][]string{{"watch-task"}, {"watch-task", "x"}, {"watch-task", "-5"}, {"watch-task", "1", "--poll-interval", "0s"}, {"watch-task", "1", "--poll-interval", "soon"}} {
		if code := te.run(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

func TestWatchLogs(t *testing.T) {
	fh := newFakeHub(t)
	logs := map[int64][]byte{20: []byte(strings.Repeat("compiling...\n", 2000)), 21: []byte("child log\n")}
	fh.on("getTaskInfo", func(args []any, kw map[string]any) (any, error) {
		id := args[0].(int64)
		if _, ok := logs[id]; !ok {
			return nil, nil
		}
		return map[string]any{"id": id, "state": int64(stateClosed)}, nil
	})
	fh.on("getTaskChildren", func(args []any, kw map[string]any) (any, error) {
		if args[0] == int64(20) {
			return []any{map[string]any{"id": int64(21)}}, nil
		}
		return []any{}, nil
	})
	fh.answer("listTaskOutput", map[string]any{"build.log": []any{"DEFAULT"}, "x.rpm": []any{"DEFAULT"}})
	fh.on("downloadTaskOutput", func(args []any, kw map[string]any) (any, error) {
		data := logs[args[0].(int64)]
		off, size := int(kw["offset"].(int64)), int(kw["size"].(int64))
		if args[1] != "build.log" {
			return nil, kojixml.Errorf(1000, "no file %v output by task", args[1])
		}
		if off >= len(data) {
			return []byte{}, nil
		}
		return data[off:min(off+size, len(data))], nil
	})
	te := newTestEnv(t, fh.url)
	out := te.mustRun(t, 0, "watch-logs", "20")
	want := "==> 20:DEFAULT:build.log: <==\n" + string(logs[20]) + "\n==> 21:DEFAULT:build.log: <==\nchild log\n"
	if out != want {
		t.Errorf("watch-logs: got %d bytes, want %d; head %q", len(out), len(want), out[:min(len(out), 80)])
	}
	if n := len(fh.called("downloadTaskOutput")); n != 4 { // 26000 bytes: 2 chunks of 16384 + empty; child: 1 + empty
		t.Logf("downloadTaskOutput calls: %d", n)
	}
	for _, args := range [][]string{{"watch-logs"}, {"watch-logs", "abc"}, {"watch-logs", "--log", "../etc/passwd", "20"}, {"watch-logs", "--log", "a\nb", "20"}} {
		if code := te.run(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if out := te.mustRun(t, 1, "watch-logs", "99"); out != "No such task id: 99\n" {
		t.Errorf("unknown task %q", out)
	}
}

func TestWatchLogsFollow(t *testing.T) {
	fh := newFakeHub(t)
	var mu sync.Mutex
	var log bytes.Buffer
	polls := 0
	fh.on("getTaskInfo", func(args []any, kw map[string]any) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		polls++
		fmt.Fprintf(&log, "line %d\n", polls)
		st := int64(stateOpen)
		if polls >= 4 {
			st = stateClosed
		}
		return map[string]any{"id": int64(30), "state": st}, nil
	})
	fh.answer("getTaskChildren", []any{})
	fh.answer("listTaskOutput", map[string]any{"build.log": []any{"DEFAULT"}, "root.log": []any{"DEFAULT"}})
	fh.on("downloadTaskOutput", func(args []any, kw map[string]any) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		if args[1] != "build.log" {
			return []byte{}, nil
		}
		off := int(kw["offset"].(int64))
		if off >= log.Len() {
			return []byte{}, nil
		}
		return log.Bytes()[off:], nil
	})
	te := newTestEnv(t, fh.url)
	out := te.mustRun(t, 0, "watch-logs", "-f", "--poll-interval", "1ms", "30")
	want := "Watching logs (this may be safely interrupted)...\n==> 30:DEFAULT:build.log: <==\nline 1\nline 2\nline 3\nline 4\n"
	if out != want {
		t.Errorf("watch-logs -f:\n%q\nwant\n%q", out, want)
	}
	// --log picks one file
	out = te.mustRun(t, 0, "watch-logs", "--log", "root.log", "30")
	if out != "" {
		t.Errorf("--log root.log (empty) printed %q", out)
	}
}

func TestBuild(t *testing.T) {
	fh := newFakeHub(t)
	fh.answer("getBuildTarget", map[string]any{"id": int64(1), "name": "f40-candidate", "build_tag": int64(2), "dest_tag": int64(1), "dest_tag_name": "f40"})
	fh.answer("getTag", map[string]any{"id": int64(1), "name": "f40", "locked": false})
	fh.on("checkUpload", func(args []any, kw map[string]any) (any, error) {
		fh.mu.Lock()
		defer fh.mu.Unlock()
		data := fh.uploads[args[0].(string)+"/"+args[1].(string)]
		return map[string]any{"size": int64(len(data)), "hexdigest": fmt.Sprintf("%08x", adler32.Checksum(data))}, nil
	})
	fh.answer("build", int64(10))
	scriptedBuild(fh, false)
	srpm := filepath.Join(t.TempDir(), "hello-1-1.src.rpm")
	content := bytes.Repeat([]byte("RPM payload "), 10000) // 120000 bytes, 4 chunks of 32 KiB
	if err := os.WriteFile(srpm, content, 0o644); err != nil {
		t.Fatal(err)
	}
	te := adminEnv(t, fh.url)
	te.writeConfig(t, "[koji]\nserver = "+fh.url+"\nauthtype = password\nuser = kojiadmin\npassword = secret\nupload_blocksize = 32K\nweburl = https://koji.example.org/koji\n")
	out := te.mustRun(t, 0, "build", "f40-candidate", srpm, "--scratch", "--arch-override", "x86_64", "--priority", "5", "--nowait")
	want := "Uploading srpm: " + srpm + "\nCreated task: 10\nTask info: https://koji.example.org/koji/taskinfo?taskID=10\n"
	if out != want {
		t.Errorf("build output %q, want %q", out, want)
	}
	// the upload: a unique cli-build directory, the whole file, progress lines on a non-terminal
	var key string
	for k := range fh.uploads {
		key = k
	}
	if !regexp.MustCompile(`^cli-build/\d+\.[A-Za-z]{8}/hello-1-1\.src\.rpm$`).MatchString(key) || !bytes.Equal(fh.uploads[key], content) {
		t.Errorf("upload %q (%d bytes)", key, len(fh.uploads[key]))
	}
	if n := len(fh.called("rawUpload")); n != 4 {
		t.Errorf("%d chunks, want 4", n)
	}
	progress := te.stderr.String()
	if !strings.HasPrefix(progress, "uploading hello-1-1.src.rpm: 0% (0.00 B of 117.19 KiB)\nuploading hello-1-1.src.rpm: 27% (32.00 KiB of 117.19 KiB)\n") || !strings.HasSuffix(progress, "uploading hello-1-1.src.rpm: 100% (117.19 KiB of 117.19 KiB)\n") {
		t.Errorf("progress %q", progress)
	}
	b := fh.called("build")[0]
	wantArgs := []any{strings.TrimSuffix(key, ""), "f40-candidate", map[string]any{"scratch": true, "arch_override": "x86_64"}}
	if !reflect.DeepEqual(b.args, wantArgs) || !reflect.DeepEqual(b.kw, map[string]any{"priority": int64(5)}) {
		t.Errorf("build call %+v, want args %v", b, wantArgs)
	}
	if n := len(fh.called("getTaskInfo")); n != 0 {
		t.Errorf("--nowait watched the task (%d getTaskInfo)", n)
	}

	// an SCM URL: no upload; watch the task to the end
	out = te.mustRun(t, 0, "build", "--poll-interval", "1ms", "--channel", "bigmem", "f40-candidate", "git+https://src.example.org/rpms/hello.git#main")
	if !strings.Contains(out, "Created task: 10\n") || !strings.HasSuffix(out, "completed successfully\n") || strings.Contains(out, "Uploading") {
		t.Errorf("scm build output:\n%s", out)
	}
	b = fh.called("build")[1]
	if b.args[0] != "git+https://src.example.org/rpms/hello.git#main" || !reflect.DeepEqual(b.kw, map[string]any{"channel": "bigmem"}) || len(b.args[2].(map[string]any)) != 0 {
		t.Errorf("scm build call %+v", b)
	}
}

func TestBuildFailsAndRefuses(t *testing.T) {
	fh := newFakeHub(t)
	fh.on("getBuildTarget", func(args []any, kw map[string]any) (any, error) {
		switch args[0] {
		case "f40-candidate":
			return map[string]any{"id": int64(1), "name": "f40-candidate", "dest_tag": int64(1), "dest_tag_name": "f40"}, nil
		case "locked":
			return map[string]any{"id": int64(2), "name": "locked", "dest_tag": int64(9), "dest_tag_name": "frozen"}, nil
		}
		return nil, nil
	})
	fh.on("getTag", func(args []any, kw map[string]any) (any, error) {
		if args[0] == int64(9) {
			return map[string]any{"id": int64(9), "name": "frozen", "locked": true}, nil
		}
		return map[string]any{"id": int64(1), "name": "f40", "locked": false}, nil
	})
	fh.answer("build", int64(10))
	scriptedBuild(fh, true)
	te := adminEnv(t, fh.url)
	out := te.mustRun(t, 1, "build", "--poll-interval", "1ms", "f40-candidate", "git+https://h/hello.git#main")
	if !strings.HasSuffix(out, "10 build (f40-candidate, hello-1-1.src.rpm) failed\n") {
		t.Errorf("failed build:\n%s", out)
	}
	srpm := filepath.Join(t.TempDir(), "x.src.rpm")
	os.WriteFile(srpm, []byte("x"), 0o644)
	for _, tt := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"build", "nosuch", "git+https://h/x#1"}, 2, "Unknown build target: nosuch"},
		{[]string{"build", "locked", "git+https://h/x#1"}, 2, "Destination tag frozen is locked"},
		{[]string{"build", "f40-candidate"}, 2, "Exactly two arguments"},
		{[]string{"build", "a", "b", "c"}, 2, "Exactly two arguments"},
		{[]string{"build", "f40-candidate", srpm, "--arch-override", "x86_64"}, 2, "only allowed for --scratch"},
		{[]string{"build", "f40-candidate", "/no/such/file.src.rpm"}, 1, "no such file"},
		{[]string{"build", "f40-candidate", t.TempDir()}, 2, "not a regular file"},
		{[]string{"build", "f40-candidate", "git+https://h/x y#1"}, 2, "bad source"},
		{[]string{"build", "f4\x1b0", srpm}, 2, "bad target"},
		{[]string{"build", "f40-candidate", srpm, "--priority", "high"}, 2, "invalid value"},
		{[]string{"build", "f40-candidate", srpm, "--channel", "a b"}, 2, "bad channel"},
		{[]string{"build", "f40-candidate", srpm, "--wait-build", "hello"}, 2, "want NAME-VERSION-RELEASE"},
		{[]string{"build", "f40-candidate", srpm, "--wait-build", "he\x1bllo-1-1"}, 2, "bad build"},
	} {
		code := te.run(t, tt.args...)
		if code != tt.code || !strings.Contains(te.stderr.String(), tt.msg) {
			t.Errorf("%q: exit %d (want %d), stderr %q (want %q)", tt.args, code, tt.code, te.stderr.String(), tt.msg)
		}
	}
	// the locked tag is fine for a scratch build
	te.mustRun(t, 0, "build", "--nowait", "--scratch", "locked", "git+https://h/x#1")
	// --wait-repo and --wait-build become the build's opts, as koji build's
	te.mustRun(t, 0, "build", "--nowait", "--wait-repo", "--wait-build", "greet-devel-1.0-1", "--wait-build", "lib-2-1", "f40-candidate", "git+https://h/x#1")
	calls := fh.called("build")
	got := calls[len(calls)-1].args[2]
	want := map[string]any{"wait_repo": true, "wait_builds": []any{"greet-devel-1.0-1", "lib-2-1"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("build opts %v, want %v", got, want)
	}
}

func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1000, 0)
	p := newProgress(&buf, true, "x.src.rpm", func() time.Time { return now })
	now = now.Add(2 * time.Second)
	p(1<<20, 4<<20)
	want := "[=========                           ]  25% 00:00:02   1.00 MiB 512.00 KiB/sec\r"
	if buf.String() != want {
		t.Errorf("tty progress %q, want %q", buf.String(), want)
	}
	buf.Reset()
	p = newProgress(&buf, false, "x\x1b.src.rpm", time.Now)
	for i := int64(0); i <= 100; i++ {
		p(i, 100)
	}
	if n := strings.Count(buf.String(), "\n"); n != 11 || strings.Contains(buf.String(), "\x1b") {
		t.Errorf("plain progress: %d lines\n%s", n, buf.String())
	}
	buf.Reset()
	newProgress(&buf, false, "empty", time.Now)(0, 0)
	if buf.String() != "uploading empty: 0% (0.00 B of 0.00 B)\n" {
		t.Errorf("empty file progress %q", buf.String())
	}
}

func TestUniquePath(t *testing.T) {
	a, b := uniquePath("cli-build", time.Unix(1795725897, 0)), uniquePath("cli-build", time.Unix(1795725897, 0))
	if !regexp.MustCompile(`^cli-build/1795725897\.[A-Za-z]{8}$`).MatchString(a) || a == b {
		t.Errorf("uniquePath %q %q", a, b)
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[float64]string{0: "0.00 B", 1023: "1023.00 B", 1024: "1.00 KiB", 1536 << 10: "1.50 MiB", 3 << 30: "3.00 GiB"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%v) = %q, want %q", n, got, want)
		}
	}
	if got := formatSecs(3725); got != "01:02:05" {
		t.Errorf("formatSecs = %q", got)
	}
}

// TestE2ETagsBuildTasks drives add-tag, add-target, add-pkg, list-tagged,
// build (with a real upload), list-tasks, taskinfo, cancel and watch-task
// against the real hub on SQLite.
func TestE2ETagsBuildTasks(t *testing.T) {
	rh := newRealHub(t)
	te := adminEnv(t, rh.url)
	te.mustRun(t, 0, "add-tag", "f40")
	te.mustRun(t, 0, "add-tag", "f40-build", "--parent", "f40", "--arches", "x86_64")
	te.mustRun(t, 1, "add-tag", "f40")
	if !strings.Contains(te.stderr.String(), "already exists") {
		t.Errorf("duplicate tag: %q", te.stderr.String())
	}
	te.mustRun(t, 0, "add-target", "f40-candidate", "f40-build", "f40")
	te.mustRun(t, 1, "add-target", "f41-candidate", "nosuch", "f40")
	if te.stderr.String() != "No such tag: nosuch\n" {
		t.Errorf("add-target unknown tag: %q", te.stderr.String())
	}
	if out := te.mustRun(t, 0, "add-pkg", "f40", "hello", "--owner", "kojiadmin"); out != "Adding 1 packages to tag f40\n" {
		t.Errorf("add-pkg: %q", out)
	}
	if out := te.mustRun(t, 0, "add-pkg", "f40", "hello", "--owner", "kojiadmin"); out != "Package hello already exists in tag f40\nAdding 0 packages to tag f40\n" {
		t.Errorf("add-pkg again: %q", out)
	}
	out := te.mustRun(t, 0, "list-tagged", "f40")
	if out != "Build                                     Tag                   Built by\n"+
		"----------------------------------------  --------------------  ----------------\n" {
		t.Errorf("list-tagged of an empty tag: %q", out)
	}
	te.mustRun(t, 2, "list-tagged", "nosuch")

	srpm := filepath.Join(t.TempDir(), "hello-1-1.src.rpm")
	if err := os.WriteFile(srpm, bytes.Repeat([]byte{0xed, 0xab, 0xee, 0xdb}, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	out = te.mustRun(t, 0, "build", "--nowait", "--priority", "5", "f40-candidate", srpm)
	m := regexp.MustCompile(`Created task: (\d+)\n`).FindStringSubmatch(out)
	if m == nil || !strings.HasPrefix(out, "Uploading srpm: "+srpm+"\n") {
		t.Fatalf("build:\n%s", out)
	}
	id := m[1]
	out = te.mustRun(t, 0, "list-tasks")
	line := regexp.MustCompile(`(?m)^` + id + ` +25 +kojiadmin +(FREE|ASSIGNED) +noarch +build \(f40-candidate, hello-1-1\.src\.rpm\)$`)
	if !strings.HasPrefix(out, "ID       Pri  Owner                State    Arch       Name\n") || !line.MatchString(out) {
		t.Errorf("list-tasks:\n%s", out)
	}
	out = te.mustRun(t, 0, "taskinfo", "-v", id)
	for _, want := range []string{"Task: " + id + "\n", "Type: build\n", "Request Parameters:\n  Source: cli-build/", "/hello-1-1.src.rpm\n  Build Target: f40-candidate\n",
		"Owner: kojiadmin\n", "Log Files:\n  No outputs reported [1]\n", "[1] Not all tasks"} {
		if !strings.Contains(out, want) {
			t.Errorf("taskinfo lacks %q:\n%s", want, out)
		}
	}
	t.Logf("taskinfo -v on the real hub:\n%s", out)
	te.mustRun(t, 1, "taskinfo", "99999")
	if !strings.Contains(te.stderr.String(), "No such task: 99999") {
		t.Errorf("taskinfo 99999: %q", te.stderr.String())
	}

	// alice may not cancel kojiadmin's task
	rh.addUser(t, "alice", "alicepw")
	alice := newTestEnv(t, rh.url, "user = alice", "password = alicepw")
	alice.mustRun(t, 1, "cancel", id)
	if alice.stderr.Len() == 0 {
		t.Error("alice's cancel: no message")
	}
	te.mustRun(t, 0, "cancel", id)
	out = te.mustRun(t, 1, "watch-task", "--poll-interval", "1ms", id)
	want := "Watching tasks (this may be safely interrupted)...\n" +
		id + " build (f40-candidate, hello-1-1.src.rpm): canceled\n\n" +
		id + " build (f40-candidate, hello-1-1.src.rpm) was canceled\n"
	if out != want {
		t.Errorf("watch-task of a canceled task:\n%s\nwant:\n%s", out, want)
	}
	if out := te.mustRun(t, 0, "list-tasks"); out != "(no tasks)\n" {
		t.Errorf("list-tasks after cancel: %q", out)
	}
	if out := te.mustRun(t, 0, "list-tasks", "--all", "--quiet", "--mine"); !strings.Contains(out, "CANCELED") {
		t.Errorf("list-tasks --all --mine: %q", out)
	}
	if out := te.mustRun(t, 0, "watch-logs", id); out != "" {
		t.Errorf("watch-logs of a task without logs: %q", out)
	}

	// builds in the tag (made in the store: no builder here)
	ctx := context.Background()
	tag, err := rh.store.GetTagByName(ctx, "f40")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"2.11", "2.12"} {
		bid, err := rh.store.CreateBuild(ctx, db.NewBuild{PackageName: "hello", Version: v, Release: "1.fc40", State: db.BuildComplete, OwnerID: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, arch := range []string{"src", "x86_64"} {
			if _, err := rh.store.AddRPM(ctx, db.RPM{BuildID: bid, Name: "hello", Version: v, Release: "1.fc40", Arch: arch, Size: 100,
				PayloadHash: strings.Repeat("0", 32), Checksum: strings.Repeat("0", 64), BuildTime: 1795725897}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := rh.store.TagBuild(ctx, tag.ID, bid, nil); err != nil {
			t.Fatal(err)
		}
	}
	out = te.mustRun(t, 0, "list-tagged", "f40")
	want = "Build                                     Tag                   Built by\n" +
		"----------------------------------------  --------------------  ----------------\n" +
		"hello-2.11-1.fc40                         f40                   kojiadmin       \n" +
		"hello-2.12-1.fc40                         f40                   kojiadmin       \n"
	if out != want {
		t.Errorf("list-tagged:\n%s\nwant:\n%s", out, want)
	}
	if out := te.mustRun(t, 0, "list-tagged", "--latest", "--quiet", "f40", "hello"); out != "hello-2.12-1.fc40                         f40                   kojiadmin       \n" {
		t.Errorf("list-tagged --latest: %q", out)
	}
	if out := te.mustRun(t, 0, "list-tagged", "--rpms", "--latest", "f40"); out != "hello-2.12-1.fc40.src\nhello-2.12-1.fc40.x86_64\n" {
		t.Errorf("list-tagged --rpms --latest: %q", out)
	}
	if out := te.mustRun(t, 0, "list-tagged", "--quiet", "f40-build", "--inherit"); !strings.Contains(out, "hello-2.12-1.fc40") {
		t.Errorf("list-tagged --inherit of the child tag: %q", out)
	}

	// cancel a build by N-V-R (cancelBuild)
	bid, err := rh.store.CreateBuild(ctx, db.NewBuild{PackageName: "hello", Version: "3.0", Release: "1.fc40", State: db.BuildBuilding, OwnerID: 1})
	if err != nil {
		t.Fatal(err)
	}
	te.mustRun(t, 0, "cancel", "hello-3.0-1.fc40")
	if b, err := rh.store.GetBuild(ctx, bid); err != nil || b.State != db.BuildCanceled {
		t.Errorf("after cancel hello-3.0-1.fc40: state %v, %v", b.State, err)
	}
	te.mustRun(t, 1, "cancel", "nosuch-1.0-1")
	if te.stderr.Len() == 0 {
		t.Error("cancel of an unknown build: no message")
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and a polling reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startCmd runs kojictl in a goroutine; the returned func waits for its
// exit status.
func (te *testEnv) startCmd(t *testing.T, stdout *syncBuffer, args ...string) func() int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	env := &Env{Stdin: strings.NewReader(""), Stdout: stdout, Stderr: stdout, Getenv: func(k string) string { return te.vars[k] }}
	done := make(chan int, 1)
	go func() { done <- Main(ctx, env, args) }()
	return func() int { defer cancel(); return <-done }
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestE2EWatchLive follows a build on the real hub while a simulated
// builder takes it, streams build.log and closes it: watch-task shows the
// state changes, watch-logs -f prints each line as it is uploaded.
func TestE2EWatchLive(t *testing.T) {
	rh := newRealHub(t)
	te := adminEnv(t, rh.url)
	te.mustRun(t, 0, "add-tag", "f40")
	te.mustRun(t, 0, "add-tag", "f40-build", "--arches", "x86_64")
	te.mustRun(t, 0, "add-target", "f40-candidate", "f40-build", "f40")
	hc := rh.addHost(t, "builder1")
	ctx := context.Background()
	if err := hc.UpdateHost(ctx, 0, true, nil); err != nil {
		t.Fatal(err)
	}
	out := te.mustRun(t, 0, "build", "--nowait", "f40-candidate", "git+https://src.example.org/rpms/hello.git#main")
	m := regexp.MustCompile(`Created task: (\d+)\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("build: %s", out)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)

	var watch, logs syncBuffer
	waitWatch := te.startCmd(t, &watch, "watch-task", "--poll-interval", "5ms", m[1])
	waitLogs := te.startCmd(t, &logs, "watch-logs", "-f", "--poll-interval", "5ms", m[1])

	// the builder: take the task, open it, stream two log lines, close it
	waitFor(t, "the scheduler to assign the task", func() bool {
		tasks, err := hc.GetTasks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range tasks {
			if tk.ID == id && tk.State == stateAssigned {
				return true
			}
		}
		return false
	})
	if info, err := hc.OpenTask(ctx, id); err != nil || info == nil {
		t.Fatalf("openTask: %v %v", info, err)
	}
	dir := taskRelPath(id)
	line1 := "+ ./configure\n"
	if err := hc.UploadChunk(ctx, dir, "build.log", 0, []byte(line1), true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "watch-logs to print the first line", func() bool { return strings.Contains(logs.String(), line1) })
	waitFor(t, "watch-task to see the task open", func() bool { return strings.Contains(watch.String(), "-> open (builder1)") })
	line2 := "+ make\nhello built\n"
	if err := hc.UploadChunk(ctx, dir, "build.log", int64(len(line1)), []byte(line2), true); err != nil {
		t.Fatal(err)
	}
	var res bytes.Buffer
	if err := kojixml.EncodeResponse(&res, map[string]any{"rpms": []any{}}); err != nil {
		t.Fatal(err)
	}
	if err := hc.CloseTask(ctx, id, res.String()); err != nil {
		t.Fatal(err)
	}
	if code := waitWatch(); code != 0 {
		t.Errorf("watch-task exit %d:\n%s", code, watch.String())
	}
	if code := waitLogs(); code != 0 {
		t.Errorf("watch-logs exit %d:\n%s", code, logs.String())
	}
	label := m[1] + " build (f40-candidate, /rpms/hello.git:main)"
	// the first state is free or, when the scheduler was quick, assigned
	if !regexp.MustCompile(`\n` + regexp.QuoteMeta(label) + `: (free|assigned)\n`).MatchString(watch.String()) {
		t.Errorf("watch-task: no first state:\n%s", watch.String())
	}
	for _, want := range []string{" -> open (builder1)\n", label + ": open (builder1) -> closed\n",
		"  0 free  0 open  1 done  0 failed\n", label + " completed successfully\n"} {
		if !strings.Contains(watch.String(), want) {
			t.Errorf("watch-task lacks %q:\n%s", want, watch.String())
		}
	}
	wantLogs := "Watching logs (this may be safely interrupted)...\n==> " + m[1] + ":DEFAULT:build.log: <==\n" + line1 + line2
	if logs.String() != wantLogs {
		t.Errorf("watch-logs -f:\n%q\nwant\n%q", logs.String(), wantLogs)
	}
	t.Logf("watch-task on the real hub:\n%s", watch.String())
	// a snapshot of the finished task's logs
	if out := te.mustRun(t, 0, "watch-logs", m[1]); out != "==> "+m[1]+":DEFAULT:build.log: <==\n"+line1+line2 {
		t.Errorf("watch-logs snapshot %q", out)
	}
	// a second build that the builder fails: watch-task shows the fault, exit 1
	out = te.mustRun(t, 0, "build", "--nowait", "f40-candidate", "git+https://src.example.org/rpms/broken.git#main")
	m2 := regexp.MustCompile(`Created task: (\d+)\n`).FindStringSubmatch(out)
	id2, _ := strconv.ParseInt(m2[1], 10, 64)
	waitFor(t, "the scheduler to assign the second task", func() bool {
		tasks, _ := hc.GetTasks(ctx)
		for _, tk := range tasks {
			if tk.ID == id2 && tk.State == stateAssigned {
				return true
			}
		}
		return false
	})
	if _, err := hc.OpenTask(ctx, id2); err != nil {
		t.Fatal(err)
	}
	var fault bytes.Buffer
	kojixml.EncodeFault(&fault, &kojixml.Fault{Code: 1005, String: "error building package (arch x86_64), rpmbuild exited with status 1; see build.log"})
	if err := hc.FailTask(ctx, id2, fault.String()); err != nil {
		t.Fatal(err)
	}
	out = te.mustRun(t, 1, "watch-task", "--poll-interval", "1ms", m2[1])
	wantFail := m2[1] + " build (f40-candidate, /rpms/broken.git:main): FAILED: BuildError: error building package (arch x86_64), rpmbuild exited with status 1; see build.log\n"
	if !strings.Contains(out, wantFail) || !strings.HasSuffix(out, m2[1]+" build (f40-candidate, /rpms/broken.git:main) failed\n") {
		t.Errorf("watch-task of a failed task:\n%s\nwant line %q", out, wantFail)
	}

	out = te.mustRun(t, 0, "taskinfo", m[1])
	if !strings.Contains(out, "Host: builder1\n") || !strings.Contains(out, "Log Files:\n  /mnt/koji/work/"+dir+"/build.log\n") || !strings.Contains(out, "State: closed\n") {
		t.Errorf("taskinfo of the closed task:\n%s", out)
	}
}

// TestWatchTaskInterrupted: on Ctrl-C watch-task lists what still runs and
// prints the command that goes on watching, which works as printed.
func TestWatchTaskInterrupted(t *testing.T) {
	fh := newFakeHub(t)
	var mu sync.Mutex
	state := int64(stateOpen)
	fh.on("getTaskInfo", func(args []any, kw map[string]any) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		return map[string]any{"id": int64(10), "method": "newRepo", "arch": "noarch", "state": state,
			"host_id": int64(1), "request": []any{"f40-build"}}, nil
	})
	fh.answer("getTaskChildren", []any{})
	fh.answer("getHost", map[string]any{"id": int64(1), "name": "builder1"})
	te := newTestEnv(t, "http://127.0.0.1:1/never-used")
	cfg := filepath.Join(t.TempDir(), "koji.conf")
	if err := os.WriteFile(cfg, []byte("[lab]\nserver = "+fh.url+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Getenv: func(k string) string { return te.vars[k] }}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, env, []string{"-p", "lab", "--config", cfg, "watch-task", "--poll-interval", "1ms", "10"})
	}()
	waitFor(t, "the first state", func() bool { return strings.Contains(out.String(), "open (builder1)\n") })
	cancel()
	if code := <-done; code != 1 {
		t.Errorf("exit %d", code)
	}
	again := "kojictl -p lab --config " + cfg + " watch-task 10"
	want := "Tasks still running. You can continue to watch with: " + again + "\nRunning Tasks:\n10 newRepo (f40-build): open (builder1)\n"
	if !strings.HasSuffix(out.String(), want) {
		t.Fatalf("interrupted output:\n%s\nwant suffix:\n%s", out.String(), want)
	}
	mu.Lock()
	state = stateClosed
	mu.Unlock()
	if code := te.typed(t, again); code != 0 || !strings.HasSuffix(te.stdout.String(), "10 newRepo (f40-build) completed successfully\n") {
		t.Errorf("%s: exit %d\n%s%s", again, code, te.stdout.String(), te.stderr.String())
	}
}

func TestWatchTaskEndlessChildren(t *testing.T) {
	fh := newFakeHub(t)
	var mu sync.Mutex
	next := int64(100)
	fh.on("getTaskInfo", func(args []any, kw map[string]any) (any, error) {
		return map[string]any{"id": args[0], "method": "x", "arch": "noarch", "state": int64(stateFree)}, nil
	})
	fh.on("getTaskChildren", func(args []any, kw map[string]any) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		var kids []any
		for i := 0; i < 500; i++ {
			next++
			kids = append(kids, map[string]any{"id": next})
		}
		return kids, nil
	})
	te := newTestEnv(t, fh.url)
	te.mustRun(t, 1, "watch-task", "--quiet", "--poll-interval", "1ms", "10")
	if !strings.Contains(te.stderr.String(), "more than 10000 tasks") {
		t.Errorf("stderr %q", te.stderr.String())
	}
}

func TestWatchLogsVolumes(t *testing.T) {
	fh := newFakeHub(t)
	fh.answer("getTaskInfo", map[string]any{"id": int64(40), "state": int64(stateClosed)})
	fh.answer("getTaskChildren", []any{})
	fh.answer("listTaskOutput", map[string]any{"build.log": []any{"DEFAULT", "vol2"}})
	fh.on("downloadTaskOutput", func(args []any, kw map[string]any) (any, error) {
		if kw["offset"].(int64) > 0 {
			return "", nil
		}
		if kw["volume"] == "vol2" { // Koji's form: base64 in a <string>
			return "b24gdm9sMgo=", nil
		}
		return []byte("on default\n"), nil
	})
	te := newTestEnv(t, fh.url)
	out := te.mustRun(t, 0, "watch-logs", "40")
	if out != "==> 40:DEFAULT:build.log: <==\non default\n\n==> 40:vol2:build.log: <==\non vol2\n" {
		t.Errorf("volumes: %q", out)
	}
	fh.answer("downloadTaskOutput", "not base64!")
	if code := te.run(t, "watch-logs", "40"); code != 1 || !strings.Contains(te.stderr.String(), "base64") {
		t.Errorf("bad base64: exit %d %q", code, te.stderr.String())
	}
}

// TestWatchTaskFailureLines: a failure of several lines (rpmbuild's errors)
// prints as lines indented under the task, not as one line with \n in it;
// other control characters (here CSI, which XML carries) stay escaped.
func TestWatchTaskFailureLines(t *testing.T) {
	fh := newFakeHub(t)
	scriptedBuild(fh, true)
	fh.on("getTaskResult", func(args []any, kw map[string]any) (any, error) {
		return nil, kojixml.Errorf(1005, "error building package (arch x86_64), rpmbuild failed:\nerror: Bad exit status from /var/tmp/rpm-tmp.1 (%%build)\n\n\tmake: *** [all] Error 1\u009b2J\r\n")
	})
	te := newTestEnv(t, fh.url, "topurl = https://koji.example.org/kojifiles")
	out := te.mustRun(t, 1, "watch-task", "--poll-interval=1ms", "10")
	want := "  11 buildArch (hello-1-1.src.rpm, x86_64): open (builder1) -> FAILED: BuildError: error building package (arch x86_64), rpmbuild failed:\n" +
		"      error: Bad exit status from /var/tmp/rpm-tmp.1 (%build)\n" +
		"\n" +
		"      \tmake: *** [all] Error 1\\u009b2J\n" +
		"  Relevant logs:\n  https://koji.example.org/kojifiles/work/tasks/11/11/build.log\n"
	if !strings.Contains(out, want) {
		t.Errorf("watch-task output lacks\n%s\ngot:\n%s", want, out)
	}
	if strings.Contains(out, `\n`) || strings.Contains(out, "\u009b") {
		t.Errorf("watch-task printed an escaped newline or a raw escape:\n%q", out)
	}
	// The top-level task's failure, at level 0, is indented under it too.
	if !strings.Contains(out, "-> FAILED: BuildError: error building package (arch x86_64), rpmbuild failed:\n    error: Bad exit status") {
		t.Errorf("top-level failure not indented under its task:\n%s", out)
	}
}

// TestBuildTaskInfoLine: koji's "Task info:" line links the web UI only
// when the profile sets weburl (Koji's default, http://localhost/koji, is no
// web UI); otherwise it is the taskinfo command, with the -p, --config and
// --server flags that were given, and it works as printed.
func TestBuildTaskInfoLine(t *testing.T) {
	fh := newFakeHub(t)
	fh.answer("getBuildTarget", map[string]any{"id": int64(1), "name": "f40-candidate", "dest_tag": int64(1), "dest_tag_name": "f40"})
	fh.answer("getTag", map[string]any{"id": int64(1), "name": "f40", "locked": false})
	fh.answer("build", int64(10))
	scriptedBuild(fh, false)
	te := adminEnv(t, fh.url)
	cfg := filepath.Join(t.TempDir(), "my farm", "koji.conf")
	os.MkdirAll(filepath.Dir(cfg), 0o755)
	if err := os.WriteFile(cfg, []byte("[lab]\nserver = "+fh.url+"\nauthtype = password\nuser = kojiadmin\npassword = secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	scm := "git+https://h/hello.git#main"
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"build", "--nowait", "f40-candidate", scm}, "kojictl taskinfo 10"},
		{[]string{"-p", "lab", "--config", cfg, "build", "--nowait", "f40-candidate", scm}, "kojictl -p lab --config '" + cfg + "' taskinfo 10"},
		{[]string{"build", "--nowait", "--profile=lab", "f40-candidate", scm, "--config", cfg, "--server", fh.url}, "kojictl -p lab --config '" + cfg + "' --server " + fh.url + " taskinfo 10"},
	}
	for _, tc := range tests {
		out := te.mustRun(t, 0, tc.args...)
		if want := "Created task: 10\nTask info: " + tc.want + "\n"; out != want {
			t.Errorf("kojictl %q printed %q, want %q", tc.args, out, want)
			continue
		}
		line := strings.TrimSuffix(strings.TrimPrefix(out, "Created task: 10\nTask info: "), "\n")
		if code := te.typed(t, line); code != 0 || !strings.Contains(te.stdout.String(), "Task: 10\n") {
			t.Errorf("%s: exit %d\n%s%s", line, code, te.stdout.String(), te.stderr.String())
		}
	}
	// A weburl the profile sets is linked, as koji does.
	te.writeConfig(t, "[koji]\nserver = "+fh.url+"\nauthtype = password\nuser = kojiadmin\npassword = secret\nweburl = https://koji.example.org/koji/\n")
	if out := te.mustRun(t, 0, "build", "--nowait", "f40-candidate", scm); out != "Created task: 10\nTask info: https://koji.example.org/koji/taskinfo?taskID=10\n" {
		t.Errorf("with weburl: %q", out)
	}
	if out := te.mustRun(t, 0, "build", "--nowait", "--quiet", "f40-candidate", scm); out != "" {
		t.Errorf("--quiet printed %q", out)
	}
}
