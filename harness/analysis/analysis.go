// Package analysis groups a run's points into the cells reports are made
// of: workloads (repetitions of one workload), sweeps along one parameter,
// the kv experiment's key distributions, and the ratios between a mode and
// the pread baseline, with their spread over repetitions.
package analysis

import (
	"sort"
	"strings"

	"github.com/bpfstor/bpfstor/harness/hist"
	"github.com/bpfstor/bpfstor/harness/nvmetrace"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/harness/stats"
	"github.com/bpfstor/bpfstor/harness/workload"
)

// BaselineMode is the dispatch mode speedups are relative to: the
// user-space chain of preads (workload.BaselineMode).
const BaselineMode = workload.BaselineMode

// Group is one workload's repetitions.
type Group struct {
	Key    string
	Points []*results.Point
}

// WorkloadKey names a workload independent of its repetition.
func WorkloadKey(w proto.Workload) string {
	parts := []string{w.Kind}
	for _, p := range w.Params() {
		if p.Value == "" {
			parts = append(parts, p.Name)
		} else {
			parts = append(parts, p.Name+"="+p.Value)
		}
	}
	return strings.Join(parts, " ")
}

// Groups collects ok points with a summary by workload, in first-seen order.
func Groups(r *results.Result) []Group {
	var gs []Group
	idx := map[string]int{}
	for _, p := range r.Points {
		if p.Status != proto.StatusOK || p.Summary == nil {
			continue
		}
		k := WorkloadKey(p.Workload)
		i, ok := idx[k]
		if !ok {
			i = len(gs)
			idx[k] = i
			gs = append(gs, Group{Key: k})
		}
		gs[i].Points = append(gs[i].Points, p)
	}
	return gs
}

// Statuses counts a run's points that are ok and those that are not.
func Statuses(r *results.Result) (ok, failed int) {
	for _, p := range r.Points {
		if p.Status == proto.StatusOK {
			ok++
		} else {
			failed++
		}
	}
	return ok, failed
}

// Spread is the median and range of a statistic over repetitions
// (stats.Spread: one definition for reports and compare).
type Spread = stats.Spread

// Spread is the spread of f over the group's repetitions.
func (g Group) Spread(f func(p *results.Point) float64) Spread {
	return stats.SpreadOf(g.Values(f))
}

// P50, P99 and IOPS spreads of a group (latencies in ns).
func (g Group) P50() Spread {
	return g.Spread(func(p *results.Point) float64 { return float64(p.Summary.P50Ns) })
}
func (g Group) P99() Spread {
	return g.Spread(func(p *results.Point) float64 { return float64(p.Summary.P99Ns) })
}
func (g Group) Mean() Spread {
	return g.Spread(func(p *results.Point) float64 { return p.Summary.MeanNs })
}
func (g Group) IOPS() Spread { return g.Spread(func(p *results.Point) float64 { return p.IOPS }) }

// Axis is a workload parameter a sweep varies (workload.Axis).
type Axis = workload.Axis

// Axes in the order a sweep's x axis is chosen when several vary: the
// model's (workload.Axes), where a new swept parameter is one entry.
var Axes = workload.Axes

// Sweep is the points of one workload kind that vary along one Axis: one
// Line per remaining combination (usually per dispatch mode).
type Sweep struct {
	Kind  string
	Axis  Axis
	Lines []*Line
	// Refs are the lines the axis does not apply to (its value unset, 0,
	// while other lines vary it): the sync modes beside an io_uring batch
	// sweep. Figures draw them as horizontal reference lines.
	Refs []*Line
}

// Line is one curve of a sweep.
type Line struct {
	Label string
	Mode  string
	// Base is the workload with the swept parameter zeroed.
	Base  proto.Workload
	Style int
	// Variant tells apart lines of one mode (same colour): 0 solid, 1
	// dashed (e.g. op=sum beside op=range).
	Variant int
	Points  []SweepPoint // by increasing X
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
	// Device is the run's device-side trace (nil when not recorded).
	Device *nvmetrace.Result
}

// modeStyle is a mode's colour in every figure (workload.Mode.Style).
func modeStyle(mode string) (int, bool) {
	if m, ok := workload.ModeOf(mode); ok {
		return m.Style, true
	}
	return 0, false
}

// StyleOf is a mode's colour; unknown modes get a colour no mode uses.
func StyleOf(mode string) int {
	if st, ok := modeStyle(mode); ok {
		return st
	}
	return len(workload.Modes())
}

// Analyze groups a result's ok points into sweeps and single workloads.
func Analyze(r *results.Result) *Analysis {
	a := &Analysis{Groups: Groups(r), Device: r.Device}
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
			if st, ok := modeStyle(l.Mode); ok {
				return st
			}
			return 100
		}
		sort.SliceStable(s.Lines, func(i, j int) bool { return order(s.Lines[i]) < order(s.Lines[j]) })
		styleLines(s.Lines)
		s.Lines, s.Refs = splitRefs(s.Lines)
		a.Sweeps = append(a.Sweeps, s)
	}
	return a
}

