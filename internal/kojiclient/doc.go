// Package kojiclient is the Go client for a Koji hub's XML-RPC API, used by
// kojid, kojira, kojitop and kojictl against a kojigo hub or a stock Koji hub.
// It speaks what Koji's Python ClientSession speaks: session headers with a
// per-call callnum that is kept on retries, keyword arguments as a trailing
// __starstar struct, <nil/>, multiCall with faults in place, exclusive
// sessions and subsessions, and Koji's raw-POST file upload with checksums.
//
// Values decode to nil, bool, int64, float64, string, []byte (<base64>),
// time.Time, []any and map[string]any. Faults are *kojixml.Fault (aliased as
// Fault here); transport failures are *TransportError.
package kojiclient
