package btree

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// genMem generates p into memory and opens it.
func genMem(t testing.TB, p Params) (*Tree, []byte, Info) {
	t.Helper()
	var buf bytes.Buffer
	info, err := Generate(&buf, p)
	if err != nil {
		t.Fatalf("Generate(%+v): %v", p, err)
	}
	img := buf.Bytes()
	if uint64(len(img)) != info.ImageSize {
		t.Fatalf("image is %d bytes, Info.ImageSize %d", len(img), info.ImageSize)
	}
	tr, err := Open(bytes.NewReader(img))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return tr, img, info
}

func TestKeysForDepth(t *testing.T) {
	for _, c := range []struct {
		d, f int
		want uint64
	}{
		{1, 2, 2}, {2, 2, 6}, {10, 2, 39366}, {1, 31, 31}, {2, 31, 992},
		{3, 31, 31744}, {4, 31, 1015808}, {3, 3, 48}, {0, 31, 0}, {1, 1, 0}, {1, 32, 0},
		{64, 31, math.MaxUint64},
	} {
		if got := KeysForDepth(c.d, c.f); got != c.want {
			t.Errorf("KeysForDepth(%d, %d) = %d, want %d", c.d, c.f, got, c.want)
		}
	}
	for f := MinFanout; f <= MaxFanout; f++ {
		for d := 1; d <= MaxDepth; d++ {
			n := KeysForDepth(d, f)
			if n == math.MaxUint64 || KeysForDepth(d+1, f) == math.MaxUint64 {
				break
			}
			if got := DepthFor(n, f); got != d {
				t.Errorf("DepthFor(%d, %d) = %d, want %d", n, f, got, d)
			}
			if got := DepthFor(n+1, f); got != d+1 {
				t.Errorf("DepthFor(%d, %d) = %d, want %d", n+1, f, got, d+1)
			}
		}
	}
	if DepthFor(0, 31) != 0 || DepthFor(5, 1) != 0 {
		t.Error("DepthFor of invalid input not 0")
	}
}

