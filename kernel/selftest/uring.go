package selftest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/bpf/objs"
	"github.com/bpfstor/bpfstor/bpf/storfn"
	"github.com/bpfstor/bpfstor/internal/uring"
)

// IORING_OP_CHAIN_READ (kernel/patches 0011, 0012): chain_read() as an
// io_uring request, one CQE per chain. The tests below check it against
// the pread chain (storfn.RefChain) and against chain_read() itself.

// uringMeta is each slot's share of uringChains.meta: the chain_read_args
// at 0, the scratch from uringScratchOff.
const (
	uringMeta       = 512
	uringScratchOff = 64
)

var _ [uringMeta - uringScratchOff - storfn.ChainScratchSize]struct{}

// uringChains is a ring with n slots, one chain in flight per slot: the
// args, scratch and buffer of every slot live in memory mapped for them,
// out of the Go heap, since the kernel writes them when a chain ends.
type uringChains struct {
	ring *uring.Ring
	n    int
	bufs []byte // n * BlockMax
	meta []byte // n * uringMeta
}

func newUringChains(n int) (*uringChains, error) { return newUringChainsFlags(n, 0) }

// newUringChainsFlags is newUringChains with io_uring_setup flags.
func newUringChainsFlags(n int, flags uint32) (*uringChains, error) {
	r, err := uring.NewWithFlags(uint32(n), flags)
	if err != nil {
		return nil, err
	}
	u := &uringChains{ring: r, n: n}
	mm := func(size int) ([]byte, error) {
		return pageBuf(size)
	}
	if u.bufs, err = mm(n * storfn.BlockMax); err == nil {
		u.meta, err = mm(n * uringMeta)
	}
	if err != nil {
		u.close()
		return nil, err
	}
	return u, nil
}

// closeRing closes the ring only: chains still in flight are the kernel's
// to end; their memory stays mapped until close.
func (u *uringChains) closeRing() {
	if u.ring != nil {
		u.ring.Close()
		u.ring = nil
	}
}

func (u *uringChains) close() {
	u.closeRing()
	if u.bufs != nil {
		unix.Munmap(u.bufs)
	}
	if u.meta != nil {
		unix.Munmap(u.meta)
	}
}

func (u *uringChains) args(slot int) *storfn.Args {
	return (*storfn.Args)(unsafe.Pointer(&u.meta[slot*uringMeta]))
}

func (u *uringChains) scratch(slot int) []byte {
	o := slot*uringMeta + uringScratchOff
	return u.meta[o : o+storfn.ChainScratchSize]
}

func (u *uringChains) buf(slot int) []byte {
	return u.bufs[slot*storfn.BlockMax : (slot+1)*storfn.BlockMax]
}

// prep queues chain c on fd in slot, with the level flags.
func (u *uringChains) prep(slot, fd, prog int, c chainCase, flags uint32) error {
	scr, buf := u.scratch(slot), u.buf(slot)
	c.scratch.MarshalTo(scr)
	clear(buf)
	a := u.args(slot)
	*a = storfn.Args{
		Buf:        storfn.NewPointer(unsafe.Pointer(&buf[0])),
		Scratch:    storfn.NewPointer(unsafe.Pointer(&scr[0])),
		Offset:     uint64(c.start),
		Count:      uint32(c.size),
		ScratchLen: uint32(len(scr)),
		ProgFD:     int32(prog),
		Flags:      flags,
	}
	return u.ring.PrepChainRead(fd, unsafe.Pointer(a), storfn.ArgsSize, uint64(slot))
}

// collect submits what is queued and reaps until want completions came.
func (u *uringChains) collect(want int) ([]uring.CQE, error) {
	out := make([]uring.CQE, 0, want)
	dst := make([]uring.CQE, 64)
	for len(out) < want {
		if _, err := u.ring.Submit(1); err != nil {
			return out, err
		}
		n := u.ring.Reap(dst)
		out = append(out, dst[:n]...)
	}
	return out, nil
}

// result is what the chain of slot returned: its CQE's res as chain_read
// returns it, the stats the kernel wrote back, the buffer and scratch.
func (u *uringChains) result(slot int, res int32) (n int, st storfn.Stats, buf, scr []byte, err error) {
	a := u.args(slot)
	st = storfn.Stats{Hops: a.Hops, DriverHops: a.DriverHops, FinalOffset: int64(a.FinalOffset)}
	if res < 0 {
		return 0, st, nil, nil, fmt.Errorf("IORING_OP_CHAIN_READ at %d: %w", a.Offset, unix.Errno(-res))
	}
	return int(res), st, append([]byte(nil), u.buf(slot)...), append([]byte(nil), u.scratch(slot)...), nil
}

