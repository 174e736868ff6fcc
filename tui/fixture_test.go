package tui

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"kojigo/tui/farm"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// now is the fixtures' clock.
var now = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

const gib = int64(1) << 30

// fixture is a small farm with one of each thing an operator must see: a
// ready host, one not ready for a full disk, a disabled one, a FREE task
// that waits, a failed build, and a refused login.
func fixture() *farm.Snapshot {
	health := func(free, total int64, reasons ...string) *farm.Health {
		return &farm.Health{
			At:       now.Add(-3 * time.Second),
			Disks:    []farm.Disk{{Role: "workdir", Path: "/var/lib/kojid", Free: free, Total: total}},
			MemTotal: 16 * gib, MemAvailable: 10 * gib, Load1: 0.5, HasLoad: true, CPUs: 4,
			Jobs: 1, MaxJobs: 10, NotReady: reasons, CertNotAfter: now.Add(300 * 24 * time.Hour), Version: "dev",
		}
	}
	return &farm.Snapshot{
		At: now,
		Hosts: []farm.Host{
			{ID: 1, Name: "builder1", Arches: []string{"x86_64"}, Enabled: true, Ready: true, TaskLoad: 1, Capacity: 4,
				Update: now.Add(-3 * time.Second), Channels: []string{"createrepo", "default"}, Health: health(30*gib, 40*gib)},
			{ID: 2, Name: "builder2", Arches: []string{"x86_64", "i686"}, Enabled: true, Ready: false, Capacity: 4,
				Update: now.Add(-5 * time.Second), Channels: []string{"default"},
				Health: health(gib, 40*gib, "workdir /var/lib/kojid: 1.0 GiB free < minspace 8.0 GiB")},
			{ID: 3, Name: "builder3", Arches: []string{"aarch64"}, Enabled: false, Ready: true, Capacity: 2,
				Comment: "disk replaced", Update: now.Add(-2 * time.Minute), Channels: []string{"default"}, Health: health(35*gib, 40*gib)},
		},
		Active: []farm.Task{
			{ID: 10, State: farm.Open, Method: "build", Label: "demo-target, hello-1.0-1.src.rpm", Owner: "alice", Priority: 20, Created: now.Add(-4 * time.Minute), Started: now.Add(-4 * time.Minute)},
			{ID: 11, Parent: 10, State: farm.Open, Method: "buildArch", Label: "hello-1.0-1.src.rpm", Arch: "x86_64", Owner: "alice", HostID: 1, Host: "builder1", Priority: 19, Created: now.Add(-3 * time.Minute), Started: now.Add(-3 * time.Minute)},
			{ID: 12, Parent: 10, State: farm.Free, Method: "buildArch", Label: "hello-1.0-1.src.rpm", Arch: "aarch64", Owner: "alice", Priority: 19, Created: now.Add(-3 * time.Minute),
				WaitReason: "no enabled host in channel default builds aarch64 (builder3 is disabled)"},
		},
		Recent: []farm.Task{
			{ID: 7, State: farm.Failed, Method: "build", Label: "demo-target, broken-1.0-1.src.rpm", Owner: "bob", Priority: 20, Created: now.Add(-20 * time.Minute), Finished: now.Add(-15 * time.Minute)},
			{ID: 8, Parent: 7, State: farm.Failed, Method: "buildArch", Label: "broken-1.0-1.src.rpm", Arch: "x86_64", Owner: "bob", HostID: 1, Host: "builder1", Created: now.Add(-19 * time.Minute), Finished: now.Add(-15 * time.Minute)},
		},
		Free: 1, Open: 2, ActiveTotal: 3, FailedLastHour: 2,
		TLS: []farm.TLSFailure{{At: now.Add(-90 * time.Second), Peer: "10.0.0.9:51234", Problem: "expired", CommonName: "builder9",
			Message: "client certificate CN=builder9 expired on 2026-12-01; issue a new one with kojictl certs host builder9"}},
		Missing: map[farm.Part]string{},
	}
}

// stockFixture is the same farm as a stock Koji hub shows it.
func stockFixture() *farm.Snapshot {
	s := fixture()
	for i := range s.Hosts {
		s.Hosts[i].Health, s.Hosts[i].Channels = nil, nil
	}
	for i := range s.Active {
		s.Active[i].WaitReason = ""
	}
	s.TLS = nil
	s.Missing = map[farm.Part]string{farm.PartHealth: "not on this hub", farm.PartReasons: "not on this hub",
		farm.PartTLS: "not on this hub", farm.PartChannels: "not on this hub"}
	return s
}

// newTestModel is a model with a snapshot, at a size, without a hub.
func newTestModel(t testing.TB, me farm.Me, noColor bool, w, h int, s *farm.Snapshot) *Model {
	t.Helper()
	m := New(Config{Me: me, Server: "https://hub.example.org/kojihub", NoColor: noColor, Now: func() time.Time { return now }})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	if s != nil {
		m.Update(SnapshotMsg{Snap: s, Took: 12 * time.Millisecond})
	}
	return m
}

var admin = farm.Me{Name: "demo-admin", ID: 1, Perms: []string{"admin"}, Admin: true, HostPerm: true}

// press sends keys, each a KeyPressMsg as the terminal would send it.
func press(m *Model, keys ...string) tea.Cmd {
	var last tea.Cmd
	for _, k := range keys {
		_, last = m.Update(keyMsg(k))
	}
	return last
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "ctrl+z":
		return tea.KeyPressMsg{Code: 'z', Mod: tea.ModCtrl}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "ctrl+\\":
		return tea.KeyPressMsg{Code: '\\', Mod: tea.ModCtrl}
	}
	r := []rune(k)
	if len(r) != 1 {
		panic("keyMsg: unknown key " + k)
	}
	code := r[0]
	var mod tea.KeyMod
	if code >= 'A' && code <= 'Z' {
		mod = tea.ModShift
		code = code - 'A' + 'a'
	}
	return tea.KeyPressMsg{Code: code, Text: k, Mod: mod}
}

// typeText sends each rune as a key press.
func typeText(m *Model, s string) {
	for _, r := range s {
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

// golden compares got with testdata/NAME.golden, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tui -run %s -update to write it)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s differs from %s (go test ./tui -update rewrites it after a deliberate change)\n--- got ---\n%s\n--- want ---\n%s", t.Name(), path, got, want)
	}
}

// screen is the model's frame with ANSI escapes made visible, so goldens
// of coloured frames are readable and diffable.
func screen(m *Model) string {
	return strings.ReplaceAll(m.render(), "\x1b", "\\e")
}
