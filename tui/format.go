package tui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/charmbracelet/x/ansi"
)

// age is a short duration for narrow columns: "12s", "5m", "3h", "2d".
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// since is age(now - t), or "never" for the zero time.
func since(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return age(now.Sub(t))
}

// bytesIEC prints a byte count in binary units: "1.2 GiB".
func bytesIEC(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	f := float64(n)
	i := -1
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if f >= 100 {
		return fmt.Sprintf("%.0f %s", f, units[i])
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}

// commas prints a count with thousands separators: 11757 → "11,757".
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// meter draws a bar of width cells filled to frac (0..1), htop-style: the
// length carries the value, so it reads without colour.
func meter(frac float64, width int) string {
	if width <= 0 {
		return ""
	}
	if math.IsNaN(frac) {
		frac = 0
	}
	frac = min(max(frac, 0), 1)
	full := int(math.Round(frac * float64(width)))
	return strings.Repeat("|", full) + strings.Repeat(".", width-full)
}

// sparkline draws values (0..1) as block characters, one a cell.
func sparkline(vals []float64) string {
	blocks := []rune("▁▂▃▄▅▆▇█")
	var b strings.Builder
	for _, v := range vals {
		v = min(max(v, 0), 1)
		b.WriteRune(blocks[int(math.Round(v*float64(len(blocks)-1)))])
	}
	return b.String()
}

// cell fits s into exactly w terminal cells: cut with "…" or padded.
func cell(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	if pad := w - ansi.StringWidth(s); pad > 0 {
		s += strings.Repeat(" ", pad)
	}
	return s
}

// rcell is cell, right-aligned.
func rcell(s string, w int) string {
	if ansi.StringWidth(s) > w {
		return cell(s, w)
	}
	return strings.Repeat(" ", w-ansi.StringWidth(s)) + s
}

// clean makes text from the hub safe to draw: control characters and
// escape sequences become visible or go, so a host comment or a task label
// cannot move the cursor or rewrite the terminal.
func clean(s string) string {
	if s == "" {
		return s
	}
	ok := true
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar || (r >= 0x80 && r < 0xa0) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case unicode.IsControl(r) || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// durationWords is a rough duration for sentences: "~3 h", "~20 min".
func durationWords(d time.Duration) string {
	switch mins := int(math.Round(d.Minutes())); {
	case d < time.Minute:
		return "under a minute"
	case mins < 60:
		return fmt.Sprintf("~%d min", mins)
	case d < 48*time.Hour:
		return fmt.Sprintf("~%d h", int(math.Round(d.Hours())))
	}
	return fmt.Sprintf("~%d days", int(math.Round(d.Hours()/24)))
}

// wrapped is prefix+text wrapped to width, continuation lines indented
// under the text, at most maxLines lines (the last cut with "…").
func wrapped(prefix, text string, width, maxLines int) []string {
	indent := strings.Repeat(" ", ansi.StringWidth(prefix))
	w := max(width-ansi.StringWidth(prefix), 10)
	lines := strings.Split(ansi.Wrap(text, w, ""), "\n")
	if len(lines) > maxLines {
		lines = lines[:maxLines]
		lines[maxLines-1] = ansi.Truncate(lines[maxLines-1], w-1, "") + "…"
	}
	for i := range lines {
		if i == 0 {
			lines[i] = prefix + lines[i]
		} else {
			lines[i] = indent + lines[i]
		}
	}
	return lines
}
