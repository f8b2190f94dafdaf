package selftest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/bpf/storfn"
	"github.com/bpfstor/bpfstor/kernel/selftest/testdisk"
)

const tracingDir = "/sys/kernel/tracing"

// mountTracing mounts tracefs where it is not yet.
func mountTracing() error {
	if _, err := os.Stat(filepath.Join(tracingDir, "events")); err == nil {
		return nil
	}
	if err := unix.Mount("tracefs", tracingDir, "tracefs", 0, ""); err != nil {
		return fmt.Errorf("mount tracefs on %s: %w (CONFIG_TRACING)", tracingDir, err)
	}
	return nil
}

// mountDebugfs mounts debugfs unless probe, a path in it, is there
// already; where the kernel has no debugfs, probe stays missing.
func mountDebugfs(probe string) {
	if _, err := os.Stat(probe); err != nil {
		unix.Mount("debugfs", "/sys/kernel/debug", "debugfs", 0, "")
	}
}

// nvmeEvent is one line of the trace buffer from the nvme_setup_cmd or the
// nvme_chain_resubmit event.
type nvmeEvent struct {
	name string
	qid  int
	cid  uint16
}

var nvmeEventRE = regexp.MustCompile(`\b(nvme_setup_cmd|nvme_chain_resubmit): nvme\d+: (?:disk=\S+, )?qid=(\d+), cmdid=(\d+)`)

func parseNVMeEvents(trace string) []nvmeEvent {
	var evs []nvmeEvent
	for _, m := range nvmeEventRE.FindAllStringSubmatch(trace, -1) {
		qid, _ := strconv.Atoi(m[2])
		cid, _ := strconv.ParseUint(m[3], 10, 16)
		evs = append(evs, nvmeEvent{name: m[1], qid: qid, cid: uint16(cid)})
	}
	return evs
}

// NVMe command ids are a tag in the low 12 bits and a 4-bit generation
// counter above it (nvme_cid()), which nvme_find_rq() checks so that a
// stale completion of an earlier use of the tag is rejected.
func cidTag(cid uint16) uint16 { return cid & 0xfff }
func cidGen(cid uint16) uint16 { return cid >> 12 }

// chainCIDs checks the command ids of one DRIVER chain's commands, in the
// order the trace saw them: the submission of the first read
// (nvme_setup_cmd) and then every driver-resubmitted hop. All use the same
// tag on the same queue, and each hop's generation is the previous
// command's plus one (mod 16): every hop is a new command, so a late
// completion of an earlier hop cannot complete a later one.
func chainCIDs(evs []nvmeEvent, driverHops int) (string, error) {
	var hops []nvmeEvent
	for _, ev := range evs {
		if ev.name == "nvme_chain_resubmit" {
			hops = append(hops, ev)
		}
	}
	if len(hops) != driverHops || driverHops == 0 {
		return "", fmt.Errorf("traced %d resubmitted commands for %d driver hops", len(hops), driverHops)
	}
	first := -1
	for i, ev := range evs {
		if ev.name == "nvme_setup_cmd" && ev.qid == hops[0].qid && cidTag(ev.cid) == cidTag(hops[0].cid) {
			first = i
		}
		if ev == hops[0] {
			break
		}
	}
	if first < 0 {
		return "", fmt.Errorf("no nvme_setup_cmd with the tag %#x of the resubmitted hops on queue %d", cidTag(hops[0].cid), hops[0].qid)
	}
	seq := append([]nvmeEvent{evs[first]}, hops...)
	ids := make([]string, len(seq))
	for i, ev := range seq {
		ids[i] = fmt.Sprintf("%#04x", ev.cid)
		if i == 0 {
			continue
		}
		prev := seq[i-1]
		if ev.qid != prev.qid || cidTag(ev.cid) != cidTag(prev.cid) {
			return "", fmt.Errorf("hop %d: queue %d command id %#x, previous command queue %d id %#x: want the same queue and tag", i, ev.qid, ev.cid, prev.qid, prev.cid)
		}
		if cidGen(ev.cid) != (cidGen(prev.cid)+1)&0xf {
			return "", fmt.Errorf("hop %d: command id %#x after %#x: the generation did not advance (stale completions of the earlier hop would be taken)", i, ev.cid, prev.cid)
		}
	}
	return strings.Join(ids, " "), nil
}

