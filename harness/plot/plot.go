// Package plot draws bpfstor's figures as PNG files with gonum.org/v1/plot.
//
// It knows nothing about experiments: a Chart is a title, axis labels and
// Series of (x, y) points with optional min–max error bars; the report
// package turns results into Charts. One Style index gives one colour and
// marker everywhere, so a dispatch mode looks the same in every figure.
package plot

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/bpfstor/bpfstor/harness/hist"
)

// Series is one line (or set of markers) of a chart.
type Series struct {
	Label string
	X, Y  []float64
	// Lo and Hi, when set, are the ends of each point's error bar (absolute
	// values, e.g. the min and max over repetitions).
	Lo, Hi []float64
	// Style picks the colour and marker (see Palette).
	Style  int
	Dashed bool
	// NoLine draws markers only; NoMarkers draws the line only.
	NoLine, NoMarkers bool
	// Anchor draws large hollow markers without a line: reference numbers
	// (e.g. a paper's), not measurements.
	Anchor bool
	// Shape, when not ShapeAuto, overrides the marker.
	Shape int
}

// Marker shapes for Series.Shape.
const (
	ShapeAuto = iota
	ShapeCircle
	ShapeTriangle
	ShapeBox
	ShapeCross
	ShapePlus
	ShapePyramid
	ShapeRing
	ShapeSquare // hollow
)

// HLine is a horizontal reference line across the chart.
type HLine struct {
	Y     float64
	Label string
	Style int
}

// Legend positions.
const (
	TopLeft     = "tl"
	TopRight    = "tr"
	BottomLeft  = "bl"
	BottomRight = "br"
	// Outside puts the legend to the right of the data area, for charts
	// whose data fill the whole frame (stacked bars).
	Outside = "out"
)

// Bar is one layer of a stacked bar chart: its value in each category
// (Chart.Categories), stacked on the layers before it.
type Bar struct {
	Label  string
	Values []float64
	Style  int
}

// Chart is one panel.
type Chart struct {
	Title, XLabel, YLabel string
	LogX, LogY            bool
	// Categories, when set, names the X positions 0..n-1 (a nominal axis).
	Categories []string
	// IntegerX puts a labelled tick on every integer X (depths, threads).
	IntegerX bool
	// XTicks, when set, are the only labelled X ticks (e.g. the batch
	// sizes measured, on a log axis).
	XTicks []float64
	// YFrom0 starts a linear Y axis at zero.
	YFrom0 bool
	// YMin and YMax, when not both zero, fix the Y range.
	YMin, YMax float64
	// Legend is where the legend goes (TopLeft when empty). The Y range
	// gets headroom for a top legend so it does not cover data.
	Legend string
	Series []Series
	HLines []HLine
	// Bars are stacked bars over Categories, bottom layer first.
	Bars []Bar
	// BarLabel, when set, formats a value written inside each bar segment
	// tall enough to hold it (e.g. "%.0f %%").
	BarLabel string
	// BarWidth is the bars' width in points (default: by the number of
	// categories, at most 100).
	BarWidth float64
}

