// Package pkitest builds certificate setups, sound and broken, and a small
// TLS hub stand-in that answers sslLogin and getLoggedInUser, for tests of
// pki, doctor and the clients. It is imported only by tests.
package pkitest
