package kojixml

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// exchange is one HTTP exchange of a wire recording (see
// /work/shared/koji/wire/README.md): request and response bodies verbatim.
type exchange struct {
	name       string
	req, resp  []byte
	respStatus string
	respType   string
}

// parseRecording splits a recording into its exchanges. A body is the
// Content-Length bytes after the last ">>> " or "<<< " header line.
func parseRecording(tb testing.TB, path string) []exchange {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var out []exchange
	base := filepath.Base(path)
	sep := []byte("========================================================================\n")
	parts := bytes.Split(data, sep)
	for i, part := range parts[1:] {
		ex := exchange{name: base + "#" + strconv.Itoa(i+1)}
		rest := part
		for _, dir := range []string{">>> ", "<<< "} {
			length := -1
			for bytes.HasPrefix(rest, []byte(dir)) {
				nl := bytes.IndexByte(rest, '\n')
				line := string(rest[:nl])
				if v, ok := strings.CutPrefix(line, dir+"Content-Length: "); ok {
					length, _ = strconv.Atoi(v)
				}
				if v, ok := strings.CutPrefix(line, dir+"Content-Type: "); ok && dir == "<<< " {
					ex.respType = v
				}
				if v, ok := strings.CutPrefix(line, dir+"HTTP "); ok {
					ex.respStatus = v
				}
				rest = rest[nl+1:]
			}
			if length < 0 {
				if dir == ">>> " {
					// no request body (raw-empty-body): skip to the response
					if i := bytes.Index(rest, []byte("<<< ")); i >= 0 {
						rest = rest[i:]
					}
				}
				continue
			}
			if length > len(rest) {
				tb.Fatalf("%s: body length %d beyond end of file", ex.name, length)
			}
			body := rest[:length]
			rest = rest[length:]
			rest = bytes.TrimLeft(rest, "\n")
			if dir == ">>> " {
				ex.req = body
			} else {
				ex.resp = body
			}
		}
		out = append(out, ex)
	}
	if len(out) == 0 {
		tb.Fatalf("%s: no exchanges", path)
	}
	return out
}

func recordings(tb testing.TB, dir string) []exchange {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []exchange
	for _, f := range files {
		out = append(out, parseRecording(tb, f)...)
	}
	return out
}

// checkWire decodes every request and XML response of the exchanges and
// checks that the encoder writes them back byte for byte.
func checkWire(t *testing.T, exs []exchange) (calls, responses int) {
	t.Helper()
	ordered := DecodeOptions{PreserveOrder: true}
	for _, ex := range exs {
		if ex.req != nil {
			c, err := ordered.DecodeCallBytes(ex.req)
			malformed := !bytes.HasSuffix(bytes.TrimSpace(ex.req), []byte("</methodCall>"))
			switch {
			case malformed && err == nil:
				t.Errorf("%s: DecodeCall of malformed request succeeded", ex.name)
			case malformed:
				// Koji answers 400 "Invalid request: ..." for these.
				if !strings.HasPrefix(ex.respStatus, "400") {
					t.Errorf("%s: recorded status %q for a malformed request", ex.name, ex.respStatus)
				}
			case err != nil:
				t.Errorf("%s: DecodeCall: %v", ex.name, err)
			default:
				calls++
				var buf bytes.Buffer
				if err := EncodeCall(&buf, c.Method, c.Params); err != nil {
					t.Errorf("%s: EncodeCall: %v", ex.name, err)
				} else if !bytes.Equal(buf.Bytes(), ex.req) && !strings.HasPrefix(ex.name, "raw-") {
					// raw-* bodies were typed by hand for curl; the rest
					// come from Koji's marshaller.
					t.Errorf("%s: EncodeCall differs\n got: %q\nwant: %q", ex.name, buf.Bytes(), ex.req)
				}
				// and the plain (map) decoding agrees
				plain, err := DecodeCall(bytes.NewReader(ex.req))
				if err != nil {
					t.Errorf("%s: DecodeCall (maps): %v", ex.name, err)
				} else if !equalValues(plain.Params, unorder(c.Params)) {
					t.Errorf("%s: map decoding differs from ordered decoding", ex.name)
				}
			}
		}
		if ex.resp == nil || ex.respType != "text/xml" {
			continue
		}
		responses++
		v, err := ordered.DecodeResponseBytes(ex.resp)
		var buf bytes.Buffer
		var f *Fault
		switch {
		case errors.As(err, &f):
			if err := EncodeFault(&buf, f); err != nil {
				t.Errorf("%s: EncodeFault: %v", ex.name, err)
			}
		case err != nil:
			t.Errorf("%s: DecodeResponse: %v", ex.name, err)
			continue
		default:
			if err := EncodeResponse(&buf, v); err != nil {
				t.Errorf("%s: EncodeResponse: %v", ex.name, err)
			}
		}
		if !bytes.Equal(buf.Bytes(), ex.resp) {
			t.Errorf("%s: re-encoded response differs\n got: %q\nwant: %q", ex.name, buf.Bytes(), ex.resp)
		}
	}
	return calls, responses
}

