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
		t.Logf("%s  btree %+v hops %+v uring %+v", runner.PointLine(p), p.BTree, p.Hops, p.URing)
	}
	if res.Status != results.StatusOK {
		t.Fatalf("status %s: %s (console: %s)", res.Status, res.Reason, filepath.Join(dir, "console.log"))
	}
	if len(res.Points) != 6 {
		t.Fatalf("%d points, want 6 (uring at batch 1 and 8, pread; 1 and 2 threads)", len(res.Points))
	}
	preadHops := map[int]int64{} // by threads
	for _, p := range res.Points {
		if p.Workload.Mode == "pread" {
			preadHops[p.Workload.Threads] = hopsOf(p).Hops
		}
	}
	for _, p := range res.Points {
		w := p.Workload
		if p.Status != proto.StatusOK || p.Ops != ops || p.Checked != p.Ops || p.Wrong != 0 {
			t.Errorf("%s: status %s ops %d checked %d wrong %d %s", p.ID, p.Status, p.Ops, p.Checked, p.Wrong, p.Error)
		}
		bt := btreeOf(p)
		if d := bt.Depth; d != 3 {
			t.Errorf("%s: tree depth %v, want 3", p.ID, d)
		}
		if bt.Found <= 0 || bt.NotFound <= 0 {
			t.Errorf("%s: found %v not found %v: both must be exercised", p.ID, bt.Found, bt.NotFound)
		}
		if p.Summary == nil || p.Summary.P50Ns <= 0 || p.IOPS <= 0 {
			t.Errorf("%s: no latency summary or IOPS", p.ID)
		}
		if w.Mode != "uring" {
			continue
		}
		hops := hopsOf(p).Hops
		if want := preadHops[w.Threads]; hops != want {
			t.Errorf("%s: %v blocks read, pread read %v for the same keys", p.ID, hops, want)
		}
		if b := uringOf(p).Batch; b != w.Batch {
			t.Errorf("%s: uring batch %v, want %d", p.ID, b, w.Batch)
		}
		// One submit per completion round: never more than the reads.
		if s := uringOf(p).Submits; s <= 0 || s > hops {
			t.Errorf("%s: %v io_uring submits for %v reads", p.ID, s, hops)
		}
	}
}
