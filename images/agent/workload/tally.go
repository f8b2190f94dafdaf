package workload

import (
	"fmt"
	"time"

	"github.com/bpfstor/bpfstor/harness/hist"
	"github.com/bpfstor/bpfstor/harness/proto"
)

// tally is one thread's count of a point's measured operations: latency,
// answers checked, and (B+-tree workloads) blocks read and lookups found.
type tally struct {
	H                *hist.Histogram
	Ops, OK, Wrong   int64
	Found, NotFound  int64
	Hops, DriverHops int64
	FirstWrong       string
}

// answer records one measured operation: its latency, blocks read and
// what is wrong with its answer ("" if nothing). what names the operation
// in the point's error (e.g. "btree driver: key 42 (present true)"); it is
// called only for the first wrong answer, so that a right one costs no
// formatting inside the measured loop.
func (o *tally) answer(d time.Duration, hops, driverHops int64, why string, what func() string) {
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

// mergeTallies fills p's counts, first wrong answer, latency histogram,
// summary and IOPS (ops over elapsed) from the threads' tallies, and
// returns their sum (without a histogram).
func mergeTallies(p *proto.Point, outs []tally, elapsed time.Duration) tally {
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
	p.ElapsedNs = int64(elapsed)
	if elapsed > 0 {
		p.IOPS = float64(p.Ops) / elapsed.Seconds()
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
