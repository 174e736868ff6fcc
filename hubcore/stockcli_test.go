package hubcore

import (
	"testing"

	"kojigo/internal/kojixml"
)

// TestStockCLITagInfoAndBuildroots covers what the stock koji 1.35.3 CLI
// needs from the hub for taginfo (mavenEnabled), mock-config --task and
// --buildroot (listBuildroots/getBuildroot rows with tag_name, repo_id and
// arch) and repoinfo --buildroots (listBuildroots(repoID=)).
func TestStockCLITagInfoAndBuildroots(t *testing.T) {
	forBackends(t, func(t *testing.T, th *testHub) {
		admin := th.login(th.ensureAdmin(), "adminpw")
		host, hostID := th.addHost("builder1")
		tagID := admin.must("createTag", "f40-build", kw{"arches": "x86_64"}).(int64)
		otherID := admin.must("createTag", "other").(int64)
		repoID := host.must("host.repoInit", "f40-build").([]any)[0].(int64)
		brID := host.must("host.newBuildRoot", repoID, "x86_64").(int64)

		// every key the CLI or Koji's query_buildroots gives
		brKeys := []string{"id", "br_type", "cg_id", "cg_name", "cg_version", "container_arch", "arch",
			"container_type", "host_os", "host_arch", "extra", "state", "task_id", "host_id", "host_name",
			"repo_id", "repo_state", "tag_id", "tag_name", "create_event_id", "create_event_time", "create_ts",
			"retire_event_id", "retire_event_time", "retire_ts", "repo_create_event_id", "repo_create_event_time"}
		checkBR := func(t *testing.T, what string, v any) {
			t.Helper()
			br, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%s = %#v, want a struct", what, v)
			}
			for _, k := range brKeys {
				if _, ok := br[k]; !ok {
					t.Errorf("%s: no %q in %v", what, k, br)
				}
			}
			want := map[string]any{"id": brID, "arch": "x86_64", "container_arch": "x86_64", "container_type": "chroot",
				"repo_id": repoID, "tag_id": tagID, "tag_name": "f40-build", "host_id": hostID, "host_name": "builder1",
				"br_type": int64(0), "state": int64(0), "task_id": nil}
			for k, w := range want {
				if br[k] != w {
					t.Errorf("%s[%q] = %#v, want %#v", what, k, br[k], w)
				}
			}
		}

		cases := []struct {
			name   string
			method string
			args   []any
			fault  int           // expected fault code, 0 for none
			check  func(any) int // returns the number of buildroots, -1 to skip counting
			want   int
		}{
			{name: "mavenEnabled", method: "mavenEnabled", check: func(v any) int {
				if v != false {
					t.Errorf("mavenEnabled() = %#v, want False", v)
				}
				return -1
			}},
			{name: "winEnabled", method: "winEnabled", check: func(v any) int {
				if v != false {
					t.Errorf("winEnabled() = %#v, want False", v)
				}
				return -1
			}},
			{name: "getBuildroot", method: "getBuildroot", args: []any{brID}, check: func(v any) int { checkBR(t, "getBuildroot", v); return -1 }},
			{name: "getBuildroot missing", method: "getBuildroot", args: []any{int64(9999)}, check: func(v any) int {
				if v != nil {
					t.Errorf("getBuildroot(9999) = %#v, want None", v)
				}
				return -1
			}},
			{name: "getBuildroot missing strict", method: "getBuildroot", args: []any{int64(9999), kw{"strict": true}}, fault: kojixml.GenericError},
			{name: "getBuildroot no arg", method: "getBuildroot", fault: kojixml.ParameterError},
			{name: "listBuildroots repoID", method: "listBuildroots", args: []any{kw{"repoID": repoID}}, want: 1},
			{name: "listBuildroots buildrootID", method: "listBuildroots", args: []any{kw{"buildrootID": brID}}, want: 1},
			{name: "listBuildroots tagID", method: "listBuildroots", args: []any{kw{"tagID": tagID}}, want: 1},
			{name: "listBuildroots other tagID", method: "listBuildroots", args: []any{kw{"tagID": otherID}}, want: 0},
			{name: "listBuildroots hostID", method: "listBuildroots", args: []any{kw{"hostID": hostID}}, want: 1},
			{name: "listBuildroots rpmID", method: "listBuildroots", args: []any{kw{"rpmID": int64(1)}}, want: 0},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if tc.fault != 0 {
					th.anon().fault(tc.fault, tc.method, tc.args...)
					return
				}
				v := th.anon().must(tc.method, tc.args...)
				if tc.check != nil {
					tc.check(v)
					return
				}
				l, ok := v.([]any)
				if !ok || len(l) != tc.want {
					t.Fatalf("%s = %#v, want %d rows", tc.method, v, tc.want)
				}
				for _, r := range l {
					checkBR(t, tc.name, r)
				}
			})
		}
	})
}
