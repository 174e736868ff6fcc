package farm

import (
	"context"
	"fmt"

	"kojigo/internal/kojiclient"
)

// SetHostsEnabled enables or disables hosts and, when comment is not empty,
// sets their comment, in one multicall as koji enable-host/disable-host
// do. It returns one error per host (nil where it worked).
func (h *Hub) SetHostsEnabled(ctx context.Context, names []string, enable bool, comment string) ([]error, error) {
	method := "disableHost"
	if enable {
		method = "enableHost"
	}
	var calls []kojiclient.CallSpec
	for _, n := range names {
		calls = append(calls, kojiclient.CallSpec{Method: method, Args: []any{n}})
		if comment != "" {
			calls = append(calls, kojiclient.CallSpec{Method: "editHost", Args: []any{n, kojiclient.Kw{"comment": comment}}})
		}
	}
	res, err := h.Calls.MultiCall(ctx, calls)
	if err != nil {
		return nil, err
	}
	per := len(calls) / max(len(names), 1)
	errs := make([]error, len(names))
	for i := range names {
		for _, r := range res[i*per : (i+1)*per] {
			if r.Fault != nil && errs[i] == nil {
				errs[i] = r.Fault
			}
		}
	}
	return errs, nil
}

// EditHost sets a host's capacity and comment.
func (h *Hub) EditHost(ctx context.Context, name string, capacity float64, comment string) error {
	_, err := h.Calls.Call(ctx, "editHost", name, kojiclient.Kw{"capacity": capacity, "comment": comment})
	return err
}

// CancelTask cancels a task and its children.
func (h *Hub) CancelTask(ctx context.Context, id int64) error {
	_, err := h.Calls.Call(ctx, "cancelTask", id)
	return err
}

// FreeTask puts an ASSIGNED or OPEN task back to FREE, for another host.
func (h *Hub) FreeTask(ctx context.Context, id int64) error {
	_, err := h.Calls.Call(ctx, "freeTask", id)
	return err
}

// ResubmitTask makes a new task from a failed or canceled one and returns
// its id.
func (h *Hub) ResubmitTask(ctx context.Context, id int64) (int64, error) {
	v, err := h.Calls.Call(ctx, "resubmitTask", id)
	if err != nil {
		return 0, err
	}
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("resubmitTask %d: the hub sent %T instead of a task id", id, v)
	}
	return n, nil
}

// WaitChanges long-polls kojigo.waitChanges on the Watch connection: it
// returns the new token and which kinds changed ("hosts", "tasks") since
// token, or nothing when timeout passed first. ok is false when the hub
// has no such method (a stock hub: poll instead).
func (h *Hub) WaitChanges(ctx context.Context, token string, timeout float64) (next string, changed []string, ok bool, err error) {
	if !h.HasMethod("kojigo.waitChanges") {
		return "", nil, false, nil
	}
	c := h.Watch
	if c == nil {
		c = h.Calls
	}
	var tok any
	if token != "" {
		tok = token
	}
	v, err := c.Call(ctx, "kojigo.waitChanges", kojiclient.Kw{"token": tok, "timeout": timeout})
	if err != nil {
		if IsInvalidMethod(err) {
			return "", nil, false, nil
		}
		return token, nil, true, err
	}
	m, _ := v.(map[string]any)
	return str(m, "token"), strs(m["changed"]), true, nil
}
