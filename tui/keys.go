package tui

import "charm.land/bubbles/v2/key"

// keyMap is every key kojitop answers, by scope. The help screen and the
// hint line are generated from it, and actions the session may not take
// are disabled here (so gone from help and hints), never greyed out.
type keyMap struct {
	// global
	Hosts, Tasks, Logs, Certs   key.Binding
	Command, Filter, Help, Quit key.Binding
	Refresh, Back, FailedLog    key.Binding

	// lists
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Detail, Mark, ClearMarks, Problems      key.Binding
	SortName, SortState, SortLoad, SortAge  key.Binding

	// hosts (actions)
	Enable, Disable, EditHost key.Binding

	// tasks
	Tree, OpenLog                  key.Binding
	CancelTask, FreeTask, Resubmit key.Binding
}

func newKeyMap() keyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return keyMap{
		Hosts:     b("1", "hosts", "1"),
		Tasks:     b("2", "tasks", "2"),
		Logs:      b("3", "logs", "3"),
		Certs:     b("4", "certs", "4"),
		Command:   b(":", "command", ":"),
		Filter:    b("/", "filter", "/"),
		Help:      b("?", "help", "?"),
		Quit:      b("q", "quit", "q", "ctrl+c"),
		Refresh:   b("ctrl+r", "refresh now", "ctrl+r"),
		Back:      b("esc", "back", "esc"),
		FailedLog: b("F", "last failed build's error", "F"),

		Up:         b("↑/k", "up", "up", "k"),
		Down:       b("↓/j", "down", "down", "j"),
		PageUp:     b("pgup", "page up", "pgup", "ctrl+b", "ctrl+u"),
		PageDown:   b("pgdn", "page down", "pgdown", "ctrl+f", "ctrl+d"),
		Top:        b("g", "top", "g", "home"),
		Bottom:     b("G", "bottom", "G", "end"),
		Detail:     b("enter", "details", "enter"),
		Mark:       b("space", "mark", "space"),
		ClearMarks: b("ctrl+\\", "clear marks", "ctrl+\\"),
		Problems:   b("ctrl+z", "problems only", "ctrl+z"),
		SortName:   b("N", "sort by name", "N"),
		SortState:  b("S", "sort by state", "S"),
		SortLoad:   b("L", "sort by load", "L"),
		SortAge:    b("U", "sort by age", "U"),

		Enable:   b("e", "enable host", "e"),
		Disable:  b("x", "disable host", "x"),
		EditHost: b("E", "edit capacity/comment", "E"),

		Tree:       b("T", "tree/flat", "T"),
		OpenLog:    b("l", "logs", "l"),
		CancelTask: b("c", "cancel task", "c"),
		FreeTask:   b("f", "free task", "f"),
		Resubmit:   b("r", "resubmit task", "r"),
	}
}

// restrict disables the actions the session may not take.
func (k *keyMap) restrict(p permissions) {
	k.Enable.SetEnabled(p.hosts)
	k.Disable.SetEnabled(p.hosts)
	k.EditHost.SetEnabled(p.hosts)
	k.CancelTask.SetEnabled(p.tasks)
	k.Resubmit.SetEnabled(p.tasks)
	k.FreeTask.SetEnabled(p.admin)
}

// permissions say which actions the console offers.
type permissions struct {
	hosts bool // enable, disable, edit hosts
	tasks bool // cancel and resubmit (the hub checks ownership per task)
	admin bool // free tasks, act on anybody's task
}

func (k keyMap) globalHelp() []key.Binding {
	return []key.Binding{k.Hosts, k.Tasks, k.Logs, k.Certs, k.FailedLog, k.Command, k.Filter, k.Refresh, k.Back, k.Help, k.Quit}
}

func (k keyMap) listHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Detail, k.Problems}
}

func (k keyMap) hostsHelp() []key.Binding {
	return []key.Binding{k.Enable, k.Disable, k.EditHost, k.Mark, k.ClearMarks, k.SortName, k.SortState, k.SortLoad, k.SortAge}
}

func (k keyMap) tasksHelp() []key.Binding {
	return []key.Binding{k.OpenLog, k.CancelTask, k.FreeTask, k.Resubmit, k.Tree, k.SortName, k.SortState, k.SortAge}
}

// enabled keeps the bindings that are on.
func enabled(bs []key.Binding) []key.Binding {
	out := bs[:0:0]
	for _, b := range bs {
		if b.Enabled() {
			out = append(out, b)
		}
	}
	return out
}
