package report

import (
	"fmt"
	"math"
	"sort"

	"github.com/bpfstor/bpfstor/harness/plot"
	"github.com/bpfstor/bpfstor/harness/proto"
)

// Figure is one PNG of the report.
type Figure struct {
	File    string // name in the run directory
	Title   string
	Caption string
	Charts  []*plot.Chart // side by side
	// Err is why the figure could not be drawn (set by Write).
	Err error
}

// FigureFunc makes the figures of one sweep. A new experiment kind that
// needs more than the generic sweep figures registers one in SweepFigures.
type FigureFunc func(a *Analysis, s *Sweep) []Figure

// SweepFigures are applied to every sweep, in order.
var SweepFigures = []FigureFunc{latencyFigure, iopsFigure, speedupFigure, sweepCDFFigure}

// SingleFigures are applied to the workloads nothing is swept in.
var SingleFigures = []func(a *Analysis) []Figure{singleLatencyFigure, singleCDFFigure}

// Figures returns every figure of an analysis.
func Figures(a *Analysis) []Figure {
	var fs []Figure
	for _, f := range SingleFigures {
		fs = append(fs, f(a)...)
	}
	for _, s := range a.Sweeps {
		for _, f := range SweepFigures {
			fs = append(fs, f(a, s)...)
		}
	}
	return fs
}

const usPerNs = 1e-3

// spreadSeries is one line of a sweep: the median over repetitions with
// min–max error bars of f, scaled.
// The i-th of n lines is shifted sideways a little so that error bars at
// the same x stay apart.
func (sw *Sweep) spreadSeries(l *Line, f func(*proto.Point) float64, scale float64, i, n int) plot.Series {
	s := plot.Series{Label: l.Label, Style: l.Style}
	if n == 1 { // nothing to tell apart: no legend
		s.Label = ""
	}
	for _, p := range l.Points {
		sp := p.G.spread(f)
		s.X = append(s.X, sw.xAt(p.X, i, n))
		s.Y = append(s.Y, sp.Median*scale)
		s.Lo = append(s.Lo, sp.Min*scale)
		s.Hi = append(s.Hi, sp.Max*scale)
	}
	return s
}

// logAxis is true when the swept values span a factor of 16 or more
// (batch sizes 1..256, block sizes): they are then drawn on a log axis.
func (sw *Sweep) logAxis() bool {
	lo, hi := math.Inf(1), 0.0
	for _, l := range sw.Lines {
		for _, p := range l.Points {
			lo, hi = math.Min(lo, float64(p.X)), math.Max(hi, float64(p.X))
		}
	}
	return lo > 0 && hi/lo >= 16
}

// setX sets up a chart's x axis for the sweep: every integer on a linear
// axis, or exactly the measured values on a log axis.
func (sw *Sweep) setX(c *plot.Chart) {
	c.XLabel = sw.Axis.Label
	if !sw.logAxis() {
		c.IntegerX = true
		return
	}
	c.LogX = true
	c.XLabel += ", log scale"
	seen := map[int]bool{}
	for _, l := range sw.Lines {
		for _, p := range l.Points {
			if !seen[p.X] {
				seen[p.X] = true
				c.XTicks = append(c.XTicks, float64(p.X))
			}
		}
	}
	sort.Float64s(c.XTicks)
}

// xAt is where the i-th of n series draws x: shifted sideways a little so
// that error bars at the same x stay apart.
func (sw *Sweep) xAt(x, i, n int) float64 {
	if n < 2 {
		return float64(x)
	}
	off := float64(i) - float64(n-1)/2
	if sw.logAxis() {
		return float64(x) * math.Pow(10, off*0.012)
	}
	return float64(x) + off*0.08
}

func kindTitle(k string) string {
	switch k {
	case "chain":
		return "dependent-read chain"
	case "btree":
		return "B+-tree lookup"
	}
	return k
}

func latencyFigure(_ *Analysis, s *Sweep) []Figure {
	mk := func(stat string, f func(*proto.Point) float64) *plot.Chart {
		c := &plot.Chart{
			Title:  fmt.Sprintf("%s: %s latency", kindTitle(s.Kind), stat),
			YLabel: stat + " latency (µs)",
			YFrom0: true,
		}
		s.setX(c)
		for i, l := range s.Lines {
			c.Series = append(c.Series, s.spreadSeries(l, f, usPerNs, i, len(s.Lines)))
		}
		return c
	}
	return []Figure{{
		File:  s.Kind + "-latency.png",
		Title: fmt.Sprintf("%s: latency vs %s", kindTitle(s.Kind), s.Axis.Name),
		Caption: "Mean (left) and p99 (right) latency per operation; points are the median over repetitions, " +
			"bars the min–max over repetitions.",
		Charts: []*plot.Chart{
			mk("mean", meanOf),
			mk("p99", func(p *proto.Point) float64 { return float64(p.Summary.P99Ns) }),
		},
	}}
}

