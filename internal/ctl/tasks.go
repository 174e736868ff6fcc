package ctl

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"kojigo/internal/kojiclient"
)

// Koji's task states, by number.
var taskStates = [...]string{"FREE", "OPEN", "CLOSED", "CANCELED", "ASSIGNED", "FAILED"}

const (
	stateFree     = 0
	stateOpen     = 1
	stateClosed   = 2
	stateCanceled = 3
	stateAssigned = 4
	stateFailed   = 5
)

func stateName(st int64) string {
	if st >= 0 && int(st) < len(taskStates) {
		return taskStates[st]
	}
	return "BADSTATE"
}

func stateDone(st int64) bool {
	return st == stateClosed || st == stateCanceled || st == stateFailed
}

// taskLabel is koji.taskLabel: the method and what it works on, from the
// task's decoded request when the answer has one.
func taskLabel(t map[string]any) string {
	method := clean(mstr(t, "method"))
	req, hasReq := t["request"].([]any)
	arg := func(i int) string {
		if i < len(req) {
			if m, ok := req[i].(map[string]any); ok {
				return clean(mstr(m, "name"))
			}
			return clean(mstr(map[string]any{"v": req[i]}, "v"))
		}
		return ""
	}
	extra := ""
	if hasReq {
		switch method {
		case "build", "maven":
			if len(req) >= 2 {
				src := arg(0)
				if strings.Contains(src, "://") {
					src = moduleInfo(src)
				} else {
					src = path.Base(src)
				}
				extra = arg(1) + ", " + src
			}
		case "buildSRPMFromSCM", "buildSRPMFromCVS":
			if len(req) >= 1 {
				extra = moduleInfo(arg(0))
			}
		case "buildArch":
			if len(req) >= 3 {
				extra = path.Base(arg(0)) + ", " + arg(2)
			}
		case "newRepo", "waitrepo":
			extra = arg(0)
		case "createrepo":
			extra = arg(1)
		case "chainbuild", "chainmaven":
			extra = arg(1)
		case "restart":
			extra = arg(0)
		case "restartVerify":
			extra = arg(1)
		}
	}
	if extra != "" {
		return method + " (" + extra + ")"
	}
	return method + " (" + clean(mstr(t, "arch")) + ")"
}

// moduleInfo is koji's _module_info of an SCM URL: "/repo:ref", with
// Python's slicing (a missing "#" or "?" behaves as it does in koji).
func moduleInfo(u string) string {
	module := ""
	if strings.Contains(u, "?") {
		module = pySlice(u, strings.Index(u, "?")+1, strings.Index(u, "#"))
	}
	repoStart := -1
	if from := strings.Index(u, "://") + 3; from <= len(u) {
		if j := strings.Index(u[from:], "/"); j >= 0 {
			repoStart = from + j
		}
	}
	repoEnd := strings.Index(u, "?")
	if repoEnd == -1 {
		repoEnd = strings.Index(u, "#")
	}
	repo := pySlice(u, repoStart, repoEnd)
	rev := pySlice(u, strings.Index(u, "#")+1, len(u))
	if module != "" {
		return repo + ":" + module + ":" + rev
	}
	return repo + ":" + rev
}

// pySlice is Python's s[a:b] for indexes in [-len, len].
func pySlice(s string, a, b int) string {
	fix := func(i int) int {
		if i < 0 {
			i += len(s)
		}
		return max(0, min(i, len(s)))
	}
	a, b = fix(a), fix(b)
	if a >= b {
		return ""
	}
	return s[a:b]
}

