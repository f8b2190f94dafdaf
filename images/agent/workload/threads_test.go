package workload

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
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
			return func(record bool) error {
				if record {
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
			return func(record bool) error {
				if !record {
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
		if elapsed >= slow/4 {
			t.Errorf("threads %d: measured %v: setup or warm-up counted", threads, elapsed)
		}
	}
}
