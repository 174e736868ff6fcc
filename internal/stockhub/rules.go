package stockhub

import (
	"bytes"
	"cmp"
	"errors"
	"slices"
	"strings"
	"time"

	"kojigo/internal/kojixml"
)

// rule answers a call from recorded data; ok is false when the recordings
// hold nothing to answer it from.
type rule func(h *Hub, params []any) (res result, ok bool)

var rules = map[string]rule{
	"listTasks":       (*Hub).listTasks,
	"getTaskChildren": (*Hub).getTaskChildren,
	"getTaskInfo":     (*Hub).getTaskInfoList,
	"getPerms":        (*Hub).getPerms,
	"hasPerm":         (*Hub).hasPerm,
}

// argFault turns a kojixml.Args binding error into its fault.
func argFault(err error) result {
	var f *kojixml.Fault
	if errors.As(err, &f) {
		return result{fault: f}
	}
	return faultResult(kojixml.ParameterError, "%v", err)
}

// listTasks answers listTasks(opts=None, queryOpts=None) from the recorded
// task list, filtered and ordered in Go as Koji's query would.
func (h *Hub) listTasks(params []any) (result, bool) {
	a := kojixml.NewArgs("listTasks", params)
	opts := a.OptMap(0, "opts")
	qopts := a.OptMap(1, "queryOpts")
	if err := a.Done(); err != nil {
		return argFault(err), true
	}
	decode := truthy(opts["decode"]) && !truthy(qopts["countOnly"]) && !truthy(qopts["asList"])
	tasks, ok := h.taskList(decode)
	if !ok {
		return result{}, false
	}
	var out []any
	for _, t := range tasks {
		if matchTask(t, opts) {
			out = append(out, t)
		}
	}
	if order, _ := qopts["order"].(string); order != "" {
		sortTasks(out, order)
	}
	if n, ok := qopts["offset"].(int64); ok && n > 0 {
		out = out[min(int(n), len(out)):]
	}
	if n, ok := qopts["limit"].(int64); ok && n >= 0 {
		out = out[:min(int(n), len(out))]
	}
	switch {
	case truthy(qopts["countOnly"]):
		return result{value: int64(len(out))}, true
	case truthy(qopts["asList"]):
		rows := make([]any, len(out))
		for i, t := range out {
			var row []any
			for _, k := range structKeys(t) {
				v, _ := member(t, k)
				row = append(row, v)
			}
			rows[i] = row
		}
		return result{value: rows}, true
	}
	if out == nil {
		out = []any{}
	}
	return result{value: out}, true
}

// taskList returns the recorded listTasks answer the rules start from (the
// first recorded without filters, preferring one whose request and result
// fields are decoded as decode asks), with those fields decoded or encoded
// as decode asks.
func (h *Hub) taskList(decode bool) ([]any, bool) {
	m := h.methods["listTasks"]
	if m == nil {
		return nil, false
	}
	var best *answer
	bestScore, bestDecoded := -1, false
	for _, a := range m.answers {
		if _, isList := a.value.([]any); a.fault != nil || !isList {
			continue
		}
		an := kojixml.NewArgs("listTasks", a.params)
		opts := an.OptMap(0, "opts")
		qopts := an.OptMap(1, "queryOpts")
		if an.Done() != nil || truthy(qopts["countOnly"]) || truthy(qopts["asList"]) {
			continue
		}
		dec := truthy(opts["decode"])
		score := 0
		if unfiltered(opts, qopts) {
			score += 2
		}
		if dec == decode {
			score++
		}
		if score > bestScore {
			best, bestScore, bestDecoded = a, score, dec
		}
	}
	if best == nil {
		return nil, false
	}
	list := best.value.([]any)
	out := make([]any, len(list))
	for i, t := range list {
		out[i] = t
		if bestDecoded != decode {
			out[i] = recodeTask(t, decode)
		}
	}
	return out, true
}

