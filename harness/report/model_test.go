package report

import (
	"testing"

	"github.com/bpfstor/bpfstor/harness/workload"
)

// TestAnchorsInModel checks that every paper anchor is about a mode the
// model maps its experiment to (workload.Mode.Anchors), so none is
// silently never drawn, and that each mode's colour is the model's.
func TestAnchorsInModel(t *testing.T) {
	for _, a := range Paper {
		if !workload.Anchored(a.Mode, a.Experiment) {
			t.Errorf("anchor %s %s %s: mode %s does not list experiment %s in harness/workload (Mode.Anchors)", a.Paper, a.Experiment, a.Metric, a.Mode, a.Experiment)
		}
	}
	for _, m := range workload.Modes() {
		if styleOf(m.Name) != m.Style {
			t.Errorf("mode %s: style %d, model %d", m.Name, styleOf(m.Name), m.Style)
		}
	}
	if styleOf("nope") != len(workload.Modes()) {
		t.Errorf("unknown mode style %d, want %d", styleOf("nope"), len(workload.Modes()))
	}
}
