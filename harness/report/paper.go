package report

import (
	"fmt"
	"math"

	"github.com/bpfstor/bpfstor/harness/workload"
)

// Metrics an anchor states. Both are ratios of a dispatch mode against the
// user-space pread chain (mode "pread"), so they compare across machines
// where absolute microseconds do not.
const (
	// MetricIOPS is IOPS(mode) / IOPS(pread).
	MetricIOPS = "iops_speedup"
	// MetricLatency is mean latency(pread) / mean latency(mode).
	MetricLatency = "latency_ratio"
	// MetricP99 is p99(mode) / p99(pread): below 1 is a shorter tail.
	// The papers state it as a change ("p99 −40 %").
	MetricP99 = "p99_ratio"
)

// Anchor is one number from the papers this project reproduces.
type Anchor struct {
	Paper string // PaperHotOS or PaperXRP
	// Experiment is the spec id of shared/README.md section 5 ("depth",
	// "uring", ...); SweepExperiment maps sweeps onto it by their axis
	// (workload.Axis.Experiment).
	Experiment string
	// Mode is the dispatch mode compared with "pread"; the model lists
	// Experiment in its Mode.Anchors.
	Mode string
	// Depth is the chain depth the number was measured at; 0 for a
	// statement about all depths (then Bound is set).
	Depth  int
	Metric string
	// Base and Value are the paper's numbers for pread and for Mode
	// (Unit), when the paper gives both; Ratio is then derived from them.
	Base, Value float64
	Unit        string
	// Ratio is the stated ratio when the paper gives only the ratio.
	Ratio float64
	// RatioTo, when set, is the other end of a range the paper states
	// ("1.3–1.9x", "p99 −20–34 %"): the ratio lies between Ratio and RatioTo.
	RatioTo float64
	// Bound: the paper states this ratio as a maximum ("at most",
	// "up to"), not a measurement at one depth. For MetricP99 the bound is
	// the largest reduction.
	Bound bool
	// MinThreads, when set, is the fewest threads the statement is about
	// ("with several threads").
	MinThreads int
	// Unmeasured, when set, is why bpfstor cannot measure what the number
	// compares yet; the number is listed, never set beside a measurement.
	Unmeasured string
	Source     string
}

// R is the anchor's ratio (see MetricIOPS and MetricLatency).
func (a Anchor) R() float64 {
	if a.Base == 0 || a.Value == 0 {
		return a.Ratio
	}
	if a.Metric == MetricLatency {
		return a.Base / a.Value
	}
	return a.Value / a.Base
}

// Text is the anchor as a reader checks it against the paper.
func (a Anchor) Text() string {
	if a.Metric == MetricP99 {
		pct := func(r float64) float64 { return math.Round((1 - r) * 100) }
		switch {
		case a.RatioTo != 0:
			return fmt.Sprintf("p99 −%g–%g %%", pct(a.Ratio), pct(a.RatioTo))
		case a.Bound:
			return fmt.Sprintf("p99 up to −%g %%", pct(a.Ratio))
		}
		return fmt.Sprintf("p99 %+g %%", -pct(a.Ratio))
	}
	switch {
	case a.Base != 0 && a.Value != 0:
		return fmt.Sprintf("%.2fx (%g→%g %s)", a.R(), a.Base, a.Value, a.Unit)
	case a.RatioTo != 0:
		return fmt.Sprintf("%.3g–%.3gx", a.Ratio, a.RatioTo)
	case a.Bound:
		return fmt.Sprintf("≤ %.2fx", a.R())
	}
	return fmt.Sprintf("%.2fx", a.R())
}

// Judge sets a measured ratio (same metric) beside the anchor.
func (a Anchor) Judge(ours Ratio) string {
	if ours.N == 0 {
		return "—"
	}
	v := ours.Median
	switch {
	case a.RatioTo != 0:
		lo, hi := math.Min(a.Ratio, a.RatioTo), math.Max(a.Ratio, a.RatioTo)
		switch {
		case a.Metric == MetricP99 && v < lo:
			return "**a larger reduction than the paper's range**"
		case a.Metric == MetricP99 && v > hi:
			return fmt.Sprintf("a smaller reduction than the paper's range: %s of its smallest", pctOfReduction(v, hi))
		case v < lo:
			return fmt.Sprintf("below the paper's range: %.2f of its low end", v/lo)
		case v > hi:
			return fmt.Sprintf("above the paper's range: %.2f of its high end", v/hi)
		}
		return "within the paper's range"
	case a.Bound && a.Metric == MetricP99 && v >= a.R():
		return fmt.Sprintf("within: %s of the paper's largest reduction", pctOfReduction(v, a.R()))
	case a.Bound && a.Metric == MetricP99:
		return "**a larger reduction than the paper's largest**"
	case a.Bound && v <= a.R():
		return fmt.Sprintf("within: %.2f of the max", v/a.R())
	case a.Bound:
		return fmt.Sprintf("**above the stated max**: %.2f of it", v/a.R())
	}
	return fmt.Sprintf("%.2f", v/a.R())
}

