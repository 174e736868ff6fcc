package logview

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// Defaults for the zero values of Options.
const (
	DefaultMaxBytes = 8 << 20
	DefaultMaxLines = 100_000
)

// Options configures a Model. Zero values are the documented defaults;
// negative values count as zero.
type Options struct {
	// MaxBytes bounds the text held, in bytes (default 8 MiB). The oldest
	// lines go first and the status line says how many were dropped. One
	// line is held at most min(64 KiB, MaxBytes) long; the rest is counted.
	MaxBytes int
	// MaxLines bounds the lines held (default 100,000).
	MaxLines int
	// NoColor draws without colour: the only escape sequences in View are
	// reverse video for search matches (reverse+underline for the current
	// one).
	NoColor bool
}

// Model is the log pane. It is a value, as Bubble Tea models are: keep the
// one Update returns, and call Append, Reset and SetEOF on that one.
//
// Lines are numbered from 1 in the order appended, dropped lines included
// ("seq"); positions are kept as seq numbers so that appending or dropping
// never shifts what a paused reader sees.
type Model struct {
	opts Options
	keys KeyMap
	st   styles

	lines   ring
	lb      lineBuilder
	dropped int
	eof     bool
	eofText string
	title   string

	width, height int
	follow        bool
	wrap          bool
	top           pos // first row shown while not following
	xOff          int // horizontal scroll in cells, wrap off
	pauseAt       int // lines seen when following stopped
	mark          int // seq of the line marked by GotoLine or a search, 0 none
	note          string

	searching bool
	input     []rune
	query     string
	mt        *matcher
	total     int // matches in held lines
	cur       hit // current match
	curIdx    int // its 1-based rank among total
}

// pos is a row of the content: row is the wrapped row within line seq.
type pos struct{ seq, row int }

func (p pos) before(q pos) bool { return p.seq < q.seq || p.seq == q.seq && p.row < q.row }

// New returns an empty, following log pane of size zero.
func New(o Options) Model {
	o.MaxBytes = max(o.MaxBytes, 0)
	o.MaxLines = max(o.MaxLines, 0)
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxLines == 0 {
		o.MaxLines = DefaultMaxLines
	}
	m := Model{opts: o, keys: DefaultKeyMap(), st: newStyles(o.NoColor), follow: true}
	m.lb = lineBuilder{maxLine: min(maxLineBytes, o.MaxBytes), ascii: true}
	m.top = pos{seq: 1}
	return m
}

// SetSize sets the pane's size in cells, status lines included. A paused
// view keeps its top line; in wrap mode its row within that line is scaled
// to the new width.
func (m *Model) SetSize(width, height int) {
	oldCW := m.contentWidth()
	m.width, m.height = max(width, 0), max(height, 0)
	if cw := m.contentWidth(); m.wrap && cw != oldCW && oldCW > 0 && cw > 0 {
		m.top.row = m.top.row * oldCW / cw
	}
}

// SetNoColor switches colour off or on.
func (m *Model) SetNoColor(v bool) {
	m.opts.NoColor = v
	m.st = newStyles(v)
}

// Reset empties the pane for a new log, titled e.g. "task 42 build.log",
// and turns following on. Wrap, size and the last search query are kept.
func (m *Model) Reset(title string) {
	m.title = clean(title)
	m.lines = ring{}
	m.lb = lineBuilder{maxLine: m.lb.maxLine, ascii: true}
	m.dropped, m.eof, m.eofText = 0, false, ""
	m.follow, m.top, m.xOff, m.mark, m.note = true, pos{seq: 1}, 0, 0, ""
	m.total, m.cur, m.curIdx = 0, hit{}, 0
}

// SetEOF marks the log ended (done) or open again. When done, a partial last
// line is completed and "-- end of log (note) --" is shown after it.
func (m *Model) SetEOF(done bool, note string) {
	m.eof = done
	if !done {
		m.eofText = ""
		return
	}
	m.eofText = "-- end of log --"
	if n := clean(note); n != "" {
		m.eofText = "-- end of log (" + n + ") --"
	}
	m.lb.state, m.lb.stash = stGround, nil
	if !m.lb.empty() {
		m.commit()
	}
}

