package workload

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/bpf/storfn"
	"github.com/bpfstor/bpfstor/harness/hist"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/images/pattern"
)

// Chain modes: where each dependent read of a chain is issued.
const (
	ModePread   = "pread"   // from user space, one pread per hop
	ModeSyscall = "syscall" // chain_read, hops looped in the syscall
	ModeDriver  = "driver"  // chain_read, hops 2..d resubmitted by the NVMe driver
)

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
	}
	return 0, fmt.Errorf("mode %q is not pread, syscall or driver", mode)
}

// ChainObject is the synthetic chain program in the guest.
const ChainObject = "chain.o"

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
		if prog, err = loadProg(env, ChainObject, "chain"); err != nil {
			return fmt.Errorf("chain: %w", err)
		}
		if w.Depth > storfn.DefaultMaxHops {
			if err := os.WriteFile(storfn.SysctlMaxHops, []byte(fmt.Sprint(w.Depth)), 0); err != nil {
				return fmt.Errorf("chain: raise hop limit to %d: %w", w.Depth, err)
			}
		}
	}
	f, err := os.OpenFile(env.Job.Device, os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		return fmt.Errorf("chain: %w", err)
	}
	defer f.Close()
	fd := int(f.Fd())
	size, err := deviceSize(fd)
	if err != nil {
		return fmt.Errorf("chain: size of %s: %w", env.Job.Device, err)
	}
	nblk := size / uint64(bs)
	buf, err := alignedBuf(bs)
	if err != nil {
		return err
	}
	defer unix.Munmap(buf[:cap(buf)])
	imageSeed := uint64(env.Job.Seed)
	rng := rand.New(rand.NewPCG(imageSeed, uint64(ps.Rep)<<32|uint64(w.Depth)))
	h := hist.New()
	var hops, driverHops int64

	one := func(record bool) error {
		start := int64(rng.Uint64N(nblk)) * int64(bs)
		sc := storfn.ChainScratch{Seed: rng.Uint64(), NBlocks: nblk, Depth: uint32(w.Depth)}
		var final []byte
		var got storfn.ChainScratch
		t0 := time.Now()
		if flags == 0 {
			r, err := storfn.RefChain(func(b []byte, off int64) (int, error) {
				n, err := preadRaw(fd, buf, off)
				copy(b, buf[:n])
				return n, err
			}, bs, start, sc)
			if err != nil {
				return err
			}
			final, got = r.Final, r.Scratch
		} else {
			scratch := sc.Marshal()
			n, st, err := storfn.ChainReadStats(fd, buf, start, prog.FD(), scratch, flags)
			if err != nil {
				return err
			}
			if n != bs {
				return fmt.Errorf("chain_read returned %d bytes, want %d", n, bs)
			}
			final = buf[:n]
			if got, err = storfn.UnmarshalChainScratch(scratch); err != nil {
				return err
			}
			if record {
				hops += int64(st.Hops)
				driverHops += int64(st.DriverHops)
			}
		}
		d := time.Since(t0)
		if !record {
			return nil
		}
		h.Record(d)
		p.Ops++
		p.Checked++
		want, err := chainExpect(bs, imageSeed, start, sc)
		if err != nil {
			return err
		}
		if !bytes.Equal(final, want.Final) || got.Acc != want.Scratch.Acc || got.Hops != want.Scratch.Hops {
			p.Wrong++
			if p.Error == "" {
				p.Error = fmt.Sprintf("chain from %d (seed %#x): got acc %#x hops %d, want acc %#x hops %d (final block equal: %v)",
					start, sc.Seed, got.Acc, got.Hops, want.Scratch.Acc, want.Scratch.Hops, bytes.Equal(final, want.Final))
			}
		}
		return nil
	}
	for i := 0; i < w.Warmup; i++ {
		if err := one(false); err != nil {
			return fmt.Errorf("chain %s depth %d (warm-up): %w", w.Mode, w.Depth, err)
		}
	}
	t0 := time.Now()
	for i := 0; i < w.Ops; i++ {
		if err := one(true); err != nil {
			return fmt.Errorf("chain %s depth %d: %w", w.Mode, w.Depth, err)
		}
	}
	elapsed := time.Since(t0)
	p.ElapsedNs = int64(elapsed)
	p.IOPS = float64(p.Ops) / elapsed.Seconds()
	p.Latency = h
	s := h.Summarize()
	p.Summary = &s
	if flags != 0 {
		p.Extra = map[string]any{"hops": hops, "driver_hops": driverHops}
	}
	return nil
}
