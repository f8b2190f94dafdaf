package kbuild

import (
	"context"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/internal/fsutil"
)

func TestApplyPatch(t *testing.T) {
	tree := filepath.Join(t.TempDir(), "linux")
	os.MkdirAll(tree, 0o755)
	os.WriteFile(filepath.Join(tree, "a.c"), []byte("one\ntwo\nthree\n"), 0o644)
	good := `--- a/a.c
+++ b/a.c
@@ -1,3 +1,3 @@
 one
-two
+TWO
 three
`
	bad := strings.Replace(good, " one\n", " uno\n", 1)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "0001-good.patch"), []byte(good), 0o644)
	os.WriteFile(filepath.Join(dir, "0002-bad.patch"), []byte(bad), 0o644)
	ctx := context.Background()
	if err := applyPatch(ctx, tree, filepath.Join(dir, "0001-good.patch"), io.Discard); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(tree, "a.c")); string(b) != "one\nTWO\nthree\n" {
		t.Errorf("patched file = %q", b)
	}
	err := applyPatch(ctx, tree, filepath.Join(dir, "0002-bad.patch"), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "patch 0002-bad.patch does not apply") || !strings.Contains(err.Error(), "a.c:1") {
		t.Errorf("err = %v, want the patch and the failing hunk named", err)
	}
}

func TestPatchFiles(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"0002-b.patch", "0000-cover-letter.patch", "0001-a.patch", "README"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	got, err := PatchFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || filepath.Base(got[0]) != "0001-a.patch" || filepath.Base(got[1]) != "0002-b.patch" {
		t.Errorf("PatchFiles = %v", got)
	}
	if _, err := PatchFiles(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing patch dir accepted")
	}
}

