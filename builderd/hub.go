package builderd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"kojigo/internal/kojiclient"
	"kojigo/internal/kojixml"
)

// Hub is what kojid needs from the hub client (internal/kojiclient's
// *Client implements it). It must be safe for concurrent use: the main loop
// and every running task call it.
type Hub interface {
	// Call calls an XML-RPC method. Keyword arguments travel as a final
	// map[string]any holding "__starstar": true (see kw). Hub faults are
	// returned as *kojixml.Fault.
	Call(ctx context.Context, method string, args ...any) (any, error)
	// UploadChunk writes data at offset into name under serverDir (relative
	// to the hub's work directory); overwrite truncates the file at offset
	// first. The hub's size and checksum of the chunk are verified.
	UploadChunk(ctx context.Context, serverDir, name string, offset int64, data []byte, overwrite bool) error
	// UploadFile uploads a whole local file and verifies the hub's copy.
	UploadFile(ctx context.Context, localPath, serverDir, name string, progress func(done, total int64)) error
}

// kw returns Koji keyword arguments: pairs of name and value.
func kw(pairs ...any) map[string]any {
	m := map[string]any{"__starstar": true}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i].(string)] = pairs[i+1]
	}
	return m
}

// Task states, Koji's numbers.
const (
	stateFree     = 0
	stateOpen     = 1
	stateClosed   = 2
	stateCanceled = 3
	stateAssigned = 4
	stateFailed   = 5
)

func stateName(s int64) string {
	switch s {
	case stateFree:
		return "FREE"
	case stateOpen:
		return "OPEN"
	case stateClosed:
		return "CLOSED"
	case stateCanceled:
		return "CANCELED"
	case stateAssigned:
		return "ASSIGNED"
	case stateFailed:
		return "FAILED"
	}
	return fmt.Sprintf("state %d", s)
}

// Value helpers for decoded XML-RPC values (int64, float64, string, bool,
// nil, []any, map[string]any).

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	}
	return 0, false
}

func asFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case int:
		return float64(x)
	}
	return 0
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

func asBool(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int64:
		return x != 0
	}
	return false
}

