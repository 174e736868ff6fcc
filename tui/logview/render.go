package logview

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// styles are the SGR prefixes the pane draws with; "" draws plain. They are
// built with x/ansi rather than lipgloss because lipgloss v2 renders
// underlined text one cell at a time, which bloats every frame.
type styles struct {
	title, on, off, status, eof, marker, match, current string
}

const sgrReset = "\x1b[m"

func newStyles(noColor bool) styles {
	if noColor {
		// NO_COLOR keeps text decoration: reverse video marks matches, and
		// underline tells the current one apart.
		return styles{
			match:   ansi.NewStyle().Reverse(true).String(),
			current: ansi.NewStyle().Reverse(true).Underline(true).String(),
		}
	}
	return styles{
		title:   ansi.NewStyle().Bold().String(),
		on:      ansi.NewStyle().Bold().ForegroundColor(ansi.Green).String(),
		off:     ansi.NewStyle().Bold().ForegroundColor(ansi.Yellow).String(),
		status:  ansi.NewStyle().ForegroundColor(ansi.IndexedColor(245)).String(),
		eof:     ansi.NewStyle().Faint().Italic(true).String(),
		marker:  ansi.NewStyle().Bold().ForegroundColor(ansi.IndexedColor(208)).String(),
		match:   ansi.NewStyle().ForegroundColor(ansi.Black).BackgroundColor(ansi.Yellow).String(),
		current: ansi.NewStyle().Bold().Underline(true).ForegroundColor(ansi.Black).BackgroundColor(ansi.IndexedColor(208)).String(),
	}
}

func styled(sb *strings.Builder, style, s string) {
	if style == "" || s == "" {
		sb.WriteString(s)
		return
	}
	sb.WriteString(style)
	sb.WriteString(s)
	sb.WriteString(sgrReset)
}

type lineKind uint8

const (
	kindLine    lineKind = iota // a complete, held line
	kindPartial                 // the line still being appended
	kindEOF                     // the "-- end of log --" marker
)

// frame is the model seen for one View or one key: the virtual lines
// [first, end) (held lines, then the partial line, then the end marker)
// and the content area. Building it costs O(partial line), never O(held).
type frame struct {
	m                *Model
	first, held, end int // held: seq after the last complete line
	part, eofLine    entry
	hasPart          bool
	cw, ch           int
	wrap             bool
}

func (m *Model) frame() frame {
	f := frame{m: m, first: m.dropped + 1, cw: m.contentWidth(), ch: m.contentHeight(), wrap: m.wrap}
	f.held = f.first + m.lines.n
	f.end = f.held
	if !m.lb.empty() {
		f.part, f.hasPart = m.lb.entry(), true
		f.end++
	}
	if m.eof {
		f.eofLine = newEntry(m.eofText, isASCII(m.eofText))
		f.end++
	}
	return f
}

// line returns virtual line seq, which must be in [first, end).
func (f *frame) line(seq int) (entry, lineKind) {
	switch {
	case seq < f.held:
		return *f.m.lines.at(seq - f.first), kindLine
	case seq == f.held && f.hasPart:
		return f.part, kindPartial
	default:
		return f.eofLine, kindEOF
	}
}

// rows returns how many screen rows line seq takes.
func (f *frame) rows(seq int) int {
	if !f.wrap || f.cw <= 0 {
		return 1
	}
	if seq >= f.held {
		e, _ := f.line(seq)
		return rowCount(e, f.cw)
	}
	e := f.m.lines.at(seq - f.first)
	if e.ascii || int(e.width) <= f.cw {
		return rowCount(*e, f.cw)
	}
	// Measuring a long non-ASCII line means segmenting it; do it once per
	// width. (The ring is shared by model copies, like any slice in a
	// Bubble Tea model; this cache is the only thing View writes.)
	if int(e.wrapWidth) != f.cw {
		e.wrapWidth, e.wrapRows = int32(f.cw), int32(rowCount(*e, f.cw))
	}
	return int(e.wrapRows)
}

