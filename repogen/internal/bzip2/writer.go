package bzip2

import (
	"errors"
	"fmt"
	"io"
)

// Writer compresses a stream into the bzip2 format, one block at a time.
// It is not safe for concurrent use.
type Writer struct {
	w        io.Writer
	level    int
	maxBlock int // bytes of run-length encoded input per block

	block    []byte // the current block, after the initial run-length encoding
	runCh    byte
	runLen   int
	blockCRC uint32
	combined uint32

	bw      bitWriter
	started bool
	closed  bool
	err     error

	// scratch space, kept between blocks
	text []byte  // block+block
	sa   []int32 // suffix array of text
	bwt  []byte
	mtfv []uint16
}

// DefaultLevel is the block size bzip2 and createrepo_c use: 900k.
const DefaultLevel = 9

// NewWriterLevel returns a Writer with blocks of level*100k bytes (1-9).
func NewWriterLevel(w io.Writer, level int) (*Writer, error) {
	if level < 1 || level > 9 {
		return nil, fmt.Errorf("bzip2: invalid level %d (want 1-9)", level)
	}
	z := &Writer{w: w, level: level, maxBlock: level*100000 - 19, blockCRC: 0xffffffff}
	z.bw.w = w
	z.block = make([]byte, 0, z.maxBlock)
	return z, nil
}

// NewWriter returns a Writer at DefaultLevel.
func NewWriter(w io.Writer) *Writer {
	z, _ := NewWriterLevel(w, DefaultLevel)
	return z
}

var errClosed = errors.New("bzip2: write to a closed writer")

// Write compresses p. Data is written out a block at a time.
func (z *Writer) Write(p []byte) (int, error) {
	if z.closed {
		return 0, errClosed
	}
	if z.err != nil {
		return 0, z.err
	}
	for _, c := range p {
		if z.runLen > 0 && c == z.runCh && z.runLen < 255 {
			z.runLen++
			continue
		}
		if z.runLen > 0 {
			if err := z.flushRun(); err != nil {
				return 0, err
			}
		}
		z.runCh, z.runLen = c, 1
	}
	return len(p), nil
}

// flushRun adds the pending run to the block: runs of 4 to 255 equal bytes
// become 4 bytes and a count. A run never spans two blocks.
func (z *Writer) flushRun() error {
	if len(z.block)+5 > z.maxBlock {
		if err := z.writeBlock(); err != nil {
			return err
		}
	}
	for range z.runLen {
		z.blockCRC = z.blockCRC<<8 ^ crcTable[byte(z.blockCRC>>24)^z.runCh]
	}
	if z.runLen < 4 {
		for range z.runLen {
			z.block = append(z.block, z.runCh)
		}
	} else {
		z.block = append(z.block, z.runCh, z.runCh, z.runCh, z.runCh, byte(z.runLen-4))
	}
	z.runLen = 0
	return nil
}

// Close writes the last block and the end of the stream. It does not close
// the underlying writer.
func (z *Writer) Close() error {
	if z.closed {
		return z.err
	}
	z.closed = true
	if z.err != nil {
		return z.err
	}
	if z.runLen > 0 {
		if err := z.flushRun(); err != nil {
			return err
		}
	}
	if len(z.block) > 0 {
		if err := z.writeBlock(); err != nil {
			return err
		}
	}
	z.start()
	z.bw.bits(24, 0x177245)
	z.bw.bits(24, 0x385090)
	z.bw.bits(32, z.combined)
	z.bw.pad()
	z.err = z.bw.flush()
	z.text, z.sa, z.bwt, z.mtfv, z.block = nil, nil, nil, nil, nil
	return z.err
}

func (z *Writer) start() {
	if !z.started {
		z.started = true
		z.bw.bits(8, 'B')
		z.bw.bits(8, 'Z')
		z.bw.bits(8, 'h')
		z.bw.bits(8, uint32('0'+z.level))
	}
}

