// Package compare sets two runs side by side, workload by workload and
// statistic by statistic, and says which changes are significant: exact
// Mann-Whitney U over repetitions, Holm-adjusted, with the Hodges–Lehmann
// shift and the repetitions a 10 % change needs at the noise measured.
package compare

import (
	"errors"
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/bpfstor/bpfstor/harness/analysis"
	"github.com/bpfstor/bpfstor/harness/internal/cell"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/harness/stats"
)

// Alpha is the significance level compare uses (of each Holm-adjusted
// p-value: the chance that any of a comparison's tests calls noise a
// change stays below it).
const Alpha = 0.05

// Detect is the relative change compare says how many repetitions it
// takes to detect (with DetectPower) at the noise measured.
const (
	Detect      = 0.10
	DetectPower = 0.8
)

// Verdicts of a compared statistic.
const (
	VerdictTooFew      = "not enough repetitions"
	VerdictUnreachable = "cannot be significant: too few repetitions"
	VerdictSame        = "no significant change"
	VerdictBetter      = "significant: better"
	VerdictWorse       = "significant: worse"
	VerdictSignificant = "significant"
)

// Change is one statistic of one workload in two runs.
type Change struct {
	Workload string
	Stat     analysis.Stat
	A, B     stats.Spread
	// Pct is the change of the median from A to B in percent.
	Pct  float64
	Test stats.MW
	// PHolm is Test.P adjusted (Holm) over every test of the comparison;
	// the verdict is on it.
	PHolm float64
	// Shift is the Hodges–Lehmann shift from A to B (the median of the
	// differences between their repetitions) with its 95 % interval.
	Shift stats.Shift
	// CV is the larger coefficient of variation of the two sides'
	// repetitions; Reps the repetitions per side it takes to detect a
	// Detect change at that noise (0 if unknown).
	CV      float64
	Reps    int
	Verdict string
}

// Comparison is the point-by-point change between two runs.
type Comparison struct {
	Changes []Change
	// OnlyA and OnlyB are workloads measured (ok) in one run only.
	OnlyA, OnlyB []string
	// Differs lists the conditions that differ between the runs.
	Differs []string
}

// Runs compares b against a (a is the reference), workload by workload
// (analysis.WorkloadKey), using ok points only.
func Runs(a, b *results.Result) *Comparison {
	c := &Comparison{Differs: differs(a, b)}
	ga, gb := analysis.Groups(a), analysis.Groups(b)
	inB := map[string]analysis.Group{}
	for _, g := range gb {
		inB[g.Key] = g
	}
	inA := map[string]bool{}
	for _, g := range ga {
		inA[g.Key] = true
		h, ok := inB[g.Key]
		if !ok {
			c.OnlyA = append(c.OnlyA, g.Key)
			continue
		}
		for _, st := range analysis.Stats {
			va, vb := g.Values(st.Get), h.Values(st.Get)
			ch := Change{Workload: g.Key, Stat: st, A: stats.SpreadOf(va), B: stats.SpreadOf(vb)}
			ch.Pct = math.NaN()
			if ch.A.Median != 0 {
				ch.Pct = (ch.B.Median/ch.A.Median - 1) * 100
			}
			t, err := stats.MannWhitney(va, vb)
			ch.Test = t
			ch.Shift, _ = stats.HodgesLehmann(va, vb, 1-Alpha)
			ch.CV = math.Max(stats.CV(va), stats.CV(vb))
			ch.Reps = stats.RepsToDetect(Detect, ch.CV, Alpha, DetectPower)
			switch {
			case errors.Is(err, stats.ErrTooFew):
				ch.Verdict = VerdictTooFew
			case err != nil:
				ch.Verdict = err.Error()
			}
			c.Changes = append(c.Changes, ch)
		}
	}
	ps := make([]float64, len(c.Changes))
	for i, ch := range c.Changes {
		ps[i] = ch.Test.P
	}
	for i, p := range stats.Holm(ps) {
		ch := &c.Changes[i]
		ch.PHolm = p
		switch {
		case ch.Verdict != "":
		case stats.MinP(ch.Test.N1, ch.Test.N2) >= Alpha:
			ch.Verdict = VerdictUnreachable
		case p >= Alpha:
			ch.Verdict = VerdictSame
		case (ch.B.Median > ch.A.Median) == ch.Stat.HigherBetter:
			ch.Verdict = VerdictBetter
		default:
			ch.Verdict = VerdictWorse
		}
	}
	for _, g := range gb {
		if !inA[g.Key] {
			c.OnlyB = append(c.OnlyB, g.Key)
		}
	}
	return c
}

