package selftest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/bpf/objs"
	"github.com/bpfstor/bpfstor/bpf/storfn"
	"github.com/bpfstor/bpfstor/kernel/selftest/testdisk"
)

const (
	// hopBudgetParam is nvme-pci's chain_hop_budget module parameter.
	hopBudgetParam = "/sys/module/nvme/parameters/chain_hop_budget"
	fioPath        = "/usr/bin/fio"
)

// testSizes: chains whose block size changes every two hops. The driver
// resubmits the same-size hops and leaves each size change to the
// syscall; the bytes past a smaller block read as zero (the program
// checks, FlagZeroTail) and the result is the pread chain's.
func testSizes(e *env) (string, error) {
	r, err := newReader(e.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	n := 0
	for depth := 1; depth <= 13; depth++ {
		for _, fl := range levels {
			if err := e.checkChain(r, e.sizesChain(depth), fl); err != nil {
				return "", err
			}
			n++
		}
	}
	return fmt.Sprintf("%d chains with sizes 4096/512/1024 changing every two hops: identical to pread chains, tails zero, driver hands every size change to the syscall", n), nil
}

// testPartition runs chains on the partition of the partitioned test
// disk: offsets are relative to the partition at both levels, so the
// chains must match pread chains on the partition device, and a chain
// cannot leave it.
func testPartition(e *env) (string, error) {
	disk, err := e.testDisk(testdisk.Part)
	if err != nil {
		return "", err
	}
	disk.close()
	part := disk.path + "p1"
	d, err := openDev(part)
	if err != nil {
		return "", fmt.Errorf("partition of the partitioned test disk: %w", err)
	}
	defer d.close()
	if want := int64(testdisk.PartSectors) * 512; d.size != want {
		return "", fmt.Errorf("%s is %d bytes, want %d", part, d.size, want)
	}
	pe := e.on(d)
	r, err := newReader(pe.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	n := 0
	for depth := 1; depth <= 16; depth++ {
		for _, fl := range levels {
			if err := pe.checkChain(r, pe.randomChain(depth), fl); err != nil {
				return "", fmt.Errorf("%s: %w", part, err)
			}
			n++
		}
	}
	for _, fl := range levels {
		if _, err := pe.expectErrno(fl, storfn.ModeBeyondEnd, 4, unix.ERANGE); err != nil {
			return "", fmt.Errorf("%s: past the partition end: %w", part, err)
		}
	}
	return fmt.Sprintf("%d chains on %s (%d bytes at sector %d) identical to pread chains on the partition; past its end -> ERANGE", n, part, d.size, testdisk.PartStart), nil
}

// testLBA4K: on a namespace of 4 KiB logical blocks, 512 B chains and
// 512 B hops are refused and 4 KiB chains match pread chains.
func testLBA4K(e *env) (string, error) {
	d, err := e.testDisk(testdisk.LBA4K)
	if err != nil {
		return "", err
	}
	defer d.close()
	pe := e.on(d)
	scr := storfn.ChainScratch{Seed: 1, Nblocks: uint64(d.size / 4096), Depth: 3}.Marshal()
	for _, fl := range levels {
		if _, err := storfn.ChainRead(d.fd, make([]byte, 512), 0, e.prog.FD(), scr, fl); !errors.Is(err, unix.EINVAL) {
			return "", fmt.Errorf("%s: 512 B chain on a 4 KiB namespace: got %v, want EINVAL", levelName(fl), err)
		}
		if _, err := storfn.ChainRead(d.fd, make([]byte, 4096), 512, e.prog.FD(), scr, fl); !errors.Is(err, unix.EINVAL) {
			return "", fmt.Errorf("%s: start at 512 on a 4 KiB namespace: got %v, want EINVAL", levelName(fl), err)
		}
	}
	r, err := newReader(pe.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	n := 0
	for depth := 1; depth <= 12; depth++ {
		for _, fl := range levels {
			c := pe.randomChain(depth)
			c.size = 4096
			c.scratch.Nblocks = uint64(d.size / 4096)
			c.start = int64(e.uint64()%c.scratch.Nblocks) * 4096
			if err := pe.checkChain(r, c, fl); err != nil {
				return "", err
			}
			n++
		}
		// a hop asking for 512 B ends the chain with EINVAL
		for _, fl := range levels {
			c := pe.sizesChain(4) // 4096, 4096, 512: the third hop is refused
			_, st, err := storfn.ChainReadStats(d.fd, make([]byte, 4096), c.start, e.prog.FD(), c.scratch.Marshal(), fl)
			if !errors.Is(err, unix.EINVAL) || st.Hops != 2 {
				return "", fmt.Errorf("%s: 512 B hop on a 4 KiB namespace: %v after %d hops, want EINVAL after 2", levelName(fl), err, st.Hops)
			}
		}
	}
	return fmt.Sprintf("4 KiB namespace: 512 B chains, starts and hops -> EINVAL; %d 4 KiB chains identical to pread chains", n), nil
}

// testTracepoint: the nvme_chain_resubmit tracepoint fires once for every
// hop the driver resubmits.
func testTracepoint(e *env) (string, error) {
	var ht objs.HopTraceObjects
	if err := objs.LoadHopTraceObjects(&ht, nil); err != nil {
		return "", fmt.Errorf("load hop_trace.c: %w", err)
	}
	defer ht.Close()
	l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: "nvme_chain_resubmit", Program: ht.CountResubmit})
	if err != nil {
		return "", fmt.Errorf("attach raw tracepoint nvme_chain_resubmit: %w", err)
	}
	defer l.Close()
	count := func() (uint64, error) {
		var v uint64
		return v, ht.Resubmits.Lookup(uint32(0), &v)
	}
	before, err := count()
	if err != nil {
		return "", err
	}
	var want uint64
	for i := 0; i < 40; i++ {
		c := e.randomChain(1 + e.intn(16))
		fl := levels[i%2]
		_, st, err := storfn.ChainReadStats(e.fd, make([]byte, c.size), c.start, e.prog.FD(), c.scratch.Marshal(), fl)
		if err != nil {
			return "", err
		}
		want += uint64(st.DriverHops)
	}
	after, err := count()
	if err != nil {
		return "", err
	}
	if after-before != want || want == 0 {
		return "", fmt.Errorf("tracepoint fired %d times for %d driver-resubmitted hops", after-before, want)
	}
	return fmt.Sprintf("nvme_chain_resubmit fired %d times for %d driver hops (40 chains, both levels)", after-before, want), nil
}

// testHopBudget: with nvme-pci's chain_hop_budget at 0 the driver
// resubmits nothing and the syscall carries every chain, with the same
// answers; at 1, with many chains in flight, answers stay right.
func testHopBudget(e *env) (string, error) {
	orig, err := readInt(hopBudgetParam)
	if err != nil {
		return "", fmt.Errorf("nvme-pci chain_hop_budget: %w", err)
	}
	defer writeSysctl(hopBudgetParam, orig)
	r, err := newReader(e.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	if err := writeSysctl(hopBudgetParam, 0); err != nil {
		return "", err
	}
	for depth := 2; depth <= 10; depth++ {
		c := e.randomChain(depth)
		buf, scr := make([]byte, c.size), c.scratch.Marshal()
		_, st, err := storfn.ChainReadStats(e.fd, buf, c.start, e.prog.FD(), scr, storfn.FlagDriver)
		if err != nil {
			return "", fmt.Errorf("budget 0: %w", err)
		}
		if st.DriverHops != 0 {
			return "", fmt.Errorf("budget 0: the driver resubmitted %d hops", st.DriverHops)
		}
		be := *e
		be.budgeted = true
		if err := be.checkChain(r, c, storfn.FlagDriver); err != nil {
			return "", fmt.Errorf("budget 0: %w", err)
		}
	}
	if err := writeSysctl(hopBudgetParam, 1); err != nil {
		return "", err
	}
	be := *e
	be.budgeted = true
	hops, driver, err := be.parallelChains(8, 30, []uint32{storfn.FlagDriver})
	if err != nil {
		return "", fmt.Errorf("budget 1: %w", err)
	}
	return fmt.Sprintf("budget 0: no driver hops, answers identical; budget 1, 8 threads: %d of %d later hops resubmitted by the driver, answers identical (default %d)", driver, hops, orig), nil
}

// goThreads runs body(t, r) on threads goroutines, each with its own
// pread reader on fd. done is closed when all have returned; first then
// gives the first error, or nil.
func goThreads(fd, threads int, body func(t int, r *reader) error) (done <-chan struct{}, first func() error) {
	var wg sync.WaitGroup
	errs := make(chan error, threads)
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func(t int) {
			defer wg.Done()
			r, err := newReader(fd)
			if err != nil {
				errs <- err
				return
			}
			defer r.close()
			if err := body(t, r); err != nil {
				errs <- err
			}
		}(t)
	}
	ch := make(chan struct{})
	go func() { wg.Wait(); close(errs); close(ch) }()
	return ch, func() error { return <-errs }
}

// parallelChains runs per random chains on each of threads threads,
// cycling through the levels, each checked against the pread chain; it
// returns the later hops (after each chain's first) and how many of them
// the driver resubmitted.
func (e *env) parallelChains(threads, per int, lv []uint32) (hops, driver uint64, err error) {
	var mu sync.Mutex
	done, first := goThreads(e.fd, threads, func(t int, r *reader) error {
		for i := 0; i < per; i++ {
			c := e.randomChain(1 + e.intn(16))
			st, err := e.checkChainStats(r, c, lv[(t+i)%len(lv)])
			if err != nil {
				return fmt.Errorf("thread %d chain %d: %w", t, i, err)
			}
			mu.Lock()
			hops += uint64(st.Hops - 1)
			driver += uint64(st.DriverHops)
			mu.Unlock()
		}
		return nil
	})
	<-done
	return hops, driver, first()
}

// testWithFio runs chains at both levels on the data disk while fio reads
// it at random: the chains share the NVMe queues with ordinary I/O, and
// both must be right (fio's own errors fail it).
func testWithFio(e *env) (string, error) {
	if _, err := os.Stat(fioPath); err != nil {
		return "", fmt.Errorf("fio not in the image (%s): %w", fioPath, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, fioPath, "--name=mix", "--filename="+e.opts.Device, "--readonly", "--rw=randread",
		"--bs=4k", "--direct=1", "--ioengine=psync", "--numjobs=2", "--time_based", "--runtime=8", "--output-format=json")
	out := &strings.Builder{}
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	time.Sleep(time.Second) // fio is reading by now, for 7 s more
	start := time.Now()
	hops, driver, cerr := e.parallelChains(4, 50, levels)
	took := time.Since(start)
	werr := cmd.Wait()
	if cerr != nil {
		return "", fmt.Errorf("chains beside fio: %w", cerr)
	}
	var res struct {
		Jobs []struct {
			Error int `json:"error"`
			Read  struct {
				IOBytes int64 `json:"io_bytes"`
			} `json:"read"`
		} `json:"jobs"`
	}
	o := out.String()
	if i := strings.IndexByte(o, '{'); i >= 0 {
		o = o[i:]
	}
	if err := json.Unmarshal([]byte(o), &res); err != nil {
		return "", fmt.Errorf("fio (%v): no JSON report: %v: %s", werr, err, tail(out.String(), 5))
	}
	var bytes int64
	for _, j := range res.Jobs {
		if j.Error != 0 {
			return "", fmt.Errorf("fio job error %d", j.Error)
		}
		bytes += j.Read.IOBytes
	}
	if bytes == 0 {
		return "", fmt.Errorf("fio read nothing")
	}
	return fmt.Sprintf("200 chains in %v (4 threads, both levels; %d of %d later hops by the driver) identical to pread chains while fio (8 s) read %d MiB at random on the same queues",
		took.Round(time.Millisecond), driver, hops, bytes>>20), nil
}

// pciDevice is the PCI device directory of a controller.
func pciDevice(ctrl string) (string, error) {
	return filepath.EvalSymlinks(filepath.Join(ctrl, "device"))
}

const pollQueuesParam = "/sys/module/nvme/parameters/poll_queues"

// ioInterrupts sums the interrupts of the I/O queues (nvmeXq1, q2, ...;
// not the admin queue q0) of controller instance ctrl in /proc/interrupts.
func ioInterrupts(ctrl string) (uint64, error) {
	b, err := os.ReadFile("/proc/interrupts")
	if err != nil {
		return 0, err
	}
	var sum uint64
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		q, ok := strings.CutPrefix(f[len(f)-1], ctrl+"q")
		if !ok || q == "0" {
			continue
		}
		for _, n := range f[1:] {
			v, err := strconv.ParseUint(n, 10, 64)
			if err != nil {
				break
			}
			sum += v
		}
	}
	return sum, nil
}

// testPoll: with CHAIN_READ_POLL on a controller that has a poll queue,
// driver chains are found by polling: identical to pread chains, every
// later hop resubmitted by the driver, and not one I/O interrupt raised;
// the same chains without the flag raise interrupts. The hotplug test
// disk is re-probed (PCI remove and rescan) with nvme's poll_queues at 1.
func testPoll(e *env) (string, error) {
	restore, err := setInt(pollQueuesParam, 1)
	if err != nil {
		return "", fmt.Errorf("nvme poll_queues: %w", err)
	}
	defer restore()
	d, pci, err := e.hotplugDisk()
	if err != nil {
		return "", err
	}
	d.close()
	if err := writeFile(filepath.Join(pci, "remove"), "1"); err != nil {
		return "", err
	}
	p, err := rescan(testdisk.Serial(testdisk.Hotplug))
	if err != nil {
		return "", err
	}
	if b, _ := os.ReadFile(filepath.Join("/sys/block", filepath.Base(p), "queue", "io_poll")); strings.TrimSpace(string(b)) != "1" {
		return "", fmt.Errorf("%s has no poll queue after a re-probe with poll_queues=1 (io_poll %q)", p, strings.TrimSpace(string(b)))
	}
	nd, err := openDev(p)
	if err != nil {
		return "", err
	}
	defer nd.close()
	ctrl := filepath.Base(controllers(filepath.Base(p))[0])
	pe := e.on(nd)
	r, err := newReader(nd.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	// run counts the I/O interrupts during 20 chains (not during the
	// pread chains they are checked against)
	run := func(flags uint32) (irqs, hops uint64, err error) {
		for i := 0; i < 20; i++ {
			c := pe.randomChain(2 + pe.intn(14))
			c.size = 512
			c.scratch.Nblocks = uint64(nd.size / 512)
			c.start = int64(pe.uint64()%c.scratch.Nblocks) * 512
			ref, err := storfn.RefChain(r.ReadAt, c.size, c.start, c.scratch)
			if err != nil {
				return 0, 0, err
			}
			before, err := ioInterrupts(ctrl)
			if err != nil {
				return 0, 0, err
			}
			buf, scr := make([]byte, c.size), c.scratch.Marshal()
			_, st, err := storfn.ChainReadStats(nd.fd, buf, c.start, e.prog.FD(), scr, flags)
			after, _ := ioInterrupts(ctrl)
			if err != nil {
				return 0, 0, fmt.Errorf("%s: %w", levelName(flags), err)
			}
			got, _ := storfn.UnmarshalChainScratch(scr)
			if string(buf) != string(ref.Final) || got != ref.Scratch || st.DriverHops != uint32(ref.Hops-1) {
				return 0, 0, fmt.Errorf("%s: chain differs from the pread chain (driver hops %d of %d)", levelName(flags), st.DriverHops, ref.Hops)
			}
			hops += uint64(st.Hops)
			irqs += after - before
		}
		return irqs, hops, nil
	}
	pollIRQs, pollHops, err := run(storfn.FlagDriver | storfn.FlagPoll)
	if err != nil {
		return "", err
	}
	irqIRQs, irqHops, err := run(storfn.FlagDriver)
	if err != nil {
		return "", err
	}
	if pollIRQs != 0 {
		return "", fmt.Errorf("polled chains (%d hops) raised %d I/O interrupts on %s", pollHops, pollIRQs, ctrl)
	}
	if irqIRQs == 0 {
		return "", fmt.Errorf("chains without CHAIN_READ_POLL raised no interrupt on %s either: the count is broken", ctrl)
	}
	return fmt.Sprintf("20 polled DRIVER chains (%d hops) identical to pread chains with 0 I/O interrupts on %s; without the flag 20 chains (%d hops) raised %d", pollHops, ctrl, irqHops, irqIRQs), nil
}
