package storfn

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/bpfstor/bpfstor/internal/splitmix"
)

func TestScratchRoundTrip(t *testing.T) {
	tests := []ChainScratch{
		{},
		{Seed: 1, NBlocks: 2, Depth: 3, Mode: ModeEndless, Acc: 5, Hops: 6, Pad: 7},
		{Seed: ^uint64(0), NBlocks: 1 << 40, Depth: 16, Acc: 0xdeadbeef},
	}
	for _, s := range tests {
		b := s.Marshal()
		if len(b) != ChainScratchSize {
			t.Fatalf("Marshal: %d bytes", len(b))
		}
		got, err := UnmarshalChainScratch(b)
		if err != nil || got != s {
			t.Errorf("round trip of %+v: %+v, %v", s, got, err)
		}
	}
	if _, err := UnmarshalChainScratch(make([]byte, ChainScratchSize-1)); err == nil {
		t.Error("short scratch accepted")
	}
}

func TestABISizes(t *testing.T) {
	if s := unsafe.Sizeof(Args{}); s != ArgsSize {
		t.Errorf("Args is %d bytes, want %d", s, ArgsSize)
	}
	if s := unsafe.Sizeof(Ctx{}); s != CtxSize {
		t.Errorf("Ctx is %d bytes, want %d", s, CtxSize)
	}
	if s := unsafe.Sizeof(testRunAttr{}); s != 80 {
		t.Errorf("testRunAttr is %d bytes, want 80", s)
	}
}

// image is an in-memory device.
type image []byte

func (m image) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(m)) {
		return 0, fmt.Errorf("read %d at %d outside %d", len(p), off, len(m))
	}
	return copy(p, m[off:]), nil
}

func TestRefStep(t *testing.T) {
	block := make([]byte, 512)
	for i := 0; i < 64; i++ {
		binary.LittleEndian.PutUint64(block[i*8:], uint64(i)*0x1111)
	}
	tests := []struct {
		name     string
		s        ChainScratch
		hop      uint32
		wantDone bool
	}{
		{"last hop", ChainScratch{Seed: 7, NBlocks: 100, Depth: 1}, 0, true},
		{"middle hop", ChainScratch{Seed: 7, NBlocks: 100, Depth: 4}, 1, false},
		{"no blocks", ChainScratch{Seed: 7, NBlocks: 0, Depth: 4}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s
			done, next := RefStep(&s, block, tc.hop)
			if done != tc.wantDone {
				t.Fatalf("done = %v", done)
			}
			h := splitmix.Mix(tc.s.Seed + uint64(tc.hop+1)*0x9e3779b97f4a7c15)
			w := uint64(h&63) * 0x1111
			if s.Acc != splitmix.Mix(tc.s.Acc^w) || s.Hops != tc.hop+1 {
				t.Errorf("scratch %+v", s)
			}
			if !done && (next%512 != 0 || next >= 100*512 || next != int64(splitmix.Mix(h^w)%100)*512) {
				t.Errorf("next = %d", next)
			}
		})
	}
}

func TestRefChain(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	img := make(image, 1<<20)
	for i := range img {
		img[i] = byte(rng.Uint32())
	}
	for _, size := range []int{512, 1024, 4096} {
		for depth := uint32(1); depth <= 16; depth++ {
			nb := uint64(len(img) / size)
			s := ChainScratch{Seed: rng.Uint64(), NBlocks: nb, Depth: depth}
			start := int64(rng.Uint64()%nb) * int64(size)
			res, err := RefChain(img.ReadAt, size, start, s)
			if err != nil {
				t.Fatal(err)
			}
			if res.Hops != int(depth) || res.Scratch.Hops != depth {
				t.Errorf("size %d depth %d: %d hops", size, depth, res.Hops)
			}
			if res.FinalOffset%int64(size) != 0 || !bytes.Equal(res.Final, img[res.FinalOffset:res.FinalOffset+int64(size)]) {
				t.Errorf("size %d depth %d: final block at %d wrong", size, depth, res.FinalOffset)
			}
			again, _ := RefChain(img.ReadAt, size, start, s)
			if again.FinalOffset != res.FinalOffset || again.Scratch != res.Scratch {
				t.Errorf("not deterministic")
			}
		}
	}
}
