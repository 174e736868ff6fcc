package kojira

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"kojigo/internal/kojiclient"
	"kojigo/internal/kojixml"
)

// Hub is what kojira's loop needs from the hub client (internal/kojiclient's
// *Client implements it): plain calls on kojira's exclusive session.
type Hub interface {
	// Call calls an XML-RPC method; hub faults come back as *kojixml.Fault.
	Call(ctx context.Context, method string, args ...any) (any, error)
}

// Locker takes the user's exclusive session (kojiclient's *Client implements it).
type Locker interface {
	ExclusiveSession(ctx context.Context, force bool) error
}

// Repo states, Koji's numbers.
const (
	repoInit    = 0
	repoReady   = 1
	repoExpired = 2
	repoDeleted = 3
	repoProblem = 4
)

// Task states kojira looks at, Koji's numbers.
const (
	taskCanceled = 3
	taskFailed   = 5
)

func repoStateName(s int64) string {
	switch s {
	case repoInit:
		return "INIT"
	case repoReady:
		return "READY"
	case repoExpired:
		return "EXPIRED"
	case repoDeleted:
		return "DELETED"
	case repoProblem:
		return "PROBLEM"
	}
	return fmt.Sprintf("state %d", s)
}

// faultCode returns the hub fault's code in err, or 0 when err is not one.
func faultCode(err error) int {
	var f *kojixml.Fault
	if errors.As(err, &f) {
		return f.Code
	}
	return 0
}

// sessionLost reports whether err says this session no longer holds the
// lock: closed by a forced takeover, or locked by another session.
func sessionLost(err error) bool {
	switch faultCode(err) {
	case kojixml.AuthError, kojixml.AuthLockError:
		return true
	}
	return false
}

// kw returns Koji keyword arguments.
func kw(pairs ...any) kojiclient.Kw {
	m := kojiclient.Kw{}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i].(string)] = pairs[i+1]
	}
	return m
}

// Value helpers for decoded XML-RPC values.

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	}
	return 0, false
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
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

func asList(v any) ([]any, bool) {
	l, ok := v.([]any)
	return l, ok || v == nil
}

// backoff is the wait after fails consecutive failures: from one second
// (or sleeptime when shorter) doubling, capped at four sleeptimes (at least
// a minute), with jitter.
func backoff(fails int, sleep time.Duration) time.Duration {
	maxd := max(4*sleep, time.Minute)
	d := min(time.Second, sleep) << min(fails-1, 16)
	if d > maxd || d <= 0 {
		d = maxd
	}
	return jitter(d)
}

// jitter spreads d by ±10% so that kojiras and builders do not poll in step.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return time.Duration(float64(d) * (0.9 + 0.2*rand.Float64())) //nolint:gosec // not security
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
