// Package kojiclient is the Go client for a Koji hub's XML-RPC API, used by
// kojid, kojira, kojitop and kojictl against a kojigo hub or a stock Koji hub.
// It sends what Koji's Python ClientSession sends (the request bodies are
// checked byte for byte against recordings of it): session headers with a
// per-call callnum that is kept on retries, keyword arguments as a trailing
// __starstar struct, <nil/>, multiCall with faults in place, exclusive
// sessions and subsessions, and Koji's raw-POST file upload with adler32
// checks.
//
// The XML-RPC codec is kojixml; values decode to nil, bool, int64, float64,
// string, []byte (<base64>), time.Time, []any and map[string]any. A fault is
// a *Fault (kojixml.Fault); a call that got no answer is a *TransportError,
// whose message pki has turned into one sentence for TLS and connection
// failures.
package kojiclient
