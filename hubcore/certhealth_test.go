package hubcore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"kojigo/builderd"
	"kojigo/internal/health"
	"kojigo/internal/kojiclient"
	"kojigo/internal/kojixml"
	"kojigo/internal/pki"
	"kojigo/internal/pki/pkitest"
)

// TestBuilderReportsCertExpiry runs kojid (builderd.Serve, as cmd/kojid
// does) against the real hub over TLS with its host certificate, and checks
// that its check-in carries the certificate's expiry and that
// kojigo.getHostHealth and kojigo.listHostHealth return it, so the console
// can warn before a builder's certificate runs out.
func TestBuilderReportsCertExpiry(t *testing.T) {
	farm := pkitest.NewFarm(t, "kojigo CA A")
	hubCert := farm.Issue("hub", pki.Request{Role: pki.RoleHub, Name: "127.0.0.1"})
	notAfter := farm.Now.Add(40 * 24 * time.Hour).Truncate(time.Second)
	b := farm.Issue("builder1", pki.Request{Role: pki.RoleHost, Name: "builder1", NotAfter: notAfter})
	hub := startRealHub(t, pkitest.HubOptions{CertFile: hubCert.Cert, KeyFile: hubCert.Key, ClientCAFile: farm.CAFile,
		UserTypes: map[string]int{"builder1": 1}}, farm.CAFile, hubSetup{})

	dir := t.TempDir()
	for _, d := range []string{"work", "top", "mock"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := writeConf(t, filepath.Join(dir, "kojid.conf"), fmt.Sprintf(
		"[kojid]\nserver = %s\ncert = %s\nserverca = %s\nworkdir = %s/work\ntopdir = %s/top\nmockdir = %s/mock\ntopurl = %s\nuse_mock = no\nhostname = builder1\nminspace = 1\n",
		hub.URL, b.PEM, farm.CAFile, dir, dir, dir, hub.Base+"/kojifiles"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- builderd.Serve(ctx, builderd.ServeOptions{ConfigFile: conf, ConfigRequired: true})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("kojid stopped with %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("kojid did not stop in 15s")
		}
	})

	kc, err := kojiclient.New(kojiclient.Options{Server: hub.URL, HTTPClient: hub.anon, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	want := notAfter.Unix()
	start := time.Now()
	deadline := time.Now().Add(10 * time.Second)
	var got any
	for {
		select {
		case err := <-done:
			t.Fatalf("kojid ended before checking in: %v", err)
		default:
		}
		v, err := kc.Call(context.Background(), "kojigo.getHostHealth", "builder1")
		if err != nil {
			t.Fatalf("kojigo.getHostHealth: %v", err)
		}
		m, _ := v.(map[string]any)
		data, _ := m["data"].(map[string]any)
		got = data[health.KeyCertNotAfter]
		if got != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("check-in data reached the hub after %v", time.Since(start).Round(time.Millisecond))
	if n, ok := got.(int64); !ok || n != want {
		t.Fatalf("getHostHealth data %s = %v (%T), want %d, the expiry of %s", health.KeyCertNotAfter, got, got, want, b.PEM)
	}

	v, err := kc.Call(context.Background(), "kojigo.listHostHealth")
	if err != nil {
		t.Fatalf("kojigo.listHostHealth: %v", err)
	}
	list, _ := v.([]any)
	found := false
	for _, e := range list {
		m, _ := e.(map[string]any)
		if m["name"] != "builder1" {
			continue
		}
		data, _ := m["data"].(map[string]any)
		found = data[health.KeyCertNotAfter] == any(want)
	}
	if !found {
		t.Errorf("listHostHealth has no %s = %d for builder1: %v", health.KeyCertNotAfter, want, list)
	}

	// Wrong and missing arguments are faults, not empty answers.
	for _, args := range [][]any{{"no-such-host"}, {}, {"builder1", "extra"}} {
		if _, err := kc.Call(context.Background(), "kojigo.getHostHealth", args...); err == nil {
			t.Errorf("getHostHealth%v succeeded", args)
		} else if f := (*kojixml.Fault)(nil); !errors.As(err, &f) {
			t.Errorf("getHostHealth%v: %v, want a fault", args, err)
		}
	}
}
