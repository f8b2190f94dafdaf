// Package figures draws the report's PNG figures of a run (harness/plot):
// per sweep, per single workload, and of the kv and breakdown experiments.
package figures

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bpfstor/bpfstor/harness/analysis"
	"github.com/bpfstor/bpfstor/harness/internal/cell"
	"github.com/bpfstor/bpfstor/harness/paper"
	"github.com/bpfstor/bpfstor/harness/plot"
	"github.com/bpfstor/bpfstor/harness/report/views"
	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/harness/workload"
)

// Figure is one PNG of the report.
type Figure struct {
	File    string // name in the run directory
	Title   string
	Caption string
	Charts  []*plot.Chart // side by side
	// Err is why the figure could not be drawn (set by Save).
	Err error
}

// FigureFunc makes the figures of one sweep. A new experiment kind that
// needs more than the generic sweep figures registers one in SweepFigures.
type FigureFunc func(a *analysis.Analysis, s *analysis.Sweep) []Figure

// SweepFigures are applied to every sweep, in order.
var SweepFigures = []FigureFunc{latencyFigure, iopsFigure, speedupFigure, p99VsPreadFigure, sweepCDFFigure}

// RunFigures are applied to the whole analysis: the workloads nothing is
// swept in, and experiments read across workloads (key distributions, the
// device/software split).
var RunFigures = []func(a *analysis.Analysis) []Figure{singleLatencyFigure, singleCDFFigure, kvFigure, breakdownFigure}

// Save draws each figure as a PNG into dir. A figure that cannot be
// drawn gets its Err set (the Markdown names it) and an error here.
func Save(dir string, figs []Figure) []error {
	var errs []error
	for i, f := range figs {
		if err := plot.Save(filepath.Join(dir, f.File), f.Charts...); err != nil {
			figs[i].Err = err
			errs = append(errs, fmt.Errorf("report: figure %s: %w", f.File, err))
		}
	}
	return errs
}

// Figures returns every figure of an analysis.
func Figures(a *analysis.Analysis) []Figure {
	var fs []Figure
	for _, f := range RunFigures {
		fs = append(fs, f(a)...)
	}
	for _, s := range a.Sweeps {
		for _, f := range SweepFigures {
			fs = append(fs, f(a, s)...)
		}
	}
	return fs
}

// Per-repetition statistics the figures draw.
func meanOf(p *results.Point) float64 { return p.Summary.MeanNs }
func p99Of(p *results.Point) float64  { return float64(p.Summary.P99Ns) }
func iopsOf(p *results.Point) float64 { return p.IOPS }

// spreadSeries is one line of a sweep: the median over repetitions with
// min–max error bars of f, scaled.
// The i-th of n lines is shifted sideways a little so that error bars at
// the same x stay apart.
func spreadSeries(sw *analysis.Sweep, l *analysis.Line, f func(*results.Point) float64, scale float64, i, n int) plot.Series {
	s := plot.Series{Label: l.Label, Style: l.Style, Dashed: l.Variant > 0}
	if n == 1 && len(sw.Refs) == 0 { // nothing to tell apart: no legend
		s.Label = ""
	}
	for _, p := range l.Points {
		sp := p.G.Spread(f)
		s.X = append(s.X, xAt(sw, p.X, i, n))
		s.Y = append(s.Y, sp.Median*scale)
		s.Lo = append(s.Lo, sp.Min*scale)
		s.Hi = append(s.Hi, sp.Max*scale)
	}
	return s
}

