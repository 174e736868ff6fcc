package logview

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

func TestAppendSanitizes(t *testing.T) {
	tests := []struct {
		name    string
		chunks  []string
		lines   []string
		partial string
	}{
		{"plain", []string{"a\nb\n"}, []string{"a", "b"}, ""},
		{"partial kept until newline", []string{"Executing(%build)", ": /bin/sh -e\n", "+ umask"}, []string{"Executing(%build): /bin/sh -e"}, "+ umask"},
		{"crlf", []string{"a\r\nb\r\n"}, []string{"a", "b"}, ""},
		{"crlf split", []string{"a\r", "\nb"}, []string{"a"}, "b"},
		{"lone cr overwrites", []string{"  10%\r  50%\r 100%\n"}, []string{" 100%"}, ""},
		{"cr then escape then text", []string{"50%\r\x1b[K100%\n"}, []string{"100%"}, ""},
		{"tabs", []string{"a\tb\n\tc\n12345678\td\n"}, []string{"a       b", "        c", "12345678        d"}, ""},
		{"tab after wide rune", []string{"日本\tx\n"}, []string{"日本    x"}, ""},
		{"c0 controls shown", []string{"a\x00b\x07c\x08d\x7f\n"}, []string{"a^@b^Gc^Hd^?"}, ""},
		{"sgr dropped", []string{"\x1b[01;31m\x1b[Kerror:\x1b[m\x1b[K 'x' undeclared\n"}, []string{"error: 'x' undeclared"}, ""},
		{"osc 52 clipboard dropped", []string{"a\x1b]52;c;cm0gLXJmIH4K\x07b\n"}, []string{"ab"}, ""},
		{"osc with st", []string{"a\x1b]0;pwned\x1b\\b\n"}, []string{"ab"}, ""},
		{"osc 8 hyperlink", []string{"\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\\n"}, []string{"link"}, ""},
		{"osc unterminated ends with its line", []string{"a\x1b]52;c;AAAA\nnext\n"}, []string{"a", "next"}, ""},
		{"dcs dropped", []string{"a\x1bP1$r0m\x1b\\b\n"}, []string{"ab"}, ""},
		{"apc and pm dropped", []string{"a\x1b_Gf=100;AAAA\x1b\\b\x1b^x\x07c\n"}, []string{"abc"}, ""},
		{"escape split across chunks", []string{"a\x1b", "[3", "1mb\x1b]52", ";c;QQ==", "\x07c\n"}, []string{"abc"}, ""},
		{"charset designation", []string{"\x1b(0lqk\x1b(B\n"}, []string{"lqk"}, ""},
		{"esc then newline", []string{"a\x1b\nb\n"}, []string{"a", "b"}, ""},
		{"csi aborted by newline", []string{"a\x1b[12\nb\n"}, []string{"a", "b"}, ""},
		{"c1 csi dropped", []string{"a\u009b31mb\n"}, []string{"ab"}, ""},
		{"c1 osc dropped", []string{"a\u009d52;c;QQ==\x07b\n"}, []string{"ab"}, ""},
		{"other c1 shown", []string{"a\u0085b\n"}, []string{"a\uFFFDb"}, ""},
		{"raw 8-bit csi is invalid utf-8", []string{"a\x9b31mb\n"}, []string{"a\uFFFD31mb"}, ""},
		{"invalid utf-8", []string{"\xff\xfe ok \xc3\x28\n"}, []string{"\uFFFD\uFFFD ok \uFFFD("}, ""},
		{"utf-8 split across chunks", []string{"caf\xc3", "\xa9 \xe2\x80", "\x98x\xe2\x80\x99\n"}, []string{"café ‘x’"}, ""},
		{"truncated rune then ascii", []string{"a\xe2\x80", "b\n"}, []string{"a\uFFFD\uFFFDb"}, ""},
		{"empty lines", []string{"\n\n"}, []string{"", ""}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newPane(Options{})
			for _, c := range tt.chunks {
				m.Append([]byte(c))
			}
			if got := held(m); !slices.Equal(got, tt.lines) {
				t.Errorf("Append(%q) held %q, want %q", tt.chunks, got, tt.lines)
			}
			if got := m.lb.entry().text; got != tt.partial {
				t.Errorf("Append(%q) partial = %q, want %q", tt.chunks, got, tt.partial)
			}
		})
	}
}

func TestAppendWidthsCached(t *testing.T) {
	m := newPane(Options{})
	m.Append([]byte("abc\n日本語\nx\u0301y\n"))
	want := []int32{3, 6, 2}
	for i, w := range want {
		if got := m.lines.at(i).width; got != w {
			t.Errorf("width of %q = %d, want %d", m.lines.at(i).text, got, w)
		}
	}
}

