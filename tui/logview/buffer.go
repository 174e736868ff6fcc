package logview

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	// maxLineBytes caps one held line; the rest of a longer line is counted
	// and reported at its end, so a 10 MB line without a newline costs
	// nothing more than this.
	maxLineBytes = 64 << 10
	// tabWidth is the distance between tab stops, in cells.
	tabWidth = 8
	// maxSeqBytes caps the parameters of one CSI or nF escape sequence;
	// past it the sequence is abandoned and its bytes shown as text.
	maxSeqBytes = 256
)

// entry is one held line: sanitized text (printable runes only) and its
// width in cells, measured once when the line is completed. A non-ASCII
// line wider than the pane also caches its wrapped row count for the last
// width it was wrapped at (ASCII lines need no cache: rows = ⌈width/cw⌉).
type entry struct {
	text      string
	width     int32
	wrapWidth int32
	wrapRows  int32
	ascii     bool
}

func newEntry(text string, ascii bool) entry {
	w := len(text)
	if !ascii {
		w = textWidth(text)
	}
	return entry{text: text, width: int32(w), ascii: ascii}
}

// ring is a FIFO of lines in a power-of-two circular slice. Push and pop are
// O(1) amortised; it grows by doubling, up to the power of two above
// MaxLines, as commit drops the oldest line before pushing past the bound.
type ring struct {
	buf   []entry
	head  int
	n     int
	bytes int // sum of len(text) over held lines
}

func (r *ring) at(i int) *entry { return &r.buf[(r.head+i)&(len(r.buf)-1)] }

func (r *ring) push(e entry) {
	if r.n == len(r.buf) {
		nb := make([]entry, max(64, 2*len(r.buf)))
		for i := range r.n {
			nb[i] = *r.at(i)
		}
		r.buf, r.head = nb, 0
	}
	*r.at(r.n) = e
	r.n++
	r.bytes += len(e.text)
}

func (r *ring) pop() entry {
	p := r.at(0)
	e := *p
	*p = entry{} // let the text be collected
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
	r.bytes -= len(e.text)
	return e
}

// escState is where the sanitizer stands inside an escape sequence.
type escState uint8

const (
	stGround   escState = iota
	stEsc               // after ESC
	stEscInter          // ESC followed by intermediate bytes (nF: charset designation)
	stCSI               // after ESC [ or C1 CSI
	stStr               // inside OSC, DCS, SOS, PM or APC: dropped up to BEL or ST
	stStrEsc            // ESC inside such a string: ST if '\\' follows
)

// lineBuilder turns raw log bytes into the partial (current) line. It keeps
// its state across chunks: an escape sequence, a UTF-8 rune or a CR may be
// split between two Append calls.
type lineBuilder struct {
	cur       []byte
	ascii     bool // cur holds only ASCII
	colAt     int  // offset in cur up to which colW is measured (tab stops)
	colW      int
	cut       int // bytes of the current line not kept (over maxLine)
	maxLine   int
	state     escState
	seqLen    int
	pendingCR bool // a lone CR: the next text starts the line again
	stash     []byte
}

func (b *lineBuilder) reset() {
	b.cur = b.cur[:0]
	b.ascii = true
	b.colAt, b.colW, b.cut = 0, 0, 0
	b.pendingCR = false
}

// empty reports whether there is no partial line to show.
func (b *lineBuilder) empty() bool { return len(b.cur) == 0 && b.cut == 0 }

// entry returns the partial line as it would be held if completed now.
func (b *lineBuilder) entry() entry {
	if b.cut == 0 {
		return newEntry(string(b.cur), b.ascii)
	}
	return newEntry(string(b.cur)+cutNote(b.cut), false)
}

func cutNote(n int) string {
	return " … (" + commas(n) + " more bytes not kept)"
}

// carriage applies a pending lone CR before new text: like a terminal, the
// text that follows overwrites the line (here: replaces it).
func (b *lineBuilder) carriage() {
	if b.pendingCR {
		b.reset()
	}
}

// write adds sanitized bytes to the line, keeping at most maxLine bytes.
// A non-ASCII p is one whole rune and is kept or cut as a unit.
func (b *lineBuilder) write(p []byte, ascii bool) {
	room := b.maxLine - len(b.cur)
	if b.cut > 0 || room <= 0 {
		b.cut += len(p)
		return
	}
	if len(p) > room {
		if !ascii {
			b.cut += len(p)
			return
		}
		b.cut += len(p) - room
		p = p[:room]
	}
	b.cur = append(b.cur, p...)
	if !ascii {
		b.ascii = false
	}
}

var spaces = bytes.Repeat([]byte{' '}, tabWidth)

func (b *lineBuilder) tab() {
	if b.cut > 0 {
		b.cut++
		return
	}
	seg := b.cur[b.colAt:]
	col := b.colW + len(seg)
	if !b.ascii {
		col = b.colW + textWidth(string(seg))
	}
	n := tabWidth - col%tabWidth
	b.write(spaces[:n], true)
	b.colAt, b.colW = len(b.cur), col+n
}

// caret shows a C0 control or DEL in caret notation: NUL is ^@, BEL ^G.
func (b *lineBuilder) caret(c byte) {
	b.write([]byte{'^', c ^ 0x40}, true)
}

