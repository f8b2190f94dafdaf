package btree

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"path/filepath"
	"slices"
	"sort"

	"github.com/bpfstor/bpfstor/internal/fsutil"
	"github.com/bpfstor/bpfstor/internal/splitmix"
)

// Params selects a tree. The same Params always give a byte-identical image.
type Params struct {
	Keys   uint64 // number of keys, 1..MaxKeys
	Fanout int    // most keys per node, 2..31
	Seed   uint64 // seed for keys and values
	// Depth, if not 0, is checked: Generate fails unless Keys at Fanout make
	// exactly this depth (KeysForDepth(Depth-1, F) < Keys <= KeysForDepth(Depth, F)).
	Depth int
}

// Info describes a generated image.
type Info struct {
	Params
	Depth         int    // node levels (1 = the root is a leaf)
	Root          uint64 // root node block
	FirstLeaf     uint64 // block of the leaf holding the smallest key (always 1)
	Leaves        uint64 // number of leaf blocks
	Nodes         uint64 // number of node blocks (leaves + inner)
	ValueLogStart uint64 // first block of the value log
	ImageSize     uint64 // bytes
}

// String gives a one-line summary.
func (i Info) String() string {
	return fmt.Sprintf("btree keys=%d fanout=%d seed=%d depth=%d root=%d leaves=%d nodes=%d vlog=%d size=%d",
		i.Keys, i.Fanout, i.Seed, i.Depth, i.Root, i.Leaves, i.Nodes, i.ValueLogStart, i.ImageSize)
}

// KeysForDepth returns the most keys a tree of the given depth and fanout
// holds: F·(F+1)^(depth−1). It saturates at math.MaxUint64 and returns 0 for
// depth < 1 or a fanout outside 2..31.
func KeysForDepth(depth, fanout int) uint64 {
	if depth < 1 || fanout < MinFanout || fanout > MaxFanout {
		return 0
	}
	n := uint64(fanout)
	for range depth - 1 {
		hi, lo := bits.Mul64(n, uint64(fanout+1))
		if hi != 0 {
			return math.MaxUint64
		}
		n = lo
	}
	return n
}

// DepthFor returns the depth of the tree Generate builds for keys at fanout:
// the smallest d >= 1 with KeysForDepth(d, fanout) >= keys. It returns 0 for
// keys == 0 or a fanout outside 2..31. The result may exceed MaxDepth.
func DepthFor(keys uint64, fanout int) int {
	if keys == 0 || fanout < MinFanout || fanout > MaxFanout {
		return 0
	}
	d := 1
	for KeysForDepth(d, fanout) < keys {
		d++
	}
	return d
}

// Check validates p and returns the depth it makes. The error is one line
// naming the problem and the fix.
func (p Params) Check() (int, error) {
	if p.Fanout < MinFanout || p.Fanout > MaxFanout {
		return 0, fmt.Errorf("btree: fanout=%d out of range (set fanout between %d and %d)", p.Fanout, MinFanout, MaxFanout)
	}
	if p.Keys == 0 {
		return 0, errors.New("btree: keys=0: a tree needs at least one key (set keys >= 1)")
	}
	if p.Keys > MaxKeys {
		return 0, fmt.Errorf("btree: keys=%d exceeds the limit of %d (use fewer keys)", p.Keys, uint64(MaxKeys))
	}
	d := DepthFor(p.Keys, p.Fanout)
	if d > MaxDepth {
		return 0, fmt.Errorf("btree: keys=%d at fanout=%d need depth %d, above the maximum %d (use at most %d keys or a larger fanout)",
			p.Keys, p.Fanout, d, MaxDepth, KeysForDepth(MaxDepth, p.Fanout))
	}
	if p.Depth != 0 && p.Depth != d {
		if p.Depth < 1 || p.Depth > MaxDepth {
			return 0, fmt.Errorf("btree: depth=%d out of range (set depth between 1 and %d, or 0 to derive it from keys)", p.Depth, MaxDepth)
		}
		lo := KeysForDepth(p.Depth-1, p.Fanout) + 1
		hi := KeysForDepth(p.Depth, p.Fanout)
		return 0, fmt.Errorf("btree: keys=%d at fanout=%d make depth %d, not depth=%d (depth %d at fanout %d needs keys in %d..%d)",
			p.Keys, p.Fanout, d, p.Depth, p.Depth, p.Fanout, lo, hi)
	}
	return d, nil
}

