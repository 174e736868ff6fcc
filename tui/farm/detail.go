package farm

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"

	"kojigo/internal/kojiclient"
)

// HostDetail reads what the detail pane shows of one host, in one
// multicall: its health history, channels, running tasks, and the
// scheduler's refusals and messages about it.
func (h *Hub) HostDetail(ctx context.Context, host Host, hostNames map[int64]string) (*HostDetail, error) {
	calls := []kojiclient.CallSpec{
		{Method: "listChannels", Args: []any{kojiclient.Kw{"hostID": host.ID}}},
		{Method: "listTasks", Args: []any{kojiclient.Kw{"opts": map[string]any{"host_id": []any{host.ID}, "state": []any{int64(Assigned), int64(Open)}, "decode": true},
			"queryOpts": map[string]any{"order": "id", "limit": int64(100)}}}},
	}
	type opt struct {
		part Part
		spec kojiclient.CallSpec
	}
	clause := []any{[]any{"host_id", "=", host.ID}}
	opts := []opt{
		{"kojigo.getHostHealthHistory", kojiclient.CallSpec{Method: "kojigo.getHostHealthHistory", Args: []any{host.ID, int64(120)}}},
		{"scheduler.getTaskRefusals", kojiclient.CallSpec{Method: "scheduler.getTaskRefusals", Args: []any{clause}}},
		{"scheduler.getLogMessages", kojiclient.CallSpec{Method: "scheduler.getLogMessages", Args: []any{clause, nil, map[string]any{"order": "-id", "limit": int64(20)}}}},
	}
	d := &HostDetail{HostID: host.ID, At: h.now(), Missing: map[Part]string{}}
	var asked []Part
	for _, o := range opts {
		if !h.HasMethod(string(o.part)) {
			d.Missing[o.part] = "not on this hub"
			continue
		}
		asked = append(asked, o.part)
		calls = append(calls, o.spec)
	}
	res, err := h.Calls.MultiCall(ctx, calls)
	if err != nil {
		return nil, err
	}
	if res[0].Fault == nil {
		for _, m := range maps(res[0].Value) {
			d.Channels = append(d.Channels, Channel{ID: integer(m, "id"), Name: str(m, "name"), Enabled: m["enabled"] == nil || boolean(m, "enabled")})
		}
		sort.Slice(d.Channels, func(i, j int) bool { return d.Channels[i].Name < d.Channels[j].Name })
	}
	if res[1].Fault == nil {
		d.Tasks = parseTasks(res[1].Value, hostNames)
	}
	for i, p := range asked {
		r := res[2+i]
		if r.Fault != nil {
			d.Missing[p] = r.Fault.String
			continue
		}
		switch p {
		case "kojigo.getHostHealthHistory":
			for _, m := range maps(r.Value) {
				s := HealthSample{At: tsTime(flt(m, "ts")), Ready: boolean(m, "ready"), TaskLoad: flt(m, "task_load")}
				if data, ok := m["data"].(map[string]any); ok {
					s.Disks = parseDisks(data["disk"])
					s.MemAvail, s.MemTotal = integer(data, "mem_available"), integer(data, "mem_total")
				}
				d.History = append(d.History, s)
			}
		case "scheduler.getTaskRefusals":
			for _, m := range maps(r.Value) {
				d.Refusals = append(d.Refusals, Refusal{At: tsTime(flt(m, "ts")), TaskID: integer(m, "task_id"), Soft: boolean(m, "soft"), Msg: str(m, "msg")})
			}
			sort.Slice(d.Refusals, func(i, j int) bool { return d.Refusals[i].At.After(d.Refusals[j].At) })
			if len(d.Refusals) > 20 {
				d.Refusals = d.Refusals[:20]
			}
		case "scheduler.getLogMessages":
			for _, m := range maps(r.Value) {
				d.Messages = append(d.Messages, LogMessage{At: tsTime(flt(m, "msg_ts")), TaskID: integer(m, "task_id"), Msg: str(m, "msg")})
			}
		}
	}
	return d, nil
}

