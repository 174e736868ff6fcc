package logview

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current View output")

// golden compares m.View() with testdata/<name>.golden, where ESC is
// written as the four characters \x1b so that styles can be reviewed.
func golden(t *testing.T, name string, m Model) {
	t.Helper()
	checkFrame(t, m)
	got := strings.ReplaceAll(m.View(), "\x1b", `\x1b`) + "\n"
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to write it): %v", err)
	}
	if got != string(want) {
		t.Errorf("View() differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// failedBuild is a pane at 80x24 holding the tail of a failed build.log
// (MaxLines 60 drops the head), ended by the hub.
func failedBuild(noColor bool) Model {
	m := growingBuild(noColor)
	m.SetEOF(true, "task failed")
	return m
}

// growingBuild is failedBuild before the task has finished.
func growingBuild(noColor bool) Model {
	m := New(Options{MaxLines: 60, NoColor: noColor})
	m.SetSize(80, 24)
	m.Reset("task 4242 build.log (x86_64)")
	m.Append([]byte(gccFailure))
	return m
}

func TestViewGolden(t *testing.T) {
	t.Run("follow_nocolor", func(t *testing.T) {
		golden(t, "follow_nocolor", failedBuild(true))
	})
	t.Run("follow_color", func(t *testing.T) {
		golden(t, "follow_color", failedBuild(false))
	})
	search := func(noColor bool) Model {
		m := growingBuild(noColor)
		m = send(t, m, "g", "/")
		m = typeText(t, m, "error")
		m = send(t, m, "enter", "n")
		numbered(&m, 1, 3, " (appended while paused)")
		return m
	}
	t.Run("search_nocolor", func(t *testing.T) {
		golden(t, "search_nocolor", search(true))
	})
	t.Run("search_color", func(t *testing.T) {
		golden(t, "search_color", search(false))
	})
	t.Run("prompt_nocolor", func(t *testing.T) {
		m := failedBuild(true)
		m = send(t, m, "/")
		m = typeText(t, m, "undefined ref")
		golden(t, "prompt_nocolor", m)
	})
	t.Run("wrap_wide_nocolor", func(t *testing.T) {
		m := newPane(Options{})
		m.Append([]byte("Building for target x86_64\n" +
			"日本語のメッセージ: ビルドに失敗しました。" + strings.Repeat("長い行", 20) + "\n" +
			"emoji 🙂👍🏽 and combining x\u0301 end\n" +
			strings.Repeat("0123456789", 17) + "\n" +
			"\tindented\tby tabs\n"))
		m = send(t, m, "w")
		golden(t, "wrap_wide_nocolor", m)
		m = send(t, m, "w")
		golden(t, "cut_wide_nocolor", m)
	})
	t.Run("small", func(t *testing.T) {
		m := failedBuild(true)
		wide := newPane(Options{})
		wide.Append([]byte("日本語\n🙂👍🏽 x\u0301\n"))
		for _, p := range []Model{m, wide} {
			for _, wrap := range []bool{false, true} {
				p.wrap = wrap
				for _, size := range [][2]int{{30, 6}, {12, 2}, {5, 1}, {1, 3}, {2, 4}, {3, 4}} {
					p.SetSize(size[0], size[1])
					checkFrame(t, p)
				}
			}
		}
		m.SetSize(30, 6)
		golden(t, "small_nocolor", m)
		m.SetSize(0, 3)
		if got := m.View(); got != "\n\n" {
			t.Errorf("View at width 0 = %q, want three empty lines", got)
		}
		m.SetSize(10, 0)
		if got := m.View(); got != "" {
			t.Errorf("View at height 0 = %q, want empty", got)
		}
	})
}

// Under NoColor the only escape sequences are reverse video on matches.
func TestViewNoColorEscapes(t *testing.T) {
	m := failedBuild(true)
	if v := m.View(); strings.Contains(v, "\x1b") {
		t.Errorf("NoColor View without a search has escapes: %q", v)
	}
	m = send(t, m, "/")
	m = typeText(t, m, "make")
	m = send(t, m, "enter")
	v := m.View()
	if !strings.Contains(v, "\x1b[7;4mmake\x1b[m") || !strings.Contains(v, "\x1b[7mmake\x1b[m") {
		t.Errorf("NoColor View lacks reverse video on the current and other matches:\n%s", v)
	}
	checkFrame(t, m)
}