func rowCount(e entry, cw int) int {
	w := int(e.width)
	switch {
	case w <= cw:
		return 1
	case e.ascii:
		return (w + cw - 1) / cw
	}
	return len(rowStarts(e.text, cw))
}

// rowOf returns the wrapped row of e holding byte off.
func (f *frame) rowOf(e entry, off int) int {
	if !f.wrap || f.cw <= 0 || int(e.width) <= f.cw {
		return 0
	}
	if e.ascii {
		return min(off/f.cw, rowCount(e, f.cw)-1)
	}
	starts := rowStarts(e.text, f.cw)
	r := 0
	for r+1 < len(starts) && starts[r+1] <= off {
		r++
	}
	return r
}

// bottom returns the first row shown when the last row sits at the bottom
// of the content area: O(height) lines, each at least one row.
func (f *frame) bottom() pos {
	rows := 0
	for seq := f.end - 1; seq >= f.first; seq-- {
		rows += f.rows(seq)
		if rows >= f.ch {
			return pos{seq, rows - f.ch}
		}
	}
	return pos{seq: f.first}
}

// clamp keeps p between the first row and bottom.
func (f *frame) clamp(p pos) pos {
	if p.seq < f.first {
		return pos{seq: f.first}
	}
	if p.seq >= f.end {
		return f.bottom()
	}
	p.row = max(0, min(p.row, f.rows(p.seq)-1))
	if b := f.bottom(); b.before(p) {
		return b
	}
	return p
}

// fwd moves p down k rows, stopping at the last row.
func (f *frame) fwd(p pos, k int) pos {
	for k > 0 && p.seq < f.end {
		r := f.rows(p.seq)
		if p.row+k < r {
			p.row += k
			break
		}
		k -= r - p.row
		if p.seq+1 >= f.end {
			p.row = r - 1
			break
		}
		p.seq++
		p.row = 0
	}
	return p
}

// back moves p up k rows, stopping at the first row.
func (f *frame) back(p pos, k int) pos {
	for k > 0 {
		if p.row >= k {
			p.row -= k
			break
		}
		k -= p.row + 1
		if p.seq <= f.first {
			p.row = 0
			break
		}
		p.seq--
		p.row = f.rows(p.seq) - 1
	}
	return p
}

// context is how many rows a jump target gets above it.
func (f *frame) context() int { return min(3, f.ch/4) }

// cluster returns the end of the grapheme cluster at s[i] and its width in
// cells, measured as ansi.StringWidth (and so lipgloss.Width) measures.
func cluster(s string, i int) (int, int) {
	if s[i] < 0x80 && (i+1 == len(s) || s[i+1] < 0x80) {
		return i + 1, 1
	}
	c, w := ansi.FirstGraphemeCluster(s[i:], ansi.GraphemeWidth)
	if len(c) == 0 {
		return i + 1, 1
	}
	return i + len(c), w
}

// textWidth returns the width of s in cells, as ansi.StringWidth measures
// it, but only segments the non-ASCII parts into grapheme clusters.
func textWidth(s string) int {
	w := 0
	for i := 0; i < len(s); {
		end, cw := cluster(s, i)
		w, i = w+cw, end
	}
	return w
}

// cells returns the byte range [a, b) of s drawn in cells [from, to), and
// the blank cells to draw before and after it where a wide cluster
// straddles an edge.
func cells(s string, from, to int) (a, b, padL, padR int) {
	col, i := 0, 0
	for i < len(s) && col < from {
		end, w := cluster(s, i)
		if col+w > from {
			padL = max(0, min(col+w, to)-from)
		}
		col, i = col+w, end
	}
	a = i
	for i < len(s) {
		end, w := cluster(s, i)
		if col+w > to {
			padR = max(0, to-col)
			break
		}
		col, i = col+w, end
	}
	return a, i, padL, padR
}

// rowStarts returns the byte offsets where the wrapped rows of s begin,
// breaking before a cluster that would pass cw cells.
func rowStarts(s string, cw int) []int {
	starts := []int{0}
	col := 0
	for i := 0; i < len(s); {
		end, w := cluster(s, i)
		if col+w > cw && col > 0 {
			starts = append(starts, i)
			col = 0
		}
		col, i = col+w, end
	}
	return starts
}

