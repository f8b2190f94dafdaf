package views

import (
	"fmt"
	"io"
	"math"

	"github.com/bpfstor/bpfstor/harness/analysis"
	"github.com/bpfstor/bpfstor/harness/internal/cell"
	"github.com/bpfstor/bpfstor/harness/paper"
	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/harness/stats"
	"github.com/bpfstor/bpfstor/harness/workload"
)

// URingSection is the io_uring batch sweep (the uring experiment): per
// batch, every mode that keeps lookups in flight on a ring, its lookups
// per second beside the device's commands per second and the guest CPU
// time, and each kernel mode against its peer (workload.PeerOf: user-space
// chaining over io_uring) at the same batch, beside HotOS'21 Fig. 3.
func URingSection(w io.Writer, a *analysis.Analysis) {
	first := true
	for _, s := range a.Sweeps {
		if s.Experiment() != "uring" {
			continue
		}
		if first {
			fmt.Fprintln(w, "\n## io_uring: chains in flight (uring experiment)")
			fmt.Fprintf(w, "\n%s\n", paper.ExperimentNotes["uring"])
			fmt.Fprintln(w, "\nMedian [min–max] over repetitions; ratios per repetition, paired by index. Device commands are "+
				"counted in the guest over the measured window: reads the block layer completed on the data disk plus hops the "+
				"NVMe driver resubmitted (the nvme_chain_resubmit tracepoint), which the block layer never sees. Busy CPUs: guest "+
				"CPU time not idle over the window (/proc/stat, 10 ms ticks), in CPUs.")
			first = false
		}
		fmt.Fprintf(w, "\n### %s\n\n", s.Title())
		if !hasPeered(s) {
			fmt.Fprintln(w, "This sweep has no kernel io_uring mode (uring-kernel, uring-driver: run before IORING_OP_CHAIN_READ, "+
				"or not asked for), so nothing here is set beside HotOS'21 Fig. 3.")
			fmt.Fprintln(w)
		}
		peak := peakCommands(s)
		fmt.Fprintln(w, "| batch | mode | lookups/s | device commands/s | commands per lookup | of the sweep's peak commands/s | at the device | busy CPUs | CPU µs per lookup | p50 µs | p99 µs | vs its peer, same batch | paper | ours ÷ paper | limited by |")
		fmt.Fprintln(w, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
		for _, l := range s.Lines {
			for _, p := range l.Points {
				g := p.G
				vs, papers, ours := "—", "—", "—"
				if peer := workload.PeerOf(l.Mode); peer != analysis.BaselineMode {
					if pg, ok := peerAt(s, l, peer, p.X); ok {
						r := analysis.Speedup(g, pg)
						vs = cell.Ratio(r) + " " + peer
						papers, ours = BesidePapers(s.Experiment(), l.Mode, g.Depth(), g.Threads(), g, pg)
					}
				}
				ofPeak := "—"
				if peak > 0 {
					ofPeak = counted(g, func(p *results.Point) float64 { return 100 * cmdsPerSec(p) / peak }, "%.0f %%")
				}
				inFlight := float64(p.X * g.Threads())
				atDev := counted(g, func(q *results.Point) float64 {
					if q.DeviceService == nil {
						return math.NaN()
					}
					return 100 * cmdsPerSec(q) * q.DeviceService.MeanNs / 1e9 / inFlight
				}, "%.0f %%")
				fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", p.X, cell.MD(l.Label),
					cell.SpreadIOPS(g.IOPS()), counted(g, cmdsPerSec, "%.0f"), counted(g, cmdsPerLookup, "%.2f"), ofPeak, atDev,
					counted(g, busyCPUs, "%.2f"), counted(g, cpuUsPerLookup, "%.0f"),
					cell.SpreadUs(g.P50()), cell.SpreadUs(g.P99()), vs, papers, ours, limitedBy(g))
			}
		}
	}
	if !first {
		fmt.Fprintln(w, "\n\"of the sweep's peak\" sets each point's device commands/s beside the most any point of the sweep "+
			"reached (its repetitions' median): a measured lower bound on what the emulated device can serve, so the ceiling "+
			"a mode meets when it stays below it is its own (the CPU, or a doorbell per command), not the device's.")
		fmt.Fprintln(w, "\n\"at the device\" (runs with trace_nvme) is the share of the lookups in flight (batch × threads) whose "+
			"command the emulated device held, by Little's law: device commands/s × the point's mean service time from QEMU's "+
			"trace (the queue's latest doorbell before a command's fetch to its completion, the commands completed while the "+
			"point ran, its warm-up included) ÷ lookups in flight. Near 100 % the device is the ceiling; the rest of the time "+
			"a lookup waits on software (its completion, the program, the next submission). Exact at batch 1; beyond it "+
			"approximate, since with shadow doorbells the driver adds commands to a busy queue without a doorbell write.")
		fmt.Fprintln(w, "\n\"limited by\" reads the busy CPUs: at least 90 % of the guest's CPUs busy is the guest CPU, at most "+
			"half of one CPU busy per thread is waiting on the device (under TCG the emulated device's work runs on the same "+
			"host CPUs, so a device limit here is QEMU's, not a drive's); anything between is said as mixed.")
	}
}

