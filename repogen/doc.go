// Package repogen writes yum/dnf repository metadata (repodata/: primary,
// filelists, other, repomd.xml, and optionally the sqlite databases
// primary_db, filelists_db and other_db), byte for byte the XML createrepo_c
// 0.17 writes and its database rows, for kojira and for the one-shot
// `kojira createrepo`. It streams: packages flow through a bounded pipeline
// of workers into concurrent compressed writers (and one database writer
// per database, in one transaction each), so memory depends on the number
// of workers and not on the number of packages; with Update, unchanged
// packages are copied from the previous metadata, which is streamed too. A
// run publishes with an atomic swap, so a failed or killed run leaves the
// last good repodata in place.
package repogen
