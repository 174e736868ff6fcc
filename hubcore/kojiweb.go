package hubcore

import (
	"bytes"
	"errors"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// The read methods the stock Koji web interface (kojiweb) calls that no
// other area answers: Koji's generic counting and filtering wrappers, which
// run another method of the hub with the caller's arguments, and a few
// listings its pages show.
func kojiwebMethods() []method {
	return []method{
		{name: "count", argdesc: "(methodName, *args, **kw)", fn: mCount},
		{name: "filterResults", argdesc: "(methodName, *args, **kw)", fn: mFilterResults},
		{name: "countAndFilterResults", argdesc: "(methodName, *args, **kw)", fn: mCountAndFilterResults},
		{name: "getTaskDescendents", argdesc: "(task_id, request=False)", fn: mGetTaskDescendents},
		{name: "listBuildRPMs", argdesc: "(build)", fn: mListBuildRPMs},
		{name: "getAverageBuildDuration", argdesc: "(package, age=None)", fn: mGetAverageBuildDuration},
		{name: "listPackagesSimple", argdesc: "(prefix=None, queryOpts=None)", fn: mListPackagesSimple},
		{name: "getArchive", argdesc: "(archive_id, strict=False)", fn: mGetArchive},
		{name: "listArchiveFiles", argdesc: "(archive_id, queryOpts=None, strict=False)", fn: mListArchiveFiles},
		{name: "getArchiveFile", argdesc: "(archive_id, filename, strict=False)", fn: mGetArchiveFile},
	}
}

// wrappedCall runs methodName (the first argument of a wrapper) with the
// rest of the wrapper's arguments, as the same caller. Koji's wrappers take
// any handler; multicalls and the wrappers themselves are refused.
// ran is false when the call was refused before the method ran.
func wrappedCall(c *call, a *kojixml.Args, wrapper string, dropKw ...string) (name string, res any, f *kojixml.Fault, ran bool) {
	name = a.String(0, "methodName")
	rest := a.Rest(1)
	kw := a.RestKwargs()
	if err := a.Done(); err != nil {
		return "", nil, err.(*kojixml.Fault), false
	}
	for _, k := range dropKw {
		delete(kw, k)
	}
	if _, ok := c.hub.methods[name]; !ok {
		return name, nil, genericErr("method %s doesn't exist", name), false
	}
	switch name {
	case "multiCall", "system.multicall", "count", "filterResults", "countAndFilterResults":
		// Koji would nest wrappers; refusing keeps a hostile request of
		// thousands of nested wrappers from costing as many stack frames.
		return name, nil, genericErr("%s cannot wrap %s", wrapper, name), false
	}
	sub := *c
	sub.method = name
	sub.wrote = false
	res, f = c.hub.dispatch(&sub, name, kojixml.EncodeKwargs(rest, kw), nil)
	c.wrote = c.wrote || sub.wrote
	return name, res, f, true
}

// count(methodName, *args, **kw): how many results methodName gives: None
// is 0, a list or struct its length, anything else 1.
func mCount(c *call, a *kojixml.Args) (any, error) {
	_, res, f, _ := wrappedCall(c, a, "count")
	if f != nil {
		return nil, f
	}
	return int64(resultLen(res)), nil
}

func resultLen(res any) int {
	v := reflect.ValueOf(res)
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) {
		if v.IsNil() {
			return 0
		}
		v = v.Elem()
	}
	switch {
	case !v.IsValid():
		return 0
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8:
		return 1 // bytes travel as base64, a single value
	case v.Kind() == reflect.Slice, v.Kind() == reflect.Array, v.Kind() == reflect.Map:
		return v.Len()
	}
	return 1
}

// filterResults(methodName, *args, filterOpts=..., **kw): the filtered list
// of countAndFilterResults without the count.
func mFilterResults(c *call, a *kojixml.Args) (any, error) {
	n, rows, err := countAndFilter(c, a, "filterResults")
	if err != nil {
		return nil, err
	}
	if n == 0 && rows == nil {
		return nil, nil
	}
	return rows, nil
}

