package builderd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"kojigo/internal/kojiclient"
	"kojigo/internal/kojixml"
)

// fakeHub is a small in-memory hub: a task table with Koji's host calls and
// scheduling (every FREE task goes to the one host that asks), build and
// tag records, and uploads written under workDir (the hub's <topdir>/work).
// Every call and answer goes through the XML-RPC codec, so kojid only gets
// what a real client returns.
type fakeHub struct {
	t       testing.TB
	workDir string
	hostID  int64

	mu        sync.Mutex
	nextID    int64
	tasks     map[int64]*fakeTask
	calls     []string
	updates   []fakeUpdate
	refusals  []fakeRefusal
	freed     []int64
	enabled   bool
	capacity  float64
	failCalls int // transport errors to return before answering again
	// loseAnswers applies the next calls of a method and then returns a
	// transport error, as when the connection drops before the answer.
	loseAnswers map[string]int
	builds      map[int64]map[string]any
	completed   map[int64][]any // build id -> completeBuild args
	failedBuild []int64
	tagged      [][]any
	tagNotes    [][]any // host.tagNotification calls
	targets     map[string]map[string]any
	tags        map[int64]map[string]any
	listed      map[string]bool // package names listed in dest tags
	buildroots  []string        // newBuildRoot, setBuildRootState and set/updateBuildRootList calls
	brLists     [][]any         // the lists of set/updateBuildRootList
	nextBuild   int64
	// restartHosts: the hosts listHosts answers instead of this one, the
	// keywords it was called with, and getSessionInfo's start_ts
	otherHosts   []map[string]any
	listHostsKw  []map[string]any
	sessionStart float64
}

type fakeTask struct {
	id, parent, host int64
	method           string
	params           []any
	state            int64
	label, arch      string
	waiting, awaited bool
	result           any
	fault            *kojixml.Fault
	refusedBy        bool
	weight           float64
	rawRequest       string // replaces the encoded request when set
	completion       float64
}

type fakeUpdate struct {
	load  float64
	ready bool
	data  map[string]any
}

type fakeRefusal struct {
	id   int64
	soft bool
	msg  string
}

// errTransport is what kojiclient returns when the hub cannot be reached.
var errTransport = &kojiclient.TransportError{Method: "fake", Retryable: true, Err: errors.New("connection refused (fake)")}

