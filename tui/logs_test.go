package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"kojigo/tui/farm"
)

func TestLogFilesOrder(t *testing.T) {
	got := logFiles([]farm.OutputFile{{Name: "x.rpm"}, {Name: "z.log"}, {Name: "state.log"}, {Name: "build.log"}, {Name: "a.log"}, {Name: "root.log"}})
	var names []string
	for _, f := range got {
		names = append(names, f.Name)
	}
	if want := "build.log root.log state.log a.log z.log"; strings.Join(names, " ") != want {
		t.Errorf("logFiles = %v, want %s", names, want)
	}
}

func TestFollowLog(t *testing.T) {
	m := newTestModel(t, admin, true, 100, 30, fixture())
	m.openTaskLogs(farm.Task{ID: 11, State: farm.Open}, "")
	if m.view != viewLogs {
		t.Fatalf("view %v", m.view)
	}
	// a big build.log opens at its tail; the partial first line is skipped
	big := int64(5 << 20)
	m.Update(logListMsg{taskID: 11, task: farm.Task{ID: 11, State: farm.Open, Method: "buildArch"},
		files: []farm.OutputFile{{Name: "root.log", Size: 10}, {Name: "build.log", Size: big}}})
	v := &m.logs
	if v.file != "build.log" || v.offset != big-tailBytes {
		t.Fatalf("file %q offset %d, want build.log at %d", v.file, v.offset, big-tailBytes)
	}
	start := v.offset
	m.Update(logMsg{taskID: 11, file: "build.log", offset: start, data: []byte("tail of a line\nline one\nline two\n")})
	if v.offset != start+int64(len("tail of a line\nline one\nline two\n")) {
		t.Errorf("offset %d after the first chunk", v.offset)
	}
	if got := v.lv.Lines(); got != 2 {
		t.Errorf("%d lines held, want 2 (the partial first line skipped)", got)
	}
	if !strings.Contains(v.note, "the start of the log is not loaded") {
		t.Errorf("note %q", v.note)
	}
	// a chunk for another file or task is ignored
	m.Update(logMsg{taskID: 11, file: "root.log", offset: 0, data: []byte("x\n")})
	m.Update(logMsg{taskID: 99, file: "build.log", offset: v.offset, data: []byte("x\n")})
	if v.lv.Lines() != 2 {
		t.Errorf("a stray chunk was appended")
	}
	// the task ends and the log has no more: end of log
	m.Update(logMsg{taskID: 11, file: "build.log", offset: v.offset, data: nil, finished: true})
	if !v.eof {
		t.Errorf("no EOF after an empty read of a finished task")
	}
	frame := ansi.Strip(m.render())
	for _, want := range []string{"line two", "task 11", "build.log"} {
		if !strings.Contains(frame, want) {
			t.Errorf("frame lacks %q:\n%s", want, frame)
		}
	}
	// tab switches to the next file, from its start
	press(m, "tab")
	if v.file != "root.log" || v.offset != 0 || v.eof {
		t.Errorf("after tab: file %q offset %d eof %v", v.file, v.offset, v.eof)
	}
	// a read error is shown, and the next chunk clears it
	m.Update(logMsg{taskID: 11, file: "root.log", offset: -1})
	m.Update(logMsg{taskID: 11, file: "root.log", offset: 0, err: errTest("connection reset")})
	if !strings.Contains(ansi.Strip(m.render()), "connection reset") {
		t.Errorf("the read error is not on screen")
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }

func TestFailedLogOpensAtTheError(t *testing.T) {
	m := newTestModel(t, admin, true, 100, 30, fixture())
	log := "compiling broken.c\nbroken.c:5:37: error: expected ';' before 'return'\n" + strings.Repeat("cleaning up\n", 40)
	lines := strings.Split(strings.TrimSuffix(log, "\n"), "\n")
	m.Update(failedLogMsg{task: farm.Task{ID: 8, State: farm.Failed, Method: "buildArch", Label: "broken-1.0-1.src.rpm"},
		file: "build.log", data: []byte(log), errRow: 1})
	if m.view != viewLogs || m.logs.taskID != 8 || !m.logs.eof {
		t.Fatalf("view %v task %d eof %v", m.view, m.logs.taskID, m.logs.eof)
	}
	frame := ansi.Strip(m.render())
	if !strings.Contains(frame, "broken.c:5:37: error") || !strings.Contains(frame, "first error at line 2") {
		t.Errorf("the error line is not shown:\n%s", frame)
	}
	if len(lines) < 40 {
		t.Fatal("fixture too short")
	}
	m.Update(failedLogMsg{none: true})
	if !strings.Contains(m.flash, "no failed build") {
		t.Errorf("flash %q", m.flash)
	}
}