func asMap(v any) map[string]any {
	switch x := v.(type) {
	case map[string]any:
		return x
	case kojixml.Struct:
		m := make(map[string]any, len(x))
		for _, mb := range x {
			m[mb.Name] = mb.Value
		}
		return m
	}
	return nil
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func asStrings(v any) []string {
	var out []string
	for _, e := range asList(v) {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// callMap calls a method returning a struct or nil.
func callMap(ctx context.Context, h Hub, method string, args ...any) (map[string]any, error) {
	v, err := h.Call(ctx, method, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	if v == nil {
		return nil, nil
	}
	m := asMap(v)
	if m == nil {
		return nil, fmt.Errorf("%s: unexpected answer %T", method, v)
	}
	return m, nil
}

// callInt calls a method returning an integer (an id).
func callInt(ctx context.Context, h Hub, method string, args ...any) (int64, error) {
	v, err := h.Call(ctx, method, args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", method, err)
	}
	n, ok := asInt(v)
	if !ok {
		return 0, fmt.Errorf("%s: unexpected answer %T %v", method, v, v)
	}
	return n, nil
}

// isFault reports whether err is a hub fault (the hub answered, with an
// error), as opposed to a transport failure.
func isFault(err error) (*kojixml.Fault, bool) {
	var f *kojixml.Fault
	if errors.As(err, &f) {
		return f, true
	}
	return nil, false
}

// buildErrorf returns a BuildError fault: a task failure an operator reads.
func buildErrorf(format string, args ...any) error {
	return kojixml.Errorf(kojixml.BuildError, format, args...)
}

// genericErrorf returns a GenericError fault.
func genericErrorf(format string, args ...any) error {
	return kojixml.Errorf(kojixml.GenericError, format, args...)
}

// toFault turns a handler's error into the fault stored as the task result:
// a fault keeps its code, anything else is a GenericError; the text is the
// whole error chain, so the context added while unwinding stays readable.
func toFault(err error) *kojixml.Fault {
	code := kojixml.GenericError
	if f, ok := isFault(err); ok {
		code = f.Code
	}
	return &kojixml.Fault{Code: code, String: err.Error()}
}

// patienceKey marks the context of a running task: its hub calls wait out
// an outage of the hub or its database instead of failing the task.
type patienceKey struct{}

// patient returns ctx with its hub calls made patient (see outageHub).
func patient(ctx context.Context) context.Context {
	return context.WithValue(ctx, patienceKey{}, true)
}

// impatient undoes patient for one call that must give up (freeing tasks
// at shutdown).
func impatient(ctx context.Context) context.Context {
	return context.WithValue(ctx, patienceKey{}, nil)
}

func isPatient(ctx context.Context) bool {
	v, _ := ctx.Value(patienceKey{}).(bool)
	return v
}

// maxOutageDelay caps the wait between two attempts while the hub is
// unreachable: the hub's return is noticed within this.
const maxOutageDelay = 30 * time.Second

// outageHub wraps the hub client. A call made with a patient context (a
// running task's: waiting for subtasks, uploading results, reporting its
// end) that fails because the hub or its database cannot be reached
// (kojiclient.Unreachable: the call did not run) is repeated with backoff
// for as long as the outage lasts, so that an outage costs time but never
// a build or its RPMs. One line is logged when the hub is lost and one when
// it is back, however many tasks wait. Other calls pass through: the main
// loop has its own backoff.
type outageHub struct {
	Hub
	log *slog.Logger
	// wait sleeps between attempts; tests replace it.
	wait func(ctx context.Context, d time.Duration) error

	mu        sync.Mutex
	downSince time.Time // zero while the hub answers
}

func newOutageHub(h Hub, log *slog.Logger) *outageHub {
	return &outageHub{Hub: h, log: log, wait: sleepCtx}
}

func (o *outageHub) Call(ctx context.Context, method string, args ...any) (any, error) {
	var v any
	err := o.persist(ctx, method, func() error {
		var err error
		v, err = o.Hub.Call(ctx, method, args...)
		return err
	})
	return v, err
}

func (o *outageHub) UploadChunk(ctx context.Context, serverDir, name string, offset int64, data []byte, overwrite bool) error {
	return o.persist(ctx, "rawUpload", func() error {
		return o.Hub.UploadChunk(ctx, serverDir, name, offset, data, overwrite)
	})
}

// UploadFile starts the file over after an outage: its first chunk
// truncates, so a half-uploaded copy cannot survive.
func (o *outageHub) UploadFile(ctx context.Context, localPath, serverDir, name string, progress func(done, total int64)) error {
	return o.persist(ctx, "upload "+name, func() error {
		return o.Hub.UploadFile(ctx, localPath, serverDir, name, progress)
	})
}

// subsessionHub is a Hub that can open a subsession of its session, for
// calls sent alongside the session's own (calls on one session go one at
// a time). closeSub logs the subsession out; a nil sub means none.
type subsessionHub interface {
	openSubsession(ctx context.Context) (sub Hub, closeSub func(), err error)
}

// openSubsession opens a subsession of the kojiclient session under o;
// it rides out outages as o does. Another Hub (a test's) opens none: nil.
func (o *outageHub) openSubsession(ctx context.Context) (Hub, func(), error) {
	c, ok := o.Hub.(*kojiclient.Client)
	if !ok {
		return nil, nil, nil
	}
	sub, err := c.Subsession(ctx)
	if err != nil {
		return nil, nil, err
	}
	return newOutageHub(sub, o.log), func() { sub.Logout(context.WithoutCancel(ctx)) }, nil
}

// persist runs call until it gets an answer, repeating it while the hub is
// unreachable and ctx is patient and live.
func (o *outageHub) persist(ctx context.Context, what string, call func() error) error {
	for fails := 1; ; fails++ {
		err := call()
		if err == nil {
			o.reachable()
			return nil
		}
		if !kojiclient.Unreachable(err) || !isPatient(ctx) || ctx.Err() != nil {
			return err
		}
		delay := jitter(min(time.Second<<min(fails-1, 16), maxOutageDelay))
		o.unreachable(what, err, delay)
		if werr := o.wait(ctx, delay); werr != nil {
			return fmt.Errorf("%w (while the hub was unreachable: %w)", werr, err)
		}
	}
}

func (o *outageHub) unreachable(what string, err error, delay time.Duration) {
	o.mu.Lock()
	first := o.downSince.IsZero()
	if first {
		o.downSince = time.Now()
	}
	o.mu.Unlock()
	if first {
		o.log.Warn("hub unreachable: running tasks keep their work and results and retry until it is back",
			"call", what, "err", err)
	} else {
		o.log.Debug("hub still unreachable", "call", what, "retry_in", delay.Round(time.Millisecond), "err", err)
	}
}

func (o *outageHub) reachable() {
	o.mu.Lock()
	since := o.downSince
	o.downSince = time.Time{}
	o.mu.Unlock()
	if !since.IsZero() {
		o.log.Info("hub reachable again: tasks resume", "outage", time.Since(since).Round(time.Second))
	}
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
