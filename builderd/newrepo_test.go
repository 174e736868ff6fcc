package builderd

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/rpmpack"

	"kojigo/internal/kojiconf"
	"kojigo/internal/kojixml"
	"kojigo/repogen"
)

// repoHub is the fake hub plus the repo calls, answered as kojigo's hub
// does: host.repoInit writes repos/<tag>/<id>/<arch>/{pkglist,toplink} and
// groups/comps.xml; host.repoDone records its arguments and moves the
// uploaded files into <arch>/repodata, so a later repo can update from it.
type repoHub struct {
	*fakeHub
	top string

	mu        sync.Mutex
	pkglists  map[string][]string // arch -> pkglist lines for the next repoInit
	comps     string              // groups/comps.xml, "" for none
	nextRepo  int64
	repos     map[int64]map[string]any // repoInfo answers
	latest    map[int64]int64          // tag id -> READY repo (getRepo)
	parents   []any                    // getFullInheritance answer
	hint      any                      // tag extra repo.oldrepo_hint
	external  []any                    // getExternalRepoList answer
	blocked   []string                 // <arch>/blocklist lines
	inits     [][]any                  // host.repoInit arguments (after the codec)
	dones     [][]any                  // host.repoDone arguments
	progress  []progressCall
	noRepoIDs bool // getRepo answers None for every tag
}

type progressCall struct {
	task, done, total int64
	at                time.Time
}

func newRepoHub(t *testing.T, top string, fh *fakeHub) *repoHub {
	return &repoHub{fakeHub: fh, top: top, pkglists: map[string][]string{}, nextRepo: 40,
		repos: map[int64]map[string]any{}, latest: map[int64]int64{}}
}

var repoTags = map[string]map[string]any{
	"f40-build": {"id": int64(10), "name": "f40-build", "arches": "x86_64 aarch64"},
	"f39-build": {"id": int64(12), "name": "f39-build", "arches": "x86_64"},
}

func repoTag(v any) map[string]any {
	switch x := v.(type) {
	case map[string]any:
		return repoTag(x["id"])
	case string:
		return repoTags[x]
	}
	id, _ := asInt(v)
	for _, tg := range repoTags {
		if tg["id"] == id {
			return tg
		}
	}
	return nil
}

func (h *repoHub) Call(ctx context.Context, method string, args ...any) (any, error) {
	switch method {
	case "getTag", "host.repoInit", "host.repoDone", "getRepo", "repoInfo", "getExternalRepoList", "repo.query",
		"getFullInheritance", "kojigo.setRepoProgress":
	default:
		return h.fakeHub.Call(ctx, method, args...)
	}
	params, err := roundTripCall(method, args)
	if err != nil {
		h.t.Errorf("%s: arguments cannot be encoded: %v", method, err)
		return nil, err
	}
	h.fakeHub.mu.Lock()
	h.fakeHub.calls = append(h.fakeHub.calls, method)
	h.fakeHub.mu.Unlock()
	h.mu.Lock()
	v, err := h.answer(method, params)
	h.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return roundTripResponse(v)
}