// pctOfReduction is how much of the paper's tail reduction (1−paper) ours
// (1−v) reaches, as a percentage; "none" for no reduction.
func pctOfReduction(v, paper float64) string {
	if v >= 1 {
		return "none"
	}
	return fmt.Sprintf("%.0f %%", (1-v)/(1-paper)*100)
}

// Papers.
const (
	PaperHotOS = "HotOS'21"
	PaperXRP   = "XRP (OSDI'22)"
)

const (
	srcHotOS = "HotOS'21, Zhong et al., \"BPF for Storage: An Exokernel-Inspired Approach\""
	srcXRP3  = "OSDI'22, Zhong et al., \"XRP: In-Kernel Storage Functions with eBPF\", Table 3 (average lookup latency, read() vs XRP)"
)

// Paper holds every paper number the report sets beside a measurement, as
// recorded in shared/README.md section 1. XRP Table 3 is given there only
// for depths 1 and 6 (read 13.4→48.8 µs, XRP 10.7→29.3 µs); the rows for
// depths 2..5 belong here once they are checked against the paper.
var Paper = []Anchor{
	{Paper: PaperHotOS, Experiment: "depth", Mode: workload.ModeSyscall, Metric: MetricIOPS, Ratio: 1.25, Bound: true,
		Source: srcHotOS + ": syscall-layer dispatch gives at most 1.25x IOPS"},
	{Paper: PaperHotOS, Experiment: "depth", Mode: workload.ModeSyscall, Depth: 10, Metric: MetricIOPS, Base: 109, Value: 130, Unit: "K IOPS",
		Source: srcHotOS + ": depth 10, syscall dispatch"},
	{Paper: PaperHotOS, Experiment: "depth", Mode: workload.ModeSyscall, Depth: 10, Metric: MetricLatency, Base: 78, Value: 68, Unit: "µs",
		Source: srcHotOS + ": depth 10, syscall dispatch"},
	{Paper: PaperHotOS, Experiment: "depth", Mode: workload.ModeDriver, Metric: MetricIOPS, Ratio: 2.5, Bound: true,
		Source: srcHotOS + ": NVMe-driver dispatch gives up to 2.5x IOPS with read()"},
	{Paper: PaperHotOS, Experiment: "depth", Mode: workload.ModeDriver, Depth: 10, Metric: MetricIOPS, Base: 109, Value: 276, Unit: "K IOPS",
		Source: srcHotOS + ": depth 10, driver dispatch"},
	{Paper: PaperHotOS, Experiment: "depth", Mode: workload.ModeDriver, Depth: 10, Metric: MetricLatency, Base: 78, Value: 40, Unit: "µs",
		Source: srcHotOS + ": depth 10, driver dispatch"},
	{Paper: PaperXRP, Experiment: "depth", Mode: workload.ModeDriver, Depth: 1, Metric: MetricLatency, Base: 13.4, Value: 10.7, Unit: "µs",
		Source: srcXRP3 + ", depth 1"},
	{Paper: PaperXRP, Experiment: "depth", Mode: workload.ModeDriver, Depth: 6, Metric: MetricLatency, Base: 48.8, Value: 29.3, Unit: "µs",
		Source: srcXRP3 + ", depth 6"},
	{Paper: PaperHotOS, Experiment: "uring", Mode: workload.ModeDriver, Metric: MetricIOPS, Ratio: 2.7, Bound: true, Unmeasured: noKernelUring,
		Source: srcHotOS + ": with io_uring (batched submission) up to 2.7x"},
	{Paper: PaperHotOS, Experiment: "uring", Mode: workload.ModeDriver, Depth: 3, Metric: MetricIOPS, Ratio: 1.3, RatioTo: 1.9, Unmeasured: noKernelUring,
		Source: srcHotOS + ": with io_uring, 1.3–1.9x for a 3-level tree"},
	{Paper: PaperXRP, Experiment: "threads", Mode: workload.ModeDriver, Metric: MetricIOPS, Ratio: 2.5, Bound: true,
		Source: srcXRP + ": up to 2.5x throughput"},
	{Paper: PaperXRP, Experiment: "threads", Mode: workload.ModeDriver, Depth: 3, MinThreads: 2, Metric: MetricP99, Ratio: 0.80, RatioTo: 0.66,
		Source: srcXRP + ": p99 −20–34 % at depth 3 with several threads"},
	{Paper: PaperXRP, Experiment: "kv", Mode: workload.ModeDriver, Metric: MetricIOPS, Ratio: 1.25, Bound: true,
		Source: srcXRP + ": with a real KV store up to 1.25x throughput"},
	{Paper: PaperXRP, Experiment: "kv", Mode: workload.ModeDriver, Metric: MetricP99, Ratio: 0.60, Bound: true,
		Source: srcXRP + ": with a real KV store p99 −40 %"},
}

