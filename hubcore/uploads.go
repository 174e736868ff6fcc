package hubcore

import "net/http"

func uploadMethods() []method { return nil }

func (h *Hub) serveUpload(w http.ResponseWriter, r *http.Request) {
	badRequest(w, "uploads are not available yet")
}