// checkBatch runs cases on u's ring at the level flags, all in flight at
// once, and compares each chain with its pread chain. Beyond one chain in
// flight the driver may leave hops to the request (its hop budget per
// completion loop), so only the total is returned then. ooo tells whether
// the CQEs came in another order than the submissions.
func (e *env) checkBatch(u *uringChains, r *reader, cases []chainCase, flags uint32) (later, driver uint64, ooo bool, err error) {
	if err := e.submitBatch(u, cases, flags); err != nil {
		return 0, 0, false, err
	}
	return e.checkSubmitted(u, r, cases, flags)
}

// submitBatch queues cases on u's ring and submits them.
func (e *env) submitBatch(u *uringChains, cases []chainCase, flags uint32) error {
	for i, c := range cases {
		if err := u.prep(i, e.fd, e.prog.FD(), c, flags); err != nil {
			return err
		}
	}
	_, err := u.ring.Submit(0)
	return err
}

// checkSubmitted is the second half of checkBatch: it waits for the
// chains submitBatch submitted and checks them.
func (e *env) checkSubmitted(u *uringChains, r *reader, cases []chainCase, flags uint32) (later, driver uint64, ooo bool, err error) {
	cqes, err := u.collect(len(cases))
	if err != nil {
		return 0, 0, false, err
	}
	seen := make([]bool, len(cases))
	for k, q := range cqes {
		slot := int(q.UserData)
		if slot >= len(cases) || seen[slot] {
			return 0, 0, false, fmt.Errorf("CQE %d: user_data %d unknown or twice", k, q.UserData)
		}
		seen[slot] = true
		ooo = ooo || slot != k
		c := cases[slot]
		ref, err := storfn.RefChain(r.ReadAt, c.size, c.start, c.scratch)
		if err != nil {
			return 0, 0, false, err
		}
		n, st, buf, scr, cerr := u.result(slot, q.Res)
		be := *e
		be.budgeted = len(cases) > 1
		if err := be.compareChain(c, flags, ref, buf, n, scr, st, cerr); err != nil {
			return 0, 0, false, fmt.Errorf("uring batch %d slot %d: %w", len(cases), slot, err)
		}
		if want := c.driverHops(ref.Hops); st.DriverHops > want {
			return 0, 0, false, fmt.Errorf("uring batch %d slot %d: %d driver hops, more than the %d possible", len(cases), slot, st.DriverHops, want)
		}
		later += uint64(st.Hops - 1)
		driver += uint64(st.DriverHops)
	}
	return later, driver, ooo, nil
}

// uringLevel names an io_uring dispatch level: CHAIN_READ_SYSCALL in an
// IORING_OP_CHAIN_READ is the io_uring level.
func uringLevel(flags uint32) string {
	if flags == storfn.FlagSyscall {
		return "io_uring level"
	}
	return "driver level"
}

// testURingChains: batches of 1..64 chains in flight on one ring, depths
// 1..16 across them, each identical to its pread chain.
func testURingChains(e *env, flags uint32) (string, error) {
	u, err := newUringChains(64)
	if err != nil {
		return "", err
	}
	defer u.close()
	r, err := newReader(e.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	t, err := e.runBatches(u, r, 64, flags, nil)
	if err != nil {
		return "", err
	}
	if err := t.levelErr(flags); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s: %d chains in batches up to 64 (depths 1..16, sizes 512/1024/4096) identical to pread chains; %d of %d later hops by the driver; %d batches completed out of order",
		uringLevel(flags), t.chains, t.driver, t.later, t.oooBatches), nil
}

// batchTally is what runBatches ran: chains, their later hops, those the
// driver resubmitted, and the batches whose CQEs came out of order.
type batchTally struct {
	chains, oooBatches int
	later, driver      uint64
}

