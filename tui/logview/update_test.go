package logview

import (
	"slices"
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// The pane at 80x24 has 22 content rows between header and status.
const rows = 22

func TestFollowPausesOnScrollUpAndResumes(t *testing.T) {
	for _, resume := range []string{"G", "end"} {
		t.Run(resume, func(t *testing.T) {
			m := newPane(Options{})
			numbered(&m, 1, 100, "")
			if !m.Following() {
				t.Fatal("a new pane does not follow")
			}
			if got := bodyOf(m)[rows-1]; got != " line 100" {
				t.Fatalf("last row following = %q, want line 100", got)
			}
			m = send(t, m, "k")
			if m.Following() {
				t.Fatal("k did not pause following")
			}
			before := bodyOf(m)
			if before[0] != " line 78" {
				t.Errorf("first row after k = %q, want line 78", before[0])
			}
			numbered(&m, 101, 105, "")
			if after := bodyOf(m); !slices.Equal(after, before) {
				t.Errorf("new lines moved a paused view:\n%q\nwant\n%q", after, before)
			}
			if got := statusOf(m); !strings.HasPrefix(got, "paused, 5 new lines | ") {
				t.Errorf("status = %q, want paused, 5 new lines", got)
			}
			if !strings.Contains(viewLines(m)[0], "[follow off]") {
				t.Errorf("header = %q, want [follow off]", viewLines(m)[0])
			}
			m = send(t, m, resume)
			if !m.Following() {
				t.Fatalf("%s did not resume following", resume)
			}
			if got := bodyOf(m)[rows-1]; got != " line 105" {
				t.Errorf("last row after %s = %q, want line 105", resume, got)
			}
			if !strings.Contains(viewLines(m)[0], "[follow on]") {
				t.Errorf("header = %q, want [follow on]", viewLines(m)[0])
			}
		})
	}
}

func TestScrollingDownToTheEndResumesFollowing(t *testing.T) {
	m := newPane(Options{})
	numbered(&m, 1, 100, "")
	m = send(t, m, "k", "k", "k", "j", "j")
	if m.Following() {
		t.Fatal("following resumed before the end")
	}
	m = send(t, m, "j")
	if !m.Following() {
		t.Fatal("reaching the end did not resume following (sticky bottom)")
	}
	numbered(&m, 101, 101, "")
	if got := bodyOf(m)[rows-1]; got != " line 101" {
		t.Errorf("last row = %q, want line 101", got)
	}
}

func TestMovementKeys(t *testing.T) {
	tests := []struct {
		keys  []string
		first string // first content row afterwards
	}{
		{[]string{"g"}, " line 1"},
		{[]string{"home"}, " line 1"},
		{[]string{"g", "j"}, " line 2"},
		{[]string{"g", "down", "down", "up"}, " line 2"},
		{[]string{"g", "pgdown"}, " line 23"},
		{[]string{"g", "ctrl+f"}, " line 23"},
		{[]string{"g", "ctrl+d"}, " line 12"},
		{[]string{"g", "ctrl+d", "ctrl+u"}, " line 1"},
		{[]string{"pgup"}, " line 57"},
		{[]string{"ctrl+b", "ctrl+b"}, " line 35"},
		{[]string{"g", "k"}, " line 1"},
		{[]string{"g", "G"}, " line 79"},
	}
	for _, tt := range tests {
		m := newPane(Options{})
		numbered(&m, 1, 100, "")
		m = send(t, m, tt.keys...)
		if got := bodyOf(m)[0]; got != tt.first {
			t.Errorf("keys %q: first row = %q, want %q", tt.keys, got, tt.first)
		}
	}
}

func TestMouseWheel(t *testing.T) {
	m := newPane(Options{})
	numbered(&m, 1, 100, "")
	m, _ = m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelUp})
	if m.Following() || bodyOf(m)[0] != " line 76" {
		t.Errorf("wheel up: following %v, first row %q; want paused at line 76", m.Following(), bodyOf(m)[0])
	}
	m, _ = m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	if !m.Following() {
		t.Error("wheel down to the end did not resume following")
	}
}

