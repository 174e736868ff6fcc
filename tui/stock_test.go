package tui

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"kojigo/internal/stockhub"
	"kojigo/tui/farm"
)

// TestStockKojiHub runs kojitop's batch mode, the code path of the binary,
// against a fake hub that replays a real Koji 1.35.3 hub's answers: the
// hosts and tasks views render, the extensions' columns say they are
// unavailable, and a refresh is still one request.
func TestStockKojiHub(t *testing.T) {
	hub, err := stockhub.New()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hub)
	defer srv.Close()
	run := func(view string) string {
		var out bytes.Buffer
		err := Run(context.Background(), Options{Server: srv.URL + "/kojihub", NoAuth: true, Batch: true, BatchView: view,
			Width: 120, Stdout: &out, Getenv: func(string) string { return "" }, LogFile: t.TempDir() + "/kojitop.log"})
		if err != nil {
			t.Fatalf("--batch --view %s: %v", view, err)
		}
		return out.String()
	}
	hosts := run("hosts")
	for _, want := range []string{"(Koji 1.35.3)", "builder1", "NAME", "n/a", "stock Koji hub: health", "[RO]"} {
		if !strings.Contains(hosts, want) {
			t.Errorf("hosts frame lacks %q:\n%s", want, hosts)
		}
	}
	tasks := run("tasks")
	for _, want := range []string{"METHOD", "newRepo", "reason unavailable on this hub"} {
		if !strings.Contains(tasks, want) {
			t.Errorf("tasks frame lacks %q:\n%s", want, tasks)
		}
	}
	if strings.Contains(hosts+tasks, "\x1b") {
		t.Errorf("batch output holds escape sequences")
	}

	// One refresh is one request, whatever the hub lacks.
	conn, err := Connect(context.Background(), Options{Server: srv.URL + "/kojihub", NoAuth: true, Getenv: func(string) string { return "" }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hub.ResetCalls()
	s, err := conn.Hub.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	top := 0
	for _, c := range hub.Calls() {
		if !strings.Contains(c, ">") {
			top++
		}
	}
	if top != 1 {
		t.Errorf("a refresh took %d requests (%v), want 1", top, hub.Calls())
	}
	for _, p := range []farm.Part{farm.PartHealth, farm.PartReasons, farm.PartTLS} {
		if s.Has(p) {
			t.Errorf("snapshot from a stock hub claims %s", p)
		}
	}
	for _, c := range hub.Calls() {
		if strings.Contains(c, "kojigo.") {
			t.Errorf("kojitop called %s on a hub whose listMethods lacks it", c)
		}
	}
}