// testCommandIDs: every hop the driver resubmits is a new NVMe command
// with the request's tag and the next generation of its command id, seen
// in the trace of the nvme_setup_cmd and nvme_chain_resubmit events.
func testCommandIDs(e *env) (string, error) {
	if err := mountTracing(); err != nil {
		return "", err
	}
	events := []string{"nvme/nvme_setup_cmd", "nvme/nvme_chain_resubmit"}
	for _, ev := range events {
		if err := writeFile(filepath.Join(tracingDir, "events", ev, "enable"), "1"); err != nil {
			return "", fmt.Errorf("enable trace event %s: %w", ev, err)
		}
		defer writeFile(filepath.Join(tracingDir, "events", ev, "enable"), "0")
	}
	r, err := newReader(e.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	var last string
	for i := 0; i < 4; i++ {
		// depth 20 > 16: the generation wraps inside the chain
		c := e.randomChain(20)
		ref, err := storfn.RefChain(r.ReadAt, c.size, c.start, c.scratch)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(tracingDir, "trace"), nil, 0o644); err != nil {
			return "", fmt.Errorf("clear the trace buffer: %w", err)
		}
		buf, scratch := make([]byte, c.size), c.scratch.Marshal()
		n, st, err := storfn.ChainReadStats(e.fd, buf, c.start, e.prog.FD(), scratch, storfn.FlagDriver)
		trace, rerr := os.ReadFile(filepath.Join(tracingDir, "trace"))
		if err := e.compareChain(c, storfn.FlagDriver, ref, buf, n, scratch, st, err); err != nil {
			return "", err
		}
		if rerr != nil {
			return "", fmt.Errorf("read the trace buffer: %w", rerr)
		}
		ids, err := chainCIDs(parseNVMeEvents(string(trace)), int(st.DriverHops))
		if err != nil {
			return "", fmt.Errorf("chain %d (%d hops): %w", i, st.Hops, err)
		}
		last = ids
	}
	return "4 DRIVER chains of 20 hops: one tag each, the command id's generation advanced on every hop (wrapping), e.g. " + last, nil
}

// pathFaults are the NVMe fault injectors (debugfs, CONFIG_FAULT_INJECTION_DEBUG_FS)
// of every path of the multipath namespace head (nvmeXnY: paths nvmeXcZnY).
var nsHeadRE = regexp.MustCompile(`^(nvme\d+)(n\d+)$`)

func pathFaults(head string) ([]string, error) {
	m := nsHeadRE.FindStringSubmatch(head)
	if m == nil {
		return nil, fmt.Errorf("%s is not an NVMe namespace head", head)
	}
	mountDebugfs("/sys/kernel/debug/block")
	dirs, _ := filepath.Glob(filepath.Join("/sys/kernel/debug", m[1]+"c*"+m[2], "fault_inject"))
	return dirs, nil
}