// layout is the block layout of a tree: sizes[l] nodes at level l (0 = leaves),
// starting at block start[l].
type layout struct {
	f      int
	keys   uint64
	sizes  []uint64
	start  []uint64
	root   uint64
	vlog   uint64
	nodes  uint64
	blocks uint64
}

func newLayout(keys uint64, f int) layout {
	l := layout{f: f, keys: keys}
	n := (keys + uint64(f) - 1) / uint64(f)
	l.sizes = append(l.sizes, n)
	for n > 1 {
		n = (n + uint64(f)) / uint64(f+1)
		l.sizes = append(l.sizes, n)
	}
	next := uint64(1)
	for _, s := range l.sizes {
		l.start = append(l.start, next)
		next += s
		l.nodes += s
	}
	l.root = next - 1
	l.vlog = next
	l.blocks = next + (keys+ValuesPerBlock-1)/ValuesPerBlock
	return l
}

// children returns the range [lo, hi) of child indices (at level-1) of node j
// at inner level `level`. Nodes take F+1 children each in order; if that would
// leave the last node with a single child (no key), it takes one from its left
// neighbour, so every inner node has at least 2 children (1 key).
func (l *layout) children(level int, j uint64) (lo, hi uint64) {
	n, m, c := l.sizes[level-1], l.sizes[level], uint64(l.f+1)
	lo, hi = j*c, min((j+1)*c, n)
	if m > 1 && n-(m-1)*c == 1 {
		if j == m-2 {
			hi--
		} else if j == m-1 {
			lo--
		}
	}
	return lo, hi
}

// Key generation: key number i (i = 0, 1, 2, ...) is perm(i), a bijection of
// [0, 2^63) keyed by the seed; the value 0 is skipped. Keys are therefore
// unique without a dedup pass, and Keys(p) for n keys is a subset of Keys(p)
// for n+1 keys.
const mask63 = 1<<63 - 1

type keyPerm struct{ a, b uint64 }

func newKeyPerm(seed uint64) keyPerm {
	return keyPerm{a: splitmix.Mix(seed^0x6b657973) & mask63, b: splitmix.Mix(seed+0x9e3779b97f4a7c15) & mask63}
}

// at is a bijection on [0, 2^63): xor-shifts, odd multiplications mod 2^63,
// additions and xors of constants are each invertible there.
func (k keyPerm) at(i uint64) uint64 {
	x := (i + k.a) & mask63
	x ^= x >> 31
	x = (x * 0x7fb5d329728ea185) & mask63
	x ^= x >> 27
	x = (x * 0x81dadef4bc2dd44d) & mask63
	x ^= x >> 33
	return x ^ k.b
}

// Keys returns the sorted keys of the tree p describes (unique, in [1, 2^63)).
// keys[i] is the i-th smallest key; its value is at byte
// ValueLogStart*512 + i*64 of the image.
func Keys(p Params) ([]uint64, error) {
	if _, err := p.Check(); err != nil {
		return nil, err
	}
	return genKeys(p.Keys, p.Seed), nil
}

