package stockhub

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"kojigo/internal/kojiclient"
	"kojigo/internal/kojixml"
)

// TestKojiClient drives the hub with kojigo's own client, as kojitop does
// against a stock hub: login, plain calls, a multicall with an extension
// method, and the hub calls it took.
func TestKojiClient(t *testing.T) {
	h := newHub(t)
	srv := httptest.NewServer(h)
	defer srv.Close()
	c, err := kojiclient.New(kojiclient.Options{Server: srv.URL + "/kojihub", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Login(ctx, "kojiadmin", "whatever"); err != nil {
		t.Fatal(err)
	}
	u, err := c.GetLoggedInUser(ctx)
	if err != nil || u.Name != "kojiadmin" {
		t.Fatalf("GetLoggedInUser = %+v, %v", u, err)
	}
	h.ResetCalls()
	res, err := c.MultiCall(ctx, []kojiclient.CallSpec{
		{Method: "listHosts"},
		{Method: "kojigo.listHostHealth"},
		{Method: "listTasks", Args: []any{map[string]any{"state": []any{0, 1}, "decode": true}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if hosts, _ := res[0].Value.([]any); len(hosts) != 2 {
		t.Errorf("listHosts: %s", pyRepr(res[0].Value, true))
	}
	var f *kojixml.Fault
	if !errors.As(res[1].Err(), &f) || f.Code != kojixml.GenericError || f.String != "Invalid method: kojigo.listHostHealth" {
		t.Errorf("kojigo.listHostHealth: %v", res[1].Err())
	}
	if tasks, _ := res[2].Value.([]any); len(tasks) != 2 {
		t.Errorf("listTasks: %s", pyRepr(res[2].Value, true))
	}
	_, err = c.Call(ctx, "kojigo.version")
	if !errors.As(err, &f) || f.String != "Invalid method: kojigo.version" {
		t.Errorf("kojigo.version: %v", err)
	}
	_, err = c.DownloadTaskOutput(ctx, 1, "build.log", 0, -1)
	if !errors.As(err, &f) || !strings.HasPrefix(f.String, UnrecordedPrefix+"downloadTaskOutput(") {
		t.Errorf("DownloadTaskOutput: %v", err)
	}
	want := []string{"multiCall", "multiCall>listHosts", "multiCall>kojigo.listHostHealth", "multiCall>listTasks",
		"kojigo.version", "downloadTaskOutput"}
	if got := h.Calls(); !slices.Equal(got, want) {
		t.Errorf("Calls() = %q, want %q", got, want)
	}
	if err := c.Logout(ctx); err != nil {
		t.Error(err)
	}
}
