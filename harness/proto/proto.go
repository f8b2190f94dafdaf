// Package proto is the wire protocol between the host harness and the guest
// agent: one JSON object per line on the virtio-serial control port.
//
// The guest speaks first (Hello), the host answers with one Job, the guest
// streams one Point per finished measurement and ends with Done. Points are
// sent as soon as they are measured, so a crash later in the job loses
// nothing already measured.
package proto

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/bpfstor/bpfstor/harness/hist"
	"github.com/bpfstor/bpfstor/harness/workload"
)

// PortName is the virtio-serial port name the agent looks for.
const PortName = "org.bpfstor.ctl"

// KTestPath is where the initramfs holds the in-guest kernel tests
// (kernel/selftest/cmd/bpfstor-ktest), which the agent execs for
// KindKTest points.
const KTestPath = "/bin/bpfstor-ktest"

// KTestLine is one line of bpfstor-ktest's JSON output on stdout: a
// progress line or a finished test.
type KTestLine struct {
	Log  string      `json:"log,omitempty"`
	Test *TestResult `json:"test,omitempty"`
}

// Message types.
const (
	TypeHello = "hello"
	TypeJob   = "job"
	TypePoint = "point"
	TypeLog   = "log"
	TypeDone  = "done"
	TypeError = "error"
)

// Message is one line on the control channel.
type Message struct {
	Type  string `json:"type"`
	Hello *Hello `json:"hello,omitempty"`
	Job   *Job   `json:"job,omitempty"`
	Point *Point `json:"point,omitempty"`
	// Text is the log line or error message.
	Text string `json:"text,omitempty"`
}

// Hello is what the guest reports once it is up.
type Hello struct {
	KernelRelease string `json:"kernel_release"`
	KernelVersion string `json:"kernel_version"`
	Cmdline       string `json:"cmdline"`
	Clocksource   string `json:"clocksource"`
	CPUs          int    `json:"cpus"`
	MemTotalKB    int64  `json:"mem_total_kb"`
	// UptimeNs is CLOCK_BOOTTIME when the agent started.
	UptimeNs int64 `json:"uptime_ns"`
	// ClocksourceWaitNs is how long the agent then waited for the pinned
	// clocksource (tsc-early -> tsc) before saying hello.
	ClocksourceWaitNs int64 `json:"clocksource_wait_ns"`
	// Devices lists block devices seen in /sys/block.
	Devices []string `json:"devices"`
}

// Job is the work the host gives the guest.
type Job struct {
	Name   string `json:"name"`
	Device string `json:"device"`
	// Seed is the data image's seed: what every block read is checked
	// against.
	Seed int64 `json:"seed"`
	// RunSeed (the spec's [run] seed) seeds every random draw of the
	// workloads: blocks, keys, chain starts, queries.
	RunSeed int64       `json:"run_seed"`
	Points  []PointSpec `json:"points"`
	// Files are extra paths in the initramfs the workloads may use, by role.
	Files map[string]string `json:"files,omitempty"`
	// FS is the data file system ("" FSRaw: none; FSExt4: ext4 holding
	// the image as DataFile), the spec's data.fs, on the disk with serial
	// FSSerial beside Device. The agent mounts it read-only at DataMount
	// before any point; points with Workload.On = "file" read the file.
	FS string `json:"fs,omitempty"`
}

// Data file systems (Job.FS, spec data.fs): how the data disk holds the
// data image.
const (
	// FSRaw: the data image is the disk itself.
	FSRaw = ""
	// FSExt4: the disk is an ext4 file system whose root holds the data
	// image as the regular file DataFile.
	FSExt4 = "ext4"
)

// FSNames are the data file systems, as the spec spells them.
var FSNames = []string{FSRaw, FSExt4}

// DataFile is the data image's name in the root of a data file system
// (FSExt4): the host puts it there, the agent opens DataMount/DataFile.
const DataFile = "btree.img"

// DataMount is where the agent mounts a data file system (read-only).
const DataMount = "/mnt/data"

// FSSerial is the NVMe serial of the disk holding the data file system,
// which the VM has beside the raw data disk (Job.Device); the agent finds
// it by this serial.
const FSSerial = "bpfstor-fs"

