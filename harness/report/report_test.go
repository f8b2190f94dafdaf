package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/bpfstor/bpfstor/harness/hist"
	"github.com/bpfstor/bpfstor/harness/internal/fixture"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
)

func point(kind string, rep int, p50 time.Duration) *results.Point {
	h := hist.New()
	for i := 0; i < 100; i++ {
		h.Record(p50)
	}
	s := h.Summarize()
	return &results.Point{ID: kind, Rep: rep, Status: "ok", Workload: proto.Workload{Kind: kind, BlockSize: 512}, Summary: &s, Latency: h, IOPS: 1e9 / float64(p50)}
}

func TestText(t *testing.T) {
	r := &results.Result{Name: "baseline", Status: "partial", Reason: "kernel crash",
		Points: []*results.Point{
			point("pread", 0, 100*time.Microsecond), point("fio", 0, 110*time.Microsecond),
			point("pread", 1, 120*time.Microsecond), point("fio", 1, 90*time.Microsecond),
			{ID: "pread/rep2", Status: "failed", Error: "clocksource changed"},
		}}
	r.Meta.Accel = "tcg"
	var b bytes.Buffer
	Text(&b, r)
	out := b.String()
	for _, want := range []string{
		"status partial (kernel crash)",
		"not hardware numbers",
		"pread/rep2", "clocksource changed",
		"pread bs=512  2     110.0 [100.0–120.1]",
		"Fidelity: bpfstor pread p50 110.0µs vs fio p50 100.0µs: +10.0%",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestLoadWarning(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name string
		m    results.Meta
		want string
	}{
		{"quiet host, busy VM (load from the VM itself)", results.Meta{HostCPUs: 2, HostLoadStart: [3]float64{1.4}, HostOtherCPUs: f(0.05)}, ""},
		{"other work", results.Meta{HostCPUs: 2, HostOtherCPUs: f(0.8)}, "other processes kept 0.80 of the host's 2 CPUs busy"},
		{"older result: load average", results.Meta{HostCPUs: 2, HostLoadEnd: [3]float64{1.5}}, "the host was loaded (load 0.00/1.50 on 2 CPUs)"},
		{"older result: idle", results.Meta{HostCPUs: 2, HostLoadStart: [3]float64{0.2}}, ""},
	}
	for _, tt := range tests {
		got := loadWarning(tt.m)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestStealWarning(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	pt := func(id string, host *float64) *results.Point {
		p := &results.Point{ID: id}
		if host != nil {
			p.Steal = &proto.Steal{Host: host}
		}
		return p
	}
	tests := []struct {
		name   string
		points []*results.Point
		want   string
	}{
		{"no steal measured", []*results.Point{pt("a", nil)}, ""},
		{"little steal", []*results.Point{pt("a", f(0.01)), pt("b", f(0.049))}, ""},
		{"one point under heavy steal", []*results.Point{pt("a", f(0.01)), pt("b", f(0.097))}, "b measured while the hypervisor stole more than 5 % of the host's CPU time (up to 9.7 %)"},
		{"many", []*results.Point{pt("a", f(0.1)), pt("b", f(0.2)), pt("c", f(0.1)), pt("d", f(0.1)), pt("e", f(0.1)), pt("f", f(0.1))}, "a, b, c, d, and 2 more measured"},
	}
	for _, tt := range tests {
		got := stealWarning(tt.points)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := stealRange([]*results.Point{pt("a", f(0.02)), pt("b", nil), pt("c", f(0.1))}); got != "2.0–10.0 %" {
		t.Errorf("stealRange = %q", got)
	}
}

// The text report has the breakdown of a pread run with a device trace.
func TestTextBreakdown(t *testing.T) {
	var text bytes.Buffer
	Text(&text, fixture.BreakdownRun())
	if !strings.Contains(text.String(), "Breakdown: pread bs=512 mean") {
		t.Errorf("text report lacks the breakdown:\n%s", text.String())
	}
}
