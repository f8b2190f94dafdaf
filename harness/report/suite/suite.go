// Package suite writes the report over several runs: an index of the runs
// (index.md), the figures no single run can draw, and suite.json, from
// which `bpfstor report SUITEDIR` makes it again.
package suite

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bpfstor/bpfstor/harness/analysis"
	"github.com/bpfstor/bpfstor/harness/internal/atomicfile"
	"github.com/bpfstor/bpfstor/harness/internal/cell"
	"github.com/bpfstor/bpfstor/harness/plot"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/report"
	"github.com/bpfstor/bpfstor/harness/report/figures"
	"github.com/bpfstor/bpfstor/harness/report/views"
	"github.com/bpfstor/bpfstor/harness/results"
)

// The default suite runs
// one spec per B+-tree depth (a data image each), so lookup latency against
// depth exists only across runs.

// Files of a suite report directory.
const (
	Index  = "index.md"
	File   = "suite.json"
	Schema = "bpfstor.suite/v1"
)

// Missing is a spec of the suite that produced no run directory.
type Missing struct {
	Spec  string `json:"spec"`
	Error string `json:"error"`
}

// Options name the suite and the specs that produced no run.
type Options struct {
	Name    string
	Missing []Missing
}

// Manifest is suite.json: what `bpfstor report SUITEDIR` regenerates
// the suite report from.
type Manifest struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	Status string `json:"status"`
	// Runs are the run directories, relative to the suite directory.
	Runs      []string  `json:"runs"`
	Missing   []Missing `json:"missing,omitempty"`
	Generated time.Time `json:"generated"`
}

// suiteRun is one run directory of a suite.
type suiteRun struct {
	Dir string
	R   *results.Result
	A   *analysis.Analysis
	Err error
}

// Write writes the suite report of runDirs into outDir, with the suite's
// name and the specs that produced no run (a suite with any is partial). A run directory that cannot be read
// is named in index.md and makes the suite partial; it is not an error.
func Write(outDir string, runDirs []string, o Options) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("report: suite: %w", err)
	}
	var runs []suiteRun
	for _, d := range runDirs {
		r, err := results.Read(d)
		sr := suiteRun{Dir: d, R: r, Err: err}
		if err == nil {
			sr.A = analysis.Analyze(r)
		}
		runs = append(runs, sr)
	}
	dp := suiteDepth(runs)
	figs := depthFigures(dp)
	errs := figures.Save(outDir, figs)
	status := suiteStatus(runs, o.Missing)
	if err := atomicfile.Write(filepath.Join(outDir, Index), func(w io.Writer) error {
		suiteMarkdown(w, outDir, o, status, runs, dp, figs)
		return nil
	}); err != nil {
		return err
	}
	m := Manifest{Schema: Schema, Name: o.Name, Status: status, Missing: o.Missing, Generated: time.Now().UTC()}
	for _, d := range runDirs {
		m.Runs = append(m.Runs, relPath(outDir, d))
	}
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return fmt.Errorf("report: suite: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(outDir, File), func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	}); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// Read reads a suite directory's suite.json; the run directories are
// returned as paths usable from the working directory.
func Read(dir string) (*Manifest, []string, error) {
	b, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil {
		return nil, nil, fmt.Errorf("report: %w (is this a suite directory made by bpfstor run --suite?)", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, nil, fmt.Errorf("report: %s: %w", filepath.Join(dir, File), err)
	}
	if m.Schema != Schema {
		return nil, nil, fmt.Errorf("report: %s: schema %q, want %q", filepath.Join(dir, File), m.Schema, Schema)
	}
	var runs []string
	for _, r := range m.Runs {
		if !filepath.IsAbs(r) {
			r = filepath.Join(dir, r)
		}
		runs = append(runs, filepath.Clean(r))
	}
	return &m, runs, nil
}

// IsDir reports whether dir holds a suite report (suite.json).
func IsDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, File))
	return err == nil
}

