// Package version holds kojigo's version, set at link time:
//
//	go build -ldflags "-X kojigo/internal/version.Version=v0.1.0" ./cmd/...
package version

import "runtime/debug"

// Version is the release; "dev" in plain builds.
var Version = "dev"

// String returns the version with the VCS revision when the build recorded one.
func String() string {
	v := Version
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}