// Palette is the colour-blind-safe Okabe–Ito palette.
var Palette = []color.Color{
	color.RGBA{0x00, 0x72, 0xB2, 0xff}, // blue
	color.RGBA{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	color.RGBA{0x00, 0x9E, 0x73, 0xff}, // bluish green
	color.RGBA{0xCC, 0x79, 0xA7, 0xff}, // reddish purple
	color.RGBA{0xE6, 0x9F, 0x00, 0xff}, // orange
	color.RGBA{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	color.RGBA{0x00, 0x00, 0x00, 0xff}, // black
	color.RGBA{0x99, 0x99, 0x99, 0xff}, // grey
}

var glyphs = []draw.GlyphDrawer{
	draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.BoxGlyph{}, draw.CrossGlyph{},
	draw.PlusGlyph{}, draw.PyramidGlyph{}, draw.RingGlyph{}, draw.SquareGlyph{},
}

func colorOf(i int) color.Color { return Palette[((i%len(Palette))+len(Palette))%len(Palette)] }
func glyphOf(i int) draw.GlyphDrawer {
	return glyphs[((i%len(glyphs))+len(glyphs))%len(glyphs)]
}

// xyErr adapts a series to gonum's XYer and YErrorer.
type xyErr struct{ s *Series }

func (e xyErr) Len() int                    { return len(e.s.X) }
func (e xyErr) XY(i int) (float64, float64) { return e.s.X[i], e.s.Y[i] }
func (e xyErr) YError(i int) (float64, float64) {
	return e.s.Y[i] - e.s.Lo[i], e.s.Hi[i] - e.s.Y[i]
}

// Plot builds the gonum plot of the chart.
func (c *Chart) Plot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = c.Title
	p.X.Label.Text = c.XLabel
	p.Y.Label.Text = c.YLabel
	p.Title.Padding = vg.Points(6)
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Legend.Padding = vg.Points(1)
	p.Legend.ThumbnailWidth = vg.Points(22)

	p.Add(plotter.NewGrid())

	entries := 0
	for i := range c.Series {
		s := &c.Series[i]
		if len(s.X) != len(s.Y) || (s.Lo != nil && len(s.Lo) != len(s.X)) || (s.Hi != nil && len(s.Hi) != len(s.X)) {
			return nil, fmt.Errorf("plot: series %q: %d x, %d y, %d lo, %d hi values", s.Label, len(s.X), len(s.Y), len(s.Lo), len(s.Hi))
		}
		if len(s.X) == 0 {
			continue
		}
		if err := c.checkLog(s); err != nil {
			return nil, err
		}
		xy := xyErr{s}
		col := colorOf(s.Style)
		var thumbs []plot.Thumbnailer
		if !s.NoLine && !s.Anchor && len(s.X) > 1 {
			l, err := plotter.NewLine(xy)
			if err != nil {
				return nil, fmt.Errorf("plot: series %q: %w", s.Label, err)
			}
			l.Color = col
			l.Width = vg.Points(1.5)
			if s.Dashed {
				l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			}
			p.Add(l)
			thumbs = append(thumbs, l)
		}
		if !s.NoMarkers || s.Anchor {
			sc, err := plotter.NewScatter(xy)
			if err != nil {
				return nil, fmt.Errorf("plot: series %q: %w", s.Label, err)
			}
			sc.Color = col
			sc.Shape = glyphOf(s.Style)
			sc.Radius = vg.Points(2.5)
			if s.NoLine {
				sc.Radius = vg.Points(3.5)
			}
			if s.Anchor {
				sc.Shape = draw.RingGlyph{}
				sc.Radius = vg.Points(5)
			}
			if s.Shape > 0 {
				sc.Shape = glyphs[(s.Shape-1)%len(glyphs)]
			}
			p.Add(sc)
			thumbs = append(thumbs, sc)
		}
		if s.Lo != nil && s.Hi != nil {
			eb, err := plotter.NewYErrorBars(xy)
			if err != nil {
				return nil, fmt.Errorf("plot: series %q: %w", s.Label, err)
			}
			eb.Color = col
			eb.Width = vg.Points(1)
			eb.CapWidth = vg.Points(6)
			p.Add(eb)
		}
		if s.Label != "" {
			p.Legend.Add(s.Label, thumbs...)
			entries++
		}
	}
	n, err := c.addBars(p)
	if err != nil {
		return nil, err
	}
	entries += n
	for _, h := range c.HLines {
		y := h.Y
		l := plotter.NewFunction(func(float64) float64 { return y })
		l.Samples = 2
		l.Color = colorOf(h.Style)
		l.Width = vg.Points(1)
		l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(l)
		p.Y.Min = math.Min(p.Y.Min, h.Y)
		p.Y.Max = math.Max(p.Y.Max, h.Y)
		if h.Label != "" {
			p.Legend.Add(h.Label, l)
			entries++
		}
	}
	if entries == 0 && len(c.Series) == 0 && len(c.Bars) == 0 {
		return nil, errors.New("plot: chart has no data")
	}

	// Axes.
	if c.LogX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.TickerFunc(logTicks)
	}
	if c.LogY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.TickerFunc(logTicks)
	} else {
		p.Y.Tick.Marker = plot.TickerFunc(linearTicks)
	}
	if !c.LogX && !c.IntegerX && len(c.Categories) == 0 && len(c.XTicks) == 0 {
		p.X.Tick.Marker = plot.TickerFunc(linearTicks)
	}
	if len(c.Categories) > 0 {
		p.NominalX(c.Categories...)
		p.X.Min, p.X.Max = -0.5, float64(len(c.Categories))-0.5
		long := 0
		for _, s := range c.Categories {
			long += len(s)
		}
		if long > 70 {
			p.X.Tick.Label.Rotation = math.Pi / 6
			p.X.Tick.Label.XAlign = draw.XRight
			p.X.Tick.Label.YAlign = draw.YCenter
		}
	} else if len(c.XTicks) > 0 {
		var ts []plot.Tick
		for _, v := range c.XTicks {
			ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', 6, 64)})
			p.X.Min, p.X.Max = math.Min(p.X.Min, v), math.Max(p.X.Max, v)
		}
		p.X.Tick.Marker = plot.ConstantTicks(ts)
		if c.LogX {
			p.X.Min /= 1.25
			p.X.Max *= 1.25
		} else {
			pad := (p.X.Max - p.X.Min) * 0.04
			p.X.Min -= pad
			p.X.Max += pad
		}
	} else if c.IntegerX {
		lo, hi := math.Ceil(p.X.Min), math.Floor(p.X.Max)
		step := math.Max(1, math.Ceil((hi-lo+1)/12))
		var ts []plot.Tick
		for v := lo; v <= hi; v += step {
			ts = append(ts, plot.Tick{Value: v, Label: strconv.Itoa(int(v))})
		}
		p.X.Tick.Marker = plot.ConstantTicks(ts)
		pad := math.Max(0.3, (p.X.Max-p.X.Min)*0.04)
		p.X.Min -= pad
		p.X.Max += pad
	}
	if c.YFrom0 && !c.LogY {
		p.Y.Min = 0
	}
	if c.YMin != 0 || c.YMax != 0 {
		p.Y.Min, p.Y.Max = c.YMin, c.YMax
	}
	pos, covered := c.Legend, 1
	if pos == "" {
		pos, covered = c.legendCorner(p, entries)
	}
	p.Legend.Top = pos == TopLeft || pos == TopRight || pos == Outside
	p.Legend.Left = pos == TopLeft || pos == BottomLeft
	p.Legend.XOffs = vg.Points(4)
	if !p.Legend.Left {
		p.Legend.XOffs = -vg.Points(4)
	}
	p.Legend.YOffs = -vg.Points(3)
	if !p.Legend.Top {
		p.Legend.YOffs = vg.Points(3)
	}
	if c.YMin == 0 && c.YMax == 0 {
		// A little air so markers at the extremes are not cut by the frame.
		if c.LogY && p.Y.Min > 0 {
			p.Y.Min /= 1.06
			p.Y.Max *= 1.06
		} else if span := p.Y.Max - p.Y.Min; span > 0 {
			if p.Y.Min != 0 {
				p.Y.Min -= span * 0.04
			}
			p.Y.Max += span * 0.04
		}
	}
	if c.YMin == 0 && c.YMax == 0 && p.Legend.Top && entries > 0 && covered > 0 && pos != Outside {
		// Room for the legend above the data.
		frac := 0.06*float64(entries) + 0.06
		if c.LogY && p.Y.Min > 0 {
			span := math.Log10(p.Y.Max) - math.Log10(p.Y.Min)
			if span == 0 {
				span = 1
			}
			p.Y.Max = math.Pow(10, math.Log10(p.Y.Max)+span*frac/(1-frac))
		} else {
			span := p.Y.Max - p.Y.Min
			if span == 0 {
				span = math.Abs(p.Y.Max) + 1
			}
			p.Y.Max += span * frac / (1 - frac)
		}
	}
	if !c.LogY && p.Y.Min == p.Y.Max {
		p.Y.Max = p.Y.Min + 1
	}
	return p, nil
}

