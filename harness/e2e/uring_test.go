package e2e

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/harness/runner"
)

// TestURingLookups runs B+-tree point lookups in the uring mode
// (images/agent/workload/btree_uring.go: Batch lookups in flight per thread
// on an io_uring, chained from user space) beside the pread mode on a
// depth-3 tree: every answer must be checked and right, and for the same
// threads both modes must read the same number of blocks (they look up the
// same keys).
func TestURingLookups(t *testing.T) {
	const ops = 300
	res, dir := runSpec(t, fmt.Sprintf(`name = "e2e-uring"
[vm]
accel = "tcg"
[data]
kind = "btree"
keys = 3000
fanout = 31
[[workload]]
kind = "btree"
ops = %d
warmup = 30
mode = "uring"
batch = [1, 8]
threads = [1, 2]
[[workload]]
kind = "btree"
ops = %d
warmup = 30
mode = "pread"
threads = [1, 2]
`, ops, ops))
	for _, p := range res.Points {
		t.Logf("%s  %v", runner.PointLine(p), p.Extra)
	}
	if res.Status != results.StatusOK {
		t.Fatalf("status %s: %s (console: %s)", res.Status, res.Reason, filepath.Join(dir, "console.log"))
	}
	if len(res.Points) != 6 {
		t.Fatalf("%d points, want 6 (uring at batch 1 and 8, pread; 1 and 2 threads)", len(res.Points))
	}
	num := func(v any) float64 { // Extra values come back from JSON as float64
		f, ok := v.(float64)
		if !ok {
			return -1
		}
		return f
	}
	preadHops := map[int]float64{} // by threads
	for _, p := range res.Points {
		if p.Workload.Mode == "pread" {
			preadHops[p.Workload.Threads] = num(p.Extra["hops"])
		}
	}
	for _, p := range res.Points {
		w := p.Workload
		if p.Status != proto.StatusOK || p.Ops != ops || p.Checked != p.Ops || p.Wrong != 0 {
			t.Errorf("%s: status %s ops %d checked %d wrong %d %s", p.ID, p.Status, p.Ops, p.Checked, p.Wrong, p.Error)
		}
		if d := num(p.Extra["tree_depth"]); d != 3 {
			t.Errorf("%s: tree depth %v, want 3", p.ID, d)
		}
		if num(p.Extra["found"]) <= 0 || num(p.Extra["not_found"]) <= 0 {
			t.Errorf("%s: found %v not found %v: both must be exercised", p.ID, p.Extra["found"], p.Extra["not_found"])
		}
		if p.Summary == nil || p.Summary.P50Ns <= 0 || p.IOPS <= 0 {
			t.Errorf("%s: no latency summary or IOPS", p.ID)
		}
		if w.Mode != "uring" {
			continue
		}
		hops := num(p.Extra["hops"])
		if want := preadHops[w.Threads]; hops != want {
			t.Errorf("%s: %v blocks read, pread read %v for the same keys", p.ID, hops, want)
		}
		if b := num(p.Extra["batch"]); b != float64(w.Batch) {
			t.Errorf("%s: extra batch %v, want %d", p.ID, b, w.Batch)
		}
		// One submit per completion round: never more than the reads.
		if s := num(p.Extra["uring_submits"]); s <= 0 || s > hops {
			t.Errorf("%s: %v io_uring submits for %v reads", p.ID, s, hops)
		}
	}
}
