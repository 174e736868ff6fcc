package logstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeHub keeps uploaded files with Koji's overwrite semantics: truncate at
// offset, then write.
type fakeHub struct {
	mu      sync.Mutex
	files   map[string][]byte
	calls   int
	fail    error
	maxSeen int
}

func (h *fakeHub) UploadChunk(_ context.Context, dir, name string, offset int64, data []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	if h.fail != nil {
		return h.fail
	}
	if len(data) > h.maxSeen {
		h.maxSeen = len(data)
	}
	key := dir + "/" + name
	cur := h.files[key]
	if offset > int64(len(cur)) {
		return fmt.Errorf("offset %d beyond length %d", offset, len(cur))
	}
	h.files[key] = append(append([]byte{}, cur[:offset]...), data...)
	return nil
}

func (h *fakeHub) get(key string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return string(h.files[key])
}

func (h *fakeHub) setFail(err error) {
	h.mu.Lock()
	h.fail = err
	h.mu.Unlock()
}

func newStreamer(t testing.TB, hub *fakeHub, opts Options) *Streamer {
	t.Helper()
	opts.Uploader = hub
	if opts.Dir == "" {
		opts.Dir = "tasks/7/7"
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func appendFile(t testing.TB, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestNewRejects(t *testing.T) {
	hub := &fakeHub{files: map[string][]byte{}}
	for _, o := range []Options{
		{Dir: "tasks/1/1"},
		{Uploader: hub},
		{Uploader: hub, Dir: "/abs"},
		{Uploader: hub, Dir: "../x"},
		{Uploader: hub, Dir: "a/../../x"},
		{Uploader: hub, Dir: "a//b"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) = nil error", o)
		}
	}
}

func TestAddRejects(t *testing.T) {
	s := newStreamer(t, &fakeHub{files: map[string][]byte{}}, Options{})
	for _, name := range []string{"", ".", "..", "a/b", "x\x00y", strings.Repeat("a", 256)} {
		if err := s.Add(name, "/tmp/x"); err == nil {
			t.Errorf("Add(%q) = nil error", name)
		}
	}
	if err := s.Add("build.log", "/tmp/x"); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("build.log", "/tmp/y"); err == nil {
		t.Error("Add twice = nil error")
	}
}

func TestIncrementalTruncateReplace(t *testing.T) {
	dir := t.TempDir()
	hub := &fakeHub{files: map[string][]byte{}}
	s := newStreamer(t, hub, Options{ChunkSize: 7})
	build := filepath.Join(dir, "build.log")
	if err := s.Add("build.log", build); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("root.log", filepath.Join(dir, "root.log")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	steps := []struct {
		name string
		do   func()
		want string
	}{
		{"missing file is fine", func() {}, ""},
		{"first lines", func() { appendFile(t, build, "line 1\nline 2\n") }, "line 1\nline 2\n"},
		{"more lines", func() { appendFile(t, build, "line 3 is longer than a chunk\n") }, "line 1\nline 2\nline 3 is longer than a chunk\n"},
		{"no change", func() {}, "line 1\nline 2\nline 3 is longer than a chunk\n"},
		{"truncated and rewritten shorter", func() { os.WriteFile(build, []byte("again\n"), 0o644) }, "again\n"},
		{"replaced by a new file (new inode)", func() {
			tmp := build + ".new"
			os.WriteFile(tmp, []byte("replacement content, longer than before\n"), 0o644)
			os.Rename(tmp, build)
		}, "replacement content, longer than before\n"},
		{"truncated to empty", func() { os.Truncate(build, 0) }, ""},
		{"grows again", func() { appendFile(t, build, "x\n") }, "x\n"},
	}
	for _, st := range steps {
		st.do()
		if err := s.Sync(ctx); err != nil {
			t.Fatalf("%s: Sync: %v", st.name, err)
		}
		if got := hub.get("tasks/7/7/build.log"); got != st.want {
			t.Fatalf("%s: hub has %q, want %q", st.name, got, st.want)
		}
	}
	if hub.maxSeen > 7 {
		t.Errorf("largest chunk %d, want <= ChunkSize 7", hub.maxSeen)
	}
	if got := s.Uploaded(); len(got) != 1 || got[0] != "build.log" {
		t.Errorf("Uploaded = %q, want [build.log] (root.log never written)", got)
	}
}

func TestFailureRetriedFromHubOffset(t *testing.T) {
	dir := t.TempDir()
	hub := &fakeHub{files: map[string][]byte{}}
	var mu sync.Mutex
	var errNames []string
	s := newStreamer(t, hub, Options{OnError: func(name string, err error) {
		mu.Lock()
		errNames = append(errNames, name)
		mu.Unlock()
	}})
	p := filepath.Join(dir, "build.log")
	s.Add("build.log", p)
	ctx := context.Background()
	appendFile(t, p, "a\n")
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	hub.setFail(errors.New("network down"))
	appendFile(t, p, "b\n")
	if err := s.Sync(ctx); err == nil || !strings.Contains(err.Error(), "network down") {
		t.Fatalf("Sync while failing = %v, want the upload error", err)
	}
	mu.Lock()
	if len(errNames) != 1 || errNames[0] != "build.log" {
		t.Errorf("OnError calls = %q", errNames)
	}
	mu.Unlock()
	hub.setFail(nil)
	appendFile(t, p, "c\n")
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := hub.get("tasks/7/7/build.log"); got != "a\nb\nc\n" {
		t.Errorf("hub has %q after recovery, want a b c", got)
	}
}

func TestMaxPerSyncBoundsOnePass(t *testing.T) {
	dir := t.TempDir()
	hub := &fakeHub{files: map[string][]byte{}}
	s := newStreamer(t, hub, Options{ChunkSize: 10, MaxPerSync: 30})
	p := filepath.Join(dir, "build.log")
	s.Add("build.log", p)
	content := strings.Repeat("0123456789", 10)
	os.WriteFile(p, []byte(content), 0o644)
	s.Sync(context.Background())
	if got := hub.get("tasks/7/7/build.log"); got != content[:30] {
		t.Errorf("after one pass hub has %d bytes, want 30", len(got))
	}
	for range 3 {
		s.Sync(context.Background())
	}
	if got := hub.get("tasks/7/7/build.log"); got != content {
		t.Errorf("after four passes hub has %d bytes, want %d", len(got), len(content))
	}
}

func TestRunStreamsLive(t *testing.T) {
	dir := t.TempDir()
	hub := &fakeHub{files: map[string][]byte{}}
	s := newStreamer(t, hub, Options{Interval: 10 * time.Millisecond})
	p := filepath.Join(dir, "build.log")
	s.Add("build.log", p)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var want bytes.Buffer
	for i := range 5 {
		line := fmt.Sprintf("step %d\n", i)
		appendFile(t, p, line)
		want.WriteString(line)
		deadline := time.Now().Add(5 * time.Second)
		for hub.get("tasks/7/7/build.log") != want.String() {
			if time.Now().After(deadline) {
				t.Fatalf("line %d not uploaded within 5s; hub has %q", i, hub.get("tasks/7/7/build.log"))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
