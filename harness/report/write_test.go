package report

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bpfstor/bpfstor/harness/internal/fixture"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
)

func TestCSVSchema(t *testing.T) {
	// The column order is the schema: this list changes only by appending.
	want := []string{"run", "point_id", "workload", "kind", "block_size", "depth", "mode", "batch", "threads", "rep",
		"status", "ops", "checked", "wrong", "elapsed_ns", "iops",
		"count", "min_ns", "mean_ns", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns",
		"clocksource_before", "clocksource_after", "accel", "kernel_release", "patch_series_hash", "config_hash", "error",
		"dist", "op", "span", "tree_depth"}
	if strings.Join(CSVColumns, ",") != strings.Join(want, ",") {
		t.Fatalf("CSV columns changed:\n got %v\nwant %v", CSVColumns, want)
	}
	col := map[string]int{}
	for i, c := range want {
		col[c] = i
	}
	tests := []struct {
		fixture string
		pointID string
		want    map[string]string
	}{
		{"chain", "chain/d3/driver/rep1", map[string]string{"run": "depth", "kind": "chain", "depth": "3", "mode": "driver",
			"rep": "1", "status": "ok", "batch": "", "threads": "", "block_size": "512", "accel": "kvm", "workload": "chain bs=512 depth=3 mode=driver"}},
		{"chain", "fio/rep0", map[string]string{"kind": "fio", "depth": "", "mode": "", "status": "ok", "count": "400"}},
		{"partial", "pread/rep2", map[string]string{"status": "failed", "p50_ns": "", "mean_ns": "", "iops": "", "accel": "tcg",
			"error": "pread /dev/nvme0n1: input/output error (guest dmesg: nvme0: I/O 12 QID 1 timeout)"}},
		{"partial", "pread/rep1", map[string]string{"clocksource_before": "tsc", "clocksource_after": "hpet", "kernel_release": "6.12.57-bpfstor"}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture+"/"+tt.pointID, func(t *testing.T) {
			r := fixture.Read(t, tt.fixture)
			var b bytes.Buffer
			if err := WriteCSV(&b, r); err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(&b).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(r.Points)+1 {
				t.Fatalf("%d rows for %d points (+ header)", len(rows), len(r.Points))
			}
			var row []string
			for _, rw := range rows[1:] {
				if rw[col["point_id"]] == tt.pointID {
					row = rw
				}
			}
			if row == nil {
				t.Fatalf("no row for %s", tt.pointID)
			}
			for k, v := range tt.want {
				if row[col[k]] != v {
					t.Errorf("%s = %q, want %q", k, row[col[k]], v)
				}
			}
			if tt.want["status"] == "ok" && row[col["p50_ns"]] == "" {
				t.Error("ok point without p50")
			}
		})
	}
}

func TestWrite(t *testing.T) {
	tests := []struct {
		fixture string
		files   []string
		md      []string
		not     []string
	}{
		{
			fixture: "chain",
			files:   []string{"results.csv", "report.md", "latency.png", "cdf.png", "chain-latency.png", "chain-iops.png", "chain-speedup.png", "chain-cdf.png"},
			md: []string{
				"Status **ok**", "KVM with an emulated QEMU NVMe device",
				"| guest clocksource | tsc at boot; unchanged during every point |",
				"| patch series | p47c4e5e71e5 (2 patches) |",
				"| chain bs=512 depth=3 mode=driver | 3 |",
				"### dependent-read chain (depth experiment)",
				"| 1 | driver |", "| 3 | syscall |",
				"XRP (OSDI'22) latency 1.25x (13.4→10.7 µs)",
				"HotOS'21 IOPS ≤ 1.25x",
				"| depth | driver | 6 | latency_ratio | 1.67x (48.8→29.3 µs) |",
				"None: every expected point was measured and is ok.",
				"bpfstor pread bs=512 p50", "vs fio p50",
				"![dependent-read chain: speedup vs depth beside the papers](chain-speedup.png)",
			},
			not: []string{"not hardware numbers", "| 1 | pread |", "NaN"},
		},
		{
			fixture: "partial",
			files:   []string{"results.csv", "report.md", "latency.png", "cdf.png"},
			md: []string{
				"Status **partial** (guest kernel crashed (see console.log))",
				"**TCG (software CPU emulation): these latencies are not hardware numbers.**",
				"no /dev/kvm: TCG software emulation",
				"**changed during** pread/rep1: tsc→hpet",
				"1 point(s) failed",
				"| pread/rep2 | pread bs=4096 | 2 | failed | pread /dev/nvme0n1: input/output error",
				"2 of 8 expected point(s) were never measured (run stopped: guest kernel crashed (see console.log))",
				"ktest/rep0 (ktest): tests 1 passed, 1 failed, 1 skipped; FAIL chain_isolation: offset escaped the file",
				"| pread bs=4096 | 2 (+1 failed) |",
				"Warning: pread/rep1 ran while the clocksource changed (tsc→hpet)",
				"This run has no workload with a paper anchor",
				"bpfstor pread bs=4096 p50",
			},
			not: []string{"chain-speedup.png", "NaN"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			r := fixture.Read(t, tt.fixture)
			dir := t.TempDir()
			start := time.Now()
			if err := Write(dir, r); err != nil {
				t.Fatal(err)
			}
			if el := time.Since(start); el > 10*time.Second {
				t.Errorf("report took %v, want < 10 s", el)
			}
			for _, f := range tt.files {
				if strings.HasSuffix(f, ".png") {
					fixture.PNGOK(t, filepath.Join(dir, f))
				} else if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Error(err)
				}
			}
			fixture.CheckFile(t, filepath.Join(dir, MarkdownFile), tt.md, tt.not)
		})
	}
}

