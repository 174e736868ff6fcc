package kojiclient

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// wireDir holds the recordings this package's tests use, copied from
// shared/koji/wire (a real Koji 1.35.3 hub and its Python clients), so that
// the tests do not depend on where shared/ is.
const wireDir = "testdata/wire"

// exchange is one recorded HTTP request and its answer.
type exchange struct {
	path       string
	reqHeader  map[string]string
	reqBody    []byte
	status     int
	respHeader map[string]string
	respBody   []byte
}

// readWire parses a recording: ">>> " request lines and headers, the body
// (Content-Length bytes), "<<< " status and headers, the body.
func readWire(t testing.TB, name string) []exchange {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(wireDir, name))
	if err != nil {
		t.Fatalf("read recording: %v", err)
	}
	var out []exchange
	r := bufio.NewReader(bytes.NewReader(data))
	readBody := func(n int) []byte {
		b := make([]byte, n)
		if _, err := ioReadFull(r, b); err != nil {
			t.Fatalf("%s: body of %d bytes: %v", name, n, err)
		}
		return b
	}
	var cur *exchange
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, ">>> POST ") || strings.HasPrefix(line, ">>> GET "):
			out = append(out, exchange{reqHeader: map[string]string{}, respHeader: map[string]string{}})
			cur = &out[len(out)-1]
			cur.path = strings.Fields(line)[2]
			if err := readHeaders(r, ">>> ", cur.reqHeader); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			n, _ := strconv.Atoi(cur.reqHeader["Content-Length"])
			cur.reqBody = readBody(n)
		case strings.HasPrefix(line, "<<< HTTP ") && cur != nil:
			cur.status, _ = strconv.Atoi(strings.Fields(line)[2])
			if err := readHeaders(r, "<<< ", cur.respHeader); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			n, _ := strconv.Atoi(cur.respHeader["Content-Length"])
			cur.respBody = readBody(n)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no exchanges found", name)
	}
	return out
}

func readHeaders(r *bufio.Reader, prefix string, into map[string]string) error {
	for {
		b, err := r.Peek(len(prefix))
		if err != nil || string(b) != prefix {
			return nil
		}
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		k, v, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, prefix)), ": ")
		into[k] = v
	}
}

func ioReadFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// lastWith returns the last exchange of a recording whose request body
// names method.
func lastWith(t testing.TB, name, method string) exchange {
	t.Helper()
	ex := readWire(t, name)
	for i := len(ex) - 1; i >= 0; i-- {
		if bytes.Contains(ex[i].reqBody, []byte("<methodName>"+method+"</methodName>")) {
			return ex[i]
		}
	}
	t.Fatalf("%s: no %s call", name, method)
	return exchange{}
}
