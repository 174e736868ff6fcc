package farm

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"kojigo/internal/kojiclient"
)

// Caller is the part of kojiclient.Client the console uses.
type Caller interface {
	Call(ctx context.Context, method string, args ...any) (any, error)
	MultiCall(ctx context.Context, calls []kojiclient.CallSpec) ([]kojiclient.Result, error)
}

// Limits bound what one refresh reads, so its cost does not grow with the
// farm: the hub is asked for at most this many rows.
type Limits struct {
	// Active is the most FREE, ASSIGNED and OPEN tasks read. Zero: 1000.
	Active int
	// Recent is the most finished tasks read. Zero: 200.
	Recent int
	// RecentAge is how far back finished tasks are read. Zero: 1 h.
	RecentAge time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.Active <= 0 {
		l.Active = 1000
	}
	if l.Recent <= 0 {
		l.Recent = 200
	}
	if l.RecentAge <= 0 {
		l.RecentAge = time.Hour
	}
	return l
}

// Hub reads the farm from one hub. Calls is the session that reads and acts
// (logged in or not); Watch, when set, is a second, anonymous connection for
// the change long-poll, so a waiting poll never holds up the session's
// calls (a logged-in client sends its calls one at a time).
type Hub struct {
	Calls  Caller
	Watch  Caller
	Limits Limits
	// Now is the clock; nil: time.Now.
	Now func() time.Time

	methods map[string]bool // system.listMethods; nil: unknown
	version string
}

// Version is the hub's Koji version, read by Probe.
func (h *Hub) Version() string { return h.version }

// HasMethod reports whether the hub answers method (from system.listMethods;
// true when the hub did not say, so the call itself finds out).
func (h *Hub) HasMethod(method string) bool {
	if h.methods == nil {
		return true
	}
	return h.methods[method]
}

// Kojigo reports whether the hub is kojigo's (has its extensions).
func (h *Hub) Kojigo() bool { return h.methods != nil && h.methods[string(PartHealth)] }

func (h *Hub) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Probe asks the hub which methods it has, its version and who we are. A
// hub without system.listMethods is taken to have Koji's methods only.
func (h *Hub) Probe(ctx context.Context) (Me, error) {
	res, err := h.Calls.MultiCall(ctx, []kojiclient.CallSpec{
		{Method: "system.listMethods"},
		{Method: "getKojiVersion"},
		{Method: "getLoggedInUser"},
		{Method: "getPerms"},
	})
	if err != nil {
		return Me{}, err
	}
	if res[0].Fault == nil {
		h.methods = map[string]bool{}
		for _, m := range strs(res[0].Value) {
			h.methods[m] = true
		}
	} else {
		h.methods = map[string]bool{}
	}
	if v, ok := res[1].Value.(string); ok {
		h.version = v
	}
	me := Me{Anonymous: true}
	if u, ok := res[2].Value.(map[string]any); ok && res[2].Fault == nil {
		me = Me{Name: str(u, "name"), ID: integer(u, "id")}
	}
	if res[3].Fault == nil && !me.Anonymous {
		me.Perms = strs(res[3].Value)
		for _, p := range me.Perms {
			me.Admin = me.Admin || p == "admin"
			me.HostPerm = me.HostPerm || p == "host"
		}
		me.HostPerm = me.HostPerm || me.Admin
	}
	return me, nil
}

