package runner

import (
	"fmt"
	"path/filepath"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/vm"
	"github.com/bpfstor/bpfstor/harness/workload"
	"github.com/bpfstor/bpfstor/images/guestimg"
	"github.com/bpfstor/bpfstor/kernel/selftest/testdisk"
)

// needsTestDisks reports whether a point's kind needs the extra disks of
// kernel/selftest/testdisk (workload.Kind.NeedsTestDisks: the kernel
// feature's in-guest tests).
func needsTestDisks(points []proto.PointSpec) bool {
	for _, p := range points {
		if k, ok := workload.Lookup(p.Workload.Kind); ok && k.NeedsTestDisks {
			return true
		}
	}
	return false
}

// addTestDisks attaches the extra test disks after the data disk and sets
// the NVMe I/O timeout they are built around.
func (e *Env) addTestDisks(cfg *vm.Config) error {
	disks, err := guestimg.BuildTestDisks(filepath.Join(e.Cache, "images"))
	if err != nil {
		return err
	}
	for _, d := range disks {
		cfg.Disks = append(cfg.Disks, vm.Disk{
			Path: d.Path, Serial: testdisk.Serial(d.Role), BlockSize: d.BlockSize, IOPS: d.IOPS, BlkDebug: d.BlkDebug,
			Snapshot: d.Ext4,
		})
	}
	cfg.Append = append(cfg.Append, fmt.Sprintf("nvme_core.io_timeout=%d", testdisk.IOTimeout))
	return nil
}