// addBars stacks the chart's bars on the plot (bottom layer first) and
// labels the segments; it returns the legend entries it added.
func (c *Chart) addBars(p *plot.Plot) (int, error) {
	if len(c.Bars) == 0 {
		return 0, nil
	}
	if len(c.Categories) == 0 {
		return 0, errors.New("plot: stacked bars need Categories")
	}
	width := vg.Points(c.BarWidth)
	if c.BarWidth == 0 {
		width = vg.Points(math.Min(100, 200/float64(len(c.Categories))))
	}
	var below *plotter.BarChart
	var lx []plotter.XY
	var labels []string
	var styles []text.Style
	top, total := 0.0, make([]float64, len(c.Categories))
	for _, b := range c.Bars {
		if len(b.Values) != len(c.Categories) {
			return 0, fmt.Errorf("plot: bar %q: %d values for %d categories", b.Label, len(b.Values), len(c.Categories))
		}
		for i, v := range b.Values {
			total[i] += v
			top = math.Max(top, total[i])
		}
	}
	base := make([]float64, len(c.Categories)) // where the next layer starts
	for _, b := range c.Bars {
		bc, err := plotter.NewBarChart(plotter.Values(b.Values), width)
		if err != nil {
			return 0, fmt.Errorf("plot: bar %q: %w", b.Label, err)
		}
		bc.Color = colorOf(b.Style)
		bc.LineStyle.Color = color.White
		bc.LineStyle.Width = vg.Points(0.5)
		if below != nil {
			bc.StackOn(below)
		}
		below = bc
		p.Add(bc)
		if b.Label != "" {
			p.Legend.Add(b.Label, bc)
		}
		for i, v := range b.Values {
			if c.BarLabel != "" && top > 0 && v >= top*0.06 {
				lx = append(lx, plotter.XY{X: float64(i), Y: base[i] + v/2})
				labels = append(labels, fmt.Sprintf(c.BarLabel, v))
				st := p.Legend.TextStyle
				st.Font.Size = vg.Points(9)
				st.XAlign, st.YAlign = draw.XCenter, draw.YCenter
				st.Color = color.White
				if light[((b.Style%len(Palette))+len(Palette))%len(Palette)] {
					st.Color = color.Black
				}
				styles = append(styles, st)
			}
			base[i] += v
		}
	}
	if len(lx) > 0 {
		l, err := plotter.NewLabels(plotter.XYLabels{XYs: lx, Labels: labels})
		if err != nil {
			return 0, fmt.Errorf("plot: bar labels: %w", err)
		}
		l.TextStyle = styles
		p.Add(l)
	}
	p.Y.Min = math.Min(p.Y.Min, 0)
	n := 0
	for _, b := range c.Bars {
		if b.Label != "" {
			n++
		}
	}
	return n, nil
}

