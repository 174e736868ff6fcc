// Package logstream uploads growing log files to the hub while a build runs,
// about once a second, each new piece at its byte offset, as Koji's kojid
// does for mock's logs. A log that is truncated or replaced is uploaded again
// from the start. It exists so that build.log can be read live through the
// hub (downloadTaskOutput) instead of only after the build ends.
package logstream
