package views

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/harness/analysis"
	"github.com/bpfstor/bpfstor/harness/hist"
	"github.com/bpfstor/bpfstor/harness/internal/fixture"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
)

func TestBreakdown(t *testing.T) {
	tests := []struct {
		name             string
		mean, dev        float64
		share, ceiling10 float64
	}{
		// shared/README.md section 6: S 115, D 65 µs → about 2.4x at depth 10
		{"README numbers", 180e3, 65e3, 115.0 / 180, 2.4},
		{"no software", 50e3, 50e3, 0, 1},
		{"XRP Table 1", 6270, 3224, 0.486, 1.78},
	}
	for _, tt := range tests {
		b := Breakdown{MeasuredMean: tt.mean, DeviceMean: tt.dev}
		if got := b.SoftwareShare(); got < tt.share-0.005 || got > tt.share+0.005 {
			t.Errorf("%s: software share %.3f, want %.3f", tt.name, got, tt.share)
		}
		if got := b.Ceiling(10); got < tt.ceiling10-0.05 || got > tt.ceiling10+0.05 {
			t.Errorf("%s: ceiling at depth 10 %.2f, want %.2f", tt.name, got, tt.ceiling10)
		}
	}
	// Only plain pread runs with a trace get a breakdown.
	a := analysis.Analyze(fixture.BreakdownRun())
	if bs := Breakdowns(a); len(bs) != 1 || bs[0].BlockSize != 512 {
		t.Fatalf("breakdowns of the breakdown run: %+v", bs)
	}
	noTrace := fixture.BreakdownRun()
	noTrace.Device = nil
	if bs := Breakdowns(analysis.Analyze(noTrace)); bs != nil {
		t.Errorf("breakdown without a trace: %+v", bs)
	}
}

func TestLayerSplit(t *testing.T) {
	bs := Breakdowns(analysis.Analyze(fixture.BreakdownLayersRun(false)))
	if len(bs) != 1 || bs[0].Commands != 0 || bs[0].Layers == nil {
		t.Fatalf("layers without a trace: %+v", bs)
	}
	s := bs[0].Layers
	if s.Reps != 3 || s.Reads != 6000 || s.Discarded != 30 || s.Missing["nvme_irq"] != 24 || s.Disorder["nvme_irq"] != 6 {
		t.Errorf("split %+v", s)
	}
	if len(s.Segments) != 9 || s.Segments[0].Name != proto.SegCrossIn || s.Segments[8].Name != proto.SegCrossOut {
		t.Fatalf("segments %+v", s.Segments)
	}
	dev := s.Segments[5]
	if dev.Name != proto.SegDeviceIRQ || dev.Mean.Median != 80e3 || dev.Mean.Min != 78e3 || dev.Mean.Max != 82e3 || dev.Count != 5970 {
		t.Errorf("device segment %+v", dev)
	}
	if lo, hi, ok := dev.P50Range(); !ok || lo != 65536 || hi != 131072 {
		t.Errorf("device median within [%v, %v) %v, want [65536, 131072)", lo, hi, ok)
	}
	if got := s.Total(); got != 148e3 {
		t.Errorf("total %v, want 148000", got)
	}
	if got := s.Share(s.Sum(proto.SegCrossIn, proto.SegCrossOut)); math.Abs(got-6.0/148) > 1e-9 {
		t.Errorf("crossings share %v", got)
	}
	if s.Overhead.Median != 26e3 || s.Untraced.Median != 120e3 || s.Traced.Median != 146e3 {
		t.Errorf("overhead %+v untraced %+v traced %+v", s.Overhead, s.Untraced, s.Traced)
	}
	if str := bs[0].String(); strings.Contains(str, "Breakdown:") || !strings.Contains(str, "Layers: pread bs=512 trace_layers traced read 148.0 µs (probes +26.0 µs over the untraced 120.0 µs): crossing in 3.0, syscall 4.0") {
		t.Errorf("String() = %q", str)
	}

	// An untraced point beside traced ones is left out; an unknown segment is shown by name.
	r := fixture.BreakdownLayersRun(true)
	r.Points[0].Layers = nil
	l := layersOf(r.Points[1])
	l.Segments = append(l.Segments, proto.LayerSegment{Name: "softirq", MeanNs: 5e3, Count: 1})
	s = LayerSplitOf(analysis.Analyze(r).Groups[0])
	if s.Reps != 2 || len(s.Segments) != 10 || SegmentInfo("softirq").Label != "softirq" {
		t.Errorf("split of 2 traced points %+v", s)
	}
	if LayerSplitOf(analysis.Analyze(fixture.BreakdownRun()).Groups[0]) != nil {
		t.Error("a split of untraced points")
	}
}

