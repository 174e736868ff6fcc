package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"

	"kojigo/tui/farm"
)

// headerLines are the two lines always on top: who and where, then the
// farm in numbers and how old the data is.
func (m *Model) headerLines() []string {
	st := m.st
	user := "anonymous (read-only)"
	if !m.me.Anonymous && m.me.Name != "" {
		user = "user " + clean(m.me.Name)
	}
	hub := clean(m.server)
	if m.hub != nil && m.hub.Version() != "" {
		kind := "Koji"
		if m.hub.Kojigo() {
			kind = "kojigo"
		}
		hub += fmt.Sprintf(" (%s %s)", kind, clean(m.hub.Version()))
	}
	// what matters most comes first: a narrow terminal cuts the end
	first := st.Title.Render("kojitop")
	if m.ro || m.me.Anonymous {
		first += " " + st.Badge.Render("[RO]")
	}
	first += "  view: " + viewNames[m.view] + "  " + user + "  hub " + hub
	second := m.farmLine()
	return []string{first, second}
}

func (m *Model) farmLine() string {
	st := m.st
	s := m.snap
	if s == nil {
		return m.ageText()
	}
	ready, enabled := 0, 0
	for _, h := range s.Hosts {
		if h.Enabled {
			enabled++
			if h.Ready {
				ready++
			}
		}
	}
	hosts := fmt.Sprintf("hosts %d ready/%d enabled/%d", ready, enabled, len(s.Hosts))
	if ready < enabled {
		hosts = st.Bad.Render(hosts)
	}
	tasks := fmt.Sprintf("tasks %d free %d open", s.Free, s.Open)
	failed := fmt.Sprintf("%d failed in 1h", s.FailedLastHour)
	if s.FailedLastHour > 0 {
		failed = st.Bad.Render(failed)
	}
	return hosts + " · " + tasks + " · " + failed + " · " + m.ageText()
}

// ageText says how old the data on screen is and whether it is being
// refreshed, so a slow or gone hub never looks current.
func (m *Model) ageText() string {
	st := m.st
	now := m.now()
	var s string
	switch {
	case m.lastOK.IsZero() && m.fetching:
		s = "connecting…"
	case m.lastOK.IsZero():
		s = "no data yet"
	default:
		s = "data " + age(now.Sub(m.lastOK)) + " old"
	}
	if m.fetching && !m.lastOK.IsZero() && now.Sub(m.fetchStart) > 2*time.Second {
		s += fmt.Sprintf(", refresh waiting %s", age(now.Sub(m.fetchStart)))
	}
	if m.lastErr != nil {
		return st.Error.Render(s + " (hub unreachable)")
	}
	if !m.lastOK.IsZero() && now.Sub(m.lastOK) > 3*m.refresh {
		return st.Warn.Render(s)
	}
	return st.Dim.Render(s)
}

// hintLine is the current view's main keys, or the open prompt.
func (m *Model) hintLine() string {
	if m.prompt != nil {
		return m.prompt.render(m)
	}
	bs := []key.Binding{m.keys.Help, m.keys.Command}
	switch m.view {
	case viewHosts:
		bs = append(bs, m.keys.Detail, m.keys.Disable, m.keys.Enable, m.keys.Filter, m.keys.Mark)
	case viewTasks:
		bs = append(bs, m.keys.Detail, m.keys.OpenLog, m.keys.Filter, m.keys.CancelTask, m.keys.Resubmit, m.keys.Tree)
	case viewLogs:
		bs = append(bs, m.logs.shortHelp()...)
	case viewCerts:
		bs = append(bs, m.keys.Up, m.keys.Down)
	}
	bs = append(bs, m.keys.FailedLog, m.keys.Quit)
	var parts []string
	for _, b := range enabled(bs) {
		h := b.Help()
		parts = append(parts, m.st.Key.Render(h.Key)+" "+h.Desc)
	}
	tabs := ""
	for _, v := range []viewID{viewHosts, viewTasks, viewLogs, viewCerts} {
		label := fmt.Sprintf("%d %s", int(v)+1, viewNames[v])
		if v == m.view {
			tabs += m.st.SortHead.Render(label) + " "
		} else {
			tabs += m.st.Dim.Render(label) + " "
		}
	}
	return tabs + " " + strings.Join(parts, " · ")
}