// unfiltered reports whether a recorded listTasks call listed every task.
func unfiltered(opts, qopts map[string]any) bool {
	for k := range opts {
		if k != "decode" {
			return false
		}
	}
	for k := range qopts {
		if k != "order" {
			return false
		}
	}
	return true
}

// recodeTask decodes (or encodes) a task's request and result fields, as
// listTasks(decode=True) returns them.
func recodeTask(t any, decode bool) any {
	s, ok := t.(kojixml.Struct)
	if !ok {
		return t
	}
	out := slices.Clone(s)
	method, _ := member(s, "method")
	name, _ := method.(string)
	for i := range out {
		switch {
		case out[i].Name == "request" && decode:
			out[i].Value = decodeRequest(out[i].Value)
		case out[i].Name == "result" && decode:
			out[i].Value = decodeResult(out[i].Value)
		case out[i].Name == "request":
			out[i].Value = encodeRequest(out[i].Value, name)
		case out[i].Name == "result":
			out[i].Value = encodeResult(out[i].Value)
		}
	}
	return out
}

func isXMLDoc(v any) ([]byte, bool) {
	s, ok := v.(string)
	if !ok || !strings.Contains(s[:min(len(s), 10)], "<?xml") {
		return nil, false
	}
	return []byte(s), true
}

// decodeRequest is koji.xmlrpcplus.loads(request)[0]: the call's parameters.
func decodeRequest(v any) any {
	doc, ok := isXMLDoc(v)
	if !ok {
		return v
	}
	c, err := kojixml.DecodeOptions{PreserveOrder: true}.DecodeCallBytes(doc)
	if err != nil {
		return v
	}
	if c.Params == nil {
		return []any{}
	}
	return c.Params
}

// decodeResult is koji.xmlrpcplus.loads(result)[0][0], or the fault.
func decodeResult(v any) any {
	doc, ok := isXMLDoc(v)
	if !ok {
		return v
	}
	val, err := kojixml.DecodeOptions{PreserveOrder: true}.DecodeResponseBytes(doc)
	var f *kojixml.Fault
	switch {
	case errors.As(err, &f):
		return kojixml.Struct{{Name: "faultCode", Value: int64(f.Code)}, {Name: "faultString", Value: f.String}}
	case err != nil:
		return v
	}
	return val
}

func encodeRequest(v any, method string) any {
	params, ok := v.([]any)
	if !ok || method == "" {
		return v
	}
	var b bytes.Buffer
	if kojixml.EncodeCall(&b, method, params) != nil {
		return v
	}
	return b.String()
}

func encodeResult(v any) any {
	if v == nil {
		return nil
	}
	var b bytes.Buffer
	if kojixml.EncodeResponse(&b, v) != nil {
		return v
	}
	return b.String()
}

// matchTask applies listTasks' opts to one task, with SQL's NULL semantics
// (a NULL column matches neither "IN" nor "NOT IN").
func matchTask(t any, opts map[string]any) bool {
	field := func(name string) any {
		v, _ := member(t, name)
		return v
	}
	for _, f := range []string{"arch", "state", "method"} {
		if want, ok := opts[f]; ok && !sqlIn(field(f), want) {
			return false
		}
		if want, ok := opts["not_"+f]; ok && f != "method" && !sqlNotIn(field(f), want) {
			return false
		}
	}
	for _, f := range []string{"owner", "host_id", "channel_id", "parent"} {
		if want, ok := opts[f]; ok {
			if want == nil {
				if field(f) != nil {
					return false
				}
			} else if !sqlIn(field(f), want) {
				return false
			}
		}
		if want, ok := opts["not_"+f]; ok {
			if want == nil {
				if field(f) == nil {
					return false
				}
			} else if !sqlNotIn(field(f), want) {
				return false
			}
		}
	}
	for _, c := range []struct {
		key, field string
		before     bool
	}{
		{"createdBefore", "create_ts", true}, {"createdAfter", "create_ts", false},
		{"startedBefore", "start_ts", true}, {"startedAfter", "start_ts", false},
		{"completeBefore", "completion_ts", true}, {"completeAfter", "completion_ts", false},
		{"completedBefore", "completion_ts", true}, {"completedAfter", "completion_ts", false},
	} {
		limit, ok := timestamp(opts[c.key])
		if !ok {
			continue
		}
		ts, ok := number(field(c.field))
		if !ok || (c.before && !(ts < limit)) || (!c.before && !(ts > limit)) {
			return false
		}
	}
	return true
}