func TestBreakdownRecordedTrace(t *testing.T) {
	r := fixture.RecordedBreakdown(t)
	bs := Breakdowns(analysis.Analyze(r))
	if len(bs) != 1 {
		t.Fatalf("%d breakdowns", len(bs))
	}
	b := bs[0]
	// The device side is the recorded trace's own mean.
	if m := r.Device.Summary.MeanNs; b.Commands != r.Device.Paired || b.DeviceMean < m*0.999 || b.DeviceMean > m*1.001 || m < 10e3 {
		t.Errorf("device side: %d commands, mean %.0f ns", b.Commands, b.DeviceMean)
	}
	if s := b.SoftwareShare(); s <= 0 || s >= 1 || b.MeasuredMean <= b.DeviceMean {
		t.Errorf("software share %.2f of %.0f ns", s, b.MeasuredMean)
	}
}

func TestHopSection(t *testing.T) {
	split := func(wait, prog float64) *proto.Layers {
		return &proto.Layers{Reads: 90, Discarded: 9, Segments: []proto.LayerSegment{
			{Name: proto.SegHopWait, MeanNs: wait, Count: 80}, {Name: proto.SegHopCQE, MeanNs: 5e3, Count: 81},
			{Name: proto.SegHopProg, MeanNs: prog, Count: 81}, {Name: proto.SegHopSubmit, MeanNs: 20e3, Count: 81}}}
	}
	chain := proto.Workload{Kind: proto.KindChain, BlockSize: 512, Depth: 10, Mode: "driver", TraceLayers: true}
	pread := proto.Workload{Kind: proto.KindChain, BlockSize: 512, Depth: 10, Mode: "pread", TraceLayers: true}
	r := &results.Result{Schema: results.Schema, Status: results.StatusOK}
	for rep, sp := range []*proto.Layers{split(170e3, 3e3), split(190e3, 5e3)} {
		r.Points = append(r.Points,
			&results.Point{ID: fmt.Sprintf("c/rep%d", rep), Rep: rep, Workload: chain, Status: proto.StatusOK, Summary: &hist.Summary{Count: 10, MeanNs: 2e6}, Hops: &proto.Hops{Hops: 100, DriverHops: 90, Split: sp}},
			&results.Point{ID: fmt.Sprintf("p/rep%d", rep), Rep: rep, Workload: pread, Status: proto.StatusOK, Summary: &hist.Summary{Count: 10, MeanNs: 3e6}})
	}
	var b strings.Builder
	HopSection(&b, analysis.Analyze(r))
	out := b.String()
	for _, want := range []string{
		"## Where a driver hop's time goes",
		"180 hops split over 2 repetitions, 18 (10.0 %) discarded",
		"| hop_wait | 180.0 [170.0–190.0] | 86 % |",
		"| hop_prog | 4.0 [3.0–5.0] | 2 % |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("hop section lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "hops split over") != 1 {
		t.Errorf("only the driver workload has a split:\n%s", out)
	}
	// A split of no resubmitted hop (a chain of one block) is no split.
	for _, p := range r.Points {
		if p.Hops != nil {
			p.Hops.Split.Reads = 0
		}
	}
	b.Reset()
	HopSection(&b, analysis.Analyze(r))
	if b.Len() != 0 {
		t.Errorf("a hop section of splits without hops: %q", b.String())
	}
	HopSection(&b, analysis.Analyze(fixture.BreakdownRun()))
	if b.Len() != 0 {
		t.Errorf("a hop section without splits: %q", b.String())
	}
}