// relPath is target relative to base, with forward slashes (a Markdown
// link); target itself when there is no relative path.
func relPath(base, target string) string {
	ab, err1 := filepath.Abs(base)
	at, err2 := filepath.Abs(target)
	if err1 != nil || err2 != nil {
		return filepath.ToSlash(target)
	}
	r, err := filepath.Rel(ab, at)
	if err != nil {
		return filepath.ToSlash(at)
	}
	return filepath.ToSlash(r)
}

// suiteStatus is ok when every run was read and is ok and no spec is
// missing, failed when no run measured anything, partial otherwise.
func suiteStatus(runs []suiteRun, missing []Missing) string {
	ok, measured := len(missing) == 0 && len(runs) > 0, false
	for _, r := range runs {
		if r.Err != nil || r.R.Status != results.StatusOK {
			ok = false
		}
		if r.Err == nil && len(r.A.Groups) > 0 {
			measured = true
		}
	}
	switch {
	case ok:
		return results.StatusOK
	case measured:
		return results.StatusPartial
	}
	return results.StatusFailed
}

// depthPoint is one mode of a B+-tree lookup at one tree depth, from the
// run that measured it.
type depthPoint struct {
	Run                 string
	Depth, Fanout, Keys int
	Mode                string
	G, Base             analysis.Group
	HasBase             bool
	Also                []string // later runs that measured the same point (not used)
}

// suiteDepth collects, across runs, the plain B+-tree point lookups (one
// thread, uniform keys, no io_uring batch) by mode and tree depth. When two
// runs measured the same mode, depth and fanout, the first one is kept: a
// suite lists its dedicated depth runs before the experiments that measure
// lookups at some depth as their reference points.
func suiteDepth(runs []suiteRun) []depthPoint {
	var pts []depthPoint
	at := map[string]int{}
	for _, r := range runs {
		if r.Err != nil {
			continue
		}
		for _, g := range r.A.Groups {
			w := g.Points[0].Workload
			if w.Kind != proto.KindBTree || (w.Op != "" && w.Op != "lookup") || analysis.DistOf(w) != "uniform" || w.Threads > 1 || w.Batch > 0 {
				continue
			}
			d := g.Depth()
			if d == 0 {
				continue
			}
			var fan, keys int
			if t := g.Points[0].BTree; t != nil {
				fan, keys = t.Fanout, int(t.Keys)
			}
			p := depthPoint{Run: r.R.Name, Depth: d, Fanout: fan, Keys: keys, Mode: w.Mode, G: g}
			p.Base, p.HasBase = analysis.BaselineOf(r.A.Groups, g)
			k := fmt.Sprintf("%s/%d/%d", w.Mode, d, fan)
			if i, ok := at[k]; ok {
				pts[i].Also = append(pts[i].Also, r.R.Name)
				continue
			}
			at[k] = len(pts)
			pts = append(pts, p)
		}
	}
	sort.SliceStable(pts, func(i, j int) bool {
		if pts[i].Depth != pts[j].Depth {
			return pts[i].Depth < pts[j].Depth
		}
		return analysis.StyleOf(pts[i].Mode) < analysis.StyleOf(pts[j].Mode)
	})
	return pts
}

// mainFanout is the fanout most depths were measured at (the larger on a
// tie); runs at other fanouts are labelled with theirs.
func mainFanout(pts []depthPoint) int {
	depths := map[int]map[int]bool{}
	for _, p := range pts {
		if depths[p.Fanout] == nil {
			depths[p.Fanout] = map[int]bool{}
		}
		depths[p.Fanout][p.Depth] = true
	}
	best := 0
	for f, ds := range depths {
		if len(ds) > len(depths[best]) || (len(ds) == len(depths[best]) && f > best) {
			best = f
		}
	}
	return best
}

// depthSeries is one curve of a cross-run depth figure: a mode at one
// fanout.
type depthSeries struct {
	Mode   string
	Fanout int
	Pts    []depthPoint
}

func depthCurves(pts []depthPoint) ([]depthSeries, int) {
	main := mainFanout(pts)
	var out []depthSeries
	idx := map[string]int{}
	for _, p := range pts {
		k := fmt.Sprintf("%s/%d", p.Mode, p.Fanout)
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, depthSeries{Mode: p.Mode, Fanout: p.Fanout})
		}
		out[i].Pts = append(out[i].Pts, p)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if (out[i].Fanout == main) != (out[j].Fanout == main) {
			return out[i].Fanout == main
		}
		return analysis.StyleOf(out[i].Mode) < analysis.StyleOf(out[j].Mode)
	})
	return out, main
}

