package report

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/bpfstor/bpfstor/harness/plot"
	"github.com/bpfstor/bpfstor/harness/proto"
)

// This file reads the experiments of shared/README.md section 5 that are
// not a sweep along one integer axis: kv (key distributions side by side)
// and breakdown (a read split into device and guest software), and sets
// every mode beside the pread baseline for the paper tables.

// chained reports whether a workload kind is a chain of dependent reads
// compared across dispatch modes.
func chained(kind string) bool { return kind == proto.KindChain || kind == proto.KindBTree }

func distOf(w proto.Workload) string {
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
		if !chained(w.Kind) {
			continue
		}
		k := WorkloadKey(noDist(w))
		if dists[k] == nil {
			dists[k] = map[string]bool{}
		}
		dists[k][distOf(w)] = true
	}
	kv := &KV{}
	lines := map[string]*Line{}
	seen := map[string]bool{}
	for _, g := range a.Groups {
		w := g.Points[0].Workload
		if !chained(w.Kind) || len(dists[WorkloadKey(noDist(w))]) < 2 {
			continue
		}
		d := distOf(w)
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
			l.Points[i].X = indexOf(kv.Dists, distOf(l.Points[i].G.Points[0].Workload))
		}
	}
	labelLines(kv.Lines[0].Base.Kind, kv.Lines)
	sort.SliceStable(kv.Lines, func(i, j int) bool { return styleOf(kv.Lines[i].Mode) < styleOf(kv.Lines[j].Mode) })
	styleLines(kv.Lines)
	return kv
}

// keys are the workloads of the kv experiment (none for a nil KV).
func (kv *KV) keys() map[string]bool {
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

// kvFigure is one latency CDF per mode and key distribution in one chart:
// colour by mode, dashed for uniform keys.
func kvFigure(a *Analysis) []Figure {
	kv := KVOf(a)
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
		Title: fmt.Sprintf("%s: latency by key distribution (kv experiment)", kindTitle(kind)),
		Caption: "CDF of every operation's latency, all repetitions merged, one curve per mode and key distribution (" +
			strings.Join(kv.Dists, ", ") + "); dashed: uniform keys. " + ExperimentNotes["kv"],
		Charts: []*plot.Chart{c},
	}}
}

// kvMD is the kv table: every mode under every distribution, against pread
// under the same distribution and against itself under uniform keys.
func kvMD(w io.Writer, a *Analysis) {
	kv := KVOf(a)
	if kv == nil {
		return
	}
	fmt.Fprintln(w, "\n## Key distributions (kv experiment)")
	fmt.Fprintf(w, "\n%s Median [min–max] over repetitions; latencies in µs; ratios per repetition, paired by index.\n\n", ExperimentNotes["kv"])
	fmt.Fprintln(w, "| workload | dist | reps | p50 | p99 | mean | IOPS | IOPS vs pread | p99 vs pread | IOPS vs uniform |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, l := range kv.Lines {
		uni, hasUni := l.At(0)
		for _, p := range l.Points {
			g := p.G
			sp, p99 := "—", "—"
			if b, ok := baselineOf(a.Groups, g); ok {
				sp, p99 = ratioText(Speedup(g, b)), pctText(P99Ratio(g, b))
			}
			vu := "—"
			if hasUni && p.X != 0 {
				vu = ratioText(Speedup(g, uni))
			}
			fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", md(l.Label), kv.Dists[p.X], len(g.Points),
				spreadUs(g.P50()), spreadUs(g.P99()), spreadUs(g.Mean()), spreadIOPS(g.IOPS()), sp, p99, vu)
		}
	}
	fmt.Fprintln(w, "\nThe paper's kv numbers are set beside these in \"Beside the papers\" below.")
}

// pctText is a ratio as a change in percent: "−12 % [−20…−5]".
func pctText(r Ratio) string {
	if r.N == 0 {
		return "—"
	}
	pc := func(v float64) string { return strings.Replace(fmt.Sprintf("%+.0f", (v-1)*100), "-", "−", 1) }
	if !r.Paired {
		return pc(r.Median) + " % (ratio of medians)"
	}
	return fmt.Sprintf("%s %% [%s…%s]", pc(r.Median), pc(r.Min), pc(r.Max))
}

// Breakdown splits one pread workload's latency into the device (the run's
// QEMU trace, doorbell→MSI-X) and the guest's software (the rest).
type Breakdown struct {
	G         Group
	BlockSize int
	// Measured and Device are mean and p50 in ns: measured in the guest
	// (median over repetitions) and on the device (whole trace).
	MeasuredMean, MeasuredP50 float64
	DeviceMean, DeviceP50     float64
	Commands                  int64
}

