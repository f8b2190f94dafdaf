package workload

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/bpf/objs"
	"github.com/bpfstor/bpfstor/bpf/storfn"
	"github.com/bpfstor/bpfstor/harness/proto"
	model "github.com/bpfstor/bpfstor/harness/workload"
	"github.com/bpfstor/bpfstor/images/btree"
)

// Range query operations of the btree workload (proto.Workload.Op).
const (
	OpLookup = model.OpLookup
	OpRange  = model.OpRange // collect the values of Span keys
	OpSum    = model.OpSum   // sum of the first 8 bytes of Span keys' values
)

// scanWalk is one range query walked from user space exactly as
// bpf/progs/btree_scan.c walks it in the kernel: descend to the leaf where
// lo belongs, find the first key >= lo (in the next leaf if lo is above
// every key of its leaf), then read the value log block by block until a
// value above hi, an empty slot, the end of the log, or max values.
type scanWalk struct {
	Q btreeScanQuery
	// Off is the byte offset of the block to read next.
	Off uint64
	R   btreeScanResult

	values bool   // reading the value log
	voff   uint64 // first value's offset in the first value block
	// store, if set, takes the collected values (btreeScanMax of
	// btree.ValueSize bytes) instead of R.Values, so that a measured walk
	// allocates nothing; valuesIn makes R.Values of it afterwards.
	store []byte
}

func newScanWalk(root uint64, q btreeScanQuery) scanWalk {
	return scanWalk{Q: q, Off: root * btree.BlockSize}
}

func (w *scanWalk) next() uint64 { return w.Off }

// step consumes the block read at w.Off: done when the query has its answer
// in w.R, else w.Off is the next block to read.
func (w *scanWalk) step(b []byte) (done bool, err error) {
	w.R.Hops++
	if w.values {
		return w.valueBlock(b)
	}
	if w.Q.Lo > w.Q.Hi {
		return true, nil
	}
	nd, err := parseNode(b, w.Off)
	if err != nil {
		return true, err
	}
	if !nd.leaf {
		w.Off = nd.child(w.Q.Lo) * btree.BlockSize
		return false, nil
	}
	for i := 0; i < nd.n; i++ {
		k := nd.key(i)
		if k < w.Q.Lo {
			continue
		}
		if k > w.Q.Hi {
			return true, nil // empty range
		}
		off := nd.ptr(i)
		if off == 0 || off%btree.ValueSize != 0 {
			return true, fmt.Errorf("btree scan: leaf at %d: bad value offset %d for key %d", w.Off, off, k)
		}
		w.values, w.voff = true, off%btree.BlockSize
		w.Off = off &^ (btree.BlockSize - 1)
		return false, nil
	}
	next := nd.ptr(btree.NextLeaf)
	if next == 0 {
		return true, nil
	}
	w.Off = next * btree.BlockSize
	return false, nil
}

func (w *scanWalk) valueBlock(b []byte) (bool, error) {
	le := binary.LittleEndian
	for j := int(w.voff / btree.ValueSize); j < btree.ValuesPerBlock; j++ {
		v := b[j*btree.ValueSize : (j+1)*btree.ValueSize]
		k := le.Uint64(v)
		if k == 0 || k > w.Q.Hi {
			return true, nil
		}
		if k < w.Q.Lo {
			return true, fmt.Errorf("btree scan: value log at %d: key %d below lo %d", w.Off+uint64(j*btree.ValueSize), k, w.Q.Lo)
		}
		if w.Q.Op == btreeScanCollect {
			if w.R.Count >= w.Q.Max || w.R.Count >= btreeScanMax {
				return true, nil
			}
			if w.store != nil {
				copy(w.store[int(w.R.Count)*btree.ValueSize:], v)
			} else {
				w.R.Values = append(w.R.Values, append([]byte(nil), v...))
			}
		}
		w.R.Sum += k
		w.R.Count++
	}
	w.voff = 0
	if w.Off+btree.BlockSize >= w.Q.VLogEnd {
		return true, nil
	}
	w.Off += btree.BlockSize
	return false, nil
}

// valuesIn sets r.Values to the r.Count values collected into store.
func valuesIn(r *btreeScanResult, store []byte) {
	r.Values = nil
	for i := 0; i < int(r.Count) && i < btreeScanMax; i++ {
		r.Values = append(r.Values, store[i*btree.ValueSize:(i+1)*btree.ValueSize])
	}
}

// rangeQuery is a timed range query: the Span keys from index A of the
// sorted key list, and what its answer must be.
type rangeQuery struct {
	Q     btreeScanQuery
	A     int    // index of the first key
	Count int    // keys in the range
	Sum   uint64 // sum of their keys (a value's first 8 bytes are its key)
	Hops  int    // blocks the walk reads
}