func (h *repoHub) answer(method string, params []any) (any, error) {
	pos, kws := splitKw(params)
	arg := func(i int) any {
		if i < len(pos) {
			return pos[i]
		}
		return nil
	}
	switch method {
	case "getTag":
		tg := repoTag(arg(0))
		if tg == nil && asBool(kws["strict"]) {
			return nil, fault(kojixml.GenericError, "No such tagInfo: %v", arg(0))
		}
		if tg == nil {
			return nil, nil
		}
		out := map[string]any{"extra": map[string]any{}}
		for k, v := range tg {
			out[k] = v
		}
		if h.hint != nil && tg["id"] == int64(10) {
			out["extra"] = map[string]any{"repo.oldrepo_hint": h.hint}
		}
		return out, nil
	case "host.repoInit":
		h.inits = append(h.inits, params)
		tg := repoTag(arg(0))
		h.nextRepo++
		id := h.nextRepo
		dir := filepath.Join(h.top, "repos", asString(tg["name"]), strconv.FormatInt(id, 10))
		if err := os.MkdirAll(filepath.Join(dir, "groups"), 0o755); err != nil {
			return nil, err
		}
		if h.comps != "" {
			if err := os.WriteFile(filepath.Join(dir, "groups", "comps.xml"), []byte(h.comps), 0o644); err != nil {
				return nil, err
			}
		}
		for arch, list := range h.pkglists {
			ad := filepath.Join(dir, arch)
			if err := os.MkdirAll(ad, 0o755); err != nil {
				return nil, err
			}
			if err := os.Symlink("../../../..", filepath.Join(ad, "toplink")); err != nil {
				return nil, err
			}
			text := ""
			for _, l := range list {
				text += l + "\n"
			}
			if err := os.WriteFile(filepath.Join(ad, "pkglist"), []byte(text), 0o644); err != nil {
				return nil, err
			}
			block := ""
			for _, b := range h.blocked {
				block += b + "\n"
			}
			if err := os.WriteFile(filepath.Join(ad, "blocklist"), []byte(block), 0o644); err != nil {
				return nil, err
			}
		}
		h.repos[id] = map[string]any{"id": id, "state": int64(0), "tag_name": tg["name"], "tag_id": tg["id"], "create_event": int64(1000 + id), "task_id": kws["task_id"]}
		return []any{id, int64(1000 + id)}, nil
	case "repo.query": // the clauses kojid sends: task_id = N, state = 0
		var task any
		for _, c := range asList(arg(0)) {
			if cl := asList(c); len(cl) == 3 && cl[0] == "task_id" {
				task = cl[2]
			}
		}
		out := []any{}
		for _, r := range h.repos {
			if r["state"] == int64(0) && r["task_id"] == task {
				out = append(out, map[string]any{"id": r["id"], "create_event": r["create_event"]})
			}
		}
		return out, nil
	case "host.repoDone":
		h.dones = append(h.dones, params)
		id := id64(arg(0))
		r := h.repos[id]
		if r == nil || r["state"] != int64(0) {
			return nil, fault(kojixml.GenericError, "Repo %d not in INIT state", id)
		}
		dir := filepath.Join(h.top, "repos", asString(r["tag_name"]), strconv.FormatInt(id, 10))
		for arch, v := range asMap(arg(1)) {
			pair := asList(v)
			dd := filepath.Join(dir, arch, "repodata")
			if err := os.MkdirAll(dd, 0o755); err != nil {
				return nil, err
			}
			for _, f := range asStrings(pair[1]) {
				src := filepath.Join(h.fakeHub.workDir, asString(pair[0]), f)
				if err := os.Rename(src, filepath.Join(dd, f)); err != nil {
					return nil, fault(kojixml.GenericError, "uploaded file missing: %v", err)
				}
			}
		}
		r["state"] = int64(1)
		h.latest[id64(r["tag_id"])] = id
		return nil, nil
	case "getRepo":
		id, ok := h.latest[id64(arg(0))]
		if !ok || h.noRepoIDs {
			return nil, nil
		}
		return map[string]any{"id": id, "state": int64(1), "create_event": int64(1000 + id), "dist": false}, nil
	case "repoInfo":
		r := h.repos[id64(arg(0))]
		if r == nil {
			return nil, fault(kojixml.GenericError, "No such repo: %v", arg(0))
		}
		return r, nil
	case "getExternalRepoList":
		if h.external == nil {
			return []any{}, nil
		}
		return h.external, nil
	case "getFullInheritance":
		if h.parents == nil {
			return []any{}, nil
		}
		return h.parents, nil
	case "kojigo.setRepoProgress":
		h.progress = append(h.progress, progressCall{task: id64(arg(0)), done: id64(arg(1)), total: id64(arg(2)), at: time.Now()})
		return nil, nil
	}
	return nil, fault(kojixml.GenericError, "Invalid method: %s", method)
}

// writeRPM writes a small binary package under topdir/packages as Koji
// lays them out and returns its pkglist line (through toplink).
func writeRPM(t *testing.T, top, name, version, arch string) string {
	t.Helper()
	r, err := rpmpack.NewRPM(rpmpack.RPMMetaData{Name: name, Version: version, Release: "1", Arch: arch,
		Summary: "test package " + name, Description: "x", Licence: "MIT", BuildTime: time.Unix(1700000000, 0), Compressor: "gzip"})
	if err != nil {
		t.Fatal(err)
	}
	body := "hello from " + name + "\n"
	r.AddFile(rpmpack.RPMFile{Name: "/usr/share/" + name + "/README", Body: []byte(body), Mode: 0o100644, Owner: "root", Group: "root", MTime: 1700000000})
	r.AddCustomTag(1044, rpmpack.EntryString(name+"-"+version+"-1.src.rpm")) // SOURCERPM
	pad4 := func(n int) int { return (n + 3) &^ 3 }
	p := "/usr/share/" + name + "/README"
	archive := pad4(110+len(p)+1) + pad4(len(body)) + pad4(110+len("TRAILER!!!")+1)
	r.AddCustomSig(1007, rpmpack.EntryUint32([]uint32{uint32(archive)})) // PAYLOADSIZE
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	rel := filepath.Join("packages", name, version, "1", arch, fmt.Sprintf("%s-%s-1.%s.rpm", name, version, arch))
	if err := os.MkdirAll(filepath.Join(top, filepath.Dir(rel)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(top, rel), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return "toplink/" + rel
}

// repoEnv is a kojid with topdir/repos and the repo-aware fake hub.
func repoEnv(t *testing.T) (*env, *repoHub) {
	t.Helper()
	e := newEnv(t)
	if err := os.MkdirAll(filepath.Join(e.top, "repos"), 0o755); err != nil {
		t.Fatal(err)
	}
	return e, newRepoHub(t, e.top, e.hub)
}

// startWith runs the daemon against hub until the test ends.
func (e *env) startWith(t *testing.T, hub Hub) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, e.cfg, hub, e.opts) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Run did not return within 30s of cancel")
		}
	})
}