func differs(a, b *results.Result) []string {
	ma, mb := a.Meta, b.Meta
	var out []string
	chk := func(name, x, y string) {
		if x != y {
			out = append(out, fmt.Sprintf("%s %s → %s", name, cell.OrDash(x), cell.OrDash(y)))
		}
	}
	chk("accel", ma.Accel, mb.Accel)
	chk("kernel", ma.KernelRelease, mb.KernelRelease)
	chk("patch series", cell.Short(ma.PatchSeriesHash), cell.Short(mb.PatchSeriesHash))
	chk("config", cell.Short(ma.ConfigHash), cell.Short(mb.ConfigHash))
	chk("QEMU", ma.QEMUVersion, mb.QEMUVersion)
	chk("host CPU", ma.HostCPU, mb.HostCPU)
	chk("guest clocksource", ma.GuestClocksource, mb.GuestClocksource)
	chk("spec", ma.SpecSHA256, mb.SpecSHA256)
	// File vs raw device (data.fs): the same workloads through a file system.
	chk("data file system", fsName(ma.DataFS), fsName(mb.DataFS))
	// Runs under different steal measured different machines.
	if ma.HostSteal != nil && mb.HostSteal != nil && math.Abs(*ma.HostSteal-*mb.HostSteal) > cell.StealWarn {
		out = append(out, fmt.Sprintf("hypervisor steal %.1f %% → %.1f %% of the host's CPU time", 100**ma.HostSteal, 100**mb.HostSteal))
	}
	return out
}

// fsName names a run's data file system (results.Meta.DataFS).
func fsName(fs string) string {
	if fs == proto.FSRaw {
		return "none (raw device)"
	}
	return fs
}

