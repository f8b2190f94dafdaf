package workload

import (
	"testing"

	"github.com/bpfstor/bpfstor/bpf/storfn"
	"github.com/bpfstor/bpfstor/harness/proto"
)

func TestTraceHopsFor(t *testing.T) {
	tests := []struct {
		name  string
		w     proto.Workload
		flags uint32
		want  bool
	}{
		{"driver chain traced", proto.Workload{Depth: 10, TraceLayers: true}, storfn.FlagDriver, true},
		{"polled driver chain traced", proto.Workload{Depth: 2, TraceLayers: true}, storfn.FlagDriver | storfn.FlagPoll, true},
		{"not asked", proto.Workload{Depth: 10}, storfn.FlagDriver, false},
		{"syscall dispatch: no driver hop", proto.Workload{Depth: 10, TraceLayers: true}, storfn.FlagSyscall, false},
		{"one block: no resubmission", proto.Workload{Depth: 1, TraceLayers: true}, storfn.FlagDriver, false},
	}
	for _, tc := range tests {
		if got := traceHopsFor(tc.w, tc.flags); got != tc.want {
			t.Errorf("%s: traceHopsFor = %v, want %v", tc.name, got, tc.want)
		}
	}
}
