package e2e

import (
	"bytes"
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

	"github.com/google/rpmpack"

	"kojigo/internal/kojiclient"
	"kojigo/internal/testenv"
	"kojigo/repogen"
)

// TestExternalRepoEndToEnd: a build tag with a file:// external repo in
// koji mode (holding hello and extra-tool), and its own hello build. The
// real hub, kojid (createrepo channel) and kojira make the tag's repo:
// kojid merges the external repo (Koji's mergerepos step). The repo is
// READY; dnf lists extra-tool from the external repo and the tag's own
// hello (the external one is hidden), and downloads extra-tool from the
// external repo through its xml:base.
func TestExternalRepoEndToEnd(t *testing.T) {
	dnf := testenv.NeedTool(t, "dnf")
	bf := newBuildFarm(t, "sqlite")
	ctx := context.Background()
	ext := t.TempDir()
	extRPM(t, ext, "hello", "99.0", "x86_64")
	extRPM(t, ext, "extra-tool", "2.5", "noarch")
	if _, err := repogen.Generate(ctx, repogen.Options{BaseDir: ext}); err != nil {
		t.Fatal(err)
	}
	must(t, bf, "createExternalRepo", "ext-tools", "file://"+ext+"/")
	must(t, bf, "addExternalRepoToTag", "dist-build", "ext-tools", 5, kojiclient.Kw{"merge_mode": "koji"})

	// the farm's kojira makes the build's repo on request; regen-repo then
	// makes one holding the build.
	id := bf.submit(t, srpm(t, sample("hello")), nil)
	if info := bf.wait(t, id, 3*time.Minute); asInt(info["state"]) != 2 {
		t.Fatalf("build of hello ended in state %v", info["state"])
	}

	clientConf := filepath.Join(t.TempDir(), "koji.conf")
	writeConf(t, clientConf, fmt.Sprintf("[e2e]\nserver = %s\nauthtype = password\nuser = kojiadmin\npassword = adminpw\n", bf.url))
	cctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, bin(t, "kojictl"), "-p", "e2e", "--config", clientConf,
		"regen-repo", "--wait", "--timeout", "3", "--poll-interval", "200ms", "dist-build")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("regen-repo --wait: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Got repo (\d+)\n\z`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("regen-repo --wait did not end with Got repo N:\n%s", out)
	}
	repoID, _ := strconv.ParseInt(string(m[1]), 10, 64)
	if info := asMap(must(t, bf, "repoInfo", repoID)); asInt(info["state"]) != 1 {
		t.Errorf("repo %d state = %v, want READY (1)", repoID, info["state"])
	}

	archDir := filepath.Join(bf.topdir, "repos", "dist-build", string(m[1]), "x86_64")
	listed := dnfList(t, dnf, archDir)
	if !regexp.MustCompile(`\nextra-tool\.noarch\s+2\.5-1\s`).MatchString(listed) {
		t.Errorf("dnf does not list the external extra-tool 2.5-1:\n%s", listed)
	}
	if !regexp.MustCompile(`\nhello\.x86_64\s+1\.0-1`).MatchString(listed) || strings.Contains(listed, "99.0") {
		t.Errorf("dnf does not list the tag's own hello 1.0 (and only it):\n%s", listed)
	}

	root := t.TempDir()
	dest := t.TempDir()
	dl := exec.Command(dnf, "-q", "-y", "--disableplugin=*", "--setopt=reposdir=/dev/null", "--installroot", root,
		"--setopt=cachedir="+filepath.Join(root, "cache"), "--releasever=40", "--nogpgcheck",
		"--repofrompath=r,file://"+archDir, "--repo=r", "install", "--downloadonly", "--destdir", dest, "extra-tool")
	if b, err := dl.CombinedOutput(); err != nil {
		t.Fatalf("dnf download of extra-tool: %v\n%s", err, b)
	}
	want, _ := os.ReadFile(filepath.Join(ext, "extra-tool-2.5-1.noarch.rpm"))
	if got, err := os.ReadFile(filepath.Join(dest, "extra-tool-2.5-1.noarch.rpm")); err != nil || !bytes.Equal(got, want) || len(want) == 0 {
		t.Errorf("dnf did not download extra-tool from the external repo: %v", err)
	}

	// check_external_repos (on by default, Koji's): kojira records the
	// external repo's repomd timestamp (repo.setExternalRepoData). When the
	// external content changes, the timestamp grows, which is a change of
	// the tag: its current repo stops being current (repo.updateEndEvents)
	// and a request for a repo as of the tag's last change makes a new one
	// holding the new package.
	maxTS := func() int64 {
		d, _ := asMap(must(t, bf, "repo.getExternalRepoData", "ext-tools"))["max_ts"].(int64)
		return d
	}
	waitUntil(t, "kojira records the external repo's timestamp", time.Minute, func() bool { return maxTS() > 0 })
	cur := asMap(must(t, bf, "getRepo", "dist-build"))
	curID := asInt(cur["id"])
	if cur["end_event"] != nil {
		t.Fatalf("the tag's latest repo %d is not current before the external repo changed: %v", curID, cur)
	}
	ts0 := maxTS()
	evBefore := asInt(asMap(must(t, bf, "getLastEvent"))["id"])
	time.Sleep(1100 * time.Millisecond) // repomd timestamps are file times in seconds
	extRPM(t, ext, "newer-tool", "3.0", "noarch")
	if _, err := repogen.Generate(ctx, repogen.Options{BaseDir: ext}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "kojira notices the newer external repomd.xml", time.Minute, func() bool { return maxTS() > ts0 })
	waitUntil(t, "the tag's repo is no longer current", time.Minute, func() bool {
		return asInt(asMap(must(t, bf, "repoInfo", curID))["end_event"]) > evBefore
	})
	if last := asInt(must(t, bf, "tagLastChangeEvent", "dist-build")); last <= evBefore {
		t.Errorf("tagLastChangeEvent(dist-build) = %d, want the data change after %d", last, evBefore)
	}
	must(t, bf, "repo.request", "dist-build", kojiclient.Kw{"min_event": "last"})
	waitUntil(t, "a new repo of dist-build with newer-tool", 3*time.Minute, func() bool {
		id := asInt(asMap(must(t, bf, "getRepo", "dist-build"))["id"])
		if id == curID {
			return false
		}
		dir := filepath.Join(bf.topdir, "repos", "dist-build", strconv.FormatInt(id, 10), "x86_64")
		return regexp.MustCompile(`\nnewer-tool\.noarch\s+3\.0-1\s`).MatchString(dnfList(t, dnf, dir))
	})
}

