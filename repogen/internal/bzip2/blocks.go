package bzip2

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
)

// A block stream cuts its input into spans of a fixed size, one block
// each, instead of filling blocks to the limit. Blocks of one stream are
// independent, so the spans compress in parallel, and a later stream of
// mostly the same input (a database after a few rows changed) copies the
// compressed bits of every span it finds unchanged from the earlier
// stream instead of compressing it again. Only the stream's combined CRC
// and the bit offsets differ, and both are cheap.

// MaxSpan is the most input one block of a level-9 stream always holds:
// the initial run-length encoding makes at most 5 bytes of 4, and the
// Writer keeps room for one more run of 5.
const MaxSpan = (9*100000 - 19 - 5) * 4 / 5

// Block is one block of a block stream: the input span it holds and where
// its bits are in the stream.
type Block struct {
	Size   int64  `json:"size"`    // input bytes
	Sum    string `json:"sha256"`  // of the input, hex
	CRC    uint32 `json:"crc"`     // bzip2's block CRC
	BitOff int64  `json:"bit_off"` // first bit, from the start of the stream
	Bits   int64  `json:"bits"`
}

// Previous is an earlier block stream whose blocks may be reused.
type Previous struct {
	Blocks []Block
	R      io.ReaderAt // the stream's bytes
}

// BlockOptions configure WriteBlocks.
type BlockOptions struct {
	Span     int // input bytes per block, 1 to MaxSpan
	Workers  int // blocks compressed at once; 0 means GOMAXPROCS
	Previous *Previous
}

// BlockStats says how much of a stream was compressed and how much copied.
type BlockStats struct {
	Blocks, Reused int
	InBytes        int64
}

type span struct {
	idx    int
	in     []byte
	sum    [sha256.Size]byte
	reuse  *Block
	bits   []byte
	shift  uint // bits of bits[0] before the block's first bit
	nbits  int64
	crc    uint32
	err    error
	done   chan struct{}
	buffer []byte // the input buffer, returned to the pool when written
}

