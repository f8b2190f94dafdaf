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

// runPread issues random, aligned O_DIRECT preads of BlockSize bytes on the
// raw device, each timed with the monotonic clock, and checks every block
// against the data image's pattern.
func runPread(env *Env, ps proto.PointSpec, p *proto.Point) error {
	w := ps.Workload
	bs := w.BlockSize
	if bs <= 0 || bs%pattern.BlockSize != 0 {
		return fmt.Errorf("pread: block_size %d is not a positive multiple of %d", bs, pattern.BlockSize)
	}
	threads := max(w.Threads, 1)
	f, err := os.OpenFile(env.Job.Device, os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		return fmt.Errorf("pread: %w", err)
	}
	defer f.Close()
	size, err := deviceSize(int(f.Fd()))
	if err != nil {
		return fmt.Errorf("pread: size of %s: %w", env.Job.Device, err)
	}
	nblk := size / uint64(bs)
	if nblk == 0 {
		return fmt.Errorf("pread: device %s (%d bytes) is smaller than one block", env.Job.Device, size)
	}
	seed := uint64(env.Job.Seed)

	outs := make([]tally, threads)
	fd := int(f.Fd())
	elapsed, errs := measureThreads(threads, w.Ops, w.Warmup, func(t int) (opFunc, func(), error) {
		o := &outs[t]
		buf, err := alignedBuf(bs)
		if err != nil {
			return nil, nil, err
		}
		rng := rand.New(rand.NewPCG(seed, uint64(ps.Rep)<<16|uint64(t)))
		read := func(record bool) error {
			blk := rng.Uint64N(nblk)
			off := int64(blk) * int64(bs)
			t0 := time.Now()
			n, err := preadRaw(fd, buf, off)
			d := time.Since(t0)
			if err != nil {
				return fmt.Errorf("pread at %d: %w", off, err)
			}
			if n != bs {
				return fmt.Errorf("pread at %d: short read %d of %d", off, n, bs)
			}
			if !record {
				return nil
			}
			why := ""
			if err := pattern.Check(buf, uint64(off)/pattern.BlockSize, seed); err != nil {
				why = err.Error()
			}
			o.answer(d, 0, 0, why, func() string { return fmt.Sprintf("pread at %d", off) })
			return nil
		}
		return read, func() { unix.Munmap(buf[:cap(buf)]) }, nil
	})
	mergeTallies(p, outs, elapsed)
	return firstError(errs)
}