func TestBoundByLines(t *testing.T) {
	m := newPane(Options{MaxLines: 100})
	numbered(&m, 1, 1304, "")
	if m.Lines() != 100 || m.Dropped() != 1204 {
		t.Fatalf("Lines, Dropped = %d, %d; want 100, 1204", m.Lines(), m.Dropped())
	}
	if got := held(m)[0]; got != "line 1205" {
		t.Errorf("first held line = %q, want %q", got, "line 1205")
	}
	if got := statusOf(m); !strings.Contains(got, "1,204 earlier lines not kept") {
		t.Errorf("status = %q, want it to say 1,204 earlier lines not kept", got)
	}
}

func TestBoundByBytes(t *testing.T) {
	m := newPane(Options{MaxBytes: 10_000})
	line := strings.Repeat("x", 99) + "\n"
	for range 1000 {
		m.Append([]byte(line))
	}
	if m.Bytes() > 10_000 {
		t.Errorf("Bytes() = %d, want <= 10,000", m.Bytes())
	}
	if m.Lines() != 101 || m.Dropped() != 899 {
		t.Errorf("Lines, Dropped = %d, %d; want 101, 899", m.Lines(), m.Dropped())
	}
}

// A line longer than the whole byte bound is still shown (cut), never
// dropping itself.
func TestBoundKeepsNewestLine(t *testing.T) {
	m := newPane(Options{MaxBytes: 100})
	m.Append([]byte("short\n" + strings.Repeat("y", 500) + "\n"))
	got := held(m)
	if len(got) != 1 || !strings.HasPrefix(got[0], strings.Repeat("y", 100)+" … (400 more bytes not kept)") {
		t.Errorf("held %q, want the cut long line only", got)
	}
}

func TestLongLineWithoutNewline(t *testing.T) {
	m := newPane(Options{})
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	for range 160 {                                         // 10 MiB
		m.Append(chunk)
	}
	if m.Lines() != 0 {
		t.Fatalf("Lines() = %d before the newline, want 0", m.Lines())
	}
	if len(m.lb.cur) != maxLineBytes {
		t.Errorf("partial line holds %d bytes, want the cap %d", len(m.lb.cur), maxLineBytes)
	}
	checkFrame(t, m)
	if got := bodyOf(m)[0]; !strings.HasSuffix(got, "…") {
		t.Errorf("first row %q, want it cut with …", got)
	}
	m.Append([]byte("\nnext\n"))
	l := held(m)[0]
	if want := " … (" + commas(10<<20-maxLineBytes) + " more bytes not kept)"; !strings.HasSuffix(l, want) {
		t.Errorf("long line ends %q, want %q", l[len(l)-60:], want)
	}
}

func TestHostileInputNeverReachesView(t *testing.T) {
	hostile := []string{
		"\x1b]52;c;" + strings.Repeat("QUFB", 1000) + "\x07", // clipboard write
		"\x1b]0;title\x07\x1b]2;title\x1b\\",                 // window title
		"\x1b[2J\x1b[H\x1b[?1049h\x1b[?25l",                  // clear, home, alt screen, hide cursor
		"\x1b[6n\x1b[c\x1b[>c\x1b[18t",                       // terminal queries
		"\x1bP$q\"p\x1b\\\x1bP+q544e\x1b\\",                  // DECRQSS, XTGETTCAP
		"\x1b_Ga=T,f=100;iVBORw0KGgo\x1b\\",                  // kitty graphics
		"\x00\x01\x02\x07\x08\x0b\x0c\x0e\x0f\x1a\x7f",       // C0 and DEL
		"\xc2\x9b2J\xc2\x9d0;x\x07\xc2\x90q\xc2\x9c\xc2\x85", // C1 as UTF-8
		"\x9b2J\x9d0;x\x07\x90q\x9c",                         // C1 as raw bytes
		"\xff\xfe\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80",       // invalid UTF-8, surrogates, > U+10FFFF
		"\x1b[" + strings.Repeat("1;", 400) + "m",            // an endless CSI
		"\x1b",                      // ESC at chunk end
		"\u202e\u2066gnp.exe\u2069", // bidi: allowed, printable
		"日本語テキスト\t🙂\u200d👍🏽 x\u0301", // wide and combining
	}
	for _, noColor := range []bool{true, false} {
		m := New(Options{NoColor: noColor})
		m.SetSize(80, 24)
		m.Reset("\x1b]52;c;QQ==\x07task \x1b[31m42")
		for i, h := range hostile {
			m.Append([]byte(h))
			if i%3 == 0 {
				m.Append([]byte("\n"))
			}
		}
		m.Append([]byte("\n"))
		m.SetEOF(true, "\x1b[2Jclosed\x07")
		for _, l := range held(m) {
			if strings.ContainsFunc(l, isControl) || !utf8.ValidString(l) {
				t.Errorf("held line %q has a control character or invalid UTF-8", l)
			}
		}
		checkFrame(t, m)
		if m.title != "task 42" || m.eofText != "-- end of log (closed^G) --" {
			t.Errorf("title, end = %q, %q; want them cleaned", m.title, m.eofText)
		}
		m = send(t, m, "w", "k", "g")
		checkFrame(t, m)
		m = send(t, m, "/")
		m, _ = m.Update(pasteMsg("\x1b]52;c;QQ==\x07日本\n"))
		checkFrame(t, m)
		m = send(t, m, "enter")
		checkFrame(t, m)
	}
}

