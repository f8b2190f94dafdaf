package workload

import (
	"fmt"
	"slices"
	"strings"
)

// Kind names.
const (
	KindPread  = "pread"  // random O_DIRECT preads of the raw NVMe device
	KindFio    = "fio"    // Debian's fio, psync randread, as a fidelity check
	KindKTest  = "ktest"  // in-guest tests of the kernel feature
	KindSleep  = "sleep"  // does nothing for Ops milliseconds (harness tests)
	KindCrash  = "crash"  // provokes a kernel crash (harness tests)
	KindFailIO = "failio" // opens a device that does not exist (harness tests)
	KindChain  = "chain"  // synthetic dependent-read chains
	KindBTree  = "btree"  // B+-tree lookups and range queries on a btree data image
)

// Mode names: where each dependent read of a chain is issued.
const (
	ModePread   = "pread"   // from user space, one pread per hop
	ModeSyscall = "syscall" // chain_read, hops looped in the syscall
	ModeDriver  = "driver"  // chain_read, hops 2..d resubmitted by the NVMe driver
	// ModeDriverPoll is ModeDriver with the syscall polling a poll queue
	// for the completions: no interrupt per hop.
	ModeDriverPoll = "driver-poll"
	// ModeURing chains from user space over io_uring: Batch lookups in
	// flight, each level's read submitted when the previous one completes.
	ModeURing = "uring"
	// ModeURingKernel chains in the kernel through io_uring
	// (IORING_OP_CHAIN_READ at the io_uring level): Batch lookups in
	// flight, each one request whose hops the program chains in io_uring's
	// read completion.
	ModeURingKernel = "uring-kernel"
	// ModeURingDriver is ModeURingKernel with the hops resubmitted by the
	// NVMe driver (IORING_OP_CHAIN_READ with CHAIN_READ_DRIVER).
	ModeURingDriver = "uring-driver"
)

// BaselineMode is the mode every other mode of a kind is compared with
// (speedups, ratios, paper anchors): the user-space chain of preads.
const BaselineMode = ModePread

// Spec keys of the Workload fields a kind may use (Kind.Fields).
const (
	FieldBlockSize   = "block_size"
	FieldThreads     = "threads"
	FieldDepth       = "depth"
	FieldMode        = "mode"
	FieldBatch       = "batch"
	FieldDist        = "dist"
	FieldOp          = "op"
	FieldSpan        = "span"
	FieldOn          = "on"
	FieldTraceLayers = "trace_layers"
	FieldTests       = "tests"
)

// Data image kinds a workload kind can need (Kind.Data).
const (
	DataPattern = "pattern"
	DataBTree   = "btree"
)

// Btree query ops (FieldOp).
const (
	OpLookup = "lookup"
	OpRange  = "range"
	OpSum    = "sum"
)

// MaxRangeSpan is the most values a range query collects: what the scratch
// of bpf/progs/btree_scan.c holds (BTREE_SCAN_MAX).
const MaxRangeSpan = 63

// MaxSumSpan bounds a sum query: its chain reads one value-log block per 8
// keys, and must stay under the default hop limit (32) on a tree of depth
// up to 16.
const MaxSumSpan = 120

// Mode is one dispatch mode of a chained kind.
type Mode struct {
	Name string
	Doc  string
	// Label names the mode's line in figures and tables.
	Label string
	// Style is the mode's colour in every figure (plot.Series.Style).
	Style int
	// Baseline: the mode the others are compared with (BaselineMode).
	Baseline bool
	// NeedsBPF: the mode runs its chains with chain_read and a BPF
	// program in the kernel (bpf/objs embeds the objects).
	NeedsBPF bool
	// NeedsPollQueues: the guest's NVMe driver must have poll queues
	// (nvme.poll_queues=N on the kernel command line).
	NeedsPollQueues bool
	// NeedsBatch: the mode keeps Batch lookups in flight, and needs it set.
	NeedsBatch bool
	// Ops are the btree query ops the mode serves; nil for all.
	Ops []string
	// Anchors are the experiments (paper.Anchors' Experiment) whose paper
	// numbers are about this mode; report sets only those beside it.
	Anchors []string
	// Peer, when set, is the mode this one's paper numbers are ratios
	// against, at the same batch (ModeURing for the kernel io_uring modes:
	// HotOS'21 Fig. 3 sets kernel chaining beside user-space chaining over
	// io_uring); empty for BaselineMode.
	Peer string
}

