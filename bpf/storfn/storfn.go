// Package storfn is the user-space side of BPF storage functions
// (kernel/patches): the chain_read system call, the loader for
// BPF_PROG_TYPE_STORAGE programs, BPF_PROG_TEST_RUN for them, and a pure-Go
// reference of the synthetic chain in bpf/progs/chain.c.
package storfn

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// Kernel ABI of the kernel/patches series (include/uapi/linux/chain_read.h
// and BPF_PROG_TYPE_STORAGE in include/uapi/linux/bpf.h).
const (
	// SysChainRead is the x86-64 (and asm-generic) syscall number of
	// chain_read(fd, struct chain_read_args *, size).
	SysChainRead = 463
	// ProgTypeStorage is BPF_PROG_TYPE_STORAGE (after BPF_PROG_TYPE_NETFILTER).
	ProgTypeStorage = ebpf.ProgramType(33)

	// FlagSyscall dispatches every hop from the syscall (CHAIN_READ_SYSCALL).
	FlagSyscall uint32 = 1 << 0
	// FlagDriver resubmits hops 2..d from the NVMe completion handler
	// (CHAIN_READ_DRIVER).
	FlagDriver uint32 = 1 << 1
	// FlagPoll, with FlagDriver, polls the device's completion queue for
	// the chain instead of sleeping until its interrupts, where the device
	// has poll queues (nvme.poll_queues) (CHAIN_READ_POLL).
	FlagPoll uint32 = 1 << 2

	// VerdictDone and VerdictNext are the program's return values.
	VerdictDone = 0
	VerdictNext = 1

	BlockMax   = 4096 // BPF_STORAGE_BLOCK_MAX: addressable bytes of ctx->data
	ScratchMax = 4096 // BPF_STORAGE_SCRATCH_MAX: addressable bytes of ctx->scratch
	Align      = 512  // offsets and sizes are multiples of this (or of the logical block size)

	DefaultMaxHops = 32   // CHAIN_READ_HOPS_DEFAULT
	HardMaxHops    = 1024 // CHAIN_READ_HOPS_MAX
	// SysctlMaxHops holds the hop limit, 1..HardMaxHops.
	SysctlMaxHops = "/proc/sys/kernel/bpf_storage_max_hops"
)

// Args mirrors struct chain_read_args (56 bytes).
type Args struct {
	Buf         Pointer // receives the final block
	Scratch     Pointer // copied in, and back out on success
	Offset      uint64  // byte offset of the first read
	Count       uint32  // size of the first read, capacity of Buf
	ScratchLen  uint32
	ProgFD      int32
	Flags       uint32
	Hops        uint32 // out: blocks read and run through the program
	DriverHops  uint32 // out: of those, resubmitted by the driver
	FinalOffset uint64 // out: offset of the last block read
}

// ArgsSize is CHAIN_READ_ARGS_SIZE_VER0.
const ArgsSize = 56

var _ [ArgsSize - unsafe.Sizeof(Args{})]struct{}
var _ [unsafe.Sizeof(Args{}) - ArgsSize]struct{}