// newRangeQuery makes the query for keys[a : a+span] (fewer at the end of
// the key list), with its expected answer. vlogStart is the first value-log
// block: the value of keys[i] is at vlogStart*512 + i*64 (images/btree).
func newRangeQuery(keys []uint64, prefix []uint64, a, span int, op uint32, depth int, vlogStart, imageSize uint64) rangeQuery {
	e := min(a+span, len(keys)) - 1
	q := rangeQuery{
		Q:     btreeScanQuery{Lo: keys[a], Hi: keys[e], VLogEnd: imageSize, Op: op},
		A:     a,
		Count: e - a + 1,
		Sum:   prefix[e+1] - prefix[a],
	}
	if op == btreeScanCollect {
		q.Q.Max = uint32(span)
	}
	// The walk reads the nodes down to lo's leaf (lo is a key: no
	// next-leaf hop), every value block from keys[a]'s to keys[e]'s, and
	// one more when keys[e] fills the last slot of its block and the log
	// goes on: only the next block shows that the range has ended.
	first, last := uint64(a)/btree.ValuesPerBlock, uint64(e)/btree.ValuesPerBlock
	q.Hops = depth + int(last-first) + 1
	if e%btree.ValuesPerBlock == btree.ValuesPerBlock-1 && (vlogStart+last+1)*btree.BlockSize < imageSize {
		q.Hops++
	}
	return q
}

// check says what is wrong with r as the answer to q, "" if nothing.
func (q rangeQuery) check(r btreeScanResult, keys []uint64, seed uint64) string {
	switch {
	case int(r.Count) != q.Count:
		return fmt.Sprintf("%d keys, want %d", r.Count, q.Count)
	case r.Sum != q.Sum:
		return fmt.Sprintf("sum %d, want %d", r.Sum, q.Sum)
	case int(r.Hops) != q.Hops:
		return fmt.Sprintf("%d blocks read, want %d", r.Hops, q.Hops)
	}
	if q.Q.Op != btreeScanCollect {
		return ""
	}
	if len(r.Values) != q.Count {
		return fmt.Sprintf("%d values collected, want %d", len(r.Values), q.Count)
	}
	for i, v := range r.Values {
		if err := btree.CheckValue(keys[q.A+i], seed, v); err != nil {
			return fmt.Sprintf("value %d: %v", i, err)
		}
	}
	return ""
}

// prefixSums returns p with p[i] = keys[0] + ... + keys[i-1] (mod 2^64).
func prefixSums(keys []uint64) []uint64 {
	p := make([]uint64, len(keys)+1)
	for i, k := range keys {
		p[i+1] = p[i] + k
	}
	return p
}

// scanOp maps a workload op onto the scan program's operation.
func scanOp(op string) (uint32, error) {
	switch op {
	case OpRange:
		return btreeScanCollect, nil
	case OpSum:
		return btreeScanSum, nil
	}
	return 0, fmt.Errorf("op %q is not range or sum", op)
}

// runBTreeRange measures range queries (op range: collect the values of
// span consecutive keys; op sum: only their sum) in mode pread (a scanWalk,
// one O_DIRECT pread per block), syscall or driver (one chain_read with
// bpf/progs/btree_scan.c). Latency and IOPS are per query. Every answer is
// checked: key count, sum, blocks read, and each collected value.
func runBTreeRange(env *Env, j *btreeJob, p *proto.Point) error {
	w := j.W
	op, err := scanOp(w.Op)
	if err != nil {
		return fmt.Errorf("btree: %w", err)
	}
	if w.Span < 1 || (op == btreeScanCollect && w.Span > btreeScanMax) {
		return fmt.Errorf("btree %s: span %d outside 1..%d", w.Op, w.Span, btreeScanMax)
	}
	flags, err := modeFlags(w.Mode)
	if err != nil {
		return fmt.Errorf("btree: %w", err)
	}
	var prog *ebpf.Program
	if flags != 0 {
		if prog, err = loadProg(objs.LoadBTreeScan, objs.BTreeScanProgBtreeScan); err != nil {
			return fmt.Errorf("btree: %w", err)
		}
		// The program against the Go reader on edge cases first.
		if _, err := j.scanCheck(env, flags, 8); err != nil {
			return fmt.Errorf("btree: %s self-check: %w", objs.BTreeScanProgBtreeScan, err)
		}
	}
	prefix := prefixSums(j.Keys)
	scratchLen := btreeScanHdr
	if op == btreeScanCollect {
		scratchLen = btreeScanSize
	}
	outs := make([]tally, j.Threads)
	win, errs := measureChecked(j.Count, j.Threads, w.Ops, w.Warmup, outs, func(t int, o *tally, warmup, n int) (*rangeThread, error) {
		return newRangeThread(j, prog, flags, op, scratchLen, o, warmup, n, j.rng(t), prefix)
	})
	err = j.finish(p, outs, win, errs)
	p.BTree.Op, p.BTree.Span = w.Op, w.Span
	return err
}