// waitUntil polls ok every 200ms until it holds, failing after timeout.
func waitUntil(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(timeout); !ok(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out after %v waiting until %s", timeout, what)
		}
	}
}

// extRPM writes a small binary package into dir, as a foreign repository
// would hold it.
func extRPM(t *testing.T, dir, name, version, arch string) {
	t.Helper()
	r, err := rpmpack.NewRPM(rpmpack.RPMMetaData{Name: name, Version: version, Release: "1", Arch: arch,
		Summary: "external " + name, Description: "x", Licence: "MIT", BuildTime: time.Unix(1700000000, 0), Compressor: "gzip"})
	if err != nil {
		t.Fatal(err)
	}
	p := "/usr/share/" + name + "/README"
	body := "external " + name + "\n"
	r.AddFile(rpmpack.RPMFile{Name: p, Body: []byte(body), Mode: 0o100644, Owner: "root", Group: "root", MTime: 1700000000})
	r.AddCustomTag(1044, rpmpack.EntryString(name+"-"+version+"-1.src.rpm")) // SOURCERPM
	pad4 := func(n int) int { return (n + 3) &^ 3 }
	archive := pad4(110+len(p)+1) + pad4(len(body)) + pad4(110+len("TRAILER!!!")+1)
	r.AddCustomSig(1007, rpmpack.EntryUint32([]uint32{uint32(archive)})) // PAYLOADSIZE
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s-1.%s.rpm", name, version, arch)), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
