// Package paper holds the papers' numbers bpfstor sets beside its
// measurements (HotOS'21, XRP) as data, papers.toml, which a reader checks
// against the papers, and what a report does with one: its ratio, how it
// reads, and how a measured ratio compares with it.
package paper

import (
	_ "embed"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/BurntSushi/toml"

	"github.com/bpfstor/bpfstor/harness/stats"
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
	Paper string `toml:"paper"` // PaperHotOS or PaperXRP
	// Experiment is the spec id of shared/README.md section 5 ("depth",
	// "uring", ...); analysis.Sweep.Experiment maps sweeps onto it by
	// their axis (workload.Axis.Experiment).
	Experiment string `toml:"experiment"`
	// Mode is the dispatch mode compared with "pread"; the model lists
	// Experiment in its Mode.Anchors.
	Mode string `toml:"mode"`
	// Depth is the chain depth the number was measured at; 0 for a
	// statement about all depths (then Bound is set).
	Depth  int    `toml:"depth"`
	Metric string `toml:"metric"`
	// Base and Value are the paper's numbers for pread and for Mode
	// (Unit), when the paper gives both; Ratio is then derived from them.
	Base  float64 `toml:"base"`
	Value float64 `toml:"value"`
	Unit  string  `toml:"unit"`
	// Ratio is the stated ratio when the paper gives only the ratio.
	Ratio float64 `toml:"ratio"`
	// RatioTo, when set, is the other end of a range the paper states
	// ("1.3–1.9x", "p99 −20–34 %"): the ratio lies between Ratio and RatioTo.
	RatioTo float64 `toml:"ratio_to"`
	// Bound: the paper states this ratio as a maximum ("at most",
	// "up to"), not a measurement at one depth. For MetricP99 the bound is
	// the largest reduction.
	Bound bool `toml:"bound"`
	// MinThreads, when set, is the fewest threads the statement is about
	// ("with several threads").
	MinThreads int `toml:"min_threads"`
	// Unmeasured, when set, is why bpfstor cannot measure what the number
	// compares yet; the number is listed, never set beside a measurement.
	Unmeasured string `toml:"unmeasured"`
	// Source is the paper and the statement, as reports print it.
	Source string `toml:"source"`
	// Where is the part of the paper the number is from (figure, table,
	// text) and Quote the number as shared/README.md records it: for a
	// reader checking the number, never printed.
	Where string `toml:"where"`
	Quote string `toml:"quote"`
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

// Judge sets a measured ratio (same metric; its spread over repetitions)
// beside the anchor.
func (a Anchor) Judge(ours stats.Spread) string {
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

// Papers, as papers.toml names them.
const (
	PaperHotOS = "HotOS'21"
	PaperXRP   = "XRP (OSDI'22)"
)

// Layer is one row of XRP Table 1.
type Layer struct {
	Name string  `toml:"name"`
	Ns   float64 `toml:"ns"`
}

//go:embed papers.toml
var papersTOML string

// The papers' numbers, read from papers.toml.
var (
	// Anchors holds every paper number a report sets beside a measurement.
	Anchors []Anchor
	// ExperimentNotes are said wherever an experiment appears in a
	// report: what it can and cannot be compared with.
	ExperimentNotes map[string]string
	// XRPTable1 is XRP Table 1: where a 512 B random read's 6.27 µs go on
	// Optane, device last.
	XRPTable1 []Layer
	// XRPTable1Total is the read's total in ns as XRP states it (the
	// layers add up to 6272 ns by rounding).
	XRPTable1Total float64
)

func init() {
	d, err := parse(papersTOML)
	if err != nil {
		panic(err) // TestData keeps papers.toml readable
	}
	Anchors, ExperimentNotes, XRPTable1, XRPTable1Total = d.Anchors, d.Notes, d.XRPTable1.Layers, d.XRPTable1.TotalNs
}

// data is papers.toml.
type data struct {
	Papers    []paperInfo       `toml:"paper"`
	Anchors   []Anchor          `toml:"anchor"`
	Notes     map[string]string `toml:"notes"`
	XRPTable1 struct {
		Where   string  `toml:"where"`
		Quote   string  `toml:"quote"`
		TotalNs float64 `toml:"total_ns"`
		Layers  []Layer `toml:"layer"`
	} `toml:"xrp_table1"`
}

// paperInfo is one paper: its name in reports and how it is cited.
type paperInfo struct {
	Name string `toml:"name"`
	Cite string `toml:"cite"`
}

// parse reads papers.toml and checks every entry: known keys only, a known
// paper cited by its source, a known metric, a ratio.
func parse(text string) (*data, error) {
	var d data
	md, err := toml.Decode(text, &d)
	if err != nil {
		return nil, fmt.Errorf("paper: papers.toml: %w", err)
	}
	var errs []error
	if u := md.Undecoded(); len(u) > 0 {
		errs = append(errs, fmt.Errorf("unknown keys %v", u))
	}
	cites := map[string]string{}
	for _, p := range d.Papers {
		cites[p.Name] = p.Cite
	}
	for i, a := range d.Anchors {
		cite, ok := cites[a.Paper]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("anchor %d: paper %q is no [[paper]]", i+1, a.Paper))
		case len(a.Source) <= len(cite) || a.Source[:len(cite)] != cite:
			errs = append(errs, fmt.Errorf("anchor %d: source %q does not begin with the paper's cite", i+1, a.Source))
		}
		if !slices.Contains([]string{MetricIOPS, MetricLatency, MetricP99}, a.Metric) {
			errs = append(errs, fmt.Errorf("anchor %d: metric %q", i+1, a.Metric))
		}
		if a.Experiment == "" || a.Mode == "" || a.R() <= 0 || a.Where == "" || a.Quote == "" {
			errs = append(errs, fmt.Errorf("anchor %d: experiment, mode, where, quote and a ratio (or base and value) are required", i+1))
		}
	}
	if len(d.XRPTable1.Layers) == 0 || d.XRPTable1.TotalNs <= 0 {
		errs = append(errs, errors.New("xrp_table1: layers and total_ns are required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("paper: papers.toml: %w", err)
	}
	return &d, nil
}

// Applies reports whether anchor a is about experiment exp in mode, and
// the model says the papers' numbers for exp apply to the mode
// (workload.Mode.Anchors).
func (a Anchor) Applies(exp, mode string) bool {
	return a.Experiment == exp && a.Mode == mode && workload.Anchored(mode, exp)
}

// For returns the anchors of an experiment for mode at depth with threads
// threads (depth-independent bounds included when bounds is set),
// unmeasurable ones left out.
func For(exp, mode string, depth, threads int, bounds bool) []Anchor {
	var out []Anchor
	for _, a := range Anchors {
		if !a.Applies(exp, mode) || a.Unmeasured != "" || max(threads, 1) < a.MinThreads {
			continue
		}
		if a.Depth == depth || (bounds && a.Depth == 0) {
			out = append(out, a)
		}
	}
	return out
}

// Label is the anchor as a table cell names it: paper, what it states
// (IOPS, latency or tail) and the number.
func (a Anchor) Label() string {
	return fmt.Sprintf("%s %s %s", a.Paper, metricName(a.Metric), a.Text())
}

func metricName(m string) string {
	switch m {
	case MetricLatency:
		return "latency"
	case MetricP99:
		return "tail"
	}
	return "IOPS"
}
