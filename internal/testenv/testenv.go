// Package testenv tells tests which external tools and services they may use.
// Locally a missing tool skips the test with the reason; in CI
// (KOJI_REQUIRE_TOOLS=1) it fails it, so a green CI never hides a skipped test.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequireTools reports whether missing tools must fail tests instead of skipping them.
func RequireTools() bool { return os.Getenv("KOJI_REQUIRE_TOOLS") == "1" }

// NeedTool returns the path of an executable the test needs, or stops the test.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if RequireTools() {
		t.Fatalf("%s not found in PATH (KOJI_REQUIRE_TOOLS=1): install it (see .ci/run)", name)
	}
	t.Skipf("%s not found in PATH; install it to run this test", name)
	return ""
}

// PostgresDSN returns the DSN of the test PostgreSQL server from
// KOJI_TEST_PG_DSN, or stops the test when it is unset.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("KOJI_TEST_PG_DSN")
	if dsn != "" {
		return dsn
	}
	if RequireTools() {
		t.Fatal("KOJI_TEST_PG_DSN is not set (KOJI_REQUIRE_TOOLS=1)")
	}
	t.Skip("KOJI_TEST_PG_DSN is not set; set it to run the PostgreSQL tests")
	return ""
}