func iopsFigure(_ *Analysis, s *Sweep) []Figure {
	c := &plot.Chart{
		Title:  fmt.Sprintf("%s: throughput", kindTitle(s.Kind)),
		YLabel: "thousand operations per second (K IOPS)",
		YFrom0: true,
	}
	s.setX(c)
	for i, l := range s.Lines {
		c.Series = append(c.Series, s.spreadSeries(l, iopsOf, 1e-3, i, len(s.Lines)))
	}
	return []Figure{{
		File:    s.Kind + "-iops.png",
		Title:   fmt.Sprintf("%s: IOPS vs %s", kindTitle(s.Kind), s.Axis.Name),
		Caption: "Operations per second as the guest workload counts them; median over repetitions, bars min–max.",
		Charts:  []*plot.Chart{c},
	}}
}

func speedupFigure(_ *Analysis, s *Sweep) []Figure {
	c := &plot.Chart{
		Title:  fmt.Sprintf("%s: speedup over mode pread (user-space chain)", kindTitle(s.Kind)),
		YLabel: "speedup vs mode pread (IOPS ratio)",
	}
	s.setX(c)
	nb := 0
	for _, l := range s.Lines {
		if s.Baseline(l) != nil {
			nb++
		}
	}
	i := -1
	for _, l := range s.Lines {
		b := s.Baseline(l)
		if b == nil {
			continue
		}
		i++
		sr := plot.Series{Label: l.Label + " (measured)", Style: l.Style}
		for _, p := range l.Points {
			bg, ok := b.At(p.X)
			if !ok {
				continue
			}
			r := Speedup(p.G, bg)
			sr.X = append(sr.X, s.xAt(p.X, i, nb))
			sr.Y = append(sr.Y, r.Median)
			sr.Lo = append(sr.Lo, r.Min)
			sr.Hi = append(sr.Hi, r.Max)
		}
		if len(sr.X) > 0 {
			c.Series = append(c.Series, sr)
		}
	}
	if len(c.Series) == 0 {
		return nil
	}
	c.HLines = append(c.HLines, plot.HLine{Y: 1, Style: 7})
	anchors := 0
	if exp, ok := Experiments[s.Kind]; ok {
		for _, l := range s.Lines {
			if s.Baseline(l) == nil {
				continue
			}
			var hotos, xrp plot.Series
			hotos = plot.Series{Label: "HotOS'21 " + l.Mode + " (paper)", Style: l.Style, Anchor: true}
			xrp = plot.Series{Label: "XRP Table 3, latency ratio (paper)", Style: l.Style, Anchor: true, Shape: plot.ShapeSquare}
			for _, a := range Paper {
				if a.Experiment != exp || a.Mode != l.Mode {
					continue
				}
				switch {
				case a.Depth == 0 && a.Bound:
					c.HLines = append(c.HLines, plot.HLine{Y: a.R(), Style: l.Style,
						Label: fmt.Sprintf("%s: %s up to %.3gx", a.Paper, l.Mode, a.R())})
				case s.Axis.Name != "depth":
					// Depth-specific numbers do not place on another axis.
				case a.Paper == PaperHotOS && a.Metric == MetricIOPS:
					hotos.X = append(hotos.X, float64(a.Depth))
					hotos.Y = append(hotos.Y, a.R())
				case a.Paper == PaperXRP && a.Metric == MetricLatency:
					xrp.X = append(xrp.X, float64(a.Depth))
					xrp.Y = append(xrp.Y, a.R())
				}
			}
			for _, sr := range []plot.Series{hotos, xrp} {
				if len(sr.X) > 0 {
					c.Series = append(c.Series, sr)
					anchors++
				}
			}
		}
	}
	caption := "Per-repetition ratio IOPS(mode)/IOPS(pread), repetitions paired by index (same VM run, interleaved); " +
		"median, bars min–max. The grey dotted line is 1x (no change)."
	if anchors > 0 {
		caption += " Rings and squares are the papers' numbers (HotOS: IOPS ratio at depth 10; XRP Table 3: read()/XRP " +
			"mean-latency ratio, which equals the IOPS ratio for one closed-loop thread); dashed lines are the papers' stated maxima."
	}
	return []Figure{{
		File:    s.Kind + "-speedup.png",
		Title:   fmt.Sprintf("%s: speedup vs %s beside the papers", kindTitle(s.Kind), s.Axis.Name),
		Caption: caption,
		Charts:  []*plot.Chart{c},
	}}
}

