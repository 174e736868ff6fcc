//go:build !unix

package repogen

// lockDir is a no-op where flock does not exist; the engine targets Linux.
func lockDir(string) (func(), error) { return func() {}, nil }