// runListTasks is koji list-tasks.
func runListTasks(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "list-tasks")
	var o clientOpts
	addClientFlags(fs, &o, false)
	mine := fs.Bool("mine", false, "only tasks of the logged-in user (logs in)")
	user := fs.String("user", "", "only tasks owned by `USER`")
	arch := fs.String("arch", "", "only tasks for these `ARCHES` (comma or space separated)")
	method := fs.String("method", "", "only tasks of this `METHOD` (build, buildArch, newRepo...)")
	channel := fs.String("channel", "", "only tasks in this `CHANNEL`")
	host := fs.String("host", "", "only tasks on this `HOST`")
	all := fs.Bool("all", false, "include finished tasks")
	quiet := fs.Bool("quiet", false, "do not print the header")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("list-tasks takes no arguments, got %q", clean(pos[0]))
	}
	if *mine && *user != "" {
		return usageErr("--mine and --user exclude each other")
	}
	for what, v := range map[string]string{"user": *user, "method": *method, "channel": *channel, "host": *host} {
		if v != "" {
			if err := checkNames(what, v); err != nil {
				return err
			}
		}
	}
	var arches string
	if *arch != "" {
		if arches, err = parseArches(*arch); err != nil {
			return err
		}
	}
	mode := anonymous
	if *mine {
		mode = authenticated
	}
	s, err := o.connect(ctx, env, mode)
	if err != nil {
		return err
	}
	defer s.close(ctx)

	opts := map[string]any{"decode": true}
	if !*all {
		opts["state"] = []any{int64(stateFree), int64(stateOpen), int64(stateAssigned)}
	}
	if *mine {
		u, err := s.c.GetLoggedInUser(ctx)
		if err != nil {
			return fmt.Errorf("getLoggedInUser: %w", err)
		}
		if u == nil {
			fmt.Fprintln(env.Stdout, "Unable to determine user")
			return exitError{1}
		}
		opts["owner"] = u.ID
	}
	lookups := []struct{ val, method, what, key string }{
		{*user, "getUser", "user", "owner"},
		{*channel, "getChannel", "channel", "channel_id"},
		{*host, "getHost", "host", "host_id"},
	}
	for _, l := range lookups {
		if l.val == "" {
			continue
		}
		v, err := s.call(ctx, l.method, l.val)
		if err != nil {
			return err
		}
		id, ok := mint(asMap(v), "id")
		if !ok {
			fmt.Fprintf(env.Stdout, "No such %s: %s\n", l.what, clean(l.val))
			return exitError{1}
		}
		opts[l.key] = id
	}
	if arches != "" {
		var l []any
		for _, a := range strings.Fields(arches) {
			l = append(l, a)
		}
		opts["arch"] = l
	}
	if *method != "" {
		opts["method"] = *method
	}
	v, err := s.call(ctx, "listTasks", opts, map[string]any{"order": "priority,create_time"})
	if err != nil {
		return err
	}
	tasks := asMaps(v)
	if len(tasks) == 0 {
		fmt.Fprintln(env.Stdout, "(no tasks)")
		return nil
	}
	// thread children under their parents
	byID := map[int64]map[string]any{}
	for _, t := range tasks {
		if id, ok := mint(t, "id"); ok {
			byID[id] = t
		}
	}
	children := map[int64][]map[string]any{}
	sub := map[int64]bool{}
	for _, t := range tasks {
		p, ok := mint(t, "parent")
		if !ok {
			continue
		}
		if _, has := byID[p]; has {
			id, _ := mint(t, "id")
			children[p] = append(children[p], t)
			sub[id] = true
		}
	}
	if !*quiet {
		fmt.Fprintln(env.Stdout, "ID       Pri  Owner                State    Arch       Name")
	}
	seen := map[int64]bool{}
	var print func(t map[string]any, depth int)
	print = func(t map[string]any, depth int) {
		id, _ := mint(t, "id")
		if seen[id] { // a cycle in a hostile answer
			return
		}
		seen[id] = true
		indent := ""
		if depth > 0 {
			indent = strings.Repeat("  ", depth-1) + " +"
		}
		st, _ := mint(t, "state")
		fmt.Fprintf(env.Stdout, "%-8s %-4s %-20s %-8s %-10s %s%s\n", mstr(t, "id"), mstr(t, "priority"),
			clean(mstr(t, "owner_name")), stateName(st), clean(mstr(t, "arch")), indent, taskLabel(t))
		for _, c := range children[id] {
			print(c, depth+1)
		}
	}
	for _, t := range tasks {
		id, _ := mint(t, "id")
		if !sub[id] {
			print(t, 0)
		}
	}
	return nil
}

// runTaskinfo is koji taskinfo.
func runTaskinfo(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "taskinfo")
	var o clientOpts
	addClientFlags(fs, &o, true)
	var verbose, recurse bool
	fs.BoolVar(&verbose, "v", false, "show the request parameters")
	fs.BoolVar(&verbose, "verbose", false, "show the request parameters")
	fs.BoolVar(&recurse, "r", false, "show the task's children too")
	fs.BoolVar(&recurse, "recurse", false, "show the task's children too")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageErr("You must specify at least one task ID")
	}
	ids := make([]int64, len(pos))
	for i, a := range pos {
		if ids[i], err = parseTaskID(a); err != nil {
			return err
		}
	}
	s, err := o.connect(ctx, env, anonymous)
	if err != nil {
		return err
	}
	defer s.close(ctx)
	ti := &taskInfoPrinter{s: s, verbose: verbose, recurse: recurse, seen: map[int64]bool{}}
	for i, id := range ids {
		if i > 0 {
			fmt.Fprintln(env.Stdout)
		}
		if err := ti.print(ctx, id, 0); err != nil {
			return err
		}
	}
	if ti.footnote {
		fmt.Fprintln(env.Stdout, "[1] Not all tasks produce outputs, and task outputs are not retained indefinitely.")
	}
	return nil
}

