package guestimg

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/bpf/storfn"
	"github.com/bpfstor/bpfstor/internal/fsutil"
	"github.com/bpfstor/bpfstor/kernel/selftest/testdisk"
)

func TestMBR(t *testing.T) {
	b := MBR(2048, 12288)
	if len(b) != 512 || b[510] != 0x55 || b[511] != 0xaa {
		t.Fatalf("no boot signature: %d bytes, %#x %#x", len(b), b[510], b[511])
	}
	e := b[446:462]
	if e[4] != 0x83 || binary.LittleEndian.Uint32(e[8:]) != 2048 || binary.LittleEndian.Uint32(e[12:]) != 12288 {
		t.Errorf("partition entry %x", e)
	}
	for i, c := range b[462:510] {
		if c != 0 {
			t.Fatalf("entries 2-4 not empty at byte %d", 462+i)
		}
	}
}

func TestBuildTestDisks(t *testing.T) {
	dir := t.TempDir()
	disks, err := BuildTestDisks(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(disks) != len(testdisk.Disks) {
		t.Fatalf("%d disks, want %d", len(disks), len(testdisk.Disks))
	}
	for _, d := range disks {
		fi, err := os.Stat(d.Path)
		if err != nil || fi.Size() != int64(d.SizeMB)<<20 {
			t.Errorf("%s: %v, size %v", d.Role, err, fi)
		}
		if d.Partitioned {
			b := make([]byte, 512)
			f, _ := os.Open(d.Path)
			f.ReadAt(b, 0)
			f.Close()
			if string(b) != string(MBR(testdisk.PartStart, testdisk.PartSectors)) {
				t.Errorf("%s: no MBR", d.Role)
			}
			if testdisk.PartStart+testdisk.PartSectors > d.SizeMB<<11 {
				t.Errorf("%s: partition ends past the disk", d.Role)
			}
		}
		if d.FailReads {
			b, err := os.ReadFile(d.BlkDebug)
			if err != nil || !strings.Contains(string(b), `sector = "4096"`) || !strings.Contains(string(b), `event = "read_aio"`) {
				t.Errorf("%s: blkdebug rule %q, %v", d.Role, b, err)
			}
		} else if d.BlkDebug != "" {
			t.Errorf("%s: blkdebug rule on a disk that does not fail", d.Role)
		}
	}
	again, err := BuildTestDisks(dir)
	if err != nil || len(again) != len(disks) {
		t.Fatalf("second build: %v", err)
	}
}

func TestTestDisksSealed(t *testing.T) {
	dir := t.TempDir()
	disks, err := BuildTestDisks(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range disks {
		if err := fsutil.CheckSeal(d.Path); err != nil {
			t.Errorf("%s: %v", d.Role, err)
		}
	}
	// a damaged image is written again
	p := disks[0].Path
	if err := os.WriteFile(p, []byte("short"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := BuildTestDisks(dir); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Size() != int64(disks[0].SizeMB)<<20 {
		t.Errorf("damaged %s not rebuilt: %d bytes", disks[0].Role, fi.Size())
	}
}

// The ext4 test disk's tree file holds the twin disk's bytes, and its
// victim file a victim header in every unit.
func TestExt4TestDisk(t *testing.T) {
	disks, err := BuildTestDisks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{}
	for _, d := range disks {
		paths[d.Role] = d.Path
	}
	dump := func(name string) []byte {
		out := filepath.Join(t.TempDir(), name)
		if b, err := exec.Command("debugfs", "-R", "dump /"+name+" "+out, paths[testdisk.Ext4]).CombinedOutput(); err != nil {
			t.Fatalf("debugfs: %v: %s", err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	twin, err := os.ReadFile(paths[testdisk.Twin])
	if err != nil {
		t.Fatal(err)
	}
	if tree := dump(testdisk.TreeFile); len(tree) != testdisk.TreeMB<<20 || string(tree) != string(twin) {
		t.Errorf("tree file (%d bytes) is not the twin disk's %d bytes", len(tree), len(twin))
	}
	victim := dump(testdisk.VictimFile)
	for off := 0; off < len(victim); off += storfn.WalkUnit {
		if h := storfn.ReadWalkHdr(victim[off:]); h.Magic != storfn.WalkMagicVictim {
			t.Fatalf("victim unit at %d: header %+v", off, h)
		}
	}
	if len(victim) != testdisk.VictimMB<<20 {
		t.Errorf("victim file: %d bytes", len(victim))
	}
}
