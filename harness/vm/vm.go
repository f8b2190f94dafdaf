// Package vm starts and stops the virtual machines bpfstor measures in.
//
// Instance is the one interface for "a machine"; QEMU is its one
// implementation. Every wait has a timeout, the console is scanned for
// kernel crashes as it is produced, and an instance always ends: from the
// guest, by QMP quit, or killed.
package vm

import (
	"io"
	"time"
)

// Disk is a raw image attached as an emulated NVMe namespace.
type Disk struct {
	Path string
	// Cache is QEMU's cache mode: writeback (default), none, writethrough...
	Cache string
	// Writable attaches the image read-write. By default it is read-only:
	// data images are cached inputs that no run may change, and QEMU then
	// takes only a shared lock, so concurrent runs can use one image.
	Writable bool
	// Snapshot lets the guest write while the image stays as it is: the
	// writes go to a temporary overlay that QEMU drops when it exits.
	Snapshot bool
	// Serial is the controller's serial number, by which the guest finds
	// the disk (default bpfstor<index>).
	Serial string
	// BlockSize is the namespace's logical block size (default 512).
	BlockSize int
	// IOPS throttles the disk to this many I/Os per second (0: none).
	IOPS int
	// BlkDebug is a QEMU blkdebug configuration file through which the
	// image is read, to inject I/O errors at chosen sectors.
	BlkDebug string
	// Paths attaches the namespace to this many controllers of one NVMe
	// subsystem (a shared namespace: multipath in the guest); 0 or 1 is
	// one controller and no subsystem.
	Paths int
}

// Config describes one machine.
type Config struct {
	QEMU      string // binary; default qemu-system-x86_64
	Kernel    string
	Initramfs string
	// Append is added to the kernel command line.
	Append   []string
	CPUs     int
	MemoryMB int
	// Accel is "kvm" or "tcg".
	Accel string
	Disks []Disk
	// Dir receives console.log.
	Dir string
	// Timeout bounds the machine's whole life; it is stopped after it.
	Timeout time.Duration
	// BIOS is the firmware: "" for qboot when QEMU ships it (it boots
	// about 0.4 s faster than SeaBIOS under TCG), "seabios" for QEMU's
	// default, or a path.
	BIOS string
	// Extra is appended to QEMU's command line as is (e.g. -trace options).
	Extra []string
}

// Instance is a running machine.
type Instance interface {
	// Control is the byte stream to the guest agent.
	Control() io.ReadWriter
	// ConsolePath is the file holding the serial console output.
	ConsolePath() string
	// Crashed yields the first kernel crash seen on the console.
	Crashed() <-chan *Crash
	// Exited is closed when the machine has ended; ExitErr then tells how.
	Exited() <-chan struct{}
	ExitErr() error
	// Stop ends the machine (QMP quit, then kill) and waits for it. It is
	// safe to call more than once and from several goroutines.
	Stop() error
	// ConsoleErr is the first error writing the console file (a full
	// disk), known once the machine has ended.
	ConsoleErr() error
	// Cmdline is the command line the machine was started with.
	Cmdline() []string
	// Stderr is what the hypervisor printed on its stderr so far.
	Stderr() string
	// Shutdown is the reason QEMU gave in its QMP SHUTDOWN event
	// ("guest-reset", "host-signal"...), "" if it gave none.
	Shutdown() string
	// QMP runs one QMP command (JSON) and returns the raw reply.
	QMP(command string, timeout time.Duration) ([]byte, error)
}

// BaseCmdline is the kernel command line every machine gets: serial
// console, a pinned TSC clocksource (TCG otherwise drops it for jiffies),
// reboot on panic (QEMU runs with -no-reboot, so a panic ends the VM), and
// 4-level paging (TCG's -cpu max offers LA57; with it a KASAN kernel was
// seen to report a wild access in early boot, before any bpfstor code ran),
// printk timestamps, which the crash scanner anchors on (crash.go), and
// console loglevel 5, so that warning-level reports (every WARNING, lockdep,
// hung tasks) reach the console and the scanner, not only errors.
var BaseCmdline = []string{"console=ttyS0", "clocksource=tsc", "tsc=reliable", "panic=-1", "rdinit=/init", "quiet", "loglevel=5", "no5lvl", "printk.time=1"}