// peakCommands is the largest median device commands/s of the sweep's
// points, 0 when none has counters.
func peakCommands(s *analysis.Sweep) float64 {
	peak := 0.0
	for _, l := range s.Lines {
		for _, p := range l.Points {
			if vs := countedValues(p.G, cmdsPerSec); len(vs) > 0 {
				peak = max(peak, stats.SpreadOf(vs).Median)
			}
		}
	}
	return peak
}

// hasPeered reports whether a line of the sweep has a peer mode.
func hasPeered(s *analysis.Sweep) bool {
	for _, l := range s.Lines {
		if workload.PeerOf(l.Mode) != analysis.BaselineMode {
			return true
		}
	}
	return false
}

// peerAt is the group of the sweep's line of mode peer with l's workload
// at x.
func peerAt(s *analysis.Sweep, l *analysis.Line, peer string, x int) (analysis.Group, bool) {
	if o := s.Sibling(l, peer); o != nil {
		return o.At(x)
	}
	return analysis.Group{}, false
}

func cmdsPerSec(p *results.Point) float64 { return p.Counters.CommandsPerSec() }
func cmdsPerLookup(p *results.Point) float64 {
	return float64(p.Counters.Commands) / float64(max(p.Ops, 1))
}
func busyCPUs(p *results.Point) float64 {
	return p.Counters.BusyShare() * float64(p.Counters.CPUs)
}
func cpuUsPerLookup(p *results.Point) float64 {
	return float64(p.Counters.BusyNs) / 1e3 / float64(max(p.Ops, 1))
}

// countedValues is f over the group's points that have counters, NaNs
// (f has no value for the point) left out.
func countedValues(g analysis.Group, f func(*results.Point) float64) []float64 {
	var vs []float64
	for _, p := range g.Points {
		if p.Counters != nil && p.Counters.WindowNs > 0 {
			if v := f(p); !math.IsNaN(v) {
				vs = append(vs, v)
			}
		}
	}
	return vs
}

// counted formats the spread of countedValues, "—" when there are none.
func counted(g analysis.Group, f func(*results.Point) float64, format string) string {
	vs := countedValues(g, f)
	if len(vs) == 0 {
		return "—"
	}
	s := stats.SpreadOf(vs)
	return fmt.Sprintf(format+" ["+format+"–"+format+"]", s.Median, s.Min, s.Max)
}

// limitedBy is what the group's busy CPUs say limited it (see the note
// under URingSection's table).
func limitedBy(g analysis.Group) string {
	vs := countedValues(g, busyCPUs)
	cpuCounts := countedValues(g, func(p *results.Point) float64 { return float64(p.Counters.CPUs) })
	if len(vs) == 0 || cpuCounts[len(cpuCounts)-1] == 0 {
		return "—"
	}
	cpus := cpuCounts[len(cpuCounts)-1]
	busy := stats.SpreadOf(vs).Median
	switch {
	case busy >= 0.9*cpus:
		return "guest CPU"
	case busy <= 0.5*float64(g.Threads()):
		return "device"
	}
	return "mixed"
}
