package kojixml

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func call(params string) string {
	return "<?xml version='1.0'?>\n<methodCall>\n<methodName>m</methodName>\n<params>\n" + params + "</params>\n</methodCall>\n"
}

func param(value string) string { return "<param>\n" + value + "\n</param>\n" }

func TestDecodeValues(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  any
	}{
		{"untyped string", "<value>abc</value>", "abc"},
		{"untyped keeps spaces", "<value>  a b  </value>", "  a b  "},
		{"untyped empty", "<value></value>", ""},
		{"self-closed value", "<value/>", ""},
		{"string empty", "<value><string/></value>", ""},
		{"string entities", "<value><string>&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#x1F600;</string></value>", "<>&\"'AB😀"},
		{"string cdata", "<value><string>a<![CDATA[<b>&]]>c</string></value>", "a<b>&c"},
		{"string comment", "<value><string>a<!-- c -->b</string></value>", "ab"},
		{"string pi", "<value><string>a<?pi x?>b</string></value>", "ab"},
		{"crlf normalised", "<value><string>a\r\nb\rc</string></value>", "a\nb\nc"},
		{"char ref cr kept", "<value><string>a&#13;b</string></value>", "a\rb"},
		{"whitespace around type", "<value>\n  <int>5</int>\n</value>", int64(5)},
		{"int", "<value><int>-12</int></value>", int64(-12)},
		{"int plus sign", "<value><int>+12</int></value>", int64(12)},
		{"int spaces", "<value><int> 12 </int></value>", int64(12)},
		{"i4", "<value><i4>7</i4></value>", int64(7)},
		{"i8", "<value><i8>9223372036854775807</i8></value>", int64(math.MaxInt64)},
		{"i8 min", "<value><i8>-9223372036854775808</i8></value>", int64(math.MinInt64)},
		{"ex:i8 namespaced", "<value><ex:i8 xmlns:ex='http://ws.apache.org/xmlrpc/namespaces/extensions'>3</ex:i8></value>", int64(3)},
		{"nil", "<value><nil/></value>", nil},
		{"nil open close", "<value><nil></nil></value>", nil},
		{"ex:nil", "<value><ex:nil/></value>", nil},
		{"boolean true", "<value><boolean>1</boolean></value>", true},
		{"boolean false", "<value><boolean>0</boolean></value>", false},
		{"double", "<value><double>1.5</double></value>", 1.5},
		{"double exp", "<value><double>1e+16</double></value>", 1e16},
		{"double spaces", "<value><double> -2.5 </double></value>", -2.5},
		{"double inf", "<value><double>inf</double></value>", math.Inf(1)},
		{"double nan", "<value><double>nan</double></value>", math.NaN()},
		{"double overflow is inf", "<value><double>1e999</double></value>", math.Inf(1)},
		{"base64", "<value><base64>\naGVs\nbG8=\n</base64></value>", []byte("hello")},
		{"base64 empty", "<value><base64></base64></value>", []byte{}},
		{"dateTime python", "<value><dateTime.iso8601>20240101T12:00:00</dateTime.iso8601></value>", time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)},
		{"dateTime dashes", "<value><dateTime.iso8601>2024-01-01T12:00:00</dateTime.iso8601></value>", time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)},
		{"dateTime compact", "<value><dateTime.iso8601>20240101T120000</dateTime.iso8601></value>", time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)},
		{"dateTime zone", "<value><dateTime.iso8601>2024-01-01T12:00:00+02:00</dateTime.iso8601></value>", time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC)},
		{"dateTime Z fraction dropped", "<value><dateTime.iso8601>2024-01-01T12:00:00.5Z</dateTime.iso8601></value>", time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)},
		{"array", "<value><array><data><value><int>1</int></value><value>x</value></data></array></value>", []any{int64(1), "x"}},
		{"array no data", "<value><array></array></value>", []any{}},
		{"array empty data", "<value><array><data/></array></value>", []any{}},
		{"array self-closed", "<value><array/></value>", []any{}},
		{"struct", "<value><struct><member><name>a</name><value><int>1</int></value></member></struct></value>", map[string]any{"a": int64(1)}},
		{"struct dup keeps last", "<value><struct><member><name>a</name><value>1</value></member><member><name>a</name><value>2</value></member></struct></value>", map[string]any{"a": "2"}},
		{"struct empty", "<value><struct/></value>", map[string]any{}},
		{"struct name entities", "<value><struct><member><name>&lt;k&gt;</name><value/></member></struct></value>", map[string]any{"<k>": ""}},
		{"attributes ignored", "<value type=\"x\"><int a='1' b = \"2\">4</int></value>", int64(4)},
		{"comment between", "<value><array><!-- c --><data>\n<!-- c --><value>1</value></data></array></value>", []any{"1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := DecodeCall(strings.NewReader(call(param(tc.value))))
			if err != nil {
				t.Fatalf("DecodeCall(%q): %v", tc.value, err)
			}
			if len(c.Params) != 1 || !equalValues(c.Params[0], tc.want) {
				t.Errorf("DecodeCall(%q) = %#v, want %#v", tc.value, c.Params, tc.want)
			}
		})
	}
}

