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
	// U = #(a_i > b_j) = #(i >= j+9) = 31+30+...+1 = 496, mean 800, no ties:
	// z = (|U-800|-0.5)/sqrt(40*40*81/12).
	z := (304 - 0.5) / math.Sqrt(40*40*81.0/12)
	want := math.Erfc(z / math.Sqrt2)
	if r.Method != MethodNormal || r.U != 496 || math.Abs(r.P-want) > 1e-9 || r.P > 0.05 {
		t.Errorf("got %+v, want normal p=%v", r, want)
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
