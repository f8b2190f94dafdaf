// Package hist records latencies into an HDR histogram and serialises the
// full distribution (every non-empty bucket), so that any percentile, mean or
// CDF can be recomputed later from a result file.
package hist

import (
	"encoding/json"
	"fmt"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Geometry of every bpfstor histogram: 1 ns .. 60 s, 3 significant digits
// (values are kept to within 0.1 %).
const (
	lowest  = 1
	highest = int64(60 * time.Second)
	sigfigs = 3
)

// Histogram is a latency histogram in nanoseconds.
type Histogram struct {
	h *hdr.Histogram
}

// New returns an empty histogram.
func New() *Histogram {
	return &Histogram{h: hdr.New(lowest, highest, sigfigs)}
}

// Record adds one sample. Samples outside the geometry are clamped to it, so a
// pathological outlier is still counted rather than silently dropped.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < lowest {
		v = lowest
	}
	if v > highest {
		v = highest
	}
	_ = h.h.RecordValue(v) // cannot fail after clamping
}

// Merge adds all samples of o to h.
func (h *Histogram) Merge(o *Histogram) {
	h.h.Merge(o.h)
}

// Count is the number of samples.
func (h *Histogram) Count() int64 { return h.h.TotalCount() }

// Quantile returns the value at quantile q in [0,1], in nanoseconds.
func (h *Histogram) Quantile(q float64) time.Duration {
	return time.Duration(h.h.ValueAtQuantile(q * 100))
}

// Mean is the mean sample.
func (h *Histogram) Mean() time.Duration { return time.Duration(h.h.Mean()) }

// Max is the largest sample (to within the histogram's resolution).
func (h *Histogram) Max() time.Duration { return time.Duration(h.h.Max()) }

// Min is the smallest sample (to within the histogram's resolution).
func (h *Histogram) Min() time.Duration { return time.Duration(h.h.Min()) }

// Bucket is one non-empty histogram bucket: Count samples in [From, To] ns.
type Bucket struct {
	From  int64 `json:"from"`
	To    int64 `json:"to"`
	Count int64 `json:"count"`
}

// Buckets returns the non-empty buckets in increasing order.
func (h *Histogram) Buckets() []Bucket {
	var out []Bucket
	for _, b := range h.h.Distribution() {
		if b.Count > 0 {
			out = append(out, Bucket{From: b.From, To: b.To, Count: b.Count})
		}
	}
	return out
}

// FromBuckets rebuilds a histogram from its buckets.
func FromBuckets(bs []Bucket) (*Histogram, error) {
	h := New()
	for _, b := range bs {
		if b.Count < 0 || b.From > b.To || b.To > highest {
			return nil, fmt.Errorf("hist: bad bucket %+v", b)
		}
		if err := h.h.RecordValues(b.From, b.Count); err != nil {
			return nil, fmt.Errorf("hist: bucket %+v: %w", b, err)
		}
	}
	return h, nil
}

// wire is the JSON form: unit, geometry and buckets.
type wire struct {
	Unit    string   `json:"unit"`
	SigFigs int      `json:"significant_figures"`
	Buckets []Bucket `json:"buckets"`
}

// MarshalJSON writes the non-empty buckets.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	return json.Marshal(wire{Unit: "ns", SigFigs: sigfigs, Buckets: h.Buckets()})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w.Unit != "ns" {
		return fmt.Errorf("hist: unit %q, want ns", w.Unit)
	}
	n, err := FromBuckets(w.Buckets)
	if err != nil {
		return err
	}
	*h = *n
	return nil
}

// Summary holds the usual statistics of a histogram, in nanoseconds.
type Summary struct {
	Count  int64   `json:"count"`
	MinNs  int64   `json:"min_ns"`
	MeanNs float64 `json:"mean_ns"`
	P50Ns  int64   `json:"p50_ns"`
	P90Ns  int64   `json:"p90_ns"`
	P99Ns  int64   `json:"p99_ns"`
	P999Ns int64   `json:"p999_ns"`
	MaxNs  int64   `json:"max_ns"`
}

// Summarize computes the summary.
func (h *Histogram) Summarize() Summary {
	return Summary{
		Count:  h.Count(),
		MinNs:  int64(h.Min()),
		MeanNs: h.h.Mean(),
		P50Ns:  int64(h.Quantile(0.50)),
		P90Ns:  int64(h.Quantile(0.90)),
		P99Ns:  int64(h.Quantile(0.99)),
		P999Ns: int64(h.Quantile(0.999)),
		MaxNs:  int64(h.Max()),
	}
}