// WriteBlocks compresses r into w as one level-9 bzip2 stream of o.Span
// bytes per block, reusing the bits of o.Previous's blocks whose input is
// unchanged. It returns the blocks written, for a later stream to reuse.
func WriteBlocks(w io.Writer, r io.Reader, o BlockOptions) ([]Block, BlockStats, error) {
	var st BlockStats
	if o.Span < 1 || o.Span > MaxSpan {
		return nil, st, fmt.Errorf("bzip2: block span %d out of range 1-%d", o.Span, MaxSpan)
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	known := map[[sha256.Size]byte]*Block{}
	if o.Previous != nil {
		for i := range o.Previous.Blocks {
			b := &o.Previous.Blocks[i]
			sum, err := hex.DecodeString(b.Sum)
			if err != nil || len(sum) != sha256.Size || b.Size < 1 || b.Size > int64(o.Span) || b.Bits < 1 || b.BitOff < 32 {
				continue // not a block this stream could use
			}
			known[[sha256.Size]byte(sum)] = b
		}
	}

	// A window of spans in flight: the reader fills them in order, workers
	// compress or fetch them, and this goroutine writes them in order.
	window := 2 * workers
	pool := make(chan []byte, window)
	for range window {
		pool <- make([]byte, o.Span)
	}
	// The bits read for reused blocks, a stream's worth over an update,
	// go back here once written.
	bitsFree := make(chan []byte, window)
	jobs := make(chan *span, window)
	order := make(chan *span, window)
	stop := make(chan struct{})
	var readErr error
	go func() {
		defer close(order)
		defer close(jobs)
		for idx := 0; ; idx++ {
			var buf []byte
			select {
			case buf = <-pool:
			case <-stop:
				return
			}
			n, err := io.ReadFull(r, buf)
			if n == 0 {
				if err != io.EOF {
					readErr = err
				}
				return
			}
			s := &span{idx: idx, in: buf[:n], buffer: buf, done: make(chan struct{})}
			s.sum = sha256.Sum256(s.in)
			if b := known[s.sum]; b != nil && b.Size == int64(n) {
				s.reuse = b
			}
			select {
			case jobs <- s:
			case <-stop:
				return
			}
			select {
			case order <- s:
			case <-stop:
				return
			}
			if err == io.ErrUnexpectedEOF {
				return
			}
			if err != nil {
				readErr = err
				return
			}
		}
	}()
	for range workers {
		go func() {
			var z *Writer
			for s := range jobs {
				if s.reuse != nil {
					s.fetch(o.Previous.R, bitsFree)
				} else {
					if z == nil {
						z = blockWriters.Get().(*Writer)
					}
					s.compress(z)
				}
				close(s.done)
			}
			if z != nil {
				blockWriters.Put(z)
			}
		}()
	}

	out := &bitWriter{w: w}
	out.bits(8, 'B')
	out.bits(8, 'Z')
	out.bits(8, 'h')
	out.bits(8, '9')
	var blocks []Block
	var combined uint32
	bitOff := int64(32)
	var err error
	for s := range order {
		<-s.done
		if err == nil && s.err != nil {
			err = s.err
		}
		if err == nil {
			out.appendBits(s.bits, s.shift, s.nbits)
			combined = (combined<<1 | combined>>31) ^ s.crc
			blocks = append(blocks, Block{Size: int64(len(s.in)), Sum: hex.EncodeToString(s.sum[:]),
				CRC: s.crc, BitOff: bitOff, Bits: s.nbits})
			bitOff += s.nbits
			st.Blocks++
			st.InBytes += int64(len(s.in))
			if s.reuse != nil {
				st.Reused++
			}
			if out.err != nil {
				err = out.err
			}
		}
		if err != nil {
			select {
			case <-stop:
			default:
				close(stop)
			}
		}
		pool <- s.buffer
		if s.reuse != nil {
			select {
			case bitsFree <- s.bits:
			default:
			}
		}
	}
	if err == nil {
		err = readErr
	}
	if err != nil {
		return nil, st, err
	}
	out.bits(24, 0x177245)
	out.bits(24, 0x385090)
	out.bits(32, combined)
	out.pad()
	if err := out.flush(); err != nil {
		return nil, st, err
	}
	return blocks, st, nil
}

// blockWriters are Writers used only to compress single blocks, kept
// with their buffers (about 2 MiB each) from one stream to the next.
var blockWriters = sync.Pool{New: func() any {
	z := NewWriter(nil)
	z.started = true // no stream header
	return z
}}

// compress makes s's block with z.
func (s *span) compress(z *Writer) {
	var buf bytes.Buffer
	z.bw = bitWriter{w: &buf, buf: z.bw.buf[:0]}
	z.block, z.blockCRC, z.runLen, z.err = z.block[:0], 0xffffffff, 0, nil
	if _, err := z.Write(s.in); err != nil {
		s.err = err
		return
	}
	if z.runLen > 0 {
		if err := z.flushRun(); err != nil {
			s.err = err
			return
		}
	}
	if buf.Len() > 0 || len(z.bw.buf) > 0 {
		s.err = fmt.Errorf("bzip2: a span of %d bytes did not fit one block", len(s.in))
		return
	}
	s.crc = ^z.blockCRC
	if len(z.block) == 0 {
		s.err = errors.New("bzip2: empty block")
		return
	}
	if err := z.writeBlock(); err != nil {
		s.err = err
		return
	}
	s.nbits = int64(buf.Len()+len(z.bw.buf))*8 + int64(z.bw.n)
	if err := z.bw.flush(); err != nil {
		s.err = err
		return
	}
	s.bits = buf.Bytes()
	if z.bw.n > 0 {
		s.bits = append(s.bits, byte(z.bw.acc<<(8-z.bw.n)))
	}
	z.bw.acc, z.bw.n = 0, 0
}

// fetch reads s's reused block from the earlier stream, into a buffer
// from free when one is there.
func (s *span) fetch(r io.ReaderAt, free chan []byte) {
	b := s.reuse
	s.shift = uint(b.BitOff % 8)
	n := (int64(s.shift) + b.Bits + 7) / 8
	select {
	case s.bits = <-free:
	default:
	}
	s.bits = slices.Grow(s.bits[:0], int(n))[:n]
	if _, err := r.ReadAt(s.bits, b.BitOff/8); err != nil {
		s.err = fmt.Errorf("bzip2: read reused block at bit %d: %w", b.BitOff, err)
		return
	}
	s.nbits, s.crc = b.Bits, b.CRC
}

// appendBits writes nbits bits of src, starting shift bits into src[0]:
// 56 bits at a time while src has a whole word to read, then bytes, then
// bits. A reused block is most of a stream's bits, all shifted by where the
// block lands, so this loop is what an update of the databases spends on
// the blocks it does not compress again.
func (b *bitWriter) appendBits(src []byte, shift uint, nbits int64) {
	i := 0
	for nbits >= 56 && i+8 <= len(src) {
		w := binary.BigEndian.Uint64(src[i:]) << shift >> 8 // the next 56 bits
		acc := b.acc<<56 | w
		b.buf = binary.BigEndian.AppendUint64(b.buf, acc>>b.n<<8)[:len(b.buf)+7]
		b.acc = acc
		i += 7
		nbits -= 56
		if len(b.buf) >= 64<<10 {
			b.flush()
		}
	}
	for ; nbits >= 8; nbits -= 8 {
		v := src[i] << shift
		if shift > 0 {
			v |= src[i+1] >> (8 - shift)
		}
		b.bits(8, uint32(v))
		i++
	}
	for k := range uint(nbits) {
		pos := shift + k
		bit := src[i+int(pos/8)] >> (7 - pos%8) & 1
		b.bits(1, uint32(bit))
	}
}