// countAndFilterResults(methodName, *args, filterOpts=..., **kw): [total,
// list] where list is methodName's result list ordered by filterOpts'
// order (a field, "-" for descending; None sorts last unless noneGreatest
// is false), then cut by offset and limit (Python slices).
func mCountAndFilterResults(c *call, a *kojixml.Args) (any, error) {
	n, rows, err := countAndFilter(c, a, "countAndFilterResults")
	if err != nil {
		return nil, err
	}
	if rows == nil {
		return []any{int64(0), nil}, nil
	}
	return []any{int64(n), rows}, nil
}

// filterOpts is countAndFilterResults' keyword argument.
type filterOpts struct {
	order         string
	desc          bool
	offset, limit *int64
	noneGreatest  bool
}

func parseFilterOpts(v any) (filterOpts, error) {
	fo := filterOpts{noneGreatest: true}
	if v == nil {
		return fo, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fo, paramErr("filterOpts: expected a struct, got %s", pyRepr(v))
	}
	for k, x := range m {
		switch k {
		case "order":
			if x == nil {
				continue
			}
			s, ok := x.(string)
			if !ok {
				return fo, paramErr("filterOpts: order: expected a string, got %s", pyRepr(x))
			}
			fo.order, fo.desc = strings.TrimPrefix(s, "-"), strings.HasPrefix(s, "-")
		case "offset", "limit":
			if x == nil {
				continue
			}
			n, ok := x.(int64)
			if !ok {
				return fo, paramErr("filterOpts: %s: expected an integer, got %s", k, pyRepr(x))
			}
			if k == "offset" {
				fo.offset = &n
			} else {
				fo.limit = &n
			}
		case "noneGreatest":
			fo.noneGreatest = truthyValue(x)
		default:
			return fo, paramErr("filterOpts: unknown option %q (want order, offset, limit, noneGreatest)", k)
		}
	}
	return fo, nil
}

func truthyValue(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	}
	return true
}

// countAndFilter is countAndFilterResults; rows is nil when the method
// answered None.
func countAndFilter(c *call, a *kojixml.Args, wrapper string) (int, []any, error) {
	fo, err := parseFilterOpts(a.RestKwargs()["filterOpts"])
	if err != nil {
		return 0, nil, err
	}
	name, res, f, ran := wrappedCall(c, a, wrapper, "filterOpts")
	if f != nil {
		if !ran {
			return 0, nil, f
		}
		return 0, nil, genericErr("method %s raised an exception (%s)", name, f.String)
	}
	if res == nil {
		return 0, nil, nil
	}
	rows, ok, err := wireList(res)
	if err != nil {
		return 0, nil, err
	}
	if !ok {
		return 0, nil, genericErr("%s() did not return a list", name)
	}
	total := len(rows)
	if fo.order != "" {
		if err := sortRows(rows, fo); err != nil {
			return 0, nil, err
		}
	}
	rows = pySlice(rows, fo.offset, nil)
	if fo.limit != nil {
		zero := int64(0)
		rows = pySlice(rows, &zero, fo.limit)
	}
	return total, rows, nil
}

// wireList returns res as the client sees it, a list of values decoded
// from XML-RPC (structs become maps under their wire names), and whether
// it is a list at all.
func wireList(res any) ([]any, bool, error) {
	if l, ok := res.([]any); ok {
		plain := true
		for _, x := range l {
			if _, ok := x.(map[string]any); !ok {
				plain = false
				break
			}
		}
		if plain {
			return l, true, nil
		}
	}
	v := reflect.ValueOf(res)
	if v.Kind() != reflect.Slice || v.Type().Elem().Kind() == reflect.Uint8 {
		return nil, false, nil
	}
	b, err := kojixml.AppendResponse(nil, res)
	if err != nil {
		return nil, false, err
	}
	back, err := kojixml.DecodeResponse(bytes.NewReader(b))
	if err != nil {
		return nil, false, err
	}
	l, ok := back.([]any)
	return l, ok, nil
}