func sweepCDFFigure(_ *Analysis, s *Sweep) []Figure {
	c := &plot.Chart{
		Title:  fmt.Sprintf("%s: latency CDF", kindTitle(s.Kind)),
		XLabel: "latency (µs, log scale)",
		YLabel: "fraction of operations ≤ latency",
		LogX:   true, YMin: 0, YMax: 1.0001, Legend: plot.BottomRight, // a CDF leaves the bottom right empty
	}
	var lo, hi int
	for _, l := range s.Lines {
		first, last := l.Points[0], l.Points[len(l.Points)-1]
		lo, hi = first.X, last.X
		for i, p := range []SweepPoint{first, last} {
			if i == 1 && last.X == first.X {
				break
			}
			label := fmt.Sprintf("%s, %s %d", l.Label, s.Axis.Name, p.X)
			if len(s.Lines) == 1 {
				label = fmt.Sprintf("%s %d", s.Axis.Name, p.X)
			}
			sr := plot.CDF(label, p.G.Merged(), l.Style)
			sr.Dashed = i == 0
			if len(sr.X) > 0 {
				c.Series = append(c.Series, sr)
			}
		}
	}
	if len(c.Series) == 0 {
		return nil
	}
	return []Figure{{
		File:  s.Kind + "-cdf.png",
		Title: fmt.Sprintf("%s: latency distribution", kindTitle(s.Kind)),
		Caption: fmt.Sprintf("CDF of every operation's latency, all repetitions merged, from the recorded histograms; "+
			"dashed at the smallest %s (%d), solid at the largest (%d).", s.Axis.Name, lo, hi),
		Charts: []*plot.Chart{c},
	}}
}

func singleLatencyFigure(a *Analysis) []Figure {
	if len(a.Single) == 0 {
		return nil
	}
	c := &plot.Chart{
		Title:  "p50 and p99 latency per workload",
		YLabel: "latency (µs)",
		YFrom0: true,
	}
	p50 := plot.Series{Label: "p50", Style: 0, NoLine: true}
	p99 := plot.Series{Label: "p99", Style: 1, NoLine: true}
	for i, g := range a.Single {
		c.Categories = append(c.Categories, g.Key)
		for _, x := range []struct {
			s   *plot.Series
			sp  func() (m, lo, hi float64)
			off float64
		}{
			{&p50, func() (float64, float64, float64) { s := g.P50(); return s.Median, s.Min, s.Max }, -0.12},
			{&p99, func() (float64, float64, float64) { s := g.P99(); return s.Median, s.Min, s.Max }, 0.12},
		} {
			m, lo, hi := x.sp()
			x.s.X = append(x.s.X, float64(i)+x.off)
			x.s.Y = append(x.s.Y, m*usPerNs)
			x.s.Lo = append(x.s.Lo, lo*usPerNs)
			x.s.Hi = append(x.s.Hi, hi*usPerNs)
		}
	}
	c.Series = []plot.Series{p50, p99}
	return []Figure{{
		File:    "latency.png",
		Title:   "p50 and p99 latency per workload",
		Caption: "Median over repetitions; bars are the min–max over repetitions.",
		Charts:  []*plot.Chart{c},
	}}
}

// fioQuantiles are drawn for points without a histogram (fio reports only
// percentiles).
var fioQuantiles = []struct {
	q   float64
	get func(*proto.Point) float64
}{
	{0.5, func(p *proto.Point) float64 { return float64(p.Summary.P50Ns) }},
	{0.9, func(p *proto.Point) float64 { return float64(p.Summary.P90Ns) }},
	{0.99, func(p *proto.Point) float64 { return float64(p.Summary.P99Ns) }},
	{0.999, func(p *proto.Point) float64 { return float64(p.Summary.P999Ns) }},
}

func singleCDFFigure(a *Analysis) []Figure {
	if len(a.Single) == 0 {
		return nil
	}
	c := &plot.Chart{
		Title:  "latency CDF per workload",
		XLabel: "latency (µs, log scale)",
		YLabel: "fraction of operations ≤ latency",
		LogX:   true, YMin: 0, YMax: 1.0001, Legend: plot.BottomRight, // a CDF leaves the bottom right empty
	}
	percentilesOnly := false
	for i, g := range a.Single {
		if h := g.Merged(); h != nil {
			c.Series = append(c.Series, plot.CDF(g.Key, h, i))
			continue
		}
		s := plot.Series{Label: g.Key + " (percentiles only)", Style: i, NoLine: true}
		for _, q := range fioQuantiles {
			v := stat(g, q.get) * usPerNs
			if v > 0 {
				s.X = append(s.X, v)
				s.Y = append(s.Y, q.q)
			}
		}
		if len(s.X) > 0 {
			c.Series = append(c.Series, s)
			percentilesOnly = true
		}
	}
	if len(c.Series) == 0 {
		return nil
	}
	caption := "CDF of every operation's latency, all repetitions merged, from the recorded histograms."
	if percentilesOnly {
		caption += " Workloads without a histogram (fio) show their p50/p90/p99/p99.9 (median over repetitions) as markers."
	}
	return []Figure{{File: "cdf.png", Title: "latency distribution per workload", Caption: caption, Charts: []*plot.Chart{c}}}
}

func stat(g Group, f func(*proto.Point) float64) float64 {
	v := g.spread(f).Median
	if math.IsNaN(v) {
		return 0
	}
	return v
}
