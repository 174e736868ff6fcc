package stockhub

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"kojigo/internal/kojixml"
)

//go:embed testdata/wire/*.txt testdata/koji-1.35.3-methods.txt
var files embed.FS

const (
	// MaxRequestLength is Koji's default MaxRequestLength: a larger body is
	// refused with HTTP 400 "Invalid request: Request too long", as Koji
	// 1.35.3 refuses it.
	MaxRequestLength = 4 << 20

	// UnrecordedPrefix starts the fault string of the GenericError (1000) a
	// Hub answers for a Koji 1.35.3 method no loaded recording answers.
	UnrecordedPrefix = "stockhub: unrecorded call: "

	// multiCallName is how Python names the multicall handler in the
	// TypeError Koji turns into a ParameterError.
	multiCallName = "ModXMLRPCRequestHandler.multiCall"
)

// defaultRecordings is the set New loads when given none: one hub state,
// recorded at different moments (the order decides which answer wins when
// two recordings answer the same call).
var defaultRecordings = []string{
	// sessions, versions, permissions
	"call-getLoggedInUser.txt",    // login, getLoggedInUser (kojiadmin), logout
	"version.txt",                 // getKojiVersion
	"host-sslLogin-simulated.txt", // sslLogin
	"call-hasPerm.txt",            // hasPerm('admin')
	"list-permissions.txt",        // getUser(1), getUserPermsInheritance(1)
	"call-getAllPerms.txt",        // getAllPerms
	// hosts and channels
	"listHosts-after-update.txt",           // listHosts(): builder1 (busy) and builder2
	"list-channels.txt",                    // listChannels(); listHosts(channelID=N) in a multicall
	"list-hosts-quiet.txt",                 // listChannels(hostID) in a multicall
	"call-getHost.txt",                     // getHost('builder1')
	"getHost-nonexistent.txt",              // getHost('nosuchhost') -> None
	"fault-getHost-nonexistent-strict.txt", // getHost('nosuchhost', strict=True) -> fault
	"enable-host.txt",                      // enableHost in a multicall
	"disable-host.txt",                     // disableHost in a multicall
	"edit-host.txt",                        // editHost in a multicall
	// tasks
	"call-listTasks.txt",                       // listTasks()
	"list-tasks.txt",                           // listTasks({decode, state}, {order})
	"getTaskInfo-closed.txt",                   // getTaskInfo(1): closed
	"call-getTaskInfo.txt",                     // getTaskInfo(2): free
	"getTaskInfo-failed.txt",                   // getTaskInfo(3): failed
	"getTaskInfo-refused.txt",                  // getTaskInfo(4): free, refused once
	"call-getTaskInfo-request.txt",             // getTaskInfo(2, request=True)
	"call-getTaskInfo-nonexistent.txt",         // getTaskInfo(99999) -> None
	"fault-getTaskInfo-nonexistent-strict.txt", // getTaskInfo(99999, strict=True) -> fault
	"getTaskResult-closed.txt",                 // getTaskResult(1)
	"fault-getTaskResult-failed.txt",           // getTaskResult(3) -> fault
	"taskinfo.txt",                             // listTaskOutput, getTaskRequest, listBuildroots, listBuilds, getTag
	// faults
	"multiCall-mixed.txt",         // getHost, getTaskInfo(strict) fault, getAPIVersion in a multicall
	"fault-invalid-method.txt",    // noSuchMethod
	"raw-fault-missing-args.txt",  // getHost() -> ParameterError
	"raw-fault-wrong-argtype.txt", // getTaskInfo('notanumber') -> ParameterError
}

// baseRecordings are loaded after the caller's, so that every Hub can log in
// and tell its versions.
var baseRecordings = []string{"call-getLoggedInUser.txt", "version.txt"}

// DefaultRecordings returns the names of the recordings New loads when given
// none, in the order that decides which answer wins.
func DefaultRecordings() []string { return slices.Clone(defaultRecordings) }

