package tui

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"kojigo/internal/kojiclient"
	"kojigo/tui/farm"
)

func TestGoldenViews(t *testing.T) {
	views := []struct {
		name string
		keys []string
		snap func() *farm.Snapshot
		me   farm.Me
	}{
		{"hosts", nil, fixture, admin},
		{"hosts-detail", []string{"enter"}, fixture, admin},
		{"tasks", []string{"2"}, fixture, admin},
		{"tasks-flat-detail", []string{"2", "T", "j", "enter"}, fixture, admin},
		{"certs", []string{"4"}, fixture, admin},
		{"help", []string{"?"}, fixture, admin},
		{"help-anonymous", []string{"?"}, fixture, farm.Me{Anonymous: true}},
		{"disable-dialog", []string{"j", "x"}, fixture, admin},
		{"stock-hosts", nil, stockFixture, farm.Me{Anonymous: true}},
		{"stock-tasks", []string{"2"}, stockFixture, farm.Me{Anonymous: true}},
	}
	sizes := []struct{ w, h int }{{80, 24}, {160, 48}}
	for _, v := range views {
		for _, sz := range sizes {
			for _, noColor := range []bool{true, false} {
				name := fmt.Sprintf("%s-%dx%d", v.name, sz.w, sz.h)
				if noColor {
					name += "-nocolor"
				}
				t.Run(name, func(t *testing.T) {
					m := newTestModel(t, v.me, noColor, sz.w, sz.h, v.snap())
					press(m, v.keys...)
					got := screen(m)
					checkFrame(t, m.render(), sz.w, sz.h)
					if noColor && hasColour(m.render()) {
						t.Errorf("no-colour frame holds colour escapes:\n%q", m.render())
					}
					golden(t, name, got)
				})
			}
		}
	}
}

var sgrRE = regexp.MustCompile(`\x1b\[([0-9;:]*)m`)

// hasColour reports whether s sets a colour: NO_COLOR keeps bold, faint,
// underline and reverse, but no foreground or background.
func hasColour(s string) bool {
	for _, m := range sgrRE.FindAllStringSubmatch(s, -1) {
		for _, p := range strings.FieldsFunc(m[1], func(r rune) bool { return r == ';' || r == ':' }) {
			n, _ := strconv.Atoi(p)
			if (n >= 30 && n <= 49) || (n >= 90 && n <= 107) {
				return true
			}
		}
	}
	return false
}

// checkFrame asserts a frame is exactly h lines of at most w cells.
func checkFrame(t *testing.T, frame string, w, h int) {
	t.Helper()
	lines := strings.Split(frame, "\n")
	if len(lines) != h {
		t.Errorf("frame has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("line %d is %d cells wide, want at most %d: %q", i, n, w, ansi.Strip(l))
		}
	}
}

func TestTooSmall(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{79, 24}, {80, 23}, {20, 5}, {1, 1}} {
		m := newTestModel(t, admin, true, sz.w, sz.h, fixture())
		got := ansi.Strip(m.render())
		want := fmt.Sprintf("terminal too small: kojitop needs 80x24, this one is %dx%d", sz.w, sz.h)
		if sz.w >= 20 && !strings.Contains(strings.ReplaceAll(got, "\n", " "), want) {
			t.Errorf("%dx%d: frame %q does not say %q", sz.w, sz.h, got, want)
		}
		if n := len(strings.Split(got, "\n")); n != sz.h {
			t.Errorf("%dx%d: %d lines", sz.w, sz.h, n)
		}
		// growing again draws the farm
		m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
		if !strings.Contains(ansi.Strip(m.render()), "builder1") {
			t.Errorf("after a resize to 100x30 the hosts are not drawn")
		}
	}
}

