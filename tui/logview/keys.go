package logview

import "charm.land/bubbles/v2/key"

// KeyMap holds the log pane's bindings. The parent's help line is generated
// from ShortHelp and FullHelp; bindings that do nothing in the current state
// (h/l while wrapping, n/N with no search, everything but the prompt keys
// while the search prompt is open) are disabled, so help hides them.
type KeyMap struct {
	Up           key.Binding
	Down         key.Binding
	PageUp       key.Binding
	PageDown     key.Binding
	HalfPageUp   key.Binding
	HalfPageDown key.Binding
	Top          key.Binding
	Bottom       key.Binding // also resumes following
	Left         key.Binding
	Right        key.Binding
	Wrap         key.Binding
	Search       key.Binding
	NextMatch    key.Binding
	PrevMatch    key.Binding
	FirstError   key.Binding

	// Search prompt.
	Accept     key.Binding
	Cancel     key.Binding
	DeleteChar key.Binding
	DeleteWord key.Binding
	ClearInput key.Binding
}

// DefaultKeyMap returns less/vim-style bindings: no destructive action sits
// on any of them.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:           key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:         key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:       key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup/ctrl+b", "page up")),
		PageDown:     key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn/ctrl+f", "page down")),
		HalfPageUp:   key.NewBinding(key.WithKeys("ctrl+u"), key.WithHelp("ctrl+u", "half page up")),
		HalfPageDown: key.NewBinding(key.WithKeys("ctrl+d"), key.WithHelp("ctrl+d", "half page down")),
		Top:          key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g/home", "top")),
		Bottom:       key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G/end", "bottom, follow")),
		Left:         key.NewBinding(key.WithKeys("h", "left"), key.WithHelp("←/h", "scroll left")),
		Right:        key.NewBinding(key.WithKeys("l", "right"), key.WithHelp("→/l", "scroll right")),
		Wrap:         key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "wrap on/off")),
		Search:       key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search")),
		NextMatch:    key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next match")),
		PrevMatch:    key.NewBinding(key.WithKeys("N"), key.WithHelp("N", "previous match")),
		FirstError:   key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "first error")),

		Accept:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "search (empty: clear)")),
		Cancel:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		DeleteChar: key.NewBinding(key.WithKeys("backspace", "ctrl+h"), key.WithHelp("backspace", "delete")),
		DeleteWord: key.NewBinding(key.WithKeys("ctrl+w", "alt+backspace"), key.WithHelp("ctrl+w", "delete word")),
		ClearInput: key.NewBinding(key.WithKeys("ctrl+u"), key.WithHelp("ctrl+u", "clear")),
	}
}

// ShortHelp returns the bindings for a one-line help.
func (k KeyMap) ShortHelp() []key.Binding {
	return enabled(k.Accept, k.Cancel, k.Bottom, k.Search, k.NextMatch, k.PrevMatch, k.Wrap, k.FirstError)
}

// FullHelp returns the bindings in columns: moving, view, search, prompt.
func (k KeyMap) FullHelp() [][]key.Binding {
	var groups [][]key.Binding
	for _, g := range [][]key.Binding{
		enabled(k.Up, k.Down, k.PageUp, k.PageDown, k.HalfPageUp, k.HalfPageDown),
		enabled(k.Top, k.Bottom, k.Left, k.Right, k.Wrap),
		enabled(k.Search, k.NextMatch, k.PrevMatch, k.FirstError),
		enabled(k.Accept, k.Cancel, k.DeleteChar, k.DeleteWord, k.ClearInput),
	} {
		if len(g) > 0 {
			groups = append(groups, g)
		}
	}
	return groups
}

func enabled(bs ...key.Binding) []key.Binding {
	out := bs[:0]
	for _, b := range bs {
		if b.Enabled() {
			out = append(out, b)
		}
	}
	return out
}

// live returns a copy of k with each binding enabled only where it acts in
// the given state.
func (k KeyMap) live(searching, wrap, haveQuery bool) KeyMap {
	nav := []*key.Binding{
		&k.Up, &k.Down, &k.PageUp, &k.PageDown, &k.HalfPageUp, &k.HalfPageDown,
		&k.Top, &k.Bottom, &k.Left, &k.Right, &k.Wrap, &k.Search, &k.NextMatch,
		&k.PrevMatch, &k.FirstError,
	}
	for _, b := range nav {
		b.SetEnabled(!searching)
	}
	for _, b := range []*key.Binding{&k.Accept, &k.Cancel, &k.DeleteChar, &k.DeleteWord, &k.ClearInput} {
		b.SetEnabled(searching)
	}
	if wrap {
		k.Left.SetEnabled(false)
		k.Right.SetEnabled(false)
	}
	if !haveQuery {
		k.NextMatch.SetEnabled(false)
		k.PrevMatch.SetEnabled(false)
	}
	return k
}