// checkTree checks lookups of every key and of absent keys, and ranges and
// sums against brute force over the sorted key list.
func checkTree(t *testing.T, tr *Tree, info Info, keys []uint64) {
	t.Helper()
	p := info.Params
	if err := tr.Verify(); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	vlog := info.ValueLogStart * BlockSize
	for i, k := range keys {
		path, err := tr.LookupPath(k)
		if err != nil {
			t.Fatalf("Lookup(%d): %v", k, err)
		}
		if !path.Found {
			t.Fatalf("Lookup(%d) (key #%d): not found", k, i)
		}
		if err := CheckValue(k, p.Seed, path.Value[:]); err != nil {
			t.Fatal(err)
		}
		if len(path.Reads) != info.Depth+1 || path.Reads[0] != info.Root*BlockSize {
			t.Fatalf("Lookup(%d) reads %v: want %d reads starting at root %d", k, path.Reads, info.Depth+1, info.Root*BlockSize)
		}
		if want := (vlog + uint64(i)*ValueSize) &^ (BlockSize - 1); path.Reads[info.Depth] != want {
			t.Fatalf("Lookup(%d) value block at %d, want %d", k, path.Reads[info.Depth], want)
		}
		leaf := path.Reads[info.Depth-1] / BlockSize
		if wantLeaf := 1 + uint64(i)/uint64(p.Fanout); leaf != wantLeaf {
			t.Fatalf("Lookup(%d) reached leaf %d, want %d", k, leaf, wantLeaf)
		}
	}
	absent := AbsentKeys(keys, 50, p.Seed)
	absent = append(absent, 0, MaxKey, 1<<63, math.MaxUint64)
	for _, k := range absent {
		if _, found := slices.BinarySearch(keys, k); found {
			t.Fatalf("AbsentKeys returned present key %d", k)
		}
		path, err := tr.LookupPath(k)
		if err != nil {
			t.Fatalf("Lookup(absent %d): %v", k, err)
		}
		if path.Found || len(path.Reads) != info.Depth {
			t.Fatalf("Lookup(absent %d) = found %v after %d reads, want not found after %d", k, path.Found, len(path.Reads), info.Depth)
		}
	}

	// Ranges: bounds at keys, next to keys, outside all keys, reversed.
	var bounds []uint64
	samples := 7
	if len(keys) > 10000 {
		samples = 3 // keep the brute-force pairs cheap on big trees
	}
	for i := 0; i < len(keys); i += max(1, len(keys)/samples) {
		bounds = append(bounds, keys[i], keys[i]-1, keys[i]+1)
	}
	bounds = append(bounds, 0, 1, keys[len(keys)-1], MaxKey, math.MaxUint64)
	bounds = append(bounds, absent[:min(4, len(absent))]...)
	for _, lo := range bounds {
		for _, hi := range bounds {
			i := sort.Search(len(keys), func(i int) bool { return keys[i] >= lo })
			j := sort.Search(len(keys), func(i int) bool { return keys[i] > hi })
			var want []uint64
			if i < j {
				want = keys[i:j]
			}
			var wsum uint64
			for _, k := range want {
				wsum += k
			}
			sum, n, err := tr.Sum(lo, hi)
			if err != nil || sum != wsum || n != uint64(len(want)) {
				t.Fatalf("Sum(%d, %d) = %d, %d, %v; want %d, %d", lo, hi, sum, n, err, wsum, len(want))
			}
			for _, mx := range []int{0, 1, 3} {
				kvs, err := tr.Range(lo, hi, mx)
				if err != nil {
					t.Fatalf("Range(%d, %d, %d): %v", lo, hi, mx, err)
				}
				w := want
				if mx > 0 && len(w) > mx {
					w = w[:mx]
				}
				if len(kvs) != len(w) {
					t.Fatalf("Range(%d, %d, %d) gave %d keys, want %d", lo, hi, mx, len(kvs), len(w))
				}
				for x, kv := range kvs {
					if kv.Key != w[x] {
						t.Fatalf("Range(%d, %d, %d)[%d] = key %d, want %d", lo, hi, mx, x, kv.Key, w[x])
					}
					if err := CheckValue(kv.Key, p.Seed, kv.Value[:]); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
}

func TestTrees(t *testing.T) {
	for _, c := range []struct {
		keys   uint64
		fanout int
		depth  int
	}{
		{1, 2, 1}, {2, 2, 1}, {3, 3, 1}, {1, 31, 1}, {31, 31, 1},
		{3, 2, 2}, {6, 2, 2}, {4, 3, 2}, {12, 3, 2}, {32, 31, 2}, {500, 31, 2}, {992, 31, 2},
		{7, 2, 3}, {8, 2, 3}, {18, 2, 3}, {13, 3, 3}, {47, 3, 3}, {48, 3, 3}, {993, 31, 3}, {5000, 31, 3},
		{100, 2, 5}, {39366, 2, 10},
	} {
		p := Params{Keys: c.keys, Fanout: c.fanout, Seed: c.keys*7 + uint64(c.fanout), Depth: c.depth}
		t.Run(fmt.Sprintf("keys=%d,F=%d,depth=%d", c.keys, c.fanout, c.depth), func(t *testing.T) {
			if testing.Short() && c.keys > 10000 {
				t.Skip("large")
			}
			tr, _, info := genMem(t, p)
			if info.Depth != c.depth || int(tr.Superblock().Depth) != c.depth {
				t.Fatalf("depth %d / superblock %d, want %d", info.Depth, tr.Superblock().Depth, c.depth)
			}
			keys, err := Keys(p)
			if err != nil {
				t.Fatal(err)
			}
			checkTree(t, tr, info, keys)
		})
	}
}

// TestShapes generates every key count up to a few levels for several fanouts
// (covering every way the last nodes of a level can be filled) and verifies
// structure and lookups.
func TestShapes(t *testing.T) {
	for _, f := range []int{2, 3, 4, 5, 31} {
		maxKeys := uint64(400)
		if f == 31 {
			maxKeys = 31 * 33
		}
		for n := uint64(1); n <= maxKeys; n++ {
			p := Params{Keys: n, Fanout: f, Seed: n}
			tr, _, info := genMem(t, p)
			if err := tr.Verify(); err != nil {
				t.Fatalf("%v: Verify: %v", info, err)
			}
			if info.Depth != DepthFor(n, f) {
				t.Fatalf("%v: depth %d, want %d", info, info.Depth, DepthFor(n, f))
			}
			keys := genKeys(n, n)
			for _, k := range keys {
				if _, found, err := tr.Lookup(k); !found || err != nil {
					t.Fatalf("%v: Lookup(%d) = %v, %v", info, k, found, err)
				}
			}
		}
	}
}

// TestLayout checks the exact block layout documented in the package comment.
func TestLayout(t *testing.T) {
	p := Params{Keys: 97, Fanout: 3, Seed: 9}
	_, img, info := genMem(t, p)
	keys, _ := Keys(p)
	// 97 keys / 3 = 33 leaves (blocks 1..33, the last with 1 key);
	// level 1: 33 children / 4 = 9 nodes (blocks 34..42), taking 4,4,...,4,3,2;
	// level 2: 9 / 4 = 3 nodes (blocks 43..45), taking 4,3,2; root block 46.
	const vlog = 47
	if info.Leaves != 33 || info.Nodes != 33+9+3+1 || info.Depth != 4 || info.Root != 46 || info.ValueLogStart != vlog {
		t.Fatalf("layout %v", info)
	}
	if info.ImageSize != (vlog+13)*BlockSize {
		t.Fatalf("image size %d", info.ImageSize)
	}
	if string(img[0:4]) != "TSPB" || img[4] != 1 || img[512] != 0x44 || img[513] != 0x4e {
		t.Fatalf("magic bytes % x / % x", img[0:8], img[512:516])
	}
	sb, err := DecodeSuperblock(img)
	if err != nil {
		t.Fatal(err)
	}
	want := Superblock{Magic: Magic, Version: 1, Root: 46, Depth: 4, Fanout: 3, Keys: 97, ValueLogStart: vlog, ValueSize: 64, Seed: 9}
	if sb != want {
		t.Fatalf("superblock %+v, want %+v", sb, want)
	}
	if le.Uint64(img[SBOffSeed:]) != 9 || le.Uint32(img[44:]) != 0 || !allZero(img[56:512]) {
		t.Fatal("superblock padding / seed offset wrong")
	}
	for j := uint64(0); j < info.Leaves; j++ {
		n, err := DecodeNode(img[(1+j)*BlockSize:])
		if err != nil || n.Kind != KindLeaf {
			t.Fatalf("leaf %d: %v kind %d", j, err, n.Kind)
		}
		next := j + 2
		if j == info.Leaves-1 {
			next = 0
		}
		if n.Ptrs[NextLeaf] != next {
			t.Fatalf("leaf %d next %d, want %d", j, n.Ptrs[NextLeaf], next)
		}
		for i := range int(n.NKeys) {
			ki := j*3 + uint64(i)
			if n.Keys[i] != keys[ki] || n.Ptrs[i] != vlog*BlockSize+ki*64 {
				t.Fatalf("leaf %d slot %d: key %d ptr %d", j, i, n.Keys[i], n.Ptrs[i])
			}
		}
		for i := int(n.NKeys); i < MaxFanout; i++ {
			if n.Keys[i] != 0 || n.Ptrs[i] != 0 {
				t.Fatalf("leaf %d unused slot %d not zero", j, i)
			}
		}
	}
	// The last level-1 node would have had 1 child: it took one from node 7.
	n7, _ := DecodeNode(img[(34+7)*BlockSize:])
	n8, _ := DecodeNode(img[(34+8)*BlockSize:])
	if n7.NKeys != 2 || n7.Ptrs[0] != 29 || n7.Ptrs[2] != 31 || n7.Keys[1] != keys[30*3] ||
		n8.NKeys != 1 || n8.Ptrs[0] != 32 || n8.Ptrs[1] != 33 || n8.Keys[0] != keys[32*3] {
		t.Fatalf("level-1 tail nodes: %+v %+v", n7, n8)
	}
	root, _ := DecodeNode(img[46*BlockSize:])
	if root.Kind != KindInner || root.NKeys != 2 || root.Ptrs[0] != 43 || root.Ptrs[1] != 44 || root.Ptrs[2] != 45 ||
		root.Keys[0] != keys[16*3] || root.Keys[1] != keys[28*3] {
		t.Fatalf("root %+v", root)
	}
	for i, k := range keys {
		v := img[vlog*BlockSize+i*64 : vlog*BlockSize+i*64+64]
		if err := CheckValue(k, 9, v); err != nil {
			t.Fatal(err)
		}
	}
	if !allZero(img[vlog*BlockSize+97*64:]) {
		t.Fatal("value log padding not zero")
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func TestKeysAndValues(t *testing.T) {
	keys, err := Keys(Params{Keys: 10000, Fanout: 31, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if k == 0 || k > MaxKey || (i > 0 && keys[i-1] >= k) {
			t.Fatalf("key %d = %d not unique/sorted/in range", i, k)
		}
	}
	// Prefix stable: fewer keys are a subset.
	small := genKeys(100, 5)
	for _, k := range small {
		if _, ok := slices.BinarySearch(keys, k); !ok {
			t.Fatalf("key %d of the 100-key tree not in the 10000-key tree", k)
		}
	}
	if slices.Equal(genKeys(100, 5), genKeys(100, 6)) {
		t.Fatal("seed does not change keys")
	}
	v := ValueFor(12345, 7)
	if le.Uint64(v[:]) != 12345 || CheckValue(12345, 7, v[:]) != nil {
		t.Fatal("ValueFor/CheckValue disagree")
	}
	if ValueFor(12345, 8) == v || ValueFor(12346, 7) == v {
		t.Fatal("ValueFor ignores seed or key")
	}
	bad := v
	bad[40] ^= 1
	if err := CheckValue(12345, 7, bad[:]); err == nil || !strings.Contains(err.Error(), "byte 40") {
		t.Fatalf("CheckValue of bad value: %v", err)
	}
	if err := CheckValue(12346, 7, v[:]); err == nil || !strings.Contains(err.Error(), "holds key 12345") {
		t.Fatalf("CheckValue of wrong key: %v", err)
	}
	if err := CheckValue(12345, 7, v[:10]); err == nil {
		t.Fatal("CheckValue of short value passed")
	}
	// A pinned value: changing ValueFor changes the format contract.
	if got := hex.EncodeToString(v[8:16]); got != goldenValue {
		t.Fatalf("ValueFor(12345, 7)[8:16] = %s, want %s (format change?)", got, goldenValue)
	}
	// Edge keys come first: 4 is just above the largest key.
	if ab := AbsentKeys([]uint64{1, 2, 3}, 5, 1); len(ab) != 5 || ab[0] != 4 {
		t.Fatalf("AbsentKeys = %v", ab)
	}
}

const (
	goldenValue = "a7db5e47e7b9e9cd"
	goldenImage = "8e24c359e4ef1ce67178ac1e6e496f29e13c7cb208c7cb0b437b80ab7704838d"
)

func hashImage(t testing.TB, p Params) string {
	h := sha256.New()
	if _, err := Generate(h, p); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestDeterminism(t *testing.T) {
	p := Params{Keys: 20000, Fanout: 7, Seed: 42}
	a, b := hashImage(t, p), hashImage(t, p)
	if a != b {
		t.Fatalf("same params, different images: %s vs %s", a, b)
	}
	p.Seed = 43
	if hashImage(t, p) == a {
		t.Fatal("different seed, same image")
	}
	// Pinned image: a change here changes the on-disk contract with the BPF
	// programs and the checker.
	if got := hashImage(t, Params{Keys: 100, Fanout: 3, Seed: 1}); got != goldenImage {
		t.Fatalf("image for keys=100 fanout=3 seed=1 has sha256 %s, want %s (format change?)", got, goldenImage)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nvme.img")
	p := Params{Keys: 3000, Fanout: 31, Seed: 3}
	info, err := WriteFile(path, p)
	if err != nil {
		t.Fatal(err)
	}
	tr, f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if tr.Superblock().Keys != 3000 || info.Depth != 3 {
		t.Fatalf("%v", info)
	}
	if err := tr.Verify(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Fatal("temporary file left behind")
	}
	if _, err := WriteFile(filepath.Join(dir, "no", "such", "dir.img"), p); err == nil || !strings.Contains(err.Error(), "writable") {
		t.Fatalf("WriteFile into a missing dir: %v", err)
	}
	if _, _, err := OpenFile(filepath.Join(dir, "missing.img")); err == nil {
		t.Fatal("OpenFile of a missing file passed")
	}
}

func TestBadParams(t *testing.T) {
	for _, c := range []struct {
		p    Params
		want string
	}{
		{Params{Keys: 10, Fanout: 0}, "fanout=0 out of range (set fanout between 2 and 31)"},
		{Params{Keys: 10, Fanout: 1}, "fanout=1 out of range"},
		{Params{Keys: 10, Fanout: 32}, "fanout=32 out of range"},
		{Params{Keys: 10, Fanout: -3}, "fanout=-3 out of range"},
		{Params{Keys: 0, Fanout: 31}, "keys=0: a tree needs at least one key (set keys >= 1)"},
		{Params{Keys: MaxKeys + 1, Fanout: 31}, "exceeds the limit"},
		{Params{Keys: KeysForDepth(MaxDepth, 2) + 1, Fanout: 2}, "need depth 17, above the maximum 16 (use at most 28697814 keys or a larger fanout)"},
		{Params{Keys: 900000, Fanout: 31, Depth: 3}, "keys=900000 at fanout=31 make depth 4, not depth=3 (depth 3 at fanout 31 needs keys in 993..31744)"},
		{Params{Keys: 100, Fanout: 31, Depth: 4}, "make depth 2, not depth=4 (depth 4 at fanout 31 needs keys in 31745..1015808)"},
		{Params{Keys: 100, Fanout: 31, Depth: 17}, "depth=17 out of range"},
		{Params{Keys: 100, Fanout: 31, Depth: -1}, "depth=-1 out of range"},
	} {
		_, err := Generate(io.Discard, c.p)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Generate(%+v) = %v, want error containing %q", c.p, err, c.want)
		}
		if _, err := Keys(c.p); err == nil {
			t.Errorf("Keys(%+v) accepted bad params", c.p)
		}
	}
	if _, err := Generate(io.Discard, Params{Keys: 39366, Fanout: 2, Depth: 10}); err != nil {
		t.Errorf("depth-10 F=2 full tree rejected: %v", err)
	}
}

// failWriter fails after n bytes.
type failWriter struct{ n int }

func (w *failWriter) Write(b []byte) (int, error) {
	if len(b) > w.n {
		return 0, os.ErrClosed
	}
	w.n -= len(b)
	return len(b), nil
}

func TestWriteError(t *testing.T) {
	if _, err := Generate(&failWriter{n: 4 << 20}, Params{Keys: 200000, Fanout: 31}); err == nil {
		t.Fatal("write error not reported")
	}
}

// exercise runs every reader operation; it reports whether any failed, and
// must never panic or hang.
func exercise(tr *Tree, keys []uint64) (failed bool) {
	for _, k := range keys {
		if _, _, err := tr.Lookup(k); err != nil {
			failed = true
		}
	}
	if _, err := tr.Range(0, math.MaxUint64, 0); err != nil {
		failed = true
	}
	if _, _, err := tr.Sum(0, math.MaxUint64); err != nil {
		failed = true
	}
	if err := tr.Verify(); err != nil {
		failed = true
	}
	return failed
}

func TestCorrupt(t *testing.T) {
	p := Params{Keys: 200, Fanout: 3, Seed: 11} // depth 4
	_, img, info := genMem(t, p)
	keys, _ := Keys(p)
	root := info.Root * BlockSize
	leaf1 := uint64(1 * BlockSize)
	put64 := func(b []byte, off, v uint64) { le.PutUint64(b[off:], v) }

	openErr := []struct {
		name string
		edit func(b []byte) []byte
		want string
	}{
		{"empty", func(b []byte) []byte { return nil }, "read superblock"},
		{"zeros", func(b []byte) []byte { return make([]byte, 4096) }, "not a bpfstor B+-tree image"},
		{"text", func(b []byte) []byte { return []byte(strings.Repeat("hello world\n", 100)) }, "not a bpfstor B+-tree image"},
		{"bad magic", func(b []byte) []byte { b[0] ^= 0xff; return b }, "not a bpfstor B+-tree image"},
		{"bad version", func(b []byte) []byte { b[SBOffVersion] = 2; return b }, "version 2 not supported"},
		{"bad value size", func(b []byte) []byte { b[SBOffValueSize] = 32; return b }, "value size 32"},
		{"bad fanout", func(b []byte) []byte { b[SBOffFanout] = 40; return b }, "fanout 40"},
		{"bad depth", func(b []byte) []byte { b[SBOffDepth] = 3; return b }, "says depth 3"},
		{"root out of range", func(b []byte) []byte { put64(b, SBOffRoot, 1<<40); return b }, "root block"},
		{"root is superblock", func(b []byte) []byte { put64(b, SBOffRoot, 0); return b }, "root block"},
		{"truncated", func(b []byte) []byte { return b[:len(b)-512] }, "truncated image"},
		{"root bad node magic", func(b []byte) []byte { b[root] ^= 1; return b }, "bad node magic"},
		{"root is a leaf", func(b []byte) []byte { put64(b, SBOffRoot, 1); return b }, "kind 2, want 1"},
	}
	for _, c := range openErr {
		b := c.edit(slices.Clone(img))
		_, err := Open(bytes.NewReader(b))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Open = %v, want error containing %q", c.name, err, c.want)
		}
	}
	// A reader whose size is unknown still catches truncation when reading.
	if tr, err := Open(onlyReaderAt{bytes.NewReader(img[:len(img)-512])}); err != nil {
		t.Errorf("Open of truncated image via plain ReaderAt: %v", err)
	} else if !exercise(tr, keys) {
		t.Error("truncated image read without error")
	}

	walkErr := []struct {
		name string
		edit func(b []byte)
		want string // error from a full Range/Sum/lookups
	}{
		{"child out of range", func(b []byte) { put64(b, root+NodeOffPtrs, 1<<30) }, "outside the node area"},
		{"child is superblock", func(b []byte) { put64(b, root+NodeOffPtrs, 0) }, "outside the node area"},
		{"child is value log", func(b []byte) { put64(b, root+NodeOffPtrs, info.ValueLogStart) }, "outside the node area"},
		{"child loops to root", func(b []byte) { put64(b, root+NodeOffPtrs, info.Root) }, "want 2"},
		{"leaf bad node magic", func(b []byte) { b[leaf1+1] ^= 1 }, "bad node magic"},
		{"leaf bad kind", func(b []byte) { b[leaf1+NodeOffKind] = 7 }, "bad node kind"},
		{"leaf zero keys", func(b []byte) { b[leaf1+NodeOffNKeys] = 0 }, "key count 0"},
		{"leaf too many keys", func(b []byte) { b[leaf1+NodeOffNKeys] = 30 }, "more than fanout"},
		{"leaf keys unsorted", func(b []byte) { put64(b, leaf1+NodeOffKeys, math.MaxUint64) }, "not strictly ascending"},
		{"next-leaf cycle", func(b []byte) { put64(b, leaf1+2*BlockSize+NodeOffPtrs+8*NextLeaf, 1) }, "leaf chain"},
		{"next-leaf self", func(b []byte) { put64(b, leaf1+NodeOffPtrs+8*NextLeaf, 1) }, "leaf chain"},
		{"next-leaf out of range", func(b []byte) { put64(b, leaf1+NodeOffPtrs+8*NextLeaf, 1<<50) }, "outside the node area"},
		{"value offset out of range", func(b []byte) { put64(b, leaf1+NodeOffPtrs, 1<<40) }, "not a 64-byte slot"},
		{"value offset in nodes", func(b []byte) { put64(b, leaf1+NodeOffPtrs, BlockSize) }, "not a 64-byte slot"},
		{"value offset misaligned", func(b []byte) { put64(b, leaf1+NodeOffPtrs, info.ValueLogStart*BlockSize+8) }, "not a 64-byte slot"},
		{"value wrong key", func(b []byte) { b[info.ValueLogStart*BlockSize] ^= 1 }, "holds key"},
	}
	for _, c := range walkErr {
		b := slices.Clone(img)
		c.edit(b)
		tr, err := Open(bytes.NewReader(b))
		if err != nil {
			t.Errorf("%s: Open: %v", c.name, err)
			continue
		}
		done := make(chan error, 1)
		go func() {
			var first error
			for _, k := range keys {
				if _, _, err := tr.Lookup(k); err != nil && first == nil {
					first = err
				}
			}
			if _, err := tr.Range(0, math.MaxUint64, 0); err != nil && first == nil {
				first = err
			}
			if _, _, err := tr.Sum(0, math.MaxUint64); err != nil && first == nil {
				first = err
			}
			if err := tr.Verify(); err != nil && first == nil {
				first = err
			}
			done <- first
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: got %v, want error containing %q", c.name, err, c.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: reader hangs", c.name)
		}
	}
	// Value bytes 8..63 are only checked by Verify / CheckValue.
	b := slices.Clone(img)
	b[info.ValueLogStart*BlockSize+20] ^= 1
	tr, _ := Open(bytes.NewReader(b))
	if err := tr.Verify(); err == nil || !strings.Contains(err.Error(), "byte 20") {
		t.Errorf("corrupt value bytes: Verify = %v", err)
	}
	// A separator that misroutes keys: Verify notices, lookups miss.
	b = slices.Clone(img)
	put64(b, root+NodeOffKeys, le.Uint64(b[root+NodeOffKeys:])+1)
	tr, _ = Open(bytes.NewReader(b))
	if err := tr.Verify(); err == nil {
		t.Error("bad separator: Verify passed")
	}
}

type onlyReaderAt struct{ r io.ReaderAt }

func (o onlyReaderAt) ReadAt(b []byte, off int64) (int, error) { return o.r.ReadAt(b, off) }

func FuzzRoundTrip(f *testing.F) {
	f.Add(uint16(1), uint8(0), uint64(0))
	f.Add(uint16(7), uint8(0), uint64(1))
	f.Add(uint16(100), uint8(1), uint64(2))
	f.Add(uint16(992), uint8(29), uint64(3))
	f.Add(uint16(2999), uint8(2), uint64(1<<63))
	f.Fuzz(func(t *testing.T, nkeys uint16, fanout uint8, seed uint64) {
		p := Params{Keys: uint64(nkeys)%3000 + 1, Fanout: int(fanout)%30 + 2, Seed: seed}
		tr, _, info := genMem(t, p)
		keys, err := Keys(p)
		if err != nil {
			t.Fatal(err)
		}
		var sum uint64
		for _, k := range keys {
			v, found, err := tr.Lookup(k)
			if err != nil || !found {
				t.Fatalf("%v: Lookup(%d) = %v, %v", info, k, found, err)
			}
			if v != ValueFor(k, seed) {
				t.Fatalf("%v: Lookup(%d) wrong value", info, k)
			}
			sum += k
		}
		for _, k := range AbsentKeys(keys, 20, seed) {
			if _, found, err := tr.Lookup(k); found || err != nil {
				t.Fatalf("%v: absent key %d: found %v, %v", info, k, found, err)
			}
		}
		if s, n, err := tr.Sum(0, math.MaxUint64); s != sum || n != p.Keys || err != nil {
			t.Fatalf("%v: Sum = %d, %d, %v; want %d, %d", info, s, n, err, sum, p.Keys)
		}
		if err := tr.Verify(); err != nil {
			t.Fatalf("%v: %v", info, err)
		}
	})
}

// FuzzCorruptImage overwrites bytes of a small image: the reader must return
// errors, never panic or loop.
func FuzzCorruptImage(f *testing.F) {
	var buf bytes.Buffer
	if _, err := Generate(&buf, Params{Keys: 60, Fanout: 3, Seed: 1}); err != nil {
		f.Fatal(err)
	}
	img := buf.Bytes()
	keys := genKeys(60, 1)
	f.Add(uint16(0), uint64(0))
	f.Add(uint16(SBOffRoot), uint64(3))
	f.Add(uint16(512+NodeOffPtrs+8*NextLeaf), uint64(1))
	f.Add(uint16(15*512+NodeOffPtrs), uint64(15))
	f.Fuzz(func(t *testing.T, off uint16, v uint64) {
		b := slices.Clone(img)
		o := int(off) % (len(b) - 7)
		le.PutUint64(b[o:], v)
		tr, err := Open(bytes.NewReader(b))
		if err != nil {
			return
		}
		exercise(tr, keys)
	})
}

func BenchmarkGenerate(b *testing.B) {
	for _, c := range []struct {
		name string
		p    Params
	}{
		{"keys=900000,F=31,depth=4", Params{Keys: 900000, Fanout: 31, Seed: 1, Depth: 4}},
		{"keys=39366,F=2,depth=10", Params{Keys: 39366, Fanout: 2, Seed: 1, Depth: 10}},
	} {
		b.Run(c.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "nvme.img")
			var info Info
			for b.Loop() {
				var err error
				if info, err = WriteFile(path, c.p); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(info.ImageSize))
			b.ReportMetric(float64(info.ImageSize)/(1<<20), "image-MiB")
		})
	}
}

// TestLarge generates the ~900K-key depth-4 fanout-31 tree to a file and
// checks the 10 s target, then verifies the whole image.
func TestLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large tree; run without -short")
	}
	path := filepath.Join(t.TempDir(), "nvme.img")
	p := Params{Keys: 900000, Fanout: 31, Seed: 77, Depth: 4}
	start := time.Now()
	info, err := WriteFile(path, p)
	el := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v in %v", info, el)
	if el > 10*time.Second {
		t.Errorf("generation took %v, target < 10 s", el)
	}
	tr, f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := tr.Verify(); err != nil {
		t.Fatal(err)
	}
	keys, _ := Keys(p)
	for i := 0; i < len(keys); i += 997 {
		v, found, err := tr.Lookup(keys[i])
		if err != nil || !found || v != ValueFor(keys[i], p.Seed) {
			t.Fatalf("Lookup(%d) = %v, %v", keys[i], found, err)
		}
	}
	if s, n, err := tr.Sum(keys[1000], keys[200000]); err != nil || n != 199001 {
		t.Fatalf("Sum = %d, %d, %v", s, n, err)
	}
}
