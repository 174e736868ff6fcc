package ctl

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"kojigo/internal/kojixml"
)

func fakeHosts(fh *fakeHub) {
	fh.answer("listHosts", []any{
		map[string]any{"id": int64(2), "name": "builder2", "arches": "aarch64", "task_load": 1.5, "capacity": 4.0,
			"enabled": false, "ready": false, "comment": "disk replaced", "description": nil},
		map[string]any{"id": int64(1), "name": "builder1", "arches": "x86_64 i686", "task_load": 0.0, "capacity": 2.0,
			"enabled": true, "ready": true, "comment": nil, "description": "the first"},
	})
	fh.on("getLastHostUpdate", func(args []any, kw map[string]any) (any, error) {
		if args[0] == int64(1) {
			return 1795725897.5, nil // Thu, 26 Nov 2026 20:44:57 UTC
		}
		return nil, nil
	})
}

func TestListHosts(t *testing.T) {
	fh := newFakeHub(t)
	fakeHosts(fh)
	te := newTestEnv(t, fh.url)
	out := te.mustRun(t, 0, "list-hosts")
	want := "" +
		"Hostname Enb Rdy Load/Cap  Arches           Last Update                         \n" +
		"--------------------------------------------------------------------------------\n" +
		"builder1 Y   Y    0.0/2.0  x86_64,i686      Thu, 26 Nov 2026 20:44:57 UTC      \n" +
		"builder2 N   N    1.5/4.0  aarch64          -                                  \n"
	if out != want {
		t.Errorf("list-hosts output:\n%q\nwant:\n%q", out, want)
	}
	// Koji's calls: listHosts() without arguments, then getLastHostUpdate(id, ts=True) in a multicall
	lh := fh.called("listHosts")
	if len(lh) != 1 || len(lh[0].args) != 0 || lh[0].kw != nil {
		t.Errorf("listHosts calls %+v", lh)
	}
	gl := fh.called("mc:getLastHostUpdate")
	if len(gl) != 2 || gl[0].kw["ts"] != true {
		t.Errorf("getLastHostUpdate calls %+v", gl)
	}
	if len(fh.called("login")) != 0 {
		t.Error("list-hosts logged in")
	}

	out = te.mustRun(t, 0, "list-hosts", "--quiet", "--comment", "--description")
	if strings.Contains(out, "Hostname") || !strings.Contains(out, "disk replaced") || !strings.Contains(out, "the first") {
		t.Errorf("--quiet --comment --description:\n%s", out)
	}
}

func TestListHostsFilters(t *testing.T) {
	fh := newFakeHub(t)
	fakeHosts(fh)
	fh.on("getChannel", func(args []any, kw map[string]any) (any, error) {
		if args[0] == "default" {
			return map[string]any{"id": int64(1), "name": "default"}, nil
		}
		return nil, nil
	})
	te := newTestEnv(t, fh.url)
	te.mustRun(t, 0, "list-hosts", "--arch", "x86_64", "--arch", "i686", "--channel", "default", "--not-ready", "--enabled")
	lh := fh.called("listHosts")
	wantKw := map[string]any{"arches": []any{"x86_64", "i686"}, "channelID": int64(1), "ready": false, "enabled": true}
	if len(lh) != 1 || !reflect.DeepEqual(lh[0].kw, wantKw) {
		t.Errorf("listHosts kw %+v, want %+v", lh[0].kw, wantKw)
	}
	if code := te.run(t, "list-hosts", "--channel", "nosuch"); code != 2 || !strings.Contains(te.stderr.String(), "No such channel: nosuch") {
		t.Errorf("unknown channel: exit %d, %q", code, te.stderr.String())
	}
}

func TestListHostsArgs(t *testing.T) {
	fh := newFakeHub(t)
	fakeHosts(fh)
	te := newTestEnv(t, fh.url)
	for _, args := range [][]string{
		{"list-hosts", "extra"},
		{"list-hosts", "--ready", "--not-ready"},
		{"list-hosts", "--enabled", "--disabled"},
		{"list-hosts", "--arch", "x86 64"},
		{"list-hosts", "--channel", "a\x1b[2Jb"},
		{"list-hosts", "--nosuchflag"},
	} {
		if code := te.run(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", args, code, te.stderr.String())
		}
	}
	if len(fh.called("listHosts")) != 0 {
		t.Error("a bad command line reached the hub")
	}
}

func TestListHostsEmptyAndHostile(t *testing.T) {
	fh := newFakeHub(t)
	fh.answer("listHosts", []any{})
	te := newTestEnv(t, fh.url)
	out := te.mustRun(t, 0, "list-hosts")
	if out != "" || te.stderr.String() != "No hosts found.\n" {
		t.Errorf("empty: stdout %q stderr %q", out, te.stderr.String())
	}
	fh.answer("listHosts", []any{map[string]any{"id": int64(1), "name": "evil\x1b]0;owned\x07", "arches": "x86_64\nrm -rf",
		"task_load": 0.0, "capacity": 1.0, "enabled": true, "ready": true}, "not a struct"})
	fh.answer("getLastHostUpdate", "garbage")
	out = te.mustRun(t, 0, "list-hosts")
	if strings.ContainsAny(out, "\x1b\x07") || strings.Count(out, "\n") != 3 {
		t.Errorf("hostile answer printed raw:\n%q", out)
	}
}

