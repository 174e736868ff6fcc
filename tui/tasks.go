package tui

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"kojigo/tui/farm"
)

// taskRow is a task in the list, with its depth in the tree.
type taskRow struct {
	farm.Task
	depth int
}

// tasksView lists active and recently finished tasks, as a tree or flat.
type tasksView struct {
	snap      *farm.Snapshot
	rows      []taskRow
	hidden    int
	list      // sortState: state then id; sortName: method; sortAge: created; problems: failed only
	flat      bool
	detail    *farm.TaskDetail
	detailErr error
	// progressPending: a progressTickMsg is on its way (one at a time).
	progressPending bool
}

func newTasksView() tasksView { return tasksView{} }

// taskGlyph is a task state as a glyph and a word, readable without colour.
func taskGlyph(state int) (string, level) {
	switch state {
	case farm.Free:
		return "· free", lvlWarn
	case farm.Assigned:
		return "» assigned", lvlOK
	case farm.Open:
		return "▶ open", lvlOK
	case farm.Closed:
		return "✔ closed", lvlOK
	case farm.Failed:
		return "✘ failed", lvlBad
	case farm.Canceled:
		return "⊘ canceled", lvlOff
	}
	return "? unknown", lvlOff
}

func (v *tasksView) setSnapshot(s *farm.Snapshot) {
	v.snap = s
	v.recompute()
}

func (v *tasksView) setFilter(f string) {
	v.filter = f
	v.recompute()
}

// taskFilter is the parsed filter: key=value terms for state, method,
// owner, host and arch, and free words matched anywhere.
type taskFilter struct {
	terms map[string]string
	words []string
}

func parseTaskFilter(s string) taskFilter {
	f := taskFilter{terms: map[string]string{}}
	for _, w := range strings.Fields(strings.ToLower(s)) {
		if k, val, ok := strings.Cut(w, "="); ok && val != "" {
			switch k {
			case "state", "method", "owner", "host", "arch":
				f.terms[k] = val
				continue
			}
		}
		f.words = append(f.words, w)
	}
	return f
}

func (f taskFilter) match(t farm.Task) bool {
	for k, want := range f.terms {
		var got string
		switch k {
		case "state":
			got = farm.StateName(t.State)
		case "method":
			got = t.Method
		case "owner":
			got = t.Owner
		case "host":
			got = t.Host
		case "arch":
			got = t.Arch
		}
		if !strings.Contains(strings.ToLower(got), want) {
			return false
		}
	}
	if len(f.words) > 0 {
		hay := strings.ToLower(fmt.Sprint(t.ID, " ", farm.StateName(t.State), " ", t.Method, " ", t.Label, " ", t.Arch, " ", t.Owner, " ", t.Host, " ", t.WaitReason))
		for _, w := range f.words {
			if !strings.Contains(hay, w) {
				return false
			}
		}
	}
	return true
}

func (v *tasksView) recompute() {
	var sel int64
	if v.cursor >= 0 && v.cursor < len(v.rows) {
		sel = v.rows[v.cursor].ID
	}
	v.rows = v.rows[:0]
	if v.snap == nil {
		return
	}
	f := parseTaskFilter(v.filter)
	all := make([]farm.Task, 0, len(v.snap.Active)+len(v.snap.Recent))
	seen := map[int64]bool{}
	for _, list := range [][]farm.Task{v.snap.Active, v.snap.Recent} {
		for _, t := range list {
			if !seen[t.ID] {
				seen[t.ID] = true
				all = append(all, t)
			}
		}
	}
	var shown []farm.Task
	for _, t := range all {
		if v.problemsOnly && t.State != farm.Failed {
			continue
		}
		if f.match(t) {
			shown = append(shown, t)
		}
	}
	v.hidden = len(all) - len(shown)
	cmp := func(a, b farm.Task) int {
		switch v.sortBy {
		case sortName:
			if c := strings.Compare(a.Method, b.Method); c != 0 {
				return c
			}
		case sortAge:
			if !a.Created.Equal(b.Created) {
				if a.Created.Before(b.Created) {
					return -1
				}
				return 1
			}
		default:
			ra, rb := stateRank(a.State), stateRank(b.State)
			if ra != rb {
				return ra - rb
			}
		}
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	}
	sort.SliceStable(shown, func(i, j int) bool {
		c := cmp(shown[i], shown[j])
		if v.desc {
			return c > 0
		}
		return c < 0
	})
	if v.flat {
		for _, t := range shown {
			v.rows = append(v.rows, taskRow{Task: t})
		}
	} else {
		v.rows = treeRows(shown)
	}
	v.cursor = 0
	for i, r := range v.rows {
		if r.ID == sel {
			v.cursor = i
		}
	}
}