// series draws one curve: the main fanout as a line, another fanout as
// hollow markers labelled with it. y gives the value and its bars.
func (c depthSeries) series(main int, y func(p depthPoint) (v, lo, hi float64, ok bool)) plot.Series {
	s := plot.Series{Label: c.Mode, Style: analysis.StyleOf(c.Mode)}
	if c.Fanout != main {
		s.Label = fmt.Sprintf("%s, fanout %d", c.Mode, c.Fanout)
		s.NoLine = true
	}
	off := (float64(analysis.StyleOf(c.Mode)%3) - 1) * 0.08 // modes apart at one depth
	for _, p := range c.Pts {
		v, lo, hi, ok := y(p)
		if !ok {
			continue
		}
		s.X = append(s.X, float64(p.Depth)+off)
		s.Y = append(s.Y, v)
		s.Lo = append(s.Lo, lo)
		s.Hi = append(s.Hi, hi)
	}
	return s
}

// depthFigures are lookup latency and IOPS speedup against tree depth,
// across the suite's runs.
func depthFigures(pts []depthPoint) []figures.Figure {
	if len(pts) == 0 {
		return nil
	}
	curves, main := depthCurves(pts)
	lat := &plot.Chart{
		Title:    "B+-tree lookup: mean latency vs tree depth, across runs",
		XLabel:   "B+-tree depth (dependent reads per lookup)",
		YLabel:   "mean lookup latency (µs)",
		YFrom0:   true,
		IntegerX: true,
	}
	sp := &plot.Chart{
		Title:    "B+-tree lookup: speedup over pread vs tree depth, across runs",
		XLabel:   lat.XLabel,
		YLabel:   "speedup vs mode pread (IOPS ratio)",
		IntegerX: true,
		HLines:   []plot.HLine{{Y: 1, Style: 7}},
	}
	var anchors []plot.Series
	for i, c := range curves {
		if s := c.series(main, func(p depthPoint) (float64, float64, float64, bool) {
			m := p.G.Mean()
			return m.Median * cell.UsPerNs, m.Min * cell.UsPerNs, m.Max * cell.UsPerNs, true
		}); len(s.X) > 0 {
			lat.Series = append(lat.Series, s)
		}
		if c.Mode == analysis.BaselineMode {
			continue
		}
		s := c.series(main, func(p depthPoint) (float64, float64, float64, bool) {
			if !p.HasBase {
				return 0, 0, 0, false
			}
			r := analysis.Speedup(p.G, p.Base)
			return r.Median, r.Min, r.Max, r.N > 0
		})
		if len(s.X) == 0 {
			continue
		}
		s.Label += " (measured)"
		sp.Series = append(sp.Series, s)
		if i == indexOfCurve(curves, c.Mode, main) {
			srs, hls := figures.AnchorMarks("depth", c.Mode, analysis.StyleOf(c.Mode), true)
			anchors = append(anchors, srs...)
			sp.HLines = append(sp.HLines, hls...)
		}
	}
	sp.Series = append(sp.Series, anchors...) // measurements first in the legend
	fanNote := ""
	if len(curves) > 0 && curves[len(curves)-1].Fanout != main {
		fanNote = fmt.Sprintf(" Lines join the runs at fanout %d; unjoined markers are runs at another fanout (a deep tree needs a "+
			"small fanout to stay small), labelled with it.", main)
	}
	figs := []figures.Figure{{
		File:  "depth-latency.png",
		Title: "B+-tree lookup latency vs tree depth (depth experiment, across runs)",
		Caption: "Mean lookup latency per mode, one run per tree depth (a data image each); points are the median over the run's " +
			"repetitions, bars the min–max. Different runs are different VM boots: compare the modes within a depth; across " +
			"depths the host's load moves the microseconds too." + fanNote,
		Charts: []*plot.Chart{lat},
	}}
	if len(sp.Series) > 0 {
		figs = append(figs, figures.Figure{
			File:  "depth-speedup.png",
			Title: "B+-tree lookup speedup vs tree depth beside the papers (depth experiment, across runs)",
			Caption: "Per-repetition ratio IOPS(mode)/IOPS(pread) within each run (repetitions paired by index, same VM); median, " +
				"bars min–max. Squares are XRP Table 3 (read()/XRP mean-latency ratio at depths 1 and 6: the only depths " +
				"shared/README.md gives), rings HotOS'21 at depth 10, dashed lines the papers' stated maxima; the grey dotted " +
				"line is 1x." + fanNote,
			Charts: []*plot.Chart{sp},
		})
	}
	return figs
}