func TestListHostsShowChannels(t *testing.T) {
	fh := newFakeHub(t)
	fakeHosts(fh)
	fh.on("listChannels", func(args []any, kw map[string]any) (any, error) {
		return []any{map[string]any{"id": int64(2), "name": "default", "enabled": true},
			map[string]any{"id": int64(1), "name": "createrepo", "enabled": false}}, nil
	})
	te := newTestEnv(t, fh.url)
	out := te.mustRun(t, 0, "list-hosts", "--show-channels")
	lines := strings.Split(out, "\n")
	if !strings.HasSuffix(lines[0], "Channels") || !strings.HasSuffix(lines[2], " *createrepo,default") {
		t.Errorf("--show-channels:\n%s", out)
	}
}

func TestListHostsHealth(t *testing.T) {
	fh := newFakeHub(t)
	fakeHosts(fh)
	te := newTestEnv(t, fh.url)
	// a stock Koji hub: no kojigo.listHostHealth; the columns are left out
	out := te.mustRun(t, 0, "list-hosts", "--health")
	if strings.Contains(out, "Lowest Disk Free") || !strings.Contains(te.stderr.String(), "not a kojigo hub") {
		t.Errorf("stock hub: stdout %q stderr %q", out, te.stderr.String())
	}
	fh.answer("kojigo.listHostHealth", []any{
		map[string]any{"host_id": int64(1), "name": "builder1", "data": map[string]any{
			"disk": []any{
				map[string]any{"role": "workdir", "path": "/var/lib/kojid", "free": int64(1288490188), "total": int64(10 << 30)},
				map[string]any{"role": "topdir", "path": "/mnt/koji", "free": int64(50 << 30), "total": int64(100 << 30)},
				map[string]any{"role": "mockdir", "path": "/var/lib/mock", "error": "no such directory", "free": int64(0), "total": int64(0)},
			},
			"not_ready_reasons": []any{"workdir /var/lib/kojid: 1.1 GiB free < minspace 8 GiB", "rpmbuild not found: install the rpm-build package"},
		}},
		map[string]any{"host_id": int64(2), "name": "builder2", "data": nil},
	})
	out = te.mustRun(t, 0, "list-hosts", "--health")
	lines := strings.Split(out, "\n")
	if !strings.HasSuffix(lines[0], "Lowest Disk Free             Not Ready Because") {
		t.Errorf("header %q", lines[0])
	}
	if !strings.HasSuffix(lines[2], fmt.Sprintf(" %-28s %s", "1.1 GiB/10 GiB workdir", "workdir /var/lib/kojid: 1.1 GiB free < minspace 8 GiB; rpmbuild not found: install the rpm-build package")) {
		t.Errorf("builder1 line %q", lines[2])
	}
	if !strings.HasSuffix(lines[3], " -                            no health reported yet") {
		t.Errorf("builder2 line %q", lines[3])
	}
	// any other fault is an error
	fh.on("kojigo.listHostHealth", func([]any, map[string]any) (any, error) {
		return nil, kojixml.Errorf(1000, "database is down")
	})
	if code := te.run(t, "list-hosts", "--health"); code != 1 || !strings.Contains(te.stderr.String(), "database is down") {
		t.Errorf("fault: exit %d stderr %q", code, te.stderr.String())
	}
}

func TestEnableDisableHost(t *testing.T) {
	fh := newFakeHub(t)
	fh.on("getHost", func(args []any, kw map[string]any) (any, error) {
		if args[0] == "builder1" || args[0] == "builder2" {
			return map[string]any{"id": int64(1), "name": args[0]}, nil
		}
		return nil, nil
	})
	fh.answer("enableHost", nil)
	fh.answer("disableHost", nil)
	fh.answer("editHost", true)
	te := adminEnv(t, fh.url)
	if out := te.mustRun(t, 0, "enable-host", "builder1"); out != "" {
		t.Errorf("enable-host printed %q", out)
	}
	want := []string{"login", "mc:getHost", "mc:enableHost", "logout"}
	if got := fh.methods(); !reflect.DeepEqual(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}

	te.mustRun(t, 0, "disable-host", "--comment", "disk full", "builder1", "builder2")
	eh := fh.called("mc:editHost")
	if len(eh) != 2 || eh[0].args[0] != "builder1" || eh[0].kw["comment"] != "disk full" {
		t.Errorf("editHost calls %+v", eh)
	}
	if len(fh.called("mc:disableHost")) != 2 {
		t.Errorf("disableHost calls: %v", fh.methods())
	}

	// an unknown host: Koji's message, nothing changed
	before := len(fh.called("mc:disableHost"))
	out := te.mustRun(t, 1, "disable-host", "builder1", "nosuchhost")
	if out != "No such host: nosuchhost\nNo changes made. Please correct the command line.\n" {
		t.Errorf("unknown host output %q", out)
	}
	if len(fh.called("mc:disableHost")) != before {
		t.Error("disabled a host although another was unknown")
	}

	// a refused call: the hub's message, exit 1
	fh.on("disableHost", func([]any, map[string]any) (any, error) {
		return nil, kojixml.Errorf(1004, "admin permission required")
	})
	te.mustRun(t, 1, "disable-host", "builder1")
	if te.stderr.String() != "admin permission required\n" {
		t.Errorf("stderr %q", te.stderr.String())
	}
}

