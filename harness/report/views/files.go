package views

import (
	"fmt"
	"io"

	"github.com/bpfstor/bpfstor/harness/analysis"
	"github.com/bpfstor/bpfstor/harness/internal/cell"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/workload"
)

// FilePair is a workload measured on the data disk and on the data as a
// file (workload.OnFile) in one run.
type FilePair struct {
	Device, File analysis.Group
}

// FilePairs pairs every group on the file with its group on the device:
// the same workload with On unset.
func FilePairs(a *analysis.Analysis) []FilePair {
	byKey := map[string]analysis.Group{}
	for _, g := range a.Groups {
		byKey[g.Key] = g
	}
	var out []FilePair
	for _, g := range a.Groups {
		w := g.Points[0].Workload
		if w.On != workload.OnFile {
			continue
		}
		w.On = ""
		if d, ok := byKey[analysis.WorkloadKey(w)]; ok {
			out = append(out, FilePair{Device: d, File: g})
		}
	}
	return out
}

// FileSection sets every workload measured on the file beside the same
// workload on the raw device of the same run (data.fs, on = ["device",
// "file"]): the file layer's cost per dispatch mode, and, derived from
// the means, per dependent read.
func FileSection(w io.Writer, a *analysis.Analysis) {
	pairs := FilePairs(a)
	if len(pairs) == 0 {
		return
	}
	fmt.Fprintln(w, "\n## On a file: the tree as a file on the data file system vs the raw device")
	fmt.Fprintln(w, "\nThe same workloads on the raw data disk and on the tree as a file (data.fs), in one run, repetitions "+
		"interleaved. Median [min–max] over repetitions; ratios per repetition, paired by index. On the file, pread and "+
		"uring pay the file system's read path for every read; the syscall and io_uring levels of the kernel modes too, "+
		"plus the chain's translation of each file offset; the driver level translates in the completion handler and "+
		"skips the file system for hops 2..d. \"per read\" is derived: (mean latency on the file − on the device) ÷ the "+
		"reads per lookup (the tree's depth), the file layer's cost per dependent read beside XRP Table 1's ext4 row "+
		"(2006 ns of a 6.27 µs read on Optane).")
	fmt.Fprintln(w, "\n| workload | p50 µs, device | p50 µs, file | file ÷ device, mean latency | IOPS, file ÷ device | per read, file − device (derived) |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, p := range pairs {
		label := p.Device.Points[0].Workload
		lat := analysis.LatencyRatio(p.Device, p.File) // mean(file) / mean(device)
		perRead := "—"
		if d := p.Device.Depth(); d > 0 {
			diff := p.File.Mean().Median - p.Device.Mean().Median
			perRead = fmt.Sprintf("%+.1f µs", diff/float64(d)/1e3)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", cell.MD(workloadLabel(label)),
			cell.SpreadUs(p.Device.P50()), cell.SpreadUs(p.File.P50()), cell.Ratio(lat),
			cell.Ratio(analysis.Speedup(p.File, p.Device)), perRead)
	}
}

// workloadLabel names a workload by its identity without its kind.
func workloadLabel(w proto.Workload) string {
	s := ""
	for _, p := range w.Params() {
		if s != "" {
			s += " "
		}
		if p.Short != "" {
			s += p.Short + p.Value
		} else {
			s += p.Value
		}
	}
	if s == "" {
		s = w.Kind
	}
	return s
}