// Hub answers Koji XML-RPC calls from recordings of a stock Koji 1.35.3 hub.
// It is safe for concurrent use. Its state never changes: enableHost answers
// as recorded and listHosts goes on answering what was recorded. A replayed
// answer is encoded byte for byte as the recorded hub wrote it.
//
// A call is answered, in this order:
//
//   - multiCall and system.multicall by rule, as Koji runs them: each entry
//     answered as a call of its own, a success as a one-element list, a
//     fault as a {faultCode, faultString} struct in place (a fault recorded
//     inside a multicall keeps the traceback member Koji added). Koji
//     1.35.3's multiCall takes only calls (strict is the client's business):
//     a strict argument is a ParameterError, as there.
//   - a method Koji 1.35.3 does not have (testdata/koji-1.35.3-methods.txt),
//     every kojigo.* extension among them: GenericError 1000
//     "Invalid method: NAME", in place inside a multicall.
//   - login and sslLogin (any credentials) by the first recorded session;
//     logout by None.
//   - the first recorded answer, success or fault, to a call with exactly
//     these arguments (positional and keyword; struct members in any order).
//   - by rule, from recorded data: listTasks (the recorded unfiltered task
//     list, its request and result fields decoded or not as opts.decode
//     asks, filtered in Go by the opts Koji knows: state, arch, owner,
//     host_id, channel_id, parent, their not_ forms, method and the
//     created/started/completed times; then queryOpts order, offset, limit,
//     countOnly, asList); getTaskChildren (the recorded tasks whose parent
//     is the task); getTaskInfo with a list of IDs (each ID answered alone);
//     getPerms and hasPerm (the recorded user's permissions, from
//     getUserPermsInheritance, getUserPerms or hasPerm recordings).
//   - the first successful answer recorded for the method with the same
//     first argument (getTaskInfo(3, request=True) answers as getTaskInfo(3)),
//     else the first successful answer recorded for the method.
//   - otherwise (a Koji method no recording answers, such as
//     downloadTaskOutput): GenericError 1000, faultString UnrecordedPrefix +
//     "NAME(ARGS)". Koji answers a call that fails with this fault class, so
//     a client sees an ordinary hub error, never an invented value.
//
// Of the methods kojitop calls, the default recordings hold getAPIVersion,
// getKojiVersion, getLoggedInUser, login, sslLogin, logout, hasPerm,
// listHosts (also by channelID), getHost, listChannels (also by hostID),
// listTasks, getTaskInfo, getTaskResult, listTaskOutput, and enableHost,
// disableHost and editHost (recorded as multicall entries; a plain call gets
// the same answer); also getAllPerms, getUser, getUserPermsInheritance,
// getTaskRequest, getTag, listBuildroots and listBuilds. getPerms and
// getTaskChildren have no recording and are answered by rule;
// downloadTaskOutput has none and is answered as unrecorded.
//
// HTTP: any path is served (Koji serves /kojihub and /kojihub/ssllogin).
// Session headers and query parameters are accepted and ignored: every call
// is answered as the recorded user's (kojiadmin). Every response carries the
// recorded Koji-Version header. As Koji 1.35.3 answers them: a request other
// than POST gets 405; an empty body, a body that is not XML-RPC, or one over
// MaxRequestLength gets 400 text/plain "Invalid request: ...": Koji answers a
// body it cannot parse so, not with an XML-RPC fault (the decoder, kojixml,
// also refuses a DOCTYPE and nesting deeper than 64, which Koji's expat would
// parse). A <methodResponse> body is a call of method None ("Invalid method:
// None"), and a well-formed call with bad arguments gets an XML-RPC fault. A
// raw upload (application/octet-stream) is answered as unrecorded.
type Hub struct {
	version string              // Koji-Version header
	known   map[string]bool     // Koji 1.35.3's methods
	methods map[string]*method  // recorded answers by method name
	session map[string]*answer  // login, sslLogin: the session they answer
	sources map[string]struct{} // recordings loaded

	mu    sync.Mutex
	calls []string
}

