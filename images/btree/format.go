// Package btree writes and reads the bpfstor on-disk B+-tree image: the data
// that the BPF lookup, range-scan and aggregate programs walk inside the
// kernel, and that the harness uses to check every answer a guest returns.
//
// The format is the contract of shared/README.md section 4. All integers are
// little-endian. The image is an array of 512-byte blocks; block 0 is the
// superblock.
//
// Superblock (block 0), byte offsets (natural C alignment, as a C struct of
// the listed fields would be laid out; bytes 44..47 are padding):
//
//	0   u32 magic          0x42505354 ("BPST"; on disk the bytes 54 53 50 42)
//	4   u32 version        1
//	8   u64 root block     block number of the root node
//	16  u32 depth          number of node levels (1 = the root is a leaf)
//	20  u32 fanout         F, most keys in a node, 2..31
//	24  u64 key count
//	32  u64 value-log start block
//	40  u32 value size     64
//	44  u32 (padding, 0)
//	48  u64 seed           seed the keys and values were generated from
//	56  ... 0 up to 512
//
// Node (512 B):
//
//	0   u16 magic          0x4e44 (on disk the bytes 44 4e)
//	2   u8  kind           1 inner, 2 leaf
//	3   u8  pad
//	4   u16 nkeys          1..F
//	6   u16 pad
//	8   [31]u64 keys       sorted ascending, unused slots 0
//	256 [32]u64 ptrs
//
// Inner node: ptrs[i] (i < nkeys) is the child block for keys < keys[i];
// ptrs[nkeys] is the child for the rest. A key k descends into ptrs[i] for the
// first i with k < keys[i], else ptrs[nkeys]. keys[i] is the smallest key
// stored under ptrs[i+1].
//
// Leaf node: ptrs[i] (i < nkeys) is the absolute byte offset in the image of
// keys[i]'s 64-byte value; ptrs[31] is the block number of the next leaf in
// key order (0 for the last leaf), for range scans.
//
// Values: 64 B each in the value log, in key order, 8 per block, never
// straddling a 512-byte block. Bytes 0..7 are the key (u64), bytes 8..63 are
// ValueFor(key, seed)[8:64].
//
// Block layout written by Generate (sequential, no holes):
//
//	block 0                      superblock
//	blocks 1 .. L                leaves, in key order (leaf i holds keys[i*F : (i+1)*F])
//	next blocks                  inner level 1 (parents of leaves), in key order
//	...                          inner levels 2 .. depth-1, bottom-up
//	last node block              root (the only node of the top level)
//	ValueLogStart ..             value log: value of the i-th smallest key at
//	                             byte ValueLogStart*512 + i*64
//
// The image size is (ValueLogStart + ceil(keys/8)) * 512 bytes.
package btree

import (
	"encoding/binary"
	"fmt"
)

// Format constants (shared/README.md section 4).
const (
	BlockSize = 512        // bytes per block; every node and the superblock is one block
	Magic     = 0x42505354 // superblock magic, "BPST"
	Version   = 1          // superblock version
	ValueSize = 64         // bytes per value in the value log

	NodeMagic = 0x4e44 // node header magic
	KindInner = 1      // node kind: inner node
	KindLeaf  = 2      // node kind: leaf node

	MaxFanout = 31 // most keys a node can hold (array size of keys)
	MinFanout = 2  // fewest keys per full node that still makes a tree
	NumPtrs   = 32 // size of the ptrs array
	NextLeaf  = 31 // index in a leaf's ptrs of the next-leaf block number

	MaxDepth = 16      // deepest tree Generate builds and Open accepts
	MaxKeys  = 1 << 28 // most keys Generate builds (about 17 GiB of values)

	// MaxKey is the largest key allowed: keys lie in [1, 2^63).
	MaxKey = 1<<63 - 1

	ValuesPerBlock = BlockSize / ValueSize
)

