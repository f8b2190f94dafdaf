package workload

import (
	"unsafe"

	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/bpf/objs"
	"github.com/bpfstor/bpfstor/bpf/storfn"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/images/btree"
)

// Scratch of bpf/progs/btree.c (struct btree_scratch in bpf/include/btree.h).
const (
	btreeScratchSize = int(unsafe.Sizeof(btreeScratch{}))

	btreeStateNode  = 0
	btreeStateValue = 1

	// btreeVerdictCorrupt is what the program returns on a block that is
	// not a node (BTREE_VERDICT_CORRUPT): no verdict, so chain_read fails
	// with EBADMSG.
	btreeVerdictCorrupt = 0xbad

	// btreeAbsentPercent of the lookups ask for keys not in the tree.
	btreeAbsentPercent = 10
	// btreeAbsentKeys is the size of the pool of absent keys drawn from.
	btreeAbsentKeys = 1024
	// zipfTheta is the skew of the Zipfian key distribution (YCSB, XRP).
	zipfTheta = 0.99
)

// btreeScratch is struct btree_scratch (generated from bpf/include/btree.h).
type btreeScratch = objs.BTreeBtreeScratch

func marshalBTreeScratch(s *btreeScratch, b []byte) {
	storfn.Put(b[:btreeScratchSize], s)
}

func unmarshalBTreeScratch(b []byte) (btreeScratch, error) {
	var s btreeScratch
	if len(b) < btreeScratchSize {
		return s, fmt.Errorf("btree scratch: %d bytes, want %d", len(b), btreeScratchSize)
	}
	storfn.Get(b, &s)
	return s, nil
}

// btreeErrNames names struct btree_scratch.error (BTREE_ERR_*).
var btreeErrNames = map[uint32]string{
	0: "none", 1: "bad node magic", 2: "bad node kind", 3: "node key count outside 1..31",
	4: "bad scratch state", 5: "bad value offset or value key",
}

// walkResult is the outcome of one lookup.
type walkResult struct {
	Found    bool
	Value    [btree.ValueSize]byte
	Hops     int    // blocks read
	ValueOff uint64 // absolute offset of the value (found only)
}

// node is a tree node block as the user-space walks read it.
type node struct {
	b    []byte
	n    int // keys
	leaf bool
}

// parseNode checks the node header of block b (read at off) as the BPF
// programs do (btree_descend in bpf/include/btree.h).
func parseNode(b []byte, off uint64) (node, error) {
	le := binary.LittleEndian
	if m := le.Uint16(b[btree.NodeOffMagic:]); m != btree.NodeMagic {
		return node{}, fmt.Errorf("btree walk: block at %d: node magic %#04x, want %#04x", off, m, btree.NodeMagic)
	}
	n := int(le.Uint16(b[btree.NodeOffNKeys:]))
	if n < 1 || n > btree.MaxFanout {
		return node{}, fmt.Errorf("btree walk: block at %d: %d keys, outside 1..%d", off, n, btree.MaxFanout)
	}
	switch b[btree.NodeOffKind] {
	case btree.KindInner:
		return node{b: b, n: n}, nil
	case btree.KindLeaf:
		return node{b: b, n: n, leaf: true}, nil
	}
	return node{}, fmt.Errorf("btree walk: block at %d: node kind %d", off, b[btree.NodeOffKind])
}

func (nd node) key(i int) uint64 { return binary.LittleEndian.Uint64(nd.b[btree.NodeOffKeys+8*i:]) }
func (nd node) ptr(i int) uint64 { return binary.LittleEndian.Uint64(nd.b[btree.NodeOffPtrs+8*i:]) }

// child is the block an inner node sends key to.
func (nd node) child(key uint64) uint64 {
	i := 0
	for i < nd.n && key >= nd.key(i) {
		i++
	}
	return nd.ptr(i)
}

// lookupWalk is one point lookup walked from user space exactly as
// bpf/progs/btree.c walks it in the kernel: one 512-byte block per level
// (a block at a 512-aligned byte offset), then the value's block. Each
// block read is handed to step, which says where the next read is. The
// pread mode drives it with one pread per block, the uring mode with one
// io_uring read per block, many lookups in flight.
type lookupWalk struct {
	Key uint64
	// Off is the byte offset of the block to read next.
	Off  uint64
	R    walkResult
	voff uint64 // value offset, once the leaf is read
}

func newLookupWalk(root, key uint64) lookupWalk {
	return lookupWalk{Key: key, Off: root * btree.BlockSize}
}

