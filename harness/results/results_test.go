package results

import (
	"strings"
	"testing"
	"time"

	"github.com/bpfstor/bpfstor/harness/hist"
	"github.com/bpfstor/bpfstor/harness/proto"
)

func pt(status string) *proto.Point { return &proto.Point{ID: "p", Status: status} }

func TestFinish(t *testing.T) {
	tests := []struct {
		name     string
		points   []*proto.Point
		expected int
		reason   string
		want     string
	}{
		{"all ok", []*proto.Point{pt("ok"), pt("ok")}, 2, "", StatusOK},
		{"one failed", []*proto.Point{pt("ok"), pt("failed")}, 2, "", StatusPartial},
		{"missing", []*proto.Point{pt("ok")}, 2, "", StatusPartial},
		{"crash after points", []*proto.Point{pt("ok"), pt("ok")}, 2, "kernel crash", StatusPartial},
		{"nothing", nil, 2, "boot timeout", StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Result{Points: tt.points, Expected: tt.expected}
			r.Finish(tt.reason)
			if r.Status != tt.want {
				t.Errorf("status %s, want %s", r.Status, tt.want)
			}
			if r.Status != StatusOK && r.Reason == "" {
				t.Error("a non-ok result has no reason")
			}
		})
	}
}

func TestWriteRead(t *testing.T) {
	dir := t.TempDir()
	h := hist.New()
	h.Record(150 * time.Microsecond)
	s := h.Summarize()
	r := &Result{Schema: Schema, Name: "x", Expected: 1, Points: []*proto.Point{{ID: "a", Status: "ok", Latency: h, Summary: &s}}}
	r.Meta.Accel = "tcg"
	r.Finish("")
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Meta.Accel != "tcg" || got.Points[0].Latency.Count() != 1 || got.Status != StatusOK {
		t.Errorf("round trip: %+v", got)
	}
	if _, err := Read(t.TempDir()); err == nil || !strings.Contains(err.Error(), "run directory") {
		t.Errorf("Read(empty dir) err = %v", err)
	}
}

func TestNewRunDir(t *testing.T) {
	root := t.TempDir() + "/results"
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	a, err := NewRunDir(root, "baseline", now)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewRunDir(root, "baseline", now)
	if !strings.HasSuffix(a, "20261125-100000-baseline") || a == b {
		t.Errorf("dirs %s %s", a, b)
	}
}