// colOf returns the cell column of byte off in e.
func colOf(e entry, off int) int {
	if e.ascii {
		return off
	}
	return textWidth(e.text[:off])
}

// View draws the pane: a header line (title, [follow on|off], [wrap on|off]),
// the content, and a status line, or the search prompt while it has focus.
// It returns exactly height lines of at most width cells and costs
// O(height): it touches only the lines on screen.
func (m Model) View() string {
	if m.height <= 0 {
		return ""
	}
	if m.width <= 0 {
		return strings.Repeat("\n", m.height-1)
	}
	f := m.frame()
	p := m.posIn(&f)
	out := make([]string, 0, m.height)
	if m.headerRows() > 0 {
		out = append(out, m.header())
	}
	body, last := m.body(&f, p)
	out = append(out, body...)
	if m.searching {
		out = append(out, m.prompt())
	} else {
		out = append(out, m.status(&f, p, last))
	}
	return strings.Join(out, "\n")
}

// body draws the content rows from p and returns the last line number shown.
func (m *Model) body(f *frame, p pos) ([]string, int) {
	rows := make([]string, 0, f.ch)
	last := 0
	var sb strings.Builder
	var ms []span
	for seq, row := p.seq, p.row; len(rows) < f.ch && seq < f.end; seq, row = seq+1, 0 {
		e, kind := f.line(seq)
		if kind != kindEOF {
			last = seq
		}
		ms = ms[:0]
		if m.mt != nil && kind != kindEOF {
			ms = m.mt.all(ms, e.text)
		}
		cur := span{-1, -1}
		if m.cur.seq == seq {
			cur = span{m.cur.start, m.cur.end}
		}
		base := ""
		if kind == kindEOF {
			base = m.st.eof
		}
		if !f.wrap || f.cw <= 0 {
			sb.Reset()
			m.gutter(&sb, seq, true)
			m.cutRow(&sb, e, f.cw, ms, cur, base)
			rows = append(rows, sb.String())
			continue
		}
		var starts []int
		nrows, fits := 1, int(e.width) <= f.cw
		switch {
		case fits:
		case e.ascii:
			nrows = rowCount(e, f.cw)
		default:
			starts = rowStarts(e.text, f.cw)
			nrows = len(starts)
		}
		for r := row; r < nrows && len(rows) < f.ch; r++ {
			a, b, padR := 0, len(e.text), 0
			switch {
			case fits:
			case e.ascii:
				a, b = r*f.cw, min(len(e.text), (r+1)*f.cw)
			default: // a cluster wider than the row is drawn as blanks
				end := len(e.text)
				if r+1 < nrows {
					end = starts[r+1]
				}
				var a2 int
				a2, b, _, padR = cells(e.text[starts[r]:end], 0, f.cw)
				a, b = starts[r]+a2, starts[r]+b
			}
			sb.Reset()
			m.gutter(&sb, seq, r == 0)
			m.paint(&sb, e.text, a, b, ms, cur, base)
			sb.WriteString(strings.Repeat(" ", padR))
			rows = append(rows, sb.String())
		}
	}
	for len(rows) < f.ch {
		rows = append(rows, "")
	}
	return rows, last
}

func (m *Model) gutter(sb *strings.Builder, seq int, first bool) {
	if first && seq == m.mark {
		styled(sb, m.st.marker, ">")
		return
	}
	sb.WriteByte(' ')
}

// cutRow draws the cells [xOff, xOff+cw) of e, ending with "…" when the
// line goes on past the right edge.
func (m *Model) cutRow(sb *strings.Builder, e entry, cw int, ms []span, cur span, base string) {
	x, w := m.xOff, int(e.width)
	if w <= x || cw <= 0 {
		return
	}
	more := w > x+cw
	to := x + cw
	if more {
		to--
	}
	var a, b, padL, padR int
	if e.ascii {
		a, b = x, min(len(e.text), to)
	} else {
		a, b, padL, padR = cells(e.text, x, to)
	}
	sb.WriteString(strings.Repeat(" ", padL))
	m.paint(sb, e.text, a, b, ms, cur, base)
	sb.WriteString(strings.Repeat(" ", padR))
	if more {
		sb.WriteString("…")
	}
}

