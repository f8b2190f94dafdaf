package btree

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Tree reads an image through an io.ReaderAt. It keeps no buffers between
// calls, so it is safe for concurrent use if the ReaderAt is (an *os.File is).
// Every node read is checked (magic, kind for its level, key count, key
// order, pointers inside the image), and every walk is bounded, so a corrupt
// image gives an error, never a panic or an endless loop.
type Tree struct {
	r    io.ReaderAt
	sb   Superblock
	size uint64 // image bytes, from the superblock (checked against the file when its size is known)
}

// KV is one key and its value.
type KV struct {
	Key   uint64
	Value [ValueSize]byte
}

// Path is the result of a lookup with the chain of dependent reads it made.
type Path struct {
	Value [ValueSize]byte
	Found bool
	// Reads are the byte offsets of the 512-byte blocks read, in order: the
	// root node, each inner node, the leaf, and, if the key was found, the
	// value's block (value offset rounded down to 512). A found key takes
	// depth+1 reads, an absent one depth. Offsets are block*512.
	Reads []uint64
}

// Open reads and validates the superblock and the root node. An image that
// is not a bpfstor tree (bad magic or version), a corrupt superblock, or a
// file shorter than the superblock says gives a one-line error.
func Open(r io.ReaderAt) (*Tree, error) {
	var b [BlockSize]byte
	if err := readFull(r, b[:], 0); err != nil {
		return nil, fmt.Errorf("btree: read superblock: %w (is this a bpfstor tree image?)", err)
	}
	sb, err := DecodeSuperblock(b[:])
	if err != nil {
		return nil, err
	}
	if err := sb.Validate(); err != nil {
		return nil, err
	}
	t := &Tree{r: r, sb: sb, size: sb.ImageSize()}
	if sz, ok := sizeOf(r); ok && uint64(sz) < t.size {
		return nil, fmt.Errorf("btree: image is %d bytes but its superblock needs %d (truncated image; rebuild it)", sz, t.size)
	}
	if _, err := t.readNode(sb.Root, 1); err != nil {
		return nil, err
	}
	return t, nil
}

// OpenFile opens the image at path. Close the returned file when done.
func OpenFile(path string) (*Tree, *os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("btree: %w (build the image first)", err)
	}
	t, err := Open(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%w [%s]", err, path)
	}
	return t, f, nil
}

func sizeOf(r io.ReaderAt) (int64, bool) {
	switch v := r.(type) {
	case interface{ Size() int64 }:
		return v.Size(), true
	case interface{ Stat() (os.FileInfo, error) }:
		fi, err := v.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return 0, false
		}
		return fi.Size(), true
	}
	return 0, false
}