// TaskDetail reads one task with its request, result or fault, children,
// output files and, on kojigo's hub, the scheduler's messages about it and,
// for a repo task that is not finished, how far the repo is made. t is the
// task as the list shows it: its ID is read; its Method and State decide
// whether the progress is asked for (in the same multicall).
func (h *Hub) TaskDetail(ctx context.Context, t Task, hostNames map[int64]string) (*TaskDetail, error) {
	id := t.ID
	calls := []kojiclient.CallSpec{
		{Method: "getTaskInfo", Args: []any{id, kojiclient.Kw{"request": true, "strict": true}}},
		{Method: "getTaskResult", Args: []any{id}},
		{Method: "getTaskChildren", Args: []any{id, kojiclient.Kw{"request": true}}},
		{Method: "listTaskOutput", Args: []any{id, kojiclient.Kw{"stat": true}}},
	}
	logAt, progressAt := -1, -1
	if h.HasMethod("scheduler.getLogMessages") {
		logAt = len(calls)
		calls = append(calls, kojiclient.CallSpec{Method: "scheduler.getLogMessages",
			Args: []any{[]any{[]any{"task_id", "=", id}}, nil, map[string]any{"order": "-id", "limit": int64(20)}}})
	}
	if IsRepoTask(t.Method) && !Finished(t.State) && h.HasMethod(string(PartRepoProgress)) {
		progressAt = len(calls)
		calls = append(calls, kojiclient.CallSpec{Method: string(PartRepoProgress), Args: []any{kojiclient.Kw{"task_id": id}}})
	}
	res, err := h.Calls.MultiCall(ctx, calls)
	if err != nil {
		return nil, err
	}
	if len(res) != len(calls) {
		return nil, fmt.Errorf("task %d: the hub answered %d of %d calls", id, len(res), len(calls))
	}
	if res[0].Fault != nil {
		return nil, res[0].Fault
	}
	info, _ := res[0].Value.(map[string]any)
	if info == nil {
		return nil, fmt.Errorf("task %d: no such task", id)
	}
	d := &TaskDetail{Task: parseTask(info, hostNames)}
	d.Request = formatCall(d.Task.Method, info["request"])
	switch {
	case res[1].Fault != nil && Finished(d.Task.State):
		d.Result = faultWords(res[1].Fault)
	case res[1].Fault == nil && Finished(d.Task.State):
		d.Result = formatValue(res[1].Value, 600)
	}
	if res[2].Fault == nil {
		d.Children = parseTasks(res[2].Value, hostNames)
	}
	if res[3].Fault == nil {
		d.Output = parseOutput(res[3].Value)
	}
	if logAt >= 0 && res[logAt].Fault == nil {
		for _, m := range maps(res[logAt].Value) {
			d.Messages = append(d.Messages, LogMessage{At: tsTime(flt(m, "msg_ts")), TaskID: id, Msg: str(m, "msg")})
		}
	}
	// A fault (a hub whose method list was unknown and that has no such
	// method) shows as no progress; so does a task that has finished since
	// the list was read.
	if progressAt >= 0 && res[progressAt].Fault == nil && !Finished(d.Task.State) {
		d.ProgressAsked = true
		d.Progress = parseRepoProgress(res[progressAt].Value)
	}
	return d, nil
}

// parseRepoProgress reads kojigo.getRepoProgress's answer: None, or
// {repo_id, done, total, update_ts, tasks: [{task_id, arch, done, total,
// update_ts}, ...]}. Counts below zero read as zero; when the sums are
// missing, the arches' are used.
func parseRepoProgress(v any) *RepoProgress {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	p := &RepoProgress{RepoID: integer(m, "repo_id"), At: tsTime(flt(m, "update_ts"))}
	var done, total int64
	for _, e := range maps(m["tasks"]) {
		a := ArchProgress{TaskID: integer(e, "task_id"), Arch: str(e, "arch"),
			Done: max(integer(e, "done"), 0), Total: max(integer(e, "total"), 0), At: tsTime(flt(e, "update_ts"))}
		p.Arches = append(p.Arches, a)
		done += a.Done
		total += a.Total
		if p.RepoID == 0 {
			p.RepoID = integer(e, "repo_id")
		}
	}
	sort.SliceStable(p.Arches, func(i, j int) bool {
		if p.Arches[i].Arch != p.Arches[j].Arch {
			return p.Arches[i].Arch < p.Arches[j].Arch
		}
		return p.Arches[i].TaskID < p.Arches[j].TaskID
	})
	d, okd := optInt(m, "done")
	t, okt := optInt(m, "total")
	if okd && okt {
		p.Done, p.Total = max(d, 0), max(t, 0)
	} else {
		p.Done, p.Total = done, total
	}
	return p
}

