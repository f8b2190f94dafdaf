package report

import (
	"sort"
	"strings"

	"github.com/bpfstor/bpfstor/harness/hist"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/harness/stats"
)

// BaselineMode is the dispatch mode speedups are relative to: the
// user-space chain of preads.
const BaselineMode = "pread"

// Axis is a workload parameter a sweep varies.
type Axis struct {
	Name  string // as in WorkloadKey: depth, batch, threads, bs
	Label string // axis label
	Get   func(proto.Workload) int
	Set   func(*proto.Workload, int)
}

// Axes in the order a sweep's x axis is chosen when several vary. A new
// swept parameter needs one entry here.
var Axes = []Axis{
	{"depth", "chain depth (dependent reads per lookup)", func(w proto.Workload) int { return w.Depth }, func(w *proto.Workload, v int) { w.Depth = v }},
	{"batch", "io_uring batch size", func(w proto.Workload) int { return w.Batch }, func(w *proto.Workload, v int) { w.Batch = v }},
	{"threads", "threads", func(w proto.Workload) int { return w.Threads }, func(w *proto.Workload, v int) { w.Threads = v }},
	{"span", "keys per range query", func(w proto.Workload) int { return w.Span }, func(w *proto.Workload, v int) { w.Span = v }},
	{"bs", "block size (bytes)", func(w proto.Workload) int { return w.BlockSize }, func(w *proto.Workload, v int) { w.BlockSize = v }},
}

// Sweep is the points of one workload kind that vary along one Axis: one
// Line per remaining combination (usually per dispatch mode).
type Sweep struct {
	Kind  string
	Axis  Axis
	Lines []*Line
}

// Line is one curve of a sweep.
type Line struct {
	Label string
	Mode  string
	// Base is the workload with the swept parameter zeroed.
	Base   proto.Workload
	Style  int
	Points []SweepPoint // by increasing X
}

// SweepPoint is one workload of a line.
type SweepPoint struct {
	X int
	G Group
}

// At returns the line's group at x.
func (l *Line) At(x int) (Group, bool) {
	for _, p := range l.Points {
		if p.X == x {
			return p.G, true
		}
	}
	return Group{}, false
}

// Analysis is what the report, the figures and compare are built from.
type Analysis struct {
	Groups []Group
	// Sweeps are the kinds whose workloads vary along an axis.
	Sweeps []*Sweep
	// Single are the groups of kinds with nothing swept (pread, fio).
	Single []Group
}

// modeStyles fixes a colour per dispatch mode across all figures.
var modeStyles = map[string]int{BaselineMode: 0, "syscall": 1, "driver": 2}

// Analyze groups a result's ok points into sweeps and single workloads.
func Analyze(r *results.Result) *Analysis {
	a := &Analysis{Groups: Groups(r)}
	var kinds []string
	byKind := map[string][]Group{}
	for _, g := range a.Groups {
		k := g.Points[0].Workload.Kind
		if _, ok := byKind[k]; !ok {
			kinds = append(kinds, k)
		}
		byKind[k] = append(byKind[k], g)
	}
	for _, k := range kinds {
		gs := byKind[k]
		var axis *Axis
		for i := range Axes {
			vals := map[int]bool{}
			for _, g := range gs {
				vals[Axes[i].Get(g.Points[0].Workload)] = true
			}
			if len(vals) > 1 {
				axis = &Axes[i]
				break
			}
		}
		if axis == nil {
			a.Single = append(a.Single, gs...)
			continue
		}
		s := &Sweep{Kind: k, Axis: *axis}
		lines := map[string]*Line{}
		for _, g := range gs {
			w := g.Points[0].Workload
			x := axis.Get(w)
			base := w
			axis.Set(&base, 0)
			base.Ops, base.Warmup = 0, 0
			key := WorkloadKey(base)
			l, ok := lines[key]
			if !ok {
				l = &Line{Label: key, Mode: w.Mode, Base: base}
				lines[key] = l
				s.Lines = append(s.Lines, l)
			}
			l.Points = append(l.Points, SweepPoint{X: x, G: g})
		}
		labelLines(k, s.Lines)
		order := func(l *Line) int {
			if st, ok := modeStyles[l.Mode]; ok {
				return st
			}
			return 100
		}
		sort.SliceStable(s.Lines, func(i, j int) bool { return order(s.Lines[i]) < order(s.Lines[j]) })
		used := map[int]bool{}
		first := 0 // unknown modes take the colours no known mode uses
		for _, l := range s.Lines {
			if _, ok := modeStyles[l.Mode]; ok {
				first = len(modeStyles)
			}
		}
		for _, l := range s.Lines {
			sort.Slice(l.Points, func(i, j int) bool { return l.Points[i].X < l.Points[j].X })
			if st, ok := modeStyles[l.Mode]; ok && !used[st] {
				l.Style = st
			} else {
				st := first
				for used[st] {
					st++
				}
				l.Style = st
			}
			used[l.Style] = true
		}
		a.Sweeps = append(a.Sweeps, s)
	}
	return a
}