// light marks the palette colours dark text reads best on.
var light = map[int]bool{3: true, 4: true, 5: true, 7: true}

// legendCorner picks the corner where the legend covers the fewest data
// points (line segments sampled, error bar ends included), preferring the
// top left; it also returns how many points that corner covers.
func (c *Chart) legendCorner(p *plot.Plot, entries int) (string, int) {
	if entries == 0 {
		return TopLeft, 0
	}
	norm := func(a plot.Axis, v float64, log bool) float64 {
		if log {
			if v <= 0 || a.Min <= 0 {
				return -1
			}
			return (math.Log(v) - math.Log(a.Min)) / (math.Log(a.Max) - math.Log(a.Min))
		}
		if a.Max == a.Min {
			return 0.5
		}
		return (v - a.Min) / (a.Max - a.Min)
	}
	longest := 0
	for _, s := range c.Series {
		longest = max(longest, len([]rune(s.Label)))
	}
	for _, h := range c.HLines {
		longest = max(longest, len([]rune(h.Label)))
	}
	for _, b := range c.Bars {
		longest = max(longest, len([]rune(b.Label)))
	}
	// A panel's data area is about 430x250 pt; a legend entry is ~11 pt
	// high, a character ~4.6 pt wide, the thumbnail and gaps ~34 pt.
	w := math.Min(0.7, (float64(longest)*4.6+34)/430)
	h := math.Min(0.8, (float64(entries)*11+8)/250)
	var pts [][2]float64
	add := func(x, y float64) {
		pts = append(pts, [2]float64{norm(p.X, x, c.LogX), norm(p.Y, y, c.LogY)})
	}
	for _, s := range c.Series {
		for i := range s.X {
			add(s.X[i], s.Y[i])
			if s.Lo != nil {
				add(s.X[i], s.Lo[i])
				add(s.X[i], s.Hi[i])
			}
			if i > 0 && !s.NoLine && !s.Anchor {
				for k := 1; k < 8; k++ {
					f := float64(k) / 8
					add(s.X[i-1]+(s.X[i]-s.X[i-1])*f, s.Y[i-1]+(s.Y[i]-s.Y[i-1])*f)
				}
			}
		}
	}
	if len(c.Bars) > 0 { // a bar covers its category from 0 to its top
		for i := range c.Categories {
			tot := 0.0
			for _, b := range c.Bars {
				tot += b.Values[i]
			}
			for k := 0; k <= 8; k++ {
				for _, dx := range []float64{-0.2, 0, 0.2} {
					add(float64(i)+dx, tot*float64(k)/8)
				}
			}
		}
	}
	for _, hl := range c.HLines {
		for k := 0; k <= 8; k++ {
			pts = append(pts, [2]float64{float64(k) / 8, norm(p.Y, hl.Y, c.LogY)})
		}
	}
	best, bestN := TopLeft, -1
	for _, corner := range []string{TopLeft, TopRight, BottomRight, BottomLeft} {
		n := 0
		for _, q := range pts {
			inX := q[0] <= w
			if corner == TopRight || corner == BottomRight {
				inX = q[0] >= 1-w
			}
			inY := q[1] >= 1-h
			if corner == BottomLeft || corner == BottomRight {
				inY = q[1] <= h
			}
			if inX && inY {
				n++
			}
		}
		if bestN < 0 || n < bestN {
			best, bestN = corner, n
		}
	}
	return best, bestN
}

