package workload

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/harness/proto"
	model "github.com/bpfstor/bpfstor/harness/workload"
	"github.com/bpfstor/bpfstor/images/btree"
	"github.com/bpfstor/bpfstor/internal/uring"
)

// ModeURing is the btree mode that chains from user space over io_uring:
// each thread keeps Batch lookups in flight on its own ring (HotOS'21
// Fig. 3). ModeURingKernel and ModeURingDriver chain in the kernel
// through io_uring instead (btree_uring_chain.go).
const ModeURing = model.ModeURing

// pipeIO is the I/O a lookupPipe drives: one 512-byte block buffer per
// slot, reads queued per slot and handed to the kernel together.
type pipeIO interface {
	// read queues a read of the block at byte offset off into slot's
	// buffer.
	read(slot int, off int64) error
	// wait submits every queued read at once and waits until at least one
	// read has completed; it appends the completions to dst.
	wait(dst []pipeDone) ([]pipeDone, error)
	// buf is slot's block buffer.
	buf(slot int) []byte
}

// pipeDone is one completed read: its slot and result (bytes read or a
// negated errno).
type pipeDone struct {
	slot int
	res  int32
}

// pipeLookup is one finished lookup.
type pipeLookup struct {
	Key     uint64
	Present bool
	R       walkResult
	D       time.Duration // from its first read's submission to its last read's completion
	End     time.Time     // its last read's completion
	// kernel chaining (chainPipe): the hops the driver resubmitted, and
	// what is inconsistent in the answer ("" if nothing)
	DriverHops int64
	KWhy       string
}

// pipeSlot is one lookup in flight.
type pipeSlot struct {
	w       lookupWalk
	present bool
	t0      time.Time
}

// lookupPipe keeps up to len(slots) independent lookups in flight and chains
// each one from user space: when a lookup's read completes, lookupWalk.step
// picks its next block and the read is queued at once; when a lookup has
// its answer, its slot starts the next key. All reads that became ready are
// submitted together by the next wait (one io_uring_enter: the batching).
// Lookups start only while the phase's allowance lasts (allow), so a phase
// ends with nothing in flight.
type lookupPipe struct {
	io      pipeIO
	root    uint64 // root block
	maxHops int    // reads a lookup may take (cycle guard)
	draw    func() (uint64, bool)
	now     func() time.Time

	slots []pipeSlot
	free  []int        // idle slots
	left  int          // lookups this phase may still start
	reads int          // reads queued or in flight
	done  []pipeLookup // finished; those from head on not yet returned by next
	head  int
	comps []pipeDone
	waits int // wait calls (io_uring_enter rounds) since the last allow
}

func newLookupPipe(io pipeIO, batch int, root uint64, maxHops int, draw func() (uint64, bool)) *lookupPipe {
	p := &lookupPipe{io: io, root: root, maxHops: maxHops, draw: draw, now: time.Now, slots: make([]pipeSlot, batch)}
	for s := batch - 1; s >= 0; s-- {
		p.free = append(p.free, s)
	}
	return p
}

// allow starts a phase in which n more lookups may start.
func (p *lookupPipe) allow(n int) {
	p.left += n
	p.waits = 0
}

// inFlight is the number of lookups started and not finished.
func (p *lookupPipe) inFlight() int { return len(p.slots) - len(p.free) }

// next returns the next lookup to finish, keeping the slots busy meanwhile.
func (p *lookupPipe) next() (pipeLookup, error) {
	for p.head == len(p.done) {
		p.done, p.head = p.done[:0], 0 // reuse the array: nothing allocates once it has grown
		if err := p.fill(); err != nil {
			return pipeLookup{}, err
		}
		if p.reads == 0 {
			return pipeLookup{}, errors.New("uring: no lookup in flight and none left to start")
		}
		var err error
		p.waits++
		if p.comps, err = p.io.wait(p.comps[:0]); err != nil {
			return pipeLookup{}, err
		}
		p.reads -= len(p.comps)
		for _, c := range p.comps {
			if err := p.complete(c); err != nil {
				return pipeLookup{}, err
			}
		}
	}
	l := p.done[p.head]
	p.head++
	return l, nil
}