func (c Change) format(v float64) string {
	if c.Stat.Unit == "µs" {
		return fmt.Sprintf("%.1f µs", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// Write writes the comparison of run b against run a (the reference).
func Write(w io.Writer, a, b *results.Result) error {
	c := Runs(a, b)
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "bpfstor compare: A = %s (%s, %d points), B = %s (%s, %d points)\n",
		a.Name, a.Status, len(a.Points), b.Name, b.Status, len(b.Points))
	if len(c.Differs) == 0 {
		fmt.Fprintln(ew, "  conditions: same accelerator, kernel, patch series, config, QEMU, host CPU and spec")
	} else {
		for _, d := range c.Differs {
			fmt.Fprintf(ew, "  differs: %s\n", d)
		}
	}
	if a.Meta.Accel == "tcg" || b.Meta.Accel == "tcg" {
		fmt.Fprintln(ew, "  note: TCG emulation; absolute latencies are not hardware numbers")
	}
	fmt.Fprintf(ew, "  test: two-sided Mann-Whitney U over the per-repetition values of each statistic, ok points only;\n"+
		"        p-value exact (permutation distribution, midranks for ties) up to %d values in all, else normal\n"+
		"        approximation with tie and continuity correction; Holm-adjusted over all the tests below, and\n"+
		"        significant when the adjusted p < %.2f. Shift: Hodges–Lehmann estimate of B − A with its %.0f %%\n"+
		"        interval (none when the repetitions cannot give one). No test with fewer than %d repetitions per\n"+
		"        side; with %d per side the smallest possible p is %.2f, with 4 %.3f, with 5 %.4f (before Holm).\n",
		stats.MaxExact, Alpha, 100*(1-Alpha), stats.MinN, stats.MinN, stats.MinP(3, 3), stats.MinP(4, 4), stats.MinP(5, 5))
	if n := minReps(c); n > 0 && stats.MinP(n, n) >= Alpha {
		fmt.Fprintf(ew, "  WARNING: with %d repetitions per side the smallest reachable p is %.3f ≥ %.2f: no change can be\n"+
			"        significant, however large. Run more repetitions ([run] repetitions).\n", n, stats.MinP(n, n), Alpha)
	}
	if len(c.Changes) > 0 {
		fmt.Fprintln(ew)
		tw := tabwriter.NewWriter(ew, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "workload\tstat\tA median\tB median\tchange\tshift B−A (95% CI)\tn A,B\tp\tp Holm\tverdict")
		last := ""
		for _, ch := range c.Changes {
			name := ch.Workload
			if name == last {
				name = ""
			}
			last = ch.Workload
			p := "—"
			if !math.IsNaN(ch.Test.P) {
				p = fmt.Sprintf("%.3f", ch.Test.P)
				if ch.Test.Method == stats.MethodNormal {
					p += " (normal)"
				}
			}
			pct := "—"
			if !math.IsNaN(ch.Pct) {
				pct = fmt.Sprintf("%+.1f%%", ch.Pct)
			}
			holm := "—"
			if !math.IsNaN(ch.PHolm) {
				holm = fmt.Sprintf("%.3f", ch.PHolm)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d,%d\t%s\t%s\t%s\n", name, ch.Stat.Name, ch.format(ch.A.Median), ch.format(ch.B.Median),
				pct, ch.shift(), ch.A.N, ch.B.N, p, holm, ch.Verdict)
		}
		tw.Flush()
		tested, sig := 0, 0
		for _, ch := range c.Changes {
			if !math.IsNaN(ch.PHolm) {
				tested++
				if ch.PHolm < Alpha {
					sig++
				}
			}
		}
		if tested > 0 {
			fmt.Fprintf(ew, "\n%d of %d tests significant after Holm's correction for %d tests.\n", sig, tested, tested)
		}
		if need, worst, cv := repsNeeded(c); need > 0 {
			fmt.Fprintf(ew, "Repetitions to detect a %.0f %% change (power %.0f %%, α %.2f, before Holm): %d per side for the noisiest\n"+
				"statistic here (%s, CV %.1f %% over repetitions); this comparison has %d.\n",
				100*Detect, 100*DetectPower, Alpha, need, worst, 100*cv, minReps(c))
		}
	} else {
		fmt.Fprintln(ew, "\nNo workload was measured (ok) in both runs.")
	}
	for _, x := range []struct {
		name string
		r    *results.Result
	}{{"A", a}, {"B", b}} {
		for _, p := range x.r.Points {
			if p.Status != proto.StatusOK {
				fmt.Fprintf(ew, "failed in %s (left out): %s (%s): %s\n", x.name, p.ID, analysis.WorkloadKey(p.Workload), cell.OrDash(p.Error))
			}
		}
	}
	for _, k := range c.OnlyA {
		fmt.Fprintf(ew, "only in A: %s\n", k)
	}
	for _, k := range c.OnlyB {
		fmt.Fprintf(ew, "only in B: %s\n", k)
	}
	return ew.err
}

// shift formats the Hodges–Lehmann shift and its interval.
func (c Change) shift() string {
	s := c.Shift
	if c.Test.N1 == 0 || math.IsNaN(c.Test.P) {
		return "—"
	}
	iv := "no 95% interval"
	if !math.IsInf(s.Lo, 0) {
		iv = fmt.Sprintf("%s … %s", c.formatDelta(s.Lo), c.formatDelta(s.Hi))
	}
	return fmt.Sprintf("%s (%s)", c.formatDelta(s.Estimate), iv)
}

func (c Change) formatDelta(v float64) string {
	if c.Stat.Unit == "µs" {
		return fmt.Sprintf("%+.1f µs", v/1e3)
	}
	return fmt.Sprintf("%+.0f", v)
}

// minReps is the fewest repetitions on a side of a tested change, 0 if none.
func minReps(c *Comparison) int {
	n := 0
	for _, ch := range c.Changes {
		if ch.Verdict == VerdictTooFew {
			continue
		}
		if m := min(ch.A.N, ch.B.N); n == 0 || m < n {
			n = m
		}
	}
	return n
}

// repsNeeded is the most repetitions any change needs to detect a Detect
// change, with its name and noise.
func repsNeeded(c *Comparison) (int, string, float64) {
	need, name, cv := 0, "", 0.0
	for _, ch := range c.Changes {
		if ch.Reps > need {
			need, name, cv = ch.Reps, ch.Workload+" "+ch.Stat.Name, ch.CV
		}
	}
	return need, name, cv
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
