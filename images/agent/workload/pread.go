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

// deviceSize returns the size in bytes of the block device open as fd.
func deviceSize(fd int) (uint64, error) {
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

// draws are the offsets thread t of a pread point reads in repetition
// rep, warm-up first: the layer trace reads thread 0's again.
func (d *rawDevice) draws(seed uint64, rep, t int) func() int64 {
	rng := rand.New(rand.NewPCG(seed, uint64(rep)<<16|uint64(t)))
	return func() int64 { return int64(rng.Uint64N(d.nblk)) * int64(d.bs) }
}

// runPread issues random, aligned O_DIRECT preads of BlockSize bytes on the
// raw device, each timed with the monotonic clock, and checks every block
// against the data image's pattern.
func runPread(env *Env, ps proto.PointSpec, p *proto.Point) error {
	w := ps.Workload
	threads := max(w.Threads, 1)
	d, err := openRaw(env.Job.Device, w.BlockSize)
	if err != nil {
		return fmt.Errorf("pread: %w", err)
	}
	defer d.f.Close()
	seed := uint64(env.Job.Seed)

	outs := make([]tally, threads)
	elapsed, errs := measureThreads(threads, w.Ops, w.Warmup, func(t int) (opFunc, func(), error) {
		o := &outs[t]
		buf, err := alignedBuf(d.bs)
		if err != nil {
			return nil, nil, err
		}
		next := d.draws(seed, ps.Rep, t)
		read := func(record bool) error {
			off := next()
			t0 := time.Now()
			err := preadFull(d.fd, buf, off)
			lat := time.Since(t0)
			if err != nil {
				return err
			}
			if !record {
				return nil
			}
			why := ""
			if err := pattern.Check(buf, uint64(off)/pattern.BlockSize, seed); err != nil {
				why = err.Error()
			}
			o.answer(lat, 0, 0, why, func() string { return fmt.Sprintf("pread at %d", off) })
			return nil
		}
		return read, func() { unix.Munmap(buf[:cap(buf)]) }, nil
	})
	mergeTallies(p, outs, elapsed)
	return firstError(errs)
}
