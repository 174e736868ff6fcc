package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kojigo/repogen"
	"kojigo/repogen/internal/testrpm"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(c *Config) bool
		wantErr string
	}{
		{"dir only", []string{"/srv/repo"}, func(c *Config) bool { return c.Dir == "/srv/repo" }, ""},
		{"koji's command line", []string{"--error-exit-val", "-vq", "-o", "/out", "-i", "pl", "-g", "comps.xml", "--update", "--skip-stat", "/srv/repo"},
			nil, "--quiet and --verbose"},
		{"options after the directory", []string{"/srv/repo", "--workers", "3", "--update"},
			func(c *Config) bool { return c.Dir == "/srv/repo" && c.Workers == 3 && c.Update }, ""},
		{"combined short booleans", []string{"-v", "--outputdir=/o", "d"},
			func(c *Config) bool { return c.Verbose && c.OutputDir == "/o" && c.Dir == "d" }, ""},
		{"short and long names", []string{"-s", "sha1", "--compress-type", "zstd", "--changelog-limit", "5", "d"},
			func(c *Config) bool { return c.Checksum == "sha1" && c.CompressType == "zstd" && c.ChangelogLimit == 5 }, ""},
		{"no directory", []string{"--update"}, nil, "no package directory"},
		{"two directories", []string{"a", "b"}, nil, "one package directory expected"},
		{"database", []string{"-vd", "a"}, func(c *Config) bool { return c.Database && c.Verbose }, ""},
		{"update cache", []string{"-d", "--update", "--update-cache", "a"}, func(c *Config) bool {
			o, err := c.Options()
			return err == nil && o.UpdateCache && o.Update && o.Database
		}, ""},
		{"update cache takes no value", []string{"--update-cache=maybe", "a"}, nil, "invalid"},
		{"database and no database", []string{"-d", "--no-database", "a"}, nil, "exclude each other"},
		{"unknown flag", []string{"--frobnicate", "a"}, nil, "frobnicate"},
		{"bad number", []string{"--workers", "many", "a"}, nil, "invalid value"},
		{"both name styles", []string{"--simple-md-filenames", "--unique-md-filenames", "a"}, nil, "exclude each other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tt.args, err)
			}
			if !tt.check(c) {
				t.Errorf("Parse(%q) = %+v", tt.args, c)
			}
		})
	}
}

