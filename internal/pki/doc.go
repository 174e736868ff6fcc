// Package pki issues, loads and checks the X.509 certificates of a kojigo
// farm (a CA, the hub's server certificate, builder, user, kojira and web
// client certificates) and explains TLS failures in one sentence that names
// the fault and its fix. The hub's listener, the Go client and kojictl doctor
// all use the same diagnosis, so a refused handshake reads the same wherever
// it is seen.
package pki
