package tui

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"kojigo/internal/kojiclient"
	"kojigo/tui/farm"
)

// action is what a dialog does when confirmed.
type action int

const (
	actEnable action = iota
	actDisable
	actEditHost
	actCancel
	actFree
	actResubmit
)

// dialog confirms one action. Focus moves through its fields, then Cancel,
// then the action's button; it starts on the first field, or on Cancel, so
// Enter never acts by accident.
type dialog struct {
	act     action
	title   string
	lines   []string
	inputs  []textinput.Model
	labels  []string
	okLabel string
	focus   int // inputs first, then Cancel, then OK
	err     string
	hosts   []string
	task    farm.Task
	host    farm.Host
}

func newInput(placeholder, value string, limit int) textinput.Model {
	in := textinput.New()
	in.Prompt = ""
	in.Placeholder = placeholder
	in.CharLimit = limit
	in.SetWidth(38)
	n := lipgloss.NewStyle()
	in.SetStyles(textinput.Styles{
		Focused: textinput.StyleState{Text: n, Placeholder: n.Faint(true), Suggestion: n.Faint(true), Prompt: n},
		Blurred: textinput.StyleState{Text: n, Placeholder: n.Faint(true), Suggestion: n.Faint(true), Prompt: n},
		Cursor:  textinput.CursorStyle{Blink: false},
	})
	in.SetValue(value)
	return in
}

func (m *Model) openHostsDialog(enable bool) {
	v := &m.hosts
	names := v.targets()
	if len(names) == 0 {
		return
	}
	verb, act := "Disable", actDisable
	if enable {
		verb, act = "Enable", actEnable
	}
	d := &dialog{act: act, hosts: names, okLabel: verb}
	if len(names) == 1 {
		d.title = fmt.Sprintf("%s host %s?", verb, clean(names[0]))
	} else {
		d.title = fmt.Sprintf("%s %d marked hosts?", verb, len(names))
		list := strings.Join(names, ", ")
		d.lines = append(d.lines, clean(list))
		if hidden := v.hiddenMarks(); hidden > 0 {
			d.lines = append(d.lines, fmt.Sprintf("(%d of them hidden by the filter)", hidden))
		}
	}
	if !enable {
		d.lines = append(d.lines, "The scheduler gives a disabled host no new tasks;", "tasks it runs now finish.")
	}
	d.labels = []string{"Comment (optional, replaces the host's comment):"}
	d.inputs = []textinput.Model{newInput("why, e.g. disk replaced", "", 255)}
	d.focusInput()
	m.dialog = d
}

func newEditHostDialog(h farm.Host) *dialog {
	d := &dialog{act: actEditHost, hosts: []string{h.Name}, host: h, okLabel: "Save",
		title:  fmt.Sprintf("Edit host %s", clean(h.Name)),
		labels: []string{"Capacity (task weight it takes, > 1):", "Comment:"},
		inputs: []textinput.Model{newInput("e.g. 4.0", strconv.FormatFloat(h.Capacity, 'f', -1, 64), 12), newInput("", h.Comment, 255)},
	}
	d.focusInput()
	return d
}

func newTaskDialog(act action, t farm.Task) *dialog {
	d := &dialog{act: act, task: t}
	desc := fmt.Sprintf("task %d (%s %s %s)", t.ID, clean(t.Method), clean(t.Label), clean(t.Arch))
	switch act {
	case actCancel:
		d.title, d.okLabel = "Cancel "+desc+"?", "Cancel task"
		d.lines = []string{"Its subtasks are canceled too."}
	case actFree:
		d.title, d.okLabel = "Free "+desc+"?", "Free"
		d.lines = []string{"It goes back to FREE and the scheduler gives it", "to another host; the host running it stops."}
	case actResubmit:
		d.title, d.okLabel = "Resubmit "+desc+"?", "Resubmit"
		d.lines = []string{"A new task with the same request is made."}
	}
	d.focus = 0 // Cancel
	return d
}

func (d *dialog) focusInput() {
	for i := range d.inputs {
		if i == d.focus {
			d.inputs[i].Focus()
		} else {
			d.inputs[i].Blur()
		}
	}
}

// cancelIdx and okIdx are the buttons' focus positions.
func (d *dialog) cancelIdx() int { return len(d.inputs) }
func (d *dialog) okIdx() int     { return len(d.inputs) + 1 }

func (d *dialog) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	n := len(d.inputs) + 2
	switch k.String() {
	case "esc", "ctrl+c":
		m.dialog = nil
		return nil
	case "tab", "down":
		d.focus = (d.focus + 1) % n
		d.focusInput()
		return nil
	case "shift+tab", "up":
		d.focus = (d.focus + n - 1) % n
		d.focusInput()
		return nil
	case "left", "right":
		if d.focus >= d.cancelIdx() {
			if d.focus == d.cancelIdx() {
				d.focus = d.okIdx()
			} else {
				d.focus = d.cancelIdx()
			}
			return nil
		}
	case "enter":
		switch {
		case d.focus < len(d.inputs):
			d.focus++
			d.focusInput()
			return nil
		case d.focus == d.cancelIdx():
			m.dialog = nil
			return nil
		default:
			cmd, err := d.confirm(m)
			if err != "" {
				d.err = err
				return nil
			}
			m.dialog = nil
			m.setFlash(d.progress(), false)
			return cmd
		}
	}
	if d.focus < len(d.inputs) {
		var cmd tea.Cmd
		d.inputs[d.focus], cmd = d.inputs[d.focus].Update(k)
		return cmd
	}
	return nil
}

