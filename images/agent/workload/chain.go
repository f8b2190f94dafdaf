package workload

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/bpf/objs"
	"github.com/bpfstor/bpfstor/bpf/storfn"
	"github.com/bpfstor/bpfstor/harness/proto"
	model "github.com/bpfstor/bpfstor/harness/workload"
	"github.com/bpfstor/bpfstor/images/pattern"
)

// Chain modes: where each dependent read of a chain is issued (the
// model's, harness/workload).
const (
	ModePread      = model.ModePread
	ModeSyscall    = model.ModeSyscall
	ModeDriver     = model.ModeDriver
	ModeDriverPoll = model.ModeDriverPoll
)

// kernelMode reports whether a mode runs its chains with chain_read
// (model.Mode.NeedsBPF).
func kernelMode(mode string) bool {
	m, ok := model.ModeOf(mode)
	return ok && m.NeedsBPF
}

// modeFlags maps a mode to chain_read's dispatch flag (0 for pread: no
// chain_read at all).
func modeFlags(mode string) (uint32, error) {
	switch mode {
	case ModePread:
		return 0, nil
	case ModeSyscall:
		return storfn.FlagSyscall, nil
	case ModeDriver:
		return storfn.FlagDriver, nil
	case ModeDriverPoll:
		return storfn.FlagDriver | storfn.FlagPoll, nil
	case ModeURingKernel:
		return storfn.FlagSyscall, nil // IORING_OP_CHAIN_READ's io_uring level
	case ModeURingDriver:
		return storfn.FlagDriver, nil
	}
	if _, ok := model.ModeOf(mode); ok {
		return 0, fmt.Errorf("mode %q has no chain_read dispatch in the agent (add it to modeFlags)", mode)
	}
	return 0, chainKind.UnknownMode(mode)
}

// chainKind is the model's chain kind.
var chainKind, _ = model.Lookup(model.KindChain)

// chainExpect computes a synthetic chain on the pattern image in memory
// (every block is a function of its index and the image seed), so every
// chain's answer is checked without extra I/O.
func chainExpect(bs int, imageSeed uint64, start int64, s storfn.ChainScratch) (storfn.RefResult, error) {
	return storfn.RefChain(func(p []byte, off int64) (int, error) {
		for i := 0; i < len(p); i += pattern.BlockSize {
			pattern.Fill(p[i:i+pattern.BlockSize], uint64(off+int64(i))/pattern.BlockSize, imageSeed)
		}
		return len(p), nil
	}, bs, start, s)
}

// runChain measures synthetic chains of Depth dependent reads of
// BlockSize bytes in one of the three modes. Latency is per chain.
func runChain(env *Env, ps proto.PointSpec, p *proto.Point) error {
	w := ps.Workload
	bs := w.BlockSize
	if bs <= 0 || bs%pattern.BlockSize != 0 || bs > storfn.BlockMax {
		return fmt.Errorf("chain: block_size %d is not a multiple of 512 up to %d", bs, storfn.BlockMax)
	}
	if w.Depth < 1 || w.Depth > storfn.HardMaxHops {
		return fmt.Errorf("chain: depth %d is outside 1..%d", w.Depth, storfn.HardMaxHops)
	}
	flags, err := modeFlags(w.Mode)
	if err != nil {
		return fmt.Errorf("chain: %w", err)
	}
	var prog *ebpf.Program
	if flags != 0 {
		if prog, err = loadProg(objs.LoadChain, objs.ChainProgChain); err != nil {
			return fmt.Errorf("chain: %w", err)
		}
		if w.Depth > storfn.DefaultMaxHops {
			if err := os.WriteFile(storfn.SysctlMaxHops, []byte(fmt.Sprint(w.Depth)), 0); err != nil {
				return fmt.Errorf("chain: raise hop limit to %d: %w", w.Depth, err)
			}
		}
	}
	f, err := os.OpenFile(env.dataPath(w), os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		return fmt.Errorf("chain: %w", err)
	}
	defer f.Close()
	fd := int(f.Fd())
	size, err := deviceSize(fd)
	if err != nil {
		return fmt.Errorf("chain: size of %s: %w", env.dataPath(w), err)
	}
	nblk := size / uint64(bs)
	imageSeed := uint64(env.Job.Seed)
	rng := drawRNG(uint64(env.Job.RunSeed), ps.Rep, 1<<15|uint64(w.Depth))
	cnt, err := openWindowCounter(env.dataDevice(w))
	if err != nil {
		env.logf("chain: no device counters for this point: %v", err)
	}
	defer cnt.close()
	var ch *chainThread
	var o tally
	win, errs := measureCounted(cnt, 1, w.Ops, w.Warmup, func(int) (opFunc, func(), error) {
		var err error
		ch, err = newChainThread(fd, bs, nblk, w.Depth, flags, prog, rng, &o, w.Warmup, w.Ops)
		if err != nil {
			return nil, nil, err
		}
		return ch.op, func() {}, nil
	})
	if ch == nil {
		return fmt.Errorf("chain: %w", errs[0])
	}
	defer ch.close()
	if err := ch.check(imageSeed); err != nil {
		return fmt.Errorf("chain %s depth %d: %w", w.Mode, w.Depth, err)
	}
	sum := mergeTallies(p, []tally{o}, win)
	if flags != 0 {
		p.Hops = &proto.Hops{Hops: sum.Hops, DriverHops: sum.DriverHops}
	}
	p.Counters = win.Counters
	if win.CountErr != nil {
		return fmt.Errorf("chain: device counters: %w", win.CountErr)
	}
	if errs[0] != nil {
		return fmt.Errorf("chain %s depth %d: %w", w.Mode, w.Depth, errs[0])
	}
	if traceHopsFor(w, flags) {
		rng := drawRNG(uint64(env.Job.RunSeed), ps.Rep, 1<<15|uint64(w.Depth)) // the same chains again
		split, err := traceHops(fd, bs, nblk, w.Depth, flags, prog, rng, imageSeed, w.Warmup, w.Ops, p)
		if err != nil {
			return fmt.Errorf("chain %s depth %d: hop trace: %w", w.Mode, w.Depth, err)
		}
		p.Hops.Split = split
	}
	return nil
}