func TestHostsProblemsFirstAndSort(t *testing.T) {
	m := newTestModel(t, admin, true, 100, 30, fixture())
	names := func() []string {
		var out []string
		for _, h := range m.hosts.rows {
			out = append(out, h.Name)
		}
		return out
	}
	if got, want := strings.Join(names(), ","), "builder2,builder1,builder3"; got != want {
		t.Errorf("default order = %s, want %s (not ready first, disabled last)", got, want)
	}
	press(m, "N")
	if got, want := strings.Join(names(), ","), "builder1,builder2,builder3"; got != want {
		t.Errorf("after N: %s, want %s", got, want)
	}
	press(m, "N")
	if got, want := strings.Join(names(), ","), "builder3,builder2,builder1"; got != want {
		t.Errorf("after N N (reverse): %s, want %s", got, want)
	}
	// the cursor stays on the same host across a sort
	press(m, "g", "j")
	sel, _ := m.hosts.selected()
	press(m, "S")
	if now, _ := m.hosts.selected(); now.Name != sel.Name {
		t.Errorf("cursor moved from %s to %s on sort", sel.Name, now.Name)
	}
}

func TestHostsFilterAndProblems(t *testing.T) {
	m := newTestModel(t, admin, true, 100, 30, fixture())
	press(m, "/")
	if m.prompt == nil {
		t.Fatal("/ did not open the filter prompt")
	}
	typeText(m, "minspace")
	if len(m.hosts.rows) != 1 || m.hosts.rows[0].Name != "builder2" {
		t.Errorf("filter minspace: rows %v, want builder2 only", m.hosts.rows)
	}
	press(m, "enter")
	if m.prompt != nil || m.hosts.filter != "minspace" {
		t.Errorf("enter: prompt %v, filter %q", m.prompt, m.hosts.filter)
	}
	press(m, "esc")
	if m.hosts.filter != "" || len(m.hosts.rows) != 3 {
		t.Errorf("esc did not clear the filter: %q, %d rows", m.hosts.filter, len(m.hosts.rows))
	}
	press(m, "ctrl+z")
	if len(m.hosts.rows) != 1 {
		t.Errorf("ctrl+z: %d rows, want the one problem host", len(m.hosts.rows))
	}
}

func TestDisableDialogDefaultsToCancel(t *testing.T) {
	m := newTestModel(t, admin, true, 100, 30, fixture())
	press(m, "x")
	if m.dialog == nil {
		t.Fatal("x did not open the disable dialog")
	}
	if got := m.dialog.title; got != "Disable host builder2?" {
		t.Errorf("title %q", got)
	}
	typeText(m, "disk swap")
	// enter in the comment field moves on to Cancel; enter again cancels
	press(m, "enter")
	if m.dialog.focus != m.dialog.cancelIdx() {
		t.Fatalf("after enter in the comment, focus %d, want Cancel (%d)", m.dialog.focus, m.dialog.cancelIdx())
	}
	cmd := press(m, "enter")
	if m.dialog != nil || cmd != nil {
		t.Errorf("enter on Cancel: dialog %v, cmd %v; want closed and nothing done", m.dialog, cmd)
	}
}

func TestDisableDialogWithoutHub(t *testing.T) {
	m := newTestModel(t, admin, true, 100, 30, fixture())
	press(m, "x")
	typeText(m, "why")
	press(m, "tab", "tab")
	if m.dialog.focus != m.dialog.okIdx() {
		t.Fatalf("focus %d, want the Disable button", m.dialog.focus)
	}
	press(m, "enter")
	if m.dialog == nil || m.dialog.err != "not connected to a hub" {
		t.Errorf("confirm without a hub: dialog %+v", m.dialog)
	}
}

func TestMarkedHostsDialog(t *testing.T) {
	m := newTestModel(t, admin, true, 100, 30, fixture())
	press(m, "space", "space")
	if len(m.hosts.marks) != 2 {
		t.Fatalf("marks %v, want 2", m.hosts.marks)
	}
	press(m, "/")
	typeText(m, "builder1")
	press(m, "enter", "e")
	if m.dialog == nil {
		t.Fatal("e did not open the enable dialog")
	}
	if m.dialog.title != "Enable 2 marked hosts?" || !strings.Contains(strings.Join(m.dialog.lines, "\n"), "1 of them hidden by the filter") {
		t.Errorf("dialog %q %q", m.dialog.title, m.dialog.lines)
	}
	press(m, "esc")
	press(m, "ctrl+\\")
	if len(m.hosts.marks) != 0 {
		t.Errorf("ctrl+\\ left marks %v", m.hosts.marks)
	}
}