func TestDecodeCallShapes(t *testing.T) {
	tests := []struct {
		name, doc, method string
		n                 int
	}{
		{"no declaration", "<methodCall><methodName>a.b</methodName><params></params></methodCall>", "a.b", 0},
		{"no params", "<methodCall><methodName>x</methodName></methodCall>", "x", 0},
		{"empty params", "<methodCall><methodName>x</methodName><params/></methodCall>", "x", 0},
		{"bom and utf-8 decl", "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"UTF-8\"?><methodCall><methodName>x</methodName></methodCall>", "x", 0},
		{"trailing comment and space", "<methodCall><methodName>x</methodName></methodCall>\n<!-- bye -->\n\n", "x", 0},
		{"leading comment", "<!-- hi --><methodCall><methodName>x</methodName></methodCall>", "x", 0},
		{"two params", call(param("<value>1</value>") + param("<value><int>2</int></value>")), "m", 2},
		{"stylesheet pi", "<?xml version='1.0'?><?xml-stylesheet href='x'?><methodCall><methodName>x</methodName></methodCall>", "x", 0},
	}
	for _, tc := range tests {
		c, err := DecodeCall(strings.NewReader(tc.doc))
		if err != nil {
			t.Errorf("%s: DecodeCall(%q): %v", tc.name, tc.doc, err)
			continue
		}
		if c.Method != tc.method || len(c.Params) != tc.n || c.Params == nil {
			t.Errorf("%s: DecodeCall(%q) = %#v", tc.name, tc.doc, c)
		}
	}
}

func nested(n int, open, close, leaf string) string {
	return strings.Repeat(open, n) + leaf + strings.Repeat(close, n)
}

