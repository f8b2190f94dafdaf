package workload

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/harness/proto"
	model "github.com/bpfstor/bpfstor/harness/workload"
	"github.com/bpfstor/bpfstor/images/btree"
)

// A chain the kernel refused with ENOTBLK on a data file is one line
// saying why; on the raw device, and for any other error, the error is
// returned as it was.
func TestChainOnFile(t *testing.T) {
	enotblk := fmt.Errorf("btree syscall depth 3: key 7: chain_read at 512: %w", unix.ENOTBLK)
	other := fmt.Errorf("key 7: chain_read at 512: %w", unix.EIO)
	tests := []struct {
		name, on, mode string
		err            error
		want           string
	}{
		{"syscall on a file", model.OnFile, ModeSyscall, enotblk, "chain_read on a file: ENOTBLK: this kernel cannot chain on files (issue 14's patches)"},
		{"driver on a file", model.OnFile, ModeDriver, enotblk, "chain_read on a file: ENOTBLK: this kernel cannot chain on files (issue 14's patches)"},
		{"uring-kernel on a file", model.OnFile, ModeURingKernel, enotblk, "IORING_OP_CHAIN_READ on a file: ENOTBLK: this kernel cannot chain on files (issue 14's patches)"},
		{"another error on a file", model.OnFile, ModeDriver, other, other.Error()},
		{"ENOTBLK on the raw device", "", ModeDriver, enotblk, enotblk.Error()},
		{"no error", model.OnFile, ModeDriver, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := &Env{Job: &proto.Job{Device: "/dev/nvme0n1", FS: proto.FSExt4}, Data: "/mnt/data/btree.img"}
			err := chainOnFile(env, proto.Workload{Kind: proto.KindBTree, Mode: tt.mode, On: tt.on}, tt.err)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Fatalf("error %q, want %q", got, tt.want)
			}
			if err != nil && !errors.Is(err, unix.ENOTBLK) && errors.Is(tt.err, unix.ENOTBLK) {
				t.Errorf("%v does not wrap ENOTBLK", err)
			}
		})
	}
}

func TestMountDataRawAndUnknown(t *testing.T) {
	path, dev, unmount, err := MountData(&proto.Job{Device: "/dev/nvme0n1"})
	if err != nil || path != "" || dev != "/dev/nvme0n1" || unmount() != nil {
		t.Errorf("raw: %q on %q, %v: want no file, the device itself", path, dev, err)
	}
	if _, _, _, err := MountData(&proto.Job{Device: "/dev/nvme0n1", FS: "xfs"}); err == nil || err.Error() != `data file system "xfs" (data.fs): this agent knows ["" "ext4"]` {
		t.Errorf("xfs: %v", err)
	}
}

// On a data file the workloads read Env.Data, the file, and every answer
// checks; the device counters are not the file's (here: none).
func TestBTreeOnDataFile(t *testing.T) {
	tree := btreeFile(t, btree.Params{Keys: 3000, Fanout: 31, Seed: 3})
	env := &Env{Job: &proto.Job{Device: "/dev/bpfstor-no-such-disk", FS: proto.FSExt4, Seed: 3}, Data: tree, Logf: t.Logf}
	for _, w := range []proto.Workload{
		{Kind: proto.KindBTree, Ops: 200, Warmup: 10, Threads: 1, Mode: ModePread, On: model.OnFile},
		{Kind: proto.KindBTree, Ops: 200, Warmup: 10, Threads: 1, Mode: ModeURing, Batch: 4, On: model.OnFile},
	} {
		t.Run(w.Mode, func(t *testing.T) {
			if w.Mode == ModeURing && !uringWorks(t, tree) {
				missing(t, "io_uring is not available on this host")
			}
			p := RunPoint(env, proto.PointSpec{ID: w.Mode, Workload: w})
			if p.Status != proto.StatusOK || p.Checked != int64(w.Ops) || p.Wrong != 0 {
				t.Fatalf("status %s (%s), %d checked, %d wrong", p.Status, p.Error, p.Checked, p.Wrong)
			}
		})
	}
}

func TestErrnoName(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{unix.ENOTBLK, "ENOTBLK"},
		{fmt.Errorf("x: %w", unix.EINVAL), "EINVAL"},
		{errors.New("plain"), "plain"},
	} {
		got := named(tt.err)
		if got.Error() != tt.want {
			t.Errorf("named(%v) = %q, want %q", tt.err, got, tt.want)
		}
		var en unix.Errno
		if errors.As(tt.err, &en) && !errors.Is(got, en) {
			t.Errorf("named(%v) does not wrap %v", tt.err, en)
		}
	}
}