// answer is one recorded answer to a call.
type answer struct {
	params []any          // the call's parameters (structs as maps)
	value  any            // the result (structs as kojixml.Struct, in recorded order)
	fault  *kojixml.Fault // or the fault
	// inPlace is the fault as Koji wrote it inside a multicall (with its
	// traceback), when it was recorded there.
	inPlace any
}

// method is the recorded answers of one method.
type method struct {
	exact   map[string]*answer // by canonical parameters, first recorded
	answers []*answer          // in recording order
}

// result is the answer to one call.
type result struct {
	value   any
	fault   *kojixml.Fault
	inPlace any // the fault's multicall form, when recorded
}

func faultResult(code int, format string, args ...any) result {
	return result{fault: kojixml.Errorf(code, format, args...)}
}

func (a *answer) result() result {
	return result{value: a.value, fault: a.fault, inPlace: a.inPlace}
}

// New returns a Hub answering from recordings: file names in testdata/wire
// (embedded in the package; see DefaultRecordings and testdata/wire/README.md)
// or, for a name not embedded, a recording file on disk. With none it loads
// DefaultRecordings. The recordings given first win when several answer the
// same call; those New always adds (login, getLoggedInUser, logout,
// getKojiVersion, getAPIVersion) come after them.
func New(recordings ...string) (*Hub, error) {
	h := &Hub{
		known:   map[string]bool{},
		methods: map[string]*method{},
		session: map[string]*answer{},
		sources: map[string]struct{}{},
	}
	list, err := files.ReadFile("testdata/koji-1.35.3-methods.txt")
	if err != nil {
		return nil, fmt.Errorf("stockhub: %w", err)
	}
	for _, l := range strings.Split(string(list), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			h.known[l] = true
		}
	}
	names := recordings
	if len(names) == 0 {
		names = defaultRecordings
	}
	for _, name := range append(slices.Clone(names), baseRecordings...) {
		if _, dup := h.sources[name]; dup {
			continue
		}
		h.sources[name] = struct{}{}
		if err := h.load(name); err != nil {
			return nil, fmt.Errorf("stockhub: recording %s: %w", name, err)
		}
	}
	if h.version == "" {
		h.version = "1.35.3"
	}
	for _, m := range []string{"login", "sslLogin"} {
		if a := h.methods[m].firstOK(nil); a != nil {
			h.session[m] = a
		}
	}
	if h.session["sslLogin"] == nil {
		h.session["sslLogin"] = h.session["login"]
	}
	return h, nil
}

// readRecording returns an embedded recording, or a file's contents.
func readRecording(name string) ([]byte, error) {
	data, err := files.ReadFile("testdata/wire/" + name)
	if err == nil {
		return data, nil
	}
	if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrInvalid) {
		return nil, err
	}
	data, err = os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("not embedded in testdata/wire, and %w", err)
	}
	return data, nil
}

// load indexes every answered XML-RPC call of a recording.
func (h *Hub) load(name string) error {
	data, err := readRecording(name)
	if err != nil {
		return err
	}
	exs, err := parseRecording(data)
	if err != nil {
		return err
	}
	for i, ex := range exs {
		if ex.status != http.StatusOK || len(ex.respBody) == 0 {
			continue // an HTTP-level refusal: answered by rule
		}
		call, err := kojixml.DecodeOptions{}.DecodeCallBytes(ex.reqBody)
		if err != nil {
			continue
		}
		if v := ex.respHeader.Get("Koji-Version"); h.version == "" && v != "" {
			h.version = v
		}
		val, err := kojixml.DecodeOptions{PreserveOrder: true}.DecodeResponseBytes(ex.respBody)
		var f *kojixml.Fault
		if err != nil && !errors.As(err, &f) {
			return fmt.Errorf("exchange %d: response: %w", i+1, err)
		}
		if f == nil && (call.Method == "multiCall" || call.Method == "system.multicall") {
			if err := h.addMultiCall(call.Params, val); err != nil {
				return fmt.Errorf("exchange %d: %w", i+1, err)
			}
			continue
		}
		h.add(call.Method, &answer{params: call.Params, value: val, fault: f})
	}
	return nil
}