// runBatches runs batches of 1..most random chains (depths 1..16 across
// each) on u at the level flags, each checked against its pread chain,
// and after(batch) after each batch (if not nil).
func (e *env) runBatches(u *uringChains, r *reader, most int, flags uint32, after func()) (batchTally, error) {
	var t batchTally
	for batch := 1; batch <= most; batch++ {
		cases := make([]chainCase, batch)
		for i := range cases {
			cases[i] = e.randomChain(1 + (batch+i)%16)
		}
		l, d, ooo, err := e.checkBatch(u, r, cases, flags)
		if err != nil {
			return t, err
		}
		t.later, t.driver, t.chains = t.later+l, t.driver+d, t.chains+batch
		if ooo {
			t.oooBatches++
		}
		if after != nil {
			after()
		}
	}
	return t, nil
}

// levelErr says what is wrong with the driver hops of batches run at the
// level flags: none at the driver level, any at the io_uring level.
func (t batchTally) levelErr(flags uint32) error {
	if flags&storfn.FlagDriver != 0 && t.driver == 0 {
		return fmt.Errorf("driver level: not one of %d later hops resubmitted by the driver", t.later)
	}
	if flags == storfn.FlagSyscall && t.driver != 0 {
		return fmt.Errorf("io_uring level: %d driver hops", t.driver)
	}
	return nil
}

