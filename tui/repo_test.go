package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"kojigo/internal/kojiclient"
	"kojigo/tui/farm"
)

// repoFixture is the fixture farm while kojira makes repo 12 of
// f40-build: newRepo task 20 is OPEN with its createrepo tasks 21
// (x86_64) and 22 (aarch64).
func repoFixture() *farm.Snapshot {
	s := fixture()
	started := now.Add(-90 * time.Second)
	s.Active = append(s.Active,
		farm.Task{ID: 20, State: farm.Open, Method: "newRepo", Arch: "noarch", Label: "f40-build", Owner: "kojira", HostID: 1, Host: "builder1",
			Priority: 15, Created: started, Started: started},
		farm.Task{ID: 21, Parent: 20, State: farm.Open, Method: "createrepo", Arch: "noarch", Label: "repo 12 x86_64", Owner: "kojira", HostID: 1, Host: "builder1",
			Priority: 14, Created: started, Started: started},
		farm.Task{ID: 22, Parent: 20, State: farm.Open, Method: "createrepo", Arch: "noarch", Label: "repo 12 aarch64", Owner: "kojira", HostID: 1, Host: "builder1",
			Priority: 14, Created: started, Started: started},
	)
	s.Open += 3
	s.ActiveTotal += 3
	return s
}

func repoTask(s *farm.Snapshot, id int64) farm.Task {
	for _, t := range s.Active {
		if t.ID == id {
			return t
		}
	}
	panic("no task")
}

// repoDetail is the detail of task 20 (or 21) with the hub's progress.
func repoDetail(id int64) *farm.TaskDetail {
	s := repoFixture()
	t := repoTask(s, id)
	arches := []farm.ArchProgress{
		{TaskID: 22, Arch: "aarch64", Done: 2996, Total: 5857, At: now.Add(-2 * time.Second)},
		{TaskID: 21, Arch: "x86_64", Done: 3000, Total: 5900, At: now.Add(-1 * time.Second)},
	}
	d := &farm.TaskDetail{Task: t, Request: `newRepo("f40-build")`, ProgressAsked: true,
		Progress: &farm.RepoProgress{RepoID: 12, Done: 5996, Total: 11757, At: now.Add(-time.Second), Arches: arches}}
	if id == 20 {
		d.Children = []farm.Task{repoTask(s, 21), repoTask(s, 22)}
	} else {
		d.Request = `createrepo(12, "x86_64", None)`
		d.Progress = &farm.RepoProgress{RepoID: 12, Done: 3000, Total: 5900, At: now.Add(-time.Second), Arches: arches[1:]}
	}
	return d
}

// openRepoDetail opens the tasks view's detail pane on task id.
func openRepoDetail(t *testing.T, m *Model, id int64) {
	t.Helper()
	press(m, "2")
	for i, r := range m.tasks.rows {
		if r.ID == id {
			m.tasks.cursor = i
		}
	}
	press(m, "enter")
	if s, ok := m.tasks.selected(); !ok || s.ID != id || !m.tasks.detailOpen {
		t.Fatalf("selected %d open %v, want the detail of %d", s.ID, m.tasks.detailOpen, id)
	}
}