// children returns the subtasks of parent, by label.
func (h *fakeHub) children(parent int64) map[string]fakeTask {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]fakeTask{}
	for _, tk := range h.tasks {
		if tk.parent == parent {
			out[tk.label] = *tk
		}
	}
	return out
}

// repodataFile returns the path of the file of a kind (primary.xml.gz,
// repomd.xml) among a repo's files, under top.
func repodataFile(t *testing.T, top string, files []string, suffix string) string {
	t.Helper()
	for _, f := range files {
		if f == suffix || strings.HasSuffix(f, "-"+suffix) {
			return filepath.Join(top, f)
		}
	}
	t.Fatalf("no %s among %v", suffix, files)
	return ""
}

func readGz(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRepoTasksRefusedWithoutReposDir(t *testing.T) {
	e := newEnv(t) // topdir has no repos/
	h := newRepoHub(t, e.top, e.hub)
	nr := e.hub.addTask("newRepo", "f40-build")
	cr := e.hub.addTask("createrepo", int64(41), "x86_64", nil)
	e.startWith(t, h)
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.hub.mu.Lock()
		n := len(e.hub.refusals)
		e.hub.mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("refusals = %+v, want 2", e.hub.refusals)
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.hub.mu.Lock()
	defer e.hub.mu.Unlock()
	want := "No access to repos dir " + filepath.Join(e.top, "repos")
	for _, r := range e.hub.refusals[:2] {
		if (r.id != nr && r.id != cr) || !r.soft || r.msg != want {
			t.Errorf("refusal %+v, want soft %q for tasks %d and %d", r, want, nr, cr)
		}
	}
	if len(h.inits) != 0 {
		t.Errorf("host.repoInit called %d times, want none", len(h.inits))
	}
}

func TestNewRepoMakesEveryArchAndCallsRepoDone(t *testing.T) {
	e, h := repoEnv(t)
	h.pkglists["x86_64"] = []string{writeRPM(t, e.top, "hello", "1.0", "x86_64"), writeRPM(t, e.top, "greeting", "2.0", "noarch")}
	h.pkglists["aarch64"] = nil // no content: EMPTY_REPO
	h.comps = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>build</id>
    <name>build</name>
    <default>true</default>
    <uservisible>true</uservisible>
    <packagelist>
      <packagereq type="mandatory">hello</packagereq>
    </packagelist>
  </group>
</comps>
`
	// the shape repo.checkQueue gives: newRepo({id, name}, opts=..., event=...)
	id := e.hub.addTask("newRepo", map[string]any{"id": int64(10), "name": "f40-build"},
		kw("opts", map[string]any{"src": false, "debuginfo": false, "separate_src": false, "maven": false}, "event", int64(900)))
	e.startWith(t, h)
	tk := e.hub.waitState(id, 60*time.Second, stateClosed, stateFailed)
	if tk.state != stateClosed {
		t.Fatalf("newRepo failed: %v", tk.fault)
	}
	if res := asList(tk.result); len(res) != 2 || res[0] != int64(41) || res[1] != int64(1041) {
		t.Errorf("newRepo result = %v, want [41, 1041]", tk.result)
	}

	h.mu.Lock()
	inits, dones, progress := h.inits, h.dones, h.progress
	h.mu.Unlock()
	if len(inits) != 1 {
		t.Fatalf("host.repoInit calls = %v, want one", inits)
	}
	pos, kws := splitKw(inits[0])
	if len(pos) != 1 || pos[0] != int64(10) || kws["task_id"] != id || kws["event"] != int64(900) || asMap(kws["opts"])["src"] != false {
		t.Errorf("host.repoInit%v, want (10, opts={...}, task_id=%d, event=900)", inits[0], id)
	}

	kids := e.hub.children(id)
	if len(kids) != 2 {
		t.Fatalf("subtasks = %v, want createrepo for aarch64 and x86_64", kids)
	}
	for _, arch := range []string{"aarch64", "x86_64"} {
		c := kids[arch]
		if c.method != "createrepo" || c.arch != "noarch" || len(c.params) != 3 || c.params[0] != int64(41) || c.params[1] != arch || c.params[2] != nil {
			t.Errorf("subtask %s = %s%v arch %s, want createrepo[41, %s, None] noarch", arch, c.method, c.params, c.arch, arch)
		}
		if c.state != stateClosed {
			t.Errorf("createrepo %s is %s: %v", arch, stateName(c.state), c.fault)
		}
	}

	if len(dones) != 1 {
		t.Fatalf("host.repoDone calls = %v, want one", dones)
	}
	if dones[0][0] != int64(41) {
		t.Errorf("host.repoDone repo = %v, want 41", dones[0][0])
	}
	data := asMap(dones[0][1])
	if len(data) != 2 {
		t.Fatalf("host.repoDone data = %v, want aarch64 and x86_64", data)
	}
	repoDir := filepath.Join(e.top, "repos", "f40-build", "41")
	for arch, v := range data {
		pair := asList(v)
		c := kids[arch]
		if len(pair) != 2 || pair[0] != taskRelPath(c.id) {
			t.Errorf("data[%s] = %v, want [%s, files]", arch, v, taskRelPath(c.id))
			continue
		}
		files := asStrings(pair[1])
		if !sort.StringsAreSorted(files) {
			t.Errorf("data[%s] files = %v, want them sorted", arch, files)
		}
		// the result of the subtask is what repoDone got
		if res := asList(c.result); len(res) != 2 || res[0] != pair[0] {
			t.Errorf("createrepo %s result = %v", arch, c.result)
		}
		dd := filepath.Join(repoDir, arch, "repodata")
		for _, kind := range []string{"repomd.xml", "primary.xml.gz", "filelists.xml.gz", "other.xml.gz",
			"primary.sqlite.bz2", "filelists.sqlite.bz2", "other.sqlite.bz2", "comps.xml", "comps.xml.gz"} {
			repodataFile(t, dd, files, kind)
		}
		primary := readGz(t, repodataFile(t, dd, files, "primary.xml.gz"))
		switch arch {
		case "x86_64":
			for _, want := range []string{`packages="2"`, "<name>hello</name>", "<name>greeting</name>", `href="toplink/packages/hello/1.0/1/x86_64/hello-1.0-1.x86_64.rpm"`} {
				if !strings.Contains(primary, want) {
					t.Errorf("x86_64 primary.xml lacks %s:\n%s", want, primary)
				}
			}
			if hasName(files, "EMPTY_REPO") {
				t.Errorf("x86_64 has EMPTY_REPO: %v", files)
			}
		case "aarch64":
			if !strings.Contains(primary, `packages="0"`) {
				t.Errorf("aarch64 primary.xml is not empty:\n%s", primary)
			}
			b, err := os.ReadFile(filepath.Join(dd, "EMPTY_REPO"))
			if err != nil || string(b) != emptyRepoNote {
				t.Errorf("aarch64 EMPTY_REPO = %q, %v", b, err)
			}
		}
		repomd, _ := os.ReadFile(filepath.Join(dd, "repomd.xml"))
		if !strings.Contains(string(repomd), `<data type="group">`) || !strings.Contains(string(repomd), `<data type="primary_db">`) {
			t.Errorf("%s repomd.xml lacks group or primary_db:\n%s", arch, repomd)
		}
		// createrepo.log is streamed to the task's directory, not listed
		if log := e.hub.file(taskRelPath(c.id) + "/createrepo.log"); !strings.Contains(log, "repodata written") {
			t.Errorf("%s createrepo.log:\n%s", arch, log)
		}
		if hasName(files, "createrepo.log") {
			t.Errorf("data[%s] lists the log: %v", arch, files)
		}
	}

	// progress: the total at once, the end last (when the run ends), and
	// between them at most once a second
	x86 := kids["x86_64"].id
	var mine []progressCall
	for _, p := range progress {
		if p.task == x86 {
			mine = append(mine, p)
		}
	}
	if len(mine) == 0 || mine[0].total != 2 || mine[len(mine)-1].done != 2 || mine[len(mine)-1].total != 2 {
		t.Errorf("x86_64 progress = %+v, want (0..2 of 2)", mine)
	}
	for i := 1; i < len(mine)-1; i++ {
		if gap := mine[i].at.Sub(mine[i-1].at); gap < repoProgressEvery {
			t.Errorf("progress reports %v apart, want at least %v", gap, repoProgressEvery)
		}
	}
}

func hasName(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// runNewRepo runs one newRepo task to its end and returns it.
func runNewRepo(t *testing.T, e *env) fakeTask {
	t.Helper()
	id := e.hub.addTask("newRepo", "f40-build")
	return e.hub.waitState(id, 60*time.Second, stateClosed, stateFailed)
}

func TestNewRepoUpdatesFromTheTagsLastRepo(t *testing.T) {
	e, h := repoEnv(t)
	hello := writeRPM(t, e.top, "hello", "1.0", "x86_64")
	greeting := writeRPM(t, e.top, "greeting", "2.0", "noarch")
	h.pkglists["x86_64"] = []string{hello, greeting}
	e.startWith(t, h)
	first := runNewRepo(t, e)
	if first.state != stateClosed {
		t.Fatalf("first newRepo failed: %v", first.fault)
	}
	if c := e.hub.children(first.id)["x86_64"]; c.params[2] != nil {
		t.Errorf("first repo: oldrepo = %v, want None", c.params[2])
	}

	h.mu.Lock()
	h.pkglists["x86_64"] = []string{hello, greeting, writeRPM(t, e.top, "extra", "3.0", "x86_64")}
	h.mu.Unlock()
	second := runNewRepo(t, e)
	if second.state != stateClosed {
		t.Fatalf("second newRepo failed: %v", second.fault)
	}
	c := e.hub.children(second.id)["x86_64"]
	old := asMap(c.params[2])
	if old["id"] != int64(41) || old["tag_id"] != int64(10) {
		t.Errorf("second repo: oldrepo = %v, want repo 41 of tag 10", c.params[2])
	}
	log := e.hub.file(taskRelPath(c.id) + "/createrepo.log")
	if !strings.Contains(log, "update from "+filepath.Join(e.top, "repos", "f40-build", "41", "x86_64", "repodata")) ||
		!strings.Contains(log, "done: 3 packages (1 read, 2 reused)") {
		t.Errorf("second createrepo.log does not show an update reading only the new package:\n%s", log)
	}
	primary := readGz(t, repodataFile(t, filepath.Join(e.top, "repos", "f40-build", "42", "x86_64", "repodata"),
		asStrings(asList(c.result)[1]), "primary.xml.gz"))
	if !strings.Contains(primary, `packages="3"`) || !strings.Contains(primary, "<name>extra</name>") {
		t.Errorf("updated primary.xml:\n%s", primary)
	}

	// createrepo_update = false: no old repo is looked for or used
	e2, h2 := repoEnv(t)
	e2.cfg.CreaterepoUpdate = false
	h2.pkglists["x86_64"] = []string{writeRPM(t, e2.top, "hello", "1.0", "x86_64")}
	h2.latest[10] = 7
	e2.startWith(t, h2)
	third := runNewRepo(t, e2)
	if third.state != stateClosed {
		t.Fatalf("newRepo without update failed: %v", third.fault)
	}
	if n := e2.hub.called("getRepo"); n != 0 {
		t.Errorf("getRepo called %d times with createrepo_update off", n)
	}
	if c := e2.hub.children(third.id)["x86_64"]; c.params[2] != nil {
		t.Errorf("oldrepo = %v with createrepo_update off, want None", c.params[2])
	}
}

func TestOldRepoLookup(t *testing.T) {
	top := t.TempDir()
	fh := newFakeHub(t, top)
	h := newRepoHub(t, top, fh)
	cfg := DefaultConfig()
	tk := &task{d: &daemon{cfg: cfg, hub: h}, log: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	tinfo := func() map[string]any {
		v, err := h.Call(ctx, "getTag", "f40-build")
		if err != nil {
			t.Fatal(err)
		}
		return asMap(v)
	}
	if r, err := tk.oldRepo(ctx, tinfo()); r != nil || err != nil {
		t.Errorf("oldRepo with no repo anywhere = %v, %v; want nil", r, err)
	}
	h.latest[12] = 30 // f39-build has one
	h.parents = []any{map[string]any{"parent_id": int64(99), "currdepth": int64(2)}, map[string]any{"parent_id": int64(12), "currdepth": int64(1)}}
	if r, _ := tk.oldRepo(ctx, tinfo()); r["id"] != int64(30) || r["tag_id"] != int64(12) {
		t.Errorf("oldRepo from the nearest parent = %v, want repo 30 of tag 12", r)
	}
	h.parents = nil
	h.hint = "f39-build"
	if r, _ := tk.oldRepo(ctx, tinfo()); r["id"] != int64(30) || r["tag_id"] != int64(12) {
		t.Errorf("oldRepo from repo.oldrepo_hint = %v, want repo 30 of tag 12", r)
	}
	h.latest[10] = 31
	if r, _ := tk.oldRepo(ctx, tinfo()); r["id"] != int64(31) || r["tag_id"] != int64(10) {
		t.Errorf("oldRepo of the tag itself = %v, want repo 31 of tag 10", r)
	}
}

func TestCreaterepoBadPackageFailsTheTask(t *testing.T) {
	e, h := repoEnv(t)
	good := writeRPM(t, e.top, "hello", "1.0", "x86_64")
	bad := "toplink/packages/broken/1/1/x86_64/broken-1-1.x86_64.rpm"
	if err := os.MkdirAll(filepath.Join(e.top, "packages/broken/1/1/x86_64"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.top, strings.TrimPrefix(bad, "toplink/")), []byte("not an rpm at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.pkglists["x86_64"] = []string{good, bad}
	e.startWith(t, h)
	tk := runNewRepo(t, e)
	if tk.state != stateFailed {
		t.Fatalf("newRepo with a bad package is %s, want FAILED", stateName(tk.state))
	}
	c := e.hub.children(tk.id)["x86_64"]
	if c.state != stateFailed || c.fault == nil || !strings.Contains(c.fault.String, bad) {
		t.Errorf("createrepo fault = %v, want one naming %s", c.fault, bad)
	}
	if tk.fault == nil || !strings.Contains(tk.fault.String, bad) {
		t.Errorf("newRepo fault = %v, want the child's, naming %s", tk.fault, bad)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.dones) != 0 {
		t.Errorf("host.repoDone called after a failure: %v", h.dones)
	}
}

// externalRepo writes a repository of small packages into a new
// directory, its metadata made by the engine, and returns its file:// URL.
func externalRepo(t *testing.T, pkgs ...[3]string) string {
	t.Helper()
	dir := t.TempDir()
	var list []string
	for _, p := range pkgs {
		list = append(list, strings.TrimPrefix(writeRPM(t, dir, p[0], p[1], p[2]), "toplink/"))
	}
	if _, err := repogen.Generate(context.Background(), repogen.Options{BaseDir: dir, Packages: list}); err != nil {
		t.Fatal(err)
	}
	return "file://" + dir + "/"
}

// mergedRepo runs newRepo and returns the x86_64 createrepo task and its
// published primary.xml.
func mergedRepo(t *testing.T, e *env, h *repoHub) (fakeTask, string, []string) {
	t.Helper()
	tk := runNewRepo(t, e)
	c := e.hub.children(tk.id)["x86_64"]
	if tk.state != stateClosed || c.state != stateClosed {
		t.Fatalf("newRepo = %s %v, createrepo = %s %v, want both CLOSED", stateName(tk.state), tk.fault, stateName(c.state), c.fault)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.dones) != 1 {
		t.Fatalf("host.repoDone calls = %d, want 1", len(h.dones))
	}
	files := asStrings(asList(asMap(h.dones[0][1])["x86_64"])[1])
	dd := filepath.Join(e.top, "repos", "f40-build", strconv.FormatInt(id64(h.dones[0][0]), 10), "x86_64", "repodata")
	return c, readGz(t, repodataFile(t, dd, files, "primary.xml.gz")), files
}

// TestCreaterepoMergesExternalRepos: koji mode, as Koji's mergerepo_c
// --koji: the tag's own hello hides the external one, a blocked name is
// left out, extra-tool comes with its external location, and an external
// repo for other arches is not fetched at all.
func TestCreaterepoMergesExternalRepos(t *testing.T) {
	e, h := repoEnv(t)
	h.pkglists["x86_64"] = []string{writeRPM(t, e.top, "hello", "1.0", "x86_64")}
	h.blocked = []string{"blocked-thing"}
	url := externalRepo(t, [3]string{"hello", "2.0", "x86_64"}, [3]string{"extra-tool", "1.0", "noarch"}, [3]string{"blocked-thing", "1.0", "x86_64"})
	h.external = []any{
		map[string]any{"external_repo_name": "ext", "external_repo_id": int64(3), "url": url, "merge_mode": "koji", "priority": int64(5), "arches": nil},
		map[string]any{"external_repo_name": "ppc-only", "external_repo_id": int64(4), "url": "file:///nonexistent/$arch/", "merge_mode": "koji", "priority": int64(6), "arches": "ppc64le"},
	}
	e.startWith(t, h)
	c, primary, files := mergedRepo(t, e, h)
	base := strings.TrimSuffix(url, "/")
	for _, want := range []string{`packages="2"`, `<location href="toplink/packages/hello/1.0/1/x86_64/hello-1.0-1.x86_64.rpm"/>`,
		`<location xml:base="` + base + `" href="packages/extra-tool/1.0/1/noarch/extra-tool-1.0-1.noarch.rpm"/>`} {
		if !strings.Contains(primary, want) {
			t.Errorf("merged primary lacks %s:\n%s", want, primary)
		}
	}
	for _, unwanted := range []string{`ver="2.0"`, "blocked-thing"} {
		if strings.Contains(primary, unwanted) {
			t.Errorf("merged primary has %s:\n%s", unwanted, primary)
		}
	}
	for _, kind := range []string{"repomd.xml", "primary.sqlite.bz2", "pkgorigins.gz"} {
		repodataFile(t, "", files, kind)
	}
	if hasName(files, "EMPTY_REPO") {
		t.Errorf("merged repo files = %v, want no EMPTY_REPO", files)
	}
	if log := e.hub.file(taskRelPath(c.id) + "/mergerepos.log"); !strings.Contains(log, "1 external repos") || !strings.Contains(log, "merged repodata written") {
		t.Errorf("mergerepos.log:\n%s", log)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var last progressCall
	for _, p := range h.progress {
		if p.task == c.id {
			last = p
		}
	}
	if last.total != 4 || last.done != 4 { // 1 local + 3 external packages looked at
		t.Errorf("last progress = %+v, want 4 of 4", last)
	}
}

// TestCreaterepoMergeBareWithoutLocalPackages: bare mode keeps every
// package (no blocklist), and a merged repo is not marked empty.
func TestCreaterepoMergeBareWithoutLocalPackages(t *testing.T) {
	e, h := repoEnv(t)
	h.pkglists["x86_64"] = nil
	h.blocked = []string{"extra-tool"}
	url := externalRepo(t, [3]string{"extra-tool", "1.0", "noarch"}, [3]string{"hello", "2.0", "aarch64"})
	h.external = []any{map[string]any{"external_repo_name": "ext", "url": url, "merge_mode": "bare"}}
	e.startWith(t, h)
	_, primary, files := mergedRepo(t, e, h)
	if !strings.Contains(primary, `packages="1"`) || !strings.Contains(primary, "<name>extra-tool</name>") {
		t.Errorf("bare merge primary:\n%s", primary)
	}
	if hasName(files, "EMPTY_REPO") {
		t.Errorf("merged repo files = %v, want no EMPTY_REPO", files)
	}
}

// TestCreaterepoMergeFailures: what stops a merge fails the task with a
// fault saying why, and the repo is not finished.
func TestCreaterepoMergeFailures(t *testing.T) {
	tests := []struct {
		name     string
		external []any
		want     string
	}{
		{"mixed merge modes", []any{
			map[string]any{"external_repo_name": "a", "url": "file:///a/", "merge_mode": "koji"},
			map[string]any{"external_repo_name": "b", "url": "file:///b/", "merge_mode": "bare"}}, "multiple merge modes"},
		{"unknown merge mode", []any{map[string]any{"external_repo_name": "a", "url": "file:///a/", "merge_mode": "fancy"}}, "unknown merge mode"},
		{"unreachable repo", []any{map[string]any{"external_repo_name": "gone", "url": "file:///nonexistent/$arch/", "merge_mode": "koji"}},
			"file:///nonexistent/x86_64/"},
		{"no url", []any{map[string]any{"external_repo_name": "empty", "merge_mode": "koji"}}, "has no url"},
		{"hostile scheme", []any{map[string]any{"external_repo_name": "ftp", "url": "ftp://example.org/repo/", "merge_mode": "simple"}}, "not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, h := repoEnv(t)
			h.pkglists["x86_64"] = []string{writeRPM(t, e.top, "hello", "1.0", "x86_64")}
			h.external = tc.external
			e.startWith(t, h)
			tk := runNewRepo(t, e)
			c := e.hub.children(tk.id)["x86_64"]
			if tk.state != stateFailed || c.fault == nil || !strings.Contains(c.fault.String, tc.want) {
				t.Errorf("newRepo = %s, createrepo fault %v, want FAILED naming %q", stateName(tk.state), c.fault, tc.want)
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			if len(h.dones) != 0 {
				t.Errorf("host.repoDone called after a failed merge")
			}
		})
	}
}

func TestNewRepoArguments(t *testing.T) {
	e, h := repoEnv(t)
	h.pkglists["x86_64"] = nil
	legacy := e.hub.addTask("newRepo", "f40-build", nil, true) // src=True
	both := e.hub.addTask("newRepo", "f40-build", kw("src", true, "opts", map[string]any{"src": true}))
	unknown := e.hub.addTask("newRepo", "no-such-tag")
	e.startWith(t, h)
	if tk := e.hub.waitState(legacy, 60*time.Second, stateClosed, stateFailed); tk.state != stateClosed {
		t.Errorf("newRepo with legacy src failed: %v", tk.fault)
	}
	if tk := e.hub.waitState(both, 60*time.Second, stateClosed, stateFailed); tk.state != stateFailed || tk.fault.Code != kojixml.ParameterError {
		t.Errorf("newRepo with src and opts = %s %v, want a ParameterError", stateName(tk.state), tk.fault)
	}
	if tk := e.hub.waitState(unknown, 60*time.Second, stateClosed, stateFailed); tk.state != stateFailed || !strings.Contains(tk.fault.String, "no-such-tag") {
		t.Errorf("newRepo of an unknown tag = %s %v", stateName(tk.state), tk.fault)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.inits) != 1 {
		t.Fatalf("host.repoInit calls = %v, want one (the legacy task)", h.inits)
	}
	if _, kws := splitKw(h.inits[0]); !asBool(asMap(kws["opts"])["src"]) {
		t.Errorf("legacy src=True became repoInit%v, want opts={src: True}", h.inits[0])
	}
}

// recordHub records kojigo.setRepoProgress calls; fail makes it answer
// with a fault, as a hub without the method does.
type recordHub struct {
	Hub
	mu    sync.Mutex
	calls []progressCall
	fail  bool
}

func (r *recordHub) Call(_ context.Context, method string, args ...any) (any, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if method != "kojigo.setRepoProgress" {
		return nil, errors.New("unexpected call " + method)
	}
	d, _ := asInt(args[1])
	tot, _ := asInt(args[2])
	r.calls = append(r.calls, progressCall{done: d, total: tot, at: time.Now()})
	if r.fail {
		return nil, kojixml.Errorf(kojixml.GenericError, "Invalid method: %s", method)
	}
	return nil, nil
}

func TestRepoProgressReporter(t *testing.T) {
	for _, fail := range []bool{false, true} {
		h := &recordHub{fail: fail}
		tk := &task{id: 5, d: &daemon{hub: h}, log: slog.New(slog.DiscardHandler)}
		every := 100 * time.Millisecond
		p := tk.startRepoProgress(context.Background(), every)
		p.set(0, 1000)
		start := time.Now()
		for i := 1; i <= 1000; i++ {
			p.set(i, 1000)
			if i%100 == 0 {
				time.Sleep(every / 2)
			}
		}
		p.finish()
		took := time.Since(start)
		h.mu.Lock()
		calls := h.calls
		h.mu.Unlock()
		if fail {
			if len(calls) != 1 {
				t.Errorf("a hub answering with a fault was asked %d times, want once", len(calls))
			}
			continue
		}
		if len(calls) < 2 || calls[0].total != 1000 || calls[len(calls)-1].done != 1000 {
			t.Fatalf("progress calls = %+v, want the total first and 1000 of 1000 last", calls)
		}
		if max := int(took/every) + 2; len(calls) > max {
			t.Errorf("%d reports in %v, want at most %d (one per %v)", len(calls), took, max, every)
		}
		// the last report goes when the run ends, not after the interval
		for i := 1; i < len(calls)-1; i++ {
			if gap := calls[i].at.Sub(calls[i-1].at); gap < every {
				t.Errorf("reports %d and %d are %v apart, want at least %v", i-1, i, gap, every)
			}
		}
	}
}

func TestCreaterepoConfigKeys(t *testing.T) {
	cfg := DefaultConfig()
	if !cfg.CreaterepoUpdate || !cfg.CreaterepoSkipStat {
		t.Errorf("defaults createrepo_update=%v createrepo_skip_stat=%v, want Koji's True, True", cfg.CreaterepoUpdate, cfg.CreaterepoSkipStat)
	}
	p := writeConf(t, "[kojid]\nserver=http://h/kojihub\ntopurl=http://h/f\ncreaterepo_update=False\ncreaterepo_skip_stat=no\ncopy_old_repodata=True\n")
	cfg, warnings, err := LoadConfig(p, kojiconf.Options{Environ: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CreaterepoUpdate || cfg.CreaterepoSkipStat {
		t.Errorf("LoadConfig: createrepo_update=%v createrepo_skip_stat=%v, want false, false", cfg.CreaterepoUpdate, cfg.CreaterepoSkipStat)
	}
	if len(warnings) != 1 || warnings[0].Key != "copy_old_repodata" || warnings[0].Line != 6 {
		t.Errorf("warnings = %v, want only copy_old_repodata (line 6) as accepted and ignored", warnings)
	}
	p = writeConf(t, "[kojid]\nserver=http://h/kojihub\ntopurl=http://h/f\ncreaterepo_update=sometimes\n")
	if _, _, err := LoadConfig(p, kojiconf.Options{Environ: noEnv}); err == nil || !strings.Contains(err.Error(), "kojid.conf:4") {
		t.Errorf("bad createrepo_update: err = %v, want one naming kojid.conf:4", err)
	}
}

// TestNewRepoRunAgainFinishesItsRepo: a newRepo task run again after its
// kojid was killed finishes the INIT repo its first run began, instead of
// a second repoInit whose repo would get the first run's createrepo
// results (found again by their labels) as a newer repo.
func TestNewRepoRunAgainFinishesItsRepo(t *testing.T) {
	e, h := repoEnv(t)
	h.pkglists["x86_64"] = []string{writeRPM(t, e.top, "hello", "1.0", "x86_64")}
	id := e.hub.addTask("newRepo", "f40-build")
	// the first run's repoInit, as if that kojid was then killed
	h.mu.Lock()
	if _, err := h.answer("host.repoInit", []any{int64(10), map[string]any{"__starstar": true, "task_id": id}}); err != nil {
		t.Fatal(err)
	}
	first := h.nextRepo
	h.mu.Unlock()
	e.startWith(t, h)
	tk := e.hub.waitState(id, 60*time.Second, stateClosed, stateFailed)
	if tk.state != stateClosed {
		t.Fatalf("newRepo failed: %v", tk.fault)
	}
	h.mu.Lock()
	inits, dones := h.inits, h.dones
	h.mu.Unlock()
	if len(inits) != 1 {
		t.Errorf("host.repoInit calls = %d, want only the first run's", len(inits))
	}
	if len(dones) != 1 || dones[0][0] != first {
		t.Errorf("host.repoDone calls = %v, want one for repo %d", dones, first)
	}
	if res := asList(tk.result); len(res) != 2 || res[0] != first {
		t.Errorf("newRepo result = %v, want repo %d", tk.result, first)
	}
}

// TestParentWakesWhenSubtaskEndsHere: a parent whose subtask ran on the
// same kojid looks at it again as soon as it is reported, not at its next
// poll (here a minute away, longer than the test waits).
func TestParentWakesWhenSubtaskEndsHere(t *testing.T) {
	e, h := repoEnv(t)
	e.cfg.CancelPoll = time.Minute
	h.pkglists["x86_64"] = []string{writeRPM(t, e.top, "hello", "1.0", "x86_64")}
	id := e.hub.addTask("newRepo", map[string]any{"id": int64(10), "name": "f40-build"},
		kw("opts", map[string]any{"src": false, "debuginfo": false, "separate_src": false, "maven": false}, "event", int64(900)))
	e.startWith(t, h)
	if tk := e.hub.waitState(id, 40*time.Second, stateClosed, stateFailed); tk.state != stateClosed {
		t.Fatalf("newRepo state %d (%v); a parent waiting for its subtask was not woken by its end", tk.state, tk.fault)
	}
}
