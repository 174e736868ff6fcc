package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"kojigo/tui/farm"
)

// hostsView is the hosts list and its detail pane.
type hostsView struct {
	all    []farm.Host
	rows   []farm.Host
	hidden int // hosts the filter hides
	list
	marks     map[string]bool
	detail    *farm.HostDetail
	detailErr error
	now       time.Time
	snap      *farm.Snapshot
}

func newHostsView() hostsView { return hostsView{marks: map[string]bool{}} }

// hostLevel orders hosts by how much they need an operator.
type level int

const (
	lvlBad level = iota
	lvlWarn
	lvlOK
	lvlOff
)

// hostState says in a glyph, a word and a sentence how a host is.
func hostState(h farm.Host, now time.Time) (glyph, word string, lvl level, reason string) {
	switch {
	case !h.Enabled:
		r := "disabled"
		if h.Comment != "" {
			r = "disabled: " + h.Comment
		}
		return "⏸", "disabled", lvlOff, r
	case !h.Ready:
		var why []string
		if h.Health != nil {
			why = h.Health.NotReady
		}
		if h.Update.IsZero() {
			why = append(why, "never checked in")
		} else if d := now.Sub(h.Update); d > 5*time.Minute {
			why = append(why, fmt.Sprintf("no check-in for %s", durationWords(d)))
		}
		if len(why) == 0 {
			if h.Health == nil {
				why = append(why, "not ready (this hub does not say why)")
			} else {
				why = append(why, "not ready")
			}
		}
		return "✗", "not ready", lvlBad, strings.Join(why, "; ")
	}
	if d, ok := fullestDisk(h); ok && d.UsedFraction() >= 0.9 {
		return "!", "ready", lvlWarn, fmt.Sprintf("%s %s %.0f%% full, %s free", d.Role, d.Path, d.UsedFraction()*100, bytesIEC(d.Free))
	}
	if !h.Update.IsZero() && now.Sub(h.Update) > 5*time.Minute {
		return "!", "ready", lvlWarn, fmt.Sprintf("no check-in for %s", durationWords(now.Sub(h.Update)))
	}
	return "✓", "ready", lvlOK, ""
}

func fullestDisk(h farm.Host) (farm.Disk, bool) {
	if h.Health == nil || len(h.Health.Disks) == 0 {
		return farm.Disk{}, false
	}
	best := h.Health.Disks[0]
	for _, d := range h.Health.Disks[1:] {
		if d.UsedFraction() > best.UsedFraction() {
			best = d
		}
	}
	return best, true
}

func (st Styles) level(l level) lipgloss.Style {
	switch l {
	case lvlBad:
		return st.Bad
	case lvlWarn:
		return st.Warn
	case lvlOff:
		return st.Off
	}
	return st.OK
}

func (v *hostsView) setSnapshot(s *farm.Snapshot, now time.Time) {
	v.snap, v.all, v.now = s, s.Hosts, now
	v.recompute()
}

func (v *hostsView) setFilter(f string) {
	v.filter = f
	v.recompute()
}