func TestSearchNextPrevWrap(t *testing.T) {
	m := newPane(Options{})
	numbered(&m, 1, 100, "")
	m.Append([]byte("x\n"))
	// Matches on lines 10, 50 (twice) and 90.
	m.lines.at(9).text = "line 10 Foo"
	m.lines.at(49).text = "line 50 foo and FOO"
	m.lines.at(89).text = "line 90 fOo"
	m = send(t, m, "g", "/")
	if !m.Searching() {
		t.Fatal("/ did not open the prompt")
	}
	m = typeText(t, m, "foo")
	if got := statusOf(m); got != "/foo█" {
		t.Errorf("prompt = %q, want /foo█", got)
	}
	m = send(t, m, "enter")
	if m.Searching() {
		t.Fatal("enter left the prompt open")
	}
	steps := []struct {
		key    string
		status string
		cur    hit
	}{
		{"", "match 1 of 4", hit{10, 8, 11}},
		{"n", "match 2 of 4", hit{50, 8, 11}},
		{"n", "match 3 of 4", hit{50, 16, 19}},
		{"n", "match 4 of 4", hit{90, 8, 11}},
		{"n", "search wrapped to top | match 1 of 4", hit{10, 8, 11}},
		{"N", "search wrapped to bottom | match 4 of 4", hit{90, 8, 11}},
		{"N", "match 3 of 4", hit{50, 16, 19}},
	}
	for _, s := range steps {
		if s.key != "" {
			m = send(t, m, s.key)
		}
		if got := statusOf(m); !strings.HasPrefix(got, s.status+" | paused") {
			t.Errorf("after %q status = %q, want %q first", s.key, got, s.status)
		}
		if m.cur != s.cur {
			t.Errorf("after %q current match = %+v, want %+v", s.key, m.cur, s.cur)
		}
		if m.Following() {
			t.Errorf("after %q still following", s.key)
		}
		// The current match is on screen and marked.
		found := false
		for _, row := range bodyOf(m) {
			if strings.HasPrefix(row, ">line "+itoa(s.cur.seq)+" ") {
				found = true
			}
		}
		if !found {
			t.Errorf("after %q line %d is not on screen with its marker: %q", s.key, s.cur.seq, bodyOf(m))
		}
	}
}

func itoa(n int) string { return commas(n) }

func TestSearchStartsFromView(t *testing.T) {
	m := newPane(Options{})
	numbered(&m, 1, 100, " foo")
	m = send(t, m, "g", "pgdown", "/")
	m = typeText(t, m, "foo")
	m = send(t, m, "enter")
	if m.cur.seq != 23 || m.curIdx != 23 || !strings.HasPrefix(statusOf(m), "match 23 of 100 |") {
		t.Errorf("search from line 23: cur %+v, idx %d, status %q", m.cur, m.curIdx, statusOf(m))
	}
	if got := bodyOf(m)[0]; got != ">line 23 foo" {
		t.Errorf("a visible match moved the view: first row %q, want it marked in place", got)
	}
}

func TestSearchNoMatchAndCancel(t *testing.T) {
	m := newPane(Options{})
	numbered(&m, 1, 30, "")
	m = send(t, m, "/")
	m = typeText(t, m, "zzz")
	m = send(t, m, "enter")
	if got := statusOf(m); !strings.HasPrefix(got, `no match for "zzz" |`) {
		t.Errorf("status = %q, want no match for \"zzz\"", got)
	}
	if !m.Following() {
		t.Error("a search with no match stopped following")
	}
	m = send(t, m, "/")
	m = typeText(t, m, "line 2")
	m = send(t, m, "esc")
	if m.Searching() || m.query != "zzz" {
		t.Errorf("esc: searching %v, query %q; want the prompt closed and the search unchanged", m.Searching(), m.query)
	}
	m = send(t, m, "/", "enter")
	if m.mt != nil || !strings.HasPrefix(statusOf(m), "search cleared |") {
		t.Errorf("empty search did not clear: %q", statusOf(m))
	}
	if m = send(t, m, "n"); m.cur.seq != 0 || !m.Following() {
		t.Errorf("n without a search moved to %+v", m.cur)
	}
}

