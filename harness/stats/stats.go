// Package stats holds the small statistics bpfstor's reports need: medians
// and ranges over repetitions and the Mann-Whitney U test used by `compare`
// to say whether a change between two runs is more than noise.
package stats

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Spread is the median and range of a statistic over repetitions.
type Spread struct {
	N                int
	Median, Min, Max float64
}

// SpreadOf computes the spread of xs (xs is not modified).
func SpreadOf(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return Spread{N: len(s), Median: median(s), Min: s[0], Max: s[len(s)-1]}
}

// Median of xs (xs is not modified); NaN for an empty slice.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return median(s)
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// MinN is the fewest repetitions per side MannWhitney accepts.
const MinN = 3

// ErrTooFew is returned by MannWhitney when a side has fewer than MinN values.
var ErrTooFew = errors.New("not enough repetitions")

// Test methods.
const (
	// MethodExact is the exact permutation distribution of the rank sum
	// (midranks for ties, so it stays exact with ties).
	MethodExact = "exact"
	// MethodNormal is the normal approximation with tie and continuity
	// correction, used when the exact distribution would be too large.
	MethodNormal = "normal"
)

// MaxExact is the largest n1+n2 for which the exact distribution is computed
// (a dynamic program over n1+n2 values, ranks doubled to stay integers).
const MaxExact = 60

// MW is the outcome of a two-sided Mann-Whitney U test.
type MW struct {
	N1, N2 int
	// U is the statistic of the first sample: the number of pairs (a, b)
	// with a > b, ties counting one half.
	U float64
	// P is the two-sided p-value.
	P      float64
	Method string
	Ties   bool
}

// MinP is the smallest two-sided p-value an exact test with n1 and n2
// values and no ties can reach: 2 / C(n1+n2, n1). With 3 per side it is
// 0.10, so no change can be significant at 0.05 with only 3 repetitions.
func MinP(n1, n2 int) float64 {
	return math.Min(1, 2/binom(n1+n2, n1))
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// MannWhitney tests whether a and b come from the same distribution
// (two-sided). It returns ErrTooFew (wrapped) when either side has fewer
// than MinN values, and an error for NaN input.
func MannWhitney(a, b []float64) (MW, error) {
	n1, n2 := len(a), len(b)
	res := MW{N1: n1, N2: n2, P: math.NaN(), U: math.NaN()}
	if n1 < MinN || n2 < MinN {
		return res, fmt.Errorf("%w: n=%d and n=%d, need at least %d per side", ErrTooFew, n1, n2, MinN)
	}
	type obs struct {
		v     float64
		first bool
	}
	all := make([]obs, 0, n1+n2)
	for _, v := range a {
		all = append(all, obs{v, true})
	}
	for _, v := range b {
		all = append(all, obs{v, false})
	}
	for _, o := range all {
		if math.IsNaN(o.v) {
			return res, errors.New("mann-whitney: NaN in sample")
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].v < all[j].v })
	n := n1 + n2
	// rank2 holds doubled midranks so ties stay integers.
	rank2 := make([]int, n)
	tieTerm := 0.0 // sum over tie groups of t^3 - t
	for i := 0; i < n; {
		j := i
		for j+1 < n && all[j+1].v == all[i].v {
			j++
		}
		r2 := i + 1 + j + 1 // 2 * mean of ranks i+1..j+1
		for k := i; k <= j; k++ {
			rank2[k] = r2
		}
		if t := float64(j - i + 1); t > 1 {
			tieTerm += t*t*t - t
			res.Ties = true
		}
		i = j + 1
	}
	r1x2 := 0
	for i, o := range all {
		if o.first {
			r1x2 += rank2[i]
		}
	}
	res.U = float64(r1x2)/2 - float64(n1*(n1+1))/2
	mean := float64(n1*n2) / 2

	if n <= MaxExact {
		res.Method = MethodExact
		res.P = exactP(rank2, n1, r1x2)
		return res, nil
	}
	res.Method = MethodNormal
	nf := float64(n)
	v := float64(n1*n2) / 12 * ((nf + 1) - tieTerm/(nf*(nf-1)))
	if v <= 0 { // every value equal
		res.P = 1
		return res, nil
	}
	d := math.Abs(res.U-mean) - 0.5
	if d < 0 {
		d = 0
	}
	res.P = math.Min(1, math.Erfc(d/math.Sqrt(v)/math.Sqrt2))
	return res, nil
}

// exactP is the two-sided p-value of the doubled rank sum obs of a sample of
// size k drawn without replacement from the doubled ranks r: the share of
// all C(n, k) subsets whose sum is at least as far from the mean as obs.
func exactP(r []int, k, obs int) float64 {
	total := 0
	for _, v := range r {
		total += v
	}
	// cnt[j][s]: number of j-subsets of the values seen so far with sum s.
	cnt := make([][]float64, k+1)
	for j := range cnt {
		cnt[j] = make([]float64, total+1)
	}
	cnt[0][0] = 1
	for _, v := range r {
		for j := k; j >= 1; j-- {
			prev, cur := cnt[j-1], cnt[j]
			for s := total; s >= v; s-- {
				if prev[s-v] != 0 {
					cur[s] += prev[s-v]
				}
			}
		}
	}
	// The mean of the doubled rank sum is k*total/n; compare distances
	// scaled by n to stay in integers.
	n := len(r)
	dist := func(s int) int {
		d := s*n - k*total
		if d < 0 {
			d = -d
		}
		return d
	}
	do := dist(obs)
	var hit, all float64
	for s, c := range cnt[k] {
		if c == 0 {
			continue
		}
		all += c
		if dist(s) >= do {
			hit += c
		}
	}
	return math.Min(1, hit/all)
}