func readFull(r io.ReaderAt, b []byte, off uint64) error {
	if off > 1<<62 {
		return fmt.Errorf("offset %d out of range", off)
	}
	n, err := r.ReadAt(b, int64(off))
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// Superblock returns the image's superblock.
func (t *Tree) Superblock() Superblock { return t.sb }

// Seed returns the seed the image was generated with (for CheckValue).
func (t *Tree) Seed() uint64 { return t.sb.Seed }

// readNode reads node block blk expected at level (1 = root .. depth = leaf).
func (t *Tree) readNode(blk uint64, level int) (*Node, error) {
	if blk < 1 || blk >= t.sb.ValueLogStart {
		return nil, fmt.Errorf("btree: node pointer to block %d at level %d outside the node area 1..%d (corrupt image)", blk, level, t.sb.ValueLogStart-1)
	}
	var b [BlockSize]byte
	if err := readFull(t.r, b[:], blk*BlockSize); err != nil {
		return nil, fmt.Errorf("btree: read node block %d: %w", blk, err)
	}
	n, err := DecodeNode(b[:])
	if err != nil {
		return nil, fmt.Errorf("%w in block %d at level %d (corrupt image)", err, blk, level)
	}
	want := uint8(KindInner)
	if level == int(t.sb.Depth) {
		want = KindLeaf
	}
	if n.Kind != want {
		return nil, fmt.Errorf("btree: block %d at level %d is node kind %d, want %d for depth %d (corrupt image)", blk, level, n.Kind, want, t.sb.Depth)
	}
	if uint32(n.NKeys) > t.sb.Fanout {
		return nil, fmt.Errorf("btree: block %d holds %d keys, more than fanout %d (corrupt image)", blk, n.NKeys, t.sb.Fanout)
	}
	for i := 1; i < int(n.NKeys); i++ {
		if n.Keys[i-1] >= n.Keys[i] {
			return nil, fmt.Errorf("btree: block %d keys not strictly ascending at index %d (corrupt image)", blk, i)
		}
	}
	return &n, nil
}

// descend walks from the root to the leaf that holds key (if present),
// appending the byte offset of each node read to reads.
func (t *Tree) descend(key uint64, reads *[]uint64) (*Node, uint64, error) {
	blk := t.sb.Root
	for level := 1; ; level++ {
		n, err := t.readNode(blk, level)
		if err != nil {
			return nil, 0, err
		}
		if reads != nil {
			*reads = append(*reads, blk*BlockSize)
		}
		if n.Kind == KindLeaf {
			return n, blk, nil
		}
		blk = n.Ptrs[n.ChildIndex(key)]
	}
}

// valueOff checks that leaf slot i of n points at a whole value in the value log.
func (t *Tree) valueOff(n *Node, i int, blk uint64) (uint64, error) {
	off := n.Ptrs[i]
	start := t.sb.ValueLogStart * BlockSize
	if off < start || off > t.size-ValueSize || off%ValueSize != 0 {
		return 0, fmt.Errorf("btree: leaf block %d slot %d: value offset %d not a 64-byte slot of the value log %d..%d (corrupt image)", blk, i, off, start, t.size)
	}
	return off, nil
}

// valueCache holds the last value-log block read, so scans read each value
// block once.
type valueCache struct {
	off uint64
	ok  bool
	b   [BlockSize]byte
}

func (t *Tree) readValue(c *valueCache, key, off uint64) ([]byte, error) {
	boff := off &^ (BlockSize - 1)
	if !c.ok || c.off != boff {
		if err := readFull(t.r, c.b[:], boff); err != nil {
			c.ok = false
			return nil, fmt.Errorf("btree: read value block at offset %d: %w", boff, err)
		}
		c.off, c.ok = boff, true
	}
	v := c.b[off-boff : off-boff+ValueSize]
	if got := le.Uint64(v); got != key {
		return nil, fmt.Errorf("btree: value at offset %d holds key %d, want %d (corrupt image)", off, got, key)
	}
	return v, nil
}

// LookupPath looks key up and returns its value, whether it was found and
// the offsets of the blocks read, root first (see Path).
func (t *Tree) LookupPath(key uint64) (Path, error) {
	var p Path
	p.Reads = make([]uint64, 0, t.sb.Depth+1)
	n, blk, err := t.descend(key, &p.Reads)
	if err != nil {
		return p, err
	}
	for i := range int(n.NKeys) {
		if n.Keys[i] != key {
			continue
		}
		off, err := t.valueOff(n, i, blk)
		if err != nil {
			return p, err
		}
		var c valueCache
		v, err := t.readValue(&c, key, off)
		if err != nil {
			return p, err
		}
		p.Reads = append(p.Reads, c.off)
		copy(p.Value[:], v)
		p.Found = true
		return p, nil
	}
	return p, nil
}

// Lookup returns the value of key and whether it is in the tree.
func (t *Tree) Lookup(key uint64) (value [ValueSize]byte, found bool, err error) {
	p, err := t.LookupPath(key)
	return p.Value, p.Found, err
}

// scan calls fn for every key in [lo, hi] (inclusive) in ascending order,
// with its value, walking the leaves through their next-leaf pointers, until
// fn returns false. The leaf chain is checked: each next leaf must be a leaf
// whose keys are all larger than the previous leaf's, and no more leaves are
// visited than there are node blocks, so a cyclic chain ends in an error.
func (t *Tree) scan(lo, hi uint64, fn func(key uint64, v []byte) bool) error {
	if lo > hi {
		return nil
	}
	n, blk, err := t.descend(lo, nil)
	if err != nil {
		return err
	}
	var c valueCache
	depth := int(t.sb.Depth)
	var last uint64
	for visited := uint64(1); ; visited++ {
		for i := range int(n.NKeys) {
			k := n.Keys[i]
			if visited > 1 && i == 0 && k <= last {
				return fmt.Errorf("btree: leaf block %d starts with key %d, not above the previous leaf's last key %d (corrupt leaf chain)", blk, k, last)
			}
			if k < lo {
				continue
			}
			if k > hi {
				return nil
			}
			off, err := t.valueOff(n, i, blk)
			if err != nil {
				return err
			}
			v, err := t.readValue(&c, k, off)
			if err != nil {
				return err
			}
			if !fn(k, v) {
				return nil
			}
		}
		last = n.Keys[n.NKeys-1]
		next := n.Ptrs[NextLeaf]
		if next == 0 {
			return nil
		}
		if visited >= t.sb.ValueLogStart {
			return fmt.Errorf("btree: leaf chain longer than the %d node blocks (cycle; corrupt image)", t.sb.ValueLogStart-1)
		}
		if n, err = t.readNode(next, depth); err != nil {
			return fmt.Errorf("btree: next-leaf pointer of block %d: %w", blk, err)
		}
		blk = next
	}
}

// Range returns the keys k with lo <= k <= hi and their values, in key order,
// at most max of them (max <= 0: no limit). It finds the leaf of lo by a
// lookup and then follows the leaves' next-leaf pointers, as the BPF range
// program does.
func (t *Tree) Range(lo, hi uint64, max int) ([]KV, error) {
	var out []KV
	err := t.scan(lo, hi, func(k uint64, v []byte) bool {
		kv := KV{Key: k}
		copy(kv.Value[:], v)
		out = append(out, kv)
		return max <= 0 || len(out) < max
	})
	return out, err
}

// Sum returns the sum of the first 8 bytes (a little-endian u64, which is the
// key itself) of the values of all keys k with lo <= k <= hi, and how many
// keys that is. The sum is computed mod 2^64 (wrapping uint64 addition), the
// same as a BPF program adding u64s.
func (t *Tree) Sum(lo, hi uint64) (sum uint64, count uint64, err error) {
	err = t.scan(lo, hi, func(_ uint64, v []byte) bool {
		sum += le.Uint64(v)
		count++
		return true
	})
	return sum, count, err
}

// Verify walks the whole tree and checks it: every node (magic, kind for its
// level, key count, order), that each subtree's keys lie between its
// parent's separators, that every inner node's separator is the smallest key
// of its right subtree, that the leaf chain links the leaves in key order,
// that the key count matches the superblock, and that every value is
// ValueFor(key, seed).
func (t *Tree) Verify() error {
	v := verifier{t: t}
	if _, err := v.node(t.sb.Root, 1, 0, MaxKey+1); err != nil {
		return err
	}
	if v.keys != t.sb.Keys {
		return fmt.Errorf("btree: tree holds %d keys, superblock says %d (corrupt image)", v.keys, t.sb.Keys)
	}
	if v.prevLeaf != 0 && v.prevNext != 0 {
		return fmt.Errorf("btree: last leaf block %d has next-leaf pointer %d, want 0 (corrupt image)", v.prevLeaf, v.prevNext)
	}
	return nil
}

type verifier struct {
	t        *Tree
	visits   uint64
	keys     uint64
	prevLeaf uint64 // block of the previous leaf in key order
	prevNext uint64 // its next-leaf pointer
	c        valueCache
}

// node checks the subtree at blk (at level) whose keys must lie in [lo, hi);
// it returns the subtree's smallest key.
func (v *verifier) node(blk uint64, level int, lo, hi uint64) (uint64, error) {
	t := v.t
	v.visits++
	if v.visits >= t.sb.ValueLogStart {
		return 0, fmt.Errorf("btree: tree reaches more nodes than the %d node blocks (shared or cyclic pointers; corrupt image)", t.sb.ValueLogStart-1)
	}
	n, err := t.readNode(blk, level)
	if err != nil {
		return 0, err
	}
	if n.Keys[0] < lo || n.Keys[n.NKeys-1] >= hi {
		return 0, fmt.Errorf("btree: block %d keys %d..%d outside its parent's range [%d, %d) (corrupt image)", blk, n.Keys[0], n.Keys[n.NKeys-1], lo, hi)
	}
	if n.Kind == KindLeaf {
		if v.prevLeaf != 0 && v.prevNext != blk {
			return 0, fmt.Errorf("btree: leaf block %d's next-leaf pointer is %d, want %d (corrupt leaf chain)", v.prevLeaf, v.prevNext, blk)
		}
		for i := range int(n.NKeys) {
			off, err := t.valueOff(n, i, blk)
			if err != nil {
				return 0, err
			}
			val, err := t.readValue(&v.c, n.Keys[i], off)
			if err != nil {
				return 0, err
			}
			if err := CheckValue(n.Keys[i], t.sb.Seed, val); err != nil {
				return 0, fmt.Errorf("%w (offset %d)", err, off)
			}
		}
		v.keys += uint64(n.NKeys)
		v.prevLeaf, v.prevNext = blk, n.Ptrs[NextLeaf]
		return n.Keys[0], nil
	}
	var min uint64
	for i := 0; i <= int(n.NKeys); i++ {
		clo, chi := lo, hi
		if i > 0 {
			clo = n.Keys[i-1]
		}
		if i < int(n.NKeys) {
			chi = n.Keys[i]
		}
		m, err := v.node(n.Ptrs[i], level+1, clo, chi)
		if err != nil {
			return 0, err
		}
		if i == 0 {
			min = m
		} else if m != clo {
			return 0, fmt.Errorf("btree: block %d separator %d is not its right subtree's smallest key %d (corrupt image)", blk, clo, m)
		}
	}
	return min, nil
}
