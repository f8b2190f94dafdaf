package guestimg

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bpfstor/bpfstor/bpf/storfn"
	"github.com/bpfstor/bpfstor/images/ext4img"
	"github.com/bpfstor/bpfstor/images/pattern"
	"github.com/bpfstor/bpfstor/internal/fsutil"
	"github.com/bpfstor/bpfstor/kernel/selftest/testdisk"
)

// TestDisk is a built extra disk of a ktest machine.
type TestDisk struct {
	testdisk.Disk
	Path string
	// BlkDebug is the QEMU blkdebug configuration for FailReads disks.
	BlkDebug string
}

// testDiskVersion changes when the images' layout does.
const testDiskVersion = 2

// BuildTestDisks builds (or finds in cacheDir) the images of
// testdisk.Disks: pattern data, an MBR on the partitioned one, and the
// blkdebug rule of the failing one.
func BuildTestDisks(cacheDir string) ([]TestDisk, error) {
	dir := filepath.Join(cacheDir, "data", fmt.Sprintf("ktest-v%d", testDiskVersion))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("image build: %w", err)
	}
	var out []TestDisk
	for i, d := range testdisk.Disks {
		td := TestDisk{Disk: d, Path: filepath.Join(dir, d.Role+".img")}
		seed := d.Seed
		if seed == 0 {
			seed = uint64(1000 + i)
		}
		if err := buildTestDisk(td.Path, d, seed); err != nil {
			return nil, fmt.Errorf("image build: test disk %s: %w", d.Role, err)
		}
		if d.FailReads {
			td.BlkDebug = filepath.Join(dir, d.Role+".blkdebug")
			if err := fsutil.WriteFile(td.BlkDebug, []byte(BlkDebugRule(testdisk.FailSector))); err != nil {
				return nil, fmt.Errorf("image build: test disk %s: %w", d.Role, err)
			}
		}
		out = append(out, td)
	}
	return out, nil
}

// BlkDebugRule is a blkdebug configuration that fails, with EIO, every
// read touching the 512 B sector (raw format nodes raise read_aio).
func BlkDebugRule(sector int64) string {
	return fmt.Sprintf("[inject-error]\nevent = \"read_aio\"\nerrno = \"5\"\nsector = \"%d\"\nonce = \"off\"\n", sector)
}

func buildTestDisk(path string, d testdisk.Disk, seed uint64) error {
	if fsutil.CheckSeal(path) == nil {
		return nil
	}
	if d.Ext4 {
		return buildExt4Disk(path, d)
	}
	// Missing, damaged or unsealed: written again (a few MiB, in memory, so
	// that the seal covers the MBR too).
	var b bytes.Buffer
	if err := pattern.Write(&b, uint64(int64(d.SizeMB)<<20/pattern.BlockSize), seed); err != nil {
		return err
	}
	img := b.Bytes()
	if d.Partitioned {
		copy(img, MBR(testdisk.PartStart, testdisk.PartSectors))
	}
	return fsutil.WriteSealed(path, img)
}

// MBR is a 512 B master boot record with one Linux partition of sectors
// sectors starting at sector start.
func MBR(start, sectors uint32) []byte {
	b := make([]byte, 512)
	e := b[446:]
	e[0] = 0x00                            // not bootable
	copy(e[1:4], []byte{0xff, 0xff, 0xff}) // CHS unused
	e[4] = 0x83                            // Linux
	copy(e[5:8], []byte{0xff, 0xff, 0xff})
	binary.LittleEndian.PutUint32(e[8:], start)
	binary.LittleEndian.PutUint32(e[12:], sectors)
	b[510], b[511] = 0x55, 0xaa
	return b
}

// buildExt4Disk writes the ext4 test disk: testdisk's files in the root
// directory of a file system with inline data (for InlineFile).
func buildExt4Disk(path string, d testdisk.Disk) error {
	src, err := os.MkdirTemp(filepath.Dir(path), "ext4-src-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	var tree bytes.Buffer
	if err := pattern.Write(&tree, uint64(testdisk.TreeMB<<20/pattern.BlockSize), testdisk.TreeSeed); err != nil {
		return err
	}
	victim := make([]byte, testdisk.VictimMB<<20)
	storfn.FillWalk(victim, storfn.WalkMagicVictim, 0, 0, 0, 0)
	for name, b := range map[string][]byte{
		testdisk.TreeFile:   tree.Bytes(),
		testdisk.VictimFile: victim,
		testdisk.InlineFile: []byte("small enough to live in the inode\n"),
	} {
		if err := os.WriteFile(filepath.Join(src, name), b, 0o644); err != nil {
			return err
		}
	}
	o := ext4img.Defaults
	o.SizeMB = d.SizeMB
	o.Features = []string{"inline_data"}
	tmp := path + ".tmp"
	defer os.Remove(tmp)
	if err := ext4img.Build(context.Background(), tmp, src, o); err != nil {
		return err
	}
	img, err := os.ReadFile(tmp)
	if err != nil {
		return err
	}
	return fsutil.WriteSealed(path, img)
}
