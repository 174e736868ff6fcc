package logview

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// press builds the key message a terminal sends for k, written as
// key.Binding keys are ("j", "G", "ctrl+d", "pgup").
func press(k string) tea.KeyPressMsg {
	special := map[string]rune{
		"up": tea.KeyUp, "down": tea.KeyDown, "left": tea.KeyLeft, "right": tea.KeyRight,
		"pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown, "home": tea.KeyHome, "end": tea.KeyEnd,
		"enter": tea.KeyEnter, "esc": tea.KeyEscape, "backspace": tea.KeyBackspace,
		"space": tea.KeySpace,
	}
	var mod tea.KeyMod
	for _, p := range []struct {
		prefix string
		mod    tea.KeyMod
	}{{"ctrl+", tea.ModCtrl}, {"alt+", tea.ModAlt}} {
		if rest, ok := strings.CutPrefix(k, p.prefix); ok && rest != "" {
			mod |= p.mod
			k = rest
		}
	}
	if code, ok := special[k]; ok {
		return tea.KeyPressMsg{Code: code, Mod: mod}
	}
	r, _ := utf8.DecodeRuneInString(k)
	if mod != 0 {
		return tea.KeyPressMsg{Code: r, Mod: mod}
	}
	return tea.KeyPressMsg{Code: r, Text: k}
}

// send feeds keys to m through Update, as the parent would.
func send(tb testing.TB, m Model, keys ...string) Model {
	tb.Helper()
	for _, k := range keys {
		var cmd tea.Cmd
		m, cmd = m.Update(press(k))
		if cmd != nil {
			tb.Fatalf("Update(%q) returned a command; the log pane does no I/O", k)
		}
	}
	return m
}

// typeText types s into the focused search prompt.
func typeText(tb testing.TB, m Model, s string) Model {
	tb.Helper()
	for _, r := range s {
		m = send(tb, m, string(r))
	}
	return m
}

// held returns the complete lines m holds.
func held(m Model) []string {
	out := make([]string, m.lines.n)
	for i := range out {
		out[i] = m.lines.at(i).text
	}
	return out
}

// numbered appends lines "line 1" ... "line n" (with a suffix).
func numbered(m *Model, from, to int, suffix string) {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "line %d%s\n", i, suffix)
	}
	m.Append([]byte(b.String()))
}

// newPane returns a NoColor pane of 80x24 titled "task 42 build.log".
func newPane(o Options) Model {
	o.NoColor = true
	m := New(o)
	m.SetSize(80, 24)
	m.Reset("task 42 build.log")
	return m
}

func viewLines(m Model) []string { return strings.Split(m.View(), "\n") }

// statusOf returns the bottom line of the view, styles stripped.
func statusOf(m Model) string {
	v := viewLines(m)
	return ansi.Strip(v[len(v)-1])
}

// bodyOf returns the content rows, styles stripped.
func bodyOf(m Model) []string {
	v := viewLines(m)
	out := v[m.headerRows() : len(v)-1]
	for i := range out {
		out[i] = ansi.Strip(out[i])
	}
	return out
}

var (
	anySeq  = regexp.MustCompile("\x1b\\[[0-9;:]*m")
	ourSGRs = map[string]bool{"\x1b[7m": true, "\x1b[7;4m": true, "\x1b[m": true}
)

// checkFrame asserts the View contract: exactly height lines of at most
// width cells, no control character but the newlines between them, no
// escape sequence but SGR, and, under NoColor, no SGR but reverse video.
func checkFrame(tb testing.TB, m Model) {
	tb.Helper()
	v := m.View()
	lines := strings.Split(v, "\n")
	if len(lines) != m.height {
		tb.Fatalf("View has %d lines, want %d", len(lines), m.height)
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > m.width {
			tb.Errorf("View line %d is %d cells wide, want <= %d: %q", i, w, m.width, l)
		}
		if !utf8.ValidString(l) {
			tb.Errorf("View line %d is not valid UTF-8: %q", i, l)
		}
		rest := anySeq.ReplaceAllStringFunc(l, func(s string) string {
			if m.opts.NoColor && !ourSGRs[s] {
				tb.Errorf("View line %d has %q under NoColor", i, s)
			}
			return ""
		})
		for _, r := range rest {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				tb.Errorf("View line %d has control character %U: %q", i, r, l)
			}
		}
	}
}

func pasteMsg(s string) tea.PasteMsg { return tea.PasteMsg{Content: s} }
