package demo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"kojigo/internal/kojiclient"
	"kojigo/internal/testenv"
)

// fakeHub answers the calls the watcher makes from tables.
type fakeHub struct {
	tagged    map[string][]any         // package → listTagged result
	tasks     map[int64]map[string]any // getTaskInfo
	children  map[int64][]any          // getTaskChildren
	fault     map[int64]error          // getTaskResult
	logs      map[int64]string         // build.log by task
	hosts     []any
	nextTask  int64
	calls     []string
	uploads   []string
	buildOpts []any // the opts of each build call

	repoRequest  map[string]any   // repo.request's answer
	requestErr   error            // repo.request's error
	checkRequest []map[string]any // repo.checkRequest's answers, in turn (the last repeats)
	channels     map[string][]any // listChannels by host
	added        []string         // addHostToChannel calls: host/channel
}

func (f *fakeHub) Call(ctx context.Context, method string, args ...any) (any, error) {
	f.calls = append(f.calls, method)
	switch method {
	case "listTagged":
		if len(args) == 1 {
			var all []any
			for _, l := range f.tagged {
				all = append(all, l...)
			}
			return all, nil
		}
		pkg := args[1].(kojiclient.Kw)["package"].(string)
		return f.tagged[pkg], nil
	case "repo.request":
		if args[0] != BuildTag || args[1].(kojiclient.Kw)["min_event"] != "last" {
			return nil, fmt.Errorf("repo.request%v, want the build tag and min_event last", args)
		}
		return f.repoRequest, f.requestErr
	case "repo.checkRequest":
		if len(f.checkRequest) == 0 {
			return nil, fmt.Errorf("no such request %v", args[0])
		}
		v := f.checkRequest[0]
		if len(f.checkRequest) > 1 {
			f.checkRequest = f.checkRequest[1:]
		}
		return v, nil
	case "getTag", "getBuildTarget", "getHost": // a farm set up by an earlier run
		return map[string]any{"id": int64(1)}, nil
	case "listPackages":
		var l []any
		for _, s := range samples() {
			l = append(l, map[string]any{"package_name": s.Package})
		}
		return l, nil
	case "listChannels":
		return f.channels[args[0].(kojiclient.Kw)["hostID"].(string)], nil
	case "addHostToChannel":
		f.added = append(f.added, args[0].(string)+"/"+args[1].(string))
		return nil, nil
	case "getTaskInfo":
		if t, ok := f.tasks[args[0].(int64)]; ok {
			return t, nil
		}
		return nil, nil
	case "getTaskChildren":
		return f.children[args[0].(int64)], nil
	case "getTaskResult":
		return nil, f.fault[args[0].(int64)]
	case "kojigo.listHostHealth":
		return f.hosts, nil
	case "build":
		f.buildOpts = append(f.buildOpts, args[len(args)-1])
		f.nextTask++
		f.tasks[f.nextTask] = map[string]any{"id": f.nextTask, "state": int64(taskFree), "method": "build"}
		return f.nextTask, nil
	}
	return nil, fmt.Errorf("unexpected call %s", method)
}

func (f *fakeHub) UploadFile(ctx context.Context, localPath, serverDir, name string, progress func(done, total int64)) error {
	f.uploads = append(f.uploads, name)
	return nil
}

func (f *fakeHub) DownloadTaskOutput(ctx context.Context, taskID int64, fileName string, offset, size int64) ([]byte, error) {
	if fileName != "build.log" {
		return nil, fmt.Errorf("unexpected file %s", fileName)
	}
	return []byte(f.logs[taskID]), nil
}

func newFake() *fakeHub {
	return &fakeHub{tagged: map[string][]any{}, tasks: map[int64]map[string]any{}, children: map[int64][]any{},
		fault: map[int64]error{}, logs: map[int64]string{}, nextTask: 100}
}

