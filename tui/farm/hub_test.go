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
