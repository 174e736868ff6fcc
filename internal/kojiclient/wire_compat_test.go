package kojiclient

import (
	"bytes"
	"errors"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"kojigo/internal/kojixml"
)

// replayHub answers each method with the response recorded for it, and
// keeps what the client sent.
func replayHub(t *testing.T, answers map[string]exchange) *fakeHub {
	t.Helper()
	h := newFakeHub(t)
	h.raw = func(w http.ResponseWriter, r *http.Request, c *hubCall) bool {
		ex, ok := answers[c.Method]
		if !ok {
			t.Errorf("replay hub: no recorded answer for %s", c.Method)
			http.Error(w, "no recording", http.StatusInternalServerError)
			return true
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(ex.status)
		_, _ = w.Write(ex.respBody)
		return true
	}
	return h
}

func recordedParams(t *testing.T, ex exchange) []any {
	t.Helper()
	call, err := kojixml.DecodeCall(bytes.NewReader(ex.reqBody))
	if err != nil {
		t.Fatalf("decode recorded call: %v", err)
	}
	return call.Params
}

// TestWireHostSessionMatchesPython drives kojid's sequence of calls and
// checks every request body is byte for byte what Koji's Python client sent
// to the real hub, with the session headers and a callnum counting from 0.
func TestWireHostSessionMatchesPython(t *testing.T) {
	rec := map[string]exchange{
		"login":              lastWith(t, "host-login-password.txt", "login"),
		"exclusiveSession":   lastWith(t, "exclusiveSession.txt", "exclusiveSession"),
		"host.getID":         lastWith(t, "host.getID.txt", "host.getID"),
		"host.getTasks":      lastWith(t, "host.getTasks.txt", "host.getTasks"),
		"host.openTask":      lastWith(t, "host.openTask.txt", "host.openTask"),
		"host.setTaskWeight": lastWith(t, "host.setTaskWeight.txt", "host.setTaskWeight"),
		"host.closeTask":     lastWith(t, "host.closeTask.txt", "host.closeTask"),
		"host.failTask":      lastWith(t, "host.failTask.txt", "host.failTask"),
		"host.updateHost":    lastWith(t, "host.updateHost-notready.txt", "host.updateHost"),
		"logout":             lastWith(t, "host-logout.txt", "logout"),
	}
	h := replayHub(t, rec)
	c := newTestClient(t, h, nil)
	ctx := testCtx(t)

	if err := c.Login(ctx, "builder1", "hostpass"); err != nil {
		t.Fatalf("Login: %v", err)
	}
	if id, ok := c.SessionID(); !ok || id != 27 {
		t.Fatalf("SessionID() = %d, %v; want 27, true", id, ok)
	}
	if err := c.ExclusiveSession(ctx, true); err != nil {
		t.Fatalf("ExclusiveSession: %v", err)
	}
	hostID, err := c.HostGetID(ctx)
	if err != nil || hostID != 1 {
		t.Fatalf("HostGetID() = %d, %v; want 1", hostID, err)
	}
	if err := c.UpdateHost(ctx, 0.0, false, nil); err != nil {
		t.Fatalf("UpdateHost: %v", err)
	}
	tasks, err := c.GetTasks(ctx)
	if err != nil {
		t.Fatalf("GetTasks: %v", err)
	}
	if len(tasks) != 1 || tasks[0].ID != 1 || tasks[0].Method != "newRepo" || tasks[0].State != 4 ||
		tasks[0].ChannelID != 2 || tasks[0].Priority != 15 || tasks[0].Arch != "noarch" {
		t.Errorf("GetTasks() = %+v", tasks)
	}
	info, err := c.OpenTask(ctx, 1)
	if err != nil {
		t.Fatalf("OpenTask: %v", err)
	}
	if req, _ := info["request"].(string); !strings.Contains(req, "<methodCall>") || info["state"] != int64(1) {
		t.Errorf("OpenTask() = %v, want the open task with its request", info)
	}
	if err := c.SetTaskWeight(ctx, 1, 1.5); err != nil {
		t.Fatalf("SetTaskWeight: %v", err)
	}
	closeXML := recordedParams(t, rec["host.closeTask"])[1].(string)
	if err := c.CloseTask(ctx, 1, closeXML); err != nil {
		t.Fatalf("CloseTask: %v", err)
	}
	failXML := recordedParams(t, rec["host.failTask"])[1].(string)
	if err := c.FailTask(ctx, 3, failXML); err != nil {
		t.Fatalf("FailTask: %v", err)
	}
	if err := c.Logout(ctx); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if c.LoggedIn() {
		t.Error("LoggedIn() = true after Logout")
	}

	calls := h.recorded()
	wantOrder := "login:- exclusiveSession:0 host.getID:1 host.updateHost:2 host.getTasks:3 host.openTask:4 " +
		"host.setTaskWeight:5 host.closeTask:6 host.failTask:7 logout:8"
	if got := join(callnums(calls)); got != wantOrder {
		t.Errorf("calls = %s\nwant    %s", got, wantOrder)
	}
	for _, call := range calls {
		want := rec[call.Method]
		if !bytes.Equal(call.Body, want.reqBody) {
			t.Errorf("%s body differs from Koji's client:\n got %q\nwant %q", call.Method, call.Body, want.reqBody)
		}
		if call.Path != "/kojihub" {
			t.Errorf("%s path = %q, want /kojihub", call.Method, call.Path)
		}
		if got := call.Header.Get("Content-Type"); got != "text/xml" {
			t.Errorf("%s Content-Type = %q", call.Method, got)
		}
		if got := call.Header.Get("User-Agent"); got != "koji/1" {
			t.Errorf("%s User-Agent = %q, want koji/1", call.Method, got)
		}
		if call.Method == "login" {
			if call.Header.Get("Koji-Session-Id") != "" {
				t.Errorf("login carried session headers")
			}
			continue
		}
		for _, k := range []string{"Koji-Session-Id", "Koji-Session-Key"} {
			if got := call.Header.Get(k); got != want.reqHeader[k] {
				t.Errorf("%s %s = %q, want %q", call.Method, k, got, want.reqHeader[k])
			}
		}
		if len(call.Query) != 0 {
			t.Errorf("%s: query %v, want none (header auth)", call.Method, call.Query)
		}
	}
}

func TestWireSSLLoginMatchesPython(t *testing.T) {
	rec := lastWith(t, "host-sslLogin-simulated.txt", "sslLogin")
	h := replayHub(t, map[string]exchange{"sslLogin": rec})
	c := newTestClient(t, h, func(o *Options) { o.HTTPClient = &http.Client{} })
	if err := c.SSLLogin(testCtx(t)); err != nil {
		t.Fatalf("SSLLogin: %v", err)
	}
	if id, _ := c.SessionID(); id != 32 {
		t.Errorf("session id = %d, want 32", id)
	}
	calls := h.recorded()
	if len(calls) != 1 {
		t.Fatalf("%d requests, want 1", len(calls))
	}
	if calls[0].Path != rec.path || calls[0].Path != "/kojihub/ssllogin" {
		t.Errorf("sslLogin path = %q, want %q", calls[0].Path, rec.path)
	}
	if !bytes.Equal(calls[0].Body, rec.reqBody) {
		t.Errorf("sslLogin body:\n got %q\nwant %q", calls[0].Body, rec.reqBody)
	}
}

func TestWireMultiCallMatchesPython(t *testing.T) {
	rec := lastWith(t, "multiCall-mixed.txt", "multiCall")
	h := replayHub(t, map[string]exchange{"multiCall": rec})
	c := newTestClient(t, h, nil)
	res, err := c.MultiCall(testCtx(t), []CallSpec{
		{Method: "getHost", Args: []any{"builder1"}},
		{Method: "getTaskInfo", Args: []any{99999, Kw{"strict": true}}},
		{Method: "getAPIVersion"},
	})
	if err != nil {
		t.Fatalf("MultiCall: %v", err)
	}
	if got := h.recorded()[0].Body; !bytes.Equal(got, rec.reqBody) {
		t.Errorf("multiCall body:\n got %q\nwant %q", got, rec.reqBody)
	}
	if len(res) != 3 {
		t.Fatalf("%d results, want 3", len(res))
	}
	host, _ := res[0].Value.(map[string]any)
	if res[0].Fault != nil || host["name"] != "builder1" || host["capacity"] != 4.0 || host["enabled"] != true {
		t.Errorf("result 0 = %+v", res[0])
	}
	if res[1].Fault == nil || res[1].Fault.Code != kojixml.GenericError || res[1].Fault.String != "query returned no rows" {
		t.Errorf("result 1 = %+v, want fault 1000 in place", res[1])
	}
	if res[2].Fault != nil || res[2].Value != int64(1) {
		t.Errorf("result 2 = %+v, want 1", res[2])
	}
	var f *Fault
	if err := FirstFault(res); !errors.As(err, &f) || f.Code != 1000 {
		t.Errorf("FirstFault = %v, want fault 1000", err)
	}
}

func TestWireGetLoggedInUser(t *testing.T) {
	rec := lastWith(t, "call-getLoggedInUser.txt", "getLoggedInUser")
	h := replayHub(t, map[string]exchange{"getLoggedInUser": rec})
	c := newTestClient(t, h, nil)
	u, err := c.GetLoggedInUser(testCtx(t))
	if err != nil {
		t.Fatalf("GetLoggedInUser: %v", err)
	}
	want := &User{ID: 1, Name: "kojiadmin", KrbPrincipals: []string{}}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("GetLoggedInUser() = %+v, want %+v", u, want)
	}
}

