package stats

import (
	"errors"
	"math"
	"testing"
)

func TestSpreadOf(t *testing.T) {
	tests := []struct {
		in   []float64
		want Spread
	}{
		{nil, Spread{}},
		{[]float64{3}, Spread{1, 3, 3, 3}},
		{[]float64{5, 1, 3}, Spread{3, 3, 1, 5}},
		{[]float64{4, 1, 2, 3}, Spread{4, 2.5, 1, 4}},
	}
	for _, tt := range tests {
		in := append([]float64(nil), tt.in...)
		if got := SpreadOf(tt.in); got != tt.want {
			t.Errorf("SpreadOf(%v) = %+v, want %+v", in, got, tt.want)
		}
		for i := range in {
			if in[i] != tt.in[i] {
				t.Errorf("SpreadOf modified its input")
			}
		}
	}
	if !math.IsNaN(Median(nil)) || Median([]float64{2, 1, 9}) != 2 {
		t.Error("Median")
	}
}

func TestMannWhitney(t *testing.T) {
	tests := []struct {
		name   string
		a, b   []float64
		u      float64
		p      float64 // want p within 1e-4, or NaN with tooFew
		method string
		tooFew bool
	}{
		// R: wilcox.test(c(1,2,3,5,7), c(4,6,8,9,10)) -> W = 3, p = 0.05556
		{name: "table n=5", a: []float64{1, 2, 3, 5, 7}, b: []float64{4, 6, 8, 9, 10}, u: 3, p: 14.0 / 252, method: MethodExact},
		{name: "separated n=5", a: []float64{10, 11, 12, 13, 14}, b: []float64{1, 2, 3, 4, 5}, u: 25, p: 2.0 / 252, method: MethodExact},
		{name: "separated n=3 cannot reach 0.05", a: []float64{10, 11, 12}, b: []float64{1, 2, 3}, u: 9, p: 0.1, method: MethodExact},
		{name: "identical", a: []float64{5, 5, 5, 5}, b: []float64{5, 5, 5, 5}, u: 8, p: 1, method: MethodExact},
		{name: "same values shuffled", a: []float64{1, 4, 5, 8}, b: []float64{2, 3, 6, 7}, u: 8, p: 1, method: MethodExact},
		{name: "too few", a: []float64{1, 2}, b: []float64{3, 4, 5}, p: math.NaN(), tooFew: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := MannWhitney(tt.a, tt.b)
			if tt.tooFew {
				if !errors.Is(err, ErrTooFew) || !math.IsNaN(r.P) {
					t.Fatalf("got %+v, %v; want ErrTooFew", r, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.U != tt.u || math.Abs(r.P-tt.p) > 1e-4 || r.Method != tt.method {
				t.Errorf("got U=%v p=%.5f %s, want U=%v p=%.5f %s", r.U, r.P, r.Method, tt.u, tt.p, tt.method)
			}
		})
	}
}

// TestExactMatchesBruteForce checks the dynamic program against enumerating
// every split, with ties.
func TestExactMatchesBruteForce(t *testing.T) {
	a := []float64{1, 2, 2, 3, 7, 7}
	b := []float64{2, 3, 4, 4, 7, 9, 9}
	r, err := MannWhitney(a, b)
	if err != nil {
		t.Fatal(err)
	}
	all := append(append([]float64(nil), a...), b...)
	n, k := len(all), len(a)
	u := func(in []bool) float64 {
		var s float64
		for i := range all {
			for j := range all {
				if in[i] && !in[j] {
					switch {
					case all[i] > all[j]:
						s++
					case all[i] == all[j]:
						s += 0.5
					}
				}
			}
		}
		return s
	}
	obsIn := make([]bool, n)
	for i := 0; i < k; i++ {
		obsIn[i] = true
	}
	uObs := u(obsIn)
	if uObs != r.U {
		t.Fatalf("U = %v, brute force %v", r.U, uObs)
	}
	mean := float64(k*(n-k)) / 2
	var hit, tot float64
	for m := 0; m < 1<<n; m++ {
		in := make([]bool, n)
		c := 0
		for i := 0; i < n; i++ {
			if m&(1<<i) != 0 {
				in[i] = true
				c++
			}
		}
		if c != k {
			continue
		}
		tot++
		if math.Abs(u(in)-mean) >= math.Abs(uObs-mean)-1e-9 {
			hit++
		}
	}
	if want := hit / tot; math.Abs(r.P-want) > 1e-12 || !r.Ties {
		t.Errorf("p = %v, brute force %v (ties %v)", r.P, want, r.Ties)
	}
}

func TestNormalApproximation(t *testing.T) {
	var a, b []float64
	for i := 0; i < 40; i++ {
		a = append(a, float64(i))
		b = append(b, float64(i)+8.5)
	}
	r, err := MannWhitney(a, b)
	if err != nil {
		t.Fatal(err)
	}
	// U = #(a_i > b_j) = #(i >= j+9) = 31+30+...+1 = 496, mean 800, no
	// ties; p = erfc(z/√2) with z = (304 - 0.5)/sqrt(40·40·81/12) =
	// 2.92043, computed by hand (Python's math.erfc), as R's
	// wilcox.test(a, b, exact = FALSE, correct = TRUE) does.
	const want = 0.0034954859
	if r.Method != MethodNormal || r.U != 496 || math.Abs(r.P-want) > 1e-8 {
		t.Errorf("got %+v, want normal p=%v", r, want)
	}
}

// rX and rY are R's ?wilcox.test two-sample example (Hollander & Wolfe,
// permeability constants): R prints W = 35, p-value = 0.1272 for
// alternative = "greater"; the exact two-sided p is twice that, 0.2544.
var (
	rX = []float64{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46}
	rY = []float64{1.15, 0.88, 0.90, 0.74, 1.21}
)

func TestMannWhitneyRExample(t *testing.T) {
	r, err := MannWhitney(rX, rY)
	if err != nil {
		t.Fatal(err)
	}
	if r.U != 35 || math.Abs(r.P-0.2544) > 1e-4 || r.Method != MethodExact {
		t.Errorf("got U=%v p=%.4f %s, want W=35 p=0.2544 exact (R)", r.U, r.P, r.Method)
	}
}

// TestHodgesLehmann pins the shift estimate and its interval on R's example
// (wilcox.test(x, y, conf.int = TRUE): difference in location 0.305, 95 %
// interval [-0.15, 0.76] for x − y; here b − a, so the sign turns) and on
// 3 values per side, where no 95 % interval exists (the best is 90 %).
// The references were computed by enumerating every split (not with this
// package).
func TestHodgesLehmann(t *testing.T) {
	tests := []struct {
		name             string
		a, b             []float64
		level            float64
		est, lo, hi, got float64
	}{
		{"R example", rX, rY, 0.95, -0.305, -0.76, 0.15, 0.9600400},
		{"3 per side at 95 %", []float64{10, 11, 12}, []float64{1, 2, 3}, 0.95, -9, math.Inf(-1), math.Inf(1), 0},
		{"3 per side at 90 %", []float64{10, 11, 12}, []float64{1, 2, 3}, 0.90, -9, -11, -7, 0.9},
		{"5 per side", []float64{1, 2, 3, 4, 5}, []float64{11, 12, 13, 14, 15}, 0.95, 10, 7, 13, 0.9682540},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := HodgesLehmann(tt.a, tt.b, tt.level)
			if err != nil {
				t.Fatal(err)
			}
			near := func(x, y float64) bool { return x == y || math.Abs(x-y) < 1e-6 }
			if !near(s.Estimate, tt.est) || !near(s.Lo, tt.lo) || !near(s.Hi, tt.hi) || !near(s.Level, tt.got) {
				t.Errorf("got %+v, want estimate %v in [%v, %v] at %v", s, tt.est, tt.lo, tt.hi, tt.got)
			}
		})
	}
}