func TestDecodeHostile(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string // substring of the error
	}{
		{"empty", "", "empty request"},
		{"only space", " \n\t ", "empty request"},
		{"truncated", "<methodCall><methodName>getAPIVersion</methodName><params>", "no element found"},
		{"wrong root", "<methodResponse><params/></methodResponse>", "expected <methodCall>, found <methodResponse>"},
		{"html", "<html><body>hi</body></html>", "expected <methodCall>"},
		{"not xml", "hello", "unexpected text"},
		{"json", `{"method": "x"}`, "unexpected text"},
		{"trailing garbage", "<methodCall><methodName>x</methodName></methodCall>junk", "junk after document element"},
		{"second root", "<methodCall><methodName>x</methodName></methodCall><methodCall/>", "junk after document element"},
		{"mismatched end", "<methodCall><methodName>x</methodName></methodcall>", "expected <params> or </methodCall>"},
		{"empty method", "<methodCall><methodName></methodName></methodCall>", "empty <methodName>"},
		{"no method", "<methodCall></methodCall>", "expected <methodName>"},
		{"element in method name", "<methodCall><methodName>a<b/></methodName></methodCall>", "unexpected element <b/>"},
		{"doctype entity bomb", `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><methodCall><methodName>&lol2;</methodName></methodCall>`, "DOCTYPE not allowed"},
		{"external entity", `<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><methodCall><methodName>&xxe;</methodName></methodCall>`, "DOCTYPE not allowed"},
		{"undefined entity", call(param("<value>&xxe;</value>")), "undefined entity &xxe;"},
		{"unterminated entity", call(param("<value>a & b</value>")), "invalid token"},
		{"char ref nul", call(param("<value>&#0;</value>")), "invalid character"},
		{"char ref surrogate", call(param("<value>&#xD800;</value>")), "invalid character"},
		{"char ref huge", call(param("<value>&#x110000;</value>")), "invalid character"},
		{"char ref empty", call(param("<value>&#x;</value>")), "bad character reference"},
		{"raw nul", call(param("<value>a\x00b</value>")), "character 0x00 not allowed"},
		{"raw control", call(param("<value>a\x1bb</value>")), "character 0x1b not allowed"},
		{"invalid utf-8", call(param("<value>\xc3\x28</value>")), "invalid UTF-8"},
		{"U+FFFE", call(param("<value>\uFFFE</value>")), "not allowed in XML"},
		{"latin-1 declared", "<?xml version='1.0' encoding='ISO-8859-1'?><methodCall><methodName>x</methodName></methodCall>", "unsupported encoding"},
		{"late xml decl", "<!-- x --><?xml version='1.0'?><methodCall><methodName>x</methodName></methodCall>", "XML declaration not at start"},
		{"unclosed comment", "<methodCall><!-- x", "unclosed comment"},
		{"unclosed pi", "<?xml version='1.0'", "unclosed processing instruction"},
		{"cdata outside text", "<methodCall><![CDATA[x]]></methodCall>", "CDATA not allowed here"},
		{"unclosed cdata", call(param("<value><string><![CDATA[abc")), "unclosed CDATA"},
		{"bad tag", "<methodCall>< methodName>x</methodName></methodCall>", "invalid token"},
		{"bad attribute", "<methodCall foo>", "invalid token"},
		{"unquoted attribute", "<methodCall foo=bar>", "invalid token"},
		{"unclosed attribute", "<methodCall foo='bar>", "unclosed attribute"},
		{"lt in attribute", "<methodCall foo='<'>", "invalid token"},
		{"attribute on end tag", "<methodCall><methodName>x</methodName x='1'>", "invalid token"},
		{"markup declaration", "<!ELEMENT x ANY><methodCall/>", "markup declaration not allowed"},
		{"text in params", call("hello"), "unexpected text"},
		{"param without value", call("<param></param>"), "expected <value>"},
		{"param self-closed", call("<param/>"), "<param> without a <value>"},
		{"two values in param", call("<param><value>1</value><value>2</value></param>"), "expected </param>"},
		{"unknown type", call(param("<value><integer>1</integer></value>")), "unknown type <integer>"},
		{"mixed content", call(param("<value>abc<int>1</int></value>")), "text and <int> mixed"},
		{"two types", call(param("<value><int>1</int><int>2</int></value>")), "expected </value>"},
		{"bad int", call(param("<value><int>abc</int></value>")), `bad <int> "abc": not an integer`},
		{"int underscore", call(param("<value><int>1_000</int></value>")), "not an integer"},
		{"int float", call(param("<value><int>1.0</int></value>")), "not an integer"},
		{"empty int", call(param("<value><int></int></value>")), "bad <int>"},
		{"int overflow", call(param("<value><i8>9223372036854775808</i8></value>")), "out of 64-bit range"},
		{"int in int", call(param("<value><int><int>1</int></int></value>")), "unexpected element <int>"},
		{"bad boolean", call(param("<value><boolean>true</boolean></value>")), "bad <boolean>"},
		{"boolean 2", call(param("<value><boolean>2</boolean></value>")), "bad <boolean>"},
		{"bad double", call(param("<value><double>1.2.3</double></value>")), "bad <double>"},
		{"empty double", call(param("<value><double/></value>")), "bad <double>"},
		{"nil with content", call(param("<value><nil>x</nil></value>")), "<nil> with content"},
		{"bad base64 chars", call(param("<value><base64>!!!!</base64></value>")), "bad <base64>"},
		{"bad base64 padding", call(param("<value><base64>aGVsbG8</base64></value>")), "bad <base64>"},
		{"bad date", call(param("<value><dateTime.iso8601>yesterday</dateTime.iso8601></value>")), "bad <dateTime.iso8601>"},
		{"bad date month", call(param("<value><dateTime.iso8601>20241301T00:00:00</dateTime.iso8601></value>")), "bad <dateTime.iso8601>"},
		{"empty date", call(param("<value><dateTime.iso8601/></value>")), "bad <dateTime.iso8601>"},
		{"array without data", call(param("<value><array><value>1</value></array></value>")), "expected <data>"},
		{"text in data", call(param("<value><array><data>x</data></array></value>")), "unexpected text"},
		{"array unclosed", "<methodCall><methodName>x</methodName><params><param><value><array><data><value>1</value>", "no element found"},
		{"struct without member", call(param("<value><struct><name>a</name></struct></value>")), "expected <member>"},
		{"member without name", call(param("<value><struct><member><value>1</value></member></struct></value>")), "expected <name>"},
		{"member without value", call(param("<value><struct><member><name>a</name></member></struct></value>")), "expected <value>"},
		{"member self-closed", call(param("<value><struct><member/></struct></value>")), "expected <member>"},
		{"name with element", call(param("<value><struct><member><name><b/></name><value/></member></struct></value>")), "unexpected element"},
		{"deep arrays", call(param(nested(DefaultMaxDepth+1, "<value><array><data>", "</data></array></value>", "<value>x</value>"))), "nested deeper than 64"},
		{"deep structs", call(param(nested(DefaultMaxDepth+1, "<value><struct><member><name>a</name>", "</member></struct></value>", "<value>x</value>"))), "nested deeper than 64"},
		{"very deep unclosed", call(param(strings.Repeat("<value><array><data>", 100000))), "nested deeper than 64"},
		{"many values", call(param("<value><array><data>" + strings.Repeat("<value/>", DefaultMaxValues+1) + "</data></array></value>")), "more than 1048576 values"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := DecodeCall(strings.NewReader(tc.doc))
			if err == nil {
				t.Fatalf("DecodeCall(%.200q) = %#v, want error containing %q", tc.doc, c, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeCall(%.200q) error = %q, want containing %q", tc.doc, err, tc.want)
			}
			var se *SyntaxError
			if !errors.Is(err, ErrEmpty) && !errors.As(err, &se) {
				t.Errorf("DecodeCall(%.200q) error %v is not a *SyntaxError", tc.doc, err)
			}
		})
	}
}