// Superblock field byte offsets.
const (
	SBOffMagic         = 0
	SBOffVersion       = 4
	SBOffRoot          = 8
	SBOffDepth         = 16
	SBOffFanout        = 20
	SBOffKeys          = 24
	SBOffValueLogStart = 32
	SBOffValueSize     = 40
	SBOffSeed          = 48
)

// Node field byte offsets.
const (
	NodeOffMagic = 0
	NodeOffKind  = 2
	NodeOffNKeys = 4
	NodeOffKeys  = 8
	NodeOffPtrs  = NodeOffKeys + 8*MaxFanout // 256
)

var le = binary.LittleEndian

// Superblock is the decoded block 0 of an image.
type Superblock struct {
	Magic         uint32
	Version       uint32
	Root          uint64 // root node block
	Depth         uint32 // node levels; 1 = root is a leaf
	Fanout        uint32 // most keys per node
	Keys          uint64 // key count
	ValueLogStart uint64 // first block of the value log
	ValueSize     uint32 // bytes per value (64)
	Seed          uint64
}

// Encode writes s into b[0:BlockSize]; bytes not covered by a field are zeroed.
func (s *Superblock) Encode(b []byte) {
	b = b[:BlockSize]
	clear(b)
	le.PutUint32(b[SBOffMagic:], s.Magic)
	le.PutUint32(b[SBOffVersion:], s.Version)
	le.PutUint64(b[SBOffRoot:], s.Root)
	le.PutUint32(b[SBOffDepth:], s.Depth)
	le.PutUint32(b[SBOffFanout:], s.Fanout)
	le.PutUint64(b[SBOffKeys:], s.Keys)
	le.PutUint64(b[SBOffValueLogStart:], s.ValueLogStart)
	le.PutUint32(b[SBOffValueSize:], s.ValueSize)
	le.PutUint64(b[SBOffSeed:], s.Seed)
}

// DecodeSuperblock decodes block 0 without validating it (see Superblock.Validate).
func DecodeSuperblock(b []byte) (Superblock, error) {
	if len(b) < BlockSize {
		return Superblock{}, fmt.Errorf("btree: superblock is %d bytes, want %d (image truncated?)", len(b), BlockSize)
	}
	return Superblock{
		Magic:         le.Uint32(b[SBOffMagic:]),
		Version:       le.Uint32(b[SBOffVersion:]),
		Root:          le.Uint64(b[SBOffRoot:]),
		Depth:         le.Uint32(b[SBOffDepth:]),
		Fanout:        le.Uint32(b[SBOffFanout:]),
		Keys:          le.Uint64(b[SBOffKeys:]),
		ValueLogStart: le.Uint64(b[SBOffValueLogStart:]),
		ValueSize:     le.Uint32(b[SBOffValueSize:]),
		Seed:          le.Uint64(b[SBOffSeed:]),
	}, nil
}

// Validate checks that s describes a tree this package can read: magic,
// version, value size, fanout, depth, key count consistent with depth and
// fanout, and root / value-log blocks in a plausible place.
func (s *Superblock) Validate() error {
	if s.Magic != Magic {
		return fmt.Errorf("btree: not a bpfstor B+-tree image: superblock magic %#08x, want %#08x (\"BPST\"; build one with the btree generator)", s.Magic, Magic)
	}
	if s.Version != Version {
		return fmt.Errorf("btree: image format version %d not supported, want %d (rebuild the image with this generator)", s.Version, Version)
	}
	if s.ValueSize != ValueSize {
		return fmt.Errorf("btree: superblock value size %d, want %d (corrupt image; rebuild it)", s.ValueSize, ValueSize)
	}
	if s.Fanout < MinFanout || s.Fanout > MaxFanout {
		return fmt.Errorf("btree: superblock fanout %d outside %d..%d (corrupt image; rebuild it)", s.Fanout, MinFanout, MaxFanout)
	}
	if s.Depth < 1 || s.Depth > MaxDepth {
		return fmt.Errorf("btree: superblock depth %d outside 1..%d (corrupt image; rebuild it)", s.Depth, MaxDepth)
	}
	if s.Keys < 1 || s.Keys > MaxKey {
		return fmt.Errorf("btree: superblock key count %d outside 1..2^63-1 (corrupt image; rebuild it)", s.Keys)
	}
	if d := DepthFor(s.Keys, int(s.Fanout)); d != int(s.Depth) {
		return fmt.Errorf("btree: superblock says depth %d but %d keys at fanout %d make depth %d (corrupt image; rebuild it)", s.Depth, s.Keys, s.Fanout, d)
	}
	if s.ValueLogStart < 2 || s.Root < 1 || s.Root >= s.ValueLogStart {
		return fmt.Errorf("btree: superblock root block %d / value-log start %d inconsistent: need 1 <= root < value-log start (corrupt image; rebuild it)", s.Root, s.ValueLogStart)
	}
	// The leaves alone take ceil(keys/fanout) blocks before the value log.
	if leaves := (s.Keys + uint64(s.Fanout) - 1) / uint64(s.Fanout); s.ValueLogStart-1 < leaves {
		return fmt.Errorf("btree: value log starts at block %d but %d keys need %d leaf blocks before it (corrupt image; rebuild it)", s.ValueLogStart, s.Keys, leaves)
	}
	return nil
}

