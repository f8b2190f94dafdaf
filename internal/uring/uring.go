// Package uring is a minimal io_uring (Linux ≥ 5.6) for the guest agent and
// the in-guest kernel tests: one ring, IORING_OP_READ and bpfstor's
// IORING_OP_CHAIN_READ, in pure Go over raw system calls.
//
// Usage: New sets the ring up; PrepRead queues reads and PrepChainRead
// chained reads (each tagged with a user_data value); Submit hands every
// queued request to the kernel in one
// io_uring_enter and waits until enough completions are ready; Reap takes
// the completions (user_data and result); Close releases the ring.
//
// Why not a library: the agent is a static binary (no cgo, so no liburing),
// and none of the pure-Go io_uring modules (pawelgaczynski/giouring,
// iceber/iouring-go, godzie44/go-uring, ii64/gouring) is served by the Go
// module proxy this project builds from. They would not fit anyway: they
// enter the kernel through syscall.Syscall, and a measurement loop must use
// RawSyscall (see Submit). Reads on one ring need about 200 lines.
//
// Memory model: the rings are shared with the kernel. Head and tail indices
// are read and written with sync/atomic, whose operations are sequentially
// consistent and so at least as strong as the acquire loads and release
// stores liburing uses: the SQ tail is stored after the SQEs it publishes
// are written, the CQ tail is loaded before the CQEs it publishes are read,
// and the CQ head is stored after they are copied out.
//
// Layouts and constants are those of include/uapi/linux/io_uring.h (Linux
// 6.12); uring_test.go checks the struct sizes and offsets.
//
// A Ring is not safe for concurrent use: one goroutine owns it (the
// workloads lock that goroutine to its OS thread).
package uring

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Constants of include/uapi/linux/io_uring.h.
const (
	opRead = 22 // IORING_OP_READ (enum io_uring_op)
	// OpChainRead is IORING_OP_CHAIN_READ, added by bpfstor's kernel series
	// (kernel/patches) after IORING_OP_LISTEN.
	OpChainRead = 58

	featSingleMmap = 1 << 0 // IORING_FEAT_SINGLE_MMAP

	// SetupSingleIssuer | SetupDeferTaskrun (for NewWithFlags): completion
	// work runs only while the ring's one submitting thread waits in
	// Submit, never on its way back to user space.
	SetupSingleIssuer = 1 << 12 // IORING_SETUP_SINGLE_ISSUER
	SetupDeferTaskrun = 1 << 13 // IORING_SETUP_DEFER_TASKRUN
	// SetupSQPoll: a kernel thread takes the SQEs off the ring (Submit
	// only publishes them, and wakes the thread when it sleeps).
	SetupSQPoll = 1 << 1 // IORING_SETUP_SQPOLL

	enterGetEvents = 1 << 0 // IORING_ENTER_GETEVENTS
	enterSQWakeup  = 1 << 1 // IORING_ENTER_SQ_WAKEUP
	sqNeedWakeup   = 1 << 0 // IORING_SQ_NEED_WAKEUP

	offSQRing = 0          // IORING_OFF_SQ_RING
	offCQRing = 0x8000000  // IORING_OFF_CQ_RING
	offSQEs   = 0x10000000 // IORING_OFF_SQES

	sqeSize = 64 // sizeof(struct io_uring_sqe) without IORING_SETUP_SQE128
	cqeSize = 16 // sizeof(struct io_uring_cqe) without IORING_SETUP_CQE32
)

// sqringOffsets is struct io_sqring_offsets.
type sqringOffsets struct {
	Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, Resv1 uint32
	UserAddr                                                        uint64
}

// cqringOffsets is struct io_cqring_offsets.
type cqringOffsets struct {
	Head, Tail, RingMask, RingEntries, Overflow, CQEs, Flags, Resv1 uint32
	UserAddr                                                        uint64
}

// params is struct io_uring_params (120 bytes).
type params struct {
	SQEntries, CQEntries, Flags, SQThreadCPU, SQThreadIdle, Features, WQFd uint32
	Resv                                                                   [3]uint32
	SQOff                                                                  sqringOffsets
	CQOff                                                                  cqringOffsets
}

