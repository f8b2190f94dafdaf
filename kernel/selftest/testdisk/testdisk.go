// Package testdisk names the extra NVMe disks that the in-guest tests of
// the kernel feature (kernel/selftest) run on, besides the data disk: the
// harness attaches them to every ktest machine (harness/runner) and the
// tests find each by its controller's serial number. It is the one place
// both sides read.
package testdisk

// Disk is one extra NVMe disk of a ktest machine.
type Disk struct {
	// Role names the disk's purpose; the serial is Serial(Role).
	Role   string
	SizeMB int
	// BlockSize is the logical block size (0: 512).
	BlockSize int
	// IOPS throttles the disk (0: not throttled).
	IOPS int
	// FailReads makes every read that touches sector FailSector fail in
	// the device (QEMU blkdebug), retries included.
	FailReads bool
	// Partitioned disks carry an MBR with one partition at PartStart.
	Partitioned bool
	// Seed is the pattern data's seed (0: one of the disk's own).
	Seed uint64
	// Ext4 disks hold an ext4 file system with the Ext4Files instead of
	// pattern data; the guest may write to them (its writes are dropped
	// when the machine stops).
	Ext4 bool
}

// Roles.
const (
	Part    = "part" // MBR partition table: chains on a partition
	EIO     = "eio"  // reads of FailSector fail: I/O errors on any hop
	Slow    = "slow" // throttled: long chains, signals, timeouts
	LBA4K   = "4k"   // 4 KiB logical blocks
	Hotplug = "rm"   // removed from the PCI bus and rescanned under chains
	Ext4    = "ext4" // an ext4 file system: chains on files
	Twin    = "twin" // raw pattern data, the same bytes as Ext4's TreeFile
)

// Disks are the extra disks, in the order they are attached (after the
// data disk).
var Disks = []Disk{
	{Role: Part, SizeMB: 8, Partitioned: true},
	{Role: EIO, SizeMB: 4, FailReads: true},
	{Role: Slow, SizeMB: 4, IOPS: SlowIOPS},
	{Role: LBA4K, SizeMB: 4, BlockSize: 4096},
	{Role: Hotplug, SizeMB: 4},
	{Role: Ext4, SizeMB: 64, Ext4: true},
	{Role: Twin, SizeMB: TreeMB, Seed: TreeSeed},
}

// The files of the Ext4 disk, in its root directory.
const (
	// TreeFile holds TreeMB MiB of pattern data of seed TreeSeed, as the
	// Twin disk does.
	TreeFile = "tree"
	// VictimFile's every 512-byte unit carries a victim header
	// (kernel/selftest's walk layout): no chain on another file may
	// ever read one.
	VictimFile = "victim"
	// InlineFile is small enough to be stored in its inode (the file
	// system has the inline_data feature).
	InlineFile = "inline"
	TreeMB     = 4
	TreeSeed   = 4242
	VictimMB   = 4
)

const (
	// FailSector is the 512 B sector whose reads fail on the EIO disk.
	FailSector = 4096
	// PartStart and PartSectors place the partition of the Part disk.
	PartStart   = 2048
	PartSectors = 12288
	// SlowIOPS is the Slow disk's rate: about 100 ms a read.
	SlowIOPS = 10
	// IOTimeout is nvme_core.io_timeout (seconds) on ktest machines: a
	// chain on the Slow disk lasts longer than this, each hop far less.
	IOTimeout = 2
)

// DataSerial is the data disk's serial (harness/vm's default for disk 0).
// The tests find the data disk by it: with multipath the head's name
// (nvmeXn1) follows whichever path's controller was identified first.
const DataSerial = "bpfstor0"

// Serial is the NVMe serial number of the disk with this role.
func Serial(role string) string { return "bpfstor-" + role }