// rangeSlot is one measured range query, made before the clock starts, and
// its answer, checked after the clock stops.
type rangeSlot struct {
	q  rangeQuery
	r  btreeScanResult // without Values: those stay in the slot's store
	st storfn.Stats
}

// rangeThread runs a btree range point's queries on one thread; every
// measured query has its own scratch (kernel modes) or value store (pread
// mode) for the check after the clock.
type rangeThread struct {
	j          *btreeJob
	prog       int
	flags, qop uint32
	o          *tally
	slots      []rangeSlot
	warm       []rangeQuery
	store      []byte // per measured query (then one for the warm-up): scratch or collected values
	per        int    // bytes of store per query
	read       func(off int64) ([]byte, error)
	walk       scanWalk
	buf        []byte
	warmN      int
}

func newRangeThread(j *btreeJob, prog *ebpf.Program, flags, op uint32, scratchLen int, o *tally, warmup, n int, rng *rand.Rand, prefix []uint64) (*rangeThread, error) {
	buf, err := alignedBuf(btree.BlockSize)
	if err != nil {
		return nil, err
	}
	per := btreeScanMax * btree.ValueSize
	if flags != 0 {
		per = scratchLen
	}
	th := &rangeThread{j: j, flags: flags, qop: op, o: o, buf: buf, per: per,
		slots: make([]rangeSlot, n), warm: make([]rangeQuery, warmup), store: make([]byte, (n+1)*per)}
	if prog != nil {
		th.prog = prog.FD()
	}
	th.read = readBlock(j.FD, buf)
	imageSize := j.SB.ImageSize()
	query := func() rangeQuery {
		return newRangeQuery(j.Keys, prefix, rng.IntN(len(j.Keys)), j.W.Span, op, j.Depth, j.SB.ValueLogStart, imageSize)
	}
	for i := range th.warm {
		th.warm[i] = query()
	}
	for i := range th.slots {
		th.slots[i].q = query()
	}
	o.T = newOpTimes(n)
	return th, nil
}

func (th *rangeThread) mem(i int) []byte { return th.store[i*th.per : (i+1)*th.per] }

// op runs measured query i, or a warm-up query (i < 0).
func (th *rangeThread) op(i int) error {
	k := len(th.slots) // the warm-up's store
	var q *rangeQuery
	var s *rangeSlot
	if i < 0 {
		q = &th.warm[th.warmN]
		th.warmN++
	} else {
		s, k = &th.slots[i], i
		q = &s.q
	}
	store := th.mem(k)
	if th.flags == 0 {
		th.walk = newScanWalk(th.j.SB.Root, q.Q)
		th.walk.store = store
		t0 := time.Now()
		err := walkBlocks(th.read, &th.walk, q.Hops+2) // one read past the expected may still end it; the check counts it wrong
		t1 := time.Now()
		if err != nil {
			return fmt.Errorf("range [%d, %d]: %w", q.Q.Lo, q.Q.Hi, err)
		}
		if s != nil {
			s.r = th.walk.R
			th.o.record(i, t0, t1)
		}
		return nil
	}
	q.Q.marshal(store)
	t0 := time.Now()
	_, st, err := storfn.ChainReadStats(th.j.FD, th.buf, th.j.Root, th.prog, store, th.flags)
	t1 := time.Now()
	if err != nil {
		return fmt.Errorf("range [%d, %d]: %w", q.Q.Lo, q.Q.Hi, err)
	}
	if s != nil {
		s.st = st
		th.o.record(i, t0, t1)
	}
	return nil
}

// check checks every measured query's answer: key count, sum, blocks read
// and each collected value (kernel modes: the program's hop count and
// error first).
func (th *rangeThread) check() {
	w := th.j.W
	for i := range th.slots[:th.o.Done] {
		s := &th.slots[i]
		q := s.q
		var r btreeScanResult
		kwhy := ""
		if th.flags == 0 {
			r = s.r
			valuesIn(&r, th.mem(i))
		} else {
			r = unmarshalBTreeScan(th.mem(i), th.qop)
			if r.Hops != s.st.Hops {
				kwhy = fmt.Sprintf("program counted %d hops, chain_read %d", r.Hops, s.st.Hops)
			}
			if r.Error != 0 {
				kwhy = fmt.Sprintf("program error %d", r.Error)
			}
		}
		why := kwhy
		if why == "" {
			why = q.check(r, th.j.Keys, th.j.SB.Seed)
		}
		th.o.answer(time.Duration(th.o.T.Lat[i]), int64(r.Hops), int64(s.st.DriverHops), why, func() string {
			return fmt.Sprintf("btree %s: %s [%d, %d] (%d keys from index %d)", w.Mode, w.Op, q.Q.Lo, q.Q.Hi, q.Count, q.A)
		})
	}
}

func (th *rangeThread) close() { unix.Munmap(th.buf[:cap(th.buf)]) }