// Fetch reads one snapshot of the farm in one multicall.
func (h *Hub) Fetch(ctx context.Context) (*Snapshot, error) {
	lim := h.Limits.withDefaults()
	now := h.now()
	since := float64(now.Add(-lim.RecentAge).Unix())
	hourAgo := float64(now.Add(-time.Hour).Unix())
	active := []any{int64(Free), int64(Assigned), int64(Open)}
	done := []any{int64(Closed), int64(Canceled), int64(Failed)}
	calls := []kojiclient.CallSpec{
		{Method: "listHosts"},
		{Method: "listTasks", Args: []any{kojiclient.Kw{"opts": map[string]any{"state": active, "decode": true},
			"queryOpts": map[string]any{"order": "id", "limit": int64(lim.Active)}}}},
		{Method: "listTasks", Args: []any{kojiclient.Kw{"opts": map[string]any{"state": done, "completeAfter": since, "decode": true},
			"queryOpts": map[string]any{"order": "-completion_ts", "limit": int64(lim.Recent)}}}},
		{Method: "listTasks", Args: []any{kojiclient.Kw{"opts": map[string]any{"state": []any{int64(Free)}},
			"queryOpts": map[string]any{"countOnly": true}}}},
		{Method: "listTasks", Args: []any{kojiclient.Kw{"opts": map[string]any{"state": []any{int64(Assigned), int64(Open)}},
			"queryOpts": map[string]any{"countOnly": true}}}},
		{Method: "listTasks", Args: []any{kojiclient.Kw{"opts": map[string]any{"state": []any{int64(Failed)}, "completeAfter": hourAgo},
			"queryOpts": map[string]any{"countOnly": true}}}},
	}
	const fixed = 6
	optional := []Part{PartHealth, PartReasons, PartTLS}
	var asked []Part
	missing := map[Part]string{}
	for _, p := range optional {
		if !h.HasMethod(string(p)) {
			missing[p] = "not on this hub"
			continue
		}
		asked = append(asked, p)
		switch p {
		case PartHealth, PartTLS:
			calls = append(calls, kojiclient.CallSpec{Method: string(p)})
		case PartReasons:
			calls = append(calls, kojiclient.CallSpec{Method: string(p), Args: []any{int64(lim.Active)}})
		}
	}
	res, err := h.Calls.MultiCall(ctx, calls)
	if err != nil {
		return nil, err
	}
	for i := 0; i < fixed; i++ {
		if res[i].Fault != nil {
			return nil, fmt.Errorf("%s: %w", calls[i].Method, res[i].Fault)
		}
	}
	s := &Snapshot{At: now, Missing: missing}
	s.Hosts = parseHosts(res[0].Value)
	names := make(map[int64]string, len(s.Hosts))
	for _, ho := range s.Hosts {
		names[ho.ID] = ho.Name
	}
	s.Active = parseTasks(res[1].Value, names)
	s.Recent = parseTasks(res[2].Value, names)
	s.Free = int(integer(map[string]any{"n": res[3].Value}, "n"))
	s.Open = int(integer(map[string]any{"n": res[4].Value}, "n"))
	s.ActiveTotal = s.Free + s.Open
	s.FailedLastHour = int(integer(map[string]any{"n": res[5].Value}, "n"))
	for i, p := range asked {
		r := res[fixed+i]
		if r.Fault != nil {
			missing[p] = r.Fault.String
			continue
		}
		switch p {
		case PartHealth:
			if !mergeHealth(s.Hosts, r.Value) {
				missing[PartChannels] = "not on this hub"
			}
		case PartReasons:
			mergeReasons(s.Active, r.Value)
		case PartTLS:
			s.TLS = parseTLS(r.Value)
		}
	}
	if _, ok := missing[PartHealth]; ok {
		missing[PartChannels] = missing[PartHealth]
	}
	return s, nil
}

func parseHosts(v any) []Host {
	ms := maps(v)
	out := make([]Host, 0, len(ms))
	for _, m := range ms {
		h := Host{
			ID: integer(m, "id"), Name: str(m, "name"), Enabled: boolean(m, "enabled"), Ready: boolean(m, "ready"),
			TaskLoad: flt(m, "task_load"), Capacity: flt(m, "capacity"), Comment: str(m, "comment"),
			Description: str(m, "description"), Update: tsTime(flt(m, "update_ts")),
			Arches: strings.Fields(str(m, "arches")),
		}
		out = append(out, h)
	}
	return out
}

// mergeHealth adds kojigo.listHostHealth's data to the hosts; it reports
// whether the hub sent channels.
func mergeHealth(hosts []Host, v any) (channels bool) {
	byID := make(map[int64]*Host, len(hosts))
	for i := range hosts {
		byID[hosts[i].ID] = &hosts[i]
	}
	for _, m := range maps(v) {
		h := byID[integer(m, "host_id")]
		if h == nil {
			continue
		}
		if c, ok := m["channels"]; ok {
			channels = true
			h.Channels = strs(c)
		}
		if d, ok := m["data"].(map[string]any); ok {
			h.Health = parseHealth(d, flt(m, "data_ts"))
		}
	}
	return channels
}

func parseHealth(d map[string]any, at float64) *Health {
	h := &Health{
		At:       tsTime(at),
		MemTotal: integer(d, "mem_total"), MemAvailable: integer(d, "mem_available"),
		CPUs: int(integer(d, "cpus")), Jobs: int(integer(d, "jobs")), MaxJobs: int(integer(d, "maxjobs")),
		NotReady: strs(d["not_ready_reasons"]), Version: str(d, "version"),
		Disks: parseDisks(d["disk"]),
	}
	if h.At.IsZero() {
		h.At = tsTime(flt(d, "probe_ts"))
	}
	if _, ok := d["load1"]; ok {
		h.Load1, h.HasLoad = flt(d, "load1"), true
	}
	if n, ok := optInt(d, "cert_not_after"); ok && n > 0 {
		h.CertNotAfter = time.Unix(n, 0)
	}
	if tools, ok := d["tools"].(map[string]any); ok {
		for name, found := range tools {
			if b, _ := found.(bool); !b {
				h.MissingTools = append(h.MissingTools, name)
			}
		}
		sort.Strings(h.MissingTools)
	}
	return h
}

