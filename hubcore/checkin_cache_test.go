package hubcore

import (
	"context"
	"testing"
	"time"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// cachedHost returns a host's client whose session this hub has cached:
// its check-ins after the first one take the one-statement path.
func cachedHost(t *testing.T, th *testHub, name string) (*client, int64) {
	t.Helper()
	hc, id := th.addHost(name)
	hc.must("host.updateHost", 0.0, true)
	if th.hub.sessCache().get(hc.sid) == nil {
		t.Fatalf("session %d of %s not cached after a check-in", hc.sid, name)
	}
	return hc, id
}

func hostUpdated(t *testing.T, th *testHub, id int64) float64 {
	t.Helper()
	h, err := th.store.GetHost(context.Background(), id)
	if err != nil || h.UpdateTime == nil {
		t.Fatalf("GetHost(%d) = %+v, %v", id, h, err)
	}
	return *h.UpdateTime
}

// A cached check-in writes as the long one does: the host's state and time,
// the session's callnum, the hub's copy of the host for listHosts.
func TestCheckInCachedSessionWrites(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		ctx := context.Background()
		hc, id := cachedHost(t, th, "b1")
		before := hostUpdated(t, th, id)
		time.Sleep(5 * time.Millisecond)
		hc.must("host.updateHost", 1.5, false)
		h, err := th.store.GetHost(ctx, id)
		if err != nil || h.Ready || h.TaskLoad != 1.5 || *h.UpdateTime <= before {
			t.Fatalf("after a cached check-in host = %+v (was updated %v), %v", h, before, err)
		}
		s, err := th.store.GetSession(ctx, hc.sid)
		if err != nil || s.Callnum == nil || *s.Callnum != hc.callnum {
			t.Fatalf("session callnum = %v, want %d (%v)", s.Callnum, hc.callnum, err)
		}
		hosts := hc.must("listHosts").([]any)
		if m := hosts[0].(map[string]any); m["ready"] != false || m["task_load"] != 1.5 {
			t.Fatalf("listHosts after a cached check-in: %v", m)
		}
		// The same callnum again is a retry (allowed), a lower one is not.
		hc.callnum--
		hc.must("host.updateHost", 0.0, true)
		hc.callnum -= 2
		hc.fault(kojixml.SequenceError, "host.updateHost", 0.0, true)
	})
}

// A session closed, expired, unlocked or whose user was blocked since it
// was cached is refused at once, with the fault of the long path, and
// nothing is written.
func TestCheckInCachedSessionRefused(t *testing.T) {
	cases := []struct {
		name  string
		code  int
		spoil func(t *testing.T, th *testHub, hc *client)
	}{
		{"logout", kojixml.AuthError, func(t *testing.T, th *testHub, hc *client) {
			hc.must("logout")
		}},
		{"closed by another hub", kojixml.AuthError, func(t *testing.T, th *testHub, hc *client) {
			if err := th.store.CloseSession(context.Background(), hc.sid); err != nil {
				t.Fatal(err)
			}
		}},
		{"lock taken by another session", kojixml.AuthError, func(t *testing.T, th *testHub, hc *client) {
			other := th.login("b1", "hostpw")
			other.must("exclusiveSession", kw{"force": true})
		}},
		{"user blocked", kojixml.AuthError, func(t *testing.T, th *testHub, hc *client) {
			u, err := th.store.GetUserByName(context.Background(), "b1")
			if err != nil {
				t.Fatal(err)
			}
			if err := th.store.SetUserStatus(context.Background(), u.ID, db.StatusBlocked); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forBackends(t, func(t *testing.T, th *testHub) {
				hc, id := cachedHost(t, th, "b1")
				tc.spoil(t, th, hc)
				before := hostUpdated(t, th, id)
				time.Sleep(5 * time.Millisecond)
				hc.fault(tc.code, "host.updateHost", 0.0, true)
				// A bad call from the dead session gets the session's fault too.
				hc.fault(tc.code, "host.updateHost", -1.0, true)
				if after := hostUpdated(t, th, id); after != before {
					t.Fatalf("refused check-in wrote the host: update_time %v -> %v", before, after)
				}
				if th.hub.sessCache().get(hc.sid) != nil {
					t.Fatal("refused session still cached")
				}
			})
		})
	}
}

func TestCheckInCachedSessionExpires(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			th := newTestHub(t, backend, func(c *Config) { c.SessionRenewalTimeout = 2 * time.Second })
			hc, _ := cachedHost(t, th, "b1")
			time.Sleep(2100 * time.Millisecond)
			hc.fault(kojixml.AuthExpired, "host.updateHost", 0.0, true)
		})
	}
}

// A wrong key for a cached session id is refused.
func TestCheckInCachedSessionWrongKey(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		hc, _ := cachedHost(t, th, "b1")
		bad := *hc
		bad.key += "x"
		bad.fault(kojixml.AuthError, "host.updateHost", 0.0, true)
		hc.must("host.updateHost", 0.0, true)
	})
}

// Another hub's logout is honoured by this hub's next cached check-in, and
// this hub's check-ins are seen by the other hub.
func TestCheckInCachedSessionOtherHub(t *testing.T) {
	b := newTestHub(t, "postgres", nil)
	a := b.otherHub(t)
	hc, id := cachedHost(t, b, "b1")
	hc.must("host.updateHost", 2.0, true)
	h, err := a.store.GetHost(context.Background(), id)
	if err != nil || h.TaskLoad != 2.0 {
		t.Fatalf("other hub reads host %+v, %v", h, err)
	}
	onA := hc.on(a)
	onA.must("logout")
	hc.callnum = onA.callnum
	hc.fault(kojixml.AuthError, "host.updateHost", 0.0, true)
}
