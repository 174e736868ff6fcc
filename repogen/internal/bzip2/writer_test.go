package bzip2

import (
	"bytes"
	"compress/bzip2"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func compress(t testing.TB, level int, data []byte, chunk int) []byte {
	t.Helper()
	var b bytes.Buffer
	z, err := NewWriterLevel(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	for len(data) > 0 {
		n := min(chunk, len(data))
		if _, err := z.Write(data[:n]); err != nil {
			t.Fatal(err)
		}
		data = data[n:]
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func inputs() map[string][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 300_000)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	text := []byte(strings.Repeat("<package pkgid=\"abc\" name=\"x\">\n  <file>/usr/bin/x</file>\n", 20_000))
	runs := bytes.Repeat([]byte{0}, 70_000)
	runs = append(runs, bytes.Repeat([]byte{'a'}, 255)...)
	runs = append(runs, bytes.Repeat([]byte{'b'}, 256)...)
	runs = append(runs, bytes.Repeat([]byte{'c'}, 4)...)
	runs = append(runs, bytes.Repeat([]byte{'d'}, 3)...)
	mixed := make([]byte, 0, 500_000)
	for len(mixed) < 500_000 {
		switch r.IntN(3) {
		case 0:
			mixed = append(mixed, bytes.Repeat([]byte{byte(r.IntN(4))}, r.IntN(600))...)
		case 1:
			mixed = append(mixed, random[:r.IntN(2000)]...)
		default:
			mixed = append(mixed, text[:r.IntN(3000)]...)
		}
	}
	return map[string][]byte{
		"empty": nil, "one byte": {'x'}, "two symbols": []byte("abababababababababab"),
		"random": random, "text": text, "runs": runs, "mixed": mixed,
		"periodic": bytes.Repeat([]byte("abc"), 100_000),
	}
}

// TestRoundTrip decompresses with the standard library at several block
// sizes, so that inputs span several blocks, and with odd write sizes.
func TestRoundTrip(t *testing.T) {
	for name, data := range inputs() {
		for _, level := range []int{1, 9} {
			for _, chunk := range []int{1 << 20, 7} {
				if chunk == 7 && len(data) > 100_000 {
					continue
				}
				comp := compress(t, level, data, chunk)
				got, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(comp)))
				if err != nil {
					t.Fatalf("%s level %d: decompress: %v", name, level, err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("%s level %d: round trip differs (%d bytes, want %d)", name, level, len(got), len(data))
				}
			}
		}
	}
}

// TestBzip2ToolReads checks the output with the reference decoder, whose
// integrity test (-t) checks the block and stream CRCs.
func TestBzip2ToolReads(t *testing.T) {
	bin, err := exec.LookPath("bzip2")
	if err != nil {
		t.Skip("no bzip2 tool")
	}
	for name, data := range inputs() {
		comp := compress(t, 9, data, 1<<20)
		cmd := exec.Command(bin, "-dc")
		cmd.Stdin = bytes.NewReader(comp)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: bzip2 -d: %v", name, err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("%s: bzip2 -d gives %d bytes, want %d", name, len(out), len(data))
		}
	}
}

// TestRatio keeps the compression close to bzip2's own.
func TestRatio(t *testing.T) {
	bin, err := exec.LookPath("bzip2")
	if err != nil {
		t.Skip("no bzip2 tool")
	}
	for _, name := range []string{"text", "mixed"} {
		data := inputs()[name]
		cmd := exec.Command(bin, "-9c")
		cmd.Stdin = bytes.NewReader(data)
		ref, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		got := compress(t, 9, data, 1<<20)
		if float64(len(got)) > 1.03*float64(len(ref)) {
			t.Errorf("%s: %d bytes, bzip2 -9 writes %d", name, len(got), len(ref))
		}
	}
}

func TestWriteAfterClose(t *testing.T) {
	z := NewWriter(io.Discard)
	z.Close()
	if _, err := z.Write([]byte("x")); err == nil {
		t.Error("Write after Close succeeded")
	}
	if _, err := NewWriterLevel(io.Discard, 10); err == nil {
		t.Error("level 10 accepted")
	}
}

func BenchmarkWriter(b *testing.B) {
	data := inputs()["mixed"]
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		z := NewWriter(io.Discard)
		z.Write(data)
		z.Close()
	}
}

func BenchmarkWriterFile(b *testing.B) {
	data, err := os.ReadFile(os.Getenv("BZ_BENCH_FILE"))
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		z := NewWriter(io.Discard)
		z.Write(data)
		z.Close()
	}
}

func TestLeastRotation(t *testing.T) {
	for _, tt := range []struct {
		s         string
		r         int
		primitive bool
	}{
		{"a", 0, true}, {"ba", 1, true}, {"cab", 1, true}, {"abab", 0, false},
		{"bcabca", 2, false}, {"aaab", 0, true}, {"baaa", 1, true}, {"zzz", 0, false},
	} {
		r, p := leastRotation([]byte(tt.s))
		if r != tt.r || p != tt.primitive {
			t.Errorf("leastRotation(%q) = %d, %v, want %d, %v", tt.s, r, p, tt.r, tt.primitive)
		}
	}
}

// TestCodeLengthsSkewed: frequencies that would make codes longer than
// bzip2's 17 bits (a Fibonacci run gives one level per symbol) are
// flattened until they fit, and the lengths still describe a complete
// prefix code (Kraft's sum is exactly 1).
func TestCodeLengthsSkewed(t *testing.T) {
	for _, n := range []int{2, 3, 30, 60, 258} {
		freq := make([]int32, n)
		a, b := int32(1), int32(1)
		for i := range freq {
			freq[i] = a
			a, b = b, min(a+b, 1<<30)
		}
		lens := make([]uint8, n)
		codeLengths(lens, freq, maxCodeLen)
		var kraft float64
		for i, l := range lens {
			if l < 1 || l > maxCodeLen {
				t.Fatalf("n=%d: symbol %d has length %d", n, i, l)
			}
			kraft += 1 / float64(uint64(1)<<l)
		}
		if kraft != 1 {
			t.Errorf("n=%d: Kraft sum %v, want 1", n, kraft)
		}
	}
}
