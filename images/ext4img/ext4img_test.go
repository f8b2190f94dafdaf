package ext4img

import (
	"bytes"
	"context"
	"crypto/sha256"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needTools skips without e2fsprogs, except in CI (make deps installs it).
func needTools(t *testing.T) {
	t.Helper()
	for _, tool := range append(Tools, "e2fsck") {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" || os.Getenv("BPFSTOR_E2E") == "1" {
				t.Fatalf("%s not found (e2fsprogs)", tool)
			}
			t.Skipf("%s not found (e2fsprogs)", tool)
		}
	}
}

// source writes a small tree: a 3 MB file, a text file, a subdirectory.
func source(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	big := make([]byte, 3<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	files := map[string][]byte{"tree.img": big, "other.txt": []byte("another file\n"), "sub/dir/x": []byte("x")}
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func sum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// The same files give the same bytes, built at different times, after
// the source was read (its atime moves) and touched (its ctime moves); the
// image is a clean ext4 file system whose files read back as written.
func TestBuildReproducible(t *testing.T) {
	needTools(t)
	ctx := context.Background()
	src := source(t)
	o := Defaults
	o.SizeMB = 16
	out := t.TempDir()
	a, b := filepath.Join(out, "a.img"), filepath.Join(out, "b.img")
	if err := Build(ctx, a, src, o); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // a later second for every clock mkfs might read
	if _, err := os.ReadFile(filepath.Join(src, "tree.img")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(src, "other.txt"), 0o644); err != nil { // moves ctime
		t.Fatal(err)
	}
	if err := Build(ctx, b, src, o); err != nil {
		t.Fatal(err)
	}
	if sum(t, a) != sum(t, b) {
		t.Fatal("two builds of the same files differ")
	}
	if out, err := exec.Command("e2fsck", "-fn", a).CombinedOutput(); err != nil {
		t.Fatalf("e2fsck: %v\n%s", err, out)
	}
	for _, name := range []string{"tree.img", "other.txt", "sub/dir/x"} {
		dump := filepath.Join(out, "dump")
		if out, err := exec.Command("debugfs", "-R", "dump /"+name+" "+dump, a).CombinedOutput(); err != nil {
			t.Fatalf("debugfs dump %s: %v\n%s", name, err, out)
		}
		got, _ := os.ReadFile(dump)
		want, _ := os.ReadFile(filepath.Join(src, name))
		if !bytes.Equal(got, want) {
			t.Errorf("%s reads back %d bytes differing from the %d written", name, len(got), len(want))
		}
	}
	stat, _ := exec.Command("debugfs", "-R", "stat /tree.img", a).CombinedOutput()
	for _, f := range []string{"ctime: 0x6553f100", "atime: 0x6553f100", "mtime: 0x6553f100", "crtime: 0x6553f100"} {
		if !strings.Contains(string(stat), f) {
			t.Errorf("tree.img lacks %q:\n%s", f, stat)
		}
	}

	// Another UUID is another image.
	o.UUID = "b9f5704e-4a3c-4e8b-9d1a-0000000000ff"
	if err := Build(ctx, b, src, o); err != nil {
		t.Fatal(err)
	}
	if sum(t, a) == sum(t, b) {
		t.Error("another UUID gave the same image")
	}
}

func TestBuildErrors(t *testing.T) {
	needTools(t)
	ctx := context.Background()
	src := source(t)
	dst := filepath.Join(t.TempDir(), "x.img")
	tests := []struct {
		name string
		o    Options
		src  string
		want string
	}{
		{"no size", Options{UUID: Defaults.UUID, HashSeed: Defaults.HashSeed}, src, "all are required"},
		{"too small", Options{SizeMB: 1, UUID: Defaults.UUID, HashSeed: Defaults.HashSeed}, src, "mkfs.ext4"},
		{"no source", Options{SizeMB: 16, UUID: Defaults.UUID, HashSeed: Defaults.HashSeed}, filepath.Join(src, "missing"), "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Build(ctx, dst, tt.src, tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Build = %v, want an error with %q", err, tt.want)
			}
		})
	}
	link := filepath.Join(src, "link")
	if err := os.Symlink("tree.img", link); err != nil {
		t.Fatal(err)
	}
	if err := Build(ctx, dst, src, Options{SizeMB: 16, UUID: Defaults.UUID, HashSeed: Defaults.HashSeed}); err == nil || !strings.Contains(err.Error(), "only regular files") {
		t.Errorf("a symlink in the source: %v", err)
	}
}
