package results

import (
	"github.com/bpfstor/bpfstor/harness/hist"
	"github.com/bpfstor/bpfstor/harness/proto"
)

// Point is one measured point as result.json records it: what the guest
// sent (proto.Point, converted by FromWire) and what the host adds (the
// input hash, resume and remeasurement, its view of steal). Per-kind data
// is in typed sections, each nil unless the point's workload measures it.
//
// Changing a field's name, type or JSON tag changes the schema: bump
// Schema, and have Read convert the older one (TestSchemaGolden fails
// until its golden file is regenerated).
type Point struct {
	ID  string `json:"id"`
	Rep int    `json:"rep"`
	// Order is the point's place in its repetition (0 first).
	Order    int            `json:"order"`
	Workload proto.Workload `json:"workload"`
	Status   string         `json:"status"`
	Error    string         `json:"error,omitempty"`

	Ops       int64   `json:"ops"`
	Checked   int64   `json:"checked"`
	Wrong     int64   `json:"wrong"`
	ElapsedNs int64   `json:"elapsed_ns"`
	IOPS      float64 `json:"iops"`
	// IOPSWindowNs is the window IOPS is over (proto.Point.IOPSWindowNs).
	IOPSWindowNs int64 `json:"iops_window_ns,omitempty"`

	Latency *hist.Histogram `json:"latency,omitempty"`
	Summary *hist.Summary   `json:"summary,omitempty"`

	ClocksourceBefore string `json:"clocksource_before"`
	ClocksourceAfter  string `json:"clocksource_after"`

	Tests []proto.TestResult `json:"tests,omitempty"`
	// InputHash is a hash of everything the point was measured with
	// (kernel, image, data, VM shape, workload, rep, seed).
	InputHash string `json:"input_hash,omitempty"`
	// ReusedFrom names the run directory a resumed run took the point from.
	ReusedFrom string `json:"reused_from,omitempty"`
	// Steal is the CPU time the hypervisor stole while the point ran, as
	// the host and the guest saw it.
	Steal *proto.Steal `json:"steal,omitempty"`
	// DeviceService is the device's service time of the commands the QEMU
	// trace saw completed while the point ran (from the previous point's
	// arrival at the host to its own: its setup and warm-up included),
	// with trace_nvme; nil without a trace.
	DeviceService *hist.Summary `json:"device_service,omitempty"`
	// Remeasured counts the times the point was measured again because
	// too much was stolen (bpfstor run --remeasure-steal); the point is the
	// last measurement.
	Remeasured int `json:"remeasured,omitempty"`

	// Layers is a pread point's layer split (trace_layers).
	Layers *proto.Layers `json:"layers,omitempty"`
	// Fio says which fio measured a fio point, and how.
	Fio *proto.Fio `json:"fio,omitempty"`
	// BTree is the tree a btree point ran on and what its lookups found.
	BTree *proto.BTree `json:"btree,omitempty"`
	// Hops counts the blocks a chain or btree point read.
	Hops *proto.Hops `json:"hops,omitempty"`
	// URing is a btree point's io_uring batching (mode uring).
	URing *proto.URing `json:"uring,omitempty"`
	// Counters is the device commands and guest CPU time of a chain or
	// btree point's measured window.
	Counters *proto.Counters `json:"counters,omitempty"`
}

// FromWire is the point the host records for a point the guest sent: the
// one conversion from the wire to result.json. The host's own fields
// (InputHash, ReusedFrom, Remeasured, Steal.Host) are left for the caller.
func FromWire(p *proto.Point) *Point {
	var steal *proto.Steal
	if p.Steal != nil {
		s := *p.Steal // the host adds its view: not into the wire's
		steal = &s
	}
	return &Point{
		ID: p.ID, Rep: p.Rep, Order: p.Order, Workload: p.Workload, Status: p.Status, Error: p.Error,
		Ops: p.Ops, Checked: p.Checked, Wrong: p.Wrong, ElapsedNs: p.ElapsedNs, IOPS: p.IOPS, IOPSWindowNs: p.IOPSWindowNs,
		Latency: p.Latency, Summary: p.Summary,
		ClocksourceBefore: p.ClocksourceBefore, ClocksourceAfter: p.ClocksourceAfter,
		Tests: p.Tests, Steal: steal,
		Layers: p.Layers, Fio: p.Fio, BTree: p.BTree, Hops: p.Hops, URing: p.URing, Counters: p.Counters,
	}
}
