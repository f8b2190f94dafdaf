package workload

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bpfstor/bpfstor/harness/proto"
)

func TestCPUBusy(t *testing.T) {
	tests := []struct {
		name, stat string
		want       time.Duration
		err        bool
	}{
		// user nice system idle iowait irq softirq steal guest guest_nice
		{"busy fields only", "cpu  100 5 40 9000 70 3 2 11 0 0\ncpu0 50 2 20 4500 35 1 1 5 0 0\n", 150 * 10 * time.Millisecond, false},
		{"idle machine", "cpu  0 0 0 123456 9 0 0 0 0 0\n", 0, false},
		{"not the cpu line", "intr 1 2 3\n", 0, true},
		{"short line", "cpu 1 2 3\n", 0, true},
		{"garbage field", "cpu  1 x 3 4 5 6 7 8 0 0\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cpuBusy(tt.stat)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("cpuBusy = %v, %v; want %v, error %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestDiskReads(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
		reads, merged int64
		err           bool
	}{
		{"stat.rst fields", "   12345        7   98760      420        0        0        0        0        0      400      420        0        0        0        0        0        0\n", 12345, 7, false},
		{"empty", "", 0, 0, true},
		{"one field", "12\n", 0, 0, true},
		{"not a number", "x 1 2\n", 0, 0, true},
		{"merged not a number", "1 x 2\n", 0, 0, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "stat"+string(rune('a'+i)))
			os.WriteFile(p, []byte(tt.content), 0o644)
			reads, merged, err := diskReads(p)
			if (err != nil) != tt.err || reads != tt.reads || merged != tt.merged {
				t.Errorf("diskReads = %d, %d, %v; want %d, %d, error %v", reads, merged, err, tt.reads, tt.merged, tt.err)
			}
		})
	}
	if _, _, err := diskReads(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing stat file gave no error")
	}
}

func TestCounterSince(t *testing.T) {
	a := counterSnap{reads: 100, merged: 3, resubmits: 7, busy: time.Second, cpus: 2}
	b := counterSnap{reads: 160, merged: 5, resubmits: 187, busy: 2500 * time.Millisecond, cpus: 2}
	got := b.since(a, time.Second)
	want := proto.Counters{Commands: 240, BlockReads: 60, BlockMerged: 2, DriverResubmits: 180, BusyNs: 1.5e9, CPUs: 2, WindowNs: 1e9}
	if *got != want {
		t.Fatalf("since = %+v, want %+v", *got, want)
	}
	if r := got.CommandsPerSec(); r != 240 {
		t.Errorf("CommandsPerSec = %g, want 240", r)
	}
	if s := got.BusyShare(); s != 0.75 {
		t.Errorf("BusyShare = %g, want 0.75", s)
	}
	var none *proto.Counters
	if none.CommandsPerSec() != 0 || none.BusyShare() != 0 {
		t.Error("nil counters give a rate")
	}
}
