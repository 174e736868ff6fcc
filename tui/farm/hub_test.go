package farm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"kojigo/internal/kojiclient"
)

// fakeCaller answers from a table of method → value (or fault), and
// counts requests.
type fakeCaller struct {
	answers  map[string]any
	requests int
	calls    []string
	specs    []kojiclient.CallSpec // the multicalls' calls, with their arguments
}

func (f *fakeCaller) answer(method string) kojiclient.Result {
	v, ok := f.answers[method]
	if !ok {
		return kojiclient.Result{Fault: &kojiclient.Fault{Code: 1000, String: "Invalid method: " + method}}
	}
	if fl, ok := v.(*kojiclient.Fault); ok {
		return kojiclient.Result{Fault: fl}
	}
	return kojiclient.Result{Value: v}
}

func (f *fakeCaller) Call(ctx context.Context, method string, args ...any) (any, error) {
	f.requests++
	f.calls = append(f.calls, method)
	r := f.answer(method)
	if r.Fault != nil {
		return nil, r.Fault
	}
	return r.Value, nil
}

func (f *fakeCaller) MultiCall(ctx context.Context, calls []kojiclient.CallSpec) ([]kojiclient.Result, error) {
	f.requests++
	out := make([]kojiclient.Result, len(calls))
	for i, c := range calls {
		f.calls = append(f.calls, "mc:"+c.Method)
		f.specs = append(f.specs, c)
		out[i] = f.answer(c.Method)
	}
	return out, nil
}

func kojigoAnswers() map[string]any {
	return map[string]any{
		"system.listMethods": []any{"listHosts", "listTasks", "kojigo.listHostHealth", "kojigo.listFreeTasks", "kojigo.getTLSFailures", "kojigo.waitChanges"},
		"getKojiVersion":     "1.35.3",
		"getLoggedInUser":    map[string]any{"name": "alice", "id": int64(3)},
		"getPerms":           []any{"host"},
		"listHosts": []any{
			map[string]any{"id": int64(1), "name": "b1", "arches": "x86_64 i686", "enabled": true, "ready": true, "task_load": 1.5, "capacity": 4.0, "update_ts": 1.7e9},
			map[string]any{"id": int64(2), "name": "b2", "arches": "aarch64", "enabled": true, "ready": false, "task_load": int64(0), "capacity": int64(2), "update_ts": nil},
		},
		"listTasks": []any{
			map[string]any{"id": int64(5), "state": int64(0), "method": "buildArch", "arch": "aarch64", "owner_name": "alice", "label": "aarch64",
				"request": []any{"cli-build/1/hello-1.0-1.src.rpm", int64(3), "aarch64"}, "create_ts": 1.7e9},
		},
		"kojigo.listHostHealth": []any{
			map[string]any{"host_id": int64(2), "channels": []any{"default"}, "data_ts": 1.7e9, "data": map[string]any{
				"disk":              []any{map[string]any{"role": "workdir", "path": "/w", "free": int64(1 << 30), "total": int64(8 << 30)}},
				"not_ready_reasons": []any{"workdir /w: 1.0 GiB free < minspace 8.0 GiB"}, "cert_not_after": int64(1.8e9),
				"tools": map[string]any{"mock": false, "rpmbuild": true}, "load1": 0.25,
			}},
		},
		"kojigo.listFreeTasks":  []any{map[string]any{"id": int64(5), "reason": "no ready host builds aarch64"}},
		"kojigo.getTLSFailures": []any{map[string]any{"ts": 1.7e9, "peer": "10.0.0.1:1", "problem": "expired", "message": "renew it"}},
	}
}

