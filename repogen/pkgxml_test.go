package repogen

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// naiveChangelogDates is createrepo_c's algorithm, step by step.
func naiveChangelogDates(times []uint32) []int64 {
	var dates []int64
	var last int64
	for i, tu := range times {
		t := int64(tu)
		dates = append(dates, t)
		if t == last {
			tmp := int64(int32(tu))
			for j := i - 1; j >= 0 && dates[j] == tmp; j-- {
				dates[j]++
				tmp++
			}
		} else {
			last = t
		}
	}
	return dates
}

func TestChangelogDates(t *testing.T) {
	tests := []struct {
		in   []uint32
		want []int64
	}{
		{nil, nil},
		{[]uint32{5}, []int64{5}},
		{[]uint32{10, 10, 10}, []int64{12, 11, 10}},
		{[]uint32{11, 10, 10}, []int64{12, 11, 10}},
		{[]uint32{20, 10, 10, 9, 9}, []int64{20, 12, 11, 10, 9}},
		{[]uint32{0, 0}, []int64{1, 0}},
		{[]uint32{3, 1, 2, 2}, []int64{3, 1, 3, 2}},
	}
	for _, tt := range tests {
		if got := changelogDates(nil, tt.in); !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
			t.Errorf("changelogDates(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		n := rng.IntN(12)
		in := make([]uint32, n)
		base := uint32(rng.IntN(6))
		for i := range in {
			in[i] = base + uint32(rng.IntN(5))
			if rng.IntN(3) == 0 && i > 0 {
				in[i] = in[i-1]
			}
		}
		if got, want := changelogDates(nil, in), naiveChangelogDates(in); !slices.Equal(got, want) && len(want) > 0 {
			t.Fatalf("changelogDates(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestChangelogDatesLinear(t *testing.T) {
	in := make([]uint32, 1_000_000) // one long run of equal dates
	for i := range in {
		in[i] = 1700000000
	}
	got := changelogDates(nil, in)
	if got[0] != 1700000000+int64(len(in)-1) || got[len(got)-1] != 1700000000 {
		t.Errorf("run of %d equal dates: first %d, last %d", len(in), got[0], got[len(got)-1])
	}
}

func TestVercmp(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0}, {"1.0", "2.0", -1}, {"2.0", "1.0", 1}, {"2.4", "2.38", -1},
		{"1.0~rc1", "1.0", -1}, {"1.0", "1.0~rc1", 1}, {"1.0^git1", "1.0", 1}, {"1.0", "1.0^git1", -1},
		{"1.0a", "1.0", 1}, {"1.01", "1.1", 0}, {"1..0", "1.0", 0}, {"a", "1", -1}, {"1", "a", 1},
		{"", "", 0}, {"1.0", "", 1}, {"", "1.0", -1}, {"1.0~", "1.0~~", 1},
	}
	for _, tt := range tests {
		if got := vercmp(tt.a, tt.b); got != tt.want {
			t.Errorf("vercmp(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestLibcDepNewer(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"libc.so.6()(64bit)", "libc.so.6(GLIBC_2.4)(64bit)", true},
		{"libc.so.6(GLIBC_2.4)(64bit)", "libc.so.6(GLIBC_2.38)(64bit)", true},
		{"libc.so.6(GLIBC_2.38)(64bit)", "libc.so.6(GLIBC_2.4)(64bit)", false},
		{"libc.so.6", "libc.so.6(GLIBC_2.4)", true},
		{"libc.so.6(GLIBC_2.4)", "libc.so.6", false},
		{"libc.so.6(GLIBC_PRIVATE)(64bit)", "libc.so.6(GLIBC_2.4)(64bit)", true},
		{"libc.so.6(GLIBC_2.4", "libc.so.6(GLIBC_2.3)", true}, // createrepo_c prefers the one with a ")"
		{"libc.so.6(GLIBC_2.4)", "libc.so.6(GLIBC_2.4)", false},
	}
	for _, tt := range tests {
		if got := libcDepNewer(tt.a, tt.b); got != tt.want {
			t.Errorf("libcDepNewer(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestEscaping(t *testing.T) {
	tests := []struct {
		in, text, attr string
	}{
		{"a&b<c>d\"e", "a&amp;b&lt;c&gt;d\"e", "a&amp;b&lt;c&gt;d&quot;e"},
		{"tab\tnl\ncr\r", "tab\tnl\ncr&#13;", "tab&#9;nl&#10;cr&#13;"},
		{"Zoë — ok", "Zoë — ok", "Zo&#xEB; &#x2014; ok"},
		{"caf\xe9 \x85x", "café x", "caf&#xE9; x"},
		{"emoji 😀", "emoji 😀", "emoji &#x1F600;"},
	}
	for _, tt := range tests {
		if got := string(appendText(nil, []byte(tt.in))); got != tt.text {
			t.Errorf("appendText(%q) = %q, want %q", tt.in, got, tt.text)
		}
		if got := string(appendAttr(nil, []byte(tt.in))); got != tt.attr {
			t.Errorf("appendAttr(%q) = %q, want %q", tt.in, got, tt.attr)
		}
	}
}

func TestComparePaths(t *testing.T) {
	// createrepo_c's order: file name first, then directory.
	want := []string{"Abc.rpm", "a/b.rpm", "zz.rpm", "a/zz.rpm", "a-b/zz.rpm", "a/c/zz.rpm"}
	got := slices.Clone(want)
	slices.Reverse(got)
	slices.SortFunc(got, comparePaths)
	if !slices.Equal(got, want) {
		t.Errorf("sorted %q, want %q", got, want)
	}
}
