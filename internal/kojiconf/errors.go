package kojiconf

import (
	"fmt"
	"sort"
	"strings"
)

// Origin says where a value came from: a file and line, an environment
// variable, a flag, or (all fields empty) the built-in default.
type Origin struct {
	File string // config file path as opened
	Line int    // 1-based line in File; 0 when unknown
	Env  string // environment variable name, when set from the environment
	Flag string // flag name without dashes, when set by a flag
}

// String renders the origin as "path:line", "environment KOJI_X", "flag --x" or "default".
func (o Origin) String() string {
	switch {
	case o.Flag != "":
		return "flag --" + o.Flag
	case o.Env != "":
		return "environment " + o.Env
	case o.File != "" && o.Line > 0:
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	case o.File != "":
		return o.File
	}
	return "default"
}

// IsDefault reports whether the value was not set by any source.
func (o Origin) IsDefault() bool { return o == Origin{} }

// Error is one configuration mistake, located by its Origin. Validate methods
// may return an *Error with only Key and Msg set, alone, as Errors or joined
// with errors.Join; Load fills in where that key was set. (Wrapping it with
// fmt.Errorf renders its text before Load can locate it.) An Error whose key
// was left at its default has no origin and renders as "key K: msg".
type Error struct {
	Origin
	Key string // key as the user wrote it; empty for syntax errors
	Msg string
}

func (e *Error) Error() string {
	var b strings.Builder
	if !e.Origin.IsDefault() {
		b.WriteString(e.Origin.String())
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString("key ")
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every mistake found in one load, sorted by file and line.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

func (es Errors) sort() {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
}

// suggest returns the candidate closest to name within a small edit distance
// (case-insensitive, a transposition counts as one edit), or "".
func suggest(name string, candidates []string) string {
	limit := 1 + len(name)/5
	if limit > 3 {
		limit = 3
	}
	best, bestD := "", limit+1
	lname := strings.ToLower(name)
	for _, c := range candidates {
		d := editDistance(lname, strings.ToLower(c))
		if d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	if bestD > limit {
		return ""
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 256 || len(rb) > 256 {
		if a == b {
			return 0
		}
		return 1 << 20
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

func didYouMean(s string) string {
	if s == "" {
		return ""
	}
	return "; did you mean " + s + "?"
}
