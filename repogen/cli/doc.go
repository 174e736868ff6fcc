// Package cli is the command line of `kojira createrepo`: createrepo_c's
// options mapped onto repogen.Options, a progress bar on a terminal or JSON
// progress lines for machines, and a one-line summary. It lives outside
// package main so that its parsing and output can be tested.
package cli