func sqlIn(v, want any) bool {
	if v == nil {
		return false
	}
	if list, ok := want.([]any); ok {
		return slices.ContainsFunc(list, func(w any) bool { return equal(v, w) })
	}
	return equal(v, want)
}

func sqlNotIn(v, want any) bool {
	if v == nil {
		return false
	}
	return !sqlIn(v, want)
}

// timestamp reads a listTasks time option: seconds since the epoch, an ISO
// date string, or a dateTime.iso8601.
func timestamp(v any) (float64, bool) {
	switch x := v.(type) {
	case int64, float64:
		return number(x)
	case time.Time:
		return float64(x.UnixNano()) / 1e9, true
	case string:
		for _, layout := range []string{
			"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999Z07:00",
			"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02",
		} {
			if t, err := time.Parse(layout, x); err == nil {
				return float64(t.UnixNano()) / 1e9, true
			}
		}
	}
	return 0, false
}

// sortTasks orders tasks as Koji's QueryProcessor order option does:
// comma-separated fields, "-" for descending; NULLs sort last ascending
// and first descending, as in PostgreSQL.
func sortTasks(tasks []any, order string) {
	var keys []string
	for _, k := range strings.Split(order, ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	slices.SortStableFunc(tasks, func(a, b any) int {
		for _, k := range keys {
			desc := strings.HasPrefix(k, "-")
			name := strings.TrimPrefix(k, "-")
			x, _ := member(a, name)
			y, _ := member(b, name)
			c := compareSQL(x, y)
			if desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
}

func compareSQL(x, y any) int {
	switch {
	case x == nil && y == nil:
		return 0
	case x == nil:
		return 1
	case y == nil:
		return -1
	}
	if a, ok := x.(bool); ok {
		x = boolInt(a)
	}
	if b, ok := y.(bool); ok {
		y = boolInt(b)
	}
	if a, ok := number(x); ok {
		if b, ok := number(y); ok {
			return cmp.Compare(a, b)
		}
	}
	return strings.Compare(pyRepr(x, false), pyRepr(y, false))
}

// getTaskChildren answers getTaskChildren(task_id, request=False,
// strict=False) from the recorded task list: the tasks whose parent is
// task_id, with the fields Koji's Task.getChildren returns.
func (h *Hub) getTaskChildren(params []any) (result, bool) {
	a := kojixml.NewArgs("getTaskChildren", params)
	id := a.Int(0, "task_id")
	request := a.OptBool(1, "request", false)
	strict := a.OptBool(2, "strict", false)
	if err := a.Done(); err != nil {
		return argFault(err), true
	}
	tasks, ok := h.taskList(true)
	if !ok {
		return result{}, false
	}
	if strict && !h.taskExists(id, tasks) {
		return faultResult(kojixml.GenericError, "query returned no rows"), true
	}
	out := []any{}
	for _, t := range tasks {
		if p, _ := member(t, "parent"); p == nil || !equal(p, id) {
			continue
		}
		var child kojixml.Struct
		for _, k := range structKeys(t) {
			switch k {
			case "owner_name", "owner_type", "request", "result":
				continue
			}
			v, _ := member(t, k)
			child = append(child, kojixml.Member{Name: k, Value: v})
		}
		if request {
			v, _ := member(t, "request")
			child = append(child, kojixml.Member{Name: "request", Value: v})
		}
		out = append(out, child)
	}
	slices.SortStableFunc(out, func(x, y any) int {
		a, _ := member(x, "id")
		b, _ := member(y, "id")
		return compareSQL(a, b)
	})
	return result{value: out}, true
}

// taskExists reports whether the recordings know task id.
func (h *Hub) taskExists(id int64, tasks []any) bool {
	for _, t := range tasks {
		if v, _ := member(t, "id"); equal(v, id) {
			return true
		}
	}
	a := h.methods["getTaskInfo"].lookup([]any{id})
	return a != nil && a.fault == nil && a.value != nil
}

// getTaskInfoList answers getTaskInfo([id, ...], ...), which Koji answers
// with a list, one task at a time.
func (h *Hub) getTaskInfoList(params []any) (result, bool) {
	pos, _ := kojixml.SplitKwargs(params)
	if len(pos) == 0 {
		return result{}, false
	}
	ids, ok := pos[0].([]any)
	if !ok {
		return result{}, false
	}
	out := make([]any, 0, len(ids))
	for _, id := range ids {
		one := slices.Clone(params)
		one[0] = id
		r, ok := h.resolve("getTaskInfo", one)
		if !ok {
			return result{}, false
		}
		if r.fault != nil {
			return result{fault: r.fault}, true
		}
		out = append(out, r.value)
	}
	return result{value: out}, true
}

// perms returns the recorded user's permissions: from getUserPermsInheritance
// or getUserPerms of the user getLoggedInUser answers, else the permissions
// hasPerm answered true for.
func (h *Hub) perms() ([]string, bool) {
	if user, ok := h.resolve("getLoggedInUser", nil); ok && user.fault == nil && user.value != nil {
		id, _ := member(user.value, "id")
		name, _ := member(user.value, "name")
		for _, mn := range []string{"getUserPermsInheritance", "getUserPerms"} {
			m := h.methods[mn]
			if m == nil {
				continue
			}
			for _, a := range m.answers {
				if a.fault != nil || len(a.params) == 0 || !(equal(a.params[0], id) || equal(a.params[0], name)) {
					continue
				}
				var perms []string
				if isStruct(a.value) {
					perms = structKeys(a.value)
				} else if list, ok := a.value.([]any); ok {
					for _, p := range list {
						if s, ok := p.(string); ok {
							perms = append(perms, s)
						}
					}
				} else {
					continue
				}
				slices.Sort(perms)
				return perms, true
			}
		}
	}
	m := h.methods["hasPerm"]
	if m == nil {
		return nil, false
	}
	var perms []string
	for _, a := range m.answers {
		if a.fault != nil || len(a.params) == 0 || !truthy(a.value) {
			continue
		}
		if s, ok := a.params[0].(string); ok && !slices.Contains(perms, s) {
			perms = append(perms, s)
		}
	}
	slices.Sort(perms)
	return perms, true
}

// getPerms answers getPerms(): the recorded user's permissions.
func (h *Hub) getPerms(params []any) (result, bool) {
	if err := kojixml.NewArgs("getPerms", params).Done(); err != nil {
		return argFault(err), true
	}
	perms, ok := h.perms()
	if !ok {
		return result{}, false
	}
	out := make([]any, len(perms))
	for i, p := range perms {
		out[i] = p
	}
	return result{value: out}, true
}

// hasPerm answers hasPerm(perm, strict=False) from the recorded user's
// permissions.
func (h *Hub) hasPerm(params []any) (result, bool) {
	a := kojixml.NewArgs("hasPerm", params)
	perm := a.String(0, "perm")
	a.OptBool(1, "strict", false)
	if err := a.Done(); err != nil {
		return argFault(err), true
	}
	perms, ok := h.perms()
	if !ok {
		return result{}, false
	}
	return result{value: slices.Contains(perms, perm)}, true
}