// addMultiCall indexes each entry of a recorded multicall.
func (h *Hub) addMultiCall(params []any, val any) error {
	var calls []any
	if len(params) > 0 {
		calls, _ = params[0].([]any)
	}
	results, ok := val.([]any)
	if !ok || len(results) != len(calls) {
		return fmt.Errorf("multicall of %d calls answered by %T", len(calls), val)
	}
	for i, c := range calls {
		spec, _ := c.(map[string]any)
		name, _ := spec["methodName"].(string)
		ps, _ := spec["params"].([]any)
		if name == "" {
			continue
		}
		a := &answer{params: ps}
		switch r := results[i].(type) {
		case []any:
			if len(r) != 1 {
				return fmt.Errorf("multicall result %d: %d values", i+1, len(r))
			}
			a.value = r[0]
		default:
			code, _ := member(r, "faultCode")
			msg, _ := member(r, "faultString")
			c, ok1 := code.(int64)
			s, ok2 := msg.(string)
			if !ok1 || !ok2 {
				return fmt.Errorf("multicall result %d: neither a value nor a fault", i+1)
			}
			a.fault = &kojixml.Fault{Code: int(c), String: s}
			a.inPlace = r
		}
		h.add(name, a)
	}
	return nil
}

func (h *Hub) add(name string, a *answer) {
	m := h.methods[name]
	if m == nil {
		m = &method{exact: map[string]*answer{}}
		h.methods[name] = m
	}
	if a.params == nil {
		a.params = []any{}
	}
	k := canon(a.params)
	switch first, ok := m.exact[k]; {
	case !ok:
		m.exact[k] = a
	case first.fault != nil && first.inPlace == nil && a.inPlace != nil && *first.fault == *a.fault:
		// The same fault recorded inside a multicall: replay it there as
		// Koji wrote it (with its traceback).
		first.inPlace = a.inPlace
	}
	m.answers = append(m.answers, a)
}

// canon is the canonical form of a call's parameters: their encoding, which
// writes struct members sorted.
func canon(params []any) string {
	if params == nil {
		params = []any{}
	}
	b, err := kojixml.AppendValue(nil, params)
	if err != nil {
		return fmt.Sprintf("%#v", params)
	}
	return string(b)
}

// lookup returns the first answer recorded for exactly these parameters.
func (m *method) lookup(params []any) *answer {
	if m == nil {
		return nil
	}
	if params == nil {
		params = []any{}
	}
	return m.exact[canon(params)]
}

// firstOK returns the first successful answer whose first argument is
// first's only argument, or with first nil the first successful answer.
func (m *method) firstOK(first []any) *answer {
	if m == nil {
		return nil
	}
	var want string
	if len(first) > 0 {
		want = canon(first[:1])
	}
	for _, a := range m.answers {
		if a.fault != nil {
			continue
		}
		if first == nil {
			return a
		}
		if len(a.params) > 0 && canon(a.params[:1]) == want {
			return a
		}
	}
	return nil
}

// Calls returns the method names received so far, in order: a multicall is
// "multiCall" followed by one "multiCall>METHOD" per entry (nested ones as
// "multiCall>multiCall>METHOD"); a <methodResponse> body is "None", a raw
// upload "upload", and a body that is not XML-RPC adds nothing.
func (h *Hub) Calls() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.calls)
}

// ResetCalls forgets the calls received so far.
func (h *Hub) ResetCalls() {
	h.mu.Lock()
	h.calls = nil
	h.mu.Unlock()
}

func (h *Hub) logCall(name string) {
	h.mu.Lock()
	h.calls = append(h.calls, name)
	h.mu.Unlock()
}