// Workload kinds: aliases of the workload package's, which describes them
// (workload.Kinds).
const (
	KindPread  = workload.KindPread
	KindFio    = workload.KindFio
	KindKTest  = workload.KindKTest
	KindSleep  = workload.KindSleep
	KindCrash  = workload.KindCrash
	KindFailIO = workload.KindFailIO
	KindChain  = workload.KindChain
	KindBTree  = workload.KindBTree
)

// Workload describes one measurement (workload.Workload: the model owns
// its fields, the wire carries it as JSON).
type Workload = workload.Workload

// Param is one identity field of a Workload, as text (workload.Param).
type Param = workload.Param

// PointSpec is one point of a job: a workload and its repetition index.
type PointSpec struct {
	ID  string `json:"id"`
	Rep int    `json:"rep"`
	// Order is the point's place in its repetition (0 first): the spec's
	// run order, shuffled per repetition with the run seed.
	Order    int      `json:"order"`
	Workload Workload `json:"workload"`
}

// Point statuses.
const (
	StatusOK     = "ok"
	StatusFailed = "failed"
)

// TestResult is the outcome of one in-guest test.
type TestResult struct {
	Name      string `json:"name"`
	Pass      bool   `json:"pass"`
	Skip      bool   `json:"skip,omitempty"`
	Message   string `json:"message,omitempty"`
	ElapsedNs int64  `json:"elapsed_ns"`
}

// Point is one measured point.
type Point struct {
	ID  string `json:"id"`
	Rep int    `json:"rep"`
	// Order is PointSpec.Order: where in its repetition the point ran.
	Order    int      `json:"order"`
	Workload Workload `json:"workload"`
	Status   string   `json:"status"`
	Error    string   `json:"error,omitempty"`

	Ops       int64   `json:"ops"`
	Checked   int64   `json:"checked"`
	Wrong     int64   `json:"wrong"`
	ElapsedNs int64   `json:"elapsed_ns"`
	IOPS      float64 `json:"iops"`
	// IOPSWindowNs is the window IOPS is over: from the start to the end
	// of the first thread to finish, while every thread runs (the whole
	// ElapsedNs with one thread).
	IOPSWindowNs int64 `json:"iops_window_ns,omitempty"`

	Latency *hist.Histogram `json:"latency,omitempty"`
	Summary *hist.Summary   `json:"summary,omitempty"`

	ClocksourceBefore string `json:"clocksource_before"`
	ClocksourceAfter  string `json:"clocksource_after"`

	Tests []TestResult `json:"tests,omitempty"`
	// Steal is the CPU time the hypervisor stole while the point ran (the
	// guest's view; the host adds its own when it records the point).
	Steal *Steal `json:"steal,omitempty"`

	// Per-kind sections: each set only by the workloads that measure it.
	// results.FromWire carries them into result.json as they are.

	// Layers is a pread point's layer split (TraceLayers).
	Layers *Layers `json:"layers,omitempty"`
	// Fio says which fio measured a fio point, and how.
	Fio *Fio `json:"fio,omitempty"`
	// BTree is the tree a btree point looked up and what the lookups found.
	BTree *BTree `json:"btree,omitempty"`
	// Hops counts the blocks a chain or btree point read.
	Hops *Hops `json:"hops,omitempty"`
	// URing is a btree point's io_uring batching (mode uring).
	URing *URing `json:"uring,omitempty"`
	// Counters is what the guest counted over the measured window (chain
	// and btree points).
	Counters *Counters `json:"counters,omitempty"`
}

// Fio is a fio point's provenance.
type Fio struct {
	Version string `json:"version"`
	// LatencySource says where the latency summary comes from.
	LatencySource string `json:"latency_source"`
}

// BTree is the tree a btree point ran on and what its queries found.
type BTree struct {
	Depth  int    `json:"depth"`
	Keys   uint64 `json:"keys"`
	Fanout int    `json:"fanout"`
	// Dist is the key distribution drawn from; Threads the threads that
	// ran the queries (both resolved: never empty or 0).
	Dist    string `json:"dist"`
	Threads int    `json:"threads"`
	// Found and NotFound count the point lookups that found their key and
	// those that did not (both 0 for range and sum queries).
	Found    int64 `json:"found,omitempty"`
	NotFound int64 `json:"not_found,omitempty"`
	// ScanChecked is the range scans checked against the Go reader after
	// a kernel-mode lookup point.
	ScanChecked int64 `json:"scan_checked,omitempty"`
	// Op and Span are a range or sum point's query (Workload.Op, .Span).
	Op   string `json:"op,omitempty"`
	Span int    `json:"span,omitempty"`
}

