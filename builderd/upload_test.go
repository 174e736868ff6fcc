package builderd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingHub records which files it uploaded and can fail one. With
// meet set, its first upload waits (up to 5 s) for the other hub's first:
// the two upload at the same time or the test says they did not.
type countingHub struct {
	*fakeHub
	mu       sync.Mutex
	uploaded []string
	fail     string
	meet     *sync.WaitGroup
	met      bool
}

func (c *countingHub) UploadFile(ctx context.Context, local, dir, name string, p func(int64, int64)) error {
	if c.meet != nil && !c.met {
		c.met = true
		c.meet.Done()
		done := make(chan struct{})
		go func() { c.meet.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			return fmt.Errorf("%s: the other session never uploaded at the same time", name)
		}
	}
	if name == c.fail {
		return fmt.Errorf("%s: hub refused it (test)", name)
	}
	c.mu.Lock()
	c.uploaded = append(c.uploaded, name)
	c.mu.Unlock()
	return c.fakeHub.UploadFile(ctx, local, dir, name, p)
}

// subsessionFake is a hub whose subsession is another countingHub over
// the same fake.
type subsessionFake struct {
	*countingHub
	sub    *countingHub
	closed int
}

func (s *subsessionFake) openSubsession(context.Context) (Hub, func(), error) {
	return s.sub, func() { s.closed++ }, nil
}

// uploadAll sends paths with an uploader, as a createrepo task does, and
// returns the names it sent.
func uploadAll(tk *task, paths []string) ([]string, error) {
	u := tk.startUploads(context.Background(), true)
	defer u.wait()
	for _, p := range paths {
		if err := u.add(p); err != nil {
			return nil, err
		}
		u.add(p) // a name already queued is not sent again
	}
	names, err := u.wait()
	if again, err2 := u.wait(); !slices.Equal(again, names) || err2 != err {
		return nil, fmt.Errorf("a second wait says %v, %v; the first %v, %v", again, err2, names, err)
	}
	return names, err
}

// TestUploaderTwoAtOnce: the uploader sends every file once, over the
// session and a subsession when the hub opens one, names them sorted,
// closes the subsession, and fails when one upload fails.
func TestUploaderTwoAtOnce(t *testing.T) {
	top := t.TempDir()
	fh := newFakeHub(t, top)
	local := t.TempDir()
	var paths, want []string
	for i, n := range []int{5000, 10, 300000, 70, 120000, 1} {
		name := fmt.Sprintf("f%d.xml.gz", i)
		p := filepath.Join(local, name)
		if err := os.WriteFile(p, []byte(strings.Repeat("x", n)), 0o644); err != nil {
			t.Fatal(err)
		}
		paths, want = append(paths, p), append(want, name)
	}
	id := fh.addTask("createrepo", int64(1), "x86_64", nil)
	fh.tasks[id].state, fh.tasks[id].host = stateOpen, fh.hostID
	var meet sync.WaitGroup
	meet.Add(2)
	h := &subsessionFake{countingHub: &countingHub{fakeHub: fh, meet: &meet}, sub: &countingHub{fakeHub: fh, meet: &meet}}
	tk := &task{id: id, d: &daemon{hub: h}, log: slog.New(slog.DiscardHandler)}
	names, err := uploadAll(tk, paths)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, want) {
		t.Errorf("names = %v, want %v", names, want)
	}
	all := append(slices.Clone(h.uploaded), h.sub.uploaded...)
	slices.Sort(all)
	if sorted := slices.Sorted(slices.Values(want)); !slices.Equal(all, sorted) {
		t.Errorf("uploaded %v, want each of %v once", all, sorted)
	}
	if len(h.uploaded) == 0 || len(h.sub.uploaded) == 0 || h.closed != 1 {
		t.Errorf("session uploaded %v, subsession %v, subsession closed %d times: want both used and one close", h.uploaded, h.sub.uploaded, h.closed)
	}
	for _, n := range want {
		if _, err := os.Stat(filepath.Join(fh.workDir, tk.uploadDir(), n)); err != nil {
			t.Errorf("%s not on the hub: %v", n, err)
		}
	}

	// One refused upload fails the whole; the subsession is still closed.
	h.sub.fail, h.fail = "f2.xml.gz", "f2.xml.gz"
	if _, err := uploadAll(tk, paths); err == nil || !strings.Contains(err.Error(), "f2.xml.gz") {
		t.Errorf("a refused upload: %v", err)
	}
	if h.closed != 2 {
		t.Errorf("subsession closed %d times after a failure, want 2", h.closed)
	}

	// A hub without subsessions uploads one at a time, all the same.
	plain := &countingHub{fakeHub: fh}
	tk.d.hub = plain
	if names, err := uploadAll(tk, paths); err != nil || len(plain.uploaded) != len(paths) || !slices.Equal(names, want) {
		t.Errorf("without subsessions: %v, %v, uploaded %v", names, err, plain.uploaded)
	}
	if _, err := uploadAll(tk, []string{filepath.Join(local, "bad\nname")}); err == nil {
		t.Error("a file name with a newline was uploaded")
	}
}

// TestAwaitTaken: the waiter for new work asks the hub again as soon as the
// loop runs every task it was told of (not after a fixed pause, so that a
// subtask assigned next is seen at once), after its limit when the loop
// does not take them, and stops with its context.
func TestAwaitTaken(t *testing.T) {
	d := &daemon{tasks: map[int64]*runningTask{}}
	ids := []any{map[string]any{"id": int64(3), "method": "newRepo"}, map[string]any{"id": int64(4), "method": "createrepo"}}
	done := make(chan bool)
	go func() { done <- d.awaitTaken(context.Background(), ids, time.Hour) }()
	take := func(id int64) {
		d.mu.Lock()
		d.tasks[id] = &runningTask{id: id}
		if d.taken != nil {
			close(d.taken)
			d.taken = nil
		}
		d.mu.Unlock()
	}
	take(3)
	select {
	case <-done:
		t.Fatal("awaitTaken returned with task 4 not taken")
	case <-time.After(50 * time.Millisecond):
	}
	take(4)
	select {
	case ok := <-done:
		if !ok {
			t.Error("awaitTaken = false with its context live")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("awaitTaken still waiting after the loop took every task")
	}
	if !d.awaitTaken(context.Background(), []any{map[string]any{"id": int64(9)}}, time.Millisecond) {
		t.Error("awaitTaken past its limit = false, want true (ask the hub again)")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if d.awaitTaken(ctx, []any{map[string]any{"id": int64(9)}}, time.Hour) {
		t.Error("awaitTaken with its context ended = true")
	}
}
