package kojiconf

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse checks that hostile input never panics, and that every error
// names a line that exists.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "[hub]\nk = v\n", "[hub]\nk = a\n  b\n\n  c\n", "k=v", "[", "[]", "[a]\n[a]\n",
		"[a]\nk=1\nK=2\n", "\x00", "\xff", "[a]\n=\n", "[a]\n  x\n", "\ufeff[a]\r\nk: v\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("f.conf", data)
		lines := strings.Count(string(data), "\n") + 1
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("Parse error %v is not a non-empty Errors", err)
			}
			for _, e := range es {
				if e.File != "f.conf" || e.Line < 1 || e.Line > lines {
					t.Fatalf("error %q names line %d of %d", e, e.Line, lines)
				}
			}
			return
		}
		for _, s := range file.Sections {
			for _, k := range s.Keys {
				if k.Line < 1 || k.Line > lines || k.Name == "" {
					t.Fatalf("key %+v out of range (%d lines)", k, lines)
				}
			}
		}
	})
}