// Baseline returns the line l is compared with: same workload, mode
// BaselineMode. Nil for the baseline itself or when there is none.
func (s *Sweep) Baseline(l *Line) *Line {
	if l.Mode == BaselineMode || l.Mode == "" {
		return nil
	}
	want := l.Base
	want.Mode = BaselineMode
	for _, o := range s.Lines {
		if o.Base == want {
			return o
		}
	}
	return nil
}

// Ratio is a per-repetition ratio of a mode against the baseline.
type Ratio struct {
	stats.Spread
	// Paired is true when repetitions were paired by index (same VM run,
	// interleaved); false when only the medians could be divided.
	Paired bool
}

// ratio computes f(mode)/f(base) per repetition, pairing by Rep.
func ratio(mode, base Group, f func(*proto.Point) float64, invert bool) Ratio {
	byRep := map[int]*proto.Point{}
	for _, p := range base.Points {
		byRep[p.Rep] = p
	}
	var rs []float64
	for _, p := range mode.Points {
		b, ok := byRep[p.Rep]
		if !ok {
			continue
		}
		num, den := f(p), f(b)
		if invert {
			num, den = den, num
		}
		if den > 0 {
			rs = append(rs, num/den)
		}
	}
	if len(rs) > 0 {
		return Ratio{Spread: stats.SpreadOf(rs), Paired: true}
	}
	num, den := mode.spread(f).Median, base.spread(f).Median
	if invert {
		num, den = den, num
	}
	if den <= 0 {
		return Ratio{}
	}
	v := num / den
	return Ratio{Spread: stats.Spread{N: 1, Median: v, Min: v, Max: v}}
}

func iopsOf(p *proto.Point) float64 { return p.IOPS }
func meanOf(p *proto.Point) float64 { return p.Summary.MeanNs }

// Speedup is IOPS(mode)/IOPS(base) per repetition.
func Speedup(mode, base Group) Ratio { return ratio(mode, base, iopsOf, false) }

// LatencyRatio is mean latency(base)/mean latency(mode) per repetition.
func LatencyRatio(mode, base Group) Ratio { return ratio(mode, base, meanOf, true) }

// Merged is the histogram of all repetitions of a group (nil when no point
// has one, as for fio).
func (g Group) Merged() *hist.Histogram {
	var h *hist.Histogram
	for _, p := range g.Points {
		if p.Latency == nil {
			continue
		}
		if h == nil {
			h = hist.New()
		}
		h.Merge(p.Latency)
	}
	return h
}

// Stat names a per-repetition statistic.
type Stat struct {
	Name string
	Unit string // "µs" or "IOPS"
	Get  func(*proto.Point) float64
	// HigherBetter is true for throughput.
	HigherBetter bool
}

// Stats are the statistics tables and compare report.
var Stats = []Stat{
	{"p50", "µs", func(p *proto.Point) float64 { return float64(p.Summary.P50Ns) }, false},
	{"p99", "µs", func(p *proto.Point) float64 { return float64(p.Summary.P99Ns) }, false},
	{"mean", "µs", func(p *proto.Point) float64 { return p.Summary.MeanNs }, false},
	{"IOPS", "IOPS", iopsOf, true},
}

// Values returns the per-repetition values of a statistic.
func (g Group) Values(f func(*proto.Point) float64) []float64 {
	var vs []float64
	for _, p := range g.Points {
		vs = append(vs, f(p))
	}
	return vs
}

// labelLines names each line by what tells it apart from the others
// ("driver", "syscall bs=4096"), without the kind and common parameters.
func labelLines(kind string, ls []*Line) {
	count := map[string]int{}
	toks := make([][]string, len(ls))
	for i, l := range ls {
		toks[i] = strings.Fields(WorkloadKey(l.Base))[1:]
		for _, t := range toks[i] {
			count[t]++
		}
	}
	for i, l := range ls {
		var keep []string
		for _, t := range toks[i] {
			if count[t] < len(ls) || len(ls) == 1 && strings.HasPrefix(t, "mode=") {
				keep = append(keep, strings.TrimPrefix(t, "mode="))
			}
		}
		l.Label = strings.Join(keep, " ")
		if l.Label == "" {
			l.Label = kind
		}
	}
}
