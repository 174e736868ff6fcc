package repogen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"kojigo/repogen/internal/testrpm"
)

const hangEnv = "REPOGEN_TEST_HANG_IN"

// TestMain doubles as the helper process of TestKilledRunKeepsPreviousRepodata:
// with hangEnv set, it starts a run on that directory and stops forever in
// the middle, waiting to be killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv(hangEnv); dir != "" {
		hang(dir)
	}
	os.Exit(m.Run())
}

func hang(dir string) {
	marker := dir + ".midway"
	_, err := Generate(context.Background(), Options{BaseDir: dir, Workers: 2, Progress: func(done, total int) {
		if done == total/2 {
			if err := os.WriteFile(marker, []byte(fmt.Sprint(done)), 0o644); err != nil {
				os.Exit(3)
			}
			for { // wait for SIGKILL; a timer keeps the runtime from calling this a deadlock
				time.Sleep(time.Hour)
			}
		}
	}})
	fmt.Fprintln(os.Stderr, "hang helper: run finished:", err)
	os.Exit(4)
}

func TestKilledRunKeepsPreviousRepodata(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	specs := testrpm.Corpus(50, 5)
	for _, s := range specs[:40] {
		if _, err := testrpm.Write(dir, s); err != nil {
			t.Fatal(err)
		}
	}
	generate(t, Options{BaseDir: dir})
	before := metadata(t, dir, "primary")
	for _, s := range specs[40:] {
		if _, err := testrpm.Write(dir, s); err != nil {
			t.Fatal(err)
		}
	}

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), hangEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(dir + ".midway"); err == nil {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("helper exited before reaching the middle of the run: %v\n%s", err, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("helper did not reach the middle of the run within 60s\n%s", stderr.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("helper exit = %v, want killed", err)
	}

	// The killed run left its work directory and its (unlocked) lock file;
	// the published repodata is the previous one, complete and consistent.
	if !hasEntry(t, dir, tmpPrefix) {
		t.Error("no work directory left: the run was not killed mid-way")
	}
	if !hasEntry(t, dir, lockName) {
		t.Error("no lock file left: the run was not killed mid-way")
	}
	if after := metadata(t, dir, "primary"); !bytes.Equal(before, after) {
		t.Fatal("the killed run changed the published primary.xml")
	}
	if n := len(parseRepo(t, dir)); n != 40 {
		t.Fatalf("published repo has %d packages, want the previous 40", n)
	}

	// The next run succeeds and cleans up.
	res := generate(t, Options{BaseDir: dir})
	if res.Packages != 50 {
		t.Errorf("next run: %d packages, want 50", res.Packages)
	}
	assertNoLeftovers(t, dir)
	sameMetadata(t, dir, fullRun(t, dir))
}

func hasEntry(t *testing.T, dir, prefix string) bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			return true
		}
	}
	return false
}

// TestRecoverInterruptedSwap covers a crash between the two renames of the
// fallback swap: repodata/ is missing and the previous one is set aside.
func TestRecoverInterruptedSwap(t *testing.T) {
	dir := corpusDir(t, 5)
	generate(t, Options{BaseDir: dir})
	want := metadata(t, dir, "primary")
	if err := os.Rename(filepath.Join(dir, "repodata"), filepath.Join(dir, oldPrefix+"100")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, oldPrefix+"050"), 0o755); err != nil { // an older leftover
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, tmpPrefix+"1-x"), 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := beginPublish(dir, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	if got := metadata(t, dir, "primary"); !bytes.Equal(got, want) {
		t.Error("the set-aside repodata was not restored")
	}
	p.release()
	assertNoLeftovers(t, dir)
}

func TestConcurrentRunIsRefused(t *testing.T) {
	dir := corpusDir(t, 3)
	unlock, err := lockDir(filepath.Join(dir, lockName))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Generate(context.Background(), Options{BaseDir: dir})
	unlock()
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("Generate while locked = %v, want ErrBusy", err)
	}
	generate(t, Options{BaseDir: dir}) // the lock is free again
}