// SoftwareMean is the guest software's part of the mean.
func (b Breakdown) SoftwareMean() float64 { return b.MeasuredMean - b.DeviceMean }

// SoftwareShare is the software's part of the mean, 0..1.
func (b Breakdown) SoftwareShare() float64 {
	if b.MeasuredMean <= 0 {
		return 0
	}
	return b.SoftwareMean() / b.MeasuredMean
}

// String is the split in one line.
func (b Breakdown) String() string {
	return fmt.Sprintf("Breakdown: %s mean %.1f µs = device %.1f µs + guest software %.1f µs (software %.1f %%; XRP Table 1: %.1f %%).",
		b.G.Key, b.MeasuredMean/1e3, b.DeviceMean/1e3, b.SoftwareMean()/1e3, b.SoftwareShare()*100,
		(XRPTable1Total-XRPTable1[len(XRPTable1)-1].Ns)/XRPTable1Total*100)
}

// Ceiling is the most a depth-d chain that pays the full stack once and
// only the device for each later hop can speed up over d full reads:
// d·(S+D) / ((S+D) + (d−1)·D) (shared/README.md section 6).
func (b Breakdown) Ceiling(d int) float64 {
	t, dev := b.MeasuredMean, math.Min(b.DeviceMean, b.MeasuredMean)
	if t <= 0 {
		return 0
	}
	return float64(d) * t / (t + float64(d-1)*dev)
}

// Breakdowns are the run's plain pread workloads (one thread) split with
// its device trace; none without a trace.
func Breakdowns(a *Analysis) []Breakdown {
	d := a.Device
	if d == nil || d.Paired == 0 {
		return nil
	}
	var out []Breakdown
	for _, g := range a.Groups {
		w := g.Points[0].Workload
		if w.Kind != proto.KindPread || w.Threads > 1 {
			continue
		}
		out = append(out, Breakdown{G: g, BlockSize: w.BlockSize,
			MeasuredMean: g.Mean().Median, MeasuredP50: g.P50().Median,
			DeviceMean: d.Summary.MeanNs, DeviceP50: float64(d.Summary.P50Ns), Commands: d.Paired})
	}
	return out
}

// Bar colours of the breakdown, device at the bottom.
const (
	styleDevice   = 5 // sky blue
	styleSoftware = 1 // vermillion: the guest software, not split yet
)

// xrpLayerStyles colours XRP Table 1's software layers (driver up to the
// crossing), none the colour of the device or the unsplit software.
var xrpLayerStyles = map[string]int{"NVMe driver": 2, "block layer (bio)": 4, "file system (ext4)": 3, "syscall": 0, "user/kernel crossing": 6}

// breakdownFigure is the device/software split of the first plain pread
// workload: this run in µs, and as shares beside XRP Table 1.
func breakdownFigure(a *Analysis) []Figure {
	bs := Breakdowns(a)
	if len(bs) == 0 {
		return nil
	}
	b := bs[0]
	soft := func(total, dev float64) float64 { return math.Max(total-dev, 0) * usPerNs }
	abs := &plot.Chart{
		Title:      fmt.Sprintf("this run: one %d B pread (µs)", b.BlockSize),
		YLabel:     "latency (µs)",
		YFrom0:     true,
		Categories: []string{"mean", "p50"},
		BarLabel:   "%.0f",
		Bars: []plot.Bar{
			{Label: "device (QEMU trace)", Values: []float64{b.DeviceMean * usPerNs, b.DeviceP50 * usPerNs}, Style: styleDevice},
			{Label: "guest software", Values: []float64{soft(b.MeasuredMean, b.DeviceMean), soft(b.MeasuredP50, b.DeviceP50)}, Style: styleSoftware},
		},
	}
	devPct := math.Min(b.DeviceMean/b.MeasuredMean, 1) * 100
	share := &plot.Chart{
		Title:      "share of a read: this run vs XRP Table 1 (%)",
		YLabel:     "% of the read's mean latency",
		Categories: []string{"bpfstor", "XRP Table 1"},
		YMin:       0, YMax: 100,
		BarLabel: "%.0f",
		BarWidth: 48,
		Legend:   plot.Outside,
	}
	share.Bars = append(share.Bars,
		plot.Bar{Label: "device", Values: []float64{devPct, XRPTable1[len(XRPTable1)-1].Ns / XRPTable1Total * 100}, Style: styleDevice},
		plot.Bar{Label: "guest software (not split yet)", Values: []float64{100 - devPct, 0}, Style: styleSoftware})
	for i := len(XRPTable1) - 2; i >= 0; i-- { // driver first: the stack goes up the layers
		l := XRPTable1[i]
		share.Bars = append(share.Bars, plot.Bar{Label: "XRP: " + l.Name, Values: []float64{0, l.Ns / XRPTable1Total * 100}, Style: xrpLayerStyles[l.Name]})
	}
	return []Figure{{
		File:  "breakdown.png",
		Title: fmt.Sprintf("where a %d B read's time goes (breakdown experiment)", b.BlockSize),
		Caption: fmt.Sprintf("Left: this run's %s, mean and p50 (median over repetitions), split into the device (QEMU trace, "+
			"doorbell→MSI-X, %d commands) and the guest's software (measured − device). Right: the same mean as shares beside XRP Table 1 "+
			"(6.27 µs on Optane, software 48.6 %%). The guest software is not yet split into XRP's layers (crossing, syscall, "+
			"file system, block, driver): that needs guest-side tracing (roadmap).", b.G.Key, b.Commands),
		Charts: []*plot.Chart{abs, share},
	}}
}

