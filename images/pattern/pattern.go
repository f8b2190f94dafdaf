// Package pattern defines the content of the baseline NVMe data image: every
// 512-byte block is a deterministic function of its index and a seed, so a
// guest can check every block it reads without a copy of the image.
//
// Block layout: bytes 0..7 the block index (u64 LE), bytes 8..15 the seed
// (u64 LE), bytes 16..511 a splitmix64 stream seeded from (seed, index).
package pattern

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/bpfstor/bpfstor/internal/splitmix"
)

// BlockSize is the unit of the pattern.
const BlockSize = 512

// Fill writes block idx of the pattern into b (len(b) must be BlockSize).
func Fill(b []byte, idx, seed uint64) {
	binary.LittleEndian.PutUint64(b[0:], idx)
	binary.LittleEndian.PutUint64(b[8:], seed)
	s := seed ^ (idx * 0xd1b54a32d192ed03)
	for off := 16; off < BlockSize; off += 8 {
		binary.LittleEndian.PutUint64(b[off:], splitmix.Next(&s))
	}
}

// Check verifies that b (a multiple of BlockSize) holds the pattern blocks
// starting at block first.
func Check(b []byte, first, seed uint64) error {
	if len(b)%BlockSize != 0 {
		return fmt.Errorf("pattern: buffer of %d bytes is not a multiple of %d", len(b), BlockSize)
	}
	var want [BlockSize]byte
	for i := 0; i < len(b)/BlockSize; i++ {
		idx := first + uint64(i)
		Fill(want[:], idx, seed)
		got := b[i*BlockSize : (i+1)*BlockSize]
		if string(got) != string(want[:]) {
			return fmt.Errorf("pattern: block %d: got header %x, want %x",
				idx, got[:16], want[:16])
		}
	}
	return nil
}

// Write writes nblocks pattern blocks to w.
func Write(w io.Writer, nblocks, seed uint64) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	var blk [BlockSize]byte
	for i := uint64(0); i < nblocks; i++ {
		Fill(blk[:], i, seed)
		if _, err := bw.Write(blk[:]); err != nil {
			return fmt.Errorf("pattern: write block %d: %w", i, err)
		}
	}
	return bw.Flush()
}