func TestReadOnlyHasNoActions(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"readonly", Config{Me: admin, ReadOnly: true}},
		{"anonymous", Config{Me: farm.Me{Anonymous: true}}},
		{"no host permission", Config{Me: farm.Me{Name: "alice", ID: 5}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Now = func() time.Time { return now }
			m := New(c.cfg)
			m.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
			m.Update(SnapshotMsg{Snap: fixture()})
			press(m, "x")
			if m.dialog != nil {
				t.Errorf("x opened a dialog")
			}
			press(m, "e", "E")
			if m.dialog != nil {
				t.Errorf("e/E opened a dialog")
			}
			press(m, "?")
			help := ansi.Strip(m.render())
			for _, word := range []string{"disable host", "enable host", "edit capacity"} {
				if strings.Contains(help, word) {
					t.Errorf("help lists %q", word)
				}
			}
			press(m, "esc")
			hints := ansi.Strip(m.hintLine())
			if strings.Contains(hints, "disable") {
				t.Errorf("hints list disable: %s", hints)
			}
			if c.name != "no host permission" && !strings.Contains(ansi.Strip(m.headerLines()[0]), "[RO]") {
				t.Errorf("header has no [RO]: %s", ansi.Strip(m.headerLines()[0]))
			}
		})
	}
}

func TestTaskActionsFollowOwnership(t *testing.T) {
	alice := farm.Me{Name: "alice", ID: 5}
	m := newTestModel(t, alice, true, 120, 30, fixture())
	press(m, "2", "T") // flat, sorted: failed (bob's) first
	sel, _ := m.tasks.selected()
	if sel.Owner != "bob" || sel.State != farm.Failed {
		t.Fatalf("first task %+v, want bob's failed build", sel)
	}
	press(m, "r")
	if m.dialog != nil {
		t.Errorf("alice may not resubmit bob's task, but a dialog opened")
	}
	press(m, "G") // alice's open task
	sel, _ = m.tasks.selected()
	if sel.Owner != "alice" {
		t.Fatalf("last task %+v", sel)
	}
	press(m, "c")
	if m.dialog == nil || m.dialog.act != actCancel || m.dialog.focus != m.dialog.cancelIdx() {
		t.Fatalf("c on her own open task: dialog %+v, want cancel with Cancel focused", m.dialog)
	}
	press(m, "esc")
	press(m, "f")
	if m.dialog != nil {
		t.Errorf("freeing needs admin")
	}
}

