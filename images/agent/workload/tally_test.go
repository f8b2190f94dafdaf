package workload

import (
	"errors"
	"testing"
	"time"

	"github.com/bpfstor/bpfstor/harness/proto"
)

func TestMergeTallies(t *testing.T) {
	tests := []struct {
		name      string
		answers   [][]string // per thread: why of each answer ("" = right)
		elapsed   time.Duration
		wantOps   int64
		wantWrong int64
		wantErr   string
		wantIOPS  float64
	}{
		{"all right", [][]string{{"", ""}, {""}}, time.Second, 3, 0, "", 3},
		{"first wrong kept", [][]string{{"", "bad a"}, {"bad b"}}, 2 * time.Second, 3, 2, "op: bad a", 1.5},
		{"a thread with nothing", [][]string{{}, {"bad c"}}, time.Second, 1, 1, "op: bad c", 1},
		{"no time", [][]string{{""}}, 0, 1, 0, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outs := make([]tally, len(tt.answers))
			for i, as := range tt.answers {
				// Every thread ends at tt.elapsed: IOPS is ops over it.
				outs[i].T = newOpTimes(len(as))
				for j := range as {
					outs[i].T.End[j] = int64(tt.elapsed) * int64(j+1) / int64(len(as))
				}
				for _, why := range as {
					outs[i].answer(time.Millisecond, 2, 1, why, func() string { return "op" })
				}
			}
			var p proto.Point
			sum := mergeTallies(&p, outs, window{Elapsed: tt.elapsed})
			if p.Ops != tt.wantOps || p.Checked != tt.wantOps || p.Wrong != tt.wantWrong || p.Error != tt.wantErr || p.IOPS != tt.wantIOPS {
				t.Errorf("point ops %d checked %d wrong %d error %q iops %v", p.Ops, p.Checked, p.Wrong, p.Error, p.IOPS)
			}
			if sum.Hops != 2*tt.wantOps || sum.DriverHops != tt.wantOps || p.Summary == nil || p.Summary.Count != tt.wantOps {
				t.Errorf("sum %+v summary %+v", sum, p.Summary)
			}
		})
	}
	if err := firstError([]error{nil, errors.New("b"), errors.New("c")}); err == nil || err.Error() != "b" {
		t.Errorf("firstError = %v", err)
	}
	if firstError([]error{nil, nil}) != nil {
		t.Error("firstError of no errors")
	}
}