// sortRows sorts maps by one field, stably, as Python's list.sort does.
func sortRows(rows []any, fo filterOpts) error {
	var bad error
	for _, r := range rows {
		m, ok := r.(map[string]any)
		if !ok {
			return genericErr("cannot order results by %s: a result is %s, not a struct", fo.order, pyRepr(r))
		}
		if _, ok := m[fo.order]; !ok {
			return genericErr("cannot order results by %s: no such field", fo.order)
		}
	}
	less := func(i, j int) bool {
		x, y := rows[i].(map[string]any)[fo.order], rows[j].(map[string]any)[fo.order]
		if fo.desc {
			x, y = y, x
		}
		if x == nil || y == nil {
			if fo.noneGreatest {
				return x != nil && y == nil
			}
			return x == nil && y != nil
		}
		cmp, ok := compareSame(x, y)
		if !ok && bad == nil {
			bad = genericErr("cannot order results by %s: values of different types (%s and %s)", fo.order, pyRepr(x), pyRepr(y))
		}
		return cmp < 0
	}
	sort.SliceStable(rows, less)
	return bad
}

// compareSame compares two values of one XML-RPC type.
func compareSame(x, y any) (int, bool) {
	switch a := x.(type) {
	case int64:
		switch b := y.(type) {
		case int64:
			return cmpOrdered(a, b), true
		case float64:
			return cmpOrdered(float64(a), b), true
		case bool:
			return cmpOrdered(a, boolInt(b)), true
		}
	case float64:
		switch b := y.(type) {
		case float64:
			return cmpOrdered(a, b), true
		case int64:
			return cmpOrdered(a, float64(b)), true
		}
	case bool:
		switch b := y.(type) {
		case bool:
			return cmpOrdered(boolInt(a), boolInt(b)), true
		case int64:
			return cmpOrdered(boolInt(a), b), true
		}
	case string:
		if b, ok := y.(string); ok {
			return strings.Compare(a, b), true
		}
	case time.Time:
		if b, ok := y.(time.Time); ok {
			return a.Compare(b), true
		}
	}
	return 0, false
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pySlice is Python's l[start:stop] (negative numbers count from the end).
func pySlice(l []any, start, stop *int64) []any {
	n := int64(len(l))
	norm := func(p *int64, def int64) int64 {
		if p == nil {
			return def
		}
		v := *p
		if v < 0 {
			v += n
		}
		return min(max(v, 0), n)
	}
	s, e := norm(start, 0), norm(stop, n)
	if s >= e {
		return []any{}
	}
	return l[s:e]
}

// getTaskDescendents(task_id, request=False): every task under task_id, as
// a struct of each task's id (a string) to its children, by id; a task
// without children, or no task at all, maps to an empty list.
func mGetTaskDescendents(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "task_id")
	request := a.OptBool(1, "request", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	out := map[string]any{}
	queue := []int64{id}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		key := strconv.FormatInt(parent, 10)
		if _, seen := out[key]; seen {
			continue
		}
		kids, err := c.hub.store.Children(c.ctx, parent, request)
		if err != nil {
			return nil, err
		}
		sort.Slice(kids, func(i, j int) bool { return kids[i].ID < kids[j].ID })
		list := make([]any, 0, len(kids))
		for _, t := range kids {
			m := taskInfo(t)
			if request {
				m["request"] = decodeRequest(t.Request)
			}
			list = append(list, m)
			queue = append(queue, t.ID)
		}
		out[key] = list
	}
	return out, nil
}

// listBuildRPMs(build): the rpms of a build given by id (not checked, as in
// Koji), NVR or struct (which must name a build).
func mListBuildRPMs(c *call, a *kojixml.Args) (any, error) {
	info := a.Any(0, "build")
	if err := a.Done(); err != nil {
		return nil, err
	}
	id, ok := info.(int64)
	if !ok {
		bid, found, err := c.hub.findBuildID(c, info, true)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, genericErr("No such build: %s", pyRepr(info))
		}
		id = bid
	}
	rpms, err := c.hub.store.ListRPMs(c.ctx, db.RPMFilter{BuildIDs: []int64{id}})
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(rpms))
	for _, r := range rpms {
		out = append(out, rpmMap(r))
	}
	return out, nil
}

// lookupPackageID is Koji's get_package_id without strict: the id of a
// package given by id or name, ok false when there is none.
func lookupPackageID(c *call, info any) (int64, bool, error) {
	var p db.Package
	var err error
	switch x := info.(type) {
	case int64:
		p, err = c.hub.store.GetPackage(c.ctx, x)
	case string:
		p, err = c.hub.store.GetPackageByName(c.ctx, x)
	default:
		return 0, false, paramErr("invalid type for package: %s", pyRepr(info))
	}
	if errors.Is(err, db.ErrNotFound) {
		return 0, false, nil
	}
	return p.ID, err == nil, err
}

