package kbuild

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
					os.WriteFile(bz, []byte("k"), 0o644)
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
