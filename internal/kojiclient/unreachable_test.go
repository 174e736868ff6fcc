package kojiclient

import (
	"net/http"
	"testing"

	"kojigo/internal/kojixml"
)

// TestUnreachable: the failures that say "the hub or its database is not
// there, try again later" are told apart from answers that will not change.
func TestUnreachable(t *testing.T) {
	for _, tc := range []struct {
		name string
		hub  func(h *fakeHub)
		want bool
	}{
		{"refused", func(h *fakeHub) { h.srv.Close() }, true},
		{"503 from a proxy", func(h *fakeHub) {
			h.raw = func(w http.ResponseWriter, r *http.Request, c *hubCall) bool {
				http.Error(w, "no backend", 503)
				return true
			}
		}, true},
		{"dropped connection", func(h *fakeHub) {
			h.raw = func(w http.ResponseWriter, r *http.Request, c *hubCall) bool { dropConn(t, w); return true }
		}, true},
		{"ServerOffline", func(h *fakeHub) {
			h.handle = func(c *hubCall) (any, error) { return nil, fault(kojixml.ServerOffline, "database unavailable") }
		}, true},
		{"400", func(h *fakeHub) {
			h.raw = func(w http.ResponseWriter, r *http.Request, c *hubCall) bool {
				http.Error(w, "Invalid request", 400)
				return true
			}
		}, false},
		{"GenericError", func(h *fakeHub) {
			h.handle = func(c *hubCall) (any, error) { return nil, fault(kojixml.GenericError, "task 3 is not open") }
		}, false},
		{"RetryError", func(h *fakeHub) {
			h.handle = func(c *hubCall) (any, error) { return nil, fault(kojixml.RetryError, "may have been applied") }
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newFakeHub(t)
			url := h.url()
			tc.hub(h)
			c := newTestClient(t, h, func(o *Options) { o.Server = url; o.MaxRetries = -1 })
			_, err := c.Call(testCtx(t), "getAPIVersion")
			if err == nil {
				t.Fatal("call succeeded")
			}
			if got := Unreachable(err); got != tc.want {
				t.Errorf("Unreachable(%v) = %v, want %v", err, got, tc.want)
			}
		})
	}
}