// step consumes the block read at w.Off: it returns done when the lookup
// has its answer in w.R, else w.Off is the next block to read.
func (w *lookupWalk) step(b []byte) (done bool, err error) {
	le := binary.LittleEndian
	off, key := w.Off, w.Key
	w.R.Hops++
	if w.voff != 0 {
		copy(w.R.Value[:], b[w.voff-off:])
		if got := le.Uint64(w.R.Value[:]); got != key {
			return true, fmt.Errorf("btree walk: value at %d holds key %d, want %d", w.voff, got, key)
		}
		w.R.Found, w.R.ValueOff = true, w.voff
		return true, nil
	}
	nd, err := parseNode(b, off)
	if err != nil {
		return true, err
	}
	if !nd.leaf {
		w.Off = nd.child(key) * btree.BlockSize
		return false, nil
	}
	for i := 0; i < nd.n; i++ {
		k := nd.key(i)
		if k > key {
			break
		}
		if k != key {
			continue
		}
		voff := nd.ptr(i)
		if voff == 0 || voff%btree.ValueSize != 0 {
			return true, fmt.Errorf("btree walk: leaf at %d: bad value offset %d for key %d", off, voff, key)
		}
		w.voff = voff
		w.Off = voff &^ (btree.BlockSize - 1)
		return false, nil
	}
	return true, nil
}

// blockWalk is a walk over the tree's blocks from user space, one block
// at a time: lookupWalk, scanWalk.
type blockWalk interface {
	// next is the byte offset of the block to read next.
	next() uint64
	// step consumes that block; done when the walk has its answer.
	step(b []byte) (done bool, err error)
}

func (w *lookupWalk) next() uint64 { return w.Off }

// walkBlocks runs w with read until it has its answer, reading at most
// maxReads blocks (a guard against a cyclic tree).
func walkBlocks(read func(off int64) ([]byte, error), w blockWalk, maxReads int) error {
	for range maxReads {
		b, err := read(int64(w.next()))
		if err != nil {
			return err
		}
		if done, err := w.step(b); done || err != nil {
			return err
		}
	}
	return fmt.Errorf("more than %d blocks read (cyclic tree?)", maxReads)
}

// checkLookup says what is wrong with a lookup's answer, "" if nothing: a
// key of the tree must be found with btree.ValueFor's value, an absent key
// must not be found, and a lookup reads depth blocks, plus one for the
// value when found.
func checkLookup(r walkResult, key uint64, present bool, depth int, seed uint64) string {
	wantHops := depth
	if present {
		wantHops++
	}
	switch {
	case r.Found != present:
		return fmt.Sprintf("found=%v, want %v", r.Found, present)
	case present:
		if err := btree.CheckValue(key, seed, r.Value[:]); err != nil {
			return err.Error()
		}
	}
	if r.Hops != wantHops {
		return fmt.Sprintf("%d blocks read, want %d", r.Hops, wantHops)
	}
	return ""
}

// zipf draws ranks 0..n-1 with P(rank i) ∝ 1/(i+1)^θ, θ < 1 (Gray et al.,
// "Quickly generating billion-record synthetic databases", as in YCSB).
type zipf struct {
	n                        uint64
	theta, alpha, zetan, eta float64
	halfPowTheta, zeta2, nf  float64
	rng                      *rand.Rand
}

func zetaSum(n uint64, theta float64) float64 {
	var s float64
	for i := uint64(1); i <= n; i++ {
		s += 1 / math.Pow(float64(i), theta)
	}
	return s
}

// newZipf returns a sampler over n >= 1 ranks with skew theta in (0, 1).
func newZipf(rng *rand.Rand, n uint64, theta float64) *zipf {
	z := &zipf{n: n, theta: theta, rng: rng, nf: float64(n)}
	z.zetan = zetaSum(n, theta)
	z.zeta2 = zetaSum(2, theta)
	z.alpha = 1 / (1 - theta)
	z.halfPowTheta = 1 + math.Pow(0.5, theta)
	z.eta = (1 - math.Pow(2/z.nf, 1-theta)) / (1 - z.zeta2/z.zetan)
	return z
}

// next returns a rank; rank 0 is the most popular.
func (z *zipf) next() uint64 {
	u := z.rng.Float64()
	uz := u * z.zetan
	if uz < 1 || z.n == 1 {
		return 0
	}
	if uz < z.halfPowTheta {
		return 1
	}
	r := uint64(z.nf * math.Pow(z.eta*u-z.eta+1, z.alpha))
	if r >= z.n {
		r = z.n - 1
	}
	return r
}

// keyDrawer draws lookup keys: with probability btreeAbsentPercent an
// absent key (uniform over the pool), else a present key, uniform or
// Zipfian; Zipfian ranks are mapped to keys through a fixed random
// permutation so the hot keys are spread over the tree.
type keyDrawer struct {
	rng    *rand.Rand
	keys   []uint64
	absent []uint64
	z      *zipf
	perm   []uint32
	ahead  []drawn // keys drawn ahead by fill
	pos    int
}