// writeBlock compresses and writes the current block.
func (z *Writer) writeBlock() error {
	z.start()
	crc := ^z.blockCRC
	z.combined = (z.combined<<1 | z.combined>>31) ^ crc
	n := len(z.block)

	// Burrows-Wheeler transform. The rotations of a Lyndon word sort like
	// its suffixes, so the block is rotated to its least rotation, which
	// is a Lyndon word unless the block is periodic, and suffix-sorted.
	// A periodic block (rare: a block of identical pages) is sorted
	// through the suffixes of the block written twice instead.
	r, primitive := leastRotation(z.block)
	m := n
	if primitive {
		z.text = append(append(z.text[:0], z.block[r:]...), z.block[:r]...)
	} else {
		r, m = 0, 2*n
		z.text = append(append(z.text[:0], z.block...), z.block...)
	}
	if cap(z.sa) < m {
		z.sa = make([]int32, m)
	}
	sa := z.sa[:m]
	clear(sa)
	text_32(z.text, sa)
	if cap(z.bwt) < n {
		z.bwt = make([]byte, n)
	}
	bwt := z.bwt[:n]
	start := int32((n - r) % n) // where the block begins in text
	origPtr, k := 0, 0
	for _, p := range sa {
		if int(p) >= n {
			continue
		}
		if p == start {
			origPtr = k
		}
		if p == 0 {
			bwt[k] = z.text[n-1]
		} else {
			bwt[k] = z.text[p-1]
		}
		k++
	}

	// Symbols in use, move-to-front and the run-length encoding of zeros.
	var inUse [256]bool
	for _, c := range z.block {
		inUse[c] = true
	}
	var unseqToSeq [256]byte
	var order [256]byte
	numInUse := 0
	for c := range 256 {
		if inUse[c] {
			unseqToSeq[c] = byte(numInUse)
			order[numInUse] = byte(numInUse)
			numInUse++
		}
	}
	alphaSize := numInUse + 2
	eob := uint16(numInUse + 1)
	var freq [258]int32
	mtfv := z.mtfv[:0]
	zPend := 0
	emitRun := func() {
		zPend--
		for {
			sym := uint16(zPend & 1) // RUNA = 0, RUNB = 1
			mtfv = append(mtfv, sym)
			freq[sym]++
			if zPend < 2 {
				break
			}
			zPend = (zPend - 2) / 2
		}
		zPend = 0
	}
	for _, c := range bwt {
		s := unseqToSeq[c]
		if order[0] == s {
			zPend++
			continue
		}
		if zPend > 0 {
			emitRun()
		}
		j := 1
		prev := order[0]
		order[0] = s
		for order[j] != s {
			order[j], prev = prev, order[j]
			j++
		}
		order[j] = prev
		mtfv = append(mtfv, uint16(j+1))
		freq[j+1]++
	}
	if zPend > 0 {
		emitRun()
	}
	mtfv = append(mtfv, eob)
	freq[eob]++
	z.mtfv = mtfv

	// Block header.
	bw := &z.bw
	bw.bits(24, 0x314159)
	bw.bits(24, 0x265359)
	bw.bits(32, crc)
	bw.bits(1, 0) // not randomised
	bw.bits(24, uint32(origPtr))
	var used16 uint32
	for i := range 16 {
		for j := range 16 {
			if inUse[i*16+j] {
				used16 |= 1 << (15 - i)
				break
			}
		}
	}
	bw.bits(16, used16)
	for i := range 16 {
		if used16&(1<<(15-i)) == 0 {
			continue
		}
		var bits uint32
		for j := range 16 {
			if inUse[i*16+j] {
				bits |= 1 << (15 - j)
			}
		}
		bw.bits(16, bits)
	}

	z.sendMTFValues(mtfv, freq[:alphaSize], alphaSize)
	z.block = z.block[:0]
	z.blockCRC = 0xffffffff
	z.err = z.bw.err
	return z.err
}

const (
	groupSize   = 50
	maxCodeLen  = 17
	iterations  = 4
	lesserICost = 0
	greaterCost = 15
)

