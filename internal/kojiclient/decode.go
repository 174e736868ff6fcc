package kojiclient

import (
	"errors"
	"fmt"
	"io"

	"kojigo/internal/kojixml"
)

// errMalformed marks a response body that is not a valid XML-RPC response.
var errMalformed = errors.New("malformed XML-RPC response")

// decodeResponse reads one <methodResponse> with kojixml's decoder. A fault
// is returned as a *kojixml.Fault error; a body that could not be read is
// returned as is (readError, errTooLarge, io.ErrUnexpectedEOF); anything
// else wraps errMalformed.
func decodeResponse(r io.Reader) (any, error) {
	v, err := kojixml.DecodeResponse(r)
	if err == nil {
		return v, nil
	}
	var f *kojixml.Fault
	if errors.As(err, &f) {
		return nil, f
	}
	if errors.Is(err, errTooLarge) || isReadError(err) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	if errors.Is(err, kojixml.ErrEmpty) {
		// An empty 200 answer is a proxy or connection problem.
		return nil, fmt.Errorf("empty response: %w", io.ErrUnexpectedEOF)
	}
	return nil, fmt.Errorf("%w: %w", errMalformed, err)
}

// faultFromValue converts a {faultCode, faultString} struct, as found in a
// <fault> or in place in a multiCall result.
func faultFromValue(v any) (*kojixml.Fault, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	code, ok := m["faultCode"].(int64)
	if !ok {
		return nil, false
	}
	msg, ok := m["faultString"].(string)
	if !ok {
		return nil, false
	}
	return &kojixml.Fault{Code: int(code), String: msg}, true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