// styleLines sorts each line's points and gives it a colour: its mode's,
// a second line of the same mode dashed (Variant 1); further ones, and
// unknown modes, colours no mode uses.
func styleLines(ls []*Line) {
	used := map[int]bool{}
	variants := map[int]int{}
	first := 0 // unknown modes take the colours no known mode uses
	for _, l := range ls {
		if _, ok := modeStyle(l.Mode); ok {
			first = len(workload.Modes())
		}
	}
	for _, l := range ls {
		sort.Slice(l.Points, func(i, j int) bool { return l.Points[i].X < l.Points[j].X })
		st, ok := modeStyle(l.Mode)
		switch {
		case ok && !used[st]:
			l.Style = st
		case ok && variants[st] == 0:
			l.Style, l.Variant = st, 1
			variants[st] = 1
		default:
			st := first
			for used[st] {
				st++
			}
			l.Style = st
		}
		used[l.Style] = true
	}
}

// splitRefs moves the lines measured only with the axis unset (x = 0)
// out of a sweep whose other lines vary it.
func splitRefs(ls []*Line) (lines, refs []*Line) {
	for _, l := range ls {
		if len(l.Points) == 1 && l.Points[0].X == 0 {
			refs = append(refs, l)
		} else {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return ls, nil
	}
	return lines, refs
}

// Title names what the sweep measures.
func (s *Sweep) Title() string {
	if s.Kind == proto.KindBTree && s.Axis.Name == "span" {
		return "B+-tree range and sum queries"
	}
	return workload.TitleOf(s.Kind)
}

// Experiment names the experiment (shared/README.md section 5) a sweep of
// chained reads reproduces, by what it varies; "" for none.
func (s *Sweep) Experiment() string {
	if !workload.Chained(s.Kind) {
		return ""
	}
	return s.Axis.Experiment
}

// Baseline returns the line l is compared with: same workload, mode
// BaselineMode (a reference line when the baseline is one). Nil for the
// baseline itself or when there is none.
func (s *Sweep) Baseline(l *Line) *Line {
	if l.Mode == BaselineMode || l.Mode == "" {
		return nil
	}
	return s.Sibling(l, BaselineMode)
}

// Sibling returns the line (or reference line) of the sweep with l's
// workload in mode instead of l's, nil if there is none.
func (s *Sweep) Sibling(l *Line, mode string) *Line {
	want := l.Base
	want.Mode = mode
	for _, ls := range [][]*Line{s.Lines, s.Refs} {
		for _, o := range ls {
			if o.Base == want {
				return o
			}
		}
	}
	return nil
}

// BaselineAt is the baseline group of l at x: the baseline line's point at
// x, or a reference baseline's only point at any x.
func (s *Sweep) BaselineAt(l *Line, x int) (Group, bool) {
	b := s.Baseline(l)
	if b == nil {
		return Group{}, false
	}
	if len(b.Points) == 1 && b.Points[0].X == 0 {
		return b.Points[0].G, true
	}
	return b.At(x)
}

// BaselineOf is the group g is compared with among gs: the same workload
// in mode BaselineMode (for an io_uring batch, the sync pread lookup).
func BaselineOf(gs []Group, g Group) (Group, bool) {
	w := g.Points[0].Workload
	if w.Mode == BaselineMode || w.Mode == "" {
		return Group{}, false
	}
	want := w
	want.Mode = BaselineMode
	keys := []string{WorkloadKey(want)}
	if want.Batch > 0 {
		want.Batch = 0
		keys = append(keys, WorkloadKey(want))
	}
	for _, k := range keys {
		for _, o := range gs {
			if o.Key == k {
				return o, true
			}
		}
	}
	return Group{}, false
}

// Depth is the dependent reads per operation of a group: the chain depth,
// or a B+-tree's depth (its BTree section); 0 when unknown.
func (g Group) Depth() int {
	w := g.Points[0].Workload
	if w.Depth > 0 {
		return w.Depth
	}
	if t := g.Points[0].BTree; t != nil {
		return t.Depth
	}
	return 0
}

// Threads is the group's thread count (at least 1).
func (g Group) Threads() int { return max(g.Points[0].Workload.Threads, 1) }

// Ratio is a per-repetition ratio of a mode against the baseline.
type Ratio struct {
	stats.Spread
	// Paired is true when repetitions were paired by index (same VM run,
	// interleaved); false when only the medians could be divided.
	Paired bool
}

// ratio computes f(mode)/f(base) per repetition, pairing by Rep.
func ratio(mode, base Group, f func(*results.Point) float64, invert bool) Ratio {
	byRep := map[int]*results.Point{}
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
	num, den := mode.Spread(f).Median, base.Spread(f).Median
	if invert {
		num, den = den, num
	}
	if den <= 0 {
		return Ratio{}
	}
	v := num / den
	return Ratio{Spread: stats.Spread{N: 1, Median: v, Min: v, Max: v}}
}

func iopsOf(p *results.Point) float64 { return p.IOPS }
func meanOf(p *results.Point) float64 { return p.Summary.MeanNs }

// Speedup is IOPS(mode)/IOPS(base) per repetition.
func Speedup(mode, base Group) Ratio { return ratio(mode, base, iopsOf, false) }

// LatencyRatio is mean latency(base)/mean latency(mode) per repetition.
func LatencyRatio(mode, base Group) Ratio { return ratio(mode, base, meanOf, true) }

func p99Of(p *results.Point) float64 { return float64(p.Summary.P99Ns) }

// P99Ratio is p99(mode)/p99(base) per repetition: below 1 is a shorter tail.
func P99Ratio(mode, base Group) Ratio { return ratio(mode, base, p99Of, false) }

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
	Get  func(*results.Point) float64
	// HigherBetter is true for throughput.
	HigherBetter bool
}

