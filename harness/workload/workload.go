// Package workload is the one description of bpfstor's workloads: the
// kinds a spec may name, the dispatch modes of the chained kinds, the
// Workload fields each kind uses and their allowed values, the axes a sweep
// varies, what a kind or mode needs (BPF objects, host tools, poll queues,
// a data image) and how a report draws and anchors it.
//
// Spec validation, the guest agent's dispatch, the runner's BPF checks and
// the report all read these tables, so adding a mode is one entry in Kinds
// plus its runner in the agent. The package imports nothing of bpfstor's:
// the guest agent uses it too.
package workload

import "fmt"

// Workload describes one measurement. Fields a kind does not use stay zero.
type Workload struct {
	Kind      string `json:"kind"`
	BlockSize int    `json:"block_size,omitempty"`
	Ops       int    `json:"ops,omitempty"`
	Warmup    int    `json:"warmup,omitempty"`
	Threads   int    `json:"threads,omitempty"`
	Depth     int    `json:"depth,omitempty"`
	Mode      string `json:"mode,omitempty"`
	Batch     int    `json:"batch,omitempty"`
	// Dist is the key distribution: "uniform" (default) or "zipf".
	Dist string `json:"dist,omitempty"`
	// Op is what a btree workload asks: "lookup" (default, a point
	// lookup), "range" (collect the values of Span consecutive keys) or
	// "sum" (sum over Span consecutive keys, only the sum returned).
	Op string `json:"op,omitempty"`
	// Span is the number of keys a range or sum query covers.
	Span int `json:"span,omitempty"`
	// On is where the point reads the data: "" the data disk itself
	// (OnDevice), or OnFile, the data image as a file on the run's data
	// file system (proto.Job.FS).
	On string `json:"on,omitempty"`
	// TraceLayers makes a pread point run its reads a second time with
	// BPF kprobes on the read path (bpf/progs/layers.c) and put the
	// per-layer split in the point's Layers (one thread only).
	TraceLayers bool `json:"trace_layers,omitempty"`
	// Tests selects a ktest point's in-guest tests by full name (a
	// regular expression, go test's -run; "" runs all).
	Tests string `json:"tests,omitempty"`
}

// Param is one field of a Workload that tells workloads apart, as text.
type Param struct {
	Name  string // in a workload key: name=value
	Short string // in a point ID: Short+value
	Value string
	// Swept says whether a spec's list can vary it inside one [[workload]]
	// (the point ID names those; the workload's index names the rest).
	Swept bool
}

// Params are the workload's set identity fields, in one order: what
// analysis.WorkloadKey groups by and a point ID names (Ops and Warmup are
// not identity: the same workload measured longer is the same workload).
func (w Workload) Params() []Param {
	var ps []Param
	add := func(set bool, name, short, value string, swept bool) {
		if set {
			ps = append(ps, Param{Name: name, Short: short, Value: value, Swept: swept})
		}
	}
	itoa := func(v int) string { return fmt.Sprint(v) }
	add(w.BlockSize > 0, "bs", "bs", itoa(w.BlockSize), false)
	add(w.Threads > 1, "threads", "t", itoa(w.Threads), true)
	add(w.Depth > 0, "depth", "d", itoa(w.Depth), true)
	add(w.Mode != "", "mode", "", w.Mode, true)
	add(w.Batch > 0, "batch", "b", itoa(w.Batch), true)
	add(w.Dist != "", "dist", "", w.Dist, true)
	add(w.Op != "", "op", "", w.Op, true)
	add(w.Span > 0, "span", "s", itoa(w.Span), true)
	add(w.On != "", "on", "", w.On, true)
	add(w.TraceLayers, "trace_layers", "", "", false)
	add(w.Tests != "", "tests", "", w.Tests, false)
	return ps
}
