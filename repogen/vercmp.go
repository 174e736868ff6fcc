package repogen

import "strings"

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// vercmp compares two version strings like rpm's rpmvercmp: -1, 0 or 1.
func vercmp(a, b string) int {
	if a == b {
		return 0
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for i < len(a) && !isDigit(a[i]) && !isAlpha(a[i]) && a[i] != '~' && a[i] != '^' {
			i++
		}
		for j < len(b) && !isDigit(b[j]) && !isAlpha(b[j]) && b[j] != '~' && b[j] != '^' {
			j++
		}
		ca, cb := at(a, i), at(b, j)
		if ca == '~' || cb == '~' {
			if ca != '~' {
				return 1
			}
			if cb != '~' {
				return -1
			}
			i++
			j++
			continue
		}
		if ca == '^' || cb == '^' {
			if i >= len(a) {
				return -1
			}
			if j >= len(b) {
				return 1
			}
			if ca != '^' {
				return 1
			}
			if cb != '^' {
				return -1
			}
			i++
			j++
			continue
		}
		if i >= len(a) || j >= len(b) {
			break
		}
		si, sj := i, j
		isnum := isDigit(a[i])
		if isnum {
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
		} else {
			for i < len(a) && isAlpha(a[i]) {
				i++
			}
			for j < len(b) && isAlpha(b[j]) {
				j++
			}
		}
		if si == i {
			return -1 // cannot happen: a[si] is alphanumeric
		}
		if sj == j {
			if isnum {
				return 1
			}
			return -1
		}
		x, y := a[si:i], b[sj:j]
		if isnum {
			x = strings.TrimLeft(x, "0")
			y = strings.TrimLeft(y, "0")
			if len(x) != len(y) {
				if len(x) > len(y) {
					return 1
				}
				return -1
			}
		}
		if c := strings.Compare(x, y); c != 0 {
			return c
		}
	}
	if i >= len(a) && j >= len(b) {
		return 0
	}
	if i >= len(a) {
		return -1
	}
	return 1
}

func at(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// libcDepNewer reports whether libc requirement b is strictly newer than a,
// comparing the versions inside their first parentheses as createrepo_c
// does ("libc.so.6()" < "libc.so.6(GLIBC_2.3.4)(64bit)" < "libc.so.6(GLIBC_2.38)").
func libcDepNewer(a, b string) bool {
	pa, pb := strings.IndexByte(a, '('), strings.IndexByte(b, '(')
	switch {
	case pa < 0 && pb < 0:
		return false
	case pa < 0:
		return true
	case pb < 0:
		return false
	}
	ea, eb := strings.IndexByte(a[pa:], ')'), strings.IndexByte(b[pb:], ')')
	switch {
	case ea < 0 && eb < 0:
		return false
	case ea < 0:
		return true
	case eb < 0:
		return false
	}
	ea += pa
	eb += pb
	va, vb := pa+1, pb+1
	switch {
	case va == ea && vb == eb:
		return false
	case va == ea:
		return true
	case vb == eb:
		return false
	}
	for va < len(a) && !isDigit(a[va]) {
		va++
	}
	for vb < len(b) && !isDigit(b[vb]) {
		vb++
	}
	switch {
	case va > ea && vb > eb:
		return false
	case va > ea:
		return true
	case vb > eb:
		return false
	}
	return vercmp(a[va:ea], b[vb:eb]) < 0
}