type taskInfoPrinter struct {
	s                *hubSession
	verbose, recurse bool
	footnote         bool
	noBuildroots     bool // the hub has no listBuildroots
	noBuilds         bool // the hub has no listBuilds
	seen             map[int64]bool
}

// asctime is Python's time.asctime: "Thu Nov 26 20:44:57 2026".
func asctime(ts float64, loc *time.Location) string {
	return time.Unix(int64(ts), 0).In(loc).Format("Mon Jan _2 15:04:05 2006")
}

func (p *taskInfoPrinter) print(ctx context.Context, id int64, level int) error {
	s, w := p.s, p.s.env.Stdout
	if p.seen[id] {
		return nil
	}
	p.seen[id] = true
	v, err := s.call(ctx, "getTaskInfo", id)
	if err != nil {
		return err
	}
	info := asMap(v)
	if info == nil {
		return fmt.Errorf("GenericError: No such task: %d", id)
	}
	indent := strings.Repeat("  ", level)
	var hostName string
	if hid, ok := mint(info, "host_id"); ok {
		h, err := s.call(ctx, "getHost", hid)
		if err != nil {
			return err
		}
		hostName = clean(mstr(asMap(h), "name"))
	}
	var buildroots, builds []map[string]any
	if !p.noBuildroots {
		v, err := s.c.Call(ctx, "listBuildroots", kojiclient.Kw{"taskID": id})
		switch {
		case isInvalidMethod(err, "listBuildroots"):
			p.noBuildroots = true
		case err != nil:
			return fmt.Errorf("listBuildroots: %w", err)
		default:
			buildroots = asMaps(v)
		}
	}
	if !p.noBuilds {
		v, err := s.c.Call(ctx, "listBuilds", kojiclient.Kw{"taskID": id})
		switch {
		case isInvalidMethod(err, "listBuilds"):
			p.noBuilds = true
		case err != nil:
			return fmt.Errorf("listBuilds: %w", err)
		default:
			builds = asMaps(v)
		}
	}
	files, err := s.taskOutput(ctx, id)
	if err != nil {
		return err
	}
	var logs, output []string
	for _, f := range files {
		p := workDir(s.prof.TopDir, f.volume) + "/" + taskRelPath(id) + "/" + f.name
		if strings.HasSuffix(f.name, ".log") {
			logs = append(logs, p)
		} else {
			output = append(output, p)
		}
	}
	owner := mstr(info, "owner")
	if oid, ok := mint(info, "owner"); ok {
		u, err := s.call(ctx, "getUser", oid)
		if err != nil {
			return err
		}
		if n := mstr(asMap(u), "name"); n != "" {
			owner = n
		}
	}
	method := clean(mstr(info, "method"))
	fmt.Fprintf(w, "%sTask: %d\n", indent, id)
	fmt.Fprintf(w, "%sType: %s\n", indent, method)
	if p.verbose {
		fmt.Fprintf(w, "%sRequest Parameters:\n", indent)
		lines, err := p.requestLines(ctx, id, method)
		if err != nil {
			lines = []string{"Unable to parse task parameters"}
		}
		for _, l := range lines {
			fmt.Fprintf(w, "%s  %s\n", indent, l)
		}
	}
	st, _ := mint(info, "state")
	fmt.Fprintf(w, "%sOwner: %s\n", indent, clean(owner))
	fmt.Fprintf(w, "%sState: %s\n", indent, strings.ToLower(stateName(st)))
	fmt.Fprintf(w, "%sCreated: %s\n", indent, asctime(mfloat(info, "create_ts"), s.loc))
	if ts := mfloat(info, "start_ts"); ts != 0 {
		fmt.Fprintf(w, "%sStarted: %s\n", indent, asctime(ts, s.loc))
	}
	if ts := mfloat(info, "completion_ts"); ts != 0 {
		fmt.Fprintf(w, "%sFinished: %s\n", indent, asctime(ts, s.loc))
	}
	if hostName != "" {
		fmt.Fprintf(w, "%sHost: %s\n", indent, hostName)
	}
	if len(builds) > 0 {
		fmt.Fprintf(w, "%sBuild: %s (%s)\n", indent, clean(mstr(builds[0], "nvr")), mstr(builds[0], "build_id"))
	}
	if len(buildroots) > 0 {
		fmt.Fprintf(w, "%sBuildroots:\n", indent)
		for _, r := range buildroots {
			fmt.Fprintf(w, "%s  /var/lib/mock/%s-%s-%s/\n", indent, clean(mstr(r, "tag_name")), mstr(r, "id"), mstr(r, "repo_id"))
		}
	}
	fmt.Fprintf(w, "%sLog Files:\n", indent)
	if len(logs) == 0 {
		fmt.Fprintf(w, "%s  No outputs reported [1]\n", indent)
		p.footnote = true
	}
	for _, l := range logs {
		fmt.Fprintf(w, "%s  %s\n", indent, clean(l))
	}
	fmt.Fprintf(w, "%sOutput:\n", indent)
	if len(output) == 0 {
		fmt.Fprintf(w, "%s  No outputs reported [1]\n", indent)
		p.footnote = true
	}
	for _, l := range output {
		fmt.Fprintf(w, "%s  %s\n", indent, clean(l))
	}
	if !p.recurse {
		return nil
	}
	v, err = s.call(ctx, "getTaskChildren", id, kojiclient.Kw{"request": true})
	if err != nil {
		return err
	}
	kids := asMaps(v)
	sort.Slice(kids, func(i, j int) bool {
		a, _ := mint(kids[i], "id")
		b, _ := mint(kids[j], "id")
		return a < b
	})
	for _, k := range kids {
		cid, ok := mint(k, "id")
		if !ok || p.seen[cid] {
			continue
		}
		fmt.Fprintln(w)
		if err := p.print(ctx, cid, level+1); err != nil {
			return err
		}
	}
	return nil
}

