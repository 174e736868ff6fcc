package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"kojigo/tui/farm"
)

// viewID names the console's views.
type viewID int

const (
	viewHosts viewID = iota
	viewTasks
	viewLogs
	viewCerts
)

var viewNames = map[viewID]string{viewHosts: "hosts", viewTasks: "tasks", viewLogs: "logs", viewCerts: "certs"}

// MinWidth and MinHeight are the smallest terminal kojitop draws in.
const (
	MinWidth  = 80
	MinHeight = 24
)

// Config is what the root model is made from.
type Config struct {
	Hub      *farm.Hub // nil: no I/O (tests feed messages)
	Me       farm.Me
	Server   string
	ReadOnly bool
	Refresh  time.Duration // zero: 5 s
	NoColor  bool
	Mouse    bool
	// OwnCert is the operator's certificate file, for the certificates view.
	OwnCert string
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Context ends the hub calls when kojitop stops; nil: Background.
	Context context.Context
}

// Model is kojitop's root model: it owns the snapshot and routes keys to
// the current view, the prompt, a dialog or the help screen.
type Model struct {
	hub     *farm.Hub
	base    context.Context
	now     func() time.Time
	st      Styles
	keys    keyMap
	perms   permissions
	me      farm.Me
	server  string
	ro      bool
	refresh time.Duration
	mouse   bool
	ownCert certInfo

	width, height int

	snap        *farm.Snapshot
	lastOK      time.Time
	lastErr     error
	errSince    time.Time
	failures    int
	fetching    bool
	fetchStart  time.Time
	refetch     bool // a change arrived during a fetch: fetch again after it
	gen         int
	lastTook    time.Duration
	watchToken  string
	watchOff    bool // the hub has no waitChanges: poll only
	watchFailed int

	view     viewID
	lastView viewID
	hosts    hostsView
	tasks    tasksView
	logs     logsView
	certs    certsView

	dialog   *dialog
	prompt   *prompt
	showHelp bool
	helpTop  int // first line of the help shown
	helpLen  int // lines of help, for scrolling

	flash    string
	flashBad bool
	flashAt  time.Time

	batch bool // drawing one frame for --batch
}

// New returns the root model.
func New(c Config) *Model {
	m := &Model{
		hub: c.Hub, base: c.Context, now: c.Now, st: NewStyles(c.NoColor), keys: newKeyMap(),
		me: c.Me, server: c.Server, ro: c.ReadOnly, refresh: c.Refresh, mouse: c.Mouse,
	}
	if m.base == nil {
		m.base = context.Background()
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.refresh <= 0 {
		m.refresh = 5 * time.Second
	}
	m.refresh = max(m.refresh, time.Second)
	if !c.ReadOnly && !c.Me.Anonymous && c.Me.Name != "" {
		m.perms = permissions{hosts: c.Me.HostPerm || c.Me.Admin, tasks: true, admin: c.Me.Admin}
	}
	m.keys.restrict(m.perms)
	m.hosts = newHostsView()
	m.tasks = newTasksView()
	m.logs = newLogsView(c.NoColor)
	m.certs = certsView{}
	if c.OwnCert != "" {
		m.ownCert = readCert(c.OwnCert)
	}
	if c.Hub == nil || !c.Hub.HasMethod("kojigo.waitChanges") {
		m.watchOff = true
	}
	return m
}

// Init starts the first refresh, the refresh timer, the clock and the
// change long-poll.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.startFetch(), m.tickCmd(m.refresh), clockCmd()}
	if !m.watchOff {
		cmds = append(cmds, m.watchCmd())
	}
	return tea.Batch(cmds...)
}

func (m *Model) startFetch() tea.Cmd {
	if m.fetching {
		m.refetch = true
		return nil
	}
	cmd := m.fetchCmd()
	if cmd == nil {
		return nil
	}
	m.fetching, m.fetchStart = true, m.now()
	return cmd
}

// nextPoll is the refresh interval, backing off while the hub fails.
func (m *Model) nextPoll() time.Duration {
	d := m.refresh
	for i := 0; i < m.failures && d < time.Minute; i++ {
		d *= 2
	}
	return min(d, max(time.Minute, m.refresh))
}