func TestFetchKojigoHub(t *testing.T) {
	fc := &fakeCaller{answers: kojigoAnswers()}
	h := &Hub{Calls: fc, Now: func() time.Time { return time.Unix(1.7e9, 0) }}
	me, err := h.Probe(context.Background())
	if err != nil || me.Name != "alice" || !me.HostPerm || me.Admin || me.Anonymous {
		t.Fatalf("Probe = %+v, %v", me, err)
	}
	if !h.Kojigo() || h.Version() != "1.35.3" {
		t.Errorf("Kojigo %v version %q", h.Kojigo(), h.Version())
	}
	fc.requests = 0
	s, err := h.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fc.requests != 1 {
		t.Errorf("Fetch took %d requests", fc.requests)
	}
	if len(s.Missing) != 0 {
		t.Errorf("missing %v on a kojigo hub", s.Missing)
	}
	b2 := s.Hosts[1]
	if b2.Health == nil || len(b2.Health.NotReady) != 1 || b2.Channels[0] != "default" || b2.Capacity != 2 || !b2.Update.IsZero() {
		t.Errorf("b2 = %+v", b2)
	}
	if got := b2.Health.MissingTools; len(got) != 1 || got[0] != "mock" {
		t.Errorf("missing tools %v", got)
	}
	if s.Hosts[0].Arches[1] != "i686" || s.Hosts[0].Health != nil || s.Hosts[0].Channels != nil {
		t.Errorf("b1 = %+v", s.Hosts[0])
	}
	task := s.Active[0]
	if task.Label != "hello-1.0-1.src.rpm" || task.WaitReason != "no ready host builds aarch64" {
		t.Errorf("task = %+v", task)
	}
	if len(s.TLS) != 1 || s.TLS[0].Message != "renew it" {
		t.Errorf("TLS = %+v", s.TLS)
	}
}

func TestFetchStockHub(t *testing.T) {
	a := kojigoAnswers()
	a["system.listMethods"] = []any{"listHosts", "listTasks"}
	fc := &fakeCaller{answers: a}
	h := &Hub{Calls: fc}
	if _, err := h.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	fc.calls = nil
	s, err := h.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range fc.calls {
		if strings.Contains(c, "kojigo.") {
			t.Errorf("called %s on a hub without it", c)
		}
	}
	for _, p := range []Part{PartHealth, PartReasons, PartTLS, PartChannels} {
		if s.Has(p) {
			t.Errorf("has %s", p)
		}
	}
	before := len(fc.calls)
	if _, _, ok, err := h.WaitChanges(context.Background(), "", 1); ok || err != nil || len(fc.calls) != before {
		t.Errorf("WaitChanges on a stock hub: ok %v err %v, calls %v", ok, err, fc.calls[before:])
	}
}

func TestFetchWithoutListMethods(t *testing.T) {
	// A hub that cannot list its methods: the extensions are tried, and a
	// fault in place marks each part missing with the hub's words.
	a := kojigoAnswers()
	delete(a, "system.listMethods")
	delete(a, "kojigo.listHostHealth")
	a["kojigo.listFreeTasks"] = &kojiclient.Fault{Code: 1002, String: "not allowed"}
	h := &Hub{Calls: &fakeCaller{answers: a}}
	h.Probe(context.Background())
	h.methods = nil // as if listMethods were unknown
	s, err := h.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Has(PartHealth) || s.Missing[PartReasons] != "not allowed" || !s.Has(PartTLS) {
		t.Errorf("missing = %v", s.Missing)
	}
}

func TestFetchHostileAnswers(t *testing.T) {
	// Wrong types everywhere: nothing panics, the snapshot holds what made
	// sense.
	a := kojigoAnswers()
	a["listHosts"] = []any{"not a struct", int64(3), map[string]any{"id": "x", "name": int64(5), "arches": []any{1}, "capacity": "NaN", "task_load": map[string]any{}}}
	a["listTasks"] = map[string]any{"bogus": true}
	a["kojigo.listHostHealth"] = []any{map[string]any{"host_id": int64(0), "data": "zzz"}, nil}
	a["kojigo.listFreeTasks"] = "nope"
	a["kojigo.getTLSFailures"] = []any{map[string]any{"ts": "yesterday"}}
	h := &Hub{Calls: &fakeCaller{answers: a}}
	h.Probe(context.Background())
	s, err := h.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Hosts) != 1 || s.Hosts[0].Name != "" || len(s.Active) != 0 {
		t.Errorf("snapshot %+v", s)
	}
}

func TestFetchFaultOfAFixedCall(t *testing.T) {
	a := kojigoAnswers()
	a["listHosts"] = &kojiclient.Fault{Code: 1014, String: "server is offline"}
	h := &Hub{Calls: &fakeCaller{answers: a}}
	h.Probe(context.Background())
	_, err := h.Fetch(context.Background())
	var f *kojiclient.Fault
	if !errors.As(err, &f) || f.Code != 1014 || !strings.Contains(err.Error(), "listHosts") {
		t.Errorf("Fetch = %v, want the listHosts fault", err)
	}
}