// TestSubmitResumes: a tagged package is not built again, a running or
// (for broken) failed task of the previous run is followed, and a failed
// build of a package that should succeed is submitted again.
func TestSubmitResumes(t *testing.T) {
	testenv.NeedTool(t, "rpmbuild")
	f := newFake()
	f.tagged["hello"] = []any{map[string]any{"nvr": "hello-1.0-1"}}
	f.tagged["greet-devel"] = []any{map[string]any{"nvr": "greet-devel-1.0-1"}}
	f.tagged["motd"] = []any{map[string]any{"nvr": "motd-1.0-1"}}
	f.tasks[7] = map[string]any{"id": int64(7), "state": int64(taskFailed)} // greeting failed last time
	f.tasks[8] = map[string]any{"id": int64(8), "state": int64(taskFailed)} // broken failed, as intended
	var out bytes.Buffer
	l := layout{dir: t.TempDir()}
	makeDirs(l, 1)
	st := state{Tasks: map[string]int64{"greeting": 7, "broken": 8}}
	w := &watcher{out: &out, admin: f, l: l, st: &st}
	if err := w.submit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(f.uploads) != 1 || !strings.HasPrefix(f.uploads[0], "greeting-2.1-3") || !strings.HasSuffix(f.uploads[0], ".src.rpm") {
		t.Fatalf("uploads = %v, want greeting's SRPM only\n%s", f.uploads, out.String())
	}
	if st.Tasks["greeting"] != 101 || st.Tasks["broken"] != 8 {
		t.Errorf("state tasks = %v", st.Tasks)
	}
	saved, err := loadState(l.stateFile())
	if err != nil || saved.Tasks["greeting"] != 101 {
		t.Errorf("saved state = %+v, %v", saved, err)
	}
	for _, want := range []string{
		"build hello: hello-1.0-1 already built and tagged into demo",
		"build broken: following task 8 from the previous run (FAILED)",
		"build greeting: submitted greeting-2.1-3",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if len(w.builds) != 2 {
		t.Errorf("following %d builds, want greeting and broken", len(w.builds))
	}
}

// TestPollPrintsTreeAndFailure: state changes of a build and its children
// are printed once each; a failed build prints its fault and the end of the
// failed child's build.log, once; the summary comes when all are done.
func TestPollPrintsTreeAndFailure(t *testing.T) {
	f := newFake()
	f.hosts = []any{map[string]any{"host_id": int64(1), "name": "builder1", "ready": true, "enabled": true, "data": map[string]any{}}}
	f.tasks[4] = map[string]any{"id": int64(4), "state": int64(taskOpen), "method": "build", "host_id": int64(1)}
	f.children[4] = []any{map[string]any{"id": int64(6), "state": int64(taskOpen), "method": "buildArch", "arch": "x86_64", "label": "x86_64", "host_id": int64(1)},
		map[string]any{"id": int64(9), "state": int64(taskClosed), "method": "tagBuild", "arch": "noarch", "label": "tag", "host_id": int64(1)}}
	var out bytes.Buffer
	w := &watcher{out: &out, admin: f, l: layout{dir: t.TempDir()},
		hosts: map[string]string{}, hostNames: map[int64]string{}, exited: map[string]bool{}}
	w.builds = []*tracked{{pkg: sample{Dir: "broken", Package: "broken", WantFail: true}, id: 4, states: map[int64]int64{}}}
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := w.poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	f.children[4][0].(map[string]any)["state"] = int64(taskFailed)
	f.tasks[4]["state"] = int64(taskFailed)
	f.fault[4] = &kojiclient.Fault{Code: 1000, String: "error building package (arch x86_64)\n\nlast lines of build.log:\nbroken.c:5: error: expected ';'"}
	f.logs[6] = strings.Repeat("noise\n", 30) + "error: Bad exit status\n"
	for i := 0; i < 3; i++ {
		if err := w.poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := out.String()
	for _, want := range []string{
		"host builder1: ready\n",
		"task 4 build broken: OPEN on builder1\n",
		"  task 6 buildArch broken x86_64: OPEN on builder1\n",
		"  task 9 tagBuild broken noarch: CLOSED on builder1\n",
		"  task 6 buildArch broken x86_64: FAILED on builder1\n",
		"task 4 build broken: FAILED on builder1\n",
		"build broken failed:\n    error building package (arch x86_64)\n    last lines of build.log:\n    broken.c:5: error: expected ';'\n",
		"last lines of build.log of task 6 (buildArch):\n",
		"    error: Bad exit status\n",
		"kojigo demo: all sample builds finished: broken FAILED (as intended)\n",
	} {
		if strings.Count(got, want) != 1 {
			t.Errorf("output has %q %d times, want once:\n%s", want, strings.Count(got, want), got)
		}
	}
	if n := strings.Count(got, "noise"); n > 12 {
		t.Errorf("printed %d log lines of noise, want the last lines only", n)
	}
}

// TestPollStopsWhenTheHubExits: a hub that exits ends the demo with its
// log's last lines; a builder that exits is reported once.
func TestPollStopsWhenTheHubExits(t *testing.T) {
	dir := t.TempDir()
	l := layout{dir: dir}
	makeDirs(l, 1)
	b, err := startChild("builder1", dir+"/logs/builder1.log", syscall.SIGKILL, "/bin/sh", "-c", "echo builder says bye; exit 3")
	if err != nil {
		t.Fatal(err)
	}
	<-b.done
	var out bytes.Buffer
	f := newFake()
	w := &watcher{out: &out, admin: f, l: l, children: []*child{b},
		hosts: map[string]string{}, hostNames: map[int64]string{}, exited: map[string]bool{}}
	for i := 0; i < 2; i++ {
		if err := w.poll(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Count(out.String(), "builder1 exited (exit status 3)") != 1 || !strings.Contains(out.String(), "builder says bye") {
		t.Errorf("output:\n%s", out.String())
	}
	h, err := startChild("kojihub", dir+"/logs/kojihub.log", syscall.SIGKILL, "/bin/sh", "-c", "echo database is locked; exit 1")
	if err != nil {
		t.Fatal(err)
	}
	<-h.done
	w.children = append(w.children, h)
	err = w.poll(context.Background())
	if err == nil || !strings.Contains(err.Error(), "kojihub exited") || !strings.Contains(err.Error(), "database is locked") {
		t.Fatalf("poll after the hub exited = %v", err)
	}
	if err := h.stop(stopGrace); err != nil {
		t.Errorf("stop of an exited child: %v", err)
	}
}

// TestStopAllStopsInReverse: children are stopped in the reverse order of
// their start, so kojira (started last) goes first and the hub last.
func TestStopAllStopsInReverse(t *testing.T) {
	dir := t.TempDir()
	order := filepath.Join(dir, "order")
	var cs []*child
	for _, n := range []string{"kojihub", "builder1", "kojira"} {
		log := filepath.Join(dir, n+".log")
		c, err := startChild(n, log, syscall.SIGKILL, "/bin/sh", "-c",
			fmt.Sprintf("trap 'echo %s >> %s; exit 0' TERM; echo ready; while :; do sleep 0.05; done", n, order))
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(readTail(log, 4096), "ready"); {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not start", n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	var out bytes.Buffer
	stopAll(&out, cs)
	b, _ := os.ReadFile(order)
	if got := strings.Fields(string(b)); strings.Join(got, " ") != "kojira builder1 kojihub" {
		t.Errorf("stopped in the order %q, want kojira builder1 kojihub\n%s", got, out.String())
	}
}

// TestSubmitWaitBuilds: motd needs greet-devel from the build tag's repo,
// so its build waits for a repo with greet-devel's build in it.
func TestSubmitWaitBuilds(t *testing.T) {
	testenv.NeedTool(t, "rpmbuild")
	f := newFake()
	for _, p := range []string{"hello", "greeting", "broken", "greet-devel"} {
		f.tagged[p] = []any{map[string]any{"nvr": p + "-1-1"}}
	}
	var out bytes.Buffer
	l := layout{dir: t.TempDir()}
	makeDirs(l, 1)
	w := &watcher{out: &out, admin: f, l: l, st: &state{Tasks: map[string]int64{}}}
	if err := w.submit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(f.buildOpts) != 1 || fmt.Sprint(f.buildOpts[0]) != "map[wait_builds:[greet-devel-1.0-1]]" {
		t.Fatalf("build opts = %v, want motd's with wait_builds\n%s", f.buildOpts, out.String())
	}
	if !strings.Contains(out.String(), "build motd: waits for a repo of demo-build with greet-devel-1.0-1") {
		t.Errorf("the report does not say what motd waits for:\n%s", out.String())
	}
}
