package hubcore

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"kojigo/db"
	"kojigo/internal/kojiclient"
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

// BenchmarkSchedulerPass: one pass over 1000 ready hosts and 200 FREE tasks
// that no host can take (a channel without hosts), as in bench/hub.
func BenchmarkSchedulerPass(b *testing.B) {
	benchBackends(b, func(b *testing.B, backend string) {
		th := newTestHub(b, backend, nil)
		ctx := context.Background()
		data := `{"cpus":8,"maxjobs":4,"methods":["build","buildArch"],"disk":[{"path":"/var/lib/mock","role":"mockdir","free":107374182400,"total":536870912000}]}`
		for i := range 1000 {
			uid, _ := th.store.CreateUser(ctx, db.User{Name: fmt.Sprintf("b%04d", i), UserType: db.UserHost})
			id, err := th.store.CreateHost(ctx, db.Host{UserID: uid, Name: fmt.Sprintf("b%04d", i), Arches: "x86_64"}, []int64{1})
			if err != nil {
				b.Fatal(err)
			}
			th.store.CheckIn(ctx, db.CheckIn{HostID: id, Ready: true})
			th.store.SetHostData(ctx, id, data)
		}
		cr, _ := th.store.GetChannelByName(ctx, "createrepo")
		for i := range 200 {
			if _, _, err := th.store.CreateTask(ctx, db.NewTask{Method: "noop", Request: fmt.Sprintf("<x>%d</x>", i), Arch: "noarch", ChannelID: cr.ID, Owner: 1, Priority: 20}); err != nil {
				b.Fatal(err)
			}
		}
		b.ResetTimer()
		for b.Loop() {
			if _, err := th.hub.sched.pass(ctx, true); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUploadRepodata: a kojid uploading a createrepo task's output for
// 12,788 packages (the sizes of bench/repos's repodata: 18 files, 30.9 MB,
// eight of them under 60 KB) with kojiclient.UploadFile, as the task does.
func BenchmarkUploadRepodata(b *testing.B) {
	sizes := []int{1694165, 2075998, 2275096, 3099019, 3123627, 159, 5203310, 158, 28058, 3956989, 5020, 22320, 2958026, 3891, 55023, 6432324, 6378, 3868}
	dir := b.TempDir()
	var total int64
	var files []string
	for i, n := range sizes {
		data := make([]byte, n)
		for j := range data {
			data[j] = byte(j*7 + i)
		}
		p := filepath.Join(dir, fmt.Sprintf("f%02d", i))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
		files, total = append(files, p), total+int64(n)
	}
	benchBackends(b, func(b *testing.B, backend string) {
		th := newTestHub(b, backend, nil)
		_, hostID := th.addHost("builder1")
		_, taskDir := th.openTask(hostID)
		ctx := context.Background()
		kc, err := kojiclient.New(kojiclient.Options{Server: th.url, MaxRetries: -1})
		if err != nil {
			b.Fatal(err)
		}
		if err := kc.Login(ctx, "builder1", "hostpw"); err != nil {
			b.Fatal(err)
		}
		if err := kc.ExclusiveSession(ctx, true); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(total)
		for b.Loop() {
			for _, f := range files {
				if err := kc.UploadFile(ctx, f, taskDir, "", nil); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
