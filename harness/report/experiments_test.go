package report

import (
	"bytes"
	"encoding/csv"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/harness/analysis"
	"github.com/bpfstor/bpfstor/harness/internal/fixture"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
)

func TestExperimentReports(t *testing.T) {
	tests := []struct {
		name  string
		r     *results.Result
		files []string
		md    []string
		not   []string
	}{
		{"uring", fixture.URingRun(),
			[]string{"btree-latency.png", "btree-iops.png", "btree-speedup.png", "btree-cdf.png"},
			[]string{
				"### B+-tree lookup (uring experiment)",
				"| 64 | uring |", "| none | driver |",
				"kernel chaining through io_uring does not exist", "Not compared: HotOS'21 IOPS 1.3–1.9x for driver",
				"Mode uring is user-space chaining over io_uring",
			},
			[]string{"| 0 | uring", "NaN", "Inf"}},
		{"threads", fixture.ThreadsRun(),
			[]string{"btree-latency.png", "btree-iops.png", "btree-speedup.png", "btree-p99-vs-pread.png"},
			[]string{
				"### B+-tree lookup (threads experiment)",
				"| 8 | driver |", "XRP (OSDI'22) tail p99 −20–34 %", "XRP (OSDI'22) IOPS ≤ 2.50x",
			},
			[]string{"NaN"}},
		{"range", fixture.RangeRun(),
			[]string{"btree-latency.png", "btree-iops.png", "btree-speedup.png"},
			[]string{"### B+-tree range and sum queries (range experiment)", "| 63 | driver sum |", "| 8 | syscall range |",
				"XRP Fig. 8 (range query and aggregation): no number in shared/README.md"},
			[]string{"btree-p99-vs-pread.png", "NaN"}},
		{"kv", fixture.KVRun(),
			[]string{"btree-kv-cdf.png", "latency.png"},
			[]string{"## Key distributions (kv experiment)", "| driver | zipf | 3 |",
				"### B+-tree lookup (kv experiment)", "| zipf | driver |",
				"XRP (OSDI'22) IOPS ≤ 1.25x", "XRP (OSDI'22) tail p99 up to −40 %", "real KV store (BPF-KV)"},
			[]string{"NaN", "(cdf.png)"}}, // every single workload is in the kv CDF
		{"breakdown", fixture.BreakdownRun(),
			[]string{"breakdown.png", "latency.png"},
			[]string{"## Where a read's time goes (breakdown experiment)",
				"| pread bs=512 | mean |", "| XRP Table 1: 512 B random read, Optane | mean | 6.27 | 3.22 | 3.05 | 48.6 % |",
				"**Not measured yet:**", "needs the layer trace", "![where a 512 B read's time goes (breakdown experiment)](breakdown.png)",
				"at depth 10"},
			[]string{"NaN", "### Per layer"}},
		{"breakdown by layer", fixture.BreakdownLayersRun(true),
			[]string{"breakdown.png", "latency.png"},
			[]string{"## Where a read's time goes (breakdown experiment)",
				"| pread bs=512 trace_layers | mean |", "the section below splits this run's reads the same way",
				"### Per layer: pread bs=512 trace_layers, BPF kprobes in the guest",
				"6000 traced reads over 3 repetitions, 30 (0.5 %) discarded (missing nvme_irq: 24; out of order nvme_irq: 6)",
				"| syscall | `__x64_sys_pread64` → `blkdev_read_iter` | 4.0 [3.9–4.1] | 2.7 % | 5970 | 2.0–4.1 µs |",
				"| **sum of the segments: the traced read** | | **148.0** | 100 % | | |",
				"| **probe overhead** (traced − untraced mean) | | **26.0 [24.0–28.0]** | +21.7 % of the untraced read | | |",
				"| device | device + interrupt, completion: interrupt → bio done, completion: wake-up → syscall return | 108.0 | 73.0 % | 3224 | 51.4 % |",
				"| **software** (all but the device row) | | 40.0 | 27.0 % | 3046 | 48.6 % |",
				"The device beside the QEMU trace: in the guest, driver submit → interrupt (`nvme_queue_rqs` return → `nvme_irq`) is 80.0 µs",
				"![where a 512 B read's time goes, layer by layer (breakdown experiment)](breakdown.png)",
				"at depth 10"},
			[]string{"NaN", "**Not measured yet:**"}},
		{"layers without a trace", fixture.BreakdownLayersRun(false),
			[]string{"breakdown.png"},
			[]string{"### Per layer: pread bs=512 trace_layers, BPF kprobes in the guest", "| **probe overhead** (traced − untraced mean) |"},
			[]string{"NaN", "| pread bs=512 trace_layers | mean |", "The device beside the QEMU trace", "at depth 10"}},
		{"chain without pread", fixture.Read(t, "chain"), nil, nil, []string{"## Where a read's time goes", "## Key distributions"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := Write(dir, tt.r); err != nil {
				t.Fatal(err)
			}
			for _, f := range tt.files {
				fixture.PNGOK(t, filepath.Join(dir, f))
			}
			out := fixture.CheckFile(t, filepath.Join(dir, MarkdownFile), tt.md, tt.not)
			for _, l := range strings.Split(out, "\n") {
				// XRP's p99 statement is about several threads: not set beside one
				if strings.HasPrefix(l, "| 1 | driver |") && strings.Contains(l, "p99 −20–34") {
					t.Errorf("p99 anchor at one thread: %s", l)
				}
			}
		})
	}
}

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
	var text bytes.Buffer
	Text(&text, fixture.BreakdownRun())
	if !strings.Contains(text.String(), "Breakdown: pread bs=512 mean") {
		t.Errorf("text report lacks the breakdown:\n%s", text.String())
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

	// The figure stacks XRP Table 1 bottom up, completion beside the device.
	var labels []string
	var xrp float64
	for _, b := range layerBars(s) {
		labels = append(labels, b.Label)
		xrp += b.XRPNs
	}
	want := "device + interrupt (XRP: device),completion in the interrupt,wake-up and return,NVMe driver submit,block layer,file layer (XRP: ext4),syscall,user/kernel crossings"
	if got := strings.Join(labels, ","); got != want {
		t.Errorf("bars %s, want %s", got, want)
	}
	if bars := layerBars(s); bars[0].XRPNs != 3224 || bars[1].XRPNs != 0 || bars[7].Ns != 6e3 || bars[7].XRPNs != 351 || xrp != 6272 {
		t.Errorf("bars %+v", bars)
	}

	// An untraced point beside traced ones is left out; an unknown segment is shown by name.
	r := fixture.BreakdownLayersRun(true)
	r.Points[0].Layers = nil
	l, _ := layersOf(r.Points[1])
	l.Segments = append(l.Segments, proto.LayerSegment{Name: "softirq", MeanNs: 5e3, Count: 1})
	s = LayerSplitOf(analysis.Analyze(r).Groups[0])
	if s.Reps != 2 || len(s.Segments) != 10 || segmentInfo("softirq").Label != "softirq" {
		t.Errorf("split of 2 traced points %+v", s)
	}
	if bars := layerBars(s); bars[len(bars)-1].Label != "softirq" {
		t.Errorf("unknown segment not last: %+v", bars)
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
	dir := t.TempDir()
	if err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	fixture.PNGOK(t, filepath.Join(dir, "breakdown.png"))
}

// results.csv carries the btree workloads' new parameters at its end.
func TestCSVBTreeColumns(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, fixture.RangeRun()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	got := rows[len(rows)-1] // the last point: sum over 63 keys, driver
	for k, want := range map[string]string{"kind": "btree", "mode": "driver", "dist": "uniform", "op": "sum", "span": "63", "tree_depth": "3", "depth": ""} {
		if got[col[k]] != want {
			t.Errorf("%s = %q, want %q", k, got[col[k]], want)
		}
	}
}
