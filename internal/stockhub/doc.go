// Package stockhub is a test fixture: a fake stock Koji 1.35.3 hub, an
// http.Handler that replays recordings of a real Koji 1.35.3 hub
// (testdata/wire, copied from shared/koji/wire) and has none of kojigo's
// kojigo.* extension methods, so that clients such as kojitop can be tested
// against a stock hub without a Koji install. Hub's documentation lists
// which methods are replayed from recordings and which are answered by rule.
package stockhub
