package ctl

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"

	"kojigo/internal/kojixml"
)

const webLine = "weburl = https://koji.example.org/koji"

// fakeRepoHub serves the tag f40-build (id 2), built by target
// f40-candidate into f40, last changed at event 7; repo.request answers
// request 1 (without a task), as the recorded stock hub does.
func fakeRepoHub(t *testing.T) *fakeHub {
	fh := newFakeHub(t)
	tag := map[string]any{"id": int64(2), "name": "f40-build", "arches": "x86_64", "locked": false, "extra": map[string]any{}}
	fh.on("getTag", func(args []any, kw map[string]any) (any, error) {
		if args[0] == "f40-build" || args[0] == int64(2) {
			return tag, nil
		}
		if kw["strict"] == true {
			return nil, kojixml.Errorf(kojixml.GenericError, "No such tagInfo: %v", args[0])
		}
		return nil, nil
	})
	target := map[string]any{"id": int64(1), "name": "f40-candidate", "build_tag": int64(2), "build_tag_name": "f40-build",
		"dest_tag": int64(1), "dest_tag_name": "f40"}
	fh.on("getBuildTarget", func(args []any, kw map[string]any) (any, error) {
		if args[0] == "f40-candidate" {
			return target, nil
		}
		return nil, nil
	})
	fh.on("getBuildTargets", func(args []any, kw map[string]any) (any, error) {
		if kw["buildTagID"] == int64(2) || kw["destTagID"] == int64(1) {
			return []any{target}, nil
		}
		return []any{}, nil
	})
	fh.answer("tagLastChangeEvent", int64(7))
	fh.answer("repo.request", map[string]any{"repo": nil, "duplicate": false, "request": request(nil, nil, true)})
	return fh
}

// request is a repo request 1 of tag 2 as the hub answers it.
func request(task, taskState any, active bool) map[string]any {
	return map[string]any{"id": int64(1), "tag_id": int64(2), "tag_name": "f40-build", "min_event": int64(7), "at_event": nil,
		"opts": map[string]any{}, "owner": int64(1), "owner_name": "kojiadmin", "priority": int64(20), "repo_id": nil,
		"task_id": task, "task_state": taskState, "active": active, "tries": int64(0)}
}

// repoAdminEnv is adminEnv with more profile lines.
func repoAdminEnv(t *testing.T, server string, extra ...string) *testEnv {
	t.Helper()
	return newTestEnv(t, server, append([]string{"authtype = password", "user = kojiadmin", "password = secret"}, extra...)...)
}

func repoInfo(id, event int64) map[string]any {
	return map[string]any{"id": id, "tag_id": int64(2), "tag_name": "f40-build", "create_event": event, "state": int64(1),
		"opts": map[string]any{"src": false, "debuginfo": false, "separate_src": false}}
}

// callLines are the recorded call as "method(args) {kw}", for comparing calls.
func callLines(fh *fakeHub) []string {
	fh.mu.Lock()
	defer fh.mu.Unlock()
	var out []string
	for _, c := range fh.calls {
		if c.method == "login" || c.method == "logout" || c.method == "getAPIVersion" {
			continue
		}
		out = append(out, formatCall(c))
	}
	return out
}

func formatCall(c fakeCall) string {
	var b strings.Builder
	b.WriteString(c.method)
	b.WriteString("(")
	for i, a := range c.args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(callRepr(a))
	}
	for _, k := range sortedKeys(c.kw) {
		if b.Len() > len(c.method)+1 {
			b.WriteString(", ")
		}
		b.WriteString(k + "=" + callRepr(c.kw[k]))
	}
	b.WriteString(")")
	return b.String()
}

