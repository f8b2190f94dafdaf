package selftest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/bpf/storfn"
	"github.com/bpfstor/bpfstor/kernel/selftest/testdisk"
)

const failDir = "/sys/kernel/debug/fail_make_request"

func writeFile(path, v string) error { return os.WriteFile(path, []byte(v), 0o644) }

// ioErrnos are the errnos a failed read may end a chain with: EIO, or
// ENODATA for the media error QEMU reports (BLK_STS_MEDIUM).
func isIOErrno(err error) bool { return errors.Is(err, unix.EIO) || errors.Is(err, unix.ENODATA) }

// testIOError fails reads in the device (QEMU blkdebug on the EIO test
// disk, every read touching testdisk.FailSector): on the first hop, and on
// the third hop, which the driver resubmitted itself at DRIVER level. The
// chain ends with the I/O error after exactly the hops before it, at the
// failing block. On kernels with fail_make_request the first bio is also
// failed in the block layer.
func testIOError(e *env) (string, error) {
	d, err := e.testDisk(testdisk.EIO)
	if err != nil {
		return "", err
	}
	defer d.close()
	bad := int64(testdisk.FailSector) * 512
	var msgs []string
	for _, size := range []int64{512, 4096} {
		for _, c := range []struct {
			start int64
			hops  uint32
		}{{bad, 0}, {bad - 2*size, 2}} {
			for _, fl := range levels {
				scr := storfn.ChainScratch{Seed: 3, Depth: 6, Mode: storfn.ModeSequential}.Marshal()
				_, st, err := storfn.ChainReadStats(d.fd, make([]byte, size), c.start, e.prog.FD(), scr, fl)
				where := fmt.Sprintf("%s, %d B blocks from %d", levelName(fl), size, c.start)
				if !isIOErrno(err) {
					return "", fmt.Errorf("%s: got %v, want EIO or ENODATA", where, err)
				}
				wantDriver := uint32(0)
				if fl == storfn.FlagDriver {
					wantDriver = c.hops
				}
				if st.Hops != c.hops || st.DriverHops != wantDriver || st.FinalOffset != bad-bad%size {
					return "", fmt.Errorf("%s: ended after %d hops (%d by the driver) at %d, want %d (%d) at %d",
						where, st.Hops, st.DriverHops, st.FinalOffset, c.hops, wantDriver, bad-bad%size)
				}
				if size == 512 && c.hops == 2 {
					msgs = append(msgs, fmt.Sprintf("%s: third hop fails -> %v after 2 hops (%d by the driver)", levelName(fl), errnoOf(err), st.DriverHops))
				}
			}
		}
	}
	if fi, err := maybeFailMakeRequest(e); err != nil {
		return "", err
	} else if fi != "" {
		msgs = append(msgs, fi)
	}
	r, err := newReader(e.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	for _, fl := range levels {
		if err := e.checkChain(r, e.randomChain(8), fl); err != nil {
			return "", fmt.Errorf("after the injected errors: %w", err)
		}
	}
	return "device errors (QEMU blkdebug) on the first and on a driver-resubmitted hop, 512 B and 4 KiB, both levels: " +
		strings.Join(msgs, "; ") + "; chains fine afterwards", nil
}

func errnoOf(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		return unix.ErrnoName(en)
	}
	return fmt.Sprint(err)
}

// maybeFailMakeRequest fails the first bio of a chain in the block layer
// where the kernel has fail_make_request (the debug kernel).
func maybeFailMakeRequest(e *env) (string, error) {
	mountDebugfs(failDir)
	if _, err := os.Stat(failDir); err != nil {
		return "", nil
	}
	mif := filepath.Join("/sys/block", filepath.Base(e.opts.Device), "make-it-fail")
	for _, kv := range [][2]string{{"verbose", "0"}, {"probability", "100"}, {"interval", "1"}, {"times", "1"}} {
		if err := writeFile(filepath.Join(failDir, kv[0]), kv[1]); err != nil {
			return "", err
		}
	}
	if err := writeFile(mif, "1"); err != nil {
		return "", err
	}
	defer writeFile(mif, "0")
	for _, fl := range levels {
		st, err := e.expectErrno(fl, storfn.ModeNormal, 6, unix.EIO)
		if err != nil {
			return "", fmt.Errorf("fail_make_request: %w", err)
		}
		if st.Hops != 0 {
			return "", fmt.Errorf("fail_make_request %s: EIO after %d hops, want 0", levelName(fl), st.Hops)
		}
		if fl == storfn.FlagSyscall {
			if err := writeFile(filepath.Join(failDir, "times"), "1"); err != nil {
				return "", err
			}
		}
	}
	return "fail_make_request on the first bio -> EIO after 0 hops at both levels", nil
}

