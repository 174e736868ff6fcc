package tui

import (
	"strings"

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

// toggleSort sorts by s, or reverses the order when already sorted by s.
func toggleSort(by *sortKey, desc *bool, s sortKey) {
	if *by == s {
		*desc = !*desc
		return
	}
	*by, *desc = s, false
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