func TestWireGolden(t *testing.T) {
	exs := recordings(t, "testdata/wire")
	calls, responses := checkWire(t, exs)
	if calls < 20 || responses < 20 {
		t.Errorf("checked %d calls and %d responses; the testdata has more", calls, responses)
	}
}

// TestWireAllRecordings runs the golden check over the full recording set
// when it is present (it lives outside the repository).
func TestWireAllRecordings(t *testing.T) {
	const dir = "/work/shared/koji/wire"
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("full wire recordings not present at %s", dir)
	}
	calls, responses := checkWire(t, recordings(t, dir))
	t.Logf("checked %d calls and %d responses", calls, responses)
}

func TestWireSpecifics(t *testing.T) {
	byName := map[string]exchange{}
	for _, ex := range recordings(t, "testdata/wire") {
		byName[ex.name] = ex
	}
	get := func(name string) exchange {
		t.Helper()
		ex, ok := byName[name]
		if !ok {
			t.Fatalf("no exchange %s", name)
		}
		return ex
	}

	// kwargs as Koji's __starstar struct
	c, err := DecodeCall(bytes.NewReader(get("host.updateHost.txt#1").req))
	if err != nil {
		t.Fatal(err)
	}
	args, kw := SplitKwargs(c.Params)
	if c.Method != "host.updateHost" || len(args) != 2 || args[0] != 0.0 || args[1] != true {
		t.Errorf("host.updateHost args = %v %#v", c.Method, args)
	}
	data, _ := kw["data"].(map[string]any)
	if data["maxjobs"] != int64(10) || len(kw) != 1 {
		t.Errorf("host.updateHost kwargs = %#v", kw)
	}

	// closeTask carries a whole methodResponse as an escaped string
	c, err = DecodeCall(bytes.NewReader(get("host.closeTask.txt#1").req))
	if err != nil {
		t.Fatal(err)
	}
	res, err := DecodeResponse(strings.NewReader(c.Params[1].(string)))
	if err != nil {
		t.Fatalf("decode closeTask result: %v", err)
	}
	want := map[string]any{"repo_id": int64(1), "event_id": int64(1)}
	if !equalValues(res, want) {
		t.Errorf("closeTask result = %#v, want %#v", res, want)
	}

	// failTask carries a fault document
	c, err = DecodeCall(bytes.NewReader(get("host.failTask.txt#1").req))
	if err != nil {
		t.Fatal(err)
	}
	_, err = DecodeResponse(strings.NewReader(c.Params[1].(string)))
	var f *Fault
	if !errors.As(err, &f) || f.Code == 0 || f.String == "" {
		t.Errorf("failTask result: err = %v, want a Fault", err)
	}

	// the wrong-argtype fault is ParameterError
	_, err = DecodeResponse(bytes.NewReader(get("raw-fault-wrong-argtype.txt#1").resp))
	if !errors.As(err, &f) || f.Code != ParameterError {
		t.Errorf("wrong-argtype: err = %v, want ParameterError fault", err)
	}

	// malformed and empty requests: Koji answers 400 "Invalid request: <expat error>"
	mal := get("raw-fault-malformed-xml.txt#1")
	_, err = DecodeCall(bytes.NewReader(mal.req))
	var se *SyntaxError
	if !errors.As(err, &se) || "Invalid request: "+se.Error() != strings.TrimSpace(string(mal.resp)) {
		t.Errorf("malformed request: err = %v, Koji said %q", err, mal.resp)
	}
	if _, err := DecodeCall(bytes.NewReader(nil)); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty body: err = %v, want ErrEmpty", err)
	}
}
