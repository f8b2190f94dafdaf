package workload

import (
	"fmt"
	"time"

	"github.com/bpfstor/bpfstor/harness/hist"
	"github.com/bpfstor/bpfstor/harness/proto"
)

// tally is one thread's count of a point's measured operations: their
// times (written in the measured loop), and, filled after the clock stops,
// latency histogram, answers checked, and (B+-tree workloads) blocks read
// and lookups found.
type tally struct {
	T                opTimes
	Done             int // measured operations recorded in T (0..Done-1)
	H                *hist.Histogram
	Ops, OK, Wrong   int64
	Found, NotFound  int64
	Hops, DriverHops int64
	FirstWrong       string
}

// answer records one measured operation after the clock stopped: its
// latency, blocks read and what is wrong with its answer ("" if nothing).
// what names the operation in the point's error (e.g. "btree driver: key 42
// (present true)"); it is called only for the first wrong answer.
func (o *tally) answer(d time.Duration, hops, driverHops int64, why string, what func() string) {
	if checkDelay > 0 {
		time.Sleep(checkDelay)
	}
	if o.H == nil {
		o.H = hist.New()
	}
	o.H.Record(d)
	o.Ops++
	o.Hops += hops
	o.DriverHops += driverHops
	if why == "" {
		o.OK++
		return
	}
	o.Wrong++
	if o.FirstWrong == "" {
		o.FirstWrong = fmt.Sprintf("%s: %s", what(), why)
	}
}

// record records measured operation i, which ran from t0 to t1.
func (o *tally) record(i int, t0, t1 time.Time) {
	o.T.set(i, t0, t1)
	o.Done = i + 1
}

// checkDelay is added to every answer check: a test's way to make checking
// slow and see that it stays out of the throughput clock.
var checkDelay time.Duration

// mergeTallies fills p's counts, first wrong answer, latency histogram,
// summary and IOPS from the threads' tallies, and returns their sum
// (without a histogram). IOPS is over the window in which all threads run
// (allThreadsRate); p.ElapsedNs is the whole measured window.
func mergeTallies(p *proto.Point, outs []tally, win window) tally {
	h := hist.New()
	var sum tally
	for _, o := range outs {
		if o.H != nil {
			h.Merge(o.H)
		}
		sum.Ops += o.Ops
		sum.OK += o.OK
		sum.Wrong += o.Wrong
		sum.Found += o.Found
		sum.NotFound += o.NotFound
		sum.Hops += o.Hops
		sum.DriverHops += o.DriverHops
		if sum.FirstWrong == "" {
			sum.FirstWrong = o.FirstWrong
		}
	}
	p.Ops += sum.Ops
	p.Checked += sum.OK + sum.Wrong
	p.Wrong += sum.Wrong
	if p.Error == "" {
		p.Error = sum.FirstWrong
	}
	p.ElapsedNs = int64(win.Elapsed)
	times := make([]opTimes, len(outs))
	for i, o := range outs {
		times[i] = o.T
	}
	if n, span := allThreadsRate(win.Start, times); span > 0 {
		p.IOPS = float64(n) / span.Seconds()
		p.IOPSWindowNs = int64(span)
	}
	p.Latency = h
	s := h.Summarize()
	p.Summary = &s
	return sum
}

// firstError is the first non-nil error of the threads', nil if none.
func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