// TestWriteView writes full-size reports for looking at the figures:
// BPFSTOR_REPORT_VIEW=/tmp/view go test ./harness/report/ -run TestWriteView
func TestWriteView(t *testing.T) {
	out := os.Getenv("BPFSTOR_REPORT_VIEW")
	if out == "" {
		t.Skip("set BPFSTOR_REPORT_VIEW=DIR to write reports to look at")
	}
	for name, r := range map[string]*results.Result{
		"depth10": fixture.ChainRun(10, 5, 3000), "uring": fixture.URingRun(), "chain": fixture.Read(t, "chain"), "partial": fixture.Read(t, "partial"),
		"threads": fixture.ThreadsRun(), "range": fixture.RangeRun(), "kv": fixture.KVRun(), "breakdown": fixture.BreakdownRun(), "breakdown-recorded": fixture.RecordedBreakdown(t),
	} {
		dir := filepath.Join(out, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := r.Write(dir); err != nil {
			t.Fatal(err)
		}
		if err := Write(dir, r); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: report in %v", dir, time.Since(start))
	}
}

// BenchmarkReport times what `bpfstor report` does on a depth sweep of
// 10 depths x 3 modes x 5 repetitions (+ pread/fio), 3000 samples a point:
// read result.json, write results.csv, the PNGs and report.md.
func BenchmarkReport(b *testing.B) {
	dir := b.TempDir()
	if err := fixture.ChainRun(10, 5, 3000).Write(dir); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := results.Read(dir)
		if err != nil {
			b.Fatal(err)
		}
		if err := Write(dir, r); err != nil {
			b.Fatal(err)
		}
	}
}

// A run in which nothing was measured still gets a report that says so.
func TestWriteFailedRun(t *testing.T) {
	r := &results.Result{Schema: results.Schema, Name: "broken", Expected: 4, Meta: fixture.Meta("kvm")}
	r.Finish("guest did not boot: no agent hello within 60s")
	dir := t.TempDir()
	if err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Status **failed** (guest did not boot", "No figure", "4 of 4 expected point(s) were never measured", "No fidelity check"} {
		if !strings.Contains(string(b), s) {
			t.Errorf("report.md lacks %q:\n%s", s, b)
		}
	}
	csv, err := os.ReadFile(filepath.Join(dir, CSVFile))
	if err != nil || strings.Count(string(csv), "\n") != 1 {
		t.Errorf("results.csv of an empty run: %q, %v", csv, err)
	}
}

// The data row names the file system when the data was a file on one
// (results.Meta.DataFS), and stays as it was for the raw device.
func TestWriteDataFS(t *testing.T) {
	for _, tt := range []struct {
		fs, want, not string
	}{
		{proto.FSRaw, "| data | btree data-1234.img (seed 7) |", "as the file"},
		{proto.FSExt4, "| data | btree data-1234.img, on ext4 as the file /" + proto.DataFile + " (seed 7) |", "data-1234.img (seed 7)"},
	} {
		t.Run("fs="+tt.fs, func(t *testing.T) {
			r := fixture.KVRun()
			r.Meta.DataFS = tt.fs
			dir := t.TempDir()
			if err := Write(dir, r); err != nil {
				t.Fatal(err)
			}
			fixture.CheckFile(t, filepath.Join(dir, MarkdownFile), []string{tt.want}, []string{tt.not})
		})
	}
}
