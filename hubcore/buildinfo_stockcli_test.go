package hubcore

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestStockCLIBuildInfo runs Koji 1.35's own CLI (KOJI_STOCK_CLI, as
// TestStockCLIPolicyDenials) against the hub on both backends: buildinfo
// (with --changelog), rpminfo, search of each type with glob, regexp and
// exact patterns, list-untagged, download-logs, list-api, scheduler-info
// and scheduler-logs print what Koji's hub would have them print.
func TestStockCLIBuildInfo(t *testing.T) {
	cli := needStockCLI(t)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			store := openStore(t, backend)
			ctx := context.Background()
			stockAdmin(t, store)
			top := t.TempDir()
			url := startServer(t, store, func(fc *FileConfig) { fc.KojiDir = top })
			topurl := strings.TrimSuffix(url, "/kojihub") + "/kojifiles"
			run, dir := cli.client(t, url, []string{"topurl = " + topurl})
			koji := func(args ...string) (string, error) { return run("kojiadmin", "pw", args...) }
			must := func(args ...string) string {
				t.Helper()
				out, err := koji(args...)
				if err != nil {
					t.Fatalf("koji %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return out
			}
			has := func(out string, want ...string) {
				t.Helper()
				for _, w := range want {
					if !strings.Contains(out, w) {
						t.Errorf("output lacks %q:\n%s", w, out)
					}
				}
			}

			// content: hello-1.0-1 imported from its SRPM and RPM, with logs
			for _, f := range []struct{ name, source string }{{"hello-1.0-1.src.rpm", ""}, {"hello-1.0-1.x86_64.rpm", "hello-1.0-1.src.rpm"}} {
				os.WriteFile(filepath.Join(dir, f.name), changelogRPM(t, "hello", "1.0", "1", "x86_64", f.source), 0o644)
			}
			must("import", filepath.Join(dir, "hello-1.0-1.src.rpm"), filepath.Join(dir, "hello-1.0-1.x86_64.rpm"))
			logs := filepath.Join(top, "packages/hello/1.0/1/data/logs/x86_64")
			os.MkdirAll(logs, 0o755)
			os.WriteFile(filepath.Join(logs, "build.log"), []byte("built\n"), 0o644)
			must("call", "--python", "createEmptyBuild", "'empty'", "'2'", "'1'", "None")
			must("add-tag", "f40")
			must("add-tag", "f40-build", "--arches", "x86_64")
			must("add-target", "f40-candidate", "f40-build", "f40")
			must("add-host", "builder1", "x86_64")
			must("add-pkg", "--owner", "kojiadmin", "f40", "empty")
			must("call", "tagBuildBypass", "f40", "empty-2-1")
			methods := must("list-api")

			// buildinfo: every line of Koji's, the type reads and the changelog
			if strings.Contains(methods, "queryRPMSigs(") {
				out := must("buildinfo", "--changelog", "hello-1.0-1")
				has(out, "BUILD: hello-1.0-1 [", "State: COMPLETE", "Built by: kojiadmin", "Volume: DEFAULT", "Task: none", "Tags: \n",
					"RPMs:", "/packages/hello/1.0/1/src/hello-1.0-1.src.rpm", "/packages/hello/1.0/1/x86_64/hello-1.0-1.x86_64.rpm",
					"Changelog:", "* Wed Nov 15 2023 Alice <alice@example.com> - 1.0-1\n- new upstream release", "* Sat Jul 22 2023 Bob <bob@example.com> - 0.9-1")
			} else {
				t.Log("the hub has no queryRPMSigs yet: buildinfo of a build with RPMs is not run")
			}
			out := must("buildinfo", "--changelog", "empty-2-1")
			has(out, "BUILD: empty-2-1 [", "State: COMPLETE", "Tags: f40")
			out = must("call", "getChangelogEntries", "hello-1.0-1")
			has(out, "Alice <alice@example.com> - 1.0-1", "2023-11-15 00:00:00")

			out = must("rpminfo", "hello-1.0-1.x86_64", "hello-1.0-1.src")
			// rpmpack writes Epoch 0
			has(out, "RPM: 0:hello-1.0-1.x86_64 [", "Build: hello-1.0-1 [", "SRPM: 0:hello-1.0-1 [", "License: MIT", "No buildroot data available", "RPM: 0:hello-1.0-1.src [")

			for _, c := range []struct {
				args []string
				want string // the lines, sorted
			}{
				{[]string{"package", "hel*"}, "hello"},
				{[]string{"package", "*"}, "empty\nhello"},
				{[]string{"-r", "package", "^(h|e)"}, "empty\nhello"},
				{[]string{"--exact", "package", "hel"}, ""},
				{[]string{"build", "hello-1.0-?"}, "hello-1.0-1"},
				{[]string{"-r", "build", "y-2-1$"}, "empty-2-1"},
				{[]string{"tag", "f40*"}, "f40\nf40-build"},
				{[]string{"--exact", "tag", "f40"}, "f40"},
				{[]string{"target", "*candidate"}, "f40-candidate"},
				{[]string{"user", "koji*"}, "kojiadmin"},
				{[]string{"-r", "user", "ADMIN$"}, "kojiadmin"},
				{[]string{"host", "builder?"}, "builder1"},
				{[]string{"rpm", "*.src.rpm"}, "hello-1.0-1.src.rpm"},
				{[]string{"-r", "rpm", "x86_64"}, "hello-1.0-1.x86_64.rpm"},
				{[]string{"package", "%"}, ""},
				{[]string{"maven", "*"}, ""},
				{[]string{"win", "*"}, ""},
			} {
				out := must(append([]string{"search"}, c.args...)...)
				lines := strings.Fields(out)
				if got := strings.Join(sortedStrings(lines), "\n"); got != c.want {
					t.Errorf("koji search %s = %q, want %q", strings.Join(c.args, " "), got, c.want)
				}
			}
			if out, err := koji("search", "-r", "package", "("); err == nil || !strings.Contains(out, "GenericError: Invalid regular expression") {
				t.Errorf("search of a bad regexp: %v\n%s", err, out)
			}

			out = must("list-untagged")
			if strings.TrimSpace(out) != "hello-1.0-1" {
				t.Errorf("list-untagged = %q", out)
			}
			out = must("list-untagged", "--paths", "--show-references")
			has(out, "(Showing build references)", "/packages/hello/1.0/1")
			if strings.Contains(methods, "getPackageID(") {
				has(must("list-untagged", "hello"), "hello-1.0-1")
			}

			out = must("download-logs", "--nvr", "hello-1.0-1")
			has(out, "Using build ID: ")
			if got, err := os.ReadFile(filepath.Join(dir, "kojilogs", "hello-1.0-1", "build.log")); err != nil || string(got) != "built\n" {
				t.Errorf("download-logs --nvr: %v %q\n%s", err, got, out)
			}
			taskOut := must("call", "--python", "makeTask", "'newRepo'", "['f40-build']")
			taskID, err := strconv.ParseInt(strings.TrimSpace(taskOut), 10, 64)
			if err != nil {
				t.Fatalf("makeTask printed %q", taskOut)
			}
			work := filepath.Join(top, "work", "tasks", strconv.FormatInt(taskID%10000, 10), strconv.FormatInt(taskID, 10))
			os.MkdirAll(work, 0o755)
			os.WriteFile(filepath.Join(work, "createrepo.log"), []byte("making the repo\n"), 0o644)
			out = must("download-logs", "-d", filepath.Join(dir, "logs"), strconv.FormatInt(taskID, 10))
			if got, err := os.ReadFile(filepath.Join(dir, "logs", "noarch-"+strconv.FormatInt(taskID, 10), "createrepo.log")); err != nil || string(got) != "making the repo\n" {
				t.Errorf("download-logs: %v %q\n%s", err, got, out)
			}

			out = must("list-api", "getTag")
			has(out, "getTag(")
			if out, err := koji("list-api", "noSuchMethod"); err == nil || !strings.Contains(out, "Unknown method: noSuchMethod") {
				t.Errorf("list-api noSuchMethod: %v\n%s", err, out)
			}

			host, err := store.GetHostByName(ctx, "builder1")
			if err != nil {
				t.Fatal(err)
			}
			store.AddTaskRun(ctx, taskID, host.ID)
			store.AddLog(ctx, &taskID, &host.ID, "stock cli test line")
			tid, hid := strconv.FormatInt(taskID, 10), strconv.FormatInt(host.ID, 10)
			out = must("scheduler-info")
			has(out, "Task      Host", "\n"+tid+" ", " builder1 ", " FREE ")
			// Koji's CLI passes --host as given: an id works, a name fails on Koji's hub too
			out = must("scheduler-info", "-t", tid, "--host", hid)
			has(out, "\n"+tid+" ", " builder1 ")
			out = must("scheduler-logs")
			has(out, "stock cli test line", "builder1")
			out = must("scheduler-logs", "--task", tid, "--host", "builder1")
			has(out, "stock cli test line")
		})
	}
}

func sortedStrings(l []string) []string {
	out := append([]string(nil), l...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