// paint writes s[a:b] with the matches in ms highlighted, cur distinguished.
func (m *Model) paint(sb *strings.Builder, s string, a, b int, ms []span, cur span, base string) {
	if base != "" {
		styled(sb, base, s[a:b])
		return
	}
	p := a
	for _, sp := range ms {
		if sp.end <= a {
			continue
		}
		if sp.start >= b {
			break
		}
		st, en := max(sp.start, a), min(sp.end, b)
		sb.WriteString(s[p:st])
		style := m.st.match
		if sp == cur {
			style = m.st.current
		}
		styled(sb, style, s[st:en])
		p = en
	}
	sb.WriteString(s[p:b])
}

func onOff(v bool) string {
	if v {
		return "on"
	}
	return "off"
}

// header draws the title on the left and the toggles, as words, on the
// right: "[follow on] [wrap off]".
func (m *Model) header() string {
	follow, wrap := "[follow "+onOff(m.follow)+"]", "[wrap "+onOff(m.wrap)+"]"
	ind := follow + " " + wrap
	w := m.width
	if w < len(ind)+2 {
		return ansi.Truncate(ind, w, "…")
	}
	title := m.title
	if title == "" {
		title = "log"
	}
	title = ansi.Truncate(title, w-len(ind)-1, "…")
	var sb strings.Builder
	styled(&sb, m.st.title, title)
	sb.WriteString(strings.Repeat(" ", w-ansi.StringWidth(title)-len(ind)))
	fs := m.st.on
	if !m.follow {
		fs = m.st.off
	}
	styled(&sb, fs, follow)
	sb.WriteByte(' ')
	styled(&sb, m.st.status, wrap)
	return sb.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return commas(n) + " " + many
}

// status draws the note, the search result, the follow state, the dropped
// lines and the position, most urgent first, cut at the width.
func (m *Model) status(f *frame, p pos, last int) string {
	var parts []string
	if m.note != "" {
		parts = append(parts, m.note)
	}
	if m.mt != nil {
		switch {
		case m.total == 0:
			parts = append(parts, `no match for "`+m.query+`"`)
		case m.cur.seq != 0:
			parts = append(parts, "match "+commas(m.curIdx)+" of "+commas(m.total))
		default:
			parts = append(parts, plural(m.total, "match", "matches"))
		}
	}
	if !m.follow {
		if n := m.seen() - m.pauseAt; n > 0 {
			parts = append(parts, "paused, "+plural(n, "new line", "new lines"))
		} else {
			parts = append(parts, "paused")
		}
	}
	if m.dropped > 0 {
		parts = append(parts, plural(m.dropped, "earlier line not kept", "earlier lines not kept"))
	}
	if !m.wrap && m.xOff > 0 {
		parts = append(parts, "col "+commas(m.xOff+1))
	}
	lastSeq := f.held - 1
	if f.hasPart {
		lastSeq++
	}
	if lastSeq < f.first {
		if !m.eof {
			parts = append(parts, "no lines yet")
		}
	} else {
		a := min(p.seq, lastSeq)
		parts = append(parts, "lines "+commas(a)+"-"+commas(max(a, last))+" of "+commas(lastSeq))
	}
	var sb strings.Builder
	styled(&sb, m.st.status, ansi.Truncate(strings.Join(parts, " | "), m.width, "…"))
	return sb.String()
}

// prompt draws the search input, its tail kept when it is too long.
func (m *Model) prompt() string {
	s := "/" + string(m.input) + "█"
	if w := ansi.StringWidth(s); w > m.width {
		s = "…" + ansi.TruncateLeft(s, w-m.width+1, "")
	}
	return s
}