func newKeyDrawer(rng *rand.Rand, keys, absent []uint64, dist string, permSeed uint64) *keyDrawer {
	d := &keyDrawer{rng: rng, keys: keys, absent: absent}
	if dist == "zipf" {
		d.z = newZipf(rng, uint64(len(keys)), zipfTheta)
		d.perm = zipfPerm(len(keys), permSeed)
	}
	return d
}

// zipfPerm is the rank -> key index permutation, the same for every thread.
func zipfPerm(n int, seed uint64) []uint32 {
	p := make([]uint32, n)
	for i := range p {
		p[i] = uint32(i)
	}
	r := rand.New(rand.NewPCG(seed, 0x7a697066)) // "zipf"
	r.Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p
}

// drawn is a key drawn ahead of time.
type drawn struct {
	key     uint64
	present bool
}

// fill draws the next n keys now, so that next returns them without the
// cost of drawing: a Zipfian draw takes a math.Pow, which under TCG costs
// as much as a fraction of a read and would otherwise count against the
// throughput (IOPS) though not the latency of each lookup.
func (d *keyDrawer) fill(n int) {
	d.ahead = d.ahead[:0]
	for range n {
		k, p := d.draw()
		d.ahead = append(d.ahead, drawn{k, p})
	}
	d.pos = 0
}

// next returns a key and whether it is in the tree.
func (d *keyDrawer) next() (uint64, bool) {
	if d.pos < len(d.ahead) {
		k := d.ahead[d.pos]
		d.pos++
		return k.key, k.present
	}
	return d.draw()
}

func (d *keyDrawer) draw() (uint64, bool) {
	if len(d.absent) > 0 && d.rng.IntN(100) < btreeAbsentPercent {
		return d.absent[d.rng.IntN(len(d.absent))], false
	}
	if d.z != nil {
		return d.keys[d.perm[d.z.next()]], true
	}
	return d.keys[d.rng.IntN(len(d.keys))], true
}

// btreeSelfCheck runs the BPF program with BPF_PROG_TEST_RUN (no chained
// I/O) on every block of the Go reference reader's path for key, and checks
// that it picks the same next block at every hop and the same answer at the
// end. It runs before a syscall or driver point is measured, so a program
// that walks the tree differently from the reference fails the point with a
// clear message instead of a pile of wrong answers.
func btreeSelfCheck(prog *ebpf.Program, tree *btree.Tree, f *os.File, key uint64) error {
	path, err := tree.LookupPath(key)
	if err != nil {
		return fmt.Errorf("reference lookup of key %d: %w", key, err)
	}
	scratch := make([]byte, btreeScratchSize)
	marshalBTreeScratch(&btreeScratch{Key: key}, scratch)
	block := make([]byte, btree.BlockSize)
	for h, off := range path.Reads {
		if _, err := f.ReadAt(block, int64(off)); err != nil {
			return fmt.Errorf("read block at %d: %w", off, err)
		}
		r, err := storfn.TestRun(prog, block, scratch, off, uint32(h))
		if err != nil {
			return fmt.Errorf("key %d hop %d (block at %d): %w", key, h, off, err)
		}
		s, err := unmarshalBTreeScratch(r.Scratch)
		if err != nil {
			return err
		}
		last := h == len(path.Reads)-1
		switch {
		case !last && r.Retval != storfn.VerdictNext:
			return fmt.Errorf("key %d hop %d (block at %d): program returned verdict %#x (error %q), the Go reader reads on to offset %d",
				key, h, off, r.Retval, btreeErrNames[s.Error], path.Reads[h+1])
		case !last && r.Ctx.NextOffset != path.Reads[h+1]:
			return fmt.Errorf("key %d hop %d (block at %d): program chose next offset %d, the Go reader's path goes to %d (path %v)",
				key, h, off, r.Ctx.NextOffset, path.Reads[h+1], path.Reads)
		case last && r.Retval != storfn.VerdictDone:
			return fmt.Errorf("key %d hop %d (block at %d): program returned verdict %#x (error %q) and next offset %d, the Go reader's path ends there (path %v)",
				key, h, off, r.Retval, btreeErrNames[s.Error], r.Ctx.NextOffset, path.Reads)
		case last && (s.Found == 1) != path.Found:
			return fmt.Errorf("key %d: program says found=%d, the Go reader says found=%v", key, s.Found, path.Found)
		case last && path.Found && s.Value != path.Value:
			return fmt.Errorf("key %d: program's value %x differs from the Go reader's %x", key, s.Value[:16], path.Value[:16])
		case int(s.Hops) != h+1:
			return fmt.Errorf("key %d hop %d: program counts %d hops, want %d", key, h, s.Hops, h+1)
		}
		scratch = r.Scratch
	}
	return nil
}

