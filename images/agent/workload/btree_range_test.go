package workload

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/images/btree"
)

// runScan walks q over an in-memory image.
func runScan(t *testing.T, img []byte, root uint64, q btreeScanQuery) btreeScanResult {
	t.Helper()
	w := newScanWalk(root, q)
	read := func(off int64) ([]byte, error) {
		if off%btree.BlockSize != 0 || off < 0 || off+btree.BlockSize > int64(len(img)) {
			t.Fatalf("range [%d, %d]: read at %d: misaligned or outside the %d-byte image", q.Lo, q.Hi, off, len(img))
		}
		return img[off : off+btree.BlockSize], nil
	}
	if err := walkBlocks(read, &w, 1000); err != nil {
		t.Fatalf("range [%d, %d]: %v", q.Lo, q.Hi, err)
	}
	return w.R
}

// TestScanWalkMatchesReference checks the user-space range walk against
// the Go reference reader (Tree.Sum, Tree.Range) on the edge-case queries
// the in-guest self-check uses.
func TestScanWalkMatchesReference(t *testing.T) {
	for _, p := range []btree.Params{
		{Keys: 1, Fanout: 31, Seed: 1},
		{Keys: 500, Fanout: 31, Seed: 3},
		{Keys: 30000, Fanout: 31, Seed: 4},
		{Keys: 100, Fanout: 3, Seed: 5},
	} {
		img, tree := memImage(t, p)
		sb := tree.Superblock()
		keys, err := btree.Keys(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range btreeScanQueries(rand.New(rand.NewPCG(7, 7)), keys, sb.ImageSize(), 200) {
			got := runScan(t, img, sb.Root, q)
			sum, count, err := tree.Sum(q.Lo, q.Hi)
			if err != nil {
				t.Fatal(err)
			}
			if q.Op == btreeScanSum {
				if got.Sum != sum || uint64(got.Count) != count {
					t.Fatalf("%+v sum [%d, %d]: walk %d of %d keys, reader %d of %d", p, q.Lo, q.Hi, got.Sum, got.Count, sum, count)
				}
				continue
			}
			want, err := tree.Range(q.Lo, q.Hi, int(q.Max))
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Values) != len(want) {
				t.Fatalf("%+v range [%d, %d] max %d: walk %d values, reader %d", p, q.Lo, q.Hi, q.Max, len(got.Values), len(want))
			}
			for i := range want {
				if string(got.Values[i]) != string(want[i].Value[:]) {
					t.Fatalf("%+v range [%d, %d]: value %d differs", p, q.Lo, q.Hi, i)
				}
			}
		}
	}
}

// TestRangeQueryExpectation checks the timed workload's expected answers
// (count, sum, blocks read) against the walk, at every start position of
// small trees and at the ends of the key list, for both operations.
func TestRangeQueryExpectation(t *testing.T) {
	tests := []struct {
		p     btree.Params
		spans []int
	}{
		{btree.Params{Keys: 1, Fanout: 31, Seed: 1}, []int{1, 5}},
		{btree.Params{Keys: 8, Fanout: 31, Seed: 2}, []int{1, 8, 9}},     // one full value block
		{btree.Params{Keys: 17, Fanout: 4, Seed: 3}, []int{1, 2, 8, 16}}, // a partial last block
		{btree.Params{Keys: 500, Fanout: 31, Seed: 4}, []int{1, 7, 8, 9, 63}},
		{btree.Params{Keys: 200, Fanout: 2, Seed: 5}, []int{3, 63, 120}},
	}
	for _, tt := range tests {
		img, tree := memImage(t, tt.p)
		sb := tree.Superblock()
		keys, err := btree.Keys(tt.p)
		if err != nil {
			t.Fatal(err)
		}
		prefix := prefixSums(keys)
		for _, span := range tt.spans {
			for _, op := range []uint32{btreeScanSum, btreeScanCollect} {
				if op == btreeScanCollect && span > btreeScanMax {
					continue
				}
				for a := range keys {
					q := newRangeQuery(keys, prefix, a, span, op, int(sb.Depth), sb.ValueLogStart, sb.ImageSize())
					got := runScan(t, img, sb.Root, q.Q)
					if why := q.check(got, keys, sb.Seed); why != "" {
						t.Fatalf("%+v span %d op %d from key %d: %s", tt.p, span, op, a, why)
					}
				}
			}
		}
	}
}

// TestRangeQueryCheckCatchesWrongAnswers makes sure check is not a no-op.
func TestRangeQueryCheckCatchesWrongAnswers(t *testing.T) {
	p := btree.Params{Keys: 500, Fanout: 31, Seed: 4}
	img, tree := memImage(t, p)
	sb := tree.Superblock()
	keys, _ := btree.Keys(p)
	q := newRangeQuery(keys, prefixSums(keys), 100, 20, btreeScanCollect, int(sb.Depth), sb.ValueLogStart, sb.ImageSize())
	good := runScan(t, img, sb.Root, q.Q)
	for name, mut := range map[string]func(r *btreeScanResult){
		"count":  func(r *btreeScanResult) { r.Count-- },
		"sum":    func(r *btreeScanResult) { r.Sum++ },
		"hops":   func(r *btreeScanResult) { r.Hops++ },
		"value":  func(r *btreeScanResult) { r.Values[3] = append([]byte(nil), r.Values[4]...) },
		"values": func(r *btreeScanResult) { r.Values = r.Values[1:] },
	} {
		r := good
		r.Values = append([][]byte(nil), good.Values...)
		mut(&r)
		if why := q.check(r, keys, sb.Seed); why == "" {
			t.Errorf("%s: a wrong answer passed the check", name)
		}
	}
}

// endless is a walk that never has its answer (a cyclic tree).
type endless struct{ steps int }

func (e *endless) next() uint64              { return 0 }
func (e *endless) step([]byte) (bool, error) { e.steps++; return false, nil }

func TestWalkBlocksBoundsReads(t *testing.T) {
	reads := 0
	read := func(int64) ([]byte, error) { reads++; return make([]byte, btree.BlockSize), nil }
	var e endless
	err := walkBlocks(read, &e, 3)
	if err == nil || !strings.Contains(err.Error(), "more than 3 blocks read") || reads != 3 || e.steps != 3 {
		t.Fatalf("err %v after %d reads, %d steps; want the bound after 3", err, reads, e.steps)
	}
}