// sqe is struct io_uring_sqe with the unions reduced to the members a read
// uses (64 bytes).
type sqe struct {
	Opcode      uint8
	Flags       uint8
	IOPrio      uint16
	FD          int32
	Off         uint64
	Addr        uint64
	Len         uint32
	RWFlags     uint32
	UserData    uint64
	BufIndex    uint16
	Personality uint16
	SpliceFDIn  int32
	Addr3       uint64
	Pad2        uint64
}

// CQE is one completion (struct io_uring_cqe): the user_data of the read
// and its result, the number of bytes read or a negated errno.
type CQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

// ErrSQFull is what PrepRead returns when every submission queue entry is
// taken: Submit first.
var ErrSQFull = errors.New("uring: submission queue full")

// Ring is one io_uring instance with its rings mapped.
type Ring struct {
	fd int

	sqMem, cqMem, sqeMem []byte // mappings; cqMem is sqMem with IORING_FEAT_SINGLE_MMAP

	sqHead, sqTail *uint32 // head: the kernel's (consumed); tail: ours (published)
	sqFlags        *uint32 // IORING_SQ_NEED_WAKEUP when the SQPOLL thread sleeps
	sqPoll         bool
	sqMask         uint32
	sqEntries      uint32
	sqes           []sqe
	tail           uint32 // next free SQE; published to *sqTail by Submit

	cqHead, cqTail *uint32 // head: ours (reaped); tail: the kernel's (posted)
	cqMask         uint32
	cqEntries      uint32
	cqes           []CQE
}

// New sets up a ring with at least entries submission queue entries (the
// kernel rounds up to a power of two; the completion queue is twice that).
func New(entries uint32) (*Ring, error) { return NewWithFlags(entries, 0) }

// NewWithFlags is New with io_uring_setup flags (Setup*). With
// SetupSingleIssuer only the thread that first submits may submit: lock
// the goroutine to its thread.
func NewWithFlags(entries, flags uint32) (*Ring, error) {
	p := params{Flags: flags}
	fd, _, e := unix.RawSyscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		return nil, fmt.Errorf("uring: io_uring_setup(%d): %w", entries, e)
	}
	r := &Ring{fd: int(fd)}
	if err := r.mmap(&p); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// mmap maps the SQ ring, the CQ ring (the same mapping with
// IORING_FEAT_SINGLE_MMAP) and the SQE array, and points r into them.
func (r *Ring) mmap(p *params) error {
	sqSize := int(p.SQOff.Array) + int(p.SQEntries)*4
	cqSize := int(p.CQOff.CQEs) + int(p.CQEntries)*cqeSize
	single := p.Features&featSingleMmap != 0
	if single {
		sqSize = max(sqSize, cqSize)
	}
	var err error
	region := func(off int64, size int) ([]byte, error) {
		b, err := unix.Mmap(r.fd, off, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			return nil, fmt.Errorf("uring: mmap of %d bytes at %#x: %w", size, off, err)
		}
		return b, nil
	}
	if r.sqMem, err = region(offSQRing, sqSize); err != nil {
		return err
	}
	r.cqMem = r.sqMem
	if !single {
		if r.cqMem, err = region(offCQRing, cqSize); err != nil {
			return err
		}
	}
	if r.sqeMem, err = region(offSQEs, int(p.SQEntries)*sqeSize); err != nil {
		return err
	}

	u32 := func(mem []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&mem[off])) }
	r.sqHead = u32(r.sqMem, p.SQOff.Head)
	r.sqTail = u32(r.sqMem, p.SQOff.Tail)
	r.sqFlags = u32(r.sqMem, p.SQOff.Flags)
	r.sqPoll = p.Flags&SetupSQPoll != 0
	r.sqMask = *u32(r.sqMem, p.SQOff.RingMask)
	r.sqEntries = *u32(r.sqMem, p.SQOff.RingEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&r.sqeMem[0])), p.SQEntries)
	// The SQ index array maps ring slot i to SQE i, once and for all (as
	// liburing does), so an SQE's index is its ring position.
	array := unsafe.Slice(u32(r.sqMem, p.SQOff.Array), p.SQEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	r.tail = atomic.LoadUint32(r.sqTail)

	r.cqHead = u32(r.cqMem, p.CQOff.Head)
	r.cqTail = u32(r.cqMem, p.CQOff.Tail)
	r.cqMask = *u32(r.cqMem, p.CQOff.RingMask)
	r.cqEntries = *u32(r.cqMem, p.CQOff.RingEntries)
	r.cqes = unsafe.Slice((*CQE)(unsafe.Pointer(&r.cqMem[p.CQOff.CQEs])), p.CQEntries)
	return nil
}