// btreeCorruptCheck runs the program on the superblock as if it were a node:
// it must give up with BTREE_VERDICT_CORRUPT, not pick a next block.
func btreeCorruptCheck(prog *ebpf.Program, f *os.File, key uint64) error {
	block := make([]byte, btree.BlockSize)
	if _, err := f.ReadAt(block, 0); err != nil {
		return fmt.Errorf("read superblock: %w", err)
	}
	scratch := make([]byte, btreeScratchSize)
	marshalBTreeScratch(&btreeScratch{Key: key}, scratch)
	r, err := storfn.TestRun(prog, block, scratch, 0, 0)
	if err != nil {
		return fmt.Errorf("superblock as a node: %w", err)
	}
	s, err := unmarshalBTreeScratch(r.Scratch)
	if err != nil {
		return err
	}
	if r.Retval != btreeVerdictCorrupt || s.Error != 1 {
		return fmt.Errorf("superblock as a node: verdict %#x error %d, want %#x (not a node) error 1 (bad node magic)", r.Retval, s.Error, btreeVerdictCorrupt)
	}
	return nil
}

// btreeJob is what every btree workload point starts from: the tree on the
// data disk read by the Go reference reader (through the page cache), its
// key list and a pool of absent keys, and the disk opened O_DIRECT for the
// measured reads.
type btreeJob struct {
	W       proto.Workload
	Rep     int
	Dist    string
	Threads int

	rf     *os.File // page-cache view, for the reference reader
	Tree   *btree.Tree
	SB     btree.Superblock
	Keys   []uint64
	Absent []uint64
	Depth  int

	f    *os.File // O_DIRECT
	FD   int
	Root int64  // byte offset of the root node
	Seed uint64 // the run seed (every draw: keys, absent keys, queries)
	// Count counts the device commands and CPU time of the measured
	// window (nil when it could not be set up: the point has no counters).
	Count *windowCounter
}

// openBTreeJob opens the tree on env's data disk for point ps.
func openBTreeJob(env *Env, ps proto.PointSpec) (*btreeJob, error) {
	w := ps.Workload
	j := &btreeJob{W: w, Rep: ps.Rep, Dist: w.Dist, Threads: max(w.Threads, 1), Seed: uint64(env.Job.RunSeed)}
	if j.Dist == "" {
		j.Dist = "uniform"
	}
	if j.Dist != "uniform" && j.Dist != "zipf" {
		return nil, fmt.Errorf("dist %q is not uniform or zipf", j.Dist)
	}
	var err error
	if j.rf, err = os.Open(env.dataPath(w)); err != nil {
		return nil, err
	}
	if j.Tree, err = btree.Open(j.rf); err != nil {
		j.Close()
		return nil, fmt.Errorf("%s: %w", env.dataPath(w), err)
	}
	j.SB = j.Tree.Superblock()
	j.Depth = int(j.SB.Depth)
	j.Root = int64(j.SB.Root) * btree.BlockSize
	if j.Keys, err = btree.Keys(btree.Params{Keys: j.SB.Keys, Fanout: int(j.SB.Fanout), Seed: j.SB.Seed}); err != nil {
		j.Close()
		return nil, fmt.Errorf("keys of %s: %w", env.dataPath(w), err)
	}
	// The key list must be the tree's: spot-check it with the reference.
	keys := j.Keys
	for _, k := range []uint64{keys[0], keys[len(keys)/2], keys[len(keys)-1]} {
		if _, found, err := j.Tree.Lookup(k); err != nil || !found {
			j.Close()
			return nil, fmt.Errorf("generated key %d not found in %s by the reference reader (%v): image and generator disagree", k, env.dataPath(w), err)
		}
	}
	j.Absent = btree.AbsentKeys(keys, btreeAbsentKeys, drawRNG(j.Seed, ps.Rep, 0xfffe).Uint64())
	if len(j.Absent) == 0 {
		j.Close()
		return nil, fmt.Errorf("no absent keys for a tree of %d keys", len(keys))
	}
	if j.f, err = os.OpenFile(env.dataPath(w), os.O_RDONLY|unix.O_DIRECT, 0); err != nil {
		j.Close()
		return nil, err
	}
	j.FD = int(j.f.Fd())
	if j.Count, err = openWindowCounter(env.dataDevice(w)); err != nil {
		env.logf("btree: no device counters for this point: %v", err)
	}
	return j, nil
}

// Close closes the job's files.
func (j *btreeJob) Close() {
	j.Count.close()
	if j.f != nil {
		j.f.Close()
	}
	if j.rf != nil {
		j.rf.Close()
	}
}