func genKeys(n, seed uint64) []uint64 {
	perm := newKeyPerm(seed)
	keys := make([]uint64, 0, n)
	for i := uint64(0); uint64(len(keys)) < n; i++ {
		if k := perm.at(i); k != 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// AbsentKeys returns n keys in [1, 2^63) that are not in the sorted slice
// keys, chosen deterministically from seed: first the key just below the
// smallest and just above the largest (when they exist), then alternately a
// key in a gap between two neighbouring keys and a uniformly random key.
// Keys may repeat when few absent keys exist. It returns nil if keys covers
// every valid key (impossible for generated trees).
func AbsentKeys(keys []uint64, n int, seed uint64) []uint64 {
	present := func(k uint64) bool {
		i := sort.Search(len(keys), func(i int) bool { return keys[i] >= k })
		return i < len(keys) && keys[i] == k
	}
	var out []uint64
	if n <= 0 {
		return out
	}
	if len(keys) > 0 && keys[0] > 1 {
		out = append(out, keys[0]-1)
	}
	if len(keys) > 0 && keys[len(keys)-1] < MaxKey && len(out) < n {
		out = append(out, keys[len(keys)-1]+1)
	}
	s := splitmix.Mix(seed ^ 0x616273656e74) // "absent"
	for tries := 0; len(out) < n && tries < 64*n+1024; tries++ {
		s += 0x9e3779b97f4a7c15
		r := splitmix.Mix(s)
		var k uint64
		if tries%2 == 0 && len(keys) > 1 {
			j := r % uint64(len(keys)-1)
			lo, hi := keys[j], keys[j+1]
			if hi-lo < 2 {
				continue
			}
			k = lo + 1 + (r>>32)%(hi-lo-1)
		} else {
			k = r & mask63
		}
		if k == 0 || present(k) {
			continue
		}
		out = append(out, k)
	}
	return out
}

// ValueFor returns the 64-byte value stored for key in a tree generated with
// seed. Bytes 0..7 are the key (little-endian u64); bytes 8*j..8*j+7 for
// j = 1..7 are the little-endian u64
//
//	splitmix.Mix(key + s + j*0x9e3779b97f4a7c15),  s = splitmix.Mix(seed ^ 0x6270667374726565)
//
// where mix64 is the splitmix64 finalizer:
//
//	x ^= x>>30; x *= 0xbf58476d1ce4e5b9; x ^= x>>27; x *= 0x94d049bb133111eb; x ^= x>>31
//
// (all arithmetic mod 2^64).
func ValueFor(key, seed uint64) [ValueSize]byte {
	var v [ValueSize]byte
	putValue(v[:], key, splitmix.Mix(seed^0x6270667374726565))
	return v
}

func putValue(v []byte, key, s uint64) {
	binary.LittleEndian.PutUint64(v[0:], key)
	x := key + s
	for j := 1; j < ValueSize/8; j++ {
		x += 0x9e3779b97f4a7c15
		binary.LittleEndian.PutUint64(v[8*j:], splitmix.Mix(x))
	}
}

// CheckValue reports whether v is the value a tree generated with seed holds
// for key; the error names the key and the first wrong byte.
func CheckValue(key, seed uint64, v []byte) error {
	if len(v) != ValueSize {
		return fmt.Errorf("btree: value for key %d is %d bytes, want %d", key, len(v), ValueSize)
	}
	if got := binary.LittleEndian.Uint64(v); got != key {
		return fmt.Errorf("btree: value for key %d holds key %d in bytes 0..7", key, got)
	}
	want := ValueFor(key, seed)
	for i := 8; i < ValueSize; i++ {
		if v[i] != want[i] {
			return fmt.Errorf("btree: value for key %d (seed %d) wrong at byte %d: got %#02x, want %#02x", key, seed, i, v[i], want[i])
		}
	}
	return nil
}

// Generate writes the image for p to w sequentially (buffered; w needs no
// Seek) and returns its layout. See the package comment for the block layout.
func Generate(w io.Writer, p Params) (Info, error) {
	depth, err := p.Check()
	if err != nil {
		return Info{}, err
	}
	keys := genKeys(p.Keys, p.Seed)
	l := newLayout(p.Keys, p.Fanout)
	if len(l.sizes) != depth { // cannot happen; guards the layout arithmetic
		return Info{}, fmt.Errorf("btree: internal error: layout has %d levels, want depth %d", len(l.sizes), depth)
	}
	info := Info{
		Params:        p,
		Depth:         depth,
		Root:          l.root,
		FirstLeaf:     l.start[0],
		Leaves:        l.sizes[0],
		Nodes:         l.nodes,
		ValueLogStart: l.vlog,
		ImageSize:     l.blocks * BlockSize,
	}
	info.Params.Depth = depth

	bw := bufio.NewWriterSize(w, int(min(1<<20, info.ImageSize)))
	var blk [BlockSize]byte
	sb := Superblock{
		Magic: Magic, Version: Version, Root: l.root, Depth: uint32(depth),
		Fanout: uint32(p.Fanout), Keys: p.Keys, ValueLogStart: l.vlog,
		ValueSize: ValueSize, Seed: p.Seed,
	}
	sb.Encode(blk[:])
	if _, err := bw.Write(blk[:]); err != nil {
		return info, fmt.Errorf("btree: write superblock: %w", err)
	}

	// Leaves. mins[j] is the smallest key under node j of the current level.
	f := uint64(p.Fanout)
	mins := make([]uint64, l.sizes[0])
	var nd Node
	for j := range l.sizes[0] {
		lo, hi := j*f, min((j+1)*f, p.Keys)
		nd = Node{Kind: KindLeaf, NKeys: uint16(hi - lo)}
		for i := lo; i < hi; i++ {
			nd.Keys[i-lo] = keys[i]
			nd.Ptrs[i-lo] = l.vlog*BlockSize + i*ValueSize
		}
		if j+1 < l.sizes[0] {
			nd.Ptrs[NextLeaf] = l.start[0] + j + 1
		}
		mins[j] = keys[lo]
		nd.Encode(blk[:])
		if _, err := bw.Write(blk[:]); err != nil {
			return info, fmt.Errorf("btree: write leaf %d: %w", j, err)
		}
	}

	// Inner levels, bottom-up.
	for level := 1; level < depth; level++ {
		next := make([]uint64, l.sizes[level])
		for j := range l.sizes[level] {
			lo, hi := l.children(level, j)
			nd = Node{Kind: KindInner, NKeys: uint16(hi - lo - 1)}
			for c := lo; c < hi; c++ {
				nd.Ptrs[c-lo] = l.start[level-1] + c
				if c > lo {
					nd.Keys[c-lo-1] = mins[c]
				}
			}
			next[j] = mins[lo]
			nd.Encode(blk[:])
			if _, err := bw.Write(blk[:]); err != nil {
				return info, fmt.Errorf("btree: write inner node level %d #%d: %w", level, j, err)
			}
		}
		mins = next
	}

	// Value log, in key order, padded to a whole block.
	s := splitmix.Mix(p.Seed ^ 0x6270667374726565)
	for i := uint64(0); i < p.Keys; i += ValuesPerBlock {
		clear(blk[:])
		for k := uint64(0); k < ValuesPerBlock && i+k < p.Keys; k++ {
			putValue(blk[k*ValueSize:(k+1)*ValueSize], keys[i+k], s)
		}
		if _, err := bw.Write(blk[:]); err != nil {
			return info, fmt.Errorf("btree: write value log: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return info, fmt.Errorf("btree: write image: %w", err)
	}
	return info, nil
}

// WriteFile generates the image for p into path, atomically: it writes
// path+".tmp" and renames it over path only on success.
func WriteFile(path string, p Params) (Info, error) {
	if _, err := p.Check(); err != nil {
		return Info{}, err
	}
	// A temporary file of its own: concurrent runs of one spec write the
	// same image at once.
	f, err := fsutil.Create(path)
	if err != nil {
		return Info{}, fmt.Errorf("btree: create image: %w (check that %s exists and is writable)", err, filepath.Dir(path))
	}
	info, err := Generate(f, p)
	if err != nil {
		f.Abort()
		return Info{}, err
	}
	if err := f.Commit(false); err != nil {
		return Info{}, fmt.Errorf("btree: write image %s: %w", path, err)
	}
	return info, nil
}