// TestWireFaults replays every recorded fault answer and checks the client
// returns it as a *Fault with Koji's code and message.
func TestWireFaults(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(wireDir, "*fault*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fault recordings in %s: %v", wireDir, err)
	}
	n := 0
	for _, file := range files {
		for _, ex := range readWire(t, filepath.Base(file)) {
			if ex.status != http.StatusOK || !bytes.Contains(ex.respBody, []byte("<fault>")) {
				continue
			}
			_, wantErr := kojixml.DecodeResponse(bytes.NewReader(ex.respBody))
			var want *kojixml.Fault
			if !errors.As(wantErr, &want) {
				t.Fatalf("%s: recorded fault does not decode: %v", file, wantErr)
			}
			n++
			h := newFakeHub(t)
			h.raw = func(w http.ResponseWriter, r *http.Request, c *hubCall) bool {
				w.Header().Set("Content-Type", "text/xml")
				_, _ = w.Write(ex.respBody)
				return true
			}
			c := newTestClient(t, h, nil)
			_, err := c.Call(testCtx(t), "getAPIVersion")
			var got *Fault
			if !errors.As(err, &got) || got.Code != want.Code || got.String != want.String {
				t.Errorf("%s: Call error = %v, want fault %d %q", filepath.Base(file), err, want.Code, want.String)
			}
			if len(h.recorded()) != 1 {
				t.Errorf("%s: fault was retried (%d requests)", filepath.Base(file), len(h.recorded()))
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d recorded faults replayed", n)
	}

}
