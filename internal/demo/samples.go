package demo

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// samplesFS holds the sample packages, copies of builderd/testdata (a test
// keeps them identical): hello (C, succeeds), noarch (greeting, succeeds),
// broken (fails to compile on purpose), greet (greet-devel, a header) and
// motd (C, built against greet-devel from the build tag's repo).
//
//go:embed samples
var samplesFS embed.FS

// sample is one package the demo builds.
type sample struct {
	Dir     string // directory under samples/
	Package string // the package name in its spec
	// WantFail is set for the package that fails on purpose.
	WantFail bool
	// WaitBuilds are the builds whose repo the build waits for (koji
	// build --wait-build): what it needs from the build tag's repo.
	WaitBuilds []string
}

// samples returns the packages the demo builds, in submission order.
func samples() []sample {
	return []sample{
		{Dir: "hello", Package: "hello"},
		{Dir: "noarch", Package: "greeting"},
		{Dir: "broken", Package: "broken", WantFail: true},
		{Dir: "greet", Package: "greet-devel"},
		{Dir: "motd", Package: "motd", WaitBuilds: []string{"greet-devel-1.0-1"}},
	}
}

// writeSample copies a sample's files into dst (made if missing).
func writeSample(s sample, dst string) error {
	sub, err := fs.Sub(samplesFS, "samples/"+s.Dir)
	if err != nil {
		return fmt.Errorf("sample %s: %w", s.Dir, err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("sample %s: %w", s.Dir, err)
	}
	return fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dst, p)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}