func TestDecodeErrorPosition(t *testing.T) {
	// Koji says: "no element found: line 1, column 58" for this body.
	_, err := DecodeCall(strings.NewReader("<methodCall><methodName>getAPIVersion</methodName><params>"))
	var se *SyntaxError
	if !errors.As(err, &se) || se.Error() != "no element found: line 1, column 58" {
		t.Errorf("error = %v, want Koji's \"no element found: line 1, column 58\"", err)
	}
	_, err = DecodeCall(strings.NewReader("<methodCall>\n<methodName>x</methodName>\n<bogus/>"))
	if !errors.As(err, &se) || se.Line != 3 || se.Column != 0 {
		t.Errorf("error = %v, want line 3 column 0", err)
	}
}

func TestDecodeOptionsLimits(t *testing.T) {
	o := DecodeOptions{MaxDepth: 2, MaxValues: 5}
	ok := call(param("<value><array><data><value><array><data><value>1</value></data></array></value></data></array></value>"))
	if _, err := o.DecodeCallBytes([]byte(ok)); err != nil {
		t.Errorf("depth 2 with MaxDepth 2: %v", err)
	}
	deep := call(param(nested(3, "<value><array><data>", "</data></array></value>", "")))
	if _, err := o.DecodeCallBytes([]byte(deep)); err == nil || !strings.Contains(err.Error(), "deeper than 2") {
		t.Errorf("depth 3 with MaxDepth 2: err = %v", err)
	}
	many := call(strings.Repeat(param("<value/>"), 6))
	if _, err := o.DecodeCallBytes([]byte(many)); err == nil || !strings.Contains(err.Error(), "more than 5 values") {
		t.Errorf("6 values with MaxValues 5: err = %v", err)
	}
	if _, err := o.DecodeCallBytes([]byte(call(strings.Repeat(param("<value/>"), 5)))); err != nil {
		t.Errorf("5 values with MaxValues 5: %v", err)
	}
}

