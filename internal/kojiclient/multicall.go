package kojiclient

import (
	"context"
	"fmt"

	"kojigo/internal/kojixml"
)

// CallSpec is one call of a MultiCall. A Kw as the last of Args is sent as
// keyword arguments.
type CallSpec struct {
	Method string
	Args   []any
}

// Result is the outcome of one call of a MultiCall: Value, or a Fault.
type Result struct {
	Value any
	Fault *Fault
}

// Err returns the fault as an error, or nil.
func (r Result) Err() error {
	if r.Fault != nil {
		return r.Fault
	}
	return nil
}

// MultiCall sends calls in one request (Koji's multiCall; the hub runs them
// in one transaction) and returns one Result per call, in order. A fault in
// one call is returned in place and does not stop the others. An empty
// calls sends nothing.
func (c *Client) MultiCall(ctx context.Context, calls []CallSpec) ([]Result, error) {
	if len(calls) == 0 {
		return nil, nil
	}
	list := make([]any, len(calls))
	for i, cs := range calls {
		if !methodNameRE.MatchString(cs.Method) {
			return nil, fmt.Errorf("multicall: call %d: invalid method name %q", i, truncate(cs.Method, 60))
		}
		params, err := encodeArgs(cs.Args)
		if err != nil {
			return nil, fmt.Errorf("multicall: call %d (%s): %w", i, cs.Method, err)
		}
		list[i] = kojixml.Struct{
			{Name: "methodName", Value: cs.Method},
			{Name: "params", Value: params},
		}
	}
	v, err := c.Call(ctx, "multiCall", list)
	if err != nil {
		return nil, fmt.Errorf("multicall: %w", err)
	}
	return parseMultiCall(v, len(calls))
}

func parseMultiCall(v any, n int) ([]Result, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("multicall: hub returned %T instead of a list", v)
	}
	if len(items) != n {
		return nil, fmt.Errorf("multicall: hub returned %d results for %d calls", len(items), n)
	}
	out := make([]Result, n)
	for i, it := range items {
		switch x := it.(type) {
		case []any:
			if len(x) != 1 {
				return nil, fmt.Errorf("multicall: result %d: want a one-element list, got %d elements", i, len(x))
			}
			out[i].Value = x[0]
		case map[string]any:
			f, ok := faultFromValue(x)
			if !ok {
				return nil, fmt.Errorf("multicall: result %d: struct is not a fault", i)
			}
			out[i].Fault = f
		default:
			return nil, fmt.Errorf("multicall: result %d: unexpected %T", i, it)
		}
	}
	return out, nil
}

// FirstFault returns the first fault among results, or nil (Koji's
// multiCall(strict=True)).
func FirstFault(results []Result) error {
	for i, r := range results {
		if r.Fault != nil {
			return fmt.Errorf("multicall: call %d: %w", i, r.Fault)
		}
	}
	return nil
}