// TestHolm pins Holm's adjustment on a hand-computed case: sorted p
// 0.005, 0.01, 0.03, 0.04 of m = 4 become 4·0.005, 3·0.01, 2·0.03 and
// max(0.06, 1·0.04).
func TestHolm(t *testing.T) {
	got := Holm([]float64{0.01, 0.04, math.NaN(), 0.03, 0.005})
	want := []float64{0.03, 0.06, math.NaN(), 0.06, 0.02}
	for i := range want {
		if math.IsNaN(want[i]) != math.IsNaN(got[i]) || (!math.IsNaN(want[i]) && math.Abs(got[i]-want[i]) > 1e-12) {
			t.Errorf("Holm = %v, want %v", got, want)
			break
		}
	}
	if got := Holm([]float64{0.3, 0.9}); got[0] != 0.6 || got[1] != 0.9 {
		t.Errorf("Holm(0.3, 0.9) = %v, want [0.6 0.9]", got)
	}
}

// TestRepsToDetect pins Noether's sample size, computed by hand (Python's
// statistics.NormalDist) for a 10 % shift at α = 0.05 and 80 % power.
func TestRepsToDetect(t *testing.T) {
	tests := []struct {
		cv   float64
		want int
	}{
		{0.05, 8},  // 7.368
		{0.10, 20}, // 19.314
		{0.03, 6},  // 5.431
		{0.02, 6},  // 5.237
		{0, 0},
	}
	for _, tt := range tests {
		if got := RepsToDetect(0.10, tt.cv, 0.05, 0.8); got != tt.want {
			t.Errorf("RepsToDetect(10 %%, cv %v) = %d, want %d", tt.cv, got, tt.want)
		}
	}
	if got := CV([]float64{9, 10, 11}); math.Abs(got-0.1) > 1e-12 {
		t.Errorf("CV = %v, want 0.1", got)
	}
}

func TestMinP(t *testing.T) {
	if got := MinP(3, 3); math.Abs(got-0.1) > 1e-12 {
		t.Errorf("MinP(3,3) = %v", got)
	}
	if got := MinP(5, 5); got > 0.01 {
		t.Errorf("MinP(5,5) = %v", got)
	}
}
