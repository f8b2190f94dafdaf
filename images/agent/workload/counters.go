package workload

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf/link"

	"github.com/bpfstor/bpfstor/bpf/objs"
	"github.com/bpfstor/bpfstor/harness/proto"
)

// windowCounter counts, around a point's measured window, the commands the
// data disk's NVMe device served and the guest CPU time spent
// (proto.Counters). The block layer sees only the first read of a chain
// the driver resubmits, so the driver's resubmissions are counted on their
// tracepoint (bpf/progs/hop_trace.c) and added.
type windowCounter struct {
	stat string // /sys/class/block/<disk>/stat
	ht   objs.HopTraceObjects
	l    link.Link
}

// counterSnap is one reading of a windowCounter.
type counterSnap struct {
	reads, merged, resubmits int64
	busy                     time.Duration // guest CPU time not idle, all CPUs
	cpus                     int
}

// openWindowCounter counts for the block device at dev (e.g. /dev/nvme0n1).
func openWindowCounter(dev string) (*windowCounter, error) {
	real, err := filepath.EvalSymlinks(dev)
	if err != nil {
		return nil, fmt.Errorf("counters: %w", err)
	}
	c := &windowCounter{stat: filepath.Join("/sys/class/block", filepath.Base(real), "stat")}
	if _, _, err := diskReads(c.stat); err != nil {
		return nil, fmt.Errorf("counters: %w", err)
	}
	if err := objs.LoadHopTraceObjects(&c.ht, nil); err != nil {
		return nil, fmt.Errorf("counters: load hop_trace.c: %w", err)
	}
	if c.l, err = link.AttachRawTracepoint(link.RawTracepointOptions{Name: "nvme_chain_resubmit", Program: c.ht.CountResubmit}); err != nil {
		c.ht.Close()
		return nil, fmt.Errorf("counters: attach raw tracepoint nvme_chain_resubmit (the series' patch 7): %w", err)
	}
	return c, nil
}

func (c *windowCounter) close() {
	if c == nil {
		return
	}
	c.l.Close()
	c.ht.Close()
}

// snap reads the counters now.
func (c *windowCounter) snap() (counterSnap, error) {
	var s counterSnap
	var err error
	if s.reads, s.merged, err = diskReads(c.stat); err != nil {
		return s, err
	}
	var n uint64
	if err := c.ht.Resubmits.Lookup(uint32(0), &n); err != nil {
		return s, fmt.Errorf("read the resubmit count: %w", err)
	}
	s.resubmits = int64(n)
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s, err
	}
	if s.busy, err = cpuBusy(string(b)); err != nil {
		return s, err
	}
	s.cpus = runtime.NumCPU()
	return s, nil
}

// since is what was counted from snapshot a to s over a window.
func (s counterSnap) since(a counterSnap, window time.Duration) *proto.Counters {
	c := &proto.Counters{BlockReads: s.reads - a.reads, BlockMerged: s.merged - a.merged, DriverResubmits: s.resubmits - a.resubmits,
		BusyNs: int64(s.busy - a.busy), CPUs: s.cpus, WindowNs: int64(window)}
	c.Commands = c.BlockReads + c.DriverResubmits
	return c
}

// diskReads is the reads completed and reads merged fields of a block
// device's stat file (Documentation/block/stat.rst: the first two).
func diskReads(path string) (reads, merged int64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("%s: %q has no reads fields", path, strings.TrimSpace(string(b)))
	}
	if reads, err = strconv.ParseInt(f[0], 10, 64); err == nil {
		merged, err = strconv.ParseInt(f[1], 10, 64)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("%s: reads: %w", path, err)
	}
	return reads, merged, nil
}

// userHZ is the unit of /proc/stat's CPU times (USER_HZ, 100 on x86).
const userHZ = 100

// cpuBusy is the CPU time not idle in /proc/stat's "cpu" line: user, nice,
// system, irq and softirq (idle, iowait and steal, time the guest did not
// run, are left out; guest time is already in user).
func cpuBusy(stat string) (time.Duration, error) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: first line %q is not the cpu line", line)
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7} { // user nice system (idle iowait) irq softirq
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: cpu field %d: %w", i, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}