func parseOutput(v any) []OutputFile {
	var out []OutputFile
	switch x := v.(type) {
	case map[string]any:
		for name, st := range x {
			f := OutputFile{Name: name, Size: -1}
			if m, ok := st.(map[string]any); ok {
				if _, has := m["st_size"]; has {
					f.Size = integer(m, "st_size")
				} else if dv, ok := m["DEFAULT"].(map[string]any); ok {
					f.Size = integer(dv, "st_size")
				}
			}
			out = append(out, f)
		}
	case []any:
		for _, n := range strs(x) {
			out = append(out, OutputFile{Name: n, Size: -1})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// faultWords is a fault as an operator reads it: its class and message.
func faultWords(f *kojiclient.Fault) string {
	return fmt.Sprintf("%s: %s", FaultClass(f.Code), f.String)
}

// FaultClass is the name of Koji's exception for a fault code.
func FaultClass(code int) string {
	names := map[int]string{1000: "GenericError", 1001: "LockError", 1002: "AuthError", 1003: "TagError",
		1004: "ActionNotAllowed", 1005: "BuildError", 1006: "AuthLockError", 1007: "AuthExpired",
		1008: "SequenceError", 1009: "RetryError", 1010: "PreBuildError", 1011: "PostBuildError",
		1012: "BuildrootError", 1013: "FunctionDeprecated", 1014: "ServerOffline", 1019: "ParameterError"}
	if n, ok := names[code]; ok {
		return n
	}
	return fmt.Sprintf("Fault %d", code)
}

// formatCall prints a request as method(arg, arg, key=value).
func formatCall(method string, req any) string {
	args, _ := req.([]any)
	parts := make([]string, 0, len(args))
	for _, a := range args {
		if m, ok := a.(map[string]any); ok && boolean(m, "__starstar") {
			keys := make([]string, 0, len(m))
			for k := range m {
				if k != "__starstar" {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys {
				parts = append(parts, k+"="+formatValue(m[k], 200))
			}
			continue
		}
		parts = append(parts, formatValue(a, 200))
	}
	return method + "(" + strings.Join(parts, ", ") + ")"
}

// formatValue prints a value compactly, Python-like, cut at max bytes.
func formatValue(v any, max int) string {
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		if b.Len() > max {
			return
		}
		switch x := v.(type) {
		case nil:
			b.WriteString("None")
		case bool:
			if x {
				b.WriteString("True")
			} else {
				b.WriteString("False")
			}
		case string:
			fmt.Fprintf(&b, "%q", x)
		case []byte:
			fmt.Fprintf(&b, "<%d bytes>", len(x))
		case []any:
			b.WriteByte('[')
			for i, e := range x {
				if i > 0 {
					b.WriteString(", ")
				}
				walk(e)
			}
			b.WriteByte(']')
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			b.WriteByte('{')
			for i, k := range keys {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "%q: ", k)
				walk(x[k])
			}
			b.WriteByte('}')
		default:
			fmt.Fprint(&b, x)
		}
	}
	walk(v)
	s := b.String()
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// OutputFiles lists a task's output files with their sizes.
func (h *Hub) OutputFiles(ctx context.Context, taskID int64) ([]OutputFile, error) {
	v, err := h.Calls.Call(ctx, "listTaskOutput", taskID, kojiclient.Kw{"stat": true})
	if err != nil {
		return nil, err
	}
	return parseOutput(v), nil
}

// ReadOutput reads up to size bytes of a task's output file from offset.
func (h *Hub) ReadOutput(ctx context.Context, taskID int64, name string, offset, size int64) ([]byte, error) {
	v, err := h.Calls.Call(ctx, "downloadTaskOutput", taskID, name, kojiclient.Kw{"offset": offset, "size": size})
	if err != nil {
		return nil, err
	}
	switch b := v.(type) {
	case []byte:
		return b, nil
	case string: // Koji sends base64 in a <string>
		d, err := base64.StdEncoding.DecodeString(b)
		if err != nil {
			return nil, fmt.Errorf("downloadTaskOutput %d %s: the hub sent bad base64: %w", taskID, name, err)
		}
		return d, nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("downloadTaskOutput %d %s: the hub sent %T", taskID, name, v)
}

// LastFailedBuild finds the most recent failed build task's failed leaf:
// the buildArch (or other child) whose log holds the error, or the build
// task itself when no child failed. It returns ok false when no build failed.
func (h *Hub) LastFailedBuild(ctx context.Context, hostNames map[int64]string) (Task, bool, error) {
	v, err := h.Calls.Call(ctx, "listTasks", kojiclient.Kw{
		"opts":      map[string]any{"state": []any{int64(Failed)}, "parent": nil, "method": "build", "decode": true},
		"queryOpts": map[string]any{"order": "-completion_ts", "limit": int64(1)},
	})
	if err != nil {
		return Task{}, false, err
	}
	tops := parseTasks(v, hostNames)
	if len(tops) == 0 {
		return Task{}, false, nil
	}
	t := tops[0]
	for depth := 0; depth < 5; depth++ {
		cv, err := h.Calls.Call(ctx, "getTaskChildren", t.ID, kojiclient.Kw{"request": true})
		if err != nil {
			return t, true, nil
		}
		kids := parseTasks(cv, hostNames)
		var failed *Task
		for i := range kids {
			if kids[i].State == Failed && (failed == nil || kids[i].Finished.Before(failed.Finished)) {
				failed = &kids[i]
			}
		}
		if failed == nil {
			return t, true, nil
		}
		t = *failed
	}
	return t, true, nil
}

// TaskState reads a task's state.
func (h *Hub) TaskState(ctx context.Context, id int64) (int, error) {
	v, err := h.Calls.Call(ctx, "getTaskInfo", id, kojiclient.Kw{"strict": true})
	if err != nil {
		return 0, err
	}
	m, _ := v.(map[string]any)
	return int(integer(m, "state")), nil
}
