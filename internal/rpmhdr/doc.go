// Package rpmhdr reads the lead, signature header and main header of an RPM
// package from a stream, without reading the payload. It exists so that the
// repository generator can read each package once (the same bytes feed the
// package checksum), check every declared size against hard limits and the
// file size before allocating, and look tags up without building maps; it
// never panics on hostile input (see FuzzRead).
package rpmhdr