func (c *Chart) checkLog(s *Series) error {
	for i := range s.X {
		if c.LogX && !(s.X[i] > 0) {
			return fmt.Errorf("plot: %q: series %q: x=%v on a log axis", c.Title, s.Label, s.X[i])
		}
		if c.LogY && !(s.Y[i] > 0) {
			return fmt.Errorf("plot: %q: series %q: y=%v on a log axis", c.Title, s.Label, s.Y[i])
		}
		if c.LogY && s.Lo != nil && !(s.Lo[i] > 0) {
			return fmt.Errorf("plot: %q: series %q: error bar to %v on a log axis", c.Title, s.Label, s.Lo[i])
		}
	}
	return nil
}

// logTicks labels 1-2-5 steps when the axis spans little more than a
// decade and powers of ten otherwise; minor ticks at every integer multiple.
func logTicks(min, max float64) []plot.Tick {
	if min <= 0 || max <= 0 || min >= max {
		return nil
	}
	decades := math.Log10(max) - math.Log10(min)
	labelled := map[int]bool{1: true}
	switch {
	case decades <= 1:
		labelled = map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true, 9: true}
		if decades > 0.6 {
			delete(labelled, 7)
			delete(labelled, 9)
		}
	case decades <= 1.7:
		labelled = map[int]bool{1: true, 2: true, 5: true}
	case decades <= 2.5:
		labelled = map[int]bool{1: true, 3: true}
	}
	var ts []plot.Tick
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		base := math.Pow(10, e)
		for m := 1; m <= 9; m++ {
			v := base * float64(m)
			if v < min*0.999 || v > max*1.001 {
				continue
			}
			t := plot.Tick{Value: v}
			if labelled[m] {
				t.Label = strconv.FormatFloat(v, 'g', 4, 64)
			}
			ts = append(ts, t)
		}
	}
	n := 0
	for _, t := range ts {
		if t.Label != "" {
			n++
		}
	}
	if n < 2 { // a narrow range: label both ends too
		ts = append(ts, plot.Tick{Value: min, Label: strconv.FormatFloat(min, 'g', 3, 64)},
			plot.Tick{Value: max, Label: strconv.FormatFloat(max, 'g', 3, 64)})
	}
	return ts
}

