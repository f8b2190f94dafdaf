package workload

import (
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/bpfstor/bpfstor/harness/proto"
)

// opFunc is one operation of a thread: i >= 0 is the thread's i-th measured
// operation, i < 0 a warm-up operation (not recorded). A measured operation
// only does its I/O and writes what its answer check needs into slot i of
// storage the thread allocated in setup: it allocates nothing and checks
// nothing, so that the throughput clock, which runs over the measured loop,
// holds the I/O and nothing else (the checks run after the clock stops).
type opFunc func(i int) error

// clockEpoch is the origin of the operation end times (opTimes.End).
var clockEpoch = time.Now()

// sinceEpoch is t in ns since clockEpoch (monotonic).
func sinceEpoch(t time.Time) int64 { return int64(t.Sub(clockEpoch)) }

// opTimes is one thread's measured operations' latencies and end times (ns
// since clockEpoch), preallocated and written by index in the measured loop.
type opTimes struct {
	Lat, End []int64
}

func newOpTimes(n int) opTimes {
	return opTimes{Lat: make([]int64, n), End: make([]int64, n)}
}

// set records operation i, which ran from t0 to t1.
func (c opTimes) set(i int, t0, t1 time.Time) {
	c.Lat[i] = int64(t1.Sub(t0))
	c.End[i] = sinceEpoch(t1)
}

// window is the measured part of a point: when it started (ns since
// clockEpoch) and how long it lasted, from the start to the end of the
// last thread.
type window struct {
	Start   int64
	Elapsed time.Duration
	// Counters is what a windowCounter counted over the window (nil
	// without one, or with CountErr when reading it failed).
	Counters *proto.Counters
	CountErr error
}

// measureThreads runs ops measured operations, split as evenly as possible
// over threads goroutines, each locked to its OS thread. setup(t) prepares
// thread t and returns its operation and a cleanup (run when the thread
// ends). Each thread first runs its share of warmup unrecorded; the measured
// part starts for all threads at once, after every thread has finished its
// setup and warm-up. It returns the measured window (from that start to the
// end of the last thread's operations: setup, warm-up and cleanup are not
// in it), and each thread's error (nil if none).
//
// The Go GC is off during the measured part (a collection first, so that
// none is due): a stop-the-world waits for every P, and a thread blocked in
// a RawSyscall holds its P, so a collection would stall every other thread
// until the slowest read returns. The measured operations allocate nothing,
// so the heap does not grow meanwhile.
//
// Workloads issue their I/O with RawSyscall, which keeps the goroutine's P
// while it blocks in the kernel: with fewer Ps than threads, only GOMAXPROCS
// threads would have I/O in flight. So GOMAXPROCS is raised to threads for
// the run (the guest kernel schedules the extra OS threads) and restored.
func measureThreads(threads, ops, warmup int, setup func(t int) (opFunc, func(), error)) (window, []error) {
	return measureCounted(nil, threads, ops, warmup, setup)
}

// measureCounted is measureThreads with c (if not nil) read right before
// the measured operations start and right after the last one ends: the
// window's device commands and CPU time (window.Counters).
func measureCounted(c *windowCounter, threads, ops, warmup int, setup func(t int) (opFunc, func(), error)) (window, []error) {
	if prev := runtime.GOMAXPROCS(0); threads > prev {
		runtime.GOMAXPROCS(threads)
		defer runtime.GOMAXPROCS(prev)
	}
	errs := make([]error, threads)
	ends := make([]time.Time, threads) // each thread's last operation's end, before its cleanup
	var wg, ready, start sync.WaitGroup
	start.Add(1)
	ready.Add(threads)
	for t := range threads {
		n := threadShare(ops, threads, t)
		wg.Add(1)
		go func(t, n int) {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			readied := false
			defer func() {
				if !readied {
					ready.Done()
				}
			}()
			one, cleanup, err := setup(t)
			if err != nil {
				errs[t] = err
				return
			}
			defer cleanup()
			for i := 0; i < warmup/threads; i++ {
				if errs[t] = one(-1 - i); errs[t] != nil {
					return
				}
			}
			readied = true
			ready.Done()
			start.Wait()
			defer func() { ends[t] = time.Now() }() // runs before cleanup
			for i := 0; i < n; i++ {
				if errs[t] = one(i); errs[t] != nil {
					return
				}
			}
		}(t, n)
	}
	ready.Wait()
	runtime.GC()
	gc := debug.SetGCPercent(-1)
	var before, after counterSnap
	var countErr error
	if c != nil {
		before, countErr = c.snap()
	}
	t0 := time.Now()
	start.Done()
	wg.Wait()
	if c != nil && countErr == nil {
		after, countErr = c.snap()
	}
	debug.SetGCPercent(gc)
	last := t0
	for _, e := range ends {
		if e.After(last) {
			last = e
		}
	}
	win := window{Start: sinceEpoch(t0), Elapsed: last.Sub(t0), CountErr: countErr}
	if c != nil && countErr == nil {
		win.Counters = after.since(before, win.Elapsed)
	}
	return win, errs
}

// checkedThread is one thread of a point whose answers are checked after
// the clock stops: op is its measured operation, check checks what the
// operations recorded, close frees their slots.
type checkedThread interface {
	op(i int) error
	check()
	close()
}

// measureChecked runs a point's threads (measureThreads) with the threads
// mk makes, thread t filling outs[t], then checks every thread's answers
// and frees its slots, the clock stopped.
func measureChecked[T checkedThread](c *windowCounter, threads, ops, warmup int, outs []tally, mk func(t int, o *tally, warmup, n int) (T, error)) (window, []error) {
	ths := make([]T, threads)
	made := make([]bool, threads)
	win, errs := measureCounted(c, threads, ops, warmup, func(t int) (opFunc, func(), error) {
		th, err := mk(t, &outs[t], warmup/threads, threadShare(ops, threads, t))
		if err != nil {
			return nil, nil, err
		}
		ths[t], made[t] = th, true
		return th.op, func() {}, nil
	})
	for t, th := range ths {
		if made[t] {
			th.check()
			th.close()
		}
	}
	return win, errs
}

// threadShare is the number of the ops that thread t of threads runs: an
// even split, the remainder to the first threads.
func threadShare(ops, threads, t int) int {
	n := ops / threads
	if t < ops%threads {
		n++
	}
	return n
}

// allThreadsRate is the throughput of a point's threads over the window in
// which all of them run: from the start to the end of the thread that
// finishes first, counting every operation (of any thread) that ended by
// then. Ops over the time to the slowest thread's end would count the tail
// in which fewer threads run (down to one) as if all ran. Threads that ran
// nothing (more threads than ops) are left out. It returns the operations
// counted and the window; zero when nothing ran.
func allThreadsRate(start int64, times []opTimes) (ops int64, span time.Duration) {
	first := int64(-1)
	for _, c := range times {
		if len(c.End) == 0 {
			continue
		}
		if last := slices.Max(c.End); first < 0 || last < first {
			first = last
		}
	}
	if first <= start {
		return 0, 0
	}
	for _, c := range times {
		for _, e := range c.End {
			if e <= first {
				ops++
			}
		}
	}
	return ops, time.Duration(first - start)
}