// Hops is the blocks a chain or btree point read.
type Hops struct {
	// Hops is every block read; DriverHops those the NVMe driver
	// resubmitted itself (kernel modes only: 0 otherwise).
	Hops       int64 `json:"hops"`
	DriverHops int64 `json:"driver_hops,omitempty"`
	// Split is where a driver-resubmitted hop's time goes (the SegHop*
	// segments), from a second, traced run of a driver-mode chain point's
	// chains (trace_layers): Reads counts the hops the driver resubmitted
	// there, and the traced and untraced means are per chain.
	Split *Layers `json:"split,omitempty"`
}

// URing is a btree point's io_uring batching.
type URing struct {
	// Batch is the lookups in flight at once (Workload.Batch); Submits
	// the io_uring_enter calls that submitted reads.
	Batch   int   `json:"batch"`
	Submits int64 `json:"submits"`
}

// Counters is what the guest counted over a point's measured window
// (from the start of the measured operations to the end of the last one):
// the commands the data disk's NVMe device served and the guest CPU time
// spent, to say per mode whether a batch waited on the device or on the
// CPU.
type Counters struct {
	// Commands is what the device served: BlockReads, the read requests
	// the block layer completed on the data disk (diskstats), plus
	// DriverResubmits, the hops the NVMe driver resubmitted (the
	// nvme_chain_resubmit tracepoint, any NVMe disk), which the block layer
	// never sees. BlockMerged counts the reads the block layer merged into
	// an adjacent one (diskstats): reads issued = Commands + BlockMerged.
	Commands        int64 `json:"commands"`
	BlockReads      int64 `json:"block_reads"`
	BlockMerged     int64 `json:"block_merged"`
	DriverResubmits int64 `json:"driver_resubmits"`
	// BusyNs is the guest CPU time not idle (/proc/stat: all but idle and
	// iowait) summed over CPUs; CPUs is the guest's CPU count.
	BusyNs int64 `json:"busy_ns"`
	CPUs   int   `json:"cpus"`
	// WindowNs is the window counted (the point's IOPSWindowNs).
	WindowNs int64 `json:"window_ns"`
}

// CommandsPerSec is the device's commands per second over the window.
func (c *Counters) CommandsPerSec() float64 {
	if c == nil || c.WindowNs <= 0 {
		return 0
	}
	return float64(c.Commands) / (float64(c.WindowNs) / 1e9)
}

// BusyShare is the share of the guest's CPU time not idle (0..1).
func (c *Counters) BusyShare() float64 {
	if c == nil || c.WindowNs <= 0 || c.CPUs <= 0 {
		return 0
	}
	return float64(c.BusyNs) / (float64(c.WindowNs) * float64(c.CPUs))
}

// Steal is the share of CPU time stolen (the steal column of /proc/stat:
// time a machine wanted to run while its hypervisor ran something else)
// while a point ran, as the host and as the guest saw it; nil when not
// measured.
type Steal struct {
	// Host is the share of the host's CPU time stolen from it (the host is
	// itself a VM on a shared machine) from the previous point's arrival,
	// or the machine's start, to this point's: its setup, warm-up,
	// measured part and checks.
	Host *float64 `json:"host,omitempty"`
	// Guest is the share of the guest's CPU time its own /proc/stat counts
	// as stolen over the point; always 0 under TCG (no steal clock).
	Guest *float64 `json:"guest,omitempty"`
}

// Segments of one read in Layers, in the order a read passes them: each
// ends where the next begins (the probe points in bpf/progs/layers.c).
const (
	SegCrossIn   = "crossing_in"    // user space before pread → __x64_sys_pread64 entry
	SegSyscall   = "syscall"        // __x64_sys_pread64 → blkdev_read_iter
	SegFile      = "file"           // blkdev_read_iter → submit_bio (block-device direct I/O)
	SegBlock     = "block"          // submit_bio → nvme_queue_rqs (bio → blk-mq request → plug flush)
	SegDriver    = "driver"         // nvme_queue_rqs entry → return (command copied, doorbell rung)
	SegDeviceIRQ = "device_irq"     // nvme_queue_rqs return → nvme_irq entry
	SegIRQ       = "completion_irq" // nvme_irq → submit_bio_wait_endio (CQE to bio completion)
	SegWake      = "wakeup_return"  // submit_bio_wait_endio → __x64_sys_pread64 return
	SegCrossOut  = "crossing_out"   // __x64_sys_pread64 return → user space after pread
)

