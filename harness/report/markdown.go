package report

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bpfstor/bpfstor/harness/analysis"
	"github.com/bpfstor/bpfstor/harness/internal/atomicfile"
	"github.com/bpfstor/bpfstor/harness/internal/cell"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/report/figures"
	"github.com/bpfstor/bpfstor/harness/report/views"
	"github.com/bpfstor/bpfstor/harness/results"
)

// MarkdownFile is the report in a run directory.
const MarkdownFile = "report.md"

// Write writes the report of r into the run directory dir: results.csv,
// one PNG per figure and report.md linking them. It replaces earlier
// report files and touches nothing else in dir. A figure that cannot be
// drawn is named in report.md and in the returned error; the rest of the
// report is still written.
func Write(dir string, r *results.Result) error {
	if err := WriteCSVFile(dir, r); err != nil {
		return err
	}
	a := analysis.Analyze(r)
	figs := figures.Figures(a)
	errs := figures.Save(dir, figs)
	if err := atomicfile.Write(filepath.Join(dir, MarkdownFile), func(w io.Writer) error {
		Markdown(w, r, a, figs)
		return nil
	}); err != nil {
		return err
	}
	// A figure that could not be drawn is named in report.md and here.
	return errors.Join(errs...)
}

// Markdown writes report.md: conditions, figures, the measured table, the
// papers' numbers beside ours, failed points and the fidelity check.
func Markdown(w io.Writer, r *results.Result, a *analysis.Analysis, figs []figures.Figure) {
	m := r.Meta
	fmt.Fprintf(w, "# bpfstor report: %s\n\n", r.Name)
	fmt.Fprintf(w, "Status **%s**", r.Status)
	if r.Reason != "" {
		fmt.Fprintf(w, " (%s)", r.Reason)
	}
	ok, failed := analysis.Statuses(r)
	fmt.Fprintf(w, ": %d points ok, %d failed", ok, failed)
	if r.Expected > 0 {
		fmt.Fprintf(w, ", %d expected", r.Expected)
	}
	fmt.Fprintf(w, ". Spec `%s`", cell.OrDash(m.Spec))
	if !m.Started.IsZero() {
		fmt.Fprintf(w, ", started %s", m.Started.UTC().Format(time.RFC3339))
		if !m.Finished.IsZero() {
			fmt.Fprintf(w, ", took %v", m.Finished.Sub(m.Started).Round(time.Second))
		}
	}
	fmt.Fprintln(w, ".")

	conditions(w, r)
	deviceMD(w, r, a.Groups)
	views.BreakdownSection(w, a)
	views.HopSection(w, a)
	fidelityMD(w, a.Groups)
	measured(w, r, a)
	views.URingSection(w, a)
	views.FileSection(w, a)
	views.KVSection(w, a)
	views.PapersSection(w, a)

	fmt.Fprintln(w, "\n## Figures")
	if len(figs) == 0 {
		fmt.Fprintln(w, "\nNo figure: no point was measured with a latency summary.")
	}
	for _, f := range figs {
		if f.Err != nil {
			fmt.Fprintf(w, "\n### %s\n\n**Could not be drawn:** %s\n", f.Title, cell.MD(f.Err.Error()))
			continue
		}
		fmt.Fprintf(w, "\n### %s\n\n![%s](%s)\n\n%s\n", f.Title, f.Title, f.File, f.Caption)
	}

	problems(w, r)
	fmt.Fprintf(w, "\nThe per-point data are in `%s` (one row per point and repetition) and `%s` (full histograms).\n", CSVFile, results.FileName)
}