// Kind is one workload kind.
type Kind struct {
	Name string
	Doc  string
	// Title names the kind in figure and section titles ("" for Name).
	Title string
	// Fields are the spec keys of the Workload fields the kind reads (beyond
	// kind, ops, warmup and threads, which every kind has).
	Fields []string
	// Required are the keys a workload of the kind must set.
	Required []string
	// DefaultBlockSize fills an unset block_size (0: none).
	DefaultBlockSize int
	// MaxBlockSize, when set, caps block_size below the general 1 MiB.
	MaxBlockSize int
	// NeedsOps: ops must be at least 1.
	NeedsOps bool
	// Data is the data image kind the workload reads ("" for any).
	Data string
	// Chained: the kind's reads depend on each other; its modes are
	// compared with BaselineMode and its sweeps reproduce paper experiments.
	Chained bool
	// HostTools are the host tools the initramfs must carry for the kind.
	HostTools []string
	// NeedsTestDisks: the VM gets the extra disks of
	// kernel/selftest/testdisk (the kernel feature's in-guest tests).
	NeedsTestDisks bool
	// Modes are the kind's dispatch modes, in the order figures list them.
	Modes []Mode
}

// The modes, shared by the kinds that have them.
var (
	modePread = Mode{Name: ModePread, Label: ModePread, Style: 0, Baseline: true,
		Doc: "from user space, one pread per hop"}
	modeSyscall = Mode{Name: ModeSyscall, Label: ModeSyscall, Style: 1, NeedsBPF: true, Anchors: []string{"depth"},
		Doc: "chain_read, hops looped in the syscall"}
	modeDriver = Mode{Name: ModeDriver, Label: ModeDriver, Style: 2, NeedsBPF: true, Anchors: []string{"depth", "threads", "kv"},
		Doc: "chain_read, hops 2..d resubmitted by the NVMe driver"}
	modeURing = Mode{Name: ModeURing, Label: ModeURing, Style: 3, NeedsBatch: true, Ops: []string{OpLookup},
		Doc: "from user space over io_uring, batch lookups in flight"}
	modeDriverPoll = Mode{Name: ModeDriverPoll, Label: ModeDriverPoll, Style: 4, NeedsBPF: true, NeedsPollQueues: true,
		Doc: "driver, the syscall polling a poll queue for the completions (no interrupt per hop)"}
	modeURingKernel = Mode{Name: ModeURingKernel, Label: ModeURingKernel, Style: 5, NeedsBPF: true, NeedsBatch: true, Ops: []string{OpLookup}, Peer: ModeURing,
		Doc: "IORING_OP_CHAIN_READ, io_uring level: batch lookups in flight, hops chained in io_uring's read completion"}
	modeURingDriver = Mode{Name: ModeURingDriver, Label: ModeURingDriver, Style: 6, NeedsBPF: true, NeedsBatch: true, Ops: []string{OpLookup}, Peer: ModeURing, Anchors: []string{"uring"},
		Doc: "IORING_OP_CHAIN_READ, driver level: batch lookups in flight, hops 2..d resubmitted by the NVMe driver"}
)