// getAverageBuildDuration(package, age=None): the mean seconds from a
// complete build's creation to its completion, over the package's builds
// made by a task (imports would drag the mean down), those completed in
// the last age months when age is given; None when there are none.
func mGetAverageBuildDuration(c *call, a *kojixml.Args) (any, error) {
	pkg := a.Any(0, "package")
	age := a.IntOrNil(1, "age")
	if err := a.Done(); err != nil {
		return nil, err
	}
	id, ok, err := lookupPackageID(c, pkg)
	if err != nil || !ok {
		return nil, err
	}
	if age != nil && (*age < 0 || *age > 12*10000) {
		return nil, paramErr("getAverageBuildDuration: age: want months from 0 to 120000, got %d", *age)
	}
	complete := db.BuildComplete
	builds, err := c.hub.store.ListBuilds(c.ctx, db.BuildFilter{PackageID: &id, State: &complete})
	if err != nil {
		return nil, err
	}
	var since float64
	if age != nil {
		since = float64(c.hub.cfg.Now().AddDate(0, -int(*age), 0).UnixNano()) / 1e9
	}
	var sum float64
	n := 0
	for _, b := range builds {
		if b.CompletionTime == nil || (b.TaskID == nil && (b.Extra == nil || !strings.Contains(*b.Extra, "koji_task_id"))) {
			continue
		}
		if age != nil && *b.CompletionTime <= since {
			continue
		}
		sum += *b.CompletionTime - b.CreateTime
		n++
	}
	if n == 0 {
		return nil, nil
	}
	return sum / float64(n), nil
}

// listPackagesSimple(prefix=None, queryOpts=None): {package_id,
// package_name} of every package whose name starts with prefix (any case).
func mListPackagesSimple(c *call, a *kojixml.Args) (any, error) {
	prefix := a.StringOrNil(0, "prefix")
	qo := a.OptMap(1, "queryOpts")
	if err := a.Done(); err != nil {
		return nil, err
	}
	pkgs, err := c.hub.store.ListPackages(c.ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(pkgs))
	for _, p := range pkgs {
		if prefix != nil && !strings.HasPrefix(strings.ToLower(p.Name), strings.ToLower(*prefix)) {
			continue
		}
		out = append(out, map[string]any{"package_id": p.ID, "package_name": p.Name})
	}
	if err := checkQueryOpts(qo, "package_id", "package_name"); err != nil {
		return nil, err
	}
	return applyQueryOpts(out, qo)
}

// checkQueryOpts refuses an order by a field the result does not have:
// Koji's QueryProcessor refuses it too, and applyQueryOpts would ignore it.
func checkQueryOpts(qo map[string]any, fields ...string) error {
	o, ok := qo["order"]
	if !ok || o == nil {
		return nil
	}
	s, ok := o.(string)
	if !ok {
		return paramErr("queryOpts: order: expected a string, got %s", pyRepr(o))
	}
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimPrefix(strings.TrimSpace(k), "-")
		found := false
		for _, f := range fields {
			found = found || f == k
		}
		if !found {
			return paramErr("queryOpts: invalid order field %q (want one of %s)", k, strings.Join(fields, ", "))
		}
	}
	return nil
}

// getArchive(archive_id, strict=False): this hub stores no archives (see
// listArchives), so there is none: None, or with strict Koji's fault.
func mGetArchive(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "archive_id")
	strict := a.OptBool(1, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if strict {
		return nil, genericErr("No such archive: %d", id)
	}
	return nil, nil
}

// listArchiveFiles(archive_id, queryOpts=None, strict=False): Koji looks
// the archive up strictly whatever strict says, and this hub has none.
func mListArchiveFiles(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "archive_id")
	a.OptMap(1, "queryOpts")
	a.OptBool(2, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	return nil, genericErr("No such archive: %d", id)
}

// getArchiveFile(archive_id, filename, strict=False): as listArchiveFiles.
func mGetArchiveFile(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "archive_id")
	a.String(1, "filename")
	a.OptBool(2, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	return nil, genericErr("No such archive: %d", id)
}