// logAxis is true when the swept values span a factor of 16 or more
// (batch sizes 1..256, block sizes): they are then drawn on a log axis.
func logAxis(sw *analysis.Sweep) bool {
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
func setX(sw *analysis.Sweep, c *plot.Chart) {
	c.XLabel = sw.Axis.Label
	if !logAxis(sw) {
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
func xAt(sw *analysis.Sweep, x, i, n int) float64 {
	if n < 2 {
		return float64(x)
	}
	off := float64(i) - float64(n-1)/2
	if logAxis(sw) {
		return float64(x) * math.Pow(10, off*0.012)
	}
	return float64(x) + off*0.08
}

// refLines are the sweep's reference lines (see Sweep.Refs) at the median
// of f, scaled.
func refLines(sw *analysis.Sweep, f func(*results.Point) float64, scale float64) []plot.HLine {
	var hs []plot.HLine
	for _, l := range sw.Refs {
		hs = append(hs, plot.HLine{Y: l.Points[0].G.Spread(f).Median * scale, Style: l.Style, Label: refLabel(sw, l)})
	}
	return hs
}

// refLabel names a reference line by what it lacks.
func refLabel(sw *analysis.Sweep, l *analysis.Line) string {
	if sw.Axis.Name == "batch" {
		return l.Label + " (sync, one lookup at a time)"
	}
	return fmt.Sprintf("%s (no %s)", l.Label, sw.Axis.Name)
}

// hasMode reports whether any line of the sweep is in mode m.
func hasMode(sw *analysis.Sweep, m string) bool {
	for _, ls := range [][]*analysis.Line{sw.Lines, sw.Refs} {
		for _, l := range ls {
			if l.Mode == m {
				return true
			}
		}
	}
	return false
}

// notes is what a caption adds for the sweep's experiment: the reference
// lines and, where uring appears, that kernel chaining over io_uring is
// not there yet.
func notes(sw *analysis.Sweep) string {
	var n string
	if len(sw.Refs) > 0 {
		n += " Dotted horizontal lines are workloads without a " + sw.Axis.Name + " (median over repetitions)."
	}
	if hasMode(sw, workload.ModeURing) {
		n += " " + uringNote
	}
	return n
}

// uringNote is said in every caption and section where mode uring appears.
const uringNote = "Mode uring is user-space chaining over io_uring; uring-kernel and uring-driver chain in the kernel " +
	"(IORING_OP_CHAIN_READ at the io_uring and at the driver level); HotOS'21's io_uring numbers are in the io_uring section."

func latencyFigure(_ *analysis.Analysis, s *analysis.Sweep) []Figure {
	mk := func(stat string, f func(*results.Point) float64) *plot.Chart {
		c := &plot.Chart{
			Title:  fmt.Sprintf("%s: %s latency", s.Title(), stat),
			YLabel: stat + " latency (µs)",
			YFrom0: true,
		}
		setX(s, c)
		for i, l := range s.Lines {
			c.Series = append(c.Series, spreadSeries(s, l, f, cell.UsPerNs, i, len(s.Lines)))
		}
		c.HLines = refLines(s, f, cell.UsPerNs)
		return c
	}
	return []Figure{{
		File:  s.Kind + "-latency.png",
		Title: fmt.Sprintf("%s: latency vs %s", s.Title(), s.Axis.Name),
		Caption: "Mean (left) and p99 (right) latency per operation; points are the median over repetitions, " +
			"bars the min–max over repetitions." + notes(s),
		Charts: []*plot.Chart{mk("mean", meanOf), mk("p99", p99Of)},
	}}
}

func iopsFigure(_ *analysis.Analysis, s *analysis.Sweep) []Figure {
	c := &plot.Chart{
		Title:  fmt.Sprintf("%s: throughput", s.Title()),
		YLabel: "thousand operations per second (K IOPS)",
		YFrom0: true,
	}
	setX(s, c)
	for i, l := range s.Lines {
		c.Series = append(c.Series, spreadSeries(s, l, iopsOf, 1e-3, i, len(s.Lines)))
	}
	c.HLines = refLines(s, iopsOf, 1e-3)
	return []Figure{{
		File:    s.Kind + "-iops.png",
		Title:   fmt.Sprintf("%s: IOPS vs %s", s.Title(), s.Axis.Name),
		Caption: "Operations per second as the guest workload counts them; median over repetitions, bars min–max." + notes(s),
		Charts:  []*plot.Chart{c},
	}}
}

func speedupFigure(_ *analysis.Analysis, s *analysis.Sweep) []Figure {
	c := &plot.Chart{
		Title:  fmt.Sprintf("%s: speedup over mode pread (user-space chain)", s.Title()),
		YLabel: "speedup vs mode pread (IOPS ratio)",
	}
	setX(s, c)
	c.Series = ratioSeries(s, " (measured)", analysis.Speedup, 1)
	for _, l := range s.Refs {
		if g, ok := s.BaselineAt(l, 0); ok {
			c.HLines = append(c.HLines, plot.HLine{Y: analysis.Speedup(l.Points[0].G, g).Median, Style: l.Style, Label: refLabel(s, l) + " (measured)"})
		}
	}
	if len(c.Series) == 0 {
		return nil
	}
	c.HLines = append(c.HLines, plot.HLine{Y: 1, Style: 7})
	anchors := 0
	if exp := s.Experiment(); exp != "" {
		for _, l := range s.Lines {
			if s.Baseline(l) == nil {
				continue
			}
			sr, hl := AnchorMarks(exp, l.Mode, l.Style, s.Axis.Name == "depth")
			c.Series = append(c.Series, sr...)
			c.HLines = append(c.HLines, hl...)
			anchors += len(sr) + len(hl)
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
		Title:   fmt.Sprintf("%s: speedup vs %s beside the papers", s.Title(), s.Axis.Name),
		Caption: caption + notes(s),
		Charts:  []*plot.Chart{c},
	}}
}

// ratioSeries is, for every line with a baseline, the per-repetition
// ratio f(line, baseline) at each x (median, bars min–max), scaled.
func ratioSeries(s *analysis.Sweep, suffix string, f func(mode, base analysis.Group) analysis.Ratio, scale float64) []plot.Series {
	nb := 0
	for _, l := range s.Lines {
		if s.Baseline(l) != nil {
			nb++
		}
	}
	var out []plot.Series
	i := -1
	for _, l := range s.Lines {
		if s.Baseline(l) == nil {
			continue
		}
		i++
		sr := plot.Series{Label: l.Label + suffix, Style: l.Style, Dashed: l.Variant > 0}
		for _, p := range l.Points {
			bg, ok := s.BaselineAt(l, p.X)
			if !ok {
				continue
			}
			r := f(p.G, bg)
			if r.N == 0 {
				continue
			}
			sr.X = append(sr.X, xAt(s, p.X, i, nb))
			sr.Y = append(sr.Y, r.Median*scale)
			sr.Lo = append(sr.Lo, r.Min*scale)
			sr.Hi = append(sr.Hi, r.Max*scale)
		}
		if len(sr.X) > 0 {
			out = append(out, sr)
		}
	}
	return out
}

// AnchorMarks are the papers' numbers of an experiment for one mode as
// drawn on a speedup chart: stated maxima as dashed lines, and, when x is
// the depth, HotOS's IOPS ratios as rings and XRP Table 3's latency ratios
// as squares at their depths. Unmeasurable numbers are left out.
func AnchorMarks(exp, mode string, style int, depthAxis bool) ([]plot.Series, []plot.HLine) {
	hotos := plot.Series{Label: "HotOS'21 " + mode + " (paper)", Style: style, Anchor: true}
	xrp := plot.Series{Label: "XRP Table 3, latency ratio (paper)", Style: style, Anchor: true, Shape: plot.ShapeSquare}
	var hls []plot.HLine
	for _, a := range paper.Anchors {
		if !a.Applies(exp, mode) || a.Unmeasured != "" || a.Metric == paper.MetricP99 {
			continue
		}
		switch {
		case a.Depth == 0 && a.Bound:
			hls = append(hls, plot.HLine{Y: a.R(), Style: style, Label: fmt.Sprintf("%s: %s up to %.3gx", a.Paper, mode, a.R())})
		case !depthAxis:
			// Depth-specific numbers do not place on another axis.
		case a.Paper == paper.PaperHotOS && a.Metric == paper.MetricIOPS:
			hotos.X = append(hotos.X, float64(a.Depth))
			hotos.Y = append(hotos.Y, a.R())
		case a.Paper == paper.PaperXRP && a.Metric == paper.MetricLatency:
			xrp.X = append(xrp.X, float64(a.Depth))
			xrp.Y = append(xrp.Y, a.R())
		}
	}
	var srs []plot.Series
	for _, sr := range []plot.Series{hotos, xrp} {
		if len(sr.X) > 0 {
			srs = append(srs, sr)
		}
	}
	return srs, hls
}

// p99VsPreadFigure is the tail against the baseline where the papers state
// a p99 change for the sweep's experiment (XRP's threads numbers).
func p99VsPreadFigure(_ *analysis.Analysis, s *analysis.Sweep) []Figure {
	exp := s.Experiment()
	c := &plot.Chart{
		Title:  fmt.Sprintf("%s: p99 latency change vs mode pread", s.Title()),
		YLabel: "p99 change vs pread (%, below 0 = shorter tail)",
	}
	setX(s, c)
	var anchors []paper.Anchor
	for _, a := range paper.Anchors {
		if a.Applies(exp, a.Mode) && a.Metric == paper.MetricP99 && a.Unmeasured == "" && hasMode(s, a.Mode) {
			anchors = append(anchors, a)
		}
	}
	if len(anchors) == 0 {
		return nil
	}
	for _, sr := range ratioSeries(s, "", analysis.P99Ratio, 100) {
		for i := range sr.Y { // ratio×100 → change in %
			sr.Y[i] -= 100
			sr.Lo[i] -= 100
			sr.Hi[i] -= 100
		}
		c.Series = append(c.Series, sr)
	}
	if len(c.Series) == 0 {
		return nil
	}
	c.HLines = append(c.HLines, plot.HLine{Y: 0, Style: 7})
	var said []string
	for _, a := range anchors {
		for i, r := range []float64{a.Ratio, a.RatioTo} {
			if r == 0 {
				continue
			}
			h := plot.HLine{Y: (r - 1) * 100, Style: analysis.StyleOf(a.Mode)}
			if i == 0 {
				h.Label = fmt.Sprintf("%s %s: %s (paper)", a.Paper, a.Mode, a.Text())
			}
			c.HLines = append(c.HLines, h)
		}
		said = append(said, a.Source)
	}
	return []Figure{{
		File:  s.Kind + "-p99-vs-pread.png",
		Title: fmt.Sprintf("%s: p99 change vs %s beside the papers", s.Title(), s.Axis.Name),
		Caption: "Per-repetition p99(mode)/p99(pread) − 1, repetitions paired by index; median, bars min–max. Dashed lines are " +
			"the papers' stated p99 change (" + strings.Join(said, "; ") + "). The grey dotted line is no change." + notes(s),
		Charts: []*plot.Chart{c},
	}}
}

// cdfChart is an empty latency CDF chart.
func cdfChart(title string) *plot.Chart {
	return &plot.Chart{
		Title:  title,
		XLabel: "latency (µs, log scale)",
		YLabel: "fraction of operations ≤ latency",
		LogX:   true, YMin: 0, YMax: 1.0001, Legend: plot.BottomRight, // a CDF leaves the bottom right empty
	}
}

func sweepCDFFigure(_ *analysis.Analysis, s *analysis.Sweep) []Figure {
	mk := cdfChart
	variants := false
	for _, l := range s.Lines {
		variants = variants || l.Variant > 0
	}
	c := mk(fmt.Sprintf("%s: latency CDF", s.Title()))
	charts := []*plot.Chart{c}
	var lo, hi int
	for _, l := range s.Lines {
		first, last := l.Points[0], l.Points[len(l.Points)-1]
		lo, hi = first.X, last.X
		for i, p := range []analysis.SweepPoint{first, last} {
			if i == 1 && last.X == first.X {
				break
			}
			label := fmt.Sprintf("%s, %s %d", l.Label, s.Axis.Name, p.X)
			switch {
			case variants: // one panel per end; solid and dashed tell a mode's workloads apart
				label = l.Label
			case len(s.Lines) == 1 && len(s.Refs) == 0:
				label = fmt.Sprintf("%s %d", s.Axis.Name, p.X)
			}
			sr := plot.CDF(label, p.G.Merged(), l.Style)
			sr.Dashed = i == 0
			if variants {
				sr.Dashed = l.Variant > 0
				for len(charts) <= i {
					charts = append(charts, mk(""))
				}
				charts[i].Series = append(charts[i].Series, sr)
				continue
			}
			if len(sr.X) > 0 {
				c.Series = append(c.Series, sr)
			}
		}
	}
	for _, l := range s.Refs {
		if sr := plot.CDF(refLabel(s, l), l.Points[0].G.Merged(), l.Style); len(sr.X) > 0 {
			c.Series = append(c.Series, sr)
		}
	}
	caption := fmt.Sprintf("CDF of every operation's latency, all repetitions merged, from the recorded histograms; "+
		"dashed at the smallest %s (%d), solid at the largest (%d).", s.Axis.Name, lo, hi)
	if variants {
		for i, x := range []int{lo, hi} {
			if i < len(charts) {
				charts[i].Title = fmt.Sprintf("%s: latency CDF at %s %d", s.Title(), s.Axis.Name, x)
			}
		}
		caption = fmt.Sprintf("CDF of every operation's latency, all repetitions merged, from the recorded histograms; "+
			"left at the smallest %s (%d), right at the largest (%d); a mode's second workload is dashed.", s.Axis.Name, lo, hi)
	}
	if len(c.Series) == 0 {
		return nil
	}
	return []Figure{{
		File:    s.Kind + "-cdf.png",
		Title:   fmt.Sprintf("%s: latency distribution", s.Title()),
		Caption: caption + notes(s),
		Charts:  charts,
	}}
}

func singleLatencyFigure(a *analysis.Analysis) []Figure {
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
			x.s.Y = append(x.s.Y, m*cell.UsPerNs)
			x.s.Lo = append(x.s.Lo, lo*cell.UsPerNs)
			x.s.Hi = append(x.s.Hi, hi*cell.UsPerNs)
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
	get func(*results.Point) float64
}{
	{0.5, func(p *results.Point) float64 { return float64(p.Summary.P50Ns) }},
	{0.9, func(p *results.Point) float64 { return float64(p.Summary.P90Ns) }},
	{0.99, func(p *results.Point) float64 { return float64(p.Summary.P99Ns) }},
	{0.999, func(p *results.Point) float64 { return float64(p.Summary.P999Ns) }},
}

func singleCDFFigure(a *analysis.Analysis) []Figure {
	if len(a.Single) == 0 {
		return nil
	}
	c := cdfChart("latency CDF per workload")
	percentilesOnly := false
	inKV := analysis.KVOf(a).Keys()
	for i, g := range a.Single {
		if inKV[g.Key] {
			continue // drawn by key distribution in the kv figure
		}
		if h := g.Merged(); h != nil {
			c.Series = append(c.Series, plot.CDF(g.Key, h, i))
			continue
		}
		s := plot.Series{Label: g.Key + " (percentiles only)", Style: i, NoLine: true}
		for _, q := range fioQuantiles {
			v := stat(g, q.get) * cell.UsPerNs
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

func stat(g analysis.Group, f func(*results.Point) float64) float64 {
	v := g.Spread(f).Median
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// kvFigure is one latency CDF per mode and key distribution in one chart:
// colour by mode, dashed for uniform keys.
func kvFigure(a *analysis.Analysis) []Figure {
	kv := analysis.KVOf(a)
	if kv == nil {
		return nil
	}
	c := cdfChart("latency CDF by key distribution")
	for _, l := range kv.Lines {
		for _, p := range l.Points {
			sr := plot.CDF(l.Label+", "+kv.Dists[p.X], p.G.Merged(), l.Style)
			sr.Dashed = kv.Dists[p.X] == "uniform"
			if len(sr.X) > 0 {
				c.Series = append(c.Series, sr)
			}
		}
	}
	if len(c.Series) == 0 {
		return nil
	}
	kind := kv.Lines[0].Base.Kind
	return []Figure{{
		File:  kind + "-kv-cdf.png",
		Title: fmt.Sprintf("%s: latency by key distribution (kv experiment)", workload.TitleOf(kind)),
		Caption: "CDF of every operation's latency, all repetitions merged, one curve per mode and key distribution (" +
			strings.Join(kv.Dists, ", ") + "); dashed: uniform keys. " + paper.ExperimentNotes["kv"],
		Charts: []*plot.Chart{c},
	}}
}

// Bar colours of the breakdown, device at the bottom.
const (
	styleDevice   = 5 // sky blue
	styleSoftware = 1 // vermillion: the guest software, not split yet
)

// xrpLayerStyles colours XRP Table 1's software layers (driver up to the
// crossing), none the colour of the device or the unsplit software.
var xrpLayerStyles = map[string]int{"NVMe driver": 2, "block layer (bio)": 4, "file system (ext4)": 3, "syscall": 0, "user/kernel crossing": 6}

// breakdownFigure is the split of the first plain pread workload: by
// layer when its reads were traced, else device vs software.
func breakdownFigure(a *analysis.Analysis) []Figure {
	bs := views.Breakdowns(a)
	if len(bs) == 0 {
		return nil
	}
	if bs[0].Layers != nil {
		return []Figure{layersFigure(bs[0])}
	}
	b := bs[0]
	soft := func(total, dev float64) float64 { return math.Max(total-dev, 0) * cell.UsPerNs }
	abs := &plot.Chart{
		Title:      fmt.Sprintf("this run: one %d B pread (µs)", b.BlockSize),
		YLabel:     "latency (µs)",
		YFrom0:     true,
		Categories: []string{"mean", "p50"},
		BarLabel:   "%.0f",
		Bars: []plot.Bar{
			{Label: "device (QEMU trace)", Values: []float64{b.DeviceMean * cell.UsPerNs, b.DeviceP50 * cell.UsPerNs}, Style: styleDevice},
			{Label: "guest software", Values: []float64{soft(b.MeasuredMean, b.DeviceMean), soft(b.MeasuredP50, b.DeviceP50)}, Style: styleSoftware},
		},
	}
	devPct := math.Min(b.DeviceMean/b.MeasuredMean, 1) * 100
	share := shareChart("bpfstor")
	share.Bars = append(share.Bars,
		plot.Bar{Label: "device", Values: []float64{devPct, paper.XRPTable1[len(paper.XRPTable1)-1].Ns / paper.XRPTable1Total * 100}, Style: styleDevice},
		plot.Bar{Label: "guest software (not split yet)", Values: []float64{100 - devPct, 0}, Style: styleSoftware})
	for i := len(paper.XRPTable1) - 2; i >= 0; i-- { // driver first: the stack goes up the layers
		l := paper.XRPTable1[i]
		share.Bars = append(share.Bars, plot.Bar{Label: "XRP: " + l.Name, Values: []float64{0, l.Ns / paper.XRPTable1Total * 100}, Style: xrpLayerStyles[l.Name]})
	}
	return []Figure{{
		File:  "breakdown.png",
		Title: fmt.Sprintf("where a %d B read's time goes (breakdown experiment)", b.BlockSize),
		Caption: fmt.Sprintf("Left: this run's %s, mean and p50 (median over repetitions), split into the device (QEMU trace, "+
			"doorbell→MSI-X, %d commands) and the guest's software (measured − device). Right: the same mean as shares beside XRP Table 1 "+
			"(6.27 µs on Optane, software 48.6 %%). The guest software is not split into XRP's layers (crossing, syscall, "+
			"file system, block, driver) in this run: that needs the layer trace (trace_layers = true).", b.G.Key, b.Commands),
		Charts: []*plot.Chart{abs, share},
	}}
}

// layerBar is one layer of the layer figure: the segments summed in it and
// the XRP Table 1 row drawn beside it.
type layerBar struct {
	Label string
	Style int
	Ns    float64
	XRPNs float64
}

// layerBars stacks a split the way XRP Table 1 reads bottom up: the device
// row first, then the driver, block, file and syscall layers, the
// crossings on top; within a row, the read's order. Each XRP row is drawn
// beside the first layer set beside it; segments beside no row go last.
func layerBars(s *views.LayerSplit) []layerBar {
	var bars []layerBar
	at := map[string]int{}
	add := func(ls views.LayerSegment, ns, xrp float64) {
		i, ok := at[ls.Bar]
		if !ok {
			i = len(bars)
			at[ls.Bar] = i
			bars = append(bars, layerBar{Label: ls.Bar, Style: ls.Style, XRPNs: xrp})
		}
		bars[i].Ns += ns
	}
	for r := len(paper.XRPTable1) - 1; r >= 0; r-- {
		row, xrp := paper.XRPTable1[r], paper.XRPTable1[r].Ns
		for _, sg := range s.Segments {
			if ls := views.SegmentInfo(sg.Name); ls.XRP == row.Name {
				add(ls, sg.Mean.Median, xrp)
				xrp = 0
			}
		}
	}
	for _, sg := range s.Segments {
		if ls := views.SegmentInfo(sg.Name); ls.XRP == "" {
			add(ls, sg.Mean.Median, 0)
		}
	}
	return bars
}

// layersFigure draws a traced read by layer: its mean in µs with the
// untraced mean and the QEMU trace's device time beside it, and as shares
// beside XRP Table 1.
func layersFigure(b views.Breakdown) Figure {
	s := b.Layers
	abs := &plot.Chart{
		Title:      fmt.Sprintf("this run: one traced %d B pread, mean (µs)", b.BlockSize),
		YLabel:     "latency (µs)",
		YFrom0:     true,
		Categories: []string{"traced read"},
		BarLabel:   "%.0f",
		BarWidth:   90,
		Legend:     plot.TopRight,
		HLines:     []plot.HLine{{Y: s.Untraced.Median * cell.UsPerNs, Label: "untraced read (mean)", Style: 7}},
	}
	if b.Commands > 0 {
		abs.HLines = append(abs.HLines, plot.HLine{Y: b.DeviceMean * cell.UsPerNs, Label: "device alone (QEMU trace, mean)", Style: 6})
	}
	share := shareChart("bpfstor (traced)")
	for _, lb := range layerBars(s) {
		abs.Bars = append(abs.Bars, plot.Bar{Values: []float64{lb.Ns * cell.UsPerNs}, Style: lb.Style})
		share.Bars = append(share.Bars, plot.Bar{Label: lb.Label, Style: lb.Style,
			Values: []float64{s.Share(lb.Ns) * 100, lb.XRPNs / paper.XRPTable1Total * 100}})
	}
	dev := ""
	if b.Commands > 0 {
		dev = fmt.Sprintf(" The black dashed line is the device alone (QEMU trace, doorbell→MSI-X, mean over %d commands), inside the "+
			"in-guest \"device + interrupt\" segment.", b.Commands)
	}
	return Figure{
		File:  "breakdown.png",
		Title: fmt.Sprintf("where a %d B read's time goes, layer by layer (breakdown experiment)", b.BlockSize),
		Caption: fmt.Sprintf("Left: the mean of %s's traced reads (BPF kprobes in the guest, %d reads over %d repetitions), stacked by "+
			"segment (median over repetitions), the device at the bottom; the grey dashed line is the untraced reads' mean: the gap "+
			"to the top of the bar is what the probes cost (%+.1f µs).%s Right: the same as shares of the traced read beside XRP "+
			"Table 1 (6.27 µs on Optane); XRP has no completion rows, so the completion segments stand beside nothing.",
			b.G.Key, s.Reads, s.Reps, s.Overhead.Median/1e3, dev),
		Charts: []*plot.Chart{abs, share},
	}
}

// shareChart is the right panel of the breakdown figure: this run's read
// (labelled ours) beside XRP Table 1, as shares of the mean latency.
func shareChart(ours string) *plot.Chart {
	return &plot.Chart{
		Title:      "share of a read: this run vs XRP Table 1 (%)",
		YLabel:     "% of the read's mean latency",
		Categories: []string{ours, "XRP Table 1"},
		YMin:       0, YMax: 100,
		BarLabel: "%.0f",
		BarWidth: 48,
		Legend:   plot.Outside,
	}
}
