// Package health measures a build host (disk free on the filesystems it
// writes to, memory, load, CPUs, the tools it needs, its certificate's
// expiry) and decides whether the host is ready to take a task, with every
// "not ready" stated as a reason an operator can act on. kojid sends the
// measurements and reasons to the hub on each check-in (Data), so the hub and
// the console can show why a builder is idle before anyone logs in to it.
package health