func TestDecodeResponseShapes(t *testing.T) {
	const head = "<?xml version='1.0'?>\n<methodResponse>\n"
	tests := []struct {
		name, doc string
		want      any
		fault     *Fault
		errText   string
	}{
		{"value", head + "<params><param><value><int>1</int></value></param></params></methodResponse>", int64(1), nil, ""},
		{"fault", head + "<fault><value><struct><member><name>faultCode</name><value><int>1002</int></value></member><member><name>faultString</name><value>no</value></member><member><name>traceback</name><value><array><data/></array></value></member></struct></value></fault></methodResponse>", nil, &Fault{AuthError, "no"}, ""},
		{"no params", head + "<params></params></methodResponse>", nil, nil, "response has 0 params"},
		{"two params", head + "<params><param><value/></param><param><value/></param></params></methodResponse>", nil, nil, "response has 2 params"},
		{"empty", head + "</methodResponse>", nil, nil, "expected <params> or <fault>"},
		{"self-closed", "<methodResponse/>", nil, nil, "empty <methodResponse>"},
		{"call instead", "<methodCall><methodName>x</methodName></methodCall>", nil, nil, "expected <methodResponse>"},
		{"fault not struct", head + "<fault><value>x</value></fault></methodResponse>", nil, nil, "fault is string"},
		{"fault without code", head + "<fault><value><struct><member><name>faultString</name><value>x</value></member></struct></value></fault></methodResponse>", nil, nil, "without integer faultCode"},
		{"fault string code", head + "<fault><value><struct><member><name>faultCode</name><value>1</value></member><member><name>faultString</name><value>x</value></member></struct></value></fault></methodResponse>", nil, nil, "without integer faultCode"},
		{"fault without string", head + "<fault><value><struct><member><name>faultCode</name><value><int>1</int></value></member></struct></value></fault></methodResponse>", nil, nil, "without string faultString"},
		{"fault huge code", head + "<fault><value><struct><member><name>faultCode</name><value><i8>99999999999</i8></value></member><member><name>faultString</name><value>x</value></member></struct></value></fault></methodResponse>", nil, nil, "out of range"},
		{"trailing", head + "<params><param><value/></param></params></methodResponse>x", nil, nil, "junk after"},
	}
	for _, tc := range tests {
		for _, o := range []DecodeOptions{{}, {PreserveOrder: true}} {
			v, err := o.DecodeResponseBytes([]byte(tc.doc))
			var f *Fault
			switch {
			case tc.errText != "":
				if err == nil || !strings.Contains(err.Error(), tc.errText) || errors.As(err, &f) {
					t.Errorf("%s: DecodeResponse err = %v, want containing %q", tc.name, err, tc.errText)
				}
			case tc.fault != nil:
				if !errors.As(err, &f) || *f != *tc.fault || v != nil {
					t.Errorf("%s: DecodeResponse = %v, %v, want fault %v", tc.name, v, err, tc.fault)
				}
			default:
				if err != nil || !equalValues(v, tc.want) {
					t.Errorf("%s: DecodeResponse = %#v, %v, want %#v", tc.name, v, err, tc.want)
				}
			}
		}
	}
}

func TestDecodePreserveOrder(t *testing.T) {
	doc := call(param("<value><struct><member><name>z</name><value>1</value></member><member><name>a</name><value><struct><member><name>y</name><value/></member></struct></value></member><member><name>z</name><value>2</value></member></struct></value>"))
	c, err := DecodeOptions{PreserveOrder: true}.DecodeCallBytes([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := Struct{{"z", "2"}, {"a", Struct{{"y", ""}}}}
	if !equalValues(c.Params[0], want) {
		t.Errorf("ordered decode = %#v, want %#v", c.Params[0], want)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestDecodeReaderError(t *testing.T) {
	if _, err := DecodeCall(errReader{}); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("DecodeCall(failing reader) err = %v", err)
	}
	if _, err := DecodeResponse(errReader{}); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("DecodeResponse(failing reader) err = %v", err)
	}
}
