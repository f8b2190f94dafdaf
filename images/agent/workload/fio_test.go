package workload

import (
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/harness/proto"
)

const fioSample = `fio: some warning
{
  "fio version" : "fio-3.33",
  "jobs" : [
    {
      "jobname" : "bpfstor",
      "error" : 0,
      "read" : {
        "total_ios" : 2000,
        "iops" : 5000.5,
        "runtime" : 400,
        "lat_ns" : {
          "min" : 90000, "max" : 900000, "mean" : 150000.5,
          "percentile" : {"50.000000" : 140288, "90.000000" : 200704, "99.000000" : 350208, "99.900000" : 700416}
        }
      }
    }
  ]
}`

func TestParseFio(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
		wantP50 int64
	}{
		{"ok", fioSample, "", 140288},
		{"garbage", "not json", "parse output", 0},
		{"no jobs", `{"jobs":[]}`, "0 job results", 0},
		{"job error", `{"jobs":[{"error":5}]}`, "job error 5", 0},
		{"missing pct", strings.Replace(fioSample, `"99.900000" : 700416`, `"99.950000" : 1`, 1), "99.900000", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p proto.Point
			err := parseFio([]byte(tt.in), &p)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Summary.P50Ns != tt.wantP50 || p.Ops != 2000 || p.IOPS != 5000.5 {
				t.Errorf("got p50 %d ops %d iops %v", p.Summary.P50Ns, p.Ops, p.IOPS)
			}
		})
	}
}

func TestFioArgs(t *testing.T) {
	args := strings.Join(fioArgs("/dev/nvme0n1", proto.Workload{BlockSize: 512, Ops: 1000, Threads: 2}, 9), " ")
	for _, want := range []string{"--bs=512", "--direct=1", "--ioengine=psync", "--number_ios=500", "--numjobs=2", "--rw=randread"} {
		if !strings.Contains(args, want) {
			t.Errorf("fio args %q lack %q", args, want)
		}
	}
}
