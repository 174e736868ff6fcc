package kojiclient

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"kojigo/internal/kojixml"
)

func TestUploadFileChunksAndVerifies(t *testing.T) {
	for _, size := range []int{0, 999, 1000, 2500} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			h := newFakeHub(t)
			c := newTestClient(t, h, func(o *Options) { o.UploadBlockSize = 1000 })
			login(t, c)
			data := make([]byte, size)
			rng := rand.New(rand.NewPCG(1, uint64(size)))
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			local := writeFile(t, t.TempDir(), "build.log", data)
			var progress []string
			err := c.UploadFile(testCtx(t), local, "tasks/1/1", "", func(done, total int64) {
				progress = append(progress, fmt.Sprintf("%d/%d", done, total))
			})
			if err != nil {
				t.Fatalf("UploadFile: %v", err)
			}
			if got := h.files["tasks/1/1/build.log"]; !bytes.Equal(got, data) {
				t.Fatalf("hub has %d bytes, want the %d uploaded", len(got), len(data))
			}
			var offsets []string
			var want []string
			for off := 0; off < size || (size == 0 && off == 0); off += 1000 {
				want = append(want, fmt.Sprint(off))
			}
			for _, call := range h.recorded()[1:] {
				if call.Method != "rawUpload" {
					continue
				}
				q := call.Query
				offsets = append(offsets, q.Get("offset"))
				if q.Get("filename") != "build.log" || q.Get("filepath") != "tasks/1/1" ||
					q.Get("fileverify") != "adler32" || q.Get("overwrite") != "1" {
					t.Errorf("upload query = %v", q)
				}
				if ct := call.Header.Get("Content-Type"); ct != "application/octet-stream" {
					t.Errorf("upload Content-Type = %q", ct)
				}
				if call.Header.Get("Koji-Session-Callnum") == "" {
					t.Error("upload without session callnum")
				}
			}
			if strings.Join(offsets, ",") != strings.Join(want, ",") {
				t.Errorf("offsets = %v, want %v", offsets, want)
			}
			calls := h.recorded()
			last := calls[len(calls)-1]
			if _, kw := kwargs(last.Params); last.Method != "checkUpload" || kw["verify"] != "adler32" {
				t.Errorf("last call = %s %v, want checkUpload with verify=adler32", last.Method, last.Params)
			}
			if len(progress) != len(want)+1 || progress[len(progress)-1] != fmt.Sprintf("%d/%d", size, size) {
				t.Errorf("progress = %v", progress)
			}
		})
	}
}

