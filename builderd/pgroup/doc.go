// Package pgroup runs a build command in its own process group so that the
// whole tree it starts (rpmbuild, sh, make, gcc...) can be stopped together:
// interrupt, a grace period, then kill. kojid uses it for every external
// tool it runs, so that a task cancelled on the hub leaves no process behind.
package pgroup
