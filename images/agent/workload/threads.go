package workload

import (
	"runtime"
	"sync"
	"time"
)

// opFunc is one operation of a workload; record says whether it counts
// (false during warm-up).
type opFunc func(record bool) error

// measureThreads runs ops measured operations, split as evenly as possible
// over threads goroutines, each locked to its OS thread. setup(t) prepares
// thread t and returns its operation and a cleanup (run when the thread
// ends). Each thread first runs its share of warmup unrecorded; the measured
// part starts for all threads at once, after every thread has finished its
// setup and warm-up. It returns the time from that start to the end of the
// last thread (setup and warm-up are not in it), and each thread's error
// (nil if none).
//
// Workloads issue their I/O with RawSyscall, which keeps the goroutine's P
// while it blocks in the kernel: with fewer Ps than threads, only GOMAXPROCS
// threads would have I/O in flight. So GOMAXPROCS is raised to threads for
// the run (the guest kernel schedules the extra OS threads) and restored.
func measureThreads(threads, ops, warmup int, setup func(t int) (opFunc, func(), error)) (time.Duration, []error) {
	if prev := runtime.GOMAXPROCS(0); threads > prev {
		runtime.GOMAXPROCS(threads)
		defer runtime.GOMAXPROCS(prev)
	}
	errs := make([]error, threads)
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
				if errs[t] = one(false); errs[t] != nil {
					return
				}
			}
			readied = true
			ready.Done()
			start.Wait()
			for i := 0; i < n; i++ {
				if errs[t] = one(true); errs[t] != nil {
					return
				}
			}
		}(t, n)
	}
	ready.Wait()
	t0 := time.Now()
	start.Done()
	wg.Wait()
	return time.Since(t0), errs
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
