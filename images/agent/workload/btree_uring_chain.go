package workload

import (
	"bytes"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/bpf/storfn"
	model "github.com/bpfstor/bpfstor/harness/workload"
	"github.com/bpfstor/bpfstor/images/btree"
	"github.com/bpfstor/bpfstor/internal/uring"
)

// The btree modes that chain in the kernel through io_uring: each lookup
// is one IORING_OP_CHAIN_READ request running the lookup program, Batch of
// them in flight per thread, one CQE per lookup.
const (
	ModeURingKernel = model.ModeURingKernel
	ModeURingDriver = model.ModeURingDriver
)

// uringChainMode reports whether mode chains through IORING_OP_CHAIN_READ.
func uringChainMode(mode string) bool { return mode == ModeURingKernel || mode == ModeURingDriver }

// chainMeta is each slot's share of chainPipe.meta: its chain_read_args
// at 0, its scratch from chainScratchOff.
const (
	chainScratchOff = 64
	chainMeta       = chainScratchOff + (btreeScratchSize+63)&^63
)

// lookupSource is a pipeline of lookups in flight: lookupPipe (chained from
// user space) or chainPipe (chained in the kernel).
type lookupSource interface {
	allow(n int)
	next() (pipeLookup, error)
	// drain waits for everything in flight (after an error, before the
	// buffers go).
	drain()
	// submits is the number of io_uring_enter rounds since the last allow.
	submits() int
}

func (p *lookupPipe) submits() int { return p.waits }

// chainPipe keeps up to len(slots) lookups in flight as IORING_OP_CHAIN_READ
// requests on one ring: when one's CQE comes, its answer is taken from its
// scratch and final block and its slot starts the next key. Every slot has
// its own args, scratch and final-block buffer, mapped, since the kernel
// writes them when the chain ends. Lookups start only while the phase's
// allowance lasts, so a phase ends with nothing in flight.
type chainPipe struct {
	ring  *uring.Ring
	fd    int
	prog  int
	flags uint32
	root  int64 // byte offset of the root node
	draw  func() (uint64, bool)
	now   func() time.Time

	bufs  []byte // slots × btree.BlockSize
	meta  []byte // slots × chainMeta
	slots []uringChainSlot
	free  []int
	left  int
	busy  int // requests in flight
	done  []pipeLookup
	head  int
	cqes  []uring.CQE
	waits int
}

// uringChainSlot is one lookup in flight.
type uringChainSlot struct {
	key     uint64
	present bool
	t0      time.Time
}

func newChainPipe(fd, prog int, flags uint32, batch int, root int64, draw func() (uint64, bool)) (*chainPipe, error) {
	r, err := uring.New(uint32(batch))
	if err != nil {
		return nil, err
	}
	p := &chainPipe{ring: r, fd: fd, prog: prog, flags: flags, root: root, draw: draw, now: time.Now,
		slots: make([]uringChainSlot, batch), done: make([]pipeLookup, 0, batch), cqes: make([]uring.CQE, r.CQEntries())}
	if p.bufs, err = alignedBuf(batch * btree.BlockSize); err == nil {
		p.meta, err = alignedBuf(batch * chainMeta)
	}
	if err != nil {
		p.close()
		return nil, err
	}
	for s := batch - 1; s >= 0; s-- {
		p.free = append(p.free, s)
	}
	return p, nil
}

func (p *chainPipe) args(slot int) *storfn.Args {
	return (*storfn.Args)(unsafe.Pointer(&p.meta[slot*chainMeta]))
}

func (p *chainPipe) scratch(slot int) []byte {
	o := slot*chainMeta + chainScratchOff
	return p.meta[o : o+btreeScratchSize]
}

func (p *chainPipe) buf(slot int) []byte {
	return p.bufs[slot*btree.BlockSize : (slot+1)*btree.BlockSize]
}

func (p *chainPipe) allow(n int) {
	p.left += n
	p.waits = 0
}

func (p *chainPipe) submits() int { return p.waits }