func (d *dialog) progress() string {
	switch d.act {
	case actEnable:
		return "enabling " + strings.Join(d.hosts, ", ") + "…"
	case actDisable:
		return "disabling " + strings.Join(d.hosts, ", ") + "…"
	case actEditHost:
		return "saving " + d.hosts[0] + "…"
	}
	return fmt.Sprintf("task %d…", d.task.ID)
}

// confirm validates the fields and returns the action's command.
func (d *dialog) confirm(m *Model) (tea.Cmd, string) {
	hub := m.hub
	if hub == nil {
		return nil, "not connected to a hub"
	}
	base := m.base
	run := func(what string, f func(ctx context.Context) (string, []string)) tea.Cmd {
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(base, callTimeout)
			defer cancel()
			ok, errs := f(ctx)
			return actionMsg{what: what, ok: ok, errs: errs}
		}
	}
	switch d.act {
	case actEnable, actDisable:
		comment := strings.TrimSpace(d.inputs[0].Value())
		enable := d.act == actEnable
		hosts := d.hosts
		verb := map[bool]string{true: "enabled", false: "disabled"}[enable]
		return run(map[bool]string{true: "enable", false: "disable"}[enable], func(ctx context.Context) (string, []string) {
			errs, err := hub.SetHostsEnabled(ctx, hosts, enable, comment)
			if err != nil {
				return "", []string{hubWords(err)}
			}
			var bad, good []string
			for i, e := range errs {
				if e != nil {
					bad = append(bad, hosts[i]+": "+hubWords(e))
				} else {
					good = append(good, hosts[i])
				}
			}
			if len(bad) > 0 && len(good) > 0 {
				bad = append(bad, verb+" "+strings.Join(good, ", "))
			}
			msg := verb + " " + strings.Join(good, ", ")
			if comment != "" {
				msg += fmt.Sprintf(" (comment %q)", comment)
			}
			return msg, bad
		}), ""
	case actEditHost:
		capText := strings.TrimSpace(d.inputs[0].Value())
		capacity, err := strconv.ParseFloat(capText, 64)
		if err != nil || capacity <= 1 || capacity > 1e6 {
			return nil, fmt.Sprintf("capacity %q: want a number greater than 1", capText)
		}
		comment := d.inputs[1].Value()
		name := d.hosts[0]
		return run("edit "+name, func(ctx context.Context) (string, []string) {
			if err := hub.EditHost(ctx, name, capacity, comment); err != nil {
				return "", []string{hubWords(err)}
			}
			return fmt.Sprintf("%s: capacity %g, comment %q", name, capacity, comment), nil
		}), ""
	case actCancel:
		id := d.task.ID
		return run(fmt.Sprintf("cancel task %d", id), func(ctx context.Context) (string, []string) {
			if err := hub.CancelTask(ctx, id); err != nil {
				return "", []string{hubWords(err)}
			}
			return fmt.Sprintf("canceled task %d", id), nil
		}), ""
	case actFree:
		id := d.task.ID
		return run(fmt.Sprintf("free task %d", id), func(ctx context.Context) (string, []string) {
			if err := hub.FreeTask(ctx, id); err != nil {
				return "", []string{hubWords(err)}
			}
			return fmt.Sprintf("freed task %d: the scheduler gives it to a ready host", id), nil
		}), ""
	case actResubmit:
		id := d.task.ID
		return run(fmt.Sprintf("resubmit task %d", id), func(ctx context.Context) (string, []string) {
			n, err := hub.ResubmitTask(ctx, id)
			if err != nil {
				return "", []string{hubWords(err)}
			}
			return fmt.Sprintf("resubmitted task %d as task %d", id, n), nil
		}), ""
	}
	return nil, "unknown action"
}

// hubWords is an error from the hub as an operator reads it.
func hubWords(err error) string {
	var f *kojiclient.Fault
	if errors.As(err, &f) {
		return farm.FaultClass(f.Code) + ": " + clean(f.String)
	}
	return clean(err.Error())
}

// render draws the dialog box.
func (d *dialog) render(m *Model) []string {
	st := m.st
	var b []string
	b = append(b, st.Title.Render(d.title))
	b = append(b, d.lines...)
	for i, in := range d.inputs {
		b = append(b, "", d.labels[i])
		field := "[" + cell(in.View(), 40) + "]"
		if d.focus == i {
			field = st.Key.Render("▸") + field
		} else {
			field = " " + field
		}
		b = append(b, field)
	}
	if d.err != "" {
		b = append(b, "", st.Error.Render(d.err))
	}
	cancel, ok := st.Button.Render("[ Cancel ]"), st.Button.Render("[ "+d.okLabel+" ]")
	if d.focus == d.cancelIdx() {
		cancel = st.Focused.Render("[ Cancel ]")
	}
	if d.focus == d.okIdx() {
		ok = st.Focused.Render("[ " + d.okLabel + " ]")
	}
	b = append(b, "", cancel+"   "+ok, st.Dim.Render("tab: next · enter: press · esc: cancel"))
	box := st.Dialog.Render(strings.Join(b, "\n"))
	return strings.Split(box, "\n")
}
