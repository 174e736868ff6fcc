package repowatch

import "testing"

func TestParseNVR(t *testing.T) {
	tests := []struct {
		in   string
		want NVR
		ok   bool
	}{
		{"hello-1.0-1.fc40", NVR{"hello-1.0-1.fc40", "hello", "1.0", "1.fc40"}, true},
		{"python3-foo-bar-2-3", NVR{"python3-foo-bar-2-3", "python3-foo-bar", "2", "3"}, true},
		{"1:hello-1-1", NVR{"1:hello-1-1", "hello", "1", "1"}, true},
		{"hello-1", NVR{}, false},
		{"hello", NVR{}, false},
		{"-1-1", NVR{}, false},
		{"hello-1-", NVR{}, false},
		{"hello--1", NVR{}, false},
	}
	for _, tt := range tests {
		got, err := ParseNVR(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseNVR(%q) = %+v, %v, want %+v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestPrintList(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want string
	}{{nil, ""}, {[]string{"a"}, "a"}, {[]string{"a", "b"}, "a and b"}, {[]string{"a", "b", "c"}, "a, b, and c"}} {
		if got := PrintList(tt.in); got != tt.want {
			t.Errorf("PrintList(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