func TestSearchPromptEditing(t *testing.T) {
	m := newPane(Options{})
	m = send(t, m, "/")
	m = typeText(t, m, "undefined refx")
	m = send(t, m, "backspace")
	if got := string(m.input); got != "undefined ref" {
		t.Errorf("after backspace input = %q", got)
	}
	m = send(t, m, "ctrl+w")
	if got := string(m.input); got != "undefined " {
		t.Errorf("after ctrl+w input = %q", got)
	}
	m = send(t, m, "ctrl+u")
	if got := string(m.input); got != "" {
		t.Errorf("after ctrl+u input = %q", got)
	}
	m, _ = m.Update(pasteMsg("a\x1b[31mb\nc"))
	if got := string(m.input); got != "ab c" {
		t.Errorf("pasted input = %q, want %q", got, "ab c")
	}
	m = send(t, m, "j", "G", "q")
	if got := string(m.input); got != "ab cjGq" {
		t.Errorf("keys while searching went elsewhere: input %q", got)
	}
	m = send(t, m, "ctrl+u")
	m = typeText(t, m, strings.Repeat("x", 300))
	if len(m.input) != maxQuery {
		t.Errorf("input holds %d runes, want the cap %d", len(m.input), maxQuery)
	}
	m.SetSize(20, 5)
	if got := statusOf(m); got != "…"+strings.Repeat("x", 18)+"█" {
		t.Errorf("long prompt = %q, want its tail", got)
	}
}

func TestSearchCountsFollowAppendsAndDrops(t *testing.T) {
	m := newPane(Options{MaxLines: 50})
	numbered(&m, 1, 50, "")
	m = send(t, m, "g", "/")
	m = typeText(t, m, "line 4")
	m = send(t, m, "enter") // line 4, 40..49
	if m.total != 11 || m.curIdx != 1 || m.cur.seq != 4 {
		t.Fatalf("total %d idx %d cur %+v, want 11, 1, line 4", m.total, m.curIdx, m.cur)
	}
	m = send(t, m, "n", "n") // line 41, the third
	numbered(&m, 51, 55, "") // drops 1-5: the match on line 4
	if m.total != 10 || m.curIdx != 2 || m.cur.seq != 41 {
		t.Errorf("after drops: total %d idx %d cur %+v, want 10, 2, line 41", m.total, m.curIdx, m.cur)
	}
	numbered(&m, 56, 80, "") // drops 6-30; adds no match
	numbered(&m, 81, 95, "") // drops 31-45 with the current match
	if m.cur.seq != 0 || !strings.HasPrefix(statusOf(m), "4 matches |") {
		t.Errorf("current match dropped: cur %+v, status %q; want 4 matches", m.cur, statusOf(m))
	}
	m = send(t, m, "n")
	if m.cur.seq != 46 || m.curIdx != 1 {
		t.Errorf("n after the drop: cur %+v idx %d, want line 46, 1", m.cur, m.curIdx)
	}
}

