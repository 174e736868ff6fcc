package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"kojigo/internal/kojiclient"
)

// TestChainBuildAndDraft: a chain build of two levels from git, where
// level 2's motd BuildRequires level 1's greet-devel: the chain waits
// (a waitrepo subtask) until the build tag's repo holds greet-devel, and
// motd builds against it. Then a draft build of hello is made, named
// N-V-R,draft_<id>, and promoted to its plain NVR; moveAllBuilds moves
// motd to another tag through kojid's dependantTask.
func TestChainBuildAndDraft(t *testing.T) {
	bf := newBuildFarm(t, "sqlite")
	ctx := context.Background()
	for _, pkg := range []string{"greet-devel", "motd"} {
		must(t, bf, "packageListAdd", "dist", pkg, kojiclient.Kw{"owner": "kojiadmin"})
	}
	srcs := []any{[]any{gitRepo(t, "greet")}, []any{gitRepo(t, "motd")}}
	chain := asInt(must(t, bf, "chainBuild", srcs, "dist-candidate"))
	if info := bf.wait(t, chain, 6*time.Minute); asInt(info["state"]) != 2 {
		res, err := bf.admin.Call(ctx, "getTaskResult", chain)
		t.Fatalf("chain build: state %v: %v %v", info["state"], res, err)
	}
	// build (level 1), waitrepo for greet-devel, build (level 2), in that order
	var methods []string
	for _, c := range bf.children(t, chain) {
		methods = append(methods, c["method"].(string)+"/"+c["label"].(string))
	}
	if strings.Join(methods, " ") != "build/build 0,0 waitrepo/wait 1 build/build 1,0" {
		t.Errorf("chain build children = %v", methods)
	}
	for _, nvr := range []string{"greet-devel-1.0-1", "motd-1.0-1"} {
		b := asMap(must(t, bf, "getBuild", nvr))
		if asInt(b["state"]) != 1 {
			t.Errorf("%s: %v", nvr, b)
		}
	}
	if l := asList(must(t, bf, "listTagged", "dist", kojiclient.Kw{"package": "motd"})); len(l) != 1 {
		t.Errorf("motd not tagged into dist: %v", l)
	}

	// moveAllBuilds: kojid's dependantTask runs the tagBuild with fromtag
	must(t, bf, "createTag", "other")
	tasks := asList(must(t, bf, "moveAllBuilds", "dist", "other", "motd", true))
	if len(tasks) != 1 {
		t.Fatalf("moveAllBuilds = %v", tasks)
	}
	if info := bf.wait(t, asInt(tasks[0]), time.Minute); asInt(info["state"]) != 2 {
		res, err := bf.admin.Call(ctx, "getTaskResult", tasks[0])
		t.Fatalf("moveAllBuilds task: state %v: %v %v", info["state"], res, err)
	}
	if l := asList(must(t, bf, "listTagged", "other", kojiclient.Kw{"package": "motd"})); len(l) != 1 {
		t.Errorf("motd not moved into other: %v", l)
	}
	if l := asList(must(t, bf, "listTagged", "dist", kojiclient.Kw{"package": "motd"})); len(l) != 0 {
		t.Errorf("motd still in dist after the move: %v", l)
	}

	// a draft build, then its promotion
	task := bf.submit(t, srpm(t, sample("hello")), map[string]any{"draft": true})
	if info := bf.wait(t, task, 4*time.Minute); asInt(info["state"]) != 2 {
		res, err := bf.admin.Call(ctx, "getTaskResult", task)
		t.Fatalf("draft build: state %v: %v %v", info["state"], res, err)
	}
	builds := asList(must(t, bf, "listBuilds", kojiclient.Kw{"taskID": task}))
	if len(builds) != 1 {
		t.Fatalf("listBuilds(taskID=%d) = %v", task, builds)
	}
	draft := asMap(builds[0])
	if draft["draft"] != true || !strings.HasSuffix(draft["nvr"].(string), ",draft_"+fmt.Sprint(draft["id"])) {
		t.Fatalf("draft build: %v", draft)
	}
	promoted := asMap(must(t, bf, "promoteBuild", draft["id"]))
	if promoted["draft"] != false || promoted["nvr"] != strings.TrimSuffix(draft["nvr"].(string), ",draft_"+fmt.Sprint(draft["id"])) {
		t.Errorf("promoteBuild = %v", promoted)
	}
}