// GotoLine stops following and shows line n (numbered from 1 as appended,
// dropped lines included) near the top, marked in the gutter. A line no
// longer held, or not yet appended, is replaced by the nearest one with a
// note.
func (m *Model) GotoLine(n int) {
	f := m.frame()
	m.pause()
	last := f.held - 1
	if f.hasPart {
		last++
	}
	if last < f.first {
		m.note = "no lines yet"
		return
	}
	switch {
	case n < f.first:
		m.note = "line " + commas(n) + " not kept; showing line " + commas(f.first)
		n = f.first
	case n > last:
		m.note = "line " + commas(n) + " not there yet; showing line " + commas(last)
		n = last
	}
	m.mark = n
	m.top = f.clamp(f.back(pos{seq: n}, f.context()))
}

// GotoFirstError runs FirstError over the held lines and goes to the line it
// finds. It reports whether there was one.
func (m *Model) GotoFirstError() bool {
	lines := make([]string, m.lines.n)
	for i := range lines {
		lines[i] = m.lines.at(i).text
	}
	i, ok := FirstError(lines)
	if !ok {
		m.note = "no error line found"
		return false
	}
	n := m.dropped + 1 + i
	m.GotoLine(n)
	m.note = "first error: line " + commas(n)
	return true
}

// Following reports whether the view sticks to the end of the log.
func (m Model) Following() bool { return m.follow }

// Searching reports whether the search prompt has focus; the parent should
// then send every key here.
func (m Model) Searching() bool { return m.searching }

// Wrapping reports whether long lines are soft-wrapped.
func (m Model) Wrapping() bool { return m.wrap }

// KeyMap returns the bindings, enabled as they act in the current state.
func (m Model) KeyMap() KeyMap { return m.keys.live(m.searching, m.wrap, m.mt != nil) }

// Lines returns the number of complete lines held.
func (m Model) Lines() int { return m.lines.n }

// Dropped returns the number of lines dropped from the top by the bound.
func (m Model) Dropped() int { return m.dropped }

// Bytes returns the bytes of text held.
func (m Model) Bytes() int { return m.lines.bytes }

// Update handles keys, pastes into the search prompt and the mouse wheel.
// It never does I/O.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		if m.searching {
			m.updatePrompt(msg)
			return m, nil
		}
		m.note = ""
		k := m.KeyMap()
		f := m.frame()
		switch {
		case key.Matches(msg, k.Up):
			m.scrollUp(&f, 1)
		case key.Matches(msg, k.Down):
			m.scrollDown(&f, 1)
		case key.Matches(msg, k.PageUp):
			m.scrollUp(&f, max(1, f.ch))
		case key.Matches(msg, k.PageDown):
			m.scrollDown(&f, max(1, f.ch))
		case key.Matches(msg, k.HalfPageUp):
			m.scrollUp(&f, max(1, f.ch/2))
		case key.Matches(msg, k.HalfPageDown):
			m.scrollDown(&f, max(1, f.ch/2))
		case key.Matches(msg, k.Top):
			m.pause()
			m.top = pos{seq: f.first}
		case key.Matches(msg, k.Bottom):
			m.follow = true
		case key.Matches(msg, k.Left):
			m.xOff = max(0, m.xOff-hStep(f.cw))
		case key.Matches(msg, k.Right):
			m.scrollRight(&f)
		case key.Matches(msg, k.Wrap):
			m.top = pos{seq: m.posIn(&f).seq}
			m.wrap = !m.wrap
		case key.Matches(msg, k.Search):
			m.searching, m.input = true, nil
		case key.Matches(msg, k.NextMatch):
			m.step(+1)
		case key.Matches(msg, k.PrevMatch):
			m.step(-1)
		case key.Matches(msg, k.FirstError):
			m.GotoFirstError()
		}
	case tea.PasteMsg:
		if m.searching {
			m.insert(msg.Content)
		}
	case tea.MouseWheelMsg:
		f := m.frame()
		switch msg.Button {
		case tea.MouseWheelUp:
			m.scrollUp(&f, 3)
		case tea.MouseWheelDown:
			m.scrollDown(&f, 3)
		}
	}
	return m, nil
}