// Entries is the size of the submission queue: the most reads queued
// between two Submits.
func (r *Ring) Entries() int { return int(r.sqEntries) }

// CQEntries is the size of the completion queue. Keep no more reads in
// flight than that: the kernel would hold the excess back (overflow).
func (r *Ring) CQEntries() int { return int(r.cqEntries) }

// PrepRead queues a read of len(buf) bytes at byte offset off of fd into
// buf; its completion carries userData. The read starts at the next Submit.
// buf must stay mapped, reachable and in place until the completion is
// reaped: the kernel writes it asynchronously, and the ring keeps only its
// address. Memory from mmap (as O_DIRECT needs anyway, for alignment) is
// the natural choice. It returns ErrSQFull if the submission queue is full.
func (r *Ring) PrepRead(fd int, buf []byte, off, userData uint64) error {
	if r.tail-atomic.LoadUint32(r.sqHead) >= r.sqEntries {
		return ErrSQFull
	}
	var addr uintptr
	if len(buf) > 0 {
		addr = uintptr(unsafe.Pointer(&buf[0]))
	}
	r.sqes[r.tail&r.sqMask] = sqe{
		Opcode:   opRead,
		FD:       int32(fd),
		Off:      off,
		Addr:     uint64(addr),
		Len:      uint32(len(buf)),
		UserData: userData,
	}
	r.tail++
	return nil
}

// PrepChainRead queues a chained read (IORING_OP_CHAIN_READ) on the block
// device fd: args points to a struct chain_read_args of size bytes (see
// bpf/storfn), which, with the buffer and scratch it names, must stay in
// place until the completion is reaped; the kernel writes hops,
// driver_hops and final_offset back into it when the chain ends. The CQE's
// result is the size of the final block or a negated errno. It returns
// ErrSQFull if the submission queue is full.
func (r *Ring) PrepChainRead(fd int, args unsafe.Pointer, size int, userData uint64) error {
	if r.tail-atomic.LoadUint32(r.sqHead) >= r.sqEntries {
		return ErrSQFull
	}
	r.sqes[r.tail&r.sqMask] = sqe{
		Opcode:   OpChainRead,
		FD:       int32(fd),
		Addr:     uint64(uintptr(args)),
		Len:      uint32(size),
		UserData: userData,
	}
	r.tail++
	return nil
}

// Queued is the number of reads prepared and not yet taken by the kernel.
func (r *Ring) Queued() int { return int(r.tail - atomic.LoadUint32(r.sqHead)) }

// Ready is the number of completions waiting to be reaped.
func (r *Ring) Ready() int { return int(atomic.LoadUint32(r.cqTail) - atomic.LoadUint32(r.cqHead)) }

