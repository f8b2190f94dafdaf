package analysis

import (
	"math"
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/harness/internal/fixture"
	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/harness/stats"
	"github.com/bpfstor/bpfstor/harness/workload"
)

func TestAnalyze(t *testing.T) {
	tests := []struct {
		name   string
		r      *results.Result
		single []string
		sweeps []string // kind/axis: line labels
	}{
		{"chain", fixture.Read(t, "chain"), []string{"pread bs=512", "fio bs=512"},
			[]string{"chain/depth: pread syscall driver"}},
		{"uring", fixture.URingRun(), nil, []string{"btree/batch: uring refs: pread syscall driver"}},
		{"threads", fixture.ThreadsRun(), nil, []string{"btree/threads: pread syscall driver"}},
		{"range", fixture.RangeRun(), nil, []string{"btree/span: pread range, pread sum, syscall range, syscall sum, driver range, driver sum"}},
		{"kv", fixture.KVRun(), []string{"btree mode=pread dist=uniform", "btree mode=syscall dist=uniform", "btree mode=driver dist=uniform",
			"btree mode=pread dist=zipf", "btree mode=syscall dist=zipf", "btree mode=driver dist=zipf"}, nil},
		{"partial", fixture.Read(t, "partial"), []string{"pread bs=4096", "fio bs=4096"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Analyze(tt.r)
			var single []string
			for _, g := range a.Single {
				single = append(single, g.Key)
			}
			if strings.Join(single, ",") != strings.Join(tt.single, ",") {
				t.Errorf("single %q, want %q", single, tt.single)
			}
			var sweeps []string
			for _, s := range a.Sweeps {
				var ls []string
				for _, l := range s.Lines {
					ls = append(ls, l.Label)
					for i := 1; i < len(l.Points); i++ {
						if l.Points[i].X <= l.Points[i-1].X {
							t.Errorf("%s: points not by increasing x", l.Label)
						}
					}
				}
				sep := " "
				if strings.Contains(strings.Join(ls, ""), " ") {
					sep = ", "
				}
				desc := s.Kind + "/" + s.Axis.Name + ": " + strings.Join(ls, sep)
				if len(s.Refs) > 0 {
					var rs []string
					for _, l := range s.Refs {
						rs = append(rs, l.Label)
					}
					desc += " refs: " + strings.Join(rs, " ")
				}
				sweeps = append(sweeps, desc)
			}
			if strings.Join(sweeps, ",") != strings.Join(tt.sweeps, ",") {
				t.Errorf("sweeps %q, want %q", sweeps, tt.sweeps)
			}
		})
	}
}

func TestSpeedupPairsRepetitions(t *testing.T) {
	a := Analyze(fixture.Read(t, "chain"))
	s := a.Sweeps[0]
	var driver *Line
	for _, l := range s.Lines {
		if l.Mode == "driver" {
			driver = l
		}
	}
	base := s.Baseline(driver)
	if base == nil || base.Mode != BaselineMode || s.Baseline(base) != nil {
		t.Fatalf("baseline of driver: %+v", base)
	}
	g3, _ := driver.At(3)
	b3, _ := base.At(3)
	r := Speedup(g3, b3)
	if !r.Paired || r.N != 3 || r.Median < 1.4 || r.Median > 1.7 || r.Min > r.Median || r.Max < r.Median {
		t.Errorf("speedup at depth 3: %+v", r)
	}
}

// TestSpeedupIsIOPS: the IOPS speedup is the ratio of IOPS and the latency
// ratio that of mean latencies; the fixtures keep them apart (synthGap),
// so a report that used one for the other would show it.
func TestSpeedupIsIOPS(t *testing.T) {
	r := fixture.Read(t, "chain")
	byMode := map[string]Group{}
	for _, g := range Groups(r) {
		if g.Points[0].Workload.Depth == 3 {
			byMode[g.Points[0].Workload.Mode] = g
		}
	}
	drv, base := byMode["driver"], byMode["pread"]
	if len(drv.Points) == 0 || len(base.Points) == 0 {
		t.Fatal("no depth-3 driver and pread groups in the chain fixture")
	}
	var iops, lat []float64
	for i := range drv.Points {
		iops = append(iops, drv.Points[i].IOPS/base.Points[i].IOPS)
		lat = append(lat, base.Points[i].Summary.MeanNs/drv.Points[i].Summary.MeanNs)
	}
	sp, lr := Speedup(drv, base), LatencyRatio(drv, base)
	if math.Abs(sp.Median-stats.Median(iops)) > 1e-9 || math.Abs(lr.Median-stats.Median(lat)) > 1e-9 {
		t.Errorf("speedup %.4f (IOPS ratios say %.4f), latency ratio %.4f (latencies say %.4f)", sp.Median, stats.Median(iops), lr.Median, stats.Median(lat))
	}
	if math.Abs(sp.Median-lr.Median) < 0.01 {
		t.Errorf("IOPS speedup %.4f and latency ratio %.4f agree: the fixture cannot tell them apart", sp.Median, lr.Median)
	}
}

func TestKVOf(t *testing.T) {
	kv := KVOf(Analyze(fixture.KVRun()))
	if kv == nil || strings.Join(kv.Dists, ",") != "uniform,zipf" || len(kv.Lines) != 3 {
		t.Fatalf("kv: %+v", kv)
	}
	var labels []string
	for _, l := range kv.Lines {
		labels = append(labels, l.Label)
		if len(l.Points) != 2 {
			t.Errorf("%s: %d dists", l.Label, len(l.Points))
		}
	}
	if got := strings.Join(labels, " "); got != "pread syscall driver" {
		t.Errorf("labels %q", got)
	}
	for _, r := range []*results.Result{fixture.URingRun(), fixture.ThreadsRun(), fixture.BreakdownRun()} {
		if kv := KVOf(Analyze(r)); kv != nil {
			t.Errorf("%s: kv experiment found: %+v", r.Name, kv)
		}
	}
}

// TestStyleOf checks that each mode's colour is the model's
// (workload.Mode.Style) and that an unknown mode gets one no mode uses.
func TestStyleOf(t *testing.T) {
	for _, m := range workload.Modes() {
		if StyleOf(m.Name) != m.Style {
			t.Errorf("mode %s: style %d, model %d", m.Name, StyleOf(m.Name), m.Style)
		}
	}
	if StyleOf("nope") != len(workload.Modes()) {
		t.Errorf("unknown mode style %d, want %d", StyleOf("nope"), len(workload.Modes()))
	}

}
