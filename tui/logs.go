package tui

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"kojigo/tui/farm"
	"kojigo/tui/logview"
)

// Reading logs: a log opens at its last tailBytes (the start of a 200 MB
// log is rarely what anyone wants, and the pane keeps a bounded buffer
// anyway), then follows in chunks of readChunk once a second.
const (
	tailBytes      = 1 << 20
	readChunk      = 256 << 10
	failedLogBytes = 4 << 20
)

type (
	// logListMsg is a task's output files, read when its logs open.
	logListMsg struct {
		taskID int64
		task   farm.Task
		files  []farm.OutputFile
		err    error
	}
	// logMsg is one chunk of a log from offset.
	logMsg struct {
		taskID   int64
		file     string
		offset   int64
		data     []byte
		finished bool // the task had ended when the chunk was read
		err      error
	}
	// failedLogMsg opens the last failed build's log at its first error.
	failedLogMsg struct {
		task   farm.Task
		file   string
		start  int64 // offset of data in the file
		data   []byte
		none   bool
		err    error
		errRow int // first error line in data; -1 when none was found
	}
)

// logsView follows one task's logs.
type logsView struct {
	lv       logview.Model
	taskID   int64
	task     farm.Task
	files    []farm.OutputFile
	file     string
	offset   int64
	started  int64 // the offset the pane started at
	reading  bool
	skipped  bool // the partial first line of a tail was dropped
	eof      bool
	err      error
	note     string
	fileKeys key.Binding
}

func newLogsView(noColor bool) logsView {
	return logsView{
		lv:       logview.New(logview.Options{NoColor: noColor}),
		fileKeys: key.NewBinding(key.WithKeys("tab", "shift+tab"), key.WithHelp("tab", "next log file")),
	}
}

func (v *logsView) resize(w, h int) {
	v.lv.SetSize(w, max(h-1, 1))
}

func (v *logsView) capturing() bool { return v.lv.Searching() }

func (v *logsView) shortHelp() []key.Binding {
	return append([]key.Binding{v.fileKeys}, v.lv.KeyMap().ShortHelp()...)
}

func (v *logsView) fullHelp() []key.Binding {
	out := []key.Binding{v.fileKeys}
	for _, g := range v.lv.KeyMap().FullHelp() {
		out = append(out, g...)
	}
	return out
}

// forward hands a key or message to the log pane.
func (v *logsView) forward(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok && !v.lv.Searching() && key.Matches(k, v.fileKeys) && len(v.files) > 1 {
		i := 0
		for j, f := range v.files {
			if f.Name == v.file {
				i = j
			}
		}
		if k.String() == "tab" {
			i = (i + 1) % len(v.files)
		} else {
			i = (i + len(v.files) - 1) % len(v.files)
		}
		return v.switchFile(v.files[i])
	}
	var cmd tea.Cmd
	v.lv, cmd = v.lv.Update(msg)
	return cmd
}

// title names the task and file in the pane's own header.
func (v *logsView) title(file string) string {
	return strings.Join(strings.Fields(fmt.Sprintf("task %d %s %s · %s", v.taskID, clean(v.task.Method), clean(v.task.Label), clean(file))), " ")
}

// switchFile shows another file of the task, from its tail.
func (v *logsView) switchFile(f farm.OutputFile) tea.Cmd {
	v.file = f.Name
	v.offset, v.started, v.eof, v.err, v.note, v.skipped = 0, 0, false, nil, "", false
	if f.Size > tailBytes {
		v.offset, v.started = f.Size-tailBytes, f.Size-tailBytes
	}
	v.lv.Reset(v.title(f.Name))
	v.reading = false
	id, name := v.taskID, f.Name // not v: the command runs on another goroutine
	return func() tea.Msg { return logMsg{taskID: id, file: name, offset: -1} }
}

func (m *Model) taskByID(id int64) farm.Task {
	if m.snap != nil {
		for _, list := range [][]farm.Task{m.snap.Active, m.snap.Recent} {
			for _, t := range list {
				if t.ID == id {
					return t
				}
			}
		}
	}
	return farm.Task{ID: id, State: -1}
}