func newFakeHub(t testing.TB, topDir string) *fakeHub {
	t.Helper()
	h := &fakeHub{
		t: t, workDir: filepath.Join(topDir, "work"), hostID: 7, nextID: 100,
		tasks: map[int64]*fakeTask{}, enabled: true, capacity: 10,
		builds: map[int64]map[string]any{}, completed: map[int64][]any{}, nextBuild: 500,
		targets: map[string]map[string]any{
			"f40-candidate": {"id": int64(1), "name": "f40-candidate", "build_tag": int64(10), "build_tag_name": "f40-build",
				"dest_tag": int64(11), "dest_tag_name": "f40"},
		},
		tags: map[int64]map[string]any{
			10: {"id": int64(10), "name": "f40-build", "arches": "x86_64 aarch64"},
			11: {"id": int64(11), "name": "f40", "arches": nil},
		},
		listed: map[string]bool{"hello": true, "greeting": true, "broken": true, "slow": true},
	}
	if err := os.MkdirAll(h.workDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return h
}

// fakeRepoID is the build tag's repo that repo.request answers with.
const fakeRepoID = 7

// writeEmptyRepo makes repo metadata without packages for the arches the
// tests build, where rpmbuild mode looks up BuildRequires.
func writeEmptyRepo(t testing.TB, dir string) {
	t.Helper()
	for _, arch := range []string{"x86_64", "aarch64", "i686", "ppc64le", "s390x"} {
		data := filepath.Join(dir, arch, "repodata")
		if err := os.MkdirAll(data, 0o755); err != nil {
			t.Fatal(err)
		}
		repomd := `<repomd><data type="primary"><location href="repodata/primary.xml"/></data></repomd>`
		if err := os.WriteFile(filepath.Join(data, "repomd.xml"), []byte(repomd), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(data, "primary.xml"), []byte(`<metadata packages="0"></metadata>`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// addTask creates a top-level FREE task.
func (h *fakeHub) addTask(method string, params ...any) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.addTaskLocked(0, method, params, "", "noarch")
}

func (h *fakeHub) addTaskLocked(parent int64, method string, params []any, label, arch string) int64 {
	h.nextID++
	h.tasks[h.nextID] = &fakeTask{id: h.nextID, parent: parent, method: method, params: params, label: label, arch: arch, weight: 1}
	return h.nextID
}

func (h *fakeHub) task(id int64) fakeTask {
	h.mu.Lock()
	defer h.mu.Unlock()
	return *h.tasks[id]
}

// cancel cancels a task and its descendants, as Koji's cancelFull.
func (h *fakeHub) cancel(id int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cancelLocked(id)
}

func (h *fakeHub) cancelLocked(id int64) {
	tk := h.tasks[id]
	if tk.state == stateClosed || tk.state == stateFailed {
		return
	}
	tk.state = stateCanceled
	for _, c := range h.tasks {
		if c.parent == id {
			h.cancelLocked(c.id)
		}
	}
}

// waitState polls until task id is in one of states.
func (h *fakeHub) waitState(id int64, within time.Duration, states ...int64) fakeTask {
	h.t.Helper()
	deadline := time.Now().Add(within)
	for {
		tk := h.task(id)
		for _, s := range states {
			if tk.state == s {
				return tk
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("task %d (%s) is %s after %v, want one of %v; fault %v", id, tk.method, stateName(tk.state), within, states, tk.fault)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *fakeHub) called(method string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.calls {
		if c == method {
			n++
		}
	}
	return n
}

func (h *fakeHub) lastUpdate() (fakeUpdate, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.updates) == 0 {
		return fakeUpdate{}, false
	}
	return h.updates[len(h.updates)-1], true
}

func (h *fakeHub) file(rel string) string {
	b, _ := os.ReadFile(filepath.Join(h.workDir, filepath.FromSlash(rel)))
	return string(b)
}

// roundTrip passes values through the codec as a real client would.
func roundTripCall(method string, args []any) ([]any, error) {
	var b bytes.Buffer
	if err := kojixml.EncodeCall(&b, method, args); err != nil {
		return nil, err
	}
	c, err := kojixml.DecodeCall(&b)
	if err != nil {
		return nil, err
	}
	return c.Params, nil
}

func roundTripResponse(v any) (any, error) {
	var b bytes.Buffer
	if err := kojixml.EncodeResponse(&b, v); err != nil {
		return nil, err
	}
	return kojixml.DecodeResponse(&b)
}

func splitKw(args []any) ([]any, map[string]any) {
	if n := len(args); n > 0 {
		if m, ok := args[n-1].(map[string]any); ok && asBool(m["__starstar"]) {
			kw := map[string]any{}
			for k, v := range m {
				if k != "__starstar" {
					kw[k] = v
				}
			}
			return args[:n-1], kw
		}
	}
	return args, map[string]any{}
}

func (h *fakeHub) Call(ctx context.Context, method string, args ...any) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	params, err := roundTripCall(method, args)
	if err != nil {
		h.t.Errorf("%s: arguments cannot be encoded: %v", method, err)
		return nil, err
	}
	h.mu.Lock()
	h.calls = append(h.calls, method)
	if h.failCalls > 0 {
		h.failCalls--
		h.mu.Unlock()
		return nil, errTransport
	}
	v, err := h.dispatch(method, params)
	if h.loseAnswers[method] > 0 {
		h.loseAnswers[method]--
		v, err = nil, errTransport
	}
	h.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return roundTripResponse(v)
}

func fault(code int, format string, args ...any) error { return kojixml.Errorf(code, format, args...) }

func (h *fakeHub) mine(id int64) (*fakeTask, error) {
	tk := h.tasks[id]
	if tk == nil || tk.state != stateOpen || tk.host != h.hostID {
		return nil, fault(kojixml.ActionNotAllowed, "task %d is not open on this host", id)
	}
	return tk, nil
}

func (h *fakeHub) info(tk *fakeTask, request bool) map[string]any {
	m := map[string]any{"id": tk.id, "state": tk.state, "method": tk.method, "arch": tk.arch,
		"parent": nil, "label": nil, "owner": int64(1), "host_id": nil, "waiting": tk.waiting, "awaited": tk.awaited, "weight": tk.weight}
	if tk.parent != 0 {
		m["parent"] = tk.parent
		m["label"] = tk.label
	}
	if tk.host != 0 {
		m["host_id"] = tk.host
	}
	if tk.completion != 0 {
		m["completion_ts"] = tk.completion
	}
	if request {
		var b bytes.Buffer
		if err := kojixml.EncodeCall(&b, tk.method, tk.params); err != nil {
			h.t.Errorf("encode request: %v", err)
		}
		m["request"] = b.String()
		if tk.rawRequest != "" {
			m["request"] = tk.rawRequest
		}
	}
	return m
}

func id64(v any) int64 {
	n, _ := asInt(v)
	return n
}

func (h *fakeHub) dispatch(method string, params []any) (any, error) {
	pos, kws := splitKw(params)
	arg := func(i int) any {
		if i < len(pos) {
			return pos[i]
		}
		return nil
	}
	switch method {
	case "host.getID":
		return h.hostID, nil
	case "host.getHost":
		return map[string]any{"id": h.hostID, "name": "builder1", "arches": "x86_64", "capacity": h.capacity,
			"enabled": h.enabled, "comment": "", "ready": true}, nil
	case "host.updateHost":
		h.updates = append(h.updates, fakeUpdate{load: asFloat(arg(0)), ready: asBool(arg(1)), data: asMap(kws["data"])})
		return nil, nil
	case "host.getTasks":
		var out []any
		ids := h.sortedIDs()
		for _, id := range ids {
			tk := h.tasks[id]
			if tk.state == stateFree && !tk.refusedBy {
				tk.state, tk.host = stateAssigned, h.hostID
			}
			if tk.state == stateAssigned && tk.host == h.hostID {
				out = append(out, map[string]any{"id": tk.id, "method": tk.method, "state": tk.state, "arch": tk.arch, "host_id": tk.host})
			}
		}
		return out, nil
	case "host.getHostTasks":
		var out []any
		for _, id := range h.sortedIDs() {
			tk := h.tasks[id]
			if tk.state == stateOpen && tk.host == h.hostID {
				out = append(out, map[string]any{"id": tk.id, "waiting": tk.waiting, "weight": tk.weight})
			}
		}
		return out, nil
	case "host.openTask":
		tk := h.tasks[id64(arg(0))]
		if tk == nil || !(tk.state == stateFree || tk.state == stateAssigned && tk.host == h.hostID) {
			return nil, nil
		}
		tk.state, tk.host = stateOpen, h.hostID
		return h.info(tk, true), nil
	case "host.setTaskWeight":
		if tk, err := h.mine(id64(arg(0))); err == nil {
			tk.weight = asFloat(arg(1))
		}
		return nil, nil
	case "listHosts":
		h.listHostsKw = append(h.listHostsKw, kws)
		var out []any
		hosts := []map[string]any{{"id": h.hostID, "name": "builder1", "arches": "x86_64"}}
		if h.otherHosts != nil {
			hosts = h.otherHosts
		}
		for _, x := range hosts {
			out = append(out, x)
		}
		return out, nil
	case "getChannel":
		if asString(arg(0)) == "nosuch" {
			return nil, fault(kojixml.GenericError, "No such channel: %v", arg(0))
		}
		return map[string]any{"id": int64(3), "name": asString(arg(0))}, nil
	case "taskFinished":
		tk := h.tasks[id64(arg(0))]
		return tk != nil && (tk.state == stateClosed || tk.state == stateFailed || tk.state == stateCanceled), nil
	case "getSessionInfo":
		return map[string]any{"start_ts": h.sessionStart}, nil
	case "getTaskInfo":
		tk := h.tasks[id64(arg(0))]
		if tk == nil {
			return nil, nil
		}
		return h.info(tk, asBool(kws["request"])), nil
	case "host.closeTask":
		tk, err := h.mine(id64(arg(0)))
		if err != nil {
			return nil, err
		}
		v, err := kojixml.DecodeResponse(strings.NewReader(asString(arg(1))))
		if err != nil {
			h.t.Errorf("closeTask %d: bad result document: %v", tk.id, err)
			return nil, fault(kojixml.ParameterError, "bad result: %v", err)
		}
		tk.state, tk.result = stateClosed, v
		tk.completion = float64(time.Now().UnixNano()) / 1e9
		return nil, nil
	case "host.failTask":
		tk, err := h.mine(id64(arg(0)))
		if err != nil {
			return nil, err
		}
		_, err = kojixml.DecodeResponse(strings.NewReader(asString(arg(1))))
		var f *kojixml.Fault
		if !errors.As(err, &f) {
			h.t.Errorf("failTask %d: not a fault document: %v", tk.id, err)
			return nil, fault(kojixml.ParameterError, "bad fault")
		}
		tk.state, tk.fault = stateFailed, f
		return nil, nil
	case "host.refuseTask":
		id := id64(arg(0))
		h.refusals = append(h.refusals, fakeRefusal{id: id, soft: asBool(kws["soft"]), msg: asString(kws["msg"])})
		if tk := h.tasks[id]; tk != nil && tk.host == h.hostID && (tk.state == stateAssigned || tk.state == stateOpen) {
			tk.state, tk.host, tk.refusedBy = stateFree, 0, true
		}
		return nil, nil
	case "host.freeTasks":
		for _, v := range asList(arg(0)) {
			id := id64(v)
			h.freed = append(h.freed, id)
			if tk := h.tasks[id]; tk != nil && tk.state != stateClosed && tk.state != stateFailed && tk.state != stateCanceled {
				tk.state, tk.host = stateFree, 0
				tk.refusedBy = true // keep the test's host from taking it again
			}
		}
		return nil, nil
	case "host.subtask":
		parent := id64(arg(2))
		if _, err := h.mine(parent); err != nil {
			return nil, err
		}
		label := asString(kws["label"])
		for _, tk := range h.tasks {
			if tk.parent == parent && tk.label == label && label != "" {
				return tk.id, nil
			}
		}
		arch := asString(kws["arch"])
		if arch == "" {
			arch = "noarch"
		}
		id := h.addTaskLocked(parent, asString(arg(0)), asList(arg(1)), label, arch)
		if to, ok := asInt(kws["assign"]); ok {
			h.tasks[id].state, h.tasks[id].host = stateAssigned, to
		}
		return id, nil
	case "host.taskSetWait":
		parent, err := h.mine(id64(arg(0)))
		if err != nil {
			return nil, err
		}
		parent.waiting = true
		for _, v := range asList(arg(1)) {
			if c := h.tasks[id64(v)]; c != nil && c.parent == parent.id {
				c.awaited = true
			}
		}
		return nil, nil
	case "host.taskWait":
		parent, err := h.mine(id64(arg(0)))
		if err != nil {
			return nil, err
		}
		finished, unfinished := []any{}, []any{}
		for _, id := range h.sortedIDs() {
			c := h.tasks[id]
			if c.parent != parent.id || !c.awaited {
				continue
			}
			if c.state == stateClosed || c.state == stateFailed || c.state == stateCanceled {
				finished = append(finished, c.id)
			} else {
				unfinished = append(unfinished, c.id)
			}
		}
		return []any{finished, unfinished}, nil
	case "host.taskWaitResults":
		parent, err := h.mine(id64(arg(0)))
		if err != nil {
			return nil, err
		}
		parent.waiting = false
		var out []any
		for _, v := range asList(arg(1)) {
			c := h.tasks[id64(v)]
			c.awaited = false
			switch c.state {
			case stateFailed:
				return nil, c.fault
			case stateCanceled:
				return nil, fault(kojixml.GenericError, "Task %d is canceled", c.id)
			case stateClosed:
				out = append(out, []any{c.id, c.result})
			default:
				return nil, fault(kojixml.GenericError, "Task %d is not finished", c.id)
			}
		}
		return out, nil
	case "getTaskResult":
		c := h.tasks[id64(arg(0))]
		switch c.state {
		case stateClosed:
			return c.result, nil
		case stateFailed:
			return nil, c.fault
		case stateCanceled:
			return nil, fault(kojixml.GenericError, "Task %d is canceled", c.id)
		}
		return nil, fault(kojixml.GenericError, "Task %d is not finished", c.id)
	case "cancelTaskChildren":
		for _, c := range h.tasks {
			if c.parent == id64(arg(0)) {
				h.cancelLocked(c.id)
			}
		}
		return nil, nil
	case "getBuildTarget":
		if t, ok := h.targets[asString(arg(0))]; ok {
			return t, nil
		}
		return nil, nil
	case "getTag":
		if t, ok := h.tags[id64(arg(0))]; ok {
			return t, nil
		}
		for _, t := range h.tags { // by name (waitrepo of a chainbuild)
			if name, _ := arg(0).(string); name != "" && t["name"] == name {
				return t, nil
			}
		}
		return nil, nil
	case "listPackages":
		name := asString(kws["pkgID"])
		if id64(kws["tagID"]) != 11 || !asBool(kws["inherited"]) {
			return []any{}, nil
		}
		if blocked, ok := h.listed[name]; ok {
			return []any{map[string]any{"package_name": name, "blocked": !blocked, "tag_id": int64(11)}}, nil
		}
		return nil, fault(kojixml.GenericError, "No such entry in table package: %s", name)
	case "getRepo":
		return nil, nil
	case "tagLastChangeEvent":
		return int64(5), nil
	case "listTagged": // versions 1.0-1 and 2.0-1 of every package are in the build tag
		return []any{map[string]any{"name": kws["package"], "version": "1.0", "release": "1"},
			map[string]any{"name": kws["package"], "version": "2.0", "release": "1"}}, nil
	case "repo.request":
		writeEmptyRepo(h.t, filepath.Join(filepath.Dir(h.workDir), "repos", "f40-build", strconv.Itoa(fakeRepoID)))
		return map[string]any{"repo": map[string]any{"id": int64(fakeRepoID), "tag_id": id64(arg(0)), "tag_name": "f40-build", "state": int64(1), "create_event": int64(5)}}, nil
	case "repoInfo":
		return map[string]any{"id": id64(arg(0)), "state": int64(1), "tag_name": "f40-build", "tag_id": int64(10), "create_event": int64(5)}, nil
	case "getBuildConfig":
		tag := map[string]any{}
		for k, v := range h.tags[10] {
			tag[k] = v
		}
		tag["extra"] = map[string]any{"rpm.macro.dist": ".fc40", "mock.new_chroot": false, "mock.package_manager": "dnf"}
		return tag, nil
	case "host.newBuildRoot":
		h.buildroots = append(h.buildroots, "new "+asString(arg(1)))
		return int64(77), nil
	case "host.setBuildRootState":
		h.buildroots = append(h.buildroots, asString(arg(1)))
		return nil, nil
	case "host.setBuildRootList", "host.updateBuildRootList":
		l := asList(arg(1))
		h.buildroots = append(h.buildroots, fmt.Sprintf("%s %d", strings.TrimPrefix(method, "host."), len(l)))
		h.brLists = append(h.brLists, l)
		return nil, nil
	case "host.initBuild":
		h.nextBuild++
		h.builds[h.nextBuild] = asMap(arg(0))
		return h.nextBuild, nil
	case "host.completeBuild":
		if _, err := h.mine(id64(arg(0))); err != nil {
			return nil, err
		}
		h.completed[id64(arg(1))] = append(pos[2:], kws["logs"])
		return nil, nil
	case "host.failBuild":
		h.failedBuild = append(h.failedBuild, id64(arg(1)))
		return nil, nil
	case "getBuild": // by NVR: COMPLETE once completeBuild was called
		for id, b := range h.builds {
			if asString(b["name"])+"-"+asString(b["version"])+"-"+asString(b["release"]) != asString(arg(0)) {
				continue
			}
			state := int64(0)
			if _, done := h.completed[id]; done {
				state = 1
			}
			return map[string]any{"build_id": id, "id": id, "task_id": b["task_id"], "state": state}, nil
		}
		return nil, nil
	case "host.tagBuild":
		if _, err := h.mine(id64(arg(0))); err != nil {
			return nil, err
		}
		h.tagged = append(h.tagged, pos[1:])
		return nil, nil
	case "host.tagNotification":
		h.tagNotes = append(h.tagNotes, pos)
		return nil, nil
	}
	return nil, fault(kojixml.GenericError, "Invalid method: %s", method)
}

func (h *fakeHub) sortedIDs() []int64 {
	ids := make([]int64, 0, len(h.tasks))
	for id := range h.tasks {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// uploadPath checks that dir is the directory of a task open on this host,
// as the hub's upload permission check does.
func (h *fakeHub) uploadPath(dir, name string) (string, error) {
	var bucket, id int64
	if _, err := fmt.Sscanf(dir, "tasks/%d/%d", &bucket, &id); err != nil || path.Clean(dir) != dir || taskRelPath(id) != dir {
		return "", fault(kojixml.GenericError, "bad upload directory %q", dir)
	}
	if strings.ContainsAny(name, "/\x00") || name == "" || name == ".." {
		return "", fault(kojixml.GenericError, "bad upload name %q", name)
	}
	if _, err := h.mine(id); err != nil {
		return "", err
	}
	return filepath.Join(h.workDir, filepath.FromSlash(dir), name), nil
}

func (h *fakeHub) UploadChunk(ctx context.Context, dir, name string, offset int64, data []byte, overwrite bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	p, err := h.uploadPath(dir, name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if overwrite {
		if err := f.Truncate(offset); err != nil {
			return err
		}
	}
	_, err = f.WriteAt(data, offset)
	return err
}

func (h *fakeHub) UploadFile(ctx context.Context, local, dir, name string, _ func(int64, int64)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	p, err := h.uploadPath(dir, name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	src, err := os.ReadFile(local)
	if err != nil {
		return err
	}
	if err := os.WriteFile(p, src, 0o644); err != nil {
		return err
	}
	got, err := os.ReadFile(p)
	if err != nil || sha256.Sum256(got) != sha256.Sum256(src) {
		return fmt.Errorf("upload checksum failed")
	}
	return nil
}

var _ Hub = (*fakeHub)(nil)
var _ = io.EOF