// stateRank orders tasks by what needs eyes first: failed, then waiting,
// running, and the rest.
func stateRank(s int) int {
	switch s {
	case farm.Failed:
		return 0
	case farm.Free:
		return 1
	case farm.Assigned:
		return 2
	case farm.Open:
		return 3
	case farm.Canceled:
		return 4
	}
	return 5
}

// treeRows puts children under their parents (in the given order); a
// child whose parent is not shown is a root.
func treeRows(ts []farm.Task) []taskRow {
	byID := make(map[int64]bool, len(ts))
	for _, t := range ts {
		byID[t.ID] = true
	}
	kids := map[int64][]farm.Task{}
	var roots []farm.Task
	for _, t := range ts {
		if t.Parent != 0 && byID[t.Parent] {
			kids[t.Parent] = append(kids[t.Parent], t)
		} else {
			roots = append(roots, t)
		}
	}
	out := make([]taskRow, 0, len(ts))
	var walk func(t farm.Task, depth int)
	walk = func(t farm.Task, depth int) {
		out = append(out, taskRow{Task: t, depth: depth})
		if depth > 50 {
			return
		}
		for _, c := range kids[t.ID] {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return out
}

func (v *tasksView) selected() (farm.Task, bool) {
	if v.cursor < 0 || v.cursor >= len(v.rows) {
		return farm.Task{}, false
	}
	return v.rows[v.cursor].Task, true
}

func (v *tasksView) onDetail(msg taskDetailMsg) {
	if t, ok := v.selected(); !ok || t.ID != msg.id {
		return
	}
	v.detail, v.detailErr = msg.detail, msg.err
}

// watchingProgress returns the selected task when the open detail pane
// shows it as a running (OPEN) repo task whose progress the hub was asked
// for: its numbers move, so the pane is read again every progressEvery.
func (v *tasksView) watchingProgress() (farm.Task, bool) {
	t, ok := v.selected()
	d := v.detail
	if !ok || !v.detailOpen || d == nil || d.Task.ID != t.ID || !d.ProgressAsked ||
		d.Task.State != farm.Open || farm.Finished(t.State) {
		return farm.Task{}, false
	}
	return t, true
}

func (v *tasksView) clickRow(row int) {
	if i := v.top + row; row >= 0 && i < len(v.rows) {
		v.cursor = i
	}
}

// mayActOn reports whether the session may cancel or resubmit t: its
// owner or an admin (the hub checks again).
func (m *Model) mayActOn(t farm.Task) bool {
	return m.perms.tasks && (m.perms.admin || t.Owner == m.me.Name)
}

func (m *Model) tasksKey(k tea.KeyPressMsg) tea.Cmd {
	v := &m.tasks
	ks := m.keys
	detail := func() tea.Cmd {
		v.detail, v.detailErr = nil, nil
		if t, ok := v.selected(); ok {
			return m.taskDetailCmd(t)
		}
		return nil
	}
	if cmd, done := m.listKey(&v.list, k, len(v.rows), v.recompute, detail, sortName, sortState, sortAge); done {
		return cmd
	}
	t, ok := v.selected()
	switch {
	case key.Matches(k, ks.Tree):
		v.flat = !v.flat
		v.recompute()
	case key.Matches(k, ks.OpenLog) && ok:
		return m.openTaskLogs(t, "")
	case key.Matches(k, ks.CancelTask) && ok && m.mayActOn(t):
		if farm.Finished(t.State) {
			m.setFlash(fmt.Sprintf("task %d is already %s", t.ID, strings.ToLower(farm.StateName(t.State))), true)
			return nil
		}
		m.dialog = newTaskDialog(actCancel, t)
	case key.Matches(k, ks.Resubmit) && ok && m.mayActOn(t):
		if t.State != farm.Failed && t.State != farm.Canceled {
			m.setFlash(fmt.Sprintf("only failed or canceled tasks can be resubmitted; task %d is %s", t.ID, strings.ToLower(farm.StateName(t.State))), true)
			return nil
		}
		m.dialog = newTaskDialog(actResubmit, t)
	case key.Matches(k, ks.FreeTask) && ok:
		if t.State != farm.Assigned && t.State != farm.Open {
			m.setFlash(fmt.Sprintf("only assigned or open tasks can be freed; task %d is %s", t.ID, strings.ToLower(farm.StateName(t.State))), true)
			return nil
		}
		m.dialog = newTaskDialog(actFree, t)
	}
	return nil
}

func taskColumns(width int) []column {
	cols := []column{
		{title: "ID", width: 6, right: true},
		{title: "STATE", width: 10, sort: sortState, sorts: true},
		{title: "METHOD", width: 14, sort: sortName, sorts: true},
		{title: "ARCH", width: 7},
		{title: "AGE", width: 4, right: true, sort: sortAge, sorts: true},
	}
	if width >= 100 {
		cols = append(cols[:4], append([]column{{title: "OWNER", width: 10}}, cols[4:]...)...)
	}
	if width >= 120 {
		cols[2].width = 20
		cols[4].width = 14
		cols = append(cols, column{title: "PRI", width: 3, right: true})
	}
	return cols
}

func (v *tasksView) render(m *Model, width, height int) []string {
	st := m.st
	if v.snap == nil {
		return []string{m.waitingLine()}
	}
	listH := height
	if v.detailOpen {
		listH = listPart(height)
	}
	cols := taskColumns(width)
	used := 2
	for _, c := range cols {
		used += c.width + 1
	}
	restW := max(width-used, 10)
	out := []string{headLine(st, cols, v.sortBy, v.desc, "WORKS ON · HOST OR WHY IT WAITS", restW)}
	rowsH := listH - 1
	if len(v.rows) == 0 {
		msg := "no active tasks and none finished in the last hour"
		if v.hidden > 0 {
			msg = fmt.Sprintf("no tasks match (%d hidden by the filter or ctrl+z; esc clears)", v.hidden)
		}
		out = append(out, st.Dim.Render("  "+msg))
	}
	v.top = scrollTop(v.cursor, v.top, rowsH, len(v.rows))
	now := m.now()
	for i := v.top; i < len(v.rows) && i < v.top+rowsH; i++ {
		out = append(out, v.row(m, v.rows[i], cols, restW, i == v.cursor, now))
	}
	if v.detailOpen {
		out = padLines(out, listH, width)
		out = append(out, v.detailLines(m, width, height-listH)...)
	}
	return out
}

func (v *tasksView) row(m *Model, r taskRow, cols []column, restW int, selected bool, now time.Time) string {
	st := m.st
	word, lvl := taskGlyph(r.State)
	var b strings.Builder
	if selected {
		b.WriteString("> ")
	} else {
		b.WriteString("  ")
	}
	for _, c := range cols {
		var s string
		style := lipgloss.NewStyle()
		switch c.title {
		case "ID":
			s = fmt.Sprint(r.ID)
		case "STATE":
			s, style = word, st.level(lvl)
		case "METHOD":
			s = strings.Repeat(" ", min(r.depth, 6)*2) + r.Method
		case "ARCH":
			s = r.Arch
		case "OWNER":
			s = r.Owner
		case "AGE":
			s = since(now, r.Created)
		case "PRI":
			s = fmt.Sprint(r.Priority)
		}
		b.WriteString(c.fit(clean(s), style, selected) + " ")
	}
	rest := clean(r.Label)
	switch {
	case r.State == farm.Free && r.WaitReason != "":
		// why it waits is what the operator came for: first
		rest = "waits: " + clean(r.WaitReason) + " · " + rest
	case r.State == farm.Free && v.snap != nil && !v.snap.Has(farm.PartReasons):
		rest = "waits (reason unavailable on this hub) · " + rest
	case r.Host != "":
		rest += " · " + clean(r.Host)
	}
	b.WriteString(cell(strings.TrimPrefix(rest, " · "), restW))
	if selected {
		return st.Cursor.Render(b.String())
	}
	return b.String()
}

func (v *tasksView) detailLines(m *Model, width, height int) []string {
	st := m.st
	t, ok := v.selected()
	if !ok {
		return nil
	}
	now := m.now()
	word, lvl := taskGlyph(t.State)
	out := []string{st.Dim.Render(strings.Repeat("─", width)),
		st.Section.Render(fmt.Sprintf("task %d", t.ID)) + "  " + st.level(lvl).Render(word) + "  " + clean(t.Method) + " " + clean(t.Arch) +
			"  owner " + clean(t.Owner) + fmt.Sprintf("  priority %d  weight %.2f", t.Priority, t.Weight)}
	times := "  created " + since(now, t.Created) + " ago"
	if !t.Started.IsZero() {
		times += " · started " + since(now, t.Started) + " ago"
	}
	if !t.Finished.IsZero() {
		times += " · finished " + since(now, t.Finished) + " ago"
	}
	if t.Host != "" {
		times += " · host " + clean(t.Host)
	}
	if t.Parent != 0 {
		times += fmt.Sprintf(" · parent %d", t.Parent)
	}
	out = append(out, times)
	if t.State == farm.Free {
		switch {
		case t.WaitReason != "":
			out = append(out, st.Warn.Render("  waits: "+clean(t.WaitReason)))
		case v.snap != nil && !v.snap.Has(farm.PartReasons):
			out = append(out, st.Dim.Render("  waits: reason unavailable on this hub"))
		}
	}
	d := v.detail
	switch {
	case v.detailErr != nil:
		out = append(out, st.Error.Render("  could not read the task: "+clean(v.detailErr.Error())))
	case d == nil:
		out = append(out, st.Dim.Render("  reading the task…"))
	default:
		if d.ProgressAsked && !farm.Finished(d.Task.State) && !farm.Finished(t.State) {
			out = append(out, v.progressLines(m, d)...)
		}
		out = append(out, "  request: "+clean(d.Request))
		if d.Result != "" {
			style := lipgloss.NewStyle()
			label := "result"
			if d.Task.State == farm.Failed || d.Task.State == farm.Canceled {
				style, label = st.Bad, "fault"
			}
			for _, l := range wrapped("  "+label+": ", clean(d.Result), width, 4) {
				out = append(out, style.Render(l))
			}
		}
		if len(d.Children) > 0 {
			counts := map[int]int{}
			for _, c := range d.Children {
				counts[c.State]++
			}
			var parts []string
			for _, s := range []int{farm.Free, farm.Assigned, farm.Open, farm.Closed, farm.Failed, farm.Canceled} {
				if counts[s] > 0 {
					parts = append(parts, fmt.Sprintf("%d %s", counts[s], strings.ToLower(farm.StateName(s))))
				}
			}
			out = append(out, fmt.Sprintf("  children: %d (%s)", len(d.Children), strings.Join(parts, ", ")))
		}
		if len(d.Output) > 0 {
			var files []string
			for _, f := range d.Output {
				if f.Size >= 0 {
					files = append(files, fmt.Sprintf("%s (%s)", clean(f.Name), bytesIEC(f.Size)))
				} else {
					files = append(files, clean(f.Name))
				}
			}
			out = append(out, "  output: "+strings.Join(files, ", "))
		} else {
			none := "  output: none yet"
			if farm.Finished(d.Task.State) {
				none = "  output: none"
			}
			out = append(out, st.Dim.Render(none))
		}
		for i, lm := range d.Messages {
			if i == 3 {
				break
			}
			out = append(out, fmt.Sprintf("  scheduler %s ago: %s", since(now, lm.At), clean(lm.Msg)))
		}
	}
	if len(out) > height {
		out = out[:height]
	}
	return out
}

// progressLines show how far a running repo task's repo is made, as its
// createrepo tasks last reported to the hub: the sum, then each arch when
// there are several.
func (v *tasksView) progressLines(m *Model, d *farm.TaskDetail) []string {
	st := m.st
	p := d.Progress
	if p == nil {
		return []string{st.Dim.Render("  repo: no progress reported yet")}
	}
	name := fmt.Sprintf("repo %d", p.RepoID)
	if tag := v.repoTag(d.Task); tag != "" {
		name += " (" + clean(tag) + ")"
	}
	line := "  " + name + ": " + progressWords(p.Done, p.Total, p.Fraction(), 0, 0)
	if !p.At.IsZero() {
		ago := m.now().Sub(p.At)
		words := " · reported " + age(ago) + " ago"
		if ago > time.Minute {
			words = st.Warn.Render(words + " (is the builder still working?)")
		}
		line += words
	}
	out := []string{line}
	if len(p.Arches) < 2 {
		return out
	}
	archW, idW, doneW, totalW := 0, 0, 0, 0
	for _, a := range p.Arches {
		archW = max(archW, min(len(clean(a.Arch)), 16))
		idW = max(idW, len(fmt.Sprint(a.TaskID)))
		doneW = max(doneW, len(commas(a.Done)))
		totalW = max(totalW, len(commas(a.Total)))
	}
	for _, a := range p.Arches {
		out = append(out, fmt.Sprintf("    %s task %-*d  %s", cell(clean(a.Arch), archW), idW, a.TaskID,
			progressWords(a.Done, a.Total, a.Fraction(), doneW, totalW)))
	}
	return out
}

// progressWords is "5,996 / 11,757 packages  51% [|||||.....]", the
// counts right-aligned in doneW and totalW cells. The percentage is
// rounded down: 100% only once every package is done.
func progressWords(done, total int64, frac float64, doneW, totalW int) string {
	if total <= 0 {
		return "counting packages…"
	}
	return fmt.Sprintf("%*s / %*s packages %3d%% [%s]", doneW, commas(done), totalW, commas(total),
		int(math.Floor(frac*100)), meter(frac, 10))
}

// repoTag names the tag a repo task's repo is of: a newRepo task's label,
// or for a createrepo task its newRepo parent's, when the list has it.
func (v *tasksView) repoTag(t farm.Task) string {
	if t.Method == "newRepo" {
		return t.Label
	}
	if t.Parent == 0 || v.snap == nil {
		return ""
	}
	for _, list := range [][]farm.Task{v.snap.Active, v.snap.Recent} {
		for _, p := range list {
			if p.ID == t.Parent && p.Method == "newRepo" {
				return p.Label
			}
		}
	}
	return ""
}
