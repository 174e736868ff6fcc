// Package e2e holds kojigo's end-to-end tests: the real binaries (kojihub,
// kojid, kojictl) as separate processes, a real PostgreSQL and SQLite, the
// real rpmbuild, rpm and dnf. It has no code outside its tests.
package e2e
