package policy

// Match reports whether name matches the shell pattern as Python's
// fnmatch.fnmatchcase does on POSIX (which is what Koji's fnmatch.fnmatch
// does there): "*" matches any run of characters, "/" included; "?" any one
// character; "[seq]" and "[!seq]" a character in or not in seq, with ranges;
// a "[" without its "]" is itself. Matching is case-sensitive.
func Match(pattern, name string) bool {
	p, n := []rune(pattern), []rune(name)
	// Iterative matching with one backtrack point for the last "*".
	pi, ni := 0, 0
	starP, starN := -1, 0
	for ni < len(n) {
		if pi < len(p) {
			switch p[pi] {
			case '*':
				starP, starN = pi, ni
				pi++
				continue
			case '?':
				pi++
				ni++
				continue
			case '[':
				if ok, next, valid := matchClass(p, pi, n[ni]); valid {
					if ok {
						pi, ni = next, ni+1
						continue
					}
				} else if n[ni] == '[' {
					pi++
					ni++
					continue
				}
			default:
				if p[pi] == n[ni] {
					pi++
					ni++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starN++
		pi, ni = starP+1, starN
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// matchClass matches c against the class starting at p[i] == '['. valid is
// false when the class has no closing "]" (the "[" is then a literal);
// next is the index after the class.
func matchClass(p []rune, i int, c rune) (ok bool, next int, valid bool) {
	j := i + 1
	neg := false
	if j < len(p) && p[j] == '!' {
		neg = true
		j++
	}
	if j < len(p) && p[j] == ']' {
		j++ // a "]" first in the class is a member
	}
	for j < len(p) && p[j] != ']' {
		j++
	}
	if j >= len(p) {
		return false, 0, false
	}
	body := p[i+1 : j]
	if neg {
		body = body[1:]
	}
	in := false
	for k := 0; k < len(body); k++ {
		lo := body[k]
		if k+2 < len(body) && body[k+1] == '-' {
			if lo <= c && c <= body[k+2] {
				in = true
			}
			k += 2
			continue
		}
		if lo == c {
			in = true
		}
	}
	return in != neg, j + 1, true
}

// MatchAny reports whether name matches any of the patterns (Koji's
// multi_fnmatch).
func MatchAny(name string, patterns []string) bool {
	for _, p := range patterns {
		if Match(p, name) {
			return true
		}
	}
	return false
}
