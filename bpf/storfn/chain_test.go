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
		{Seed: 1, Nblocks: 2, Depth: 3, Mode: ModeEndless, Acc: 5, Hops: 6, Flags: 7},
		{Seed: ^uint64(0), Nblocks: 1 << 40, Depth: 16, Acc: 0xdeadbeef},
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
		{"last hop", ChainScratch{Seed: 7, Nblocks: 100, Depth: 1}, 0, true},
		{"middle hop", ChainScratch{Seed: 7, Nblocks: 100, Depth: 4}, 1, false},
		{"no blocks", ChainScratch{Seed: 7, Nblocks: 0, Depth: 4}, 0, true},
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
			s := ChainScratch{Seed: rng.Uint64(), Nblocks: nb, Depth: depth}
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

// recordingImage remembers the offsets and sizes read.
type recordingImage struct {
	img   image
	reads [][2]int64
}

func (r *recordingImage) ReadAt(p []byte, off int64) (int, error) {
	r.reads = append(r.reads, [2]int64{off, int64(len(p))})
	return r.img.ReadAt(p, off)
}

func TestRefChainModes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	img := make(image, 1<<20)
	for i := range img {
		img[i] = byte(rng.Uint32())
	}
	tests := []struct {
		name  string
		s     ChainScratch
		size  int
		start int64
		want  [][2]int64 // offset, size of each read; nil: only count
		hops  int
	}{
		{"sequential 512", ChainScratch{Seed: 9, Depth: 4, Mode: ModeSequential}, 512, 4096,
			[][2]int64{{4096, 512}, {4608, 512}, {5120, 512}, {5632, 512}}, 4},
		{"sequential 4096 depth 1", ChainScratch{Seed: 9, Depth: 1, Mode: ModeSequential}, 4096, 0,
			[][2]int64{{0, 4096}}, 1},
		{"sizes", ChainScratch{Seed: 5, Nblocks: uint64(len(img) / SizesUnit), Depth: 7, Mode: ModeSizes}, 4096, 8192, nil, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &recordingImage{img: img}
			res, err := RefChain(r.ReadAt, tc.size, tc.start, tc.s)
			if err != nil {
				t.Fatal(err)
			}
			if res.Hops != tc.hops || len(r.reads) != tc.hops {
				t.Fatalf("%d hops, %d reads, want %d", res.Hops, len(r.reads), tc.hops)
			}
			if tc.want != nil && fmt.Sprint(r.reads) != fmt.Sprint(tc.want) {
				t.Errorf("reads %v, want %v", r.reads, tc.want)
			}
			if tc.s.Mode == ModeSizes {
				for i, rd := range r.reads {
					if rd[1] != int64(SizesHop(uint32(i))) || rd[0]%SizesUnit != 0 {
						t.Errorf("read %d: %v, want size %d at a multiple of %d", i, rd, SizesHop(uint32(i)), SizesUnit)
					}
				}
				last := r.reads[len(r.reads)-1]
				if len(res.Final) != int(last[1]) || res.FinalOffset != last[0] {
					t.Errorf("final block %d bytes at %d, last read %v", len(res.Final), res.FinalOffset, last)
				}
			}
		})
	}
}

// TestAllWordsSeesEveryByte: with FlagAllWords a change of any byte of an
// intermediate block changes the chain's result; without it most bytes go
// unseen. This is what makes the kernel tests' comparison with a pread
// chain check every byte the kernel read.
func TestAllWordsSeesEveryByte(t *testing.T) {
	img := make(image, 64<<10)
	for i := range img {
		img[i] = byte(i * 7)
	}
	base := ChainScratch{Seed: 11, Depth: 3, Mode: ModeSequential}
	for _, tc := range []struct {
		flags  uint32
		unseen bool // some changed byte leaves the result as it was
	}{{0, true}, {FlagAllWords, false}} {
		s := base
		s.Flags = tc.flags
		ref, err := RefChain(img.ReadAt, 512, 0, s)
		if err != nil {
			t.Fatal(err)
		}
		unseen := false
		for pos := 512; pos < 1024; pos += 37 { // the second (intermediate) block
			mod := append(image(nil), img...)
			mod[pos] ^= 0x40
			got, _ := RefChain(mod.ReadAt, 512, 0, s)
			if got.Scratch == ref.Scratch {
				unseen = true
			}
		}
		if unseen != tc.unseen {
			t.Errorf("flags %#x: a changed byte unseen = %v, want %v", tc.flags, unseen, tc.unseen)
		}
	}
}

func TestSizesHop(t *testing.T) {
	var got []int
	for i := uint32(0); i < 7; i++ {
		got = append(got, SizesHop(i))
	}
	if want := []int{4096, 4096, 512, 512, 1024, 1024, 4096}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sizes %v, want %v (chain.c chain_size)", got, want)
	}
}
