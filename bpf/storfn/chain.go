package storfn

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/bpfstor/bpfstor/bpf/objs"
	"github.com/bpfstor/bpfstor/internal/splitmix"
)

// Chain modes of bpf/progs/chain.c (struct chain_scratch.mode).
const (
	ModeNormal     = 0
	ModeMisaligned = 1 // second hop at a misaligned offset (EINVAL)
	ModeBeyondEnd  = 2 // second hop past the device end (ERANGE)
	ModeEndless    = 3 // never done (ELOOP at the hop limit)
	ModeGarbage    = 4 // invalid verdict (EBADMSG)
	ModeBadSize    = 5 // second hop of 100 bytes (EINVAL)
	ModeSequential = 6 // next block is the one after the current one
	ModeSizes      = 7 // block sizes 4096, 4096, 512, 512, 1024, 1024, ...; offsets in SizesUnit
)

// Chain flags (struct chain_scratch.flags).
const (
	// FlagAllWords folds every word the program sees (the block, then
	// zeros up to BlockMax) into Acc, so that a wrong byte anywhere in any
	// block of the chain changes the result.
	FlagAllWords = 1 << 0
	// FlagZeroTail makes the program return an invalid verdict (EBADMSG)
	// when a byte of the block past its size is not zero.
	FlagZeroTail = 1 << 1
)

// SizesUnit is the offset unit of ModeSizes (CHAIN_SIZES_UNIT).
const SizesUnit = 4096

// sizesCycle is chain_size() of chain.c: the block size of hop i is
// SizesHop(i).
var sizesCycle = [3]int{4096, 512, 1024}

// SizesHop is the block size of hop i (0-based) in ModeSizes.
func SizesHop(i uint32) int { return sizesCycle[(i/2)%3] }

// ChainScratch is struct chain_scratch of bpf/include/storfn.h, as
// bpf2go generates it (bpf/objs), with the methods of this package:
//
//	Seed    uint64
//	Nblocks uint64 // next block is chosen in [0, Nblocks)
//	Depth   uint32 // blocks to read, >= 1
//	Mode    uint32
//	Acc     uint64 // out: hash of the words visited
//	Hops    uint32 // out: blocks seen by the program
//	Flags   uint32 // Flag*
type ChainScratch objs.ChainChainScratch

// ChainScratchSize is sizeof(struct chain_scratch).
const ChainScratchSize = int(unsafe.Sizeof(ChainScratch{}))

// Marshal returns the scratch bytes passed to the kernel.
func (s ChainScratch) Marshal() []byte {
	b := make([]byte, ChainScratchSize)
	s.MarshalTo(b)
	return b
}

// MarshalTo writes the scratch bytes into b (at least ChainScratchSize).
func (s ChainScratch) MarshalTo(b []byte) {
	Put(b[:ChainScratchSize], &s)
}

// UnmarshalChainScratch parses scratch bytes.
func UnmarshalChainScratch(b []byte) (ChainScratch, error) {
	var s ChainScratch
	if len(b) < ChainScratchSize {
		return s, fmt.Errorf("chain scratch: %d bytes, want %d", len(b), ChainScratchSize)
	}
	Get(b, &s)
	return s, nil
}

// RefStep is one hop of the synthetic chain (ModeNormal) on block, the
// hop-th block of the chain (0-based), exactly as bpf/progs/chain.c: it
// updates s.Acc and s.Hops and returns whether the chain is done and else
// the next offset (the block size stays len(block)).
func RefStep(s *ChainScratch, block []byte, hop uint32) (done bool, next int64) {
	done, next, _ = RefHop(s, block, hop, 0)
	return done, next
}

// RefHop is one hop of the chain in the modes that end well (ModeNormal,
// ModeSequential, ModeSizes) on block, the hop-th block (0-based) read at
// offset: it updates s.Acc and s.Hops as bpf/progs/chain.c does and
// returns whether the chain is done, else the next offset and size. The
// bytes past len(block) are zero by the kernel's contract, so
// FlagZeroTail never fails here.
func RefHop(s *ChainScratch, block []byte, hop uint32, offset int64) (done bool, next int64, nextSize int) {
	h := splitmix.Mix(s.Seed + uint64(hop+1)*0x9e3779b97f4a7c15)
	i := h & 63
	w := binary.LittleEndian.Uint64(block[i*8:])
	s.Acc = splitmix.Mix(s.Acc ^ w)
	if s.Flags&FlagAllWords != 0 {
		// every word of the BlockMax bytes the program sees: the block,
		// then zeros
		x := uint64(0)
		for j := 0; j < BlockMax; j += 8 {
			w := uint64(0)
			if j+8 <= len(block) {
				w = binary.LittleEndian.Uint64(block[j:])
			}
			x = splitmix.Mix(x ^ w)
		}
		s.Acc = splitmix.Mix(s.Acc ^ x)
	}
	s.Hops = hop + 1
	switch s.Mode {
	case ModeSequential:
		if hop+1 >= s.Depth {
			return true, 0, 0
		}
		return false, offset + int64(len(block)), len(block)
	case ModeSizes:
		if hop+1 >= s.Depth || s.Nblocks == 0 {
			return true, 0, 0
		}
		return false, int64(splitmix.Mix(h^w)%s.Nblocks) * SizesUnit, SizesHop(hop + 1)
	}
	if hop+1 >= s.Depth || s.Nblocks == 0 {
		return true, 0, 0
	}
	return false, int64(splitmix.Mix(h^w)%s.Nblocks) * int64(len(block)), len(block)
}

// RefResult is the outcome of a reference chain.
type RefResult struct {
	Final       []byte       // the final block
	FinalOffset int64        // its offset
	Scratch     ChainScratch // scratch after the chain
	Hops        int          // blocks read
}

// RefChain runs the synthetic chain in user space, reading its first
// block of size bytes (and the later ones of the sizes the mode gives)
// with readAt (e.g. pread on the device).
func RefChain(readAt func(p []byte, off int64) (int, error), size int, start int64, s ChainScratch) (RefResult, error) {
	return RefChainInto(readAt, make([]byte, size, max(size, BlockMax)), start, s)
}

// RefChainInto is RefChain reading every block into b (len(b) is the
// first block's size, cap(b) the largest a hop may read), which then holds
// the final block: it allocates nothing, for a measured loop.
func RefChainInto(readAt func(p []byte, off int64) (int, error), b []byte, start int64, s ChainScratch) (RefResult, error) {
	off, size := start, len(b)
	for hop := uint32(0); ; hop++ {
		if hop >= HardMaxHops {
			return RefResult{}, fmt.Errorf("reference chain: more than %d hops", HardMaxHops)
		}
		if size > cap(b) {
			return RefResult{}, fmt.Errorf("reference chain: hop %d reads %d bytes, more than the %d of the buffer", hop, size, cap(b))
		}
		blk := b[:size]
		n, err := readAt(blk, off)
		if err != nil {
			return RefResult{}, fmt.Errorf("reference chain: read %d at %d: %w", size, off, err)
		}
		if n != size {
			return RefResult{}, fmt.Errorf("reference chain: short read %d/%d at %d", n, size, off)
		}
		done, next, nextSize := RefHop(&s, blk, hop, off)
		if done {
			return RefResult{Final: blk, FinalOffset: off, Scratch: s, Hops: int(hop) + 1}, nil
		}
		off, size = next, nextSize
	}
}