// Update applies one message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.logs.resize(m.bodyWidth(), m.bodyHeight())
		return m, nil
	case SnapshotMsg:
		return m, m.onSnapshot(msg)
	case tickMsg:
		if msg.gen != m.gen {
			return m, nil
		}
		m.gen++
		return m, tea.Batch(m.startFetch(), m.tickCmd(m.nextPoll()))
	case clockMsg:
		var cmd tea.Cmd
		if m.view == viewLogs {
			cmd = m.logs.poll(m)
		}
		return m, tea.Batch(clockCmd(), cmd)
	case changesMsg:
		return m, m.onChanges(msg)
	case watchRetryMsg:
		return m, m.watchCmd()
	case hostDetailMsg:
		m.hosts.onDetail(msg)
		return m, nil
	case taskDetailMsg:
		m.tasks.onDetail(msg)
		return m, m.progressTickCmd()
	case progressTickMsg:
		m.tasks.progressPending = false
		if t, ok := m.tasks.watchingProgress(); ok && t.ID == msg.id && m.view == viewTasks && !m.showHelp {
			return m, m.taskDetailCmd(t)
		}
		return m, nil
	case actionMsg:
		m.onAction(msg)
		return m, m.startFetch()
	case logMsg, logListMsg, failedLogMsg:
		return m, m.logs.onMsg(m, msg)
	case logFilesMsg:
		if msg.taskID == m.logs.taskID {
			m.logs.files = logFiles(msg.files)
		}
		return m, nil
	case tea.KeyPressMsg:
		return m, m.onKey(msg)
	case tea.MouseWheelMsg:
		if !m.mouse {
			return m, nil
		}
		return m, m.onWheel(msg)
	case tea.MouseClickMsg:
		if !m.mouse {
			return m, nil
		}
		return m, m.onClick(msg)
	}
	if m.view == viewLogs {
		return m, m.logs.forward(msg)
	}
	return m, nil
}

func (m *Model) onSnapshot(msg SnapshotMsg) tea.Cmd {
	m.fetching = false
	m.lastTook = msg.Took
	var cmds []tea.Cmd
	if msg.Err != nil {
		if m.lastErr == nil {
			m.errSince = m.now()
		}
		m.lastErr = msg.Err
		m.failures++
	} else {
		m.snap, m.lastErr, m.failures = msg.Snap, nil, 0
		m.lastOK = m.now()
		m.hosts.setSnapshot(m.snap, m.now())
		m.tasks.setSnapshot(m.snap)
		if m.hosts.detailOpen {
			if h, ok := m.hosts.selected(); ok {
				cmds = append(cmds, m.hostDetailCmd(h))
			}
		}
		if m.tasks.detailOpen {
			if t, ok := m.tasks.selected(); ok {
				cmds = append(cmds, m.taskDetailCmd(t))
			}
		}
	}
	if m.refetch {
		m.refetch = false
		cmds = append(cmds, m.startFetch())
	}
	return tea.Batch(cmds...)
}

func (m *Model) onChanges(msg changesMsg) tea.Cmd {
	switch {
	case !msg.ok:
		m.watchOff = true
		return nil
	case msg.err != nil:
		m.watchFailed++
		d := time.Duration(min(m.watchFailed, 6)) * 5 * time.Second
		return tea.Tick(d, func(time.Time) tea.Msg { return watchRetryMsg{} })
	}
	m.watchFailed = 0
	first := m.watchToken == ""
	m.watchToken = msg.token
	var cmds []tea.Cmd
	if len(msg.changed) > 0 && !first {
		cmds = append(cmds, m.startFetch())
	}
	cmds = append(cmds, m.watchCmd())
	return tea.Batch(cmds...)
}

func (m *Model) onAction(msg actionMsg) {
	m.flashAt = m.now()
	if len(msg.errs) == 0 {
		m.flash, m.flashBad = msg.ok, false
		return
	}
	m.flash, m.flashBad = msg.what+": "+strings.Join(msg.errs, "; "), true
}

func (m *Model) setFlash(s string, bad bool) {
	m.flash, m.flashBad, m.flashAt = s, bad, m.now()
}

// switchTo changes the current view.
func (m *Model) switchTo(v viewID) tea.Cmd {
	if v != m.view {
		m.lastView = m.view
	}
	m.view = v
	if v == viewLogs {
		return m.logs.poll(m)
	}
	return nil
}

func (m *Model) onKey(k tea.KeyPressMsg) tea.Cmd {
	if m.dialog != nil {
		return m.dialog.update(m, k)
	}
	if m.prompt != nil {
		return m.prompt.update(m, k)
	}
	if m.showHelp {
		if key.Matches(k, m.keys.Help, m.keys.Back, m.keys.Quit) {
			m.showHelp, m.helpTop = false, 0
			return nil
		}
		moveCursor(m.keys, k, &m.helpTop, m.helpLen, m.bodyHeight()-1)
		return nil
	}
	if m.view == viewLogs && m.logs.capturing() {
		return m.logs.forward(k)
	}
	ks := m.keys
	switch {
	case k.String() == "ctrl+c":
		return tea.Quit
	case key.Matches(k, ks.Quit):
		return tea.Quit
	case key.Matches(k, ks.Help):
		m.showHelp = true
		return nil
	case key.Matches(k, ks.Hosts):
		return m.switchTo(viewHosts)
	case key.Matches(k, ks.Tasks):
		return m.switchTo(viewTasks)
	case key.Matches(k, ks.Logs):
		return m.switchTo(viewLogs)
	case key.Matches(k, ks.Certs):
		return m.switchTo(viewCerts)
	case key.Matches(k, ks.Command):
		m.prompt = newPrompt(promptCommand, "", m.commandNames())
		return nil
	case key.Matches(k, ks.Filter):
		if m.view == viewLogs {
			return m.logs.forward(k)
		}
		m.prompt = newPrompt(promptFilter, m.currentFilter(), nil)
		return nil
	case key.Matches(k, ks.Refresh):
		m.setFlash("refreshing", false)
		return m.startFetch()
	case key.Matches(k, ks.FailedLog):
		return m.openFailedLog()
	}
	switch m.view {
	case viewHosts:
		return m.hostsKey(k)
	case viewTasks:
		return m.tasksKey(k)
	case viewLogs:
		if key.Matches(k, ks.Back) {
			return m.switchTo(m.lastView)
		}
		return m.logs.forward(k)
	case viewCerts:
		return m.certs.key(m, k)
	}
	return nil
}

