package stockhub

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// exchange is one recorded HTTP request to the hub and the hub's answer.
type exchange struct {
	method, path string // HTTP request line
	reqHeader    http.Header
	reqBody      []byte
	status       int // 0 when the recording has no answer
	respHeader   http.Header
	respBody     []byte
}

// parseRecording splits a recording (shared/koji/wire/README.md) into its
// exchanges: a ">>> METHOD PATH" line and ">>> Name: value" headers, then
// Content-Length bytes of body; a "<<< HTTP CODE TEXT" line, "<<< " headers
// and the body. Text between exchanges (the file's header, curl's output) is
// skipped.
func parseRecording(data []byte) ([]exchange, error) {
	var out []exchange
	rest := data
	line := 0 // of rest's start, for messages
	next := func() (string, bool) {
		if len(rest) == 0 {
			return "", false
		}
		l, after, _ := bytes.Cut(rest, []byte("\n"))
		rest = after
		line++
		return string(l), true
	}
	headers := func(prefix string) http.Header {
		h := http.Header{}
		for bytes.HasPrefix(rest, []byte(prefix)) {
			l, _ := next()
			k, v, _ := strings.Cut(strings.TrimPrefix(l, prefix), ": ")
			h.Add(k, v)
		}
		return h
	}
	body := func(h http.Header) ([]byte, error) {
		cl := h.Get("Content-Length")
		if cl == "" {
			return nil, nil
		}
		n, err := strconv.Atoi(cl)
		if err != nil || n < 0 || n > len(rest) {
			return nil, fmt.Errorf("line %d: body of %q bytes runs past the end", line, cl)
		}
		b := rest[:n:n]
		line += bytes.Count(b, []byte("\n"))
		rest = rest[n:]
		return b, nil
	}
	for {
		l, ok := next()
		if !ok {
			break
		}
		switch {
		case isRequestLine(l):
			f := strings.Fields(strings.TrimPrefix(l, ">>> "))
			ex := exchange{method: f[0], path: f[1]}
			ex.reqHeader = headers(">>> ")
			b, err := body(ex.reqHeader)
			if err != nil {
				return nil, err
			}
			ex.reqBody = b
			out = append(out, ex)
		case strings.HasPrefix(l, "<<< HTTP ") && len(out) > 0 && out[len(out)-1].status == 0:
			ex := &out[len(out)-1]
			f := strings.Fields(l)
			if len(f) < 3 {
				return nil, fmt.Errorf("line %d: bad status line %q", line, l)
			}
			code, err := strconv.Atoi(f[2])
			if err != nil {
				return nil, fmt.Errorf("line %d: bad status line %q", line, l)
			}
			ex.status = code
			ex.respHeader = headers("<<< ")
			if ex.respBody, err = body(ex.respHeader); err != nil {
				return nil, err
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no exchanges")
	}
	return out, nil
}

// isRequestLine reports whether l is ">>> METHOD /path".
func isRequestLine(l string) bool {
	r, ok := strings.CutPrefix(l, ">>> ")
	if !ok {
		return false
	}
	m, p, ok := strings.Cut(r, " ")
	if !ok || m == "" || !strings.HasPrefix(p, "/") {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}
