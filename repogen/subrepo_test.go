package repogen

import "testing"

// TestSubrepoPaths: "../" starts a package path only with Subrepo, and
// only once.
func TestSubrepoPaths(t *testing.T) {
	for _, tc := range []struct {
		path string
		up   bool
		want string // "" for an error
	}{
		{"Packages/a/a.rpm", false, "Packages/a/a.rpm"},
		{"../Packages/a/a.rpm", false, ""},
		{"../Packages/a/a.rpm", true, "../Packages/a/a.rpm"},
		{"../../etc/a.rpm", true, ""},
		{"../Packages/../../a.rpm", true, ""},
		{"/abs/a.rpm", true, ""},
	} {
		got, _, err := sortPackages([]string{tc.path}, tc.up)
		if (err != nil) != (tc.want == "") || (err == nil && got[0] != tc.want) {
			t.Errorf("sortPackages(%q, %v) = %v, %v; want %q", tc.path, tc.up, got, err, tc.want)
		}
	}
}