// recompute filters and sorts, keeping the cursor on the same host.
func (v *hostsView) recompute() {
	sel := ""
	if v.cursor >= 0 && v.cursor < len(v.rows) {
		sel = v.rows[v.cursor].Name
	}
	v.rows = v.rows[:0]
	f := strings.ToLower(strings.TrimSpace(v.filter))
	for _, h := range v.all {
		_, word, lvl, reason := hostState(h, v.now)
		if v.problemsOnly && lvl != lvlBad && lvl != lvlWarn {
			continue
		}
		if f != "" {
			hay := strings.ToLower(strings.Join([]string{h.Name, word, reason, strings.Join(h.Arches, " "), strings.Join(h.Channels, " "), h.Comment}, " "))
			if !matchAll(hay, f) {
				continue
			}
		}
		v.rows = append(v.rows, h)
	}
	v.hidden = len(v.all) - len(v.rows)
	now := v.now
	less := func(a, b farm.Host) int {
		switch v.sortBy {
		case sortName:
			return strings.Compare(a.Name, b.Name)
		case sortLoad:
			la, lb := loadFrac(a), loadFrac(b)
			switch {
			case la > lb:
				return -1
			case la < lb:
				return 1
			}
		case sortAge:
			switch {
			case a.Update.Before(b.Update):
				return -1
			case a.Update.After(b.Update):
				return 1
			}
		default:
			_, _, la, _ := hostState(a, now)
			_, _, lb, _ := hostState(b, now)
			if la != lb {
				return int(la) - int(lb)
			}
		}
		return strings.Compare(a.Name, b.Name)
	}
	sort.SliceStable(v.rows, func(i, j int) bool {
		c := less(v.rows[i], v.rows[j])
		if v.desc {
			return c > 0
		}
		return c < 0
	})
	v.cursor = 0
	for i, h := range v.rows {
		if h.Name == sel {
			v.cursor = i
		}
	}
	for name := range v.marks {
		if !v.exists(name) {
			delete(v.marks, name)
		}
	}
}

func (v *hostsView) exists(name string) bool {
	for _, h := range v.all {
		if h.Name == name {
			return true
		}
	}
	return false
}

