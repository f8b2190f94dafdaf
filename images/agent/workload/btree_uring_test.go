package workload

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/images/btree"
)

// memIO is a fake completion source over a tree image in memory: wait
// completes every read in flight in submission order (rng nil) or a random
// non-empty subset in random order. It checks that reads are aligned and in
// the image, that a slot never has two reads at once (its buffer would be
// overwritten), and it advances a fake clock by 1 ms per wait.
type memIO struct {
	img    []byte
	bufs   [][]byte
	rng    *rand.Rand
	fail   map[int64]int32 // result of reads at these offsets
	queued []memRead
	flight []memRead

	waits     int
	batches   []int // reads submitted by each wait
	maxFlight int
}

type memRead struct {
	slot int
	off  int64
}

func newMemIO(img []byte, slots int, rng *rand.Rand) *memIO {
	m := &memIO{img: img, rng: rng, fail: map[int64]int32{}}
	for range slots {
		m.bufs = append(m.bufs, make([]byte, btree.BlockSize))
	}
	return m
}

func (m *memIO) now() time.Time {
	return time.Unix(0, 0).Add(time.Duration(m.waits) * time.Millisecond)
}

func (m *memIO) buf(slot int) []byte { return m.bufs[slot] }

func (m *memIO) read(slot int, off int64) error {
	if off%btree.BlockSize != 0 || off < 0 || off+btree.BlockSize > int64(len(m.img)) {
		return fmt.Errorf("fake: read at %d misaligned or outside the %d-byte image", off, len(m.img))
	}
	for _, r := range append(m.queued, m.flight...) {
		if r.slot == slot {
			return fmt.Errorf("fake: slot %d has a read at %d already, another at %d would share its buffer", slot, r.off, off)
		}
	}
	m.queued = append(m.queued, memRead{slot, off})
	return nil
}

func (m *memIO) wait(dst []pipeDone) ([]pipeDone, error) {
	m.waits++
	m.batches = append(m.batches, len(m.queued))
	m.flight = append(m.flight, m.queued...)
	m.queued = m.queued[:0]
	m.maxFlight = max(m.maxFlight, len(m.flight))
	if len(m.flight) == 0 {
		return dst, errors.New("fake: wait with no read in flight would block for ever")
	}
	k := len(m.flight)
	if m.rng != nil {
		m.rng.Shuffle(len(m.flight), func(i, j int) { m.flight[i], m.flight[j] = m.flight[j], m.flight[i] })
		k = 1 + m.rng.IntN(len(m.flight))
	}
	for _, r := range m.flight[:k] {
		copy(m.bufs[r.slot], m.img[r.off:r.off+btree.BlockSize])
		res, ok := m.fail[r.off]
		if !ok {
			res = btree.BlockSize
		}
		dst = append(dst, pipeDone{slot: r.slot, res: res})
	}
	m.flight = append(m.flight[:0], m.flight[k:]...)
	return dst, nil
}

// recordingDrawer draws keys like the workload (keyDrawer) and remembers
// them.
type recordingDrawer struct {
	d     *keyDrawer
	drawn map[uint64]int
}

func (r *recordingDrawer) next() (uint64, bool) {
	k, present := r.d.next()
	r.drawn[k]++
	return k, present
}

func newRecordingDrawer(t *testing.T, p btree.Params, seed uint64) *recordingDrawer {
	t.Helper()
	keys, err := btree.Keys(p)
	if err != nil {
		t.Fatal(err)
	}
	absent := btree.AbsentKeys(keys, 64, p.Seed)
	return &recordingDrawer{d: newKeyDrawer(rand.New(rand.NewPCG(seed, 1)), keys, absent, "uniform", seed), drawn: map[uint64]int{}}
}