// rng returns thread t's random source: the same for the same job seed,
// repetition and thread, in every mode, so the modes compared look up the
// same keys.
func (j *btreeJob) rng(t int) *rand.Rand {
	return drawRNG(j.Seed, j.Rep, uint64(t))
}

// drawer returns thread t's lookup key drawer, with the keys of the
// thread's share of warm-up and measured lookups drawn ahead.
func (j *btreeJob) drawer(t int) *keyDrawer {
	d := newKeyDrawer(j.rng(t), j.Keys, j.Absent, j.Dist, j.Seed)
	d.fill(j.W.Warmup/j.Threads + j.W.Ops/j.Threads + 1)
	return d
}

// finish fills p from the threads' tallies and errors, and returns the
// first thread's error. A range or sum point's query and a uring point's
// batching are for the caller to add.
func (j *btreeJob) finish(p *proto.Point, outs []tally, win window, errs []error) error {
	sum := mergeTallies(p, outs, win)
	var firstErr error
	if err := firstError(errs); err != nil {
		firstErr = fmt.Errorf("btree %s depth %d: %w", j.W.Mode, j.Depth, err)
	}
	p.BTree = &proto.BTree{
		Depth: j.Depth, Keys: j.SB.Keys, Fanout: int(j.SB.Fanout), Dist: j.Dist, Threads: j.Threads,
		Found: sum.Found, NotFound: sum.NotFound,
	}
	p.Hops = &proto.Hops{Hops: sum.Hops}
	p.Counters = win.Counters
	if win.CountErr != nil && firstErr == nil {
		firstErr = fmt.Errorf("btree: device counters: %w", win.CountErr)
	}
	if kernelMode(j.W.Mode) {
		p.Hops.DriverHops = sum.DriverHops
	}
	return firstErr
}

// loadBTreeLookup loads bpf/progs/btree.c and checks it with
// BPF_PROG_TEST_RUN against the Go reference reader before it is used.
func (j *btreeJob) loadBTreeLookup(env *Env) (*ebpf.Program, error) {
	prog, err := loadProg(objs.LoadBTree, objs.BTreeProgBtreeLookup)
	if err != nil {
		return nil, err
	}
	for _, k := range []uint64{j.Keys[len(j.Keys)/3], j.Absent[len(j.Absent)-1]} {
		if err := btreeSelfCheck(prog, j.Tree, j.rf, k); err != nil {
			return nil, fmt.Errorf("self-check of %s (BPF_PROG_TEST_RUN vs the Go reader) failed: %w", objs.BTreeProgBtreeLookup, err)
		}
	}
	if err := btreeCorruptCheck(prog, j.rf, j.Keys[0]); err != nil {
		return nil, fmt.Errorf("self-check of %s failed: %w", objs.BTreeProgBtreeLookup, err)
	}
	return prog, nil
}

// readBlock returns a read function for one O_DIRECT block buffer.
func readBlock(fd int, buf []byte) func(off int64) ([]byte, error) {
	return func(off int64) ([]byte, error) {
		if err := preadFull(fd, buf, off); err != nil {
			return nil, err
		}
		return buf, nil
	}
}

// runBTree measures one btree point. Point lookups (op lookup, the
// default) run in one of four modes: pread (one O_DIRECT pread per level),
// syscall or driver (one chain_read with bpf/progs/btree.c), or uring
// (runBTreeURing). Range and sum queries are runBTreeRange. Latency is per
// lookup. Every answer is checked (checkLookup).
//
// On the data file (Workload.On) every mode reads the file; a kernel that cannot
// chain on files fails a chain mode's point with one line (chainOnFile).
func runBTree(env *Env, ps proto.PointSpec, p *proto.Point) error {
	j, err := openBTreeJob(env, ps)
	if err != nil {
		return fmt.Errorf("btree: %w", err)
	}
	defer j.Close()
	return chainOnFile(env, j.W, runBTreeMode(env, j, p))
}

func runBTreeMode(env *Env, j *btreeJob, p *proto.Point) error {
	if j.W.Mode == ModeURing || uringChainMode(j.W.Mode) {
		return runBTreeURing(env, j, p)
	}
	switch j.W.Op {
	case "", OpLookup:
	case OpRange, OpSum:
		return runBTreeRange(env, j, p)
	default:
		return fmt.Errorf("btree: op %q is not lookup, range or sum", j.W.Op)
	}
	return runBTreeLookup(env, j, p)
}

