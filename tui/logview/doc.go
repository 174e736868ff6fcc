// Package logview is kojitop's log pane: it follows a growing Koji task log
// (build.log, root.log, state.log) appended in chunks, keeps a bounded tail of
// it, and lets the operator scroll, wrap, search and jump to the first real
// error of a failed build.
//
// Log bytes are hostile input: every escape sequence and control character is
// dropped or made visible before it is stored, so nothing from a log ever
// reaches the terminal raw. Memory is bounded by [Options], and the cost of a
// frame depends on the pane's height, not on how much log is held.
package logview
