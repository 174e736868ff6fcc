//go:build linux && amd64

package repogen

const sysRenameat2 = 316