// chainSlot is one measured chain: its input, drawn before the clock
// starts, and what it returned, checked after the clock stops.
type chainSlot struct {
	start      int64
	sc         storfn.ChainScratch
	acc        uint64 // the scratch's accumulator and hop count after the chain
	hops       uint32
	kHops      uint32 // chain_read's hop counts (kernel modes)
	driverHops uint32
}

// chainThread runs a chain point's chains: every measured chain reads into
// its own final-block buffer and scratch, so that the answer checks (which
// recompute each chain in memory) wait until the clock has stopped.
type chainThread struct {
	fd, bs  int
	flags   uint32
	prog    int
	o       *tally
	slots   []chainSlot
	warm    []chainSlot
	mem     []byte // one block per measured chain, one for the warm-up
	scratch []byte // ChainScratchSize per measured chain, one for the warm-up
	readAt  func(p []byte, off int64) (int, error)
}

func newChainThread(fd, bs int, nblk uint64, depth int, flags uint32, prog *ebpf.Program, rng *rand.Rand, o *tally, warmup, n int) (*chainThread, error) {
	mem, err := slotRegion(n+1, bs)
	if err != nil {
		return nil, err
	}
	ch := &chainThread{fd: fd, bs: bs, flags: flags, o: o, mem: mem,
		slots: make([]chainSlot, n), warm: make([]chainSlot, warmup),
		scratch: make([]byte, (n+1)*storfn.ChainScratchSize)}
	if prog != nil {
		ch.prog = prog.FD()
	}
	ch.readAt = func(b []byte, off int64) (int, error) { return preadRaw(fd, b, off) }
	draw := func(s *chainSlot) {
		s.start = int64(rng.Uint64N(nblk)) * int64(bs)
		s.sc = storfn.ChainScratch{Seed: rng.Uint64(), Nblocks: nblk, Depth: uint32(depth)}
	}
	for i := range ch.warm {
		draw(&ch.warm[i])
	}
	for i := range ch.slots {
		draw(&ch.slots[i])
	}
	o.T = newOpTimes(n)
	return ch, nil
}

func (ch *chainThread) buf(i int) []byte { return ch.mem[i*ch.bs : (i+1)*ch.bs] }
func (ch *chainThread) scr(i int) []byte {
	return ch.scratch[i*storfn.ChainScratchSize : (i+1)*storfn.ChainScratchSize]
}

// op runs measured chain i, or warm-up chain -1-i (i < 0).
func (ch *chainThread) op(i int) error {
	var s *chainSlot
	b, scr := ch.buf(len(ch.slots)), ch.scr(len(ch.slots))
	if i < 0 {
		s = &ch.warm[-1-i]
	} else {
		b, scr = ch.buf(i), ch.scr(i)
		s = &ch.slots[i]
	}
	if ch.flags != 0 {
		s.sc.MarshalTo(scr)
	}
	t0 := time.Now()
	if ch.flags == 0 {
		r, err := storfn.RefChainInto(ch.readAt, b, s.start, s.sc)
		t1 := time.Now()
		if err != nil {
			return err
		}
		s.acc, s.hops = r.Scratch.Acc, r.Scratch.Hops
		ch.record(i, t0, t1)
		return nil
	}
	n, st, err := storfn.ChainReadStats(ch.fd, b, s.start, ch.prog, scr, ch.flags)
	t1 := time.Now()
	if err != nil {
		return err
	}
	if n != ch.bs {
		return fmt.Errorf("chain_read returned %d bytes, want %d", n, ch.bs)
	}
	s.kHops, s.driverHops = st.Hops, st.DriverHops
	ch.record(i, t0, t1)
	return nil
}

func (ch *chainThread) record(i int, t0, t1 time.Time) {
	if i >= 0 {
		ch.o.record(i, t0, t1)
	}
}

// check recomputes every measured chain on the pattern image in memory and
// compares its final block, accumulator and hop count.
func (ch *chainThread) check(imageSeed uint64) error {
	for i, s := range ch.slots[:ch.o.Done] {
		final := ch.buf(i)
		if ch.flags != 0 {
			got, err := storfn.UnmarshalChainScratch(ch.scr(i))
			if err != nil {
				return err
			}
			s.acc, s.hops = got.Acc, got.Hops
		}
		want, err := chainExpect(ch.bs, imageSeed, s.start, s.sc)
		if err != nil {
			return err
		}
		why := ""
		if !bytes.Equal(final, want.Final) || s.acc != want.Scratch.Acc || s.hops != want.Scratch.Hops {
			why = fmt.Sprintf("got acc %#x hops %d, want acc %#x hops %d (final block equal: %v)",
				s.acc, s.hops, want.Scratch.Acc, want.Scratch.Hops, bytes.Equal(final, want.Final))
		}
		ch.o.answer(time.Duration(ch.o.T.Lat[i]), int64(s.kHops), int64(s.driverHops), why, func() string {
			return fmt.Sprintf("chain from %d (seed %#x)", s.start, s.sc.Seed)
		})
	}
	return nil
}

func (ch *chainThread) close() { unix.Munmap(ch.mem[:cap(ch.mem)]) }