// Submit hands every queued read to the kernel, in one io_uring_enter when
// nothing goes wrong, and waits until at least wait completions are ready
// to reap (0: do not wait). It returns the number of reads submitted.
//
// The system call is issued with RawSyscall, like the workloads' preadRaw:
// a blocking Syscall lets the Go scheduler's sysmon hand the goroutine's P
// to another thread after 20 µs, and the wake-up that costs (large under
// TCG) would land inside the measured latency. The owner's thread blocks in
// the kernel as a C program's would. A wait interrupted by a signal (the Go
// runtime's preemption signal among them) is resumed. Waiting for more
// completions than there are reads in flight blocks for ever.
func (r *Ring) Submit(wait uint32) (int, error) {
	atomic.StoreUint32(r.sqTail, r.tail) // publish the SQEs written since the last Submit
	if r.sqPoll {
		return r.submitSQPoll(wait)
	}
	submitted := 0
	for {
		toSubmit := r.tail - atomic.LoadUint32(r.sqHead)
		minComplete, flags := uint32(0), uintptr(0)
		if uint32(r.Ready()) < wait {
			minComplete, flags = wait, enterGetEvents
		}
		if toSubmit == 0 && flags == 0 {
			return submitted, nil
		}
		n, _, e := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(minComplete), flags, 0, 0)
		switch {
		case e == unix.EINTR:
			continue
		case e != 0:
			return submitted, fmt.Errorf("uring: io_uring_enter(to_submit %d, min_complete %d): %w", toSubmit, minComplete, e)
		case n == 0 && toSubmit > 0:
			return submitted, fmt.Errorf("uring: io_uring_enter took none of %d queued reads", toSubmit)
		}
		// The kernel stops submitting at a failed SQE (its error is in its
		// CQE) and a wait may end early on a signal: the loop goes on with
		// what is left.
		submitted += int(n)
	}
}

// submitSQPoll is Submit on an SQPOLL ring: the kernel thread takes the
// published SQEs (woken if it sleeps), and io_uring_enter only waits. It
// returns the SQEs published and not yet taken when it was called.
func (r *Ring) submitSQPoll(wait uint32) (int, error) {
	queued := int(r.tail - atomic.LoadUint32(r.sqHead))
	for {
		flags := uintptr(0)
		// The tail store above and this load are sequentially consistent
		// (sync/atomic), the barrier liburing puts between them.
		if queued > 0 && atomic.LoadUint32(r.sqFlags)&sqNeedWakeup != 0 {
			flags |= enterSQWakeup
		}
		minComplete := uint32(0)
		if uint32(r.Ready()) < wait {
			minComplete, flags = wait, flags|enterGetEvents
		}
		if flags == 0 {
			return queued, nil
		}
		_, _, e := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), 0, uintptr(minComplete), flags, 0, 0)
		switch {
		case e == unix.EINTR:
			continue
		case e != 0:
			return 0, fmt.Errorf("uring: io_uring_enter(SQPOLL, flags %#x, min_complete %d): %w", flags, minComplete, e)
		}
		if uint32(r.Ready()) >= wait {
			return queued, nil
		}
		queued = 0 // woken once; a wait ended early (signal) goes on waiting
	}
}

// Reap moves up to len(dst) ready completions into dst, oldest first, and
// returns how many. It does not block.
func (r *Ring) Reap(dst []CQE) int {
	head := atomic.LoadUint32(r.cqHead)
	tail := atomic.LoadUint32(r.cqTail)
	n := 0
	for ; head != tail && n < len(dst); n++ {
		dst[n] = r.cqes[head&r.cqMask]
		head++
	}
	atomic.StoreUint32(r.cqHead, head)
	return n
}

// Close unmaps the rings and closes the ring; it is idempotent. It does
// not wait for reads in flight (the kernel finishes or cancels them after
// the ring is gone): reap every read before reusing or unmapping its
// buffer.
func (r *Ring) Close() error {
	var errs []error
	unmap := func(m *[]byte) {
		if *m != nil {
			errs = append(errs, unix.Munmap(*m))
		}
		*m = nil
	}
	if r.cqMem != nil && r.sqMem != nil && &r.cqMem[0] == &r.sqMem[0] {
		r.cqMem = nil // one mapping (IORING_FEAT_SINGLE_MMAP)
	}
	unmap(&r.sqeMem)
	unmap(&r.cqMem)
	unmap(&r.sqMem)
	r.sqes, r.cqes = nil, nil
	r.sqHead, r.sqTail, r.cqHead, r.cqTail = nil, nil, nil, nil
	if r.fd >= 0 {
		errs = append(errs, unix.Close(r.fd))
		r.fd = -1
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("uring: close: %w", err)
	}
	return nil
}
