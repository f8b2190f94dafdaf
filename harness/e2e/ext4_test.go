package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/harness/runner"
	"github.com/bpfstor/bpfstor/images/guestimg"
)

// TestExt4Lookups runs B+-tree lookups in one run on the raw data disk and
// on the tree as a file on ext4 (data.fs = "ext4", on = ["device",
// "file"]): the VM has both disks, the guest mounts the ext4 one read-only
// and the file points read /btree.img with O_DIRECT. Every mode must work
// on both, every answer checked and right; on the file the kernel modes
// chain through the file's extents (kernel patches 14-16), the driver
// resubmitting hops; mode for mode, the file points read the same blocks
// and find the same keys as the device points; the counters of the file
// points count the ext4 disk; the result records the file system.
func TestExt4Lookups(t *testing.T) {
	const ops = 300
	res, dir := runSpec(t, fmt.Sprintf(`name = "e2e-ext4"
[vm]
accel = "tcg"
[data]
kind = "btree"
keys = 3000
fanout = 31
fs = "ext4"
[[workload]]
kind = "btree"
ops = %d
warmup = 30
mode = ["pread", "syscall", "driver"]
on = ["device", "file"]
[[workload]]
kind = "btree"
ops = %d
warmup = 30
mode = ["uring", "uring-kernel", "uring-driver"]
batch = 4
on = ["device", "file"]
[[workload]]
kind = "fio"
ops = %d
`, ops, ops, ops))
	for _, p := range res.Points {
		t.Logf("%s  btree %+v hops %+v counters %+v", runner.PointLine(p), p.BTree, p.Hops, p.Counters)
	}
	if m := res.Meta; m.DataFS != proto.FSExt4 || m.DataKind != "btree" || !strings.HasSuffix(m.DataImage, guestimg.Ext4Suffix) {
		t.Errorf("result records data %s %s on %q, want a btree %s image on ext4", m.DataKind, m.DataImage, m.DataFS, guestimg.Ext4Suffix)
	}
	if len(res.Points) != 13 || res.Status != results.StatusOK {
		t.Fatalf("%d points, want 13 (6 modes x device and file, fio); status %s: %s (console: %s)",
			len(res.Points), res.Status, res.Reason, filepath.Join(dir, "console.log"))
	}
	byMode := map[string][2]*results.Point{} // [device, file]
	for _, p := range res.Points {
		w := p.Workload
		if p.Status != proto.StatusOK || p.Ops != ops || p.Wrong != 0 {
			t.Errorf("%s: status %s ops %d checked %d wrong %d %s", p.ID, p.Status, p.Ops, p.Checked, p.Wrong, p.Error)
			continue
		}
		if p.Summary == nil || p.Summary.P50Ns <= 0 || p.IOPS <= 0 {
			t.Errorf("%s: no latency summary or IOPS", p.ID)
		}
		if w.Kind == proto.KindFio {
			continue // fio checks no data
		}
		if p.Checked != p.Ops {
			t.Errorf("%s: %d of %d answers checked", p.ID, p.Checked, p.Ops)
		}
		bt := btreeOf(p)
		if bt.Depth != 3 || bt.Found <= 0 || bt.NotFound <= 0 {
			t.Errorf("%s: tree depth %d, found %d, not found %d: want depth 3 and both", p.ID, bt.Depth, bt.Found, bt.NotFound)
		}
		// The counters read the disk the point read: at least every read
		// of the lookups reached it (ext4 may add its own).
		hops := hopsOf(p)
		if c := p.Counters; c == nil || c.Commands+c.BlockMerged < hops.Hops-hops.DriverHops || c.WindowNs <= 0 {
			t.Errorf("%s: counters %+v for %d reads (%d by the driver)", p.ID, c, hops.Hops, hops.DriverHops)
		}
		if strings.Contains(w.Mode, "driver") && hops.DriverHops == 0 {
			t.Errorf("%s: the driver resubmitted none of %d hops", p.ID, hops.Hops)
		}
		pair := byMode[w.Mode]
		if w.On == "file" {
			pair[1] = p
		} else {
			pair[0] = p
		}
		byMode[w.Mode] = pair
	}
	for mode, pair := range byMode {
		r, f := pair[0], pair[1]
		if r == nil || f == nil {
			t.Errorf("%s: device point %v, file point %v", mode, r != nil, f != nil)
			continue
		}
		rb, fb := btreeOf(r), btreeOf(f)
		if hopsOf(r).Hops != hopsOf(f).Hops || rb.Found != fb.Found || rb.NotFound != fb.NotFound || r.Checked != f.Checked {
			t.Errorf("%s: the device read %d blocks, found %d, not found %d, checked %d; the file %d, %d, %d, %d",
				mode, hopsOf(r).Hops, rb.Found, rb.NotFound, r.Checked, hopsOf(f).Hops, fb.Found, fb.NotFound, f.Checked)
		}
	}
}
