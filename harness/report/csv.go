package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"

	"github.com/bpfstor/bpfstor/harness/analysis"
	"github.com/bpfstor/bpfstor/harness/internal/atomicfile"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
)

// CSVFile is the tidy table of a run, beside result.json.
const CSVFile = "results.csv"

// CSVColumns is the header of results.csv, in order. The order is part of
// the schema: add columns at the end, never reorder or rename. Latencies are
// in nanoseconds; a column that does not apply to a point (a failed point's
// latencies, fio's histogram-only fields) is empty, which pandas and R read
// as NA.
var CSVColumns = []string{
	"run", "point_id", "workload", "kind", "block_size", "depth", "mode", "batch", "threads", "rep",
	"status", "ops", "checked", "wrong", "elapsed_ns", "iops",
	"count", "min_ns", "mean_ns", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns",
	"clocksource_before", "clocksource_after",
	"accel", "kernel_release", "patch_series_hash", "config_hash", "error",
	"dist", "op", "span", "tree_depth",
}

// WriteCSV writes one row per point (a point is one repetition of one
// workload), failed points included.
func WriteCSV(w io.Writer, r *results.Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVColumns); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	for _, p := range r.Points {
		if err := cw.Write(csvRow(r, p)); err != nil {
			return fmt.Errorf("report: csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	return nil
}

// WriteCSVFile writes results.csv into the run directory dir.
func WriteCSVFile(dir string, r *results.Result) error {
	return atomicfile.Write(filepath.Join(dir, CSVFile), func(w io.Writer) error { return WriteCSV(w, r) })
}

func csvRow(r *results.Result, p *results.Point) []string {
	w := p.Workload
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	opt := func(v int) string { // zero means "not used by this kind"
		if v == 0 {
			return ""
		}
		return strconv.Itoa(v)
	}
	f := func(v float64) string { return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64) }
	iops := f(p.IOPS)
	if p.Status != proto.StatusOK && p.IOPS == 0 {
		iops = "" // not measured, not zero
	}
	row := []string{
		r.Name, p.ID, analysis.WorkloadKey(w), w.Kind, opt(w.BlockSize), opt(w.Depth), w.Mode, opt(w.Batch), opt(w.Threads), strconv.Itoa(p.Rep),
		p.Status, i(p.Ops), i(p.Checked), i(p.Wrong), i(p.ElapsedNs), iops,
	}
	if s := p.Summary; s != nil {
		row = append(row, i(s.Count), i(s.MinNs), f(s.MeanNs), i(s.P50Ns), i(s.P90Ns), i(s.P99Ns), i(s.P999Ns), i(s.MaxNs))
	} else {
		row = append(row, "", "", "", "", "", "", "", "")
	}
	m := r.Meta
	row = append(row, p.ClocksourceBefore, p.ClocksourceAfter,
		m.Accel, m.KernelRelease, m.PatchSeriesHash, m.ConfigHash, p.Error)
	var td int
	if p.BTree != nil {
		td = p.BTree.Depth
	}
	row = append(row, w.Dist, w.Op, opt(w.Span), opt(td))
	return row
}
