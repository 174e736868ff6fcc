package stockhub

import (
	"bytes"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"kojigo/internal/kojixml"
)

// reply is a hub's answer to one request.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func post(t *testing.T, h http.Handler, target string, hdr http.Header, body []byte) reply {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	for k, vs := range hdr {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "text/xml")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return reply{rec.Code, rec.Header(), rec.Body.Bytes()}
}

// call posts method(params...) with kwargs and returns its value or fault.
func call(t *testing.T, h http.Handler, method string, kwargs map[string]any, params ...any) (any, *kojixml.Fault) {
	t.Helper()
	var b bytes.Buffer
	if err := kojixml.EncodeCall(&b, method, kojixml.EncodeKwargs(params, kwargs)); err != nil {
		t.Fatal(err)
	}
	r := post(t, h, "/kojihub", nil, b.Bytes())
	if r.status != http.StatusOK {
		t.Fatalf("%s: HTTP %d: %s", method, r.status, r.body)
	}
	return decode(t, r.body)
}

func decode(t *testing.T, body []byte) (any, *kojixml.Fault) {
	t.Helper()
	v, err := kojixml.DecodeOptions{}.DecodeResponseBytes(body)
	var f *kojixml.Fault
	if errors.As(err, &f) {
		return nil, f
	}
	if err != nil {
		t.Fatalf("decode response: %v\n%s", err, body)
	}
	return v, nil
}

