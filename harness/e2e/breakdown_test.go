package e2e

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/bpfstor/bpfstor/harness/analysis"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/report"
	"github.com/bpfstor/bpfstor/harness/report/views"
	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/harness/runner"
)

// TestLayerBreakdown runs the breakdown experiment's shape briefly: 512 B
// preads with the layer trace (bpf/progs/layers.c, kprobes on the read
// path) and QEMU's NVMe trace. Every segment must be measured for at least
// 90 % of the traced reads, the segments' means must add up to the traced
// reads' mean within a few per cent (the probes' and user space's clocks
// agree), every block read, untraced and traced, must be checked and
// right, and the report must show the split.
func TestLayerBreakdown(t *testing.T) {
	const ops = 2000
	res, dir := runSpec(t, fmt.Sprintf(`name = "e2e-breakdown"
[vm]
accel = "tcg"
trace_nvme = true
[[workload]]
kind = "pread"
ops = %d
warmup = 200
trace_layers = true
`, ops))
	if res.Status != results.StatusOK || len(res.Points) != 1 {
		t.Fatalf("status %s: %s, %d points (console: %s)", res.Status, res.Reason, len(res.Points), filepath.Join(dir, "console.log"))
	}
	p := res.Points[0]
	t.Log(runner.PointLine(p))
	if p.Status != proto.StatusOK || p.Ops != ops || p.Checked != 2*ops || p.Wrong != 0 {
		t.Fatalf("status %s (%s), ops %d checked %d wrong %d; want %d ops, %d checked (untraced and traced), none wrong",
			p.Status, p.Error, p.Ops, p.Checked, p.Wrong, ops, 2*ops)
	}
	if p.Layers == nil {
		t.Fatal("no layers section")
	}
	l := *p.Layers
	t.Logf("traced %.1f µs, untraced %.1f µs, overhead %.1f µs, %d reads, %d discarded (missing %v, out of order %v), %d with the interrupt before the driver's return",
		l.TracedMeanNs/1e3, l.UntracedMeanNs/1e3, l.OverheadNs/1e3, l.Reads, l.Discarded, l.Missing, l.Disorder, l.Overlapped)
	want := []string{proto.SegCrossIn, proto.SegSyscall, proto.SegFile, proto.SegBlock, proto.SegDriver,
		proto.SegDeviceIRQ, proto.SegIRQ, proto.SegWake, proto.SegCrossOut}
	if len(l.Segments) != len(want) {
		t.Fatalf("%d segments, want %d: %+v", len(l.Segments), len(want), l.Segments)
	}
	sum := 0.0
	for i, sg := range l.Segments {
		t.Logf("  %-15s %8.1f µs  %5.1f %%  n=%d", sg.Name, sg.MeanNs/1e3, sg.MeanNs/l.TracedMeanNs*100, sg.Count)
		if sg.Name != want[i] {
			t.Errorf("segment %d is %s, want %s", i, sg.Name, want[i])
		}
		if sg.Count < ops*9/10 || sg.MeanNs <= 0 {
			t.Errorf("%s: %d reads, mean %.0f ns; want at least %d reads (90 %%)", sg.Name, sg.Count, sg.MeanNs, ops*9/10)
		}
		sum += sg.MeanNs
	}
	if l.Reads != ops || l.TracedMeanNs <= 0 || l.UntracedMeanNs != p.Summary.MeanNs || l.OverheadNs != l.TracedMeanNs-l.UntracedMeanNs {
		t.Errorf("reads %d traced %.0f untraced %.0f (point mean %.0f) overhead %.0f", l.Reads, l.TracedMeanNs,
			l.UntracedMeanNs, p.Summary.MeanNs, l.OverheadNs)
	}
	if d := math.Abs(sum-l.TracedMeanNs) / l.TracedMeanNs; d > 0.05 {
		t.Errorf("segments add up to %.1f µs, the traced reads' mean is %.1f µs: %.1f %% apart, want within 5 %%",
			sum/1e3, l.TracedMeanNs/1e3, d*100)
	}
	bs := views.Breakdowns(analysis.Analyze(res))
	if len(bs) != 1 || bs[0].Layers == nil || bs[0].Commands == 0 {
		t.Fatalf("report breakdowns %+v", bs)
	}
	t.Log(bs[0])
	if err := report.Write(dir, res); err != nil {
		t.Fatal(err)
	}
}