// Segments of one driver-resubmitted hop in Hops.Split, in the order a
// hop passes them (the probe points in bpf/progs/hop_layers.c).
const (
	SegHopWait   = "hop_wait"   // nvme_chain_resubmit of the hop before → nvme_irq/nvme_poll entry (device + interrupt delivery)
	SegHopCQE    = "hop_cqe"    // nvme_irq/nvme_poll entry → storage_chain_step (CQE, request, checks, DMA sync)
	SegHopProg   = "hop_prog"   // storage_chain_step entry → return (the program, the next read's checks)
	SegHopSubmit = "hop_submit" // storage_chain_step return → nvme_chain_resubmit (SQE rewrite and copy, doorbell)
)

// Layers is where the time of one read goes, measured in the guest with
// BPF kprobes on a second run of a pread point's reads (TraceLayers).
type Layers struct {
	// Segments are the Seg* segments in order; each averages over the
	// traced reads whose every point was seen, in order.
	Segments []LayerSegment `json:"segments"`
	// Reads is the traced reads measured; Discarded those left out of
	// the segments (a point missing, repeated or out of order).
	Reads     int64 `json:"reads"`
	Discarded int64 `json:"discarded"`
	// Overlapped counts kept reads whose interrupt came before the driver's
	// submit returned: their device time is in the driver segment.
	Overlapped int64 `json:"overlapped,omitempty"`
	// Missing and Disorder count discarded reads by probe point.
	Missing  map[string]int64 `json:"missing,omitempty"`
	Disorder map[string]int64 `json:"disorder,omitempty"`
	// TracedMeanNs is the mean latency of every traced read, timed in user
	// space like the point's own (untraced) reads, whose mean is
	// UntracedMeanNs; OverheadNs = TracedMeanNs − UntracedMeanNs is what
	// the probes cost.
	TracedMeanNs   float64 `json:"traced_mean_ns"`
	UntracedMeanNs float64 `json:"untraced_mean_ns"`
	OverheadNs     float64 `json:"overhead_ns"`
}

// LayerSegment is one segment of Layers.
type LayerSegment struct {
	Name   string  `json:"name"`
	MeanNs float64 `json:"mean_ns"`
	Count  int64   `json:"count"`
	// Log2[i] counts the reads whose segment took [2^i, 2^(i+1)) ns
	// (0 ns in Log2[0]); trailing empty buckets are left out.
	Log2 []int64 `json:"log2,omitempty"`
}

// Conn reads and writes messages on a stream. Send is safe for concurrent
// use; Recv is not.
type Conn struct {
	mu  sync.Mutex
	w   io.Writer
	dec *bufio.Scanner
}

// maxLine bounds one message (a histogram of a long run is a few hundred KiB).
const maxLine = 64 << 20

// NewConn wraps rw.
func NewConn(r io.Reader, w io.Writer) *Conn {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	return &Conn{w: w, dec: sc}
}

// Send writes one message.
func (c *Conn) Send(m *Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("proto: encode %s: %w", m.Type, err)
	}
	b = append(b, '\n')
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.w.Write(b); err != nil {
		return fmt.Errorf("proto: send %s: %w", m.Type, err)
	}
	return nil
}

// Recv reads the next message. Blank lines and lines that are not JSON
// objects (noise before the peer connects) are skipped.
func (c *Conn) Recv() (*Message, error) {
	for c.dec.Scan() {
		line := c.dec.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var m Message
		if err := json.Unmarshal(line, &m); err != nil {
			return nil, fmt.Errorf("proto: decode %.80q: %w", line, err)
		}
		if m.Type == "" {
			return nil, fmt.Errorf("proto: message without type: %.80q", line)
		}
		return &m, nil
	}
	if err := c.dec.Err(); err != nil {
		return nil, fmt.Errorf("proto: recv: %w", err)
	}
	return nil, io.EOF
}