// fill starts a lookup in every idle slot while the allowance lasts; its
// clock starts here, just before the wait that submits it.
func (p *chainPipe) fill() error {
	for len(p.free) > 0 && p.left > 0 {
		s := p.free[len(p.free)-1]
		key, present := p.draw()
		scr, buf := p.scratch(s), p.buf(s)
		marshalBTreeScratch(&btreeScratch{Key: key}, scr)
		*p.args(s) = storfn.Args{
			Buf:        storfn.NewPointer(unsafe.Pointer(&buf[0])),
			Scratch:    storfn.NewPointer(unsafe.Pointer(&scr[0])),
			Offset:     uint64(p.root),
			Count:      btree.BlockSize,
			ScratchLen: uint32(btreeScratchSize),
			ProgFD:     int32(p.prog),
			Flags:      p.flags,
		}
		if err := p.ring.PrepChainRead(p.fd, unsafe.Pointer(p.args(s)), storfn.ArgsSize, uint64(s)); err != nil {
			return fmt.Errorf("key %d: IORING_OP_CHAIN_READ: %w", key, err)
		}
		p.slots[s] = uringChainSlot{key: key, present: present, t0: p.now()}
		p.free = p.free[:len(p.free)-1]
		p.left--
		p.busy++
	}
	return nil
}

func (p *chainPipe) next() (pipeLookup, error) {
	for p.head == len(p.done) {
		p.done, p.head = p.done[:0], 0
		if err := p.fill(); err != nil {
			return pipeLookup{}, err
		}
		if p.busy == 0 {
			return pipeLookup{}, errors.New("uring: no lookup in flight and none left to start")
		}
		p.waits++
		if _, err := p.ring.Submit(1); err != nil {
			return pipeLookup{}, err
		}
		n := p.ring.Reap(p.cqes)
		p.busy -= n
		for _, c := range p.cqes[:n] {
			if err := p.complete(c); err != nil {
				return pipeLookup{}, err
			}
		}
	}
	l := p.done[p.head]
	p.head++
	return l, nil
}

// complete takes one lookup's CQE: its answer comes from its scratch, and
// must agree with itself as in the chain_read modes (lookupThread.check).
func (p *chainPipe) complete(c uring.CQE) error {
	end := p.now()
	slot := int(c.UserData)
	s := &p.slots[slot]
	switch {
	case c.Res == -int32(unix.EBADMSG):
		return fmt.Errorf("key %d: IORING_OP_CHAIN_READ: %w (the program found a block that is not a tree node)", s.key, unix.EBADMSG)
	case c.Res < 0:
		return fmt.Errorf("key %d: IORING_OP_CHAIN_READ: %w", s.key, unix.Errno(-c.Res))
	case c.Res != btree.BlockSize:
		return fmt.Errorf("key %d: IORING_OP_CHAIN_READ returned %d bytes, want %d", s.key, c.Res, btree.BlockSize)
	}
	a := p.args(slot)
	sc, _ := unmarshalBTreeScratch(p.scratch(slot))
	r := walkResult{Found: sc.Found == 1, Value: sc.Value, Hops: int(a.Hops), ValueOff: sc.ValueOff}
	kwhy := ""
	if sc.Hops != a.Hops {
		kwhy = fmt.Sprintf("program counted %d hops, the request %d", sc.Hops, a.Hops)
	}
	if vo := int(sc.ValueOff % btree.BlockSize); r.Found &&
		(a.FinalOffset != sc.ValueOff&^(btree.BlockSize-1) || !bytes.Equal(p.buf(slot)[vo:vo+btree.ValueSize], sc.Value[:])) {
		kwhy = fmt.Sprintf("final block at %d does not hold the value at %d that the scratch reports", a.FinalOffset, sc.ValueOff)
	}
	p.done = append(p.done, pipeLookup{Key: s.key, Present: s.present, R: r, D: end.Sub(s.t0), End: end,
		DriverHops: int64(a.DriverHops), KWhy: kwhy})
	p.free = append(p.free, slot)
	return nil
}

func (p *chainPipe) drain() {
	for p.busy > 0 {
		if _, err := p.ring.Submit(1); err != nil {
			return
		}
		p.busy -= p.ring.Reap(p.cqes)
	}
}

// close closes the ring, then unmaps the slots (drain first).
func (p *chainPipe) close() {
	if p.ring != nil {
		p.ring.Close()
	}
	for _, m := range [][]byte{p.bufs, p.meta} {
		if m != nil {
			unix.Munmap(m[:cap(m)])
		}
	}
}
