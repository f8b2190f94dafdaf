package selftest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/bpf/objs"
	"github.com/bpfstor/bpfstor/bpf/storfn"
)

var levels = []uint32{storfn.FlagSyscall, storfn.FlagDriver}

func tests() []test {
	ts := []test{
		{"verifier/accepts-chain", testAcceptsChain},
		{"testrun/chain", testTestRun},
	}
	for _, b := range badPrograms {
		b := b
		ts = append(ts, test{"verifier/rejects/" + b.name, func(e *env) (string, error) { return testRejects(e, b.name, b.class, b.reason) }})
	}
	ts = append(ts,
		test{"verifier/rejects/bpf_loop", testRejectsLoop},
		test{"verifier/accepts-edges", testAccepts},
		test{"verifier/pointer-leak", testPointerLeak},
		test{"testrun/bad-args", testTestRunBad},
	)
	for _, fl := range levels {
		fl := fl
		ts = append(ts, test{"chain/" + strings.ToLower(levelName(fl)) + "/pread-identical", func(e *env) (string, error) { return testChains(e, fl) }})
	}
	ts = append(ts,
		test{"chain/syscall-vs-driver", testLevelsAgree},
		test{"chain/sizes", testSizes},
		test{"chain/partition", testPartition},
		test{"chain/lba-4k", testLBA4K},
		test{"chain/map-helpers", testStatsMap},
		test{"chain/tracepoint", testTracepoint},
		test{"chain/command-ids", testCommandIDs},
		test{"chain/hop-budget", testHopBudget},
		test{"chain/with-fio", testWithFio},
		test{"chain/poll", testPoll},
		test{"uring/io_uring-level/pread-identical", func(e *env) (string, error) { return testURingChains(e, storfn.FlagSyscall) }},
		test{"uring/driver-level/pread-identical", func(e *env) (string, error) { return testURingChains(e, storfn.FlagDriver) }},
		test{"uring/sqpoll", testURingSQPoll},
		test{"uring/errors", testURingErrors},
		test{"uring/teardown", testURingTeardown},
		test{"uring/sigkill", testURingKill},
		test{"uring/threads", testURingThreads},
		test{"file/identical", testFileIdentical},
		test{"file/isolation", testFileIsolation},
		test{"file/mounts", testFileMounts},
		test{"file/uring", testFileURing},
		test{"file/races", testFileRaces},
		test{"safety/hop-limit", testHopLimit},
		test{"safety/hop-limit-sysctl", testHopSysctl},
		test{"safety/bad-next", testBadNext},
		test{"safety/garbage-verdict", testGarbage},
		test{"safety/bad-args", testBadArgs},
		test{"safety/capabilities", testCaps},
		test{"safety/fatal-signal", testFatalSignal},
		test{"safety/io-error", testIOError},
		test{"safety/timeout", testTimeout},
		test{"safety/queue-freeze", testQueueFreeze},
		test{"safety/device-reset", testDeviceReset},
		test{"multipath/failover", testMultipathFailover},
		test{"multipath/path-error", testPathError},
		test{"safety/pci-remove", testPCIRemove},
		test{"concurrency", testConcurrency},
	)
	return ts
}

func testAcceptsChain(e *env) (string, error) {
	// newEnv loaded it; load it again to show the program type is stable.
	p, err := storfn.Load(objs.LoadChain, objs.ChainProgChain)
	if err != nil {
		return "", err
	}
	defer p.Close()
	info, err := p.Info()
	if err != nil {
		return "", err
	}
	if info.Type != storfn.ProgTypeStorage {
		return "", fmt.Errorf("program type %d, want %d", info.Type, storfn.ProgTypeStorage)
	}
	return fmt.Sprintf("loaded as program type %d", info.Type), nil
}