func TestCancelledRunKeepsPreviousRepodata(t *testing.T) {
	dir := corpusDir(t, 30)
	generate(t, Options{BaseDir: dir, ChangelogLimit: 1})
	before := metadata(t, dir, "other")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Generate(ctx, Options{BaseDir: dir, Workers: 2, Progress: func(done, total int) {
		if done == 10 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Generate after cancel = %v, want context.Canceled", err)
	}
	if after := metadata(t, dir, "other"); !bytes.Equal(before, after) {
		t.Error("a cancelled run changed the published metadata")
	}
	assertNoLeftovers(t, dir)
}

func TestProgressAndResult(t *testing.T) {
	dir := corpusDir(t, 25)
	var calls []int
	res := generate(t, Options{BaseDir: dir, Workers: 4, Progress: func(done, total int) {
		if total != 25 {
			t.Errorf("progress total %d, want 25", total)
		}
		calls = append(calls, done)
	}})
	if len(calls) != 25 {
		t.Fatalf("progress called %d times, want 25", len(calls))
	}
	for i, d := range calls {
		if d != i+1 {
			t.Fatalf("progress calls %v, want 1..25 in order", calls)
		}
	}
	if res.RepodataDir != filepath.Join(dir, "repodata") || res.Revision == "" {
		t.Errorf("result dir %q, revision %q", res.RepodataDir, res.Revision)
	}
	if len(res.Files) != 3 || res.Files[0].Type != "primary" || res.Files[2].Type != "other" {
		t.Errorf("result files %+v", res.Files)
	}
	_, md := readRepomd(t, dir)
	for _, f := range res.Files {
		if md[f.Type].SumType.Value != f.Checksum || md[f.Type].Location.Href != f.Href || md[f.Type].Timestamp != f.Timestamp {
			t.Errorf("result file %+v does not match repomd.xml %+v", f, md[f.Type])
		}
	}
	if res.BytesRead <= 0 || res.Timings.Total <= 0 || res.Timings.Total < res.Timings.Generate {
		t.Errorf("bytes %d, timings %+v", res.BytesRead, res.Timings)
	}
}

func TestRevisionOption(t *testing.T) {
	dir := corpusDir(t, 2)
	generate(t, Options{BaseDir: dir, Revision: "kojira & <42>"})
	if rev, _ := readRepomd(t, dir); rev != "kojira & <42>" {
		t.Errorf("revision %q", rev)
	}
	fixed := time.Unix(1234567890, 0)
	generate(t, Options{BaseDir: dir, now: func() time.Time { return fixed }})
	if rev, _ := readRepomd(t, dir); rev != "1234567890" {
		t.Errorf("default revision %q, want the clock's Unix time", rev)
	}
}

func TestOptionsValidation(t *testing.T) {
	dir := corpusDir(t, 1)
	file := filepath.Join(dir, testrpm.Corpus(1, 1)[0].FileName())
	tests := []struct {
		name string
		o    Options
	}{
		{"no base dir", Options{}},
		{"missing base dir", Options{BaseDir: filepath.Join(dir, "nope")}},
		{"base dir is a file", Options{BaseDir: file}},
		{"missing output dir", Options{BaseDir: dir, OutputDir: filepath.Join(dir, "nope")}},
		{"output dir is a file", Options{BaseDir: dir, OutputDir: file}},
		{"negative workers", Options{BaseDir: dir, Workers: -1}},
		{"too many workers", Options{BaseDir: dir, Workers: 100000}},
		{"unknown checksum", Options{BaseDir: dir, Checksum: "crc32"}},
		{"unknown compression", Options{BaseDir: dir, Compression: "lzip"}},
		{"unknown database compression", Options{BaseDir: dir, DatabaseCompression: "lzip"}},
		{"unknown group compression", Options{BaseDir: dir, GroupCompression: "lzip"}},
		{"bad changelog limit", Options{BaseDir: dir, ChangelogLimit: -7}},
		{"negative header limit", Options{BaseDir: dir, MaxHeaderBytes: -1}},
		{"missing group file", Options{BaseDir: dir, GroupFile: filepath.Join(dir, "comps.xml")}},
		{"group file is a dir", Options{BaseDir: dir, GroupFile: dir}},
		{"skip-stat without update", Options{BaseDir: dir, SkipStat: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Generate(context.Background(), tt.o)
			if !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("Generate(%+v) = %v, want ErrInvalidOptions", tt.o, err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "repodata")); !errors.Is(err, os.ErrNotExist) {
		t.Error("invalid options still wrote repodata")
	}
}

func TestHeaderLimitOption(t *testing.T) {
	dir := corpusDir(t, 3)
	_, err := Generate(context.Background(), Options{BaseDir: dir, MaxHeaderBytes: 256})
	var perr *PackageError
	if !errors.As(err, &perr) || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("Generate with a 256-byte header limit = %v, want a package error about the size", err)
	}
}

// TestLockExcludes hammers lockDir from several goroutines: the holder
// removes the lock file before unlocking it, and no two may ever hold the
// lock at once (one that locked the unlinked file must notice and retry).
func TestLockExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), lockName)
	var holders, acquired, overlaps atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				unlock, err := lockDir(path)
				if errors.Is(err, ErrBusy) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				if holders.Add(1) > 1 {
					overlaps.Add(1)
				}
				acquired.Add(1)
				holders.Add(-1)
				unlock()
			}
		}()
	}
	wg.Wait()
	if n := overlaps.Load(); n > 0 {
		t.Errorf("the lock was held twice at once %d times (of %d acquisitions)", n, acquired.Load())
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file left behind (stat: %v)", err)
	}
}

// TestStaleLockFileIsHarmless: an empty lock file left by a killed run (the
// kernel dropped its flock) does not block the next run, which removes it.
func TestStaleLockFileIsHarmless(t *testing.T) {
	dir := corpusDir(t, 3)
	if err := os.WriteFile(filepath.Join(dir, lockName), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	generate(t, Options{BaseDir: dir})
	assertNoLeftovers(t, dir)
}

// TestLockOfRemovedFileIsNotHeld is the race TestLockExcludes may miss: a
// run opens the lock file just before its holder removes it and unlocks;
// its flock then succeeds on a file no longer at the path, which must not
// count as holding the lock.
func TestLockOfRemovedFileIsNotHeld(t *testing.T) {
	path := filepath.Join(t.TempDir(), lockName)
	unlock, err := lockDir(path)
	if err != nil {
		t.Fatal(err)
	}
	early, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer early.Close()
	unlock()
	if held, err := lockOpened(early, path); held || err != nil {
		t.Errorf("lockOpened on the removed lock file = %v, %v; want false, nil", held, err)
	}
	unlock2, err := lockDir(path)
	if err != nil {
		t.Fatalf("lockDir after the holder left = %v", err)
	}
	unlock2()
}
