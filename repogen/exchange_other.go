//go:build !linux || !(amd64 || arm64 || riscv64 || loong64 || s390x)

package repogen

// exchange is not available here: the publisher falls back to two renames.
func exchange(a, b string) error { return errNoExchange }