// indexOfCurve is the first curve of mode at the main fanout (anchors are
// drawn once per mode).
func indexOfCurve(cs []depthSeries, mode string, main int) int {
	for i, c := range cs {
		if c.Mode == mode && c.Fanout == main {
			return i
		}
	}
	for i, c := range cs {
		if c.Mode == mode {
			return i
		}
	}
	return -1
}

// suiteMarkdown writes index.md.
func suiteMarkdown(w io.Writer, outDir string, o Options, status string, runs []suiteRun, dp []depthPoint, figs []figures.Figure) {
	title := "bpfstor suite report"
	if o.Name != "" {
		title = "bpfstor suite: " + o.Name
	}
	fmt.Fprintf(w, "# %s\n\n", title)
	ok, partial, unread := 0, 0, 0
	accels := map[string]bool{}
	var notes []string
	for _, r := range runs {
		switch {
		case r.Err != nil:
			unread++
			notes = append(notes, fmt.Sprintf("%s could not be read", filepath.Base(r.Dir)))
		case r.R.Status == results.StatusOK:
			ok++
		default:
			partial++
			notes = append(notes, fmt.Sprintf("%s is %s", r.R.Name, r.R.Status))
		}
		if r.Err == nil {
			accels[r.R.Meta.Accel] = true
		}
	}
	for _, m := range o.Missing {
		notes = append(notes, fmt.Sprintf("%s produced no run", m.Spec))
	}
	fmt.Fprintf(w, "Status **%s**", status)
	if status != results.StatusOK {
		fmt.Fprint(w, " (partial suite: "+strings.Join(notes, "; ")+")")
	}
	fmt.Fprintf(w, ": %d run(s) ok, %d not ok, %d unreadable", ok, partial, unread)
	if len(o.Missing) > 0 {
		fmt.Fprintf(w, ", %d spec(s) without a run", len(o.Missing))
	}
	fmt.Fprintf(w, ". Generated %s; every run's own report is linked below.\n", time.Now().UTC().Format(time.RFC3339))
	if accels["tcg"] {
		fmt.Fprintln(w, "\n> **TCG (software CPU emulation) in at least one run: latencies are not hardware numbers.** Compare ratios "+
			"measured within one run (same VM, interleaved repetitions); across runs even the same workload moves with the host.")
	}

	fmt.Fprintln(w, "\n## Across runs: B+-tree lookups vs tree depth (depth experiment)")
	if len(dp) == 0 {
		fmt.Fprintln(w, "\nNo run has plain B+-tree point lookups (kind btree, one thread, uniform keys) with a tree depth: nothing to set side by side.")
	} else {
		fmt.Fprintln(w)
		for _, f := range figs {
			if f.Err != nil {
				fmt.Fprintf(w, "**%s could not be drawn:** %s\n\n", f.Title, cell.MD(f.Err.Error()))
				continue
			}
			fmt.Fprintf(w, "![%s](%s)\n\n%s\n\n", f.Title, f.File, f.Caption)
		}
		depthTable(w, dp)
	}

	fmt.Fprintln(w, "\n## Runs")
	for _, r := range runs {
		runSection(w, outDir, r)
	}
	if len(o.Missing) > 0 {
		fmt.Fprintln(w, "\n## Specs that produced no run")
		fmt.Fprintln(w)
		for _, m := range o.Missing {
			fmt.Fprintf(w, "- `%s`: %s\n", m.Spec, cell.MD(m.Error))
		}
	}
}

