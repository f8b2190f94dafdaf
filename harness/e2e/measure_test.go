package e2e

import (
	"testing"

	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/harness/runner"
)

// TestMeasuredModes runs every lookup path in the guest with threads:
// every answer checked after the clock, IOPS over the window all threads
// ran, the order of each repetition and the steal recorded per point.
func TestMeasuredModes(t *testing.T) {
	needSeries(t)
	res, dir := runSpec(t, `name = "e2e-measured"
[vm]
accel = "tcg"
[data]
kind = "btree"
keys = 3000
[run]
repetitions = 2
seed = 5
[[workload]]
kind = "btree"
ops = 60
warmup = 6
threads = [1, 2]
mode = ["pread", "driver", "uring"]
batch = 4
`)
	if res.Status != results.StatusOK || len(res.Points) != 12 {
		t.Fatalf("%s: %s (%s), %d points", dir, res.Status, res.Reason, len(res.Points))
	}
	orders := map[int]map[int]bool{}
	for _, p := range res.Points {
		t.Logf("%s (order %d)", runner.PointLine(p), p.Order)
		if p.Ops != 60 || p.Checked != 60 || p.Wrong != 0 {
			t.Errorf("%s: ops %d checked %d wrong %d", p.ID, p.Ops, p.Checked, p.Wrong)
		}
		if p.IOPSWindowNs <= 0 || p.IOPSWindowNs > p.ElapsedNs || p.IOPS <= 0 {
			t.Errorf("%s: IOPS %.0f over %d ns of %d ns measured", p.ID, p.IOPS, p.IOPSWindowNs, p.ElapsedNs)
		}
		if p.Workload.Threads == 1 && float64(p.IOPSWindowNs) < 0.95*float64(p.ElapsedNs) {
			t.Errorf("%s: one thread, but the IOPS window %d ns is well short of the measured %d ns", p.ID, p.IOPSWindowNs, p.ElapsedNs)
		}
		if p.Steal == nil || p.Steal.Host == nil || p.Steal.Guest == nil {
			t.Errorf("%s: steal %+v", p.ID, p.Steal)
		}
		if orders[p.Rep] == nil {
			orders[p.Rep] = map[int]bool{}
		}
		orders[p.Rep][p.Order] = true
	}
	for rep, o := range orders {
		if len(o) != 6 {
			t.Errorf("repetition %d: orders %v, want 0..5 once each", rep, o)
		}
	}
}