func TestRepoProgressInTaskDetail(t *testing.T) {
	for _, c := range []struct {
		name   string
		id     int64
		change func(d *farm.TaskDetail, s *farm.Snapshot)
		want   []string
		absent []string
	}{
		{"newRepo, two arches", 20, nil, []string{
			"  repo 12 (f40-build): 5,996 / 11,757 packages  50% [|||||.....] · reported 1s ago",
			"    aarch64 task 22  2,996 / 5,857 packages  51% [|||||.....]",
			"    x86_64  task 21  3,000 / 5,900 packages  50% [|||||.....]",
		}, nil},
		{"createrepo names its parent's tag, one arch", 21, nil, []string{
			"  repo 12 (f40-build): 3,000 / 5,900 packages  50% [|||||.....] · reported 1s ago",
		}, []string{"x86_64  task 21"}},
		{"createrepo whose parent is not in the list", 21, func(d *farm.TaskDetail, s *farm.Snapshot) { s.Active = s.Active[:len(s.Active)-3] },
			nil, nil}, // checked below: the task is not in the list, so no pane
		{"total not known yet", 21, func(d *farm.TaskDetail, s *farm.Snapshot) { d.Progress.Total, d.Progress.Done = 0, 0 },
			[]string{"  repo 12 (f40-build): counting packages…"}, nil},
		{"stale report", 21, func(d *farm.TaskDetail, s *farm.Snapshot) { d.Progress.At = now.Add(-3 * time.Minute) },
			[]string{"reported 3m ago (is the builder still working?)"}, nil},
		{"no report yet", 20, func(d *farm.TaskDetail, s *farm.Snapshot) { d.Progress = nil },
			[]string{"  repo: no progress reported yet"}, []string{"packages"}},
		{"stock hub: not asked", 20, func(d *farm.TaskDetail, s *farm.Snapshot) { d.Progress, d.ProgressAsked = nil, false },
			nil, []string{"packages", "repo:", "progress"}},
		{"finished since, by the detail", 20, func(d *farm.TaskDetail, s *farm.Snapshot) { d.Task.State = farm.Closed },
			nil, []string{"packages"}},
		{"finished since, by the list", 20, func(d *farm.TaskDetail, s *farm.Snapshot) {
			for i := range s.Active {
				if s.Active[i].ID == 20 {
					s.Active[i].State = farm.Closed
				}
			}
		}, nil, []string{"packages"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := repoFixture()
			d := repoDetail(c.id)
			if c.change != nil {
				c.change(d, s)
			}
			m := newTestModel(t, admin, true, 160, 48, s)
			press(m, "2")
			if _, ok := m.tasks.selected(); !ok {
				t.Fatal("no rows")
			}
			var found bool
			for _, r := range m.tasks.rows {
				found = found || r.ID == c.id
			}
			if !found {
				return
			}
			openRepoDetail(t, m, c.id)
			m.Update(taskDetailMsg{id: c.id, detail: d})
			frame := m.render()
			if hasColour(frame) || strings.Contains(frame, "\x1b[3") {
				t.Errorf("no-colour frame holds colour")
			}
			lines := strings.Split(frame, "\n")
			for _, w := range c.want {
				ok := false
				for _, l := range lines {
					ok = ok || strings.TrimRight(l, " ") == w || strings.Contains(l, w)
				}
				if !ok {
					t.Errorf("frame lacks %q:\n%s", w, frame)
				}
			}
			detail := strings.Join(m.tasks.detailLines(m, 160, 30), "\n")
			for _, a := range c.absent {
				if strings.Contains(detail, a) {
					t.Errorf("detail holds %q:\n%s", a, detail)
				}
			}
		})
	}
}

func TestRepoProgressFitsNarrowTerminals(t *testing.T) {
	for _, noColor := range []bool{true, false} {
		m := newTestModel(t, admin, noColor, 80, 24, repoFixture())
		openRepoDetail(t, m, 20)
		m.Update(taskDetailMsg{id: 20, detail: repoDetail(20)})
		checkFrame(t, m.render(), 80, 24)
		if !strings.Contains(m.render(), "5,996 / 11,757 packages") {
			t.Errorf("80 columns lost the progress:\n%s", m.render())
		}
		if noColor && hasColour(m.render()) {
			t.Errorf("no-colour frame holds colour escapes")
		}
	}
}