// Kinds are every workload kind, in the order error messages list them.
var Kinds = []Kind{
	{Name: KindPread, Doc: "random O_DIRECT preads of the raw NVMe device",
		Fields: []string{FieldBlockSize, FieldDist, FieldTraceLayers}, DefaultBlockSize: 512, NeedsOps: true, Data: DataPattern},
	{Name: KindFio, Doc: "Debian's fio, psync randread, as a fidelity check",
		Fields: []string{FieldBlockSize, FieldDist}, DefaultBlockSize: 512, NeedsOps: true, HostTools: []string{"fio"}},
	{Name: KindChain, Doc: "synthetic dependent-read chains on the pattern image", Title: "dependent-read chain",
		Fields: []string{FieldBlockSize, FieldDepth, FieldMode, FieldDist, FieldTraceLayers}, Required: []string{FieldDepth, FieldMode},
		DefaultBlockSize: 512, MaxBlockSize: 4096, NeedsOps: true, Data: DataPattern, Chained: true,
		Modes: []Mode{modePread, modeSyscall, modeDriver, modeDriverPoll}},
	{Name: KindBTree, Doc: "B+-tree lookups and range queries on a btree data image", Title: "B+-tree lookup",
		Fields: []string{FieldMode, FieldBatch, FieldDist, FieldOp, FieldSpan, FieldOn}, Required: []string{FieldMode},
		NeedsOps: true, Data: DataBTree, Chained: true,
		Modes: []Mode{modePread, modeSyscall, modeDriver, modeDriverPoll, modeURing, modeURingKernel, modeURingDriver}},
	{Name: KindKTest, Doc: "in-guest tests of the kernel feature", HostTools: []string{"fio"}, // they run fio beside chains
		Fields: []string{FieldTests}, NeedsTestDisks: true},
	{Name: KindSleep, Doc: "does nothing for ops milliseconds (harness tests)"},
	{Name: KindCrash, Doc: "provokes a kernel crash (harness tests)"},
	{Name: KindFailIO, Doc: "opens a device that does not exist (harness tests)"},
}

// Lookup returns the kind named name.
func Lookup(name string) (*Kind, bool) {
	for i := range Kinds {
		if Kinds[i].Name == name {
			return &Kinds[i], true
		}
	}
	return nil, false
}

// TitleOf is the kind's title (Kind.Title), or the name itself.
func TitleOf(name string) string {
	if k, ok := Lookup(name); ok && k.Title != "" {
		return k.Title
	}
	return name
}

// KindNames are the kinds' names, in table order.
func KindNames() []string {
	var out []string
	for _, k := range Kinds {
		out = append(out, k.Name)
	}
	return out
}

// UnknownKind is the error for a kind not in Kinds; it lists them all.
func UnknownKind(name string) error {
	return fmt.Errorf("%q is not a workload kind (%s)", name, strings.Join(KindNames(), ", "))
}

// Mode returns the kind's mode named name.
func (k *Kind) Mode(name string) (*Mode, bool) {
	for i := range k.Modes {
		if k.Modes[i].Name == name {
			return &k.Modes[i], true
		}
	}
	return nil, false
}

// ModeNames are the kind's modes' names, in table order.
func (k *Kind) ModeNames() []string {
	var out []string
	for _, m := range k.Modes {
		out = append(out, m.Name)
	}
	return out
}

// UnknownMode is the error for a mode the kind does not have; it lists
// the kind's modes.
func (k *Kind) UnknownMode(name string) error {
	return fmt.Errorf("%q is not %s (the %s modes)", name, Or(k.ModeNames()), k.Name)
}

// Uses reports whether the kind reads the field with this spec key.
func (k *Kind) Uses(field string) bool { return slices.Contains(k.Fields, field) }

// Requires reports whether a workload of the kind must set the field.
func (k *Kind) Requires(field string) bool { return slices.Contains(k.Required, field) }

// ModesWhere are the names of the kind's modes for which f holds.
func (k *Kind) ModesWhere(f func(Mode) bool) []string {
	var out []string
	for _, m := range k.Modes {
		if f(m) {
			out = append(out, m.Name)
		}
	}
	return out
}

// ModeOf returns the mode named name, of whichever kind has it (a mode
// means the same in every kind that has it).
func ModeOf(name string) (*Mode, bool) {
	for i := range Kinds {
		if m, ok := Kinds[i].Mode(name); ok {
			return m, true
		}
	}
	return nil, false
}

