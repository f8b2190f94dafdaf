package plot

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bpfstor/bpfstor/harness/hist"
)

func TestLinearTicks(t *testing.T) {
	tests := []struct {
		min, max float64
		want     string
	}{
		{0, 1, "0.0 0.2 0.4 0.6 0.8 1.0"},
		{0, 160, "0 25 50 75 100 125 150"},
		{0.95, 4.1, "1.0 1.5 2.0 2.5 3.0 3.5 4.0"},
		{0, 0.3, "0.00 0.05 0.10 0.15 0.20 0.25 0.30"},
		{5, 5, "5"},
	}
	for _, tt := range tests {
		var got []string
		for _, tk := range linearTicks(tt.min, tt.max) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if g := strings.Join(got, " "); g != tt.want {
			t.Errorf("linearTicks(%v, %v) = %q, want %q", tt.min, tt.max, g, tt.want)
		}
	}
}

func TestLogTicks(t *testing.T) {
	tests := []struct {
		min, max float64
		want     string
	}{
		{1, 10000, "1 10 100 1000 1e+04"},
		{8, 1100, "10 30 100 300 1000"},
		{95, 700, "100 200 300 400 500 600"},
		{110, 190, "110 190"}, // less than one labelled value: the ends
	}
	for _, tt := range tests {
		var got []string
		for _, tk := range logTicks(tt.min, tt.max) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if g := strings.Join(got, " "); g != tt.want {
			t.Errorf("logTicks(%v, %v) = %q, want %q", tt.min, tt.max, g, tt.want)
		}
	}
}

func TestCDF(t *testing.T) {
	h := hist.New()
	for i := 1; i <= 100; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	s := CDF("x", h, 0)
	if len(s.X) == 0 || s.Y[len(s.Y)-1] != 1 {
		t.Fatalf("CDF ends at %v", s.Y)
	}
	for i := 1; i < len(s.X); i++ {
		if s.X[i] < s.X[i-1] || s.Y[i] < s.Y[i-1] {
			t.Fatalf("CDF not monotone at %d", i)
		}
	}
	// The median is at about 50 µs.
	for i := range s.X {
		if s.Y[i] >= 0.5 {
			if s.X[i] < 49.9 || s.X[i] > 50.1 {
				t.Errorf("p50 at %v µs", s.X[i])
			}
			break
		}
	}
	if e := CDF("nil", nil, 0); len(e.X) != 0 {
		t.Error("nil histogram gave points")
	}
}

func TestChartErrors(t *testing.T) {
	tests := []struct {
		name string
		c    Chart
		want string
	}{
		{"lengths", Chart{Series: []Series{{Label: "a", X: []float64{1, 2}, Y: []float64{1}}}}, "2 x, 1 y"},
		{"log zero", Chart{Title: "t", LogX: true, Series: []Series{{Label: "a", X: []float64{0, 1}, Y: []float64{1, 2}}}}, "log axis"},
		{"log error bar", Chart{LogY: true, Series: []Series{{Label: "a", X: []float64{1}, Y: []float64{1}, Lo: []float64{0}, Hi: []float64{2}}}}, "error bar"},
		{"empty", Chart{}, "no data"},
		{"bars without categories", Chart{Bars: []Bar{{Label: "a", Values: []float64{1}}}}, "need Categories"},
		{"bar values", Chart{Categories: []string{"x", "y"}, Bars: []Bar{{Label: "a", Values: []float64{1}}}}, "1 values for 2 categories"},
	}
	for _, tt := range tests {
		_, err := tt.c.Plot()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestLegendCorner(t *testing.T) {
	rising := Series{Label: "rising", X: []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, Y: []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}
	falling := Series{Label: "falling", X: rising.X, Y: []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}}
	for _, tt := range []struct {
		s    Series
		want string
	}{{rising, TopLeft}, {falling, TopRight}} {
		c := Chart{Series: []Series{tt.s}}
		p, err := c.Plot()
		if err != nil {
			t.Fatal(err)
		}
		got := BottomLeft
		switch {
		case p.Legend.Top && p.Legend.Left:
			got = TopLeft
		case p.Legend.Top:
			got = TopRight
		case !p.Legend.Left:
			got = BottomRight
		}
		if got != tt.want {
			t.Errorf("%s: legend at %s, want %s", tt.s.Label, got, tt.want)
		}
	}
}

func TestSave(t *testing.T) {
	dir := t.TempDir()
	c := &Chart{Title: "t", XLabel: "depth", YLabel: "µs", IntegerX: true, YFrom0: true,
		Series: []Series{{Label: "a", X: []float64{1, 2, 3}, Y: []float64{1, 2, 3}, Lo: []float64{0.5, 1.5, 2.5}, Hi: []float64{1.5, 2.5, 3.5}},
			{Label: "paper", X: []float64{3}, Y: []float64{2}, Anchor: true, Shape: ShapeSquare}},
		HLines: []HLine{{Y: 1, Label: "bound"}}}
	c2 := &Chart{Title: "u", LogX: true, XTicks: []float64{1, 4, 16}, Series: []Series{{Label: "b", X: []float64{1, 4, 16}, Y: []float64{3, 2, 1}}}}
	// Stacked bars with labelled segments, the legend outside the frame.
	bars := &Chart{Title: "share", Categories: []string{"ours", "paper"}, YMin: 0, YMax: 100, BarLabel: "%.0f", Legend: Outside, BarWidth: 40,
		Bars: []Bar{{Label: "device", Values: []float64{40, 51}, Style: 5}, {Label: "software", Values: []float64{60, 0}, Style: 1},
			{Label: "fs", Values: []float64{0, 49}, Style: 3}}}
	for _, tt := range []struct {
		name   string
		charts []*Chart
		minW   int
	}{{"one.png", []*Chart{c}, 600}, {"two.png", []*Chart{c, c2}, 1200}, {"bars.png", []*Chart{c, bars}, 1200}} {
		path := filepath.Join(dir, tt.name)
		if err := Save(path, tt.charts...); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds().Dx() < tt.minW {
			t.Errorf("%s: %d px wide", tt.name, img.Bounds().Dx())
		}
	}
	if err := Save(filepath.Join(dir, "none.png")); err == nil {
		t.Error("Save with no chart: no error")
	}
}

func TestBarsStack(t *testing.T) {
	// Both stacks reach the top: the legend needs room above them.
	c := Chart{Categories: []string{"mean", "p50"}, YFrom0: true, BarLabel: "%.0f",
		Bars: []Bar{{Label: "device", Values: []float64{65, 65}}, {Label: "software", Values: []float64{120, 120}, Style: 1}}}
	p, err := c.Plot()
	if err != nil {
		t.Fatal(err)
	}
	if p.Y.Min != 0 || p.Y.Max < 185*1.1 {
		t.Errorf("y range %v..%v for bars up to 185 under a legend", p.Y.Min, p.Y.Max)
	}
	// A lower second stack leaves the top right free: no room needed.
	c.Bars[1].Values[1] = 60
	if p, err = c.Plot(); err != nil {
		t.Fatal(err)
	}
	if p.Legend.Left || !p.Legend.Top || p.Y.Max > 185*1.05 {
		t.Errorf("legend left=%v top=%v, y max %v", p.Legend.Left, p.Legend.Top, p.Y.Max)
	}
}
