package ctl

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"kojigo/internal/kojixml"
)

func TestTaskLabel(t *testing.T) {
	tests := []struct {
		task map[string]any
		want string
	}{
		{map[string]any{"method": "newRepo", "arch": "noarch", "request": []any{"f40-build"}}, "newRepo (f40-build)"},
		{map[string]any{"method": "newRepo", "arch": "noarch"}, "newRepo (noarch)"},
		{map[string]any{"method": "build", "arch": "noarch", "request": []any{"cli-build/1.abc/hello-1-1.src.rpm", "f40-candidate", map[string]any{}}}, "build (f40-candidate, hello-1-1.src.rpm)"},
		{map[string]any{"method": "build", "arch": "noarch", "request": []any{"git+https://src.example.org/rpms/hello.git#abc123", "f40-candidate"}}, "build (f40-candidate, /rpms/hello.git:abc123)"},
		{map[string]any{"method": "buildSRPMFromSCM", "arch": "noarch", "request": []any{"git+file:///srv/git/hello#main"}}, "buildSRPMFromSCM (/srv/git/hello:main)"},
		{map[string]any{"method": "buildArch", "arch": "x86_64", "request": []any{"tasks/3/3/hello-1-1.src.rpm", int64(2), "x86_64", true, map[string]any{}}}, "buildArch (hello-1-1.src.rpm, x86_64)"},
		{map[string]any{"method": "tagBuild", "arch": "noarch", "request": []any{int64(1), int64(5)}}, "tagBuild (noarch)"},
		{map[string]any{"method": "createrepo", "arch": "noarch", "request": []any{int64(4), "x86_64"}}, "createrepo (x86_64)"},
		{map[string]any{"method": "build", "arch": "noarch", "request": []any{"only-one-arg"}}, "build (noarch)"},
		{map[string]any{"method": "evil\x1b[2J", "arch": "x\ny"}, `evil\x1b[2J (x\ny)`},
		{map[string]any{}, " ()"},
	}
	for _, tt := range tests {
		if got := taskLabel(tt.task); got != tt.want {
			t.Errorf("taskLabel(%v) = %q, want %q", tt.task, got, tt.want)
		}
	}
}

func TestModuleInfo(t *testing.T) {
	tests := map[string]string{
		"git+https://h/rpms/hello.git#abc": "/rpms/hello.git:abc",
		"git://h/rpms/hello.git?pkg#abc":   "/rpms/hello.git:pkg:abc",
		"git+file:///srv/git/hello#main":   "/srv/git/hello:main",
		"https://h/x":                      "/:https://h/x", // Python slicing without '#'
		"":                                 ":",
		"#":                                ":",
		"://":                              ":://",
	}
	for in, want := range tests {
		if got := moduleInfo(in); got != want {
			t.Errorf("moduleInfo(%q) = %q, want %q", in, got, want)
		}
	}
}

func fakeTasks(fh *fakeHub) {
	fh.answer("listTasks", []any{
		map[string]any{"id": int64(1), "priority": int64(15), "owner_name": "kojiadmin", "state": int64(0), "arch": "noarch",
			"method": "newRepo", "parent": nil, "request": []any{"f40-build"}},
		map[string]any{"id": int64(3), "priority": int64(20), "owner_name": "alice", "state": int64(1), "arch": "noarch",
			"method": "build", "parent": nil, "request": []any{"cli-build/1.x/hello-1-1.src.rpm", "f40-candidate", map[string]any{}}},
		map[string]any{"id": int64(4), "priority": int64(19), "owner_name": "alice", "state": int64(1), "arch": "x86_64",
			"method": "buildArch", "parent": int64(3), "request": []any{"cli-build/1.x/hello-1-1.src.rpm", int64(2), "x86_64", true}},
		map[string]any{"id": int64(5), "priority": int64(19), "owner_name": "alice", "state": int64(4), "arch": "aarch64",
			"method": "buildArch", "parent": int64(3), "request": []any{"cli-build/1.x/hello-1-1.src.rpm", int64(2), "aarch64", true}},
	})
}

