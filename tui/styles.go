package tui

import (
	"image/color"

	"charm.land/lipgloss/v2"
)

// Styles is every style the console draws with, in one place. Without
// colour every state still reads as a word or glyph; the cursor, marks and
// the sort column use reverse video and bold, which NO_COLOR keeps.
type Styles struct {
	NoColor bool

	Title    lipgloss.Style // the header's first line
	Dim      lipgloss.Style // secondary text
	Key      lipgloss.Style // a key in the hints
	Head     lipgloss.Style // table column headings
	SortHead lipgloss.Style // the heading of the sort column
	Cursor   lipgloss.Style // the selected row
	Marked   lipgloss.Style // a marked row
	OK       lipgloss.Style // ready, closed, valid
	Warn     lipgloss.Style // filling up, expiring, free and waiting
	Bad      lipgloss.Style // not ready, failed, expired
	Off      lipgloss.Style // disabled, canceled
	Active   lipgloss.Style // open, assigned
	Error    lipgloss.Style // the status line's errors
	Badge    lipgloss.Style // [RO]
	Dialog   lipgloss.Style // a dialog's frame
	Button   lipgloss.Style
	Focused  lipgloss.Style // the focused button
	Section  lipgloss.Style // a heading inside a pane
}

// Colours chosen so that no state rests on red against green: good is blue,
// warnings orange, bad magenta, and each also has a glyph and a word.
var (
	colGood   color.Color = lipgloss.Color("#5fafff")
	colWarn   color.Color = lipgloss.Color("#ffaf00")
	colBad    color.Color = lipgloss.Color("#ff5fd7")
	colOff    color.Color = lipgloss.Color("#8a8a8a")
	colActive color.Color = lipgloss.Color("#87d7ff")
	colAccent color.Color = lipgloss.Color("#d7afff")
)

// NewStyles returns the styles, monochrome when noColor.
func NewStyles(noColor bool) Styles {
	n := lipgloss.NewStyle()
	s := Styles{
		NoColor:  noColor,
		Title:    n.Bold(true),
		Dim:      n,
		Key:      n.Bold(true),
		Head:     n.Bold(true),
		SortHead: n.Bold(true).Reverse(true),
		Cursor:   n.Reverse(true),
		Marked:   n.Bold(true),
		OK:       n,
		Warn:     n.Bold(true),
		Bad:      n.Bold(true),
		Off:      n,
		Active:   n,
		Error:    n.Bold(true),
		Badge:    n.Bold(true).Reverse(true),
		Dialog:   n.Border(lipgloss.NormalBorder()).Padding(0, 1),
		Button:   n.Padding(0, 1),
		Focused:  n.Padding(0, 1).Reverse(true).Bold(true),
		Section:  n.Bold(true),
	}
	if noColor {
		return s
	}
	s.Title = s.Title.Foreground(colAccent)
	s.Dim = s.Dim.Foreground(colOff)
	s.Key = s.Key.Foreground(colAccent)
	s.Head = s.Head.Foreground(colActive)
	s.OK = s.OK.Foreground(colGood)
	s.Warn = s.Warn.Foreground(colWarn)
	s.Bad = s.Bad.Foreground(colBad)
	s.Off = s.Off.Foreground(colOff)
	s.Active = s.Active.Foreground(colActive)
	s.Error = s.Error.Foreground(colBad)
	s.Badge = n.Bold(true).Foreground(lipgloss.Color("#000000")).Background(colWarn)
	s.Dialog = s.Dialog.BorderForeground(colAccent)
	s.Marked = s.Marked.Foreground(colAccent)
	return s
}
