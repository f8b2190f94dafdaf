package storfn

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/bpfstor/bpfstor/bpf/objs"
)

// The walk layout (bpf/include/walk.h): the header at the start of every
// 512-byte unit of the file tests' files, which the walk program
// (bpf/progs/walk.c) classifies.
const (
	WalkMagicFile   = 0x454c494653465042 // "BPFSFILE"
	WalkMagicVictim = 0x21214d4954434956 // "VICTIM!!"
	WalkUnit        = 512
	walkHdrSize     = 32
)

// Kinds of block the walk program counts (enum walk_kind), the indexes
// of its walk_seen map.
const (
	WalkSeen = iota
	WalkOurs
	WalkZero
	WalkVictim
	WalkWrong
	WalkKinds
)

// WalkHdr is struct walk_hdr.
type WalkHdr struct {
	Magic, File, Off, Ver uint64
}

// Put writes h at the start of b.
func (h WalkHdr) Put(b []byte) {
	binary.LittleEndian.PutUint64(b[0:], h.Magic)
	binary.LittleEndian.PutUint64(b[8:], h.File)
	binary.LittleEndian.PutUint64(b[16:], h.Off)
	binary.LittleEndian.PutUint64(b[24:], h.Ver)
}

// ReadWalkHdr reads the header at the start of b.
func ReadWalkHdr(b []byte) WalkHdr {
	return WalkHdr{
		Magic: binary.LittleEndian.Uint64(b[0:]), File: binary.LittleEndian.Uint64(b[8:]),
		Off: binary.LittleEndian.Uint64(b[16:]), Ver: binary.LittleEndian.Uint64(b[24:]),
	}
}

// FillWalk fills b, the bytes at offset off of a file, with a header per
// unit: file's id and the unit's offset modulo period (0: none), and
// the rest of each unit from the header, so that no unit of one file
// and offset equals another's.
func FillWalk(b []byte, magic, file, off, period, ver uint64) {
	for i := 0; i+WalkUnit <= len(b); i += WalkUnit {
		o := off + uint64(i)
		if period != 0 {
			o %= period
		}
		u := b[i : i+WalkUnit]
		WalkHdr{Magic: magic, File: file, Off: o, Ver: ver}.Put(u)
		x := magic ^ file*0x9e3779b97f4a7c15 ^ o ^ ver<<48
		for j := walkHdrSize; j < WalkUnit; j += 8 {
			x = x*6364136223846793005 + 1442695040888963407
			binary.LittleEndian.PutUint64(u[j:], x)
		}
	}
}

// Classify is the walk program's classification of a block read at
// offset (kind, one of WalkOurs, WalkZero, WalkVictim, WalkWrong).
func Classify(b []byte, s WalkScratch, offset uint64) int {
	h := ReadWalkHdr(b)
	want := offset
	if s.Period != 0 {
		want %= s.Period
	}
	switch {
	case h.Magic == WalkMagicFile && h.File == s.File && h.Off == want:
		return WalkOurs
	case h == WalkHdr{}:
		return WalkZero
	case h.Magic == WalkMagicVictim:
		return WalkVictim
	}
	return WalkWrong
}

// WalkScratch is struct walk_scratch (bpf/include/walk.h), as bpf2go
// generates it:
//
//	File   uint64 // the id the blocks must carry
//	Period uint64 // a unit at offset o carries o % Period (0: o)
//	Stride uint64 // the next block is at offset + Stride ...
//	Limit  uint64 // ... modulo Limit (0: no wrap)
//	Depth  uint32 // blocks to read
//	Wrong  uint32 // out: victim and wrong blocks the chain saw
type WalkScratch objs.WalkWalkScratch

// WalkScratchSize is sizeof(struct walk_scratch).
const WalkScratchSize = int(unsafe.Sizeof(WalkScratch{}))

// Marshal returns the scratch bytes passed to the kernel.
func (s WalkScratch) Marshal() []byte {
	b := make([]byte, WalkScratchSize)
	Put(b, &s)
	return b
}

// UnmarshalWalkScratch parses scratch bytes.
func UnmarshalWalkScratch(b []byte) (WalkScratch, error) {
	var s WalkScratch
	if len(b) < WalkScratchSize {
		return s, fmt.Errorf("walk scratch: %d bytes, want %d", len(b), WalkScratchSize)
	}
	Get(b, &s)
	return s, nil
}