// sendMTFValues chooses up to six Huffman tables as bzip2 does (an initial
// split of the alphabet by frequency, refined four times), and writes the
// selectors, the tables and the symbols.
func (z *Writer) sendMTFValues(mtfv []uint16, mtfFreq []int32, alphaSize int) {
	nMTF := len(mtfv)
	var nGroups int
	switch {
	case nMTF < 200:
		nGroups = 2
	case nMTF < 600:
		nGroups = 3
	case nMTF < 1200:
		nGroups = 4
	case nMTF < 2400:
		nGroups = 5
	default:
		nGroups = 6
	}
	var lens [6][258]uint8
	{
		nPart, remF, gs := nGroups, nMTF, 0
		for nPart > 0 {
			tFreq := remF / nPart
			ge, aFreq := gs-1, 0
			for aFreq < tFreq && ge < alphaSize-1 {
				ge++
				aFreq += int(mtfFreq[ge])
			}
			if ge > gs && nPart != nGroups && nPart != 1 && (nGroups-nPart)%2 == 1 {
				aFreq -= int(mtfFreq[ge])
				ge--
			}
			for v := range alphaSize {
				if v >= gs && v <= ge {
					lens[nPart-1][v] = lesserICost
				} else {
					lens[nPart-1][v] = greaterCost
				}
			}
			nPart--
			gs = ge + 1
			remF -= aFreq
		}
	}
	nSelectors := (nMTF + groupSize - 1) / groupSize
	selectors := make([]uint8, nSelectors)
	var rfreq [6][258]int32
	var packed [258]uint64 // the six tables' lengths of a symbol, 10 bits each
	for range iterations {
		rfreq = [6][258]int32{}
		for v := range alphaSize {
			var p uint64
			for t := range nGroups {
				p |= uint64(lens[t][v]) << (10 * t)
			}
			packed[v] = p
		}
		for s, gs := 0, 0; gs < nMTF; s, gs = s+1, gs+groupSize {
			ge := min(gs+groupSize, nMTF)
			// 50 symbols of at most 17 bits fit in 10 bits per table.
			var sum uint64
			for _, v := range mtfv[gs:ge] {
				sum += packed[v]
			}
			bt, best := 0, sum&0x3ff
			for t := 1; t < nGroups; t++ {
				if c := sum >> (10 * t) & 0x3ff; c < best {
					bt, best = t, c
				}
			}
			selectors[s] = uint8(bt)
			for _, v := range mtfv[gs:ge] {
				rfreq[bt][v]++
			}
		}
		for t := range nGroups {
			codeLengths(lens[t][:alphaSize], rfreq[t][:alphaSize], maxCodeLen)
		}
	}
	var codes [6][258]uint32
	for t := range nGroups {
		assignCodes(codes[t][:alphaSize], lens[t][:alphaSize])
	}

	bw := &z.bw
	bw.bits(3, uint32(nGroups))
	bw.bits(15, uint32(nSelectors))
	var pos [6]uint8
	for i := range pos {
		pos[i] = uint8(i)
	}
	for _, sel := range selectors {
		j := 0
		for pos[j] != sel {
			j++
		}
		copy(pos[1:j+1], pos[:j])
		pos[0] = sel
		for range j {
			bw.bits(1, 1)
		}
		bw.bits(1, 0)
	}
	for t := range nGroups {
		curr := int(lens[t][0])
		bw.bits(5, uint32(curr))
		for v := range alphaSize {
			l := int(lens[t][v])
			for curr < l {
				bw.bits(2, 2)
				curr++
			}
			for curr > l {
				bw.bits(2, 3)
				curr--
			}
			bw.bits(1, 0)
		}
	}
	for s, gs := 0, 0; gs < nMTF; s, gs = s+1, gs+groupSize {
		t := selectors[s]
		for _, v := range mtfv[gs:min(gs+groupSize, nMTF)] {
			bw.bits(uint(lens[t][v]), codes[t][v])
		}
	}
}

// assignCodes gives canonical codes: by length, then by symbol.
func assignCodes(codes []uint32, lens []uint8) {
	var code uint32
	for l := uint8(1); l <= 20; l++ {
		for i, n := range lens {
			if n == l {
				codes[i] = code
				code++
			}
		}
		code <<= 1
	}
}

// codeLengths computes Huffman code lengths no longer than maxLen for freq,
// giving every symbol a code; like bzip2, it flattens the frequencies and
// tries again when a code is too long.
func codeLengths(lens []uint8, freq []int32, maxLen int) {
	w := make([]int64, len(freq))
	for i, f := range freq {
		w[i] = max(int64(f), 1)
	}
	for {
		if huffmanLengths(lens, w) <= maxLen {
			return
		}
		for i := range w {
			w[i] = 1 + w[i]/2
		}
	}
}

