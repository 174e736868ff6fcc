package kojiconf

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// DefaultMaxSize is the largest config file read when Options.MaxSize is zero.
const DefaultMaxSize = 1 << 20

// DefaultSection is configparser's section whose keys every other section inherits.
const DefaultSection = "DEFAULT"

// File is a parsed INI file, in the syntax of Python's configparser (which Koji uses):
// "[section]" headers; "key = value" or "key: value" lines; full-line comments
// starting with "#" or ";" (there are no inline comments: "a = b # c" has the value
// "b # c"); lines indented deeper than their key continue its value, joined with "\n".
// Keys are compared case-insensitively, as configparser lowercases them.
type File struct {
	Path     string
	Sections []*Section
}

// Section is one "[name]" block of a File.
type Section struct {
	Name string
	Line int
	Keys []*Key
}

// Key is one "key = value" entry; Line is where the key is written.
type Key struct {
	Name  string
	Value string
	Line  int
	// Lines is the file line of each "\n"-separated line of Value (a
	// multi-line value, such as a policy in hub.conf's [policy], has one per
	// continuation line; comment lines inside it are not part of Value).
	Lines []int
}

// Section returns the section with the given name (case-sensitive, as in
// configparser), or nil.
func (f *File) Section(name string) *Section {
	for _, s := range f.Sections {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Key returns the key with the given name (case-insensitive), or nil.
func (s *Section) Key(name string) *Key {
	for _, k := range s.Keys {
		if strings.EqualFold(k.Name, name) {
			return k
		}
	}
	return nil
}

// ParseFile reads and parses the file at path. Files larger than maxSize bytes
// (DefaultMaxSize when maxSize <= 0), files that are not regular files and files
// that are not UTF-8 text are rejected. Syntax errors are returned as Errors,
// each naming path and line.
func ParseFile(path string, maxSize int64) (*File, error) {
	data, err := readLimited(path, maxSize)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

func readLimited(path string, maxSize int64) ([]byte, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if !fi.Mode().IsRegular() {
		what := "not a regular file"
		if fi.IsDir() {
			what = "a directory"
		}
		return nil, fmt.Errorf("read config %s: is %s, want a config file", path, what)
	}
	if fi.Size() > maxSize {
		return nil, fmt.Errorf("read config %s: file is %d bytes, over the %d byte limit for config files", path, fi.Size(), maxSize)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	if int64(len(data)) > maxSize {
		return nil, fmt.Errorf("read config %s: file grew over the %d byte limit for config files", path, maxSize)
	}
	return data, nil
}

// Parse parses data as an INI file; name is used in error messages.
func Parse(name string, data []byte) (*File, error) {
	if line, what := binaryLine(data); line > 0 {
		return nil, Errors{{Origin: Origin{File: name, Line: line}, Msg: what + ": this is not a text config file"}}
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	f := &File{Path: name}
	var errs Errors
	fail := func(line int, key, format string, args ...any) {
		errs = append(errs, &Error{Origin: Origin{File: name, Line: line}, Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	var (
		cur       *Section
		curKey    *Key
		keyIndent int
		blanks    []int // blank lines seen inside a possible continuation
		seenSect  = map[string]int{}
		seenKey   = map[string]int{}
		badHeader bool // keys under a malformed header are skipped, not reported again
	)
	lines := strings.Split(string(data), "\n")
	for i, raw := range lines {
		n := i + 1
		raw = strings.TrimSuffix(raw, "\r")
		trimmed := strings.TrimSpace(raw)
		if trimmed == "" {
			blanks = append(blanks, n)
			continue
		}
		if trimmed[0] == '#' || trimmed[0] == ';' {
			continue // comments do not end a continuation, as in configparser
		}
		indent := len(raw) - len(strings.TrimLeft(raw, " \t\f\v"))
		if curKey != nil && indent > keyIndent {
			curKey.Value += strings.Repeat("\n", len(blanks)+1) + trimmed
			curKey.Lines = append(append(curKey.Lines, blanks...), n)
			blanks = blanks[:0]
			continue
		}
		blanks = blanks[:0]
		curKey = nil
		if trimmed[0] == '[' {
			// configparser takes the name up to the last "]" and ignores the
			// rest; we accept only a comment there.
			end := strings.LastIndexByte(trimmed, ']')
			rest := strings.TrimSpace(trimmed[max(end, 0)+1:])
			if end < 2 || (rest != "" && rest[0] != '#' && rest[0] != ';') {
				fail(n, "", "malformed section header %q: want [name]", clip(trimmed))
				cur, badHeader = nil, true
				continue
			}
			sname := trimmed[1:end]
			if prev, ok := seenSect[sname]; ok {
				fail(n, "", "section [%s] repeats the one on line %d", sname, prev)
				cur = f.Section(sname) // keep going to report further errors
				continue
			}
			seenSect[sname] = n
			badHeader = false
			cur = &Section{Name: sname, Line: n}
			f.Sections = append(f.Sections, cur)
			seenKey = map[string]int{}
			continue
		}
		eq := strings.IndexAny(trimmed, "=:")
		if eq < 0 {
			fail(n, "", "line %q is not a [section], key = value or comment", clip(trimmed))
			continue
		}
		kname := strings.TrimSpace(trimmed[:eq])
		value := strings.TrimSpace(trimmed[eq+1:])
		if kname == "" {
			fail(n, "", "line %q has no key name before %q", clip(trimmed), trimmed[eq:eq+1])
			continue
		}
		if cur == nil {
			if !badHeader {
				fail(n, kname, "key is outside any section: put a [section] header above it")
			}
			continue
		}
		lk := strings.ToLower(kname)
		if prev, ok := seenKey[lk]; ok {
			fail(n, kname, "duplicate key: already set on line %d of section [%s]", prev, cur.Name)
			continue
		}
		seenKey[lk] = n
		curKey = &Key{Name: kname, Value: value, Line: n, Lines: []int{n}}
		keyIndent = indent
		cur.Keys = append(cur.Keys, curKey)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return f, nil
}

// binaryLine reports the line of the first NUL byte or invalid UTF-8 sequence.
func binaryLine(data []byte) (int, string) {
	line := 1
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == 0:
			return line, "NUL byte"
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				return line, "invalid UTF-8"
			}
			i += size
		}
	}
	return 0, ""
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}
