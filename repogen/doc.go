// Package repogen writes yum/dnf repository metadata (repodata/: primary,
// filelists, other, repomd.xml), byte for byte what createrepo_c writes, for
// kojira and for the one-shot `kojira createrepo`. It streams: packages flow
// through a bounded pipeline of workers into three concurrent compressed
// writers, so memory depends on the number of workers and not on the number
// of packages; with Update, unchanged packages are copied from the previous
// metadata, which is streamed too. A run publishes with an atomic swap, so a
// failed or killed run leaves the last good repodata in place.
package repogen
