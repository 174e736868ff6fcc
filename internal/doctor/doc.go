// Package doctor checks a kojigo or Koji setup without guessing: every
// config file it finds or is given (hub.conf, kojid.conf, kojira.conf, the
// koji client profile), the certificates and keys they name, disk space
// against minspace, the database, and the hub over the network (name
// resolution, the TLS handshake both ways, sslLogin and who it logs in as).
// Each finding is one sentence that says what is wrong and how to fix it,
// in the same words the hub logs and the client reports.
package doctor