func TestListTasks(t *testing.T) {
	fh := newFakeHub(t)
	fakeTasks(fh)
	te := newTestEnv(t, fh.url)
	out := te.mustRun(t, 0, "list-tasks")
	want := "" +
		"ID       Pri  Owner                State    Arch       Name\n" +
		"1        15   kojiadmin            FREE     noarch     newRepo (f40-build)\n" +
		"3        20   alice                OPEN     noarch     build (f40-candidate, hello-1-1.src.rpm)\n" +
		"4        19   alice                OPEN     x86_64      +buildArch (hello-1-1.src.rpm, x86_64)\n" +
		"5        19   alice                ASSIGNED aarch64     +buildArch (hello-1-1.src.rpm, aarch64)\n"
	if out != want {
		t.Errorf("list-tasks:\n%s\nwant:\n%s", out, want)
	}
	lt := fh.called("listTasks")
	wantOpts := map[string]any{"decode": true, "state": []any{int64(0), int64(1), int64(4)}}
	if len(lt) != 1 || !reflect.DeepEqual(lt[0].args, []any{wantOpts, map[string]any{"order": "priority,create_time"}}) {
		t.Errorf("listTasks args %+v", lt)
	}
}

func TestListTasksFilters(t *testing.T) {
	fh := newFakeHub(t)
	fakeTasks(fh)
	fh.answer("getUser", map[string]any{"id": int64(9), "name": "alice"})
	fh.answer("getHost", map[string]any{"id": int64(2), "name": "builder1"})
	fh.answer("getChannel", map[string]any{"id": int64(3), "name": "default"})
	fh.answer("getLoggedInUser", map[string]any{"id": int64(1), "name": "kojiadmin", "status": int64(0), "usertype": int64(0)})
	te := adminEnv(t, fh.url)
	te.mustRun(t, 0, "list-tasks", "--user", "alice", "--host", "builder1", "--channel", "default", "--method", "buildArch", "--arch", "x86_64,aarch64", "--quiet", "--all")
	got := fh.called("listTasks")[0].args[0]
	want := map[string]any{"decode": true, "owner": int64(9), "host_id": int64(2), "channel_id": int64(3), "method": "buildArch",
		"arch": []any{"x86_64", "aarch64"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("listTasks opts %v, want %v", got, want)
	}
	if strings.Contains(te.stdout.String(), "Owner") {
		t.Error("--quiet printed the header")
	}
	if len(fh.called("login")) != 0 {
		t.Error("list-tasks without --mine logged in")
	}
	te.mustRun(t, 0, "list-tasks", "--mine")
	if len(fh.called("login")) != 1 || fh.called("listTasks")[1].args[0].(map[string]any)["owner"] != int64(1) {
		t.Errorf("--mine: %v", fh.methods())
	}
	fh.answer("getUser", nil)
	if out := te.mustRun(t, 1, "list-tasks", "--user", "nobody"); out != "No such user: nobody\n" {
		t.Errorf("unknown user: %q", out)
	}
	fh.answer("listTasks", []any{})
	if out := te.mustRun(t, 0, "list-tasks"); out != "(no tasks)\n" {
		t.Errorf("no tasks: %q", out)
	}
	for _, args := range [][]string{
		{"list-tasks", "extra"},
		{"list-tasks", "--mine", "--user", "alice"},
		{"list-tasks", "--user", "a b"},
		{"list-tasks", "--arch", "x\x01"},
	} {
		if code := te.run(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

func TestListTasksHostileTree(t *testing.T) {
	fh := newFakeHub(t)
	// a cycle (1 -> 2 -> 1) and a task that is its own parent must not loop
	fh.answer("listTasks", []any{
		map[string]any{"id": int64(1), "parent": int64(2), "state": int64(0), "method": "a"},
		map[string]any{"id": int64(2), "parent": int64(1), "state": int64(9), "method": "b"},
		map[string]any{"id": int64(3), "parent": int64(3), "state": int64(0), "method": "c"},
		"junk",
	})
	te := newTestEnv(t, fh.url)
	out := te.mustRun(t, 0, "list-tasks")
	if strings.Count(out, "\n") > 4 {
		t.Errorf("cycle printed too much:\n%s", out)
	}
}

func TestTaskinfo(t *testing.T) {
	fh := newFakeHub(t)
	// as recorded from Koji 1.35 (wire/taskinfo.txt): a free newRepo task
	fh.answer("getTaskInfo", map[string]any{"arch": "noarch", "awaited": nil, "channel_id": int64(2), "completion_ts": nil,
		"create_ts": 1795725897.625418, "host_id": nil, "id": int64(2), "method": "newRepo", "owner": int64(1), "parent": nil,
		"priority": int64(15), "start_ts": nil, "state": int64(0), "waiting": nil, "weight": 1.0})
	fh.answer("listBuildroots", []any{})
	fh.answer("listBuilds", []any{})
	fh.answer("listTaskOutput", map[string]any{})
	fh.answer("getUser", map[string]any{"id": int64(1), "name": "kojiadmin"})
	fh.answer("getTaskRequest", []any{"f40-build"})
	fh.answer("getTag", map[string]any{"id": int64(2), "name": "f40-build", "arches": "x86_64"})
	te := newTestEnv(t, fh.url)
	out := te.mustRun(t, 0, "taskinfo", "-v", "2")
	want := `Task: 2
Type: newRepo
Request Parameters:
  Tag: f40-build
Owner: kojiadmin
State: free
Created: Thu Nov 26 20:44:57 2026
Log Files:
  No outputs reported [1]
Output:
  No outputs reported [1]
[1] Not all tasks produce outputs, and task outputs are not retained indefinitely.
`
	if out != want {
		t.Errorf("taskinfo -v:\n%s\nwant:\n%s", out, want)
	}
	wantCalls := []string{"getTaskInfo", "listBuildroots", "listBuilds", "listTaskOutput", "getUser", "getTaskRequest", "getTag"}
	if got := fh.methods(); !reflect.DeepEqual(got, wantCalls) {
		t.Errorf("calls %v, want Koji's %v", got, wantCalls)
	}
}

func TestTaskinfoBuild(t *testing.T) {
	fh := newFakeHub(t)
	fh.on("getTaskInfo", func(args []any, kw map[string]any) (any, error) {
		switch args[0] {
		case int64(3):
			return map[string]any{"id": int64(3), "method": "build", "owner": int64(1), "state": int64(2), "host_id": nil,
				"create_ts": 1795725897.0, "start_ts": 1795725898.0, "completion_ts": 1795725960.0}, nil
		case int64(4):
			return map[string]any{"id": int64(4), "method": "buildArch", "owner": int64(1), "state": int64(5), "host_id": int64(1),
				"create_ts": 1795725899.0, "start_ts": 1795725900.0, "completion_ts": 1795725950.0}, nil
		}
		return nil, nil
	})
	fh.answer("getHost", map[string]any{"id": int64(1), "name": "builder1"})
	// a stock hub would have these; kojigo hubs may not yet: sections are left out
	fh.on("listTaskOutput", func(args []any, kw map[string]any) (any, error) {
		if args[0] == int64(4) {
			return map[string]any{"build.log": []any{"DEFAULT"}, "hello-1-1.x86_64.rpm": []any{"DEFAULT"}, "root.log": []any{"DEFAULT"}}, nil
		}
		return map[string]any{}, nil
	})
	fh.answer("getUser", map[string]any{"id": int64(1), "name": "alice"})
	fh.on("getTaskRequest", func(args []any, kw map[string]any) (any, error) {
		if args[0] == int64(3) {
			return []any{"cli-build/1.x/hello-1-1.src.rpm", "f40-candidate", map[string]any{"scratch": true, "arch_override": "x86_64"}}, nil
		}
		return []any{"cli-build/1.x/hello-1-1.src.rpm", int64(2), "x86_64", true, map[string]any{"repo_id": int64(1)}}, nil
	})
	fh.answer("getTag", map[string]any{"id": int64(2), "name": "f40-build"})
	fh.answer("getTaskChildren", []any{map[string]any{"id": int64(4)}})
	te := newTestEnv(t, fh.url, "topdir = /srv/koji")
	out := te.mustRun(t, 0, "taskinfo", "-v", "-r", "3")
	want := `Task: 3
Type: build
Request Parameters:
  Source: cli-build/1.x/hello-1-1.src.rpm
  Build Target: f40-candidate
  Options:
    arch_override: x86_64
    scratch: True
Owner: alice
State: closed
Created: Thu Nov 26 20:44:57 2026
Started: Thu Nov 26 20:44:58 2026
Finished: Thu Nov 26 20:46:00 2026
Log Files:
  No outputs reported [1]
Output:
  No outputs reported [1]

  Task: 4
  Type: buildArch
  Request Parameters:
    SRPM: /srv/koji/work/cli-build/1.x/hello-1-1.src.rpm
    Build Tag: f40-build
    Build Arch: x86_64
    SRPM Kept: True
    Options:
      repo_id: 1
  Owner: alice
  State: failed
  Created: Thu Nov 26 20:44:59 2026
  Started: Thu Nov 26 20:45:00 2026
  Finished: Thu Nov 26 20:45:50 2026
  Host: builder1
  Log Files:
    /srv/koji/work/tasks/4/4/build.log
    /srv/koji/work/tasks/4/4/root.log
  Output:
    /srv/koji/work/tasks/4/4/hello-1-1.x86_64.rpm
[1] Not all tasks produce outputs, and task outputs are not retained indefinitely.
`
	if out != want {
		t.Errorf("taskinfo -v -r:\n%s\nwant:\n%s", out, want)
	}
	if n := len(fh.called("listBuilds")); n != 1 {
		t.Errorf("listBuilds asked %d times after the hub said it has none", n)
	}
}

func TestTaskinfoErrors(t *testing.T) {
	fh := newFakeHub(t)
	fh.answer("getTaskInfo", nil)
	te := newTestEnv(t, fh.url)
	te.mustRun(t, 1, "taskinfo", "99999")
	if te.stderr.String() != "kojictl taskinfo: GenericError: No such task: 99999\n" {
		t.Errorf("stderr %q", te.stderr.String())
	}
	for _, args := range [][]string{{"taskinfo"}, {"taskinfo", "abc"}, {"taskinfo", "0"}, {"taskinfo", "1", "-x"}, {"taskinfo", "99999999999"}} {
		if code := te.run(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if n := len(fh.called("getTaskInfo")); n != 1 {
		t.Errorf("bad ids reached the hub: %d calls", n)
	}
}

func TestCancel(t *testing.T) {
	fh := newFakeHub(t)
	fh.on("cancelTask", func(args []any, kw map[string]any) (any, error) {
		if args[0] == int64(2) {
			return nil, kojixml.Errorf(1004, "Cannot cancel task, not owner")
		}
		return nil, nil
	})
	fh.answer("cancelTaskFull", nil)
	fh.answer("cancelBuild", true)
	te := adminEnv(t, fh.url)
	if out := te.mustRun(t, 0, "cancel", "5"); out != "" {
		t.Errorf("cancel printed %q", out)
	}
	if got := fh.methods(); !reflect.DeepEqual(got, []string{"login", "mc:cancelTask", "logout"}) {
		t.Errorf("calls %v", got)
	}
	te.mustRun(t, 1, "cancel", "2", "6")
	if te.stderr.String() != "Cannot cancel task, not owner\n" || len(fh.called("mc:cancelTask")) != 3 {
		t.Errorf("stderr %q calls %v", te.stderr.String(), fh.methods())
	}
	te.mustRun(t, 0, "cancel", "--full", "7")
	if c := fh.called("mc:cancelTaskFull"); len(c) != 1 || c[0].args[0] != int64(7) {
		t.Errorf("cancelTaskFull %+v", c)
	}
	if c := fh.called("mc:cancelBuild"); len(c) != 0 {
		t.Errorf("--full with an NVR: %+v", c)
	}
	te.mustRun(t, 0, "cancel", "hello-1.0-1")
	if c := fh.called("mc:cancelBuild"); len(c) != 1 || c[0].args[0] != "hello-1.0-1" || c[0].kw["strict"] != true {
		t.Errorf("cancelBuild %+v", c)
	}
	te.mustRun(t, 0, "cancel", "--justone", "8")
	if c := fh.called("mc:cancelTask"); c[len(c)-1].kw["recurse"] != false {
		t.Errorf("--justone %+v", c[len(c)-1])
	}
	// 250 ids: three multicalls of at most 100
	args := []string{"cancel"}
	for i := 1; i <= 250; i++ {
		args = append(args, strconv.Itoa(1000+i))
	}
	fh.calls = nil
	te.mustRun(t, 0, args...)
	if n := len(fh.called("mc:cancelTask")); n != 250 {
		t.Errorf("cancelTask calls %d", n)
	}
	if n := len(fh.called("multiCall")); n != 0 {
		t.Errorf("recorded %d plain multiCall calls", n)
	}
}

func TestCancelArgs(t *testing.T) {
	fh := newFakeHub(t)
	te := adminEnv(t, fh.url)
	for _, args := range [][]string{
		{"cancel"},
		{"cancel", "0"},
		{"cancel", "99999999999"},
		{"cancel", "notanvr"},
		{"cancel", "evil-1-\x1b[2J"},
		{"cancel", "--justone", "--full", "1"},
		{"cancel", "--force", "1"},
		{"cancel", "--justone", "hello-1-1"},
	} {
		if code := te.run(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2 (%q)", args, code, te.stderr.String())
		}
	}
	if len(fh.methods()) != 0 {
		t.Errorf("bad command lines reached the hub: %v", fh.methods())
	}
}