// linearTicks labels about six round values (steps of 1, 2, 2.5 or 5
// times a power of ten) with as many decimals as the step needs, and puts a
// minor tick half-way.
func linearTicks(min, max float64) []plot.Tick {
	if !(max > min) {
		return []plot.Tick{{Value: min, Label: strconv.FormatFloat(min, 'g', 4, 64)}}
	}
	raw := (max - min) / 7
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag * 10
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if raw <= m*mag*1.0001 {
			step = m * mag
			break
		}
	}
	dec := 0
	if e := -math.Floor(math.Log10(step) + 1e-9); e > 0 {
		dec = int(e)
	}
	if m := step / math.Pow(10, math.Floor(math.Log10(step)+1e-9)); math.Abs(m-2.5) < 1e-9 && step < 10 {
		dec++
	}
	var ts []plot.Tick
	for v := math.Ceil(min/step-1e-9) * step; v <= max+step*1e-9; v += step {
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', dec, 64)})
		if h := v + step/2; h <= max {
			ts = append(ts, plot.Tick{Value: h})
		}
	}
	if first := math.Ceil(min/step-1e-9)*step - step/2; first >= min {
		ts = append(ts, plot.Tick{Value: first})
	}
	return ts
}

// Default panel size.
const (
	PanelWidth  = 6 * vg.Inch
	PanelHeight = 4 * vg.Inch
)

// DPI of the PNG files.
const DPI = 120

// Save draws the charts side by side into a PNG file at path.
func Save(path string, charts ...*Chart) (err error) {
	defer func() { // gonum panics on some degenerate input; a report must not
		if r := recover(); r != nil {
			err = fmt.Errorf("plot: %s: %v", filepath.Base(path), r)
		}
	}()
	if len(charts) == 0 {
		return errors.New("plot: no chart to save")
	}
	var ps []*plot.Plot
	for _, c := range charts {
		p, err := c.Plot()
		if err != nil {
			return err
		}
		ps = append(ps, p)
	}
	w := PanelWidth * vg.Length(len(ps))
	if len(ps) > 1 {
		w = 5.2 * vg.Inch * vg.Length(len(ps))
	}
	img := vgimg.NewWith(vgimg.UseWH(w, PanelHeight), vgimg.UseDPI(DPI))
	dc := draw.New(img)
	if len(ps) == 1 {
		drawPlot(charts[0], ps[0], dc)
	} else {
		tiles := draw.Tiles{Rows: 1, Cols: len(ps), PadX: vg.Millimeter * 8, PadLeft: vg.Millimeter * 2,
			PadRight: vg.Millimeter * 2, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2}
		cs := plot.Align([][]*plot.Plot{ps}, tiles, dc)
		for j, p := range ps {
			drawPlot(charts[j], p, cs[0][j])
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("plot: %s: %w", path, err)
	}
	return f.Close()
}

// drawPlot draws p into dc; a chart with its legend Outside gets the
// legend in a column right of the plot, aligned with the data area's top.
func drawPlot(c *Chart, p *plot.Plot, dc draw.Canvas) {
	if c.Legend != Outside {
		p.Draw(dc)
		return
	}
	leg := p.Legend
	r := leg.Rectangle(dc)
	w := r.Max.X - r.Min.X + vg.Points(12)
	p.Legend = plot.NewLegend()
	p.Draw(draw.Crop(dc, 0, -w, 0, 0))
	title := vg.Length(0)
	if p.Title.Text != "" {
		title = p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y + p.Title.Padding
	}
	leg.Top, leg.Left = true, true
	leg.XOffs, leg.YOffs = 0, -vg.Points(4)
	leg.Draw(draw.Crop(dc, dc.Max.X-dc.Min.X-w+vg.Points(8), 0, 0, -title))
}

// CDF returns the latency CDF of a histogram: x in µs at each bucket's upper
// end, y the fraction of samples at or below it. Nil or empty histograms
// give an empty series.
func CDF(label string, h *hist.Histogram, style int) Series {
	s := Series{Label: label, Style: style, NoMarkers: true}
	if h == nil || h.Count() == 0 {
		return s
	}
	total := float64(h.Count())
	var cum int64
	bs := h.Buckets()
	// Thin very long distributions: at most ~2000 points are visible anyway.
	step := 1
	if len(bs) > 2000 {
		step = len(bs) / 2000
	}
	for i, b := range bs {
		cum += b.Count
		if i%step != 0 && i != len(bs)-1 {
			continue
		}
		x := float64(b.To) / 1e3
		if x <= 0 {
			x = 0.001
		}
		s.X = append(s.X, x)
		s.Y = append(s.Y, float64(cum)/total)
	}
	return s
}