// Modes are every mode of every kind, once, by Style.
func Modes() []Mode {
	var out []Mode
	seen := map[string]bool{}
	for _, k := range Kinds {
		for _, m := range k.Modes {
			if !seen[m.Name] {
				seen[m.Name] = true
				out = append(out, m)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Mode) int { return a.Style - b.Style })
	return out
}

// KindsWhere are the names of the kinds for which f holds.
func KindsWhere(f func(Kind) bool) []string {
	var out []string
	for _, k := range Kinds {
		if f(k) {
			out = append(out, k.Name)
		}
	}
	return out
}

// Chained reports whether kind is a chained kind (Kind.Chained).
func Chained(kind string) bool {
	k, ok := Lookup(kind)
	return ok && k.Chained
}

// Or joins names as "a, b or c".
func Or(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// IntRange is the allowed values of an integer field.
type IntRange struct{ Min, Max int }

// Check returns an error naming the range when v is outside it.
func (r IntRange) Check(v int) error {
	if v < r.Min || v > r.Max {
		return fmt.Errorf("%d is outside %d..%d", v, r.Min, r.Max)
	}
	return nil
}

// Ranges are the allowed values of the integer fields, by spec key.
var Ranges = map[string]IntRange{
	FieldThreads: {1, 64},
	FieldDepth:   {1, 1024},
	FieldBatch:   {1, 256},
	FieldSpan:    {1, MaxSumSpan},
}

// Values are the allowed values of the string fields other than mode, by
// spec key, the default first.
var Values = map[string][]string{
	FieldDist: {"uniform", "zipf"},
	FieldOp:   {OpLookup, OpRange, OpSum},
	FieldOn:   {OnDevice, OnFile},
}

// Where a workload reads the data (spec on, proto.Workload.On): the data
// disk itself, or, with data.fs, the data image as a file on that file
// system, which the VM has as a second disk beside the raw one, so that
// one run measures both.
const (
	OnDevice = "device"
	OnFile   = "file"
)

// CheckValue returns an error naming the allowed values when v is not one
// of the field's.
func CheckValue(field, v string) error {
	vs := Values[field]
	if !slices.Contains(vs, v) {
		return fmt.Errorf("%q is not %s", v, Or(vs))
	}
	return nil
}

// Axis is a workload parameter a sweep varies.
type Axis struct {
	Name  string // as in a workload key: depth, batch, threads, span, bs
	Label string // axis label
	// Experiment is the paper experiment a sweep of a chained kind along
	// the axis reproduces ("" for none).
	Experiment string
	Get        func(Workload) int
	Set        func(*Workload, int)
}

// Axes in the order a sweep's x axis is chosen when several vary. A new
// swept parameter needs one entry here.
var Axes = []Axis{
	{"depth", "chain depth (dependent reads per lookup)", "depth", func(w Workload) int { return w.Depth }, func(w *Workload, v int) { w.Depth = v }},
	{"batch", "io_uring batch size", "uring", func(w Workload) int { return w.Batch }, func(w *Workload, v int) { w.Batch = v }},
	{"threads", "threads", "threads", func(w Workload) int { return w.Threads }, func(w *Workload, v int) { w.Threads = v }},
	{"span", "keys per range or sum query (span)", "range", func(w Workload) int { return w.Span }, func(w *Workload, v int) { w.Span = v }},
	{"bs", "block size (bytes)", "", func(w Workload) int { return w.BlockSize }, func(w *Workload, v int) { w.BlockSize = v }},
}

// PeerOf is the mode mode's paper numbers are ratios against:
// Mode.Peer, or BaselineMode.
func PeerOf(mode string) string {
	if m, ok := ModeOf(mode); ok && m.Peer != "" {
		return m.Peer
	}
	return BaselineMode
}

// Anchored reports whether the papers' numbers for experiment exp apply
// to mode (Mode.Anchors).
func Anchored(mode, exp string) bool {
	m, ok := ModeOf(mode)
	return ok && slices.Contains(m.Anchors, exp)
}