// requestLines is koji's _do_parseTaskParams for the methods kojigo runs.
func (p *taskInfoPrinter) requestLines(ctx context.Context, id int64, method string) ([]string, error) {
	s := p.s
	v, err := s.call(ctx, "getTaskRequest", id)
	if err != nil {
		return nil, err
	}
	params := asList(v)
	str := func(i int) string {
		if i < len(params) {
			return clean(mstr(map[string]any{"v": params[i]}, "v"))
		}
		return ""
	}
	tagName := func(i int) (string, error) {
		if i >= len(params) {
			return "", errors.New("short request")
		}
		t, err := s.call(ctx, "getTag", params[i])
		if err != nil {
			return "", err
		}
		return clean(mstr(asMap(t), "name")), nil
	}
	opts := func(lines []string, i int) []string {
		if i >= len(params) {
			return lines
		}
		m := asMap(params[i])
		if len(m) == 0 {
			return lines
		}
		lines = append(lines, "Options:")
		for _, k := range sortedKeys(m) {
			if k != "__starstar" {
				lines = append(lines, fmt.Sprintf("  %s: %s", clean(k), pyRepr(m[k])))
			}
		}
		return lines
	}
	var lines []string
	switch method {
	case "build":
		lines = append(lines, "Source: "+str(0), "Build Target: "+str(1))
		lines = opts(lines, 2)
	case "buildSRPMFromSCM":
		lines = append(lines, "SCM URL: "+str(0))
	case "buildArch":
		tag, err := tagName(1)
		if err != nil {
			return nil, err
		}
		kept := "False"
		if len(params) > 3 && params[3] == true {
			kept = "True"
		}
		lines = append(lines, fmt.Sprintf("SRPM: %s/work/%s", s.prof.TopDir, str(0)), "Build Tag: "+tag, "Build Arch: "+str(2), "SRPM Kept: "+kept)
		lines = opts(lines, 4)
	case "tagBuild":
		tag, err := tagName(0)
		if err != nil {
			return nil, err
		}
		b, err := s.call(ctx, "getBuild", params[1])
		if err != nil {
			return nil, err
		}
		bm := asMap(b)
		lines = append(lines, "Destination Tag: "+tag, "Build: "+clean(mstr(bm, "name")+"-"+mstr(bm, "version")+"-"+mstr(bm, "release")))
	case "newRepo":
		tag, err := tagName(0)
		if err != nil {
			return nil, err
		}
		lines = append(lines, "Tag: "+tag)
	case "createrepo":
		lines = append(lines, "Repo ID: "+str(0), "Arch: "+str(1))
	case "waitrepo":
		lines = append(lines, "Build Target: "+str(0))
		if len(params) > 1 && params[1] != nil && params[1] != false {
			lines = append(lines, "Newer Than: "+str(1))
		}
	}
	return lines, nil
}

