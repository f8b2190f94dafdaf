package report

import (
	"errors"
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/harness/stats"
)

// Alpha is the significance level compare uses.
const Alpha = 0.05

// Verdicts of a compared statistic.
const (
	VerdictTooFew      = "not enough repetitions"
	VerdictSame        = "no significant change"
	VerdictBetter      = "significant: better"
	VerdictWorse       = "significant: worse"
	VerdictSignificant = "significant"
)

// Change is one statistic of one workload in two runs.
type Change struct {
	Workload string
	Stat     Stat
	A, B     stats.Spread
	// Pct is the change of the median from A to B in percent.
	Pct     float64
	Test    stats.MW
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

// CompareResults compares b against a (a is the reference), workload by
// workload (WorkloadKey), using ok points only.
func CompareResults(a, b *results.Result) *Comparison {
	c := &Comparison{Differs: differs(a, b)}
	ga, gb := Groups(a), Groups(b)
	inB := map[string]Group{}
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
		for _, st := range Stats {
			va, vb := g.Values(st.Get), h.Values(st.Get)
			ch := Change{Workload: g.Key, Stat: st, A: stats.SpreadOf(va), B: stats.SpreadOf(vb)}
			ch.Pct = math.NaN()
			if ch.A.Median != 0 {
				ch.Pct = (ch.B.Median/ch.A.Median - 1) * 100
			}
			t, err := stats.MannWhitney(va, vb)
			ch.Test = t
			switch {
			case errors.Is(err, stats.ErrTooFew):
				ch.Verdict = VerdictTooFew
			case err != nil:
				ch.Verdict = err.Error()
			case t.P >= Alpha:
				ch.Verdict = VerdictSame
			case (ch.B.Median > ch.A.Median) == st.HigherBetter:
				ch.Verdict = VerdictBetter
			default:
				ch.Verdict = VerdictWorse
			}
			c.Changes = append(c.Changes, ch)
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
			out = append(out, fmt.Sprintf("%s %s → %s", name, orDash(x), orDash(y)))
		}
	}
	chk("accel", ma.Accel, mb.Accel)
	chk("kernel", ma.KernelRelease, mb.KernelRelease)
	chk("patch series", short(ma.PatchSeriesHash), short(mb.PatchSeriesHash))
	chk("config", short(ma.ConfigHash), short(mb.ConfigHash))
	chk("QEMU", ma.QEMUVersion, mb.QEMUVersion)
	chk("host CPU", ma.HostCPU, mb.HostCPU)
	chk("guest clocksource", ma.GuestClocksource, mb.GuestClocksource)
	chk("spec", ma.SpecSHA256, mb.SpecSHA256)
	return out
}

func (c Change) format(v float64) string {
	if c.Stat.Unit == "µs" {
		return fmt.Sprintf("%.1f µs", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// Compare writes the comparison of run b against run a (the reference).
func Compare(w io.Writer, a, b *results.Result) error {
	c := CompareResults(a, b)
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
		"        approximation with tie and continuity correction; significant when p < %.2f. No test with fewer\n"+
		"        than %d repetitions per side; with %d per side the smallest possible p is %.2f, so use at least\n"+
		"        4 (p ≥ %.3f) or 5 (p ≥ %.3f) repetitions.\n",
		stats.MaxExact, Alpha, stats.MinN, stats.MinN, stats.MinP(3, 3), stats.MinP(4, 4), stats.MinP(5, 5))
	if len(c.Changes) > 0 {
		fmt.Fprintln(ew)
		tw := tabwriter.NewWriter(ew, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "workload\tstat\tA median\tB median\tchange\tn A,B\tp\tverdict")
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
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d,%d\t%s\t%s\n", name, ch.Stat.Name, ch.format(ch.A.Median), ch.format(ch.B.Median),
				pct, ch.A.N, ch.B.N, p, ch.Verdict)
		}
		tw.Flush()
		tested, sig := 0, 0
		for _, ch := range c.Changes {
			if !math.IsNaN(ch.Test.P) {
				tested++
				if ch.Test.P < Alpha {
					sig++
				}
			}
		}
		if tested > 0 {
			fmt.Fprintf(ew, "\n%d of %d tests significant; by chance alone about %.1f would be (no multiple-comparison correction).\n",
				sig, tested, float64(tested)*Alpha)
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
				fmt.Fprintf(ew, "failed in %s (left out): %s (%s): %s\n", x.name, p.ID, WorkloadKey(p.Workload), orDash(p.Error))
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