// ImageSize returns the byte size of an image described by s.
func (s *Superblock) ImageSize() uint64 {
	return (s.ValueLogStart + (s.Keys+ValuesPerBlock-1)/ValuesPerBlock) * BlockSize
}

// Node is a decoded 512-byte tree node.
type Node struct {
	Kind  uint8 // KindInner or KindLeaf
	NKeys uint16
	Keys  [MaxFanout]uint64
	Ptrs  [NumPtrs]uint64
}

// Encode writes n into b[0:BlockSize] with the node magic and zero padding.
func (n *Node) Encode(b []byte) {
	b = b[:BlockSize]
	le.PutUint16(b[NodeOffMagic:], NodeMagic)
	b[NodeOffKind] = n.Kind
	b[NodeOffKind+1] = 0
	le.PutUint16(b[NodeOffNKeys:], n.NKeys)
	le.PutUint16(b[NodeOffNKeys+2:], 0)
	for i, k := range n.Keys {
		le.PutUint64(b[NodeOffKeys+8*i:], k)
	}
	for i, p := range n.Ptrs {
		le.PutUint64(b[NodeOffPtrs+8*i:], p)
	}
}

// DecodeNode decodes a node block and checks its magic, kind and key count
// (1..MaxFanout). It does not check pointers; the reader does that against the
// superblock.
func DecodeNode(b []byte) (Node, error) {
	var n Node
	if len(b) < BlockSize {
		return n, fmt.Errorf("btree: node is %d bytes, want %d", len(b), BlockSize)
	}
	if m := le.Uint16(b[NodeOffMagic:]); m != NodeMagic {
		return n, fmt.Errorf("btree: bad node magic %#04x, want %#04x", m, NodeMagic)
	}
	n.Kind = b[NodeOffKind]
	if n.Kind != KindInner && n.Kind != KindLeaf {
		return n, fmt.Errorf("btree: bad node kind %d, want %d (inner) or %d (leaf)", n.Kind, KindInner, KindLeaf)
	}
	n.NKeys = le.Uint16(b[NodeOffNKeys:])
	if n.NKeys < 1 || n.NKeys > MaxFanout {
		return n, fmt.Errorf("btree: node key count %d outside 1..%d", n.NKeys, MaxFanout)
	}
	for i := range n.Keys {
		n.Keys[i] = le.Uint64(b[NodeOffKeys+8*i:])
	}
	for i := range n.Ptrs {
		n.Ptrs[i] = le.Uint64(b[NodeOffPtrs+8*i:])
	}
	return n, nil
}

// ChildIndex returns the index into Ptrs of the child an inner node sends key
// to: the first i < NKeys with key < Keys[i], else NKeys.
func (n *Node) ChildIndex(key uint64) int {
	i := 0
	for i < int(n.NKeys) && key >= n.Keys[i] {
		i++
	}
	return i
}