func newHub(t *testing.T, recordings ...string) *Hub {
	t.Helper()
	h, err := New(recordings...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func readRec(t *testing.T, name string) []exchange {
	t.Helper()
	data, err := files.ReadFile("testdata/wire/" + name)
	if err != nil {
		t.Fatal(err)
	}
	exs, err := parseRecording(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return exs
}

// sameAnswer checks that a hub's reply to a recorded request is the
// recorded one: the status, and the value or fault as kojixml decodes it
// (or the body, for an answer that is not XML-RPC).
func sameAnswer(t *testing.T, label string, got reply, want exchange) {
	t.Helper()
	if got.status != want.status {
		t.Errorf("%s: HTTP %d, recorded %d (%s)", label, got.status, want.status, got.body)
		return
	}
	if v := want.respHeader.Get("Koji-Version"); v != "" && got.header.Get("Koji-Version") != v {
		t.Errorf("%s: Koji-Version %q, recorded %q", label, got.header.Get("Koji-Version"), v)
	}
	if want.respHeader.Get("Content-Type") != "text/xml" {
		if !bytes.Equal(got.body, want.respBody) {
			t.Errorf("%s: body %q, recorded %q", label, got.body, want.respBody)
		}
		return
	}
	gv, gf := decode(t, got.body)
	wv, wf := decode(t, want.respBody)
	if !reflect.DeepEqual(gf, wf) {
		t.Errorf("%s: fault %+v, recorded %+v", label, gf, wf)
	}
	if !reflect.DeepEqual(gv, wv) {
		t.Errorf("%s: value\n%s\nrecorded\n%s", label, pyRepr(gv, true), pyRepr(wv, true))
	}
}

// TestReplay posts recorded requests to the default hub and compares its
// answers with the recorded ones.
func TestReplay(t *testing.T) {
	h := newHub(t)
	for _, c := range []struct {
		file string
		sel  string // a string in the request body choosing the exchange
	}{
		{"version.txt", "getKojiVersion"},
		{"call-getLoggedInUser.txt", "getLoggedInUser"},
		{"call-getLoggedInUser.txt", "<methodName>login<"},
		{"call-getLoggedInUser.txt", "<methodName>logout<"},
		{"host-sslLogin-simulated.txt", "sslLogin"},
		{"call-hasPerm.txt", "hasPerm"},
		{"list-permissions.txt", "getUserPermsInheritance"},
		{"list-permissions.txt", "<methodName>getUser<"},
		{"call-getAllPerms.txt", "getAllPerms"},
		{"listHosts-after-update.txt", "listHosts"},
		{"list-channels.txt", "<methodName>listChannels<"},
		{"list-channels.txt", "multiCall"},
		{"list-hosts-quiet.txt", "multiCall"},
		{"call-getHost.txt", "getHost"},
		{"getHost-nonexistent.txt", "getHost"},
		{"fault-getHost-nonexistent-strict.txt", "getHost"},
		{"enable-host.txt", "<string>enableHost<"},
		{"disable-host.txt", "<string>disableHost<"},
		{"edit-host.txt", "<string>editHost<"},
		{"call-listTasks.txt", "listTasks"},
		{"list-tasks.txt", "listTasks"},
		{"getTaskInfo-closed.txt", "getTaskInfo"},
		{"call-getTaskInfo.txt", "getTaskInfo"},
		{"getTaskInfo-failed.txt", "getTaskInfo"},
		{"getTaskInfo-refused.txt", "getTaskInfo"},
		{"call-getTaskInfo-request.txt", "getTaskInfo"},
		{"call-getTaskInfo-nonexistent.txt", "getTaskInfo"},
		{"fault-getTaskInfo-nonexistent-strict.txt", "getTaskInfo"},
		{"getTaskResult-closed.txt", "getTaskResult"},
		{"fault-getTaskResult-failed.txt", "getTaskResult"},
		{"taskinfo.txt", "listTaskOutput"},
		{"taskinfo.txt", "getTaskRequest"},
		{"fault-invalid-method.txt", "noSuchMethod"},
		{"raw-fault-missing-args.txt", "getHost"},
		{"raw-fault-wrong-argtype.txt", "getTaskInfo"},
		{"raw-fault-malformed-xml.txt", "getAPIVersion"},
		{"raw-empty-body.txt", ""},
	} {
		ex := pick(t, c.file, c.sel)
		got := post(t, h, ex.path, ex.reqHeader, ex.reqBody)
		sameAnswer(t, c.file+" "+c.sel, got, ex)
	}
}

// pick returns the last exchange of a recording whose request body holds
// sel.
func pick(t *testing.T, file, sel string) exchange {
	t.Helper()
	exs := readRec(t, file)
	for i := len(exs) - 1; i >= 0; i-- {
		if bytes.Contains(exs[i].reqBody, []byte(sel)) {
			return exs[i]
		}
	}
	t.Fatalf("%s: no request with %q", file, sel)
	return exchange{}
}

// TestEachRecordingAlone loads each recording alone and replays all of its
// exchanges: the hub answers every one as recorded.
func TestEachRecordingAlone(t *testing.T) {
	names, err := fs.Glob(files, "testdata/wire/*.txt")
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded recordings: %v %v", names, err)
	}
	for _, path := range names {
		name := strings.TrimPrefix(path, "testdata/wire/")
		t.Run(name, func(t *testing.T) {
			h := newHub(t, name)
			for i, ex := range readRec(t, name) {
				var got reply
				if ex.method != http.MethodPost {
					req := httptest.NewRequest(ex.method, ex.path, nil)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					got = reply{rec.Code, rec.Header(), rec.Body.Bytes()}
				} else {
					got = post(t, h, ex.path, ex.reqHeader, ex.reqBody)
				}
				sameAnswer(t, name+"#"+strconv.Itoa(i+1), got, ex)
			}
		})
	}
}

func TestMultiCall(t *testing.T) {
	h := newHub(t)
	entry := func(m string, params ...any) kojixml.Struct {
		if params == nil {
			params = []any{}
		}
		return kojixml.Struct{{Name: "methodName", Value: m}, {Name: "params", Value: params}}
	}
	calls := []any{
		entry("getHost", "builder1"),
		entry("kojigo.listHostHealth"),
		entry("getTaskInfo", int64(99999), map[string]any{"strict": true, "__starstar": true}),
		entry("getHost", "nosuchhost", map[string]any{"strict": true, "__starstar": true}),
		entry("listHosts"),
		entry("getAPIVersion"),
	}
	for _, mc := range []string{"multiCall", "system.multicall"} {
		h.ResetCalls()
		v, f := call(t, h, mc, nil, calls)
		if f != nil {
			t.Fatalf("%s: fault %v", mc, f)
		}
		res, ok := v.([]any)
		if !ok || len(res) != len(calls) {
			t.Fatalf("%s: %s", mc, pyRepr(v, true))
		}
		host, _ := call(t, h, "getHost", nil, "builder1")
		hosts, _ := call(t, h, "listHosts", nil)
		want := []any{
			[]any{host},
			map[string]any{"faultCode": int64(1000), "faultString": "Invalid method: kojigo.listHostHealth"},
			nil, // recorded with Koji's traceback: checked below
			map[string]any{"faultCode": int64(1000), "faultString": "Invalid hostInfo: nosuchhost"},
			[]any{hosts},
			[]any{int64(1)},
		}
		for i := range want {
			if i == 2 {
				m, _ := res[i].(map[string]any)
				if m["faultCode"] != int64(1000) || m["faultString"] != "query returned no rows" || m["traceback"] == nil {
					t.Errorf("%s entry %d: %s, want the recorded fault with its traceback", mc, i, pyRepr(res[i], true))
				}
				continue
			}
			if !reflect.DeepEqual(res[i], want[i]) {
				t.Errorf("%s entry %d: %s, want %s", mc, i, pyRepr(res[i], true), pyRepr(want[i], true))
			}
		}
		wantCalls := []string{mc, mc + ">getHost", mc + ">kojigo.listHostHealth", mc + ">getTaskInfo",
			mc + ">getHost", mc + ">listHosts", mc + ">getAPIVersion", "getHost", "listHosts"}
		if got := h.Calls(); !slices.Equal(got, wantCalls) {
			t.Errorf("Calls() = %q, want %q", got, wantCalls)
		}
	}
}

func TestMultiCallArguments(t *testing.T) {
	h := newHub(t)
	one := []any{kojixml.Struct{{Name: "methodName", Value: "getAPIVersion"}, {Name: "params", Value: []any{}}}}
	for _, c := range []struct {
		name   string
		kwargs map[string]any
		params []any
		code   int
		msg    string
	}{
		{"strict", map[string]any{"strict": true}, []any{one}, kojixml.ParameterError,
			"ModXMLRPCRequestHandler.multiCall() got an unexpected keyword argument 'strict'"},
		{"two positional", nil, []any{one, true}, kojixml.ParameterError,
			"ModXMLRPCRequestHandler.multiCall() takes 2 positional arguments but 3 were given"},
		{"none", nil, nil, kojixml.ParameterError,
			"ModXMLRPCRequestHandler.multiCall() missing 1 required positional argument: 'calls'"},
		{"not iterable", nil, []any{int64(5)}, kojixml.UnknownError,
			"<class 'TypeError'>: 'int' object is not iterable"},
	} {
		_, f := call(t, h, "multiCall", c.kwargs, c.params...)
		if f == nil || f.Code != c.code || f.String != c.msg {
			t.Errorf("%s: fault %+v, want %d %q", c.name, f, c.code, c.msg)
		}
	}
	if v, f := call(t, h, "multiCall", map[string]any{"calls": one}); f != nil || !reflect.DeepEqual(v, []any{[]any{int64(1)}}) {
		t.Errorf("calls by keyword: %v %v", pyRepr(v, true), f)
	}
	// Entries of the wrong shape fail in place, as Python's errors.
	bad := []any{
		"getAPIVersion",
		map[string]any{"params": []any{}},
		map[string]any{"methodName": "getAPIVersion"},
		map[string]any{"methodName": "getAPIVersion", "params": int64(3)},
		map[string]any{"methodName": "kojigo.hostHealth", "params": int64(3)},
		[]any{},
	}
	v, f := call(t, h, "multiCall", nil, bad)
	if f != nil {
		t.Fatal(f)
	}
	wantMsgs := []string{
		"string indices must be integers, not 'str'",
		"methodName",
		"params",
		"koji.decode_args() argument after * must be an iterable, not int",
		"Invalid method: kojigo.hostHealth",
		"list indices must be integers or slices, not str",
	}
	res, _ := v.([]any)
	if len(res) != len(wantMsgs) {
		t.Fatalf("got %s", pyRepr(v, true))
	}
	for i, w := range wantMsgs {
		m, _ := res[i].(map[string]any)
		if m["faultString"] != w {
			t.Errorf("bad entry %d: %s, want %q", i, pyRepr(res[i], true), w)
		}
	}
	// Nested multicalls run as Koji runs them.
	h.ResetCalls()
	nested := []any{kojixml.Struct{{Name: "methodName", Value: "multiCall"}, {Name: "params", Value: []any{one}}}}
	v, f = call(t, h, "multiCall", nil, nested)
	if f != nil || !reflect.DeepEqual(v, []any{[]any{[]any{[]any{int64(1)}}}}) {
		t.Errorf("nested: %s %v", pyRepr(v, true), f)
	}
	if got, want := h.Calls(), []string{"multiCall", "multiCall>multiCall", "multiCall>multiCall>getAPIVersion"}; !slices.Equal(got, want) {
		t.Errorf("nested Calls() = %q, want %q", got, want)
	}
}

// TestStockMethods: kojigo's extensions are Koji's "Invalid method", and a
// Koji method without a recording is a GenericError naming the call.
func TestStockMethods(t *testing.T) {
	h := newHub(t)
	rec := pick(t, "fault-invalid-method.txt", "noSuchMethod")
	_, wantF := decode(t, rec.respBody)
	for _, m := range []string{"kojigo.listHostHealth", "kojigo.version", "noSuchMethod", "system.listmethods"} {
		_, f := call(t, h, m, nil)
		if f == nil || f.Code != wantF.Code || f.String != "Invalid method: "+m {
			t.Errorf("%s: fault %+v, want %d %q", m, f, wantF.Code, "Invalid method: "+m)
		}
	}
	_, f := call(t, h, "downloadTaskOutput", map[string]any{"offset": int64(0)}, int64(2), "build.log")
	if f == nil || f.Code != kojixml.GenericError ||
		f.String != UnrecordedPrefix+"downloadTaskOutput(2, 'build.log', offset=0)" {
		t.Errorf("downloadTaskOutput: fault %+v", f)
	}
}

func TestSessions(t *testing.T) {
	h := newHub(t)
	loginEx := pick(t, "call-getLoggedInUser.txt", "<methodName>login<")
	wantSession, _ := decode(t, loginEx.respBody)
	v, f := call(t, h, "login", map[string]any{"opts": nil}, "anyone", "any password")
	if f != nil || !reflect.DeepEqual(v, wantSession) {
		t.Errorf("login = %s %v, want %s", pyRepr(v, true), f, pyRepr(wantSession, true))
	}
	sslEx := pick(t, "host-sslLogin-simulated.txt", "sslLogin")
	wantSSL, _ := decode(t, sslEx.respBody)
	if v, f := call(t, h, "sslLogin", nil); f != nil || !reflect.DeepEqual(v, wantSSL) {
		t.Errorf("sslLogin = %s %v", pyRepr(v, true), f)
	}
	var b bytes.Buffer
	kojixml.EncodeCall(&b, "getLoggedInUser", nil)
	hdr := http.Header{"Koji-Session-Id": {"12"}, "Koji-Session-Key": {"1-bogus"}, "Koji-Session-Callnum": {"7"}}
	r := post(t, h, "/kojihub?session-id=12&session-key=1-bogus&callnum=7", hdr, b.Bytes())
	sameAnswer(t, "getLoggedInUser with a session", r, pick(t, "call-getLoggedInUser.txt", "getLoggedInUser"))
	if v, f := call(t, h, "logout", map[string]any{"session_id": nil}); f != nil || v != nil {
		t.Errorf("logout = %v %v", v, f)
	}
	if v, f := call(t, h, "getKojiVersion", nil); f != nil || v != "1.35.3" {
		t.Errorf("getKojiVersion = %v %v", v, f)
	}
	if r.header.Get("Koji-Version") != "1.35.3" {
		t.Errorf("Koji-Version header %q", r.header.Get("Koji-Version"))
	}
}

func TestPerms(t *testing.T) {
	h := newHub(t)
	if v, f := call(t, h, "getPerms", nil); f != nil || !reflect.DeepEqual(v, []any{"admin"}) {
		t.Errorf("getPerms = %s %v", pyRepr(v, true), f)
	}
	for perm, want := range map[string]bool{"admin": true, "repo": false, "host": false} {
		if v, f := call(t, h, "hasPerm", nil, perm); f != nil || v != want {
			t.Errorf("hasPerm(%q) = %v %v, want %v", perm, v, f, want)
		}
	}
	// Without the permission recordings, hasPerm's answers are the perms.
	h = newHub(t, "call-hasPerm.txt")
	if v, f := call(t, h, "getPerms", nil); f != nil || !reflect.DeepEqual(v, []any{"admin"}) {
		t.Errorf("getPerms from hasPerm = %s %v", pyRepr(v, true), f)
	}
}

func TestListTasksRule(t *testing.T) {
	h := newHub(t)
	ids := func(v any) []int64 {
		var out []int64
		list, _ := v.([]any)
		for _, t := range list {
			id, _ := member(t, "id")
			out = append(out, id.(int64))
		}
		return out
	}
	recorded := pick(t, "list-tasks.txt", "listTasks")
	wantDecoded, _ := decode(t, recorded.respBody)
	for _, c := range []struct {
		name        string
		opts, qopts map[string]any
		want        []int64
	}{
		{"no opts", nil, nil, []int64{1, 2}},
		{"open", map[string]any{"state": []any{int64(1)}}, nil, nil},
		{"free", map[string]any{"state": []any{int64(0)}}, nil, []int64{1, 2}},
		{"not free", map[string]any{"not_state": []any{int64(0)}}, nil, nil},
		{"no host", map[string]any{"host_id": nil}, nil, []int64{1, 2}},
		{"on host 1", map[string]any{"host_id": int64(1)}, nil, nil},
		{"not on host 1", map[string]any{"not_host_id": int64(1)}, nil, nil}, // NULL host_id: SQL drops it
		{"method", map[string]any{"method": "newRepo"}, nil, []int64{1, 2}},
		{"created after", map[string]any{"createdAfter": 1795725897.0}, nil, []int64{2}},
		{"created before", map[string]any{"createdBefore": "2026-11-26 20:44:57"}, nil, []int64{1}},
		{"order", nil, map[string]any{"order": "-id"}, []int64{2, 1}},
		{"limit", nil, map[string]any{"order": "-id", "limit": int64(1)}, []int64{2}},
		{"offset", nil, map[string]any{"offset": int64(1)}, []int64{2}},
	} {
		var params []any
		if c.opts != nil || c.qopts != nil {
			params = []any{c.opts, c.qopts}
		}
		v, f := call(t, h, "listTasks", nil, params...)
		if f != nil {
			t.Errorf("%s: %v", c.name, f)
			continue
		}
		if got := ids(v); !slices.Equal(got, c.want) {
			t.Errorf("%s: ids %v, want %v", c.name, got, c.want)
		}
	}
	// decode=True with another state filter decodes the recorded list in Go,
	// as Koji's listTasks does: the same answer as the recorded one.
	v, f := call(t, h, "listTasks", nil, map[string]any{"decode": true, "state": []any{int64(0), int64(1)}})
	if f != nil || !reflect.DeepEqual(v, wantDecoded) {
		t.Errorf("decoded: %s %v\nwant %s", pyRepr(v, true), f, pyRepr(wantDecoded, true))
	}
	if v, f := call(t, h, "listTasks", map[string]any{"queryOpts": map[string]any{"countOnly": true}}); f != nil || v != int64(2) {
		t.Errorf("countOnly = %v %v", v, f)
	}
	if _, f := call(t, h, "listTasks", nil, nil, nil, int64(3)); f == nil || f.Code != kojixml.ParameterError {
		t.Errorf("three arguments: fault %+v, want a ParameterError", f)
	}
}

func TestTaskRules(t *testing.T) {
	h := newHub(t)
	if v, f := call(t, h, "getTaskChildren", nil, int64(1)); f != nil || !reflect.DeepEqual(v, []any{}) {
		t.Errorf("getTaskChildren(1) = %s %v", pyRepr(v, true), f)
	}
	if _, f := call(t, h, "getTaskChildren", map[string]any{"strict": true}, int64(99999)); f == nil || f.String != "query returned no rows" {
		t.Errorf("getTaskChildren(99999, strict) fault %+v", f)
	}
	one, _ := call(t, h, "getTaskInfo", nil, int64(1))
	three, _ := call(t, h, "getTaskInfo", nil, int64(3))
	if v, f := call(t, h, "getTaskInfo", nil, []any{int64(1), int64(3)}); f != nil || !reflect.DeepEqual(v, []any{one, three}) {
		t.Errorf("getTaskInfo([1, 3]) = %s %v", pyRepr(v, true), f)
	}
	// Without an exact recording, the answer for the same first argument.
	if v, f := call(t, h, "getTaskInfo", map[string]any{"request": true}, int64(3)); f != nil || !reflect.DeepEqual(v, three) {
		t.Errorf("getTaskInfo(3, request=True) = %s %v", pyRepr(v, true), f)
	}
}

func TestBadRequests(t *testing.T) {
	h := newHub(t)
	malformed := pick(t, "raw-fault-malformed-xml.txt", "getAPIVersion")
	empty := pick(t, "raw-empty-body.txt", "")
	for _, c := range []struct {
		name string
		body []byte
		want string
	}{
		{"empty", nil, string(empty.respBody)},
		{"truncated", malformed.reqBody, string(malformed.respBody)},
		{"binary", []byte("\x00\xff\xfe<"), ""},
		{"not xml-rpc", []byte("<?xml version='1.0'?>\n<foo/>"), ""},
		// kojixml's limits (Koji's expat would parse these).
		{"doctype", []byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><methodCall><methodName>getAPIVersion</methodName></methodCall>`), ""},
		{"deep", []byte("<methodCall><methodName>getHost</methodName><params><param>" + strings.Repeat("<value><array><data>", 200) + "</param></params></methodCall>"), ""},
		{"too long", bytes.Repeat([]byte(" "), MaxRequestLength+1), "Invalid request: Request too long\n"},
	} {
		r := post(t, h, "/kojihub", nil, c.body)
		if r.status != http.StatusBadRequest || r.header.Get("Content-Type") != "text/plain" ||
			!strings.HasPrefix(string(r.body), "Invalid request: ") || (c.want != "" && string(r.body) != c.want) {
			t.Errorf("%s: HTTP %d %q, want 400 %q", c.name, r.status, r.body, c.want)
		}
		if r.header.Get("Koji-Version") != "1.35.3" {
			t.Errorf("%s: no Koji-Version header", c.name)
		}
	}
	// A response is taken as a call of method None, as Python's
	// unmarshaller does.
	resp := []byte("<?xml version='1.0'?>\n<methodResponse><params><param><value><int>1</int></value></param></params></methodResponse>")
	if r := post(t, h, "/kojihub", nil, resp); r.status != http.StatusOK {
		t.Errorf("methodResponse: HTTP %d %q", r.status, r.body)
	} else if _, f := decode(t, r.body); f == nil || f.String != "Invalid method: None" {
		t.Errorf("methodResponse: fault %+v", f)
	}
	// A call of exactly MaxRequestLength bytes is read.
	var b bytes.Buffer
	kojixml.EncodeCall(&b, "getHost", []any{""})
	pad := MaxRequestLength - b.Len()
	b.Reset()
	kojixml.EncodeCall(&b, "getHost", []any{strings.Repeat("x", pad)})
	if b.Len() != MaxRequestLength {
		t.Fatalf("padded call is %d bytes", b.Len())
	}
	if r := post(t, h, "/kojihub", nil, b.Bytes()); r.status != http.StatusOK {
		t.Errorf("call of MaxRequestLength bytes: HTTP %d %q", r.status, r.body)
	}
	// Arguments Koji's method would refuse are replayed when recorded.
	if _, f := call(t, h, "getHost", nil); f == nil || f.Code != kojixml.ParameterError {
		t.Errorf("getHost(): fault %+v", f)
	}
	// Every prefix of recorded requests is answered without a panic.
	for _, name := range []string{"multiCall-mixed.txt", "list-tasks.txt", "edit-host.txt"} {
		for _, ex := range readRec(t, name) {
			for n := 0; n < len(ex.reqBody); n += 7 {
				r := post(t, h, "/kojihub", nil, ex.reqBody[:n])
				if r.status != http.StatusOK && r.status != http.StatusBadRequest {
					t.Fatalf("%s prefix %d: HTTP %d", name, n, r.status)
				}
			}
		}
	}
}

func TestCalls(t *testing.T) {
	h := newHub(t)
	if len(h.Calls()) != 0 {
		t.Fatalf("new hub has calls %q", h.Calls())
	}
	call(t, h, "getAPIVersion", nil)
	call(t, h, "listHosts", nil)
	post(t, h, "/kojihub", nil, []byte("<methodCall>")) // not a call: not counted
	call(t, h, "multiCall", nil, []any{
		map[string]any{"methodName": "listChannels", "params": []any{map[string]any{"hostID": int64(1), "__starstar": true}}},
		map[string]any{"methodName": "kojigo.listHostHealth", "params": []any{}},
	})
	want := []string{"getAPIVersion", "listHosts", "multiCall", "multiCall>listChannels", "multiCall>kojigo.listHostHealth"}
	got := h.Calls()
	if !slices.Equal(got, want) {
		t.Errorf("Calls() = %q, want %q", got, want)
	}
	got[0] = "changed"
	if h.Calls()[0] != "getAPIVersion" {
		t.Error("Calls() shares its slice")
	}
	h.ResetCalls()
	if len(h.Calls()) != 0 {
		t.Errorf("after ResetCalls: %q", h.Calls())
	}
}

func TestNew(t *testing.T) {
	if _, err := New("no-such-recording.txt"); err == nil {
		t.Error("New with a missing recording: no error")
	}
	// A scenario: the caller's recordings first, login and versions added.
	h := newHub(t, "list-hosts-empty.txt")
	if v, f := call(t, h, "listHosts", nil); f != nil || !reflect.DeepEqual(v, []any{}) {
		t.Errorf("listHosts = %s %v", pyRepr(v, true), f)
	}
	if v, f := call(t, h, "getKojiVersion", nil); f != nil || v != "1.35.3" {
		t.Errorf("getKojiVersion = %v %v", v, f)
	}
	if _, f := call(t, h, "getHost", nil, "builder1"); f == nil || !strings.HasPrefix(f.String, UnrecordedPrefix+"getHost(") {
		t.Errorf("unrecorded getHost: fault %+v", f)
	}
	// Recordings given first win.
	h = newHub(t, append([]string{"list-hosts-after-disable.txt"}, DefaultRecordings()...)...)
	v, _ := call(t, h, "listHosts", nil)
	list, _ := v.([]any)
	if len(list) != 1 {
		t.Fatalf("listHosts = %s", pyRepr(v, true))
	}
	if en, _ := member(list[0], "enabled"); en != false {
		t.Errorf("listHosts = %s, want the disabled builder1", pyRepr(v, true))
	}
	// A recording on disk is read too.
	if _, err := New("testdata/wire/list-hosts.txt"); err != nil {
		t.Errorf("recording on disk: %v", err)
	}
}

func TestGet(t *testing.T) {
	h := newHub(t)
	ex := readRec(t, "raw-get-405.txt")[0]
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/kojihub", nil))
	sameAnswer(t, "GET", reply{rec.Code, rec.Header(), rec.Body.Bytes()}, ex)
	if rec.Header().Get("Allow") != "POST" {
		t.Errorf("Allow = %q", rec.Header().Get("Allow"))
	}
}
