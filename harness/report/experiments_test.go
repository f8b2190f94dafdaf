package report

import (
	"bytes"
	"encoding/csv"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/harness/internal/fixture"
	"github.com/bpfstor/bpfstor/harness/results"
)

func TestExperimentReports(t *testing.T) {
	tests := []struct {
		name  string
		r     *results.Result
		files []string
		md    []string
		not   []string
	}{
		{"uring", fixture.URingRun(),
			[]string{"btree-latency.png", "btree-iops.png", "btree-speedup.png", "btree-cdf.png"},
			[]string{
				"### B+-tree lookup (uring experiment)",
				"| 64 | uring |", "| none | driver |",
				"## io_uring: chains in flight (uring experiment)", "This sweep has no kernel io_uring mode",
				"Mode uring is user-space chaining over io_uring",
			},
			[]string{"| 0 | uring", "NaN", "Inf", "HotOS'21 IOPS ≤ 2.70x<br>"}},
		{"uring-kernel", fixture.URingKernelRun(),
			[]string{"btree-latency.png", "btree-iops.png", "btree-speedup.png", "btree-cdf.png"},
			[]string{
				"## io_uring: chains in flight (uring experiment)", "| 8 | uring-driver | 400000 [400000–400000] |",
				"| 2.00x [2.00–2.00] uring | HotOS'21 IOPS ≤ 2.70x<br>HotOS'21 IOPS 1.3–1.9x |",
				"| uring | uring-driver | any | iops_speedup | ≤ 2.70x |",
			},
			[]string{"NaN", "Inf", "no kernel io_uring mode", "not measurable yet"}},
		{"threads", fixture.ThreadsRun(),
			[]string{"btree-latency.png", "btree-iops.png", "btree-speedup.png", "btree-p99-vs-pread.png"},
			[]string{
				"### B+-tree lookup (threads experiment)",
				"| 8 | driver |", "XRP (OSDI'22) tail p99 −20–34 %", "XRP (OSDI'22) IOPS ≤ 2.50x",
			},
			[]string{"NaN"}},
		{"range", fixture.RangeRun(),
			[]string{"btree-latency.png", "btree-iops.png", "btree-speedup.png"},
			[]string{"### B+-tree range and sum queries (range experiment)", "| 63 | driver sum |", "| 8 | syscall range |",
				"XRP Fig. 8 (range query and aggregation): no number in shared/README.md"},
			[]string{"btree-p99-vs-pread.png", "NaN"}},
		{"kv", fixture.KVRun(),
			[]string{"btree-kv-cdf.png", "latency.png"},
			[]string{"## Key distributions (kv experiment)", "| driver | zipf | 3 |",
				"### B+-tree lookup (kv experiment)", "| zipf | driver |",
				"XRP (OSDI'22) IOPS ≤ 1.25x", "XRP (OSDI'22) tail p99 up to −40 %", "real KV store (BPF-KV)"},
			[]string{"NaN", "(cdf.png)"}}, // every single workload is in the kv CDF
		{"breakdown", fixture.BreakdownRun(),
			[]string{"breakdown.png", "latency.png"},
			[]string{"## Where a read's time goes (breakdown experiment)",
				"| pread bs=512 | mean |", "| XRP Table 1: 512 B random read, Optane | mean | 6.27 | 3.22 | 3.05 | 48.6 % |",
				"**Not measured yet:**", "needs the layer trace", "![where a 512 B read's time goes (breakdown experiment)](breakdown.png)",
				"at depth 10"},
			[]string{"NaN", "### Per layer"}},
		{"breakdown by layer", fixture.BreakdownLayersRun(true),
			[]string{"breakdown.png", "latency.png"},
			[]string{"## Where a read's time goes (breakdown experiment)",
				"| pread bs=512 trace_layers | mean |", "the section below splits this run's reads the same way",
				"### Per layer: pread bs=512 trace_layers, BPF kprobes in the guest",
				"6000 traced reads over 3 repetitions, 30 (0.5 %) discarded (missing nvme_irq: 24; out of order nvme_irq: 6)",
				"| syscall | `__x64_sys_pread64` → `blkdev_read_iter` | 4.0 [3.9–4.1] | 2.7 % | 5970 | 2.0–4.1 µs |",
				"| **sum of the segments: the traced read** | | **148.0** | 100 % | | |",
				"| **probe overhead** (traced − untraced mean) | | **26.0 [24.0–28.0]** | +21.7 % of the untraced read | | |",
				"| device | device + interrupt, completion: interrupt → bio done, completion: wake-up → syscall return | 108.0 | 73.0 % | 3224 | 51.4 % |",
				"| **software** (all but the device row) | | 40.0 | 27.0 % | 3046 | 48.6 % |",
				"The device beside the QEMU trace: in the guest, driver submit → interrupt (`nvme_queue_rqs` return → `nvme_irq`) is 80.0 µs",
				"![where a 512 B read's time goes, layer by layer (breakdown experiment)](breakdown.png)",
				"at depth 10"},
			[]string{"NaN", "**Not measured yet:**"}},
		{"layers without a trace", fixture.BreakdownLayersRun(false),
			[]string{"breakdown.png"},
			[]string{"### Per layer: pread bs=512 trace_layers, BPF kprobes in the guest", "| **probe overhead** (traced − untraced mean) |"},
			[]string{"NaN", "| pread bs=512 trace_layers | mean |", "The device beside the QEMU trace", "at depth 10"}},
		{"chain without pread", fixture.Read(t, "chain"), nil, nil, []string{"## Where a read's time goes", "## Key distributions"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := Write(dir, tt.r); err != nil {
				t.Fatal(err)
			}
			for _, f := range tt.files {
				fixture.PNGOK(t, filepath.Join(dir, f))
			}
			out := fixture.CheckFile(t, filepath.Join(dir, MarkdownFile), tt.md, tt.not)
			for _, l := range strings.Split(out, "\n") {
				// XRP's p99 statement is about several threads: not set beside one
				if strings.HasPrefix(l, "| 1 | driver |") && strings.Contains(l, "p99 −20–34") {
					t.Errorf("p99 anchor at one thread: %s", l)
				}
			}
		})
	}
}

// results.csv carries the btree workloads' new parameters at its end.
func TestCSVBTreeColumns(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, fixture.RangeRun()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	got := rows[len(rows)-1] // the last point: sum over 63 keys, driver
	for k, want := range map[string]string{"kind": "btree", "mode": "driver", "dist": "uniform", "op": "sum", "span": "63", "tree_depth": "3", "depth": ""} {
		if got[col[k]] != want {
			t.Errorf("%s = %q, want %q", k, got[col[k]], want)
		}
	}
}