// TestLookupPipe drives the pipeline over in-memory trees with a warm-up
// phase and a measured phase: every lookup's answer must check, each drawn
// key must come back exactly once, no more than batch reads may be in
// flight, the reads that became ready must be submitted together, and a
// phase must end with nothing in flight.
func TestLookupPipe(t *testing.T) {
	for _, tc := range []struct {
		name         string
		p            btree.Params
		batch        int
		warm, ops    int
		random       bool // random completion subsets and order
		wantMaxBatch int  // most reads one wait submits
	}{
		{"depth1/b1", btree.Params{Keys: 20, Fanout: 31, Seed: 1}, 1, 5, 50, false, 1},
		{"depth1/b4", btree.Params{Keys: 20, Fanout: 31, Seed: 1}, 4, 5, 50, false, 4},
		{"depth3/b1", btree.Params{Keys: 30000, Fanout: 31, Seed: 2}, 1, 10, 200, false, 1},
		{"depth3/b8", btree.Params{Keys: 30000, Fanout: 31, Seed: 2}, 8, 10, 200, false, 8},
		{"depth3/b32/random", btree.Params{Keys: 30000, Fanout: 31, Seed: 2}, 32, 40, 500, true, 32},
		{"depth6/b16/random", btree.Params{Keys: 60000, Fanout: 8, Seed: 3}, 16, 0, 300, true, 16},
		{"depth8/b5/random", btree.Params{Keys: 3000, Fanout: 2, Seed: 4}, 5, 3, 200, true, 5},
		{"ops<batch", btree.Params{Keys: 500, Fanout: 31, Seed: 5}, 32, 0, 7, false, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, tree := memImage(t, tc.p)
			sb := tree.Superblock()
			depth := int(sb.Depth)
			var rng *rand.Rand
			if tc.random {
				rng = rand.New(rand.NewPCG(uint64(tc.batch), 7))
			}
			io := newMemIO(img, tc.batch, rng)
			dr := newRecordingDrawer(t, tc.p, 11)
			pipe := newLookupPipe(io, tc.batch, sb.Root, depth+1, dr.next)
			pipe.now = io.now
			returned := map[uint64]int{}
			var hops int
			for _, phase := range []int{tc.warm, tc.ops} {
				pipe.allow(phase)
				for i := range phase {
					l, err := pipe.next()
					if err != nil {
						t.Fatalf("lookup %d of %d: %v", i, phase, err)
					}
					if why := checkLookup(l.R, l.Key, l.Present, depth, sb.Seed); why != "" {
						t.Fatalf("key %d (present %v): %s", l.Key, l.Present, why)
					}
					want, err := tree.LookupPath(l.Key)
					if err != nil {
						t.Fatal(err)
					}
					if l.R.Hops != len(want.Reads) {
						t.Fatalf("key %d: %d reads, the reference path has %d", l.Key, l.R.Hops, len(want.Reads))
					}
					if l.D <= 0 || l.D > time.Duration(io.waits)*time.Millisecond {
						t.Fatalf("key %d: latency %v after %d waits", l.Key, l.D, io.waits)
					}
					if !tc.random && l.D != time.Duration(l.R.Hops)*time.Millisecond {
						// Every read completes at the next wait: a lookup of
						// h reads takes exactly h waits from its first
						// submission to its last completion.
						t.Fatalf("key %d: latency %v for %d reads, want %d ms", l.Key, l.D, l.R.Hops, l.R.Hops)
					}
					returned[l.Key]++
					hops += l.R.Hops
				}
				if pipe.inFlight() != 0 || pipe.reads != 0 || len(io.flight)+len(io.queued) != 0 {
					t.Fatalf("phase of %d lookups ended with %d lookups, %d reads in flight", phase, pipe.inFlight(), pipe.reads)
				}
			}
			if _, err := pipe.next(); err == nil || !strings.Contains(err.Error(), "none left to start") {
				t.Errorf("next past the allowance: %v, want an error", err)
			}
			for k, n := range dr.drawn {
				if returned[k] != n {
					t.Fatalf("key %d drawn %d times, returned %d times", k, n, returned[k])
				}
			}
			if len(returned) != len(dr.drawn) {
				t.Fatalf("%d distinct keys returned, %d drawn", len(returned), len(dr.drawn))
			}
			if io.maxFlight > tc.batch {
				t.Errorf("%d reads in flight at once, batch %d", io.maxFlight, tc.batch)
			}
			maxBatch, submitted := 0, 0
			for _, b := range io.batches {
				maxBatch = max(maxBatch, b)
				submitted += b
			}
			if maxBatch != tc.wantMaxBatch {
				t.Errorf("at most %d reads submitted by one wait, want %d", maxBatch, tc.wantMaxBatch)
			}
			if submitted != hops {
				t.Errorf("%d reads submitted, lookups read %d blocks", submitted, hops)
			}
		})
	}
}

// corruptImage returns a copy of img with fn applied to the root node.
func corruptImage(img []byte, root uint64, fn func(node []byte)) []byte {
	c := append([]byte(nil), img...)
	fn(c[root*btree.BlockSize : (root+1)*btree.BlockSize])
	return c
}

