package builderd

import (
	"context"
	"errors"
	"fmt"
	"math"

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
