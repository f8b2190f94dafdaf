package selftest

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/bpf/objs"
	"github.com/bpfstor/bpfstor/bpf/storfn"
)

type env struct {
	opts  Options
	logf  func(string, ...any)
	dev   *os.File // O_RDONLY|O_DIRECT
	fd    int
	size  int64
	objs  *objs.ChainObjects
	prog  *ebpf.Program
	stats *ebpf.Map
	mu    *sync.Mutex
	rng   *rand.Rand
	// budgeted: the driver's hop budget is lowered, so it may leave any
	// hop to the syscall
	budgeted bool
}

func newEnv(opts Options, logf func(string, ...any)) (*env, error) {
	if opts.Device == "" {
		return nil, fmt.Errorf("selftest: no device (Options.Device, e.g. /dev/nvme0n1)")
	}
	dev, err := os.OpenFile(opts.Device, os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		return nil, fmt.Errorf("selftest: open %s: %w", opts.Device, err)
	}
	size, err := dev.Seek(0, io.SeekEnd)
	if err != nil || size < 1<<20 {
		dev.Close()
		return nil, fmt.Errorf("selftest: %s: size %d (%v), need at least 1 MiB", opts.Device, size, err)
	}
	e := &env{opts: opts, logf: logf, dev: dev, fd: int(dev.Fd()), size: size, mu: new(sync.Mutex),
		rng: rand.New(rand.NewPCG(uint64(opts.Seed), 0x62706673746f72))}
	var o objs.ChainObjects
	if err := storfn.LoadObjects(objs.LoadChain, &o); err != nil {
		dev.Close()
		return nil, err
	}
	e.objs, e.prog, e.stats = &o, o.Chain, o.ChainStats
	return e, nil
}

func (e *env) close() {
	e.objs.Close()
	e.dev.Close()
}

func (e *env) uint64() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rng.Uint64()
}

func (e *env) intn(n int) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rng.IntN(n)
}

// pageBuf maps n bytes of anonymous, page-aligned memory, as O_DIRECT
// needs; unix.Munmap frees it.
func pageBuf(n int) ([]byte, error) {
	return unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
}

// reader does O_DIRECT preads through a page-aligned buffer.
type reader struct {
	fd  int
	buf []byte
}

func newReader(fd int) (*reader, error) {
	b, err := pageBuf(storfn.BlockMax)
	if err != nil {
		return nil, err
	}
	return &reader{fd: fd, buf: b}, nil
}

func (r *reader) close() { unix.Munmap(r.buf) }

func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	n, err := unix.Pread(r.fd, r.buf[:len(p)], off)
	if err != nil {
		return 0, err
	}
	return copy(p, r.buf[:n]), nil
}

// chainCase is one random chain.
type chainCase struct {
	size    int
	start   int64
	scratch storfn.ChainScratch
}

func (e *env) randomChain(depth int) chainCase {
	sizes := []int{512, 1024, 4096}
	size := sizes[e.intn(len(sizes))]
	nb := uint64(e.size / int64(size))
	return chainCase{
		size:  size,
		start: int64(e.uint64()%nb) * int64(size),
		// every byte of every block reaches the result, and the bytes
		// past the block must read as zero
		scratch: storfn.ChainScratch{Seed: e.uint64(), Nblocks: nb, Depth: uint32(depth), Flags: storfn.FlagAllWords | storfn.FlagZeroTail},
	}
}

// sizesChain is a chain whose block size changes every two hops
// (storfn.ModeSizes), starting with a 4 KiB read.
func (e *env) sizesChain(depth int) chainCase {
	nb := uint64(e.size / storfn.SizesUnit)
	return chainCase{
		size:  storfn.SizesHop(0),
		start: int64(e.uint64()%nb) * storfn.SizesUnit,
		scratch: storfn.ChainScratch{Seed: e.uint64(), Nblocks: nb, Depth: uint32(depth), Mode: storfn.ModeSizes,
			Flags: storfn.FlagAllWords | storfn.FlagZeroTail},
	}
}