// Stats are the statistics tables and compare report.
var Stats = []Stat{
	{"p50", "µs", func(p *results.Point) float64 { return float64(p.Summary.P50Ns) }, false},
	{"p99", "µs", p99Of, false},
	{"mean", "µs", func(p *results.Point) float64 { return p.Summary.MeanNs }, false},
	{"IOPS", "IOPS", iopsOf, true},
}

// Values returns the per-repetition values of a statistic.
func (g Group) Values(f func(*results.Point) float64) []float64 {
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
				if m, ok := strings.CutPrefix(t, "mode="); ok {
					t = m
					if md, ok := workload.ModeOf(m); ok {
						t = md.Label
					}
				}
				for _, p := range []string{"op=", "dist="} {
					t = strings.TrimPrefix(t, p)
				}
				keep = append(keep, t)
			}
		}
		l.Label = strings.Join(keep, " ")
		if l.Label == "" {
			l.Label = kind
		}
	}
}

// DistOf is a workload's key distribution, uniform when unset.
func DistOf(w proto.Workload) string {
	if w.Dist == "" {
		return "uniform"
	}
	return w.Dist
}

// KV is the kv experiment of a run: chained workloads measured with more
// than one key distribution, everything else alike.
type KV struct {
	Dists []string // uniform first
	// Lines are the workloads with the distribution blanked (one per mode,
	// usually); Points[i].X indexes Dists.
	Lines []*Line
}

// KVOf finds the kv experiment in a run; nil when no workload was measured
// with two key distributions.
func KVOf(a *Analysis) *KV {
	dists := map[string]map[string]bool{}
	for _, g := range a.Groups {
		w := g.Points[0].Workload
		if !workload.Chained(w.Kind) {
			continue
		}
		k := WorkloadKey(noDist(w))
		if dists[k] == nil {
			dists[k] = map[string]bool{}
		}
		dists[k][DistOf(w)] = true
	}
	kv := &KV{}
	lines := map[string]*Line{}
	seen := map[string]bool{}
	for _, g := range a.Groups {
		w := g.Points[0].Workload
		if !workload.Chained(w.Kind) || len(dists[WorkloadKey(noDist(w))]) < 2 {
			continue
		}
		d := DistOf(w)
		if !seen[d] {
			seen[d] = true
			kv.Dists = append(kv.Dists, d)
		}
		base := noDist(w)
		k := WorkloadKey(base)
		l, ok := lines[k]
		if !ok {
			l = &Line{Mode: w.Mode, Base: base}
			lines[k] = l
			kv.Lines = append(kv.Lines, l)
		}
		l.Points = append(l.Points, SweepPoint{G: g})
	}
	if len(kv.Lines) == 0 {
		return nil
	}
	sort.SliceStable(kv.Dists, func(i, j int) bool { return kv.Dists[i] == "uniform" && kv.Dists[j] != "uniform" })
	for _, l := range kv.Lines {
		for i := range l.Points {
			l.Points[i].X = indexOf(kv.Dists, DistOf(l.Points[i].G.Points[0].Workload))
		}
	}
	labelLines(kv.Lines[0].Base.Kind, kv.Lines)
	sort.SliceStable(kv.Lines, func(i, j int) bool { return StyleOf(kv.Lines[i].Mode) < StyleOf(kv.Lines[j].Mode) })
	styleLines(kv.Lines)
	return kv
}

// Keys are the workloads of the kv experiment (none for a nil KV).
func (kv *KV) Keys() map[string]bool {
	in := map[string]bool{}
	if kv == nil {
		return in
	}
	for _, l := range kv.Lines {
		for _, p := range l.Points {
			in[p.G.Key] = true
		}
	}
	return in
}

// LineOf is the line of workload w, whatever its distribution; nil if w
// is not in the kv experiment (or there is none).
func (kv *KV) LineOf(w proto.Workload) *Line {
	var line *Line
	if kv == nil {
		return nil
	}
	for _, l := range kv.Lines {
		if l.Base == noDist(w) {
			line = l
		}
	}
	return line
}

func noDist(w proto.Workload) proto.Workload {
	w.Dist, w.Ops, w.Warmup = "", 0, 0
	return w
}

func indexOf(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}