func TestParseHelp(t *testing.T) {
	var out bytes.Buffer
	_, err := Parse([]string{"--help"}, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("Parse(--help) = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"usage: kojira createrepo", "-update", "-skip-bad", "-json-progress",
		"-database", "-general-compress-type", "signature header", ".repodata.lock"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestOptions(t *testing.T) {
	dir := t.TempDir()
	pl := filepath.Join(dir, "pkglist")
	os.WriteFile(pl, []byte("a.rpm\n# c\nsub/b.rpm\n"), 0o644)
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("../../etc/passwd\n"), 0o644)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o644)
	tests := []struct {
		name    string
		c       Config
		check   func(o repogen.Options) bool
		wantErr string
	}{
		{"defaults", Config{Dir: "d", ChangelogLimit: changelogUnset}, func(o repogen.Options) bool {
			return o.BaseDir == "d" && o.ChangelogLimit == 0 && o.Packages == nil && !o.Database &&
				o.Compression == "" && o.DatabaseCompression == "" && o.GroupCompression == ""
		}, ""},
		// createrepo_c 0.17: --compress-type is for the databases and the
		// group file only; --general-compress-type for everything, and wins.
		{"compress-type", Config{Dir: "d", CompressType: "xz", Database: true, ChangelogLimit: changelogUnset}, func(o repogen.Options) bool {
			return o.Database && o.Compression == "" && o.DatabaseCompression == repogen.CompressXZ && o.GroupCompression == repogen.CompressXZ
		}, ""},
		{"general-compress-type", Config{Dir: "d", GeneralCompress: "bz2", ChangelogLimit: changelogUnset}, func(o repogen.Options) bool {
			return o.Compression == repogen.CompressBzip2 && o.DatabaseCompression == repogen.CompressBzip2 && o.GroupCompression == repogen.CompressBzip2
		}, ""},
		{"general-compress-type wins", Config{Dir: "d", CompressType: "xz", GeneralCompress: "gz", ChangelogLimit: changelogUnset}, func(o repogen.Options) bool {
			return o.Compression == repogen.CompressGzip && o.DatabaseCompression == repogen.CompressGzip && o.GroupCompression == repogen.CompressGzip
		}, ""},
		{"bad general compression", Config{Dir: "d", GeneralCompress: "lzip", ChangelogLimit: changelogUnset}, nil, "--general-compress-type"},
		{"changelog 0 means none", Config{Dir: "d", ChangelogLimit: 0}, func(o repogen.Options) bool { return o.ChangelogLimit == repogen.ChangelogNone }, ""},
		{"changelog -1 means all", Config{Dir: "d", ChangelogLimit: -1}, func(o repogen.Options) bool { return o.ChangelogLimit == repogen.ChangelogAll }, ""},
		{"changelog -5", Config{Dir: "d", ChangelogLimit: -5}, nil, "--changelog-limit"},
		{"pkglist", Config{Dir: "d", Pkglist: pl, ChangelogLimit: changelogUnset}, func(o repogen.Options) bool {
			return strings.Join(o.Packages, ",") == "a.rpm,sub/b.rpm"
		}, ""},
		{"empty pkglist means no packages", Config{Dir: "d", Pkglist: empty, ChangelogLimit: changelogUnset}, func(o repogen.Options) bool {
			return o.Packages != nil && len(o.Packages) == 0
		}, ""},
		{"missing pkglist", Config{Dir: "d", Pkglist: filepath.Join(dir, "nope"), ChangelogLimit: changelogUnset}, nil, "--pkglist"},
		{"hostile pkglist", Config{Dir: "d", Pkglist: bad, ChangelogLimit: changelogUnset}, nil, "line 1"},
		{"bad compression", Config{Dir: "d", CompressType: "lzip", ChangelogLimit: changelogUnset}, nil, "--compress-type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := tt.c.Options()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Options() = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Options() = %v", err)
			}
			if !tt.check(o) {
				t.Errorf("Options() = %+v", o)
			}
		})
	}
}