func testTestRun(e *env) (string, error) {
	r := 0
	for _, size := range []int{512, 4096} {
		for i := 0; i < 20; i++ {
			block := make([]byte, size)
			for j := 0; j+8 <= size; j += 8 {
				binary.LittleEndian.PutUint64(block[j:], e.uint64())
			}
			s := storfn.ChainScratch{Seed: e.uint64(), Nblocks: 1 + e.uint64()%100000, Depth: uint32(1 + e.intn(8)), Acc: e.uint64()}
			hop := uint32(e.intn(int(s.Depth)))
			off := uint64(e.intn(1000)) * uint64(size)
			res, err := storfn.TestRun(e.prog, block, s.Marshal(), off, hop)
			if err != nil {
				return "", err
			}
			want := s
			done, next := storfn.RefStep(&want, block, hop)
			got, _ := storfn.UnmarshalChainScratch(res.Scratch)
			if got != want {
				return "", fmt.Errorf("scratch %+v, reference %+v", got, want)
			}
			wantRet := uint32(storfn.VerdictNext)
			wantNext := uint64(next)
			if done {
				wantRet, wantNext = storfn.VerdictDone, off
			}
			if res.Retval != wantRet || res.Ctx.NextOffset != wantNext || res.Ctx.NextSize != uint32(size) {
				return "", fmt.Errorf("verdict %d next %d/%d, reference %d next %d/%d", res.Retval, res.Ctx.NextOffset, res.Ctx.NextSize, wantRet, wantNext, size)
			}
			r++
		}
	}
	return fmt.Sprintf("%d runs match the Go reference", r), nil
}

func (e *env) perDepth() int {
	if e.opts.Quick {
		return 2
	}
	return 8
}

