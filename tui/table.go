package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
)

// sortKey is a column a list is sorted by.
type sortKey int

const (
	sortState sortKey = iota // problems first, the default
	sortName
	sortLoad
	sortAge
)

// list is what the hosts and tasks lists share: cursor and scroll, sort,
// filter, the problems-only switch and whether the detail pane is open.
type list struct {
	cursor, top  int
	sortBy       sortKey
	desc         bool
	filter       string
	problemsOnly bool
	detailOpen   bool
}

// listKey answers the keys both lists answer alike: moving (the open
// detail pane follows the cursor), Esc (closes the pane, then clears the
// filter, then the problems-only switch), Enter, ctrl+z and the sort keys
// of sorts (the same key again reverses). n is the row count, recompute
// filters and sorts again, detail reads the selected row's detail. It
// reports whether k was one of them.
func (m *Model) listKey(l *list, k tea.KeyPressMsg, n int, recompute func(), detail func() tea.Cmd, sorts ...sortKey) (tea.Cmd, bool) {
	ks := m.keys
	prev := l.cursor
	if moveCursor(ks, k, &l.cursor, n, m.listHeight()) {
		if l.detailOpen && l.cursor != prev {
			return detail(), true
		}
		return nil, true
	}
	switch {
	case key.Matches(k, ks.Back):
		switch {
		case l.detailOpen:
			l.detailOpen = false
		case l.filter != "":
			l.filter = ""
			recompute()
		case l.problemsOnly:
			l.problemsOnly = false
			recompute()
		}
		return nil, true
	case key.Matches(k, ks.Detail):
		l.detailOpen = !l.detailOpen
		if l.detailOpen {
			return detail(), true
		}
		return nil, true
	case key.Matches(k, ks.Problems):
		l.problemsOnly = !l.problemsOnly
		recompute()
		return nil, true
	}
	bindings := map[sortKey]key.Binding{sortName: ks.SortName, sortState: ks.SortState, sortLoad: ks.SortLoad, sortAge: ks.SortAge}
	for _, s := range sorts {
		if key.Matches(k, bindings[s]) {
			if l.sortBy == s {
				l.desc = !l.desc
			} else {
				l.sortBy, l.desc = s, false
			}
			recompute()
			return nil, true
		}
	}
	return nil, false
}

// column is one column of a list.
type column struct {
	title string
	width int
	right bool
	sort  sortKey
	sorts bool // the list can be sorted by it
}

// fit fits s to the column; a selected row is styled whole by its caller.
func (c column) fit(s string, style lipgloss.Style, selected bool) string {
	if c.right {
		s = rcell(s, c.width)
	} else {
		s = cell(s, c.width)
	}
	if selected {
		return s
	}
	return style.Render(s)
}

// headLine draws the column headings, the sort column in reverse video
// with an arrow for its direction, then the last, free-width column.
func headLine(st Styles, cols []column, by sortKey, desc bool, last string, lastW int) string {
	var b strings.Builder
	b.WriteString("  ")
	for _, c := range cols {
		title, style := c.title, st.Head
		if c.sorts && c.sort == by {
			title += map[bool]string{false: "▲", true: "▼"}[desc]
			style = st.SortHead
		}
		if c.right {
			b.WriteString(style.Render(rcell(title, c.width)))
		} else {
			b.WriteString(style.Render(cell(title, c.width)))
		}
		b.WriteByte(' ')
	}
	b.WriteString(st.Head.Render(cell(last, lastW)))
	return b.String()
}
