package bzip2

import (
	"bytes"
	"compress/bzip2"
	"io"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
)

func writeBlocks(t *testing.T, data []byte, o BlockOptions) ([]byte, []Block, BlockStats) {
	t.Helper()
	var b bytes.Buffer
	blocks, st, err := WriteBlocks(&b, bytes.NewReader(data), o)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(b.Bytes())))
	if err != nil {
		t.Fatalf("decompress: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("round trip: %d bytes in, %d out", len(data), len(got))
	}
	if cmd, err := exec.LookPath("bzip2"); err == nil {
		c := exec.Command(cmd, "-t")
		c.Stdin = bytes.NewReader(b.Bytes())
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("bzip2 -t: %v %s", err, out)
		}
	}
	return b.Bytes(), blocks, st
}

// dbLike is input shaped like a database file: pages of text, numbers
// and zeros, with long runs.
func dbLike(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	var b bytes.Buffer
	for b.Len() < n {
		switch r.IntN(4) {
		case 0:
			b.Write(make([]byte, r.IntN(3000)))
		case 1:
			b.WriteString(strings.Repeat("/usr/share/doc/pkg", 1+r.IntN(20)))
		default:
			for range 200 {
				b.WriteByte(byte(r.Uint32()))
			}
		}
	}
	return b.Bytes()[:n]
}

func TestWriteBlocksRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		span int
	}{
		{"empty", nil, 1000},
		{"one byte", []byte{42}, 1000},
		{"exact spans", dbLike(4000, 1), 1000},
		{"db-like", dbLike(1_500_000, 2), 256 << 10},
		{"max span of a run", bytes.Repeat([]byte{0}, 3*MaxSpan+5), MaxSpan},
		{"max span of runs of four", bytes.Repeat([]byte("aaaab"), MaxSpan/5*2), MaxSpan},
		// Runs of exactly four grow most: 5 bytes each.
		{"max span growing most", bytes.Repeat([]byte("aaaabbbb"), MaxSpan/8*3+1), MaxSpan},
		{"max span growing most, singles at the end", append(bytes.Repeat([]byte("aaaabbbb"), MaxSpan/8-1), "cdefghij"...), MaxSpan},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, blocks, st := writeBlocks(t, tc.data, BlockOptions{Span: tc.span, Workers: 3})
			want := (len(tc.data) + tc.span - 1) / tc.span
			if len(blocks) != want || st.Blocks != want || st.Reused != 0 {
				t.Errorf("%d blocks (stats %+v), want %d", len(blocks), st, want)
			}
		})
	}
}

func TestWriteBlocksReuse(t *testing.T) {
	const span = 64 << 10
	old := dbLike(20*span+123, 3)
	oldStream, oldBlocks, _ := writeBlocks(t, old, BlockOptions{Span: span})

	// Two pages changed, one span's worth appended.
	cur := append([]byte(nil), old...)
	copy(cur[5*span+100:], "changed")
	copy(cur[17*span:], "changed too")
	r := rand.New(rand.NewPCG(4, 4))
	for range span {
		cur = append(cur, byte(r.Uint32()))
	}
	prev := &Previous{Blocks: oldBlocks, R: bytes.NewReader(oldStream)}
	_, blocks, st := writeBlocks(t, cur, BlockOptions{Span: span, Previous: prev})
	// Spans 0-4, 6-16 and 18-19 are unchanged; 5, 17, 20 (now full) and 21 are new.
	if st.Blocks != 22 || st.Reused != 18 {
		t.Errorf("stats %+v, want 22 blocks, 18 reused", st)
	}
	// Reusing a stream that itself reused blocks keeps working.
	cur2 := append([]byte(nil), cur...)
	copy(cur2[1:], "x")
	stream3, _, st := writeBlocks(t, cur2, BlockOptions{Span: span, Previous: &Previous{Blocks: blocks, R: bytes.NewReader(mustStream(t, cur, span, prev))}})
	if st.Reused != 21 || len(stream3) == 0 {
		t.Errorf("second generation: stats %+v, want 21 reused", st)
	}
}

func mustStream(t *testing.T, data []byte, span int, prev *Previous) []byte {
	t.Helper()
	b, _, _ := writeBlocks(t, data, BlockOptions{Span: span, Previous: prev})
	return b
}

func TestWriteBlocksBadPrevious(t *testing.T) {
	const span = 4096
	data := dbLike(10*span, 5)
	stream, blocks, _ := writeBlocks(t, data, BlockOptions{Span: span})
	// A previous stream that is shorter than its block list says fails
	// the write instead of producing a corrupt stream.
	short := &Previous{Blocks: blocks, R: bytes.NewReader(stream[:len(stream)/2])}
	if _, _, err := WriteBlocks(io.Discard, bytes.NewReader(data), BlockOptions{Span: span, Previous: short}); err == nil {
		t.Error("a truncated previous stream was accepted")
	}
	// Entries that cannot be blocks of this stream are ignored.
	bad := append([]Block(nil), blocks...)
	bad[0].Sum = "zz"
	bad[1].Size = span + 1
	bad[2].BitOff = 0
	_, _, st := writeBlocks(t, data, BlockOptions{Span: span, Previous: &Previous{Blocks: bad, R: bytes.NewReader(stream)}})
	if st.Reused != 7 {
		t.Errorf("reused %d, want 7", st.Reused)
	}
	for _, s := range []int{0, -1, MaxSpan + 1} {
		if _, _, err := WriteBlocks(io.Discard, bytes.NewReader(data), BlockOptions{Span: s}); err == nil {
			t.Errorf("span %d accepted", s)
		}
	}
}

// TestAppendBits checks the word-at-a-time path of appendBits against
// writing the same bits one at a time, for every shift of source and
// destination and lengths around the word size.
func TestAppendBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	src := make([]byte, 64)
	for i := range src {
		src[i] = byte(rng.Uint32())
	}
	for pending := uint(0); pending < 8; pending++ {
		for shift := uint(0); shift < 8; shift++ {
			for _, nbits := range []int64{0, 1, 7, 8, 55, 56, 57, 63, 64, 65, 111, 112, 113, 300, int64(len(src)*8) - int64(shift) - 1} {
				var fast, slow bytes.Buffer
				fw, sw := &bitWriter{w: &fast}, &bitWriter{w: &slow}
				fw.bits(pending, 0x55>>(8-pending))
				sw.bits(pending, 0x55>>(8-pending))
				fw.appendBits(src, shift, nbits)
				for k := range nbits {
					pos := int64(shift) + k
					sw.bits(1, uint32(src[pos/8]>>(7-pos%8)&1))
				}
				fw.pad()
				sw.pad()
				fw.flush()
				sw.flush()
				if !bytes.Equal(fast.Bytes(), slow.Bytes()) {
					t.Fatalf("pending %d, shift %d, %d bits: got %x, want %x", pending, shift, nbits, fast.Bytes(), slow.Bytes())
				}
			}
		}
	}
}