func TestProgressWords(t *testing.T) {
	for _, c := range []struct {
		done, total int64
		want        string
	}{
		{5996, 11757, "5,996 / 11,757 packages  50% [|||||.....]"},
		{11756, 11757, "11,756 / 11,757 packages  99% [||||||||||]"},
		{11757, 11757, "11,757 / 11,757 packages 100% [||||||||||]"},
		{0, 12788, "0 / 12,788 packages   0% [..........]"},
		{0, 0, "counting packages…"},
		{1234567, 2000000, "1,234,567 / 2,000,000 packages  61% [||||||....]"},
	} {
		p := farm.RepoProgress{Done: c.done, Total: c.total}
		if got := progressWords(c.done, c.total, p.Fraction(), 0, 0); got != c.want {
			t.Errorf("progressWords(%d, %d) = %q, want %q", c.done, c.total, got, c.want)
		}
	}
	for _, c := range []struct {
		n    int64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {-1234, "-1,234"}, {12788, "12,788"}} {
		if got := commas(c.n); got != c.want {
			t.Errorf("commas(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

// detailCaller answers TaskDetail's multicall with one task and its
// progress, and counts the requests.
type detailCaller struct {
	state    int64
	requests int
}

func (f *detailCaller) Call(ctx context.Context, method string, args ...any) (any, error) {
	f.requests++
	return nil, &kojiclient.Fault{Code: 1000, String: "Invalid method: " + method}
}

func (f *detailCaller) MultiCall(ctx context.Context, calls []kojiclient.CallSpec) ([]kojiclient.Result, error) {
	f.requests++
	out := make([]kojiclient.Result, len(calls))
	for i, c := range calls {
		switch c.Method {
		case "getTaskInfo":
			out[i].Value = map[string]any{"id": int64(20), "state": f.state, "method": "newRepo", "request": []any{"f40-build"}}
		case "kojigo.getRepoProgress":
			out[i].Value = map[string]any{"repo_id": int64(12), "done": int64(1), "total": int64(2)}
		default:
			out[i].Value = []any{}
		}
	}
	return out, nil
}

func TestRepoProgressRefreshesWhileRunning(t *testing.T) {
	fc := &detailCaller{state: farm.Open}
	m := New(Config{Hub: &farm.Hub{Calls: fc}, Me: admin, NoColor: true, Now: func() time.Time { return now }})
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
	m.Update(SnapshotMsg{Snap: repoFixture()})
	openRepoDetail(t, m, 20)
	run := func(cmd tea.Cmd) tea.Msg {
		t.Helper()
		if cmd == nil {
			t.Fatal("no command")
		}
		return cmd()
	}
	msg := run(m.taskDetailCmd(repoTask(repoFixture(), 20)))
	if _, cmd := m.Update(msg); cmd == nil || !m.tasks.progressPending {
		t.Fatalf("a running repo task's detail armed no refresh (pending %v)", m.tasks.progressPending)
	}
	if m.tasks.detail == nil || m.tasks.detail.Progress == nil || m.tasks.detail.Progress.Total != 2 {
		t.Fatalf("detail %+v", m.tasks.detail)
	}
	// A second answer (the snapshot's refresh) arms no second timer.
	if _, cmd := m.Update(msg); cmd != nil {
		t.Errorf("a second detail armed a second timer")
	}
	// The timer reads the detail again, whose answer re-arms it.
	_, cmd := m.Update(progressTickMsg{id: 20})
	if m.tasks.progressPending {
		t.Errorf("still pending after the tick")
	}
	before := fc.requests
	msg = run(cmd)
	if fc.requests != before+1 {
		t.Errorf("the refresh took %d requests, want 1", fc.requests-before)
	}
	if _, cmd := m.Update(msg); cmd == nil {
		t.Errorf("the refresh did not re-arm")
	}
	// A tick for another task, or with the pane closed, reads nothing.
	m.tasks.progressPending = false
	if _, cmd := m.Update(progressTickMsg{id: 21}); cmd != nil {
		t.Errorf("a tick for another task read the detail")
	}
	press(m, "esc")
	if _, cmd := m.Update(progressTickMsg{id: 20}); cmd != nil {
		t.Errorf("a tick with the pane closed read the detail")
	}
	// Once the task has finished, the pane shows no progress and stops.
	press(m, "enter")
	fc.state = farm.Closed
	msg = run(m.taskDetailCmd(repoTask(repoFixture(), 20)))
	if _, cmd := m.Update(msg); cmd != nil || m.tasks.progressPending {
		t.Errorf("a finished task armed a refresh")
	}
	if strings.Contains(m.render(), "packages") {
		t.Errorf("a finished task shows progress:\n%s", m.render())
	}
}

// TestGoldenRepoProgress draws the detail pane of a newRepo task while its
// repo is made: the summed progress, then each arch.
func TestGoldenRepoProgress(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{80, 24}, {160, 48}} {
		for _, noColor := range []bool{true, false} {
			name := fmt.Sprintf("tasks-repo-detail-%dx%d", sz.w, sz.h)
			if noColor {
				name += "-nocolor"
			}
			t.Run(name, func(t *testing.T) {
				m := newTestModel(t, admin, noColor, sz.w, sz.h, repoFixture())
				openRepoDetail(t, m, 20)
				m.Update(taskDetailMsg{id: 20, detail: repoDetail(20)})
				checkFrame(t, m.render(), sz.w, sz.h)
				if noColor && hasColour(m.render()) {
					t.Errorf("no-colour frame holds colour escapes:\n%q", m.render())
				}
				golden(t, name, screen(m))
			})
		}
	}
}