func parseDisks(v any) []Disk {
	ms := maps(v)
	out := make([]Disk, 0, len(ms))
	for _, m := range ms {
		d := Disk{Role: str(m, "role"), Path: str(m, "path"), Mount: str(m, "mount"),
			Free: integer(m, "free"), Total: integer(m, "total"), Err: str(m, "error")}
		if d.Err == "" {
			d.Err = str(m, "write_error")
		}
		out = append(out, d)
	}
	return out
}

func parseTasks(v any, hosts map[int64]string) []Task {
	ms := maps(v)
	out := make([]Task, 0, len(ms))
	for _, m := range ms {
		out = append(out, parseTask(m, hosts))
	}
	return out
}

func parseTask(m map[string]any, hosts map[int64]string) Task {
	t := Task{
		ID: integer(m, "id"), Parent: integer(m, "parent"), State: int(integer(m, "state")),
		Method: str(m, "method"), Arch: str(m, "arch"), Owner: str(m, "owner_name"),
		HostID: integer(m, "host_id"), Channel: integer(m, "channel_id"), Priority: int(integer(m, "priority")),
		Weight: flt(m, "weight"), Created: tsTime(flt(m, "create_ts")), Started: tsTime(flt(m, "start_ts")),
		Finished: tsTime(flt(m, "completion_ts")),
	}
	if t.Owner == "" {
		if n := integer(m, "owner"); n != 0 {
			t.Owner = fmt.Sprintf("user %d", n)
		}
	}
	if t.HostID != 0 {
		t.Host = hosts[t.HostID]
		if t.Host == "" {
			t.Host = fmt.Sprintf("host %d", t.HostID)
		}
	}
	// Koji's label column is a subtask's name within its parent ("x86_64",
	// "tag"); what the task works on comes from its request.
	t.Label = requestLabel(t.Method, m["request"])
	if t.Label == "" {
		t.Label = str(m, "label")
	}
	return t
}

// requestLabel names what a task works on from its decoded request, as
// Koji's taskLabel does for the common methods: the source of a build, the
// SRPM of a buildArch, the tag of a newRepo.
func requestLabel(method string, req any) string {
	args, _ := req.([]any)
	if len(args) == 0 {
		return ""
	}
	first := func() string {
		switch x := args[0].(type) {
		case string:
			return lastPathPart(x)
		case int64:
			return fmt.Sprint(x)
		case map[string]any: // a tag as {id, name} (repo.checkQueue's newRepo)
			return str(x, "name")
		}
		return ""
	}
	switch method {
	case "createrepo": // [repo_id, arch, oldrepo]
		if len(args) > 1 {
			return fmt.Sprintf("repo %v %v", args[0], args[1])
		}
	case "build", "buildSRPMFromSCM", "buildArch", "rebuildSRPM", "buildNotification", "newRepo":
		s := first()
		if method == "build" && len(args) > 1 {
			if target, ok := args[1].(string); ok && target != "" {
				return target + ", " + s
			}
		}
		return s
	case "tagBuild":
		if len(args) > 1 {
			return fmt.Sprintf("tag %v, build %v", args[0], args[1])
		}
	}
	return first()
}

func lastPathPart(s string) string {
	s = strings.TrimRight(s, "/")
	if i := strings.LastIndexAny(s, "/"); i >= 0 && i < len(s)-1 && !strings.Contains(s, "://") {
		return s[i+1:]
	}
	if strings.Contains(s, "://") {
		if i := strings.LastIndex(s, "/"); i >= 0 {
			return s[i+1:]
		}
	}
	return s
}

func mergeReasons(tasks []Task, v any) {
	reasons := map[int64]string{}
	for _, m := range maps(v) {
		if r := str(m, "reason"); r != "" {
			reasons[integer(m, "id")] = r
		}
	}
	for i := range tasks {
		if r, ok := reasons[tasks[i].ID]; ok && tasks[i].State == Free {
			tasks[i].WaitReason = r
		}
	}
}

func parseTLS(v any) []TLSFailure {
	ms := maps(v)
	out := make([]TLSFailure, 0, len(ms))
	for _, m := range ms {
		out = append(out, TLSFailure{
			At: tsTime(flt(m, "ts")), Peer: str(m, "peer"), Problem: str(m, "problem"), Message: str(m, "message"),
			Subject: str(m, "subject"), CommonName: str(m, "common_name"), NotAfter: tsTime(flt(m, "not_after_ts")),
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out
}

// IsInvalidMethod reports whether err is the hub's "no such method" fault:
// Koji answers GenericError 1000 "Invalid method: NAME" (the only way to
// tell, as Koji's own CLI does).
func IsInvalidMethod(err error) bool {
	var f *kojiclient.Fault
	return errors.As(err, &f) && f.Code == 1000 && strings.HasPrefix(f.String, "Invalid method")
}
