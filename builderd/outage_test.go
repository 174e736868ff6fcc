package builderd

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"kojigo/internal/kojixml"
)

// lockedBuffer collects log output written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// outageDaemon is a daemon over a fake hub whose outage waits take no time
// (they are counted instead), with one OPEN task of this host.
func outageDaemon(t *testing.T) (*daemon, *fakeHub, *outageHub, *lockedBuffer, int64) {
	fh := newFakeHub(t, t.TempDir())
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	oh := newOutageHub(fh, log)
	oh.wait = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	d := &daemon{hub: oh, log: log, hostID: fh.hostID}
	id := fh.addTask("tagBuild", int64(11), int64(501), false, nil, true)
	if _, err := fh.Call(context.Background(), "host.openTask", id); err != nil {
		t.Fatal(err)
	}
	return d, fh, oh, &logs, id
}

// TestReportSurvivesLongOutage: a task's end is reported however many
// attempts the hub's absence costs (kojid used to give up after 8, throwing
// the result away), with one log line when the hub is lost and one when it
// is back.
func TestReportSurvivesLongOutage(t *testing.T) {
	d, fh, _, logs, id := outageDaemon(t)
	fh.mu.Lock()
	fh.failCalls = 500
	fh.mu.Unlock()
	if err := d.report(patient(context.Background()), id, "tagged", nil); err != nil {
		t.Fatalf("report through an outage: %v", err)
	}
	if tk := fh.task(id); tk.state != stateClosed || tk.result != "tagged" {
		t.Errorf("task %d: state %s result %v, want CLOSED with the result", id, stateName(tk.state), tk.result)
	}
	out := logs.String()
	if n := strings.Count(out, "hub unreachable"); n != 1 {
		t.Errorf("%d 'hub unreachable' lines, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "hub reachable again"); n != 1 {
		t.Errorf("%d 'hub reachable again' lines, want 1:\n%s", n, out)
	}
}

// TestReportLostAnswerIsNotRepeated: closeTask applied on the hub but its
// answer lost; the repeated call is refused (the task is no longer OPEN)
// and kojid reads the task's state instead of failing: the task is closed
// once, with its result.
func TestReportLostAnswerIsNotRepeated(t *testing.T) {
	d, fh, _, _, id := outageDaemon(t)
	fh.mu.Lock()
	fh.loseAnswers = map[string]int{"host.closeTask": 1}
	fh.mu.Unlock()
	if err := d.report(patient(context.Background()), id, "tagged", nil); err != nil {
		t.Fatalf("report after a lost answer: %v", err)
	}
	if n := fh.called("host.closeTask"); n != 2 {
		t.Errorf("host.closeTask called %d times, want 2 (the lost one and the refused repeat)", n)
	}
	if tk := fh.task(id); tk.state != stateClosed || tk.result != "tagged" {
		t.Errorf("task %d: state %s result %v, want CLOSED with the result", id, stateName(tk.state), tk.result)
	}
}

// TestReportFaultOnForeignTask: a fault for a task that is not ours any
// more is still an error (the hub gave the task away), and says so, so that
// runTask logs it as the expected end of a run cut off from the hub rather
// than as a failure to report.
func TestReportFaultOnForeignTask(t *testing.T) {
	d, fh, _, _, id := outageDaemon(t)
	fh.mu.Lock()
	fh.tasks[id].host = fh.hostID + 1
	fh.mu.Unlock()
	err := d.report(patient(context.Background()), id, "tagged", nil)
	if err == nil {
		t.Fatal("report on another host's task = nil, want the hub's fault")
	}
	if !errors.Is(err, errTaskNotOurs) {
		t.Errorf("report on another host's task = %v, want errTaskNotOurs", err)
	}
	if tk := fh.task(id); tk.state != stateOpen {
		t.Errorf("task %d is %s, want it left OPEN for its new host", id, stateName(tk.state))
	}
}

// TestOutageHubPatience: only patient calls wait out an outage; a fault
// that is not ServerOffline, and a call from the main loop, return at once.
func TestOutageHubPatience(t *testing.T) {
	_, fh, oh, _, id := outageDaemon(t)
	fh.mu.Lock()
	fh.failCalls = 3
	fh.mu.Unlock()
	if _, err := oh.Call(context.Background(), "getTaskInfo", id); err == nil {
		t.Error("an impatient call waited out the outage")
	}
	if _, err := oh.Call(impatient(patient(context.Background())), "getTaskInfo", id); err == nil {
		t.Error("impatient(patient(ctx)) waited out the outage")
	}
	if _, err := oh.Call(patient(context.Background()), "getTaskInfo", id); err != nil {
		t.Errorf("a patient call failed during the outage: %v", err)
	}
	if _, err := oh.Call(patient(context.Background()), "host.closeTask", int64(99999), "x"); err == nil {
		t.Error("a fault was retried away")
	}
	// A task cancelled during the outage stops waiting.
	down := hubFunc(func(ctx context.Context, method string, args ...any) (any, error) { return nil, errTransport })
	oh = newOutageHub(down, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(patient(context.Background()))
	oh.wait = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	if _, err := oh.Call(ctx, "host.taskWait", id); err == nil {
		t.Error("a cancelled call returned nil")
	}
}

// TestServerOfflineFaultIsWaitedOut: the hub's "database unavailable"
// fault is an outage too.
func TestServerOfflineFaultIsWaitedOut(t *testing.T) {
	n := 0
	h := hubFunc(func(ctx context.Context, method string, args ...any) (any, error) {
		if n++; n < 20 {
			return nil, kojixml.Errorf(kojixml.ServerOffline, "database unavailable")
		}
		return "ok", nil
	})
	oh := newOutageHub(h, slog.New(slog.DiscardHandler))
	oh.wait = func(ctx context.Context, d time.Duration) error { return nil }
	if v, err := oh.Call(patient(context.Background()), "host.taskWait", int64(1)); err != nil || v != "ok" {
		t.Fatalf("Call = %v, %v; want ok after 19 ServerOffline faults", v, err)
	}
}

// hubFunc is a Hub whose calls are a function; uploads are not used.
type hubFunc func(ctx context.Context, method string, args ...any) (any, error)

func (f hubFunc) Call(ctx context.Context, method string, args ...any) (any, error) {
	return f(ctx, method, args...)
}
func (f hubFunc) UploadChunk(context.Context, string, string, int64, []byte, bool) error { return nil }
func (f hubFunc) UploadFile(context.Context, string, string, string, func(int64, int64)) error {
	return nil
}