// depthTable is the cross-run table behind the depth figures.
func depthTable(w io.Writer, dp []depthPoint) {
	fmt.Fprintln(w, "Median [min–max] over each run's repetitions; latencies in µs; ratios per repetition within the run.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| tree depth | fanout | keys | run | mode | reps | mean | p99 | IOPS | speedup vs pread | paper | ours ÷ paper |")
	fmt.Fprintln(w, "|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---|---|")
	var also []string
	for _, p := range dp {
		sp, papers, ours := "—", "—", "—"
		if p.HasBase {
			sp = cell.Ratio(analysis.Speedup(p.G, p.Base))
			papers, ours = views.BesidePapers("depth", p.Mode, p.Depth, 1, p.G, p.Base)
		}
		fmt.Fprintf(w, "| %d | %d | %d | %s | %s | %d | %s | %s | %s | %s | %s | %s |\n", p.Depth, p.Fanout, p.Keys, cell.MD(p.Run), p.Mode,
			len(p.G.Points), cell.SpreadUs(p.G.Mean()), cell.SpreadUs(p.G.P99()), cell.SpreadIOPS(p.G.IOPS()), sp, papers, ours)
		if len(p.Also) > 0 {
			also = append(also, fmt.Sprintf("%s at depth %d (run %s kept; also in %s)", p.Mode, p.Depth, p.Run, strings.Join(p.Also, ", ")))
		}
	}
	if len(also) > 0 {
		fmt.Fprintf(w, "\nMeasured in more than one run, the first kept: %s.\n", strings.Join(also, "; "))
	}
	fmt.Fprintln(w, "\nXRP Table 3 gives read()/XRP at depths 1 and 6 only in shared/README.md; no number is set at other depths.")
}

// runSection is one run of the suite: name, status, link to its report,
// its table.
func runSection(w io.Writer, outDir string, r suiteRun) {
	if r.Err != nil {
		fmt.Fprintf(w, "\n### %s — unreadable\n\n%s\n", filepath.Base(r.Dir), cell.MD(r.Err.Error()))
		return
	}
	res := r.R
	fmt.Fprintf(w, "\n### %s — %s\n\n", res.Name, res.Status)
	if _, err := os.Stat(filepath.Join(r.Dir, report.MarkdownFile)); err == nil {
		fmt.Fprintf(w, "[report](%s)", relPath(outDir, filepath.Join(r.Dir, report.MarkdownFile)))
	} else {
		fmt.Fprintf(w, "no report.md yet (`bpfstor report %s`)", r.Dir)
	}
	ok, bad := analysis.Statuses(res)
	fmt.Fprintf(w, " · `%s` · spec `%s` · %d points ok, %d failed", relPath(outDir, r.Dir), cell.OrDash(res.Meta.Spec), ok, bad)
	if res.Expected > len(res.Points) {
		fmt.Fprintf(w, ", %d never measured", res.Expected-len(res.Points))
	}
	fmt.Fprintf(w, " · accel %s", cell.OrDash(res.Meta.Accel))
	if res.Reason != "" {
		fmt.Fprintf(w, " · stopped: %s", cell.MD(res.Reason))
	}
	fmt.Fprintln(w)
	if bs := views.Breakdowns(r.A); len(bs) > 0 {
		fmt.Fprintf(w, "\n%s\n", bs[0])
	}
	if len(r.A.Groups) == 0 {
		fmt.Fprintln(w, "\nNo workload has an ok point with a latency summary.")
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| workload | reps | p50 | p99 | mean | IOPS | speedup vs pread |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	for _, g := range r.A.Groups {
		sp := "—"
		if b, ok := analysis.BaselineOf(r.A.Groups, g); ok {
			sp = cell.Ratio(analysis.Speedup(g, b))
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s |\n", cell.MD(g.Key), len(g.Points), cell.SpreadUs(g.P50()), cell.SpreadUs(g.P99()),
			cell.SpreadUs(g.Mean()), cell.SpreadIOPS(g.IOPS()), sp)
	}
}
