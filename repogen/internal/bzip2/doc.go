// Package bzip2 writes bzip2 streams, which the standard library's
// compress/bzip2 can only read: repogen compresses the sqlite databases with
// it, as createrepo_c does by default. It follows bzip2 1.0's format and
// block structure (900k blocks, up to six Huffman tables chosen per 50
// symbols); the Burrows-Wheeler transform sorts rotations through the suffix
// array of the block written twice, built with the standard library's SAIS.
package bzip2
