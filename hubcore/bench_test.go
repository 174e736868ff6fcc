package hubcore

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"strconv"
	"testing"

	"kojigo/internal/kojixml"
)

// Benchmarks of whole calls through the handler, the codec, the session and
// the store, on both backends (PostgreSQL when KOJI_TEST_PG_DSN is set), for
// profiling:
//
//	go test -run '^$' -bench Serve -cpuprofile cpu.out ./hubcore
func benchHub(b *testing.B, backend string, hosts int) (*testHub, *client) {
	th := newTestHub(b, backend, nil)
	admin := th.login(th.ensureAdmin(), "adminpw")
	for i := range hosts {
		admin.must("addHost", fmt.Sprintf("b%03d", i), []any{"x86_64"})
	}
	admin.must("makeTask", "noop", []any{int64(1)}, kw{"arch": "noarch"})
	return th, admin
}

// serveLoop serves one encoded request over and over; the answer is not
// decoded, so the figure is the hub's side alone.
func serveLoop(b *testing.B, th *testHub, c *client, method string, params []any) {
	var body bytes.Buffer
	if err := kojixml.EncodeCall(&body, method, params); err != nil {
		b.Fatal(err)
	}
	req := body.Bytes()
	h := th.hub.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/kojihub", bytes.NewReader(req))
		r.Header.Set("Content-Type", "text/xml")
		if c != nil {
			r.Header.Set("Koji-Session-Id", strconv.FormatInt(c.sid, 10))
			r.Header.Set("Koji-Session-Key", c.key)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 || bytes.Contains(w.Body.Bytes(), []byte("<fault>")) {
			b.Fatalf("%d %s", w.Code, w.Body.Bytes())
		}
	}
}

func benchBackends(b *testing.B, f func(b *testing.B, backend string)) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) { f(b, backend) })
	}
}

func BenchmarkServeListHosts50(b *testing.B) {
	benchBackends(b, func(b *testing.B, backend string) {
		th, _ := benchHub(b, backend, 50)
		serveLoop(b, th, nil, "listHosts", kojixml.EncodeKwargs(nil, map[string]any{"enabled": true}))
	})
}

func BenchmarkServeGetTaskInfo(b *testing.B) {
	benchBackends(b, func(b *testing.B, backend string) {
		th, _ := benchHub(b, backend, 1)
		serveLoop(b, th, nil, "getTaskInfo", kojixml.EncodeKwargs([]any{int64(1)}, map[string]any{"request": true}))
	})
}

func BenchmarkServeUpdateHost(b *testing.B) {
	benchBackends(b, func(b *testing.B, backend string) {
		th, _ := benchHub(b, backend, 0)
		hc, _ := th.addHost("builder")
		data := map[string]any{"maxjobs": int64(4), "cpus": int64(8), "disk": []any{map[string]any{"path": "/var/lib/mock", "role": "mockdir", "free": int64(1 << 40), "total": int64(1 << 41)}}}
		serveLoop(b, th, hc, "host.updateHost", kojixml.EncodeKwargs([]any{0.0, true}, map[string]any{"data": data}))
	})
}