func TestRequestLabel(t *testing.T) {
	for _, c := range []struct {
		method string
		req    any
		want   string
	}{
		{"build", []any{"cli-build/1/hello-1.0-1.src.rpm", "f40-candidate", map[string]any{}}, "f40-candidate, hello-1.0-1.src.rpm"},
		{"build", []any{"git+https://src.example.org/rpms/hello.git#abc"}, "hello.git#abc"},
		{"buildArch", []any{"tasks/3/3/hello-1.0-1.src.rpm", int64(2), "x86_64"}, "hello-1.0-1.src.rpm"},
		{"newRepo", []any{"f40-build"}, "f40-build"},
		{"newRepo", []any{map[string]any{"id": int64(2), "name": "f40-build"}, map[string]any{"__starstar": true}}, "f40-build"},
		{"createrepo", []any{int64(7), "x86_64", nil}, "repo 7 x86_64"},
		{"tagBuild", []any{int64(1), int64(2)}, "tag 1, build 2"},
		{"build", nil, ""},
		{"build", "not a list", ""},
		{"whatever", []any{map[string]any{}}, ""},
	} {
		if got := requestLabel(c.method, c.req); got != c.want {
			t.Errorf("requestLabel(%q, %v) = %q, want %q", c.method, c.req, got, c.want)
		}
	}
}

func TestFormatCall(t *testing.T) {
	got := formatCall("build", []any{"a.src.rpm", "tgt", map[string]any{"__starstar": true, "opts": map[string]any{"scratch": true}}})
	if want := `build("a.src.rpm", "tgt", opts={"scratch": True})`; got != want {
		t.Errorf("formatCall = %s, want %s", got, want)
	}
	long := formatValue(strings.Repeat("x", 5000), 100)
	if len(long) > 110 || !strings.HasSuffix(long, "…") {
		t.Errorf("long value not cut: %d bytes", len(long))
	}
}

func TestParseOutput(t *testing.T) {
	got := parseOutput(map[string]any{
		"build.log": map[string]any{"st_size": "1234"},
		"root.log":  map[string]any{"DEFAULT": map[string]any{"st_size": int64(99)}},
		"x.rpm":     nil,
	})
	if len(got) != 3 || got[0].Name != "build.log" || got[0].Size != 1234 || got[1].Size != 99 || got[2].Size != -1 {
		t.Errorf("parseOutput = %+v", got)
	}
	if got := parseOutput([]any{"a.log", int64(3)}); len(got) != 1 {
		t.Errorf("plain list: %+v", got)
	}
}

func TestSetHostsEnabledReportsPerHost(t *testing.T) {
	a := kojigoAnswers()
	fc := &fakeCaller{answers: a}
	a["disableHost"] = nil
	a["editHost"] = &kojiclient.Fault{Code: 1004, String: "host permission required"}
	h := &Hub{Calls: fc}
	errs, err := h.SetHostsEnabled(context.Background(), []string{"b1", "b2"}, false, "why")
	if err != nil || len(errs) != 2 || errs[0] == nil || errs[1] == nil {
		t.Errorf("SetHostsEnabled = %v, %v", errs, err)
	}
	if fc.requests != 1 {
		t.Errorf("%d requests, want one multicall", fc.requests)
	}
	errs, _ = h.SetHostsEnabled(context.Background(), []string{"b1"}, false, "")
	if errs[0] != nil {
		t.Errorf("without a comment no editHost is sent: %v", errs)
	}
}

// repoAnswers is a kojigo hub in the middle of making repo 12 of
// f40-build: newRepo task 20 is OPEN, its createrepo tasks 21 (x86_64)
// and 22 (aarch64) report their packages.
func repoAnswers() map[string]any {
	a := kojigoAnswers()
	a["system.listMethods"] = append(a["system.listMethods"].([]any), "kojigo.getRepoProgress", "scheduler.getLogMessages")
	a["getTaskInfo"] = map[string]any{"id": int64(20), "state": int64(Open), "method": "newRepo", "arch": "noarch",
		"request": []any{"f40-build"}, "create_ts": 1.7e9}
	a["getTaskResult"] = &kojiclient.Fault{Code: 1000, String: "Task 20 is not finished"}
	a["getTaskChildren"] = []any{}
	a["listTaskOutput"] = map[string]any{}
	a["scheduler.getLogMessages"] = []any{}
	a["kojigo.getRepoProgress"] = map[string]any{"repo_id": int64(12), "done": int64(5996), "total": int64(11757), "update_ts": 1.7e9,
		"tasks": []any{
			map[string]any{"task_id": int64(21), "parent": int64(20), "repo_id": int64(12), "arch": "x86_64", "done": int64(3000), "total": int64(5900), "update_ts": 1.7e9},
			map[string]any{"task_id": int64(22), "parent": int64(20), "repo_id": int64(12), "arch": "aarch64", "done": int64(2996), "total": int64(5857), "update_ts": 1.7e9 - 1},
		}}
	return a
}

