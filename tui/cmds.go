package tui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"kojigo/tui/farm"
)

// Messages: everything the hub says reaches Update as one of these, made by
// the commands below, which are the only places kojitop does I/O.
type (
	SnapshotMsg struct {
		Snap *farm.Snapshot
		Err  error
		Took time.Duration
	}
	// tickMsg asks for a refresh; gen tells a stale timer from the current.
	tickMsg struct{ gen int }
	// clockMsg redraws the data's age once a second.
	clockMsg   struct{}
	changesMsg struct {
		token   string
		changed []string
		ok      bool
		err     error
	}
	watchRetryMsg struct{}
	hostDetailMsg struct {
		id     int64
		detail *farm.HostDetail
		err    error
	}
	taskDetailMsg struct {
		id     int64
		detail *farm.TaskDetail
		err    error
	}
	// progressTickMsg asks for the detail of task id again, while it is a
	// running repo task whose progress the pane shows.
	progressTickMsg struct{ id int64 }
	// actionMsg is the outcome of an action: ok text, or errors per target.
	actionMsg struct {
		what string
		ok   string
		errs []string
	}
)

// callTimeout bounds one refresh or action, so a hub that hangs shows as
// a status line instead of a spinner forever.
const callTimeout = 20 * time.Second

func (m *Model) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(m.base, callTimeout)
}

func (m *Model) fetchCmd() tea.Cmd {
	hub := m.hub
	if hub == nil {
		return nil
	}
	ctx, cancel := m.ctx()
	return func() tea.Msg {
		defer cancel()
		start := time.Now()
		s, err := hub.Fetch(ctx)
		return SnapshotMsg{Snap: s, Err: err, Took: time.Since(start)}
	}
}

func (m *Model) tickCmd(d time.Duration) tea.Cmd {
	gen := m.gen
	return tea.Tick(d, func(time.Time) tea.Msg { return tickMsg{gen: gen} })
}

func clockCmd() tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return clockMsg{} })
}

// watchTimeout is how long one long-poll waits on the hub.
const watchTimeout = 25

func (m *Model) watchCmd() tea.Cmd {
	hub, token := m.hub, m.watchToken
	if hub == nil {
		return nil
	}
	base := m.base
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, (watchTimeout+15)*time.Second)
		defer cancel()
		next, changed, ok, err := hub.WaitChanges(ctx, token, watchTimeout)
		return changesMsg{token: next, changed: changed, ok: ok, err: err}
	}
}

func (m *Model) hostDetailCmd(h farm.Host) tea.Cmd {
	hub := m.hub
	if hub == nil {
		return nil
	}
	names := m.hostNames()
	ctx, cancel := m.ctx()
	return func() tea.Msg {
		defer cancel()
		d, err := hub.HostDetail(ctx, h, names)
		return hostDetailMsg{id: h.ID, detail: d, err: err}
	}
}

// taskDetailCmd reads the detail of t, the task as the list shows it.
func (m *Model) taskDetailCmd(t farm.Task) tea.Cmd {
	hub := m.hub
	if hub == nil {
		return nil
	}
	names := m.hostNames()
	ctx, cancel := m.ctx()
	return func() tea.Msg {
		defer cancel()
		d, err := hub.TaskDetail(ctx, t, names)
		return taskDetailMsg{id: t.ID, detail: d, err: err}
	}
}

// progressEvery is how often the open detail pane of a running repo task
// is read again, so its numbers move between refreshes (builders report
// at most once a second, and the hub's change feed does not carry it).
const progressEvery = 2 * time.Second

// progressTickCmd arms the detail pane's progress refresh, once: it does
// nothing while a tick is pending, when the tasks view is not shown, or
// when its pane shows no running repo task.
func (m *Model) progressTickCmd() tea.Cmd {
	v := &m.tasks
	t, ok := v.watchingProgress()
	if !ok || v.progressPending || m.hub == nil || m.view != viewTasks {
		return nil
	}
	v.progressPending = true
	id := t.ID
	return tea.Tick(progressEvery, func(time.Time) tea.Msg { return progressTickMsg{id: id} })
}

func (m *Model) hostNames() map[int64]string {
	out := map[int64]string{}
	if m.snap != nil {
		for _, h := range m.snap.Hosts {
			out[h.ID] = h.Name
		}
	}
	return out
}
