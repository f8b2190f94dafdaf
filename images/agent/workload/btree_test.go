package workload

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/bpfstor/bpfstor/images/btree"
)

// memImage generates a tree image in memory.
func memImage(t *testing.T, p btree.Params) ([]byte, *btree.Tree) {
	t.Helper()
	var b bytes.Buffer
	if _, err := btree.Generate(&b, p); err != nil {
		t.Fatal(err)
	}
	img := b.Bytes()
	tree, err := btree.Open(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	return img, tree
}

func TestWalkLookupMatchesReference(t *testing.T) {
	for _, p := range []btree.Params{
		{Keys: 1, Fanout: 31, Seed: 1},     // depth 1: the root is a leaf
		{Keys: 31, Fanout: 31, Seed: 2},    // depth 1, full
		{Keys: 500, Fanout: 31, Seed: 3},   // depth 2
		{Keys: 30000, Fanout: 31, Seed: 4}, // depth 3
		{Keys: 100, Fanout: 3, Seed: 5},    // depth 4, low fanout
		{Keys: 3000, Fanout: 2, Seed: 6},   // depth 8
	} {
		img, tree := memImage(t, p)
		sb := tree.Superblock()
		keys, err := btree.Keys(p)
		if err != nil {
			t.Fatal(err)
		}
		var reads []int64
		read := func(off int64) ([]byte, error) {
			if off%btree.BlockSize != 0 || off < 0 || off+btree.BlockSize > int64(len(img)) {
				t.Fatalf("read at %d: misaligned or outside the %d-byte image", off, len(img))
			}
			reads = append(reads, off)
			return img[off : off+btree.BlockSize], nil
		}
		check := func(key uint64) {
			reads = reads[:0]
			got, err := walkLookup(read, sb.Root, key, int(sb.Depth)+1)
			if err != nil {
				t.Fatalf("%+v key %d: %v", p, key, err)
			}
			want, err := tree.LookupPath(key)
			if err != nil {
				t.Fatal(err)
			}
			if got.Found != want.Found || got.Value != want.Value || got.Hops != len(want.Reads) {
				t.Fatalf("%+v key %d: walk found=%v hops=%d, reference found=%v reads=%d", p, key, got.Found, got.Hops, want.Found, len(want.Reads))
			}
			for i, off := range want.Reads {
				if reads[i] != int64(off) {
					t.Fatalf("%+v key %d: walk read %v, reference %v", p, key, reads, want.Reads)
				}
			}
		}
		rng := rand.New(rand.NewPCG(p.Seed, 0))
		for range 200 {
			check(keys[rng.IntN(len(keys))])
		}
		check(keys[0])
		check(keys[len(keys)-1])
		for _, k := range btree.AbsentKeys(keys, 100, p.Seed) {
			check(k)
		}
	}
}

func TestWalkLookupCorrupt(t *testing.T) {
	img, tree := memImage(t, btree.Params{Keys: 500, Fanout: 31, Seed: 1})
	sb := tree.Superblock()
	read := func(off int64) ([]byte, error) { return img[off : off+btree.BlockSize], nil }
	// Root pointing at itself: bounded, an error, not a hang.
	bad := bytes.Clone(img)
	root := sb.Root * btree.BlockSize
	for i := range btree.NumPtrs {
		binary.LittleEndian.PutUint64(bad[root+btree.NodeOffPtrs+8*uint64(i):], sb.Root)
	}
	readBad := func(off int64) ([]byte, error) { return bad[off : off+btree.BlockSize], nil }
	if _, err := walkLookup(readBad, sb.Root, 12345, int(sb.Depth)+1); err == nil {
		t.Error("cyclic tree: no error")
	}
	// Superblock is no node.
	if _, err := walkLookup(read, 0, 12345, 3); err == nil {
		t.Error("walk from block 0 (the superblock): no error")
	}
}

func TestBTreeScratchRoundTrip(t *testing.T) {
	s := btreeScratch{Key: 1 << 62, State: btreeStateValue, Found: 1, Hops: 4, Voff: 448, Error: 5, Pad: 7, ValueOff: 1 << 40}
	for i := range s.Value {
		s.Value[i] = byte(i + 1)
	}
	b := make([]byte, btreeScratchSize)
	marshalBTreeScratch(&s, b)
	// Offsets of struct btree_scratch in bpf/include/btree.h.
	if binary.LittleEndian.Uint64(b[0:]) != s.Key || binary.LittleEndian.Uint32(b[20:]) != 448 ||
		binary.LittleEndian.Uint64(b[32:]) != s.ValueOff || b[40] != 1 || b[103] != 64 {
		t.Errorf("layout differs from struct btree_scratch: %x", b)
	}
	got, err := unmarshalBTreeScratch(b)
	if err != nil || got != s {
		t.Errorf("round trip: %+v, %v", got, err)
	}
	if _, err := unmarshalBTreeScratch(b[:50]); err == nil {
		t.Error("short scratch accepted")
	}
}

func TestZipf(t *testing.T) {
	const n = 1000
	rng := rand.New(rand.NewPCG(1, 2))
	z := newZipf(rng, n, zipfTheta)
	counts := make([]int, n)
	const draws = 200000
	for range draws {
		r := z.next()
		if r >= n {
			t.Fatalf("rank %d >= %d", r, n)
		}
		counts[r]++
	}
	// P(rank 0) = 1/zeta(n, θ): about 0.134 for n=1000, θ=0.99.
	p0 := float64(counts[0]) / draws
	want := 1 / zetaSum(n, zipfTheta)
	if p0 < want*0.9 || p0 > want*1.1 {
		t.Errorf("P(rank 0) = %.4f, want about %.4f", p0, want)
	}
	// Skewed: the top 10% of ranks take far more than 10% of the draws.
	top := 0
	for _, c := range counts[:n/10] {
		top += c
	}
	if f := float64(top) / draws; f < 0.5 {
		t.Errorf("top 10%% of ranks got %.2f of the draws, want > 0.5 for θ=0.99", f)
	}
	if counts[1] < counts[10] || counts[10] < counts[500] {
		t.Errorf("counts not decreasing with rank: %d %d %d", counts[1], counts[10], counts[500])
	}
	// One rank: always 0.
	z1 := newZipf(rng, 1, zipfTheta)
	for range 100 {
		if z1.next() != 0 {
			t.Fatal("n=1: rank != 0")
		}
	}
}

func TestKeyDrawer(t *testing.T) {
	keys, err := btree.Keys(btree.Params{Keys: 5000, Fanout: 31, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	absent := btree.AbsentKeys(keys, btreeAbsentKeys, 9)
	inTree := map[uint64]bool{}
	for _, k := range keys {
		inTree[k] = true
	}
	for _, dist := range []string{"uniform", "zipf"} {
		d := newKeyDrawer(rand.New(rand.NewPCG(1, 1)), keys, absent, dist, 9)
		nAbsent := 0
		seen := map[uint64]int{}
		const draws = 20000
		for range draws {
			k, present := d.next()
			if present != inTree[k] {
				t.Fatalf("%s: key %d present=%v but in tree=%v", dist, k, present, inTree[k])
			}
			if !present {
				nAbsent++
			}
			seen[k]++
		}
		if f := float64(nAbsent) / draws; f < 0.08 || f > 0.12 {
			t.Errorf("%s: %.3f absent keys, want about 0.10", dist, f)
		}
		most := 0
		for _, c := range seen {
			most = max(most, c)
		}
		if dist == "zipf" && most < draws/20 {
			t.Errorf("zipf: hottest key drawn %d times of %d, not skewed", most, draws)
		}
		if dist == "uniform" && most > draws/100 {
			t.Errorf("uniform: a key drawn %d times of %d", most, draws)
		}
	}
	// Same seed, same sequence, whether drawn ahead (fill) or not, and
	// past the keys drawn ahead.
	for _, ahead := range []int{0, 1, 50, 100} {
		a := newKeyDrawer(rand.New(rand.NewPCG(3, 4)), keys, absent, "zipf", 9)
		b := newKeyDrawer(rand.New(rand.NewPCG(3, 4)), keys, absent, "zipf", 9)
		b.fill(ahead)
		for i := range 150 {
			x, px := a.next()
			y, py := b.next()
			if x != y || px != py {
				t.Fatalf("fill(%d): draw %d: key %d/%v vs %d/%v: same seed, different keys", ahead, i, x, px, y, py)
			}
		}
	}
}

func TestBTreeScanQueries(t *testing.T) {
	p := btree.Params{Keys: 3000, Fanout: 7, Seed: 3}
	img, tree := memImage(t, p)
	keys, _ := btree.Keys(p)
	sb := tree.Superblock()
	if sb.ImageSize() != uint64(len(img)) {
		t.Fatalf("ImageSize %d, image %d bytes", sb.ImageSize(), len(img))
	}
	qs := btreeScanQueries(rand.New(rand.NewPCG(1, 2)), keys, sb.ImageSize(), 200)
	if len(qs) != 200 {
		t.Fatalf("%d queries", len(qs))
	}
	empty, sums, collects := 0, 0, 0
	for _, q := range qs {
		if q.VLogEnd != sb.ImageSize() {
			t.Fatalf("VLogEnd %d", q.VLogEnd)
		}
		_, n, err := tree.Sum(q.Lo, q.Hi)
		if err != nil {
			t.Fatal(err)
		}
		switch q.Op {
		case btreeScanSum:
			sums++
			if n > btreeScanSpan+1 {
				t.Errorf("sum over [%d, %d] spans %d keys, more than %d", q.Lo, q.Hi, n, btreeScanSpan+1)
			}
		case btreeScanCollect:
			collects++
			if q.Max < 1 || q.Max > btreeScanMax {
				t.Errorf("collect max %d outside 1..%d", q.Max, btreeScanMax)
			}
		default:
			t.Errorf("op %d", q.Op)
		}
		if n == 0 {
			empty++
		}
	}
	if empty < 2 || sums < 50 || collects < 50 {
		t.Errorf("queries: %d empty, %d sums, %d collects: not varied enough", empty, sums, collects)
	}
	// Scratch layout of struct btree_scan_scratch.
	b := make([]byte, btreeScanSize)
	btreeScanQuery{Lo: 1, Hi: 2, VLogEnd: 3, Op: btreeScanCollect, Max: 4}.marshal(b)
	le := binary.LittleEndian
	if le.Uint64(b[0:]) != 1 || le.Uint64(b[8:]) != 2 || le.Uint64(b[16:]) != 3 || le.Uint32(b[24:]) != 1 || le.Uint32(b[28:]) != 4 {
		t.Errorf("query layout: %x", b[:32])
	}
	le.PutUint32(b[36:], 2)
	le.PutUint64(b[48:], 99)
	b[btreeScanHdr] = 7
	b[btreeScanHdr+btree.ValueSize] = 8
	r := unmarshalBTreeScan(b, btreeScanCollect)
	if r.Count != 2 || r.Sum != 99 || len(r.Values) != 2 || r.Values[0][0] != 7 || r.Values[1][0] != 8 {
		t.Errorf("result layout: %+v", r)
	}
	if btreeScanSize != 4096 {
		t.Errorf("scan scratch %d bytes, want 4096", btreeScanSize)
	}
}

// walkLookup runs a lookupWalk with read (the tests' one-call walk), reading at most maxHops blocks.
func walkLookup(read func(off int64) ([]byte, error), root, key uint64, maxHops int) (walkResult, error) {
	w := newLookupWalk(root, key)
	if err := walkBlocks(read, &w, maxHops); err != nil {
		return w.R, fmt.Errorf("btree walk: key %d: %w", key, err)
	}
	return w.R, nil
}