// breakdownMD is the breakdown section: the split per pread workload
// beside XRP Table 1, what is not measured yet, and the ceiling it sets
// on chained reads.
func breakdownMD(w io.Writer, a *Analysis) {
	bs := Breakdowns(a)
	if len(bs) == 0 {
		return
	}
	fmt.Fprintln(w, "\n## Where a read's time goes (breakdown experiment)")
	fmt.Fprintf(w, "\n%s Latencies in µs; the guest's numbers are the median over repetitions, the device's are over every "+
		"I/O command of the run (%d paired doorbell→MSI-X, warm-up and every workload included).\n\n", ExperimentNotes["breakdown"], bs[0].Commands)
	fmt.Fprintln(w, "| read | statistic | measured in the guest | device (QEMU trace) | guest software (measured − device) | software share |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|")
	for _, b := range bs {
		for _, r := range []struct {
			stat       string
			total, dev float64
		}{{"mean", b.MeasuredMean, b.DeviceMean}, {"p50", b.MeasuredP50, b.DeviceP50}} {
			fmt.Fprintf(w, "| %s | %s | %.1f | %.1f | %.1f | %.1f %% |\n", md(b.G.Key), r.stat, r.total/1e3, r.dev/1e3,
				(r.total-r.dev)/1e3, (r.total-r.dev)/r.total*100)
		}
	}
	dev := XRPTable1[len(XRPTable1)-1].Ns
	fmt.Fprintf(w, "| XRP Table 1: 512 B random read, Optane | mean | %.2f | %.2f | %.2f | %.1f %% |\n",
		XRPTable1Total/1e3, dev/1e3, (XRPTable1Total-dev)/1e3, (XRPTable1Total-dev)/XRPTable1Total*100)
	var layers []string
	for _, l := range XRPTable1[:len(XRPTable1)-1] {
		layers = append(layers, fmt.Sprintf("%s %.0f ns", l.Name, l.Ns))
	}
	fmt.Fprintf(w, "\nXRP Table 1 splits the software into %s. **Not measured yet:** bpfstor does not split the guest "+
		"software into these layers (crossing, syscall, file system, block, driver); that needs guest-side tracing "+
		"(roadmap, shared/README.md section 8). The p50 rows subtract medians, which is indicative only.\n", strings.Join(layers, ", "))
	for _, b := range bs {
		if b.DeviceMean > b.MeasuredMean {
			fmt.Fprintf(w, "\nWarning: %s: the device mean exceeds the measured mean; the trace covers other commands too (other workloads, warm-up), so this split does not hold for it.\n", b.G.Key)
		}
	}
	b := bs[0]
	fmt.Fprintf(w, "\nThe ceiling this split sets (shared/README.md section 6): a depth-d chain that pays the full stack once and "+
		"only the device for each later hop speeds up by at most d·(S+D)/((S+D)+(d−1)·D): %.2fx at depth 3, %.2fx at depth 10 "+
		"(S+D = %.1f µs, D = %.1f µs, from %s).\n", b.Ceiling(3), b.Ceiling(10), b.MeasuredMean/1e3, b.DeviceMean/1e3, b.G.Key)
}

// compTable is one table of "Beside the papers": modes against the pread
// baseline, one row per measured point, with the anchors that apply.
type compTable struct {
	Title string
	Exp   string
	Col   string // what the first column holds
	Note  string
	Rows  []compRow
}

type compRow struct {
	X, Label, Mode string
	Depth, Threads int
	G, Base        Group
}

