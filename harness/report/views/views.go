// Package views writes the report's sections of the experiments of
// shared/README.md section 5 that are more than a table of workloads: kv
// (key distributions side by side), breakdown (a read split into device and
// guest software, and by layer when traced with BPF kprobes), and "Beside
// the papers", every mode against the pread baseline beside the papers'
// numbers.
package views

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/bpfstor/bpfstor/harness/analysis"
	"github.com/bpfstor/bpfstor/harness/internal/cell"
	"github.com/bpfstor/bpfstor/harness/paper"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/harness/stats"
	"github.com/bpfstor/bpfstor/harness/workload"
)

// KVSection is the kv table: every mode under every distribution, against
// pread under the same distribution and against itself under uniform keys.
func KVSection(w io.Writer, a *analysis.Analysis) {
	kv := analysis.KVOf(a)
	if kv == nil {
		return
	}
	fmt.Fprintln(w, "\n## Key distributions (kv experiment)")
	fmt.Fprintf(w, "\n%s Median [min–max] over repetitions; latencies in µs; ratios per repetition, paired by index.\n\n", paper.ExperimentNotes["kv"])
	fmt.Fprintln(w, "| workload | dist | reps | p50 | p99 | mean | IOPS | IOPS vs pread | p99 vs pread | IOPS vs uniform |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, l := range kv.Lines {
		uni, hasUni := l.At(0)
		for _, p := range l.Points {
			g := p.G
			sp, p99 := "—", "—"
			if b, ok := analysis.BaselineOf(a.Groups, g); ok {
				sp, p99 = cell.Ratio(analysis.Speedup(g, b)), pctText(analysis.P99Ratio(g, b))
			}
			vu := "—"
			if hasUni && p.X != 0 {
				vu = cell.Ratio(analysis.Speedup(g, uni))
			}
			fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", cell.MD(l.Label), kv.Dists[p.X], len(g.Points),
				cell.SpreadUs(g.P50()), cell.SpreadUs(g.P99()), cell.SpreadUs(g.Mean()), cell.SpreadIOPS(g.IOPS()), sp, p99, vu)
		}
	}
	fmt.Fprintln(w, "\nThe paper's kv numbers are set beside these in \"Beside the papers\" below.")
}