func testChains(e *env, flags uint32) (string, error) {
	r, err := newReader(e.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	n := 0
	for depth := 1; depth <= 16; depth++ {
		for i := 0; i < e.perDepth(); i++ {
			if err := e.checkChain(r, e.randomChain(depth), flags); err != nil {
				return "", err
			}
			n++
		}
	}
	return fmt.Sprintf("%d chains, depth 1..16, sizes 512/1024/4096, identical to pread chains", n), nil
}

func testLevelsAgree(e *env) (string, error) {
	n := 0
	for depth := 1; depth <= 16; depth++ {
		c := e.randomChain(depth)
		var bufs [2][]byte
		var scr [2][]byte
		var sts [2]storfn.Stats
		for i, fl := range levels {
			bufs[i] = make([]byte, c.size)
			scr[i] = c.scratch.Marshal()
			var err error
			_, sts[i], err = storfn.ChainReadStats(e.fd, bufs[i], c.start, e.prog.FD(), scr[i], fl)
			if err != nil {
				return "", fmt.Errorf("%s: %w", levelName(fl), err)
			}
		}
		if string(bufs[0]) != string(bufs[1]) || string(scr[0]) != string(scr[1]) ||
			sts[0].FinalOffset != sts[1].FinalOffset || sts[0].Hops != sts[1].Hops {
			return "", fmt.Errorf("depth %d: SYSCALL and DRIVER differ (%+v vs %+v)", depth, sts[0], sts[1])
		}
		n++
	}
	return fmt.Sprintf("%d chains byte-identical at both levels", n), nil
}

func testStatsMap(e *env) (string, error) {
	var before, after uint64
	if err := e.stats.Lookup(uint32(0), &before); err != nil {
		return "", err
	}
	c := e.randomChain(5)
	if _, err := storfn.ChainRead(e.fd, make([]byte, c.size), c.start, e.prog.FD(), c.scratch.Marshal(), storfn.FlagSyscall); err != nil {
		return "", err
	}
	if err := e.stats.Lookup(uint32(0), &after); err != nil {
		return "", err
	}
	if after-before != 5 {
		return "", fmt.Errorf("map counter went %d -> %d, want +5", before, after)
	}
	return fmt.Sprintf("array map counter %d -> %d", before, after), nil
}

// expectErrno runs a chain in the given mode and wants errno.
func (e *env) expectErrno(flags uint32, mode uint32, depth uint32, want syscall.Errno) (storfn.Stats, error) {
	c := e.randomChain(int(depth))
	c.scratch.Mode = mode
	_, st, err := storfn.ChainReadStats(e.fd, make([]byte, c.size), c.start, e.prog.FD(), c.scratch.Marshal(), flags)
	if !errors.Is(err, want) {
		return st, fmt.Errorf("%s mode %d depth %d: got %v, want %v", levelName(flags), mode, depth, err, want)
	}
	return st, nil
}

func testHopLimit(e *env) (string, error) {
	limit, err := readInt(storfn.SysctlMaxHops)
	if err != nil {
		return "", err
	}
	if limit != storfn.DefaultMaxHops {
		return "", fmt.Errorf("%s is %d, want default %d", storfn.SysctlMaxHops, limit, storfn.DefaultMaxHops)
	}
	r, err := newReader(e.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	for _, fl := range levels {
		st, err := e.expectErrno(fl, storfn.ModeEndless, 1, unix.ELOOP)
		if err != nil {
			return "", err
		}
		if st.Hops != uint32(limit) {
			return "", fmt.Errorf("%s: ELOOP after %d hops, want %d", levelName(fl), st.Hops, limit)
		}
		if err := e.checkChain(r, e.randomChain(limit), fl); err != nil {
			return "", fmt.Errorf("chain of exactly the limit: %w", err)
		}
		if _, err := e.expectErrno(fl, storfn.ModeNormal, uint32(limit+1), unix.ELOOP); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("limit %d: endless chain and depth %d end with ELOOP, depth %d passes (both levels)", limit, limit+1, limit), nil
}

func testHopSysctl(e *env) (string, error) {
	orig, err := readInt(storfn.SysctlMaxHops)
	if err != nil {
		return "", err
	}
	defer writeSysctl(storfn.SysctlMaxHops, orig)
	for _, bad := range []int{0, storfn.HardMaxHops + 1} {
		if err := writeSysctl(storfn.SysctlMaxHops, bad); !errors.Is(err, unix.EINVAL) {
			return "", fmt.Errorf("writing %d: got %v, want EINVAL", bad, err)
		}
	}
	for _, lim := range []int{5, storfn.HardMaxHops} {
		if err := writeSysctl(storfn.SysctlMaxHops, lim); err != nil {
			return "", err
		}
		for _, fl := range levels {
			st, err := e.expectErrno(fl, storfn.ModeEndless, 1, unix.ELOOP)
			if err != nil {
				return "", err
			}
			if st.Hops != uint32(lim) {
				return "", fmt.Errorf("limit %d %s: ELOOP after %d hops", lim, levelName(fl), st.Hops)
			}
		}
	}
	return fmt.Sprintf("0 and %d refused; limits 5 and %d enforced at both levels", storfn.HardMaxHops+1, storfn.HardMaxHops), nil
}

func testBadNext(e *env) (string, error) {
	for _, fl := range levels {
		for _, c := range []struct {
			mode uint32
			want syscall.Errno
		}{{storfn.ModeMisaligned, unix.EINVAL}, {storfn.ModeBadSize, unix.EINVAL}, {storfn.ModeBeyondEnd, unix.ERANGE}} {
			st, err := e.expectErrno(fl, c.mode, 4, c.want)
			if err != nil {
				return "", err
			}
			if st.Hops != 1 {
				return "", fmt.Errorf("%s mode %d: %d hops, want 1", levelName(fl), c.mode, st.Hops)
			}
		}
	}
	return "misaligned offset and bad size -> EINVAL, past the device end -> ERANGE, at both levels", nil
}

func testGarbage(e *env) (string, error) {
	for _, fl := range levels {
		if _, err := e.expectErrno(fl, storfn.ModeGarbage, 4, unix.EBADMSG); err != nil {
			return "", err
		}
	}
	return "verdict 7 -> EBADMSG at both levels", nil
}

func testBadArgs(e *env) (string, error) {
	page := make([]byte, 4096)
	scr := storfn.ChainScratch{Seed: 1, Nblocks: 8, Depth: 2}.Marshal()
	good := func() storfn.Args {
		return storfn.Args{
			Buf: storfn.NewPointer(unsafe.Pointer(&page[0])), Scratch: storfn.NewPointer(unsafe.Pointer(&scr[0])),
			Count: 512, ScratchLen: uint32(len(scr)), ProgFD: int32(e.prog.FD()), Flags: storfn.FlagSyscall,
		}
	}
	mapFD := e.stats.FD()
	devnull, err := unix.Open("/dev/null", unix.O_RDONLY, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(devnull)
	cases := []struct {
		name string
		fd   int
		mod  func(*storfn.Args)
		size uintptr
		want syscall.Errno
	}{
		{"no dispatch flag", e.fd, func(a *storfn.Args) { a.Flags = 0 }, storfn.ArgsSize, unix.EINVAL},
		{"both dispatch flags", e.fd, func(a *storfn.Args) { a.Flags = 3 }, storfn.ArgsSize, unix.EINVAL},
		{"unknown flag", e.fd, func(a *storfn.Args) { a.Flags |= 1 << 8 }, storfn.ArgsSize, unix.EINVAL},
		{"count 0", e.fd, func(a *storfn.Args) { a.Count = 0 }, storfn.ArgsSize, unix.EINVAL},
		{"count 100", e.fd, func(a *storfn.Args) { a.Count = 100 }, storfn.ArgsSize, unix.EINVAL},
		{"count 8192", e.fd, func(a *storfn.Args) { a.Count = 8192 }, storfn.ArgsSize, unix.EINVAL},
		{"misaligned start", e.fd, func(a *storfn.Args) { a.Offset = 100 }, storfn.ArgsSize, unix.EINVAL},
		{"start past the end", e.fd, func(a *storfn.Args) { a.Offset = uint64(e.size) }, storfn.ArgsSize, unix.ERANGE},
		{"scratch too large", e.fd, func(a *storfn.Args) { a.ScratchLen = storfn.ScratchMax + 1 }, storfn.ArgsSize, unix.EINVAL},
		{"short args", e.fd, func(*storfn.Args) {}, storfn.ArgsSize - 8, unix.EINVAL},
		{"bad fd", 9999, func(*storfn.Args) {}, storfn.ArgsSize, unix.EBADF},
		{"not a block device", devnull, func(*storfn.Args) {}, storfn.ArgsSize, unix.ENOTBLK},
		{"prog fd is a map", e.fd, func(a *storfn.Args) { a.ProgFD = int32(mapFD) }, storfn.ArgsSize, unix.EINVAL},
		{"bad prog fd", e.fd, func(a *storfn.Args) { a.ProgFD = 9999 }, storfn.ArgsSize, unix.EBADF},
		{"bad buffer", e.fd, func(a *storfn.Args) { a.Buf = storfn.BadPointer(8) }, storfn.ArgsSize, unix.EFAULT},
		{"bad scratch", e.fd, func(a *storfn.Args) { a.Scratch = storfn.BadPointer(8) }, storfn.ArgsSize, unix.EFAULT},
	}
	for _, fl := range levels {
		for _, c := range cases {
			a := good()
			a.Flags = fl
			c.mod(&a)
			_, err := storfn.RawChainRead(c.fd, &a, c.size)
			runtime.KeepAlive(page)
			runtime.KeepAlive(scr)
			if !errors.Is(err, c.want) {
				return "", fmt.Errorf("%s (%s): got %v, want %v", c.name, levelName(fl), err, c.want)
			}
		}
	}
	a := good()
	if _, err := storfn.RawChainRead(e.fd, &a, storfn.ArgsSize); err != nil {
		return "", fmt.Errorf("good args after the bad ones: %v", err)
	}
	return fmt.Sprintf("%d bad argument cases x 2 levels give the documented errno", len(cases)), nil
}

const capBPF = 39

// withCaps runs fn on a thread whose effective capabilities are reduced to
// keep; the thread is discarded afterwards.
func withCaps(keep []int, fn func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			ch <- err
			return
		}
		data[0].Effective, data[1].Effective = 0, 0
		for _, c := range keep {
			data[c/32].Effective |= 1 << (c % 32)
		}
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			ch <- fmt.Errorf("capset: %w", err)
			return
		}
		ch <- fn()
	}()
	return <-ch
}

func testCaps(e *env) (string, error) {
	c := e.randomChain(3)
	try := func() error {
		_, err := storfn.ChainRead(e.fd, make([]byte, c.size), c.start, e.prog.FD(), c.scratch.Marshal(), storfn.FlagSyscall)
		return err
	}
	for _, k := range []struct {
		name string
		caps []int
		want error
	}{
		{"no capabilities", nil, unix.EPERM},
		{"CAP_BPF only", []int{capBPF}, unix.EPERM},
		{"CAP_SYS_ADMIN only (implies CAP_BPF)", []int{unix.CAP_SYS_ADMIN}, nil},
		{"CAP_BPF+CAP_SYS_ADMIN", []int{capBPF, unix.CAP_SYS_ADMIN}, nil},
	} {
		err := withCaps(k.caps, try)
		if (k.want == nil && err != nil) || (k.want != nil && !errors.Is(err, k.want)) {
			return "", fmt.Errorf("%s: got %v, want %v", k.name, err, k.want)
		}
	}
	return "EPERM with no capabilities and with CAP_BPF alone; CAP_SYS_ADMIN (which implies CAP_BPF) suffices", nil
}

func testConcurrency(e *env) (string, error) {
	threads := 2 * runtime.NumCPU()
	per := 1000
	if e.opts.Quick {
		per = 100
	}
	hops, driver, err := e.parallelChains(threads, per, levels)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d threads x %d chains (both levels alternating), all identical to pread chains; %d of %d later hops resubmitted by the driver", threads, per, driver, hops), nil
}
