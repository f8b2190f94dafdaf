package selftest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/bpf/storfn"
)

const failDir = "/sys/kernel/debug/fail_make_request"

func writeFile(path, v string) error { return os.WriteFile(path, []byte(v), 0o644) }

// diskSysfs is /sys/block/<dev> of the test device.
func (e *env) diskSysfs() string { return filepath.Join("/sys/block", filepath.Base(e.opts.Device)) }

// testIOError injects a failing bio with fail_make_request
// (CONFIG_FAIL_MAKE_REQUEST, debugfs): on the first read at both levels,
// and on the third read of a SYSCALL chain.
func testIOError(e *env) (string, error) {
	if _, err := os.Stat(failDir); err != nil {
		unix.Mount("debugfs", "/sys/kernel/debug", "debugfs", 0, "")
	}
	if _, err := os.Stat(failDir); err != nil {
		return "", skipf("%s missing: kernel without CONFIG_FAIL_MAKE_REQUEST/CONFIG_FAULT_INJECTION_DEBUG_FS, cannot inject an I/O error", failDir)
	}
	mif := filepath.Join(e.diskSysfs(), "make-it-fail")
	set := func(interval string) error {
		for _, kv := range [][2]string{{"verbose", "0"}, {"probability", "100"}, {"interval", interval}, {"times", "1"}} {
			if err := writeFile(filepath.Join(failDir, kv[0]), kv[1]); err != nil {
				return err
			}
		}
		return writeFile(mif, "1")
	}
	defer writeFile(mif, "0")
	var msgs []string
	for _, c := range []struct {
		flags    uint32
		interval string
		hops     uint32
	}{{storfn.FlagSyscall, "1", 0}, {storfn.FlagDriver, "1", 0}, {storfn.FlagSyscall, "3", 2}} {
		if err := set(c.interval); err != nil {
			return "", err
		}
		st, err := e.expectErrno(c.flags, storfn.ModeNormal, 6, unix.EIO)
		writeFile(mif, "0")
		if err != nil {
			return "", err
		}
		if st.Hops != c.hops {
			return "", fmt.Errorf("%s: EIO after %d hops, want %d", levelName(c.flags), st.Hops, c.hops)
		}
		msgs = append(msgs, fmt.Sprintf("%s bio %s fails -> EIO after %d hops", levelName(c.flags), c.interval, st.Hops))
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
	return strings.Join(msgs, "; ") + "; chains fine afterwards (driver-resubmitted hops cannot be failed this way)", nil
}

// testDeviceReset resets the NVMe controller (sysfs reset_controller)
// while threads run chains at both levels: every chain must either match
// the pread chain or fail with an errno, none may hang, and chains must
// work after the reset.
func testDeviceReset(e *env) (string, error) {
	ctrl := ""
	if m, _ := filepath.Glob(filepath.Join(e.diskSysfs(), "device", "reset_controller")); len(m) > 0 {
		ctrl = m[0]
	}
	if ctrl == "" {
		return "", skipf("no reset_controller for %s (not NVMe, or sysfs not mounted)", e.opts.Device)
	}
	var stop atomic.Bool
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	threads := 4
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func(t int) {
			defer wg.Done()
			r, err := newReader(e.fd)
			if err != nil {
				errs <- err
				return
			}
			defer r.close()
			for i := 0; !stop.Load(); i++ {
				c := e.randomChain(1 + e.intn(16))
				fl := levels[(t+i)%2]
				buf := make([]byte, c.size)
				scr := c.scratch.Marshal()
				_, st, err := storfn.ChainReadStats(e.fd, buf, c.start, e.prog.FD(), scr, fl)
				if err != nil {
					var en unix.Errno
					if !errors.As(err, &en) {
						errs <- err
						return
					}
					failed.Add(1)
					continue
				}
				ref, err := storfn.RefChain(r.ReadAt, c.size, c.start, c.scratch)
				if err != nil { // the reset may fail the pread too
					failed.Add(1)
					continue
				}
				got, _ := storfn.UnmarshalChainScratch(scr)
				if string(buf) != string(ref.Final) || got != ref.Scratch || st.FinalOffset != ref.FinalOffset {
					errs <- fmt.Errorf("%s chain succeeded with a wrong answer during reset", levelName(fl))
					return
				}
				ok.Add(1)
			}
		}(t)
	}
	resets := 3
	var rerr error
	for i := 0; i < resets && rerr == nil; i++ {
		time.Sleep(300 * time.Millisecond)
		rerr = writeFile(ctrl, "1")
	}
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		return "", fmt.Errorf("chains still running 60 s after the resets (hang)")
	}
	close(errs)
	if err := <-errs; err != nil {
		return "", err
	}
	if rerr != nil {
		return "", fmt.Errorf("reset_controller: %w", rerr)
	}
	state := filepath.Join(filepath.Dir(ctrl), "state")
	for i := 0; i < 100; i++ {
		if b, _ := os.ReadFile(state); strings.TrimSpace(string(b)) == "live" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	r, err := newReader(e.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	for _, fl := range levels {
		if err := e.checkChain(r, e.randomChain(8), fl); err != nil {
			return "", fmt.Errorf("after the resets: %w", err)
		}
	}
	return fmt.Sprintf("%d controller resets under %d threads: %d chains correct, %d ended with an errno, none wrong or hung; chains fine afterwards", resets, threads, ok.Load(), failed.Load()), nil
}
