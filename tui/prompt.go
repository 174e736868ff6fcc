package tui

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
)

// promptKind is what the prompt line is for.
type promptKind int

const (
	promptCommand promptKind = iota // ":hosts", ":log 42"
	promptFilter                    // "/builder state=failed"
)

// prompt is the line under the header where ":" commands and "/" filters
// are typed; Tab completes a command.
type prompt struct {
	kind  promptKind
	input textinput.Model
	names []string
	hint  string
}

func newPrompt(kind promptKind, value string, names []string) *prompt {
	in := newInput("", value, 200)
	in.SetWidth(60)
	if kind == promptCommand {
		in.ShowSuggestions = true
		in.SetSuggestions(names)
	}
	in.CursorEnd()
	in.Focus()
	return &prompt{kind: kind, input: in, names: names}
}

// commands are the ":" commands, with what each does.
var commands = []struct{ name, args, help string }{
	{"hosts", "", "the hosts view"},
	{"tasks", "[filter]", "the tasks view, optionally filtered (state=free method=buildArch ...)"},
	{"logs", "", "the log view"},
	{"log", "TASK [FILE]", "follow a task's log (default build.log)"},
	{"failed", "", "the last failed build's log at its first error"},
	{"certs", "", "certificates and refused logins"},
	{"refresh", "", "refresh now"},
	{"sort", "name|state|load|age", "sort the list"},
	{"help", "", "keys and commands"},
	{"quit", "", "leave kojitop"},
}

func (m *Model) commandNames() []string {
	var out []string
	for _, c := range commands {
		out = append(out, c.name)
	}
	sort.Strings(out)
	return out
}

func (p *prompt) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "esc", "ctrl+c":
		m.prompt = nil
		return nil
	case "enter":
		text := strings.TrimSpace(p.input.Value())
		m.prompt = nil
		if p.kind == promptFilter {
			m.setFilter(text)
			return nil
		}
		return m.runCommand(text)
	}
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(k)
	if p.kind == promptFilter {
		m.setFilter(p.input.Value()) // filter as you type
	}
	return cmd
}

// runCommand runs one ":" command line.
func (m *Model) runCommand(line string) tea.Cmd {
	f := strings.Fields(line)
	if len(f) == 0 {
		return nil
	}
	name, args := f[0], f[1:]
	// a unique prefix is enough, as in k9s
	var match []string
	for _, c := range commands {
		if c.name == name {
			match = []string{name}
			break
		}
		if strings.HasPrefix(c.name, name) {
			match = append(match, c.name)
		}
	}
	switch {
	case name == "q" || name == "q!":
		return tea.Quit
	case len(match) == 0:
		m.setFlash(fmt.Sprintf("no command %q; type : and tab for the list, or ? for help", clean(name)), true)
		return nil
	case len(match) > 1:
		m.setFlash(fmt.Sprintf("%q could be %s", clean(name), strings.Join(match, ", ")), true)
		return nil
	}
	switch match[0] {
	case "hosts":
		return m.switchTo(viewHosts)
	case "tasks":
		if len(args) > 0 {
			m.tasks.setFilter(strings.Join(args, " "))
		}
		return m.switchTo(viewTasks)
	case "logs":
		return m.switchTo(viewLogs)
	case "log":
		if len(args) == 0 {
			m.setFlash("usage: :log TASK [FILE], e.g. :log 42 build.log", true)
			return nil
		}
		id, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil || id <= 0 {
			m.setFlash(fmt.Sprintf(":log %s: want a task number", clean(args[0])), true)
			return nil
		}
		file := ""
		if len(args) > 1 {
			file = args[1]
		}
		return m.openTaskLogs(m.taskByID(id), file)
	case "failed":
		return m.openFailedLog()
	case "certs":
		return m.switchTo(viewCerts)
	case "refresh":
		return m.startFetch()
	case "sort":
		return m.sortCommand(args)
	case "help":
		m.showHelp = true
	case "quit":
		return tea.Quit
	}
	return nil
}

func (m *Model) sortCommand(args []string) tea.Cmd {
	if len(args) != 1 {
		m.setFlash("usage: :sort name|state|load|age", true)
		return nil
	}
	s, ok := map[string]sortKey{"name": sortName, "state": sortState, "load": sortLoad, "age": sortAge}[args[0]]
	if !ok {
		m.setFlash(fmt.Sprintf(":sort %s: want name, state, load or age", clean(args[0])), true)
		return nil
	}
	switch m.view {
	case viewHosts:
		m.hosts.sortBy, m.hosts.desc = s, false
		m.hosts.recompute()
	case viewTasks:
		m.tasks.sortBy, m.tasks.desc = s, false
		m.tasks.recompute()
	}
	return nil
}

func (p *prompt) render(m *Model) string {
	lead := ":"
	if p.kind == promptFilter {
		lead = "/"
	}
	return m.st.Key.Render(lead) + p.input.View()
}