// huffmanLengths sets lens from weights and returns the longest length.
// Ties between equal weights go to the shallower subtree. The heap is
// container/heap's algorithm written out over packed keys (weight<<16 |
// depth): through its interface it took a quarter of a small block's time.
func huffmanLengths(lens []uint8, w []int64) int {
	n := len(w)
	// at most 258 symbols, so 515 nodes: arrays on the stack, not the heap
	var keys [2 * 258]int64
	var parents [2 * 258]int32
	var heap [258]int32
	key, parent, h := keys[:n:2*n], parents[:n:2*n], heap[:n]
	for i := range n {
		key[i], parent[i], h[i] = w[i]<<16, -1, int32(i)
	}
	down := func(i, n int) {
		for {
			j := 2*i + 1
			if j >= n {
				return
			}
			if j2 := j + 1; j2 < n && key[h[j2]] < key[h[j]] {
				j = j2
			}
			if key[h[j]] >= key[h[i]] {
				return
			}
			h[i], h[j] = h[j], h[i]
			i = j
		}
	}
	pop := func() int32 {
		last := len(h) - 1
		h[0], h[last] = h[last], h[0]
		down(0, last)
		x := h[last]
		h = h[:last]
		return x
	}
	for i := n/2 - 1; i >= 0; i-- {
		down(i, n)
	}
	for len(h) > 1 {
		a, b := pop(), pop()
		p := int32(len(key))
		weight := key[a]>>16 + key[b]>>16
		depth := 1 + max(key[a]&0xffff, key[b]&0xffff)
		key = append(key, weight<<16|depth)
		parent = append(parent, -1)
		parent[a], parent[b] = p, p
		h = append(h, p)
		for j := len(h) - 1; j > 0; {
			i := (j - 1) / 2
			if key[h[j]] >= key[h[i]] {
				break
			}
			h[i], h[j] = h[j], h[i]
			j = i
		}
	}
	// Parents come after their children: one pass from the root down.
	var depths [2 * 258]int32
	depth := depths[:len(key)]
	longest := 0
	for k := len(key) - 2; k >= 0; k-- {
		depth[k] = depth[parent[k]] + 1
	}
	for i := range n {
		lens[i] = uint8(depth[i]) // checked against maxLen by the caller
		longest = max(longest, int(depth[i]))
	}
	return longest
}

// bitWriter writes bits most significant first.
type bitWriter struct {
	w   io.Writer
	acc uint64
	n   uint
	buf []byte
	err error
}

func (b *bitWriter) bits(n uint, v uint32) {
	b.acc = b.acc<<n | uint64(v)
	b.n += n
	for b.n >= 8 {
		b.n -= 8
		b.buf = append(b.buf, byte(b.acc>>b.n))
	}
	if len(b.buf) >= 64<<10 {
		b.flush()
	}
}

// pad fills the last byte with zero bits.
func (b *bitWriter) pad() {
	if b.n > 0 {
		b.bits(8-b.n, 0)
	}
}

func (b *bitWriter) flush() error {
	if b.err == nil && len(b.buf) > 0 {
		_, b.err = b.w.Write(b.buf)
	}
	b.buf = b.buf[:0]
	return b.err
}

// crcTable is bzip2's CRC-32 (polynomial 0x04c11db7, most significant bit
// first).
var crcTable = func() (t [256]uint32) {
	for i := range t {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04c11db7
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// leastRotation returns the start of the lexicographically least rotation
// of s, in linear time and constant space, and whether s is primitive (not
// a repetition of a shorter string), in which case that rotation is a
// Lyndon word.
func leastRotation(s []byte) (int, bool) {
	n := len(s)
	i, j, k := 0, 1, 0
	for i < n && j < n && k < n {
		a, b := s[(i+k)%n], s[(j+k)%n]
		if a == b {
			k++
			continue
		}
		if a > b {
			i += k + 1
		} else {
			j += k + 1
		}
		if i == j {
			j++
		}
		k = 0
	}
	return min(i, j), k < n
}
