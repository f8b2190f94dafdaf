package storfn

import (
	"encoding/binary"
	"fmt"

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
)

// ChainScratch mirrors struct chain_scratch in bpf/include/storfn.h.
type ChainScratch struct {
	Seed    uint64
	NBlocks uint64 // next block is chosen in [0, NBlocks)
	Depth   uint32 // blocks to read, >= 1
	Mode    uint32
	Acc     uint64 // out: hash of the words visited
	Hops    uint32 // out: blocks seen by the program
	Pad     uint32
}

// ChainScratchSize is sizeof(struct chain_scratch).
const ChainScratchSize = 40

// Marshal returns the scratch bytes passed to the kernel.
func (s ChainScratch) Marshal() []byte {
	b := make([]byte, ChainScratchSize)
	s.MarshalTo(b)
	return b
}

// MarshalTo writes the scratch bytes into b (at least ChainScratchSize).
func (s ChainScratch) MarshalTo(b []byte) {
	b = b[:ChainScratchSize]
	binary.LittleEndian.PutUint64(b[0:], s.Seed)
	binary.LittleEndian.PutUint64(b[8:], s.NBlocks)
	binary.LittleEndian.PutUint32(b[16:], s.Depth)
	binary.LittleEndian.PutUint32(b[20:], s.Mode)
	binary.LittleEndian.PutUint64(b[24:], s.Acc)
	binary.LittleEndian.PutUint32(b[32:], s.Hops)
	binary.LittleEndian.PutUint32(b[36:], s.Pad)
}

// UnmarshalChainScratch parses scratch bytes.
func UnmarshalChainScratch(b []byte) (ChainScratch, error) {
	if len(b) < ChainScratchSize {
		return ChainScratch{}, fmt.Errorf("chain scratch: %d bytes, want %d", len(b), ChainScratchSize)
	}
	return ChainScratch{
		Seed:    binary.LittleEndian.Uint64(b[0:]),
		NBlocks: binary.LittleEndian.Uint64(b[8:]),
		Depth:   binary.LittleEndian.Uint32(b[16:]),
		Mode:    binary.LittleEndian.Uint32(b[20:]),
		Acc:     binary.LittleEndian.Uint64(b[24:]),
		Hops:    binary.LittleEndian.Uint32(b[32:]),
		Pad:     binary.LittleEndian.Uint32(b[36:]),
	}, nil
}

// RefStep is one hop of the synthetic chain (ModeNormal) on block, the
// hop-th block of the chain (0-based), exactly as bpf/progs/chain.c: it
// updates s.Acc and s.Hops and returns whether the chain is done and else
// the next offset (the block size stays len(block)).
func RefStep(s *ChainScratch, block []byte, hop uint32) (done bool, next int64) {
	h := splitmix.Mix(s.Seed + uint64(hop+1)*0x9e3779b97f4a7c15)
	i := h & 63
	w := binary.LittleEndian.Uint64(block[i*8:])
	s.Acc = splitmix.Mix(s.Acc ^ w)
	s.Hops = hop + 1
	if hop+1 >= s.Depth || s.NBlocks == 0 {
		return true, 0
	}
	return false, int64(splitmix.Mix(h^w)%s.NBlocks) * int64(len(block))
}

// RefResult is the outcome of a reference chain.
type RefResult struct {
	Final       []byte       // the final block
	FinalOffset int64        // its offset
	Scratch     ChainScratch // scratch after the chain
	Hops        int          // blocks read
}

// RefChain runs the synthetic chain in user space, reading each block of
// size bytes with readAt (e.g. pread on the device).
func RefChain(readAt func(p []byte, off int64) (int, error), size int, start int64, s ChainScratch) (RefResult, error) {
	return RefChainInto(readAt, make([]byte, size), start, s)
}

// RefChainInto is RefChain reading every block into b (len(b) is the block
// size), which then holds the final block: it allocates nothing, for a
// measured loop.
func RefChainInto(readAt func(p []byte, off int64) (int, error), b []byte, start int64, s ChainScratch) (RefResult, error) {
	off, size := start, len(b)
	for hop := uint32(0); ; hop++ {
		if hop >= HardMaxHops {
			return RefResult{}, fmt.Errorf("reference chain: more than %d hops", HardMaxHops)
		}
		n, err := readAt(b, off)
		if err != nil {
			return RefResult{}, fmt.Errorf("reference chain: read %d at %d: %w", size, off, err)
		}
		if n != size {
			return RefResult{}, fmt.Errorf("reference chain: short read %d/%d at %d", n, size, off)
		}
		done, next := RefStep(&s, b, hop)
		if done {
			return RefResult{Final: b, FinalOffset: off, Scratch: s, Hops: int(hop) + 1}, nil
		}
		off = next
	}
}
