package workload

import (
	"errors"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bpfstor/bpfstor/harness/proto"
)

func TestMeasureThreads(t *testing.T) {
	tests := []struct {
		threads, ops, warmup int
		failAt               int // thread that fails setup, -1 for none
		wantRecorded         int64
		wantWarm             int64
	}{
		{1, 10, 4, -1, 10, 4},
		{3, 10, 6, -1, 10, 6}, // 4+3+3 measured: none lost to rounding
		{4, 2, 0, -1, 2, 0},
		{2, 10, 2, 1, 5, 1},
	}
	for _, tt := range tests {
		var rec, warm, cleaned atomic.Int64
		_, errs := measureThreads(tt.threads, tt.ops, tt.warmup, func(th int) (opFunc, func(), error) {
			if th == tt.failAt {
				return nil, nil, errors.New("setup failed")
			}
			return func(i int) error {
				if i >= 0 {
					rec.Add(1)
				} else {
					warm.Add(1)
				}
				return nil
			}, func() { cleaned.Add(1) }, nil
		})
		if rec.Load() != tt.wantRecorded || warm.Load() != tt.wantWarm {
			t.Errorf("%+v: recorded %d warm %d", tt, rec.Load(), warm.Load())
		}
		nerr := 0
		for _, e := range errs {
			if e != nil {
				nerr++
			}
		}
		if (tt.failAt >= 0) != (nerr == 1) || int(cleaned.Load()) != tt.threads-nerr {
			t.Errorf("%+v: %d errors, %d cleanups", tt, nerr, cleaned.Load())
		}
	}
}

// TestMeasureThreadsExcludesSetupAndWarmup: the measured time holds only
// the measured operations, however long setup and warm-up take, so IOPS
// counts measured operations over measured time.
func TestMeasureThreadsExcludesSetupAndWarmup(t *testing.T) {
	const slow = 200 * time.Millisecond
	for _, threads := range []int{1, 3} {
		elapsed, errs := measureThreads(threads, 6, 3*threads, func(th int) (opFunc, func(), error) {
			time.Sleep(slow) // a slow setup (e.g. a Zipfian sampler's zeta sum)
			return func(i int) error {
				if i < 0 {
					time.Sleep(slow / 4) // a slow warm-up
				}
				return nil
			}, func() {}, nil
		})
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if elapsed.Elapsed >= slow/4 {
			t.Errorf("threads %d: measured %v: setup or warm-up counted", threads, elapsed.Elapsed)
		}
	}
}

// TestAllThreadsRate: IOPS counts the operations that ended while every
// thread ran, over that window, not all operations over the slowest
// thread's end (which would count its lone tail as if all threads ran).
func TestAllThreadsRate(t *testing.T) {
	ms := func(v ...int64) opTimes {
		c := newOpTimes(len(v))
		for i, x := range v {
			c.End[i] = 100 + x*int64(time.Millisecond) // start at 100 ns
		}
		return c
	}
	tests := []struct {
		name     string
		times    []opTimes
		wantOps  int64
		wantSpan time.Duration
	}{
		{"one thread", []opTimes{ms(1, 2, 3, 4)}, 4, 4 * time.Millisecond},
		// Thread 1 ends at 2 ms: by then thread 0 had done 2 of its 4.
		{"one thread slower", []opTimes{ms(1, 2, 3, 4), ms(1, 2)}, 4, 2 * time.Millisecond},
		{"equal threads", []opTimes{ms(2, 4), ms(1, 4)}, 4, 4 * time.Millisecond},
		{"a thread that ran nothing", []opTimes{ms(1, 2), {}}, 2, 2 * time.Millisecond},
		{"nothing ran", []opTimes{{}, {}}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, span := allThreadsRate(100, tt.times)
			if ops != tt.wantOps || span != tt.wantSpan {
				t.Errorf("allThreadsRate = %d ops over %v, want %d over %v", ops, span, tt.wantOps, tt.wantSpan)
			}
		})
	}
	// Through mergeTallies: 4 ops in 2 ms is 2000/s; the old clock (6 ops
	// over the slowest thread's 4 ms) said 1500/s.
	outs := []tally{{T: ms(1, 2, 3, 4)}, {T: ms(1, 2)}}
	var p proto.Point
	mergeTallies(&p, outs, window{Start: 100, Elapsed: 4 * time.Millisecond})
	if p.IOPS != 2000 || p.IOPSWindowNs != int64(2*time.Millisecond) || p.ElapsedNs != int64(4*time.Millisecond) {
		t.Errorf("IOPS %v over %d ns (elapsed %d ns), want 2000 over 2 ms (elapsed 4 ms)", p.IOPS, p.IOPSWindowNs, p.ElapsedNs)
	}
}

// TestMeasureThreadsGCOff: the GC is off while the measured operations run
// (and only then), so that no collection stops the threads mid-point.
func TestMeasureThreadsGCOff(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	var warm, measured atomic.Int64
	measureThreads(2, 6, 2, func(int) (opFunc, func(), error) {
		return func(i int) error {
			gc := debug.SetGCPercent(-1) // reads the setting (and sets it off)
			if i >= 0 {
				if gc != -1 {
					measured.Add(1)
				}
				return nil
			}
			debug.SetGCPercent(gc)
			if gc == -1 {
				warm.Add(1)
			}
			return nil
		}, func() {}, nil
	})
	if measured.Load() != 0 {
		t.Errorf("GC on during %d measured operations", measured.Load())
	}
	if warm.Load() != 0 {
		t.Errorf("GC off during %d warm-up operations", warm.Load())
	}
	if gc := debug.SetGCPercent(100); gc != 100 {
		t.Errorf("GC percent after the point %d, want it restored to 100", gc)
	}
}

// TestMeasureThreadsExcludesCleanup: a slow cleanup (an io_uring torn
// down) stays out of the measured window.
func TestMeasureThreadsExcludesCleanup(t *testing.T) {
	const slow = 200 * time.Millisecond
	win, _ := measureThreads(2, 4, 0, func(int) (opFunc, func(), error) {
		return func(int) error { return nil }, func() { time.Sleep(slow) }, nil
	})
	if win.Elapsed >= slow {
		t.Errorf("measured %v: the cleanup counted", win.Elapsed)
	}
}