func runBTreeLookup(env *Env, j *btreeJob, p *proto.Point) error {
	w := j.W
	flags, err := modeFlags(w.Mode)
	if err != nil {
		return fmt.Errorf("btree: %w", err)
	}
	var prog *ebpf.Program
	if flags != 0 {
		if prog, err = j.loadBTreeLookup(env); err != nil {
			return fmt.Errorf("btree: %w", err)
		}
	}
	outs := make([]tally, j.Threads)
	win, errs := measureChecked(j.Count, j.Threads, w.Ops, w.Warmup, outs, func(t int, o *tally, warmup, n int) (*lookupThread, error) {
		return newLookupThread(j, prog, flags, o, warmup, n, j.drawer(t))
	})
	if err := j.finish(p, outs, win, errs); err != nil || flags == 0 {
		return err
	}
	// Range scans and sums with the scan program, checked against the Go
	// reader after every kernel-mode lookup point.
	n, err := j.scanCheck(env, flags, btreeScanChecks)
	if err != nil {
		return fmt.Errorf("btree: %s range scan check: %w", objs.BTreeScanProgBtreeScan, err)
	}
	p.BTree.ScanChecked = int64(n)
	return nil
}

// lookupSlot is one measured point lookup: its key, drawn before the clock
// starts, and what it returned, checked after the clock stops.
type lookupSlot struct {
	key     uint64
	present bool
	r       walkResult   // pread mode
	st      storfn.Stats // kernel modes
}

// lookupThread runs a btree point's lookups on one thread. In the kernel
// modes every measured lookup has its own scratch and final-block buffer,
// so that its answer can be checked after the clock has stopped.
type lookupThread struct {
	j       *btreeJob
	prog    int
	flags   uint32
	o       *tally
	slots   []lookupSlot
	draw    *keyDrawer
	mem     []byte // kernel modes: one block per measured lookup; then one for the warm-up and the pread walks
	scratch []byte // kernel modes: btreeScratchSize per measured lookup, then one for the warm-up
	read    func(off int64) ([]byte, error)
	walk    lookupWalk
}

func newLookupThread(j *btreeJob, prog *ebpf.Program, flags uint32, o *tally, warmup, n int, draw *keyDrawer) (*lookupThread, error) {
	kslots := 0
	if flags != 0 {
		kslots = n
	}
	mem, err := slotRegion(kslots+1, btree.BlockSize)
	if err != nil {
		return nil, err
	}
	th := &lookupThread{j: j, flags: flags, o: o, draw: draw, mem: mem,
		slots: make([]lookupSlot, n), scratch: make([]byte, (kslots+1)*btreeScratchSize)}
	if prog != nil {
		th.prog = prog.FD()
	}
	th.read = readBlock(j.FD, th.buf(kslots))
	// The warm-up draws its keys first, as it runs first.
	th.draw.pos = min(warmup, len(th.draw.ahead))
	for i := range th.slots {
		th.slots[i].key, th.slots[i].present = draw.next()
	}
	th.draw.pos = 0
	o.T = newOpTimes(n)
	return th, nil
}

func (th *lookupThread) buf(i int) []byte { return th.mem[i*btree.BlockSize : (i+1)*btree.BlockSize] }
func (th *lookupThread) scr(i int) []byte {
	return th.scratch[i*btreeScratchSize : (i+1)*btreeScratchSize]
}

// op runs measured lookup i, or a warm-up lookup (i < 0).
func (th *lookupThread) op(i int) error {
	j := th.j
	var key uint64
	var s *lookupSlot
	k := len(th.mem)/btree.BlockSize - 1 // the warm-up slot of mem and scratch
	if i < 0 {
		key, _ = th.draw.next()
	} else {
		s = &th.slots[i]
		key = s.key
		if th.flags != 0 {
			k = i
		}
	}
	if th.flags == 0 {
		th.walk = newLookupWalk(j.SB.Root, key)
		t0 := time.Now()
		err := walkBlocks(th.read, &th.walk, j.Depth+1)
		t1 := time.Now()
		if err != nil {
			return fmt.Errorf("key %d: btree walk: %w", key, err)
		}
		if s != nil {
			s.r = th.walk.R
			th.o.record(i, t0, t1)
		}
		return nil
	}
	buf, scratch := th.buf(k), th.scr(k)
	marshalBTreeScratch(&btreeScratch{Key: key}, scratch)
	t0 := time.Now()
	n, st, err := storfn.ChainReadStats(j.FD, buf, j.Root, th.prog, scratch, th.flags)
	t1 := time.Now()
	if err != nil {
		if errors.Is(err, unix.EBADMSG) {
			return fmt.Errorf("key %d: %w (the program found a block that is not a tree node)", key, err)
		}
		return fmt.Errorf("key %d: %w", key, err)
	}
	if n != len(buf) {
		return fmt.Errorf("key %d: chain_read returned %d bytes, want %d", key, n, len(buf))
	}
	if s != nil {
		s.st = st
		th.o.record(i, t0, t1)
	}
	return nil
}

