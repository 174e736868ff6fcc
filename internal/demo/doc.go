// Package demo is `kojictl demo`: a whole build farm on one machine in one
// command. It makes a state directory (SQLite database, CA and certificates,
// configs), starts kojihub, N kojid and kojira as child processes on
// loopback with TLS, sets up a tag and target, builds the sample packages
// embedded here, has the build tag's repo made from what was built, and
// prints what happens until it is interrupted; run again, it resumes.
package demo