func (m *Model) currentFilter() string {
	switch m.view {
	case viewHosts:
		return m.hosts.filter
	case viewTasks:
		return m.tasks.filter
	}
	return ""
}

func (m *Model) setFilter(f string) {
	switch m.view {
	case viewHosts:
		m.hosts.setFilter(f)
	case viewTasks:
		m.tasks.setFilter(f)
	}
}

func (m *Model) onWheel(msg tea.MouseWheelMsg) tea.Cmd {
	down := msg.Mouse().Button == tea.MouseWheelDown
	k := tea.KeyPressMsg{Code: tea.KeyUp}
	if down {
		k = tea.KeyPressMsg{Code: tea.KeyDown}
	}
	return m.onKey(k)
}

func (m *Model) onClick(msg tea.MouseClickMsg) tea.Cmd {
	mo := msg.Mouse()
	row := mo.Y - chromeTop - 1 // below the column headings
	switch m.view {
	case viewHosts:
		m.hosts.clickRow(row)
	case viewTasks:
		m.tasks.clickRow(row)
	}
	return nil
}

// Layout: two header lines and the key hints above the body, one status
// line below it.
const (
	chromeTop    = 3
	chromeBottom = 1
)

func (m *Model) bodyHeight() int { return max(m.height-chromeTop-chromeBottom, 1) }
func (m *Model) bodyWidth() int  { return max(m.width, 1) }

// View draws the screen.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	if m.mouse {
		v.MouseMode = tea.MouseModeCellMotion
	}
	v.WindowTitle = "kojitop " + m.server
	return v
}

// render draws the screen as text: exactly height lines of width cells.
func (m *Model) render() string {
	if m.width == 0 || m.height == 0 {
		return "kojitop: starting…"
	}
	if m.width < MinWidth || m.height < MinHeight {
		msg := fmt.Sprintf("terminal too small: kojitop needs %dx%d, this one is %dx%d", MinWidth, MinHeight, m.width, m.height)
		lines := strings.Split(ansi.Wrap(msg, m.width, ""), "\n")
		return strings.Join(padLines(lines, m.height, m.width), "\n")
	}
	lines := make([]string, 0, m.height)
	lines = append(lines, m.headerLines()...)
	lines = append(lines, m.hintLine())
	var body []string
	switch {
	case m.showHelp:
		body = m.helpLines(m.bodyHeight())
	default:
		switch m.view {
		case viewHosts:
			body = m.hosts.render(m, m.bodyWidth(), m.bodyHeight())
		case viewTasks:
			body = m.tasks.render(m, m.bodyWidth(), m.bodyHeight())
		case viewLogs:
			body = m.logs.render(m, m.bodyWidth(), m.bodyHeight())
		case viewCerts:
			body = m.certs.render(m, m.bodyWidth(), m.bodyHeight())
		}
	}
	body = padLines(body, m.bodyHeight(), m.width)
	if m.dialog != nil {
		body = overlay(body, m.dialog.render(m), m.width)
	}
	lines = append(lines, body...)
	lines = append(lines, m.statusLine())
	for i := range lines {
		lines[i] = cell(lines[i], m.width)
	}
	return strings.Join(lines, "\n")
}

// padLines makes exactly h lines.
func padLines(ls []string, h, w int) []string {
	if len(ls) > h {
		return ls[:h]
	}
	for len(ls) < h {
		ls = append(ls, "")
	}
	return ls
}

// overlay draws box centred over lines.
func overlay(lines, box []string, width int) []string {
	if len(box) == 0 {
		return lines
	}
	top := max((len(lines)-len(box))/2, 0)
	bw := 0
	for _, b := range box {
		bw = max(bw, ansi.StringWidth(b))
	}
	left := max((width-bw)/2, 0)
	out := append([]string(nil), lines...)
	for i, b := range box {
		if top+i >= len(out) {
			break
		}
		base := cell(out[top+i], width)
		prefix := ansi.Truncate(base, left, "")
		suffix := ansi.TruncateLeft(base, left+bw, "")
		out[top+i] = prefix + cell(b, bw) + suffix
	}
	return out
}