func corpus(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := testrpm.WriteCorpus(dir, n, 1); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRunJSONProgress(t *testing.T) {
	dir := corpus(t, 12)
	c, err := Parse([]string{"--json-progress", "--workers", "2", dir}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := Run(context.Background(), c, &stdout, &stderr); err != nil {
		t.Fatalf("Run = %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var last map[string]any
	sawProgress := false
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", l, err)
		}
		if m["type"] == "progress" {
			sawProgress = true
			if m["total"] != 12.0 {
				t.Errorf("progress total %v, want 12", m["total"])
			}
		}
		last = m
	}
	if !sawProgress {
		t.Error("no progress line")
	}
	if last["type"] != "result" || last["packages"] != 12.0 || last["read"] != 12.0 {
		t.Errorf("last line %v, want a result with 12 packages", last)
	}
	if _, err := os.Stat(filepath.Join(dir, "repodata", "repomd.xml")); err != nil {
		t.Error(err)
	}
}

func TestRunBadPackage(t *testing.T) {
	dir := corpus(t, 4)
	os.WriteFile(filepath.Join(dir, "junk-1-1.noarch.rpm"), []byte("junk"), 0o644)

	c, _ := Parse([]string{"--quiet", dir}, io.Discard)
	err := Run(context.Background(), c, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "junk-1-1.noarch.rpm") {
		t.Fatalf("Run = %v, want an error naming the bad package", err)
	}

	c, _ = Parse([]string{"--skip-bad", dir}, io.Discard)
	var stdout, stderr bytes.Buffer
	if err := Run(context.Background(), c, &stdout, &stderr); err != nil {
		t.Fatalf("Run --skip-bad = %v", err)
	}
	if !strings.Contains(stderr.String(), "skipped package junk-1-1.noarch.rpm") || !strings.Contains(stdout.String(), "4 packages") {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}

	c, _ = Parse([]string{"--skip-bad", "--error-exit-val", "--json-progress", dir}, io.Discard)
	stdout.Reset()
	err = Run(context.Background(), c, &stdout, io.Discard)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 2 {
		t.Fatalf("Run --skip-bad --error-exit-val = %v, want exit status 2", err)
	}
	if !strings.Contains(stdout.String(), `"path":"junk-1-1.noarch.rpm"`) {
		t.Errorf("JSON result does not name the skipped package: %s", stdout.String())
	}
}

func TestRunMissingDir(t *testing.T) {
	c, _ := Parse([]string{"--json-progress", filepath.Join(t.TempDir(), "nope")}, io.Discard)
	var stdout bytes.Buffer
	err := Run(context.Background(), c, &stdout, io.Discard)
	if !errors.Is(err, repogen.ErrInvalidOptions) {
		t.Fatalf("Run = %v, want ErrInvalidOptions", err)
	}
	if !strings.Contains(stdout.String(), `"type":"error"`) {
		t.Errorf("no JSON error line: %q", stdout.String())
	}
}

func TestProgressBar(t *testing.T) {
	var out bytes.Buffer
	now := time.Unix(0, 0)
	p := &progress{w: &out, now: func() time.Time { return now }, every: time.Second, start: now}
	p.update(1, 100) // the first update draws at once
	now = now.Add(2 * time.Second)
	p.update(50, 100)
	now = now.Add(100 * time.Millisecond)
	p.update(51, 100) // throttled
	now = now.Add(2 * time.Second)
	p.update(100, 100)
	p.finish()
	frames := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\r")[1:]
	if len(frames) != 3 {
		t.Fatalf("drew %d frames %q, want 3", len(frames), frames)
	}
	frames = frames[1:]
	if !strings.Contains(frames[0], " 50/100  50%") || !strings.Contains(frames[0], "25 pkg/s") || !strings.Contains(frames[0], "ETA 2s") {
		t.Errorf("frame %q", frames[0])
	}
	if !strings.Contains(frames[1], "[==============================] 100/100 100%") {
		t.Errorf("final frame %q", frames[1])
	}
}

func TestBarEdgeCases(t *testing.T) {
	if got := bar(0, 0, 0, 0); !strings.Contains(got, "0/0 100%") {
		t.Errorf("bar(0, 0) = %q", got)
	}
	if got := bar(3, 10, 1.5, 4.6); !strings.Contains(got, "3/10  30%") || !strings.Contains(got, "ETA 5s") {
		t.Errorf("bar(3, 10) = %q", got)
	}
}

// TestRunDatabase: -d writes the three databases, bz2-compressed, next to
// the gzip'd XML; --compress-type changes only the databases.
func TestRunDatabase(t *testing.T) {
	dir := corpus(t, 6)
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"-d"}, []string{"primary.xml.gz", "primary.sqlite.bz2", "filelists.sqlite.bz2", "other.sqlite.bz2"}},
		{[]string{"-d", "--compress-type", "xz"}, []string{"primary.xml.gz", "primary.sqlite.xz", "other.sqlite.xz"}},
		{[]string{"--general-compress-type", "xz"}, []string{"primary.xml.xz", "other.xml.xz"}},
	} {
		c, err := Parse(append(append([]string{"--quiet"}, tt.args...), dir), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if err := Run(context.Background(), c, io.Discard, io.Discard); err != nil {
			t.Fatalf("Run %v = %v", tt.args, err)
		}
		repomd, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			if !strings.Contains(string(repomd), "-"+w+`"`) {
				t.Errorf("%v: repomd.xml has no %s", tt.args, w)
			}
		}
		if db := strings.Contains(string(repomd), "<database_version>10</database_version>"); db != (tt.args[0] == "-d") {
			t.Errorf("%v: database_version present = %v", tt.args, db)
		}
	}
}
