package workload

import (
	"fmt"
	"math/rand/v2"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/images/pattern"
)

// deviceSize returns the size in bytes of the block device (or image file)
// open as fd.
func deviceSize(fd int) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
		return uint64(st.Size), nil
	}
	var size uint64
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.BLKGETSIZE64, uintptr(unsafe.Pointer(&size)))
	if e != 0 {
		return 0, e
	}
	return size, nil
}

// alignedBuf returns a page-aligned buffer for O_DIRECT.
func alignedBuf(n int) ([]byte, error) {
	sz := (n + os.Getpagesize() - 1) &^ (os.Getpagesize() - 1)
	b, err := unix.Mmap(-1, 0, sz, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, err
	}
	return b[:n], nil
}

// rawDevice is the job's device open for O_DIRECT reads of bs bytes.
type rawDevice struct {
	f    *os.File
	fd   int
	bs   int
	nblk uint64 // blocks of bs bytes
}

// openRaw opens dev for O_DIRECT reads of bs bytes.
func openRaw(dev string, bs int) (*rawDevice, error) {
	if bs <= 0 || bs%pattern.BlockSize != 0 {
		return nil, fmt.Errorf("block_size %d is not a positive multiple of %d", bs, pattern.BlockSize)
	}
	f, err := os.OpenFile(dev, os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		return nil, err
	}
	d := &rawDevice{f: f, fd: int(f.Fd()), bs: bs}
	size, err := deviceSize(d.fd)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("size of %s: %w", dev, err)
	}
	if d.nblk = size / uint64(bs); d.nblk == 0 {
		f.Close()
		return nil, fmt.Errorf("device %s (%d bytes) is smaller than one block", dev, size)
	}
	return d, nil
}

// drawRNG is the random source of one stream of a point's draws: seeded
// with the run seed, one stream per repetition and per use (a thread, the
// scan queries...), so that the same run seed draws the same everywhere and
// another draws otherwise.
func drawRNG(runSeed uint64, rep int, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(runSeed, uint64(rep)<<16|stream))
}

// draws are the offsets thread t of a pread point reads in repetition
// rep, warm-up first: the layer trace reads thread 0's again.
func (d *rawDevice) draws(runSeed uint64, rep, t int) func() int64 {
	rng := drawRNG(runSeed, rep, uint64(t))
	return func() int64 { return int64(rng.Uint64N(d.nblk)) * int64(d.bs) }
}

// maxSlotBytes bounds the memory a point's measured operations keep for
// their answer checks (every block read, checked after the clock stops).
const maxSlotBytes = 96 << 20

// slotRegion maps n buffers of size bytes for O_DIRECT, one per measured
// operation (size a multiple of 512, so each stays aligned for the device).
func slotRegion(n, size int) ([]byte, error) {
	if n*size > maxSlotBytes {
		return nil, fmt.Errorf("%d operations of %d bytes keep %d MiB for their answer checks, more than %d MiB: lower ops or block_size",
			n, size, n*size>>20, maxSlotBytes>>20)
	}
	return alignedBuf(max(n, 1) * size)
}

// preadThread is thread t of a pread point doing n measured reads: each
// measured read i goes to its own block buffer, whose content check waits
// until the clock has stopped (check).
type preadThread struct {
	d    *rawDevice
	o    *tally
	offs []int64 // measured reads' offsets, drawn before the clock starts
	warm func() int64
	mem  []byte // n block buffers, then one for the warm-up
	// imageSeed is what the blocks are checked against.
	imageSeed uint64
}

func newPreadThread(d *rawDevice, o *tally, runSeed uint64, rep, t, warmup, n int) (*preadThread, error) {
	mem, err := slotRegion(n+1, d.bs)
	if err != nil {
		return nil, err
	}
	th := &preadThread{d: d, o: o, offs: make([]int64, n), mem: mem}
	next := d.draws(runSeed, rep, t)
	warm := make([]int64, warmup)
	for i := range warm {
		warm[i] = next()
	}
	for i := range th.offs {
		th.offs[i] = next()
	}
	th.warm = func() int64 { off := warm[0]; warm = warm[1:]; return off }
	o.T = newOpTimes(n)
	return th, nil
}

func (th *preadThread) buf(i int) []byte { return th.mem[i*th.d.bs : (i+1)*th.d.bs] }

// op is measured read i, or a warm-up read (i < 0).
func (th *preadThread) op(i int) error {
	if i < 0 {
		return preadFull(th.d.fd, th.buf(len(th.offs)), th.warm())
	}
	t0 := time.Now()
	err := preadFull(th.d.fd, th.buf(i), th.offs[i])
	th.o.record(i, t0, time.Now())
	return err
}

// check checks every measured read's block against the image's pattern.
func (th *preadThread) check() {
	imageSeed := th.imageSeed
	for i, off := range th.offs[:th.o.Done] {
		why := ""
		if err := pattern.Check(th.buf(i), uint64(off)/pattern.BlockSize, imageSeed); err != nil {
			why = err.Error()
		}
		th.o.answer(time.Duration(th.o.T.Lat[i]), 0, 0, why, func() string { return fmt.Sprintf("pread at %d", off) })
	}
}

func (th *preadThread) close() { unix.Munmap(th.mem[:cap(th.mem)]) }

// runPread issues random, aligned O_DIRECT preads of BlockSize bytes on the
// raw device, each timed with the monotonic clock, and checks every block
// against the data image's pattern once the clock has stopped.
func runPread(env *Env, ps proto.PointSpec, p *proto.Point) error {
	w := ps.Workload
	threads := max(w.Threads, 1)
	d, err := openRaw(env.dataPath(w), w.BlockSize)
	if err != nil {
		return fmt.Errorf("pread: %w", err)
	}
	defer d.f.Close()
	seed := uint64(env.Job.Seed)

	outs := make([]tally, threads)
	win, errs := measureChecked(nil, threads, w.Ops, w.Warmup, outs, func(t int, o *tally, warmup, n int) (*preadThread, error) {
		th, err := newPreadThread(d, o, uint64(env.Job.RunSeed), ps.Rep, t, warmup, n)
		if th != nil {
			th.imageSeed = seed
		}
		return th, err
	})
	mergeTallies(p, outs, win)
	return firstError(errs)
}
