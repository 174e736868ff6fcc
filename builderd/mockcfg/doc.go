// Package mockcfg writes the mock configuration and command lines kojid uses
// for a buildroot, following Koji's genMockConfig: the build tag's repo as the
// only package source, Koji's rpm macros, and a header naming the buildroot.
// It is separate from the daemon so that the generated text can be tested
// without mock installed.
package mockcfg
