package logview

import (
	"unicode"
	"unicode/utf8"
)

// maxQuery caps the search prompt, in runes.
const maxQuery = 256

// span is a byte range [start, end) of a line.
type span struct{ start, end int }

// hit is one match: line seq and byte range. seq 0 means none.
type hit struct{ seq, start, end int }

// matcher finds a query in lines, case-insensitively, as non-overlapping
// substrings scanned from the left. It is immutable once built, so model
// copies may share it.
type matcher struct {
	query string
	ascii bool
	upper []byte // ASCII query, upper-cased
	runes []rune // otherwise the query's runes, case-folded
}

func newMatcher(q string) *matcher {
	if q == "" {
		return nil
	}
	mt := &matcher{query: q, ascii: isASCII(q)}
	if mt.ascii {
		mt.upper = []byte(q)
		for i, c := range mt.upper {
			mt.upper[i] = upperASCII(c)
		}
		return mt
	}
	for _, r := range q {
		mt.runes = append(mt.runes, foldRune(r))
	}
	return mt
}

func upperASCII(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// foldRune maps r to the smallest rune of its case-folding orbit, so that
// two runes are equal ignoring case exactly when their folds are.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		return rune(upperASCII(byte(r)))
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return m
}

// next returns the first match in s starting at or after byte from, or -1.
func (mt *matcher) next(s string, from int) (int, int) {
	if mt.ascii {
		q := mt.upper
		c0 := q[0]
		c1 := c0
		if c0 >= 'A' && c0 <= 'Z' {
			c1 = c0 + ('a' - 'A')
		}
	outer:
		for i := from; i <= len(s)-len(q); i++ {
			if c := s[i]; c != c0 && c != c1 {
				continue
			}
			for j := 1; j < len(q); j++ {
				if upperASCII(s[i+j]) != q[j] {
					continue outer
				}
			}
			return i, i + len(q)
		}
		return -1, -1
	}
	for i := from; i < len(s); {
		if end, ok := mt.matchAt(s, i); ok {
			return i, end
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return -1, -1
}

func (mt *matcher) matchAt(s string, i int) (int, bool) {
	for _, qr := range mt.runes {
		if i >= len(s) {
			return 0, false
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if foldRune(r) != qr {
			return 0, false
		}
		i += size
	}
	return i, true
}

// count returns the number of matches in s.
func (mt *matcher) count(s string) int {
	n := 0
	for i := 0; ; n++ {
		_, end := mt.next(s, i)
		if end < 0 {
			return n
		}
		i = end
	}
}

// all appends the matches in s to dst.
func (mt *matcher) all(dst []span, s string) []span {
	for i := 0; ; {
		a, b := mt.next(s, i)
		if a < 0 {
			return dst
		}
		dst = append(dst, span{a, b})
		i = b
	}
}

// prev returns the last match in s that starts before byte before, or -1.
func (mt *matcher) prev(s string, before int) (int, int) {
	pa, pb := -1, -1
	for i := 0; ; {
		a, b := mt.next(s, i)
		if a < 0 || a >= before {
			return pa, pb
		}
		pa, pb, i = a, b, b
	}
}

// runSearch starts a search for q from the top of the view, counting every
// match in the held lines once (O(held bytes), at most Options.MaxBytes);
// later lines are counted as they arrive. An empty q clears the search.
func (m *Model) runSearch(q string) {
	m.cur, m.curIdx, m.total = hit{}, 0, 0
	m.query, m.mt = q, newMatcher(q)
	if m.mt == nil {
		m.note = "search cleared"
		return
	}
	f := m.frame()
	start := m.posIn(&f).seq
	var first hit
	for i := range m.lines.n {
		s := m.lines.at(i).text
		c := m.mt.count(s)
		if c == 0 {
			continue
		}
		seq := f.first + i
		if first.seq == 0 {
			a, b := m.mt.next(s, 0)
			first = hit{seq, a, b}
		}
		if m.cur.seq == 0 && seq >= start {
			a, b := m.mt.next(s, 0)
			m.cur, m.curIdx = hit{seq, a, b}, m.total+1
		}
		m.total += c
	}
	if m.total == 0 {
		return
	}
	if m.cur.seq == 0 {
		m.cur, m.curIdx = first, 1
		m.note = "search wrapped to top"
	}
	m.show(&f, m.cur)
}

// step moves to the next (dir > 0) or previous match, wrapping around the
// held lines with a note.
func (m *Model) step(dir int) {
	if m.mt == nil || m.total == 0 {
		return
	}
	f := m.frame()
	c, known := m.cur, m.cur.seq != 0
	if !known { // the current match was dropped: go on from the view
		c = hit{seq: m.posIn(&f).seq}
	}
	n := m.lines.n
	idx := min(c.seq-f.first, n-1)
	text := func(i int) string { return m.lines.at(i).text }
	found := false
	if dir > 0 {
		from := c.end
		if !known {
			from = 0
		}
		if a, b := m.mt.next(text(idx), from); a >= 0 && idx == c.seq-f.first {
			m.cur, found = hit{c.seq, a, b}, true
		}
		for i := idx + 1; !found && i < n; i++ {
			if a, b := m.mt.next(text(i), 0); a >= 0 {
				m.cur, found = hit{f.first + i, a, b}, true
			}
		}
		if found {
			m.curIdx++
		}
		for i := 0; !found && i <= idx; i++ {
			if a, b := m.mt.next(text(i), 0); a >= 0 {
				m.cur, found = hit{f.first + i, a, b}, true
				m.curIdx = 1
				m.note = "search wrapped to top"
			}
		}
	} else {
		before := c.start
		if !known {
			before = 0
		}
		if a, b := m.mt.prev(text(idx), before); a >= 0 && idx == c.seq-f.first {
			m.cur, found = hit{c.seq, a, b}, true
		}
		for i := idx - 1; !found && i >= 0; i-- {
			if a, b := m.mt.prev(text(i), len(text(i))+1); a >= 0 {
				m.cur, found = hit{f.first + i, a, b}, true
			}
		}
		if found {
			m.curIdx--
		}
		for i := n - 1; !found && i >= idx; i-- {
			if a, b := m.mt.prev(text(i), len(text(i))+1); a >= 0 {
				m.cur, found = hit{f.first + i, a, b}, true
				m.curIdx = m.total
				m.note = "search wrapped to bottom"
			}
		}
	}
	if !known {
		m.curIdx = m.indexOf(&f, m.cur)
	}
	m.show(&f, m.cur)
}

// indexOf counts the matches up to and including h: O(held bytes), used
// only when the current match was dropped with its line.
func (m *Model) indexOf(f *frame, h hit) int {
	n := 0
	for i := range h.seq - f.first {
		n += m.mt.count(m.lines.at(i).text)
	}
	s := m.lines.at(h.seq - f.first).text
	for i := 0; ; n++ {
		a, b := m.mt.next(s, i)
		if a < 0 || a > h.start {
			return n
		}
		i = b
	}
}