// RawChainRead calls chain_read(fd, a, size) as is; pointers in a are the
// caller's business (tests use it to pass bad ones).
func RawChainRead(fd int, a *Args, size uintptr) (int, error) {
	// RawSyscall, like the pread of the user-space baseline: the Go
	// scheduler's syscall hooks (sysmon handing off the P of a syscall that
	// blocks > 20 µs) cost wake-ups that would land in the measured latency.
	r, _, errno := unix.RawSyscall(SysChainRead, uintptr(fd), uintptr(unsafe.Pointer(a)), size)
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

// Stats are the outputs of a chain besides the data.
type Stats struct {
	Hops        uint32 // blocks read
	DriverHops  uint32 // blocks resubmitted by the NVMe driver
	FinalOffset int64  // offset of the final block (the one in buf)
}

// ChainRead runs a chain on fd (a raw block device) starting with a read of
// len(buf) bytes at off; prog chooses each next block, scratch is the
// per-chain scratch (copied back on success). flags is FlagSyscall or
// FlagDriver. It returns the size of the final block, copied to buf.
func ChainRead(fd int, buf []byte, off int64, prog int, scratch []byte, flags uint32) (int, error) {
	n, _, err := ChainReadStats(fd, buf, off, prog, scratch, flags)
	return n, err
}

// ChainReadStats is ChainRead that also returns the hop counts, also when
// the chain failed.
func ChainReadStats(fd int, buf []byte, off int64, prog int, scratch []byte, flags uint32) (int, Stats, error) {
	a := Args{
		Offset:     uint64(off),
		Count:      uint32(len(buf)),
		ScratchLen: uint32(len(scratch)),
		ProgFD:     int32(prog),
		Flags:      flags,
	}
	if len(buf) > 0 {
		a.Buf = NewPointer(unsafe.Pointer(&buf[0]))
	}
	if len(scratch) > 0 {
		a.Scratch = NewPointer(unsafe.Pointer(&scratch[0]))
	}
	n, err := RawChainRead(fd, &a, ArgsSize)
	runtime.KeepAlive(&a)
	st := Stats{Hops: a.Hops, DriverHops: a.DriverHops, FinalOffset: int64(a.FinalOffset)}
	if err != nil {
		return 0, st, fmt.Errorf("chain_read at %d: %w", off, err)
	}
	return n, st, nil
}

// SectionStorage is the ELF section of storage functions (STORFN_SEC in
// bpf/include/storfn.h). cilium/ebpf does not know it and leaves such
// programs UnspecifiedProgram; setTypes makes them BPF_PROG_TYPE_STORAGE.
const SectionStorage = "storage"

// SpecLoader is a generated loader of bpf/objs (objs.LoadChain, ...).
type SpecLoader func() (*ebpf.CollectionSpec, error)

// setTypes sets the program type of every storage function in spec to
// ProgTypeStorage: the one place that knows the generated specs need it.
func setTypes(spec *ebpf.CollectionSpec) *ebpf.CollectionSpec {
	for _, ps := range spec.Programs {
		if ps.SectionName == SectionStorage {
			ps.Type = ProgTypeStorage
		}
	}
	return spec
}

// Spec returns the CollectionSpec of a generated loader with the storage
// functions' type set.
func Spec(load SpecLoader) (*ebpf.CollectionSpec, error) {
	spec, err := load()
	if err != nil {
		return nil, fmt.Errorf("storfn: %w", err)
	}
	return setTypes(spec), nil
}

// LoadObjects loads the generated object struct obj (objs.ChainObjects,
// ...) from load's spec, with the storage functions' type set. On a
// verifier rejection the error holds the full verifier log.
func LoadObjects(load SpecLoader, obj any) error {
	spec, err := Spec(load)
	if err != nil {
		return err
	}
	if err := spec.LoadAndAssign(obj, nil); err != nil {
		return loadError("objects", err)
	}
	return nil
}

// Load loads program progName of load's spec (progName is one of the
// generated *Prog* constants), together with the maps it uses. On a
// verifier rejection the error holds the full verifier log.
func Load(load SpecLoader, progName string) (*ebpf.Program, error) {
	coll, err := LoadCollection(load, progName)
	if err != nil {
		return nil, err
	}
	defer coll.Close()
	return coll.DetachProgram(progName), nil
}

// LoadCollection is Load that also returns the program's maps, in a
// collection holding only progName (the other programs of the object, as
// those of chain_bad.c that the verifier must reject, are not loaded).
func LoadCollection(load SpecLoader, progName string) (*ebpf.Collection, error) {
	spec, err := Spec(load)
	if err != nil {
		return nil, err
	}
	ps, ok := spec.Programs[progName]
	if !ok {
		return nil, fmt.Errorf("storfn: no program %q", progName)
	}
	spec.Programs = map[string]*ebpf.ProgramSpec{progName: ps}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		return nil, loadError(progName, err)
	}
	return coll, nil
}

func loadError(what string, err error) error {
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		return fmt.Errorf("storfn: load %s: %w\nverifier log:\n%+v", what, err, ve)
	}
	return fmt.Errorf("storfn: load %s: %w", what, err)
}

// Ctx mirrors struct bpf_storage_ctx (48 bytes); the pointer fields must be
// zero when passed to TestRun. It is written by hand: bpf2go cannot mirror
// its __bpf_md_ptr unions (a pointer in a 64-bit slot).
type Ctx struct {
	Data       uint64
	Scratch    uint64
	Offset     uint64
	Size       uint32
	Hop        uint32
	ScratchLen uint32
	NextSize   uint32
	NextOffset uint64
}

// CtxSize is sizeof(struct bpf_storage_ctx).
const CtxSize = 48