// testTimeout: a chain of slow hops outlives the block layer's I/O
// timeout (testdisk.IOTimeout) although each hop is far below it. The
// driver re-arms the deadline per hop, so no timeout fires, the
// controller is not reset, and the chain is right.
func testTimeout(e *env) (string, error) {
	d, err := e.testDisk(testdisk.Slow)
	if err != nil {
		return "", err
	}
	defer d.close()
	km, err := openKmsg()
	if err != nil {
		return "", err
	}
	defer km.close()
	pe := e.on(d)
	r, err := newReader(d.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	// longer than the timeout fires (it is rounded up to a whole second)
	depth := testdisk.SlowIOPS * (testdisk.IOTimeout + 2)
	restore, err := setInt(storfn.SysctlMaxHops, depth)
	if err != nil {
		return "", err
	}
	defer restore()
	c := pe.diskChain(depth, d.size)
	c.start = 0
	start := time.Now()
	st, err := pe.checkChainStats(r, chainCase{size: c.size, start: c.start, scratch: c.scratch}, storfn.FlagDriver)
	took := time.Since(start) // the chain, then as long again for the pread chain
	if err != nil {
		return "", err
	}
	if chain := took / 2; chain < time.Duration(testdisk.IOTimeout)*time.Second {
		return "", fmt.Errorf("the %d-hop chain took only about %v, less than the %d s I/O timeout: the slow disk is not slow", depth, chain, testdisk.IOTimeout)
	}
	for _, l := range km.lines() {
		if strings.Contains(l, "timeout") || strings.Contains(l, "resetting") || strings.Contains(l, "Abort") {
			return "", fmt.Errorf("during the chain the kernel logged %q", l)
		}
	}
	return fmt.Sprintf("%d-hop DRIVER chain (%d by the driver) over about %v on a %d IOPS disk, I/O timeout %d s: no timeout, no reset, identical to the pread chain",
		st.Hops, st.DriverHops, (took / 2).Round(100*time.Millisecond), testdisk.SlowIOPS, testdisk.IOTimeout), nil
}

// chainRec is one chain run while a fault is applied.
type chainRec struct {
	level      uint32
	start, end time.Time
	err        error
	driverHops uint32
}

// window is when a fault was applied.
type window struct{ start, end time.Time }

func (c chainRec) overlaps(ws []window) bool {
	for _, w := range ws {
		if c.start.Before(w.end) && c.end.After(w.start) {
			return true
		}
	}
	return false
}

// underFault runs chains on d in threads, both levels alternating, each
// checked against the pread chain when it succeeds, while fault runs; it
// returns every chain's record. A chain that succeeds with a wrong answer,
// or chains that do not end within 60 s of the fault, fail.
func (e *env) underFault(d *dev, threads int, fault func() ([]window, error)) ([]chainRec, []window, error) {
	pe := e.on(d)
	var stop atomic.Bool
	var mu sync.Mutex
	var recs []chainRec
	done, first := goThreads(d.fd, threads, func(t int, r *reader) error {
		for i := 0; !stop.Load(); i++ {
			c := pe.randomChain(1 + pe.intn(16))
			fl := levels[(t+i)%2]
			buf, scr := make([]byte, c.size), c.scratch.Marshal()
			rec := chainRec{level: fl, start: time.Now()}
			_, st, err := storfn.ChainReadStats(d.fd, buf, c.start, e.prog.FD(), scr, fl)
			rec.end, rec.err, rec.driverHops = time.Now(), err, st.DriverHops
			if err == nil {
				ref, rerr := storfn.RefChain(r.ReadAt, c.size, c.start, c.scratch)
				got, _ := storfn.UnmarshalChainScratch(scr)
				if rerr == nil && (string(buf) != string(ref.Final) || got != ref.Scratch || st.FinalOffset != ref.FinalOffset) {
					return fmt.Errorf("%s chain succeeded with a wrong answer", levelName(fl))
				}
			}
			mu.Lock()
			recs = append(recs, rec)
			mu.Unlock()
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond)
	ws, ferr := fault()
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		return nil, ws, fmt.Errorf("chains still running 60 s after the fault (hang)")
	}
	if err := first(); err != nil {
		return nil, ws, err
	}
	return recs, ws, ferr
}

// tally summarises the chains that overlapped the fault windows.
func tally(recs []chainRec, ws []window) (overlapped, driverOverlapped int, outcomes string, errs map[string]int) {
	errs = map[string]int{}
	for _, r := range recs {
		if !r.overlaps(ws) {
			continue
		}
		overlapped++
		if r.level == storfn.FlagDriver {
			driverOverlapped++
		}
		k := "ok"
		if r.err != nil {
			k = errnoOf(r.err)
		}
		errs[k]++
	}
	var ks []string
	for k, n := range errs {
		ks = append(ks, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(ks)
	return overlapped, driverOverlapped, strings.Join(ks, ", "), errs
}

// resets resets ctrl n times, returning when each reset was in progress.
func resets(ctrl string, n int) ([]window, error) {
	var ws []window
	for i := 0; i < n; i++ {
		w := window{start: time.Now()}
		err := writeFile(filepath.Join(ctrl, "reset_controller"), "1")
		if err == nil {
			err = waitLive(ctrl, 30*time.Second)
		}
		w.end = time.Now()
		ws = append(ws, w)
		if err != nil {
			return ws, fmt.Errorf("reset %s: %w", filepath.Base(ctrl), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return ws, nil
}

// testDeviceReset resets the data disk's NVMe controller (its first path
// on multipath) while threads run chains at both levels. DRIVER chains
// must overlap the resets; every chain must match the pread chain or end
// with an I/O errno (the NVMe core retries cancelled requests, so chains
// normally go on), none may hang, and chains work afterwards.
func testDeviceReset(e *env) (string, error) {
	ctrls := controllers(filepath.Base(e.opts.Device))
	if len(ctrls) == 0 {
		return "", fmt.Errorf("no NVMe controller with reset_controller behind %s", e.opts.Device)
	}
	d := &dev{path: e.opts.Device, fd: e.fd, size: e.size}
	// 6 threads over 4 resets: about a dozen chains overlap them, half at
	// each level, so that none at DRIVER level is a one-in-thousands draw
	recs, ws, err := e.underFault(d, 6, func() ([]window, error) { return resets(ctrls[0], 4) })
	if err != nil {
		return "", err
	}
	n, nd, outcomes, errs := tally(recs, ws)
	if nd == 0 {
		return "", fmt.Errorf("no DRIVER chain overlapped the %d resets (%d chains ran)", len(ws), len(recs))
	}
	for k := range errs {
		if k != "ok" && k != "EIO" && k != "ENODATA" {
			return "", fmt.Errorf("a chain overlapping a reset ended with %s (outcomes: %s)", k, outcomes)
		}
	}
	if err := e.chainsWork(); err != nil {
		return "", fmt.Errorf("after the resets: %w", err)
	}
	return fmt.Sprintf("4 resets of %s under 6 threads: %d chains overlapped them (%d DRIVER): %s; none wrong or hung; fine afterwards",
		filepath.Base(ctrls[0]), n, nd, outcomes), nil
}

// testMultipathFailover: on a namespace shared by two controllers
// (multipath), one path goes away under chains: first its controller is
// reset 4 times, then its PCI function is removed, which kills its queues,
// so nvme_failover_req() steals the bios of the chained requests in flight
// and resubmits them on the other path. Every chain must still end with
// the pread chain's answer, which needs the bio's sector to follow each
// resubmitted hop. The path is rescanned afterwards.
func testMultipathFailover(e *env) (string, error) {
	disk := filepath.Base(e.opts.Device)
	ctrls := controllers(disk)
	if len(ctrls) < 2 {
		return "", skipf("%s has %d path(s): not a multipath namespace (vm.nvme_paths = 2 and CONFIG_NVME_MULTIPATH)", e.opts.Device, len(ctrls))
	}
	pci, err := pciDevice(ctrls[0])
	if err != nil {
		return "", err
	}
	d := &dev{path: e.opts.Device, fd: e.fd, size: e.size}
	recs, ws, err := e.underFault(d, 6, func() ([]window, error) {
		ws, err := resets(ctrls[0], 4)
		if err != nil {
			return ws, err
		}
		w := window{start: time.Now()}
		err = writeFile(filepath.Join(pci, "remove"), "1")
		w.end = time.Now()
		return append(ws, w), err
	})
	if err != nil {
		return "", err
	}
	n, nd, outcomes, errs := tally(recs, ws)
	_, ndRemove, _, _ := tally(recs, ws[len(ws)-1:])
	if nd == 0 || ndRemove == 0 {
		return "", fmt.Errorf("DRIVER chains overlapping the resets: %d, the path removal: %d; want some of each", nd, ndRemove)
	}
	if errs["ok"] != n {
		return "", fmt.Errorf("chains failed although another path was live: %s", outcomes)
	}
	if _, err := rescan(testdisk.DataSerial); err != nil {
		return "", err
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(controllers(disk)) < len(ctrls) {
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s has %d paths 30 s after the rescan, want %d", disk, len(controllers(disk)), len(ctrls))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := e.chainsWork(); err != nil {
		return "", fmt.Errorf("after the rescan: %w", err)
	}
	return fmt.Sprintf("%d paths; 4 resets of %s, then its PCI function removed: %d chains overlapped (%d DRIVER, %d of them the removal), all identical to pread chains; both paths back after a rescan",
		len(ctrls), filepath.Base(ctrls[0]), n, nd, ndRemove), nil
}

// testPCIRemove removes the hotplug test disk's controller from the PCI
// bus while chains run on it: the chains end (with an errno, or right),
// none hangs; after a rescan the disk is back and chains work.
func testPCIRemove(e *env) (string, error) {
	d, pci, err := e.hotplugDisk()
	if err != nil {
		return "", err
	}
	defer d.close()
	recs, ws, err := e.underFault(d, 2, func() ([]window, error) {
		w := window{start: time.Now()}
		err := writeFile(filepath.Join(pci, "remove"), "1")
		w.end = time.Now()
		return []window{w}, err
	})
	if err != nil {
		return "", fmt.Errorf("remove %s: %w", filepath.Base(pci), err)
	}
	_, nd, outcomes, _ := tally(recs, ws)
	if nd == 0 {
		return "", fmt.Errorf("no DRIVER chain was in flight when %s was removed", filepath.Base(pci))
	}
	p, err := rescan(testdisk.Serial(testdisk.Hotplug))
	if err != nil {
		return "", err
	}
	nd2, err := openDev(p)
	if err != nil {
		return "", err
	}
	defer nd2.close()
	pe := e.on(nd2)
	r, err := newReader(nd2.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	for _, fl := range levels {
		if err := pe.checkChain(r, pe.randomChain(8), fl); err != nil {
			return "", fmt.Errorf("after the rescan: %w", err)
		}
	}
	return fmt.Sprintf("PCI function %s removed under chains (%d DRIVER chains in flight; a removed disk has size 0, so later chains end with ERANGE): %s; none hung; back as %s after a rescan, chains fine",
		filepath.Base(pci), nd, outcomes, p), nil
}

// chainsWork checks a few chains on the data disk at both levels.
func (e *env) chainsWork() error {
	r, err := newReader(e.fd)
	if err != nil {
		return err
	}
	defer r.close()
	for _, fl := range levels {
		if err := e.checkChain(r, e.randomChain(8), fl); err != nil {
			return err
		}
	}
	return nil
}

// hotplugDisk opens the hotplug test disk, which has one controller, and
// returns it with that controller's PCI function (sysfs directory).
func (e *env) hotplugDisk() (*dev, string, error) {
	d, err := e.testDisk(testdisk.Hotplug)
	if err != nil {
		return nil, "", err
	}
	ctrls := controllers(filepath.Base(d.path))
	if len(ctrls) != 1 {
		d.close()
		return nil, "", fmt.Errorf("%s: %d controllers", d.path, len(ctrls))
	}
	pci, err := pciDevice(ctrls[0])
	if err != nil {
		d.close()
		return nil, "", err
	}
	return d, pci, nil
}
