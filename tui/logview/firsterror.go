package logview

import (
	"regexp"
	"strings"
)

// An errorRule recognises one kind of error line. A line is tried against
// a rule only if it contains one of the rule's needles, which keeps
// FirstError at a few substring searches per line.
type errorRule struct {
	rank    int // lower is closer to the cause
	name    string
	needles []string
	re      *regexp.Regexp
}

// errorRules, best rank first. Within a rank the earliest line wins; a
// better rank wins wherever it is, so rpmbuild's closing "error: Bad exit
// status" or make's "*** Error 2" is only returned when nothing more
// specific was printed.
var errorRules = []errorRule{
	// 0: the compiler's, linker's or configure script's own error.
	{0, "compiler", []string{"error", "Error", "ERROR"},
		regexp.MustCompile(`^[^\s:]+:\d+(?::\d+)?:\s+(?:fatal\s+)?(?i:error):`)},
	{0, "fatal", []string{"fatal error: "}, regexp.MustCompile(`fatal error: `)},
	{0, "linker", []string{"undefined reference to", "undefined symbol", "multiple definition of"},
		regexp.MustCompile(`undefined reference to|undefined symbol|multiple definition of`)},
	{0, "linker-lib", []string{"cannot find"}, regexp.MustCompile(`\bld(?:\.\w+)?: (?:error: )?cannot find `)},
	{0, "configure", []string{"configure: error: "}, regexp.MustCompile(`^configure: error: `)},
	{0, "cmake", []string{"CMake Error"}, regexp.MustCompile(`^CMake Error`)},
	{0, "rustc", []string{"error["}, regexp.MustCompile(`^error\[E\d+\]: `)},
	{0, "go", []string{".go:"}, regexp.MustCompile(`^\S+\.go:\d+:\d+: `)},

	// 1: interpreters, test harnesses, packaging and dependency resolution.
	{1, "traceback", []string{"Traceback"}, regexp.MustCompile(`^Traceback \(most recent call last\):`)},
	{1, "test", []string{"FAIL", "ERROR:"},
		regexp.MustCompile(`^(?:FAIL|ERROR): \S|^FAILED \S+::|^--- FAIL: |^The following tests FAILED:`)},
	{1, "pytest", []string{"E   "}, regexp.MustCompile(`^E {3,}\S`)},
	{1, "tap", []string{"not ok ", "Failed test"}, regexp.MustCompile(`^not ok \d+|^#\s+Failed test`)},
	{1, "dnf", []string{"No match", "Error: ", "Problem", "nothing provides"},
		regexp.MustCompile(`^No matching package to install|^No match for argument|^Error: \S|^Problem(?: \d+)?: |^- nothing provides `)},
	{1, "shell", []string{"command not found", "cannot "},
		regexp.MustCompile(`: command not found$|^(?:/usr/bin/)?(?:cp|mv|install|ln|rm|mkdir|chmod|chown|cat|sed|tar|touch): cannot `)},
	{1, "rpmbuild", []string{"error: "},
		regexp.MustCompile(`^error: (?:File not found|Installed \(but unpackaged\) file|Failed build dependencies|line \d+: |Bad file|Bad source|Directory not found|File must begin with|Could not open|Empty %files file|Bad owner/group|Macro \S+ has)`)},
	{1, "make-target", []string{"No rule to make target"}, regexp.MustCompile(`^g?make(?:\[\d+\])?: \*\*\* No rule to make target`)},
	{1, "maven", []string{"[ERROR] "}, regexp.MustCompile(`^\[ERROR\] `)},

	// 2: the build tool gave up.
	{2, "make", []string{"***"}, regexp.MustCompile(`^g?make(?:\[\d+\])?: \*\*\* .*Error \d+$`)},
	{2, "ninja", []string{"ninja: build stopped", "FAILED: "}, regexp.MustCompile(`^ninja: build stopped|^FAILED: `)},
	{2, "collect2", []string{"collect2"}, regexp.MustCompile(`collect2: error: ld returned`)},
	{2, "make-recipe", []string{"recipe for target"}, regexp.MustCompile(`^\S+:\d+: recipe for target .* failed`)},

	// 3: generic reports, rpmbuild's "error: Bad exit status from ... (%build)"
	// among them, and mock giving up.
	{3, "error", []string{"error: "}, regexp.MustCompile(`^error: `)},
	{3, "mock", []string{"Child return code was", "EXCEPTION: "}, regexp.MustCompile(`^Child return code was: [1-9]|^EXCEPTION: `)},
}

var (
	// mockPrefix is the logger prefix of mock's root.log and older mock's
	// build.log ("DEBUG util.py:446:  ", "BUILDSTDERR: ").
	mockPrefix = regexp.MustCompile(`^(?:(?:DEBUG|INFO|WARNING|ERROR) \S+\.py:\d+:\s+|BUILDSTDERR:\s*)`)
	// compileCmd is a compiler command line echoed by make or libtool: it
	// often holds -Werror=... and -DSOMETHING_ERROR but is never the error.
	compileCmd = regexp.MustCompile(`^(?:libtool: (?:compile|link): +)?(?:\S*/)?(?:[\w.-]+-)?(?:gcc|g\+\+|cc|c\+\+|clang|clang\+\+|gfortran|ld)(?:-\d+)? `)
)

// noise reports lines that look like errors but never are: shell traces
// (rpm runs its scriptlets under set -x, "+ make check || :"), configure's
// "checking for ..." lines, config.log test programs, rpmbuild's
// "RPM build errors:" header, TAP's expected failures and compiler command
// lines.
func noise(s string) bool {
	switch {
	case strings.HasPrefix(s, "+"),
		strings.HasPrefix(s, "checking "),
		strings.HasPrefix(s, "conftest."),
		strings.HasPrefix(s, "| "),
		strings.HasPrefix(s, "RPM build errors:"):
		return true
	case strings.HasPrefix(s, "not ok "): // TAP: expected failures
		return strings.Contains(s, "# TODO") || strings.Contains(s, "# SKIP")
	}
	return strings.Contains(s, " -") && compileCmd.MatchString(s)
}

// FirstError returns the index of the line most likely to be the real error
// of a failed RPM build (mock/rpmbuild build.log, root.log): the compiler's,
// linker's or tool's own error line, not the closing noise of make and
// rpmbuild. Rules are tried in rank order (see errorRules); the best rank
// wins and, within it, the earliest line. It reports false if no line
// looks like an error.
func FirstError(lines []string) (int, bool) {
	best, bestRank := -1, len(errorRules)+1
	for i, s := range lines {
		if len(s) < 4 {
			continue
		}
		s = strings.TrimRight(stripMockPrefix(s), " \t")
		if noise(s) {
			continue
		}
		for _, r := range errorRules {
			if r.rank >= bestRank {
				break
			}
			if hasAny(s, r.needles) && r.re.MatchString(s) {
				best, bestRank = i, r.rank
				break
			}
		}
		if bestRank == 0 {
			break
		}
	}
	return best, best >= 0
}

func stripMockPrefix(s string) string {
	for _, p := range []string{"DEBUG ", "INFO ", "WARNING ", "ERROR ", "BUILDSTDERR:"} {
		if strings.HasPrefix(s, p) {
			if loc := mockPrefix.FindStringIndex(s); loc != nil {
				return s[loc[1]:]
			}
			break
		}
	}
	return s
}

func hasAny(s string, needles []string) bool {
	for _, n := range needles {
		if strings.Contains(s, n) {
			return true
		}
	}
	return false
}