// fill starts a lookup in every idle slot while the allowance lasts. A
// lookup's clock starts here, just before the wait that submits its first
// read.
func (p *lookupPipe) fill() error {
	for len(p.free) > 0 && p.left > 0 {
		s := p.free[len(p.free)-1]
		key, present := p.draw()
		p.slots[s] = pipeSlot{w: newLookupWalk(p.root, key), present: present, t0: p.now()}
		if err := p.io.read(s, int64(p.slots[s].w.Off)); err != nil {
			return fmt.Errorf("key %d: uring read at %d: %w", key, p.slots[s].w.Off, err)
		}
		p.free = p.free[:len(p.free)-1]
		p.left--
		p.reads++
	}
	return nil
}

// complete consumes one completed read: the lookup either queues its next
// read or finishes.
func (p *lookupPipe) complete(c pipeDone) error {
	s := &p.slots[c.slot]
	key, off := s.w.Key, s.w.Off
	switch {
	case c.res < 0:
		return fmt.Errorf("key %d: uring read at %d: %w", key, off, unix.Errno(-c.res))
	case c.res != btree.BlockSize:
		return fmt.Errorf("key %d: uring read at %d: short read %d of %d", key, off, c.res, btree.BlockSize)
	}
	done, err := s.w.step(p.io.buf(c.slot))
	if err != nil {
		return fmt.Errorf("key %d: %w", key, err)
	}
	if done {
		end := p.now()
		p.done = append(p.done, pipeLookup{Key: key, Present: s.present, R: s.w.R, D: end.Sub(s.t0), End: end})
		p.free = append(p.free, c.slot)
		return nil
	}
	if s.w.R.Hops >= p.maxHops {
		return fmt.Errorf("btree walk: key %d: more than %d reads (cyclic tree?)", key, p.maxHops)
	}
	if err := p.io.read(c.slot, int64(s.w.Off)); err != nil {
		return fmt.Errorf("key %d: uring read at %d: %w", key, s.w.Off, err)
	}
	p.reads++
	return nil
}

// drain waits for every read still queued or in flight, without looking at
// the blocks: after an error, before the buffers are unmapped.
func (p *lookupPipe) drain() {
	for p.reads > 0 {
		var err error
		if p.comps, err = p.io.wait(p.comps[:0]); err != nil {
			return
		}
		p.reads -= len(p.comps)
	}
}

// ringIO is pipeIO on an io_uring: one ring, one O_DIRECT file, one mapped
// 512-byte-aligned block buffer per slot; a slot's user_data is its index.
type ringIO struct {
	ring *uring.Ring
	fd   int
	mem  []byte // slots × btree.BlockSize, from alignedBuf
	cqes []uring.CQE
}

func newRingIO(fd, slots int) (*ringIO, error) {
	r, err := uring.New(uint32(slots))
	if err != nil {
		return nil, err
	}
	mem, err := alignedBuf(slots * btree.BlockSize)
	if err != nil {
		r.Close()
		return nil, err
	}
	return &ringIO{ring: r, fd: fd, mem: mem, cqes: make([]uring.CQE, r.CQEntries())}, nil
}

func (r *ringIO) buf(slot int) []byte {
	return r.mem[slot*btree.BlockSize : (slot+1)*btree.BlockSize]
}

func (r *ringIO) read(slot int, off int64) error {
	return r.ring.PrepRead(r.fd, r.buf(slot), uint64(off), uint64(slot))
}

func (r *ringIO) wait(dst []pipeDone) ([]pipeDone, error) {
	if _, err := r.ring.Submit(1); err != nil {
		return dst, err
	}
	n := r.ring.Reap(r.cqes)
	for _, c := range r.cqes[:n] {
		dst = append(dst, pipeDone{slot: int(c.UserData), res: c.Res})
	}
	return dst, nil
}

// close closes the ring, then unmaps the buffers.
func (r *ringIO) close() {
	r.ring.Close()
	unix.Munmap(r.mem[:cap(r.mem)])
}