// driverHops is how many hops of c the driver resubmits: every hop after
// the first, except those whose size differs from the previous hop's,
// which it leaves to the syscall.
func (c chainCase) driverHops(hops int) uint32 {
	n := uint32(0)
	for i := 1; i < hops; i++ {
		if c.scratch.Mode != storfn.ModeSizes || storfn.SizesHop(uint32(i)) == storfn.SizesHop(uint32(i-1)) {
			n++
		}
	}
	return n
}

// checkChain runs c with chain_read at the given dispatch level and with
// pread, and compares data, offsets, scratch and hop counts.
func (e *env) checkChain(r *reader, c chainCase, flags uint32) error {
	_, err := e.checkChainStats(r, c, flags)
	return err
}

// checkChainStats is checkChain that also returns the chain's stats.
func (e *env) checkChainStats(r *reader, c chainCase, flags uint32) (storfn.Stats, error) {
	ref, err := storfn.RefChain(r.ReadAt, c.size, c.start, c.scratch)
	if err != nil {
		return storfn.Stats{}, err
	}
	buf := make([]byte, c.size)
	scratch := c.scratch.Marshal()
	n, st, err := storfn.ChainReadStats(e.fd, buf, c.start, e.prog.FD(), scratch, flags)
	return st, e.compareChain(c, flags, ref, buf, n, scratch, st, err)
}

// compareChain compares what chain_read returned for c (n bytes into buf,
// the scratch, the stats and the error) with the pread chain ref.
func (e *env) compareChain(c chainCase, flags uint32, ref storfn.RefResult, buf []byte, n int, scratch []byte, st storfn.Stats, err error) error {
	where := fmt.Sprintf("%s chain size %d start %d seed %#x depth %d", levelName(flags), c.size, c.start, c.scratch.Seed, c.scratch.Depth)
	if err != nil {
		return fmt.Errorf("%s: %w (hops %d)", where, err, st.Hops)
	}
	if n != len(ref.Final) {
		return fmt.Errorf("%s: returned %d, want %d (the final block's size)", where, n, len(ref.Final))
	}
	if st.Hops != uint32(ref.Hops) || st.FinalOffset != ref.FinalOffset {
		return fmt.Errorf("%s: hops %d final offset %d, pread chain: hops %d final offset %d", where, st.Hops, st.FinalOffset, ref.Hops, ref.FinalOffset)
	}
	if string(buf[:n]) != string(ref.Final) {
		return fmt.Errorf("%s: final block differs from the pread chain's", where)
	}
	got, _ := storfn.UnmarshalChainScratch(scratch)
	if got != ref.Scratch {
		return fmt.Errorf("%s: scratch %+v, pread chain %+v", where, got, ref.Scratch)
	}
	if want := c.driverHops(ref.Hops); flags&storfn.FlagDriver != 0 && st.DriverHops != want && !e.budgeted {
		return fmt.Errorf("%s: driver resubmitted %d of %d hops, want %d", where, st.DriverHops, ref.Hops, want)
	}
	if flags == storfn.FlagSyscall && st.DriverHops != 0 {
		return fmt.Errorf("%s: driver hops %d in syscall mode", where, st.DriverHops)
	}
	return nil
}

func levelName(flags uint32) string {
	switch flags {
	case storfn.FlagSyscall:
		return "SYSCALL"
	case storfn.FlagDriver:
		return "DRIVER"
	case storfn.FlagDriver | storfn.FlagPoll:
		return "DRIVER|POLL"
	}
	return fmt.Sprintf("flags=%#x", flags)
}

// readInt reads a file holding one integer (a sysctl, a debugfs knob).
func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func writeSysctl(path string, v int) error {
	return os.WriteFile(path, []byte(strconv.Itoa(v)+"\n"), 0o644)
}

// setInt writes v to a file holding one integer (a sysctl, a module
// parameter); restore writes back what it held.
func setInt(path string, v int) (restore func(), err error) {
	orig, err := readInt(path)
	if err != nil {
		return nil, err
	}
	if err := writeSysctl(path, v); err != nil {
		return nil, err
	}
	return func() { writeSysctl(path, orig) }, nil
}

// diskChain is a random chain of 512 B blocks over the whole of e's disk
// of size bytes.
func (e *env) diskChain(depth int, size int64) chainCase {
	c := e.randomChain(depth)
	c.size = 512
	c.scratch.Nblocks = uint64(size / 512)
	c.start -= c.start % 512
	return c
}
