package hubcore

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"kojigo/internal/kojixml"
)

func TestLoginAndSessions(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		th.addUser("alice", "pw")
		f := th.anon().fault(kojixml.AuthError, "login", "alice", "wrong")
		if f.String != "invalid username or password" {
			t.Errorf("bad password fault = %q", f.String)
		}
		th.anon().fault(kojixml.AuthError, "login", "nobody", "pw")
		c := th.login("alice", "pw")
		u := c.must("getLoggedInUser").(map[string]any)
		if u["name"] != "alice" || u["authtype"] != int64(0) {
			t.Errorf("getLoggedInUser = %v", u)
		}
		if v := th.anon().must("getLoggedInUser"); v != nil {
			t.Errorf("anonymous getLoggedInUser = %v, want nil", v)
		}
		// callnum rules: a lower callnum is a SequenceError once one is stored
		c.must("subsession") // writes, so callnum is stored
		c.callnum -= 2
		c.fault(kojixml.SequenceError, "getLoggedInUser")
		// the next callnum equals the stored one: getLoggedInUser is not on the retry whitelist
		c.fault(kojixml.RetryError, "getLoggedInUser")
		c.callnum += 5
		c.must("logout")
		c.fault(kojixml.AuthError, "getLoggedInUser")
	})
}

func TestExclusiveAndHostCalls(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		hc, id := th.addHost("builder1")
		if got := hc.must("host.getID"); got != id {
			t.Errorf("host.getID = %v, want %d", got, id)
		}
		// a second session of the same user is locked out
		other := th.login("builder1", "hostpw")
		f := other.fault(kojixml.AuthLockError, "host.getID")
		if f.String != "User locked by another session" {
			t.Errorf("locked fault = %q", f.String)
		}
		other.fault(kojixml.AuthLockError, "exclusiveSession")
		other.must("exclusiveSession", kw{"force": true})
		hc.fault(kojixml.AuthError, "host.getID") // the stolen session was closed
		th.addUser("alice", "pw")
		alice := th.login("alice", "pw")
		if f := alice.fault(kojixml.AuthError, "host.getID"); !strings.Contains(f.String, "is not a host") {
			t.Errorf("normal user host call = %q", f.String)
		}
		th.anon().fault(kojixml.AuthError, "host.getID")
		if f := alice.fault(kojixml.ActionNotAllowed, "addHost", "b9", []any{"x86_64"}); f.String != "host permission required (logged in as alice)" {
			t.Errorf("addHost as alice = %q", f.String)
		}
	})
}

func TestWireErrors(t *testing.T) {
	th := newTestHub(t, "sqlite", nil)
	post := func(body string) (int, string) {
		resp, err := http.Post(th.url, "text/xml", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.Header.Get("Koji-Version") == "" {
			t.Error("no Koji-Version header")
		}
		return resp.StatusCode, string(b)
	}
	if code, body := post(""); code != 400 || body != "Invalid request: Empty request" {
		t.Errorf("empty body = %d %q", code, body)
	}
	if code, _ := post("<methodCall><methodName>getAPIVersion</methodName><params>"); code != 400 {
		t.Errorf("truncated XML = %d, want 400", code)
	}
	if code, _ := post(strings.Repeat("x", 5<<20)); code != 400 {
		t.Errorf("oversized body = %d, want 400", code)
	}
	resp, err := http.Get(th.url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET = %d allow=%q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	c := th.anon()
	if f := c.fault(kojixml.GenericError, "noSuchMethod"); f.String != "Invalid method: noSuchMethod" {
		t.Errorf("unknown method = %q", f.String)
	}
	c.fault(kojixml.ParameterError, "getHost")
	c.fault(kojixml.ParameterError, "getHost", "a", false, nil, "extra")
	c.fault(kojixml.ParameterError, "getHost", []any{1})
	res := c.must("multiCall", []any{
		map[string]any{"methodName": "getAPIVersion", "params": []any{}},
		map[string]any{"methodName": "noSuchMethod", "params": []any{}},
	}).([]any)
	if len(res) != 2 || res[0].([]any)[0] != int64(1) || res[1].(map[string]any)["faultCode"] != int64(1000) {
		t.Errorf("multiCall = %v", res)
	}
}

// TestUpdateHostStoresCallnum: host.updateHost stores its callnum inside its
// own transaction; the sequence rules then apply as after any write.
func TestUpdateHostStoresCallnum(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		hc, _ := th.addHost("builder1")
		hc.must("host.updateHost", 0.0, true, kw{"data": map[string]any{"maxjobs": int64(2)}})
		stored := hc.callnum
		hc.callnum = stored - 1 // the same callnum again: updateHost is on the retry whitelist
		hc.must("host.updateHost", 0.0, true)
		hc.callnum = stored - 2 // below the stored one
		hc.fault(kojixml.SequenceError, "host.getID")
	})
}