func TestEnableHostArgs(t *testing.T) {
	fh := newFakeHub(t)
	te := adminEnv(t, fh.url)
	for _, args := range [][]string{
		{"enable-host"},
		{"disable-host", "--comment"},
		{"disable-host", "bad host"},
		{"disable-host", "x\x00y"},
		{"disable-host", "--comment", strings.Repeat("x", 5000), "b1"},
		{"enable-host", strings.Repeat("h", 300)},
	} {
		if code := te.run(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2 (%q)", args, code, te.stderr.String())
		}
	}
	if len(fh.methods()) != 0 {
		t.Errorf("bad command lines reached the hub: %v", fh.methods())
	}
}

// TestE2EHosts drives list-hosts, enable-host and disable-host against the
// real hub on SQLite, with a builder that checks in with its health.
func TestE2EHosts(t *testing.T) {
	rh := newRealHub(t)
	te := adminEnv(t, rh.url)
	te.mustRun(t, 0, "list-hosts")
	if te.stderr.String() != "No hosts found.\n" {
		t.Fatalf("empty hub: stderr %q", te.stderr.String())
	}
	hc := rh.addHost(t, "builder1")
	out := te.mustRun(t, 0, "list-hosts")
	lines := strings.Split(out, "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[2], "builder1 Y   N    0.0/2.0  x86_64           -") {
		t.Fatalf("list-hosts after addHost:\n%s", out)
	}
	ctx := context.Background()
	data := map[string]any{
		"disk":              []any{map[string]any{"role": "workdir", "path": "/var/lib/kojid", "mount": "/", "free": int64(1288490188), "total": int64(10 << 30)}},
		"not_ready_reasons": []any{"workdir /var/lib/kojid: 1.1 GiB free < minspace 8 GiB"},
		"ready":             false,
	}
	if err := hc.UpdateHost(ctx, 0, false, data); err != nil {
		t.Fatal(err)
	}
	out = te.mustRun(t, 0, "list-hosts", "--health")
	lines = strings.Split(out, "\n")
	if !strings.Contains(lines[2], "1.1 GiB/10 GiB workdir") || !strings.HasSuffix(lines[2], "workdir /var/lib/kojid: 1.1 GiB free < minspace 8 GiB") ||
		!regexp.MustCompile(`^builder1 Y   N    0\.0/2\.0  x86_64           \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d UTC `).MatchString(lines[2]) {
		t.Errorf("list-hosts --health:\n%s", out)
	}
	t.Logf("list-hosts --health on the real hub:\n%s", out)

	te.mustRun(t, 0, "disable-host", "--comment", "disk swap on Tuesday", "builder1")
	out = te.mustRun(t, 0, "list-hosts", "--comment", "--disabled")
	if !strings.HasPrefix(strings.Split(out, "\n")[2], "builder1 N   N") || !strings.Contains(out, "disk swap on Tuesday") {
		t.Errorf("after disable-host:\n%s", out)
	}
	te.mustRun(t, 0, "list-hosts", "--enabled")
	if te.stderr.String() != "No hosts found.\n" {
		t.Errorf("--enabled after disabling: %q", te.stderr.String())
	}
	te.mustRun(t, 0, "enable-host", "builder1")
	if out := te.mustRun(t, 0, "list-hosts", "--quiet"); !strings.HasPrefix(out, "builder1 Y   N") {
		t.Errorf("after enable-host: %q", out)
	}
	if out := te.mustRun(t, 1, "disable-host", "builder1", "nosuchhost"); out != "No such host: nosuchhost\nNo changes made. Please correct the command line.\n" {
		t.Errorf("unknown host: %q", out)
	}
	// a user without the host permission is refused by the hub
	rh.addUser(t, "alice", "alicepw")
	alice := newTestEnv(t, rh.url, "user = alice", "password = alicepw")
	alice.mustRun(t, 1, "disable-host", "builder1")
	if !strings.Contains(alice.stderr.String(), "permission") {
		t.Errorf("alice: stderr %q", alice.stderr.String())
	}
	if out := te.mustRun(t, 0, "list-hosts", "--quiet"); !strings.HasPrefix(out, "builder1 Y") {
		t.Errorf("alice's refused disable-host changed the host: %q", out)
	}
}
