package paper

import (
	"testing"

	"github.com/bpfstor/bpfstor/harness/workload"
)

// TestAnchorsInModel checks that every paper anchor is about a mode the
// model maps its experiment to (workload.Mode.Anchors), so none is
// silently never drawn.
func TestAnchorsInModel(t *testing.T) {
	for _, a := range Anchors {
		if !workload.Anchored(a.Mode, a.Experiment) {
			t.Errorf("anchor %s %s %s: mode %s does not list experiment %s in harness/workload (Mode.Anchors)", a.Paper, a.Experiment, a.Metric, a.Mode, a.Experiment)
		}
	}
}