// check checks every measured lookup's answer (checkLookup); in the kernel
// modes the answer must first agree with itself: the program's hop count
// with chain_read's, the value in the final block with the scratch's.
func (th *lookupThread) check() {
	for i := range th.slots[:th.o.Done] {
		s := &th.slots[i]
		r, kwhy := s.r, ""
		if th.flags != 0 {
			sc, _ := unmarshalBTreeScratch(th.scr(i))
			r = walkResult{Found: sc.Found == 1, Value: sc.Value, Hops: int(s.st.Hops), ValueOff: sc.ValueOff}
			if sc.Hops != s.st.Hops {
				kwhy = fmt.Sprintf("program counted %d hops, chain_read %d", sc.Hops, s.st.Hops)
			}
			if buf := th.buf(i); r.Found {
				vo := int(sc.ValueOff % btree.BlockSize)
				if uint64(s.st.FinalOffset) != sc.ValueOff&^(btree.BlockSize-1) || !bytes.Equal(buf[vo:vo+btree.ValueSize], sc.Value[:]) {
					kwhy = fmt.Sprintf("final block at %d does not hold the value at %d that the scratch reports", s.st.FinalOffset, sc.ValueOff)
				}
			}
		}
		th.o.lookup(time.Duration(th.o.T.Lat[i]), r, int64(s.st.DriverHops), kwhy, th.j, s.key, s.present)
	}
}

func (th *lookupThread) close() { unix.Munmap(th.mem[:cap(th.mem)]) }

// lookup records one measured point lookup and checks its answer (kwhy is
// a kernel-mode answer's inconsistency, checked first).
func (o *tally) lookup(d time.Duration, r walkResult, driverHops int64, kwhy string, j *btreeJob, key uint64, present bool) {
	if r.Found {
		o.Found++
	} else {
		o.NotFound++
	}
	why := kwhy
	if why == "" {
		why = checkLookup(r, key, present, j.Depth, j.SB.Seed)
	}
	o.answer(d, int64(r.Hops), driverHops, why, func() string {
		return fmt.Sprintf("btree %s: key %d (present %v)", j.W.Mode, key, present)
	})
}

// scanCheck runs n range queries with the scan program through chain_read
// with flags and checks each against the Go reader.
func (j *btreeJob) scanCheck(env *Env, flags uint32, n int) (int, error) {
	sprog, err := loadProg(objs.LoadBTreeScan, objs.BTreeScanProgBtreeScan)
	if err != nil {
		return 0, err
	}
	buf, err := alignedBuf(btree.BlockSize)
	if err != nil {
		return 0, err
	}
	defer unix.Munmap(buf[:cap(buf)])
	qs := btreeScanQueries(drawRNG(j.Seed, j.Rep, 0xffff), j.Keys, j.SB.ImageSize(), n)
	return btreeScanCheck(sprog, j.Tree, j.FD, buf, j.Root, flags, qs)
}

// Range scan / aggregate (bpf/progs/btree_scan.c, struct btree_scan_scratch).
const (
	btreeScanSum     = 0
	btreeScanCollect = 1
	btreeScanMax     = 63                                              // values the scratch holds
	btreeScanHdr     = int(unsafe.Offsetof(btreeScanScratch{}.Values)) // scratch header bytes (all a sum needs)
	btreeScanSize    = int(unsafe.Sizeof(btreeScanScratch{}))

	// btreeScanChecks range queries are run and checked after the lookups
	// of a syscall or driver point.
	btreeScanChecks = 40
	// btreeScanSpan bounds the keys of a checked sum, so that a chain on
	// the deepest tree (16 levels) stays under the default hop limit.
	btreeScanSpan = 80
)

// btreeScanQuery is the input of a range scan.
type btreeScanQuery struct {
	Lo, Hi, VLogEnd uint64
	Op, Max         uint32
}

// btreeScanScratch is struct btree_scan_scratch (generated from
// bpf/include/btree.h): the query, the outputs, then the values.
type btreeScanScratch = objs.BTreeScanBtreeScanScratch

// marshal writes the query into b (the scratch header, or all of it),
// zeroing the outputs.
func (q btreeScanQuery) marshal(b []byte) {
	clear(b)
	storfn.Put(b[:min(len(b), btreeScanHdr)], &btreeScanScratch{Lo: q.Lo, Hi: q.Hi, VlogEnd: q.VLogEnd, Op: q.Op, Max: q.Max})
}

// btreeScanResult is the output of a range scan.
type btreeScanResult struct {
	Count, Hops, Error uint32
	Sum                uint64
	Values             [][]byte // COLLECT: Count values of 64 bytes
}