var _ [CtxSize - unsafe.Sizeof(Ctx{})]struct{}

// testRunAttr is the BPF_PROG_TEST_RUN part of union bpf_attr.
type testRunAttr struct {
	ProgFD      uint32
	Retval      uint32
	DataSizeIn  uint32
	DataSizeOut uint32
	DataIn      Pointer
	DataOut     Pointer
	Repeat      uint32
	Duration    uint32
	CtxSizeIn   uint32
	CtxSizeOut  uint32
	CtxIn       Pointer
	CtxOut      Pointer
	Flags       uint32
	CPU         uint32
	BatchSize   uint32
	_           uint32
}

const bpfProgTestRun = 10 // BPF_PROG_TEST_RUN

// TestRunResult is the outcome of one BPF_PROG_TEST_RUN.
type TestRunResult struct {
	Retval  uint32
	Scratch []byte // scratch after the run
	Ctx     Ctx    // context after the run (NextOffset, NextSize)
}

// TestRun runs prog once on block with scratch and the given offset and hop,
// without I/O (BPF_PROG_TEST_RUN). It calls bpf(2) directly: cilium/ebpf's
// Program.Run probes with a socket filter, which needs CONFIG_NET.
func TestRun(prog *ebpf.Program, block, scratch []byte, offset uint64, hop uint32) (TestRunResult, error) {
	in := make([]byte, 0, len(block)+len(scratch))
	in = append(in, block...)
	in = append(in, scratch...)
	ctx := Ctx{Offset: offset, Size: uint32(len(block)), Hop: hop, ScratchLen: uint32(len(scratch))}
	return TestRunRaw(prog, TestRunInput{Data: in, Ctx: &ctx, DataOutCap: len(scratch) + 1, CtxOutSize: CtxSize})
}

// TestRunInput is one BPF_PROG_TEST_RUN as the kernel sees it, for tests
// of its argument checks as well as for TestRun.
type TestRunInput struct {
	Data []byte // data_in: the block, then the scratch
	// Ctx is ctx_in (nil: none); CtxSizeIn overrides its size if set.
	Ctx       *Ctx
	CtxSizeIn uint32
	// DataOutCap is data_size_out (0: no data_out); CtxOutSize is
	// ctx_size_out (0: no ctx_out).
	DataOutCap int
	CtxOutSize uint32
	Flags, CPU uint32
}

// TestRunRaw runs BPF_PROG_TEST_RUN with in as given.
func TestRunRaw(prog *ebpf.Program, in TestRunInput) (TestRunResult, error) {
	var ctxOut [2 * CtxSize]byte
	var out []byte
	attr := testRunAttr{ProgFD: uint32(prog.FD()), DataSizeIn: uint32(len(in.Data)), Repeat: 1, Flags: in.Flags, CPU: in.CPU}
	if len(in.Data) > 0 {
		attr.DataIn = NewPointer(unsafe.Pointer(&in.Data[0]))
	}
	if in.DataOutCap > 0 {
		out = make([]byte, in.DataOutCap)
		attr.DataSizeOut = uint32(in.DataOutCap)
		attr.DataOut = NewPointer(unsafe.Pointer(&out[0]))
	}
	if in.Ctx != nil {
		attr.CtxSizeIn = CtxSize
		if in.CtxSizeIn != 0 {
			attr.CtxSizeIn = in.CtxSizeIn
		}
		attr.CtxIn = NewPointer(unsafe.Pointer(in.Ctx))
	}
	if in.CtxOutSize > 0 {
		attr.CtxSizeOut = min(in.CtxOutSize, uint32(len(ctxOut)))
		attr.CtxOut = NewPointer(unsafe.Pointer(&ctxOut[0]))
	}
	_, _, errno := unix.Syscall(unix.SYS_BPF, bpfProgTestRun, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(&attr)
	if errno != 0 {
		return TestRunResult{}, fmt.Errorf("BPF_PROG_TEST_RUN: %w", errno)
	}
	res := TestRunResult{Retval: attr.Retval, Ctx: *(*Ctx)(unsafe.Pointer(&ctxOut[0]))}
	if in.Ctx != nil {
		res.Scratch = out[:min(int(attr.DataSizeOut), int(in.Ctx.ScratchLen), len(out))]
	} else {
		res.Scratch = out[:min(int(attr.DataSizeOut), len(out))]
	}
	return res, nil
}
