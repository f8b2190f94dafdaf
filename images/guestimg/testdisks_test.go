package guestimg

import (
	"encoding/binary"
	"os"
	"strings"
	"testing"

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
