package hubcore

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kojigo/db"
	"kojigo/internal/password"
	"kojigo/internal/pki"
	"kojigo/internal/pki/pkitest"
	"kojigo/internal/testenv"
)

// TestPythonClientOverTLS drives a real hub (TLS with client certificates,
// both backends) with Python's xmlrpc.client, the library the koji CLI is
// built on, and compares every answer's field names and types, and the
// fault codes, with what a real Koji 1.35 hub answered (testdata/koji-shapes.json,
// extracted from the recordings in shared/koji/wire).
func TestPythonClientOverTLS(t *testing.T) {
	py := testenv.NeedTool(t, "python3")
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			store := openStore(t, backend)
			ctx := context.Background()
			for _, u := range []struct {
				name  string
				perms []string
			}{{"kojiadmin", []string{"admin"}}, {"alice", nil}} {
				hash, _ := password.Hash("pw-" + backend)
				id, err := store.CreateUser(ctx, db.User{Name: u.name, PasswordHash: hash})
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range u.perms {
					perm, _ := store.GetPermByName(ctx, p)
					store.GrantPerm(ctx, id, perm.ID, nil)
				}
			}
			farm := pkitest.NewFarm(t, "koji")
			hubCert := farm.Issue("hub", pki.Request{Role: pki.RoleHub, Name: "localhost", IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}})
			builder := farm.Issue("builder1", pki.Request{Role: pki.RoleHost, Name: "builder1"})
			url := startServer(t, store, func(fc *FileConfig) {
				fc.TLSCert, fc.TLSKey, fc.TLSClientCA = hubCert.Cert, hubCert.Key, farm.CAFile
			})
			cmd := exec.Command(py, filepath.Join("testdata", "koji_client.py"))
			cmd.Env = append(os.Environ(), "HUB_URL="+strings.Replace(url, "http://", "https://", 1), "HUB_CA="+farm.CAFile,
				"CLIENT_PEM="+builder.PEM, "ADMIN_PW=pw-"+backend)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("koji_client.py: %v\n%s", err, stderr.String())
			}
			var got struct {
				Responses map[string]any
				Faults    map[string]*struct {
					Code   int
					String string
				}
				SSLUser map[string]any `json:"ssl_user"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("decode script output: %v\n%s", err, out)
			}
			var want struct {
				Responses map[string]struct {
					Source string
					Shape  any
				}
				Faults map[string]struct {
					Code   int
					String string
				}
			}
			b, _ := os.ReadFile(filepath.Join("testdata", "koji-shapes.json"))
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			compared := 0
			for name, g := range got.Responses {
				w, ok := want.Responses[name]
				if !ok {
					continue
				}
				compared++
				if d := shapeDiff(name, w.Shape, g); d != "" {
					t.Errorf("%s differs from Koji (%s): %s", name, w.Source, d)
				}
			}
			if compared < 14 {
				t.Errorf("compared only %d responses with Koji's", compared)
			}
			exact := map[string]bool{"fault-invalid-method.txt": true, "raw-fault-bad-session-key.txt": true, "fault-host.getID-anon.txt": true,
				"raw-fault-login-badpassword.txt": true, "fault-getHost-nonexistent-strict.txt": true, "session-fault-exclusive-locked.txt": true,
				"fault-add-host-nonadmin.txt": true}
			for file, g := range got.Faults {
				w := want.Faults[file]
				if g == nil {
					t.Errorf("%s: call succeeded, Koji answered fault %d %q", file, w.Code, w.String)
					continue
				}
				if g.Code != w.Code || (exact[file] && g.String != w.String) {
					t.Errorf("%s: fault %d %q, Koji answered %d %q", file, g.Code, g.String, w.Code, w.String)
				}
			}
			if got.SSLUser["name"] != "builder1" || got.SSLUser["usertype"] != float64(1) || got.SSLUser["authtype"] != float64(2) {
				t.Errorf("sslLogin user = %v, want builder1, usertype HOST, authtype SSL", got.SSLUser)
			}
		})
	}
}

// shapeDiff compares a response's shape with Koji's: the same keys with the
// same types, where a NoneType on either side matches anything (nullable).
func shapeDiff(path string, want, got any) string {
	if ws, ok := want.(string); ok {
		gs, gok := got.(string)
		if ws == "NoneType" || (gok && gs == "NoneType") {
			return ""
		}
		if !gok || gs != ws {
			return path + ": " + toJSON(got) + ", want " + ws
		}
		return ""
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return path + ": not a struct"
		}
		var diffs []string
		for k := range w {
			if _, ok := g[k]; !ok {
				diffs = append(diffs, path+"."+k+": missing")
			}
		}
		for k := range g {
			wv, ok := w[k]
			if !ok {
				diffs = append(diffs, path+"."+k+": not in Koji's answer")
				continue
			}
			if d := shapeDiff(path+"."+k, wv, g[k]); d != "" {
				diffs = append(diffs, d)
			}
		}
		return strings.Join(diffs, "; ")
	case []any:
		g, ok := got.([]any)
		if !ok {
			return path + ": not a list"
		}
		if len(w) == 0 || len(g) == 0 {
			return ""
		}
		return shapeDiff(path+"[0]", w[0], g[0])
	}
	return ""
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// startServer runs RunServer on a loopback port and returns the hub URL.
func startServer(t testing.TB, store *db.Store, tweak func(*FileConfig)) string {
	t.Helper()
	fc := DefaultFileConfig()
	fc.DB = "sqlite:///unused" // RunServer opens its own store from the DSN
	fc.KojiDir = t.TempDir()
	if tweak != nil {
		tweak(&fc)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- runServerOn(ctx, ServerOptions{Config: fc, Listener: ln, Ready: func(string) { close(ready) }}, store)
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("hub did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("hub did not start in 10s")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("hub stopped with %v", err)
		}
	})
	return "http://" + ln.Addr().String() + "/kojihub"
}