func TestWrapToggleChangesRows(t *testing.T) {
	m := newPane(Options{})
	// Lines of 100 cells take one row cut, two rows wrapped at 79.
	numbered(&m, 1, 100, " "+strings.Repeat("x", 100-len("line 100 ")))
	if got := statusOf(m); got != "lines 79-100 of 100" {
		t.Errorf("wrap off status = %q", got)
	}
	if got := bodyOf(m)[0]; !strings.HasSuffix(got, "x…") || len([]rune(got)) != 80 {
		t.Errorf("cut row = %q, want 80 cells ending in …", got)
	}
	m = send(t, m, "w")
	if !m.Wrapping() || !m.Following() {
		t.Fatalf("w: wrapping %v, following %v", m.Wrapping(), m.Following())
	}
	if got := statusOf(m); got != "lines 90-100 of 100" {
		t.Errorf("wrap on status = %q, want 11 lines in 22 rows", got)
	}
	body := bodyOf(m)
	if body[rows-2] != " line 100 "+strings.Repeat("x", 70) || body[rows-1] != " "+strings.Repeat("x", 21) {
		t.Errorf("wrapped rows = %q / %q", body[rows-2], body[rows-1])
	}
	// Scrolling counts rows, not lines.
	m = send(t, m, "k")
	if got := bodyOf(m)[0]; got != " "+strings.Repeat("x", 20) {
		t.Errorf("one row up, first row = %q, want the second row of line 89", got)
	}
	m = send(t, m, "k")
	if got := bodyOf(m)[0]; got != " line 89 "+strings.Repeat("x", 71) {
		t.Errorf("two rows up, first row = %q, want line 89", got)
	}
	m = send(t, m, "g", "j", "j", "j")
	if got := bodyOf(m)[0]; got != " "+strings.Repeat("x", 19) {
		t.Errorf("g and three rows down, first row = %q, want the second row of line 2", got)
	}
	// Toggling back keeps the top line.
	m = send(t, m, "w")
	if got := bodyOf(m)[0]; !strings.HasPrefix(got, " line 2 ") {
		t.Errorf("wrap off again, first row = %q, want line 2", got)
	}
}

func TestHorizontalScroll(t *testing.T) {
	m := newPane(Options{})
	numbered(&m, 1, 30, " "+strings.Repeat("0123456789", 12))
	m = send(t, m, "l")
	if m.xOff != 19 || !strings.Contains(statusOf(m), "col 20") {
		t.Errorf("l: xOff %d, status %q; want 19 (a quarter of 79 cells), col 20", m.xOff, statusOf(m))
	}
	if !m.Following() {
		t.Error("l stopped following")
	}
	numbered(&m, 31, 31, " "+strings.Repeat("0123456789", 12))
	if m.xOff != 19 {
		t.Errorf("following reset the horizontal scroll to %d", m.xOff)
	}
	m = send(t, m, "right", "right", "right")
	if m.xOff != 128-79 { // "line 31 " + 120 digits, 79 cells shown
		t.Errorf("xOff = %d, want it stopped at %d", m.xOff, 128-79)
	}
	if got := bodyOf(m)[rows-1]; got != " "+strings.Repeat("0123456789", 8)[1:] {
		t.Errorf("scrolled to the end: %q", got)
	}
	m = send(t, m, "h", "left", "h", "h")
	if m.xOff != 0 {
		t.Errorf("h back: xOff %d", m.xOff)
	}
	m = send(t, m, "w", "l")
	if m.xOff != 0 {
		t.Error("l scrolled while wrapping")
	}
}

func TestResizeKeepsPosition(t *testing.T) {
	m := newPane(Options{})
	numbered(&m, 1, 200, "")
	m.GotoLine(120)
	first := bodyOf(m)[0]
	m.SetSize(100, 40)
	if got := bodyOf(m)[0]; got != first {
		t.Errorf("after resize first row = %q, want %q", got, first)
	}
	m.SetSize(30, 10)
	if got := bodyOf(m)[0]; got != first {
		t.Errorf("after shrink first row = %q, want %q", got, first)
	}
	m = send(t, m, "G")
	m.SetSize(80, 24)
	if got := bodyOf(m)[rows-1]; got != " line 200" || !m.Following() {
		t.Errorf("following after resize: last row %q, following %v", got, m.Following())
	}

	// Wrapped: the row within the top line scales with the width.
	m = newPane(Options{})
	m = send(t, m, "w")
	m.Append([]byte(strings.Repeat("a", 790) + "\n"))
	numbered(&m, 2, 60, "")
	m = send(t, m, "g", "j", "j", "j", "j") // row 4 of line 1: cells 316-394
	m.SetSize(159, 24)                      // 158 cells a row: row 2 holds 316-473
	f := m.frame()
	if got := m.posIn(&f); got != (pos{seq: 1, row: 2}) {
		t.Errorf("after widening pos = %+v, want line 1 row 2", got)
	}
	checkFrame(t, m)
}