// openTaskLogs switches to the log view on a task's file (build.log when
// file is empty and the task has one).
func (m *Model) openTaskLogs(t farm.Task, file string) tea.Cmd {
	v := &m.logs
	v.taskID, v.task, v.files, v.file = t.ID, t, nil, file
	v.offset, v.started, v.eof, v.err, v.reading, v.note = 0, 0, false, nil, false, ""
	v.lv.Reset(fmt.Sprintf("task %d", t.ID))
	m.view = viewLogs
	hub := m.hub
	if hub == nil {
		return nil
	}
	names := m.hostNames()
	ctx, cancel := m.ctx()
	id := t.ID
	return func() tea.Msg {
		defer cancel()
		files, err := hub.OutputFiles(ctx, id)
		if err != nil {
			return logListMsg{taskID: id, err: err}
		}
		d, err := hub.TaskDetail(ctx, farm.Task{ID: id}, names)
		if err != nil {
			return logListMsg{taskID: id, err: err}
		}
		return logListMsg{taskID: id, task: d.Task, files: files}
	}
}

// logFiles keeps the text logs, build.log first, the way an operator
// reads a failed build.
func logFiles(files []farm.OutputFile) []farm.OutputFile {
	rank := map[string]int{"build.log": 0, "root.log": 1, "state.log": 2, "mock_output.log": 3}
	var out []farm.OutputFile
	for _, f := range files {
		if strings.HasSuffix(f.Name, ".log") {
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		ri, iok := rank[out[i].Name]
		rj, jok := rank[out[j].Name]
		switch {
		case iok && jok:
			return ri < rj
		case iok != jok:
			return iok
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// onMsg handles the log messages.
func (v *logsView) onMsg(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case logListMsg:
		if msg.taskID != v.taskID {
			return nil
		}
		if msg.err != nil {
			v.err = msg.err
			return nil
		}
		v.task = msg.task
		v.files = logFiles(msg.files)
		if len(v.files) == 0 {
			v.note = "this task has no log files yet"
			if farm.Finished(v.task.State) {
				v.note = "this task wrote no log files"
				v.eof = true
			}
			return nil
		}
		pick := v.files[0]
		for _, f := range v.files {
			if f.Name == v.file {
				pick = f
			}
		}
		if v.file != "" && pick.Name != v.file {
			v.note = fmt.Sprintf("task %d has no %s; showing %s", v.taskID, v.file, pick.Name)
		}
		v.switchFile(pick)
		return v.read(m)
	case logMsg:
		if msg.taskID != v.taskID || msg.file != v.file {
			return nil
		}
		if msg.offset < 0 { // a file switch asks for its first read
			return v.read(m)
		}
		v.reading = false
		if msg.err != nil {
			v.err = msg.err
			return nil
		}
		v.err = nil
		data := msg.data
		v.offset = msg.offset + int64(len(msg.data))
		if v.started > 0 && msg.offset == v.started && !v.skipped {
			// started inside the file: skip to the first whole line
			v.skipped = true
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				data = data[i+1:]
			} else {
				data = nil
			}
			v.note = fmt.Sprintf("showing the last %s; the start of the log is not loaded", bytesIEC(tailBytes))
		}
		v.lv.Append(data)
		if len(msg.data) >= readChunk {
			return v.read(m) // more is waiting
		}
		if len(msg.data) == 0 && msg.finished {
			v.eof = true
			v.lv.SetEOF(true, "task "+strings.ToLower(farm.StateName(v.task.State)))
		}
		return nil
	case failedLogMsg:
		if msg.err != nil {
			m.setFlash("last failed build: "+hubWords(msg.err), true)
			return nil
		}
		if msg.none {
			m.setFlash("no failed build on this hub", false)
			return nil
		}
		v.taskID, v.task, v.file = msg.task.ID, msg.task, msg.file
		v.files = []farm.OutputFile{{Name: msg.file, Size: msg.start + int64(len(msg.data))}}
		v.lv.Reset(v.title(msg.file))
		v.lv.Append(msg.data)
		v.started, v.offset, v.skipped = msg.start, msg.start+int64(len(msg.data)), true
		v.eof, v.err, v.reading = farm.Finished(msg.task.State), nil, false
		if v.eof {
			v.lv.SetEOF(true, "task failed")
		}
		m.flash = ""
		if msg.errRow >= 0 {
			v.lv.GotoLine(msg.errRow + 1) // GotoLine counts from 1
			v.note = fmt.Sprintf("first error at line %d", msg.errRow+1)
		} else {
			v.note = "no compiler or rpmbuild error line found; showing the end"
		}
		m.view = viewLogs
		// the other logs of the task, for tab
		return m.refreshLogFiles(msg.task.ID)
	}
	return nil
}

// refreshLogFiles re-reads the task's file list without moving the pane.
func (m *Model) refreshLogFiles(id int64) tea.Cmd {
	hub := m.hub
	if hub == nil {
		return nil
	}
	ctx, cancel := m.ctx()
	return func() tea.Msg {
		defer cancel()
		files, err := hub.OutputFiles(ctx, id)
		if err != nil {
			return nil
		}
		return logFilesMsg{taskID: id, files: files}
	}
}

// logFilesMsg updates the list of files tab cycles through.
type logFilesMsg struct {
	taskID int64
	files  []farm.OutputFile
}

// read asks for the next chunk of the current file.
func (v *logsView) read(m *Model) tea.Cmd {
	if v.reading || v.eof || v.file == "" || m.hub == nil {
		return nil
	}
	v.reading = true
	hub, id, file, off := m.hub, v.taskID, v.file, v.offset
	known := v.task
	ctx, cancel := m.ctx()
	return func() tea.Msg {
		defer cancel()
		// Whether the task had ended is read first: a chunk that comes back
		// empty after that is truly the end.
		finished := farm.Finished(known.State)
		if !finished {
			if d, err := hub.TaskState(ctx, id); err == nil {
				finished = farm.Finished(d)
			}
		}
		data, err := hub.ReadOutput(ctx, id, file, off, readChunk)
		return logMsg{taskID: id, file: file, offset: off, data: data, finished: finished, err: err}
	}
}

// poll reads more of a followed log (once a second, from the clock).
func (v *logsView) poll(m *Model) tea.Cmd {
	if v.file == "" || v.eof {
		return nil
	}
	return v.read(m)
}

// openFailedLog finds the most recent failed build and opens the log of
// its failed task at the first error line.
func (m *Model) openFailedLog() tea.Cmd {
	hub := m.hub
	if hub == nil {
		return nil
	}
	m.setFlash("looking for the last failed build…", false)
	names := m.hostNames()
	ctx, cancel := m.ctx()
	return func() tea.Msg {
		defer cancel()
		return readFailedLog(ctx, hub, names)
	}
}

func readFailedLog(ctx context.Context, hub *farm.Hub, names map[int64]string) failedLogMsg {
	t, ok, err := hub.LastFailedBuild(ctx, names)
	if err != nil {
		return failedLogMsg{err: err}
	}
	if !ok {
		return failedLogMsg{none: true}
	}
	files, err := hub.OutputFiles(ctx, t.ID)
	if err != nil {
		return failedLogMsg{err: err}
	}
	logs := logFiles(files)
	if len(logs) == 0 {
		return failedLogMsg{err: fmt.Errorf("task %d (%s) failed and wrote no log", t.ID, t.Method)}
	}
	f := logs[0]
	var start int64
	if f.Size > failedLogBytes {
		start = f.Size - failedLogBytes
	}
	var data []byte
	for off := start; ; {
		b, err := hub.ReadOutput(ctx, t.ID, f.Name, off, 1<<20)
		if err != nil {
			return failedLogMsg{err: err}
		}
		data = append(data, b...)
		off += int64(len(b))
		if len(b) == 0 || len(data) >= failedLogBytes {
			break
		}
	}
	if start > 0 {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			start += int64(i + 1)
			data = data[i+1:]
		}
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	row, found := logview.FirstError(lines)
	if !found {
		row = -1
	}
	return failedLogMsg{task: t, file: f.Name, start: start, data: data, errRow: row}
}

func (v *logsView) render(m *Model, width, height int) []string {
	st := m.st
	if v.taskID == 0 {
		return []string{"", "  No log open.", "",
			"  Press l on a task in the tasks view (2), type :log TASK, or press F",
			"  for the last failed build's log at its first error."}
	}
	var tabs []string
	for _, f := range v.files {
		n := clean(f.Name)
		if f.Name == v.file {
			tabs = append(tabs, st.SortHead.Render(n))
		} else {
			tabs = append(tabs, n)
		}
	}
	word, lvl := taskGlyph(v.task.State)
	if v.task.State < 0 {
		word, lvl = "", lvlOK
	}
	top := st.level(lvl).Render(word) + "  " + strings.Join(tabs, " ")
	switch {
	case v.err != nil:
		top += "  " + st.Error.Render(hubWords(v.err))
	case v.note != "":
		top += "  " + st.Dim.Render(v.note)
	}
	out := []string{cell(top, width)}
	out = append(out, strings.Split(v.lv.View(), "\n")...)
	return out
}