// pctText is a ratio as a change in percent: "−12 % [−20…−5]".
func pctText(r analysis.Ratio) string {
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
// QEMU trace, doorbell→MSI-X) and the guest's software (the rest) and, when
// its reads were traced (workload trace_layers), into the layers of XRP
// Table 1.
type Breakdown struct {
	G         analysis.Group
	BlockSize int
	// Measured and Device are mean and p50 in ns: measured in the guest
	// (median over repetitions) and on the device (whole trace). Without
	// a trace the device's are 0, and so is Commands.
	MeasuredMean, MeasuredP50 float64
	DeviceMean, DeviceP50     float64
	Commands                  int64
	// Layers is the per-layer split of the traced reads (nil if untraced).
	Layers *LayerSplit
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

// String is the split in one line (two with the layers).
func (b Breakdown) String() string {
	var parts []string
	if b.Commands > 0 {
		parts = append(parts, fmt.Sprintf("Breakdown: %s mean %.1f µs = device %.1f µs + guest software %.1f µs (software %.1f %%; XRP Table 1: %.1f %%).",
			b.G.Key, b.MeasuredMean/1e3, b.DeviceMean/1e3, b.SoftwareMean()/1e3, b.SoftwareShare()*100, xrpSoftwareShare()*100))
	}
	if l := b.Layers; l != nil {
		var segs []string
		for _, sg := range l.Segments {
			segs = append(segs, fmt.Sprintf("%s %.1f", SegmentInfo(sg.Name).Short, sg.Mean.Median/1e3))
		}
		parts = append(parts, fmt.Sprintf("Layers: %s traced read %.1f µs (probes %+.1f µs over the untraced %.1f µs): %s µs.",
			b.G.Key, l.Total()/1e3, l.Overhead.Median/1e3, l.Untraced.Median/1e3, strings.Join(segs, ", ")))
	}
	return strings.Join(parts, "\n")
}

// xrpSoftwareShare is the software's share of XRP Table 1's read, 0..1.
func xrpSoftwareShare() float64 {
	return (paper.XRPTable1Total - paper.XRPTable1[len(paper.XRPTable1)-1].Ns) / paper.XRPTable1Total
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
// its device trace, their layers when traced; none without either.
func Breakdowns(a *analysis.Analysis) []Breakdown {
	d := a.Device
	traced := d != nil && d.Paired > 0
	var out []Breakdown
	for _, g := range a.Groups {
		w := g.Points[0].Workload
		if w.Kind != proto.KindPread || w.Threads > 1 {
			continue
		}
		b := Breakdown{G: g, BlockSize: w.BlockSize, MeasuredMean: g.Mean().Median, MeasuredP50: g.P50().Median, Layers: LayerSplitOf(g)}
		if traced {
			b.DeviceMean, b.DeviceP50, b.Commands = d.Summary.MeanNs, float64(d.Summary.P50Ns), d.Paired
		} else if b.Layers == nil {
			continue
		}
		out = append(out, b)
	}
	return out
}

// LayerSplit is where the traced reads of a pread workload went, segment
// by segment (proto.Layers of its repetitions).
type LayerSplit struct {
	Segments []SplitSegment
	// Traced, Untraced and Overhead are the traced reads' mean, the
	// workload's own (untraced) mean and their difference, in ns.
	Traced, Untraced, Overhead analysis.Spread
	Reps                       int
	// Reads and Discarded are summed over repetitions, as are the
	// discarded reads by probe point.
	Reads, Discarded, Overlapped int64
	Missing, Disorder            map[string]int64
}

// SplitSegment is one segment over repetitions.
type SplitSegment struct {
	Name string
	// Mean is the spread of the repetitions' mean durations (ns).
	Mean analysis.Spread
	// Count is the reads measured in it; Log2 their log2 histogram
	// (proto.LayerSegment), both summed over repetitions.
	Count int64
	Log2  []int64
}

// layersOf is a point's layer split, if it has one with segments.
func layersOf(p *results.Point) *proto.Layers {
	if p.Layers == nil || len(p.Layers.Segments) == 0 {
		return nil
	}
	return p.Layers
}

// hopSplitOf is a chain point's driver-hop split, if it has one.
func hopSplitOf(p *results.Point) *proto.Layers {
	if p.Hops == nil || p.Hops.Split == nil || p.Hops.Split.Reads == 0 {
		return nil
	}
	return p.Hops.Split
}

// LayerSplitOf gathers the layer splits of a group's repetitions; nil when
// none was traced. Segments keep the order of the first repetition.
func LayerSplitOf(g analysis.Group) *LayerSplit { return splitOf(g, layersOf) }

// HopSplitOf gathers the driver-hop splits (chain trace_layers) of a
// group's repetitions; nil when none was traced.
func HopSplitOf(g analysis.Group) *LayerSplit { return splitOf(g, hopSplitOf) }

func splitOf(g analysis.Group, get func(*results.Point) *proto.Layers) *LayerSplit {
	s := &LayerSplit{}
	means := map[string][]float64{}
	idx := map[string]int{}
	var traced, untraced, overhead []float64
	for _, p := range g.Points {
		l := get(p)
		if l == nil {
			continue
		}
		s.Reps++
		s.Reads += l.Reads
		s.Discarded += l.Discarded
		s.Overlapped += l.Overlapped
		s.Missing = addCounts(s.Missing, l.Missing)
		s.Disorder = addCounts(s.Disorder, l.Disorder)
		traced, untraced, overhead = append(traced, l.TracedMeanNs), append(untraced, l.UntracedMeanNs), append(overhead, l.OverheadNs)
		for _, sg := range l.Segments {
			i, ok := idx[sg.Name]
			if !ok {
				i = len(s.Segments)
				idx[sg.Name] = i
				s.Segments = append(s.Segments, SplitSegment{Name: sg.Name})
			}
			out := &s.Segments[i]
			out.Count += sg.Count
			for len(out.Log2) < len(sg.Log2) {
				out.Log2 = append(out.Log2, 0)
			}
			for b, c := range sg.Log2 {
				out.Log2[b] += c
			}
			if sg.Count > 0 {
				means[sg.Name] = append(means[sg.Name], sg.MeanNs)
			}
		}
	}
	if s.Reps == 0 {
		return nil
	}
	for i := range s.Segments {
		s.Segments[i].Mean = stats.SpreadOf(means[s.Segments[i].Name])
	}
	s.Traced, s.Untraced, s.Overhead = stats.SpreadOf(traced), stats.SpreadOf(untraced), stats.SpreadOf(overhead)
	return s
}

func addCounts(to, from map[string]int64) map[string]int64 {
	for k, n := range from {
		if to == nil {
			to = map[string]int64{}
		}
		to[k] += n
	}
	return to
}

// Total is the sum of the segments' means (medians over repetitions): the
// traced read the shares are of.
func (s *LayerSplit) Total() float64 {
	t := 0.0
	for _, sg := range s.Segments {
		t += sg.Mean.Median
	}
	return t
}

// Share is a duration's part of the traced read, 0..1.
func (s *LayerSplit) Share(ns float64) float64 {
	if t := s.Total(); t > 0 {
		return ns / t
	}
	return 0
}

// Sum is the summed means (ns) of the named segments.
func (s *LayerSplit) Sum(names ...string) float64 {
	t := 0.0
	for _, sg := range s.Segments {
		if slices.Contains(names, sg.Name) {
			t += sg.Mean.Median
		}
	}
	return t
}

// P50Range is the log2 bucket [lo, hi) ns that holds the segment's median
// read; ok is false without reads.
func (sg SplitSegment) P50Range() (lo, hi float64, ok bool) {
	var n, seen int64
	for _, c := range sg.Log2 {
		n += c
	}
	for b, c := range sg.Log2 {
		seen += c
		if n > 0 && 2*seen >= n {
			if b == 0 {
				return 0, 2, true
			}
			return math.Ldexp(1, b), math.Ldexp(1, b+1), true
		}
	}
	return 0, 0, false
}

// LayerSegment is how the report shows one segment of proto.Layers.
type LayerSegment struct {
	Name   string
	Label  string // table row
	Short  string // one-line summaries
	Probes string // where it starts and ends
	// XRP is the row of XRP Table 1 it is set beside ("" for none).
	XRP string
	// Bar is its layer in the figure (segments of one Bar are summed) and
	// Style that layer's colour.
	Bar   string
	Style int
}

// LayerSegments are the segments of bpf/progs/layers.c in the order a read
// passes them. XRP Table 1 has no completion rows: the completion work sits
// with the device row here.
var LayerSegments = []LayerSegment{
	{proto.SegCrossIn, "user→kernel crossing", "crossing in", "user space → `__x64_sys_pread64`", "user/kernel crossing", "user/kernel crossings", 6},
	{proto.SegSyscall, "syscall", "syscall", "`__x64_sys_pread64` → `blkdev_read_iter`", "syscall", "syscall", 0},
	{proto.SegFile, "file layer (block-device direct I/O)", "file", "`blkdev_read_iter` → `submit_bio`", "file system (ext4)", "file layer (XRP: ext4)", 3},
	{proto.SegBlock, "block layer (bio → request → plug flush)", "block", "`submit_bio` → `nvme_queue_rqs`", "block layer (bio)", "block layer", 4},
	{proto.SegDriver, "NVMe driver submit (doorbell included)", "driver", "`nvme_queue_rqs` entry → return", "NVMe driver", "NVMe driver submit", 2},
	{proto.SegDeviceIRQ, "device + interrupt", "device+irq", "`nvme_queue_rqs` return → `nvme_irq`", "device", "device + interrupt (XRP: device)", 5},
	{proto.SegIRQ, "completion: interrupt → bio done", "irq completion", "`nvme_irq` → `submit_bio_wait_endio`", "device", "completion in the interrupt", 1},
	{proto.SegWake, "completion: wake-up → syscall return", "wake-up+return", "`submit_bio_wait_endio` → `__x64_sys_pread64` return", "device", "wake-up and return", 7},
	{proto.SegCrossOut, "kernel→user crossing", "crossing out", "`__x64_sys_pread64` return → user space", "user/kernel crossing", "user/kernel crossings", 6},
}

// SegmentInfo is the report's view of a segment; one it does not know is
// shown by its name, beside nothing.
func SegmentInfo(name string) LayerSegment {
	for _, ls := range LayerSegments {
		if ls.Name == name {
			return ls
		}
	}
	return LayerSegment{Name: name, Label: name, Short: name, Probes: "—", Bar: name, Style: 7}
}

// BreakdownSection is the breakdown section: the split per pread workload
// beside XRP Table 1, by layer when traced, and the ceiling it sets on
// chained reads.
func BreakdownSection(w io.Writer, a *analysis.Analysis) {
	bs := Breakdowns(a)
	if len(bs) == 0 {
		return
	}
	fmt.Fprintln(w, "\n## Where a read's time goes (breakdown experiment)")
	split := false
	for _, b := range bs {
		split = split || b.Layers != nil
	}
	if bs[0].Commands > 0 {
		deviceSplitMD(w, bs, split)
	}
	for _, b := range bs {
		if b.Layers != nil {
			layersMD(w, b)
		}
	}
	if b := bs[0]; b.Commands > 0 {
		fmt.Fprintf(w, "\nThe ceiling this split sets (shared/README.md section 6): a depth-d chain that pays the full stack once and "+
			"only the device for each later hop speeds up by at most d·(S+D)/((S+D)+(d−1)·D): %.2fx at depth 3, %.2fx at depth 10 "+
			"(S+D = %.1f µs, D = %.1f µs, from %s).\n", b.Ceiling(3), b.Ceiling(10), b.MeasuredMean/1e3, b.DeviceMean/1e3, b.G.Key)
	}
}

// deviceSplitMD is the two-layer table: each pread workload's untraced
// latency against the QEMU trace's device time.
func deviceSplitMD(w io.Writer, bs []Breakdown, split bool) {
	note := paper.ExperimentNotes["breakdown"]
	if split {
		note = "First the device (QEMU trace, doorbell→MSI-X) against the rest, the guest's software; then the guest's own split " +
			"by layer (BPF kprobes)."
	}
	fmt.Fprintf(w, "\n%s Latencies in µs; the guest's numbers are the median over repetitions, the device's are over every "+
		"I/O command of the run (%d paired doorbell→MSI-X, warm-up and every workload included).\n\n", note, bs[0].Commands)
	fmt.Fprintln(w, "| read | statistic | measured in the guest | device (QEMU trace) | guest software (measured − device) | software share |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|")
	for _, b := range bs {
		for _, r := range []struct {
			stat       string
			total, dev float64
		}{{"mean", b.MeasuredMean, b.DeviceMean}, {"p50", b.MeasuredP50, b.DeviceP50}} {
			fmt.Fprintf(w, "| %s | %s | %.1f | %.1f | %.1f | %.1f %% |\n", cell.MD(b.G.Key), r.stat, r.total/1e3, r.dev/1e3,
				(r.total-r.dev)/1e3, (r.total-r.dev)/r.total*100)
		}
	}
	dev := paper.XRPTable1[len(paper.XRPTable1)-1].Ns
	fmt.Fprintf(w, "| XRP Table 1: 512 B random read, Optane | mean | %.2f | %.2f | %.2f | %.1f %% |\n",
		paper.XRPTable1Total/1e3, dev/1e3, (paper.XRPTable1Total-dev)/1e3, xrpSoftwareShare()*100)
	var layers []string
	for _, l := range paper.XRPTable1[:len(paper.XRPTable1)-1] {
		layers = append(layers, fmt.Sprintf("%s %.0f ns", l.Name, l.Ns))
	}
	if split {
		fmt.Fprintf(w, "\nXRP Table 1 splits the software into %s; the section below splits this run's reads the same way. "+
			"The p50 rows subtract medians, which is indicative only.\n", strings.Join(layers, ", "))
	} else {
		fmt.Fprintf(w, "\nXRP Table 1 splits the software into %s. **Not measured yet:** this run does not split the guest "+
			"software into these layers (crossing, syscall, file system, block, driver); that needs the layer trace "+
			"(`trace_layers = true` on the pread workload, guest-side tracing with BPF kprobes). The p50 rows subtract medians, "+
			"which is indicative only.\n", strings.Join(layers, ", "))
	}
	for _, b := range bs {
		if b.DeviceMean > b.MeasuredMean {
			fmt.Fprintf(w, "\nWarning: %s: the device mean exceeds the measured mean; the trace covers other commands too (other workloads, warm-up), so this split does not hold for it.\n", b.G.Key)
		}
	}
}

// layersMD is one pread workload's split by layer: every segment, the
// probes' cost, the split beside XRP Table 1 and the device beside the
// QEMU trace.
func layersMD(w io.Writer, b Breakdown) {
	s := b.Layers
	fmt.Fprintf(w, "\n### Per layer: %s, BPF kprobes in the guest\n\n", cell.MD(b.G.Key))
	fmt.Fprintf(w, "Each repetition ran its reads a second time, as many and the same blocks, with kprobes on the read path "+
		"(`bpf/progs/layers.c`) following the reading thread (the blocks were read once, untimed, before both runs, so that "+
		"both find them in the host's page cache): %d traced reads over %d repetitions, %d (%.1f %%) discarded%s. "+
		"A segment's mean is over the reads kept, median [min–max] over repetitions; shares are of the sum of the segments, "+
		"the traced read. Time stamps: `bpf_ktime_get_ns()` in the kernel, the vDSO's CLOCK_MONOTONIC (the same clock) in user space.\n\n",
		s.Reads, s.Reps, s.Discarded, pct(s.Discarded, s.Reads), discardReasons(s))
	if s.Overlapped > 0 {
		fmt.Fprintf(w, "In %d kept reads (%.1f %%) the interrupt came before `nvme_queue_rq(s)` returned (a fast device, or the host "+
			"descheduled the vCPU that rang the doorbell): for those the driver segment ends at the interrupt and their device "+
			"time is in it, so the driver row is an upper bound and the device row a lower bound.\n\n", s.Overlapped, pct(s.Overlapped, s.Reads))
	}
	fmt.Fprintln(w, "| segment | from → to | mean (µs) | share of the traced read | reads | median read within |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|")
	for _, sg := range s.Segments {
		ls := SegmentInfo(sg.Name)
		within := "—"
		if lo, hi, ok := sg.P50Range(); ok {
			within = fmt.Sprintf("%s–%s µs", trimUs(lo), trimUs(hi))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.1f %% | %d | %s |\n", cell.MD(ls.Label), cell.MD(ls.Probes), cell.SpreadUs(sg.Mean),
			s.Share(sg.Mean.Median)*100, sg.Count, within)
	}
	fmt.Fprintf(w, "| **sum of the segments: the traced read** | | **%.1f** | 100 %% | | |\n", s.Total()/1e3)
	fmt.Fprintf(w, "| traced reads, mean in user space (every traced read) | | %s | | %d | |\n", cell.SpreadUs(s.Traced), s.Reads)
	fmt.Fprintf(w, "| untraced reads, mean (the workload's latency) | | %s | | | |\n", cell.SpreadUs(s.Untraced))
	fmt.Fprintf(w, "| **probe overhead** (traced − untraced mean) | | **%s** | %+.1f %% of the untraced read | | |\n",
		cell.SpreadUs(s.Overhead), s.Overhead.Median/s.Untraced.Median*100)
	fmt.Fprintf(w, "\nUnder TCG a kprobe is an emulated breakpoint trap and a kretprobe a return trampoline: the split is of the "+
		"traced read, %.1f µs longer than an untraced one, and the segments that hold probes are inflated most. Read the shares "+
		"and the order of magnitude, not single microseconds.\n", s.Overhead.Median/1e3)

	fmt.Fprintln(w, "\nBeside XRP Table 1 (512 B random read on Optane, 6.27 µs):")
	fmt.Fprintln(w, "\n| XRP Table 1 row | bpfstor segments | bpfstor (µs) | bpfstor share | XRP (ns) | XRP share |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|")
	soft := 0.0
	for i, row := range paper.XRPTable1 {
		var names, labels []string
		for _, sg := range s.Segments {
			if ls := SegmentInfo(sg.Name); ls.XRP == row.Name {
				names, labels = append(names, sg.Name), append(labels, ls.Label)
			}
		}
		ns := s.Sum(names...)
		if i < len(paper.XRPTable1)-1 {
			soft += ns
		}
		fmt.Fprintf(w, "| %s | %s | %.1f | %.1f %% | %.0f | %.1f %% |\n", cell.MD(row.Name), cell.MD(cell.OrDash(strings.Join(labels, ", "))), ns/1e3,
			s.Share(ns)*100, row.Ns, row.Ns/paper.XRPTable1Total*100)
	}
	fmt.Fprintf(w, "| **software** (all but the device row) | | %.1f | %.1f %% | %.0f | %.1f %% |\n", soft/1e3, s.Share(soft)*100,
		paper.XRPTable1Total-paper.XRPTable1[len(paper.XRPTable1)-1].Ns, xrpSoftwareShare()*100)
	fmt.Fprintln(w, "\nXRP Table 1 has no completion rows; here the completion (interrupt handler, wake-up, return) sits in the "+
		"device row, so bpfstor's software share is a lower bound. The file layer is the raw block device's direct I/O, "+
		"not ext4.")
	if b.Commands > 0 {
		seg := s.Sum(proto.SegDeviceIRQ)
		fmt.Fprintf(w, "\nThe device beside the QEMU trace: in the guest, driver submit → interrupt (`nvme_queue_rqs` return → "+
			"`nvme_irq`) is %.1f µs; on the host, doorbell → MSI-X is %.1f µs (mean over every command of the run, traced or not). "+
			"The difference, %.1f µs, is mostly the interrupt's way from QEMU into the guest (injection, waking the idle vCPU, "+
			"the kprobe on `nvme_irq`) and the return from `nvme_queue_rqs` after the doorbell.\n", seg/1e3, b.DeviceMean/1e3, (seg-b.DeviceMean)/1e3)
	}
}

// discardReasons lists where discarded reads lost a point, if any.
func discardReasons(s *LayerSplit) string {
	var parts []string
	for _, r := range []struct {
		what string
		m    map[string]int64
	}{{"missing", s.Missing}, {"out of order", s.Disorder}} {
		var ks []string
		for k := range r.m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			parts = append(parts, fmt.Sprintf("%s %s: %d", r.what, k, r.m[k]))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

func pct(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of) * 100
}

// trimUs is ns in µs with the digits its size needs (0.51, 2.0, 131).
func trimUs(ns float64) string {
	switch us := ns / 1e3; {
	case us >= 10:
		return fmt.Sprintf("%.0f", us)
	case us >= 1:
		return fmt.Sprintf("%.1f", us)
	default:
		return fmt.Sprintf("%.2f", us)
	}
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
	G, Base        analysis.Group
}

// comparisonTables sets every mode beside its pread baseline: per sweep
// of chained reads, and for chained workloads measured at one point (a
// B+-tree at one depth, or under several key distributions).
func comparisonTables(a *analysis.Analysis) []compTable {
	var ts []compTable
	for _, s := range a.Sweeps {
		exp := s.Experiment()
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
	kv := analysis.KVOf(a)
	inKV := kv.Keys()
	byKind := map[string]*compTable{}
	var order []string
	for _, g := range a.Single {
		w := g.Points[0].Workload
		b, ok := analysis.BaselineOf(a.Single, g)
		if !workload.Chained(w.Kind) || !ok {
			continue
		}
		exp, col, x := "depth", "depth", fmt.Sprint(g.Depth())
		if inKV[g.Key] {
			exp, col, x = "kv", "dist", analysis.DistOf(w)
		}
		k := w.Kind + "/" + exp
		t, ok := byKind[k]
		if !ok {
			title := fmt.Sprintf("%s (%s experiment)", workload.TitleOf(w.Kind), exp)
			if exp == "depth" {
				title = fmt.Sprintf("%s (depth experiment, one point of it)", workload.TitleOf(w.Kind))
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
		if l := kv.LineOf(w); l != nil && exp == "kv" {
			label = l.Label
		}
		t.Rows = append(t.Rows, compRow{X: x, Label: label, Mode: w.Mode, Depth: g.Depth(), Threads: g.Threads(), G: g, Base: b})
	}
	for _, k := range order {
		ts = append(ts, *byKind[k])
	}
	return ts
}

// BesidePapers is the papers' numbers for mode in experiment exp at depth
// and threads, and how the mode's ratios against base compare with each:
// two table cells, a dash for none. The papers' numbers are ratios against
// the mode's peer (workload.PeerOf): against any other base there are none.
func BesidePapers(exp, mode string, depth, threads int, g, base analysis.Group) (papers, ours string) {
	if len(base.Points) == 0 || base.Points[0].Workload.Mode != workload.PeerOf(mode) {
		return "—", "—"
	}
	var ps, vs []string
	for _, an := range paper.For(exp, mode, depth, threads, true) {
		ps = append(ps, an.Label())
		vs = append(vs, an.Judge(ratioFor(an.Metric, g, base).Spread))
	}
	return cell.OrDash(strings.Join(ps, "<br>")), cell.OrDash(strings.Join(vs, "<br>"))
}

// ratioFor is the per-repetition ratio an anchor's metric states.
func ratioFor(metric string, mode, base analysis.Group) analysis.Ratio {
	switch metric {
	case paper.MetricLatency:
		return analysis.LatencyRatio(mode, base)
	case paper.MetricP99:
		return analysis.P99Ratio(mode, base)
	}
	return analysis.Speedup(mode, base)
}

// writeComparison writes one table of "Beside the papers", then what the
// experiment's numbers cannot be compared with.
func writeComparison(w io.Writer, t compTable) {
	fmt.Fprintf(w, "\n### %s\n\n", t.Title)
	fmt.Fprintf(w, "| %s | mode | speedup IOPS(mode)/IOPS(pread) | latency ratio mean(pread)/mean(mode) | p99 change vs pread | paper | ours ÷ paper |\n", t.Col)
	fmt.Fprintln(w, "|---:|---|---:|---:|---:|---|---|")
	for _, r := range t.Rows {
		papers, ours := BesidePapers(t.Exp, r.Mode, r.Depth, r.Threads, r.G, r.Base)
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", r.X, cell.MD(r.Label), cell.Ratio(analysis.Speedup(r.G, r.Base)),
			cell.Ratio(analysis.LatencyRatio(r.G, r.Base)), pctText(analysis.P99Ratio(r.G, r.Base)), papers, ours)
	}
	for _, n := range []string{t.Note, paper.ExperimentNotes[t.Exp]} {
		if n != "" {
			fmt.Fprintf(w, "\n%s\n", n)
		}
	}
	for _, an := range paper.Anchors {
		if an.Experiment == t.Exp && an.Unmeasured != "" {
			fmt.Fprintf(w, "\nNot compared: %s for %s (%s): %s.\n", an.Label(), an.Mode, an.Source, an.Unmeasured)
		}
	}
}

// PapersSection is the section "Beside the papers": every mode against the pread
// baseline beside the papers' numbers, and the numbers used.
func PapersSection(w io.Writer, a *analysis.Analysis) {
	fmt.Fprintln(w, "\n## Beside the papers")
	fmt.Fprintln(w, "\nAbsolute microseconds do not carry over from the papers' Optane drive to this VM; ratios against the "+
		"user-space pread chain do. Ours: median [min–max] of per-repetition ratios (repetitions paired by index).")
	ts := comparisonTables(a)
	for _, t := range ts {
		writeComparison(w, t)
	}
	if len(ts) == 0 {
		fmt.Fprintln(w, "\nThis run has no workload with a paper anchor (chain or B+-tree lookups in modes pread and syscall/driver).")
	}
	fmt.Fprintln(w, "\nThe papers' numbers used (`harness/paper/papers.toml`):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| experiment | mode | depth | metric | paper's ratio | source |")
	fmt.Fprintln(w, "|---|---|---:|---|---:|---|")
	for _, an := range paper.Anchors {
		d := "any"
		if an.Depth > 0 {
			d = fmt.Sprint(an.Depth)
		}
		src := an.Source
		if an.Unmeasured != "" {
			src += " — not measurable yet: " + an.Unmeasured
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", an.Experiment, an.Mode, d, an.Metric, cell.MD(an.Text()), cell.MD(src))
	}
	fmt.Fprintln(w, "\nXRP Table 3 rows for depths 2, 4 and 5 are not in the project's reference notes (shared/README.md) and are left out rather than guessed. "+
		"XRP Fig. 8 (range query and aggregation) has no number there either. XRP Table 1 is set beside the breakdown experiment.")
}

// HopSection is where a driver-resubmitted hop's time goes, per chain
// workload traced with trace_layers (bpf/progs/hop_layers.c), beside the
// workload's own per-hop cost and the device's service time when traced.
func HopSection(w io.Writer, a *analysis.Analysis) {
	first := true
	for _, g := range a.Groups {
		s := HopSplitOf(g)
		if s == nil {
			continue
		}
		if first {
			fmt.Fprintln(w, "\n## Where a driver hop's time goes")
			fmt.Fprintln(w, "\nEach repetition ran its chains a second time, the same chains, with kprobes on the driver's completion path "+
				"(`bpf/progs/hop_layers.c`); only hops the driver resubmitted are split. Segments: wait = the previous hop's resubmission "+
				"to the interrupt (or poll) that found this hop's completion (the device, plus the interrupt's delivery); cqe = that entry "+
				"to the program's call (CQE read, request lookup, checks, DMA sync); prog = the program and the next read's checks; "+
				"submit = the command rewrite, SQE copy, doorbell write. The probes' own cost is inside the segments it falls in.")
			first = false
		}
		fmt.Fprintf(w, "\n%s: %d hops split over %d repetitions, %d (%.1f %%) discarded.\n\n", cell.MD(g.Key), s.Reads, s.Reps, s.Discarded, pct(s.Discarded, s.Reads))
		fmt.Fprintln(w, "| segment | mean µs, median [min–max] over repetitions | share |")
		fmt.Fprintln(w, "|---|---:|---:|")
		for _, sg := range s.Segments {
			fmt.Fprintf(w, "| %s | %s | %.0f %% |\n", sg.Name, cell.SpreadUs(sg.Mean), 100*s.Share(sg.Mean.Median))
		}
	}
}
