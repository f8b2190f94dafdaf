package figures

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/harness/analysis"
	"github.com/bpfstor/bpfstor/harness/internal/fixture"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/report/views"
)

// The layer figure stacks XRP Table 1 bottom up, completion beside the
// device; a segment it does not know goes last.
func TestLayerBars(t *testing.T) {
	bs := views.Breakdowns(analysis.Analyze(fixture.BreakdownLayersRun(false)))
	if len(bs) != 1 || bs[0].Layers == nil {
		t.Fatalf("layers without a trace: %+v", bs)
	}
	s := bs[0].Layers
	// The figure stacks XRP Table 1 bottom up, completion beside the device.
	var labels []string
	var xrp float64
	for _, b := range layerBars(s) {
		labels = append(labels, b.Label)
		xrp += b.XRPNs
	}
	want := "device + interrupt (XRP: device),completion in the interrupt,wake-up and return,NVMe driver submit,block layer,file layer (XRP: ext4),syscall,user/kernel crossings"
	if got := strings.Join(labels, ","); got != want {
		t.Errorf("bars %s, want %s", got, want)
	}
	if bars := layerBars(s); bars[0].XRPNs != 3224 || bars[1].XRPNs != 0 || bars[7].Ns != 6e3 || bars[7].XRPNs != 351 || xrp != 6272 {
		t.Errorf("bars %+v", bars)
	}

	r := fixture.BreakdownLayersRun(true)
	r.Points[1].Layers.Segments = append(r.Points[1].Layers.Segments, proto.LayerSegment{Name: "softirq", MeanNs: 5e3, Count: 1})
	s = views.LayerSplitOf(analysis.Analyze(r).Groups[0])
	if bars := layerBars(s); bars[len(bars)-1].Label != "softirq" {
		t.Errorf("unknown segment not last: %+v", bars)
	}
}

// The breakdown figure of the breakdown spec's shape made from the recorded
// chain run (its device trace) is drawn.
func TestBreakdownFigureRecorded(t *testing.T) {
	figs := Figures(analysis.Analyze(fixture.RecordedBreakdown(t)))
	dir := t.TempDir()
	if errs := Save(dir, figs); len(errs) > 0 {
		t.Fatal(errs)
	}
	fixture.PNGOK(t, filepath.Join(dir, "breakdown.png"))
}
