// Package report writes a run's report: report.md (conditions, the
// measured table, the experiment sections of harness/report/views, the
// figures of harness/report/figures), results.csv, and the text printed
// after a run (Text). Write puts them all in the run directory.
package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bpfstor/bpfstor/harness/analysis"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/report/views"
	"github.com/bpfstor/bpfstor/harness/results"
)

func us(ns float64) string { return fmt.Sprintf("%.1f", ns/1e3) }

// usRange is a spread of latencies in µs: median [min–max].
func usRange(s analysis.Spread) string {
	return fmt.Sprintf("%s [%s–%s]", us(s.Median), us(s.Min), us(s.Max))
}

// Text writes the report.
func Text(w io.Writer, r *results.Result) {
	m := r.Meta
	fmt.Fprintf(w, "bpfstor report: %s — status %s", r.Name, r.Status)
	if r.Reason != "" {
		fmt.Fprintf(w, " (%s)", r.Reason)
	}
	fmt.Fprintf(w, "\n  kernel %s (key %s, patches %d, series %s, config %s)\n", m.KernelRelease, m.KernelKey, len(m.Patches), m.PatchSeriesHash, m.ConfigHash)
	fmt.Fprintf(w, "  qemu %s, accel %s (%s), guest clocksource %s, %d vCPU\n", m.QEMUVersion, m.Accel, m.AccelNote, m.GuestClocksource, m.GuestCPUs)
	fmt.Fprintf(w, "  host %s, load %.2f→%.2f, boot to agent %v, seed %d, bpfstor %s\n", m.HostCPU, m.HostLoadStart[0], m.HostLoadEnd[0],
		time.Duration(m.BootNs).Round(time.Millisecond), m.Seed, m.BpfstorRev)
	if m.Accel == "tcg" {
		fmt.Fprintln(w, "  note: TCG emulation; absolute latencies are not hardware numbers, compare ratios within one run")
	}

	fmt.Fprintln(w, "\nPoints (latency µs):")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "point\tstatus\tn\tp50\tp90\tp99\tp99.9\tmax\tmean\tIOPS\tchecked\t")
	for _, p := range r.Points {
		if p.Summary == nil {
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\t\t\t\t\t%s\n", p.ID, p.Status, p.Error)
			continue
		}
		s := p.Summary
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%d\t\n", p.ID, p.Status, s.Count,
			us(float64(s.P50Ns)), us(float64(s.P90Ns)), us(float64(s.P99Ns)), us(float64(s.P999Ns)),
			us(float64(s.MaxNs)), us(s.MeanNs), p.IOPS, p.Checked)
	}
	tw.Flush()

	gs := analysis.Groups(r)
	if len(gs) == 0 {
		return
	}
	fmt.Fprintln(w, "\nBy workload: median [min–max] over repetitions (latency µs):")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\treps\tp50\tp99\tmean\tIOPS")
	for _, g := range gs {
		io := g.IOPS()
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%.0f [%.0f–%.0f]\n", g.Key, len(g.Points), usRange(g.P50()), usRange(g.P99()), usRange(g.Mean()), io.Median, io.Min, io.Max)
	}
	tw.Flush()
	fidelity(w, gs)
	if d := r.Device; d != nil && d.Paired > 0 {
		fmt.Fprintf(w, "\nDevice side (QEMU trace, doorbell→MSI-X, %d commands, %d ambiguous dropped): p50 %sµs p99 %sµs mean %sµs\n",
			d.Paired, d.Ambiguous, us(float64(d.Summary.P50Ns)), us(float64(d.Summary.P99Ns)), us(d.Summary.MeanNs))
		for _, b := range views.Breakdowns(analysis.Analyze(r)) {
			fmt.Fprintln(w, b)
		}
	}
}

// fidelity compares bpfstor's pread p50 with fio's on the same I/O pattern.
func fidelity(w io.Writer, gs []analysis.Group) {
	var pread, fio *analysis.Group
	for i := range gs {
		switch {
		case strings.HasPrefix(gs[i].Key, proto.KindPread+" ") && pread == nil:
			pread = &gs[i]
		case strings.HasPrefix(gs[i].Key, proto.KindFio+" ") && fio == nil:
			fio = &gs[i]
		}
	}
	if pread == nil || fio == nil {
		return
	}
	a, b := pread.P50().Median, fio.P50().Median
	if b == 0 {
		return
	}
	fmt.Fprintf(w, "\nFidelity: bpfstor pread p50 %sµs vs fio p50 %sµs: %+.1f%% (same guest, same device)\n", us(a), us(b), (a/b-1)*100)
}
