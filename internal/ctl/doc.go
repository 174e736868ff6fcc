// Package ctl implements kojictl's subcommands: certificate and database
// administration, diagnostics, and the client commands an operator needs
// without the Python CLI. cmd/kojictl only calls Main.
package ctl
