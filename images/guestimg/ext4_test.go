package guestimg

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/images/btree"
	"github.com/bpfstor/bpfstor/images/ext4img"
)

func TestExt4SizeMB(t *testing.T) {
	for _, tt := range []struct {
		size int64
		want int
	}{
		{0, 8},
		{512, 9},
		{4 << 20, 13},      // 4 MiB + 1 MiB + 8
		{80 << 20, 108},    // 80 + 20 + 8
		{80<<20 + 1, 109},  // a byte more rounds up
		{1000 << 20, 1258}, // 1000 + 250 + 8
	} {
		if got := Ext4SizeMB(tt.size); got != tt.want {
			t.Errorf("Ext4SizeMB(%d) = %d, want %d", tt.size, got, tt.want)
		}
	}
}

// needE2fsprogs skips without e2fsprogs, except in CI and e2e runs
// (make deps installs it).
func needE2fsprogs(t *testing.T) {
	t.Helper()
	for _, tool := range append(ext4img.Tools, "e2fsck") {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" || os.Getenv("BPFSTOR_E2E") == "1" {
				t.Fatalf("%s not found (e2fsprogs)", tool)
			}
			t.Skipf("%s not found (e2fsprogs)", tool)
		}
	}
}

// The ext4 image of a tree is the same bytes each time it is built (in
// another cache, later), a clean file system, and the tree file in it is
// the raw tree image byte for byte; raw and ext4 images have other names.
func TestWithFSExt4(t *testing.T) {
	needE2fsprogs(t)
	ctx := context.Background()
	p := btree.Params{Keys: 3000, Fanout: 7, Seed: 3}
	var imgs [2][]byte
	var raw []byte
	for i := range imgs {
		cache := t.TempDir()
		tree, _, err := BuildBTree(cache, p)
		if err != nil {
			t.Fatal(err)
		}
		if raw, err = os.ReadFile(tree.Path); err != nil {
			t.Fatal(err)
		}
		d, err := WithFS(ctx, tree, proto.FSExt4)
		if err != nil {
			t.Fatal(err)
		}
		if d.FS != proto.FSExt4 || d.Kind != "btree" || d.Seed != 3 || d.FileBytes != int64(len(raw)) ||
			d.Path == tree.Path || !strings.HasSuffix(d.Path, Ext4Suffix) {
			t.Fatalf("ext4 data %+v of tree %+v", d, tree)
		}
		if imgs[i], err = os.ReadFile(d.Path); err != nil {
			t.Fatal(err)
		}
		if int64(len(imgs[i])) != d.SizeBytes || d.SizeBytes != int64(Ext4SizeMB(int64(len(raw))))<<20 {
			t.Errorf("image is %d bytes, data says %d", len(imgs[i]), d.SizeBytes)
		}
		if err := CheckData(d.Path); err != nil {
			t.Error(err)
		}
		if out, err := exec.Command("e2fsck", "-fn", d.Path).CombinedOutput(); err != nil {
			t.Fatalf("e2fsck: %v\n%s", err, out)
		}
		dump := filepath.Join(t.TempDir(), "dump")
		if out, err := exec.Command("debugfs", "-R", "dump /"+proto.DataFile+" "+dump, d.Path).CombinedOutput(); err != nil {
			t.Fatalf("debugfs dump: %v\n%s", err, out)
		}
		if got, _ := os.ReadFile(dump); !bytes.Equal(got, raw) {
			t.Errorf("/%s in the ext4 image is %d bytes differing from the %d of the raw tree image", proto.DataFile, len(got), len(raw))
		}
		stat, _ := exec.Command("debugfs", "-R", "stat /"+proto.DataFile, d.Path).CombinedOutput()
		for _, f := range []string{"User:     0", "Group:     0", "Mode:  0644", "Type: regular"} {
			if !strings.Contains(string(stat), f) {
				t.Errorf("/%s lacks %q:\n%s", proto.DataFile, f, stat)
			}
		}
		if left, _ := filepath.Glob(filepath.Join(filepath.Dir(d.Path), ".*.tmp")); len(left) > 0 {
			t.Errorf("temporary files left behind: %v", left)
		}
		time.Sleep(1100 * time.Millisecond) // the second build a second later
	}
	if !bytes.Equal(imgs[0], imgs[1]) {
		t.Error("two builds of the same tree gave different ext4 images")
	}
	// Raw is the tree itself.
	tree, _, err := BuildBTree(t.TempDir(), p)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := WithFS(ctx, tree, proto.FSRaw); err != nil || d != tree {
		t.Errorf("raw: %+v, %v: want the tree image itself", d, err)
	}
	if _, err := WithFS(ctx, tree, "xfs"); err == nil || !strings.Contains(err.Error(), `"xfs"`) {
		t.Errorf("xfs: %v", err)
	}
}