// testPathError fails the completion of one command per chain with a
// path error (NVMe status 0x371, host aborted: what a reset or a lost
// path gives the requests it cancels) through nvme-core's fault injector
// on the multipath namespace's paths. The multipath core fails the request
// over (nvme_failover_req()): it steals the bios and resubmits them on a
// path of the head at the bio's sector. A DRIVER chain's failing command
// is its last hop, so the resubmitted bio must describe that hop's block,
// not the first: the chain must still be identical to the pread chain.
func testPathError(e *env) (string, error) {
	disk := filepath.Base(e.opts.Device)
	if n := len(controllers(disk)); n < 2 {
		return "", skipf("%s has %d path(s): not a multipath namespace (vm.nvme_paths = 2 and CONFIG_NVME_MULTIPATH)", e.opts.Device, n)
	}
	dirs, err := pathFaults(disk)
	if err != nil {
		return "", err
	}
	if len(dirs) < 2 {
		return "", skipf("%s: no NVMe fault injection on its paths (CONFIG_FAULT_INJECTION_DEBUG_FS)", disk)
	}
	set := func(kv ...string) error {
		for _, d := range dirs {
			for i := 0; i < len(kv); i += 2 {
				if err := writeFile(filepath.Join(d, kv[i]), kv[i+1]); err != nil {
					return fmt.Errorf("fault injection: %w", err)
				}
			}
		}
		return nil
	}
	if err := set("times", "0", "verbose", "0", "probability", "100", "interval", "1", "space", "0",
		"status", "0x371", "dont_retry", "N"); err != nil {
		return "", err
	}
	defer set("times", "0")
	r, err := newReader(e.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	injected := map[uint32]int{}
	var driverHops uint32
	for i := 0; i < 24; i++ {
		fl := levels[i%len(levels)]
		c := e.randomChain(2 + e.intn(12))
		ref, err := storfn.RefChain(r.ReadAt, c.size, c.start, c.scratch)
		if err != nil {
			return "", err
		}
		// one failure per path: the failover may land on either
		if err := set("times", "1"); err != nil {
			return "", err
		}
		buf, scratch := make([]byte, c.size), c.scratch.Marshal()
		n, st, cerr := storfn.ChainReadStats(e.fd, buf, c.start, e.prog.FD(), scratch, fl)
		left := 0
		for _, d := range dirs {
			t, err := readInt(filepath.Join(d, "times"))
			if err != nil {
				return "", err
			}
			left += t
		}
		if err := set("times", "0"); err != nil {
			return "", err
		}
		if err := e.compareChain(c, fl, ref, buf, n, scratch, st, cerr); err != nil {
			return "", fmt.Errorf("after a path error: %w", err)
		}
		if left == len(dirs) {
			return "", fmt.Errorf("%s chain %d: no command failed (fault_inject times unchanged): the test injected nothing", levelName(fl), i)
		}
		injected[fl] += len(dirs) - left
		driverHops += st.DriverHops
	}
	if driverHops == 0 {
		return "", fmt.Errorf("no hop was resubmitted by the driver")
	}
	return fmt.Sprintf("%d paths; 24 chains, each with a path error (status 0x371) failed over: %d at SYSCALL, %d at DRIVER level (on the last of %d driver hops), all identical to pread chains",
		len(dirs), injected[storfn.FlagSyscall], injected[storfn.FlagDriver], driverHops), nil
}

// testQueueFreeze freezes the slow disk's queue (any queue attribute
// store does, in blk-sysfs) in the middle of a long DRIVER chain. A frozen
// queue must stop the driver's resubmissions: the freeze waits for the hop
// in flight, not for the rest of the chain, the syscall carries the chain
// on once the queue runs again, and the answer is right.
func testQueueFreeze(e *env) (string, error) {
	d, err := e.testDisk(testdisk.Slow)
	if err != nil {
		return "", err
	}
	defer d.close()
	pe := e.on(d)
	r, err := newReader(d.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	hop := time.Second / testdisk.SlowIOPS
	depth := 30 // 3 s of hops
	restore, err := setInt(storfn.SysctlMaxHops, depth)
	if err != nil {
		return "", err
	}
	defer restore()
	c := pe.diskChain(depth, d.size)
	ref, err := storfn.RefChain(r.ReadAt, c.size, c.start, c.scratch)
	if err != nil {
		return "", err
	}
	attr := filepath.Join("/sys/block", filepath.Base(d.path), "queue", "read_ahead_kb")
	ra, err := os.ReadFile(attr)
	if err != nil {
		return "", err
	}
	type res struct {
		n   int
		st  storfn.Stats
		err error
		end time.Time
	}
	buf, scratch := make([]byte, c.size), c.scratch.Marshal()
	done := make(chan res, 1)
	start := time.Now()
	go func() {
		n, st, err := storfn.ChainReadStats(pe.fd, buf, c.start, pe.prog.FD(), scratch, storfn.FlagDriver)
		done <- res{n, st, err, time.Now()}
	}()
	time.Sleep(6 * hop)
	fs := time.Now()
	err = writeFile(attr, strings.TrimSpace(string(ra)))
	freeze := time.Since(fs)
	out := <-done
	if err != nil {
		return "", fmt.Errorf("freeze %s: %w", attr, err)
	}
	pe.budgeted = true // the syscall takes hops over: fewer driver hops is right
	if err := pe.compareChain(c, storfn.FlagDriver, ref, buf, out.n, scratch, out.st, out.err); err != nil {
		return "", fmt.Errorf("chain across a queue freeze: %w", err)
	}
	rest := out.end.Sub(fs)
	if rest < 5*hop {
		return "", fmt.Errorf("the chain ended %v after the freeze began: too soon to tell (want the freeze in its middle)", rest)
	}
	if freeze > rest/2 || freeze > 8*hop {
		return "", fmt.Errorf("the queue freeze took %v while the chain went on for %v after it began (hops of %v): the driver kept resubmitting into a frozen queue", freeze, rest, hop)
	}
	if want := c.driverHops(ref.Hops); out.st.DriverHops >= want {
		return "", fmt.Errorf("the driver resubmitted all %d hops: no hop was left to the syscall across the freeze", out.st.DriverHops)
	}
	return fmt.Sprintf("%d-hop DRIVER chain on a %d IOPS disk (%v): the queue froze in %v (the hop in flight), %d hops by the driver, the rest by the syscall, identical to the pread chain",
		out.st.Hops, testdisk.SlowIOPS, out.end.Sub(start).Round(10*time.Millisecond), freeze.Round(time.Millisecond), out.st.DriverHops), nil
}