var replacement = []byte(string(utf8.RuneError))

// Append adds raw log bytes. A partial last line is kept until its newline;
// CRLF ends a line, a lone CR starts the line again (progress output), tabs
// are expanded, other control characters are shown in caret notation, escape
// sequences (ESC, CSI, OSC, DCS, C1) are dropped and invalid UTF-8 becomes
// U+FFFD. Its cost is O(len(chunk)) amortised.
func (m *Model) Append(chunk []byte) { m.lb.feed(chunk, m.commit) }

// feed runs the sanitizer over data, calling eol at every line end.
func (b *lineBuilder) feed(chunk []byte, eol func()) {
	data := chunk
	if len(b.stash) > 0 {
		// A rune was split between chunks; rare, so a copy is fine.
		data = append(append([]byte(nil), b.stash...), chunk...)
		b.stash = b.stash[:0]
	}
	i := 0
	for i < len(data) {
		c := data[i]
		switch b.state {
		case stGround:
			switch {
			case c >= 0x20 && c < 0x7f:
				j := i + 1
				for j < len(data) && data[j] >= 0x20 && data[j] < 0x7f {
					j++
				}
				b.carriage()
				b.write(data[i:j], true)
				i = j
			case c == '\n':
				i++
				eol()
			case c == '\r':
				i++
				b.pendingCR = true
			case c == '\t':
				i++
				b.carriage()
				b.tab()
			case c == 0x1b:
				i++
				b.carriage()
				b.state = stEsc
			case c < 0x80:
				i++
				b.carriage()
				b.caret(c)
			default:
				if !utf8.FullRune(data[i:]) {
					b.stash = append(b.stash[:0], data[i:]...)
					return
				}
				r, size := utf8.DecodeRune(data[i:])
				start := i
				i += size
				b.carriage()
				switch {
				case r == utf8.RuneError && size == 1:
					b.write(replacement, false)
				case r == 0x9b: // C1 CSI
					b.state, b.seqLen = stCSI, 0
				case r == 0x90 || r == 0x98 || r == 0x9d || r == 0x9e || r == 0x9f: // DCS SOS OSC PM APC
					b.state = stStr
				case r == 0x9c: // a stray ST
				case r < 0xa0: // other C1 controls
					b.write(replacement, false)
				default:
					b.write(data[start:i], false)
				}
			}
		case stEsc:
			switch {
			case c == '[':
				i++
				b.state, b.seqLen = stCSI, 0
			case c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_':
				i++
				b.state = stStr
			case c == 0x1b:
				i++
			case c >= 0x20 && c <= 0x2f:
				i++
				b.state, b.seqLen = stEscInter, 0
			case c >= 0x30 && c <= 0x7e:
				i++
				b.state = stGround
			default: // abandon; the byte is read again as text
				b.state = stGround
			}
		case stEscInter, stCSI:
			switch {
			case c >= 0x20 && c <= 0x2f, b.state == stCSI && c <= 0x3f && c >= 0x30:
				i++
				b.seqLen++
				if b.seqLen > maxSeqBytes {
					b.state = stGround
				}
			case c >= 0x30 && c <= 0x7e:
				i++
				b.state = stGround
			default:
				b.state = stGround
			}
		case stStr:
			j := bytes.IndexAny(data[i:], "\x07\x1b\n\x18\x1a")
			if j < 0 {
				i = len(data)
				break
			}
			i += j
			switch data[i] {
			case 0x1b:
				i++
				b.state = stStrEsc
			case '\n': // an unterminated string ends with its line
				b.state = stGround
			default: // BEL ends it, CAN and SUB cancel it
				i++
				b.state = stGround
			}
		case stStrEsc:
			if c == '\\' {
				i++
				b.state = stGround
			} else {
				b.state = stEsc
			}
		}
	}
}

// commit completes the partial line and enforces the bound.
func (m *Model) commit() {
	b := &m.lb
	e := b.entry()
	b.reset()
	r := &m.lines
	if m.opts.MaxLines > 0 && r.n >= m.opts.MaxLines {
		m.drop()
	}
	r.push(e)
	if m.mt != nil {
		m.total += m.mt.count(e.text)
	}
	for r.n > 1 && (r.bytes > m.opts.MaxBytes || r.n > m.opts.MaxLines) {
		m.drop()
	}
}

// drop removes the oldest held line and keeps the search counts right.
func (m *Model) drop() {
	e := m.lines.pop()
	seq := m.dropped + 1
	m.dropped++
	if m.mt == nil {
		return
	}
	c := m.mt.count(e.text)
	m.total -= c
	switch {
	case m.cur.seq == 0:
	case seq < m.cur.seq:
		m.curIdx -= c
	case seq == m.cur.seq:
		m.cur, m.curIdx = hit{}, 0
	}
}

// commas formats n with thousands separators: 1204 → "1,204".
func commas(n int) string {
	s := strconv.Itoa(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	if neg {
		out = append(out, '-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// clean sanitizes a short string from outside the log (a title, a note, a
// pasted query) the same way as log text, with line breaks made spaces.
func clean(s string) string {
	b := lineBuilder{maxLine: 1024, ascii: true}
	b.feed([]byte(strings.ReplaceAll(s, "\r", " ")), func() { b.write(spaces[:1], true) })
	return string(b.cur)
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