// TestLookupPipeErrors checks that a failed, short or nonsensical read fails
// the pipeline with an error naming the key and offset, and that drain then
// waits for every read still in flight.
func TestLookupPipeErrors(t *testing.T) {
	p := btree.Params{Keys: 30000, Fanout: 31, Seed: 2}
	img, tree := memImage(t, p)
	sb := tree.Superblock()
	root := int64(sb.Root) * btree.BlockSize
	le := binary.LittleEndian
	for _, tc := range []struct {
		name string
		img  []byte
		fail map[int64]int32
		want []string
	}{
		{"eio", img, map[int64]int32{root: -int32(unix.EIO)}, []string{"key ", fmt.Sprintf("uring read at %d", root), "input/output error"}},
		{"short", img, map[int64]int32{root: 100}, []string{"key ", fmt.Sprintf("uring read at %d", root), "short read 100 of 512"}},
		{"eof", img, map[int64]int32{root: 0}, []string{"short read 0 of 512"}},
		{"bad magic", corruptImage(img, sb.Root, func(b []byte) { le.PutUint16(b[btree.NodeOffMagic:], 0xbeef) }), nil,
			[]string{"key ", fmt.Sprintf("block at %d: node magic 0xbeef", root)}},
		{"cycle", corruptImage(img, sb.Root, func(b []byte) {
			for i := 0; i <= btree.MaxFanout; i++ { // every child is the root itself
				le.PutUint64(b[btree.NodeOffPtrs+8*i:], sb.Root)
			}
		}), nil, []string{"more than 4 reads (cyclic tree?)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			io := newMemIO(tc.img, 8, rand.New(rand.NewPCG(1, 2)))
			io.fail = tc.fail
			dr := newRecordingDrawer(t, p, 3)
			pipe := newLookupPipe(io, 8, sb.Root, int(sb.Depth)+1, dr.next)
			pipe.allow(100)
			var err error
			for i := 0; i < 100 && err == nil; i++ {
				_, err = pipe.next()
			}
			if err == nil {
				t.Fatal("100 lookups without an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			pipe.drain()
			if pipe.reads != 0 || len(io.flight)+len(io.queued) != 0 {
				t.Errorf("after drain: %d reads counted, %d in the fake", pipe.reads, len(io.flight)+len(io.queued))
			}
		})
	}
}

// TestThreadShare checks threadShare against the ops measureThreads really
// gives each thread.
func TestThreadShare(t *testing.T) {
	for _, tc := range []struct{ ops, threads int }{{10, 1}, {10, 3}, {2, 4}, {300, 2}, {1001, 7}} {
		got := make([]int, tc.threads)
		var mu sync.Mutex
		measureThreads(tc.threads, tc.ops, 0, func(th int) (opFunc, func(), error) {
			return func(int) error {
				mu.Lock()
				got[th]++
				mu.Unlock()
				return nil
			}, func() {}, nil
		})
		for th, n := range got {
			if want := threadShare(tc.ops, tc.threads, th); n != want {
				t.Errorf("ops %d threads %d: thread %d ran %d ops, threadShare says %d", tc.ops, tc.threads, th, n, want)
			}
		}
	}
}

// TestLookupPipeOnRing runs the pipeline on a real io_uring (ringIO) over a
// tree image file on the host; skipped where the host has no io_uring.
func TestLookupPipeOnRing(t *testing.T) {
	p := btree.Params{Keys: 30000, Fanout: 31, Seed: 9}
	img, tree := memImage(t, p)
	sb := tree.Superblock()
	path := filepath.Join(t.TempDir(), "tree.img")
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, batch := range []int{1, 3, 16, 32} {
		t.Run(fmt.Sprintf("batch%d", batch), func(t *testing.T) {
			rio, err := newRingIO(int(f.Fd()), batch)
			if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
				missing(t, "io_uring is not available on this host: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rio.close()
			dr := newRecordingDrawer(t, p, uint64(batch))
			pipe := newLookupPipe(rio, batch, sb.Root, int(sb.Depth)+1, dr.next)
			const n = 400
			pipe.allow(n)
			for i := range n {
				l, err := pipe.next()
				if err != nil {
					t.Fatalf("lookup %d: %v", i, err)
				}
				if why := checkLookup(l.R, l.Key, l.Present, int(sb.Depth), sb.Seed); why != "" {
					t.Fatalf("key %d (present %v): %s", l.Key, l.Present, why)
				}
			}
			if pipe.inFlight() != 0 || pipe.reads != 0 {
				t.Fatalf("%d lookups, %d reads still in flight", pipe.inFlight(), pipe.reads)
			}
			if batch > 1 && pipe.waits >= n*(int(sb.Depth)+1) {
				t.Errorf("%d waits for %d lookups at batch %d: reads were not batched", pipe.waits, n, batch)
			}
		})
	}
}