// A long stream of random and hostile bytes keeps the heap near the bound.
func TestMemoryStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 64 MiB")
	}
	const bound = 1 << 20
	m := newPane(Options{MaxBytes: bound})
	rng := rand.New(rand.NewPCG(1, 2))
	chunk := make([]byte, 64<<10)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 1024 {
		switch i % 4 {
		case 0: // random bytes: controls, invalid UTF-8, short lines
			for j := range chunk {
				chunk[j] = byte(rng.Uint32())
			}
		case 1: // one endless line
			for j := range chunk {
				chunk[j] = 'a' + byte(j%26)
			}
		case 2: // an endless OSC 52 payload
			copy(chunk, "\x1b]52;c;")
			for j := 7; j < len(chunk); j++ {
				chunk[j] = 'A' + byte(j%26)
			}
		case 3: // ordinary lines
			for j := range chunk {
				chunk[j] = "gcc -O2 -c foo.c\n"[j%17]
			}
		}
		m.Append(chunk)
		if m.Bytes() > bound {
			t.Fatalf("after %d chunks Bytes() = %d, want <= %d", i+1, m.Bytes(), bound)
		}
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("64 MiB streamed with MaxBytes 1 MiB: heap grew %.1f MiB, %d lines held, %d dropped", float64(grew)/(1<<20), m.Lines(), m.Dropped())
	// 1 MiB of text, its string headers and the ring (at most 131,072
	// entries of 32 bytes), the 64 KiB partial line.
	if limit := int64(10 << 20); grew > limit {
		t.Errorf("heap grew by %d bytes over a 64 MiB stream, want <= %d", grew, limit)
	}
	checkFrame(t, m)
	runtime.KeepAlive(m)
}

func TestCommas(t *testing.T) {
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 1204: "1,204", 1234567: "1,234,567", -4321: "-4,321"} {
		if got := commas(n); got != want {
			t.Errorf("commas(%d) = %q, want %q", n, got, want)
		}
	}
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 }

func TestTextWidthMatchesAnsi(t *testing.T) {
	for _, s := range []string{"", "abc", "日本語", "x\u0301y", "🙂👍🏽", "a👨‍👩‍👧b", "#\ufe0f\u20e3", "e\u0301\u0301", "\u200b", "…‘x’"} {
		if got, want := textWidth(s), ansi.StringWidth(s); got != want {
			t.Errorf("textWidth(%q) = %d, want %d as ansi.StringWidth", s, got, want)
		}
	}
}

// FuzzAppend checks that no input gets a control character into the held
// lines or the View, and that how the bytes are split into chunks does not
// change what is held.
func FuzzAppend(f *testing.F) {
	for _, s := range []string{
		"a\r\nb\rc\n", "\x1b]52;c;QQ==\x07x\n", "\x1b[31mred\x1b[m\n", "\xc3\xa9\xe2\x80\x98\n",
		"\x9b\x9d\xc2\x9b1m\n", "\t日\tx\n", "\x1bP\x1b\\\x1b_\x07\x00\x7f", "\r\r\n\r",
	} {
		f.Add([]byte(s), uint16(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		whole := newPane(Options{MaxBytes: 4096, MaxLines: 64})
		whole.Append(data)
		parts := newPane(Options{MaxBytes: 4096, MaxLines: 64})
		step := int(split%17) + 1
		for i := 0; i < len(data); i += step {
			parts.Append(data[i:min(i+step, len(data))])
		}
		if a, b := held(whole), held(parts); !slices.Equal(a, b) || whole.lb.entry().text != parts.lb.entry().text {
			t.Fatalf("chunks of %d changed the result:\n%q\n%q", step, a, b)
		}
		for _, l := range held(whole) {
			if strings.ContainsFunc(l, isControl) || !utf8.ValidString(l) {
				t.Fatalf("held line %q has a control character or invalid UTF-8", l)
			}
		}
		whole = send(t, whole, "w", "k")
		checkFrame(t, whole)
	})
}