// runBTreeURing measures point lookups with Batch lookups in flight per
// thread, each thread on its own io_uring, chained from user space (a
// lookupPipe). One measured op is one finished lookup; its latency runs
// from its first read's submission to its last read's completion, and its
// answer is checked as in the pread mode. Each phase (warm-up, measured)
// starts exactly its share of lookups, so none crosses from one into the
// other and the measured time holds exactly the measured lookups.
func runBTreeURing(env *Env, j *btreeJob, p *proto.Point) error {
	w := j.W
	if w.Op != "" && w.Op != OpLookup {
		return fmt.Errorf("btree %s: op %q: only point lookups have a uring mode", w.Mode, w.Op)
	}
	if w.Batch < 1 {
		return fmt.Errorf("btree %s: batch %d: the uring modes need batch >= 1 (lookups in flight)", w.Mode, w.Batch)
	}
	prog, flags := 0, uint32(0)
	if uringChainMode(w.Mode) {
		var err error
		if flags, err = modeFlags(w.Mode); err != nil {
			return fmt.Errorf("btree: %w", err)
		}
		p, err := j.loadBTreeLookup(env)
		if err != nil {
			return fmt.Errorf("btree: %w", err)
		}
		prog = p.FD()
	}
	outs := make([]tally, j.Threads)
	ths := make([]*uringThread, j.Threads)
	win, errs := measureCounted(j.Count, j.Threads, w.Ops, w.Warmup, func(t int) (opFunc, func(), error) {
		th, err := newURingThread(j, prog, flags, &outs[t], w.Warmup/j.Threads, threadShare(w.Ops, j.Threads, t), j.drawer(t))
		if err != nil {
			return nil, nil, err
		}
		ths[t] = th
		return th.op, th.close, nil
	})
	var submits int
	for t, th := range ths {
		if th == nil {
			continue
		}
		submits += th.waits
		for _, l := range th.got {
			outs[t].lookup(l.D, l.R, l.DriverHops, l.KWhy, j, l.Key, l.Present)
		}
	}
	err := j.finish(p, outs, win, errs)
	p.URing = &proto.URing{Batch: w.Batch, Submits: int64(submits)}
	return err
}

// uringThread is one thread of a uring point: its ring, its pipeline of
// Batch lookups in flight, and the measured lookups kept (preallocated)
// for the checks after the clock.
type uringThread struct {
	pipe      lookupSource
	closeIO   func()
	o         *tally
	n         int
	got       []pipeLookup
	waits     int // io_uring_enter rounds of the measured lookups
	measuring bool
}

// newURingThread chains from user space (flags 0) or, with prog and
// chain_read flags, in the kernel through IORING_OP_CHAIN_READ.
func newURingThread(j *btreeJob, prog int, flags uint32, o *tally, warmup, n int, draw *keyDrawer) (*uringThread, error) {
	th := &uringThread{o: o, n: n, got: make([]pipeLookup, 0, n)}
	if flags != 0 {
		cp, err := newChainPipe(j.FD, prog, flags, j.W.Batch, j.Root, draw.next)
		if err != nil {
			return nil, err
		}
		th.pipe, th.closeIO = cp, cp.close
	} else {
		rio, err := newRingIO(j.FD, j.W.Batch)
		if err != nil {
			return nil, err
		}
		pipe := newLookupPipe(rio, j.W.Batch, j.SB.Root, j.Depth+1, draw.next)
		pipe.done = make([]pipeLookup, 0, j.W.Batch)
		pipe.comps = make([]pipeDone, 0, j.W.Batch)
		th.pipe, th.closeIO = pipe, rio.close
	}
	th.pipe.allow(warmup)
	o.T = newOpTimes(n)
	return th, nil
}

// op returns the next finished lookup: measured lookup i, or a warm-up one
// (i < 0). The measured phase allows exactly its n lookups once the
// warm-up's have all finished.
func (th *uringThread) op(i int) error {
	if i >= 0 && !th.measuring {
		th.measuring = true
		th.pipe.allow(th.n)
	}
	l, err := th.pipe.next()
	if err != nil {
		return err
	}
	if i >= 0 {
		th.o.record(i, l.End.Add(-l.D), l.End)
		th.got = append(th.got, l)
		th.waits = th.pipe.submits()
	}
	return nil
}

func (th *uringThread) close() {
	th.pipe.drain()
	th.closeIO()
}