func TestSourceErrors(t *testing.T) {
	frag := filepath.Join(t.TempDir(), "f.config")
	os.WriteFile(frag, []byte("CONFIG_A=y\n"), 0o644)
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no tarball", Options{Tarball: "/nonexistent/linux.tar.xz", Fragments: []string{frag}}, "apt-get install linux-source-6.12, or pass --src DIR"},
		{"src not a tree", Options{Src: t.TempDir(), Fragments: []string{frag}}, "is not a Linux kernel tree"},
		{"no fragment", Options{Tarball: "/nonexistent"}, "no config fragment"},
		{"bad fragment", Options{Tarball: "/bin/sh", Fragments: []string{"/nonexistent.config"}}, "config fragment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.CacheDir = t.TempDir()
			_, err := Build(context.Background(), tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestKeyChangesWithInputs(t *testing.T) {
	// Same inputs, same key; a changed patch, a different key. Uses a fake
	// tarball: the key is computed before anything is unpacked, and a cached
	// kernel.json short-circuits the build.
	dir := t.TempDir()
	tar := filepath.Join(dir, "linux-source-6.12.tar.xz")
	os.WriteFile(tar, []byte("x"), 0o644)
	frag := filepath.Join(dir, "f.config")
	os.WriteFile(frag, []byte("CONFIG_A=y\n"), 0o644)
	pdir := filepath.Join(dir, "patches")
	os.MkdirAll(pdir, 0o755)
	os.WriteFile(filepath.Join(pdir, "0001-x.patch"), []byte("v1"), 0o644)
	cache := filepath.Join(dir, "cache")
	key := func() string {
		t.Helper()
		// Seed the cache for whatever key the inputs give, then read it back.
		o := Options{Tarball: tar, Patches: pdir, Fragments: []string{frag}, CacheDir: cache}
		for i := 0; i < 2; i++ {
			ents, _ := os.ReadDir(cache)
			for _, e := range ents {
				kd := filepath.Join(cache, e.Name())
				if _, err := os.Stat(filepath.Join(kd, "kernel.json")); err != nil {
					bz := filepath.Join(kd, "bzImage")
					fakeBzImage(t, bz)
					writeMeta(filepath.Join(kd, "kernel.json"), &Kernel{BzImage: bz, Key: e.Name()})
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // a real build stops at once; only the cache can answer
			k, err := Build(ctx, o)
			if err == nil {
				if !k.Cached {
					t.Fatal("not cached")
				}
				return k.Key
			}
		}
		t.Fatal("no cached kernel found")
		return ""
	}
	k1 := key()
	if k2 := key(); k2 != k1 {
		t.Errorf("same inputs gave keys %s and %s", k1, k2)
	}
	os.WriteFile(filepath.Join(pdir, "0001-x.patch"), []byte("v2"), 0o644)
	if k3 := key(); k3 == k1 {
		t.Error("changed patch kept the same key")
	}
}

// fakeBzImage writes a minimal file with a bzImage setup header whose
// sizes match the file (1 setup sector + 4 KiB of "kernel").
func fakeBzImage(t *testing.T, path string) {
	t.Helper()
	b := make([]byte, 2*512+4096)
	b[0x1f1] = 1
	binary.LittleEndian.PutUint32(b[0x1f4:], 4096/16)
	copy(b[0x202:], "HdrS")
	for i := 1024; i < len(b); i++ {
		b[i] = byte(i)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A cached kernel is checked before use: a truncated or changed bzImage
// is refused (it used to be reported "cached" and the boot failed with
// "control channel closed before hello"), and a moved cache still works
// (kernel.json used to hold absolute paths).
func TestCachedKernelVerified(t *testing.T) {
	tests := []struct {
		name   string
		damage func(bz string)
		noHash bool // kernel.json of an older bpfstor, without the hash
		want   string
	}{
		{"intact", func(string) {}, false, ""},
		{"intact, no recorded hash", func(string) {}, true, ""},
		{"truncated", func(bz string) { os.Truncate(bz, 3000) }, false, "is truncated: 3000 bytes, its header says 5120"},
		{"truncated, no recorded hash", func(bz string) { os.Truncate(bz, 3000) }, true, "is truncated"},
		{"empty", func(bz string) { os.Truncate(bz, 0) }, false, "is not a bzImage"},
		{"changed byte", func(bz string) {
			f, _ := os.OpenFile(bz, os.O_WRONLY, 0)
			f.WriteAt([]byte{0xff}, 4000)
			f.Close()
		}, false, "is damaged: sha256"},
		{"missing", func(bz string) { os.Remove(bz) }, false, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "old", "kernel", "k1")
			os.MkdirAll(dir, 0o755)
			bz := filepath.Join(dir, "bzImage")
			fakeBzImage(t, bz)
			k := &Kernel{BzImage: bz, Key: "k1", Release: "6.12.0"}
			if !tt.noHash {
				k.BzImageSHA256, _ = fsutil.SHA256(bz)
			}
			if err := writeMeta(filepath.Join(dir, "kernel.json"), k); err != nil {
				t.Fatal(err)
			}
			// The cache moves (another disk, another user's home).
			moved := filepath.Join(root, "new", "kernel", "k1")
			os.MkdirAll(filepath.Dir(moved), 0o755)
			if err := os.Rename(dir, moved); err != nil {
				t.Fatal(err)
			}
			tt.damage(filepath.Join(moved, "bzImage"))
			got, err := cachedKernel(filepath.Join(moved, "kernel.json"), io.Discard)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.BzImage != filepath.Join(moved, "bzImage") || !got.Cached || got.BzImageSHA256 == "" {
				t.Errorf("kernel %+v, want the moved bzImage, cached, with its hash", got)
			}
		})
	}
}

// makeTarball writes a tiny "kernel source" tarball unpacking to
// linux-source-6.12/ with a.c in it.
func makeTarball(t *testing.T, dir string) string {
	t.Helper()
	tree := filepath.Join(dir, "t", "linux-source-6.12")
	os.MkdirAll(tree, 0o755)
	os.WriteFile(filepath.Join(tree, "Makefile"), []byte("VERSION = 6\n"), 0o644)
	os.WriteFile(filepath.Join(tree, "a.c"), []byte("one\ntwo\nthree\n"), 0o644)
	tar := filepath.Join(dir, "linux-source-6.12.tar.xz")
	if out, err := exec.Command("tar", "cJf", tar, "-C", filepath.Join(dir, "t"), "linux-source-6.12").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
	return tar
}

// A patch that does not apply is named by the user's file name (it used to
// carry the snapshot's 00- prefix), and the failed build removes its
// unpacked tree; trees of earlier failed builds go too, finished builds'
// caches stay.
func TestBuildFailureNamesPatchAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	LockPath = filepath.Join(dir, "kbuild.lock")
	defer func() { LockPath = "/tmp/bpfstor-kbuild.lock" }()
	tar := makeTarball(t, dir)
	frag := filepath.Join(dir, "f.config")
	os.WriteFile(frag, []byte("CONFIG_A=y\n"), 0o644)
	pdir := filepath.Join(dir, "my-series")
	os.MkdirAll(pdir, 0o755)
	os.WriteFile(filepath.Join(pdir, "0001-frob-the-widget.patch"), []byte("--- a/a.c\n+++ b/a.c\n@@ -1,3 +1,3 @@\n uno\n-two\n+TWO\n three\n"), 0o644)
	cache := filepath.Join(dir, "cache")
	stale := filepath.Join(cache, "stalekey")
	os.MkdirAll(filepath.Join(stale, "src", "linux-source-6.12"), 0o755)
	done := filepath.Join(cache, "donekey")
	os.MkdirAll(filepath.Join(done, "src"), 0o755)
	os.WriteFile(filepath.Join(done, "kernel.json"), []byte("{}"), 0o644)

	_, err := Build(context.Background(), Options{Tarball: tar, Patches: pdir, Fragments: []string{frag}, CacheDir: cache})
	if err == nil || !strings.Contains(err.Error(), "patch 0001-frob-the-widget.patch does not apply") {
		t.Fatalf("err = %v, want the user's patch file named", err)
	}
	if strings.Contains(err.Error(), "00-0001") {
		t.Errorf("err = %v names the internal snapshot copy", err)
	}
	srcs, _ := filepath.Glob(filepath.Join(cache, "*", "src"))
	if len(srcs) != 1 || srcs[0] != filepath.Join(done, "src") {
		t.Errorf("unpacked trees left: %v, want only the finished build's", srcs)
	}
}

// Fragment lines are named by the user's file:line (they used to name the
// deleted temporary snapshot, /tmp/bpfstor-kinputs-…/config/00-f.config).
func TestFragmentNamedByUsersFile(t *testing.T) {
	dir := t.TempDir()
	tar := filepath.Join(dir, "linux-source-6.12.tar.xz")
	os.WriteFile(tar, []byte("x"), 0o644)
	frag := filepath.Join(dir, "my.config")
	os.WriteFile(frag, []byte("CONFIG_A=y\nCONFIG_B\n"), 0o644)
	_, err := Build(context.Background(), Options{Tarball: tar, Fragments: []string{frag}, CacheDir: filepath.Join(dir, "cache")})
	if err == nil || !strings.Contains(err.Error(), frag+":2:") {
		t.Fatalf("err = %v, want %s:2 named", err, frag)
	}
}
