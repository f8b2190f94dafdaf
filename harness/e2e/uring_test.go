package e2e

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/harness/runner"
)

// TestURingLookups runs B+-tree point lookups in the io_uring modes
// (images/agent/workload/btree_uring.go: Batch lookups in flight per thread
// on an io_uring, chained from user space, or in the kernel with
// IORING_OP_CHAIN_READ at the io_uring or the driver level) beside the
// pread mode on a depth-3 tree: every answer must be checked and right, for
// the same threads every mode must read the same number of blocks (they
// look up the same keys), and the device commands counted in the guest
// over the window, with the reads the block layer merged, must be exactly
// those reads, the driver's resubmissions exactly its hops.
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
mode = ["uring", "uring-kernel", "uring-driver"]
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
	if len(res.Points) != 14 {
		t.Fatalf("%d points, want 14 (3 io_uring modes at batch 1 and 8, pread; 1 and 2 threads)", len(res.Points))
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
		hops := hopsOf(p).Hops
		// Reads the block layer merged (user-space chaining with lookups in
		// flight reads neighbouring nodes at once) are one command.
		if c := p.Counters; c == nil || c.Commands+c.BlockMerged != hops || c.DriverResubmits != hopsOf(p).DriverHops || c.BusyNs <= 0 || c.WindowNs <= 0 {
			t.Errorf("%s: counters %+v for %d reads, %d by the driver", p.ID, c, hops, hopsOf(p).DriverHops)
		}
		switch d := hopsOf(p).DriverHops; {
		case w.Mode == "uring-driver" && d <= 0:
			t.Errorf("%s: no hop resubmitted by the driver", p.ID)
		case w.Mode != "uring-driver" && d != 0:
			t.Errorf("%s: %d hops resubmitted by the driver in mode %s", p.ID, d, w.Mode)
		}
		if w.Batch == 0 {
			continue
		}
		if want := preadHops[w.Threads]; hops != want {
			t.Errorf("%s: %v blocks read, pread read %v for the same keys", p.ID, hops, want)
		}
		if b := uringOf(p).Batch; b != w.Batch {
			t.Errorf("%s: uring batch %v, want %d", p.ID, b, w.Batch)
		}
		// One submit per completion round: never more than the reads (for
		// the kernel modes, never more than the lookups).
		if s := uringOf(p).Submits; s <= 0 || s > hops {
			t.Errorf("%s: %v io_uring submits for %v reads", p.ID, s, hops)
		}
	}
}