func TestGotoLine(t *testing.T) {
	m := newPane(Options{MaxLines: 100})
	numbered(&m, 1, 300, "")
	m.GotoLine(250)
	if m.Following() {
		t.Error("GotoLine kept following")
	}
	body := bodyOf(m)
	if body[0] != " line 247" || body[3] != ">line 250" {
		t.Errorf("GotoLine(250): rows %q", body[:6])
	}
	m.GotoLine(7)
	if got := statusOf(m); !strings.HasPrefix(got, "line 7 not kept; showing line 201 |") {
		t.Errorf("GotoLine of a dropped line: status %q", got)
	}
	if got := bodyOf(m)[0]; got != ">line 201" {
		t.Errorf("GotoLine of a dropped line: first row %q", got)
	}
	m.GotoLine(1000)
	if got := bodyOf(m)[rows-1]; got != ">line 300" {
		t.Errorf("GotoLine past the end: last row %q", got)
	}
}

func TestFirstErrorKey(t *testing.T) {
	m := newPane(Options{})
	numbered(&m, 1, 200, "")
	m.Append([]byte(gccFailure))
	m = send(t, m, "e")
	want := ">../src/parse.c:212:9: error: ‘tok’ undeclared (first use in this function); did you mean ‘tk’?"
	body := bodyOf(m)
	if !slices.ContainsFunc(body, func(r string) bool { return strings.HasPrefix(want, strings.TrimSuffix(r, "…")) }) {
		t.Errorf("e did not show the gcc error marked; rows:\n%s", strings.Join(body, "\n"))
	}
	if got := statusOf(m); !strings.HasPrefix(got, "first error: line ") {
		t.Errorf("status = %q", got)
	}
	m = newPane(Options{})
	numbered(&m, 1, 10, "")
	m = send(t, m, "e")
	if got := statusOf(m); !strings.HasPrefix(got, "no error line found") {
		t.Errorf("no error: status %q", got)
	}
}

func TestKeyMapFollowsState(t *testing.T) {
	m := newPane(Options{})
	helpKeys := func(bs []key.Binding) []string {
		var out []string
		for _, b := range bs {
			out = append(out, b.Help().Key)
		}
		return out
	}
	if got := helpKeys(m.KeyMap().ShortHelp()); !slices.Equal(got, []string{"G/end", "/", "w", "e"}) {
		t.Errorf("short help = %q", got)
	}
	full := m.KeyMap().FullHelp()
	if len(full) != 3 || !slices.Contains(helpKeys(full[1]), "→/l") {
		t.Errorf("full help = %v", full)
	}
	m = send(t, m, "w")
	if slices.Contains(helpKeys(m.KeyMap().FullHelp()[1]), "→/l") {
		t.Error("h/l shown while wrapping")
	}
	m = send(t, m, "/")
	if got := helpKeys(m.KeyMap().ShortHelp()); !slices.Equal(got, []string{"enter", "esc"}) {
		t.Errorf("short help while searching = %q", got)
	}
	m = typeText(t, m, "x")
	m = send(t, m, "enter")
	if got := helpKeys(m.KeyMap().ShortHelp()); !slices.Equal(got, []string{"G/end", "/", "n", "N", "w", "e"}) {
		t.Errorf("short help with a search = %q", got)
	}
}

func TestResetAndEOF(t *testing.T) {
	m := newPane(Options{})
	numbered(&m, 1, 50, "")
	m = send(t, m, "k")
	m.Append([]byte("no newline yet"))
	m.SetEOF(true, "task closed")
	if m.Lines() != 51 {
		t.Errorf("SetEOF did not complete the partial line: Lines() = %d", m.Lines())
	}
	m = send(t, m, "G")
	body := bodyOf(m)
	if body[rows-2] != " no newline yet" || body[rows-1] != " -- end of log (task closed) --" {
		t.Errorf("end rows = %q", body[rows-2:])
	}
	m.Reset("task 43 root.log")
	if m.Lines() != 0 || m.Dropped() != 0 || !m.Following() || m.eof {
		t.Errorf("Reset left lines %d dropped %d following %v eof %v", m.Lines(), m.Dropped(), m.Following(), m.eof)
	}
	if got := statusOf(m); got != "no lines yet" {
		t.Errorf("empty status = %q", got)
	}
}
