package repogen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// comparePaths orders packages as createrepo_c writes them: by file name,
// then by directory (a package at the top sorts before one in a directory).
func comparePaths(a, b string) int {
	da, fa := splitHref(a)
	db, fb := splitHref(b)
	if c := strings.Compare(fa, fb); c != 0 {
		return c
	}
	return strings.Compare(da, db)
}

func splitHref(h string) (dir, file string) {
	if i := strings.LastIndexByte(h, '/'); i >= 0 {
		return h[:i], h[i+1:]
	}
	return "", h
}

// cleanHref validates one package path relative to the base directory and
// returns it in slash form without "./" prefixes.
func cleanHref(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty package path")
	}
	if strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("package path %q contains a NUL byte", p)
	}
	c := filepath.ToSlash(filepath.Clean(filepath.FromSlash(p)))
	if !filepath.IsLocal(filepath.FromSlash(c)) {
		return "", fmt.Errorf("package path %q is not inside the package directory", p)
	}
	return c, nil
}

// sortPackages validates, de-duplicates and orders a package list; up
// allows one leading "../" (Options.Subrepo).
func sortPackages(list []string, up bool) ([]string, int, error) {
	out := make([]string, 0, len(list))
	for _, p := range list {
		c, err := cleanHref(p)
		if rest, ok := strings.CutPrefix(p, "../"); err != nil && up && ok {
			if r, rerr := cleanHref(rest); rerr == nil {
				c, err = "../"+r, nil
			}
		}
		if err != nil {
			return nil, 0, err
		}
		out = append(out, c)
	}
	slices.SortFunc(out, comparePaths)
	n := len(out)
	out = slices.Compact(out)
	return out, n - len(out), nil
}

// scanDir lists the *.rpm files under dir, skipping repodata directories and
// the engine's own temporary directories. It reads directories in batches
// and keeps only the names it needs, so a directory of many thousand
// packages does not cost a directory listing's worth of memory.
func scanDir(ctx context.Context, dir string) ([]string, error) {
	var list []string
	pending := []string{""} // relative directories still to read
	for len(pending) > 0 {
		rel := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", dir, err)
		}
		for {
			if err := ctx.Err(); err != nil {
				f.Close()
				return nil, err
			}
			entries, err := f.ReadDir(512)
			for _, e := range entries {
				name := e.Name()
				switch {
				case e.IsDir():
					if name != "repodata" && !strings.HasPrefix(name, ".repodata") {
						pending = append(pending, path.Join(rel, name))
					}
				case strings.HasSuffix(name, ".rpm"):
					list = append(list, path.Join(rel, name))
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("scan %s: %w", dir, err)
			}
		}
		f.Close()
	}
	return list, nil
}

// ReadPkglist reads a createrepo_c --pkglist file: one path per line,
// relative to the package directory; blank lines and lines starting with #
// are ignored. Lines longer than 64 KiB are an error.
func ReadPkglist(r io.Reader) ([]string, error) {
	var list []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if _, err := cleanHref(s); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		list = append(list, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return list, nil
}