func callRepr(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case string:
		return "'" + v + "'"
	case bool:
		if v {
			return "True"
		}
		return "False"
	case map[string]any:
		var parts []string
		for _, k := range sortedKeys(v) {
			parts = append(parts, "'"+k+"': "+callRepr(v[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return mstr(map[string]any{"v": v}, "v")
}

func checkCalls(t *testing.T, fh *fakeHub, want ...string) {
	t.Helper()
	if got := callLines(fh); !reflect.DeepEqual(got, want) {
		t.Errorf("calls:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestRegenRepoNowait is the recording regen-repo-request.txt: the same
// calls (past login) and the same output.
func TestRegenRepoNowait(t *testing.T) {
	for _, args := range [][]string{{"regen-repo", "--nowait", "f40-build"}, {"regen-repo", "f40-build"}} {
		fh := fakeRepoHub(t)
		te := adminEnv(t, fh.url)
		if out := te.mustRun(t, 0, args...); out != "Got request: 1\n" {
			t.Errorf("%q printed %q, want the recorded %q", args, out, "Got request: 1\n")
		}
		if te.stderr.Len() != 0 {
			t.Errorf("%q: stderr %q", args, te.stderr.String())
		}
		checkCalls(t, fh,
			"getTag('f40-build')",
			"getTag(2, strict=True)",
			"tagLastChangeEvent(2)",
			"repo.request(2, at_event=None, min_event=7, opts=None)")
		if len(fh.called("login")) != 1 || len(fh.called("logout")) != 1 {
			t.Errorf("%q: want one login and one logout: %v", args, fh.methods())
		}
	}
}

func TestRegenRepoOptionsAndTarget(t *testing.T) {
	fh := fakeRepoHub(t)
	te := repoAdminEnv(t, fh.url, webLine)
	fh.answer("repo.request", map[string]any{"repo": nil, "request": request(int64(5), int64(0), true)})
	out := te.mustRun(t, 0, "regen-repo", "--target", "f40-candidate", "--debuginfo", "--src", "--separate-source", "--nowait")
	want := "Got request: 1\nGot task: 5\nTask info: https://koji.example.org/koji/taskinfo?taskID=5\n"
	if out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	checkCalls(t, fh,
		"getBuildTarget('f40-candidate')",
		"getTag(2, strict=True)",
		"getTag(2, strict=True)",
		"tagLastChangeEvent(2)",
		"repo.request(2, at_event=None, min_event=7, opts={'debuginfo': True, 'separate_src': True, 'src': True})")

	// aliases; no weburl: the task is shown with kojictl, with the profile
	fh = fakeRepoHub(t)
	fh.answer("repo.request", map[string]any{"repo": nil, "request": request(int64(5), int64(0), true)})
	te = adminEnv(t, fh.url)
	out = te.mustRun(t, 0, "-p", "koji", "regen-repo", "f40-build", "--source", "--separate-src")
	if want := "Got request: 1\nGot task: 5\nTask info: kojictl -p koji taskinfo 5\n"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	if c := fh.called("repo.request"); len(c) != 1 || !reflect.DeepEqual(c[0].kw["opts"], map[string]any{"src": true, "separate_src": true}) {
		t.Errorf("repo.request %+v", c)
	}
}

func TestRegenRepoExistingRepo(t *testing.T) {
	fh := fakeRepoHub(t)
	fh.answer("repo.request", map[string]any{"repo": repoInfo(3, 7), "request": nil})
	te := repoAdminEnv(t, fh.url, webLine)
	out := te.mustRun(t, 0, "regen-repo", "--wait", "f40-build")
	if want := "Got repo 3\nRepo info: https://koji.example.org/koji/repoinfo?repoID=3\n"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	if n := len(fh.called("repo.checkRequest")); n != 0 {
		t.Errorf("checkRequest called %d times for a repo already there", n)
	}
}

// scriptRequest makes repo.checkRequest(1) advance a step per call: no
// task, task 5 FREE, OPEN with half the packages, OPEN with all, then the
// repo 3 (or, with fail, the task FAILED and the request given up).
func scriptRequest(fh *fakeHub, fail, progress bool) {
	var mu sync.Mutex
	step := 0
	fh.on("repo.checkRequest", func(args []any, kw map[string]any) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		if args[0] != int64(1) {
			return nil, kojixml.Errorf(kojixml.GenericError, "No such request")
		}
		step++
		switch {
		case step == 1:
			return map[string]any{"repo": nil, "request": request(nil, nil, true)}, nil
		case step == 2:
			return map[string]any{"repo": nil, "request": request(int64(5), int64(0), true)}, nil
		case step <= 4:
			return map[string]any{"repo": nil, "request": request(int64(5), int64(1), true)}, nil
		case fail:
			r := request(int64(5), int64(5), false)
			r["tries"] = int64(3)
			return map[string]any{"repo": nil, "request": r}, nil
		}
		r := request(int64(5), int64(2), false)
		r["repo_id"] = int64(3)
		return map[string]any{"repo": repoInfo(3, 8), "request": r}, nil
	})
	if !progress {
		return
	}
	fh.on("kojigo.getRepoProgress", func(args []any, kw map[string]any) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		if kw["task_id"] != int64(5) {
			return nil, kojixml.Errorf(kojixml.ParameterError, "bad call")
		}
		if step < 3 {
			return nil, nil
		}
		return map[string]any{"repo_id": int64(3), "done": int64(5 * (step - 2)), "total": int64(10)}, nil
	})
}

func TestRegenRepoWait(t *testing.T) {
	fh := fakeRepoHub(t)
	scriptRequest(fh, false, true)
	te := repoAdminEnv(t, fh.url, webLine)
	out := te.mustRun(t, 0, "regen-repo", "--wait", "--poll-interval", "1ms", "f40-build")
	want := `Request updated: task_id: None -> 5
Request updated: task_state: None -> FREE
Request updated: task_state: FREE -> OPEN
Repo progress: 5/10 packages (50%)
Repo progress: 10/10 packages (100%)
Got repo 3
Repo info: https://koji.example.org/koji/repoinfo?repoID=3
`
	if out != want {
		t.Errorf("regen-repo --wait:\n%s\nwant:\n%s", out, want)
	}
	if n := len(fh.called("repo.checkRequest")); n != 5 {
		t.Errorf("checkRequest called %d times, want 5", n)
	}

	// -v adds Koji's info lines; --quiet (Koji's ERROR level) prints only the result
	fh = fakeRepoHub(t)
	scriptRequest(fh, false, true)
	te = adminEnv(t, fh.url)
	out = te.mustRun(t, 0, "regen-repo", "--wait", "-v", "--poll-interval", "1ms", "f40-build")
	if !strings.HasPrefix(out, "Requesting a repo\nRequest updated: task_id: None -> 5\n") || !strings.HasSuffix(out, "Got repo 3\n") {
		t.Errorf("-v output:\n%s", out)
	}
	fh = fakeRepoHub(t)
	scriptRequest(fh, false, true)
	te = adminEnv(t, fh.url)
	if out := te.mustRun(t, 0, "regen-repo", "--wait", "--quiet", "--poll-interval", "1ms", "f40-build"); out != "Got repo 3\n" {
		t.Errorf("--quiet output %q", out)
	}
	if n := len(fh.called("kojigo.getRepoProgress")); n != 0 {
		t.Errorf("--quiet asked for progress %d times", n)
	}
}

// TestRegenRepoWaitStockHub: a hub without kojigo.getRepoProgress is asked
// once, and nothing is said about it.
func TestRegenRepoWaitStockHub(t *testing.T) {
	fh := fakeRepoHub(t)
	scriptRequest(fh, false, false)
	te := adminEnv(t, fh.url)
	out := te.mustRun(t, 0, "regen-repo", "--wait", "--poll-interval", "1ms", "f40-build")
	want := "Request updated: task_id: None -> 5\nRequest updated: task_state: None -> FREE\nRequest updated: task_state: FREE -> OPEN\nGot repo 3\n"
	if out != want || te.stderr.Len() != 0 {
		t.Errorf("output %q (stderr %q), want %q", out, te.stderr.String(), want)
	}
	if n := len(fh.called("kojigo.getRepoProgress")); n != 1 {
		t.Errorf("getRepoProgress asked %d times, want once", n)
	}
}

func TestRegenRepoWaitFails(t *testing.T) {
	fh := fakeRepoHub(t)
	scriptRequest(fh, true, false)
	te := adminEnv(t, fh.url)
	out := te.mustRun(t, 1, "regen-repo", "--wait", "--poll-interval", "1ms", "f40-build")
	if !strings.HasSuffix(out, "Request updated: active: True -> False\nRequest updated: tries: 0 -> 3\nTask 5 state is FAILED\n") ||
		!strings.Contains(out, "Request updated: task_state: OPEN -> FAILED\n") {
		t.Errorf("stdout:\n%s", out)
	}
	if want := "Failed to get repo -- Repo request no longer active\nSee why the task failed: kojictl taskinfo 5\n"; te.stderr.String() != want {
		t.Errorf("stderr %q, want %q", te.stderr.String(), want)
	}
}

func TestRegenRepoTimeout(t *testing.T) {
	fh := fakeRepoHub(t)
	fh.answer("repo.checkRequest", map[string]any{"repo": nil, "request": request(nil, nil, true)})
	te := adminEnv(t, fh.url)
	te.mustRun(t, 1, "-p", "koji", "regen-repo", "--wait", "--timeout", "0", "f40-build")
	want := "Failed to get repo -- Unsuccessfully waited 0:00 for a new f40-build repo\n" +
		"Request 1 is still active: the repo will be made without you waiting. Wait again with: kojictl -p koji regen-repo --wait f40-build\n"
	if te.stderr.String() != want {
		t.Errorf("stderr %q, want %q", te.stderr.String(), want)
	}
	if n := len(fh.called("repo.checkRequest")); n != 1 {
		t.Errorf("checkRequest called %d times, want 1", n)
	}
	if code := te.run(t, "regen-repo", "--wait", "--timeout", "0", "--quiet", "f40-build"); code != 1 || te.stderr.Len() != 0 {
		t.Errorf("--quiet timeout: exit %d, stderr %q", code, te.stderr.String())
	}
}

func TestRegenRepoMakeTask(t *testing.T) {
	fh := fakeRepoHub(t)
	fh.answer("newRepo", int64(2))
	te := repoAdminEnv(t, fh.url, "weburl = http://127.0.0.1:18081/koji")
	out := te.mustRun(t, 0, "regen-repo", "--make-task", "--nowait", "f40-build")
	// regen-repo-make-task.txt
	want := "Regenerating repo for tag: f40-build\nCreated task: 2\nTask info: http://127.0.0.1:18081/koji/taskinfo?taskID=2\n"
	if out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	checkCalls(t, fh, "getTag('f40-build')", "getBuildTargets(buildTagID=2)", "newRepo('f40-build')")

	fh.mu.Lock()
	fh.calls = nil
	fh.mu.Unlock()
	te.mustRun(t, 0, "regen-repo", "--make-task", "--nowait", "--debuginfo", "--src", "--separate-src", "--target", "f40-candidate")
	checkCalls(t, fh, "getBuildTarget('f40-candidate')", "getTag('f40-build', strict=True)",
		"newRepo('f40-build', debuginfo=True, separate_src=True, src=True)")

	// not a build tag, no arches: Koji's warnings, and on
	fh.on("getTag", func(args []any, kw map[string]any) (any, error) {
		return map[string]any{"id": int64(9), "name": "f40", "arches": nil}, nil
	})
	te.mustRun(t, 0, "regen-repo", "--make-task", "--nowait", "f40")
	if want := "f40 is not a build tag\nTag f40 has an empty arch list\n"; te.stderr.String() != want {
		t.Errorf("stderr %q, want %q", te.stderr.String(), want)
	}
}

func TestRegenRepoMakeTaskWatch(t *testing.T) {
	fh := fakeRepoHub(t)
	fh.answer("newRepo", int64(2))
	fh.answer("getTaskInfo", map[string]any{"id": int64(2), "method": "newRepo", "arch": "noarch", "state": int64(stateClosed),
		"request": []any{"f40-build"}})
	fh.answer("getTaskChildren", []any{})
	fh.answer("getTaskResult", []any{int64(3), int64(8)})
	te := adminEnv(t, fh.url)
	out := te.mustRun(t, 0, "regen-repo", "--make-task", "--poll-interval", "1ms", "f40-build")
	for _, want := range []string{"Created task: 2\nTask info: kojictl taskinfo 2\nWatching tasks (this may be safely interrupted)...\n",
		"2 newRepo (f40-build): closed\n", "completed successfully\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestRegenRepoOldHub: a hub without repo.request gets the newRepo task,
// as Koji does for a hub older than 1.35.
func TestRegenRepoOldHub(t *testing.T) {
	fh := fakeRepoHub(t)
	fh.on("repo.request", nil)
	fh.answer("newRepo", int64(4))
	te := adminEnv(t, fh.url)
	out := te.mustRun(t, 0, "regen-repo", "--nowait", "f40-build")
	if !strings.Contains(out, "Created task: 4\n") {
		t.Errorf("output %q", out)
	}
	if want := "Hub does not support repo requests, attempting to create a task directly.\n"; te.stderr.String() != want {
		t.Errorf("stderr %q, want %q", te.stderr.String(), want)
	}
}

func TestRegenRepoFaults(t *testing.T) {
	fh := fakeRepoHub(t)
	te := adminEnv(t, fh.url)
	te.mustRun(t, 2, "regen-repo", "f41-build")
	if want := "kojictl regen-repo: usage: No such tag: f41-build\ncheck the name (koji list-tags shows them)\n"; te.stderr.String() != want {
		t.Errorf("unknown tag: %q, want %q", te.stderr.String(), want)
	}
	te.mustRun(t, 2, "regen-repo", "--target", "nope")
	if !strings.Contains(te.stderr.String(), "No such build target: nope\ncheck the name (koji list-targets shows them)") {
		t.Errorf("unknown target: %q", te.stderr.String())
	}
	te.mustRun(t, 2, "regen-repo", "--make-task", "f41-build")

	fh.on("repo.request", func([]any, map[string]any) (any, error) {
		return nil, kojixml.Errorf(kojixml.AuthError, "Not logged-in")
	})
	te.mustRun(t, 1, "regen-repo", "--noauth", "f40-build")
	if want := "kojictl regen-repo: AuthError: Not logged-in\nrepo requests need a login: set authtype and credentials in profile \"koji\", or pass --user NAME --password PW\n"; te.stderr.String() != want {
		t.Errorf("not logged in: %q, want %q", te.stderr.String(), want)
	}
	fh.on("newRepo", func([]any, map[string]any) (any, error) {
		return nil, kojixml.Errorf(kojixml.ActionNotAllowed, "regen-repo permission required (logged in as bob)")
	})
	te.mustRun(t, 1, "regen-repo", "--make-task", "f40-build")
	if !strings.HasPrefix(te.stderr.String(), "kojictl regen-repo: ActionNotAllowed: regen-repo permission required (logged in as bob)\n--make-task needs the repo or regen-repo permission") {
		t.Errorf("no permission: %q", te.stderr.String())
	}
	fh.on("repo.checkRequest", func([]any, map[string]any) (any, error) {
		return nil, kojixml.Errorf(kojixml.GenericError, "No such request")
	})
	fh.answer("repo.request", map[string]any{"repo": nil, "request": request(nil, nil, true)})
	te.mustRun(t, 1, "regen-repo", "--wait", "f40-build")
	if want := "kojictl regen-repo: GenericError: No such request\n"; te.stderr.String() != want {
		t.Errorf("checkRequest fault: %q", te.stderr.String())
	}
}

func TestRepoCommandsBadArgs(t *testing.T) {
	fh := fakeRepoHub(t)
	te := adminEnv(t, fh.url)
	for _, args := range [][]string{
		{"regen-repo"},
		{"regen-repo", "a", "b"},
		{"regen-repo", "--target", "a", "b"},
		{"regen-repo", ""},
		{"regen-repo", "f40\x1b[2J"},
		{"regen-repo", "f40 build"},
		{"regen-repo", strings.Repeat("x", 300)},
		{"regen-repo", "--timeout", "-1", "f40-build"},
		{"regen-repo", "--timeout", "soon", "f40-build"},
		{"regen-repo", "--poll-interval", "0s", "f40-build"},
		{"regen-repo", "--allow-duplicate", "f40-build"},
		{"regen-repo", "--wait=maybe", "f40-build"},
		{"wait-repo"},
		{"wait-repo", "a", "b"},
		{"wait-repo", ""},
		{"wait-repo", "\x00"},
		{"wait-repo", "--timeout", "-5", "f40-build"},
		{"wait-repo", "--build", "hello", "f40-build"},
		{"wait-repo", "--build", "hello-1-", "f40-build"},
		{"wait-repo", "--build", "hello--1", "f40-build"},
		{"wait-repo", "--build", "hello-1-1\n", "f40-build"},
		{"wait-repo", "--bogus", "f40-build"},
	} {
		if code := te.run(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", args, code, te.stderr.String())
		}
		if strings.ContainsAny(te.stderr.String(), "\x1b\x00") {
			t.Errorf("%q: control characters reached stderr: %q", args, te.stderr.String())
		}
	}
	if calls := fh.methods(); len(calls) != 0 {
		t.Errorf("bad arguments reached the hub: %v", calls)
	}
	for _, c := range []string{"regen-repo", "wait-repo"} {
		if code := te.run(t, c, "-h"); code != 0 {
			t.Errorf("%s -h: exit %d", c, code)
		}
	}
}

// TestRegenRepoLastFlagWins: --wait and --nowait as optparse: the last wins.
func TestRegenRepoLastFlagWins(t *testing.T) {
	fh := fakeRepoHub(t)
	fh.answer("repo.checkRequest", map[string]any{"repo": repoInfo(3, 8), "request": request(int64(5), int64(2), false)})
	te := adminEnv(t, fh.url)
	if out := te.mustRun(t, 0, "regen-repo", "--wait", "--nowait", "f40-build"); out != "Got request: 1\n" {
		t.Errorf("--wait --nowait: %q", out)
	}
	if out := te.mustRun(t, 0, "regen-repo", "--nowait", "--wait", "f40-build"); out != "Got repo 3\n" {
		t.Errorf("--nowait --wait: %q", out)
	}
}

func TestWaitRepoAnonymous(t *testing.T) {
	fh := fakeRepoHub(t)
	fh.answer("repo.get", repoInfo(3, 7))
	te := newTestEnv(t, fh.url, webLine)
	out := te.mustRun(t, 0, "wait-repo", "f40-build")
	if want := "Got repo 3\nRepo info: https://koji.example.org/koji/repoinfo?repoID=3\n"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	if want := "The --request option is recommended for faster results\nThis tag is not configured for automatic regeneration\n"; te.stderr.String() != want {
		t.Errorf("stderr %q, want %q", te.stderr.String(), want)
	}
	checkCalls(t, fh,
		"getTag('f40-build')",
		"getBuildTargets(buildTagID=2)",
		"getTag(2, strict=True)",
		"tagLastChangeEvent(2)",
		"repo.get(2, at_event=None, min_event=7, opts=None)")
	if n := len(fh.called("login")); n != 0 {
		t.Errorf("wait-repo logged in %d times", n)
	}
}

// TestWaitRepoNotBuildTag: Koji's warnings for a tag no target builds in,
// with the tags to use instead; --no-request silences the advice.
func TestWaitRepoNotBuildTag(t *testing.T) {
	fh := fakeRepoHub(t)
	fh.on("getTag", func(args []any, kw map[string]any) (any, error) {
		return map[string]any{"id": int64(1), "name": "f40", "arches": "x86_64", "extra": map[string]any{"repo.auto": true}}, nil
	})
	fh.answer("repo.get", map[string]any{"id": int64(4), "tag_id": int64(1), "create_event": int64(9)})
	te := newTestEnv(t, fh.url)
	if out := te.mustRun(t, 0, "wait-repo", "--no-request", "f40"); out != "Got repo 4\n" {
		t.Errorf("output %q", out)
	}
	if want := "f40 is not a build tag for any target\nSuggested tags: f40-build\n"; te.stderr.String() != want {
		t.Errorf("stderr %q, want %q", te.stderr.String(), want)
	}
}

// TestWaitRepoPolls: repo.get answers no repo, then a repo older than the
// tag's last change, then a current one.
func TestWaitRepoPolls(t *testing.T) {
	fh := fakeRepoHub(t)
	var mu sync.Mutex
	n := 0
	fh.on("repo.get", func(args []any, kw map[string]any) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		n++
		switch n {
		case 1:
			return nil, nil
		case 2:
			return repoInfo(2, 5), nil
		}
		return repoInfo(3, 7), nil
	})
	te := newTestEnv(t, fh.url)
	out := te.mustRun(t, 0, "wait-repo", "-v", "--poll-interval", "1ms", "--target", "f40-candidate")
	want := "Waiting on repo for f40-build\nGot repo before min event. 5 < 7\nGot repo 3\n"
	if out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	if c := fh.called("getBuildTargets"); len(c) != 0 {
		t.Errorf("--target also looked for targets: %v", c)
	}
}

func TestWaitRepoTimeout(t *testing.T) {
	fh := fakeRepoHub(t)
	fh.answer("repo.get", nil)
	te := newTestEnv(t, fh.url)
	te.mustRun(t, 1, "wait-repo", "--no-request", "--timeout", "0", "f40-build")
	want := "This tag is not configured for automatic regeneration\n" +
		"Failed to get repo -- Unsuccessfully waited 0:00 for a new f40-build repo\n" +
		"No repo yet: is kojira running? Wait again with: kojictl wait-repo f40-build\n"
	if te.stderr.String() != want {
		t.Errorf("stderr %q, want %q", te.stderr.String(), want)
	}
	if code := te.run(t, "wait-repo", "--quiet", "--no-request", "--timeout", "0", "f40-build"); code != 1 || te.stdout.Len() != 0 {
		t.Errorf("--quiet: exit %d, stdout %q", code, te.stdout.String())
	}
}

// TestWaitRepoRequest: --request logs in, asks with repo.request and waits
// on the request.
func TestWaitRepoRequest(t *testing.T) {
	fh := fakeRepoHub(t)
	scriptRequest(fh, false, true)
	te := adminEnv(t, fh.url)
	out := te.mustRun(t, 0, "wait-repo", "--request", "--poll-interval", "1ms", "f40-build")
	if !strings.HasPrefix(out, "Request updated: task_id: None -> 5\n") || !strings.HasSuffix(out, "Repo progress: 10/10 packages (100%)\nGot repo 3\n") {
		t.Errorf("output:\n%s", out)
	}
	if te.stderr.Len() != 0 {
		t.Errorf("stderr %q", te.stderr.String())
	}
	if len(fh.called("login")) != 1 || len(fh.called("repo.get")) != 0 {
		t.Errorf("calls %v", fh.methods())
	}
	if c := fh.called("repo.request"); len(c) != 1 || c[0].kw["min_event"] != int64(7) {
		t.Errorf("repo.request %+v", c)
	}
}

// TestWaitRepoBuilds: the build is not tagged yet, then is; the repo must
// have it (listTagged at the repo's event).
func TestWaitRepoBuilds(t *testing.T) {
	fh := fakeRepoHub(t)
	var mu sync.Mutex
	tagged := false
	fh.answer("getLatestBuilds", []any{map[string]any{"nvr": "hello-1-1", "name": "hello", "version": "1", "release": "1"}})
	fh.on("listTagged", func(args []any, kw map[string]any) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		if kw["package"] != "hello" || kw["inherit"] != true {
			return nil, kojixml.Errorf(kojixml.ParameterError, "bad listTagged %v", kw)
		}
		ev, _ := kw["event"].(int64)
		if !tagged && kw["event"] == nil {
			tagged = true // tagged after the first look
			return []any{}, nil
		}
		if ev != 0 && ev < 8 {
			return []any{}, nil
		}
		return []any{map[string]any{"name": "hello", "version": "2", "release": "1"}}, nil
	})
	fh.answer("tagLastChangeEvent", int64(8))
	var n int
	fh.on("repo.get", func(args []any, kw map[string]any) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n == 1 {
			return repoInfo(2, 7), nil // without the build
		}
		if kw["min_event"] != int64(8) {
			return nil, kojixml.Errorf(kojixml.ParameterError, "min_event %v", kw["min_event"])
		}
		return repoInfo(3, 8), nil
	})
	te := newTestEnv(t, fh.url)
	out := te.mustRun(t, 0, "wait-repo", "--no-request", "-v", "--poll-interval", "1ms", "--build", "hello-2-1", "f40-build")
	want := "Waiting on repo for f40-build\nGot repo without needed builds\nWaiting for nvrs ['hello-2-1'] in tag f40-build\nGot repo 3\n"
	if out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	if want := "This tag is not configured for automatic regeneration\nnvr hello-2-1 is not current in tag f40-build\n  latest build is hello-1-1\n"; te.stderr.String() != want {
		t.Errorf("stderr %q, want %q", te.stderr.String(), want)
	}
	if c := fh.called("tagLastChangeEvent"); len(c) != 1 {
		t.Errorf("tagLastChangeEvent %d times: with builds the watcher has no min event, only the loop", len(c))
	}
	if c := fh.called("getLatestBuilds"); len(c) != 1 || c[0].args[0] != int64(2) || c[0].kw["package"] != "hello" {
		t.Errorf("getLatestBuilds %+v", c)
	}

	// a build never tagged: the timeout names it
	fh.answer("listTagged", []any{})
	fh.answer("getLatestBuilds", []any{})
	fh.answer("repo.get", nil)
	te.mustRun(t, 1, "wait-repo", "--no-request", "--timeout", "0", "--build", "hello-2-1", "--build", "bye-1-1", "f40-build")
	for _, want := range []string{"No hello builds in tag f40-build\n", "No bye builds in tag f40-build\n",
		"Failed to get repo -- Unsuccessfully waited 0:00 for hello-2-1 and bye-1-1 to appear in the f40-build repo\n",
		"Wait again with: kojictl wait-repo --build hello-2-1 --build bye-1-1 f40-build\n"} {
		if !strings.Contains(te.stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, te.stderr.String())
		}
	}
}

func TestWaitRepoFaults(t *testing.T) {
	fh := fakeRepoHub(t)
	te := newTestEnv(t, fh.url)
	te.mustRun(t, 2, "wait-repo", "f41-build")
	if !strings.Contains(te.stderr.String(), "No such tag: f41-build\ncheck the name") {
		t.Errorf("unknown tag: %q", te.stderr.String())
	}
	te.mustRun(t, 2, "wait-repo", "--target", "f41-candidate")
	if !strings.Contains(te.stderr.String(), "No such build target: f41-candidate\n") {
		t.Errorf("unknown target: %q", te.stderr.String())
	}
	// a stock hub older than 1.35
	te.mustRun(t, 1, "wait-repo", "f40-build")
	if !strings.Contains(te.stderr.String(), "GenericError: Invalid method: repo.get\nthis hub is older than Koji 1.35") {
		t.Errorf("old hub: %q", te.stderr.String())
	}
	// --request without credentials
	fh.on("repo.request", func([]any, map[string]any) (any, error) {
		return nil, kojixml.Errorf(kojixml.AuthError, "Not logged-in")
	})
	te.mustRun(t, 1, "wait-repo", "--request", "--noauth", "f40-build")
	if !strings.Contains(te.stderr.String(), "AuthError: Not logged-in\nrepo requests need a login") {
		t.Errorf("anonymous --request: %q", te.stderr.String())
	}
}

// TestRepoHostileHubText: names and values from the hub are printed safe.
func TestRepoHostileHubText(t *testing.T) {
	fh := fakeRepoHub(t)
	fh.on("getTag", func(args []any, kw map[string]any) (any, error) {
		return map[string]any{"id": int64(2), "name": "evil\x1b]0;pwned\x07", "arches": "x86_64"}, nil
	})
	fh.answer("repo.request", map[string]any{"repo": nil, "request": map[string]any{"id": "1\x1b[2J", "task_id": nil}})
	te := adminEnv(t, fh.url)
	out := te.mustRun(t, 0, "regen-repo", "f40-build")
	if strings.ContainsAny(out+te.stderr.String(), "\x1b\x07") {
		t.Errorf("control characters printed: %q %q", out, te.stderr.String())
	}
}

// TestRegenRepoInterrupted: Ctrl-C while waiting says the request goes on
// and prints the command that joins it again, which works as printed.
func TestRegenRepoInterrupted(t *testing.T) {
	fh := fakeRepoHub(t)
	var mu sync.Mutex
	done := false
	fh.on("repo.checkRequest", func([]any, map[string]any) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return map[string]any{"repo": repoInfo(3, 8), "request": request(int64(5), int64(2), false)}, nil
		}
		return map[string]any{"repo": nil, "request": request(int64(5), int64(1), true)}, nil
	})
	te := repoAdminEnv(t, fh.url)
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Getenv: func(k string) string { return te.vars[k] }}
	exit := make(chan int, 1)
	go func() {
		exit <- Main(ctx, env, []string{"regen-repo", "--wait", "--debuginfo", "--poll-interval", "1ms", "f40-build"})
	}()
	waitFor(t, "the task state", func() bool { return strings.Contains(out.String(), "task_state: None -> OPEN\n") })
	cancel()
	if code := <-exit; code != 1 {
		t.Errorf("exit %d", code)
	}
	again := "kojictl regen-repo --wait --debuginfo f40-build"
	want := "Failed to get repo -- interrupted\nRequest 1 is still active: the repo will be made without you waiting. Wait again with: " + again + "\n"
	if !strings.HasSuffix(out.String(), want) {
		t.Fatalf("interrupted output:\n%s\nwant suffix:\n%s", out.String(), want)
	}
	mu.Lock()
	done = true
	mu.Unlock()
	if code := te.typed(t, again); code != 0 || te.stdout.String() != "Got repo 3\n" {
		t.Errorf("%s: exit %d\n%s%s", again, code, te.stdout.String(), te.stderr.String())
	}
	if c := fh.called("repo.request"); len(c) != 2 || !reflect.DeepEqual(c[1].kw["opts"], map[string]any{"debuginfo": true}) {
		t.Errorf("repo.request %+v", c)
	}
}
