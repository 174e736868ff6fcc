package builderd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kojigo/internal/kojiclient"
	"kojigo/internal/kojixml"
	"kojigo/internal/testenv"
)

// The hub client kojid's main passes to Run.
var _ Hub = (*kojiclient.Client)(nil)

func TestBuildSRPMFromSCMFailures(t *testing.T) {
	testenv.NeedTool(t, "rpmbuild")
	repo, _ := gitRepo(t, "hello")
	twoSpecs, _ := gitRepo(t, "hello")
	if err := os.WriteFile(filepath.Join(twoSpecs, "other.spec"), []byte("Name: other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Committed with a second spec.
	gitCommitAll(t, twoSpecs)
	tests := []struct {
		name, url, want string
		code            int
	}{
		{"unknown revision", "git+file://" + repo + "#nosuchbranch", "revision nosuchbranch not found", kojixml.BuildError},
		{"no spec in module", "git+file://" + repo + "?nodir#main", "no directory nodir in the repository", kojixml.BuildError},
		{"two specs", "git+file://" + twoSpecs + "#main", "multiple spec files found in git+file://" + twoSpecs + "#main: hello.spec, other.spec", kojixml.BuildError},
		{"missing repository", "git+file:///nonexistent/repo.git#main", "git clone exited with status 128; see checkout.log", kojixml.BuildError},
		{"not allowed", "git+https://evil.example.org/x.git#main", "evil.example.org:/x.git is not in the list of allowed SCMs", kojixml.BuildError},
		{"no revision", "git+file://" + repo, "no revision", kojixml.BuildError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.cfg.AllowedSCMs = []string{":/*"}
			id := e.hub.addTask("buildSRPMFromSCM", tc.url, int64(10), map[string]any{})
			e.start(t)
			tk := e.hub.waitState(id, 30*time.Second, stateClosed, stateFailed)
			if tk.state != stateFailed || !strings.Contains(tk.fault.String, tc.want) || tk.fault.Code != tc.code {
				t.Errorf("task = %s %+v, want fault %d with %q", stateName(tk.state), tk.fault, tc.code, tc.want)
			}
		})
	}
}

func gitCommitAll(t *testing.T, dir string) {
	t.Helper()
	git := testenv.NeedTool(t, "git")
	for _, args := range [][]string{{"add", "."}, {"commit", "-q", "-m", "more"}} {
		cmd := execGit(git, dir, args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

func TestBadTaskRequests(t *testing.T) {
	tests := []struct {
		name   string
		method string
		params []any
		raw    string
		code   int
		want   string
	}{
		{"wrong type", "buildArch", []any{int64(5), int64(10), "noarch", true, map[string]any{}}, "", kojixml.ParameterError, "pkg"},
		{"too many args", "tagBuild", []any{int64(1), int64(2), false, nil, true, "extra"}, "", kojixml.ParameterError, ""},
		{"missing args", "buildSRPMFromSCM", []any{}, "", kojixml.ParameterError, "url"},
		{"garbage request", "tagBuild", nil, "<methodCall><methodName>x</methodName><params><param><value><int>1</int></value></param>", kojixml.GenericError, "cannot decode its request"},
		{"entity expansion", "tagBuild", nil, `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><methodCall><methodName>tagBuild</methodName><params><param><value>&a;</value></param></params></methodCall>`, kojixml.GenericError, "cannot decode its request"},
		{"hostile arch", "buildArch", []any{"cli-build/x/x.src.rpm", int64(10), "../../x", true, map[string]any{}}, "", kojixml.BuildError, "bad arch"},
		{"path outside work", "buildArch", []any{"../../../etc/shadow", int64(10), "noarch", true, map[string]any{}}, "", kojixml.BuildError, "bad path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			id := e.hub.addTask(tc.method, tc.params...)
			if tc.raw != "" {
				e.hub.mu.Lock()
				e.hub.tasks[id].rawRequest = tc.raw
				e.hub.mu.Unlock()
			}
			e.start(t)
			tk := e.hub.waitState(id, 30*time.Second, stateClosed, stateFailed)
			if tk.state != stateFailed || tk.fault.Code != tc.code || !strings.Contains(tk.fault.String, tc.want) {
				t.Errorf("task = %s %+v, want fault %d with %q", stateName(tk.state), tk.fault, tc.code, tc.want)
			}
		})
	}
}
