package hubcore

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"strconv"
	"testing"

	"kojigo/internal/kojixml"
)

// Benchmarks of whole calls through HTTP, the codec, the session and the
// store (SQLite), for profiling: go test -run '^$' -bench . -cpuprofile cpu.out ./hubcore
func benchHub(b *testing.B, hosts int) (*testHub, *client) {
	th := newTestHub(b, "sqlite", nil)
	admin := th.login(th.ensureAdmin(), "adminpw")
	for i := range hosts {
		admin.must("addHost", fmt.Sprintf("b%03d", i), []any{"x86_64"})
	}
	admin.must("makeTask", "noop", []any{int64(1)}, kw{"arch": "noarch"})
	return th, admin
}

func BenchmarkListHosts50(b *testing.B) {
	_, c := benchHub(b, 50)
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.call("listHosts", kw{"enabled": true}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetTaskInfo(b *testing.B) {
	_, c := benchHub(b, 1)
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.call("getTaskInfo", int64(1), kw{"request": true}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdateHost(b *testing.B) {
	th, _ := benchHub(b, 0)
	hc, _ := th.addHost("builder")
	data := map[string]any{"maxjobs": int64(4), "cpus": int64(8), "disk": []any{map[string]any{"path": "/var/lib/mock", "role": "mockdir", "free": int64(1 << 40), "total": int64(1 << 41)}}}
	b.ResetTimer()
	for b.Loop() {
		if _, err := hc.call("host.updateHost", 0.0, true, kw{"data": data}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServeListHosts50 measures the hub's side of a logged-in
// listHosts alone: the request is encoded once and the answer is not decoded.
func BenchmarkServeListHosts50(b *testing.B) {
	th, c := benchHub(b, 50)
	var body bytes.Buffer
	kojixml.EncodeCall(&body, "listHosts", kojixml.EncodeKwargs(nil, map[string]any{"enabled": true}))
	req := body.Bytes()
	h := th.hub.Handler()
	b.ResetTimer()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/kojihub", bytes.NewReader(req))
		r.Header.Set("Content-Type", "text/xml")
		r.Header.Set("Koji-Session-Id", strconv.FormatInt(c.sid, 10))
		r.Header.Set("Koji-Session-Key", c.key)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
