package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"kojigo/internal/kojiclient"
)

// TestRegenRepoWaitEndToEnd: kojictl regen-repo --wait on the real hub,
// kojid (in the createrepo channel) and kojira. The request becomes
// kojira's newRepo task, kojid makes the repo, and the command ends with
// "Got repo N" for a READY repo of the build tag holding the built
// package. wait-repo, anonymous, then finds that repo at once, and
// wait-repo --build waits for a build the repo has.
func TestRegenRepoWaitEndToEnd(t *testing.T) {
	bf := newBuildFarm(t, "sqlite")
	ctx := context.Background()
	id := bf.submit(t, srpm(t, sample("hello")), nil)
	if info := bf.wait(t, id, 3*time.Minute); asInt(info["state"]) != 2 {
		t.Fatalf("build of hello ended in state %v", info["state"])
	}

	clientConf := filepath.Join(t.TempDir(), "koji.conf")
	writeConf(t, clientConf, fmt.Sprintf("[e2e]\nserver = %s\nauthtype = password\nuser = kojiadmin\npassword = adminpw\n", bf.url))
	kojictl := func(args ...string) (string, string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin(t, "kojictl"), append([]string{"-p", "e2e", "--config", clientConf}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}

	// builder1 is disabled while the request is made, so the newRepo task
	// kojira creates stays FREE until the command has shown it: a repo made
	// between two polls would leave no change to print.
	if _, err := bf.admin.Call(ctx, "disableHost", "builder1"); err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	cmd := exec.Command(bin(t, "kojictl"), "-p", "e2e", "--config", clientConf, "regen-repo", "--wait", "--timeout", "3", "--poll-interval", "200ms", "dist-build")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	changed := regexp.MustCompile(`(?m)^Request updated: task_id: None -> \d+$`)
	waitFor(t, time.Minute, "regen-repo --wait to show the newRepo task", func() bool { return changed.MatchString(out.String()) })
	if _, err := bf.admin.Call(ctx, "enableHost", "builder1"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("regen-repo --wait: %v\n%s", err, out)
		}
	case <-time.After(4 * time.Minute):
		t.Fatalf("regen-repo --wait did not end:\n%s", out)
	}
	t.Logf("regen-repo --wait dist-build:\n%s", out)
	last := regexp.MustCompile(`Got repo (\d+)\n\z`).FindStringSubmatch(out.String())
	if last == nil {
		t.Fatalf("regen-repo --wait did not end with Got repo N:\n%s", out)
	}
	repoID, _ := strconv.ParseInt(last[1], 10, 64)
	info := asMap(must(t, bf, "repoInfo", repoID))
	if asInt(info["state"]) != 1 || info["tag_name"] != "dist-build" {
		t.Errorf("repo %d: state %v, tag %v; want READY (1) of dist-build", repoID, info["state"], info["tag_name"])
	}
	if _, err := os.Stat(filepath.Join(bf.topdir, "repos", "dist-build", last[1], "x86_64", "repodata", "repomd.xml")); err != nil {
		t.Errorf("repo %d has no repodata: %v", repoID, err)
	}

	got, errOut, err := kojictl("wait-repo", "--timeout", "1", "dist-build")
	if err != nil || got != "Got repo "+last[1]+"\n" {
		t.Errorf("wait-repo: %v\nstdout:\n%s\nstderr:\n%s", err, got, errOut)
	}
	nvr := builtNVR(t, bf, "hello")
	got, errOut, err = kojictl("wait-repo", "--request", "--build", nvr, "--timeout", "1", "dist-build")
	if err != nil || got != "Got repo "+last[1]+"\n" {
		t.Errorf("wait-repo --request --build %s: %v\nstdout:\n%s\nstderr:\n%s", nvr, err, got, errOut)
	}
}

func writeConf(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// builtNVR is the NVR of the latest build of pkg in dist.
func builtNVR(t *testing.T, bf *buildFarm, pkg string) string {
	t.Helper()
	l := asList(must(t, bf, "getLatestBuilds", "dist-build", kojiclient.Kw{"package": pkg}))
	if len(l) == 0 {
		t.Fatalf("no %s build in dist-build", pkg)
	}
	return asMap(l[0])["nvr"].(string)
}