func TestUploadFileDetectsBadHub(t *testing.T) {
	tests := []struct {
		name   string
		answer func(c *hubCall) (any, bool)
		want   string
	}{
		{"chunk checksum", func(c *hubCall) (any, bool) {
			if c.Method != "rawUpload" {
				return nil, false
			}
			return map[string]any{"size": int64(len(c.Body)), "hexdigest": "00000000"}, true
		}, "upload checksum failed"},
		{"chunk size", func(c *hubCall) (any, bool) {
			if c.Method != "rawUpload" {
				return nil, false
			}
			return map[string]any{"size": int64(1), "hexdigest": "x"}, true
		}, "hub stored 1 bytes"},
		{"final size", func(c *hubCall) (any, bool) {
			if c.Method != "checkUpload" {
				return nil, false
			}
			return map[string]any{"size": int64(3), "hexdigest": "x"}, true
		}, "wrong length"},
		{"final checksum", func(c *hubCall) (any, bool) {
			if c.Method != "checkUpload" {
				return nil, false
			}
			return map[string]any{"size": int64(1500), "hexdigest": "deadbeef"}, true
		}, "wrong checksum"},
		{"file missing", func(c *hubCall) (any, bool) {
			if c.Method != "checkUpload" {
				return nil, false
			}
			return nil, true
		}, "has no file"},
		{"not a struct", func(c *hubCall) (any, bool) {
			if c.Method != "rawUpload" {
				return nil, false
			}
			return "ok", true
		}, "want a struct"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHub(t)
			c := newTestClient(t, h, func(o *Options) { o.UploadBlockSize = 1000 })
			login(t, c)
			h.raw = func(w http.ResponseWriter, r *http.Request, call *hubCall) bool {
				v, ok := tt.answer(call)
				if !ok {
					return false
				}
				if _, err := h.session(call); err != nil {
					t.Errorf("session: %v", err)
				}
				_ = kojixml.EncodeResponse(w, v)
				return true
			}
			local := writeFile(t, t.TempDir(), "x.rpm", bytes.Repeat([]byte("r"), 1500))
			err := c.UploadFile(testCtx(t), local, "tasks/1/1", "", nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("UploadFile = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestUploadRejectsBadTargets(t *testing.T) {
	h := newFakeHub(t)
	c := newTestClient(t, h, nil)
	ctx := testCtx(t)
	dir := t.TempDir()
	local := writeFile(t, dir, "ok.log", []byte("x"))
	if err := c.UploadFile(ctx, local, "tasks/1/1", "", nil); err == nil || !strings.Contains(err.Error(), "not logged in") {
		t.Errorf("UploadFile anonymous = %v, want not logged in", err)
	}
	if err := c.UploadChunk(ctx, "tasks/1/1", "a.log", 0, []byte("x"), true); err == nil {
		t.Error("UploadChunk anonymous succeeded")
	}
	login(t, c)
	tests := []struct{ dir, name string }{
		{"tasks/1/1", "../escape"},
		{"tasks/1/1", ".hidden"},
		{"tasks/1/1", "a/b"},
		{"tasks/1/1", "nul\x00"},
		{"", "a.log"},
		{"/etc", "a.log"},
		{"..", "a.log"},
		{"../../etc", "a.log"},
		{"tasks/../../etc", "a.log"},
		{".", "a.log"},
	}
	for _, tt := range tests {
		if err := c.UploadFile(ctx, local, tt.dir, tt.name, nil); err == nil {
			t.Errorf("UploadFile(%q, %q) succeeded", tt.dir, tt.name)
		}
		if err := c.UploadChunk(ctx, tt.dir, tt.name, 0, []byte("x"), true); err == nil {
			t.Errorf("UploadChunk(%q, %q) succeeded", tt.dir, tt.name)
		}
	}
	if err := c.UploadFile(ctx, dir, "tasks/1/1", "d", nil); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("UploadFile of a directory = %v", err)
	}
	if err := c.UploadFile(ctx, dir+"/missing", "tasks/1/1", "", nil); err == nil {
		t.Error("UploadFile of a missing file succeeded")
	}
	if err := c.UploadChunk(ctx, "tasks/1/1", "a.log", -1, []byte("x"), false); err == nil {
		t.Error("UploadChunk at a negative offset succeeded")
	}
	if err := c.UploadChunk(ctx, "tasks/1/1", "a.log", 0, make([]byte, 16*DefaultUploadBlockSize+1), false); err == nil {
		t.Error("UploadChunk of an oversized chunk succeeded")
	}
	if n := len(h.recorded()); n != 1 {
		t.Errorf("%d requests, want only the login", n)
	}
}

// TestUploadChunkStreamsLog appends to a log as kojid's incremental upload
// does, then rewrites it from offset 0 after the local log was rotated.
func TestUploadChunkStreamsLog(t *testing.T) {
	h := newFakeHub(t)
	c := newTestClient(t, h, nil)
	login(t, c)
	ctx := testCtx(t)
	steps := []struct {
		offset    int64
		data      string
		overwrite bool
		want      string
	}{
		{0, "line 1\n", true, "line 1\n"},
		{7, "line 2\n", true, "line 1\nline 2\n"},
		{14, "", true, "line 1\nline 2\n"},
		{0, "new\n", true, "new\n"},
	}
	for _, s := range steps {
		if err := c.UploadChunk(ctx, "tasks/2/2", "build.log", s.offset, []byte(s.data), s.overwrite); err != nil {
			t.Fatalf("UploadChunk(%d, %q): %v", s.offset, s.data, err)
		}
		if got := string(h.files["tasks/2/2/build.log"]); got != s.want {
			t.Errorf("after chunk at %d: hub has %q, want %q", s.offset, got, s.want)
		}
	}
	err := c.UploadChunk(ctx, "tasks/2/2", "build.log", 0, []byte("x"), false)
	if err == nil || !strings.Contains(err.Error(), "upload path exists") {
		t.Errorf("UploadChunk at 0 without overwrite on an existing file = %v, want the hub's fault", err)
	}
}

func TestDownloadTaskOutput(t *testing.T) {
	tests := []struct {
		name   string
		answer any
		want   string
		err    string
	}{
		{"koji base64 string", base64.StdEncoding.EncodeToString([]byte("hello\n")), "hello\n", ""},
		{"base64 value", []byte("raw"), "raw", ""},
		{"empty", "", "", ""},
		{"bad base64", "@@@", "", "bad base64"},
		{"wrong type", int64(3), "", "hub returned int64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHub(t)
			h.handle = func(c *hubCall) (any, error) { return tt.answer, nil }
			c := newTestClient(t, h, nil)
			got, err := c.DownloadTaskOutput(testCtx(t), 7, "build.log", -4000, 16384)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("DownloadTaskOutput = %q, %v; want %q", got, err, tt.err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("DownloadTaskOutput = %q, %v; want %q", got, err, tt.want)
			}
			pos, kw := kwargs(h.recorded()[0].Params)
			if fmt.Sprint(pos) != "[7 build.log]" || kw["offset"] != int64(-4000) || kw["size"] != int64(16384) {
				t.Errorf("params = %v", h.recorded()[0].Params)
			}
		})
	}
	h := newFakeHub(t)
	c := newTestClient(t, h, nil)
	if _, err := c.DownloadTaskOutput(testCtx(t), 7, "", 0, -1); err == nil {
		t.Error("empty file name accepted")
	}
	if _, err := c.DownloadTaskOutput(testCtx(t), 7, "a.log", 0, -2); err == nil {
		t.Error("size -2 accepted")
	}
}