// testURingSQPoll: batches of 1..32 chains on an SQPOLL ring, whose
// kernel thread (iou-sqp-PID, a thread of this process) takes the SQEs and
// issues the first reads: each chain identical to its pread chain, at both
// levels.
func testURingSQPoll(e *env) (string, error) {
	r, err := newReader(e.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	var out []string
	for _, flags := range []uint32{storfn.FlagSyscall, storfn.FlagDriver} {
		u, err := newUringChainsFlags(32, uring.SetupSQPoll)
		if err != nil {
			return "", fmt.Errorf("SQPOLL ring: %w", err)
		}
		var sqThread string
		t, err := e.runBatches(u, r, 32, flags, func() {
			if sqThread == "" {
				// The thread names itself once it runs: look after it took SQEs.
				sqThread = sqPollThread()
			}
		})
		u.close()
		if err != nil {
			return "", fmt.Errorf("SQPOLL, %s: %w", uringLevel(flags), err)
		}
		if sqThread == "" {
			return "", fmt.Errorf("SQPOLL, %s: no iou-sqp thread in this process while chains ran on the ring", uringLevel(flags))
		}
		if err := t.levelErr(flags); err != nil {
			return "", fmt.Errorf("SQPOLL, %w", err)
		}
		out = append(out, fmt.Sprintf("%s: %d chains (%d of %d later hops by the driver)", uringLevel(flags), t.chains, t.driver, t.later))
	}
	return "SQPOLL rings (the kernel thread iou-sqp takes the SQEs), batches 1..32, depths 1..16, identical to pread chains: " +
		strings.Join(out, "; "), nil
}

// sqPollThread is the name of this process's SQPOLL thread, "" if none.
func sqPollThread() string {
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, t := range tasks {
		b, _ := os.ReadFile("/proc/self/task/" + t.Name() + "/comm")
		if name := strings.TrimSpace(string(b)); strings.HasPrefix(name, "iou-sqp-") {
			return name
		}
	}
	return ""
}

// uringCase is a chain_read_args that fails (or not) in a given way.
type uringCase struct {
	name string
	fd   int
	c    chainCase
	// edit changes the args after prep (bad pointers, counts, flags)
	edit func(a *storfn.Args)
}

// testURingErrors: one batch per level mixing good chains with one chain
// of every error class: every CQE has exactly the errno, hops and final
// offset chain_read() gives for the same arguments, and the good chains
// are unaffected.
func testURingErrors(e *env) (string, error) {
	tmp, err := os.CreateTemp("", "chain-notblk")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := tmp.Write(make([]byte, 8192)); err != nil {
		return "", err
	}
	u, err := newUringChains(64)
	if err != nil {
		return "", err
	}
	defer u.close()
	r, err := newReader(e.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	mode := func(m uint32, depth int) chainCase {
		c := e.randomChain(depth)
		c.scratch.Mode = m
		return c
	}
	n := 0
	for _, fl := range levels {
		cases := []uringCase{
			{"misaligned next", e.fd, mode(storfn.ModeMisaligned, 4), nil},
			{"next past the end", e.fd, mode(storfn.ModeBeyondEnd, 4), nil},
			{"hop limit", e.fd, mode(storfn.ModeEndless, 1), nil},
			{"garbage verdict", e.fd, mode(storfn.ModeGarbage, 4), nil},
			{"bad next size", e.fd, mode(storfn.ModeBadSize, 4), nil},
			{"count 100", e.fd, e.randomChain(3), func(a *storfn.Args) { a.Count = 100 }},
			{"count 8192", e.fd, e.randomChain(3), func(a *storfn.Args) { a.Count = 8192 }},
			{"start past the end", e.fd, e.randomChain(3), func(a *storfn.Args) { a.Offset = uint64(e.size) }},
			{"misaligned start", e.fd, e.randomChain(3), func(a *storfn.Args) { a.Offset++ }},
			{"program fd not BPF", e.fd, e.randomChain(3), func(a *storfn.Args) { a.ProgFD = int32(e.fd) }},
			{"program fd closed", e.fd, e.randomChain(3), func(a *storfn.Args) { a.ProgFD = 1 << 20 }},
			{"bad buffer", e.fd, e.randomChain(3), func(a *storfn.Args) { a.Buf = storfn.BadPointer(8) }},
			{"bad scratch", e.fd, e.randomChain(3), func(a *storfn.Args) { a.Scratch = storfn.BadPointer(8) }},
			{"scratch too long", e.fd, e.randomChain(3), func(a *storfn.Args) { a.ScratchLen = storfn.ScratchMax + 1 }},
			{"no level", e.fd, e.randomChain(3), func(a *storfn.Args) { a.Flags = 0 }},
			{"both levels", e.fd, e.randomChain(3), func(a *storfn.Args) { a.Flags = storfn.FlagSyscall | storfn.FlagDriver }},
			{"unknown flag", e.fd, e.randomChain(3), func(a *storfn.Args) { a.Flags |= 1 << 7 }},
			{"regular file", int(tmp.Fd()), e.randomChain(3), nil},
			{"fd closed", 1 << 20, e.randomChain(3), nil},
		}
		// good chains between the bad ones
		var all []uringCase
		for i, bc := range cases {
			all = append(all, bc, uringCase{fmt.Sprintf("good %d", i), e.fd, e.randomChain(1 + i%16), nil})
		}
		for i, uc := range all {
			if err := u.prep(i, uc.fd, e.prog.FD(), uc.c, fl); err != nil {
				return "", err
			}
			if uc.edit != nil {
				uc.edit(u.args(i))
			}
		}
		cqes, err := u.collect(len(all))
		if err != nil {
			return "", err
		}
		for _, q := range cqes {
			slot := int(q.UserData)
			uc := all[slot]
			where := fmt.Sprintf("%s, %s", uringLevel(fl), uc.name)
			if uc.edit == nil && uc.c.scratch.Mode == storfn.ModeNormal && uc.fd == e.fd {
				ref, err := storfn.RefChain(r.ReadAt, uc.c.size, uc.c.start, uc.c.scratch)
				if err != nil {
					return "", err
				}
				nb, st, buf, scr, cerr := u.result(slot, q.Res)
				be := *e
				be.budgeted = true
				if err := be.compareChain(uc.c, fl, ref, buf, nb, scr, st, cerr); err != nil {
					return "", fmt.Errorf("%s: %w", where, err)
				}
				continue
			}
			// the same arguments through chain_read(), in memory of its own
			got := *u.args(slot)
			a := got
			a.Hops, a.DriverHops, a.FinalOffset = 0, 0, 0
			sbuf, sscr := make([]byte, storfn.BlockMax), uc.c.scratch.Marshal()
			if got.Buf.Addr() == uintptr(unsafe.Pointer(&u.buf(slot)[0])) {
				a.Buf = storfn.NewPointer(unsafe.Pointer(&sbuf[0]))
			}
			if got.Scratch.Addr() == uintptr(unsafe.Pointer(&u.scratch(slot)[0])) {
				a.Scratch = storfn.NewPointer(unsafe.Pointer(&sscr[0]))
			}
			want, serr := storfn.RawChainRead(uc.fd, &a, storfn.ArgsSize)
			runtime.KeepAlive(sbuf)
			runtime.KeepAlive(sscr)
			wantRes := int32(want)
			if serr != nil {
				wantRes = -int32(serr.(unix.Errno))
			}
			if q.Res != wantRes || got.Hops != a.Hops || got.FinalOffset != a.FinalOffset {
				return "", fmt.Errorf("%s: CQE res %d hops %d final %d driver %d; chain_read: %d (%v) hops %d final %d driver %d",
					where, q.Res, got.Hops, got.FinalOffset, got.DriverHops, wantRes, serr, a.Hops, a.FinalOffset, a.DriverHops)
			}
			if wantRes >= 0 {
				return "", fmt.Errorf("%s: chain_read succeeded (%d): not an error case", where, wantRes)
			}
			n++
		}
	}
	// capabilities are checked when the SQE is submitted
	c := e.randomChain(3)
	err = withCaps([]int{capBPF}, func() error {
		if err := u.prep(0, e.fd, e.prog.FD(), c, storfn.FlagSyscall); err != nil {
			return err
		}
		cqes, err := u.collect(1)
		if err != nil {
			return err
		}
		if cqes[0].Res != -int32(unix.EPERM) {
			return fmt.Errorf("CAP_BPF alone: CQE res %d, want -EPERM", cqes[0].Res)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d failing chains (19 errno classes x 2 levels, each between two good chains in one batch) give chain_read()'s errno, hops and final offset in their own CQE; the good chains are identical to pread chains; EPERM without CAP_SYS_ADMIN", n), nil
}

// progGone waits until no reference to the program with id is left
// (every chain holding one has been released), up to bound.
func progGone(id ebpf.ProgramID, bound time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		p, err := ebpf.NewProgramFromID(id)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, os.ErrNotExist) {
			return time.Since(start), nil
		}
		if err == nil {
			p.Close()
		}
		if time.Since(start) > bound {
			return 0, fmt.Errorf("program %d still referenced %v after its chains' ring went away (%v): chains leaked", id, bound, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// endlessChains is n endless 512 B chains (ELOOP at the hop limit).
func endlessChains(n int, size int64, seed uint64) []chainCase {
	cs := make([]chainCase, n)
	nb := uint64(size / 512)
	for i := range cs {
		cs[i] = chainCase{size: 512, start: int64((seed+uint64(i)*7919)%nb) * 512,
			scratch: storfn.ChainScratch{Seed: seed + uint64(i), Nblocks: nb, Depth: 1, Mode: storfn.ModeEndless}}
	}
	return cs
}

// The teardown tests keep uringTeardownChains chains of up to 1024 hops in
// flight on the data disk, on a ring with deferred task work: an io_uring-
// level chain waits after each hop until its task runs the ring's work
// (which the test never does before the teardown), a driver-level chain
// runs on in the NVMe driver. (With plain task work, io_uring-level chains
// this long on a fast device keep their submitting thread in the kernel
// for their whole life.) Chains that end at their next hop are released
// within uringDrain; at the hop limit the driver-level ones would take
// minutes under KASAN and TCG.
const (
	uringTeardownChains = 256
	uringTeardownSetup  = uring.SetupSingleIssuer | uring.SetupDeferTaskrun
	uringDrain          = 100 * time.Second
)

// testURingTeardown: 256 chains of up to 1024 hops in flight on a ring
// that is closed under them, at each level: the close does not hang, every
// chain ends at its next hop and is released (the program they hold goes
// away) and chains work afterwards.
func testURingTeardown(e *env) (string, error) {
	return withStages(e, 230*time.Second, uringTeardown)
}

// withStages runs fn, which names each step it begins with stage; if fn
// has not returned within bound, the test fails naming the step it is in
// and what each thread of the process is waiting in (fn goes on running).
func withStages(e *env, bound time.Duration, fn func(e *env, stage func(string)) (string, error)) (string, error) {
	var mu sync.Mutex
	at := "start"
	stage := func(s string) {
		mu.Lock()
		at = s
		mu.Unlock()
	}
	type outcome struct {
		msg string
		err error
	}
	ch := make(chan outcome, 1)
	go func() {
		msg, err := fn(e, stage)
		ch <- outcome{msg, err}
	}()
	select {
	case o := <-ch:
		return o.msg, o.err
	case <-time.After(bound):
	}
	mu.Lock()
	defer mu.Unlock()
	return "", fmt.Errorf("stuck for %v at: %s; threads: %s", bound, at, threadStates())
}

// threadStates is the state, wchan and kernel stack (where the kernel
// has them) of every thread of this process.
func threadStates() string {
	var b strings.Builder
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, t := range tasks {
		dir := "/proc/self/task/" + t.Name()
		stat, _ := os.ReadFile(dir + "/stat")
		state := ""
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+3 <= len(stat) {
			state = string(stat[i+2 : i+3])
		}
		wchan, _ := os.ReadFile(dir + "/wchan")
		stack, _ := os.ReadFile(dir + "/stack")
		sys, _ := os.ReadFile(dir + "/syscall")
		fmt.Fprintf(&b, "[%s %s wchan=%s syscall=%s stack=%s] ", t.Name(), state, wchan,
			strings.Fields(string(sys) + " ?")[0], strings.Join(strings.Fields(string(stack)), " "))
	}
	return b.String()
}

func uringTeardown(e *env, stage func(string)) (string, error) {
	restore, err := setInt(storfn.SysctlMaxHops, storfn.HardMaxHops)
	if err != nil {
		return "", err
	}
	defer restore()
	r, err := newReader(e.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	// one thread submits and closes (IORING_SETUP_SINGLE_ISSUER)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	msg := ""
	for _, fl := range levels {
		p, err := storfn.Load(objs.LoadChain, objs.ChainProgChain)
		if err != nil {
			return "", err
		}
		info, err := p.Info()
		if err != nil {
			p.Close()
			return "", err
		}
		id, _ := info.ID()
		u, err := newUringChainsFlags(uringTeardownChains, uringTeardownSetup)
		if err != nil {
			p.Close()
			return "", err
		}
		for i, c := range endlessChains(uringTeardownChains, e.size, e.uint64()) {
			if err := u.prep(i, e.fd, p.FD(), c, fl); err != nil {
				u.close()
				p.Close()
				return "", err
			}
		}
		stage(uringLevel(fl) + ": submitting 256 chains")
		if _, err := u.ring.Submit(0); err != nil {
			u.close()
			p.Close()
			return "", err
		}
		stage(uringLevel(fl) + ": 256 chains submitted, sleeping")
		time.Sleep(300 * time.Millisecond)
		ended := u.ring.Ready()
		start := time.Now()
		stage(uringLevel(fl) + ": closing the ring")
		u.closeRing()
		p.Close()
		closed := time.Since(start)
		stage(fmt.Sprintf("%s: ring closed in %v with %d CQEs posted, waiting for the program to go", uringLevel(fl), closed, ended))
		took, err := progGone(id, uringDrain)
		u.close()
		if err != nil {
			return "", fmt.Errorf("%s: %w", uringLevel(fl), err)
		}
		if ended == uringTeardownChains {
			return "", fmt.Errorf("%s: all %d chains had ended before the ring was closed: nothing torn down", uringLevel(fl), ended)
		}
		msg += fmt.Sprintf("%s: ring closed with %d of %d chains in flight in %v, all released %v later; ",
			uringLevel(fl), uringTeardownChains-ended, uringTeardownChains, closed.Round(time.Millisecond), took.Round(time.Millisecond))
	}
	u, err := newUringChains(16)
	if err != nil {
		return "", err
	}
	defer u.close()
	for _, fl := range levels {
		stage(uringLevel(fl) + ": 16 chains on a new ring")
		cases := make([]chainCase, 16)
		for i := range cases {
			cases[i] = e.randomChain(1 + i)
		}
		if _, _, _, err := e.checkBatch(u, r, cases, fl); err != nil {
			return "", fmt.Errorf("after the teardown: %w", err)
		}
	}
	return msg + "a new ring's chains identical to pread chains afterwards", nil
}

// uringKillChild is the child of testURingKill: 256 endless chains in
// flight on a ring, then a wait for completions in io_uring_enter until
// the parent kills it.
func uringKillChild() int {
	dev := os.Getenv("BPFSTOR_SELFTEST_DEV")
	flags, _ := strconv.Atoi(os.Getenv("BPFSTOR_SELFTEST_FLAGS"))
	fail := func(err error) int { fmt.Println("error:", err); return 2 }
	runtime.LockOSThread() // IORING_SETUP_SINGLE_ISSUER
	d, err := openDev(dev)
	if err != nil {
		return fail(err)
	}
	p, err := storfn.Load(objs.LoadChain, objs.ChainProgChain)
	if err != nil {
		return fail(err)
	}
	info, err := p.Info()
	if err != nil {
		return fail(err)
	}
	id, _ := info.ID()
	u, err := newUringChainsFlags(uringTeardownChains, uringTeardownSetup)
	if err != nil {
		return fail(err)
	}
	for i, c := range endlessChains(uringTeardownChains, d.size, uint64(os.Getpid())) {
		if err := u.prep(i, d.fd, p.FD(), c, uint32(flags)); err != nil {
			return fail(err)
		}
	}
	if _, err := u.ring.Submit(0); err != nil {
		return fail(err)
	}
	fmt.Println("ready", id)
	u.collect(uringTeardownChains) // until killed
	fmt.Println("error: all chains ended before the kill")
	return 2
}

// testURingKill: a process with 256 chains of up to 1024 hops in flight
// on its ring, waiting in io_uring_enter, is SIGKILLed: it is reaped
// promptly and every chain is released (the program goes away).
func testURingKill(e *env) (string, error) {
	restore, err := setInt(storfn.SysctlMaxHops, storfn.HardMaxHops)
	if err != nil {
		return "", err
	}
	defer restore()
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	const bound = 5 * time.Second
	msg := ""
	for _, fl := range levels {
		cmd := exec.Command(self)
		cmd.Env = append(os.Environ(), childEnv+"=uring-kill",
			"BPFSTOR_SELFTEST_DEV="+e.opts.Device,
			"BPFSTOR_SELFTEST_FLAGS="+strconv.Itoa(int(fl)))
		out, err := cmd.StdoutPipe()
		if err != nil {
			return "", err
		}
		if err := cmd.Start(); err != nil {
			return "", err
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		idStr, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
		id, perr := strconv.ParseUint(idStr, 10, 32)
		if !ok || perr != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return "", fmt.Errorf("%s: child: %q", uringLevel(fl), line)
		}
		time.Sleep(300 * time.Millisecond)
		killed := time.Now()
		cmd.Process.Signal(syscall.SIGKILL)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(120 * time.Second):
			return "", fmt.Errorf("%s: child still alive 120 s after SIGKILL", uringLevel(fl))
		}
		reaped := time.Since(killed)
		if reaped > bound {
			return "", fmt.Errorf("%s: child reaped %v after SIGKILL, more than %v", uringLevel(fl), reaped.Round(time.Millisecond), bound)
		}
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			return "", fmt.Errorf("%s: child ended with %v, want SIGKILL", uringLevel(fl), cmd.ProcessState)
		}
		took, err := progGone(ebpf.ProgramID(id), uringDrain)
		if err != nil {
			return "", fmt.Errorf("%s: %w", uringLevel(fl), err)
		}
		msg += fmt.Sprintf("%s: child reaped %v after SIGKILL, its %d chains released %v after that; ",
			uringLevel(fl), reaped.Round(time.Millisecond), uringTeardownChains, took.Round(time.Millisecond))
	}
	r, err := newReader(e.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	for _, fl := range levels {
		if err := e.checkChain(r, e.randomChain(8), fl); err != nil {
			return "", fmt.Errorf("chain after the kill: %w", err)
		}
	}
	return msg + "chains work afterwards", nil
}

// testURingThreads: 4 threads, each with 2 rings (one per level) of 16
// chains in flight, 1000 chains per ring, every answer checked against its
// pread chain.
func testURingThreads(e *env) (string, error) {
	const threads, batch, per = 4, 16, 1000
	var mu sync.Mutex
	var later, driver uint64
	done, first := goThreads(e.fd, threads, func(t int, r *reader) error {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var us [2]*uringChains
		for i := range us {
			u, err := newUringChains(batch)
			if err != nil {
				return err
			}
			defer u.close()
			us[i] = u
		}
		for n := 0; n < per; n += batch {
			// both rings' chains in flight at once
			var cases [2][]chainCase
			for i, fl := range levels {
				cases[i] = make([]chainCase, min(batch, per-n))
				for k := range cases[i] {
					cases[i][k] = e.randomChain(1 + e.intn(16))
				}
				if err := e.submitBatch(us[i], cases[i], fl); err != nil {
					return fmt.Errorf("thread %d ring %d: %w", t, i, err)
				}
			}
			for i, fl := range levels {
				l, d, _, err := e.checkSubmitted(us[i], r, cases[i], fl)
				if err != nil {
					return fmt.Errorf("thread %d ring %d: %w", t, i, err)
				}
				mu.Lock()
				later, driver = later+l, driver+d
				mu.Unlock()
			}
		}
		return nil
	})
	<-done
	if err := first(); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d threads x 2 rings (io_uring and driver level) x %d chains, %d in flight per ring: all identical to pread chains; %d of %d later hops by the driver",
		threads, per, batch, driver, later), nil
}