// uCDF is the exact null distribution of the Mann-Whitney U of samples of
// n1 and n2 distinct values: cdf[u] = P(U <= u), u = 0..n1*n2.
func uCDF(n1, n2 int) []float64 {
	// ways[i][j][u]: arrangements of i values of the first and j of the
	// second sample with U = u (the recurrence of Mann and Whitney 1947).
	m := n1 * n2
	prev := make([][]float64, n2+1) // i-1
	cur := make([][]float64, n2+1)
	for j := range prev {
		prev[j] = make([]float64, m+1)
		cur[j] = make([]float64, m+1)
		prev[j][0] = 1 // i = 0: one arrangement, U = 0
	}
	for i := 1; i <= n1; i++ {
		for j := 0; j <= n2; j++ {
			clear(cur[j])
			for u := 0; u <= m; u++ {
				// the largest value is from the first sample (it beats the j
				// of the second) or from the second.
				if u >= j {
					cur[j][u] += prev[j][u-j]
				}
				if j > 0 {
					cur[j][u] += cur[j-1][u]
				}
			}
		}
		prev, cur = cur, prev
	}
	ways := prev[n2]
	total := binom(n1+n2, n1)
	cdf := make([]float64, m+1)
	acc := 0.0
	for u, w := range ways {
		acc += w
		cdf[u] = acc / total
	}
	return cdf
}

// Shift is the Hodges–Lehmann estimate of how much b is shifted from a
// (the median of every difference b_j − a_i) with its distribution-free
// confidence interval (Moses): the k-th smallest and largest of those
// differences, k from the exact distribution of U. Level is the interval's
// confidence, at least the one asked for; Lo and Hi are ±Inf and Level 0
// when so few values cannot reach it (3 per side reach 90 % at best).
type Shift struct {
	Estimate, Lo, Hi float64
	Level            float64
}

// HodgesLehmann estimates the shift from a to b and its interval at
// confidence level (e.g. 0.95).
func HodgesLehmann(a, b []float64, level float64) (Shift, error) {
	n1, n2 := len(a), len(b)
	if n1 < 1 || n2 < 1 {
		return Shift{}, fmt.Errorf("%w: n=%d and n=%d", ErrTooFew, n1, n2)
	}
	d := make([]float64, 0, n1*n2)
	for _, x := range a {
		for _, y := range b {
			d = append(d, y-x)
		}
	}
	sort.Float64s(d)
	s := Shift{Estimate: median(d), Lo: math.Inf(-1), Hi: math.Inf(1)}
	cdf := uCDF(n1, n2)
	// The largest k with P(U <= k-1) <= (1-level)/2: the interval
	// [d_(k), d_(mn+1-k)] then covers the shift with at least that level.
	k := 0
	for k < len(cdf) && cdf[k] <= (1-level)/2+1e-12 {
		k++
	}
	if k > 0 {
		s.Lo, s.Hi = d[k-1], d[len(d)-k]
		s.Level = 1 - 2*cdf[k-1]
	}
	return s, nil
}

// Holm adjusts p-values for many comparisons (Holm 1979, step-down
// Bonferroni): the i-th smallest of m becomes max over j <= i of
// min(1, (m-j+1) p_(j)). NaN values (tests not run) stay NaN and do not
// count in m.
func Holm(ps []float64) []float64 {
	idx := make([]int, 0, len(ps))
	for i, p := range ps {
		if !math.IsNaN(p) {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(x, y int) bool { return ps[idx[x]] < ps[idx[y]] })
	out := make([]float64, len(ps))
	for i := range out {
		out[i] = math.NaN()
	}
	m, run := len(idx), 0.0
	for r, i := range idx {
		run = math.Max(run, math.Min(1, float64(m-r)*ps[i]))
		out[i] = run
	}
	return out
}

// RepsToDetect is the fewest repetitions per side with which a two-sided
// Mann-Whitney test at alpha detects, with the given power, a shift of the
// median by rel (0.10: 10 %) in a statistic whose repetitions vary with
// coefficient of variation cv (normal noise): Noether's (1987) sample size,
// n = (z_{1-alpha/2} + z_power)^2 / (6 (p' - 1/2)^2) per side with
// p' = P(Y > X) = Φ(rel / (cv √2)), and never fewer than the exact test
// needs to reach alpha at all (MinP). 0 if cv is not positive.
func RepsToDetect(rel, cv, alpha, power float64) int {
	if cv <= 0 || math.IsNaN(cv) {
		return 0
	}
	z := func(q float64) float64 { return math.Sqrt2 * math.Erfinv(2*q-1) }
	pp := 0.5 * math.Erfc(-rel/(cv*math.Sqrt2)/math.Sqrt2)
	n := int(math.Ceil(math.Pow(z(1-alpha/2)+z(power), 2) / (6 * (pp - 0.5) * (pp - 0.5))))
	for MinP(n, n) >= alpha {
		n++
	}
	return n
}

// CV is the coefficient of variation of xs (sample standard deviation over
// the mean); NaN with fewer than 2 values or a zero mean.
func CV(xs []float64) float64 {
	if len(xs) < 2 {
		return math.NaN()
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	mean := s / float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	if mean == 0 {
		return math.NaN()
	}
	return math.Sqrt(ss/float64(len(xs)-1)) / math.Abs(mean)
}