func unmarshalBTreeScan(b []byte, op uint32) btreeScanResult {
	var sc btreeScanScratch
	storfn.Get(b[:btreeScanHdr], &sc)
	r := btreeScanResult{Count: sc.Count, Hops: sc.Hops, Error: sc.Error, Sum: sc.Sum}
	if op == btreeScanCollect {
		for i := 0; i < int(r.Count) && i < btreeScanMax; i++ {
			r.Values = append(r.Values, b[btreeScanHdr+i*btree.ValueSize:btreeScanHdr+(i+1)*btree.ValueSize])
		}
	}
	return r
}

// btreeScanQueries returns n range queries over keys: sums of up to
// btreeScanSpan keys and collections of up to btreeScanMax values, with lo
// and hi on keys, between keys, below the smallest and above the largest,
// and a few edge cases (empty, inverted, past the end).
func btreeScanQueries(rng *rand.Rand, keys []uint64, vlogEnd uint64, n int) []btreeScanQuery {
	between := func(i int) uint64 { // a value just above keys[i] (may be a key if adjacent)
		return keys[i] + 1
	}
	last := keys[len(keys)-1]
	qs := []btreeScanQuery{
		{Lo: 1, Hi: keys[min(5, len(keys)-1)], Op: btreeScanSum},   // from below the smallest key
		{Lo: last, Hi: btree.MaxKey, Op: btreeScanSum},             // the last key to the end of the log
		{Lo: last + 1, Hi: btree.MaxKey, Op: btreeScanSum},         // past the last key: empty
		{Lo: keys[0], Hi: keys[0] - 1, Op: btreeScanSum},           // inverted: empty
		{Lo: 1, Hi: btree.MaxKey, Op: btreeScanCollect, Max: 1000}, // first btreeScanMax values
	}
	for len(qs) < n {
		a := rng.IntN(len(keys))
		q := btreeScanQuery{Op: uint32(rng.IntN(2))}
		span := btreeScanSpan
		if q.Op == btreeScanCollect {
			span = btreeScanMax + 8
			q.Max = uint32(1 + rng.IntN(btreeScanMax))
		}
		b := min(a+rng.IntN(span), len(keys)-1)
		q.Lo, q.Hi = keys[a], keys[b]
		if rng.IntN(2) == 0 { // lo between keys: the scan starts at keys[a+1]
			q.Lo = between(a)
		}
		if rng.IntN(2) == 0 && b+1 < len(keys) { // hi between keys
			q.Hi = keys[b+1] - 1
		}
		qs = append(qs, q)
	}
	for i := range qs {
		qs[i].VLogEnd = vlogEnd
		if qs[i].Op == btreeScanCollect && qs[i].Max > btreeScanMax {
			qs[i].Max = btreeScanMax
		}
	}
	return qs
}

// btreeScanCheck runs range queries with the scan program through chain_read
// and checks each against the Go reference reader (Tree.Sum, Tree.Range).
func btreeScanCheck(prog *ebpf.Program, tree *btree.Tree, fd int, buf []byte, root int64, flags uint32, qs []btreeScanQuery) (int, error) {
	scratch := make([]byte, btreeScanSize)
	for _, q := range qs {
		sc := scratch[:btreeScanHdr]
		if q.Op == btreeScanCollect {
			sc = scratch
		}
		q.marshal(sc)
		_, st, err := storfn.ChainReadStats(fd, buf, root, prog.FD(), sc, flags)
		if err != nil {
			return 0, fmt.Errorf("range [%d, %d] op %d: %w", q.Lo, q.Hi, q.Op, err)
		}
		got := unmarshalBTreeScan(sc, q.Op)
		if got.Hops != st.Hops {
			return 0, fmt.Errorf("range [%d, %d]: program counted %d hops, chain_read %d", q.Lo, q.Hi, got.Hops, st.Hops)
		}
		if q.Op == btreeScanSum {
			sum, count, err := tree.Sum(q.Lo, q.Hi)
			if err != nil {
				return 0, err
			}
			if got.Sum != sum || uint64(got.Count) != count {
				return 0, fmt.Errorf("sum over [%d, %d]: program %d of %d keys, Go reader %d of %d keys", q.Lo, q.Hi, got.Sum, got.Count, sum, count)
			}
			continue
		}
		want, err := tree.Range(q.Lo, q.Hi, int(q.Max))
		if err != nil {
			return 0, err
		}
		if len(got.Values) != len(want) {
			return 0, fmt.Errorf("range [%d, %d] max %d: program collected %d values, Go reader %d", q.Lo, q.Hi, q.Max, len(got.Values), len(want))
		}
		for i, kv := range want {
			if !bytes.Equal(got.Values[i], kv.Value[:]) {
				return 0, fmt.Errorf("range [%d, %d]: value %d (key %d) differs from the Go reader's", q.Lo, q.Hi, i, kv.Key)
			}
		}
	}
	return len(qs), nil
}
