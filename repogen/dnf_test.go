package repogen

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"kojigo/internal/testenv"
	"kojigo/repogen/internal/testrpm"
)

// dnfQuery runs dnf repoquery against the repository in root, isolated from
// the system: no system repos, its own installroot and cache.
func dnfQuery(t *testing.T, root string, args ...string) []string {
	t.Helper()
	bin := testenv.NeedTool(t, "dnf")
	tmp := t.TempDir()
	base := []string{"-q", "--setopt=reposdir=/dev/null",
		"--setopt=cachedir=" + filepath.Join(tmp, "cache"),
		"--installroot=" + filepath.Join(tmp, "root"), "--releasever=40",
		"--repofrompath=r,file://" + root, "--repo=r", "repoquery"}
	cmd := exec.Command(bin, append(base, args...)...)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("dnf repoquery %v: %v\n%s", args, err, msg)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestDNFReadsRepo is the acceptance test: dnf lists every package of a
// repository the engine wrote, resolves a soname and a file (filelists) to
// the right package, and lists a package's files.
func TestDNFReadsRepo(t *testing.T) {
	t.Run("full", func(t *testing.T) {
		const n = 60
		src := corpusDir(t, n)
		out := t.TempDir()
		generate(t, Options{BaseDir: src, OutputDir: out})
		checkDNFReads(t, n, out)
	})
	// An update from the update cache: chunked gzip files whose chunks
	// were partly copied from the previous files.
	t.Run("update cache", func(t *testing.T) {
		const n = 60
		src := corpusDir(t, n)
		out := t.TempDir()
		aside := filepath.Join(t.TempDir(), "aside.rpm")
		first := filepath.Join(src, testrpm.Corpus(n, 1)[7].FileName())
		if err := os.Rename(first, aside); err != nil {
			t.Fatal(err)
		}
		generate(t, Options{BaseDir: src, OutputDir: out, UpdateCache: true, Database: true})
		if err := os.Rename(aside, first); err != nil {
			t.Fatal(err)
		}
		res := generate(t, Options{BaseDir: src, OutputDir: out, UpdateCache: true, Database: true, Update: true})
		if res.Read != 1 || res.Cache.ChunksReused == 0 {
			t.Fatalf("update read %d, cache %+v", res.Read, res.Cache)
		}
		checkDNFReads(t, n, out)
	})
}

func checkDNFReads(t *testing.T, n int, out string) {
	t.Helper()

	// repoquery reads only metadata, so the output directory on its own is
	// a repository for it.
	repo := out
	all := dnfQuery(t, repo, "--available")
	if len(all) != n {
		t.Fatalf("dnf lists %d packages, want %d: %q", len(all), n, all)
	}
	var lib *testrpm.Spec
	for _, s := range testrpm.Corpus(n, 1) {
		nevra := s.Name + "-" // every spec must be listed
		if !slices.ContainsFunc(all, func(l string) bool { return strings.HasPrefix(l, nevra) }) {
			t.Errorf("dnf does not list %s", s.Name)
		}
		if lib == nil && strings.HasPrefix(s.Name, "lib") && !s.Source {
			lib = s
		}
	}
	soname := lib.Provides[0].Name
	if got := dnfQuery(t, repo, "--whatprovides", soname); len(got) != 1 || !strings.HasPrefix(got[0], lib.Name+"-") {
		t.Errorf("--whatprovides %s = %q, want %s", soname, got, lib.Name)
	}
	// A file that is not a primary file: only filelists has it.
	readme := "/usr/share/doc/" + lib.Name + "/README"
	if got := dnfQuery(t, repo, "--whatprovides", readme); len(got) != 1 || !strings.HasPrefix(got[0], lib.Name+"-") {
		t.Errorf("--whatprovides %s = %q, want %s", readme, got, lib.Name)
	}
	var want []string
	for _, f := range lib.Files {
		want = append(want, f.Path)
	}
	slices.Sort(want)
	if got := dnfQuery(t, repo, "-l", lib.Name); !slices.Equal(got, want) {
		t.Errorf("-l %s = %q, want %q", lib.Name, got, want)
	}
	if got := dnfQuery(t, repo, "--changelogs", lib.Name); len(got) < 2 || !strings.HasPrefix(got[0], "Changelog for "+lib.Name) {
		t.Errorf("--changelogs %s = %q", lib.Name, got)
	}
}