func TestURingSection(t *testing.T) {
	var b strings.Builder
	URingSection(&b, analysis.Analyze(fixture.URingKernelRun()))
	out := b.String()
	for _, want := range []string{
		"## io_uring: chains in flight (uring experiment)",
		// uring-driver has half uring's latency: twice its lookups/s at the
		// same batch (exact at batch 8; batch 1's IOPS come from the samples),
		// set beside HotOS'21 Fig. 3; the device limits it.
		"| 8 | uring-driver | 400000 [400000–400000] | 1600000 [1600000–1600000] | 4.00 [4.00–4.00] | 100 % [100 %–100 %] | 100 % [100 %–100 %] | 0.20 [0.20–0.20] | 0 [0–0] |",
		"| 2.00x [2.00–2.00] uring | HotOS'21 IOPS ≤ 2.70x<br>HotOS'21 IOPS 1.3–1.9x | within: 0.74 of the max<br>above the paper's range: 1.05 of its high end | device |",
		// uring-kernel: uring's latency, every CPU busy.
		"| 8 | uring-kernel | 200000 [200000–200000] | 800000 [800000–800000] | 4.00 [4.00–4.00] | 50 % [50 %–50 %] | 50 % [50 %–50 %] | 1.90 [1.90–1.90] | 10 [10–10] |",
		"| 1.00x [1.00–1.00] uring | — | — | guest CPU |",
		// the peer itself has no ratio
		"| 8 | uring | 200000 [200000–200000] | 800000 [800000–800000] | 4.00 [4.00–4.00] | 50 % [50 %–50 %] | 50 % [50 %–50 %] | 0.20 [0.20–0.20] | 1 [1–1] |",
		"| — | — | — | device |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("io_uring section lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "no kernel io_uring mode") {
		t.Error("a sweep with kernel modes said to have none")
	}

	// Without kernel modes (runs before IORING_OP_CHAIN_READ): said, and no counters.
	b.Reset()
	URingSection(&b, analysis.Analyze(fixture.URingRun()))
	if out := b.String(); !strings.Contains(out, "no kernel io_uring mode") || !strings.Contains(out, "| 8 | uring | ") || strings.Contains(out, "HotOS'21 IOPS") {
		t.Errorf("io_uring section of a user-chaining run:\n%s", out)
	}

	// Against pread, uring-driver gets no paper number: HotOS'21's are against uring.
	a := analysis.Analyze(fixture.URingKernelRun())
	var drv, pread, uring analysis.Group
	for _, g := range a.Groups {
		switch w := g.Points[0].Workload; {
		case w.Mode == "uring-driver" && w.Batch == 1:
			drv = g
		case w.Mode == "pread":
			pread = g
		case w.Mode == "uring" && w.Batch == 1:
			uring = g
		}
	}
	if p, o := BesidePapers("uring", "uring-driver", 3, 1, drv, pread); p != "—" || o != "—" {
		t.Errorf("uring-driver against pread beside the papers: %q %q", p, o)
	}
	if p, _ := BesidePapers("uring", "uring-driver", 3, 1, drv, uring); !strings.Contains(p, "2.70x") {
		t.Errorf("uring-driver against uring beside the papers: %q", p)
	}
}

func TestFileSection(t *testing.T) {
	a := analysis.Analyze(fixture.FileRun())
	if ps := FilePairs(a); len(ps) != 2 {
		t.Fatalf("%d pairs, want 2 (pread, driver)", len(ps))
	}
	var b strings.Builder
	FileSection(&b, a)
	out := b.String()
	for _, want := range []string{
		"## On a file: the tree as a file on the data file system vs the raw device",
		// about 39 vs 36 µs (the fixture's samples spread): 1 µs a read at
		// depth 3; driver mode 1.5 µs, 0.5 µs a read
		"| pread uniform | 36.1 [35.8–36.1] | 38.7 [38.0–38.9] | 1.07x [1.07–1.08] | 0.94x [0.93–0.94] | +1.0 µs |",
		"| driver uniform | 20.0 [19.8–20.0] | 21.4 [21.2–21.4] | 1.07x [1.07–1.11] | 0.94x [0.92–0.94] | +0.6 µs |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("file section lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	FileSection(&b, analysis.Analyze(fixture.URingKernelRun()))
	if b.Len() != 0 {
		t.Errorf("a run without file points has a file section:\n%s", b.String())
	}
}
