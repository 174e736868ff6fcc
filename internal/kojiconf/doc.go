// Package kojiconf loads kojigo's configuration: Koji-style INI files for the
// daemons (hub.conf, kojid.conf, kojira.conf) and the koji client profiles
// (/etc/koji.conf, ~/.koji/config and their .d directories).
//
// It exists so that every daemon and command applies the same order (defaults,
// file, KOJI_* environment, flags, Validate) and so that every mistake in a
// config file is reported with its file and line: unknown keys (with a "did you
// mean" suggestion), values of the wrong type, duplicate keys, stray lines.
// The file syntax is that of Python's configparser, which Koji itself uses.
package kojiconf
