package report

import "fmt"

// Metrics an anchor states. Both are ratios of a dispatch mode against the
// user-space pread chain (mode "pread"), so they compare across machines
// where absolute microseconds do not.
const (
	// MetricIOPS is IOPS(mode) / IOPS(pread).
	MetricIOPS = "iops_speedup"
	// MetricLatency is mean latency(pread) / mean latency(mode).
	MetricLatency = "latency_ratio"
)

// Anchor is one number from the papers this project reproduces.
type Anchor struct {
	Paper string // PaperHotOS or PaperXRP
	// Experiment is the spec id of shared/README.md section 5 ("depth",
	// "uring", ...); Kinds maps workload kinds onto it.
	Experiment string
	// Mode is the dispatch mode compared with "pread".
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
	// Bound: the paper states this ratio as a maximum ("at most",
	// "up to"), not a measurement at one depth.
	Bound  bool
	Source string
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
	switch {
	case a.Base != 0 && a.Value != 0 && a.Metric == MetricLatency:
		return fmt.Sprintf("%.2fx (%g→%g %s)", a.R(), a.Base, a.Value, a.Unit)
	case a.Base != 0 && a.Value != 0:
		return fmt.Sprintf("%.2fx (%g→%g %s)", a.R(), a.Base, a.Value, a.Unit)
	case a.Bound:
		return fmt.Sprintf("≤ %.2fx", a.R())
	}
	return fmt.Sprintf("%.2fx", a.R())
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
	{Paper: PaperHotOS, Experiment: "depth", Mode: "syscall", Metric: MetricIOPS, Ratio: 1.25, Bound: true,
		Source: srcHotOS + ": syscall-layer dispatch gives at most 1.25x IOPS"},
	{Paper: PaperHotOS, Experiment: "depth", Mode: "syscall", Depth: 10, Metric: MetricIOPS, Base: 109, Value: 130, Unit: "K IOPS",
		Source: srcHotOS + ": depth 10, syscall dispatch"},
	{Paper: PaperHotOS, Experiment: "depth", Mode: "syscall", Depth: 10, Metric: MetricLatency, Base: 78, Value: 68, Unit: "µs",
		Source: srcHotOS + ": depth 10, syscall dispatch"},
	{Paper: PaperHotOS, Experiment: "depth", Mode: "driver", Metric: MetricIOPS, Ratio: 2.5, Bound: true,
		Source: srcHotOS + ": NVMe-driver dispatch gives up to 2.5x IOPS with read()"},
	{Paper: PaperHotOS, Experiment: "depth", Mode: "driver", Depth: 10, Metric: MetricIOPS, Base: 109, Value: 276, Unit: "K IOPS",
		Source: srcHotOS + ": depth 10, driver dispatch"},
	{Paper: PaperHotOS, Experiment: "depth", Mode: "driver", Depth: 10, Metric: MetricLatency, Base: 78, Value: 40, Unit: "µs",
		Source: srcHotOS + ": depth 10, driver dispatch"},
	{Paper: PaperXRP, Experiment: "depth", Mode: "driver", Depth: 1, Metric: MetricLatency, Base: 13.4, Value: 10.7, Unit: "µs",
		Source: srcXRP3 + ", depth 1"},
	{Paper: PaperXRP, Experiment: "depth", Mode: "driver", Depth: 6, Metric: MetricLatency, Base: 48.8, Value: 29.3, Unit: "µs",
		Source: srcXRP3 + ", depth 6"},
	{Paper: PaperHotOS, Experiment: "uring", Mode: "driver", Metric: MetricIOPS, Ratio: 2.7, Bound: true,
		Source: srcHotOS + ": with io_uring (batched submission) up to 2.7x; 1.3–1.9x for a 3-level tree"},
}

// Experiments maps workload kinds onto the experiments of the paper table.
var Experiments = map[string]string{
	"chain": "depth",
	"btree": "depth",
	"uring": "uring",
}

// anchorsFor returns the anchors of an experiment for mode at depth
// (depth-independent bounds included when bounds is set).
func anchorsFor(exp, mode string, depth int, bounds bool) []Anchor {
	var out []Anchor
	for _, a := range Paper {
		if a.Experiment != exp || a.Mode != mode {
			continue
		}
		if a.Depth == depth || (bounds && a.Depth == 0) {
			out = append(out, a)
		}
	}
	return out
}