const (
	srcXRP        = "OSDI'22, Zhong et al., \"XRP: In-Kernel Storage Functions with eBPF\""
	noKernelUring = "kernel chaining through io_uring does not exist in bpfstor yet (roadmap); mode uring chains from user space over io_uring"
)

// ExperimentNotes are said wherever an experiment appears in a report:
// what it can and cannot be compared with.
var ExperimentNotes = map[string]string{
	"uring": "Kernel chaining through io_uring does not exist in bpfstor yet (roadmap, shared/README.md section 8): " +
		"mode uring chains each lookup's reads from user space over io_uring, batch B lookups in flight. HotOS'21's io_uring " +
		"numbers (up to 2.7x; 1.3–1.9x for a 3-level tree) compare in-kernel chaining over io_uring with that, so they are " +
		"listed, not set beside a measurement. Sync modes (pread, syscall, driver: one lookup at a time) are the reference lines.",
	"range": "XRP Fig. 8 (range query and aggregation): no number in shared/README.md, so none is set beside ours.",
	"kv": "bpfstor's kv experiment is point lookups on its own B+-tree with uniform or Zipfian keys; XRP's numbers are for a " +
		"real KV store (BPF-KV), so they bound what to expect rather than predict it.",
	"threads": "XRP's threads numbers (Fig. 5, 7) are for its B+-tree with up to many threads on real NVMe; here threads share " +
		"the guest's vCPUs and one emulated device.",
	"breakdown": "XRP Table 1 splits a 512 B read on Optane into six layers. Without trace_layers bpfstor splits it in two: " +
		"the device (QEMU trace, doorbell→MSI-X) and the guest's software (everything else); trace_layers = true adds the " +
		"per-layer split from BPF kprobes in the guest.",
}

// Layer is one row of XRP Table 1.
type Layer struct {
	Name string
	Ns   float64
}

// XRPTable1 is XRP Table 1: where a 512 B random read's 6.27 µs go on
// Optane (shared/README.md section 1), device last.
var XRPTable1 = []Layer{
	{"user/kernel crossing", 351}, {"syscall", 199}, {"file system (ext4)", 2006},
	{"block layer (bio)", 379}, {"NVMe driver", 113}, {"device", 3224},
}

// XRPTable1Total is the read's total as XRP states it (the layers add up
// to 6272 ns by rounding).
const XRPTable1Total = 6270.0

// SweepExperiment names the experiment (shared/README.md section 5) a
// sweep of chained reads reproduces, by what it varies; "" for none.
func SweepExperiment(s *Sweep) string {
	if !workload.Chained(s.Kind) {
		return ""
	}
	return s.Axis.Experiment
}

// applies reports whether anchor a is about experiment exp in mode, and
// the model says the papers' numbers for exp apply to the mode
// (workload.Mode.Anchors).
func (a Anchor) applies(exp, mode string) bool {
	return a.Experiment == exp && a.Mode == mode && workload.Anchored(mode, exp)
}

// anchorsFor returns the anchors of an experiment for mode at depth with
// threads threads (depth-independent bounds included when bounds is set),
// unmeasurable ones left out.
func anchorsFor(exp, mode string, depth, threads int, bounds bool) []Anchor {
	var out []Anchor
	for _, a := range Paper {
		if !a.applies(exp, mode) || a.Unmeasured != "" || max(threads, 1) < a.MinThreads {
			continue
		}
		if a.Depth == depth || (bounds && a.Depth == 0) {
			out = append(out, a)
		}
	}
	return out
}