func probed(t testing.TB, a map[string]any) (*Hub, *fakeCaller) {
	t.Helper()
	fc := &fakeCaller{answers: a}
	h := &Hub{Calls: fc}
	if _, err := h.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	fc.requests, fc.calls, fc.specs = 0, nil, nil
	return h, fc
}

func (f *fakeCaller) asked(method string) bool {
	for _, c := range f.calls {
		if strings.TrimPrefix(c, "mc:") == method {
			return true
		}
	}
	return false
}

func TestTaskDetailRepoProgress(t *testing.T) {
	h, fc := probed(t, repoAnswers())
	d, err := h.TaskDetail(context.Background(), Task{ID: 20, Method: "newRepo", State: Open}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fc.requests != 1 {
		t.Errorf("TaskDetail took %d requests, want the progress in its one multicall", fc.requests)
	}
	for _, c := range fc.specs {
		if c.Method == string(PartRepoProgress) {
			if kw, ok := c.Args[0].(kojiclient.Kw); !ok || kw["task_id"] != int64(20) || len(c.Args) != 1 {
				t.Errorf("getRepoProgress args %#v, want task_id=20", c.Args)
			}
		}
	}
	p := d.Progress
	if !d.ProgressAsked || p == nil {
		t.Fatalf("progress %+v asked %v", p, d.ProgressAsked)
	}
	if p.RepoID != 12 || p.Done != 5996 || p.Total != 11757 || !p.At.Equal(time.Unix(1.7e9, 0)) {
		t.Errorf("progress = %+v", p)
	}
	if f := p.Fraction(); f < 0.509 || f > 0.511 {
		t.Errorf("Fraction = %v", f)
	}
	if len(p.Arches) != 2 || p.Arches[0].Arch != "aarch64" || p.Arches[0].TaskID != 22 || p.Arches[1].Done != 3000 || p.Arches[1].Total != 5900 {
		t.Errorf("arches (by arch) = %+v", p.Arches)
	}

	// Asked for each repo task not finished, never for other tasks or
	// finished ones.
	for _, c := range []struct {
		task Task
		want bool
	}{
		{Task{ID: 21, Method: "createrepo", State: Open}, true},
		{Task{ID: 20, Method: "newRepo", State: Free}, true},
		{Task{ID: 20, Method: "newRepo", State: Closed}, false},
		{Task{ID: 20, Method: "newRepo", State: Failed}, false},
		{Task{ID: 5, Method: "buildArch", State: Open}, false},
		{Task{ID: 20}, false}, // method unknown (kojitop :log 20)
	} {
		fc.calls = nil
		if _, err := h.TaskDetail(context.Background(), c.task, nil); err != nil {
			t.Fatal(err)
		}
		if got := fc.asked(string(PartRepoProgress)); got != c.want {
			t.Errorf("TaskDetail(%+v) asked for progress %v, want %v", c.task, got, c.want)
		}
	}
}

func TestTaskDetailRepoProgressNoneOrFinished(t *testing.T) {
	// No report yet: asked, none.
	a := repoAnswers()
	a["kojigo.getRepoProgress"] = nil
	h, _ := probed(t, a)
	d, err := h.TaskDetail(context.Background(), Task{ID: 20, Method: "newRepo", State: Open}, nil)
	if err != nil || !d.ProgressAsked || d.Progress != nil {
		t.Errorf("no report: %+v, %v", d, err)
	}
	// The list said open, the task has closed since: no progress.
	a = repoAnswers()
	a["getTaskInfo"].(map[string]any)["state"] = int64(Closed)
	h, _ = probed(t, a)
	d, err = h.TaskDetail(context.Background(), Task{ID: 20, Method: "newRepo", State: Open}, nil)
	if err != nil || d.ProgressAsked || d.Progress != nil {
		t.Errorf("finished since: asked %v progress %+v, %v", d.ProgressAsked, d.Progress, err)
	}
}

func TestTaskDetailRepoProgressStockHub(t *testing.T) {
	// A stock Koji hub: listMethods lacks the method, it is not called.
	a := repoAnswers()
	a["system.listMethods"] = []any{"getTaskInfo", "listTasks"}
	delete(a, "kojigo.getRepoProgress")
	h, fc := probed(t, a)
	d, err := h.TaskDetail(context.Background(), Task{ID: 20, Method: "newRepo", State: Open}, nil)
	if err != nil || d.ProgressAsked || d.Progress != nil {
		t.Errorf("stock hub: asked %v progress %+v, %v", d.ProgressAsked, d.Progress, err)
	}
	for _, c := range fc.calls {
		if strings.Contains(c, "kojigo.") {
			t.Errorf("called %s on a hub without it", c)
		}
	}
	// A hub whose method list is unknown is asked, and answers Koji's
	// fault "Invalid method" in place: no progress, no error.
	h.methods = nil
	d, err = h.TaskDetail(context.Background(), Task{ID: 20, Method: "newRepo", State: Open}, nil)
	if err != nil || d.ProgressAsked || d.Progress != nil || d.Task.ID != 20 {
		t.Errorf("Invalid method fault: asked %v progress %+v, %v", d.ProgressAsked, d.Progress, err)
	}
	if !fc.asked(string(PartRepoProgress)) {
		t.Errorf("a hub with unknown methods was not asked")
	}
}

func TestTaskDetailRepoProgressHostileAnswers(t *testing.T) {
	// Wrong types everywhere: nothing panics, counts are never negative
	// and the fraction stays within 0..1.
	for _, v := range []any{
		"nope", int64(3), []any{int64(1)}, true,
		map[string]any{},
		map[string]any{"repo_id": "x", "done": "many", "total": map[string]any{}, "tasks": "zz", "update_ts": "now"},
		map[string]any{"done": int64(-5), "total": int64(-1), "tasks": []any{nil, "x", int64(2), map[string]any{"arch": int64(1), "done": 1.5e300, "total": -3.0}}},
		map[string]any{"done": int64(50), "total": int64(10)},
		map[string]any{"done": nil, "total": nil, "tasks": []any{map[string]any{"arch": "x86_64", "done": int64(2), "total": int64(4), "repo_id": int64(9)}}},
		map[string]any{"done": 3.0, "total": 0.0},
	} {
		a := repoAnswers()
		a["kojigo.getRepoProgress"] = v
		h, _ := probed(t, a)
		d, err := h.TaskDetail(context.Background(), Task{ID: 20, Method: "newRepo", State: Open}, nil)
		if err != nil {
			t.Fatalf("answer %#v: %v", v, err)
		}
		p := d.Progress
		if p == nil {
			if _, isMap := v.(map[string]any); isMap {
				t.Errorf("answer %#v: no progress from a struct", v)
			}
			continue
		}
		if p.Done < 0 || p.Total < 0 || p.Fraction() < 0 || p.Fraction() > 1 {
			t.Errorf("answer %#v: progress %+v, fraction %v", v, p, p.Fraction())
		}
		for _, ar := range p.Arches {
			if ar.Done < 0 || ar.Total < 0 || ar.Fraction() < 0 || ar.Fraction() > 1 {
				t.Errorf("answer %#v: arch %+v", v, ar)
			}
		}
	}
	// Sums missing: the arches' are used, and the repo id from them.
	a := repoAnswers()
	a["kojigo.getRepoProgress"] = map[string]any{"tasks": []any{map[string]any{"arch": "x86_64", "done": int64(2), "total": int64(4), "repo_id": int64(9)}}}
	h, _ := probed(t, a)
	d, _ := h.TaskDetail(context.Background(), Task{ID: 20, Method: "newRepo", State: Open}, nil)
	if p := d.Progress; p == nil || p.Done != 2 || p.Total != 4 || p.RepoID != 9 {
		t.Errorf("progress from the arches = %+v", p)
	}
}