// pyRepr prints an option value as Python prints it in koji taskinfo.
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return clean(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if s, ok := e.(string); ok {
				parts[i] = "'" + clean(s) + "'"
			} else {
				parts[i] = pyRepr(e)
			}
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return clean(fmt.Sprint(v))
}

// taskFile is one output file of a task on one volume.
type taskFile struct{ name, volume string }

// taskOutput is listTaskOutput(id, all_volumes=True), sorted by name.
func (s *hubSession) taskOutput(ctx context.Context, id int64) ([]taskFile, error) {
	v, err := s.call(ctx, "listTaskOutput", id, kojiclient.Kw{"all_volumes": true})
	if err != nil {
		return nil, err
	}
	var out []taskFile
	switch x := v.(type) {
	case map[string]any:
		for _, name := range sortedKeys(x) {
			vols := asList(x[name])
			if len(vols) == 0 {
				out = append(out, taskFile{name, "DEFAULT"})
			}
			for _, vol := range vols {
				vs, _ := vol.(string)
				if vs == "" {
					vs = "DEFAULT"
				}
				out = append(out, taskFile{name, vs})
			}
		}
	case []any: // an old hub without all_volumes
		for _, n := range x {
			if name, ok := n.(string); ok {
				out = append(out, taskFile{name, "DEFAULT"})
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	}
	return out, nil
}

// workDir is koji.pathinfo.work(volume).
func workDir(topdir, volume string) string {
	if topdir == "" {
		topdir = "/mnt/koji"
	}
	if volume == "" || volume == "DEFAULT" {
		return topdir + "/work"
	}
	return topdir + "/vol/" + volume + "/work"
}

// taskRelPath is koji.pathinfo.taskrelpath: tasks/<id % 10000>/<id>.
func taskRelPath(id int64) string {
	return "tasks/" + strconv.FormatInt(id%10000, 10) + "/" + strconv.FormatInt(id, 10)
}

// runCancel is koji cancel: task ids (cancelTask, or cancelTaskFull with
// --full) and build NVRs (cancelBuild), in multicalls of 100.
func runCancel(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "cancel")
	var o clientOpts
	addClientFlags(fs, &o, true)
	justOne := fs.Bool("justone", false, "do not cancel the task's children")
	full := fs.Bool("full", false, "cancel the whole task tree from its top (admin; cancelTaskFull)")
	force := fs.Bool("force", false, "with --full: allow a task that is not the top of its tree")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageErr("kojictl cancel [--justone|--full [--force]] TASK_ID|NVR...")
	}
	if *justOne && *full {
		return usageErr("--justone and --full exclude each other")
	}
	if *force && !*full {
		return usageErr("--force only goes with --full")
	}
	var calls []kojiclient.CallSpec
	for _, a := range pos {
		if id, err := strconv.ParseInt(a, 10, 64); err == nil {
			if id <= 0 || id > 1<<31-1 {
				return usageErr("%q is not a task id (a positive integer)", clean(a))
			}
			switch {
			case *full:
				var kw []any
				if *force {
					kw = append(kw, kojiclient.Kw{"strict": false})
				}
				calls = append(calls, kojiclient.CallSpec{Method: "cancelTaskFull", Args: append([]any{id}, kw...)})
			case *justOne:
				calls = append(calls, kojiclient.CallSpec{Method: "cancelTask", Args: []any{id, kojiclient.Kw{"recurse": false}}})
			default:
				calls = append(calls, kojiclient.CallSpec{Method: "cancelTask", Args: []any{id}})
			}
			continue
		}
		if !safeName(a) || strings.Count(a, "-") < 2 {
			return usageErr("%q is neither a task id nor a build N-V-R", clean(a))
		}
		if *full || *justOne {
			return usageErr("--full and --justone apply to task ids, not to build %s", clean(a))
		}
		calls = append(calls, kojiclient.CallSpec{Method: "cancelBuild", Args: []any{a, kojiclient.Kw{"strict": true}}})
	}
	s, err := o.connect(ctx, env, authenticated)
	if err != nil {
		return err
	}
	defer s.close(ctx)
	var res []kojiclient.Result
	for len(calls) > 0 {
		n := min(len(calls), 100)
		r, err := s.multiCall(ctx, calls[:n])
		if err != nil {
			return err
		}
		res = append(res, r...)
		calls = calls[n:]
	}
	return reportFaults(env.Stderr, res)
}