func (m *Model) updatePrompt(msg tea.KeyPressMsg) {
	k := m.KeyMap()
	switch {
	case key.Matches(msg, k.Accept):
		m.searching = false
		m.note = ""
		m.runSearch(string(m.input))
	case key.Matches(msg, k.Cancel):
		m.searching = false
	case key.Matches(msg, k.DeleteChar):
		if len(m.input) > 0 {
			m.input = m.input[:len(m.input)-1]
		}
	case key.Matches(msg, k.DeleteWord):
		i := len(m.input)
		for i > 0 && m.input[i-1] == ' ' {
			i--
		}
		for i > 0 && m.input[i-1] != ' ' {
			i--
		}
		m.input = m.input[:i]
	case key.Matches(msg, k.ClearInput):
		m.input = m.input[:0]
	case msg.Text != "" && msg.Mod&(tea.ModCtrl|tea.ModAlt|tea.ModSuper) == 0:
		m.insert(msg.Text)
	}
}

func (m *Model) insert(s string) {
	for _, r := range clean(s) {
		if len(m.input) >= maxQuery {
			return
		}
		m.input = append(m.input, r)
	}
}

// pause turns following off, remembering how many lines had arrived.
func (m *Model) pause() {
	if m.follow {
		m.follow = false
		m.pauseAt = m.seen()
	}
}

// seen returns the number of complete lines appended since Reset.
func (m *Model) seen() int { return m.dropped + m.lines.n }

func (m *Model) scrollUp(f *frame, k int) {
	p := m.posIn(f)
	m.pause()
	m.top = f.back(p, k)
}

// scrollDown moves down k rows; reaching the end resumes following
// (sticky bottom).
func (m *Model) scrollDown(f *frame, k int) {
	p := f.fwd(m.posIn(f), k)
	if b := f.bottom(); !p.before(b) {
		m.top, m.follow = b, true
		return
	}
	m.top = p
}

func hStep(cw int) int { return max(8, cw/4) }

func (m *Model) scrollRight(f *frame) {
	// Only as far as the widest line on screen needs.
	widest := 0
	p := m.posIn(f)
	for seq, rows := p.seq, 0; seq < f.end && rows < f.ch; seq, rows = seq+1, rows+1 {
		e, _ := f.line(seq)
		widest = max(widest, int(e.width))
	}
	m.xOff = max(m.xOff, min(m.xOff+hStep(f.cw), widest-f.cw))
}

// posIn returns the first row shown.
func (m *Model) posIn(f *frame) pos {
	if m.follow {
		return f.bottom()
	}
	return f.clamp(m.top)
}

// show makes h visible: the view stays put if h is on screen, otherwise h's
// row goes near the top. Following stops and h's line is marked.
func (m *Model) show(f *frame, h hit) {
	p := m.posIn(f)
	m.pause()
	m.mark = h.seq
	e, _ := f.line(h.seq)
	target := pos{seq: h.seq, row: f.rowOf(e, h.start)}
	if last := f.fwd(p, max(f.ch-1, 0)); target.before(p) || last.before(target) {
		p = f.clamp(f.back(target, f.context()))
	}
	m.top = p
	if !m.wrap && f.cw > 1 {
		a, b := colOf(e, h.start), colOf(e, h.end)
		if a < m.xOff || b > m.xOff+f.cw-1 {
			m.xOff = max(0, a-f.cw/4)
		}
	}
}

// contentHeight and headerRows split the pane: a header line (title and
// toggles) when there are at least three rows, the content, and a status
// line at the bottom.
func (m *Model) headerRows() int {
	if m.height >= 3 {
		return 1
	}
	return 0
}

func (m *Model) contentHeight() int { return max(0, m.height-1-m.headerRows()) }

// contentWidth is the width minus the one-cell gutter for the line marker.
func (m *Model) contentWidth() int { return max(0, m.width-1) }
