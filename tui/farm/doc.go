// Package farm is what kojitop knows of a build farm and how it reads it:
// one snapshot of hosts, tasks and TLS failures per refresh, read from the
// hub's XML-RPC API in a constant number of requests whatever the farm's
// size, plus the detail reads, actions, log chunks and change long-poll the
// console needs. Against a stock Koji hub, kojigo's extensions are missing
// and the snapshot says so instead of failing.
package farm