func conditions(w io.Writer, r *results.Result) {
	m := r.Meta
	fmt.Fprintln(w, "\n## Conditions")
	fmt.Fprintln(w)
	switch m.Accel {
	case "tcg":
		fmt.Fprintln(w, "> **TCG (software CPU emulation): these latencies are not hardware numbers.** "+
			"Only ratios between variants measured in this run (same VM, interleaved repetitions) are meaningful.")
	case "kvm":
		fmt.Fprintln(w, "> KVM with an emulated QEMU NVMe device: absolute latencies are the emulated device's, "+
			"not a real NVMe drive's. Compare the ratios, not the microseconds, with the papers.")
	default:
		fmt.Fprintf(w, "> Accelerator %q: unknown; treat absolute latencies as not hardware numbers.\n", m.Accel)
	}
	if m.AccelNote != "" {
		fmt.Fprintf(w, ">\n> %s\n", m.AccelNote)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| | |")
	fmt.Fprintln(w, "|---|---|")
	row := func(k, v string) { fmt.Fprintf(w, "| %s | %s |\n", k, cell.MD(v)) }
	row("accelerator", cell.OrDash(m.Accel))
	row("guest clocksource", clocksources(r))
	row("kernel", fmt.Sprintf("%s (%s)", cell.OrDash(m.KernelRelease), cell.OrDash(m.KernelVariant)))
	row("kernel version", cell.OrDash(m.KernelVersion))
	row("patch series", fmt.Sprintf("%s (%d patches)", cell.Short(m.PatchSeriesHash), len(m.Patches)))
	row("config hash", cell.Short(m.ConfigHash))
	row("config fragment hash", cell.Short(m.FragmentHash))
	row("kernel key", cell.Short(m.KernelKey))
	row("QEMU", cell.OrDash(m.QEMUVersion))
	row("guest", fmt.Sprintf("%d vCPU, %d MiB", m.GuestCPUs, m.GuestMemKB/1024))
	row("host CPU", fmt.Sprintf("%s (%d CPUs)", cell.OrDash(m.HostCPU), m.HostCPUs))
	row("host kernel", cell.OrDash(m.HostKernel))
	row("host load (1 min)", fmt.Sprintf("%.2f at start, %.2f at end", m.HostLoadStart[0], m.HostLoadEnd[0]))
	if m.HostOtherCPUs != nil {
		row("other host CPU use", fmt.Sprintf("%.2f CPUs on average while the VM ran (host busy time minus bpfstor's and its VM's)", *m.HostOtherCPUs))
	}
	row("data", fmt.Sprintf("%s %s%s (seed %d)", cell.OrDash(m.DataKind), cell.OrDash(filepath.Base(m.DataImage)), dataFS(m.DataFS), m.DataSeed))
	row("repetitions, seed", fmt.Sprintf("%d, %d", m.Repetitions, m.Seed))
	row("bpfstor", cell.OrDash(m.BpfstorRev))
	if m.HostSteal != nil {
		row("hypervisor steal", fmt.Sprintf("%.1f %% of the host's CPU time while the VM ran (per point: %s)", 100**m.HostSteal, stealRange(r.Points)))
	}
	if warn := loadWarning(m); warn != "" {
		fmt.Fprintf(w, "\nWarning: %s\n", warn)
	}
	if warn := stealWarning(r.Points); warn != "" {
		fmt.Fprintf(w, "\nWarning: %s\n", warn)
	}
}

// stealRange is the least and most host steal of the points.
func stealRange(points []*results.Point) string {
	lo, hi, n := 1.0, 0.0, 0
	for _, p := range points {
		if p.Steal != nil && p.Steal.Host != nil {
			lo, hi, n = min(lo, *p.Steal.Host), max(hi, *p.Steal.Host), n+1
		}
	}
	if n == 0 {
		return "not measured"
	}
	return fmt.Sprintf("%.1f–%.1f %%", 100*lo, 100*hi)
}

// stealWarning names the points measured while the hypervisor stole more
// than stealWarn of the host's CPU time, "" if none: their latencies hold
// time the host did not run, and a ratio between points that saw
// different steal compares different machines.
func stealWarning(points []*results.Point) string {
	var ids []string
	worst := 0.0
	for _, p := range points {
		if p.Steal != nil && p.Steal.Host != nil && *p.Steal.Host > cell.StealWarn {
			ids = append(ids, p.ID)
			worst = max(worst, *p.Steal.Host)
		}
	}
	if len(ids) == 0 {
		return ""
	}
	if len(ids) > 4 {
		ids = append(ids[:4], fmt.Sprintf("and %d more", len(ids)-4))
	}
	return fmt.Sprintf("%s measured while the hypervisor stole more than %.0f %% of the host's CPU time (up to %.1f %%): "+
		"their latencies include time the host did not run; measure again (bpfstor run --force --remeasure-steal %.2f) before trusting a ratio that involves them.",
		strings.Join(ids, ", "), 100*cell.StealWarn, 100*worst, cell.StealWarn)
}

// clocksources is the boot clocksource and any change seen during points.
func clocksources(r *results.Result) string {
	s := cell.OrDash(r.Meta.GuestClocksource) + " at boot"
	var changed []string
	for _, p := range r.Points {
		if p.ClocksourceBefore != p.ClocksourceAfter {
			changed = append(changed, fmt.Sprintf("%s: %s→%s", p.ID, p.ClocksourceBefore, p.ClocksourceAfter))
		}
	}
	if len(changed) > 0 {
		s += "; **changed during** " + strings.Join(changed, ", ")
	} else if len(r.Points) > 0 {
		s += "; unchanged during every point"
	}
	return s
}

func measured(w io.Writer, r *results.Result, a *analysis.Analysis) {
	fmt.Fprintln(w, "\n## Measured")
	if len(a.Groups) == 0 {
		fmt.Fprintln(w, "\nNo workload has an ok point with a latency summary.")
		return
	}
	fmt.Fprintln(w, "\nMedian [min–max] over repetitions; latencies in µs.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| workload | reps | p50 | p99 | p99.9 | mean | IOPS |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	failed := map[string]int{}
	for _, p := range r.Points {
		if p.Status != proto.StatusOK {
			failed[analysis.WorkloadKey(p.Workload)]++
		}
	}
	for _, g := range a.Groups {
		p999 := g.Spread(func(p *results.Point) float64 { return float64(p.Summary.P999Ns) })
		n := fmt.Sprint(len(g.Points))
		if f := failed[g.Key]; f > 0 {
			n += fmt.Sprintf(" (+%d failed)", f)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", cell.MD(g.Key), n,
			cell.SpreadUs(g.P50()), cell.SpreadUs(g.P99()), cell.SpreadUs(p999), cell.SpreadUs(g.Mean()), cell.SpreadIOPS(g.IOPS()))
	}
	for _, p := range r.Points {
		if p.Status == proto.StatusOK && p.ClocksourceBefore != p.ClocksourceAfter {
			fmt.Fprintf(w, "\nWarning: %s ran while the clocksource changed (%s→%s); its timings are included above but may be off.\n",
				p.ID, p.ClocksourceBefore, p.ClocksourceAfter)
		}
	}
}

// problems lists every point that did not produce a measurement, the
// points that never ran, and in-guest test outcomes: nothing is dropped
// silently.
func problems(w io.Writer, r *results.Result) {
	fmt.Fprintln(w, "\n## Failed, missing and unmeasured points")
	var bad, other []*results.Point
	for _, p := range r.Points {
		switch {
		case p.Status != proto.StatusOK:
			bad = append(bad, p)
		case p.Summary == nil:
			other = append(other, p)
		}
	}
	missing := r.Expected - len(r.Points)
	if len(bad) == 0 && missing <= 0 && len(other) == 0 {
		fmt.Fprintln(w, "\nNone: every expected point was measured and is ok.")
		return
	}
	if len(bad) > 0 {
		fmt.Fprintf(w, "\n%d point(s) failed; they are excluded from the tables and figures above:\n\n", len(bad))
		fmt.Fprintln(w, "| point | workload | rep | status | error |")
		fmt.Fprintln(w, "|---|---|---:|---|---|")
		for _, p := range bad {
			fmt.Fprintf(w, "| %s | %s | %d | %s | %s |\n", cell.MD(p.ID), cell.MD(analysis.WorkloadKey(p.Workload)), p.Rep, p.Status, cell.MD(cell.OrDash(p.Error)))
		}
	}
	if missing > 0 {
		fmt.Fprintf(w, "\n%d of %d expected point(s) were never measured", missing, r.Expected)
		if r.Reason != "" {
			fmt.Fprintf(w, " (run stopped: %s)", r.Reason)
		}
		fmt.Fprintln(w, ".")
	}
	if len(other) > 0 {
		fmt.Fprintf(w, "\n%d ok point(s) carry no latency (tests or harness checks):\n\n", len(other))
		for _, p := range other {
			pass, fail, skip := 0, 0, 0
			var failures []string
			for _, t := range p.Tests {
				switch {
				case t.Skip:
					skip++
				case t.Pass:
					pass++
				default:
					fail++
					failures = append(failures, fmt.Sprintf("%s: %s", t.Name, t.Message))
				}
			}
			fmt.Fprintf(w, "- %s (%s)", p.ID, analysis.WorkloadKey(p.Workload))
			if len(p.Tests) > 0 {
				fmt.Fprintf(w, ": tests %d passed, %d failed, %d skipped", pass, fail, skip)
				sort.Strings(failures)
				for _, f := range failures {
					fmt.Fprintf(w, "; FAIL %s", f)
				}
			}
			fmt.Fprintln(w)
		}
	}
}

// deviceMD is the device side of the run's NVMe commands (QEMU trace) and,
// for chain sweeps, the per-hop cost of each mode beside it.
func deviceMD(w io.Writer, r *results.Result, gs []analysis.Group) {
	d := r.Device
	if d == nil || d.Paired == 0 {
		return
	}
	fmt.Fprintln(w, "\n## Device side")
	fmt.Fprintf(w, "\nQEMU trace, doorbell write to MSI-X raise, %d I/O commands (%d dropped as ambiguous): p50 %.1f µs, p99 %.1f µs, mean %.1f µs. No kernel change can remove this part of a read.\n",
		d.Paired, d.Ambiguous, float64(d.Summary.P50Ns)/1e3, float64(d.Summary.P99Ns)/1e3, d.Summary.MeanNs/1e3)
	if ss := d.ServiceSummary; ss != nil {
		fmt.Fprintf(w, "\nPer command, doorbell write to the device's completion (paired by queue and command id, polled queues included; without the CQE's posting and the interrupt), %d commands: p50 %.1f µs, mean %.1f µs.\n\n",
			ss.Count, float64(ss.P50Ns)/1e3, ss.MeanNs/1e3)
		fmt.Fprintln(w, "| I/O queue | commands | interrupts | service p50 µs | service mean µs |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|")
		for _, q := range d.Queues {
			polled := ""
			if q.Polled() {
				polled = " (polled)"
			}
			fmt.Fprintf(w, "| %d%s | %d | %d | %.1f | %.1f |\n", q.ID, polled, q.Commands, q.Interrupts, float64(q.Service.P50Ns)/1e3, q.Service.MeanNs/1e3)
		}
	}
	// Per-hop cost: slope of mean latency between the smallest and largest
	// depth of each chain mode.
	type ends struct {
		d0, d1 int
		m0, m1 float64
	}
	slope := map[string]*ends{}
	var modes []string
	for _, g := range gs {
		wl := g.Points[0].Workload
		if wl.Kind != proto.KindChain || wl.Depth == 0 {
			continue
		}
		m := g.Mean().Median
		e, ok := slope[wl.Mode]
		if !ok {
			slope[wl.Mode] = &ends{wl.Depth, wl.Depth, m, m}
			modes = append(modes, wl.Mode)
			continue
		}
		if wl.Depth < e.d0 {
			e.d0, e.m0 = wl.Depth, m
		}
		if wl.Depth > e.d1 {
			e.d1, e.m1 = wl.Depth, m
		}
	}
	for _, mode := range modes {
		e := slope[mode]
		if e.d1 == e.d0 {
			continue
		}
		hop := (e.m1 - e.m0) / float64(e.d1-e.d0)
		fmt.Fprintf(w, "\n- %s: %.1f µs per extra hop (mean latency, depth %d→%d) = %.2f× the device-side mean.\n",
			mode, hop/1e3, e.d0, e.d1, hop/d.Summary.MeanNs)
	}
}

// fidelityMD is the fidelity line: bpfstor's pread p50 against fio's on the
// same device in the same guest.
func fidelityMD(w io.Writer, gs []analysis.Group) {
	fmt.Fprintln(w, "\n## Fidelity")
	var pread, fio []analysis.Group
	for _, g := range gs {
		switch g.Points[0].Workload.Kind {
		case proto.KindPread:
			pread = append(pread, g)
		case proto.KindFio:
			fio = append(fio, g)
		}
	}
	n := 0
	for _, p := range pread {
		for _, f := range fio {
			pw, fw := p.Points[0].Workload, f.Points[0].Workload
			if pw.BlockSize != fw.BlockSize || pw.Threads != fw.Threads {
				continue
			}
			a, b := p.P50().Median, f.P50().Median
			if b == 0 {
				continue
			}
			n++
			fmt.Fprintf(w, "\nbpfstor %s p50 %.1f µs vs fio p50 %.1f µs: %+.1f%% (same guest, same device).\n",
				p.Key, a/1e3, b/1e3, (a/b-1)*100)
		}
	}
	if n == 0 {
		fmt.Fprintln(w, "\nNo fidelity check: the run has no pread and fio points with the same block size.")
	}
}

// otherCPUsWarn is the interference (host CPUs kept busy by other
// processes while the VM ran) above which a report warns.
const otherCPUsWarn = 0.25

// loadWarning says why the measurements may include interference from
// other work on the host, "" if nothing suggests it. Runs that measured
// the other processes' CPU use are judged by it; older ones by the load
// average, which also counts the VM itself.
func loadWarning(m results.Meta) string {
	if m.HostOtherCPUs != nil {
		if *m.HostOtherCPUs > otherCPUsWarn {
			return fmt.Sprintf("other processes kept %.2f of the host's %d CPUs busy while the VM ran; latencies may include interference.",
				*m.HostOtherCPUs, m.HostCPUs)
		}
		return ""
	}
	if m.HostLoadStart[0] > float64(max(m.HostCPUs, 1))*0.5 || m.HostLoadEnd[0] > float64(max(m.HostCPUs, 1))*0.5 {
		return fmt.Sprintf("the host was loaded (load %.2f/%.2f on %d CPUs); latencies may include interference.",
			m.HostLoadStart[0], m.HostLoadEnd[0], m.HostCPUs)
	}
	return ""
}

// dataFS says, after the data image's name, how the guest's disk held the
// data (results.Meta.DataFS): nothing for the raw device (every result
// before data.fs, rendered as committed).
func dataFS(fs string) string {
	if fs == proto.FSRaw {
		return ""
	}
	return fmt.Sprintf(", on %s as the file /%s", fs, proto.DataFile)
}