// comparisonTables sets every mode beside its pread baseline: per sweep
// of chained reads, and for chained workloads measured at one point (a
// B+-tree at one depth, or under several key distributions).
func comparisonTables(a *Analysis) []compTable {
	var ts []compTable
	for _, s := range a.Sweeps {
		exp := SweepExperiment(s)
		if exp == "" {
			continue
		}
		t := compTable{Title: fmt.Sprintf("%s (%s experiment)", s.Title(), exp), Exp: exp, Col: s.Axis.Name}
		for _, l := range s.Lines {
			for _, p := range l.Points {
				if bg, ok := s.BaselineAt(l, p.X); ok {
					t.Rows = append(t.Rows, compRow{X: fmt.Sprint(p.X), Label: l.Label, Mode: l.Mode,
						Depth: p.G.Depth(), Threads: p.G.Threads(), G: p.G, Base: bg})
				}
			}
		}
		for _, l := range s.Refs {
			if bg, ok := s.BaselineAt(l, 0); ok {
				g := l.Points[0].G
				t.Rows = append(t.Rows, compRow{X: "none", Label: l.Label, Mode: l.Mode, Depth: g.Depth(), Threads: g.Threads(), G: g, Base: bg})
			}
		}
		if len(t.Rows) > 0 {
			ts = append(ts, t)
		}
	}
	kv := KVOf(a)
	inKV := kv.keys()
	byKind := map[string]*compTable{}
	var order []string
	for _, g := range a.Single {
		w := g.Points[0].Workload
		b, ok := baselineOf(a.Single, g)
		if !chained(w.Kind) || !ok {
			continue
		}
		exp, col, x := "depth", "depth", fmt.Sprint(g.Depth())
		if inKV[g.Key] {
			exp, col, x = "kv", "dist", distOf(w)
		}
		k := w.Kind + "/" + exp
		t, ok := byKind[k]
		if !ok {
			title := fmt.Sprintf("%s (%s experiment)", kindTitle(w.Kind), exp)
			if exp == "depth" {
				title = fmt.Sprintf("%s (depth experiment, one point of it)", kindTitle(w.Kind))
			}
			t = &compTable{Title: title, Exp: exp, Col: col}
			if exp == "depth" {
				t.Note = "A B+-tree run measures one tree depth (one data image); the suite report (`bpfstor run --suite default`, " +
					"or `bpfstor report RUNDIR...`) sets the depths side by side."
			}
			byKind[k] = t
			order = append(order, k)
		}
		label := w.Mode
		if exp == "kv" {
			for _, l := range kv.Lines {
				if l.Base == noDist(w) {
					label = l.Label
				}
			}
		}
		t.Rows = append(t.Rows, compRow{X: x, Label: label, Mode: w.Mode, Depth: g.Depth(), Threads: g.Threads(), G: g, Base: b})
	}
	for _, k := range order {
		ts = append(ts, *byKind[k])
	}
	return ts
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

// writeComparison writes one table of "Beside the papers", then what the
// experiment's numbers cannot be compared with.
func writeComparison(w io.Writer, t compTable) {
	fmt.Fprintf(w, "\n### %s\n\n", t.Title)
	fmt.Fprintf(w, "| %s | mode | speedup IOPS(mode)/IOPS(pread) | latency ratio mean(pread)/mean(mode) | p99 change vs pread | paper | ours ÷ paper |\n", t.Col)
	fmt.Fprintln(w, "|---:|---|---:|---:|---:|---|---|")
	for _, r := range t.Rows {
		var paper, vs []string
		for _, an := range anchorsFor(t.Exp, r.Mode, r.Depth, r.Threads, true) {
			paper = append(paper, fmt.Sprintf("%s %s %s", an.Paper, metricName(an.Metric), an.Text()))
			vs = append(vs, an.Judge(RatioFor(an.Metric, r.G, r.Base)))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", r.X, md(r.Label), ratioText(Speedup(r.G, r.Base)),
			ratioText(LatencyRatio(r.G, r.Base)), pctText(P99Ratio(r.G, r.Base)),
			orDash(strings.Join(paper, "<br>")), orDash(strings.Join(vs, "<br>")))
	}
	for _, n := range []string{t.Note, ExperimentNotes[t.Exp]} {
		if n != "" {
			fmt.Fprintf(w, "\n%s\n", n)
		}
	}
	for _, an := range Paper {
		if an.Experiment == t.Exp && an.Unmeasured != "" {
			fmt.Fprintf(w, "\nNot compared: %s %s %s for %s (%s): %s.\n", an.Paper, metricName(an.Metric), an.Text(), an.Mode, an.Source, an.Unmeasured)
		}
	}
}