func TestTaskFilterTerms(t *testing.T) {
	m := newTestModel(t, admin, true, 120, 30, fixture())
	for _, c := range []struct {
		filter string
		ids    string
	}{
		{"state=failed", "7,8"},
		{"method=buildarch arch=aarch64", "12"},
		{"owner=bob", "7,8"},
		{"host=builder1 state=open", "11"},
		{"hello", "10,11,12"},
		{"disabled", "12"}, // the waiting reason is searched too
		{"nomatch", ""},
	} {
		m.tasks.setFilter(c.filter)
		var ids []string
		for _, r := range m.tasks.rows {
			ids = append(ids, fmt.Sprint(r.ID))
		}
		got := strings.Join(sortedCopy(ids), ",")
		if got != c.ids {
			t.Errorf("filter %q = %s, want %s", c.filter, got, c.ids)
		}
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if len(out[j]) < len(out[i]) || (len(out[j]) == len(out[i]) && out[j] < out[i]) {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestTreeIndentsChildren(t *testing.T) {
	m := newTestModel(t, admin, true, 120, 30, fixture())
	press(m, "2")
	depth := map[int64]int{}
	for _, r := range m.tasks.rows {
		depth[r.ID] = r.depth
	}
	if depth[11] != 1 || depth[12] != 1 || depth[10] != 0 || depth[8] != 1 {
		t.Errorf("depths %v", depth)
	}
	press(m, "T")
	for _, r := range m.tasks.rows {
		if r.depth != 0 {
			t.Errorf("flat view has depth %d for %d", r.depth, r.ID)
		}
	}
}

func TestHubGoneShowsAgeAndError(t *testing.T) {
	clock := now
	m := New(Config{Me: admin, Server: "https://hub", Now: func() time.Time { return clock }})
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	m.Update(SnapshotMsg{Snap: fixture()})
	clock = clock.Add(40 * time.Second)
	m.Update(SnapshotMsg{Err: &kojiclient.TransportError{Method: "multiCall", Err: errors.New("connection refused")}})
	clock = clock.Add(5 * time.Second)
	frame := ansi.Strip(m.render())
	for _, want := range []string{"builder1", "data 45s old", "hub unreachable", "connection refused", "showing data from 45s ago"} {
		if !strings.Contains(frame, want) {
			t.Errorf("frame lacks %q:\n%s", want, frame)
		}
	}
	if m.nextPoll() != 10*time.Second {
		t.Errorf("next poll after one failure %s, want 10s", m.nextPoll())
	}
	for i := 0; i < 10; i++ {
		m.Update(SnapshotMsg{Err: errors.New("still down")})
	}
	if m.nextPoll() != time.Minute {
		t.Errorf("backoff %s, want capped at 1m", m.nextPoll())
	}
	m.Update(SnapshotMsg{Snap: fixture()})
	if m.lastErr != nil || m.nextPoll() != 5*time.Second {
		t.Errorf("recovery: err %v, next %s", m.lastErr, m.nextPoll())
	}
}

func TestTickGenerations(t *testing.T) {
	m := newTestModel(t, admin, true, 100, 30, fixture())
	gen := m.gen
	if _, cmd := m.Update(tickMsg{gen: gen - 1}); cmd != nil {
		t.Errorf("a stale tick started work")
	}
	if _, cmd := m.Update(tickMsg{gen: gen}); cmd == nil || m.gen != gen+1 {
		t.Errorf("the current tick did not re-arm: cmd %v gen %d", cmd, m.gen)
	}
}

func TestChangesTriggerRefresh(t *testing.T) {
	m := newTestModel(t, admin, true, 100, 30, fixture())
	m.watchOff = false
	// the first answer only gives the token
	m.Update(changesMsg{token: "e:1", changed: []string{"hosts", "tasks"}, ok: true})
	if m.watchToken != "e:1" || m.refetch {
		t.Fatalf("token %q", m.watchToken)
	}
	m.fetching = true // a refresh is running: the change waits for it
	m.Update(changesMsg{token: "e:2", changed: []string{"tasks"}, ok: true})
	if !m.refetch {
		t.Errorf("a change during a refresh did not queue another")
	}
	m.Update(changesMsg{ok: false})
	if !m.watchOff {
		t.Errorf("a hub without waitChanges left watching on")
	}
}

func TestCommands(t *testing.T) {
	m := newTestModel(t, admin, true, 100, 30, fixture())
	run := func(line string) tea.Cmd {
		press(m, ":")
		typeText(m, line)
		return press(m, "enter")
	}
	run("ta state=failed")
	if m.view != viewTasks || m.tasks.filter != "state=failed" {
		t.Errorf(":ta state=failed: view %v filter %q", m.view, m.tasks.filter)
	}
	run("ce")
	if m.view != viewCerts {
		t.Errorf(":ce: view %v", m.view)
	}
	run("nosuch")
	if !strings.Contains(m.flash, `no command "nosuch"`) || !m.flashBad {
		t.Errorf("flash %q", m.flash)
	}
	run("log abc")
	if !strings.Contains(m.flash, "want a task number") {
		t.Errorf("flash %q", m.flash)
	}
	run("sort bogus")
	if !strings.Contains(m.flash, "want name, state, load or age") {
		t.Errorf("flash %q", m.flash)
	}
	if cmd := run("quit"); cmd == nil {
		t.Errorf(":quit returned no command")
	} else if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Errorf(":quit did not quit")
	}
	// tab completes a command
	press(m, ":")
	typeText(m, "hos")
	press(m, "tab")
	if got := m.prompt.input.Value(); got != "hosts" {
		t.Errorf("tab completed %q, want hosts", got)
	}
}

func TestHostileTextIsCleaned(t *testing.T) {
	s := fixture()
	s.Hosts[0].Comment = "\x1b]52;c;ZXZpbA==\x07\x1b[2Jowned"
	s.Hosts[0].Name = "b\x1b[31mad"
	m := newTestModel(t, admin, true, 160, 48, s)
	m.hosts.sortBy = sortName
	m.hosts.recompute()
	frame := m.render()
	if strings.Contains(frame, "]52;") && strings.Contains(frame, "\x1b]52") {
		t.Errorf("an OSC 52 sequence from the hub reached the screen")
	}
	if strings.Contains(frame, "\x1b[2J") || strings.Contains(frame, "\x1b[31m") {
		t.Errorf("escape sequences from the hub reached the screen: %q", frame)
	}
}

func TestTrendWords(t *testing.T) {
	d := farm.Disk{Role: "workdir", Path: "/var/lib/kojid", Free: 6 * gib, Total: 40 * gib}
	var hist []farm.HealthSample
	for i := 0; i <= 60; i += 10 { // 12 GiB to 6 GiB in an hour: 6 GiB/h
		free := 12*gib - int64(i)*gib/10
		hist = append(hist, farm.HealthSample{At: now.Add(time.Duration(i-60) * time.Minute), Disks: []farm.Disk{{Path: d.Path, Free: free, Total: d.Total}}})
	}
	got := diskTrend(d, hist, now)
	if want := "workdir /var/lib/kojid full in ~1 h at the last hour's rate (6.0 GiB/h)"; got != want {
		t.Errorf("diskTrend = %q, want %q", got, want)
	}
	if got := diskTrend(d, hist[:1], now); !strings.Contains(got, "not enough history") {
		t.Errorf("one sample: %q", got)
	}
	flat := []farm.HealthSample{{At: now.Add(-30 * time.Minute), Disks: []farm.Disk{{Path: d.Path, Free: 6 * gib}}}, {At: now, Disks: []farm.Disk{{Path: d.Path, Free: 7 * gib}}}}
	if got := diskTrend(d, flat, now); !strings.Contains(got, "steady or freeing") {
		t.Errorf("freeing: %q", got)
	}
}

func TestMouseOffByDefault(t *testing.T) {
	m := newTestModel(t, admin, true, 100, 30, fixture())
	if v := m.View(); v.MouseMode != tea.MouseModeNone {
		t.Errorf("mouse mode %v without --mouse", v.MouseMode)
	}
	before := m.hosts.cursor
	m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	if m.hosts.cursor != before {
		t.Errorf("the wheel moved the cursor with the mouse off")
	}
	m.mouse = true
	m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	if m.hosts.cursor != before+1 {
		t.Errorf("the wheel did not move the cursor with --mouse")
	}
}

func TestSlowHubShowsTheWait(t *testing.T) {
	clock := now
	m := New(Config{Me: admin, Server: "https://hub", Now: func() time.Time { return clock }})
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	m.Update(SnapshotMsg{Snap: fixture()})
	// a refresh that has not come back after 12 s
	m.fetching, m.fetchStart = true, clock
	clock = clock.Add(12 * time.Second)
	header := ansi.Strip(m.headerLines()[1])
	if !strings.Contains(header, "data 12s old, refresh waiting 12s") {
		t.Errorf("header %q does not say the refresh is waiting", header)
	}
	if !strings.Contains(ansi.Strip(m.render()), "builder1") {
		t.Errorf("the last data is not on screen while the hub is slow")
	}
	// a second tick while the first refresh runs does not start another
	if cmd := m.startFetch(); cmd != nil || !m.refetch {
		t.Errorf("startFetch during a refresh: cmd %v, refetch %v", cmd, m.refetch)
	}
}

func TestHelpScrollsWhenTaller(t *testing.T) {
	m := newTestModel(t, admin, true, 80, 24, fixture())
	press(m, "?")
	first := ansi.Strip(m.render())
	if !strings.Contains(first, "j/k, pgup/pgdn scroll") || strings.Contains(first, "problems only") {
		t.Fatalf("80x24 help does not say it scrolls, or shows everything:\n%s", first)
	}
	press(m, "G")
	last := ansi.Strip(m.render())
	for _, want := range []string{"problems only", "lines 4-22 of 22"} {
		if !strings.Contains(last, want) {
			t.Errorf("the end of the help lacks %q:\n%s", want, last)
		}
	}
	press(m, "esc")
	if m.showHelp || m.helpTop != 0 {
		t.Errorf("esc left help open or scrolled")
	}
	big := newTestModel(t, admin, true, 160, 48, fixture())
	press(big, "?")
	if s := ansi.Strip(big.render()); !strings.Contains(s, "? or esc closes this help") || strings.Contains(s, "scroll") {
		t.Errorf("160x48 help should fit without scrolling:\n%s", s)
	}
}
