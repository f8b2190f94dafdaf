package hist

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func TestQuantiles(t *testing.T) {
	h := New()
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 500 * time.Microsecond},
		{0.9, 900 * time.Microsecond},
		{0.99, 990 * time.Microsecond},
		{1.0, 1000 * time.Microsecond},
	}
	for _, tt := range tests {
		got := h.Quantile(tt.q)
		if rel := math.Abs(float64(got-tt.want)) / float64(tt.want); rel > 0.001 {
			t.Errorf("Quantile(%v) = %v, want %v (±0.1%%)", tt.q, got, tt.want)
		}
	}
	if h.Count() != 1000 {
		t.Errorf("Count = %d, want 1000", h.Count())
	}
}

func TestClamp(t *testing.T) {
	h := New()
	h.Record(0)
	h.Record(-5)
	h.Record(2 * time.Minute)
	if h.Count() != 3 {
		t.Fatalf("Count = %d, want 3 (out-of-range samples must be kept)", h.Count())
	}
	if h.Max() < 59*time.Second {
		t.Errorf("Max = %v, want clamped to ~60s", h.Max())
	}
}

func TestJSONRoundTrip(t *testing.T) {
	h := New()
	for i := 0; i < 5000; i++ {
		h.Record(time.Duration(100_000 + (i*7919)%300_000))
	}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var g Histogram
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if h.Summarize() != g.Summarize() {
		t.Errorf("summary changed across JSON:\n%+v\n%+v", h.Summarize(), g.Summarize())
	}
}

func TestUnmarshalErrors(t *testing.T) {
	tests := []struct{ name, in string }{
		{"unit", `{"unit":"us","buckets":[]}`},
		{"negative", `{"unit":"ns","buckets":[{"from":5,"to":5,"count":-1}]}`},
		{"inverted", `{"unit":"ns","buckets":[{"from":9,"to":5,"count":1}]}`},
		{"syntax", `{"unit":`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			if err := json.Unmarshal([]byte(tt.in), &h); err == nil {
				t.Errorf("Unmarshal(%s) succeeded, want error", tt.in)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	a, b := New(), New()
	a.Record(time.Microsecond)
	b.Record(time.Millisecond)
	a.Merge(b)
	if a.Count() != 2 || a.Max() < 999*time.Microsecond {
		t.Errorf("merged: count %d max %v", a.Count(), a.Max())
	}
}
