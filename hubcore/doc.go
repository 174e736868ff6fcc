// Package hubcore is the kojigo hub: Koji's XML-RPC API at /kojihub over a
// db.Store, with sessions, permissions, hosts, tasks, the scheduler and task
// output. Each API area has its own file; methods.go holds the one list of
// every method the hub answers.
//
// A call goes: ServeHTTP (size cap, decode) → session (headers or legacy
// query, callnum rules, exclusive lock) → the method's handler → encode.
// Errors become Koji faults in one place (faults.go); nothing a client sends
// can make the hub answer with a Go stack.
package hubcore