// ServeHTTP answers an XML-RPC call as a stock Koji 1.35.3 hub.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Koji-Version", h.version)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		plain(w, http.StatusMethodNotAllowed, "Method Not Allowed\nThis is an XML-RPC server. Only POST requests are accepted.\n")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestLength+1))
	switch {
	case err != nil:
		plain(w, http.StatusBadRequest, "Invalid request: "+err.Error()+"\n")
		return
	case len(body) > MaxRequestLength:
		plain(w, http.StatusBadRequest, "Invalid request: Request too long\n")
		return
	case len(body) == 0:
		plain(w, http.StatusBadRequest, "Invalid request: Empty request\n")
		return
	}
	if r.Header.Get("Content-Type") == "application/octet-stream" {
		// Koji takes this as a raw upload (uploadFile's chunks).
		h.logCall("upload")
		h.write(w, faultResult(kojixml.GenericError, "%sraw upload (application/octet-stream)", UnrecordedPrefix))
		return
	}
	call, err := kojixml.DecodeOptions{}.DecodeCallBytes(body)
	if err != nil && isResponse(body) {
		// Python's unmarshaller takes a <methodResponse> as a call without
		// a method name, and Koji finds no method None.
		h.logCall("None")
		h.write(w, faultResult(kojixml.GenericError, "Invalid method: None"))
		return
	}
	if err != nil {
		var se *kojixml.SyntaxError
		msg := strings.TrimPrefix(err.Error(), "decode call: ")
		switch {
		case errors.Is(err, kojixml.ErrEmpty):
			msg = "Empty request"
		case errors.As(err, &se):
			msg = se.Error()
		}
		plain(w, http.StatusBadRequest, "Invalid request: "+msg+"\n")
		return
	}
	h.write(w, h.call(call.Method, call.Params, ""))
}

// isResponse reports whether body is a <methodResponse> with a value.
func isResponse(body []byte) bool {
	_, err := kojixml.DecodeOptions{}.DecodeResponseBytes(body)
	return err == nil
}

func plain(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.Itoa(len(msg)))
	w.WriteHeader(code)
	io.WriteString(w, msg)
}

