package health

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"
)

// TestMeasureDisk: the one-directory measurement the hub uses for topdir is
// Probe's: a real directory has space and a mount; a missing one, a file
// or an empty path is an error that names it.
func TestMeasureDisk(t *testing.T) {
	dir := t.TempDir()
	d := MeasureDisk(Watch{Role: RoleTopdir, Path: dir})
	if d.Err != nil || d.Total == 0 || d.Free > d.Total || d.Role != RoleTopdir || d.Path != dir {
		t.Errorf("MeasureDisk(%s) = %+v", dir, d)
	}
	p, _ := NewProber(ProberOptions{Watches: []Watch{{Role: RoleTopdir, Path: dir}}, Tools: []string{}})
	if pd := p.Probe(t.Context()).Disks[0]; pd.Mount != d.Mount || pd.Total != d.Total {
		t.Errorf("Probe saw %+v, MeasureDisk %+v", pd, d)
	}
	for _, bad := range []string{filepath.Join(dir, "missing"), "", "/dev/null", "/\x00"} {
		if d := MeasureDisk(Watch{Role: RoleTopdir, Path: bad}); d.Err == nil {
			t.Errorf("MeasureDisk(%q) = %+v, want an error", bad, d)
		}
	}
}

// TestDiskReasons: Evaluate's words for one disk.
func TestDiskReasons(t *testing.T) {
	d := Disk{Role: RoleTopdir, Path: "/mnt/koji", Free: 1288490188, Total: 100 << 30}
	for _, tc := range []struct {
		d    Disk
		min  int64
		want []string
	}{
		{d, 8 << 30, []string{"topdir /mnt/koji: 1.1 GiB free < minspace 8 GiB"}},
		{d, 1 << 30, nil},
		{d, 0, nil},
		{d, -1, nil},
		{Disk{Role: RoleTopdir, Path: "/x", Err: errors.New("no such directory: /x")}, 1, []string{"topdir /x: no such directory: /x"}},
		{Disk{Role: RoleWorkdir, Path: "/w", Free: 10, WriteErr: errors.New("read-only")}, 100, []string{"workdir /w: 10 B free < minspace 100 B", "workdir not writable: read-only"}},
	} {
		if got := DiskReasons(tc.d, tc.min); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DiskReasons(%+v, %d) = %q, want %q", tc.d, tc.min, got, tc.want)
		}
	}
}

func TestBusy(t *testing.T) {
	full := func(p *Probe) { p.Jobs = 2 }
	over := func(p *Probe) { p.TaskLoad, p.Capacity = 3, 2 }
	disk := func(p *Probe) { p.Disks = []Disk{{Role: "workdir", Path: "/w", Free: 1 << 20, Total: 1 << 30}} }
	for _, tc := range []struct {
		name  string
		tweak []func(*Probe)
		want  bool
	}{
		{"ready", nil, false},
		{"at maxjobs", []func(*Probe){full}, true},
		{"over capacity", []func(*Probe){over}, true},
		{"full and short of disk", []func(*Probe){full, disk}, false},
		{"short of disk", []func(*Probe){disk}, false},
	} {
		p := Probe{}
		for _, f := range tc.tweak {
			f(&p)
		}
		if got := Busy(Config{MaxJobs: 2, MinSpace: 8 << 20, MaxLoad: -1, RequiredTools: []string{}}, p); got != tc.want {
			t.Errorf("%s: Busy = %v, want %v", tc.name, got, tc.want)
		}
	}
}