// matchAll reports whether every word of the filter is in hay.
func matchAll(hay, filter string) bool {
	for _, w := range strings.Fields(filter) {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

func loadFrac(h farm.Host) float64 {
	if h.Capacity <= 0 {
		return h.TaskLoad
	}
	return h.TaskLoad / h.Capacity
}

func (v *hostsView) selected() (farm.Host, bool) {
	if v.cursor < 0 || v.cursor >= len(v.rows) {
		return farm.Host{}, false
	}
	return v.rows[v.cursor], true
}

// targets are the marked hosts, or the selected one.
func (v *hostsView) targets() []string {
	if len(v.marks) > 0 {
		var out []string
		for _, h := range v.all {
			if v.marks[h.Name] {
				out = append(out, h.Name)
			}
		}
		return out
	}
	if h, ok := v.selected(); ok {
		return []string{h.Name}
	}
	return nil
}

// hiddenMarks counts marked hosts the filter hides.
func (v *hostsView) hiddenMarks() int {
	n := 0
	for name := range v.marks {
		shown := false
		for _, h := range v.rows {
			if h.Name == name {
				shown = true
			}
		}
		if !shown {
			n++
		}
	}
	return n
}

func (v *hostsView) onDetail(msg hostDetailMsg) {
	if h, ok := v.selected(); !ok || h.ID != msg.id {
		return
	}
	if msg.err != nil {
		v.detailErr = msg.err
		return
	}
	v.detail, v.detailErr = msg.detail, nil
}

func (v *hostsView) clickRow(row int) {
	if i := v.top + row; row >= 0 && i < len(v.rows) {
		v.cursor = i
	}
}

// moveCursor handles the list keys; it reports whether k was one.
func moveCursor(ks keyMap, k tea.KeyPressMsg, cursor *int, n, page int) bool {
	switch {
	case key.Matches(k, ks.Up):
		*cursor--
	case key.Matches(k, ks.Down):
		*cursor++
	case key.Matches(k, ks.PageUp):
		*cursor -= max(page, 1)
	case key.Matches(k, ks.PageDown):
		*cursor += max(page, 1)
	case key.Matches(k, ks.Top):
		*cursor = 0
	case key.Matches(k, ks.Bottom):
		*cursor = n - 1
	default:
		return false
	}
	*cursor = min(max(*cursor, 0), max(n-1, 0))
	return true
}

func (m *Model) hostsKey(k tea.KeyPressMsg) tea.Cmd {
	v := &m.hosts
	ks := m.keys
	detail := func() tea.Cmd {
		v.detail, v.detailErr = nil, nil
		if h, ok := v.selected(); ok {
			return m.hostDetailCmd(h)
		}
		return nil
	}
	if cmd, done := m.listKey(&v.list, k, len(v.rows), v.recompute, detail, sortName, sortState, sortLoad, sortAge); done {
		return cmd
	}
	switch {
	case key.Matches(k, ks.Mark):
		if h, ok := v.selected(); ok {
			if v.marks[h.Name] {
				delete(v.marks, h.Name)
			} else {
				v.marks[h.Name] = true
			}
			v.cursor = min(v.cursor+1, len(v.rows)-1)
		}
	case key.Matches(k, ks.ClearMarks):
		clear(v.marks)
	case key.Matches(k, ks.Enable):
		m.openHostsDialog(true)
	case key.Matches(k, ks.Disable):
		m.openHostsDialog(false)
	case key.Matches(k, ks.EditHost):
		if h, ok := v.selected(); ok {
			m.dialog = newEditHostDialog(h)
		}
	}
	return nil
}

// listHeight is how many rows the current list shows.
func (m *Model) listHeight() int {
	h := m.bodyHeight() - 1
	if (m.view == viewHosts && m.hosts.detailOpen) || (m.view == viewTasks && m.tasks.detailOpen) {
		h = listPart(m.bodyHeight()) - 1
	}
	return max(h, 1)
}

// listPart is the list's share of the body when a detail pane is open.
func listPart(body int) int { return max(body*2/5, 5) }

// hostColumns are the hosts table's columns at a width.

func hostColumns(width int) (cols []column, reasonW int) {
	cols = []column{
		{title: "NAME", width: 12, sort: sortName, sorts: true},
		{title: "STATE", width: 11, sort: sortState, sorts: true},
		{title: "LOAD", width: 7, right: true, sort: sortLoad, sorts: true},
		{title: "DISK", width: 9},
		{title: "SEEN", width: 4, right: true, sort: sortAge, sorts: true},
	}
	if width >= 100 {
		cols[0].width = 14
		cols[2].title, cols[2].width = "LOAD/CAP", 9
		cols[3].width = 11
		cols = append(cols[:4], append([]column{{title: "MEM", width: 11}}, cols[4:]...)...)
	}
	if width >= 150 { // the reason keeps the room it needs first
		cols[0].width = 20
		cols = append(cols[:3], append([]column{{title: "ARCHES", width: 14}, {title: "CHANNELS", width: 18}}, cols[3:]...)...)
	}
	used := 2 // mark and cursor gutter
	for _, c := range cols {
		used += c.width + 1
	}
	return cols, max(width-used, 8)
}

func (v *hostsView) render(m *Model, width, height int) []string {
	st := m.st
	v.now = m.now() // ages as of this frame, not of the snapshot
	if v.snap == nil {
		return []string{m.waitingLine()}
	}
	listH := height
	if v.detailOpen {
		listH = listPart(height)
	}
	cols, reasonW := hostColumns(width)
	out := []string{headLine(st, cols, v.sortBy, v.desc, "REASON / COMMENT", reasonW)}
	rowsH := listH - 1
	if len(v.rows) == 0 {
		msg := "no hosts"
		if v.hidden > 0 {
			msg = fmt.Sprintf("no hosts match (%d hidden by the filter or ctrl+z; esc clears)", v.hidden)
		}
		out = append(out, st.Dim.Render("  "+msg))
	}
	v.top = scrollTop(v.cursor, v.top, rowsH, len(v.rows))
	for i := v.top; i < len(v.rows) && i < v.top+rowsH; i++ {
		out = append(out, v.row(m, v.rows[i], cols, reasonW, i == v.cursor))
	}
	if v.detailOpen {
		out = padLines(out, listH, width)
		out = append(out, v.detailLines(m, width, height-listH)...)
	}
	return out
}

// scrollTop keeps the cursor inside the window of h rows.
func scrollTop(cursor, top, h, n int) int {
	if cursor < top {
		top = cursor
	}
	if cursor >= top+h {
		top = cursor - h + 1
	}
	return max(min(top, n-h), 0)
}

func (v *hostsView) row(m *Model, h farm.Host, cols []column, reasonW int, selected bool) string {
	st := m.st
	glyph, word, lvl, reason := hostState(h, v.now)
	if reason == "" && h.Comment != "" {
		reason = h.Comment
	}
	var b strings.Builder
	mark := " "
	if v.marks[h.Name] {
		mark = "*"
	}
	cursor := " "
	if selected {
		cursor = ">"
	}
	b.WriteString(cursor + mark)
	for _, c := range cols {
		var s string
		style := lipgloss.NewStyle()
		switch c.title {
		case "NAME":
			s = clean(h.Name)
		case "STATE":
			s, style = glyph+" "+word, st.level(lvl)
		case "LOAD/CAP", "LOAD":
			s = fmt.Sprintf("%.1f/%.1f", h.TaskLoad, h.Capacity)
		case "ARCHES":
			s = clean(strings.Join(h.Arches, ","))
		case "CHANNELS":
			if h.Channels == nil {
				s = "n/a"
			} else {
				s = clean(strings.Join(h.Channels, ","))
			}
		case "DISK":
			if d, ok := fullestDisk(h); ok {
				s = fmt.Sprintf("%s %3.0f%%", meter(d.UsedFraction(), c.width-5), d.UsedFraction()*100)
				style = st.level(usageLevel(d.UsedFraction()))
			} else {
				s, style = "n/a", st.Dim
			}
		case "MEM":
			if h.Health != nil && h.Health.MemTotal > 0 {
				f := 1 - float64(h.Health.MemAvailable)/float64(h.Health.MemTotal)
				s = fmt.Sprintf("%s %3.0f%%", meter(f, 6), f*100)
				style = st.level(usageLevel(f))
			} else {
				s, style = "n/a", st.Dim
			}
		case "SEEN":
			s = since(v.now, h.Update)
		}
		b.WriteString(c.fit(s, style, selected) + " ")
	}
	b.WriteString(cell(clean(reason), reasonW))
	line := b.String()
	switch {
	case selected:
		return st.Cursor.Render(line)
	case v.marks[h.Name]:
		return st.Marked.Render(line)
	}
	return line
}

func usageLevel(f float64) level {
	switch {
	case f >= 0.9:
		return lvlBad
	case f >= 0.75:
		return lvlWarn
	}
	return lvlOK
}

// detailLines draws the selected host's detail pane.
func (v *hostsView) detailLines(m *Model, width, height int) []string {
	st := m.st
	h, ok := v.selected()
	if !ok {
		return nil
	}
	glyph, word, lvl, reason := hostState(h, v.now)
	en := "enabled"
	if !h.Enabled {
		en = "disabled"
	}
	out := []string{st.Section.Render(clean(h.Name)) + "  " + st.level(lvl).Render(glyph+" "+word) + "  " + en +
		fmt.Sprintf("  load %.1f/%.1f", h.TaskLoad, h.Capacity) + "  checked in " + since(v.now, h.Update) + " ago"}
	if reason != "" {
		out = append(out, wrapped("  why: ", clean(reason), width, 3)...)
	}
	info := "  arches " + clean(strings.Join(h.Arches, " "))
	if h.Comment != "" {
		info += " · comment: " + clean(h.Comment)
	}
	if h.Description != "" {
		info += " · " + clean(h.Description)
	}
	out = append(out, info)
	d := v.detail
	switch {
	case v.detailErr != nil:
		out = append(out, st.Error.Render("  could not read details: "+clean(v.detailErr.Error())))
	case d == nil:
		out = append(out, st.Dim.Render("  reading details…"))
	default:
		var chans []string
		for _, c := range d.Channels {
			n := c.Name
			if !c.Enabled {
				n = "*" + n + " (disabled)"
			}
			chans = append(chans, n)
		}
		out = append(out, "  channels: "+clean(strings.Join(chans, ", ")))
	}
	if hh := h.Health; hh != nil {
		for _, dk := range hh.Disks {
			line := fmt.Sprintf("  disk %-8s %s %3.0f%%  %s free of %s  %s", clean(dk.Role), meter(dk.UsedFraction(), 10),
				dk.UsedFraction()*100, bytesIEC(dk.Free), bytesIEC(dk.Total), clean(dk.Path))
			if dk.Err != "" {
				line += "  error: " + clean(dk.Err)
			}
			out = append(out, st.level(usageLevel(dk.UsedFraction())).Render(line))
			if d != nil {
				out = append(out, "    "+diskTrend(dk, d.History, v.now))
			}
		}
		if hh.MemTotal > 0 {
			f := 1 - float64(hh.MemAvailable)/float64(hh.MemTotal)
			out = append(out, fmt.Sprintf("  mem  %s %3.0f%% used, %s available of %s", meter(f, 10), f*100, bytesIEC(hh.MemAvailable), bytesIEC(hh.MemTotal)))
		}
		misc := fmt.Sprintf("  jobs %d/%d", hh.Jobs, hh.MaxJobs)
		if hh.HasLoad {
			misc += fmt.Sprintf(" · load1 %.2f on %d CPUs", hh.Load1, hh.CPUs)
		}
		if !hh.CertNotAfter.IsZero() {
			misc += " · certificate " + expiryWords(hh.CertNotAfter, v.now)
		}
		if hh.Version != "" {
			misc += " · kojid " + clean(hh.Version)
		}
		if len(hh.MissingTools) > 0 {
			misc += " · not installed: " + clean(strings.Join(hh.MissingTools, ", "))
		}
		out = append(out, misc)
	} else {
		out = append(out, st.Dim.Render("  health: unavailable (this hub has no kojigo.listHostHealth, or the host never reported)"))
	}
	if d != nil {
		if len(d.History) > 1 {
			out = append(out, historyChart(d.History, width-4, st))
		} else if _, missing := d.Missing["kojigo.getHostHealthHistory"]; missing {
			out = append(out, st.Dim.Render("  history: unavailable on this hub"))
		}
		for _, t := range d.Tasks {
			out = append(out, fmt.Sprintf("  running: %d %s %s %s (%s)", t.ID, t.Method, clean(t.Label), t.Arch, since(v.now, t.Started)))
		}
		for i, r := range d.Refusals {
			if i == 3 {
				break
			}
			kind := "refused"
			if r.Soft {
				kind = "soft refusal"
			}
			out = append(out, fmt.Sprintf("  %s of task %d %s ago: %s", kind, r.TaskID, since(v.now, r.At), clean(r.Msg)))
		}
		for i, lm := range d.Messages {
			if i == 3 {
				break
			}
			msg := clean(lm.Msg)
			if lm.TaskID != 0 {
				msg = fmt.Sprintf("task %d: %s", lm.TaskID, msg)
			}
			out = append(out, fmt.Sprintf("  scheduler %s ago: %s", since(v.now, lm.At), msg))
		}
	}
	sep := st.Dim.Render(strings.Repeat("─", width))
	out = append([]string{sep}, out...)
	if len(out) > height {
		out = out[:height]
	}
	return out
}

// expiryWords says when a certificate expires: "expires 2027-01-02 (in 26 days)".
func expiryWords(t, now time.Time) string {
	d := t.Sub(now)
	if d < 0 {
		return fmt.Sprintf("EXPIRED %s (%s ago)", t.UTC().Format("2006-01-02"), durationWords(-d))
	}
	return fmt.Sprintf("expires %s (in %s)", t.UTC().Format("2006-01-02"), durationWords(d))
}