// statusLine is the bottom line: the hub's trouble first, then the last
// action's outcome, then what is missing on a stock hub.
func (m *Model) statusLine() string {
	st := m.st
	now := m.now()
	switch {
	case m.lastErr != nil:
		msg := fmt.Sprintf("hub unreachable for %s: %s; retrying in %s", age(now.Sub(m.errSince)), clean(hubWords(m.lastErr)), age(m.nextPoll()))
		if !m.lastOK.IsZero() {
			msg += "; showing data from " + age(now.Sub(m.lastOK)) + " ago"
		}
		return st.Error.Render(msg)
	case m.flash != "" && now.Sub(m.flashAt) < 10*time.Second:
		if m.flashBad {
			return st.Error.Render(m.flash)
		}
		return st.OK.Render(m.flash)
	case m.snap != nil && len(m.snap.Missing) > 0 && m.snap.Missing[farm.PartHealth] != "":
		return st.Dim.Render("stock Koji hub: health, disk and memory, waiting reasons and TLS failures are unavailable (kojigo's extensions are not on this hub)")
	}
	if m.snap != nil && !m.batch {
		live := "live"
		if m.watchOff {
			live = "polling"
		}
		return st.Dim.Render(fmt.Sprintf("refresh every %s (%s) · the last took %s", m.refresh, live, m.lastTook.Round(time.Millisecond)))
	}
	return ""
}

func (m *Model) waitingLine() string {
	if m.lastErr != nil {
		return m.st.Error.Render("  no data: " + clean(hubWords(m.lastErr)))
	}
	return m.st.Dim.Render("  reading the farm from the hub…")
}

// helpLines is the help screen, built from the live keymap: keys the
// session may not use are not listed.
func (m *Model) helpLines(height int) []string {
	st := m.st
	ks := m.keys
	section := func(title string, bs []key.Binding) []string {
		out := []string{st.Section.Render(title)}
		for _, b := range enabled(bs) {
			h := b.Help()
			out = append(out, fmt.Sprintf("  %-12s %s", h.Key, h.Desc))
		}
		return out
	}
	var left, right []string
	left = append(left, section("GENERAL", ks.globalHelp())...)
	left = append(left, section("LISTS", ks.listHelp())...)
	switch m.view {
	case viewTasks:
		right = append(right, section("TASKS", ks.tasksHelp())...)
		right = append(right, "  filter: words, or state= method= owner= host= arch=")
	case viewLogs:
		right = append(right, section("LOGS", m.logs.fullHelp())...)
	default:
		right = append(right, section("HOSTS", ks.hostsHelp())...)
	}
	right = append(right, "", st.Section.Render("COMMANDS (:)"))
	for _, c := range commands {
		right = append(right, fmt.Sprintf("  %-25s %s", c.name+" "+c.args, c.help))
	}
	if m.ro || m.me.Anonymous || !m.perms.hosts {
		right = append(right, "", st.Dim.Render("Actions this session may not take are not listed ([RO] or no permission)."))
	}
	w := max(m.width/2-1, 30)
	var out []string
	for i := 0; i < max(len(left), len(right)); i++ {
		l, r := "", ""
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			r = right[i]
		}
		out = append(out, cell(l, w)+"  "+r)
	}
	m.helpLen = len(out)
	if len(out) <= height-1 {
		return append(out, "", st.Dim.Render("? or esc closes this help"))
	}
	// longer than the screen: it scrolls, and says so
	top := min(m.helpTop, len(out)-(height-1))
	out = out[top : top+height-1]
	return append(out, st.Dim.Render(fmt.Sprintf("lines %d-%d of %d · j/k, pgup/pgdn scroll · ? or esc closes this help", top+1, top+height-1, m.helpLen)))
}
