package kojira

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"kojigo/internal/kojiclient"
	"kojigo/internal/pki"
	"kojigo/internal/pki/pkitest"
)

// TestLoginExpiredCertIsSaidAndReread: kojira's certificate refused by the
// hub as expired is logged as an error naming the expiry, not as "hub not
// reachable", and replacing the file is enough: the next try reads it
// again and logs in. (kojira, as kojid, used to retry forever with the
// certificate it read at start, saying the hub was not reachable.)
func TestLoginExpiredCertIsSaidAndReread(t *testing.T) {
	farm := pkitest.NewFarm(t, "")
	hubFiles := farm.Issue("hub", pki.Request{Role: pki.RoleHub, Name: "127.0.0.1", IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}})
	hubSrv := pkitest.StartHub(t, pkitest.HubOptions{CertFile: hubFiles.Cert, KeyFile: hubFiles.Key, ClientCAFile: farm.CAFile, UserTypes: map[string]int{"kojira": 0}})
	writeCert := func(notBefore, notAfter time.Time) string {
		t.Helper()
		return farm.Reissue("kojira", pki.Request{Role: pki.RoleKojira, Name: "kojira", NotBefore: notBefore, NotAfter: notAfter})
	}
	now := time.Now()
	certFile := writeCert(now.Add(-48*time.Hour), now.Add(-24*time.Hour))

	copts := kojiclient.Options{Server: hubSrv.URL, CertFile: certFile, ServerCAFile: farm.CAFile, MaxRetryTime: time.Second}
	hub, err := kojiclient.New(copts)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type result struct {
		c   *kojiclient.Client
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := login(ctx, hub, func() (*kojiclient.Client, error) { return kojiclient.New(copts) }, Config{SleepTime: time.Second}, true, log)
		done <- result{c, err}
	}()

	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "level=ERROR") {
		select {
		case r := <-done:
			t.Fatalf("login with an expired certificate returned %v, %v; log:\n%s", r.c, r.err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no error logged for the expired certificate; log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := logs.String()
	if !strings.Contains(got, "expired") || !strings.Contains(got, "kojictl certs renew") {
		t.Errorf("log does not name the expiry and the fix:\n%s", got)
	}
	if strings.Contains(got, "not reachable") {
		t.Errorf("log calls a refused certificate an unreachable hub:\n%s", got)
	}

	writeCert(now.Add(-time.Hour), now.Add(24*time.Hour))
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("login after the certificate was replaced: %v; log:\n%s", r.err, logs.String())
		}
		if id, ok := r.c.SessionID(); !ok || id < 1 {
			t.Errorf("session after login = %d, %v; want one", id, ok)
		}
	case <-ctx.Done():
		t.Fatalf("login did not pick up the replaced certificate; log:\n%s", logs.String())
	}
}