func (h *Hub) write(w http.ResponseWriter, res result) {
	var buf bytes.Buffer
	if res.fault == nil {
		if err := kojixml.EncodeResponse(&buf, res.value); err != nil {
			buf.Reset()
			res.fault = kojixml.Errorf(kojixml.UnknownError, "stockhub: cannot encode the answer: %v", err)
		}
	}
	if res.fault != nil {
		if err := kojixml.EncodeFault(&buf, res.fault); err != nil {
			http.Error(w, "stockhub: cannot encode the fault", http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}

// call answers one call (logged as prefix+name).
func (h *Hub) call(name string, params []any, prefix string) (res result) {
	h.logCall(prefix + name)
	defer func() {
		if p := recover(); p != nil {
			res = faultResult(kojixml.UnknownError, "stockhub: internal error in %s: %v", name, p)
		}
	}()
	switch name {
	case "multiCall", "system.multicall":
		return h.multiCall(params, prefix+name+">")
	}
	if !h.known[name] {
		return faultResult(kojixml.GenericError, "Invalid method: %s", name)
	}
	switch name {
	case "login", "sslLogin":
		if a := h.session[name]; a != nil {
			return result{value: a.value}
		}
	case "logout":
		return result{}
	}
	m := h.methods[name]
	if a := m.lookup(params); a != nil {
		return a.result()
	}
	if rule := rules[name]; rule != nil {
		if res, ok := rule(h, params); ok {
			return res
		}
	}
	if pos, _ := kojixml.SplitKwargs(params); len(pos) > 0 {
		if a := m.firstOK(pos); a != nil {
			return a.result()
		}
	}
	if a := m.firstOK(nil); a != nil {
		return a.result()
	}
	return faultResult(kojixml.GenericError, "%s%s", UnrecordedPrefix, callString(name, params))
}

// resolve answers a call from the recordings alone (exact, then fallback),
// for rules that answer one call by others.
func (h *Hub) resolve(name string, params []any) (result, bool) {
	m := h.methods[name]
	if a := m.lookup(params); a != nil {
		return a.result(), true
	}
	if pos, _ := kojixml.SplitKwargs(params); len(pos) > 0 {
		if a := m.firstOK(pos); a != nil {
			return a.result(), true
		}
	}
	if a := m.firstOK(nil); a != nil {
		return a.result(), true
	}
	return result{}, false
}

// multiCall runs calls as Koji 1.35.3's ModXMLRPCRequestHandler.multiCall(calls)
// does.
func (h *Hub) multiCall(params []any, prefix string) result {
	pos, kw := kojixml.SplitKwargs(params)
	var calls any
	have := false
	if len(pos) > 0 {
		calls, have = pos[0], true
	}
	for _, k := range sortedKeys(kw) {
		if k != "calls" {
			return faultResult(kojixml.ParameterError, "%s() got an unexpected keyword argument '%s'", multiCallName, k)
		}
		if have {
			return faultResult(kojixml.ParameterError, "%s() got multiple values for argument 'calls'", multiCallName)
		}
		calls, have = kw[k], true
	}
	if len(pos) > 1 {
		return faultResult(kojixml.ParameterError, "%s() takes 2 positional arguments but %d were given", multiCallName, len(pos)+1)
	}
	if !have {
		return faultResult(kojixml.ParameterError, "%s() missing 1 required positional argument: 'calls'", multiCallName)
	}
	entries, ok := pyIter(calls)
	if !ok {
		return faultResult(kojixml.UnknownError, "<class 'TypeError'>: '%s' object is not iterable", pyType(calls))
	}
	out := make([]any, 0, len(entries))
	for _, e := range entries {
		res := h.entry(e, prefix)
		switch {
		case res.fault == nil:
			out = append(out, []any{res.value})
		case res.inPlace != nil:
			out = append(out, res.inPlace)
		default:
			out = append(out, kojixml.Struct{
				{Name: "faultCode", Value: res.fault.Code},
				{Name: "faultString", Value: res.fault.String},
			})
		}
	}
	return result{value: out}
}

// entry answers one multicall entry: call['methodName'], call['params'],
// then the dispatch, with Python's errors for entries of the wrong shape.
func (h *Hub) entry(e any, prefix string) result {
	spec, ok := e.(map[string]any)
	if !ok {
		return faultResult(kojixml.UnknownError, "%s", notSubscriptable(e))
	}
	name, ok := spec["methodName"]
	if !ok {
		return faultResult(kojixml.UnknownError, "methodName")
	}
	ps, ok := spec["params"]
	if !ok {
		return faultResult(kojixml.UnknownError, "params")
	}
	s, ok := name.(string)
	if !ok {
		if t := pyType(name); t == "list" || t == "dict" {
			return faultResult(kojixml.UnknownError, "unhashable type: '%s'", t)
		}
		return faultResult(kojixml.GenericError, "Invalid method: %s", pyRepr(name, false))
	}
	if s != "multiCall" && s != "system.multicall" && !h.known[s] {
		h.logCall(prefix + s)
		return faultResult(kojixml.GenericError, "Invalid method: %s", s)
	}
	args, ok := pyIter(ps)
	if !ok {
		h.logCall(prefix + s)
		return faultResult(kojixml.UnknownError, "koji.decode_args() argument after * must be an iterable, not %s", pyType(ps))
	}
	return h.call(s, args, prefix)
}

// pyIter returns what Python's iteration over v yields: a list's items, a
// dict's keys, a string's characters.
func pyIter(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case map[string]any:
		out := make([]any, 0, len(x))
		for _, k := range sortedKeys(x) {
			out = append(out, k)
		}
		return out, true
	case string:
		out := make([]any, 0, len(x))
		for _, c := range x {
			out = append(out, string(c))
		}
		return out, true
	}
	return nil, false
}

func notSubscriptable(v any) string {
	switch v.(type) {
	case string:
		return "string indices must be integers, not 'str'"
	case []any:
		return "list indices must be integers or slices, not str"
	}
	return fmt.Sprintf("'%s' object is not subscriptable", pyType(v))
}
